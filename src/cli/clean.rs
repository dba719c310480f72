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
    /// Write the cleaned CSV here (atomically) instead of stdout.
    #[arg(short, long, value_name = "FILE")]
    output: Option<PathBuf>,
    /// Format of the change list.
    #[arg(long, value_enum, default_value_t)]
    format: Format,
}

pub fn run_clean(args: CleanArgs) -> Result<()> {
    let settings = CleanSettings {
        limit_bytes: super::imported::parse_limit(args.limit.as_deref())?,
        restarts_column: args.restarts.clone(),
        ..CleanSettings::default()
    };
    super::imported::check_output(args.output.as_deref(), &[&args.input], args.format, "cleaned")?;
    let series = Series::load(&args.input)?;
    let (cleaned, report) = clean_by_proxy(&series, &settings)?;
    let comment = format!(
        "cleaned by meshcap clean from {}: {} restarts, {} OOMKills, {} double-counted rows",
        super::shown(&args.input),
        report.restarts,
        report.ooms,
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
        "{} restarts, {} OOMKills, {} double-counted rows kept out of fits",
        report.restarts, report.ooms, report.double_counted_rows
    ));
    if let Some(fix) = &report.fix {
        lines.push(format!("fix: {fix}"));
    }
    finish(args.output.as_deref(), &csv, args.format, &report, &lines)
}
