//! Charts: every renderer writes a PNG of the asked size with a title, visible data and the
//! expected colours; bad sizes, unwritable folders, empty, constant and non-finite data fail
//! cleanly or draw what exists, never panic.
//!
//! Colour checks use the blend of a palette colour over the white background, computed as
//! `alpha * colour + (1 - alpha) * 255` per channel (Okabe-Ito and viridis values from
//! `src/plot/style.rs`), with a tolerance of a few levels for rounding.

use std::collections::HashSet;
use std::path::Path;

use meshcap::plot::*;

use crate::util::tempdir;

pub(crate) const MI: f64 = 1024.0 * 1024.0;
pub(crate) const GI: f64 = 1024.0 * MI;

/// Prediction band: Okabe-Ito sky blue (86, 180, 233) at alpha 0.25 over white.
pub(crate) const PI_BAND: [u8; 3] = [213, 236, 250];
/// Okabe-Ito vermillion, limit lines.
pub(crate) const VERMILLION: [u8; 3] = [213, 94, 0];
/// Okabe-Ito blue and orange, the first two series.
pub(crate) const BLUE: [u8; 3] = [0, 114, 178];
pub(crate) const ORANGE: [u8; 3] = [230, 159, 0];
/// Viridis at 0 and 1.
pub(crate) const VIRIDIS_LOW: [u8; 3] = [68, 1, 84];
pub(crate) const VIRIDIS_HIGH: [u8; 3] = [253, 231, 37];
/// Cells without a value.
pub(crate) const MISSING: [u8; 3] = [200, 200, 200];

/// A decoded PNG as 8-bit RGB.
pub(crate) struct Image {
    pub(crate) width: u32,
    pub(crate) height: u32,
    pub(crate) rgb: Vec<u8>,
}

impl Image {
    pub(crate) fn open(path: &Path) -> Image {
        let decoder = png::Decoder::new(std::fs::File::open(path).expect("png exists"));
        let mut reader = decoder.read_info().expect("png header");
        let mut buf = vec![0; reader.output_buffer_size()];
        let info = reader.next_frame(&mut buf).expect("png data");
        assert_eq!(info.bit_depth, png::BitDepth::Eight);
        let channels = match info.color_type {
            png::ColorType::Rgb => 3,
            png::ColorType::Rgba => 4,
            other => panic!("unexpected colour type {other:?}"),
        };
        let rgb = buf[..info.buffer_size()].chunks(channels).flat_map(|p| [p[0], p[1], p[2]]).collect();
        Image { width: info.width, height: info.height, rgb }
    }

    pub(crate) fn pixel(&self, x: u32, y: u32) -> [u8; 3] {
        let i = 3 * (y as usize * self.width as usize + x as usize);
        [self.rgb[i], self.rgb[i + 1], self.rgb[i + 2]]
    }

    /// Pixels of rows `rows` (as fractions of the height) matching `pred`.
    pub(crate) fn count(&self, rows: (f64, f64), pred: impl Fn([u8; 3]) -> bool) -> usize {
        let (y0, y1) = ((rows.0 * self.height as f64) as u32, (rows.1 * self.height as f64) as u32);
        (y0..y1).flat_map(|y| (0..self.width).map(move |x| (x, y))).filter(|&(x, y)| pred(self.pixel(x, y))).count()
    }

    /// Pixels within `tol` levels of `rgb` on every channel.
    pub(crate) fn count_near(&self, rgb: [u8; 3], tol: u8) -> usize {
        self.count_near_in((0.0, 1.0), rgb, tol)
    }

    /// Like `count_near`, in rows `rows` only (to leave out legend swatches of the same colour).
    pub(crate) fn count_near_in(&self, rows: (f64, f64), rgb: [u8; 3], tol: u8) -> usize {
        self.count(rows, |p| (0..3).all(|c| p[c].abs_diff(rgb[c]) <= tol))
    }

    pub(crate) fn distinct_colours(&self, rows: (f64, f64)) -> usize {
        let (y0, y1) = ((rows.0 * self.height as f64) as u32, (rows.1 * self.height as f64) as u32);
        (y0..y1).flat_map(|y| (0..self.width).map(move |x| self.pixel(x, y))).collect::<HashSet<_>>().len()
    }
}

