//! Error structures: how a fit's inference accounts for readings that are not independent.
//!
//! A Prometheus or Grafana import is a time series: hundreds of readings at each configuration
//! level, neighbours correlated, each level a few Mi off the line (allocator state after each
//! config push). Ordinary least squares then shrinks its standard errors with the number of
//! readings instead of the number of levels. [`ErrorSpec`] says what to assume (`fit
//! --errors`); the fit records what it used as an [`ErrorModel`]: the structure, its variance
//! components and diagnostics, stored in the model file so every projection downstream uses
//! the same variance.
//!
//! - `iid`: OLS, readings independent (the NIST path).
//! - `levels`: a random offset per level plus AR(1) noise within a level, by REML ([`reml`]);
//!   inference on the coefficients counts levels, not readings.
//! - `group=COL`: a random offset per value of COL (a proxy or pod), levels nested inside.
//! - `slopes=COL`: as `group=COL`, plus a random slope per group on the main driver, correlated
//!   with the offset ([`slopes`]); `auto` picks it over `group` by a likelihood-ratio test.
//! - `hac`, `cluster[=COL]`: OLS with a sandwich covariance, for comparison ([`sandwich`]).

mod assumptions;
mod choose;
#[cfg(test)]
mod dense;
mod diagnostics;
mod drift;
mod form;
mod infer;
mod input;
mod levels;
mod newton;
mod refine;
mod reml;
mod reml_pass;
mod row_index;
mod sandwich;
mod simplex;
mod slopes;
mod slopes_infer;
mod slopes_pass;
mod spread;
mod start;
mod theta;

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};

use crate::error::{Error, Result};

pub use assumptions::{Assumption, COMMON_SLOPE, DRIFT, EQUAL_SPREAD, LINEARITY};
pub use diagnostics::{Curvature, LackOfFit};
pub use form::Quadratic;
pub(crate) use infer::{infer, FitInput};
pub use spread::{Spread, MAX_POWER};

/// Column that `auto` takes as the proxy identity in a pooled series.
pub const PROXY: &str = "proxy";

/// What the user asks the fit to assume about its errors.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub enum ErrorSpec {
    /// Choose from the series: `group=proxy`, else `levels` with times, else `iid`.
    #[default]
    Auto,
    /// Independent readings (OLS).
    Iid,
    /// Random level offsets plus AR(1) noise within levels.
    Levels,
    /// A random offset per value of a column, levels nested inside.
    Group(String),
    /// A random offset and a random slope on the main driver per value of a column.
    Slopes(String),
    /// OLS with a Newey-West covariance.
    Hac,
    /// OLS with a cluster-robust covariance; `None` clusters by level.
    Cluster(Option<String>),
}

impl FromStr for ErrorSpec {
    type Err = Error;

    fn from_str(s: &str) -> Result<Self> {
        let t = s.trim();
        let column = |c: &str| {
            let c = c.trim();
            if c.is_empty() {
                Err(Error::invalid(format!("--errors {t}: name the column after '=' (e.g. group=proxy)")))
            } else {
                Ok(c.to_string())
            }
        };
        match t.split_once('=') {
            None => match t {
                "auto" => Ok(ErrorSpec::Auto),
                "iid" => Ok(ErrorSpec::Iid),
                "levels" => Ok(ErrorSpec::Levels),
                "hac" => Ok(ErrorSpec::Hac),
                "cluster" => Ok(ErrorSpec::Cluster(None)),
                "group" => Err(Error::invalid("--errors group needs a column: group=COL (e.g. group=proxy)")),
                "slopes" => Err(Error::invalid("--errors slopes needs a column: slopes=COL (e.g. slopes=proxy)")),
                _ => Err(Error::invalid(format!(
                    "--errors must be auto, iid, levels, group=COL, slopes=COL, hac or cluster[=COL], but \"{t}\" is none of them"
                ))),
            },
            Some(("group", c)) => Ok(ErrorSpec::Group(column(c)?)),
            Some(("slopes", c)) => Ok(ErrorSpec::Slopes(column(c)?)),
            Some(("cluster", c)) => Ok(ErrorSpec::Cluster(Some(column(c)?))),
            Some((k, _)) => {
                Err(Error::invalid(format!("--errors {t}: only group=, slopes= and cluster= take a column, not \"{k}=\"")))
            }
        }
    }
}

