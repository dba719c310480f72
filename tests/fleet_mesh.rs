//! `meshcap fleet --topology`: dates from the Knative services a proxy sees, capped by GC.
//!
//! A hand-made mesh and fleet whose dates are counted by hand below, and a seeded study of the
//! update-rate intervals: revisions arriving as a Poisson process with a known rate, kept or
//! deleted by Knative's GC, and the rate estimated from what GC left.

use std::collections::VecDeque;

use meshcap::fleet::growth::DAY;
use meshcap::fleet::mesh::rates::update_rate;
use meshcap::mesh::GcPolicy;
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use rand_distr::{Distribution, Exp};

use crate::util::{fails, json, meshcap, tempdir, write};

pub use crate::fleet_truth::{MI, PER_PORT};

/// 2026-01-01T00:00:00Z.
pub const T0: f64 = 1_767_225_600.0;
/// The series ends 5 days later: the windows' end.
const END: f64 = T0 + 5.0 * DAY;

/// A Kubernetes `creationTimestamp` for unix seconds.
pub fn rfc3339(unix: f64) -> String {
    let t = time::OffsetDateTime::from_unix_timestamp_nanos((unix * 1e9).round() as i128).unwrap();
    t.format(&time::format_description::well_known::Rfc3339).unwrap()
}

fn created(first: f64, every_days: f64, n: usize) -> String {
    let times: Vec<String> = (0..n).map(|i| format!("\"{}\"", rfc3339(first + i as f64 * every_days * DAY))).collect();
    times.join(", ")
}

/// Knative 1.11 (8 ports a revision), under `--scope namespace` each namespace sees its own:
/// - shop/cart: 11 revisions, one every 12 h over the 5 days: 10 arrivals, 2 a day.
/// - pay/fast: 11 revisions, one every 6 h over the last 2.5 days: 10 arrivals, 4 a day.
/// - pay/slow: 6 revisions, one a day: 5 arrivals, 1 a day.
///
/// Knative's default GC keeps min-non-active 20 + the active one = 21 at these rates (the 48h
/// rule protects at most 14 below about 10 a day, even at the rates' upper bounds), so cart and
/// fast may gain 10 revisions (80 ports) and slow 15 (120).
pub fn topology() -> String {
    format!(
        r#"istio_version = "1.18.2"
knative_version = "1.11.0"
[[namespaces]]
name = "istio-system"
[[namespaces]]
name = "shop"
sidecars = true
knative = [{{ name = "cart", revisions = 11, created = [{}] }}]
[[namespaces]]
name = "pay"
sidecars = true
knative = [
  {{ name = "fast", revisions = 11, created = [{}] }},
  {{ name = "slow", revisions = 6, created = [{}] }},
]
"#,
        created(T0, 0.5, 11),
        created(T0 + 2.5 * DAY, 0.25, 11),
        created(T0, 1.0, 6)
    )
}

/// Memory is 50Mi + the proxy's offset + 96Ki a port, +-1Ki alternating; ports step up 8 at
/// every fourth of 21 readings 6 h apart (8 a day of its own). Limits in bytes put the mean
/// line's crossing a chosen number of ports above the ports now.
pub fn series() -> String {
    series_of(&[
        // (proxy, ports now, offset Mi, ports to the limit)
        ("shop/web-1", 800.0, 0.0, 48.0),
        ("shop/web-2", 800.0, 2.0, 120.0),
        ("pay/api-1", 600.0, -1.0, 150.0),
        ("jobs/batch-1", 400.0, 1.0, 400.0),
    ])
}

/// The readings of [`series`] for these `(proxy, ports now, offset Mi, ports to the limit)`.
pub fn series_of(proxies: &[(&str, f64, f64, f64)]) -> String {
    let mut s = String::from("proxy,time,memory,ports,limit\n");
    for &(name, now, offset, to_limit) in proxies {
        let limit = 50.0 * MI + offset * MI + (now + to_limit) * PER_PORT;
        for k in 0..=20usize {
            let ports = now - 8.0 * (5 - k / 4) as f64;
            let noise = if k % 2 == 0 { 1024.0 } else { -1024.0 };
            let memory = 50.0 * MI + offset * MI + PER_PORT * ports + noise;
            s.push_str(&format!("{name},{},{memory:.0},{ports},{limit:.0}\n", T0 + k as f64 * DAY / 4.0));
        }
    }
    s
}

