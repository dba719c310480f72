//! Slow drift: noise that wanders across level changes instead of restarting at each.
//!
//! The `levels` structure takes a level's AR(1) noise as its own, independent of the next
//! level's. A proxy's heap does not restart when a revision is added: with readings that wander
//! slowly (lag-1 correlation 0.995-0.999) the level means inherit each other's noise, the
//! level-to-level scatter looks smaller than it is and the slope's interval is too narrow
//! (issue 19: coverage 81%, P(exceed) 12-18%). So a time-ordered single series is also fitted
//! with the noise carried across level changes, one AR(1) over the whole series plus the
//! level offsets, by REML; carried noise is kept unless restarting is clearly better
//! ([`RESTART_MARGIN`]), or the levels lie so far apart that the two are one ([`coincide`]).
//!
//! With `Q` the AR(1) precision over all `N` readings (tridiagonal), `Z` the level indicator
//! and `M = Z'QZ` (tridiagonal, levels x levels), the covariance `R + gamma ZZ'` has inverse
//! `Q - QZ (I/gamma + M)^-1 Z'Q` (Woodbury), and since the predictors are constant within a
//! level every REML term is a levels x levels product: `X'V^-1 X = X_L'(M - M W M) X_L` with
//! `W = (I/gamma + M)^-1`, `ln|V| = ln|R| + ln|I + gamma M|`. Each level contributes its sum,
//! sum of squares, lag products and first and last readings ([`super::levels::Level`]).

use nalgebra::{DMatrix, DVector};

use super::levels::Levels;
use super::reml::{phi_of, rho_of, Gls, GroupSums, Theta};
use super::simplex::minimize;

/// How much lower (-2 log REML) noise restarting at each level must be for it to be kept over
/// noise carried across level changes. A sidecar's heap does not restart when a revision is
/// added, so carried noise is the default for a time-ordered series; the two models have the
/// same parameters, and restarting needs a likelihood ratio above e^2 (about 7) in its favour.
/// Measured both ways (`tests/shapes_study.rs`, `tests/coverage.rs`): with the carried fit kept
/// only when *it* was lower (by 0.1), the restarting fit won on 20% of the drift campaigns
/// (rho 0.995-0.999), by up to 8.7, and there its slope intervals covered 68% (89.3% overall);
/// with this margin 94.4% overall, while on AR(0.95) campaigns whose noise does restart the
/// bound's P(exceed) inside the data moved from 4.33% to 4.27% (5% wanted, 3 errors 0.75%); a
/// margin of 6 made those too cautious.
pub(crate) const RESTART_MARGIN: f64 = 4.0;

/// Whether carried and restarting noise are one model for this series at `rho`: every
/// boundary between levels so long that the correlation across it, `rho^lag`, is under 1%.
pub(crate) fn coincide(levels: &Levels, rho: f64) -> bool {
    gaps(levels).iter().all(|&g| rho.powf(g) < 0.01)
}

/// A symmetric positive definite tridiagonal matrix as its LDL' factors.
struct Tridiagonal {
    /// D.
    d: Vec<f64>,
    /// Sub-diagonal of L (entry i couples i and i + 1).
    l: Vec<f64>,
}

impl Tridiagonal {
    /// Factor the matrix with diagonal `a` and off-diagonal `e`; `None` unless positive definite.
    fn factor(a: &[f64], e: &[f64]) -> Option<Tridiagonal> {
        let mut d = Vec::with_capacity(a.len());
        let mut l = Vec::with_capacity(e.len());
        for (i, &ai) in a.iter().enumerate() {
            let di = if i == 0 {
                ai
            } else {
                let li = e[i - 1] / d[i - 1];
                l.push(li);
                ai - li * e[i - 1]
            };
            if !(di > 0.0 && di.is_finite()) {
                return None;
            }
            d.push(di);
        }
        Some(Tridiagonal { d, l })
    }

    fn logdet(&self) -> f64 {
        self.d.iter().map(|d| d.ln()).sum()
    }

