//! What a proxy holds, counted by hand on small topologies: each test states the Istio or
//! Knative behaviour it encodes and where that behaviour is written down.

use std::path::Path;

use meshcap::mesh::{visibility, Counts, ProxyKind, Scope, Topology, Version, Visible};

use crate::util::{json, meshcap, tempdir, write};

/// Two sidecar namespaces and a gateway. shop: `cart` (10 retained revisions, 2 routed with 6
/// ready pods between them, 3 each, 1 traffic tag), `redis` (1 port, 2 pods, 2 DestinationRule subsets), `db`
/// (headless, 2 ports, 3 pods), `ext` (ExternalName, 1 port). payments: `vault-agent`.
/// istio-system: `istiod` (4 ports).
const SMALL: &str = r#"
istio_version = "1.20.0"
knative_version = "1.11.0"

[[gateways]]
name = "gw"
namespace = "istio-system"
concurrency = 8
routes = ["shop/redis"]

[[namespaces]]
name = "istio-system"
services = [{ name = "istiod", ports = 4 }]

[[namespaces]]
name = "shop"
sidecars = true
knative = [{ name = "cart", revisions = 10, routed = 2, tags = 1, pods = 6, serving = 2 }]
services = [
  { name = "redis", ports = 1, pods = 2, subsets = 2 },
  { name = "db", ports = 2, headless = true, pods = 3 },
  { name = "ext", ports = 1, external_name = true },
]

[[namespaces]]
name = "payments"
sidecars = true
services = [{ name = "vault-agent", ports = 1 }]
"#;

fn topo(text: &str) -> Topology {
    Topology::parse(Path::new("small.toml"), text).expect("topology parses")
}

fn seen(t: &Topology, scope: &str) -> Vec<Visible> {
    visibility(t, &Scope::parse(scope).expect("scope parses").into()).expect("counts")
}

fn of<'a>(v: &'a [Visible], proxy: &str) -> &'a Counts {
    &v.iter().find(|p| p.proxy == proxy).unwrap_or_else(|| panic!("no proxy {proxy}")).counts
}

/// (revisions, clusters, endpoints, headless listeners, services)
fn five(c: &Counts) -> (f64, f64, f64, f64, f64) {
    (c.revisions, c.clusters, c.endpoints, c.headless_listeners, c.services)
}

/// Istio 1.20, Knative 1.11, no Sidecar: every Service exported to the proxy.
/// cart: 10 revisions x 8 ports = 80 clusters, + 2 ExternalName placeholders (route + tag; a
/// STRICT_DNS cluster each before Istio 1.21). Endpoints: public ports (2) of the 8 revisions
/// without pods point at the activator (1 pod): 16; the 2 routed revisions' public (2) and
/// private (6) ports at their 3 pods: 12 + 36; placeholders 2: 66. Services 2 x 10 + 2.
/// redis: 1 port x (default + 2 subsets) = 3 clusters x 2 pods. db: headless, 2 ORIGINAL_DST
/// clusters without endpoints, 2 ports x 3 pods listeners. ext: 1 DNS cluster. istiod 4,
/// vault-agent 1.
#[test]
fn mesh_scope_counts_clusters_endpoints_and_listeners_by_hand() {
    let v = seen(&topo(SMALL), "mesh");
    let expected = (10.0, 82.0 + 3.0 + 2.0 + 1.0 + 4.0 + 1.0, 66.0 + 6.0 + 1.0 + 4.0 + 1.0, 6.0, 22.0 + 5.0);
    assert_eq!(five(of(&v, "shop")), expected);
    assert_eq!(five(of(&v, "payments")), expected, "everything is exported everywhere");
}

