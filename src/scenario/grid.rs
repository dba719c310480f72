//! The scenario grid: the Cartesian product of the axes, prepared for fast evaluation.
//!
//! Scenario ids run from 0 in mixed radix over [`AXES`](super::spec::AXES) with `limit`
//! varying fastest, so the order is stable and documented. Everything that does not depend on
//! every axis is computed once here: GC steady states per (updates, GC settings) combination,
//! proxy curves per (mesh, scope) combination, t quantiles per level.

use serde::Serialize;

use super::curve::{Curve, Quantiles, RevisionGrowth, Shape};
use super::spec::{MeshSource, Spec, AXES};
use crate::error::{Error, Result};
use crate::mesh::visibility::EXTERNAL_NAME_PORTS;
use crate::mesh::{visibility, GcPolicy, ProxyKind, Scope, ScopeMap, Topology, DEFAULT_CONCURRENCY};
use crate::model::FittedModel;

/// Number of axes.
pub const N_AXES: usize = AXES.len();

/// Proxies of one (mesh, scope) combination.
#[derive(Debug, Clone)]
pub struct Proxies {
    /// Sidecar curves (one per sidecar namespace of a topology; one for a generated mesh).
    pub sidecars: Vec<Curve>,
    /// The gateway curve (every gateway sees the same), if the mesh has gateways.
    pub gateway: Option<Curve>,
}

/// A grid ready to evaluate.
#[derive(Debug, Clone)]
pub struct Grid {
    /// The spec.
    pub spec: Spec,
    /// Axis lengths, in grid order.
    pub lengths: [usize; N_AXES],
    /// Number of scenarios.
    pub size: u64,
    /// Proxies per (mesh combination x scope).
    pub proxies: Vec<Proxies>,
    /// Revisions per service per (updates, GC) combination: the steady state of the routed
    /// chain, plus the never-routed ones the horizon adds when `unrouted_share` > 0.
    pub retained: Vec<f64>,
    /// The routed chain's steady state alone, per (updates, GC) combination.
    pub chain: Vec<f64>,
    /// GC policy per GC combination (updates axis excluded).
    pub policies: Vec<GcPolicy>,
    /// One-sided t quantile per level.
    pub t_one: Vec<Quantiles>,
    /// The model.
    pub model: FittedModel,
}

/// Decode a scenario id into axis indexes.
pub fn decode(mut id: u64, lengths: &[usize; N_AXES]) -> [usize; N_AXES] {
    let mut digits = [0; N_AXES];
    for a in (0..N_AXES).rev() {
        let len = lengths[a] as u64;
        digits[a] = (id % len) as usize;
        id /= len;
    }
    digits
}

/// Advance axis indexes to the next scenario (odometer); cheaper than [`decode`] per step.
#[inline]
pub fn advance(digits: &mut [usize; N_AXES], lengths: &[usize; N_AXES]) {
    for a in (0..N_AXES).rev() {
        digits[a] += 1;
        if digits[a] < lengths[a] {
            return;
        }
        digits[a] = 0;
    }
}

impl Grid {
    /// Prepare a grid, refusing one larger than `max_scenarios`.
    pub fn new(spec: Spec, model: FittedModel, max_scenarios: u64) -> Result<Grid> {
        let lengths = spec.axes.lengths();
        let exact = lengths.iter().try_fold(1u64, |acc, &l| acc.checked_mul(l as u64));
        let size = exact.unwrap_or(u64::MAX);
        if size > max_scenarios {
            // Beyond 2^64 the count is said as it is, not as the largest u64.
            let count = match exact {
                Some(n) => n.to_string(),
                None => format!("about {:.3e}", lengths.iter().map(|&l| l as f64).product::<f64>()),
            };
            return Err(Error::invalid(format!(
                "the grid of {} has {count} scenarios ({}), more than --max-scenarios {max_scenarios}",
                spec.path.display(),
                lengths.iter().map(ToString::to_string).collect::<Vec<_>>().join(" x ")
            )));
        }
        check_tables(&spec, &lengths)?;
        let a = &spec.axes;
        let mut policies = Vec::new();
        for &c in &a.retain_since_create_h {
            for &l in &a.retain_since_last_active_h {
                for &mi in &a.min_non_active {
                    for &ma in &a.max_non_active {
                        let policy = GcPolicy {
                            retain_since_create_h: c,
                            retain_since_last_active_h: l,
                            min_non_active: mi,
                            max_non_active: ma,
                        };
                        policy.validate().map_err(|e| Error::invalid(format!("{}: {e}", spec.path.display())))?;
                        policies.push(policy);
                    }
                }
            }
        }
        let (mut retained, mut chain) = (Vec::new(), Vec::new());
        let share = spec.unrouted_share;
        for &u in &a.updates_per_day {
            // Never-routed revisions stay (knative/serving pkg/reconciler/gc/gc.go
            // isRevisionActive at knative-v1.11.0): they add up over the horizon beside the
            // chain, which only the updates that route feed.
            let leaked = GcPolicy::unrouted_after(
                weekly_rate(u, spec.simulate.weekend_factor),
                share,
                f64::from(spec.simulate.horizon_days),
            );
            for p in &policies {
                let c = p.long_run_revisions(GcPolicy::chain_rate(u, share), spec.start_revisions);
                chain.push(c);
                retained.push(c + leaked);
            }
        }
        let mut proxies = Vec::new();
        for &n in &a.namespaces {
            for &k in &a.knative_services {
                for &pl in &a.plain_services {
                    for scope in &a.scope {
                        proxies.push(build_proxies(&spec.mesh, &model, scope, n, k, pl)?);
                    }
                }
            }
        }
        let t_one = a.level.iter().map(|&l| Quantiles::new(&model, l)).collect();
        Ok(Grid { spec, lengths, size, proxies, retained, chain, policies, t_one, model })
    }

