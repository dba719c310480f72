//! Import speed: a 10^6-sample query_range response, parsed, aligned with a ports response of
//! the same size and written as canonical CSV. The side-by-side baseline (json + pandas on the
//! same files) is `benches/import_bench.sh`; `read_csv_1e6_rows` reads that CSV back, beside
//! pandas' `read_csv` in `benches/csv_bench.sh`.

use criterion::{criterion_group, criterion_main, Criterion};
use meshcap::import::{prometheus, promjson};

const T0: u64 = 1_767_225_600;

/// The bytes `benches/import_gen.py` writes for mem.json / ports.json.
fn body(n: u64, value: impl Fn(u64) -> u64) -> Vec<u8> {
    let mut s = String::with_capacity(n as usize * 26);
    s.push_str(r#"{"status":"success","data":{"resultType":"matrix","result":[{"metric":{"namespace":"shop","pod":"cart-00001-deployment-7d9"},"values":["#);
    for k in 0..n {
        if k > 0 {
            s.push(',');
        }
        s.push_str(&format!("[{},\"{}\"]", T0 + 30 * k, value(k)));
    }
    s.push_str("]}]}}");
    s.into_bytes()
}

fn bench(c: &mut Criterion) {
    let n = 1_000_000;
    let clusters = |k: u64| 16 + 8 * (k / 720);
    let mem = body(n, |k| 52_428_800 + 98_304 * clusters(k) + (k * 7919) % 1_048_576);
    let ports = body(n, clusters);
    let mut g = c.benchmark_group("import");
    g.sample_size(10);
    g.bench_function("parse_query_range_1e6", |b| b.iter(|| promjson::parse(&mem).unwrap().series[0].len()));
    let answers = || {
        vec![
            prometheus::Answer {
                column: "memory",
                origin: "mem".into(),
                query: None,
                bodies: vec![mem.clone()],
                file: None,
                decoded: None,
            },
            prometheus::Answer {
                column: "ports",
                origin: "ports".into(),
                query: None,
                bodies: vec![ports.clone()],
                file: None,
                decoded: None,
            },
        ]
    };
    g.bench_function("import_1e6_rows_parse_align", |b| {
        b.iter_batched(
            answers,
            |a| prometheus::import(a, &prometheus::Settings::default(), "bench").unwrap().0.rows.len(),
            criterion::BatchSize::LargeInput,
        )
    });
    let (series, comments, _) = prometheus::import(answers(), &prometheus::Settings::default(), "bench").unwrap();
    g.bench_function("write_csv_1e6_rows", |b| b.iter(|| meshcap::series::write::to_csv(&series, &comments).len()));
    // The canonical reader on the file `fit` reads (benches/csv_bench.sh times pandas'
    // read_csv on the same bytes).
    let dir = std::env::temp_dir().join(format!("meshcap-bench-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join("series-1e6.csv");
    std::fs::write(&path, meshcap::series::write::to_csv(&series, &comments)).unwrap();
    g.bench_function("read_csv_1e6_rows", |b| b.iter(|| meshcap::series::Series::load(&path).unwrap().rows.len()));
    g.finish();
    let _ = std::fs::remove_dir_all(&dir);
}

criterion_group!(benches, bench);
criterion_main!(benches);
