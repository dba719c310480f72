//! The factored design `[R | Q'y]` in double-double and what is read off it: coefficients,
//! the unscaled covariance `(X'X)^-1`, condition numbers and, when a column is dependent,
//! which earlier columns it depends on.

use nalgebra::{linalg::SVD, DMatrix};

use super::kernels::Real;
use super::{ldexp, Design, RankDeficiency, DEPENDENCY_SHARE};
use crate::model::dd::Dd;

/// The factored design in double-double: triangle, inverse and derived quantities.
pub(super) struct Triangle {
    pub(super) p: usize,
    pub(super) q: usize,
    /// `[R | Q'y]`, (p+1) x (p+1) row-major.
    pub(super) r: Vec<Dd>,
    /// `R^-1`, p x p row-major, upper triangular.
    pub(super) rinv: Vec<Dd>,
    /// `|Z_j|`: 2-norms of the (power-of-two scaled) columns, from R's columns.
    pub(super) norms: Vec<f64>,
}

impl Triangle {
    pub(super) fn new<T: Real>(r: &[T], p: usize) -> Triangle {
        let q = p + 1;
        let r: Vec<Dd> = r.iter().map(|v| v.to_dd()).collect();
        let norms =
            (0..p).map(|k| (0..=k).fold(Dd::ZERO, |s, i| s + r[i * q + k] * r[i * q + k]).sqrt().to_f64()).collect();
        Triangle { p, q, r, rinv: Vec::new(), norms }
    }

    /// `|R_kk| / |Z_k|` (0 for a zero column).
    pub(super) fn ratio(&self, k: usize) -> f64 {
        let rkk = self.r[k * self.q + k].to_f64().abs();
        if self.norms[k] > 0.0 {
            rkk / self.norms[k]
        } else {
            0.0
        }
    }

    /// Solves `R[..k, ..k] x = rhs` by back substitution.
    pub(super) fn back_substitute(&self, k: usize, mut x: Vec<Dd>) -> Vec<Dd> {
        for i in (0..k).rev() {
            let s = (i + 1..k).fold(x[i], |s, l| s - self.r[i * self.q + l] * x[l]);
            x[i] = s / self.r[i * self.q + i];
        }
        x
    }

    pub(super) fn invert(&mut self) {
        let (p, q) = (self.p, self.q);
        let mut rinv = vec![Dd::ZERO; p * p];
        for c in 0..p {
            rinv[c * p + c] = Dd::ONE / self.r[c * q + c];
            for i in (0..c).rev() {
                let s = (i + 1..=c).fold(Dd::ZERO, |s, l| s + self.r[i * q + l] * rinv[l * p + c]);
                rinv[i * p + c] = -(s / self.r[i * q + i]);
            }
        }
        self.rinv = rinv;
    }

    /// Dependency of column k on the earlier ones: `Z_k ~ sum_j w_j Z_j`.
    pub(super) fn dependency(&self, k: usize) -> RankDeficiency {
        let rhs = (0..k).map(|i| self.r[i * self.q + k]).collect();
        let w = self.back_substitute(k, rhs);
        let depends_on = (0..k)
            .filter(|&j| {
                let share = w[j].to_f64().abs() * self.norms[j];
                self.norms[k] > 0.0 && share > DEPENDENCY_SHARE * self.norms[k]
            })
            .collect();
        RankDeficiency { column: k, depends_on }
    }

    /// 2-norm condition number of the unit-column-scaled design.
    pub(super) fn scaled_condition(&self) -> f64 {
        let p = self.p;
        let ru: Vec<f64> = (0..p * p).map(|i| self.r[(i / p) * self.q + i % p].to_f64() / self.norms[i % p]).collect();
        let ru_inv: Vec<f64> = (0..p * p).map(|i| self.rinv[i].to_f64() * self.norms[i / p]).collect();
        largest_singular_value(p, &ru) * largest_singular_value(p, &ru_inv)
    }

    /// Coefficients `b = D^-1 R^-1 Q'y * 2^{e_y}` of the unscaled problem.
    pub(super) fn coefficients(&self, d: &Design) -> Vec<Dd> {
        let qty = (0..self.p).map(|i| self.r[i * self.q + self.p]).collect();
        let c = self.back_substitute(self.p, qty);
        c.iter()
            .zip(&d.cols)
            .map(|(c, col)| {
                let e = d.y_exp - col.exp;
                Dd { hi: ldexp(c.hi, e), lo: ldexp(c.lo, e) }
            })
            .collect()
    }

    /// `(X'X)^-1 = (D^-1 R^-1)(D^-1 R^-1)'`, row-major, in double-double.
    pub(super) fn covariance(&self, d: &Design) -> Vec<Dd> {
        let p = self.p;
        let mut cov = vec![Dd::ZERO; p * p];
        for i in 0..p {
            for j in i..p {
                let s = (j..p).fold(Dd::ZERO, |s, l| s + self.rinv[i * p + l] * self.rinv[j * p + l]);
                let e = -d.cols[i].exp - d.cols[j].exp;
                let v = Dd { hi: ldexp(s.hi, e), lo: ldexp(s.lo, e) };
                cov[i * p + j] = v;
                cov[j * p + i] = v;
            }
        }
        cov
    }

    /// 2-norm condition number of the unscaled X: `sigma_max(R D) * sigma_max(D^-1 R^-1)`.
    pub(super) fn condition_number(&self, d: &Design) -> f64 {
        let p = self.p;
        let rx: Vec<f64> =
            (0..p * p).map(|i| ldexp(self.r[(i / p) * self.q + i % p].to_f64(), d.cols[i % p].exp)).collect();
        let rx_inv: Vec<f64> = (0..p * p).map(|i| ldexp(self.rinv[i].to_f64(), -d.cols[i / p].exp)).collect();
        largest_singular_value(p, &rx) * largest_singular_value(p, &rx_inv)
    }
}

/// Largest singular value of a p x p row-major matrix (nalgebra SVD; Frobenius norm, an
/// upper bound, if it does not converge; infinity for non-finite input).
fn largest_singular_value(p: usize, a: &[f64]) -> f64 {
    if a.iter().any(|v| !v.is_finite()) {
        return f64::INFINITY;
    }
    let m = DMatrix::from_row_slice(p, p, a);
    match SVD::try_new(m.clone(), false, false, f64::EPSILON, 10_000) {
        Some(svd) => svd.singular_values.max(),
        None => m.norm(),
    }
}
