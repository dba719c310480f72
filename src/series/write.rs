//! Writing a series back out in the canonical CSV form.
//!
//! Importers build a [`Series`] in memory and `clean` edits one; both write it here, so every
//! file meshcap produces reads back with [`Series::load`] unchanged. Memory and limits are
//! written in bytes (exact; the readers take quantities or bytes), times as RFC 3339 UTC with
//! millisecond precision (what Prometheus timestamps carry), numbers in the shortest form that
//! reads back to the same `f64`.

use super::{Cell, Series};

/// The canonical CSV bytes of `series`, after `#` comment lines (provenance, what an importer
/// dropped).
pub fn to_csv(series: &Series, comments: &[String]) -> Vec<u8> {
    let mut out = Vec::with_capacity(64 + series.rows.len() * (16 * series.columns.len() + 26));
    write_csv(series, comments, &mut out).expect("writing to memory does not fail");
    out
}

/// Rows formatted per task: large enough to amortise a task, small enough to keep a batch of
/// them (two per core) a few MB.
const ROWS_PER_TASK: usize = 1 << 15;

/// [`to_csv`] into `out`, in batches: a fleet's long form (10^7 rows, 1.6 GB) is never held as
/// text. Each batch's rows are formatted on the cores and written in order, so the bytes are
/// the same at any thread count.
pub fn write_csv(series: &Series, comments: &[String], out: &mut (dyn std::io::Write + Send)) -> std::io::Result<()> {
    let mut head = Vec::new();
    // The series' metric is the record: a `memory-metric:` line among the comments (kept from
    // an input by `clean`) gives way to it.
    let key = super::memory_metric::COMMENT_KEY;
    let metric = (!series.memory_metric.is_working_set()).then(|| format!("{key} {}", series.memory_metric));
    for c in comments.iter().filter(|c| !c.trim_start().starts_with(key)).chain(&metric) {
        for line in c.lines() {
            head.extend_from_slice(b"# ");
            head.extend_from_slice(line.as_bytes());
            head.push(b'\n');
        }
    }
    let layout = Layout::of(series);
    let mut header: Vec<&str> = Vec::new();
    if layout.time {
        header.push("time");
    }
    header.extend(series.columns.iter().map(|c| c.name.as_str()));
    if layout.event {
        header.push("event");
    }
    if layout.note {
        header.push("note");
    }
    for (k, h) in header.iter().enumerate() {
        if k > 0 {
            head.push(b',');
        }
        push_text(&mut head, h);
    }
    head.push(b'\n');
    out.write_all(&head)?;
    let n = series.rows.len();
    let per_batch = ROWS_PER_TASK * 2 * rayon::current_num_threads().max(1);
    let format = |start: usize| -> Vec<Vec<u8>> {
        use rayon::prelude::*;
        let end = (start + per_batch).min(n);
        let tasks: Vec<(usize, usize)> =
            (start..end).step_by(ROWS_PER_TASK).map(|a| (a, (a + ROWS_PER_TASK).min(end))).collect();
        tasks.par_iter().map(|&(a, b)| layout.rows(series, a..b)).collect()
    };
    // Each batch is written while the next is formatted.
    let mut ready = format(0);
    let mut start = per_batch;
    loop {
        if start >= n {
            return ready.iter().try_for_each(|t| out.write_all(t));
        }
        let (written, next) = rayon::join(|| ready.iter().try_for_each(|t| out.write_all(t)), || format(start));
        written?;
        ready = next;
        start += per_batch;
    }
}

/// Which optional columns a series writes, and its label cells pre-formatted.
struct Layout {
    time: bool,
    event: bool,
    note: bool,
    /// Per column: each label's cell as written (quoted if needed), for label columns.
    labels: Vec<Option<Vec<Vec<u8>>>>,
}

impl Layout {
    fn of(series: &Series) -> Layout {
        let labels = series
            .columns
            .iter()
            .map(|c| {
                c.label_ids().map(|(_, names)| {
                    names
                        .iter()
                        .map(|t| {
                            let mut b = Vec::new();
                            push_text(&mut b, t);
                            b
                        })
                        .collect()
                })
            })
            .collect();
        Layout {
            time: series.rows.any_time(),
            event: !series.event_rows.is_empty(),
            note: series.rows.any_note(),
            labels,
        }
    }

