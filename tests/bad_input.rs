//! Bad input: one line naming file, line, column and value; exit code 2; never a panic.

use std::path::Path;

use crate::util::{meshcap, tempdir, write};

/// Run `meshcap fit FILE [extra]` and return stderr, asserting exit 2 and a one-line error.
fn fit_error(path: &Path, extra: &[&str]) -> String {
    let out = meshcap().arg("fit").arg(path).args(extra).assert().code(2).get_output().clone();
    let err = String::from_utf8(out.stderr).unwrap();
    assert_eq!(err.trim_end().lines().count(), 1, "one line: {err}");
    assert!(err.starts_with("error: "), "{err}");
    assert!(!err.contains("panicked"), "{err}");
    assert!(out.stdout.is_empty(), "nothing on stdout when failing");
    err
}

#[track_caller]
fn has(err: &str, parts: &[&str]) {
    for p in parts {
        assert!(err.contains(p), "{p:?} not in {err}");
    }
}

/// (file name, content, extra args, what the message must contain)
const CASES: &[(&str, &str, &[&str], &[&str])] = &[
    ("empty.csv", "", &[], &["empty.csv", "empty"]),
    ("comments.csv", "# only a comment\n", &[], &["comments.csv", "no header"]),
    ("header.csv", "revisions,memory\n", &[], &["header.csv", "no observations"]),
    ("nomem.csv", "revisions,mem\n1,2Mi\n", &[], &["nomem.csv", "no column named \"memory\"", "revisions, mem"]),
    ("unit.csv", "revisions,memory\n0,50Mi\n10,1GB\n", &[], &["unit.csv:3:memory", "\"1GB\"", "Ki/Mi/Gi"]),
    ("nan.csv", "revisions,memory\n0,50Mi\n10,NaN\n20,70Mi\n", &[], &["nan.csv:3:memory", "\"NaN\""]),
    ("inf.csv", "revisions,memory\n0,50Mi\n10,inf\n20,70Mi\n", &[], &["inf.csv:3:memory", "\"inf\""]),
    ("neg.csv", "revisions,memory\n0,50Mi\n10,-5Mi\n20,70Mi\n", &[], &["neg.csv:3:memory", "\"-5Mi\"", "negative"]),
    ("text.csv", "revisions,memory\n0,50Mi\nmany,60Mi\n20,70Mi\n", &[], &["text.csv:3:revisions", "\"many\""]),
    ("nanx.csv", "revisions,memory\n0,50Mi\nNaN,60Mi\n20,70Mi\n", &[], &["nanx.csv:3:revisions", "\"NaN\""]),
    ("one.csv", "revisions,memory\n0,50Mi\n", &[], &["one.csv", "1 usable row for 2 parameters"]),
    (
        "few.csv",
        "revisions,ports,memory\n0,1,50Mi\n10,3,60Mi\n20,2,70Mi\n",
        &["--x", "revisions,ports"],
        &["few.csv", "3 usable rows for 3 parameters"],
    ),
    (
        "same.csv",
        "revisions,memory\n5,50Mi\n5,60Mi\n5,70Mi\n",
        &["--x", "revisions"],
        &["same.csv", "revisions is constant", "5"],
    ),
    (
        "col.csv",
        "revisions,ports,memory\n0,0,50Mi\n10,80,60Mi\n20,160,70Mi\n30,240,81Mi\n",
        &["--x", "revisions,ports"],
        &["col.csv", "collinear", "ports, revisions", "--ports-per-revision"],
    ),
    ("dup.csv", "revisions,memory,revisions\n0,50Mi,0\n", &[], &["dup.csv:1", "\"revisions\" twice"]),
    (
        "ragged.csv",
        "revisions,memory\n0,50Mi\n10,60Mi,extra\n20,70Mi\n",
        &[],
        &["ragged.csv:3", "3 cells", "2 columns"],
    ),
    ("event.csv", "revisions,memory,event\n0,50Mi,\n10,60Mi,boom\n20,70Mi,\n", &[], &["event.csv:3:event", "\"boom\""]),
    ("empty-mem.csv", "revisions,memory\n0,50Mi\n10,\n20,70Mi\n", &[], &["empty-mem.csv:3:memory", "empty"]),
    ("time.csv", "revisions,memory,time\n0,50Mi,yesterday\n", &[], &["time.csv:2:time", "\"yesterday\""]),
    ("badjson.json", "{\"observations\": [ {\"revisions\": 1,, } ]}", &[], &["badjson.json:1", "malformed JSON"]),
    (
        "jsonval.json",
        "[{\"revisions\": 0, \"memory\": \"50Mi\"}, {\"revisions\": 1, \"memory\": \"5XB\"}]",
        &[],
        &["jsonval.json", "observation 2, key memory", "\"5XB\""],
    ),
    ("level.csv", "revisions,memory\n0,50Mi\n10,60Mi\n20,70Mi\n", &["--level", "1.5"], &["level", "1.5"]),
    (
        "badterm.csv",
        "revisions,memory\n0,50Mi\n10,60Mi\n20,70Mi\n",
        &["--x", "revisions^0"],
        &["revisions^0", "powers go from 1 to 10"],
    ),
    (
        "nocol.csv",
        "revisions,memory\n0,50Mi\n10,60Mi\n20,70Mi\n",
        &["--x", "pods"],
        &["nocol.csv", "no column named \"pods\""],
    ),
];

