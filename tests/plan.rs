//! `meshcap plan` (issue 20 §2): the changes it writes keep every observed dependency, leave
//! mesh infrastructure and gateways alone, keep every proxy under its limit for the horizon
//! (recomputed here from plan.json and the model file), and the folder is all or nothing.
//!
//! The mesh is `tests/fleet_mesh.rs`'s (shop/cart 2 updates a day, pay/fast 4, pay/slow 1, all
//! capped by Knative's GC at 21 revisions) with an ingress gateway, an injected knative-serving
//! and a `jobs` namespace without traffic data.

use std::path::{Path, PathBuf};

use statrs::distribution::{ContinuousCDF, StudentsT};

use crate::fleet_mesh::{series_of, topology};
use crate::util::{fails, meshcap, tempdir, write};

const GATEWAY: &str = "istio-system/istio-ingressgateway-5d8f7-x2x";

fn mesh() -> String {
    topology()
        + r#"
[[gateways]]
name = "istio-ingressgateway"
namespace = "istio-system"
[[namespaces]]
name = "knative-serving"
sidecars = true
services = [{ name = "activator-service", ports = 4 }]
[[namespaces]]
name = "jobs"
sidecars = true
services = [{ name = "batch", ports = 2 }]
"#
}

/// Observed traffic: shop calls a Knative service of another namespace, pay calls its own
/// services and shop's, and pay/fast -> slow was seen once.
const TRAFFIC: &str = "# window-seconds: 1209600
source_namespace,source_workload,destination_host,requests,first_seen,last_seen
shop,cart,fast.pay.svc.cluster.local,5200,1767225600,1767657600
pay,fast,slow.pay.svc.cluster.local,1,1767400000,1767400000
pay,slow,cart.shop.svc.cluster.local,310,1767225600,1767657600
";

/// Every proxy sees the whole mesh now (no Sidecar): 3 services' revisions x 8 ports plus
/// their placeholders, activator-service 4, batch 2: 233 clusters. `gateway_to_limit` places the
/// gateway's limit that many ports above its clusters now.
fn fleet(gateway_to_limit: f64) -> String {
    series_of(&[
        ("shop/cart-00011-deployment-7c9d-abcde", 233.0, 0.0, 60.0),
        ("pay/fast-00011-deployment-5f6b-fghij", 233.0, 1.0, 60.0),
        ("pay/slow-00006-deployment-6d7c-klmno", 233.0, -1.0, 60.0),
        ("jobs/batch-1", 233.0, 0.5, 5000.0),
        ("knative-serving/activator-7d8f-pqrst", 233.0, 2.0, 5000.0),
        (GATEWAY, 233.0, 0.0, gateway_to_limit),
    ])
}

struct Setup {
    dir: tempfile::TempDir,
    topology: PathBuf,
    fleet: PathBuf,
    traffic: PathBuf,
    model: PathBuf,
}

fn setup(gateway_to_limit: f64) -> Setup {
    let dir = tempdir();
    let topology = write(dir.path(), "topology.toml", &mesh());
    let fleet = write(dir.path(), "fleet.csv", &fleet(gateway_to_limit));
    let traffic = write(dir.path(), "traffic.csv", TRAFFIC);
    let model = dir.path().join("model.json");
    meshcap().arg("fit").arg(&fleet).args(["--x", "ports", "--errors", "iid", "-o"]).arg(&model).assert().success();
    Setup { dir, topology, fleet, traffic, model }
}

fn plan(s: &Setup, out: &Path) -> assert_cmd::Command {
    plan_with(s, &s.traffic, out)
}

fn plan_with(s: &Setup, traffic: &Path, out: &Path) -> assert_cmd::Command {
    let mut cmd = meshcap();
    cmd.arg("plan")
        .arg("--topology")
        .arg(&s.topology)
        .arg("--series")
        .arg(&s.fleet)
        .arg("--traffic")
        .arg(traffic)
        .arg("--model")
        .arg(&s.model)
        .arg("-o")
        .arg(out);
    cmd
}

