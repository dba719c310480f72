//! The Sidecar resources that realize a scope: one per scoped namespace, as YAML built with a
//! YAML library from names checked as Kubernetes names, so what is written reads back as what
//! was meant.
//!
//! Who gets none, and why:
//! - mesh infrastructure (Knative's activator must reach every revision: knative/serving
//!   `pkg/activator/net/revision_backends.go`);
//! - namespaces holding gateways (Sidecar resources do not scope gateways, istio/istio#29131,
//!   and the workloads beside them are usually Istio's own);
//! - `istio-system`, Istio's default root namespace: a Sidecar without `workloadSelector` there
//!   is the default of every namespace that has none (istio/api `networking/v1beta1/sidecar.proto`
//!   at 1.5.0, "NOTE 2"), which would narrow the infrastructure too;
//! - namespaces whose scope is `mesh` (Istio's default: no resource).

use serde::{Deserialize, Serialize};

use crate::error::{Error, Result};
use crate::mesh::{names, Scope, ScopeMap, Topology};

/// A `networking.istio.io` Sidecar resource, as much of it as meshcap writes.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct SidecarResource {
    /// `networking.istio.io/v1alpha3`, `v1beta1` or `v1`, as the Istio release serves.
    pub api_version: String,
    /// Always `Sidecar`.
    pub kind: String,
    /// Name and namespace.
    pub metadata: Metadata,
    /// The egress hosts.
    pub spec: SidecarSpec,
}

/// `metadata` of a resource.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Metadata {
    /// Object name (a DNS-1123 subdomain).
    pub name: String,
    /// Namespace (a DNS-1123 label).
    pub namespace: String,
}

/// `spec` of a Sidecar.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SidecarSpec {
    /// One egress listener with its hosts.
    pub egress: Vec<Egress>,
}

/// One `egress` entry.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Egress {
    /// `namespace/host` entries.
    pub hosts: Vec<String>,
}

/// A resource with the comments written above it.
#[derive(Debug, Clone, PartialEq)]
pub struct Document {
    /// One line each, without the `#`.
    pub comments: Vec<String>,
    /// The resource.
    pub resource: SidecarResource,
}

/// Istio's default root namespace (MeshConfig `rootNamespace`).
const ROOT_NAMESPACE: &str = "istio-system";

/// Refuse an egress host unless it is `NS/HOST` with NS `.`, `*` or a namespace name and HOST
/// `*`, `*.SUBDOMAIN` or a DNS-1123 subdomain.
fn check_host(entry: &str) -> Result<()> {
    let ok = entry.split_once('/').is_some_and(|(ns, host)| {
        (ns == "." || ns == "*" || names::is_label(ns))
            && (host == "*" || names::is_subdomain(host.strip_prefix("*.").unwrap_or(host)))
    });
    if ok {
        return Ok(());
    }
    Err(Error::invalid(format!(
        "egress host {entry:?} is not NAMESPACE/HOST with Kubernetes names (DNS-1123: a-z, 0-9, '-' and '.'; '*' and '.' as Istio allows)"
    )))
}

/// The egress hosts of `scope` for a sidecar in `ns`, with comments about them.
fn hosts_for(topology: &Topology, scope: &Scope, ns: &str) -> (Vec<String>, Vec<String>) {
    let patterns = match scope {
        Scope::Mesh => return (Vec::new(), Vec::new()),
        Scope::Namespace => Scope::namespace_hosts(),
        Scope::Hosts(p) => p.clone(),
    };
    let mut hosts = Vec::new();
    let mut comments = Vec::new();
    for p in patterns {
        let (namespace, host) = (&p.namespace, &p.host);
        if host.contains('*') || host.contains('.') {
            hosts.push(format!("{namespace}/{host}"));
            continue;
        }
        // Istio wants `namespace/FQDN`: a Service name is written as its FQDN.
        let owner = match namespace.as_str() {
            "." => Some(ns),
            "*" => None,
            other => Some(other),
        };
        match owner {
            Some(o) => {
                let knative = topology.namespace(o).is_some_and(|o| o.knative.iter().any(|k| k.name == *host));
                if knative {
                    comments.push(format!(
                        "{o}/{host} is a Knative service: its {host}-mesh VirtualService adds the public Services of the revisions in its traffic"
                    ));
                }
                hosts.push(format!("{namespace}/{host}.{o}.svc.cluster.local"));
            }
            None => {
                comments.push(format!("*/{host}: Istio needs a FQDN per namespace here; list them one by one"));
                hosts.push(format!("*/{host}"));
            }
        }
    }
    (hosts, comments)
}

