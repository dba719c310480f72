//! Monte Carlo time simulation: how likely a proxy is to be OOMKilled within a horizon, and when,
//! as teams keep deploying and Knative's GC keeps up (or not).
//!
//! For every scenario of a [`Grid`], each path runs day by day. Every Knative service seen by
//! the most exposed sidecar or the gateway gets updates as a Poisson process at the scenario's
//! `updates_per_day` (times `weekend_factor` on days 5 and 6 of each week), of which the share
//! `unrouted_share` never routes: those revisions stay `pending` and are never collected
//! (knative/serving `pkg/reconciler/gc/gc.go` `isRevisionActive`), a Poisson count of their own
//! added beside what GC keeps of the rest; Knative's GC runs at
//! each update and at the informers' resync (every `gc_resync`, 10 hours by default), and a
//! proxy's daily sample judges staleness as of `gc_resync` hours before it: the most a proxy can
//! hold since the last pass ([`retention`] explains why counts per part of a day then suffice). Memory follows the
//! model with its uncertainty: the coefficients are drawn once per path from the fit's sampling
//! distribution (multivariate t, dof = the fit's inference dof, scale its coefficient
//! covariance), plus the reading noise of the model's error structure ([`kernel::Noise`]):
//! under `iid` N(0, sigma^2) each day; under `levels` a level offset N(0, sigma_between^2),
//! redrawn whenever the proxy's revision count changes, plus N(0, sigma_within^2) each day;
//! under `group` also a proxy offset N(0, sigma_group^2) drawn once per path. With `high_water_mark` a proxy holds its peak since the last
//! restart until the heap GC frees reaches 100 MiB, which Envoy returns after the xDS update
//! (`Memory::Utils::tryShrinkHeap`, [`kernel::HEAP_SHRINK_BYTES`]). A proxy is OOMKilled when memory x transient exceeds
//! the limit (at most once a day), which restarts it and resets its high-water mark.
//!
//! Scenarios that differ only in transient, headroom, level or limit form a group and share
//! their random paths (common random numbers): the paths are simulated once per group, and
//! comparisons across limits are not blurred by sampling noise. Path `k` of a group draws from
//! a xoshiro256++ generator seeded by `ChaCha8Rng` stream `k` of (seed, the group's first
//! scenario id), so the output depends on neither the thread count, nor the sharding, nor the
//! order work finishes in.
//!
//! Day `t` is the sample at `24 t` hours: day 0 is the start (after GC of the start revisions),
//! day `horizon_days` the end. [`Simulation::run`] gives a [`SimOutcome`] per scenario in id
//! order ([`write_rows`], [`summarize`] on top of it); [`Simulation::fan`] gives one
//! scenario's memory per day over its paths.

mod fan;
mod kernel;
mod output;
mod plan;
pub mod retention;
mod sampling;

use std::ops::Range;

use rayon::prelude::*;
use serde::Serialize;

use self::kernel::{run_path, stride, Recorder, Scratch, FIXED, PER_SCENARIO};
use self::plan::{check_shape, Plan};
use self::sampling::{quantile, CoefSampler, MAX_MEAN};
use super::grid::{decode, Evaluation, Grid};
use super::spec::{SimSettings, Spec};
use crate::error::{Error, Result};

pub use self::fan::Fan;
pub use self::output::{header, summarize, write_rows, AxisOom, SimSummary, ValueOom, WorstSim, RESULT_COLUMNS};
pub use self::retention::kept_after_gc;

/// Seed used when none is given.
pub const DEFAULT_SEED: u64 = 1;
/// Paths per work item.
const PATH_CHUNK: u64 = 32;
/// Work items (path chunks) per window of groups.
const WINDOW_ITEMS: u64 = 256;
/// Bytes of per-path records in flight (bounds memory whatever the grid size).
const WINDOW_BYTES: u64 = 64 << 20;
/// Largest per-path record set of one group, in values (8 bytes each).
const MAX_GROUP_VALUES: u64 = 100_000_000;
/// The default bound on a run's work, in steps of the day loop ([`Simulation::work`]): at about
/// 10^8 steps a second per core, minutes to an hour. `simulate`, `sweep --simulate`, `plot fan`
/// and `report --spec` all check it ([`Simulation::check_work`]) before they start.
pub const DEFAULT_MAX_WORK: u64 = 100_000_000_000;

