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
use super::reml_pass::{self, PerN};
use super::simplex::minimize_batch;
pub(crate) use super::theta::{effective_n, Theta};

/// Largest rho considered: readings that wander this slowly are a drift, not noise around a
/// level (the AR(1) terms stay finite up to it: 1 - rho^2 = 2e-4).
const MAX_RHO: f64 = 0.9999;

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

/// The GLS fit and REML objective at `theta`, with an optional extra design column (one value
/// per level, scaled) appended after the model's columns.
pub(crate) fn evaluate(levels: &Levels, theta: Theta, extra: Option<&[f64]>) -> Option<Gls> {
    evaluate_many(levels, &[theta], extra).pop().flatten()
}

/// [`evaluate`] at several points with one pass over the levels for all (the passes are bound
/// by reading the levels: a Newton step's points cost little more than one).
pub(crate) fn evaluate_many(levels: &Levels, thetas: &[Theta], extra: Option<&[f64]>) -> Vec<Option<Gls>> {
    let p = levels.p + usize::from(extra.is_some());
    let counts = reml_pass::counts(levels);
    let per_n: Vec<PerN> = thetas.iter().map(|&t| PerN::new(&counts, t)).collect();
    // Lower triangle of X'V~^-1 X and X'V~^-1 y, and the per-group sums, over the levels.
    let first = reml_pass::first(levels, p, extra, thetas, &per_n);
    let mut staged = Vec::with_capacity(thetas.len());
    for (theta, sums) in thetas.iter().zip(first) {
        let gamma_g = theta.gamma_g;
        let mut logdet_v = sums.logdet;
        let mut a = DMatrix::<f64>::from_fn(p, p, |i, j| if j <= i { sums.a[i * p + j] } else { 0.0 });
        let mut c = DVector::<f64>::from_column_slice(&sums.c);
        let groups = GroupSums { weight: sums.weight, x: sums.x, residual: vec![0.0; levels.groups] };
        if gamma_g > 0.0 {
            for (g, (&cg, &cy)) in groups.weight.iter().zip(&sums.y).enumerate() {
                let cx = &groups.x[g * p..(g + 1) * p];
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
        staged.push(solve_lower(a, &c).map(|(b, a_inv, logdet_a)| (b, a_inv, logdet_a, logdet_v, groups)));
    }
    // r' V~^-1 r from the residual of each level mean, for the points that solved.
    let solved: Vec<usize> = (0..thetas.len()).filter(|&t| staged[t].is_some()).collect();
    let at: Vec<Theta> = solved.iter().map(|&t| thetas[t]).collect();
    let per_n_at: Vec<&PerN> = solved.iter().map(|&t| &per_n[t]).collect();
    let bs: Vec<Vec<f64>> =
        solved.iter().map(|&t| staged[t].as_ref().expect("solved").0.iter().copied().collect()).collect();
    let mut residuals: Vec<Vec<f64>> = solved.iter().map(|_| vec![0.0; levels.groups]).collect();
    let quads = reml_pass::second(levels, extra, &at, &per_n_at, &bs, &mut residuals);
    let mut out: Vec<Option<Gls>> = (0..thetas.len()).map(|_| None).collect();
    for ((&t, mut quad), residual) in solved.iter().zip(quads).zip(residuals) {
        let (b, a_inv, logdet_a, logdet_v, mut groups) = staged[t].take().expect("solved");
        groups.residual = residual;
        let gamma_g = thetas[t].gamma_g;
        if gamma_g > 0.0 {
            for (cg, r) in groups.weight.iter().zip(&groups.residual) {
                quad -= gamma_g / (1.0 + gamma_g * cg) * r * r;
            }
        }
        let n = levels.readings as f64;
        if !(quad.is_finite() && quad > 0.0) {
            continue;
        }
        let objective = (n - p as f64) * quad.ln() + logdet_v + logdet_a;
        out[t] = Some(Gls {
            b: b.iter().copied().collect(),
            a_inv: a_inv.iter().copied().collect::<Vec<_>>(),
            quad,
            objective,
            groups,
        });
    }
    out
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
    estimate_with(levels, free, (start, false), None)
}

/// [`estimate`] for the model with an extra design column (one value per level, scaled). With
/// `near`, `start` is the optimum of a neighbouring model (the straight line's, for the
/// quadratic's own components): its positive components start where they are. Without, a
/// component starts at least at 1e-4 (rho at 0.01), which steps off a zero where the gradient
/// vanishes but, from an optimum near the boundary, walks Newton away and back (a fifth of
/// `fleet`'s fit time at 10^4 proxies). A zero component starts at the floor either way.
pub(crate) fn estimate_with(
    levels: &Levels,
    free: Free,
    (start, near): (Theta, bool),
    extra: Option<&[f64]>,
) -> Option<(Theta, Gls)> {
    let from = |gamma: f64| if near && gamma > 0.0 { gamma.sqrt() } else { gamma.max(1e-4).sqrt() };
    let phi_from =
        |rho: f64| if near && rho > 0.0 && rho < MAX_RHO { (rho / (MAX_RHO - rho)).sqrt() } else { phi_of(rho) };
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
            x0.push(from(start.gamma_b));
        }
        if free.group {
            x0.push(from(start.gamma_g));
        }
        if free.rho {
            x0.push(phi_from(start.rho));
        }
        if free.spread {
            x0.push(start.delta);
        }
        let f = |v: &[f64]| evaluate(levels, to_theta(v), extra).map_or(f64::INFINITY, |g| g.objective);
        let batch = |points: &[Vec<f64>]| {
            let thetas: Vec<Theta> = points.iter().map(|v| to_theta(v)).collect();
            evaluate_many(levels, &thetas, extra)
                .into_iter()
                .map(|g| g.map_or(f64::INFINITY, |g| g.objective))
                .collect()
        };
        let best = if x0.is_empty() { x0 } else { minimize_batch(&f, &batch, &x0) };
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
