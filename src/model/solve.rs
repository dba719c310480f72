//! Ordinary least squares accurate to the NIST StRD bar, fast on large well-conditioned data.
//!
//! [`least_squares`] factors the design `[X | y]` by Householder QR, one block of rows at a time
//! (a sequential "tall-skinny" QR: each block of rows is reduced into the running triangle, so
//! the data are read once and never copied into an n x p matrix). Polynomial terms `x^k` are
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

use std::ops::{Add, Div, Mul, Neg, Range, Sub};

use nalgebra::{linalg::SVD, DMatrix};
use rayon::prelude::*;

use super::dd::Dd;

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
/// with `|E_j| <= eps |X_j|`, `eps` a small multiple of 2^-53 (about 1e-15 allowing for the
/// block reduction). With `kappa` the scaled condition number, (X'X)^-1 = R^-1 R^-T then has a
/// relative error of about `2 kappa eps`, which is at most 2e-11 at kappa = 1e4 (and is 1e-14
/// for typical kappa of 1 to 10). The coefficients' first-order error `kappa^2 eps * |r| /
/// (|X||b|)` is removed by the refinement step (residuals and X'r in double-double), which
/// contracts the error by `kappa^2 eps <= 1e-7` per step, so they end up accurate to a few
/// units of 2^-53. Beyond 1e4 the bound on (X'X)^-1 gets within reach of 1e-10, so the solver
/// switches to double-double.
pub const FAST_PATH_MAX_CONDITION: f64 = 1e4;

/// Relative rank tolerance on the double-double triangle: column k is dependent when
/// `|R_kk| / |X_k| < RANK_TOLERANCE`, i.e. when its distance from the span of the earlier
/// columns is below 1e-13 of its length.
///
/// Exact collinearity (ports = 8 * revisions, a constant beside the intercept) leaves a ratio
/// near 1e-30, the double-double rounding level; collinearity through f64 rounding
/// (`x2 = 0.1 * x1` computed in f64, sums of columns) leaves the rounding errors themselves, at
/// most a few units of 2^-53 (about 1e-16). Genuine data sit far above: Filip's smallest ratio
/// is 7.3e-11 (column x^10), 730 times the tolerance, and its 1.8e15 condition number is
/// nearly all column scaling and the spread of its small ratios.
pub const RANK_TOLERANCE: f64 = 1e-13;

/// An earlier column takes part in a dependency when its share `|w_j| |X_j| / |X_k|` of the
/// combination is above this; rounding noise gives shares of about the rank tolerance or less.
const DEPENDENCY_SHARE: f64 = 1e-9;

/// Rows reduced per Householder step (the block, `p + 1` columns of it, stays in L1 cache).
const BLOCK_ROWS: usize = 128;

/// Rows per independently factored chunk; chunks run in parallel and their triangles are then
/// combined in chunk order, so the result does not depend on the number of threads.
const CHUNK_ROWS: usize = 1 << 15;

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

/// Arithmetic the factorisation is generic over (f64 for speed, [`Dd`] for accuracy).
trait Real:
    Copy
    + Send
    + Sync
    + Add<Output = Self>
    + Sub<Output = Self>
    + Mul<Output = Self>
    + Div<Output = Self>
    + Neg<Output = Self>
{
    const ZERO: Self;
    const ONE: Self;
    /// `x^k` for the already scaled `x`.
    fn power(x: f64, k: u32) -> Self;
    fn sqrt(self) -> Self;
    fn to_dd(self) -> Dd;
}

impl Real for f64 {
    const ZERO: f64 = 0.0;
    const ONE: f64 = 1.0;
    #[inline(always)]
    fn power(x: f64, k: u32) -> f64 {
        match k {
            0 => 1.0,
            1 => x,
            _ => Dd::powi(x, k).to_f64(),
        }
    }
    fn sqrt(self) -> f64 {
        f64::sqrt(self)
    }
    fn to_dd(self) -> Dd {
        Dd::from_f64(self)
    }
}

