//! The fit chart: measured memory against revisions with the fitted line, its confidence and
//! prediction bands, the proxy limits, where the model crosses them and observed OOMKills.
//!
//! Drawing order, back to front: OOM spans, prediction band, confidence band, observations,
//! fitted line, limits, crossing and safe-count markers. The legend sits in a strip above the
//! plot and limit labels in the right margin, so nothing covers the data.

use std::path::Path;

use plotters::coord::Shift;
use plotters::element::DashedPathElement;
use plotters::prelude::*;
use plotters::style::text_anchor::{HPos, Pos, VPos};

use super::axis::{axis, byte_ticks, bytes_label, count_label, count_ticks, draw_mesh, AxisText, Extent};
use super::data::{CurvePoint, FitChart, OomBracket};
use super::layout::{centred_note, legend_strip, side_labels, text_width, title_block, to_area, LegendItem, Swatch};
use super::reduce::{reduce_if_large, REDUCE_ABOVE};
use super::render::render_png;
use super::style::{
    bold, de, draw_marker, ensure_fonts, text, Fonts, Marker, BLUE, CI_ALPHA, GREEN, INK, ORANGE, PI_ALPHA, POINTS,
    SKY_BLUE, TEXT, VERMILLION,
};
use crate::quantity::format_bytes;

/// 1 GiB, the y range shown when there is nothing to draw.
const GI: f64 = 1024.0 * 1024.0 * 1024.0;

/// Render `chart` to a PNG at `path` of `size` pixels (see [`super::DEFAULT_SIZE`]).
pub fn render_fit(chart: &FitChart, path: &Path, size: (u32, u32)) -> crate::Result<()> {
    render_png(path, size, |area| draw_fit(area, chart))
}

