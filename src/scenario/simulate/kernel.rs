//! One simulated path: a day loop over the services' revision counts, the proxies' memory and
//! every scenario's OOMs. Nothing here allocates; the scratch buffers live across paths.

use rand::{Rng, RngCore, SeedableRng};
use rand_chacha::ChaCha8Rng;
use rand_distr::StandardNormal;

use super::plan::{Lag, Plan, ProxyPlan};
use super::retention::kept;
use super::sampling::{CoefSampler, Xoshiro256};

/// Per-path values before the per-scenario ones: sidecar peak, gateway peak (raw bytes, before
/// the transient), mean revisions per service at the horizon.
pub(super) const FIXED: usize = 3;
/// Per-path values per scenario: sidecar first OOM day, sidecar OOMKills it recovers from,
/// gateway first OOM day, gateway OOMKills, then sidecar and gateway crash-loop days (days whose
/// steady memory itself, the restarted Envoy's whole config, is over the limit).
pub(super) const PER_SCENARIO: usize = 6;

/// Length of one path's record for a group of `scenarios`.
pub(super) fn stride(scenarios: usize) -> usize {
    FIXED + PER_SCENARIO * scenarios
}

/// Free heap Envoy returns to the system after an xDS update: `Memory::Utils::tryShrinkHeap()`
/// releases the allocator's free pages once physical minus allocated reaches
/// `MAX_UNFREED_MEMORY_BYTE` = 100 MiB (envoyproxy/envoy `source/common/memory/utils.cc`, called
/// by the gRPC mux after every xDS response, `source/extensions/config_subscription/grpc/
/// grpc_mux_impl.cc`). GC removing revisions is itself an xDS update, so within a daily step
/// memory falls back to the reading once the freed heap reaches this, and holds its high-water
/// mark below it. Fragmentation (pages with a live object cannot be returned) is not modelled.
pub(super) const HEAP_SHRINK_BYTES: f64 = 100.0 * 1_048_576.0;

/// Buffers reused across paths.
#[derive(Debug, Default)]
pub(super) struct Scratch {
    /// Per service, per day of history, per cut: revisions created before the cut.
    ring: Vec<u32>,
    /// Per service: revisions created since day 0.
    created: Vec<u32>,
    /// Per service: never-routed revisions created since day 0 (never collected).
    leaked: Vec<u64>,
    /// Per proxy and scenario: memory held since the last restart (the high-water mark, less
    /// what Envoy returned, see [`HEAP_SHRINK_BYTES`]).
    high: Vec<f64>,
    z: Vec<f64>,
    beta: Vec<f64>,
}

/// Records one scenario's memory (after the transient) for one proxy, per day.
pub(super) struct Recorder<'a> {
    /// Scenario index within the group.
    pub scenario: usize,
    /// Record the gateway instead of the sidecar.
    pub gateway: bool,
    /// One value per day, 0..=horizon.
    pub days: &'a mut [f64],
}

/// How to count revisions created at or before a cut on a given day.
#[derive(Clone, Copy)]
enum Count {
    /// The cut is before day 0: a count of start revisions.
    Start(u64),
    /// The cut is now: every revision.
    All,
    /// From the history at this offset within a service's ring.
    Ring(usize),
}

fn count_mode(lag: &Option<Lag>, t: usize, ring_days: usize, segments: usize) -> Count {
    match lag {
        None => Count::All,
        Some(l) if t < l.offset => Count::Start(u64::from(l.start_le[t])),
        Some(l) if l.offset == 0 => Count::All,
        Some(l) => Count::Ring(((t - l.offset) % ring_days) * segments + l.cut),
    }
}

fn mean_coefficients(p: &ProxyPlan, beta: &[f64]) -> (f64, f64) {
    let dot = |x: &[f64]| x.iter().zip(beta).map(|(x, b)| x * b).sum::<f64>();
    (dot(&p.a), dot(&p.b_per_rev))
}

/// A reading's noise around the model's mean, by the model's error structure.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) struct Noise {
    /// Standard deviation of a proxy's own offset, drawn once per path (a new proxy of a
    /// `group` fit).
    pub group: f64,
    /// Standard deviation of a level's offset, redrawn whenever the proxy's count changes.
    pub between: f64,
    /// Marginal standard deviation of one day's reading around its level (daily readings are
    /// hours apart, far beyond the within-level correlation of 30 s samples).
    pub within: f64,
    /// A random slope: `(design index of the driver, slope sd, offset-slope covariance)`. A new
    /// proxy draws its own slope once per path, correlated with its own offset, as
    /// `ErrorModel::new_group_variance` states their spread.
    pub slope: Option<(usize, f64, f64)>,
    /// A variance function `(power, reference bytes)`: the level and reading parts scale as
    /// `(mean / reference)^power` in sd, as in every prediction (`ErrorModel::level_variance`).
    pub spread: Option<(f64, f64)>,
}