/// Assert the common properties of every chart: size, a title, a drawn body.
pub(crate) fn assert_chart(path: &Path, size: (u32, u32)) -> Image {
    let img = Image::open(path);
    assert_eq!((img.width, img.height), size, "{}", path.display());
    // Title text: dark glyph pixels in the top 6% of the image.
    let title_ink = img.count((0.0, 0.06), |p| p.iter().all(|&c| c < 90));
    assert!(title_ink > 150, "{}: only {title_ink} dark pixels in the title strip", path.display());
    // The body is not blank: many colours (antialiased text, bands, markers) and ink.
    let body = (0.15, 1.0);
    let colours = img.distinct_colours(body);
    assert!(colours > 40, "{}: only {colours} distinct colours below the title", path.display());
    let inked = img.count(body, |p| p != [255, 255, 255]);
    let total = (img.width as f64 * img.height as f64 * 0.85) as usize;
    assert!(inked * 50 > total, "{}: only {inked} of {total} pixels drawn", path.display());
    img
}

/// Memory = 50Mi + 0.75Mi x revisions for 0..=2000 step 200, bands ±4Mi (CI) and ±10Mi (PI),
/// limits 1Gi and 2Gi, an OOM between 1200 and 1400 revisions at 1Gi.
pub(crate) fn fit_chart() -> FitChart {
    let line = |r: f64| 50.0 * MI + 0.75 * MI * r;
    let cross = |l: f64| (l - 50.0 * MI) / (0.75 * MI);
    FitChart {
        title: "istio-proxy memory, model m1 (test data)".into(),
        subtitle: "memory = 50Mi + 0.75Mi × revisions".into(),
        observations: (0..=10).map(|i| 200.0 * i as f64).map(|r| (r, line(r) + (r / 200.0 % 3.0 - 1.0) * MI)).collect(),
        oom: vec![OomBracket { low: 1200.0, high: 1400.0, limit_bytes: GI }],
        curve: (0..=60)
            .map(|i| 50.0 * i as f64)
            .map(|x| {
                let m = line(x);
                CurvePoint {
                    x,
                    mean: m,
                    ci_low: m - 4.0 * MI,
                    ci_high: m + 4.0 * MI,
                    pi_low: m - 10.0 * MI,
                    pi_high: m + 10.0 * MI,
                }
            })
            .collect(),
        limits: vec![
            LimitMarker {
                limit_bytes: GI,
                label: "limit 1Gi".into(),
                crossing: Some(cross(GI)),
                safe: Some(cross(GI) - 13.0),
            },
            LimitMarker {
                limit_bytes: 2.0 * GI,
                label: "limit 2Gi".into(),
                crossing: Some(cross(2.0 * GI)),
                safe: None,
            },
        ],
        ports_per_revision: 8.0,
    }
}

pub(crate) fn residual_chart() -> ResidualChart {
    ResidualChart {
        title: "Residuals, model m1 (test data)".into(),
        points: (0..=10)
            .map(|i| ResidualPoint {
                revisions: 200.0 * i as f64,
                fitted: (50.0 + 150.0 * i as f64) * MI,
                residual: (i % 3) as f64 * MI - MI,
                sd: 0.0,
            })
            .collect(),
        sigma: 0.9 * MI,
        own_lines: false,
    }
}

pub(crate) fn safe_chart() -> SafeLimitChart {
    let limits = [256.0, 512.0, 1024.0, 2048.0, 4096.0].map(|m| m * MI);
    let series = |label: &str, per_revision: f64| SafeSeries {
        label: label.into(),
        points: limits.iter().map(|&l| (l, Some((l - 50.0 * MI) / per_revision).filter(|s| *s > 0.0))).collect(),
    };
    SafeLimitChart {
        title: "Safe revisions by limit, model m1 (test data)".into(),
        series: vec![series("no Sidecar", 0.75 * MI), series("Sidecar: namespace", 0.2 * MI)],
        oom_bracket: Some(OomBracket { low: 1200.0, high: 1400.0, limit_bytes: GI }),
    }
}

