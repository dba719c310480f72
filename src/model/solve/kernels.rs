//! Row-streaming kernels of the solver: the blocked Householder reduction of `[Z | y]` and the
//! compensated residual passes, each reading the data once.
//!
//! The residual passes form `y - X b` with error-free products (FMA, or Dekker's splitting
//! where no FMA exists) and compensated sums (Ogita, Rump and Oishi's Dot2), which is as
//! accurate as double-double at a fraction of its cost: the result is the residual to about
//! one unit in its last place plus `(p u)^2` of the terms, whatever the cancellation. The loops
//! run over blocks of rows held in small arrays, so they vectorise. On x86_64 every kernel is
//! also compiled for AVX2+FMA and picked at run time when the CPU has it (the default target
//! has neither, and `f64::mul_add` would otherwise be a libm call).

use std::ops::{Add, Div, Mul, Neg, Range, Sub};

use rayon::prelude::*;

use super::Design;
use crate::model::dd::Dd;

/// Rows reduced per Householder step (the block, `p + 1` columns of it, stays in L1 cache).
const BLOCK_ROWS: usize = 128;

/// Rows per independently processed chunk; chunks run in parallel and are combined in chunk
/// order, so results do not depend on the number of threads.
const CHUNK_ROWS: usize = 1 << 15;

/// Arithmetic the factorisation is generic over (f64 for speed, [`Dd`] for accuracy).
pub(super) trait Real:
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
    /// `x^k` for the already scaled `x` (k >= 2 formed in double-double).
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
    #[inline(always)]
    fn sqrt(self) -> f64 {
        f64::sqrt(self)
    }
    #[inline(always)]
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
    #[inline(always)]
    fn sqrt(self) -> Dd {
        Dd::sqrt(self)
    }
    #[inline(always)]
    fn to_dd(self) -> Dd {
        self
    }
}

/// True when the AVX2+FMA builds of the kernels may run.
#[cfg(target_arch = "x86_64")]
fn avx2_fma() -> bool {
    !cfg!(target_feature = "fma") && is_x86_feature_detected!("avx2") && is_x86_feature_detected!("fma")
}

/// Evaluates `$fast` (a call of a kernel's AVX2+FMA build) when the CPU allows, else
/// `$generic` (the same kernel as compiled for the target).
macro_rules! dispatch {
    ($fast:expr, $generic:expr) => {{
        #[cfg(target_arch = "x86_64")]
        if avx2_fma() {
            // SAFETY: the kernel builds only enable avx2 and fma, detected at run time above.
            return unsafe { $fast };
        }
        $generic
    }};
}