/// Validated simulation settings: the spec's `[simulate]` with command-line overrides, and a
/// seed.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct SimOptions {
    /// Horizon, paths, weekend factor, high-water mark.
    pub settings: SimSettings,
    /// Seed of every random stream.
    pub seed: u64,
}

impl SimOptions {
    /// The spec's settings with the default seed.
    pub fn from_spec(spec: &Spec) -> SimOptions {
        SimOptions { settings: spec.simulate, seed: DEFAULT_SEED }
    }
}

/// What the paths say about one proxy of one scenario.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct ProxyOutcome {
    /// Share of paths with at least one OOMKill within the horizon.
    pub p_oom: f64,
    /// Median day of the first OOMKill (null: beyond the horizon).
    pub days_to_oom_p50: Option<f64>,
    /// Median over paths of the peak memory x transient, bytes (what the proxy asks for; the
    /// kernel stops it at the limit).
    pub peak_p50_bytes: f64,
    /// 95th percentile of that peak, bytes.
    pub peak_p95_bytes: f64,
    /// Mean OOMKills per proxy per 30 days that the proxy recovers from (a peak over the limit;
    /// the restarted Envoy fits). Days 0 through the horizon are checked, each at most once.
    pub ooms_per_month: f64,
    /// Mean days per 30 in a crash loop: the steady memory of the whole config is itself over
    /// the limit, so every restart is OOMKilled again before it serves.
    pub crash_loop_days_per_month: f64,
}

/// The simulated answer for one scenario, with the analytic one beside it.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct SimOutcome {
    /// Scenario id.
    pub id: u64,
    /// Share of paths where the sidecar or the gateway is OOMKilled within the horizon.
    pub p_oom: f64,
    /// Day of the first OOMKill of either proxy, 5th percentile over paths (null: beyond the
    /// horizon; paths without one count as beyond it).
    pub days_to_oom_p5: Option<f64>,
    /// Median of that day.
    pub days_to_oom_p50: Option<f64>,
    /// 95th percentile of that day.
    pub days_to_oom_p95: Option<f64>,
    /// The most exposed sidecar.
    pub sidecar: ProxyOutcome,
    /// One gateway replica (null without gateways).
    pub gateway: Option<ProxyOutcome>,
    /// Mean revisions per Knative service at the end of the horizon.
    pub simulated_retained: f64,
    /// The analytic steady state ([`Grid::evaluate`]).
    pub analytic: Evaluation,
}

/// A grid ready to simulate.
#[derive(Debug)]
pub struct Simulation<'g> {
    grid: &'g Grid,
    options: SimOptions,
    coef: CoefSampler,
    group_size: u64,
}

