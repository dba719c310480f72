//! A proxy's kind from the labels its series carry, for the long form's `kind` column.
//!
//! A fleet's pooled fit gives each proxy kind its own line ([`crate::model::covariates`]), so a
//! fleet import writes the kind where its series say it. cAdvisor's memory series carry no pod
//! labels, but Envoy's own metrics scraped through pilot-agent do: Istio's Prometheus
//! configuration maps pod labels onto them (`labelmap __meta_kubernetes_pod_label_(.+)`, label
//! names sanitized, `security.istio.io/tlsMode` -> `security_istio_io_tlsMode`), and
//! kube-state-metrics' `kube_pod_labels` names them `label_<name>` when joined in. So a
//! `--concurrency envoy_server_concurrency` query (Envoy's `server.concurrency` gauge, kept by
//! Istio's default stats inclusion of `server.*`) brings both the workers and the kind. An
//! Envoy dump says it in its node id (`sidecar~`, `router~`, `waypoint~`), which the istioctl
//! import passes as a `kind` label.
//!
//! The rules, first match wins:
//! - `gateway.istio.io/managed: istio.io-mesh-controller`: a waypoint (Istio ambient's waypoint
//!   deployments);
//! - an `istio` label ending in `gateway` (`ingressgateway`, `egressgateway`,
//!   `knative-local-gateway`, as `import kubectl` finds gateways), or a
//!   `gateway.networking.k8s.io/gateway-name` label (Gateway API deployments): a gateway;
//! - `app: activator`: Knative's activator;
//! - `security.istio.io/tlsMode` or `service.istio.io/canonical-name` (set by sidecar
//!   injection): a sidecar.
//!
//! Anything else is unknown and left empty: a proxy is never called a sidecar for want of a
//! label.

use std::collections::BTreeMap;

use crate::model::covariates::KINDS;

/// The value of a pod label under either name Prometheus gives it.
fn label<'a>(labels: &'a BTreeMap<String, String>, name: &str) -> Option<&'a str> {
    labels.get(name).or_else(|| labels.get(&format!("label_{name}"))).map(String::as_str)
}

/// The proxy kind its labels say, if they say one.
pub fn kind_of(labels: &BTreeMap<String, String>) -> Option<&'static str> {
    if let Some(k) = labels.get("kind").and_then(|k| KINDS.iter().find(|x| **x == k.as_str())) {
        return Some(k);
    }
    if label(labels, "gateway_istio_io_managed") == Some("istio.io-mesh-controller") {
        return Some("waypoint");
    }
    if label(labels, "istio").is_some_and(|v| v.ends_with("gateway"))
        || label(labels, "gateway_networking_k8s_io_gateway_name").is_some()
    {
        return Some("gateway");
    }
    if label(labels, "app") == Some("activator") {
        return Some("activator");
    }
    if label(labels, "security_istio_io_tlsMode").is_some()
        || label(labels, "service_istio_io_canonical_name").is_some()
    {
        return Some("sidecar");
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    fn labels(pairs: &[(&str, &str)]) -> BTreeMap<String, String> {
        pairs.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect()
    }

    #[test]
    fn kinds_from_pod_labels_as_prometheus_names_them() {
        // Label sets as Istio's kubernetes-pods job writes them for each kind of pod.
        let sidecar =
            [("security_istio_io_tlsMode", "istio"), ("service_istio_io_canonical_name", "shop"), ("app", "shop")];
        assert_eq!(kind_of(&labels(&sidecar)), Some("sidecar"));
        let ingress = [("istio", "ingressgateway"), ("service_istio_io_canonical_name", "istio-ingressgateway")];
        assert_eq!(kind_of(&labels(&ingress)), Some("gateway"));
        assert_eq!(kind_of(&labels(&[("label_istio", "knative-local-gateway")])), Some("gateway"));
        let gateway_api = [
            ("gateway_networking_k8s_io_gateway_name", "public"),
            ("gateway_istio_io_managed", "istio.io-gateway-controller"),
        ];
        assert_eq!(kind_of(&labels(&gateway_api)), Some("gateway"));
        let waypoint = [
            ("gateway_networking_k8s_io_gateway_name", "waypoint"),
            ("gateway_istio_io_managed", "istio.io-mesh-controller"),
        ];
        assert_eq!(kind_of(&labels(&waypoint)), Some("waypoint"));
        let activator = [("app", "activator"), ("security_istio_io_tlsMode", "istio")];
        assert_eq!(kind_of(&labels(&activator)), Some("activator"));
        assert_eq!(kind_of(&labels(&[("kind", "gateway")])), Some("gateway"));
        // cAdvisor's series: no pod labels, so no kind (not "sidecar").
        assert_eq!(kind_of(&labels(&[("namespace", "shop"), ("pod", "a-1"), ("container", "istio-proxy")])), None);
    }
}
