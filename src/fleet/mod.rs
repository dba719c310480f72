//! The fleet: every proxy's headroom today and its days until the limit.
//!
//! A capacity session starts from "which sidecars OOM next, and when?". Given a long-form
//! series (one `proxy` per row, from `import prometheus --by namespace,pod`) and a model (the
//! pooled `group=proxy` fit by default), [`forecast`] answers per proxy: memory, limit and
//! predictor now, the predictor's growth per day from the proxy's own steps ([`growth`]), and
//! the days until its memory reaches its limit with an interval ([`forecast`](self::forecast)
//! module). Proxies already over `limit x (1 - headroom)` are flagged and ranked first; the
//! rest by days to the limit, soonest first; proxies that do not grow get no date.
//! [`rollup`] groups the ranking by namespace; [`export`] renders table and CSV; [`pooled`]
//! cleans and fits when no model is given. With a topology, [`mesh`] dates proxies from the
//! Knative services they see instead (their update rates under the GC policy), through the
//! hook in [`forecast_with`].

pub mod export;
mod forecast;
pub mod growth;
pub mod mesh;
pub mod pooled;
pub mod proxies;

use serde::Serialize;

use crate::error::{Error, Result};
use crate::model::{ErrorKind, FittedModel};
use crate::series::{Series, PORTS, REVISIONS};

pub use growth::{Growth, DAY};

/// What a fleet forecast assumes.
#[derive(Debug, Clone, PartialEq)]
pub struct FleetSettings {
    /// Confidence level of the intervals, in (0, 1).
    pub level: f64,
    /// Share of the limit kept free, in [0, 1): proxies above `limit x (1 - headroom)` now are
    /// flagged.
    pub headroom: f64,
    /// One limit for every proxy (bytes), overriding the series' limit column.
    pub limit_bytes: Option<f64>,
}

impl Default for FleetSettings {
    fn default() -> Self {
        FleetSettings { level: 0.95, headroom: 0.1, limit_bytes: None }
    }
}

/// Where a proxy's date comes from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum DateSource {
    /// The steps of the proxy's own predictor series.
    OwnSeries,
    /// The update rates of the Knative services the proxy sees in the topology, capped by GC.
    Mesh,
}

impl DateSource {
    /// The name in JSON, CSV and the table.
    pub fn label(self) -> &'static str {
        match self {
            DateSource::OwnSeries => "own-series",
            DateSource::Mesh => "mesh",
        }
    }
}

/// One proxy's answer. Growth and counts are in the model's predictor (`ports`, or
/// `revisions` for a revisions-only series; [`Fleet::predictor`] names it).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ProxyForecast {
    /// The proxy (`namespace/pod` from an import by namespace,pod).
    pub proxy: String,
    /// The proxy name's first `/`-separated part, when it has one.
    pub namespace: Option<String>,
    /// Memory at the last reading, bytes.
    pub memory_bytes: f64,
    /// The limit in force now, bytes (null without a limit column or --limit).
    pub limit_bytes: Option<f64>,
    /// Ports (or revisions) now.
    pub ports: f64,
    /// Net growth of ports per day over the proxy's series (null with a single reading).
    pub growth_ports_per_day: Option<f64>,
    /// Confidence interval of the growth at the level.
    pub growth_interval: Option<[f64; 2]>,
    /// Days from the last reading until the one-sided upper bound of memory reaches the limit
    /// at the estimated growth (0 when it already has; null when the proxy does not grow).
    pub days_to_limit: Option<f64>,
    /// Interval of the days until memory reaches the limit; the top is null when growth may
    /// be zero.
    pub days_to_limit_interval: Option<[Option<f64>; 2]>,
    /// True when memory now is above limit x (1 - headroom).
    pub over_headroom: bool,
    /// Where the date comes from.
    pub source: DateSource,
    /// Readings of the proxy.
    pub readings: usize,
    /// Its kind, when the model has a line per kind.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub kind: Option<String>,
}

/// Names a warning line shows before "and N more".
pub const SHOWN: usize = 3;

/// A problem shared by some proxies (one reading, no limit): the reason and every proxy.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ProxyWarning {
    /// Why, e.g. `one reading, so no growth and no date`.
    pub reason: String,
    /// Every proxy it concerns, in ranking order of the input.
    pub proxies: Vec<String>,
}

