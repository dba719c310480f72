//! Never hang, never exhaust the machine (issue 13 §2): work and memory are bounded before
//! anything runs, each bound refused with a named error saying how to shrink the run.

use crate::util::{fails, meshcap, seed_model, tempdir, write};

fn spec(dir: &std::path::Path, axes: &str, simulate: &str) -> std::path::PathBuf {
    write(
        dir,
        "spec.toml",
        &format!(
            "model = {:?}\n[mesh]\ngateways = 1\n[axes]\n{axes}\n[simulate]\n{simulate}\n",
            seed_model().display().to_string()
        ),
    )
}

#[test]
fn simulate_refuses_work_beyond_max_work_with_the_estimate() {
    let dir = tempdir();
    // One scenario (a group of one): 10 paths x 10 days (0..=9) x (2 Knative services + 1
    // scenario) = 300 steps, counted by hand.
    let s = spec(
        dir.path(),
        "namespaces = [1]\nknative_services = [2]\nplain_services = [0]\nlimit = [\"1Gi\"]",
        "horizon_days = 9\npaths = 10",
    );
    let err = fails(meshcap().arg("simulate").arg(&s).args(["-q", "--max-work", "299"]), 2);
    assert!(err.contains("about 3.00e2 steps") && err.contains("--paths, now 10") && err.contains("--shard"), "{err}");
    meshcap().arg("simulate").arg(&s).args(["-q", "--max-work", "3e2"]).assert().success();
    // sweep --simulate takes the same bound.
    fails(meshcap().arg("sweep").arg(&s).args(["--simulate", "-q", "--max-work", "299"]), 2);
}

#[test]
fn precomputed_tables_are_bounded_before_they_are_built() {
    let dir = tempdir();
    let many = |n: u32| format!("[{}]", (1..=n).map(|i| i.to_string()).collect::<Vec<_>>().join(", "));
    // 1500 x 1500 mesh combinations, a sidecar and a gateway curve each: 4.5 million curves.
    let s = spec(dir.path(), &format!("namespaces = {}\nknative_services = {}", many(1500), many(1500)), "");
    let err = fails(meshcap().arg("sweep").arg(&s).args(["--summary", "-q", "--max-scenarios", "1e15"]), 2);
    assert!(err.contains("4500000 proxy curves"), "{err}");
    // 2000 update rates x 100 x 100 minimum and maximum non-active counts: 2e7 steady states.
    let s = spec(
        dir.path(),
        &format!(
            "updates_per_day = {}\nmin_non_active_revisions = {}\nmax_non_active_revisions = {}",
            many(2000),
            many(100),
            many(100)
        ),
        "",
    );
    let err = fails(meshcap().arg("sweep").arg(&s).args(["--summary", "-q", "--max-scenarios", "1e15"]), 2);
    assert!(err.contains("20000000 GC steady states"), "{err}");
}

#[test]
fn a_grid_beyond_2_to_the_64_says_its_size() {
    let dir = tempdir();
    let many = |n: u32| format!("[{}]", (1..=n).map(|i| i.to_string()).collect::<Vec<_>>().join(", "));
    // 300^4 (namespaces, knative_services, plain_services, min) x 1000^3 (updates, transient,
    // limit) x 3 headrooms = 8.1e9 x 1e9 x 3 = 2.43e19 scenarios, above 2^64 (1.8e19).
    let limits = format!("[{}]", (1..=1000).map(|i| format!("\"{}Mi\"", 1000 + i)).collect::<Vec<_>>().join(", "));
    let transients = format!(
        "[{}]",
        (0..1000).map(|i| format!("{:.3}", 1.0 + f64::from(i) / 1000.0)).collect::<Vec<_>>().join(", ")
    );
    let s = spec(
        dir.path(),
        &format!(
            "namespaces = {m}\nknative_services = {m}\nplain_services = {m}\nmin_non_active_revisions = {m}\nupdates_per_day = {k}\ntransient = {transients}\nheadroom = [0.0, 0.1, 0.2]\nlimit = {limits}",
            m = many(300),
            k = many(1000)
        ),
        "",
    );
    let err = fails(meshcap().arg("sweep").arg(&s).args(["--summary", "-q"]), 2);
    assert!(err.contains("has about 2.430e19 scenarios"), "{err}");
}

#[test]
fn a_file_beyond_the_input_cap_is_refused_by_name() {
    let dir = tempdir();
    // Sparse files, nothing written: a spec over 512 MiB, a series over 4 GiB (a fleet's long
    // form runs to gigabytes, so measurements have the larger cap).
    let spec = dir.path().join("huge.csv");
    std::fs::File::create(&spec).unwrap().set_len(513 << 20).unwrap();
    let err = fails(meshcap().arg("sweep").arg(&spec), 2);
    assert!(err.contains("huge.csv") && err.contains("larger than 512 MiB"), "sweep: {err}");
    let series = dir.path().join("huge-series.csv");
    std::fs::File::create(&series).unwrap().set_len((4 << 30) + 1).unwrap();
    for args in [&["fit"][..], &["clean"], &["fleet"]] {
        let err = fails(meshcap().args(args).arg(&series), 2);
        assert!(err.contains("huge-series.csv") && err.contains("larger than 4096 MiB"), "{args:?}: {err}");
    }
    let err = fails(meshcap().arg("show").arg(&spec), 2);
    assert!(err.contains("huge.csv") && err.contains("larger than 512 MiB"), "show: {err}");
}

#[test]
fn plot_fan_and_report_spec_share_simulates_work_bound() {
    let dir = tempdir();
    // The same hand count as above: 10 paths x 10 days x (2 Knative services + 1 scenario) =
    // 300 steps for the one scenario's group, which the fan simulates whole.
    let s = spec(
        dir.path(),
        "namespaces = [1]\nknative_services = [2]\nplain_services = [0]\nlimit = [\"1Gi\"]",
        "horizon_days = 9\npaths = 10",
    );
    let png = dir.path().join("fan.png");
    let err = fails(meshcap().args(["plot", "fan", "--max-work", "299", "-o"]).arg(&png).arg("--spec").arg(&s), 2);
    assert!(err.contains("about 3.00e2 steps") && err.contains("--max-work"), "{err}");
    assert!(!png.exists());
    meshcap().args(["plot", "fan", "--max-work", "300", "-o"]).arg(&png).arg("--spec").arg(&s).assert().success();
    let out = dir.path().join("report");
    let err = fails(meshcap().args(["report", "--max-work", "299", "--out"]).arg(&out).arg("--spec").arg(&s), 2);
    assert!(err.contains("about 3.00e2 steps"), "{err}");
    assert!(!out.exists(), "nothing is written when the fan is refused");
    // The default bound (1e11) holds back 10^6 paths over 100 years (1.1e11 steps) before any runs.
    let big = spec(
        dir.path(),
        "namespaces = [1]\nknative_services = [2]\nplain_services = [0]\nlimit = [\"1Gi\"]",
        "horizon_days = 36500\npaths = 1000000",
    );
    let started = std::time::Instant::now();
    let err = fails(meshcap().args(["plot", "fan", "-o"]).arg(&png).arg("--spec").arg(&big), 2);
    assert!(err.contains("more than --max-work 1.00e11"), "{err}");
    let err = fails(meshcap().args(["report", "--out"]).arg(&out).arg("--spec").arg(&big), 2);
    assert!(err.contains("more than --max-work 1.00e11"), "{err}");
    assert!(started.elapsed().as_secs() < 20, "refused before running");
}
