//! The plan: from "who OOMs next" to the changes that keep every proxy safe for a horizon, and
//! the proof (`meshcap plan`, issue 20 §2).
//!
//! Three levers, each where it is the right one:
//! - **Scope** ([`choose`]): each sidecar namespace with observed traffic gets a Sidecar whose
//!   egress hosts are every destination it was seen calling, plus `istio-system/*` (Istio's
//!   control plane and Knative's `knative-local-gateway`, the target of each Knative service's
//!   cluster-local placeholder); never less than observed. Mesh infrastructure and gateway
//!   namespaces are never narrowed (they say why); namespaces without traffic data keep their
//!   scope and are listed as unplanned.
//! - **Memory annotations**: `sidecar.istio.io/proxyMemory` and `proxyMemoryLimit` on every
//!   Knative service template of a namespace, from the after-plan forecast at the horizon with
//!   the push allowance: the mean and the upper bound over `1 - headroom`, rounded up to Mi.
//! - **GC** ([`choose::gc_ladder`]): where a proxy no annotation reaches (a gateway, mesh
//!   infrastructure, a workload that is not a Knative service) would cross its limit, Knative's
//!   `config-gc` is tightened, the least that keeps it safe.
//!
//! Every proxy of the fleet is forecast before and after ([`forecast`]): clusters now and at the
//! horizon, memory (mean and upper bound, push allowance included) at the horizon, days to its
//! limit. Growth is the mesh's (`fleet --topology`: the services a proxy sees, their update
//! rates, capped by GC) where the proxy maps onto the topology, its own series' elsewhere. When
//! no allowed change keeps a proxy safe, [`plan`] fails naming it ([`PlanError::Unsafe`]).
//! [`manifests`] turns a plan into the YAML to apply.

pub mod choose;
pub mod forecast;
pub mod manifests;

use serde::Serialize;

use crate::error::{Error, Result};
use crate::fleet::mesh::{GrowthChoice, MeshGrowth, MeshSettings};
use crate::fleet::{self, FleetSettings};
use crate::mesh::deps::Dependencies;
use crate::mesh::{visibility, GcPolicy, ProxyKind, ScopeMap, Topology};
use crate::model::FittedModel;
use crate::project::{Caution, PushAllowance};
use crate::series::{Series, PORTS};

use forecast::{Growths, Side};

/// What a plan assumes.
#[derive(Debug, Clone, PartialEq)]
pub struct PlanSettings {
    /// Days every proxy must stay under its limit.
    pub horizon_days: f64,
    /// Confidence level of the upper bounds.
    pub level: f64,
    /// Share of each limit kept free.
    pub headroom: f64,
    /// The config-push allowance every bound includes.
    pub push: PushAllowance,
    /// The scopes the mesh has now (`mesh` where no Sidecar applies).
    pub current_scope: ScopeMap,
    /// Knative's `config-gc` now.
    pub current_gc: GcPolicy,
}

/// A proxy's numbers on one side of the plan: the `before` and `after` of `plan.json`.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct Numbers {
    /// Outbound clusters the proxy holds now (for a namespace: what the topology counts).
    pub visible_clusters: f64,
    /// Mean peak memory at the horizon (push allowance included), bytes.
    pub predicted_bytes: f64,
    /// One-sided upper bound of peak memory at the horizon, bytes.
    pub upper_bytes: f64,
    /// Days until the upper bound reaches limit x (1 - headroom) (0: already; null: not at the
    /// expected growth, GC holding it short).
    pub days_to_limit: Option<f64>,
    /// That proxy's limit, bytes (after: the annotation's; null: none known).
    pub limit_bytes: Option<f64>,
}

/// One sidecar namespace's change (an entry of `namespaces` in `plan.json`).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct NamespacePlan {
    /// The namespace.
    pub namespace: String,
    /// `hosts` (a Sidecar with the egress hosts), `unchanged` (infrastructure, gateways, no
    /// traffic data).
    pub scope: String,
    /// The Sidecar's egress hosts (empty when unchanged).
    pub egress_hosts: Vec<String>,
    /// Why this scope.
    pub reason: String,
    /// Its worst proxy before the plan.
    pub before: Numbers,
    /// Its worst proxy after the plan.
    pub after: Numbers,
    /// `sidecar.istio.io/proxyMemory` for its Knative services (null: none to annotate).
    pub proxy_memory: Option<String>,
    /// `sidecar.istio.io/proxyMemoryLimit` for its Knative services.
    pub proxy_memory_limit: Option<String>,
    /// Its Knative services (the templates the annotations go on).
    pub knative_services: Vec<String>,
}

