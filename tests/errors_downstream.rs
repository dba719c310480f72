//! The error structure downstream of `fit`: what-ifs for one proxy of a pooled fit, and the
//! simulation's noise (a level's offset persists while its count does).

use std::path::Path;

use crate::util::{close, json, meshcap, p_any_of_61, seed_model, simulated_p_oom, tempdir, write};

const MI: f64 = 1024.0 * 1024.0;

/// The seed model with its noise replaced: `levels` (between, within) or `iid` (total), and
/// a coefficient covariance shrunk so the reading noise dominates.
fn model_with_noise(dir: &Path, name: &str, levels: Option<(f64, f64)>, total: f64) -> std::path::PathBuf {
    let mut m: serde_json::Value = serde_json::from_str(&std::fs::read_to_string(seed_model()).unwrap()).unwrap();
    let old = m["residual_std_error"].as_f64().unwrap();
    let shrink = 0.01 * (old / total).powi(2);
    for row in m["cov_unscaled"].as_array_mut().unwrap() {
        for v in row.as_array_mut().unwrap() {
            *v = (v.as_f64().unwrap() * shrink).into();
        }
    }
    m["residual_std_error"] = total.into();
    if let Some((between, within)) = levels {
        m["errors"]["kind"] = "levels".into();
        m["errors"]["sigma_between"] = between.into();
        m["errors"]["sigma_within"] = within.into();
    } else {
        m["errors"]["sigma_within"] = total.into();
    }
    write(dir, name, &serde_json::to_string_pretty(&m).unwrap())
}

#[test]
fn simulate_draws_one_offset_per_level_not_one_per_day() {
    // Same marginal sd (20.02Mi) both ways; the limit sits 1.645 sd above the mean, so one
    // reading exceeds it 5% of the time. Nothing is deployed (the count stays put for 60 days):
    // with iid daily noise a proxy gets 61 independent chances (1 - 0.95^61 = 96%); with a
    // level offset it gets one draw of the offset, plus small daily noise (sd 1Mi): about
    // P(Z > (1.645 x 20.02 - 2.5) / 20) = 7%.
    let dir = tempdir();
    let total = (20.0f64.powi(2) + 1.0).sqrt() * MI;
    let levels = model_with_noise(dir.path(), "levels.json", Some((20.0 * MI, MI)), total);
    let iid = model_with_noise(dir.path(), "iid.json", None, total);
    let (_, mean) = simulated_p_oom(&levels, "1Ti", 1, 800);
    let limit = format!("{}", (mean + 1.645 * total).round() as u64);
    let (p_levels, _) = simulated_p_oom(&levels, &limit, 1, 800);
    let (p_iid, _) = simulated_p_oom(&iid, &limit, 1, 800);
    // The band follows the 800 paths (3 binomial standard errors) around the exact value
    // (issue 21: 3% to 15% let a miscalibration through).
    let want = p_any_of_61(1.645 * 20.0f64.hypot(1.0), 20.0, 1.0);
    let se = (want * (1.0 - want) / 800.0).sqrt();
    eprintln!("levels: P(OOM in 60 days) {p_levels}, exact {want:.4} +- {se:.4}");
    assert!((p_levels - want).abs() <= 3.0 * se, "levels: P(OOM in 60 days) = {p_levels}, {want:.4} wanted");
    assert!(p_iid > 0.85, "iid: P(OOM in 60 days) = {p_iid}");
}

#[test]
fn whatif_for_a_pooled_proxy_uses_its_own_offset() {
    let dir = tempdir();
    let model = dir.path().join("fleet.json");
    meshcap().args(["fit", "tests/fixtures/fleet-groups.csv", "-o"]).arg(&model).assert().success();
    let m: serde_json::Value = serde_json::from_str(&std::fs::read_to_string(&model).unwrap()).unwrap();
    let whatif = |proxy: Option<&str>| {
        let mut cmd = meshcap();
        cmd.args(["whatif", "--push", "none", "--revisions", "500", "--format", "json", "--model"]).arg(&model);
        if let Some(p) = proxy {
            cmd.args(["--proxy", p]);
        }
        json(&mut cmd)
    };
    let pooled = whatif(None);
    let own = whatif(Some("shop/cart-00005"));
    let g = m["errors"]["group_effects"].as_array().unwrap().iter().find(|g| g["name"] == "shop/cart-00005").unwrap();
    // Mean: the pooled line plus the proxy's BLUP (statsmodels: -15325550.33, errors.rs).
    let effect = g["effect_bytes"].as_f64().unwrap();
    close(
        "mean",
        own["predicted_bytes"].as_f64().unwrap(),
        pooled["predicted_bytes"].as_f64().unwrap() + effect,
        1e-12,
    );
    // Spread, by hand: (x - shrink)' V (x - shrink) + the offset's conditional variance +
    // sigma_within^2 (this fit has no level component), against a new proxy's sigma_group^2.
    let b = |i: usize, j: usize| m["cov_unscaled"][i][j].as_f64().unwrap();
    let s2 = m["residual_std_error"].as_f64().unwrap().powi(2);
    let shrink: Vec<f64> = g["shrink_row"].as_array().unwrap().iter().map(|v| v.as_f64().unwrap()).collect();
    let z = [1.0 - shrink[0], 500.0 - shrink[1]];
    let h: f64 = (0..2).flat_map(|i| (0..2).map(move |j| (i, j))).map(|(i, j)| z[i] * b(i, j) * z[j]).sum::<f64>() * s2;
    let var =
        h + g["effect_sd_bytes"].as_f64().unwrap().powi(2) + m["errors"]["sigma_within"].as_f64().unwrap().powi(2);
    // 83 readings (each its own level) in 12 proxies: between-within dof 83 - 12 - 1 = 70.
    assert_eq!(m["dof"], 70);
    let t = 1.9944371117711854; // scipy 1.17 stats.t.ppf(0.975, 70)
    let [lo, hi] = [own["prediction_interval"][0].as_f64().unwrap(), own["prediction_interval"][1].as_f64().unwrap()];
    close("half width", (hi - lo) / 2.0, t * var.sqrt(), 1e-9);
    let pooled_width =
        pooled["prediction_interval"][1].as_f64().unwrap() - pooled["prediction_interval"][0].as_f64().unwrap();
    assert!(hi - lo < 0.5 * pooled_width, "a known proxy is far better pinned than a new one");
    // Not a pooled model, or no such proxy: one-line errors.
    for (m, p, want) in [(seed_model(), "x", "has no proxies"), (model.clone(), "nope", "no such proxy")] {
        let out = meshcap()
            .args(["whatif", "--revisions", "5", "--proxy", p, "--model"])
            .arg(&m)
            .assert()
            .code(2)
            .get_output()
            .clone();
        let err = String::from_utf8(out.stderr).unwrap();
        assert!(err.contains(want) && err.trim().lines().count() == 1, "{err}");
    }
}