    fn solve(&self, b: &[f64]) -> Vec<f64> {
        let mut z = b.to_vec();
        for i in 1..z.len() {
            z[i] -= self.l[i - 1] * z[i - 1];
        }
        for (zi, di) in z.iter_mut().zip(&self.d) {
            *zi /= di;
        }
        for i in (0..z.len().saturating_sub(1)).rev() {
            z[i] -= self.l[i] * z[i + 1];
        }
        z
    }
}

/// Boundary lags between consecutive levels in readings: the time from a level's last reading
/// to the next level's first over the scrape interval (the median spacing within levels), at
/// least 1. A campaign whose levels are hours apart has lags in the hundreds, and its noise is
/// then as good as restarted (`rho^lag`).
pub(crate) fn gaps(levels: &Levels) -> Vec<f64> {
    let mut spacing: Vec<f64> = levels
        .levels
        .iter()
        .filter(|v| v.n > 1 && v.t_last > v.t_first)
        .map(|v| (v.t_last - v.t_first) / (v.n - 1) as f64)
        .collect();
    spacing.sort_by(f64::total_cmp);
    let step = spacing.get(spacing.len() / 2).copied().unwrap_or(0.0);
    levels
        .levels
        .windows(2)
        .map(|w| if step > 0.0 { ((w[1].t_first - w[0].t_last) / step).max(1.0) } else { 1.0 })
        .collect()
}

