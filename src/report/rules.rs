//! Prometheus alerting rules that keep forecasting after the planning session (issue 20 §3):
//! the model's prediction and its exact upper bound computed in PromQL from each proxy's Envoy
//! cluster count, an alert when the bound reaches the container limit, and one when the
//! cluster count's growth over the last 7 days brings it there within `alert_days`.
//!
//! `envoy_cluster_manager_active_clusters` (in Istio's default proxy stats) is the `ports`
//! predictor a model is fitted on (or, for a revisions-only model, ports / ports per revision);
//! it also counts Envoy's few static clusters, which errs on the safe side. The prediction is
//! the peak with the push allowance: `b0 + (1 + push) b1 x`; the upper bound is
//! `mean + t sqrt(s^2 + v00 + 2 v01 x' + v11 x'^2)` with `x' = (1 + push) x` in the model's
//! units and `v = s^2 (X'X)^-1`, the straight line's bound `meshcap whatif` computes for a new
//! proxy; `s^2` becomes the variance function's and the random slopes' terms when the model
//! has them (issue 19). Past the largest measured count the bound is the larger of the line's
//! and the quadratic alternative's, as `meshcap safe` and `whatif` compute it (issue 19 §4).
//! A model with a line per proxy kind or a per-worker slope gets a bound per kind
//! ([`super::rule_lines`]).

use serde::Serialize;

use super::rule_parts::{alerts, num, record, Group};
pub use super::rule_parts::{RuleSettings, CLUSTERS, LIMIT, PREDICTED, UPPER, UPPER_AHEAD};
use crate::error::{Error, Result};
use crate::model::FittedModel;

#[derive(Serialize)]
struct RuleFile {
    groups: Vec<Group>,
}

/// The rule groups for `model`, as the `groups:` YAML Prometheus loads.
pub fn rule_yaml(model: &FittedModel, s: &RuleSettings) -> Result<String> {
    let groups = groups(model, s)?;
    serde_yaml::to_string(&RuleFile { groups }).map_err(|e| Error::invalid(format!("cannot write the rules: {e}")))
}

/// The same rules as a prometheus-operator `PrometheusRule` named `name` in `namespace`.
pub fn prometheus_rule_yaml(model: &FittedModel, s: &RuleSettings, name: &str, namespace: &str) -> Result<String> {
    #[derive(Serialize)]
    struct Meta<'a> {
        name: &'a str,
        namespace: &'a str,
    }
    #[derive(Serialize)]
    struct Spec {
        groups: Vec<Group>,
    }
    #[derive(Serialize)]
    #[serde(rename_all = "camelCase")]
    struct Cr<'a> {
        api_version: &'a str,
        kind: &'a str,
        metadata: Meta<'a>,
        spec: Spec,
    }
    crate::mesh::names::namespace(namespace)?;
    crate::mesh::names::object(name)?;
    let cr = Cr {
        api_version: "monitoring.coreos.com/v1",
        kind: "PrometheusRule",
        metadata: Meta { name, namespace },
        spec: Spec { groups: groups(model, s)? },
    };
    serde_yaml::to_string(&cr).map_err(|e| Error::invalid(format!("cannot write the PrometheusRule: {e}")))
}

fn groups(model: &FittedModel, s: &RuleSettings) -> Result<Vec<Group>> {
    if super::rule_lines::has_covariates(model) {
        return super::rule_lines::groups(model, s);
    }
    let (b0, b1, unit) = linear_in_clusters(model)?;
    let factor = s.push.factor();
    let sigma2 = model.residual_std_error.powi(2);
    let c = &model.cov_unscaled;
    let (v00, v01, v11) = (sigma2 * c[0][0], sigma2 * c[0][1], sigma2 * c[1][1]);
    let t = model.t_one_sided(s.level);
    // x' in the model's units: (1 + push) clusters / clusters-per-unit.
    let k = factor / unit;
    let noise = |x: &str| residual_variance(model, b0, b1, &format!("{} * ({x})", num(k)));
    let line_at = |x: &str| {
        format!(
            "{b0} + {slope} * ({x}) + {t} * sqrt({s2} + {v00} + 2 * {v01} * {k} * ({x}) + {v11} * ({k} * ({x}))^2)",
            b0 = num(b0),
            slope = num(b1 * k),
            t = num(t),
            s2 = noise(x),
            v00 = num(v00),
            v01 = num(v01),
            v11 = num(v11),
            k = num(k),
        )
    };
    let quadratic = past_the_data(model, b1, unit, factor, s.level);
    let upper_at = |x: &str| match &quadratic {
        // Past the largest measured count the bound is the larger of the line's and the
        // quadratic's (`Bounds::upper`): line + max(0, quadratic - line) x [u > max].
        Some(q) => {
            let line = line_at(x);
            format!(
                "{line} + clamp_min({} - ({line}), 0) * ({} * ({x}) > bool {})",
                q.upper(x),
                num(1.0 / unit),
                num(q.max)
            )
        }
        None => line_at(x),
    };
    let mut rules = vec![
        record(CLUSTERS, "max by (namespace, pod) (envoy_cluster_manager_active_clusters)".into()),
        record(
            LIMIT,
            "max by (namespace, pod) (kube_pod_container_resource_limits{resource=\"memory\", container=\"istio-proxy\"})"
                .into(),
        ),
        record(PREDICTED, format!("{} + {} * {CLUSTERS}", num(b0), num(b1 * k))),
        record(UPPER, upper_at(CLUSTERS)),
        record(
            UPPER_AHEAD,
            upper_at(&format!(
                "{CLUSTERS} + clamp_min(max by (namespace, pod) (deriv(envoy_cluster_manager_active_clusters[7d])), 0) * {}",
                num(s.alert_days * 86400.0)
            )),
        ),
    ];
    rules.extend(alerts(s));
    Ok(vec![Group { name: "meshcap-istio-proxy-memory".into(), rules }])
}

