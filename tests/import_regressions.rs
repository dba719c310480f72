//! Regressions from the internal review of the importers: each test names the defect it
//! guards against.

use std::path::Path;

use crate::util::{fails, live, meshcap, root, serve, tempdir, write};

fn body(points: &[(f64, &str)]) -> String {
    let vals: Vec<String> = points.iter().map(|(t, v)| format!("[{t},\"{v}\"]")).collect();
    format!(
        "{{\"status\":\"success\",\"data\":{{\"resultType\":\"matrix\",\"result\":[{{\"metric\":{{\"pod\":\"a\"}},\"values\":[{}]}}]}}}}",
        vals.join(",")
    )
}

fn prom(dir: &Path, mem: &str, ports: &str) -> assert_cmd::Command {
    let (m, p) = (write(dir, "m.json", mem), write(dir, "p.json", ports));
    let mut c = meshcap();
    c.args(["import", "prometheus", "--memory-file"]).arg(m).arg("--ports-file").arg(p);
    c
}

#[test]
fn huge_timeout_and_tiny_step_are_refused_not_panicked_or_hung() {
    let base = ["import", "prometheus", "--url", "http://127.0.0.1:9", "--memory", "m", "--ports", "p"];
    let err =
        fails(meshcap().args(base).args(["--start", "1700000000", "--end", "1700000600", "--timeout", "1e300"]), 2);
    assert!(err.contains("--timeout must be between 1ms and 24h"), "{err}");
    let started = std::time::Instant::now();
    let err = fails(meshcap().args(base).args(["--start", "0", "--end", "now", "--step", "0.00001"]), 2);
    assert!(err.contains("steps of 0.00001 s; at most 1e7"), "{err}");
    assert!(started.elapsed().as_secs() < 5, "refused before building windows");
    let err = fails(meshcap().args(base).args(["--start", "1e20", "--end", "2e20", "--step", "1ms"]), 2);
    // 1e20 as milliseconds is still the year 3 billion: nanoseconds (series::plausible's rule).
    assert!(err.contains("is in nanoseconds") && err.contains("divide by 1000000000"), "{err}");
}