impl Real for Dd {
    const ZERO: Dd = Dd::ZERO;
    const ONE: Dd = Dd::ONE;
    #[inline(always)]
    fn power(x: f64, k: u32) -> Dd {
        match k {
            0 => Dd::ONE,
            1 => Dd::from_f64(x),
            _ => Dd::powi(x, k),
        }
    }
    fn sqrt(self) -> Dd {
        Dd::sqrt(self)
    }
    fn to_dd(self) -> Dd {
        self
    }
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
                let e = if c.power == 0 {
                    0
                } else {
                    scale_exponent(c.base)
                };
                Column {
                    base: c.base,
                    power: c.power,
                    mult: ldexp(1.0, -e),
                    exp: e * c.power as i64,
                }
            })
            .collect();
        let y_exp = scale_exponent(y);
        Design {
            cols,
            y,
            y_mult: ldexp(1.0, -y_exp),
            y_exp,
            n,
        }
    }

    fn p(&self) -> usize {
        self.cols.len()
    }
}

/// Factors `[Z | y_z]` and returns the (p+1) x (p+1) row-major triangle `[R | Q'y]` (its last
/// row is unused).
fn factor<T: Real>(d: &Design) -> Vec<T> {
    let q = d.p() + 1;
    if d.n <= CHUNK_ROWS {
        let mut r = vec![T::ZERO; q * q];
        absorb_rows(d, 0..d.n, &mut r);
        return r;
    }
    let parts: Vec<Vec<T>> = (0..d.n.div_ceil(CHUNK_ROWS))
        .into_par_iter()
        .map(|c| {
            let mut r = vec![T::ZERO; q * q];
            absorb_rows(d, c * CHUNK_ROWS..d.n.min((c + 1) * CHUNK_ROWS), &mut r);
            r
        })
        .collect();
    let mut r = vec![T::ZERO; q * q];
    let mut block = vec![T::ZERO; q * q];
    for part in parts {
        for i in 0..q {
            for j in 0..q {
                block[j * q + i] = part[i * q + j];
            }
        }
        reduce_block(&mut r, q, &mut block, q, q);
    }
    r
}

/// Reduces the given rows of the design into the running triangle `r`.
fn absorb_rows<T: Real>(d: &Design, rows: Range<usize>, r: &mut [T]) {
    let q = d.p() + 1;
    let mut block = vec![T::ZERO; BLOCK_ROWS * q];
    let mut start = rows.start;
    while start < rows.end {
        let end = rows.end.min(start + BLOCK_ROWS);
        let m = end - start;
        for (j, col) in d.cols.iter().enumerate() {
            let dst = &mut block[j * BLOCK_ROWS..j * BLOCK_ROWS + m];
            if col.power == 0 {
                dst.fill(T::ONE);
            } else {
                for (z, &x) in dst.iter_mut().zip(&col.base[start..end]) {
                    *z = T::power(x * col.mult, col.power);
                }
            }
        }
        let dst = &mut block[d.p() * BLOCK_ROWS..d.p() * BLOCK_ROWS + m];
        for (z, &v) in dst.iter_mut().zip(&d.y[start..end]) {
            *z = T::power(v * d.y_mult, 1);
        }
        reduce_block(r, q, &mut block, BLOCK_ROWS, m);
        start = end;
    }
}

/// Householder reduction of `[r; block]` to upper-triangular form, written back into `r`.
/// `block` is column-major with column stride `stride` and `m` live rows; it is clobbered.
fn reduce_block<T: Real>(r: &mut [T], q: usize, block: &mut [T], stride: usize, m: usize) {
    for k in 0..q - 1 {
        let (head, tail) = block.split_at_mut((k + 1) * stride);
        let ak = &head[k * stride..k * stride + m];
        let sigma = dot(ak, ak);
        if sigma.to_dd().hi == 0.0 {
            continue;
        }
        // Reflector taking (r_kk, ak) to (beta, 0): v = (r_kk - beta, ak), H = I - 2vv'/v'v,
        // and v'v = -2 beta v0, so H applied to (r_kj, aj) subtracts f v with f = w / (-beta v0).
        let alpha = r[k * q + k];
        let norm = (alpha * alpha + sigma).sqrt();
        let beta = if alpha.to_dd().hi >= 0.0 { -norm } else { norm };
        let v0 = alpha - beta;
        let inv = T::ONE / (beta * v0);
        for j in k + 1..q {
            let off = (j - k - 1) * stride;
            let aj = &mut tail[off..off + m];
            let w = v0 * r[k * q + j] + dot(ak, aj);
            let f = -(w * inv);
            r[k * q + j] = r[k * q + j] - f * v0;
            for (x, &a) in aj.iter_mut().zip(ak) {
                *x = *x - f * a;
            }
        }
        r[k * q + k] = beta;
    }
}

