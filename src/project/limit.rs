//! The smallest proxy limit that keeps a revision count safe.

use serde::Serialize;

use super::Bounds;
use crate::quantity::{ceil_mib, MIB};

/// The limit a target needs.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct LimitAnswer {
    /// The revision count to keep safe.
    pub revisions: f64,
    /// The smallest limit, rounded up to a whole Mi, bytes.
    pub limit_bytes: f64,
    /// The pod annotation that sets it.
    pub annotation: String,
    /// The request: the predicted steady memory at `revisions` (the fitted mean, no transient
    /// or headroom), rounded up to a whole Mi and never above the limit, bytes. The scheduler
    /// then reserves what the proxy will hold; a request at the idle baseline (57Mi for a proxy
    /// that holds 1.5Gi) packs nodes until the kubelet evicts.
    pub request_bytes: f64,
    /// The pod annotation that sets the request.
    pub request_annotation: String,
    /// The one-sided upper bound of peak memory at `revisions`, before headroom.
    pub upper_bound_bytes: f64,
    /// The one-sided upper bound at steady state (no push allowance, no transient): the
    /// limit's margin over what the proxy holds between pushes.
    pub steady_upper_bytes: f64,
}

/// Smallest whole-Mi limit whose `limit x (1 - headroom)` covers the upper bound at `r`.
pub fn required_limit(bounds: &Bounds, r: f64) -> LimitAnswer {
    let upper = bounds.upper(r);
    let mut mib = ceil_mib(upper / (1.0 - bounds.caution.headroom)).max(1);
    // Guard the rounding: the limit must satisfy the inequality it is derived from (a few
    // steps at most; bounded so a non-finite bound cannot loop).
    for _ in 0..4 {
        if (mib as f64) * MIB * (1.0 - bounds.caution.headroom) >= upper {
            break;
        }
        mib = mib.saturating_add(1);
    }
    let request_mib = ceil_mib(bounds.at(r).mean).max(1).min(mib);
    LimitAnswer {
        revisions: r,
        limit_bytes: mib as f64 * MIB,
        annotation: format!("sidecar.istio.io/proxyMemoryLimit: \"{mib}Mi\""),
        request_bytes: request_mib as f64 * MIB,
        request_annotation: format!("sidecar.istio.io/proxyMemory: \"{request_mib}Mi\""),
        upper_bound_bytes: upper,
        steady_upper_bytes: bounds.steady().upper(r),
    }
}
