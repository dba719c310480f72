//! `meshcap fleet`: a seeded simulation study of its intervals, and the command's outputs.
//!
//! The study draws fleets with known truth ([`fleet_truth`](crate::fleet_truth)): 30 proxies,
//! 7 days of readings at 15 minutes, revisions arriving as a Poisson process at 1 to 12 a day,
//! limits 5 to 120 expected days away. Each fleet is fitted as a user would (pooled, group per
//! proxy) and forecast; the growth interval should hold the true ports per day, and the days
//! interval the day the proxy's memory really reached its limit (its future drawn from the same
//! process), about 95% of the time. Run with `--nocapture` to see the figures quoted in README.

use std::path::Path;

use meshcap::fleet::{forecast, pooled, FleetSettings};
use meshcap::series::csv;
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;

use crate::fleet_truth::{generate, Spec};

fn random_specs(rng: &mut ChaCha8Rng, n: usize) -> Vec<Spec> {
    (0..n)
        .map(|i| Spec {
            namespace: format!("ns{}", i % 3),
            pod: format!("svc{i}-00001-deployment"),
            rate: rng.gen_range(1.0..12.0),
            ports0: 8.0 * rng.gen_range(12..100) as f64,
            target_days: rng.gen_range(5.0..120.0),
        })
        .collect()
}

#[test]
fn growth_and_days_intervals_cover_about_95_percent() {
    let runs = 200;
    let mut rng = ChaCha8Rng::seed_from_u64(12);
    let (mut total, mut growth_hits, mut days_hits, mut dated) = (0, 0, 0, 0);
    let (mut early, mut late) = (0, 0);
    for run in 0..runs {
        let specs = random_specs(&mut rng, 30);
        let fleet = generate(1000 + run, &specs, 1_767_225_600.0, 900.0, 672);
        let text = fleet.csv();
        let series = csv::parse(Path::new("sim.csv"), &text).unwrap();
        let model = pooled::pooled_fit(&series, String::from("test"), "sim.csv", 0.95).unwrap();
        let result = forecast(&series, &model, &FleetSettings { headroom: 0.0, ..FleetSettings::default() }).unwrap();
        for truth in &fleet.proxies {
            let p = result.proxies.iter().find(|p| p.proxy == truth.name()).expect("every proxy forecast");
            total += 1;
            let [lo, hi] = p.growth_interval.unwrap();
            growth_hits += usize::from(lo <= truth.true_growth() && truth.true_growth() <= hi);
            if let Some([lo, hi]) = p.days_to_limit_interval {
                dated += 1;
                let (lo, hi) = (lo.unwrap(), hi.unwrap_or(f64::INFINITY));
                let t = truth.true_days;
                days_hits += usize::from(lo <= t && t <= hi);
                early += usize::from(t < lo);
                late += usize::from(t > hi);
            }
        }
    }
    let g = growth_hits as f64 / total as f64;
    let d = days_hits as f64 / dated as f64;
    eprintln!(
        "fleet coverage over {runs} fleets x 30 proxies: growth {g:.3} ({growth_hits}/{total}); days to limit {d:.3} ({days_hits}/{dated}; truth earlier {early}, later {late})"
    );
    assert_eq!(dated, total, "every growing proxy with a limit gets a date");
    // Garwood's interval is exact, hence a little conservative; the days interval should sit
    // near 95% with its misses split between the two sides.
    assert!((0.945..=0.98).contains(&g), "growth coverage {g}");
    assert!((0.935..=0.97).contains(&d), "days-to-limit coverage {d}");
    let tail = |m: usize| m as f64 / dated as f64;
    assert!(tail(early) < 0.04 && tail(late) < 0.04, "tails: earlier {}, later {}", tail(early), tail(late));
}

