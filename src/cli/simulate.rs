//! `meshcap simulate`: Monte Carlo over a scenario grid, rows streamed or summarized, sharded.

use std::io::Write;
use std::path::PathBuf;

use anyhow::Result;
use clap::Args;
use meshcap::scenario::simulate::{self, SimOptions, Simulation};
use meshcap::scenario::{Grid, RowFormat, Shard, Spec, Stamp};

use super::runs::{parse_steps, Progress, RowsFormat};
use super::{emit, json_bytes};

/// Arguments of `meshcap simulate`.
#[derive(Debug, Args)]
pub struct SimulateArgs {
    /// Scenario spec (TOML).
    pub(crate) spec: PathBuf,
    /// Write here (atomically) instead of stdout.
    #[arg(short, long, value_name = "FILE")]
    pub(crate) output: Option<PathBuf>,
    /// Row format.
    #[arg(long, value_enum, default_value_t)]
    pub(crate) format: RowsFormat,
    /// Aggregate (worst scenarios, P(OOM) per axis value) instead of writing every row; JSON.
    #[arg(long)]
    pub(crate) summary: bool,
    /// Simulate shard K of N (0-based): `--shard 0/4`.
    #[arg(long, value_name = "K/N")]
    pub(crate) shard: Option<String>,
    /// Refuse grids with more scenarios than this (`1e6` accepted).
    #[arg(long, default_value_t = 1_000_000, value_parser = parse_steps)]
    pub(crate) max_scenarios: u64,
    /// Paths per scenario (default: the spec's `[simulate] paths`).
    #[arg(long, value_name = "N")]
    pub(crate) paths: Option<u32>,
    /// Days simulated (default: the spec's `[simulate] horizon_days`).
    #[arg(long, value_name = "N")]
    pub(crate) horizon_days: Option<u32>,
    /// Seed of the random streams; the same seed gives the same bytes.
    #[arg(long, default_value_t = simulate::DEFAULT_SEED)]
    pub(crate) seed: u64,
    /// Refuse runs estimated above this many steps of the day loop (paths x days x (Knative
    /// services + scenarios), summed over groups of scenarios sharing paths); `1e13` accepted. At about 10^8 steps a second
    /// per core, the default is minutes to an hour.
    #[arg(long, value_name = "STEPS", default_value = "1e11", value_parser = parse_steps)]
    pub(crate) max_work: u64,
    /// No progress bar.
    #[arg(short, long)]
    pub(crate) quiet: bool,
    /// Replace the spec's scope axis: each `mesh`, `namespace` or `hosts=...` one value of it,
    /// each `NS=SCOPE` (a topology's namespace) applied to every value (repeatable).
    #[arg(long = "scope", value_name = "SCOPE")]
    pub(crate) scopes: Vec<String>,
    #[command(flatten)]
    pub(crate) versions: super::versions::VersionArgs,
}

/// `--scope` values, when given, as the spec's scope axis.
pub(crate) fn set_scopes(spec: &mut Spec, scopes: &[String]) -> Result<()> {
    if !scopes.is_empty() {
        spec.set_scopes(meshcap::mesh::ScopeMap::alternatives(scopes)?)?;
    }
    Ok(())
}

pub fn run_simulate(args: SimulateArgs) -> Result<()> {
    // Cheap checks first, so a bad flag is reported before the spec and model are read.
    let shard = args.shard.as_deref().map(Shard::parse).transpose()?;
    let mut spec = Spec::load(&args.spec)?;
    spec.set_versions(args.versions.istio, args.versions.knative);
    set_scopes(&mut spec, &args.scopes)?;
    let mut options = SimOptions::from_spec(&spec);
    options.seed = args.seed;
    if let Some(p) = args.paths {
        options.settings.paths = p;
    }
    if let Some(h) = args.horizon_days {
        options.settings.horizon_days = h;
        // The analytic answer counts never-routed revisions over the same horizon.
        spec.simulate.horizon_days = h;
    }
    let model = meshcap::model::store::load(&spec.model)?;
    let grid = Grid::new(spec, model, args.max_scenarios)?;
    for note in grid.notes() {
        eprintln!("note: {note}");
    }
    let sim = Simulation::new(&grid, options)?;
    let range = shard.map_or(0..grid.size, |s| s.range(grid.size));
    sim.check_work(range.clone(), args.max_work)?;
    let progress = Progress::new(range.end - range.start, args.quiet);
    if args.summary {
        let summary = simulate::summarize(&sim, range, &|n| progress.set(n));
        progress.finish();
        return emit(args.output.as_deref(), &json_bytes(&summary));
    }
    let format = match args.format {
        RowsFormat::Csv => RowFormat::Csv,
        RowsFormat::Jsonl => RowFormat::Jsonl,
    };
    let report = |n: u64| progress.set(n);
    // A shard's rows start with its stamp, which `merge` checks and drops; the seed, paths and
    // horizon are part of what its numbers depend on.
    let run = format!("simulate {:?}", sim.options());
    let stamp = shard.map(|s| Stamp::new(s, &grid, &run).line(format)).unwrap_or_default();
    match &args.output {
        Some(p) => {
            let mut file = meshcap::output::AtomicFile::create(p)?;
            file.write_all(stamp.as_bytes())
                .and_then(|()| simulate::write_rows(&sim, range, format, true, &mut file, &report))
                .map_err(|source| meshcap::Error::Write { path: p.clone(), source })?;
            file.commit()?;
        }
        None => {
            let stdout = std::io::stdout();
            let mut out = std::io::BufWriter::with_capacity(1 << 20, stdout.lock());
            let result = out
                .write_all(stamp.as_bytes())
                .and_then(|()| simulate::write_rows(&sim, range, format, true, &mut out, &report))
                .and_then(|()| out.flush());
            if let Err(e) = result {
                if e.kind() != std::io::ErrorKind::BrokenPipe {
                    return Err(e.into());
                }
            }
        }
    }
    progress.finish();
    Ok(())
}
