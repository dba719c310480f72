//! The random-slope REML objective in a form whose rounding does not grow with the random
//! effects: one pass over the levels, then work per group.
//!
//! Woodbury's `V^-1 = W^-1 - W^-1 Z K Z' W^-1` subtracts two nearly equal quantities when the
//! proxies' offsets and slopes are large beside the noise (offset sd 38x the within-level sd in
//! the fleet benchmark): the objective then carried noise of 5e-3 at 6.5e5, enough to send
//! finite-difference Newton steps astray (issue 19's speed item). Here a group's precision is
//! split into the part that annihilates its own line and the part along it,
//!
//! `V_g^-1 = P_g + W^-1 Z M^-1 (M^-1 + G)^-1 M^-1 Z' W^-1`,  `P_g = W^-1 - W^-1 Z M^-1 Z' W^-1`,
//!
//! `M = Z'W^-1 Z`. `P_g` does not depend on the random effects, so its sums are formed once
//! per pass, from sums shifted by the group's first level (so they are of the size of the
//! spread within the group, not of its offset); the second part needs only the per-group GLS
//! line `M^-1 Z'W^-1 a` of each column and the 2x2 `(M^-1 + G)^-1`, a sum of positive
//! definite matrices. `ln|V_g| = ln|W_g| + ln|M| + ln|M^-1 + G|`. A group whose levels share
//! one driver value identifies only its offset and uses the 1x1 forms. The driver is shifted
//! to the group's first value too, so `G` is carried to those coordinates (`T'GT`).

use nalgebra::{DMatrix, DVector};
use rayon::prelude::*;

use super::levels::Levels;
use super::reml::solve_lower;
use super::theta::{deviation_form, effective_n, Theta};

/// Lower-triangular Cholesky factor of the random-effect covariance over `sw^2`, scaled units:
/// `[l00, l10, l11]` for `L = [[l00, 0], [l10, l11]]`.
pub(crate) type Factor = [f64; 3];

/// `G = L L'` as (var intercept, covariance, var slope).
pub(crate) fn covariance(l: Factor) -> [f64; 3] {
    [l[0] * l[0], l[0] * l[1], l[1] * l[1] + l[2] * l[2]]
}

/// What the levels contribute at one `(gamma_b, rho)` for a slope on design column `j`.
pub(crate) struct LevelPass {
    pub p: usize,
    pub readings: f64,
    /// `sum ln|W_l|` over levels.
    pub logdet_w: f64,
    /// `sum_g [X y]' P_g [X y]`, lower triangle of (p+1) x (p+1) row-major, with the
    /// within-level deviations' quadratic form added to the `y y` entry.
    pub within: Vec<f64>,
    /// Per group: the driver value its coordinates are shifted by.
    pub x_ref: Vec<f64>,
    /// Per group: `M^-1` in shifted coordinates (00, 01, 11); 01 = 11 = 0 for a group with
    /// one driver value, whose entry 00 is then `1 / sum w`.
    pub m_inv: Vec<[f64; 3]>,
    /// Per group: `ln|M|` (or `ln sum w`).
    pub logdet_m: Vec<f64>,
    /// Per group and column of `[X y]`: the group's GLS line `M^-1 Z'W^-1 a` (offset, slope),
    /// flat `groups x (p+1) x 2`.
    pub line: Vec<f64>,
    /// Unshifted per-group sums for the BLUPs ([`super::slopes`]): `M` (sum w, sum w x,
    /// sum w x^2), `S` (2 x p) and `t` (2).
    pub m: Vec<[f64; 3]>,
    pub s: Vec<f64>,
    pub t: Vec<[f64; 2]>,
}

/// Per-group running sums, every column shifted by the group's first level.
struct Shifted {
    first: Vec<f64>,
    sw: f64,
    swx: f64,
    swxx: f64,
    /// Per column: sum w a, sum w x a.
    swa: Vec<f64>,
    swxa: Vec<f64>,
    /// Lower triangle of sum w a b.
    pairs: Vec<f64>,
}

impl Shifted {
    fn new(q: usize) -> Shifted {
        Shifted {
            first: vec![0.0; q],
            sw: 0.0,
            swx: 0.0,
            swxx: 0.0,
            swa: vec![0.0; q],
            swxa: vec![0.0; q],
            pairs: vec![0.0; q * (q + 1) / 2],
        }
    }

