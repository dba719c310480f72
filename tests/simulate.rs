//! `meshcap simulate`: Monte Carlo against the analytic steady state, determinism, OOM limits,
//! the high-water mark, GC in closed form against `GcPolicy::collect`, and bad input.

use std::collections::VecDeque;
use std::path::{Path, PathBuf};

use meshcap::mesh::{GcPolicy, ProxyKind};
use meshcap::scenario::simulate::{kept_after_gc, SimOptions, SimOutcome, Simulation};
use meshcap::scenario::{Grid, Spec};
use rand::{Rng, SeedableRng};

use crate::util::{meshcap, seed_model, tempdir, write};

/// A spec text with the seed model and a generated mesh of one namespace.
fn spec_text(axes: &str, simulate: &str) -> String {
    format!(
        "model = {:?}\n[mesh]\ngateways = 1\n[axes]\nnamespaces = [1]\nplain_services = [0]\n{axes}\n[simulate]\n{simulate}\n",
        seed_model().display().to_string()
    )
}

fn grid(axes: &str, simulate: &str) -> Grid {
    let spec = Spec::parse(Path::new("test.toml"), &spec_text(axes, simulate)).expect("spec parses");
    let model = meshcap::model::store::load(&spec.model).expect("model loads");
    Grid::new(spec, model, 10_000).expect("grid")
}

fn outcomes(grid: &Grid) -> Vec<SimOutcome> {
    let sim = Simulation::new(grid, SimOptions::from_spec(&grid.spec)).expect("simulation");
    let mut all = Vec::new();
    sim.run::<()>(0..grid.size, &|_| {}, &mut |o| {
        all.push(*o);
        Ok(())
    })
    .unwrap();
    all
}

fn run(args: &[&str], threads: &str) -> Vec<u8> {
    meshcap().args(args).env("RAYON_NUM_THREADS", threads).assert().success().get_output().stdout.clone()
}

fn spec_file(dir: &Path, axes: &str, simulate: &str) -> PathBuf {
    write(dir, "sim.toml", &spec_text(axes, simulate))
}

/// Several groups, partial path chunks (70 = 32 + 32 + 6), sidecar and gateway, OOMs.
const MIXED_AXES: &str = r#"knative_services = [5, 20]
updates_per_day = [1, 20]
retain_since_create_time = ["48h", "6h"]
scope = ["mesh", "namespace"]
transient = [1.0, 1.5]
limit = ["80Mi", "128Mi", "1Gi"]"#;
const MIXED_SIM: &str = "horizon_days = 30\npaths = 70\nweekend_factor = 0.3";

/// Rates and windows whose GC counts are whole numbers (see the two tests below).
const RETENTION_AXES: &str = r#"knative_services = [10]
updates_per_day = [8, 24]
retain_since_create_time = ["48h", "disabled"]
retain_since_last_active_time = ["15h"]
min_non_active_revisions = [0]
limit = ["1Ti"]"#;

#[test]
fn simulated_retention_and_memory_match_the_analytic_steady_state() {
    // Rates and windows where the analytic count (updates every 24/rate hours, counted at a
    // reconcile) equals the Poisson expectation: 48h and 15h hold a whole number of updates
    // at 8 and 24 a day, and min 0 never binds. Expected: (8, 48h) 16, (8, create disabled)
    // 1 + 5 = 6, (24, 48h) 48, (24, disabled) 16 revisions per service. `gc_resync = "0"`: a
    // GC pass right at each sample, as the analytic steady state counts.
    let g = grid(
        RETENTION_AXES,
        "horizon_days = 20\npaths = 400\nweekend_factor = 1.0\nhigh_water_mark = false\ngc_resync = \"0\"",
    );
    let got: Vec<f64> = outcomes(&g).iter().map(|o| o.analytic.retained).collect();
    assert_eq!(got, [16.0, 6.0, 48.0, 16.0], "analytic steady states");
    let sim = Simulation::new(&g, SimOptions::from_spec(&g.spec)).unwrap();
    for o in outcomes(&g) {
        let r = o.analytic.retained;
        // Each service's count at the horizon is 1 + Poisson (or Poisson) with variance at
        // most r; 10 services x 400 paths are independent, so the mean's standard error is
        // at most sqrt(r / 4000). Five of them: a false alarm about once in 3.5 million runs.
        let tol = 5.0 * (r / 4000.0).sqrt();
        assert!(
            (o.simulated_retained - r).abs() <= tol,
            "scenario {}: {} vs {r} (tol {tol})",
            o.id,
            o.simulated_retained
        );
        assert_eq!(o.p_oom, 0.0);
        // Mean memory at the horizon: coefficients are centred on the estimates and
        // independent of the counts, residuals have mean 0, so the mean is the model's mean
        // at r. The per-path spread is at most (p95 - p5) / 3.29 (exact for a normal, larger
        // for the t-distributed coefficients); five standard errors again.
        let fan = sim.fan(o.id, ProxyKind::Sidecar).unwrap();
        let last = fan.days.len() - 1;
        let sd = (fan.p95[last] - fan.p5[last]) / 3.29;
        let tol = 5.0 * sd / 400f64.sqrt();
        let want = o.analytic.sidecar_mean;
        assert!(
            (fan.mean[last] - want).abs() <= tol,
            "scenario {}: mean {} vs {want} (tol {tol})",
            o.id,
            fan.mean[last]
        );
    }
}