impl ProxyWarning {
    /// One line at any fleet size: the count, the reason and the first [`SHOWN`] names.
    pub fn line(&self) -> String {
        let n = self.proxies.len();
        let shown = self.proxies.iter().take(SHOWN).cloned().collect::<Vec<_>>().join(", ");
        let more = if n > SHOWN { format!(" and {} more (all in --format json)", n - SHOWN) } else { String::new() };
        let who = if n == 1 { "1 proxy".to_string() } else { format!("{n} proxies") };
        format!("{who}: {}: {shown}{more}", self.reason)
    }
}

/// What tables print for proxies without a namespace: not a Kubernetes namespace name (those are
/// RFC 1123 labels, lowercase alphanumerics and `-`), so it never merges with one, not even `-`.
pub const NO_NAMESPACE: &str = "(none)";

/// Per-namespace roll-up (`--by namespace`).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct NamespaceRollup {
    /// The namespace (null for proxies whose name has none; tables print [`NO_NAMESPACE`]).
    pub namespace: Option<String>,
    /// Proxies in it.
    pub proxies: usize,
    /// Its proxy ranked first.
    pub worst_proxy: String,
    /// That proxy's days to the limit (null without a date).
    pub worst_days_to_limit: Option<f64>,
    /// Proxies flagged or dated within 30 days.
    pub at_risk_30d: usize,
    /// Proxies flagged or dated within 90 days.
    pub at_risk_90d: usize,
}

/// The fleet's answer: the `--format json` schema of `meshcap fleet`.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Fleet {
    /// Proxies, ranked: flagged first, then by days to the limit (soonest first), undated last.
    pub proxies: Vec<ProxyForecast>,
    /// Confidence level of every interval.
    pub level: f64,
    /// Headroom share used for flagging.
    pub headroom: f64,
    /// The predictor growth is counted in (`ports` or `revisions`).
    pub predictor: String,
    /// The model's error structure (`group=proxy` for the pooled fit).
    pub errors: String,
    /// What model dates the fleet, as tables print it: `pooled model group=proxy` (or
    /// `slopes=proxy`) for the fit on the series, `model FILE (errors E)` for a model file given, else `model (errors E)`.
    pub model: String,
    /// Memory per unit of the predictor, bytes (the pooled slope; the baseline kind's with a
    /// line per kind).
    pub bytes_per_unit: f64,
    /// With a line per proxy kind: each kind's memory per unit, baseline first.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub bytes_per_unit_by_kind: Vec<(String, f64)>,
    /// Namespace roll-up, when asked for.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub namespaces: Option<Vec<NamespaceRollup>>,
    /// What is worth saying, one line each: per-proxy problems summarized ([`ProxyWarning::line`]),
    /// then the mesh's notes.
    pub warnings: Vec<String>,
    /// Every proxy each per-proxy problem concerns (the lines above name the first few).
    pub warned: Vec<ProxyWarning>,
    /// With a topology: the mesh growth's settings and the services' update rates.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub mesh: Option<mesh::MeshReport>,
}

/// The predictor a fleet counts growth in: the model's linear term on ports or revisions, the
/// only term besides the kind and worker terms ([`crate::model::covariates`]).
pub fn predictor_of(model: &FittedModel) -> Result<String> {
    match model.terms.split_first() {
        Some((t, rest))
            if t.power == 1
                && (t.column == PORTS || t.column == REVISIONS)
                && rest.iter().all(|r| r.power == 1 && crate::model::covariates::is_covariate(&r.column)) =>
        {
            Ok(t.column.clone())
        }
        _ => Err(Error::invalid(format!(
            "fleet needs a model with one linear term on ports or revisions (and kind or worker terms), but {} has {}",
            model.name(),
            model.terms.iter().map(ToString::to_string).collect::<Vec<_>>().join(" + ")
        ))),
    }
}

/// Forecast every proxy of `series` with `model`.
pub fn forecast(series: &Series, model: &FittedModel, settings: &FleetSettings) -> Result<Fleet> {
    forecast_with(series, model, settings, None)
}