/// Draw `chart` onto `area`. Non-finite values are skipped; empty data draws empty axes.
pub fn draw_fit<DB: DrawingBackend>(area: &DrawingArea<DB, Shift>, chart: &FitChart) -> Result<(), String> {
    ensure_fonts();
    let fonts = Fonts::for_size(area.dim_in_pixel());
    area.fill(&WHITE).map_err(de)?;
    let body = title_block(area, &chart.title, &chart.subtitle, &fonts)?;

    let observations: Vec<(f64, f64)> =
        chart.observations.iter().copied().filter(|(x, y)| x.is_finite() && y.is_finite()).collect();
    let mut curve: Vec<&CurvePoint> = chart.curve.iter().filter(|c| c.x.is_finite()).collect();
    curve.sort_by(|a, b| a.x.total_cmp(&b.x));
    let ooms: Vec<OomBracket> = chart
        .oom
        .iter()
        .filter(|o| o.low.is_finite() && o.high.is_finite())
        .map(|o| OomBracket { low: o.low.min(o.high), high: o.low.max(o.high), limit_bytes: o.limit_bytes })
        .collect();
    let limits: Vec<_> = chart.limits.iter().filter(|l| l.limit_bytes.is_finite()).collect();

    let (mut xs, mut ys) = (Extent::new(), Extent::new());
    xs.extend(observations.iter().map(|p| p.0));
    ys.extend(observations.iter().map(|p| p.1));
    for c in &curve {
        xs.add(c.x);
        ys.extend([c.mean, c.ci_low, c.ci_high, c.pi_low, c.pi_high]);
    }
    for o in &ooms {
        xs.extend([o.low, o.high]);
        ys.add(o.limit_bytes);
    }
    // Crossings and safe counts widen the x axis up to three times the data's extent; one far
    // beyond (a nearly flat fit) would squash everything else, so its marker is left out.
    let reach = match xs.is_empty() {
        true => f64::INFINITY,
        false => {
            let r = xs.range(0.0, 0.0..100.0, true);
            r.end + 2.0 * (r.end - r.start)
        }
    };
    let finite = |v: &Option<f64>| v.filter(|v| v.is_finite() && *v <= reach);
    for l in &limits {
        ys.add(l.limit_bytes);
        xs.extend(finite(&l.crossing).into_iter().chain(finite(&l.safe)));
    }
    let x_range = xs.range(0.02, 0.0..100.0, true);
    let shown = |v: &Option<f64>| finite(v).is_some();
    let markers = (limits.iter().any(|l| shown(&l.crossing)), limits.iter().any(|l| shown(&l.safe)));
    let body = legend_strip(&body, &legend(chart, observations.len(), &ooms, !limits.is_empty(), markers), &fonts)?;
    let y_range = ys.range(0.06, 0.0..GI, true);

    let label_style = bold(fonts.tick, VERMILLION);
    let label_w = limits.iter().map(|l| text_width(&body, &l.label, &label_style)).max().unwrap_or(0);
    let ports = chart.ports_per_revision;
    let secondary = ports.is_finite() && ports > 0.0;
    let ports_range = if secondary { x_range.start * ports..x_range.end * ports } else { x_range.clone() };

    let mut ctx = ChartBuilder::on(&body)
        .margin_left(fonts.px(10.0))
        .margin_right(label_w + fonts.px(24.0))
        .margin_top(fonts.px(if secondary { 4.0 } else { 16.0 }))
        .margin_bottom(fonts.px(8.0))
        .x_label_area_size(fonts.px(64.0))
        .y_label_area_size(fonts.px(110.0))
        .top_x_label_area_size(if secondary { fonts.px(64.0) } else { 0 })
        .build_cartesian_2d(
            axis(x_range.clone(), count_ticks(&x_range, 10)),
            axis(y_range.clone(), byte_ticks(&y_range, 10)),
        )
        .map_err(de)?
        .set_secondary_coord(axis(ports_range.clone(), count_ticks(&ports_range, 10)), y_range.clone());
    let (count_fmt, bytes_fmt) = (|v: &f64| count_label(*v), |v: &f64| bytes_label(*v));
    draw_mesh(
        &mut ctx,
        &fonts,
        AxisText { desc: "Knative revisions in the mesh", format: &count_fmt },
        AxisText { desc: "istio-proxy memory", format: &bytes_fmt },
    )?;
    if secondary {
        let desc = format!("endpoint ports (= revisions × {})", count_label(ports));
        ctx.configure_secondary_axes()
            .x_label_formatter(&count_fmt)
            .x_desc(desc)
            .label_style(text(fonts.tick, TEXT))
            .axis_desc_style(text(fonts.label, TEXT))
            .draw()
            .map_err(de)?;
    }
    let plot = ctx.plotting_area();
    let (y0, y1) = (y_range.start, y_range.end);
    if observations.is_empty() && curve.is_empty() {
        centred_note(&plot.strip_coord_spec(), "no observations or fitted curve to draw", &fonts)?;
    }

    // OOM spans: where between two observations the proxy was killed, and at which limit.
    let oom_style = bold(fonts.note, VERMILLION).pos(Pos::new(HPos::Center, VPos::Top));
    let cap = fonts.px(10.0);
    for (i, o) in ooms.iter().enumerate() {
        if o.high > o.low {
            plot.draw(&Rectangle::new([(o.low, y0), (o.high, y1)], VERMILLION.mix(0.12).filled())).map_err(de)?;
        } else {
            plot.draw(&PathElement::new(vec![(o.low, y0), (o.low, y1)], VERMILLION.mix(0.4).stroke_width(3)))
                .map_err(de)?;
        }
        if o.limit_bytes.is_finite() {
            let s = VERMILLION.stroke_width(4);
            plot.draw(&PathElement::new(vec![(o.low, o.limit_bytes), (o.high, o.limit_bytes)], s)).map_err(de)?;
            for x in [o.low, o.high] {
                plot.draw(&(EmptyElement::at((x, o.limit_bytes)) + PathElement::new(vec![(0, -cap), (0, cap)], s)))
                    .map_err(de)?;
            }
        }
        let label = format!("OOMKilled at {}", format_bytes(o.limit_bytes));
        let dy = fonts.px(6.0) + i as i32 * (fonts.note * 1.2).round() as i32;
        let at = ((o.low + o.high) / 2.0, y1);
        plot.draw(&(EmptyElement::at(at) + Text::new(label, (0, dy), oom_style.clone()))).map_err(de)?;
    }

    // Bands: each one polygon, upper curve then lower curve reversed.
    let band = |lo: fn(&CurvePoint) -> f64, hi: fn(&CurvePoint) -> f64| -> Vec<(f64, f64)> {
        let ok: Vec<_> = curve.iter().filter(|c| lo(c).is_finite() && hi(c).is_finite()).collect();
        ok.iter().map(|c| (c.x, hi(c))).chain(ok.iter().rev().map(|c| (c.x, lo(c)))).collect()
    };
    for (points, color, alpha) in
        [(band(|c| c.pi_low, |c| c.pi_high), SKY_BLUE, PI_ALPHA), (band(|c| c.ci_low, |c| c.ci_high), BLUE, CI_ALPHA)]
    {
        if points.len() >= 4 {
            plot.draw(&Polygon::new(points, color.mix(alpha).filled())).map_err(de)?;
        }
    }

    let plot_w = plot.dim_in_pixel().0 as usize;
    let thinned = observations.len() > REDUCE_ABOVE;
    let radius = fonts.px(if thinned { 2.0 } else { 4.5 }).max(1);
    for p in reduce_if_large(observations, plot_w) {
        plot.draw(&Circle::new(p, radius, POINTS.filled())).map_err(de)?;
    }

    let line: Vec<(f64, f64)> = curve.iter().filter(|c| c.mean.is_finite()).map(|c| (c.x, c.mean)).collect();
    plot.draw(&PathElement::new(line, BLUE.stroke_width(3))).map_err(de)?;

    // Limits, then where the mean reaches each one and how many revisions stay safe under it.
    let (dash, gap) = (fonts.px(14.0), fonts.px(8.0));
    let mut side = Vec::new();
    let right = to_area(&body, ctx.backend_coord(&(x_range.end, y0))).0 + fonts.px(10.0);
    let row = (fonts.note * 1.25).round() as i32;
    for l in &limits {
        let y = l.limit_bytes;
        let pts = [(x_range.start, y), (x_range.end, y)];
        plot.draw(&DashedPathElement::new(pts, dash, gap, VERMILLION.stroke_width(3))).map_err(de)?;
        side.push((to_area(&body, ctx.backend_coord(&(x_range.end, y))).1, l.label.clone(), VERMILLION));
        let note = text(fonts.note, TEXT).pos(Pos::new(HPos::Right, VPos::Bottom));
        if let Some(s) = finite(&l.safe) {
            let bar = PathElement::new(vec![(0, -fonts.px(14.0)), (0, fonts.px(14.0))], GREEN.stroke_width(5));
            plot.draw(&(EmptyElement::at((s, y)) + bar)).map_err(de)?;
            let label = format!("safe up to {}", count_label(s.floor()));
            plot.draw(&(EmptyElement::at((s, y)) + Text::new(label, (-fonts.px(10.0), -fonts.px(6.0)), note.clone())))
                .map_err(de)?;
        }
        if let Some(c) = finite(&l.crossing) {
            let drop = [(c, y0), (c, y)];
            plot.draw(&DashedPathElement::new(drop, fonts.px(4.0), fonts.px(4.0), INK.mix(0.6).stroke_width(1)))
                .map_err(de)?;
            draw_marker(plot, (c, y), Marker::Diamond, fonts.px(8.0).max(3), ORANGE)?;
            let label = format!("crosses at {}", count_label(c.round()));
            let at = (-fonts.px(10.0), -fonts.px(6.0) - row);
            plot.draw(&(EmptyElement::at((c, y)) + Text::new(label, at, note))).map_err(de)?;
        }
    }
    side_labels(&body, right, &side, &fonts)
}

