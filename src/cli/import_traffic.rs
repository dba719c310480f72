//! `meshcap import traffic`: clap glue for [`meshcap::import::traffic`].

use std::path::PathBuf;

use anyhow::Result;
use clap::Args;
use meshcap::import::http::{Client, RangeQuery};
use meshcap::import::prometheus::{self, Answer};
use meshcap::import::traffic::{self, Role, METRICS};
use meshcap::Error;

use super::imported::{check_output, finish};
use super::{shown, Format};

/// Arguments of `meshcap import traffic`.
#[derive(Debug, Args)]
pub struct TrafficArgs {
    /// Prometheus base URL, with any path prefix: query the window ending now.
    #[arg(long, value_name = "URL")]
    url: Option<String>,
    /// How far back to look (default 14d with --url); with saved instant answers, the window
    /// they were taken over (recorded in the table).
    #[arg(long, value_name = "DURATION")]
    window: Option<String>,
    /// Resolution of the live queries: each step's increase() and count_over_time().
    #[arg(long, value_name = "DURATION", default_value = "1h")]
    step: String,
    /// A saved answer of `sum by (source_workload_namespace, source_workload,
    /// destination_service) (increase(istio_requests_total{reporter="source"}[1h]))` (or of
    /// istio_tcp_connections_opened_total): counts (repeatable).
    #[arg(long, value_name = "FILE")]
    requests_file: Vec<PathBuf>,
    /// A saved answer of the same with `count by (...) (count_over_time(...))`: presence, which
    /// catches calls whose counter never increased in the window (repeatable).
    #[arg(long, value_name = "FILE")]
    seen_file: Vec<PathBuf>,
    /// The mesh (`import kubectl`'s topology): only its Knative services' revision hosts are
    /// written as the service's host.
    #[arg(long, value_name = "FILE")]
    topology: Option<PathBuf>,
    #[command(flatten)]
    server: super::imported::ServerArgs,
    /// Write the dependency table here (atomically) instead of stdout.
    #[arg(short, long, value_name = "FILE")]
    output: Option<PathBuf>,
    /// Format of the import summary.
    #[arg(long, value_enum, default_value_t)]
    format: Format,
}

pub fn run_traffic(args: TrafficArgs) -> Result<()> {
    let mut inputs: Vec<&PathBuf> = args.requests_file.iter().chain(&args.seen_file).collect();
    inputs.extend(args.topology.as_ref());
    check_output(args.output.as_deref(), &inputs, args.format, "dependency table")?;
    let duration = |flag: &str, text: &str, max: f64| -> Result<f64, Error> {
        let v = prometheus::parse_duration(text).map_err(|e| Error::invalid(format!("--{flag}: {e}")))?;
        if !(1.0..=max).contains(&v) {
            return Err(Error::invalid(format!(
                "--{flag} must be between 1s and {:.0} days, but \"{text}\" is not",
                max / 86_400.0
            )));
        }
        Ok(v)
    };
    let year = 366.0 * 86_400.0;
    let window = args.window.as_deref().map(|w| duration("window", w, year)).transpose()?;
    let step = duration("step", &args.step, 7.0 * 86_400.0)?;
    let timeout = args.server.timeout_seconds()?;
    let topology = args.topology.as_deref().map(meshcap::mesh::Topology::load).transpose()?;
    let mut answers = Vec::new();
    match &args.url {
        Some(url) => {
            if !(args.requests_file.is_empty() && args.seen_file.is_empty()) {
                return Err(Error::invalid(
                    "--url queries Prometheus; saved answers (--requests-file, --seen-file) go without it",
                )
                .into());
            }
            let window = window.unwrap_or(14.0 * 86_400.0);
            if window < step {
                return Err(Error::invalid(format!("--window ({window} s) is shorter than --step ({step} s)")).into());
            }
            let client = args.server.client(url, timeout)?;
            let now =
                std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map_or(0.0, |d| d.as_secs_f64());
            let end = (now / step).floor() * step;
            let start = end - window + step;
            let step_text = format!("{}s", step as i64);
            for metric in METRICS {
                for (role, column, query) in [
                    (Role::Requests, "requests", traffic::requests_query(metric, &step_text)),
                    (Role::Seen, "seen", traffic::seen_query(metric, &step_text)),
                ] {
                    let origin = format!("{metric} {column} query to {}", client.base());
                    let mut answer = Answer {
                        column,
                        origin,
                        query: Some(query.clone()),
                        bodies: Vec::new(),
                        file: None,
                        decoded: None,
                    };
                    for (s, e) in prometheus::windows(start, end, step) {
                        let body = client.query_range(&RangeQuery { query: &query, start: s, end: e, step })?;
                        answer.bodies.push(body);
                        prometheus::decode_bodies(&mut answer).map_err(|e| scrub(&client, e))?;
                    }
                    answers.push((role, answer));
                }
            }
        }
        None => {
            if args.requests_file.is_empty() && args.seen_file.is_empty() {
                return Err(Error::invalid("give --url, or saved answers with --requests-file / --seen-file").into());
            }
            for f in &args.requests_file {
                answers.push((Role::Requests, Answer::saved("requests", shown(f), f)));
            }
            for f in &args.seen_file {
                answers.push((Role::Seen, Answer::saved("seen", shown(f), f)));
            }
        }
    }
    let live_window = args.url.as_ref().map(|_| window.unwrap_or(14.0 * 86_400.0) as i64);
    let (deps, report) = traffic::dependencies(answers, live_window.or(window.map(|w| w as i64)), topology.as_ref())?;
    let source = match &args.url {
        Some(url) => format!("imported by meshcap import traffic from {}", meshcap::import::http::redact(url)),
        None => "imported by meshcap import traffic from saved answers".to_string(),
    };
    let bytes = deps.to_csv(&[source]).into_bytes();
    let mut lines = vec![format!(
        "{} dependencies of {} workloads from {} series{}",
        report.dependencies,
        report.source_workloads,
        report.series,
        report.window_seconds.map(|w| format!(" over {:.1} days", w as f64 / 86_400.0)).unwrap_or_default()
    )];
    if let Some(r) = &report.rarest {
        lines.push(format!("rarest kept: {r}: kept like any other"));
    }
    if report.mapped_to_knative > 0 {
        lines.push(format!(
            "{} revision Service hosts written as their Knative service's host",
            report.mapped_to_knative
        ));
    }
    if report.dropped_unknown > 0 {
        lines.push(format!(
            "{} series left out: caller or destination unknown, or an IP (not a Service)",
            report.dropped_unknown
        ));
    }
    lines.extend(report.warnings.iter().map(|w| format!("warning: {w}")));
    finish(args.output.as_deref(), &bytes, args.format, &report, &lines)
}

fn scrub(client: &Client, e: Error) -> Error {
    match e {
        Error::Invalid(m) => Error::Invalid(client.scrub(m)),
        Error::Remote(m) => Error::Remote(client.scrub(m)),
        e => e,
    }
}