#[test]
fn every_bad_series_gets_a_one_line_error_and_exit_2() {
    let dir = tempdir();
    for (name, content, extra, want) in CASES {
        let p = write(dir.path(), name, content);
        let err = fit_error(&p, extra);
        has(&err, want);
    }
}

#[test]
fn missing_file() {
    let err = fit_error(Path::new("does/not/exist.csv"), &[]);
    has(&err, &["cannot read does/not/exist.csv"]);
}

#[test]
fn model_file_of_another_schema_version() {
    let dir = tempdir();
    let model = std::fs::read_to_string(crate::util::seed_model()).unwrap();
    let other = model.replacen("\"schema_version\": 2", "\"schema_version\": 99", 1);
    assert_ne!(model, other);
    let p = write(dir.path(), "old.json", &other);
    let out = meshcap().arg("show").arg(&p).assert().code(2).get_output().clone();
    let err = String::from_utf8(out.stderr).unwrap();
    has(&err, &["old.json", "schema version 99", "reads versions 1 to 2", "meshcap fit"]);
    let p = write(dir.path(), "garbage.json", "{\"hello\": 1}");
    let err = String::from_utf8(meshcap().arg("show").arg(&p).assert().code(2).get_output().stderr.clone()).unwrap();
    has(&err, &["garbage.json", "no schema_version"]);
}

#[test]
fn a_failed_write_leaves_no_file_and_inputs_untouched() {
    let dir = tempdir();
    let data = write(dir.path(), "d.csv", "revisions,memory\n0,50Mi\n10,60Mi\n20,71Mi\n");
    let before = std::fs::read(&data).unwrap();
    let target = dir.path().join("no-such-dir/model.json");
    let out = meshcap().arg("fit").arg(&data).arg("-o").arg(&target).assert().code(1).get_output().clone();
    let err = String::from_utf8(out.stderr).unwrap();
    has(&err, &["cannot write", "model.json"]);
    assert!(!target.exists());
    assert_eq!(std::fs::read(&data).unwrap(), before);
    // A successful write replaces the file whole and leaves no temp file behind.
    let good = dir.path().join("m.json");
    std::fs::write(&good, "old").unwrap();
    meshcap().arg("fit").arg(&data).arg("-o").arg(&good).assert().success();
    assert!(std::fs::read_to_string(&good).unwrap().contains("schema_version"));
    let leftovers: Vec<_> = std::fs::read_dir(dir.path())
        .unwrap()
        .filter_map(|e| e.ok())
        .filter(|e| e.file_name().to_string_lossy().contains(".tmp"))
        .collect();
    assert!(leftovers.is_empty(), "{leftovers:?}");
}

#[test]
fn bad_flags_exit_2() {
    meshcap().args(["fit"]).assert().code(2);
    meshcap().args(["fit", "x.csv", "--level", "abc"]).assert().code(2);
    meshcap().args(["nonsense"]).assert().code(2);
}

/// Regression: `-o /dev/null` once renamed a temp file over the device, leaving a plain file
/// that broke every later program on the machine. Devices and pipes are written in place.
#[test]
fn outputs_to_a_pipe_are_written_in_place() {
    use std::os::unix::fs::FileTypeExt;
    let dir = tempdir();
    let fifo = dir.path().join("pipe");
    assert!(std::process::Command::new("mkfifo").arg(&fifo).status().unwrap().success());
    let cases: Vec<Vec<&str>> = vec![
        vec!["sweep", "data/scenarios/example-topology.toml", "--summary"],
        vec!["sweep", "data/scenarios/example-topology.toml"],
        vec!["fit", "data/knative-1.11-istio-1.18.csv"],
        vec!["plot", "fit"],
    ];
    for args in cases {
        let reader = {
            let fifo = fifo.clone();
            std::thread::spawn(move || std::fs::read(fifo).unwrap())
        };
        meshcap().args(&args).arg("-o").arg(&fifo).assert().success();
        let got = reader.join().unwrap();
        assert!(std::fs::metadata(&fifo).unwrap().file_type().is_fifo(), "{args:?} replaced the pipe");
        assert!(!got.is_empty(), "{args:?} wrote nothing into the pipe");
        if args[0] == "sweep" {
            let direct = meshcap().args(&args).assert().success().get_output().stdout.clone();
            assert!(got == direct, "{args:?}: pipe bytes differ from stdout");
        }
        if args[0] == "plot" {
            assert_eq!(&got[1..4], b"PNG");
        }
    }
    let leftovers: Vec<_> =
        std::fs::read_dir(dir.path()).unwrap().filter_map(|e| e.ok()).filter(|e| e.file_name() != "pipe").collect();
    assert!(leftovers.is_empty(), "{leftovers:?}");
}