/// Istio 1.21 turns ENABLE_EXTERNAL_NAME_ALIAS on (pilot/pkg/features/pilot.go; removed, always
/// on, in 1.24): ExternalName Services become aliases without clusters. Knative 1.21 drops port
/// 8022 from the private Service (knative/serving PR #16164): 7 ports per revision.
#[test]
fn versions_decide_aliases_and_ports_per_revision() {
    let mut t = topo(SMALL);
    t.set_versions(Some(Version::new(1, 21)), None);
    let c = *of(&seen(&t, "mesh"), "shop");
    assert_eq!((c.clusters, c.endpoints), (93.0 - 3.0, 78.0 - 3.0), "2 placeholders and ext lose their cluster");
    let mut t = topo(SMALL);
    t.set_versions(None, Some(Version::new(1, 21)));
    let c = *of(&seen(&t, "mesh"), "shop");
    // 10 revisions x 1 port fewer; the routed revisions' private clusters lose 2 x 1 x 3 endpoints.
    assert_eq!((c.clusters, c.endpoints), (93.0 - 10.0, 78.0 - 6.0));
}

/// A Sidecar egress host naming a Knative service imports its `<ksvc>-mesh` VirtualService and
/// SidecarScope adds the destinations (istio/istio pilot/pkg/model/sidecar.go,
/// convertToSidecarScope): port 80 of the 2 routed revisions' public Services (net-istio
/// virtual_service.go names the port; serviceMatchingVirtualServicePorts keeps only it), 2 x 3
/// pod endpoints, plus the matched placeholder (a DNS cluster on 1.20). Not the 8 retained
/// revisions without traffic. FQDN and short hosts match alike; a FQDN in another namespace
/// matches nothing.
#[test]
fn a_knative_host_brings_in_only_the_routed_revisions() {
    let t = topo(SMALL);
    for host in ["hosts=shop/cart.shop.svc.cluster.local", "hosts=shop/cart", "hosts=*/cart.shop.svc.cluster.local"] {
        let c = *of(&seen(&t, host), "payments");
        assert_eq!(five(&c), (2.0, 2.0 + 1.0, 6.0 + 1.0, 0.0, 2.0 + 1.0), "{host}");
        assert_eq!(c.growing_revisions, 0.0, "{host}: updates do not grow what it sees");
    }
    let c = *of(&seen(&t, "hosts=payments/vault-agent.payments.svc.cluster.local"), "shop");
    assert_eq!(c.clusters, 1.0, "a FQDN host counts (it counted 0 before)");
    let c = *of(&seen(&t, "hosts=shop/vault-agent.payments.svc.cluster.local"), "shop");
    assert_eq!(c.clusters, 0.0, "shop/ names no host of payments");
    // ./* and a host: the namespace whole, the host once.
    let c = *of(&seen(&t, "hosts=./*,payments/vault-agent,./redis"), "payments");
    assert_eq!(c.clusters, 1.0);
}

/// Gateways take their namespace's default scope: exportTo applies (push_context.go,
/// DefaultSidecarScopeForNamespace -> servicesExportedToNamespace), Sidecar resources do not.
/// With PILOT_FILTER_GATEWAY_CLUSTER_CONFIG a gateway keeps the destinations of VirtualServices
/// bound to it (GatewayServices): both public ports of the routed revisions (Knative's ingress
/// routes to them, route/resources/ingress.go) and the routed plain Service redis (3 clusters).
#[test]
fn gateways_follow_export_to_and_the_cluster_filter() {
    let t = topo(SMALL);
    let v = seen(&t, "namespace");
    let gw = v.iter().find(|p| p.kind == ProxyKind::Gateway).unwrap();
    assert_eq!(gw.counts.clusters, 93.0, "unscoped by the Sidecar");
    let filtered = topo(&SMALL.replace("knative_version", "filter_gateway_cluster_config = true\nknative_version"));
    let c = *of(&seen(&filtered, "mesh"), "gw");
    assert_eq!(five(&c), (2.0, 2.0 * 2.0 + 3.0, 2.0 * 2.0 * 3.0 + 6.0, 0.0, 2.0 + 1.0));
    // shop exported only to itself: the gateway and payments lose it, and meshcap warns.
    let private = topo(
        &SMALL.replace("name = \"shop\"\nsidecars = true", "name = \"shop\"\nsidecars = true\nexport_to = [\".\"]"),
    );
    let v = seen(&private, "mesh");
    assert_eq!(of(&v, "gw").clusters, 5.0, "istiod + vault-agent");
    assert_eq!(of(&v, "shop").clusters, 93.0);
    assert_eq!(private.unexported_to_gateways(), vec![("shop".to_string(), "istio-system".to_string())]);
    // The networking.istio.io/exportTo annotation of one Service overrides its namespace's.
    let text = SMALL
        .replace("name = \"shop\"\nsidecars = true", "name = \"shop\"\nsidecars = true\nexport_to = [\".\"]")
        .replace("subsets = 2 }", "subsets = 2, export_to = [\"*\"] }");
    assert_eq!(of(&seen(&topo(&text), "mesh"), "payments").clusters, 5.0 + 3.0, "redis alone is exported");
}

