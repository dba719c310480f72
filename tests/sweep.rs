//! `meshcap sweep` and `merge`: GC steady states, determinism, shards, bad specs.

use crate::util::{meshcap, root, tempdir, write};

const SPEC: &str = "data/scenarios/gc-policies.toml";

fn run(args: &[&str], threads: &str) -> Vec<u8> {
    meshcap().args(args).env("RAYON_NUM_THREADS", threads).assert().success().get_output().stdout.clone()
}

#[test]
fn gc_steady_state_through_the_cli() {
    let dir = tempdir();
    let model = root().join("models/knative-1.11-istio-1.18.json");
    let spec = write(
        dir.path(),
        "gc.toml",
        &format!(
            "model = {:?}\n[axes]\nnamespaces = [1]\nknative_services = [1]\nupdates_per_day = [1, 100, 1000]\nmax_non_active_revisions = [1000, \"disabled\"]\n",
            model.display().to_string()
        ),
    );
    let out = String::from_utf8(run(&["sweep", spec.to_str().unwrap()], "2")).unwrap();
    let col = out.lines().next().unwrap().split(',').position(|c| c == "retained_per_service").unwrap();
    let retained: Vec<&str> = out.lines().skip(1).map(|l| l.split(',').nth(col).unwrap()).collect();
    // Defaults: 1/day keeps the minimum 20 non-active + the active one; 100/day keeps those
    // created within 48h (199 + 1); 1000/day hits max-non-active 1000 (+1), or 1999 + 1 when
    // max is disabled.
    assert_eq!(retained, ["21", "21", "200", "200", "1001", "2000"]);
}

#[test]
fn rows_and_summary_are_identical_at_any_thread_count() {
    for args in [vec!["sweep", SPEC], vec!["sweep", SPEC, "--format", "jsonl"], vec!["sweep", SPEC, "--summary"]] {
        let one = run(&args, "1");
        let two = run(&args, "2");
        assert!(!one.is_empty());
        assert!(one == two, "{args:?} differs between 1 and 2 threads");
    }
}

#[test]
fn sharded_and_merged_equals_unsharded() {
    let dir = tempdir();
    for (extra, ext) in [(vec![], "csv"), (vec!["--format", "jsonl"], "jsonl"), (vec!["--summary"], "json")] {
        let whole = run(&[&["sweep", SPEC][..], &extra[..]].concat(), "2");
        let mut parts = Vec::new();
        for k in 0..3 {
            let p = dir.path().join(format!("part{k}.{ext}"));
            let shard = format!("{k}/3");
            let mut args = vec!["sweep", SPEC, "--shard", &shard, "-o", p.to_str().unwrap()];
            args.extend(&extra);
            meshcap().args(&args).assert().success();
            parts.push(p);
        }
        let merged = meshcap().arg("merge").args(&parts).assert().success().get_output().stdout.clone();
        assert!(merged == whole, "{ext}: merged shards differ from the unsharded run");
        // Out of order: rows refuse, naming the file.
        if ext != "json" {
            let err = meshcap().arg("merge").arg(&parts[1]).arg(&parts[0]).assert().code(2).get_output().stderr.clone();
            assert!(String::from_utf8(err).unwrap().contains("part1"));
        }
    }
}

#[test]
fn summary_names_the_frontier_and_worst() {
    let v: serde_json::Value = serde_json::from_slice(&run(&["sweep", SPEC, "--summary"], "2")).unwrap();
    assert_eq!(v["grid_size"], 3456);
    assert_eq!(v["scenarios"].as_u64().unwrap(), v["safe"].as_u64().unwrap() + v["unsafe_scenarios"].as_u64().unwrap());
    let worst = v["worst"].as_array().unwrap();
    assert_eq!(worst.len(), 10);
    let margins: Vec<f64> = worst.iter().map(|w| w["margin_bytes"].as_f64().unwrap()).collect();
    assert!(margins.windows(2).all(|w| w[0] <= w[1]), "worst first: {margins:?}");
    let upd = v["frontier"].as_array().unwrap().iter().find(|f| f["axis"] == "updates_per_day").unwrap();
    let req: Vec<f64> =
        upd["values"].as_array().unwrap().iter().map(|x| x["required_limit_bytes"].as_f64().unwrap()).collect();
    assert!(req.windows(2).all(|w| w[0] <= w[1]), "more updates never need less memory: {req:?}");
}

#[test]
fn namespace_scope_does_not_help_gateways() {
    let out = String::from_utf8(run(&["sweep", SPEC], "2")).unwrap();
    let header: Vec<&str> = out.lines().next().unwrap().split(',').collect();
    let col = |n: &str| header.iter().position(|c| *c == n).unwrap();
    let (scope, sc, gw) = (col("scope"), col("sidecar_revisions"), col("gateway_revisions"));
    let mut seen = 0;
    for l in out.lines().skip(1) {
        let f: Vec<&str> = l.split(',').collect();
        if f[scope] == "namespace" {
            let (s, g): (f64, f64) = (f[sc].parse().unwrap(), f[gw].parse().unwrap());
            assert!(s <= g, "{l}");
            seen += 1;
        }
    }
    assert!(seen > 0);
}