impl Noise {
    /// The noise of a fitted model.
    pub(crate) fn of(model: &crate::model::FittedModel) -> Noise {
        use crate::model::ErrorKind;
        let e = &model.errors;
        let slope = e.slope.as_ref().map(|s| (s.index, s.sd_bytes_per_unit, s.offset_covariance));
        let spread = e.spread.as_ref().map(|s| (s.power, s.reference_bytes));
        match e.kind {
            ErrorKind::Levels | ErrorKind::Group => {
                Noise { group: e.sigma_group, between: e.sigma_between, within: e.sigma_within, slope, spread }
            }
            _ => Noise { group: 0.0, between: 0.0, within: model.residual_std_error, slope: None, spread: None },
        }
    }

    /// The sd multiplier of the level and reading parts at mean memory `mean`.
    fn scale(&self, mean: f64) -> f64 {
        match self.spread {
            Some((power, reference)) if mean > 0.0 => (mean / reference).powf(power),
            _ => 1.0,
        }
    }
}

/// One proxy's offsets along a path: its own, its own slope's deviation, and its current
/// level's (a standard normal draw, with the count the level belongs to).
#[derive(Debug, Clone, Copy)]
struct Offsets {
    own: f64,
    own_slope: f64,
    level: f64,
    count: Option<u64>,
}

impl Offsets {
    fn new<R: Rng>(rng: &mut R, noise: &Noise) -> Offsets {
        // No draws when a component is absent, so iid paths keep their random stream.
        let z0 = if noise.group > 0.0 || noise.slope.is_some() { rng.sample::<f64, _>(StandardNormal) } else { 0.0 };
        let own = noise.group * z0;
        // (offset, slope) ~ N(0, [[g^2, c], [c, s^2]]) by its Cholesky factor.
        let own_slope = match noise.slope {
            Some((_, sd, cov)) => {
                let along = if noise.group > 0.0 { cov / noise.group } else { 0.0 };
                along * z0 + (sd * sd - along * along).max(0.0).sqrt() * rng.sample::<f64, _>(StandardNormal)
            }
            None => 0.0,
        };
        Offsets { own, own_slope, level: 0.0, count: None }
    }

    /// The reading's noise at `count` visible revisions, the slope's driver at `driver` and
    /// mean memory `mean`.
    fn reading<R: Rng>(&mut self, rng: &mut R, noise: &Noise, count: u64, driver: f64, mean: f64) -> f64 {
        if noise.between > 0.0 && self.count != Some(count) {
            self.level = rng.sample::<f64, _>(StandardNormal);
            self.count = Some(count);
        }
        let scale = noise.scale(mean);
        // Added in this order, a model without slope or spread gives the same bits as before.
        self.own
            + self.own_slope * driver
            + scale * noise.between * self.level
            + scale * noise.within * rng.sample::<f64, _>(StandardNormal)
    }
}

