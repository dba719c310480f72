//! Proxy kind and Envoy workers as covariates: one gateway among sidecars is dated from a
//! gateway's slope, not the sidecars'.
//!
//! A fleet's proxies differ in slope for reasons the data can name. A gateway holds listeners
//! and routes a sidecar does not; each Envoy worker holds its own copy of per-cluster state,
//! ~1.9-2.2 KB a cluster (envoy#4196, envoy PR#15231), so the per-cluster cost grows linearly
//! with `concurrency`. A long-form series with a `kind` column (`sidecar`, `gateway`,
//! `activator`, `waypoint`) and a `concurrency` column gives the fit:
//!
//! - per kind other than the baseline (sidecars when present, else the most frequent kind) an
//!   offset `kind=K` and a slope difference `DRIVER:kind=K`;
//! - where workers vary, `concurrency` and `DRIVER:concurrency` (memory per cluster per worker).
//!
//! Beside them the random offset and slope per proxy cover what the columns do not name. A
//! term that cannot be told apart from the others (a kind whose driver never moved, workers
//! that follow the kind exactly) is left out with a note naming why. The terms are columns
//! evaluated from the series' columns row by row ([`super::derived`]); a model names them, and every prediction evaluates them
//! for the proxy it is about ([`ProxyClass::value`], [`eval`]): `a:b` is the product of `a` and
//! `b`, `kind=K` is 1 for a proxy of kind K.

use rayon::prelude::*;
use serde::{Deserialize, Serialize};

use super::term::Term;
use crate::error::{Error, Result};
use crate::series::{Series, CONCURRENCY};

use super::derived::INDICATOR;
pub use super::derived::{is_derived, kind_at, KIND, KINDS};

/// What a prediction needs to know of one proxy beyond the driver: its kind and workers.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct ProxyClass {
    /// `sidecar`, `gateway`, `activator` or `waypoint`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub kind: Option<String>,
    /// Envoy workers.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub concurrency: Option<f64>,
}

impl ProxyClass {
    /// The value the column `name` takes for this proxy: `kind=K` is 1 or 0, `concurrency` its
    /// workers (when known); any other column from `other`.
    pub fn value(&self, name: &str, other: impl Fn(&str) -> f64) -> f64 {
        if let Some(k) = name.strip_prefix(INDICATOR) {
            return f64::from(u8::from(self.kind.as_deref() == Some(k)));
        }
        match (name, self.concurrency) {
            (CONCURRENCY, Some(c)) => c,
            _ => other(name),
        }
    }

    /// `gateway, 4 workers`, as notes print it.
    pub fn label(&self) -> String {
        let mut parts: Vec<String> = self.kind.iter().cloned().collect();
        if let Some(c) = self.concurrency {
            parts.push(format!("{c} workers"));
        }
        parts.join(", ")
    }
}

/// The value of a (possibly product) column: `a:b` is `a x b`, each part from `value`.
pub fn eval(column: &str, value: &dyn Fn(&str) -> f64) -> f64 {
    match column.split_once(':') {
        Some((a, b)) => eval(a, value) * eval(b, value),
        None => value(column),
    }
}

/// True when `column` is `concurrency` or a kind indicator, or a product holding one.
pub fn is_covariate(column: &str) -> bool {
    column.split(':').any(|p| p == CONCURRENCY || p.starts_with(INDICATOR))
}

/// The kinds indicated by a model's terms, baseline excluded.
pub fn kinds_of(terms: &[Term]) -> Vec<&str> {
    terms.iter().filter_map(|t| t.column.strip_prefix(INDICATOR)).collect()
}

/// The class of a proxy from its rows (in time order): kind and workers at its last row.
pub fn class_of(series: &Series, rows: &[usize]) -> Result<ProxyClass> {
    let Some(&last) = rows.last() else { return Ok(ProxyClass::default()) };
    let kind = kind_at(series, last)?.map(str::to_string);
    let concurrency = match series.column(CONCURRENCY) {
        Some(_) => series.numbers(CONCURRENCY, &[last]).ok().map(|v| v[0]),
        None => None,
    };
    Ok(ProxyClass { kind, concurrency })
}

/// The covariate terms a fit on `driver` gets from `series` over `rows`, and what was said.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Choice {
    /// Terms to append after the driver.
    pub terms: Vec<Term>,
    /// Notes for the model: the baseline kind, terms left out and why.
    pub notes: Vec<String>,
}