#[test]
fn report_of_an_imported_time_series_charts_levels_and_puts_readings_on_the_line() {
    // data/campaign.csv: 7 levels x 80 readings of ports (simulated, benches/ref/campaign.py).
    let series = meshcap::series::Series::load(Path::new("data/campaign.csv")).unwrap();
    let bytes = std::fs::read("data/campaign.csv").unwrap();
    let model = meshcap::model::fit(&series, &meshcap::model::FitSettings::default(), &bytes).unwrap();
    let levels = meshcap::report::charts::level_chart(&model, &series).expect("replicated levels");
    assert_eq!(levels.levels.len(), 7);
    assert!(levels.levels.iter().all(|l| l.readings == 80 && l.low <= l.mean && l.mean <= l.high));
    // Level means scatter like level offsets, not like readings (sigma_between 4.5Mi here).
    let sb = model.errors.sigma_between;
    assert!(levels.levels.iter().all(|l| l.mean.abs() < 4.0 * sb));
    // A ports-only model is drawn against revision equivalents (ports / 8): every reading lies
    // within the data's revision range and near the fitted mean at its x.
    let chart = meshcap::report::charts::fit_chart(&model, Some(&series), &[512.0 * MI], Default::default());
    let max_rev = 3220.0 / 8.0;
    for &(x, y) in &chart.observations {
        assert!((0.0..=max_rev).contains(&x), "reading drawn at {x} revisions");
        let near = chart.curve.iter().min_by(|a, b| (a.x - x).abs().total_cmp(&(b.x - x).abs())).unwrap();
        assert!((y - near.mean).abs() < 6.0 * model.residual_std_error, "reading at ({x}, {y}) far off the line");
    }
    // And the report writes levels.png (a real PNG) for it, not for the seed's one reading per level.
    let dir = tempdir();
    let out = dir.path().join("plots");
    meshcap()
        .args(["report", "--data", "data/campaign.csv", "--topology", "none", "--out"])
        .arg(&out)
        .assert()
        .success();
    let png = std::fs::read(out.join("levels.png")).unwrap();
    assert_eq!(&png[1..4], b"PNG");
    let md = std::fs::read_to_string(out.join("report.md")).unwrap();
    assert!(md.contains("levels.png") && md.contains("levels: 7 levels"), "{md}");
    let seed = dir.path().join("seed");
    meshcap().args(["report", "--topology", "none", "--out"]).arg(&seed).assert().success();
    assert!(!seed.join("levels.png").exists());
}

#[test]
fn plot_levels_draws_a_time_series_and_refuses_one_reading_per_level() {
    let dir = tempdir();
    let out = dir.path().join("levels.png");
    meshcap().args(["plot", "levels", "--data", "data/campaign.csv", "-o"]).arg(&out).assert().success();
    let decoder = png::Decoder::new(std::fs::File::open(&out).unwrap());
    let mut reader = decoder.read_info().unwrap();
    let mut buf = vec![0; reader.output_buffer_size()];
    let info = reader.next_frame(&mut buf).unwrap();
    assert_eq!((info.width, info.height), (1600, 1000));
    // The plot area holds dark points and whiskers, not just the white background.
    let dark = buf
        .chunks(info.color_type.samples())
        .filter(|p| u32::from(p[0]) + u32::from(p[1]) + u32::from(p[2]) < 200)
        .count();
    assert!(dark > 2000, "{dark} dark pixels");
    let err = meshcap()
        .args(["plot", "levels", "-o"])
        .arg(dir.path().join("x.png"))
        .assert()
        .code(2)
        .get_output()
        .stderr
        .clone();
    assert!(String::from_utf8(err).unwrap().contains("one reading"));
    assert!(!dir.path().join("x.png").exists());
}
