//! `meshcap import prometheus`: query_range responses to a canonical series.
//!
//! Each column (memory, and revisions or ports, optionally restarts, the limit and the last
//! termination reason, [`super::terminated`]) comes from one PromQL query, answered live by [`http::Client`](super::http::Client) or read from a
//! saved response: both land in [`import`] as bytes, so a saved file and a live server go
//! through the same code. Long ranges are split into requests of at most
//! [`MAX_POINTS_PER_REQUEST`] steps (Prometheus refuses more than 11,000 points per series).

use std::collections::BTreeMap;

use super::align::{align, infer_step};
use super::answer::merge_bodies;
pub use super::answer::{decode_bodies, Answer};
use super::promjson::QueryResult;
use super::select::select;
pub use super::time_flags::{parse_duration, parse_time_flag};
use super::TimeSeries;
use crate::error::{Error, Result};
use crate::series::{Column, MemoryMetric, Series, LAST_TERMINATED, MEMORY};

/// Steps per request (Prometheus' own cap is 11,000 points per series).
pub const MAX_POINTS_PER_REQUEST: f64 = 10_000.0;

/// Steps per import: 10^7 (ten years of 30 s steps, 1,000 requests per query).
pub const MAX_STEPS: f64 = 1e7;

use super::prom_parts::{check_values, imported, number_column};
pub use super::prom_parts::{Report, Settings, COLUMNS};

/// Turn the answers into a canonical series (path `out` for messages) and the comments that
/// record its provenance.
pub fn import(
    mut answers: Vec<Answer>,
    settings: &Settings,
    provenance: &str,
) -> Result<(Series, Vec<String>, Report)> {
    if !answers.iter().any(|a| a.column == MEMORY) {
        return Err(Error::invalid("a memory query or --memory-file is required"));
    }
    if !answers.iter().any(|a| a.column == "revisions" || a.column == "ports") {
        return Err(Error::invalid("a revisions or ports query (or file) is required: memory alone cannot be fitted"));
    }
    let mut report = Report::default();
    let comments = vec![provenance.to_string()];
    for (k, a) in answers.iter().enumerate() {
        if answers[..k].iter().any(|b| b.column == a.column) {
            return Err(Error::invalid(format!("two inputs fill the {} column", a.column)));
        }
    }
    // Responses are independent: decode them in parallel (the first error, in input order, wins).
    let mut decoded: Vec<Result<QueryResult>> = {
        use rayon::prelude::*;
        answers.par_iter_mut().map(merge_bodies).collect()
    };
    let metric = memory_metric(&answers, &decoded);
    // The termination reasons are looked up per row once the others are aligned.
    let reasons = match answers.iter().position(|a| a.column == LAST_TERMINATED) {
        Some(k) => {
            let a = answers.remove(k);
            Some(super::terminated::decode(&a, decoded.remove(k), &mut report)?)
        }
        None => None,
    };
    let (mut series, mut comments, mut report) = match &settings.by {
        Some(by) => {
            let (mut series, mut comments, mut report) =
                super::fleet::import_by(&answers, decoded, by, settings, report, comments)?;
            if let Some(r) = reasons {
                super::fleet::add_reasons(&mut series, r, by, settings, &mut report, &mut comments)?;
            }
            (series, comments, report)
        }
        None => {
            let (mut series, mut comments, mut report) = import_single(&answers, decoded, settings, report, comments)?;
            if let Some(r) = reasons {
                let filters = &settings.selection.filters;
                super::terminated::add_single(&mut series, r, filters, &mut report, &mut comments)?;
            }
            (series, comments, report)
        }
    };
    if let Some(m) = metric {
        if !m.is_working_set() {
            report.warnings.push(format!(
                "memory is {m}: {}; fit refuses it against a container limit unless converted with --memory-allowance",
                m.shortfall()
            ));
        }
        comments.push(format!("memory metric: {m} (from the memory query or its response's __name__)"));
        series.memory_metric = m;
    }
    Ok((series, comments, report))
}

