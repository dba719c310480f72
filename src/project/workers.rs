//! Envoy workers: what a proxy's concurrency costs per cluster when the model cannot say.
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
    let per_cluster =
        model.per_port_bytes.or_else(|| model.per_revision_bytes.map(|r| r / model.ports_per_revision)).unwrap_or(0.0);
    if !(per_cluster.is_finite() && per_cluster > 0.0 && concurrency.is_finite()) {
        return 1.0;
    }
    let measured = model.conditions.workers_or_default();
    (1.0 + (concurrency - measured) * WORKER_BYTES_PER_CLUSTER / per_cluster).max(0.0)
}
