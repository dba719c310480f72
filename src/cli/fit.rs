//! `meshcap fit` and `meshcap show`.

use std::path::PathBuf;

use anyhow::{Context, Result};
use clap::Args;
use meshcap::model::{self, FitSettings, Term};
use meshcap::series::Series;

use super::{emit, json_bytes, shown, Format};

/// Arguments of `meshcap fit`.
#[derive(Debug, Args)]
pub struct FitArgs {
    /// Measurement series (CSV or JSON).
    data: PathBuf,
    /// Predictor terms, comma-separated; `col^k` builds powers (default: revisions, plus
    /// ports/services when they vary independently).
    #[arg(long, value_name = "TERMS")]
    x: Option<String>,
    /// Response column.
    #[arg(long, value_name = "COLUMN", default_value = "memory")]
    y: String,
    /// Fit without an intercept.
    #[arg(long)]
    no_intercept: bool,
    /// Confidence level of the intervals.
    #[arg(long, default_value_t = 0.95)]
    level: f64,
    /// Endpoint ports per Knative revision (8 before Knative 1.21, 7 from 1.21).
    #[arg(long, default_value_t = model::DEFAULT_PORTS_PER_REVISION)]
    ports_per_revision: f64,
    /// Error structure: auto (group=proxy with a proxy column, else levels with a time
    /// column, else iid), iid, levels, group=COL, hac, cluster[=COL].
    #[arg(long, value_name = "STRUCTURE", default_value = "auto")]
    errors: String,
    #[command(flatten)]
    conditions: ConditionArgs,
    /// Convert a series of Envoy's own memory (envoy_server_memory_allocated/heap_size, recorded
    /// by the import) to a working-set estimate: QUANTITY+PERCENT%, e.g. 50Mi+15% (pilot-agent,
    /// allocator free pages, stacks); stated in the model notes. Without it such a series is refused.
    #[arg(long, value_name = "ALLOWANCE")]
    memory_allowance: Option<String>,
    /// Write the model file here (atomically) instead of printing a summary only.
    #[arg(short, long, value_name = "FILE")]
    output: Option<PathBuf>,
    /// Output format.
    #[arg(long, value_enum, default_value_t)]
    format: Format,
}

/// Where the data were measured, recorded in the model so that its uses can say when they
/// differ (`safe --workers 8`, a topology at another Istio release).
#[derive(Debug, Args)]
pub struct ConditionArgs {
    /// Istio release of the measured proxies (e.g. 1.18.2).
    #[arg(long = "istio-version", value_parser = parse_release)]
    istio_version: Option<String>,
    /// Knative Serving release (e.g. 1.11.0).
    #[arg(long = "knative-version", value_parser = parse_release)]
    knative_version: Option<String>,
    /// Envoy worker threads of the measured proxies.
    #[arg(long, value_parser = clap::value_parser!(u32).range(1..=1024))]
    workers: Option<u32>,
    /// Per-cluster stats (`cluster.outbound.*`) were kept: `true` or `false`.
    #[arg(long, value_name = "BOOL")]
    per_cluster_stats: Option<bool>,
    /// Proxy kind measured.
    #[arg(long, value_parser = ["sidecar", "gateway", "activator", "waypoint"])]
    proxy_kind: Option<String>,
    /// The metric `memory` is.
    #[arg(long, value_parser = ["container_memory_working_set_bytes", "envoy_server_memory_allocated", "envoy_server_memory_heap_size"])]
    memory_metric: Option<String>,
}

impl ConditionArgs {
    fn conditions(&self) -> model::Conditions {
        model::Conditions {
            istio_version: self.istio_version.clone(),
            knative_version: self.knative_version.clone(),
            workers: self.workers.map(f64::from),
            per_cluster_stats: self.per_cluster_stats,
            proxy_kind: self.proxy_kind.clone(),
            memory_metric: self.memory_metric.clone(),
        }
    }
}

fn parse_release(s: &str) -> Result<String, String> {
    meshcap::mesh::Version::parse(s).map(|v| v.to_string()).map_err(|e| e.to_string())
}