/// A hand-made fleet: four proxies over 5 days at 6 hours (21 readings).
/// - `shop/fast`: +8 ports at readings 2, 4, ..., 20 (10 steps): 16 ports a day.
/// - `shop/slow`: +8 ports at readings 5, 10, 15, 20 (4 steps): 6.4 ports a day.
/// - `pay/flat`: never moves: no date.
/// - `pay/full`: like slow, but memory already above 90% of its limit: flagged, ranked first.
///
/// Memory is 55Mi + 96Ki per port + a per-proxy offset, with +-0.25Mi alternating noise.
fn hand_fleet() -> String {
    let mut s = String::from("# hand-made fleet\ntime,proxy,ports,limit,memory\n");
    let day = 86_400.0;
    let proxies: [(&str, usize, f64, f64, f64); 4] = [
        ("shop/fast", 2, 400.0, 512.0, 3.0),
        ("shop/slow", 5, 600.0, 512.0, -2.0),
        ("pay/flat", 0, 800.0, 512.0, 0.0),
        ("pay/full", 5, 3100.0, 360.0, 1.0),
    ];
    for (name, every, ports0, limit_mi, offset_mi) in proxies {
        for k in 0..21usize {
            let steps = k.checked_div(every).unwrap_or(0);
            let ports = ports0 + 8.0 * steps as f64;
            let noise = if k % 2 == 0 { 0.25 } else { -0.25 };
            let memory = (55.0 + offset_mi + noise) * 1_048_576.0 + 98_304.0 * ports;
            s.push_str(&format!(
                "{},{name},{ports},{}Mi,{memory:.0}\n",
                1_767_225_600.0 + k as f64 * day / 4.0,
                limit_mi
            ));
        }
    }
    s
}

#[test]
fn fleet_ranks_dates_and_flags_from_a_hand_count() {
    let dir = crate::util::tempdir();
    let data = crate::util::write(dir.path(), "fleet.csv", &hand_fleet());
    let v = crate::util::json(crate::util::meshcap().arg("fleet").arg(&data).args(["--format", "json"]));
    let proxies = v["proxies"].as_array().unwrap();
    let names: Vec<&str> = proxies.iter().map(|p| p["proxy"].as_str().unwrap()).collect();
    // Flagged first, then by days (fast grows faster from less memory), undated last.
    assert_eq!(names, ["pay/full", "shop/fast", "shop/slow", "pay/flat"]);
    let by = |n: &str| proxies.iter().find(|p| p["proxy"] == n).unwrap();
    let keys: Vec<&str> = by("shop/fast").as_object().unwrap().keys().map(String::as_str).collect();
    for k in [
        "proxy",
        "namespace",
        "memory_bytes",
        "limit_bytes",
        "ports",
        "growth_ports_per_day",
        "growth_interval",
        "days_to_limit",
        "days_to_limit_interval",
    ] {
        assert!(keys.contains(&k), "missing {k} in {keys:?}");
    }
    assert_eq!(by("shop/fast")["namespace"], "shop");
    // Hand count: 10 steps of 8 ports over 5 days; 4 steps over 5 days.
    crate::util::close("fast growth", by("shop/fast")["growth_ports_per_day"].as_f64().unwrap(), 16.0, 1e-12);
    crate::util::close("slow growth", by("shop/slow")["growth_ports_per_day"].as_f64().unwrap(), 6.4, 1e-12);
    assert_eq!(by("shop/fast")["ports"], 480.0);
    assert_eq!(by("pay/full")["over_headroom"], true);
    assert_eq!(by("shop/fast")["over_headroom"], false);
    assert!(by("pay/flat")["days_to_limit"].is_null() && by("pay/flat")["days_to_limit_interval"].is_null());
    assert_eq!(by("pay/flat")["growth_ports_per_day"], 0.0);
    // fast: the limit is 512Mi; memory now about 55 + 3 + 480 x 96Ki = 103Mi, so ~4,360 ports
    // to go at 16 a day is ~270 days (the upper bound crosses a little earlier).
    let d = by("shop/fast")["days_to_limit"].as_f64().unwrap();
    let [lo, hi] = [0, 1].map(|i| by("shop/fast")["days_to_limit_interval"][i].as_f64().unwrap());
    let mean_days = ((512.0 - 58.0) * 1_048_576.0 / 98_304.0 - 480.0) / 16.0;
    assert!(lo <= d && d <= hi && d < mean_days && mean_days < hi, "{lo} {d} {hi} vs {mean_days}");
    assert!(d > 0.9 * mean_days, "{d} vs {mean_days}");

    // csv: a header and one row per proxy, in rank order.
    let out = crate::util::meshcap().arg("fleet").arg(&data).args(["--format", "csv"]).assert().success();
    let text = String::from_utf8(out.get_output().stdout.clone()).unwrap();
    let lines: Vec<&str> = text.lines().collect();
    assert!(lines[0].starts_with("proxy,namespace,memory_bytes,limit_bytes,ports,growth_ports_per_day,"), "{text}");
    assert_eq!(lines.len(), 5);
    assert!(lines[1].starts_with("pay/full,pay,") && lines[4].starts_with("pay/flat,pay,"), "{text}");

    // The table: top 2 and a count of the rest; the roll-up by namespace.
    let out = crate::util::meshcap().arg("fleet").arg(&data).args(["--top", "2", "--by", "namespace"]).assert();
    let text = String::from_utf8(out.success().get_output().stdout.clone()).unwrap();
    assert!(text.contains("... and 2 more"), "{text}");
    assert!(text.contains("  1!  pay/full") && !text.contains("shop/slow  "), "{text}");
    let v = crate::util::json(crate::util::meshcap().arg("fleet").arg(&data).args([
        "--by",
        "namespace",
        "--format",
        "json",
    ]));
    let ns = v["namespaces"].as_array().unwrap();
    assert_eq!(ns[0]["namespace"], "pay");
    assert_eq!((ns[0]["proxies"].as_u64(), ns[0]["at_risk_30d"].as_u64()), (Some(2), Some(1)));
    assert_eq!(ns[0]["worst_proxy"], "pay/full");
    assert_eq!((ns[1]["namespace"].as_str(), ns[1]["at_risk_90d"].as_u64()), (Some("shop"), Some(0)));
}

