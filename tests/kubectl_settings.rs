//! `import kubectl` reads how the proxies run, not only what they see: Envoy workers from CPU
//! limits, annotations and Nodes; the mesh config's discoverySelectors, defaultServiceExportTo
//! and stats matcher; istiod's flags. The List `tests/fixtures/kubectl-settings-list.json` holds
//! injected activator and autoscaler pods in knative-serving, a shop pod with a ProxyConfig
//! annotation, a payments revision asking only for a memory limit, two Nodes, the `istio`
//! ConfigMap and istiod's Deployment; every figure below is worked out by hand from it.

use std::path::Path;

use meshcap::mesh::Topology;

use crate::util::{json, meshcap, root, tempdir, write};

fn fixture() -> std::path::PathBuf {
    root().join("tests/fixtures/kubectl-settings-list.json")
}

fn import(file: &Path, dir: &Path) -> (String, String) {
    let out = dir.join("topology.toml");
    let run = meshcap().args(["import", "kubectl"]).arg(file).arg("-o").arg(&out).assert().success();
    (std::fs::read_to_string(out).unwrap(), String::from_utf8(run.get_output().stdout.clone()).unwrap())
}

/// (proxy, revisions, clusters, endpoints, workers) under `--scope mesh`.
fn counts(topology: &Path) -> Vec<(String, f64, f64, f64, f64)> {
    let v = json(meshcap().args(["scope", "--scope", "mesh", "--format", "json", "--topology"]).arg(topology));
    v["scopes"][0]["namespaces"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| {
            let f = |k: &str| p[k].as_f64().unwrap();
            (
                p["namespace"].as_str().unwrap().to_string(),
                f("visible_revisions"),
                f("visible_clusters"),
                f("visible_endpoints"),
                f("concurrency"),
            )
        })
        .collect()
}

fn line_of<'a>(toml: &'a str, section: &str, key: &str) -> Option<&'a str> {
    let start = toml.find(&format!("name = \"{section}\""))?;
    let rest = &toml[start..];
    let end = rest[1..].find("\n[[").map_or(rest.len(), |e| e + 1);
    rest[..end].lines().find(|l| l.starts_with(&format!("{key} =")))
}

