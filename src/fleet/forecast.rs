//! One proxy's date with its limit: where the pooled model says its memory meets the limit,
//! and how long its own growth takes to get there.
//!
//! The model gives the proxy's memory at a predictor value: the pooled line plus the proxy's
//! own offset (its BLUP in a `group=proxy` fit) and, with random slopes (`slopes=proxy`), its
//! own slope, with their conditional uncertainty; so each proxy is dated from its own slope. Three crossings
//! of the limit matter: where the one-sided upper prediction bound meets it (the cautious
//! point answer), and where the proxy's mean line meets it, with the ends of its confidence
//! band (the range of the true crossing). The point date is the upper bound's crossing at the
//! estimated growth rate. The interval is for the day the proxy's memory really reaches its
//! limit: the wait for the growth to the mean crossing ([`Growth::wait_quantile`]: future
//! arrivals and the rate's uncertainty) and the crossing's own range, combined on the log
//! scale where both are close to normal. It always contains the point date.

use super::growth::Growth;
use crate::model::{FittedModel, GroupEffect, Prediction, ProxyClass};

/// Largest predictor value searched for a crossing.
const MAX_PREDICTOR: f64 = 1e12;

/// The model seen from one proxy.
pub(crate) struct ProxyModel<'a> {
    pub model: &'a FittedModel,
    pub effect: Option<&'a GroupEffect>,
    pub predictor: &'a str,
    /// Its kind and workers, for a model with terms on them.
    pub class: &'a ProxyClass,
}

impl ProxyModel<'_> {
    fn predict(&self, x: f64) -> Prediction {
        let row =
            self.model.design_row(|c| if c == self.predictor { x } else { self.class.value(c, |c| self.mean_of(c)) });
        match self.effect {
            Some(g) => self.model.predict_group(&row, g),
            None => {
                // A proxy the model has not seen: its offset (and slope, with random slopes)
                // is a new draw from the groups'.
                let p = self.model.predict_row(&row);
                let spread = self.model.errors.new_group_variance(x);
                Prediction { se_mean: (p.se_mean.powi(2) + spread).sqrt(), ..p }
            }
        }
    }

    fn mean_of(&self, column: &str) -> f64 {
        self.model.range(column).map_or(0.0, |r| r.mean)
    }

    /// The smallest predictor value at or above `from` where `mean + z se` reaches `limit`
    /// (`se_obs` when `observed`, else `se_mean`); `None` when it never does.
    pub fn crossing(&self, from: f64, limit: f64, z: f64, observed: bool) -> Option<f64> {
        let f = |x: f64| {
            let p = self.predict(x);
            p.mean + z * if observed { p.se_obs } else { p.se_mean } - limit
        };
        if f(from) >= 0.0 {
            return Some(from);
        }
        let (mut lo, mut hi) = (from, from.max(1.0) * 2.0);
        while f(hi) < 0.0 {
            lo = hi;
            hi *= 2.0;
            if hi > MAX_PREDICTOR {
                return None;
            }
        }
        for _ in 0..200 {
            let mid = 0.5 * (lo + hi);
            if mid <= lo || mid >= hi {
                break;
            }
            if f(mid) >= 0.0 {
                hi = mid;
            } else {
                lo = mid;
            }
        }
        Some(hi)
    }
}

/// A proxy's dates.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) struct Dates {
    /// Days until the upper bound crosses at the estimated rate (`None`: not at that rate,
    /// though within the interval, as where GC may hold a proxy short: [`super::mesh`]).
    pub days: Option<f64>,
    /// Interval of the days until the memory reaches the limit; `None` at the top when the
    /// growth's lower bound is zero (it may never).
    pub interval: [Option<f64>; 2],
}

/// The dates of a proxy at predictor value `now` with its `growth`, at confidence `level`;
/// `None` when the proxy does not grow or its memory does not rise with the predictor.
pub(crate) fn dates(pm: &ProxyModel<'_>, now: f64, limit: f64, growth: &Growth, level: f64) -> Option<Dates> {
    let a = 1.0 - level;
    let slope = pm.predict(now + 1.0).mean - pm.predict(now).mean;
    if slope <= 0.0 {
        return None;
    }
    let upper = pm.crossing(now, limit, pm.model.t_one_sided(level), true)?;
    let days = growth.days_for(upper - now)?;
    // The mean line's crossing and its confidence range.
    let z = pm.model.t_one_sided(1.0 - a / 2.0);
    let mid = pm.crossing(now, limit, 0.0, false)? - now;
    let early = pm.crossing(now, limit, z, false)? - now;
    let late = pm.crossing(now, limit, -z, false).map(|l| l - now);
    if mid <= 0.0 {
        let hi = late.and_then(|l| growth.wait_quantile(l, 1.0 - a / 2.0));
        return Some(Dates { days: Some(days), interval: [Some(0.0), hi.map(|h| h.max(days))] });
    }
    // Wait and crossing combine on the log scale (both close to log-normal): half-widths add
    // in quadrature around the median wait to the mean crossing.
    let median = growth.wait_quantile(mid, 0.5)?;
    let wait_lo = growth.wait_quantile(mid, a / 2.0)?;
    let wait_hi = growth.wait_quantile(mid, 1.0 - a / 2.0)?;
    let lo = if early <= 0.0 {
        0.0
    } else {
        let h = (median / wait_lo).ln().hypot((mid / early).ln());
        median * (-h).exp()
    };
    let hi = late.map(|late| {
        let h = (wait_hi / median).ln().hypot((late / mid).ln());
        median * h.exp()
    });
    Some(Dates { days: Some(days), interval: [Some(lo.min(days)), hi.map(|h| h.max(days))] })
}
