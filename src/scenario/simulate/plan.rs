//! Everything one scenario group needs before its paths run: which services each proxy sees,
//! the model's design along the proxy's shape, GC lags as day offsets, Poisson tables per part
//! of a day, and the OOM threshold of every scenario in the group.

use super::retention::StaleRule;
use super::sampling::{stream_key, PoissonTable};
use crate::error::{Error, Result};
use crate::model::FittedModel;
use crate::scenario::curve::{design_line, Shape};
use crate::scenario::grid::{decode, Grid};
use crate::scenario::spec::SimSettings;

/// A GC age threshold as seen from the daily sample at `T = 24 t` hours: the cut `T - L`
/// falls `offset` days back, at fraction `cuts[cut]` of that day.
#[derive(Debug, Clone)]
pub(super) struct Lag {
    /// Days back (ceil(L / 24)).
    pub offset: usize,
    /// Index of the cut fraction within a day.
    pub cut: usize,
    /// For `t < offset` (cut before day 0): start revisions created at or before the cut.
    pub start_le: Vec<u32>,
}

/// One proxy's memory as a linear function of the revisions it sees.
#[derive(Debug, Clone)]
pub(super) struct ProxyPlan {
    /// Design row at zero retained revisions.
    pub a: Vec<f64>,
    /// Design row change per revision seen (the shape's per-R slope over its services).
    pub b_per_rev: Vec<f64>,
    /// Knative services it sees (the first ones of the simulated services).
    pub services: usize,
}

/// A scenario group: scenarios that differ only in transient, headroom, level and limit, and
/// therefore share their random paths.
#[derive(Debug, Clone)]
pub(super) struct Plan {
    /// RNG key of the group.
    pub key: u64,
    /// Knative services simulated (the most any simulated proxy sees).
    pub services: usize,
    /// The most exposed sidecar.
    pub sidecar: ProxyPlan,
    /// The gateway, if the mesh has gateways.
    pub gateway: Option<ProxyPlan>,
    /// Number of parts of a day (1 to 3), split at the GC cut fractions.
    pub segments: usize,
    /// Poisson table per part of a day, weekday and weekend (`None`: rate 0), of the updates
    /// that route.
    pub tables: [Vec<Option<PoissonTable>>; 2],
    /// Poisson table of a day's never-routed revisions, weekday and weekend (`None`: none):
    /// GC never collects them.
    pub leak: [Option<PoissonTable>; 2],
    /// `retain-since-create-time` lag.
    pub create: Option<Lag>,
    /// `retain-since-last-active-time` lag.
    pub active: Option<Lag>,
    /// Which time rules make a revision stale.
    pub rule: StaleRule,
    /// `min-non-active-revisions` (0 when disabled).
    pub min: u64,
    /// `max-non-active-revisions` (`u64::MAX` when disabled).
    pub max: u64,
    /// Revisions per service at day 0.
    pub n_start: u32,
    /// Days of per-service count history kept.
    pub ring_days: usize,
    /// Per scenario of the group: the OOM threshold of raw memory, limit / transient.
    pub thresholds: Vec<f64>,
    /// Per scenario of the group: the transient factor.
    pub transients: Vec<f64>,
}

/// Refuse a proxy shape the simulation cannot split into whole Knative services.
pub(super) fn check_shape(shape: &Shape) -> Result<()> {
    let services = shape.rev1.round();
    if !(services >= 0.0 && (shape.rev1 - services).abs() < 1e-6 && services <= 1e7) {
        return Err(Error::invalid(format!(
            "a proxy sees {} Knative services (revisions per retained revision); the simulation needs a whole number up to 10^7",
            shape.rev1
        )));
    }
    Ok(())
}

/// An upper bound on the work of simulating the groups of `range` (groups of `group_size`
/// scenarios): per group, paths x days x (Knative services simulated + scenarios checked), the
/// steps of the day loop. Saturates rather than overflows.
pub(super) fn work(grid: &Grid, settings: &SimSettings, group_size: u64, range: std::ops::Range<u64>) -> u64 {
    if range.is_empty() {
        return 0;
    }
    // The most Knative services any proxy of a (mesh, scope) combination sees.
    let services: Vec<u64> = grid
        .proxies
        .iter()
        .map(|p| p.sidecars.iter().chain(p.gateway.iter()).map(|c| c.shape.rev1.round() as u64).max().unwrap_or(0))
        .collect();
    let per_path_day = u64::from(settings.paths).saturating_mul(u64::from(settings.horizon_days) + 1);
    let mut total = 0u64;
    for group in range.start / group_size..=(range.end - 1) / group_size {
        let d = decode(group * group_size, &grid.lengths);
        let steps = services[grid.proxies_index(&d)].saturating_add(group_size);
        total = total.saturating_add(per_path_day.saturating_mul(steps));
    }
    total
}

fn proxy_plan(model: &FittedModel, shape: &Shape) -> ProxyPlan {
    // The grid built a `Curve` from this model and shape, which refuses what `design_line` does.
    let (a, b) = design_line(model, shape).expect("the grid's curves accept this model");
    let inv = if shape.rev1 > 0.0 { 1.0 / shape.rev1 } else { 0.0 };
    ProxyPlan { a, b_per_rev: b.iter().map(|x| x * inv).collect(), services: shape.rev1.round() as usize }
}