    /// Index into `proxies` for a scenario.
    #[inline]
    pub fn proxies_index(&self, d: &[usize; N_AXES]) -> usize {
        let l = &self.lengths;
        ((d[0] * l[1] + d[1]) * l[2] + d[2]) * l[8] + d[8]
    }

    /// Index of the GC policy for a scenario (updates excluded).
    #[inline]
    pub fn policy_index(&self, d: &[usize; N_AXES]) -> usize {
        let l = &self.lengths;
        ((d[4] * l[5] + d[5]) * l[6] + d[6]) * l[7] + d[7]
    }

    /// Index into `retained` for a scenario.
    #[inline]
    pub fn retained_index(&self, d: &[usize; N_AXES]) -> usize {
        d[3] * self.policies.len() + self.policy_index(d)
    }
}

/// Updates per day averaged over a week whose weekend days run at `weekend_factor`.
#[inline]
fn weekly_rate(per_weekday: f64, weekend_factor: f64) -> f64 {
    per_weekday * (5.0 + 2.0 * weekend_factor) / 7.0
}

/// Proxy curves of a generated mesh or a topology under one scope.
/// Most proxy curves and steady states a grid precomputes (about 100 and 8 bytes each): the
/// tables grow with the product of some axes, not with the grid, but a spec with thousands of
/// values on several of them must get a named error, not exhaust the machine's memory.
pub const MAX_CURVES: u64 = 1 << 21;
/// See [`MAX_CURVES`].
pub const MAX_STEADY_STATES: u64 = 1 << 24;

/// Refuse a spec whose precomputed tables would exceed [`MAX_CURVES`] or [`MAX_STEADY_STATES`].
fn check_tables(spec: &Spec, lengths: &[usize; N_AXES]) -> Result<()> {
    let product = |axes: &[usize]| axes.iter().fold(1u64, |p, &a| p.saturating_mul(lengths[a] as u64));
    let sidecars = match &spec.mesh {
        MeshSource::Topology(t) => t.namespaces.iter().filter(|n| n.sidecars).count().max(1) as u64,
        _ => 1,
    };
    let curves = product(&[0, 1, 2, 8]).saturating_mul(sidecars + 1);
    if curves > MAX_CURVES {
        return Err(Error::invalid(format!(
            "the grid of {} needs {curves} proxy curves (namespaces x knative_services x plain_services x scope = {}, {} proxies each), more than the {MAX_CURVES} meshcap holds: use fewer values on those axes, or split the spec",
            spec.path.display(),
            product(&[0, 1, 2, 8]),
            sidecars + 1
        )));
    }
    let steady = product(&[3, 4, 5, 6, 7]);
    if steady > MAX_STEADY_STATES {
        return Err(Error::invalid(format!(
            "the grid of {} needs {steady} GC steady states (updates_per_day x the four GC axes), more than the {MAX_STEADY_STATES} meshcap holds: use fewer values on those axes, or split the spec",
            spec.path.display()
        )));
    }
    Ok(())
}

