//! An independent oracle for the sweep's numbers (issue 13 §4): for a few thousand scenarios
//! of random grids, each scenario's upper bounds, margins, safe verdict, days to the limit and
//! required limit equal what `project` (whatif, required_limit, the Bounds curves: a design row
//! per point, not the sweep's polynomial curves) gives for the same model and the counts each
//! proxy sees, counted here from the spec (issue 21), not taken from the grid; plus a scenario
//! worked by hand with its numbers written here.

use std::path::Path;

use meshcap::mesh::Scope;
use meshcap::project::{required_limit, whatif, Bounds, Caution, RevisionPath, Verdict};
use meshcap::scenario::grid::decode;
use meshcap::scenario::spec::MeshSource;
use meshcap::scenario::{Grid, Spec};

use crate::util::seed_model;

const MIB: f64 = 1024.0 * 1024.0;

/// Deterministic uniform numbers in [0, 1).
struct Lcg(u64);

impl Lcg {
    fn next(&mut self) -> f64 {
        self.0 = self.0.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407);
        (self.0 >> 11) as f64 / (1u64 << 53) as f64
    }

    fn int(&mut self, lo: u64, hi: u64) -> u64 {
        lo + (self.next() * (hi - lo + 1) as f64) as u64
    }

    /// `n` distinct-enough values from `f`, as a TOML list.
    fn list(&mut self, n: u64, mut f: impl FnMut(&mut Lcg) -> String) -> String {
        format!("[{}]", (0..n).map(|_| f(self)).collect::<Vec<_>>().join(", "))
    }
}

fn random_spec(rng: &mut Lcg) -> String {
    let hours = |r: &mut Lcg| if r.next() < 0.2 { "\"disabled\"".into() } else { format!("\"{}h\"", r.int(1, 96)) };
    // Knative's config-gc: min is a whole number, max may be disabled, min <= max.
    let count = |r: &mut Lcg, lo, hi| if r.next() < 0.2 { "\"disabled\"".into() } else { r.int(lo, hi).to_string() };
    format!(
        "model = {:?}\n[mesh]\ngateways = {}\nplain_ports = {}\ninfra_ports = {}\nstart = {}\nunrouted_share = {}\n[axes]\nnamespaces = {}\nknative_services = {}\nplain_services = {}\nupdates_per_day = {}\nretain_since_create_time = {}\nretain_since_last_active_time = {}\nmin_non_active_revisions = {}\nmax_non_active_revisions = {}\nscope = {}\ntransient = {}\nheadroom = {}\nlevel = {}\nlimit = {}\n[simulate]\nweekend_factor = {:.2}\n",
        seed_model().display().to_string(),
        rng.int(0, 3),
        rng.int(1, 3),
        rng.int(0, 40),
        if rng.next() < 0.5 { "\"empty\"".to_string() } else { rng.int(1, 50).to_string() },
        // A third of the grids have updates whose revisions never route (issue 18 §2).
        if rng.next() < 0.33 { format!("{:.3}", 0.5 * rng.next()) } else { "0".to_string() },
        rng.list(2, |r| r.int(1, 20).to_string()),
        rng.list(2, |r| r.int(1, 30).to_string()),
        rng.list(1, |r| r.int(0, 10).to_string()),
        rng.list(2, |r| format!("{:.2}", 0.1 + 200.0 * r.next())),
        rng.list(2, hours),
        rng.list(1, hours),
        rng.list(2, |r| r.int(0, 50).to_string()),
        rng.list(2, |r| count(r, 50, 2000)),
        r#"["mesh", "namespace"]"#,
        rng.list(2, |r| format!("{:.2}", 1.0 + r.next())),
        rng.list(1, |r| format!("{:.2}", 0.3 * r.next())),
        rng.list(1, |r| format!("{:.3}", 0.8 + 0.19 * r.next())),
        rng.list(3, |r| format!("\"{}Mi\"", r.int(128, 8192))),
        rng.next(),
    )
}

/// What `project` says for one scenario.
struct Oracle {
    sidecar_upper: f64,
    gateway_upper: f64,
    safe: bool,
    days: f64,
    required_mib_limit: f64,
}

