//! `safe`, `whatif`, `limit` and `scope` end to end, checked against statsmodels, a brute-force
//! scan of the prediction band, and hand-worked cases.

use statrs::distribution::{ContinuousCDF, StudentsT};

use crate::util::{close, json, meshcap, root, seed_model, tempdir, write};

const MI: f64 = 1024.0 * 1024.0;
const GI: f64 = 1024.0 * MI;

fn safe(extra: &[&str]) -> serde_json::Value {
    // Steady state: these tests check the statistics against statsmodels and scans; the push
    // allowance has its own tests (tests/push.rs).
    json(meshcap().args(["safe", "--push", "none", "--model"]).arg(seed_model()).args(extra).args(["--format", "json"]))
}

#[test]
fn seed_crossing_at_1gi_falls_inside_the_observed_oom_bracket() {
    let v = safe(&["--limit", "1Gi", "--limit", "2Gi"]);
    let l = &v["limits"][0];
    assert_eq!(l["limit_bytes"], GI);
    let crossing = l["crossing_revisions"].as_f64().unwrap();
    assert!((1200.0..=1400.0).contains(&crossing), "crossing {crossing}");
    let [lo, hi] = [l["crossing_interval"][0].as_f64().unwrap(), l["crossing_interval"][1].as_f64().unwrap()];
    assert!(lo < crossing && crossing < hi && lo >= 1200.0 && hi <= 1400.0, "[{lo}, {hi}]");
    let safe = l["safe_revisions"].as_u64().unwrap() as f64;
    assert!(safe < crossing && safe > 1100.0, "safe {safe}");
    assert_eq!(l["safe_ports"].as_f64().unwrap(), safe * 8.0);
    assert_eq!(l["oom_check"][0]["consistent"], true);
    let l2 = &v["limits"][1];
    assert!(l2["crossing_revisions"].as_f64().unwrap() > 2.0 * crossing * 0.95);
    assert_eq!(l2["extrapolated"], true);
}

/// The model's band at r, computed here from the model file alone.
fn band(model: &serde_json::Value, r: f64, q: f64) -> (f64, f64, f64, f64) {
    let b0 = model["coefficients"][0]["estimate"].as_f64().unwrap();
    let b1 = model["coefficients"][1]["estimate"].as_f64().unwrap();
    let c = &model["cov_unscaled"];
    let cij = |i: usize, j: usize| c[i][j].as_f64().unwrap();
    let s = model["residual_std_error"].as_f64().unwrap();
    let dof = model["dof"].as_f64().unwrap();
    let h = cij(0, 0) + 2.0 * r * cij(0, 1) + r * r * cij(1, 1);
    let t = StudentsT::new(0.0, 1.0, dof).unwrap().inverse_cdf(q);
    let mean = b0 + b1 * r;
    (mean, s * h.sqrt(), s * (1.0 + h).sqrt(), t)
}

/// Past the largest measured count, the quadratic alternative's (mean, se_obs, t at q), from
/// the model file alone (issue 19 §4: bounds there are the larger of the line's and its).
fn quad_band(model: &serde_json::Value, r: f64, q: f64) -> Option<(f64, f64, f64)> {
    let quad = &model["errors"]["quadratic"];
    let max = model["ranges"][0]["max"].as_f64().unwrap();
    if !quad.is_object() || r <= max {
        return None;
    }
    let x = [1.0, r, r * r];
    let b: Vec<f64> = (0..3).map(|k| quad["coefficients"][k].as_f64().unwrap()).collect();
    let cov = |i: usize, j: usize| quad["cov"][i][j].as_f64().unwrap();
    let mean = (0..3).map(|k| x[k] * b[k]).sum::<f64>();
    let var = (0..3).flat_map(|i| (0..3).map(move |j| (i, j))).map(|(i, j)| x[i] * cov(i, j) * x[j]).sum::<f64>();
    let s = quad["sigma_obs"].as_f64().unwrap();
    let t = StudentsT::new(0.0, 1.0, quad["dof"].as_f64().unwrap()).unwrap().inverse_cdf(q);
    Some((mean, (var + s * s).sqrt(), t))
}

