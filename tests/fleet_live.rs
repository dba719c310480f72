//! The whole fleet through a real Prometheus: 33 proxies in three namespaces, 7 days at 5
//! minutes, growth rates chosen per proxy, one restart with the old and new containers
//! reported together. Imported live with `--by namespace,pod` from the raw cAdvisor metric (no
//! `max by`), forecast with `fleet`, and scored against the truth the fixture was drawn from.
//!
//! Skips (saying so) without `prometheus`/`promtool`, unless `MESHCAP_REQUIRE_PROMETHEUS=1`.

use std::path::Path;

use crate::fleet_truth::{generate, Restart, Spec, MI};
use crate::prometheus_live::start_with;
use crate::util::{json, meshcap, tempdir};

const T0: f64 = 1_767_225_600.0;
const STEP: f64 = 300.0;
const SAMPLES: usize = 2016;

/// The fleet: four proxies chosen to meet their limits soon, in a known order (expected 4, 10,
/// 20 and 40 days out, at high update rates so the order is not a coin flip), one that never
/// updates, and 28 more months away.
fn specs() -> Vec<Spec> {
    let spec = |ns: &str, pod: &str, rate: f64, ports0: f64, target_days: f64| Spec {
        namespace: ns.into(),
        pod: format!("{pod}-00001-deployment-7d9"),
        rate,
        ports0,
        target_days,
    };
    let mut v = vec![
        spec("shop", "cart", 20.0, 640.0, 4.0),
        spec("pay", "ledger", 16.0, 1200.0, 10.0),
        spec("search", "index", 12.0, 400.0, 20.0),
        spec("shop", "checkout", 10.0, 880.0, 40.0),
        spec("pay", "idle", 0.0, 320.0, 30.0),
    ];
    for i in 0..28 {
        let ns = ["shop", "pay", "search"][i % 3];
        let rate = 0.5 + (i % 7) as f64;
        v.push(spec(ns, &format!("svc{i:02}"), rate, 160.0 + 40.0 * i as f64, 120.0 + 15.0 * i as f64));
    }
    v
}

const MEMORY: &str = r#"container_memory_working_set_bytes{container="istio-proxy"}"#;
const PORTS: &str = "envoy_cluster_manager_active_clusters";
const LIMIT: &str = r#"kube_pod_container_resource_limits{container="istio-proxy",resource="memory"}"#;

fn range() -> Vec<String> {
    let end = T0 + (SAMPLES - 1) as f64 * STEP;
    ["--start", &T0.to_string(), "--end", &end.to_string(), "--step", "5m"].iter().map(|s| s.to_string()).collect()
}

fn body(p: &Path) -> String {
    std::fs::read_to_string(p).unwrap().lines().filter(|l| !l.starts_with('#')).collect::<Vec<_>>().join("\n")
}

