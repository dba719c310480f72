//! Memory as a function of revisions per service, for one proxy shape: the sweep's hot path.
//!
//! A proxy sees `revisions(R) = rev0 + rev1 R` Knative revisions, `ports(R)` endpoint ports and
//! `services(R)` Services when every Knative service it sees retains `R` revisions. For a model
//! linear in its predictors the design row is `a + R b`, so the mean is `mu0 + mu1 R` and the
//! leverage `x'(X'X)^-1 x` is the quadratic `h0 + h1 R + h2 R^2`: a scenario costs a few
//! multiplications and one square root, with no allocation.

use serde::Serialize;

use super::beyond::{form_along, slope_leverage, spread_factor, spread_of, Form, SpreadTerms};
use crate::error::{Error, Result};
use crate::model::FittedModel;
use crate::series::{CONCURRENCY, ENDPOINTS, PORTS, REVISIONS, SERVICES};

/// What one proxy sees as a function of retained revisions per Knative service `R`.
#[derive(Debug, Clone, Copy, PartialEq, Default, Serialize)]
pub struct Shape {
    /// Revisions seen at R = 0 (gateways that keep only routed revisions).
    pub rev0: f64,
    /// Revisions seen per unit of R (the Knative services visible).
    pub rev1: f64,
    /// Ports not tied to revisions (plain and ExternalName Services, platform Services).
    pub ports0: f64,
    /// Ports per unit of R.
    pub ports1: f64,
    /// Services not tied to revisions.
    pub services0: f64,
    /// Services per unit of R.
    pub services1: f64,
    /// Endpoints not tied to revisions.
    pub endpoints0: f64,
    /// Endpoints per unit of R (scaled-to-zero revisions: the activator's).
    pub endpoints1: f64,
    /// Envoy workers of the proxy (a model's `concurrency` term is held at it).
    pub concurrency: f64,
}

impl Shape {
    /// Revisions seen at R.
    pub fn revisions(&self, r: f64) -> f64 {
        self.rev0 + self.rev1 * r
    }

    /// Endpoint ports seen at R.
    pub fn ports(&self, r: f64) -> f64 {
        self.ports0 + self.ports1 * r
    }
}

/// Mean and leverage of a model along a shape, as polynomials in R.
#[derive(Debug, Clone, PartialEq)]
pub struct Curve {
    /// The shape.
    pub shape: Shape,
    mu0: f64,
    mu1: f64,
    h0: f64,
    h1: f64,
    h2: f64,
    sigma: f64,
    /// A variance function `(power, reference bytes, level variance, group variance)`, boxed:
    /// the sweep holds a curve per proxy shape and reads the plain fields in its hot loop.
    spread: Option<Box<SpreadTerms>>,
    /// The quadratic alternative past the data (issue 19 §4), when the model carries one.
    form: Option<Form>,
}

/// One-sided t quantiles at a level: the straight line's and the quadratic alternative's (its
/// own degrees of freedom).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Quantiles {
    /// The straight line's.
    pub line: f64,
    /// The quadratic's (NaN without one).
    pub form: f64,
}

impl Quantiles {
    /// Both quantiles of `model` at `level`.
    pub fn new(model: &FittedModel, level: f64) -> Quantiles {
        let form =
            model.errors.quadratic.as_ref().map_or(f64::NAN, |q| crate::model::tdist::quantile(q.dof as f64, level));
        Quantiles { line: model.t_one_sided(level), form }
    }
}

/// Mean and standard error of one reading at R, for the line and (past the data) the
/// quadratic: what an upper bound needs, computed once per R.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Moments {
    /// The line's mean.
    pub mean: f64,
    /// The line's standard error of one reading.
    pub se: f64,
    /// The quadratic's mean and standard error, past the data only.
    pub form: Option<(f64, f64)>,
}

impl Moments {
    /// One-sided upper bound of peak memory: `transient (mean + t se)`, the larger of the
    /// line's and the quadratic's past the data.
    #[inline]
    pub fn upper(&self, t: Quantiles, transient: f64) -> f64 {
        let line = self.mean + t.line * self.se;
        let u = match self.form {
            Some((m, s)) => line.max(m + t.form * s),
            None => line,
        };
        transient * u
    }
}

impl Curve {
    /// Build the curve; models with polynomial terms are refused (the sweep needs linearity).
    pub fn new(model: &FittedModel, shape: Shape) -> Result<Curve> {
        let (a, b) = design_line(model, &shape)?;
        let beta = model.estimates();
        let dot = |x: &[f64]| x.iter().zip(&beta).map(|(x, b)| x * b).sum::<f64>();
        let quad = |x: &[f64], y: &[f64]| {
            let mut s = 0.0;
            for (i, xi) in x.iter().enumerate() {
                for (j, yj) in y.iter().enumerate() {
                    s += xi * model.cov_unscaled[i][j] * yj;
                }
            }
            s
        };
        let mu1 = dot(&b);
        let form = if mu1 > 0.0 { form_along(model, &a, &b) } else { None };
        let [s0, s1, s2] = slope_leverage(model, &a, &b);
        Ok(Curve {
            shape,
            mu0: dot(&a),
            mu1,
            h0: quad(&a, &a) + s0,
            h1: 2.0 * quad(&a, &b) + s1,
            h2: quad(&b, &b) + s2,
            sigma: model.residual_std_error,
            spread: spread_of(model),
            form,
        })
    }

