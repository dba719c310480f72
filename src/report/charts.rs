//! Chart data from a fitted model: what the plot room draws, computed here from the model,
//! its series, a topology and the projections.

use crate::mesh::{visibility, ProxyKind, ScopeMap, Topology};
use crate::model::FittedModel;
use crate::plot::{CurvePoint, FitChart, LimitMarker, OomBracket, SafeLimitChart, SafeSeries, ScopeBar, ScopeChart};
use crate::project::{
    compare_scopes, first_crossing, last_safe_integer, safe_for_limit, Bounds, Caution, Crossing, RevisionPath,
};
use crate::quantity::{format_bytes, MIB};
use crate::series::{Series, REVISIONS};

pub use super::residual_charts::{level_chart, residual_chart};

/// Points on the fitted curve and bands.
const CURVE_POINTS: usize = 200;

/// The predictor on the x axis: `revisions` when the model has it, else its first term.
pub fn x_column(model: &FittedModel) -> String {
    if model.terms.iter().any(|t| t.column == REVISIONS) {
        REVISIONS.to_string()
    } else {
        model.terms.first().map_or_else(|| REVISIONS.to_string(), |t| t.column.clone())
    }
}

/// Revisions per unit of `column` on the default revision path: a model fitted on ports
/// (or Services) alone is drawn against revision equivalents, ports / ports per revision.
pub(super) fn revisions_per_unit(model: &FittedModel, column: &str) -> f64 {
    match column {
        crate::series::PORTS => 1.0 / model.ports_per_revision,
        crate::series::SERVICES => 1.0 / model.services_per_revision,
        _ => 1.0,
    }
}

/// The fit chart: observations, fitted line, bands, limits, OOM brackets, crossings and safe
/// counts.
pub fn fit_chart(model: &FittedModel, series: Option<&Series>, limits: &[f64], caution: Caution) -> FitChart {
    let bounds = Bounds::new(model, RevisionPath::new(model), caution);
    // The line and bands are the steady state the readings measure; the safe counts marked
    // on them include the push allowance.
    let steady = bounds.steady();
    let xcol = x_column(model);
    let unit = revisions_per_unit(model, &xcol);
    let observations: Vec<(f64, f64)> = series
        .and_then(|s| {
            let rows = s.fit_rows();
            let x = s.numbers(&xcol, &rows).ok()?;
            let y = s.numbers(&model.response, &rows).ok()?;
            Some(x.iter().map(|x| x * unit).zip(y.iter().copied()).collect())
        })
        .unwrap_or_default();
    let data_max = model.range(&xcol).map_or(1.0, |r| r.max * unit).max(1.0);
    let answers: Vec<_> = limits.iter().map(|&l| safe_for_limit(&bounds, l, 21.0)).collect();
    // Show the data and the crossings of the limits up to twice the data range.
    let reach =
        answers.iter().filter_map(|a| a.crossing_revisions).filter(|&c| c <= 2.5 * data_max).fold(data_max, f64::max);
    let x_max = reach * 1.08;
    let curve = (0..=CURVE_POINTS)
        .map(|i| {
            let x = x_max * i as f64 / CURVE_POINTS as f64;
            let (ci_low, ci_high) = steady.mean_band(x);
            let (pi_low, pi_high) = steady.band(x);
            CurvePoint { x, mean: steady.mean(x), ci_low, ci_high, pi_low, pi_high }
        })
        .collect();
    let y_max = steady.band(x_max).1;
    let limits = answers
        .iter()
        .filter(|a| a.limit_bytes <= y_max * 1.15)
        .map(|a| LimitMarker {
            limit_bytes: a.limit_bytes,
            label: format!("limit {}", format_bytes(a.limit_bytes)),
            crossing: a.steady_crossing_revisions,
            safe: a.safe_revisions.map(|s| s as f64),
        })
        .collect();
    let oom = model
        .oom
        .iter()
        .filter_map(|o| {
            Some(OomBracket {
                low: o.last_good_revisions.unwrap_or(0.0),
                high: o.revisions?,
                limit_bytes: o.limit_bytes?,
            })
        })
        .collect();
    FitChart {
        title: format!("istio-proxy memory vs {xcol}: {}", model.name()),
        subtitle: format!(
            "{} n={} R²={:.5}, {:.0}% bands (CI of mean, prediction); data {}",
            match model.errors.kind {
                crate::model::ErrorKind::Iid => "OLS".to_string(),
                _ => format!("errors {} ({} levels, t dof {})", model.errors.label(), model.errors.levels, model.dof),
            },
            model.n,
            model.r_squared,
            caution.level * 100.0,
            model.source.path
        ),
        observations,
        oom,
        curve,
        limits,
        ports_per_revision: model.ports_per_revision,
    }
}

