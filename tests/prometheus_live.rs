//! A real Prometheus: backfill an OpenMetrics fixture with promtool, start the server, import
//! through `--url`, clean, fit, and compare with the slope the fixture was built from.
//!
//! Without `prometheus`/`promtool` on the PATH the tests print that they skipped; with
//! `MESHCAP_REQUIRE_PROMETHEUS=1` (set by `.ci/run`, which installs Debian's package) they fail
//! instead.

use std::fmt::Write as _;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use crate::util::{json, meshcap, tempdir};

/// 2026-01-01T00:00:00Z: an old date, so the server's retention must be long.
const T0: i64 = 1_767_225_600;
const STEP: i64 = 30;
const SAMPLES: i64 = 480;
/// The fixture's true memory per active cluster (96 KiB, in Envoy's reported range).
const SLOPE: f64 = 98_304.0;
/// The fixture's true idle memory (50 MiB).
const BASE: f64 = 52_428_800.0;
const MIB: f64 = 1_048_576.0;
/// The sample at which the old container is OOMKilled at its 256Mi limit.
const OOM_AT: i64 = 230;
/// cAdvisor keeps reporting the dead container this many samples after the restart.
const STALE: i64 = 6;
/// Prometheus' 5 minute lookback, in samples: a series without staleness markers (backfilled,
/// or cAdvisor's dead container) stays visible this long after its last sample.
const LOOKBACK: i64 = 10;

fn rfc3339(k: i64) -> String {
    time_of(T0 + k * STEP)
}

fn time_of(t: i64) -> String {
    let (h, m, s) = ((t - T0) / 3600, (t - T0) % 3600 / 60, (t - T0) % 60);
    assert!(h < 24);
    format!("2026-01-01T{h:02}:{m:02}:{s:02}Z")
}

fn clusters(k: i64) -> f64 {
    (16 + 400 * (k / 40)) as f64
}

/// Deterministic noise in [-1, 1) MiB (a 64-bit LCG).
fn noise(k: i64) -> f64 {
    let mut x = (k as u64).wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407);
    x ^= x >> 33;
    x = x.wrapping_mul(0xff51afd7ed558ccd);
    x ^= x >> 33;
    ((x >> 11) as f64 / (1u64 << 53) as f64 * 2.0 - 1.0) * MIB
}

fn true_memory(k: i64) -> f64 {
    BASE + SLOPE * clusters(k) + noise(k)
}

/// The OpenMetrics fixture: istio-proxy memory growing stepwise with active clusters; at
/// sample 230 (239Mi of a 256Mi limit) the container is OOMKilled and restarts under a 1Gi
/// limit; cAdvisor reports the dead container for 6 more samples beside the new one.
fn openmetrics() -> String {
    let mut s = String::new();
    let lbl = "namespace=\"shop\",pod=\"cart-00001-deployment-7d9\"";
    s.push_str("# TYPE container_memory_working_set_bytes gauge\n");
    for k in 0..SAMPLES {
        let t = T0 + k * STEP;
        if k <= OOM_AT + STALE {
            // The old container; after its death cAdvisor repeats its last reading.
            let v = true_memory(k.min(OOM_AT));
            writeln!(
                s,
                "container_memory_working_set_bytes{{{lbl},container=\"istio-proxy\",id=\"/kubepods/old\"}} {v} {t}"
            )
            .unwrap();
        }
        if k > OOM_AT {
            // The new one: loading config on its first sample.
            let v = if k == OOM_AT + 1 { 20.0 * MIB } else { true_memory(k) };
            writeln!(
                s,
                "container_memory_working_set_bytes{{{lbl},container=\"istio-proxy\",id=\"/kubepods/new\"}} {v} {t}"
            )
            .unwrap();
        }
    }
    s.push_str("# TYPE envoy_cluster_manager_active_clusters gauge\n");
    for k in 0..SAMPLES {
        writeln!(s, "envoy_cluster_manager_active_clusters{{{lbl}}} {} {}", clusters(k), T0 + k * STEP).unwrap();
    }
    s.push_str("# TYPE kube_pod_container_status_restarts_total counter\n");
    for k in 0..SAMPLES {
        let r = if k > OOM_AT { 1 } else { 0 };
        writeln!(
            s,
            "kube_pod_container_status_restarts_total{{{lbl},container=\"istio-proxy\"}} {r} {}",
            T0 + k * STEP
        )
        .unwrap();
    }
    s.push_str("# TYPE kube_pod_container_resource_limits gauge\n");
    for k in 0..SAMPLES {
        let l = if k > OOM_AT { 1024.0 * MIB } else { 256.0 * MIB };
        writeln!(
            s,
            "kube_pod_container_resource_limits{{{lbl},container=\"istio-proxy\",resource=\"memory\"}} {l} {}",
            T0 + k * STEP
        )
        .unwrap();
    }
    s.push_str("# EOF\n");
    s
}

