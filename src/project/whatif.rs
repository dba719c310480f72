//! What-if: memory at a given number of revisions, ports or services.

use serde::Serialize;

use super::Bounds;

/// How a what-if compares with the limit.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Verdict {
    /// The one-sided upper bound stays at or below limit x (1 - headroom).
    Safe,
    /// The mean fits but the upper bound does not.
    AtRisk,
    /// The fitted mean itself is over the limit.
    OverLimit,
    /// No limit given.
    NoLimit,
}

/// A what-if answer.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct WhatIf {
    /// Revisions on the path (revision equivalents for a revisions-only model).
    pub revisions: f64,
    /// Endpoint ports on the path.
    pub ports: f64,
    /// Predicted steady memory (the fitted mean, no push, no transient), bytes.
    pub steady_bytes: f64,
    /// Predicted peak memory (mean with the push allowance, x transient), bytes.
    pub predicted_bytes: f64,
    /// Confidence interval of the mean at the level.
    pub mean_interval: [f64; 2],
    /// Prediction interval of one observation at the level.
    pub prediction_interval: [f64; 2],
    /// One-sided upper prediction bound at the level.
    pub upper_bound: f64,
    /// The limit compared against.
    pub limit_bytes: Option<f64>,
    /// P(one peak x transient > limit), Student t predictive.
    pub p_exceed: Option<f64>,
    /// Verdict against the limit.
    pub verdict: Verdict,
    /// True when the point lies outside the fitted range.
    pub extrapolated: bool,
}

/// Answer a what-if at `r` revisions on the bounds' path.
pub fn whatif(bounds: &Bounds, r: f64, limit: Option<f64>) -> WhatIf {
    let p = bounds.peak_at(r);
    let k = bounds.caution.transient;
    let (m_lo, m_hi) = bounds.mean_band(r);
    let (p_lo, p_hi) = bounds.band(r);
    let upper = bounds.upper(r);
    let p_exceed = limit.map(|l| {
        if p.se_obs > 0.0 {
            bounds.model.t_sf((l / k - p.mean) / p.se_obs)
        } else if p.mean * k > l {
            1.0
        } else {
            0.0
        }
    });
    let verdict = match limit {
        None => Verdict::NoLimit,
        Some(l) if p.mean * k > l => Verdict::OverLimit,
        Some(l) if upper > l * (1.0 - bounds.caution.headroom) => Verdict::AtRisk,
        Some(_) => Verdict::Safe,
    };
    let extrapolated = bounds.model.ranges.iter().any(|range| {
        let v = bounds.path.value(&range.column, r);
        v < range.min || v > range.max
    });
    WhatIf {
        revisions: r,
        ports: bounds.ports(r),
        steady_bytes: bounds.at(r).mean,
        predicted_bytes: p.mean * k,
        mean_interval: [m_lo, m_hi],
        prediction_interval: [p_lo, p_hi],
        upper_bound: upper,
        limit_bytes: limit,
        p_exceed,
        verdict,
        extrapolated,
    }
}
