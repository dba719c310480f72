//! The fitted model: a plain serde struct that is both the model file and the `--format json`
//! schema of `meshcap fit`.
//!
//! It carries everything later stages need without the data: coefficients, the unscaled
//! covariance (X'X)^-1 and sigma for intervals, the revision -> ports mapping, the OOM
//! observations and where the data came from.

use serde::{Deserialize, Serialize};

use super::conditions::Conditions;
use super::errors::{ErrorModel, GroupEffect};
use super::solve::Method;
use super::term::Term;
use crate::series::OomObservation;

/// Version of the model file layout. Version 2 added the error structure ([`ErrorModel`]);
/// version 1 files load as `iid`; any other version is refused.
pub const SCHEMA_VERSION: u32 = 2;

/// One estimated coefficient with its inference.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Coefficient {
    /// `intercept` or the term (`revisions`, `revisions^2`).
    pub name: String,
    /// Estimate in the data's units (bytes per unit of the term).
    pub estimate: f64,
    /// Standard error.
    pub std_error: f64,
    /// t statistic (null when the standard error is 0).
    pub t: Option<f64>,
    /// Two-sided p-value of t against Student t with the residual dof.
    pub p: Option<f64>,
    /// Lower end of the confidence interval at the model's level.
    pub ci_low: f64,
    /// Upper end of the confidence interval at the model's level.
    pub ci_high: f64,
}

/// Observed range of one predictor column, for extrapolation warnings.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ColumnRange {
    /// Column name.
    pub column: String,
    /// Smallest value fitted.
    pub min: f64,
    /// Largest value fitted.
    pub max: f64,
    /// Mean of the fitted values (used to hold a column fixed in projections).
    pub mean: f64,
}

/// Where the data came from.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Source {
    /// Data path as given to `meshcap fit`.
    pub path: String,
    /// SHA-256 of the data file's bytes.
    pub sha256: String,
    /// Rows in the file.
    pub rows: usize,
    /// Rows left out of the fit because they carry an event (OOMKill, restart, double count).
    pub oom_rows: usize,
}

/// A fitted linear memory model `memory = b0 + sum(bk * termk)`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct FittedModel {
    /// Model file layout version ([`SCHEMA_VERSION`]).
    pub schema_version: u32,
    /// meshcap version that wrote the model.
    pub meshcap_version: String,
    /// Response column (`memory`, bytes).
    pub response: String,
    /// Whether the model has an intercept (the idle baseline).
    pub intercept: bool,
    /// Predictor terms, in coefficient order after the intercept.
    pub terms: Vec<Term>,
    /// Coefficients: intercept first when present, then one per term.
    pub coefficients: Vec<Coefficient>,
    /// The coefficient covariance divided by `residual_std_error^2`, p x p: (X'X)^-1 under
    /// `iid`, the GLS or sandwich covariance over sigma^2 otherwise.
    pub cov_unscaled: Vec<Vec<f64>>,
    /// Standard deviation of one new reading around the fitted mean, bytes: the residual
    /// standard error under `iid`, `hac` and `cluster`; `sqrt(sigma_within^2 +
    /// sigma_between^2 + sigma_group^2)` under `levels` and `group` (a new level of a new
    /// proxy).
    pub residual_std_error: f64,
    /// Observations (readings) fitted.
    pub n: usize,
    /// Degrees of freedom of t inference: n - p under `iid` and `hac`, levels - p under
    /// `levels` and `group`, clusters - 1 under `cluster`.
    pub dof: usize,
    /// Confidence level of the intervals.
    pub level: f64,
    /// R-squared (uncentered when there is no intercept, as statsmodels and NIST do).
    pub r_squared: f64,
    /// Adjusted R-squared.
    pub adj_r_squared: f64,
    /// F statistic of the regression against the intercept-only (or zero) model.
    pub f_statistic: Option<f64>,
    /// p-value of the F statistic.
    pub f_p_value: Option<f64>,
    /// 2-norm condition number of the unscaled design.
    pub condition_number: f64,
    /// Arithmetic the solver used.
    pub method: Method,
    /// Memory per Knative revision, bytes (null when it is not constant, e.g. polynomial terms).
    pub per_revision_bytes: Option<f64>,
    /// Memory per endpoint port (Envoy outbound cluster), bytes.
    pub per_port_bytes: Option<f64>,
    /// True when the per-port figure is derived from `ports_per_revision`, not fitted.
    pub per_port_derived: bool,
    /// Endpoint ports per Knative revision (8 before Knative 1.21, 7 after).
    pub ports_per_revision: f64,
    /// Kubernetes Services per Knative revision (public and private).
    pub services_per_revision: f64,
    /// Observed range of each predictor column.
    pub ranges: Vec<ColumnRange>,
    /// OOMKills in the data, kept out of the fit.
    pub oom: Vec<OomObservation>,
    /// The data the model was fitted on.
    pub source: Source,
    /// Things a reader should know (dropped default predictors, derived figures).
    pub notes: Vec<String>,
    /// The error structure and its variance components.
    pub errors: ErrorModel,
    /// Where the data were measured (Istio, Knative, workers, stats, proxy kind, memory
    /// metric); empty in files written before it was recorded.
    #[serde(default, skip_serializing_if = "Conditions::is_empty")]
    pub conditions: Conditions,
}

