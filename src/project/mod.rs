//! Projections: what a fitted model says about limits, revision counts and what-ifs.
//!
//! Everything here moves along a [`RevisionPath`]: how each predictor column changes as Knative
//! revisions are added (each revision brings `ports_per_revision` endpoint ports and two
//! Services). On that path the model gives a mean and the standard error of one new
//! observation; [`Bounds`] turns those into the curves users act on (the two-sided prediction
//! band, the one-sided upper bound of peak memory), and [`crossing`] finds where a curve meets
//! a limit.

mod crossing;
mod limit;
mod path;
mod safe;
mod scope;
mod whatif;
pub mod workers;

pub use crossing::{first_crossing, last_safe_integer, Crossing, MAX_REVISIONS};
pub use limit::{required_limit, LimitAnswer};
pub use path::RevisionPath;
pub use safe::{oom_consistency, safe_for_limit, OomCheck, SafeAnswer};
pub use scope::{compare_scopes, sidecar_yaml, ProxyProjection, ScopeProjection};
pub use whatif::{whatif, Verdict, WhatIf};

use crate::error::{Error, Result};
use crate::model::FittedModel;

/// How cautious a projection is.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Caution {
    /// Confidence level of intervals and one-sided bounds, in (0, 1).
    pub level: f64,
    /// Fraction of the limit kept free, in [0, 1).
    pub headroom: f64,
    /// Multiplier on steady-state memory for config-push peaks (1.0 = none; 1.5 cautious).
    pub transient: f64,
}

impl Default for Caution {
    fn default() -> Self {
        Caution { level: 0.95, headroom: 0.0, transient: 1.0 }
    }
}

impl Caution {
    /// Check ranges; errors name the bad value.
    pub fn validate(&self) -> Result<()> {
        crate::model::check_level(self.level)?;
        if !(self.headroom.is_finite() && (0.0..1.0).contains(&self.headroom)) {
            return Err(Error::invalid(format!(
                "headroom must lie in [0, 100%), but {}% does not",
                self.headroom * 100.0
            )));
        }
        if !(self.transient.is_finite() && self.transient >= 1.0) {
            return Err(Error::invalid(format!(
                "transient factor must be a number of at least 1.0 (1.5 is cautious), but {} is not",
                self.transient
            )));
        }
        Ok(())
    }
}

/// Memory curves along a revision path for one model and caution.
#[derive(Debug, Clone)]
pub struct Bounds<'a> {
    /// The model.
    pub model: &'a FittedModel,
    /// The path.
    pub path: RevisionPath,
    /// Caution settings.
    pub caution: Caution,
    /// A proxy of a `group` fit whose own offset the curves use (else a new proxy's spread).
    pub proxy: Option<crate::model::GroupEffect>,
    t_two: f64,
    t_one: f64,
}

impl<'a> Bounds<'a> {
    /// Curves for a model along a path.
    pub fn new(model: &'a FittedModel, path: RevisionPath, caution: Caution) -> Self {
        Bounds {
            model,
            path,
            caution,
            proxy: None,
            t_two: model.t_two_sided(caution.level),
            t_one: model.t_one_sided(caution.level),
        }
    }

    /// The same curves for one proxy of a `group` fit, by name.
    pub fn for_proxy(mut self, name: &str) -> Result<Self> {
        let e = &self.model.errors;
        let g = e.group(name).ok_or_else(|| {
            let known: Vec<&str> = e.group_effects.iter().take(5).map(|g| g.name.as_str()).collect();
            Error::invalid(if e.group_effects.is_empty() {
                format!(
                    "--proxy {name}: the model has no proxies (fit a series with a proxy column, --errors group=proxy)"
                )
            } else {
                format!(
                    "--proxy {name}: the model has no such proxy (it has {}: {}…)",
                    e.group_effects.len(),
                    known.join(", ")
                )
            })
        })?;
        self.proxy = Some(g.clone());
        Ok(self)
    }

    /// Mean and standard errors at `r` revisions, steady state (no transient).
    pub fn at(&self, r: f64) -> crate::model::Prediction {
        let row = self.model.design_row(|c| self.path.value(c, r));
        match &self.proxy {
            Some(g) => self.model.predict_group(&row, g),
            None => self.model.predict_row(&row),
        }
    }

    /// Fitted mean peak memory (x transient).
    pub fn mean(&self, r: f64) -> f64 {
        self.at(r).mean * self.caution.transient
    }

    /// Two-sided prediction band of peak memory at the level: (low, high).
    pub fn band(&self, r: f64) -> (f64, f64) {
        let p = self.at(r);
        let k = self.caution.transient;
        (k * (p.mean - self.t_two * p.se_obs), k * (p.mean + self.t_two * p.se_obs))
    }

    /// Two-sided confidence band of the mean at the level: (low, high).
    pub fn mean_band(&self, r: f64) -> (f64, f64) {
        let p = self.at(r);
        let k = self.caution.transient;
        (k * (p.mean - self.t_two * p.se_mean), k * (p.mean + self.t_two * p.se_mean))
    }

    /// One-sided upper prediction bound of peak memory at the level.
    pub fn upper(&self, r: f64) -> f64 {
        let p = self.at(r);
        self.caution.transient * (p.mean + self.t_one * p.se_obs)
    }

    /// Endpoint ports seen at `r` revisions on this path.
    pub fn ports(&self, r: f64) -> f64 {
        self.path.ports(r)
    }
}

/// Parse a fraction in [0, 1): `10%` or `0.1`.
pub fn parse_fraction(s: &str) -> std::result::Result<f64, String> {
    let t = s.trim();
    let v = match t.strip_suffix('%') {
        Some(p) => p.trim().parse::<f64>().map(|v| v / 100.0),
        None => t.parse::<f64>(),
    }
    .map_err(|_| format!("\"{s}\" is not a fraction like 10% or 0.1"))?;
    if !(v.is_finite() && (0.0..1.0).contains(&v)) {
        return Err(format!("\"{s}\" lies outside [0, 100%)"));
    }
    Ok(v)
}
