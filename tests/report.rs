//! `meshcap report` and `meshcap plot` end to end: real PNGs decoded and checked.

use std::path::Path;

use crate::util::{meshcap, tempdir, write};

/// Decode a PNG into (width, height, RGB bytes).
pub(crate) fn decode(path: &Path) -> (u32, u32, Vec<u8>) {
    let decoder = png::Decoder::new(std::fs::File::open(path).unwrap_or_else(|e| panic!("{}: {e}", path.display())));
    let mut reader = decoder.read_info().unwrap();
    let mut buf = vec![0; reader.output_buffer_size()];
    let info = reader.next_frame(&mut buf).unwrap();
    let channels = info.color_type.samples();
    let rgb: Vec<u8> = buf[..info.buffer_size()].chunks(channels).flat_map(|p| [p[0], p[1], p[2]]).collect();
    (info.width, info.height, rgb)
}

/// Distinct colours and dark pixels in a region (fractions of the image).
fn region_stats(img: &(u32, u32, Vec<u8>), x0: f64, x1: f64, y0: f64, y1: f64) -> (usize, usize) {
    let (w, h, px) = img;
    let mut colours = std::collections::HashSet::new();
    let mut dark = 0;
    for y in (y0 * *h as f64) as u32..(y1 * *h as f64) as u32 {
        for x in (x0 * *w as f64) as u32..(x1 * *w as f64) as u32 {
            let i = ((y * w + x) * 3) as usize;
            let c = (px[i], px[i + 1], px[i + 2]);
            colours.insert(c);
            if (c.0 as u32 + c.1 as u32 + c.2 as u32) < 150 {
                dark += 1;
            }
        }
    }
    (colours.len(), dark)
}

#[test]
fn report_writes_decodable_pngs_and_markdown_without_system_fonts() {
    let dir = tempdir();
    let empty = write(dir.path(), "fonts.conf", "");
    let out = meshcap()
        .args(["report", "--out"])
        .arg(dir.path().join("plots"))
        .env("FONTCONFIG_FILE", &empty)
        .env("FONTCONFIG_PATH", dir.path())
        .assert()
        .success()
        .get_output()
        .stdout
        .clone();
    let printed = String::from_utf8(out).unwrap();
    for name in ["report.png", "fit.png", "residuals.png", "safe-limits.png", "scope.png", "report.md"] {
        let p = dir.path().join("plots").join(name);
        assert!(p.exists(), "{name} missing");
        assert!(printed.contains(name), "{name} not reported in {printed}");
    }
    let composite = decode(&dir.path().join("plots/report.png"));
    assert_eq!((composite.0, composite.1), (2400, 1600));
    for name in ["fit.png", "residuals.png", "safe-limits.png", "scope.png"] {
        let img = decode(&dir.path().join("plots").join(name));
        assert_eq!((img.0, img.1), (1600, 1000), "{name}");
        let (colours, _) = region_stats(&img, 0.1, 0.9, 0.15, 0.85);
        assert!(colours > 20, "{name}: plot area looks blank ({colours} colours)");
        let (_, dark) = region_stats(&img, 0.0, 1.0, 0.0, 0.07);
        assert!(dark > 200, "{name}: no title text ({dark} dark pixels)");
    }
    let md = std::fs::read_to_string(dir.path().join("plots/report.md")).unwrap();
    for want in
        ["# meshcap capacity report", "![report](report.png)", "| 1Gi |", "per endpoint port", "scope", "(gateway)"]
    {
        assert!(md.contains(want), "{want:?} not in report.md");
    }
}

