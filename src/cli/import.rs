//! `meshcap import prometheus|grafana|kubectl|istioctl`: clap glue for [`meshcap::import`].

use std::path::PathBuf;

use anyhow::Result;
use clap::{Args, Subcommand};
use meshcap::import::http::RangeQuery;
use meshcap::import::prometheus::{self, Answer};
use meshcap::import::select::{Aggregate, Selection};
use meshcap::series::plausible;
use meshcap::Error;

use super::imported::{check_output, finish_series, parse_by, parse_limit, summary_lines, ServerArgs};
use super::{shown, Format};

/// Arguments of `meshcap import`.
#[derive(Debug, Args)]
pub struct ImportArgs {
    #[command(subcommand)]
    source: Source,
}

#[derive(Debug, Subcommand)]
enum Source {
    /// Prometheus query_range (live with --url, or saved responses): a canonical series.
    Prometheus(Box<PrometheusArgs>),
    /// CSV downloaded from a Grafana panel (Inspect > Data) or its data frame JSON: a canonical series; with --by, a fleet's long form.
    Grafana(super::import_files::GrafanaArgs),
    /// `kubectl get namespaces,services,endpoints,revisions,ksvc,destinationrules -A -o json` plus the istiod and Knative controller Deployments: a topology file.
    Kubectl(super::import_files::KubectlArgs),
    /// `istioctl proxy-config cluster POD -o json` or an Envoy /config_dump: outbound cluster counts; several dumps with --readings: a fleet's long form.
    Istioctl(super::import_istioctl::IstioctlArgs),
    /// Who calls whom, from istio_requests_total and istio_tcp_connections_opened_total (live with --url, or saved answers): a dependency table for `meshcap plan`.
    Traffic(super::import_traffic::TrafficArgs),
}

/// Arguments of `meshcap import prometheus`.
#[derive(Debug, Args)]
pub struct PrometheusArgs {
    /// Prometheus base URL, with any path prefix (`http://prometheus:9090`, `https://mimir/prometheus`).
    #[arg(long, value_name = "URL")]
    url: Option<String>,
    /// PromQL for the istio-proxy working set (use max by (namespace, pod), not sum).
    #[arg(long, value_name = "PROMQL")]
    memory: Option<String>,
    /// PromQL for the Knative revisions the proxy sees.
    #[arg(long, value_name = "PROMQL")]
    revisions: Option<String>,
    /// PromQL for endpoint ports, e.g. envoy_cluster_manager_active_clusters{pod=~"..."}.
    #[arg(long, value_name = "PROMQL")]
    ports: Option<String>,
    /// PromQL for the container restart count (kube_pod_container_status_restarts_total).
    #[arg(long, value_name = "PROMQL")]
    restarts: Option<String>,
    /// PromQL for Envoy workers, e.g. envoy_server_concurrency: a `concurrency` column; its
    /// pod labels (Istio's scrape keeps them) also give each proxy's `kind`.
    #[arg(long, value_name = "PROMQL")]
    concurrency: Option<String>,
    /// PromQL for the memory limit (kube_pod_container_resource_limits{resource="memory"}).
    #[arg(long, value_name = "PROMQL")]
    limit_query: Option<String>,
    /// PromQL for the last termination reason, keeping its reason label
    /// (kube_pod_container_status_last_terminated_reason{container="istio-proxy"}): clean
    /// marks the restarts it says were OOMKilled.
    #[arg(long, value_name = "PROMQL")]
    last_terminated: Option<String>,
    /// A saved query_range response for memory (the JSON as the API returns it).
    #[arg(long, value_name = "FILE")]
    memory_file: Option<PathBuf>,
    /// A saved response for revisions.
    #[arg(long, value_name = "FILE")]
    revisions_file: Option<PathBuf>,
    /// A saved response for ports.
    #[arg(long, value_name = "FILE")]
    ports_file: Option<PathBuf>,
    /// A saved response for the restart count.
    #[arg(long, value_name = "FILE")]
    restarts_file: Option<PathBuf>,
    /// A saved response for Envoy workers.
    #[arg(long, value_name = "FILE")]
    concurrency_file: Option<PathBuf>,
    /// A saved response for the limit.
    #[arg(long, value_name = "FILE")]
    limit_file: Option<PathBuf>,
    /// A saved response for the last termination reason.
    #[arg(long, value_name = "FILE")]
    last_terminated_file: Option<PathBuf>,
    /// With --by namespace,pod: `kubectl get pods -A -o json` (repeatable), each proxy's `kind`
    /// from its pod's labels and its `concurrency` (Envoy workers) from its spec where the
    /// series do not give them.
    #[arg(long = "pods-file", value_name = "FILE", requires = "by")]
    pods: Vec<PathBuf>,
    /// Range start: RFC 3339, unix seconds, now or now-DURATION.
    #[arg(long, value_name = "TIME")]
    start: Option<String>,
    /// Range end.
    #[arg(long, value_name = "TIME", default_value = "now")]
    end: String,
    /// Query resolution step (and the alignment step); inferred from saved files when absent.
    #[arg(long, value_name = "DURATION")]
    step: Option<String>,
    #[command(flatten)]
    server: ServerArgs,
    /// Keep only series with this label value (repeatable); ignored for responses without the label.
    #[arg(long = "select", value_name = "LABEL=VALUE")]
    select: Vec<String>,
    /// Combine several series per timestamp: max, sum or mean.
    #[arg(long, value_name = "HOW")]
    aggregate: Option<String>,
    /// Keep one proxy per distinct value of these labels (e.g. namespace,pod): a long-form
    /// series with a proxy column; each proxy's containers are spliced, never summed.
    #[arg(long, value_name = "LABELS", value_delimiter = ',')]
    by: Option<Vec<String>>,
    /// The proxy memory limit for every row (a quantity), when there is no limit query.
    #[arg(long, value_name = "QUANTITY")]
    limit: Option<String>,
    /// Write the canonical CSV here (atomically) instead of stdout.
    #[arg(short, long, value_name = "FILE")]
    output: Option<PathBuf>,
    /// Format of the import summary.
    #[arg(long, value_enum, default_value_t)]
    format: Format,
}

