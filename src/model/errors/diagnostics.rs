//! What the data say about the fit's assumptions: lack of fit against pure error, and
//! curvature of the level means.

use rayon::prelude::*;
use serde::{Deserialize, Serialize};
use statrs::distribution::{ContinuousCDF, FisherSnedecor};

use super::form::Quadratic;
use super::input::FitInput;
use super::levels::{Levels, Scaling};
use super::reml::{estimate_with, evaluate, Free, Theta};
use super::row_index::{mix, RowIndex};
use crate::model::term::Term;

/// The classical lack-of-fit F test: the residual sum of squares split into pure error (readings
/// around their level's mean, from levels with replicated predictor values) and lack of fit.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct LackOfFit {
    /// F statistic, (SS_lof / df_lof) / (SS_pe / df_pe).
    pub f: f64,
    /// Lack-of-fit degrees of freedom: distinct predictor settings - parameters.
    pub df_lack_of_fit: usize,
    /// Pure-error degrees of freedom: readings - distinct predictor settings.
    pub df_pure_error: usize,
    /// P(F > f).
    pub p: f64,
}

/// A Wald t test of a squared term added to the model under the fitted error structure.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Curvature {
    /// The added term, e.g. `revisions^2`.
    pub term: String,
    /// Its t statistic.
    pub t: f64,
    /// Degrees of freedom of the test.
    pub dof: usize,
    /// Two-sided p-value.
    pub p: f64,
}

/// Lack of fit of a model with `params` coefficients and residual sum of squares `rss`
/// (bytes^2), pooling the levels by predictor values. `y_scale` converts level sums of
/// squares back to bytes^2. `None` when there is no replication or no spare setting.
pub(crate) fn lack_of_fit(levels: &Levels, rss: f64, params: usize, y_scale: f64) -> Option<LackOfFit> {
    if !levels.replicated() {
        return None;
    }
    if !levels.ordered && levels.groups == 1 {
        // Levels formed without times or groups already are the distinct predictor rows.
        let cells: Vec<(f64, f64, f64)> = levels.levels.iter().map(|l| (l.n as f64, l.mean, l.ss)).collect();
        return f_test(&cells, levels.readings, rss, params, y_scale);
    }
    // (n, mean, ss) per distinct predictor row, merged with Chan's pairwise update.
    let same = |a: usize, b: usize| levels.row(a).iter().zip(levels.row(b)).all(|(x, y)| x.to_bits() == y.to_bits());
    let mut index = RowIndex::new();
    let mut cells: Vec<(f64, f64, f64)> = Vec::new();
    let mut first: Vec<usize> = Vec::new();
    for (l, level) in levels.levels.iter().enumerate() {
        let hash = levels.row(l).iter().fold(0, |h, v| mix(h, v.to_bits()));
        let (id, new) = index.find_or_insert(hash, |id| same(first[id as usize], l));
        if new {
            cells.push((0.0, 0.0, 0.0));
            first.push(l);
        }
        let c = &mut cells[id as usize];
        let n = level.n as f64;
        let total = c.0 + n;
        let delta = level.mean - c.1;
        c.2 += level.ss + delta * delta * c.0 * n / total;
        c.1 += delta * n / total;
        c.0 = total;
    }
    f_test(&cells, levels.readings, rss, params, y_scale)
}

/// The F test from (n, mean, ss) per distinct predictor row.
fn f_test(cells: &[(f64, f64, f64)], readings: usize, rss: f64, params: usize, y_scale: f64) -> Option<LackOfFit> {
    let settings = cells.len();
    if settings <= params || readings <= settings {
        return None;
    }
    let pure = cells.iter().map(|c| c.2).sum::<f64>() * y_scale * y_scale;
    let (df_lof, df_pe) = (settings - params, readings - settings);
    let lof = (rss - pure).max(0.0);
    if pure.is_nan() || pure <= 0.0 {
        return None;
    }
    let f = (lof / df_lof as f64) / (pure / df_pe as f64);
    if !f.is_finite() {
        return None;
    }
    let p = FisherSnedecor::new(df_lof as f64, df_pe as f64).ok().map_or(f64::NAN, |d| d.sf(f));
    Some(LackOfFit { f, df_lack_of_fit: df_lof, df_pure_error: df_pe, p })
}

