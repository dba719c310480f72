//! Each proxy's Envoy workers from `kubectl get pods -A -o json`, for the long form's
//! `concurrency` column (`fleet --pods-file`, `import prometheus --pods-file`).
//!
//! Each worker holds its own copy of per-cluster state (~2 KB a cluster, envoy#4196), so the
//! pooled fit gives workers a slope ([`crate::model::covariates`]). The Kubernetes API says how
//! many a proxy runs without a fourth Prometheus response: pilot-agent decides it from what the
//! injector wrote into the pod, by the rules `import kubectl` already applies
//! (`ProxySpec::workers` in `import/kubectl/workers.rs`: a `--concurrency` argument, else
//! ProxyConfig `concurrency` from the `proxy.istio.io/config` annotation, the injected
//! `PROXY_CONFIG` or the mesh config's `defaultConfig`, else `ISTIO_CPU_LIMIT`, the container's
//! `limits.cpu` rounded up). A `concurrency` of 0, or no CPU limit, means the node's CPUs:
//! known when the file also holds the Nodes (`kubectl get pods,nodes -A -o json`), else that
//! proxy's workers are unknown and left empty, never guessed.

use std::collections::HashMap;
use std::path::Path;

use crate::error::{Error, Result};
use crate::series::{Column, Series, CONCURRENCY, PROXY};

/// Each pod's workers (`namespace/name` -> workers) in a kubectl JSON file, and the pods whose
/// workers it does not decide.
pub fn of_pods(path: &Path, bytes: &[u8]) -> Result<(HashMap<String, u32>, Vec<String>)> {
    let settings = super::kubectl::settings_of(&[(path.to_path_buf(), bytes.to_vec())])?;
    let (known, unknown) = settings.pod_workers();
    Ok((known.into_iter().collect(), unknown))
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

    /// A pods List of one pod per container given (its istio-proxy), `extra` in each metadata.
    fn workers(containers: &[&str], extra: &str) -> (HashMap<String, u32>, Vec<String>) {
        let pods: Vec<String> = containers
            .iter()
            .enumerate()
            .map(|(i, c)| {
                format!(
                    r#"{{"apiVersion":"v1","kind":"Pod","metadata":{{"name":"p{i}","namespace":"ns"{extra}}},"spec":{{"containers":[{{"name":"app"}},{c}]}}}}"#
                )
            })
            .collect();
        let list = format!(r#"{{"apiVersion":"v1","kind":"List","items":[{}]}}"#, pods.join(","));
        of_pods(Path::new("pods.json"), list.as_bytes()).unwrap()
    }

    #[test]
    fn pilot_agents_rules_through_the_kubectl_import() {
        let env_limit =
            r#"{"name":"ISTIO_CPU_LIMIT","valueFrom":{"resourceFieldRef":{"resource":"limits.cpu","divisor":"1"}}}"#;
        let limit = |cpu: &str| {
            format!(r#"{{"name":"istio-proxy","env":[{env_limit}],"resources":{{"limits":{{"cpu":"{cpu}"}}}}}}"#)
        };
        let injected = format!(
            r#"{{"name":"istio-proxy","env":[{{"name":"PROXY_CONFIG","value":"{{\"concurrency\":4}}\n"}},{env_limit}],"resources":{{"limits":{{"cpu":"2"}}}}}}"#
        );
        let flag = r#"{"name":"istio-proxy","args":["proxy","sidecar","--concurrency","3"],"env":[{"name":"PROXY_CONFIG","value":"{\"concurrency\":4}"}]}"#;
        let no_limit = format!(r#"{{"name":"istio-proxy","env":[{env_limit}]}}"#);
        // By hand: 1500m -> 2, 2001m -> 3 (the downward API rounds up); the injected 4; the flag 3.
        let (w, unknown) = workers(&[&limit("1500m"), &limit("2001m"), &injected, flag, &no_limit], "");
        let at = |i: usize| w.get(&format!("ns/p{i}")).copied();
        assert_eq!((at(0), at(1), at(2), at(3), at(4)), (Some(2), Some(3), Some(4), Some(3), None));
        // No CPU limit: the node's CPUs, which a pods-only file does not say.
        assert_eq!(unknown, ["ns/p4"]);
        // The annotation overrides the injected ProxyConfig.
        let (w, _) = workers(&[&injected], r#","annotations":{"proxy.istio.io/config":"concurrency: 8\n"}"#);
        assert_eq!(w.get("ns/p0"), Some(&8));
    }
}
