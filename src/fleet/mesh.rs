//! Growth from the mesh: a proxy's date from the Knative services it sees, their observed
//! update rates, and the GC policy that caps them (`meshcap fleet --topology`).
//!
//! A proxy's own series only knows how fast it grew; it cannot know that Knative's GC will stop
//! each service at its cap (at most `max-non-active-revisions` + the active ones, fewer where
//! the retention times and `min-non-active-revisions` decide: [`GcPolicy::steady_non_active`],
//! the rule of knative/serving `pkg/reconciler/gc/gc.go` (`collect`, `isRevisionActive`,
//! `isRevisionStale`) with the defaults of `pkg/gc/config.go`, both checked at 98e5ef9).
//! The topology knows both. Each proxy is mapped to what it sees: `namespace/pod` to its
//! namespace's sidecars under the scope (mesh infrastructure, such as knative-serving's
//! activator, under none: it sees every service, like a gateway), or a gateway whose pods are
//! `<gateway>-...` in the gateway's namespace ([`crate::mesh::visibility`]). What one more revision of a service adds
//! to each proxy (ports by the Knative release, or revisions) is read from `visibility` itself,
//! once per service, so every rule of the scope applies. Each service's rate comes from its
//! revisions' creation times ([`rates`]); the proxy's growth is their weighted Poisson sum
//! ([`growth::arrivals`](super::growth::arrivals)) and bends where each service reaches its cap
//! ([`curve`]). The date is where the pooled model's upper bound meets the limit on that bent
//! curve, the same crossing the own-series date uses; a proxy the caps hold below its limit has
//! no date, and a warning says so. Revisions that never routed (the topology's `unrouted`:
//! routingState `pending` or unset) are active to the GC and never collected, so the share of
//! a service's updates they stand for ([`rates::leak_rate`]) grows without a cap.
//!
//! The interval pairs the ends of the growth interval (all rates scaled together) with the
//! ends of the crossing's range, caps moving with the rates, and lets each service reach the
//! peaks bursts of updates give it within a year at the early end ([`caps`], [`choose`]): a
//! proxy held short at the expected rates may still be reached, so its interval keeps an early
//! end and an open top. Conservative: the seeded study in `tests/fleet_mesh_truth.rs` finds it
//! holding the true day (or "never") 99.8% of the time.
//!
//! Complexity: O(topology + what the proxies see) to prepare ([`crate::mesh::marginal`]; the
//! part every namespace sees is listed once, and proxies that see the same services share one
//! weight list), then per weight list and window end one growth and three curves, and per
//! proxy a hash lookup and the curves' inversion. Linear in namespaces under `mesh` and
//! `namespace` scopes (2,000 namespaces in about a second); held by `tests/scale.rs`.

pub mod caps;
mod choose;
mod curve;
pub mod rates;

use std::cell::RefCell;
use std::collections::{BTreeMap, HashMap, HashSet};
use std::rc::Rc;

use serde::Serialize;

use super::growth::{arrivals, Growth};
use crate::error::Result;
use crate::mesh::marginal::marginals;
use crate::mesh::{Counts, GcPolicy, ProxyKind, ScopeMap, Topology};
use crate::series::PORTS;

use choose::Note;
pub use curve::{Curve, Piece};
pub use rates::ServiceRate;

/// Which growth dates a proxy when a topology is given.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum GrowthChoice {
    /// The mesh's, for every proxy that maps onto the topology; the rest their own series.
    #[default]
    Mesh,
    /// The sooner of the two dates (for growth the topology cannot foresee: new services).
    Sooner,
    /// Every proxy its own series (the topology only checked).
    Own,
}

/// What the mesh growth assumes.
#[derive(Debug, Clone, PartialEq)]
pub struct MeshSettings {
    /// The Sidecar scope of every namespace (a default and per-namespace overrides).
    pub scope: ScopeMap,
    /// Knative's `config-gc`.
    pub policy: GcPolicy,
    /// Which growth dates a proxy.
    pub growth: GrowthChoice,
}

/// The mesh's settings and its services' rates: `mesh` in `fleet --format json`.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct MeshReport {
    /// The topology file.
    pub topology: String,
    /// The scope every namespace's sidecars have, then `; NS=SCOPE` overrides.
    pub scope: String,
    /// The GC policy.
    pub gc: GcPolicy,
    /// Which growth dates a proxy.
    pub growth: GrowthChoice,
    /// Where the services' windows end (the latest reading of a mapped proxy), unix seconds;
    /// null when no proxy mapped.
    pub window_end: Option<f64>,
    /// Every Knative service, fastest first.
    pub services: Vec<ServiceRate>,
}

/// A Knative service of the topology.
#[derive(Debug, Clone)]
struct Service {
    id: String,
    count: u32,
    revisions: u32,
    active: u32,
    /// Of the active ones, those that never routed: they stay (routingState pending/unset).
    unrouted: u32,
    created: Vec<f64>,
}

