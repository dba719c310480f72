//! What every importer (and `clean`, and `fit`'s early output check) does around its result:
//! the `--limit` flag, the output checks made before any work, and writing the file and its
//! summary, and how to reach a Prometheus server. Its own module, so `import`,
//! `import_files` and `import_traffic` use it without using each other.

use std::path::{Path, PathBuf};
use std::time::Duration;

use anyhow::Result;
use clap::Args;
use meshcap::import::http::{Auth, Client};
use meshcap::import::prometheus;
use meshcap::Error;

use super::{emit, json_bytes, shown, Format};

/// `--limit QUANTITY`: a proxy memory limit, 1Mi at least.
pub(crate) fn parse_limit(flag: Option<&str>) -> Result<Option<f64>, Error> {
    flag.map(|l| {
        meshcap::quantity::parse_quantity(l).map_err(|m| Error::invalid(format!("--limit: {m}"))).and_then(|b| {
            if b >= 1_048_576.0 {
                Ok(b)
            } else {
                Err(Error::invalid(format!("--limit \"{l}\" is under 1Mi: a proxy limit needs a unit, such as 1Gi")))
            }
        })
    })
    .transpose()
}

/// `--by a,b`: the label names, trimmed.
pub(crate) fn parse_by(flag: Option<Vec<String>>) -> Option<Vec<String>> {
    flag.map(|b| b.into_iter().map(|l| l.trim().to_string()).collect())
}

/// The human summary of a series import (Prometheus or Grafana).
pub(crate) fn summary_lines(report: &prometheus::Report) -> Vec<String> {
    let mut lines = vec![format!("{} rows at a {} s step", report.rows, report.step_seconds)];
    for (col, set) in &report.series {
        lines.push(format!("{col}: {set}"));
    }
    for (col, n) in &report.dropped_misaligned {
        lines.push(format!("dropped {n} memory samples with no {col} sample within half a step"));
    }
    for (col, n) in &report.non_finite {
        lines.push(format!("dropped {n} NaN/Inf points of {col}"));
    }
    if let (Some(p), Some(r)) = (report.proxies, report.restarts_spliced) {
        lines.push(format!("{p} proxies; {r} container restarts spliced"));
    }
    for w in &report.warnings {
        lines.push(format!("warning: {w}"));
    }
    lines
}

/// The checks every importer (and clean) makes on its output before any work: `--format json`
/// prints the summary, so the file itself (`what`) must go to `-o`; and `-o` never names an
/// input.
pub(crate) fn check_output(out: Option<&Path>, inputs: &[&PathBuf], format: Format, what: &str) -> Result<(), Error> {
    if format == Format::Json && out.is_none() {
        return Err(Error::invalid(format!("--format json prints the summary: name the {what} file with -o")));
    }
    refuse_overwrite(out, inputs)
}

/// Refuse `-o` naming one of the inputs (by identity: a symlink, `..` path or hard link is the
/// input) or a folder, before any work: the one output check every writer makes at the end
/// ([`meshcap::output::check_output`]), made early.
pub(crate) fn refuse_overwrite(out: Option<&Path>, inputs: &[&PathBuf]) -> Result<(), Error> {
    for input in inputs {
        meshcap::output::note_input(input);
    }
    out.map_or(Ok(()), meshcap::output::check_output)
}

/// Write the produced file (or print it) and the summary: the summary goes to stdout when the
/// file goes to `-o`, to stderr when the file itself goes to stdout.
pub(crate) fn finish<T: serde::Serialize>(
    out: Option<&Path>,
    bytes: &[u8],
    format: Format,
    report: &T,
    lines: &[String],
) -> Result<()> {
    finish_with(out, &mut |w| w.write_all(bytes), format, report, lines)
}

/// [`finish`] for an imported series: the canonical CSV streams into the file (a fleet's long
/// form is never held as text).
pub(crate) fn finish_series<T: serde::Serialize>(
    out: Option<&Path>,
    series: &meshcap::series::Series,
    comments: &[String],
    format: Format,
    report: &T,
    lines: &[String],
) -> Result<()> {
    finish_with(out, &mut |w| meshcap::series::write::write_csv(series, comments, w), format, report, lines)
}

type Body<'a> = dyn FnMut(&mut (dyn std::io::Write + Send)) -> std::io::Result<()> + 'a;

