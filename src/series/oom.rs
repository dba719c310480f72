//! OOM observations: where a proxy died, which the fit must not treat as memory readings.
//!
//! An `event=oom` row says "the proxy was OOMKilled on the way to this many revisions at this
//! limit". The last good count before it and the count at the OOM bracket the true crossing of
//! the limit, which is what a fitted model's crossing interval is checked against.

use serde::{Deserialize, Serialize};

use super::{Cell, Event, Series, LIMIT, REVISIONS};

/// One OOMKill seen in a series.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct OomObservation {
    /// Revisions when the OOMKill was seen.
    pub revisions: Option<f64>,
    /// Proxy memory limit in force (bytes), from this row or the last row that gave one.
    pub limit_bytes: Option<f64>,
    /// Revisions at the last usable reading before it (the lower end of the bracket).
    pub last_good_revisions: Option<f64>,
    /// Source line (CSV) or observation index (JSON).
    pub line: usize,
}

pub(super) fn collect(series: &Series) -> Vec<OomObservation> {
    let num = |name: &str, i: usize| match series.column(name).map(|c| &c.cells[i]) {
        Some(Cell::Number(v)) => Some(*v),
        _ => None,
    };
    let mut out = Vec::new();
    let mut last_limit = None;
    let mut last_good = None;
    for (i, row) in series.rows.iter().enumerate() {
        let limit = num(LIMIT, i).or(last_limit);
        if row.event == Some(Event::Oom) {
            out.push(OomObservation {
                revisions: num(REVISIONS, i),
                limit_bytes: limit,
                last_good_revisions: last_good,
                line: row.line,
            });
        } else {
            last_good = num(REVISIONS, i);
        }
        last_limit = limit;
    }
    out
}
