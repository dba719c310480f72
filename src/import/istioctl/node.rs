//! Which proxy a dump came from: the bootstrap's node, as Istio writes it.
//!
//! A fleet import names each proxy `namespace/pod`, and a dump is the only witness of which pod
//! it was taken from: Istio puts the pod in the node metadata (`NAME`, `NAMESPACE`; `POD_NAME`
//! in older releases) and in the node id (`sidecar~IP~POD.NAMESPACE~NAMESPACE.svc.cluster.local`,
//! `router~...` for gateways).
//!
//! Its Envoy workers are there too (checked at 1.18.0 and 1.22.0): pilot-agent resolves `concurrency`
//! (explicit, else `ISTIO_CPU_LIMIT`) before it writes the bootstrap, and puts the ProxyConfig in
//! the node metadata as `PROXY_CONFIG` (istio/istio `pkg/bootstrap/config.go` at 1.22.0:
//! `meta.ProxyConfig = options.ProxyConfig`; `pkg/model/proxy.go`, `json:"PROXY_CONFIG"`;
//! `pilot/cmd/pilot-agent/config/config.go`). The dumps in `../shared/reference/real-world/`
//! (Istio 1.0 to 1.4 sidecars and gateway, a 1.21 waypoint) carry no `PROXY_CONFIG`, so their
//! workers stay unknown.

use serde::Serialize;
use serde_json::Value;

/// The proxy a dump came from, when the dump says.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct Node {
    /// Proxy type: `sidecar`, `router` (gateway), `waypoint`.
    pub kind: Option<String>,
    /// Pod name.
    pub pod: Option<String>,
    /// Pod namespace.
    pub namespace: Option<String>,
    /// When the proxy's Envoy loaded its bootstrap (the `BootstrapConfigDump`'s
    /// `last_updated`): it changes when the container restarts, so dumps of one pod with
    /// different values come from successive containers.
    #[serde(skip)]
    pub started: Option<String>,
    /// Envoy workers: `PROXY_CONFIG.concurrency` in the node metadata, when the dump has it
    /// (0 means one per CPU of the node, which a dump does not say).
    pub concurrency: Option<u32>,
}

/// The proxy of a `BootstrapConfigDump`: pod and namespace from the node metadata Istio
/// writes (`NAME`, `NAMESPACE`; `POD_NAME` in older releases), else from the node id.
pub(super) fn node_of(bootstrap: &Value) -> Node {
    let id = bootstrap.pointer("/bootstrap/node/id").and_then(Value::as_str).map(parse_node_id).unwrap_or_default();
    let meta = |key: &str| {
        bootstrap.pointer(&format!("/bootstrap/node/metadata/{key}")).and_then(Value::as_str).map(str::to_string)
    };
    Node {
        kind: id.kind,
        pod: meta("NAME").or_else(|| meta("POD_NAME")).or(id.pod),
        namespace: meta("NAMESPACE").or(id.namespace),
        started: bootstrap.get("last_updated").and_then(Value::as_str).map(str::to_string),
        concurrency: bootstrap
            .pointer("/bootstrap/node/metadata/PROXY_CONFIG/concurrency")
            .and_then(|c| c.as_u64().or_else(|| c.as_str().and_then(|s| s.parse().ok())))
            .filter(|&c| c > 0)
            .and_then(|c| u32::try_from(c).ok()),
    }
}

/// `sidecar~10.0.0.1~POD.NAMESPACE~NAMESPACE.svc.cluster.local`.
fn parse_node_id(id: &str) -> Node {
    let parts: Vec<&str> = id.split('~').collect();
    if parts.len() < 3 {
        return Node::default();
    }
    let (pod, ns) = parts[2].rsplit_once('.').map_or((parts[2], None), |(p, n)| (p, Some(n)));
    Node {
        kind: Some(parts[0].to_string()),
        pod: Some(pod.to_string()),
        namespace: ns.map(str::to_string),
        started: None,
        concurrency: None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn metadata_first_then_the_id() {
        let n = parse_node_id("sidecar~10.0.0.1~ratings-v1-f745cf57b-vfwcv.bookinfo~bookinfo.svc.cluster.local");
        assert_eq!((n.pod.as_deref(), n.namespace.as_deref()), (Some("ratings-v1-f745cf57b-vfwcv"), Some("bookinfo")));
        let b: Value = serde_json::from_str(
            r#"{"bootstrap":{"node":{"id":"router~1.2.3.4~gw-1.a~a.svc.cluster.local","metadata":{"NAME":"gw-2","NAMESPACE":"b"}}},"last_updated":"2026-01-01T00:00:00Z"}"#,
        )
        .unwrap();
        let n = node_of(&b);
        assert_eq!(
            (n.kind.as_deref(), n.pod.as_deref(), n.namespace.as_deref()),
            (Some("router"), Some("gw-2"), Some("b"))
        );
        assert_eq!(n.started.as_deref(), Some("2026-01-01T00:00:00Z"));
        assert_eq!(n.concurrency, None);
    }

    /// pilot-agent writes the resolved ProxyConfig into the node metadata (`PROXY_CONFIG`;
    /// protobuf-JSON writes the Int32Value as a number).
    #[test]
    fn workers_from_the_proxy_config_in_the_node_metadata() {
        let b: Value = serde_json::from_str(
            r#"{"bootstrap":{"node":{"id":"sidecar~1.2.3.4~a-1.shop~shop.svc.cluster.local","metadata":{"PROXY_CONFIG":{"concurrency":4,"proxyStatsMatcher":{}}}}}}"#,
        )
        .unwrap();
        assert_eq!(node_of(&b).concurrency, Some(4));
        let zero: Value =
            serde_json::from_str(r#"{"bootstrap":{"node":{"metadata":{"PROXY_CONFIG":{"concurrency":0}}}}}"#).unwrap();
        assert_eq!(node_of(&zero).concurrency, None, "0: one per node CPU, which the dump does not say");
    }
}
