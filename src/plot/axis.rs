//! Axis ranges and tick labels: byte axes ticked at binary steps (`256Mi`, `1Gi`), counts with
//! thousands separators, and ranges that survive empty, constant or non-finite data.

use std::ops::Range;

use plotters::coord::ranged1d::{DefaultFormatting, KeyPointHint};
use plotters::coord::Shift;
use plotters::prelude::*;

use super::style::{de, text, Fonts, GRID, TEXT};
use crate::quantity::format_bytes;

/// A linear f64 axis ticked exactly at chosen points (plotters' own key-point wrapper cannot
/// take a label formatter for f64 axes).
#[derive(Clone, Debug)]
pub(crate) struct Axis {
    range: Range<f64>,
    ticks: Vec<f64>,
}

impl Ranged for Axis {
    type FormatOption = DefaultFormatting;
    type ValueType = f64;

    fn map(&self, value: &f64, limit: (i32, i32)) -> i32 {
        let t = (value - self.range.start) / (self.range.end - self.range.start);
        let px = limit.0 as f64 + t * (limit.1 - limit.0) as f64;
        // Far-off values (a crossing at 1e9 revisions) must not wrap around when cast.
        if px.is_nan() {
            limit.0
        } else {
            px.round().clamp(-1e7, 1e7) as i32
        }
    }

    fn key_points<H: KeyPointHint>(&self, hint: H) -> Vec<f64> {
        if hint.weight().allow_light_points() {
            Vec::new()
        } else {
            self.ticks.clone()
        }
    }

    fn range(&self) -> Range<f64> {
        self.range.clone()
    }
}

/// The coordinate system of every x-y chart here.
pub(crate) type Grid = Cartesian2d<Axis, Axis>;

/// An axis over `range` with ticks (and grid lines) at those of `ticks` inside the range.
pub(crate) fn axis(range: Range<f64>, ticks: Vec<f64>) -> Axis {
    let ticks = ticks.into_iter().filter(|t| *t >= range.start && *t <= range.end).collect();
    Axis { range, ticks }
}

/// Labels of one axis: its description and how a tick value prints.
pub(crate) struct AxisText<'a> {
    pub desc: &'a str,
    pub format: &'a dyn Fn(&f64) -> String,
}

/// Draw grid lines, ticks and axis descriptions in the house style.
pub(crate) fn draw_mesh<DB: DrawingBackend>(
    ctx: &mut ChartContext<'_, DB, Grid>,
    fonts: &Fonts,
    x: AxisText<'_>,
    y: AxisText<'_>,
) -> Result<(), String> {
    ctx.configure_mesh()
        .x_label_formatter(x.format)
        .y_label_formatter(y.format)
        .x_desc(x.desc)
        .y_desc(y.desc)
        .label_style(text(fonts.tick, TEXT))
        .axis_desc_style(text(fonts.label, TEXT))
        .bold_line_style(GRID)
        .axis_style(ShapeStyle::from(&TEXT).stroke_width(1))
        .draw()
        .map_err(de)
}

/// A chart of bytes (y) against a count (x) on `body`, its mesh drawn: the frame the fleet and
/// level charts share. `margin_right` leaves room for labels beside the plot.
pub(crate) fn count_bytes_chart<'a, DB: DrawingBackend>(
    body: &'a DrawingArea<DB, Shift>,
    fonts: &Fonts,
    (x_range, y_range): (Range<f64>, Range<f64>),
    margin_right: i32,
    (x_desc, y_desc): (&str, &str),
) -> Result<ChartContext<'a, DB, Grid>, String> {
    let mut ctx = ChartBuilder::on(body)
        .margin_left(fonts.px(10.0))
        .margin_right(margin_right)
        .margin_bottom(fonts.px(8.0))
        .x_label_area_size(fonts.px(62.0))
        .y_label_area_size(fonts.px(100.0))
        .build_cartesian_2d(
            axis(x_range.clone(), count_ticks(&x_range, 8)),
            axis(y_range.clone(), byte_ticks(&y_range, 8)),
        )
        .map_err(de)?;
    let count_fmt = |v: &f64| count_label(*v);
    let bytes_fmt = |v: &f64| bytes_label(*v);
    draw_mesh(
        &mut ctx,
        fonts,
        AxisText { desc: x_desc, format: &count_fmt },
        AxisText { desc: y_desc, format: &bytes_fmt },
    )?;
    Ok(ctx)
}

/// The extent of the finite values seen so far.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Extent {
    lo: f64,
    hi: f64,
}

impl Extent {
    /// Nothing seen yet.
    pub fn new() -> Extent {
        Extent { lo: f64::INFINITY, hi: f64::NEG_INFINITY }
    }

    /// Widen to `v`; NaN and infinities are ignored.
    pub fn add(&mut self, v: f64) {
        if v.is_finite() {
            self.lo = self.lo.min(v);
            self.hi = self.hi.max(v);
        }
    }

    /// Widen to every value of `values`.
    pub fn extend(&mut self, values: impl IntoIterator<Item = f64>) {
        values.into_iter().for_each(|v| self.add(v));
    }

    /// Whether any finite value was seen.
    pub fn is_empty(&self) -> bool {
        self.lo > self.hi
    }

    /// The range with `frac` of its width added on each side. An empty extent becomes
    /// `fallback`; a single value is widened by 10% of itself (or 1) so no axis is degenerate.
    /// With `from_zero`, the range starts at 0 when all values are non-negative.
    pub fn range(&self, frac: f64, fallback: Range<f64>, from_zero: bool) -> Range<f64> {
        if self.is_empty() {
            return fallback;
        }
        let (mut lo, hi) = (self.lo, self.hi);
        if from_zero && lo >= 0.0 {
            lo = 0.0;
        }
        if hi - lo <= f64::EPSILON * hi.abs().max(lo.abs()).max(1.0) {
            let pad = (hi.abs() * 0.1).max(1.0);
            return (lo - pad)..(hi + pad);
        }
        let pad = (hi - lo) * frac;
        let start = if from_zero && lo == 0.0 { 0.0 } else { lo - pad };
        start..(hi + pad)
    }
}

