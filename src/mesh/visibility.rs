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
//! - A headless Service (`clusterIP: None`) gives every sidecar that sees it a listener per pod
//!   IP and TCP (or unnamed) port (istio/istio `pilot/pkg/networking/core/listener.go`,
//!   `buildSidecarOutboundListeners`; istio/istio#33969); its clusters are ORIGINAL_DST, one
//!   per port, without endpoints. meshcap counts every port of it as TCP: the upper end.
//!
//! Sums run in linear time in the size of the topology: a namespace's Services are folded once
//! per proxy only when the scope names that namespace; the mesh-wide part is summed once.

use std::collections::{HashMap, HashSet};
use std::ops::AddAssign;

use serde::Serialize;

use super::scope::HostPattern;
use super::version::Versions;
use super::{KnativeService, PlainService, Scope, Topology};
use crate::error::{Error, Result};

/// Ports of the ExternalName placeholder Service each Knative service and tag has.
pub const EXTERNAL_NAME_PORTS: f64 = 1.0;

/// Sidecar or gateway.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum ProxyKind {
    /// The sidecars of a namespace's workloads.
    Sidecar,
    /// A gateway deployment (not scoped by Sidecar resources).
    Gateway,
}

/// Counts a proxy holds, and the part of them that grows as services retain more revisions.
#[derive(Debug, Clone, Copy, Default, PartialEq, Serialize)]
pub struct Counts {
    /// Knative revisions whose Services are visible.
    pub revisions: f64,
    /// Outbound service clusters (`outbound|PORT|SUBSET|HOST`).
    pub clusters: f64,
    /// Endpoints over those clusters.
    pub endpoints: f64,
    /// Listeners for headless Services' pod IPs.
    pub headless_listeners: f64,
    /// Kubernetes Services visible.
    pub services: f64,
    /// Of `revisions`, those that grow with retained revisions (not only the routed ones).
    pub growing_revisions: f64,
    /// Clusters of the growing revisions.
    pub growing_clusters: f64,
    /// Endpoints of the growing revisions, counted as scaled to zero (the activator's).
    pub growing_endpoints: f64,
    /// Services of the growing revisions.
    pub growing_services: f64,
}

impl AddAssign for Counts {
    fn add_assign(&mut self, o: Counts) {
        self.revisions += o.revisions;
        self.clusters += o.clusters;
        self.endpoints += o.endpoints;
        self.headless_listeners += o.headless_listeners;
        self.services += o.services;
        self.growing_revisions += o.growing_revisions;
        self.growing_clusters += o.growing_clusters;
        self.growing_endpoints += o.growing_endpoints;
        self.growing_services += o.growing_services;
    }
}

/// What one proxy (a namespace's sidecars, or a gateway) sees.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Visible {
    /// Namespace (sidecars) or gateway name.
    pub proxy: String,
    /// Sidecar or gateway.
    pub kind: ProxyKind,
    /// The counts.
    #[serde(flatten)]
    pub counts: Counts,
    /// Envoy worker threads.
    pub concurrency: f64,
    /// What limits the view, when something does (a gateway's exportTo).
    pub note: Option<String>,
}

impl Visible {
    /// Endpoint ports (= Envoy outbound clusters), the model's `ports` predictor.
    pub fn ports(&self) -> f64 {
        self.counts.clusters
    }
}

/// Whether a Service with exportTo `export` in `owner` is exported to `proxy_ns`.
pub(crate) fn exported(export: &[String], owner: &str, proxy_ns: &str) -> bool {
    export.iter().any(|e| match e.as_str() {
        "*" => true,
        "." => owner == proxy_ns,
        "~" => false,
        ns => ns == proxy_ns,
    })
}

/// How much of a Knative service a proxy sees.
#[derive(Debug, Clone, Copy, PartialEq)]
enum KnativeView {
    /// Every retained revision's Services and the placeholders (`ns/*`, no scope).
    All,
    /// An egress host naming it: the placeholder and the VirtualService's destinations.
    Routed,
    /// A filtered gateway: the destinations of its VirtualServices only.
    GatewayRoutes,
}