#[test]
fn output_is_identical_at_any_thread_count() {
    let dir = tempdir();
    let spec = spec_file(dir.path(), MIXED_AXES, MIXED_SIM);
    let spec = spec.to_str().unwrap();
    for extra in [vec![], vec!["--format", "jsonl"], vec!["--summary"]] {
        let args = [&["simulate", spec, "-q"][..], &extra[..]].concat();
        let one = run(&args, "1");
        let two = run(&args, "2");
        assert!(one.len() > 100, "{args:?}: {}", String::from_utf8_lossy(&one));
        assert!(one == two, "{extra:?} differs between 1 and 2 threads");
    }
}

#[test]
fn the_seed_decides_the_bytes() {
    let dir = tempdir();
    let spec = spec_file(dir.path(), MIXED_AXES, MIXED_SIM);
    let spec = spec.to_str().unwrap();
    let a = run(&["simulate", spec, "--seed", "7"], "2");
    let b = run(&["simulate", spec, "--seed", "7"], "2");
    let c = run(&["simulate", spec, "--seed", "8"], "2");
    let default = run(&["simulate", spec], "2");
    let one = run(&["simulate", spec, "--seed", "1"], "2");
    assert!(a == b, "same seed, different bytes");
    assert!(a != c, "different seeds, same bytes");
    assert!(default == one, "the default seed is 1");
}

#[test]
fn shards_concatenate_to_the_whole_run() {
    let dir = tempdir();
    let spec = spec_file(dir.path(), MIXED_AXES, MIXED_SIM);
    let spec = spec.to_str().unwrap();
    let whole = run(&["simulate", spec], "2");
    let mut joined = Vec::new();
    // 5 shards of 96 scenarios cut through groups of 6: a group split across shards must
    // still give its scenarios the same paths.
    for k in 0..5 {
        let part = run(&["simulate", spec, "--shard", &format!("{k}/5")], "2");
        // Each shard starts with its stamp line (for merge), then the header.
        let after_line = |b: &[u8]| b.iter().position(|&c| c == b'\n').unwrap() + 1;
        let stamped = &part[after_line(&part)..];
        let body = if k == 0 { stamped } else { &stamped[after_line(stamped)..] };
        joined.extend_from_slice(body);
    }
    assert!(joined == whole, "shards differ from the unsharded run");
}

fn jsonl(bytes: &[u8]) -> Vec<serde_json::Value> {
    String::from_utf8(bytes.to_vec()).unwrap().lines().map(|l| serde_json::from_str(l).unwrap()).collect()
}

