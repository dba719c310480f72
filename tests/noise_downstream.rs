//! Random slopes and a variance function downstream of `fit`, in the sweep and the simulation
//! (issue 19 §1 and §3: "used in every prediction"). The sweep's closed-form curves are held to
//! `project`'s bounds (a design row per point, `FittedModel::predict_row`), and the simulation's
//! chance of an OOMKill to the exact normal integral of a new proxy's own offset and slope.

use std::path::Path;

use meshcap::model::FittedModel;
use meshcap::project::{Bounds, Caution, RevisionPath};
use meshcap::scenario::curve::{Curve, Quantiles, Shape};

use crate::util::{p_any_of_61, seed_model, simulated_p_oom, tempdir, write};

const MI: f64 = 1024.0 * 1024.0;

/// The seed model (revisions; its quadratic kept) as a pooled fleet fit: own offsets sd
/// `group`, own slopes sd `slope_sd` per revision with offset-slope covariance `cov`, reading
/// sd `within` scaled by `(mean / reference)^power`; the coefficients' covariance shrunk by
/// `shrink`.
fn noisy_model(
    dir: &Path,
    group: f64,
    (slope_sd, cov): (f64, f64),
    within: f64,
    (power, reference): (f64, f64),
    shrink: f64,
) -> std::path::PathBuf {
    let mut m: serde_json::Value = serde_json::from_str(&std::fs::read_to_string(seed_model()).unwrap()).unwrap();
    for row in m["cov_unscaled"].as_array_mut().unwrap() {
        for v in row.as_array_mut().unwrap() {
            *v = (v.as_f64().unwrap() * shrink).into();
        }
    }
    m["residual_std_error"] = group.hypot(within).into();
    let e = &mut m["errors"];
    e["kind"] = "group".into();
    e["column"] = "proxy".into();
    e["sigma_group"] = group.into();
    e["sigma_between"] = 0.0.into();
    e["sigma_within"] = within.into();
    e["slope"] =
        serde_json::json!({"column": "revisions", "index": 1, "sd_bytes_per_unit": slope_sd, "offset_covariance": cov});
    e["spread"] = serde_json::json!({"power": power, "reference_bytes": reference});
    // A group fit names its groups; one measured proxy (the sweep and simulation ask for new ones).
    e["group_effects"] = serde_json::json!([{
        "name": "ns/p0", "effect_bytes": 0.0, "effect_sd_bytes": group, "shrink_row": [0.0, 0.0], "readings": 100,
        "slope": {"effect_bytes_per_unit": 0.0, "sd_bytes_per_unit": slope_sd, "offset_covariance": cov, "shrink_row_per_unit": [0.0, 0.0]}
    }]);
    write(dir, "noisy.json", &serde_json::to_string_pretty(&m).unwrap())
}

#[test]
fn sweep_curves_carry_random_slopes_and_the_variance_function() {
    let dir = tempdir();
    let path = noisy_model(dir.path(), 20.0 * MI, (40.0 * 1024.0, -1.0e10), 6.0 * MI, (0.8, 300.0 * MI), 1.0);
    let model: FittedModel = meshcap::model::store::load(&path).unwrap();
    assert!(model.errors.slope.is_some() && model.errors.spread.is_some() && model.errors.quadratic.is_some());
    let t = Quantiles::new(&model, 0.95);
    let bounds = Bounds::new(&model, RevisionPath::new(&model), Caution::default());
    let top = model.range("revisions").unwrap().max;
    // A proxy seeing k Knative services of 8 ports a revision: k R revision equivalents.
    for k in [3.0, 10.0, 40.0] {
        let shape = Shape { rev1: k, ports1: 8.0 * k, concurrency: 2.0, ..Shape::default() };
        let curve = Curve::new(&model, shape).unwrap();
        let mut past = 0;
        for r in [0.0, 1.0, 5.0, 20.0, 60.0, 200.0, 1000.0] {
            let (sweep, project) = (curve.upper(r, t, 1.0), bounds.upper(k * r));
            assert!((sweep - project).abs() <= 1e-9 * project, "k {k}, R {r}: sweep {sweep:e}, project {project:e}");
            past += usize::from(k * r > top);
        }
        assert!(past > 0, "some points lie past the data, where the quadratic's bound counts");
        // The crossing of 1.5Gi: against bisection on project's bound.
        let target = 1536.0 * MI;
        if bounds.upper(0.0) < target && bounds.upper(k * 1e4) >= target {
            let (mut lo, mut hi) = (0.0, 1e4);
            for _ in 0..200 {
                let mid = 0.5 * (lo + hi);
                if bounds.upper(k * mid) >= target {
                    hi = mid;
                } else {
                    lo = mid;
                }
            }
            let got = curve.crossing(target, t, 1.0, 0.0, 1e4);
            assert!((got - hi).abs() <= 1e-6 * hi.max(1.0), "k {k}: crossing {got}, project {hi}");
        }
    }
    // Without the slope and the spread the sweep's bound is another one: the test can fail.
    let mut plain = model.clone();
    (plain.errors.slope, plain.errors.spread) = (None, None);
    let shape = Shape { rev1: 10.0, ports1: 80.0, concurrency: 2.0, ..Shape::default() };
    let (a, b) = (Curve::new(&plain, shape).unwrap().upper(20.0, t, 1.0), bounds.upper(200.0));
    assert!((a - b).abs() > 1e-3 * b, "{a:e} vs {b:e}");
}

