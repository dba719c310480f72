//! Linear paths stay linear (issue 21 §3): each command is timed at a size N and at 4N, and the
//! ratio must stay under 8 (a linear path gives about 4, a quadratic one 16). A ratio, not an
//! absolute time, so a slow or busy machine does not fail it; the best of two runs each.

use std::path::Path;
use std::time::{Duration, Instant};

use crate::fleet_mesh::{rfc3339, T0};
use crate::fleet_sources::config_dump;
use crate::util::{meshcap, tempdir, write};

const DAY: f64 = 86_400.0;
const MI: f64 = 1_048_576.0;

fn best_of_two(run: &dyn Fn()) -> Duration {
    (0..2)
        .map(|_| {
            let t = Instant::now();
            run();
            t.elapsed()
        })
        .min()
        .unwrap()
}

fn assert_linear(what: &str, small: Duration, large: Duration) {
    let ratio = large.as_secs_f64() / small.as_secs_f64().max(1e-3);
    assert!(ratio < 8.0, "{what}: {small:?} at N, {large:?} at 4N (ratio {ratio:.1}, quadratic gives 16)");
}

/// `n` namespaces with sidecars, two Knative services each (11 revisions, one every 12 h),
/// and one proxy per namespace with 21 readings.
fn mesh(dir: &Path, n: usize) -> (std::path::PathBuf, std::path::PathBuf) {
    let created: Vec<String> = (0..11).map(|k| format!("\"{}\"", rfc3339(T0 + k as f64 * 0.5 * DAY))).collect();
    let created = created.join(", ");
    let mut t = String::from(
        "istio_version = \"1.18.2\"\nknative_version = \"1.11.0\"\n[[namespaces]]\nname = \"istio-system\"\n",
    );
    let mut s = String::from("proxy,time,memory,ports,limit\n");
    for i in 0..n {
        t.push_str(&format!(
            "[[namespaces]]\nname = \"ns{i}\"\nsidecars = true\nknative = [{{ name = \"a\", revisions = 11, created = [{created}] }}, {{ name = \"b\", revisions = 11, created = [{created}] }}]\n"
        ));
        let limit = 50.0 * MI + 900.0 * 98_304.0;
        for k in 0..=20usize {
            let ports = 800.0 - 8.0 * (5 - k / 4) as f64;
            let memory = 50.0 * MI + 98_304.0 * ports + if k % 2 == 0 { 1024.0 } else { -1024.0 };
            s.push_str(&format!("ns{i}/web-1,{},{memory:.0},{ports},{limit:.0}\n", T0 + k as f64 * DAY / 4.0));
        }
    }
    (write(dir, &format!("topology-{n}.toml"), &t), write(dir, &format!("fleet-{n}.csv"), &s))
}

/// Under the default `mesh` scope every sidecar sees every service: the per-service recount
/// of the whole mesh made this quadratic (> 60 s at 2,000 namespaces).
///
/// The model is fitted once and given with `--model`: the pooled fit on these identical
/// synthetic proxies is a degenerate REML problem whose optimiser work is not the mesh's, and
/// the fit's own scale is measured by the fleet benchmark.
#[test]
fn fleet_topology_is_linear_in_namespaces() {
    let dir = tempdir();
    let model = dir.path().join("model.json");
    let (_, series) = mesh(dir.path(), 50);
    meshcap()
        .arg("fit")
        .arg(&series)
        .args(["--x", "ports", "--errors", "group=proxy", "-o"])
        .arg(&model)
        .assert()
        .success();
    let time = |n: usize| {
        let (topology, series) = mesh(dir.path(), n);
        best_of_two(&|| {
            meshcap()
                .arg("fleet")
                .arg(&series)
                .arg("--topology")
                .arg(&topology)
                .arg("--model")
                .arg(&model)
                .assert()
                .success();
        })
    };
    assert_linear("fleet --topology", time(200), time(800));
}

/// `n` dumps of 50 namespaces x 20 pods, a reading each.
fn dumps(dir: &Path, n: usize) -> Vec<String> {
    let sub = dir.join(format!("d{n}"));
    std::fs::create_dir_all(&sub).unwrap();
    let mut rows = vec!["dump,time,memory".to_string()];
    let mut args = vec!["import".to_string(), "istioctl".into(), "--readings".into()];
    args.push(sub.join("readings.csv").display().to_string());
    for i in 0..n {
        let (ns, pod) = (format!("ns{}", i % 50), format!("p{}", i / 50 % 20));
        let name = format!("x{i}.json");
        args.push(write(&sub, &name, &config_dump(&ns, &pod, "2025-12-31T20:00:00.000Z", 5)).display().to_string());
        rows.push(format!("{name},{},{}Mi", T0 + (i / 1000) as f64 * 3600.0, 100 + i % 7));
    }
    write(&sub, "readings.csv", &(rows.join("\n") + "\n"));
    args.extend(["-o".into(), sub.join("fleet.csv").display().to_string()]);
    args
}

