//! What every importer (and `clean`, and `fit`'s early output check) does around its result:
//! the `--limit` flag, the output checks made before any work, and writing the file and its
//! summary. Its own module, so `import` and `import_files` both use it without using each
//! other.

use std::path::{Path, PathBuf};

use anyhow::Result;
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