/// A DestinationRule subset adds `outbound|PORT|SUBSET|HOST` for every port of its Service
/// (istio/istio `pilot/pkg/networking/core/cluster_builder.go`, `buildSubsetCluster`, called per
/// service port): a 3-port Service with 2 subsets is 3 x (1 + 2) = 9 clusters, each holding its
/// 2 pods, 18 endpoints. Every other fixture has 1-port Services, where adding the subsets to
/// the ports (3 + 2 = 5) and multiplying agree (issue 21).
#[test]
fn subsets_multiply_every_port_of_a_multi_port_service() {
    let text = r#"
istio_version = "1.20.0"
knative_version = "1.11.0"

[[namespaces]]
name = "shop"
sidecars = true
services = [{ name = "kafka", ports = 3, pods = 2, subsets = 2 }, { name = "plain", ports = 4, pods = 1 }]
"#;
    let c = *of(&seen(&topo(text), "mesh"), "shop");
    // kafka 9 clusters x 2 pods; plain 4 clusters x 1 pod.
    assert_eq!(five(&c), (0.0, 9.0 + 4.0, 18.0 + 4.0, 0.0, 2.0));
}

/// Envoy keeps per-worker state for each cluster (envoy#4196: ~1850 B; istio#8938: ~2 KB per
/// cluster per worker): the 8-worker gateway, holding the same 93 clusters as the 2-worker
/// sidecars, is predicted 6 x 2048 B x 93 clusters higher at the seed model's per-port memory.
#[test]
fn gateway_workers_cost_memory_per_cluster() {
    let dir = tempdir();
    let path = write(dir.path(), "small.toml", SMALL);
    // Steady state (--push none): the workers' cost alone.
    let v = json(
        meshcap().args(["scope", "--push", "none", "--scope", "mesh", "--format", "json", "--topology"]).arg(&path),
    );
    let proxies = v["scopes"][0]["namespaces"].as_array().unwrap();
    let get = |name: &str| proxies.iter().find(|p| p["namespace"] == name).unwrap();
    let (shop, gw) = (get("shop"), get("gw"));
    assert_eq!(shop["visible_clusters"], gw["visible_clusters"]);
    assert_eq!((shop["concurrency"].as_f64(), gw["concurrency"].as_f64()), (Some(2.0), Some(8.0)));
    let extra = gw["predicted_bytes"].as_f64().unwrap() - shop["predicted_bytes"].as_f64().unwrap();
    let hand = 6.0 * 2048.0 * 93.0;
    assert!((extra - hand).abs() < 1e-6 * hand, "{extra} vs {hand}");
    assert_eq!(v["istio_version"], "1.20.0");
    assert_eq!(v["versions_assumed"], false);
}

