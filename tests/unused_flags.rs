//! Flags that would do nothing are refused, not ignored (issue 21 §4): each case used to exit 0
//! with the flag silently dropped.

use crate::util::{fails, meshcap, root, tempdir};

#[test]
fn flags_another_chart_or_mode_uses_are_refused() {
    let dir = tempdir();
    let out = dir.path().join("x.png");
    let spec = root().join("data/scenarios/example-topology.toml");
    let cases: Vec<(Vec<String>, &str)> = vec![
        (vec!["plot".into(), "fit".into(), "--max-work".into(), "1e9".into()], "--max-work"),
        (vec!["plot".into(), "fit".into(), "--x-axis".into(), "limit".into()], "--x-axis"),
        (vec!["plot".into(), "residuals".into(), "--scenario".into(), "3".into()], "--scenario"),
        (vec!["plot".into(), "fit".into(), "--spec".into(), spec.display().to_string()], "--spec"),
        (
            vec![
                "plot".into(),
                "heatmap".into(),
                "--spec".into(),
                spec.display().to_string(),
                "--proxy".into(),
                "gateway".into(),
            ],
            "--proxy",
        ),
        (
            vec![
                "plot".into(),
                "fan".into(),
                "--spec".into(),
                spec.display().to_string(),
                "--where".into(),
                "limit=1Gi".into(),
            ],
            "--where",
        ),
    ];
    for (args, flag) in cases {
        let e = fails(meshcap().args(&args).arg("-o").arg(&out), 2);
        assert!(e.contains(flag) && e.contains("would do nothing"), "{args:?}: {e}");
        assert!(!out.exists(), "{args:?} wrote a chart");
    }
    let e = fails(meshcap().args(["sweep"]).arg(&spec).args(["--max-work", "1e9", "-q"]), 2);
    assert!(e.contains("--max-work") && e.contains("--simulate"), "{e}");
    let e = fails(meshcap().args(["report", "--heatmap-x", "limit", "--out"]).arg(dir.path().join("r")), 2);
    assert!(e.contains("--heatmap-x") && e.contains("--spec"), "{e}");
    assert!(!dir.path().join("r").exists());
}
