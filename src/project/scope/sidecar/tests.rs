//! Emitted Sidecar YAML against hand-written resources, read back with the YAML library.

use std::path::Path;

use super::*;

const TOPOLOGY: &str = r#"
istio_version = "ISTIO"
[[gateways]]
name = "istio-ingressgateway"
namespace = "istio-system"
[[gateways]]
name = "edge"
namespace = "edge"
[[namespaces]]
name = "istio-system"
sidecars = true
[[namespaces]]
name = "edge"
sidecars = true
[[namespaces]]
name = "knative-serving"
sidecars = true
services = [{ name = "activator-service", ports = 4 }]
[[namespaces]]
name = "shop"
sidecars = true
knative = [{ name = "cart", revisions = 3 }]
[[namespaces]]
name = "payments"
sidecars = true
knative = [{ name = "ledger", revisions = 3 }]
[[namespaces]]
name = "ml"
sidecars = true
"#;

fn topology(istio: &str) -> Topology {
    Topology::parse(Path::new("t.toml"), &TOPOLOGY.replace("ISTIO", istio)).unwrap()
}

/// Every document of `yaml`, as the YAML library reads it.
fn read_back(yaml: &str) -> Vec<SidecarResource> {
    serde_yaml::Deserializer::from_str(yaml).map(|d| SidecarResource::deserialize(d).unwrap()).collect()
}

fn sidecar(api: &str, namespace: &str, hosts: &[&str]) -> SidecarResource {
    SidecarResource {
        api_version: api.into(),
        kind: "Sidecar".into(),
        metadata: Metadata { name: "default".into(), namespace: namespace.into() },
        spec: SidecarSpec { egress: vec![Egress { hosts: hosts.iter().map(|h| h.to_string()).collect() }] },
    }
}

/// One Sidecar per scoped namespace, none for mesh infrastructure (the activator must reach
/// every revision: knative/serving `pkg/activator/net/revision_backends.go`), gateway
/// namespaces (Sidecars do not scope gateways, istio/istio#29131), the root namespace (a
/// Sidecar there is every namespace's default: istio/api `networking/v1beta1/sidecar.proto`
/// at 1.5.0, NOTE 2) or namespaces left at `mesh`.
#[test]
fn one_sidecar_per_scoped_namespace_read_back_as_meant() {
    let t = topology("1.18.2");
    let scopes = ScopeMap::parse("namespace; payments=hosts=payments/*,shop/cart; ml=mesh").unwrap();
    let yaml = sidecar_yaml(&t, &scopes).unwrap().unwrap();
    let api = "networking.istio.io/v1beta1";
    let want = vec![
        sidecar(api, "shop", &["./*", "istio-system/*"]),
        sidecar(api, "payments", &["payments/*", "shop/cart.shop.svc.cluster.local"]),
    ];
    assert_eq!(read_back(&yaml), want, "{yaml}");
    assert!(yaml.contains("# no Sidecar for knative-serving: mesh infrastructure"), "{yaml}");
    assert!(yaml.contains("# shop/cart is a Knative service"), "{yaml}");
    // Mesh everywhere: nothing to emit.
    assert_eq!(sidecar_yaml(&t, &ScopeMap::from(Scope::Mesh)).unwrap(), None);
}

/// istio/api: `networking/v1alpha3/sidecar.proto` from tag 1.1.0 (absent at 1.0.0),
/// `networking/v1beta1/sidecar.proto` from 1.5.0 (absent at 1.4.0), `v1` served from 1.22.0.
#[test]
fn api_version_is_the_one_the_istio_release_serves() {
    let scopes = ScopeMap::from(Scope::Namespace);
    for (istio, api) in [
        ("1.1.0", "networking.istio.io/v1alpha3"),
        ("1.4.9", "networking.istio.io/v1alpha3"),
        ("1.5.0", "networking.istio.io/v1beta1"),
        ("1.21.3", "networking.istio.io/v1beta1"),
        ("1.22.0", "networking.istio.io/v1"),
    ] {
        let yaml = sidecar_yaml(&topology(istio), &scopes).unwrap().unwrap();
        assert!(read_back(&yaml).iter().all(|s| s.api_version == api), "{istio}: {yaml}");
    }
    let e = sidecar_yaml(&topology("1.0.6"), &scopes).unwrap_err().to_string();
    assert!(e.contains("Istio 1.0") && e.contains("no Sidecar resource") && !e.contains('\n'), "{e}");
}

/// Names YAML would read as something else (`shop #x` as `shop`, a newline as a new key) are
/// not Kubernetes names (DNS-1123): refused in one line naming the value.
#[test]
fn names_that_are_not_kubernetes_names_are_refused() {
    let hostile = TOPOLOGY.replace("ISTIO", "1.18.2").replace("name = \"ml\"", "name = \"shop #x\"");
    let t = Topology::parse(Path::new("t.toml"), &hostile).unwrap();
    let e = sidecar_yaml(&t, &ScopeMap::from(Scope::Namespace)).unwrap_err().to_string();
    assert!(e.contains("\"shop #x\"") && e.contains("DNS-1123") && !e.contains('\n'), "{e}");
    let t = topology("1.18.2");
    for host in ["hosts=shop/cart\nkind: Secret", "hosts=shop/Cart", "hosts=shop/cart #x", "hosts=a_b/*"] {
        let scopes = ScopeMap::from(Scope::parse(host).unwrap());
        let e = match sidecar_yaml(&t, &scopes) {
            Err(e) => e.to_string(),
            Ok(y) => panic!("{host:?} emitted {y:?}"),
        };
        assert!(e.contains("DNS-1123") && !e.contains('\n'), "{e}");
    }
}

/// The writer itself: whatever a resource holds, the YAML library quotes it so that reading
/// back gives the same resource (today's string-built YAML read `shop #x` as `shop`).
#[test]
fn the_writer_round_trips_hostile_strings() {
    let hostile = [
        "shop #x",
        "a\nkind: Secret",
        "'",
        "\"",
        "key: value",
        "- x",
        "*",
        "null",
        "true",
        "1.5",
        "~",
        "",
        "&a",
        "!tag",
        "{x}",
        "[x]",
        "%x",
        "@x",
        "`x",
        "a\r\nb",
        "\t",
        " lead",
        "trail ",
        "---",
        "...",
        "ü",
        "0x10",
        "1e3",
        "no",
    ];
    let docs: Vec<Document> =
        hostile.iter().map(|h| Document { comments: Vec::new(), resource: sidecar(h, h, &[h, "./*"]) }).collect();
    let yaml = render(&[], &docs).unwrap();
    let back = read_back(&yaml);
    assert_eq!(back, docs.iter().map(|d| d.resource.clone()).collect::<Vec<_>>(), "{yaml}");
}