#[test]
fn settings_list_gives_the_workers_settings_and_counts_worked_out_by_hand() {
    let dir = tempdir();
    let (toml, summary) = import(&fixture(), dir.path());
    // istiod's env (istio/istio pilot/pkg/features at 1.21): every flag it sets is read.
    assert!(toml.contains("istio_version = \"1.21.2\""), "{toml}");
    assert!(toml.contains("filter_gateway_cluster_config = true  # istiod's PILOT_FILTER_GATEWAY_CLUSTER_CONFIG, set in its Deployment"), "{toml}");
    assert!(!toml.contains("check your install"), "{toml}");
    assert!(toml.contains("external_name_alias = false") && toml.contains("delta_xds = true"), "{toml}");
    assert!(toml.contains("PILOT_ENABLE_HEADLESS_FILTER_CHAIN_LISTENER=true"), "{toml}");
    // The mesh config: its defaultServiceExportTo as written, per-cluster stats by the prefix.
    assert!(toml.contains("default_service_export_to = [\".\", \"istio-system\"]"), "{toml}");
    assert!(toml.contains("per_cluster_stats = true  # defaultConfig.proxyStatsMatcher in istio-system/istio: inclusion prefix \"cluster.outbound\""), "{toml}");
    // Workers. The gateway's istio-proxy: limits.cpu 2 -> ISTIO_CPU_LIMIT 2.
    assert!(
        line_of(&toml, "istio-ingressgateway", "concurrency").is_some_and(|l| l.starts_with("concurrency = 2 ")),
        "{toml}"
    );
    // knative-serving: activators at 2500m -> 3, the autoscaler without a CPU limit -> node-b's
    // allocatable 15890m rounded up -> 16: the largest, with a warning naming both.
    assert!(
        line_of(&toml, "knative-serving", "concurrency").is_some_and(|l| l.starts_with("concurrency = 16 ")),
        "{toml}"
    );
    assert!(summary.contains("namespace knative-serving: proxies run 3 to 16 Envoy workers"), "{summary}");
    // shop: the pod's proxy.istio.io/config (6) over its PROXY_CONFIG (4) over limits.cpu (1).
    assert!(line_of(&toml, "shop", "concurrency").is_some_and(|l| l.starts_with("concurrency = 6 ")), "{toml}");
    // Its statsInclusionPrefixes annotation replaces the ProxyConfig's prefixes (bootstrap
    // config.go getStatsOptions): no per-cluster stats there, against the mesh default.
    assert!(
        line_of(&toml, "shop", "per_cluster_stats").is_some_and(|l| l.starts_with("per_cluster_stats = false ")),
        "{toml}"
    );
    // payments: no pod; the templates ask only for proxyMemoryLimit, which replaces the chart's
    // resources whole: no CPU limit -> the node's 16.
    assert!(line_of(&toml, "payments", "concurrency").is_some_and(|l| l.starts_with("concurrency = 16 ")), "{toml}");
    // legacy lacks the mesh=on label; istio-system is selected by its kubernetes.io/metadata.name.
    assert!(line_of(&toml, "legacy", "discovered").is_some_and(|l| l.starts_with("discovered = false ")), "{toml}");
    assert_eq!(line_of(&toml, "istio-system", "discovered"), None, "{toml}");

    // cart's traffic is pinned to cart-00002: the failed cart-00003 (routingState pending) and
    // cart-00004 (no routingState label: unset) were never routed, so Knative's GC never
    // collects them (knative/serving pkg/reconciler/gc/gc.go isRevisionActive: only `reserve`
    // is collected): 4 retained revisions, 2 of them unrouted.
    let cart = toml.lines().find(|l| l.contains("name = \"cart\"")).unwrap_or_default();
    assert!(cart.contains("revisions = 4") && cart.contains("unrouted = 2"), "{cart}");
    assert!(summary.contains("2 revisions of shop/cart are pending/unset"), "{summary}");

    let path = dir.path().join("topology.toml");
    let t = Topology::load(&path).unwrap();
    assert!(t.delta_xds(), "ISTIO_DELTA_XDS=true at 1.21, whose default is false");
    assert!(!t.versions().external_name_is_alias(), "ENABLE_EXTERNAL_NAME_ALIAS=false at 1.21");
    assert_eq!((t.concurrency_of("shop"), t.concurrency_of("legacy")), (6, 2));
    assert!(t.per_cluster_stats_of("payments") && !t.per_cluster_stats_of("shop"));

    // Counts at Istio 1.21 with ExternalName aliases off (each Knative service's placeholder is
    // a cluster again) and defaultServiceExportTo [".", "istio-system"], which Istio before 1.31
    // reads as "." (private). Knative 1.11: 8 ports a revision, 2 public at the activator (1).
    // activator-service (4 ports, exportTo "*") is seen by every sidecar: 4 clusters, 4 endpoints.
    // shop: + cart (4 revisions: 32 + placeholder 1 clusters; 4 x 2 activator + 1 endpoints)
    //       + redis (1 port, 1 pod): 38 clusters, 14 endpoints.
    // payments: + ledger (1 revision: 8 + 1 clusters; 2 + 1 endpoints): 13 clusters, 7 endpoints.
    // legacy: its old-api is not discovered, so only activator-service: 4, 4.
    // The filtered gateway: Knative Services are private to their namespaces: nothing routed.
    let want = vec![
        ("knative-serving".to_string(), 0.0, 4.0, 4.0, 16.0),
        ("legacy".to_string(), 0.0, 4.0, 4.0, 2.0),
        ("payments".to_string(), 1.0, 13.0, 7.0, 16.0),
        ("shop".to_string(), 4.0, 38.0, 14.0, 6.0),
        ("istio-ingressgateway".to_string(), 0.0, 0.0, 0.0, 2.0),
    ];
    assert_eq!(counts(&path), want);
    // That export rule hides every revision from the injected activator: said, not silent.
    let out = meshcap().args(["scope", "--scope", "mesh", "--topology"]).arg(&path).assert().success();
    let text = String::from_utf8(out.get_output().stdout.clone()).unwrap();
    assert!(text.contains("namespace shop is not exported to knative-serving: the activator's sidecar"), "{text}");
}

