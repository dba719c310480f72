//! Chart data from a fitted model: what the plot room draws, computed here from the model,
//! its series, a topology and the projections.

use crate::mesh::{visibility, ProxyKind, ScopeMap, Topology};
use crate::model::FittedModel;
use crate::plot::{
    CurvePoint, FitChart, LevelChart, LevelPoint, LimitMarker, OomBracket, ResidualChart, ResidualPoint,
    SafeLimitChart, SafeSeries, ScopeBar, ScopeChart,
};
use crate::project::{
    compare_scopes, first_crossing, last_safe_integer, safe_for_limit, Bounds, Caution, Crossing, RevisionPath,
};
use crate::quantity::{format_bytes, MIB};
use crate::series::{Series, REVISIONS};

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
fn revisions_per_unit(model: &FittedModel, column: &str) -> f64 {
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

/// Residuals against fitted values and against the x column. A group fit's residuals are
/// taken from each proxy's own line (its offset and, with random slopes, its slope: the BLUPs,
/// as nlme's residual plots show them), with the spread within a proxy as sigma: from the
/// pooled line they carry every proxy's offset and slope, which no sigma of the fit describes
/// (25% of a kind fleet's fell past +-2 sigma, against 5% expected).
pub fn residual_chart(model: &FittedModel, series: &Series) -> Option<ResidualChart> {
    let rows = series.fit_rows();
    let y = series.numbers(&model.response, &rows).ok()?;
    let xcol = x_column(model);
    let unit = revisions_per_unit(model, &xcol);
    let x = series.numbers(&xcol, &rows).ok()?;
    let mut columns = Vec::new();
    for t in &model.terms {
        columns.push((t.column.clone(), crate::model::derived::values(series, &t.column, &rows).ok()?));
    }
    let own = own_groups(model, series, &rows);
    let e = &model.errors;
    let sigma = match own {
        // Within a proxy: level and reading parts (at the variance function's reference).
        Some(_) => e.sigma_within.hypot(e.sigma_between),
        None => model.residual_std_error,
    };
    let points = (0..rows.len())
        .map(|i| {
            let row = model.design_row(|c| columns.iter().find(|(n, _)| n == c).map_or(0.0, |(_, v)| v[i]));
            let fitted = match own.as_ref().and_then(|g| g[i]) {
                Some(g) => model.predict_group(&row, g).mean,
                None => model.predict_row(&row).mean,
            };
            // With a variance function each residual has its own sd (the level and reading
            // parts scale with the mean).
            let sd = match (&own, &e.spread) {
                (Some(_), Some(_)) => e.level_variance(fitted).sqrt(),
                _ => 0.0,
            };
            ResidualPoint { revisions: x[i] * unit, fitted, residual: y[i] - fitted, sd }
        })
        .collect();
    let what = if own.is_some() { "sigma within a proxy" } else { "sigma" };
    Some(ResidualChart {
        title: format!("Residuals: {} ({what} {})", model.name(), format_bytes(sigma)),
        points,
        sigma,
        own_lines: own.is_some(),
    })
}

/// Each fitted row's group effect, for a group fit whose groups the series names; `None`
/// for any other fit.
fn own_groups<'m>(
    model: &'m FittedModel,
    series: &Series,
    rows: &[usize],
) -> Option<Vec<Option<&'m crate::model::GroupEffect>>> {
    let e = &model.errors;
    if e.kind != crate::model::ErrorKind::Group || e.group_effects.is_empty() {
        return None;
    }
    let col = series.column(e.column.as_deref()?)?;
    let by_name: std::collections::HashMap<&str, &crate::model::GroupEffect> =
        e.group_effects.iter().map(|g| (g.name.as_str(), g)).collect();
    let found: Vec<Option<&crate::model::GroupEffect>> = rows
        .iter()
        .map(|&i| match col.get(i) {
            crate::series::Cell::Text(t) => by_name.get(t.as_str()).copied(),
            crate::series::Cell::Number(v) => by_name.get(crate::series::write::format_number(v).as_str()).copied(),
            crate::series::Cell::Empty => None,
        })
        .collect();
    // A model used on other data (no group of it found) keeps the pooled line.
    found.iter().any(Option::is_some).then_some(found)
}

