//! `meshcap fit` and `show` end to end: the seed model, statsmodels agreement, model files.

use crate::util::{close, json, meshcap, seed_data, seed_model, tempdir};

const MI: f64 = 1024.0 * 1024.0;

/// Tolerance against statsmodels: both are exact to far more than this on these
/// well-conditioned data; t-quantile and p-value routines differ in the last digits.
const STATSMODELS_TOL: f64 = 1e-9;

#[test]
fn seed_fit_matches_the_published_summary() {
    let v = json(meshcap().arg("fit").arg(seed_data()).args(["--format", "json"]));
    let per_rev = v["per_revision_bytes"].as_f64().unwrap();
    let per_port = v["per_port_bytes"].as_f64().unwrap();
    let intercept = v["coefficients"][0]["estimate"].as_f64().unwrap();
    assert!((0.70 * MI..0.80 * MI).contains(&per_rev), "per revision {per_rev}");
    assert!((90.0 * 1024.0..102.0 * 1024.0).contains(&per_port), "per port {per_port}");
    assert_eq!(v["per_port_derived"], true);
    assert!((40.0 * MI..60.0 * MI).contains(&intercept), "intercept {intercept}");
    assert!(v["r_squared"].as_f64().unwrap() > 0.99);
    assert_eq!(v["n"], 11, "the OOM row is kept out of the fit");
    assert_eq!(v["dof"], 9);
    assert_eq!(v["oom"][0]["revisions"], 1400.0);
    assert_eq!(v["oom"][0]["last_good_revisions"], 1200.0);
    assert_eq!(v["oom"][0]["limit_bytes"], 1024.0 * MI);
}

#[test]
fn seed_fit_matches_statsmodels() {
    // statsmodels 0.15 OLS on the seed data without the OOM row
    // (benches/ref/statsmodels_reference.py, section 2).
    let v = json(meshcap().arg("fit").arg(seed_data()).args(["--format", "json"]));
    let c = &v["coefficients"];
    close("b0", c[0]["estimate"].as_f64().unwrap(), 53143738.18181819, STATSMODELS_TOL);
    close("b1", c[1]["estimate"].as_f64().unwrap(), 785907.7119999998, STATSMODELS_TOL);
    close("se0", c[0]["std_error"].as_f64().unwrap(), 1.7248456999663603e+06, STATSMODELS_TOL);
    close("se1", c[1]["std_error"].as_f64().unwrap(), 1.4577606820767562e+03, STATSMODELS_TOL);
}

#[test]
fn mixed_fit_matches_statsmodels() {
    // statsmodels 0.15 OLS memory ~ 1 + revisions + ports on tests/fixtures/mixed.csv
    // (benches/ref/statsmodels_reference.py, section 1).
    let data = crate::util::root().join("tests/fixtures/mixed.csv");
    let v = json(meshcap().arg("fit").arg(&data).args(["--format", "json"]));
    let params = [58895153.23310985, -60551.883717015386, 95318.49302666122];
    let bse = [1233496.4426033276, 105544.5741672448, 12549.200771926791];
    let t = [47.74651243323413, -0.5737091100587086, 7.595582759333455];
    let p = [3.885040884033184e-12, 5.802164945051227e-01, 3.341970864599969e-05];
    let lo = [56104790.42018862, -299310.2981639346, 66930.22861305426];
    let hi = [61685516.04603107, 178206.53072990384, 123706.75744026818];
    let names = ["intercept", "revisions", "ports"];
    for k in 0..3 {
        let c = &v["coefficients"][k];
        assert_eq!(c["name"], names[k]);
        close("estimate", c["estimate"].as_f64().unwrap(), params[k], STATSMODELS_TOL);
        close("std_error", c["std_error"].as_f64().unwrap(), bse[k], STATSMODELS_TOL);
        close("t", c["t"].as_f64().unwrap(), t[k], STATSMODELS_TOL);
        close("p", c["p"].as_f64().unwrap(), p[k], 1e-6);
        close("ci_low", c["ci_low"].as_f64().unwrap(), lo[k], STATSMODELS_TOL);
        close("ci_high", c["ci_high"].as_f64().unwrap(), hi[k], STATSMODELS_TOL);
    }
    close("r2", v["r_squared"].as_f64().unwrap(), 0.9996373335534757, 1e-12);
    close("adj r2", v["adj_r_squared"].as_f64().unwrap(), 0.9995567410098036, 1e-12);
    close("F", v["f_statistic"].as_f64().unwrap(), 12403.595767135266, STATSMODELS_TOL);
    close("p(F)", v["f_p_value"].as_f64().unwrap(), 3.2944520934156653e-16, 1e-6);
    close("sigma", v["residual_std_error"].as_f64().unwrap(), 2250952.3383652726, STATSMODELS_TOL);
    close("cond", v["condition_number"].as_f64().unwrap(), 4194.434293934139, 1e-6);
    // Both fitted: per-port is the ports coefficient, per revision adds 8 ports' worth.
    assert_eq!(v["per_port_derived"], false);
    close("per port", v["per_port_bytes"].as_f64().unwrap(), params[2], STATSMODELS_TOL);
    close("per rev", v["per_revision_bytes"].as_f64().unwrap(), params[1] + 8.0 * params[2], 1e-9);
}

#[test]
fn committed_seed_model_equals_a_fresh_fit() {
    let dir = tempdir();
    let out = dir.path().join("fresh.json");
    meshcap().args(["fit", "data/knative-1.11-istio-1.18.csv", "-o"]).arg(&out).assert().success();
    let fresh = std::fs::read_to_string(&out).unwrap();
    let committed = std::fs::read_to_string(seed_model()).unwrap();
    assert_eq!(
        fresh, committed,
        "refit with: meshcap fit data/knative-1.11-istio-1.18.csv -o models/knative-1.11-istio-1.18.json"
    );
}