fn on_path(bin: &str) -> bool {
    std::env::var_os("PATH").is_some_and(|p| std::env::split_paths(&p).any(|d| d.join(bin).is_file()))
}

/// A Prometheus server on a free loopback port, stopped by its pid on drop.
pub struct Server {
    child: Child,
    /// Base URL, with the `/prometheus` path prefix.
    pub url: String,
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = Command::new("kill").arg(self.child.id().to_string()).status();
        let _ = self.child.wait();
    }
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port()
}

/// Backfill the fixture and start Prometheus under the path prefix `/prometheus`, or `None`
/// (after saying so) when the binaries are missing and not required.
fn start(dir: &Path) -> Option<Server> {
    start_with(dir, &openmetrics())
}

/// Backfill `fixture` (OpenMetrics text) and start Prometheus on it, as [`start`].
pub fn start_with(dir: &Path, fixture: &str) -> Option<Server> {
    start_configured(dir, fixture, "global:\n  scrape_interval: 1h\nscrape_configs: []\n")
}

/// [`start_with`] with a configuration of the caller's (rule files, evaluation interval).
pub fn start_configured(dir: &Path, fixture: &str, config_text: &str) -> Option<Server> {
    if !(on_path("prometheus") && on_path("promtool")) {
        if std::env::var("MESHCAP_REQUIRE_PROMETHEUS").as_deref() == Ok("1") {
            panic!(
                "MESHCAP_REQUIRE_PROMETHEUS=1 but prometheus/promtool are not on the PATH (apt-get install prometheus)"
            );
        }
        eprintln!("skipped: prometheus and promtool are not installed (apt-get install -y --no-install-recommends prometheus)");
        return None;
    }
    let om = dir.join("fixture.om");
    std::fs::write(&om, fixture).unwrap();
    let tsdb = dir.join("tsdb");
    let out = Command::new("promtool")
        .args(["tsdb", "create-blocks-from", "openmetrics"])
        .arg(&om)
        .arg(&tsdb)
        .output()
        .unwrap();
    assert!(out.status.success(), "promtool: {}", String::from_utf8_lossy(&out.stderr));
    let config = dir.join("prometheus.yml");
    std::fs::write(&config, config_text).unwrap();
    for _attempt in 0..3 {
        let port = free_port();
        let url = format!("http://127.0.0.1:{port}/prometheus");
        let child = Command::new("prometheus")
            .arg(format!("--config.file={}", config.display()))
            .arg(format!("--storage.tsdb.path={}", tsdb.display()))
            .arg("--storage.tsdb.retention.time=100y")
            .arg(format!("--web.listen-address=127.0.0.1:{port}"))
            .arg(format!("--web.external-url={url}"))
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(std::fs::File::create(dir.join("prometheus.log")).unwrap())
            .spawn()
            .expect("start prometheus");
        let mut server = Server { child, url };
        let deadline = Instant::now() + Duration::from_secs(60);
        while Instant::now() < deadline {
            if let Ok(Some(_)) = server.child.try_wait() {
                break; // exited: port taken, try another
            }
            let ready = ureq::get(&format!("{}/-/ready", server.url)).timeout(Duration::from_secs(2)).call();
            if ready.is_ok_and(|r| r.status() == 200) {
                return Some(server);
            }
            std::thread::sleep(Duration::from_millis(200));
        }
        let _ = server.child.kill();
    }
    panic!(
        "prometheus did not become ready; log: {}",
        std::fs::read_to_string(dir.join("prometheus.log")).unwrap_or_default()
    );
}

const MEMORY_MAX: &str = r#"max by (namespace, pod) (container_memory_working_set_bytes{container="istio-proxy"})"#;
const MEMORY_SUM: &str = r#"sum by (namespace, pod) (container_memory_working_set_bytes{container="istio-proxy"})"#;
const PORTS: &str = "max by (namespace, pod) (envoy_cluster_manager_active_clusters)";
const RESTARTS: &str = r#"max by (namespace, pod) (kube_pod_container_status_restarts_total{container="istio-proxy"})"#;
const LIMIT: &str =
    r#"max by (namespace, pod) (kube_pod_container_resource_limits{container="istio-proxy",resource="memory"})"#;