/// Tick positions for a byte axis over `range`: multiples of a power-of-two step (64Mi, 256Mi,
/// 1Gi...) chosen so there are at most `max_ticks` ticks.
pub(crate) fn byte_ticks(range: &Range<f64>, max_ticks: usize) -> Vec<f64> {
    let width = range.end - range.start;
    if !(width.is_finite() && width > 0.0) {
        return vec![range.start];
    }
    let min_step = width / max_ticks.max(1) as f64;
    let step = 2f64.powf(min_step.log2().ceil()).max(f64::MIN_POSITIVE);
    let first = (range.start / step).ceil() as i64;
    let last = (range.end / step).floor() as i64;
    (first..=last).map(|k| k as f64 * step).collect()
}

/// Tick positions for a count axis (revisions, ports, runs): multiples of 1, 2 or 5 x 10^k,
/// at most `max_ticks` of them; integral when the range allows.
pub(crate) fn count_ticks(range: &Range<f64>, max_ticks: usize) -> Vec<f64> {
    let width = range.end - range.start;
    if !(width.is_finite() && width > 0.0) {
        return vec![range.start];
    }
    let raw = width / max_ticks.max(1) as f64;
    let mag = 10f64.powf(raw.log10().floor());
    let step = [1.0, 2.0, 5.0, 10.0].iter().map(|m| m * mag).find(|s| *s >= raw).unwrap_or(10.0 * mag);
    let first = (range.start / step).ceil() as i64;
    let last = (range.end / step).floor() as i64;
    (first..=last).map(|k| k as f64 * step).collect()
}

/// A byte tick label: `512Mi`, `1.5Gi`, `0`.
pub(crate) fn bytes_label(v: f64) -> String {
    if v.abs() < 0.5 {
        return "0".to_string();
    }
    format_bytes(v)
}

/// A byte value to three significant digits, for labels on bars: `612Mi`, `1.23Gi`.
pub(crate) fn bytes_short(v: f64) -> String {
    if !v.is_finite() || v.abs() < 1.0 {
        return bytes_label(v);
    }
    let unit = 1024f64.powf((v.abs().log2() / 10.0).floor().clamp(0.0, 6.0));
    let scaled = v / unit;
    let digits = 2 - (scaled.abs().log10().floor() as i32).clamp(0, 2);
    let factor = 10f64.powi(digits);
    format_bytes((scaled * factor).round() / factor * unit)
}

/// A count with thousands separators (`16,000`), or up to two decimals when not integral.
pub(crate) fn count_label(v: f64) -> String {
    if !v.is_finite() {
        return format!("{v}");
    }
    if (v - v.round()).abs() > 1e-6 * v.abs().max(1.0) && v.abs() < 1e6 {
        let s = format!("{v:.2}");
        return s.trim_end_matches('0').trim_end_matches('.').to_string();
    }
    let digits = format!("{}", v.round().abs() as u64);
    let mut out = String::with_capacity(digits.len() + digits.len() / 3 + 1);
    for (i, ch) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i) % 3 == 0 {
            out.push(',');
        }
        out.push(ch);
    }
    if v < -0.5 {
        out.insert(0, '-');
    }
    out
}

/// A short label for a value of unknown unit (heatmap cells): `1,190`, `0.75`, `3.2M`.
pub(crate) fn compact_label(v: f64) -> String {
    let a = v.abs();
    if a >= 1e6 {
        let (div, unit) = if a >= 1e12 {
            (1e12, "T")
        } else if a >= 1e9 {
            (1e9, "G")
        } else {
            (1e6, "M")
        };
        let s = format!("{:.1}", v / div);
        return format!("{}{unit}", s.trim_end_matches('0').trim_end_matches('.'));
    }
    if a >= 100.0 || a == 0.0 {
        return count_label(v.round());
    }
    let s = if a >= 1.0 { format!("{v:.2}") } else { format!("{v:.3}") };
    s.trim_end_matches('0').trim_end_matches('.').to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn byte_ticks_are_binary_steps() {
        let mi = 1024.0 * 1024.0;
        let t = byte_ticks(&(0.0..2200.0 * mi), 8);
        assert_eq!(t.iter().map(|v| bytes_label(*v)).collect::<Vec<_>>(), ["0", "512Mi", "1Gi", "1.5Gi", "2Gi"]);
    }

    #[test]
    fn labels() {
        assert_eq!(count_label(16000.0), "16,000");
        assert_eq!(count_label(-1234567.0), "-1,234,567");
        assert_eq!(count_label(0.75), "0.75");
        assert_eq!(compact_label(3.21e6), "3.2M");
        assert_eq!(compact_label(1190.0), "1,190");
        assert_eq!(bytes_short(612.3456 * 1024.0 * 1024.0), "612Mi");
        assert_eq!(bytes_short(1.23456 * 1024.0 * 1024.0 * 1024.0), "1.23Gi");
    }

    #[test]
    fn degenerate_extent_is_padded() {
        let mut e = Extent::new();
        e.extend([5.0, 5.0, f64::NAN]);
        let r = e.range(0.05, 0.0..1.0, false);
        assert!(r.start < 5.0 && r.end > 5.0);
        assert_eq!(Extent::new().range(0.05, 0.0..1.0, true), 0.0..1.0);
    }
}