    /// The lines of rows `range`.
    fn rows(&self, series: &Series, range: std::ops::Range<usize>) -> Vec<u8> {
        let mut out = Vec::with_capacity(range.len() * (16 * series.columns.len() + 26));
        for i in range {
            let mut first = true;
            let mut sep = |out: &mut Vec<u8>| {
                if !std::mem::take(&mut first) {
                    out.push(b',');
                }
            };
            if self.time {
                sep(&mut out);
                if let Some(t) = series.rows.time(i) {
                    write_time(&mut out, t);
                }
            }
            for (col, labels) in series.columns.iter().zip(&self.labels) {
                sep(&mut out);
                if let (Some((ids, _)), Some(labels)) = (col.label_ids(), labels) {
                    if let Some(t) = labels.get(ids[i] as usize) {
                        out.extend_from_slice(t);
                    }
                    continue;
                }
                let v = col.values()[i];
                if v.is_nan() {
                    if let Cell::Text(t) = col.get(i) {
                        push_text(&mut out, &t);
                    }
                } else {
                    push_number(&mut out, v);
                }
            }
            if self.event {
                sep(&mut out);
                if let Some(e) = series.rows.event(i) {
                    out.extend_from_slice(e.as_str().as_bytes());
                }
            }
            if self.note {
                sep(&mut out);
                if let Some(n) = series.rows.note(i) {
                    push_text(&mut out, n);
                }
            }
            if out.last() == Some(&b'\n') || out.is_empty() {
                // Every cell empty in a one-column series: a blank line would read back as no row.
                out.extend_from_slice(b"\"\"");
            }
            out.push(b'\n');
        }
        out
    }
}

/// A text cell, quoted when it holds a comma, a quote, a line break or edge spaces.
fn push_text(out: &mut Vec<u8>, t: &str) {
    let needs = t.bytes().any(|b| matches!(b, b',' | b'"' | b'\n' | b'\r' | b'#')) || t.trim() != t;
    if !needs {
        out.extend_from_slice(t.as_bytes());
        return;
    }
    out.push(b'"');
    for b in t.bytes() {
        if b == b'"' {
            out.push(b'"');
        }
        out.push(b);
    }
    out.push(b'"');
}

fn push_number(out: &mut Vec<u8>, v: f64) {
    if v == v.trunc() && v.abs() < 1e15 {
        push_int(out, v as i64);
    } else {
        out.extend_from_slice(format!("{v}").as_bytes());
    }
}

fn push_int(out: &mut Vec<u8>, v: i64) {
    if v < 0 {
        out.push(b'-');
    }
    let mut n = v.unsigned_abs();
    let mut digits = [0u8; 20];
    let mut k = digits.len();
    loop {
        k -= 1;
        digits[k] = b'0' + (n % 10) as u8;
        n /= 10;
        if n == 0 {
            break;
        }
    }
    out.extend_from_slice(&digits[k..]);
}

/// Shortest round-trip form; integers without a fraction.
pub fn format_number(v: f64) -> String {
    let mut out = Vec::new();
    push_number(&mut out, v);
    String::from_utf8(out).expect("ASCII")
}

/// Unix seconds as RFC 3339 UTC, rounded to the millisecond (`2026-01-01T00:00:30.5Z`).
pub fn format_time(t: f64) -> String {
    let mut s = Vec::new();
    write_time(&mut s, t);
    String::from_utf8(s).expect("ASCII")
}

/// Years 0000 to 9999 only; other times are written as unix seconds. Digits are written by
/// hand: this runs once per row of million-row imports.
fn write_time(out: &mut Vec<u8>, t: f64) {
    let ms = (t * 1000.0).round();
    // 0000-01-01 to 9999-12-31, in unix milliseconds.
    if !(-62_167_219_200_000.0..253_402_300_800_000.0).contains(&ms) {
        out.extend_from_slice(format_number(t).as_bytes());
        return;
    }
    let ms = ms as i64;
    let (secs, frac) = (ms.div_euclid(1000), ms.rem_euclid(1000));
    let (days, sod) = (secs.div_euclid(86_400), secs.rem_euclid(86_400));
    let (y, m, d) = civil_from_days(days);
    let mut b = *b"0000-00-00T00:00:00.000Z";
    let put = |b: &mut [u8; 24], at: usize, v: u32, width: usize| {
        let mut v = v;
        for k in (at..at + width).rev() {
            b[k] = b'0' + (v % 10) as u8;
            v /= 10;
        }
    };
    put(&mut b, 0, y as u32, 4);
    put(&mut b, 5, m, 2);
    put(&mut b, 8, d, 2);
    put(&mut b, 11, (sod / 3600) as u32, 2);
    put(&mut b, 14, (sod % 3600 / 60) as u32, 2);
    put(&mut b, 17, (sod % 60) as u32, 2);
    let end = if frac == 0 {
        19
    } else {
        put(&mut b, 20, frac as u32, 3);
        // Trailing zeros of the fraction are dropped, as RFC 3339 writers do.
        let mut e = 23;
        while b[e - 1] == b'0' {
            e -= 1;
        }
        e
    };
    out.extend_from_slice(&b[..end]);
    out.push(b'Z');
}

