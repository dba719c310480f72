//! Derived covariate terms (`kind=K`, products `a:b`) evaluated row by row from the series'
//! own columns, never stored as columns of their own.
//!
//! A fleet's long form has 2 x 10^7 rows: a stored column is 160 MB, and a fit with gateways
//! and varying workers derives four. Computing a term's values for the rows a fit (or a chart)
//! asks for costs one gather, the same as reading a plain column, and the series stays as it
//! was read, so no caller copies it to add columns. The `kind` column's vocabulary lives here
//! too ([`KIND`], [`KINDS`], [`kind_at`]): the covariates ([`super::covariates`]) build on it.

use std::borrow::Cow;

use rayon::prelude::*;

use crate::error::{Error, Result};
use crate::series::{Cell, Series};

/// Column naming the proxy's kind.
pub const KIND: &str = "kind";
/// The kinds a `kind` cell may hold.
pub const KINDS: [&str; 4] = ["sidecar", "gateway", "activator", "waypoint"];
/// Prefix of a kind indicator column (`kind=gateway`).
pub(crate) const INDICATOR: &str = "kind=";

/// True when the column is a derived covariate term (`kind=K`, a product `a:b`).
pub fn is_derived(column: &str) -> bool {
    column.contains(':') || column.starts_with(INDICATOR)
}

/// The kind of row `i`, checked: `None` for an empty cell.
pub fn kind_at(series: &Series, i: usize) -> Result<Option<&'static str>> {
    let Some(col) = series.column(KIND) else { return Ok(None) };
    match col.get(i) {
        Cell::Empty => Ok(None),
        Cell::Text(t) => KINDS.iter().find(|k| k.eq_ignore_ascii_case(t.trim())).map(|k| Some(*k)).ok_or_else(|| {
            Error::parse(
                format!("kind must be sidecar, gateway, activator or waypoint, but \"{t}\" is not"),
                series.location(i, KIND),
            )
        }),
        Cell::Number(v) => Err(Error::parse(
            format!("kind must be sidecar, gateway, activator or waypoint, but \"{v}\" is not"),
            series.location(i, KIND),
        )),
    }
}

/// One factor of a term: a numeric column, or the indicator of a kind (its index in [`KINDS`]).
enum Part<'a> {
    Number(&'a str, &'a [f64]),
    Kind(u8),
}

/// A term's factors over one series, ready to evaluate at any row.
pub(crate) struct Derived<'a> {
    parts: Vec<Part<'a>>,
    /// Each row's kind index (`u8::MAX` for none), when a factor is a kind indicator.
    kinds: Option<Vec<u8>>,
}

impl<'a> Derived<'a> {
    /// The factors of `column` (a plain column is its own single factor).
    pub(crate) fn new(series: &'a Series, column: &'a str) -> Result<Derived<'a>> {
        if let Some(k) = column.split(':').filter_map(|p| p.strip_prefix(INDICATOR)).find(|k| !KINDS.contains(k)) {
            return Err(Error::invalid(format!(
                "term {column}: \"{k}\" is not a proxy kind (sidecar, gateway, activator, waypoint)"
            )));
        }
        let mut kinds = None;
        if column.split(':').any(|p| p.starts_with(INDICATOR)) {
            if series.column(KIND).is_none() {
                return Err(Error::data(
                    format!("term {column} needs a kind column, which the series lacks"),
                    &series.path,
                ));
            }
            kinds = Some(row_kinds(series)?);
        }
        let mut parts = Vec::new();
        for part in column.split(':') {
            parts.push(match part.strip_prefix(INDICATOR) {
                Some(k) => Part::Kind(KINDS.iter().position(|x| *x == k).expect("checked") as u8),
                None => {
                    let values = series.column(part).ok_or_else(|| {
                        Error::data(
                            format!("term {column} needs a column \"{part}\", which the series lacks"),
                            &series.path,
                        )
                    })?;
                    Part::Number(part, values.values())
                }
            });
        }
        Ok(Derived { parts, kinds })
    }

    /// The term at row `i`: NaN when a factor is empty there.
    pub(crate) fn value(&self, i: usize) -> f64 {
        self.parts.iter().fold(1.0, |acc, p| match p {
            Part::Number(_, v) => acc * v[i],
            Part::Kind(k) => match self.kinds.as_ref().map_or(u8::MAX, |r| r[i]) {
                u8::MAX => f64::NAN,
                have => acc * f64::from(u8::from(have == *k)),
            },
        })
    }

    /// The error for a row whose value is NaN: the empty or non-numeric factor's cell.
    fn explain(&self, series: &Series, column: &str, i: usize) -> Error {
        for p in &self.parts {
            match p {
                Part::Number(name, v) if v[i].is_nan() => {
                    if let Err(e) = series.numbers(name, &[i]) {
                        return e;
                    }
                }
                Part::Kind(_) if self.kinds.as_ref().is_some_and(|r| r[i] == u8::MAX) => {
                    return Error::parse(format!("kind is empty, which term {column} needs"), series.location(i, KIND));
                }
                _ => {}
            }
        }
        Error::parse(format!("term {column} is not a number here"), series.location(i, KIND))
    }
}

