//! The composite report image: a title strip, the key numbers, then a 2x2 grid of the fit,
//! its residuals, safe revisions against the limit and the per-proxy scope comparison.
//!
//! Each panel is drawn by the same `draw_*` function as the single chart, on a quarter of the
//! image. Without a scope comparison the key-number table takes the fourth panel, in larger
//! type, instead of a strip above the grid.

use std::path::Path;

use plotters::coord::Shift;
use plotters::prelude::*;

use super::data::{FitChart, ResidualChart, SafeLimitChart, ScopeChart, Table};
use super::fit::draw_fit;
use super::fleet::{draw_fleet_days, draw_fleet_memory, FleetDaysChart, FleetMemoryChart};
use super::layout::title_block;
use super::limits::draw_safe_limits;
use super::render::render_png;
use super::residuals::draw_residuals;
use super::scope::draw_scope;
use super::style::{de, ensure_fonts, text, Fonts, GRID, MUTED};
use super::table::{draw_table_with, table_height};

/// Render the composite report to a PNG at `path` of `size` pixels (see
/// [`super::REPORT_SIZE`]). `scope` is optional: without it the key numbers take its panel.
#[allow(clippy::too_many_arguments)]
pub fn render_report(
    title: &str,
    table: &Table,
    fit: &FitChart,
    residuals: &ResidualChart,
    safe: &SafeLimitChart,
    scope: Option<&ScopeChart>,
    path: &Path,
    size: (u32, u32),
) -> crate::Result<()> {
    render_png(path, size, |area| draw_report(area, title, table, fit, residuals, safe, scope))
}

/// [`render_report`] with, when `fleet` is given, a fleet row below the grid: memory against
/// ports for every proxy and the days to the limit of the soonest.
#[allow(clippy::too_many_arguments)]
pub fn render_report_fleet(
    title: &str,
    table: &Table,
    fit: &FitChart,
    residuals: &ResidualChart,
    safe: &SafeLimitChart,
    scope: Option<&ScopeChart>,
    fleet: Option<(&FleetMemoryChart, &FleetDaysChart)>,
    path: &Path,
    size: (u32, u32),
) -> crate::Result<()> {
    let Some(fleet) = fleet else { return render_report(title, table, fit, residuals, safe, scope, path, size) };
    render_png(path, size, |area| {
        let (_, h) = area.dim_in_pixel();
        let (top, bottom) = area.split_vertically(h as i32 * 62 / 100);
        draw_report(&top, title, table, fit, residuals, safe, scope)?;
        bottom.fill(&WHITE).map_err(de)?;
        let fonts = Fonts::for_size(area.dim_in_pixel());
        let gap = fonts.px(6.0);
        let cells: Vec<_> = bottom.split_evenly((1, 2)).iter().map(|c| c.margin(gap, gap, gap, gap)).collect();
        draw_fleet_memory(&cells[0], fleet.0)?;
        draw_fleet_days(&cells[1], fleet.1)
    })
}

#[allow(clippy::too_many_arguments)]
fn draw_report<DB: DrawingBackend>(
    area: &DrawingArea<DB, Shift>,
    title: &str,
    table: &Table,
    fit: &FitChart,
    residuals: &ResidualChart,
    safe: &SafeLimitChart,
    scope: Option<&ScopeChart>,
) -> Result<(), String> {
    ensure_fonts();
    area.fill(&WHITE).map_err(de)?;
    let fonts = Fonts::for_size(area.dim_in_pixel());
    let (w, h) = area.dim_in_pixel();
    let body = title_block(area, title, "", &fonts)?;
    let grid = match scope {
        Some(_) => {
            // The key numbers as a strip above the grid, in panel-sized text, at most a
            // quarter of the image high.
            let panel_fonts = Fonts::for_size((w / 2, h / 2));
            let strip = table_height(&body, table, &panel_fonts).min(h as i32 / 4);
            let (top, rest) = body.split_vertically(strip);
            draw_table_with(&top, table, &panel_fonts)?;
            rest.draw(&PathElement::new(vec![(0, 1), (w as i32, 1)], GRID.stroke_width(2))).map_err(de)?;
            rest.margin(fonts.px(6.0), 0, 0, 0)
        }
        None => body,
    };
    let gap = fonts.px(6.0);
    let cells: Vec<_> = grid.split_evenly((2, 2)).iter().map(|c| c.margin(gap, gap, gap, gap)).collect();
    draw_fit(&cells[0], fit)?;
    draw_residuals(&cells[1], residuals)?;
    draw_safe_limits(&cells[2], safe)?;
    match scope {
        Some(chart) => draw_scope(&cells[3], chart),
        None => {
            // No scope comparison: the key numbers get its panel, in larger type.
            let (cw, ch) = cells[3].dim_in_pixel();
            let big = Fonts::for_size((cw * 2, ch * 2));
            let note = "no per-proxy scope comparison in this report";
            let at = (big.px(14.0), ch as i32 - big.px(40.0));
            cells[3].draw_text(note, &text(big.note, MUTED), at).map_err(de)?;
            draw_table_with(&cells[3], table, &big)
        }
    }
}
