//! Spread that grows with memory: a variance function of the fitted mean.
//!
//! A proxy at 1Gi scatters more than one at 100Mi (allocator pages, bigger pushes); a single
//! sigma then makes bounds at high memory too narrow (issue 19: P(exceed) 14-19% at the 95% safe
//! count when the noise sd is proportional to the mean). The model is nlme's `varPower()`:
//! `Var(reading) = sigma^2 |mu|^(2 delta)` with `mu` the fitted mean, here applied to a level's
//! whole covariance (its offset and its readings' noise: both scale with the proxy's memory),
//! as `gls(..., correlation = corCompSymm(form = ~ 1 | level), weights = varPower())` does when
//! readings within a level are not time-ordered (tests/spread_nlme.rs compares with it). The
//! power is estimated by REML together with the other components; the fitted means it uses
//! are updated until they settle (nlme iterates the same way), and a REML likelihood-ratio test
//! against equal spread (chi-square, 1 dof) decides whether it is kept.

use serde::{Deserialize, Serialize};
use statrs::distribution::{ChiSquared, ContinuousCDF};

use super::levels::{Levels, Scaling};
use super::reml::{estimate, Free, Gls, Theta};

/// Most levels the variance function is estimated on (each outer step is a REML fit; pooled
/// fleets with more levels keep one spread and say so).
pub(crate) const MAX_LEVELS: usize = 5000;

/// p below which equal spread is rejected and the variance function kept.
pub const REJECT_P: f64 = 0.05;

/// The largest |power| a variance function may have: sd growing as the 4th power of memory is
/// already beyond any sidecar measured (fits give 0 to 2); a model file is refused beyond it.
pub const MAX_POWER: f64 = 4.0;

/// The variance function of a fit: a reading's variance (level offset and noise) at mean
/// memory `m` is the stored components' times `(m / reference_bytes)^(2 power)`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Spread {
    /// The power (nlme's `delta`): 1 = sd proportional to the mean.
    pub power: f64,
    /// Mean memory at which `sigma_between` and `sigma_within` are stated, bytes (the geometric
    /// mean of the level means' fits).
    pub reference_bytes: f64,
}

impl Spread {
    /// Variance multiplier at mean memory `mean` (1 at the reference; the reference's for a
    /// mean at or below zero, where the power is undefined).
    pub fn factor(&self, mean: f64) -> f64 {
        if mean > 0.0 {
            (mean / self.reference_bytes).powf(2.0 * self.power)
        } else {
            1.0
        }
    }
}

/// The likelihood-ratio test of equal spread and the fit with the variance function.
pub(crate) struct SpreadFit {
    pub spread: Spread,
    /// 2 x (REML log-likelihood with the power - without).
    pub statistic: f64,
    pub p: f64,
    pub theta: Theta,
    pub gls: Gls,
}

/// Fitted mean of each level in bytes at scaled coefficients `b`.
fn level_means(levels: &Levels, b: &[f64], sc: &Scaling) -> Vec<f64> {
    (0..levels.levels.len())
        .map(|l| levels.row(l).iter().zip(b).map(|(x, b)| x * b).sum::<f64>() * sc.y_scale + sc.y_shift)
        .collect()
}

/// Estimate the power with the other free components, from the equal-spread fit (`theta`,
/// `gls`; noise restarting at each level, or `carried` across level changes). Leaves
/// `levels.spread` set to the final covariate. `None` when a fitted mean is not positive or the
/// estimation fails.
pub(crate) fn fit(
    levels: &mut Levels,
    (free, carried): (Free, bool),
    theta: Theta,
    gls: &Gls,
    sc: &Scaling,
) -> Option<SpreadFit> {
    let mut means = level_means(levels, &gls.b, sc);
    if means.iter().any(|m| !(*m > 0.0 && m.is_finite())) {
        return None;
    }
    let free = Free { spread: true, ..free };
    let mut current = (theta, gls.clone());
    let mut reference = 0.0;
    for _ in 0..20 {
        reference = (means.iter().map(|m| m.ln()).sum::<f64>() / means.len() as f64).exp();
        let z: Vec<f64> = means.iter().map(|m| (m / reference).ln()).collect();
        let moved = levels.spread.len() != z.len() || levels.spread.iter().zip(&z).any(|(a, b)| (a - b).abs() > 1e-8);
        if !moved {
            break;
        }
        levels.spread = z;
        current = if carried {
            super::drift::estimate(levels, free.between, true, current.0)?
        } else {
            estimate(levels, free, current.0)?
        };
        means = level_means(levels, &current.1.b, sc);
        if means.iter().any(|m| !(*m > 0.0 && m.is_finite())) {
            levels.spread.clear();
            return None;
        }
    }
    let statistic = (gls.objective - current.1.objective).max(0.0);
    let p = ChiSquared::new(1.0).ok().map_or(f64::NAN, |d| d.sf(statistic));
    Some(SpreadFit {
        spread: Spread { power: current.0.delta, reference_bytes: reference },
        statistic,
        p,
        theta: current.0,
        gls: current.1,
    })
}

/// Koenker's studentised Breusch-Pagan test of OLS residuals against the fitted values:
/// `n R^2` of the squared residuals regressed on the fitted mean, chi-square with 1 dof.
/// Returns (statistic, p).
pub(crate) fn breusch_pagan(y: &[f64], residuals: &[f64]) -> Option<(f64, f64)> {
    let n = y.len() as f64;
    if y.len() < 4 {
        return None;
    }
    // Welford sums of (fitted, r^2) in one pass.
    let (mut mf, mut mr, mut sff, mut srr, mut sfr) = (0.0, 0.0, 0.0, 0.0, 0.0);
    for (k, (yi, ri)) in y.iter().zip(residuals).enumerate() {
        let (f, e) = (yi - ri, ri * ri);
        let k1 = (k + 1) as f64;
        let (df, de) = (f - mf, e - mr);
        mf += df / k1;
        mr += de / k1;
        sff += df * (f - mf);
        srr += de * (e - mr);
        sfr += df * (e - mr);
    }
    if !(sff > 0.0 && srr > 0.0) {
        return None;
    }
    let r2 = sfr * sfr / (sff * srr);
    let statistic = n * r2;
    let p = ChiSquared::new(1.0).ok()?.sf(statistic);
    Some((statistic, p))
}