impl Service {
    /// Times set aside: routed revisions besides the latest and pinned ones may be older than
    /// deleted ones ([`rates`]).
    fn set_aside(&self) -> usize {
        (self.active.saturating_sub(1)) as usize
    }

    /// Revisions GC holds it at when updated `rate` times a day.
    fn cap(&self, policy: &GcPolicy, rate: f64) -> f64 {
        caps::steady(policy, f64::from(self.active), rate)
    }

    /// The most revisions bursts at `rate` hold it at within the horizon.
    fn burst_cap(&self, policy: &GcPolicy, rate: f64, level: f64) -> f64 {
        caps::burst(policy, f64::from(self.active), rate, level)
    }
}

/// One proxy of the topology: a namespace's sidecars or a gateway.
#[derive(Debug, Clone)]
struct View {
    kind: ProxyKind,
    namespace: String,
    name: String,
    /// Its weight list in [`MeshGrowth::groups`].
    group: usize,
}

/// A service's rate at one window end.
#[derive(Debug, Clone, Copy)]
struct Estimate {
    growth: Growth,
    span_days: f64,
    /// Never-routed revisions a day ([`rates::leak_rate`]); 0 for a service without them.
    leak: f64,
    /// The most revisions bursts at the top of the rate interval hold it at.
    burst: f64,
}

/// The topology prepared for a fleet.
#[derive(Debug)]
pub struct MeshGrowth {
    settings: MeshSettings,
    label: String,
    services: Vec<Service>,
    views: Vec<View>,
    /// The distinct weight lists: (service, predictor units one more revision of it adds).
    groups: Vec<Vec<(usize, f64)>>,
    /// Sidecar (and infrastructure) namespace to its view.
    sidecars: HashMap<String, usize>,
    /// Namespace to its gateways' views.
    gateways_in: HashMap<String, Vec<usize>>,
    namespaces: HashSet<String>,
    level: f64,
    /// Service estimates per window end (bits of the unix time).
    estimates: RefCell<HashMap<u64, Rc<Vec<Option<Estimate>>>>>,
    /// A weight group's growth and curves per window end ([`choose`]).
    prepared: RefCell<HashMap<(usize, u64), Rc<choose::Prepared>>>,
    latest_end: RefCell<f64>,
    /// What the forecast found worth saying, with the proxies it concerns.
    notes: RefCell<BTreeMap<Note, Vec<String>>>,
}

impl MeshGrowth {
    /// Prepare `topology` (read from `label`) for a fleet counted in `predictor`, with
    /// intervals at `level`.
    pub fn new(topology: &Topology, label: &str, settings: MeshSettings, predictor: &str, level: f64) -> Result<Self> {
        settings.policy.validate()?;
        // What one more revision of each service adds to every proxy, by the scope's own rules
        // (`mesh::marginal`, checked against recounting the whole mesh per service).
        let m = marginals(topology, &settings.scope)?;
        let measure = |c: &Counts| if predictor == PORTS { c.clusters } else { c.revisions };
        let everywhere: Vec<(usize, f64)> = m.everywhere.iter().map(|(s, c)| (*s, measure(c))).collect();
        let mut views: Vec<View> = Vec::with_capacity(m.proxies.len());
        let mut groups: Vec<Vec<(usize, f64)>> = Vec::new();
        let mut group_of: HashMap<(bool, Vec<(usize, u64)>), usize> = HashMap::new();
        let mut gateways = topology.gateways.iter();
        for p in m.proxies {
            let namespace = match p.kind {
                ProxyKind::Sidecar | ProxyKind::Infrastructure => p.proxy.clone(),
                ProxyKind::Gateway => gateways.next().map_or_else(String::new, |g| g.namespace.clone()),
            };
            let own: Vec<(usize, u64)> = p
                .own
                .iter()
                .map(|(s, c)| (*s, measure(c)))
                .filter(|w| w.1 > 1e-9)
                .map(|(s, w)| (s, w.to_bits()))
                .collect();
            // Proxies that see the same services alike share one weight list (under `mesh`
            // scope, every sidecar), so their growth is computed once.
            let next = groups.len();
            let group = *group_of.entry((p.whole_mesh, own)).or_insert_with_key(|(whole, own)| {
                let mut w: Vec<(usize, f64)> = own.iter().map(|&(s, b)| (s, f64::from_bits(b))).collect();
                if *whole {
                    w.extend(everywhere.iter().copied().filter(|w| w.1 > 1e-9));
                    w.sort_by_key(|w| w.0);
                }
                groups.push(w);
                next
            });
            views.push(View { kind: p.kind, namespace, name: p.proxy, group });
        }
        let mut services = Vec::new();
        for ns in &topology.namespaces {
            for k in &ns.knative {
                services.push(Service {
                    id: format!("{}/{}", ns.name, k.name),
                    count: k.count,
                    revisions: k.revisions,
                    // Never-routed revisions are active to the GC: never collected
                    // (knative/serving pkg/reconciler/gc/gc.go isRevisionActive).
                    active: k.routed.max(1).saturating_add(k.pinned).saturating_add(k.unrouted),
                    unrouted: k.unrouted,
                    created: k.created_unix(),
                });
            }
        }
        let mut sidecars = HashMap::new();
        let mut gateways_in: HashMap<String, Vec<usize>> = HashMap::new();
        for (i, v) in views.iter().enumerate() {
            if v.kind == ProxyKind::Gateway {
                gateways_in.entry(v.namespace.clone()).or_default().push(i);
            } else {
                sidecars.entry(v.name.clone()).or_insert(i);
            }
        }
        Ok(MeshGrowth {
            settings,
            label: label.to_string(),
            services,
            views,
            groups,
            sidecars,
            gateways_in,
            namespaces: topology.namespaces.iter().map(|n| n.name.clone()).collect(),
            level,
            estimates: RefCell::new(HashMap::new()),
            prepared: RefCell::new(HashMap::new()),
            latest_end: RefCell::new(f64::NEG_INFINITY),
            notes: RefCell::new(BTreeMap::new()),
        })
    }