#[test]
fn limits_far_below_and_far_above_the_baseline() {
    let dir = tempdir();
    // The seed model's baseline is about 51Mi: 1Mi is killed at once, 1Ti never.
    let spec = spec_file(
        dir.path(),
        "knative_services = [10]\nupdates_per_day = [5]\nlimit = [\"1Mi\", \"1Ti\"]",
        "horizon_days = 30\npaths = 50",
    );
    let rows = jsonl(&run(&["simulate", spec.to_str().unwrap(), "--format", "jsonl"], "2"));
    let (low, high) = (&rows[0], &rows[1]);
    assert_eq!(low["limit"], "1Mi");
    assert_eq!(low["p_oom"], 1.0);
    assert_eq!(low["sidecar_p_oom"], 1.0);
    assert_eq!(low["gateway_p_oom"], 1.0);
    for q in ["days_to_oom_p5", "days_to_oom_p50", "days_to_oom_p95"] {
        assert_eq!(low[q], 0.0, "{q}");
    }
    // Killed every day from day 0 to 30 with the whole config over the limit: a crash loop,
    // said as such (30 crash-loop days a month), not 30 OOMKills it recovers from.
    assert_eq!(low["sidecar_crash_loop_days_per_month"], 30.0);
    assert_eq!(low["sidecar_ooms_per_month"], 0.0);
    assert_eq!(low["gateway_crash_loop_days_per_month"], 30.0);
    assert_eq!(high["limit"], "1Ti");
    assert_eq!(high["p_oom"], 0.0);
    assert_eq!(high["sidecar_ooms_per_month"], 0.0);
    assert_eq!(high["sidecar_crash_loop_days_per_month"], 0.0);
    for q in ["days_to_oom_p5", "days_to_oom_p50", "days_to_oom_p95", "sidecar_days_to_oom_p50"] {
        assert!(high[q].is_null(), "{q} beyond the horizon is null: {}", high[q]);
    }
    // The peaks do not depend on the limit (shared paths).
    assert_eq!(low["sidecar_peak_p95_bytes"], high["sidecar_peak_p95_bytes"]);
}

#[test]
fn higher_limits_never_oom_more_on_shared_paths() {
    let g = grid(MIXED_AXES, MIXED_SIM);
    let all = outcomes(&g);
    assert!(all.iter().any(|o| o.p_oom > 0.0 && o.p_oom < 1.0), "some scenario is in between");
    // Limit varies fastest: the first OOM is the first day the running peak crosses the
    // limit, so on the same paths a larger limit can only come later.
    for w in all.chunks(3) {
        for pair in w.windows(2) {
            assert!(pair[1].p_oom <= pair[0].p_oom, "{:?}\n{:?}", pair[0], pair[1]);
            assert!(pair[1].sidecar.p_oom <= pair[0].sidecar.p_oom);
        }
    }
}

/// Weekdays at 24 updates a day, none at weekends; GC keeps 12h, so weekends shrink to one
/// revision per service (the services are set by [`weekly_fan`]).
const WEEKLY: &str = r#"updates_per_day = [24]
retain_since_create_time = ["12h"]
retain_since_last_active_time = ["6h"]
min_non_active_revisions = [0]"#;

fn weekly_fan(services: u32, limit: &str, high_water_mark: bool) -> (meshcap::scenario::simulate::Fan, SimOutcome) {
    let g = grid(
        &format!("knative_services = [{services}]\n{WEEKLY}\nlimit = [\"{limit}\"]"),
        &format!("horizon_days = 28\npaths = 60\nweekend_factor = 0.0\nhigh_water_mark = {high_water_mark}"),
    );
    let sim = Simulation::new(&g, SimOptions::from_spec(&g.spec)).unwrap();
    (sim.fan(0, ProxyKind::Sidecar).unwrap(), sim.scenario(0).unwrap())
}

fn falls(v: &[f64]) -> bool {
    v.windows(2).any(|w| w[1] < w[0])
}

