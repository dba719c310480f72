//! NIST StRD linear regression: every certified coefficient and standard error to at least 9
//! correct digits (log relative error, LRE), read straight from NIST's own files.
//!
//! The files live in `../shared/reference/nist-strd/` next to the crate; without that folder
//! the test says so and passes.

use meshcap::model::solve::{least_squares, DesignColumn, Method, FAST_PATH_MIN_CELLS};

const DATASETS: [&str; 11] = [
    "Norris", "Pontius", "NoInt1", "NoInt2", "Filip", "Longley", "Wampler1", "Wampler2", "Wampler3", "Wampler4",
    "Wampler5",
];

/// Required LRE for every coefficient, standard error and the residual SD: README's claim.
const MIN_LRE: f64 = 13.0;
/// Required LRE when the rows are replicated to the f64 fast-path size (README says 12).
const MIN_LRE_REPLICATED: f64 = 12.0;

/// One parsed StRD file.
struct Dataset {
    /// Certified coefficients, in order, with the index of the first one (0 for B0, 1 for B1).
    first_index: usize,
    estimates: Vec<f64>,
    std_devs: Vec<f64>,
    residual_sd: f64,
    y: Vec<f64>,
    /// Predictor columns (one for the polynomial files).
    x: Vec<Vec<f64>>,
}

/// The two line numbers in a header line like `Data  (lines 61 to 142)`.
fn line_range(lines: &[&str], label: &str) -> (usize, usize) {
    let line = lines
        .iter()
        .find(|l| l.contains(label) && l.contains("(lines"))
        .unwrap_or_else(|| panic!("no '{label}' line range in header"));
    let inside = &line[line.find("(lines").unwrap() + 6..line.find(')').unwrap()];
    let nums: Vec<usize> = inside.split_whitespace().filter_map(|w| w.parse().ok()).collect();
    (nums[0], nums[1])
}

fn parse(name: &str, text: &str) -> Dataset {
    let lines: Vec<&str> = text.split('\n').map(|l| l.trim_end_matches('\r')).collect();
    let (cert_start, _) = line_range(&lines, "Certified Values");
    let (data_start, data_end) = line_range(&lines, "Data");
    let mut first_index = None;
    let (mut estimates, mut std_devs) = (Vec::new(), Vec::new());
    let mut residual_sd = None;
    for line in &lines[cert_start - 1..data_start - 1] {
        let words: Vec<&str> = line.split_whitespace().collect();
        match words.as_slice() {
            [b, est, sd] if b.starts_with('B') => {
                let k: usize = b[1..].parse().expect("parameter index");
                first_index.get_or_insert(k);
                assert_eq!(k, first_index.unwrap() + estimates.len(), "{name}: {line}");
                estimates.push(est.parse().expect("estimate"));
                std_devs.push(sd.parse().expect("standard deviation"));
            }
            ["Standard", "Deviation", sd] if residual_sd.is_none() => {
                residual_sd = Some(sd.parse().expect("residual SD"));
            }
            _ => {}
        }
    }
    let mut y = Vec::new();
    let mut x: Vec<Vec<f64>> = Vec::new();
    for line in &lines[data_start - 1..data_end] {
        let row: Vec<f64> = line.split_whitespace().map(|w| w.parse().expect("data value")).collect();
        assert!(row.len() >= 2, "{name}: short data row '{line}'");
        x.resize(row.len() - 1, Vec::new());
        y.push(row[0]);
        for (col, v) in x.iter_mut().zip(&row[1..]) {
            col.push(*v);
        }
    }
    Dataset {
        first_index: first_index.expect("certified coefficients"),
        estimates,
        std_devs,
        residual_sd: residual_sd.expect("certified residual SD"),
        y,
        x,
    }
}

/// Log relative error, capped at 15 (and 0 when nothing is right).
fn lre(estimate: f64, certified: f64) -> f64 {
    let err = if certified == 0.0 { estimate.abs() } else { (estimate - certified).abs() / certified.abs() };
    let v = -err.log10();
    if v.is_nan() {
        0.0
    } else {
        v.clamp(0.0, 15.0)
    }
}

/// (min coefficient LRE, min SE LRE, residual SD LRE, method) for one dataset with every row
/// repeated `reps` times (same coefficients; standard errors and residual SD rescale exactly).
fn check(name: &str, ds: &Dataset, reps: usize) -> (f64, f64, f64, Method) {
    let p = ds.estimates.len();
    let n = ds.y.len();
    let y = ds.y.repeat(reps);
    let x: Vec<Vec<f64>> = ds.x.iter().map(|c| c.repeat(reps)).collect();
    // One predictor: a polynomial in x (B0 + B1 x + ..., or B1 x + ... without intercept);
    // several: intercept plus each predictor linearly.
    let columns: Vec<DesignColumn> = if x.len() == 1 {
        (0..p).map(|k| DesignColumn { base: &x[0], power: (ds.first_index + k) as u32 }).collect()
    } else {
        assert_eq!(ds.first_index, 0);
        std::iter::once(DesignColumn { base: &[], power: 0 })
            .chain(x.iter().map(|c| DesignColumn { base: c, power: 1 }))
            .collect()
    };
    assert_eq!(columns.len(), p, "{name}: design width");
    let sol = least_squares(&columns, &y).unwrap_or_else(|e| panic!("{name}: {e:?}"));
    let sigma = (sol.rss / (y.len() - p) as f64).sqrt();
    // RSS grows by reps, (X'X)^-1 shrinks by reps, the degrees of freedom go to reps n - p.
    let sd_factor = ((reps * (n - p)) as f64 / (reps * n - p) as f64).sqrt();
    let se_factor = ((n - p) as f64 / (reps * n - p) as f64).sqrt();
    let coef = (0..p).map(|k| lre(sol.coefficients[k], ds.estimates[k])).fold(f64::INFINITY, f64::min);
    let se = (0..p)
        .map(|k| lre(sigma * sol.cov_unscaled[k * p + k].sqrt(), ds.std_devs[k] * se_factor))
        .fold(f64::INFINITY, f64::min);
    (coef, se, lre(sigma, ds.residual_sd * sd_factor), sol.method)
}

