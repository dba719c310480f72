//! Cleaning a long-form series proxy by proxy.
//!
//! A fleet import holds many proxies one after another; a restart of one proxy says nothing
//! about the next, and the reading "before" a proxy's first row belongs to another proxy. So
//! a series with a `proxy` column is cleaned as one sub-series per proxy (rows in time order)
//! and the marks are put back on the whole.

use std::collections::HashMap;

use super::{clean, CleanReport, CleanSettings};
use crate::error::{Error, Result};
use crate::series::{Cell, Series};

/// The column naming each row's proxy.
const PROXY: &str = "proxy";

/// The rows of each proxy with its name, in order of first appearance; `None` without a
/// proxy column.
fn proxy_rows(series: &Series) -> Option<Vec<(String, Vec<usize>)>> {
    let col = series.column(PROXY)?;
    if let Some((ids, names)) = col.label_ids() {
        let mut out: Vec<(String, Vec<usize>)> =
            names.iter().cloned().chain([String::new()]).map(|n| (n, Vec::new())).collect();
        for (i, &id) in ids.iter().enumerate() {
            out[(id as usize).min(names.len())].1.push(i);
        }
        out.retain(|(_, rows)| !rows.is_empty());
        return Some(out);
    }
    let mut index: HashMap<String, usize> = HashMap::new();
    let mut out: Vec<(String, Vec<usize>)> = Vec::new();
    for i in 0..series.rows.len() {
        let name = match col.get(i) {
            Cell::Text(t) => t,
            Cell::Number(v) => v.to_string(),
            Cell::Empty => String::new(),
        };
        let k = *index.entry(name.clone()).or_insert_with(|| {
            out.push((name, Vec::new()));
            out.len() - 1
        });
        out[k].1.push(i);
    }
    Some(out)
}

/// The sub-series of `rows` (same path and lines) with the columns cleaning reads: every
/// column but the proxy's (its dictionary holds every proxy's name).
fn subset(series: &Series, rows: &[usize]) -> Series {
    let columns = series.columns.iter().filter(|c| c.name != PROXY).map(|c| c.subset(rows)).collect();
    let rows_out = series.rows.subset(rows);
    let event_rows = Series::index_events(&rows_out);
    Series {
        path: series.path.clone(),
        rows: rows_out,
        columns,
        json: series.json,
        event_rows,
        memory_metric: series.memory_metric.clone(),
    }
}

/// [`clean`] each proxy of a long-form series on its own (a series without a proxy column is
/// cleaned whole); the report lists every change in row order.
pub fn clean_by_proxy(series: &Series, settings: &CleanSettings) -> Result<(Series, CleanReport)> {
    clean_by_proxy_owned(series.clone(), settings)
}

/// [`clean_by_proxy`] marking the events in `series` itself (no copy of a fleet's long form).
/// Proxies are cleaned on the cores; their marks and reports are joined in proxy order, so the
/// result does not depend on the thread count.
pub fn clean_by_proxy_owned(mut series: Series, settings: &CleanSettings) -> Result<(Series, CleanReport)> {
    let groups = match proxy_rows(&series) {
        Some(g) if g.len() > 1 => g,
        Some(g) => {
            // One proxy by name: its records only.
            let name = g.into_iter().next().map(|g| g.0).unwrap_or_default();
            let (mut own, unmatched) = super::records::by_proxy(&settings.terminations, std::slice::from_ref(&name));
            let s = CleanSettings { terminations: own.remove(&name).unwrap_or_default(), ..settings.clone() };
            let (out, mut report) = clean(&series, &s)?;
            report.records_unmatched += unmatched;
            return Ok((out, report));
        }
        None => return clean_one(series, settings),
    };
    let names: Vec<String> = groups.iter().map(|g| g.0.clone()).collect();
    let (mut records, unmatched) = super::records::by_proxy(&settings.terminations, &names);
    let cleaned: Vec<Result<(Vec<Option<crate::series::Event>>, CleanReport)>> = {
        use rayon::prelude::*;
        let series = &series;
        let own: Vec<CleanSettings> = groups
            .iter()
            .map(|(name, _)| CleanSettings {
                terminations: records.remove(name).unwrap_or_default(),
                ..settings.clone()
            })
            .collect();
        groups
            .par_iter()
            .zip(own.par_iter())
            .map(|((_, rows), s)| clean(&subset(series, rows), s).map(|(c, r)| (c.rows.events().to_vec(), r)))
            .collect()
    };
    let mut report = CleanReport { records_unmatched: unmatched, ..CleanReport::default() };
    for ((_, rows), part) in groups.iter().zip(cleaned) {
        let (events, r) = part?;
        for (&i, e) in rows.iter().zip(events) {
            series.rows.set_event(i, e);
        }
        report.changes.extend(r.changes);
        report.restarts += r.restarts;
        report.ooms += r.ooms;
        report.ooms_recorded += r.ooms_recorded;
        report.ooms_guessed += r.ooms_guessed;
        report.recorded_other += r.recorded_other;
        report.records_unmatched += r.records_unmatched;
        report.double_counted_rows += r.double_counted_rows;
        report.fix = report.fix.or(r.fix);
    }
    report.changes.sort_by_key(|c| c.line);
    series.event_rows = Series::index_events(&series.rows);
    Ok((series, report))
}

/// A series of one proxy: its pod List records must all be of one pod (the List may hold
/// others: name the pod with `--pod` to keep only its records).
fn clean_one(series: Series, settings: &CleanSettings) -> Result<(Series, CleanReport)> {
    let mut pods: Vec<&str> = settings.terminations.iter().map(|t| t.pod.as_str()).collect();
    pods.sort_unstable();
    pods.dedup();
    if pods.len() > 1 {
        return Err(Error::data(
            format!(
                "the termination records are of {} pods ({}{}) but the series has no proxy column: it is one proxy, so keep one pod's records (clean --pod NAMESPACE/NAME)",
                pods.len(),
                pods.iter().take(5).copied().collect::<Vec<_>>().join(", "),
                if pods.len() > 5 { ", ..." } else { "" }
            ),
            &series.path,
        ));
    }
    clean(&series, settings)
}
