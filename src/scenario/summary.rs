//! `--summary`: what a planner wants from a grid, without writing every row.
//!
//! Counts, the worst scenarios (smallest margin, ties broken by id), and for every value of
//! every axis the limit that keeps all its scenarios safe (the frontier). Every part merges by
//! sums, maxima and a totally ordered top-k, so chunks may be combined in any order, and shard
//! summaries merge into exactly the unsharded summary.

use serde::{Deserialize, Serialize};

use super::grid::{Evaluation, Grid, N_AXES};
use super::spec::AXES;
use crate::quantity::format_bytes;

pub use check::check;

mod blocks;
mod check;
mod outer;

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
    /// The grid's fingerprint ([`super::shard::fingerprint`]): shards of other grids do not
    /// merge.
    pub grid_sha256: String,
    /// Scenarios evaluated (the grid, or a shard of it).
    pub scenarios: u64,
    /// The ids evaluated, `[first, end)`: a shard's slice, or `[0, grid_size)`.
    pub ids: [u64; 2],
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
        for (offset, &len) in offsets.iter_mut().zip(&grid.lengths) {
            *offset = total;
            total += len;
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
        for (a, &i) in d.iter().enumerate().take(N_AXES - 1) {
            let c = &mut self.cells[self.offsets[a] + i];
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
            grid_sha256: super::shard::fingerprint(grid, "sweep"),
            scenarios: self.scenarios,
            ids: [0, grid.size],
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

    /// Merge shard summaries, given in shard order, into the summary of their union; `Err`
    /// names the index of the first part that does not continue the previous one's ids.
    pub fn merge(parts: Vec<Summary>) -> Result<Summary, usize> {
        let mut it = parts.into_iter().enumerate();
        let Some((_, mut acc)) = it.next() else { return Err(0) };
        for (k, p) in it {
            if p.ids[0] != acc.ids[1] || p.grid_size != acc.grid_size || p.grid_sha256 != acc.grid_sha256 {
                return Err(k);
            }
            acc.ids[1] = p.ids[1];
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
        Ok(acc)
    }
}
