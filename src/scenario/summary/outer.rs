//! One outer combination of a grid (the axes before `transient` fixed): what all its
//! scenarios share (proxies, steady state, update rate) and their upper bounds per
//! (transient, level) pair, computed once for the whole block of inner scenarios with the
//! operations of [`Grid::evaluate`](super::super::Grid::evaluate), in the same order.

use super::super::curve::{Curve, Moments, RevisionGrowth};
use super::super::grid::{Grid, N_AXES};

/// Index of the first inner axis (`transient`): the axes before it fix the steady state and
/// the proxies, the inner ones (transient, headroom, level, limit) only scale and compare.
pub(super) const FIRST_INNER: usize = 9;

/// Upper bounds of an outer combination at one (transient, level) pair; they do not depend on
/// headroom or the limit.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(super) struct Bounds {
    /// Index of the most exposed sidecar (first of the largest bounds).
    pub(super) worst: usize,
    /// Its upper bound.
    pub(super) sidecar_upper: f64,
    /// The gateways' upper bound (NaN without gateways).
    pub(super) gateway_upper: f64,
    /// The larger of the two (the sidecar's when there are no gateways).
    pub(super) upper_max: f64,
    /// The most exposed sidecar's bound at the start.
    pub(super) sidecar_upper_start: f64,
    /// The gateways' bound at the start (NaN without gateways).
    pub(super) gateway_upper_start: f64,
}

/// What every scenario of one outer combination (axes before `transient` fixed) shares,
/// computed once for its whole block of inner scenarios.
#[derive(Debug, Clone, Default)]
pub(super) struct Outer {
    /// Index into [`Grid::proxies`].
    pub(super) proxies: usize,
    /// Steady-state revisions per service.
    pub(super) retained: f64,
    /// Revisions per service at day 0.
    pub(super) start: f64,
    /// How revisions per service grow (updates per day, weekends weighted; the chain; leak).
    pub(super) path: RevisionGrowth,
    /// Per (transient, level), level varying fastest.
    pub(super) bounds: Vec<Bounds>,
    /// Scratch: (mean, se_obs) at `retained` per sidecar.
    pub(super) moments: Vec<Moments>,
    /// Scratch: (mean, se_obs) at `start` per sidecar.
    pub(super) moments_start: Vec<Moments>,
}

/// What an outer combination's scenarios depend on: the proxies index, the steady state's
/// bits and the updates index. Outer combinations with equal keys evaluate the same.
pub(super) type OuterKey = (usize, u64, usize);

impl Bounds {
    /// Whether every proxy is within `target`, as in [`Grid::evaluate`].
    #[inline]
    pub(super) fn safe(&self, target: f64) -> bool {
        self.sidecar_upper <= target && self.gateway_upper.partial_cmp(&target) != Some(std::cmp::Ordering::Greater)
    }

    /// The smaller of the sidecar and gateway margins to `target` (the sidecar's when the
    /// gateway's is NaN), as the summary ranks scenarios.
    #[inline]
    pub(super) fn margin(&self, target: f64) -> f64 {
        let sidecar_margin = target - self.sidecar_upper;
        let gateway_margin = target - self.gateway_upper;
        if gateway_margin < sidecar_margin {
            gateway_margin
        } else {
            sidecar_margin
        }
    }
}

impl Grid {
    /// The key of the outer combination of `d`.
    #[inline]
    pub(super) fn outer_key(&self, d: &[usize; N_AXES]) -> OuterKey {
        (self.proxies_index(d), self.retained[self.retained_index(d)].to_bits(), d[3])
    }

    /// Fill `outer` for the outer combination of `d` (its inner digits are ignored).
    pub(super) fn prepare_outer(&self, d: &[usize; N_AXES], outer: &mut Outer) {
        let a = &self.spec.axes;
        let r = self.retained[self.retained_index(d)];
        outer.proxies = self.proxies_index(d);
        outer.retained = r;
        outer.path = self.growth(d);
        outer.start = outer.path.start;
        let proxies = &self.proxies[outer.proxies];
        outer.moments.clear();
        outer.moments.extend(proxies.sidecars.iter().map(|c| c.moments(r)));
        let gateway = proxies.gateway.as_ref().map(|g| g.moments(r));
        let start = outer.start;
        outer.moments_start.clear();
        outer.moments_start.extend(proxies.sidecars.iter().map(|c| c.moments(start)));
        let gateway_start = proxies.gateway.as_ref().map(|g| g.moments(start));
        outer.bounds.clear();
        for &transient in &a.transient {
            for &t in &self.t_one {
                // Same operations as `Curve::upper`, so the same bits as `evaluate`.
                let upper = |m: Moments| m.upper(t, transient);
                let mut worst = 0;
                let mut sidecar_upper = upper(outer.moments[0]);
                for (i, &ms) in outer.moments.iter().enumerate().skip(1) {
                    let u = upper(ms);
                    if u > sidecar_upper {
                        worst = i;
                        sidecar_upper = u;
                    }
                }
                let gateway_upper = gateway.map_or(f64::NAN, upper);
                let upper_max = if gateway_upper > sidecar_upper { gateway_upper } else { sidecar_upper };
                outer.bounds.push(Bounds {
                    worst,
                    sidecar_upper,
                    gateway_upper,
                    upper_max,
                    sidecar_upper_start: upper(outer.moments_start[worst]),
                    gateway_upper_start: gateway_start.map_or(f64::NAN, upper),
                });
            }
        }
    }

    /// Days to the limit of a scenario of `outer` with bounds `b` (from `outer.bounds` at
    /// transient index `j`, level index `k`) and target `target`; as [`Grid::evaluate`].
    pub(super) fn outer_days(&self, outer: &Outer, b: &Bounds, j: usize, k: usize, target: f64) -> f64 {
        let proxies = &self.proxies[outer.proxies];
        let (r, path) = (outer.retained, &outer.path);
        let (t, transient) = (self.t_one[k], self.spec.axes.transient[j]);
        let days = |c: &Curve, upper: f64, upper_start: f64| {
            c.days_to_cross(upper, || upper_start, r, path, t, transient, target)
        };
        let sidecar = days(&proxies.sidecars[b.worst], b.sidecar_upper, b.sidecar_upper_start);
        proxies.gateway.as_ref().map_or(sidecar, |g| sidecar.min(days(g, b.gateway_upper, b.gateway_upper_start)))
    }
}
