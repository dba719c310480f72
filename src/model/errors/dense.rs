//! Brute-force REML for the unit tests: the GLS fit and -2 restricted log-likelihood from a
//! dense marginal covariance, the independent path the level- and group-sum forms are checked
//! against (tests only).

use nalgebra::{DMatrix, DVector};

/// The dense GLS fit of `y` on the intercept and `x` under covariance `v`.
pub(crate) struct Dense {
    pub b: DVector<f64>,
    pub quad: f64,
    /// `(n - p) ln(r'V^-1 r) + ln|V| + ln|X'V^-1 X|`, the constant of the sum forms.
    pub objective: f64,
    pub v_inv: DMatrix<f64>,
    pub residual: DVector<f64>,
}

/// Fit `y = b0 + b1 x` by GLS under `v`.
pub(crate) fn fit(v: &DMatrix<f64>, x: &[f64], y: &[f64]) -> Dense {
    let n = y.len();
    let xm = DMatrix::from_fn(n, 2, |i, k| if k == 0 { 1.0 } else { x[i] });
    let yv = DVector::from_column_slice(y);
    let v_inv = v.clone().try_inverse().unwrap();
    let a = xm.transpose() * &v_inv * &xm;
    let b = a.clone().try_inverse().unwrap() * xm.transpose() * &v_inv * &yv;
    let residual = &yv - &xm * &b;
    let quad = (residual.transpose() * &v_inv * &residual)[(0, 0)];
    let objective = (n - 2) as f64 * quad.ln() + v.determinant().ln() + a.determinant().ln();
    Dense { b, quad, objective, v_inv, residual }
}
