//! Envoy workers of a proxy, worked out as pilot-agent does (istio/istio
//! `pilot/cmd/pilot-agent/config/config.go`, `ConstructProxyConfig`, the same at 1.18.0, 1.22.0
//! and master):
//!
//! 1. The ProxyConfig's `concurrency`: the mesh `defaultConfig`, overridden by what the injector
//!    put in the container's `PROXY_CONFIG` env (mesh default, ProxyConfig resources and the
//!    pod's `proxy.istio.io/config` annotation merged: `pilot/pkg/model/proxy_config.go`,
//!    `EffectiveProxyConfig`), overridden by the annotation itself (`getMeshConfig`).
//! 2. Unset: `ISTIO_CPU_LIMIT`, which the injection template fills from the container's
//!    `limits.cpu` by the downward API (`manifests/charts/istio-control/istio-discovery/files/
//!    injection-template.yaml`); the kubelet rounds it up to whole CPUs (kubernetes
//!    `pkg/api/v1/resource/helpers.go`, `convertResourceCPUToString`) and, without a limit, gives
//!    the node's allocatable CPUs (`pkg/kubelet/kubelet_resources.go`,
//!    `defaultPodLimitsForDownwardAPI`).
//! 3. A legacy `--concurrency N` argument wins over both.
//! 4. `concurrency: 0`, or no `ISTIO_CPU_LIMIT` at all, passes no `--concurrency` to Envoy
//!    (`pkg/envoy/proxy.go`), which then runs one worker per hardware thread: the node's CPU
//!    capacity.
//!
//! The limit itself comes from the injection template too: any of the
//! `sidecar.istio.io/proxyCPU`, `proxyMemory`, `proxyCPULimit`, `proxyMemoryLimit` annotations
//! replace the chart's `global.proxy.resources` (request 100m, limit 2000m CPU) whole, so a pod
//! with only `proxyMemoryLimit` has no CPU limit at all and runs one worker per node CPU. The
//! gateway template (`gateway-injection-template.yaml`) sets `ISTIO_CPU_LIMIT` but no
//! resources: a gateway Deployment's `istio-proxy` keeps the limits written in it, or none.

use serde::Serialize;
use serde_json::Value;

/// What decides a proxy's workers, read from a Pod or a pod template.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct ProxySpec {
    /// `pod shop/cart-...`, `revision shop/cart-00001`, `deployment knative-serving/activator`.
    pub what: String,
    /// A running pod (its istio-proxy container), not a template.
    pub pod: bool,
    /// `--concurrency N` in the istio-proxy container's args.
    pub legacy_flag: Option<i64>,
    /// The `PROXY_CONFIG` env the injector wrote.
    pub proxy_config_env: Option<Value>,
    /// The pod's `proxy.istio.io/config` annotation.
    pub annotation_config: Option<Value>,
    /// The CPU limit that becomes `ISTIO_CPU_LIMIT`.
    pub cpu: Cpu,
    /// `sidecar.istio.io/statsInclusionPrefixes`, `...Suffixes`, `...Regexps` annotations.
    pub stats_annotations: [Option<Vec<String>>; 3],
}

/// Where `ISTIO_CPU_LIMIT` comes from.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub enum Cpu {
    /// A CPU limit in cores, and where it was written.
    Limit(f64, String),
    /// `ISTIO_CPU_LIMIT` set as a plain value.
    Value(i64),
    /// No CPU limit: the downward API gives the node's allocatable CPUs.
    NoLimit(String),
    /// The container has env but no `ISTIO_CPU_LIMIT`: Envoy runs one worker per node CPU.
    NoEnv,
    /// A template without resource annotations: the chart's `global.proxy.resources` (not in
    /// the input; 2000m in Istio's chart).
    #[default]
    Chart,
}

/// The node CPUs the input shows: (node, allocatable, capacity), largest first.
pub type Nodes = Vec<(String, f64, f64)>;

/// A proxy's workers and why.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub enum Workers {
    /// Known from the input.
    Known(u32, String),
    /// Set by the node's CPUs, but the input has no Nodes.
    NodeUnknown(String),
    /// The chart's resources decide; not in the input.
    Chart,
}

