//! The report: one composite PNG, the single charts, and a Markdown page with the key numbers.
//!
//! `meshcap report` with no arguments fits the bundled seed series, projects for 512Mi, 1Gi,
//! 2Gi and 4Gi, compares Sidecar scopes on the example topology and writes everything under
//! `plots/`. The room only assembles: numbers come from `model` and `project`, pictures from
//! `plot`.

pub mod charts;
pub mod fleet;
mod markdown;
pub mod plan;
mod residual_charts;
pub mod rule_lines;
mod rule_parts;
pub mod rules;
pub mod sweep_charts;

use std::path::{Path, PathBuf};

use crate::error::Result;
use crate::mesh::{ScopeMap, Topology};
use crate::model::FittedModel;
use crate::plot::{self, Table};
use crate::project::{safe_for_limit, Bounds, Caution, RevisionPath};
use crate::quantity::format_bytes;
use crate::series::Series;

/// The limits a report projects for.
pub const REPORT_LIMITS: [f64; 4] =
    [512.0 * crate::quantity::MIB, crate::quantity::GIB, 2.0 * crate::quantity::GIB, 4.0 * crate::quantity::GIB];

/// What a report is made from.
#[derive(Debug, Clone)]
pub struct ReportInput<'a> {
    /// The fitted model.
    pub model: &'a FittedModel,
    /// The series it was fitted on (for observations and residuals), when available.
    pub series: Option<&'a Series>,
    /// A topology for the scope comparison, with its display name.
    pub topology: Option<(&'a Topology, String)>,
    /// Scopes compared (the first is the baseline).
    pub scopes: Vec<ScopeMap>,
    /// Limits projected.
    pub limits: Vec<f64>,
    /// The limit the scope comparison is drawn against.
    pub scope_limit: f64,
    /// Caution settings.
    pub caution: Caution,
    /// What the safe counts cover (the push allowance and why), one line.
    pub push_line: Option<String>,
    /// How the topology's proxies differ from where the model was measured, one line each.
    pub condition_notes: Vec<String>,
    /// A scenario grid for the heatmap and fan charts.
    pub sweep: Option<SweepInput<'a>>,
    /// A fleet (`report --fleet`): its charts join report.png, its table report.md.
    pub fleet: Option<fleet::FleetInput<'a>>,
}

/// The sweep part of a report.
#[derive(Debug, Clone)]
pub struct SweepInput<'a> {
    /// The grid.
    pub grid: &'a crate::scenario::Grid,
    /// Heatmap x axis.
    pub x_axis: String,
    /// Heatmap y axis.
    pub y_axis: String,
    /// Axes fixed for the heatmap (`axis`, value label).
    pub fixed: Vec<(String, String)>,
    /// The fan's bound on simulation work ([`crate::scenario::simulate::Simulation::check_work`]).
    pub max_work: u64,
}

/// The scenario the report's fan follows: the one whose bound crosses the limit latest within
/// the simulation horizon (the most informative growth curve), else scenario 0.
pub fn fan_scenario(grid: &crate::scenario::Grid) -> u64 {
    let horizon = f64::from(grid.spec.simulate.horizon_days);
    let mut d = [0usize; crate::scenario::grid::N_AXES];
    let mut best = (0u64, f64::NEG_INFINITY);
    for id in 0..grid.size.min(sweep_charts::MAX_HEATMAP_SCENARIOS) {
        let e = grid.evaluate(id, &d);
        if e.days_to_limit > 0.0 && e.days_to_limit <= horizon && e.days_to_limit > best.1 {
            best = (id, e.days_to_limit);
        }
        crate::scenario::grid::advance(&mut d, &grid.lengths);
    }
    best.0
}

/// Every file a report may write.
pub const REPORT_FILES: [&str; 11] = [
    "report.png",
    "fleet.png",
    "fleet-days.png",
    "fit.png",
    "residuals.png",
    "levels.png",
    "safe-limits.png",
    "scope.png",
    "heatmap.png",
    "fan.png",
    "report.md",
];

