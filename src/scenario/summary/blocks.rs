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

use super::super::grid::{decode, Grid, N_AXES};
use super::outer::{Outer, OuterKey, FIRST_INNER};
use super::{worse, Accumulator, Cell, WORST};

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
mod tests;
