//! Cleaning a long-form series proxy by proxy.
//!
//! A fleet import holds many proxies one after another; a restart of one proxy says nothing
//! about the next, and the reading "before" a proxy's first row belongs to another proxy. So
//! a series with a `proxy` column is cleaned as one sub-series per proxy (rows in time order)
//! and the marks are put back on the whole.

use std::collections::HashMap;

use super::{clean, CleanReport, CleanSettings};
use crate::error::Result;
use crate::series::{Cell, Series};

/// The column naming each row's proxy.
const PROXY: &str = "proxy";

/// The rows of each proxy, in order of first appearance; `None` without a proxy column.
fn proxy_rows(series: &Series) -> Option<Vec<Vec<usize>>> {
    let col = series.column(PROXY)?;
    if let Some((ids, names)) = col.label_ids() {
        let mut out: Vec<Vec<usize>> = vec![Vec::new(); names.len() + 1];
        for (i, &id) in ids.iter().enumerate() {
            out[(id as usize).min(names.len())].push(i);
        }
        out.retain(|rows| !rows.is_empty());
        return Some(out);
    }
    let mut index: HashMap<String, usize> = HashMap::new();
    let mut out: Vec<Vec<usize>> = Vec::new();
    for i in 0..series.rows.len() {
        let name = match col.get(i) {
            Cell::Text(t) => t,
            Cell::Number(v) => v.to_string(),
            Cell::Empty => String::new(),
        };
        let k = *index.entry(name).or_insert_with(|| {
            out.push(Vec::new());
            out.len() - 1
        });
        out[k].push(i);
    }
    Some(out)
}

/// The sub-series of `rows` (same path, lines and columns).
fn subset(series: &Series, rows: &[usize]) -> Series {
    let columns = series.columns.iter().map(|c| c.subset(rows)).collect();
    let rows_out: Vec<_> = rows.iter().map(|&i| series.rows[i].clone()).collect();
    let event_rows = Series::index_events(&rows_out);
    Series { path: series.path.clone(), rows: rows_out, columns, json: series.json, event_rows }
}

/// [`clean`] each proxy of a long-form series on its own (a series without a proxy column is
/// cleaned whole); the report lists every change in row order.
pub fn clean_by_proxy(series: &Series, settings: &CleanSettings) -> Result<(Series, CleanReport)> {
    let Some(groups) = proxy_rows(series).filter(|g| g.len() > 1) else { return clean(series, settings) };
    let mut out = series.clone();
    let mut report = CleanReport { changes: Vec::new(), restarts: 0, ooms: 0, double_counted_rows: 0, fix: None };
    for rows in groups {
        let (cleaned, r) = clean(&subset(series, &rows), settings)?;
        for (k, &i) in rows.iter().enumerate() {
            out.rows[i].event = cleaned.rows[k].event;
        }
        report.changes.extend(r.changes);
        report.restarts += r.restarts;
        report.ooms += r.ooms;
        report.double_counted_rows += r.double_counted_rows;
        report.fix = report.fix.or(r.fix);
    }
    report.changes.sort_by_key(|c| c.line);
    out.event_rows = Series::index_events(&out.rows);
    Ok((out, report))
}
