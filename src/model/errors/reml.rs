//! Variance components by REML, and the GLS fit they imply, computed from level statistics.
//!
//! The model is `y = X b + u_group + v_level + e`, with `u ~ N(0, sg^2)` per group,
//! `v ~ N(0, sb^2)` per level and, within a level, `e` an AR(1) series with marginal variance
//! `sw^2` and lag-1 correlation `rho` (rho = 0 when readings have no time order). With
//! `gamma_b = sb^2/sw^2` and `gamma_g = sg^2/sw^2` the scaled covariance of one level is
//! `R + gamma_b 11'`, whose inverse follows from the tridiagonal AR(1) precision by
//! Sherman-Morrison; a group adds `gamma_g 11'` over its levels the same way. Because the
//! predictors are constant within a level, every quantity REML needs reduces to per-level
//! sums: `1'R^-1 1 = (n - (n-2) rho)/(1+rho)` (the level's effective sample size), the
//! AR(1)-weighted level mean, and the quadratic form of the deviations from the level mean.
//!
//! `sw^2` is profiled out (restricted likelihood `(N-p) ln(r'V^-1 r) + ln|V| + ln|X'V^-1 X|`),
//! leaving at most three parameters (four with a variance function), optimised by Newton
//! ([`super::simplex`]) on `(sqrt gamma_b, sqrt gamma_g, phi)` with `rho = MAX_RHO phi^2 / (1 +
//! phi^2)`: the square roots let a component reach exactly zero, as statsmodels' Cholesky
//! parametrisation does, and rho's boundary at 0 is also tried by a fit of its own
//! ([`estimate`]).

use nalgebra::{DMatrix, DVector};

use super::levels::Levels;
use super::simplex::minimize;

/// Largest rho considered: readings that wander this slowly are a drift, not noise around a
/// level (the AR(1) terms stay finite up to it: 1 - rho^2 = 2e-4).
const MAX_RHO: f64 = 0.9999;

/// Variance-component ratios and the within-level correlation.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) struct Theta {
    pub gamma_b: f64,
    pub gamma_g: f64,
    pub rho: f64,
    /// Power of the variance function: a level's covariance (offset and noise) is scaled by
    /// `exp(2 delta z_l)`, `z_l = ln(fitted mean / reference)` ([`Levels::spread`]); 0 = equal spread.
    pub delta: f64,
}

impl Theta {
    /// No level or group offsets, independent readings, equal spread.
    pub const ZERO: Theta = Theta { gamma_b: 0.0, gamma_g: 0.0, rho: 0.0, delta: 0.0 };
}

/// Which components the data can identify.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Free {
    pub between: bool,
    pub group: bool,
    pub rho: bool,
    /// The variance function's power (needs [`Levels::spread`]).
    pub spread: bool,
}

impl Free {
    /// Nothing estimated.
    pub const NONE: Free = Free { between: false, group: false, rho: false, spread: false };
}

/// The GLS fit at one `Theta` (scaled units).
#[derive(Debug, Clone)]
pub(crate) struct Gls {
    /// Coefficients.
    pub b: Vec<f64>,
    /// (X' V~^-1 X)^-1, row-major.
    pub a_inv: Vec<f64>,
    /// r' V~^-1 r at the GLS coefficients.
    pub quad: f64,
    /// -2 x restricted log-likelihood with sw^2 profiled, up to a constant.
    pub objective: f64,
    /// Per group sums over its levels, flat (one allocation however many proxies).
    pub groups: GroupSums,
}

/// Per-group sums of level weights `c_l`: `C_g = sum c_l`, `sum c_l x_l` (row-major, groups x
/// p) and `sum c_l r~_l` (at the GLS coefficients).
#[derive(Debug, Clone)]
pub(crate) struct GroupSums {
    pub weight: Vec<f64>,
    pub x: Vec<f64>,
    pub residual: Vec<f64>,
}

/// `1' R^-1 1` for an AR(1) run of `n` readings.
pub(crate) fn effective_n(n: usize, rho: f64) -> f64 {
    if n <= 1 {
        return n as f64;
    }
    let n = n as f64;
    (n - (n - 2.0) * rho) / (1.0 + rho)
}

