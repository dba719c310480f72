//! `meshcap scope`: Sidecar scopes compared on a topology.

use std::fmt::Write;
use std::path::PathBuf;

use anyhow::Result;
use clap::Args;
use meshcap::mesh::{ProxyKind, Scope, ScopeMap, Topology};
use meshcap::project::{self, ScopeProjection};
use meshcap::quantity::format_bytes;

use super::project::{parse_limit, CautionArgs};
use super::versions::VersionArgs;
use super::{emit, json_bytes, Format};

/// Arguments of `meshcap scope`.
#[derive(Debug, Args)]
pub struct ScopeArgs {
    #[command(flatten)]
    caution: CautionArgs,
    /// Mesh topology (TOML).
    #[arg(long, default_value = "data/topology-example.toml")]
    topology: PathBuf,
    /// Scope(s) to compare: `mesh`, `namespace`, `hosts=ns/*,ns/svc`; the first is the baseline.
    /// `NS=SCOPE` (e.g. `shop=namespace`) gives namespace NS its own scope in each of them.
    #[arg(long = "scope", default_values = ["mesh", "namespace"])]
    scopes: Vec<String>,
    /// Proxy memory limit.
    #[arg(long, default_value = "1Gi", value_parser = parse_limit)]
    limit: f64,
    /// Print the Sidecar resources (YAML, one per scoped namespace) realizing the last scope
    /// instead of the comparison.
    #[arg(long)]
    emit_sidecar: bool,
    #[command(flatten)]
    versions: VersionArgs,
}

pub fn run_scope(args: ScopeArgs) -> Result<()> {
    let scopes = ScopeMap::alternatives(&args.scopes)?;
    let mut topology = Topology::load(&args.topology)?;
    args.versions.apply(&mut topology);
    let (model, caution, push) = args.caution.load_for(super::project::Target {
        istio: (!topology.versions().istio_assumed).then(|| topology.versions().istio),
        delta_xds: topology.delta_xds,
    })?;
    if args.emit_sidecar {
        let last = scopes.last().expect("at least one scope");
        let yaml = project::sidecar_yaml(&topology, last)?.ok_or_else(|| {
            meshcap::Error::invalid(format!(
                "scope {last} needs no Sidecar resource in any namespace: pass --scope namespace, --scope hosts=... or NS=SCOPE"
            ))
        })?;
        return emit(None, yaml.as_bytes());
    }
    let projections = project::compare_scopes(&model, &topology, &scopes, caution, args.limit)?;
    let versions = topology.versions();
    let mut warnings: Vec<String> = topology
        .unexported_to_gateways()
        .into_iter()
        .map(|(ns, gw)| {
            format!("namespace {ns} is not exported to {gw}: gateways there cannot route to its Knative services")
        })
        .chain(topology.unexported_to_infrastructure().into_iter().map(|(ns, infra)| {
            format!(
                "namespace {ns} is not exported to {infra}: the activator's sidecar has no clusters for its revisions and cannot wake them (knative/serving revision_backends.go)"
            )
        }))
        .collect();
    // An egress host that names no Service of the topology admits nothing: say so, since a
    // typo would otherwise look like a large saving.
    // Overrides repeat in every alternative: each host list is looked at once.
    let mut distinct: Vec<&Scope> = Vec::new();
    for s in scopes.iter().flat_map(ScopeMap::scopes) {
        if !distinct.contains(&s) {
            distinct.push(s);
        }
    }
    for scope in distinct {
        let Scope::Hosts(patterns) = scope else { continue };
        for p in patterns {
            let Some((name, fqdn_ns)) = p.service_host() else { continue };
            let in_ns = |ns: &meshcap::mesh::Namespace| {
                ns.knative.iter().any(|k| k.name == name) || ns.services.iter().any(|s| s.name == name)
            };
            let owner = fqdn_ns.or(Some(p.namespace.as_str()).filter(|n| *n != "*" && *n != "."));
            let found = match owner {
                Some(o) => topology.namespace(o).is_some_and(in_ns),
                None => topology.namespaces.iter().any(in_ns),
            };
            if !found {
                warnings.push(format!(
                    "egress host {}/{} names no Service of the topology: it admits nothing",
                    p.namespace, p.host
                ));
            }
        }
    }
    for ns in topology.namespaces.iter().filter(|n| n.ambient) {
        warnings.push(format!(
            "namespace {} is ambient (istio.io/dataplane-mode: ambient): no sidecars; its waypoints hold only their own Services",
            ns.name
        ));
    }
    let endpoints_note = if model.terms.iter().any(|t| t.column == meshcap::series::ENDPOINTS) {
        "endpoints are in the model (an endpoints term)".to_string()
    } else {
        "endpoints are counted but not in the model (fit an endpoints column to weigh them)".to_string()
    };
    #[derive(serde::Serialize)]
    struct Out<'a> {
        limit_bytes: f64,
        istio_version: String,
        knative_version: String,
        versions_assumed: bool,
        warnings: &'a [String],
        push: &'a meshcap::project::PushChoice,
        conditions: &'a [meshcap::model::conditions::Difference],
        scopes: &'a [ScopeProjection],
    }
    let differences = meshcap::project::workers::topology_differences(&model, &topology);
    match args.caution.format {
        Format::Json => emit(
            None,
            &json_bytes(&Out {
                limit_bytes: args.limit,
                istio_version: versions.istio.to_string(),
                knative_version: versions.knative.to_string(),
                versions_assumed: versions.istio_assumed || versions.knative_assumed,
                warnings: &warnings,
                push: &push,
                conditions: &differences,
                scopes: &projections,
            }),
        ),
        Format::Table => {
            let mut text = format!(
                "counted at {}\n{endpoints_note}\n{}\nmodel measured at: {}\n",
                versions.describe(),
                push.line(),
                model.conditions.describe()
            );
            for d in &differences {
                text.push_str(&format!("note: {}\n", d.note));
            }
            for w in &warnings {
                text.push_str(&format!("warning: {w}\n"));
            }
            text.push_str(&render(&projections, args.limit, &caution));
            let infrastructure = projections.first().into_iter().flat_map(|p| &p.namespaces);
            for n in infrastructure.filter(|n| n.kind == ProxyKind::Infrastructure) {
                let note = n.note.as_deref().unwrap_or("mesh infrastructure, never scoped");
                text.push_str(&format!("\n{}: {note}; no Sidecar is emitted for it\n", n.namespace));
            }
            text.push_str(if topology.filter_gateway_cluster_config {
                "\ngateways are not scoped by Sidecar resources; with PILOT_FILTER_GATEWAY_CLUSTER_CONFIG they keep the destinations of the VirtualServices bound to them\n"
            } else {
                "\ngateways are not scoped by Sidecar resources: they keep every revision exported to their namespace unless istiod runs with PILOT_FILTER_GATEWAY_CLUSTER_CONFIG=true\n"
            });
            emit(None, text.as_bytes())
        }
    }
}