/// Knative refuses min > max and a non-integer min (pkg/gc/config.go): so does a sweep spec.
#[test]
fn sweep_refuses_what_config_gc_refuses() {
    let dir = tempdir();
    for (axes, needle) in [
        ("min_non_active_revisions = [\"disabled\"]", "no \"disabled\""),
        (
            "min_non_active_revisions = [30]\nmax_non_active_revisions = [10]",
            "must be <= max-non-active-revisions (10)",
        ),
    ] {
        let spec = write(
            dir.path(),
            "spec.toml",
            &format!("model = \"models/knative-1.11-istio-1.18.json\"\n[axes]\n{axes}\n"),
        );
        let out = meshcap().arg("sweep").arg(&spec).assert().code(2).get_output().stderr.clone();
        let err = String::from_utf8(out).unwrap();
        assert!(err.contains(needle) && err.lines().count() == 1, "{err}");
    }
}

/// Knative's GC never collects nor counts active revisions (gc.go isRevisionActive: routed and
/// no-gc pinned ones): with 1 update a day and min-non-active-revisions 20, a service routing
/// to 3 revisions with 1 pin keeps 20 + 3 + 1 = 24, not the 21 of a one-revision route. At
/// Istio 1.22 the placeholder is an alias: 24 x 8 = 192 clusters.
#[test]
fn sweep_keeps_routed_and_pinned_revisions_beside_the_gc_minimum() {
    let dir = tempdir();
    write(
        dir.path(),
        "t.toml",
        "istio_version = \"1.22.0\"\nknative_version = \"1.11.0\"\n[[namespaces]]\nname = \"shop\"\nsidecars = true\n\
         knative = [{ name = \"cart\", revisions = 10, routed = 3, pinned = 1 }]\n",
    );
    let spec = write(
        dir.path(),
        "spec.toml",
        &format!(
            "model = \"{}\"\ntopology = \"{}\"\n[axes]\nupdates_per_day = [1]\nlimit = [\"1Gi\"]\n",
            crate::util::seed_model().display(),
            dir.path().join("t.toml").display()
        ),
    );
    let out =
        meshcap().arg("sweep").arg(&spec).args(["--format", "jsonl"]).assert().success().get_output().stdout.clone();
    let row: serde_json::Value = serde_json::from_slice(out.split(|&b| b == b'\n').next().unwrap()).unwrap();
    assert_eq!(row["retained_per_service"], 21.0, "the GC axis: 1 latest + 20 non-active");
    assert_eq!((row["sidecar_revisions"].as_f64(), row["sidecar_ports"].as_f64()), (Some(24.0), Some(192.0)), "{row}");
}

/// A scope chart of 30 sidecar namespaces draws the 24 that the first scope predicts the most
/// memory for (namespace i holds i + 1 revisions: ns6 to ns29), and says so in its title.
#[test]
fn scope_chart_keeps_the_proxies_at_risk() {
    let mut text = String::new();
    for i in 0..30 {
        text.push_str(&format!(
            "[[namespaces]]\nname = \"ns{i}\"\nsidecars = true\nexport_to = [\".\"]\nknative = [{{ name = \"k\", revisions = {} }}]\n",
            i + 1
        ));
    }
    let t = topo(&text);
    let model = meshcap::model::store::load(&crate::util::seed_model()).unwrap();
    let scopes = [Scope::Mesh.into(), Scope::Namespace.into()];
    let chart =
        meshcap::report::charts::scope_chart(&model, &t, "t.toml", &scopes, Default::default(), 1073741824.0).unwrap();
    let proxies: Vec<String> = chart.bars.iter().filter(|b| b.scope == "mesh").map(|b| b.proxy.clone()).collect();
    let expected: Vec<String> = (6..30).map(|i| format!("ns{i}")).collect();
    assert_eq!(proxies, expected);
    assert_eq!(chart.bars.len(), 48, "both scopes");
    assert!(chart.title.contains("highest 24 of 30"), "{}", chart.title);
}

