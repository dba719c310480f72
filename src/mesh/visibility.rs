//! What each proxy holds: revisions, Envoy clusters, endpoints and listeners under a scope.
//!
//! The rules, each with where Istio or Knative writes it:
//! - Every Service port a proxy can see is one outbound cluster `outbound|PORT||HOST`, and each
//!   DestinationRule subset adds `outbound|PORT|SUBSET|HOST` per port (istio/istio
//!   `pilot/pkg/networking/core/cluster_builder.go`, `buildSubsetCluster`). Envoy's static
//!   clusters (`xds-grpc`, `prometheus_stats`, ...) are not counted.
//! - A Knative revision has a private Service selecting its pods and a selector-less public
//!   Service whose endpoints Knative sets: the activator while scaled to zero, the pods while
//!   serving (knative/serving `pkg/reconciler/serverlessservice`). So a routed revision with N
//!   ready pods puts N endpoints in each private cluster and each public one, and every other
//!   revision puts the activator's pods in its public clusters.
//! - Each Knative service (and each traffic tag) has an ExternalName placeholder Service
//!   (knative/serving#13201): a cluster per port before Istio 1.21, an alias without clusters
//!   from 1.21 on ([`Versions::external_name_is_alias`]).
//! - A Sidecar egress host naming a Knative service imports the VirtualServices for that host,
//!   and SidecarScope adds their destination Services (istio/istio `pilot/pkg/model/sidecar.go`,
//!   `AddConfigDependencies` / the virtual-service destinations loop): net-istio's
//!   `<ksvc>-mesh` VirtualService routes to port 80 of the routed revisions' public Services
//!   (net-istio `pkg/reconciler/ingress/resources/virtual_service.go`), and only that port is
//!   added (`serviceMatchingVirtualServicePorts`): the proxy holds one cluster per routed revision
//!   plus the placeholder, not every retained revision.
//! - Gateways take the default scope of their namespace, so `exportTo` applies to them, but
//!   Sidecar resources do not (istio/istio#29131). With `PILOT_FILTER_GATEWAY_CLUSTER_CONFIG`
//!   a gateway keeps only destinations of VirtualServices bound to it (istio/istio
//!   `pilot/pkg/model/push_context.go`, `GatewayServices`): the routed revisions' public
//!   Services (knative/serving `pkg/reconciler/route/resources/ingress.go`) and the plain
//!   Services its routes name.
//! - Mesh infrastructure (by default `knative-serving`: the activator, the autoscaler) sees the
//!   whole mesh under every scope, like a gateway: in mesh mode the activator sends to each
//!   revision's private Service ClusterIP (knative/serving `pkg/activator/net/revision_backends.go`,
//!   `checkDests` -> `getDest`, at knative-v1.11.0 and knative-v1.23.0), which a Sidecar narrowing
//!   it would leave without a cluster (and, under STRICT mTLS, without mTLS to it).
//! - A headless Service (`clusterIP: None`) gives every sidecar that sees it a listener per pod
//!   IP and TCP (or unnamed) port (istio/istio `pilot/pkg/networking/core/listener.go`,
//!   `buildSidecarOutboundListeners`; istio/istio#33969); its clusters are ORIGINAL_DST, one
//!   per port, without endpoints. meshcap counts every port of it as TCP: the upper end.
//!
//! Sums run in linear time in the size of the topology: a namespace's Services are folded once
//! per proxy only when the scope names that namespace; the mesh-wide part is summed once.

use serde::Serialize;

pub(crate) use super::counts::exported;
pub use super::counts::{Counts, EXTERNAL_NAME_PORTS};
use super::index::{Index, Item};
use super::rules::KnativeView;
use super::{Scope, ScopeMap, Topology};
use crate::error::{Error, Result};

/// Sidecar, gateway or mesh infrastructure.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum ProxyKind {
    /// The sidecars of a namespace's workloads.
    Sidecar,
    /// A gateway deployment (not scoped by Sidecar resources).
    Gateway,
    /// The sidecars of mesh infrastructure (Knative's activator and autoscaler): they must reach
    /// every revision, so no Sidecar resource narrows them.
    Infrastructure,
}