    /// Start a group at `col`.
    fn reset(&mut self, col: &[f64]) {
        self.first.copy_from_slice(col);
        (self.sw, self.swx, self.swxx) = (0.0, 0.0, 0.0);
        self.swa.iter_mut().chain(&mut self.swxa).chain(&mut self.pairs).for_each(|v| *v = 0.0);
    }
}

/// Levels per parallel chunk (whole groups; a chunk ends at the first group boundary past it).
/// Fixed, not derived from the thread count, so the sums' order and the result are the same
/// at any thread count.
const CHUNK: usize = 8192;

/// The level pass at `theta` (its `gamma_b` and `rho`): groups in parallel chunks, the chunks'
/// sums added in order.
pub(crate) fn level_pass(levels: &Levels, theta: Theta, j: usize) -> LevelPass {
    let p = levels.p;
    let q = p + 1;
    let groups = levels.groups;
    let order = group_order(levels);
    let chunks = chunk_bounds(levels, &order);
    let parts: Vec<Part> =
        chunks.par_iter().map(|&(from, to)| pass_chunk(levels, &order[from..to], theta, j)).collect();
    let mut out = LevelPass {
        p,
        readings: levels.readings as f64,
        logdet_w: 0.0,
        within: vec![0.0; q * q],
        x_ref: vec![0.0; groups],
        m_inv: vec![[0.0; 3]; groups],
        logdet_m: vec![0.0; groups],
        line: vec![0.0; groups * q * 2],
        m: vec![[0.0; 3]; groups],
        s: vec![0.0; groups * 2 * p],
        t: vec![[0.0; 2]; groups],
    };
    for part in parts {
        out.logdet_w += part.logdet_w;
        out.within.iter_mut().zip(&part.within).for_each(|(a, b)| *a += b);
        // A chunk's per-group arrays are indexed by its own group list (`part.x_ref` order).
        for (k, &g) in part.ids.iter().enumerate() {
            out.x_ref[g] = part.x_ref[k];
            out.m_inv[g] = part.m_inv[k];
            out.logdet_m[g] = part.logdet_m[k];
            out.line[g * q * 2..(g + 1) * q * 2].copy_from_slice(&part.line[k * q * 2..(k + 1) * q * 2]);
            out.m[g] = part.m[k];
            out.s[g * 2 * p..(g + 1) * 2 * p].copy_from_slice(&part.s[k * 2 * p..(k + 1) * 2 * p]);
            out.t[g] = part.t[k];
        }
    }
    out
}

/// Level indices with each group's levels together: as they are when the levels were formed
/// in time order (groups first), else sorted by group (stable).
fn group_order(levels: &Levels) -> Vec<usize> {
    let mut order: Vec<usize> = (0..levels.levels.len()).collect();
    let mut seen = vec![false; levels.groups];
    let mut together = true;
    for (k, level) in levels.levels.iter().enumerate() {
        let g = level.group as usize;
        if k == 0 || levels.levels[k - 1].group != level.group {
            together &= !std::mem::replace(&mut seen[g], true);
        }
    }
    if !together {
        order.sort_by_key(|&k| levels.levels[k].group);
    }
    order
}

/// `(from, to)` positions in `order` of chunks of about [`CHUNK`] levels ending at group
/// boundaries.
fn chunk_bounds(levels: &Levels, order: &[usize]) -> Vec<(usize, usize)> {
    let mut out = Vec::new();
    let mut from = 0;
    for k in 1..=order.len() {
        let boundary = k == order.len() || levels.levels[order[k]].group != levels.levels[order[k - 1]].group;
        if boundary && (k - from >= CHUNK || k == order.len()) {
            out.push((from, k));
            from = k;
        }
    }
    out
}

/// One chunk's pass: its sums, and its groups' arrays indexed by `ids`.
struct Part {
    logdet_w: f64,
    within: Vec<f64>,
    ids: Vec<usize>,
    x_ref: Vec<f64>,
    m_inv: Vec<[f64; 3]>,
    logdet_m: Vec<f64>,
    line: Vec<f64>,
    m: Vec<[f64; 3]>,
    s: Vec<f64>,
    t: Vec<[f64; 2]>,
}

