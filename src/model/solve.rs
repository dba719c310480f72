//! Ordinary least squares accurate to the NIST StRD bar, fast on large well-conditioned data.
//!
//! [`least_squares`] factors the design `[X | y]` by Householder QR, one block of rows at a time
//! (a sequential "tall-skinny" QR: each block of rows is reduced into the running triangle, so
//! the factorisation reads the data once and never copies them into an n x p matrix). Polynomial terms `x^k` are
//! formed inside the solver from the exact f64 `x`. Every column is scaled by a power of two near
//! its largest value, which is exact; the remaining 2-norm scaling is applied to the small
//! triangle only (Householder QR is invariant under column scaling, so this is the same as
//! factoring unit-norm columns, minus one rounding of every data value).
//!
//! Small problems (`n * p` below [`FAST_PATH_MIN_CELLS`]) are always factored in double-double
//! ([`super::dd`]), which loses about `2 log10(scaled condition)` of its 32 digits: NIST's Filip
//! (condition about 1.8e15) keeps more than 12 digits in every coefficient and standard error,
//! where f64 QR keeps 7 or 8. Large problems are first factored in f64; when the scaled
//! condition number is at most [`FAST_PATH_MAX_CONDITION`] the f64 triangle is kept and the
//! coefficients get one step of iterative refinement against residuals computed in
//! double-double, otherwise the whole factorisation is redone in double-double. Either way
//! residuals and the residual sum of squares are accumulated in double-double.
//!
//! Collinearity is detected on the double-double triangle and reported as a [`RankDeficiency`]
//! naming the first dependent column in the user's order (no pivoting).

mod kernels;
mod triangle;

use super::dd::Dd;
use kernels::{factor, residual_pass, update_pass};
use triangle::Triangle;

/// Which arithmetic produced a [`Solution`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Method {
    /// Householder QR in f64 (large, well-conditioned problems).
    F64Qr,
    /// Householder QR carried in double-double arithmetic.
    DoubleDoubleQr,
}

/// The least-squares solution and what inference needs from it.
#[derive(Debug, Clone)]
pub struct Solution {
    /// Coefficients in design order: intercept first (when present), then the terms.
    pub coefficients: Vec<f64>,
    /// (X'X)^-1 of the unscaled design, p x p, row-major.
    pub cov_unscaled: Vec<f64>,
    /// y - X b for every row.
    pub residuals: Vec<f64>,
    /// Residual sum of squares, accumulated in extended precision.
    pub rss: f64,
    /// 2-norm condition number of the unscaled design matrix X.
    pub condition_number: f64,
    /// Arithmetic used.
    pub method: Method,
}

/// Why no unique solution exists.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RankDeficiency {
    /// Design column (0-based, intercept counted) that is a combination of earlier ones.
    pub column: usize,
    /// Earlier design columns taking part in that combination.
    pub depends_on: Vec<usize>,
}

/// One design column: `base[i]^power` (power 0 is the intercept column of ones).
#[derive(Debug, Clone, Copy)]
pub struct DesignColumn<'a> {
    /// Raw predictor values (ignored when `power == 0`).
    pub base: &'a [f64],
    /// Exponent applied inside the solver in extended precision.
    pub power: u32,
}

/// Problems with at least this many design cells (`n * p`) try the f64 factorisation first;
/// smaller ones go straight to double-double, which costs well under a millisecond there.
pub const FAST_PATH_MIN_CELLS: usize = 200_000;

/// Largest 2-norm condition number of the unit-column-scaled design that the f64 path keeps.
///
/// Householder QR is backward stable column by column: the computed R is exact for `X + E`
/// with `|E_j| <= eps |X_j|`, eps a small multiple of 2^-53 (say 1e-15 with the block
/// reduction). For `kappa` the scaled condition number:
/// - (X'X)^-1 = R^-1 R^-T is then off by about `2 kappa eps` relative to its norm, at most
///   2e-11 at kappa = 1e4, so standard errors stay well inside 1e-10. Measured: NIST's
///   Wampler data (kappa 2.2e3) repeated to 33 000 rows give standard errors to 7e-13
///   (LRE 12.2); 300 000-row designs with kappa from 9 to 9.6e3 gave at most 7e-14;
/// - the coefficients' error `eps (kappa + kappa^2 |r| / (|X| |b|))` can reach 1e-7 at kappa =
///   1e4 for a noisy response (measured: 1.2e-11 already at kappa = 1e3), so they get one step
///   of refinement, `b += (R'R)^-1 X'r` with r and X'r to double-double accuracy, which shrinks
///   the error by `kappa^2 eps <= 1e-7`: the refined coefficients matched the double-double
///   solution to the last bit in every case measured.
///
/// Above 1e4 the (X'X)^-1 bound closes in on 1e-10 and the solver switches to double-double.
pub const FAST_PATH_MAX_CONDITION: f64 = 1e4;

/// Relative rank tolerance on the double-double triangle: column k is dependent when
/// `|R_kk| / |X_k| < RANK_TOLERANCE`, i.e. when its distance from the span of the earlier
/// columns is below 1e-13 of its length.
///
/// Exact collinearity (ports = 8 * revisions, a constant beside the intercept) leaves a ratio
/// near 1e-30, the double-double rounding level; collinearity through f64 rounding
/// (`x2 = 0.1 * x1` computed in f64, sums of columns, values printed to 15-17 digits) leaves
/// the rounding errors themselves, a few units of 2^-53 (about 1e-16), so 1e-13 (about 900
/// units) catches them with room to spare. Genuine data sit far above: Filip's smallest ratio
/// is 5.2e-8 (column x^10), 5e5 times the tolerance; its 1.8e15 condition number is mostly
/// column scaling (unit-norm columns bring it down to 5.2e9).
pub const RANK_TOLERANCE: f64 = 1e-13;

