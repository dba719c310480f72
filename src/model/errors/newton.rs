//! Newton's method with finite-difference derivatives for the REML objectives, the fast path
//! in front of Nelder-Mead ([`super::simplex`]).
//!
//! The REML criteria are smooth in their unconstrained parameters (square roots of variance
//! ratios, a Cholesky factor, `phi` for rho), so from the start the structures give (the
//! simpler structure's optimum) Newton converges in a handful of steps where Nelder-Mead
//! needed tens of thousands of evaluations over five parameters (62,599 level passes for
//! random slopes on 100 proxies, issue 19's speed item). Each step costs `1 + 2k + k(k-1)/2`
//! evaluations: central differences for the gradient (its accuracy decides where the search
//! stops) and the Hessian's diagonal, forward ones for its off-diagonal (only the direction
//! depends on it). A
//! Hessian that is not positive definite is shifted by `mu I` (Levenberg), and every step is
//! backtracked until the objective falls (Armijo), so the search only moves downhill and
//! stops at a minimum, not a saddle. When an evaluation fails (a non-finite objective) or the
//! steps stall far from a stationary point, the caller falls back to Nelder-Mead.

use nalgebra::{DMatrix, DVector};

/// Relative finite-difference step (of `1 + |x|`), one for gradient and Hessian so they share
/// evaluations: with the objective's rounding `e ~ 1e-13` of its size the gradient's noise is
/// `e/h` and its truncation `h^2`, the Hessian's noise `e/h^2`; 2e-4 keeps both far below
/// what moves the estimates.
const STEP: f64 = 2e-4;
/// Largest change of one parameter in one step beside its own size (see [`minimize`]).
const MAX_MOVE: f64 = 2.0;
/// Newton steps at most.
const MAX_STEPS: usize = 60;

/// Where the search ended, and whether it ended at a minimum (the Newton decrement below the
/// tolerance, or the finite-difference noise floor reached with a small decrement).
pub(crate) struct Outcome {
    pub x: Vec<f64>,
    pub converged: bool,
}

/// Minimise `f` from `x0`.
#[cfg(test)]
pub(crate) fn minimize<F: Fn(&[f64]) -> f64>(f: &F, x0: &[f64]) -> Outcome {
    minimize_batch(f, &|points: &[Vec<f64>]| points.iter().map(|x| f(x)).collect(), x0)
}

/// [`minimize`] with `batch` evaluating `f` at several points at once (the finite
/// differences of a step): the same values as `f` one by one, cheaper together when an
/// evaluation is bound by reading its data ([`super::reml::evaluate_many`]).
pub(crate) fn minimize_batch<F: Fn(&[f64]) -> f64, B: Fn(&[Vec<f64>]) -> Vec<f64>>(
    f: &F,
    batch: &B,
    x0: &[f64],
) -> Outcome {
    let mut x = x0.to_vec();
    let mut fx = f(&x);
    let fail = |x: Vec<f64>| Outcome { x, converged: false };
    if !fx.is_finite() {
        return fail(x);
    }
    for _ in 0..MAX_STEPS {
        let Some((g, hess)) = derivatives(batch, &x, fx) else { return fail(x) };
        let Some(mut d) = damped_step(&g, hess) else { return fail(x) };
        // Newton decrement: twice the predicted fall of the objective.
        let decrement = -g.dot(&d);
        // A parameter moves by at most MAX_MOVE or its own size per step: far from the optimum
        // the quadratic model can send a parameter where the objective is flat and no
        // gradient leads back, while a variance that must grow 30-fold may double each step.
        let shrink = d.iter().zip(&x).map(|(s, v)| MAX_MOVE.max(v.abs()) / s.abs()).fold(1.0f64, f64::min);
        if shrink < 1.0 {
            d *= shrink;
        }
        let slope = g.dot(&d);
        let scale = fx.abs().max(1.0);
        let mut t = 1.0;
        let mut moved = None;
        while t > 1e-10 {
            let y: Vec<f64> = x.iter().zip(d.iter()).map(|(a, s)| a + t * s).collect();
            let fy = f(&y);
            if fy.is_finite() && fy <= fx + 1e-4 * t * slope {
                moved = Some((y, fy));
                break;
            }
            t *= 0.5;
        }
        // Far from the optimum a full step that is accepted may be too short (the objective
        // of a large variance's square root is concave-ish, like a log): try 2, 4, 8 times it
        // while the objective keeps falling (one evaluation each, against a step's 1+4k+...).
        if let (Some(best), true) = (&mut moved, t == 1.0 && decrement > 1e-6 * scale) {
            let mut far = 2.0;
            while far <= 8.0 {
                let y: Vec<f64> = x.iter().zip(d.iter()).map(|(a, s)| a + far * s).collect();
                let fy = f(&y);
                if !(fy.is_finite() && fy < best.1) {
                    break;
                }
                *best = (y, fy);
                far *= 2.0;
            }
        }
        match moved {
            Some((y, fy)) => {
                x = y;
                fx = fy;
                if decrement < 1e-11 * scale {
                    return Outcome { x, converged: true };
                }
            }
            // No fall to be had: at the minimum up to the differences' noise, or stuck.
            None => return Outcome { x, converged: decrement < 1e-7 * scale },
        }
    }
    fail(x)
}

