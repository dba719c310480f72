//! Safe revisions against the proxy memory limit, one line per Sidecar scope, with the observed
//! OOM drawn as a vertical range at the limit it happened under: the model is credible where
//! its line passes through that range.

use std::path::Path;

use plotters::coord::Shift;
use plotters::prelude::*;

use super::axis::{axis, byte_ticks, bytes_label, count_label, count_ticks, draw_mesh, AxisText, Extent};
use super::data::SafeLimitChart;
use super::layout::{centred_note, legend_strip, text_width, title_block, LegendItem, Swatch};
use super::render::render_png;
use super::style::{
    de, draw_marker, ensure_fonts, series_color, series_marker, text, Fonts, Marker, INK, TEXT, VERMILLION,
};
use crate::quantity::format_bytes;

/// A series' label and its (limit bytes, safe revisions) points.
type Series = (String, Vec<(f64, Option<f64>)>);

/// 1 GiB.
const GI: f64 = 1024.0 * 1024.0 * 1024.0;

/// Render `chart` to a PNG at `path` of `size` pixels (see [`super::DEFAULT_SIZE`]).
pub fn render_safe_limits(chart: &SafeLimitChart, path: &Path, size: (u32, u32)) -> crate::Result<()> {
    render_png(path, size, |area| draw_safe_limits(area, chart))
}