fn build_proxies(mesh: &MeshSource, model: &FittedModel, scope: &ScopeMap, n: u32, k: u32, pl: u32) -> Result<Proxies> {
    let ppr = model.ports_per_revision;
    match mesh {
        MeshSource::Generated { gateways, plain_ports, infra_ports, filter_gateway_cluster_config, versions } => {
            let (n, k, pl) = (f64::from(n), f64::from(k), f64::from(pl));
            let infra = f64::from(*infra_ports);
            // The model's ports per revision unless the spec names a Knative release.
            let ppr = if versions.knative_assumed { ppr } else { f64::from(versions.ports_per_revision()) };
            let placeholder = if versions.external_name_is_alias() { 0.0 } else { EXTERNAL_NAME_PORTS };
            let plain = pl * f64::from(*plain_ports);
            let public = f64::from(versions.public_ports());
            let all = |visible_ns: f64| Shape {
                rev0: 0.0,
                rev1: visible_ns * k,
                ports0: visible_ns * (plain + k * placeholder) + infra,
                ports1: visible_ns * k * ppr,
                services0: visible_ns * (pl + k) + infra,
                services1: 2.0 * visible_ns * k,
                // One pod behind each plain port; scaled-to-zero revisions point at the activator.
                endpoints0: visible_ns * (plain + k * placeholder) + infra,
                endpoints1: visible_ns * k * public,
                concurrency: f64::from(DEFAULT_CONCURRENCY),
            };
            // Per-namespace scopes are refused when the spec is parsed (no named namespaces).
            let sidecar = match scope.default {
                Scope::Mesh => all(n),
                Scope::Namespace => all(1.0_f64.min(n)),
                Scope::Hosts(_) => unreachable!("refused when the spec is parsed"),
            };
            let gateway = (*gateways > 0).then(|| {
                let mut g = all(n);
                if *filter_gateway_cluster_config {
                    // Only the routed revisions' public Services, one per Knative service.
                    g = Shape {
                        rev0: g.rev1,
                        rev1: 0.0,
                        ports0: g.rev1 * public,
                        ports1: 0.0,
                        services0: g.rev1,
                        services1: 0.0,
                        endpoints0: g.rev1 * public,
                        endpoints1: 0.0,
                        concurrency: g.concurrency,
                    };
                }
                g
            });
            Ok(Proxies {
                sidecars: vec![Curve::new(model, weigh_workers(model, sidecar))?],
                gateway: gateway.map(|g| Curve::new(model, weigh_workers(model, g))).transpose()?,
            })
        }
        MeshSource::Topology(topology) => {
            // Visibility is linear in retained revisions per service: two evaluations give the
            // shape. R counts revisions beyond the active ones (routed and pinned) plus one, so
            // R = 1 is a service with only its active revisions, as Knative's GC leaves it.
            let with = |r: u32| -> Result<Vec<crate::mesh::Visible>> {
                let mut t: Topology = (**topology).clone();
                for ns in &mut t.namespaces {
                    for ks in &mut ns.knative {
                        // Never-routed revisions are active to the GC too: never collected.
                        let active = ks.routed.saturating_add(ks.pinned).saturating_add(ks.unrouted).max(1);
                        ks.revisions = active.saturating_add(r - 1);
                    }
                }
                visibility(&t, scope)
            };
            let (v1, v2) = (with(1)?, with(2)?);
            let mut sidecars = Vec::new();
            let mut gateway = None;
            for (va, vb) in v1.iter().zip(&v2) {
                let (a, b, workers) = (&va.counts, &vb.counts, va.concurrency);
                let shape = Shape {
                    rev1: b.revisions - a.revisions,
                    rev0: 2.0 * a.revisions - b.revisions,
                    ports1: b.clusters - a.clusters,
                    ports0: 2.0 * a.clusters - b.clusters,
                    services1: b.services - a.services,
                    services0: 2.0 * a.services - b.services,
                    endpoints1: b.endpoints - a.endpoints,
                    endpoints0: 2.0 * a.endpoints - b.endpoints,
                    concurrency: workers,
                };
                let curve = Curve::new(model, weigh_workers(model, shape))?;
                match va.kind {
                    // Mesh infrastructure (the activator's sidecar) is a sidecar that no scope
                    // narrows: it counts among the sidecars, so a scope never hides it.
                    ProxyKind::Sidecar | ProxyKind::Infrastructure => sidecars.push(curve),
                    ProxyKind::Gateway => gateway = gateway.or(Some(curve)),
                }
            }
            Ok(Proxies { sidecars, gateway })
        }
    }
}

/// A shape's clusters weighed by the proxy's Envoy workers when the model has no `concurrency`
/// term ([`crate::project::workers`]).
fn weigh_workers(model: &FittedModel, mut shape: Shape) -> Shape {
    if !model.terms.iter().any(|t| t.column == crate::series::CONCURRENCY) {
        let k = crate::project::workers::worker_factor(model, shape.concurrency);
        shape.ports0 *= k;
        shape.ports1 *= k;
    }
    shape
}