/// Without Nodes the CPUs behind an unlimited proxy are unknown: said, and the limited ones
/// count (knative-serving: the activators' 3); payments, with only the unlimited template, keeps
/// the topology's default.
#[test]
fn without_nodes_the_node_bound_workers_are_a_warning() {
    let dir = tempdir();
    let mut v: serde_json::Value = serde_json::from_slice(&std::fs::read(fixture()).unwrap()).unwrap();
    v["items"].as_array_mut().unwrap().retain(|o| o["kind"] != "Node");
    let file = write(dir.path(), "no-nodes.json", &v.to_string());
    let (toml, summary) = import(&file, dir.path());
    assert!(
        line_of(&toml, "knative-serving", "concurrency").is_some_and(|l| l.starts_with("concurrency = 3 ")),
        "{toml}"
    );
    assert_eq!(line_of(&toml, "payments", "concurrency"), None, "{toml}");
    assert!(
        summary.contains("namespace payments: Envoy runs one worker per node CPU")
            && summary.contains("add `kubectl get nodes -o json`"),
        "{summary}"
    );
}

/// An istiod Deployment without the flags: the releases' defaults, said as such.
#[test]
fn unset_istiod_flags_keep_the_release_defaults() {
    let dir = tempdir();
    let text = std::fs::read_to_string(fixture()).unwrap();
    let mut v: serde_json::Value = serde_json::from_str(&text).unwrap();
    for o in v["items"].as_array_mut().unwrap() {
        if o["metadata"]["name"] == "istiod" && o["kind"] == "Deployment" {
            o["spec"]["template"]["spec"]["containers"][0]["env"] = serde_json::json!([]);
        }
    }
    let file = write(dir.path(), "plain-istiod.json", &v.to_string());
    let (toml, _) = import(&file, dir.path());
    assert!(toml.contains("filter_gateway_cluster_config = false  # istiod's Deployment does not set"), "{toml}");
    assert!(!toml.contains("external_name_alias") && !toml.contains("delta_xds"), "{toml}");
    let t = Topology::load(&dir.path().join("topology.toml")).unwrap();
    assert!(!t.delta_xds(), "ISTIO_DELTA_XDS defaults to false at 1.21");
    assert!(t.versions().external_name_is_alias(), "ENABLE_EXTERNAL_NAME_ALIAS defaults to true at 1.21");
}

/// A mesh config that is not YAML, or a selector Kubernetes would refuse: one line naming the
/// ConfigMap, exit 2.
#[test]
fn a_bad_mesh_config_is_refused_with_its_name() {
    let dir = tempdir();
    for (mesh, says) in [
        ("discoverySelectors: [a: [}", "ConfigMap istio-system/istio: its mesh key is not YAML"),
        (
            "discoverySelectors:\n- matchExpressions:\n  - {key: a, operator: Gt}\n",
            "operator \"Gt\" is not In, NotIn, Exists or DoesNotExist",
        ),
    ] {
        let cm = serde_json::json!({"apiVersion": "v1", "kind": "List", "items": [
            {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "istio", "namespace": "istio-system"}, "data": {"mesh": mesh}},
            {"apiVersion": "v1", "kind": "Service", "metadata": {"name": "a", "namespace": "shop"}, "spec": {"ports": [{"port": 80}]}}
        ]});
        let file = write(dir.path(), "bad.json", &cm.to_string());
        let err = crate::util::fails(meshcap().args(["import", "kubectl"]).arg(&file), 2);
        assert!(err.contains(says) && err.contains("bad.json"), "{err}");
    }
}

/// `import istioctl` on a dump: the workers pilot-agent wrote into the node metadata
/// (`PROXY_CONFIG.concurrency`, istio/istio `pkg/bootstrap/config.go`); the real dumps (Istio
/// 1.0 to 1.4, a 1.21 waypoint) have no `PROXY_CONFIG`, so theirs stay unknown.
#[test]
fn istioctl_reads_the_workers_a_dump_states() {
    let dir = tempdir();
    let text = crate::fleet_sources::config_dump("shop", "a", "2026-01-01T00:00:00.000Z", 3)
        .replace(r#""ISTIO_VERSION":"1.18.2""#, r#""ISTIO_VERSION":"1.22.0","PROXY_CONFIG":{"concurrency":4}"#);
    let file = write(dir.path(), "a.json", &text);
    let v = json(meshcap().args(["import", "istioctl", "--format", "json"]).arg(&file));
    assert_eq!(v["node"]["concurrency"], 4, "{v}");
    if let Some(real) = crate::util::reference("real-world/istio-config-dump-ingressgateway-5bf6c9887-vvvmj.json") {
        let v = json(meshcap().args(["import", "istioctl", "--format", "json"]).arg(&real));
        assert!(
            v["node"]["concurrency"].is_null() && v["node"]["pod"] == "istio-ingressgateway-5bf6c9887-vvvmj",
            "{v}"
        );
    }
}
