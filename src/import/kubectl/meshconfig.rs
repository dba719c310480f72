//! The mesh config: the `istio` ConfigMap's `mesh` key (YAML inside the JSON List), and what
//! of it changes what a proxy holds.
//!
//! - `discoverySelectors`: istiod keeps the objects of a namespace only when one of these label
//!   selectors matches the Namespace's labels; none at all selects every namespace (istio/istio
//!   `pkg/kube/namespace/filter.go` at 1.22.0, `selectorsChanged`, `isSelectedLocked`). A
//!   selector is Kubernetes' `LabelSelector`: every `matchLabels` pair and every
//!   `matchExpressions` term (`In`, `NotIn`, `Exists`, `DoesNotExist`) must hold, and an empty
//!   one matches every namespace (apimachinery `LabelSelectorAsSelector`).
//! - `defaultServiceExportTo`: the exportTo of Services without the annotation.
//! - `defaultConfig.concurrency` and `defaultConfig.proxyStatsMatcher`: the proxies' defaults
//!   ([`super::workers`] applies them).

use std::collections::BTreeMap;
use std::path::Path;

use regex::Regex;
use serde::Serialize;
use serde_json::Value;

use crate::error::{Error, Result};

/// What the mesh config says.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct MeshConfig {
    /// The ConfigMap it came from (`namespace/name`).
    pub source: String,
    /// `discoverySelectors`, as written (label selectors).
    pub discovery_selectors: Vec<Value>,
    /// `defaultServiceExportTo`.
    pub default_service_export_to: Option<Vec<String>>,
    /// `defaultConfig`: the proxies' default ProxyConfig.
    pub default_config: Value,
}

/// An `istio` (or `istio-<revision>`) ConfigMap with a `mesh` key.
pub(super) fn is_mesh_config(o: &Value) -> bool {
    let name = o.pointer("/metadata/name").and_then(Value::as_str).unwrap_or("");
    (name == "istio" || name.starts_with("istio-")) && o.pointer("/data/mesh").and_then(Value::as_str).is_some()
}

/// Read the `mesh` key of an `istio` ConfigMap; `None` for any other ConfigMap.
pub(super) fn read(path: &Path, o: &Value) -> Result<Option<MeshConfig>> {
    let name = o.pointer("/metadata/name").and_then(Value::as_str).unwrap_or("");
    let ns = o.pointer("/metadata/namespace").and_then(Value::as_str).unwrap_or("default");
    // `istio`, or `istio-<revision>` for a revisioned control plane.
    let Some(text) = o.pointer("/data/mesh").and_then(Value::as_str).filter(|_| is_mesh_config(o)) else {
        return Ok(None);
    };
    let mesh: Value = serde_yaml::from_str(text)
        .map_err(|e| Error::data(format!("ConfigMap {ns}/{name}: its mesh key is not YAML: {e}"), path))?;
    let mesh = match mesh {
        Value::Null => Value::Object(Default::default()),
        m @ Value::Object(_) => m,
        other => {
            return Err(Error::data(
                format!("ConfigMap {ns}/{name}: its mesh key must be a YAML mapping, not {other}"),
                path,
            ))
        }
    };
    let field = |camel: &str, snake: &str| mesh.get(camel).or_else(|| mesh.get(snake)).cloned();
    let discovery_selectors = match field("discoverySelectors", "discovery_selectors") {
        None | Some(Value::Null) => Vec::new(),
        Some(Value::Array(a)) => a,
        Some(other) => {
            return Err(Error::data(
                format!("ConfigMap {ns}/{name}: discoverySelectors must be a list of label selectors, not {other}"),
                path,
            ))
        }
    };
    for s in &discovery_selectors {
        selector_matches(s, &BTreeMap::new())
            .map_err(|m| Error::data(format!("ConfigMap {ns}/{name}: discoverySelectors: {m}"), path))?;
    }
    let default_service_export_to = match field("defaultServiceExportTo", "default_service_export_to") {
        None | Some(Value::Null) => None,
        Some(Value::Array(a)) => {
            Some(a.iter().map(|e| e.as_str().map(str::to_string)).collect::<Option<Vec<_>>>().ok_or_else(|| {
                Error::data(format!("ConfigMap {ns}/{name}: defaultServiceExportTo must list strings"), path)
            })?)
        }
        Some(other) => {
            return Err(Error::data(
                format!("ConfigMap {ns}/{name}: defaultServiceExportTo must be a list, not {other}"),
                path,
            ))
        }
    };
    Ok(Some(MeshConfig {
        source: format!("{ns}/{name}"),
        discovery_selectors,
        default_service_export_to,
        default_config: field("defaultConfig", "default_config").unwrap_or(Value::Null),
    }))
}