/// Start revisions (newest `spacing` hours before day 0, then one every `spacing` hours
/// further back) whose age at `now` is at least `hours`, compared as `GcPolicy::is_stale`
/// compares.
fn start_at_least(n_start: u32, spacing: f64, now: f64, hours: f64) -> u32 {
    let old_enough = |i: u32| now - (-(f64::from(i) + 1.0) * spacing) >= hours;
    // Closed form for the first index old enough, then nudged to the exact comparison.
    let guess = ((hours - now) / spacing - 1.0).ceil().clamp(0.0, f64::from(n_start));
    let mut i = guess as u32;
    while i > 0 && old_enough(i - 1) {
        i -= 1;
    }
    while i < n_start && !old_enough(i) {
        i += 1;
    }
    n_start - i
}

/// The lag of an age threshold of `hours`, and its cut fraction within a day.
fn lag_of(hours: f64) -> (usize, f64) {
    let q = hours / 24.0;
    if (q - q.round()).abs() < 1e-9 {
        (q.round() as usize, 0.0)
    } else {
        (q.ceil() as usize, q.ceil() - q)
    }
}

impl Plan {
    /// Prepare the group whose first scenario is `first` (its last four axis indexes are 0).
    pub fn new(grid: &Grid, first: u64, group_size: u64, settings: &SimSettings, seed: u64) -> Plan {
        let d = decode(first, &grid.lengths);
        let axes = &grid.spec.axes;
        let model = &grid.model;
        let proxies = &grid.proxies[grid.proxies_index(&d)];
        let policy = grid.policies[grid.policy_index(&d)];
        let steady = grid.retained[grid.retained_index(&d)];
        // The most exposed sidecar: highest expected memory in steady state (first on ties).
        let mut worst = &proxies.sidecars[0];
        for c in &proxies.sidecars[1..] {
            if c.mean(steady) > worst.mean(steady) {
                worst = c;
            }
        }
        let sidecar = proxy_plan(model, &worst.shape);
        let gateway = proxies.gateway.as_ref().map(|g| proxy_plan(model, &g.shape));
        let services = sidecar.services.max(gateway.as_ref().map_or(0, |g| g.services));

        // The last GC pass before a sample ran at most `gc_resync` hours earlier (at an update,
        // or at the informers' resync): staleness is judged as of then, so each age threshold
        // is reached `gc_resync` hours later. An upper bound of what a proxy holds (exact when
        // no update fell in between), and of its peak between passes.
        let resync = settings.gc_resync_h;
        let thresholds_h =
            [policy.retain_since_create_h, policy.retain_since_last_active_h].map(|h| h.map(|h| h + resync));
        // Cut fractions: the day start plus where each age threshold falls within a day.
        let mut cuts = vec![0.0];
        let lag_parts: Vec<Option<(usize, f64)>> = thresholds_h.iter().map(|h| h.map(lag_of)).collect();
        for &(_, frac) in lag_parts.iter().flatten() {
            if !cuts.iter().any(|&c: &f64| (c - frac).abs() < 1e-12) {
                cuts.push(frac);
            }
        }
        cuts.sort_by(f64::total_cmp);

        // Updates that route feed the chain GC collects; the others never leave
        // (knative/serving pkg/reconciler/gc/gc.go isRevisionActive at knative-v1.11.0).
        let share = grid.spec.unrouted_share;
        let rate = crate::mesh::GcPolicy::chain_rate(axes.updates_per_day[d[3]], share);
        let leak_rate = axes.updates_per_day[d[3]] * share;
        let leak = [leak_rate, leak_rate * settings.weekend_factor].map(|m| (m > 0.0).then(|| PoissonTable::new(m)));
        let n_start = grid.spec.start_revisions.round().max(1.0) as u32;
        // Start revisions, newest first, one update interval apart before day 0.
        let spacing = if rate > 0.0 { 24.0 / rate } else { 24.0 };
        let horizon = settings.horizon_days as usize;
        let lag = |part: Option<(usize, f64)>, hours: Option<f64>| {
            let ((offset, frac), l) = (part?, hours?);
            let cut = cuts.iter().position(|&c| (c - frac).abs() < 1e-12).expect("cut was added");
            let start_le =
                (0..offset.min(horizon + 1)).map(|t| start_at_least(n_start, spacing, 24.0 * t as f64, l)).collect();
            Some(Lag { offset, cut, start_le })
        };
        let create = lag(lag_parts[0], thresholds_h[0]);
        let active = lag(lag_parts[1], thresholds_h[1]);
        let ring_days = [&create, &active]
            .iter()
            .filter_map(|l| l.as_ref().map(|l| l.offset))
            .filter(|&o| o <= horizon)
            .max()
            .unwrap_or(0)
            + 1;

        let mut tables: [Vec<Option<PoissonTable>>; 2] = [Vec::new(), Vec::new()];
        for (weekend, list) in tables.iter_mut().enumerate() {
            let per_day = if weekend == 1 { rate * settings.weekend_factor } else { rate };
            for j in 0..cuts.len() {
                let end = cuts.get(j + 1).copied().unwrap_or(1.0);
                let mean = per_day * (end - cuts[j]);
                list.push((mean > 0.0).then(|| PoissonTable::new(mean)));
            }
        }

        let mut thresholds = Vec::with_capacity(group_size as usize);
        let mut transients = Vec::with_capacity(group_size as usize);
        for v in 0..group_size {
            let dv = decode(first + v, &grid.lengths);
            let transient = axes.transient[dv[9]];
            thresholds.push(axes.limit[dv[12]] / transient);
            transients.push(transient);
        }
        Plan {
            key: stream_key(seed, first),
            services,
            sidecar,
            gateway,
            segments: cuts.len(),
            tables,
            leak,
            create,
            active,
            rule: StaleRule::of(&policy),
            min: u64::from(policy.min_non_active),
            max: policy.max_non_active.map_or(u64::MAX, u64::from),
            n_start,
            ring_days,
            thresholds,
            transients,
        }
    }
}