#[test]
fn show_prints_the_summary_and_oom() {
    let out = meshcap().arg("show").arg(seed_model()).assert().success().get_output().stdout.clone();
    let text = String::from_utf8(out).unwrap();
    for want in ["OLS: memory ~ 1 + revisions", "per endpoint port", "derived: 8 ports per revision", "OOMKilled", "R²"]
    {
        assert!(text.contains(want), "missing {want:?} in\n{text}");
    }
}

#[test]
fn ports_per_revision_changes_the_derived_figure() {
    let v8 = json(meshcap().arg("fit").arg(seed_data()).args(["--format", "json"]));
    let v7 = json(meshcap().arg("fit").arg(seed_data()).args(["--format", "json", "--ports-per-revision", "7"]));
    let r = v8["per_port_bytes"].as_f64().unwrap() / v7["per_port_bytes"].as_f64().unwrap();
    close("8/7 ratio", r, 7.0 / 8.0, 1e-12);
}

#[test]
fn default_predictors_drop_a_collinear_ports_column_with_a_note() {
    let dir = tempdir();
    let csv = "revisions,ports,memory\n0,0,50Mi\n100,800,126Mi\n200,1600,199Mi\n300,2400,276Mi\n";
    let p = crate::util::write(dir.path(), "c.csv", csv);
    let v = json(meshcap().arg("fit").arg(&p).args(["--format", "json"]));
    assert_eq!(v["terms"].as_array().unwrap().len(), 1);
    assert!(v["notes"].to_string().contains("ports left out"), "{}", v["notes"]);
}

#[test]
fn polynomial_terms_and_no_intercept() {
    let dir = tempdir();
    // y = 2 x + 3 x^2 exactly, plus tiny deterministic scatter.
    let mut csv = String::from("x,y\n");
    for i in 1..=12 {
        let x = i as f64;
        let e = if i % 2 == 0 { 0.01 } else { -0.01 };
        csv.push_str(&format!("{x},{}\n", 2.0 * x + 3.0 * x * x + e));
    }
    let p = crate::util::write(dir.path(), "poly.csv", &csv);
    let v = json(meshcap().arg("fit").arg(&p).args(["--x", "x,x^2", "--y", "y", "--no-intercept", "--format", "json"]));
    let c = &v["coefficients"];
    assert_eq!(c.as_array().unwrap().len(), 2);
    assert_eq!(c[1]["name"], "x^2");
    assert!((c[0]["estimate"].as_f64().unwrap() - 2.0).abs() < 0.01);
    assert!((c[1]["estimate"].as_f64().unwrap() - 3.0).abs() < 0.001);
}

#[test]
fn json_series_gives_the_same_fit_as_csv() {
    let dir = tempdir();
    let json_text = r#"{"observations": [
        {"revisions": 0, "memory": "52Mi"}, {"revisions": 200, "memory": "198Mi"},
        {"revisions": 400, "memory": 370147328}, {"revisions": 600, "memory": "497Mi"},
        {"revisions": 700, "event": "oom", "limit": "512Mi"}]}"#;
    let csv_text = "revisions,memory,event,limit\n0,52Mi,,\n200,198Mi,,\n400,353Mi,,\n600,497Mi,,\n700,,oom,512Mi\n";
    let pj = crate::util::write(dir.path(), "s.json", json_text);
    let pc = crate::util::write(dir.path(), "s.csv", csv_text);
    let vj = json(meshcap().arg("fit").arg(&pj).args(["--format", "json"]));
    let vc = json(meshcap().arg("fit").arg(&pc).args(["--format", "json"]));
    assert_eq!(vj["coefficients"], vc["coefficients"]);
    assert_eq!(vj["oom"][0]["revisions"], 700.0);
}

#[test]
fn per_revision_memory_counts_every_predictor_a_revision_moves() {
    // Revisions, ports and services vary independently; a revision adds 8 ports and 2 Services.
    let dir = tempdir();
    let mut csv = String::from("revisions,ports,services,memory\n");
    for i in 0..30u32 {
        let (r, p, s) = (f64::from(i * 37 % 101), f64::from(i * 53 % 89) * 9.0, f64::from(i * 29 % 83) * 3.0);
        let noise = f64::from(i % 5) * 1000.0 - 2000.0;
        csv.push_str(&format!("{r},{p},{s},{}\n", 5e7 + 1e5 * r + 9e4 * p + 2e4 * s + noise));
    }
    let data = crate::util::write(dir.path(), "three.csv", &csv);
    let model = dir.path().join("m.json");
    let v = json(meshcap().arg("fit").arg(&data).args(["--format", "json", "-o"]).arg(&model));
    let b = |k: usize| v["coefficients"][k]["estimate"].as_f64().unwrap();
    let per_rev = v["per_revision_bytes"].as_f64().unwrap();
    close("per revision", per_rev, b(1) + 8.0 * b(2) + 2.0 * b(3), 1e-12);
    // The projections move along the same path: whatif's slope is the per-revision figure.
    let at = |r: &str| {
        json(meshcap().args(["whatif", "--format", "json", "--revisions", r, "--model"]).arg(&model))["steady_bytes"]
            .as_f64()
            .unwrap()
    };
    close("whatif slope", (at("1000") - at("0")) / 1000.0, per_rev, 1e-9);
}
