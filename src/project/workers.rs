//! Envoy workers and per-cluster stats: what they cost per cluster when the model cannot say.
//!
//! Every Envoy worker thread keeps its own copy of each cluster's thread-local state (load
//! balancer, connection pools, stats handles): ~1850 B per cluster per worker
//! (envoyproxy/envoy#4196), "~2KB per configured cluster for each worker thread"
//! (istio/istio#8938). Since Istio 1.18 (#43865) a proxy without an explicit `concurrency`
//! runs ceil(CPU limit) workers, 2 at the default 2000m for sidecars and gateways alike; before
//! 1.18 gateways ran one per core (istio/istio#23470). A gateway at 8 workers thus holds
//! ~12 KiB more per cluster than the 2-worker sidecars a model was fitted on.
//! When the fitted data vary `concurrency`, the model's own term replaces this constant.

use crate::model::FittedModel;

pub use crate::model::conditions::WORKER_BYTES_PER_CLUSTER;

/// Factor on a proxy's clusters for running `concurrency` workers where the model's data ran
/// the workers its conditions record (Istio's default of 2 when they record none):
/// `1 + (concurrency - measured) x 2 KiB / per-cluster bytes`. 1 when the model gives no
/// per-cluster memory or it is not positive.
pub fn worker_factor(model: &FittedModel, concurrency: f64) -> f64 {
    let Some(per_cluster) = per_cluster_bytes(model).filter(|_| concurrency.is_finite()) else { return 1.0 };
    let measured = model.conditions.workers_or_default();
    (1.0 + (concurrency - measured) * WORKER_BYTES_PER_CLUSTER / per_cluster).max(0.0)
}

/// What per-cluster stats add to a proxy's clusters where the model's data kept none: the
/// factor's increment `27 KB / per-cluster bytes` (envoyproxy/envoy#5201, Envoy's
/// `stats_integration_test.cc`: ~20-27 KB a cluster), 0 when the model's data kept them too or
/// the model gives no per-cluster memory.
pub fn stats_increment(model: &FittedModel, per_cluster_stats: bool) -> f64 {
    match per_cluster_bytes(model) {
        Some(per_cluster) if per_cluster_stats && model.conditions.per_cluster_stats != Some(true) => {
            crate::model::conditions::STATS_BYTES_PER_CLUSTER / per_cluster
        }
        _ => 0.0,
    }
}

/// The model's memory per Envoy cluster (per port, or per revision over its ports), when it is
/// a positive number.
pub fn per_cluster_bytes(model: &FittedModel) -> Option<f64> {
    model
        .per_port_bytes
        .or_else(|| model.per_revision_bytes.map(|r| r / model.ports_per_revision))
        .filter(|b| b.is_finite() && *b > 0.0)
}

/// How the proxies of a topology differ from where `model` was measured, one line each: the
/// Istio release, per-cluster stats anywhere, gateways and mesh infrastructure dated from the
/// model's kind, and workers other than the model's (priced per proxy by [`worker_factor`]).
pub fn topology_differences(
    model: &FittedModel,
    topology: &crate::mesh::Topology,
) -> Vec<crate::model::conditions::Difference> {
    use crate::model::conditions::{Difference, Use};
    let versions = topology.versions();
    let stats =
        topology.per_cluster_stats || topology.namespaces.iter().any(|n| topology.per_cluster_stats_of(&n.name));
    let used = Use {
        istio_version: (!versions.istio_assumed).then(|| versions.istio.to_string()),
        per_cluster_stats: Some(stats),
        ..Use::default()
    };
    let mut out = model.conditions.compare(&used);
    for d in &mut out {
        if d.what == "stats" && d.added_bytes_per_cluster > 0.0 {
            d.note.push_str(", added to the proxies that keep them");
        }
    }
    let measured = model.conditions.workers_or_default();
    let others: Vec<u32> = {
        let mut w: Vec<u32> = topology
            .namespaces
            .iter()
            .filter(|n| n.sidecars)
            .map(|n| topology.concurrency_of(&n.name))
            .chain(topology.gateways.iter().map(|g| g.concurrency.unwrap_or(topology.sidecar_concurrency())))
            .filter(|&w| f64::from(w) != measured)
            .collect();
        w.sort_unstable();
        w.dedup();
        w
    };
    if !others.is_empty() {
        out.push(Difference {
            what: "workers".into(),
            note: format!(
                "measured at {measured} Envoy workers; proxies here run {}: ~2 KiB a cluster per worker added to each (envoy#4196)",
                others.iter().map(u32::to_string).collect::<Vec<_>>().join(", ")
            ),
            added_bytes_per_cluster: 0.0,
        });
    }
    let kind = model.conditions.proxy_kind.as_deref().unwrap_or("sidecar");
    if kind == "sidecar" && !topology.gateways.is_empty() {
        out.push(Difference {
            what: "kind".into(),
            note: "gateways and mesh infrastructure are dated from a sidecar's per-cluster memory, their workers adjusted: their listeners and routes are not in the model".into(),
            added_bytes_per_cluster: 0.0,
        });
    }
    out
}
