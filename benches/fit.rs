//! Fit speed: 10^6 rows x 3 predictors + intercept, the whole `model::fit` (solve + inference).
//!
//! Side by side with `benches/fit_statsmodels.py`, which builds the same data (Weyl sequences,
//! identical in both languages) and times statsmodels OLS; see BENCHMARKS.md for the ratio.

use criterion::{criterion_group, criterion_main, Criterion};
use meshcap::model::{fit, FitSettings};
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
}

criterion_group!(benches, bench);
criterion_main!(benches);