#[test]
fn the_high_water_mark_holds_until_a_restart() {
    // 2 services: weekdays keep 24 x (12h + 10h resync) / 24h = 22 revisions a service, weekends
    // 1, so the weekend GC frees 2 x 21 x 0.75 MiB (the seed's per revision) = 31.5 MiB of heap,
    // under the 100 MiB Envoy waits for before returning any (see the test below).
    // Without the high-water mark memory falls at weekends: the scenario does shrink.
    let (raw, _) = weekly_fan(2, "1Ti", false);
    assert!(falls(&raw.p50) && falls(&raw.mean), "memory should fall at weekends: {:?}", raw.p50);
    // With it, and no OOM, no path ever falls, so neither does any quantile or the mean.
    let (held, o) = weekly_fan(2, "1Ti", true);
    assert_eq!(o.p_oom, 0.0);
    for (name, v) in
        [("p5", &held.p5), ("p25", &held.p25), ("p50", &held.p50), ("p95", &held.p95), ("mean", &held.mean)]
    {
        assert!(!falls(v), "{name} falls under the high-water mark: {v:?}");
    }
    assert!(held.p50.last() > raw.p50.last());
    // A limit between the weekend trough and the weekday peak: killed on weekdays, and the
    // restart resets the mark, so memory falls again and the proxy is killed week after week.
    let limit = 0.5 * (raw.p50[6] + held.p50[6]);
    let (reset, o) = weekly_fan(2, &format!("{}", limit.round()), true);
    assert_eq!(o.sidecar.p_oom, 1.0);
    // Its weekday steady memory is itself over this limit: every weekday restart is killed
    // again (crash-loop days), and the weekend GC lets it run.
    let (ooms, crash) = (o.sidecar.ooms_per_month, o.sidecar.crash_loop_days_per_month);
    assert!(crash > 2.0 && crash < 30.0, "crash-loop days {crash}, OOMKills {ooms}");
    assert!(falls(&reset.p50), "a restart resets the high-water mark");
    assert_eq!(reset.first_oom_days.len(), 60);
    assert_eq!(reset.limit_bytes, limit.round());
}

/// Envoy returns freed heap after an xDS update once 100 MiB of it is free:
/// `Memory::Utils::tryShrinkHeap()` releases the allocator's free pages when physical minus
/// allocated reaches `MAX_UNFREED_MEMORY_BYTE` (envoyproxy/envoy `source/common/memory/utils.cc`),
/// and the gRPC mux calls it after every xDS response
/// (`source/extensions/config_subscription/grpc/grpc_mux_impl.cc`).
#[test]
fn envoy_returns_freed_heap_once_100_mib_is_free() {
    const MIB: f64 = 1_048_576.0;
    // 20 services: the weekend GC frees 20 x 21 revisions x 0.75 MiB = 315 MiB (22 kept a
    // service on weekdays, 1 at weekends, the seed's ~0.75 MiB a revision), so with the mark
    // memory falls at the first weekend day (day 6) to the reading, as without it.
    let (raw, _) = weekly_fan(20, "1Ti", false);
    let (held, o) = weekly_fan(20, "1Ti", true);
    assert_eq!(o.p_oom, 0.0);
    let freed = raw.p50[5] - raw.p50[6];
    assert!((290.0 * MIB..340.0 * MIB).contains(&freed), "{}", freed / MIB);
    assert!(held.p50[5] - held.p50[6] >= 100.0 * MIB, "{:?}", held.p50);
    assert!((held.p50[6] - raw.p50[6]).abs() < 10.0 * MIB, "{} vs {}", held.p50[6] / MIB, raw.p50[6] / MIB);
    // The 31.5 MiB of 2 services is held (the test above): never a fall under 100 MiB.
    let (small, _) = weekly_fan(2, "1Ti", true);
    assert!(!falls(&small.p50), "{:?}", small.p50);
}

/// Knative's GC runs at updates and at the informers' resync, every 10 hours (knative/pkg
/// controller.DefaultResyncPeriod; the gc controller sets none of its own): a revision that
/// goes stale by time alone may wait that long. The simulation judges staleness `gc_resync`
/// hours before each sample, so each window holds `gc_resync` hours more updates: at 12h,
/// (8 a day, 48h) 8 x 60 / 24 = 20; (8, create disabled) 1 + 8 x 27 / 24 = 10; (24, 48h) 60;
/// (24, disabled) 1 + 27 = 28 revisions per service.
#[test]
fn gc_resync_keeps_stale_revisions_until_the_next_pass() {
    let g = grid(
        RETENTION_AXES,
        "horizon_days = 20\npaths = 400\nweekend_factor = 1.0\nhigh_water_mark = false\ngc_resync = \"12h\"",
    );
    let sim = Simulation::new(&g, SimOptions::from_spec(&g.spec)).unwrap();
    for (o, expected) in outcomes(&g).iter().zip([20.0, 10.0, 60.0, 28.0]) {
        let s = sim.scenario(o.id).unwrap().simulated_retained;
        // As above: 10 services x 400 paths, five standard errors.
        let tol = 5.0 * (expected / 4000.0_f64).sqrt();
        assert!((s - expected).abs() <= tol, "scenario {}: {s} vs {expected} (tol {tol})", o.id);
    }
}

