//! One fleet, three sources (issue 12 §1): the same proxies written as saved Prometheus
//! responses, as Grafana exports (CSV and data frame JSON) and as istioctl dumps with their
//! readings must import to the same long form, row for row; `fleet` then ranks the Grafana
//! import. The expected rows are written out by hand below, not taken from any import.

use std::path::{Path, PathBuf};

use crate::util::{json, meshcap, tempdir, write};

const T: i64 = 1_767_225_600; // 2026-01-01T00:00:00Z
const STEP: i64 = 300;
const MI: u64 = 1_048_576;

/// The fleet by hand: (namespace, pod, container, [(step, memory MiB, ports)]). shop/cart's
/// container is replaced at step 2 (a restart); its new Envoy loads the same clusters back, so
/// memory carries on from where it was (2 MiB per port everywhere but list, which is flat).
type Incarnation = (&'static str, &'static str, &'static str, &'static [(i64, u64, u64)]);
const FLEET: &[Incarnation] = &[
    ("pay", "api", "c1", &[(0, 60, 10), (1, 62, 11), (2, 64, 12), (3, 66, 13)]),
    ("shop", "cart", "c2", &[(0, 100, 20), (1, 104, 22)]),
    ("shop", "cart", "c3", &[(2, 108, 24), (3, 112, 26)]),
    ("shop", "list", "c4", &[(0, 80, 16), (1, 80, 16), (2, 81, 16), (3, 81, 16)]),
];

/// The long form every source must give with `--limit 1Gi`: 3 proxies x 4 steps = 12 rows,
/// sorted by proxy then time; cart's restart counted from its first reading of c3.
const WANT: &[&str] = &[
    "time,proxy,ports,restarts,memory,limit",
    "2026-01-01T00:00:00Z,pay/api,10,0,62914560,1073741824",
    "2026-01-01T00:05:00Z,pay/api,11,0,65011712,1073741824",
    "2026-01-01T00:10:00Z,pay/api,12,0,67108864,1073741824",
    "2026-01-01T00:15:00Z,pay/api,13,0,69206016,1073741824",
    "2026-01-01T00:00:00Z,shop/cart,20,0,104857600,1073741824",
    "2026-01-01T00:05:00Z,shop/cart,22,0,109051904,1073741824",
    "2026-01-01T00:10:00Z,shop/cart,24,1,113246208,1073741824",
    "2026-01-01T00:15:00Z,shop/cart,26,1,117440512,1073741824",
    "2026-01-01T00:00:00Z,shop/list,16,0,83886080,1073741824",
    "2026-01-01T00:05:00Z,shop/list,16,0,83886080,1073741824",
    "2026-01-01T00:10:00Z,shop/list,16,0,84934656,1073741824",
    "2026-01-01T00:15:00Z,shop/list,16,0,84934656,1073741824",
];

/// A proxy: namespace, pod, and its (step, ports).
type Proxy = (&'static str, &'static str, Vec<(i64, u64)>);

/// The proxies, their incarnations merged.
fn proxies() -> Vec<Proxy> {
    let mut out: Vec<Proxy> = Vec::new();
    for (ns, pod, _, pts) in FLEET {
        match out.iter_mut().find(|p| p.0 == *ns && p.1 == *pod) {
            Some(p) => p.2.extend(pts.iter().map(|x| (x.0, x.2))),
            None => out.push((ns, pod, pts.iter().map(|x| (x.0, x.2)).collect())),
        }
    }
    out
}