/// Factors `[Z | y_z]` and returns the (p+1) x (p+1) row-major triangle `[R | Q'y]` (its last
/// row is unused).
pub(super) fn factor<T: Real>(d: &Design) -> Vec<T> {
    let q = d.p() + 1;
    let chunk = |rows: Range<usize>| {
        let mut r = vec![T::ZERO; q * q];
        absorb(d, rows, &mut r);
        r
    };
    if d.n <= CHUNK_ROWS {
        return chunk(0..d.n);
    }
    let parts: Vec<Vec<T>> = (0..d.n.div_ceil(CHUNK_ROWS))
        .into_par_iter()
        .map(|c| chunk(c * CHUNK_ROWS..d.n.min((c + 1) * CHUNK_ROWS)))
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

fn absorb<T: Real>(d: &Design, rows: Range<usize>, r: &mut [T]) {
    #[cfg(target_arch = "x86_64")]
    #[target_feature(enable = "avx2,fma")]
    fn fast<T: Real>(d: &Design, rows: Range<usize>, r: &mut [T]) {
        absorb_rows(d, rows, r)
    }
    dispatch!(fast(d, rows.clone(), r), absorb_rows(d, rows, r))
}

/// Reduces the given rows of the design into the running triangle `r`.
#[inline(always)]
fn absorb_rows<T: Real>(d: &Design, rows: Range<usize>, r: &mut [T]) {
    let (p, q) = (d.p(), d.p() + 1);
    let mut block = vec![T::ZERO; BLOCK_ROWS * q];
    for start in rows.clone().step_by(BLOCK_ROWS) {
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
        let dst = &mut block[p * BLOCK_ROWS..p * BLOCK_ROWS + m];
        for (z, &v) in dst.iter_mut().zip(&d.y[start..end]) {
            *z = T::power(v * d.y_mult, 1);
        }
        reduce_block(r, q, &mut block, BLOCK_ROWS, m);
    }
}

/// Householder reduction of `[r; block]` to upper-triangular form, written back into `r`.
/// `block` is column-major with column stride `stride` and `m` live rows; it is clobbered.
#[inline(always)]
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

/// `a + b = s + e` exactly.
#[inline(always)]
fn two_sum(a: f64, b: f64) -> (f64, f64) {
    let s = a + b;
    let bb = s - a;
    (s, (a - (s - bb)) + (b - bb))
}

/// `a * b = p + e` exactly: one FMA in a build with FMA (`FMA`, or the target has it), else
/// Dekker's splitting (exact for |a|, |b| below 2^995).
#[inline(always)]
fn two_prod<const FMA: bool>(a: f64, b: f64) -> (f64, f64) {
    let p = a * b;
    if FMA || cfg!(any(target_feature = "fma", target_arch = "aarch64")) {
        return (p, a.mul_add(b, -p));
    }
    let split = |x: f64| {
        let c = 134_217_729.0 * x;
        let h = c - (c - x);
        (h, x - h)
    };
    let ((ah, al), (bh, bl)) = (split(a), split(b));
    (p, ((ah * bh - p) + ah * bl + al * bh) + al * bl)
}

/// Lane-wise compensated sums (one lane per row of a block), reduced in double-double.
struct Lanes {
    hi: Vec<f64>,
    lo: Vec<f64>,
}

impl Lanes {
    fn new(n: usize) -> Lanes {
        Lanes { hi: vec![0.0; n], lo: vec![0.0; n] }
    }

    fn total(&self) -> Dd {
        self.hi.iter().zip(&self.lo).fold(Dd::ZERO, |s, (&h, &l)| s + Dd::two_sum(h, l))
    }
}

/// What a residual pass produces besides the residuals.
pub(super) struct Sums {
    /// Residual sum of squares.
    pub rss: Dd,
    /// `X' r` (empty unless asked for).
    pub gradient: Vec<Dd>,
}

/// Residuals `y - X b` from the exact design values (written to the returned vector, rounded
/// to f64), their sum of squares and, when `gradient` is set, `X' r`, all to about
/// double-double accuracy (`b` may carry a low part).
pub(super) fn residual_pass(d: &Design, b: &[Dd], gradient: bool) -> (Vec<f64>, Sums) {
    let mut residuals = vec![0.0; d.n];
    let parts = for_chunks(d.n, &mut residuals, |rows, out| residual_chunk(d, b, gradient, rows, out));
    let mut sums = Sums { rss: Dd::ZERO, gradient: vec![Dd::ZERO; if gradient { d.p() } else { 0 }] };
    for part in parts {
        sums.rss += part.rss;
        for (a, b) in sums.gradient.iter_mut().zip(part.gradient) {
            *a += b;
        }
    }
    (residuals, sums)
}

/// Replaces `r` by `r - X db` (a small correction, in f64) and returns the new sum of squares,
/// accumulated in double-double.
pub(super) fn update_pass(d: &Design, db: &[f64], residuals: &mut [f64]) -> Dd {
    let parts = for_chunks(d.n, residuals, |rows, out| update_chunk(d, db, rows, out));
    parts.into_iter().fold(Dd::ZERO, |s, v| s + v)
}

/// Runs `f` on chunks of rows and their slice of `out`, in parallel when there are several.
fn for_chunks<R: Send>(n: usize, out: &mut [f64], f: impl Fn(Range<usize>, &mut [f64]) -> R + Sync) -> Vec<R> {
    if n <= CHUNK_ROWS {
        return vec![f(0..n, out)];
    }
    out.par_chunks_mut(CHUNK_ROWS).enumerate().map(|(c, o)| f(c * CHUNK_ROWS..c * CHUNK_ROWS + o.len(), o)).collect()
}

fn residual_chunk(d: &Design, b: &[Dd], gradient: bool, rows: Range<usize>, out: &mut [f64]) -> Sums {
    #[cfg(target_arch = "x86_64")]
    #[target_feature(enable = "avx2,fma")]
    fn fast(d: &Design, b: &[Dd], gradient: bool, rows: Range<usize>, out: &mut [f64]) -> Sums {
        residual_rows::<true>(d, b, gradient, rows, out)
    }
    dispatch!(fast(d, b, gradient, rows.clone(), out), residual_rows::<false>(d, b, gradient, rows, out))
}

fn update_chunk(d: &Design, db: &[f64], rows: Range<usize>, out: &mut [f64]) -> Dd {
    #[cfg(target_arch = "x86_64")]
    #[target_feature(enable = "avx2,fma")]
    fn fast(d: &Design, db: &[f64], rows: Range<usize>, out: &mut [f64]) -> Dd {
        update_rows::<true>(d, db, rows, out)
    }
    dispatch!(fast(d, db, rows.clone(), out), update_rows::<false>(d, db, rows, out))
}

/// Loads the unscaled design values of rows `start..end` as `xh + xl` (the low part is
/// non-zero only for powers of 2 and up, which are formed in double-double).
#[inline(always)]
fn load_block(d: &Design, start: usize, end: usize, xh: &mut [f64], xl: &mut [f64]) {
    let m = end - start;
    for (j, col) in d.cols.iter().enumerate() {
        let (h, l) = (&mut xh[j * BLOCK_ROWS..j * BLOCK_ROWS + m], &mut xl[j * BLOCK_ROWS..j * BLOCK_ROWS + m]);
        match col.power {
            0 => h.fill(1.0),
            1 => h.copy_from_slice(&col.base[start..end]),
            k => {
                for ((h, l), &x) in h.iter_mut().zip(l.iter_mut()).zip(&col.base[start..end]) {
                    let v = Dd::powi(x, k);
                    (*h, *l) = (v.hi, v.lo);
                }
            }
        }
    }
}

#[inline(always)]
fn residual_rows<const FMA: bool>(d: &Design, b: &[Dd], gradient: bool, rows: Range<usize>, out: &mut [f64]) -> Sums {
    const B: usize = BLOCK_ROWS;
    let p = d.p();
    let (mut xh, mut xl) = (vec![0.0; p * B], vec![0.0; p * B]);
    let (mut s, mut c) = ([0.0; B], [0.0; B]);
    let mut rss = Lanes::new(B);
    let mut grad: Vec<Lanes> = (0..if gradient { p } else { 0 }).map(|_| Lanes::new(B)).collect();
    for (start, out) in rows.clone().step_by(B).zip(out.chunks_mut(B)) {
        let end = start + out.len();
        let m = out.len();
        load_block(d, start, end, &mut xh, &mut xl);
        // Dot2: s accumulates y - sum x b in f64, c the exact rounding errors.
        s[..m].copy_from_slice(&d.y[start..end]);
        c[..m].fill(0.0);
        for (j, bj) in b.iter().enumerate() {
            let (xh, xl) = (&xh[j * B..j * B + m], &xl[j * B..j * B + m]);
            for (((s, c), &xh), &xl) in s.iter_mut().zip(c.iter_mut()).zip(xh).zip(xl) {
                let (ph, pl) = two_prod::<FMA>(xh, bj.hi);
                let pl = pl + (xh * bj.lo + xl * bj.hi);
                let (t, e) = two_sum(*s, -ph);
                *s = t;
                *c += e - pl;
            }
        }
        // r = s + c exactly as (s, c) after renormalisation; squares into the RSS lanes.
        for ((((s, c), o), qh), ql) in
            s.iter_mut().zip(c.iter_mut()).zip(out.iter_mut()).zip(&mut rss.hi).zip(&mut rss.lo)
        {
            let (h, l) = two_sum(*s, *c);
            (*s, *c, *o) = (h, l, h);
            let (ph, pl) = two_prod::<FMA>(h, h);
            let (t, e) = two_sum(*qh, ph);
            *qh = t;
            *ql += e + (pl + 2.0 * h * l);
        }
        for (j, g) in grad.iter_mut().enumerate() {
            let (xh, xl) = (&xh[j * B..j * B + m], &xl[j * B..j * B + m]);
            for (((((gh, gl), &xh), &xl), &rh), &rl) in g.hi.iter_mut().zip(&mut g.lo).zip(xh).zip(xl).zip(&s).zip(&c) {
                let (ph, pl) = two_prod::<FMA>(xh, rh);
                let (t, e) = two_sum(*gh, ph);
                *gh = t;
                *gl += e + (pl + (xh * rl + xl * rh));
            }
        }
    }
    Sums { rss: rss.total(), gradient: grad.iter().map(Lanes::total).collect() }
}

#[inline(always)]
fn update_rows<const FMA: bool>(d: &Design, db: &[f64], rows: Range<usize>, out: &mut [f64]) -> Dd {
    const B: usize = BLOCK_ROWS;
    let p = d.p();
    let (mut xh, mut xl) = (vec![0.0; p * B], vec![0.0; p * B]);
    let mut rss = Lanes::new(B);
    for (start, out) in rows.clone().step_by(B).zip(out.chunks_mut(B)) {
        let m = out.len();
        load_block(d, start, start + m, &mut xh, &mut xl);
        for (j, &dbj) in db.iter().enumerate() {
            for (r, &x) in out.iter_mut().zip(&xh[j * B..j * B + m]) {
                *r -= x * dbj;
            }
        }
        for ((&r, qh), ql) in out.iter().zip(&mut rss.hi).zip(&mut rss.lo) {
            let (ph, pl) = two_prod::<FMA>(r, r);
            let (t, e) = two_sum(*qh, ph);
            *qh = t;
            *ql += e + pl;
        }
    }
    rss.total()
}

#[cfg(test)]
mod tests {
    use super::super::{Design, DesignColumn};
    use super::*;

    #[test]
    fn dekker_product_is_exact() {
        for (a, b) in [(0.1, 0.3), (1.0 + 2f64.powi(-30), 1.0 - 2f64.powi(-29)), (-3.7e100, 2.9e-50)] {
            let (p, e) = two_prod::<false>(a, b);
            let (pf, ef) = two_prod::<true>(a, b);
            assert_eq!((p, e), (pf, ef));
        }
    }

    /// The portable build (Dekker products) and the dispatched build give identical bits.
    #[test]
    fn portable_and_dispatched_kernels_agree() {
        let n = 1000;
        let x: Vec<f64> = (0..n).map(|i| ((i * 7919) % 1000) as f64 / 37.0 - 11.0).collect();
        let y: Vec<f64> = x.iter().map(|v| 1.0 / 3.0 + v * 0.7 - v * v * v * 1e-3).collect();
        let columns: Vec<DesignColumn> = (0..4).map(|k| DesignColumn { base: &x, power: k }).collect();
        let d = Design::new(&columns, &y);
        let b = [Dd::from(0.3), Dd::from(0.7) + Dd::from(1e-20), Dd::from(-1e-4), Dd::from(-1e-3)];
        let (mut r1, mut r2) = (vec![0.0; n], vec![0.0; n]);
        let s1 = residual_rows::<false>(&d, &b, true, 0..n, &mut r1);
        let s2 = residual_chunk(&d, &b, true, 0..n, &mut r2);
        assert_eq!((r1.clone(), s1.rss, s1.gradient), (r2.clone(), s2.rss, s2.gradient));
        let u1 = update_rows::<false>(&d, &[1e-9, -2e-9, 0.0, 1e-12], 0..n, &mut r1);
        let u2 = update_chunk(&d, &[1e-9, -2e-9, 0.0, 1e-12], 0..n, &mut r2);
        assert_eq!((r1, u1), (r2, u2));
        let q = 5;
        let (mut t1, mut t2) = (vec![0.0f64; q * q], vec![0.0f64; q * q]);
        absorb_rows(&d, 0..n, &mut t1);
        absorb(&d, 0..n, &mut t2);
        assert_eq!(t1, t2);
    }
}
