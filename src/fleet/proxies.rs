//! The proxies of a long-form series: each proxy's rows in time order and its readings now.
//!
//! A fleet import writes one row per proxy and time with a `proxy` column. Everything the
//! fleet ranks per proxy (memory now, limit now, the predictor's steps) reads from these views;
//! the pooled fit reads the series whole.

use std::collections::HashMap;

use crate::error::{Error, Result};
use crate::series::{Cell, Series, LIMIT, MEMORY};

pub use crate::import::fleet::PROXY;

/// One proxy's rows.
#[derive(Debug, Clone, PartialEq)]
pub struct ProxyRows {
    /// The proxy's name (its `proxy` cell).
    pub name: String,
    /// Row indexes into the series, in time order.
    pub rows: Vec<usize>,
}

/// Split a series into its proxies, in order of first appearance; a series without a proxy
/// column is one proxy named after its file. Each proxy's rows are sorted by time.
pub fn split(series: &Series) -> Result<Vec<ProxyRows>> {
    let mut out: Vec<ProxyRows> = Vec::new();
    match series.column(PROXY) {
        None => {
            let name = series.path.file_stem().map_or_else(|| "proxy".into(), |s| s.to_string_lossy().into_owned());
            out.push(ProxyRows { name, rows: (0..series.rows.len()).collect() });
        }
        Some(col) if col.label_ids().is_some() => {
            let (ids, names) = col.label_ids().expect("checked");
            let mut slot: Vec<usize> = vec![usize::MAX; names.len()];
            for (i, &id) in ids.iter().enumerate() {
                let Some(&k) = slot.get(id as usize) else {
                    return Err(Error::parse(
                        "proxy is empty: every row of a fleet names its proxy",
                        series.location(i, PROXY),
                    ));
                };
                let k = if k == usize::MAX {
                    out.push(ProxyRows { name: names[id as usize].clone(), rows: Vec::new() });
                    slot[id as usize] = out.len() - 1;
                    out.len() - 1
                } else {
                    k
                };
                out[k].rows.push(i);
            }
        }
        Some(col) => {
            let mut index: HashMap<String, usize> = HashMap::new();
            for i in 0..series.rows.len() {
                let name = match col.get(i) {
                    Cell::Text(t) => t,
                    Cell::Number(v) => crate::series::write::format_number(v),
                    Cell::Empty => {
                        return Err(Error::parse(
                            "proxy is empty: every row of a fleet names its proxy",
                            series.location(i, PROXY),
                        ))
                    }
                };
                let k = *index.entry(name.clone()).or_insert_with(|| {
                    out.push(ProxyRows { name, rows: Vec::new() });
                    out.len() - 1
                });
                out[k].rows.push(i);
            }
        }
    }
    if !series.rows.any_time() {
        return Err(Error::data(
            "the series has no time column: a fleet forecast dates each proxy's growth, so it needs readings over time (import prometheus --by namespace,pod)",
            &series.path,
        ));
    }
    for p in &mut out {
        let mut missing = None;
        for &i in &p.rows {
            if series.rows.time(i).is_none() {
                missing = Some(i);
                break;
            }
        }
        if let Some(i) = missing {
            return Err(Error::parse(
                "time is empty: a fleet forecast dates growth, so every row needs its time",
                series.location(i, "time"),
            ));
        }
        p.rows.sort_by(|&a, &b| {
            series.rows.time(a).unwrap_or(0.0).total_cmp(&series.rows.time(b).unwrap_or(0.0)).then(a.cmp(&b))
        });
    }
    Ok(out)
}

/// A proxy's readings at its last row.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Now {
    /// Time of the last reading, unix seconds.
    pub time: f64,
    /// Memory of the last reading without an event, bytes.
    pub memory_bytes: f64,
    /// The limit in force at the last row, bytes.
    pub limit_bytes: Option<f64>,
    /// The predictor at the last row.
    pub predictor: f64,
}

/// The proxy's readings now; `limit` overrides the series' limit column.
pub fn now(series: &Series, proxy: &ProxyRows, predictor: &str, limit: Option<f64>) -> Result<Option<Now>> {
    let Some(&last) = proxy.rows.last() else { return Ok(None) };
    let Some(&reading) = proxy.rows.iter().rev().find(|&&i| series.rows.event(i).is_none()) else { return Ok(None) };
    let value = |column: &str, i: usize| -> Result<f64> { Ok(series.numbers(column, &[i])?[0]) };
    let limit_bytes = match (limit, series.column(LIMIT)) {
        (Some(l), _) => Some(l),
        (None, Some(_)) => {
            let l = value(LIMIT, last)?;
            if l < crate::series::plausible::MIN_MEMORY_BYTES {
                return Err(Error::parse(
                    format!("limit {l} is under 1Mi: a proxy limit needs a unit (such as 256Mi); meshcap reads bare numbers as bytes"),
                    series.location(last, LIMIT),
                ));
            }
            Some(l)
        }
        (None, None) => None,
    };
    Ok(Some(Now {
        time: series.rows.times()[last],
        memory_bytes: value(MEMORY, reading)?,
        limit_bytes,
        predictor: value(predictor, last)?,
    }))
}
