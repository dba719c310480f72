//! The objects besides Services and Knative resources that decide what a proxy holds: the
//! istiod and Knative controller Deployments (releases), gateway pods (by their `istio` label,
//! in any namespace), Endpoints and EndpointSlices (ready pods), DestinationRules (subsets),
//! and pod-template injection.

use std::collections::{BTreeMap, BTreeSet, HashMap};

use serde_json::Value;

use super::{label, s, Inventory};

/// What was read from the other objects of the input.
#[derive(Debug, Default)]
pub(super) struct Extra {
    /// Ready endpoints per (namespace, Service name).
    ready: HashMap<(String, String), usize>,
    /// DestinationRules per (namespace of the host, host name): (the rule's namespace, subsets).
    subsets: HashMap<(String, String), Vec<(String, usize)>>,
    /// Gateways found by their workloads.
    gateways: BTreeSet<(String, String)>,
    /// Gateway Services: (namespace, name, the `istio` value their selector picks pods by).
    gateway_services: Vec<(String, String, Option<String>)>,
    istio_version: Option<String>,
    knative_version: Option<String>,
}

/// What the pod template metadata at `ptr` says about injection.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Injection {
    /// Nothing.
    None,
    /// A `sidecar.istio.io/inject: "true"` label or an `istio.io/rev` label: Istio's webhook
    /// selects the pod by it (its objectSelector), even in a namespace without the injection
    /// label, unless the namespace says `istio-injection: disabled`.
    Label,
    /// Only the (deprecated) annotation: the webhook is not called for a pod its selectors do
    /// not pick, so in a namespace without the injection label nothing is injected.
    AnnotationOnly,
}

/// Injection asked for by the pod template metadata at `ptr` (istio.io, "Installing the
/// sidecar": injection is controlled by labels on the namespace or the pod).
pub(super) fn injection(o: &Value, ptr: &str) -> Injection {
    let Some(meta) = o.pointer(ptr) else { return Injection::None };
    let labels = meta.get("labels");
    let label = |k: &str| labels.and_then(|m| m.get(k)).and_then(Value::as_str);
    if label("sidecar.istio.io/inject") == Some("true") || label("istio.io/rev").is_some() {
        return Injection::Label;
    }
    let annotation = meta.get("annotations").and_then(|m| m.get("sidecar.istio.io/inject")).and_then(Value::as_str);
    if annotation == Some("true") {
        Injection::AnnotationOnly
    } else {
        Injection::None
    }
}

/// Record what a Knative object's pod template metadata asks of its namespace.
pub(super) fn note_injection(ns: &mut super::NamespaceInventory, o: &Value, ptrs: &[&str]) {
    for ptr in ptrs {
        match injection(o, ptr) {
            Injection::Label => ns.template_injection = true,
            Injection::AnnotationOnly => ns.annotation_only = true,
            Injection::None => {}
        }
    }
}

/// Whether Istio treats a Service port as HTTP: `appProtocol`, else the name's prefix before
/// `-` (istio.io, "Protocol Selection"): http, http2, grpc, grpc-web.
pub(super) fn http_port(port: &Value) -> bool {
    let http = |p: &str| matches!(p.to_ascii_lowercase().as_str(), "http" | "http2" | "grpc" | "grpc-web" | "h2c");
    if let Some(app) = port.get("appProtocol").and_then(Value::as_str) {
        return http(app);
    }
    let name = port.get("name").and_then(Value::as_str).unwrap_or("");
    http(name.split('-').next().unwrap_or("")) || name.starts_with("grpc-web")
}

/// The tag of an image reference (`docker.io/istio/pilot:1.18.2` -> `1.18.2`), if it has one.
fn image_tag(image: &str) -> Option<&str> {
    let name = image.split('@').next()?;
    let last = name.rsplit('/').next()?;
    last.split_once(':').map(|(_, t)| t)
}