fn oracle(grid: &Grid, id: u64) -> Oracle {
    let model = &grid.model;
    let a = &grid.spec.axes;
    let d = decode(id, &grid.lengths);
    let caution = Caution {
        level: a.level[d[11]],
        headroom: a.headroom[d[10]],
        transient: a.transient[d[9]],
        ..Caution::default()
    };
    let limit = a.limit[d[12]];
    let target = limit * (1.0 - caution.headroom);
    // Revisions per service, counted here: the steady state of the updates that route, plus
    // the never-routed ones (never collected: knative/serving pkg/reconciler/gc/gc.go
    // isRevisionActive at knative-v1.11.0) over the horizon at the week's mean rate.
    let share = grid.spec.unrouted_share;
    let rate = a.updates_per_day[d[3]] * (5.0 + 2.0 * grid.spec.simulate.weekend_factor) / 7.0;
    let policy = grid.policies[grid.policy_index(&d)];
    let chain = policy.long_run_revisions(a.updates_per_day[d[3]] * (1.0 - share), grid.spec.start_revisions);
    let r = chain + rate * share * f64::from(grid.spec.simulate.horizon_days);
    assert_eq!(r, grid.retained[grid.retained_index(&d)], "retained of scenario {id}");
    // What each proxy holds, counted here from the spec's own numbers, not from the grid's
    // per-proxy shapes (issue 21: an oracle that took them from the code under test could not
    // see a proxy lose its platform ports). Every namespace of a generated mesh holds `k`
    // Knative services and `pl` plain Services of `plain_ports` ports. A Knative service with
    // R retained revisions is R x 8 ports (Knative 1.11, the seed model's: 2 public + 6
    // private, knative/serving pkg/reconciler/serverlessservice) plus its ExternalName
    // placeholder, a DNS cluster of 1 port before Istio 1.21 (the seed model's 1.18;
    // knative/serving#13201). Every proxy also sees the `infra_ports` platform ports. A sidecar
    // sees every namespace under `mesh`, its own under `namespace`; a gateway (unfiltered)
    // sees all of them.
    let (gateways, plain_ports, infra_ports) = match &grid.spec.mesh {
        MeshSource::Generated { gateways, plain_ports, infra_ports, .. } => (*gateways, *plain_ports, *infra_ports),
        MeshSource::Topology(_) => panic!("random specs generate their mesh"),
    };
    assert_eq!(model.ports_per_revision, 8.0, "the seed model is Knative 1.11's");
    let (n, k, pl) =
        (f64::from(a.namespaces[d[0]]), f64::from(a.knative_services[d[1]]), f64::from(a.plain_services[d[2]]));
    let seen_by_sidecar = match a.scope[d[8]].default {
        Scope::Mesh => n,
        Scope::Namespace => n.min(1.0),
        Scope::Hosts(_) => unreachable!("random specs scope by mesh or namespace"),
    };
    let ports = |namespaces: f64, r: f64| {
        namespaces * (k * (8.0 * r + 1.0) + pl * f64::from(plain_ports)) + f64::from(infra_ports)
    };
    // The seed model has revisions only: a proxy's ports count as revision equivalents.
    assert!(model.terms.iter().all(|t| t.column == "revisions"));
    let bounds = Bounds::new(model, RevisionPath::new(model), caution);
    let upper_at = |namespaces: f64, r: f64| whatif(&bounds, ports(namespaces, r) / 8.0, Some(limit)).upper_bound;
    let mut shapes = vec![seen_by_sidecar];
    if gateways > 0 {
        shapes.push(n);
    }
    let n_sidecars = 1;
    let sidecar_upper = upper_at(shapes[0], r);
    let gateway_upper = shapes[n_sidecars..].first().map_or(f64::NAN, |&s| upper_at(s, r));
    let verdicts: Vec<Verdict> =
        shapes.iter().map(|&s| whatif(&bounds, ports(s, r) / 8.0, Some(limit)).verdict).collect();
    let safe = verdicts.iter().all(|v| *v == Verdict::Safe);
    // Days: bisection on the worst proxy's bound along R from the start (a different path from
    // the sweep's closed-form crossing).
    let worst_at = |r: f64| shapes.iter().map(|&s| upper_at(s, r)).fold(f64::NEG_INFINITY, f64::max);
    // What GC leaves of the start: at most the routed ones' steady state.
    let start = grid.spec.start_revisions.min(chain);
    let days = if worst_at(r) <= target {
        f64::INFINITY
    } else if worst_at(start) >= target {
        0.0
    } else {
        let hi = first_reaching(start, r, |x| worst_at(x) >= target);
        // The day revisions reach `hi`, by bisection on time: every update adds one until the
        // routed ones are at their steady state, the never-routed ones for ever, so a service
        // holds min(start + rate t, chain + leak t).
        let leak = rate * share;
        if leak == 0.0 {
            (hi - start) / rate
        } else {
            first_reaching(0.0, (hi - start) / leak + 1.0, |t| (start + rate * t).min(chain + leak * t) >= hi)
        }
    };
    let worst_shape = shapes.iter().copied().max_by(|&x, &y| upper_at(x, r).total_cmp(&upper_at(y, r))).unwrap();
    let required_mib_limit = required_limit(&bounds, ports(worst_shape, r) / 8.0).limit_bytes;
    Oracle { sidecar_upper, gateway_upper, safe, days, required_mib_limit }
}

/// The smallest `x` in `[lo, hi]` where `reached` turns true (false at `lo`, true at `hi`), by
/// bisection.
fn first_reaching(mut lo: f64, mut hi: f64, reached: impl Fn(f64) -> bool) -> f64 {
    for _ in 0..200 {
        let mid = 0.5 * (lo + hi);
        if reached(mid) {
            hi = mid;
        } else {
            lo = mid;
        }
    }
    hi
}