#[test]
fn fleet_bad_input_is_named() {
    let dir = crate::util::tempdir();
    // A limit without its unit: bytes, under 1Mi.
    let bad = hand_fleet().replace("512Mi", "512");
    let data = crate::util::write(dir.path(), "bad.csv", &bad);
    let out = crate::util::meshcap().arg("fleet").arg(&data).assert().code(2).get_output().clone();
    let err = String::from_utf8(out.stderr).unwrap();
    assert_eq!(err.trim_end().lines().count(), 1, "{err}");
    // Refused by the readers' guard (series::plausible) with the unit it looks like.
    assert!(
        err.contains("limit = 512 bytes") && err.contains("write 512Mi") && err.contains("bad.csv:3:limit"),
        "{err}"
    );
    // A proxy with one reading: named, no date; the rest still ranked.
    let one = format!("{}1767225600,lonely/one,100,512Mi,70000000\n", hand_fleet());
    let data = crate::util::write(dir.path(), "one.csv", &one);
    let v = crate::util::json(crate::util::meshcap().arg("fleet").arg(&data).args(["--format", "json"]));
    assert!(v["warnings"]
        .as_array()
        .unwrap()
        .iter()
        .any(|w| w.as_str().unwrap().contains("1 proxy: one reading, so no growth and no date: lonely/one")));
    assert_eq!(v["warned"][0]["proxies"], serde_json::json!(["lonely/one"]), "{}", v["warned"]);
    let lonely = v["proxies"].as_array().unwrap().iter().find(|p| p["proxy"] == "lonely/one").unwrap().clone();
    assert!(lonely["growth_ports_per_day"].is_null() && lonely["days_to_limit"].is_null());
    // A series without times (the seed) cannot date growth.
    let out = crate::util::meshcap().arg("fleet").arg(crate::util::seed_data()).assert().code(2).get_output().clone();
    let err = String::from_utf8(out.stderr).unwrap();
    assert!(err.contains("no time column") && err.contains("knative-1.11-istio-1.18.csv"), "{err}");
    // -o naming the input is refused; --by other than namespace is refused.
    crate::util::meshcap().arg("fleet").arg(&data).arg("-o").arg(&data).assert().code(2);
    crate::util::meshcap().arg("fleet").arg(&data).args(["--by", "pod"]).assert().code(2);
    assert_eq!(std::fs::read_to_string(&data).unwrap(), one);
}

/// Pixels of the Okabe-Ito vermillion (limit ticks, flagged proxies).
fn vermillion(path: &Path) -> usize {
    let (_, _, px) = crate::report::decode(path);
    px.chunks(3).filter(|p| p == &[213, 94, 0]).count()
}

