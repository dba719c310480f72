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
    /// DestinationRule subsets per (namespace of the host, host name).
    subsets: HashMap<(String, String), usize>,
    /// Gateways found by their workloads.
    gateways: BTreeSet<(String, String)>,
    /// Gateway Services: (namespace, name, the `istio` value their selector picks pods by).
    gateway_services: Vec<(String, String, Option<String>)>,
    istio_version: Option<String>,
    knative_version: Option<String>,
}

/// Whether the pod template metadata at `ptr` asks for a sidecar: `sidecar.istio.io/inject:
/// "true"` as a label (Istio's preferred form) or an annotation, which injects even in a
/// namespace without the injection label (the original measurement was set up that way), or
/// an `istio.io/rev` label naming a control-plane revision, which does the same per workload.
pub(super) fn injects(o: &Value, ptr: &str) -> bool {
    let Some(meta) = o.pointer(ptr) else { return false };
    let inject = ["labels", "annotations"]
        .iter()
        .any(|k| meta.get(k).and_then(|m| m.get("sidecar.istio.io/inject")).and_then(Value::as_str) == Some("true"));
    inject || meta.get("labels").and_then(|m| m.get("istio.io/rev")).and_then(Value::as_str).is_some()
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
                *self.subsets.entry((host_ns, svc)).or_default() += n;
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
            _ => return false,
        }
        true
    }

    /// Ready endpoints of a Service, when the input held its Endpoints or EndpointSlices.
    pub(super) fn ready(&self, ns: &str, name: &str) -> Option<usize> {
        let key = |n: String| (ns.to_string(), n);
        self.ready.get(&key(format!("{name}\u{0}slices"))).or_else(|| self.ready.get(&key(name.to_string()))).copied()
    }

    /// DestinationRule subsets for a Service's host.
    pub(super) fn subsets(&self, ns: &str, name: &str) -> usize {
        self.subsets.get(&(ns.to_string(), name.to_string())).copied().unwrap_or(0)
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