/// Point prediction with its intervals.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct Prediction {
    /// Fitted mean, bytes.
    pub mean: f64,
    /// Standard error of the mean.
    pub se_mean: f64,
    /// Standard error of one new observation (mean uncertainty plus residual).
    pub se_obs: f64,
}

impl FittedModel {
    /// Number of coefficients.
    pub fn params(&self) -> usize {
        self.coefficients.len()
    }

    /// Coefficient estimates in design order.
    pub fn estimates(&self) -> Vec<f64> {
        self.coefficients.iter().map(|c| c.estimate).collect()
    }

    /// The design row (intercept first) for given column values, looked up by `value(column)`.
    pub fn design_row(&self, value: impl Fn(&str) -> f64) -> Vec<f64> {
        let mut row = Vec::with_capacity(self.params());
        if self.intercept {
            row.push(1.0);
        }
        // A product column (`ports:concurrency`) is the product of its parts' values.
        row.extend(self.terms.iter().map(|t| t.eval(super::covariates::eval(&t.column, &value))));
        row
    }

    /// Prediction at a design row.
    pub fn predict_row(&self, row: &[f64]) -> Prediction {
        let mean: f64 = row.iter().zip(&self.coefficients).map(|(x, c)| x * c.estimate).sum();
        let mut h = 0.0;
        for (i, xi) in row.iter().enumerate() {
            for (j, xj) in row.iter().enumerate() {
                h += xi * self.cov_unscaled[i][j] * xj;
            }
        }
        let s = self.residual_std_error;
        let h = h.max(0.0);
        // With random slopes a new group's spread depends on where it is predicted:
        // `residual_std_error` holds it at driver 0, the slope adds `2 x tau_01 + x^2 tau_1^2`.
        let slope_extra = match &self.errors.slope {
            Some(slope) => {
                let x = row.get(slope.index).copied().unwrap_or(0.0);
                self.errors.new_group_variance(x) - self.errors.sigma_group.powi(2)
            }
            None => 0.0,
        };
        if self.errors.spread.is_some() {
            let resid = self.errors.residual_variance(mean, s * s);
            let var_obs = (s * s * h + resid + slope_extra).max(0.0);
            return Prediction { mean, se_mean: s * h.sqrt(), se_obs: var_obs.sqrt() };
        }
        let var_obs = (s * s * (1.0 + h) + slope_extra).max(0.0);
        Prediction { mean, se_mean: s * h.sqrt(), se_obs: var_obs.sqrt() }
    }