/// An earlier column takes part in a dependency when its share `|w_j| |X_j| / |X_k|` of the
/// combination is above this; rounding noise gives shares of about the rank tolerance or less.
const DEPENDENCY_SHARE: f64 = 1e-9;

/// Solves `min |y - X b|` for the design `columns`.
///
/// Callers guarantee `y.len() >= columns.len() >= 1`, equal lengths and finite values.
/// Returns the first column (in the given order) that is a linear combination of earlier
/// ones, if any, as a [`RankDeficiency`].
pub fn least_squares(columns: &[DesignColumn], y: &[f64]) -> Result<Solution, RankDeficiency> {
    let design = Design::new(columns, y);
    if y.len().saturating_mul(columns.len()) >= FAST_PATH_MIN_CELLS {
        if let Some(solution) = f64_path(&design) {
            return Ok(solution);
        }
    }
    dd_path(&design)
}

/// `x * 2^e` without intermediate overflow (exact unless the result leaves the normal range).
fn ldexp(mut x: f64, mut e: i64) -> f64 {
    let big = 2f64.powi(1000);
    while e > 1000 && x.is_finite() && x != 0.0 {
        x *= big;
        e -= 1000;
    }
    while e < -1000 && x != 0.0 {
        x /= big;
        e += 1000;
    }
    x * 2f64.powi(e.clamp(-1100, 1100) as i32)
}

/// Exponent `e` with `max |v| * 2^-e` in [0.5, 1) (clamped so `2^-e` stays representable).
fn scale_exponent(values: &[f64]) -> i64 {
    let m = values.iter().fold(0.0f64, |m, v| m.max(v.abs()));
    if m == 0.0 || !m.is_finite() {
        return 0;
    }
    (m.log2().floor() as i64 + 1).clamp(-1000, 1023)
}

/// A design column with its exact power-of-two scaling: the solver factors `Z = X D^-1`.
struct Column<'a> {
    base: &'a [f64],
    power: u32,
    /// `2^-e`, applied to `base` before the power.
    mult: f64,
    /// `log2 D_j = e * power`.
    exp: i64,
}

struct Design<'a> {
    cols: Vec<Column<'a>>,
    y: &'a [f64],
    y_mult: f64,
    y_exp: i64,
    n: usize,
}

impl<'a> Design<'a> {
    fn new(columns: &[DesignColumn<'a>], y: &'a [f64]) -> Design<'a> {
        let n = y.len();
        debug_assert!(!columns.is_empty() && n >= columns.len());
        debug_assert!(columns.iter().all(|c| c.power == 0 || c.base.len() == n));
        let cols = columns
            .iter()
            .map(|c| {
                let e = if c.power == 0 { 0 } else { scale_exponent(c.base) };
                Column { base: c.base, power: c.power, mult: ldexp(1.0, -e), exp: e * c.power as i64 }
            })
            .collect();
        let y_exp = scale_exponent(y);
        Design { cols, y, y_mult: ldexp(1.0, -y_exp), y_exp, n }
    }

    fn p(&self) -> usize {
        self.cols.len()
    }
}

/// `a >= b`, false when either is NaN (so overflowed designs fail the checks).
fn at_least(a: f64, b: f64) -> bool {
    a >= b
}

fn to_f64(v: &[Dd]) -> Vec<f64> {
    v.iter().map(|x| x.to_f64()).collect()
}

/// f64 factorisation; `None` when the scaled condition exceeds [`FAST_PATH_MAX_CONDITION`].
fn f64_path(d: &Design) -> Option<Solution> {
    let p = d.p();
    let mut tri = Triangle::new(&factor::<f64>(d), p);
    if (0..p).any(|k| !at_least(tri.ratio(k) * FAST_PATH_MAX_CONDITION, 1.0)) {
        return None; // kappa >= 1 / min ratio: certainly too large (or singular)
    }
    tri.invert();
    if !at_least(FAST_PATH_MAX_CONDITION, tri.scaled_condition()) {
        return None;
    }
    let b0 = tri.coefficients(d);
    let cov = tri.covariance(d);
    // One refinement step on the semi-normal equations, db = (R'R)^-1 X'r with r and X'r to
    // double-double accuracy; the residuals then move by the small X db.
    let (mut residuals, sums) = residual_pass(d, &b0, true);
    let db: Vec<Dd> = (0..p).map(|i| (0..p).fold(Dd::ZERO, |s, j| s + cov[i * p + j] * sums.gradient[j])).collect();
    let b: Vec<Dd> = b0.iter().zip(&db).map(|(&b, &db)| b + db).collect();
    let rss = update_pass(d, &to_f64(&db), &mut residuals);
    Some(Solution {
        coefficients: to_f64(&b),
        cov_unscaled: to_f64(&cov),
        residuals,
        rss: rss.to_f64(),
        condition_number: tri.condition_number(d),
        method: Method::F64Qr,
    })
}

/// Double-double factorisation with rank check.
fn dd_path(d: &Design) -> Result<Solution, RankDeficiency> {
    let p = d.p();
    let mut tri = Triangle::new(&factor::<Dd>(d), p);
    if let Some(k) = (0..p).find(|&k| !at_least(tri.ratio(k), RANK_TOLERANCE)) {
        return Err(tri.dependency(k));
    }
    tri.invert();
    let b = tri.coefficients(d);
    let (residuals, sums) = residual_pass(d, &b, false);
    let rss = sums.rss;
    Ok(Solution {
        coefficients: to_f64(&b),
        cov_unscaled: to_f64(&tri.covariance(d)),
        residuals,
        rss: rss.to_f64(),
        condition_number: tri.condition_number(d),
        method: Method::DoubleDoubleQr,
    })
}

#[cfg(test)]
mod tests;
