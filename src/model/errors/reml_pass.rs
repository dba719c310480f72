//! The two passes over the levels behind [`super::reml::evaluate`], in fixed chunks of levels
//! run in parallel.
//!
//! A fleet has 10^5-10^6 levels and REML evaluates its criterion a hundred times or more, so
//! these loops were a third of `fleet`'s time at 10^4 proxies, on one core. The chunks are
//! fixed ranges of level indexes (never one per thread), each summed in level order, and the
//! chunks' sums added in chunk order: the same bits at any thread count. Per-group sums go
//! through runs (consecutive levels of one group summed within the chunk, each run then added
//! to its group in order), so with one chunk, as in every reference test, and groups in runs,
//! as every import writes them, the result is the sequential loop's, bit for bit.

use rayon::prelude::*;

use super::levels::Levels;
use super::theta::{deviation_form, effective_n, Theta};

/// Levels per chunk.
const CHUNK: usize = 16_384;

/// What a level's terms need of its reading count `n`, by count: a fleet has 10^5 levels and
/// few distinct counts, so every division and logarithm is taken once per count, not per
/// level (the passes are bound by them).
#[derive(Clone, Copy)]
pub(super) struct Count {
    /// Effective size `1'R^-1 1`.
    pub ne: f64,
    /// The level mean's weight `ne / (1 + gamma_b ne)`.
    pub w: f64,
    /// `ln(1 + gamma_b ne)`.
    pub ln_b: f64,
    /// The AR(1)-weighted mean's shift per unit of `d_1 + d_n`: `rho / ((1 + rho) ne)`.
    pub shift: f64,
    /// `gamma_b / (1 + gamma_b ne)`.
    pub gw: f64,
}

/// [`Count`] at one theta for every count the levels have.
pub(super) struct PerN {
    table: Vec<Count>,
    rho: f64,
    gamma_b: f64,
}

/// The distinct reading counts of the levels (up to 2^16), found with one pass over them.
pub(super) fn counts(levels: &Levels) -> Vec<usize> {
    let max = levels.levels.iter().map(|l| l.n).max().unwrap_or(0).min(1 << 16);
    let mut seen = vec![false; max + 1];
    for l in &levels.levels {
        if l.n <= max {
            seen[l.n] = true;
        }
    }
    (0..=max).filter(|&n| seen[n]).collect()
}

impl PerN {
    /// The table at `theta` for the `counts` the levels have ([`counts`]).
    pub(super) fn new(counts: &[usize], theta: Theta) -> PerN {
        let max = counts.last().copied().unwrap_or(0);
        let none = Count { ne: f64::NAN, w: 0.0, ln_b: 0.0, shift: 0.0, gw: 0.0 };
        let mut out = PerN { table: vec![none; max + 1], rho: theta.rho, gamma_b: theta.gamma_b };
        for &n in counts {
            out.table[n] = out.compute(n);
        }
        out
    }

    fn compute(&self, n: usize) -> Count {
        let (rho, gamma_b) = (self.rho, self.gamma_b);
        let ne = effective_n(n, rho);
        let ln_b = if gamma_b > 0.0 { gamma_b.mul_add(ne, 1.0).ln() } else { 0.0 };
        let shift = if n <= 1 { 0.0 } else { rho / ((1.0 + rho) * ne) };
        Count { ne, w: ne / (1.0 + gamma_b * ne), ln_b, shift, gw: gamma_b / (1.0 + gamma_b * ne) }
    }

    pub(super) fn get(&self, n: usize) -> Count {
        match self.table.get(n) {
            Some(v) => *v,
            None => self.compute(n),
        }
    }
}

/// What the first pass sums: the lower triangle of `X'V~^-1 X` (flat, p x p), `X'V~^-1 y`,
/// the levels' part of `ln|V~|`, and per group the weight, weighted x and weighted y.
pub(super) struct Sums {
    pub a: Vec<f64>,
    pub c: Vec<f64>,
    pub logdet: f64,
    pub weight: Vec<f64>,
    pub x: Vec<f64>,
    pub y: Vec<f64>,
}

