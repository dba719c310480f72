//! Double-double arithmetic: an unevaluated sum `hi + lo` of two f64 values, about 106 bits
//! (32 decimal digits) of significand.
//!
//! It exists for accuracy on ill-conditioned designs. A least-squares solve loses roughly
//! `log10(condition number)` digits; NIST's Filip (degree-10 polynomial, condition number about
//! 1.8e15) leaves f64 Householder QR with 7 or 8 correct digits, while the same QR carried in
//! double-double keeps more than 15. The solver also uses it for polynomial terms (`x^10` is
//! formed exactly to ~32 digits instead of being rounded to f64), for residuals `y - Xb` (which
//! cancel heavily when a fit is close to exact) and for sums of squares.
//!
//! The algorithms are the error-free transformations of Knuth (two_sum), Dekker and an FMA
//! (two_prod), with the accurate double-word sum and product of Joldes, Muller and Popescu
//! ("Tight and rigorous error bounds for basic building blocks of double-word arithmetic",
//! ACM TOMS 2017); relative errors are a few units of 2^-106.

use std::ops::{Add, AddAssign, Div, Mul, MulAssign, Neg, Sub, SubAssign};

/// A double-double number `hi + lo` with `|lo| <= ulp(hi) / 2` (normalised).
#[derive(Debug, Clone, Copy, PartialEq, Default)]
pub struct Dd {
    /// Leading part: the value rounded to f64.
    pub hi: f64,
    /// Trailing part: what `hi` misses.
    pub lo: f64,
}

/// `a + b` exactly as `s + e` when `|a| >= |b|` (or either is zero).
#[inline(always)]
fn fast_two_sum(a: f64, b: f64) -> Dd {
    let s = a + b;
    let e = b - (s - a);
    Dd { hi: s, lo: e }
}

impl Dd {
    /// Zero.
    pub const ZERO: Dd = Dd { hi: 0.0, lo: 0.0 };
    /// One.
    pub const ONE: Dd = Dd { hi: 1.0, lo: 0.0 };

    /// The exact value of an f64.
    #[inline(always)]
    pub const fn from_f64(x: f64) -> Dd {
        Dd { hi: x, lo: 0.0 }
    }

    /// Rounded to the nearest f64 (the leading part of a normalised value).
    #[inline(always)]
    pub fn to_f64(self) -> f64 {
        self.hi + self.lo
    }

    /// Knuth's error-free sum: `a + b == s + e` exactly, `s = fl(a + b)`.
    #[inline(always)]
    pub fn two_sum(a: f64, b: f64) -> Dd {
        let s = a + b;
        let bb = s - a;
        let e = (a - (s - bb)) + (b - bb);
        Dd { hi: s, lo: e }
    }

    /// Error-free product with a fused multiply-add: `a * b == p + e` exactly, `p = fl(a * b)`
    /// (barring underflow). `f64::mul_add` is correctly rounded on every platform.
    #[inline(always)]
    pub fn two_prod(a: f64, b: f64) -> Dd {
        let p = a * b;
        let e = a.mul_add(b, -p);
        Dd { hi: p, lo: e }
    }

    /// Product with an f64 (error at most 2 units of 2^-106).
    #[inline(always)]
    pub fn mul_f64(self, b: f64) -> Dd {
        let p = Dd::two_prod(self.hi, b);
        let lo = self.lo.mul_add(b, p.lo);
        fast_two_sum(p.hi, lo)
    }

    /// Sum with an f64 (error at most 2 units of 2^-106).
    #[inline(always)]
    pub fn add_f64(self, b: f64) -> Dd {
        let s = Dd::two_sum(self.hi, b);
        let v = self.lo + s.lo;
        fast_two_sum(s.hi, v)
    }

    /// Square root, correct to about 2^-104 relative; NaN for negative input.
    pub fn sqrt(self) -> Dd {
        if self.hi <= 0.0 {
            return if self.hi == 0.0 { Dd::ZERO } else { Dd::from_f64(f64::NAN) };
        }
        // One Newton step from the f64 root doubles the correct bits.
        let s = self.hi.sqrt();
        let sq = Dd::two_prod(s, s);
        let e = ((self.hi - sq.hi) - sq.lo + self.lo) / (2.0 * s);
        fast_two_sum(s, e)
    }

