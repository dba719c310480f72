//! Analytic sweep speed on a 10^6-scenario slice of the benchmark grid
//! (`benches/specs/sweep-1e8.toml`, shard 0/200: one namespace, days to the limit all
//! positive, so the slice computes every crossing it needs; the slowest part of the grid).
//!
//! - `summary`: `sweep::summarize`, the block path (rayon over chunks).
//! - `summary_one_by_one`: `Grid::evaluate` + `Accumulator::add` for every scenario, single
//!   thread: the straightforward path the block path must match to the bit.
//! - `rows_csv_1e5`: `sweep::write_rows` of the first 10^5 scenarios into a sink.
//!
//! The whole grid side by side with numpy: `benches/sweep_bench.sh` (see BENCHMARKS.md).
//! Run: `cargo bench --bench sweep`.

use std::path::Path;
use std::time::Duration;

use criterion::{criterion_group, criterion_main, Criterion, Throughput};
use meshcap::scenario::grid::{advance, decode};
use meshcap::scenario::summary::Accumulator;
use meshcap::scenario::{sweep, Grid, RowFormat, Shard, Spec};

fn grid() -> Grid {
    std::env::set_current_dir(env!("CARGO_MANIFEST_DIR")).expect("crate root");
    let spec = Spec::load(Path::new("benches/specs/sweep-1e8.toml")).expect("bench spec parses");
    let model = meshcap::model::store::load(&spec.model).expect("seed model loads");
    Grid::new(spec, model, u64::MAX).expect("grid")
}

fn bench(c: &mut Criterion) {
    let grid = grid();
    let slice = Shard { index: 0, count: grid.size / 1_000_000 }.range(grid.size);
    let n = slice.end - slice.start;

    let mut group = c.benchmark_group("sweep_1e6");
    group.throughput(Throughput::Elements(n));
    group.sample_size(20).measurement_time(Duration::from_secs(5)).warm_up_time(Duration::from_secs(1));
    group.bench_function("summary", |b| b.iter(|| sweep::summarize(&grid, slice.clone(), &|_| {})));
    group.sample_size(10);
    group.bench_function("summary_one_by_one", |b| {
        b.iter(|| {
            let mut acc = Accumulator::new(&grid);
            let mut d = decode(slice.start, &grid.lengths);
            for id in slice.clone() {
                acc.add(&d, &grid.evaluate(id, &d));
                advance(&mut d, &grid.lengths);
            }
            acc.finish(&grid)
        })
    });
    group.finish();

    let rows = slice.start..slice.start + 100_000;
    let mut group = c.benchmark_group("sweep_rows");
    group.throughput(Throughput::Elements(rows.end - rows.start));
    group.sample_size(10).measurement_time(Duration::from_secs(5)).warm_up_time(Duration::from_secs(1));
    group.bench_function("rows_csv_1e5", |b| {
        b.iter(|| sweep::write_rows(&grid, rows.clone(), RowFormat::Csv, true, &mut std::io::sink(), &|_| {}))
    });
    group.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