/// CPU cores of a Kubernetes CPU quantity (`500m`, `2`, `1.5`).
pub(super) fn cpu_cores(text: &str) -> Option<f64> {
    let t = text.trim();
    let cores = match t.strip_suffix('m') {
        Some(milli) => milli.parse::<f64>().ok()? / 1000.0,
        None => crate::quantity::parse_quantity(t).ok()?,
    };
    (cores.is_finite() && cores >= 0.0).then_some(cores)
}

/// The downward API's whole CPUs: `ceil(milli / 1000)`.
fn whole_cpus(cores: f64) -> u32 {
    ((cores * 1000.0).ceil() / 1000.0).ceil().min(f64::from(u32::MAX)) as u32
}

fn int(v: &Value) -> Option<i64> {
    v.as_i64().or_else(|| v.as_str().and_then(|s| s.trim().parse().ok()))
}

fn concurrency_of(config: &Value) -> Option<i64> {
    config.get("concurrency").and_then(int)
}

/// Parse a ProxyConfig written as YAML or JSON.
pub(super) fn proxy_config(text: &str) -> Option<Value> {
    serde_yaml::from_str::<Value>(text).ok().filter(Value::is_object)
}

impl ProxySpec {
    /// The proxy's effective ProxyConfig field (under any of `keys`): the annotation's, else
    /// the injector's env's, else (no env) the mesh default's.
    pub(super) fn config_field<'a>(&'a self, mesh_default: &'a Value, keys: &[&str]) -> Option<&'a Value> {
        let get = |c: &'a Value| keys.iter().find_map(|k| c.get(*k));
        self.annotation_config
            .as_ref()
            .and_then(get)
            .or_else(|| self.proxy_config_env.as_ref().and_then(get))
            .or_else(|| if self.proxy_config_env.is_none() { get(mesh_default) } else { None })
    }

    /// The workers this proxy runs.
    pub fn workers(&self, mesh_default: &Value, nodes: &Nodes) -> Workers {
        let node = |capacity: bool, why: &str| match nodes.first() {
            Some((name, allocatable, cap)) => {
                let cores = if capacity { *cap } else { *allocatable };
                let what = if capacity { "CPU capacity" } else { "allocatable CPUs" };
                let which = if nodes.len() > 1 { "the largest node, " } else { "node " };
                Workers::Known(whole_cpus(cores).max(1), format!("{why}: {which}{name}'s {what}"))
            }
            None => Workers::NodeUnknown(why.to_string()),
        };
        if let Some(n) = self.legacy_flag.filter(|&n| n > 0) {
            return Workers::Known(n.min(i64::from(u32::MAX)) as u32, "its --concurrency argument".into());
        }
        let explicit = self.config_field(mesh_default, &["concurrency"]).and_then(int);
        let source = if self.annotation_config.as_ref().and_then(concurrency_of).is_some() {
            "proxy.istio.io/config concurrency"
        } else if self.proxy_config_env.as_ref().and_then(concurrency_of).is_some() {
            "concurrency in its PROXY_CONFIG"
        } else {
            "mesh defaultConfig.concurrency"
        };
        match explicit {
            Some(n) if n > 0 => Workers::Known(n.min(i64::from(u32::MAX)) as u32, source.to_string()),
            Some(_) => node(true, &format!("{source} 0: one worker per CPU")),
            None => match &self.cpu {
                Cpu::Limit(cores, at) => {
                    Workers::Known(whole_cpus(*cores).max(1), format!("CPU limit {at} ({cores} CPUs), rounded up"))
                }
                Cpu::Value(n) if *n > 0 => Workers::Known(*n as u32, "its ISTIO_CPU_LIMIT value".into()),
                Cpu::Value(_) | Cpu::NoEnv => node(true, "no ISTIO_CPU_LIMIT: one worker per CPU"),
                Cpu::NoLimit(why) => node(false, &format!("no CPU limit ({why}): ISTIO_CPU_LIMIT is the node's")),
                Cpu::Chart => Workers::Chart,
            },
        }
    }

