//! Each proxy's numbers on one side of the plan: clusters now and at the horizon, peak memory
//! (mean and one-sided upper bound, push allowance included) at the horizon, days until the
//! upper bound reaches its limit less headroom.
//!
//! Memory comes from the model along [`Bounds::peak_at`] with the proxy's ports held (the push
//! allowance scales the configuration's terms) and the proxy's own offset where the model is a
//! `group=proxy` fit. Growth is the mesh's point curve ([`MeshGrowth::point_curve`]: the
//! services the proxy sees at their estimated rates, each held at its GC cap), or, for a
//! proxy the topology cannot date, its own series' rate, uncapped. A scope change moves a
//! sidecar's clusters now by what the topology counts it losing.

use std::collections::BTreeMap;

use serde::Serialize;

use crate::error::Result;
use crate::fleet::mesh::{Curve, MeshGrowth, Piece};
use crate::fleet::{proxies, DateSource, Fleet};
use crate::mesh::{ProxyKind, Topology, Visible};
use crate::model::{ErrorKind, FittedModel};
use crate::project::{first_crossing, Bounds, Caution, Crossing, RevisionPath};
use crate::quantity::{ceil_mib, MIB};
use crate::series::{Series, PORTS};

/// A proxy's numbers on one side.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct Side {
    /// Ports (Envoy clusters) now.
    pub clusters: f64,
    /// Ports at the horizon.
    pub clusters_at_horizon: f64,
    /// Its memory limit, bytes (null: none known).
    pub limit_bytes: Option<f64>,
    /// Mean peak memory at the horizon, bytes.
    pub predicted_bytes: f64,
    /// One-sided upper bound of peak memory at the horizon, bytes.
    pub upper_bytes: f64,
    /// Days until the upper bound reaches limit x (1 - headroom); 0 when it has, null when
    /// it does not at the expected growth or no limit is known.
    pub days_to_limit: Option<f64>,
}

/// One proxy's growth and readings.
#[derive(Debug, Clone)]
pub struct Growth {
    proxy: String,
    namespace: Option<String>,
    kind: String,
    source: DateSource,
    ports: f64,
    limit_bytes: Option<f64>,
    curve: Curve,
    annotatable: bool,
    /// A namespace's stand-in (its topology counts, no fleet proxy of its own).
    representative: bool,
}

/// Every proxy's growth under one scope and GC policy, with each sidecar namespace's stand-in.
pub struct Growths(Vec<Growth>);

/// The kind of proxy `name` (`namespace/pod`) is in `topology`.
fn kind_of(topology: &Topology, name: &str) -> &'static str {
    let Some((ns, pod)) = name.split_once('/') else { return "unmapped" };
    let gateway = topology.gateways.iter().any(|g| {
        g.namespace == ns && (pod == g.name || pod.strip_prefix(g.name.as_str()).is_some_and(|r| r.starts_with('-')))
    });
    match topology.namespace(ns) {
        _ if gateway => "gateway",
        Some(n) if n.sidecars && n.infrastructure() => "infrastructure",
        Some(n) if n.sidecars => "sidecar",
        _ => "unmapped",
    }
}

/// Whether a sidecar proxy runs a Knative service's pod, which the template's annotations
/// reach: its namespace has Knative services and the pod belongs to a revision's Deployment,
/// named `<revision>-deployment` (knative/serving `pkg/reconciler/revision/resources/names/names.go`,
/// `Deployment`, at knative-v1.11.0).
fn annotatable(topology: &Topology, name: &str) -> bool {
    let Some((ns, pod)) = name.split_once('/') else { return false };
    topology.namespace(ns).is_some_and(|n| !n.knative.is_empty()) && pod.contains("-deployment")
}

