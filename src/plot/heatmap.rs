//! A grid of values coloured with viridis (e.g. safe revisions by proxy limit and scope), with
//! a colour bar for the scale. Cells without a value are grey and hatched, never a colour of
//! the scale, so "unknown" cannot be read as "low".

use std::path::Path;

use plotters::coord::Shift;
use plotters::prelude::*;
use plotters::style::text_anchor::{HPos, Pos, VPos};

use super::axis::{axis, compact_label, count_ticks, draw_mesh, AxisText, Extent};
use super::data::HeatmapChart;
use super::layout::{centred_note, fit_text, legend_strip, text_width, title_block, LegendItem, Swatch};
use super::render::render_png;
use super::style::{de, ensure_fonts, is_light, text, viridis, Fonts, INK, MISSING, MUTED, TEXT};

/// Render `chart` to a PNG at `path` of `size` pixels (see [`super::DEFAULT_SIZE`]).
pub fn render_heatmap(chart: &HeatmapChart, path: &Path, size: (u32, u32)) -> crate::Result<()> {
    render_png(path, size, |area| draw_heatmap(area, chart))
}

/// Draw `chart` onto `area`. Cells beyond `cells.len()` count as missing; non-finite values too.
pub fn draw_heatmap<DB: DrawingBackend>(area: &DrawingArea<DB, Shift>, chart: &HeatmapChart) -> Result<(), String> {
    ensure_fonts();
    let fonts = Fonts::for_size(area.dim_in_pixel());
    area.fill(&WHITE).map_err(de)?;
    let body = title_block(area, &chart.title, "", &fonts)?;
    let (nx, ny) = (chart.x_values.len(), chart.y_values.len());
    let value = |xi: usize, yi: usize| chart.cells.get(yi * nx + xi).copied().flatten().filter(|v| v.is_finite());
    let any_missing = (0..ny).any(|yi| (0..nx).any(|xi| value(xi, yi).is_none()));
    let legend = if any_missing { vec![LegendItem::new(Swatch::Fill(MISSING, 1.0), "no value")] } else { Vec::new() };
    let body = legend_strip(&body, &legend, &fonts)?;
    if nx == 0 || ny == 0 {
        return centred_note(&body, "no cells to draw", &fonts);
    }

    let mut values = Extent::new();
    values.extend((0..ny).flat_map(|yi| (0..nx).filter_map(move |xi| value(xi, yi))));
    let scale = values.range(0.0, 0.0..1.0, false);
    let color_of = |v: f64| viridis((v - scale.start) / (scale.end - scale.start));

    let (w, _) = body.dim_in_pixel();
    let tick = text(fonts.tick, TEXT);
    // The colour bar's width is what it holds: margin, gradient, tick labels, the rotated
    // value label and a margin, so a long label is never clipped at the image's edge.
    let tick_w = count_ticks(&scale, 8).iter().map(|v| text_width(&body, &compact_label(*v), &tick)).max().unwrap_or(0);
    let label_h = (fonts.label * 1.4).round() as i32;
    let bar_right = tick_w + label_h + fonts.px(36.0);
    // plotters centres the rotated label on the label area's outer edge: a margin beyond it
    // of the label's height keeps its far half inside the image.
    let bar_w = fonts.px(16.0) + fonts.px(60.0) + bar_right + label_h;
    let (main, bar) = body.split_horizontally(w as i32 - bar_w);
    let y_names: Vec<String> =
        chart.y_values.iter().map(|s| fit_text(&main, s, &tick, (w as f64 * 0.25) as i32)).collect();
    let y_area = y_names.iter().map(|s| text_width(&main, s, &tick)).max().unwrap_or(0) + fonts.px(60.0);
    // Label every k-th column when all labels would not fit side by side.
    let label_w = chart.x_values.iter().map(|s| text_width(&main, s, &tick)).max().unwrap_or(0) + fonts.px(16.0);
    let plot_w = (w as i32 - bar_w - y_area).max(1);
    let x_step = ((label_w as usize * nx) / plot_w as usize + 1).max(1);
    let y_step = ((fonts.tick * 1.4) as usize * ny / (body.dim_in_pixel().1 as usize).max(1) + 1).max(1);
    let (top, bottom) = (fonts.px(16.0), fonts.px(62.0));

    let mut ctx = ChartBuilder::on(&main)
        .margin_left(fonts.px(10.0))
        .margin_right(fonts.px(10.0))
        .margin_top(top)
        .margin_bottom(fonts.px(8.0))
        .x_label_area_size(bottom)
        .y_label_area_size(y_area)
        .build_cartesian_2d(
            axis(0.0..nx as f64, (0..nx).step_by(x_step).map(|i| i as f64 + 0.5).collect()),
            axis(0.0..ny as f64, (0..ny).step_by(y_step).map(|i| i as f64 + 0.5).collect()),
        )
        .map_err(de)?;
    let x_fmt = |v: &f64| chart.x_values.get(v.floor().max(0.0) as usize).cloned().unwrap_or_default();
    let y_fmt = |v: &f64| y_names.get(v.floor().max(0.0) as usize).cloned().unwrap_or_default();
    draw_mesh(
        &mut ctx,
        &fonts,
        AxisText { desc: &chart.x_label, format: &x_fmt },
        AxisText { desc: &chart.y_label, format: &y_fmt },
    )?;
    let plot = ctx.plotting_area();
    let (pw, ph) = plot.dim_in_pixel();
    let (cell_w, cell_h) = (pw as i32 / nx as i32, ph as i32 / ny as i32);
    let note = text(fonts.note, TEXT).pos(Pos::new(HPos::Center, VPos::Center));
    for yi in 0..ny {
        for xi in 0..nx {
            let (x, y) = (xi as f64, yi as f64);
            let cell = [(x, y), (x + 1.0, y + 1.0)];
            match value(xi, yi) {
                Some(v) => {
                    let c = color_of(v);
                    plot.draw(&Rectangle::new(cell, c.filled())).map_err(de)?;
                    let label = compact_label(v);
                    if text_width(&main, &label, &note) + 8 < cell_w && (fonts.note * 1.3) < cell_h as f64 {
                        let ink = if is_light(c) { INK } else { WHITE };
                        let style = text(fonts.note, ink).pos(Pos::new(HPos::Center, VPos::Center));
                        plot.draw(&Text::new(label, (x + 0.5, y + 0.5), style)).map_err(de)?;
                    }
                }
                None => {
                    plot.draw(&Rectangle::new(cell, MISSING.filled())).map_err(de)?;
                    // Hatching: diagonal strokes x + y = t across the unit cell.
                    for t in [0.25, 0.5, 0.75, 1.0, 1.25, 1.5, 1.75] {
                        let (a, b) = if t <= 1.0 { ((t, 0.0), (0.0, t)) } else { ((1.0, t - 1.0), (t - 1.0, 1.0)) };
                        let stroke = vec![(x + a.0, y + a.1), (x + b.0, y + b.1)];
                        plot.draw(&PathElement::new(stroke, MUTED.stroke_width(1))).map_err(de)?;
                    }
                }
            }
            plot.draw(&Rectangle::new(cell, WHITE.stroke_width(2))).map_err(de)?;
        }
    }
    draw_colour_bar(&bar, scale, &chart.value_label, &fonts, (top, bottom, bar_right), values.is_empty())
}

