//! `meshcap rules` loaded into a real Prometheus (issue 20 §3): a week of backfilled cluster
//! counts and limits for three proxies, the rule file as the server's `rule_files`, evaluated
//! every second on the wall clock, and `ALERTS` read back over the HTTP API. Which proxy must
//! alert is worked out here from the seed model's coefficients (the rule file's own numbers),
//! not from meshcap's output.

use std::fmt::Write as _;
use std::time::{Duration, Instant};

use crate::prometheus_live::start_configured;
use crate::util::{meshcap, tempdir};

const GI: f64 = 1_073_741_824.0;
const DAY: i64 = 86_400;

/// Clusters of each proxy at `t` (unix seconds), the fixture's truth: `full` holds 10,000
/// (its upper bound is past 1Gi now), `small` 2,000, `growing` 200 more a day, about 4,000 now.
fn clusters(pod: &str, t: i64, start: i64) -> f64 {
    match pod {
        "full" => 10_000.0,
        "small" => 2_000.0,
        _ => 2_400.0 + 200.0 * (t - start) as f64 / DAY as f64,
    }
}

/// The seed model's peak prediction and upper bound, copied from the rule file's expressions
/// (mean = b0 + b1 x, upper = mean + t sqrt(s2 + v00 + 2 v01 u + v11 u^2), u = 0.1925 x).
fn upper(rules: &str, x: f64) -> f64 {
    let line = rules.lines().find(|l| l.contains("expr: ") && l.contains("sqrt(") && !l.contains("deriv")).unwrap();
    let nums: Vec<f64> = line
        .split(|c: char| !(c.is_ascii_digit() || c == '.' || c == '-' || c == 'e'))
        .filter_map(|w| w.parse().ok())
        .collect();
    // b0, b1, t, s2, v00, 2, v01, per-port factor, v11, per-port factor, 2 (the square)
    let (b0, b1, t, s2, v00, v01, f, v11) = (nums[0], nums[1], nums[2], nums[3], nums[4], nums[6], nums[7], nums[8]);
    let u = f * x;
    b0 + b1 * x + t * (s2 + v00 + 2.0 * v01 * u + v11 * u * u).sqrt()
}

/// A server configuration that evaluates `rules` every second and scrapes nothing.
pub(crate) fn rules_config(rules: &std::path::Path) -> String {
    format!(
        "global:\n  scrape_interval: 1h\n  evaluation_interval: 1s\nrule_files: [\"{}\"]\nscrape_configs: []\n",
        rules.display()
    )
}

/// `meshcap rules --push none` for the model at `model` into `dir/rules.yaml`.
pub(crate) fn rules_for(dir: &std::path::Path, model: &std::path::Path) -> std::path::PathBuf {
    let rules = dir.join("rules.yaml");
    crate::util::meshcap()
        .args(["rules", "--push", "none", "--model"])
        .arg(model)
        .arg("-o")
        .arg(&rules)
        .assert()
        .success();
    rules
}

/// One instant query's `data.result` (empty when the server does not answer yet).
pub(crate) fn query(url: &str, q: &str) -> serde_json::Value {
    let body = ureq::get(&format!("{url}/api/v1/query"))
        .query("query", q)
        .call()
        .ok()
        .and_then(|r| r.into_string().ok())
        .unwrap_or_default();
    let v: serde_json::Value = serde_json::from_str(&body).unwrap_or_default();
    v["data"]["result"].clone()
}

#[test]
fn live_prometheus_fires_the_alerts_the_rules_promise() {
    let dir = tempdir();
    let now = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().as_secs() as i64;
    // Samples every 5 minutes, every 15 s over the last 10 minutes, the last one 15 s ago: the
    // server's head accepts only samples after the newest backfilled one (its minimum valid
    // time), so the rules' own results at "now" must come after the fixture.
    let start = now - 8 * DAY;
    let times: Vec<i64> = (start..now - 600).step_by(300).chain((now - 600..now - 14).step_by(15)).collect();
    let rules_path = dir.path().join("rules.yaml");
    meshcap().args(["rules", "-o"]).arg(&rules_path).assert().success();
    let rules = std::fs::read_to_string(&rules_path).unwrap();
    // The premise, by hand: full is past the limit now, small never, growing in 14 days.
    let at = |pod: &str, t: i64| upper(&rules, clusters(pod, t, start));
    assert!(at("full", now) > GI && at("small", now + 14 * DAY) < GI);
    assert!(at("growing", now) < GI && upper(&rules, clusters("growing", now, start) + 200.0 * 14.0) > GI);

    let mut om = String::from("# TYPE envoy_cluster_manager_active_clusters gauge\n");
    for pod in ["full", "small", "growing"] {
        for &t in &times {
            writeln!(
                om,
                "envoy_cluster_manager_active_clusters{{namespace=\"shop\",pod=\"{pod}\"}} {} {t}",
                clusters(pod, t, start)
            )
            .unwrap();
        }
    }
    om.push_str("# TYPE kube_pod_container_resource_limits gauge\n");
    for pod in ["full", "small", "growing"] {
        for &t in &times {
            writeln!(om, "kube_pod_container_resource_limits{{namespace=\"shop\",pod=\"{pod}\",container=\"istio-proxy\",resource=\"memory\"}} {GI} {t}").unwrap();
        }
    }
    om.push_str("# EOF\n");
    let Some(server) = start_configured(dir.path(), &om, &rules_config(&rules_path)) else { return };

    // ALERTS holds pending (then firing) alerts: pending proves the expression holds; `for: 15m`
    // would keep a test waiting a quarter of an hour for "firing".
    let deadline = Instant::now() + Duration::from_secs(90);
    let mut seen = Vec::new();
    while Instant::now() < deadline {
        seen = query(&server.url, "ALERTS")
            .as_array()
            .map(|a| {
                let mut s: Vec<(String, String, String)> = a
                    .iter()
                    .map(|r| {
                        let m = &r["metric"];
                        let f = |k: &str| m[k].as_str().unwrap_or_default().to_string();
                        (f("alertname"), f("pod"), f("severity"))
                    })
                    .collect();
                s.sort();
                s
            })
            .unwrap_or_default();
        if seen.len() >= 2 {
            break;
        }
        std::thread::sleep(Duration::from_millis(500));
    }
    let want = vec![
        ("MeshcapSidecarNearLimit".to_string(), "full".to_string(), "critical".to_string()),
        ("MeshcapSidecarOOMForecast".to_string(), "growing".to_string(), "warning".to_string()),
    ];
    assert_eq!(seen, want, "ALERTS from the live server");
}
