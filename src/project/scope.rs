//! Scope comparison: predicted memory of every proxy under each Sidecar scope.

use serde::Serialize;

use super::crossing::{first_crossing, last_safe_integer, Crossing};
use super::{Bounds, Caution, RevisionPath};
use crate::error::Result;
use crate::mesh::{visibility, ProxyKind, Scope, Topology};
use crate::model::FittedModel;

/// One proxy under one scope.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ProxyProjection {
    /// Namespace (sidecars) or gateway name; kept under the key `namespace` for sidecars.
    pub namespace: String,
    /// Sidecar or gateway.
    pub kind: ProxyKind,
    /// Knative revisions visible.
    pub visible_revisions: f64,
    /// Outbound service clusters (`outbound|PORT|SUBSET|HOST`; Envoy's static ones excluded).
    pub visible_clusters: f64,
    /// Endpoints over those clusters.
    pub visible_endpoints: f64,
    /// Listeners for the pod IPs of headless Services.
    pub headless_listeners: f64,
    /// Envoy worker threads.
    pub concurrency: f64,
    /// What limits the view (a gateway's exportTo), if anything.
    pub note: Option<String>,
    /// Predicted peak memory (mean x transient), bytes.
    pub predicted_bytes: f64,
    /// Two-sided prediction interval at the level.
    pub prediction_interval: [f64; 2],
    /// One-sided upper prediction bound.
    pub upper_bytes: f64,
    /// limit x (1 - headroom) minus the upper bound (negative: over).
    pub margin_bytes: f64,
    /// Revisions that can still be added before the safe count (negative: over by that many;
    /// null: unbounded).
    pub revision_budget: Option<f64>,
    /// Saving against the first scope listed, bytes of predicted memory.
    pub saving_bytes: f64,
    /// Saving against the first scope listed, percent.
    pub saving_percent: f64,
}

/// All proxies under one scope.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ScopeProjection {
    /// The scope, as written (`mesh`, `namespace`, `hosts=...`).
    pub scope: String,
    /// Sidecar namespaces, then gateways.
    pub namespaces: Vec<ProxyProjection>,
}

/// Project every proxy of `topology` under each scope at `limit_bytes`.
pub fn compare_scopes(
    model: &FittedModel,
    topology: &Topology,
    scopes: &[Scope],
    caution: Caution,
    limit_bytes: f64,
) -> Result<Vec<ScopeProjection>> {
    let mut out: Vec<ScopeProjection> = Vec::new();
    for scope in scopes {
        let seen = visibility(topology, scope)?;
        // Proxies that hold the same follow the same curve: its searches run once.
        let mut done: std::collections::HashMap<_, ProxyProjection> = std::collections::HashMap::new();
        let namespaces = seen
            .iter()
            .map(|v| {
                if let Some(p) = done.get(&v.curve_key()) {
                    return ProxyProjection { namespace: v.proxy.clone(), note: v.note.clone(), ..p.clone() };
                }
                // The path moves the revisions this proxy sees that grow with retention.
                let r = v.counts.growing_revisions;
                let bounds = Bounds::new(model, RevisionPath::for_visible(model, v), caution);
                let p = bounds.mean(r);
                let band = bounds.band(r);
                let upper = bounds.upper(r);
                let target = limit_bytes * (1.0 - caution.headroom);
                let crossing = first_crossing(|x| bounds.upper(x), target);
                let budget = match crossing {
                    Crossing::Never => None,
                    Crossing::AtZero => Some(0.0 - r),
                    Crossing::At(_) => {
                        last_safe_integer(|x| bounds.upper(x), target, crossing).map(|s| s as f64 - r).or(Some(0.0 - r))
                    }
                };
                let projection = ProxyProjection {
                    namespace: v.proxy.clone(),
                    kind: v.kind,
                    visible_revisions: v.counts.revisions,
                    visible_clusters: v.counts.clusters,
                    visible_endpoints: v.counts.endpoints,
                    headless_listeners: v.counts.headless_listeners,
                    concurrency: v.concurrency,
                    note: v.note.clone(),
                    predicted_bytes: p,
                    prediction_interval: [band.0, band.1],
                    upper_bytes: upper,
                    margin_bytes: target - upper,
                    revision_budget: budget,
                    saving_bytes: 0.0,
                    saving_percent: 0.0,
                };
                done.insert(v.curve_key(), projection.clone());
                projection
            })
            .collect();
        out.push(ScopeProjection { scope: scope.to_string(), namespaces });
    }
    if let Some((first, rest)) = out.split_first_mut() {
        for s in rest {
            for (p, base) in s.namespaces.iter_mut().zip(&first.namespaces) {
                p.saving_bytes = base.predicted_bytes - p.predicted_bytes;
                p.saving_percent =
                    if base.predicted_bytes > 0.0 { 100.0 * p.saving_bytes / base.predicted_bytes } else { 0.0 };
            }
        }
    }
    Ok(out)
}

