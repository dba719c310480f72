//! A plain-text summary of a fitted model, in the spirit of statsmodels' `summary()`.

use std::fmt::Write;

use super::errors::ErrorKind;
use super::fitted::FittedModel;
use crate::quantity::format_bytes;

/// Render the model summary shown by `meshcap fit` and `meshcap show`.
pub fn render(model: &FittedModel) -> String {
    let mut s = String::new();
    let rule = "=".repeat(100);
    let thin = "-".repeat(100);
    let _ = writeln!(s, "{rule}");
    let method = match model.errors.kind {
        ErrorKind::Iid => "OLS".to_string(),
        ErrorKind::Levels | ErrorKind::Group => format!("GLS (REML, errors {})", model.errors.label()),
        ErrorKind::Hac | ErrorKind::Cluster => format!("OLS (errors {})", model.errors.label()),
    };
    let _ = writeln!(s, "{method}: {} ~ {}", model.response, predictors(model));
    let _ = writeln!(
        s,
        "data: {} (sha256 {}…)",
        model.source.path,
        &model.source.sha256[..12.min(model.source.sha256.len())]
    );
    let _ = writeln!(s, "measured at: {}", model.conditions.describe());
    let _ = writeln!(s, "{thin}");
    let fmt_opt = |v: Option<f64>, p: usize| v.map_or_else(|| "n/a".to_string(), |v| format!("{v:.p$}"));
    let _ = writeln!(
        s,
        "n = {:<8} dof = {:<8} R² = {:<10.6} adj. R² = {:<10.6} level = {}",
        model.n, model.dof, model.r_squared, model.adj_r_squared, model.level
    );
    let _ = writeln!(
        s,
        "residual std. error = {} ({:.6e} bytes)   F = {}   p(F) = {}",
        format_bytes(model.residual_std_error),
        model.residual_std_error,
        fmt_opt(model.f_statistic, 2),
        model.f_p_value.map_or_else(|| "n/a".into(), |p| format!("{p:.3e}"))
    );
    let _ = writeln!(s, "condition number = {:.3e}   solver = {:?}", model.condition_number, model.method);
    let _ = writeln!(s, "{thin}");
    errors_block(&mut s, model);
    let _ = writeln!(s, "{thin}");
    let ci = format!("[{:.1}%", model.level * 100.0);
    let _ = writeln!(
        s,
        "{:<16} {:>15} {:>13} {:>9} {:>9} {:>15} {:>15}  as memory",
        "",
        "estimate",
        "std err",
        "t",
        "P>|t|",
        ci + " low",
        "high]"
    );
    for c in &model.coefficients {
        let _ = writeln!(
            s,
            "{:<16} {:>15.6e} {:>13.4e} {:>9} {:>9} {:>15.6e} {:>15.6e}  {}",
            c.name,
            c.estimate,
            c.std_error,
            c.t.map_or_else(|| "inf".into(), |t| format!("{t:.3}")),
            c.p.map_or_else(|| "0".into(), |p| format!("{p:.3}")),
            c.ci_low,
            c.ci_high,
            if model.response == crate::series::MEMORY { format_bytes(c.estimate) } else { String::new() }
        );
    }
    let _ = writeln!(s, "{thin}");
    if model.response == crate::series::MEMORY {
        let _ = writeln!(s, "idle baseline      {}", format_bytes(model.baseline_bytes()));
        if let Some(r) = model.per_revision_bytes {
            let _ = writeln!(s, "per revision       {}", format_bytes(r));
        }
        if let Some(p) = model.per_port_bytes {
            let how = if model.per_port_derived {
                format!("derived: {} ports per revision", model.ports_per_revision)
            } else {
                "fitted".to_string()
            };
            let _ = writeln!(s, "per endpoint port  {} ({how})", format_bytes(p));
        }
    }
    for o in &model.oom {
        let _ = writeln!(
            s,
            "OOMKilled          at {} revisions (last good {}) with limit {} (line {})",
            o.revisions.map_or_else(|| "?".into(), |r| r.to_string()),
            o.last_good_revisions.map_or_else(|| "?".into(), |r| r.to_string()),
            o.limit_bytes.map_or_else(|| "?".into(), format_bytes),
            o.line
        );
    }
    for note in &model.notes {
        let _ = writeln!(s, "note: {note}");
    }
    let _ = writeln!(s, "{rule}");
    s
}