#[test]
fn crossing_interval_and_safe_count_match_a_brute_force_scan() {
    let model: serde_json::Value = serde_json::from_str(&std::fs::read_to_string(seed_model()).unwrap()).unwrap();
    for (limit, headroom) in [(GI, 0.0), (512.0 * MI, 0.2), (2.0 * GI, 0.1)] {
        let v = safe(&["--limit", &format!("{}", limit as u64), "--headroom", &format!("{headroom}")]);
        let l = &v["limits"][0];
        let (mut first_hi, mut first_lo, mut last_safe) = (None, None, None);
        let mut i: u64 = 0;
        while i < 400_000 && (first_lo.is_none() || last_safe.is_none()) {
            let r = i as f64 / 100.0;
            let (m, _, se, t2) = band(&model, r, 0.975);
            let (_, _, _, t1) = band(&model, r, 0.95);
            let (mut hi, mut lo, mut up) = (m + t2 * se, m - t2 * se, m + t1 * se);
            if let (Some((qm, qse, qt2)), Some((_, _, qt1))) = (quad_band(&model, r, 0.975), quad_band(&model, r, 0.95))
            {
                (hi, lo, up) = (hi.max(qm + qt2 * qse), lo.min(qm - qt2 * qse), up.max(qm + qt1 * qse));
            }
            if first_hi.is_none() && hi >= limit {
                first_hi = Some(r);
            }
            if first_lo.is_none() && lo >= limit {
                first_lo = Some(r);
            }
            if last_safe.is_none() && i.is_multiple_of(100) && up > limit * (1.0 - headroom) {
                last_safe = Some(r - 1.0);
            }
            i += 1;
        }
        let got_lo = l["crossing_interval"][0].as_f64().unwrap();
        let got_hi = l["crossing_interval"][1].as_f64().unwrap();
        assert!((got_lo - first_hi.unwrap()).abs() <= 0.011, "{limit}: lo {got_lo} vs scan {first_hi:?}");
        assert!((got_hi - first_lo.unwrap()).abs() <= 0.011, "{limit}: hi {got_hi} vs scan {first_lo:?}");
        assert_eq!(l["safe_revisions"].as_f64().unwrap(), last_safe.unwrap(), "{limit} headroom {headroom}");
    }
}

#[test]
fn whatif_matches_statsmodels_get_prediction() {
    // statsmodels 0.15 OLS(...).get_prediction(...).summary_frame(alpha=0.05) on the seed data,
    // p_exceed = scipy t.sf((1Gi - mean) / sqrt(mean_se^2 + scale), df_resid)
    // (benches/ref/statsmodels_reference.py, section 2).
    let cases = [
        (
            500.0,
            [
                446097594.1818181,
                443438916.5303303,
                448756271.83330595,
                438686971.5966025,
                453508216.76703376,
                7.31089795215345e-18,
            ],
        ),
        (
            1300.0,
            [
                1074823763.781818,
                1072515385.1437941,
                1077132142.4198418,
                1067531482.096195,
                1082116045.4674408,
                0.6275797681278228,
            ],
        ),
    ];
    for (rev, want) in cases {
        let v = json(meshcap().args([
            "whatif",
            "--push",
            "none",
            "--revisions",
            &rev.to_string(),
            "--limit",
            "1Gi",
            "--format",
            "json",
        ]));
        close("mean", v["predicted_bytes"].as_f64().unwrap(), want[0], 1e-12);
        close("mean ci lo", v["mean_interval"][0].as_f64().unwrap(), want[1], 1e-10);
        close("mean ci hi", v["mean_interval"][1].as_f64().unwrap(), want[2], 1e-10);
        close("obs ci lo", v["prediction_interval"][0].as_f64().unwrap(), want[3], 1e-10);
        close("obs ci hi", v["prediction_interval"][1].as_f64().unwrap(), want[4], 1e-10);
        close("p_exceed", v["p_exceed"].as_f64().unwrap(), want[5], 1e-6);
    }
    let over = json(meshcap().args(["whatif", "--revisions", "1300", "--limit", "1Gi", "--format", "json"]));
    assert_eq!(over["verdict"], "over-limit");
    let fine = json(meshcap().args(["whatif", "--ports", "4000", "--limit", "1Gi", "--format", "json"]));
    assert_eq!(fine["revisions"], 500.0, "4000 ports are 500 revisions at 8 ports each");
    assert_eq!(fine["verdict"], "safe");
}

