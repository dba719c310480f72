//! The model a fleet forecast uses when none is given: the pooled fit with a random offset per
//! proxy, on a series cleaned proxy by proxy.
//!
//! One linear term on ports (revisions when the series has no ports), `--errors auto`: with a
//! proxy column that is a random offset per proxy (issue 10's REML), and a random slope per
//! proxy beside it when the likelihood-ratio test finds the proxies' slopes differ (issue 19);
//! each proxy is then dated from its own offset and slope (BLUPs), and inference counts proxies
//! and levels, not readings. Restarts, OOMKills and double counting
//! are marked first ([`clean_by_proxy`]) so a container's first reading while it loads its
//! config never pulls the line down. A `kind` column adds a line per proxy kind and a varying
//! `concurrency` a slope per worker ([`covariates`]), so a gateway among sidecars is dated from
//! a gateway's slope.

use crate::error::Result;
use crate::model::{self, covariates, ErrorSpec, FitSettings, FittedModel, Term};
use crate::series::clean::{clean_by_proxy_owned, CleanSettings};
use crate::series::{Series, PORTS, REVISIONS};

/// Clean `series` proxy by proxy (a `limit_bytes` overrides its limit column).
pub fn clean(series: Series, limit_bytes: Option<f64>) -> Result<Series> {
    let settings = CleanSettings { limit_bytes, ..CleanSettings::default() };
    Ok(clean_by_proxy_owned(series, &settings)?.0)
}

/// Fit the pooled model on a (cleaned) series; `sha256` is the file's digest (kept in the
/// model), `label` the path shown. With `kind` or `concurrency` columns, their terms
/// ([`crate::model::covariates`]) are fitted beside the driver, evaluated from the series'
/// columns (no copy of a large fleet, no column added).
pub fn pooled_fit(series: &Series, sha256: String, label: &str, level: f64) -> Result<FittedModel> {
    let predictor = if series.column(PORTS).is_some() { PORTS } else { REVISIONS };
    // Rows are listed only when there are covariates to choose (10^7 indexes are 160 MB).
    let named = series.column(covariates::KIND).is_some() || series.column(crate::series::CONCURRENCY).is_some();
    let choice = if named {
        let rows = series.fit_rows();
        covariates::choose(series, &rows, predictor)?
    } else {
        covariates::Choice::default()
    };
    let mut terms = vec![Term::linear(predictor)];
    terms.extend(choice.terms);
    let settings = FitSettings {
        terms: Some(terms),
        level,
        source_label: Some(label.to_string()),
        errors: ErrorSpec::Auto,
        covariates: false,
        ..FitSettings::default()
    };
    let mut model = model::fit_hashed(series, &settings, sha256)?;
    model.notes.extend(choice.notes);
    Ok(model)
}