impl Growths {
    /// The growths of the fleet's proxies (dated by `fleet` under the current settings) on
    /// `mesh`, and a stand-in for each sidecar namespace of `mesh`'s topology.
    pub fn new(fleet: &Fleet, mesh: &MeshGrowth, series: &Series, topology: &Topology) -> Result<Growths> {
        let mut out = Vec::new();
        let mut end = f64::NEG_INFINITY;
        let forecasts: std::collections::HashMap<&str, &crate::fleet::ProxyForecast> =
            fleet.proxies.iter().map(|f| (f.proxy.as_str(), f)).collect();
        for p in proxies::split(series)? {
            let Some(now) = proxies::now(series, &p, PORTS, None)? else { continue };
            end = end.max(now.time);
            let Some(f) = forecasts.get(p.name.as_str()) else { continue };
            let (curve, source) = match mesh.point_curve(&p.name, now.time) {
                Some(c) => (c, DateSource::Mesh),
                None => {
                    let rate = f.growth_ports_per_day.unwrap_or(0.0).max(0.0);
                    (Curve::new([Piece { weight: 1.0, rate, headroom: f64::INFINITY }]), DateSource::OwnSeries)
                }
            };
            let kind = kind_of(topology, &p.name);
            out.push(Growth {
                namespace: f.namespace.clone(),
                kind: kind.to_string(),
                source,
                ports: now.predictor,
                limit_bytes: now.limit_bytes,
                curve,
                annotatable: kind == "sidecar" && annotatable(topology, &p.name),
                representative: false,
                proxy: p.name,
            });
        }
        let end = if end.is_finite() { end } else { 0.0 };
        for ns in topology.namespaces.iter().filter(|n| n.sidecars) {
            let name = format!("{}/*", ns.name);
            let curve = mesh.point_curve(&format!("{}/-", ns.name), end).unwrap_or_default();
            // The namespace's tightest limit among its proxies.
            let limit = out
                .iter()
                .filter(|g| g.namespace.as_deref() == Some(&ns.name))
                .filter_map(|g| g.limit_bytes)
                .reduce(f64::min);
            out.push(Growth {
                kind: kind_of(topology, &name).to_string(),
                namespace: Some(ns.name.clone()),
                source: DateSource::Mesh,
                ports: f64::NAN,
                limit_bytes: limit,
                curve,
                annotatable: !ns.infrastructure() && !ns.knative.is_empty(),
                representative: true,
                proxy: name,
            });
        }
        Ok(Growths(out))
    }
}

/// A proxy's side with what the plan needs about it.
#[derive(Debug, Clone)]
pub struct ProxySides {
    /// `namespace/pod`, or `namespace/*` for a namespace's stand-in.
    pub proxy: String,
    /// Its namespace.
    pub namespace: Option<String>,
    /// Sidecar, gateway, infrastructure or unmapped.
    pub kind: String,
    /// `mesh` or `own-series`.
    pub growth: String,
    /// Its namespace's memory annotations reach it.
    pub annotatable: bool,
    /// A namespace's stand-in, not a proxy of the fleet.
    pub representative: bool,
    /// Clusters the scope takes away now.
    pub scoped_away: f64,
    /// The numbers.
    pub side: Side,
}

impl ProxySides {
    /// Whether the upper bound at the horizon stays within limit x (1 - headroom); a proxy
    /// without a known limit cannot be checked and passes.
    pub fn safe(&self, headroom: f64) -> bool {
        self.side.limit_bytes.is_none_or(|l| self.side.upper_bytes <= l * (1.0 - headroom))
    }

    /// The message of a plan refused over this proxy.
    pub fn unsafe_message(&self, settings: &super::PlanSettings) -> String {
        let limit = self.side.limit_bytes.unwrap_or(f64::NAN);
        let what = match self.kind.as_str() {
            "gateway" => "a gateway, which no Sidecar scopes and no annotation of a Knative service reaches",
            "infrastructure" => "mesh infrastructure, never narrowed",
            _ if self.annotatable => "a Knative service's proxy",
            _ => "not a Knative service's pod, so no annotation reaches it",
        };
        format!(
            "no change the plan may make keeps proxy {} safe for {} days: its {:.0}% upper bound reaches {} against {} x (1 - {:.0}% headroom) at the horizon even under the tightest config-gc tried; it is {what}: raise its limit or cut what it sees",
            self.proxy,
            settings.horizon_days,
            settings.level * 100.0,
            crate::quantity::format_bytes(self.side.upper_bytes),
            crate::quantity::format_bytes(limit),
            settings.headroom * 100.0
        )
    }