    /// Prediction at a design row for one group of a `group` fit: its own offset (BLUP) and
    /// that offset's uncertainty replace the spread of a new group.
    pub fn predict_group(&self, row: &[f64], group: &GroupEffect) -> Prediction {
        let mut mean: f64 =
            row.iter().zip(&self.coefficients).map(|(x, c)| x * c.estimate).sum::<f64>() + group.effect_bytes;
        let mut z: Vec<f64> = row.iter().zip(&group.shrink_row).map(|(x, s)| x - s).collect();
        // Its own slope (BLUP) too, with the offset-slope conditional covariance.
        let mut effect_var = group.effect_sd_bytes.powi(2);
        if let (Some(slope), Some(own)) = (&self.errors.slope, &group.slope) {
            let x = row.get(slope.index).copied().unwrap_or(0.0);
            mean += x * own.effect_bytes_per_unit;
            for (zi, s) in z.iter_mut().zip(&own.shrink_row_per_unit) {
                *zi -= x * s;
            }
            effect_var += 2.0 * x * own.offset_covariance + x * x * own.sd_bytes_per_unit.powi(2);
        }
        let mut h = 0.0;
        for (i, zi) in z.iter().enumerate() {
            for (j, zj) in z.iter().enumerate() {
                h += zi * self.cov_unscaled[i][j] * zj;
            }
        }
        let s2 = self.residual_std_error * self.residual_std_error;
        let var_mean = (h * s2).max(0.0) + effect_var.max(0.0);
        let e = &self.errors;
        // The group's own offset is known (its BLUP and conditional variance above): no group
        // variance here, with or without a variance function.
        let var_obs = var_mean + e.level_variance(mean);
        Prediction { mean, se_mean: var_mean.sqrt(), se_obs: var_obs.sqrt() }
    }

    /// Two-sided t quantile for a confidence level, e.g. 0.975 quantile for 0.95.
    pub fn t_two_sided(&self, level: f64) -> f64 {
        super::tdist::quantile(self.dof as f64, 0.5 + level / 2.0)
    }

    /// One-sided t quantile, e.g. the 0.95 quantile for level 0.95.
    pub fn t_one_sided(&self, level: f64) -> f64 {
        super::tdist::quantile(self.dof as f64, level)
    }

    /// P(T > x) for Student t with the residual degrees of freedom.
    pub fn t_sf(&self, x: f64) -> f64 {
        super::tdist::sf(self.dof as f64, x)
    }

    /// The idle baseline: predicted memory with no revisions, ports or services.
    pub fn baseline_bytes(&self) -> f64 {
        self.predict_row(&self.design_row(|_| 0.0)).mean
    }

    /// The coefficient of a linear term on `column`, if the model has one.
    pub fn linear_coefficient(&self, column: &str) -> Option<f64> {
        let offset = usize::from(self.intercept);
        self.terms
            .iter()
            .position(|t| t.column == column && t.power == 1)
            .map(|i| self.coefficients[offset + i].estimate)
    }

    /// Range of a predictor column, if fitted.
    pub fn range(&self, column: &str) -> Option<&ColumnRange> {
        self.ranges.iter().find(|r| r.column == column)
    }

    /// For a model with a line per kind, what an answer for `kind` (`None`: the baseline kind)
    /// says; an error for a kind the fit never saw, which would silently take the baseline's line.
    /// `None` for a model without kind terms.
    pub fn kind_note(&self, kind: Option<&str>) -> crate::error::Result<Option<String>> {
        let lines = super::covariates::kinds_of(&self.terms);
        if lines.is_empty() {
            return Ok(None);
        }
        let fitted: std::collections::BTreeSet<&str> =
            self.errors.group_effects.iter().filter_map(|g| g.class.as_ref().and_then(|c| c.kind.as_deref())).collect();
        if let Some(k) = kind.filter(|k| !fitted.is_empty() && !fitted.contains(k)) {
            return Err(crate::error::Error::invalid(format!(
                "--kind {k}: the model has a line for {} only; fit data that holds {k} proxies",
                fitted.into_iter().collect::<Vec<_>>().join(", ")
            )));
        }
        let baseline = fitted.iter().find(|k| !lines.contains(k)).map_or("proxy of its baseline kind", |k| *k);
        Ok(Some(match kind {
            Some(k) => format!("the model has a line per proxy kind: this answer is for a {k}"),
            None => format!(
                "the model has a line per proxy kind: this answer is for a {baseline}; --kind {} for the others",
                lines.join("/")
            ),
        }))
    }

    /// A short human name: the data file's stem.
    pub fn name(&self) -> String {
        std::path::Path::new(&self.source.path)
            .file_stem()
            .map_or_else(|| self.source.path.clone(), |s| s.to_string_lossy().into_owned())
    }
}
