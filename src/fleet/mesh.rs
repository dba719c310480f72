//! Growth from the mesh: a proxy's date from the Knative services it sees, their observed
//! update rates, and the GC policy that caps them (`meshcap fleet --topology`).
//!
//! A proxy's own series only knows how fast it grew; it cannot know that Knative's GC will stop
//! each service at its cap (at most `max-non-active-revisions` + the active ones, fewer where
//! the retention times and `min-non-active-revisions` decide: [`GcPolicy::steady_non_active`],
//! the rule of knative/serving `pkg/reconciler/gc/gc.go` (`collect`, `isRevisionActive`,
//! `isRevisionStale`) with the defaults of `pkg/gc/config.go`, both checked at 98e5ef9).
//! The topology knows both. Each proxy is mapped to what it sees: `namespace/pod` to its
//! namespace's sidecars under the scope, or a gateway whose pods are `<gateway>-...` in the
//! gateway's namespace ([`crate::mesh::visibility`]). What one more revision of a service adds
//! to each proxy (ports by the Knative release, or revisions) is read from `visibility` itself,
//! once per service, so every rule of the scope applies. Each service's rate comes from its
//! revisions' creation times ([`rates`]); the proxy's growth is their weighted Poisson sum
//! ([`growth::arrivals`](super::growth::arrivals)) and bends where each service reaches its cap
//! ([`curve`]). The date is where the pooled model's upper bound meets the limit on that bent
//! curve, the same crossing the own-series date uses; a proxy the caps hold below its limit has
//! no date, and a warning says so.
//!
//! The interval pairs the ends of the growth interval (all rates scaled together) with the
//! ends of the crossing's range, caps moving with the rates: conservative, since both ends are
//! taken at once, and future arrivals' own scatter is left to the rate's width.

mod curve;
pub mod rates;

use std::cell::RefCell;
use std::collections::{BTreeMap, HashMap};

use serde::Serialize;

use super::forecast::{Dates, ProxyModel};
use super::growth::{arrivals, Growth};
use super::proxies::Now;
use super::DateSource;
use crate::error::Result;
use crate::mesh::{visibility, GcPolicy, ProxyKind, Scope, Topology, Visible};
use crate::series::PORTS;

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
    /// The Sidecar scope of every namespace.
    pub scope: Scope,
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
    /// The scope every namespace's sidecars have.
    pub scope: String,
    /// The GC policy.
    pub gc: GcPolicy,
    /// Which growth dates a proxy.
    pub growth: GrowthChoice,
    /// Where the services' windows end (the latest proxy reading), unix seconds.
    pub window_end: f64,
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
        f64::from(self.active) + policy.steady_non_active(rate)
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

/// What the forecast says about some proxies, one warning line each.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
enum Note {
    /// GC holds the proxy below the ports where its upper bound meets the limit.
    Held,
    /// The proxy's own growth interval and the mesh's do not overlap.
    Disagrees,
    /// The proxy is dated from its own series, for this reason.
    Fallback(String),
}