/// Per-topology constants of the counting.
struct Rules {
    versions: Versions,
    ppr: f64,
    activator: f64,
}

impl Rules {
    fn knative(&self, k: &KnativeService, view: KnativeView) -> Counts {
        let n = f64::from(k.count);
        let ppr = k.ports_per_revision.unwrap_or(self.ppr);
        let public = f64::from(self.versions.public_ports()).min(ppr);
        let private = ppr - public;
        let (revisions, routed, pods) = (f64::from(k.revisions), f64::from(k.routed), f64::from(k.pods));
        // A routed revision with pods is served by them; everything else by the activator.
        let serving = if pods > 0.0 { routed } else { 0.0 };
        let public_eps = |r: f64, served: f64| (r - served) * public * self.activator + served * public * pods;
        let placeholder = |count: f64| {
            let clusters = if self.versions.external_name_is_alias() { 0.0 } else { count * EXTERNAL_NAME_PORTS };
            (clusters, clusters, count) // clusters, endpoints (one DNS name each), services
        };
        let c = match view {
            KnativeView::All => {
                let (pc, pe, ps) = placeholder(1.0 + f64::from(k.tags));
                Counts {
                    revisions,
                    clusters: revisions * ppr + pc,
                    endpoints: public_eps(revisions, serving) + serving * private * pods + pe,
                    headless_listeners: 0.0,
                    services: 2.0 * revisions + ps,
                    growing_revisions: revisions,
                    growing_clusters: revisions * ppr,
                    growing_endpoints: revisions * public * self.activator,
                    growing_services: 2.0 * revisions,
                }
            }
            KnativeView::Routed => {
                // The VirtualService names port 80 (81 for h2c), and Istio adds only that port of
                // each destination Service (`serviceMatchingVirtualServicePorts`).
                let (pc, pe, ps) = placeholder(1.0);
                let port = public.min(1.0);
                Counts {
                    revisions: routed,
                    clusters: routed * port + pc,
                    endpoints: port * ((routed - serving) * self.activator + serving * pods) + pe,
                    services: routed + ps,
                    ..Counts::default()
                }
            }
            KnativeView::GatewayRoutes => Counts {
                revisions: routed,
                clusters: routed * public,
                endpoints: public_eps(routed, serving),
                services: routed,
                ..Counts::default()
            },
        };
        scale(c, n)
    }

    fn plain(&self, s: &PlainService) -> Counts {
        let ports = f64::from(s.ports);
        let pods = f64::from(s.pods);
        let c = if s.external_name {
            let clusters = if self.versions.external_name_is_alias() { 0.0 } else { ports };
            Counts { clusters, endpoints: clusters, services: 1.0, ..Counts::default() }
        } else {
            let clusters = ports * (1.0 + f64::from(s.subsets));
            Counts {
                clusters,
                // A headless Service's clusters are ORIGINAL_DST in sidecars: no EDS endpoints.
                endpoints: if s.headless { 0.0 } else { clusters * pods },
                headless_listeners: if s.headless { ports * pods } else { 0.0 },
                services: 1.0,
                ..Counts::default()
            }
        };
        scale(c, f64::from(s.count))
    }
}

fn scale(c: Counts, n: f64) -> Counts {
    Counts {
        revisions: c.revisions * n,
        clusters: c.clusters * n,
        endpoints: c.endpoints * n,
        headless_listeners: c.headless_listeners * n,
        services: c.services * n,
        growing_revisions: c.growing_revisions * n,
        growing_clusters: c.growing_clusters * n,
        growing_endpoints: c.growing_endpoints * n,
        growing_services: c.growing_services * n,
    }
}

/// One Service (or `count` alike) of the topology.
#[derive(Debug, Clone, Copy)]
struct Unit<'a> {
    ns: usize,
    item: Item<'a>,
}