fn render(projections: &[ScopeProjection], limit: f64, c: &project::Caution) -> String {
    let mut s = String::new();
    let _ = writeln!(
        s,
        "limit {} | level {} | headroom {}% | transient x{} | push x{:.2}",
        format_bytes(limit),
        c.level,
        c.headroom * 100.0,
        c.transient,
        c.push.factor()
    );
    for p in projections {
        let _ = writeln!(s, "\nscope {}", p.scope);
        let _ = writeln!(
            s,
            "  {:<32} {:>9} {:>8} {:>9} {:>9} {:>10} {:>24} {:>11} {:>9} {:>16}",
            "proxy",
            "revisions",
            "clusters",
            "endpoints",
            "listeners",
            "predicted",
            "prediction interval",
            "margin",
            "budget",
            "saving"
        );
        for n in &p.namespaces {
            let kind = n.kind.suffix();
            let _ = writeln!(
                s,
                "  {:<32} {:>9.0} {:>8.0} {:>9.0} {:>9.0} {:>10} {:>24} {:>11} {:>9} {:>16}",
                format!("{}{kind}", n.namespace),
                n.visible_revisions,
                n.visible_clusters,
                n.visible_endpoints,
                n.headless_listeners,
                format_bytes(n.predicted_bytes),
                format!("[{}, {}]", format_bytes(n.prediction_interval[0]), format_bytes(n.prediction_interval[1])),
                format_bytes(n.margin_bytes),
                n.revision_budget.map_or_else(|| "unbounded".into(), |b| format!("{b:.0}")),
                if std::ptr::eq(p, &projections[0]) {
                    "-".to_string()
                } else {
                    format!("{} ({:.0}%)", format_bytes(n.saving_bytes), n.saving_percent)
                },
            );
        }
    }
    s
}