#[test]
fn limit_is_the_smallest_whole_mi_that_is_safe() {
    // `limit` and `safe` agree at steady state and with the push allowance.
    for push in ["none", "full", "delta"] {
        let v = json(meshcap().args([
            "limit",
            "--revisions",
            "1000",
            "--headroom",
            "10%",
            "--format",
            "json",
            "--push",
            push,
        ]));
        let limit = v["limit_bytes"].as_f64().unwrap();
        assert_eq!(limit % MI, 0.0);
        let mib = (limit / MI) as u64;
        assert_eq!(v["annotation"], format!("sidecar.istio.io/proxyMemoryLimit: \"{mib}Mi\""));
        let safe = |mib: u64| {
            let v = json(
                meshcap()
                    .args(["safe", "--format", "json", "--headroom", "10%", "--push", push])
                    .arg(format!("--limit={mib}Mi")),
            );
            v["limits"][0]["safe_revisions"].as_u64().unwrap()
        };
        assert!(safe(mib) >= 1000, "{push}");
        assert!(safe(mib - 1) < 1000, "{push}");
    }
}

#[test]
fn headroom_is_the_same_as_a_smaller_limit() {
    let h = safe(&["--limit", "1Gi", "--headroom", "20%"]);
    let l = safe(&["--limit", &format!("{}", (0.8 * GI) as u64)]);
    let h0 = safe(&["--limit", "1Gi"]);
    assert_eq!(h["limits"][0]["safe_revisions"], l["limits"][0]["safe_revisions"]);
    assert!(h["limits"][0]["safe_revisions"].as_u64() < h0["limits"][0]["safe_revisions"].as_u64());
    // Transient 1.5 shrinks the safe count too.
    let t = safe(&["--limit", "1Gi", "--transient", "1.5"]);
    assert!(t["limits"][0]["safe_revisions"].as_u64().unwrap() < 900);
}

#[test]
fn limit_below_the_idle_baseline_is_never_safe() {
    let v = safe(&["--limit", "32Mi"]);
    let l = &v["limits"][0];
    assert!(l["safe_revisions"].is_null());
    assert!(l["crossing_revisions"].is_null());
    assert!(l["note"].as_str().unwrap().contains("never safe"), "{}", l["note"]);
}

#[test]
fn a_flat_or_falling_series_never_crosses() {
    let dir = tempdir();
    let data =
        write(dir.path(), "falling.csv", "revisions,memory\n0,300Mi\n100,290Mi\n200,281Mi\n300,270Mi\n400,262Mi\n");
    let model = dir.path().join("m.json");
    meshcap().arg("fit").arg(&data).arg("-o").arg(&model).assert().success();
    let v = json(meshcap().arg("safe").arg("--model").arg(&model).args(["--limit", "1Gi", "--format", "json"]));
    let l = &v["limits"][0];
    assert!(l["crossing_revisions"].is_null() && l["safe_revisions"].is_null());
    assert!(l["note"].as_str().unwrap().contains("never reaches"), "{}", l["note"]);
    assert!(l["crossing_interval"][1].is_null());
}

#[test]
fn an_insignificant_slope_gives_an_unbounded_interval() {
    let dir = tempdir();
    // Slope tiny against the scatter: the lower band never reaches the limit.
    let data = write(dir.path(), "noisy.csv", "revisions,memory\n0,100Mi\n10,300Mi\n20,90Mi\n30,310Mi\n40,105Mi\n");
    let model = dir.path().join("m.json");
    meshcap().arg("fit").arg(&data).arg("-o").arg(&model).assert().success();
    let v = json(meshcap().arg("safe").arg("--model").arg(&model).args(["--limit", "1Gi", "--format", "json"]));
    assert!(v["limits"][0]["crossing_interval"][1].is_null());
    assert!(v["limits"][0]["note"].as_str().unwrap().contains("unbounded"));
}