/// The memory metric an import reads: the `__name__` labels of the memory response, else the
/// metric names in the memory query's text; `None` when neither names one.
fn memory_metric(answers: &[Answer], decoded: &[Result<QueryResult>]) -> Option<MemoryMetric> {
    let k = answers.iter().position(|a| a.column == MEMORY)?;
    let names = decoded[k].as_ref().ok().and_then(|r| {
        MemoryMetric::from_names(r.series.iter().filter_map(|s| s.labels.get("__name__").map(String::as_str)))
    });
    names.or_else(|| answers[k].query.as_deref().and_then(MemoryMetric::from_promql))
}

/// Without `--by`: one series per column, aligned on memory.
fn import_single(
    answers: &[Answer],
    decoded: Vec<Result<QueryResult>>,
    settings: &Settings,
    mut report: Report,
    mut comments: Vec<String>,
) -> Result<(Series, Vec<String>, Report)> {
    let mut picked: BTreeMap<&'static str, TimeSeries> = BTreeMap::new();
    let mut labels_seen: std::collections::BTreeSet<String> = std::collections::BTreeSet::new();
    for (a, result) in answers.iter().zip(decoded) {
        let result = result?;
        labels_seen.extend(result.series.iter().flat_map(|s| s.labels.keys().cloned()));
        for w in &result.warnings {
            report.warnings.push(format!("{}: {w}", a.origin));
        }
        if result.non_finite > 0 {
            report.non_finite.insert(a.column.to_string(), result.non_finite);
        }
        let ts = select(&a.origin, result.series, &settings.selection).map_err(Error::Invalid)?;
        if let Some(w) = check_values(a.column, &a.origin, &ts)? {
            report.warnings.push(w);
        }
        report.series.insert(a.column.to_string(), ts.label_set());
        let what = match &a.query {
            Some(q) => format!("{}: {q}", a.column),
            None => format!("{}: {}", a.column, a.origin),
        };
        comments.push(format!("{what} -> {} ({} samples)", ts.label_set(), ts.len()));
        picked.insert(a.column, ts);
    }
    if let Some((k, _)) = settings.selection.filters.iter().find(|(k, _)| !labels_seen.contains(k)) {
        let seen: Vec<&str> = labels_seen.iter().map(String::as_str).collect();
        return Err(Error::invalid(format!(
            "--select {k}=...: no series of any response has the label \"{k}\" (labels seen: {})",
            if seen.is_empty() { "none".to_string() } else { seen.join(", ") }
        )));
    }
    assemble(picked, settings, report, comments)
}

/// Align the picked series on memory and build the canonical series (shared with the Grafana
/// importer).
pub(crate) fn assemble(
    mut picked: BTreeMap<&'static str, TimeSeries>,
    settings: &Settings,
    mut report: Report,
    mut comments: Vec<String>,
) -> Result<(Series, Vec<String>, Report)> {
    let memory = picked.remove(MEMORY).expect("checked");
    let step = match settings.step {
        Some(s) => s,
        None => infer_step(&memory.times).unwrap_or(1.0),
    };
    report.step_seconds = step;
    let names: Vec<&'static str> = COLUMNS.iter().copied().filter(|c| picked.contains_key(c)).collect();
    let others: Vec<&TimeSeries> = names.iter().map(|n| &picked[n]).collect();
    let aligned = align(&memory, &others, step);
    for (n, d) in names.iter().zip(&aligned.dropped) {
        if *d > 0 {
            report.dropped_misaligned.insert(n.to_string(), *d);
            comments.push(format!("dropped {d} memory samples with no {n} sample within {} s", step / 2.0));
        }
    }
    report.dropped_rows = aligned.dropped_rows;
    for (col, n) in &report.non_finite {
        comments.push(format!("dropped {n} NaN/Inf points of {col}"));
    }
    if aligned.times.is_empty() {
        return Err(Error::invalid(format!(
            "no memory sample has a sample of every other column within {} s: the series do not overlap in time",
            step / 2.0
        )));
    }
    report.rows = aligned.times.len();

    let mut columns: Vec<Column> = Vec::new();
    for (n, values) in names.iter().zip(&aligned.columns) {
        columns.push(number_column(n, values));
    }
    if let (Some(l), false) = (settings.limit_bytes, names.contains(&"limit")) {
        columns.push(number_column("limit", &vec![l; aligned.times.len()]));
    }
    columns.push(number_column(MEMORY, &aligned.memory));
    Ok((imported(columns, aligned.times), comments, report))
}