fn prometheus_files(dir: &Path) -> Vec<String> {
    let mem: Vec<(String, Vec<(f64, String)>)> = FLEET
        .iter()
        .map(|(ns, pod, id, pts)| {
            let labels = format!(r#""namespace":"{ns}","pod":"{pod}","container":"istio-proxy","id":"{id}""#);
            (labels, pts.iter().map(|p| ((T + STEP * p.0) as f64, (p.1 * MI).to_string())).collect())
        })
        .collect();
    let ports: Vec<(String, Vec<(f64, String)>)> = proxies()
        .into_iter()
        .map(|(ns, pod, pts)| {
            let labels = format!(r#""namespace":"{ns}","pod":"{pod}""#);
            (labels, pts.iter().map(|p| ((T + STEP * p.0) as f64, p.1.to_string())).collect())
        })
        .collect();
    let body = |s: &[(String, Vec<(f64, String)>)]| {
        let s: Vec<(&str, Vec<(f64, String)>)> = s.iter().map(|(l, p)| (l.as_str(), p.clone())).collect();
        crate::prometheus_files::body(&s)
    };
    let m = write(dir, "mem.json", &body(&mem));
    let p = write(dir, "ports.json", &body(&ports));
    let mut a: Vec<String> = ["import", "prometheus", "--by", "namespace,pod"].map(String::from).to_vec();
    a.extend(["--memory-file".into(), m.display().to_string(), "--ports-file".into(), p.display().to_string()]);
    a
}

/// A Grafana "series joined by time" CSV: one column per series, empty where it has no value.
fn joined_csv(headers: &[String], cell: impl Fn(usize, i64) -> Option<u64>) -> String {
    let quoted: Vec<String> = headers.iter().map(|h| format!("\"{}\"", h.replace('"', "\"\""))).collect();
    let mut s = format!("\"Time\",{}\n", quoted.join(","));
    for step in 0..4 {
        let cells: Vec<String> =
            (0..headers.len()).map(|c| cell(c, step).map_or(String::new(), |v| v.to_string())).collect();
        s.push_str(&format!("{},{}\n", (T + STEP * step) * 1000, cells.join(",")));
    }
    s
}

fn grafana_csv(dir: &Path) -> Vec<PathBuf> {
    let headers: Vec<String> = FLEET
        .iter()
        .map(|(ns, pod, id, _)| {
            format!(r#"container_memory_working_set_bytes{{container="istio-proxy", id="{id}", namespace="{ns}", pod="{pod}"}}"#)
        })
        .collect();
    let mem = joined_csv(&headers, |c, step| FLEET[c].3.iter().find(|p| p.0 == step).map(|p| p.1 * MI));
    let px = proxies();
    let headers: Vec<String> = px.iter().map(|(ns, pod, _)| format!(r#"{{namespace="{ns}", pod="{pod}"}}"#)).collect();
    let ports = joined_csv(&headers, |c, step| px[c].2.iter().find(|p| p.0 == step).map(|p| p.1));
    vec![write(dir, "mem.csv", &mem), write(dir, "ports.csv", &ports)]
}

/// Memory as Inspect > JSON > Panel data (legend `{{pod}}`: the labels survive in JSON), ports
/// as DataFrame JSON (the wire form).
fn grafana_json(dir: &Path) -> Vec<PathBuf> {
    let frames: Vec<String> = FLEET
        .iter()
        .map(|(ns, pod, id, pts)| {
            let times: Vec<String> = pts.iter().map(|p| ((T + STEP * p.0) * 1000).to_string()).collect();
            let values: Vec<String> = pts.iter().map(|p| (p.1 * MI).to_string()).collect();
            format!(
                r#"{{"refId":"A","fields":[{{"name":"Time","type":"time","config":{{"interval":300000}},"values":[{}]}},{{"name":"Value","type":"number","labels":{{"container":"istio-proxy","id":"{id}","namespace":"{ns}","pod":"{pod}"}},"config":{{"displayNameFromDS":"{pod}"}},"values":[{}]}}],"length":{}}}"#,
                times.join(","),
                values.join(","),
                pts.len()
            )
        })
        .collect();
    let mem = format!(r#"{{"state":"Done","series":[{}]}}"#, frames.join(","));
    let frames: Vec<String> = proxies()
        .iter()
        .map(|(ns, pod, pts)| {
            let times: Vec<String> = pts.iter().map(|p| ((T + STEP * p.0) * 1000).to_string()).collect();
            let values: Vec<String> = pts.iter().map(|p| p.1.to_string()).collect();
            format!(
                r#"{{"schema":{{"refId":"B","fields":[{{"name":"Time","type":"time","typeInfo":{{"frame":"time.Time"}}}},{{"name":"Value","type":"number","typeInfo":{{"frame":"float64"}},"labels":{{"namespace":"{ns}","pod":"{pod}"}}}}]}},"data":{{"values":[[{}],[{}]]}}}}"#,
                times.join(","),
                values.join(",")
            )
        })
        .collect();
    vec![write(dir, "mem-frames.json", &mem), write(dir, "ports-frames.json", &format!("[{}]", frames.join(",")))]
}

/// An Envoy /config_dump in the real shape (as `pilot-agent request GET config_dump` writes:
/// a BootstrapConfigDump whose node carries NAME/NAMESPACE metadata and the `sidecar~IP~POD.NS~`
/// id, then a ClustersConfigDump) holding `outbound` outbound clusters and one static one.
pub(crate) fn config_dump(ns: &str, pod: &str, started: &str, outbound: u64) -> String {
    let clusters: Vec<String> = (0..outbound)
        .map(|k| {
            format!(
                r#"{{"version_info":"2026-01-01T00:00:00Z/7","cluster":{{"@type":"type.googleapis.com/envoy.config.cluster.v3.Cluster","name":"outbound|80||svc{k}.{ns}.svc.cluster.local","type":"EDS","eds_cluster_config":{{"eds_config":{{"ads":{{}},"resource_api_version":"V3"}},"service_name":"outbound|80||svc{k}.{ns}.svc.cluster.local"}}}},"last_updated":"2026-01-01T00:00:00.000Z"}}"#
            )
        })
        .collect();
    format!(
        r#"{{"configs":[{{"@type":"type.googleapis.com/envoy.admin.v3.BootstrapConfigDump","bootstrap":{{"node":{{"id":"sidecar~10.1.2.3~{pod}.{ns}~{ns}.svc.cluster.local","cluster":"{pod}.{ns}","metadata":{{"NAME":"{pod}","NAMESPACE":"{ns}","ISTIO_VERSION":"1.18.2"}}}}}},"last_updated":"{started}"}},{{"@type":"type.googleapis.com/envoy.admin.v3.ClustersConfigDump","version_info":"2026-01-01T00:00:00Z/7","static_clusters":[{{"cluster":{{"@type":"type.googleapis.com/envoy.config.cluster.v3.Cluster","name":"prometheus_stats","type":"STATIC"}},"last_updated":"{started}"}}],"dynamic_active_clusters":[{}]}}]}}"#,
        clusters.join(",")
    )
}

/// One dump per container and step, each container's Envoy started at its own time; the
/// readings list them newest first (the import sorts by time).
fn istioctl_files(dir: &Path) -> (Vec<PathBuf>, PathBuf) {
    let mut dumps = Vec::new();
    let mut rows = Vec::new();
    for (k, (ns, pod, _, pts)) in FLEET.iter().enumerate() {
        let started = format!("2025-12-31T2{k}:00:00.000Z");
        for (step, mem, ports) in pts.iter() {
            let name = format!("{ns}-{pod}-{step}.json");
            dumps.push(write(dir, &name, &config_dump(ns, pod, &started, *ports)));
            rows.push(format!("{name},{},{mem}Mi", T + STEP * step));
        }
    }
    rows.reverse();
    let readings = write(dir, "readings.csv", &format!("dump,time,memory\n{}\n", rows.join("\n")));
    (dumps, readings)
}

/// Run an import with `--limit 1Gi -o OUT --format json`: the data lines and the summary.
fn import(dir: &Path, name: &str, args: &[String]) -> (Vec<String>, serde_json::Value) {
    let out = dir.join(name);
    let summary = json(meshcap().args(args).args(["--limit", "1Gi", "--format", "json", "-o"]).arg(&out));
    let text = std::fs::read_to_string(&out).unwrap();
    (text.lines().filter(|l| !l.starts_with('#')).map(String::from).collect(), summary)
}

fn strings(paths: &[PathBuf]) -> Vec<String> {
    paths.iter().map(|p| p.display().to_string()).collect()
}

/// A long-form row with a `kind` cell after its proxy (the second field).
fn with_kind(row: &str, kind: &str) -> String {
    let (time, rest) = row.split_once(',').unwrap();
    let (proxy, rest) = rest.split_once(',').unwrap();
    format!("{time},{proxy},{kind},{rest}")
}

#[test]
fn prometheus_grafana_and_istioctl_give_the_same_long_form() {
    let dir = tempdir();
    let d = dir.path();
    let mut sources: Vec<(&str, Vec<String>)> = vec![("prometheus", prometheus_files(d))];
    for (what, files) in [("grafana csv", grafana_csv(d)), ("grafana json", grafana_json(d))] {
        let mut a: Vec<String> = ["import", "grafana", "--by", "namespace,pod"].map(String::from).to_vec();
        a.extend(["--memory".into(), files[0].display().to_string(), "--ports".into(), files[1].display().to_string()]);
        a.extend(strings(&files));
        sources.push((what, a));
    }
    // The README's fixtures: the same fleet as a memory CSV (legend Auto) and ports as
    // DataFrame JSON (legend {{pod}}, labels kept, an extra `app` label).
    let fixtures = ["grafana-fleet-memory.csv", "grafana-fleet-ports.json"]
        .map(|f| crate::util::root().join("tests/fixtures").join(f));
    let mut a: Vec<String> =
        ["import", "grafana", "--by", "namespace,pod", "--memory", "memory", "--ports", "grafana-fleet-ports.json"]
            .map(String::from)
            .to_vec();
    a.extend(strings(&fixtures));
    sources.push(("grafana fixtures", a));
    let (dumps, readings) = istioctl_files(d);
    assert_eq!(dumps.len(), 12, "3 proxies x 4 steps, one dump each");
    let mut a: Vec<String> = ["import", "istioctl", "--readings"].map(String::from).to_vec();
    a.push(readings.display().to_string());
    a.extend(strings(&dumps));
    sources.push(("istioctl", a));
    for (k, (what, args)) in sources.iter().enumerate() {
        let (rows, summary) = import(d, &format!("out{k}.csv"), args);
        // A dump's node id says its kind (`sidecar~`): istioctl writes it after the proxy.
        let want: Vec<String> = if *what == "istioctl" {
            WANT.iter().enumerate().map(|(i, r)| with_kind(r, if i == 0 { "kind" } else { "sidecar" })).collect()
        } else {
            WANT.iter().map(|r| r.to_string()).collect()
        };
        assert_eq!(rows, want, "{what}");
        assert_eq!((summary["rows"].as_u64(), summary["proxies"].as_u64()), (Some(12), Some(3)), "{what}");
        assert_eq!(summary["restarts_spliced"].as_u64(), Some(1), "{what}: cart's one restart");
    }
}

#[test]
fn fleet_ranks_the_grafana_import() {
    let dir = tempdir();
    let files = grafana_csv(dir.path());
    let mut a: Vec<String> =
        ["import", "grafana", "--by", "namespace,pod", "--memory", "mem.csv", "--ports", "ports.csv"]
            .map(String::from)
            .to_vec();
    a.extend(strings(&files));
    let (rows, _) = import(dir.path(), "g.csv", &a);
    assert_eq!(rows.len(), 13);
    let v = json(meshcap().arg("fleet").arg(dir.path().join("g.csv")).args(["--format", "json"]));
    let p = v["proxies"].as_array().unwrap();
    let names: Vec<&str> = p.iter().map(|x| x["proxy"].as_str().unwrap()).collect();
    // Ports per day by hand: cart +2 per 5 min step = 2 x 288 = 576, api +1 = 288, list 0. At
    // 2 MiB per port both need about 450 more ports to reach 1Gi (cart (1024 - 112) / 2 = 456,
    // api (1024 - 66) / 2 = 479), so cart, growing twice as fast, comes first; list, not
    // growing, gets no date.
    assert_eq!(names, ["shop/cart", "pay/api", "shop/list"]);
    let growth: Vec<f64> = p.iter().map(|x| x["growth_ports_per_day"].as_f64().unwrap()).collect();
    assert_eq!(growth, [576.0, 288.0, 0.0]);
    assert!(p[0]["days_to_limit"].as_f64().unwrap() < p[1]["days_to_limit"].as_f64().unwrap());
    assert!(p[2]["days_to_limit"].is_null());
    assert_eq!(p[0]["memory_bytes"].as_f64(), Some((112 * MI) as f64), "cart now, after its restart");
}

#[test]
fn istioctl_fleet_from_real_dumps() {
    // Three real dumps (../shared/reference/real-world/README.md gives their counts), each taken
    // twice: service clusters = outbound + SNI-DNAT: productpage 74 + 0, ratings 51 + 0, the
    // ingress gateway 60 + 60. Proxy names: NAME/NAMESPACE metadata where the dump has it,
    // else the node id (ratings: bookinfo).
    let names = [
        "istio-config-dump-productpage-v1-7bbd79f8fd-k6j79.json",
        "istio-config-dump-ratings-v1-f745cf57b-vfwcv.json",
        "istio-config-dump-ingressgateway-5bf6c9887-vvvmj.json",
    ];
    let Some(real) =
        names.iter().map(|n| crate::util::reference(&format!("real-world/{n}"))).collect::<Option<Vec<_>>>()
    else {
        return;
    };
    let dir = tempdir();
    let mut args: Vec<String> = vec!["import".into(), "istioctl".into()];
    let mut rows = vec!["dump,time,memory".to_string()];
    for (k, p) in real.iter().enumerate() {
        for (t, copy) in ["a", "b"].iter().enumerate() {
            let name = format!("{copy}-{}", names[k]);
            std::fs::copy(p, dir.path().join(&name)).unwrap();
            args.push(dir.path().join(&name).display().to_string());
            rows.push(format!("{name},{},{}Mi", T + 3600 * t as i64, 100 + 10 * k + t));
        }
    }
    let readings = write(dir.path(), "readings.csv", &(rows.join("\n") + "\n"));
    args.extend(["--readings".into(), readings.display().to_string()]);
    let (rows, summary) = import(dir.path(), "real.csv", &args);
    assert_eq!(summary["proxies"].as_u64(), Some(3));
    // Kinds from the node ids: `sidecar~` twice, the ingress gateway's `router~`. The dumps'
    // PROXY_CONFIG holds no concurrency, so no workers column.
    let want = [
        "time,proxy,kind,ports,restarts,memory,limit",
        "2026-01-01T00:00:00Z,bookinfo/ratings-v1-f745cf57b-vfwcv,sidecar,51,0,115343360,1073741824",
        "2026-01-01T01:00:00Z,bookinfo/ratings-v1-f745cf57b-vfwcv,sidecar,51,0,116391936,1073741824",
        "2026-01-01T00:00:00Z,default/productpage-v1-7bbd79f8fd-k6j79,sidecar,74,0,104857600,1073741824",
        "2026-01-01T01:00:00Z,default/productpage-v1-7bbd79f8fd-k6j79,sidecar,74,0,105906176,1073741824",
        "2026-01-01T00:00:00Z,istio-system/istio-ingressgateway-5bf6c9887-vvvmj,gateway,120,0,125829120,1073741824",
        "2026-01-01T01:00:00Z,istio-system/istio-ingressgateway-5bf6c9887-vvvmj,gateway,120,0,126877696,1073741824",
    ];
    assert_eq!(rows, want);
}