/// The analytic answer for one scenario.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct Evaluation {
    /// Scenario id.
    pub id: u64,
    /// Revisions per Knative service in steady state (active + retained non-active), plus the
    /// never-routed ones `horizon_days` add when `unrouted_share` > 0 (no steady state then).
    pub retained: f64,
    /// Revisions seen by the most exposed sidecar.
    pub sidecar_revisions: f64,
    /// Endpoint ports seen by the most exposed sidecar.
    pub sidecar_ports: f64,
    /// Predicted peak memory of that sidecar (mean x transient).
    pub sidecar_mean: f64,
    /// Its one-sided upper prediction bound.
    pub sidecar_upper: f64,
    /// limit x (1 - headroom) minus that bound.
    pub sidecar_margin: f64,
    /// Revisions seen by the gateways (NaN without gateways).
    pub gateway_revisions: f64,
    /// Upper bound of gateway memory (NaN without gateways).
    pub gateway_upper: f64,
    /// Gateway margin (NaN without gateways).
    pub gateway_margin: f64,
    /// Every proxy within its margin in steady state.
    pub safe: bool,
    /// Days from the start until the first proxy's bound crosses the limit (inf: never).
    pub days_to_limit: f64,
    /// The limit that would make this scenario safe: worst upper bound / (1 - headroom).
    pub required_limit: f64,
}

impl Grid {
    /// Updates per day of updates-axis value `i`, weekends weighted.
    #[inline]
    pub fn rate(&self, i: usize) -> f64 {
        weekly_rate(self.spec.axes.updates_per_day[i], self.spec.simulate.weekend_factor)
    }

    /// How revisions per service grow in the scenario of `d`: from the start (what GC leaves
    /// of it: at most the routed chain's steady state) at the weekly rate.
    #[inline]
    pub fn growth(&self, d: &[usize; N_AXES]) -> RevisionGrowth {
        let rate = self.rate(d[3]);
        let chain = self.chain[self.retained_index(d)];
        let start = self.spec.start_revisions.min(chain);
        RevisionGrowth { start, chain, rate, leak: rate * self.spec.unrouted_share }
    }

    /// Evaluate one scenario from its axis indexes.
    #[inline]
    pub fn evaluate(&self, id: u64, d: &[usize; N_AXES]) -> Evaluation {
        let a = &self.spec.axes;
        let r = self.retained[self.retained_index(d)];
        let proxies = &self.proxies[self.proxies_index(d)];
        let transient = a.transient[d[9]];
        let headroom = a.headroom[d[10]];
        let t = self.t_one[d[11]];
        let target = a.limit[d[12]] * (1.0 - headroom);
        let mut worst = &proxies.sidecars[0];
        let mut worst_upper = worst.upper(r, t, transient);
        for c in &proxies.sidecars[1..] {
            let u = c.upper(r, t, transient);
            if u > worst_upper {
                worst = c;
                worst_upper = u;
            }
        }
        let (g_rev, g_upper) = match &proxies.gateway {
            Some(g) => (g.shape.revisions(r), g.upper(r, t, transient)),
            None => (f64::NAN, f64::NAN),
        };
        let sidecar_safe = worst_upper <= target;
        // No gateways (NaN) is safe.
        let gateway_safe = g_upper.partial_cmp(&target) != Some(std::cmp::Ordering::Greater);
        let safe = sidecar_safe && gateway_safe;
        let days_to_limit = if safe {
            f64::INFINITY
        } else {
            let path = self.growth(d);
            let start = path.start;
            let days = |c: &Curve, upper: f64| {
                c.days_to_cross(upper, || c.upper(start, t, transient), r, &path, t, transient, target)
            };
            let sidecar = days(worst, worst_upper);
            proxies.gateway.as_ref().map_or(sidecar, |g| sidecar.min(days(g, g_upper)))
        };
        let upper_max = if g_upper > worst_upper { g_upper } else { worst_upper };
        Evaluation {
            id,
            retained: r,
            sidecar_revisions: worst.shape.revisions(r),
            sidecar_ports: worst.shape.ports(r),
            sidecar_mean: transient * worst.mean(r),
            sidecar_upper: worst_upper,
            sidecar_margin: target - worst_upper,
            gateway_revisions: g_rev,
            gateway_upper: g_upper,
            gateway_margin: target - g_upper,
            safe,
            days_to_limit,
            required_limit: upper_max / (1.0 - headroom),
        }
    }
}
