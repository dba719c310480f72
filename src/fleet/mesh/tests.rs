//! The mesh growth's mapping and weights against hand counts of the topology.

use std::path::Path;

use super::*;
use crate::mesh::Scope;

const TOPOLOGY: &str = r#"
istio_version = "1.18.2"
knative_version = "1.11.0"
[[gateways]]
name = "istio-ingressgateway"
namespace = "istio-system"
[[namespaces]]
name = "istio-system"
[[namespaces]]
name = "shop"
sidecars = true
knative = [{ name = "cart", revisions = 3, created = ["2026-01-01T00:00:00Z", "2026-01-02T00:00:00Z", "2026-01-03T00:00:00Z"] }]
[[namespaces]]
name = "pay"
sidecars = true
knative = [{ name = "api", count = 2, revisions = 1 }]
[[namespaces]]
name = "jobs"
services = [{ name = "db", ports = 1 }]
"#;

fn mesh(scope: Scope, knative: &str) -> MeshGrowth {
    let text = TOPOLOGY.replace("1.11.0", knative);
    let topology = Topology::parse(Path::new("t.toml"), &text).unwrap();
    let settings = MeshSettings { scope: scope.into(), policy: GcPolicy::default(), growth: GrowthChoice::Mesh };
    MeshGrowth::new(&topology, "t.toml", settings, PORTS, 0.95).unwrap()
}

fn weights(m: &MeshGrowth, proxy: &str) -> Vec<(String, f64)> {
    let v = m.view_of(proxy).unwrap();
    m.weights(v).iter().map(|&(s, w)| (m.services[s].id.clone(), w)).collect()
}

#[test]
fn proxies_map_to_their_namespace_or_gateway() {
    let m = mesh(Scope::Mesh, "1.11.0");
    assert_eq!(m.view_of("shop/web-7d9-x").unwrap().name, "shop");
    let g = m.view_of("istio-system/istio-ingressgateway-5b7-abc").unwrap();
    assert_eq!((g.kind, g.name.as_str()), (ProxyKind::Gateway, "istio-ingressgateway"));
    // A pod whose name only starts like the gateway's is not it.
    assert!(m.view_of("istio-system/istio-ingressgatewayx").unwrap_err().contains("no sidecars"));
    assert!(m.view_of("jobs/db-0").unwrap_err().contains("namespace jobs has no sidecars"));
    assert!(m.view_of("other/x").unwrap_err().contains("not in the topology"));
    assert!(m.view_of("lonely").unwrap_err().contains("no namespace"));
}

#[test]
fn a_revision_adds_its_ports_where_the_scope_shows_it() {
    // Without a Sidecar every proxy sees every revision: 8 ports each before Knative 1.21, and
    // pay/api stands for 2 alike services (16 for one more revision of each).
    let m = mesh(Scope::Mesh, "1.11.0");
    let want = vec![("shop/cart".to_string(), 8.0), ("pay/api".to_string(), 16.0)];
    assert_eq!(weights(&m, "shop/a"), want);
    assert_eq!(weights(&m, "istio-system/istio-ingressgateway-1"), want);
    // 7 from 1.21 (port 8022 removed).
    assert_eq!(
        weights(&mesh(Scope::Mesh, "1.21.0"), "pay/b"),
        vec![("shop/cart".into(), 7.0), ("pay/api".into(), 14.0)]
    );
    // Namespace scope: a sidecar sees its own namespace's revisions only; gateways still all.
    let m = mesh(Scope::Namespace, "1.11.0");
    assert_eq!(weights(&m, "shop/a"), vec![("shop/cart".to_string(), 8.0)]);
    assert_eq!(weights(&m, "pay/a"), vec![("pay/api".to_string(), 16.0)]);
    assert_eq!(weights(&m, "istio-system/istio-ingressgateway-1").len(), 2);
    // An egress host naming a Knative service holds its routed revisions only: no growth.
    let m = mesh(Scope::parse("hosts=shop/cart,istio-system/*").unwrap(), "1.11.0");
    assert!(weights(&m, "shop/a").is_empty());
}

#[test]
fn service_rates_come_from_their_creation_times() {
    let m = mesh(Scope::Mesh, "1.11.0");
    // cart: revisions on Jan 1, 2, 3; a window ending Jan 5 holds 2 arrivals over 4 days.
    let end = 1_767_571_200.0; // 2026-01-05T00:00:00Z
    let e = m.estimates_at(end);
    let cart = e[0].unwrap();
    assert!((cart.growth.per_day - 0.5).abs() < 1e-12 && cart.span_days == 4.0);
    // pay/api lists no times: no estimate.
    assert!(e[1].is_none());
    *m.latest_end.borrow_mut() = end;
    let r = m.report();
    assert_eq!(r.services[0].service, "shop/cart");
    // At half a revision a day the default policy keeps min-non-active 20 + the active one.
    assert_eq!(r.services[0].cap_revisions, Some(21.0));
    assert_eq!(r.services[1].updates_per_day, None);
}

/// In mesh mode Knative's activator sends to every revision's private Service ClusterIP
/// (knative/serving `pkg/activator/net/revision_backends.go`, `checkDests` -> `getDest`, at
/// knative-v1.11.0): its sidecar holds every service under any scope, so it is dated, like a
/// gateway, from every service; per-namespace scopes change only the namespaces they name.
#[test]
fn the_activator_is_dated_from_every_service_like_a_gateway() {
    let text = format!("{TOPOLOGY}[[namespaces]]\nname = \"knative-serving\"\nsidecars = true\n");
    let topology = Topology::parse(Path::new("t.toml"), &text).unwrap();
    let grow = |scope: ScopeMap| {
        let settings = MeshSettings { scope, policy: GcPolicy::default(), growth: GrowthChoice::Mesh };
        MeshGrowth::new(&topology, "t.toml", settings, PORTS, 0.95).unwrap()
    };
    // Hand count: 8 ports per revision before Knative 1.21; pay/api stands for 2 services.
    let everything = vec![("shop/cart".to_string(), 8.0), ("pay/api".to_string(), 16.0)];
    for scope in ["namespace", "hosts=./*", "namespace; shop=hosts=shop/cart"] {
        let m = grow(ScopeMap::parse(scope).unwrap());
        let activator = m.view_of("knative-serving/activator-5c8d-x").unwrap();
        assert_eq!(activator.kind, ProxyKind::Infrastructure, "{scope}");
        assert_eq!(weights(&m, "knative-serving/activator-5c8d-x"), everything, "{scope}");
        assert_eq!(weights(&m, "pay/a"), vec![("pay/api".to_string(), 16.0)], "{scope}");
    }
    // shop's own scope names only cart's routed revisions: shop grows with nothing.
    let m = grow(ScopeMap::parse("namespace; shop=hosts=shop/cart").unwrap());
    assert!(weights(&m, "shop/a").is_empty());
    assert_eq!(m.report().scope, "namespace; shop=hosts=shop/cart");
}