/// Choose covariate terms for a fit of `series` rows on `driver` (with an intercept), and
/// leave out any the data cannot separate.
pub fn choose(series: &Series, rows: &[usize], driver: &str) -> Result<Choice> {
    let mut choice = Choice::default();
    if series.column(KIND).is_some() {
        let mut counts = [0usize; KINDS.len()];
        let mut unknown = 0;
        let kinds = super::derived::row_kinds(series)?;
        for &i in rows {
            match kinds[i] {
                u8::MAX => unknown += 1,
                k => counts[k as usize] += 1,
            }
        }
        let present: Vec<usize> = (0..KINDS.len()).filter(|&k| counts[k] > 0).collect();
        if present.len() > 1 && unknown > 0 {
            choice.notes.push(format!(
                "kind is empty on {unknown} of {} fitted rows: one line for every kind (a slope per kind needs every proxy's kind)",
                rows.len()
            ));
        } else if present.len() > 1 {
            // Sidecars are the baseline when present; else the most frequent kind.
            let base = if counts[0] > 0 {
                0
            } else {
                *present.iter().max_by_key(|&&k| (counts[k], usize::MAX - k)).expect("two")
            };
            choice.notes.push(format!(
                "a line per proxy kind: {} is the baseline; its own offset and slope on {driver} for each of {}",
                KINDS[base],
                present.iter().filter(|&&k| k != base).map(|&k| KINDS[k]).collect::<Vec<_>>().join(", ")
            ));
            for &k in present.iter().filter(|&&k| k != base) {
                choice.terms.push(Term::linear(&format!("{INDICATOR}{}", KINDS[k])));
                choice.terms.push(Term::linear(&format!("{driver}:{INDICATOR}{}", KINDS[k])));
            }
        }
    }
    if series.column(CONCURRENCY).is_some() {
        let workers = series.numbers(CONCURRENCY, rows)?;
        if let Some(k) = workers.iter().position(|w| !(*w >= 1.0 && *w <= 1024.0 && w.fract() == 0.0)) {
            return Err(Error::parse(
                format!(
                    "concurrency must be a whole number of Envoy workers from 1 to 1024, but {} is not",
                    workers[k]
                ),
                series.location(rows[k], CONCURRENCY),
            ));
        }
        if workers.iter().any(|w| *w != workers[0]) {
            choice.terms.push(Term::linear(CONCURRENCY));
            choice.terms.push(Term::linear(&format!("{driver}:{CONCURRENCY}")));
        }
    }
    if choice.terms.is_empty() {
        return Ok(choice);
    }
    separable(series, rows, driver, &mut choice)?;
    Ok(choice)
}

