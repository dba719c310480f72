//! Plausibility of what a fit is given: settings in range, and values no sidecar measurement
//! can hold (their squares would overflow the sums of squares) refused with their row.

use crate::error::{Error, Result};
use crate::series::{first_where, Series};

/// Largest |response| accepted: 2^60 bytes (1Ei). Beyond it no reading is a sidecar's, and
/// squares of such values overflow the sums of squares.
pub const MAX_RESPONSE: f64 = crate::series::plausible::MAX_MEMORY_BYTES;
/// Largest |predictor| accepted (counts of revisions, ports, services): 10^12.
pub const MAX_PREDICTOR: f64 = crate::series::plausible::MAX_COUNT;

/// Refuse a value no sidecar measurement can hold, naming its row.
pub(crate) fn check_magnitude(series: &Series, rows: &[usize], column: &str, values: &[f64], max: f64) -> Result<()> {
    match first_where(values, |v| v.abs() > max) {
        None => Ok(()),
        Some(k) => Err(Error::parse(
            format!("{column} = {:e} is beyond any sidecar measurement (|value| must be at most {max:e})", values[k]),
            series.location(rows[k], column),
        )),
    }
}

/// Refuse a series (an importer's output) holding a reading no sidecar can: memory or a limit
/// beyond [`MAX_RESPONSE`], a count beyond [`MAX_PREDICTOR`]. `fit` would refuse it later;
/// an importer says so before writing a file nothing can use, naming its input (`source`).
pub fn check_readings(series: &Series, source: &str) -> Result<()> {
    let limits = [("memory", MAX_RESPONSE), ("limit", MAX_RESPONSE)];
    let counts = ["revisions", "ports", "services", "endpoints"].map(|c| (c, MAX_PREDICTOR));
    for (name, max) in limits.into_iter().chain(counts) {
        let Some(column) = series.column(name) else { continue };
        if let Some(i) = first_where(column.values(), |v| v.abs() > max) {
            return Err(Error::data(
                format!(
                    "{name} = {:e} (imported row {}) is beyond any sidecar measurement (|value| must be at most {max:e})",
                    column.values()[i],
                    i + 1
                ),
                std::path::Path::new(source),
            ));
        }
    }
    Ok(())
}

/// A confidence level must lie strictly between 0 and 1.
pub fn check_level(level: f64) -> Result<()> {
    // Below 0.5 a one-sided "upper bound" lies under the mean: almost always an alpha (0.05)
    // given where a level (0.95) was meant.
    if level.is_finite() && (0.5..1.0).contains(&level) {
        Ok(())
    } else {
        Err(Error::invalid(format!(
            "level is a confidence level from 0.5 up to (not including) 1, e.g. 0.95 (not an alpha like 0.05), but {level} is not"
        )))
    }
}