#[derive(Debug, Clone, Copy)]
enum Item<'a> {
    Knative(&'a KnativeService),
    Plain(&'a PlainService),
}

impl Unit<'_> {
    fn name(&self) -> &str {
        match self.item {
            Item::Knative(k) => &k.name,
            Item::Plain(s) => &s.name,
        }
    }
}

/// The topology's Services indexed by exportTo, namespace and name.
struct Index<'a> {
    topology: &'a Topology,
    rules: Rules,
    units: Vec<Unit<'a>>,
    /// Units exported to every namespace.
    everywhere: Vec<usize>,
    /// Namespace name to the units exported to it besides `everywhere`.
    to: HashMap<&'a str, Vec<usize>>,
    /// Units per namespace index.
    of_namespace: Vec<Vec<usize>>,
    /// Service name to its units in every namespace.
    by_name: HashMap<&'a str, Vec<usize>>,
}

impl<'a> Index<'a> {
    fn new(topology: &'a Topology) -> Index<'a> {
        let rules = Rules {
            versions: topology.versions(),
            ppr: topology.ports_per_revision(),
            activator: f64::from(topology.activator_pods()),
        };
        let mut ix = Index {
            topology,
            rules,
            units: Vec::new(),
            everywhere: Vec::new(),
            to: HashMap::new(),
            of_namespace: vec![Vec::new(); topology.namespaces.len()],
            by_name: HashMap::new(),
        };
        for (i, ns) in topology.namespaces.iter().enumerate() {
            let items = ns.knative.iter().map(Item::Knative).chain(ns.services.iter().map(Item::Plain));
            for item in items {
                let export: &[String] = match item {
                    Item::Plain(s) => s.export_to.as_deref().unwrap_or(&ns.export_to),
                    Item::Knative(_) => &ns.export_to,
                };
                let u = ix.units.len();
                ix.units.push(Unit { ns: i, item });
                ix.of_namespace[i].push(u);
                let name: &'a str = match item {
                    Item::Knative(k) => &k.name,
                    Item::Plain(s) => &s.name,
                };
                ix.by_name.entry(name).or_default().push(u);
                if export.iter().any(|e| e == "*") {
                    ix.everywhere.push(u);
                    continue;
                }
                let mut targets: Vec<&str> = export
                    .iter()
                    .filter(|e| *e != "~")
                    .map(|e| if e == "." { ns.name.as_str() } else { e.as_str() })
                    .collect();
                targets.sort_unstable();
                targets.dedup();
                for t in targets {
                    ix.to.entry(t).or_default().push(u);
                }
            }
        }
        ix
    }

    fn exported(&self, u: usize, proxy_ns: &str) -> bool {
        let unit = &self.units[u];
        let ns = &self.topology.namespaces[unit.ns];
        let export: &[String] = match unit.item {
            Item::Plain(s) => s.export_to.as_deref().unwrap_or(&ns.export_to),
            Item::Knative(_) => &ns.export_to,
        };
        exported(export, &ns.name, proxy_ns)
    }

    fn count(&self, u: usize, view: KnativeView) -> Counts {
        match self.units[u].item {
            Item::Knative(k) => self.rules.knative(k, view),
            Item::Plain(s) => self.rules.plain(s),
        }
    }

