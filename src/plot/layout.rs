//! Layout pieces shared by the charts: the title block, the legend strip and labels placed
//! beside the plot area.
//!
//! Legends sit in a strip between the title and the plot, never on top of the data; labels of
//! horizontal lines (limits, ±2σ) sit in the right margin, nudged apart when they would touch.

use plotters::coord::Shift;
use plotters::prelude::*;
use plotters::style::text_anchor::{HPos, Pos, VPos};

use super::style::{bold, de, draw_marker, text, Fonts, Marker, GRID, INK, MUTED, TEXT};

/// How a legend entry shows its series.
#[derive(Clone, Copy, Debug)]
pub(crate) enum Swatch {
    /// A solid line of this width.
    Line(RGBColor, u32),
    /// A dashed line.
    Dashed(RGBColor),
    /// A filled box with this alpha (bands, spans, bars).
    Fill(RGBColor, f64),
    /// A marker.
    Point(RGBColor, Marker),
    /// A short vertical bar (safe-count ticks).
    Tick(RGBColor),
}

/// One legend entry.
#[derive(Clone, Debug)]
pub(crate) struct LegendItem {
    pub swatch: Swatch,
    pub label: String,
}

impl LegendItem {
    pub fn new(swatch: Swatch, label: impl Into<String>) -> LegendItem {
        LegendItem { swatch, label: label.into() }
    }
}

/// The width `s` would take in `style`, 0 when it cannot be measured.
pub(crate) fn text_width<DB: DrawingBackend>(area: &DrawingArea<DB, Shift>, s: &str, style: &TextStyle) -> i32 {
    area.estimate_text_size(s, style).map(|(w, _)| w as i32).unwrap_or(0)
}

/// `s`, shortened with an ellipsis until it fits in `max_w` pixels.
pub(crate) fn fit_text<DB: DrawingBackend>(
    area: &DrawingArea<DB, Shift>,
    s: &str,
    style: &TextStyle,
    max_w: i32,
) -> String {
    if text_width(area, s, style) <= max_w {
        return s.to_string();
    }
    let mut chars: Vec<char> = s.chars().collect();
    while !chars.is_empty() {
        chars.pop();
        let candidate: String = chars.iter().collect::<String>() + "…";
        if text_width(area, &candidate, style) <= max_w {
            return candidate;
        }
    }
    String::new()
}

/// `s` broken at spaces into at most `max_lines` lines of at most `max_w` (as `width`
/// measures); what still does not fit is cut with an ellipsis on the last line.
pub(crate) fn wrap(s: &str, max_w: i32, max_lines: usize, width: impl Fn(&str) -> i32) -> Vec<String> {
    let mut lines: Vec<String> = Vec::new();
    let mut words = s.split(' ').filter(|w| !w.is_empty()).peekable();
    while let Some(first) = words.next() {
        if lines.len() + 1 == max_lines {
            // The last line takes the rest, cut to fit.
            let rest: Vec<&str> = std::iter::once(first).chain(words.by_ref()).collect();
            lines.push(rest.join(" "));
            break;
        }
        let mut line = first.to_string();
        while let Some(next) = words.peek() {
            let candidate = format!("{line} {next}");
            if width(&candidate) > max_w {
                break;
            }
            line = candidate;
            words.next();
        }
        lines.push(line);
    }
    if let Some(last) = lines.last_mut() {
        if width(last) > max_w {
            let mut chars: Vec<char> = last.chars().collect();
            while !chars.is_empty() && width(&(chars.iter().collect::<String>() + "…")) > max_w {
                chars.pop();
            }
            *last = chars.into_iter().collect::<String>() + "…";
        }
    }
    lines
}

/// Draw the title (bold) and an optional subtitle at the top of `area`, each wrapped onto at
/// most two lines; return the rest.
pub(crate) fn title_block<DB: DrawingBackend>(
    area: &DrawingArea<DB, Shift>,
    title: &str,
    subtitle: &str,
    fonts: &Fonts,
) -> Result<DrawingArea<DB, Shift>, String> {
    let (w, _) = area.dim_in_pixel();
    let pad = fonts.px(14.0);
    let max_w = w as i32 - 2 * pad;
    let title_style = bold(fonts.title, INK);
    let mut height = pad;
    for line in wrap(title, max_w, 2, |s| text_width(area, s, &title_style)) {
        area.draw_text(&line, &title_style, (pad, height)).map_err(de)?;
        height += fonts.title.round() as i32 + fonts.px(6.0);
    }
    if !subtitle.trim().is_empty() {
        let sub_style = text(fonts.subtitle, MUTED);
        for line in wrap(subtitle, max_w, 2, |s| text_width(area, s, &sub_style)) {
            area.draw_text(&line, &sub_style, (pad, height)).map_err(de)?;
            height += fonts.subtitle.round() as i32 + fonts.px(4.0);
        }
    }
    Ok(area.split_vertically(height + fonts.px(4.0)).1)
}

/// Place `items` left to right, wrapping into rows; returns each item's (x, row) and the rows.
fn legend_layout<DB: DrawingBackend>(
    area: &DrawingArea<DB, Shift>,
    items: &[LegendItem],
    fonts: &Fonts,
) -> (Vec<(i32, i32)>, i32) {
    let (w, _) = area.dim_in_pixel();
    let style = text(fonts.tick, TEXT);
    let (pad, swatch, gap) = (fonts.px(14.0), fonts.px(40.0), fonts.px(30.0));
    let (mut x, mut row, mut placed) = (pad, 0, Vec::with_capacity(items.len()));
    for item in items {
        let width = swatch + fonts.px(8.0) + text_width(area, &item.label, &style);
        if x > pad && x + width > w as i32 - pad {
            x = pad;
            row += 1;
        }
        placed.push((x, row));
        x += width + gap;
    }
    (placed, if items.is_empty() { 0 } else { row + 1 })
}