/// Counts no Envoy could hold are a typo, not a forecast: one line naming the proxy, the count
/// and the file, exit 2 (4294967295 services x 4294967295 revisions overflowed nothing but
/// printed a confident 1.3e7 EiB before).
#[test]
fn absurd_counts_are_refused_naming_the_file() {
    let dir = tempdir();
    let path = write(
        dir.path(),
        "huge.toml",
        "[[namespaces]]\nname = \"a\"\nsidecars = true\nknative = [{ name = \"k\", count = 4294967295, revisions = 4294967295 }]\n",
    );
    let out = meshcap().args(["scope", "--topology"]).arg(&path).assert().code(2).get_output().stderr.clone();
    let err = String::from_utf8(out).unwrap();
    assert!(err.contains("proxy a would hold") && err.contains("huge.toml") && err.lines().count() == 1, "{err}");
}

/// A model fitted with `endpoints` and `concurrency` terms uses them: the scope's prediction
/// for a proxy is the intercept plus each coefficient times what that proxy holds (clusters,
/// endpoints) and its workers, with no per-worker constant on top (the data measured it).
#[test]
fn endpoints_and_concurrency_terms_are_used_when_fitted() {
    let dir = tempdir();
    let mut csv = String::from("ports,endpoints,concurrency,memory\n");
    let mut state = 7u64;
    for i in 0..60u64 {
        state = state.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407);
        let (ports, endpoints, workers) = (100 + 37 * i, 50 + (i * 53) % 400, 2 + (i % 4) * 2);
        let noise = (state >> 40) as f64 / (1u64 << 24) as f64 - 0.5;
        let memory = 50e6 + 98_000.0 * ports as f64 + 2_500.0 * endpoints as f64 + 1e6 * workers as f64 + 2e5 * noise;
        csv.push_str(&format!("{ports},{endpoints},{workers},{memory:.0}\n"));
    }
    let data = write(dir.path(), "d.csv", &csv);
    let model_path = dir.path().join("m.json");
    meshcap()
        .args(["fit", "--x", "ports,endpoints,concurrency", "--errors", "iid", "-o"])
        .arg(&model_path)
        .arg(&data)
        .assert()
        .success();
    let model: serde_json::Value = serde_json::from_str(&std::fs::read_to_string(&model_path).unwrap()).unwrap();
    let coef = |name: &str| {
        model["coefficients"].as_array().unwrap().iter().find(|c| c["name"] == name).unwrap()["estimate"]
            .as_f64()
            .unwrap()
    };
    let topo = write(dir.path(), "t.toml", SMALL);
    let v = json(
        meshcap()
            .args(["scope", "--push", "none", "--scope", "mesh", "--format", "json", "--model"])
            .arg(&model_path)
            .arg("--topology")
            .arg(&topo),
    );
    for p in v["scopes"][0]["namespaces"].as_array().unwrap() {
        let f = |k: &str| p[k].as_f64().unwrap();
        let hand = coef("intercept")
            + coef("ports") * f("visible_clusters")
            + coef("endpoints") * f("visible_endpoints")
            + coef("concurrency") * f("concurrency");
        assert!(
            (f("predicted_bytes") - hand).abs() < 1e-6 * hand,
            "{}: {} vs {hand}",
            p["namespace"],
            f("predicted_bytes")
        );
    }
    let text = String::from_utf8(
        meshcap()
            .args(["scope", "--model"])
            .arg(&model_path)
            .arg("--topology")
            .arg(&topo)
            .assert()
            .success()
            .get_output()
            .stdout
            .clone(),
    )
    .unwrap();
    assert!(text.contains("endpoints are in the model"), "{text}");
}

/// A host that names no Service admits nothing; a typo must not read as a saving silently.
#[test]
fn hosts_naming_no_service_are_named_in_a_warning() {
    let dir = tempdir();
    let topo = write(dir.path(), "small.toml", SMALL);
    let v = json(
        meshcap()
            .args(["scope", "--format", "json", "--scope", "hosts=./*,shop/nosuch,payments/vault-agent", "--topology"])
            .arg(&topo),
    );
    let warnings: Vec<&str> = v["warnings"].as_array().unwrap().iter().map(|w| w.as_str().unwrap()).collect();
    assert_eq!(warnings, ["egress host shop/nosuch names no Service of the topology: it admits nothing"]);
}
