//! Rendering speed: the fit chart with a million observations at 1600x1000, PNG written to a
//! temp file (goal: under 1 s), and the per-column thinning that makes it possible.
//!
//! Run with `cargo bench --bench plot -- --warm-up-time 1 --measurement-time 5`.

use criterion::{black_box, criterion_group, criterion_main, Criterion};
use meshcap::plot::{minmax_per_column, render_fit, CurvePoint, FitChart, LimitMarker, OomBracket, DEFAULT_SIZE};

const MI: f64 = 1024.0 * 1024.0;
const GI: f64 = 1024.0 * MI;

/// 50Mi + 0.75Mi per revision over 0..2000 revisions, a million noisy observations.
fn million_point_chart() -> FitChart {
    let line = |r: f64| 50.0 * MI + 0.75 * MI * r;
    let observations =
        (0..1_000_000).map(|i| i as f64 * 0.002).map(|r| (r, line(r) + (r * 7.0).sin() * 5.0 * MI)).collect();
    let curve = (0..=60)
        .map(|i| 50.0 * i as f64)
        .map(|x| {
            let m = line(x);
            CurvePoint {
                x,
                mean: m,
                ci_low: m - 4.0 * MI,
                ci_high: m + 4.0 * MI,
                pi_low: m - 10.0 * MI,
                pi_high: m + 10.0 * MI,
            }
        })
        .collect();
    FitChart {
        title: "istio-proxy memory, 1e6 observations (bench)".into(),
        subtitle: "memory = 50Mi + 0.75Mi × revisions".into(),
        observations,
        oom: vec![OomBracket { low: 1200.0, high: 1400.0, limit_bytes: GI }],
        curve,
        limits: vec![LimitMarker {
            limit_bytes: GI,
            label: "limit 1Gi".into(),
            crossing: Some(1298.7),
            safe: Some(1285.0),
        }],
        ports_per_revision: 8.0,
    }
}

fn bench(c: &mut Criterion) {
    let chart = million_point_chart();
    let dir = tempfile::tempdir().expect("temp dir");
    let path = dir.path().join("fit.png");
    let mut group = c.benchmark_group("plot");
    group.sample_size(10);
    group.bench_function("render_fit_1e6_obs_1600x1000", |b| {
        b.iter(|| render_fit(black_box(&chart), &path, DEFAULT_SIZE).expect("renders"))
    });
    group.bench_function("minmax_per_column_1e6_to_1300", |b| {
        b.iter(|| minmax_per_column(black_box(&chart.observations), 1300))
    });
    group.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