    /// Line and quadratic moments at R.
    #[inline]
    pub fn moments(&self, r: f64) -> Moments {
        let form = self.form.filter(|f| r > f.from).map(|f| {
            let m = f.mean[0] + r * (f.mean[1] + r * f.mean[2]);
            let v = f.var[0] + r * (f.var[1] + r * (f.var[2] + r * (f.var[3] + r * f.var[4])));
            // As `Quadratic::predict`: its reading variance scaled by the variance function.
            let sigma2 = if self.spread.is_none() { f.sigma2 } else { f.sigma2 * spread_factor(&self.spread, m) };
            (m, (v.max(0.0) + sigma2).sqrt())
        });
        Moments { mean: self.mean(r), se: self.se_obs(r), form }
    }

    /// Steady-state mean memory at R.
    #[inline]
    pub fn mean(&self, r: f64) -> f64 {
        self.mu0 + self.mu1 * r
    }

    /// Standard error of one observation at R.
    #[inline]
    pub fn se_obs(&self, r: f64) -> f64 {
        match self.spread.as_deref() {
            None => self.sigma * (1.0 + self.h0 + r * (self.h1 + r * self.h2)).max(0.0).sqrt(),
            Some(&spread) => self.se_obs_spread(r, spread),
        }
    }

    /// [`Curve::se_obs`] under a variance function (`ErrorModel::residual_variance`): the level
    /// and reading parts scaled, the group's (and a random slope's, inside `h`) not. Kept out
    /// of line: the sweep's hot path is the plain branch.
    #[inline(never)]
    fn se_obs_spread(&self, r: f64, (_, _, level, group): SpreadTerms) -> f64 {
        let h = self.h0 + r * (self.h1 + r * self.h2);
        (self.sigma * self.sigma * h + level * spread_factor(&self.spread, self.mean(r)) + group).max(0.0).sqrt()
    }

    /// One-sided upper bound of peak memory: `transient (mean + t se_obs)`; past the data the
    /// larger of the line's and the quadratic's.
    #[inline]
    pub fn upper(&self, r: f64, t: Quantiles, transient: f64) -> f64 {
        self.moments(r).upper(t, transient)
    }

    /// Smallest R in `[lo, hi]` where the upper bound reaches `target`, given that it is below
    /// at `lo` and at or above at `hi`: the line's crossing, or, when that lies past the data
    /// and the quadratic's bound reaches the target first, bisection on the larger bound.
    pub fn crossing(&self, target: f64, t: Quantiles, transient: f64, lo: f64, hi: f64) -> f64 {
        let line = self.line_crossing(target, t, transient, lo, hi);
        match self.form {
            Some(f) if line > f.from && line > lo && self.upper(line, t, transient) > target * (1.0 + 1e-12) => {
                let (mut a, mut b) = (lo.max(f.from), line);
                if self.upper(a, t, transient) >= target {
                    return a;
                }
                for _ in 0..100 {
                    let m = 0.5 * (a + b);
                    if self.upper(m, t, transient) >= target {
                        b = m;
                    } else {
                        a = m;
                    }
                }
                b
            }
            _ => line,
        }
    }

    /// The straight line's own crossing (the quadratic left out).
    fn line_crossing(&self, target: f64, t: Quantiles, transient: f64, lo: f64, hi: f64) -> f64 {
        let line_upper = |r: f64| transient * (self.mean(r) + t.line * self.se_obs(r));
        let t = t.line;
        let goal = target / transient;
        let g = goal - self.mu0;
        // The variance is a quadratic in R (a random slope's part inside h); a variance function
        // scales it, and then only bisection finds the crossing.
        if self.spread.is_some() {
            return bisect(lo, hi.min(1e12), |m| line_upper(m) >= target);
        }
        let ts2 = (t * self.sigma).powi(2);
        let qa = self.mu1 * self.mu1 - ts2 * self.h2;
        let qb = -2.0 * g * self.mu1 - ts2 * self.h1;
        let qc = g * g - ts2 * (1.0 + self.h0);
        let mut best = f64::INFINITY;
        let mut consider = |r: f64| {
            if r.is_finite() && r >= lo && r <= hi && r < best && goal - self.mean(r) >= -1e-9 * goal.abs() {
                best = r;
            }
        };
        if qa.abs() > 1e-300 {
            let disc = qb * qb - 4.0 * qa * qc;
            if disc >= 0.0 {
                // Citardauq form for the small root keeps precision.
                let sq = disc.sqrt();
                let q = -0.5 * (qb + qb.signum() * sq);
                consider(q / qa);
                if q != 0.0 {
                    consider(qc / q);
                }
            }
        } else if qb != 0.0 {
            consider(-qc / qb);
        }
        if best.is_finite() && (line_upper(best) - target).abs() <= 1e-6 * target.abs().max(1.0) {
            return best;
        }
        bisect(lo, hi.min(1e12), |m| line_upper(m) >= target)
    }

