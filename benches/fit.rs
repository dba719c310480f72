//! Fit speed: 10^6 rows x 3 predictors + intercept, the whole `model::fit` (solve + inference),
//! with independent errors and with `--errors levels` / `hac` on a time series of 200 levels
//! (side by side with `benches/errors_statsmodels.py`: statsmodels MixedLM and OLS + HAC).
//!
//! Side by side with `benches/fit_statsmodels.py`, which builds the same data (Weyl sequences,
//! identical in both languages) and times statsmodels OLS; see BENCHMARKS.md for the ratio.

use criterion::{criterion_group, criterion_main, Criterion};
use meshcap::model::{fit, ErrorSpec, FitSettings};
use meshcap::series::Series;

/// The benchmark data: deterministic, identical to the Python script's.
pub fn data(n: usize) -> Vec<(String, Vec<f64>)> {
    let frac = |i: usize, a: f64| (i as f64 * a) % 1.0;
    let (mut r, mut p, mut s, mut y) = (Vec::new(), Vec::new(), Vec::new(), Vec::new());
    for i in 0..n {
        let rev = 2000.0 * frac(i, 0.6180339887498949);
        let ports = 20000.0 * frac(i, 0.4142135623730951);
        let svc = 5000.0 * frac(i, 0.7320508075688772);
        let noise = 3e6 * (frac(i, 0.2360679774997898) - 0.5);
        r.push(rev);
        p.push(ports);
        s.push(svc);
        y.push(5e7 + 7.5e5 * rev + 9e4 * ports + 1e4 * svc + noise);
    }
    vec![("revisions".into(), r), ("ports".into(), p), ("services".into(), s), ("memory".into(), y)]
}

/// The `--errors levels` benchmark data, identical to `benches/errors_statsmodels.py`'s:
/// levels of `max(5, n / 200)` readings at 30 s, each with its own revisions, ports and
/// services and an offset (sd 6Mi), plus AR-like noise `e_i = 0.9 e_{i-1} + a_i`.
pub fn levels_data(n: usize) -> (Vec<(String, Vec<f64>)>, Vec<f64>) {
    const MIB: f64 = 1048576.0;
    let frac = |x: f64, a: f64| (x * a) % 1.0;
    let size = (n / 200).max(5);
    let (mut r, mut p, mut s, mut y, mut t) = (Vec::new(), Vec::new(), Vec::new(), Vec::new(), Vec::new());
    let mut e = 0.0;
    for i in 0..n {
        let k = (i / size) as f64;
        let rev = (1500.0 * frac(k, 0.6180339887498949)).floor();
        let ports = 8.0 * rev + (3000.0 * frac(k, 0.4142135623730951)).floor();
        let svc = 2.0 * rev + (500.0 * frac(k, 0.7320508075688772)).floor();
        let u = 6.0 * MIB * 12f64.sqrt() * (frac(k, 0.6457513110645906) - 0.5);
        e = 0.9 * e + 1.5 * MIB * 12f64.sqrt() * (frac(i as f64, 0.5772156649015329) - 0.5);
        r.push(rev);
        p.push(ports);
        s.push(svc);
        y.push(5e7 + 7.5e5 * rev + 9e4 * ports + 1e4 * svc + u + e);
        t.push(1.7e9 + 30.0 * i as f64);
    }
    (vec![("revisions".into(), r), ("ports".into(), p), ("services".into(), s), ("memory".into(), y)], t)
}

fn bench(c: &mut Criterion) {
    let series = Series::from_columns(std::path::Path::new("bench"), data(1_000_000)).unwrap();
    let settings = FitSettings::default();
    let model = fit(&series, &settings, b"").unwrap();
    eprintln!(
        "meshcap params: {:?}\nmeshcap bse: {:?}\nmethod: {:?}",
        model.coefficients.iter().map(|c| c.estimate).collect::<Vec<_>>(),
        model.coefficients.iter().map(|c| c.std_error).collect::<Vec<_>>(),
        model.method
    );
    let mut g = c.benchmark_group("fit");
    g.sample_size(20);
    g.bench_function("1e6x3 meshcap", |b| b.iter(|| fit(&series, &settings, b"").unwrap()));
    g.finish();

    let (columns, times) = levels_data(1_000_000);
    let series = Series::from_columns(std::path::Path::new("bench"), columns).unwrap().with_times(&times).unwrap();
    for (name, errors) in [("levels", ErrorSpec::Levels), ("hac", ErrorSpec::Hac)] {
        let settings = FitSettings { errors, ..FitSettings::default() };
        let model = fit(&series, &settings, b"").unwrap();
        let e = &model.errors;
        eprintln!(
            "meshcap {name} params: {:?}\nmeshcap {name} bse: {:?}\nscale {:e} cov_re {:e} rho {:?} levels {}",
            model.coefficients.iter().map(|c| c.estimate).collect::<Vec<_>>(),
            model.coefficients.iter().map(|c| c.std_error).collect::<Vec<_>>(),
            e.sigma_within.powi(2),
            e.sigma_between.powi(2),
            e.rho,
            e.levels
        );
        let mut g = c.benchmark_group("fit");
        g.sample_size(20);
        g.bench_function(format!("1e6x3 --errors {name}"), |b| b.iter(|| fit(&series, &settings, b"").unwrap()));
        g.finish();
    }
}

criterion_group!(benches, bench);
criterion_main!(benches);
