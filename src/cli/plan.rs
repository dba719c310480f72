//! `meshcap plan`: clap glue for [`meshcap::plan`] and [`meshcap::report::plan`].

use std::path::PathBuf;

use anyhow::Result;
use clap::Args;
use meshcap::fleet::FleetSettings;
use meshcap::mesh::{ScopeMap, Topology};
use meshcap::plan::{self, PlanInput, PlanSettings};
use meshcap::report::rules::RuleSettings;

use super::fleet_responses::{FleetInput, Responses};
use super::gc::GcArgs;
use super::project::{caution_for, parse_fraction, PushFlag, Target};
use super::shown;

/// Arguments of `meshcap plan`.
#[derive(Debug, Args)]
pub struct PlanArgs {
    /// Mesh topology (from `import kubectl`, with revisions' creation times).
    #[arg(long, value_name = "FILE")]
    topology: PathBuf,
    /// The fleet's long form (from `import prometheus --by namespace,pod`); or the saved
    /// responses themselves (--memory-file, --ports-file, --limit-file).
    #[arg(long, value_name = "FLEET", required_unless_present = "memory_file")]
    series: Option<PathBuf>,
    #[command(flatten)]
    responses: Responses,
    /// Observed dependencies (from `import traffic`): the egress hosts of each namespace.
    #[arg(long, value_name = "DEPS")]
    traffic: Option<PathBuf>,
    /// A model file to use instead of the pooled fit of the fleet (one linear term in ports).
    #[arg(long, value_name = "FILE")]
    model: Option<PathBuf>,
    /// Days every proxy must stay under its limit.
    #[arg(long, default_value_t = 180.0, value_parser = parse_horizon)]
    horizon: f64,
    /// Confidence level of the upper bounds.
    #[arg(long, default_value_t = 0.95)]
    level: f64,
    /// Share of each limit kept free.
    #[arg(long, default_value = "10%", value_parser = parse_fraction)]
    headroom: f64,
    /// Config-push allowance: `auto` (by the topology's Istio release), `full`, `delta` or `none`.
    #[arg(long, default_value = "auto", value_parser = super::project::parse_push)]
    push: PushFlag,
    /// The scopes the mesh has now: `mesh` (no Sidecar), `namespace`, `hosts=...`, and
    /// `NS=SCOPE` for namespaces that differ [default: mesh].
    #[arg(long = "scope", value_name = "SCOPE")]
    scopes: Vec<String>,
    #[command(flatten)]
    gc: GcArgs,
    /// Days ahead the rules' growth alert (MeshcapSidecarOOMForecast) looks.
    #[arg(long, default_value_t = 14.0, value_parser = parse_horizon)]
    alert_days: f64,
    /// The folder to write the plan into (created if missing; nothing is written on an error).
    #[arg(short, long, value_name = "DIR")]
    output: PathBuf,
}

fn parse_horizon(s: &str) -> Result<f64, String> {
    match s.trim().parse::<f64>() {
        Ok(v) if v.is_finite() && v > 0.0 && v <= 3650.0 => Ok(v),
        _ => Err(format!("days are a number above 0 and at most 3650, but \"{s}\" is not")),
    }
}

pub fn run_plan(args: PlanArgs) -> Result<()> {
    let inputs: Vec<&PathBuf> = args
        .series
        .iter()
        .chain(args.responses.files())
        .chain(args.model.as_ref())
        .chain(std::iter::once(&args.topology))
        .chain(args.traffic.as_ref())
        .collect();
    super::imported::refuse_overwrite(None, &inputs)?;
    if let (Some(series), Some(flag)) = (&args.series, args.responses.first_flag()) {
        return Err(meshcap::Error::invalid(format!(
            "{flag} reads a saved response (with --memory-file), but --series {} is given: drop one of them",
            shown(series)
        ))
        .into());
    }
    let current_scope = ScopeMap::single(&args.scopes)?;
    let current_gc = args.gc.policy()?;
    let topology = Topology::load(&args.topology)?;
    current_scope.check(&topology)?;
    let deps = match &args.traffic {
        Some(p) => Some(meshcap::mesh::deps::read_dependencies(p)?),
        None => None,
    };
    let input = match &args.series {
        Some(path) if !args.responses.given() => FleetInput::Series(path),
        _ => FleetInput::Responses(&args.responses),
    };
    let fleet_settings = FleetSettings { level: args.level, headroom: args.headroom, limit_bytes: None };
    let (_, model, series) = super::fleet::forecast(input, args.model.as_deref(), &fleet_settings, None, &[])?;
    let versions = topology.versions();
    let target = Target { istio: (!versions.istio_assumed).then_some(versions.istio), delta_xds: topology.delta_xds };
    let (caution, push) = caution_for(&model, Some(args.level), args.headroom, None, args.push, target)?;
    let settings = PlanSettings {
        horizon_days: args.horizon,
        level: caution.level,
        headroom: caution.headroom,
        push: caution.push,
        current_scope,
        current_gc,
    };
    let topology_label = shown(&args.topology);
    let deps_label = args.traffic.as_deref().map(shown).unwrap_or_default();
    let plan_input = PlanInput {
        topology: &topology,
        topology_label: &topology_label,
        series: &series,
        model: &model,
        deps: deps.as_ref(),
        deps_label: &deps_label,
    };
    let mut result = plan::plan(&plan_input, &settings)?;
    result.warnings.insert(0, push.line());
    let rules = RuleSettings {
        level: caution.level,
        headroom: caution.headroom,
        push: caution.push,
        alert_days: args.alert_days,
        explain: format!("meshcap plan --topology {topology_label} ... -o {}", shown(&args.output)),
    };
    let written = meshcap::report::plan::write(&args.output, &result, &model, &rules, meshcap::plot::DEFAULT_SIZE)?;
    for w in &result.warnings {
        eprintln!("note: {w}");
    }
    let narrowed = result.namespaces.iter().filter(|n| n.scope == "hosts").count();
    println!(
        "plan for {} days: {narrowed} namespaces narrowed, {} unplanned, config-gc {}; {} files in {}",
        result.horizon_days,
        result.unplanned.len(),
        if result.gc.changed { "changed" } else { "unchanged" },
        written.len(),
        shown(&args.output)
    );
    Ok(())
}
