//! `meshcap import traffic` (issue 20 §1): a real Prometheus over backfilled Istio counters,
//! and saved answers written by hand. The expected table is counted here from the fixture's own
//! construction, not from meshcap's output.

use std::fmt::Write as _;

use crate::prometheus_live::start_with;
use crate::util::{fails, meshcap, tempdir, write};

const HOUR: i64 = 3600;
const DAY: i64 = 86_400;

fn now() -> i64 {
    std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().as_secs() as i64
}

/// Counters as Istio's sidecars export them, sampled every 5 minutes, ending a day ago.
/// Returns the fixture and the true number of requests shop/cart made to checkout.
fn fixture(end: i64) -> (String, f64) {
    let start = end - 9 * DAY;
    let step = 300;
    let mut s = String::new();
    let src = |ns: &str, wl: &str, dest: &str, reporter: &str| {
        format!(
            "reporter=\"{reporter}\",source_workload_namespace=\"{ns}\",source_workload=\"{wl}\",destination_service=\"{dest}\""
        )
    };
    s.push_str("# TYPE istio_requests_total counter\n");
    // shop/cart calls the Knative service checkout (its routed revision's Service), 3 per 5 min.
    let mut calls = 0.0;
    for reporter in ["source", "destination"] {
        let lbl = src("shop", "cart", "checkout-00003.pay.svc.cluster.local", reporter);
        for (k, t) in (start..end).step_by(step).enumerate() {
            writeln!(s, "istio_requests_total{{{lbl}}} {} {t}", 3 * k).unwrap();
        }
    }
    calls += 3.0 * (((end - start) / step as i64) - 1) as f64;
    // analytics/batch called report once, five days ago: the counter was born at 1 and the pod
    // went away 20 minutes later. increase() sees nothing; presence does.
    let once = src("analytics", "batch", "report.shop.svc.cluster.local", "source");
    for k in 0..4 {
        writeln!(s, "istio_requests_total{{{once}}} 1 {}", end - 5 * DAY + k * step as i64).unwrap();
    }
    // A caller without a sidecar: unknown, left out.
    let unknown = src("unknown", "unknown", "checkout-00003.pay.svc.cluster.local", "source");
    for (k, t) in (start..end).step_by(step).enumerate() {
        writeln!(s, "istio_requests_total{{{unknown}}} {k} {t}").unwrap();
    }
    // A call 30 days ago: outside a 14-day window.
    let old = src("shop", "cart", "legacy.shop.svc.cluster.local", "source");
    for k in 0..10 {
        writeln!(s, "istio_requests_total{{{old}}} {k} {}", end - 30 * DAY + k * step as i64).unwrap();
    }
    s.push_str("# TYPE istio_tcp_connections_opened_total counter\n");
    let tcp = src("shop", "cart", "redis.shop.svc.cluster.local", "source");
    for (k, t) in (start..end).step_by(step).enumerate() {
        writeln!(s, "istio_tcp_connections_opened_total{{{tcp}}} {} {t}", k / 12).unwrap();
    }
    s.push_str("# EOF\n");
    (s, calls)
}

fn table(text: &str) -> Vec<Vec<String>> {
    text.lines().filter(|l| !l.starts_with('#')).skip(1).map(|l| l.split(',').map(str::to_string).collect()).collect()
}

#[test]
fn live_traffic_keeps_the_rare_call_and_maps_revisions_to_their_service() {
    let dir = tempdir();
    let end = (now() / HOUR - 24) * HOUR;
    let (om, calls) = fixture(end);
    let Some(server) = start_with(dir.path(), &om) else { return };
    let out = dir.path().join("deps.csv");
    let run = meshcap().args(["import", "traffic", "--url", &server.url, "-o"]).arg(&out).output().unwrap();
    assert!(run.status.success(), "{}", String::from_utf8_lossy(&run.stderr));
    let summary = String::from_utf8_lossy(&run.stdout);
    let text = std::fs::read_to_string(&out).unwrap();
    assert!(text.contains("# window-seconds: 1209600"), "{text}");
    let rows = table(&text);
    let keys: Vec<(&str, &str, &str)> = rows.iter().map(|r| (r[0].as_str(), r[1].as_str(), r[2].as_str())).collect();
    assert_eq!(
        keys,
        vec![
            ("analytics", "batch", "report.shop.svc.cluster.local"),
            ("shop", "cart", "checkout.pay.svc.cluster.local"),
            ("shop", "cart", "redis.shop.svc.cluster.local"),
        ],
        "{text}"
    );
    // Reporter "source" only: the destination's report of the same calls is not added.
    let checkout: f64 = rows[1][3].parse().unwrap();
    assert!((checkout / calls - 1.0).abs() < 0.03, "checkout {checkout} against {calls} calls");
    // The rare call: present, no increase, with the hour it was seen.
    assert_eq!(rows[0][3], "0", "{text}");
    // Its 20 minutes of samples fall in the hourly steps ending 5 days ago and an hour later.
    let t = |c: &str| time::OffsetDateTime::parse(c, &time::format_description::well_known::Rfc3339).unwrap();
    let (first, last) = (t(&rows[0][4]).unix_timestamp(), t(&rows[0][5]).unix_timestamp());
    assert_eq!((first, last), (end - 5 * DAY, end - 5 * DAY + HOUR), "{text}");
    assert!(summary.contains("rarest kept: analytics/batch -> report.shop.svc.cluster.local"), "{summary}");
    assert!(!summary.contains("warning"), "{summary}");

    // A short window: the weekly-job warning, and the 5-day-old call is gone.
    let run = meshcap().args(["import", "traffic", "--url", &server.url, "--window", "3d"]).output().unwrap();
    assert!(run.status.success());
    let text = String::from_utf8_lossy(&run.stdout);
    assert!(!text.contains("analytics"), "{text}");
    assert!(String::from_utf8_lossy(&run.stderr).contains("warning: the window is 3.0 days"));
}

