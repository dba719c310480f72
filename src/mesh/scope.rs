//! Sidecar scopes: which Services a namespace's sidecars are told about.

use std::fmt;

use crate::error::{Error, Result};

/// One Sidecar `egress.hosts` entry: `namespace/host`, where namespace may be `.` (the
/// sidecar's own) or `*`, and host may be `*`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HostPattern {
    /// `.`, `*` or a namespace name.
    pub namespace: String,
    /// `*`, a plain Service name, or a Knative service name (standing for all its revisions).
    pub host: String,
}

/// A scope for every sidecar of the mesh.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Scope {
    /// No Sidecar resource: every proxy sees every Service (Istio's default).
    Mesh,
    /// Sidecar egress hosts `./*` and `istio-system/*` in every namespace.
    Namespace,
    /// An explicit egress host list, the same in every namespace.
    Hosts(Vec<HostPattern>),
}

impl Scope {
    /// Parse `mesh`, `namespace` or `hosts=ns/*,ns/svc,...`.
    pub fn parse(text: &str) -> Result<Scope> {
        match text.trim() {
            "mesh" => Ok(Scope::Mesh),
            "namespace" => Ok(Scope::Namespace),
            t => {
                let list = t.strip_prefix("hosts=").ok_or_else(|| {
                    Error::invalid(format!(
                        "scope must be mesh, namespace or hosts=ns/svc,..., but \"{t}\" is none of them"
                    ))
                })?;
                let hosts = list
                    .split(',')
                    .map(|h| {
                        let (ns, host) = h.trim().split_once('/').ok_or_else(|| {
                            Error::invalid(format!(
                                "egress host \"{h}\" must be namespace/host (e.g. ./* or shop/cart)"
                            ))
                        })?;
                        if ns.is_empty() || host.is_empty() {
                            return Err(Error::invalid(format!("egress host \"{h}\" has an empty namespace or host")));
                        }
                        Ok(HostPattern { namespace: ns.to_string(), host: host.to_string() })
                    })
                    .collect::<Result<Vec<_>>>()?;
                Ok(Scope::Hosts(hosts))
            }
        }
    }

    /// The egress hosts a Sidecar resource needs to realize this scope (None for `mesh`).
    pub fn egress_hosts(&self) -> Option<Vec<String>> {
        match self {
            Scope::Mesh => None,
            Scope::Namespace => Some(vec!["./*".into(), "istio-system/*".into()]),
            Scope::Hosts(h) => Some(h.iter().map(|p| format!("{}/{}", p.namespace, p.host)).collect()),
        }
    }

    /// The egress hosts of [`Scope::Namespace`]: `./*` and `istio-system/*`.
    pub fn namespace_hosts() -> Vec<HostPattern> {
        vec![
            HostPattern { namespace: ".".into(), host: "*".into() },
            HostPattern { namespace: "istio-system".into(), host: "*".into() },
        ]
    }
}

/// Suffix of in-cluster Service hosts.
const CLUSTER_SUFFIX: &str = ".svc.cluster.local";

impl HostPattern {
    /// The host is `*` or a wildcard over every namespace (`*.svc.cluster.local`,
    /// `*.cluster.local`, `*.local`): Istio matches such hosts against every Service.
    pub fn covers_all_namespaces(&self) -> bool {
        matches!(self.host.as_str(), "*" | "*.svc.cluster.local" | "*.cluster.local" | "*.local")
    }

    /// The namespace whose Services this pattern admits whole, if it does: `ns/*`, `./*`
    /// (the proxy's own), `ns/*.svc.cluster.local` (or any wildcard covering every in-cluster
    /// host, limited to `ns`), or `ns/*.ns.svc.cluster.local` and `*/*.ns.svc.cluster.local`.
    pub fn whole_namespace(&self, proxy_ns: &str) -> Option<String> {
        let ns = if self.namespace == "." { proxy_ns } else { self.namespace.as_str() };
        if ns != "*" && self.covers_all_namespaces() {
            return Some(ns.to_string());
        }
        let inner = self.host.strip_prefix("*.")?.strip_suffix(CLUSTER_SUFFIX)?;
        (ns == "*" || ns == inner).then(|| inner.to_string())
    }

    /// The namespace a wildcard host names (`*.ns.svc.cluster.local`), if it names one.
    pub fn wildcard_namespace(&self) -> Option<&str> {
        self.host.strip_prefix("*.")?.strip_suffix(CLUSTER_SUFFIX).filter(|n| !n.contains('.'))
    }

    /// A host naming one Service: its name, and its namespace when written as a FQDN
    /// (`cart.shop.svc.cluster.local`, `cart.shop.svc`, `cart.shop`). None for wildcards.
    ///
    /// Istio wants `namespace/FQDN`; a bare name (`shop/cart`) is taken as that namespace's
    /// Service, the FQDN meshcap writes when it emits the Sidecar.
    pub fn service_host(&self) -> Option<(&str, Option<&str>)> {
        if self.host.contains('*') {
            return None;
        }
        let h = self.host.strip_suffix(CLUSTER_SUFFIX).or_else(|| self.host.strip_suffix(".svc")).unwrap_or(&self.host);
        match h.split_once('.') {
            None => Some((h, None)),
            Some((name, ns)) if !ns.contains('.') => Some((name, Some(ns))),
            // An external host (a ServiceEntry, `api.example.com`): no Service of the topology.
            Some(_) => None,
        }
    }
}

impl fmt::Display for Scope {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Scope::Mesh => f.write_str("mesh"),
            Scope::Namespace => f.write_str("namespace"),
            Scope::Hosts(h) => {
                let list: Vec<String> = h.iter().map(|p| format!("{}/{}", p.namespace, p.host)).collect();
                write!(f, "hosts={}", list.join(","))
            }
        }
    }
}
