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

    /// Whether a sidecar in `proxy_ns` is told about `host` in `service_ns`.
    pub fn admits(&self, proxy_ns: &str, service_ns: &str, host: &str) -> bool {
        match self {
            Scope::Mesh => true,
            Scope::Namespace => service_ns == proxy_ns || service_ns == "istio-system",
            Scope::Hosts(patterns) => patterns.iter().any(|p| {
                let ns_ok =
                    p.namespace == "*" || (p.namespace == "." && service_ns == proxy_ns) || p.namespace == service_ns;
                ns_ok && (p.host == "*" || p.host == host)
            }),
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