fn predictors(model: &FittedModel) -> String {
    let mut parts: Vec<String> = Vec::new();
    if model.intercept {
        parts.push("1".into());
    }
    parts.extend(model.terms.iter().map(ToString::to_string));
    parts.join(" + ")
}

/// The error structure, its variance components and the diagnostics.
fn errors_block(s: &mut String, model: &FittedModel) {
    let e = &model.errors;
    let _ = writeln!(s, "errors: {}", e.reason);
    let mut parts = vec![format!("levels = {}", e.levels)];
    if e.groups > 0 {
        let what = if e.kind == ErrorKind::Cluster { "clusters" } else { "groups" };
        parts.push(format!("{what} = {}", e.groups));
    }
    match e.kind {
        ErrorKind::Levels | ErrorKind::Group => {
            parts.push(format!("sigma_between = {}", format_bytes(e.sigma_between)));
            if e.kind == ErrorKind::Group {
                parts.push(format!("sigma_group = {}", format_bytes(e.sigma_group)));
            }
            if let Some(r) = &e.slope {
                let corr = r.offset_covariance / (e.sigma_group * r.sd_bytes_per_unit);
                let corr = if corr.is_finite() { format!("{corr:.3}") } else { "n/a".into() };
                parts.push(format!(
                    "slope sd = {}/{} (corr with offset {corr})",
                    format_bytes(r.sd_bytes_per_unit),
                    r.column
                ));
            }
            parts.push(format!("sigma_within = {}", format_bytes(e.sigma_within)));
            if let Some(sp) = &e.spread {
                parts.push(format!("(at {}; x (mean / it)^{:.2})", format_bytes(sp.reference_bytes), sp.power));
            }
        }
        _ => parts.push(format!("sigma = {}", format_bytes(e.sigma_within))),
    }
    if let Some(l) = e.hac_lags {
        parts.push(format!("Newey-West lags = {l}"));
    }
    let _ = writeln!(s, "{}", parts.join("   "));
    let rho = e.rho.map_or_else(
        || "n/a (needs a time on every reading and levels of 2 or more readings)".to_string(),
        |r| format!("{r:.3} ({})", if e.rho_fitted { "AR(1), fitted" } else { "moment estimate, not modelled" }),
    );
    let _ = writeln!(
        s,
        "within-level lag-1 autocorrelation = {rho}   effective n = {:.1} of {} readings   t dof = {}",
        e.effective_n, model.n, model.dof
    );
    match &e.lack_of_fit {
        Some(l) => {
            let verdict = if l.p >= 0.05 {
                "the level means lie on the line within their reading noise"
            } else if matches!(e.kind, ErrorKind::Levels | ErrorKind::Group) {
                "level means scatter beyond reading noise: the level offsets (sigma_between) model that"
            } else {
                "level means scatter beyond reading noise"
            };
            let _ = writeln!(
                s,
                "lack of fit: F({}, {}) = {:.3}, p = {:.3e}: {verdict}",
                l.df_lack_of_fit, l.df_pure_error, l.f, l.p
            );
        }
        None => {
            let _ = writeln!(s, "lack of fit: not tested (needs replicated readings at more settings than parameters)");
        }
    }
    if let Some(c) = &e.curvature {
        let verdict = if c.p < 0.01 { "linearity rejected" } else { "no evidence against a straight line" };
        let _ = writeln!(s, "curvature: {} t = {:.3} on {} dof, p = {:.3e}: {verdict}", c.term, c.t, c.dof, c.p);
    }
}
