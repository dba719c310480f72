//! Random slopes: each proxy its own slope on the main driver beside its own offset, by REML.
//!
//! Proxies differ in slope (Envoy workers, stats settings, proxy kind, Istio version): a fleet
//! pooled with one shared slope and a random offset per proxy gives slope intervals that miss
//! (71% coverage in issue 19) and a new proxy's bound that ignores how far its slope may be
//! from the fleet's. The model here is nlme's `lme(memory ~ ports, random = ~ ports | proxy)`
//! with the levels structure of [`super::reml`] nested inside:
//!
//! `y = X b + z'u_g + v_level + e`, `z = (1, x_j)` on the driver column `j`, `u_g ~ N(0,
//! sw^2 G)` with `G = L L'` (L lower triangular 2x2, its three entries unconstrained, so the
//! optimiser moves freely and a zero slope variance or a perfect correlation is reachable),
//! `v ~ N(0, sb^2)` per level, `e` AR(1) within a level. Because the driver is constant within
//! a level, a group's marginal covariance is its block-diagonal level part `W_g` plus `Z G Z'`
//! with Z of rank 2, so every REML quantity needs one pass over the levels and then 2x2 work
//! per group ([`super::slopes_pass`], in a form whose rounding does not grow with the random
//! effects). The BLUPs use `K_g = L (I + L' M_g L)^-1 L'` in place of `(G^-1 + M_g)^-1`,
//! defined also when G is singular. With `L = diag(sqrt gamma_g, 0)` this is exactly
//! [`super::reml::evaluate`] (checked in the tests).

use nalgebra::Matrix2;

use super::levels::Levels;
use super::reml::{check_boundary, phi_of, rho_of, Free, Theta};
use super::slopes_pass::{self, level_pass, LevelPass, Stage};
pub(crate) use super::slopes_pass::{covariance, Factor};

/// The last few level passes, by the parameters they depend on (`gamma_b`, `rho`, `delta`;
/// not the factor `L`, which only the per-group stage reads). A Newton step's finite
/// differences move one or two parameters at a time: of its 21 evaluations over five
/// parameters, those that move only `L` reuse the centre's pass and those that move `L` and
/// one other reuse that other's, so a step takes 6 passes over the levels instead of 21. The
/// values are the same as without the cache (a pass is a pure function of its parameters).
#[derive(Default)]
struct PassCache {
    entries: std::cell::RefCell<Vec<([u64; 3], std::rc::Rc<LevelPass>)>>,
}

impl PassCache {
    /// Passes kept: a step's distinct parameter points among the level parameters.
    const KEEP: usize = 8;

    fn get(&self, levels: &Levels, theta: Theta, j: usize) -> std::rc::Rc<LevelPass> {
        let key = [theta.gamma_b.to_bits(), theta.rho.to_bits(), theta.delta.to_bits()];
        if let Some((_, pass)) = self.entries.borrow().iter().find(|(k, _)| *k == key) {
            return pass.clone();
        }
        let pass = std::rc::Rc::new(level_pass(levels, theta, j));
        let mut entries = self.entries.borrow_mut();
        if entries.len() == Self::KEEP {
            entries.remove(0);
        }
        entries.push((key, pass.clone()));
        pass
    }
}

/// A group's predicted effects in scaled units.
#[derive(Debug, Clone)]
pub(crate) struct GroupFit {
    /// BLUP of (offset, slope).
    pub u: [f64; 2],
    /// Conditional covariance of `u` over `sw^2`: (00, 01, 11).
    pub k: [f64; 3],
    /// `S_g' K_g`, p x 2 row-major: the coefficient rows the BLUP shares.
    pub shrink: Vec<f64>,
}

/// The GLS fit at one parameter point (scaled units).
#[derive(Debug, Clone)]
pub(crate) struct SlopeGls {
    pub b: Vec<f64>,
    /// (X' V~^-1 X)^-1, row-major.
    pub a_inv: Vec<f64>,
    pub quad: f64,
    /// -2 restricted log-likelihood with sw^2 profiled, up to the constant of
    /// [`super::reml::evaluate`] (so the two are comparable for a likelihood-ratio test).
    pub objective: f64,
    pub groups: Vec<GroupFit>,
}

