//! The fleet as a human table and as CSV rows (the JSON is [`Fleet`] serialized).
//!
//! Pure: each function returns the bytes; the CLI decides where they go.

use std::fmt::Write;

use super::mesh::MeshReport;
use super::{at_risk, DateSource, Fleet, NamespaceRollup, ProxyForecast};
use crate::quantity::format_bytes;

fn days(d: Option<f64>) -> String {
    match d {
        None => "-".into(),
        Some(d) if d < 10.0 => format!("{d:.1}"),
        Some(d) => format!("{d:.0}"),
    }
}

fn rate(r: f64) -> String {
    if r.abs() < 10.0 {
        format!("{r:.2}")
    } else {
        format!("{r:.1}")
    }
}

/// Growth with its interval, as the table and report.md print it.
pub fn growth_cell(p: &ProxyForecast) -> String {
    match (p.growth_ports_per_day, p.growth_interval) {
        (Some(g), Some([lo, hi])) => format!("{} [{}, {}]", rate(g), rate(lo), rate(hi)),
        _ => "-".into(),
    }
}

/// Days to the limit with its interval (`never?` for an open top), as the table and report.md
/// print them.
pub fn days_cell(p: &ProxyForecast) -> String {
    match (p.days_to_limit, p.days_to_limit_interval) {
        (Some(d), Some([lo, hi])) => {
            format!("{} [{}, {}]", days(Some(d)), days(lo), hi.map_or_else(|| "never?".into(), |h| days(Some(h))))
        }
        // Held short at the expected rates, but possibly reached sooner (GC bursts, mesh).
        (None, Some([Some(lo), None])) => format!("- [{}, never?]", days(Some(lo))),
        _ => "no date".into(),
    }
}

/// The table: a header line, the top `top` proxies, a count of the rest, and the roll-up when
/// present.
pub fn table(fleet: &Fleet, top: usize) -> String {
    let pct = fleet.level * 100.0;
    let mut s = String::new();
    let unit = fleet.predictor.trim_end_matches('s');
    let per_unit = if fleet.bytes_per_unit_by_kind.is_empty() {
        format!("{}/{unit}", format_bytes(fleet.bytes_per_unit))
    } else {
        let each: Vec<String> =
            fleet.bytes_per_unit_by_kind.iter().map(|(k, b)| format!("{}/{unit} ({k})", format_bytes(*b))).collect();
        each.join(", ")
    };
    let _ = writeln!(
        s,
        "{} proxies; {} at {per_unit}; {pct:.0}% intervals; flagged (!) above {:.0}% of the limit",
        fleet.proxies.len(),
        fleet.model,
        (1.0 - fleet.headroom) * 100.0
    );
    let shown: Vec<&ProxyForecast> = fleet.proxies.iter().take(top).collect();
    let width = shown.iter().map(|p| p.proxy.len()).max().unwrap_or(5).max(5);
    let unit = &fleet.predictor;
    if let Some(m) = &fleet.mesh {
        let n = fleet.proxies.iter().filter(|p| p.source == DateSource::Mesh).count();
        let _ = writeln!(
            s,
            "growth from the mesh for {n} of {} proxies: {}, scope {}, GC {}",
            fleet.proxies.len(),
            m.topology,
            m.scope,
            m.gc
        );
    }
    let _ = writeln!(
        s,
        "{:>4}  {:<width$}  {:>9}  {:>9}  {:>7}  {:<24}  {:<22}  source",
        "rank",
        "proxy",
        "memory",
        "limit",
        unit,
        format!("{unit}/day [{pct:.0}%]"),
        format!("days to limit [{pct:.0}%]"),
    );
    for (k, p) in shown.iter().enumerate() {
        let flag = if p.over_headroom { "!" } else { " " };
        let _ = writeln!(
            s,
            "{:>3}{flag}  {:<width$}  {:>9}  {:>9}  {:>7}  {:<24}  {:<22}  {}",
            k + 1,
            p.proxy,
            format_bytes(p.memory_bytes),
            p.limit_bytes.map_or_else(|| "-".into(), format_bytes),
            crate::series::write::format_number(p.ports),
            growth_cell(p),
            days_cell(p),
            p.source.label(),
        );
    }
    let rest = fleet.proxies.len().saturating_sub(top);
    if rest > 0 {
        let risky = fleet.proxies[top..].iter().filter(|p| at_risk(p, 90.0)).count();
        let _ = writeln!(s, "... and {rest} more ({risky} of them within 90 days); --top N shows more");
    }
    if let Some(ns) = &fleet.namespaces {
        s.push('\n');
        s.push_str(&rollup_table(ns));
    }
    if let Some(m) = &fleet.mesh {
        s.push('\n');
        s.push_str(&services_table(m, top));
    }
    for w in &fleet.warnings {
        let _ = writeln!(s, "warning: {w}");
    }
    s
}