/// Central-difference gradient and Hessian at `x` (`fx = f(x)`; forward differences for the
/// Hessian's off-diagonal), every point evaluated in one batch; `None` when an evaluation is
/// not finite.
fn derivatives<B: Fn(&[Vec<f64>]) -> Vec<f64>>(batch: &B, x: &[f64], fx: f64) -> Option<(DVector<f64>, DMatrix<f64>)> {
    let k = x.len();
    let at = |moves: &[(usize, f64)]| {
        let mut y = x.to_vec();
        for &(i, s) in moves {
            y[i] += s * (1.0 + x[i].abs());
        }
        y
    };
    // Points: +i, -i for each i, then +i+j for each j < i.
    let mut points: Vec<Vec<f64>> = Vec::with_capacity(2 * k + k * (k - 1) / 2);
    for i in 0..k {
        points.push(at(&[(i, STEP)]));
        points.push(at(&[(i, -STEP)]));
    }
    for i in 0..k {
        for j in 0..i {
            points.push(at(&[(i, STEP), (j, STEP)]));
        }
    }
    let values = batch(&points);
    if values.len() != points.len() || values.iter().any(|v| !v.is_finite()) {
        return None;
    }
    let mut g = DVector::zeros(k);
    let mut hess = DMatrix::zeros(k, k);
    for i in 0..k {
        let (u, d) = (values[2 * i], values[2 * i + 1]);
        let h = STEP * (1.0 + x[i].abs());
        g[i] = (u - d) / (2.0 * h);
        hess[(i, i)] = (u - 2.0 * fx + d) / (h * h);
    }
    let mut next = 2 * k;
    for i in 0..k {
        for j in 0..i {
            let h2 = STEP * STEP * (1.0 + x[i].abs()) * (1.0 + x[j].abs());
            let v = (values[next] - values[2 * i] - values[2 * j] + fx) / h2;
            next += 1;
            hess[(i, j)] = v;
            hess[(j, i)] = v;
        }
    }
    Some((g, hess))
}

/// The step `-(H + mu I)^-1 g` with the smallest `mu >= 0` (by doubling) that makes the
/// matrix positive definite.
fn damped_step(g: &DVector<f64>, hess: DMatrix<f64>) -> Option<DVector<f64>> {
    let k = g.len();
    let size = hess.diagonal().iter().fold(0.0f64, |m, v| m.max(v.abs())).max(1e-12);
    let mut mu = 0.0;
    for _ in 0..60 {
        let shifted = &hess + DMatrix::identity(k, k) * mu;
        if let Some(chol) = shifted.cholesky() {
            let d = -chol.solve(g);
            if d.iter().all(|v| v.is_finite()) {
                return Some(d);
            }
        }
        mu = if mu == 0.0 { 1e-8 * size } else { mu * 4.0 };
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn converges_on_a_curved_valley_and_a_bowl() {
        let rosen = |v: &[f64]| (1.0 - v[0]).powi(2) + 100.0 * (v[1] - v[0] * v[0]).powi(2);
        let out = minimize(&rosen, &[-1.2, 1.0]);
        assert!(out.converged);
        assert!((out.x[0] - 1.0).abs() < 1e-5 && (out.x[1] - 1.0).abs() < 1e-5, "{:?}", out.x);
        let bowl = |v: &[f64]| 1e6 + (v[0] - 3.0).powi(2) + 2.0 * (v[1] + 1.0).powi(2) + 0.5 * (v[2] - 0.25).powi(2);
        let out = minimize(&bowl, &[0.0, 0.0, 0.0]);
        assert!(out.converged);
        let want = [3.0, -1.0, 0.25];
        assert!(out.x.iter().zip(want).all(|(a, b)| (a - b).abs() < 1e-3), "{:?}", out.x);
    }

    #[test]
    fn a_saddle_start_moves_downhill() {
        // x^2 - y^2 + y^4/4: a saddle at the origin, minima at y = +-sqrt(2).
        let f = |v: &[f64]| v[0] * v[0] - v[1] * v[1] + v[1].powi(4) / 4.0;
        let out = minimize(&f, &[0.3, 0.01]);
        assert!(out.converged);
        assert!(out.x[0].abs() < 1e-4 && (out.x[1] - 2f64.sqrt()).abs() < 1e-4, "{:?}", out.x);
    }

    #[test]
    fn a_failing_objective_is_reported() {
        let f = |v: &[f64]| if v[0] > 0.5 { f64::NAN } else { (v[0] - 1.0).powi(2) };
        // Newton heads for 1, backtracks into the finite region, then its differences fail.
        let out = minimize(&f, &[0.0]);
        assert!(!out.converged && out.x[0] <= 0.5, "{:?}", out.x);
        assert!(!minimize(&f, &[0.9]).converged);
    }
}
