//! `meshcap merge` takes nothing a shard says on trust (issue 21 §2): rows must be exactly the
//! ids their stamp names, once each, in order; every shard of the split must be there; a
//! summary's counts must agree with what they can be recomputed from. Each refusal is exit 2,
//! one line naming the file, the line and the value, and no output file.

use std::path::{Path, PathBuf};

use meshcap::scenario::Summary;

use crate::util::{fails, meshcap, tempdir};

const SPEC: &str = "data/scenarios/gc-policies.toml";

/// Shard `k` of 3 of the gc-policies sweep, written to `dir/name`.
fn shard(dir: &Path, name: &str, k: u32, extra: &[&str]) -> PathBuf {
    let p = dir.join(name);
    meshcap().args(["sweep", SPEC, "-q", "--shard", &format!("{k}/3"), "-o"]).arg(&p).args(extra).assert().success();
    p
}

/// Merge `parts` into `dir/merged`, expecting exit 2: the one-line error, after checking that
/// nothing was written and no input changed.
fn refused(dir: &Path, parts: &[&PathBuf]) -> String {
    let before: Vec<Vec<u8>> = parts.iter().map(|p| std::fs::read(p).unwrap()).collect();
    let out = dir.join("merged");
    let err = fails(meshcap().arg("merge").args(parts).arg("-o").arg(&out), 2);
    assert!(!out.exists(), "a refused merge wrote {}", out.display());
    let after: Vec<Vec<u8>> = parts.iter().map(|p| std::fs::read(p).unwrap()).collect();
    assert!(before == after, "merge changed its inputs");
    err
}

/// The gc-policies grid has 3 x 3 x 1 x 4 x 2 x 1 x 2 x 2 x 2 x 1 x 1 x 1 x 3 = 3456 scenarios
/// (tests/sweep.rs checks `grid_size`); shard 1/3 covers ids 1152..2304 (3456 x 1/3 to 3456 x 2/3).
/// Its third row (scenario 1154) replaced by a copy of its second (1153): the stamp and the row
/// count stay right, so only the ids show it. CSV rows start on line 3 (stamp, header), JSON
/// Lines rows on line 2, so the repeat is on line 5 or 4.
#[test]
fn a_shard_with_one_row_repeated_and_one_missing_is_refused() {
    let dir = tempdir();
    for (extra, ext, first_row_line) in [(vec![], "csv", 3), (vec!["--format", "jsonl"], "jsonl", 2)] {
        let parts: Vec<PathBuf> = (0..3).map(|k| shard(dir.path(), &format!("p{k}.{ext}"), k, &extra)).collect();
        let text = std::fs::read_to_string(&parts[1]).unwrap();
        let mut lines: Vec<&str> = text.lines().collect();
        let (second, third) = (first_row_line + 1, first_row_line + 2);
        let id = |l: &str| l.trim_start_matches("{\"id\":").split(',').next().unwrap().to_string();
        assert_eq!((id(lines[second - 1]), id(lines[third - 1])), ("1153".into(), "1154".into()), "{ext}");
        lines[third - 1] = lines[second - 1];
        std::fs::write(&parts[1], lines.join("\n") + "\n").unwrap();
        let err = refused(dir.path(), &[&parts[0], &parts[1], &parts[2]]);
        assert!(err.contains(&format!("p1.{ext}:{third}")), "{ext}: names the file and line: {err}");
        assert!(err.contains("scenario 1153 repeated") && err.contains("1154 is missing"), "{ext}: {err}");
    }
}

/// A row merge given the first shards only: the trailing ones are named, for CSV and JSON Lines.
#[test]
fn a_row_merge_missing_its_trailing_shards_is_refused() {
    let dir = tempdir();
    for (extra, ext) in [(vec![], "csv"), (vec!["--format", "jsonl"], "jsonl")] {
        let parts: Vec<PathBuf> = (0..3).map(|k| shard(dir.path(), &format!("t{k}.{ext}"), k, &extra)).collect();
        let err = refused(dir.path(), &[&parts[0], &parts[1]]);
        assert!(err.contains("shard 2/3 is missing") && err.contains(&format!("t1.{ext}")), "{ext}: {err}");
        let err = refused(dir.path(), &[&parts[0]]);
        assert!(err.contains("shards 1/3 to 2/3 are missing"), "{ext}: {err}");
    }
}

/// Summary shards whose counts were edited, each edit keeping the file valid JSON of the right
/// shape (and the simple totals where it can), so only the cross-checks find it.
#[test]
fn an_edited_summary_count_is_refused() {
    let dir = tempdir();
    let parts: Vec<PathBuf> = (0..3).map(|k| shard(dir.path(), &format!("s{k}.json"), k, &["--summary"])).collect();
    // Edited through the summary type, so the file keeps meshcap's own key order and layout.
    let original: Summary = serde_json::from_slice(&std::fs::read(&parts[1]).unwrap()).unwrap();
    assert!(original.safe > 0, "the shard needs a safe scenario to move");
    // The first frontier axis with at least two values.
    let axis = original.frontier.iter().position(|f| f.values.len() > 1).unwrap();
    type Edit = Box<dyn Fn(&mut Summary)>;
    let edits: Vec<(&str, Edit, &str)> = vec![
        // One scenario moved from safe to unsafe: safe + unsafe still equals scenarios, but the
        // frontier's unsafe counts no longer sum to it.
        (
            "safe moved to unsafe",
            Box::new(|s| {
                s.safe -= 1;
                s.unsafe_scenarios += 1;
            }),
            "\"unsafe_scenarios\"",
        ),
        ("scenarios", Box::new(|s| s.scenarios += 5), "\"scenarios\""),
        // One scenario moved between two values of an axis: the axis still sums to the shard.
        (
            "frontier value",
            Box::new(move |s| {
                s.frontier[axis].values[0].scenarios += 1;
                s.frontier[axis].values[1].scenarios -= 1;
            }),
            "\"scenarios\"",
        ),
    ];
    for (what, edit, key) in edits {
        let mut v = original.clone();
        edit(&mut v);
        assert!(v != original, "{what}: an edit");
        let text = serde_json::to_string_pretty(&v).unwrap() + "\n";
        std::fs::write(&parts[1], &text).unwrap();
        let err = refused(dir.path(), &[&parts[0], &parts[1], &parts[2]]);
        let line: usize = err
            .split("s1.json:")
            .nth(1)
            .and_then(|r| r.split(|c: char| !c.is_ascii_digit()).next())
            .and_then(|n| n.parse().ok())
            .unwrap_or_else(|| panic!("{what}: names s1.json and a line: {err}"));
        assert!(text.lines().nth(line - 1).unwrap().contains(key), "{what}: line {line} is not {key}: {err}");
    }
    // Unedited again, the three merge.
    std::fs::write(&parts[1], serde_json::to_string_pretty(&original).unwrap() + "\n").unwrap();
    meshcap().arg("merge").args(&parts).assert().success();
    // The trailing summary shard missing: its scenarios (2304..3456, 3456 x 2/3 to 3456) named.
    let err = refused(dir.path(), &[&parts[0], &parts[1]]);
    assert!(err.contains("scenarios 2304..3456 of 0..3456 are missing") && err.contains("s1.json"), "{err}");
}