#[test]
fn namespace_scope_saves_memory_but_not_on_gateways() {
    let v = json(meshcap().args([
        "scope",
        "--scope",
        "mesh",
        "--scope",
        "namespace",
        "--limit",
        "512Mi",
        "--format",
        "json",
    ]));
    let mesh = &v["scopes"][0]["namespaces"];
    let ns = &v["scopes"][1]["namespaces"];
    assert_eq!(v["scopes"][1]["scope"], "namespace");
    let mut gateways = 0;
    for (m, n) in mesh.as_array().unwrap().iter().zip(ns.as_array().unwrap()) {
        assert_eq!(m["namespace"], n["namespace"]);
        if n["kind"] == "gateway" {
            gateways += 1;
            assert_eq!(m["visible_revisions"], n["visible_revisions"], "Sidecar CRs do not scope gateways");
        } else {
            assert!(n["visible_revisions"].as_f64() < m["visible_revisions"].as_f64());
            assert!(n["saving_percent"].as_f64().unwrap() > 10.0);
        }
        for key in ["visible_clusters", "visible_endpoints", "predicted_bytes", "margin_bytes", "revision_budget"] {
            assert!(!n[key].is_null(), "{key}");
        }
    }
    assert_eq!(gateways, 1, "knative-local-gateway and istio-ingressgateway are one Envoy");
    // ml exports only to itself: under mesh scope it sees every revision, others do not see its 252.
    let ml = mesh.as_array().unwrap().iter().find(|n| n["namespace"] == "ml").unwrap();
    let shop = mesh.as_array().unwrap().iter().find(|n| n["namespace"] == "shop").unwrap();
    assert_eq!(ml["visible_revisions"].as_f64().unwrap() - shop["visible_revisions"].as_f64().unwrap(), 252.0);
    assert!(ml["margin_bytes"].as_f64().unwrap() < 0.0, "ml is over 512Mi unscoped");
}

#[test]
fn emit_sidecar_writes_one_cr_per_sidecar_namespace() {
    let emit = |extra: &[&str]| {
        let out = meshcap()
            .args(["scope", "--scope", "namespace", "--emit-sidecar"])
            .args(extra)
            .assert()
            .success()
            .get_output()
            .stdout
            .clone();
        String::from_utf8(out).unwrap()
    };
    let yaml = emit(&[]);
    // The example topology names Istio 1.18.2, whose Sidecar CRD serves v1alpha3 and v1beta1
    // only (istio/istio manifests/charts/base/crds/crd-all.gen.yaml at 1.18.0): v1 is refused.
    assert_eq!(yaml.matches("apiVersion: networking.istio.io/v1beta1\nkind: Sidecar").count(), 4);
    assert!(!yaml.contains("networking.istio.io/v1\n"), "{yaml}");
    // Read back with a YAML library: four documents, each with the namespace scope's hosts.
    let docs = yaml_documents(&yaml);
    let namespaces: Vec<&str> = docs.iter().map(|d| d["metadata"]["namespace"].as_str().unwrap()).collect();
    assert_eq!(namespaces, ["shop", "payments", "search", "ml"]);
    for d in &docs {
        assert_eq!(d["spec"]["egress"][0]["hosts"], serde_yaml::to_value(["./*", "istio-system/*"]).unwrap());
    }
    // From Istio 1.22 the CRD serves v1.
    let yaml = emit(&["--istio-version", "1.22.0"]);
    assert_eq!(yaml.matches("apiVersion: networking.istio.io/v1\nkind: Sidecar").count(), 4, "{yaml}");
}