#[test]
fn weekends_follow_the_weekend_factor() {
    // Days 5 and 6 of each week have no updates: a sample after them finds only the active
    // revision (everything else is older than 12h and inactive for more than 6h); a sample
    // after a weekday finds about 12 per service.
    let g = grid(&format!("{WEEKLY}\nlimit = [\"1Ti\"]"), "paths = 20\nweekend_factor = 0.0\ngc_resync = \"0\"");
    let retained = |days: u32| {
        let mut options = SimOptions::from_spec(&g.spec);
        options.settings.horizon_days = days;
        Simulation::new(&g, options).unwrap().scenario(0).unwrap().simulated_retained
    };
    for (days, weekend) in [(5, false), (6, true), (7, true), (8, false), (13, true), (14, true), (15, false)] {
        let r = retained(days);
        if weekend {
            assert_eq!(r, 1.0, "day {days}");
        } else {
            assert!(r > 8.0 && r < 16.0, "day {days}: {r}");
        }
    }
}

/// Day-0 memory over 20,000 paths against the model's own distribution, drawn here
/// independently: mean + sqrt(x'Cov x) T(dof) (the coefficients' multivariate t along the
/// design row) + sigma Z (the residual).
fn check_memory_spread(services: u32, start: u32) {
    let g = grid(
        &format!(
            "knative_services = [{services}]\nupdates_per_day = [0]\nmin_non_active_revisions = [2000]\nmax_non_active_revisions = [\"disabled\"]\nlimit = [\"1Ti\"]"
        ),
        "horizon_days = 1\npaths = 20000\nhigh_water_mark = false",
    );
    let mut spec = g.spec.clone();
    spec.start_revisions = f64::from(start);
    let g = Grid::new(spec, g.model.clone(), 10).unwrap();
    let fan = Simulation::new(&g, SimOptions::from_spec(&g.spec)).unwrap().fan(0, ProxyKind::Sidecar).unwrap();
    let curve = &g.proxies[0].sidecars[0];
    let r = f64::from(start);
    let sigma = g.model.residual_std_error;
    let coef_sd = (curve.se_obs(r).powi(2) - sigma * sigma).sqrt();
    let t = rand_distr::StudentT::new(g.model.dof as f64).unwrap();
    let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(3);
    let mut reference: Vec<f64> = (0..1_000_000)
        .map(|_| curve.mean(r) + coef_sd * rng.sample(t) + sigma * rng.sample::<f64, _>(rand_distr::StandardNormal))
        .collect();
    reference.sort_by(f64::total_cmp);
    let q = |v: &[f64], p: f64| v[(p * (v.len() - 1) as f64).round() as usize];
    let want = q(&reference, 0.95) - q(&reference, 0.05);
    let got = fan.p95[0] - fan.p5[0];
    // 20,000 paths estimate the 5-95% range to about 1.5%; a normal instead of a t for the
    // coefficients changes it by about 11% when they dominate, dropping either part by more.
    assert!((got / want - 1.0).abs() < 0.04, "{services} x {start}: range {got} vs {want}");
    assert!((fan.p50[0] - q(&reference, 0.5)).abs() < 0.03 * want, "{services} x {start}: median");
}

#[test]
fn memory_spread_follows_the_fit_uncertainty() {
    // 20,000 revisions: the coefficients' uncertainty dominates (leverage ~80).
    check_memory_spread(20, 1000);
    // One revision: the residual dominates.
    check_memory_spread(1, 1);
}

