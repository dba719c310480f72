//! `meshcap import grafana|kubectl|istioctl`: the file importers' clap glue.

use std::path::PathBuf;

use anyhow::Result;
use clap::Args;
use meshcap::import::{grafana, istioctl, kubectl, prometheus};
use meshcap::Error;

use super::imported::{check_output, finish, parse_limit};
use super::{emit, json_bytes, shown, Format};

fn read(path: &std::path::Path) -> Result<Vec<u8>, Error> {
    meshcap::output::read_input(path).map_err(|source| Error::Read { path: path.to_path_buf(), source })
}

/// Arguments of `meshcap import grafana`.
#[derive(Debug, Args)]
pub struct GrafanaArgs {
    /// CSV files downloaded from panels (joined by time, or one series per block or file).
    #[arg(required = true)]
    files: Vec<PathBuf>,
    /// The column holding istio-proxy memory: its exact header, or a part only it contains.
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

/// Arguments of `meshcap import istioctl`.
#[derive(Debug, Args)]
pub struct IstioctlArgs {
    /// `istioctl proxy-config cluster POD -o json` output or an Envoy /config_dump.
    file: PathBuf,
    /// The proxy's memory at the time of the dump (a quantity): append a row (ports = outbound
    /// plus a gateway's SNI-DNAT clusters) to the series named by -o.
    #[arg(long, value_name = "QUANTITY")]
    memory: Option<String>,
    /// The proxy memory limit for the appended row.
    #[arg(long, value_name = "QUANTITY", requires = "memory")]
    limit: Option<String>,
    /// Kubernetes cluster domain.
    #[arg(long, default_value = "cluster.local")]
    cluster_domain: String,
    /// Print every cluster as istioctl's table does.
    #[arg(long)]
    list: bool,
    /// With --memory: the series to append to (created when missing). Otherwise: where to
    /// write the counts.
    #[arg(short, long, value_name = "FILE")]
    output: Option<PathBuf>,
    /// Output format of the counts.
    #[arg(long, value_enum, default_value_t)]
    format: Format,
}

pub fn run_istioctl(args: IstioctlArgs) -> Result<()> {
    super::imported::refuse_overwrite(args.output.as_deref(), &[&args.file])?;
    let bytes = read(&args.file)?;
    let (clusters, node) = istioctl::parse(&args.file, &bytes)?;
    let counts = istioctl::count(&clusters, node, &args.cluster_domain);
    let text = if args.list { istioctl::cluster_table(&clusters) } else { counts_table(&counts, &args.file) };
    let report = match args.format {
        Format::Json => json_bytes(&counts),
        Format::Table => text.into_bytes(),
    };
    let Some(memory) = &args.memory else {
        return match &args.output {
            Some(o) => {
                meshcap::output::write_atomic(o, &report)?;
                emit(None, format!("wrote {}\n", shown(o)).as_bytes())
            }
            None => emit(None, &report),
        };
    };
    let out = args
        .output
        .as_ref()
        .ok_or_else(|| Error::invalid("--memory appends a row to a series: name it with -o FILE"))?;
    let memory_bytes =
        meshcap::quantity::parse_quantity(memory).map_err(|m| Error::invalid(format!("--memory: {m}")))?;
    if !(1_048_576.0..=1.125_899_906_842_624e15).contains(&memory_bytes) {
        return Err(Error::invalid(format!(
            "--memory \"{memory}\" is not a proxy's memory (1Mi to 1Pi): a quantity needs its unit, such as 412Mi"
        ))
        .into());
    }
    let limit_bytes = parse_limit(args.limit.as_deref())?;
    let pod = counts.node.pod.clone().unwrap_or_else(|| shown(&args.file));
    let note = if counts.proxy_kind == "unknown" { pod } else { format!("{} {pod}", counts.proxy_kind) };
    let row = meshcap::import::istioctl::Row {
        revisions: counts.knative_revisions,
        ports: counts.service_clusters,
        services: counts.services,
        memory_bytes,
        limit_bytes,
        note,
    };
    let existing = match std::fs::read(out) {
        Ok(b) => Some(String::from_utf8(b).map_err(|_| Error::data("series is not UTF-8 text", out))?),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => None,
        Err(source) => return Err(Error::Read { path: out.clone(), source }.into()),
    };
    let (new, written, skipped) = meshcap::import::istioctl::append_row(out, existing.as_deref(), &row)?;
    meshcap::output::write_atomic(out, new.as_bytes())?;
    emit(None, &report)?;
    let line = format!("appended {} to {}\n", written.join(" "), shown(out));
    let skipped = if skipped.is_empty() {
        String::new()
    } else {
        format!("warning: {} has no column for {}: not written\n", shown(out), skipped.join(", "))
    };
    // JSON on stdout stays one document: the note goes to stderr.
    eprint!("{skipped}");
    match args.format {
        Format::Json => {
            eprint!("{line}");
            Ok(())
        }
        Format::Table => emit(None, line.as_bytes()),
    }
}

fn counts_table(c: &istioctl::Counts, file: &std::path::Path) -> String {
    let mut s = String::new();
    let who = match (&c.node.kind, &c.node.pod, &c.node.namespace) {
        (Some(k), Some(p), Some(n)) => format!("{k} {n}/{p}"),
        _ => shown(file),
    };
    s.push_str(&format!(
        "{who}: {} clusters: {} outbound ({} with a subset), {} inbound, {} SNI-DNAT, {} other\n",
        c.clusters, c.outbound, c.outbound_with_subset, c.inbound, c.sni_dnat, c.other
    ));
    s.push_str(&format!(
        "proxy kind {}; {} service clusters (outbound + SNI-DNAT: what memory follows); Knative revisions recognised by the name pattern NAME-0000N[-private] (a dump has no labels)\n",
        c.proxy_kind, c.service_clusters
    ));
    s.push_str(&format!(
        "{:<28} {:>9} {:>9} {:>8} {:>10}\n",
        "namespace", "outbound", "services", "ksvcs", "revisions"
    ));
    for (ns, n) in &c.by_namespace {
        s.push_str(&format!(
            "{ns:<28} {:>9} {:>9} {:>8} {:>10}\n",
            n.outbound_clusters, n.services, n.knative_services, n.knative_revisions
        ));
    }
    if c.external_clusters > 0 {
        s.push_str(&format!(
            "{:<28} {:>9}   ({})\n",
            "external (ServiceEntry)",
            c.external_clusters,
            c.external_hosts.join(", ")
        ));
    }
    let types: Vec<String> = c.outbound_types.iter().map(|(t, n)| format!("{t} {n}")).collect();
    s.push_str(&format!("outbound by type: {}\n", types.join(", ")));
    s
}
