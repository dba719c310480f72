//! Minimisation of the REML objectives: Newton first ([`super::newton`]), argmin's
//! Nelder-Mead where Newton cannot finish.
//!
//! The objectives have at most five parameters and are smooth, so Newton from the simpler
//! structure's optimum normally converges in a few steps. When it fails (a non-finite value
//! on its way, or stalling away from a stationary point), Nelder-Mead is restarted from the
//! better of the start and Newton's end with a fresh simplex until the value stops improving,
//! which guards against the premature collapse a single run can suffer.

use argmin::core::{CostFunction, Error as ArgminError, Executor};
use argmin::solver::neldermead::NelderMead;
use nalgebra::DVector;

struct Objective<'a, F: Fn(&[f64]) -> f64>(&'a F);

impl<F: Fn(&[f64]) -> f64> CostFunction for Objective<'_, F> {
    type Param = DVector<f64>;
    type Output = f64;

    fn cost(&self, p: &Self::Param) -> Result<f64, ArgminError> {
        Ok((self.0)(p.as_slice()))
    }
}

/// Iterations allowed per Nelder-Mead run.
const MAX_ITERS: u64 = 4000;
/// Restarts after the first run.
const RESTARTS: usize = 4;

/// Minimise `f` from `x0`; returns the best point found.
pub(crate) fn minimize<F: Fn(&[f64]) -> f64>(f: &F, x0: &[f64]) -> Vec<f64> {
    minimize_batch(f, &|points: &[Vec<f64>]| points.iter().map(|x| f(x)).collect(), x0)
}

/// [`minimize`] with `batch` evaluating `f` at several points at once, for Newton's steps.
pub(crate) fn minimize_batch<F: Fn(&[f64]) -> f64, B: Fn(&[Vec<f64>]) -> Vec<f64>>(
    f: &F,
    batch: &B,
    x0: &[f64],
) -> Vec<f64> {
    let newton = super::newton::minimize_batch(f, batch, x0);
    if newton.converged {
        return newton.x;
    }
    let mut best = if f(&newton.x) <= f(x0) { newton.x } else { x0.to_vec() };
    let mut best_value = f(&best);
    let mut step = 0.5;
    for _ in 0..=RESTARTS {
        let simplex: Vec<DVector<f64>> = std::iter::once(DVector::from_column_slice(&best))
            .chain((0..best.len()).map(|k| {
                let mut v = DVector::from_column_slice(&best);
                v[k] += if v[k].abs() > 1.0 { step * v[k].abs() } else { step };
                v
            }))
            .collect();
        // Stop well above the objective's rounding (about 1e-16 of its magnitude per level
        // summed): the Newton polish below takes the last digits.
        let tolerance = 1e-11 * best_value.abs().max(1.0);
        let solver = match NelderMead::new(simplex).with_sd_tolerance(tolerance) {
            Ok(s) => s,
            Err(_) => break,
        };
        let run = Executor::new(Objective(f), solver).configure(|s| s.max_iters(MAX_ITERS)).run();
        let Ok(run) = run else { break };
        let state = run.state();
        let Some(point) = state.best_param.as_ref() else { break };
        let value = state.best_cost;
        let improved = value < best_value - 1e-13 * best_value.abs().max(1.0);
        if value <= best_value {
            best = point.as_slice().to_vec();
            best_value = value;
        }
        if !improved {
            break;
        }
        step *= 0.2;
    }
    polish(f, best)
}

/// Newton steps on central-difference derivatives from the simplex's optimum: Nelder-Mead
/// stops at the objective's rounding level, which leaves the point about sqrt(rounding) off;
/// a few Newton steps bring it to rounding / step.
fn polish<F: Fn(&[f64]) -> f64>(f: &F, mut x: Vec<f64>) -> Vec<f64> {
    let k = x.len();
    let mut fx = f(&x);
    for _ in 0..8 {
        // The step that balances truncation (~h^2) against rounding of f (~1e-16 |f| / h).
        let rel = (1e-15 * fx.abs().max(1.0)).cbrt().max(1e-6);
        let h: Vec<f64> = x.iter().map(|v| rel * v.abs().max(1.0)).collect();
        let at = |d: &[(usize, f64)]| {
            let mut y = x.clone();
            for &(i, s) in d {
                y[i] += s * h[i];
            }
            f(&y)
        };
        let mut g = nalgebra::DVector::zeros(k);
        let mut hess = nalgebra::DMatrix::zeros(k, k);
        for i in 0..k {
            let (up, down) = (at(&[(i, 1.0)]), at(&[(i, -1.0)]));
            g[i] = (up - down) / (2.0 * h[i]);
            hess[(i, i)] = (up - 2.0 * fx + down) / (h[i] * h[i]);
            for j in 0..i {
                let v = (at(&[(i, 1.0), (j, 1.0)]) - at(&[(i, 1.0), (j, -1.0)]) - at(&[(i, -1.0), (j, 1.0)])
                    + at(&[(i, -1.0), (j, -1.0)]))
                    / (4.0 * h[i] * h[j]);
                hess[(i, j)] = v;
                hess[(j, i)] = v;
            }
        }
        let Some(chol) = hess.cholesky() else { break };
        let step = -chol.solve(&g);
        if !step.iter().all(|v| v.is_finite()) {
            break;
        }
        let mut scale = 1.0;
        let mut moved = false;
        for _ in 0..4 {
            let y: Vec<f64> = x.iter().zip(step.iter()).map(|(a, d)| a + scale * d).collect();
            let fy = f(&y);
            if fy <= fx {
                moved = fy < fx;
                x = y;
                fx = fy;
                break;
            }
            scale *= 0.5;
        }
        if !moved || step.norm() * scale < 1e-12 {
            break;
        }
    }
    x
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn finds_the_minimum_of_a_curved_valley() {
        // Rosenbrock in 2-D and a shifted quadratic in 3-D, from poor starts.
        let rosen = |v: &[f64]| (1.0 - v[0]).powi(2) + 100.0 * (v[1] - v[0] * v[0]).powi(2);
        let x = minimize(&rosen, &[-1.2, 1.0]);
        assert!((x[0] - 1.0).abs() < 1e-5 && (x[1] - 1.0).abs() < 1e-5, "{x:?}");
        let bowl = |v: &[f64]| (v[0] - 3.0).powi(2) + 2.0 * (v[1] + 1.0).powi(2) + 0.5 * (v[2] - 0.25).powi(2);
        let x = minimize(&bowl, &[0.0, 0.0, 0.0]);
        // Stopping at f spreads of 1e-14 leaves x within sqrt(1e-14 / curvature) of the optimum.
        assert!((x[0] - 3.0).abs() < 1e-6 && (x[1] + 1.0).abs() < 1e-6 && (x[2] - 0.25).abs() < 1e-6, "{x:?}");
    }
}