pub fn run_import(args: ImportArgs) -> Result<()> {
    match args.source {
        Source::Prometheus(a) => run_prometheus(*a),
        Source::Grafana(a) => super::import_files::run_grafana(a),
        Source::Kubectl(a) => super::import_files::run_kubectl(a),
        Source::Istioctl(a) => super::import_istioctl::run_istioctl(a),
        Source::Traffic(a) => super::import_traffic::run_traffic(a),
    }
}

/// `LABEL=VALUE` flags.
pub(crate) fn parse_filters(flags: &[String]) -> Result<Vec<(String, String)>, Error> {
    flags
        .iter()
        .map(|f| {
            f.split_once('=')
                .filter(|(k, _)| !k.trim().is_empty())
                .map(|(k, v)| (k.trim().to_string(), v.trim().trim_matches('"').to_string()))
                .ok_or_else(|| Error::invalid(format!("--select must be LABEL=VALUE, but \"{f}\" is not")))
        })
        .collect()
}

pub(crate) fn parse_aggregate(flag: Option<&str>) -> Result<Option<Aggregate>, Error> {
    flag.map(|a| {
        Aggregate::parse(a)
            .ok_or_else(|| Error::invalid(format!("--aggregate must be max, sum or mean, but \"{a}\" is not")))
    })
    .transpose()
}