impl MeshConfig {
    /// Whether istiod discovers a namespace with these labels.
    pub(super) fn discovers(&self, labels: &BTreeMap<String, String>) -> bool {
        self.discovery_selectors.is_empty()
            || self.discovery_selectors.iter().any(|s| selector_matches(s, labels).unwrap_or(false))
    }
}

/// Kubernetes `LabelSelector` matching (apimachinery `LabelSelectorAsSelector`): all of
/// `matchLabels` and all of `matchExpressions`; an error names what is malformed.
pub(super) fn selector_matches(
    selector: &Value,
    labels: &BTreeMap<String, String>,
) -> std::result::Result<bool, String> {
    let Value::Object(sel) = selector else { return Err(format!("a selector must be a mapping, not {selector}")) };
    if let Some(k) = sel.keys().find(|k| *k != "matchLabels" && *k != "matchExpressions") {
        return Err(format!("a selector has \"{k}\"; only matchLabels and matchExpressions are selectors"));
    }
    let mut ok = true;
    match sel.get("matchLabels") {
        None | Some(Value::Null) => {}
        Some(Value::Object(m)) => {
            for (k, v) in m {
                let v = v.as_str().ok_or_else(|| format!("matchLabels {k} must be a string, not {v}"))?;
                ok &= labels.get(k).map(String::as_str) == Some(v);
            }
        }
        Some(other) => return Err(format!("matchLabels must be a mapping, not {other}")),
    }
    match sel.get("matchExpressions") {
        None | Some(Value::Null) => {}
        Some(Value::Array(exprs)) => {
            for e in exprs {
                let key = e.get("key").and_then(Value::as_str).ok_or_else(|| format!("{e} has no key"))?;
                let op = e.get("operator").and_then(Value::as_str).ok_or_else(|| format!("{e} has no operator"))?;
                let values: Vec<&str> =
                    e.get("values").and_then(Value::as_array).into_iter().flatten().filter_map(Value::as_str).collect();
                let have = labels.get(key).map(String::as_str);
                ok &= match op {
                    "In" => have.is_some_and(|h| values.contains(&h)),
                    "NotIn" => have.is_none_or(|h| !values.contains(&h)),
                    "Exists" => have.is_some(),
                    "DoesNotExist" => have.is_none(),
                    _ => return Err(format!("operator \"{op}\" is not In, NotIn, Exists or DoesNotExist")),
                };
            }
        }
        Some(other) => return Err(format!("matchExpressions must be a list, not {other}")),
    }
    Ok(ok)
}

/// Stat names of one outbound cluster, as Envoy names them (`cluster.<cluster name>.<stat>`;
/// Istio sets no `alt_stat_name` unless `outboundClusterStatName` is set): what a stats
/// matcher is tested against to say whether per-cluster stats are kept.
const CLUSTER_STATS: &[&str] = &[
    "upstream_cx_total",
    "upstream_cx_active",
    "upstream_cx_connect_fail",
    "upstream_rq_total",
    "upstream_rq_time",
    "upstream_rq_retry",
    "membership_healthy",
    "membership_total",
    "lb_healthy_panic",
    "update_success",
    "circuit_breakers.default.cx_open",
];

/// An Envoy stats matcher's inclusion lists.
#[derive(Debug, Clone, Default, PartialEq)]
pub(super) struct StatsMatcher {
    pub prefixes: Option<Vec<String>>,
    pub suffixes: Option<Vec<String>>,
    pub regexps: Option<Vec<String>>,
}

impl StatsMatcher {
    /// A ProxyConfig's `proxyStatsMatcher` value (camelCase or snake_case keys).
    pub(super) fn of_matcher(m: Option<&Value>) -> StatsMatcher {
        let list = |camel: &str, snake: &str| {
            m.and_then(|m| m.get(camel).or_else(|| m.get(snake)))
                .and_then(Value::as_array)
                .map(|a| a.iter().filter_map(Value::as_str).map(str::to_string).collect::<Vec<String>>())
        };
        StatsMatcher {
            prefixes: list("inclusionPrefixes", "inclusion_prefixes"),
            suffixes: list("inclusionSuffixes", "inclusion_suffixes"),
            regexps: list("inclusionRegexps", "inclusion_regexps"),
        }
    }

