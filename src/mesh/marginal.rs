//! What one more revision of each Knative service adds to each proxy, under a scope: the
//! weights `fleet --topology` grows a proxy by.
//!
//! The same rules as [`visibility`](super::visibility) (the same [`Index`], the same reading of
//! egress hosts, exportTo and filtered gateways), but instead of summing what a proxy sees it
//! lists the Knative services it sees and how ([`KnativeView`]): a service seen whole gains
//! every port of a new revision, one named by an egress host only its routed destinations (so
//! nothing), a filtered gateway only its VirtualService destinations. The marginal of one
//! service in one view is counted once, from the rules, with its revisions raised by one.
//!
//! Complexity: O(topology) to index, plus, per proxy, the services its scope names outside the
//! part exported to every namespace; the mesh-wide part is listed once ([`Marginals::everywhere`])
//! and a proxy that sees it whole only says so. Under `mesh` or `namespace` scopes the whole is
//! linear in namespaces; a host list naming `*/svc` lists that name's Services per proxy.

use std::collections::HashSet;

use super::index::{Index, Item};
use super::rules::KnativeView;
use super::visibility::{Counts, ProxyKind};
use super::{Scope, ScopeMap, Topology};
use crate::error::Result;

/// A Knative service (its index over every namespace's `knative` list, in topology order) and
/// what one more revision of it adds to a proxy.
pub type Marginal = (usize, Counts);

/// What one proxy gains from one more revision of each service it sees.
#[derive(Debug, Clone, PartialEq)]
pub struct ProxyMarginals {
    /// Namespace (sidecars) or gateway name, as [`visibility`](super::visibility) names it.
    pub proxy: String,
    /// Sidecar, gateway or mesh infrastructure.
    pub kind: ProxyKind,
    /// Sees every service exported to every namespace whole: [`Marginals::everywhere`] applies.
    pub whole_mesh: bool,
    /// The other services it sees, in service order.
    pub own: Vec<Marginal>,
}

/// Every proxy's marginals, in the order of [`visibility`](super::visibility)'s output.
#[derive(Debug, Clone, PartialEq)]
pub struct Marginals {
    /// The services exported to every namespace, seen whole, in service order.
    pub everywhere: Vec<Marginal>,
    /// Per proxy.
    pub proxies: Vec<ProxyMarginals>,
}

/// Per-unit marginals of one more revision, by how the unit is seen.
struct Deltas {
    /// Unit to its service index (Knative units only).
    service: Vec<Option<usize>>,
    /// [All, Routed, GatewayRoutes] per unit.
    delta: Vec<[Counts; 3]>,
}

const VIEWS: [KnativeView; 3] = [KnativeView::All, KnativeView::Routed, KnativeView::GatewayRoutes];

impl Deltas {
    fn new(ix: &Index<'_>) -> Deltas {
        let t = ix.topology;
        let mut first = Vec::with_capacity(t.namespaces.len());
        let mut n = 0;
        for ns in &t.namespaces {
            first.push(n);
            n += ns.knative.len();
        }
        let mut service = vec![None; ix.units.len()];
        let mut delta = vec![[Counts::default(); 3]; ix.units.len()];
        for (i, units) in ix.of_namespace.iter().enumerate() {
            // Index::new pushes a namespace's Knative services first, in order.
            for (j, &u) in units.iter().enumerate() {
                let Item::Knative(k) = ix.units[u].item else { continue };
                service[u] = Some(first[i] + j);
                let mut more = k.clone();
                more.revisions = k.revisions.saturating_add(1);
                delta[u] = VIEWS.map(|v| {
                    let mut d = ix.rules.knative(&more, v);
                    d -= ix.rules.knative(k, v);
                    d
                });
            }
        }
        Deltas { service, delta }
    }

    fn push(&self, out: &mut Vec<Marginal>, u: usize, view: KnativeView) {
        if let Some(s) = self.service[u] {
            let at = VIEWS.iter().position(|v| *v == view).unwrap_or(0);
            out.push((s, self.delta[u][at]));
        }
    }
}

