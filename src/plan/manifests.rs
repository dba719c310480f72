//! The YAML a plan applies: a Sidecar per narrowed namespace, a strategic-merge patch per
//! Knative service template with its memory annotations and the `kustomization.yaml` listing
//! them, and `config-gc` when the plan changes it. Every document is serialized by `serde_yaml`
//! from names checked as Kubernetes names, and carries exactly what `plan.json` says.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use super::Plan;
use crate::error::{Error, Result};
use crate::mesh::{names, GcPolicy};
use crate::project::sidecar::{render, Document, Egress, Metadata, SidecarResource, SidecarSpec};

/// Istio's annotation for the sidecar's memory request (istio/istio
/// `manifests/charts/istio-control/istio-discovery/files/injection-template.yaml`,
/// `sidecar.istio.io/proxyMemory`).
pub const PROXY_MEMORY: &str = "sidecar.istio.io/proxyMemory";
/// Istio's annotation for the sidecar's memory limit (`sidecar.istio.io/proxyMemoryLimit`).
pub const PROXY_MEMORY_LIMIT: &str = "sidecar.istio.io/proxyMemoryLimit";

/// One file of the plan's output folder: its path inside it and its text.
pub type File = (String, String);

/// `sidecars/<namespace>.yaml` for every namespace the plan narrows.
pub fn sidecars(plan: &Plan) -> Result<Vec<File>> {
    let mut out = Vec::new();
    for ns in plan.namespaces.iter().filter(|n| n.scope == "hosts") {
        names::namespace(&ns.namespace)?;
        if plan.sidecar_api_version.is_empty() {
            return Err(Error::invalid("the topology's Istio release has no Sidecar resource: no Sidecar to emit"));
        }
        let doc = Document {
            comments: vec![format!("meshcap plan: {}", ns.reason)],
            resource: SidecarResource {
                api_version: plan.sidecar_api_version.clone(),
                kind: "Sidecar".into(),
                metadata: Metadata { name: names::object("default")?.to_string(), namespace: ns.namespace.clone() },
                spec: SidecarSpec { egress: vec![Egress { hosts: ns.egress_hosts.clone() }] },
            },
        };
        let header = vec![format!(
            "the egress hosts of namespace {}: every destination its sidecars were seen calling, and istio-system/*",
            ns.namespace
        )];
        out.push((format!("sidecars/{}.yaml", ns.namespace), render(&header, &[doc])?));
    }
    Ok(out)
}

/// A strategic-merge patch of a Knative Service's template annotations.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct ServicePatch {
    /// `serving.knative.dev/v1`.
    pub api_version: String,
    /// `Service`.
    pub kind: String,
    /// The Knative service.
    pub metadata: Metadata,
    /// `spec.template.metadata.annotations`.
    pub spec: PatchSpec,
}

/// `spec` of a [`ServicePatch`].
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PatchSpec {
    /// The revision template.
    pub template: PatchTemplate,
}

/// `spec.template` of a [`ServicePatch`].
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PatchTemplate {
    /// Its metadata.
    pub metadata: PatchMetadata,
}

