//! Never lose a file (issue 13 §1): a failing report leaves the old one whole and nothing
//! beside it; an interrupted run removes its temporary file and dies of the signal.

use std::collections::BTreeMap;
use std::path::Path;
use std::time::{Duration, Instant};

use crate::util::{fails, meshcap, root, seed_model, tempdir, write};

/// Every file in `dir` (not recursive) with its bytes.
fn files(dir: &Path) -> BTreeMap<String, Vec<u8>> {
    std::fs::read_dir(dir)
        .unwrap()
        .map(|e| {
            let p = e.unwrap().path();
            (p.file_name().unwrap().to_string_lossy().into_owned(), std::fs::read(&p).unwrap_or_default())
        })
        .collect()
}

#[test]
fn a_bad_report_setting_leaves_the_old_report_whole() {
    let dir = tempdir();
    let out = dir.path().join("plots");
    let spec = root().join("data/scenarios/gc-policies.toml");
    // Another size and no topology: a chart redrawn by the failing run would change bytes.
    meshcap().args(["report", "--topology", "none", "--size", "800x500", "--out"]).arg(&out).assert().success();
    let before = files(&out);
    assert!(before.contains_key("report.md") && before.contains_key("fit.png"), "{:?}", before.keys());
    // Found bad only at the heatmap, the last chart: nothing may have been drawn before it.
    for bad in [&["--heatmap-x", "nope"][..], &["--heatmap-where", "limit=7Gi"][..]] {
        let err = fails(meshcap().arg("report").arg("--spec").arg(&spec).args(bad).arg("--out").arg(&out), 2);
        assert!(err.contains("nope") || err.contains("7Gi"), "{err}");
        assert!(files(&out) == before, "{bad:?}: the report folder changed");
    }
    // A new folder is not even created.
    let fresh = dir.path().join("fresh");
    fails(meshcap().args(["report", "--heatmap-x", "nope", "--spec"]).arg(&spec).arg("--out").arg(&fresh), 2);
    assert!(!fresh.exists());
}

#[test]
fn a_report_is_published_whole() {
    let dir = tempdir();
    let out = dir.path().join("plots");
    let spec = root().join("data/scenarios/gc-policies.toml");
    let stdout = meshcap().arg("report").arg("--spec").arg(&spec).arg("--out").arg(&out).assert().success();
    let wrote = String::from_utf8(stdout.get_output().stdout.clone()).unwrap();
    let names: Vec<String> = files(&out).into_keys().collect();
    // Every file said written is there, and nothing else (no staging folder, no temporaries).
    let said: Vec<String> = wrote
        .lines()
        .map(|l| Path::new(l.strip_prefix("wrote ").unwrap()).file_name().unwrap().to_string_lossy().into_owned())
        .collect();
    let mut sorted = said.clone();
    sorted.sort();
    assert_eq!(names, sorted);
    assert_eq!(said.len(), 8, "report, fit, residuals, safe-limits, scope, heatmap, fan, md: {said:?}");
}

/// Start `meshcap simulate` on a grid big enough to run for a while, writing to `out`; wait
/// until its temporary file exists; send `signal`; return the exit status.
fn interrupt(signal: &str) {
    let dir = tempdir();
    let spec = write(
        dir.path(),
        "long.toml",
        &format!(
            "model = {:?}\n[mesh]\ngateways = 1\n[axes]\nnamespaces = [4, 8]\nknative_services = [20, 40]\nupdates_per_day = [5, 50]\nlimit = [\"1Gi\", \"2Gi\"]\n[simulate]\nhorizon_days = 3650\npaths = 100000\n",
            seed_model().display().to_string()
        ),
    );
    let out = dir.path().join("sim.csv");
    let mut child = std::process::Command::new(env!("CARGO_BIN_EXE_meshcap"))
        .args(["simulate", "-q", "--max-work", "1e18", "-o"])
        .arg(&out)
        .arg(&spec)
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let tmp = dir.path().join(format!(".sim.csv.tmp{}", child.id()));
    let start = Instant::now();
    while !tmp.exists() {
        assert!(start.elapsed() < Duration::from_secs(60), "no temporary file appeared");
        assert!(child.try_wait().unwrap().is_none(), "finished before it could be interrupted");
        std::thread::sleep(Duration::from_millis(20));
    }
    std::process::Command::new("kill").arg(format!("-{signal}")).arg(child.id().to_string()).status().unwrap();
    let status = child.wait().unwrap();
    use std::os::unix::process::ExitStatusExt;
    let want = if signal == "INT" { 2 } else { 15 };
    assert_eq!(status.signal(), Some(want), "dies of SIG{signal}: {status}");
    let left: Vec<String> = files(dir.path()).into_keys().collect();
    assert_eq!(left, ["long.toml"], "SIG{signal} left {left:?}");
}

#[test]
fn sigint_removes_the_temporary_file() {
    interrupt("INT");
}

#[test]
fn sigterm_removes_the_temporary_file() {
    interrupt("TERM");
}
