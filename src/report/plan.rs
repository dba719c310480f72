//! The plan's folder: `plan.json`, the manifests, the rule files, `plan.md` and `plan.png`,
//! published all together or not at all (the files are staged, then renamed into place).

use std::path::{Path, PathBuf};

use super::rules::{prometheus_rule_yaml, rule_yaml, RuleSettings};
use crate::error::{Error, Result};
use crate::model::FittedModel;
use crate::plan::{manifests, Numbers, Plan};
use crate::plot::{ScopeBar, ScopeChart};
use crate::quantity::format_bytes;

/// Name and namespace of the PrometheusRule the plan writes.
pub const PROMETHEUS_RULE: (&str, &str) = ("meshcap-istio-proxy-memory", "monitoring");

/// Most proxies (namespaces and gateways) drawn in `plan.png`.
const MAX_BARS: usize = 30;

fn days(d: Option<f64>) -> String {
    d.map_or_else(|| "-".to_string(), |d| format!("{d:.1}"))
}

fn bytes(b: f64) -> String {
    format_bytes(b)
}

/// `plan.md`: what changes, why, and every proxy before and after.
pub fn markdown(plan: &Plan, model: &FittedModel, files: &[String]) -> String {
    let mut s = format!(
        "# meshcap plan: every proxy safe for {} days\n\nModel {}; {:.0}% upper bounds of peak memory (config push: configuration memory x{:.2}); headroom {:.0}% of each limit. Memory and days at the horizon; clusters now.\n\n![before and after](plan.png)\n\n",
        plan.horizon_days,
        model.name(),
        plan.level * 100.0,
        1.0 + plan.push_fraction,
        plan.headroom * 100.0
    );
    s.push_str("## Namespaces\n\nEach namespace's worst proxy, before -> after.\n\n| namespace | scope | egress hosts | proxyMemory / Limit | clusters now | mean at horizon | upper at horizon | days to limit | why |\n|---|---|---|---|---|---|---|---|---|\n");
    for n in &plan.namespaces {
        let annot = match (&n.proxy_memory, &n.proxy_memory_limit) {
            (Some(r), Some(l)) => format!("{r} / {l}"),
            _ => "-".into(),
        };
        let (b, a) = (&n.before, &n.after);
        s.push_str(&format!(
            "| {} | {} | {} | {annot} | {:.0} -> {:.0} | {} -> {} | {} -> {} | {} -> {} | {} |\n",
            n.namespace,
            n.scope,
            if n.egress_hosts.is_empty() { "-".to_string() } else { n.egress_hosts.join("<br>") },
            b.visible_clusters,
            a.visible_clusters,
            bytes(b.predicted_bytes),
            bytes(a.predicted_bytes),
            bytes(b.upper_bytes),
            bytes(a.upper_bytes),
            days(b.days_to_limit),
            days(a.days_to_limit),
            n.reason.replace('|', "/")
        ));
    }
    if !plan.unplanned.is_empty() {
        s.push_str(&format!("\nUnplanned (no traffic data, scope kept): {}\n", plan.unplanned.join(", ")));
    }
    s.push_str(&format!("\n## Knative GC\n\n{}\n", plan.gc.reason));
    s.push_str("\n## Every proxy\n\n| proxy | kind | levers | limit before -> after | clusters now | at horizon | upper at horizon | days to limit |\n|---|---|---|---|---|---|---|---|\n");
    let limit = |l: Option<f64>| l.map_or_else(|| "-".to_string(), format_bytes);
    for p in &plan.proxies {
        s.push_str(&format!(
            "| {} | {} | {} | {} -> {} | {:.0} -> {:.0} | {:.0} -> {:.0} | {} -> {} | {} -> {} |\n",
            p.proxy,
            p.kind,
            p.levers.join(", "),
            limit(p.before.limit_bytes),
            limit(p.after.limit_bytes),
            p.before.clusters,
            p.after.clusters,
            p.before.clusters_at_horizon,
            p.after.clusters_at_horizon,
            format_bytes(p.before.upper_bytes),
            format_bytes(p.after.upper_bytes),
            days(p.before.days_to_limit),
            days(p.after.days_to_limit)
        ));
    }
    if !plan.warnings.is_empty() {
        s.push_str("\n## Notes\n\n");
        for w in &plan.warnings {
            s.push_str(&format!("- {w}\n"));
        }
    }
    s.push_str("\n## Files\n\n");
    for f in files {
        s.push_str(&format!("- `{f}`\n"));
    }
    s.push_str("\nApply the Sidecars (and config-gc) first with `kubectl apply -f`, then the annotations through `patches/`: each makes a new revision whose pods start with the narrow configuration under the new limit. Load `prometheus-rules.yaml` (or the PrometheusRule) to keep forecasting.\n");
    s
}

/// One bar's numbers.
struct Bar {
    mean: f64,
    upper: f64,
    limit: Option<f64>,
    days: Option<f64>,
}

