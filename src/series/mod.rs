//! Measurement series: what a proxy's memory was at a given number of revisions.
//!
//! A series is a table with one row per observation. `revisions` and `memory` are the heart of
//! it; `ports`, `services`, `endpoints` and any other numeric column may serve as predictors;
//! `limit` (the proxy memory limit in force), `event` (`oom` marks an OOMKill, not a usable
//! reading), `time` and `note` describe the row. The canonical form is CSV ([`csv`]); the same
//! content as JSON is accepted ([`json`]). Every cell remembers its source line so a bad value
//! can be reported where it is.

mod cells;
pub mod clean;
mod column;
pub mod csv;
mod csv_fast;
pub mod header;
pub mod json;
pub mod memory_metric;
mod oom;
pub mod plausible;
mod rows;
mod stream;
pub mod write;

use std::borrow::Cow;
use std::path::{Path, PathBuf};

use crate::error::{Error, Location, Result};

pub use column::Column;
pub use memory_metric::{MemoryAllowance, MemoryMetric};
pub use oom::OomObservation;
pub use rows::{Row, Rows};
pub use stream::MAX_SERIES_BYTES;

/// Column holding the istio-proxy working set.
pub const MEMORY: &str = "memory";
/// Column holding the Knative revisions visible to the proxy.
pub const REVISIONS: &str = "revisions";
/// Column holding endpoint ports (Envoy outbound clusters).
pub const PORTS: &str = "ports";
/// Column holding Kubernetes Services.
pub const SERVICES: &str = "services";
/// Column holding the endpoints over the proxy's clusters (the model's `endpoints` term).
pub const ENDPOINTS: &str = "endpoints";
/// Column holding the proxy's Envoy worker threads (the model's `concurrency` term).
pub const CONCURRENCY: &str = "concurrency";
/// Column holding the proxy's name in a long-form series (`namespace/pod`).
pub const PROXY: &str = "proxy";
/// Column holding the memory limit in force.
pub const LIMIT: &str = "limit";
/// Column holding the container's last termination reason as kube-state-metrics reports it
/// (`OOMKilled`, `Error`, `Completed`; empty: none recorded), read by `clean`.
pub const LAST_TERMINATED: &str = "last_terminated";
/// Descriptive columns that are never predictors.
const DESCRIPTIVE: &[&str] = &["event", "time", "note"];

/// What happened at an observation.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Event {
    /// The proxy was OOMKilled: the row records the count, not a usable memory reading.
    Oom,
    /// The first reading of a restarted container (still loading its config): kept out of
    /// fits.
    Restart,
    /// A reading inflated by double counting (old and new container summed during a
    /// restart): kept out of fits.
    DoubleCount,
}

impl Event {
    /// The `event` cell that stands for it.
    pub fn as_str(self) -> &'static str {
        match self {
            Event::Oom => "oom",
            Event::Restart => "restart",
            Event::DoubleCount => "double-count",
        }
    }
}

/// One cell of a numeric column.
#[derive(Debug, Clone, PartialEq)]
pub enum Cell {
    /// No value given.
    Empty,
    /// A finite number (bytes for memory and limit).
    Number(f64),
    /// Text that is not a finite number, kept to name it in an error if the column is used.
    Text(String),
}

/// A measurement series as read from one file.
#[derive(Debug, Clone, PartialEq)]
pub struct Series {
    /// The file it came from.
    pub path: PathBuf,
    /// Row descriptions, in file order.
    pub rows: Rows,
    /// Numeric columns (memory, limit and all predictors), in header order.
    pub columns: Vec<Column>,
    /// Row numbers are JSON observation indexes, not lines.
    pub json: bool,
    /// Indexes of the rows that carry an event (OOMKill, restart, double count), in order:
    /// none of them is fitted (kept apart so large series without events never scan their
    /// rows).
    pub event_rows: Vec<usize>,
    /// Which memory the `memory` column holds (a `# memory-metric:` comment line; the working
    /// set when there is none).
    pub memory_metric: MemoryMetric,
}

impl Series {
    /// Read a series, choosing CSV or JSON by content (a file starting with `{` or `[` is JSON).
    /// A CSV file is read in blocks ([`stream`]).
    pub fn load(path: &Path) -> Result<Series> {
        Ok(stream::load(path, false)?.0)
    }

    /// [`Series::load`], with the lower-case hex SHA-256 of the file's bytes (a fitted model's
    /// provenance), computed while reading.
    pub fn load_hashed(path: &Path) -> Result<(Series, String)> {
        stream::load(path, true)
    }

    /// Which memory the `memory` column holds ([`MemoryMetric`]).
    pub fn memory_metric(&self) -> &MemoryMetric {
        &self.memory_metric
    }

    /// The column of that name, if any.
    pub fn column(&self, name: &str) -> Option<&Column> {
        self.columns.iter().find(|c| c.name == name)
    }

