//! The mesh config's rules on what a proxy sees, through the library's `visibility`:
//! `discoverySelectors` (a namespace with `discovered = false`) and `defaultServiceExportTo`
//! (`default_service_export_to`), each against clusters counted by hand.

use std::path::Path;

use meshcap::mesh::{visibility, ProxyKind, Scope, Topology};

/// Clusters each sidecar namespace sees under `mesh`, by name.
fn clusters(text: &str) -> Vec<(String, f64)> {
    let t = Topology::parse(Path::new("t.toml"), text).expect(text);
    let seen = visibility(&t, &Scope::Mesh.into()).expect("counts");
    seen.into_iter().filter(|v| v.kind == ProxyKind::Sidecar).map(|v| (v.proxy, v.counts.clusters)).collect()
}

/// istiod drops the objects of namespaces its `discoverySelectors` do not select (istio/istio
/// `pkg/kube/namespace/filter.go` at 1.22.0, `Filter`: "permit if object resides in a
/// namespace labeled for discovery"): their Services are in no proxy's config, even exported
/// everywhere, and their own sidecars do not see them either.
#[test]
fn undiscovered_namespaces_services_are_seen_by_no_proxy() {
    let text = |discovered: bool| {
        format!(
            "istio_version = \"1.22.0\"\n[[namespaces]]\nname = \"shop\"\nsidecars = true\nservices = [{{ name = \"redis\", ports = 1 }}]\n\
             [[namespaces]]\nname = \"legacy\"\nsidecars = true\ndiscovered = {discovered}\nservices = [{{ name = \"old-api\", ports = 2, export_to = [\"*\"] }}]\n"
        )
    };
    // Discovered: both see redis (1) and old-api (2). Not: old-api's 2 clusters are gone.
    assert_eq!(clusters(&text(true)), vec![("shop".into(), 3.0), ("legacy".into(), 3.0)]);
    assert_eq!(clusters(&text(false)), vec![("shop".into(), 1.0), ("legacy".into(), 1.0)]);
}

/// Mesh config `defaultServiceExportTo` is the exportTo of Services without the annotation
/// (istio/istio `pilot/pkg/model/push_context.go`, `initDefaultExportMaps`). Through 1.30
/// `IsServiceVisible` reads only `.` (private, winning over the rest) and `*`; a list of
/// neither exports nowhere. From 1.31 (`serviceExportTo` at 1.31.0-rc.0) the list is the
/// exportTo as written. An annotated Service keeps its own exportTo.
#[test]
fn default_service_export_to_as_istio_reads_it() {
    let text = |istio: &str, default: &str| {
        format!(
            "istio_version = \"{istio}\"\ndefault_service_export_to = {default}\n\
             [[namespaces]]\nname = \"shop\"\nsidecars = true\nservices = [{{ name = \"redis\", ports = 1 }}]\n\
             [[namespaces]]\nname = \"pay\"\nsidecars = true\nservices = [{{ name = \"ledger\", ports = 2 }}, {{ name = \"api\", ports = 4, export_to = [\"*\"] }}]\n"
        )
    };
    let shop_pay = |istio: &str, default: &str| {
        let c = clusters(&text(istio, default));
        (c[0].1, c[1].1)
    };
    // `*`: everyone sees 1 + 2 + 4.
    assert_eq!(shop_pay("1.22.0", "[\"*\"]"), (7.0, 7.0));
    // `.`: each sees its own unannotated Services and the annotated api.
    assert_eq!(shop_pay("1.22.0", "[\".\"]"), (1.0 + 4.0, 2.0 + 4.0));
    // `.` wins over a namespace name before 1.31 ...
    assert_eq!(shop_pay("1.22.0", "[\".\", \"shop\"]"), (5.0, 6.0));
    // ... and from 1.31 shop also sees pay's ledger.
    assert_eq!(shop_pay("1.31.0", "[\".\", \"shop\"]"), (1.0 + 2.0 + 4.0, 6.0));
    // Namespace names alone: nowhere before 1.31, only the annotated api is seen.
    assert_eq!(shop_pay("1.30.0", "[\"shop\"]"), (4.0, 4.0));
    // A namespace's own export_to still wins over the default.
    let own = text("1.22.0", "[\".\"]").replace("name = \"pay\"\n", "name = \"pay\"\nexport_to = [\"*\"]\n");
    assert_eq!(clusters(&own)[0].1, 1.0 + 2.0 + 4.0);
}
