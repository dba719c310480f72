//! `fit --errors` under hostile input: regression tests from the review of the error
//! structures (each failed before its fix), and hand-edited model files.

use crate::util::{json, meshcap, tempdir, write};

/// Regression tests from the hostile-input review of `--errors` (each failed before its fix).
#[test]
fn hostile_series_are_refused_in_one_line_naming_the_value() {
    let dir = tempdir();
    let rows = |f: &dyn Fn(usize) -> String| (0..40).map(f).collect::<Vec<_>>().join("\n");
    let cases: Vec<(&str, String, Vec<&str>, &str)> = vec![
        // Squares of 1e160 overflow: statrs used to panic on the NaN F statistic.
        (
            "huge.csv",
            format!("revisions,memory\n{}", rows(&|i| format!("{i},{:e}", 1e160 * (1.0 + i as f64)))),
            vec![],
            "huge.csv:2:memory",
        ),
        // One time missing: auto used to fall back to iid, saying there was no time column.
        (
            "hole.csv",
            format!(
                "time,revisions,memory\n{}",
                rows(&|i| {
                    let t = if i == 10 { String::new() } else { (30 * i).to_string() };
                    format!("{t},{},{}", 10 * (i / 10), 5e7 + 1e5 * (i / 10) as f64 + (i % 7) as f64 * 1e5)
                })
            ),
            vec![],
            "hole.csv:12:time",
        ),
        // Two clusters for two parameters: the sandwich used to give zero standard errors.
        (
            "two.csv",
            format!("revisions,memory\n{}", rows(&|i| format!("{},{}", 10 * (i / 20), 5e7 + (i % 5) as f64 * 1e5))),
            vec!["--errors", "cluster"],
            "2 clusters for 2 parameters",
        ),
        // Grouping by the response or by a predictor makes no proxies.
        (
            "g.csv",
            format!(
                "time,revisions,memory\n{}",
                rows(&|i| format!("{},{},{}", 30 * i, 10 * (i / 10), 5e7 + (i % 7) as f64 * 1e5))
            ),
            vec!["--errors", "group=memory"],
            "cannot identify proxies",
        ),
        (
            "g2.csv",
            format!(
                "time,revisions,memory\n{}",
                rows(&|i| format!("{},{},{}", 30 * i, 10 * (i / 10), 5e7 + (i % 7) as f64 * 1e5))
            ),
            vec!["--errors", "group=revisions"],
            "is a predictor",
        ),
        // One reading per proxy: its offset is reading noise.
        (
            "one.csv",
            format!("proxy,revisions,memory\n{}", rows(&|i| format!("p{i},{},{}", 10 * i, 5e7 + (i % 7) as f64 * 1e5))),
            vec!["--errors", "group=proxy"],
            "holds one reading",
        ),
    ];
    for (name, text, flags, want) in cases {
        let p = write(dir.path(), name, &text);
        let out = meshcap().arg("fit").arg(&p).args(&flags).assert().code(2).get_output().clone();
        let err = String::from_utf8(out.stderr).unwrap();
        assert!(err.contains(want), "{name}: {want:?} not in {err}");
        assert_eq!(err.trim().lines().count(), 1, "{name}: {err}");
    }
}

#[test]
fn hostile_series_that_fit_give_sane_answers() {
    let dir = tempdir();
    // Proxy names that read as numbers stay distinct.
    let p = write(
        dir.path(),
        "n.csv",
        "proxy,revisions,memory\n1,10,60Mi\n1.0,10,70Mi\n1,20,68Mi\n1.0,20,78Mi\n01,10,65Mi\n01,20,74Mi\n",
    );
    let v = json(meshcap().arg("fit").arg(&p).args(["--format", "json"]));
    let names: Vec<&str> =
        v["errors"]["group_effects"].as_array().unwrap().iter().map(|g| g["name"].as_str().unwrap()).collect();
    assert_eq!(names, ["1", "1.0", "01"]);
    // Exactly linear data: no "linearity rejected" from rounding noise.
    let lin = (0..30).map(|i| format!("{i},{}", 50_000_000 + 700_000 * i)).collect::<Vec<_>>().join("\n");
    let p = write(dir.path(), "lin.csv", &format!("revisions,memory\n{lin}\n"));
    let v = json(meshcap().arg("fit").arg(&p).args(["--format", "json"]));
    assert!(v["errors"]["curvature"].is_null(), "{}", v["errors"]);
    assert!(v["notes"].to_string().contains("exact"));
    // Readings that alternate around each level: no negative AR(1) that shrinks sigma_within.
    let alt = (0..240)
        .map(|i| {
            format!(
                "{},{},{}",
                30 * i,
                10 * (i / 40),
                5e7 + 7e5 * (10 * (i / 40)) as f64 + if i % 2 == 0 { 2e6 } else { -2e6 }
            )
        })
        .collect::<Vec<_>>()
        .join("\n");
    let p = write(dir.path(), "alt.csv", &format!("time,revisions,memory\n{alt}\n"));
    let v = json(meshcap().arg("fit").arg(&p).args(["--format", "json"]));
    assert!(v["errors"]["rho"].as_f64().unwrap() >= 0.0);
    assert!(v["errors"]["sigma_within"].as_f64().unwrap() > 1.9e6, "{}", v["errors"]);
    // Duplicate timestamps: the levels do not depend on the rows' order in the file.
    let mut lines: Vec<String> = (0..100)
        .map(|i| {
            format!("{},{},{}", 30 * (i / 2), 10 * (i % 5), 5e7 + 7e5 * (10 * (i % 5)) as f64 + (i % 3) as f64 * 1e5)
        })
        .collect();
    let a = write(dir.path(), "dup.csv", &format!("time,revisions,memory\n{}\n", lines.join("\n")));
    lines.reverse();
    let b = write(dir.path(), "dup2.csv", &format!("time,revisions,memory\n{}\n", lines.join("\n")));
    let levels =
        |p: &std::path::Path| json(meshcap().arg("fit").arg(p).args(["--format", "json"]))["errors"]["levels"].clone();
    assert_eq!(levels(&a), levels(&b));
    // fit never overwrites its data.
    let before = std::fs::read(&a).unwrap();
    let out = meshcap().arg("fit").arg(&a).arg("-o").arg(&a).assert().code(2).get_output().clone();
    assert!(String::from_utf8(out.stderr).unwrap().contains("is an input"));
    assert_eq!(std::fs::read(&a).unwrap(), before);
}