/// The Sidecar resources realizing `scopes` on `topology`: one per scoped sidecar namespace,
/// none for infrastructure, gateway or root namespaces or namespaces left at `mesh`.
///
/// Istio wants egress hosts as `namespace/FQDN`, so a Service name `shop/redis` is written
/// `shop/redis.shop.svc.cluster.local`. A Knative service's host is written the same way: its
/// `<ksvc>-mesh` VirtualService then brings in the public Services of the revisions in its
/// traffic (Istio's SidecarScope adds VirtualService destinations, `pilot/pkg/model/sidecar.go`),
/// which is what callers need; retained revisions that receive no traffic stay out.
pub fn sidecar_documents(topology: &Topology, scopes: &ScopeMap) -> Result<Vec<Document>> {
    scopes.check(topology)?;
    let versions = topology.versions();
    let api = versions.sidecar_api_version().ok_or_else(|| {
        Error::invalid(format!(
            "Istio {} has no Sidecar resource (its CRD appeared in Istio 1.1 as networking.istio.io/v1alpha3): no Sidecar to emit",
            versions.istio
        ))
    })?;
    let gateway_ns = |n: &str| topology.gateways.iter().any(|g| g.namespace == n);
    let mut out = Vec::new();
    for ns in topology.namespaces.iter().filter(|n| n.sidecars) {
        if ns.infrastructure() || gateway_ns(&ns.name) || ns.name == ROOT_NAMESPACE {
            continue;
        }
        let (hosts, comments) = hosts_for(topology, scopes.scope_of(&ns.name), &ns.name);
        if hosts.is_empty() {
            continue;
        }
        names::namespace(&ns.name)?;
        hosts.iter().try_for_each(|h| check_host(h))?;
        out.push(Document {
            comments,
            resource: SidecarResource {
                api_version: api.to_string(),
                kind: "Sidecar".into(),
                metadata: Metadata { name: names::object("default")?.to_string(), namespace: ns.name.clone() },
                spec: SidecarSpec { egress: vec![Egress { hosts }] },
            },
        });
    }
    Ok(out)
}

/// Multi-document YAML of `documents`, each after `---`, its comments above it, `header`
/// lines first. The resources are serialized by `serde_yaml`; comments go in as `#` lines and
/// must hold no line break (callers build them from checked names).
pub fn render(header: &[String], documents: &[Document]) -> Result<String> {
    let mut s = String::new();
    for line in header {
        s.push_str(&format!("# {line}\n"));
    }
    for d in documents {
        s.push_str("---\n");
        for c in &d.comments {
            s.push_str(&format!("# {c}\n"));
        }
        let body = serde_yaml::to_string(&d.resource)
            .map_err(|e| Error::invalid(format!("cannot write the Sidecar as YAML: {e}")))?;
        s.push_str(&body);
    }
    Ok(s)
}

/// Sidecar YAML realizing `scopes` (see [`sidecar_documents`]), in the API version the
/// topology's Istio serves; None when no namespace needs one.
pub fn sidecar_yaml(topology: &Topology, scopes: &ScopeMap) -> Result<Option<String>> {
    let documents = sidecar_documents(topology, scopes)?;
    if documents.is_empty() {
        return Ok(None);
    }
    let versions = topology.versions();
    let mut header = Vec::new();
    if versions.istio_assumed {
        header.push(format!(
            "Istio {} assumed (the topology names no istio_version): Sidecar is v1alpha3 from Istio 1.1, v1beta1 from 1.5, v1 from 1.22",
            versions.istio
        ));
    }
    let skipped: Vec<&str> = topology
        .namespaces
        .iter()
        .filter(|n| n.sidecars && n.infrastructure() && names::is_label(&n.name))
        .map(|n| n.name.as_str())
        .collect();
    if !skipped.is_empty() {
        header.push(format!(
            "no Sidecar for {}: mesh infrastructure must reach every revision (the activator sends to each revision's private Service)",
            skipped.join(", ")
        ));
    }
    render(&header, &documents).map(Some)
}

#[cfg(test)]
mod tests;