#[track_caller]
fn close(what: &str, got: f64, want: f64, rel: f64) {
    let ok = (got.is_nan() && want.is_nan()) || got == want || (got - want).abs() <= rel * want.abs().max(1.0);
    assert!(ok, "{what}: sweep {got:e}, project {want:e}");
}

#[test]
fn sweep_numbers_equal_the_projections_for_thousands_of_random_scenarios() {
    let mut rng = Lcg(20261205);
    let (mut checked, mut unsafe_seen, mut days_seen) = (0, 0, 0);
    for g in 0..24 {
        let text = random_spec(&mut rng);
        let spec = Spec::parse(Path::new("random.toml"), &text).unwrap_or_else(|e| panic!("grid {g}: {e}\n{text}"));
        let model = meshcap::model::store::load(&spec.model).unwrap();
        let grid = Grid::new(spec, model, u64::MAX).unwrap();
        for _ in 0..200 {
            let id = rng.int(0, grid.size - 1);
            let e = grid.evaluate(id, &decode(id, &grid.lengths));
            let o = oracle(&grid, id);
            let at = format!("grid {g} scenario {id}");
            close(&format!("{at} sidecar upper"), e.sidecar_upper, o.sidecar_upper, 1e-12);
            close(&format!("{at} gateway upper"), e.gateway_upper, o.gateway_upper, 1e-12);
            assert_eq!(e.safe, o.safe, "{at}: safe");
            // The sweep's required limit is exact; `limit` rounds it up to a whole Mi.
            let upper_max = if o.gateway_upper > o.sidecar_upper { o.gateway_upper } else { o.sidecar_upper };
            let headroom = grid.spec.axes.headroom[decode(id, &grid.lengths)[10]];
            close(&format!("{at} required limit"), e.required_limit, upper_max / (1.0 - headroom), 1e-12);
            // GC that keeps everything (time rules and max disabled, updates arriving): the
            // sweep needs an infinite limit, `limit` at the capped revision count one beyond
            // any memory.
            assert!(
                (e.required_limit.is_infinite() && o.required_mib_limit > 1e24)
                    || (o.required_mib_limit >= e.required_limit - 1e-6
                        && o.required_mib_limit < e.required_limit + MIB),
                "{at}: required {} against limit's {}",
                e.required_limit,
                o.required_mib_limit
            );
            if e.days_to_limit.is_finite() && e.days_to_limit > 0.0 {
                days_seen += 1;
                close(&format!("{at} days"), e.days_to_limit, o.days, 1e-7);
            } else {
                assert_eq!(e.days_to_limit, o.days, "{at}: days");
            }
            unsafe_seen += usize::from(!e.safe);
            checked += 1;
        }
    }
    assert_eq!(checked, 4800);
    // Both verdicts and real crossings were exercised.
    assert!(unsafe_seen > 200 && checked - unsafe_seen > 200, "{unsafe_seen} unsafe of {checked}");
    assert!(days_seen > 100, "only {days_seen} finite crossings");
}

#[test]
fn one_scenario_worked_by_hand() {
    // One namespace of 2 Knative services, no plain Services, no platform ports, no gateways,
    // 1 update a day with GC keeping min 5 non-active revisions (and max 1000): in steady state
    // each service keeps 5 non-active + 1 active = 6 revisions (the default 48h retention keeps
    // 2 more at 1 a day: 48h covers the 2 newest non-active ones, fewer than min 5).
    // The sidecar sees 2 x 6 = 12 revisions, 12 x 8 = 96 revision ports plus 2 ExternalName
    // ports = 98 ports = 12.25 revision equivalents of the seed model.
    let text = format!(
        "model = {:?}\n[mesh]\ngateways = 0\nplain_ports = 1\ninfra_ports = 0\n[axes]\nnamespaces = [1]\nknative_services = [2]\nplain_services = [0]\nupdates_per_day = [1]\nmin_non_active_revisions = [5]\nlimit = [\"1Gi\"]\n",
        seed_model().display().to_string()
    );
    let spec = Spec::parse(Path::new("hand.toml"), &text).unwrap();
    let model = meshcap::model::store::load(&spec.model).unwrap();
    let grid = Grid::new(spec, model, 10).unwrap();
    let e = grid.evaluate(0, &decode(0, &grid.lengths));
    assert_eq!((e.retained, e.sidecar_revisions, e.sidecar_ports), (6.0, 12.0, 98.0));
    // Seed model (models/knative-1.11-istio-1.18.json): 53143738.18181818 + 785907.712 r; at
    // r = 12.25: 53143738.18 + 9627369.47 = 62771107.65 bytes.
    close("mean", e.sidecar_mean, 53_143_738.181_818_18 + 785_907.712 * 12.25, 1e-12);
    // Far below 1Gi: safe, never crossing, margin = 1Gi - upper.
    assert!(e.safe && e.days_to_limit.is_infinite());
    close("margin", e.sidecar_margin, 1024.0 * MIB - e.sidecar_upper, 1e-12);
}
