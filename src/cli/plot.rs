//! `meshcap plot`: one chart per call, from the same inputs as `report` ([`super::report::Inputs`]);
//! kept apart from `report`'s own flow (the whole report in one go).

use std::path::PathBuf;

use anyhow::Result;
use clap::{Args, ValueEnum};
use meshcap::model;
use meshcap::plot;
use meshcap::report::charts;

use super::report::{fleet_settings, parse_where, refuse_unused, Inputs};

/// Single charts.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Kind {
    /// Observations, fit, bands, limits, OOM brackets.
    Fit,
    /// Residuals against fitted values and revisions.
    Residuals,
    /// Residuals by configuration level: level means with the range of their readings.
    Levels,
    /// Safe revisions against the proxy limit per scope.
    SafeLimits,
    /// Predicted memory per namespace under each scope.
    Scope,
    /// A sweep's worst case over two axes (needs --spec, --x-axis, --y-axis).
    Heatmap,
    /// Monte Carlo memory bands over days and first-OOM days of one scenario (needs --spec).
    Fan,
    /// A fleet (--data: a long-form series): memory against ports for every proxy.
    Fleet,
    /// A fleet's days to the limit, the soonest 30 with their intervals.
    FleetDays,
}

/// What the heatmap colours.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum HeatArg {
    /// Days until the limit is crossed.
    Days,
    /// Margin to the limit.
    Margin,
}

/// Arguments of `meshcap plot`.
#[derive(Debug, Args)]
pub struct PlotArgs {
    /// Which chart.
    #[arg(value_enum)]
    kind: Kind,
    #[command(flatten)]
    inputs: Inputs,
    /// Output PNG.
    #[arg(short, long)]
    output: PathBuf,
    /// Scenario spec (heatmap).
    #[arg(long)]
    spec: Option<PathBuf>,
    /// Heatmap x axis (a spec axis name; default updates_per_day).
    #[arg(long)]
    x_axis: Option<String>,
    /// Heatmap y axis (default max_non_active_revisions).
    #[arg(long)]
    y_axis: Option<String>,
    /// Heatmap value (default days).
    #[arg(long, value_enum)]
    value: Option<HeatArg>,
    /// Heatmap: keep only scenarios with this axis value, `axis=value` (repeatable), e.g.
    /// `--where limit=1Gi --where scope=namespace`.
    #[arg(long = "where", value_name = "AXIS=VALUE")]
    fixed: Vec<String>,
    /// Fan: the scenario id (see `meshcap sweep` rows; default 0).
    #[arg(long)]
    scenario: Option<u64>,
    /// Fan: which proxy (default sidecar).
    #[arg(long, value_enum)]
    proxy: Option<ProxyArg>,
    /// Fan: refuse simulations estimated above this many steps of the day loop, as `meshcap
    /// simulate --max-work` does (default 1e11; `1e13` accepted).
    #[arg(long, value_name = "STEPS", value_parser = super::runs::parse_steps)]
    max_work: Option<u64>,
}

/// Which proxy a fan chart follows.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum ProxyArg {
    /// The most exposed sidecar.
    Sidecar,
    /// The gateways.
    Gateway,
}