/// The GLS fit and REML objective at factor `l` from a level pass; the groups' BLUPs only
/// when `blups` (the optimiser needs the objective alone).
pub(crate) fn group_stage(pass: &LevelPass, l: Factor, blups: bool) -> Option<SlopeGls> {
    let Stage { b, a_inv, quad, objective } = slopes_pass::group_stage(pass, l)?;
    let p = pass.p;
    let lm = Matrix2::new(l[0], 0.0, l[1], l[2]);
    let mut groups = Vec::with_capacity(if blups { pass.m.len() } else { 0 });
    for (g, (m, t)) in pass.m.iter().zip(&pass.t).enumerate().filter(|_| blups) {
        // K = L (I + L'ML)^-1 L', defined also where G is singular.
        let mm = Matrix2::new(m[0], m[1], m[1], m[2]);
        let kg = lm * (Matrix2::identity() + lm.transpose() * mm * lm).try_inverse()? * lm.transpose();
        let s = &pass.s[g * 2 * p..(g + 1) * 2 * p];
        // The group's residual sums t - S b, and its BLUP K (t - S b).
        let r: Vec<f64> = (0..2).map(|d| t[d] - (0..p).map(|i| s[d * p + i] * b[i]).sum::<f64>()).collect();
        let u = [kg[(0, 0)] * r[0] + kg[(0, 1)] * r[1], kg[(1, 0)] * r[0] + kg[(1, 1)] * r[1]];
        let shrink = (0..p)
            .flat_map(|i| [kg[(0, 0)] * s[i] + kg[(1, 0)] * s[p + i], kg[(0, 1)] * s[i] + kg[(1, 1)] * s[p + i]])
            .collect();
        groups.push(GroupFit { u, k: [kg[(0, 0)], kg[(0, 1)], kg[(1, 1)]], shrink });
    }
    Some(SlopeGls { b: b.iter().copied().collect(), a_inv: a_inv.iter().copied().collect(), quad, objective, groups })
}

/// The GLS fit and REML objective of the random-slope model, the slope on design column `j`.
pub(crate) fn evaluate(levels: &Levels, theta: Theta, l: Factor, j: usize) -> Option<SlopeGls> {
    group_stage(&level_pass(levels, theta, j), l, true)
}

/// True when some group's levels differ in the driver: a slope per group is identifiable
/// only then.
pub(crate) fn identifiable(levels: &Levels, j: usize) -> bool {
    let mut first: Vec<Option<f64>> = vec![None; levels.groups];
    let mut varying = vec![false; levels.groups];
    for (k, v) in levels.levels.iter().enumerate() {
        let x = levels.row(k)[j];
        match first[v.group as usize] {
            None => first[v.group as usize] = Some(x),
            Some(f) => varying[v.group as usize] |= f != x,
        }
    }
    // Two proxies with their own slopes at least: one cannot tell a spread from one value.
    varying.iter().filter(|&&v| v).count() >= 2
}