fn pass_chunk(levels: &Levels, order: &[usize], theta: Theta, j: usize) -> Part {
    let p = levels.p;
    let q = p + 1;
    let Theta { gamma_b, rho, delta, .. } = theta;
    // The variance function (nlme's varPower, [`super::spread`]) scales a level's covariance,
    // offset and noise, by exp(2 delta z_l); the proxies' random effects are not scaled.
    let scaled = delta != 0.0 && levels.spread.len() == levels.levels.len();
    let ln_ar = (1.0 - rho * rho).ln();
    // Per reading count: effective size, weight, log term and the weighted mean's shift per
    // unit of `d_1 + d_n` (divisions and logarithms once per count, not per level).
    let per_n = |n: usize| {
        let ne = effective_n(n, rho);
        let ln_b = if gamma_b > 0.0 { gamma_b.mul_add(ne, 1.0).ln() } else { 0.0 };
        let shift = if n <= 1 { 0.0 } else { rho / ((1.0 + rho) * ne) };
        (ne, ne / (1.0 + gamma_b * ne), ln_b, shift)
    };
    let inv_1mr2 = 1.0 / (1.0 - rho * rho);
    let mut by_n: Vec<Option<(f64, f64, f64, f64)>> = vec![None; 1 << 12];
    let mut out = Part {
        logdet_w: 0.0,
        within: vec![0.0; q * q],
        ids: Vec::new(),
        x_ref: Vec::new(),
        m_inv: Vec::new(),
        logdet_m: Vec::new(),
        line: Vec::new(),
        m: Vec::new(),
        s: Vec::new(),
        t: Vec::new(),
    };
    let mut acc = Shifted::new(q);
    let mut col = vec![0.0; q];
    let mut current = None;
    for &k in order {
        let level = &levels.levels[k];
        let x = levels.row(k);
        let (ne, w, ln_b, shift_per_end) = match by_n.get_mut(level.n) {
            Some(slot) => *slot.get_or_insert_with(|| per_n(level.n)),
            None => per_n(level.n),
        };
        let ln_s2 = if scaled { 2.0 * delta * levels.spread[k] } else { 0.0 };
        let s2 = if scaled { ln_s2.exp() } else { 1.0 };
        let w = if scaled { w / s2 } else { w };
        let shift = level.ends * shift_per_end;
        let ytilde = level.mean + shift;
        if level.n > 1 {
            out.logdet_w += (level.n as f64 - 1.0) * ln_ar;
            // The deviations from the AR(1)-weighted mean: d'R^-1 d - n_eff s^2.
            let within = deviation_form(level, rho, inv_1mr2) - ne * shift * shift;
            out.within[q * q - 1] += if scaled { within / s2 } else { within };
        }
        out.logdet_w += ln_b + level.n as f64 * ln_s2;
        col[..p].copy_from_slice(x);
        col[p] = ytilde;
        let g = level.group as usize;
        if current != Some(g) {
            if current.is_some() {
                finish_group(&mut out, &acc, j);
            }
            current = Some(g);
            acc.reset(&col);
            out.ids.push(g);
            out.m.push([0.0; 3]);
            out.s.extend(std::iter::repeat_n(0.0, 2 * p));
            out.t.push([0.0; 2]);
        }
        let xj = x[j];
        let a = &mut acc;
        let xs = xj - a.first[j];
        a.sw += w;
        a.swx += w * xs;
        a.swxx += w * xs * xs;
        let mut idx = 0;
        for i in 0..q {
            let ai = col[i] - a.first[i];
            a.swa[i] += w * ai;
            a.swxa[i] += w * xs * ai;
            for (ck, fk) in col[..=i].iter().zip(&a.first) {
                a.pairs[idx] += w * ai * (ck - fk);
                idx += 1;
            }
        }
        let last = out.m.len() - 1;
        let m = &mut out.m[last];
        m[0] += w;
        m[1] += w * xj;
        m[2] += w * xj * xj;
        let s = &mut out.s[last * 2 * p..];
        for i in 0..p {
            s[i] += w * x[i];
            s[p + i] += w * xj * x[i];
        }
        out.t[last][0] += w * ytilde;
        out.t[last][1] += w * xj * ytilde;
    }
    if current.is_some() {
        finish_group(&mut out, &acc, j);
    }
    out
}