fn vector(rows: &[(&str, &str, &str, &str)]) -> String {
    let result: Vec<String> = rows
        .iter()
        .map(|(ns, wl, dest, v)| {
            format!(
                r#"{{"metric":{{"source_workload_namespace":"{ns}","source_workload":"{wl}","destination_service":"{dest}"}},"value":[1767225600,"{v}"]}}"#
            )
        })
        .collect();
    format!(r#"{{"status":"success","data":{{"resultType":"vector","result":[{}]}}}}"#, result.join(","))
}

#[test]
fn saved_answers_record_the_window_only_when_told() {
    let dir = tempdir();
    let answer = write(
        dir.path(),
        "requests.json",
        &vector(&[
            ("shop", "cart", "checkout-00012-private.pay.svc.cluster.local", "1200.4"),
            ("shop", "cart", "batch-00001.pay.svc.cluster.local", "2"),
            ("shop", "cart", "10.0.0.7:8080", "5"),
        ]),
    );
    let topo = write(
        dir.path(),
        "t.toml",
        "istio_version = \"1.18.2\"\nknative_version = \"1.11.0\"\n[[namespaces]]\nname = \"pay\"\nsidecars = true\nknative = [{ name = \"checkout\", revisions = 3 }]\n",
    );
    let run = meshcap()
        .args(["import", "traffic", "--requests-file"])
        .arg(&answer)
        .arg("--topology")
        .arg(&topo)
        .output()
        .unwrap();
    assert!(run.status.success(), "{}", String::from_utf8_lossy(&run.stderr));
    let text = String::from_utf8_lossy(&run.stdout);
    // checkout is a Knative service of the topology; batch is not, so its host stays; the IP goes.
    let rows = table(&text);
    assert_eq!(rows.len(), 2, "{text}");
    assert_eq!(rows[0][2], "batch-00001.pay.svc.cluster.local");
    assert_eq!((rows[1][2].as_str(), rows[1][3].as_str()), ("checkout.pay.svc.cluster.local", "1200"));
    assert!(!text.contains("window-seconds"), "{text}");
    let stderr = String::from_utf8_lossy(&run.stderr);
    assert!(stderr.contains("warning: the window is unknown"), "{stderr}");
    assert!(stderr.contains("1 series left out"), "{stderr}");

    let run =
        meshcap().args(["import", "traffic", "--window", "14d", "--requests-file"]).arg(&answer).output().unwrap();
    assert!(String::from_utf8_lossy(&run.stdout).contains("# window-seconds: 1209600"));

    // The table reads back in `plan`'s reader and names bad rows by line.
    let bad = write(
        dir.path(),
        "bad.json",
        &vector(&[("shop", "cart", "", "1")]).replace(r#","destination_service":"""#, ""),
    );
    let e = fails(meshcap().args(["import", "traffic", "--requests-file"]).arg(&bad), 2);
    assert!(e.contains("bad.json") && e.contains("no destination_service label"), "{e}");
    let e = fails(meshcap().args(["import", "traffic", "--requests-file"]).arg(&answer).arg("-o").arg(&answer), 2);
    assert!(e.contains("requests.json"), "{e}");
    let e = fails(meshcap().args(["import", "traffic", "--window", "0s", "--requests-file"]).arg(&answer), 2);
    assert!(e.contains("--window"), "{e}");
}

/// The bundled example's table reads back, and every Knative destination in it is a Knative
/// service of the bundled topology (the example is one mesh, not three unrelated files).
#[test]
fn bundled_example_traffic_matches_its_topology() {
    let root = crate::util::root().join("data/example");
    let deps = meshcap::mesh::deps::read_dependencies(&root.join("traffic.csv")).unwrap();
    let topo = meshcap::mesh::Topology::load(&root.join("topology.toml")).unwrap();
    assert_eq!(deps.window_seconds, Some(14 * DAY));
    assert!(deps.rows.iter().any(|d| d.requests <= 1.0), "a dependency seen once");
    for d in &deps.rows {
        let (name, rest) = d.destination_host.split_once('.').unwrap();
        let ns = rest.split('.').next().unwrap();
        let namespace =
            topo.namespace(ns).unwrap_or_else(|| panic!("{} names no namespace of the topology", d.destination_host));
        let known =
            namespace.knative.iter().any(|k| k.name == name) || namespace.services.iter().any(|s| s.name == name);
        assert!(known, "{} is not a Service of the topology", d.destination_host);
        assert!(topo.namespace(&d.source_namespace).is_some_and(|n| n.sidecars), "{}", d.source_namespace);
    }
}