    /// Names of columns that can serve as predictors (numeric, not memory or limit).
    pub fn predictor_names(&self) -> Vec<&str> {
        self.columns.iter().map(|c| c.name.as_str()).filter(|n| *n != MEMORY && *n != LIMIT).collect()
    }

    /// Indexes of rows usable for fitting: every row without an event.
    pub fn fit_rows(&self) -> Vec<usize> {
        if self.event_rows.is_empty() {
            return (0..self.rows.len()).collect();
        }
        let mut rows = Vec::with_capacity(self.rows.len() - self.event_rows.len());
        rows.extend((0..self.rows.len()).filter(|&i| self.rows.event(i).is_none()));
        rows
    }

    /// Where row `i`'s cell of `column` sits in the source, for error messages.
    pub fn location(&self, i: usize, column: &str) -> Location {
        let line = self.rows.line(i);
        let loc = Location::new(&self.path, line).with_column(column);
        if self.json {
            Location { column: Some(format!("observation {line}, key {column}")), line: 0, ..loc }
        } else {
            loc
        }
    }

    /// Values of `column` on `rows`, each a finite number, or an error naming the first bad cell.
    /// Borrowed without a copy when `rows` is every row in order.
    pub fn numbers(&self, column: &str, rows: &[usize]) -> Result<Cow<'_, [f64]>> {
        let col = self.column(column).ok_or_else(|| {
            let names = self.columns.iter().map(|c| c.name.as_str()).collect::<Vec<_>>().join(", ");
            let what = if column == MEMORY { " (the istio-proxy working set)" } else { "" };
            Error::data(format!("no column named \"{column}\"{what}; columns are: {names}"), &self.path)
        })?;
        let values = col.values();
        let all = rows.len() == values.len() && rows.last().is_none_or(|&l| l + 1 == rows.len());
        let out: Cow<'_, [f64]> = if all {
            Cow::Borrowed(values)
        } else if rows.len() <= 1 << 16 {
            Cow::Owned(rows.iter().map(|&i| values[i]).collect())
        } else {
            // A fleet's 10^7 rows gathered on the cores; the copy is the same in any order.
            use rayon::prelude::*;
            Cow::Owned(rows.par_iter().map(|&i| values[i]).collect())
        };
        if let Some(k) = first_where(&out, f64::is_nan) {
            let i = rows[k];
            return Err(match col.get(i) {
                Cell::Text(t) => Error::parse(
                    format!("{column} must be a finite number, but \"{t}\" is not"),
                    self.location(i, column),
                ),
                _ => Error::parse(format!("{column} is empty"), self.location(i, column)),
            });
        }
        Ok(out)
    }

    /// Put `column` in place of the column of its name, or add it.
    pub(crate) fn put_column(&mut self, column: Column) {
        match self.columns.iter_mut().find(|c| c.name == column.name) {
            Some(c) => *c = column,
            None => self.columns.push(column),
        }
    }

    /// The OOM observations of this series (see [`OomObservation`]).
    pub fn oom_observations(&self) -> Vec<OomObservation> {
        oom::collect(self)
    }

    /// Checks shared by the CSV and JSON readers: rows, then every value plausible
    /// ([`plausible::check`]).
    fn validate(&self) -> Result<()> {
        if self.rows.is_empty() {
            return Err(Error::data("no observations: the file has a header but no rows", &self.path));
        }
        plausible::check(self)
    }
}

/// How a header cell is interpreted.
pub(crate) enum Field {
    Event,
    Time,
    Note,
    /// A quantity column (memory, limit): parsed to bytes.
    Quantity,
    /// A count of things (revisions, ports, services, endpoints): a finite number of 0 or more,
    /// checked when read, since a plot or `clean` uses it without fitting it.
    Count,
    /// A plain numeric column.
    Number,
    /// A label (`proxy`, `pod`, `kind`): kept as text, so `1` and `1.0` stay two proxies.
    Label,
}

impl Field {
    pub(crate) fn of(name: &str) -> Field {
        match name {
            "event" => Field::Event,
            "time" => Field::Time,
            "note" => Field::Note,
            MEMORY | LIMIT => Field::Quantity,
            "proxy" | "pod" | "kind" | LAST_TERMINATED => Field::Label,
            "revisions" | "ports" | "services" | "endpoints" => Field::Count,
            _ => Field::Number,
        }
    }
}

