//! Levels: the configuration levels a series' readings come in, summarised once.
//!
//! A level is a set of readings taken at one configuration: in a series with times, a run of
//! consecutive readings (per group) that share every predictor value, so a count that comes
//! back later is a new level; without times, all readings (per group) that share the predictor
//! values. Each level is reduced to a handful of sufficient statistics of its readings'
//! deviations from the level mean (count, sum of squares, lag-1 cross products, the two end
//! values), which is all the AR(1) random-intercept likelihood needs: fitting then costs one
//! pass over the readings plus work proportional to the number of levels.

use rayon::prelude::*;

use super::row_index::{all_distinct, mix, RowIndex};
use crate::model::solve::DesignColumn;

/// Affine scaling applied before fitting, so the normal equations are well conditioned:
/// `y' = (y - y_shift) / y_scale`, `x'_j = x_j / x_scale[j]`.
#[derive(Debug, Clone)]
pub(crate) struct Scaling {
    pub y_shift: f64,
    pub y_scale: f64,
    pub x_scale: Vec<f64>,
}

/// Sufficient statistics of one level (scaled response units).
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) struct Level {
    /// Group index (0 when the fit has no groups).
    pub group: u32,
    /// Readings in the level.
    pub n: usize,
    /// Mean of the readings.
    pub mean: f64,
    /// Sum of squared deviations from the mean.
    pub ss: f64,
    /// Sum of lag-1 products of deviations, `sum_{t>=2} d_t d_{t-1}` (0 without times).
    pub lag: f64,
    /// `d_1 + d_n` (0 without times).
    pub ends: f64,
    /// `d_1^2 + d_n^2` (0 without times).
    pub ends_sq: f64,
    /// `d_1` alone (0 without times): with `ends`, the first and last readings, which the
    /// noise carried across level changes needs ([`super::drift`]).
    pub d_first: f64,
    /// Times of the first and last readings (0 without times).
    pub t_first: f64,
    pub t_last: f64,
    /// Index (among the fitted rows) of the level's first reading.
    pub first: usize,
}

impl Level {
    /// A level with no readings yet, starting at row `first`.
    fn empty(group: u32, first: usize) -> Level {
        Level {
            group,
            n: 0,
            mean: 0.0,
            ss: 0.0,
            lag: 0.0,
            ends: 0.0,
            ends_sq: 0.0,
            d_first: 0.0,
            t_first: 0.0,
            t_last: 0.0,
            first,
        }
    }
}

/// The levels of a fit, with one scaled design row per level.
#[derive(Debug, Clone)]
pub(crate) struct Levels {
    pub levels: Vec<Level>,
    /// Scaled design rows, row-major, `levels.len() x p`.
    pub x: Vec<f64>,
    pub p: usize,
    /// Readings are in time order within levels: lag statistics are meaningful.
    pub ordered: bool,
    /// Number of groups (1 when there are none).
    pub groups: usize,
    /// Total readings.
    pub readings: usize,
    /// Every reading has its own setting and `levels` was left empty (see [`form`]).
    pub all_distinct: bool,
    /// Per level, `ln(fitted mean / reference)`: the variance function's covariate when the
    /// spread is modelled ([`super::spread`]); empty otherwise.
    pub spread: Vec<f64>,
}

impl Levels {
    /// Design row of level `l`.
    pub fn row(&self, l: usize) -> &[f64] {
        &self.x[l * self.p..(l + 1) * self.p]
    }

    /// Number of levels, also when they were not materialised.
    pub fn count(&self) -> usize {
        if self.all_distinct {
            self.readings
        } else {
            self.levels.len()
        }
    }

    /// True when some level has more than one reading.
    pub fn replicated(&self) -> bool {
        self.levels.iter().any(|l| l.n > 1)
    }

    /// Pooled lag-1 autocorrelation of the within-level deviations (moment estimate).
    pub fn lag1_autocorrelation(&self) -> Option<f64> {
        if !self.ordered {
            return None;
        }
        let (num, den) = self.levels.iter().fold((0.0, 0.0), |(a, b), l| (a + l.lag, b + l.ss));
        let pairs: usize = self.levels.iter().map(|l| l.n.saturating_sub(1)).sum();
        (pairs >= 2 && den > 0.0).then(|| (num / den).clamp(-1.0, 1.0))
    }
}

