//! Two charts of a fleet: memory against ports for every proxy (one colour per namespace) with
//! the pooled model's band and each proxy's limit as a tick above it; and the days until each
//! of the soonest proxies reaches its limit, with its interval as a whisker.

use std::path::Path;

use plotters::coord::Shift;
use plotters::prelude::*;

use super::axis::{axis, count_bytes_chart, count_label, count_ticks, Extent};
use super::layout::{centred_note, legend_strip, title_block, LegendItem, Swatch};
use super::render::render_png;
use super::style::{de, ensure_fonts, series_color, text, Fonts, Marker, INK, MUTED, PI_ALPHA, VERMILLION};

/// One proxy in the memory chart.
#[derive(Debug, Clone, PartialEq)]
pub struct FleetProxyPoints {
    /// Index of its namespace in [`FleetMemoryChart::namespaces`].
    pub namespace: usize,
    /// Readings (predictor, memory bytes), thinned by the caller.
    pub readings: Vec<(f64, f64)>,
    /// Its last reading.
    pub now: (f64, f64),
    /// Its limit, bytes.
    pub limit_bytes: Option<f64>,
}

/// Memory against the predictor for a fleet.
#[derive(Debug, Clone, PartialEq)]
pub struct FleetMemoryChart {
    /// Title.
    pub title: String,
    /// Subtitle (model, counts).
    pub subtitle: String,
    /// X axis label (`endpoint ports`).
    pub x_label: String,
    /// Namespace names, in colour order.
    pub namespaces: Vec<String>,
    /// The proxies.
    pub proxies: Vec<FleetProxyPoints>,
    /// The pooled band: (x, mean, low, high) for a proxy of the fleet.
    pub band: Vec<(f64, f64, f64, f64)>,
    /// What the band is (`95% prediction band, new proxy`).
    pub band_label: String,
}

/// One proxy in the days chart.
#[derive(Debug, Clone, PartialEq)]
pub struct FleetDays {
    /// Its name.
    pub proxy: String,
    /// Days to the limit (the point).
    pub days: f64,
    /// Interval; `None` at the top when unbounded.
    pub interval: (f64, Option<f64>),
    /// Over limit x (1 - headroom) now.
    pub flagged: bool,
}

/// Days to the limit for the soonest proxies.
#[derive(Debug, Clone, PartialEq)]
pub struct FleetDaysChart {
    /// Title.
    pub title: String,
    /// Subtitle.
    pub subtitle: String,
    /// Proxies, soonest first.
    pub proxies: Vec<FleetDays>,
}

/// Render the memory chart to a PNG.
pub fn render_fleet_memory(chart: &FleetMemoryChart, path: &Path, size: (u32, u32)) -> crate::Result<()> {
    render_png(path, size, |area| draw_fleet_memory(area, chart))
}

/// Render the days chart to a PNG.
pub fn render_fleet_days(chart: &FleetDaysChart, path: &Path, size: (u32, u32)) -> crate::Result<()> {
    render_png(path, size, |area| draw_fleet_days(area, chart))
}

/// Draw the memory chart onto `area`.
pub fn draw_fleet_memory<DB: DrawingBackend>(
    area: &DrawingArea<DB, Shift>,
    chart: &FleetMemoryChart,
) -> Result<(), String> {
    ensure_fonts();
    let fonts = Fonts::for_size(area.dim_in_pixel());
    area.fill(&WHITE).map_err(de)?;
    let body = title_block(area, &chart.title, &chart.subtitle, &fonts)?;
    let mut legend: Vec<LegendItem> = chart
        .namespaces
        .iter()
        .enumerate()
        .take(8)
        .map(|(i, n)| LegendItem::new(Swatch::Point(series_color(i), Marker::Circle), n.clone()))
        .collect();
    if chart.namespaces.len() > 8 {
        let more = format!("and {} more namespaces (colours repeat)", chart.namespaces.len() - 8);
        legend.push(LegendItem::new(Swatch::Point(MUTED, Marker::Circle), more));
    }
    legend.push(LegendItem::new(Swatch::Fill(INK, PI_ALPHA), chart.band_label.clone()));
    legend.push(LegendItem::new(Swatch::Line(VERMILLION, 3), "each proxy's limit"));
    let body = legend_strip(&body, &legend, &fonts)?;
    let (mut xs, mut ys) = (Extent::new(), Extent::new());
    for p in &chart.proxies {
        xs.extend(p.readings.iter().map(|r| r.0));
        ys.extend(p.readings.iter().map(|r| r.1));
        ys.extend(p.limit_bytes);
    }
    let x_range = xs.range(0.04, 0.0..1.0, true);
    let y_range = ys.range(0.05, 0.0..1.0, true);
    let ctx = count_bytes_chart(
        &body,
        &fonts,
        (x_range.clone(), y_range.clone()),
        fonts.px(30.0),
        (&chart.x_label, "istio-proxy memory (working set)"),
    )?;
    let plot = ctx.plotting_area();
    if chart.proxies.is_empty() {
        return centred_note(&plot.strip_coord_spec(), "no proxies to draw", &fonts);
    }
    let band: Vec<_> = chart.band.iter().filter(|b| x_range.contains(&b.0)).collect();
    if band.len() >= 2 {
        // One polygon: the upper curve, then the lower reversed.
        let mut poly: Vec<(f64, f64)> = band.iter().map(|b| (b.0, b.3.min(y_range.end))).collect();
        poly.extend(band.iter().rev().map(|b| (b.0, b.2.max(y_range.start))));
        plot.draw(&Polygon::new(poly, INK.mix(PI_ALPHA).filled())).map_err(de)?;
        plot.draw(&PathElement::new(band.iter().map(|b| (b.0, b.1)).collect::<Vec<_>>(), INK.stroke_width(2)))
            .map_err(de)?;
    }
    let dot = fonts.px(2.0).max(1);
    for p in &chart.proxies {
        let c = series_color(p.namespace);
        for &(x, y) in &p.readings {
            plot.draw(&Circle::new((x, y), dot, c.mix(0.5).filled())).map_err(de)?;
        }
    }
    let big = fonts.px(5.0).max(2);
    let half = (x_range.end - x_range.start) * 0.006;
    for p in &chart.proxies {
        let c = series_color(p.namespace);
        plot.draw(&Circle::new(p.now, big, c.filled())).map_err(de)?;
        if let Some(l) = p.limit_bytes {
            let x = p.now.0;
            plot.draw(&PathElement::new(vec![(x - half, l), (x + half, l)], VERMILLION.stroke_width(3))).map_err(de)?;
        }
    }
    Ok(())
}

