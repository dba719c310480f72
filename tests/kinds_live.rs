//! Kind and workers through a real Prometheus (issue 19, item 2): Envoy's
//! `envoy_server_concurrency` gauge carries the pod labels Istio's scrape keeps, so a fleet
//! import with `--concurrency` writes each proxy's workers and kind, and `fleet` fits a line
//! per kind with a per-worker slope. Checked against the truth the fixture was drawn from.
//!
//! Skips (saying so) without `prometheus`/`promtool`, unless `MESHCAP_REQUIRE_PROMETHEUS=1`.

use std::fmt::Write as _;

use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;
use rand_distr::{Distribution, Normal};

use crate::fleet_truth::MI;
use crate::prometheus_live::start_with;
use crate::util::{json, meshcap, tempdir};

const T0: f64 = 1_767_225_600.0;
const STEP: f64 = 300.0;
const SAMPLES: usize = 2016;
const KI: f64 = 1024.0;
/// Per port at no workers, by kind; each worker adds 2 KiB a port (envoy#4196).
const SIDECAR_SLOPE: f64 = 90.0 * KI;
const GATEWAY_SLOPE: f64 = 160.0 * KI;
const PER_WORKER: f64 = 2.0 * KI;

/// (namespace, pod, labels Istio's scrape keeps, kind, workers).
fn proxies() -> Vec<(String, String, String, &'static str, f64)> {
    let mut v = Vec::new();
    for i in 0..8 {
        let labels = format!("security_istio_io_tlsMode=\"istio\",service_istio_io_canonical_name=\"svc{i}\"");
        // Half the sidecars run 8 workers (a CPU limit of 8), half Istio's default 2.
        let workers = if i % 2 == 0 { 2.0 } else { 8.0 };
        v.push(("shop".to_string(), format!("svc{i}-7d9"), labels, "sidecar", workers));
    }
    for i in 0..3 {
        let labels = "istio=\"ingressgateway\",service_istio_io_canonical_name=\"istio-ingressgateway\"".to_string();
        v.push(("istio-system".to_string(), format!("istio-ingressgateway-{i}"), labels, "gateway", 4.0));
    }
    v
}

fn openmetrics() -> String {
    let mut rng = ChaCha8Rng::seed_from_u64(20_261_207);
    let noise = Normal::new(0.0, 0.5 * MI).unwrap();
    let offset = Normal::new(0.0, 4.0 * MI).unwrap();
    let (mut mem, mut ports, mut conc) = (String::new(), String::new(), String::new());
    let ts = |k: usize| (T0 + k as f64 * STEP) as i64;
    for (j, (ns, pod, labels, kind, workers)) in proxies().iter().enumerate() {
        let (idle, slope) = if *kind == "gateway" { (90.0 * MI, GATEWAY_SLOPE) } else { (55.0 * MI, SIDECAR_SLOPE) };
        let slope = slope + PER_WORKER * workers;
        let own = offset.sample(&mut rng);
        let id = format!("namespace=\"{ns}\",pod=\"{pod}\"");
        for k in 0..SAMPLES {
            // A revision (8 ports) every 4 hours, from a start of its own.
            let p = 400.0 + 40.0 * j as f64 + 8.0 * (k / 48) as f64;
            let m = idle + own + slope * p + noise.sample(&mut rng);
            writeln!(mem, "container_memory_working_set_bytes{{{id},container=\"istio-proxy\"}} {m:.0} {}", ts(k))
                .unwrap();
            writeln!(ports, "envoy_cluster_manager_active_clusters{{{id},{labels}}} {p} {}", ts(k)).unwrap();
            writeln!(conc, "envoy_server_concurrency{{{id},{labels}}} {workers} {}", ts(k)).unwrap();
        }
    }
    format!(
        "# TYPE container_memory_working_set_bytes gauge\n{mem}# TYPE envoy_cluster_manager_active_clusters gauge\n{ports}# TYPE envoy_server_concurrency gauge\n{conc}# EOF\n"
    )
}