/// The carried-noise GLS fit and REML objective at `theta` (gamma_b, rho and, with
/// [`Levels::spread`], the variance function's power; scaled units), with boundary lags `gaps`.
///
/// The AR(1) likelihood is built pair by pair: with `phi` the correlation of consecutive readings
/// (rho within a level, `rho^lag` across a boundary), `y'Qy = y_1^2 + sum (y_t - phi y_(t-1))^2 /
/// (1 - phi^2)` and `ln|R| = sum ln(1 - phi^2)`; `M = Z'QZ` and `c = Z'Qy` are the same sums with
/// level indicators. A variance function divides a level's readings and design row by its
/// scale `s_l` and adds `2 n_l ln s_l` to `ln|V|`.
pub(crate) fn evaluate(levels: &Levels, theta: Theta, gaps: &[f64]) -> Option<Gls> {
    let lv = &levels.levels;
    let l_count = lv.len();
    let p = levels.p;
    let rho = theta.rho;
    let gamma = theta.gamma_b;
    let n_total = levels.readings as f64;
    let scaled = theta.delta != 0.0 && levels.spread.len() == l_count;
    let s_of = |l: usize| if scaled { (theta.delta * levels.spread[l]).exp() } else { 1.0 };
    let first_y = |l: usize| (lv[l].mean + lv[l].d_first) / s_of(l);
    let last_y = |l: usize| (lv[l].mean + (lv[l].ends - lv[l].d_first)) / s_of(l);
    // M = Z'QZ: diagonal `md`, off-diagonal `mo` (l, l+1); c = Z'Qy.
    let mut md = vec![0.0; l_count];
    let mut mo = vec![0.0; l_count.saturating_sub(1)];
    let mut c = vec![0.0; l_count];
    let (mut yqy, mut logdet_v) = (first_y(0).powi(2), 0.0);
    md[0] = 1.0;
    c[0] = first_y(0);
    let within = 1.0 - rho * rho;
    for (l, v) in lv.iter().enumerate() {
        let (n, s) = (v.n as f64, s_of(l));
        if scaled {
            logdet_v += 2.0 * n * s.ln();
        }
        if v.n > 1 {
            // Pairs inside the level, from its sums (deviations d around the mean m):
            // sum y^2 = ss + n m^2, sum y_t y_(t-1) = (n-1) m^2 - m (d_1 + d_n) + lag.
            let (m, s2) = (v.mean / s, s * s);
            let sum_sq = v.ss / s2 + n * m * m;
            let lag = (n - 1.0) * m * m - m * v.ends / s + v.lag / s2;
            let (y1, yn) = (first_y(l), last_y(l));
            yqy += ((sum_sq - y1 * y1) - 2.0 * rho * lag + rho * rho * (sum_sq - yn * yn)) / within;
            md[l] += (n - 1.0) * (1.0 - rho) / (1.0 + rho);
            c[l] += ((n * m - y1) - rho * (n * m - yn)) / (1.0 + rho);
            logdet_v += (n - 1.0) * within.ln();
        }
        if l + 1 < l_count {
            // The pair across the boundary to the next level.
            let phi = rho.powf(gaps[l]);
            let one = 1.0 - phi * phi;
            let (a, b) = (last_y(l), first_y(l + 1));
            let e = b - phi * a;
            yqy += e * e / one;
            md[l] += phi * phi / one;
            md[l + 1] += 1.0 / one;
            mo[l] = -phi / one;
            c[l] -= phi * e / one;
            c[l + 1] += e / one;
            logdet_v += one.ln();
        }
    }
    // Rows scaled with their level.
    let row = |l: usize, j: usize| levels.row(l)[j] / s_of(l);
    // M x for a vector x.
    let m_times = |x: &[f64]| -> Vec<f64> {
        (0..l_count)
            .map(|l| {
                let mut v = md[l] * x[l];
                if l > 0 {
                    v += mo[l - 1] * x[l - 1];
                }
                if l + 1 < l_count {
                    v += mo[l] * x[l + 1];
                }
                v
            })
            .collect()
    };
    let columns: Vec<Vec<f64>> = (0..p).map(|j| (0..l_count).map(|l| row(l, j)).collect()).collect();
    let mx: Vec<Vec<f64>> = columns.iter().map(|x| m_times(x)).collect();
    let dot = |a: &[f64], b: &[f64]| a.iter().zip(b).map(|(x, y)| x * y).sum::<f64>();
    // A = X'MX - (MX)'W(MX), X'u = X'c - (MX)'Wc, y'V^-1 y = y'Qy - c'Wc, W = (I/gamma + M)^-1.
    let mut a = DMatrix::<f64>::from_fn(p, p, |i, j| dot(&columns[i], &mx[j]));
    let mut xy = DVector::<f64>::from_fn(p, |i, _| dot(&columns[i], &c));
    let mut yvy = yqy;
    if gamma > 0.0 {
        let inner: Vec<f64> = md.iter().map(|d| d + 1.0 / gamma).collect();
        let w = Tridiagonal::factor(&inner, &mo)?;
        // ln|I + gamma M| = ln|I/gamma + M| + L ln gamma.
        logdet_v += w.logdet() + l_count as f64 * gamma.ln();
        let wc = w.solve(&c);
        yvy -= dot(&c, &wc);
        for (i, mxi) in mx.iter().enumerate() {
            let wmx = w.solve(mxi);
            xy[i] -= dot(&wmx, &c);
            for j in 0..p {
                a[(i, j)] -= dot(&wmx, &mx[j]);
            }
        }
    }
    let chol = a.cholesky()?;
    let logdet_a = 2.0 * chol.l_dirty().diagonal().iter().map(|d| d.ln()).sum::<f64>();
    let b = chol.solve(&xy);
    let quad = yvy - b.dot(&xy);
    if !(quad.is_finite() && quad > 0.0) {
        return None;
    }
    let objective = (n_total - p as f64) * quad.ln() + logdet_v + logdet_a;
    Some(Gls {
        b: b.iter().copied().collect(),
        a_inv: chol.inverse().iter().copied().collect(),
        quad,
        objective,
        groups: GroupSums { weight: vec![0.0], x: vec![0.0; p], residual: vec![0.0] },
    })
}