/// Draw the days chart onto `area`: one row per proxy, soonest at the top.
pub fn draw_fleet_days<DB: DrawingBackend>(
    area: &DrawingArea<DB, Shift>,
    chart: &FleetDaysChart,
) -> Result<(), String> {
    ensure_fonts();
    let fonts = Fonts::for_size(area.dim_in_pixel());
    area.fill(&WHITE).map_err(de)?;
    let body = title_block(area, &chart.title, &chart.subtitle, &fonts)?;
    let legend = vec![
        LegendItem::new(Swatch::Point(INK, Marker::Circle), "days until the upper bound meets the limit"),
        LegendItem::new(Swatch::Line(INK, 2), "interval of the date (arrow: may never)"),
        LegendItem::new(Swatch::Point(VERMILLION, Marker::Circle), "over the headroom now"),
    ];
    let body = legend_strip(&body, &legend, &fonts)?;
    let rows = &chart.proxies;
    let mut xs = Extent::new();
    xs.add(0.0);
    for r in rows {
        xs.add(r.days);
        xs.add(r.interval.0);
        xs.extend(r.interval.1);
    }
    let x_range = xs.range(0.04, 0.0..1.0, true);
    let n = rows.len().max(1) as f64;
    let label_w = rows.iter().map(|r| r.proxy.len()).max().unwrap_or(5) as f64 * fonts.tick * 0.55;
    let mut ctx = ChartBuilder::on(&body)
        .margin_left(fonts.px(10.0))
        .margin_right(fonts.px(30.0))
        .margin_bottom(fonts.px(8.0))
        .x_label_area_size(fonts.px(62.0))
        .y_label_area_size((label_w as i32).clamp(fonts.px(60.0), fonts.px(600.0)))
        .build_cartesian_2d(axis(x_range.clone(), count_ticks(&x_range, 8)), -0.5..n - 0.5)
        .map_err(de)?;
    let days_fmt = |v: &f64| count_label(*v);
    ctx.configure_mesh()
        .disable_y_mesh()
        .y_labels(rows.len().max(1))
        .y_label_formatter(&|y: &f64| {
            let k = y.round();
            if (y - k).abs() > 1e-6 || k < 0.0 {
                return String::new();
            }
            rows.get(rows.len().saturating_sub(1 + k as usize)).map_or(String::new(), |r| r.proxy.clone())
        })
        .x_label_formatter(&days_fmt)
        .x_desc("days from the last reading")
        .label_style(text(fonts.tick, MUTED))
        .axis_desc_style(text(fonts.label, INK))
        .draw()
        .map_err(de)?;
    let plot = ctx.plotting_area();
    if rows.is_empty() {
        return centred_note(&plot.strip_coord_spec(), "no proxy grows toward its limit", &fonts);
    }
    let r = fonts.px(6.0).max(2);
    // Whisker caps a quarter of a row high with 30 rows, no taller with fewer.
    let cap = (0.25 * n / 30.0).clamp(0.06, 0.25);
    for (k, row) in rows.iter().enumerate() {
        let y = n - 1.0 - k as f64;
        let hi = row.interval.1.unwrap_or(x_range.end);
        plot.draw(&PathElement::new(vec![(row.interval.0, y), (hi, y)], INK.stroke_width(2))).map_err(de)?;
        plot.draw(&PathElement::new(vec![(row.interval.0, y - cap), (row.interval.0, y + cap)], INK.stroke_width(2)))
            .map_err(de)?;
        if row.interval.1.is_some() {
            plot.draw(&PathElement::new(vec![(hi, y - cap), (hi, y + cap)], INK.stroke_width(2))).map_err(de)?;
        } else {
            let w = (x_range.end - x_range.start) * 0.012;
            plot.draw(&PathElement::new(vec![(hi - w, y - cap), (hi, y), (hi - w, y + cap)], INK.stroke_width(2)))
                .map_err(de)?;
        }
        let c = if row.flagged { VERMILLION } else { INK };
        plot.draw(&Circle::new((row.days, y), r, c.filled())).map_err(de)?;
    }
    Ok(())
}