/// The `(start, end)` windows of at most [`MAX_POINTS_PER_REQUEST`] steps covering a range.
/// Callers bound the range to [`MAX_STEPS`]; a span too small to move the start ends it.
pub fn windows(start: f64, end: f64, step: f64) -> Vec<(f64, f64)> {
    let span = MAX_POINTS_PER_REQUEST * step;
    let mut out = Vec::new();
    let mut s = start;
    loop {
        let e = (s + span).min(end);
        out.push((s, e));
        if e >= end || e <= s {
            break;
        }
        s = e;
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations_times_and_windows() {
        assert_eq!(parse_duration("1h30m").unwrap(), 5400.0);
        assert_eq!(parse_duration("500ms").unwrap(), 0.5);
        assert_eq!(parse_duration("15").unwrap(), 15.0);
        assert!(parse_duration("10x").is_err() && parse_duration("0").is_err() && parse_duration("m").is_err());
        assert_eq!(parse_time_flag("now-1h", 10_000.0).unwrap(), 6400.0);
        assert_eq!(parse_time_flag("2026-01-01T00:00:00Z", 0.0).unwrap(), 1767225600.0);
        let w = windows(0.0, 25_000.0, 1.0);
        assert_eq!(w, vec![(0.0, 10_000.0), (10_000.0, 20_000.0), (20_000.0, 25_000.0)]);
    }

    fn body(series: &[(&str, &[(f64, &str)])]) -> Vec<u8> {
        let result: Vec<String> = series
            .iter()
            .map(|(pod, pts)| {
                let vals: Vec<String> = pts.iter().map(|(t, v)| format!("[{t},\"{v}\"]")).collect();
                format!("{{\"metric\":{{\"pod\":\"{pod}\"}},\"values\":[{}]}}", vals.join(","))
            })
            .collect();
        format!("{{\"status\":\"success\",\"data\":{{\"resultType\":\"matrix\",\"result\":[{}]}}}}", result.join(","))
            .into_bytes()
    }

    #[test]
    fn joins_chunks_and_aligns() {
        let mem = Answer {
            column: MEMORY,
            origin: "memory query".into(),
            query: Some("max(x)".into()),
            bodies: vec![
                body(&[("a", &[(0.0, "100"), (30.0, "110")])]),
                body(&[("a", &[(30.0, "110"), (60.0, "NaN"), (90.0, "130")])]),
            ],
            file: None,
            decoded: None,
        };
        let ports = Answer {
            column: "ports",
            origin: "p.json".into(),
            query: None,
            bodies: vec![body(&[("a", &[(0.0, "8"), (30.0, "16"), (90.0, "24")])])],
            file: None,
            decoded: None,
        };
        // The live import decodes each window as it arrives: the same series, no text kept.
        let mut live = Answer { bodies: Vec::new(), ..mem.clone() };
        for b in &mem.bodies {
            live.bodies.push(b.clone());
            decode_bodies(&mut live).unwrap();
            assert!(live.bodies.is_empty());
        }
        let mut whole = mem.clone();
        assert_eq!(merge_bodies(&mut live).unwrap(), merge_bodies(&mut whole).unwrap());
        let (s, comments, rep) = import(vec![mem, ports], &Settings::default(), "test").unwrap();
        assert_eq!(s.column("memory").unwrap().values(), &[100.0, 110.0, 130.0]);
        assert_eq!(s.column("ports").unwrap().values(), &[8.0, 16.0, 24.0]);
        assert_eq!(rep.non_finite["memory"], 1);
        assert_eq!(rep.step_seconds, 30.0);
        assert!(comments[1].contains("max(x) -> {pod=\"a\"} (3 samples)"), "{comments:?}");
    }
}
