//! `meshcap clean`: mark restarts, OOMKills and double counting in a canonical series.

use std::path::PathBuf;

use anyhow::Result;
use clap::Args;
use meshcap::series::clean::{clean_by_proxy, CleanSettings};
use meshcap::series::Series;

use super::imported::finish;
use super::Format;

/// Arguments of `meshcap clean`.
#[derive(Debug, Args)]
pub struct CleanArgs {
    /// Canonical series (CSV or JSON); never modified.
    input: PathBuf,
    /// The proxy memory limit (a quantity), overriding the series' limit column.
    #[arg(long, value_name = "QUANTITY")]
    limit: Option<String>,
    /// Column holding a restart count (default: `restarts` when present).
    #[arg(long, value_name = "COLUMN")]
    restarts: Option<String>,
    /// `kubectl get pods -A -o json` output (repeatable): each proxy's last termination
    /// (lastState.terminated reason and finishedAt) decides whether that restart was an OOMKill.
    #[arg(long, value_name = "FILE")]
    pods: Vec<PathBuf>,
    /// Keep only this pod's records (NAMESPACE/NAME): a series without a proxy column is one pod.
    #[arg(long, value_name = "NAMESPACE/NAME", requires = "pods")]
    pod: Option<String>,
    /// The container whose terminations are read.
    #[arg(long, value_name = "NAME", default_value = meshcap::import::pods::DEFAULT_CONTAINER, requires = "pods")]
    container: String,
    /// Write the cleaned CSV here (atomically) instead of stdout.
    #[arg(short, long, value_name = "FILE")]
    output: Option<PathBuf>,
    /// Format of the change list.
    #[arg(long, value_enum, default_value_t)]
    format: Format,
}

pub fn run_clean(args: CleanArgs) -> Result<()> {
    let mut inputs = vec![&args.input];
    inputs.extend(&args.pods);
    super::imported::check_output(args.output.as_deref(), &inputs, args.format, "cleaned")?;
    let mut terminations = Vec::new();
    for f in &args.pods {
        let bytes = super::import_files::read(f)?;
        terminations.extend(meshcap::import::pods::terminations(f, &super::shown(f), &bytes, &args.container)?);
    }
    if let Some(pod) = &args.pod {
        terminations.retain(|t| t.pod == *pod);
        if terminations.is_empty() {
            return Err(meshcap::Error::invalid(format!(
                "--pod {pod}: no {} container of that pod has a last termination in the pod List",
                args.container
            ))
            .into());
        }
    }
    let settings = CleanSettings {
        limit_bytes: super::imported::parse_limit(args.limit.as_deref())?,
        restarts_column: args.restarts.clone(),
        terminations,
        ..CleanSettings::default()
    };
    let series = Series::load(&args.input)?;
    let (cleaned, report) = clean_by_proxy(&series, &settings)?;
    let mut sources = vec![super::shown(&args.input)];
    sources.extend(args.pods.iter().map(|p| super::shown(p)));
    let comment = format!(
        "cleaned by meshcap clean from {}: {} restarts, {}, {} double-counted rows",
        sources.join(", "),
        report.restarts,
        oom_summary(&report),
        report.double_counted_rows
    );
    // Keep the input's own comments (provenance, what an importer dropped) above ours.
    let mut comments: Vec<String> = std::fs::read_to_string(&args.input)
        .map(|t| {
            t.lines()
                .take_while(|l| l.trim_start().starts_with('#') || l.trim().is_empty())
                .filter_map(|l| l.trim_start().strip_prefix('#').map(|c| c.strip_prefix(' ').unwrap_or(c).to_string()))
                .collect()
        })
        .unwrap_or_default();
    comments.push(comment);
    let csv = meshcap::series::write::to_csv(&cleaned, &comments);
    let mut lines: Vec<String> = report
        .changes
        .iter()
        .map(|c| {
            let at = if series.json { "observation" } else { "line" };
            format!("{at} {}: {} ({}): {}", c.line, c.event, meshcap::quantity::Bytes(c.memory_bytes), c.reason)
        })
        .collect();
    lines.push(format!(
        "{} restarts, {}, {} double-counted rows kept out of fits",
        report.restarts,
        oom_summary(&report),
        report.double_counted_rows
    ));
    if report.records_unmatched > 0 {
        lines.push(format!(
            "{} termination records match no restart of the series (another pod, or outside its time range)",
            report.records_unmatched
        ));
    }
    if let Some(fix) = &report.fix {
        lines.push(format!("fix: {fix}"));
    }
    finish(args.output.as_deref(), &csv, args.format, &report, &lines)
}

/// `N OOMKills (R recorded, G guessed ...)`: recorded from termination records, guessed from
/// memory near the limit where no record explains a restart.
fn oom_summary(r: &meshcap::series::clean::CleanReport) -> String {
    let mut s = format!(
        "{} OOMKills ({} recorded, {} guessed from memory near the limit",
        r.ooms, r.ooms_recorded, r.ooms_guessed
    );
    if r.recorded_other > 0 {
        s.push_str(&format!("; {} restarts recorded with another reason, not OOMKills", r.recorded_other));
    }
    s.push(')');
    s
}