    /// The weights of a view: (service, predictor units one more revision of it adds), in
    /// service order.
    fn weights(&self, view: &View) -> &[(usize, f64)] {
        &self.groups[view.group]
    }

    /// The topology's proxy `proxy` (`namespace/pod`) maps to, or why none. O(gateways in the
    /// proxy's namespace).
    fn view_of(&self, proxy: &str) -> std::result::Result<&View, String> {
        let Some((ns, pod)) = proxy.split_once('/') else {
            return Err("no namespace in the proxy's name (import with --by namespace,pod)".into());
        };
        let gateway = self
            .gateways_in
            .get(ns)
            .into_iter()
            .flatten()
            .map(|&i| &self.views[i])
            .find(|v| pod == v.name || pod.strip_prefix(v.name.as_str()).is_some_and(|r| r.starts_with('-')));
        // Mesh infrastructure maps by namespace like sidecars and is dated, like a gateway, from
        // every service of the mesh (`visibility` gives it the whole mesh under any scope).
        let sidecars = || self.sidecars.get(ns).map(|&i| &self.views[i]);
        if let Some(v) = gateway.or_else(sidecars) {
            return Ok(v);
        }
        Err(match self.namespaces.contains(ns) {
            true => format!("namespace {ns} has no sidecars in the topology"),
            false => format!("namespace {ns} is not in the topology"),
        })
    }

    /// Every service's estimate with its window ending at `end` (cached per end, shared).
    fn estimates_at(&self, end: f64) -> Rc<Vec<Option<Estimate>>> {
        let mut cache = self.estimates.borrow_mut();
        cache
            .entry(end.to_bits())
            .or_insert_with(|| {
                self.services
                    .iter()
                    .map(|s| {
                        let w = rates::window(&s.created, s.set_aside(), end)?;
                        let growth = arrivals(&[(w.arrivals, 1.0, w.span_days)], self.level)?;
                        let leak = rates::leak_rate(&s.created, s.unrouted, end).min(growth.per_day);
                        let burst = s.burst_cap(&self.settings.policy, growth.interval[1], self.level);
                        Some(Estimate { growth, span_days: w.span_days, leak, burst })
                    })
                    .collect::<Vec<_>>()
                    .into()
            })
            .clone()
    }

    /// The settings and every service's rate at the latest window end.
    pub(crate) fn report(&self) -> MeshReport {
        let end = *self.latest_end.borrow();
        let estimates = if end.is_finite() { self.estimates_at(end) } else { Rc::new(vec![None; self.services.len()]) };
        let policy = &self.settings.policy;
        let mut services: Vec<ServiceRate> = self
            .services
            .iter()
            .zip(estimates.iter())
            .map(|(s, e)| ServiceRate {
                service: s.id.clone(),
                count: s.count,
                revisions: s.revisions,
                active: s.active,
                unrouted: s.unrouted,
                updates_per_day: e.map(|e| e.growth.per_day),
                updates_interval: e.map(|e| e.growth.interval),
                window_days: e.map(|e| e.span_days),
                unrouted_per_day: e.map(|e| e.leak).filter(|_| s.unrouted > 0),
                // Never-routed revisions leave no cap.
                cap_revisions: e
                    .filter(|e| e.leak <= 0.0)
                    .map(|e| s.cap(policy, e.growth.per_day))
                    .filter(|c| c.is_finite()),
            })
            .collect();
        services.sort_by(|a, b| {
            let r = |s: &ServiceRate| s.updates_per_day.unwrap_or(-1.0);
            r(b).total_cmp(&r(a)).then_with(|| a.service.cmp(&b.service))
        });
        MeshReport {
            topology: self.label.clone(),
            scope: self.settings.scope.to_string(),
            gc: *policy,
            growth: self.settings.growth,
            window_end: end.is_finite().then_some(end),
            services,
        }
    }
}

#[cfg(test)]
mod tests;