/// Dot product with four independent accumulators (lets the f64 loop vectorise).
#[inline(always)]
fn dot<T: Real>(a: &[T], b: &[T]) -> T {
    let mut s = [T::ZERO; 4];
    let (ca, cb) = (a.chunks_exact(4), b.chunks_exact(4));
    let (ra, rb) = (ca.remainder(), cb.remainder());
    for (x, y) in ca.zip(cb) {
        for l in 0..4 {
            s[l] = s[l] + x[l] * y[l];
        }
    }
    let mut t = (s[0] + s[1]) + (s[2] + s[3]);
    for (x, y) in ra.iter().zip(rb) {
        t = t + *x * *y;
    }
    t
}

/// The factored design in double-double: triangle, inverse and derived quantities.
struct Triangle {
    p: usize,
    q: usize,
    /// `[R | Q'y]`, (p+1) x (p+1) row-major.
    r: Vec<Dd>,
    /// `R^-1`, p x p row-major, upper triangular.
    rinv: Vec<Dd>,
    /// `|Z_j|`: 2-norms of the (power-of-two scaled) columns, from R's columns.
    norms: Vec<f64>,
}

impl Triangle {
    fn new<T: Real>(r: &[T], p: usize) -> Triangle {
        let q = p + 1;
        let r: Vec<Dd> = r.iter().map(|v| v.to_dd()).collect();
        let norms = (0..p)
            .map(|k| {
                (0..=k)
                    .fold(Dd::ZERO, |s, i| s + r[i * q + k] * r[i * q + k])
                    .sqrt()
                    .to_f64()
            })
            .collect();
        Triangle {
            p,
            q,
            r,
            rinv: Vec::new(),
            norms,
        }
    }

    /// `|R_kk| / |Z_k|` (0 for a zero column).
    fn ratio(&self, k: usize) -> f64 {
        let rkk = self.r[k * self.q + k].to_f64().abs();
        if self.norms[k] > 0.0 {
            rkk / self.norms[k]
        } else {
            0.0
        }
    }

    /// Solves `R[..k, ..k] x = rhs` by back substitution.
    fn back_substitute(&self, k: usize, mut x: Vec<Dd>) -> Vec<Dd> {
        for i in (0..k).rev() {
            let mut s = x[i];
            for l in i + 1..k {
                s = s - self.r[i * self.q + l] * x[l];
            }
            x[i] = s / self.r[i * self.q + i];
        }
        x
    }