    /// A running Pod's istio-proxy container (or native sidecar init container); `None` when
    /// the pod has none.
    pub(super) fn of_pod(what: String, o: &Value) -> Option<ProxySpec> {
        let spec = o.get("spec")?;
        let proxy = ["containers", "initContainers"]
            .iter()
            .flat_map(|k| spec.get(*k).and_then(Value::as_array).into_iter().flatten())
            .find(|c| c.get("name").and_then(Value::as_str) == Some("istio-proxy"))?;
        let mut p = ProxySpec { what, pod: true, ..ProxySpec::default() };
        p.annotations(o.pointer("/metadata/annotations"));
        let args: Vec<&str> =
            proxy.get("args").and_then(Value::as_array).into_iter().flatten().filter_map(Value::as_str).collect();
        p.legacy_flag = args
            .iter()
            .position(|a| *a == "--concurrency")
            .and_then(|i| args.get(i + 1).and_then(|v| v.parse().ok()))
            .or_else(|| args.iter().find_map(|a| a.strip_prefix("--concurrency=").and_then(|v| v.parse().ok())));
        let env = proxy.get("env").and_then(Value::as_array);
        let var = |name: &str| env.into_iter().flatten().find(|e| e.get("name").and_then(Value::as_str) == Some(name));
        p.proxy_config_env =
            var("PROXY_CONFIG").and_then(|e| e.get("value")).and_then(Value::as_str).and_then(proxy_config);
        let limit = proxy
            .pointer("/resources/limits/cpu")
            .and_then(|v| v.as_str().map(str::to_string).or_else(|| v.as_f64().map(|f| f.to_string())))
            .and_then(|t| cpu_cores(&t).map(|c| (c, t)))
            .map(|(c, t)| Cpu::Limit(c, format!("{t} on istio-proxy")))
            .or_else(|| {
                // Pod-level resources stand in for a container without limits (kubelet_resources.go).
                let t = o.pointer("/spec/resources/limits/cpu").and_then(Value::as_str)?;
                cpu_cores(t).map(|c| Cpu::Limit(c, format!("{t} on the pod")))
            });
        p.cpu = match var("ISTIO_CPU_LIMIT") {
            Some(e) => match e.get("value").and_then(int) {
                Some(n) => Cpu::Value(n),
                None => limit.unwrap_or_else(|| Cpu::NoLimit("istio-proxy has no limits.cpu".into())),
            },
            None if env.is_some() => Cpu::NoEnv,
            // A trimmed container without env: as the injection template writes it.
            None => limit.unwrap_or_else(|| Cpu::NoLimit("istio-proxy has no limits.cpu".into())),
        };
        Some(p)
    }

    /// A pod template (a Revision's or Knative Service's metadata, a Deployment's template)
    /// before injection: the injection template's `resources` from the annotations.
    pub(super) fn of_template(what: String, meta: &Value) -> ProxySpec {
        let mut p = ProxySpec { what, ..ProxySpec::default() };
        let annotations = meta.get("annotations");
        p.annotations(annotations);
        let a = |k: &str| annotations.and_then(|m| m.get(k)).and_then(Value::as_str);
        let resource_annotations = ["proxyCPU", "proxyMemory", "proxyCPULimit", "proxyMemoryLimit"];
        p.cpu = match a("sidecar.istio.io/proxyCPULimit") {
            Some(t) => match cpu_cores(t) {
                Some(c) => Cpu::Limit(c, format!("{t} (sidecar.istio.io/proxyCPULimit)")),
                None => Cpu::Chart,
            },
            None => match resource_annotations.iter().find(|k| a(&format!("sidecar.istio.io/{k}")).is_some()) {
                Some(k) => {
                    Cpu::NoLimit(format!("sidecar.istio.io/{k} without proxyCPULimit replaces the chart's limits"))
                }
                None => Cpu::Chart,
            },
        };
        p
    }