fn finish_with<T: serde::Serialize>(
    out: Option<&Path>,
    body: &mut Body<'_>,
    format: Format,
    report: &T,
    lines: &[String],
) -> Result<()> {
    use std::io::Write;
    let summary = match format {
        Format::Json => json_bytes(report),
        Format::Table => {
            let mut text = lines.join("\n");
            text.push('\n');
            if let Some(o) = out {
                text.push_str(&format!("wrote {}\n", shown(o)));
            }
            text.into_bytes()
        }
    };
    match out {
        Some(path) => {
            let mut file = meshcap::output::AtomicFile::create(path)?;
            body(&mut file).map_err(|source| meshcap::Error::Write { path: path.to_path_buf(), source })?;
            file.commit()?;
            emit(None, &summary)
        }
        None => {
            let mut stdout = std::io::BufWriter::with_capacity(1 << 20, std::io::stdout());
            // A closed pipe (`| head`) is not an error worth a message.
            if let Err(e) = body(&mut stdout).and_then(|()| stdout.flush()) {
                if e.kind() != std::io::ErrorKind::BrokenPipe {
                    return Err(e.into());
                }
            }
            if format == Format::Table {
                eprint!("{}", String::from_utf8_lossy(&summary));
            }
            Ok(())
        }
    }
}

/// How to reach a Prometheus server: timeout, CA and credentials (the URL is each command's own).
#[derive(Debug, Args)]
pub struct ServerArgs {
    /// Seconds to wait for each answer.
    #[arg(long, value_name = "DURATION", default_value = "30s")]
    timeout: String,
    /// PEM file of CA certificates to trust besides the Mozilla roots (a private CA).
    #[arg(long, value_name = "FILE")]
    ca_cert: Option<PathBuf>,
    /// Environment variable holding a bearer token (never printed).
    #[arg(long, value_name = "VAR")]
    bearer_token_env: Option<String>,
    /// Environment variable holding user:password for basic auth (never printed).
    #[arg(long, value_name = "VAR", conflicts_with = "bearer_token_env")]
    basic_auth_env: Option<String>,
}

impl ServerArgs {
    /// `--timeout` in seconds, 1 ms to 24 h.
    pub fn timeout_seconds(&self) -> Result<f64> {
        let timeout = prometheus::parse_duration(&self.timeout)?;
        if !(0.001..=86_400.0).contains(&timeout) {
            return Err(Error::invalid(format!(
                "--timeout must be between 1ms and 24h, but \"{}\" is not",
                self.timeout
            ))
            .into());
        }
        Ok(timeout)
    }

    /// A client of `url` with these settings.
    pub fn client(&self, url: &str, timeout: f64) -> Result<Client> {
        let auth = match (&self.bearer_token_env, &self.basic_auth_env) {
            (Some(var), _) => Auth::from_env("bearer-token", var)?,
            (None, Some(var)) => Auth::from_env("basic-auth", var)?,
            _ => Auth::None,
        };
        Ok(Client::with_ca(url, auth, Duration::from_secs_f64(timeout), self.ca_cert.as_deref())?)
    }
}

/// Fill the series' `kind` and `concurrency` columns from `--pods-file`; the warnings to print.
pub(crate) fn covariates_from_pods(
    series: &mut meshcap::series::Series,
    pods: &[std::path::PathBuf],
) -> meshcap::Result<Vec<String>> {
    let (mut kinds, mut workers) = (std::collections::HashMap::new(), std::collections::HashMap::new());
    for f in pods {
        let bytes = meshcap::output::read_input(f).map_err(|source| Error::Read { path: f.to_path_buf(), source })?;
        kinds.extend(meshcap::import::pods::kinds(f, &bytes)?);
        workers.extend(meshcap::import::workers::of_pods(f, &bytes)?.0);
    }
    let (filled, differ) = meshcap::import::kinds::fill_from_pods(series, &kinds)?;
    let mut warnings = Vec::new();
    if filled == 0 && differ.is_empty() {
        warnings.push(format!(
            "no proxy of the series took a kind from --pods-file ({} pods with a kind): proxies are matched as namespace/pod",
            kinds.len()
        ));
    }
    if !differ.is_empty() {
        warnings.push(format!(
            "{} proxies' series give another kind than their pod's labels; the series' kind is kept: {}",
            differ.len(),
            differ.iter().take(5).cloned().collect::<Vec<_>>().join(", ")
        ));
    }
    let (given, unknown) = meshcap::import::workers::fill_from_pods(series, &workers)?;
    if given > 0 && !unknown.is_empty() {
        warnings.push(format!(
            "--pods-file gives the Envoy workers of {given} proxies but not of {} (no --concurrency argument, ProxyConfig concurrency or CPU limit in the pod, and no Node to count CPUs: {}): no workers column, as a per-worker slope needs every proxy's",
            unknown.len(),
            unknown.iter().take(5).cloned().collect::<Vec<_>>().join(", ")
        ));
    }
    Ok(warnings)
}