fn by<'a>(v: &'a serde_json::Value, proxy: &str) -> &'a serde_json::Value {
    v["proxies"].as_array().unwrap().iter().find(|p| p["proxy"] == proxy).unwrap()
}

#[test]
fn mesh_dates_bend_where_gc_caps_the_services() {
    let dir = tempdir();
    let topo = write(dir.path(), "topology.toml", &topology());
    let data = write(dir.path(), "fleet.csv", &series());
    let run = |extra: &[&str]| {
        let mut cmd = meshcap();
        cmd.arg("fleet").arg(&data).arg("--topology").arg(&topo).args(["--scope", "namespace", "--format", "json"]);
        json(cmd.args(extra))
    };
    let v = run(&[]);
    // shop/web-1: cart adds 8 ports x 2 a day = 16 a day; 48 ports to the limit by hand: 3 days
    // (the upper bound sits a hair above the mean line, so a hair sooner).
    let web1 = by(&v, "shop/web-1");
    assert_eq!(web1["source"], "mesh");
    crate::util::close("web-1 growth", web1["growth_ports_per_day"].as_f64().unwrap(), 16.0, 1e-12);
    let d = web1["days_to_limit"].as_f64().unwrap();
    assert!((2.98..=3.0).contains(&d), "web-1 days {d}, by hand 3.0");
    let [lo, hi] = [0, 1].map(|i| web1["days_to_limit_interval"][i].as_f64().unwrap());
    assert!(lo < d && d < hi, "{lo} {d} {hi}");
    // Its rate interval is Garwood's for 10 arrivals in 5 days, x 8 ports: the top of the
    // interval is 8 x 18.390 / 5 = 29.42 ports a day, so the soonest is about 48 / 29.42.
    assert!((lo - 48.0 / 29.42).abs() < 0.05, "lo {lo}");
    // shop/web-2: 120 ports to go, but GC holds cart at 21 revisions: +80 ports, flat after.
    let web2 = by(&v, "shop/web-2");
    assert_eq!(web2["source"], "mesh");
    assert!(web2["days_to_limit"].is_null() && web2["days_to_limit_interval"].is_null());
    let warnings: Vec<&str> = v["warnings"].as_array().unwrap().iter().map(|w| w.as_str().unwrap()).collect();
    assert!(
        warnings.iter().any(|w| w.starts_with("GC (create 48h / active 15h / min 20 / max 1000) holds 1 proxy short")
            && w.ends_with("so no date: shop/web-2 at 880 of 920 ports")),
        "{warnings:?}"
    );
    // pay/api-1 sees fast (32 ports a day until it is capped at day 2.5: +80) and slow (8 a day
    // until day 15: +120). By hand: 40 a day to 100 ports at day 2.5, then 8 a day; 150 ports is
    // reached at 2.5 + 50 / 8 = 8.75 days.
    let api = by(&v, "pay/api-1");
    assert_eq!(api["source"], "mesh");
    crate::util::close("api growth", api["growth_ports_per_day"].as_f64().unwrap(), 40.0, 1e-12);
    let d = api["days_to_limit"].as_f64().unwrap();
    assert!((8.6..=8.75).contains(&d), "api days {d}, by hand 8.75");
    // Its own series grows 8 a day, far below the mesh's 40: named.
    assert!(
        warnings
            .iter()
            .any(|w| w.starts_with("1 proxy grows on its own series") && w.contains(": pay/api-1 8.00 [2.60, 18.67]")),
        "{warnings:?}"
    );
    // jobs is not in the topology: its own series (5 steps of 8 ports in 5 days), named.
    let jobs = by(&v, "jobs/batch-1");
    assert_eq!(jobs["source"], "own-series");
    crate::util::close("jobs growth", jobs["growth_ports_per_day"].as_f64().unwrap(), 8.0, 1e-12);
    assert!(
        warnings.iter().any(|w| w
            .starts_with("namespace jobs is not in the topology: 1 proxy dated from its own series (jobs/batch-1)")),
        "{warnings:?}"
    );
    // The services' rates as the report lists them, fastest first, with Knative's default caps.
    let services = v["mesh"]["services"].as_array().unwrap();
    let names: Vec<&str> = services.iter().map(|s| s["service"].as_str().unwrap()).collect();
    assert_eq!(names, ["pay/fast", "shop/cart", "pay/slow"]);
    let rates: Vec<f64> = services.iter().map(|s| s["updates_per_day"].as_f64().unwrap()).collect();
    assert_eq!(rates, [4.0, 2.0, 1.0]);
    assert!(services.iter().all(|s| s["cap_revisions"] == 21.0));
    assert_eq!(v["mesh"]["gc"]["min_non_active"], 20);
    assert_eq!(v["mesh"]["window_end"], END);

    // A wider GC (min 40 = max 40: caps at 41) lets web-2 reach its limit: 120 / 16 = 7.5 days.
    let wide = run(&["--min-non-active-revisions", "40", "--max-non-active-revisions", "40"]);
    let d = by(&wide, "shop/web-2")["days_to_limit"].as_f64().unwrap();
    assert!((7.45..=7.5).contains(&d), "web-2 days {d}, by hand 7.5");
    // --growth sooner: web-2's own series (8 a day, no cap known to it) dates it; the rest keep
    // the mesh's sooner date.
    let sooner = run(&["--growth", "sooner"]);
    assert_eq!(by(&sooner, "shop/web-2")["source"], "own-series");
    assert!(by(&sooner, "shop/web-2")["days_to_limit"].as_f64().unwrap() > 10.0);
    assert_eq!(by(&sooner, "shop/web-1")["source"], "mesh");

    // The table and CSV carry the source per proxy.
    let out = meshcap()
        .arg("fleet")
        .arg(&data)
        .arg("--topology")
        .arg(&topo)
        .args(["--scope", "namespace", "--format", "csv"])
        .assert()
        .success();
    let text = String::from_utf8(out.get_output().stdout.clone()).unwrap();
    assert!(text.lines().next().unwrap().ends_with(",source"), "{text}");
    assert!(text.lines().any(|l| l.starts_with("shop/web-1,") && l.ends_with(",mesh")), "{text}");
    assert!(text.lines().any(|l| l.starts_with("jobs/batch-1,") && l.ends_with(",own-series")), "{text}");
    let out = meshcap().arg("fleet").arg(&data).arg("--topology").arg(&topo).args(["--scope", "namespace"]).assert();
    let text = String::from_utf8(out.success().get_output().stdout.clone()).unwrap();
    assert!(text.contains("growth from the mesh for 3 of 4 proxies"), "{text}");
    assert!(text.lines().any(|l| l.contains("shop/web-1") && l.ends_with("mesh")), "{text}");
    assert!(text.contains("pay/fast") && text.contains("4.00 ["), "{text}");
}

