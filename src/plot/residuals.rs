//! Residual diagnostics: residuals against fitted memory and against revisions, side by side,
//! with the zero line and ±2σ lines. A funnel shape in the left panel means the spread grows
//! with memory; a curve in the right one means memory is not linear in revisions.

use std::ops::Range;
use std::path::Path;

use plotters::coord::Shift;
use plotters::element::DashedPathElement;
use plotters::prelude::*;

use super::axis::{axis, byte_ticks, bytes_label, count_label, count_ticks, draw_mesh, Axis, AxisText, Extent};
use super::data::ResidualChart;
use super::layout::{centred_note, legend_strip, side_labels, text_width, title_block, to_area, LegendItem, Swatch};
use super::reduce::{reduce_if_large, REDUCE_ABOVE};
use super::render::render_png;
use super::style::{bold, de, ensure_fonts, Fonts, Marker, INK, POINTS, TEXT, VERMILLION};
use crate::quantity::format_bytes;

/// Render `chart` to a PNG at `path` of `size` pixels (see [`super::DEFAULT_SIZE`]).
pub fn render_residuals(chart: &ResidualChart, path: &Path, size: (u32, u32)) -> crate::Result<()> {
    render_png(path, size, |area| draw_residuals(area, chart))
}

/// Draw `chart` onto `area`: two panels, residuals vs fitted and residuals vs revisions.
pub fn draw_residuals<DB: DrawingBackend>(area: &DrawingArea<DB, Shift>, chart: &ResidualChart) -> Result<(), String> {
    ensure_fonts();
    let fonts = Fonts::for_size(area.dim_in_pixel());
    area.fill(&WHITE).map_err(de)?;
    let sigma = Some(chart.sigma).filter(|s| s.is_finite() && *s > 0.0);
    let points: Vec<_> = chart.points.iter().filter(|p| p.residual.is_finite()).collect();

    let mut subtitle = format!("{} residuals", count_label(points.len() as f64));
    if let Some(s) = sigma {
        // Each residual against its own sd where the model gives one (spread grows with memory).
        let outside = points.iter().filter(|p| p.residual.abs() > 2.0 * if p.sd > 0.0 { p.sd } else { s }).count();
        let share = if points.is_empty() { 0.0 } else { 100.0 * outside as f64 / points.len() as f64 };
        let own = if points.iter().any(|p| p.sd > 0.0) { " (each at its own σ)" } else { "" };
        subtitle += &format!(
            "; {} ({share:.1}%) beyond ±2σ{own}, about 5% expected with normal errors",
            count_label(outside as f64)
        );
        if chart.own_lines {
            subtitle += "; from each proxy's own line";
        }
    }
    let body = title_block(area, &chart.title, &subtitle, &fonts)?;
    let residual_label = match (points.len() > REDUCE_ABOVE, chart.own_lines) {
        (true, false) => "residual (observed − fitted; extremes per pixel column shown)",
        (false, false) => "residual (observed − fitted)",
        (true, true) => "residual (observed − its proxy's line; extremes per pixel column shown)",
        (false, true) => "residual (observed − its proxy's line)",
    };
    let mut legend = vec![
        LegendItem::new(Swatch::Point(POINTS, Marker::Circle), residual_label),
        LegendItem::new(Swatch::Line(INK, 2), "zero"),
    ];
    if let Some(s) = sigma {
        legend.push(LegendItem::new(Swatch::Dashed(VERMILLION), format!("±2σ (σ = {})", format_bytes(s))));
    }
    let body = legend_strip(&body, &legend, &fonts)?;

    let mut extent = Extent::new();
    extent.extend(points.iter().map(|p| p.residual.abs()));
    let half = extent.range(0.0, 0.0..1.0, true).end.max(sigma.map_or(0.0, |s| 2.3 * s)) * 1.08;
    let y_range = -half..half;

    let panels = body.split_evenly((1, 2));
    let by_fitted: Vec<(f64, f64)> = points.iter().map(|p| (p.fitted, p.residual)).collect();
    let by_revisions: Vec<(f64, f64)> = points.iter().map(|p| (p.revisions, p.residual)).collect();
    let bytes_fmt = |v: &f64| bytes_label(*v);
    let count_fmt = |v: &f64| count_label(*v);
    let panel = Panel { y_range: y_range.clone(), sigma, fonts: &fonts };
    panel.draw(
        &panels[0],
        by_fitted,
        "vs fitted memory",
        AxisText { desc: "fitted memory", format: &bytes_fmt },
        true,
    )?;
    panel.draw(
        &panels[1],
        by_revisions,
        "vs revisions",
        AxisText { desc: "Knative revisions in the mesh", format: &count_fmt },
        false,
    )
}