#[test]
fn plot_fleet_and_report_fleet_draw_the_ranking() {
    let dir = crate::util::tempdir();
    let data = crate::util::write(dir.path(), "fleet.csv", &hand_fleet());
    let memory = dir.path().join("fleet.png");
    let days = dir.path().join("days.png");
    crate::util::meshcap().args(["plot", "fleet", "--data"]).arg(&data).arg("-o").arg(&memory).assert().success();
    crate::util::meshcap().args(["plot", "fleet-days", "--data"]).arg(&data).arg("-o").arg(&days).assert().success();
    let (w, h, _) = crate::report::decode(&memory);
    assert_eq!((w, h), (1600, 1000));
    // Four limit ticks, and in the days chart the one flagged proxy's dot.
    assert!(vermillion(&memory) > 100, "limit ticks drawn");
    assert!(vermillion(&days) > 50, "the flagged proxy is marked");
    // Without the flagged proxy (a 2Gi limit), no vermillion dot in the days chart (the
    // legend's swatch aside).
    let calm = crate::util::write(dir.path(), "calm.csv", &hand_fleet().replace("360Mi", "2Gi"));
    let calm_days = dir.path().join("calm-days.png");
    crate::util::meshcap()
        .args(["plot", "fleet-days", "--data"])
        .arg(&calm)
        .arg("-o")
        .arg(&calm_days)
        .assert()
        .success();
    assert!(vermillion(&calm_days) < vermillion(&days) / 2, "{} vs {}", vermillion(&calm_days), vermillion(&days));

    let out = dir.path().join("report");
    crate::util::meshcap()
        .args(["report", "--topology", "none", "--fleet"])
        .arg(&data)
        .arg("--out")
        .arg(&out)
        .assert()
        .success();
    let (w, h, _) = crate::report::decode(&out.join("report.png"));
    assert_eq!((w, h), (2400, 2560));
    for f in ["fleet.png", "fleet-days.png"] {
        assert!(out.join(f).is_file(), "{f}");
    }
    let md = std::fs::read_to_string(out.join("report.md")).unwrap();
    let fleet = &md[md.find("## Fleet").expect("fleet section")..];
    let order: Vec<usize> =
        ["pay/full", "shop/fast", "shop/slow", "pay/flat"].iter().map(|p| fleet.find(p).unwrap()).collect();
    assert!(order.windows(2).all(|w| w[0] < w[1]), "{fleet}");
    assert!(fleet.contains("| 1! | `pay/full`"), "{fleet}");
}

#[test]
fn fleet_is_the_same_at_any_thread_count() {
    // A long-form series big enough for the reader's parallel chunks (over 4 MB).
    let specs: Vec<Spec> = (0..100)
        .map(|i| Spec {
            namespace: format!("ns{}", i % 4),
            pod: format!("svc{i:02}"),
            rate: 1.0 + (i % 9) as f64,
            ports0: 200.0 + 8.0 * i as f64,
            target_days: 20.0 + 5.0 * i as f64,
        })
        .collect();
    let fleet = generate(7, &specs, 1_767_225_600.0, 300.0, 2016);
    let dir = crate::util::tempdir();
    let data = crate::util::write(dir.path(), "big.csv", &fleet.csv());
    assert!(std::fs::metadata(&data).unwrap().len() > 4 << 20);
    let run = |threads: &str| {
        let out = crate::util::meshcap()
            .env("RAYON_NUM_THREADS", threads)
            .arg("fleet")
            .arg(&data)
            .args(["--format", "json"])
            .assert()
            .success();
        out.get_output().stdout.clone()
    };
    let one = run("1");
    assert_eq!(one, run("2"));
    assert_eq!(one, run("3"));
}

#[test]
fn response_flags_beside_a_series_are_refused_not_ignored() {
    // Issue 21 §4: `fleet SERIES --limit-file /nonexistent` exited 0, the flag ignored.
    let dir = crate::util::tempdir();
    let data = crate::util::write(dir.path(), "fleet.csv", &hand_fleet());
    for flag in ["--ports-file", "--limit-file", "--restarts-file", "--revisions-file"] {
        let err = crate::util::fails(crate::util::meshcap().arg("fleet").arg(&data).args([flag, "/nonexistent"]), 2);
        assert!(err.contains(flag) && err.contains("would be ignored"), "{err}");
    }
}