/// Add `column^2` (design column `primary`, scaled) to the model and test its coefficient with
/// `dof - 1` degrees of freedom, under the quadratic model's own variance components (REML
/// again over the `free` components, from the straight line's `theta`). Also returns the
/// quadratic model in the data's units (`sc` undoes the scaling; `intercept` is the design
/// index of the intercept, if any), for bounds past the data ([`Quadratic`]).
///
/// Under the straight line's components a bend of the level means is already counted as
/// level-to-level scatter: the test then has |t| <= sqrt(levels - 2) and cannot reject with
/// 7 levels (issue 19). Re-estimated, the scatter the bend explained leaves sigma_between,
/// as a likelihood-ratio test would see it.
pub(crate) fn curvature(
    levels: &Levels,
    (theta, free): (Theta, Free),
    (sc, intercept): (&Scaling, Option<usize>),
    primary: usize,
    name: &str,
    dof: usize,
) -> Option<(Curvature, Quadratic)> {
    let extra: Vec<f64> = (0..levels.levels.len()).map(|l| levels.row(l)[primary].powi(2)).collect();
    // Enough distinct settings of the predictor for a quadratic and a spare.
    let need = levels.p + 2;
    let mut distinct: Vec<u64> = Vec::with_capacity(need);
    for v in &extra {
        if distinct.len() == need {
            break;
        }
        if !distinct.contains(&v.to_bits()) {
            distinct.push(v.to_bits());
        }
    }
    if distinct.len() < need || dof < 2 {
        return None;
    }
    let (theta, gls) = if free.between || free.group || free.rho {
        estimate_with(levels, free, (theta, true), Some(&extra))?
    } else {
        (theta, evaluate(levels, theta, Some(&extra))?)
    };
    let q = levels.p;
    let p1 = q + 1;
    let sigma2 = gls.quad / (levels.readings as f64 - p1 as f64);
    let se = (sigma2 * gls.a_inv[q * p1 + q]).sqrt();
    if !(se > 0.0 && se.is_finite()) {
        return None;
    }
    let t = gls.b[q] / se;
    let dof = dof - 1;
    let p = 2.0 * crate::model::tdist::sf(dof as f64, t.abs());
    // Back to bytes: the square's column is scaled by x_scale[primary]^2.
    let xs: Vec<f64> = sc.x_scale.iter().copied().chain(std::iter::once(sc.x_scale[primary].powi(2))).collect();
    let sigma_w2 = sigma2 * sc.y_scale * sc.y_scale;
    let quadratic = Quadratic {
        column: name.to_string(),
        coefficients: (0..p1)
            .map(|j| gls.b[j] * sc.y_scale / xs[j] + if Some(j) == intercept { sc.y_shift } else { 0.0 })
            .collect(),
        cov: (0..p1).map(|i| (0..p1).map(|j| sigma_w2 * gls.a_inv[i * p1 + j] / (xs[i] * xs[j])).collect()).collect(),
        sigma_obs: (sigma_w2 * (1.0 + theta.gamma_b + theta.gamma_g)).sqrt(),
        dof,
    };
    Some((Curvature { term: format!("{name}^2"), t, dof, p }, quadratic))
}

