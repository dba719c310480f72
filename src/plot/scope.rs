//! Predicted memory per proxy (a namespace's sidecars or a gateway) under each Sidecar scope,
//! as grouped bars with interval whiskers and the proxy limit: which proxies a scope saves.

use std::path::Path;

use plotters::coord::Shift;
use plotters::element::DashedPathElement;
use plotters::prelude::*;
use plotters::style::text_anchor::{HPos, Pos, VPos};
use plotters::style::FontTransform;

use super::axis::{axis, byte_ticks, bytes_label, bytes_short, draw_mesh, AxisText, Extent};
use super::data::ScopeChart;
use super::layout::{
    centred_note, fit_text, legend_strip, side_labels, text_width, title_block, to_area, LegendItem, Swatch,
};
use super::render::render_png;
use super::style::{bold, de, ensure_fonts, series_color, text, Fonts, INK, TEXT, VERMILLION};
use crate::quantity::format_bytes;

/// Render `chart` to a PNG at `path` of `size` pixels (see [`super::DEFAULT_SIZE`]).
pub fn render_scope(chart: &ScopeChart, path: &Path, size: (u32, u32)) -> crate::Result<()> {
    render_png(path, size, |area| draw_scope(area, chart))
}

/// Draw `chart` onto `area`; bars with a non-finite prediction are left out.
pub fn draw_scope<DB: DrawingBackend>(area: &DrawingArea<DB, Shift>, chart: &ScopeChart) -> Result<(), String> {
    ensure_fonts();
    let fonts = Fonts::for_size(area.dim_in_pixel());
    area.fill(&WHITE).map_err(de)?;
    let body = title_block(area, &chart.title, "", &fonts)?;

    let bars: Vec<_> = chart.bars.iter().filter(|b| b.predicted.is_finite()).collect();
    let mut proxies: Vec<&str> = Vec::new();
    let mut scopes: Vec<&str> = Vec::new();
    for b in &bars {
        if !proxies.contains(&b.proxy.as_str()) {
            proxies.push(&b.proxy);
        }
        if !scopes.contains(&b.scope.as_str()) {
            scopes.push(&b.scope);
        }
    }
    let limit = Some(chart.limit_bytes).filter(|l| l.is_finite());

    let mut legend: Vec<LegendItem> = scopes
        .iter()
        .enumerate()
        .map(|(i, s)| LegendItem::new(Swatch::Fill(series_color(i), 1.0), s.to_string()))
        .collect();
    if bars.iter().any(|b| b.low.is_finite() && b.high.is_finite()) {
        legend.push(LegendItem::new(Swatch::Line(INK, 2), "prediction interval"));
    }
    if limit.is_some() || bars.iter().any(|b| b.limit.is_some()) {
        legend.push(LegendItem::new(Swatch::Dashed(VERMILLION), "proxy memory limit"));
    }
    let body = legend_strip(&body, &legend, &fonts)?;

    let mut ys = Extent::new();
    ys.extend(bars.iter().flat_map(|b| [b.predicted, b.low, b.high]));
    ys.extend(limit);
    ys.extend(bars.iter().filter_map(|b| b.limit.filter(|l| l.is_finite())));
    ys.add(0.0);
    let y_range = ys.range(0.08, 0.0..1024.0 * 1024.0 * 1024.0, true);
    let groups = proxies.len().max(1);
    let x_range = 0.0..groups as f64;
    let limit_label = limit.map(|l| format!("limit {}", format_bytes(l)));
    let label_w = limit_label.as_ref().map_or(0, |l| text_width(&body, l, &bold(fonts.tick, VERMILLION)));

    // Proxy names sit under their group; when one is wider than a group they turn vertical,
    // cut to at most a third of the chart's height.
    let (body_w, body_h) = body.dim_in_pixel();
    let (y_area, margins) = (fonts.px(110.0), label_w + fonts.px(34.0));
    let group_px = ((body_w as i32 - y_area - margins) / groups as i32 - fonts.px(8.0)).max(1);
    let tick = text(fonts.tick, TEXT);
    let widest = proxies.iter().map(|p| text_width(&body, p, &tick)).max().unwrap_or(0);
    let vertical = widest > group_px;
    let max_vertical = body_h as i32 / 3;
    let names: Vec<String> = proxies.iter().map(|p| fit_text(&body, p, &tick, max_vertical)).collect();
    let x_area = match vertical {
        true => widest.min(max_vertical) + fonts.px(62.0),
        false => fonts.px(62.0),
    };
    let mut ctx = ChartBuilder::on(&body)
        .margin_left(fonts.px(10.0))
        .margin_right(margins - fonts.px(10.0))
        .margin_top(fonts.px(16.0))
        .margin_bottom(fonts.px(8.0))
        .x_label_area_size(x_area)
        .y_label_area_size(y_area)
        .build_cartesian_2d(
            axis(x_range.clone(), (0..groups).map(|i| i as f64 + 0.5).collect()),
            axis(y_range.clone(), byte_ticks(&y_range, 10)),
        )
        .map_err(de)?;
    let proxy_fmt = |v: &f64| match vertical {
        true => String::new(),
        false => names.get(v.floor().max(0.0) as usize).cloned().unwrap_or_default(),
    };
    let bytes_fmt = |v: &f64| bytes_label(*v);
    draw_mesh(
        &mut ctx,
        &fonts,
        AxisText { desc: "proxy (namespace sidecars or gateway)", format: &proxy_fmt },
        AxisText { desc: "predicted istio-proxy memory", format: &bytes_fmt },
    )?;
    let plot = ctx.plotting_area();
    if vertical {
        let style = tick.transform(FontTransform::Rotate90).pos(Pos::new(HPos::Left, VPos::Center));
        for (i, name) in names.iter().enumerate() {
            let (x, y) = to_area(&body, ctx.backend_coord(&(i as f64 + 0.5, y_range.start)));
            // plotters anchors rotated text before turning it: centre the column by hand.
            let x = x - (fonts.tick * 0.6) as i32;
            body.draw_text(name, &style, (x, y + fonts.px(10.0))).map_err(de)?;
        }
    }
    if bars.is_empty() {
        centred_note(&plot.strip_coord_spec(), "no predictions to draw", &fonts)?;
    }

    let slot = 0.8 / scopes.len().max(1) as f64;
    let value_style = text(fonts.note, TEXT).pos(Pos::new(HPos::Center, VPos::Bottom));
    let show_values = bars.len() <= 16 && group_px as f64 / scopes.len().max(1) as f64 > fonts.note * 3.5;
    let cap = fonts.px(8.0);
    for b in &bars {
        let g = proxies.iter().position(|p| *p == b.proxy).unwrap_or(0) as f64;
        let s = scopes.iter().position(|s| *s == b.scope).unwrap_or(0);
        let left = g + 0.1 + s as f64 * slot + slot * 0.06;
        let right = g + 0.1 + (s + 1) as f64 * slot - slot * 0.06;
        let mid = (left + right) / 2.0;
        let color = series_color(s);
        plot.draw(&Rectangle::new([(left, 0.0), (right, b.predicted)], color.filled())).map_err(de)?;
        plot.draw(&Rectangle::new([(left, 0.0), (right, b.predicted)], INK.stroke_width(1))).map_err(de)?;
        let mut top = b.predicted;
        if b.low.is_finite() && b.high.is_finite() {
            let w = INK.stroke_width(2);
            plot.draw(&PathElement::new(vec![(mid, b.low), (mid, b.high)], w)).map_err(de)?;
            for y in [b.low, b.high] {
                plot.draw(&(EmptyElement::at((mid, y)) + PathElement::new(vec![(-cap, 0), (cap, 0)], w)))
                    .map_err(de)?;
            }
            top = top.max(b.high);
        }
        if let Some(l) = b.limit.filter(|l| l.is_finite()) {
            let tick = [(left - slot * 0.04, l), (right + slot * 0.04, l)];
            plot.draw(&DashedPathElement::new(tick, fonts.px(6.0), fonts.px(4.0), VERMILLION.stroke_width(3)))
                .map_err(de)?;
        }
        if show_values {
            let label = Text::new(bytes_short(b.predicted), (0, -fonts.px(6.0)), value_style.clone());
            plot.draw(&(EmptyElement::at((mid, top)) + label)).map_err(de)?;
        }
    }
    if let (Some(l), Some(label)) = (limit, limit_label) {
        let line = [(x_range.start, l), (x_range.end, l)];
        plot.draw(&DashedPathElement::new(line, fonts.px(14.0), fonts.px(8.0), VERMILLION.stroke_width(3)))
            .map_err(de)?;
        let (x, y) = to_area(&body, ctx.backend_coord(&(x_range.end, l)));
        side_labels(&body, x + fonts.px(10.0), &[(y, label, VERMILLION)], &fonts)?;
    }
    Ok(())
}