fn read_json(path: &Path) -> serde_json::Value {
    serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap()
}

fn yaml(path: &Path) -> serde_yaml::Value {
    let text = std::fs::read_to_string(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    serde_yaml::from_str(&text).unwrap_or_else(|e| panic!("{} does not parse: {e}", path.display()))
}

/// Istio's hostname rule, written from istio/istio `pkg/config/host/name.go` (`SubsetOf`) at
/// 1.18.2: a plain host covers only itself; `*.suffix` covers every host ending in `.suffix`
/// (not `suffix` itself); `*` covers everything.
fn host_subset_of(service_host: &str, imported: &str) -> bool {
    match imported.strip_prefix('*') {
        Some(suffix) => service_host.ends_with(suffix),
        None => service_host == imported,
    }
}

/// Whether a Sidecar in `sidecar_ns` with egress `hosts` imports the Service `service_host` of
/// namespace `service_ns`, as istio/istio `pilot/pkg/model/sidecar.go` (1.18.2) decides:
/// each host is split once at `/` (`strings.SplitN(h, "/", 2)`); `.` is the Sidecar's own
/// namespace; `selectServices` looks for an import under the Service's namespace, then under
/// `*`; `~` (no namespace) never equals a Service's namespace, so it imports nothing.
fn imports(hosts: &[String], sidecar_ns: &str, service_ns: &str, service_host: &str) -> bool {
    hosts.iter().any(|h| {
        let Some((ns, host)) = h.split_once('/') else { return false };
        let ns = if ns == "." { sidecar_ns } else { ns };
        (ns == service_ns || ns == "*") && host_subset_of(service_host, host)
    })
}

#[test]
fn the_istio_rules_in_this_test_match_upstream_examples() {
    // The examples in the comments of istio/istio pkg/config/host/name.go at 1.18.2.
    assert!(host_subset_of("foo.com", "foo.com") && !host_subset_of("foo.com", "bar.com"));
    assert!(host_subset_of("foo.com", "*.com") && !host_subset_of("foo.com", "*.foo.com"));
    assert!(host_subset_of("foo.com", "*"));
    let h = |v: &[&str]| v.iter().map(|s| s.to_string()).collect::<Vec<_>>();
    let fqdn = "cart.shop.svc.cluster.local";
    assert!(imports(&h(&["./*"]), "shop", "shop", fqdn));
    assert!(!imports(&h(&["./*"]), "pay", "shop", fqdn));
    assert!(imports(&h(&["*/cart.shop.svc.cluster.local"]), "pay", "shop", fqdn));
    assert!(imports(&h(&["shop/*.svc.cluster.local"]), "pay", "shop", fqdn));
    assert!(!imports(&h(&["pay/cart.shop.svc.cluster.local"]), "pay", "shop", fqdn));
    assert!(!imports(&h(&["~/*"]), "pay", "shop", fqdn));
    assert!(!imports(&h(&["shop/cart"]), "pay", "shop", fqdn), "a short name is not the FQDN");
}

#[test]
fn the_plan_keeps_every_dependency_and_every_proxy_under_its_limit() {
    let s = setup(5000.0);
    let out = s.dir.path().join("plan");
    plan(&s, &out).assert().success();
    let p = read_json(&out.join("plan.json"));
    assert_eq!(p["horizon_days"], 180.0);
    for key in ["namespaces", "unplanned", "gc", "proxies"] {
        assert!(!p[key].is_null(), "plan.json has {key}");
    }
    let ns = |name: &str| p["namespaces"].as_array().unwrap().iter().find(|n| n["namespace"] == name).unwrap().clone();

    // Every observed dependency is imported by its namespace's Sidecar, by Istio's rules.
    for line in TRAFFIC.lines().filter(|l| !l.starts_with('#')).skip(1) {
        let f: Vec<&str> = line.split(',').collect();
        let (src, host) = (f[0], f[2]);
        let dest_ns = host.split('.').nth(1).unwrap();
        let sidecar = yaml(&out.join(format!("sidecars/{src}.yaml")));
        let hosts: Vec<String> = sidecar["spec"]["egress"][0]["hosts"]
            .as_sequence()
            .unwrap()
            .iter()
            .map(|h| h.as_str().unwrap().to_string())
            .collect();
        assert!(imports(&hosts, src, dest_ns, host), "{src} -> {host} not covered by {hosts:?}");
        // And the Sidecar says exactly what plan.json says.
        assert_eq!(serde_json::to_value(&hosts).unwrap(), ns(src)["egress_hosts"]);
        assert_eq!(sidecar["apiVersion"], "networking.istio.io/v1beta1", "Istio 1.18 serves v1beta1, not v1");
        assert_eq!(sidecar["metadata"]["namespace"], src);
        // istiod and knative-local-gateway (istio-system) stay reachable.
        assert!(imports(&hosts, src, "istio-system", "knative-local-gateway.istio-system.svc.cluster.local"));
    }
    // The rare dependency (seen once) is kept and named.
    assert!(p["warnings"].as_array().unwrap().iter().any(|w| w
        .as_str()
        .unwrap()
        .contains("rarest dependency kept: pay/fast -> slow.pay.svc.cluster.local (1 requests")));

    // Mesh infrastructure and gateways are never narrowed, and say why.
    assert!(!out.join("sidecars/knative-serving.yaml").exists() && !out.join("sidecars/istio-system.yaml").exists());
    let ks = ns("knative-serving");
    assert_eq!(ks["scope"], "unchanged");
    assert!(ks["reason"].as_str().unwrap().contains("activator"), "{ks}");
    assert_eq!(ks["before"]["visible_clusters"], ks["after"]["visible_clusters"]);
    let gateway = p["proxies"].as_array().unwrap().iter().find(|x| x["proxy"] == GATEWAY).unwrap();
    assert_eq!(gateway["kind"], "gateway");
    assert_eq!(gateway["before"]["clusters"], gateway["after"]["clusters"]);
    assert_eq!(gateway["before"]["limit_bytes"], gateway["after"]["limit_bytes"]);
    // jobs has no traffic data: unplanned, its scope kept.
    assert_eq!(p["unplanned"], serde_json::json!(["jobs"]));
    assert_eq!(ns("jobs")["scope"], "unchanged");
    assert!(!out.join("sidecars/jobs.yaml").exists());

    // Every proxy's after-plan upper bound, recomputed from plan.json's clusters at the horizon
    // and the model file: b0 + b1 x' + t sqrt(s^2 (1 + c00 + 2 c01 x' + c11 x'^2)), x' = 1.54 x
    // (the full push at Istio 1.18, istio#23959), under its limit less 10% headroom.
    let m = read_json(&s.model);
    let b: Vec<f64> = m["coefficients"].as_array().unwrap().iter().map(|c| c["estimate"].as_f64().unwrap()).collect();
    let c = |i: usize, j: usize| m["cov_unscaled"][i][j].as_f64().unwrap();
    let s2 = m["residual_std_error"].as_f64().unwrap().powi(2);
    let t = StudentsT::new(0.0, 1.0, m["dof"].as_f64().unwrap()).unwrap().inverse_cdf(0.95);
    assert_eq!(p["push_fraction"], 0.54);
    for x in p["proxies"].as_array().unwrap() {
        let after = &x["after"];
        let xp = 1.54 * after["clusters_at_horizon"].as_f64().unwrap();
        let upper = b[0] + b[1] * xp + t * (s2 * (1.0 + c(0, 0) + 2.0 * c(0, 1) * xp + c(1, 1) * xp * xp)).sqrt();
        crate::util::close("after upper", after["upper_bytes"].as_f64().unwrap(), upper, 1e-9);
        let limit = after["limit_bytes"].as_f64().unwrap();
        assert!(upper <= 0.9 * limit, "{}: {upper} over 0.9 x {limit}", x["proxy"]);
        assert!(after["clusters_at_horizon"].as_f64().unwrap() >= after["clusters"].as_f64().unwrap());
    }
    // shop's sidecars lose everything but pay/fast's routed revision and placeholder (2
    // clusters by hand: the VirtualService destination's port 80 and the ExternalName).
    let shop = ns("shop");
    assert_eq!(shop["before"]["visible_clusters"], 233.0);
    assert_eq!(shop["after"]["visible_clusters"], 2.0);

    // The annotations: one patch per Knative service of an annotated namespace, carrying
    // exactly plan.json's values, listed by the kustomization.
    let kustomization = yaml(&out.join("patches/kustomization.yaml"));
    let listed: Vec<&str> =
        kustomization["patches"].as_sequence().unwrap().iter().map(|r| r["path"].as_str().unwrap()).collect();
    assert_eq!(listed, ["shop-cart.yaml", "pay-fast.yaml", "pay-slow.yaml"]);
    for (namespace, svc) in [("shop", "cart"), ("pay", "fast"), ("pay", "slow")] {
        let patch = yaml(&out.join(format!("patches/{namespace}-{svc}.yaml")));
        assert_eq!(patch["apiVersion"], "serving.knative.dev/v1");
        assert_eq!(patch["kind"], "Service");
        assert_eq!(
            (patch["metadata"]["name"].as_str(), patch["metadata"]["namespace"].as_str()),
            (Some(svc), Some(namespace))
        );
        let a = &patch["spec"]["template"]["metadata"]["annotations"];
        let n = ns(namespace);
        assert_eq!(a["sidecar.istio.io/proxyMemory"].as_str(), n["proxy_memory"].as_str());
        assert_eq!(a["sidecar.istio.io/proxyMemoryLimit"].as_str(), n["proxy_memory_limit"].as_str());
        // The limit is the after-plan upper bound over 90%, in whole Mi, rounded up.
        let mi = |q: &serde_json::Value| q.as_str().unwrap().trim_end_matches("Mi").parse::<f64>().unwrap();
        let want = (n["after"]["upper_bytes"].as_f64().unwrap() / 0.9 / 1048576.0).ceil();
        assert_eq!(mi(&n["proxy_memory_limit"]), want, "{n}");
    }
    // GC was not the lever here: no config-gc.yaml.
    assert_eq!(p["gc"]["changed"], false);
    assert!(!out.join("config-gc.yaml").exists());
    // The rule files parse; promtool checks them where installed.
    let rules = yaml(&out.join("prometheus-rules.yaml"));
    assert!(rules["groups"][0]["rules"].as_sequence().unwrap().len() >= 7);
    assert_eq!(yaml(&out.join("prometheus-rule.yaml"))["kind"], "PrometheusRule");
    if crate::rules::promtool() {
        let o = std::process::Command::new("promtool")
            .args(["check", "rules"])
            .arg(out.join("prometheus-rules.yaml"))
            .output()
            .unwrap();
        assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    }
    assert!(out.join("plan.png").metadata().unwrap().len() > 10_000);
    let md = std::fs::read_to_string(out.join("plan.md")).unwrap();
    assert!(md.contains("| shop | hosts |") && md.contains(GATEWAY), "{md}");
}

#[test]
fn gc_is_the_lever_where_no_scope_or_annotation_reaches() {
    // The gateway sees every service; at Knative's default GC (21 revisions each) it reaches
    // 233 + 80 + 80 + 120 = 513 clusters, x1.54 = 790: 50Mi + 74.1Mi. Its limit, 513 ports above
    // now (50Mi + 746 x 96Ki = 120Mi), less 10% is 108Mi: over. With max-non-active-revisions
    // 10 (min 10) every service stops at 11 revisions: only slow grows, +5 x 8 = 40 clusters,
    // (273 x 1.54) x 96Ki + 50Mi = 89.4Mi: safe. 500, 200, 100, 50 and 20 change nothing
    // (min-non-active 20 holds 21 each), so the ladder's answer is 10.
    let s = setup(513.0);
    let out = s.dir.path().join("plan");
    plan(&s, &out).assert().success();
    let p = read_json(&out.join("plan.json"));
    assert_eq!(p["gc"]["changed"], true, "{}", p["gc"]);
    assert_eq!(p["gc"]["recommended"]["max_non_active"], 10);
    assert_eq!(p["gc"]["recommended"]["min_non_active"], 10);
    let cm = yaml(&out.join("config-gc.yaml"));
    assert_eq!((cm["kind"].as_str(), cm["metadata"]["name"].as_str()), (Some("ConfigMap"), Some("config-gc")));
    assert_eq!(cm["metadata"]["namespace"], "knative-serving");
    assert_eq!(cm["data"]["max-non-active-revisions"], "10");
    assert_eq!(cm["data"]["min-non-active-revisions"], "10");
    assert_eq!(cm["data"]["retain-since-create-time"], "48h");
    let gateway = p["proxies"].as_array().unwrap().iter().find(|x| x["proxy"] == GATEWAY).unwrap();
    crate::util::close(
        "gateway clusters at horizon",
        gateway["after"]["clusters_at_horizon"].as_f64().unwrap(),
        273.0,
        1e-9,
    );
    crate::util::close("before", gateway["before"]["clusters_at_horizon"].as_f64().unwrap(), 513.0, 1e-9);
    assert!(gateway["levers"].as_array().unwrap().iter().any(|l| l == "gc"));
}

#[test]
fn a_proxy_no_change_can_save_is_refused_and_nothing_is_written() {
    // The gateway's limit is 40 ports above its memory now (50Mi + 273 x 96Ki = 75.6Mi), less
    // 10% headroom 68Mi: already under its memory (71.8Mi), and a full push (x1.54 on 233
    // clusters: 83.7Mi) is further over. No scope (gateways are not scoped), no annotation (not
    // a Knative service) and no GC setting (growth is not the problem) brings it back under.
    let s = setup(40.0);
    let out = s.dir.path().join("plan");
    std::fs::create_dir(&out).unwrap();
    std::fs::write(out.join("plan.json"), "an earlier plan\n").unwrap();
    let err = fails(&mut plan(&s, &out), 1);
    assert!(err.contains(&format!("keeps proxy {GATEWAY} safe for 180 days")) && err.contains("gateway"), "{err}");
    // The folder is as it was: the earlier file untouched, nothing added.
    assert_eq!(std::fs::read_to_string(out.join("plan.json")).unwrap(), "an earlier plan\n");
    let names: Vec<_> = std::fs::read_dir(&out).unwrap().map(|e| e.unwrap().file_name()).collect();
    assert_eq!(names.len(), 1, "{names:?}");
}

#[test]
fn bad_input_is_one_line_and_exit_2() {
    let s = setup(5000.0);
    let out = s.dir.path().join("plan");
    // A destination in a namespace the topology lacks.
    let bad = write(s.dir.path(), "bad.csv", &TRAFFIC.replace("fast.pay.svc", "fast.nowhere.svc"));
    let err = fails(&mut plan_with(&s, &bad, &out), 2);
    assert!(err.contains("bad.csv") && err.contains("namespace nowhere"), "{err}");
    let err = fails(plan(&s, &out).args(["--horizon", "0"]), 2);
    assert!(err.contains("\"0\""), "{err}");
    let err = fails(plan(&s, &out).args(["--scope", "knative-serving=namespace"]), 2);
    assert!(err.contains("mesh infrastructure"), "{err}");
    assert!(!out.exists(), "nothing written on bad input");
}