/// The colour bar: a vertical viridis gradient with its value ticks and label on the right,
/// aligned with the heatmap's plot area by using the same top margin and bottom label area.
fn draw_colour_bar<DB: DrawingBackend>(
    area: &DrawingArea<DB, Shift>,
    scale: std::ops::Range<f64>,
    label: &str,
    fonts: &Fonts,
    (top, bottom, right): (i32, i32, i32),
    empty: bool,
) -> Result<(), String> {
    let mut ctx = ChartBuilder::on(area)
        .margin_left(fonts.px(16.0))
        .margin_right((fonts.label * 1.4).round() as i32)
        .margin_top(top)
        .margin_bottom(fonts.px(8.0) + bottom)
        .right_y_label_area_size(right)
        .build_cartesian_2d(axis(0.0..1.0, Vec::new()), axis(scale.clone(), count_ticks(&scale, 8)))
        .map_err(de)?;
    let fmt = |v: &f64| compact_label(*v);
    ctx.configure_mesh()
        .disable_mesh()
        .y_label_formatter(&fmt)
        .y_desc(label)
        .label_style(text(fonts.tick, TEXT))
        .axis_desc_style(text(fonts.label, TEXT))
        .draw()
        .map_err(de)?;
    if empty {
        return Ok(());
    }
    let steps = 128;
    let h = (scale.end - scale.start) / steps as f64;
    let plot = ctx.plotting_area();
    for i in 0..steps {
        let y = scale.start + i as f64 * h;
        let c = viridis((i as f64 + 0.5) / steps as f64);
        plot.draw(&Rectangle::new([(0.0, y), (1.0, y + h)], c.filled())).map_err(de)?;
    }
    Ok(())
}
