//! `import grafana --by namespace,pod`: a panel with one series per pod, in long form.
//!
//! The same long form as `import prometheus --by` and through the same code
//! ([`key_column`] keys and splices each column, [`assemble`] joins them to memory), so a fleet
//! read from Grafana and one read from Prometheus cannot differ in shape or in their errors.
//! With `--by`, a column flag picks every series it matches (`--memory mem.csv` takes all of
//! that file's series) rather than exactly one. The labels come from the data frame JSON's
//! `fields[].labels` or from a CSV header that is a label set (`{namespace="shop",
//! pod="cart-0"}`, Grafana's display name when the legend is left on Auto); a header with a
//! display name only (a legend such as `{{pod}}`) has lost them, and is refused with how to
//! export it so they survive.

use std::collections::BTreeMap;

use super::{format_warnings, no_column, scope, GrafanaSeries};
use crate::error::{Error, Result};
use crate::import::fleet::{assemble, check_by, key_column};
use crate::import::prometheus::{Report, Settings};
use crate::import::TimeSeries;
use crate::series::Series;

/// Every series `pattern` names: all of a file's (the file's name or path as given), those
/// of `FILE:COLUMN`, or those whose header is or contains `pattern`.
fn find_all<'a>(series: &'a [GrafanaSeries], pattern: &str, flag: &str) -> Result<Vec<&'a GrafanaSeries>> {
    if series.iter().any(|s| s.in_file(pattern)) {
        return Ok(series.iter().filter(|s| s.in_file(pattern)).collect());
    }
    let (pool, pattern) = scope(series, pattern);
    let exact: Vec<&GrafanaSeries> = pool.iter().copied().filter(|s| s.name == pattern).collect();
    let hits =
        if exact.is_empty() { pool.iter().copied().filter(|s| s.name.contains(pattern)).collect() } else { exact };
    if hits.is_empty() {
        return Err(no_column(flag, pattern, &pool));
    }
    Ok(hits)
}

/// The long form from the exported series `mapping` names, one proxy per value of `by`.
pub(super) fn to_fleet(
    all: &[GrafanaSeries],
    mapping: &[(&'static str, String)],
    by: &[String],
    settings: &Settings,
    utc_offset_s: f64,
    provenance: &str,
) -> Result<(Series, Vec<String>, Report)> {
    check_by(by)?;
    let mut report = Report::default();
    let mut comments = vec![provenance.to_string()];
    let picks: Vec<Vec<&GrafanaSeries>> =
        mapping.iter().map(|(column, p)| find_all(all, p, &format!("--{column}"))).collect::<Result<_>>()?;
    let mut keyed = BTreeMap::new();
    for (k, ((column, _), members)) in mapping.iter().zip(&picks).enumerate() {
        for (other, theirs) in mapping.iter().zip(&picks).skip(k + 1) {
            if let Some(s) = members.iter().find(|s| theirs.iter().any(|o| o.origin == s.origin)) {
                return Err(Error::invalid(format!(
                    "--{column} and --{} both name {}: each column needs its own series",
                    other.0, s.origin
                )));
            }
        }
        if let Some(s) = members.iter().find(|s| s.series.labels.is_empty()) {
            return Err(Error::invalid(format!(
                "{}: the export kept only the display name \"{}\", not the series' labels, so --by {} cannot name its proxy: set the panel's legend to Auto (headers then read {{namespace=\"...\", pod=\"...\"}}) or save Inspect > JSON > DataFrame JSON, which keeps the labels",
                s.origin,
                s.name,
                by.join(",")
            )));
        }
        let mut files: Vec<&str> = members.iter().map(|s| s.path.as_str()).collect();
        files.sort_unstable();
        files.dedup();
        let origin = files.join(", ");
        let missing: usize = members.iter().map(|s| s.missing).sum();
        if missing > 0 {
            report.non_finite.insert(column.to_string(), missing);
        }
        let series: Vec<TimeSeries> = members.iter().map(|s| s.series.clone()).collect();
        let what = format!("{column}: {origin}");
        let k = key_column(column, &origin, &what, series, by, &mut report, &mut comments)?;
        keyed.insert(*column, (origin, k));
    }
    let used: Vec<&GrafanaSeries> = picks.into_iter().flatten().collect();
    format_warnings(&used, utc_offset_s, &mut report);
    assemble(keyed, by, settings, report, comments)
}
