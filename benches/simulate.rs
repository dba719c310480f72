//! Monte Carlo speed: 100 scenarios x 1000 paths x 90 days, 100 Knative services each.
//!
//! `grid_10x10`: 10 deploy rates x 10 limits, the brief's workload. Scenarios that differ only
//! in their limit share their paths, so this runs 10 groups of 1000 paths.
//! `distinct_100`: 10 deploy rates x 10 `retain-since-create-time` settings at one limit, so
//! all 100 scenarios run their own paths (the worst case for the same row count).
//! Run: `cargo bench --bench simulate`.

use std::path::Path;
use std::time::Duration;

use criterion::{criterion_group, criterion_main, Criterion, SamplingMode};
use meshcap::scenario::simulate::{self, SimOptions, Simulation};
use meshcap::scenario::{Grid, Spec};

const MESH: &str = r#"
model = "models/knative-1.11-istio-1.18.json"
[mesh]
gateways = 2
[simulate]
horizon_days = 90
paths = 1000
[axes]
namespaces = [1]
knative_services = [100]
plain_services = [5]
updates_per_day = [1, 2, 3, 5, 8, 10, 15, 20, 30, 50]
"#;

fn grid(extra_axes: &str) -> Grid {
    std::env::set_current_dir(env!("CARGO_MANIFEST_DIR")).expect("crate root");
    let text = format!("{MESH}{extra_axes}");
    let spec = Spec::parse(Path::new("bench.toml"), &text).expect("bench spec parses");
    let model = meshcap::model::store::load(&spec.model).expect("seed model loads");
    Grid::new(spec, model, 1_000).expect("grid")
}

fn bench(c: &mut Criterion) {
    let mut group = c.benchmark_group("simulate_100x1000x90x100");
    group.sample_size(10).sampling_mode(SamplingMode::Flat).measurement_time(Duration::from_secs(20));
    group.warm_up_time(Duration::from_secs(1));
    let cases = [
        ("grid_10x10", r#"limit = ["256Mi", "512Mi", "768Mi", "1Gi", "1536Mi", "2Gi", "3Gi", "4Gi", "6Gi", "8Gi"]"#),
        (
            "distinct_100",
            r#"retain_since_create_time = ["1h", "3h", "6h", "12h", "24h", "36h", "48h", "72h", "96h", "disabled"]"#,
        ),
    ];
    for (name, axes) in cases {
        let grid = grid(axes);
        assert_eq!(grid.size, 100);
        let sim = Simulation::new(&grid, SimOptions::from_spec(&grid.spec)).expect("simulation");
        group.bench_function(name, |b| {
            b.iter(|| {
                let s = simulate::summarize(&sim, 0..grid.size, &|_| {});
                assert_eq!(s.scenarios, 100);
                s
            })
        });
    }
    group.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
