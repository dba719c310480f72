//! `meshcap report` (the main job), and the inputs and flag helpers it shares with `meshcap plot` ([`super::plot`]).

use std::path::{Path, PathBuf};

use anyhow::Result;
use clap::Args;
use meshcap::mesh::{ScopeMap, Topology};
use meshcap::model::{self, FitSettings, FittedModel};
use meshcap::plot;
use meshcap::report::{write_report, ReportInput, REPORT_LIMITS};
use meshcap::series::Series;

use super::project::{parse_fraction, parse_limit};
use super::shown;

/// `WxH`, e.g. `1600x1000`.
pub fn parse_size(s: &str) -> Result<(u32, u32), String> {
    let bad = || format!("size must be WxH in pixels (e.g. 1600x1000), but \"{s}\" is not");
    let (w, h) = s.split_once(['x', 'X']).ok_or_else(bad)?;
    let (w, h): (u32, u32) = (w.trim().parse().map_err(|_| bad())?, h.trim().parse().map_err(|_| bad())?);
    plot::check_size((w, h)).map_err(|e| e.to_string())?;
    Ok((w, h))
}

/// Inputs shared by `report` and `plot`.
#[derive(Debug, Args)]
pub struct Inputs {
    /// Measurement series to fit (ignored for the model when --model is given, but used for
    /// observations and residuals).
    #[arg(long, default_value = "data/knative-1.11-istio-1.18.csv")]
    pub(super) data: PathBuf,
    /// Use this model file instead of fitting --data.
    #[arg(long)]
    pub(super) model: Option<PathBuf>,
    /// Mesh topology for the scope charts (`none` to leave them out).
    #[arg(long, default_value = "data/topology-example.toml")]
    pub(super) topology: String,
    /// Scopes to compare (the first is the baseline); `NS=SCOPE` gives namespace NS its own
    /// scope in each of them.
    #[arg(long = "scope", default_values = ["mesh", "namespace"])]
    pub(super) scopes: Vec<String>,
    /// Limits to project for (repeatable).
    #[arg(long = "limit", value_parser = parse_limit)]
    pub(super) limits: Vec<f64>,
    /// Limit the scope comparison is drawn against.
    #[arg(long, default_value = "1Gi", value_parser = parse_limit)]
    pub(super) scope_limit: f64,
    /// Confidence level (default: the model's).
    #[arg(long)]
    pub(super) level: Option<f64>,
    /// Share of the limit kept free: `10%` or `0.1`.
    #[arg(long, default_value = "0", value_parser = parse_fraction)]
    pub(super) headroom: f64,
    /// Config-push allowance: `auto` (by the Istio release), `full`, `delta` or `none`.
    #[arg(long, default_value = "auto", value_parser = super::project::parse_push)]
    pub(super) push: super::project::PushFlag,
    /// A factor on all steady-state memory instead of the push allowance (e.g. 1.5).
    #[arg(long)]
    pub(super) transient: Option<f64>,
    /// Size of single charts, WxH.
    #[arg(long, default_value = "1600x1000", value_parser = parse_size)]
    pub(super) size: (u32, u32),
    #[command(flatten)]
    pub(super) versions: super::versions::VersionArgs,
}

pub(super) struct Loaded {
    pub(super) model: FittedModel,
    pub(super) series: Option<Series>,
    pub(super) topology: Option<(Topology, String)>,
    pub(super) scopes: Vec<ScopeMap>,
    pub(super) caution: meshcap::project::Caution,
    pub(super) push: meshcap::project::PushChoice,
}

impl Inputs {
    pub(super) fn load(&self) -> Result<Loaded> {
        let scopes = ScopeMap::alternatives(&self.scopes)?;
        let (model, series) = match &self.model {
            Some(p) => {
                let model = model::store::load(p)?;
                // The model's own data, when it is still there, for observations and residuals.
                let series = if self.data.exists() { Some(Series::load(&self.data)?) } else { None };
                (model, series)
            }
            None => {
                let (series, sha256) = Series::load_hashed(&self.data)?;
                let settings = FitSettings { source_label: Some(shown(&self.data)), ..FitSettings::default() };
                let mut fitted = model::fit_hashed(&series, &settings, sha256)?;
                fitted.conditions = model::conditions::recorded_in(&series, false)?;
                (fitted, Some(series))
            }
        };
        let topology = if self.topology == "none" {
            None
        } else {
            let p = Path::new(&self.topology);
            let mut t = Topology::load(p)?;
            self.versions.apply(&mut t);
            scopes.iter().try_for_each(|s| s.check(&t))?;
            Some((t, p.file_name().map_or_else(|| self.topology.clone(), |n| n.to_string_lossy().into())))
        };
        let target = super::project::Target {
            istio: topology.as_ref().map(|t| t.0.versions()).filter(|v| !v.istio_assumed).map(|v| v.istio),
            delta_xds: topology.as_ref().and_then(|t| t.0.delta_xds),
        };
        let (caution, push) =
            super::project::caution_for(&model, self.level, self.headroom, self.transient, self.push, target)?;
        Ok(Loaded { model, series, topology, scopes, caution, push })
    }

    pub(super) fn limits(&self) -> Vec<f64> {
        if self.limits.is_empty() {
            REPORT_LIMITS.to_vec()
        } else {
            self.limits.clone()
        }
    }
}

