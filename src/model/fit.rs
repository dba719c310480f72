//! Fitting: from a measurement series and settings to a [`FittedModel`].
//!
//! Chooses the predictors (by default `revisions`, plus `ports`/`services` when they vary
//! independently of it), keeps OOM rows out, refuses data that cannot support a fit (too few
//! rows, a constant or collinear predictor) with a message naming the columns, and computes the
//! inference statsmodels' OLS reports.

use rayon::prelude::*;
use statrs::distribution::{ContinuousCDF, FisherSnedecor};

use super::checks::{check_level, check_magnitude, MAX_PREDICTOR, MAX_RESPONSE};
use super::covariates;
use super::defaults;
use super::errors::{infer, ErrorKind, ErrorSpec, FitInput};
use super::fitted::{Coefficient, ColumnRange, FittedModel, Source, SCHEMA_VERSION};
use super::solve::{least_squares, DesignColumn};
use super::sums::total_sum_of_squares;
use super::term::Term;
use crate::error::{Error, Result};
use crate::series::{MemoryAllowance, Series, MEMORY, PORTS, REVISIONS, SERVICES};

/// Endpoint ports per Knative revision before Knative 1.21: private 8012, 8022, 9090, 9091,
/// 80, 443 and public 80, 443.
pub const DEFAULT_PORTS_PER_REVISION: f64 = 8.0;
/// Kubernetes Services per Knative revision: public and private.
pub const SERVICES_PER_REVISION: f64 = 2.0;

/// What to fit.
#[derive(Debug, Clone, PartialEq)]
pub struct FitSettings {
    /// Predictor terms; `None` picks the defaults described in the module docs.
    pub terms: Option<Vec<Term>>,
    /// Response column.
    pub response: String,
    /// Fit an intercept (the idle baseline).
    pub intercept: bool,
    /// Confidence level of the reported intervals, in (0, 1).
    pub level: f64,
    /// Endpoint ports per revision, to derive per-port memory.
    pub ports_per_revision: f64,
    /// Path recorded in the model (as the user gave it).
    pub source_label: Option<String>,
    /// What to assume about the errors (`--errors`).
    pub errors: ErrorSpec,
    /// How to turn a series of Envoy's own memory into a working-set estimate
    /// (`--memory-allowance`); without it such a series is refused ([`crate::series::MemoryMetric`]).
    pub memory_allowance: Option<MemoryAllowance>,
    /// Add a line per proxy kind and a per-worker slope when the series has `kind` or
    /// `concurrency` columns that vary ([`super::covariates`]), unless the terms name them.
    pub covariates: bool,
}

impl Default for FitSettings {
    fn default() -> Self {
        FitSettings {
            terms: None,
            response: MEMORY.to_string(),
            intercept: true,
            level: 0.95,
            ports_per_revision: DEFAULT_PORTS_PER_REVISION,
            source_label: None,
            errors: ErrorSpec::Auto,
            memory_allowance: None,
            covariates: true,
        }
    }
}

impl FitSettings {
    /// Check ranges; the error names the bad value.
    pub fn validate(&self) -> Result<()> {
        check_level(self.level)?;
        if !(self.ports_per_revision.is_finite() && self.ports_per_revision > 0.0) {
            return Err(Error::invalid(format!(
                "ports per revision must be a positive number, but {} is not",
                self.ports_per_revision
            )));
        }
        Ok(())
    }
}

/// Fit a model to a series. `bytes` are the data file's contents, hashed into the model.
pub fn fit(series: &Series, settings: &FitSettings, bytes: &[u8]) -> Result<FittedModel> {
    fit_hashed(series, settings, sha256_hex(bytes))
}

