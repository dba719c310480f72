//! Issue 21 §1 and §5 on the fleet paths: a long form in the wrong units, with a value that
//! overflows, or read long after its topology is refused by the one guard every reader of a
//! series applies (`meshcap::series::plausible`), by every command that reads it (`fleet`, with
//! and without `--topology`, `plot fleet`, `plot fleet-days`, `report --fleet`, `clean`, `fit`).
//! Before it, milliseconds were read as seconds (70,615 days instead of 71), bare MiB made
//! `fleet` run for 40 minutes, bare KiB made every date 1,024x late, 1e308 passed `clean` and
//! `fleet`, and `fleet --topology` panicked inside statrs on milliseconds or readings 1,000
//! years after the topology. Each case: exit 2, one line naming file, line, column and value,
//! the folder unchanged (inputs intact, nothing left behind), within a bound on time.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use crate::fleet_mesh::{series, topology, T0};
use crate::util::{meshcap, one_line_error, tempdir};

/// The long form's name in each case's folder.
const LONG: &str = "long.csv";

/// `fleet_mesh`'s fleet: four proxies, 21 readings each, 6 h apart, in unix seconds and bytes,
/// three of them in namespaces the topology holds.
fn long_form() -> String {
    series()
}

/// `text` (header `proxy,time,memory,ports,limit`) with every row's `column` cell mapped.
fn map_column(text: &str, column: &str, f: impl Fn(f64) -> String) -> String {
    let mut lines = text.lines();
    let header = lines.next().unwrap();
    let k = header.split(',').position(|h| h == column).unwrap();
    let mut out = format!("{header}\n");
    for line in lines {
        let mut cells: Vec<String> = line.split(',').map(str::to_string).collect();
        cells[k] = f(cells[k].parse().unwrap());
        out.push_str(&cells.join(","));
        out.push('\n');
    }
    out
}

/// A year of 365.25 days, in seconds.
const YEAR: f64 = 31_557_600.0;

/// Each damage: name, the damaged long form, and what the one error line must hold (file,
/// line 2 and column: the first data row, where every case's first bad cell is).
fn damages() -> Vec<(&'static str, String, Vec<String>)> {
    let text = long_form();
    let first_memory = text.lines().nth(1).unwrap().split(',').nth(2).unwrap().to_string();
    vec![
        (
            "unix milliseconds",
            map_column(&text, "time", |t| format!("{:.0}", t * 1000.0)),
            vec![format!("{LONG}:2:time"), "time 1767225600000 is in milliseconds".into(), "divide by 1000)".into()],
        ),
        (
            "unix microseconds",
            map_column(&text, "time", |t| format!("{:.0}", t * 1e6)),
            vec![format!("{LONG}:2:time"), "is in microseconds".into(), "divide by 1000000)".into()],
        ),
        (
            // Memory ~127 MB as KiB: ~124,000, under 1 MiB as bytes.
            "memory in bare KiB",
            map_column(&text, "memory", |m| format!("{:.0}", (m / 1024.0).floor())),
            vec![format!("{LONG}:2:memory"), "bytes is no Envoy process's memory".into(), "looks like KiB".into()],
        ),
        (
            "memory in bare MiB",
            map_column(&text, "memory", |m| format!("{:.0}", (m / 1_048_576.0).floor())),
            vec![format!("{LONG}:2:memory"), "memory = 121 bytes".into(), "looks like MiB (write 121Mi)".into()],
        ),
        (
            "memory of 1e308",
            text.replacen(&format!(",{first_memory},"), ",1e308,", 1),
            vec![format!("{LONG}:2:memory"), "memory = 1e308".into(), "beyond any sidecar's memory".into()],
        ),
        (
            // 2026 + 1000 Julian years (3026-01-09): past the machine's clock and far past the topology.
            "readings 1,000 years after the topology",
            map_column(&text, "time", |t| format!("{:.0}", t + 1000.0 * YEAR)),
            vec![format!("{LONG}:2:time"), "time 3026-01-".into(), "lies after this machine's clock".into()],
        ),
    ]
}

/// The commands that read the long form; `{dir}` is the case's folder.
fn commands() -> Vec<(&'static str, Vec<String>)> {
    let c = |args: &[&str]| args.iter().map(|a| a.to_string()).collect::<Vec<_>>();
    vec![
        ("fleet", c(&["fleet", "{dir}/long.csv"])),
        (
            "fleet --topology",
            c(&["fleet", "{dir}/long.csv", "--topology", "{dir}/topology.toml", "--scope", "namespace"]),
        ),
        ("plot fleet", c(&["plot", "fleet", "--data", "{dir}/long.csv", "-o", "{dir}/fleet.png"])),
        ("plot fleet-days", c(&["plot", "fleet-days", "--data", "{dir}/long.csv", "-o", "{dir}/days.png"])),
        ("report --fleet", c(&["report", "--topology", "none", "--fleet", "{dir}/long.csv", "--out", "{dir}/report"])),
        ("clean", c(&["clean", "{dir}/long.csv", "-o", "{dir}/clean.csv"])),
        ("fit", c(&["fit", "{dir}/long.csv", "-o", "{dir}/model.json"])),
    ]
}