#[test]
fn projection_bad_input_exits_2_with_one_line() {
    let dir = tempdir();
    let model =
        std::fs::read_to_string(seed_model()).unwrap().replacen("\"schema_version\": 2", "\"schema_version\": 3", 1);
    let old = write(dir.path(), "old.json", &model);
    let cases: Vec<(Vec<String>, &str)> = vec![
        (vec!["safe".into(), "--limit".into(), "1GB".into()], "\"1GB\""),
        // Issue 13 §3: a limit under 1Mi (no unit) or past 1Ei was taken as is.
        (vec!["safe".into(), "--limit".into(), "512".into()], "from 1Mi to 1Ei"),
        (vec!["whatif".into(), "--revisions".into(), "5".into(), "--limit".into(), "1e300".into()], "from 1Mi to 1Ei"),
        (vec!["safe".into(), "--limit".into(), "1Gi".into(), "--headroom".into(), "100%".into()], "100%"),
        (vec!["safe".into(), "--limit".into(), "1Gi".into(), "--headroom=-5%".into()], "-5%"),
        (vec!["safe".into(), "--limit".into(), "1Gi".into(), "--level".into(), "1".into()], "level"),
        (
            vec!["safe".into(), "--limit".into(), "1Gi".into(), "--model".into(), old.display().to_string()],
            "schema version 3",
        ),
        (vec!["whatif".into(), "--revisions=-3".into()], "\"-3\""),
        (vec!["whatif".into(), "--revisions".into(), "lots".into()], "\"lots\""),
        (vec!["whatif".into(), "--set".into(), "pods=3".into()], "no predictor \"pods\""),
        (vec!["limit".into(), "--revisions".into(), "NaN".into()], "\"NaN\""),
        (vec!["scope".into(), "--scope".into(), "hosts=nowhere/*".into()], "namespace \"nowhere\""),
        (vec!["scope".into(), "--scope".into(), "everything".into()], "\"everything\""),
        (vec!["scope".into(), "--scope".into(), "nowhere=namespace".into()], "does not list it"),
        (vec!["scope".into(), "--scope".into(), "monitoring=namespace".into()], "no sidecars"),
        (
            vec!["scope".into(), "--scope".into(), "shop=mesh".into(), "--scope".into(), "shop=namespace".into()],
            "two scopes",
        ),
    ];
    for (args, want) in cases {
        let out = meshcap().args(&args).assert().code(2).get_output().clone();
        let err = String::from_utf8(out.stderr).unwrap();
        assert!(err.contains(want), "{args:?}: {want:?} not in {err}");
        assert!(!err.contains("panicked"));
        let lines = err
            .lines()
            .filter(|l| !l.trim().is_empty() && !l.starts_with("Usage") && !l.starts_with("For more"))
            .count();
        assert_eq!(lines, 1, "{args:?}: {err}");
    }
}

#[test]
fn bad_topology_names_file_and_line() {
    let dir = tempdir();
    let t = write(
        dir.path(),
        "t.toml",
        "[[namespaces]]\nname = \"a\"\nsidecars = true\nknative = [{ name = \"x\", revisions = -1 }]\n",
    );
    let out = meshcap().arg("scope").arg("--topology").arg(&t).assert().code(2).get_output().clone();
    let err = String::from_utf8(out.stderr).unwrap();
    assert!(err.contains("t.toml:4"), "{err}");
    let t = write(dir.path(), "u.toml", "[[namespaces]]\nname = \"a\"\ncolour = \"red\"\n");
    let err = String::from_utf8(
        meshcap().arg("scope").arg("--topology").arg(&t).assert().code(2).get_output().stderr.clone(),
    )
    .unwrap();
    assert!(err.contains("colour") && err.contains("u.toml:3"), "{err}");
}

#[test]
fn extreme_values_are_refused_not_panicked_or_hung() {
    let dir = tempdir();
    let model = std::fs::read_to_string(seed_model()).unwrap();
    let negative =
        write(dir.path(), "neg.json", &model.replacen("\"residual_std_error\": ", "\"residual_std_error\": -", 1));
    let no_ports =
        write(dir.path(), "ppr.json", &model.replacen("\"ports_per_revision\": 8.0", "\"ports_per_revision\": 0.0", 1));
    let cases: Vec<(Vec<String>, &str)> = vec![
        (vec!["safe".into(), "--limit".into(), "1Gi".into(), "--level".into(), "0.05".into()], "not an alpha"),
        (vec!["safe".into(), "--limit".into(), "1Gi".into(), "--level".into(), "1e-300".into()], "level"),
        (vec!["whatif".into(), "--revisions".into(), "1e308".into(), "--limit".into(), "1Gi".into()], "10^12"),
        (vec!["limit".into(), "--revisions".into(), "1e20".into()], "10^12"),
        (
            vec!["limit".into(), "--revisions".into(), "100".into(), "--model".into(), negative.display().to_string()],
            "residual_std_error",
        ),
        (vec!["scope".into(), "--model".into(), no_ports.display().to_string()], "ports_per_revision"),
    ];
    for (args, want) in cases {
        let out =
            meshcap().args(&args).timeout(std::time::Duration::from_secs(20)).assert().code(2).get_output().clone();
        let err = String::from_utf8(out.stderr).unwrap();
        assert!(err.contains(want) && !err.contains("panicked"), "{args:?}: {want:?} not in {err}");
        assert_eq!(err.trim_end().lines().count(), 1, "{args:?}: {err}");
    }
    // A huge limit crosses beyond the search range: said so, not blamed on the slope.
    let v = safe(&["--limit", "1Ei"]);
    assert!(v["limits"][0]["note"].as_str().unwrap().contains("search range"));
}