/// Arguments of `meshcap show`.
#[derive(Debug, Args)]
pub struct ShowArgs {
    /// Model file written by `meshcap fit -o`.
    model: PathBuf,
    /// Output format.
    #[arg(long, value_enum, default_value_t)]
    format: Format,
}

pub fn run_fit(args: FitArgs) -> Result<()> {
    let terms = args.x.as_deref().map(Term::parse_list).transpose()?;
    let settings = FitSettings {
        terms,
        response: args.y.clone(),
        intercept: !args.no_intercept,
        level: args.level,
        ports_per_revision: args.ports_per_revision,
        source_label: Some(shown(&args.data)),
        errors: args.errors.parse()?,
        memory_allowance: args.memory_allowance.as_deref().map(meshcap::series::MemoryAllowance::parse).transpose()?,
        // Terms named with --x are the model; without, kind and workers join the defaults.
        covariates: args.x.is_none(),
    };
    settings.validate()?;
    super::imported::refuse_overwrite(args.output.as_deref(), &[&args.data])?;
    let (series, sha256) = Series::load_hashed(&args.data)?;
    let mut fitted = model::fit_hashed(&series, &settings, sha256)?;
    // What the data file records, with the flags over it.
    fitted.conditions = model::conditions::recorded_in(&series, settings.memory_allowance.is_some())?
        .overridden_by(args.conditions.conditions());
    if let Some(out) = &args.output {
        model::store::save(&fitted, out).with_context(|| format!("saving the model to {}", shown(out)))?;
    }
    match args.format {
        Format::Json => emit(None, &model::store::to_json(&fitted)),
        Format::Table => {
            let mut text = model::summary::render(&fitted) + &assumption_lines(&fitted) + &oom_lines(&fitted);
            if let Some(out) = &args.output {
                text.push_str(&format!("wrote {}\n", shown(out)));
            }
            emit(None, text.as_bytes())
        }
    }
}

pub fn run_show(args: ShowArgs) -> Result<()> {
    let fitted = model::store::load(&args.model)?;
    match args.format {
        Format::Json => emit(None, &json_bytes(&fitted)),
        Format::Table => {
            emit(None, (model::summary::render(&fitted) + &assumption_lines(&fitted) + &oom_lines(&fitted)).as_bytes())
        }
    }
}

/// One line per assumption the intervals rest on: the test, its p and what the fit did.
fn assumption_lines(fitted: &model::FittedModel) -> String {
    let list = &fitted.errors.assumptions;
    if list.is_empty() {
        return "assumptions: not recorded (a model file written before meshcap checked them; fit again to see them)\n"
            .into();
    }
    let mut out = String::from("assumptions (test, p, what was done):\n");
    for a in list {
        let p = a.p.map_or_else(|| "p n/a".to_string(), |p| format!("p = {p:.3e}"));
        let name = format!("{}:", a.name);
        out.push_str(&format!("  {name:<13} {}; {p} -> {}\n", a.test, a.action));
    }
    out
}

/// Whether the model's crossing interval agrees with each observed OOMKill.
fn oom_lines(fitted: &model::FittedModel) -> String {
    use meshcap::project::{oom_consistency, Bounds, Caution, RevisionPath};
    // OOMKills are compared with the steady state at the limit itself: no push, no headroom.
    let caution = Caution { level: fitted.level, ..Caution::default() };
    let bounds = Bounds::new(fitted, RevisionPath::new(fitted), caution);
    let opt = |v: Option<f64>| v.map_or_else(|| "unbounded".to_string(), |v| format!("{v:.0}"));
    oom_consistency(&bounds, &fitted.oom)
        .iter()
        .map(|c| {
            format!(
                "OOM check: at {} the crossing interval [{}, {}] {} the observed bracket [{}, {}]\n",
                meshcap::quantity::format_bytes(c.limit_bytes),
                opt(c.crossing_interval[0]),
                opt(c.crossing_interval[1]),
                if c.consistent { "overlaps" } else { "does NOT overlap" },
                opt(c.bracket_low),
                opt(c.bracket_high)
            )
        })
        .collect()
}