#[test]
fn live_fleet_finds_the_true_oom_order_and_dates() {
    let fleet = generate(20_261_205, &specs(), T0, STEP, SAMPLES);
    let restart = Restart { proxy: 2, at: 1000, overlap: 3 };
    let dir = tempdir();
    let Some(server) = start_with(dir.path(), &fleet.openmetrics(&restart)) else { return };

    let csv = dir.path().join("fleet.csv");
    let report = json(
        meshcap()
            .args(["import", "prometheus", "--url", &server.url, "--by", "namespace,pod"])
            .args(["--memory", MEMORY, "--ports", PORTS, "--limit-query", LIMIT])
            .args(range())
            .args(["--format", "json", "-o"])
            .arg(&csv),
    );
    assert_eq!(report["proxies"], 33, "{report}");
    assert_eq!(report["restarts_spliced"], 1, "{report}");
    let text = std::fs::read_to_string(&csv).unwrap();
    assert!(text.contains("\ntime,proxy,ports,restarts,memory,limit\n"), "{}", &text[..600]);
    // The restarted proxy: spliced, never summed; the old container's stale readings give way
    // to the new one at once.
    let index = "search/index-00001-deployment-7d9";
    let rows: Vec<Vec<&str>> =
        text.lines().filter(|l| l.contains(index)).map(|l| l.split(',').collect::<Vec<_>>()).collect();
    assert_eq!(rows.len(), SAMPLES);
    let truth = &fleet.proxies[2];
    let mem = |k: usize| rows[k][4].parse::<f64>().unwrap();
    assert_eq!(mem(restart.at), truth.memory[restart.at].round());
    assert_eq!(mem(restart.at + 1), 20.0 * MI);
    assert_eq!((rows[restart.at][3], rows[restart.at + 1][3]), ("0", "1"));
    assert!(rows.iter().enumerate().all(|(k, r)| k == restart.at + 1
        || k == restart.at + 2
        || (r[4].parse::<f64>().unwrap() - truth.memory[k].round()).abs() < 1.0));

    // The same import from a saved response goes through the same code.
    let end = (T0 + (SAMPLES - 1) as f64 * STEP).to_string();
    let saved = ureq::get(&format!("{}/api/v1/query_range", server.url))
        .query("query", MEMORY)
        .query("start", &T0.to_string())
        .query("end", &end)
        .query("step", "300")
        .call()
        .unwrap()
        .into_string()
        .unwrap();
    let saved_path = dir.path().join("memory.json");
    std::fs::write(&saved_path, saved).unwrap();
    let from_file = dir.path().join("from-file.csv");
    meshcap()
        .args(["import", "prometheus", "--url", &server.url, "--by", "namespace,pod"])
        .args(["--ports", PORTS, "--limit-query", LIMIT])
        .arg("--memory-file")
        .arg(&saved_path)
        .args(range())
        .arg("-o")
        .arg(&from_file)
        .assert()
        .success();
    assert_eq!(body(&from_file), body(&csv));

    let v = json(meshcap().arg("fleet").arg(&csv).args(["--format", "json"]));
    let proxies = v["proxies"].as_array().unwrap();
    assert_eq!(proxies.len(), 33);
    let mut true_order: Vec<&crate::fleet_truth::Proxy> = fleet.proxies.iter().collect();
    true_order.sort_by(|a, b| a.true_days.total_cmp(&b.true_days));
    let got: Vec<&str> = proxies.iter().take(4).map(|p| p["proxy"].as_str().unwrap()).collect();
    let want: Vec<String> = true_order.iter().take(4).map(|p| p.name()).collect();
    eprintln!(
        "true dates of the four soonest: {:?}",
        true_order.iter().take(4).map(|p| p.true_days).collect::<Vec<_>>()
    );
    assert_eq!(got, want, "the four proxies closest to OOM, in order");
    let (mut held, mut dated, mut growth_held) = (0, 0, 0);
    for p in proxies {
        let truth = fleet.proxies.iter().find(|t| t.name() == p["proxy"]).unwrap();
        let [glo, ghi] = [0, 1].map(|i| p["growth_interval"][i].as_f64().unwrap());
        growth_held += usize::from(glo <= truth.true_growth() && truth.true_growth() <= ghi);
        if truth.spec.rate == 0.0 {
            assert!(p["days_to_limit"].is_null(), "a proxy that never updates gets no date: {p}");
            continue;
        }
        dated += 1;
        let lo = p["days_to_limit_interval"][0].as_f64().unwrap();
        let hi = p["days_to_limit_interval"][1].as_f64().unwrap_or(f64::INFINITY);
        let ok = lo <= truth.true_days && truth.true_days <= hi;
        held += usize::from(ok);
        if got.contains(&p["proxy"].as_str().unwrap()) {
            assert!(ok, "{}: true date {} outside [{lo}, {hi}]", truth.name(), truth.true_days);
        }
    }
    eprintln!("live fleet: days-to-limit intervals held {held}/{dated} true dates; growth intervals {growth_held}/33");
    // 95% intervals: a miss or two among 32 is what 95% means; more is not.
    assert!(held >= dated - 3, "{held}/{dated}");
    assert!(growth_held >= 30, "{growth_held}/33");
}
