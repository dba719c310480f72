//! Mesh infrastructure and per-namespace scopes against hand counts.

use std::path::Path;

use super::*;

/// Istio 1.22 (ExternalName placeholders are aliases: no cluster), Knative 1.11 (8 ports per
/// revision: 6 private + 2 public).
const TOPOLOGY: &str = r#"
istio_version = "1.22.0"
knative_version = "1.11.0"
[[namespaces]]
name = "istio-system"
[[namespaces]]
name = "knative-serving"
sidecars = true
INFRA
services = [{ name = "activator-service", ports = 4 }]
[[namespaces]]
name = "shop"
sidecars = true
knative = [{ name = "cart", revisions = 3 }]
[[namespaces]]
name = "payments"
sidecars = true
services = [{ name = "redis", ports = 1 }]
[[namespaces]]
name = "jobs"
services = [{ name = "db", ports = 1 }]
"#;

fn topology(infra: &str) -> Topology {
    Topology::parse(Path::new("t.toml"), &TOPOLOGY.replace("INFRA", infra)).unwrap()
}

fn seen(t: &Topology, scopes: &str) -> Vec<Visible> {
    visibility(t, &ScopeMap::parse(scopes).unwrap()).unwrap()
}

fn clusters(v: &[Visible], proxy: &str) -> (ProxyKind, f64, f64) {
    let p = v.iter().find(|p| p.proxy == proxy).unwrap();
    (p.kind, p.counts.clusters, p.counts.revisions)
}

/// In mesh mode the activator sends to each revision's private Service ClusterIP
/// (knative/serving `pkg/activator/net/revision_backends.go`, `checkDests` -> `getDest`, at
/// knative-v1.11.0 and knative-v1.23.0): knative-serving's sidecar keeps the whole mesh under
/// every scope. Hand count: cart 3 revisions x 8 ports = 24, activator-service 4, redis 1,
/// db 1 = 30 clusters.
#[test]
fn knative_serving_sees_the_whole_mesh_under_every_scope() {
    let t = topology("");
    for scope in ["mesh", "namespace", "hosts=./*", "namespace; shop=hosts=shop/cart"] {
        let v = seen(&t, scope);
        assert_eq!(clusters(&v, "knative-serving"), (ProxyKind::Infrastructure, 30.0, 3.0), "{scope}");
        let note = v.iter().find(|p| p.proxy == "knative-serving").unwrap().note.clone().unwrap();
        assert!(note.contains("revision_backends.go"), "{note}");
    }
    // The others are scoped: shop sees its own 24 under `namespace`, payments its redis.
    let v = seen(&t, "namespace");
    assert_eq!(clusters(&v, "shop"), (ProxyKind::Sidecar, 24.0, 3.0));
    assert_eq!(clusters(&v, "payments"), (ProxyKind::Sidecar, 1.0, 0.0));
    // `infrastructure = false` makes it an ordinary sidecar (its own 4 under `namespace`);
    // `infrastructure = true` makes any namespace infrastructure.
    assert_eq!(clusters(&seen(&topology("infrastructure = false"), "namespace"), "knative-serving").1, 4.0);
    let t = Topology::parse(
        Path::new("t.toml"),
        &TOPOLOGY.replace("INFRA", "").replace("name = \"payments\"", "name = \"payments\"\ninfrastructure = true"),
    )
    .unwrap();
    assert_eq!(clusters(&seen(&t, "namespace"), "payments"), (ProxyKind::Infrastructure, 30.0, 3.0));
}

/// A namespace's override applies to it alone; the default to the rest. Hand counts:
/// shop=mesh sees 30, payments under the default `namespace` its redis (1).
#[test]
fn overrides_scope_only_the_namespace_they_name() {
    let t = topology("");
    let v = seen(&t, "namespace; shop=mesh");
    assert_eq!(clusters(&v, "shop").1, 30.0);
    assert_eq!(clusters(&v, "payments").1, 1.0);
    let v = seen(&t, "mesh; payments=hosts=shop/cart");
    // shop/cart names a Knative service: its routed revision's public Service only (port 80,
    // net-istio's <ksvc>-mesh VirtualService destination).
    assert_eq!(clusters(&v, "payments"), (ProxyKind::Sidecar, 1.0, 1.0));
    assert_eq!(clusters(&v, "shop").1, 30.0);
}

#[test]
fn overrides_naming_what_cannot_be_scoped_are_refused_in_one_line() {
    let t = topology("");
    for (map, why) in [
        ("namespace; nowhere=mesh", "does not list it"),
        ("namespace; knative-serving=namespace", "mesh infrastructure"),
        ("namespace; jobs=namespace", "no sidecars"),
    ] {
        let e = visibility(&t, &ScopeMap::parse(map).unwrap()).unwrap_err().to_string();
        assert!(e.contains(why) && !e.contains('\n'), "{map}: {e}");
    }
}
