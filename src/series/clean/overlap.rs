//! Double counting whose bump does not look like a plateau: a new container that ramps up
//! while it is summed with the old one, or an overlap of only one or two steps.
//!
//! During a restart a `sum` over cAdvisor's containers reads old + new. The old container
//! holds about the reading before the bump (the base); the new one starts low and loads
//! config, so the sum can climb 1.3x, 1.7x, 2.0x over a few readings, or show a single
//! reading at 1.45x when the overlap is one step, and then fall to the new container alone.
//! The plateau pass of [`super::clean`] (1b) needs a peak of 1.6x against the reading right
//! before, so it misses both. This pass reads the bump as that sum instead: the new container implied by
//! each bumped reading (reading - base) and then by the reading after (the new container
//! alone) must not shrink by more than a tenth of the base, the reading after must be back
//! near the base (0.7x up to the bump's start), and the peak must reach 1.35x. Growth the
//! predictors explain, a climb to the limit and a restart counter going up after the bump
//! (not with it) rule it out, as in pass 1b.

use crate::series::Event;

use super::CleanSettings;

/// A bumped reading is at least this times the base.
const START: f64 = 1.15;
/// The bump's peak reaches this times the base.
const PEAK: f64 = 1.35;
/// How much the implied new container may shrink from one reading to the next, in bases.
const SHRINK: f64 = 0.1;

/// What the passes read: per-row memory, events so far, limits and restart counts.
pub(super) struct Signals<'a> {
    pub memory: &'a [f64],
    pub limits: &'a [Option<f64>],
    pub restarts: Option<&'a [f64]>,
    pub predictors: Vec<&'a [f64]>,
}

impl Signals<'_> {
    /// How much the predictors grew from row `base` to row `r` (1 when they did not).
    pub fn growth(&self, base: usize, r: usize) -> f64 {
        self.predictors
            .iter()
            .filter(|col| col[r].is_finite() && col[base].is_finite())
            .map(|col| (col[r].max(0.0) + 1.0) / (col[base].max(0.0) + 1.0))
            .fold(1.0, f64::max)
    }

    /// How much the restart counter went up from row `a` to row `b`.
    pub fn counter_up(&self, a: usize, b: usize) -> f64 {
        self.restarts.map_or(0.0, |r| if r[a].is_finite() && r[b].is_finite() { (r[b] - r[a]).max(0.0) } else { 0.0 })
    }

    /// A run that stays under the limit and ends near it: memory growing to an OOMKill.
    pub fn climb_to_oom(&self, run: &[usize], near_limit: f64) -> bool {
        let last = run[run.len() - 1];
        self.limits[last]
            .is_some_and(|l| run.iter().all(|&r| self.memory[r] <= l) && self.memory[last] >= (1.0 - near_limit) * l)
    }

    /// The restart counter goes up after the run (`last` to `after`) but not during it
    /// (`base` to `last`): the run was real memory before a restart.
    pub fn restart_after(&self, base: usize, last: usize, after: usize) -> bool {
        self.counter_up(last, after) > 0.0 && self.counter_up(base, last) == 0.0
    }
}

/// One double-counting episode: the base reading, the summed readings, the reading after.
pub(super) struct Overlap {
    pub base: usize,
    pub run: Vec<usize>,
    pub after: usize,
}

/// Ramped or short overlaps among `readings` (row indices in time order); rows with an event
/// are never part of one.
pub(super) fn ramped_overlaps(
    s: &Signals,
    readings: &[usize],
    events: &[Option<Event>],
    settings: &CleanSettings,
) -> Vec<Overlap> {
    const GROWTH_MARGIN: f64 = 1.3;
    const FALL_BACK: f64 = 0.7;
    let m = s.memory;
    let hi = settings.double_count_ratio.1;
    let mut found = Vec::new();
    let mut k = 1;
    while k < readings.len() {
        let p = readings[k - 1];
        let base = m[p];
        if !(base > 0.0 && m[readings[k]] >= START * base) {
            k += 1;
            continue;
        }
        let e = (k..readings.len()).find(|&e| m[readings[e]] < START * base);
        let Some(e) = e.filter(|&e| e - k <= settings.max_spike_rows) else {
            k += 1;
            continue;
        };
        let run = &readings[k..e];
        let after = readings[e];
        let (peak_row, peak) = run.iter().map(|&r| (r, m[r])).fold((p, 0.0), |a, b| if b.1 > a.1 { b } else { a });
        // The new container implied by each reading: the sum less the old, then alone.
        let implied: Vec<f64> = run.iter().map(|&r| m[r] - base).chain([m[after]]).collect();
        let ramps = implied.windows(2).all(|w| w[1] >= w[0] - SHRINK * base);
        let sum = (PEAK * base..=hi * base).contains(&peak)
            && m[after] >= FALL_BACK * base
            && ramps
            && peak / base > GROWTH_MARGIN * s.growth(p, peak_row)
            && run.iter().all(|&r| events[r].is_none() && m[r] / base > s.growth(p, r))
            && !s.climb_to_oom(run, settings.near_limit)
            && !s.restart_after(p, run[run.len() - 1], after);
        if sum {
            found.push(Overlap { base: p, run: run.to_vec(), after });
            k = e + 1;
        } else {
            k += 1;
        }
    }
    found
}
