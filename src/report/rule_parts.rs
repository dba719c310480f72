//! The parts every alert rule file is built from: the settings, the rule and group shapes
//! Prometheus loads, the recorded series' names, the two alerts, and the bound's pieces both
//! the straight line's rules ([`super::rules`]) and the per-kind rules ([`super::rule_lines`])
//! write (a number PromQL reads back exactly, a new proxy's reading variance, the driver).

use serde::Serialize;

use crate::error::{Error, Result};
use crate::model::FittedModel;
use crate::project::PushAllowance;
use crate::series::{PORTS, REVISIONS};

/// What the rules are built from.
#[derive(Debug, Clone)]
pub struct RuleSettings {
    /// Confidence level of the one-sided upper bound.
    pub level: f64,
    /// Share of the limit kept free.
    pub headroom: f64,
    /// The push allowance the bound includes.
    pub push: PushAllowance,
    /// Days ahead the growth alert looks.
    pub alert_days: f64,
    /// The meshcap command that explains the numbers, put in the annotations.
    pub explain: String,
}

#[derive(Serialize)]
pub(super) struct Rule {
    #[serde(skip_serializing_if = "Option::is_none")]
    record: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    alert: Option<String>,
    expr: String,
    #[serde(rename = "for", skip_serializing_if = "Option::is_none")]
    for_: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    labels: Option<std::collections::BTreeMap<String, String>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    annotations: Option<std::collections::BTreeMap<String, String>>,
}

#[derive(Serialize)]
pub(super) struct Group {
    pub(super) name: String,
    pub(super) rules: Vec<Rule>,
}

/// A recording rule.
pub(super) fn record(name: &str, expr: String) -> Rule {
    Rule { record: Some(name.to_string()), alert: None, expr, for_: None, labels: None, annotations: None }
}

/// Recorded series names.
pub const CLUSTERS: &str = "meshcap:istio_proxy_clusters";
/// The predicted peak memory per proxy.
pub const PREDICTED: &str = "meshcap:istio_proxy_memory_predicted_bytes";
/// Its one-sided upper bound.
pub const UPPER: &str = "meshcap:istio_proxy_memory_upper_bytes";
/// The upper bound at the cluster count `alert_days` ahead.
pub const UPPER_AHEAD: &str = "meshcap:istio_proxy_memory_upper_bytes_ahead";
/// The container limit per proxy.
pub const LIMIT: &str = "meshcap:istio_proxy_memory_limit_bytes";

/// A number as PromQL reads it back to the same f64.
pub(super) fn num(v: f64) -> String {
    if v < 0.0 {
        format!("({v:?})")
    } else {
        format!("{v:?}")
    }
}

/// The two alerts on the recorded bounds, against the limit less the headroom.
pub(super) fn alerts(s: &RuleSettings) -> Vec<Rule> {
    let target = format!("{LIMIT} * {}", num(1.0 - s.headroom));
    let labels = |severity: &str| Some([("severity".to_string(), severity.to_string())].into_iter().collect());
    let annotations = |summary: &str| {
        Some(
            [
                ("summary".to_string(), summary.to_string()),
                (
                    "description".to_string(),
                    format!(
                        "istio-proxy of {{{{ $labels.namespace }}}}/{{{{ $labels.pod }}}}: meshcap's {:.0}% upper bound of its memory ({}) against its limit x {:.2}; explained by: {}",
                        s.level * 100.0,
                        s.push.describe(),
                        1.0 - s.headroom,
                        s.explain
                    ),
                ),
            ]
            .into_iter()
            .collect(),
        )
    };
    vec![
        Rule {
            record: None,
            alert: Some("MeshcapSidecarNearLimit".into()),
            expr: format!("{UPPER} >= on (namespace, pod) {target}"),
            for_: Some("15m".into()),
            labels: labels("critical"),
            annotations: annotations("istio-proxy memory is predicted to reach its limit"),
        },
        Rule {
            record: None,
            alert: Some("MeshcapSidecarOOMForecast".into()),
            expr: format!("{UPPER_AHEAD} >= on (namespace, pod) {target} unless on (namespace, pod) {UPPER} >= on (namespace, pod) {target}"),
            for_: Some("15m".into()),
            labels: labels("warning"),
            annotations: annotations(&format!(
                "istio-proxy memory will reach its limit within {} days at the last 7 days' cluster growth",
                s.alert_days
            )),
        },
    ]
}

/// [`residual_variance`] around the mean `mean` (a PromQL expression) at `u`.
pub(super) fn reading_variance(model: &FittedModel, mean: &str, u: &str) -> String {
    let e = &model.errors;
    let mut out = match &e.spread {
        None => num(model.residual_std_error.powi(2)),
        Some(sp) => format!(
            "{level} * (clamp_min({mean}, 1) / {reference}) ^ {power} + {group}",
            level = num(e.sigma_within.powi(2) + e.sigma_between.powi(2)),
            reference = num(sp.reference_bytes),
            power = num(2.0 * sp.power),
            group = num(e.sigma_group.powi(2)),
        ),
    };
    if let Some(slope) = &e.slope {
        out = format!(
            "{out} + 2 * {c} * {u} + {v} * ({u})^2",
            c = num(slope.offset_covariance),
            v = num(slope.sd_bytes_per_unit.powi(2))
        );
    }
    out
}

/// The model's driver (its first term: ports, 1 cluster a unit, or revisions,
/// `ports_per_revision` clusters a unit) and clusters per unit; with `single`, the only term.
pub(super) fn driver(model: &FittedModel, single: bool) -> Result<(&'static str, f64)> {
    let found = match model.terms.as_slice() {
        [t, rest @ ..] if t.power == 1 && (!single || rest.is_empty()) => match t.column.as_str() {
            PORTS => Some((PORTS, 1.0)),
            REVISIONS => Some((REVISIONS, model.ports_per_revision)),
            _ => None,
        },
        _ => None,
    };
    let Some(found) = found else {
        let what = if single { "one linear term" } else { "a first term linear" };
        return Err(Error::invalid(format!(
            "rules need a model with an intercept and {what} in ports or revisions (what Envoy's cluster count measures), but {} has {}",
            model.name(),
            model.terms.iter().map(|t| t.to_string()).collect::<Vec<_>>().join(", ")
        )));
    };
    if !model.intercept {
        return Err(Error::invalid(format!("rules need a model with an intercept; {} has none", model.name())));
    }
    Ok(found)
}

/// The quadratic alternative's upper bound `mean + t sqrt(var + reading)` from PromQL
/// expressions of its mean and coefficient variance; its reading variance `sigma2` scales with
/// the variance function `(power, reference)` when the model has one. Shared by the straight
/// line's rules and the per-kind rules.
pub(super) fn quadratic_upper(mean: &str, var: &str, sigma2: f64, t: f64, spread: Option<(f64, f64)>) -> String {
    let reading = match spread {
        None => num(sigma2),
        Some((power, reference)) => {
            format!("{} * (clamp_min({mean}, 1) / {}) ^ {}", num(sigma2), num(reference), num(2.0 * power))
        }
    };
    format!("{mean} + {} * sqrt(clamp_min({var}, 0) + {reading})", num(t))
}
