//! Chart data from scenario grids: the sweep heatmap.

use crate::error::{Error, Result};
use crate::mesh::ProxyKind;
use crate::plot::{FanChart, HeatmapChart};
use crate::quantity::MIB;
use crate::scenario::grid::{advance, N_AXES};
use crate::scenario::simulate::{SimOptions, Simulation};
use crate::scenario::{Grid, AXES};

/// What a heatmap cell shows.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum HeatValue {
    /// Fewest days until a proxy crosses its limit (grey: never).
    Days,
    /// Smallest margin to the limit over sidecar and gateways, Mi (negative: over).
    Margin,
}

/// Largest grid a heatmap evaluates in full.
pub const MAX_HEATMAP_SCENARIOS: u64 = 50_000_000;

/// A heatmap over two axes of a grid; each cell is the worst case over all other axes.
///
/// `fixed` keeps only scenarios whose axis (by name) has the given value label (e.g.
/// `("limit", "1Gi")`, `("scope", "namespace")`), so a cell is the worst case over the axes
/// left free.
pub fn sweep_heatmap(
    grid: &Grid,
    x_axis: &str,
    y_axis: &str,
    value: HeatValue,
    fixed: &[(String, String)],
) -> Result<HeatmapChart> {
    let find = |name: &str| {
        AXES.iter().position(|a| *a == name).ok_or_else(|| {
            Error::invalid(format!("heatmap axis \"{name}\" is not an axis; axes are: {}", AXES.join(", ")))
        })
    };
    let (xa, ya) = (find(x_axis)?, find(y_axis)?);
    if xa == ya {
        return Err(Error::invalid(format!("heatmap axes must differ, but both are {x_axis}")));
    }
    if grid.size > MAX_HEATMAP_SCENARIOS {
        return Err(Error::invalid(format!(
            "the grid has {} scenarios; a heatmap evaluates at most {MAX_HEATMAP_SCENARIOS}",
            grid.size
        )));
    }
    let mut keep: Vec<(usize, usize)> = Vec::new();
    for (axis, label) in fixed {
        let a = find(axis)?;
        let values: Vec<String> = (0..grid.lengths[a]).map(|i| grid.spec.axes.label(a, i)).collect();
        let i = values.iter().position(|v| v == label).ok_or_else(|| {
            Error::invalid(format!("axis {axis} has no value \"{label}\"; its values are: {}", values.join(", ")))
        })?;
        keep.push((a, i));
    }
    let (nx, ny) = (grid.lengths[xa], grid.lengths[ya]);
    let mut cells: Vec<Option<f64>> = vec![None; nx * ny];
    let mut d = [0usize; N_AXES];
    for id in 0..grid.size {
        if keep.iter().any(|&(a, i)| d[a] != i) {
            advance(&mut d, &grid.lengths);
            continue;
        }
        let e = grid.evaluate(id, &d);
        let v = match value {
            HeatValue::Days => e.days_to_limit,
            HeatValue::Margin => {
                (if e.gateway_margin < e.sidecar_margin { e.gateway_margin } else { e.sidecar_margin }) / MIB
            }
        };
        let c = &mut cells[d[ya] * nx + d[xa]];
        *c = Some(c.map_or(v, |w: f64| w.min(v)));
        advance(&mut d, &grid.lengths);
    }
    let label = |axis: usize, n: usize| (0..n).map(|i| grid.spec.axes.label(axis, i)).collect::<Vec<_>>();
    let (title, value_label) = match value {
        HeatValue::Days => ("Days until the first proxy crosses its limit (worst case)", "days (grey: never)"),
        HeatValue::Margin => ("Smallest margin to the limit (worst case)", "margin, Mi (negative: over)"),
    };
    Ok(HeatmapChart {
        title: format!(
            "{title}: {}{}",
            grid.spec.path.file_name().map_or_else(String::new, |n| n.to_string_lossy().into_owned()),
            if fixed.is_empty() {
                String::new()
            } else {
                format!(" ({})", fixed.iter().map(|(a, v)| format!("{a}={v}")).collect::<Vec<_>>().join(", "))
            }
        ),
        x_label: x_axis.replace('_', " "),
        y_label: y_axis.replace('_', " "),
        x_values: label(xa, nx),
        y_values: label(ya, ny),
        cells: cells.into_iter().map(|c| c.filter(|v| v.is_finite())).collect(),
        value_label: value_label.to_string(),
    })
}

/// The Monte Carlo fan of one scenario: memory percentile bands per day and first-OOM days.
/// Refused before any path runs when its group's work is above `max_work`
/// ([`Simulation::check_work`], the bound `simulate` takes).
pub fn fan_chart(grid: &Grid, id: u64, proxy: ProxyKind, max_work: u64) -> Result<FanChart> {
    if id >= grid.size {
        return Err(Error::invalid(format!("scenario {id} is not in the grid (ids 0 to {})", grid.size - 1)));
    }
    let sim = Simulation::new(grid, SimOptions::from_spec(&grid.spec))?;
    sim.check_work(id..id + 1, max_work)?;
    let fan = sim.fan(id, proxy)?;
    let d = crate::scenario::grid::decode(id, &grid.lengths);
    let axes: Vec<String> = (0..N_AXES).map(|a| format!("{}={}", AXES[a], grid.spec.axes.label(a, d[a]))).collect();
    let who = if proxy == ProxyKind::Gateway { "gateway" } else { "most exposed sidecar" };
    Ok(FanChart {
        title: format!(
            "Simulated {who} memory demand, scenario {id} of {} ({} paths): {}",
            grid.spec.path.file_name().map_or_else(String::new, |n| n.to_string_lossy().into_owned()),
            grid.spec.simulate.paths,
            [&axes[3], &axes[7], &axes[8], &axes[9], &axes[12]].map(|s| s.as_str()).join(", ")
        ),
        days: fan.days,
        p5: fan.p5,
        p25: fan.p25,
        p50: fan.p50,
        p75: fan.p75,
        p95: fan.p95,
        limit_bytes: fan.limit_bytes,
        first_oom_days: fan.first_oom_days,
    })
}