impl ProxyKind {
    /// Sees the whole mesh whatever the scope: gateways and mesh infrastructure.
    pub fn unscoped(self) -> bool {
        self != ProxyKind::Sidecar
    }

    /// What tables print after the proxy's name: nothing for sidecars.
    pub fn suffix(self) -> &'static str {
        match self {
            ProxyKind::Sidecar => "",
            ProxyKind::Gateway => " (gateway)",
            ProxyKind::Infrastructure => " (infrastructure)",
        }
    }
}

/// What one proxy (a namespace's sidecars, or a gateway) sees.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Visible {
    /// Namespace (sidecars) or gateway name.
    pub proxy: String,
    /// Sidecar, gateway or mesh infrastructure.
    pub kind: ProxyKind,
    /// The counts.
    #[serde(flatten)]
    pub counts: Counts,
    /// Envoy worker threads.
    pub concurrency: f64,
    /// Keeps per-cluster stats (`proxyStatsMatcher` matching `cluster.outbound`).
    pub per_cluster_stats: bool,
    /// What limits the view, when something does (a gateway's exportTo), or why the scope
    /// does not (mesh infrastructure).
    pub note: Option<String>,
}

impl Visible {
    /// Two proxies with the same key hold the same and follow the same memory curve: kind,
    /// every count and the workers, as bits.
    pub fn curve_key(&self) -> (ProxyKind, bool, [u64; 10]) {
        let c = &self.counts;
        (
            self.kind,
            self.per_cluster_stats,
            [
                c.revisions,
                c.clusters,
                c.endpoints,
                c.headless_listeners,
                c.services,
                c.growing_revisions,
                c.growing_clusters,
                c.growing_endpoints,
                c.growing_services,
                self.concurrency,
            ]
            .map(f64::to_bits),
        )
    }

    /// Endpoint ports (= Envoy outbound clusters), the model's `ports` predictor.
    pub fn ports(&self) -> f64 {
        self.counts.clusters
    }
}

/// Most clusters, endpoints, listeners or Services one proxy may be counted to hold: at ~100 KiB
/// a cluster, 10^9 of them would be ~100 TiB, no Envoy's memory; more is a typo in the topology.
pub const MAX_PER_PROXY: f64 = 1e9;

/// Refuse counts no proxy can hold, naming the proxy, the count and the file.
fn plausible(v: &Visible, topology: &Topology) -> Result<()> {
    let c = &v.counts;
    for (what, n) in [
        ("revisions", c.revisions),
        ("clusters", c.clusters),
        ("endpoints", c.endpoints),
        ("headless listeners", c.headless_listeners),
        ("Services", c.services),
    ] {
        if !(n.is_finite() && n <= MAX_PER_PROXY) {
            let message = format!(
                "proxy {} would hold {n:e} {what}, more than the 1e9 any Envoy could: check the counts",
                v.proxy
            );
            return Err(match &topology.source.0 {
                Some(path) => Error::data(message, path),
                None => Error::invalid(message),
            });
        }
    }
    Ok(())
}

/// Default Envoy workers of a proxy (Istio's `concurrency: 2` for sidecars).
pub const DEFAULT_CONCURRENCY: u32 = 2;

/// Why a mesh infrastructure namespace is not scoped, as notes say it.
pub fn infrastructure_note(namespace: &str) -> String {
    if namespace == super::KNATIVE_SERVING {
        "mesh infrastructure, never scoped: the activator sends to every revision's private Service (knative/serving pkg/activator/net/revision_backends.go)".into()
    } else {
        "mesh infrastructure (infrastructure = true in the topology), never scoped".into()
    }
}