impl Bar {
    fn of(n: &Numbers) -> Bar {
        Bar { mean: n.predicted_bytes, upper: n.upper_bytes, limit: n.limit_bytes, days: n.days_to_limit }
    }
}

/// `plan.png`: each namespace's worst proxy and each gateway or infrastructure proxy of the
/// fleet, before and after, mean to upper bound at the horizon, its limit as a tick.
pub fn chart(plan: &Plan) -> ScopeChart {
    let mut bars = Vec::new();
    // A proxy cannot hold more than its limit: where the upper bound reaches it within the
    // horizon, the bar stops at the limit and the name says when (the OOMKill comes first).
    let horizon = plan.horizon_days;
    let mut add = |name: String, before: Bar, after: Bar| {
        let reached = |b: &Bar| b.days.filter(|d| *d <= horizon).zip(b.limit);
        let mut label = name.clone();
        for (side, b) in [("before", &before), ("after", &after)] {
            match reached(b) {
                Some((d, _)) if d <= 0.0 => label.push_str(&format!(" ({side}: at its limit now)")),
                Some((d, _)) => label.push_str(&format!(" ({side}: limit in {d:.1} d)")),
                None => {}
            }
        }
        for (scope, b) in [("before", before), ("after", after)] {
            let cap = reached(&b).map_or(f64::INFINITY, |(_, l)| l);
            bars.push(ScopeBar {
                proxy: label.clone(),
                scope: scope.into(),
                predicted: b.mean.min(cap),
                low: b.mean.min(cap),
                high: b.upper.min(cap),
                limit: b.limit,
            });
        }
    };
    for n in &plan.namespaces {
        add(n.namespace.clone(), Bar::of(&n.before), Bar::of(&n.after));
    }
    for p in plan.proxies.iter().filter(|p| p.kind == "gateway") {
        add(
            format!("{} (gw)", p.proxy.split_once('/').map_or(p.proxy.as_str(), |(_, pod)| pod)),
            Bar {
                mean: p.before.predicted_bytes,
                upper: p.before.upper_bytes,
                limit: p.before.limit_bytes,
                days: p.before.days_to_limit,
            },
            Bar {
                mean: p.after.predicted_bytes,
                upper: p.after.upper_bytes,
                limit: p.after.limit_bytes,
                days: p.after.days_to_limit,
            },
        );
    }
    let total = bars.len() / 2;
    bars.truncate(2 * MAX_BARS);
    let shown = if total > MAX_BARS { format!(", first {MAX_BARS} of {total}") } else { String::new() };
    ScopeChart {
        title: format!(
            "meshcap plan: memory at {} days (or at the limit, if sooner) before and after: mean to {:.0}% upper bound, push included{shown}",
            plan.horizon_days,
            plan.level * 100.0
        ),
        limit_bytes: f64::NAN,
        bars,
    }
}

/// Every file of the plan, by path inside the folder, with its bytes (the PNG aside).
pub fn files(plan: &Plan, model: &FittedModel, rules: &RuleSettings) -> Result<Vec<(String, Vec<u8>)>> {
    let mut out: Vec<(String, Vec<u8>)> = Vec::new();
    let mut json =
        serde_json::to_vec_pretty(plan).map_err(|e| Error::invalid(format!("cannot write plan.json: {e}")))?;
    json.push(b'\n');
    out.push(("plan.json".into(), json));
    let yaml =
        manifests::sidecars(plan)?.into_iter().chain(manifests::patches(plan)?).chain(manifests::config_gc(plan)?);
    out.extend(yaml.map(|(n, t)| (n, t.into_bytes())));
    let header = format!("# meshcap plan: rules from {}\n", model.name());
    out.push(("prometheus-rules.yaml".into(), (header.clone() + &rule_yaml(model, rules)?).into_bytes()));
    let (name, ns) = PROMETHEUS_RULE;
    out.push(("prometheus-rule.yaml".into(), (header + &prometheus_rule_yaml(model, rules, name, ns)?).into_bytes()));
    Ok(out)
}

/// Write the plan into `dir`, all files or none; returns their paths.
pub fn write(
    dir: &Path,
    plan: &Plan,
    model: &FittedModel,
    rules: &RuleSettings,
    size: (u32, u32),
) -> Result<Vec<PathBuf>> {
    let mut files = files(plan, model, rules)?;
    let mut names: Vec<String> = files.iter().map(|(n, _)| n.clone()).collect();
    names.extend(["plan.md".to_string(), "plan.png".to_string()]);
    files.push(("plan.md".into(), markdown(plan, model, &names).into_bytes()));
    let chart = chart(plan);
    let refs: Vec<&str> = names.iter().map(String::as_str).collect();
    let mut staging = crate::output::Staging::new(dir, &refs)?;
    for (name, bytes) in &files {
        crate::output::write_atomic(&staging.path(name), bytes)?;
    }
    crate::plot::render_scope(&chart, &staging.path("plan.png"), size)?;
    staging.publish()
}