fn range() -> [String; 6] {
    [
        "--start".into(),
        T0.to_string(),
        "--end".into(),
        (T0 + (SAMPLES - 1) * STEP).to_string(),
        "--step".into(),
        "30s".into(),
    ]
}

fn import(server: &Server, memory: &str, out: &PathBuf) {
    meshcap()
        .args(["import", "prometheus", "--url", &server.url, "--memory", memory, "--ports", PORTS])
        .args(["--restarts", RESTARTS, "--limit-query", LIMIT])
        .args(range())
        .arg("-o")
        .arg(out)
        .assert()
        .success();
}

#[test]
fn live_import_clean_and_fit_recover_the_fixture_slope() {
    let dir = tempdir();
    let Some(server) = start(dir.path()) else { return };
    let raw = dir.path().join("raw.csv");
    import(&server, MEMORY_MAX, &raw);
    let text = std::fs::read_to_string(&raw).unwrap();
    assert!(text.contains(&format!("# imported by meshcap import prometheus from {}", server.url)), "{text}");
    assert!(text.contains("time,ports,restarts,memory,limit\n2026-01-01T00:00:00Z,16,0,"), "{text}");
    assert_eq!(text.lines().filter(|l| !l.starts_with('#')).count() as i64, SAMPLES + 1);

    // max hides the restart for the stale window; the restart counter finds it, and the
    // reading before it (239Mi of 256Mi) is the OOMKill.
    let clean = dir.path().join("clean.csv");
    let report = json(meshcap().arg("clean").arg(&raw).arg("-o").arg(&clean).args(["--format", "json"]));
    assert_eq!(report["restarts"], 1);
    assert_eq!(report["ooms"], 1);
    assert_eq!(report["double_counted_rows"], 0);
    let times: Vec<&str> = report["changes"].as_array().unwrap().iter().map(|c| c["time"].as_str().unwrap()).collect();
    assert_eq!(times, vec![rfc3339(OOM_AT), rfc3339(OOM_AT + 1)]);
    assert_eq!(report["changes"][0]["event"], "oom");

    let fit = json(meshcap().arg("fit").arg(&clean).args(["--format", "json"]));
    let coef = fit["coefficients"].as_array().unwrap();
    let ports = coef.iter().find(|c| c["name"] == "ports").expect("ports term");
    let (est, lo, hi) =
        (ports["estimate"].as_f64().unwrap(), ports["ci_low"].as_f64().unwrap(), ports["ci_high"].as_f64().unwrap());
    eprintln!("live fit: {est} bytes per cluster, 95% CI [{lo}, {hi}], fixture slope {SLOPE}");
    assert!(lo <= SLOPE && SLOPE <= hi, "known slope {SLOPE} outside the CI [{lo}, {hi}] (estimate {est})");
    assert!((est - SLOPE).abs() / SLOPE < 0.01, "estimate {est}");
    assert!(hi - lo < 0.02 * SLOPE, "CI too wide to mean anything: [{lo}, {hi}]");
    assert_eq!(fit["source"]["oom_rows"], 2);
    assert_eq!(fit["oom"][0]["limit_bytes"].as_f64().unwrap(), 256.0 * MIB);

    // Same answer from a saved response of the same server: one code path.
    let body = ureq::get(&format!("{}/api/v1/query_range", server.url))
        .query("query", MEMORY_MAX)
        .query("start", &T0.to_string())
        .query("end", &(T0 + (SAMPLES - 1) * STEP).to_string())
        .query("step", "30")
        .call()
        .unwrap()
        .into_string()
        .unwrap();
    let saved = dir.path().join("memory.json");
    std::fs::write(&saved, body).unwrap();
    let from_file = dir.path().join("file.csv");
    meshcap()
        .args([
            "import",
            "prometheus",
            "--url",
            &server.url,
            "--ports",
            PORTS,
            "--restarts",
            RESTARTS,
            "--limit-query",
            LIMIT,
        ])
        .arg("--memory-file")
        .arg(&saved)
        .args(range())
        .arg("-o")
        .arg(&from_file)
        .assert()
        .success();
    let strip = |t: &str| t.lines().filter(|l| !l.starts_with('#')).collect::<Vec<_>>().join("\n");
    assert_eq!(strip(&std::fs::read_to_string(&from_file).unwrap()), strip(&text));
}