#[test]
fn importers_refuse_to_overwrite_their_inputs() {
    let dir = tempdir();
    let mem = body(&[(0.0, "52428800"), (30.0, "53428800")]);
    let m = write(dir.path(), "m.json", &mem);
    let p = write(dir.path(), "p.json", &body(&[(0.0, "0"), (30.0, "8")]));
    let err = fails(
        meshcap().args(["import", "prometheus", "--memory-file"]).arg(&m).arg("--ports-file").arg(&p).arg("-o").arg(&m),
        2,
    );
    assert!(err.contains("is an input"), "{err}");
    assert_eq!(std::fs::read_to_string(&m).unwrap(), mem);
    let g = write(dir.path(), "g.csv", "Time,mem,clusters\n0,50 MiB,0\n30,51 MiB,8\n");
    fails(meshcap().args(["import", "grafana", "--memory", "mem", "--ports", "clusters"]).arg(&g).arg("-o").arg(&g), 2);
    let k = write(dir.path(), "k.json", r#"{"kind":"List","items":[]}"#);
    fails(meshcap().args(["import", "kubectl"]).arg(&k).arg("-o").arg(&k), 2);
    let i = write(dir.path(), "i.json", "[]");
    fails(meshcap().args(["import", "istioctl"]).arg(&i).arg("-o").arg(&i), 2);
    assert_eq!(std::fs::read_to_string(&i).unwrap(), "[]");
}

#[test]
fn grafana_same_named_columns_need_file_column_and_one_column_serves_one_flag() {
    let dir = tempdir();
    let a = write(
        dir.path(),
        "mem.csv",
        "\"Time\",\"Value\"\n1704067200000,52 MiB\n1704067230000,60 MiB\n1704067260000,68 MiB\n",
    );
    let b =
        write(dir.path(), "clusters.csv", "\"Time\",\"Value\"\n1704067200000,0\n1704067230000,80\n1704067260000,160\n");
    let grafana = |memory: &str, ports: &str| {
        let mut c = meshcap();
        c.args(["import", "grafana", "--memory", memory, "--ports", ports]).arg(&a).arg(&b);
        c
    };
    let err = fails(&mut grafana("Value", "Value"), 2);
    assert!(err.contains("matches 2 columns") && err.contains("FILE:COLUMN"), "{err}");
    let out = grafana("mem.csv:Value", "clusters.csv:Value").assert().success().get_output().stdout.clone();
    assert!(String::from_utf8(out).unwrap().ends_with("time,ports,memory\n2024-01-01T00:00:00Z,0,54525952\n2024-01-01T00:00:30Z,80,62914560\n2024-01-01T00:01:00Z,160,71303168\n"));
    let err = fails(&mut grafana("mem.csv:Value", "mem.csv:Value"), 2);
    assert!(err.contains("both name"), "{err}");
    // Negative memory never reaches the written series.
    let n = write(dir.path(), "neg.csv", "Time,mem,clusters\n0,-5 MiB,0\n30,51 MiB,8\n");
    let err = fails(meshcap().args(["import", "grafana", "--memory", "mem", "--ports", "clusters"]).arg(&n), 2);
    assert!(
        err.contains("neg.csv:1 column \"mem\": memory is -5242880") && err.contains("cannot be negative"),
        "{err}"
    );
    // Two rows at one time would be re-paired with the wrong values.
    let d = write(dir.path(), "dup.csv", "Time,mem,clusters\n0,5 MiB,1\n0,6 MiB,2\n30,7 MiB,3\n");
    let err = fails(meshcap().args(["import", "grafana", "--memory", "mem", "--ports", "clusters"]).arg(&d), 2);
    assert!(err.contains("two values at 1970-01-01T00:00:00Z"), "{err}");
    // Tab-separated "Download for Excel".
    let t = write(dir.path(), "tab.csv", "sep=\t\nTime\tmem\tclusters\n0\t50 MiB\t0\n30\t60 MiB\t100\n");
    meshcap().args(["import", "grafana", "--memory", "mem", "--ports", "clusters"]).arg(&t).assert().success();
}

#[test]
fn prometheus_millisecond_and_duplicate_timestamps_are_refused() {
    let dir = tempdir();
    let ms = body(&[(1_700_000_000_000.0, "1"), (1_700_000_030_000.0, "2")]);
    let err = fails(&mut prom(dir.path(), &ms, &ms), 2);
    assert!(err.contains("in milliseconds") && err.contains("unix seconds"), "{err}");
    let dup = body(&[(0.0, "52428800"), (0.0, "52428801"), (30.0, "52428802")]);
    let err = fails(&mut prom(dir.path(), &dup, &body(&[(0.0, "1"), (30.0, "2")])), 2);
    assert!(err.contains("has a sample at 1970-01-01T00:00:00Z twice"), "{err}");
    let ok = body(&[(0.0, "52428800"), (30.0, "52428801")]);
    let err = fails(prom(dir.path(), &ok, &ok).args(["--select", "pdo=a"]), 2);
    assert!(err.contains("no series of any response has the label \"pdo\" (labels seen: pod)"), "{err}");
    let err = fails(prom(dir.path(), &ok, &ok).args(["--limit", "128"]), 2);
    assert!(err.contains("under 1Mi"), "{err}");
    let err = fails(prom(dir.path(), &ok, &ok).args(["--format", "json"]), 2);
    assert!(err.contains("-o"), "{err}");
}

#[test]
fn credentials_never_reach_messages() {
    let err = fails(
        meshcap().args([
            "import",
            "prometheus",
            "--url",
            "admin:s3cret@prom:9090",
            "--memory",
            "m",
            "--ports",
            "p",
            "--start",
            "now-1h",
        ]),
        2,
    );
    assert!(!err.contains("s3cret"), "{err}");
    let err = fails(
        meshcap().args([
            "import",
            "prometheus",
            "--url",
            "http://prom:9090?token=X1",
            "--memory",
            "m",
            "--ports",
            "p",
            "--start",
            "now-1h",
        ]),
        2,
    );
    assert!(!err.contains("X1") && err.contains("no query string"), "{err}");
    // A server whose error page echoes the Authorization header.
    let (url, _) = serve(|head| {
        let auth = head.lines().find(|l| l.to_ascii_lowercase().starts_with("authorization:")).unwrap_or("");
        Some((403, format!("denied: {auth}")))
    });
    let err = fails(
        live(&url).args(["--bearer-token-env", "MESHCAP_REVIEW_TOKEN"]).env("MESHCAP_REVIEW_TOKEN", "supersecrettoken"),
        1,
    );
    assert!(
        err.contains("HTTP 403") && err.contains("Bearer <redacted>") && !err.contains("supersecrettoken"),
        "{err}"
    );
}

#[test]
fn a_live_answer_that_is_not_json_is_the_servers_fault() {
    let (url, _) = serve(|_| Some((200, "<html>login</html>".to_string())));
    let err = fails(&mut live(&url), 1);
    assert!(err.contains(&format!("memory query to {url}")) && err.contains("malformed JSON at byte 0"), "{err}");
}

#[test]
fn kubectl_duplicates_count_once_and_raw_lists_take_their_kind() {
    let dir = tempdir();
    let list = root().join("tests/fixtures/kubectl-knative-list.json");
    let out = dir.path().join("t.toml");
    let printed = meshcap()
        .args(["import", "kubectl"])
        .arg(&list)
        .arg(&list)
        .arg("-o")
        .arg(&out)
        .assert()
        .success()
        .get_output()
        .stdout
        .clone();
    let toml = std::fs::read_to_string(&out).unwrap();
    assert!(toml.contains("{ name = \"cart\", revisions = 3, ports_per_revision = 8, created = ["), "{toml}");
    assert!(String::from_utf8(printed).unwrap().contains("skipped 33 duplicate objects"));
    // `kubectl get --raw /api/v1/services`: items without kind or apiVersion.
    let raw = write(
        dir.path(),
        "raw.json",
        r#"{"kind":"ServiceList","apiVersion":"v1","items":[{"metadata":{"name":"redis","namespace":"shop"},"spec":{"ports":[{"port":6379}]}}]}"#,
    );
    let out = meshcap().args(["import", "kubectl"]).arg(&raw).assert().success().get_output().stdout.clone();
    assert!(String::from_utf8(out).unwrap().contains("{ name = \"redis\", ports = 1 }"));
}

#[test]
fn usage_errors_name_what_is_missing() {
    let err = fails(meshcap().args(["import", "istioctl", "x.json", "--limit", "60Mi"]), 2);
    assert!(err.contains("--memory <QUANTITY>"), "{err}");
    let err = fails(meshcap().args(["import", "grafana"]), 2);
    assert!(err.contains("--memory <COLUMN>") && err.contains("<FILES>"), "{err}");
}

#[test]
fn clean_keeps_provenance_and_refuses_unitless_limits() {
    let dir = tempdir();
    let f = write(
        dir.path(),
        "s.csv",
        "# imported from somewhere\n# memory: a query\ntime,ports,memory\n0,1,50Mi\n30,2,51Mi\n",
    );
    let out = meshcap().arg("clean").arg(&f).assert().success().get_output().stdout.clone();
    assert!(String::from_utf8(out)
        .unwrap()
        .starts_with("# imported from somewhere\n# memory: a query\n# cleaned by meshcap clean"));
    let f = write(dir.path(), "l.csv", "ports,memory,limit\n1,150Mi,128\n2,151Mi,128\n");
    let err = fails(meshcap().arg("clean").arg(&f), 2);
    assert!(err.contains("l.csv:2:limit") && err.contains("at least 1Mi") && err.contains("write 128Mi"), "{err}");
}

// Second review.

#[test]
fn grafana_overflowing_values_and_file_paths() {
    let dir = tempdir();
    let g = write(dir.path(), "g6.csv", "Time,mem,clusters\n0,1e308 GiB,0\n30,51 MiB,8\n");
    let err = fails(meshcap().args(["import", "grafana", "--memory", "mem", "--ports", "clusters"]).arg(&g), 2);
    assert!(err.contains("g6.csv:2:mem") && err.contains("beyond any float"), "{err}");
    // FILE:COLUMN takes the path as given, too.
    let a = write(dir.path(), "m.csv", "\"Time\",\"Value\"\n0,52 MiB\n30,60 MiB\n60,68 MiB\n");
    let b = write(dir.path(), "c.csv", "\"Time\",\"Value\"\n0,0\n30,80\n60,160\n");
    let (pa, pb) = (format!("{}:Value", a.display()), format!("{}:Value", b.display()));
    meshcap().args(["import", "grafana", "--memory", &pa, "--ports", &pb]).arg(&a).arg(&b).assert().success();
    let t = write(dir.path(), "t.csv", "Time,mem,clusters\n1e20,1 MiB,1\n");
    let err = fails(meshcap().args(["import", "grafana", "--memory", "mem", "--ports", "clusters"]).arg(&t), 2);
    assert!(err.contains("beyond the year 9999"), "{err}");
}

#[test]
fn istioctl_append_is_honest_about_what_it_wrote() {
    let dir = tempdir();
    let dump = write(dir.path(), "d.json", r#"[{"name":"outbound|80||a.shop.svc.cluster.local","type":"EDS"}]"#);
    // JSON on stdout stays one document.
    let out = meshcap()
        .args(["import", "istioctl", "--memory", "60Mi", "--format", "json", "-o"])
        .arg(dir.path().join("s.csv"))
        .arg(&dump)
        .assert()
        .success()
        .get_output()
        .clone();
    let _: serde_json::Value = serde_json::from_slice(&out.stdout).expect("stdout is one JSON document");
    assert!(String::from_utf8(out.stderr).unwrap().contains("appended revisions=0 ports=1 services=1 memory=62914560"));
    // An existing series without limit, services or note columns: said, not hidden.
    let ex = write(dir.path(), "ex.csv", "time,memory,ports,revisions,event\n2026-01-01T00:00:00Z,50Mi,0,0,\n");
    let out = meshcap()
        .args(["import", "istioctl", "--memory", "60Mi", "--limit", "1Gi", "-o"])
        .arg(&ex)
        .arg(&dump)
        .assert()
        .success()
        .get_output()
        .clone();
    let stderr = String::from_utf8(out.stderr).unwrap();
    assert!(stderr.contains("has no column for services, limit, note, time (left empty): not written"), "{stderr}");
    assert!(String::from_utf8(out.stdout).unwrap().contains("appended memory=62914560 ports=1 revisions=0 to"));
    // Bytes without a unit are not a proxy's memory.
    let err = fails(
        meshcap().args(["import", "istioctl", "--memory", "60", "-o"]).arg(dir.path().join("s.csv")).arg(&dump),
        2,
    );
    assert!(err.contains("needs its unit"), "{err}");
}

#[test]
fn kubectl_istio_injection_disabled_wins_over_revision_label() {
    let dir = tempdir();
    let list = write(
        dir.path(),
        "k1.json",
        r#"{"kind":"List","items":[
          {"apiVersion":"v1","kind":"Namespace","metadata":{"name":"shop","labels":{"istio-injection":"disabled","istio.io/rev":"1-18"}}},
          {"apiVersion":"v1","kind":"Service","metadata":{"name":"redis","namespace":"shop"},"spec":{"ports":[{"port":6379}]}}]}"#,
    );
    let out = meshcap().args(["import", "kubectl"]).arg(&list).assert().success().get_output().stdout.clone();
    assert!(String::from_utf8(out).unwrap().contains("name = \"shop\"\nsidecars = false"));
}