#[test]
fn topology_spec_runs_with_hosts_scope() {
    let out =
        String::from_utf8(run(&["sweep", "data/scenarios/example-topology.toml", "--format", "jsonl"], "2")).unwrap();
    let first: serde_json::Value = serde_json::from_str(out.lines().next().unwrap()).unwrap();
    assert_eq!(first["id"], 0);
    assert!(out.contains("hosts=./*,istio-system/*,knative-serving/*"));
}

#[test]
fn bad_specs_name_the_key_and_exit_2() {
    let dir = tempdir();
    let model = root().join("models/knative-1.11-istio-1.18.json").display().to_string();
    let cases = [
        ("unknown.toml", format!("model = {model:?}\ncolour = 1\n"), "colour"),
        ("axis.toml", format!("model = {model:?}\n[axes]\nlimits = [\"1Gi\"]\n"), "axes.limits"),
        ("empty.toml", format!("model = {model:?}\n[axes]\nlimit = []\n"), "axes.limit: the list is empty"),
        ("neg.toml", format!("model = {model:?}\n[axes]\nupdates_per_day = [1, -2]\n"), "axes.updates_per_day: -2"),
        ("scope.toml", format!("model = {model:?}\n[axes]\nscope = [\"galaxy\"]\n"), "\"galaxy\""),
        ("dur.toml", format!("model = {model:?}\n[axes]\nretain_since_create_time = [\"2 days\"]\n"), "\"2 days\""),
        (
            "gcmax.toml",
            format!("model = {model:?}\n[axes]\nmax_non_active_revisions = [\"none\"]\n"),
            "max_non_active_revisions",
        ),
        ("nomodel.toml", "[axes]\nlimit = [\"1Gi\"]\n".to_string(), "model"),
    ];
    for (name, text, want) in cases {
        let p = write(dir.path(), name, &text);
        let err = meshcap().arg("sweep").arg(&p).assert().code(2).get_output().stderr.clone();
        let err = String::from_utf8(err).unwrap();
        assert!(err.contains(want), "{name}: {want:?} not in {err}");
        assert!(err.contains(name), "{name}: file not named in {err}");
        assert_eq!(err.trim_end().lines().count(), 1, "{err}");
    }
    let err = meshcap().args(["sweep", SPEC, "--max-scenarios", "1000"]).assert().code(2).get_output().stderr.clone();
    let err = String::from_utf8(err).unwrap();
    assert!(err.contains("3456 scenarios") && err.contains("--max-scenarios 1000"), "{err}");
    meshcap().args(["sweep", SPEC, "--shard", "3/3"]).assert().code(2);
}

#[test]
fn no_updates_keep_what_gc_leaves_of_the_start() {
    let dir = tempdir();
    let model = root().join("models/knative-1.11-istio-1.18.json");
    let spec = write(
        dir.path(),
        "idle.toml",
        &format!(
            "model = {:?}\n[mesh]\nstart = 40\n[axes]\nnamespaces = [1]\nknative_services = [10]\nupdates_per_day = [0]\n",
            model.display().to_string()
        ),
    );
    let out = String::from_utf8(run(&["sweep", spec.to_str().unwrap()], "2")).unwrap();
    let header: Vec<&str> = out.lines().next().unwrap().split(',').collect();
    let row: Vec<&str> = out.lines().nth(1).unwrap().split(',').collect();
    let col = |n: &str| header.iter().position(|c| *c == n).unwrap();
    // 40 at the start; with no updates every non-active revision ages past 48h and GC keeps
    // the minimum 20 plus the active one.
    assert_eq!(row[col("retained_per_service")], "21");
    assert_eq!(row[col("sidecar_revisions")], "210");
}

#[test]
fn merge_refuses_repeated_missing_and_simulate_summaries() {
    let dir = tempdir();
    let mut parts = Vec::new();
    for k in 0..3 {
        let p = dir.path().join(format!("s{k}.json"));
        meshcap().args(["sweep", SPEC, "--summary", "--shard", &format!("{k}/3"), "-o"]).arg(&p).assert().success();
        parts.push(p);
    }
    let err = |files: &[&std::path::PathBuf]| {
        let out = meshcap().arg("merge").args(files).assert().code(2).get_output().stderr.clone();
        String::from_utf8(out).unwrap()
    };
    assert!(err(&[&parts[0], &parts[0], &parts[2]]).contains("s0.json"), "repeated shard");
    assert!(err(&[&parts[0], &parts[1]]).contains("missing"), "missing last shard");
    let sim = dir.path().join("sim.json");
    meshcap()
        .args(["simulate", "data/scenarios/example-topology.toml", "--summary", "-q", "--paths", "10", "-o"])
        .arg(&sim)
        .assert()
        .success();
    assert!(err(&[&sim]).contains("simulate summary cannot be merged"));
}

