//! The alert rules of a model with random slopes and a variance function (issue 19) evaluated
//! by a real Prometheus: the upper bound it records for a proxy must be the one worked out
//! here from the model file's own numbers (a new proxy's reading variance with its own slope's
//! spread, and the level and reading parts scaled by the variance function), and must differ
//! from the straight `s^2` bound, so the test fails if the rules drop either; and past the data
//! the quadratic alternative's bound, as `project` computes it.

use std::fmt::Write as _;
use std::time::{Duration, Instant};

use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;
use rand_distr::{Distribution, Normal};
use statrs::distribution::{ContinuousCDF, StudentsT};

use crate::prometheus_live::start_configured;
use crate::rules_live::{query, rules_config, rules_for};
use crate::util::{meshcap, tempdir, write};

const MI: f64 = 1_048_576.0;
const CLUSTERS: f64 = 3000.0;

/// 12 proxies x 5 levels x 20 readings: slopes sd 12% of 96Ki a port, noise sd growing with
/// memory (sd 1.5% of the mean).
fn fleet() -> String {
    let mut rng = ChaCha8Rng::seed_from_u64(1904);
    let z = Normal::new(0.0, 1.0).unwrap();
    let mut csv = String::from("time,proxy,ports,memory\n");
    for g in 0..12 {
        let slope = 98_304.0 * (1.0 + 0.12 * z.sample(&mut rng));
        let offset = 6.0 * MI * z.sample(&mut rng);
        for (k, ports) in [400.0, 1200.0, 2000.0, 2800.0, 3600.0].iter().enumerate() {
            let mean = 60.0 * MI + offset + slope * ports;
            let level = 0.01 * mean * z.sample(&mut rng);
            for t in 0..20 {
                let memory = mean + level + 0.01 * mean * z.sample(&mut rng);
                writeln!(csv, "{},shop/p{g:02},{ports},{memory:.0}", 1.7e9 + 30.0 * (k * 20 + t) as f64).unwrap();
            }
        }
    }
    csv
}

/// The upper bound at `x` ports from the model file, as `predict_row` defines it.
fn expected(m: &serde_json::Value, x: f64) -> (f64, f64) {
    let f = |v: &serde_json::Value| v.as_f64().unwrap();
    let (b0, b1) = (f(&m["coefficients"][0]["estimate"]), f(&m["coefficients"][1]["estimate"]));
    let s2 = f(&m["residual_std_error"]).powi(2);
    let c = |i: usize, j: usize| f(&m["cov_unscaled"][i][j]);
    let h = s2 * (c(0, 0) + 2.0 * x * c(0, 1) + x * x * c(1, 1));
    let e = &m["errors"];
    let mean = b0 + b1 * x;
    let level = f(&e["sigma_within"]).powi(2) + f(&e["sigma_between"]).powi(2);
    let spread = &e["spread"];
    let factor = (mean / f(&spread["reference_bytes"])).powf(2.0 * f(&spread["power"]));
    let slope = &e["slope"];
    let noise = level * factor
        + f(&e["sigma_group"]).powi(2)
        + 2.0 * x * f(&slope["offset_covariance"])
        + x * x * f(&slope["sd_bytes_per_unit"]).powi(2);
    let t = StudentsT::new(0.0, 1.0, f(&m["dof"])).unwrap().inverse_cdf(f(&m["level"]));
    (mean + t * (h + noise).sqrt(), mean + t * (h + s2).sqrt())
}

