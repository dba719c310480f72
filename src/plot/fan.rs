//! Simulated memory over time as a fan (5–95% and 25–75% bands around the median) against the
//! proxy limit, beside a histogram of the day each run first hit an OOMKill.
//!
//! The fan draws memory *demand* (what the proxy's configuration needs, times the transient
//! factor): a proxy never holds more than its limit, it is OOMKilled and restarts. Where the
//! demand rises above the limit, that region is shaded and the chart says so, rather than
//! drawing 6Gi under a 2Gi limit as if it could happen.

use std::ops::Range;
use std::path::Path;

use plotters::coord::Shift;
use plotters::element::DashedPathElement;
use plotters::prelude::*;

use super::axis::{axis, byte_ticks, bytes_label, count_label, count_ticks, draw_mesh, AxisText, Extent};
use super::data::FanChart;
use super::layout::{centred_note, legend_strip, side_labels, text_width, title_block, to_area, LegendItem, Swatch};
use super::render::render_png;
use super::style::{bold, de, ensure_fonts, Fonts, BLUE, INK, ORANGE, SKY_BLUE, VERMILLION};
use crate::quantity::format_bytes;

/// Alpha of the 5–95% band.
const OUTER_ALPHA: f64 = 0.25;
/// Alpha of the 25–75% band, drawn over the outer one.
const INNER_ALPHA: f64 = 0.45;
/// Alpha of the shade above the limit (demand the proxy cannot hold).
pub const OVER_LIMIT_ALPHA: f64 = 0.15;

/// Render `chart` to a PNG at `path` of `size` pixels (see [`super::DEFAULT_SIZE`]).
pub fn render_fan(chart: &FanChart, path: &Path, size: (u32, u32)) -> crate::Result<()> {
    render_png(path, size, |area| draw_fan(area, chart))
}

/// Draw `chart` onto `area`. Percentile series shorter than `days` are used as far as they go.
pub fn draw_fan<DB: DrawingBackend>(area: &DrawingArea<DB, Shift>, chart: &FanChart) -> Result<(), String> {
    ensure_fonts();
    let fonts = Fonts::for_size(area.dim_in_pixel());
    area.fill(&WHITE).map_err(de)?;
    let ooms: Vec<f64> = chart.first_oom_days.iter().copied().filter(|d| d.is_finite()).collect();
    let runs = match ooms.len() {
        0 => "no simulated run reached an OOMKill".to_string(),
        1 => "1 simulated run reached an OOMKill".to_string(),
        n => format!("{} simulated runs reached an OOMKill", count_label(n as f64)),
    };
    let limit = Some(chart.limit_bytes).filter(|l| l.is_finite());
    let over = limit.is_some_and(|l| chart.p95.iter().any(|&v| v > l));
    let subtitle = if over {
        format!("memory demand; above the limit (shaded) the proxy is OOMKilled and restarts, never holding it; {runs}")
    } else {
        format!("memory demand; {runs}")
    };
    let body = title_block(area, &chart.title, &subtitle, &fonts)?;
    let mut legend = vec![
        LegendItem::new(Swatch::Fill(SKY_BLUE, OUTER_ALPHA), "5–95% of runs"),
        LegendItem::new(Swatch::Fill(BLUE, INNER_ALPHA), "25–75% of runs"),
        LegendItem::new(Swatch::Line(BLUE, 3), "median"),
    ];
    if limit.is_some() {
        legend.push(LegendItem::new(Swatch::Dashed(VERMILLION), "proxy memory limit"));
    }
    if over {
        legend.push(LegendItem::new(Swatch::Fill(VERMILLION, OVER_LIMIT_ALPHA), "demand above the limit: OOMKill"));
    }
    legend.push(LegendItem::new(Swatch::Fill(ORANGE, 1.0), "runs by day of first OOMKill"));
    let body = legend_strip(&body, &legend, &fonts)?;
    let (w, _) = body.dim_in_pixel();
    let (left, right) = body.split_horizontally((w as f64 * 0.62) as i32);
    let days = draw_bands(&left, chart, limit, &ooms, &fonts)?;
    draw_histogram(&right, &ooms, days, &fonts)
}