/// Draw `chart` onto `area`. A `None` safe count (no revision count is safe at that limit)
/// breaks the line and is marked with a cross on the x axis.
pub fn draw_safe_limits<DB: DrawingBackend>(
    area: &DrawingArea<DB, Shift>,
    chart: &SafeLimitChart,
) -> Result<(), String> {
    ensure_fonts();
    let fonts = Fonts::for_size(area.dim_in_pixel());
    area.fill(&WHITE).map_err(de)?;
    let body = title_block(area, &chart.title, "", &fonts)?;

    // Each series sorted by limit, keeping only finite limits and finite (or absent) counts.
    let series: Vec<Series> = chart
        .series
        .iter()
        .map(|s| {
            let mut pts: Vec<_> =
                s.points.iter().copied().filter(|(x, y)| x.is_finite() && y.is_none_or(f64::is_finite)).collect();
            pts.sort_by(|a, b| a.0.total_cmp(&b.0));
            (s.label.clone(), pts)
        })
        .collect();
    let bracket = chart.oom_bracket.as_ref().filter(|b| [b.low, b.high, b.limit_bytes].iter().all(|v| v.is_finite()));

    let mut legend: Vec<LegendItem> = series
        .iter()
        .enumerate()
        .map(|(i, (label, _))| LegendItem::new(Swatch::Point(series_color(i), series_marker(i)), label.clone()))
        .collect();
    if series.iter().any(|(_, pts)| pts.iter().any(|p| p.1.is_none())) {
        legend.push(LegendItem::new(Swatch::Point(INK, Marker::Cross), "no safe revision count at this limit"));
    }
    if let Some(b) = bracket {
        let label = format!(
            "observed OOMKill: {}–{} revisions at {}",
            count_label(b.low.min(b.high)),
            count_label(b.low.max(b.high)),
            format_bytes(b.limit_bytes)
        );
        legend.push(LegendItem::new(Swatch::Line(VERMILLION, 4), label));
    }
    let body = legend_strip(&body, &legend, &fonts)?;

    let (mut xs, mut ys) = (Extent::new(), Extent::new());
    for (_, pts) in &series {
        xs.extend(pts.iter().map(|p| p.0));
        ys.extend(pts.iter().filter_map(|p| p.1));
    }
    if let Some(b) = bracket {
        xs.add(b.limit_bytes);
        ys.extend([b.low, b.high]);
    }
    let x_range = xs.range(0.04, 0.0..4.0 * GI, false);
    let x_range = x_range.start.max(0.0)..x_range.end;
    let y_range = ys.range(0.08, 0.0..1000.0, true);

    let x_ticks = limit_ticks(&body, &series, &x_range, &fonts);
    let mut ctx = ChartBuilder::on(&body)
        .margin_left(fonts.px(10.0))
        .margin_right(fonts.px(40.0))
        .margin_top(fonts.px(16.0))
        .margin_bottom(fonts.px(8.0))
        .x_label_area_size(fonts.px(62.0))
        .y_label_area_size(fonts.px(110.0))
        .build_cartesian_2d(axis(x_range.clone(), x_ticks), axis(y_range.clone(), count_ticks(&y_range, 10)))
        .map_err(de)?;
    let (bytes_fmt, count_fmt) = (|v: &f64| bytes_label(*v), |v: &f64| count_label(*v));
    draw_mesh(
        &mut ctx,
        &fonts,
        AxisText { desc: "istio-proxy memory limit", format: &bytes_fmt },
        AxisText { desc: "safe Knative revisions", format: &count_fmt },
    )?;
    let plot = ctx.plotting_area();
    if series.iter().all(|(_, pts)| pts.is_empty()) && bracket.is_none() {
        centred_note(&plot.strip_coord_spec(), "no safe revision counts to draw", &fonts)?;
    }

    if let Some(b) = bracket {
        let (lo, hi, x) = (b.low.min(b.high), b.low.max(b.high), b.limit_bytes);
        let s = VERMILLION.stroke_width(4);
        let cap = fonts.px(12.0);
        let (top, bottom) = (ctx.backend_coord(&(x, hi)).1, ctx.backend_coord(&(x, lo)).1);
        let shade = Rectangle::new([(-cap, 0), (cap, bottom - top)], VERMILLION.mix(0.25).filled());
        plot.draw(&(EmptyElement::at((x, hi)) + shade)).map_err(de)?;
        plot.draw(&PathElement::new(vec![(x, lo), (x, hi)], s)).map_err(de)?;
        for y in [lo, hi] {
            plot.draw(&(EmptyElement::at((x, y)) + PathElement::new(vec![(-cap, 0), (cap, 0)], s))).map_err(de)?;
        }
    }
    let radius = fonts.px(7.0).max(2);
    for (i, (_, pts)) in series.iter().enumerate() {
        let color = series_color(i);
        // Lines run between consecutive known counts; an unknown count breaks the line.
        for run in pts.split(|p| p.1.is_none()) {
            let line: Vec<(f64, f64)> = run.iter().filter_map(|p| p.1.map(|y| (p.0, y))).collect();
            plot.draw(&PathElement::new(line, color.stroke_width(3))).map_err(de)?;
        }
        for p in pts {
            match p.1 {
                Some(y) => draw_marker(plot, (p.0, y), series_marker(i), radius, color)?,
                None => draw_marker(plot, (p.0, y_range.start), Marker::Cross, radius, color)?,
            }
        }
    }
    Ok(())
}

/// Ticks at the limits the series were computed for, when they fit side by side (the usual
/// 256Mi, 512Mi, 1Gi...); otherwise evenly spaced binary steps.
fn limit_ticks<DB: DrawingBackend>(
    area: &DrawingArea<DB, Shift>,
    series: &[Series],
    x_range: &std::ops::Range<f64>,
    fonts: &Fonts,
) -> Vec<f64> {
    let mut limits: Vec<f64> = series.iter().flat_map(|(_, pts)| pts.iter().map(|p| p.0)).collect();
    limits.sort_by(f64::total_cmp);
    limits.dedup();
    let style = text(fonts.tick, TEXT);
    let label_w = limits.iter().map(|l| text_width(area, &bytes_label(*l), &style)).max().unwrap_or(0);
    let plot_w = area.dim_in_pixel().0 as f64 - fonts.px(160.0) as f64;
    let px_per_byte = plot_w / (x_range.end - x_range.start);
    let tightest = limits.windows(2).map(|w| (w[1] - w[0]) * px_per_byte).fold(f64::INFINITY, f64::min);
    if (2..=12).contains(&limits.len()) && tightest > (label_w + fonts.px(12.0)) as f64 {
        limits
    } else {
        byte_ticks(x_range, 9)
    }
}
