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
    render_png(path, size, |area| draw_report(area, title, table, [fit as &dyn Panel, residuals, safe], scope))
}

/// A chart that can fill one panel of the grid.
trait Panel {
    fn draw_on(&self, area: &DrawingArea<BitMapBackend<'_>, Shift>) -> Result<(), String>;
}

impl Panel for FitChart {
    fn draw_on(&self, area: &DrawingArea<BitMapBackend<'_>, Shift>) -> Result<(), String> {
        draw_fit(area, self)
    }
}

impl Panel for ResidualChart {
    fn draw_on(&self, area: &DrawingArea<BitMapBackend<'_>, Shift>) -> Result<(), String> {
        draw_residuals(area, self)
    }
}

impl Panel for SafeLimitChart {
    fn draw_on(&self, area: &DrawingArea<BitMapBackend<'_>, Shift>) -> Result<(), String> {
        draw_safe_limits(area, self)
    }
}

impl Panel for ScopeChart {
    fn draw_on(&self, area: &DrawingArea<BitMapBackend<'_>, Shift>) -> Result<(), String> {
        draw_scope(area, self)
    }
}

fn draw_report(
    area: &DrawingArea<BitMapBackend<'_>, Shift>,
    title: &str,
    table: &Table,
    panels: [&dyn Panel; 3],
    scope: Option<&ScopeChart>,
) -> Result<(), String> {
    ensure_fonts();
    area.fill(&WHITE).map_err(de)?;
    let (_, h) = area.dim_in_pixel();
    let fonts = Fonts::for_size(area.dim_in_pixel());
    let body = title_block(area, title, "", &fonts)?;
    let grid = match scope {
        Some(_) => {
            // The key numbers as a strip above the grid, at panel text size, at most a quarter
            // of the image high.
            let panel_fonts = Fonts::for_size((area.dim_in_pixel().0 / 2, h / 2));
            let strip = table_height(&body, table, &panel_fonts).min(h as i32 / 4);
            let (top, rest) = body.split_vertically(strip);
            draw_table_with(&top, table, &panel_fonts)?;
            let (w, _) = rest.dim_in_pixel();
            rest.draw(&PathElement::new(vec![(0, 1), (w as i32, 1)], GRID.stroke_width(2))).map_err(de)?;
            rest.margin(fonts.px(6.0), 0, 0, 0)
        }
        None => body,
    };
    let cells = grid.split_evenly((2, 2));
    for (cell, panel) in cells.iter().zip(panels) {
        panel.draw_on(&cell.margin(fonts.px(6.0), fonts.px(6.0), fonts.px(6.0), fonts.px(6.0)))?;
    }
    let last = cells[3].margin(fonts.px(6.0), fonts.px(6.0), fonts.px(6.0), fonts.px(6.0));
    match scope {
        Some(chart) => chart.draw_on(&last),
        None => {
            // No scope comparison: the key numbers get the panel, in larger type.
            let big = Fonts::for_size((last.dim_in_pixel().0 * 2, last.dim_in_pixel().1 * 2));
            let (w, lh) = last.dim_in_pixel();
            let note = "no per-proxy scope comparison for this model";
            last.draw_text(note, &text(big.note, MUTED), (big.px(14.0), lh as i32 - big.px(40.0))).map_err(de)?;
            let _ = w;
            draw_table_with(&last, table, &big)
        }
    }
}
