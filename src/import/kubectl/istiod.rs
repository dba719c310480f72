//! istiod's feature flags, read from its Deployment's `discovery` container env: the ones that
//! change what a proxy holds or how it is pushed.
//!
//! - `PILOT_FILTER_GATEWAY_CLUSTER_CONFIG` (default false; istio/istio
//!   `pilot/pkg/features/experimental.go` at 1.22.0): gateways keep only their routes'
//!   destinations.
//! - `ENABLE_EXTERNAL_NAME_ALIAS` (1.20.0 default false, 1.21.0-1.23 true, removed in 1.24.0;
//!   `pilot/pkg/features/pilot.go`): ExternalName Services as aliases without clusters.
//! - `ISTIO_DELTA_XDS` (false at 1.21.0, true from 1.22.0; `experimental.go`, #47969).
//! - `PILOT_ENABLE_HEADLESS_FILTER_CHAIN_LISTENER` (default false; only on istio master after
//!   1.31.0-rc.0, #60642): explicitly TCP headless ports get one wildcard listener with a /32
//!   filter chain per pod instead of a listener per pod (`pilot/pkg/networking/core/listener.go`).
//!   A filter chain per pod stays, so the per-pod count meshcap uses does not change; the flag
//!   is recorded in the topology's comments only.

use serde::Serialize;
use serde_json::Value;

/// istiod's flags, when its Deployment sets them.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct IstiodFlags {
    /// `PILOT_FILTER_GATEWAY_CLUSTER_CONFIG`.
    pub filter_gateway_cluster_config: Option<bool>,
    /// `ENABLE_EXTERNAL_NAME_ALIAS`.
    pub external_name_alias: Option<bool>,
    /// `ISTIO_DELTA_XDS`.
    pub delta_xds: Option<bool>,
    /// `PILOT_ENABLE_HEADLESS_FILTER_CHAIN_LISTENER`.
    pub headless_filter_chain_listener: Option<bool>,
    /// An istiod Deployment was in the input.
    pub seen: bool,
}

/// Go's `strconv.ParseBool`, which istio's `env.Register` uses for boolean flags.
fn go_bool(v: &str) -> Option<bool> {
    match v {
        "1" | "t" | "T" | "TRUE" | "true" | "True" => Some(true),
        "0" | "f" | "F" | "FALSE" | "false" | "False" => Some(false),
        _ => None,
    }
}

impl IstiodFlags {
    /// Read the env of an istiod Deployment's containers; a value Go cannot read as a bool is
    /// ignored by istiod (the default holds) and reported in `warnings`.
    pub(super) fn read(&mut self, o: &Value, warnings: &mut Vec<String>) {
        self.seen = true;
        let containers = o.pointer("/spec/template/spec/containers").and_then(Value::as_array);
        for c in containers.into_iter().flatten() {
            for e in c.get("env").and_then(Value::as_array).into_iter().flatten() {
                let Some(name) = e.get("name").and_then(Value::as_str) else { continue };
                let slot = match name {
                    "PILOT_FILTER_GATEWAY_CLUSTER_CONFIG" => &mut self.filter_gateway_cluster_config,
                    "ENABLE_EXTERNAL_NAME_ALIAS" => &mut self.external_name_alias,
                    "ISTIO_DELTA_XDS" => &mut self.delta_xds,
                    "PILOT_ENABLE_HEADLESS_FILTER_CHAIN_LISTENER" => &mut self.headless_filter_chain_listener,
                    _ => continue,
                };
                match e.get("value").and_then(Value::as_str).map(|v| (v, go_bool(v))) {
                    Some((_, Some(b))) => *slot = Some(b),
                    Some((v, None)) => warnings.push(format!(
                        "istiod's {name}={v:?} is not a boolean Go reads (true, false, 1, 0, ...): istiod ignores it and keeps the default"
                    )),
                    None => warnings.push(format!(
                        "istiod's {name} comes from a reference (valueFrom), not a value: not read; set it in the topology"
                    )),
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn flags_read_as_go_reads_them() {
        let o = serde_json::json!({"spec": {"template": {"spec": {"containers": [{"name": "discovery", "env": [
            {"name": "PILOT_FILTER_GATEWAY_CLUSTER_CONFIG", "value": "True"},
            {"name": "ISTIO_DELTA_XDS", "value": "0"},
            {"name": "ENABLE_EXTERNAL_NAME_ALIAS", "value": "yes"}
        ]}]}}}});
        let mut f = IstiodFlags::default();
        let mut w = Vec::new();
        f.read(&o, &mut w);
        assert_eq!(
            (f.filter_gateway_cluster_config, f.delta_xds, f.external_name_alias),
            (Some(true), Some(false), None)
        );
        assert_eq!(w.len(), 1, "{w:?}");
    }
}