/// [`fit`] given the data file's SHA-256 (lower-case hex), as [`Series::load_hashed`] computes
/// it while reading.
pub fn fit_hashed(series: &Series, settings: &FitSettings, sha256: String) -> Result<FittedModel> {
    settings.validate()?;
    let rows = series.fit_rows();
    let mut y = series.numbers(&settings.response, &rows)?;
    let mut notes = Vec::new();
    if settings.response == MEMORY {
        if let Some(note) = working_set(series, settings, &mut y)? {
            notes.push(note);
        }
    }
    let (mut terms, mut solved) = match &settings.terms {
        Some(t) => (t.clone(), None),
        None => defaults::default_terms(series, &rows, (&settings.response, settings.intercept), &mut notes)?,
    };
    if defaults::with_covariates(series, &rows, settings.covariates, &mut terms, &mut notes)? {
        solved = None;
    }
    let p = terms.len() + usize::from(settings.intercept);
    if p == 0 {
        return Err(Error::invalid("nothing to fit: no predictors and no intercept"));
    }
    if rows.len() <= p {
        return Err(Error::data(
            format!(
                "{} usable row{} for {p} parameter{}: a fit with intervals needs at least {} (OOM rows do not count)",
                rows.len(),
                if rows.len() == 1 { "" } else { "s" },
                if p == 1 { "" } else { "s" },
                p + 1
            ),
            &series.path,
        ));
    }
    check_magnitude(series, &rows, &settings.response, &y, MAX_RESPONSE)?;
    if settings.response == MEMORY {
        if let Some(k) = crate::series::first_where(&y, |v| v != 0.0 && v.abs() < 1.0) {
            return Err(Error::parse(
                format!("memory = {:e} bytes is less than one byte: not a sidecar reading (a unit missing?)", y[k]),
                series.location(rows[k], MEMORY),
            ));
        }
    }
    let mut bases = Vec::new();
    for term in &terms {
        let base = super::derived::values(series, &term.column, &rows)?;
        check_magnitude(series, &rows, &term.column, &base, MAX_PREDICTOR)?;
        bases.push(base);
    }
    if settings.intercept && y.iter().all(|v| *v == y[0]) {
        return Err(Error::data(
            format!("{} is the same in every fitted row ({}): there is nothing to fit", settings.response, y[0]),
            &series.path,
        ));
    }
    for (term, base) in terms.iter().zip(&bases) {
        if settings.intercept && base.iter().all(|v| *v == base[0]) {
            return Err(Error::data(
                format!("predictor {} is constant (every row is {}): its slope cannot be fitted", term.column, base[0]),
                &series.path,
            ));
        }
    }
    let mut design: Vec<DesignColumn> = Vec::new();
    if settings.intercept {
        design.push(DesignColumn { base: &[], power: 0 });
    }
    design.extend(terms.iter().zip(&bases).map(|(t, b)| DesignColumn { base: b, power: t.power }));
    let names: Vec<String> = settings
        .intercept
        .then(|| "intercept".to_string())
        .into_iter()
        .chain(terms.iter().map(Term::to_string))
        .collect();
    let solution = solved.map_or_else(|| least_squares(&design, &y), Ok).map_err(|d| {
        let mut columns: Vec<String> = d.depends_on.iter().map(|&i| names[i].clone()).collect();
        columns.insert(0, names[d.column].clone());
        Error::Collinear { path: series.path.clone(), columns, hint: defaults::collinear_hint(&names[d.column]) }
    })?;

    let n = rows.len();
    let input = FitInput {
        series,
        rows: &rows,
        y: &y,
        design: &design,
        terms: &terms,
        intercept: settings.intercept,
        solution: &solution,
    };
    let inference = infer(&settings.errors, &input)?;
    let dof = inference.dof;
    let sigma = inference.sigma_obs;
    let cov: Vec<Vec<f64>> = inference.cov_unscaled.chunks(p).map(<[f64]>::to_vec).collect();
    let tq = super::tdist::quantile(dof as f64, 0.5 + settings.level / 2.0);
    let coefficients = names
        .iter()
        .enumerate()
        .map(|(k, name)| {
            let estimate = inference.coefficients[k];
            let std_error = inference.cov[k * p + k].max(0.0).sqrt();
            let t = (std_error > 0.0).then(|| estimate / std_error);
            let p_value = t.map(|t| 2.0 * super::tdist::sf(dof as f64, t.abs()));
            Coefficient {
                name: name.clone(),
                estimate,
                std_error,
                t,
                p: p_value,
                ci_low: estimate - tq * std_error,
                ci_high: estimate + tq * std_error,
            }
        })
        .collect::<Vec<_>>();

    let tss = total_sum_of_squares(&y, settings.intercept);
    let r_squared = 1.0 - inference.rss / tss;
    let k_const = usize::from(settings.intercept);
    let adj_r_squared = 1.0 - (n - k_const) as f64 / (n - p) as f64 * (1.0 - r_squared);
    let df_model = p - k_const;
    let (f_statistic, f_p_value) = if df_model == 0 || inference.rss <= 0.0 {
        (None, None)
    } else if inference.errors.kind == ErrorKind::Iid {
        let ols_sigma2 = solution.rss / (n - p) as f64;
        let f = ((tss - solution.rss) / df_model as f64) / ols_sigma2;
        let p = FisherSnedecor::new(df_model as f64, dof as f64).ok().filter(|_| f.is_finite()).map(|d| d.sf(f));
        (Some(f).filter(|f| f.is_finite()), p)
    } else {
        wald_f(&inference.coefficients, &inference.cov, p, k_const, dof)
    };
    notes.extend(inference.notes.iter().cloned());

    // One column per core: min and max do not depend on the order, each mean is one
    // sequential sum.
    let ranges = terms
        .par_iter()
        .zip(bases.par_iter())
        .filter(|(t, _)| t.power == 1)
        .map(|(t, b)| ColumnRange {
            column: t.column.clone(),
            min: b.iter().copied().fold(f64::INFINITY, f64::min),
            max: b.iter().copied().fold(f64::NEG_INFINITY, f64::max),
            mean: b.iter().sum::<f64>() / b.len() as f64,
        })
        .collect();

    let mut model = FittedModel {
        schema_version: SCHEMA_VERSION,
        meshcap_version: env!("CARGO_PKG_VERSION").to_string(),
        response: settings.response.clone(),
        intercept: settings.intercept,
        terms,
        coefficients,
        cov_unscaled: cov,
        residual_std_error: sigma,
        n,
        dof,
        level: settings.level,
        r_squared,
        adj_r_squared,
        f_statistic,
        f_p_value,
        condition_number: solution.condition_number,
        method: solution.method,
        per_revision_bytes: None,
        per_port_bytes: None,
        per_port_derived: false,
        ports_per_revision: settings.ports_per_revision,
        services_per_revision: SERVICES_PER_REVISION,
        ranges,
        oom: series.oom_observations(),
        source: Source {
            path: settings.source_label.clone().unwrap_or_else(|| series.path.display().to_string()),
            sha256,
            rows: series.rows.len(),
            oom_rows: series.rows.len() - n,
        },
        notes,
        errors: inference.errors,
        conditions: Default::default(),
    };
    if model.terms.iter().any(|t| covariates::is_covariate(&t.column)) {
        defaults::attach_classes(&mut model, series, &rows)?;
    }
    set_per_unit(&mut model);
    Ok(model)
}