/// The curvature check when the levels were not materialised (every reading its own
/// setting), in one pass by Frisch-Waugh-Lovell: with `z = column^2`, `zr = z - X (X'X)^-1 X'z`,
/// the added coefficient is `zr'r / zr'zr` and the residual sum of squares drops by
/// `(zr'r)^2 / zr'zr` (`r` the OLS residuals, which are orthogonal to X).
///
/// The quadratic model follows by the same projection: its other coefficients are `b - d c`
/// with `d = (X'X)^-1 X'z` and `c` the square's, and its unscaled covariance is the bordered
/// inverse `[[A + d d'/s, -d/s], [-d'/s, 1/s]]` (`A = (X'X)^-1`, `s = zr'zr`).
pub(crate) fn ols_curvature(input: &FitInput, j: usize, name: &str, dof: usize) -> Option<(Curvature, Quadratic)> {
    let n = input.rows.len();
    let p = input.design.len();
    if dof < 2 || n <= p + 1 {
        return None;
    }
    let base = input.design[j].base;
    // Cross products with z = x^2, summed in fixed pieces of rows on the cores and the
    // pieces added in order: the same sums at any thread count.
    const PIECE: usize = 1 << 16;
    let residuals = &input.solution.residuals;
    let pieces: Vec<(Vec<f64>, f64, f64)> = (0..n.div_ceil(PIECE))
        .into_par_iter()
        .map(|k| {
            let (mut xz, mut zz, mut zr) = (vec![0.0; p], 0.0, 0.0);
            for i in k * PIECE..((k + 1) * PIECE).min(n) {
                let z = base[i] * base[i];
                zz += z * z;
                zr += z * residuals[i];
                for (a, c) in input.design.iter().enumerate() {
                    xz[a] += z * if c.power == 0 { 1.0 } else { c.base[i].powi(c.power as i32) };
                }
            }
            (xz, zz, zr)
        })
        .collect();
    let (mut xz, mut zz, mut zr) = (vec![0.0; p], 0.0, 0.0);
    for (pxz, pzz, pzr) in pieces {
        xz.iter_mut().zip(&pxz).for_each(|(a, b)| *a += b);
        zz += pzz;
        zr += pzr;
    }
    let bread = &input.solution.cov_unscaled;
    let delta: Vec<f64> = (0..p).map(|a| (0..p).map(|b| bread[a * p + b] * xz[b]).sum()).collect();
    let szz = zz - xz.iter().zip(&delta).map(|(a, b)| a * b).sum::<f64>();
    if szz.is_nan() || szz <= 1e-12 * zz {
        return None;
    }
    let coef = zr / szz;
    let rss = (input.solution.rss - zr * zr / szz).max(0.0);
    let s2 = rss / (n - p - 1) as f64;
    let se = (s2 / szz).sqrt();
    let t = coef / se;
    if !(se > 0.0 && t.is_finite()) {
        return None;
    }
    let coefficients = input
        .solution
        .coefficients
        .iter()
        .zip(&delta)
        .map(|(b, d)| b - d * coef)
        .chain(std::iter::once(coef))
        .collect();
    let unscaled = |a: usize, b: usize| match (a == p, b == p) {
        (true, true) => 1.0 / szz,
        (true, false) => -delta[b] / szz,
        (false, true) => -delta[a] / szz,
        (false, false) => bread[a * p + b] + delta[a] * delta[b] / szz,
    };
    let quadratic = Quadratic {
        column: name.to_string(),
        coefficients,
        cov: (0..=p).map(|a| (0..=p).map(|b| s2 * unscaled(a, b)).collect()).collect(),
        sigma_obs: s2.sqrt(),
        dof: dof - 1,
    };
    let curvature = Curvature {
        term: format!("{name}^2"),
        t,
        dof: dof - 1,
        p: 2.0 * crate::model::tdist::sf((dof - 1) as f64, t.abs()),
    };
    Some((curvature, quadratic))
}

/// The main predictor for the curvature check: the first linear term, when the model has no
/// higher power of it.
pub(crate) fn primary<'a>(input: &'a FitInput) -> Option<(usize, &'a Term)> {
    let offset = usize::from(input.intercept);
    let (k, term) = input.terms.iter().enumerate().find(|(_, t)| t.power == 1)?;
    let has_power = input.terms.iter().any(|t| t.column == term.column && t.power > 1);
    (!has_power).then_some((k + offset, term))
}