#[test]
fn fit_chart_shows_the_prediction_band() {
    let dir = tempdir();
    let p = dir.path().join("fit.png");
    meshcap().args(["plot", "fit", "-o"]).arg(&p).args(["--size", "800x500"]).assert().success();
    let (w, h, px) = decode(&p);
    assert_eq!((w, h), (800, 500));
    // The band is a translucent fill: pixels that are neither white nor grey nor dark.
    let tinted = px.chunks(3).filter(|c| {
        let (r, g, b) = (c[0] as i32, c[1] as i32, c[2] as i32);
        let spread = r.max(g).max(b) - r.min(g).min(b);
        spread > 20 && r + g + b > 450
    });
    assert!(tinted.count() > 2000, "no band fill found");
}

#[test]
fn model_without_oom_data_and_without_topology() {
    let dir = tempdir();
    let data = write(dir.path(), "d.csv", "revisions,memory\n0,50Mi\n100,126Mi\n200,199Mi\n300,276Mi\n400,348Mi\n");
    meshcap()
        .args(["report", "--topology", "none", "--data"])
        .arg(&data)
        .arg("--out")
        .arg(dir.path().join("out"))
        .assert()
        .success();
    assert!(dir.path().join("out/report.png").exists());
    assert!(!dir.path().join("out/scope.png").exists(), "no topology, no scope chart");
}

#[test]
fn bad_size_and_unwritable_folder() {
    let dir = tempdir();
    for size in ["0x100", "100", "axb", "100000x100"] {
        let err =
            meshcap().args(["plot", "fit", "-o"]).arg(dir.path().join("x.png")).args(["--size", size]).assert().code(2);
        let err = String::from_utf8(err.get_output().stderr.clone()).unwrap();
        assert!(err.contains(size), "{size}: {err}");
    }
    // A folder under a regular file cannot be created or written.
    let file = write(dir.path(), "file", "x");
    let out = meshcap().args(["report", "--out"]).arg(file.join("sub")).assert().code(1).get_output().clone();
    let err = String::from_utf8(out.stderr).unwrap();
    assert!(err.starts_with("error: cannot write") && !err.contains("panicked"), "{err}");
    let out = meshcap().args(["plot", "fit", "-o"]).arg(file.join("x.png")).assert().code(1).get_output().clone();
    assert!(!String::from_utf8(out.stderr).unwrap().contains("panicked"));
}

#[test]
fn heatmap_cells_are_the_worst_case_of_the_sweep_rows() {
    use meshcap::report::sweep_charts::{sweep_heatmap, HeatValue};
    let spec_path = crate::util::root().join("data/scenarios/gc-policies.toml");
    let spec = meshcap::scenario::Spec::load(&spec_path).unwrap();
    let model = meshcap::model::store::load(&crate::util::root().join(&spec.model)).unwrap();
    let grid = meshcap::scenario::Grid::new(spec, model, 1_000_000).unwrap();
    let fixed = vec![("limit".to_string(), "2Gi".to_string()), ("scope".to_string(), "namespace".to_string())];
    let chart = sweep_heatmap(&grid, "updates_per_day", "retain_since_create_time", HeatValue::Margin, &fixed).unwrap();
    // Independently: the CSV rows of `meshcap sweep`, filtered and reduced by hand.
    let out =
        meshcap().args(["sweep", "data/scenarios/gc-policies.toml"]).assert().success().get_output().stdout.clone();
    let text = String::from_utf8(out).unwrap();
    let header: Vec<&str> = text.lines().next().unwrap().split(',').collect();
    let col = |n: &str| header.iter().position(|c| *c == n).unwrap();
    for (yi, y) in chart.y_values.iter().enumerate() {
        for (xi, x) in chart.x_values.iter().enumerate() {
            let worst = text
                .lines()
                .skip(1)
                .map(|l| l.split(',').collect::<Vec<_>>())
                .filter(|f| f[col("limit")] == "2Gi" && f[col("scope")] == "namespace")
                .filter(|f| f[col("updates_per_day")] == x && f[col("retain_since_create_time")] == y)
                .map(|f| {
                    let s: f64 = f[col("sidecar_margin_bytes")].parse().unwrap();
                    let g: f64 = f[col("gateway_margin_bytes")].parse().unwrap();
                    s.min(g) / 1048576.0
                })
                .fold(f64::INFINITY, f64::min);
            let got = chart.cells[yi * chart.x_values.len() + xi].unwrap();
            assert!((got - worst).abs() <= 1e-6 * worst.abs().max(1.0), "cell {x},{y}: {got} vs {worst}");
        }
    }
    let dir = tempdir();
    let p = dir.path().join("h.png");
    plot_ok(&["heatmap", "--where", "limit=2Gi"], &p);
    assert!(plot_err(&["heatmap", "--where", "limit=3Gi"], &p).contains("no value \"3Gi\""));
}