#[test]
fn live_import_writes_kind_and_workers_and_fleet_fits_a_line_per_kind() {
    let dir = tempdir();
    let Some(server) = start_with(dir.path(), &openmetrics()) else { return };
    let end = T0 + (SAMPLES - 1) as f64 * STEP;
    let csv = dir.path().join("fleet.csv");
    let report = json(
        meshcap()
            .args(["import", "prometheus", "--url", &server.url, "--by", "namespace,pod"])
            .args(["--memory", r#"container_memory_working_set_bytes{container="istio-proxy"}"#])
            .args(["--ports", "envoy_cluster_manager_active_clusters", "--concurrency", "envoy_server_concurrency"])
            .args(["--start", &T0.to_string(), "--end", &end.to_string(), "--step", "5m", "--limit", "1Gi"])
            .args(["--format", "json", "-o"])
            .arg(&csv),
    );
    assert_eq!(report["proxies"], 11, "{report}");
    let text = std::fs::read_to_string(&csv).unwrap();
    let mut lines = text.lines().filter(|l| !l.starts_with('#'));
    let header: Vec<&str> = lines.next().unwrap().split(',').collect();
    let col = |name: &str| header.iter().position(|h| *h == name).unwrap_or_else(|| panic!("no {name} in {header:?}"));
    let (proxy, kind, workers) = (col("proxy"), col("kind"), col("concurrency"));
    // Every row's kind and workers as the fixture's labels and gauge say, by hand.
    let want = proxies();
    let mut rows = 0;
    for line in lines {
        let cells: Vec<&str> = line.split(',').collect();
        let (ns, pod) = cells[proxy].split_once('/').unwrap();
        let p = want.iter().find(|w| w.0 == ns && w.1 == pod).unwrap();
        assert_eq!((cells[kind], cells[workers].parse::<f64>().unwrap()), (p.3, p.4), "{line}");
        rows += 1;
    }
    assert_eq!(rows, 11 * SAMPLES);

    let v = json(meshcap().arg("fleet").arg(&csv).args(["--format", "json"]));
    assert!(v["model"].as_str().unwrap().contains("a line per kind"), "{}", v["model"]);
    let by_kind = v["bytes_per_unit_by_kind"].as_array().unwrap();
    // Per port at the first proxy's workers of each kind: sidecars at 2, gateways at 4.
    let truth = [("sidecar", SIDECAR_SLOPE + 2.0 * PER_WORKER), ("gateway", GATEWAY_SLOPE + 4.0 * PER_WORKER)];
    for (k, (name, slope)) in truth.iter().enumerate() {
        let got = by_kind[k][1].as_f64().unwrap();
        assert_eq!(by_kind[k][0], *name);
        assert!((got - slope).abs() < 0.02 * slope, "{name}: {got} per port, truth {slope}");
    }
    for p in v["proxies"].as_array().unwrap() {
        let name = p["proxy"].as_str().unwrap();
        let want = if name.starts_with("istio-system/") { "gateway" } else { "sidecar" };
        assert_eq!(p["kind"], want, "{p}");
    }
    // The per-worker slope: fit the same series and read it off the model.
    let model = dir.path().join("m.json");
    meshcap().arg("fit").arg(&csv).arg("-o").arg(&model).assert().success();
    let m: serde_json::Value = serde_json::from_str(&std::fs::read_to_string(&model).unwrap()).unwrap();
    let c = m["coefficients"].as_array().unwrap();
    let per_worker = c.iter().find(|c| c["name"] == "ports:concurrency").expect("a per-worker slope");
    let (est, lo, hi) = ["estimate", "ci_low", "ci_high"].map(|k| per_worker[k].as_f64().unwrap()).into();
    eprintln!("per worker per port: {est:.0} B [{lo:.0}, {hi:.0}], truth {PER_WORKER}");
    assert!(lo <= PER_WORKER && PER_WORKER <= hi, "per-worker slope {est} [{lo}, {hi}] misses {PER_WORKER}");
}