    /// What changed for this proxy between `before` and this side.
    pub fn levers(&self, before: &ProxySides, gc_changed: bool) -> Vec<String> {
        let mut out = Vec::new();
        if self.scoped_away > 0.0 {
            out.push("scope".to_string());
        }
        if self.side.limit_bytes != before.side.limit_bytes {
            out.push("annotations".to_string());
        }
        if gc_changed && self.side.clusters_at_horizon < before.side.clusters_at_horizon - 1e-9 {
            out.push("gc".to_string());
        }
        if out.is_empty() {
            out.push("none".to_string());
        }
        out
    }
}

/// The annotation values of one namespace.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Size {
    /// `proxyMemory`, Mi.
    pub request_mib: u64,
    /// `proxyMemoryLimit`, Mi.
    pub limit_mib: u64,
}

/// The annotations of every namespace that gets them.
#[derive(Debug, Clone, Default)]
pub struct Sizing(BTreeMap<String, Size>);

impl Sizing {
    /// The annotations of namespace `ns`.
    pub fn of(&self, ns: &str) -> Option<&Size> {
        self.0.get(ns)
    }
}

/// What every side is computed with.
pub struct Context<'a> {
    pub model: &'a FittedModel,
    pub caution: Caution,
    pub horizon: f64,
    pub topology: &'a Topology,
}

/// Clusters the sidecars of namespace `ns` hold in `seen`.
fn clusters(seen: &[Visible], ns: &str) -> Option<f64> {
    seen.iter().find(|v| v.kind != ProxyKind::Gateway && v.proxy == ns).map(Visible::ports)
}

