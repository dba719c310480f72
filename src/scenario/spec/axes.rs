//! The axes of a scenario grid: their names in grid order, their parsed values, and each
//! value's label as rows and summaries print it; the scope axis's values (a default scope and
//! per-namespace overrides, [`ScopeMap`]) are read and checked against the mesh here.

use super::{MeshSource, Spec};
use crate::error::{Error, Result};
use crate::mesh::{Scope, ScopeMap};

/// The axes, in grid order (outermost first; `limit` varies fastest).
pub const AXES: [&str; 13] = [
    "namespaces",
    "knative_services",
    "plain_services",
    "updates_per_day",
    "retain_since_create_time",
    "retain_since_last_active_time",
    "min_non_active_revisions",
    "max_non_active_revisions",
    "scope",
    "transient",
    "headroom",
    "level",
    "limit",
];

/// Values of every axis, parsed.
#[derive(Debug, Clone, PartialEq)]
pub struct Axes {
    /// Namespaces with sidecars (generated mesh).
    pub namespaces: Vec<u32>,
    /// Knative services per namespace (generated mesh).
    pub knative_services: Vec<u32>,
    /// Plain Services per namespace (generated mesh).
    pub plain_services: Vec<u32>,
    /// Updates per Knative service per day.
    pub updates_per_day: Vec<f64>,
    /// `retain-since-create-time`, hours (`None` = disabled).
    pub retain_since_create_h: Vec<Option<f64>>,
    /// `retain-since-last-active-time`, hours.
    pub retain_since_last_active_h: Vec<Option<f64>>,
    /// `min-non-active-revisions` (whole numbers: Knative has no "disabled" here).
    pub min_non_active: Vec<u32>,
    /// `max-non-active-revisions`.
    pub max_non_active: Vec<Option<u32>>,
    /// Sidecar scopes, each a default and per-namespace overrides.
    pub scope: Vec<ScopeMap>,
    /// Transient factors.
    pub transient: Vec<f64>,
    /// Headroom fractions.
    pub headroom: Vec<f64>,
    /// Confidence levels.
    pub level: Vec<f64>,
    /// Proxy limits, bytes.
    pub limit: Vec<f64>,
}

impl Axes {
    /// Length of each axis, in grid order.
    pub fn lengths(&self) -> [usize; 13] {
        [
            self.namespaces.len(),
            self.knative_services.len(),
            self.plain_services.len(),
            self.updates_per_day.len(),
            self.retain_since_create_h.len(),
            self.retain_since_last_active_h.len(),
            self.min_non_active.len(),
            self.max_non_active.len(),
            self.scope.len(),
            self.transient.len(),
            self.headroom.len(),
            self.level.len(),
            self.limit.len(),
        ]
    }

    /// Value of axis `axis` at index `i`, as text (for output rows).
    pub fn label(&self, axis: usize, i: usize) -> String {
        let h = |v: Option<f64>| v.map_or_else(|| "disabled".to_string(), |v| format!("{v}h"));
        let n = |v: Option<u32>| v.map_or_else(|| "disabled".to_string(), |v| v.to_string());
        match axis {
            0 => self.namespaces[i].to_string(),
            1 => self.knative_services[i].to_string(),
            2 => self.plain_services[i].to_string(),
            3 => self.updates_per_day[i].to_string(),
            4 => h(self.retain_since_create_h[i]),
            5 => h(self.retain_since_last_active_h[i]),
            6 => self.min_non_active[i].to_string(),
            7 => n(self.max_non_active[i]),
            8 => self.scope[i].to_string(),
            9 => self.transient[i].to_string(),
            10 => self.headroom[i].to_string(),
            11 => self.level[i].to_string(),
            _ => crate::quantity::format_bytes(self.limit[i]),
        }
    }
}

/// One value of the `scope` axis: a text (`"namespace"`, or with per-namespace overrides
/// `"namespace; shop=mesh; payments=hosts=payments/*,shop/cart"`) or a list of the same parts
/// (`["namespace", "shop=mesh"]`): at most one plain scope (the default, `mesh` when none) and
/// `NS=SCOPE` overrides.
pub(super) fn scope_value(v: &toml::Value) -> Result<ScopeMap> {
    match v {
        toml::Value::String(s) => ScopeMap::parse(s),
        toml::Value::Array(parts) => {
            let parts = parts
                .iter()
                .map(|p| match p {
                    toml::Value::String(s) => Ok(s.clone()),
                    other => Err(Error::invalid(format!("scope part {other} is not a text"))),
                })
                .collect::<Result<Vec<_>>>()?;
            ScopeMap::single(&parts)
        }
        other => {
            Err(Error::invalid(format!("scope {other} is not a text like \"namespace\" or \"namespace; shop=mesh\"")))
        }
    }
}

impl Spec {
    /// Replace the scope axis (`sweep --scope`, `simulate --scope`), checked as the spec's own.
    pub fn set_scopes(&mut self, scopes: Vec<ScopeMap>) -> Result<()> {
        check_scopes(&self.mesh, &scopes).map_err(|m| Error::invalid(format!("--scope: {m}")))?;
        self.axes.scope = scopes;
        Ok(())
    }
}

/// Refuse scopes the mesh cannot evaluate: host lists and per-namespace scopes need named
/// namespaces (a topology), and overrides must name a scoped namespace of it.
pub(super) fn check_scopes(mesh: &MeshSource, scopes: &[ScopeMap]) -> std::result::Result<(), String> {
    match mesh {
        MeshSource::Generated { .. } => {
            if let Some(s) = scopes.iter().find(|s| matches!(s.default, Scope::Hosts(_)) || !s.overrides.is_empty()) {
                return Err(format!("scope {s} needs named namespaces: use a topology file"));
            }
        }
        MeshSource::Topology(t) => {
            for s in scopes {
                s.check(t).map_err(|e| e.to_string())?;
            }
        }
    }
    Ok(())
}