/// Runs of one chunk: group ids and, per run, `stride` sums.
struct Runs {
    groups: Vec<u32>,
    values: Vec<f64>,
}

impl Runs {
    fn new() -> Runs {
        Runs { groups: Vec::new(), values: Vec::new() }
    }

    /// The sums of group `g`'s current run (a new one when the group changes).
    fn slot(&mut self, g: u32, stride: usize) -> &mut [f64] {
        if self.groups.last() != Some(&g) {
            self.groups.push(g);
            self.values.extend(std::iter::repeat_n(0.0, stride));
        }
        let from = self.values.len() - stride;
        &mut self.values[from..]
    }
}

fn chunks(levels: &Levels) -> Vec<(usize, usize)> {
    let n = levels.levels.len();
    (0..n.div_ceil(CHUNK).max(1)).map(|k| (k * CHUNK, ((k + 1) * CHUNK).min(n))).collect()
}

/// Map `f` over the chunks, in parallel when there are several, results in chunk order.
fn over_chunks<T: Send>(levels: &Levels, f: impl Fn(usize, usize) -> T + Sync) -> Vec<T> {
    let ranges = chunks(levels);
    if ranges.len() == 1 {
        return vec![f(ranges[0].0, ranges[0].1)];
    }
    ranges.par_iter().map(|&(from, to)| f(from, to)).collect()
}

/// A level's design row, with the extra column's value when there is one.
fn row(levels: &Levels, extra: Option<&[f64]>, l: usize, out: &mut Vec<f64>) {
    out.clear();
    out.extend_from_slice(levels.row(l));
    if let Some(e) = extra {
        out.push(e[l]);
    }
}

/// The first pass at each of `thetas` (one pass over the levels for all: a Newton step's
/// finite differences evaluate ten or more points, and the pass is bound by reading the
/// levels, not by arithmetic): everything that does not depend on the coefficients. Each
/// theta's sums take the same operations in the same order as alone.
pub(super) fn first(levels: &Levels, p: usize, extra: Option<&[f64]>, thetas: &[Theta], per_n: &[PerN]) -> Vec<Sums> {
    let k = thetas.len();
    let setup: Vec<(bool, f64)> = thetas
        .iter()
        .map(|t| (t.delta != 0.0 && levels.spread.len() == levels.levels.len(), (1.0 - t.rho * t.rho).ln()))
        .collect();
    let stride = p + 2;
    let parts = over_chunks(levels, |from, to| {
        let (mut a, mut c, mut logdet) = (vec![0.0; k * p * p], vec![0.0; k * p], vec![0.0; k]);
        let mut runs = Runs::new();
        let mut x = Vec::with_capacity(p);
        for l in from..to {
            let level = &levels.levels[l];
            row(levels, extra, l, &mut x);
            let run = runs.slot(level.group, k * stride);
            for (t, theta) in thetas.iter().enumerate() {
                let Theta { gamma_b, delta, .. } = *theta;
                let (scaled, ln_ar) = setup[t];
                let Count { w, ln_b, shift, .. } = per_n[t].get(level.n);
                let s2 = if scaled { (2.0 * delta * levels.spread[l]).exp() } else { 1.0 };
                let w = if scaled { w / s2 } else { w };
                let ytilde = level.mean + level.ends * shift;
                let logdet = &mut logdet[t];
                if level.n > 1 {
                    *logdet += (level.n as f64 - 1.0) * ln_ar;
                }
                if gamma_b > 0.0 {
                    *logdet += ln_b;
                }
                if scaled {
                    *logdet += level.n as f64 * s2.ln();
                }
                let (a, c) = (&mut a[t * p * p..(t + 1) * p * p], &mut c[t * p..(t + 1) * p]);
                for i in 0..p {
                    let wx = w * x[i];
                    c[i] += wx * ytilde;
                    for (aij, xj) in a[i * p..=i * p + i].iter_mut().zip(&x) {
                        *aij += wx * xj;
                    }
                }
                let run = &mut run[t * stride..(t + 1) * stride];
                run[0] += w;
                for (si, xi) in run[1..=p].iter_mut().zip(&x) {
                    *si += w * xi;
                }
                run[p + 1] += w * ytilde;
            }
        }
        (a, c, logdet, runs)
    });
    let g = levels.groups;
    let mut out: Vec<Sums> = (0..k)
        .map(|_| Sums {
            a: vec![0.0; p * p],
            c: vec![0.0; p],
            logdet: 0.0,
            weight: vec![0.0; g],
            x: vec![0.0; g * p],
            y: vec![0.0; g],
        })
        .collect();
    for (a, c, logdet, runs) in parts {
        for (t, out) in out.iter_mut().enumerate() {
            out.a.iter_mut().zip(&a[t * p * p..(t + 1) * p * p]).for_each(|(o, v)| *o += v);
            out.c.iter_mut().zip(&c[t * p..(t + 1) * p]).for_each(|(o, v)| *o += v);
            out.logdet += logdet[t];
            for (r, &grp) in runs.groups.iter().enumerate() {
                let from = r * k * stride + t * stride;
                let (grp, run) = (grp as usize, &runs.values[from..from + stride]);
                out.weight[grp] += run[0];
                out.x[grp * p..(grp + 1) * p].iter_mut().zip(&run[1..=p]).for_each(|(o, v)| *o += v);
                out.y[grp] += run[p + 1];
            }
        }
    }
    out
}

