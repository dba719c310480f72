//! Termination records from `kubectl get pods -o json`, for `clean`, and each proxy's kind from
//! its pod's labels, for `fleet --pods-file` ([`kinds`]; its workers: [`super::workers`]).
//!
//! The kubelet records each container's last termination in the pod status:
//! `status.containerStatuses[].lastState.terminated` with `reason` (`OOMKilled`, `Error`,
//! `Completed`), `finishedAt` and, beside it, `restartCount` (Kubernetes API `ContainerStatus`,
//! `ContainerStateTerminated`). Istio's native sidecars (`ENABLE_NATIVE_SIDECARS`, istio/istio
//! `pilot/pkg/features/experimental.go`, default false) run `istio-proxy` as an init container
//! with `restartPolicy: Always`, whose status is under `status.initContainerStatuses` instead,
//! so both lists are read. Only the last termination
//! is kept by the kubelet: a List taken after two restarts records the second.

use std::path::Path;

use serde::Deserialize;

use crate::error::{Error, Result};
use crate::series::clean::Termination;

/// The container whose terminations are read unless told otherwise.
pub const DEFAULT_CONTAINER: &str = "istio-proxy";

#[derive(Deserialize)]
struct Object {
    kind: Option<String>,
    #[serde(default)]
    items: Vec<Object>,
    #[serde(default)]
    metadata: Metadata,
    #[serde(default)]
    status: Status,
}

#[derive(Deserialize, Default)]
struct Metadata {
    name: Option<String>,
    namespace: Option<String>,
    #[serde(default)]
    labels: std::collections::BTreeMap<String, String>,
}