    /// Days from the start until this proxy's bound crosses `target`, given the bound `upper` at
    /// `r` (the steady state, plus what never-routed revisions add over the horizon; infinite
    /// when that is within the target) and, on demand, at the start; revisions per service grow
    /// along `path`. [`Grid::evaluate`](super::Grid::evaluate) and the summary's block path both
    /// call this, so they give the same bits.
    #[allow(clippy::too_many_arguments)]
    #[inline]
    pub fn days_to_cross(
        &self,
        upper: f64,
        upper_start: impl FnOnce() -> f64,
        r: f64,
        path: &RevisionGrowth,
        t: Quantiles,
        transient: f64,
        target: f64,
    ) -> f64 {
        if upper <= target {
            f64::INFINITY
        } else if upper_start() >= target {
            0.0
        } else if path.rate > 0.0 {
            path.days_to(self.crossing(target, t, transient, path.start, r))
        } else {
            f64::INFINITY
        }
    }
}

/// The smallest point of `[a, b]` where `reached` turns true (false at `a`, true at `b`), by
/// 200 halvings.
fn bisect(mut a: f64, mut b: f64, reached: impl Fn(f64) -> bool) -> f64 {
    for _ in 0..200 {
        let m = 0.5 * (a + b);
        if reached(m) {
            b = m;
        } else {
            a = m;
        }
    }
    b
}

/// How revisions per service grow from the start: each update adds one (at `rate` a day) until
/// GC holds the routed ones at `chain`, the steady state of the updates that route; after that
/// only the never-routed revisions add up, at `leak` a day, which GC never collects
/// (knative/serving `pkg/reconciler/gc/gc.go` `isRevisionActive` at knative-v1.11.0: a
/// `pending` or unset routingState is active).
#[derive(Debug, Clone, Copy, PartialEq, Default)]
pub struct RevisionGrowth {
    /// Revisions per service at day 0 (at most `chain`).
    pub start: f64,
    /// Steady state of the routed chain.
    pub chain: f64,
    /// Updates per day (routed and not).
    pub rate: f64,
    /// Never-routed revisions per day (0: none).
    pub leak: f64,
}

impl RevisionGrowth {
    /// Days until a service holds `r` revisions (`r` >= `start`, `rate` > 0).
    #[inline]
    pub fn days_to(&self, r: f64) -> f64 {
        if self.leak <= 0.0 {
            return (r - self.start) / self.rate;
        }
        // The chain reaches its steady state after `knee` days (its own rate is rate - leak);
        // until then every update adds one, after it only the leak does.
        let chain_rate = self.rate - self.leak;
        let knee =
            if self.chain > self.start && chain_rate > 0.0 { (self.chain - self.start) / chain_rate } else { 0.0 };
        if r <= self.start + self.rate * knee {
            (r - self.start) / self.rate
        } else {
            (r - self.chain) / self.leak
        }
    }
}

/// The model's design rows along a shape, `a + R b` (intercept first). A revisions-only model
/// counts every port as a revision equivalent (ports / ports-per-revision), since its per-port
/// memory is derived from per-revision memory. Models with polynomial terms are refused.
pub fn design_line(model: &FittedModel, shape: &Shape) -> Result<(Vec<f64>, Vec<f64>)> {
    let has_ports = model.terms.iter().any(|t| t.column == PORTS);
    let mut a = Vec::with_capacity(model.params());
    let mut b = Vec::with_capacity(model.params());
    if model.intercept {
        a.push(1.0);
        b.push(0.0);
    }
    for t in &model.terms {
        if t.power != 1 {
            return Err(Error::invalid(format!(
                "scenario sweeps need a model linear in its predictors, but it has the term {t}; refit without powers"
            )));
        }
        let (x0, x1) = match t.column.as_str() {
            REVISIONS if !has_ports => {
                (shape.ports0 / model.ports_per_revision, shape.ports1 / model.ports_per_revision)
            }
            REVISIONS => (shape.rev0, shape.rev1),
            PORTS => (shape.ports0, shape.ports1),
            SERVICES => (shape.services0, shape.services1),
            ENDPOINTS => (shape.endpoints0, shape.endpoints1),
            CONCURRENCY => (shape.concurrency, 0.0),
            other => (model.range(other).map_or(0.0, |r| r.mean), 0.0),
        };
        a.push(x0);
        b.push(x1);
    }
    Ok((a, b))
}