/// Memory against a container limit is the container working set: the OOM killer compares the
/// cgroup's memory with the limit. A series of another metric ([`crate::series::MemoryMetric`]) is refused,
/// or with an allowance converted in `y` (`fixed + (1 + fraction) x reading`) and the
/// conversion returned as a note for the model.
fn working_set(series: &Series, settings: &FitSettings, y: &mut std::borrow::Cow<'_, [f64]>) -> Result<Option<String>> {
    let metric = series.memory_metric();
    if metric.is_working_set() {
        return Ok(None);
    }
    let Some(a) = settings.memory_allowance else {
        return Err(Error::data(
            format!(
                "memory is {metric}, not the container working set: {}. Fitting it against a container limit would promise revisions the proxy dies before; measure container_memory_working_set_bytes{{container=\"istio-proxy\"}}, or convert with --memory-allowance (e.g. 50Mi+15%: pilot-agent ~50MB, allocator free pages and stacks)",
                metric.shortfall()
            ),
            &series.path,
        ));
    };
    *y = std::borrow::Cow::Owned(y.iter().map(|&v| a.apply(v)).collect());
    Ok(Some(format!(
        "memory converted from {metric} to a working-set estimate with the stated allowance {a}: working set = {} + {} x {metric}; the allowance stands for pilot-agent (~50 MB, istio#38000), the allocator's free pages (istio#18954) and stacks",
        crate::quantity::Bytes(a.fixed_bytes),
        1.0 + a.fraction
    )))
}

