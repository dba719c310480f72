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
