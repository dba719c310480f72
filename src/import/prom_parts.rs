//! The parts of a Prometheus import that the one-series import ([`super::prometheus`]), the
//! long form by proxy ([`super::fleet`]) and the termination reasons ([`super::terminated`])
//! share: the settings, the report, the columns, the value checks and the imported series.

use std::collections::BTreeMap;

use serde::Serialize;

use super::select::Selection;
use super::TimeSeries;
use crate::error::{Error, Result};
use crate::series::{Cell, Column, Rows, Series, MEMORY};

/// The columns an import can fill, in the order they are written.
pub const COLUMNS: &[&str] = &["revisions", "ports", "concurrency", "restarts", "limit", MEMORY];

/// Import settings.
#[derive(Debug, Clone, Default)]
pub struct Settings {
    /// Which series to use when a response has several.
    pub selection: Selection,
    /// Step in seconds; inferred from the memory timestamps when absent.
    pub step: Option<f64>,
    /// A constant limit for every row (bytes), when no limit query is given.
    pub limit_bytes: Option<f64>,
    /// `--by`: keep one proxy per distinct value of these labels (long form, see
    /// [`super::fleet`]) instead of one series per query.
    pub by: Option<Vec<String>>,
}

/// What the import did, for the user and for `--format json`.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct Report {
    /// Rows written.
    pub rows: usize,
    /// The alignment step, seconds.
    pub step_seconds: f64,
    /// Memory samples dropped because a column had no sample within half a step, by column.
    pub dropped_misaligned: BTreeMap<String, usize>,
    /// Rows dropped in all for misalignment.
    pub dropped_rows: usize,
    /// `NaN` / `±Inf` points dropped, by column.
    pub non_finite: BTreeMap<String, usize>,
    /// The label set each column was read from.
    pub series: BTreeMap<String, String>,
    /// Server warnings, prefixed with the column.
    pub warnings: Vec<String>,
    /// Proxies written (`--by` only).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub proxies: Option<usize>,
    /// Container restarts spliced over all proxies (`--by` only).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub restarts_spliced: Option<usize>,
    /// Proxies left out because a column has no series for them, by column (`--by` only).
    #[serde(skip_serializing_if = "BTreeMap::is_empty")]
    pub missing: BTreeMap<String, Vec<String>>,
}

/// An imported series of these columns (the limit moved last) at these times.
pub(crate) fn imported(mut columns: Vec<Column>, times: Vec<f64>) -> Series {
    // Memory last among the numbers reads like the seed file: predictors, then the response.
    if let Some(i) = columns.iter().position(|c| c.name == "limit") {
        let c = columns.remove(i);
        columns.push(c);
    }
    Series {
        path: "prometheus".into(),
        rows: Rows::numbered(times.len(), Some(times)),
        columns,
        json: false,
        event_rows: Vec::new(),
        memory_metric: Default::default(),
    }
}

/// Refuse values no such column can hold (naming where and when); warn about implausible units.
pub(crate) fn check_values(column: &str, origin: &str, ts: &TimeSeries) -> Result<Option<String>> {
    let at = |k: usize| crate::series::write::format_time(ts.times[k]);
    let first = |bad: &dyn Fn(f64) -> bool| ts.values.iter().position(|&v| bad(v));
    let (bad, why): (&dyn Fn(f64) -> bool, &str) = match column {
        MEMORY => (&|v| v < 0.0, "memory cannot be negative"),
        "limit" => (&|v| v < 1_048_576.0, "a proxy limit under 1Mi is not plausible: is it in bytes?"),
        _ => (&|v| !(0.0..=1e12).contains(&v), "counts are between 0 and 10^12"),
    };
    if let Some(k) = first(bad) {
        return Err(Error::invalid(format!("{origin}: {column} is {} at {}: {why}", ts.values[k], at(k))));
    }
    let max = ts.values.iter().copied().fold(0.0, f64::max);
    Ok((column == MEMORY && max < 1_048_576.0)
        .then(|| format!("{origin}: memory never reaches 1Mi (at most {max} bytes): is it in MiB rather than bytes?")))
}

pub(crate) fn number_column(name: &str, values: &[f64]) -> Column {
    let mut c = Column::new(name);
    for &v in values {
        c.push(Cell::Number(v));
    }
    c
}
