//! Growth of a proxy's ports (or revisions) from its own series, and the wait until it has
//! grown by a given amount.
//!
//! Ports do not drift around a line: they step up when a revision (8 ports) or a Service
//! arrives and step down when Knative's GC removes one. A least-squares trend through a step
//! series counts every reading as evidence and gives intervals that shrink with the scrape
//! rate. What carries the information is the number of steps. So the steps are treated as a
//! compound Poisson process: over `T` days the series rises by the sum of its up-steps and falls
//! by its down-steps. The net growth `S` has variance `V = sum of squared steps`; with the unit
//! `c = V / S` and `n = S^2 / V` effective arrivals (Fay & Feuer's gamma method for weighted
//! Poisson counts; with equal steps `n` is the plain count of steps), the growth rate
//! `c n / T` gets the Garwood interval `[c G(a/2; n), c G(1 - a/2; n + 1)] / T`, `G` the gamma
//! quantile.
//!
//! The wait for `k` more arrivals (in units of `c`) is itself random: given the rate it is
//! Gamma(k, rate), and with the rate's Jeffreys posterior Gamma(n + 1/2, T) the wait is
//! `T k / (n + 1/2) F(2k, 2n + 1)` (a beta-prime law). Its quantiles bound the date a proxy
//! reaches a memory level, future arrivals and the rate's uncertainty both included.

use serde::Serialize;
use statrs::distribution::{ContinuousCDF, FisherSnedecor, Gamma};

/// Seconds per day.
pub const DAY: f64 = 86_400.0;

/// A proxy's growth, from the steps of its predictor column.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct Growth {
    /// Net change per day (up-steps minus down-steps over the span), 0 where the series shrank:
    /// growth is a rate of arrivals, whose interval starts at 0, so a net fall is no growth
    /// (printed inside its own interval, never below it).
    pub per_day: f64,
    /// Interval of the rate at the level.
    pub interval: [f64; 2],
    /// Days the series spans.
    pub span_days: f64,
    /// Effective number of arrivals `n` (the count of steps when all are equal).
    pub arrivals: f64,
    /// The size of one effective arrival, `c` (ports).
    pub unit: f64,
}

/// The steps of `values` (in time order): sum of ups, sum of downs, sum of squares.
fn steps(values: &[f64]) -> (f64, f64, f64) {
    let (mut up, mut down, mut sq) = (0.0, 0.0, 0.0);
    for w in values.windows(2) {
        let d = w[1] - w[0];
        if d > 0.0 {
            up += d;
        } else {
            down -= d;
        }
        sq += d * d;
    }
    (up, down, sq)
}

/// The typical size of one step over many series (the median absolute step), the unit for a
/// series that has not moved.
pub fn typical_step<'a>(series: impl Iterator<Item = &'a [f64]>) -> Option<f64> {
    let mut all: Vec<f64> = Vec::new();
    for v in series {
        all.extend(v.windows(2).map(|w| (w[1] - w[0]).abs()).filter(|d| *d > 0.0));
    }
    if all.is_empty() {
        return None;
    }
    all.sort_by(f64::total_cmp);
    Some(all[all.len() / 2])
}

/// Growth of a series sampled at `times` (seconds) with `values`, at confidence `level`;
/// `unit_if_flat` is the step size assumed where the series never moved (its rate bound is
/// then `-ln(a/2)` such steps over the span). `None` when the span is zero.
pub fn growth(times: &[f64], values: &[f64], level: f64, unit_if_flat: f64) -> Option<Growth> {
    let span = (times.last()? - times.first()?) / DAY;
    if span.is_nan() || span <= 0.0 {
        return None;
    }
    let (up, down, sq) = steps(values);
    Some(from_sums(up - down, sq, span, level, unit_if_flat))
}

/// Growth from counted arrivals of independent Poisson processes, each watched over its own
/// window: `(count, size, span_days)` per process (a Knative service's revisions since its
/// window opened, the ports each brings to a proxy, the window's days). The rate is
/// `sum count x size / span`; as a weighted Poisson sum with weights `size / span` it gets the
/// same Fay & Feuer gamma interval as [`growth`] (over a one-day span). Where nothing arrived,
/// the upper bound is `-ln(a/2)` arrivals of the largest weight. `None` without processes.
pub fn arrivals(processes: &[(f64, f64, f64)], level: f64) -> Option<Growth> {
    let (mut net, mut sq, mut largest) = (0.0, 0.0, 0.0f64);
    for &(count, size, span_days) in processes {
        let w = size / span_days;
        net += count * w;
        sq += count * w * w;
        largest = largest.max(w);
    }
    (!processes.is_empty() && largest.is_finite()).then(|| from_sums(net, sq, 1.0, level, largest))
}

/// Growth from the net change `net`, the sum of squared steps `sq` and the span in days.
fn from_sums(net: f64, sq: f64, span: f64, level: f64, unit_if_flat: f64) -> Growth {
    let a = 1.0 - level;
    if net <= 0.0 || sq <= 0.0 {
        // No arrivals to count: the rate is 0 (not the net fall, which would lie below the
        // interval's 0), bounded above by -ln(a/2) arrivals of one unit.
        let hi = unit_if_flat * gamma_quantile(1.0, 1.0 - a / 2.0) / span;
        return Growth { per_day: 0.0, interval: [0.0, hi], span_days: span, arrivals: 0.0, unit: unit_if_flat };
    }
    let unit = sq / net;
    let n = net / unit;
    let lo = unit * gamma_quantile(n, a / 2.0) / span;
    let hi = unit * gamma_quantile(n + 1.0, 1.0 - a / 2.0) / span;
    Growth { per_day: net / span, interval: [lo, hi], span_days: span, arrivals: n, unit }
}