#[test]
fn provenance_says_where_values_came_from_and_escaped_secrets_are_scrubbed() {
    let dir = tempdir();
    let ok = body(&[(0.0, "52428800"), (30.0, "52428801")]);
    let out =
        prom(dir.path(), &ok, &ok).args(["--url", "http://127.0.0.1:9"]).assert().success().get_output().stdout.clone();
    assert!(String::from_utf8(out)
        .unwrap()
        .starts_with("# imported by meshcap import prometheus from saved query_range responses\n"));
    let (url, _) = serve(|_| Some((401, r#"{"message":"token Bearer ab\/cd+ef\/gh rejected"}"#.to_string())));
    let err = fails(
        live(&url).args(["--bearer-token-env", "MESHCAP_REVIEW_TOKEN2"]).env("MESHCAP_REVIEW_TOKEN2", "ab/cd+ef/gh"),
        1,
    );
    assert!(!err.contains("cd+ef") && err.contains("<redacted>"), "{err}");
    let err = fails(
        meshcap().args([
            "import",
            "prometheus",
            "--url",
            &url,
            "--memory",
            "m",
            "--ports",
            "p",
            "--start",
            "1767225600000",
        ]),
        2,
    );
    assert!(err.contains("is in milliseconds") && err.contains("divide by 1000"), "{err}");
}

#[test]
fn clean_refuses_a_restart_counter_that_is_not_a_count() {
    // Issue 13 §3: text, negative and fractional restart counts were taken as restarts.
    let dir = crate::util::tempdir();
    for (name, cell, want) in [("text.csv", "abc", "\"abc\""), ("neg.csv", "-1", "-1"), ("frac.csv", "1.5", "1.5")] {
        let p = crate::util::write(
            dir.path(),
            name,
            &format!("time,revisions,memory,restarts\n0,10,50Mi,0\n30,10,51Mi,{cell}\n60,10,52Mi,1\n"),
        );
        let out = crate::util::meshcap()
            .arg("clean")
            .arg(&p)
            .arg("-o")
            .arg(dir.path().join("out.csv"))
            .assert()
            .code(2)
            .get_output()
            .clone();
        let err = String::from_utf8(out.stderr).unwrap();
        assert!(
            err.contains(&format!("{name}:3:restarts")) && err.contains(want) && err.trim().lines().count() == 1,
            "{err}"
        );
        assert!(!dir.path().join("out.csv").exists());
    }
}

#[test]
fn istioctl_append_refuses_a_series_without_ports() {
    // Issue 13 §3: appending to a revisions-only series wrote the dump's memory at 0 revisions.
    let dir = tempdir();
    let dump = write(dir.path(), "d.json", r#"[{"name":"outbound|80||a.shop.svc.cluster.local","type":"EDS"}]"#);
    let series = write(dir.path(), "s.csv", "revisions,memory\n0,50Mi\n100,130Mi\n");
    let before = std::fs::read(&series).unwrap();
    let err = fails(meshcap().args(["import", "istioctl", "--memory", "60Mi", "-o"]).arg(&series).arg(&dump), 2);
    assert!(err.contains("s.csv") && err.contains("ports"), "{err}");
    assert_eq!(std::fs::read(&series).unwrap(), before);
}