impl Context<'_> {
    /// Peak memory bounds at `ports` for `proxy`.
    fn bounds(&self, proxy: &str, ports: f64) -> Result<Bounds<'_>> {
        let mut path = RevisionPath::new(self.model);
        path.hold(PORTS, ports);
        let b = Bounds::new(self.model, path, self.caution);
        let grouped = self.model.errors.kind == ErrorKind::Group && self.model.errors.group(proxy).is_some();
        if grouped {
            b.for_proxy(proxy)
        } else {
            Ok(b)
        }
    }

    /// One proxy's side at `ports` now on `curve` against `limit`.
    fn side(&self, proxy: &str, ports: f64, curve: &Curve, limit: Option<f64>) -> Result<Side> {
        let at = ports + curve.at(self.horizon);
        let b = self.bounds(proxy, at)?;
        let (predicted, upper) = (b.mean(0.0), b.upper(0.0));
        let mut days = None;
        if let Some(l) = limit {
            let target = l * (1.0 - self.caution.headroom);
            let upper_at = |g: f64| self.bounds(proxy, ports + g).map_or(f64::INFINITY, |b| b.upper(0.0));
            days = match first_crossing(upper_at, target) {
                Crossing::AtZero => Some(0.0),
                Crossing::Never => None,
                Crossing::At(g) => curve.time_to(g),
            };
        }
        Ok(Side {
            clusters: ports,
            clusters_at_horizon: at,
            limit_bytes: limit,
            predicted_bytes: predicted,
            upper_bytes: upper,
            days_to_limit: days,
        })
    }

    /// Ports now on the side where the scope is `after_seen` (the proxy's readings were taken
    /// under `before_seen`), with what the scope took away.
    fn ports_now(&self, g: &Growth, before_seen: &[Visible], after_seen: &[Visible]) -> (f64, f64) {
        let ns = g.namespace.as_deref().unwrap_or("");
        let (b, a) = (clusters(before_seen, ns), clusters(after_seen, ns));
        if g.representative {
            return (a.unwrap_or(0.0), (b.unwrap_or(0.0) - a.unwrap_or(0.0)).max(0.0));
        }
        if g.kind != "sidecar" {
            return (g.ports, 0.0);
        }
        let away = (b.unwrap_or(0.0) - a.unwrap_or(0.0)).max(0.0);
        // Never below what the topology counts the narrowed sidecars holding (a fleet measured
        // on another topology than the one given would otherwise fall to nothing).
        let kept = a.unwrap_or(0.0).min(g.ports);
        ((g.ports - away).max(kept), g.ports - (g.ports - away).max(kept))
    }

    /// The memory annotations of every namespace whose Knative services' proxies `growths`
    /// (after the plan) hold: the largest mean and upper bound at the horizon among them and
    /// the namespace's stand-in (its topology counts on the pooled line: the patch starts new
    /// pods), the limit over `1 - headroom`. The patch starts new pods (a new revision), so memory held
    /// since the last restart (a high-water mark under tcmalloc) does not carry over.
    pub fn annotations(&self, growths: &Growths, before_seen: &[Visible], after_seen: &[Visible]) -> Result<Sizing> {
        let mut need: BTreeMap<String, (f64, f64)> = BTreeMap::new();
        for g in growths.0.iter().filter(|g| g.annotatable) {
            let (ports, _) = self.ports_now(g, before_seen, after_seen);
            let side = self.side(&g.proxy, ports, &g.curve, None)?;
            let e = need.entry(g.namespace.clone().unwrap_or_default()).or_insert((0.0, 0.0));
            e.0 = e.0.max(side.predicted_bytes);
            e.1 = e.1.max(side.upper_bytes);
        }
        let keep = 1.0 - self.caution.headroom;
        Ok(Sizing(
            need.into_iter()
                .map(|(ns, (mean, upper))| {
                    let limit_mib = ceil_mib(upper / keep);
                    (ns, Size { request_mib: ceil_mib(mean).min(limit_mib), limit_mib })
                })
                .collect(),
        ))
    }

    /// Every proxy's side (stand-ins last); `sizing` gives annotated proxies their new limit.
    pub fn sides(
        &self,
        growths: &Growths,
        before_seen: &[Visible],
        after_seen: &[Visible],
        sizing: Option<&Sizing>,
    ) -> Result<Vec<ProxySides>> {
        let mut out = Vec::with_capacity(growths.0.len());
        for g in &growths.0 {
            let (ports, away) = self.ports_now(g, before_seen, after_seen);
            let ns = g.namespace.as_deref().unwrap_or("");
            let limit = match sizing.and_then(|s| s.of(ns)).filter(|_| g.annotatable) {
                Some(s) => Some(s.limit_mib as f64 * MIB),
                None => g.limit_bytes,
            };
            out.push(ProxySides {
                proxy: g.proxy.clone(),
                namespace: g.namespace.clone(),
                kind: g.kind.clone(),
                growth: g.source.label().to_string(),
                annotatable: g.annotatable,
                representative: g.representative,
                scoped_away: away,
                side: self.side(&g.proxy, ports, &g.curve, limit)?,
            });
        }
        Ok(out)
    }
}

/// A namespace's numbers from its worst proxy (the highest upper bound against its limit); its
/// stand-in when the fleet has none there.
pub fn worst<'a>(sides: impl Iterator<Item = &'a ProxySides>) -> super::Numbers {
    let all: Vec<&ProxySides> = sides.collect();
    let fleet: Vec<&&ProxySides> = all.iter().filter(|s| !s.representative).collect();
    let pool: Vec<&ProxySides> = if fleet.is_empty() { all.clone() } else { fleet.into_iter().copied().collect() };
    let ratio = |s: &ProxySides| s.side.upper_bytes / s.side.limit_bytes.unwrap_or(f64::INFINITY);
    let w = pool
        .iter()
        .copied()
        .max_by(|a, b| ratio(a).total_cmp(&ratio(b)).then_with(|| a.side.upper_bytes.total_cmp(&b.side.upper_bytes)));
    match w {
        Some(s) => super::Numbers {
            visible_clusters: s.side.clusters,
            predicted_bytes: s.side.predicted_bytes,
            upper_bytes: s.side.upper_bytes,
            days_to_limit: s.side.days_to_limit,
            limit_bytes: s.side.limit_bytes,
        },
        None => super::Numbers {
            visible_clusters: 0.0,
            predicted_bytes: 0.0,
            upper_bytes: 0.0,
            days_to_limit: None,
            limit_bytes: None,
        },
    }
}