#[test]
fn live_sum_shows_double_counting_and_clean_names_the_fix() {
    let dir = tempdir();
    let Some(server) = start(dir.path()) else { return };
    let raw = dir.path().join("sum.csv");
    import(&server, MEMORY_SUM, &raw);
    let out = meshcap().arg("clean").arg(&raw).assert().success().get_output().clone();
    let stderr = String::from_utf8(out.stderr).unwrap();
    assert!(stderr.contains("double-count"), "{stderr}");
    assert!(stderr.contains("fix: read max by (namespace, pod)"), "{stderr}");
    let cleaned = String::from_utf8(out.stdout).unwrap();
    let doubled = cleaned.lines().filter(|l| l.contains(",double-count")).count() as i64;
    // Samples 232..=236, and the 5 minutes of lookback after the dead container's last one,
    // sum its 239Mi with the new one's ~239Mi (231 adds only the 20Mi of a container still
    // loading). Prometheus 3 made the lookback window open on the left: one sample fewer.
    let want = STALE - 1 + LOOKBACK;
    assert!(doubled == want || doubled == want - 1, "{doubled} double-counted rows, want {want}: {cleaned}");
    assert!(stderr.contains("1 restarts, 1 OOMKills"), "{stderr}");
    assert!(cleaned.lines().any(|l| l.ends_with(",oom")), "the reading before the restart is the OOMKill");
    // The fit on the cleaned sum agrees with the known slope too.
    let clean = dir.path().join("sum-clean.csv");
    std::fs::write(&clean, &cleaned).unwrap();
    let fit = json(meshcap().arg("fit").arg(&clean).args(["--format", "json"]));
    let ports = fit["coefficients"].as_array().unwrap().iter().find(|c| c["name"] == "ports").unwrap().clone();
    assert!(ports["ci_low"].as_f64().unwrap() <= SLOPE && SLOPE <= ports["ci_high"].as_f64().unwrap(), "{ports}");
}

#[test]
fn live_errors_are_one_line_and_name_the_problem() {
    let dir = tempdir();
    let Some(server) = start(dir.path()) else { return };
    let run = |memory: &str, code: i32| {
        let out = meshcap()
            .args(["import", "prometheus", "--url", &server.url, "--memory", memory, "--ports", PORTS])
            .args(range())
            .assert()
            .code(code)
            .get_output()
            .clone();
        let err = String::from_utf8(out.stderr).unwrap();
        assert_eq!(err.trim_end().lines().count(), 1, "{err}");
        err
    };
    // Several series (old and new container) without max: refused, label sets listed.
    let err = run(r#"container_memory_working_set_bytes{container="istio-proxy"}"#, 2);
    assert!(
        err.contains("returned 2 series") && err.contains("id=\"/kubepods/new\"") && err.contains("--aggregate"),
        "{err}"
    );
    // A PromQL syntax error: Prometheus' errorType and message.
    let err = run("max by (pod (", 2);
    assert!(err.contains("bad_data") && err.contains("parse error"), "{err}");
    // The path prefix matters: without it the API is not found.
    let bare = server.url.trim_end_matches("/prometheus");
    let out = meshcap()
        .args(["import", "prometheus", "--url", bare, "--memory", MEMORY_MAX, "--ports", PORTS])
        .args(range())
        .assert()
        .code(1)
        .get_output()
        .clone();
    let err = String::from_utf8(out.stderr).unwrap();
    assert!(err.contains("HTTP 404") && err.contains("/prometheus"), "{err}");
    // --aggregate max over the raw series gives the max by query's rows.
    let agg = dir.path().join("agg.csv");
    meshcap()
        .args(["import", "prometheus", "--url", &server.url, "--ports", PORTS, "--aggregate", "max"])
        .args(["--memory", r#"container_memory_working_set_bytes{container="istio-proxy"}"#])
        .args(range())
        .arg("-o")
        .arg(&agg)
        .assert()
        .success();
    let max = dir.path().join("max.csv");
    meshcap()
        .args(["import", "prometheus", "--url", &server.url, "--ports", PORTS, "--memory", MEMORY_MAX])
        .args(range())
        .arg("-o")
        .arg(&max)
        .assert()
        .success();
    let body = |p: &Path| {
        std::fs::read_to_string(p).unwrap().lines().filter(|l| !l.starts_with('#')).collect::<Vec<_>>().join("\n")
    };
    assert_eq!(body(&agg), body(&max));
}