#[test]
fn hand_edited_error_structures_are_refused() {
    let dir = tempdir();
    let model = dir.path().join("fleet.json");
    meshcap().args(["fit", "tests/fixtures/fleet-groups.csv", "-o"]).arg(&model).assert().success();
    let m: serde_json::Value = serde_json::from_str(&std::fs::read_to_string(&model).unwrap()).unwrap();
    type Edit = Box<dyn Fn(&mut serde_json::Value)>;
    let edits: Vec<(&str, Edit, &str)> = vec![
        ("sd.json", Box::new(|m| m["errors"]["group_effects"][0]["effect_sd_bytes"] = 1e300.into()), "beyond 1Ei"),
        ("kind.json", Box::new(|m| m["errors"]["kind"] = "iid".into()), "belong to kind"),
        ("dup.json", Box::new(|m| m["errors"]["group_effects"][1]["name"] = "shop/cart-00001".into()), "twice"),
        ("neff.json", Box::new(|m| m["errors"]["effective_n"] = (-5.0).into()), "effective_n"),
    ];
    for (name, edit, want) in edits {
        let mut bad = m.clone();
        edit(&mut bad);
        let p = write(dir.path(), name, &serde_json::to_string_pretty(&bad).unwrap());
        let out =
            meshcap().args(["whatif", "--revisions", "5", "--model"]).arg(&p).assert().code(2).get_output().clone();
        let err = String::from_utf8(out.stderr).unwrap();
        assert!(err.contains(name) && err.contains(want), "{name}: {want:?} not in {err}");
    }
}

/// The second review's findings (each failed before its fix).
#[test]
fn second_review_cases() {
    let dir = tempdir();
    // A fleet snapshot, one reading per proxy, no time: auto pools it (iid), it does not fail.
    let snap = (0..30)
        .map(|i| format!("p{i},{},{}", 10 * i, 5e7 + 7e5 * (10 * i) as f64 + (i % 7) as f64 * 1e5))
        .collect::<Vec<_>>();
    let p = write(dir.path(), "snap.csv", &format!("proxy,revisions,memory\n{}\n", snap.join("\n")));
    let v = json(meshcap().arg("fit").arg(&p).args(["--format", "json"]));
    assert_eq!(v["errors"]["kind"], "iid");
    assert!(v["errors"]["reason"].as_str().unwrap().contains("one reading per proxy"));
    // Sub-byte memory (a lost unit): refused, not an "exact" fit printed with NaN.
    let tiny = (0..20).map(|i| format!("{i},{:e}", 1e-200 * (1.0 + (i % 3) as f64))).collect::<Vec<_>>();
    let p = write(dir.path(), "tiny.csv", &format!("revisions,memory\n{}\n", tiny.join("\n")));
    let err = meshcap().arg("fit").arg(&p).args(["--errors", "iid"]).assert().code(2).get_output().stderr.clone();
    assert!(String::from_utf8(err).unwrap().contains("tiny.csv:2:memory"));
    // HAC with every reading at one timestamp does not depend on the file's row order.
    let mut rows: Vec<String> = (0..60)
        .map(|i| format!("0,{},{}", 10 * (i % 6), 5e7 + 7e5 * (10 * (i % 6)) as f64 + ((i * 7) % 11) as f64 * 1e5))
        .collect();
    let a = write(dir.path(), "a.csv", &format!("time,revisions,memory\n{}\n", rows.join("\n")));
    rows.reverse();
    let b = write(dir.path(), "b.csv", &format!("time,revisions,memory\n{}\n", rows.join("\n")));
    let se = |p: &std::path::Path| {
        json(meshcap().arg("fit").arg(p).args(["--errors", "hac", "--format", "json"]))["coefficients"].clone()
    };
    assert_eq!(se(&a).to_string().replace("a.csv", ""), se(&b).to_string().replace("b.csv", ""));
    // -o through a symlink writes the file it points to and keeps the link.
    let real = dir.path().join("model.json");
    std::fs::write(&real, "old").unwrap();
    let link = dir.path().join("link.json");
    std::os::unix::fs::symlink(&real, &link).unwrap();
    meshcap().args(["fit", "data/knative-1.11-istio-1.18.csv", "-o"]).arg(&link).assert().success();
    assert!(std::fs::symlink_metadata(&link).unwrap().file_type().is_symlink());
    assert!(std::fs::read_to_string(&real).unwrap().contains("schema_version"));
}

#[test]
fn echoed_control_characters_are_escaped() {
    // Issue 13 §3: an ANSI escape in a value was echoed raw into the terminal.
    let out = meshcap()
        .args(["whatif", "--revisions", "5", "--proxy", "\u{1b}[2Jx\rq"])
        .assert()
        .code(2)
        .get_output()
        .clone();
    let err = String::from_utf8(out.stderr).unwrap();
    assert!(!err.contains('\u{1b}') && !err.contains('\r'), "{err:?}");
    assert!(err.contains("\\u{1b}[2Jx\\rq"), "{err:?}");
    assert_eq!(err.trim_end().lines().count(), 1);
}
