//! After REML, the checks that may change a `levels`/`group` fit's error model, each leaving
//! its assumption line: drift (noise carried across level changes, for a time-ordered single
//! series) and spread that grows with memory (nlme's `varPower`). Kept apart from
//! `super::infer`, which orders the whole inference (and which this module does not import).

use super::assumptions::{Assumption, DRIFT, EQUAL_SPREAD};
use super::drift;
use super::levels::{Levels, Scaling};
use super::reml::{Free, Gls, Theta};
use super::spread;
use super::ErrorModel;

/// Test drift and spread on a fitted REML state (`free`, `theta`, `gls`; `l` levels), keep the
/// alternative each test favours, push one assumption line for each and return the state kept.
pub(super) fn refine(
    levels: &mut Levels,
    group: bool,
    l: usize,
    sc: &Scaling,
    (mut free, mut theta, mut gls): (Free, Theta, Gls),
    errors: &mut ErrorModel,
) -> (Free, Theta, Gls) {
    // Drift: a time-ordered single series is also fitted with its noise carried across level
    // changes, which is kept unless restarting at each level is clearly better.
    let mut carried = false;
    if levels.ordered && !group && l >= 4 && free.rho {
        let (test, p) = match drift::level_autocorrelation(levels, &gls.b) {
            Some((r, p)) => (
                format!("lag-1 autocorrelation of the level means' residuals in time order r = {r:.2} (normal approximation)"),
                Some(p),
            ),
            None => ("level means' residuals: none".to_string(), None),
        };
        let action = match drift::estimate(levels, free.between, false, theta) {
            Some((t2, _)) if drift::coincide(levels, t2.rho) => {
                "noise restarting at each level kept (levels are far enough apart in time that noise carried across them is the same model)".into()
            }
            // Carried unless restarting is clearly better: a heap does not restart with a
            // revision (drift::RESTART_MARGIN).
            Some((t2, g2)) if g2.objective < gls.objective + drift::RESTART_MARGIN => {
                let action = format!(
                    "the noise carries over level changes: fitted as one AR(1) over the whole series (rho {:.4}) plus level offsets, -2 log REML {:+.1} against noise restarting at each level (restarting is kept only when lower by more than {})",
                    t2.rho,
                    g2.objective - gls.objective,
                    drift::RESTART_MARGIN
                );
                (theta, gls, carried) = (t2, g2, true);
                errors.noise_carried = true;
                errors.reason.push_str("; AR(1) noise carried across level changes (drift)");
                action
            }
            Some((_, g2)) => format!(
                "noise restarting at each level kept (its -2 log REML lower by {:.2} than noise carried over level changes, more than {})",
                g2.objective - gls.objective,
                drift::RESTART_MARGIN
            ),
            None => "noise restarting at each level kept (the carried fit failed)".into(),
        };
        errors.assumptions.push(Assumption { name: DRIFT.into(), test, p, action });
    }
    let line = if !(3..=spread::MAX_LEVELS).contains(&l) || !levels.replicated() {
        Assumption::untested(
            EQUAL_SPREAD,
            if l > spread::MAX_LEVELS {
                "not tested (more than 5000 levels)"
            } else {
                "not tested (needs 3 or more levels of 2 or more readings)"
            },
            "assumed",
        )
    } else {
        match spread::fit(levels, (free, carried), theta, &gls, sc) {
            Some(f) => {
                let test = format!(
                    "REML likelihood ratio of sd ~ mean^power (nlme varPower) against one sd, chi2(1) = {:.2}, power {:.2}",
                    f.statistic, f.spread.power
                );
                let plausible = f.spread.power.abs() <= spread::MAX_POWER;
                let action = if f.p < spread::REJECT_P && plausible {
                    format!(
                        "modelled: every reading's sd scales as (mean / {})^{:.2}, in every prediction",
                        crate::quantity::format_bytes(f.spread.reference_bytes),
                        f.spread.power
                    )
                } else if f.p < spread::REJECT_P {
                    format!(
                        "not modelled: a power of {:.2} is beyond any sidecar's (at most {} either way); equal spread kept",
                        f.spread.power,
                        spread::MAX_POWER
                    )
                } else {
                    "equal spread kept".into()
                };
                let p = f.p;
                if p < spread::REJECT_P && plausible {
                    // Carried noise keeps its own estimator, which reads the power from theta.
                    (theta, gls, free.spread) = (f.theta, f.gls, !carried);
                    errors.spread = Some(f.spread);
                } else {
                    levels.spread.clear();
                }
                Assumption::tested(EQUAL_SPREAD, test, p, action)
            }
            None => {
                levels.spread.clear();
                Assumption::untested(EQUAL_SPREAD, "not tested (a fitted mean is not positive)", "assumed")
            }
        }
    };
    errors.assumptions.push(line);
    (free, theta, gls)
}
