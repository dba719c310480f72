//! Which scope each namespace gets, and which `config-gc` the plan tries.
//!
//! A namespace's sidecars may lose every Service they were not seen calling, and no more:
//! - egress hosts are every observed destination, written `<namespace>/<FQDN>` (Istio matches
//!   an egress host by the Service's namespace and its hostname: istio/istio
//!   `pilot/pkg/model/sidecar.go`, `hostsFromEgressListener`, at 1.18.2), so a host naming a
//!   Knative service keeps the routed revisions its `<ksvc>-mesh` VirtualService sends to;
//! - plus `istio-system/*`: istiod, and Knative's `knative-local-gateway`, where every Knative
//!   service's cluster-local placeholder Service points (an ExternalName to the ingress's
//!   internal domain: knative/serving `pkg/reconciler/route/resources/service.go`,
//!   `MakeK8sService`, at knative-v1.11.0; net-istio `pkg/reconciler/ingress/config/istio.go`,
//!   `defaultLocalGateways`: `knative-local-gateway.istio-system.svc.cluster.local`). A scaled-
//!   to-zero revision needs nothing more: its public Service's endpoints are the activator's
//!   pods, inside the cluster the VirtualService destination already brings.
//!
//! Never narrowed: mesh infrastructure (the activator must reach every revision), namespaces
//! running a gateway (Sidecar resources do not scope gateways, istio/istio#29131) and
//! `istio-system` (a Sidecar there is every namespace's default). A namespace without traffic
//! data keeps its scope and is unplanned: no rows is no evidence that it calls nothing.

use std::collections::{BTreeMap, BTreeSet};

use super::forecast::ProxySides;
use super::GcAdvice;
use crate::error::{Error, Result};
use crate::mesh::deps::{Dependencies, Dependency};
use crate::mesh::visibility::infrastructure_note;
use crate::mesh::{GcPolicy, HostPattern, Scope, ScopeMap, Topology};

/// Suffix of in-cluster Service hosts.
const CLUSTER_SUFFIX: &str = ".svc.cluster.local";

/// Istio's root namespace (MeshConfig `rootNamespace` default).
const ROOT_NAMESPACE: &str = "istio-system";

/// The always-kept egress host.
pub const ISTIO_SYSTEM: &str = "istio-system/*";

/// One namespace's choice.
#[derive(Debug, Clone, PartialEq)]
pub struct NamespaceChoice {
    /// The namespace.
    pub namespace: String,
    /// `hosts` or `unchanged`.
    pub scope: String,
    /// Egress hosts (`hosts` only).
    pub egress_hosts: Vec<String>,
    /// Why.
    pub reason: String,
    /// Its Knative services, by name (families of several left out: their names are prefixes).
    pub knative_services: Vec<String>,
}

/// Every namespace's choice and the scope map they make.
#[derive(Debug, Clone)]
pub struct Choice {
    /// The scopes after the plan.
    pub map: ScopeMap,
    /// Every sidecar namespace.
    pub namespaces: Vec<NamespaceChoice>,
    /// Namespaces without traffic data.
    pub unplanned: Vec<String>,
    /// The traffic window, the rarest dependency kept, rows left aside.
    pub warnings: Vec<String>,
}

/// The `namespace/host` egress entry of an observed destination: `<ns>/<fqdn>` for an
/// in-cluster FQDN `<name>.<ns>.svc.cluster.local`, `*/<host>` for any other host (a
/// ServiceEntry's, whose namespace the table does not say).
pub fn egress_host(destination: &str) -> String {
    let host = destination.trim().trim_end_matches('.');
    match host.strip_suffix(CLUSTER_SUFFIX).and_then(|h| h.split_once('.')) {
        Some((_, ns)) if !ns.contains('.') && !ns.is_empty() => format!("{ns}/{host}"),
        _ => format!("*/{host}"),
    }
}

