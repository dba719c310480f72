//! What an inference reads (the fit's design and solution) and writes (coefficients, their
//! covariance, the error model), and storing a GLS fit into it: shared by the structures'
//! inference modules (`infer`, `slopes_infer`) and the checks they run (`choose`,
//! `diagnostics`), which therefore do not import one another for it.

use super::levels::{Levels, Scaling};
use super::ErrorModel;
use crate::model::solve::{DesignColumn, Solution};
use crate::model::term::Term;
use crate::series::Series;

/// What the fit hands over.
pub(crate) struct FitInput<'a> {
    pub series: &'a Series,
    /// Fitted rows (indexes into the series).
    pub rows: &'a [usize],
    pub y: &'a [f64],
    pub design: &'a [DesignColumn<'a>],
    pub terms: &'a [Term],
    pub intercept: bool,
    pub solution: &'a Solution,
}

/// The inference to store in the model.
pub(crate) struct Inference {
    /// Coefficient estimates (OLS, or GLS under levels/group).
    pub coefficients: Vec<f64>,
    /// Their covariance, p x p row-major, bytes^2.
    pub cov: Vec<f64>,
    /// The covariance divided by `sigma_obs^2` ((X'X)^-1 itself under iid).
    pub cov_unscaled: Vec<f64>,
    /// Standard deviation of one new reading around the mean (level, group and within noise).
    pub sigma_obs: f64,
    /// Degrees of freedom of t inference on the coefficients.
    pub dof: usize,
    /// Residual sum of squares at the coefficients.
    pub rss: f64,
    pub errors: ErrorModel,
    pub notes: Vec<String>,
}

/// Store a GLS fit (scaled units) in `out`: coefficients, their covariance and the readings'
/// residual sum of squares, in bytes; returns sigma_within^2 (bytes^2).
pub(crate) fn store_gls(
    levels: &Levels,
    input: &FitInput,
    sc: &Scaling,
    b: &[f64],
    a_inv: &[f64],
    quad: f64,
    out: &mut Inference,
) -> f64 {
    let p = input.design.len();
    let nr = levels.readings as f64;
    let sigma2_scaled = quad / (nr - p as f64);
    let ys2 = sc.y_scale * sc.y_scale;
    let sigma_w2 = sigma2_scaled * ys2;
    out.coefficients = (0..p)
        .map(|j| b[j] * sc.y_scale / sc.x_scale[j] + if input.design[j].power == 0 { sc.y_shift } else { 0.0 })
        .collect();
    out.cov = (0..p * p).map(|k| sigma_w2 * a_inv[k] / (sc.x_scale[k / p] * sc.x_scale[k % p])).collect();
    // Residual sum of squares of the readings at the GLS coefficients, from level sums.
    out.rss = levels
        .levels
        .iter()
        .enumerate()
        .map(|(k, v)| {
            let fitted: f64 = levels.row(k).iter().zip(b).map(|(x, b)| x * b).sum();
            v.ss + v.n as f64 * (v.mean - fitted).powi(2)
        })
        .sum::<f64>()
        * ys2;
    sigma_w2
}
