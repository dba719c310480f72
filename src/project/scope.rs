//! Scope comparison: predicted memory of every proxy under each Sidecar scope, and the Sidecar
//! resources that realize a scope ([`sidecar`]).

pub mod sidecar;

use serde::Serialize;

use super::crossing::{first_crossing, last_safe_integer, Crossing};
use super::{Bounds, Caution, RevisionPath};
use crate::error::Result;
use crate::mesh::{visibility, ProxyKind, ScopeMap, Topology};

use crate::model::FittedModel;
pub use sidecar::sidecar_yaml;

/// One proxy under one scope.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ProxyProjection {
    /// Namespace (sidecars) or gateway name; kept under the key `namespace` for sidecars.
    pub namespace: String,
    /// Sidecar, gateway or mesh infrastructure.
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
    /// What limits the view (a gateway's exportTo), or why no scope does (mesh infrastructure).
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
    /// The scope, as written (`mesh`, `namespace`, `hosts=...`, then `; NS=SCOPE` overrides).
    pub scope: String,
    /// Sidecar (and infrastructure) namespaces, then gateways.
    pub namespaces: Vec<ProxyProjection>,
}

/// Project every proxy of `topology` under each scope at `limit_bytes`.
pub fn compare_scopes(
    model: &FittedModel,
    topology: &Topology,
    scopes: &[ScopeMap],
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