/// A release from a Deployment: its `app.kubernetes.io/version` label, else its first
/// container's image tag, when either parses as a version.
fn release(o: &Value) -> Option<String> {
    let parse = |v: &str| meshcap_version(v);
    if let Some(v) = label(o, "app.kubernetes.io/version").and_then(parse) {
        return Some(v);
    }
    let image = o.pointer("/spec/template/spec/containers/0/image").and_then(Value::as_str)?;
    image_tag(image).and_then(parse)
}

fn meshcap_version(v: &str) -> Option<String> {
    crate::mesh::Version::parse(v).ok().map(|v| v.to_string())
}

impl Extra {
    /// Read one object of a kind the Service/Knative pass does not; false when it is none of
    /// those either.
    pub(super) fn read(&mut self, kind: &str, api: &str, o: &Value) -> bool {
        let group = api.split('/').next().unwrap_or("");
        let ns = s(o, "/metadata/namespace").unwrap_or("default").to_string();
        let name = s(o, "/metadata/name").unwrap_or("").to_string();
        match (kind, group) {
            ("Endpoints", "v1") => {
                let n = o
                    .pointer("/subsets")
                    .and_then(Value::as_array)
                    .into_iter()
                    .flatten()
                    .map(|s| s.get("addresses").and_then(Value::as_array).map_or(0, Vec::len))
                    .sum();
                self.ready.insert((ns, name), n);
            }
            ("EndpointSlice", "discovery.k8s.io") => {
                let Some(service) = label(o, "kubernetes.io/service-name") else { return true };
                let n = o
                    .pointer("/endpoints")
                    .and_then(Value::as_array)
                    .into_iter()
                    .flatten()
                    .filter(|e| e.pointer("/conditions/ready").and_then(Value::as_bool) != Some(false))
                    .count();
                // Endpoints and slices describe the same pods: slices of one Service add up,
                // and replace an Endpoints count.
                *self.ready.entry((ns, format!("{service}\u{0}slices"))).or_default() += n;
            }
            ("DestinationRule", "networking.istio.io") => {
                let Some(host) = s(o, "/spec/host") else { return true };
                let n = o.pointer("/spec/subsets").and_then(Value::as_array).map_or(0, Vec::len);
                let trimmed = host.strip_suffix(".svc.cluster.local").unwrap_or(host);
                let (svc, host_ns) = match trimmed.split_once('.') {
                    Some((svc, rest)) => (svc.to_string(), rest.split('.').next().unwrap_or(&ns).to_string()),
                    None => (trimmed.to_string(), ns.clone()),
                };
                self.subsets.entry((host_ns, svc)).or_default().push((ns, n));
            }
            ("Deployment", "apps") | ("Pod", "v1") => {
                let labels_ptr = if kind == "Pod" { "/metadata/labels" } else { "/spec/template/metadata/labels" };
                let istio = o.pointer(labels_ptr).and_then(|l| l.get("istio")).and_then(Value::as_str);
                let app = o.pointer(labels_ptr).and_then(|l| l.get("app")).and_then(Value::as_str);
                if kind == "Deployment" && (name == "istiod" || istio == Some("pilot")) {
                    self.istio_version = self.istio_version.take().or_else(|| release(o));
                } else if kind == "Deployment"
                    && ns == "knative-serving"
                    && (name == "controller" || app == Some("controller"))
                {
                    self.knative_version = self.knative_version.take().or_else(|| release(o));
                }
                // Gateways are found by their pods' `istio` label (ingressgateway,
                // knative-local-gateway, ...), in any namespace.
                if let Some(g) = istio.filter(|v| v.ends_with("gateway")) {
                    let gw_name = if kind == "Deployment" { name } else { app.unwrap_or(g).to_string() };
                    self.gateways.insert((ns, gw_name));
                }
            }
            // Read by `settings`: Nodes (CPUs) and the mesh config.
            ("Node", "v1") => {}
            ("ConfigMap", "v1") if super::meshconfig::is_mesh_config(o) => {}
            _ => return false,
        }
        true
    }

