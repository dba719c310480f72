//! The look shared by every chart: the embedded font, the palettes, text sizes.
//!
//! The font is DejaVu Sans from the `dejavu` crate, registered with plotters' `ab_glyph` text
//! support under the family every chart asks for, so no system font lookup ever happens.
//! Lines and bars use the Okabe-Ito palette (distinguishable by colour-blind readers); each
//! series also gets its own marker so the charts survive greyscale printing.

use std::sync::Once;

use plotters::prelude::*;
use plotters::style::{register_font, FontDesc, FontFamily, FontStyle, RGBColor};

/// The one family every chart uses; [`ensure_fonts`] registers DejaVu Sans under it.
pub(crate) const FAMILY: FontFamily<'static> = FontFamily::SansSerif;

static REGISTER: Once = Once::new();

/// Register the embedded font with plotters, once per process.
pub(crate) fn ensure_fonts() {
    REGISTER.call_once(|| {
        // The bytes are a TTF shipped inside the `dejavu` crate, so registration cannot fail at
        // run time; if it ever did, drawing text reports `FontUnavailable` as a render error.
        let _ = register_font(FAMILY.as_str(), FontStyle::Normal, dejavu::sans::regular());
        let _ = register_font(FAMILY.as_str(), FontStyle::Bold, dejavu::sans::bold());
    });
}

/// Okabe-Ito black.
pub(crate) const INK: RGBColor = RGBColor(0, 0, 0);
/// Okabe-Ito orange.
pub(crate) const ORANGE: RGBColor = RGBColor(230, 159, 0);
/// Okabe-Ito sky blue.
pub(crate) const SKY_BLUE: RGBColor = RGBColor(86, 180, 233);
/// Okabe-Ito bluish green.
pub(crate) const GREEN: RGBColor = RGBColor(0, 158, 115);
/// Okabe-Ito blue.
pub(crate) const BLUE: RGBColor = RGBColor(0, 114, 178);
/// Okabe-Ito vermillion.
pub(crate) const VERMILLION: RGBColor = RGBColor(213, 94, 0);
/// Okabe-Ito reddish purple.
pub(crate) const PURPLE: RGBColor = RGBColor(204, 121, 167);
/// Okabe-Ito yellow.
pub(crate) const YELLOW: RGBColor = RGBColor(240, 228, 66);

/// Series colours in the order series receive them; the light yellow comes last.
pub(crate) const SERIES: [RGBColor; 8] = [BLUE, ORANGE, GREEN, PURPLE, SKY_BLUE, VERMILLION, INK, YELLOW];

/// Body text and axis labels.
pub(crate) const TEXT: RGBColor = RGBColor(30, 30, 30);
/// Secondary text (subtitles, notes).
pub(crate) const MUTED: RGBColor = RGBColor(90, 90, 90);
/// Grid lines.
pub(crate) const GRID: RGBColor = RGBColor(225, 225, 225);
/// Observed data points.
pub(crate) const POINTS: RGBColor = RGBColor(40, 40, 40);
/// Cells and bars without a value.
pub(crate) const MISSING: RGBColor = RGBColor(200, 200, 200);

/// Alpha of the prediction band (the wider, lighter one).
pub(crate) const PI_ALPHA: f64 = 0.25;
/// Alpha of the confidence band of the mean, drawn over the prediction band.
pub(crate) const CI_ALPHA: f64 = 0.35;

/// The colour of series `i`, cycling through [`SERIES`].
pub(crate) fn series_color(i: usize) -> RGBColor {
    SERIES[i % SERIES.len()]
}

/// Matplotlib's viridis sampled at nine evenly spaced points (t = 0, 1/8, ..., 1).
const VIRIDIS: [(u8, u8, u8); 9] = [
    (68, 1, 84),
    (72, 40, 120),
    (62, 73, 137),
    (49, 104, 142),
    (38, 130, 142),
    (31, 158, 137),
    (53, 183, 121),
    (110, 206, 88),
    (253, 231, 37),
];

/// Viridis at `t` in [0, 1] (clamped; NaN maps to the low end), linearly interpolated.
pub(crate) fn viridis(t: f64) -> RGBColor {
    let t = if t.is_nan() { 0.0 } else { t.clamp(0.0, 1.0) };
    let pos = t * (VIRIDIS.len() - 1) as f64;
    let i = (pos.floor() as usize).min(VIRIDIS.len() - 2);
    let f = pos - i as f64;
    let (a, b) = (VIRIDIS[i], VIRIDIS[i + 1]);
    let mix = |p: u8, q: u8| (p as f64 + (q as f64 - p as f64) * f).round() as u8;
    RGBColor(mix(a.0, b.0), mix(a.1, b.1), mix(a.2, b.2))
}

