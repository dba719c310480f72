//! What was checked: one line per assumption an interval rests on (a common slope, equal
//! spread, a straight line, noise that does not drift across levels), with its test, the
//! p-value and what the fit did about it. Stored in the model so `show` says the same as `fit`.
//!
//! The checks themselves live beside the remedies ([`super::diagnostics`] for linearity,
//! [`super::spread`] for spread, [`super::drift`] for drift); this module only words them.

use serde::{Deserialize, Serialize};

use super::{Curvature, ErrorKind, ErrorModel, Quadratic};

/// Name of the common-slope check (per-proxy slopes fill it in when they are fitted).
pub const COMMON_SLOPE: &str = "common slope";
/// Name of the equal-spread check.
pub const EQUAL_SPREAD: &str = "equal spread";
/// Name of the linearity check.
pub const LINEARITY: &str = "linearity";
/// Name of the drift check.
pub const DRIFT: &str = "drift";

/// One assumption, its test and what was done about it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Assumption {
    /// `common slope`, `equal spread`, `linearity` or `drift`.
    pub name: String,
    /// The test and its statistic (or why there is none).
    pub test: String,
    /// Its p-value; null when not tested.
    pub p: Option<f64>,
    /// What the fit did about it.
    pub action: String,
}

impl Assumption {
    /// An assumption with a test.
    pub fn tested(name: &str, test: String, p: f64, action: String) -> Assumption {
        Assumption { name: name.into(), test, p: Some(p), action }
    }

    /// An assumption the data cannot test.
    pub fn untested(name: &str, why: &str, action: &str) -> Assumption {
        Assumption { name: name.into(), test: why.into(), p: None, action: action.into() }
    }
}

/// The linearity line from the curvature test and the quadratic alternative.
pub(crate) fn linearity(curvature: Option<&Curvature>, quadratic: Option<&Quadratic>) -> Assumption {
    let past = |q: &Quadratic| {
        format!(
            "past the largest measured {} the upper bound is the larger of the line's and the quadratic's",
            q.column
        )
    };
    match (curvature, quadratic) {
        (Some(c), q) => {
            let mut action = if c.p < 0.01 {
                format!("the data bend: add {} to --x or fit a narrower range", c.term)
            } else {
                "straight line kept".to_string()
            };
            if let Some(q) = q {
                action = format!("{action}; {}", past(q));
            }
            Assumption::tested(LINEARITY, format!("t of {} = {:.2} on {} dof", c.term, c.t, c.dof), c.p, action)
        }
        (None, _) => Assumption::untested(
            LINEARITY,
            "not tested (needs a main predictor with more distinct settings than parameters + 1, and no power of it in the model)",
            "straight line assumed; past the data the bound rests on it",
        ),
    }
}

/// The common-slope line when no per-proxy slope test filled it in.
pub(crate) fn common_slope(errors: &ErrorModel) -> Assumption {
    if let Some(t) = &errors.slope_test {
        let test = format!(
            "REML likelihood ratio of a random slope on {} against one slope, 50:50 chi2(1):chi2(2), D = {:.2}",
            t.column, t.statistic
        );
        let action = if errors.slope.is_some() {
            "a slope per proxy (random slopes): a new proxy's bound carries their spread, a known one uses its own"
        } else {
            "one slope for every proxy kept"
        };
        return Assumption::tested(COMMON_SLOPE, test, t.p, action.into());
    }
    if errors.slope.is_some() {
        return Assumption::untested(COMMON_SLOPE, "not tested (--errors slopes=COL chosen)", "a slope per proxy");
    }
    if errors.kind == ErrorKind::Group {
        Assumption::untested(
            COMMON_SLOPE,
            "not tested (proxies pooled with one slope and their own offsets)",
            "one slope for every proxy",
        )
    } else {
        Assumption::untested(COMMON_SLOPE, "one proxy (no proxy column pooled): nothing to compare", "none needed")
    }
}

/// Put the assumption lines in their fixed order, adding the defaults missing: common slope,
/// equal spread, linearity, drift.
pub(crate) fn complete(errors: &mut ErrorModel) {
    if !errors.assumptions.iter().any(|a| a.name == COMMON_SLOPE) {
        let line = common_slope(errors);
        errors.assumptions.push(line);
    }
    if !errors.assumptions.iter().any(|a| a.name == LINEARITY) {
        let line = linearity(errors.curvature.as_ref(), errors.quadratic.as_ref());
        errors.assumptions.push(line);
    }
    for (name, why) in [
        (EQUAL_SPREAD, "not tested (needs 3 or more levels of 2 or more readings)"),
        (DRIFT, "not tested (needs a time on every reading and 4 or more levels in one series)"),
    ] {
        if !errors.assumptions.iter().any(|a| a.name == name) {
            errors.assumptions.push(Assumption::untested(name, why, "assumed"));
        }
    }
    let rank = |a: &Assumption| [COMMON_SLOPE, EQUAL_SPREAD, LINEARITY, DRIFT].iter().position(|n| *n == a.name);
    errors.assumptions.sort_by_key(|a| rank(a).unwrap_or(usize::MAX));
}
