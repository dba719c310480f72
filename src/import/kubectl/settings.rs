//! How the proxies of the input run, besides what they see: Envoy workers per namespace and
//! gateway ([`super::workers`]), per-cluster stats, which namespaces istiod discovers and the
//! default exportTo ([`super::meshconfig`]), and istiod's flags ([`super::istiod`]). Read in a
//! pass of its own over the objects (Pods, Deployments, Revisions, Knative Services, Nodes,
//! Namespaces, the `istio` ConfigMap), resolved once the gateways are known.

use std::collections::BTreeMap;
use std::path::PathBuf;

use serde::Serialize;
use serde_json::Value;

use super::istiod::IstiodFlags;
use super::meshconfig::{self, MeshConfig, StatsMatcher};
use super::workers::{cpu_cores, Nodes, ProxySpec, Workers};
use super::{label, s, Inventory};
use crate::error::Result;

/// What the input says about how its proxies run.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct Settings {
    /// The mesh config, when the `istio` ConfigMap was in the input.
    pub mesh: Option<MeshConfig>,
    /// istiod's flags.
    pub istiod: IstiodFlags,
    /// Nodes (name, allocatable CPUs, CPU capacity), largest first.
    pub nodes: Nodes,
    /// Per namespace: what was worked out for its sidecars.
    pub namespaces: BTreeMap<String, NamespaceSettings>,
    /// Per gateway (namespace, name): its Envoy workers and why.
    pub gateway_workers: BTreeMap<(String, String), (u32, String)>,
    /// The mesh `defaultConfig.proxyStatsMatcher` keeps per-cluster stats: by which inclusion.
    pub per_cluster_stats: Option<String>,
    #[serde(skip)]
    proxies: BTreeMap<String, Vec<ProxySpec>>,
    #[serde(skip)]
    gateway_proxies: BTreeMap<(String, String), Vec<ProxySpec>>,
    #[serde(skip)]
    labels: BTreeMap<String, BTreeMap<String, String>>,
}

/// One namespace's sidecars.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct NamespaceSettings {
    /// Envoy workers, and from what.
    pub concurrency: Option<(u32, String)>,
    /// `Some(false)`: outside the mesh config's discoverySelectors.
    pub discovered: Option<bool>,
    /// Per-cluster stats by the pods' own annotations or ProxyConfig, when they differ from
    /// the mesh default, and why.
    pub per_cluster_stats: Option<(bool, String)>,
}

fn gateway_of(o: &Value, labels_ptr: &str) -> Option<String> {
    let istio = o.pointer(labels_ptr).and_then(|l| l.get("istio")).and_then(Value::as_str)?;
    istio.ends_with("gateway").then(|| istio.to_string())
}