#[test]
fn whatif_reports_what_it_holds_and_refuses_conflicting_flags() {
    // Issue 13 §3: `--set ports=N` reported 0 ports, `--set revisions=5 --revisions 10` silently
    // took 5, and columns held at their mean went unmentioned.
    let dir = tempdir();
    let model = dir.path().join("mixed.json");
    meshcap().args(["fit", "tests/fixtures/mixed.csv", "-o"]).arg(&model).assert().success();
    let v = json(meshcap().args(["whatif", "--set", "ports=800", "--format", "json", "--model"]).arg(&model));
    assert_eq!(v["ports"], 800.0);
    let out =
        meshcap().args(["whatif", "--set", "revisions=5", "--revisions", "10"]).assert().code(2).get_output().clone();
    let err = String::from_utf8(out.stderr).unwrap();
    assert!(err.contains("conflicts with --revisions") && err.trim().lines().count() == 1, "{err}");
    let data = write(
        dir.path(),
        "ep.csv",
        "revisions,endpoints,memory\n0,10,50Mi\n100,40,130Mi\n200,20,205Mi\n300,70,290Mi\n400,30,360Mi\n500,90,445Mi\n",
    );
    let m = dir.path().join("ep.json");
    meshcap().arg("fit").arg(&data).args(["--x", "revisions,endpoints", "-o"]).arg(&m).assert().success();
    let out = meshcap()
        .args(["whatif", "--revisions", "300", "--model"])
        .arg(&m)
        .assert()
        .success()
        .get_output()
        .stdout
        .clone();
    // Mean of 10, 40, 20, 70, 30, 90 written by hand: 260 / 6.
    let text = String::from_utf8(out).unwrap();
    assert!(text.contains("held at the fitted mean") && text.contains("endpoints = 43.33"), "{text}");
}

#[test]
fn limit_requests_the_steady_memory_at_the_target_and_never_more_than_the_limit() {
    // Issue 11 §6 / issue 13 §3. By hand from the statsmodels fit of the seed (tests/fit.rs):
    // 53143738.18 + 785907.712 x 2000 = 1624959162 bytes = 1549.7Mi, so 1550Mi.
    let v = json(meshcap().args(["limit", "--revisions", "2000", "--transient", "1.5", "--format", "json"]));
    assert_eq!(v["request_bytes"], 1550.0 * 1048576.0);
    // A falling fit: the steady memory at 100 revisions sits under the idle baseline, and the
    // request stays at or below the limit.
    let dir = tempdir();
    let data = write(dir.path(), "neg.csv", "revisions,memory\n0,300Mi\n100,290Mi\n200,282Mi\n300,270Mi\n400,262Mi\n");
    let m = dir.path().join("neg.json");
    meshcap().arg("fit").arg(&data).arg("-o").arg(&m).assert().success();
    let v = json(meshcap().args(["limit", "--revisions", "100", "--format", "json", "--model"]).arg(&m));
    assert!(v["request_bytes"].as_f64().unwrap() <= v["limit_bytes"].as_f64().unwrap(), "{v}");
}

#[test]
fn safe_says_unbounded_in_the_table_when_the_note_does() {
    // Issue 13 §3: a falling fit printed "safe revisions none" beside "safe count unbounded".
    let dir = tempdir();
    let data = write(dir.path(), "neg.csv", "revisions,memory\n0,300Mi\n100,290Mi\n200,282Mi\n300,270Mi\n400,262Mi\n");
    let m = dir.path().join("neg.json");
    meshcap().arg("fit").arg(&data).arg("-o").arg(&m).assert().success();
    let out =
        meshcap().args(["safe", "--limit", "512Mi", "--model"]).arg(&m).assert().success().get_output().stdout.clone();
    let text = String::from_utf8(out).unwrap();
    let row = text.lines().find(|l| l.trim_start().starts_with("512Mi")).unwrap();
    // Two ends of the crossing interval and the four safe columns (with the push, steady).
    assert_eq!(row.matches("unbounded").count(), 6, "{text}");
    assert!(text.contains("safe count unbounded"));
    let v = json(meshcap().args(["safe", "--limit", "512Mi", "--format", "json", "--model"]).arg(&m));
    assert_eq!(v["limits"][0]["safe_unbounded"], true);
    assert!(v["limits"][0]["safe_revisions"].is_null());
}