/// Sidecar CR YAML realizing `scope`, one per sidecar namespace, in the API version the
/// topology's Istio serves (`v1beta1` before 1.22, `v1` from; [`crate::mesh::Versions`]).
///
/// Istio wants egress hosts as `namespace/FQDN`, so a Service name `shop/redis` is written
/// `shop/redis.shop.svc.cluster.local`. A Knative service's host is written the same way: its
/// `<ksvc>-mesh` VirtualService then brings in the public Services of the revisions in its
/// traffic (Istio's SidecarScope adds VirtualService destinations, `pilot/pkg/model/sidecar.go`),
/// which is what callers need; retained revisions that receive no traffic stay out.
pub fn sidecar_yaml(topology: &Topology, scope: &Scope) -> Option<String> {
    let hosts: Vec<(String, String)> = match scope {
        Scope::Mesh => return None,
        Scope::Namespace => vec![("./*".into(), String::new()), ("istio-system/*".into(), String::new())],
        Scope::Hosts(patterns) => patterns.iter().map(|p| (p.namespace.clone(), p.host.clone())).collect(),
    };
    let versions = topology.versions();
    let mut s = String::new();
    if versions.istio_assumed {
        s.push_str(&format!(
            "# Istio {} assumed (the topology names no istio_version): {} is served from Istio 1.22, v1beta1 before\n",
            versions.istio,
            versions.sidecar_api_version()
        ));
    }
    for ns in topology.namespaces.iter().filter(|n| n.sidecars) {
        s.push_str(&format!(
            "---\napiVersion: {}\nkind: Sidecar\nmetadata:\n  name: default\n",
            versions.sidecar_api_version()
        ));
        s.push_str(&format!("  namespace: {}\nspec:\n  egress:\n  - hosts:\n", ns.name));
        for (namespace, host) in &hosts {
            if host.is_empty() {
                s.push_str(&format!("    - \"{namespace}\"\n"));
                continue;
            }
            if host.contains('*') || host.contains('.') {
                s.push_str(&format!("    - \"{namespace}/{host}\"\n"));
                continue;
            }
            let owner = match namespace.as_str() {
                "." => Some(ns.name.as_str()),
                "*" => None,
                other => Some(other),
            };
            let knative =
                owner.and_then(|o| topology.namespace(o)).is_some_and(|o| o.knative.iter().any(|k| k.name == *host));
            match owner {
                Some(o) => {
                    if knative {
                        s.push_str(&format!(
                            "    # {host} is a Knative service: its {host}-mesh VirtualService adds the public Services of the revisions in its traffic\n"
                        ));
                    }
                    s.push_str(&format!("    - \"{namespace}/{host}.{o}.svc.cluster.local\"\n"));
                }
                None => s.push_str(&format!(
                    "    # {host} in any namespace: Istio needs a FQDN per namespace here; list them one by one\n    - \"*/{host}\"\n"
                )),
            }
        }
    }
    Some(s)
}
