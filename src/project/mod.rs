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
pub mod push;
mod safe;
mod scope;
mod whatif;
pub mod workers;

pub use crossing::{first_crossing, last_safe_integer, Crossing, MAX_REVISIONS};
pub use limit::{required_limit, LimitAnswer};
pub use path::RevisionPath;
pub use push::{PushAllowance, PushChoice, PushKind};
pub use safe::{oom_consistency, safe_for_limit, OomCheck, SafeAnswer};
pub use scope::{compare_scopes, sidecar, sidecar_yaml, ProxyProjection, ScopeProjection};
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
    /// Multiplier on all steady-state memory (`--transient`; 1.0 = none). When given, it
    /// replaces the push allowance.
    pub transient: f64,
    /// Memory above steady state for a config push, on the configuration's share only.
    pub push: PushAllowance,
}

impl Default for Caution {
    fn default() -> Self {
        Caution { level: 0.95, headroom: 0.0, transient: 1.0, push: PushAllowance::NONE }
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
        if !(self.push.fraction.is_finite() && (0.0..=10.0).contains(&self.push.fraction)) {
            return Err(Error::invalid(format!(
                "push allowance must be a fraction from 0 to 10 of configuration memory, but {} is not",
                self.push.fraction
            )));
        }
        Ok(())
    }

    /// The same caution at steady state: no push allowance, no transient.
    pub fn steady(&self) -> Caution {
        Caution { transient: 1.0, push: PushAllowance::NONE, ..*self }
    }
}

/// Predictor columns whose memory is configuration a push re-sends: the push allowance scales
/// their terms.
const CONFIG_COLUMNS: [&str; 4] =
    [crate::series::REVISIONS, crate::series::PORTS, crate::series::SERVICES, crate::series::ENDPOINTS];

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
    /// t quantiles of the quadratic alternative (model-form uncertainty past the data).
    t_two_q: f64,
    t_one_q: f64,
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
            t_two_q: model
                .errors
                .quadratic
                .as_ref()
                .map_or(f64::NAN, |q| crate::model::tdist::quantile(q.dof as f64, 0.5 + caution.level / 2.0)),
            t_one_q: model
                .errors
                .quadratic
                .as_ref()
                .map_or(f64::NAN, |q| crate::model::tdist::quantile(q.dof as f64, caution.level)),
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
        // Its own kind and workers, where the model has terms on them.
        if let Some(class) = &g.class {
            self.path = self.path.clone().with_class(class);
        }
        self.proxy = Some(g.clone());
        Ok(self)
    }

    /// Mean and standard errors at `r` revisions, steady state (no push, no transient).
    pub fn at(&self, r: f64) -> crate::model::Prediction {
        self.predict(&self.model.design_row(|c| self.path.value(c, r)))
    }

    /// Mean and standard errors of peak memory at `r` revisions during a config push, before
    /// the transient: the terms of configuration columns scaled by the push factor, so the
    /// allowance and its uncertainty grow with the configuration, not with the baseline.
    pub fn peak_at(&self, r: f64) -> crate::model::Prediction {
        self.predict(&self.peak_row(r))
    }

    /// The design row of peak memory at `r` revisions: configuration terms x the push factor.
    fn peak_row(&self, r: f64) -> Vec<f64> {
        let mut row = self.model.design_row(|c| self.path.value(c, r));
        let factor = self.caution.push.factor();
        if factor != 1.0 {
            let offset = usize::from(self.model.intercept);
            for (x, t) in row[offset..].iter_mut().zip(&self.model.terms) {
                // A product with a configuration column (`ports:concurrency`) is configuration.
                if t.column.split(':').any(|c| CONFIG_COLUMNS.contains(&c)) {
                    *x *= factor;
                }
            }
        }
        row
    }

    /// How far past the data `r` revisions lie: the main predictor's value over the largest
    /// measured one, when above 1 (`None` inside the data, or without a quadratic alternative).
    pub fn beyond_data(&self, r: f64) -> Option<f64> {
        let q = self.model.errors.quadratic.as_ref()?;
        let max = self.model.range(&q.column)?.max;
        let v = self.path.value(&q.column, r);
        (max > 0.0 && v > max).then(|| v / max)
    }

    /// The quadratic alternative's peak prediction at `r`, past the data only, for a new
    /// proxy (an existing proxy's bounds use its own offset on the straight line), when the
    /// straight line grows along the path.
    fn quadratic_peak(&self, r: f64) -> Option<crate::model::Prediction> {
        if self.proxy.is_some() {
            return None;
        }
        self.beyond_data(r)?;
        // A line that does not grow along the path never crosses; the quadratic's widening
        // answers how fast memory grows, not whether it does.
        if self.peak_at(r).mean <= self.peak_at(0.0).mean {
            return None;
        }
        let q = self.model.errors.quadratic.as_ref()?;
        let v = self.path.value(&q.column, r);
        let factor = if CONFIG_COLUMNS.contains(&q.column.as_str()) { self.caution.push.factor() } else { 1.0 };
        let spread = |m: f64| self.model.errors.spread.as_ref().map_or(1.0, |s| s.factor(m));
        Some(q.predict(&self.peak_row(r), factor * v * v, spread))
    }

    fn predict(&self, row: &[f64]) -> crate::model::Prediction {
        match &self.proxy {
            Some(g) => self.model.predict_group(row, g),
            None => self.model.predict_row(row),
        }
    }

    /// Fitted mean peak memory (with the push allowance, x transient).
    pub fn mean(&self, r: f64) -> f64 {
        self.peak_at(r).mean * self.caution.transient
    }

    /// Two-sided prediction band of peak memory at the level: (low, high). Past the data it
    /// spans the straight line's and the quadratic's bands (model-form uncertainty).
    pub fn band(&self, r: f64) -> (f64, f64) {
        let p = self.peak_at(r);
        let k = self.caution.transient;
        let (mut lo, mut hi) = (p.mean - self.t_two * p.se_obs, p.mean + self.t_two * p.se_obs);
        if let Some(q) = self.quadratic_peak(r) {
            lo = lo.min(q.mean - self.t_two_q * q.se_obs);
            hi = hi.max(q.mean + self.t_two_q * q.se_obs);
        }
        (k * lo, k * hi)
    }

    /// Two-sided confidence band of the mean peak at the level: (low, high).
    pub fn mean_band(&self, r: f64) -> (f64, f64) {
        let p = self.peak_at(r);
        let k = self.caution.transient;
        (k * (p.mean - self.t_two * p.se_mean), k * (p.mean + self.t_two * p.se_mean))
    }

    /// One-sided upper prediction bound of peak memory at the level. Past the largest measured
    /// value of the main predictor it is the larger of the straight line's bound and the
    /// quadratic's: a bend the data cannot rule out grows with the square of the distance
    /// (tests/shapes_study.rs).
    pub fn upper(&self, r: f64) -> f64 {
        let p = self.peak_at(r);
        let mut u = p.mean + self.t_one * p.se_obs;
        if let Some(q) = self.quadratic_peak(r) {
            u = u.max(q.mean + self.t_one_q * q.se_obs);
        }
        self.caution.transient * u
    }

    /// The same curves at steady state (no push allowance, no transient).
    pub fn steady(&self) -> Bounds<'a> {
        Bounds { caution: self.caution.steady(), ..self.clone() }
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
