//! Moment estimates of the variance components, where the REML search starts.
//!
//! Newton from `gamma = 1` needed ten steps or more to reach a fleet's group variance (36^2
//! times the within-level variance in the fleet benchmark), each a full pass over 10^5-10^6
//! levels per evaluation. Crude moments from the ordinary least-squares residuals of the
//! level means put the start within a factor of about two: within-level variance from the
//! levels' own scatter, level variance from the scatter of level means around their group's
//! mean, group variance from the scatter of group means, each less the noise it carries.

use super::levels::Levels;
use super::reml::{evaluate, Theta};

/// Start for the REML search: `gamma_b`, `gamma_g` by moments (floored at 1e-4, the search
/// reaches zero from there), `rho` from the pooled lag-1 autocorrelation.
pub(crate) fn moments(levels: &Levels) -> Theta {
    let rho = levels.lag1_autocorrelation().unwrap_or(0.0).max(0.0);
    let fallback = Theta { gamma_b: 1.0, gamma_g: 1.0, rho, delta: 0.0 };
    let (ss, pairs) = levels.levels.iter().fold((0.0, 0usize), |(s, k), l| (s + l.ss, k + l.n.saturating_sub(1)));
    let Some(ols) = evaluate(levels, Theta::ZERO, None) else { return fallback };
    let residual = |k: usize| levels.levels[k].mean - levels.row(k).iter().zip(&ols.b).map(|(x, b)| x * b).sum::<f64>();
    let mut by_group = vec![(0.0, 0.0, 0usize); levels.groups];
    for (k, l) in levels.levels.iter().enumerate() {
        let g = &mut by_group[l.group as usize];
        g.0 += l.n as f64 * residual(k);
        g.1 += l.n as f64;
        g.2 += 1;
    }
    let sw2 = if pairs > 0 && ss > 0.0 { ss / pairs as f64 } else { return fallback };
    // Level means around their group's mean, less the within-level noise they carry.
    let (mut between, mut count) = (0.0, 0usize);
    for (k, l) in levels.levels.iter().enumerate() {
        let g = by_group[l.group as usize];
        if g.2 > 1 {
            let d = residual(k) - g.0 / g.1;
            between += d * d * g.2 as f64 / (g.2 - 1) as f64 - sw2 / l.n as f64;
            count += 1;
        }
    }
    let sb2 = if count > 0 { (between / count as f64).max(0.0) } else { 0.0 };
    let groups: Vec<_> = by_group.iter().filter(|g| g.1 > 0.0).collect();
    let sg2 = groups.iter().map(|g| (g.0 / g.1).powi(2) - sb2 / g.2 as f64 - sw2 / g.1).sum::<f64>()
        / groups.len().max(1) as f64;
    Theta { gamma_b: (sb2 / sw2).max(1e-4), gamma_g: (sg2 / sw2).max(1e-4), rho, delta: 0.0 }
}