/// REML over gamma_b (when `between`), rho and, when `spread`, the variance function's power,
/// from `start`.
pub(crate) fn estimate(levels: &Levels, between: bool, spread: bool, start: Theta) -> Option<(Theta, Gls)> {
    let gaps = gaps(levels);
    let to_theta = |v: &[f64]| {
        let mut k = 0;
        let mut next = || {
            k += 1;
            v[k - 1]
        };
        let sb = if between { next() } else { 0.0 };
        let rho = rho_of(next());
        let delta = if spread { next() } else { start.delta };
        let gamma_b = if sb * sb < 1e-8 { 0.0 } else { sb * sb };
        Theta { gamma_b, gamma_g: 0.0, rho, delta }
    };
    let mut x0 = Vec::new();
    if between {
        x0.push(start.gamma_b.max(1e-4).sqrt());
    }
    x0.push(phi_of(start.rho));
    if spread {
        x0.push(start.delta);
    }
    let f = |v: &[f64]| evaluate(levels, to_theta(v), &gaps).map_or(f64::INFINITY, |g| g.objective);
    let theta = to_theta(&minimize(&f, &x0));
    evaluate(levels, theta, &gaps).map(|g| (theta, g))
}

/// Lag-1 autocorrelation of the level means' residuals at coefficients `b` (scaled), in time
/// order, and its one-sided p-value against no autocorrelation (normal approximation,
/// `r sqrt(L)`).
pub(crate) fn level_autocorrelation(levels: &Levels, b: &[f64]) -> Option<(f64, f64)> {
    let e: Vec<f64> = (0..levels.levels.len())
        .map(|l| levels.levels[l].mean - levels.row(l).iter().zip(b).map(|(x, b)| x * b).sum::<f64>())
        .collect();
    let den: f64 = e.iter().map(|v| v * v).sum();
    if e.len() < 4 || den <= 0.0 {
        return None;
    }
    let r = e.windows(2).map(|w| w[0] * w[1]).sum::<f64>() / den;
    let z = r * (e.len() as f64).sqrt();
    let p = 0.5 * statrs::function::erf::erfc(z / std::f64::consts::SQRT_2);
    Some((r, p))
}

#[cfg(test)]
mod tests {
    use super::super::levels::{form, Scaling};
    use super::*;
    use crate::model::solve::DesignColumn;

    /// Brute force: the dense covariance of AR(1) over the whole series plus level offsets.
    #[test]
    fn level_sums_give_the_dense_objective() {
        let x1 = [0.0, 0.0, 0.0, 1.0, 1.0, 2.0, 2.0, 2.0, 2.0, 3.0];
        let y = [1.0, 1.4, 0.7, 3.1, 2.2, 5.3, 4.1, 4.9, 5.6, 7.7];
        let t: Vec<f64> = (0..10).map(f64::from).collect();
        let design = [DesignColumn { base: &[], power: 0 }, DesignColumn { base: &x1, power: 1 }];
        let s = Scaling { y_shift: 0.0, y_scale: 1.0, x_scale: vec![1.0, 1.0] };
        let levels = form(&y, &design, Some(&t), None, &s, true);
        for theta in [
            Theta { gamma_b: 0.7, gamma_g: 0.0, rho: 0.6, delta: 0.0 },
            Theta { gamma_b: 0.0, gamma_g: 0.0, rho: 0.95, delta: 0.0 },
        ] {
            let fast = evaluate(&levels, theta, &gaps(&levels)).unwrap();
            let v = DMatrix::from_fn(10, 10, |i, j| {
                theta.rho.powi((i as i32 - j as i32).abs()) + if x1[i] == x1[j] { theta.gamma_b } else { 0.0 }
            });
            let super::super::dense::Dense { b, quad, objective, .. } = super::super::dense::fit(&v, &x1, &y);
            assert!((fast.b[1] - b[1]).abs() < 1e-10, "{:?} vs {b}", fast.b);
            assert!((fast.quad - quad).abs() < 1e-10 * quad, "{} vs {quad}", fast.quad);
            assert!((fast.objective - objective).abs() < 1e-9, "{} vs {objective}", fast.objective);
        }
    }
}
