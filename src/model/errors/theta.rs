//! The parameters of the levels structure and the AR(1) algebra every REML pass shares.
//!
//! [`Theta`] holds the variance-component ratios, the within-level correlation and the variance
//! function's power; [`effective_n`] and [`deviation_form`] are the AR(1) quantities of one
//! level that [`super::reml`], [`super::reml_pass`] and [`super::slopes_pass`] all read, kept
//! here so those modules import them from one place and not from each other.

/// Variance-component ratios and the within-level correlation.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) struct Theta {
    pub gamma_b: f64,
    pub gamma_g: f64,
    pub rho: f64,
    /// Power of the variance function: a level's covariance (offset and noise) is scaled by
    /// `exp(2 delta z_l)`, `z_l = ln(fitted mean / reference)` ([`super::levels::Levels::spread`]); 0 = equal spread.
    pub delta: f64,
}

impl Theta {
    /// No level or group offsets, independent readings, equal spread.
    pub const ZERO: Theta = Theta { gamma_b: 0.0, gamma_g: 0.0, rho: 0.0, delta: 0.0 };
}

/// `1' R^-1 1` for an AR(1) run of `n` readings.
pub(crate) fn effective_n(n: usize, rho: f64) -> f64 {
    if n <= 1 {
        return n as f64;
    }
    let n = n as f64;
    (n - (n - 2.0) * rho) / (1.0 + rho)
}

/// `d' R^-1 d` for the deviations `d` of a level from its mean, given `1 / (1 - rho^2)` (the
/// passes take that division once per evaluation).
pub(crate) fn deviation_form(level: &super::levels::Level, rho: f64, inv_1mr2: f64) -> f64 {
    if level.n <= 1 {
        return 0.0;
    }
    ((1.0 + rho * rho) * level.ss - rho * rho * level.ends_sq - 2.0 * rho * level.lag) * inv_1mr2
}
