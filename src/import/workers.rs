//! A proxy's Envoy worker count from its pod spec, for the long form's `concurrency` column.
//!
//! Each worker holds its own copy of per-cluster state (~2 KB a cluster, envoy#4196), so the
//! pooled fit gives workers a slope ([`crate::model::covariates`]). The Kubernetes API says
//! how many a proxy runs without a fourth Prometheus response: pilot-agent decides it from
//! what the injector wrote into the pod, by these rules (istio/istio
//! `pilot/cmd/pilot-agent/config/config.go` `ConstructProxyConfig` and `getMeshConfig`, read
//! at 1.17.0, 1.18.0 and master):
//!
//! 1. a legacy `--concurrency N` argument of the `istio-proxy` container, N > 0, wins (the
//!    injector wrote it from the CPU limit before Istio 1.18, istio#43865);
//! 2. else `concurrency` in the `proxy.istio.io/config` annotation, else in the container's
//!    `PROXY_CONFIG` environment variable (the injected ProxyConfig; the annotation is applied
//!    after it);
//! 3. else `ISTIO_CPU_LIMIT`, which the injection template (1.18+) fills by the downward API
//!    from the container's `limits.cpu`, rounded up to whole CPUs (`divisor: "1"`).
//!
//! A `concurrency` of 0 means a worker per CPU of the node, and no CPU limit means the node's
//! allocatable CPUs: neither is in the pod, so that proxy's workers are unknown. So are those
//! of a pod matching no rule (before 1.18 an unset value meant Istio's default of 2, after it
//! the node's CPUs: the pod does not say which Istio injected it). Unknown is left empty,
//! never guessed.

use std::collections::{BTreeMap, HashMap};

use serde::Deserialize;

use super::fleet::PROXY;
use crate::error::{Error, Result};
use crate::series::{Column, Series, CONCURRENCY};

/// The annotation holding a pod's ProxyConfig overrides (YAML or JSON).
const PROXY_CONFIG_ANNOTATION: &str = "proxy.istio.io/config";

