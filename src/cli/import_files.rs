//! `meshcap import grafana|kubectl`: the file importers' clap glue (istioctl's is in
//! [`super::import_istioctl`]).

use std::path::PathBuf;

use anyhow::Result;
use clap::Args;
use meshcap::import::{grafana, kubectl, prometheus};
use meshcap::Error;

use super::imported::{check_output, finish, parse_limit};
use super::{shown, Format};

pub(crate) fn read(path: &std::path::Path) -> Result<Vec<u8>, Error> {
    meshcap::output::read_input(path).map_err(|source| Error::Read { path: path.to_path_buf(), source })
}

/// Arguments of `meshcap import grafana`.
#[derive(Debug, Args)]
pub struct GrafanaArgs {
    /// CSV files downloaded from panels (joined by time, or one series per block or file), or
    /// their data frame JSON (Inspect > JSON > Panel data or DataFrame JSON).
    #[arg(required = true)]
    files: Vec<PathBuf>,
    /// The column holding istio-proxy memory: its exact header, or a part only it contains.
    /// With --by: every column it names (a file's name takes all of that file's series).
    #[arg(long, value_name = "COLUMN")]
    memory: String,
    /// The column holding Knative revisions.
    #[arg(long, value_name = "COLUMN")]
    revisions: Option<String>,
    /// The column holding endpoint ports (active clusters).
    #[arg(long, value_name = "COLUMN")]
    ports: Option<String>,
    /// The column holding the restart count.
    #[arg(long, value_name = "COLUMN")]
    restarts: Option<String>,
    /// The column holding the memory limit.
    #[arg(long, value_name = "COLUMN")]
    limit_column: Option<String>,
    /// The proxy memory limit for every row (a quantity).
    #[arg(long, value_name = "QUANTITY")]
    limit: Option<String>,
    /// The browser's UTC offset for formatted times (`+02:00`); formatted times are local.
    #[arg(long, value_name = "OFFSET", default_value = "+00:00", allow_hyphen_values = true)]
    utc_offset: String,
    /// Alignment step; inferred from the memory times when absent.
    #[arg(long, value_name = "DURATION")]
    step: Option<String>,
    /// Keep one proxy per distinct value of these labels (e.g. namespace,pod), read from each
    /// series' label set: a long-form series with a proxy column, as import prometheus --by.
    #[arg(long, value_name = "LABELS", value_delimiter = ',')]
    by: Option<Vec<String>>,
    /// Write the canonical CSV here (atomically) instead of stdout.
    #[arg(short, long, value_name = "FILE")]
    output: Option<PathBuf>,
    /// Format of the import summary.
    #[arg(long, value_enum, default_value_t)]
    format: Format,
}

pub fn run_grafana(args: GrafanaArgs) -> Result<()> {
    check_output(args.output.as_deref(), &args.files.iter().collect::<Vec<_>>(), args.format, "series")?;
    if args.limit.is_some() && args.limit_column.is_some() {
        return Err(Error::invalid("--limit sets one limit for every row; it cannot go with --limit-column").into());
    }
    let offset = grafana::parse_utc_offset(&args.utc_offset)?;
    let mut all = Vec::new();
    for f in &args.files {
        let bytes = read(f)?;
        let text = String::from_utf8(bytes).map_err(|e| {
            Error::data(format!("file is not UTF-8 text (invalid byte at offset {})", e.utf8_error().valid_up_to()), f)
        })?;
        all.extend(grafana::parse(f, &text, offset)?);
    }
    let mut mapping: Vec<(&'static str, String)> = vec![("memory", args.memory.clone())];
    for (col, pat) in [
        ("revisions", &args.revisions),
        ("ports", &args.ports),
        ("restarts", &args.restarts),
        ("limit", &args.limit_column),
    ] {
        if let Some(p) = pat {
            mapping.push((col, p.clone()));
        }
    }
    let settings = prometheus::Settings {
        step: args.step.as_deref().map(prometheus::parse_duration).transpose()?,
        limit_bytes: parse_limit(args.limit.as_deref())?,
        by: super::imported::parse_by(args.by),
        ..prometheus::Settings::default()
    };
    let sources = args.files.iter().map(|f| shown(f)).collect::<Vec<_>>().join(", ");
    let (series, comments, report) = grafana::to_series(
        &all,
        &mapping,
        &settings,
        offset,
        &format!("imported by meshcap import grafana from {sources}"),
    )?;
    meshcap::model::check_readings(&series, &sources)?;
    let lines = super::imported::summary_lines(&report);
    super::imported::finish_series(args.output.as_deref(), &series, &comments, args.format, &report, &lines)
}

/// Arguments of `meshcap import kubectl`.
#[derive(Debug, Args)]
pub struct KubectlArgs {
    /// JSON from `kubectl get namespaces,services,endpoints,revisions.serving.knative.dev,services.serving.knative.dev,destinationrules.networking.istio.io -A -o json`
    /// and `kubectl get deployments -n istio-system -o json` / `-n knative-serving` (the
    /// releases); several files are joined.
    #[arg(required = true)]
    files: Vec<PathBuf>,
    /// Namespaces without a Namespace object in the input: assume no sidecars (default: sidecars).
    #[arg(long)]
    no_sidecars: bool,
    /// Write the topology TOML here (atomically) instead of stdout.
    #[arg(short, long, value_name = "FILE")]
    output: Option<PathBuf>,
    /// Format of the import summary.
    #[arg(long, value_enum, default_value_t)]
    format: Format,
    #[command(flatten)]
    versions: super::versions::VersionArgs,
}

pub fn run_kubectl(args: KubectlArgs) -> Result<()> {
    check_output(args.output.as_deref(), &args.files.iter().collect::<Vec<_>>(), args.format, "topology")?;
    let mut files = Vec::new();
    for f in &args.files {
        files.push((f.clone(), read(f)?));
    }
    let mut inv = kubectl::inventory(&files)?;
    if let Some(v) = args.versions.istio {
        inv.istio_version = Some(v.to_string());
        inv.istio_version_source = "--istio-version";
    }
    if let Some(v) = args.versions.knative {
        inv.knative_version = Some(v.to_string());
        inv.knative_version_source = "--knative-version";
    }
    let sources = args.files.iter().map(|f| shown(f)).collect::<Vec<_>>().join(", ");
    let toml = kubectl::topology_toml(&inv, !args.no_sidecars, &sources);
    // What we write must read back as a topology.
    let out_path = args.output.clone().unwrap_or_else(|| PathBuf::from("topology.toml"));
    meshcap::mesh::Topology::parse(&out_path, &toml)
        .map_err(|e| Error::invalid(format!("the topology built from {sources} does not validate: {e}")))?;
    let (ksvcs, revisions, with_ports, plain) = kubectl::totals(&inv);
    let mut lines = vec![format!(
        "{} namespaces, {ksvcs} Knative services, {revisions} revisions ({with_ports} with their Services' ports), {plain} plain Services, {} gateways",
        inv.namespaces.len(),
        inv.gateways.len()
    )];
    lines.extend(inv.warnings.iter().map(|w| format!("warning: {w}")));
    for (kind, n) in &inv.skipped {
        lines.push(format!("skipped {n} {kind}"));
    }
    finish(args.output.as_deref(), toml.as_bytes(), args.format, &inv, &lines)
}
