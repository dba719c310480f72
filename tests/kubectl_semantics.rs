//! `import kubectl` on a List built to hold what decides counts (traffic splits and tags, a
//! no-gc pin, pod-template injection, an ambient namespace, a headless Service, an ExternalName,
//! DestinationRule subsets, EndpointSlices, an exportTo annotation, the istiod and Knative
//! controller Deployments, a gateway outside istio-system), and on the real Knative Lists in
//! `../shared/reference/real-world/`, against counts worked out by hand.

use crate::util::{json, meshcap, reference, tempdir};

fn import(files: &[std::path::PathBuf], dir: &std::path::Path) -> (String, String) {
    let out = dir.join("topology.toml");
    let summary = meshcap().args(["import", "kubectl"]).args(files).arg("-o").arg(&out).assert().success();
    let summary = String::from_utf8(summary.get_output().stdout.clone()).unwrap();
    (std::fs::read_to_string(out).unwrap(), summary)
}

/// (proxy, kind, revisions, clusters, endpoints, headless listeners) under `mesh`.
fn counts(topology: &std::path::Path) -> Vec<(String, String, f64, f64, f64, f64)> {
    let v = json(meshcap().args(["scope", "--scope", "mesh", "--format", "json", "--topology"]).arg(topology));
    let f = |p: &serde_json::Value, k: &str| p[k].as_f64().unwrap();
    v["scopes"][0]["namespaces"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| {
            (
                p["namespace"].as_str().unwrap().to_string(),
                p["kind"].as_str().unwrap().to_string(),
                f(p, "visible_revisions"),
                f(p, "visible_clusters"),
                f(p, "visible_endpoints"),
                f(p, "headless_listeners"),
            )
        })
        .collect()
}

#[test]
fn built_list_gives_the_hand_counts() {
    let dir = tempdir();
    let fixture = crate::util::root().join("tests/fixtures/kubectl-semantics-list.json");
    let (toml, summary) = import(&[fixture], dir.path());
    // Releases from the Deployments: istiod's image tag, the controller's version label (its
    // image is pinned by digest).
    assert!(toml.contains("istio_version = \"1.20.3\"") && toml.contains("knative_version = \"1.21.0\""), "{toml}");
    // cart: 4 revisions; traffic names 3 (90%, 10%, 0% tagged `old`: all active to the GC);
    // cart-00004 is pinned by the serving.knative.dev/no-gc annotation; 2 ready pods behind the
    // private Service; the revision Services have 2 + 5 ports (Knative 1.21: no 8022).
    assert!(
        toml.contains(
            "{ name = \"cart\", revisions = 4, routed = 3, tags = 1, pinned = 1, pods = 2, ports_per_revision = 7"
        ),
        "{toml}"
    );
    // The route's two ExternalName placeholders (`cart`, `old-cart`) are not plain Services.
    assert!(!toml.contains("name = \"old-cart\"") && !toml.contains("{ name = \"cart\", ports"), "{toml}");
    assert!(toml.contains("{ name = \"kafka\", ports = 2, headless = true, pods = 3 }"), "{toml}");
    // db: headless, ports `tcp` and `http-metrics`: Istio builds per-pod listeners for the TCP
    // one only (listener.go; HTTP ports share 0.0.0.0:PORT).
    assert!(toml.contains("{ name = \"db\", ports = 2, headless = true, listener_ports = 1, pods = 3 }"), "{toml}");
    assert!(
        toml.contains("{ name = \"payments-api\", ports = 1, external_name = true, export_to = [\".\"] }"),
        "{toml}"
    );
    // 2 of the slice's 3 endpoints are ready; the DestinationRule in shop has 2 subsets (a proxy
    // applies one rule per host, so canary's 5-subset rule for the same host is not added).
    assert!(toml.contains("{ name = \"redis\", ports = 1, pods = 2, subsets = 2 }"), "{toml}");
    // The Namespace has no injection label, but the Knative pod template asks for a sidecar.
    assert!(toml.contains("name = \"shop\"\nsidecars = true"), "{toml}");
    assert!(toml.contains("name = \"mlx\"\nsidecars = false") && toml.contains("ambient = true"), "{toml}");
    assert!(summary.contains("namespace mlx is ambient"), "{summary}");
    // `canary` has no injection label either, but its revision's pod template names a
    // control-plane revision (istio.io/rev), which injects per workload.
    assert!(toml.contains("name = \"canary\"\nsidecars = true"), "{toml}");
    // `off` says istio-injection: disabled, which wins over the pod label; `legacy` asks only by
    // the annotation, which Istio's webhook (selecting pods by label) never sees.
    assert!(
        toml.contains("name = \"off\"\nsidecars = false  # the Namespace says istio-injection: disabled"),
        "{toml}"
    );
    assert!(toml.contains("name = \"legacy\"\nsidecars = false"), "{toml}");
    assert!(summary.contains("namespace legacy: a Knative pod template asks for a sidecar only by the sidecar.istio.io/inject annotation"), "{summary}");
    assert!(summary.contains("namespace off says istio-injection: disabled"), "{summary}");
    // job's traffic: 100% to job-00002 and 0% untagged to job-00001: both routed (the GC keeps
    // them), one destination (route/resources/ingress.go skips 0% untagged targets).
    assert!(toml.contains("{ name = \"job\", revisions = 2, routed = 2, destinations = 1 }"), "{toml}");
    // The gateway found by its pods' istio label, in its own namespace.
    assert!(toml.contains("[[gateways]]\nname = \"edge-gw\"\nnamespace = \"ingress\""), "{toml}");

    // By hand, Istio 1.20 (ExternalName = a DNS cluster per port) and 7 ports per revision:
    // cart 4 x 7 = 28 clusters + 2 placeholders = 30; endpoints: the 3 revisions without pods
    // have their 2 public ports on the activator (6), cart-00003's 2 pods sit in its 2 public
    // (4) and 5 private (10) clusters, placeholders 2: 22. redis 1 port x (1 + 2 subsets)
    // = 3 clusters x 2 pods. kafka 2 ORIGINAL_DST clusters, no endpoints, 2 ports x 3 pods
    // listeners. payments-api 1 + 1. mlx/model 1 + 1 (no Endpoints in the input: 1 pod).
    // canary/probe: 1 revision x 7 + 1 placeholder = 8 clusters, 2 activator endpoints + 1.
    // off/job (revisions from its traffic, no Revision objects): 2 x 7 + 1 = 15 clusters,
    // 2 x 2 + 1 = 5 endpoints. legacy/old: 8 clusters, 3 endpoints. shop/db: 2 clusters without
    // endpoints, 1 TCP port x 3 pods listeners.
    // canary's sidecars and the gateway in `ingress` do not see payments-api (exportTo "."); the
    // gateway builds no headless listeners.
    let c = counts(&dir.path().join("topology.toml"));
    assert_eq!(
        c,
        vec![
            // cart 30 + redis 3 + kafka 2 + db 2 + mlx/model 1 + probe 8 + job 15 + old 8 (+
            // payments-api 1 in shop); endpoints cart 22 + redis 6 + model 1 + probe 3 + job 5 +
            // old 3 (+ 1); listeners kafka 6 + db 3.
            (
                "canary".into(),
                "sidecar".into(),
                8.0,
                30.0 + 3.0 + 2.0 + 2.0 + 1.0 + 8.0 + 15.0 + 8.0,
                22.0 + 6.0 + 1.0 + 3.0 + 5.0 + 3.0,
                9.0
            ),
            (
                "shop".into(),
                "sidecar".into(),
                8.0,
                30.0 + 3.0 + 2.0 + 2.0 + 1.0 + 1.0 + 8.0 + 15.0 + 8.0,
                22.0 + 6.0 + 1.0 + 1.0 + 3.0 + 5.0 + 3.0,
                9.0
            ),
            ("edge-gw".into(), "gateway".into(), 8.0, 69.0, 40.0, 0.0),
        ]
    );
    // A Sidecar naming job gets its one destination's port-80 cluster and the placeholder.
    let v = json(
        meshcap()
            .args(["scope", "--format", "json", "--scope", "hosts=./*,off/job.off.svc.cluster.local", "--topology"])
            .arg(dir.path().join("topology.toml")),
    );
    let shop = v["scopes"][0]["namespaces"].as_array().unwrap().iter().find(|p| p["namespace"] == "shop").unwrap();
    assert_eq!(shop["visible_clusters"].as_f64(), Some(30.0 + 3.0 + 2.0 + 2.0 + 1.0 + 2.0), "{shop}");
}