/// Pairing each dump with its reading scanned every reading per dump (12x from 1,000 to
/// 4,000 dumps).
#[test]
fn istioctl_readings_are_linear_in_dumps() {
    let dir = tempdir();
    let time = |n: usize| {
        let args = dumps(dir.path(), n);
        best_of_two(&|| {
            meshcap().args(&args).assert().success();
        })
    };
    assert_linear("import istioctl --readings", time(1000), time(4000));
}

/// The peak resident memory of a run of `args`, from `/proc/PID/status` (VmHWM, the high-water
/// mark) polled until the process exits; bytes.
fn peak_rss(args: &[String]) -> u64 {
    let mut child = std::process::Command::new(env!("CARGO_BIN_EXE_meshcap"))
        .args(args)
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap();
    let status = format!("/proc/{}/status", child.id());
    let mut peak = 0;
    while child.try_wait().unwrap().is_none() {
        if let Ok(text) = std::fs::read_to_string(&status) {
            let kib = text
                .lines()
                .find_map(|l| l.strip_prefix("VmHWM:"))
                .and_then(|v| v.trim().trim_end_matches("kB").trim().parse::<u64>().ok());
            peak = peak.max(kib.unwrap_or(0) * 1024);
        }
        std::thread::sleep(Duration::from_millis(2));
    }
    assert!(child.wait().unwrap().success());
    peak
}

/// `kubectl get ... -o json` of `n` revisions, each with its two Services, as the API server
/// writes them: `managedFields` and the last-applied annotation included, compact.
fn kubectl_list(n: usize) -> String {
    let managed = r#"[{"manager":"controller","operation":"Update","apiVersion":"v1","time":"2026-01-01T00:00:00Z","fieldsType":"FieldsV1","fieldsV1":{"f:metadata":{"f:labels":{".":{},"f:app":{},"f:serving.knative.dev/revision":{}}},"f:spec":{"f:ports":{".":{},"k:{\"port\":80,\"protocol\":\"TCP\"}":{".":{},"f:name":{},"f:port":{},"f:targetPort":{}}}}}}]"#;
    let applied = "x".repeat(300);
    let mut items = vec![
        r#"{"apiVersion":"v1","kind":"Namespace","metadata":{"name":"shop","labels":{"istio-injection":"enabled"}}}"#.to_string(),
        r#"{"apiVersion":"serving.knative.dev/v1","kind":"Service","metadata":{"name":"cart","namespace":"shop"},"status":{"traffic":[{"revisionName":"cart-00001","percent":100}]}}"#.to_string(),
    ];
    for i in 1..=n {
        let r = format!("cart-{i:05}");
        items.push(format!(
            r#"{{"apiVersion":"serving.knative.dev/v1","kind":"Revision","metadata":{{"name":"{r}","namespace":"shop","creationTimestamp":"2026-01-01T00:00:00Z","labels":{{"serving.knative.dev/service":"cart","serving.knative.dev/configuration":"cart"}},"managedFields":{managed},"annotations":{{"kubectl.kubernetes.io/last-applied-configuration":"{applied}"}}}},"status":{{"conditions":[{{"type":"Ready","status":"True"}}]}}}}"#
        ));
        for (suffix, ports) in [("", &[80, 443][..]), ("-private", &[80, 443, 9090, 9091, 8022, 8012][..])] {
            let ports: Vec<String> = ports
                .iter()
                .map(|p| format!(r#"{{"name":"p{p}","port":{p},"protocol":"TCP","targetPort":{p}}}"#))
                .collect();
            items.push(format!(
                r#"{{"apiVersion":"v1","kind":"Service","metadata":{{"name":"{r}{suffix}","namespace":"shop","labels":{{"serving.knative.dev/revision":"{r}"}},"managedFields":{managed}}},"spec":{{"type":"ClusterIP","clusterIP":"10.0.0.1","ports":[{}]}}}}"#,
                ports.join(",")
            ));
        }
    }
    format!(r#"{{"apiVersion":"v1","kind":"List","items":[{}]}}"#, items.join(","))
}

/// `import kubectl` took ~27x its (compact) input: a `serde_json::Value` of every object, then
/// a copy of each out of its List. Parsed without `managedFields` and the last-applied copy and
/// moved out of the List, it stays well below that.
#[test]
fn import_kubectl_memory_stays_below_12_times_its_input() {
    let dir = tempdir();
    let text = kubectl_list(6000);
    let input = write(dir.path(), "list.json", &text);
    let args = vec![
        "import".to_string(),
        "kubectl".into(),
        input.display().to_string(),
        "-o".into(),
        dir.path().join("topology.toml").display().to_string(),
    ];
    let peak = peak_rss(&args);
    let ratio = peak as f64 / text.len() as f64;
    assert!(ratio < 12.0, "peak {peak} bytes for {} bytes of input: {ratio:.1}x", text.len());
}