/// Forecast every proxy, dating the ones the `mesh` maps from the topology's growth.
pub fn forecast_with(
    series: &Series,
    model: &FittedModel,
    settings: &FleetSettings,
    mesh: Option<&mesh::MeshGrowth>,
) -> Result<Fleet> {
    crate::model::check_level(settings.level)?;
    if !(settings.headroom.is_finite() && (0.0..1.0).contains(&settings.headroom)) {
        return Err(Error::invalid(format!(
            "headroom must lie in [0, 100%), but {}% does not",
            settings.headroom * 100.0
        )));
    }
    let predictor = predictor_of(model)?;
    let proxies = proxies::split(series)?;
    let mut values: Vec<Vec<f64>> = Vec::with_capacity(proxies.len());
    for p in &proxies {
        values.push(series.numbers(&predictor, &p.rows)?.into_owned());
    }
    let unit_if_flat = growth::typical_step(values.iter().map(Vec::as_slice)).unwrap_or(if predictor == PORTS {
        model.ports_per_revision
    } else {
        1.0
    });
    // Per-proxy problems, gathered by reason: one line each, however many proxies.
    let mut warned: Vec<ProxyWarning> = Vec::new();
    let mut warn = |reason: &str, proxy: &str| match warned.iter_mut().find(|w| w.reason == reason) {
        Some(w) => w.proxies.push(proxy.to_string()),
        None => warned.push(ProxyWarning { reason: reason.to_string(), proxies: vec![proxy.to_string()] }),
    };
    let covariates = model.terms.iter().any(|t| crate::model::covariates::is_covariate(&t.column));
    let kinds = !crate::model::covariates::kinds_of(&model.terms).is_empty();
    let mut classes = Vec::new();
    // Each proxy's readings now, growth, own effects and class; then its dates, in parallel
    // (each proxy's alone, collected in order: the same at any thread count); then the mesh's
    // choice, which keeps caches, in order.
    // Each proxy's own effects by name (a scan per proxy is 10^8 name comparisons at 10^4).
    let effects: std::collections::HashMap<&str, &crate::model::GroupEffect> = match model.errors.kind {
        ErrorKind::Group => model.errors.group_effects.iter().map(|g| (g.name.as_str(), g)).collect(),
        _ => Default::default(),
    };
    let mut prepared = Vec::with_capacity(proxies.len());
    for (p, v) in proxies.iter().zip(&values) {
        let Some(now) = proxies::now(series, p, &predictor, settings.limit_bytes)? else {
            warn("every reading carries an event, so left out", &p.name);
            continue;
        };
        let times: Vec<f64> = p.rows.iter().map(|&i| series.rows.times()[i]).collect();
        let growth = growth::growth(&times, v, settings.level, unit_if_flat);
        if growth.is_none() {
            warn("one reading, so no growth and no date", &p.name);
        }
        if now.limit_bytes.is_none() {
            warn("no limit (give a limit column or --limit), so no date", &p.name);
        }
        let effect = effects.get(p.name.as_str()).copied();
        // Its kind and workers: as the fit saw them, else from its own rows.
        let class = match effect.and_then(|g| g.class.clone()) {
            Some(c) => c,
            None if covariates => crate::model::covariates::class_of(series, &p.rows)?,
            None => Default::default(),
        };
        prepared.push((p, now, growth, effect, class));
    }
    let own_dates: Vec<Option<forecast::Dates>> = {
        use rayon::prelude::*;
        prepared
            .par_iter()
            .map(|(_, now, growth, effect, class)| {
                let pm = forecast::ProxyModel { model, effect: *effect, predictor: &predictor, class };
                match (growth, now.limit_bytes) {
                    (Some(g), Some(l)) => forecast::dates(&pm, now.predictor, l, g, settings.level),
                    _ => None,
                }
            })
            .collect()
    };
    let mut out = Vec::with_capacity(prepared.len());
    for ((p, now, growth, effect, class), dates) in prepared.into_iter().zip(own_dates) {
        let pm = forecast::ProxyModel { model, effect, predictor: &predictor, class: &class };
        let (growth, dates, source) = match mesh {
            Some(m) => m.choose(&p.name, &now, &pm, (growth, dates), settings.level),
            None => (growth, dates, DateSource::OwnSeries),
        };
        out.push(ProxyForecast {
            namespace: p.name.split_once('/').map(|(ns, _)| ns.to_string()),
            proxy: p.name.clone(),
            memory_bytes: now.memory_bytes,
            limit_bytes: now.limit_bytes,
            ports: now.predictor,
            growth_ports_per_day: growth.map(|g| g.per_day),
            growth_interval: growth.map(|g| g.interval),
            days_to_limit: dates.and_then(|d| d.days),
            days_to_limit_interval: dates.map(|d| d.interval),
            over_headroom: now.limit_bytes.is_some_and(|l| now.memory_bytes > l * (1.0 - settings.headroom)),
            source,
            readings: p.rows.len(),
            kind: class.kind.clone().filter(|_| kinds),
        });
        classes.push(class);
    }
    rank(&mut out);
    let bytes_per_unit = model.linear_coefficient(&predictor).unwrap_or(f64::NAN);
    let bytes_per_unit_by_kind = per_kind(model, &predictor, &classes);
    Ok(Fleet {
        proxies: out,
        level: settings.level,
        headroom: settings.headroom,
        predictor,
        errors: model.errors.label(),
        model: model_kind(model),
        bytes_per_unit,
        bytes_per_unit_by_kind,
        namespaces: None,
        warnings: warned
            .iter()
            .map(ProxyWarning::line)
            .chain(mesh.map(|m| m.take_warnings()).unwrap_or_default())
            .collect(),
        warned,
        mesh: mesh.map(|m| m.report()),
    })
}