    /// Ready endpoints of a Service, when the input held its Endpoints or EndpointSlices.
    pub(super) fn ready(&self, ns: &str, name: &str) -> Option<usize> {
        let key = |n: String| (ns.to_string(), n);
        self.ready.get(&key(format!("{name}\u{0}slices"))).or_else(|| self.ready.get(&key(name.to_string()))).copied()
    }

    /// DestinationRule subsets for a Service's host. A proxy applies one rule per host (its own
    /// namespace's, else the Service's, else the root namespace's): the Service's namespace's
    /// rule when there is one, else the largest, not their sum.
    pub(super) fn subsets(&self, ns: &str, name: &str) -> usize {
        let Some(rules) = self.subsets.get(&(ns.to_string(), name.to_string())) else { return 0 };
        rules.iter().find(|(rule_ns, _)| rule_ns == ns).or_else(|| rules.iter().max_by_key(|r| r.1)).map_or(0, |r| r.1)
    }

    /// A Service in front of gateway pods.
    pub(super) fn gateway_service(&mut self, ns: &str, name: &str, o: &Value) {
        let selector = o.pointer("/spec/selector/istio").and_then(Value::as_str).map(str::to_string);
        self.gateway_services.push((ns.to_string(), name.to_string(), selector));
    }

    /// Put releases and gateways into the inventory.
    pub(super) fn finish(self, inv: &mut Inventory) {
        inv.istio_version = self.istio_version;
        inv.knative_version = self.knative_version;
        if !self.gateways.is_empty() {
            // The workloads are the proxies; Services only route to them.
            inv.gateways = self.gateways.into_iter().collect();
        } else {
            // Services alone: those selecting the same pods are one Envoy (net-istio's
            // knative-local-gateway Service selects istio: ingressgateway, the pods of
            // istio-ingressgateway, in a default install).
            let mut by_pods: BTreeMap<(String, String), Vec<String>> = BTreeMap::new();
            for (ns, name, selector) in self.gateway_services {
                by_pods.entry((ns, selector.unwrap_or_else(|| format!("\u{0}{name}")))).or_default().push(name);
            }
            for ((ns, selector), mut names) in by_pods {
                names.sort();
                if names.len() > 1 {
                    inv.warnings.push(format!(
                        "gateway Services {} in {ns} select the same pods (istio: {selector}): one gateway proxy",
                        names.join(", ")
                    ));
                }
                inv.gateways.push((ns, names.swap_remove(0)));
            }
        }
        inv.gateways.sort();
        inv.gateways.dedup();
        // A gateway's namespace is a namespace of the topology even when nothing else is there.
        for (ns, _) in &inv.gateways {
            inv.namespaces.entry(ns.clone()).or_default();
        }
        for (name, n) in &inv.namespaces {
            if n.annotation_only && !n.template_injection && n.sidecars != Some(true) {
                inv.warnings.push(format!(
                    "namespace {name}: a Knative pod template asks for a sidecar only by the sidecar.istio.io/inject annotation; Istio's webhook selects pods by label, so nothing is injected there (use the label)"
                ));
            }
            if n.injection_disabled && n.template_injection {
                inv.warnings.push(format!(
                    "namespace {name} says istio-injection: disabled: its pods get no sidecar, whatever their labels ask"
                ));
            }
            if n.ambient {
                inv.warnings.push(format!(
                    "namespace {name} is ambient (istio.io/dataplane-mode: ambient): no sidecars; its waypoints hold only their own Services"
                ));
            }
        }
    }
}

/// [`Extra::read`] as a free function for the object loop.
pub(super) fn read_other(extra: &mut Extra, kind: &str, api: &str, o: &Value) -> bool {
    extra.read(kind, api, o)
}
