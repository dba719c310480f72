//! Derivative-free minimisation of the REML objective (argmin's Nelder-Mead).
//!
//! The objective has at most three parameters and is smooth; Nelder-Mead is restarted from
//! its own optimum with a fresh simplex until the value stops improving, which guards against
//! the premature collapse a single run can suffer.

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
    let mut best = x0.to_vec();
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
        let solver = match NelderMead::new(simplex).with_sd_tolerance(1e-15) {
            Ok(s) => s,
            Err(_) => break,
        };
        let run = Executor::new(Objective(f), solver).configure(|s| s.max_iters(MAX_ITERS)).run();
        let Ok(run) = run else { break };
        let state = run.state();
        let Some(point) = state.best_param.as_ref() else { break };
        let value = state.best_cost;
        let improved = value < best_value - 1e-12 * best_value.abs().max(1.0);
        if value <= best_value {
            best = point.as_slice().to_vec();
            best_value = value;
        }
        if !improved {
            break;
        }
        step *= 0.2;
    }
    best
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn finds_the_minimum_of_a_curved_valley() {
        // Rosenbrock in 2-D and a shifted quadratic in 3-D, from poor starts.
        let rosen = |v: &[f64]| (1.0 - v[0]).powi(2) + 100.0 * (v[1] - v[0] * v[0]).powi(2);
        let x = minimize(&rosen, &[-1.2, 1.0]);
        assert!((x[0] - 1.0).abs() < 1e-6 && (x[1] - 1.0).abs() < 1e-6, "{x:?}");
        let bowl = |v: &[f64]| (v[0] - 3.0).powi(2) + 2.0 * (v[1] + 1.0).powi(2) + 0.5 * (v[2] - 0.25).powi(2);
        let x = minimize(&bowl, &[0.0, 0.0, 0.0]);
        assert!((x[0] - 3.0).abs() < 1e-7 && (x[1] + 1.0).abs() < 1e-7 && (x[2] - 0.25).abs() < 1e-7, "{x:?}");
    }
}
