//! Residuals by configuration level: each level's mean residual with the range of its
//! readings, against revisions. It shows what the error structure is made of: level means
//! scattered far beyond the spread of readings within a level are level offsets
//! (`sigma_between`), which OLS would count as hundreds of independent readings; a curve
//! through the means is non-linearity.

use std::path::Path;

use plotters::coord::Shift;
use plotters::prelude::*;

use super::axis::{count_bytes_chart, Extent};
use super::data::LevelChart;
use super::layout::{centred_note, legend_strip, side_labels, text_width, title_block, to_area, LegendItem, Swatch};
use super::render::render_png;
use super::residuals::zero_and_sigma_lines;
use super::style::{bold, de, ensure_fonts, Fonts, Marker, INK, POINTS, VERMILLION};
use crate::quantity::format_bytes;

/// Render `chart` to a PNG at `path` of `size` pixels.
pub fn render_levels(chart: &LevelChart, path: &Path, size: (u32, u32)) -> crate::Result<()> {
    render_png(path, size, |area| draw_levels(area, chart))
}

/// Draw `chart` onto `area`.
pub fn draw_levels<DB: DrawingBackend>(area: &DrawingArea<DB, Shift>, chart: &LevelChart) -> Result<(), String> {
    ensure_fonts();
    let fonts = Fonts::for_size(area.dim_in_pixel());
    area.fill(&WHITE).map_err(de)?;
    let levels: Vec<_> =
        chart.levels.iter().filter(|l| l.mean.is_finite() && l.low.is_finite() && l.high.is_finite()).collect();
    let body = title_block(area, &chart.title, &chart.subtitle, &fonts)?;
    let band = Some(chart.sigma_between).filter(|s| s.is_finite() && *s > 0.0);
    let mut legend = vec![
        LegendItem::new(Swatch::Point(POINTS, Marker::Circle), "level mean residual"),
        LegendItem::new(Swatch::Line(POINTS, 2), "range of the level's readings"),
        LegendItem::new(Swatch::Line(INK, 2), "zero"),
    ];
    if let Some(s) = band {
        let what = if chart.band_label.is_empty() { "σ_between" } else { chart.band_label.as_str() };
        legend.push(LegendItem::new(Swatch::Dashed(VERMILLION), format!("±2 {what} ({})", format_bytes(s))));
    }
    let body = legend_strip(&body, &legend, &fonts)?;

    let mut ys = Extent::new();
    ys.extend(levels.iter().flat_map(|l| [l.low.abs(), l.high.abs()]));
    let half = ys.range(0.0, 0.0..1.0, true).end.max(band.map_or(0.0, |s| 2.3 * s)) * 1.08;
    let y_range = -half..half;
    let mut xs = Extent::new();
    xs.extend(levels.iter().map(|l| l.x));
    let x_range = xs.range(0.04, 0.0..1.0, true);
    let label_w = text_width(area, "+2σ", &bold(fonts.tick, VERMILLION));
    let ctx = count_bytes_chart(
        &body,
        &fonts,
        (x_range.clone(), y_range.clone()),
        label_w + fonts.px(20.0),
        (&chart.x_label, "residual (observed − fitted)"),
    )?;
    let plot = ctx.plotting_area();
    let x1 = x_range.end;
    let side = zero_and_sigma_lines(&body, &ctx, x_range.clone(), band, &fonts)?;
    if levels.is_empty() {
        centred_note(&plot.strip_coord_spec(), "no levels to draw", &fonts)?;
    }
    let radius = fonts.px(5.0).max(2);
    for l in &levels {
        plot.draw(&PathElement::new(vec![(l.x, l.low), (l.x, l.high)], POINTS.mix(0.7).stroke_width(2))).map_err(de)?;
        plot.draw(&Circle::new((l.x, l.mean), radius, POINTS.filled())).map_err(de)?;
    }
    let right = to_area(&body, ctx.backend_coord(&(x1, 0.0))).0 + fonts.px(8.0);
    side_labels(&body, right, &side, &fonts)
}