#[test]
fn simulate_draws_a_new_proxys_own_slope_and_scales_its_noise() {
    // Nothing is deployed: a path's proxy holds x revisions for 61 days. Its own offset and
    // slope make one draw of sd sqrt(g^2 + 2 x c + x^2 s^2); each day adds reading noise of sd
    // within (mean / reference)^power. The reference is a quarter of the mean, power 0.5: the
    // daily sd doubles. Coefficients' covariance shrunk so the proxy's own noise dominates.
    let dir = tempdir();
    // Start at 50 revisions a service: the own slope's sd, 40Ki a revision, adds about 8Mi
    // there, correlated 0.3 with the own offset.
    let (g, s, within) = (10.0 * MI, 40.0 * 1024.0, 3.0 * MI);
    let c = 0.3 * g * s;
    let probe = noisy_model(dir.path(), g, (s, c), within, (0.5, MI), 1e-6);
    let (_, mean) = simulated_p_oom(&probe, "1Ti", 50, 10);
    let path = noisy_model(dir.path(), g, (s, c), within, (0.5, mean / 4.0), 1e-6);
    let model = meshcap::model::store::load(&path).unwrap();
    let b = model.estimates();
    let x = (mean - b[0]) / b[1];
    let own_sd = (g * g + 2.0 * x * c + x * x * s * s).sqrt();
    let limit = mean + 1.645 * own_sd;
    let paths = 2000;
    let (p, _) = simulated_p_oom(&path, &format!("{}", limit.round() as u64), 50, paths);
    let want = p_any_of_61(limit - mean, own_sd, 2.0 * within);
    let se = (want * (1.0 - want) / f64::from(paths)).sqrt();
    eprintln!(
        "own slope and spread: P(OOM in 60 days) {p:.4}, exact {want:.4} +- {se:.4} (x = {x:.0}, own sd {:.1}Mi)",
        own_sd / MI
    );
    assert!((p - want).abs() <= 3.0 * se, "P(OOM in 60 days) {p}, {want:.4} wanted");
    // Leaving the slope out (offset only) or the spread (daily sd `within`) gives another answer.
    let no_slope = p_any_of_61(limit - mean, g, 2.0 * within);
    let no_spread = p_any_of_61(limit - mean, own_sd, within);
    assert!((no_slope - want).abs() > 6.0 * se && (no_spread - want).abs() > 6.0 * se, "{no_slope} {no_spread} {want}");
}

#[test]
fn hand_edited_slopes_and_spreads_are_refused() {
    // Values no fit writes (found by a hostile-input run: each printed infinite or absurd
    // bounds as if valid): one line naming the file and the field, exit 2.
    let dir = tempdir();
    let good = noisy_model(dir.path(), 20.0 * MI, (40.0 * 1024.0, 1.0e10), 6.0 * MI, (0.8, 300.0 * MI), 1.0);
    crate::util::meshcap().arg("show").arg(&good).assert().success();
    let text = std::fs::read_to_string(&good).unwrap();
    let m: serde_json::Value = serde_json::from_str(&text).unwrap();
    let cases: [(&str, serde_json::Value, &str); 5] = [
        ("/errors/spread/power", 50.0.into(), "errors.spread.power"),
        ("/errors/spread/power", 1e300.into(), "errors.spread.power"),
        ("/errors/spread/reference_bytes", 0.0.into(), "errors.spread.reference_bytes"),
        ("/errors/spread/reference_bytes", (-1.0).into(), "errors.spread.reference_bytes"),
        ("/errors/slope/index", 0.into(), "errors.slope: index 0"),
    ];
    for (pointer, value, want) in cases {
        let mut edited = m.clone();
        *edited.pointer_mut(pointer).unwrap() = value.clone();
        let p = write(dir.path(), "edited.json", &serde_json::to_string_pretty(&edited).unwrap());
        let err = crate::util::fails(crate::util::meshcap().arg("show").arg(&p), 2);
        assert!(err.contains(want) && err.contains("edited.json"), "{pointer} = {value}: {err}");
    }
    let mut edited = m.clone();
    edited["errors"]["slope"]["column"] = "ports".into();
    let p = write(dir.path(), "edited.json", &serde_json::to_string_pretty(&edited).unwrap());
    let err = crate::util::fails(crate::util::meshcap().arg("show").arg(&p), 2);
    assert!(err.contains("errors.slope") && err.contains("\"ports\""), "{err}");
}
