//! Key numbers (fitted slope, crossing, safe counts...) as a compact two-column table that
//! flows into as many side-by-side columns as the width allows.

use std::path::Path;

use plotters::coord::Shift;
use plotters::prelude::*;
use plotters::style::text_anchor::{HPos, Pos, VPos};

use super::data::Table;
use super::layout::{fit_text, text_width};
use super::render::render_png;
use super::style::{bold, de, ensure_fonts, text, Fonts, INK, MUTED, TEXT};

/// Alternate row shading.
const STRIPE: RGBColor = RGBColor(243, 243, 243);

/// Render `table` to a PNG at `path` of `size` pixels.
pub fn render_table(table: &Table, path: &Path, size: (u32, u32)) -> crate::Result<()> {
    render_png(path, size, |area| draw_table(area, table))
}

/// Draw `table` onto `area`, with text sized for the area.
pub fn draw_table<DB: DrawingBackend>(area: &DrawingArea<DB, Shift>, table: &Table) -> Result<(), String> {
    ensure_fonts();
    area.fill(&WHITE).map_err(de)?;
    draw_table_with(area, table, &Fonts::for_size(area.dim_in_pixel()))
}

/// How the rows are laid out.
struct Layout {
    rows_per_column: usize,
    key_w: i32,
    column_w: i32,
    line_h: i32,
    heading_h: i32,
    pad: i32,
}

fn layout<DB: DrawingBackend>(area: &DrawingArea<DB, Shift>, table: &Table, fonts: &Fonts) -> Layout {
    let (w, _) = area.dim_in_pixel();
    let key_style = text(fonts.label, MUTED);
    let value_style = bold(fonts.label, TEXT);
    let key_w = table.rows.iter().map(|(k, _)| text_width(area, k, &key_style)).max().unwrap_or(0);
    let value_w = table.rows.iter().map(|(_, v)| text_width(area, v, &value_style)).max().unwrap_or(0);
    let (pad, gap) = (fonts.px(14.0), fonts.px(24.0));
    let column_w = key_w + gap + value_w + 2 * gap;
    let columns = (((w as i32 - 2 * pad + 2 * gap) / column_w.max(1)) as usize).clamp(1, table.rows.len().max(1));
    let rows_per_column = table.rows.len().div_ceil(columns);
    // Spread the columns over the whole width when there is room to spare.
    let column_w = column_w.max((w as i32 - 2 * pad) / columns as i32);
    let heading_h = if table.title.is_empty() { 0 } else { (fonts.label * 1.8).round() as i32 };
    Layout { rows_per_column, key_w, column_w, line_h: (fonts.label * 1.55).round() as i32, heading_h, pad }
}

/// The height `table` needs when drawn across `area` with `fonts`.
pub(crate) fn table_height<DB: DrawingBackend>(area: &DrawingArea<DB, Shift>, table: &Table, fonts: &Fonts) -> i32 {
    let l = layout(area, table, fonts);
    2 * l.pad + l.heading_h + l.rows_per_column as i32 * l.line_h
}

/// Draw `table` with the given text sizes (the report passes larger ones when space allows).
pub(crate) fn draw_table_with<DB: DrawingBackend>(
    area: &DrawingArea<DB, Shift>,
    table: &Table,
    fonts: &Fonts,
) -> Result<(), String> {
    let l = layout(area, table, fonts);
    if !table.title.is_empty() {
        area.draw_text(&table.title, &bold(fonts.label * 1.1, INK), (l.pad, l.pad)).map_err(de)?;
    }
    let key_style = text(fonts.label, MUTED).pos(Pos::new(HPos::Left, VPos::Center));
    let value_style = bold(fonts.label, TEXT).pos(Pos::new(HPos::Left, VPos::Center));
    let value_max = l.column_w - l.key_w - fonts.px(48.0);
    for (i, (key, value)) in table.rows.iter().enumerate() {
        let (col, row) = ((i / l.rows_per_column) as i32, (i % l.rows_per_column) as i32);
        let x = l.pad + col * l.column_w;
        let y = l.pad + l.heading_h + row * l.line_h;
        if row % 2 == 0 {
            let stripe = [(x - fonts.px(6.0), y), (x + l.column_w - fonts.px(24.0), y + l.line_h)];
            area.draw(&Rectangle::new(stripe, STRIPE.filled())).map_err(de)?;
        }
        let cy = y + l.line_h / 2;
        area.draw_text(key, &key_style, (x, cy)).map_err(de)?;
        let value = fit_text(area, value, &value_style, value_max);
        area.draw_text(&value, &value_style, (x + l.key_w + fonts.px(24.0), cy)).map_err(de)?;
    }
    Ok(())
}
