//! What GC holds a service at: its steady level at an update rate, and the peaks bursts of
//! updates reach within a planning horizon.
//!
//! With updates at `rate` a day, right after each GC pass a service keeps its active revisions
//! plus the non-active ones the time rules protect (created within `retain-since-create-time`
//! or last active within `retain-since-last-active-time`), at least `min-non-active-revisions`
//! and at most `max-non-active-revisions` (knative/serving `pkg/reconciler/gc/gc.go`;
//! [`GcPolicy::steady_non_active`] is the level at a steady rate). The protected count is a
//! Poisson count over a sliding window, so it scatters around that level, and a proxy is
//! OOMKilled at its peak: what matters is the highest the count gets. Over [`HORIZON_DAYS`] that is
//! about the `1 - (a/2)/m` quantile of the window's count (`m` windows in the horizon): the
//! level a burst may hold the service at. Where `min-non-active-revisions` decides with room to
//! spare, both levels are the minimum + the active revisions.

use statrs::distribution::{DiscreteCDF, Poisson};

use crate::mesh::GcPolicy;

/// The planning horizon whose bursts a cap allows for, days.
pub const HORIZON_DAYS: f64 = 365.0;

/// Revisions GC holds a service with `active` active revisions at, updated `rate` times a day.
pub fn steady(policy: &GcPolicy, active: f64, rate: f64) -> f64 {
    active + policy.steady_non_active(rate)
}

/// The most revisions it keeps within the horizon at `level`: the Poisson quantile of the
/// revisions created within the longer retention window, with the minimum and maximum on top.
pub fn burst(policy: &GcPolicy, active: f64, rate: f64, level: f64) -> f64 {
    let steady = steady(policy, active, rate);
    let window_h = match (policy.retain_since_create_h, policy.retain_since_last_active_h) {
        (None, None) => return steady, // nothing is ever stale: unbounded or the maximum
        (c, a) => c.unwrap_or(0.0).max(a.unwrap_or(0.0)),
    };
    if rate <= 0.0 || window_h <= 0.0 {
        return steady;
    }
    let windows = (HORIZON_DAYS * 24.0 / window_h).max(1.0);
    let p = 1.0 - (1.0 - level) / 2.0 / windows;
    let peak = Poisson::new(rate * window_h / 24.0).map_or(0.0, |d| d.inverse_cdf(p) as f64);
    let kept = peak.max(f64::from(policy.min_non_active));
    let kept = policy.max_non_active.map_or(kept, |m| kept.min(f64::from(m)));
    (active + kept).max(steady)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bursts_matter_where_the_time_rules_decide() {
        let gc = GcPolicy::default();
        // Daily: 2 in a 48h window on average; even its peak over a year stays under the 20.
        assert_eq!((steady(&gc, 1.0, 1.0), burst(&gc, 1.0, 1.0, 0.95)), (21.0, 21.0));
        // 14 a day: 27 non-active protected after a pass + the active one; over a year the
        // count of a 48h window (Poisson mean 28) reaches its 1 - 0.025/182.5 quantile, 49
        // (scipy.stats.poisson.ppf), + the active one.
        assert_eq!(steady(&gc, 1.0, 14.0), 28.0);
        assert_eq!(burst(&gc, 1.0, 14.0, 0.95), 50.0);
        // The maximum still caps: 1000 a day keeps 1000 + 1 either way.
        assert_eq!(burst(&gc, 1.0, 1000.0, 0.95), 1001.0);
        // Nothing stale without time rules: unbounded without a maximum.
        let keep_all =
            GcPolicy { retain_since_create_h: None, retain_since_last_active_h: None, max_non_active: None, ..gc };
        assert_eq!(burst(&keep_all, 1.0, 5.0, 0.95), f64::INFINITY);
    }
}
