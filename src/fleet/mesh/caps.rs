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

use statrs::distribution::{ContinuousCDF, DiscreteCDF, Poisson};

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
    let peak = poisson_quantile(rate * window_h / 24.0, p);
    let kept = peak.max(f64::from(policy.min_non_active));
    let kept = policy.max_non_active.map_or(kept, |m| kept.min(f64::from(m)));
    (active + kept).max(steady)
}

/// The largest Poisson mean handed to statrs: its search loses monotonicity and panics from
/// about 10^10; from 10^6 up the normal approximation with its skewness term (Cornish-Fisher)
/// is within one revision of the exact quantile (checked at 10^6 below), far below the
/// thousands GC holds at most.
const MAX_POISSON_MEAN: f64 = 1e6;

/// The `p` quantile of a Poisson count of mean `mean`, for any input (0 for a mean that is not
/// a finite positive number, infinite for `p` of 1). statrs 0.18's `DiscreteCDF::inverse_cdf`
/// (statrs-dev/statrs src/distribution/mod.rs at v0.18.0) unwraps a bisection that finds no
/// answer when `P(X = 0) >= p` already (a mean of 1e-12, from a service last updated ages
/// before the readings): the answer there is 0, given here, so statrs only sees a mean whose
/// quantile is positive and a `p` strictly inside (0, 1).
fn poisson_quantile(mean: f64, p: f64) -> f64 {
    if !(mean > 0.0 && mean.is_finite() && p > 0.0) || (-mean).exp() >= p {
        return 0.0;
    }
    if p >= 1.0 {
        return f64::INFINITY; // no count is reached with certainty
    }
    if mean > MAX_POISSON_MEAN {
        return cornish_fisher(mean, p);
    }
    Poisson::new(mean).map_or(0.0, |d| d.inverse_cdf(p) as f64)
}

/// The `p` quantile of Poisson(`mean`) for a large mean: `mean + z sqrt(mean) + (z^2 - 1) / 6`,
/// rounded up (`z` the standard normal quantile).
fn cornish_fisher(mean: f64, p: f64) -> f64 {
    let z = statrs::distribution::Normal::new(0.0, 1.0).map_or(0.0, |n| n.inverse_cdf(p));
    (mean + z * mean.sqrt() + (z * z - 1.0) / 6.0).ceil()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn poisson_quantiles_never_panic_and_match_a_hand_sum() {
        // Means from 1e-300 (a service last updated ages before the readings) to 1e12, p from
        // a level of 0.5 over one window to 0.999 over 10^6 windows: no panic, each quantile
        // the least k with P(X <= k) >= p.
        for e in -300..=12 {
            for m in [1.0, 3.0] {
                let mean = m * 10f64.powi(e);
                for p in [0.5, 0.975, 1.0 - 0.025 / 182.5, 1.0 - 5e-10] {
                    let q = poisson_quantile(mean, p);
                    assert!(q.is_finite() && q >= 0.0, "mean {mean:e}, p {p}: {q}");
                }
            }
        }
        // Hand sums: mean 1e-12 keeps P(0) = 1 - 1e-12 above any p < 1 - 1e-12: 0. Mean 2,
        // p 0.9: P(<=2) = 0.677, P(<=3) = 0.857, P(<=4) = 0.947, so 4.
        assert_eq!(poisson_quantile(1e-12, 0.999), 0.0);
        assert_eq!(poisson_quantile(2.0, 0.9), 4.0);
        // Where the approximation takes over, it is within one of statrs's exact quantile.
        for p in [0.5, 0.975, 1.0 - 0.025 / 182.5] {
            let exact = Poisson::new(MAX_POISSON_MEAN).unwrap().inverse_cdf(p) as f64;
            let approx = cornish_fisher(MAX_POISSON_MEAN, p);
            assert!((exact - approx).abs() <= 1.0, "p {p}: {exact} vs {approx}");
        }
        for bad in [f64::NAN, f64::INFINITY, -1.0, 0.0] {
            assert_eq!(poisson_quantile(bad, 0.9), 0.0);
        }
        assert_eq!(poisson_quantile(2.0, 1.0), f64::INFINITY);
        assert_eq!(poisson_quantile(2.0, f64::NAN), 0.0);
    }

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