/// Per-revision and per-port memory, from whichever predictors the model fitted.
///
/// A Knative revision adds one to `revisions`, `ports_per_revision` endpoint ports and
/// `services_per_revision` Services, so its memory is `b_revisions + ppr * b_ports +
/// spr * b_services` over the linear terms present. Per-port memory is `b_ports` when ports were
/// fitted, otherwise per-revision memory / ppr (derived).
fn set_per_unit(model: &mut FittedModel) {
    let polynomial =
        model.terms.iter().any(|t| t.power > 1 && [REVISIONS, PORTS, SERVICES].contains(&t.column.as_str()));
    if polynomial {
        model.notes.push("per-revision memory is not constant: the model has polynomial terms".into());
        return;
    }
    let rev = model.linear_coefficient(REVISIONS);
    let port = model.linear_coefficient(PORTS);
    let service = model.linear_coefficient(SERVICES);
    if rev.is_none() && port.is_none() && service.is_none() {
        return;
    }
    let (ppr, spr) = (model.ports_per_revision, model.services_per_revision);
    let per_revision = rev.unwrap_or(0.0) + ppr * port.unwrap_or(0.0) + spr * service.unwrap_or(0.0);
    model.per_revision_bytes = Some(per_revision);
    let mut parts = Vec::new();
    if rev.is_some() {
        parts.push("b_revisions".to_string());
    }
    if port.is_some() {
        parts.push(format!("{ppr} x b_ports"));
    }
    if service.is_some() {
        parts.push(format!("{spr} x b_services"));
    }
    if parts.len() > 1 || rev.is_none() {
        model.notes.push(format!("per-revision memory = {}", parts.join(" + ")));
    }
    match port {
        Some(p) => {
            model.per_port_bytes = Some(p);
            model.per_port_derived = false;
        }
        None => {
            model.per_port_bytes = Some(per_revision / ppr);
            model.per_port_derived = true;
            model.notes.push(format!("per-port memory derived: per-revision / {ppr} ports per revision"));
        }
    }
}

/// Wald F test that every non-intercept coefficient is zero, under covariance `cov`.
fn wald_f(b: &[f64], cov: &[f64], p: usize, offset: usize, dof: usize) -> (Option<f64>, Option<f64>) {
    let q = p - offset;
    let v = nalgebra::DMatrix::from_fn(q, q, |i, j| cov[(i + offset) * p + j + offset]);
    let bs = nalgebra::DVector::from_fn(q, |i, _| b[i + offset]);
    let Some(chol) = v.cholesky() else { return (None, None) };
    let f = bs.dot(&chol.solve(&bs)) / q as f64;
    if !f.is_finite() {
        return (None, None);
    }
    let p = FisherSnedecor::new(q as f64, dof as f64).ok().map(|d| d.sf(f));
    (Some(f), p)
}

/// Lower-case hex SHA-256 of some bytes.
pub fn sha256_hex(bytes: &[u8]) -> String {
    use sha2::Digest;
    sha2::Sha256::digest(bytes).iter().map(|b| format!("{b:02x}")).collect()
}
