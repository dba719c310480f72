//! No command overwrites one of its inputs, by any name: the shared guard in
//! `meshcap::output` remembers every file read (by device and inode) and refuses to write it.
//! Each case failed before the guard (fit, sweep, simulate, merge, plot and report wrote over
//! their inputs); each asserts exit 2, a one-line error and the input's bytes unchanged.

use std::path::{Path, PathBuf};

use crate::util::{meshcap, root, seed_model, tempdir, write};

fn spec(dir: &Path, model: &Path) -> PathBuf {
    write(
        dir,
        "spec.toml",
        &format!(
            "model = {:?}\n[mesh]\ngateways = 1\n[axes]\nnamespaces = [1]\nplain_services = [0]\nknative_services = [2]\nupdates_per_day = [1]\nlimit = [\"1Gi\"]\n[simulate]\nhorizon_days = 3\npaths = 4\n",
            model.display().to_string()
        ),
    )
}

/// Run `args` expecting a refusal that leaves `guarded` byte for byte as it was.
fn refused(args: &[String], guarded: &Path) {
    let before = std::fs::read(guarded).unwrap();
    let out = meshcap().args(args).assert().code(2).get_output().clone();
    let err = String::from_utf8(out.stderr).unwrap();
    assert!(err.contains("is an input") || err.contains("an input:"), "{args:?}: {err}");
    assert_eq!(err.trim().lines().count(), 1, "{args:?}: {err}");
    assert_eq!(std::fs::read(guarded).unwrap(), before, "{args:?} changed {}", guarded.display());
}

#[test]
fn outputs_never_replace_inputs_by_any_name() {
    let dir = tempdir();
    let d = dir.path();
    let data = d.join("data.csv");
    std::fs::copy(root().join("data/knative-1.11-istio-1.18.csv"), &data).unwrap();
    let model = d.join("model.json");
    std::fs::copy(seed_model(), &model).unwrap();
    let spec = spec(d, &model);
    std::os::unix::fs::symlink(&data, d.join("link.csv")).unwrap();
    std::fs::hard_link(&model, d.join("hard.json")).unwrap();
    std::fs::create_dir(d.join("sub")).unwrap();
    let s = |p: &Path| p.display().to_string();
    let dotdot = s(&d.join("sub/../data.csv"));
    let cases: Vec<(Vec<String>, PathBuf)> = vec![
        (vec!["fit".into(), s(&data), "-o".into(), s(&d.join("link.csv"))], data.clone()),
        (vec!["fit".into(), s(&data), "-o".into(), dotdot], data.clone()),
        (vec!["sweep".into(), s(&spec), "-o".into(), s(&spec)], spec.clone()),
        (vec!["sweep".into(), s(&spec), "-o".into(), s(&d.join("hard.json"))], model.clone()),
        (vec!["simulate".into(), s(&spec), "-o".into(), s(&model)], model.clone()),
        (vec!["plot".into(), "fit".into(), "--data".into(), s(&data), "-o".into(), s(&data)], data.clone()),
        (vec!["plot".into(), "fit".into(), "--model".into(), s(&model), "-o".into(), s(&model)], model.clone()),
    ];
    for (args, guarded) in &cases {
        refused(args, guarded);
    }
    // merge A B -o A.
    let (a, b) = (d.join("a.csv"), d.join("b.csv"));
    for (k, p) in [(0, &a), (1, &b)] {
        meshcap().args(["sweep", &s(&spec), "--shard", &format!("{k}/2"), "-o", &s(p)]).assert().success();
    }
    refused(&["merge".into(), s(&a), s(&b), "-o".into(), s(&a)], &a);
    // report --out over its data: refused before any chart is drawn.
    let out = d.join("plots");
    std::fs::create_dir(&out).unwrap();
    let md = out.join("report.md");
    std::fs::copy(&data, &md).unwrap();
    refused(
        &["report".into(), "--data".into(), s(&md), "--topology".into(), "none".into(), "--out".into(), s(&out)],
        &md,
    );
    assert_eq!(std::fs::read_dir(&out).unwrap().count(), 1, "the refused report left files behind");
}