#[test]
fn fan_and_rows_see_the_same_paths() {
    let g = grid(MIXED_AXES, MIXED_SIM);
    let sim = Simulation::new(&g, SimOptions::from_spec(&g.spec)).unwrap();
    let mut checked = 0;
    for o in outcomes(&g).iter().filter(|o| o.p_oom > 0.0 && o.p_oom < 1.0).take(5) {
        for (kind, p) in [(ProxyKind::Sidecar, o.sidecar.p_oom), (ProxyKind::Gateway, o.gateway.unwrap().p_oom)] {
            let fan = sim.fan(o.id, kind).unwrap();
            assert_eq!(fan.first_oom_days.len() as f64 / 70.0, p, "scenario {} {kind:?}", o.id);
            assert_eq!(fan.days.len(), 31);
        }
        checked += 1;
    }
    assert!(checked > 0);
}

#[test]
fn gc_in_closed_form_matches_collect() {
    // Random histories and policies: `collect` at every update plus daily resyncs, against
    // the closed form from counts alone at the last resync.
    let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(42);
    let hours = |rng: &mut rand_chacha::ChaCha8Rng| match rng.gen_range(0..4) {
        0 => None,
        1 => Some(48.0),
        2 => Some(rng.gen_range(0..30) as f64),
        _ => Some(rng.gen_range(0.0..100.0)),
    };
    let count = |rng: &mut rand_chacha::ChaCha8Rng| if rng.gen_bool(0.2) { None } else { Some(rng.gen_range(0..30)) };
    for case in 0..3000 {
        let policy = GcPolicy {
            retain_since_create_h: hours(&mut rng),
            retain_since_last_active_h: hours(&mut rng),
            min_non_active: rng.gen_range(0..30),
            max_non_active: count(&mut rng),
        };
        let n = rng.gen_range(1..200);
        let mut times: Vec<f64> = (0..n).map(|_| rng.gen_range(0.0..240.0)).collect();
        times.sort_by(f64::total_cmp);
        let end = 24.0 * rng.gen_range(1..12) as f64;
        let mut queue = VecDeque::new();
        let mut next_resync = 24.0;
        for &t in times.iter().filter(|&&t| t <= end) {
            while next_resync < t {
                policy.collect(&mut queue, next_resync);
                next_resync += 24.0;
            }
            queue.push_back(t);
            policy.collect(&mut queue, t);
        }
        policy.collect(&mut queue, end);
        let history: Vec<f64> = times.iter().copied().filter(|&t| t <= end).collect();
        let by = |h: Option<f64>| h.map_or(0, |h| history.iter().filter(|&&t| end - t >= h).count() as u64);
        let kept = kept_after_gc(
            &policy,
            history.len() as u64,
            by(policy.retain_since_create_h),
            by(policy.retain_since_last_active_h),
        );
        assert_eq!(kept, queue.len() as u64, "case {case}: {policy:?}, {} revisions by {end}h", history.len());
    }
}

/// Run `meshcap simulate ARGS` expecting exit 2 and a one-line error; return it.
fn bad(args: &[&str]) -> String {
    let out = meshcap().arg("simulate").args(args).assert().code(2).get_output().clone();
    let err = String::from_utf8(out.stderr).unwrap();
    assert_eq!(err.trim_end().lines().count(), 1, "one line: {err}");
    assert!(err.starts_with("error: ") && !err.contains("panicked"), "{err}");
    assert!(out.stdout.is_empty());
    err
}

#[test]
fn bad_input_is_one_line_and_exit_2() {
    let dir = tempdir();
    let spec = spec_file(dir.path(), "knative_services = [2]", "paths = 5\nhorizon_days = 3");
    let spec = spec.to_str().unwrap();
    let err = bad(&[spec, "--paths", "0"]);
    assert!(err.contains("paths must be at least 1"), "{err}");
    let err = bad(&[spec, "--horizon-days", "0"]);
    assert!(err.contains("horizon_days must be at least 1"), "{err}");
    let err = bad(&[spec, "--shard", "3/2"]);
    assert!(err.contains("3/2"), "{err}");
    let unknown = write(dir.path(), "unknown.toml", &spec_text("", "paths = 5\nsteps = 3"));
    let err = bad(&[unknown.to_str().unwrap()]);
    assert!(err.contains("unknown field") && err.contains("steps") && err.contains("unknown.toml"), "{err}");
    let err = bad(&[spec, "--max-scenarios", "0"]);
    assert!(err.contains("max-scenarios"), "{err}");
}