/// Form the levels of `y` under `design`. `times` (one per row) orders readings and makes
/// levels runs; `groups` (one id per row, ids < `group_count`) nests levels in groups.
/// Without times, when every reading has its own setting and `singletons` is false, the
/// levels are not materialised (`all_distinct`): OLS diagnostics need no per-row copy.
pub(crate) fn form(
    y: &[f64],
    design: &[DesignColumn],
    times: Option<&[f64]>,
    groups: Option<(&[u32], usize)>,
    scaling: &Scaling,
    singletons: bool,
) -> Levels {
    let group_count = groups.map_or(1, |g| g.1);
    let groups = groups.map(|g| g.0);
    let n = y.len();
    let p = design.len();
    let value = |j: usize, i: usize| -> f64 {
        let c = &design[j];
        if c.power == 0 {
            1.0
        } else {
            c.base[i].powi(c.power as i32)
        }
    };
    let same_x = |a: usize, b: usize| design.iter().all(|c| c.power == 0 || c.base[a].to_bits() == c.base[b].to_bits());
    let group_of = |i: usize| groups.map_or(0, |g| g[i]);
    let ys = |i: usize| (y[i] - scaling.y_shift) / scaling.y_scale;
    let mut levels = Vec::new();
    let mut x = Vec::new();
    let push_x = |i: usize, x: &mut Vec<f64>| {
        for j in 0..p {
            x.push(value(j, i) / scaling.x_scale[j]);
        }
    };
    match times {
        Some(t) => {
            let order = time_order(t, groups, design);
            let at = |k: usize| order.as_ref().map_or(k, |o| o[k] as usize);
            let mut start = 0;
            while start < n {
                let first = at(start);
                let mut end = start + 1;
                while end < n && group_of(at(end)) == group_of(first) && same_x(at(end), first) {
                    end += 1;
                }
                let mut level = run_stats((start..end).map(|k| ys(at(k))), group_of(first), first);
                (level.t_first, level.t_last) = (t[first], t[at(end - 1)]);
                levels.push(level);
                push_x(first, &mut x);
                start = end;
            }
        }
        None => {
            // Welford accumulation per (group, predictor values), keyed without allocating.
            let key = |i: usize| {
                design
                    .iter()
                    .filter(|c| c.power != 0)
                    .fold(mix(0, u64::from(group_of(i))), |h, c| mix(h, c.base[i].to_bits()))
            };
            // All settings distinct (one reading each) is common and would make the index
            // large and cache-missing: sorted hashes tell, and then every row is its own level.
            let hashes: Vec<u64> = (0..n).into_par_iter().map(key).collect();
            if all_distinct(&hashes) {
                if !singletons {
                    return Levels {
                        levels,
                        x,
                        p,
                        ordered: false,
                        groups: group_count,
                        readings: n,
                        all_distinct: true,
                        spread: Vec::new(),
                    };
                }
                levels.reserve_exact(n);
                x.reserve_exact(n * p);
                for i in 0..n {
                    levels.push(Level { n: 1, mean: ys(i), ..Level::empty(group_of(i), i) });
                    push_x(i, &mut x);
                }
                return Levels {
                    levels,
                    x,
                    p,
                    ordered: false,
                    groups: group_count,
                    readings: n,
                    all_distinct: false,
                    spread: Vec::new(),
                };
            }
            let mut index = RowIndex::new();
            for i in 0..n {
                let (l, new) = index.find_or_insert(key(i), |l| {
                    let first = levels[l as usize].first;
                    group_of(first) == group_of(i) && same_x(first, i)
                });
                if new {
                    levels.push(Level::empty(group_of(i), i));
                    push_x(i, &mut x);
                }
                let level = &mut levels[l as usize];
                let v = ys(i);
                level.n += 1;
                let delta = v - level.mean;
                level.mean += delta / level.n as f64;
                level.ss += delta * (v - level.mean);
            }
        }
    }
    Levels {
        levels,
        x,
        p,
        ordered: times.is_some(),
        groups: group_count.max(1),
        readings: n,
        all_distinct: false,
        spread: Vec::new(),
    }
}

