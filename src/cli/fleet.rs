//! `meshcap fleet`: clap glue for [`meshcap::fleet`].

use std::path::PathBuf;

use anyhow::Result;
use clap::{Args, ValueEnum};
use meshcap::fleet::mesh::{GrowthChoice, MeshGrowth, MeshSettings};
use meshcap::fleet::{self, Fleet, FleetSettings};
use meshcap::mesh::{ScopeMap, Topology};
use meshcap::model::{self, FittedModel};
use meshcap::series::Series;

use super::fleet_responses::{FleetInput, Responses};
use super::gc::GcArgs;
use super::versions::VersionArgs;
use super::{emit, json_bytes, shown};

/// Output of `meshcap fleet`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum, Default)]
pub enum FleetFormat {
    /// The top proxies as a table.
    #[default]
    Table,
    /// One JSON document: `{"proxies": [...]}`.
    Json,
    /// One row per proxy.
    Csv,
}

/// Which growth dates a proxy with `--topology`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum GrowthArg {
    /// The mesh's (update rates capped by GC) wherever the proxy maps onto the topology: the
    /// default, since a proxy's past growth cannot see GC coming.
    Mesh,
    /// The sooner of the mesh's and the proxy's own date.
    Sooner,
    /// The proxy's own series (the topology is only checked).
    Own,
}

/// Arguments of `meshcap fleet`.
#[derive(Debug, Args)]
pub struct FleetArgs {
    /// Long-form series with a proxy column (from `import prometheus --by namespace,pod`); or
    /// give the saved responses themselves (--memory-file and the like).
    #[arg(required_unless_present = "memory_file")]
    series: Option<PathBuf>,
    #[command(flatten)]
    responses: Responses,
    /// A model file to use instead of fitting the pooled model (an offset per proxy, and a slope per proxy when they differ) on SERIES.
    #[arg(long, value_name = "FILE")]
    model: Option<PathBuf>,
    /// Confidence level of the intervals.
    #[arg(long, default_value_t = 0.95)]
    level: f64,
    /// Share of the limit kept free: proxies above limit x (1 - headroom) now are flagged.
    #[arg(long, default_value = "10%", value_parser = super::project::parse_fraction)]
    headroom: f64,
    /// One limit for every proxy (a quantity), overriding the series' limit column.
    #[arg(long, value_name = "QUANTITY", value_parser = super::project::parse_limit)]
    limit: Option<f64>,
    /// Proxies shown in the table.
    #[arg(long, default_value_t = 20)]
    top: usize,
    /// Roll the proxies up: `namespace` (worst proxy, count at risk within 30 and 90 days).
    #[arg(long, value_name = "GROUP")]
    by: Option<String>,
    /// Output format.
    #[arg(long, value_enum, default_value_t)]
    format: FleetFormat,
    /// Write the output here (atomically) instead of stdout.
    #[arg(short, long, value_name = "FILE")]
    output: Option<PathBuf>,
    /// `kubectl get pods -A -o json` (repeatable): each proxy's kind (sidecar, gateway,
    /// activator, waypoint) from its pod's labels where the series do not give it (cAdvisor's
    /// memory series carry no pod labels), so a gateway among sidecars gets a gateway's line;
    /// and its Envoy workers from its spec as pilot-agent decides them (`--concurrency`,
    /// ProxyConfig `concurrency`, the CPU limit), when every proxy's are known.
    #[arg(long = "pods-file", value_name = "FILE")]
    pods: Vec<PathBuf>,
    /// Mesh topology (from `import kubectl`, with revisions' creation times): date each proxy
    /// that maps onto it from the update rates of the Knative services it sees, capped by GC.
    #[arg(long, value_name = "FILE")]
    topology: Option<PathBuf>,
    /// With --topology: every namespace's Sidecar scope, `mesh` (none), `namespace` or
    /// `hosts=ns/*,ns/svc` [default: mesh]; repeat with `NS=SCOPE` for namespaces that differ.
    /// Gateways and mesh infrastructure (knative-serving) see the whole mesh under any scope.
    #[arg(long = "scope", value_name = "SCOPE", requires = "topology")]
    scopes: Vec<String>,
    /// With --topology: which growth dates a proxy [default: mesh].
    #[arg(long, value_enum, requires = "topology")]
    growth: Option<GrowthArg>,
    #[command(flatten)]
    gc: GcArgs,
    #[command(flatten)]
    versions: VersionArgs,
}

/// A topology and how the fleet reads it (`--topology` and the flags beside it).
pub(crate) struct MeshInput {
    topology: Topology,
    label: String,
    settings: MeshSettings,
}