    /// Absolute value.
    #[inline(always)]
    pub fn abs(self) -> Dd {
        if self.hi < 0.0 {
            -self
        } else {
            self
        }
    }

    /// `x^k` carried in double-double from the exact f64 `x` (binary powering; relative error
    /// about `2 log2(k)` units of 2^-106).
    #[inline(always)]
    pub fn powi(x: f64, k: u32) -> Dd {
        let mut result = Dd::ONE;
        let mut base = Dd::from_f64(x);
        let mut k = k;
        while k > 0 {
            if k & 1 == 1 {
                result *= base;
            }
            k >>= 1;
            if k > 0 {
                base = base * base;
            }
        }
        result
    }
}

impl From<f64> for Dd {
    #[inline(always)]
    fn from(x: f64) -> Dd {
        Dd::from_f64(x)
    }
}

impl From<Dd> for f64 {
    #[inline(always)]
    fn from(x: Dd) -> f64 {
        x.to_f64()
    }
}

impl Neg for Dd {
    type Output = Dd;
    #[inline(always)]
    fn neg(self) -> Dd {
        Dd { hi: -self.hi, lo: -self.lo }
    }
}

impl Add for Dd {
    type Output = Dd;
    /// Accurate double-word sum (error at most 3 units of 2^-106).
    #[inline(always)]
    fn add(self, b: Dd) -> Dd {
        let s = Dd::two_sum(self.hi, b.hi);
        let t = Dd::two_sum(self.lo, b.lo);
        let c = s.lo + t.hi;
        let v = fast_two_sum(s.hi, c);
        let w = t.lo + v.lo;
        fast_two_sum(v.hi, w)
    }
}

impl Sub for Dd {
    type Output = Dd;
    #[inline(always)]
    fn sub(self, b: Dd) -> Dd {
        self + (-b)
    }
}

impl Mul for Dd {
    type Output = Dd;
    /// Double-word product with FMAs (error at most 4 units of 2^-106).
    #[inline(always)]
    fn mul(self, b: Dd) -> Dd {
        let c = Dd::two_prod(self.hi, b.hi);
        let tl0 = self.lo * b.lo;
        let tl1 = self.hi.mul_add(b.lo, tl0);
        let cl2 = self.lo.mul_add(b.hi, tl1);
        let cl3 = c.lo + cl2;
        fast_two_sum(c.hi, cl3)
    }
}

impl Div for Dd {
    type Output = Dd;
    /// Long division with three f64 quotient digits (error a few units of 2^-106).
    fn div(self, b: Dd) -> Dd {
        let q1 = self.hi / b.hi;
        let r = self - b.mul_f64(q1);
        let q2 = r.hi / b.hi;
        let r = r - b.mul_f64(q2);
        let q3 = r.hi / b.hi;
        fast_two_sum(q1, q2).add_f64(q3)
    }
}

impl AddAssign for Dd {
    #[inline(always)]
    fn add_assign(&mut self, b: Dd) {
        *self = *self + b;
    }
}

impl SubAssign for Dd {
    #[inline(always)]
    fn sub_assign(&mut self, b: Dd) {
        *self = *self - b;
    }
}

impl MulAssign for Dd {
    #[inline(always)]
    fn mul_assign(&mut self, b: Dd) {
        *self = *self * b;
    }
}

/// Sum of squared deviations from the mean, `sum (x - mean)^2`, accumulated in double-double
/// (the total sum of squares behind a centred R-squared). 0 for an empty slice.
pub fn sum_sq_dev(values: &[f64]) -> f64 {
    if values.is_empty() {
        return 0.0;
    }
    let sum = values.iter().fold(Dd::ZERO, |acc, &v| acc.add_f64(v));
    let mean = sum / Dd::from_f64(values.len() as f64);
    values
        .iter()
        .fold(Dd::ZERO, |acc, &v| {
            let d = Dd::from_f64(v) - mean;
            acc + d * d
        })
        .to_f64()
}

