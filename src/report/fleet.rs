//! The fleet part of a report: chart data for `plot fleet` and `report --fleet`, and the
//! fleet table of `report.md`.
//!
//! Numbers come from [`crate::fleet`] and the pooled model; this room only shapes them for
//! [`crate::plot`] and Markdown.

use std::fmt::Write;

use crate::fleet::{export, proxies, Fleet};
use crate::model::FittedModel;
use crate::plot::{FleetDays, FleetDaysChart, FleetMemoryChart, FleetProxyPoints};
use crate::quantity::format_bytes;
use crate::series::{Series, MEMORY};

/// Readings drawn per proxy in the memory chart (evenly spaced over its series).
const READINGS_PER_PROXY: usize = 40;
/// Proxies in the days chart.
pub const DAYS_CHART_PROXIES: usize = 30;

/// What the fleet charts are made from.
#[derive(Debug, Clone, Copy)]
pub struct FleetInput<'a> {
    /// The ranked fleet.
    pub fleet: &'a Fleet,
    /// The model it was forecast with.
    pub model: &'a FittedModel,
    /// The long-form series.
    pub series: &'a Series,
}

/// Memory against the predictor for every proxy, with the pooled band.
pub fn memory_chart(input: &FleetInput) -> crate::Result<FleetMemoryChart> {
    let FleetInput { fleet, model, series } = *input;
    // Proxies without a namespace are their own colour (None), apart from every named one.
    let mut namespaces: Vec<Option<&str>> = fleet.proxies.iter().map(|p| p.namespace.as_deref()).collect();
    namespaces.sort();
    namespaces.dedup();
    let split = proxies::split(series)?;
    let rows_of: std::collections::HashMap<&str, usize> =
        split.iter().enumerate().map(|(k, s)| (s.name.as_str(), k)).collect();
    let mut out = Vec::with_capacity(split.len());
    let mut x_max: f64 = 0.0;
    for p in &fleet.proxies {
        let Some(rows) = rows_of.get(p.proxy.as_str()).map(|&k| &split[k]) else { continue };
        let usable: Vec<usize> = rows.rows.iter().copied().filter(|&i| series.rows.event(i).is_none()).collect();
        let every = usable.len().div_ceil(READINGS_PER_PROXY).max(1);
        let picked: Vec<usize> = usable.iter().copied().step_by(every).collect();
        let xs = series.numbers(&fleet.predictor, &picked)?;
        let ys = series.numbers(MEMORY, &picked)?;
        let readings: Vec<(f64, f64)> = xs.iter().copied().zip(ys.iter().copied()).collect();
        x_max = x_max.max(p.ports);
        out.push(FleetProxyPoints {
            namespace: namespaces.binary_search(&p.namespace.as_deref()).unwrap_or(0),
            readings,
            now: (p.ports, p.memory_bytes),
            limit_bytes: p.limit_bytes,
        });
    }
    let t = model.t_two_sided(fleet.level);
    let band = (0..=60)
        .map(|k| {
            let x = x_max * 1.05 * k as f64 / 60.0;
            let pred = model.predict_row(&model.design_row(|c| if c == fleet.predictor { x } else { 0.0 }));
            (x, pred.mean, pred.mean - t * pred.se_obs, pred.mean + t * pred.se_obs)
        })
        .collect();
    Ok(FleetMemoryChart {
        title: format!("Fleet: memory against {} for {} proxies", fleet.predictor, fleet.proxies.len()),
        subtitle: format!(
            "{}: {} per {}; ticks: each proxy's limit above its current {}",
            fleet.model,
            format_bytes(fleet.bytes_per_unit),
            fleet.predictor.trim_end_matches('s'),
            fleet.predictor
        ),
        x_label: if fleet.predictor == "ports" { "endpoint ports (Envoy clusters)".into() } else { "revisions".into() },
        namespaces: namespaces.iter().map(|n| n.unwrap_or(crate::fleet::NO_NAMESPACE).to_string()).collect(),
        proxies: out,
        band,
        band_label: format!("{:.0}% prediction band, a proxy of the fleet", fleet.level * 100.0),
    })
}

/// Days to the limit of the soonest proxies.
pub fn days_chart(fleet: &Fleet) -> FleetDaysChart {
    let proxies: Vec<FleetDays> = fleet
        .proxies
        .iter()
        .filter_map(|p| {
            let d = p.days_to_limit?;
            let [lo, hi] = p.days_to_limit_interval?;
            Some(FleetDays {
                proxy: p.proxy.clone(),
                days: d,
                interval: (lo.unwrap_or(0.0), hi),
                flagged: p.over_headroom,
            })
        })
        .take(DAYS_CHART_PROXIES)
        .collect();
    let dated = fleet.proxies.iter().filter(|p| p.days_to_limit.is_some()).count();
    FleetDaysChart {
        title: format!("Days until the limit: the soonest {} of {dated} dated proxies", proxies.len()),
        subtitle: format!(
            "growth from each proxy's own {} steps; {:.0}% intervals (future arrivals included)",
            fleet.predictor,
            fleet.level * 100.0
        ),
        proxies,
    }
}

/// The fleet section of `report.md`: the top proxies as a Markdown table.
pub fn markdown(fleet: &Fleet, top: usize) -> String {
    let pct = fleet.level * 100.0;
    let mut s = format!(
        "\n## Fleet\n\n{} proxies, {} ({} per {}); flagged (!) above {:.0}% of the limit.\n\n",
        fleet.proxies.len(),
        fleet.model,
        format_bytes(fleet.bytes_per_unit),
        fleet.predictor.trim_end_matches('s'),
        (1.0 - fleet.headroom) * 100.0
    );
    let _ = writeln!(
        s,
        "| rank | proxy | memory | limit | {p} | {p}/day [{pct:.0}%] | days to limit [{pct:.0}%] |",
        p = fleet.predictor
    );
    s.push_str("|---:|---|---:|---:|---:|---|---|\n");
    for (k, p) in fleet.proxies.iter().take(top).enumerate() {
        let (growth, days) = (export::growth_cell(p), export::days_cell(p));
        let _ = writeln!(
            s,
            "| {}{} | `{}` | {} | {} | {} | {growth} | {days} |",
            k + 1,
            if p.over_headroom { "!" } else { "" },
            p.proxy.replace('|', "\\|"),
            format_bytes(p.memory_bytes),
            p.limit_bytes.map_or_else(|| "-".into(), format_bytes),
            crate::series::write::format_number(p.ports)
        );
    }
    if fleet.proxies.len() > top {
        let _ = writeln!(s, "\n... and {} more.", fleet.proxies.len() - top);
    }
    s
}