/// Knative's activator, in mesh mode, sends to every revision's private Service ClusterIP
/// (knative/serving `pkg/activator/net/revision_backends.go`, `checkDests` -> `getDest`, at
/// knative-v1.11.0): with knative-serving injected, `scope` shows it unscoped under every
/// scope, with a note; `--emit-sidecar` writes none for it; an override naming it is refused.
/// Per-namespace overrides apply in each compared scope. Hand counts on the example topology:
/// the 19 Knative services exported everywhere hold 495 revisions (shop 228, payments 105,
/// search 162); ml's 12 x 21 = 252 are exported to ml and istio-system only.
#[test]
fn the_activator_is_never_scoped_and_namespaces_take_their_own_scope() {
    let dir = tempdir();
    let example = std::fs::read_to_string(root().join("data/topology-example.toml")).unwrap();
    let injected =
        example.replace("name = \"knative-serving\"\nsidecars = false", "name = \"knative-serving\"\nsidecars = true");
    let t = write(dir.path(), "t.toml", &injected);
    let scope = ["scope", "--format", "json", "--scope", "mesh", "--scope", "namespace", "--scope", "shop=mesh"];
    let v = json(meshcap().args(scope).arg("--topology").arg(&t));
    let scopes = v["scopes"].as_array().unwrap();
    let names: Vec<&str> = scopes.iter().map(|s| s["scope"].as_str().unwrap()).collect();
    assert_eq!(names, ["mesh; shop=mesh", "namespace; shop=mesh"]);
    let proxy = |s: usize, name: &str| {
        scopes[s]["namespaces"].as_array().unwrap().iter().find(|p| p["namespace"] == name).unwrap().clone()
    };
    for s in 0..2 {
        let a = proxy(s, "knative-serving");
        assert_eq!((a["kind"].as_str(), a["visible_revisions"].as_f64()), (Some("infrastructure"), Some(495.0)));
        assert!(a["note"].as_str().unwrap().contains("revision_backends.go"));
        assert_eq!(proxy(s, "shop")["visible_revisions"].as_f64(), Some(495.0), "shop=mesh in both");
    }
    assert_eq!(proxy(1, "knative-serving")["saving_percent"].as_f64(), Some(0.0));
    assert_eq!(proxy(1, "payments")["visible_revisions"].as_f64(), Some(105.0));
    assert_eq!(proxy(1, "ml")["visible_revisions"].as_f64(), Some(252.0));
    // The table says why in a line.
    let table = meshcap().args(["scope", "--topology"]).arg(&t).assert().success().get_output().stdout.clone();
    let table = String::from_utf8(table).unwrap();
    assert!(
        table.contains("knative-serving (infrastructure)") && table.contains("no Sidecar is emitted for it"),
        "{table}"
    );
    // No Sidecar for it; one per other scoped namespace, shop left at mesh.
    let yaml = meshcap()
        .args(["scope", "--scope", "namespace", "--scope", "shop=mesh", "--emit-sidecar", "--topology"])
        .arg(&t)
        .assert()
        .success()
        .get_output()
        .stdout
        .clone();
    let docs = yaml_documents(std::str::from_utf8(&yaml).unwrap());
    let namespaces: Vec<&str> = docs.iter().map(|d| d["metadata"]["namespace"].as_str().unwrap()).collect();
    assert_eq!(namespaces, ["payments", "search", "ml"]);
    let err = meshcap()
        .args(["scope", "--scope", "knative-serving=namespace", "--topology"])
        .arg(&t)
        .assert()
        .code(2)
        .get_output()
        .stderr
        .clone();
    let err = String::from_utf8(err).unwrap();
    assert!(
        err.contains("knative-serving") && err.contains("mesh infrastructure") && err.trim().lines().count() == 1,
        "{err}"
    );
}

/// Every document of a multi-document YAML text, as the YAML library reads it.
fn yaml_documents(text: &str) -> Vec<serde_yaml::Value> {
    serde_yaml::Deserializer::from_str(text).map(|d| serde::Deserialize::deserialize(d).unwrap()).collect()
}