fn rollup_table(rows: &[NamespaceRollup]) -> String {
    let name = |r: &NamespaceRollup| r.namespace.clone().unwrap_or_else(|| super::NO_NAMESPACE.to_string());
    let width = rows.iter().map(|r| name(r).len()).max().unwrap_or(9).max(9);
    let pw = rows.iter().map(|r| r.worst_proxy.len()).max().unwrap_or(11).max(11);
    let mut s = format!(
        "{:<width$}  {:>7}  {:>7}  {:>7}  {:<pw$}  days\n",
        "namespace", "proxies", "<=30d", "<=90d", "worst proxy"
    );
    for r in rows {
        let _ = writeln!(
            s,
            "{:<width$}  {:>7}  {:>7}  {:>7}  {:<pw$}  {}",
            name(r),
            r.proxies,
            r.at_risk_30d,
            r.at_risk_90d,
            r.worst_proxy,
            days(r.worst_days_to_limit)
        );
    }
    s
}

/// The fastest-updating Knative services with their rates and GC caps.
fn services_table(m: &MeshReport, top: usize) -> String {
    let width = m.services.iter().take(top).map(|r| r.service.len()).max().unwrap_or(15).max(15);
    let mut s =
        format!("{:<width$}  {:>9}  {:<26}  GC cap\n", "knative service", "revisions", "updates/day [interval]");
    for r in m.services.iter().take(top) {
        let rate = match (r.updates_per_day, r.updates_interval) {
            (Some(u), Some([lo, hi])) => format!("{} [{}, {}]", rate(u), rate(lo), rate(hi)),
            _ => "no creation times".into(),
        };
        let cap = match (r.updates_per_day, r.cap_revisions) {
            (None, _) => "-".into(),
            (Some(_), None) => "none".into(),
            (Some(_), Some(c)) => format!("{c:.0}"),
        };
        let _ = writeln!(s, "{:<width$}  {:>9}  {:<26}  {cap}", r.service, r.revisions, rate);
    }
    if m.services.len() > top {
        let _ = writeln!(s, "... and {} more services", m.services.len() - top);
    }
    s
}

fn cell(v: Option<f64>) -> String {
    v.map_or_else(String::new, crate::series::write::format_number)
}

fn quote(t: &str) -> String {
    if t.contains([',', '"', '\n', '\r']) {
        format!("\"{}\"", t.replace('"', "\"\""))
    } else {
        t.to_string()
    }
}

/// CSV: one row per proxy in rank order, the JSON fields as columns (intervals as two).
pub fn csv(fleet: &Fleet) -> String {
    let mut s = String::from(
        "proxy,namespace,memory_bytes,limit_bytes,ports,growth_ports_per_day,growth_low,growth_high,days_to_limit,days_to_limit_low,days_to_limit_high,over_headroom,source\n",
    );
    for p in &fleet.proxies {
        let g = p.growth_interval;
        let d = p.days_to_limit_interval;
        let _ = writeln!(
            s,
            "{},{},{},{},{},{},{},{},{},{},{},{},{}",
            quote(&p.proxy),
            quote(p.namespace.as_deref().unwrap_or("")),
            cell(Some(p.memory_bytes)),
            cell(p.limit_bytes),
            cell(Some(p.ports)),
            cell(p.growth_ports_per_day),
            cell(g.map(|g| g[0])),
            cell(g.map(|g| g[1])),
            cell(p.days_to_limit),
            cell(d.and_then(|d| d[0])),
            cell(d.and_then(|d| d[1])),
            p.over_headroom,
            p.source.label(),
        );
    }
    s
}