/// Limits from 256Mi to 4Gi, 64Mi apart below 1Gi and 128Mi above.
pub fn limit_grid() -> Vec<f64> {
    let mut v: Vec<f64> = (4..16).map(|k| k as f64 * 64.0 * MIB).collect();
    v.extend((8..=32).map(|k| k as f64 * 128.0 * MIB));
    v
}

/// Safe mesh-wide revisions against the proxy limit, one line per scope (and the gateways).
///
/// Without a topology: the revisions one unscoped proxy can hold. With one: the topology's
/// revisions are scaled uniformly, and the line gives the most the whole mesh can hold before
/// its most exposed sidecar is no longer safe.
pub fn safe_limit_chart(
    model: &FittedModel,
    topology: Option<&Topology>,
    scopes: &[ScopeMap],
    caution: Caution,
) -> crate::Result<SafeLimitChart> {
    let limits = limit_grid();
    let mut series = Vec::new();
    match topology {
        None => {
            let bounds = Bounds::new(model, RevisionPath::new(model), caution);
            let points = limits
                .iter()
                .map(|&l| (l, safe_for_limit(&bounds, l, 21.0).safe_revisions.map(|s| s as f64)))
                .collect();
            series.push(SafeSeries { label: "one proxy, no Sidecar scoping".into(), points });
        }
        Some(t) => {
            let total: f64 =
                t.namespaces.iter().flat_map(|n| &n.knative).map(|k| f64::from(k.count) * f64::from(k.revisions)).sum();
            let mut gateway_line = None;
            for scope in scopes {
                let mut seen = visibility(t, scope)?;
                // Proxies that see the same counts give the same curve: one crossing search each.
                seen.sort_by_key(|v| v.curve_key());
                seen.dedup_by_key(|v| v.curve_key());
                let mut sidecar_pts = Vec::new();
                let mut gateway_pts = Vec::new();
                for &l in &limits {
                    let mut worst_sidecar: Option<f64> = None;
                    let mut worst_gateway: Option<f64> = None;
                    for v in &seen {
                        let b = Bounds::new(model, RevisionPath::for_visible(model, v), caution);
                        let target = l * (1.0 - caution.headroom);
                        let c = first_crossing(|r| b.upper(r), target);
                        let scale = match c {
                            Crossing::Never => f64::INFINITY,
                            _ => {
                                last_safe_integer(|r| b.upper(r), target, c).map_or(0.0, |s| s as f64)
                                    / v.counts.growing_revisions.max(1.0)
                            }
                        };
                        // Mesh infrastructure, like gateways, is the same under every scope.
                        let slot = if v.kind.unscoped() { &mut worst_gateway } else { &mut worst_sidecar };
                        *slot = Some(slot.map_or(scale, |w: f64| w.min(scale)));
                    }
                    sidecar_pts.push((l, worst_sidecar.filter(|s| s.is_finite()).map(|s| (s * total).floor())));
                    gateway_pts.push((l, worst_gateway.filter(|s| s.is_finite()).map(|s| (s * total).floor())));
                }
                series.push(SafeSeries { label: format!("sidecars, scope {scope}"), points: sidecar_pts });
                if gateway_line.is_none() && gateway_pts.iter().any(|p| p.1.is_some()) {
                    let label = if seen.iter().any(|v| v.kind == ProxyKind::Infrastructure) {
                        "gateways and mesh infrastructure (any scope)"
                    } else {
                        "gateways (any scope)"
                    };
                    gateway_line = Some(SafeSeries { label: label.into(), points: gateway_pts });
                }
            }
            // Drawn first, so that a sidecar curve equal to it (a namespace that sees what the
            // gateways see) stays visible on top.
            if let Some(g) = gateway_line {
                series.insert(0, g);
            }
        }
    }
    let oom_bracket = model.oom.iter().find_map(|o| {
        Some(OomBracket { low: o.last_good_revisions.unwrap_or(0.0), high: o.revisions?, limit_bytes: o.limit_bytes? })
    });
    Ok(SafeLimitChart {
        title: format!(
            "Safe revisions vs limit: {} ({:.0}% bound, headroom {:.0}%, {})",
            model.name(),
            caution.level * 100.0,
            caution.headroom * 100.0,
            caution_words(&caution)
        ),
        series,
        oom_bracket,
    })
}