/// Every file in `dir` (flat: the cases write no folders unless they leave debris).
fn snapshot(dir: &Path) -> BTreeMap<PathBuf, Vec<u8>> {
    std::fs::read_dir(dir)
        .unwrap()
        .map(|e| {
            let p = e.unwrap().path();
            let bytes = if p.is_dir() { b"<folder>".to_vec() } else { std::fs::read(&p).unwrap() };
            (p, bytes)
        })
        .collect()
}

fn run(args: &[String], dir: &Path) -> std::process::Output {
    let args: Vec<String> = args.iter().map(|a| a.replace("{dir}", &dir.display().to_string())).collect();
    meshcap().args(args).timeout(Duration::from_secs(30)).output().unwrap()
}

fn folder(long: &str) -> tempfile::TempDir {
    let dir = tempdir();
    std::fs::write(dir.path().join(LONG), long).unwrap();
    std::fs::write(dir.path().join("topology.toml"), topology()).unwrap();
    dir
}

#[test]
fn every_fleet_path_reads_the_undamaged_long_form() {
    // Otherwise a case below could fail for a reason that has nothing to do with its damage.
    for (name, args) in commands() {
        let dir = folder(&long_form());
        let out = run(&args, dir.path());
        assert!(out.status.success(), "{name}: {}", String::from_utf8_lossy(&out.stderr));
    }
}

#[test]
fn every_fleet_path_refuses_wrong_units_overflow_and_readings_after_the_clock() {
    let mut failures = Vec::new();
    let mut ran = 0;
    for (damage, text, wanted) in damages() {
        for (name, args) in commands() {
            ran += 1;
            let dir = folder(&text);
            let before = snapshot(dir.path());
            let started = Instant::now();
            let out = run(&args, dir.path());
            let what = format!("{name} on {damage}");
            let stderr = String::from_utf8_lossy(&out.stderr).to_string();
            if out.status.code() != Some(2) {
                failures.push(format!("{what}: exit {:?} (2 wanted): {}", out.status.code(), stderr.trim_end()));
                continue;
            }
            let Ok(err) = std::panic::catch_unwind(|| one_line_error(&out)) else {
                failures.push(format!("{what}: not one line: {stderr}"));
                continue;
            };
            if let Some(w) = wanted.iter().find(|w| !err.contains(w.as_str())) {
                failures.push(format!("{what}: {w:?} not in {}", err.trim_end()));
            }
            if snapshot(dir.path()) != before {
                failures.push(format!("{what}: files changed or left behind"));
            }
            // Refused on reading 84 rows: well under a second; 10 s allows a loaded machine.
            if started.elapsed() > Duration::from_secs(10) {
                failures.push(format!("{what}: took {:?}", started.elapsed()));
            }
        }
    }
    assert_eq!(ran, 6 * 7);
    assert!(failures.is_empty(), "{} of {ran} cases failed:\n{}", failures.len(), failures.join("\n"));
}

#[test]
fn a_json_series_and_a_control_character_in_a_proxy_are_refused_too() {
    // The JSON reader goes through the same guard: milliseconds named in observation 1.
    let dir = tempdir();
    let json = format!(
        "[{{\"time\": {:.0}, \"revisions\": 1, \"memory\": \"100Mi\"}}, {{\"time\": {:.0}, \"revisions\": 2, \"memory\": \"110Mi\"}}]",
        T0 * 1000.0,
        (T0 + 60.0) * 1000.0
    );
    let p = crate::util::write(dir.path(), "s.json", &json);
    let err = crate::util::fails(meshcap().arg("fit").arg(&p).args(["-o"]).arg(dir.path().join("m.json")), 2);
    assert!(err.contains("observation 1, key time") && err.contains("is in milliseconds"), "{err}");
    // An ANSI escape in a proxy name: refused (the importers refuse it in a label), escaped.
    let text = long_form().replacen("shop/web-1", "shop/web\u{1b}[31m-1", 1);
    let p = crate::util::write(dir.path(), LONG, &text);
    let err = crate::util::fails(meshcap().arg("fleet").arg(&p), 2);
    assert!(err.contains(&format!("{LONG}:2:proxy")) && err.contains("control character"), "{err}");
    assert!(!err.trim_end().chars().any(char::is_control), "{err:?}");
}

#[test]
fn a_topology_a_thousand_years_older_than_the_readings_does_not_panic() {
    // Readings 1,000 years after the topology's revisions: each service's update rate over the
    // window is ~1e-5 a day, a Poisson mean whose quantile statrs 0.18 unwrapped into a panic
    // (exit 101). Now the burst quantile is 0 there: the mesh dates nothing, in one answer.
    let old = topology().replace("\"2025-", "\"1025-").replace("\"2026-", "\"1026-");
    assert!(old.contains("\"1026-") && !old.contains("\"2026-"));
    let dir = folder(&long_form());
    std::fs::write(dir.path().join("topology.toml"), old).unwrap();
    let before = snapshot(dir.path());
    let out = run(&commands()[1].1, dir.path());
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(0), "{stderr}");
    assert!(!stderr.contains("panicked"), "{stderr}");
    assert!(String::from_utf8_lossy(&out.stdout).contains("growth from the mesh"));
    assert_eq!(snapshot(dir.path()), before);
}
