//! The summary's fast path: whole blocks of scenarios that share an outer combination.
//!
//! Scenario ids vary fastest over the inner axes (transient, headroom, level, limit), which
//! only scale and compare bounds that the outer axes fix. So a block (one outer combination)
//! computes its bounds once per (transient, level) pair, runs the limit axis in a tight loop,
//! and updates frontier cells once per run of limits (inner axes) or once per block (outer
//! axes). A block depends on its outer axes only through the proxies, the steady state and the
//! update rate, and GC policies often share a steady state: a small cache replays such blocks
//! from their totals. Days to the limit matter only for the minimum and for the worst list;
//! they are never negative, so once any scenario is at 0 days only newcomers to the worst list
//! pay for a crossing. Every number is computed with the operations of
//! [`Grid::evaluate`](super::super::Grid::evaluate), in the same order, so the summary is the
//! same to the bit as adding evaluations one by one.

use std::ops::Range;
use std::sync::atomic::{AtomicBool, Ordering};

use super::super::curve::Curve;
use super::super::grid::{decode, Grid, N_AXES};
use super::{worse, Accumulator, Cell, WORST};

/// Index of the first inner axis (`transient`): the axes before it fix the steady state and
/// the proxies, the inner ones (transient, headroom, level, limit) only scale and compare.
const FIRST_INNER: usize = 9;

/// Upper bounds of an outer combination at one (transient, level) pair; they do not depend on
/// headroom or the limit.
#[derive(Debug, Clone, Copy, PartialEq)]
struct Bounds {
    /// Index of the most exposed sidecar (first of the largest bounds).
    worst: usize,
    /// Its upper bound.
    sidecar_upper: f64,
    /// The gateways' upper bound (NaN without gateways).
    gateway_upper: f64,
    /// The larger of the two (the sidecar's when there are no gateways).
    upper_max: f64,
    /// The most exposed sidecar's bound at the start.
    sidecar_upper_start: f64,
    /// The gateways' bound at the start (NaN without gateways).
    gateway_upper_start: f64,
}

/// What every scenario of one outer combination (axes before `transient` fixed) shares,
/// computed once for its whole block of inner scenarios.
#[derive(Debug, Clone, Default)]
struct Outer {
    /// Index into [`Grid::proxies`].
    proxies: usize,
    /// Steady-state revisions per service.
    retained: f64,
    /// Revisions per service at day 0.
    start: f64,
    /// Updates per day, weekends weighted.
    rate: f64,
    /// Per (transient, level), level varying fastest.
    bounds: Vec<Bounds>,
    /// Scratch: (mean, se_obs) at `retained` per sidecar.
    moments: Vec<(f64, f64)>,
    /// Scratch: (mean, se_obs) at `start` per sidecar.
    moments_start: Vec<(f64, f64)>,
}

/// What an outer combination's scenarios depend on: the proxies index, the steady state's
/// bits and the updates index. Outer combinations with equal keys evaluate the same.
type OuterKey = (usize, u64, usize);

impl Bounds {
    /// Whether every proxy is within `target`, as in [`Grid::evaluate`].
    #[inline]
    fn safe(&self, target: f64) -> bool {
        self.sidecar_upper <= target && self.gateway_upper.partial_cmp(&target) != Some(std::cmp::Ordering::Greater)
    }