/// Column `column`'s values at `rows`: a plain column as [`Series::numbers`] reads it, a
/// derived term computed from its factors (in parallel; the values do not depend on the
/// order). A NaN names its cell, as a plain column's does.
pub fn values<'s>(series: &'s Series, column: &str, rows: &[usize]) -> Result<Cow<'s, [f64]>> {
    if !is_derived(column) || series.column(column).is_some() {
        return series.numbers(column, rows);
    }
    let d = Derived::new(series, column)?;
    let out: Vec<f64> = rows.par_iter().map(|&i| d.value(i)).collect();
    match crate::series::first_where(&out, f64::is_nan) {
        Some(k) => Err(d.explain(series, column, rows[k])),
        None => Ok(Cow::Owned(out)),
    }
}

/// Each row's kind as an index into [`KINDS`] (`u8::MAX` for an empty cell), each distinct
/// label checked once: a fleet's long form has 10^7 rows and four kinds at most.
pub(super) fn row_kinds(series: &Series) -> Result<Vec<u8>> {
    let Some(col) = series.column(KIND) else { return Ok(vec![u8::MAX; series.rows.len()]) };
    let index = |k: Option<&str>| k.and_then(|k| KINDS.iter().position(|x| *x == k)).map_or(u8::MAX, |p| p as u8);
    let Some((ids, names)) = col.label_ids() else {
        return (0..series.rows.len()).map(|i| kind_at(series, i).map(index)).collect();
    };
    let mut of_id: Vec<Option<u8>> = vec![None; names.len()];
    let mut out = Vec::with_capacity(ids.len());
    for (i, &id) in ids.iter().enumerate() {
        let k = match of_id.get(id as usize) {
            None => u8::MAX,
            Some(Some(k)) => *k,
            Some(None) => {
                let k = index(kind_at(series, i)?);
                of_id[id as usize] = Some(k);
                k
            }
        };
        out.push(k);
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::path::Path;

    #[test]
    fn an_empty_factor_names_its_cell() {
        let text = "proxy,kind,concurrency,ports,memory\np0,sidecar,2,8,1e8\np1,,2,8,1e8\np2,gateway,,8,1e8\n";
        let s = crate::series::csv::parse(Path::new("f.csv"), text).unwrap();
        // By hand: p0 is a sidecar at 8 ports and 2 workers.
        assert_eq!(values(&s, "ports:concurrency", &[0]).unwrap()[0], 16.0);
        assert_eq!(values(&s, "ports:kind=gateway", &[0]).unwrap()[0], 0.0);
        let e = values(&s, "ports:kind=gateway", &[0, 1]).unwrap_err().to_string();
        assert!(e.contains("f.csv:3:kind") && e.contains("empty"), "{e}");
        let e = values(&s, "ports:concurrency", &[0, 2]).unwrap_err().to_string();
        assert!(e.contains("f.csv:4:concurrency"), "{e}");
        let e = values(&s, "kind=router", &[0]).unwrap_err().to_string();
        assert!(e.contains("router"), "{e}");
    }
}
