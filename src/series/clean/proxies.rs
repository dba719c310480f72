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

/// The sub-series of `rows` (same path and lines) with the columns cleaning reads: every
/// column but the labels (a label column's dictionary holds every proxy's name).
fn subset(series: &Series, rows: &[usize]) -> Series {
    let columns = series.columns.iter().filter(|c| c.label_ids().is_none()).map(|c| c.subset(rows)).collect();
    let rows_out = series.rows.subset(rows);
    let event_rows = Series::index_events(&rows_out);
    Series { path: series.path.clone(), rows: rows_out, columns, json: series.json, event_rows }
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
    let Some(groups) = proxy_rows(&series).filter(|g| g.len() > 1) else { return clean(&series, settings) };
    let cleaned: Vec<Result<(Vec<Option<crate::series::Event>>, CleanReport)>> = {
        use rayon::prelude::*;
        let series = &series;
        groups
            .par_iter()
            .map(|rows| clean(&subset(series, rows), settings).map(|(c, r)| (c.rows.events().to_vec(), r)))
            .collect()
    };
    let mut report = CleanReport { changes: Vec::new(), restarts: 0, ooms: 0, double_counted_rows: 0, fix: None };
    for (rows, part) in groups.iter().zip(cleaned) {
        let (events, r) = part?;
        for (&i, e) in rows.iter().zip(events) {
            series.rows.set_event(i, e);
        }
        report.changes.extend(r.changes);
        report.restarts += r.restarts;
        report.ooms += r.ooms;
        report.double_counted_rows += r.double_counted_rows;
        report.fix = report.fix.or(r.fix);
    }
    report.changes.sort_by_key(|c| c.line);
    series.event_rows = Series::index_events(&series.rows);
    Ok((series, report))
}