/// The real Knative Lists (see ../shared/reference/real-world/README.md). Before this change the
/// import missed traffic tags' placeholders and counted no endpoints; at Istio 1.18 and Knative
/// 1.11 (assumed: the Lists hold no Deployments) each revision is 8 clusters and 2 activator
/// endpoints, each placeholder (one per route and per tag) a DNS cluster with one endpoint.
#[test]
fn real_knative_lists_give_the_hand_counts() {
    let Some(dir) = reference("real-world") else { return };
    let cases = [
        // test: 2 revisions split 50/50, 1 placeholder: 16 + 1 clusters, 4 + 1 endpoints.
        (["knative-service-list-test.json", "knative-revision-list-test-00001-00002.json"], 2.0, 17.0, 5.0),
        // aaa, bbb, ccc 1 revision each; example 3 revisions, 2 tags (old, current):
        // 6 x 8 + 3 + 3 placeholders = 54 clusters; 12 + 6 endpoints.
        (["knative-service-list-4-services.json", "knative-revision-list-6-revisions.json"], 6.0, 54.0, 18.0),
        // The failed service: 1 revision, no traffic, still retained: 8 + 1, 2 + 1.
        (["knative-service-list-failed-revision.json", "knative-revision-list-failed-revision.json"], 1.0, 9.0, 3.0),
    ];
    for (files, revisions, clusters, endpoints) in cases {
        let tmp = tempdir();
        let paths: Vec<_> = files.iter().map(|f| dir.join(f)).collect();
        let (toml, _) = import(&paths, tmp.path());
        assert!(toml.contains("1.18.2 is assumed") && toml.contains("1.11.0 is assumed"), "{toml}");
        let c = counts(&tmp.path().join("topology.toml"));
        assert_eq!((c[0].2, c[0].3, c[0].4), (revisions, clusters, endpoints), "{files:?}\n{toml}");
    }
}