#[test]
fn mesh_bad_input_is_named() {
    let dir = tempdir();
    let data = write(dir.path(), "fleet.csv", &series());
    let bad = write(dir.path(), "bad.toml", &topology().replacen("2026-01-01T12:00:00Z", "yesterday", 1));
    let err = fails(meshcap().arg("fleet").arg(&data).arg("--topology").arg(&bad), 2);
    assert!(err.contains("shop/cart") && err.contains("\"yesterday\"") && err.contains("bad.toml"), "{err}");
    let topo = write(dir.path(), "topology.toml", &topology());
    let err = fails(
        meshcap().arg("fleet").arg(&data).arg("--topology").arg(&topo).args(["--min-non-active-revisions", "disabled"]),
        2,
    );
    assert!(err.contains("--min-non-active-revisions") && err.contains("no \"disabled\""), "{err}");
    let err = fails(
        meshcap().arg("fleet").arg(&data).arg("--topology").arg(&topo).args([
            "--min-non-active-revisions",
            "50",
            "--max-non-active-revisions",
            "40",
        ]),
        2,
    );
    assert!(err.contains("must be <= max-non-active-revisions"), "{err}");
    let err = fails(
        meshcap().arg("fleet").arg(&data).arg("--topology").arg(&topo).args(["--retain-since-create-time", "2d"]),
        2,
    );
    assert!(err.contains("--retain-since-create-time") && err.contains("\"2d\""), "{err}");
    // GC flags and --scope need a topology; -o naming the topology is refused.
    meshcap().arg("fleet").arg(&data).args(["--scope", "namespace"]).assert().code(2);
    meshcap().arg("fleet").arg(&data).args(["--max-non-active-revisions", "5"]).assert().code(2);
    let err = fails(meshcap().arg("fleet").arg(&data).args(["--knative-version", "1.21.0"]), 2);
    assert!(err.contains("give --topology"), "{err}");
    // Knative 1.21 counts 7 ports a revision: web-1's growth is 14 a day.
    let v = json(meshcap().arg("fleet").arg(&data).arg("--topology").arg(&topo).args([
        "--scope",
        "namespace",
        "--knative-version",
        "1.21.0",
        "--format",
        "json",
    ]));
    crate::util::close(
        "web-1 growth at 1.21",
        by(&v, "shop/web-1")["growth_ports_per_day"].as_f64().unwrap(),
        14.0,
        1e-12,
    );
    meshcap().arg("fleet").arg(&data).arg("--topology").arg(&topo).arg("-o").arg(&topo).assert().code(2);
    assert_eq!(std::fs::read_to_string(&topo).unwrap(), topology());
}

