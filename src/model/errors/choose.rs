//! Which error structure a fit uses, and the groups or clusters it is built on: `auto`'s
//! choice (with its reason) and the ids read from a proxy or cluster column.

use std::collections::HashMap;

use super::input::FitInput;
use super::{ErrorSpec, PROXY};
use crate::error::{Error, Result};
use crate::series::{Cell, Series};

/// The concrete structure and why, in one line.
pub(crate) fn resolve(spec: &ErrorSpec, input: &FitInput, timed: bool) -> Result<(ErrorSpec, String)> {
    let readings = input.rows.len();
    Ok(match spec {
        ErrorSpec::Auto => {
            let proxies = input.series.column(PROXY).map(|_| group_ids(input.series, input.rows, PROXY)).transpose()?;
            let snapshot = proxies.as_ref().is_some_and(|(ids, names)| names.len() >= 2 && ids.len() == names.len());
            match proxies {
                Some((ids, names)) if names.len() >= 2 && ids.len() > names.len() => (
                    ErrorSpec::Group(PROXY.into()),
                    format!("group=proxy (auto): the series pools {} proxies in a proxy column", names.len()),
                ),
                // A snapshot with one reading per proxy has no offsets to tell apart: pool it.
                _ if snapshot => (
                    if timed { ErrorSpec::Levels } else { ErrorSpec::Iid },
                    format!(
                        "{} (auto): one reading per proxy, so proxy offsets cannot be told from noise; readings pooled",
                        if timed { "levels" } else { "iid" }
                    ),
                ),
                _ if timed => (
                    ErrorSpec::Levels,
                    format!(
                        "levels (auto): the series has a time column, so its {readings} readings are a time series"
                    ),
                ),
                _ => (ErrorSpec::Iid, "iid (auto): no time or proxy column, readings taken as independent".into()),
            }
        }
        other => (other.clone(), format!("{other}: as asked (--errors {other})")),
    })
}

/// Group ids per fitted row from a column's cells, and the names in order of appearance.
pub(crate) fn group_ids(series: &Series, rows: &[usize], column: &str) -> Result<(Vec<u32>, Vec<String>)> {
    if ["time", "event", "note", crate::series::MEMORY, crate::series::LIMIT].contains(&column) {
        return Err(Error::invalid(format!(
            "--errors names column \"{column}\", which cannot identify proxies or clusters; use a column such as proxy or pod"
        )));
    }
    let col = series.column(column).ok_or_else(|| {
        let names: Vec<&str> = series.columns.iter().map(|c| c.name.as_str()).collect();
        Error::data(
            format!("--errors names column \"{column}\", which the series lacks; columns are: {}", names.join(", ")),
            &series.path,
        )
    })?;
    if let Some((all, labels)) = col.label_ids() {
        // A label column is already interned: renumber in order of appearance on `rows`.
        let mut map = vec![u32::MAX; labels.len()];
        let mut names = Vec::new();
        let mut ids = Vec::with_capacity(rows.len());
        for &i in rows {
            let Some(slot) = map.get_mut(all[i] as usize) else {
                return Err(Error::parse(
                    format!("{column} is empty: every fitted row needs its group"),
                    series.location(i, column),
                ));
            };
            if *slot == u32::MAX {
                *slot = names.len() as u32;
                names.push(labels[all[i] as usize].clone());
            }
            ids.push(*slot);
        }
        return Ok((ids, names));
    }
    let mut index: HashMap<String, u32> = HashMap::new();
    let mut names = Vec::new();
    let mut ids = Vec::with_capacity(rows.len());
    for &i in rows {
        let name = match col.get(i) {
            Cell::Number(v) => v.to_string(),
            Cell::Text(t) => t,
            Cell::Empty => {
                return Err(Error::parse(
                    format!("{column} is empty: every fitted row needs its group"),
                    series.location(i, column),
                ))
            }
        };
        let id = *index.entry(name).or_insert_with_key(|k| {
            names.push(k.clone());
            names.len() as u32 - 1
        });
        ids.push(id);
    }
    Ok((ids, names))
}

/// Cluster ids by predictor values (one cluster per configuration level).
pub(crate) fn level_ids(input: &FitInput) -> (Vec<u32>, usize) {
    let mut index: HashMap<Vec<u64>, u32> = HashMap::new();
    let ids = (0..input.rows.len())
        .map(|i| {
            let key: Vec<u64> = input.design.iter().filter(|c| c.power != 0).map(|c| c.base[i].to_bits()).collect();
            let next = index.len() as u32;
            *index.entry(key).or_insert(next)
        })
        .collect();
    (ids, index.len())
}