/// Read what decides workers, stats and discovery from the objects.
pub(super) fn read(objects: &[(&PathBuf, &Value)], warnings: &mut Vec<String>) -> Result<Settings> {
    let mut st = Settings::default();
    for (path, o) in objects {
        let kind = s(o, "/kind").unwrap_or("");
        let group = s(o, "/apiVersion").unwrap_or("").split('/').next().unwrap_or("");
        let ns = s(o, "/metadata/namespace").unwrap_or("default").to_string();
        let name = s(o, "/metadata/name").unwrap_or("").to_string();
        match (kind, group) {
            ("ConfigMap", "v1") => {
                if let Some(m) = meshconfig::read(path, o)? {
                    // istiod reads `istio` (or its revision's): prefer the plain one.
                    if let Some(old) = &st.mesh {
                        warnings.push(format!(
                            "two mesh ConfigMaps ({} and {}): {} is read",
                            old.source,
                            m.source,
                            if name == "istio" { &m.source } else { &old.source }
                        ));
                        if name != "istio" {
                            continue;
                        }
                    }
                    st.mesh = Some(m);
                }
            }
            ("Node", "v1") => {
                let cpu = |p: &str| s(o, p).and_then(cpu_cores);
                if let Some(a) = cpu("/status/allocatable/cpu") {
                    st.nodes.push((name, a, cpu("/status/capacity/cpu").unwrap_or(a)));
                }
            }
            ("Namespace", "v1") => {
                let mut l: BTreeMap<String, String> = o
                    .pointer("/metadata/labels")
                    .and_then(Value::as_object)
                    .into_iter()
                    .flatten()
                    .filter_map(|(k, v)| v.as_str().map(|v| (k.clone(), v.to_string())))
                    .collect();
                // The API server labels every namespace with its name (Kubernetes 1.21+).
                l.entry("kubernetes.io/metadata.name".into()).or_insert_with(|| name.clone());
                st.labels.insert(name, l);
            }
            ("Pod", "v1") => {
                if let Some(p) = ProxySpec::of_pod(format!("pod {ns}/{name}"), o) {
                    match gateway_of(o, "/metadata/labels") {
                        Some(g) => {
                            let app = label(o, "app").map_or(g, str::to_string);
                            st.gateway_proxies.entry((ns, app)).or_default().push(p);
                        }
                        None => st.proxies.entry(ns).or_default().push(p),
                    }
                }
            }
            ("Deployment", "apps") => {
                let app = o.pointer("/spec/template/metadata/labels/app").and_then(Value::as_str);
                let istio = o.pointer("/spec/template/metadata/labels/istio").and_then(Value::as_str);
                if name == "istiod" || app == Some("istiod") || istio == Some("pilot") {
                    st.istiod.read(o, warnings);
                }
                let Some(template) = o.pointer("/spec/template") else { continue };
                let what = format!("deployment {ns}/{name}");
                let p = ProxySpec::of_pod(what.clone(), template)
                    .unwrap_or_else(|| ProxySpec::of_template(what, template.get("metadata").unwrap_or(&Value::Null)));
                match gateway_of(o, "/spec/template/metadata/labels") {
                    Some(_) => st.gateway_proxies.entry((ns, name)).or_default().push(p),
                    None => st.proxies.entry(ns).or_default().push(p),
                }
            }
            ("Revision", "serving.knative.dev") => {
                let meta = o.get("metadata").unwrap_or(&Value::Null);
                st.proxies
                    .entry(ns.clone())
                    .or_default()
                    .push(ProxySpec::of_template(format!("revision {ns}/{name}"), meta));
            }
            ("Service", "serving.knative.dev") => {
                let meta = o.pointer("/spec/template/metadata").unwrap_or(&Value::Null);
                let p = ProxySpec::of_template(format!("Knative service {ns}/{name}"), meta);
                st.proxies.entry(ns).or_default().push(p);
            }
            _ => {}
        }
    }
    st.nodes.sort_by(|a, b| b.1.total_cmp(&a.1).then_with(|| a.0.cmp(&b.0)));
    Ok(st)
}

impl Settings {
    fn mesh_default(&self) -> Value {
        self.mesh.as_ref().map_or(Value::Null, |m| m.default_config.clone())
    }

    /// Each running Pod's Envoy workers (`namespace/name` -> workers) where the input decides
    /// them ([`ProxySpec::workers`], with the mesh config and Nodes among the objects), and the
    /// pods whose workers it does not (their node's CPUs, without the Node).
    pub fn pod_workers(&self) -> (BTreeMap<String, u32>, Vec<String>) {
        let mesh = self.mesh_default();
        let (mut known, mut unknown) = (BTreeMap::new(), Vec::new());
        let all = self.proxies.values().chain(self.gateway_proxies.values()).flatten();
        for p in all.filter(|p| p.pod) {
            let name = p.what.strip_prefix("pod ").unwrap_or(&p.what).to_string();
            match p.workers(&mesh, &self.nodes) {
                Workers::Known(n, _) => {
                    known.insert(name, n);
                }
                Workers::NodeUnknown(_) | Workers::Chart => unknown.push(name),
            }
        }
        (known, unknown)
    }

