//! Charts tell the truth (issue 13 §4): the fan draws memory demand and shades what lies above
//! the limit (a proxy never holds it: it is OOMKilled), the heatmap's colour-bar label is not
//! clipped, and a long title wraps instead of losing its end.

use meshcap::plot::*;

use crate::plot::*;
use crate::util::tempdir;

const GI: f64 = 1024.0 * 1024.0 * 1024.0;

/// The shade above the limit: vermillion (213, 94, 0) at 15% over white.
const SHADE: [u8; 3] = [249, 231, 217];

#[test]
fn the_fan_shades_demand_above_the_limit_and_only_then() {
    let dir = tempdir();
    // The test fan rises from 300Mi to about 1.2Gi: above a 1Gi limit, below 4Gi.
    let (over, under) = (dir.path().join("over.png"), dir.path().join("under.png"));
    render_fan(&fan_chart(vec![45.0, 50.0]), &over, DEFAULT_SIZE).unwrap();
    render_fan(&FanChart { limit_bytes: 4.0 * GI, ..fan_chart(Vec::new()) }, &under, DEFAULT_SIZE).unwrap();
    // Below the legend strip (the legend has a swatch of the shade too).
    let body = (0.2, 1.0);
    let shaded = Image::open(&over).count_near_in(body, SHADE, 3);
    assert!(shaded > 20_000, "only {shaded} shaded pixels above a 1Gi limit");
    // (A few antialiased pixels of the vermillion limit label come near the shade's colour.)
    let stray = Image::open(&under).count_near_in((0.0, 1.0), SHADE, 3);
    assert!(stray < 500, "{stray} shaded pixels with nothing above the limit");
}

#[test]
fn the_colour_bar_label_is_not_clipped() {
    let dir = tempdir();
    let path = dir.path().join("heat.png");
    let chart = HeatmapChart {
        value_label: "margin, Mi (negative: over)".into(),
        cells: heatmap_chart().cells.iter().map(|c| c.map(|v| -30_000.0 + v * 10.0)).collect(),
        ..heatmap_chart()
    };
    render_heatmap(&chart, &path, DEFAULT_SIZE).unwrap();
    let img = Image::open(&path);
    // Glyphs touching the right edge are glyphs cut by it.
    let edge = (img.width - 6..img.width)
        .flat_map(|x| (0..img.height).map(move |y| (x, y)))
        .filter(|&(x, y)| img.pixel(x, y).iter().all(|&c| c < 200))
        .count();
    assert_eq!(edge, 0, "{edge} dark pixels within 6 px of the right edge");
}

#[test]
fn a_long_title_wraps_onto_a_second_line() {
    let dir = tempdir();
    let (short, long) = (dir.path().join("short.png"), dir.path().join("long.png"));
    render_fan(&fan_chart(Vec::new()), &short, DEFAULT_SIZE).unwrap();
    let title = "Simulated gateway memory demand, scenario 1831 of gc-policies.toml (200 paths): updates_per_day=100, max_non_active_revisions=1000, scope=namespace, transient=1, limit=2Gi";
    render_fan(&FanChart { title: title.into(), ..fan_chart(Vec::new()) }, &long, DEFAULT_SIZE).unwrap();
    // Dark title glyphs in the band where a second title line sits (below the first one).
    let second_line = (0.045, 0.075);
    let ink = |p: [u8; 3]| p.iter().all(|&c| c < 60);
    let (s, l) = (Image::open(&short).count(second_line, ink), Image::open(&long).count(second_line, ink));
    assert!(l > s + 500, "no second title line: {l} dark pixels against {s} for a short title");
}
