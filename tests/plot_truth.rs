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

/// A fleet whose proxies each have their own offset and slope: its residual chart is drawn from
/// each proxy's own line, so about 5% of the residuals lie past +-2 sigma as the chart says
/// (from the pooled line 20-30% did: every proxy's offset and slope counted as noise).
#[test]
fn a_group_fits_residuals_are_from_each_proxys_own_line() {
    use rand::SeedableRng;
    use rand_distr::{Distribution, Normal};
    const MI: f64 = 1024.0 * 1024.0;
    let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(19_49);
    let n = |sd: f64| Normal::new(0.0, sd).unwrap();
    let (offsets, slopes, levels, noise) = (n(6.0 * MI), n(0.1), n(2.0 * MI), n(1.0 * MI));
    let mut text = String::from("time,proxy,ports,memory\n");
    for p in 0..12 {
        let (offset, slope) = (offsets.sample(&mut rng), 100e3 * (1.0 + slopes.sample(&mut rng)));
        for level in 0..6 {
            let ports = 100.0 + 150.0 * level as f64 + 3.0 * p as f64;
            let shift = levels.sample(&mut rng);
            for k in 0..20 {
                let t = 1.767e9 + 300.0 * (20 * level + k) as f64;
                let m = 6e7 + offset + slope * ports + shift + noise.sample(&mut rng);
                text.push_str(&format!("{t},ns/p{p:02},{ports},{m:.0}\n"));
            }
        }
    }
    let dir = tempdir();
    let data = crate::util::write(dir.path(), "slopes.csv", &text);
    let model_path = dir.path().join("m.json");
    crate::util::meshcap().arg("fit").arg(&data).arg("-o").arg(&model_path).assert().success();
    let model = meshcap::model::store::load(&model_path).unwrap();
    assert!(model.errors.slope.is_some(), "auto kept one slope: {}", model.errors.label());
    let series = meshcap::series::Series::load(&data).unwrap();
    let chart = meshcap::report::charts::residual_chart(&model, &series).unwrap();
    assert!(chart.own_lines);
    let beyond = |sigma: f64, r: &dyn Fn(&ResidualPoint) -> f64| {
        chart.points.iter().filter(|p| r(p).abs() > 2.0 * sigma).count() as f64 / chart.points.len() as f64
    };
    let own = beyond(chart.sigma, &|p| p.residual);
    // The truth within a proxy: level offsets 2Mi and readings 1Mi, sd sqrt(5) Mi.
    let truth = 5.0f64.sqrt() * MI;
    assert!((chart.sigma / truth - 1.0).abs() < 0.25, "sigma {} against {truth}", chart.sigma);
    assert!((0.01..=0.08).contains(&own), "{own} of residuals past 2 sigma from the proxies' own lines");
    // The pooled line's residuals against the fit's sigma: what the chart drew before.
    let pooled = beyond(model.residual_std_error, &|p| {
        let row = model.design_row(|c| if c == "ports" { p.revisions * 8.0 } else { 0.0 });
        p.residual + p.fitted - model.predict_row(&row).mean
    });
    eprintln!(
        "past 2 sigma: own lines {own:.3} (sigma {:.2}Mi, truth {:.2}Mi), pooled line {pooled:.3}",
        chart.sigma / MI,
        truth / MI
    );
    assert!(pooled > 0.12, "the pooled line's residuals past 2 sigma: {pooled}");
}