    fn annotations(&mut self, annotations: Option<&Value>) {
        let a = |k: &str| annotations.and_then(|m| m.get(k)).and_then(Value::as_str);
        self.annotation_config = a("proxy.istio.io/config").and_then(proxy_config);
        let list =
            |k: &str| a(k).map(|v| v.split(',').map(|s| s.trim().to_string()).filter(|s| !s.is_empty()).collect());
        self.stats_annotations = [
            list("sidecar.istio.io/statsInclusionPrefixes"),
            list("sidecar.istio.io/statsInclusionSuffixes"),
            list("sidecar.istio.io/statsInclusionRegexps"),
        ];
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cpu_quantities_round_up_as_the_downward_api_does() {
        assert_eq!(cpu_cores("500m"), Some(0.5));
        assert_eq!(cpu_cores("2"), Some(2.0));
        assert_eq!(whole_cpus(0.5), 1);
        assert_eq!(whole_cpus(2.0), 2);
        assert_eq!(whole_cpus(3.92), 4);
        assert_eq!(cpu_cores("lots"), None);
    }

    fn n(w: Workers) -> Option<u32> {
        match w {
            Workers::Known(n, _) => Some(n),
            _ => None,
        }
    }

    /// pilot-agent's order (istio/istio `pilot/cmd/pilot-agent/config/config.go` at 1.22.0,
    /// `ConstructProxyConfig` and `getMeshConfig`): the annotation over PROXY_CONFIG over the
    /// mesh default; unset, ISTIO_CPU_LIMIT (limits.cpu rounded up, else the node's allocatable);
    /// the legacy flag over all; 0 leaves Envoy one worker per hardware thread
    /// (`pkg/envoy/proxy.go`: no --concurrency when 0).
    #[test]
    fn workers_in_pilot_agents_order() {
        let nodes: Nodes = vec![("big".into(), 7.5, 8.0)];
        let pod = |annotation: Option<&str>, env: Option<&str>, limit: Option<&str>, args: &[&str]| {
            let mut c = serde_json::json!({"name": "istio-proxy", "args": args, "env": [
                {"name": "ISTIO_CPU_LIMIT", "valueFrom": {"resourceFieldRef": {"resource": "limits.cpu"}}}]});
            if let Some(e) = env {
                c["env"].as_array_mut().unwrap().push(serde_json::json!({"name": "PROXY_CONFIG", "value": e}));
            }
            if let Some(l) = limit {
                c["resources"] = serde_json::json!({"limits": {"cpu": l}});
            }
            let mut o = serde_json::json!({"metadata": {"annotations": {}}, "spec": {"containers": [c]}});
            if let Some(a) = annotation {
                o["metadata"]["annotations"]["proxy.istio.io/config"] = Value::String(a.into());
            }
            ProxySpec::of_pod("pod".into(), &o).unwrap()
        };
        let mesh3 = serde_json::json!({"concurrency": 3});
        let none = Value::Null;
        assert_eq!(
            n(pod(Some("concurrency: 6"), Some(r#"{"concurrency":4}"#), Some("1"), &[]).workers(&mesh3, &nodes)),
            Some(6)
        );
        assert_eq!(n(pod(None, Some(r#"{"concurrency":4}"#), Some("1"), &[]).workers(&mesh3, &nodes)), Some(4));
        // No PROXY_CONFIG env (a gateway reading the mounted mesh config): the mesh default.
        assert_eq!(n(pod(None, None, Some("1"), &[]).workers(&mesh3, &nodes)), Some(3));
        // The injector's env without concurrency: the mesh default was merged in already.
        assert_eq!(n(pod(None, Some("{}"), Some("1500m"), &[]).workers(&mesh3, &nodes)), Some(2));
        assert_eq!(n(pod(None, Some("{}"), None, &[]).workers(&none, &nodes)), Some(8), "allocatable 7.5 -> 8");
        assert_eq!(n(pod(None, Some("{}"), None, &[]).workers(&none, &Vec::new())), None, "no Nodes: unknown");
        assert_eq!(
            n(pod(None, Some(r#"{"concurrency":0}"#), Some("1"), &[]).workers(&none, &nodes)),
            Some(8),
            "capacity"
        );
        assert_eq!(
            n(pod(Some("concurrency: 6"), None, None, &["proxy", "--concurrency", "5"]).workers(&none, &nodes)),
            Some(5)
        );
        // Templates: the injection template's resources from the annotations, else the chart's.
        let t = |a: serde_json::Value| ProxySpec::of_template("t".into(), &serde_json::json!({"annotations": a}));
        assert_eq!(
            n(t(serde_json::json!({"sidecar.istio.io/proxyCPULimit": "2500m"})).workers(&none, &nodes)),
            Some(3)
        );
        assert_eq!(
            n(t(serde_json::json!({"sidecar.istio.io/proxyMemoryLimit": "2Gi"})).workers(&none, &nodes)),
            Some(8)
        );
        assert_eq!(t(serde_json::json!({})).workers(&none, &nodes), Workers::Chart);
        assert_eq!(n(t(serde_json::json!({})).workers(&mesh3, &nodes)), Some(3));
    }
}
