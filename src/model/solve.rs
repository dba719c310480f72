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

use nalgebra::{linalg::SVD, DMatrix};

use super::dd::Dd;
use kernels::{factor, residual_pass, update_pass, Real};

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
        let norms =
            (0..p).map(|k| (0..=k).fold(Dd::ZERO, |s, i| s + r[i * q + k] * r[i * q + k]).sqrt().to_f64()).collect();
        Triangle { p, q, r, rinv: Vec::new(), norms }
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
            let s = (i + 1..k).fold(x[i], |s, l| s - self.r[i * self.q + l] * x[l]);
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
        RankDeficiency { column: k, depends_on }
    }

    /// 2-norm condition number of the unit-column-scaled design.
    fn scaled_condition(&self) -> f64 {
        let p = self.p;
        let ru: Vec<f64> = (0..p * p).map(|i| self.r[(i / p) * self.q + i % p].to_f64() / self.norms[i % p]).collect();
        let ru_inv: Vec<f64> = (0..p * p).map(|i| self.rinv[i].to_f64() * self.norms[i / p]).collect();
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
                Dd { hi: ldexp(c.hi, e), lo: ldexp(c.lo, e) }
            })
            .collect()
    }

    /// `(X'X)^-1 = (D^-1 R^-1)(D^-1 R^-1)'`, row-major, in double-double.
    fn covariance(&self, d: &Design) -> Vec<Dd> {
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
    fn condition_number(&self, d: &Design) -> f64 {
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
mod tests {
    use super::*;

    /// Deterministic uniform numbers in [0, 1) (64-bit LCG, top 53 bits).
    struct Lcg(u64);
    impl Lcg {
        fn next(&mut self) -> f64 {
            self.0 = self.0.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407);
            (self.0 >> 11) as f64 / (1u64 << 53) as f64
        }
    }

    fn cols<'a>(spec: &[(&'a [f64], u32)]) -> Vec<DesignColumn<'a>> {
        spec.iter().map(|&(base, power)| DesignColumn { base, power }).collect()
    }

    fn rel(a: f64, b: f64) -> f64 {
        if b == 0.0 {
            a.abs()
        } else {
            ((a - b) / b).abs()
        }
    }

    fn filip() -> Option<(Vec<f64>, Vec<f64>)> {
        let path = concat!(env!("CARGO_MANIFEST_DIR"), "/../shared/reference/nist-strd/Filip.dat");
        let text = std::fs::read_to_string(path).ok()?;
        let rows = text.lines().skip(60).map(|l| l.split_whitespace().map(|w| w.parse().unwrap()).collect());
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
        let s = least_squares(&cols(&[(&[], 0), (&x, 1)]), &y).unwrap();
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
        let sum: Vec<f64> = rev.iter().zip(&other).map(|(a, b)| 0.3 * a + b / 3.0).collect();
        let constant = vec![4.2; 30];
        let zero = vec![0.0; 30];
        let y: Vec<f64> = rev.iter().map(|r| 100.0 + 3.0 * r).collect();
        let dep = |spec: &[(&[f64], u32)]| least_squares(&cols(spec), &y).unwrap_err();
        let rd = |column, depends_on: &[usize]| RankDeficiency { column, depends_on: depends_on.to_vec() };
        assert_eq!(dep(&[(&rev, 0), (&rev, 1), (&ports, 1)]), rd(2, &[1]));
        assert_eq!(dep(&[(&rev, 0), (&services, 1), (&rev, 1)]), rd(2, &[1]));
        assert_eq!(dep(&[(&rev, 0), (&rev, 1), (&tenth, 1)]), rd(2, &[1]));
        assert_eq!(dep(&[(&rev, 0), (&rev, 1), (&other, 1), (&sum, 1)]), rd(3, &[1, 2]));
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
        let design: Vec<DesignColumn> = (0..=10).map(|k| DesignColumn { base: &x, power: k }).collect();
        let d = Design::new(&design, &y);
        let tri = Triangle::new(&factor::<Dd>(&d), d.p());
        let ratios: Vec<f64> = (0..d.p()).map(|k| tri.ratio(k)).collect();
        let min = ratios.iter().fold(f64::INFINITY, |a, &b| a.min(b));
        println!("Filip: |R_kk| / |X_k| = {ratios:?}; smallest {min:.2e}");
        assert!(min > 100.0 * RANK_TOLERANCE, "smallest |R_kk|/|X_k| {min:e}");
        let s = least_squares(&design, &y).unwrap();
        assert_eq!(s.method, Method::DoubleDoubleQr);
        // statsmodels reports about 1.8e15 for Filip's design.
        assert!(s.condition_number > 1e15 && s.condition_number < 3e15, "{}", s.condition_number);
        println!("Filip: condition number {:e}, scaled {:e}", s.condition_number, {
            let mut t = tri;
            t.invert();
            t.scaled_condition()
        });
    }

    /// Three uniform predictors plus intercept, noisy response (n * p = 240 000).
    fn random_problem(n: usize) -> (Vec<Vec<f64>>, Vec<f64>) {
        let mut g = Lcg(42);
        let x: Vec<Vec<f64>> = (0..3).map(|j| (0..n).map(|_| 10.0 * g.next() + j as f64).collect()).collect();
        let y = (0..n).map(|i| 5.0 + 2.0 * x[0][i] - 3.0 * x[1][i] + 0.25 * x[2][i] + g.next() - 0.5).collect();
        (x, y)
    }

    #[test]
    fn f64_path_agrees_with_double_double() {
        let (x, y) = random_problem(60_000);
        let design = cols(&[(&[], 0), (&x[0], 1), (&x[1], 1), (&x[2], 1)]);
        let fast = least_squares(&design, &y).unwrap();
        assert_eq!(fast.method, Method::F64Qr);
        let exact = dd_path(&Design::new(&design, &y)).unwrap();
        let close = |a: &[f64], b: &[f64], tol: f64| {
            let worst = a.iter().zip(b).map(|(a, b)| rel(*a, *b)).fold(0.0, f64::max);
            assert!(worst < tol, "relative difference {worst:e}");
        };
        close(&fast.coefficients, &exact.coefficients, 1e-12);
        close(&fast.cov_unscaled, &exact.cov_unscaled, 1e-12);
        close(&[fast.rss, fast.condition_number], &[exact.rss, exact.condition_number], 1e-12);
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
        assert_eq!(e, RankDeficiency { column: 2, depends_on: vec![1] });
    }
}