#[derive(Deserialize, Default)]
#[serde(rename_all = "camelCase")]
struct Status {
    #[serde(default)]
    container_statuses: Vec<ContainerStatus>,
    #[serde(default)]
    init_container_statuses: Vec<ContainerStatus>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct ContainerStatus {
    name: String,
    restart_count: Option<f64>,
    #[serde(default)]
    last_state: LastState,
}

#[derive(Deserialize, Default)]
struct LastState {
    terminated: Option<Terminated>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct Terminated {
    reason: Option<String>,
    finished_at: Option<String>,
}

/// The Pods of a kubectl JSON (a List of Pods, a PodList or one Pod); objects of other kinds in
/// a List are skipped.
fn pods(path: &Path, bytes: &[u8]) -> Result<Vec<Object>> {
    let top: Object = serde_json::from_slice(bytes).map_err(|e| {
        Error::data(format!("not a kubectl JSON pod List: {}", super::json_error_message(bytes, &e)), path)
    })?;
    match top.kind.as_deref() {
        Some("Pod") => Ok(vec![top]),
        Some("List" | "PodList") => {
            Ok(top.items.into_iter().filter(|o| o.kind.as_deref().is_none_or(|k| k == "Pod")).collect())
        }
        other => Err(Error::data(
            format!(
                "not a kubectl JSON pod List: kind is {}, not List, PodList or Pod (kubectl get pods -A -o json)",
                other.map_or_else(|| "missing".to_string(), |k| format!("\"{k}\""))
            ),
            path,
        )),
    }
}

/// Each pod's proxy kind (`namespace/name` -> kind) from its labels, by the rules of
/// [`super::kinds`]: the Kubernetes label names as Istio's scrape configuration maps them onto
/// Envoy's series (every character other than a letter, digit or `_` becomes `_`). Pods whose
/// labels say no kind are left out.
pub fn kinds(path: &Path, bytes: &[u8]) -> Result<std::collections::HashMap<String, &'static str>> {
    let mut out = std::collections::HashMap::new();
    for pod in pods(path, bytes)? {
        let sanitized = pod
            .metadata
            .labels
            .iter()
            .map(|(k, v)| {
                (k.chars().map(|c| if c.is_ascii_alphanumeric() || c == '_' { c } else { '_' }).collect(), v.clone())
            })
            .collect();
        if let (Some(kind), Some(name)) = (super::kinds::kind_of(&sanitized), pod.metadata.name) {
            let proxy = match pod.metadata.namespace {
                Some(ns) => format!("{ns}/{name}"),
                None => name,
            };
            out.insert(proxy, kind);
        }
    }
    Ok(out)
}

/// The last terminations of `container` in the pods of a kubectl JSON (a List of Pods, a
/// PodList or one Pod) read from `path`; `shown` names the file in the records. Objects of
/// other kinds in a List are skipped; a termination without a reason is kept as `unknown`.
pub fn terminations(path: &Path, shown: &str, bytes: &[u8], container: &str) -> Result<Vec<Termination>> {
    let pods = pods(path, bytes)?;
    let mut out = Vec::new();
    for pod in pods {
        let name = pod.metadata.name.unwrap_or_default();
        let pod_name = match pod.metadata.namespace {
            Some(ns) => format!("{ns}/{name}"),
            None => name,
        };
        let statuses = pod.status.container_statuses.iter().chain(&pod.status.init_container_statuses);
        for cs in statuses.filter(|c| c.name == container) {
            let Some(t) = &cs.last_state.terminated else { continue };
            let finished_at = match &t.finished_at {
                Some(f) => Some(
                    time::OffsetDateTime::parse(f, &time::format_description::well_known::Rfc3339)
                        .map(|d| d.unix_timestamp_nanos() as f64 / 1e9)
                        .map_err(|_| {
                            Error::data(
                                format!("pod {pod_name}: lastState.terminated.finishedAt \"{f}\" is not RFC 3339"),
                                path,
                            )
                        })?,
                ),
                None => None,
            };
            out.push(Termination {
                pod: pod_name.clone(),
                reason: t.reason.clone().filter(|r| !r.is_empty()).unwrap_or_else(|| "unknown".to_string()),
                finished_at,
                restart_count: cs.restart_count,
                source: shown.to_string(),
            });
        }
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_last_terminations_of_the_proxy() {
        let list = br#"{"kind":"List","items":[
          {"kind":"Pod","metadata":{"name":"cart-0","namespace":"shop"},"status":{"containerStatuses":[
            {"name":"app","restartCount":0,"lastState":{}},
            {"name":"istio-proxy","restartCount":3,"lastState":{"terminated":{"reason":"OOMKilled","exitCode":137,
              "finishedAt":"2026-01-01T00:10:00Z"}}}]}},
          {"kind":"Pod","metadata":{"name":"pay-0","namespace":"pay"},"status":{"initContainerStatuses":[
            {"name":"istio-proxy","restartCount":1,"lastState":{"terminated":{"reason":"Error","finishedAt":"2026-01-01T00:00:00Z"}}}]}},
          {"kind":"Service","metadata":{"name":"x"}}]}"#;
        let t = terminations(Path::new("pods.json"), "pods.json", list, DEFAULT_CONTAINER).unwrap();
        assert_eq!(t.len(), 2);
        assert_eq!((t[0].pod.as_str(), t[0].reason.as_str()), ("shop/cart-0", "OOMKilled"));
        assert_eq!((t[0].finished_at, t[0].restart_count), (Some(1_767_226_200.0), Some(3.0)));
        // A native sidecar's status is an init container's.
        assert_eq!((t[1].pod.as_str(), t[1].reason.as_str()), ("pay/pay-0", "Error"));
        let e = terminations(Path::new("p.json"), "p.json", br#"{"kind":"Service"}"#, "istio-proxy").unwrap_err();
        assert!(e.to_string().contains("kind is \"Service\""), "{e}");
        let e = terminations(Path::new("p.json"), "p.json", b"{\"kind\":", "istio-proxy").unwrap_err();
        assert!(e.to_string().contains("malformed JSON at byte"), "{e}");
    }
}