/// Each kind's memory per unit of the predictor, at the workers of its first proxy in
/// `classes` (a per-worker slope counts), the baseline kind (no line of its own) first; empty
/// without kind terms.
fn per_kind(model: &FittedModel, predictor: &str, classes: &[crate::model::ProxyClass]) -> Vec<(String, f64)> {
    let lines = crate::model::covariates::kinds_of(&model.terms);
    if lines.is_empty() {
        return Vec::new();
    }
    let mut seen: Vec<&crate::model::ProxyClass> = Vec::new();
    for c in classes.iter().filter(|c| c.kind.is_some()) {
        if !seen.iter().any(|s| s.kind == c.kind) {
            seen.push(c);
        }
    }
    seen.sort_by_key(|c| lines.contains(&c.kind.as_deref().unwrap_or("")));
    let b = model.estimates();
    let slope = |c: &crate::model::ProxyClass| {
        let at = |x: f64| model.design_row(|col| if col == predictor { x } else { c.value(col, |_| 0.0) });
        at(1.0).iter().zip(at(0.0)).zip(&b).map(|((one, zero), b)| (one - zero) * b).sum::<f64>()
    };
    seen.into_iter().map(|c| (c.kind.clone().unwrap_or_default(), slope(c))).collect()
}

/// How tables name the fleet's model when nothing more is known: the pooled fit is the one with
/// a random offset per proxy, and a random slope when the proxies' slopes differ
/// ([`pooled::pooled_fit`]); any other is named by its errors, never called pooled.
pub fn model_kind(model: &FittedModel) -> String {
    let errors = model.errors.label();
    let kinds = if crate::model::covariates::kinds_of(&model.terms).is_empty() { "" } else { ", a line per kind," };
    if [format!("group={}", proxies::PROXY), format!("slopes={}", proxies::PROXY)].contains(&errors) {
        format!("pooled model {errors}{kinds}")
    } else {
        format!("model (errors {errors})")
    }
}

/// Flagged first, then soonest date, undated last; ties by name.
fn rank(proxies: &mut [ProxyForecast]) {
    proxies.sort_by(|a, b| {
        b.over_headroom
            .cmp(&a.over_headroom)
            .then_with(|| {
                let d = |p: &ProxyForecast| p.days_to_limit.unwrap_or(f64::INFINITY);
                d(a).total_cmp(&d(b))
            })
            .then_with(|| a.proxy.cmp(&b.proxy))
    });
}

/// Within `days`: flagged, or dated no later than `days`.
pub fn at_risk(p: &ProxyForecast, days: f64) -> bool {
    p.over_headroom || p.days_to_limit.is_some_and(|d| d <= days)
}

/// Group a ranked fleet by namespace, worst namespace first; proxies without a namespace form
/// their own group, apart from every named one. O(proxies).
pub fn rollup(fleet: &Fleet) -> Vec<NamespaceRollup> {
    let mut out: Vec<NamespaceRollup> = Vec::new();
    let mut index: std::collections::HashMap<Option<&str>, usize> = std::collections::HashMap::new();
    for p in &fleet.proxies {
        match index.get(&p.namespace.as_deref()) {
            Some(&k) => {
                let r = &mut out[k];
                r.proxies += 1;
                r.at_risk_30d += usize::from(at_risk(p, 30.0));
                r.at_risk_90d += usize::from(at_risk(p, 90.0));
            }
            // Proxies are ranked, so the first seen of a namespace is its worst.
            None => {
                index.insert(p.namespace.as_deref(), out.len());
                out.push(NamespaceRollup {
                    namespace: p.namespace.clone(),
                    proxies: 1,
                    worst_proxy: p.proxy.clone(),
                    worst_days_to_limit: p.days_to_limit,
                    at_risk_30d: usize::from(at_risk(p, 30.0)),
                    at_risk_90d: usize::from(at_risk(p, 90.0)),
                });
            }
        }
    }
    out
}