/// Whether black text reads better than white on `c` (relative luminance above ~0.4).
pub(crate) fn is_light(c: RGBColor) -> bool {
    0.2126 * c.0 as f64 + 0.7152 * c.1 as f64 + 0.0722 * c.2 as f64 > 110.0
}

/// Point sizes of the text of one chart, scaled with the area it is drawn on.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Fonts {
    /// Scale relative to a 1600x1000 chart.
    pub scale: f64,
    pub title: f64,
    pub subtitle: f64,
    pub label: f64,
    pub tick: f64,
    pub note: f64,
}

impl Fonts {
    /// Sizes for an area of `(width, height)` pixels: 32px titles and 22px labels at 1600x1000,
    /// shrinking gently (fourth root of the area) so panels of a composite stay readable.
    pub fn for_size((w, h): (u32, u32)) -> Fonts {
        let scale = ((w as f64 * h as f64) / 1.6e6).powf(0.25).clamp(0.45, 1.6);
        Fonts {
            scale,
            title: 32.0 * scale,
            subtitle: 22.0 * scale,
            label: 22.0 * scale,
            tick: 20.0 * scale,
            note: 18.0 * scale,
        }
    }

    /// `px` at 1600x1000, scaled like the text.
    pub fn px(&self, px: f64) -> i32 {
        (px * self.scale).round() as i32
    }
}

/// Regular text of `size` px.
pub(crate) fn text(size: f64, color: RGBColor) -> TextStyle<'static> {
    with_color(FontDesc::new(FAMILY, size, FontStyle::Normal), color)
}

/// Bold text of `size` px.
pub(crate) fn bold(size: f64, color: RGBColor) -> TextStyle<'static> {
    with_color(FontDesc::new(FAMILY, size, FontStyle::Bold), color)
}

fn with_color(font: FontDesc<'static>, color: RGBColor) -> TextStyle<'static> {
    let mut style = TextStyle::from(font);
    style.color = color.to_backend_color();
    style
}

/// A plotters drawing error as the message the renderers wrap into [`crate::Error::Render`].
pub(crate) fn de<E: std::fmt::Display>(e: E) -> String {
    e.to_string()
}

/// Marker shapes, one per series, so series differ in greyscale too.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Marker {
    Circle,
    Triangle,
    Square,
    Diamond,
    Cross,
}

/// The marker of series `i`.
pub(crate) fn series_marker(i: usize) -> Marker {
    [Marker::Circle, Marker::Triangle, Marker::Square, Marker::Diamond, Marker::Cross][i % 5]
}

/// Draw `marker` of radius `r` px centred on `at`, filled with `color` and outlined in black.
pub(crate) fn draw_marker<DB: DrawingBackend, CT: CoordTranslate>(
    area: &DrawingArea<DB, CT>,
    at: CT::From,
    marker: Marker,
    r: i32,
    color: RGBColor,
) -> Result<(), String>
where
    CT::From: Clone + 'static,
{
    let fill = color.filled();
    let edge = ShapeStyle::from(&INK).stroke_width(1);
    let base = || EmptyElement::<CT::From, DB>::at(at.clone());
    match marker {
        Marker::Circle => {
            area.draw(&(base() + Circle::new((0, 0), r, fill))).map_err(de)?;
            area.draw(&(base() + Circle::new((0, 0), r, edge))).map_err(de)
        }
        Marker::Square => {
            area.draw(&(base() + Rectangle::new([(-r, -r), (r, r)], fill))).map_err(de)?;
            area.draw(&(base() + Rectangle::new([(-r, -r), (r, r)], edge))).map_err(de)
        }
        Marker::Triangle | Marker::Diamond => {
            let pts = if marker == Marker::Triangle {
                vec![(0, -r - 1), (r + 1, r), (-r - 1, r)]
            } else {
                vec![(0, -r - 2), (r + 1, 0), (0, r + 2), (-r - 1, 0)]
            };
            let mut outline = pts.clone();
            outline.push(pts[0]);
            area.draw(&(base() + Polygon::new(pts, fill))).map_err(de)?;
            area.draw(&(base() + PathElement::new(outline, edge))).map_err(de)
        }
        Marker::Cross => {
            let s = ShapeStyle::from(&color).stroke_width(3);
            area.draw(&(base() + PathElement::new(vec![(-r, -r), (r, r)], s))).map_err(de)?;
            area.draw(&(base() + PathElement::new(vec![(-r, r), (r, -r)], s))).map_err(de)
        }
    }
}