/// A service's rate at one window end.
#[derive(Debug, Clone, Copy)]
struct Estimate {
    growth: Growth,
    span_days: f64,
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
                ProxyKind::Sidecar => v.proxy.clone(),
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
                    active: k.routed.max(1).saturating_add(k.pinned),
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
        if let Some(v) = gateway.or_else(|| self.views.iter().find(|v| v.kind == ProxyKind::Sidecar && v.name == ns)) {
            return Ok(v);
        }
        Err(match self.namespaces.iter().find(|(n, _)| n == ns) {
            Some(_) => format!("namespace {ns} has no sidecars in the topology"),
            None => format!("namespace {ns} is not in the topology"),
        })
    }

    fn fall_back(&self, reason: String, proxy: &str) {
        self.note(Note::Fallback(reason), proxy.to_string());
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
                        Some(Estimate { growth, span_days: w.span_days })
                    })
                    .collect()
            })
            .clone()
    }

    /// The growth and dates of one proxy: its own (`own`, from its series) or the mesh's, as
    /// the settings choose; what is worth saying is gathered for [`MeshGrowth::take_warnings`].
    pub(crate) fn choose(
        &self,
        proxy: &str,
        now: &Now,
        pm: &ProxyModel<'_>,
        own: (Option<Growth>, Option<Dates>),
        level: f64,
    ) -> (Option<Growth>, Option<Dates>, DateSource) {
        let keep = (own.0, own.1, DateSource::OwnSeries);
        if self.settings.growth == GrowthChoice::Own {
            return keep;
        }
        let view = match self.view_of(proxy) {
            Ok(v) => v,
            Err(reason) => {
                self.fall_back(reason, proxy);
                return keep;
            }
        };
        {
            let mut latest = self.latest_end.borrow_mut();
            *latest = latest.max(now.time);
        }
        let estimates = self.estimates_at(now.time);
        let mut seen = Vec::with_capacity(view.weights.len());
        for &(s, weight) in &view.weights {
            match estimates[s] {
                Some(e) => seen.push((s, weight, e)),
                None => {
                    let reason = format!(
                        "knative service {} has no creation times over a span in the topology (import kubectl writes them)",
                        self.services[s].id
                    );
                    self.fall_back(reason, proxy);
                    return keep;
                }
            }
        }
        let policy = &self.settings.policy;
        // Services that may still grow: below their cap at the top of their own rate interval.
        seen.retain(|(s, _, e)| {
            f64::from(self.services[*s].revisions) < self.services[*s].cap(policy, e.growth.interval[1])
        });
        let processes: Vec<(f64, f64, f64)> =
            seen.iter().map(|(_, w, e)| (e.growth.arrivals, *w, e.span_days)).collect();
        let growth = arrivals(&processes, level).unwrap_or(Growth {
            per_day: 0.0,
            interval: [0.0, 0.0],
            span_days: 1.0,
            arrivals: 0.0,
            unit: 0.0,
        });
        // Every rate scaled together to an end of the proxy's growth interval; caps move along.
        let curve_at = |k: f64| {
            Curve::new(seen.iter().map(|&(s, weight, e)| {
                let svc = &self.services[s];
                let rate = k * e.growth.per_day;
                Piece { weight, rate, headroom: (svc.cap(policy, rate) - f64::from(svc.revisions)).max(0.0) }
            }))
        };
        let scale = |bound: f64| if growth.per_day > 0.0 { bound / growth.per_day } else { 0.0 };
        let curves = [curve_at(1.0), curve_at(scale(growth.interval[1])), curve_at(scale(growth.interval[0]))];
        let (mut held, mut mesh_dates) = (None, None);
        if let Some(limit) = now.limit_bytes {
            match dates(pm, now.predictor, limit, &curves, level) {
                Ok(d) => mesh_dates = Some(d),
                Err(Some(upper)) => {
                    let at = now.predictor + curves[0].plateau();
                    let mut h = format!("{proxy} at {at:.0} of {upper:.0} {}", pm.predictor);
                    if let Some(d) = curves[1].time_to(upper - now.predictor) {
                        h.push_str(&format!(" ({d:.1} days at the top of its growth interval)"));
                    }
                    held = Some(h);
                }
                Err(None) => {}
            }
        }
        if self.settings.growth == GrowthChoice::Sooner {
            let days = |d: &Option<Dates>| d.map_or(f64::INFINITY, |d| d.days);
            if days(&own.1) < days(&mesh_dates) {
                return keep;
            }
        } else if let Some(g) = own.0 {
            let [lo, hi] = growth.interval;
            if g.interval[0] > hi || g.interval[1] < lo {
                self.note(
                    Note::Disagrees,
                    format!(
                        "{proxy} {:.2} [{:.2}, {:.2}] against [{lo:.2}, {hi:.2}]",
                        g.per_day, g.interval[0], g.interval[1]
                    ),
                );
            }
        }
        if let Some(h) = held {
            self.note(Note::Held, h);
        }
        (Some(growth), mesh_dates, DateSource::Mesh)
    }

    fn note(&self, note: Note, detail: String) {
        self.notes.borrow_mut().entry(note).or_default().push(detail);
    }

    /// The notes gathered while forecasting, one line each, naming the first proxies.
    pub(crate) fn take_warnings(&self) -> Vec<String> {
        std::mem::take(&mut *self.notes.borrow_mut())
            .into_iter()
            .map(|(note, details)| {
                let n = details.len();
                let proxies = if n == 1 { "1 proxy".to_string() } else { format!("{n} proxies") };
                let shown = details.iter().take(3).cloned().collect::<Vec<_>>().join("; ");
                let list = if n > 3 { format!("{shown}; and {} more", n - 3) } else { shown };
                match note {
                    Note::Held => format!(
                        "GC ({}) holds {proxies} short of where the upper bound meets the limit, so no date: {list}",
                        self.settings.policy
                    ),
                    Note::Disagrees => {
                        let grow = if n == 1 { "grows on its" } else { "grow on their" };
                        format!(
                            "{proxies} {grow} own series at a rate outside the mesh's interval now (a service started or stopped updating, services come and go, or the topology is not current; --growth sooner takes the earlier date): {list} per day"
                        )
                    }
                    Note::Fallback(reason) => {
                        let whose = if n == 1 { "its" } else { "their" };
                        format!("{reason}: {proxies} dated from {whose} own series ({list})")
                    }
                }
            })
            .collect()
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
                updates_per_day: e.map(|e| e.growth.per_day),
                updates_interval: e.map(|e| e.growth.interval),
                window_days: e.map(|e| e.span_days),
                cap_revisions: e.map(|e| s.cap(policy, e.growth.per_day)).filter(|c| c.is_finite()),
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
            window_end: if end.is_finite() { end } else { 0.0 },
            services,
        }
    }
}

/// A proxy's dates on the bent curves `[point, fast, slow]` from predictor value `now`; `Err`
/// with the predictor value where the upper bound meets the limit when the point curve's caps
/// hold it below, `Err(None)` when memory never meets the limit.
fn dates(
    pm: &ProxyModel<'_>,
    now: f64,
    limit: f64,
    curves: &[Curve; 3],
    level: f64,
) -> std::result::Result<Dates, Option<f64>> {
    let a = 1.0 - level;
    let upper = pm.crossing(now, limit, pm.model.t_one_sided(level), true).ok_or(None)?;
    let days = curves[0].time_to(upper - now).ok_or(Some(upper))?;
    // The true crossing lies between the mean line's band ends; pair each with a rate end.
    let z = pm.model.t_one_sided(1.0 - a / 2.0);
    let early = pm.crossing(now, limit, z, false).map_or(days, |x| curves[1].time_to(x - now).unwrap_or(days));
    let late = pm.crossing(now, limit, -z, false).and_then(|x| curves[2].time_to(x - now));
    Ok(Dates { days, interval: [Some(early.min(days)), late.map(|l| l.max(days))] })
}

#[cfg(test)]
mod tests;