/// Revisions at `rate` a day over `days`, from day 0; GC passes at each creation and every
/// 10 hours as Knative runs them; the creation times GC left at the end, unix seconds.
fn kept_after_gc(rng: &mut ChaCha8Rng, rate: f64, days: f64, policy: &GcPolicy) -> Vec<f64> {
    let gap = Exp::new(rate).unwrap();
    let mut kept: VecDeque<f64> = VecDeque::new(); // hours
    let (mut t, mut resync) = (gap.sample(rng) * 24.0, meshcap::mesh::gc::RESYNC_H);
    while t < days * 24.0 {
        while resync < t {
            policy.collect(&mut kept, resync);
            resync += meshcap::mesh::gc::RESYNC_H;
        }
        kept.push_back(t);
        policy.collect(&mut kept, t);
        t += gap.sample(rng) * 24.0;
    }
    kept.into_iter().map(|h| h * 3600.0).collect()
}

/// Share of `reps` runs whose 95% interval holds the true rate.
fn coverage(seed: u64, reps: usize, draw: impl Fn(&mut ChaCha8Rng) -> (f64, Vec<f64>, f64)) -> f64 {
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    let mut hits = 0;
    for _ in 0..reps {
        let (rate, created, end) = draw(&mut rng);
        let g = update_rate(&created, 0, end, 0.95).expect("at least two revisions");
        hits += usize::from(g.interval[0] <= rate && rate <= g.interval[1]);
    }
    hits as f64 / reps as f64
}

#[test]
fn update_rate_intervals_cover_about_95_percent() {
    let reps = 2000;
    // Plain Poisson arrivals over 30 days at 0.5 to 10 a day, every creation time kept.
    let plain = coverage(7, reps, |rng| {
        let rate = rng.gen_range(0.5..10.0);
        let gap = Exp::new(rate).unwrap();
        let mut t = vec![gap.sample(rng)];
        while *t.last().unwrap() < 30.0 {
            t.push(t.last().unwrap() + gap.sample(rng));
        }
        t.pop();
        t.resize(t.len().max(2), 29.9); // at least two: the window needs an arrival after it
        (rate, t.iter().map(|d| d * DAY).collect(), 30.0 * DAY)
    });
    // Busy services (15 to 40 a day) under Knative's default GC: the 48h rule decides what is
    // kept, so the window's opening is fixed in time and Garwood is exact.
    let policy = GcPolicy::default();
    let busy = coverage(8, reps, |rng| {
        let rate = rng.gen_range(15.0..40.0);
        (rate, kept_after_gc(rng, rate, 20.0, &policy), 20.0 * DAY)
    });
    // Daily services (0.5 to 5 a day): min-non-active 20 decides, the span is random and the
    // interval conservative.
    let daily = coverage(9, reps, |rng| {
        let rate = rng.gen_range(0.5..5.0);
        (rate, kept_after_gc(rng, rate, 60.0, &policy), 60.0 * DAY)
    });
    eprintln!(
        "update-rate coverage over {reps} runs: plain {plain:.3}, busy under GC {busy:.3}, daily under GC {daily:.3}"
    );
    assert!((0.93..=0.97).contains(&plain), "plain coverage {plain}");
    assert!((0.93..=0.97).contains(&busy), "busy coverage {busy}");
    assert!((0.93..=0.97).contains(&daily), "daily coverage {daily}");
}