/// Write the report into `dir`; returns the files written, in order.
///
/// Every chart's data and the Markdown are computed first, so a bad setting (a heatmap axis,
/// a `--heatmap-where` value) is refused before anything is drawn; the files are then drawn
/// into a staging folder and published together, so `dir` holds either the old report or the
/// whole new one.
pub fn write_report(input: &ReportInput, dir: &Path, size: (u32, u32)) -> Result<Vec<PathBuf>> {
    plot::check_size(size)?;
    let m = input.model;
    let fit = charts::fit_chart(m, input.series, &input.limits, input.caution);
    let residuals = input.series.and_then(|s| charts::residual_chart(m, s));
    let levels = input.series.and_then(|s| charts::level_chart(m, s));
    let safe = charts::safe_limit_chart(m, input.topology.as_ref().map(|t| t.0), &input.scopes, input.caution)?;
    let scope = match &input.topology {
        Some((t, name)) => Some(charts::scope_chart(m, t, name, &input.scopes, input.caution, input.scope_limit)?),
        None => None,
    };
    let sweep = match &input.sweep {
        Some(sw) => Some((
            sweep_charts::sweep_heatmap(sw.grid, &sw.x_axis, &sw.y_axis, sweep_charts::HeatValue::Days, &sw.fixed)?,
            sweep_charts::fan_chart(sw.grid, fan_scenario(sw.grid), crate::mesh::ProxyKind::Sidecar, sw.max_work)?,
        )),
        None => None,
    };
    let table = key_numbers(input);
    let fleet = match &input.fleet {
        Some(f) => Some((fleet::memory_chart(f)?, fleet::days_chart(f.fleet))),
        None => None,
    };
    let mut names = vec!["report.png"];
    if fleet.is_some() {
        names.extend(["fleet.png", "fleet-days.png"]);
    }
    names.push("fit.png");
    names.extend(residuals.as_ref().map(|_| "residuals.png"));
    names.extend(levels.as_ref().map(|_| "levels.png"));
    names.push("safe-limits.png");
    names.extend(scope.as_ref().map(|_| "scope.png"));
    if sweep.is_some() {
        names.extend(["heatmap.png", "fan.png"]);
    }
    let mut markdown = markdown::render(input, &table, &names.iter().map(|n| n.to_string()).collect::<Vec<_>>())?;
    if let Some(f) = &input.fleet {
        markdown.push_str(&fleet::markdown(f.fleet, 20));
    }

    let mut staging = crate::output::Staging::new(dir, &REPORT_FILES)?;
    let empty_residuals = plot::ResidualChart {
        title: format!("Residuals: {} (no data given)", m.name()),
        points: Vec::new(),
        sigma: m.residual_std_error,
        own_lines: false,
    };
    let title = format!("meshcap capacity report: {}", m.name());
    let residuals_chart = residuals.as_ref().unwrap_or(&empty_residuals);
    let (w, h) = plot::REPORT_SIZE;
    plot::render_report_fleet(
        &title,
        &table,
        &fit,
        residuals_chart,
        &safe,
        scope.as_ref(),
        fleet.as_ref().map(|(m, d)| (m, d)),
        &staging.path("report.png"),
        if fleet.is_some() { (w, h * 8 / 5) } else { (w, h) },
    )?;
    if let Some((memory, days)) = &fleet {
        plot::render_fleet_memory(memory, &staging.path("fleet.png"), size)?;
        plot::render_fleet_days(days, &staging.path("fleet-days.png"), size)?;
    }
    plot::render_fit(&fit, &staging.path("fit.png"), size)?;
    if let Some(r) = &residuals {
        plot::render_residuals(r, &staging.path("residuals.png"), size)?;
    }
    if let Some(l) = &levels {
        plot::render_levels(l, &staging.path("levels.png"), size)?;
    }
    plot::render_safe_limits(&safe, &staging.path("safe-limits.png"), size)?;
    if let Some(s) = &scope {
        plot::render_scope(s, &staging.path("scope.png"), size)?;
    }
    if let Some((heat, fan)) = &sweep {
        plot::render_heatmap(heat, &staging.path("heatmap.png"), size)?;
        plot::render_fan(fan, &staging.path("fan.png"), size)?;
    }
    crate::output::write_atomic(&staging.path("report.md"), markdown.as_bytes())?;
    staging.publish()
}

