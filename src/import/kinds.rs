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

use std::collections::{BTreeMap, HashMap};

use crate::error::{Error, Result};
use crate::model::covariates::{KIND, KINDS};
use crate::series::{Column, Series, PROXY};

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

/// Fill a long form's `kind` column from the kinds of its proxies' pods (`namespace/pod` ->
/// kind, from [`super::pods::kinds`]: `kubectl get pods -A -o json`) where its own rows leave
/// the kind empty: cAdvisor's memory series carry no pod labels, the Kubernetes API has them.
/// A kind the series already gives is kept. Returns the proxies given a kind and those whose
/// series say another kind than their pod (named in a warning by the caller).
pub fn fill_from_pods(series: &mut Series, pods: &HashMap<String, &'static str>) -> Result<(usize, Vec<String>)> {
    let (kind, filled, differ) = {
        let Some((ids, names)) = series.column(PROXY).and_then(Column::label_ids) else {
            return Err(Error::data("--pods-file needs a proxy column (namespace/pod) to join pods on", &series.path));
        };
        let from_pod: Vec<Option<&'static str>> = names.iter().map(|n| pods.get(n).copied()).collect();
        let existing = series.column(KIND).and_then(Column::label_ids);
        let mut kind = Column::new(KIND);
        let (mut filled, mut differ) = (vec![false; names.len()], vec![false; names.len()]);
        for (i, &id) in ids.iter().enumerate() {
            let own = existing.and_then(|(k, n)| n.get(k[i] as usize)).map(String::as_str).filter(|s| !s.is_empty());
            let pod = from_pod.get(id as usize).copied().flatten();
            match (own, pod) {
                (Some(o), Some(p)) if o != p => differ[id as usize] = true,
                (None, Some(_)) => filled[id as usize] = true,
                _ => {}
            }
            kind.push_label(own.or(pod).unwrap_or(""));
        }
        let differ: Vec<String> = names.iter().zip(&differ).filter(|(_, &d)| d).map(|(n, _)| n.clone()).collect();
        (kind, filled.iter().filter(|&&f| f).count(), differ)
    };
    series.put_column(kind);
    Ok((filled, differ))
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
