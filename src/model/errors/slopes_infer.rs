//! From the random-slope REML fit to the inference a model stores, and `auto`'s choice between
//! one slope for all proxies and a slope per proxy.
//!
//! `auto` fits both and keeps the random slope when a likelihood-ratio test on the REML
//! criterion rejects a common slope at 5%. The fixed effects are the same in both fits, so
//! REML likelihoods are comparable (Verbeke & Molenberghs 2000, §6.3.1); under the null the
//! slope variance lies on the boundary of its space, so the statistic follows a 50:50 mixture
//! of chi2_1 and chi2_2 (Self & Liang 1987; Stram & Lee 1994), whose 5% point is 5.14 against
//! chi2_2's 5.99. An information criterion was not used: AIC's penalty of 2 per parameter
//! would keep slope spreads too small to matter, BIC's ln(readings) grows with the scrape rate.

use super::diagnostics::primary;
use super::input::{store_gls, FitInput, Inference};
use super::levels::{Levels, Scaling};
use super::reml::{self, effective_n, Free, Theta};
use super::slopes::{chi_bar_square_p, covariance, estimate, identifiable};
use super::{GroupSlope, RandomSlope, SlopeTest};
use crate::error::{Error, Result};

/// Test level at which `auto` adopts random slopes.
const ALPHA: f64 = 0.05;

/// Fit random slopes on the main driver beside the random-intercept fit already in `out`
/// (`theta`, `free` its components): always when `forced` (`--errors slopes=COL`), else keep
/// them only when the test rejects a common slope. `out` is rewritten only when they are kept.
pub(crate) fn random_slopes(
    levels: &Levels,
    input: &FitInput,
    sc: &Scaling,
    theta: Theta,
    free: Free,
    forced: bool,
    out: &mut Inference,
) -> Result<()> {
    let path = &input.series.path;
    let label = out.errors.label();
    let Some((j, term)) = primary(input) else {
        if forced {
            return Err(Error::invalid(format!(
                "--errors slopes={}: random slopes need a linear term on the driver (ports or revisions) and no power of it",
                label.trim_start_matches("group=")
            )));
        }
        return Ok(());
    };
    let column = term.column.clone();
    let group_label = label.trim_start_matches("group=").to_string();
    if !identifiable(levels, j) {
        if forced {
            return Err(Error::data(
                format!(
                    "--errors slopes={group_label}: fewer than two groups have more than one {column} value, so a slope per group cannot be told from noise; use --errors group={group_label}"
                ),
                path,
            ));
        }
        return Ok(());
    }
    let null = theta;
    let fitted = estimate(levels, Free { group: true, ..free }, theta, j);
    let Some((theta, l, gls)) = fitted else {
        if forced {
            return Err(Error::data(
                "the random-slope variance components could not be estimated (the level design is singular); use --errors group=COL",
                path,
            ));
        }
        return Ok(());
    };
    let baseline = reml::evaluate(levels, null, None);
    let statistic = baseline.map_or(0.0, |b| (b.objective - gls.objective).max(0.0));
    let p = chi_bar_square_p(statistic);
    let test = format!(
        "chi-bar-square likelihood-ratio test, 50:50 chi2_1:chi2_2, on -2 log REML: D = {statistic:.2}, p = {p:.2e}"
    );
    if !forced {
        out.errors.slope_test = Some(SlopeTest { column: column.clone(), statistic, p });
        if p >= ALPHA {
            out.errors.reason.push_str(&format!("; one slope on {column} for every {group_label} ({test})"));
            return Ok(());
        }
        out.errors.reason = format!(
            "slopes={group_label} (auto): the series pools {} {group_label} groups whose slopes on {column} differ ({test})",
            levels.groups
        );
    }
    let p_count = input.design.len();
    // A variance function kept by the random-intercept fit is re-estimated with the slopes
    // (the same covariate; both fits in the test carry it, so their REML criteria compare).
    if let Some(spread) = out.errors.spread.as_mut() {
        spread.power = theta.delta;
    }
    let sigma_w2 = store_gls(levels, input, sc, &gls.b, &gls.a_inv, gls.quad, out);
    let g = covariance(l);
    let xs = sc.x_scale[j];
    let (tau0_2, tau01, tau1_2) = (g[0] * sigma_w2, g[1] * sigma_w2 / xs, g[2] * sigma_w2 / (xs * xs));
    let sb2 = theta.gamma_b * sigma_w2;
    out.sigma_obs = (sigma_w2 + sb2 + tau0_2).sqrt();
    // The pooled slope is estimated against the spread of the groups' own slopes: groups - 1
    // degrees of freedom for it (each group's slope is one draw), less the other predictors.
    out.dof = levels.groups.saturating_sub(p_count - 1).max(1);
    let e = &mut out.errors;
    e.sigma_within = sigma_w2.sqrt();
    e.sigma_between = sb2.sqrt();
    e.sigma_group = tau0_2.sqrt();
    if free.rho {
        e.rho = Some(theta.rho);
        e.rho_fitted = true;
    }
    e.effective_n = levels.levels.iter().map(|v| effective_n(v.n, theta.rho)).sum();
    e.slope = Some(RandomSlope { column, index: j, sd_bytes_per_unit: tau1_2.sqrt(), offset_covariance: tau01 });
    let raw = |scaled: f64, i: usize| scaled * sc.x_scale[i];
    for (effect, fit) in e.group_effects.iter_mut().zip(&gls.groups) {
        effect.effect_bytes = fit.u[0] * sc.y_scale;
        effect.effect_sd_bytes = (fit.k[0] * sigma_w2).max(0.0).sqrt();
        effect.shrink_row = (0..p_count).map(|i| raw(fit.shrink[2 * i], i)).collect();
        effect.slope = Some(GroupSlope {
            effect_bytes_per_unit: fit.u[1] * sc.y_scale / xs,
            sd_bytes_per_unit: (fit.k[2] * sigma_w2).max(0.0).sqrt() / xs,
            offset_covariance: fit.k[1] * sigma_w2 / xs,
            shrink_row_per_unit: (0..p_count).map(|i| raw(fit.shrink[2 * i + 1], i) / xs).collect(),
        });
    }
    if tau1_2 == 0.0 {
        out.notes.push("the random slope's variance is estimated at zero: the groups' slopes do not differ".into());
    }
    Ok(())
}