/// `P_g`'s sums, `M^-1`, `ln|M|` and the GLS lines of the chunk's last group.
fn finish_group(out: &mut Part, a: &Shifted, j: usize) {
    let q = a.first.len();
    out.x_ref.push(a.first[j]);
    let det = a.sw * a.swxx - a.swx * a.swx;
    let two = a.swxx > 0.0 && det > 1e-12 * a.sw * a.swxx;
    let m_inv = if two { [a.swxx / det, -a.swx / det, a.sw / det] } else { [1.0 / a.sw, 0.0, 0.0] };
    out.m_inv.push(m_inv);
    out.logdet_m.push(if two { det.ln() } else { a.sw.ln() });
    // Shifted z'a sums, and the projection of each pair on the group's line.
    let proj = |u: [f64; 2], v: [f64; 2]| {
        m_inv[0] * u[0] * v[0] + m_inv[1] * (u[0] * v[1] + u[1] * v[0]) + m_inv[2] * u[1] * v[1]
    };
    let z_of = |i: usize| [a.swa[i], if two { a.swxa[i] } else { 0.0 }];
    let mut idx = 0;
    for i in 0..q {
        for k in 0..=i {
            out.within[i * q + k] += a.pairs[idx] - proj(z_of(i), z_of(k));
            idx += 1;
        }
        // Unshifted z'a = shifted + a_ref (sum w, sum w x_shifted).
        let za = [a.swa[i] + a.first[i] * a.sw, if two { a.swxa[i] + a.first[i] * a.swx } else { 0.0 }];
        out.line.push(m_inv[0] * za[0] + m_inv[1] * za[1]);
        out.line.push(m_inv[1] * za[0] + m_inv[2] * za[1]);
    }
}

/// The GLS coefficients, `(X'V~^-1 X)^-1`, `r'V~^-1 r` and the REML objective at factor `l`.
pub(crate) struct Stage {
    pub b: DVector<f64>,
    pub a_inv: DMatrix<f64>,
    pub quad: f64,
    pub objective: f64,
}

/// The random effects' part at factor `l`, per group only.
pub(crate) fn group_stage(pass: &LevelPass, l: Factor) -> Option<Stage> {
    let p = pass.p;
    let q = p + 1;
    let [g00, g01, g11] = covariance(l);
    let mut total = pass.within.clone();
    let mut logdet_v = pass.logdet_w;
    for (g, (mi, &xr)) in pass.m_inv.iter().zip(&pass.x_ref).enumerate() {
        // G in the group's shifted coordinates: T'GT, T = [[1, 0], [x_ref, 1]].
        let h00 = g00 + xr * (2.0 * g01 + xr * g11);
        let h01 = g01 + xr * g11;
        if mi[0] == 0.0 {
            continue; // a group without levels
        }
        let line = &pass.line[g * q * 2..(g + 1) * q * 2];
        let h = if mi[2] == 0.0 && mi[1] == 0.0 {
            let b = mi[0] + h00;
            if !(b > 0.0 && b.is_finite()) {
                return None;
            }
            logdet_v += pass.logdet_m[g] + b.ln();
            [1.0 / b, 0.0, 0.0]
        } else {
            let (b00, b01, b11) = (mi[0] + h00, mi[1] + h01, mi[2] + g11);
            let det = b00 * b11 - b01 * b01;
            if !(det > 0.0 && det.is_finite()) {
                return None;
            }
            logdet_v += pass.logdet_m[g] + det.ln();
            [b11 / det, -b01 / det, b00 / det]
        };
        for i in 0..q {
            let (u0, u1) = (line[2 * i], line[2 * i + 1]);
            let hu = [h[0] * u0 + h[1] * u1, h[1] * u0 + h[2] * u1];
            for k in 0..=i {
                let v = hu[0] * line[2 * k] + hu[1] * line[2 * k + 1];
                total[i * q + k] += v;
            }
        }
    }
    let a = DMatrix::<f64>::from_fn(p, p, |i, k| if k <= i { total[i * q + k] } else { 0.0 });
    let c = DVector::<f64>::from_fn(p, |i, _| total[p * q + i]);
    let (b, a_inv, logdet_a) = solve_lower(a, &c)?;
    let quad = total[q * q - 1] - c.dot(&b);
    if !(quad.is_finite() && quad > 0.0) {
        return None;
    }
    let objective = (pass.readings - p as f64) * quad.ln() + logdet_v + logdet_a;
    Some(Stage { b, a_inv, quad, objective })
}
