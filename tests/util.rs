//! Shared helpers: the real binary, a temp dir per test, and paths to bundled data.

use std::path::{Path, PathBuf};

use assert_cmd::Command;

/// The `meshcap` binary, run from the crate root so bundled defaults resolve.
pub fn meshcap() -> Command {
    let mut cmd = Command::cargo_bin("meshcap").expect("binary builds");
    cmd.current_dir(root());
    cmd
}

/// The crate root.
pub fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// The bundled seed series.
pub fn seed_data() -> PathBuf {
    root().join("data/knative-1.11-istio-1.18.csv")
}

/// The committed seed model.
pub fn seed_model() -> PathBuf {
    root().join("models/knative-1.11-istio-1.18.json")
}

/// A fresh temp dir for one test.
pub fn tempdir() -> tempfile::TempDir {
    tempfile::tempdir().expect("temp dir")
}

/// Write a file into a dir and return its path.
pub fn write(dir: &Path, name: &str, text: &str) -> PathBuf {
    let p = dir.join(name);
    std::fs::write(&p, text).expect("write fixture");
    p
}

/// Run and parse stdout as JSON, asserting success.
pub fn json(cmd: &mut Command) -> serde_json::Value {
    let out = cmd.assert().success().get_output().stdout.clone();
    serde_json::from_slice(&out).expect("stdout is JSON")
}

/// Relative error.
pub fn rel(a: f64, b: f64) -> f64 {
    if b == 0.0 {
        a.abs()
    } else {
        ((a - b) / b).abs()
    }
}

/// Assert a relative tolerance with a helpful message.
#[track_caller]
pub fn close(what: &str, got: f64, want: f64, tol: f64) {
    assert!(rel(got, want) <= tol, "{what}: got {got:e}, want {want:e} (rel err {:e} > {tol:e})", rel(got, want));
}

/// The stderr of a failed run, asserting it is one error line and no panic.
#[track_caller]
pub fn one_line_error(out: &std::process::Output) -> String {
    let err = String::from_utf8(out.stderr.clone()).unwrap();
    assert_eq!(err.trim_end().lines().count(), 1, "one line: {err}");
    assert!(!err.contains("panicked"), "{err}");
    err
}

/// Run, expect exit `code` and a one-line error; return the error.
#[track_caller]
pub fn fails(cmd: &mut Command, code: i32) -> String {
    one_line_error(cmd.assert().code(code).get_output())
}

/// Request heads a scripted server has seen.
pub type Heads = std::sync::Arc<std::sync::Mutex<Vec<String>>>;

/// A one-thread HTTP/1.1 server on a free loopback port, for what a real server will not do on
/// demand: it records each request's head and answers `answer(head)`, (status, body), or
/// holds the connection without answering when that is `None`.
pub fn serve(answer: impl Fn(&str) -> Option<(u16, String)> + Send + 'static) -> (String, Heads) {
    use std::io::{BufRead, BufReader, Write};
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    let seen: Heads = Default::default();
    let log = seen.clone();
    std::thread::spawn(move || {
        for stream in listener.incoming() {
            let Ok(mut stream) = stream else { continue };
            let mut reader = BufReader::new(stream.try_clone().unwrap());
            let mut head = String::new();
            loop {
                let mut line = String::new();
                if reader.read_line(&mut line).unwrap_or(0) == 0 || line == "\r\n" {
                    break;
                }
                head.push_str(&line);
            }
            log.lock().unwrap().push(head.clone());
            match answer(&head) {
                Some((code, text)) => {
                    let _ = write!(
                        stream,
                        "HTTP/1.1 {code} X\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{text}",
                        text.len()
                    );
                }
                None => std::thread::sleep(std::time::Duration::from_secs(5)),
            }
        }
    });
    (url, seen)
}

/// `meshcap import prometheus --url URL` with two queries over 20 steps of 30 s.
pub fn live(url: &str) -> Command {
    let mut c = meshcap();
    c.args(["import", "prometheus", "--url", url, "--memory", "max(m)", "--ports", "max(p)"]).args([
        "--start",
        "1767225600",
        "--end",
        "1767226170",
        "--step",
        "30s",
    ]);
    c
}

/// A path under `../shared/reference/` (NIST StRD, real tool outputs), read in place. Absent,
/// the test says it skipped, unless `MESHCAP_REQUIRE_REFERENCE=1` (CI), where it fails.
pub fn reference(relative: &str) -> Option<PathBuf> {
    let p = root().join("../shared/reference").join(relative);
    if p.exists() {
        return Some(p);
    }
    if std::env::var("MESHCAP_REQUIRE_REFERENCE").as_deref() == Ok("1") {
        panic!("MESHCAP_REQUIRE_REFERENCE=1 but {} is absent", p.display());
    }
    eprintln!("skipped: {} is absent", p.display());
    None
}

/// A 60-day simulation of one namespace of 10 Knative services that are never updated, each
/// starting with `start` revisions, under `model`: P(OOM) at `limit` over `paths` paths, and
/// the sidecar's analytic mean memory.
pub fn simulated_p_oom(model: &Path, limit: &str, start: u32, paths: u32) -> (f64, f64) {
    use meshcap::scenario::simulate::{SimOptions, Simulation};
    use meshcap::scenario::{Grid, Spec};
    let text = format!(
        "model = {:?}\n[mesh]\ngateways = 0\nstart = {start}\n[axes]\nnamespaces = [1]\nplain_services = [0]\nknative_services = [10]\nupdates_per_day = [0]\nlimit = [{limit:?}]\n[simulate]\nhorizon_days = 60\npaths = {paths}\nhigh_water_mark = false\n",
        model.display().to_string()
    );
    let spec = Spec::parse(Path::new("t.toml"), &text).unwrap();
    let m = meshcap::model::store::load(&spec.model).unwrap();
    let grid = Grid::new(spec, m, 10).unwrap();
    let sim = Simulation::new(&grid, SimOptions::from_spec(&grid.spec)).unwrap();
    let mut out = (0.0, 0.0);
    sim.run::<()>(0..1, &|_| {}, &mut |o| {
        out = (o.p_oom, o.analytic.sidecar_mean);
        Ok(())
    })
    .unwrap();
    out
}

/// P(u + e_d > c on any of 61 days), u ~ N(0, once^2) drawn once, e_d ~ N(0, daily^2) daily:
/// the integral over u of 1 - Phi((c - u) / daily)^61, by Simpson's rule.
pub fn p_any_of_61(c: f64, once: f64, daily: f64) -> f64 {
    use statrs::distribution::{Continuous, ContinuousCDF, Normal};
    let (u, e) = (Normal::new(0.0, once).unwrap(), Normal::new(0.0, daily).unwrap());
    let (lo, hi, n) = (-10.0 * once, 10.0 * once, 20_000);
    let h = (hi - lo) / n as f64;
    let f = |x: f64| u.pdf(x) * (1.0 - e.cdf(c - x).powi(61));
    let inner: f64 = (1..n).map(|k| f(lo + k as f64 * h) * if k % 2 == 1 { 4.0 } else { 2.0 }).sum();
    h / 3.0 * (f(lo) + inner + f(hi))
}