#[test]
fn the_readme_mesh_holds_its_stated_rates() {
    // data/topology-fleet.toml (README): ci-preview's 300 revisions, one every 3.6 minutes from
    // 18 h before the fleet's last reading: 299 arrivals in 0.75 days; at that rate (one every
    // 0.0602 h) GC keeps the non-active ones created within 48h, ceil(797.3) - 1 = 797, + the
    // active one.
    let topology = meshcap::mesh::Topology::load(&crate::util::root().join("data/topology-fleet.toml")).unwrap();
    let ns00 = topology.namespace("ns00").unwrap();
    let ci = ns00.knative.iter().find(|k| k.name == "ci-preview").unwrap();
    let end = T0 + 2015.0 * 300.0;
    let g = update_rate(&ci.created_unix(), 0, end, 0.95).unwrap();
    crate::util::close("ci-preview rate", g.per_day, 299.0 / 0.75, 1e-9);
    assert_eq!(GcPolicy::default().steady_revisions(g.per_day), 798.0);
    // payments routes 2: its stable revision from a month ago is set aside, 13 arrivals every
    // 6 h from 84 h before the end: 13 / 3.5 a day.
    let pay = topology.namespace("ns03").unwrap().knative[0].clone();
    let g = update_rate(&pay.created_unix(), 1, end, 0.95).unwrap();
    crate::util::close("payments rate", g.per_day, 13.0 / 3.5, 1e-9);
}

/// `fleet --topology` with per-namespace scopes, and knative-serving's activator dated like a
/// gateway: in mesh mode it sends to every revision's private Service ClusterIP
/// (knative/serving `pkg/activator/net/revision_backends.go`, `checkDests` -> `getDest`, at
/// knative-v1.11.0), so it grows with every service under any scope. By hand (see
/// [`topology`]): cart 8 ports x 2 a day = 16, fast 8 x 4 = 32, slow 8 x 1 = 8; the activator
/// 16 + 32 + 8 = 56 a day; shop scoped to `hosts=shop/cart` holds cart's routed revision
/// only: no growth.
#[test]
fn per_namespace_scopes_and_the_activator_in_fleet() {
    let dir = tempdir();
    let topo = topology() + "[[namespaces]]\nname = \"knative-serving\"\nsidecars = true\n";
    let topo = write(dir.path(), "topology.toml", &topo);
    let mut rows = series();
    let web1: Vec<String> = rows
        .lines()
        .filter(|l| l.starts_with("shop/web-1,"))
        .map(|l| l.replacen("shop/web-1", "knative-serving/activator-1", 1))
        .collect();
    rows.push_str(&(web1.join("\n") + "\n"));
    let data = write(dir.path(), "fleet.csv", &rows);
    let v = json(meshcap().arg("fleet").arg(&data).arg("--topology").arg(&topo).args([
        "--scope",
        "namespace",
        "--scope",
        "shop=hosts=shop/cart",
        "--format",
        "json",
    ]));
    assert_eq!(v["mesh"]["scope"], "namespace; shop=hosts=shop/cart");
    let growth = |p: &str| by(&v, p)["growth_ports_per_day"].as_f64().unwrap();
    crate::util::close("activator growth", growth("knative-serving/activator-1"), 56.0, 1e-12);
    crate::util::close("pay growth", growth("pay/api-1"), 40.0, 1e-12);
    assert!(growth("shop/web-1").abs() < 1e-12, "shop holds cart's routed revision only");
    // One scope for the rest at most; overrides must name a scoped namespace.
    let err = fails(
        meshcap().arg("fleet").arg(&data).arg("--topology").arg(&topo).args([
            "--scope",
            "mesh",
            "--scope",
            "namespace",
        ]),
        2,
    );
    assert!(err.contains("2 scopes given"), "{err}");
    let err = fails(
        meshcap().arg("fleet").arg(&data).arg("--topology").arg(&topo).args(["--scope", "knative-serving=namespace"]),
        2,
    );
    assert!(err.contains("mesh infrastructure"), "{err}");
}