/// Choose every sidecar namespace's scope from the observed `deps` (read from `deps_label`).
pub fn scopes(
    topology: &Topology,
    current: &ScopeMap,
    deps: Option<&Dependencies>,
    deps_label: &str,
) -> Result<Choice> {
    let mut by_source: BTreeMap<&str, Vec<&Dependency>> = BTreeMap::new();
    let mut warnings = Vec::new();
    if let Some(d) = deps {
        for row in &d.rows {
            by_source.entry(row.source_namespace.as_str()).or_default().push(row);
            let entry = egress_host(&row.destination_host);
            let ns = entry.split_once('/').map_or("*", |(n, _)| n);
            if ns != "*" && topology.namespace(ns).is_none() {
                return Err(Error::invalid(format!(
                    "{deps_label}: destination {} of {}/{} is in namespace {ns}, which the topology does not list: import both at the same time",
                    row.destination_host, row.source_namespace, row.source_workload
                )));
            }
        }
        let days = d.window_seconds.map(|w| w as f64 / 86_400.0);
        match days {
            Some(days) if days < 7.0 => warnings.push(format!(
                "traffic window {days:.1} days, under 7: weekly jobs go unseen and their destinations would be cut; import a longer --window"
            )),
            Some(days) => warnings.push(format!("traffic window {days:.1} days")),
            None => warnings.push(
                "traffic window unknown (the table has no window-seconds line): a dependency rarer than the window is cut".into(),
            ),
        }
        if let Some(r) = d.rarest() {
            warnings.push(format!(
                "rarest dependency kept: {}/{} -> {} ({} requests in the window); one request counts as much as a million",
                r.source_namespace, r.source_workload, r.destination_host, r.requests
            ));
        }
        let unknown: BTreeSet<&str> =
            by_source.keys().copied().filter(|ns| topology.namespace(ns).is_none_or(|n| !n.sidecars)).collect();
        if !unknown.is_empty() {
            warnings.push(format!(
                "traffic from namespaces without sidecars in the topology left aside: {}",
                unknown.into_iter().collect::<Vec<_>>().join(", ")
            ));
        }
    }
    let gateway_ns = |n: &str| topology.gateways.iter().find(|g| g.namespace == n);
    let mut overrides: Vec<(String, Scope)> =
        current.overrides.iter().filter(|(ns, _)| !by_source.contains_key(ns.as_str())).cloned().collect();
    let mut namespaces = Vec::new();
    let mut unplanned = Vec::new();
    for ns in topology.namespaces.iter().filter(|n| n.sidecars) {
        let name = ns.name.as_str();
        let knative_services = ns.knative.iter().filter(|k| k.count == 1).map(|k| k.name.clone()).collect::<Vec<_>>();
        let unchanged = |reason: String| NamespaceChoice {
            namespace: name.to_string(),
            scope: "unchanged".into(),
            egress_hosts: Vec::new(),
            reason,
            knative_services: knative_services.clone(),
        };
        let choice = if ns.infrastructure() {
            unchanged(infrastructure_note(name))
        } else if let Some(g) = gateway_ns(name) {
            unchanged(format!(
                "runs gateway {}: Sidecar resources do not scope gateways (istio/istio#29131), so its namespace keeps its scope",
                g.name
            ))
        } else if name == ROOT_NAMESPACE {
            unchanged("istio-system is Istio's root namespace: a Sidecar there becomes every namespace's default (istio/api networking/v1beta1/sidecar.proto)".into())
        } else if let Some(rows) = by_source.get(name) {
            let mut hosts: BTreeSet<String> = rows.iter().map(|r| egress_host(&r.destination_host)).collect();
            let observed = hosts.len();
            hosts.insert(ISTIO_SYSTEM.to_string());
            let patterns: Vec<HostPattern> = hosts
                .iter()
                .filter_map(|h| h.split_once('/'))
                .map(|(n, h)| HostPattern { namespace: n.to_string(), host: h.to_string() })
                .collect();
            overrides.push((name.to_string(), Scope::Hosts(patterns)));
            NamespaceChoice {
                namespace: name.to_string(),
                scope: "hosts".into(),
                egress_hosts: hosts.into_iter().collect(),
                reason: format!(
                    "{observed} observed destination{} (every one kept, however rare) + istio-system/* (istiod; knative-local-gateway, where Knative's cluster-local placeholders point)",
                    if observed == 1 { "" } else { "s" }
                ),
                knative_services,
            }
        } else {
            unplanned.push(name.to_string());
            let why = if deps.is_some() { "no traffic observed from it" } else { "no traffic data (--traffic)" };
            unchanged(format!("{why}: keeps its current scope ({})", current.scope_of(name)))
        };
        namespaces.push(choice);
    }
    let families: Vec<String> = topology
        .namespaces
        .iter()
        .flat_map(|n| n.knative.iter().filter(|k| k.count > 1).map(move |k| format!("{}/{}", n.name, k.name)))
        .collect();
    if !families.is_empty() {
        warnings.push(format!(
            "Knative service families written as a prefix and a count get no patch (their names are not known): {}",
            families.join(", ")
        ));
    }
    let map = ScopeMap { default: current.default.clone(), overrides };
    map.check(topology)?;
    Ok(Choice { map, namespaces, unplanned, warnings })
}