/// The quadratic alternative's upper bound as PromQL in the cluster count, for a model that
/// carries one on its single term and whose line grows (`Bounds::quadratic_peak`).
struct PastTheData {
    /// The largest measured value of the term (model units).
    max: f64,
    /// Clusters per model unit.
    unit: f64,
    /// The quadratic's mean in u (model units): `c0 + c1 f u + c2 f u^2`, f the push factor.
    mean: [f64; 3],
    /// The variance of that mean, a quartic in u.
    var: [f64; 5],
    /// Its reading variance and one-sided t quantile.
    sigma2: f64,
    t: f64,
    /// The variance function `(power, reference)`, if any.
    spread: Option<(f64, f64)>,
}

fn past_the_data(model: &FittedModel, b1: f64, unit: f64, factor: f64, level: f64) -> Option<PastTheData> {
    let q = model.errors.quadratic.as_ref()?;
    let max = model.range(&q.column)?.max;
    if b1 <= 0.0 || max <= 0.0 || q.coefficients.len() != 3 || model.terms.first()?.column != q.column {
        return None;
    }
    // The design row (1, f u, f u^2): ports and revisions are configuration, so the push
    // allowance scales the square as it does the term (`Bounds::quadratic_peak`).
    let (c, f) = (&q.coefficients, factor);
    let v = |i: usize, j: usize| q.cov[i][j];
    Some(PastTheData {
        max,
        unit,
        mean: [c[0], c[1] * f, c[2] * f],
        var: [v(0, 0), 2.0 * v(0, 1) * f, v(1, 1) * f * f + 2.0 * v(0, 2) * f, 2.0 * v(1, 2) * f * f, v(2, 2) * f * f],
        sigma2: q.sigma_obs * q.sigma_obs,
        t: crate::model::tdist::quantile(q.dof as f64, level),
        spread: model.errors.spread.as_ref().map(|s| (s.power, s.reference_bytes)),
    })
}

impl PastTheData {
    /// The bound at cluster count `x` (a PromQL expression).
    fn upper(&self, x: &str) -> String {
        let u = format!("({} * ({x}))", num(1.0 / self.unit));
        let horner = |c: &[f64]| {
            c.iter()
                .rev()
                .skip(1)
                .fold(num(*c.last().expect("coefficients")), |acc, a| format!("{} + {u} * ({acc})", num(*a)))
        };
        super::rule_parts::quadratic_upper(&horner(&self.mean), &horner(&self.var), self.sigma2, self.t, self.spread)
    }
}

/// `(b0, b1, clusters per model unit)` of a model with an intercept and one linear term in
/// ports (1 cluster a unit) or revisions (`ports_per_revision` clusters a unit).
/// A new proxy's reading variance around the mean at `u` (the model's predictor, a PromQL
/// expression), as `FittedModel::predict_row` computes it: `s^2`; with a variance function
/// its level and reading parts scale as `(mean / reference)^(2 power)` (the fleet's offset
/// variance does not); with random slopes the proxy's own slope adds `2 u tau_01 + u^2
/// tau_1^2`.
fn residual_variance(model: &FittedModel, b0: f64, b1: f64, u: &str) -> String {
    super::rule_parts::reading_variance(model, &format!("{} + {} * {u}", num(b0), num(b1)), u)
}

fn linear_in_clusters(model: &FittedModel) -> Result<(f64, f64, f64)> {
    let (_, unit) = super::rule_parts::driver(model, true)?;
    Ok((model.coefficients[0].estimate, model.coefficients[1].estimate, unit))
}