pub fn run_plot(args: PlotArgs) -> Result<()> {
    let size = args.inputs.size;
    // Each chart's own flags; any other chart refuses them rather than ignore them.
    let heatmap = [
        ("--x-axis", args.x_axis.is_some()),
        ("--y-axis", args.y_axis.is_some()),
        ("--value", args.value.is_some()),
        ("--where", !args.fixed.is_empty()),
    ];
    let fan = [
        ("--scenario", args.scenario.is_some()),
        ("--proxy", args.proxy.is_some()),
        ("--max-work", args.max_work.is_some()),
    ];
    if args.kind != Kind::Heatmap {
        refuse_unused(&heatmap, "draw the heatmap only")?;
    }
    if args.kind != Kind::Fan {
        refuse_unused(&fan, "draw the fan chart only")?;
    }
    if !matches!(args.kind, Kind::Heatmap | Kind::Fan) {
        refuse_unused(&[("--spec", args.spec.is_some())], "draw the heatmap and the fan chart only")?;
    }
    if args.kind == Kind::Heatmap {
        let spec_path = args.spec.as_ref().ok_or_else(|| meshcap::Error::invalid("the heatmap needs --spec FILE"))?;
        let spec = meshcap::scenario::Spec::load(spec_path)?;
        let model = model::store::load(&spec.model)?;
        let grid = meshcap::scenario::Grid::new(spec, model, meshcap::report::sweep_charts::MAX_HEATMAP_SCENARIOS)?;
        let value = match args.value.unwrap_or(HeatArg::Days) {
            HeatArg::Days => meshcap::report::sweep_charts::HeatValue::Days,
            HeatArg::Margin => meshcap::report::sweep_charts::HeatValue::Margin,
        };
        let fixed = parse_where(&args.fixed)?;
        let x = args.x_axis.as_deref().unwrap_or("updates_per_day");
        let y = args.y_axis.as_deref().unwrap_or("max_non_active_revisions");
        let chart = meshcap::report::sweep_charts::sweep_heatmap(&grid, x, y, value, &fixed)?;
        plot::render_heatmap(&chart, &args.output, size)?;
        println!("wrote {}", args.output.display());
        return Ok(());
    }
    if args.kind == Kind::Fan {
        let spec_path = args.spec.as_ref().ok_or_else(|| meshcap::Error::invalid("the fan chart needs --spec FILE"))?;
        let spec = meshcap::scenario::Spec::load(spec_path)?;
        let model = model::store::load(&spec.model)?;
        let grid = meshcap::scenario::Grid::new(spec, model, u64::MAX)?;
        let proxy = match args.proxy.unwrap_or(ProxyArg::Sidecar) {
            ProxyArg::Sidecar => meshcap::mesh::ProxyKind::Sidecar,
            ProxyArg::Gateway => meshcap::mesh::ProxyKind::Gateway,
        };
        let chart = meshcap::report::sweep_charts::fan_chart(
            &grid,
            args.scenario.unwrap_or(0),
            proxy,
            args.max_work.unwrap_or(meshcap::scenario::simulate::DEFAULT_MAX_WORK),
        )?;
        plot::render_fan(&chart, &args.output, size)?;
        println!("wrote {}", args.output.display());
        return Ok(());
    }
    if matches!(args.kind, Kind::Fleet | Kind::FleetDays) {
        let settings = fleet_settings(args.inputs.headroom, args.inputs.level);
        let (fleet, model, series) = super::fleet::forecast(
            super::fleet_responses::FleetInput::Series(&args.inputs.data),
            args.inputs.model.as_deref(),
            &settings,
            None,
            &[],
        )?;
        if args.kind == Kind::Fleet {
            let input = meshcap::report::fleet::FleetInput { fleet: &fleet, model: &model, series: &series };
            plot::render_fleet_memory(&meshcap::report::fleet::memory_chart(&input)?, &args.output, size)?;
        } else {
            plot::render_fleet_days(&meshcap::report::fleet::days_chart(&fleet), &args.output, size)?;
        }
        println!("wrote {}", args.output.display());
        return Ok(());
    }
    let l = args.inputs.load()?;
    match args.kind {
        Kind::Heatmap | Kind::Fan | Kind::Fleet | Kind::FleetDays => unreachable!("handled above"),
        Kind::Fit => plot::render_fit(
            &charts::fit_chart(&l.model, l.series.as_ref(), &args.inputs.limits(), l.caution),
            &args.output,
            size,
        )?,
        Kind::Residuals => {
            let series =
                l.series.as_ref().ok_or_else(|| meshcap::Error::invalid("residuals need the data: pass --data"))?;
            let chart = charts::residual_chart(&l.model, series).ok_or_else(|| {
                meshcap::Error::invalid("the data lack the model's columns: pass the data it was fitted on")
            })?;
            plot::render_residuals(&chart, &args.output, size)?;
        }
        Kind::Levels => {
            let series = l
                .series
                .as_ref()
                .ok_or_else(|| meshcap::Error::invalid("the level chart needs the data: pass --data"))?;
            let chart = charts::level_chart(&l.model, series).ok_or_else(|| {
                meshcap::Error::invalid(
                    "every level of the data holds one reading (or the data lack the model's columns): plot residuals instead",
                )
            })?;
            plot::render_levels(&chart, &args.output, size)?;
        }
        Kind::SafeLimits => plot::render_safe_limits(
            &charts::safe_limit_chart(&l.model, l.topology.as_ref().map(|t| &t.0), &l.scopes, l.caution)?,
            &args.output,
            size,
        )?,
        Kind::Scope => {
            let (t, name) =
                l.topology.as_ref().ok_or_else(|| meshcap::Error::invalid("the scope chart needs --topology FILE"))?;
            plot::render_scope(
                &charts::scope_chart(&l.model, t, name, &l.scopes, l.caution, args.inputs.scope_limit)?,
                &args.output,
                size,
            )?;
        }
    }
    println!("wrote {}", args.output.display());
    Ok(())
}