    /// The smaller of the sidecar and gateway margins to `target` (the sidecar's when the
    /// gateway's is NaN), as the summary ranks scenarios.
    #[inline]
    fn margin(&self, target: f64) -> f64 {
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
    fn outer_key(&self, d: &[usize; N_AXES]) -> OuterKey {
        (self.proxies_index(d), self.retained[self.retained_index(d)].to_bits(), d[3])
    }

    /// Fill `outer` for the outer combination of `d` (its inner digits are ignored).
    fn prepare_outer(&self, d: &[usize; N_AXES], outer: &mut Outer) {
        let a = &self.spec.axes;
        let r = self.retained[self.retained_index(d)];
        outer.proxies = self.proxies_index(d);
        outer.retained = r;
        outer.start = self.spec.start_revisions.min(r);
        outer.rate = self.rate(d[3]);
        let proxies = &self.proxies[outer.proxies];
        outer.moments.clear();
        outer.moments.extend(proxies.sidecars.iter().map(|c| (c.mean(r), c.se_obs(r))));
        let gateway = proxies.gateway.as_ref().map(|g| (g.mean(r), g.se_obs(r)));
        let start = outer.start;
        outer.moments_start.clear();
        outer.moments_start.extend(proxies.sidecars.iter().map(|c| (c.mean(start), c.se_obs(start))));
        let gateway_start = proxies.gateway.as_ref().map(|g| (g.mean(start), g.se_obs(start)));
        outer.bounds.clear();
        for &transient in &a.transient {
            for &t in &self.t_one {
                // Same operations as `Curve::upper`, so the same bits as `evaluate`.
                let upper = |(m, s): (f64, f64)| transient * (m + t * s);
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
    fn outer_days(&self, outer: &Outer, b: &Bounds, j: usize, k: usize, target: f64) -> f64 {
        let proxies = &self.proxies[outer.proxies];
        let (r, start, rate) = (outer.retained, outer.start, outer.rate);
        let (t, transient) = (self.t_one[k], self.spec.axes.transient[j]);
        let days = |c: &Curve, upper: f64, upper_start: f64| {
            c.days_to_cross(upper, || upper_start, r, start, rate, t, transient, target)
        };
        let sidecar = days(&proxies.sidecars[b.worst], b.sidecar_upper, b.sidecar_upper_start);
        proxies.gateway.as_ref().map_or(sidecar, |g| sidecar.min(days(g, b.gateway_upper, b.gateway_upper_start)))
    }
}

/// Blocks kept for replay by [`Accumulator::add_range`], direct-mapped by outer key (a power
/// of two).
const MEMO: usize = 64;

/// `limit x (1 - headroom)` per headroom and limit, as `evaluate` computes it.
struct Targets {
    bytes: Vec<Vec<f64>>,
    /// The smallest per headroom.
    lowest: Vec<f64>,
}

/// What a block added, to add it again for another block with the same outer key.
#[derive(Default)]
struct Block {
    /// Set once the block is complete (whole, not a range end).
    key: Option<OuterKey>,
    outer: Outer,
    /// Per run of the limit axis, in order.
    runs: Vec<Cell>,
    /// The runs summed per value of each inner axis but the limit: (axis, value, sum).
    inner: Vec<(usize, usize, Cell)>,
    totals: Cell,
    /// Fewest days computed (exact while days were needed: the block then computed them all).
    min_days: f64,
    /// Smallest margin, in the total order.
    min_margin: f64,
}

impl Block {
    /// Fill `inner` from `runs`, with the same sums and maxima as adding run by run.
    fn sum_inner(&mut self, l: &[usize; N_AXES]) {
        self.inner.clear();
        for (axis, &len) in l.iter().enumerate().take(N_AXES - 1).skip(FIRST_INNER) {
            self.inner.extend((0..len).map(|v| (axis, v, Cell::default())));
        }
        let mut d = [0; N_AXES];
        for (q, run) in self.runs.iter().enumerate() {
            set_inner(&mut d, l, q);
            let mut offset = 0;
            for (&value, &len) in d[FIRST_INNER..N_AXES - 1].iter().zip(&l[FIRST_INNER..N_AXES - 1]) {
                let c = &mut self.inner[offset + value].2;
                c.scenarios += run.scenarios;
                c.unsafe_scenarios += run.unsafe_scenarios;
                if run.required > c.required {
                    c.required = run.required;
                }
                offset += len;
            }
        }
    }
}

/// Scratch of [`Accumulator::add_range`].
struct Blocks {
    targets: Targets,
    /// `MEMO` slots plus one for partial blocks.
    memo: Vec<Block>,
}

impl Blocks {
    fn new(grid: &Grid) -> Blocks {
        let a = &grid.spec.axes;
        let bytes: Vec<Vec<f64>> =
            a.headroom.iter().map(|&h| a.limit.iter().map(|&l| l * (1.0 - h)).collect()).collect();
        let lowest = bytes.iter().map(|t| t.iter().copied().fold(f64::INFINITY, f64::min)).collect();
        Blocks { targets: Targets { bytes, lowest }, memo: (0..=MEMO).map(|_| Block::default()).collect() }
    }
}

/// The memo slot of a key: multiplicative hashing, keeping the top bits (the low bits of a
/// whole number's `f64` bits are all zero).
fn slot(key: OuterKey) -> usize {
    let (p, r, u) = key;
    let h = (p as u64).wrapping_mul(0x9E37_79B9_7F4A_7C15)
        ^ r.wrapping_mul(0xC2B2_AE3D_27D4_EB4F)
        ^ (u as u64).wrapping_mul(0x1656_67B1_9E37_79F9);
    (h >> (64 - MEMO.trailing_zeros())) as usize
}

/// Set the inner digits (transient, headroom, level) of run `q` of a block.
#[inline]
fn set_inner(d: &mut [usize; N_AXES], l: &[usize; N_AXES], q: usize) {
    d[9] = q / (l[10] * l[11]);
    d[10] = q / l[11] % l[10];
    d[11] = q % l[11];
}

/// Next outer combination: the odometer over the axes before `transient`.
#[inline]
fn advance_outer(d: &mut [usize; N_AXES], lengths: &[usize; N_AXES]) {
    for a in (0..FIRST_INNER).rev() {
        d[a] += 1;
        if d[a] < lengths[a] {
            return;
        }
        d[a] = 0;
    }
}

impl Accumulator {
    /// Evaluate the scenarios `ids` and add them: the same totals, to the bit, as
    /// [`evaluate`](Grid::evaluate) and [`add`](Self::add) for each, by blocks (see the module
    /// docs).
    ///
    /// `zero_days` is shared by accumulators that will be merged: it is set once any of them
    /// has seen a scenario at 0 days, after which none needs days for its minimum (the merged
    /// minimum is 0 whatever they would find). A fresh `AtomicBool` is always correct.
    pub fn add_range(&mut self, grid: &Grid, ids: Range<u64>, zero_days: &AtomicBool) {
        let l = grid.lengths;
        let limits = l[N_AXES - 1] as u64;
        let block: u64 = l[FIRST_INNER..].iter().map(|&n| n as u64).product();
        let Blocks { targets, memo } = &mut Blocks::new(grid);
        let mut d = decode(ids.start, &l);
        let mut id = ids.start;
        while id < ids.end {
            let lo = id % block;
            let hi = block.min(lo + (ids.end - id));
            let block_start = id - lo;
            let whole = lo == 0 && hi == block;
            let need_days = self.min_days > 0.0 && !zero_days.load(Ordering::Relaxed);
            let key = grid.outer_key(&d);
            // Partial blocks (at the ends of the range) use the last slot and are not replayed.
            let slot = if whole { slot(key) } else { MEMO };
            if whole && memo[slot].key == Some(key) {
                self.replay(grid, targets, &memo[slot], &mut d, block_start);
            } else {
                let entry = &mut memo[slot];
                entry.key = None;
                grid.prepare_outer(&d, &mut entry.outer);
                entry.runs.clear();
                entry.totals = Cell { scenarios: 0, unsafe_scenarios: 0, required: 0.0 };
                entry.min_days = f64::INFINITY;
                entry.min_margin = f64::INFINITY;
                let mut i = lo;
                while i < hi {
                    let q = i / limits;
                    let first = (i % limits) as usize;
                    let last = (limits.min(first as u64 + (hi - i))) as usize;
                    set_inner(&mut d, &l, q as usize);
                    let run_id = block_start + q * limits;
                    let (cell, days, margin) =
                        self.add_limits(grid, targets, &entry.outer, &d, run_id, first..last, need_days);
                    entry.runs.push(cell);
                    entry.totals.scenarios += cell.scenarios;
                    entry.totals.unsafe_scenarios += cell.unsafe_scenarios;
                    if cell.required > entry.totals.required {
                        entry.totals.required = cell.required;
                    }
                    entry.min_days = entry.min_days.min(days);
                    if margin.total_cmp(&entry.min_margin).is_lt() {
                        entry.min_margin = margin;
                    }
                    i += (last - first) as u64;
                }
                self.add_outer(&d, &entry.totals);
                if whole {
                    entry.key = Some(key);
                    entry.sum_inner(&l);
                }
            }
            if need_days && self.min_days <= 0.0 {
                zero_days.store(true, Ordering::Relaxed);
            }
            id = block_start + hi;
            advance_outer(&mut d, &l);
        }
    }

    /// Add a whole block from the totals of an earlier block whose outer combination evaluates
    /// the same: identical counts, required limits and days; only ids (hence the worst list)
    /// differ.
    fn replay(&mut self, grid: &Grid, targets: &Targets, entry: &Block, d: &mut [usize; N_AXES], block_start: u64) {
        let limits = grid.lengths[N_AXES - 1];
        for &(axis, value, cell) in &entry.inner {
            self.add_cell(axis, value, &cell);
        }
        if self.worst.len() < WORST || !entry.min_margin.total_cmp(&self.worst[WORST - 1].0).is_gt() {
            for q in 0..entry.runs.len() {
                set_inner(d, &grid.lengths, q);
                let run_id = block_start + (q * limits) as u64;
                self.add_worst(grid, targets, &entry.outer, d, run_id, 0..limits);
            }
        }
        if entry.min_days < self.min_days {
            self.min_days = entry.min_days;
        }
        self.add_outer(d, &entry.totals);
    }

    /// Totals of a block into the cells of the outer axes and the counts.
    fn add_outer(&mut self, d: &[usize; N_AXES], totals: &Cell) {
        for (a, &i) in d.iter().enumerate().take(FIRST_INNER) {
            self.add_cell(a, i, totals);
        }
        self.scenarios += totals.scenarios;
        self.safe += totals.scenarios - totals.unsafe_scenarios;
    }

    /// Scenarios `limits` of the run whose first scenario (limit index 0) is `run_id`, digits
    /// `d` (limit digit ignored). Updates the cells of the inner axes; returns the run's
    /// totals, the fewest days it computed (none unless `need_days`) and its smallest margin.
    #[allow(clippy::too_many_arguments)]
    #[inline]
    fn add_limits(
        &mut self,
        grid: &Grid,
        targets: &Targets,
        outer: &Outer,
        d: &[usize; N_AXES],
        run_id: u64,
        limits: Range<usize>,
        need_days: bool,
    ) -> (Cell, f64, f64) {
        let (j, h, k) = (d[9], d[10], d[11]);
        let b = outer.bounds[j * grid.lengths[11] + k];
        let run_targets = &targets.bytes[h][limits.clone()];
        // As in `evaluate`, operation for operation.
        let required = b.upper_max / (1.0 - grid.spec.axes.headroom[h]);
        let unsafe_scenarios = run_targets.iter().map(|&t| u64::from(!b.safe(t))).sum::<u64>();
        let mut min_days = f64::INFINITY;
        if unsafe_scenarios > 0 && need_days && self.min_days > 0.0 {
            // Days are never negative: once the fewest is 0 no scenario can lower it.
            for &target in run_targets {
                if !b.safe(target) {
                    min_days = min_days.min(grid.outer_days(outer, &b, j, k, target));
                }
            }
            if min_days < self.min_days {
                self.min_days = min_days;
            }
        }
        let min_margin = self.add_worst(grid, targets, outer, d, run_id, limits.clone());
        let cell = Cell { scenarios: limits.len() as u64, unsafe_scenarios, required };
        for (axis, &value) in d.iter().enumerate().take(N_AXES - 1).skip(FIRST_INNER) {
            self.add_cell(axis, value, &cell);
        }
        (cell, min_days, min_margin)
    }

    /// Offer the scenarios `limits` of a run to the worst list; returns the run's smallest
    /// margin.
    #[inline]
    fn add_worst(
        &mut self,
        grid: &Grid,
        targets: &Targets,
        outer: &Outer,
        d: &[usize; N_AXES],
        run_id: u64,
        limits: Range<usize>,
    ) -> f64 {
        let (j, h, k) = (d[9], d[10], d[11]);
        let b = outer.bounds[j * grid.lengths[11] + k];
        let run_targets = &targets.bytes[h][limits.clone()];
        // Margins only grow with the target (rounding is monotone): the smallest target of the
        // run has the smallest margin, and when it does not make the worst list, none does.
        let lowest = if limits.len() == grid.lengths[N_AXES - 1] {
            targets.lowest[h]
        } else {
            run_targets.iter().copied().fold(f64::INFINITY, f64::min)
        };
        let min_margin = b.margin(lowest);
        if self.worst.len() == WORST && min_margin.total_cmp(&self.worst[WORST - 1].0).is_gt() {
            return min_margin;
        }
        let required = b.upper_max / (1.0 - grid.spec.axes.headroom[h]);
        for (li, &target) in limits.zip(run_targets) {
            let margin = b.margin(target);
            let id = run_id + li as u64;
            if self.worst.len() < WORST || worse(margin, id, &self.worst[self.worst.len() - 1]) {
                let days = if b.safe(target) { f64::INFINITY } else { grid.outer_days(outer, &b, j, k, target) };
                self.insert_worst(margin, id, d, li, days, required);
            }
        }
        min_margin
    }
}

#[cfg(test)]
mod tests {
    use std::path::Path;

    use super::*;
    use crate::scenario::Spec;

    const MODEL: &str = "models/knative-1.11-istio-1.18.json";

    fn grid(axes_and_mesh: &str) -> Grid {
        let text = format!("model = {MODEL:?}\n{axes_and_mesh}");
        let spec = Spec::parse(Path::new("test.toml"), &text).unwrap();
        let model = crate::model::store::load(Path::new(MODEL)).unwrap();
        Grid::new(spec, model, u64::MAX).unwrap()
    }

    /// The reference: `evaluate` and `add`, one scenario at a time.
    fn one_by_one(grid: &Grid, ids: Range<u64>) -> String {
        let mut acc = Accumulator::new(grid);
        let mut d = decode(ids.start, &grid.lengths);
        for id in ids {
            acc.add(&d, &grid.evaluate(id, &d));
            super::super::super::grid::advance(&mut d, &grid.lengths);
        }
        serde_json::to_string(&acc.finish(grid)).unwrap()
    }

    /// Blocks over `cuts` (consecutive ranges, added in reverse order to one shared flag).
    fn by_blocks(grid: &Grid, cuts: &[u64]) -> String {
        let zero_days = AtomicBool::new(false);
        let parts: Vec<Accumulator> = cuts
            .windows(2)
            .rev()
            .map(|w| {
                let mut acc = Accumulator::new(grid);
                acc.add_range(grid, w[0]..w[1], &zero_days);
                acc
            })
            .collect();
        let acc = parts.into_iter().fold(Accumulator::new(grid), Accumulator::merge);
        serde_json::to_string(&acc.finish(grid)).unwrap()
    }

    fn check(grid: &Grid) {
        let n = grid.size;
        let whole = one_by_one(grid, 0..n);
        assert_eq!(by_blocks(grid, &[0, n]), whole, "whole range");
        // Cuts inside blocks and runs, a single scenario, an empty range.
        let cuts = [0, 1, 7, 7, n / 3 + 5, n / 2, n / 2 + 1, n - 3, n];
        assert_eq!(by_blocks(grid, &cuts), whole, "cut at {cuts:?}");
        let (a, b) = (n / 5 + 3, n - n / 7);
        assert_eq!(by_blocks(grid, &[a, a + 11, b]), one_by_one(grid, a..b), "a shard");
    }

    #[test]
    fn blocks_equal_scenario_by_scenario_with_gateways() {
        // Unsorted and repeated limits, several levels and headrooms, positive and zero days.
        check(&grid(
            "[mesh]\ngateways = 2\nstart = 30\n[axes]\nnamespaces = [1, 6]\nknative_services = [3, 40]\n\
             updates_per_day = [0, 0.4, 30, 300]\nretain_since_create_time = [\"48h\", \"disabled\"]\n\
             retain_since_last_active_time = [\"15h\", \"disabled\"]\nmin_non_active_revisions = [20, 1]\n\
             max_non_active_revisions = [\"disabled\", 60]\nscope = [\"namespace\", \"mesh\"]\n\
             transient = [1.3, 1.0]\nheadroom = [\"5%\", \"0%\", \"30%\"]\nlevel = [0.9, 0.99]\n\
             limit = [\"2Gi\", \"300Mi\", \"1Gi\", \"300Mi\", \"700Mi\", \"64Mi\"]\n\
             [simulate]\nweekend_factor = 0.3\n",
        ));
    }

    #[test]
    fn blocks_equal_scenario_by_scenario_when_days_matter() {
        // Safe at day 0 (the fewest days is positive) and update rates sharing a steady state
        // (21 or 11 revisions): blocks replayed across rates must keep their own days.
        check(&grid(
            "[axes]\nnamespaces = [1, 2]\nknative_services = [10]\nupdates_per_day = [1, 2, 0.5]\n\
             min_non_active_revisions = [20, 10]\nscope = [\"mesh\", \"namespace\"]\ntransient = [1.0, 1.5]\n\
             limit = [\"256Mi\", \"200Mi\", \"1Gi\"]\n",
        ));
    }

    #[test]
    fn steady_states_spread_over_slots() {
        // Whole numbers differ only in the high bits of their f64 representation.
        let slots: std::collections::HashSet<usize> =
            [1.0f64, 11.0, 21.0, 51.0, 101.0, 1001.0].iter().map(|r| slot((7, r.to_bits(), 3))).collect();
        assert!(slots.len() >= 5, "{slots:?}");
    }

    #[test]
    fn blocks_equal_scenario_by_scenario_without_gateways() {
        check(&grid(
            "[mesh]\ngateways = 0\n[axes]\nnamespaces = [2, 5]\nupdates_per_day = [1, 8]\n\
             min_non_active_revisions = [20, 2, 0]\nscope = [\"mesh\", \"namespace\"]\n\
             headroom = [0.1]\nlimit = [\"1Gi\", \"600Mi\", \"4Gi\"]\n",
        ));
    }

    #[test]
    fn blocks_equal_scenario_by_scenario_single_limit_filtered_gateways() {
        check(&grid(
            "[mesh]\ngateways = 3\nfilter_gateway_cluster_config = true\n[axes]\nnamespaces = [2, 30]\n\
             knative_services = [9, 60]\nupdates_per_day = [1, 50]\nretain_since_create_time = [\"2h30m\", \"disabled\"]\n\
             max_non_active_revisions = [\"disabled\", 500]\ntransient = [1.0, 1.7, 1.2]\n\
             level = [0.8, 0.999]\nlimit = [\"900Mi\"]\n",
        ));
    }

    #[test]
    fn blocks_equal_scenario_by_scenario_on_a_topology() {
        // Several sidecar curves per proxies entry: the most exposed one is chosen per bound.
        check(&grid(
            "topology = \"data/topology-example.toml\"\n[mesh]\nstart = 21\n[axes]\nupdates_per_day = [1, 30, 100]\n\
             retain_since_create_time = [\"48h\", \"6h\"]\nmax_non_active_revisions = [1000, 100]\n\
             scope = [\"mesh\", \"namespace\", \"hosts=./*,istio-system/*,knative-serving/*\"]\n\
             transient = [1.0, 1.5]\nlimit = [\"512Mi\", \"1Gi\"]\n",
        ));
    }
}