/// The GLS fit and REML objective at `theta`, with an optional extra design column (one value
/// per level, scaled) appended after the model's columns.
pub(crate) fn evaluate(levels: &Levels, theta: Theta, extra: Option<&[f64]>) -> Option<Gls> {
    let p = levels.p + usize::from(extra.is_some());
    let Theta { gamma_b, gamma_g, rho, delta } = theta;
    // Per-level variance scale of the variance function (1 without one).
    let scaled = delta != 0.0 && levels.spread.len() == levels.levels.len();
    let s2_of = |l: usize| if scaled { (2.0 * delta * levels.spread[l]).exp() } else { 1.0 };
    let row = |l: usize, out: &mut Vec<f64>| {
        out.clear();
        out.extend_from_slice(levels.row(l));
        if let Some(e) = extra {
            out.push(e[l]);
        }
    };
    // Lower triangle of X'V~^-1 X and X'V~^-1 y, flat (this loop runs once per level).
    let mut a_flat = vec![0.0; p * p];
    let mut c_flat = vec![0.0; p];
    let mut logdet_v = 0.0;
    let ln_ar = (1.0 - rho * rho).ln();
    let mut x = Vec::with_capacity(p);
    // Per group accumulators, in level order (levels are sorted by group within runs; groups
    // may interleave without times, so index by group id).
    let g_count = levels.groups;
    let mut sums = GroupSums { weight: vec![0.0; g_count], x: vec![0.0; g_count * p], residual: vec![0.0; g_count] };
    let mut sum_y = vec![0.0; g_count];
    // A level's effective size, weight and log term depend on its reading count alone: each
    // is computed once per count (a fleet has 10^5 levels and few distinct counts), the same
    // expressions as for every level, so the same bits.
    let mut by_n: Vec<Option<(f64, f64, f64)>> =
        vec![None; levels.levels.iter().map(|l| l.n).max().unwrap_or(0).min(1 << 16) + 1];
    let per_n = |n: usize| {
        let ne = effective_n(n, rho);
        let ln_b = if gamma_b > 0.0 { gamma_b.mul_add(ne, 1.0).ln() } else { 0.0 };
        (ne, ne / (1.0 + gamma_b * ne), ln_b)
    };
    let mut of_n = |n: usize| match by_n.get_mut(n) {
        Some(slot) => *slot.get_or_insert_with(|| per_n(n)),
        None => per_n(n),
    };
    for (l, level) in levels.levels.iter().enumerate() {
        row(l, &mut x);
        let (ne, w, ln_b) = of_n(level.n);
        let s2 = s2_of(l);
        let w = w / s2;
        let ytilde = level.mean + weighted_shift(level.ends, level.n, rho, ne);
        if level.n > 1 {
            logdet_v += (level.n as f64 - 1.0) * ln_ar;
        }
        if gamma_b > 0.0 {
            logdet_v += ln_b;
        }
        if scaled {
            logdet_v += level.n as f64 * s2.ln();
        }
        for i in 0..p {
            let wx = w * x[i];
            c_flat[i] += wx * ytilde;
            for (aij, xj) in a_flat[i * p..=i * p + i].iter_mut().zip(&x) {
                *aij += wx * xj;
            }
        }
        let g = level.group as usize;
        sums.weight[g] += w;
        for (si, xi) in sums.x[g * p..(g + 1) * p].iter_mut().zip(&x) {
            *si += w * xi;
        }
        sum_y[g] += w * ytilde;
    }
    let mut a = DMatrix::<f64>::from_fn(p, p, |i, j| if j <= i { a_flat[i * p + j] } else { 0.0 });
    let mut c = DVector::<f64>::from_column_slice(&c_flat);
    if gamma_g > 0.0 {
        for (g, (&cg, &cy)) in sums.weight.iter().zip(&sum_y).enumerate() {
            let cx = &sums.x[g * p..(g + 1) * p];
            let k = gamma_g / (1.0 + gamma_g * cg);
            logdet_v += (1.0 + gamma_g * cg).ln();
            for i in 0..p {
                c[i] -= k * cx[i] * cy;
                for j in 0..=i {
                    a[(i, j)] -= k * cx[i] * cx[j];
                }
            }
        }
    }
    let (b, a_inv, logdet_a) = solve_lower(a, &c)?;
    // r' V~^-1 r from the residual of each level mean.
    let mut quad = 0.0;
    let group_r = &mut sums.residual;
    for (l, level) in levels.levels.iter().enumerate() {
        row(l, &mut x);
        let fitted: f64 = x.iter().zip(b.iter()).map(|(x, b)| x * b).sum();
        let (ne, _, _) = of_n(level.n);
        let delta = level.mean - fitted;
        let delta_w = delta + weighted_shift(level.ends, level.n, rho, ne);
        let within = deviation_form(level, rho) + 2.0 * rho * level.ends * delta / (1.0 + rho) + ne * delta * delta;
        let s2 = s2_of(l);
        quad += (within - gamma_b * (ne * delta_w).powi(2) / (1.0 + gamma_b * ne)) / s2;
        group_r[level.group as usize] += ne / (1.0 + gamma_b * ne) * delta_w / s2;
    }
    if gamma_g > 0.0 {
        for (cg, r) in sums.weight.iter().zip(&sums.residual) {
            quad -= gamma_g / (1.0 + gamma_g * cg) * r * r;
        }
    }
    let n = levels.readings as f64;
    if !(quad.is_finite() && quad > 0.0) {
        return None;
    }
    let objective = (n - p as f64) * quad.ln() + logdet_v + logdet_a;
    Some(Gls {
        b: b.iter().copied().collect(),
        a_inv: a_inv.iter().copied().collect::<Vec<_>>(),
        quad,
        objective,
        groups: sums,
    })
}