fn run_prometheus(args: PrometheusArgs) -> Result<()> {
    let selection =
        Selection { filters: parse_filters(&args.select)?, aggregate: parse_aggregate(args.aggregate.as_deref())? };
    let step = args.step.as_deref().map(prometheus::parse_duration).transpose()?;
    let timeout = args.server.timeout_seconds()?;
    if args.limit.is_some() && (args.limit_query.is_some() || args.limit_file.is_some()) {
        return Err(Error::invalid(
            "--limit sets one limit for every row; it cannot go with --limit-query or --limit-file",
        )
        .into());
    }
    let inputs: Vec<&PathBuf> = [
        &args.memory_file,
        &args.revisions_file,
        &args.ports_file,
        &args.restarts_file,
        &args.concurrency_file,
        &args.limit_file,
        &args.last_terminated_file,
    ]
    .into_iter()
    .flatten()
    .chain(&args.pods)
    .collect();
    check_output(args.output.as_deref(), &inputs, args.format, "series")?;
    let limit_bytes = parse_limit(args.limit.as_deref())?;
    let columns: [(&'static str, &Option<String>, &Option<PathBuf>); 7] = [
        ("memory", &args.memory, &args.memory_file),
        ("revisions", &args.revisions, &args.revisions_file),
        ("ports", &args.ports, &args.ports_file),
        ("restarts", &args.restarts, &args.restarts_file),
        (meshcap::series::CONCURRENCY, &args.concurrency, &args.concurrency_file),
        ("limit", &args.limit_query, &args.limit_file),
        (meshcap::series::LAST_TERMINATED, &args.last_terminated, &args.last_terminated_file),
    ];
    let any_query = columns.iter().any(|c| c.1.is_some());
    let client = match (&args.url, any_query) {
        (Some(url), _) => Some(args.server.client(url, timeout)?),
        (None, true) => {
            return Err(Error::invalid("queries need --url; saved responses go in --memory-file and the like").into())
        }
        (None, false) => None,
    };
    // Messages naming the server lose any credentials in its URL.
    let scrub = |e: Error| match (&client, e) {
        (Some(c), Error::Invalid(m)) => Error::Invalid(c.scrub(m)),
        (Some(c), Error::Remote(m)) => Error::Remote(c.scrub(m)),
        (_, e) => e,
    };
    let range = match &client {
        Some(_) if any_query => {
            let now =
                std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map_or(0.0, |d| d.as_secs_f64());
            let start = args.start.as_deref().ok_or_else(|| Error::invalid("--start is required with --url"))?;
            let start = prometheus::parse_time_flag(start, now)?;
            let end = prometheus::parse_time_flag(&args.end, now)?;
            if let Some((t, why)) = [start, end].into_iter().find_map(|t| Some((t, plausible::not_seconds(t)?))) {
                return Err(Error::invalid(format!("--start/--end {t} {why}")).into());
            }
            if end <= start {
                return Err(Error::invalid(format!(
                    "--end ({}) must be after --start ({})",
                    args.end,
                    args.start.unwrap_or_default()
                ))
                .into());
            }
            let step = step.unwrap_or(30.0);
            let steps = (end - start) / step;
            if steps > prometheus::MAX_STEPS {
                return Err(Error::invalid(format!(
                    "the range holds {steps:.3e} steps of {step} s; at most {:.0e} (a larger --step or a shorter range)",
                    prometheus::MAX_STEPS
                ))
                .into());
            }
            Some((start, end, step))
        }
        _ => None,
    };
    let mut answers = Vec::new();
    for (column, query, file) in columns {
        match (query, file) {
            (Some(_), Some(_)) => {
                return Err(
                    Error::invalid(format!("{column} is given both as a query and as a file: choose one")).into()
                )
            }
            (Some(q), None) => {
                let live = client.as_ref().expect("checked above");
                let (start, end, step) = range.expect("checked above");
                let origin = format!("{column} query to {}", live.base());
                let mut answer =
                    Answer { column, origin, query: Some(q.clone()), bodies: Vec::new(), file: None, decoded: None };
                // Each window's response is decoded as it arrives and its text freed: memory
                // holds one response, not the whole range's.
                for (s, e) in prometheus::windows(start, end, step) {
                    answer.bodies.push(live.query_range(&RangeQuery { query: q, start: s, end: e, step })?);
                    prometheus::decode_bodies(&mut answer).map_err(scrub)?;
                }
                answers.push(answer);
            }
            (None, Some(f)) => answers.push(Answer::saved(column, shown(f), f)),
            (None, None) => {}
        }
    }
    let any_file = answers.iter().any(|a| a.query.is_none());
    let provenance = match (&client, any_query, any_file) {
        (Some(c), true, false) => format!("imported by meshcap import prometheus from {}", c.base()),
        (Some(c), true, true) => {
            format!("imported by meshcap import prometheus from {} and saved query_range responses", c.base())
        }
        _ => "imported by meshcap import prometheus from saved query_range responses".to_string(),
    };
    let settings =
        prometheus::Settings { selection, step: step.or(range.map(|r| r.2)), limit_bytes, by: parse_by(args.by) };
    let sources: Vec<String> = answers.iter().map(|a| a.origin.clone()).collect();
    let (mut series, mut comments, mut report) = prometheus::import(answers, &settings, &provenance).map_err(scrub)?;
    if !args.pods.is_empty() {
        report.warnings.extend(super::imported::covariates_from_pods(&mut series, &args.pods)?);
        let files: Vec<String> = args.pods.iter().map(|p| shown(p)).collect();
        comments.push(format!("kind from the pod labels of {} where the series give none", files.join(", ")));
    }
    meshcap::model::check_readings(&series, &sources.join(", "))?;
    finish_series(args.output.as_deref(), &series, &comments, args.format, &report, &summary_lines(&report))
}