impl FleetArgs {
    fn mesh(&self) -> Result<Option<MeshInput>> {
        let Some(path) = &self.topology else {
            if self.versions.istio.is_some() || self.versions.knative.is_some() {
                return Err(meshcap::Error::invalid(
                    "--istio-version and --knative-version count a topology's ports: give --topology",
                )
                .into());
            }
            return Ok(None);
        };
        let scope = ScopeMap::single(&self.scopes)?;
        let policy = self.gc.policy()?;
        let mut topology = Topology::load(path)?;
        self.versions.apply(&mut topology);
        scope.check(&topology)?;
        let growth = match self.growth.unwrap_or(GrowthArg::Mesh) {
            GrowthArg::Mesh => GrowthChoice::Mesh,
            GrowthArg::Sooner => GrowthChoice::Sooner,
            GrowthArg::Own => GrowthChoice::Own,
        };
        Ok(Some(MeshInput { topology, label: shown(path), settings: MeshSettings { scope, policy, growth } }))
    }
}

/// The fleet of a series with a model file or the pooled fit, with the model and the cleaned
/// series (for charts).
pub(crate) fn forecast(
    input: FleetInput<'_>,
    model_path: Option<&std::path::Path>,
    settings: &FleetSettings,
    mesh: Option<MeshInput>,
    pods: &[PathBuf],
) -> Result<(Fleet, FittedModel, Series)> {
    // Responses imported here are not hashed: the model is used for this forecast only.
    let (series, sha256, label, warnings) = match input {
        FleetInput::Series(path) => {
            let (series, sha256) = Series::load_hashed(path)?;
            (series, sha256, shown(path), Vec::new())
        }
        FleetInput::Responses(r) => {
            let (series, label, warnings) = r.import()?;
            (series, String::new(), label, warnings)
        }
    };
    let (mut series, mut warnings) = (series, warnings);
    if !pods.is_empty() {
        warnings.extend(super::imported::covariates_from_pods(&mut series, pods)?);
    }
    let series = fleet::pooled::clean(series, settings.limit_bytes)?;
    let model = match model_path {
        Some(m) => model::store::load(m)?,
        None => fleet::pooled::pooled_fit(&series, sha256, &label, settings.level)?,
    };
    let mesh = match mesh {
        Some(m) => {
            let predictor = fleet::predictor_of(&model)?;
            Some(MeshGrowth::new(&m.topology, &m.label, m.settings, &predictor, settings.level)?)
        }
        None => None,
    };
    let mut fleet = fleet::forecast_with(&series, &model, settings, mesh.as_ref())?;
    if let Some(m) = model_path {
        // A model file is named as such, whatever its errors: not "pooled".
        fleet.model = format!("model {} (errors {})", shown(m), model.errors.label());
    }
    fleet.warnings.splice(0..0, warnings);
    Ok((fleet, model, series))
}

pub fn run_fleet(args: FleetArgs) -> Result<()> {
    let inputs: Vec<&PathBuf> = args
        .series
        .iter()
        .chain(args.responses.files())
        .chain(args.model.as_ref())
        .chain(args.topology.as_ref())
        .chain(&args.pods)
        .collect();
    super::imported::refuse_overwrite(args.output.as_deref(), &inputs)?;
    if let Some(by) = args.by.as_deref().filter(|b| *b != "namespace") {
        return Err(meshcap::Error::invalid(format!("--by rolls up by namespace only, not \"{by}\"")).into());
    }
    if let (Some(series), Some(flag)) = (&args.series, args.responses.first_flag()) {
        return Err(meshcap::Error::invalid(format!(
            "{flag} reads a saved response for the one-process import (with --memory-file), but a SERIES ({}) is given: it would be ignored; drop one of them",
            shown(series)
        ))
        .into());
    }
    let settings = FleetSettings { level: args.level, headroom: args.headroom, limit_bytes: args.limit };
    let mesh = args.mesh()?;
    let input = match &args.series {
        Some(path) if !args.responses.given() => FleetInput::Series(path),
        _ => FleetInput::Responses(&args.responses),
    };
    let (mut result, _, _) = forecast(input, args.model.as_deref(), &settings, mesh, &args.pods)?;
    if args.by.is_some() {
        result.namespaces = Some(fleet::rollup(&result));
    }
    let bytes = match args.format {
        FleetFormat::Json => json_bytes(&result),
        FleetFormat::Csv => {
            // A CSV has no place for them (JSON carries them, the table prints them).
            for w in &result.warnings {
                eprintln!("warning: {w}");
            }
            fleet::export::csv(&result).into_bytes()
        }
        FleetFormat::Table => {
            let mut text = fleet::export::table(&result, args.top);
            // The dates are when steady memory reaches the limit: say so, since every
            // projection command answers with a config push included (issue 18 §3).
            text.push_str(
                "days to limit: until the steady memory reaches the limit; a full config push OOMKills sooner (meshcap safe and limit include the push the Istio release sends)\n",
            );
            text.into_bytes()
        }
    };
    emit(args.output.as_deref(), &bytes)
}
