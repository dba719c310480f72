//! The model a fleet forecast uses when none is given: the pooled fit with a random offset per
//! proxy, on a series cleaned proxy by proxy.
//!
//! One linear term on ports (revisions when the series has no ports), `--errors auto`: with a
//! proxy column that is a random offset per proxy (issue 10's REML), and a random slope per
//! proxy beside it when the likelihood-ratio test finds the proxies' slopes differ (issue 19);
//! each proxy is then dated from its own offset and slope (BLUPs), and inference counts proxies
//! and levels, not readings. Restarts, OOMKills and double counting
//! are marked first ([`clean_by_proxy`]) so a container's first reading while it loads its
//! config never pulls the line down.

use crate::error::Result;
use crate::model::{self, ErrorSpec, FitSettings, FittedModel, Term};
use crate::series::clean::{clean_by_proxy_owned, CleanSettings};
use crate::series::{Series, PORTS, REVISIONS};

/// Clean `series` proxy by proxy (a `limit_bytes` overrides its limit column).
pub fn clean(series: Series, limit_bytes: Option<f64>) -> Result<Series> {
    let settings = CleanSettings { limit_bytes, ..CleanSettings::default() };
    Ok(clean_by_proxy_owned(series, &settings)?.0)
}

/// Fit the pooled model on a (cleaned) series; `sha256` is the file's digest (kept in the
/// model), `label` the path shown.
pub fn pooled_fit(series: &Series, sha256: String, label: &str, level: f64) -> Result<FittedModel> {
    let predictor = if series.column(PORTS).is_some() { PORTS } else { REVISIONS };
    let errors = ErrorSpec::Auto;
    let settings = FitSettings {
        terms: Some(vec![Term::linear(predictor)]),
        level,
        source_label: Some(label.to_string()),
        errors,
        ..FitSettings::default()
    };
    model::fit_hashed(series, &settings, sha256)
}