    fn invert(&mut self) {
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
    fn dependency(&self, k: usize) -> RankDeficiency {
        let rhs = (0..k).map(|i| self.r[i * self.q + k]).collect();
        let w = self.back_substitute(k, rhs);
        let depends_on = (0..k)
            .filter(|&j| {
                let share = w[j].to_f64().abs() * self.norms[j];
                self.norms[k] > 0.0 && share > DEPENDENCY_SHARE * self.norms[k]
            })
            .collect();
        RankDeficiency {
            column: k,
            depends_on,
        }
    }

    /// 2-norm condition number of the unit-column-scaled design.
    fn scaled_condition(&self) -> f64 {
        let p = self.p;
        let ru: Vec<f64> = (0..p * p)
            .map(|i| self.r[(i / p) * self.q + i % p].to_f64() / self.norms[i % p])
            .collect();
        let ru_inv: Vec<f64> = (0..p * p)
            .map(|i| self.rinv[i].to_f64() * self.norms[i / p])
            .collect();
        largest_singular_value(p, &ru) * largest_singular_value(p, &ru_inv)
    }

    /// Coefficients `b = D^-1 R^-1 Q'y * 2^{e_y}` of the unscaled problem.
    fn coefficients(&self, d: &Design) -> Vec<Dd> {
        let qty = (0..self.p).map(|i| self.r[i * self.q + self.p]).collect();
        let c = self.back_substitute(self.p, qty);
        c.iter()
            .zip(&d.cols)
            .map(|(c, col)| {
                let e = d.y_exp - col.exp;
                Dd {
                    hi: ldexp(c.hi, e),
                    lo: ldexp(c.lo, e),
                }
            })
            .collect()
    }

    /// `(X'X)^-1 = (D^-1 R^-1)(D^-1 R^-1)'`, row-major, in double-double.
    fn covariance(&self, d: &Design) -> Vec<Dd> {
        let p = self.p;
        let mut cov = vec![Dd::ZERO; p * p];
        for i in 0..p {
            for j in i..p {
                let s = (j..p).fold(Dd::ZERO, |s, l| {
                    s + self.rinv[i * p + l] * self.rinv[j * p + l]
                });
                let e = -d.cols[i].exp - d.cols[j].exp;
                let v = Dd {
                    hi: ldexp(s.hi, e),
                    lo: ldexp(s.lo, e),
                };
                cov[i * p + j] = v;
                cov[j * p + i] = v;
            }
        }
        cov
    }

    /// 2-norm condition number of the unscaled X: `sigma_max(R D) * sigma_max(D^-1 R^-1)`.
    fn condition_number(&self, d: &Design) -> f64 {
        let p = self.p;
        let rx: Vec<f64> = (0..p * p)
            .map(|i| ldexp(self.r[(i / p) * self.q + i % p].to_f64(), d.cols[i % p].exp))
            .collect();
        let rx_inv: Vec<f64> = (0..p * p)
            .map(|i| ldexp(self.rinv[i].to_f64(), -d.cols[i / p].exp))
            .collect();
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

/// Residuals `y - X b` in double-double from the exact design values, with their sum of
/// squares and, when `gradient` is set, `X' r`.
fn residual_pass(d: &Design, b: &[Dd], gradient: bool) -> (Vec<f64>, Dd, Vec<Dd>) {
    let p = d.p();
    let mut residuals = vec![0.0; d.n];
    let chunk = |start: usize, out: &mut [f64]| {
        let mut rss = Dd::ZERO;
        let mut g = vec![Dd::ZERO; if gradient { p } else { 0 }];
        let mut x = vec![Dd::ZERO; p];
        for (i, out) in (start..).zip(out.iter_mut()) {
            let mut acc = Dd::from_f64(d.y[i]);
            for ((col, bj), xj) in d.cols.iter().zip(b).zip(x.iter_mut()) {
                acc = acc
                    - match col.power {
                        0 => *bj,
                        1 => bj.mul_f64(col.base[i]),
                        k => {
                            *xj = Dd::powi(col.base[i], k);
                            *xj * *bj
                        }
                    };
            }
            *out = acc.to_f64();
            rss += acc * acc;
            for ((gj, col), xj) in g.iter_mut().zip(&d.cols).zip(&x) {
                *gj += match col.power {
                    0 => acc,
                    1 => acc.mul_f64(col.base[i]),
                    _ => acc * *xj,
                };
            }
        }
        (rss, g)
    };
    let parts: Vec<(Dd, Vec<Dd>)> = if d.n <= CHUNK_ROWS {
        vec![chunk(0, &mut residuals)]
    } else {
        residuals
            .par_chunks_mut(CHUNK_ROWS)
            .enumerate()
            .map(|(c, out)| chunk(c * CHUNK_ROWS, out))
            .collect()
    };
    let mut rss = Dd::ZERO;
    let mut g = vec![Dd::ZERO; if gradient { p } else { 0 }];
    for (r, gp) in parts {
        rss += r;
        for (a, b) in g.iter_mut().zip(gp) {
            *a += b;
        }
    }
    (residuals, rss, g)
}

fn to_f64(v: &[Dd]) -> Vec<f64> {
    v.iter().map(|x| x.to_f64()).collect()
}

/// f64 factorisation; `None` when the scaled condition exceeds [`FAST_PATH_MAX_CONDITION`].
fn f64_path(d: &Design) -> Option<Solution> {
    let p = d.p();
    let mut tri = Triangle::new(&factor::<f64>(d), p);
    if (0..p).any(|k| !(tri.ratio(k) * FAST_PATH_MAX_CONDITION >= 1.0)) {
        return None; // kappa >= 1 / min ratio: certainly too large (or singular)
    }
    tri.invert();
    if !(tri.scaled_condition() <= FAST_PATH_MAX_CONDITION) {
        return None;
    }
    let b0 = tri.coefficients(d);
    let cov = tri.covariance(d);
    // One refinement step on the semi-normal equations: b += (R'R)^-1 X'r, X'r exact enough.
    let (_, _, g) = residual_pass(d, &b0, true);
    let b: Vec<Dd> = (0..p)
        .map(|i| b0[i] + (0..p).fold(Dd::ZERO, |s, j| s + cov[i * p + j] * g[j]))
        .collect();
    let (residuals, rss, _) = residual_pass(d, &b, false);
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
    if let Some(k) = (0..p).find(|&k| !(tri.ratio(k) >= RANK_TOLERANCE)) {
        return Err(tri.dependency(k));
    }
    tri.invert();
    let b = tri.coefficients(d);
    let (residuals, rss, _) = residual_pass(d, &b, false);
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
mod tests {
    use super::*;

    /// Deterministic uniform numbers in [0, 1) (64-bit LCG, top 53 bits).
    struct Lcg(u64);
    impl Lcg {
        fn next(&mut self) -> f64 {
            self.0 = self
                .0
                .wrapping_mul(6364136223846793005)
                .wrapping_add(1442695040888963407);
            (self.0 >> 11) as f64 / (1u64 << 53) as f64
        }
    }

    fn cols<'a>(spec: &[(&'a [f64], u32)]) -> Vec<DesignColumn<'a>> {
        spec.iter()
            .map(|&(base, power)| DesignColumn { base, power })
            .collect()
    }