pub(crate) fn scope_chart() -> ScopeChart {
    let mut bars = Vec::new();
    for (i, proxy) in ["team-a", "team-b", "istio-ingressgateway"].iter().enumerate() {
        for (scope, share) in [("no Sidecar", 1.0), ("namespace", 0.3)] {
            let predicted = (500.0 + 200.0 * i as f64) * MI * share;
            bars.push(ScopeBar {
                proxy: proxy.to_string(),
                scope: scope.into(),
                predicted,
                low: predicted - 20.0 * MI,
                high: predicted + 20.0 * MI,
                limit: None,
            });
        }
    }
    ScopeChart { title: "Memory per proxy at 1,200 revisions, model m1 (test data)".into(), limit_bytes: GI, bars }
}

pub(crate) fn heatmap_chart() -> HeatmapChart {
    let xs = ["256Mi", "512Mi", "1Gi", "2Gi"];
    let ys = ["no Sidecar", "namespace", "namespace + gateways"];
    let cells = (0..ys.len())
        .flat_map(|y| {
            (0..xs.len()).map(move |x| if x == 0 && y == 0 { None } else { Some((x * 3 + y) as f64 * 100.0) })
        })
        .collect();
    HeatmapChart {
        title: "Safe revisions by limit and scope (test data)".into(),
        x_label: "proxy memory limit".into(),
        y_label: "Sidecar scope".into(),
        x_values: xs.map(String::from).to_vec(),
        y_values: ys.map(String::from).to_vec(),
        cells,
        value_label: "safe revisions".into(),
    }
}

pub(crate) fn fan_chart(first_oom_days: Vec<f64>) -> FanChart {
    let days: Vec<f64> = (0..=60).map(f64::from).collect();
    let at = |z: f64| days.iter().map(|d| 300.0 * MI + d * (10.0 + 3.0 * z) * MI).collect::<Vec<_>>();
    FanChart {
        title: "Simulated memory, scenario daily (test data)".into(),
        p5: at(-1.6),
        p25: at(-0.7),
        p50: at(0.0),
        p75: at(0.7),
        p95: at(1.6),
        days,
        limit_bytes: GI,
        first_oom_days,
    }
}

pub(crate) fn table() -> Table {
    Table {
        title: "Key numbers".into(),
        rows: vec![
            ("slope".into(), "0.75Mi per revision".into()),
            ("crossing at 1Gi".into(), "1,299 revisions".into()),
        ],
    }
}

#[test]
pub(crate) fn fit_chart_draws_bands_limits_and_title() {
    let dir = tempdir();
    let path = dir.path().join("fit.png");
    render_fit(&fit_chart(), &path, DEFAULT_SIZE).unwrap();
    let img = assert_chart(&path, DEFAULT_SIZE);
    // Below the legend (whose swatch has the same colour).
    let band = img.count_near_in((0.2, 1.0), PI_BAND, 3);
    assert!(band > 600, "prediction band colour {PI_BAND:?} on only {band} pixels");
    let limits = img.count_near(VERMILLION, 3);
    assert!(limits > 2000, "limit lines: only {limits} vermillion pixels");
}

#[test]
pub(crate) fn residual_chart_draws_two_panels_with_sigma_lines() {
    let dir = tempdir();
    let path = dir.path().join("residuals.png");
    render_residuals(&residual_chart(), &path, DEFAULT_SIZE).unwrap();
    let img = assert_chart(&path, DEFAULT_SIZE);
    // ±2σ lines in both panels: dashed vermillion on each half of the image.
    let half = img.width / 2;
    let in_half = |left: bool| {
        (0..img.height)
            .flat_map(|y| (0..img.width).map(move |x| (x, y)))
            .filter(|&(x, y)| (x < half) == left && img.pixel(x, y) == VERMILLION)
            .count()
    };
    assert!(in_half(true) > 500 && in_half(false) > 500, "±2σ lines missing from a panel");
}

#[test]
pub(crate) fn safe_limit_chart_draws_one_line_per_scope() {
    let dir = tempdir();
    let path = dir.path().join("safe.png");
    render_safe_limits(&safe_chart(), &path, DEFAULT_SIZE).unwrap();
    let img = assert_chart(&path, DEFAULT_SIZE);
    assert!(img.count_near(BLUE, 2) > 500, "first series (blue) missing");
    assert!(img.count_near(ORANGE, 2) > 500, "second series (orange) missing");
    assert!(img.count_near(VERMILLION, 2) > 50, "OOM bracket missing");
}

