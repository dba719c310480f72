//! `--summary`: what a planner wants from a grid, without writing every row.
//!
//! Counts, the worst scenarios (smallest margin, ties broken by id), and for every value of
//! every axis the limit that keeps all its scenarios safe (the frontier). Every part merges by
//! sums, maxima and a totally ordered top-k, so chunks may be combined in any order, and shard
//! summaries merge into exactly the unsharded summary.

use serde::{Deserialize, Serialize};

use std::ops::Range;
use std::sync::atomic::{AtomicBool, Ordering};

use super::grid::{decode, Evaluation, Grid, Outer, OuterKey, FIRST_INNER, N_AXES};
use super::spec::AXES;
use crate::quantity::format_bytes;

/// How many worst scenarios a summary keeps.
pub const WORST: usize = 10;

/// One of the worst scenarios.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Worst {
    /// Scenario id.
    pub id: u64,
    /// Axis values, in grid order.
    pub axes: Vec<String>,
    /// Smallest margin over the sidecar and the gateways, bytes.
    pub margin_bytes: f64,
    /// Days until the limit is crossed (null: never).
    pub days_to_limit: Option<f64>,
    /// The limit that would make it safe.
    pub required_limit_bytes: f64,
}

/// The frontier for one axis value.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct FrontierValue {
    /// The axis value.
    pub value: String,
    /// Scenarios with this value.
    pub scenarios: u64,
    /// Of them, not safe.
    pub unsafe_scenarios: u64,
    /// The limit that keeps every scenario with this value safe (max of required limits).
    pub required_limit_bytes: f64,
    /// The smallest limit of the limit axis at or above it (null: none listed suffices).
    pub smallest_safe_limit: Option<String>,
}

/// The frontier of one axis.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct AxisFrontier {
    /// Axis name.
    pub axis: String,
    /// One entry per value.
    pub values: Vec<FrontierValue>,
}

/// A sweep summary.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Summary {
    /// Scenarios in the whole grid.
    pub grid_size: u64,
    /// Scenarios evaluated (the grid, or a shard of it).
    pub scenarios: u64,
    /// Safe scenarios.
    pub safe: u64,
    /// Unsafe scenarios.
    pub unsafe_scenarios: u64,
    /// Fewest days to the limit over all scenarios (null: no scenario crosses).
    pub min_days_to_limit: Option<f64>,
    /// Values of the limit axis, bytes (to name the smallest safe limit).
    pub limits_bytes: Vec<f64>,
    /// Worst scenarios, smallest margin first.
    pub worst: Vec<Worst>,
    /// Per axis (limit excluded), per value.
    pub frontier: Vec<AxisFrontier>,
}

#[derive(Debug, Clone, Copy, Default)]
struct Cell {
    scenarios: u64,
    unsafe_scenarios: u64,
    required: f64,
}

/// Running totals over a range of scenarios.
#[derive(Debug, Clone)]
pub struct Accumulator {
    scenarios: u64,
    safe: u64,
    min_days: f64,
    worst: Vec<(f64, u64, [usize; N_AXES], f64, f64)>,
    offsets: [usize; N_AXES],
    cells: Vec<Cell>,
}

impl Accumulator {
    /// Empty totals for a grid.
    pub fn new(grid: &Grid) -> Accumulator {
        let mut offsets = [0; N_AXES];
        let mut total = 0;
        for a in 0..N_AXES {
            offsets[a] = total;
            total += grid.lengths[a];
        }
        Accumulator {
            scenarios: 0,
            safe: 0,
            min_days: f64::INFINITY,
            worst: Vec::with_capacity(WORST + 1),
            offsets,
            cells: vec![Cell { scenarios: 0, unsafe_scenarios: 0, required: 0.0 }; total],
        }
    }