/// The fan: bands as single polygons, the median line and the limit.
fn draw_bands<DB: DrawingBackend>(
    area: &DrawingArea<DB, Shift>,
    chart: &FanChart,
    limit: Option<f64>,
    ooms: &[f64],
    fonts: &Fonts,
) -> Result<Range<f64>, String> {
    // Rows of (day, p5, p25, p50, p75, p95) where every value is finite.
    let rows: Vec<[f64; 6]> = (0..chart.days.len())
        .filter_map(|i| {
            let row = [
                chart.days[i],
                *chart.p5.get(i)?,
                *chart.p25.get(i)?,
                *chart.p50.get(i)?,
                *chart.p75.get(i)?,
                *chart.p95.get(i)?,
            ];
            row.iter().all(|v| v.is_finite()).then_some(row)
        })
        .collect();
    let (mut xs, mut ys) = (Extent::new(), Extent::new());
    for r in &rows {
        xs.add(r[0]);
        ys.extend(r[1..].iter().copied());
    }
    ys.extend(limit);
    // Both panels share the day axis, so a first-OOM day lines up with the fan above it.
    xs.extend(ooms.iter().copied());
    let x_range = xs.range(0.0, 0.0..30.0, true);
    let y_range = ys.range(0.06, 0.0..1024.0 * 1024.0 * 1024.0, true);
    let label = limit.map(|l| format!("limit {}", format_bytes(l)));
    let label_w = label.as_ref().map_or(0, |l| text_width(area, l, &bold(fonts.tick, VERMILLION)));
    let mut ctx = ChartBuilder::on(area)
        .margin_left(fonts.px(10.0))
        .margin_right(label_w + fonts.px(24.0))
        .margin_top(fonts.px(16.0))
        .margin_bottom(fonts.px(8.0))
        .x_label_area_size(fonts.px(62.0))
        .y_label_area_size(fonts.px(110.0))
        .build_cartesian_2d(
            axis(x_range.clone(), count_ticks(&x_range, 8)),
            axis(y_range.clone(), byte_ticks(&y_range, 10)),
        )
        .map_err(de)?;
    let (count_fmt, bytes_fmt) = (|v: &f64| count_label(*v), |v: &f64| bytes_label(*v));
    draw_mesh(
        &mut ctx,
        fonts,
        AxisText { desc: "days", format: &count_fmt },
        AxisText { desc: "istio-proxy memory demand", format: &bytes_fmt },
    )?;
    let plot = ctx.plotting_area();
    if let Some(l) = limit.filter(|&l| rows.iter().any(|r| r[5] > l)) {
        let above = [(x_range.start, l), (x_range.end, y_range.end)];
        plot.draw(&Rectangle::new(above, VERMILLION.mix(OVER_LIMIT_ALPHA).filled())).map_err(de)?;
    }
    if rows.is_empty() {
        centred_note(&plot.strip_coord_spec(), "no simulated days to draw", fonts)?;
    }
    let band = |lo: usize, hi: usize| -> Vec<(f64, f64)> {
        rows.iter().map(|r| (r[0], r[hi])).chain(rows.iter().rev().map(|r| (r[0], r[lo]))).collect()
    };
    if rows.len() >= 2 {
        plot.draw(&Polygon::new(band(1, 5), SKY_BLUE.mix(OUTER_ALPHA).filled())).map_err(de)?;
        plot.draw(&Polygon::new(band(2, 4), BLUE.mix(INNER_ALPHA).filled())).map_err(de)?;
    }
    plot.draw(&PathElement::new(rows.iter().map(|r| (r[0], r[3])).collect::<Vec<_>>(), BLUE.stroke_width(3)))
        .map_err(de)?;
    if let (Some(l), Some(label)) = (limit, label) {
        let line = [(x_range.start, l), (x_range.end, l)];
        plot.draw(&DashedPathElement::new(line, fonts.px(14.0), fonts.px(8.0), VERMILLION.stroke_width(3)))
            .map_err(de)?;
        let (x, y) = to_area(area, ctx.backend_coord(&(x_range.end, l)));
        side_labels(area, x + fonts.px(10.0), &[(y, label, VERMILLION)], fonts)?;
    }
    Ok(x_range)
}

/// Histogram of the first-OOM day; a note instead when no run hit one.
fn draw_histogram<DB: DrawingBackend>(
    area: &DrawingArea<DB, Shift>,
    days: &[f64],
    x_range: Range<f64>,
    fonts: &Fonts,
) -> Result<(), String> {
    // About 2√n bins over the shared day axis, between 10 and 45.
    let bins = ((2.0 * (days.len() as f64).sqrt()).round() as usize).clamp(10, 45);
    let width = (x_range.end - x_range.start) / bins as f64;
    let mut counts = vec![0usize; bins];
    for d in days {
        counts[(((d - x_range.start) / width).max(0.0) as usize).min(bins - 1)] += 1;
    }
    let top = counts.iter().copied().max().unwrap_or(0).max(1) as f64;
    let y_range = 0.0..top * 1.1;
    let mut ctx = ChartBuilder::on(area)
        .margin_left(fonts.px(20.0))
        .margin_right(fonts.px(24.0))
        .margin_top(fonts.px(16.0))
        .margin_bottom(fonts.px(8.0))
        .x_label_area_size(fonts.px(62.0))
        .y_label_area_size(fonts.px(80.0))
        .build_cartesian_2d(
            axis(x_range.clone(), count_ticks(&x_range, 6)),
            axis(y_range.clone(), count_ticks(&y_range, 8).into_iter().filter(|v| v.fract() == 0.0).collect()),
        )
        .map_err(de)?;
    let fmt = |v: &f64| count_label(*v);
    draw_mesh(
        &mut ctx,
        fonts,
        AxisText { desc: "day of first OOMKill", format: &fmt },
        AxisText { desc: "simulated runs", format: &fmt },
    )?;
    let plot = ctx.plotting_area();
    if days.is_empty() {
        return centred_note(&plot.strip_coord_spec(), "no run reached the limit", fonts);
    }
    for (i, &n) in counts.iter().enumerate().filter(|(_, n)| **n > 0) {
        let x0 = x_range.start + i as f64 * width;
        let cell = [(x0, 0.0), (x0 + width, n as f64)];
        plot.draw(&Rectangle::new(cell, ORANGE.filled())).map_err(de)?;
        plot.draw(&Rectangle::new(cell, INK.stroke_width(1))).map_err(de)?;
    }
    Ok(())
}