    /// Every unit exported to `proxy_ns`, seen whole (no Sidecar scope).
    fn exported_to(&self, proxy_ns: &str) -> impl Iterator<Item = usize> + '_ {
        self.everywhere.iter().chain(self.to.get(proxy_ns).into_iter().flatten()).copied()
    }

    /// Sum over the units exported to `proxy_ns`.
    fn whole_mesh(&self, proxy_ns: &str, mesh_total: &Counts) -> Counts {
        let mut c = *mesh_total;
        for u in self.to.get(proxy_ns).into_iter().flatten() {
            c += self.count(*u, KnativeView::All);
        }
        c
    }

    /// Index of a namespace by name.
    fn ns_index(&self, name: &str) -> Option<usize> {
        match self.topology.index.get(name) {
            Some(&i) => Some(i),
            None if self.topology.index.is_empty() => self.topology.namespaces.iter().position(|n| n.name == name),
            None => None,
        }
    }

    /// What a sidecar in `proxy_ns` sees under explicit egress hosts.
    fn hosts(&self, patterns: &[HostPattern], proxy_ns: &str, mesh_total: &Counts) -> Counts {
        if patterns.iter().any(|p| p.namespace == "*" && p.covers_all_namespaces()) {
            return self.whole_mesh(proxy_ns, mesh_total);
        }
        let mut whole: Vec<usize> =
            patterns.iter().filter_map(|p| p.whole_namespace(proxy_ns)).filter_map(|ns| self.ns_index(&ns)).collect();
        whole.sort_unstable();
        whole.dedup();
        let mut c = Counts::default();
        let mut seen: HashSet<usize> = HashSet::new();
        for &i in &whole {
            for &u in &self.of_namespace[i] {
                if self.exported(u, proxy_ns) {
                    seen.insert(u);
                    c += self.count(u, KnativeView::All);
                }
            }
        }
        for p in patterns {
            let Some((name, fqdn_ns)) = p.service_host() else { continue };
            let pattern_ns = match p.namespace.as_str() {
                "*" => None,
                "." => Some(proxy_ns),
                ns => Some(ns),
            };
            let host_ns = match (pattern_ns, fqdn_ns) {
                // `shop/x.payments.svc.cluster.local` names a host outside shop: Istio matches nothing.
                (Some(a), Some(b)) if a != b => continue,
                (Some(a), _) => Some(a),
                (None, b) => b,
            };
            let candidates: Vec<usize> = match host_ns {
                None => self.by_name.get(name).cloned().unwrap_or_default(),
                Some(ns) => match self.ns_index(ns) {
                    Some(i) => self.of_namespace[i].iter().copied().filter(|&u| self.units[u].name() == name).collect(),
                    None => continue,
                },
            };
            for u in candidates {
                if self.exported(u, proxy_ns) && seen.insert(u) {
                    c += self.count(u, KnativeView::Routed);
                }
            }
        }
        c
    }
}

/// Default Envoy workers of a proxy (Istio's `concurrency: 2` for sidecars).
pub const DEFAULT_CONCURRENCY: u32 = 2;

/// Count what every sidecar namespace and every gateway sees under `scope`.
pub fn visibility(topology: &Topology, scope: &Scope) -> Result<Vec<Visible>> {
    if let Scope::Hosts(patterns) = scope {
        for p in patterns {
            if p.namespace != "*" && p.namespace != "." && topology.namespace(&p.namespace).is_none() {
                return Err(Error::invalid(format!(
                    "scope host \"{}/{}\" names namespace \"{}\", which the topology does not list",
                    p.namespace, p.host, p.namespace
                )));
            }
        }
    }
    let ix = Index::new(topology);
    let mut mesh_total = Counts::default();
    for &u in &ix.everywhere {
        mesh_total += ix.count(u, KnativeView::All);
    }
    let sidecar_workers = f64::from(topology.sidecar_concurrency());
    let mut out = Vec::new();
    for ns in topology.namespaces.iter().filter(|n| n.sidecars) {
        let counts = match scope {
            Scope::Mesh => ix.whole_mesh(&ns.name, &mesh_total),
            Scope::Namespace => ix.hosts(&Scope::namespace_hosts(), &ns.name, &mesh_total),
            Scope::Hosts(patterns) => ix.hosts(patterns, &ns.name, &mesh_total),
        };
        out.push(Visible {
            proxy: ns.name.clone(),
            kind: ProxyKind::Sidecar,
            counts,
            concurrency: sidecar_workers,
            note: None,
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
            note: Some(if topology.filter_gateway_cluster_config {
                format!("routed revisions exported to {} (filtered gateway)", g.namespace)
            } else {
                format!("every revision exported to {}", g.namespace)
            }),
        });
    }
    Ok(out)
}