#[test]
fn live_prometheus_records_the_slopes_and_spread_bound() {
    let dir = tempdir();
    let data = write(dir.path(), "fleet.csv", &fleet());
    let model_path = dir.path().join("m.json");
    meshcap()
        .args(["fit", "--x", "ports", "--errors", "slopes=proxy", "-o"])
        .arg(&model_path)
        .arg(&data)
        .assert()
        .success();
    let model: serde_json::Value = serde_json::from_str(&std::fs::read_to_string(&model_path).unwrap()).unwrap();
    assert!(model["errors"]["slope"].is_object() && model["errors"]["spread"].is_object(), "{}", model["errors"]);
    let rules_path = rules_for(dir.path(), &model_path);
    let (want, straight) = expected(&model, CLUSTERS);
    assert!((want / straight - 1.0).abs() > 0.01, "slopes and spread must move the bound: {want} vs {straight}");

    let now = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().as_secs() as i64;
    let mut om = String::from("# TYPE envoy_cluster_manager_active_clusters gauge\n");
    for t in (now - 3600..now - 14).step_by(15) {
        writeln!(om, "envoy_cluster_manager_active_clusters{{namespace=\"shop\",pod=\"p\"}} {CLUSTERS} {t}").unwrap();
    }
    om.push_str("# EOF\n");
    let Some(server) = start_configured(dir.path(), &om, &rules_config(&rules_path)) else { return };
    let deadline = Instant::now() + Duration::from_secs(60);
    let mut got = None;
    while Instant::now() < deadline && got.is_none() {
        got = query(&server.url, meshcap::report::rules::UPPER)[0]["value"][1]
            .as_str()
            .and_then(|s| s.parse::<f64>().ok());
        std::thread::sleep(Duration::from_millis(300));
    }
    let got = got.expect("the upper-bound series recorded");
    assert!((got / want - 1.0).abs() < 1e-9, "Prometheus {got} against {want} (straight bound {straight})");
}

#[test]
fn live_prometheus_records_the_quadratic_bound_past_the_data() {
    // The seed model (revisions, 8 clusters each; measured up to 2000 revisions) carries a
    // quadratic alternative. At 24,000 clusters (3000 revisions, 1.5x the data) the recorded
    // bound must be `project`'s (`Bounds::upper`: the larger of the line's and the
    // quadratic's), and not the line's alone; at 8,000 (inside) the line's.
    use meshcap::project::{Bounds, Caution, RevisionPath};
    let dir = tempdir();
    let rules_path = dir.path().join("rules.yaml");
    meshcap().args(["rules", "--push", "none", "-o"]).arg(&rules_path).assert().success();
    let model = meshcap::model::store::load(&crate::util::seed_model()).unwrap();
    let bounds = Bounds::new(&model, RevisionPath::new(&model), Caution::default());
    let mut line_only = model.clone();
    line_only.errors.quadratic = None;
    let line = Bounds::new(&line_only, RevisionPath::new(&line_only), Caution::default());
    let (far, near) = (bounds.upper(3000.0), bounds.upper(1000.0));
    assert!(
        far > line.upper(3000.0) * 1.001,
        "the quadratic must move the bound past the data: {far} vs {}",
        line.upper(3000.0)
    );
    assert_eq!(near, line.upper(1000.0));

    let now = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().as_secs() as i64;
    let mut om = String::from("# TYPE envoy_cluster_manager_active_clusters gauge\n");
    for t in (now - 3600..now - 14).step_by(15) {
        for (pod, clusters) in [("far", 24_000), ("near", 8_000)] {
            writeln!(om, "envoy_cluster_manager_active_clusters{{namespace=\"shop\",pod=\"{pod}\"}} {clusters} {t}")
                .unwrap();
        }
    }
    om.push_str("# EOF\n");
    let Some(server) = start_configured(dir.path(), &om, &rules_config(&rules_path)) else { return };
    let deadline = Instant::now() + Duration::from_secs(60);
    let mut got: Vec<(String, f64)> = Vec::new();
    while Instant::now() < deadline && got.len() < 2 {
        got = query(&server.url, meshcap::report::rules::UPPER)
            .as_array()
            .map(|a| {
                a.iter()
                    .filter_map(|r| {
                        Some((r["metric"]["pod"].as_str()?.to_string(), r["value"][1].as_str()?.parse().ok()?))
                    })
                    .collect()
            })
            .unwrap_or_default();
        std::thread::sleep(Duration::from_millis(300));
    }
    let at = |pod: &str| got.iter().find(|(p, _)| p == pod).map(|(_, v)| *v).expect("both pods recorded");
    assert!((at("far") / far - 1.0).abs() < 1e-9, "past the data: Prometheus {} against {far}", at("far"));
    assert!((at("near") / near - 1.0).abs() < 1e-9, "inside: Prometheus {} against {near}", at("near"));
}
