//! Command-line interface: clap definitions and the glue from arguments to the library.
//!
//! Arguments are parsed here into validated, clap-free settings; the library never sees clap.
//! Every command writes either a human table (default) or JSON (`--format json`) to stdout, or
//! atomically to the file named by `-o`.

mod caution;
mod clean;
mod fit;
mod fleet;
mod fleet_responses;
mod gc;
mod import;
mod import_files;
mod import_istioctl;
mod import_traffic;
mod imported;
mod plan;
mod plot;
mod project;
mod report;
mod rules;
mod runs;
mod scope;
mod simulate;
mod sweep;
mod versions;

use std::path::Path;

use anyhow::Result;
use clap::{Parser, Subcommand, ValueEnum};

/// Offline capacity model for Istio sidecar memory under Knative revisions.
#[derive(Debug, Parser)]
#[command(name = "meshcap", version, about, long_about = None)]
pub struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// The main job: fit, project, compare scopes and write plots/report.png + report.md.
    Report(report::ReportArgs),
    /// Render one chart to a PNG.
    Plot(plot::PlotArgs),
    /// Fit a linear memory model to a measurement series.
    Fit(fit::FitArgs),
    /// Every proxy of a fleet: headroom now, growth per day and days until its limit.
    Fleet(fleet::FleetArgs),
    /// Print the summary of a model file.
    Show(fit::ShowArgs),
    /// Safe revision counts and crossings for proxy limits.
    Safe(project::SafeArgs),
    /// Predicted memory at a revision, port or service count.
    Whatif(project::WhatIfArgs),
    /// The smallest proxy limit that keeps a revision count safe.
    Limit(project::LimitArgs),
    /// Compare Sidecar scopes on a mesh topology.
    Scope(scope::ScopeArgs),
    /// Evaluate a grid of scenarios (limits, scopes, GC policies, growth) analytically.
    Sweep(sweep::SweepArgs),
    /// Monte Carlo time simulation of a scenario grid: OOM probability, days to first OOM.
    Simulate(simulate::SimulateArgs),
    /// Join sweep shard outputs into the bytes of the unsharded run.
    Merge(sweep::MergeArgs),
    /// Import measurements or topology from Prometheus, Grafana, kubectl or istioctl.
    Import(import::ImportArgs),
    /// Mark restarts, OOMKills and double counting in a series (kept out of fits).
    Clean(clean::CleanArgs),
    /// Prometheus rules that keep forecasting: predicted memory, its upper bound, alerts.
    Rules(rules::RulesArgs),
    /// The changes that keep every proxy safe for a horizon (Sidecars, annotations, config-gc),
    /// proved before and after, with the rules that keep watching.
    Plan(plan::PlanArgs),
}

/// Output format shared by the commands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum, Default)]
pub enum Format {
    /// Human-readable text.
    #[default]
    Table,
    /// JSON, one document.
    Json,
}

/// Run a parsed command line.
pub fn run(cli: Cli) -> Result<()> {
    match cli.command {
        Command::Report(args) => report::run_report(args),
        Command::Plot(args) => plot::run_plot(args),
        Command::Fit(args) => fit::run_fit(args),
        Command::Fleet(args) => fleet::run_fleet(args),
        Command::Show(args) => fit::run_show(args),
        Command::Safe(args) => project::run_safe(args),
        Command::Whatif(args) => project::run_whatif(args),
        Command::Limit(args) => project::run_limit(args),
        Command::Scope(args) => scope::run_scope(args),
        Command::Sweep(args) => sweep::run_sweep(args),
        Command::Merge(args) => sweep::run_merge(args),
        Command::Simulate(args) => simulate::run_simulate(args),
        Command::Import(args) => import::run_import(args),
        Command::Clean(args) => clean::run_clean(args),
        Command::Rules(args) => rules::run_rules(args),
        Command::Plan(args) => plan::run_plan(args),
    }
}

/// Write bytes to `-o FILE` atomically, or to stdout.
pub(crate) fn emit(out: Option<&Path>, bytes: &[u8]) -> Result<()> {
    use std::io::Write;
    match out {
        Some(path) => meshcap::output::write_atomic(path, bytes)?,
        None => {
            let mut stdout = std::io::stdout().lock();
            // A closed pipe (`| head`) is not an error worth a message.
            if let Err(e) = stdout.write_all(bytes).and_then(|()| stdout.flush()) {
                if e.kind() != std::io::ErrorKind::BrokenPipe {
                    return Err(e.into());
                }
            }
        }
    }
    Ok(())
}

/// Pretty JSON with a trailing newline.
pub(crate) fn json_bytes<T: serde::Serialize>(value: &T) -> Vec<u8> {
    let mut bytes = serde_json::to_vec_pretty(value).expect("results always serialize");
    bytes.push(b'\n');
    bytes
}

/// The path as the user wrote it, for messages and model provenance.
pub(crate) fn shown(path: &Path) -> String {
    path.display().to_string()
}