/// Reads every dataset, or `None` (after saying so) when the reference folder is absent.
fn datasets() -> Option<Vec<(&'static str, Dataset)>> {
    let dir = crate::util::reference("nist-strd")?;
    let read = |name: &'static str| {
        let path = dir.join(format!("{name}.dat"));
        let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
        (name, parse(name, &text))
    };
    Some(DATASETS.into_iter().map(read).collect())
}

/// Checks every dataset with its rows repeated `reps(n, p)` times; prints the LRE table.
fn check_all(reps: impl Fn(usize, usize) -> usize, min_lre: f64) {
    let Some(all) = datasets() else {
        return;
    };
    println!("{:<10} {:>6} {:>9} {:>9} {:>9}  method", "dataset", "rows", "coef LRE", "SE LRE", "resSD LRE");
    let mut failures = Vec::new();
    for (name, ds) in &all {
        let reps = reps(ds.y.len(), ds.estimates.len());
        let (coef, se, sd, method) = check(name, ds, reps);
        println!("{name:<10} {:>6} {coef:>9.2} {se:>9.2} {sd:>9.2}  {method:?}", ds.y.len() * reps);
        if coef < min_lre || se < min_lre || sd < min_lre {
            failures.push(format!("{name}: coefficient LRE {coef:.2}, SE LRE {se:.2}, residual SD LRE {sd:.2}"));
        }
    }
    assert!(failures.is_empty(), "below LRE {min_lre}: {failures:?}");
}

#[test]
fn nist_strd_linear_regression() {
    check_all(|_, _| 1, MIN_LRE);
}

/// The same data repeated until `n * p` reaches the solver's f64 fast-path size, so the f64
/// path (or its fallback to double-double) meets the same bar.
#[test]
fn nist_strd_replicated_to_fast_path_size() {
    check_all(|n, p| FAST_PATH_MIN_CELLS.div_ceil(n * p), MIN_LRE_REPLICATED);
}

#[test]
fn lre_definition() {
    assert_eq!(lre(1.0, 1.0), 15.0);
    assert!((lre(1.001, 1.0) - 3.0).abs() < 1e-9);
    assert!((lre(1e-7, 0.0) - 7.0).abs() < 1e-9);
    assert_eq!(lre(0.0, 0.0), 15.0);
    assert_eq!(lre(f64::NAN, 1.0), 0.0);
}

/// The same bar through the CLI: each dataset written as CSV, fitted by `meshcap fit` with the
/// CLI's own `x^k` terms and `--no-intercept`, estimates and standard errors read back from
/// `--format json` (serde_json prints f64 round-trip exact).
#[test]
fn nist_strd_through_the_cli() {
    let Some(all) = datasets() else {
        return;
    };
    let dir = crate::util::tempdir();
    println!("{:<10} {:>9} {:>9} {:>9}  (meshcap fit --format json)", "dataset", "coef LRE", "SE LRE", "resSD LRE");
    let mut failures = Vec::new();
    for (name, ds) in &all {
        let names: Vec<String> =
            if ds.x.len() == 1 { vec!["x".into()] } else { (1..=ds.x.len()).map(|k| format!("x{k}")).collect() };
        let mut csv = format!("y,{}\n", names.join(","));
        for i in 0..ds.y.len() {
            let row: Vec<String> = ds.x.iter().map(|c| c[i].to_string()).collect();
            csv.push_str(&format!("{},{}\n", ds.y[i], row.join(",")));
        }
        let path = crate::util::write(dir.path(), &format!("{name}.csv"), &csv);
        let p = ds.estimates.len();
        let terms: Vec<String> = if ds.x.len() == 1 {
            (0..p)
                .map(|k| ds.first_index + k)
                .filter(|&k| k > 0)
                .map(|k| if k == 1 { "x".into() } else { format!("x^{k}") })
                .collect()
        } else {
            names.clone()
        };
        let mut cmd = crate::util::meshcap();
        cmd.arg("fit").arg(&path).args(["--x", &terms.join(","), "--y", "y", "--format", "json"]);
        if ds.first_index == 1 {
            cmd.arg("--no-intercept");
        }
        let v = crate::util::json(&mut cmd);
        let coefs = v["coefficients"].as_array().expect("coefficients");
        assert_eq!(coefs.len(), p, "{name}");
        let coef =
            (0..p).map(|k| lre(coefs[k]["estimate"].as_f64().unwrap(), ds.estimates[k])).fold(f64::INFINITY, f64::min);
        let se =
            (0..p).map(|k| lre(coefs[k]["std_error"].as_f64().unwrap(), ds.std_devs[k])).fold(f64::INFINITY, f64::min);
        let sd = lre(v["residual_std_error"].as_f64().unwrap(), ds.residual_sd);
        println!("{name:<10} {coef:>9.2} {se:>9.2} {sd:>9.2}");
        assert_eq!(v["errors"]["kind"], "iid", "{name}: no time column, so auto is OLS");
        if coef < MIN_LRE || se < MIN_LRE || sd < MIN_LRE {
            failures.push(format!("{name}: coefficient LRE {coef:.2}, SE LRE {se:.2}, residual SD LRE {sd:.2}"));
        }
    }
    assert!(failures.is_empty(), "below LRE {MIN_LRE}: {failures:?}");
}