/// Rows in (group, time) order, or `None` when they already are. Rows at the same time sort
/// by their predictor values, so readings that share a timestamp form the same levels
/// whatever their order in the file.
fn time_order(t: &[f64], groups: Option<&[u32]>, design: &[DesignColumn]) -> Option<Vec<u32>> {
    let key = |i: usize| (groups.map_or(0, |g| g[i]), t[i]);
    let ties = |a: usize, b: usize| {
        design
            .iter()
            .filter(|c| c.power != 0)
            .map(|c| c.base[a].total_cmp(&c.base[b]))
            .find(|o| o.is_ne())
            .unwrap_or(std::cmp::Ordering::Equal)
    };
    let cmp = |a: usize, b: usize| {
        let (ka, kb) = (key(a), key(b));
        ka.0.cmp(&kb.0).then(ka.1.total_cmp(&kb.1)).then_with(|| ties(a, b))
    };
    if (1..t.len()).all(|i| cmp(i - 1, i).is_le()) {
        return None;
    }
    let mut order: Vec<u32> = (0..t.len() as u32).collect();
    order.sort_by(|&a, &b| cmp(a as usize, b as usize));
    Some(order)
}

/// Statistics of one run of readings in time order (two passes: mean, then deviations).
fn run_stats(values: impl Iterator<Item = f64> + Clone, group: u32, first: usize) -> Level {
    let (mut n, mut sum) = (0usize, 0.0);
    for v in values.clone() {
        n += 1;
        sum += v;
    }
    let mut mean = sum / n as f64;
    // One correction pass keeps the mean exact to rounding even for long runs.
    let correction: f64 = values.clone().map(|v| v - mean).sum::<f64>() / n as f64;
    mean += correction;
    let (mut ss, mut lag, mut prev, mut d_first, mut d_last) = (0.0, 0.0, f64::NAN, 0.0, 0.0);
    for (k, v) in values.enumerate() {
        let d = v - mean;
        ss += d * d;
        if k == 0 {
            d_first = d;
        } else {
            lag += d * prev;
        }
        prev = d;
        d_last = d;
    }
    Level {
        group,
        n,
        mean,
        ss,
        lag,
        ends: d_first + d_last,
        ends_sq: d_first * d_first + d_last * d_last,
        d_first,
        t_first: 0.0,
        t_last: 0.0,
        first,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn scaling(p: usize) -> Scaling {
        Scaling { y_shift: 0.0, y_scale: 1.0, x_scale: vec![1.0; p] }
    }

    #[test]
    fn runs_split_when_a_count_comes_back() {
        // revisions 1,1,2,2,1: three levels in time order, two without times.
        let rev = [1.0, 1.0, 2.0, 2.0, 1.0];
        let y = [1.0, 3.0, 10.0, 14.0, 5.0];
        let design = [DesignColumn { base: &[], power: 0 }, DesignColumn { base: &rev, power: 1 }];
        let t = [0.0, 30.0, 60.0, 90.0, 120.0];
        let runs = form(&y, &design, Some(&t), None, &scaling(2), true);
        assert_eq!(runs.levels.iter().map(|l| l.n).collect::<Vec<_>>(), [2, 2, 1]);
        assert_eq!(runs.levels[0].mean, 2.0);
        assert_eq!(runs.levels[1].ss, 8.0);
        // Deviations -1, +1: lag product -1, ends 0, ends_sq 2.
        assert_eq!((runs.levels[0].lag, runs.levels[0].ends, runs.levels[0].ends_sq), (-1.0, 0.0, 2.0));
        let pooled = form(&y, &design, None, None, &scaling(2), true);
        assert_eq!(pooled.levels.iter().map(|l| l.n).collect::<Vec<_>>(), [3, 2]);
        assert_eq!(pooled.levels[0].mean, 3.0);
        assert!((pooled.levels[0].ss - 8.0).abs() < 1e-12);
    }

    #[test]
    fn unsorted_times_and_groups_are_ordered() {
        let rev = [1.0, 1.0, 1.0, 1.0];
        let y = [4.0, 1.0, 2.0, 3.0];
        let design = [DesignColumn { base: &rev, power: 1 }];
        let t = [40.0, 10.0, 20.0, 30.0];
        let g = [1, 0, 1, 0];
        let l = form(&y, &design, Some(&t), Some((&g, 2)), &scaling(1), true);
        // group 0: rows 1, 3 (y 1, 3); group 1: rows 2, 0 (y 2, 4).
        assert_eq!(l.levels.len(), 2);
        assert_eq!((l.levels[0].group, l.levels[0].mean), (0, 2.0));
        assert_eq!((l.levels[1].group, l.levels[1].mean, l.levels[1].first), (1, 3.0, 2));
    }
}
