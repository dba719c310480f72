//! `meshcap fleet`: clap glue for [`meshcap::fleet`].

use std::path::PathBuf;

use anyhow::Result;
use clap::{Args, ValueEnum};
use meshcap::fleet::{self, Fleet, FleetSettings};
use meshcap::model::{self, FittedModel};
use meshcap::series::Series;

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

/// Arguments of `meshcap fleet`.
#[derive(Debug, Args)]
pub struct FleetArgs {
    /// Long-form series with a proxy column (from `import prometheus --by namespace,pod`).
    series: PathBuf,
    /// A model file to use instead of fitting the pooled model (group per proxy) on SERIES.
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
}

/// The fleet of a series with a model file or the pooled fit, with the model and the cleaned
/// series (for charts).
pub(crate) fn forecast(
    series_path: &std::path::Path,
    model_path: Option<&std::path::Path>,
    settings: &FleetSettings,
) -> Result<(Fleet, FittedModel, Series)> {
    let (series, sha256) = Series::load_hashed(series_path)?;
    let series = fleet::pooled::clean(series, settings.limit_bytes)?;
    let model = match model_path {
        Some(m) => model::store::load(m)?,
        None => fleet::pooled::pooled_fit(&series, sha256, &shown(series_path), settings.level)?,
    };
    let fleet = fleet::forecast(&series, &model, settings)?;
    Ok((fleet, model, series))
}

pub fn run_fleet(args: FleetArgs) -> Result<()> {
    let inputs: Vec<&PathBuf> = std::iter::once(&args.series).chain(args.model.as_ref()).collect();
    super::imported::refuse_overwrite(args.output.as_deref(), &inputs)?;
    if let Some(by) = args.by.as_deref().filter(|b| *b != "namespace") {
        return Err(meshcap::Error::invalid(format!("--by rolls up by namespace only, not \"{by}\"")).into());
    }
    let settings = FleetSettings { level: args.level, headroom: args.headroom, limit_bytes: args.limit };
    let (mut result, _, _) = forecast(&args.series, args.model.as_deref(), &settings)?;
    if args.by.is_some() {
        result.namespaces = Some(fleet::rollup(&result));
    }
    let bytes = match args.format {
        FleetFormat::Json => json_bytes(&result),
        FleetFormat::Csv => fleet::export::csv(&result).into_bytes(),
        FleetFormat::Table => fleet::export::table(&result, args.top).into_bytes(),
    };
    emit(args.output.as_deref(), &bytes)
}