/// Residuals by level: readings grouped as the fit groups them (runs of one setting in time
/// order when every row has a time, else all rows of one setting), each level's mean residual
/// with the range of its readings. `None` when every level holds one reading.
pub fn level_chart(model: &FittedModel, series: &Series) -> Option<LevelChart> {
    let rows = series.fit_rows();
    let y = series.numbers(&model.response, &rows).ok()?;
    let xcol = x_column(model);
    let x = series.numbers(&xcol, &rows).ok()?;
    let mut columns = Vec::new();
    for t in &model.terms {
        if !columns.iter().any(|(n, _): &(String, _)| *n == t.column) {
            columns.push((t.column.clone(), crate::model::derived::values(series, &t.column, &rows).ok()?));
        }
    }
    let residual = |i: usize| {
        let row = model.design_row(|c| columns.iter().find(|(n, _)| n == c).map_or(0.0, |(_, v)| v[i]));
        y[i] - model.predict_row(&row).mean
    };
    // A group fit's levels are nested in its groups (proxies): group first.
    let group: Vec<String> = match (&model.errors.kind, model.errors.column.as_deref().and_then(|c| series.column(c))) {
        (crate::model::ErrorKind::Group, Some(col)) => rows.iter().map(|&i| format!("{:?}", col.get(i))).collect(),
        _ => vec![String::new(); rows.len()],
    };
    let same =
        |a: usize, b: usize| group[a] == group[b] && columns.iter().all(|(_, v)| v[a].to_bits() == v[b].to_bits());
    let times: Option<Vec<f64>> = rows.iter().map(|&i| series.rows.time(i)).collect();
    let mut order: Vec<usize> = (0..rows.len()).collect();
    match &times {
        Some(t) => order.sort_by(|&a, &b| group[a].cmp(&group[b]).then(t[a].total_cmp(&t[b]))),
        None => order.sort_by(|&a, &b| {
            group[a].cmp(&group[b]).then_with(|| {
                columns
                    .iter()
                    .map(|(_, v)| v[a].total_cmp(&v[b]))
                    .find(|o| o.is_ne())
                    .unwrap_or(std::cmp::Ordering::Equal)
            })
        }),
    }
    let mut levels: Vec<LevelPoint> = Vec::new();
    let mut start = 0;
    while start < order.len() {
        let mut end = start + 1;
        while end < order.len() && same(order[start], order[end]) {
            end += 1;
        }
        let r: Vec<f64> = order[start..end].iter().map(|&i| residual(i)).collect();
        levels.push(LevelPoint {
            x: x[order[start]],
            mean: r.iter().sum::<f64>() / r.len() as f64,
            low: r.iter().copied().fold(f64::INFINITY, f64::min),
            high: r.iter().copied().fold(f64::NEG_INFINITY, f64::max),
            readings: r.len(),
        });
        start = end;
    }
    if levels.iter().all(|l| l.readings == 1) {
        // One reading per level: the chart would repeat the residuals chart.
        return None;
    }
    let e = &model.errors;
    let rho = e.rho.map_or_else(String::new, |r| format!(", within-level lag-1 autocorrelation {r:.2}"));
    Some(LevelChart {
        title: format!("Residuals by level: {} (errors {})", model.name(), e.label()),
        subtitle: format!(
            "{} levels of {} readings{}; σ_between {}, σ_within {}{rho}",
            levels.len(),
            rows.len(),
            if e.kind == crate::model::ErrorKind::Group {
                format!(
                    " in {} groups (residuals include each group's offset, σ_group {})",
                    e.groups,
                    format_bytes(e.sigma_group)
                )
            } else {
                String::new()
            },
            format_bytes(e.sigma_between),
            format_bytes(e.sigma_within)
        ),
        x_label: match xcol.as_str() {
            REVISIONS => "Knative revisions in the mesh".into(),
            "ports" => "endpoint ports (Envoy outbound clusters)".into(),
            _ => xcol,
        },
        levels,
        sigma_between: if e.kind == crate::model::ErrorKind::Group {
            (e.sigma_between.powi(2) + e.sigma_group.powi(2)).sqrt()
        } else {
            e.sigma_between
        },
        band_label: if e.kind == crate::model::ErrorKind::Group {
            "sqrt(σ_between² + σ_group²)".into()
        } else {
            "σ_between".into()
        },
    })
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