/// The error structure in one cell.
fn errors_summary(m: &crate::model::FittedModel) -> String {
    use crate::model::ErrorKind;
    let e = &m.errors;
    match e.kind {
        ErrorKind::Levels | ErrorKind::Group => format!(
            "{}: {} levels, {}σ_between {}, σ_within {}{}, t dof {}",
            e.label(),
            e.levels,
            if e.kind == ErrorKind::Group {
                format!("{} groups, σ_group {}, ", e.groups, format_bytes(e.sigma_group))
            } else {
                String::new()
            },
            format_bytes(e.sigma_between),
            format_bytes(e.sigma_within),
            e.rho.map_or_else(String::new, |r| format!(", ρ {r:.2}")),
            m.dof
        ),
        _ => format!("{}, t dof {}", e.label(), m.dof),
    }
}

/// The key numbers shown in the composite's table and at the top of the Markdown.
pub fn key_numbers(input: &ReportInput) -> Table {
    let m = input.model;
    let bounds = Bounds::new(m, RevisionPath::new(m), input.caution);
    let mut rows = vec![
        ("idle baseline".to_string(), format_bytes(m.baseline_bytes())),
        ("per revision".to_string(), m.per_revision_bytes.map_or_else(|| "n/a".into(), format_bytes)),
        (
            format!("per endpoint port{}", if m.per_port_derived { " (derived)" } else { "" }),
            m.per_port_bytes.map_or_else(|| "n/a".into(), format_bytes),
        ),
        ("fit".to_string(), format!("n={} R²={:.5} σ={}", m.n, m.r_squared, format_bytes(m.residual_std_error))),
        ("errors".to_string(), errors_summary(m)),
    ];
    for &l in &input.limits {
        let a = safe_for_limit(&bounds, l, 21.0);
        let opt = |v: Option<f64>| v.map_or_else(|| "unbounded".into(), |v| format!("{v:.0}"));
        rows.push((
            format!("at {}", format_bytes(l)),
            format!(
                "crossing {} [{}, {}], safe {} (steady {})",
                a.crossing_revisions.map_or_else(|| "none".into(), |c| format!("{c:.0}")),
                opt(a.crossing_interval[0]),
                opt(a.crossing_interval[1]),
                a.safe_revisions.map_or_else(|| "none".into(), |s| s.to_string()),
                a.steady_safe_revisions.map_or_else(|| "none".into(), |s| s.to_string())
            ),
        ));
    }
    let oom_bounds = Bounds::new(m, RevisionPath::new(m), Caution { headroom: 0.0, ..input.caution.steady() });
    for c in crate::project::oom_consistency(&oom_bounds, &m.oom) {
        rows.push((
            format!("OOM at {}", format_bytes(c.limit_bytes)),
            format!(
                "seen {}–{}, model {}",
                c.bracket_low.map_or_else(|| "?".into(), |v| format!("{v:.0}")),
                c.bracket_high.map_or_else(|| "?".into(), |v| format!("{v:.0}")),
                if c.consistent { "consistent" } else { "INCONSISTENT" }
            ),
        ));
    }
    Table {
        title: format!(
            "Key numbers ({:.0}% level, headroom {:.0}%, {})",
            input.caution.level * 100.0,
            input.caution.headroom * 100.0,
            charts::caution_words(&input.caution)
        ),
        rows,
    }
}
