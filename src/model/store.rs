//! Model files: `models/*.json`, self-describing and versioned.
//!
//! A model file is the serde form of [`FittedModel`], pretty-printed with a trailing newline so
//! it diffs well in review. Reading checks the schema version before anything else, so a file
//! from another meshcap is refused with a message rather than misread.

use std::path::Path;

use super::errors::{ErrorKind, ErrorModel};
use super::fitted::{FittedModel, SCHEMA_VERSION};
use crate::error::{Error, Location, Result};

/// Serialize a model as it is written to disk.
pub fn to_json(model: &FittedModel) -> Vec<u8> {
    let mut bytes = serde_json::to_vec_pretty(model).expect("a fitted model always serializes");
    bytes.push(b'\n');
    bytes
}

/// Write a model file atomically.
pub fn save(model: &FittedModel, path: &Path) -> Result<()> {
    crate::output::write_atomic(path, &to_json(model))
}

/// Read a model file, refusing other schema versions.
pub fn load(path: &Path) -> Result<FittedModel> {
    let text = crate::output::read_input_text(path)?;
    crate::output::check_unique_keys(path, &text)?;
    let value: serde_json::Value = serde_json::from_str(&text)
        .map_err(|e| Error::parse(format!("model file is not valid JSON: {e}"), Location::new(path, e.line())))?;
    let version = value.get("schema_version").and_then(serde_json::Value::as_u64).ok_or_else(|| {
        Error::data(
            "not a meshcap model file: it has no schema_version (make one with `meshcap fit DATA -o FILE`)",
            path,
        )
    })?;
    let mut value = value;
    if version == 1 {
        // Version 1 predates error structures: every such model is an OLS fit.
        let sigma = value.get("residual_std_error").and_then(serde_json::Value::as_f64).unwrap_or(f64::NAN);
        let n = value.get("n").and_then(serde_json::Value::as_u64).unwrap_or(0) as usize;
        let errors = serde_json::to_value(ErrorModel::legacy_iid(sigma, n)).expect("serializable");
        if let Some(obj) = value.as_object_mut() {
            obj.insert("errors".into(), errors);
            obj.insert("schema_version".into(), SCHEMA_VERSION.into());
        }
    } else if version != u64::from(SCHEMA_VERSION) {
        return Err(Error::Schema {
            path: path.to_path_buf(),
            found: version.min(u64::from(u32::MAX)) as u32,
            expected: SCHEMA_VERSION,
        });
    }
    let model: FittedModel = serde_json::from_value(value)
        .map_err(|e| Error::data(format!("model file does not match schema version {version}: {e}"), path))?;
    let p = model.coefficients.len();
    if p == 0 || model.cov_unscaled.len() != p || model.cov_unscaled.iter().any(|r| r.len() != p) {
        return Err(Error::data(
            format!("model file is inconsistent: {p} coefficients but a covariance of another shape"),
            path,
        ));
    }
    if model.terms.len() + usize::from(model.intercept) != p || model.dof == 0 || model.dof >= model.n {
        return Err(Error::data("model file is inconsistent: terms, intercept and coefficients disagree", path));
    }
    check_terms(&model).map_err(|m| Error::data(format!("model file: {m}"), path))?;
    super::check_level(model.level).map_err(|e| Error::data(format!("model file: {e}"), path))?;
    let positive =
        [("ports_per_revision", model.ports_per_revision), ("services_per_revision", model.services_per_revision)];
    for (name, v) in positive {
        if !(v.is_finite() && v > 0.0) {
            return Err(Error::data(format!("model file: {name} must be a positive number, but {v} is not"), path));
        }
    }
    let s = model.residual_std_error;
    if !(s.is_finite() && s >= 0.0) {
        return Err(Error::data(
            format!("model file: residual_std_error must be finite and not negative, but {s} is not"),
            path,
        ));
    }
    let finite = model.coefficients.iter().all(|c| c.estimate.is_finite())
        && model.cov_unscaled.iter().flatten().all(|v| v.is_finite())
        && (0..p).all(|k| model.cov_unscaled[k][k] >= 0.0);
    if !finite {
        return Err(Error::data(
            "model file: coefficients and covariance must be finite, with a non-negative diagonal",
            path,
        ));
    }
    check_errors(&model).map_err(|m| Error::data(format!("model file: {m}"), path))?;
    Ok(model)
}

/// The terms must be ones `fit` accepts (`column^power`, power 1 to [`MAX_POWER`], each once),
/// named by the coefficients in order after the intercept.
fn check_terms(model: &FittedModel) -> std::result::Result<(), String> {
    use super::term::MAX_POWER;
    for (i, t) in model.terms.iter().enumerate() {
        if !(1..=MAX_POWER).contains(&t.power) {
            return Err(format!("term {t} has power {}; powers go from 1 to {MAX_POWER}", t.power));
        }
        if t.column.trim().is_empty() || t.column.contains('^') || t.column.chars().any(char::is_control) {
            return Err(format!("term {} names no usable column", i + 1));
        }
        if model.terms[..i].contains(t) {
            return Err(format!("term {t} is listed twice"));
        }
        // A kind term must name a kind a proxy can have: any other would match no proxy.
        let kinds = super::covariates::KINDS;
        if let Some(k) = t.column.split(':').filter_map(|p| p.strip_prefix("kind=")).find(|k| !kinds.contains(k)) {
            return Err(format!("term {t} names kind \"{k}\", which is not sidecar, gateway, activator or waypoint"));
        }
    }
    let names = model.coefficients.iter().map(|c| c.name.as_str());
    let want =
        model.intercept.then(|| "intercept".to_string()).into_iter().chain(model.terms.iter().map(|t| t.to_string()));
    if let Some((got, want)) = names.zip(want).find(|(g, w)| g != w) {
        return Err(format!("coefficient \"{got}\" does not name its term \"{want}\""));
    }
    Ok(())
}

