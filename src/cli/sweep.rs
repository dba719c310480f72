//! `meshcap sweep` and `meshcap merge`: scenario grids, streamed or summarized, sharded.

use std::io::Write;
use std::path::PathBuf;

use anyhow::Result;
use clap::Args;
use meshcap::scenario::{self, sweep, Grid, RowFormat, Shard, Spec, Stamp};

use super::emit;
use super::runs::{parse_steps, Progress, RowsFormat};

/// Arguments of `meshcap sweep`.
#[derive(Debug, Args)]
pub struct SweepArgs {
    /// Scenario spec (TOML).
    spec: PathBuf,
    /// Write here (atomically) instead of stdout.
    #[arg(short, long, value_name = "FILE")]
    output: Option<PathBuf>,
    /// Row format.
    #[arg(long, value_enum, default_value_t)]
    format: RowsFormat,
    /// Aggregate (worst scenarios, frontier) instead of writing every row; JSON.
    #[arg(long)]
    summary: bool,
    /// Evaluate shard K of N (0-based): `--shard 0/4`.
    #[arg(long, value_name = "K/N")]
    shard: Option<String>,
    /// Refuse grids with more scenarios than this.
    #[arg(long, default_value_t = 1_000_000_000, value_parser = parse_steps)]
    max_scenarios: u64,
    /// With --simulate: refuse runs estimated above this many steps (see `meshcap simulate`;
    /// default 1e11).
    #[arg(long, value_name = "STEPS", value_parser = parse_steps)]
    max_work: Option<u64>,
    /// No progress bar.
    #[arg(short, long)]
    quiet: bool,
    /// Run the Monte Carlo time simulation instead (as `meshcap simulate`, with the spec's
    /// [simulate] settings and seed 1).
    #[arg(long)]
    simulate: bool,
    /// Replace the spec's scope axis: each `mesh`, `namespace` or `hosts=...` one value of it,
    /// each `NS=SCOPE` (a topology's namespace) applied to every value (repeatable).
    #[arg(long = "scope", value_name = "SCOPE")]
    scopes: Vec<String>,
    #[command(flatten)]
    versions: super::versions::VersionArgs,
}

pub fn run_sweep(args: SweepArgs) -> Result<()> {
    if args.simulate {
        return super::simulate::run_simulate(super::simulate::SimulateArgs {
            spec: args.spec,
            output: args.output,
            format: args.format,
            summary: args.summary,
            shard: args.shard,
            max_scenarios: args.max_scenarios,
            paths: None,
            horizon_days: None,
            seed: meshcap::scenario::simulate::DEFAULT_SEED,
            max_work: args.max_work.unwrap_or(meshcap::scenario::simulate::DEFAULT_MAX_WORK),
            quiet: args.quiet,
            scopes: args.scopes,
            versions: args.versions.clone(),
        });
    }
    if args.max_work.is_some() {
        return Err(meshcap::Error::invalid(
            "--max-work would do nothing here: it bounds the Monte Carlo run of --simulate; the analytic sweep is bounded by --max-scenarios",
        )
        .into());
    }
    let mut spec = Spec::load(&args.spec)?;
    spec.set_versions(args.versions.istio, args.versions.knative);
    super::simulate::set_scopes(&mut spec, &args.scopes)?;
    let model = meshcap::model::store::load(&spec.model)?;
    let grid = Grid::new(spec, model, args.max_scenarios)?;
    for note in grid.notes() {
        eprintln!("note: {note}");
    }
    let shard = args.shard.as_deref().map(Shard::parse).transpose()?;
    let range = shard.map_or(0..grid.size, |s| s.range(grid.size));
    let progress = Progress::new(range.end - range.start, args.quiet);
    if args.summary {
        let summary = sweep::summarize(&grid, range, &|n| progress.set(n));
        progress.finish();
        let mut bytes = serde_json::to_vec_pretty(&summary).expect("serializes");
        bytes.push(b'\n');
        return match &args.output {
            Some(p) => Ok(meshcap::output::write_atomic(p, &bytes)?),
            None => emit(None, &bytes),
        };
    }
    let format = match args.format {
        RowsFormat::Csv => RowFormat::Csv,
        RowsFormat::Jsonl => RowFormat::Jsonl,
    };
    let done = std::cell::Cell::new(0u64);
    let report = |n: u64| {
        done.set(done.get() + n);
        progress.set(done.get());
    };
    // A shard's rows start with its stamp, which `merge` checks and drops.
    let stamp = shard.map(|s| Stamp::new(s, &grid, "sweep").line(format)).unwrap_or_default();
    match &args.output {
        Some(p) => {
            let mut file = meshcap::output::AtomicFile::create(p)?;
            file.write_all(stamp.as_bytes())
                .and_then(|()| sweep::write_rows(&grid, range, format, true, &mut file, &report))
                .map_err(|source| meshcap::Error::Write { path: p.clone(), source })?;
            file.commit()?;
        }
        None => {
            let stdout = std::io::stdout();
            let mut out = std::io::BufWriter::with_capacity(1 << 20, stdout.lock());
            let result = out
                .write_all(stamp.as_bytes())
                .and_then(|()| sweep::write_rows(&grid, range, format, true, &mut out, &report))
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

/// Arguments of `meshcap merge`.
#[derive(Debug, Args)]
pub struct MergeArgs {
    /// Shard outputs, in shard order (0/N first).
    #[arg(required = true)]
    shards: Vec<PathBuf>,
    /// Write here (atomically) instead of stdout.
    #[arg(short, long, value_name = "FILE")]
    output: Option<PathBuf>,
}

pub fn run_merge(args: MergeArgs) -> Result<()> {
    let bytes = scenario::merge::merge(&args.shards)?;
    emit(args.output.as_deref(), &bytes)
}