#[test]
fn report_with_a_spec_adds_heatmap_and_fan() {
    let dir = tempdir();
    meshcap()
        .args(["report", "--spec", "data/scenarios/gc-policies.toml", "--heatmap-where", "limit=2Gi", "--out"])
        .arg(dir.path())
        .assert()
        .success();
    for name in ["heatmap.png", "fan.png"] {
        let img = decode(&dir.path().join(name));
        assert_eq!((img.0, img.1), (1600, 1000), "{name}");
        let (colours, _) = region_stats(&img, 0.1, 0.9, 0.15, 0.85);
        assert!(colours > 20, "{name}: blank plot area");
    }
    let md = std::fs::read_to_string(dir.path().join("report.md")).unwrap();
    assert!(md.contains("(fan.png)") && md.contains("(heatmap.png)"));
    // The fan follows the scenario whose bound crosses latest within the horizon.
    let spec = meshcap::scenario::Spec::load(&crate::util::root().join("data/scenarios/gc-policies.toml")).unwrap();
    let model = meshcap::model::store::load(&crate::util::root().join(&spec.model)).unwrap();
    let grid = meshcap::scenario::Grid::new(spec, model, 1_000_000).unwrap();
    let id = meshcap::report::fan_scenario(&grid);
    let e = grid.evaluate(id, &meshcap::scenario::grid::decode(id, &grid.lengths));
    assert!(e.days_to_limit > 0.0 && e.days_to_limit <= 90.0, "{e:?}");
}

#[test]
fn fan_plot_and_sweep_simulate() {
    let dir = tempdir();
    let p = dir.path().join("fan.png");
    plot_ok(&["fan", "--scenario", "1831", "--proxy", "gateway"], &p);
    assert!(plot_err(&["fan", "--scenario", "99999"], &p).contains("scenario 99999"));
    let a = meshcap()
        .args(["sweep", "data/scenarios/example-topology.toml", "--simulate", "--summary", "-q"])
        .assert()
        .success()
        .get_output()
        .stdout
        .clone();
    let b = meshcap()
        .args(["simulate", "data/scenarios/example-topology.toml", "--summary", "-q"])
        .assert()
        .success()
        .get_output()
        .stdout
        .clone();
    assert!(!a.is_empty() && a == b, "sweep --simulate is simulate");
}

/// `meshcap plot KIND --spec gc-policies.toml ARGS -o OUT` succeeds with a 1600-wide PNG.
fn plot_ok(args: &[&str], out: &Path) {
    meshcap()
        .arg("plot")
        .args(&args[..1])
        .args(["--spec", "data/scenarios/gc-policies.toml"])
        .args(&args[1..])
        .arg("-o")
        .arg(out)
        .assert()
        .success();
    assert_eq!(decode(out).0, 1600, "{args:?}");
}

/// The same, failing with exit 2; returns stderr.
fn plot_err(args: &[&str], out: &Path) -> String {
    let assert = meshcap()
        .arg("plot")
        .args(&args[..1])
        .args(["--spec", "data/scenarios/gc-policies.toml"])
        .args(&args[1..])
        .arg("-o")
        .arg(out)
        .assert()
        .code(2);
    String::from_utf8(assert.get_output().stderr.clone()).unwrap()
}
