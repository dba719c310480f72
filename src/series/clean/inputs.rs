//! What cleaning reads from a series besides memory: the restart counter and the limit in
//! force per row, checked before any pass runs.

use super::CleanSettings;
use crate::error::{Error, Result};
use crate::series::{Series, LIMIT};

pub(super) fn check_settings(s: &CleanSettings) -> Result<()> {
    let ok = (0.0..1.0).contains(&s.drop_fraction)
        && (0.0..1.0).contains(&s.near_limit)
        && s.double_count_ratio.0 > 1.0
        && s.double_count_ratio.1 > s.double_count_ratio.0
        && s.limit_bytes.is_none_or(|l| l.is_finite() && l > 0.0);
    if ok {
        Ok(())
    } else {
        Err(Error::invalid(format!("clean settings out of range: {s:?}")))
    }
}

/// The restart counter per row (NaN where empty), when there is one. Every cell must be
/// empty or a whole number of at least 0: a counter, as kube-state-metrics reports it.
pub(super) fn restart_counts(series: &Series, s: &CleanSettings) -> Result<Option<Vec<f64>>> {
    let name = s.restarts_column.as_deref().unwrap_or("restarts");
    let Some(col) = series.column(name) else {
        return match &s.restarts_column {
            Some(name) => {
                Err(Error::data(format!("no column named \"{name}\" holds restart counts (--restarts)"), &series.path))
            }
            None => Ok(None),
        };
    };
    for i in 0..col.len() {
        let bad = match col.get(i) {
            crate::series::Cell::Empty => None,
            crate::series::Cell::Number(v) if v >= 0.0 && v.fract() == 0.0 => None,
            crate::series::Cell::Number(v) => Some(v.to_string()),
            crate::series::Cell::Text(t) => Some(format!("\"{}\"", t.escape_debug())),
        };
        if let Some(v) = bad {
            return Err(Error::parse(
                format!("{name} is a restart counter: a whole number of at least 0, but {v} is not"),
                series.location(i, name),
            ));
        }
    }
    Ok(Some(col.values().to_vec()))
}

/// The limit in force per row: the setting, or the `limit` column carried forward.
pub(super) fn limits(series: &Series, s: &CleanSettings) -> Vec<Option<f64>> {
    let n = series.rows.len();
    if let Some(l) = s.limit_bytes {
        return vec![Some(l); n];
    }
    let col = series.column(LIMIT).map(|c| c.values());
    let mut last = None;
    (0..n)
        .map(|i| {
            if let Some(v) = col.map(|c| c[i]).filter(|v| v.is_finite()) {
                last = Some(v);
            }
            last
        })
        .collect()
}