/// What one more revision of each Knative service adds to every sidecar namespace, mesh
/// infrastructure and gateway under `scopes`. Checks the scope as [`visibility`](super::visibility)
/// does.
pub fn marginals(topology: &Topology, scopes: &ScopeMap) -> Result<Marginals> {
    // The same checks (scope namespaces, egress hosts, plausible counts).
    super::visibility(topology, scopes)?;
    let ix = Index::new(topology);
    let d = Deltas::new(&ix);
    let mut everywhere = Vec::new();
    for &u in &ix.everywhere {
        d.push(&mut everywhere, u, KnativeView::All);
    }
    let whole_mesh = |proxy_ns: &str| {
        let mut own = Vec::new();
        for &u in ix.to.get(proxy_ns).into_iter().flatten() {
            d.push(&mut own, u, KnativeView::All);
        }
        (true, own)
    };
    let mut proxies = Vec::new();
    for ns in topology.namespaces.iter().filter(|n| n.sidecars) {
        let (kind, (whole, own)) = if ns.infrastructure() {
            (ProxyKind::Infrastructure, whole_mesh(&ns.name))
        } else {
            let seen = match scopes.scope_of(&ns.name) {
                Scope::Mesh => whole_mesh(&ns.name),
                Scope::Namespace => {
                    hosts(&ix, &d, &Scope::namespace_hosts(), &ns.name).unwrap_or_else(|| whole_mesh(&ns.name))
                }
                Scope::Hosts(patterns) => hosts(&ix, &d, patterns, &ns.name).unwrap_or_else(|| whole_mesh(&ns.name)),
            };
            (ProxyKind::Sidecar, seen)
        };
        proxies.push(ProxyMarginals { proxy: ns.name.clone(), kind, whole_mesh: whole, own });
    }
    for g in &topology.gateways {
        let (whole, own) = if topology.filter_gateway_cluster_config {
            let mut own = Vec::new();
            for u in ix.exported_to(&g.namespace) {
                d.push(&mut own, u, KnativeView::GatewayRoutes);
            }
            (false, own)
        } else {
            whole_mesh(&g.namespace)
        };
        proxies.push(ProxyMarginals { proxy: g.name.clone(), kind: ProxyKind::Gateway, whole_mesh: whole, own });
    }
    for p in &mut proxies {
        p.own.sort_by_key(|m| m.0);
    }
    Ok(Marginals { everywhere, proxies })
}

/// The Knative services a sidecar in `proxy_ns` sees under explicit egress hosts, as
/// `Index::hosts` counts them; `None` when a host covers every namespace (the whole mesh).
fn hosts(ix: &Index<'_>, d: &Deltas, patterns: &[super::HostPattern], proxy_ns: &str) -> Option<(bool, Vec<Marginal>)> {
    if patterns.iter().any(|p| p.namespace == "*" && p.covers_all_namespaces()) {
        return None;
    }
    let mut whole: Vec<usize> =
        patterns.iter().filter_map(|p| p.whole_namespace(proxy_ns)).filter_map(|ns| ix.ns_index(&ns)).collect();
    whole.sort_unstable();
    whole.dedup();
    let mut own = Vec::new();
    let mut seen: HashSet<usize> = HashSet::new();
    for &i in &whole {
        for &u in &ix.of_namespace[i] {
            if ix.exported(u, proxy_ns) {
                seen.insert(u);
                d.push(&mut own, u, KnativeView::All);
            }
        }
    }
    let mut star_names: Vec<&str> = Vec::new();
    for p in patterns {
        let Some((name, fqdn_ns)) = p.service_host() else { continue };
        let pattern_ns = match p.namespace.as_str() {
            "*" => None,
            "." => Some(proxy_ns),
            ns => Some(ns),
        };
        let host_ns = match (pattern_ns, fqdn_ns) {
            (Some(a), Some(b)) if a != b => continue,
            (Some(a), _) => a,
            (None, Some(b)) => b,
            (None, None) => {
                star_names.push(name);
                continue;
            }
        };
        let Some(i) = ix.ns_index(host_ns) else { continue };
        for &u in &ix.of_namespace[i] {
            if ix.units[u].name() == name && ix.exported(u, proxy_ns) && seen.insert(u) {
                d.push(&mut own, u, KnativeView::Routed);
            }
        }
    }
    star_names.sort_unstable();
    star_names.dedup();
    for name in star_names {
        // `*/name`: that name's Services exported everywhere, then those exported to the proxy.
        for &u in ix.by_name.get(name).into_iter().flatten() {
            if ix.is_everywhere[u] && !seen.contains(&u) {
                d.push(&mut own, u, KnativeView::Routed);
            }
        }
        for &u in ix.to.get(proxy_ns).into_iter().flatten() {
            if ix.units[u].name() == name && seen.insert(u) {
                d.push(&mut own, u, KnativeView::Routed);
            }
        }
    }
    Some((false, own))
}

#[cfg(test)]
mod tests;