/// The `config-gc` advice.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct GcAdvice {
    /// Whether the plan changes `config-gc`.
    pub changed: bool,
    /// The policy now.
    pub current: GcPolicy,
    /// The policy the plan applies.
    pub recommended: GcPolicy,
    /// Why.
    pub reason: String,
}

/// One proxy of the fleet, before and after.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ProxyPlan {
    /// `namespace/pod`.
    pub proxy: String,
    /// Its namespace.
    pub namespace: Option<String>,
    /// `sidecar`, `gateway`, `infrastructure`, or `unmapped` (not in the topology).
    pub kind: String,
    /// Where its growth comes from: `mesh` or `own-series`.
    pub growth: String,
    /// What the plan changes for it: `scope`, `annotations`, `gc`, `none`.
    pub levers: Vec<String>,
    /// Before the plan.
    pub before: Side,
    /// After the plan.
    pub after: Side,
}

/// The plan: `plan.json`.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Plan {
    /// The horizon every proxy is kept safe for.
    pub horizon_days: f64,
    /// Every sidecar namespace, planned or not.
    pub namespaces: Vec<NamespacePlan>,
    /// Namespaces without traffic data: their scope is kept.
    pub unplanned: Vec<String>,
    /// Knative's GC.
    pub gc: GcAdvice,
    /// Every proxy of the fleet, before and after.
    pub proxies: Vec<ProxyPlan>,
    /// Confidence level of the upper bounds.
    pub level: f64,
    /// Share of each limit kept free.
    pub headroom: f64,
    /// The config-push allowance the bounds include (multiplier minus one on configuration memory).
    pub push_fraction: f64,
    /// Istio's Sidecar API version the manifests use.
    pub sidecar_api_version: String,
    /// What is worth knowing (the traffic window, the rarest dependency, fallbacks).
    pub warnings: Vec<String>,
}

/// What the plan reads.
pub struct PlanInput<'a> {
    /// The mesh.
    pub topology: &'a Topology,
    /// Its file, for messages.
    pub topology_label: &'a str,
    /// The fleet (long form, cleaned).
    pub series: &'a Series,
    /// The model (one linear term in ports).
    pub model: &'a FittedModel,
    /// Observed dependencies, when given.
    pub deps: Option<&'a Dependencies>,
    /// Their file, for messages.
    pub deps_label: &'a str,
}

/// Make the plan, or say which proxy no allowed change keeps safe.
pub fn plan(input: &PlanInput<'_>, settings: &PlanSettings) -> Result<Plan> {
    if fleet::predictor_of(input.model)? != PORTS {
        return Err(Error::invalid(format!(
            "plan needs a model in ports (Envoy's cluster count), but {} counts revisions: fit the fleet (no --model) or give a ports model",
            input.model.name()
        )));
    }
    if !(settings.horizon_days.is_finite() && settings.horizon_days > 0.0 && settings.horizon_days <= 3650.0) {
        return Err(Error::invalid(format!(
            "--horizon must be a number of days above 0 and at most 3650, but {} is not",
            settings.horizon_days
        )));
    }
    let caution = Caution { level: settings.level, headroom: settings.headroom, transient: 1.0, push: settings.push };
    caution.validate()?;
    let topology = input.topology;
    settings.current_scope.check(topology)?;
    let choice = choose::scopes(topology, &settings.current_scope, input.deps, input.deps_label)?;
    let fleet_settings = FleetSettings { level: settings.level, headroom: settings.headroom, limit_bytes: None };
    let mesh = |scope: &ScopeMap, policy: GcPolicy| {
        let s = MeshSettings { scope: scope.clone(), policy, growth: GrowthChoice::Mesh };
        MeshGrowth::new(topology, input.topology_label, s, PORTS, settings.level)
    };
    let before_mesh = mesh(&settings.current_scope, settings.current_gc)?;
    let before_fleet = fleet::forecast_with(input.series, input.model, &fleet_settings, Some(&before_mesh))?;
    let before_seen = visibility(topology, &settings.current_scope)?;
    let after_seen = visibility(topology, &choice.map)?;
    let ctx = forecast::Context { model: input.model, caution, horizon: settings.horizon_days, topology };
    let before = Growths::new(&before_fleet, &before_mesh, input.series, topology)?;
    let before_sides = ctx.sides(&before, &before_seen, &before_seen, None)?;
    // The GC ladder: the current policy first, then tighter ones; the first under which every
    // proxy no annotation reaches stays safe.
    let mut last_unsafe = None;
    for policy in choose::gc_ladder(&settings.current_gc) {
        let after_mesh = mesh(&choice.map, policy)?;
        let after = Growths::new(&before_fleet, &after_mesh, input.series, topology)?;
        let sizing = ctx.annotations(&after, &before_seen, &after_seen)?;
        let after_sides = ctx.sides(&after, &before_seen, &after_seen, Some(&sizing))?;
        if let Some(p) = after_sides.iter().find(|s| !s.representative && !s.safe(settings.headroom)) {
            last_unsafe = Some(p.unsafe_message(settings));
            continue;
        }
        let gc = choose::gc_advice(&settings.current_gc, policy, &after_sides, settings.horizon_days);
        let mut warnings = choice.warnings.clone();
        warnings.extend(before_fleet.warnings.iter().cloned());
        let sides =
            Sides { before: &before_sides, after: &after_sides, before_seen: &before_seen, after_seen: &after_seen };
        return Ok(assemble(input, settings, &choice, &sides, &sizing, gc, warnings));
    }
    Err(Error::Unsafe(last_unsafe.unwrap_or_else(|| "no GC policy to try".into())))
}

