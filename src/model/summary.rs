//! A plain-text summary of a fitted model, in the spirit of statsmodels' `summary()`.

use std::fmt::Write;

use super::fitted::FittedModel;
use crate::quantity::format_bytes;

/// Render the model summary shown by `meshcap fit` and `meshcap show`.
pub fn render(model: &FittedModel) -> String {
    let mut s = String::new();
    let rule = "=".repeat(100);
    let thin = "-".repeat(100);
    let _ = writeln!(s, "{rule}");
    let _ = writeln!(s, "OLS: {} ~ {}", model.response, predictors(model));
    let _ = writeln!(
        s,
        "data: {} (sha256 {}…)",
        model.source.path,
        &model.source.sha256[..12.min(model.source.sha256.len())]
    );
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