/// Simulate path `path` of `plan` over `horizon` days; write its record into `out`
/// ([`stride`] values).
#[allow(clippy::too_many_arguments)]
pub(super) fn run_path(
    plan: &Plan,
    coef: &CoefSampler,
    noise: Noise,
    horizon: usize,
    high_water_mark: bool,
    path: u64,
    scratch: &mut Scratch,
    out: &mut [f64],
    mut recorder: Option<Recorder<'_>>,
) {
    let mut seeder = ChaCha8Rng::seed_from_u64(plan.key);
    seeder.set_stream(path);
    let mut rng = Xoshiro256::from_rng(&mut seeder);
    let p = coef.params();
    let scenarios = plan.thresholds.len();
    let (services, m, ring_days) = (plan.services, plan.segments, plan.ring_days);
    let per_service = ring_days * m;
    scratch.ring.clear();
    scratch.ring.resize(services * per_service, 0);
    scratch.created.clear();
    scratch.created.resize(services, 0);
    scratch.leaked.clear();
    scratch.leaked.resize(services, 0);
    scratch.high.clear();
    scratch.high.resize(2 * scenarios, f64::NEG_INFINITY);
    scratch.z.resize(p, 0.0);
    scratch.beta.resize(p, 0.0);

    coef.draw(&mut rng, &mut scratch.z, &mut scratch.beta);
    let mut offsets = [Offsets::new(&mut rng, &noise), Offsets::new(&mut rng, &noise)];
    let (sc0, sc1) = mean_coefficients(&plan.sidecar, &scratch.beta);
    let gw = plan.gateway.as_ref().map(|g| mean_coefficients(g, &scratch.beta));
    let (s_sc, s_gw) = (plan.sidecar.services, plan.gateway.as_ref().map_or(0, |g| g.services));

    out.fill(0.0);
    out[0] = f64::NEG_INFINITY;
    out[1] = if gw.is_some() { f64::NEG_INFINITY } else { f64::NAN };
    for v in 0..scenarios {
        out[FIXED + PER_SCENARIO * v] = f64::INFINITY;
        out[FIXED + PER_SCENARIO * v + 2] = f64::INFINITY;
    }
    let n_start = u64::from(plan.n_start);
    let (ring, created, leaked) = (&mut scratch.ring[..], &mut scratch.created[..], &mut scratch.leaked[..]);

    for t in 0..=horizon {
        let write_at = if t > 0 { ((t - 1) % ring_days) * m } else { 0 };
        let weekend = t > 0 && (t - 1) % 7 >= 5;
        let tables = &plan.tables[usize::from(weekend)];
        let leak = plan.leak[usize::from(weekend)].as_ref();
        let by_create = count_mode(&plan.create, t, ring_days, m);
        let by_active = count_mode(&plan.active, t, ring_days, m);
        let (mut sum, mut sum_sc, mut sum_gw) = (0u64, 0u64, 0u64);
        for s in 0..services {
            let hist = &mut ring[s * per_service..(s + 1) * per_service];
            let mut n = created[s];
            if t > 0 {
                // Day t - 1: note the count at each cut, then draw the updates up to the next.
                for (j, table) in tables.iter().enumerate() {
                    hist[write_at + j] = n;
                    if let Some(table) = table {
                        n += table.sample(rng.next_u64());
                    }
                }
                created[s] = n;
                if let Some(table) = leak {
                    leaked[s] += u64::from(table.sample(rng.next_u64()));
                }
            }
            let total = n_start + u64::from(n);
            let count = |c: Count| match c {
                Count::Start(x) => x,
                Count::All => total,
                Count::Ring(k) => n_start + u64::from(hist[k]),
            };
            sum += kept(plan.rule, plan.min, plan.max, total, count(by_create), count(by_active)) + leaked[s];
            if s + 1 == s_sc {
                sum_sc = sum;
            }
            if s + 1 == s_gw {
                sum_gw = sum;
            }
        }
        if t == horizon {
            out[2] = if services > 0 { sum as f64 / services as f64 } else { f64::NAN };
        }

        let driver = |p: &ProxyPlan, sum: u64| {
            noise.slope.map_or(0.0, |(k, _, _)| {
                p.a.get(k).copied().unwrap_or(0.0) + p.b_per_rev.get(k).copied().unwrap_or(0.0) * sum as f64
            })
        };
        let mean_sc = sc0 + sc1 * sum_sc as f64;
        let raw_sc = mean_sc + offsets[0].reading(&mut rng, &noise, sum_sc, driver(&plan.sidecar, sum_sc), mean_sc);
        let raw_gw = gw.zip(plan.gateway.as_ref()).map(|((g0, g1), g)| {
            let mean = g0 + g1 * sum_gw as f64;
            mean + offsets[1].reading(&mut rng, &noise, sum_gw, driver(g, sum_gw), mean)
        });
        for (proxy, raw) in [(0, Some(raw_sc)), (1, raw_gw)] {
            let Some(raw) = raw else { continue };
            if raw > out[proxy] {
                out[proxy] = raw;
            }
            let high = &mut scratch.high[proxy * scenarios..(proxy + 1) * scenarios];
            for (v, high) in high.iter_mut().enumerate() {
                let memory = if high_water_mark {
                    // Freed heap is held until an xDS update finds HEAP_SHRINK_BYTES of it.
                    if raw > *high || *high - raw >= HEAP_SHRINK_BYTES {
                        *high = raw;
                    }
                    *high
                } else {
                    raw
                };
                if let Some(r) = recorder.as_mut() {
                    if r.scenario == v && r.gateway == (proxy == 1) {
                        r.days[t] = plan.transients[v] * memory;
                    }
                }
                if memory > plan.thresholds[v] {
                    // OOMKilled: the restarted proxy starts from its current config. When that
                    // config alone is over the limit it is killed again before it serves: a
                    // crash loop (CrashLoopBackOff), counted as such, not as OOMKills.
                    let at = FIXED + PER_SCENARIO * v + 2 * proxy;
                    if out[at].is_infinite() {
                        out[at] = t as f64;
                    }
                    if raw > plan.thresholds[v] {
                        out[FIXED + PER_SCENARIO * v + 4 + proxy] += 1.0;
                    } else {
                        out[at + 1] += 1.0;
                    }
                    *high = f64::NEG_INFINITY;
                }
            }
        }
    }
}