/// `spec.template.metadata` of a [`ServicePatch`].
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PatchMetadata {
    /// The two annotations.
    pub annotations: BTreeMap<String, String>,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct Kustomization {
    api_version: &'static str,
    kind: &'static str,
    patches: Vec<PatchRef>,
}

#[derive(Serialize)]
struct PatchRef {
    path: String,
    target: Target,
}

#[derive(Serialize)]
struct Target {
    group: &'static str,
    version: &'static str,
    kind: &'static str,
    name: String,
    namespace: String,
}

fn yaml<T: Serialize>(what: &str, value: &T) -> Result<String> {
    serde_yaml::to_string(value).map_err(|e| Error::invalid(format!("cannot write {what} as YAML: {e}")))
}

/// `patches/<namespace>-<service>.yaml` for every Knative service of an annotated namespace,
/// and `patches/kustomization.yaml` listing them; nothing when no namespace is annotated.
///
/// A patch on `spec.template` makes Knative create a new revision of each service (the
/// annotations take effect in its pods; knative/serving creates a revision per template change).
pub fn patches(plan: &Plan) -> Result<Vec<File>> {
    let mut out = Vec::new();
    let mut refs = Vec::new();
    for ns in &plan.namespaces {
        let (Some(request), Some(limit)) = (&ns.proxy_memory, &ns.proxy_memory_limit) else { continue };
        names::namespace(&ns.namespace)?;
        for svc in &ns.knative_services {
            names::object(svc)?;
            let annotations =
                [(PROXY_MEMORY.to_string(), request.clone()), (PROXY_MEMORY_LIMIT.to_string(), limit.clone())]
                    .into_iter()
                    .collect();
            let patch = ServicePatch {
                api_version: "serving.knative.dev/v1".into(),
                kind: "Service".into(),
                metadata: Metadata { name: svc.clone(), namespace: ns.namespace.clone() },
                spec: PatchSpec { template: PatchTemplate { metadata: PatchMetadata { annotations } } },
            };
            let file = format!("{}-{svc}.yaml", ns.namespace);
            let head = format!(
                "# meshcap plan: {} {request}, {} {limit}: the after-plan forecast at {} days, push allowance included\n",
                PROXY_MEMORY, PROXY_MEMORY_LIMIT, plan.horizon_days
            );
            out.push((format!("patches/{file}"), head + &yaml("the patch", &patch)?));
            refs.push(PatchRef {
                path: file,
                target: Target {
                    group: "serving.knative.dev",
                    version: "v1",
                    kind: "Service",
                    name: svc.clone(),
                    namespace: ns.namespace.clone(),
                },
            });
        }
    }
    if refs.is_empty() {
        return Ok(out);
    }
    let k = Kustomization { api_version: "kustomize.config.k8s.io/v1beta1", kind: "Kustomization", patches: refs };
    let head = "# meshcap plan: the memory annotations of every Knative service template. List your Knative\n\
                # Service manifests under `resources:` (or include this folder from your kustomization), or\n\
                # apply each file with `kubectl patch ksvc NAME -n NAMESPACE --type merge --patch-file FILE`.\n";
    out.push(("patches/kustomization.yaml".into(), head.to_string() + &yaml("the kustomization", &k)?));
    Ok(out)
}

/// `config-gc` data as Knative reads it (`pkg/gc/config.go`: durations or `disabled`, whole numbers).
pub fn gc_data(p: &GcPolicy) -> BTreeMap<String, String> {
    let duration = |h: Option<f64>| h.map_or_else(|| "disabled".to_string(), |h| format!("{}h", trim(h)));
    [
        ("retain-since-create-time", duration(p.retain_since_create_h)),
        ("retain-since-last-active-time", duration(p.retain_since_last_active_h)),
        ("min-non-active-revisions", p.min_non_active.to_string()),
        ("max-non-active-revisions", p.max_non_active.map_or_else(|| "disabled".to_string(), |m| m.to_string())),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_string(), v))
    .collect()
}

fn trim(h: f64) -> String {
    let s = format!("{h:.6}");
    s.trim_end_matches('0').trim_end_matches('.').to_string()
}

/// The `config-gc` ConfigMap in `knative-serving`, when the plan changes it.
pub fn config_gc(plan: &Plan) -> Result<Option<File>> {
    #[derive(Serialize)]
    #[serde(rename_all = "camelCase")]
    struct ConfigMap {
        api_version: &'static str,
        kind: &'static str,
        metadata: Metadata,
        data: BTreeMap<String, String>,
    }
    if !plan.gc.changed {
        return Ok(None);
    }
    let cm = ConfigMap {
        api_version: "v1",
        kind: "ConfigMap",
        metadata: Metadata { name: "config-gc".into(), namespace: crate::mesh::KNATIVE_SERVING.into() },
        data: gc_data(&plan.gc.recommended),
    };
    let head = format!("# meshcap plan: {}\n", plan.gc.reason.replace('\n', " "));
    Ok(Some(("config-gc.yaml".into(), head + &yaml("config-gc", &cm)?)))
}
