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

pub mod caps;
mod choose;
mod curve;
pub mod rates;

use std::cell::RefCell;
use std::collections::{BTreeMap, HashMap};

use serde::Serialize;

use super::growth::{arrivals, Growth};
use crate::error::Result;
use crate::mesh::{visibility, GcPolicy, ProxyKind, ScopeMap, Topology, Visible};
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
    /// (service, predictor units one more revision of it adds here).
    weights: Vec<(usize, f64)>,
}

/// A service's rate at one window end.
#[derive(Debug, Clone, Copy)]
struct Estimate {
    growth: Growth,
    span_days: f64,
    /// Never-routed revisions a day ([`rates::leak_rate`]); 0 for a service without them.
    leak: f64,
}

/// The topology prepared for a fleet.
#[derive(Debug)]
pub struct MeshGrowth {
    settings: MeshSettings,
    label: String,
    services: Vec<Service>,
    views: Vec<View>,
    namespaces: Vec<(String, bool)>,
    level: f64,
    /// Service estimates per window end (bits of the unix time).
    estimates: RefCell<HashMap<u64, Vec<Option<Estimate>>>>,
    latest_end: RefCell<f64>,
    /// What the forecast found worth saying, with the proxies it concerns.
    notes: RefCell<BTreeMap<Note, Vec<String>>>,
}

fn measure(v: &Visible, predictor: &str) -> f64 {
    if predictor == PORTS {
        v.ports()
    } else {
        v.counts.revisions
    }
}

impl MeshGrowth {
    /// Prepare `topology` (read from `label`) for a fleet counted in `predictor`, with
    /// intervals at `level`.
    pub fn new(topology: &Topology, label: &str, settings: MeshSettings, predictor: &str, level: f64) -> Result<Self> {
        settings.policy.validate()?;
        let base = visibility(topology, &settings.scope)?;
        let mut views: Vec<View> = Vec::with_capacity(base.len());
        let mut gateways = topology.gateways.iter();
        for v in &base {
            let namespace = match v.kind {
                ProxyKind::Sidecar | ProxyKind::Infrastructure => v.proxy.clone(),
                ProxyKind::Gateway => gateways.next().map_or_else(String::new, |g| g.namespace.clone()),
            };
            views.push(View { kind: v.kind, namespace, name: v.proxy.clone(), weights: Vec::new() });
        }
        let mut services = Vec::new();
        // One copy, each service's revisions raised by one in turn and put back.
        let mut more = topology.clone();
        for (i, ns) in topology.namespaces.iter().enumerate() {
            for (j, k) in ns.knative.iter().enumerate() {
                let s = services.len();
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
                // What one more revision of it adds to every proxy, by the scope's own rules.
                more.namespaces[i].knative[j].revisions = k.revisions.saturating_add(1);
                let after = visibility(&more, &settings.scope);
                more.namespaces[i].knative[j].revisions = k.revisions;
                for (view, (after, before)) in views.iter_mut().zip(after?.iter().zip(&base)) {
                    let w = measure(after, predictor) - measure(before, predictor);
                    if w > 1e-9 {
                        view.weights.push((s, w));
                    }
                }
            }
        }
        Ok(MeshGrowth {
            settings,
            label: label.to_string(),
            services,
            views,
            namespaces: topology.namespaces.iter().map(|n| (n.name.clone(), n.sidecars)).collect(),
            level,
            estimates: RefCell::new(HashMap::new()),
            latest_end: RefCell::new(f64::NEG_INFINITY),
            notes: RefCell::new(BTreeMap::new()),
        })
    }

    /// The topology's proxy `proxy` (`namespace/pod`) maps to, or why none.
    fn view_of(&self, proxy: &str) -> std::result::Result<&View, String> {
        let Some((ns, pod)) = proxy.split_once('/') else {
            return Err("no namespace in the proxy's name (import with --by namespace,pod)".into());
        };
        let gateway = self.views.iter().find(|v| {
            v.kind == ProxyKind::Gateway
                && v.namespace == ns
                && (pod == v.name || pod.strip_prefix(v.name.as_str()).is_some_and(|r| r.starts_with('-')))
        });
        // Mesh infrastructure maps by namespace like sidecars and is dated, like a gateway, from
        // every service of the mesh (`visibility` gives it the whole mesh under any scope).
        let sidecars = || self.views.iter().find(|v| v.kind != ProxyKind::Gateway && v.name == ns);
        if let Some(v) = gateway.or_else(sidecars) {
            return Ok(v);
        }
        Err(match self.namespaces.iter().find(|(n, _)| n == ns) {
            Some(_) => format!("namespace {ns} has no sidecars in the topology"),
            None => format!("namespace {ns} is not in the topology"),
        })
    }

    /// Every service's estimate with its window ending at `end` (cached per end).
    fn estimates_at(&self, end: f64) -> Vec<Option<Estimate>> {
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
                        Some(Estimate { growth, span_days: w.span_days, leak })
                    })
                    .collect()
            })
            .clone()
    }

    /// The settings and every service's rate at the latest window end.
    pub(crate) fn report(&self) -> MeshReport {
        let end = *self.latest_end.borrow();
        let estimates = if end.is_finite() { self.estimates_at(end) } else { vec![None; self.services.len()] };
        let policy = &self.settings.policy;
        let mut services: Vec<ServiceRate> = self
            .services
            .iter()
            .zip(&estimates)
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
