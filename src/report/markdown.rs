//! `plots/report.md`: the report as text, with the PNGs linked.

use std::fmt::Write;

use super::ReportInput;
use crate::error::Result;
use crate::plot::Table;
use crate::project::{compare_scopes, safe_for_limit, Bounds, RevisionPath};
use crate::quantity::format_bytes;

/// Render the Markdown page; `pngs` are file names beside it.
pub fn render(input: &ReportInput, table: &Table, pngs: &[String]) -> Result<String> {
    let m = input.model;
    let mut s = String::new();
    let _ = writeln!(s, "# meshcap capacity report: {}\n", m.name());
    let _ = writeln!(s, "Data: `{}` (sha256 `{}`), {} observations fitted.\n", m.source.path, m.source.sha256, m.n);
    if let Some(first) = pngs.first() {
        let _ = writeln!(s, "![report]({first})\n");
    }
    let _ = writeln!(s, "## {}\n\n| | |\n|---|---|", table.title);
    for (k, v) in &table.rows {
        let _ = writeln!(s, "| {k} | {v} |");
    }
    if let Some(line) = &input.push_line {
        let _ = writeln!(s, "\nSafe counts are {line}. Model measured at: {}.", m.conditions.describe());
    }
    for note in &input.condition_notes {
        let _ = writeln!(s, "\nNote: {note}.");
    }
    let _ = writeln!(
        s,
        "\n## Fit\n\n| term | estimate | std error | t | p | CI low | CI high |\n|---|---|---|---|---|---|---|"
    );
    for c in &m.coefficients {
        let _ = writeln!(
            s,
            "| {} | {} ({:.6e}) | {:.4e} | {} | {} | {:.6e} | {:.6e} |",
            c.name,
            format_bytes(c.estimate),
            c.estimate,
            c.std_error,
            c.t.map_or_else(|| "inf".into(), |t| format!("{t:.3}")),
            c.p.map_or_else(|| "0".into(), |p| format!("{p:.3e}")),
            c.ci_low,
            c.ci_high
        );
    }
    let _ = writeln!(
        s,
        "\nR² {:.6}, adjusted {:.6}, residual std. error {}, dof {}, condition number {:.3e}.",
        m.r_squared,
        m.adj_r_squared,
        format_bytes(m.residual_std_error),
        m.dof,
        m.condition_number
    );
    let bounds = Bounds::new(m, RevisionPath::new(m), input.caution);
    let _ = writeln!(
        s,
        "\n## Safe revision counts\n\n| limit | crossing | crossing interval | safe revisions | steady-state safe | safe ports | note |\n|---|---|---|---|---|---|---|"
    );
    for &l in &input.limits {
        let a = safe_for_limit(&bounds, l, 21.0);
        let opt = |v: Option<f64>| v.map_or_else(|| "unbounded".into(), |v| format!("{v:.0}"));
        let _ = writeln!(
            s,
            "| {} | {} | [{}, {}] | {} | {} | {} | {} |",
            format_bytes(l),
            a.crossing_revisions.map_or_else(|| "none".into(), |c| format!("{c:.0}")),
            opt(a.crossing_interval[0]),
            opt(a.crossing_interval[1]),
            a.safe_revisions.map_or_else(|| "none".into(), |v| v.to_string()),
            a.steady_safe_revisions.map_or_else(|| "none".into(), |v| v.to_string()),
            a.safe_ports.map_or_else(|| "none".into(), |v| format!("{v:.0}")),
            a.note.as_deref().unwrap_or("")
        );
    }
    if let Some((t, name)) = &input.topology {
        let _ = writeln!(s, "\n## Sidecar scopes on `{name}` at {}\n", format_bytes(input.scope_limit));
        let _ = writeln!(s, "Counted at {}.\n", t.versions().describe());
        for (ns, gw) in t.unexported_to_gateways() {
            let _ = writeln!(
                s,
                "Warning: namespace `{ns}` is not exported to `{gw}`: its gateways cannot route to its Knative services.\n"
            );
        }
        for (ns, infra) in t.unexported_to_infrastructure() {
            let _ = writeln!(
                s,
                "Warning: namespace `{ns}` is not exported to `{infra}`: the activator's sidecar has no clusters for its revisions and cannot wake them.\n"
            );
        }
        let projections = compare_scopes(m, t, &input.scopes, input.caution, input.scope_limit)?;
        let _ = writeln!(
            s,
            "| scope | proxy | revisions | clusters | endpoints | predicted | margin | saving |\n|---|---|---|---|---|---|---|---|"
        );
        for p in &projections {
            for n in &p.namespaces {
                let _ = writeln!(
                    s,
                    "| {} | {}{} | {:.0} | {:.0} | {:.0} | {} | {} | {} ({:.0}%) |",
                    p.scope,
                    n.namespace,
                    n.kind.suffix(),
                    n.visible_revisions,
                    n.visible_clusters,
                    n.visible_endpoints,
                    format_bytes(n.predicted_bytes),
                    format_bytes(n.margin_bytes),
                    format_bytes(n.saving_bytes),
                    n.saving_percent
                );
            }
        }
        let _ = writeln!(
            s,
            "\nSidecar resources do not scope gateways: they keep every revision unless istiod runs with `PILOT_FILTER_GATEWAY_CLUSTER_CONFIG=true`."
        );
        let infrastructure: Vec<&str> =
            t.namespaces.iter().filter(|n| n.sidecars && n.infrastructure()).map(|n| n.name.as_str()).collect();
        for ns in infrastructure {
            let _ = writeln!(s, "\n`{ns}`: {}.", crate::mesh::visibility::infrastructure_note(ns));
        }
    }
    let _ = writeln!(s, "\n## Charts\n");
    for p in pngs {
        let _ = writeln!(s, "- [{p}]({p})");
    }
    Ok(s)
}