/// The REML estimate of the random-slope model, starting from the random-intercept fit
/// `start`: first the factor L alone at `start`'s level components (one pass over the levels,
/// then work per group only), then everything jointly from there (Newton, [`super::simplex`]).
pub(crate) fn estimate(levels: &Levels, free: Free, start: Theta, j: usize) -> Option<(Theta, Factor, SlopeGls)> {
    let l0 = start.gamma_g.max(1e-4).sqrt();
    let rho_start = if free.rho { start.rho } else { 0.0 };
    // A slope per proxy often absorbs what the random-intercept fit called level offsets, so
    // the factor is fitted at `start`'s gamma_b and at 1% of it, and the better starts the
    // joint search (each costs one pass and work per group, against a joint step's 31 passes).
    let profiles = if free.between { vec![start.gamma_b, 0.01 * start.gamma_b] } else { vec![start.gamma_b] };
    let (start, l_start) = profiles
        .into_iter()
        .map(|gamma_b| {
            let at = Theta { rho: rho_start, gamma_b, ..start };
            let pass = level_pass(levels, at, j);
            let first =
                |v: &[f64]| group_stage(&pass, [v[0], v[1], v[2]], false).map_or(f64::INFINITY, |g| g.objective);
            let l = super::simplex::minimize(&first, &[l0, 0.0, 0.3 * l0]);
            (first(&l), Theta { gamma_b, ..start }, l)
        })
        .min_by(|a, b| a.0.total_cmp(&b.0))
        .map(|(_, theta, l)| (theta, l))?;
    let fit = |free: Free, rho_fixed: f64, start: Theta, l_start: Factor| {
        let to_point = |v: &[f64]| {
            let mut k = 0;
            let mut next = || {
                k += 1;
                v[k - 1]
            };
            let sb = if free.between { next() } else { 0.0 };
            let l = [next(), next(), next()];
            let rho = if free.rho { rho_of(next()) } else { rho_fixed };
            let delta = if free.spread { next() } else { start.delta };
            (Theta { gamma_b: sb * sb, gamma_g: 0.0, rho, delta }, l)
        };
        let mut x0 = Vec::new();
        if free.between {
            x0.push(start.gamma_b.max(1e-4).sqrt());
        }
        x0.extend_from_slice(&l_start);
        if free.rho {
            x0.push(phi_of(start.rho));
        }
        if free.spread {
            x0.push(start.delta);
        }
        let cache = PassCache::default();
        let f = |v: &[f64]| {
            let (theta, l) = to_point(v);
            group_stage(&cache.get(levels, theta, j), l, false).map_or(f64::INFINITY, |g| g.objective)
        };
        let best = super::simplex::minimize(&f, &x0);
        let (theta, l) = to_point(&best);
        let theta = Theta { gamma_b: if theta.gamma_b < 1e-8 { 0.0 } else { theta.gamma_b }, ..theta };
        evaluate(levels, theta, l, j).map(|g| (theta, l, g))
    };
    let l_start = [l_start[0], l_start[1], l_start[2]];
    let interior = fit(free, 0.0, start, l_start);
    if !free.rho || interior.as_ref().is_some_and(|(t, _, _)| !check_boundary(t.rho)) {
        return interior;
    }
    // The boundary fit starts from the interior optimum (see [`super::reml::estimate`]).
    let (from, l_from) = interior.as_ref().map_or((start, l_start), |(t, l, _)| (*t, *l));
    let boundary = fit(Free { rho: false, ..free }, 0.0, from, l_from);
    match (interior, boundary) {
        (Some(i), Some(b)) => Some(if b.2.objective <= i.2.objective { b } else { i }),
        (i, b) => i.or(b),
    }
}

/// P-value of the boundary-aware likelihood-ratio test for adding a slope variance and its
/// covariance with the offset: under the null the variance sits on the boundary of its
/// space, so the statistic follows a 50:50 mixture of chi2_1 and chi2_2 (Self & Liang 1987,
/// Stram & Lee 1994), not chi2_2, which would be conservative.
pub(crate) fn chi_bar_square_p(d: f64) -> f64 {
    if d <= 0.0 {
        return 1.0;
    }
    // chi2_1 survival: erfc(sqrt(d/2)); chi2_2 survival: exp(-d/2).
    0.5 * statrs::function::erf::erfc((d / 2.0).sqrt()) + 0.5 * (-d / 2.0).exp()
}

#[cfg(test)]
mod tests {
    use super::super::levels::{form, Scaling};
    use super::super::reml;
    use super::*;
    use crate::model::solve::DesignColumn;
    use nalgebra::DMatrix;

    fn tiny() -> Levels {
        let x1 = [0.0, 0.0, 1.0, 1.0, 2.0, 2.0, 0.0, 1.0, 1.0, 3.0, 3.0, 3.0, 1.0, 2.0];
        let y = [1.0, 1.4, 3.1, 2.2, 5.3, 4.1, 0.2, 2.9, 3.4, 9.7, 8.8, 9.1, 2.5, 4.4];
        let g = [0u32, 0, 0, 0, 0, 0, 1, 1, 1, 1, 1, 1, 2, 2];
        let t: Vec<f64> = (0..14).map(f64::from).collect();
        let design = [DesignColumn { base: &[], power: 0 }, DesignColumn { base: &x1, power: 1 }];
        let s = Scaling { y_shift: 0.0, y_scale: 1.0, x_scale: vec![1.0, 1.0] };
        form(&y, &design, Some(&t), Some((&g, 3)), &s, true)
    }