/// `max-non-active-revisions` values tried below the current one, loosest first.
const MAX_STEPS: [u32; 6] = [500, 200, 100, 50, 20, 10];

/// The GC policies the plan tries, in order: the current one, then `max-non-active-revisions`
/// lowered step by step (with `min-non-active-revisions` no higher, as Knative requires:
/// `pkg/gc/config.go` refuses min > max). Above the max the oldest non-active revisions go
/// whatever their age (knative/serving `pkg/reconciler/gc/gc.go` at knative-v1.11.0), so it
/// caps every service however fast it updates.
pub fn gc_ladder(current: &GcPolicy) -> Vec<GcPolicy> {
    let mut out = vec![*current];
    for max in MAX_STEPS {
        if current.max_non_active.is_some_and(|m| m <= max) {
            continue;
        }
        let p = GcPolicy { max_non_active: Some(max), min_non_active: current.min_non_active.min(max), ..*current };
        if p.validate().is_ok() {
            out.push(p);
        }
    }
    out
}

/// The advice for choosing `chosen` over `current`.
pub fn gc_advice(current: &GcPolicy, chosen: GcPolicy, sides: &[ProxySides], horizon: f64) -> GcAdvice {
    let changed = chosen != *current;
    let reason = if changed {
        let reached: Vec<&str> = sides
            .iter()
            .filter(|s| !s.representative && !s.annotatable && (s.kind == "gateway" || s.kind == "infrastructure"))
            .map(|s| s.proxy.as_str())
            .take(3)
            .collect();
        format!(
            "GC, not scope, is the lever for proxies no Sidecar narrows and no annotation reaches ({}): max-non-active-revisions {} -> {} is the loosest tried that keeps every proxy under its limit for {horizon} days; collected revisions can no longer be rolled back to",
            if reached.is_empty() { "other workloads".to_string() } else { reached.join(", ") },
            current.max_non_active.map_or("disabled".to_string(), |m| m.to_string()),
            chosen.max_non_active.map_or("disabled".to_string(), |m| m.to_string()),
        )
    } else {
        format!("the current config-gc ({current}) keeps every proxy safe for {horizon} days: scope and annotations are the levers")
    };
    GcAdvice { changed, current: *current, recommended: chosen, reason }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn in_cluster_hosts_keep_their_namespace_and_others_take_any() {
        assert_eq!(egress_host("checkout.ns01.svc.cluster.local"), "ns01/checkout.ns01.svc.cluster.local");
        assert_eq!(egress_host("checkout.ns01.svc.cluster.local."), "ns01/checkout.ns01.svc.cluster.local");
        assert_eq!(egress_host("api.example.com"), "*/api.example.com");
    }

    #[test]
    fn the_ladder_lowers_max_and_keeps_min_at_most_max() {
        let l = gc_ladder(&GcPolicy::default());
        assert_eq!(l[0], GcPolicy::default());
        let maxes: Vec<Option<u32>> = l.iter().map(|p| p.max_non_active).collect();
        assert_eq!(maxes, [1000, 500, 200, 100, 50, 20, 10].map(Some));
        // min-non-active 20 > 10 is refused by Knative (pkg/gc/config.go): lowered with it.
        assert_eq!(l.last().unwrap().min_non_active, 10);
        assert!(l.iter().all(|p| p.validate().is_ok()));
    }
}
