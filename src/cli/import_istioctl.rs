//! `meshcap import istioctl`: clap glue for [`meshcap::import::istioctl`]. One dump gives its
//! counts (or, with `--memory`, appends a row); several dumps with `--readings` give a fleet's
//! long form, as `import prometheus --by` does.

use std::path::PathBuf;

use anyhow::Result;
use clap::Args;
use meshcap::import::{istioctl, prometheus};
use meshcap::Error;

use super::import_files::read;
use super::imported::{check_output, finish, parse_limit, summary_lines};
use super::{emit, json_bytes, shown, Format};

/// Arguments of `meshcap import istioctl`.
#[derive(Debug, Args)]
pub struct IstioctlArgs {
    /// `istioctl proxy-config cluster POD -o json` output or an Envoy /config_dump; several
    /// with --readings.
    #[arg(required = true)]
    files: Vec<PathBuf>,
    /// The proxy's memory at the time of the dump (a quantity): append a row (ports = outbound
    /// plus a gateway's SNI-DNAT clusters) to the series named by -o.
    #[arg(long, value_name = "QUANTITY", group = "readings_source")]
    memory: Option<String>,
    /// A CSV with one row per dump, `dump,time,memory[,limit]` (dump: its file name): writes
    /// the fleet's long form (one proxy per namespace/pod, as import prometheus --by).
    #[arg(long, value_name = "FILE", group = "readings_source")]
    readings: Option<PathBuf>,
    /// The proxy memory limit for the appended row, or for every row with --readings.
    #[arg(long, value_name = "QUANTITY", requires = "readings_source")]
    limit: Option<String>,
    /// With --readings: name proxies by these labels of the dump's node (namespace, pod).
    #[arg(long, value_name = "LABELS", value_delimiter = ',', requires = "readings")]
    by: Option<Vec<String>>,
    /// Kubernetes cluster domain.
    #[arg(long, default_value = "cluster.local")]
    cluster_domain: String,
    /// Print every cluster as istioctl's table does.
    #[arg(long)]
    list: bool,
    /// With --memory: the series to append to (created when missing); with --readings: the
    /// long-form series (atomically). Otherwise: where to write the counts.
    #[arg(short, long, value_name = "FILE")]
    output: Option<PathBuf>,
    /// Output format of the counts (with --readings: of the import summary).
    #[arg(long, value_enum, default_value_t)]
    format: Format,
}

pub fn run_istioctl(args: IstioctlArgs) -> Result<()> {
    if let Some(readings) = &args.readings {
        return run_fleet(&args, readings);
    }
    super::imported::refuse_overwrite(args.output.as_deref(), &args.files.iter().collect::<Vec<_>>())?;
    if args.files.len() > 1 && args.memory.is_some() {
        return Err(Error::invalid(
            "--memory is one proxy's memory for one dump; for several dumps give --readings with a row per dump",
        )
        .into());
    }
    let mut texts = Vec::new();
    let mut all = Vec::new();
    for file in &args.files {
        let (clusters, node) = istioctl::parse(file, &read(file)?)?;
        let counts = istioctl::count(&clusters, node, &args.cluster_domain);
        texts.push(if args.list { istioctl::cluster_table(&clusters) } else { counts_table(&counts, file) });
        all.push(counts);
    }
    // One dump keeps its one JSON object; several are an array, in the order given.
    let report = match (args.format, all.len()) {
        (Format::Json, 1) => json_bytes(&all[0]),
        (Format::Json, _) => json_bytes(&all),
        (Format::Table, _) => texts.join("\n").into_bytes(),
    };
    let counts = all.pop().expect("one file at least");
    let file = args.files.last().expect("one file at least");
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
    let pod = counts.node.pod.clone().unwrap_or_else(|| shown(file));
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

/// Several dumps and their readings: the long form.
fn run_fleet(args: &IstioctlArgs, readings: &PathBuf) -> Result<()> {
    let inputs: Vec<&PathBuf> = args.files.iter().chain([readings]).collect();
    check_output(args.output.as_deref(), &inputs, args.format, "series")?;
    if args.list {
        return Err(Error::invalid("--list prints one dump's clusters; it does not go with --readings").into());
    }
    let text =
        String::from_utf8(read(readings)?).map_err(|_| Error::data("readings file is not UTF-8 text", readings))?;
    let rows = istioctl::parse_readings(readings, &text)?;
    if args.limit.is_some() && rows.iter().any(|r| r.limit_bytes.is_some()) {
        return Err(Error::invalid(format!(
            "--limit sets one limit for every row; it cannot go with the limit column of {}",
            shown(readings)
        ))
        .into());
    }
    let mut dumps = Vec::with_capacity(args.files.len());
    for file in &args.files {
        let (clusters, node) = istioctl::parse(file, &read(file)?)?;
        dumps.push(istioctl::Dump {
            path: file.clone(),
            counts: istioctl::count(&clusters, node, &args.cluster_domain),
        });
    }
    let settings = prometheus::Settings {
        limit_bytes: parse_limit(args.limit.as_deref())?,
        by: super::imported::parse_by(args.by.clone()),
        ..prometheus::Settings::default()
    };
    let provenance = format!("imported by meshcap import istioctl from {} dumps and {}", dumps.len(), shown(readings));
    let (series, comments, report) = istioctl::to_fleet(&dumps, readings, &rows, &settings, &provenance)?;
    meshcap::model::check_readings(&series, &shown(readings))?;
    let csv = meshcap::series::write::to_csv(&series, &comments);
    finish(args.output.as_deref(), &csv, args.format, &report, &summary_lines(&report))
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