    /// Workers of a set of proxies: running pods when there are any, else templates; the
    /// largest when they differ (said in `warnings`).
    fn workers(&self, who: &str, proxies: &[ProxySpec], warnings: &mut Vec<String>) -> Option<(u32, String)> {
        let pods = proxies.iter().any(|p| p.pod);
        let mesh = self.mesh_default();
        let mut known: Vec<(u32, String)> = Vec::new();
        let mut unknown = Vec::new();
        for p in proxies.iter().filter(|p| p.pod == pods) {
            match p.workers(&mesh, &self.nodes) {
                Workers::Known(n, why) => known.push((n, format!("{}: {why}", p.what))),
                Workers::NodeUnknown(why) => unknown.push(format!("{}: {why}", p.what)),
                Workers::Chart => {}
            }
        }
        if let Some(first) = unknown.first() {
            warnings.push(format!(
                "{who}: Envoy runs one worker per node CPU ({first}), but the input has no Nodes: add `kubectl get nodes -o json`; {}",
                if known.is_empty() { "the topology's default is counted" } else { "counted from the others" }
            ));
        }
        known.sort_by(|a, b| b.0.cmp(&a.0).then_with(|| a.1.cmp(&b.1)));
        let (max, min) = (known.first()?.0, known.last()?.0);
        if max != min {
            warnings.push(format!(
                "{who}: proxies run {min} to {max} Envoy workers ({}; {}): counted at {max}",
                known.first()?.1,
                known.last()?.1
            ));
        }
        known.into_iter().next()
    }

    /// Whether a proxy keeps per-cluster stats, and by what: its annotations, each replacing
    /// the ProxyConfig's list of the same kind (istio/istio `pkg/bootstrap/config.go` at 1.22.0,
    /// `getStatsOptions`: "only consider proxy config if annotation is not set").
    fn stats_of(&self, p: &ProxySpec) -> Option<String> {
        let mesh = self.mesh_default();
        let matcher = StatsMatcher::of_matcher(p.config_field(&mesh, &["proxyStatsMatcher", "proxy_stats_matcher"]));
        let [pre, suf, re] = p.stats_annotations.clone();
        let m = StatsMatcher {
            prefixes: pre.or(matcher.prefixes),
            suffixes: suf.or(matcher.suffixes),
            regexps: re.or(matcher.regexps),
        };
        m.per_cluster().map(|why| format!("{}: {why}", p.what))
    }

    /// Resolve per namespace and gateway, once the gateways are known.
    pub(super) fn finish(&mut self, inv: &mut Inventory) {
        let warnings = &mut inv.warnings;
        self.per_cluster_stats = self.mesh.as_ref().and_then(|m| {
            StatsMatcher::of_matcher(
                m.default_config.get("proxyStatsMatcher").or_else(|| m.default_config.get("proxy_stats_matcher")),
            )
            .per_cluster()
        });
        let mesh_stats = self.per_cluster_stats.is_some();
        let names: Vec<String> = inv.namespaces.keys().cloned().collect();
        for ns in names {
            let mut out = NamespaceSettings::default();
            let proxies = self.proxies.get(&ns).cloned().unwrap_or_default();
            out.concurrency = self.workers(&format!("namespace {ns}"), &proxies, warnings);
            let pods = proxies.iter().any(|p| p.pod);
            let considered: Vec<&ProxySpec> = proxies.iter().filter(|p| p.pod == pods).collect();
            if !considered.is_empty() {
                let stats: Vec<String> = considered.iter().filter_map(|p| self.stats_of(p)).collect();
                // Templates without stats annotations say nothing against the mesh default.
                let says = pods || considered.iter().any(|p| p.stats_annotations.iter().any(Option::is_some));
                match stats.first() {
                    Some(why) if !mesh_stats => out.per_cluster_stats = Some((true, why.clone())),
                    None if mesh_stats && says => {
                        out.per_cluster_stats =
                            Some((false, format!("{}: no inclusion keeps cluster.outbound stats", considered[0].what)))
                    }
                    _ => {}
                }
            }
            if let Some(m) = self.mesh.as_ref().filter(|m| !m.discovery_selectors.is_empty()) {
                match self.labels.get(&ns) {
                    Some(l) => out.discovered = Some(m.discovers(l)),
                    None => warnings.push(format!(
                        "namespace {ns}: no Namespace object in the input, so the mesh config's discoverySelectors cannot be matched to its labels: assumed discovered"
                    )),
                }
            }
            if out != NamespaceSettings::default() {
                self.namespaces.insert(ns, out);
            }
        }
        for g in &inv.gateways {
            let Some(proxies) = self.gateway_proxies.get(g).cloned() else { continue };
            if let Some(w) = self.workers(&format!("gateway {}/{}", g.0, g.1), &proxies, warnings) {
                self.gateway_workers.insert(g.clone(), w);
            }
        }
    }
}