/// Solve the normal equations from their lower triangle `a`: the coefficients, the inverse
/// and `ln|A|`; `None` when `a` is not positive definite.
pub(crate) fn solve_lower(mut a: DMatrix<f64>, c: &DVector<f64>) -> Option<(DVector<f64>, DMatrix<f64>, f64)> {
    let p = a.nrows();
    for i in 0..p {
        for j in 0..i {
            a[(j, i)] = a[(i, j)];
        }
    }
    let chol = a.cholesky()?;
    let logdet_a: f64 = 2.0 * chol.l_dirty().diagonal().iter().map(|d| d.ln()).sum::<f64>();
    Some((chol.solve(c), chol.inverse(), logdet_a))
}

/// AR(1)-weighted mean minus the plain mean: `rho (d_1 + d_n) / ((1+rho) n_eff)`.
pub(crate) fn weighted_shift(ends: f64, n: usize, rho: f64, ne: f64) -> f64 {
    if n <= 1 {
        0.0
    } else {
        rho * ends / ((1.0 + rho) * ne)
    }
}

/// `d' R^-1 d` for the deviations `d` of a level from its mean.
pub(crate) fn deviation_form(level: &super::levels::Level, rho: f64) -> f64 {
    if level.n <= 1 {
        return 0.0;
    }
    ((1.0 + rho * rho) * level.ss - rho * rho * level.ends_sq - 2.0 * rho * level.lag) / (1.0 - rho * rho)
}

/// Whether an interior optimum at `rho` is also checked against a fit at rho = 0: below 0.1 a
/// separate basin at the boundary could be better; below 0.01 the interior search (which
/// contains rho = 0, [`rho_of`]) is in the boundary's basin already (independent readings fit
/// at rho 0.0013 in the fleet benchmark), and a second fit would cost a fleet another
/// optimisation for nothing.
pub(crate) fn check_boundary(rho: f64) -> bool {
    (0.01..=0.1).contains(&rho)
}

/// `rho` from its unconstrained parameter: `MAX_RHO phi^2 / (1 + phi^2)`, smooth, in [0,
/// MAX_RHO), with no flat stretch for an optimiser to settle on (a clamp made the objective
/// flat beyond the bounds: fits stopped at rho = 0.999 or 0 where REML's optimum was elsewhere,
/// issue 19). The boundary rho = 0 is the interior point phi = 0, approached quadratically as a
/// variance is by its square root; an earlier `tanh` map approached it only as `e^(2 phi)`,
/// a tail so flat that Newton steps walked down it for twenty steps.
pub(crate) fn rho_of(phi: f64) -> f64 {
    let s = phi * phi;
    MAX_RHO * s / (1.0 + s)
}

/// The parameter of a `rho` in [0, MAX_RHO), started away from 0 (where the derivative in phi
/// vanishes by symmetry, so a search could not leave it).
pub(crate) fn phi_of(rho: f64) -> f64 {
    let r = rho.clamp(0.01 * MAX_RHO, 0.99 * MAX_RHO);
    (r / (MAX_RHO - r)).sqrt()
}

/// The REML estimate of `Theta` over the free components, from `start`.
///
/// Within-level autocorrelation of memory readings is positive (a slowly moving heap); a
/// negative lag-1 correlation is not modelled. So rho lives in [0, MAX_RHO]: the interior by
/// the smooth map above, and the boundary rho = 0 (readings independent within a level) by a
/// second fit of the other components with rho held there; the lower REML objective wins.
pub(crate) fn estimate(levels: &Levels, free: Free, start: Theta) -> Option<(Theta, Gls)> {
    estimate_with(levels, free, start, None)
}