    /// Add one evaluated scenario.
    #[inline]
    pub fn add(&mut self, d: &[usize; N_AXES], e: &Evaluation) {
        self.scenarios += 1;
        self.safe += u64::from(e.safe);
        if e.days_to_limit < self.min_days {
            self.min_days = e.days_to_limit;
        }
        // The limit axis (last) has no frontier: the required limit does not depend on it.
        for a in 0..N_AXES - 1 {
            let c = &mut self.cells[self.offsets[a] + d[a]];
            c.scenarios += 1;
            c.unsafe_scenarios += u64::from(!e.safe);
            if e.required_limit > c.required {
                c.required = e.required_limit;
            }
        }
        let margin = if e.gateway_margin < e.sidecar_margin { e.gateway_margin } else { e.sidecar_margin };
        if self.worst.len() < WORST || worse(margin, e.id, &self.worst[self.worst.len() - 1]) {
            let pos = self.worst.iter().position(|w| worse(margin, e.id, w)).unwrap_or(self.worst.len());
            self.worst.insert(pos, (margin, e.id, *d, e.days_to_limit, e.required_limit));
            self.worst.truncate(WORST);
        }
    }

    /// Evaluate the scenarios `ids` and add them: the same totals as [`evaluate`](Grid::evaluate)
    /// and [`add`](Self::add) per scenario, faster.
    ///
    /// Scenarios come in blocks sharing an outer combination (the axes before `transient`):
    /// bounds are computed once per block and per (transient, level) pair, the limit axis runs
    /// in a tight loop, and frontier cells are updated once per run of limits (inner axes) or
    /// per block (outer axes). A block depends on its outer axes only through the proxies,
    /// the steady state and the update rate, and GC policies often share a steady state: a
    /// small cache replays such blocks from their totals. Days to the limit are needed only
    /// for the minimum and for the worst scenarios: they are never negative, so once the
    /// minimum is 0 only newcomers to the worst list pay for a crossing.
    ///
    /// `zero_days` is shared by accumulators that will be merged: set once any of them has
    /// seen a scenario at 0 days, after which none needs days for its minimum (the merged
    /// minimum is 0 whatever they would find).
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
        let contender =
            self.worst.len() < WORST || !entry.min_margin.total_cmp(&self.worst[WORST - 1].0).is_gt();
        for (q, cell) in entry.runs.iter().enumerate() {
            set_inner(d, &grid.lengths, q);
            for axis in FIRST_INNER..N_AXES - 1 {
                self.add_cell(axis, d[axis], cell);
            }
            if contender {
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
        for axis in FIRST_INNER..N_AXES - 1 {
            self.add_cell(axis, d[axis], &cell);
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

    #[inline]
    fn add_cell(&mut self, axis: usize, value: usize, add: &Cell) {
        let c = &mut self.cells[self.offsets[axis] + value];
        c.scenarios += add.scenarios;
        c.unsafe_scenarios += add.unsafe_scenarios;
        if add.required > c.required {
            c.required = add.required;
        }
    }

    #[cold]
    fn insert_worst(&mut self, margin: f64, id: u64, d: &[usize; N_AXES], limit: usize, days: f64, required: f64) {
        let mut d = *d;
        d[N_AXES - 1] = limit;
        let pos = self.worst.iter().position(|w| worse(margin, id, w)).unwrap_or(self.worst.len());
        self.worst.insert(pos, (margin, id, d, days, required));
        self.worst.truncate(WORST);
    }

    /// Combine two accumulators (any order gives the same result).
    pub fn merge(mut self, other: Accumulator) -> Accumulator {
        self.scenarios += other.scenarios;
        self.safe += other.safe;
        self.min_days = self.min_days.min(other.min_days);
        for (c, o) in self.cells.iter_mut().zip(other.cells) {
            c.scenarios += o.scenarios;
            c.unsafe_scenarios += o.unsafe_scenarios;
            c.required = c.required.max(o.required);
        }
        self.worst.extend(other.worst);
        self.worst.sort_by(|a, b| a.0.total_cmp(&b.0).then(a.1.cmp(&b.1)));
        self.worst.truncate(WORST);
        self
    }

    /// The summary, with axis labels.
    pub fn finish(&self, grid: &Grid) -> Summary {
        let axes = &grid.spec.axes;
        let worst = self
            .worst
            .iter()
            .map(|&(margin, id, d, days, req)| Worst {
                id,
                axes: (0..N_AXES).map(|a| axes.label(a, d[a])).collect(),
                margin_bytes: margin,
                days_to_limit: days.is_finite().then_some(days),
                required_limit_bytes: req,
            })
            .collect();
        let frontier = (0..N_AXES - 1)
            .map(|a| AxisFrontier {
                axis: AXES[a].to_string(),
                values: (0..grid.lengths[a])
                    .map(|i| {
                        let c = self.cells[self.offsets[a] + i];
                        FrontierValue {
                            value: axes.label(a, i),
                            scenarios: c.scenarios,
                            unsafe_scenarios: c.unsafe_scenarios,
                            required_limit_bytes: c.required,
                            smallest_safe_limit: None,
                        }
                    })
                    .collect(),
            })
            .collect();
        let mut s = Summary {
            grid_size: grid.size,
            scenarios: self.scenarios,
            safe: self.safe,
            unsafe_scenarios: self.scenarios - self.safe,
            min_days_to_limit: self.min_days.is_finite().then_some(self.min_days),
            limits_bytes: axes.limit.clone(),
            worst,
            frontier,
        };
        s.name_safe_limits();
        s
    }
}

/// Blocks kept for replay by [`Accumulator::add_range`] (direct-mapped by outer key)...
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
    totals: Cell,
    /// Fewest days computed (exact while days were needed: the block then computed them all).
    min_days: f64,
    /// Smallest margin, in the total order.
    min_margin: f64,
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

fn slot(key: OuterKey) -> usize {
    let (p, r, u) = key;
    let h = (p as u64).wrapping_mul(0x9E37_79B9_7F4A_7C15)
        ^ r.wrapping_mul(0xC2B2_AE3D_27D4_EB4F)
        ^ (u as u64).wrapping_mul(0x1656_67B1_9E37_79F9);
    (h >> 32) as usize % MEMO
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

fn worse(margin: f64, id: u64, than: &(f64, u64, [usize; N_AXES], f64, f64)) -> bool {
    margin.total_cmp(&than.0).then(id.cmp(&than.1)).is_lt()
}

impl Summary {
    /// Fill `smallest_safe_limit` from the limit axis.
    fn name_safe_limits(&mut self) {
        let mut limits = self.limits_bytes.clone();
        limits.sort_by(f64::total_cmp);
        for f in &mut self.frontier {
            for v in &mut f.values {
                v.smallest_safe_limit =
                    limits.iter().find(|&&l| l >= v.required_limit_bytes && v.scenarios > 0).map(|&l| format_bytes(l));
            }
        }
    }

    /// Merge shard summaries (in any order) into the summary of their union.
    pub fn merge(parts: Vec<Summary>) -> Option<Summary> {
        let mut it = parts.into_iter();
        let mut acc = it.next()?;
        for p in it {
            acc.scenarios += p.scenarios;
            acc.safe += p.safe;
            acc.unsafe_scenarios += p.unsafe_scenarios;
            acc.min_days_to_limit = match (acc.min_days_to_limit, p.min_days_to_limit) {
                (Some(a), Some(b)) => Some(a.min(b)),
                (a, b) => a.or(b),
            };
            acc.worst.extend(p.worst);
            for (f, g) in acc.frontier.iter_mut().zip(p.frontier) {
                for (v, w) in f.values.iter_mut().zip(g.values) {
                    v.scenarios += w.scenarios;
                    v.unsafe_scenarios += w.unsafe_scenarios;
                    v.required_limit_bytes = v.required_limit_bytes.max(w.required_limit_bytes);
                }
            }
        }
        acc.worst.sort_by(|a, b| a.margin_bytes.total_cmp(&b.margin_bytes).then(a.id.cmp(&b.id)));
        acc.worst.truncate(WORST);
        acc.name_safe_limits();
        Some(acc)
    }
}