/// Uncentred sum of squares, `sum x^2`, accumulated in double-double (the total sum of
/// squares behind R-squared for a model without intercept).
pub fn sum_sq(values: &[f64]) -> f64 {
    values.iter().fold(Dd::ZERO, |acc, &v| acc + Dd::two_prod(v, v)).to_f64()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn close(a: Dd, b: Dd, tol: f64) -> bool {
        let d = (a - b).to_f64().abs();
        d <= tol * b.to_f64().abs().max(f64::MIN_POSITIVE)
    }

    #[test]
    fn tiny_increment_survives_cancellation() {
        let eps = 2f64.powi(-60);
        let x = Dd::from(1.0) + Dd::from(eps);
        assert_eq!(x.hi, 1.0);
        assert_eq!(x.lo, eps);
        let back = x - Dd::ONE;
        assert_eq!(back.to_f64(), eps);
    }

    #[test]
    fn error_free_transformations_are_exact() {
        let s = Dd::two_sum(1e16, 1.0 + 2f64.powi(-40));
        // 1e16 + 1 + 2^-40 lies just above the tie between 1e16 and 1e16 + 2.
        assert_eq!(s.hi, 1e16 + 2.0);
        assert_eq!(s.lo, -1.0 + 2f64.powi(-40));
        let a = 1.0 + 2f64.powi(-30);
        let p = Dd::two_prod(a, a);
        assert_eq!(p.hi, 1.0 + 2f64.powi(-29));
        assert_eq!(p.lo, 2f64.powi(-60));
    }

    #[test]
    fn sqrt_two_squared_is_two() {
        let r = Dd::from(2.0).sqrt();
        let sq = r * r;
        assert!((sq - Dd::from(2.0)).to_f64().abs() < 1e-31, "{sq:?}");
        assert_eq!(Dd::ZERO.sqrt(), Dd::ZERO);
        assert!(Dd::from(-1.0).sqrt().hi.is_nan());
    }

    #[test]
    fn division_round_trips() {
        let a = Dd::from(1.0) / Dd::from(3.0);
        assert!(close(a * Dd::from(3.0), Dd::ONE, 1e-31));
        let x = Dd::from(std::f64::consts::PI) + Dd::from(1e-20);
        let y = Dd::from(-7.25) + Dd::from(3e-18);
        assert!(close((x / y) * y, x, 1e-31));
        assert!(close((x * y) / y, x, 1e-31));
    }

    #[test]
    fn powers_are_exact_beyond_f64() {
        // 3^40 = 12157665459056928801 needs 64 bits: f64 rounds it, double-double does not.
        let p = Dd::powi(3.0, 40);
        assert_eq!(p.hi, 12157665459056928801u64 as f64);
        assert_eq!(p.hi as u128 as i128 + p.lo as i128, 12157665459056928801i128);
        assert_eq!(Dd::powi(-2.0, 3).to_f64(), -8.0);
        assert_eq!(Dd::powi(5.0, 0), Dd::ONE);
    }

    #[test]
    fn sums_of_squares() {
        // Large offset: a naive f64 one-pass formula loses everything here.
        let v = [1e9 + 4.0, 1e9 + 7.0, 1e9 + 13.0, 1e9 + 16.0];
        assert_eq!(sum_sq_dev(&v), 90.0);
        assert_eq!(sum_sq_dev(&[]), 0.0);
        assert_eq!(sum_sq(&[3.0, 4.0]), 25.0);
        assert_eq!(sum_sq(&[1e8 + 1.0]), 1e16 + 2e8 + 1.0);
    }

    #[test]
    fn conversions_and_sign() {
        let x: Dd = 2.5.into();
        let y: f64 = (-x).into();
        assert_eq!(y, -2.5);
        assert_eq!((-x).abs(), x);
        let mut z = x;
        z += Dd::ONE;
        z -= Dd::from(0.5);
        z *= Dd::from(2.0);
        assert_eq!(z.to_f64(), 6.0);
    }
}