/// Count what every sidecar namespace and every gateway sees under `scopes` (a default scope
/// and per-namespace overrides; a plain [`Scope`] converts into one for every namespace).
pub fn visibility(topology: &Topology, scopes: &ScopeMap) -> Result<Vec<Visible>> {
    scopes.check(topology)?;
    for scope in scopes.scopes() {
        check_hosts(topology, scope)?;
    }
    let ix = Index::new(topology);
    let mut mesh_total = Counts::default();
    for &u in &ix.everywhere {
        mesh_total += ix.count(u, KnativeView::All);
    }
    // `*/name` totals once per distinct host list.
    let stars: Vec<_> = scopes
        .scopes()
        .map(|scope| match scope {
            Scope::Hosts(patterns) => ix.star_totals(patterns),
            _ => Default::default(),
        })
        .collect();
    let mut out = Vec::new();
    for ns in topology.namespaces.iter().filter(|n| n.sidecars) {
        let (kind, counts, note) = if ns.infrastructure() {
            (ProxyKind::Infrastructure, ix.whole_mesh(&ns.name, &mesh_total), Some(infrastructure_note(&ns.name)))
        } else {
            let at = scopes.slot(&ns.name);
            let counts = match scopes.scope_of(&ns.name) {
                Scope::Mesh => ix.whole_mesh(&ns.name, &mesh_total),
                Scope::Namespace => ix.hosts(&Scope::namespace_hosts(), &ns.name, &mesh_total, &stars[at]),
                Scope::Hosts(patterns) => ix.hosts(patterns, &ns.name, &mesh_total, &stars[at]),
            };
            (ProxyKind::Sidecar, counts, None)
        };
        out.push(Visible {
            proxy: ns.name.clone(),
            kind,
            counts,
            concurrency: f64::from(topology.concurrency_of(&ns.name)),
            per_cluster_stats: topology.per_cluster_stats_of(&ns.name),
            note,
        });
    }
    for g in &topology.gateways {
        let counts = if topology.filter_gateway_cluster_config {
            let mut c = Counts::default();
            for u in ix.exported_to(&g.namespace) {
                if let Item::Knative(_) = ix.units[u].item {
                    c += ix.count(u, KnativeView::GatewayRoutes);
                }
            }
            for r in &g.routes {
                let (ns, name) = r.split_once('/').unwrap_or(("", r));
                let routed = ix.ns_index(ns).into_iter().flat_map(|i| &ix.of_namespace[i]);
                for &u in routed {
                    if matches!(ix.units[u].item, Item::Plain(_))
                        && ix.units[u].name() == name
                        && ix.exported(u, &g.namespace)
                    {
                        c += ix.count(u, KnativeView::All);
                    }
                }
            }
            c
        } else {
            ix.whole_mesh(&g.namespace, &mesh_total)
        };
        // Per-pod listeners for headless Services are built for sidecars only
        // (buildSidecarOutboundListeners); a gateway's listeners come from its Gateway servers.
        let counts = Counts { headless_listeners: 0.0, ..counts };
        out.push(Visible {
            proxy: g.name.clone(),
            kind: ProxyKind::Gateway,
            counts,
            concurrency: f64::from(g.concurrency.unwrap_or(topology.sidecar_concurrency())),
            per_cluster_stats: topology.per_cluster_stats,
            note: Some(if topology.filter_gateway_cluster_config {
                format!("routed revisions exported to {} (filtered gateway)", g.namespace)
            } else {
                format!("every revision exported to {}", g.namespace)
            }),
        });
    }
    out.iter().try_for_each(|v| plausible(v, topology))?;
    Ok(out)
}

/// Refuse egress hosts naming a namespace the topology does not list.
fn check_hosts(topology: &Topology, scope: &Scope) -> Result<()> {
    let Scope::Hosts(patterns) = scope else { return Ok(()) };
    for p in patterns {
        let named = [Some(p.namespace.as_str()), p.wildcard_namespace(), p.service_host().and_then(|h| h.1)];
        for ns in named.into_iter().flatten().filter(|n| *n != "*" && *n != ".") {
            if topology.namespace(ns).is_none() {
                return Err(Error::invalid(format!(
                    "scope host \"{}/{}\" names namespace \"{ns}\", which the topology does not list",
                    p.namespace, p.host
                )));
            }
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests;