/// Draw a legend strip for `items` at the top of `area`; return the area below it.
pub(crate) fn legend_strip<DB: DrawingBackend>(
    area: &DrawingArea<DB, Shift>,
    items: &[LegendItem],
    fonts: &Fonts,
) -> Result<DrawingArea<DB, Shift>, String> {
    let (placed, rows) = legend_layout(area, items, fonts);
    if rows == 0 {
        return Ok(area.clone());
    }
    let row_h = (fonts.tick * 1.5).round() as i32;
    let style = text(fonts.tick, TEXT).pos(Pos::new(HPos::Left, VPos::Center));
    let swatch_w = fonts.px(40.0);
    for (item, &(x, row)) in items.iter().zip(&placed) {
        let cy = row * row_h + row_h / 2;
        draw_swatch(area, item.swatch, (x, cy), swatch_w, fonts)?;
        area.draw_text(&item.label, &style, (x + swatch_w + fonts.px(8.0), cy)).map_err(de)?;
    }
    Ok(area.split_vertically(rows * row_h + fonts.px(8.0)).1)
}

/// Draw one swatch `w` px wide whose left end is at `(x, cy)`.
fn draw_swatch<DB: DrawingBackend>(
    area: &DrawingArea<DB, Shift>,
    swatch: Swatch,
    (x, cy): (i32, i32),
    w: i32,
    fonts: &Fonts,
) -> Result<(), String> {
    let half = fonts.px(9.0).max(3);
    match swatch {
        Swatch::Line(c, width) => {
            area.draw(&PathElement::new(vec![(x, cy), (x + w, cy)], c.stroke_width(width))).map_err(de)
        }
        Swatch::Dashed(c) => {
            let seg = (w / 5).max(2);
            for k in [0, 2, 4] {
                let x0 = x + k * seg;
                area.draw(&PathElement::new(vec![(x0, cy), (x0 + seg, cy)], c.stroke_width(3))).map_err(de)?;
            }
            Ok(())
        }
        Swatch::Fill(c, alpha) => {
            area.draw(&Rectangle::new([(x, cy - half), (x + w, cy + half)], c.mix(alpha).filled())).map_err(de)?;
            area.draw(&Rectangle::new([(x, cy - half), (x + w, cy + half)], GRID.stroke_width(1))).map_err(de)
        }
        Swatch::Point(c, m) => draw_marker(area, (x + w / 2, cy), m, fonts.px(7.0).max(2), c),
        Swatch::Tick(c) => {
            let x = x + w / 2;
            area.draw(&PathElement::new(vec![(x, cy - half - 2), (x, cy + half + 2)], c.stroke_width(5))).map_err(de)
        }
    }
}

/// Labels for horizontal lines at pixel rows `ys` (relative to `area`), drawn left-aligned at
/// column `x`, vertically centred on their line and pushed apart so none overlap.
pub(crate) fn side_labels<DB: DrawingBackend>(
    area: &DrawingArea<DB, Shift>,
    x: i32,
    labels: &[(i32, String, RGBColor)],
    fonts: &Fonts,
) -> Result<(), String> {
    let line_h = (fonts.tick * 1.15).round() as i32;
    let mut order: Vec<usize> = (0..labels.len()).collect();
    order.sort_by_key(|&i| labels[i].0);
    let mut last = i32::MIN / 2;
    for i in order {
        let (y, label, color) = &labels[i];
        let y = (*y).max(last + line_h);
        last = y;
        let style = bold(fonts.tick, *color).pos(Pos::new(HPos::Left, VPos::Center));
        area.draw_text(label, &style, (x, y)).map_err(de)?;
    }
    Ok(())
}

/// A centred note in an otherwise empty area (e.g. "no OOM in any run").
pub(crate) fn centred_note<DB: DrawingBackend>(
    area: &DrawingArea<DB, Shift>,
    note: &str,
    fonts: &Fonts,
) -> Result<(), String> {
    let (w, h) = area.dim_in_pixel();
    let style = text(fonts.label, MUTED).pos(Pos::new(HPos::Center, VPos::Center));
    area.draw_text(note, &style, (w as i32 / 2, h as i32 / 2)).map_err(de)
}

/// The offset of `chart`'s backend coordinates relative to `area`, to place labels in margins.
pub(crate) fn to_area<DB: DrawingBackend>(area: &DrawingArea<DB, Shift>, abs: (i32, i32)) -> (i32, i32) {
    let base = area.get_base_pixel();
    (abs.0 - base.0, abs.1 - base.1)
}

#[cfg(test)]
mod tests {
    use super::wrap;

    /// Ten pixels a character.
    fn w(s: &str) -> i32 {
        10 * s.chars().count() as i32
    }

    #[test]
    fn a_long_title_wraps_at_spaces_before_it_is_cut() {
        // 100 px: "aaaa bbbb" (90) fits, "aaaa bbbb cc" (120) does not.
        assert_eq!(wrap("aaaa bbbb cc dddd", 100, 2, w), ["aaaa bbbb", "cc dddd"]);
        assert_eq!(wrap("short", 100, 2, w), ["short"]);
        // Three lines' worth on two: the second is cut to 100 px with an ellipsis.
        assert_eq!(wrap("aaaa bbbb cccc dddd eeee ffff", 100, 2, w), ["aaaa bbbb", "cccc dddd…"]);
        // One word longer than a line.
        assert_eq!(wrap("abcdefghijklmno", 100, 1, w), ["abcdefghi…"]);
    }
}