/// The zero line across `x`, and dashed ±2σ lines when `sigma` is given; returns the side
/// labels (`+2σ`, `−2σ`) at the lines' right ends, for [`side_labels`].
pub(super) fn zero_and_sigma_lines<DB: DrawingBackend>(
    area: &DrawingArea<DB, Shift>,
    ctx: &ChartContext<'_, DB, Cartesian2d<Axis, Axis>>,
    x: Range<f64>,
    sigma: Option<f64>,
    fonts: &Fonts,
) -> Result<Vec<(i32, String, RGBColor)>, String> {
    let plot = ctx.plotting_area();
    let (x0, x1) = (x.start, x.end);
    plot.draw(&PathElement::new(vec![(x0, 0.0), (x1, 0.0)], INK.stroke_width(2))).map_err(de)?;
    let mut side = Vec::new();
    if let Some(s) = sigma {
        for (y, label) in [(2.0 * s, "+2σ"), (-2.0 * s, "−2σ")] {
            let style = VERMILLION.stroke_width(2);
            plot.draw(&DashedPathElement::new([(x0, y), (x1, y)], fonts.px(12.0), fonts.px(8.0), style)).map_err(de)?;
            side.push((to_area(area, ctx.backend_coord(&(x1, y))).1, label.to_string(), VERMILLION));
        }
    }
    Ok(side)
}

/// What both panels share.
struct Panel<'a> {
    y_range: Range<f64>,
    sigma: Option<f64>,
    fonts: &'a Fonts,
}

impl Panel<'_> {
    /// One scatter of residuals against `points`' x, with zero and ±2σ lines.
    fn draw<DB: DrawingBackend>(
        &self,
        area: &DrawingArea<DB, Shift>,
        points: Vec<(f64, f64)>,
        caption: &str,
        x: AxisText<'_>,
        x_is_bytes: bool,
    ) -> Result<(), String> {
        let fonts = self.fonts;
        let mut xs = Extent::new();
        xs.extend(points.iter().filter(|p| p.1.is_finite()).map(|p| p.0));
        let x_range = xs.range(0.04, 0.0..1.0, !x_is_bytes);
        let x_ticks = if x_is_bytes { byte_ticks(&x_range, 8) } else { count_ticks(&x_range, 8) };
        let label_w = text_width(area, "+2σ", &bold(fonts.tick, VERMILLION));
        let mut ctx = ChartBuilder::on(area)
            .caption(caption, bold(fonts.label, TEXT))
            .margin_left(fonts.px(10.0))
            .margin_right(label_w + fonts.px(20.0))
            .margin_bottom(fonts.px(8.0))
            .x_label_area_size(fonts.px(62.0))
            .y_label_area_size(fonts.px(100.0))
            .build_cartesian_2d(
                axis(x_range.clone(), x_ticks),
                axis(self.y_range.clone(), byte_ticks(&self.y_range, 8)),
            )
            .map_err(de)?;
        let bytes_fmt = |v: &f64| bytes_label(*v);
        draw_mesh(&mut ctx, fonts, x, AxisText { desc: "residual", format: &bytes_fmt })?;
        let plot = ctx.plotting_area();
        let x1 = x_range.end;
        let side = zero_and_sigma_lines(area, &ctx, x_range.clone(), self.sigma, fonts)?;
        if points.is_empty() {
            centred_note(&plot.strip_coord_spec(), "no residuals to draw", fonts)?;
        }
        let thinned = points.len() > REDUCE_ABOVE;
        let radius = fonts.px(if thinned { 2.0 } else { 4.0 }).max(1);
        for p in reduce_if_large(points, plot.dim_in_pixel().0 as usize) {
            plot.draw(&Circle::new(p, radius, POINTS.mix(0.85).filled())).map_err(de)?;
        }
        let right = to_area(area, ctx.backend_coord(&(x1, 0.0))).0 + fonts.px(8.0);
        side_labels(area, right, &side, fonts)
    }
}
