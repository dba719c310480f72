//! Issue 19 §3: the variance function agrees with R's nlme. Readings without times within a
//! level are a level offset plus independent noise: compound symmetry within the level. With
//! both scaled by `(fitted mean)^delta`, `--errors levels` is nlme's
//! `gls(memory ~ revisions, correlation = corCompSymm(form = ~ 1 | level), weights = varPower())`,
//! whose variance is `sigma^2 |mu|^(2 delta)` with within-level correlation `rho`. meshcap states
//! `sigma_between` and `sigma_within` at a reference mean, so nlme's sigma is
//! `sqrt(sigma_between^2 + sigma_within^2) / reference^delta` and its rho
//! `sigma_between^2 / (sigma_between^2 + sigma_within^2)`.
//!
//! Reference values: R 4.2 nlme 3.1, printed by benches/ref/spread_varpower.R (which also wrote
//! the fixture).

#![allow(clippy::excessive_precision)] // reference values keep the 17 digits R printed

use crate::util::{close, json, meshcap};

// benches/ref/spread_varpower.R, printed values.
const COEFFICIENTS: [f64; 2] = [52376055.538300842, 783292.69311775186];
const DELTA: f64 = 1.0700316887881682;
const SIGMA: f64 = 0.0034502385193601799;
const RHO: f64 = 0.61936718252571821;

#[test]
fn variance_function_matches_nlme_varpower() {
    let v =
        json(meshcap().args(["fit", "tests/fixtures/spread-varpower.csv", "--errors", "levels", "--format", "json"]));
    let e = &v["errors"];
    let spread = &e["spread"];
    assert!(spread.is_object(), "equal spread must be rejected on this fixture: {e}");
    let delta = spread["power"].as_f64().unwrap();
    let reference = spread["reference_bytes"].as_f64().unwrap();
    let (sb, sw) = (e["sigma_between"].as_f64().unwrap(), e["sigma_within"].as_f64().unwrap());
    for (k, want) in COEFFICIENTS.iter().enumerate() {
        close("coefficient", v["coefficients"][k]["estimate"].as_f64().unwrap(), *want, 1e-5);
    }
    assert!((delta - DELTA).abs() < 1e-4, "delta {delta} vs nlme {DELTA}");
    // A reading's sd at 450Mi (inside the data, where the power's last digits barely matter).
    let mu = 450.0 * 1024.0 * 1024.0;
    close("sd at 450Mi", (sb * sb + sw * sw).sqrt() * (mu / reference).powf(delta), SIGMA * mu.powf(DELTA), 1e-4);
    assert!((sb * sb / (sb * sb + sw * sw) - RHO).abs() < 1e-4, "rho");
    // The line says what was done.
    let line = e["assumptions"].as_array().unwrap().iter().find(|a| a["name"] == "equal spread").unwrap();
    assert!(line["p"].as_f64().unwrap() < 0.05 && line["action"].as_str().unwrap().starts_with("modelled"), "{line}");
}