    #[test]
    fn intercept_only_factor_is_the_random_intercept_model() {
        let mut levels = tiny();
        levels.spread = (0..levels.levels.len()).map(|l| 0.2 - 0.1 * l as f64).collect();
        for delta in [0.0, -0.6] {
            let theta = Theta { gamma_b: 0.4, gamma_g: 1.7, rho: 0.3, delta };
            let one = reml::evaluate(&levels, theta, None).unwrap();
            let two = evaluate(&levels, theta, [1.7f64.sqrt(), 0.0, 0.0], 1).unwrap();
            assert!((one.objective - two.objective).abs() < 1e-12, "{delta}: {} vs {}", one.objective, two.objective);
            assert!((one.b[1] - two.b[1]).abs() < 1e-12);
        }
    }

    /// Brute force: the dense marginal covariance with random slopes.
    #[test]
    fn group_sums_give_the_dense_objective() {
        let x1 = [0.0, 0.0, 1.0, 1.0, 2.0, 2.0, 0.0, 1.0, 1.0, 3.0, 3.0, 3.0, 1.0, 2.0];
        let y = [1.0, 1.4, 3.1, 2.2, 5.3, 4.1, 0.2, 2.9, 3.4, 9.7, 8.8, 9.1, 2.5, 4.4];
        let g = [0usize, 0, 0, 0, 0, 0, 1, 1, 1, 1, 1, 1, 2, 2];
        let level_start = |i: usize| (0..=i).rev().take_while(|&k| g[k] == g[i] && x1[k] == x1[i]).last().unwrap();
        // Level index of each reading (the levels run in reading order here).
        let level_of: Vec<usize> = (0..14)
            .scan(0usize, |n, i| {
                if i > 0 && level_start(i) == i {
                    *n += 1;
                }
                Some(*n)
            })
            .collect();
        // Without and with a variance function (a level's block scaled by exp(2 delta z_l)).
        for delta in [0.0, 0.7] {
            let mut levels = tiny();
            levels.spread = (0..levels.levels.len()).map(|l| 0.15 * l as f64 - 0.3).collect();
            let theta = Theta { gamma_b: 0.4, gamma_g: 0.0, rho: 0.3, delta };
            let l = [0.9, -0.35, 0.6];
            let fast = evaluate(&levels, theta, l, 1).unwrap();
            let gm = covariance(l);
            let s2 = |i: usize| (2.0 * delta * levels.spread[level_of[i]]).exp();
            let v = DMatrix::from_fn(14, 14, |i, k| {
                let mut v = 0.0;
                if level_start(i) == level_start(k) {
                    v += s2(i) * (theta.rho.powi((i as i32 - k as i32).abs()) + theta.gamma_b);
                }
                if g[i] == g[k] {
                    v += gm[0] + gm[1] * (x1[i] + x1[k]) + gm[2] * x1[i] * x1[k];
                }
                v
            });
            let super::super::dense::Dense { b, quad, objective, v_inv: vi, residual: r } =
                super::super::dense::fit(&v, &x1, &y);
            assert!((fast.b[1] - b[1]).abs() < 1e-12, "delta {delta}: {:?} vs {b}", fast.b);
            assert!((fast.quad - quad).abs() < 1e-12 * quad, "delta {delta}: {} vs {quad}", fast.quad);
            assert!((fast.objective - objective).abs() < 1e-10, "delta {delta}: {} vs {objective}", fast.objective);
            // BLUP of group 1: G Z' V^-1 r (Henderson), dense.
            let z = DMatrix::from_fn(14, 2, |i, k| {
                if g[i] != 1 {
                    0.0
                } else if k == 0 {
                    1.0
                } else {
                    x1[i]
                }
            });
            let gmat = DMatrix::from_row_slice(2, 2, &[gm[0], gm[1], gm[1], gm[2]]);
            let u = gmat * z.transpose() * &vi * &r;
            assert!((fast.groups[1].u[0] - u[0]).abs() < 1e-12 && (fast.groups[1].u[1] - u[1]).abs() < 1e-12);
        }
    }

    #[test]
    fn chi_bar_square_mixes_one_and_two_degrees_of_freedom() {
        // 5% critical value of the 50:50 chi2_1:chi2_2 mixture is 5.138 (Stram & Lee 1994,
        // table 1); chi2_2 alone would need 5.991.
        assert!((chi_bar_square_p(5.138) - 0.05).abs() < 2e-4, "{}", chi_bar_square_p(5.138));
        assert_eq!(chi_bar_square_p(0.0), 1.0);
    }
}
