//! What each proxy holds: revisions, endpoint ports and Services visible under a scope.

use serde::Serialize;

use super::{Namespace, Scope, Topology};
use crate::error::{Error, Result};

/// Ports of the ExternalName Service each Knative service has (its route's placeholder).
pub const EXTERNAL_NAME_PORTS: f64 = 1.0;

/// Sidecar or gateway.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum ProxyKind {
    /// The sidecars of a namespace's workloads.
    Sidecar,
    /// A gateway deployment (not scoped by Sidecar resources).
    Gateway,
}

/// What one proxy (a namespace's sidecars, or a gateway) sees.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Visible {
    /// Namespace (sidecars) or gateway name.
    pub proxy: String,
    /// Sidecar or gateway.
    pub kind: ProxyKind,
    /// Knative revisions visible.
    pub revisions: f64,
    /// Endpoint ports of those revisions.
    pub revision_ports: f64,
    /// Endpoint ports of plain Services and Knative ExternalName Services.
    pub fixed_ports: f64,
    /// Kubernetes Services visible (2 per revision, plus plain and ExternalName ones).
    pub services: f64,
}

impl Visible {
    /// All endpoint ports (= Envoy outbound clusters).
    pub fn ports(&self) -> f64 {
        self.revision_ports + self.fixed_ports
    }
}

/// Whether a Service of `owner` is exported to `proxy_ns`.
fn exported(owner: &Namespace, proxy_ns: &str) -> bool {
    owner.export_to.iter().any(|e| match e.as_str() {
        "*" => true,
        "." => owner.name == proxy_ns,
        "~" => false,
        ns => ns == proxy_ns,
    })
}

/// Count what every sidecar namespace and every gateway sees under `scope`.
pub fn visibility(topology: &Topology, scope: &Scope, default_ppr: f64) -> Result<Vec<Visible>> {
    if let Scope::Hosts(patterns) = scope {
        for p in patterns {
            if p.namespace != "*" && p.namespace != "." && topology.namespace(&p.namespace).is_none() {
                return Err(Error::invalid(format!(
                    "scope host \"{}/{}\" names namespace \"{}\", which the topology does not list",
                    p.namespace, p.host, p.namespace
                )));
            }
        }
    }
    let ppr_default = topology.ports_per_revision.unwrap_or(default_ppr);
    let count = |proxy_ns: &str, admit: &dyn Fn(&str, &str) -> bool, routed_only: bool| {
        let mut v = Visible {
            proxy: String::new(),
            kind: ProxyKind::Sidecar,
            revisions: 0.0,
            revision_ports: 0.0,
            fixed_ports: 0.0,
            services: 0.0,
        };
        for ns in &topology.namespaces {
            if !exported(ns, proxy_ns) {
                continue;
            }
            for k in ns.knative.iter().filter(|k| admit(&ns.name, &k.name)) {
                let n = f64::from(k.count);
                let revs = if routed_only { n } else { n * f64::from(k.revisions) };
                v.revisions += revs;
                v.revision_ports += revs * k.ports_per_revision.unwrap_or(ppr_default);
                v.fixed_ports += n * EXTERNAL_NAME_PORTS;
                v.services += 2.0 * revs + n;
            }
            for s in ns.services.iter().filter(|s| admit(&ns.name, &s.name)) {
                v.fixed_ports += f64::from(s.count) * f64::from(s.ports);
                v.services += f64::from(s.count);
            }
        }
        v
    };
    let mut out = Vec::new();
    for ns in topology.namespaces.iter().filter(|n| n.sidecars) {
        let admit = |service_ns: &str, host: &str| scope.admits(&ns.name, service_ns, host);
        let mut v = count(&ns.name, &admit, false);
        v.proxy = ns.name.clone();
        out.push(v);
    }
    for g in &topology.gateways {
        let admit = |_: &str, _: &str| true;
        let mut v = count(&g.namespace, &admit, topology.filter_gateway_cluster_config);
        v.proxy = g.name.clone();
        v.kind = ProxyKind::Gateway;
        out.push(v);
    }
    Ok(out)
}