/// The second pass at each theta's coefficients `bs[t]`: `r' V~^-1 r` over the levels (before
/// the groups' part), and each group's weighted residual added into `residuals[t]`.
pub(super) fn second(
    levels: &Levels,
    extra: Option<&[f64]>,
    thetas: &[Theta],
    per_n: &[&PerN],
    bs: &[Vec<f64>],
    residuals: &mut [Vec<f64>],
) -> Vec<f64> {
    let k = thetas.len();
    let scaled: Vec<bool> =
        thetas.iter().map(|t| t.delta != 0.0 && levels.spread.len() == levels.levels.len()).collect();
    // Per theta: 2 rho / (1 + rho), and 1 / (1 - rho^2) for the deviations' AR(1) form.
    let consts: Vec<(f64, f64)> =
        thetas.iter().map(|t| (2.0 * t.rho / (1.0 + t.rho), 1.0 / (1.0 - t.rho * t.rho))).collect();
    let p = bs.first().map_or(0, Vec::len);
    let parts = over_chunks(levels, |from, to| {
        let mut quad = vec![0.0; k];
        let mut runs = Runs::new();
        let mut x = Vec::with_capacity(p);
        for l in from..to {
            let level = &levels.levels[l];
            row(levels, extra, l, &mut x);
            let run = runs.slot(level.group, k);
            for (t, theta) in thetas.iter().enumerate() {
                let Theta { rho, delta, .. } = *theta;
                let (two_rho_1p, inv_1mr2) = consts[t];
                let fitted: f64 = x.iter().zip(&bs[t]).map(|(x, b)| x * b).sum();
                let Count { ne, w, shift, gw, .. } = per_n[t].get(level.n);
                let d = level.mean - fitted;
                let delta_w = d + level.ends * shift;
                let deviations = deviation_form(level, rho, inv_1mr2);
                let within = deviations + two_rho_1p * level.ends * d + ne * d * d;
                let term = within - gw * (ne * delta_w).powi(2);
                if scaled[t] {
                    let s2 = (2.0 * delta * levels.spread[l]).exp();
                    quad[t] += term / s2;
                    run[t] += w * delta_w / s2;
                } else {
                    quad[t] += term;
                    run[t] += w * delta_w;
                }
            }
        }
        (quad, runs)
    });
    let mut quad = vec![0.0; k];
    for (q, runs) in parts {
        for t in 0..k {
            quad[t] += q[t];
            for (r, &grp) in runs.groups.iter().enumerate() {
                residuals[t][grp as usize] += runs.values[r * k + t];
            }
        }
    }
    quad
}