/// The parts of a pod's `spec` the worker rules read.
#[derive(Deserialize, Default)]
#[serde(rename_all = "camelCase")]
pub(super) struct Spec {
    #[serde(default)]
    containers: Vec<Container>,
    #[serde(default)]
    init_containers: Vec<Container>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct Container {
    #[serde(default)]
    name: String,
    #[serde(default)]
    args: Vec<String>,
    #[serde(default)]
    env: Vec<EnvVar>,
    #[serde(default)]
    resources: Resources,
}

#[derive(Deserialize, Default)]
struct Resources {
    #[serde(default)]
    limits: BTreeMap<String, serde_json::Value>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct EnvVar {
    name: String,
    value: Option<String>,
    value_from: Option<EnvSource>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct EnvSource {
    resource_field_ref: Option<ResourceFieldRef>,
}

#[derive(Deserialize)]
struct ResourceFieldRef {
    resource: String,
    divisor: Option<serde_json::Value>,
}

/// A CPU quantity (`"2"`, `"1500m"`, `0.5`) in CPUs.
fn cpus(value: &serde_json::Value) -> std::result::Result<f64, String> {
    let text = match value {
        serde_json::Value::String(s) => s.trim().to_string(),
        serde_json::Value::Number(n) => n.to_string(),
        other => return Err(format!("CPU quantity {other} is not a quantity")),
    };
    let (number, scale) = match text.strip_suffix('m') {
        Some(n) => (n, 1e-3),
        None => (text.as_str(), 1.0),
    };
    match number.parse::<f64>() {
        Ok(v) if v.is_finite() && v >= 0.0 => Ok(v * scale),
        _ => Err(format!("CPU quantity \"{text}\" is not a number of CPUs (as \"2\" or \"500m\")")),
    }
}

/// `concurrency` in a ProxyConfig written as YAML or JSON; `Ok(None)` when it is not set.
fn configured(text: &str, what: &str) -> std::result::Result<Option<i64>, String> {
    let value: serde_yaml::Value =
        serde_yaml::from_str(text).map_err(|e| format!("{what} is not YAML or JSON ({e})"))?;
    match value.get("concurrency") {
        None | Some(serde_yaml::Value::Null) => Ok(None),
        Some(v) => v.as_i64().filter(|n| (0..=1024).contains(n)).map(Some).ok_or_else(|| {
            format!(
                "{what}: concurrency {} is not a worker count from 0 to 1024",
                serde_yaml::to_string(v).unwrap_or_default().trim()
            )
        }),
    }
}

/// The Envoy workers of a pod's `container` by pilot-agent's rules (module docs); `Ok(None)`
/// when the pod does not say. `pod` names it in errors.
pub(super) fn of_pod(
    spec: &Spec,
    annotations: &BTreeMap<String, String>,
    container: &str,
    pod: &str,
) -> std::result::Result<Option<u32>, String> {
    let Some(c) = spec.containers.iter().chain(&spec.init_containers).find(|c| c.name == container) else {
        return Ok(None);
    };
    let known = |n: i64| (n > 0).then_some(n as u32);
    // 1. The legacy flag, as `--concurrency N` or `--concurrency=N`.
    let flag = c.args.iter().enumerate().find_map(|(k, a)| match a.strip_prefix("--concurrency") {
        Some("") => c.args.get(k + 1).map(String::as_str),
        Some(v) => v.strip_prefix('='),
        None => None,
    });
    if let Some(v) = flag {
        let n: i64 = v.trim().parse().map_err(|_| format!("pod {pod}: --concurrency \"{v}\" is not a number"))?;
        if n > 0 {
            return Ok(known(n));
        }
    }
    // 2. ProxyConfig: the annotation over the injected PROXY_CONFIG.
    let annotation = annotations
        .get(PROXY_CONFIG_ANNOTATION)
        .map(|a| configured(a, &format!("pod {pod}: annotation {PROXY_CONFIG_ANNOTATION}")))
        .transpose()?
        .flatten();
    let env = |name: &str| c.env.iter().find(|e| e.name == name);
    let injected = env("PROXY_CONFIG")
        .and_then(|e| e.value.as_deref())
        .map(|v| configured(v, &format!("pod {pod}: PROXY_CONFIG")))
        .transpose()?
        .flatten();
    if let Some(n) = annotation.or(injected) {
        return Ok(known(n));
    }
    // 3. ISTIO_CPU_LIMIT: a value, or the container's CPU limit rounded up by the divisor.
    let Some(limit) = env("ISTIO_CPU_LIMIT") else { return Ok(None) };
    if let Some(v) = &limit.value {
        let n: i64 = v.trim().parse().map_err(|_| format!("pod {pod}: ISTIO_CPU_LIMIT \"{v}\" is not a number"))?;
        return Ok(known(n));
    }
    let Some(field) = limit.value_from.as_ref().and_then(|f| f.resource_field_ref.as_ref()) else { return Ok(None) };
    if field.resource != "limits.cpu" {
        return Ok(None);
    }
    let Some(cpu) = c.resources.limits.get("cpu") else { return Ok(None) };
    let cpu = cpus(cpu).map_err(|e| format!("pod {pod}: container {container} limits.cpu: {e}"))?;
    let divisor = match &field.divisor {
        Some(d) => cpus(d).map_err(|e| format!("pod {pod}: ISTIO_CPU_LIMIT divisor: {e}"))?,
        None => 1.0,
    };
    if divisor <= 0.0 {
        return Err(format!("pod {pod}: ISTIO_CPU_LIMIT divisor is 0"));
    }
    // The kubelet's downward API rounds up (ceil(milli CPUs / milli divisor)).
    let n = ((cpu * 1e3).round() / (divisor * 1e3).round()).ceil();
    Ok(if n.is_finite() && (1.0..=1024.0).contains(&n) { known(n as i64) } else { None })
}

/// Fill a long form's `concurrency` column from its proxies' pods (`namespace/pod` ->
/// workers) where its own rows leave it empty, but only when that gives every proxy its
/// workers: a per-worker slope needs them all, and one unknown would stop the fit. Returns
/// the proxies given workers, and those still unknown (the column is then left as it was).
pub fn fill_from_pods(series: &mut Series, pods: &HashMap<String, u32>) -> Result<(usize, Vec<String>)> {
    let Some((ids, names)) = series.column(PROXY).and_then(Column::label_ids) else {
        return Err(Error::data("--pods-file needs a proxy column (namespace/pod) to join pods on", &series.path));
    };
    let own = series.column(CONCURRENCY).map(Column::values);
    let from_pod: Vec<Option<f64>> = names.iter().map(|n| pods.get(n).map(|&w| f64::from(w))).collect();
    let mut missing = vec![false; names.len()];
    let mut filled = vec![false; names.len()];
    let values: Vec<f64> = ids
        .iter()
        .enumerate()
        .map(|(i, &id)| {
            let mine = own.map_or(f64::NAN, |v| v[i]);
            if !mine.is_nan() {
                return mine;
            }
            match from_pod.get(id as usize).copied().flatten() {
                Some(w) => {
                    filled[id as usize] = true;
                    w
                }
                None => {
                    if let Some(m) = missing.get_mut(id as usize) {
                        *m = true;
                    }
                    f64::NAN
                }
            }
        })
        .collect();
    let missing: Vec<String> = names.iter().zip(&missing).filter(|(_, &m)| m).map(|(n, _)| n.clone()).collect();
    let filled = filled.iter().filter(|&&f| f).count();
    if missing.is_empty() && filled > 0 {
        series.put_column(Column::numbers(CONCURRENCY.to_string(), values));
    }
    Ok((filled, missing))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn spec(container: &str) -> Spec {
        serde_json::from_str(&format!(r#"{{"containers":[{{"name":"app"}},{container}]}}"#)).unwrap()
    }

    fn workers(container: &str, annotation: Option<&str>) -> std::result::Result<Option<u32>, String> {
        let mut a = BTreeMap::new();
        if let Some(v) = annotation {
            a.insert(PROXY_CONFIG_ANNOTATION.to_string(), v.to_string());
        }
        of_pod(&spec(container), &a, "istio-proxy", "ns/p")
    }

    #[test]
    fn pilot_agents_rules_in_order() {
        // Istio 1.18+: the downward API's limits.cpu, rounded up (1500m -> 2 workers).
        let limit = r#"{"name":"istio-proxy","env":[{"name":"ISTIO_CPU_LIMIT","valueFrom":{"resourceFieldRef":{"resource":"limits.cpu","divisor":"1"}}}],
            "resources":{"limits":{"cpu":"1500m","memory":"1Gi"}}}"#;
        assert_eq!(workers(limit, None), Ok(Some(2)));
        // No CPU limit: the node's CPUs, which the pod does not say.
        let no_limit = r#"{"name":"istio-proxy","env":[{"name":"ISTIO_CPU_LIMIT","valueFrom":{"resourceFieldRef":{"resource":"limits.cpu","divisor":"1"}}}]}"#;
        assert_eq!(workers(no_limit, None), Ok(None));
        // The injected ProxyConfig sets it; the annotation overrides that; 0 is the node's CPUs.
        let injected = r#"{"name":"istio-proxy","env":[{"name":"PROXY_CONFIG","value":"{\"concurrency\":4,\"discoveryAddress\":\"istiod.istio-system.svc:15012\"}\n"},
            {"name":"ISTIO_CPU_LIMIT","valueFrom":{"resourceFieldRef":{"resource":"limits.cpu","divisor":"1"}}}],"resources":{"limits":{"cpu":"2"}}}"#;
        assert_eq!(workers(injected, None), Ok(Some(4)));
        assert_eq!(workers(injected, Some("concurrency: 8\nholdApplicationUntilProxyStarts: true\n")), Ok(Some(8)));
        assert_eq!(workers(injected, Some("{\"concurrency\": 0}")), Ok(None));
        assert_eq!(workers(injected, Some("tracing: {}\n")), Ok(Some(4)));
        // Before 1.18 the injector wrote the flag; it wins over everything.
        let flag = r#"{"name":"istio-proxy","args":["proxy","sidecar","--concurrency","3"],"env":[{"name":"PROXY_CONFIG","value":"{\"concurrency\":4}"}]}"#;
        assert_eq!(workers(flag, Some("concurrency: 8")), Ok(Some(3)));
        assert_eq!(workers(r#"{"name":"istio-proxy","args":["--concurrency=6"]}"#, None), Ok(Some(6)));
        // Nothing said (or a native sidecar without any of it): unknown.
        assert_eq!(workers(r#"{"name":"istio-proxy","args":["proxy","sidecar"]}"#, None), Ok(None));
        assert_eq!(workers(r#"{"name":"other"}"#, None), Ok(None));
        // Malformed values name the pod and the value.
        let e = workers(r#"{"name":"istio-proxy","args":["--concurrency","two"]}"#, None).unwrap_err();
        assert!(e.contains("ns/p") && e.contains("\"two\""), "{e}");
        let e = workers(limit, Some("concurrency: -3")).unwrap_err();
        assert!(e.contains("proxy.istio.io/config") && e.contains("-3"), "{e}");
        let bad_cpu = limit.replace("1500m", "lots");
        let e = workers(&bad_cpu, None).unwrap_err();
        assert!(e.contains("\"lots\""), "{e}");
    }

    #[test]
    fn cpu_quantities_and_the_downward_apis_rounding() {
        let q = |s: &str| cpus(&serde_json::Value::String(s.into()));
        assert_eq!((q("2"), q("500m"), q("0.25")), (Ok(2.0), Ok(0.5), Ok(0.25)));
        assert!(q("-1").is_err() && q("1Gi").is_err());
        // By hand: 500m -> 1, 2001m -> 3, 4 -> 4 workers.
        for (cpu, want) in [("500m", 1), ("2001m", 3), ("4", 4)] {
            let c = format!(
                r#"{{"name":"istio-proxy","env":[{{"name":"ISTIO_CPU_LIMIT","valueFrom":{{"resourceFieldRef":{{"resource":"limits.cpu","divisor":"1"}}}}}}],"resources":{{"limits":{{"cpu":"{cpu}"}}}}}}"#
            );
            assert_eq!(workers(&c, None), Ok(Some(want)), "{cpu}");
        }
    }
}