/// [`estimate`] for the model with an extra design column (one value per level, scaled).
pub(crate) fn estimate_with(levels: &Levels, free: Free, start: Theta, extra: Option<&[f64]>) -> Option<(Theta, Gls)> {
    let fit = |free: Free, rho_fixed: f64, start: Theta| {
        let to_theta = |v: &[f64]| {
            let mut k = 0;
            let mut next = |on: bool| {
                if on {
                    k += 1;
                    Some(v[k - 1])
                } else {
                    None
                }
            };
            let sb = next(free.between).unwrap_or(0.0);
            let sg = next(free.group).unwrap_or(0.0);
            let rho = next(free.rho).map_or(rho_fixed, rho_of);
            let delta = next(free.spread).unwrap_or(start.delta);
            Theta { gamma_b: sb * sb, gamma_g: sg * sg, rho, delta }
        };
        let mut x0 = Vec::new();
        if free.between {
            x0.push(start.gamma_b.max(1e-4).sqrt());
        }
        if free.group {
            x0.push(start.gamma_g.max(1e-4).sqrt());
        }
        if free.rho {
            x0.push(phi_of(start.rho));
        }
        if free.spread {
            x0.push(start.delta);
        }
        let f = |v: &[f64]| evaluate(levels, to_theta(v), extra).map_or(f64::INFINITY, |g| g.objective);
        let best = if x0.is_empty() { x0 } else { minimize(&f, &x0) };
        let theta = to_theta(&best);
        // A component the optimum puts at the boundary (sd below 1e-4 of sigma_within) is zero.
        let theta = Theta {
            gamma_b: if theta.gamma_b < 1e-8 { 0.0 } else { theta.gamma_b },
            gamma_g: if theta.gamma_g < 1e-8 { 0.0 } else { theta.gamma_g },
            ..theta
        };
        evaluate(levels, theta, extra).map(|g| (theta, g))
    };
    let interior = fit(free, 0.0, start);
    // Only an interior optimum that drifts towards rho = 0 can be beaten there (the objective
    // is smooth inside): the boundary fit runs only then, so fleets of slowly moving readings
    // pay for one optimisation, not two. It starts from the interior optimum's other
    // components, which rho near 0 hardly moves.
    if !free.rho || interior.as_ref().is_some_and(|(t, _)| !check_boundary(t.rho)) {
        return interior;
    }
    let from = interior.as_ref().map_or(start, |(t, _)| *t);
    let boundary = fit(Free { rho: false, ..free }, 0.0, from);
    match (interior, boundary) {
        (Some(i), Some(b)) => Some(if b.1.objective <= i.1.objective { b } else { i }),
        (i, b) => i.or(b),
    }
}

#[cfg(test)]
mod tests {
    use super::super::levels::{form, Scaling};
    use super::*;
    use crate::model::solve::DesignColumn;

    /// Brute force: build V for a tiny problem and evaluate the REML objective directly.
    #[test]
    fn level_statistics_give_the_dense_objective() {
        let x1 = [0.0, 0.0, 0.0, 1.0, 1.0, 2.0, 2.0, 2.0, 2.0, 3.0];
        let y = [1.0, 1.4, 0.7, 3.1, 2.2, 5.3, 4.1, 4.9, 5.6, 7.7];
        let g = [0u32, 0, 0, 0, 0, 1, 1, 1, 1, 1];
        let t: Vec<f64> = (0..10).map(f64::from).collect();
        let design = [DesignColumn { base: &[], power: 0 }, DesignColumn { base: &x1, power: 1 }];
        let s = Scaling { y_shift: 0.0, y_scale: 1.0, x_scale: vec![1.0, 1.0] };
        let levels = form(&y, &design, Some(&t), Some((&g, 2)), &s, true);
        let theta = Theta { gamma_b: 0.7, gamma_g: 1.3, rho: 0.4, delta: 0.0 };
        let fast = evaluate(&levels, theta, None).unwrap();
        // Dense V~: AR(1) within each level, + gamma_b within level, + gamma_g within group.
        let level_of: Vec<usize> = {
            let mut out = vec![0; 10];
            let mut l = 0;
            for i in 1..10 {
                if g[i] != g[i - 1] || x1[i] != x1[i - 1] {
                    l += 1;
                }
                out[i] = l;
            }
            out
        };
        let v = DMatrix::from_fn(10, 10, |i, j| {
            let mut v = 0.0;
            if level_of[i] == level_of[j] {
                v += theta.rho.powi((i as i32 - j as i32).abs()) + theta.gamma_b;
            }
            if g[i] == g[j] {
                v += theta.gamma_g;
            }
            v
        });
        let super::super::dense::Dense { b, quad, objective, .. } = super::super::dense::fit(&v, &x1, &y);
        assert!((fast.b[0] - b[0]).abs() < 1e-12 && (fast.b[1] - b[1]).abs() < 1e-12, "{:?} vs {b}", fast.b);
        assert!((fast.quad - quad).abs() < 1e-12 * quad, "{} vs {quad}", fast.quad);
        assert!((fast.objective - objective).abs() < 1e-10, "{} vs {objective}", fast.objective);
    }
}
