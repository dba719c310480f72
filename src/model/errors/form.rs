//! Model-form uncertainty beyond the data: the quadratic alternative to the straight line.
//!
//! Inside the measured range a slight bend of memory in the cluster count hardly moves a bound;
//! past it the bend grows with the square of the distance. Seven levels cannot tell a +5% bend
//! at the top level from level scatter most of the time (issue 19: the straight line's safe count
//! then lay past the true crossing in every campaign at 2Gi and 4Gi). So the fit keeps the
//! quadratic in its main predictor, fitted under its own variance components, and projections
//! past the largest measured value take the larger of the two upper bounds
//! ([`crate::project::Bounds::upper`]); tests/shapes_study.rs measures what that costs on
//! straight data and what it buys on bent data.

use serde::{Deserialize, Serialize};

use crate::model::Prediction;

/// The model with `column^2` added, in the data's units.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Quadratic {
    /// The main predictor whose square is added (e.g. `revisions`).
    pub column: String,
    /// Coefficients in the model's design order, then the square's.
    pub coefficients: Vec<f64>,
    /// Their covariance, bytes^2 per unit^2 (p+1 x p+1).
    pub cov: Vec<Vec<f64>>,
    /// Standard deviation of one new reading around the quadratic's mean, bytes.
    pub sigma_obs: f64,
    /// Degrees of freedom of its t inference (the straight line's minus one).
    pub dof: usize,
}

impl Quadratic {
    /// Prediction at the straight model's design `row` plus the square's value `square`.
    /// `spread(mean)` multiplies the residual variance (1 without a variance function).
    pub fn predict(&self, row: &[f64], square: f64, spread: impl Fn(f64) -> f64) -> Prediction {
        let full: Vec<f64> = row.iter().copied().chain(std::iter::once(square)).collect();
        let mean: f64 = full.iter().zip(&self.coefficients).map(|(x, b)| x * b).sum();
        let var_mean: f64 = full
            .iter()
            .zip(&self.cov)
            .map(|(xi, c)| xi * c.iter().zip(&full).map(|(v, xj)| v * xj).sum::<f64>())
            .sum::<f64>()
            .max(0.0);
        let var_obs = var_mean + self.sigma_obs * self.sigma_obs * spread(mean);
        Prediction { mean, se_mean: var_mean.sqrt(), se_obs: var_obs.sqrt() }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn prediction_is_the_quadratic_form() {
        // b = (1, 2, 0.5), cov diag(1, 4, 9), sigma 2: at row (1, 3), square 9:
        // mean 1 + 6 + 4.5 = 11.5; var_mean 1 + 36 + 729 = 766; var_obs 770.
        let q = Quadratic {
            column: "revisions".into(),
            coefficients: vec![1.0, 2.0, 0.5],
            cov: vec![vec![1.0, 0.0, 0.0], vec![0.0, 4.0, 0.0], vec![0.0, 0.0, 9.0]],
            sigma_obs: 2.0,
            dof: 4,
        };
        let p = q.predict(&[1.0, 3.0], 9.0, |_| 1.0);
        assert_eq!(p.mean, 11.5);
        assert_eq!(p.se_mean, 766f64.sqrt());
        assert_eq!(p.se_obs, 770f64.sqrt());
    }
}