/// Every proxy's sides and what each scope shows.
struct Sides<'a> {
    before: &'a [forecast::ProxySides],
    after: &'a [forecast::ProxySides],
    before_seen: &'a [crate::mesh::Visible],
    after_seen: &'a [crate::mesh::Visible],
}

/// Put the pieces together: namespace entries from their worst proxies.
fn assemble(
    input: &PlanInput<'_>,
    settings: &PlanSettings,
    choice: &choose::Choice,
    sides: &Sides<'_>,
    sizing: &forecast::Sizing,
    gc: GcAdvice,
    warnings: Vec<String>,
) -> Plan {
    let topology = input.topology;
    let (before, after) = (sides.before, sides.after);
    let clusters = |seen: &[crate::mesh::Visible], ns: &str| {
        seen.iter().find(|v| v.kind != ProxyKind::Gateway && v.proxy == ns).map_or(0.0, |v| v.ports())
    };
    let namespaces = choice
        .namespaces
        .iter()
        .map(|c| {
            let worst = |sides: &[forecast::ProxySides], seen: &[crate::mesh::Visible]| {
                let mut n = forecast::worst(sides.iter().filter(|s| s.namespace.as_deref() == Some(&c.namespace)));
                n.visible_clusters = clusters(seen, &c.namespace);
                n
            };
            let size = sizing.of(&c.namespace);
            NamespacePlan {
                namespace: c.namespace.clone(),
                scope: c.scope.clone(),
                egress_hosts: c.egress_hosts.clone(),
                reason: c.reason.clone(),
                before: worst(before, sides.before_seen),
                after: worst(after, sides.after_seen),
                proxy_memory: size.map(|s| format!("{}Mi", s.request_mib)),
                proxy_memory_limit: size.map(|s| format!("{}Mi", s.limit_mib)),
                knative_services: if size.is_some() { c.knative_services.clone() } else { Vec::new() },
            }
        })
        .collect();
    let proxies = before
        .iter()
        .zip(after)
        .filter(|(b, _)| !b.representative)
        .map(|(b, a)| ProxyPlan {
            proxy: b.proxy.clone(),
            namespace: b.namespace.clone(),
            kind: b.kind.clone(),
            growth: a.growth.clone(),
            levers: a.levers(b, gc.changed),
            before: b.side,
            after: a.side,
        })
        .collect();
    Plan {
        horizon_days: settings.horizon_days,
        namespaces,
        unplanned: choice.unplanned.clone(),
        gc,
        proxies,
        level: settings.level,
        headroom: settings.headroom,
        push_fraction: settings.push.fraction,
        sidecar_api_version: topology.versions().sidecar_api_version().unwrap_or("").to_string(),
        warnings,
    }
}