/// Drop covariate terms the data cannot tell apart from the intercept, the driver and the
/// terms before them, with a note each. One pass over the rows forms the columns' cross
/// products (no column copied or derived: a fleet's are 10^7 rows each), and Gram-Schmidt in the
/// terms' order on that small matrix finds each term's part the earlier ones do not explain:
/// a term whose part is under 1e-9 of its own sum of squares is dependent (exact collinearity,
/// as a constant or a copy of another column, leaves rounding only).
fn separable(series: &Series, rows: &[usize], driver: &str, choice: &mut Choice) -> Result<()> {
    let names: Vec<String> =
        std::iter::once(driver.to_string()).chain(choice.terms.iter().map(|t| t.column.clone())).collect();
    let mut cols = Vec::with_capacity(names.len());
    for n in &names {
        let d = super::derived::Derived::new(series, n)?;
        if rows.par_iter().any(|&i| d.value(i).is_nan()) {
            // The reader's error names the cell.
            super::derived::values(series, n, rows)?;
        }
        cols.push(d);
    }
    let m = names.len() + 1;
    // Fixed pieces summed in order: the same bits at any thread count.
    let pieces: Vec<Vec<f64>> = rows
        .par_chunks(1 << 16)
        .map(|piece| {
            let mut a = vec![0.0; m * m];
            let mut x = vec![1.0; m];
            for &i in piece {
                for (k, c) in cols.iter().enumerate() {
                    x[k + 1] = c.value(i);
                }
                for r in 0..m {
                    for c in r..m {
                        a[r * m + c] += x[r] * x[c];
                    }
                }
            }
            a
        })
        .collect();
    let mut a = vec![0.0; m * m];
    for piece in &pieces {
        a.iter_mut().zip(piece).for_each(|(s, v)| *s += v);
    }
    for r in 0..m {
        for c in 0..r {
            a[r * m + c] = a[c * m + r];
        }
    }
    let own: Vec<f64> = (0..m).map(|k| a[k * m + k]).collect();
    let mut dependent = Vec::new();
    for k in 0..m {
        let pivot = a[k * m + k];
        if pivot.is_nan() || pivot <= 1e-9 * own[k] {
            dependent.push(k);
            continue;
        }
        for r in k + 1..m {
            let f = a[r * m + k] / pivot;
            for c in k + 1..m {
                a[r * m + c] -= f * a[k * m + c];
            }
        }
    }
    // Columns 0 and 1 are the intercept and the driver: the fit itself refuses those.
    let dropped: Vec<Term> =
        dependent.iter().filter_map(|&k| k.checked_sub(2)).map(|k| choice.terms[k].clone()).collect();
    for t in dropped {
        if !choice.terms.contains(&t) {
            continue;
        }
        choice.terms.retain(|x| *x != t);
        choice.notes.push(if t.column.contains(':') {
            format!("{t} left out: {driver} never changes apart from it, so that slope cannot be told from the others (the proxies' slope spread covers it)")
        } else {
            format!("{t} left out: it cannot be told apart from the other terms")
        });
        // A kind whose slope is left out keeps its offset; an offset left out takes its slope.
        if let Some(k) = t.column.strip_prefix(INDICATOR) {
            let slope = format!("{driver}:{INDICATOR}{k}");
            choice.terms.retain(|x| x.column != slope);
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::path::Path;

    fn fleet(kinds: &[&str], workers: &[f64]) -> Series {
        let mut text = String::from("proxy,kind,concurrency,ports,memory\n");
        for (p, (k, w)) in kinds.iter().zip(workers).enumerate() {
            for x in [8.0, 16.0, 24.0] {
                text.push_str(&format!("p{p},{k},{w},{x},{}\n", 1e8 + x * 1e5 * (p as f64 + 1.0)));
            }
        }
        crate::series::csv::parse(Path::new("f.csv"), &text).unwrap()
    }

    #[test]
    fn a_kind_gets_an_offset_and_a_slope_and_workers_a_per_worker_slope() {
        let s = fleet(&["sidecar", "gateway", "sidecar", "Gateway"], &[2.0, 4.0, 2.0, 2.0]);
        let rows: Vec<usize> = (0..s.rows.len()).collect();
        let c = choose(&s, &rows, "ports").unwrap();
        let names: Vec<String> = c.terms.iter().map(ToString::to_string).collect();
        assert_eq!(names, ["kind=gateway", "ports:kind=gateway", "concurrency", "ports:concurrency"], "{c:?}");
        // By hand: row 4 is p1 (a gateway, 4 workers) at 16 ports.
        let v = |name: &str, i: usize| crate::model::derived::values(&s, name, &[i]).unwrap()[0];
        assert_eq!((v("kind=gateway", 4), v("ports:kind=gateway", 4), v("ports:concurrency", 4)), (1.0, 16.0, 64.0));
        assert_eq!(v("ports:kind=gateway", 0), 0.0);
        assert!(s.column("ports:kind=gateway").is_none(), "no column is added to the series");
        let class = class_of(&s, &[3, 4, 5]).unwrap();
        assert_eq!(class, ProxyClass { kind: Some("gateway".into()), concurrency: Some(4.0) });
        assert_eq!(eval("ports:kind=gateway", &|n| class.value(n, |_| 10.0)), 10.0);
        assert_eq!(eval("ports:concurrency", &|n| class.value(n, |_| 10.0)), 40.0);
        assert_eq!(eval("ports:kind=activator", &|n| class.value(n, |_| 10.0)), 0.0);
    }

    #[test]
    fn workers_that_follow_the_kind_are_left_out_and_one_kind_adds_nothing() {
        let s = fleet(&["sidecar", "gateway", "sidecar"], &[2.0, 4.0, 2.0]);
        let rows: Vec<usize> = (0..s.rows.len()).collect();
        let c = choose(&s, &rows, "ports").unwrap();
        let names: Vec<String> = c.terms.iter().map(ToString::to_string).collect();
        assert_eq!(names, ["kind=gateway", "ports:kind=gateway"], "{c:?}");
        assert!(c.notes.iter().any(|n| n.contains("concurrency") && n.contains("left out")), "{c:?}");
        let s = fleet(&["gateway", "gateway"], &[2.0, 2.0]);
        assert!(choose(&s, &[0, 1, 2, 3, 4, 5], "ports").unwrap().terms.is_empty());
    }

    #[test]
    fn a_bad_kind_or_worker_count_names_its_line() {
        let s = fleet(&["sidecar", "router"], &[2.0, 2.0]);
        let e = choose(&s, &[0, 3], "ports").unwrap_err().to_string();
        assert!(e.contains("f.csv:5:kind") && e.contains("\"router\""), "{e}");
        let s = fleet(&["sidecar", "gateway"], &[2.0, 0.5]);
        let e = choose(&s, &[0, 3], "ports").unwrap_err().to_string();
        assert!(e.contains("f.csv:5:concurrency") && e.contains("0.5"), "{e}");
    }
}