/// Parse one numeric or quantity cell; quantity errors (a wrong unit, a negative value) are
/// errors at once, a non-number in a plain column is kept as text until the column is used.
pub(crate) fn parse_cell(field: &Field, name: &str, raw: &str, loc: impl Fn() -> Location) -> Result<Cell> {
    let raw = raw.trim();
    if raw.is_empty() {
        return Ok(Cell::Empty);
    }
    match field {
        Field::Label => Ok(Cell::Text(raw.to_string())),
        Field::Count => match raw.parse::<f64>() {
            Ok(v) if v.is_finite() && v >= 0.0 => Ok(Cell::Number(v)),
            _ => Err(Error::parse(
                format!("{name} must be a count (a finite number, 0 or more), but \"{raw}\" is not"),
                loc(),
            )),
        },
        Field::Quantity => crate::quantity::parse_quantity(raw)
            .map(Cell::Number)
            .map_err(|m| Error::parse(format!("{name}: {m}"), loc())),
        _ => Ok(match raw.parse::<f64>() {
            Ok(v) if v.is_finite() => Cell::Number(v),
            _ => Cell::Text(raw.to_string()),
        }),
    }
}

/// Parse an `event` cell.
pub(crate) fn parse_event(raw: &str, loc: impl Fn() -> Location) -> Result<Option<Event>> {
    match raw.trim().to_ascii_lowercase().as_str() {
        "" => Ok(None),
        "oom" | "oomkilled" => Ok(Some(Event::Oom)),
        "restart" => Ok(Some(Event::Restart)),
        "double-count" => Ok(Some(Event::DoubleCount)),
        _ => Err(Error::parse(
            format!("event must be empty, \"oom\", \"restart\" or \"double-count\", but \"{}\" is not", raw.trim()),
            loc(),
        )),
    }
}

/// Parse a `time` cell: RFC 3339 or unix seconds.
pub(crate) fn parse_time(raw: &str, loc: impl Fn() -> Location) -> Result<Option<f64>> {
    let raw = raw.trim();
    if raw.is_empty() {
        return Ok(None);
    }
    if let Ok(v) = raw.parse::<f64>() {
        if v.is_finite() {
            return Ok(Some(v));
        }
    }
    time::OffsetDateTime::parse(raw, &time::format_description::well_known::Rfc3339)
        .map(|t| Some(t.unix_timestamp_nanos() as f64 / 1e9))
        .map_err(|_| Error::parse(format!("time must be RFC 3339 or unix seconds, but \"{raw}\" is neither"), loc()))
}

/// Reject a header naming the same column twice.
pub(crate) fn check_unique(names: &[String], loc: impl Fn() -> Location) -> Result<()> {
    // A set, not a scan of the names before: a header of 200k columns must not be quadratic.
    let mut seen = std::collections::HashSet::with_capacity(names.len());
    for (i, n) in names.iter().enumerate() {
        if n.is_empty() {
            return Err(Error::parse(format!("header column {} has no name", i + 1), loc()));
        }
        if !seen.insert(n.as_str()) {
            return Err(Error::parse(format!("header names column \"{n}\" twice"), loc()));
        }
    }
    Ok(())
}

/// The first index of `values` where `bad` holds: the checks every large series passes through
/// before a fit, run on the cores in fixed pieces (the first piece with a bad value, then its
/// first bad value), so the answer is the sequential one at any thread count.
pub(crate) fn first_where(values: &[f64], bad: impl Fn(f64) -> bool + Sync) -> Option<usize> {
    use rayon::prelude::*;
    const PIECE: usize = 1 << 16;
    if values.len() <= PIECE {
        return values.iter().position(|&v| bad(v));
    }
    let piece = values.par_chunks(PIECE).position_first(|c| c.iter().any(|&v| bad(v)))?;
    let start = piece * PIECE;
    values[start..].iter().position(|&v| bad(v)).map(|k| start + k)
}

pub(crate) fn is_descriptive(name: &str) -> bool {
    DESCRIPTIVE.contains(&name)
}

impl Series {
    /// A series built in memory from numeric columns (all rows usable, no events), for
    /// benchmarks and library users who already hold their data.
    pub fn from_columns(path: &Path, columns: Vec<(String, Vec<f64>)>) -> Result<Series> {
        let rows = columns.first().map_or(0, |c| c.1.len());
        if let Some((name, _)) = columns.iter().find(|c| c.1.len() != rows) {
            return Err(Error::data(format!("column {name} has another length than the first column"), path));
        }
        Ok(Series {
            path: path.to_path_buf(),
            rows: Rows::numbered(rows, None),
            columns: columns.into_iter().map(|(name, values)| Column::numbers(name, values)).collect(),
            json: false,
            event_rows: Vec::new(),
            memory_metric: MemoryMetric::default(),
        })
    }

    /// The same series with a time (unix seconds) on every row, as a time-series import has.
    pub fn with_times(mut self, times: &[f64]) -> Result<Series> {
        if times.len() != self.rows.len() || times.iter().any(|t| !t.is_finite()) {
            return Err(Error::data(
                format!("{} times for {} rows, or a time that is not finite", times.len(), self.rows.len()),
                &self.path,
            ));
        }
        self.rows.set_times(times);
        Ok(self)
    }

    /// Indexes of rows with an event, for the readers to fill in.
    pub(crate) fn index_events(rows: &Rows) -> Vec<usize> {
        rows.event_rows()
    }
}