impl fmt::Display for ErrorSpec {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ErrorSpec::Auto => write!(f, "auto"),
            ErrorSpec::Iid => write!(f, "iid"),
            ErrorSpec::Levels => write!(f, "levels"),
            ErrorSpec::Group(c) => write!(f, "group={c}"),
            ErrorSpec::Slopes(c) => write!(f, "slopes={c}"),
            ErrorSpec::Hac => write!(f, "hac"),
            ErrorSpec::Cluster(None) => write!(f, "cluster"),
            ErrorSpec::Cluster(Some(c)) => write!(f, "cluster={c}"),
        }
    }
}

/// The structure a fit used.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum ErrorKind {
    /// Independent readings.
    #[default]
    Iid,
    /// Random level offsets, AR(1) within levels.
    Levels,
    /// Random group offsets, levels nested inside.
    Group,
    /// OLS with Newey-West covariance.
    Hac,
    /// OLS with cluster-robust covariance.
    Cluster,
}

/// A group's own offset (best linear unbiased predictor) in a `group` fit.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct GroupEffect {
    /// The group's value in the column (a proxy's name).
    pub name: String,
    /// Predicted offset from the pooled line, bytes.
    pub effect_bytes: f64,
    /// Conditional standard deviation of the offset given the data, bytes.
    pub effect_sd_bytes: f64,
    /// The design row the offset is correlated with: a prediction for this group at design
    /// row x has coefficient variance `(x - shrink_row)' V (x - shrink_row)`.
    pub shrink_row: Vec<f64>,
    /// Readings of the group.
    pub readings: usize,
    /// The group's own slope, when the fit has random slopes.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub slope: Option<GroupSlope>,
    /// Its kind and workers, when the model has terms on them: its predictions evaluate
    /// them for this group ([`crate::model::covariates`]).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub class: Option<crate::model::ProxyClass>,
}

/// A group's own slope (BLUP) in a random-slope fit, in bytes per unit of the driver.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct GroupSlope {
    /// Predicted slope deviation from the pooled slope.
    pub effect_bytes_per_unit: f64,
    /// Its conditional standard deviation given the data.
    pub sd_bytes_per_unit: f64,
    /// Conditional covariance of the group's offset and slope, bytes^2 per unit.
    pub offset_covariance: f64,
    /// The coefficient rows the slope's BLUP shares, per unit of the driver: at driver value x
    /// the shrink row of [`GroupEffect`] is `shrink_row + x shrink_row_per_unit`.
    pub shrink_row_per_unit: Vec<f64>,
}

/// The random slope of a `slopes` fit: the spread of the groups' slopes on the driver.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RandomSlope {
    /// The driver column (ports or revisions).
    pub column: String,
    /// Index of the driver's coefficient in the design (intercept first).
    pub index: usize,
    /// Standard deviation of the groups' slopes, bytes per unit.
    pub sd_bytes_per_unit: f64,
    /// Covariance of a group's offset (at driver 0) and slope, bytes^2 per unit.
    pub offset_covariance: f64,
}

/// The likelihood-ratio test `auto` ran for random slopes.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SlopeTest {
    /// The driver column tested.
    pub column: String,
    /// -2 log REML of the random-intercept fit minus that of the random-slope fit.
    pub statistic: f64,
    /// P-value from the 50:50 mixture of chi2_1 and chi2_2.
    pub p: f64,
}

/// The error structure of a fitted model, its variance components and diagnostics.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ErrorModel {
    /// The structure used.
    pub kind: ErrorKind,
    /// The group or cluster column, when there is one.
    pub column: Option<String>,
    /// Why this structure, in one line.
    pub reason: String,
    /// Configuration levels (runs of readings at one set of predictor values).
    pub levels: usize,
    /// Groups (proxies) in a `group` fit, clusters in a `cluster` fit, else 0.
    pub groups: usize,
    /// Standard deviation of the level offsets, bytes (0 when not part of the structure).
    pub sigma_between: f64,
    /// Standard deviation of the group offsets, bytes.
    pub sigma_group: f64,
    /// Marginal standard deviation of a reading around its level, bytes.
    pub sigma_within: f64,
    /// Lag-1 autocorrelation of readings within a level (the AR(1) parameter when fitted,
    /// else the moment estimate; null without times).
    pub rho: Option<f64>,
    /// Whether rho is part of the structure (estimated by REML) or only reported.
    pub rho_fitted: bool,
    /// The AR(1) noise runs on across level changes (slow drift), fitted as one series, instead
    /// of restarting at each level (absent: restarting).
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub noise_carried: bool,
    /// Independent readings' worth of within-level information: `sum over levels of
    /// (n - (n-2) rho) / (1 + rho)`.
    pub effective_n: f64,
    /// Newey-West lags (hac only).
    pub hac_lags: Option<usize>,
    /// Lack-of-fit F test from replicated settings.
    pub lack_of_fit: Option<LackOfFit>,
    /// Curvature test of the main predictor.
    pub curvature: Option<Curvature>,
    /// Per-group offsets (group only).
    pub group_effects: Vec<GroupEffect>,
    /// The model with the main predictor's square added: bounds past the data take the larger
    /// of its upper bound and the straight line's (absent in files written before it).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub quadratic: Option<Quadratic>,
    /// The variance function, when equal spread was rejected: `sigma_between` and
    /// `sigma_within` are stated at its reference mean and scale with the mean.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub spread: Option<Spread>,
    /// One line per assumption (common slope, equal spread, linearity, drift): the test, its
    /// p-value and what was done (absent in files written before it).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub assumptions: Vec<Assumption>,
    /// The random slope (slopes only).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub slope: Option<RandomSlope>,
    /// The test `auto` ran for random slopes, whichever way it went.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub slope_test: Option<SlopeTest>,
}