/// Arguments of `meshcap report`.
#[derive(Debug, Args)]
pub struct ReportArgs {
    #[command(flatten)]
    inputs: Inputs,
    /// Also chart a scenario grid: a heatmap and a Monte Carlo fan.
    #[arg(long)]
    spec: Option<PathBuf>,
    /// Heatmap x axis (with --spec; default updates_per_day).
    #[arg(long)]
    heatmap_x: Option<String>,
    /// Heatmap y axis (with --spec; default retain_since_create_time).
    #[arg(long)]
    heatmap_y: Option<String>,
    /// Heatmap: fix an axis, `axis=value` (repeatable).
    #[arg(long = "heatmap-where", value_name = "AXIS=VALUE")]
    heatmap_where: Vec<String>,
    /// Folder to write into (created if missing).
    #[arg(long, default_value = "plots")]
    out: PathBuf,
    /// A long-form fleet series (from `import prometheus --by namespace,pod`): its charts and
    /// table join the report.
    #[arg(long, value_name = "SERIES")]
    fleet: Option<PathBuf>,
    /// Fan (with --spec): refuse simulations estimated above this many steps of the day loop,
    /// as `meshcap simulate --max-work` does (default 1e11; `1e13` accepted).
    #[arg(long, value_name = "STEPS", value_parser = super::runs::parse_steps)]
    max_work: Option<u64>,
}

pub fn run_report(args: ReportArgs) -> Result<()> {
    if args.spec.is_none() {
        let given = [
            ("--heatmap-x", args.heatmap_x.is_some()),
            ("--heatmap-y", args.heatmap_y.is_some()),
            ("--heatmap-where", !args.heatmap_where.is_empty()),
            ("--max-work", args.max_work.is_some()),
        ];
        refuse_unused(&given, "chart a scenario grid: they need --spec FILE")?;
    }
    let l = args.inputs.load()?;
    let grid = match &args.spec {
        Some(p) => {
            let spec = meshcap::scenario::Spec::load(p)?;
            let model = model::store::load(&spec.model)?;
            Some(meshcap::scenario::Grid::new(spec, model, meshcap::report::sweep_charts::MAX_HEATMAP_SCENARIOS)?)
        }
        None => None,
    };
    let settings = fleet_settings(args.inputs.headroom, args.inputs.level);
    let fleet = args
        .fleet
        .as_deref()
        .map(|f| super::fleet::forecast(super::fleet_responses::FleetInput::Series(f), None, &settings, None, &[]))
        .transpose()?;
    let input = ReportInput {
        fleet: fleet.as_ref().map(|(fleet, model, series)| meshcap::report::fleet::FleetInput { fleet, model, series }),
        sweep: grid
            .as_ref()
            .map(|g| -> Result<_> {
                Ok(meshcap::report::SweepInput {
                    grid: g,
                    x_axis: args.heatmap_x.clone().unwrap_or_else(|| "updates_per_day".into()),
                    y_axis: args.heatmap_y.clone().unwrap_or_else(|| "retain_since_create_time".into()),
                    fixed: parse_where(&args.heatmap_where)?,
                    max_work: args.max_work.unwrap_or(meshcap::scenario::simulate::DEFAULT_MAX_WORK),
                })
            })
            .transpose()?,
        model: &l.model,
        series: l.series.as_ref(),
        topology: l.topology.as_ref().map(|(t, n)| (t, n.clone())),
        scopes: l.scopes.clone(),
        limits: args.inputs.limits(),
        scope_limit: args.inputs.scope_limit,
        caution: l.caution,
        push_line: Some(l.push.line()),
        condition_notes: l
            .topology
            .as_ref()
            .map(|(t, _)| meshcap::project::workers::topology_differences(&l.model, t))
            .unwrap_or_default()
            .into_iter()
            .map(|d| d.note)
            .collect(),
    };
    let written = write_report(&input, &args.out, args.inputs.size)?;
    for p in written {
        println!("wrote {}", p.display());
    }
    Ok(())
}

/// Fleet settings for the charts: flagged at --headroom, or at `fleet`'s 10% when it is not
/// given (the report's own default is none).
/// The fleet's settings from the shared inputs: `--level` and `--headroom` apply to the fleet's
/// intervals and flags as they do in `meshcap fleet` (a flag the fleet charts ignored would
/// print the same chart whatever it said).
pub(super) fn fleet_settings(headroom: f64, level: Option<f64>) -> meshcap::fleet::FleetSettings {
    let default = meshcap::fleet::FleetSettings::default();
    meshcap::fleet::FleetSettings {
        headroom: if headroom > 0.0 { headroom } else { default.headroom },
        level: level.unwrap_or(default.level),
        ..default
    }
}

/// `axis=value` pairs.
pub(super) fn parse_where(items: &[String]) -> meshcap::Result<Vec<(String, String)>> {
    items
        .iter()
        .map(|w| {
            w.split_once('=')
                .map(|(a, v)| (a.trim().to_string(), v.trim().to_string()))
                .ok_or_else(|| meshcap::Error::invalid(format!("--where takes axis=value, but \"{w}\" has no '='")))
        })
        .collect()
}

/// Refuse flags that were given but do nothing here: one line naming them and why.
pub(super) fn refuse_unused(given: &[(&str, bool)], why: &str) -> Result<()> {
    let named: Vec<&str> = given.iter().filter(|(_, g)| *g).map(|(f, _)| *f).collect();
    if named.is_empty() {
        return Ok(());
    }
    Err(meshcap::Error::invalid(format!("{} would do nothing here: {}", named.join(", "), why)).into())
}