    fn rel(a: f64, b: f64) -> f64 {
        if b == 0.0 {
            a.abs()
        } else {
            ((a - b) / b).abs()
        }
    }

    fn filip() -> Option<(Vec<f64>, Vec<f64>)> {
        let path = concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/../shared/reference/nist-strd/Filip.dat"
        );
        let text = std::fs::read_to_string(path).ok()?;
        let rows = text
            .lines()
            .skip(60)
            .map(|l| l.split_whitespace().map(|w| w.parse().unwrap()).collect());
        let (y, x): (Vec<f64>, Vec<f64>) = rows.map(|r: Vec<f64>| (r[0], r[1])).unzip();
        Some((x, y))
    }

    #[test]
    fn exact_quadratic_fit() {
        let x: Vec<f64> = (0..11).map(f64::from).collect();
        let y: Vec<f64> = x.iter().map(|x| 3.0 - 2.0 * x + 0.5 * x * x).collect();
        let s = least_squares(&cols(&[(&x, 0), (&x, 1), (&x, 2)]), &y).unwrap();
        assert_eq!(s.method, Method::DoubleDoubleQr);
        assert_eq!(s.coefficients, vec![3.0, -2.0, 0.5]);
        assert!(s.rss < 1e-50 && s.residuals.iter().all(|r| r.abs() < 1e-25));
    }

    #[test]
    fn straight_line_by_hand() {
        // xbar 2.5, ybar 4, Sxx 5, Sxy 7: slope 1.4, intercept 0.5, residuals .1 -.3 .3 -.1.
        let x = [1.0, 2.0, 3.0, 4.0];
        let y = [2.0, 3.0, 5.0, 6.0];
        let s = least_squares(&cols(&[(&x, 0), (&x, 1)]), &y).unwrap();
        let expect = |got: &[f64], want: &[f64]| {
            assert_eq!(got.len(), want.len());
            for (g, w) in got.iter().zip(want) {
                assert!(rel(*g, *w) < 1e-15, "{got:?} vs {want:?}");
            }
        };
        expect(&s.coefficients, &[0.5, 1.4]);
        expect(&s.residuals, &[0.1, -0.3, 0.3, -0.1]);
        expect(&[s.rss], &[0.2]);
        // X'X = [[4, 10], [10, 30]], determinant 20.
        expect(&s.cov_unscaled, &[1.5, -0.5, -0.5, 0.2]);
        // Eigenvalues of X'X: 17 +- sqrt(269), product 20: the ratio is (17 + sqrt(269))^2 / 20.
        let cond = (17.0 + 269f64.sqrt()) / 20f64.sqrt();
        assert!(rel(s.condition_number, cond) < 1e-14, "{}", s.condition_number);
    }

    #[test]
    fn collinear_columns_are_reported() {
        let rev: Vec<f64> = (1..=30).map(|i| f64::from(i * i % 37) + 0.5).collect();
        let ports: Vec<f64> = rev.iter().map(|r| 8.0 * r).collect();
        let services: Vec<f64> = rev.iter().map(|r| 2.0 * r).collect();
        let tenth: Vec<f64> = rev.iter().map(|r| 0.1 * r).collect();
        let other: Vec<f64> = (0..30).map(|i| f64::from(i % 7) * 1.3).collect();
        let sum: Vec<f64> = rev
            .iter()
            .zip(&other)
            .map(|(a, b)| 0.3 * a + b / 3.0)
            .collect();
        let constant = vec![4.2; 30];
        let zero = vec![0.0; 30];
        let y: Vec<f64> = rev.iter().map(|r| 100.0 + 3.0 * r).collect();
        let dep = |spec: &[(&[f64], u32)]| least_squares(&cols(spec), &y).unwrap_err();
        let rd = |column, depends_on: &[usize]| RankDeficiency {
            column,
            depends_on: depends_on.to_vec(),
        };
        assert_eq!(dep(&[(&rev, 0), (&rev, 1), (&ports, 1)]), rd(2, &[1]));
        assert_eq!(dep(&[(&rev, 0), (&services, 1), (&rev, 1)]), rd(2, &[1]));
        assert_eq!(dep(&[(&rev, 0), (&rev, 1), (&tenth, 1)]), rd(2, &[1]));
        assert_eq!(
            dep(&[(&rev, 0), (&rev, 1), (&other, 1), (&sum, 1)]),
            rd(3, &[1, 2])
        );
        assert_eq!(dep(&[(&rev, 1), (&rev, 0), (&constant, 1)]), rd(2, &[1]));
        assert_eq!(dep(&[(&rev, 0), (&rev, 0)]), rd(1, &[0]));
        assert_eq!(dep(&[(&rev, 0), (&zero, 1)]), rd(1, &[]));
        assert_eq!(dep(&[(&rev, 1), (&ports, 1)]), rd(1, &[0]));
        // Not collinear: a quadratic term, a predictor with a non-zero rounding-free offset.
        assert!(least_squares(&cols(&[(&rev, 0), (&rev, 1), (&rev, 2), (&other, 1)]), &y).is_ok());
    }

    #[test]
    fn filip_is_not_rank_deficient() {
        let Some((x, y)) = filip() else {
            return;
        };
        let design: Vec<DesignColumn> = (0..=10)
            .map(|k| DesignColumn { base: &x, power: k })
            .collect();
        let d = Design::new(&design, &y);
        let tri = Triangle::new(&factor::<Dd>(&d), d.p());
        let min = (0..d.p())
            .map(|k| tri.ratio(k))
            .fold(f64::INFINITY, f64::min);
        assert!(
            min > 100.0 * RANK_TOLERANCE,
            "smallest |R_kk|/|X_k| {min:e}"
        );
        let s = least_squares(&design, &y).unwrap();
        assert_eq!(s.method, Method::DoubleDoubleQr);
        // statsmodels reports about 1.8e15 for Filip's design.
        assert!(
            s.condition_number > 1e15 && s.condition_number < 3e15,
            "{}",
            s.condition_number
        );
    }

    /// Three uniform predictors plus intercept, noisy response (n * p = 240 000).
    fn random_problem(n: usize) -> (Vec<Vec<f64>>, Vec<f64>) {
        let mut g = Lcg(42);
        let x: Vec<Vec<f64>> = (0..3)
            .map(|j| (0..n).map(|_| 10.0 * g.next() + j as f64).collect())
            .collect();
        let y = (0..n)
            .map(|i| 5.0 + 2.0 * x[0][i] - 3.0 * x[1][i] + 0.25 * x[2][i] + g.next() - 0.5)
            .collect();
        (x, y)
    }

    #[test]
    fn f64_path_agrees_with_double_double() {
        let (x, y) = random_problem(60_000);
        let design = cols(&[(&x[0], 0), (&x[0], 1), (&x[1], 1), (&x[2], 1)]);
        let fast = least_squares(&design, &y).unwrap();
        assert_eq!(fast.method, Method::F64Qr);
        let exact = dd_path(&Design::new(&design, &y)).unwrap();
        let close = |a: &[f64], b: &[f64], tol: f64| {
            let worst = a
                .iter()
                .zip(b)
                .map(|(a, b)| rel(*a, *b))
                .fold(0.0, f64::max);
            assert!(worst < tol, "relative difference {worst:e}");
        };
        close(&fast.coefficients, &exact.coefficients, 1e-12);
        close(&fast.cov_unscaled, &exact.cov_unscaled, 1e-12);
        close(
            &[fast.rss, fast.condition_number],
            &[exact.rss, exact.condition_number],
            1e-12,
        );
        close(&fast.residuals, &exact.residuals, 1e-9);
    }

    #[test]
    fn large_ill_conditioned_problem_falls_back() {
        // x in [1000, 1001] with x and x^2: scaled condition about 1e7.
        let mut g = Lcg(7);
        let x: Vec<f64> = (0..70_000).map(|_| 1000.0 + g.next()).collect();
        let y: Vec<f64> = x.iter().map(|x| 1.0 + 1e-3 * x * x + g.next()).collect();
        let s = least_squares(&cols(&[(&x, 0), (&x, 1), (&x, 2)]), &y).unwrap();
        assert_eq!(s.method, Method::DoubleDoubleQr);
        let twice: Vec<f64> = x.iter().map(|x| 2.0 * x).collect();
        let e = least_squares(&cols(&[(&x, 0), (&x, 1), (&twice, 1)]), &y).unwrap_err();
        assert_eq!(
            e,
            RankDeficiency {
                column: 2,
                depends_on: vec![1]
            }
        );
    }

    #[test]
    #[ignore = "timing, run with --release -- --ignored --nocapture"]
    fn timing_million_rows() {
        let (x, y) = random_problem(1_000_000);
        let design = cols(&[(&x[0], 0), (&x[0], 1), (&x[1], 1), (&x[2], 1)]);
        for _ in 0..5 {
            let t = std::time::Instant::now();
            let s = least_squares(&design, &y).unwrap();
            println!("{:?} {:?} {:?}", t.elapsed(), s.method, s.coefficients);
        }
        let t = std::time::Instant::now();
        let d = Design::new(&design, &y);
        let _ = factor::<f64>(&d);
        println!("factor {:?}", t.elapsed());
        let t = std::time::Instant::now();
        let _ = residual_pass(&d, &[Dd::ONE; 4], true);
        println!("residual pass {:?}", t.elapsed());
        let t = std::time::Instant::now();
        let s = dd_path(&d).unwrap();
        println!("dd path {:?} {:?}", t.elapsed(), s.coefficients);
    }
}