    /// The first inclusion that keeps an outbound cluster's stats, as `kind "value"`. Istio adds
    /// its required inclusions (`cluster_manager`, `listener_manager`, `server`,
    /// `cluster.xds-grpc`, `wasm`; suffixes `rbac.allowed`, ...; regexp `vhost\.*\.route\.*`:
    /// istio/istio `pkg/bootstrap/config.go` at 1.22.0), none of which matches a
    /// `cluster.outbound|...` stat, so only the user's lists can. Envoy's regexps are RE2 and
    /// match the whole name (`envoy.type.matcher.v3.RegexMatcher`).
    pub(super) fn per_cluster(&self) -> Option<String> {
        let names: Vec<String> = CLUSTER_STATS
            .iter()
            .map(|s| format!("cluster.outbound|8080||cart-00001-private.shop.svc.cluster.local.{s}"))
            .collect();
        for p in self.prefixes.iter().flatten().filter(|p| !p.is_empty()) {
            if names.iter().any(|n| n.starts_with(p.as_str())) {
                return Some(format!("inclusion prefix \"{p}\""));
            }
        }
        for s in self.suffixes.iter().flatten().filter(|s| !s.is_empty()) {
            if names.iter().any(|n| n.ends_with(s.as_str())) {
                return Some(format!("inclusion suffix \"{s}\""));
            }
        }
        for r in self.regexps.iter().flatten() {
            let Ok(re) = Regex::new(&format!("^(?:{r})$")) else { continue };
            if names.iter().any(|n| re.is_match(n)) {
                return Some(format!("inclusion regexp \"{r}\""));
            }
        }
        None
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn labels(pairs: &[(&str, &str)]) -> BTreeMap<String, String> {
        pairs.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect()
    }

    /// Kubernetes label selector semantics (apimachinery `pkg/apis/meta/v1/helpers.go`,
    /// `LabelSelectorAsSelector`; `pkg/labels/selector.go`: `NotIn` holds when the key is absent).
    #[test]
    fn label_selectors_as_kubernetes_reads_them() {
        let sel: Value = serde_json::json!({
            "matchLabels": {"team": "shop"},
            "matchExpressions": [{"key": "env", "operator": "NotIn", "values": ["dev"]}]
        });
        assert_eq!(selector_matches(&sel, &labels(&[("team", "shop")])), Ok(true));
        assert_eq!(selector_matches(&sel, &labels(&[("team", "shop"), ("env", "dev")])), Ok(false));
        assert_eq!(selector_matches(&sel, &labels(&[("team", "pay")])), Ok(false));
        assert_eq!(selector_matches(&serde_json::json!({}), &labels(&[])), Ok(true), "empty selects all");
        let exists = serde_json::json!({"matchExpressions": [{"key": "mesh", "operator": "Exists"}]});
        assert_eq!(selector_matches(&exists, &labels(&[("mesh", "")])), Ok(true));
        assert!(selector_matches(
            &serde_json::json!({"matchExpressions": [{"key": "a", "operator": "Gt"}]}),
            &labels(&[])
        )
        .is_err());
    }

    /// Which matchers keep `cluster.outbound|...` stats; Istio's own required ones do not.
    #[test]
    fn per_cluster_stats_by_matcher() {
        let m = |p: &[&str], s: &[&str], r: &[&str]| StatsMatcher {
            prefixes: Some(p.iter().map(|x| x.to_string()).collect()),
            suffixes: Some(s.iter().map(|x| x.to_string()).collect()),
            regexps: Some(r.iter().map(|x| x.to_string()).collect()),
        };
        let required = m(
            &["cluster_manager", "listener_manager", "server", "cluster.xds-grpc", "wasm"],
            &["rbac.allowed", "rbac.denied", "shadow_allowed", "shadow_denied", "downstream_cx_active"],
            &[r"vhost\.*\.route\.*"],
        );
        assert_eq!(required.per_cluster(), None);
        assert!(m(&["cluster.outbound"], &[], &[]).per_cluster().is_some());
        assert!(m(&[], &["upstream_rq_total"], &[]).per_cluster().is_some());
        assert!(m(&[], &[], &[".*outbound.*"]).per_cluster().is_some());
        // RE2 full match: "outbound" alone matches no whole stat name.
        assert_eq!(m(&[], &[], &["outbound"]).per_cluster(), None);
    }
}