/// Days since 1970-01-01 to (year, month, day), proleptic Gregorian (H. Hinnant's algorithm).
fn civil_from_days(z: i64) -> (i64, u32, u32) {
    let z = z + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let y = yoe + era * 400;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let m = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    (if m <= 2 { y + 1 } else { y }, m, d)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::series::{Column, Event, Row};
    use std::path::Path;

    #[test]
    fn times_agree_with_the_time_crate() {
        let rfc = time::format_description::well_known::Rfc3339;
        // Leap days, century rules, the epoch, before it, millisecond fractions.
        for t in [
            0.0,
            -1.5,
            951_782_400.0,
            4_107_542_399.999,
            1_767_225_630.781,
            1_435_781_430.5,
            -2_208_988_800.0,
            253_402_300_799.0,
        ] {
            let ms = (t * 1000.0_f64).round() as i128;
            let want = time::OffsetDateTime::from_unix_timestamp_nanos(ms * 1_000_000).unwrap().format(&rfc).unwrap();
            assert_eq!(format_time(t), want, "{t}");
        }
        assert_eq!(format_number(-12.0), "-12");
        assert_eq!(format_number(0.1), "0.1");
    }

    #[test]
    fn batches_write_the_same_bytes_at_any_thread_count() {
        // 3.5 tasks' worth of rows over several proxies: the batches join in row order.
        let n = ROWS_PER_TASK * 7 / 2;
        let mut proxy = Column::new("proxy");
        for i in 0..n {
            proxy.push_label(&format!("ns{}/p{}", i % 3, i / 1000));
        }
        let memory = Column::numbers("memory".into(), (0..n).map(|i| 1e8 + i as f64).collect());
        let times: Vec<f64> = (0..n).map(|i| 1_767_225_600.0 + 30.0 * i as f64).collect();
        let s = Series::from_columns(Path::new("x.csv"), vec![]).unwrap();
        let s =
            Series { rows: crate::series::Rows::numbered(n, Some(times.clone())), columns: vec![proxy, memory], ..s };
        let many = to_csv(&s, &[]);
        let one = rayon::ThreadPoolBuilder::new().num_threads(1).build().unwrap().install(|| to_csv(&s, &[]));
        assert!(many == one, "one thread and several differ");
        // Row by row, as a hand-written writer would: time, proxy, memory.
        let mut expected = String::from("time,proxy,memory\n");
        for (i, t) in times.iter().enumerate() {
            expected.push_str(&format!("{},ns{}/p{},{}\n", format_time(*t), i % 3, i / 1000, 100_000_000 + i));
        }
        assert!(many == expected.as_bytes(), "batched output differs from the row-by-row text");
    }

    #[test]
    fn round_trips_through_the_reader() {
        let mut mem = Column::new("memory");
        let mut ports = Column::new("ports");
        for (m, p) in [(54525952.0, 0.0), (1.5, 8.0), (f64::NAN, 16.0)] {
            mem.push(if m.is_nan() { Cell::Empty } else { Cell::Number(m) });
            ports.push(Cell::Number(p));
        }
        let rows = vec![
            Row { line: 1, event: None, time: Some(1767225600.0), note: Some("a, \"quoted\"".into()) },
            Row { line: 2, event: Some(Event::DoubleCount), time: Some(1767225630.781), note: None },
            Row { line: 3, event: Some(Event::Oom), time: None, note: None },
        ];
        let mut rows_in = crate::series::Rows::default();
        rows.into_iter().for_each(|r| rows_in.push(r));
        let rows = rows_in;
        let s = Series {
            path: "x.csv".into(),
            event_rows: Series::index_events(&rows),
            rows,
            columns: vec![ports, mem],
            json: false,
            memory_metric: crate::series::MemoryMetric::EnvoyHeap,
        };
        let bytes = to_csv(&s, &["made by a test".into()]);
        let text = String::from_utf8(bytes).unwrap();
        assert!(text.starts_with(
            "# made by a test\n# memory-metric: envoy_server_memory_heap_size\ntime,ports,memory,event,note\n2026-01-01T00:00:00Z,0,54525952,,"
        ));
        assert!(text.contains("2026-01-01T00:00:30.781Z,8,1.5,double-count,"), "{text}");
        let back = crate::series::csv::parse(Path::new("x.csv"), &text).unwrap();
        assert!(text.contains(",\"a, \"\"quoted\"\"\"\n"), "{text}");
        assert_eq!(format!("{:?}", back.columns), format!("{:?}", s.columns));
        assert_eq!(back.memory_metric, crate::series::MemoryMetric::EnvoyHeap);
        assert_eq!(
            back.rows.iter().map(|r| (r.event, r.time, r.note.clone())).collect::<Vec<_>>(),
            s.rows.iter().map(|r| (r.event, r.time, r.note.clone())).collect::<Vec<_>>()
        );
    }
}
