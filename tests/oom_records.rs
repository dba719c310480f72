//! Memory is what the kernel kills on (issue 18 section 6): OOMKills from termination records
//! (kube-state-metrics' last terminated reason, a kubectl pod List) rather than guessed, and
//! Envoy's own memory metrics refused against a container limit unless converted.

use std::path::{Path, PathBuf};

use crate::prometheus_files::body;
use crate::util::{fails, json, meshcap, tempdir, write};

const MI: f64 = 1_048_576.0;
const T0: f64 = 1_767_225_600.0;

/// `(time, value)` every 30 s from 2026-01-01T00:00:00Z for `ks`.
fn pts(ks: std::ops::Range<usize>, f: impl Fn(usize) -> f64) -> Vec<(f64, String)> {
    ks.map(|k| (T0 + 30.0 * k as f64, format!("{}", f(k)))).collect()
}

/// A proxy restarted between samples 4 and 5: killed from 820Mi (80% of 1Gi) by a push, the
/// new Envoy back at 600Mi, a fall of 27% (under the 40% drop rule).
fn memory_mi(k: usize) -> f64 {
    [600.0, 650.0, 700.0, 750.0, 820.0, 600.0, 610.0, 620.0, 630.0, 640.0][k]
}

fn labels(pod: &str) -> String {
    format!(r#""namespace":"shop","pod":"{pod}","container":"istio-proxy""#)
}

/// Saved responses for memory, ports, restarts and (for the pods in `oom_pods`) the
/// kube-state-metrics reason, which is present from the first reading after the restart.
fn responses(dir: &Path, pods: &[&str], oom_pods: &[&str]) -> Vec<PathBuf> {
    let each = |f: &dyn Fn(usize) -> f64| pods.iter().map(|p| (labels(p), pts(0..10, f))).collect::<Vec<_>>();
    let as_refs =
        |v: &[(String, Vec<(f64, String)>)]| body(&v.iter().map(|(l, p)| (l.as_str(), p.clone())).collect::<Vec<_>>());
    let mem = write(dir, "mem.json", &as_refs(&each(&|k| memory_mi(k) * MI)));
    let ports = write(dir, "ports.json", &as_refs(&each(&|k| (100 + 10 * k) as f64)));
    let restarts = write(dir, "restarts.json", &as_refs(&each(&|k| if k < 5 { 0.0 } else { 1.0 })));
    let reasons: Vec<(String, Vec<(f64, String)>)> = oom_pods
        .iter()
        .map(|p| {
            let l = format!(
                r#""__name__":"kube_pod_container_status_last_terminated_reason",{},"reason":"OOMKilled""#,
                labels(p)
            );
            (l, pts(5..10, |_| 1.0))
        })
        .collect();
    let reasons = write(dir, "reasons.json", &as_refs(&reasons));
    vec![mem, ports, restarts, reasons]
}

fn import(files: &[PathBuf], extra: &[&str], out: &Path) {
    let mut cmd = meshcap();
    cmd.args(["import", "prometheus", "--limit", "1Gi", "--memory-file"]).arg(&files[0]);
    cmd.arg("--ports-file").arg(&files[1]).arg("--restarts-file").arg(&files[2]);
    cmd.args(extra).arg("-o").arg(out).assert().success();
}

fn clean_summary(input: &Path, extra: &[&str]) -> String {
    let out = meshcap().arg("clean").arg(input).args(extra).args(["-o", "/dev/null"]).assert().success();
    String::from_utf8(out.get_output().stdout.clone()).unwrap()
}

#[test]
fn a_recorded_oomkill_from_kube_state_metrics_is_marked_at_80_percent() {
    let dir = tempdir();
    let files = responses(dir.path(), &["a"], &["a"]);
    // Without the reason: the counter shows the restart, 80% is under the 90% guess.
    let plain = dir.path().join("plain.csv");
    import(&files, &[], &plain);
    let s = clean_summary(&plain, &[]);
    assert!(s.contains("1 restarts") && s.contains("0 OOMKills (0 recorded, 0 guessed"), "{s}");
    // With kube_pod_container_status_last_terminated_reason (kube-state-metrics pod.go: 1 for
    // the last termination's reason): the column holds it from the restart on.
    let rec = dir.path().join("rec.csv");
    import(&files, &["--last-terminated-file", files[3].to_str().unwrap()], &rec);
    let text = std::fs::read_to_string(&rec).unwrap();
    assert!(text.contains("last_terminated"), "{text}");
    assert_eq!(text.lines().filter(|l| l.contains(",OOMKilled,")).count(), 5, "{text}");
    let s = clean_summary(&rec, &[]);
    assert!(s.contains("1 OOMKills (1 recorded, 0 guessed"), "{s}");
    // The reading marked is the last before the restart: 820Mi, 80.1% of 1Gi.
    assert!(s.contains("oom (820Mi)") && s.contains("80.1% of the 1Gi limit"), "{s}");
}

#[test]
fn a_fleet_import_keeps_each_proxys_reasons() {
    // Two proxies, the same readings; only a's termination is recorded: a's restart is an
    // OOMKill, b's (no record, 80%) is not.
    let dir = tempdir();
    let files = responses(dir.path(), &["a", "b"], &["a"]);
    let out = dir.path().join("fleet.csv");
    let reasons = files[3].to_str().unwrap();
    import(&files, &["--by", "namespace,pod", "--last-terminated-file", reasons], &out);
    let text = std::fs::read_to_string(&out).unwrap();
    assert_eq!(text.lines().filter(|l| l.contains("shop/a") && l.contains(",OOMKilled,")).count(), 5, "{text}");
    assert!(!text.lines().any(|l| l.contains("shop/b") && l.contains("OOMKilled")), "{text}");
    let s = clean_summary(&out, &[]);
    assert!(s.contains("2 restarts") && s.contains("1 OOMKills (1 recorded, 0 guessed"), "{s}");
    // A reason response without the reason label cannot say which reason.
    let bad = write(dir.path(), "bad.json", &body(&[(&labels("a"), pts(5..10, |_| 1.0))]));
    let err = fails(
        meshcap()
            .args(["import", "prometheus", "--limit", "1Gi", "--memory-file"])
            .arg(&files[0])
            .arg("--ports-file")
            .arg(&files[1])
            .args(["--by", "namespace,pod", "--last-terminated-file"])
            .arg(&bad),
        2,
    );
    assert!(err.contains("no \"reason\" label"), "{err}");
}

#[test]
fn clean_reads_a_kubectl_pod_list() {
    let dir = tempdir();
    let files = responses(dir.path(), &["a"], &[]);
    let series = dir.path().join("s.csv");
    import(&files, &[], &series);
    // The kubelet's record of the kill (lastState.terminated), finished between samples 4
    // (00:02:00) and 5 (00:02:30).
    let pods = |reason: &str| {
        format!(
            r#"{{"kind":"List","items":[{{"kind":"Pod","metadata":{{"name":"a","namespace":"shop"}},"status":{{"containerStatuses":[{{"name":"istio-proxy","restartCount":1,"lastState":{{"terminated":{{"reason":"{reason}","exitCode":137,"finishedAt":"2026-01-01T00:02:10Z"}}}}}}]}}}}]}}"#
        )
    };
    let list = write(dir.path(), "pods.json", &pods("OOMKilled"));
    let s = clean_summary(&series, &["--pods", list.to_str().unwrap()]);
    assert!(s.contains("1 OOMKills (1 recorded, 0 guessed") && s.contains("pods.json"), "{s}");
    let list = write(dir.path(), "error.json", &pods("Error"));
    let s = clean_summary(&series, &["--pods", list.to_str().unwrap()]);
    assert!(s.contains("0 OOMKills") && s.contains("1 restarts recorded with another reason"), "{s}");
    // A file that is not a pod List: one line, exit 2.
    let bad = write(dir.path(), "bad.json", r#"{"kind":"Service"}"#);
    let err = fails(meshcap().arg("clean").arg(&series).arg("--pods").arg(&bad), 2);
    assert!(err.contains("bad.json") && err.contains("kind is \"Service\""), "{err}");
}

#[test]
fn envoy_memory_is_recorded_at_import_and_refused_by_fit_unless_converted() {
    // envoy_server_memory_allocated as memory (the response keeps __name__): 50Mi + 96KiB a port.
    let dir = tempdir();
    let name = r#""__name__":"envoy_server_memory_allocated","pod":"a""#;
    let mem = write(dir.path(), "mem.json", &body(&[(name, pts(0..20, |k| 50.0 * MI + 98304.0 * (100 * k) as f64))]));
    let ports = write(dir.path(), "ports.json", &body(&[(r#""pod":"a""#, pts(0..20, |k| (100 * k) as f64))]));
    let out = dir.path().join("s.csv");
    let run = meshcap()
        .args(["import", "prometheus", "--memory-file"])
        .arg(&mem)
        .arg("--ports-file")
        .arg(&ports)
        .arg("-o")
        .arg(&out)
        .assert()
        .success();
    let summary = String::from_utf8(run.get_output().stdout.clone()).unwrap();
    assert!(summary.contains("warning: memory is envoy_server_memory_allocated"), "{summary}");
    let text = std::fs::read_to_string(&out).unwrap();
    assert!(text.contains("\n# memory-metric: envoy_server_memory_allocated\n"), "{text}");
    // Refused: it crosses a 1Gi limit 10-30% later than the working set.
    let err = fails(meshcap().arg("fit").arg(&out), 2);
    assert!(err.contains("memory is envoy_server_memory_allocated") && err.contains("--memory-allowance"), "{err}");
    // Converted: working set = 50Mi + 1.15 x allocated, so the intercept is 50 + 57.5 Mi and the
    // slope 1.15 x 98304 bytes a port; the allowance is stated in the model's notes.
    let fit = json(meshcap().arg("fit").arg(&out).args(["--memory-allowance", "50Mi+15%", "--format", "json"]));
    let b = |k: usize| fit["coefficients"][k]["estimate"].as_f64().unwrap();
    assert!((b(0) - 107.5 * MI).abs() < 1e-3 * MI, "{}", b(0) / MI);
    assert!((b(1) - 1.15 * 98304.0).abs() < 1e-6, "{}", b(1));
    let notes = fit["notes"].to_string();
    assert!(notes.contains("converted from envoy_server_memory_allocated") && notes.contains("50Mi + 15%"), "{notes}");
    // clean keeps the record (once) and the file still reads as Envoy's metric.
    let cleaned = dir.path().join("c.csv");
    meshcap().arg("clean").arg(&out).arg("-o").arg(&cleaned).assert().success();
    let text = std::fs::read_to_string(&cleaned).unwrap();
    assert_eq!(text.matches("# memory-metric: envoy_server_memory_allocated").count(), 1, "{text}");
    fails(meshcap().arg("fit").arg(&cleaned), 2);
    // A record naming no metric is an error naming its line.
    let bad = write(dir.path(), "bad.csv", "# memory-metric:\nports,memory\n1,100Mi\n2,110Mi\n3,120Mi\n");
    let err = fails(meshcap().arg("fit").arg(&bad), 2);
    assert!(err.contains("bad.csv:1") && err.contains("memory-metric: must name one metric"), "{err}");
}

#[test]
fn live_queries_fill_the_reason_column_and_record_the_metric_from_the_query_text() {
    // One scripted Prometheus answering each query by its metric; `max(...)` drops __name__, so
    // the memory metric comes from the query text.
    let answer = |head: &str| {
        let body = if head.contains("last_terminated_reason") {
            let l = r#""pod":"a","container":"istio-proxy","reason":"OOMKilled""#;
            body(&[(l, pts(5..20, |_| 1.0))])
        } else if head.contains("envoy_server_memory_heap_size") {
            body(&[(r#""pod":"a""#, pts(0..20, |k| (600.0 + 10.0 * k as f64) * MI))])
        } else if head.contains("restarts") {
            body(&[(r#""pod":"a""#, pts(0..20, |k| if k < 5 { 0.0 } else { 1.0 }))])
        } else {
            body(&[(r#""pod":"a""#, pts(0..20, |k| (100 + 10 * k) as f64))])
        };
        Some((200, body))
    };
    let (url, _) = crate::util::serve(answer);
    let dir = tempdir();
    let out = dir.path().join("s.csv");
    meshcap()
        .args(["import", "prometheus", "--url", &url, "--limit", "1Gi"])
        .args(["--memory", "max(envoy_server_memory_heap_size{pod=\"a\"})", "--ports", "max(p)"])
        .args(["--restarts", "max(kube_pod_container_status_restarts_total{pod=\"a\"})"])
        .args(["--last-terminated", "kube_pod_container_status_last_terminated_reason{container=\"istio-proxy\"}"])
        .args(["--start", "1767225600", "--end", "1767226170", "--step", "30s", "-o"])
        .arg(&out)
        .assert()
        .success();
    let text = std::fs::read_to_string(&out).unwrap();
    assert!(text.contains("\n# memory-metric: envoy_server_memory_heap_size\n"), "{text}");
    assert_eq!(text.lines().filter(|l| l.contains(",OOMKilled,")).count(), 15, "{text}");
    // Before the first termination the reason is empty, not a dropped row: 20 rows.
    let header = text.lines().position(|l| l.starts_with("time,")).unwrap();
    assert_eq!(text.lines().count() - header - 1, 20, "{text}");
    assert!(text.lines().nth(header).unwrap().contains(",last_terminated,"), "{text}");
    assert!(text.lines().nth(header + 1).unwrap().contains(",,"), "{text}");
}