/// Quantile of Gamma(shape, 1).
fn gamma_quantile(shape: f64, p: f64) -> f64 {
    Gamma::new(shape, 1.0).map_or(f64::NAN, |g| g.inverse_cdf(p))
}

impl Growth {
    /// The `p` quantile of the days until the series has grown by `amount` more (in its own
    /// units), future arrivals and the rate's uncertainty included; `None` when it does not
    /// grow (the wait is unbounded).
    pub fn wait_quantile(&self, amount: f64, p: f64) -> Option<f64> {
        if amount <= 0.0 {
            return Some(0.0);
        }
        if self.per_day <= 0.0 || self.arrivals <= 0.0 {
            return None;
        }
        let k = amount / self.unit;
        let shape = self.arrivals + 0.5;
        let f = FisherSnedecor::new(2.0 * k, 2.0 * shape).ok()?.inverse_cdf(p);
        Some(self.span_days * k / shape * f)
    }

    /// Days to grow by `amount` at the estimated rate (the point forecast).
    pub fn days_for(&self, amount: f64) -> Option<f64> {
        if amount <= 0.0 {
            return Some(0.0);
        }
        (self.per_day > 0.0).then(|| amount / self.per_day)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn equal_steps_are_a_plain_poisson_count() {
        // 10 revisions of 8 ports over 5 days: 16 ports a day; Garwood's interval for 10
        // events is [4.795, 18.390] (exact chi-square quantiles / 2, e.g. R's poisson.test).
        let times: Vec<f64> = (0..=100).map(|i| i as f64 * 5.0 * DAY / 100.0).collect();
        let values: Vec<f64> = (0..=100).map(|i| 8.0 * (i / 10).min(10) as f64).collect();
        let g = growth(&times, &values, 0.95, 8.0).unwrap();
        assert!((g.per_day - 16.0).abs() < 1e-12 && (g.arrivals - 10.0).abs() < 1e-9 && g.unit == 8.0);
        assert!((g.interval[0] - 8.0 * 4.795 / 5.0).abs() < 0.01, "{:?}", g.interval);
        assert!((g.interval[1] - 8.0 * 18.390 / 5.0).abs() < 0.01, "{:?}", g.interval);
    }

    #[test]
    fn a_flat_series_has_no_rate_but_an_upper_bound() {
        let g = growth(&[0.0, DAY, 2.0 * DAY], &[16.0, 16.0, 16.0], 0.95, 8.0).unwrap();
        assert_eq!((g.per_day, g.interval[0]), (0.0, 0.0));
        // -ln(0.025) = 3.689 steps of 8 over 2 days.
        assert!((g.interval[1] - 8.0 * 0.025f64.ln().abs() / 2.0).abs() < 1e-6);
        assert_eq!(g.wait_quantile(8.0, 0.5), None);
        assert_eq!(growth(&[5.0], &[1.0], 0.95, 8.0), None);
        // A series that fell 16 over 2 days: no growth, inside [0, hi] (it printed -8 [0, hi]).
        let g = growth(&[0.0, DAY, 2.0 * DAY], &[32.0, 24.0, 16.0], 0.95, 8.0).unwrap();
        assert_eq!((g.per_day, g.interval[0]), (0.0, 0.0));
        assert!(g.per_day <= g.interval[1]);
    }

    #[test]
    fn arrivals_over_windows_are_the_weighted_poisson_sum() {
        // One process: 10 revisions of 8 ports over 5 days is the step series above.
        let g = arrivals(&[(10.0, 8.0, 5.0)], 0.95).unwrap();
        assert!((g.per_day - 16.0).abs() < 1e-12 && (g.arrivals - 10.0).abs() < 1e-9);
        assert!((g.interval[0] - 8.0 * 4.795 / 5.0).abs() < 0.01 && (g.interval[1] - 8.0 * 18.390 / 5.0).abs() < 0.01);
        // Two equal-weight windows pool into one count: 6 in 3 days and 4 in 2 days of 1 port
        // each weigh 1/3 and 1/2; by hand 2 + 2 = 4 a day, V = 6/9 + 4/4 = 5/3, so 9.6 effective.
        let g = arrivals(&[(6.0, 1.0, 3.0), (4.0, 1.0, 2.0)], 0.95).unwrap();
        assert!((g.per_day - 4.0).abs() < 1e-12 && (g.arrivals - 9.6).abs() < 1e-9, "{g:?}");
        // Nothing arrived: the bound is -ln(0.025) arrivals of the largest weight (8 ports / 2 days).
        let g = arrivals(&[(0.0, 8.0, 2.0), (0.0, 8.0, 4.0)], 0.95).unwrap();
        assert!(g.per_day == 0.0 && (g.interval[1] - 4.0 * 0.025f64.ln().abs()).abs() < 1e-9, "{g:?}");
        assert_eq!(arrivals(&[], 0.95), None);
    }

    #[test]
    fn wait_quantiles_bracket_the_point_forecast() {
        let g = Growth { per_day: 16.0, interval: [0.0, 0.0], span_days: 5.0, arrivals: 10.0, unit: 8.0 };
        let (lo, mid, hi) =
            (g.wait_quantile(80.0, 0.025).unwrap(), g.days_for(80.0).unwrap(), g.wait_quantile(80.0, 0.975).unwrap());
        assert!(lo < mid && mid < hi && (mid - 5.0).abs() < 1e-12, "{lo} {mid} {hi}");
        assert_eq!(g.wait_quantile(0.0, 0.9), Some(0.0));
    }
}