/// The error structure must be one `fit` could have written.
fn check_errors(model: &FittedModel) -> std::result::Result<(), String> {
    // 2^60 bytes (1Ei): no sidecar quantity is larger, and fit refuses data beyond it.
    const MAX_BYTES: f64 = 1_152_921_504_606_846_976.0;
    let e = &model.errors;
    let sd = [
        ("sigma_between", e.sigma_between),
        ("sigma_group", e.sigma_group),
        ("sigma_within", e.sigma_within),
        ("residual_std_error", model.residual_std_error),
    ];
    for (name, v) in sd {
        if !(v.is_finite() && (0.0..=MAX_BYTES).contains(&v)) {
            return Err(format!("{name} must be a standard deviation from 0 to 1Ei in bytes, but {v:e} is not"));
        }
    }
    if !(e.effective_n.is_finite() && e.effective_n >= 0.0) {
        return Err(format!("errors.effective_n must be finite and not negative, but {} is not", e.effective_n));
    }
    if (e.kind == ErrorKind::Group) == e.group_effects.is_empty() || (e.kind == ErrorKind::Group && e.column.is_none())
    {
        return Err("errors.group_effects and errors.column belong to kind \"group\" and only to it".into());
    }
    let mut names: Vec<&str> = e.group_effects.iter().map(|g| g.name.as_str()).collect();
    names.sort_unstable();
    if let Some(w) = names.windows(2).find(|w| w[0] == w[1]) {
        return Err(format!("errors.group_effects names group \"{}\" twice", w[0].escape_debug()));
    }
    if let Some(r) = e.rho {
        if !(r.is_finite() && (-1.0..=1.0).contains(&r)) {
            return Err(format!("errors.rho must lie in [-1, 1], but {r} does not"));
        }
    }
    let p = model.coefficients.len();
    for g in &e.group_effects {
        let plausible = g.effect_bytes.abs() <= MAX_BYTES && (0.0..=MAX_BYTES).contains(&g.effect_sd_bytes);
        if !plausible || g.shrink_row.len() != p || g.shrink_row.iter().any(|v| v.is_nan() || v.abs() > 1e15) {
            return Err(format!(
                "errors.group_effects: group \"{}\" has an offset beyond 1Ei, or a shrink_row that is not {p} plausible numbers",
                g.name.escape_debug()
            ));
        }
        if let Some(c) = &g.class {
            let kind_ok = c.kind.as_deref().is_none_or(|k| super::covariates::KINDS.contains(&k));
            let workers_ok = c.concurrency.is_none_or(|w| (1.0..=1024.0).contains(&w) && w.fract() == 0.0);
            if !(kind_ok && workers_ok) {
                return Err(format!(
                    "errors.group_effects: group \"{}\" has a class whose kind is not sidecar, gateway, activator or waypoint, or whose concurrency is not 1 to 1024 workers",
                    g.name.escape_debug()
                ));
            }
        }
    }
    if let Some(r) = &e.slope {
        let plausible = r.sd_bytes_per_unit.is_finite()
            && (0.0..=MAX_BYTES).contains(&r.sd_bytes_per_unit)
            && r.offset_covariance.abs() <= e.sigma_group * r.sd_bytes_per_unit * (1.0 + 1e-9)
            && r.index < p
            && e.group_effects.iter().all(|g| g.slope.as_ref().is_some_and(|s| s.shrink_row_per_unit.len() == p));
        if e.kind != ErrorKind::Group || !plausible {
            return Err(
                "errors.slope belongs to kind \"group\", with a slope sd from 0 to 1Ei, a covariance within sd x sd, and a slope for every group"
                    .into(),
            );
        }
        let intercept = usize::from(model.intercept);
        let term = r.index.checked_sub(intercept).and_then(|k| model.terms.get(k));
        if !term.is_some_and(|t| t.power == 1 && t.column == r.column) {
            return Err(format!(
                "errors.slope: index {} must point at the linear term of its column \"{}\" (terms: {})",
                r.index,
                r.column.escape_debug(),
                model.terms.iter().map(|t| t.to_string()).collect::<Vec<_>>().join(", ")
            ));
        }
    }
    if let Some(s) = &e.spread {
        let max = super::errors::MAX_POWER;
        if !(s.power.is_finite() && s.power.abs() <= max) {
            return Err(format!(
                "errors.spread.power must be finite and at most {max} either way, but {:e} is not",
                s.power
            ));
        }
        if !(s.reference_bytes.is_finite() && (1_048_576.0..=MAX_BYTES).contains(&s.reference_bytes)) {
            return Err(format!(
                "errors.spread.reference_bytes must be a memory from 1Mi to 1Ei, but {:e} is not",
                s.reference_bytes
            ));
        }
    }
    if matches!(e.kind, ErrorKind::Levels | ErrorKind::Group) {
        let total = (e.sigma_within.powi(2) + e.sigma_between.powi(2) + e.sigma_group.powi(2)).sqrt();
        let s = model.residual_std_error;
        if (total - s).abs() > 1e-6 * s.max(1.0) {
            return Err(format!(
                "residual_std_error {s} disagrees with the variance components (sqrt of their sum is {total})"
            ));
        }
    }
    Ok(())
}