/// Legend entries for what the chart actually contains.
/// `markers` says whether any crossing and any safe-count marker is drawn.
fn legend(chart: &FitChart, n: usize, ooms: &[OomBracket], limits: bool, markers: (bool, bool)) -> Vec<LegendItem> {
    let mut items = Vec::new();
    if n > 0 {
        let thinned = if n > REDUCE_ABOVE { "; extremes per pixel column shown" } else { "" };
        let label = format!("measured (n = {}{thinned})", count_label(n as f64));
        items.push(LegendItem::new(Swatch::Point(POINTS, Marker::Circle), label));
    }
    if chart.curve.iter().any(|c| c.mean.is_finite()) {
        items.push(LegendItem::new(Swatch::Line(BLUE, 3), "fitted mean"));
        items.push(LegendItem::new(Swatch::Fill(BLUE, CI_ALPHA), "confidence band of the mean"));
        items.push(LegendItem::new(Swatch::Fill(SKY_BLUE, PI_ALPHA), "prediction band"));
    }
    if limits {
        items.push(LegendItem::new(Swatch::Dashed(VERMILLION), "proxy memory limit"));
    }
    if !ooms.is_empty() {
        items.push(LegendItem::new(Swatch::Fill(VERMILLION, 0.12), "OOMKilled between these revision counts"));
    }
    if markers.0 {
        items.push(LegendItem::new(Swatch::Point(ORANGE, Marker::Diamond), "mean reaches the limit"));
    }
    if markers.1 {
        items.push(LegendItem::new(
            Swatch::Tick(GREEN),
            "safe revisions (upper bound, with a config push, under the limit)",
        ));
    }
    items
}
