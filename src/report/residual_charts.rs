//! Residual chart data: residuals against fitted memory and the driver, and by level. Split
//! from [`super::charts`] because a group fit's residuals need its proxies' own lines
//! ([`residual_chart`]), which the fit and safe-limit charts do not.

use super::charts::{revisions_per_unit, x_column};
use crate::model::FittedModel;
use crate::plot::{LevelChart, LevelPoint, ResidualChart, ResidualPoint};
use crate::quantity::format_bytes;
use crate::series::{Series, REVISIONS};

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
