//! The distributed path is real: `deploy/kubernetes/sweep-job.yaml` is read as shipped, its
//! container command runs once per completion index (as the Indexed Job would, with
//! `JOB_COMPLETION_INDEX` set, the ConfigMap's files under the mount path, and `meshcap` on
//! PATH), and the merged parts equal the unsharded run byte for byte.

use std::path::Path;

use crate::util::{meshcap, root, tempdir};

/// The block scalar `key: |` at `indent` spaces, as the ConfigMap mounts it (a file).
fn block(yaml: &str, key: &str, indent: usize) -> String {
    let head = format!("{}{key}: |", " ".repeat(indent));
    let mut lines = yaml.lines().skip_while(|l| *l != head).skip(1);
    let body = " ".repeat(indent + 2);
    let mut out = String::new();
    for l in lines.by_ref() {
        if let Some(text) = l.strip_prefix(&body) {
            out.push_str(text);
        } else if !l.trim().is_empty() {
            break;
        }
        out.push('\n');
    }
    assert!(!out.is_empty(), "no {key} in the manifest");
    out
}

/// The value of `key: value` (first occurrence).
fn scalar<'a>(yaml: &'a str, key: &str) -> &'a str {
    yaml.lines().find_map(|l| l.trim().strip_prefix(&format!("{key}: "))).unwrap_or_else(|| panic!("no {key}"))
}

#[test]
fn the_indexed_job_merges_to_the_unsharded_run() {
    let yaml = std::fs::read_to_string(root().join("deploy/kubernetes/sweep-job.yaml")).unwrap();
    assert_eq!(scalar(&yaml, "completionMode"), "Indexed");
    let completions: u32 = scalar(&yaml, "completions").parse().unwrap();
    assert!(completions > 1, "a sweep split in {completions}");
    // The command is a flow sequence of double-quoted strings: JSON.
    let command: Vec<String> = serde_json::from_str(scalar(&yaml, "command")).unwrap();
    assert_eq!(command[..2], ["sh", "-c"]);

    // The volumes, as the pod sees them, moved under a temp dir.
    let dir = tempdir();
    let (work, out) = (dir.path().join("work"), dir.path().join("out"));
    std::fs::create_dir_all(&work).unwrap();
    std::fs::create_dir_all(&out).unwrap();
    let relocate =
        |s: &str| s.replace("/work/", &format!("{}/", work.display())).replace("/out/", &format!("{}/", out.display()));
    let model = block(&yaml, "model.json", 2);
    // The manifest ships the committed seed model, unedited.
    assert_eq!(model, std::fs::read_to_string(root().join("models/knative-1.11-istio-1.18.json")).unwrap());
    std::fs::write(work.join("model.json"), &model).unwrap();
    let spec = work.join("spec.toml");
    std::fs::write(&spec, relocate(&block(&yaml, "spec.toml", 2))).unwrap();

    let bin = Path::new(env!("CARGO_BIN_EXE_meshcap")).parent().unwrap().to_path_buf();
    let path = format!("{}:{}", bin.display(), std::env::var("PATH").unwrap_or_default());
    let script = relocate(&command[2]);
    let mut parts = Vec::new();
    for index in 0..completions {
        let status = std::process::Command::new(&command[0])
            .args([&command[1], &script])
            .env("JOB_COMPLETION_INDEX", index.to_string())
            .env("PATH", &path)
            .status()
            .unwrap();
        assert!(status.success(), "completion {index}: {status}");
        parts.push(out.join(format!("part-{index}.json")));
    }
    let merged = meshcap().arg("merge").args(&parts).assert().success().get_output().stdout.clone();
    let whole = meshcap().args(["sweep", "--summary", "-q"]).arg(&spec).assert().success().get_output().stdout.clone();
    let v: serde_json::Value = serde_json::from_slice(&whole).unwrap();
    assert_eq!(v["scenarios"], v["grid_size"], "the unsharded run covers the grid");
    assert!(merged == whole, "the Job's merged parts differ from the unsharded run");
    // One completion lost (a pod that never ran): merge refuses instead of answering for 3/4.
    let err = crate::util::fails(meshcap().arg("merge").args(&parts[..parts.len() - 1]), 2);
    assert!(err.contains("missing"), "{err}");
}