impl<'g> Simulation<'g> {
    /// Check the options against the grid and prepare the coefficient sampler.
    pub fn new(grid: &'g Grid, options: SimOptions) -> Result<Simulation<'g>> {
        let s = &options.settings;
        if s.paths == 0 {
            return Err(Error::invalid("paths must be at least 1 (--paths or [simulate] paths), but it is 0"));
        }
        if s.horizon_days == 0 {
            return Err(Error::invalid(
                "horizon_days must be at least 1 (--horizon-days or [simulate] horizon_days), but it is 0",
            ));
        }
        if !(s.weekend_factor.is_finite() && s.weekend_factor >= 0.0) {
            return Err(Error::invalid(format!(
                "weekend_factor must be a non-negative number, not {}",
                s.weekend_factor
            )));
        }
        for &rate in &grid.spec.axes.updates_per_day {
            let peak = rate * s.weekend_factor.max(1.0);
            if peak > MAX_MEAN {
                return Err(Error::invalid(format!(
                    "updates_per_day {rate} (x weekend_factor) is above the {MAX_MEAN} a day the simulation handles"
                )));
            }
            if peak * f64::from(s.horizon_days) > 2e9 {
                return Err(Error::invalid(format!(
                    "{rate} updates a day over {} days is more than 2 x 10^9 revisions per service; shorten the horizon",
                    s.horizon_days
                )));
            }
        }
        for p in &grid.proxies {
            for c in p.sidecars.iter().chain(p.gateway.iter()) {
                check_shape(&c.shape)?;
            }
        }
        let group_size: u64 = grid.lengths[9..].iter().map(|&l| l as u64).product();
        let values = u64::from(s.paths) * stride(group_size as usize) as u64;
        if values > MAX_GROUP_VALUES {
            return Err(Error::invalid(format!(
                "{} paths x {group_size} scenarios per group (transient x headroom x level x limit) need more than {MAX_GROUP_VALUES} values in memory; use fewer paths or split the limit axis",
                s.paths
            )));
        }
        Ok(Simulation { grid, options, coef: CoefSampler::new(&grid.model)?, group_size })
    }

    /// The grid.
    pub fn grid(&self) -> &Grid {
        self.grid
    }

    /// The options.
    pub fn options(&self) -> &SimOptions {
        &self.options
    }

    /// Scenarios per group (sharing their random paths).
    pub fn group_size(&self) -> u64 {
        self.group_size
    }

    /// An upper bound on the work of simulating `range`, in steps of the day loop (paths x days
    /// x (Knative services + scenarios), summed over the groups of scenarios sharing paths).
    pub fn work(&self, range: Range<u64>) -> u64 {
        plan::work(self.grid, &self.options.settings, self.group_size, range)
    }

    /// Refuse simulating `range` when [`Simulation::work`] is above `max_work`, saying how to
    /// shrink the run. Every command that runs paths calls it before the first one.
    pub fn check_work(&self, range: Range<u64>, max_work: u64) -> Result<()> {
        let work = self.work(range.clone());
        if work <= max_work {
            return Ok(());
        }
        let s = &self.options.settings;
        Err(Error::invalid(format!(
            "simulating {} scenarios takes about {work:.2e} steps (paths x days x (Knative services + scenarios per group)), more than --max-work {:.2e}: use fewer paths (--paths, now {}, or the spec's [simulate] paths) or days (--horizon-days, now {}, or [simulate] horizon_days), a smaller grid, or simulate --shard K/N across machines; or raise --max-work",
            range.end - range.start,
            max_work as f64,
            s.paths,
            s.horizon_days
        )))
    }

    fn plan(&self, group: u64) -> Plan {
        Plan::new(self.grid, group * self.group_size, self.group_size, &self.options.settings, self.options.seed)
    }

    /// Run paths `paths` of a group; returns their records (and per-day memory when recording).
    fn chunk(&self, plan: &Plan, paths: Range<u64>, scratch: &mut Scratch, record: Option<(usize, bool)>) -> Chunk {
        let s = &self.options.settings;
        let width = stride(self.group_size as usize);
        let days = s.horizon_days as usize + 1;
        let n = (paths.end - paths.start) as usize;
        let mut records = vec![0.0; n * width];
        let mut memory = if record.is_some() { vec![0.0; n * days] } else { Vec::new() };
        for (k, path) in paths.enumerate() {
            let recorder = record.map(|(scenario, gateway)| Recorder {
                scenario,
                gateway,
                days: &mut memory[k * days..(k + 1) * days],
            });
            run_path(
                plan,
                &self.coef,
                kernel::Noise::of(&self.grid.model),
                s.horizon_days as usize,
                s.high_water_mark,
                path,
                scratch,
                &mut records[k * width..(k + 1) * width],
                recorder,
            );
        }
        Chunk { records, memory }
    }

    /// Simulate the scenarios in `range` and hand each outcome to `sink`, in id order.
    /// `progress` gets the number of scenarios done so far.
    pub fn run<E>(
        &self,
        range: Range<u64>,
        progress: &dyn Fn(u64),
        sink: &mut dyn FnMut(&SimOutcome) -> std::result::Result<(), E>,
    ) -> std::result::Result<(), E> {
        if range.is_empty() {
            return Ok(());
        }
        let g = self.group_size;
        let paths = u64::from(self.options.settings.paths);
        let chunks = paths.div_ceil(PATH_CHUNK);
        // Enough work items per window to keep every thread busy and report progress often,
        // few enough groups to bound the records in memory.
        let group_bytes = paths * stride(g as usize) as u64 * 8;
        let window = (WINDOW_ITEMS / chunks).clamp(1, (WINDOW_BYTES / group_bytes.max(1)).max(1));
        let (first, end) = (range.start / g, (range.end - 1) / g + 1);
        let mut group = first;
        while group < end {
            let stop = (group + window).min(end);
            let plans: Vec<Plan> = (group..stop).into_par_iter().map(|k| self.plan(k)).collect();
            let results: Vec<Chunk> = (0..(stop - group) * chunks)
                .into_par_iter()
                .map_init(Scratch::default, |scratch, item| {
                    let (w, c) = (item / chunks, item % chunks);
                    let paths = c * PATH_CHUNK..((c + 1) * PATH_CHUNK).min(paths);
                    self.chunk(&plans[w as usize], paths, scratch, None)
                })
                .collect();
            for (w, k) in (group..stop).enumerate() {
                let parts = &results[w * chunks as usize..(w + 1) * chunks as usize];
                let ids = (k * g).max(range.start)..((k + 1) * g).min(range.end);
                self.outcomes(k * g, parts, ids, sink)?;
            }
            progress((stop * g).min(range.end) - range.start);
            group = stop;
        }
        Ok(())
    }

    /// Turn a group's path records into outcomes for `ids`.
    fn outcomes<E>(
        &self,
        first: u64,
        parts: &[Chunk],
        ids: Range<u64>,
        sink: &mut dyn FnMut(&SimOutcome) -> std::result::Result<(), E>,
    ) -> std::result::Result<(), E> {
        let width = stride(self.group_size as usize);
        let rows = || parts.iter().flat_map(|c| c.records.chunks_exact(width));
        let paths = f64::from(self.options.settings.paths);
        let months = f64::from(self.options.settings.horizon_days + 1) / 30.0;
        let sorted = |column: usize| {
            let mut v: Vec<f64> = rows().map(|r| r[column]).collect();
            v.sort_by(f64::total_cmp);
            v
        };
        let (peak_sc, peak_gw) = (sorted(0), sorted(1));
        let retained = rows().map(|r| r[2]).sum::<f64>() / paths;
        let has_gateway =
            self.grid.proxies[self.grid.proxies_index(&decode(first, &self.grid.lengths))].gateway.is_some();
        let days = |v: f64| v.is_finite().then_some(v);
        for id in ids {
            let v = (id - first) as usize;
            let d = decode(id, &self.grid.lengths);
            let transient = self.grid.spec.axes.transient[d[9]];
            let at = FIXED + PER_SCENARIO * v;
            let proxy = |offset: usize, peaks: &[f64]| {
                let firsts = sorted(at + offset);
                let ooms = rows().map(|r| r[at + offset + 1]).sum::<f64>();
                let crash = rows().map(|r| r[at + 4 + offset / 2]).sum::<f64>();
                ProxyOutcome {
                    p_oom: firsts.iter().filter(|x| x.is_finite()).count() as f64 / paths,
                    days_to_oom_p50: days(quantile(&firsts, 0.5)),
                    peak_p50_bytes: transient * quantile(peaks, 0.5),
                    peak_p95_bytes: transient * quantile(peaks, 0.95),
                    ooms_per_month: ooms / paths / months,
                    crash_loop_days_per_month: crash / paths / months,
                }
            };
            let mut any: Vec<f64> = rows().map(|r| r[at].min(r[at + 2])).collect();
            any.sort_by(f64::total_cmp);
            let outcome = SimOutcome {
                id,
                p_oom: any.iter().filter(|x| x.is_finite()).count() as f64 / paths,
                days_to_oom_p5: days(quantile(&any, 0.05)),
                days_to_oom_p50: days(quantile(&any, 0.5)),
                days_to_oom_p95: days(quantile(&any, 0.95)),
                sidecar: proxy(0, &peak_sc),
                gateway: has_gateway.then(|| proxy(2, &peak_gw)),
                simulated_retained: retained,
                analytic: self.grid.evaluate(id, &d),
            };
            sink(&outcome)?;
        }
        Ok(())
    }

    /// The outcome of one scenario.
    pub fn scenario(&self, id: u64) -> Result<SimOutcome> {
        self.check_id(id)?;
        let mut found = None;
        self.run::<Error>(id..id + 1, &|_| {}, &mut |o| {
            found = Some(*o);
            Ok(())
        })?;
        Ok(found.expect("one scenario in range"))
    }

    fn check_id(&self, id: u64) -> Result<()> {
        if id >= self.grid.size {
            return Err(Error::invalid(format!("scenario {id} is not in the grid of {} scenarios", self.grid.size)));
        }
        Ok(())
    }
}

/// Path records of a work item.
struct Chunk {
    /// [`stride`] values per path.
    records: Vec<f64>,
    /// Per path, memory per day when recording.
    memory: Vec<f64>,
}