#[test]
pub(crate) fn scope_chart_draws_grouped_bars_and_limit() {
    let dir = tempdir();
    let path = dir.path().join("scope.png");
    render_scope(&scope_chart(), &path, DEFAULT_SIZE).unwrap();
    let img = assert_chart(&path, DEFAULT_SIZE);
    // Bars are large solid areas in the scope colours.
    assert!(img.count_near(BLUE, 0) > 20_000, "no-Sidecar bars missing");
    assert!(img.count_near(ORANGE, 0) > 5_000, "namespace bars missing");
    assert!(img.count_near(VERMILLION, 2) > 1000, "limit line missing");
}

#[test]
pub(crate) fn heatmap_spans_viridis_and_marks_missing_cells() {
    let dir = tempdir();
    let path = dir.path().join("heatmap.png");
    render_heatmap(&heatmap_chart(), &path, DEFAULT_SIZE).unwrap();
    let img = assert_chart(&path, DEFAULT_SIZE);
    // The lowest and highest cells take the two ends of the colormap (and so does the bar).
    assert!(img.count_near(VIRIDIS_LOW, 2) > 5_000, "lowest value not drawn in viridis' dark end");
    assert!(img.count_near(VIRIDIS_HIGH, 2) > 5_000, "highest value not drawn in viridis' yellow end");
    assert!(img.count_near(MISSING, 0) > 5_000, "missing cell not grey");
}

#[test]
pub(crate) fn fan_chart_draws_histogram_only_when_runs_hit_oom() {
    let dir = tempdir();
    let with = dir.path().join("fan.png");
    let without = dir.path().join("fan-empty.png");
    render_fan(&fan_chart((0..50).map(|i| 40.0 + (i % 10) as f64).collect()), &with, DEFAULT_SIZE).unwrap();
    render_fan(&fan_chart(Vec::new()), &without, DEFAULT_SIZE).unwrap();
    let (with, without) = (assert_chart(&with, DEFAULT_SIZE), assert_chart(&without, DEFAULT_SIZE));
    assert!(with.count_near_in((0.2, 1.0), PI_BAND, 3) > 20_000, "5–95% band missing");
    // Orange is the histogram (and its small legend swatch).
    let (a, b) = (with.count_near(ORANGE, 0), without.count_near(ORANGE, 0));
    assert!(a > 10_000 && b < 2_000, "histogram pixels: {a} with OOM days, {b} without");
}

#[test]
pub(crate) fn report_composes_all_panels_with_or_without_scope() {
    let dir = tempdir();
    for scope in [Some(scope_chart()), None] {
        let path = dir.path().join(format!("report-{}.png", scope.is_some()));
        // Bands three times wider than in `fit_chart`, to be seen in a quarter-size panel.
        let mut fit = fit_chart();
        for c in &mut fit.curve {
            (c.ci_low, c.ci_high, c.pi_low, c.pi_high) =
                (c.mean - 12.0 * MI, c.mean + 12.0 * MI, c.mean - 30.0 * MI, c.mean + 30.0 * MI);
        }
        let (residuals, safe) = (residual_chart(), safe_chart());
        render_report(
            "meshcap report, model m1 (test data)",
            &table(),
            &fit,
            &residuals,
            &safe,
            scope.as_ref(),
            &path,
            REPORT_SIZE,
        )
        .unwrap();
        let img = assert_chart(&path, REPORT_SIZE);
        // Below the fit panel's legend.
        let band = img.count_near_in((0.25, 1.0), PI_BAND, 3);
        assert!(band > 1500, "fit panel bands: {band} pixels");
        // The scope panel's bars only when there is a scope chart.
        let bars = img.count_near(BLUE, 0);
        assert_eq!(bars > 20_000, scope.is_some(), "{bars} pixels of bar blue");
    }
}

#[test]
pub(crate) fn table_renders() {
    let dir = tempdir();
    let path = dir.path().join("table.png");
    render_table(&table(), &path, (800, 300)).unwrap();
    let img = Image::open(&path);
    assert_eq!((img.width, img.height), (800, 300));
    assert!(img.count((0.0, 1.0), |p| p.iter().all(|&c| c < 90)) > 500, "no text drawn");
}