/// Per-namespace scopes in a spec's scope axis, and knative-serving as mesh infrastructure
/// (its activator sends to every revision's private Service: knative/serving
/// `pkg/activator/net/revision_backends.go`, knative-v1.11.0). Hand counts on
/// data/topology-example.toml at 1 update a day (GC keeps 20 non-active + 1 active = 21 per
/// service): 31 services, 12 of them ml's (exported to ml and istio-system only), 19 exported
/// everywhere. The most exposed sidecar sees: mesh 31 x 21 = 651 (ml); namespace 12 x 21 = 252
/// (ml); shop=mesh 19 x 21 = 399 (shop); ml=mesh 651. With knative-serving injected, namespace
/// gives 399: the activator's sidecar keeps the 19 services exported to it.
#[test]
fn per_namespace_scopes_and_the_activator_in_a_spec() {
    let dir = tempdir();
    let model = root().join("models/knative-1.11-istio-1.18.json").display().to_string();
    let example = std::fs::read_to_string(root().join("data/topology-example.toml")).unwrap();
    let injected =
        example.replace("name = \"knative-serving\"\nsidecars = false", "name = \"knative-serving\"\nsidecars = true");
    assert_ne!(example, injected);
    let revisions = |topology: &str, scopes: &str| -> Vec<(String, f64)> {
        let t = write(dir.path(), "t.toml", topology);
        let spec = write(
            dir.path(),
            "s.toml",
            &format!(
                "model = {model:?}\ntopology = {:?}\n[axes]\nupdates_per_day = [1]\nscope = {scopes}\nlimit = [\"1Gi\"]\n",
                t.display().to_string()
            ),
        );
        let out = String::from_utf8(run(&["sweep", spec.to_str().unwrap(), "--format", "jsonl"], "2")).unwrap();
        out.lines()
            .map(|l| {
                let v: serde_json::Value = serde_json::from_str(l).unwrap();
                (v["scope"].as_str().unwrap().to_string(), v["sidecar_revisions"].as_f64().unwrap())
            })
            .collect()
    };
    let got = revisions(&example, r#"["mesh", "namespace", "namespace; shop=mesh", ["namespace", "ml=mesh"]]"#);
    let want = [("mesh", 651.0), ("namespace", 252.0), ("namespace; shop=mesh", 399.0), ("namespace; ml=mesh", 651.0)];
    assert_eq!(got, want.map(|(s, r)| (s.to_string(), r)));
    assert_eq!(revisions(&injected, r#"["namespace"]"#), [("namespace".to_string(), 399.0)]);
    // `--scope` replaces the spec's axis, overrides applied to each value, in sweep and simulate.
    let spec = root().join("data/scenarios/example-topology.toml");
    let args = ["--scope", "mesh", "--scope", "namespace", "--scope", "shop=mesh", "--format", "jsonl"];
    let out = String::from_utf8(run(&[&["sweep", spec.to_str().unwrap()][..], &args[..]].concat(), "2")).unwrap();
    let scopes: std::collections::BTreeSet<String> = out
        .lines()
        .map(|l| serde_json::from_str::<serde_json::Value>(l).unwrap()["scope"].as_str().unwrap().to_string())
        .collect();
    assert_eq!(scopes.into_iter().collect::<Vec<_>>(), ["mesh; shop=mesh", "namespace; shop=mesh"]);
    let sim = [
        "simulate",
        spec.to_str().unwrap(),
        "--summary",
        "-q",
        "--paths",
        "5",
        "--scope",
        "namespace",
        "--scope",
        "shop=mesh",
    ];
    let summary = String::from_utf8(run(&sim, "2")).unwrap();
    assert!(summary.contains("namespace; shop=mesh"), "{summary}");
    // A generated mesh names no namespaces: per-namespace scopes are refused, naming the flag.
    let err = meshcap().args(["sweep", SPEC, "--scope", "shop=mesh"]).assert().code(2).get_output().stderr.clone();
    let err = String::from_utf8(err).unwrap();
    assert!(err.contains("--scope") && err.contains("needs named namespaces"), "{err}");
    // Overrides naming what cannot be scoped are refused, naming the axis.
    for (scopes, why) in [
        (r#"["namespace; knative-serving=namespace"]"#, "mesh infrastructure"),
        (r#"["namespace; nowhere=mesh"]"#, "does not list it"),
    ] {
        let t = write(dir.path(), "t.toml", &injected);
        let spec = write(
            dir.path(),
            "bad.toml",
            &format!("model = {model:?}\ntopology = {:?}\n[axes]\nscope = {scopes}\n", t.display().to_string()),
        );
        let err = meshcap().arg("sweep").arg(&spec).assert().code(2).get_output().stderr.clone();
        let err = String::from_utf8(err).unwrap();
        assert!(err.contains("axes.scope") && err.contains(why), "{scopes}: {err}");
    }
}
