//! OOM observations: where a proxy died, which the fit must not treat as memory readings.
//!
//! An `event=oom` row says "the proxy was OOMKilled on the way to this many revisions at this
//! limit". The last good count before it and the count at the OOM bracket the true crossing of
//! the limit, which is what a fitted model's crossing interval is checked against.

use serde::{Deserialize, Serialize};

use super::{Event, Series, LIMIT, REVISIONS};

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
    if series.event_rows.is_empty() {
        return Vec::new();
    }
    let (revisions, limits) = (series.column(REVISIONS), series.column(LIMIT));
    let num = |col: Option<&super::Column>, i: usize| col.map(|c| c.values()[i]).filter(|v| !v.is_nan());
    let mut out = Vec::new();
    let mut last_limit = None;
    let mut last_good = None;
    for (i, row) in series.rows.iter().enumerate() {
        let limit = num(limits, i).or(last_limit);
        if row.event == Some(Event::Oom) {
            out.push(OomObservation {
                revisions: num(revisions, i),
                limit_bytes: limit,
                last_good_revisions: last_good,
                line: row.line,
            });
        } else {
            last_good = num(revisions, i);
        }
        last_limit = limit;
    }
    out
}