impl ErrorModel {
    /// The structure of a schema-1 model file: OLS with its residual standard error.
    pub fn legacy_iid(sigma: f64, n: usize) -> ErrorModel {
        ErrorModel {
            kind: ErrorKind::Iid,
            column: None,
            reason: "iid: model file of schema version 1 (fitted as OLS)".into(),
            levels: 0,
            groups: 0,
            sigma_between: 0.0,
            sigma_group: 0.0,
            sigma_within: sigma,
            rho: None,
            rho_fitted: false,
            noise_carried: false,
            effective_n: n as f64,
            hac_lags: None,
            lack_of_fit: None,
            curvature: None,
            group_effects: Vec::new(),
            quadratic: None,
            spread: None,
            assumptions: Vec::new(),
            slope: None,
            slope_test: None,
        }
    }

    /// The name of the structure as `--errors` spells it.
    pub fn label(&self) -> String {
        let c = self.column.as_deref().unwrap_or("level");
        match self.kind {
            ErrorKind::Iid => "iid".into(),
            ErrorKind::Levels => "levels".into(),
            ErrorKind::Group if self.slope.is_some() => format!("slopes={c}"),
            ErrorKind::Group => format!("group={c}"),
            ErrorKind::Hac => "hac".into(),
            ErrorKind::Cluster => format!("cluster={c}"),
        }
    }

    /// Variance of one new reading around the mean `mean` (bytes), given `total` (the stored
    /// `residual_std_error` squared): with a variance function the level and reading parts
    /// scale with the mean, the group part does not.
    pub fn residual_variance(&self, mean: f64, total: f64) -> f64 {
        match &self.spread {
            None => total,
            Some(_) => self.level_variance(mean) + self.sigma_group.powi(2),
        }
    }

    /// Variance of one new reading of a known group (its offset is its BLUP, not a draw) around
    /// the mean `mean`: the level and reading parts, scaled by the variance function if any.
    pub fn level_variance(&self, mean: f64) -> f64 {
        let level = self.sigma_within.powi(2) + self.sigma_between.powi(2);
        self.spread.as_ref().map_or(level, |s| level * s.factor(mean))
    }

    /// The offset of a group by name.
    pub fn group(&self, name: &str) -> Option<&GroupEffect> {
        self.group_effects.iter().find(|g| g.name == name)
    }

    /// Variance of a new group's effect at a driver value `x`: `tau_0^2 + 2 x tau_01 + x^2
    /// tau_1^2` with random slopes, else `sigma_group^2`.
    pub fn new_group_variance(&self, x: f64) -> f64 {
        let t0 = self.sigma_group * self.sigma_group;
        match &self.slope {
            Some(s) => (t0 + 2.0 * x * s.offset_covariance + x * x * s.sd_bytes_per_unit.powi(2)).max(0.0),
            None => t0,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn specs_parse_and_print() {
        for s in ["auto", "iid", "levels", "group=proxy", "slopes=proxy", "hac", "cluster", "cluster=pod"] {
            assert_eq!(s.parse::<ErrorSpec>().unwrap().to_string(), s);
        }
        for bad in ["", "group", "group=", "slopes", "slopes= ", "ar1", "levels=x", "cluster= "] {
            assert!(bad.parse::<ErrorSpec>().is_err(), "{bad}");
        }
    }
}