/// What the curves include beyond steady state, in a few words for titles.
pub fn caution_words(caution: &Caution) -> String {
    let mut parts = Vec::new();
    match caution.push.kind {
        crate::project::PushKind::Full => parts.push(format!("full config push x{:.2}", caution.push.factor())),
        crate::project::PushKind::Delta => parts.push(format!("delta-xDS push x{:.2}", caution.push.factor())),
        crate::project::PushKind::None => {}
    }
    if caution.transient != 1.0 {
        parts.push(format!("transient x{}", caution.transient));
    }
    if parts.is_empty() {
        "steady state".into()
    } else {
        parts.join(", ")
    }
}

/// Proxies drawn in the scope chart at most.
const MAX_SCOPE_PROXIES: usize = 24;

/// Predicted memory per proxy under each scope.
pub fn scope_chart(
    model: &FittedModel,
    topology: &Topology,
    topology_name: &str,
    scopes: &[ScopeMap],
    caution: Caution,
    limit: f64,
) -> crate::Result<ScopeChart> {
    let projections = compare_scopes(model, topology, scopes, caution, limit)?;
    // A readable chart holds a few dozen proxies: the ones the first scope predicts the most
    // memory for (the first at risk), in topology order; the title says how many are left out.
    let total = projections.first().map_or(0, |p| p.namespaces.len());
    let mut shown: Vec<usize> = (0..total).collect();
    if total > MAX_SCOPE_PROXIES {
        let first = &projections[0].namespaces;
        shown.sort_by(|&a, &b| first[b].predicted_bytes.total_cmp(&first[a].predicted_bytes).then(a.cmp(&b)));
        shown.truncate(MAX_SCOPE_PROXIES);
        shown.sort_unstable();
    }
    let bars = projections
        .iter()
        .flat_map(|p| {
            shown.iter().map(|&i| &p.namespaces[i]).map(move |n| ScopeBar {
                proxy: match n.kind {
                    ProxyKind::Sidecar => n.namespace.clone(),
                    ProxyKind::Gateway => format!("{} (gw)", n.namespace),
                    ProxyKind::Infrastructure => format!("{} (infra)", n.namespace),
                },
                scope: p.scope.clone(),
                predicted: n.predicted_bytes,
                low: n.prediction_interval[0],
                high: n.prediction_interval[1],
                limit: None,
            })
        })
        .collect();
    // The bars are peaks with the push allowance (or steady state): the title says which.
    let what = caution_words(&caution);
    let title = if total > MAX_SCOPE_PROXIES {
        format!(
            "Memory per proxy by Sidecar scope ({what}), highest {MAX_SCOPE_PROXIES} of {total}: {topology_name} ({})",
            model.name()
        )
    } else {
        format!("Memory per proxy by Sidecar scope ({what}): {topology_name} ({})", model.name())
    };
    Ok(ScopeChart { title, limit_bytes: limit, bars })
}
