//! The topology file: a TOML description of the mesh a scope is evaluated on.
//!
//! ```toml
//! ports_per_revision = 8              # optional; the model's value otherwise
//! filter_gateway_cluster_config = false # istiod's PILOT_FILTER_GATEWAY_CLUSTER_CONFIG
//!
//! [[gateways]]
//! name = "istio-ingressgateway"
//! namespace = "istio-system"
//!
//! [[namespaces]]
//! name = "shop"
//! sidecars = true                      # workloads here carry istio-proxy
//! export_to = ["*"]                    # networking.istio.io/exportTo of its Services
//! knative = [{ name = "cart", revisions = 21 }, { name = "api", count = 10, revisions = 40 }]
//! services = [{ name = "redis", ports = 1 }]
//! ```

use std::path::Path;

use serde::Deserialize;

use crate::error::{Error, Location, Result};

/// A mesh topology.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Topology {
    /// Endpoint ports per revision; the model's value when absent.
    pub ports_per_revision: Option<f64>,
    /// istiod runs with `PILOT_FILTER_GATEWAY_CLUSTER_CONFIG=true`: gateways keep only the
    /// clusters their routes use (for Knative: the revisions that receive traffic).
    #[serde(default)]
    pub filter_gateway_cluster_config: bool,
    /// Gateway proxies (not scoped by Sidecar resources).
    #[serde(default)]
    pub gateways: Vec<Gateway>,
    /// Namespaces.
    pub namespaces: Vec<Namespace>,
}

/// A gateway proxy.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Gateway {
    /// Deployment name, e.g. `knative-local-gateway`.
    pub name: String,
    /// Its namespace.
    pub namespace: String,
}

/// A namespace and what runs in it.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Namespace {
    /// Namespace name.
    pub name: String,
    /// Whether its workloads carry istio-proxy sidecars.
    #[serde(default)]
    pub sidecars: bool,
    /// `networking.istio.io/exportTo` of its Services: `*` (default), `.`, `~` or namespaces.
    #[serde(default = "export_all")]
    pub export_to: Vec<String>,
    /// Knative services.
    #[serde(default)]
    pub knative: Vec<KnativeService>,
    /// Plain Kubernetes Services.
    #[serde(default)]
    pub services: Vec<PlainService>,
}

fn export_all() -> Vec<String> {
    vec!["*".to_string()]
}

/// A Knative service (or `count` alike ones) with its retained revisions.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct KnativeService {
    /// Name (a prefix when `count` > 1).
    pub name: String,
    /// How many such services.
    #[serde(default = "one")]
    pub count: u32,
    /// Retained revisions each (active and non-active).
    pub revisions: u32,
    /// Endpoint ports per revision, overriding the topology's.
    pub ports_per_revision: Option<f64>,
}

/// A plain Kubernetes Service (or `count` alike ones).
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PlainService {
    /// Name (a prefix when `count` > 1).
    pub name: String,
    /// How many such Services.
    #[serde(default = "one")]
    pub count: u32,
    /// Ports each.
    pub ports: u32,
}

fn one() -> u32 {
    1
}

impl Topology {
    /// Read and check a topology file.
    pub fn load(path: &Path) -> Result<Topology> {
        let text = crate::output::read_input_text(path)?;
        Topology::parse(path, &text)
    }

    /// Parse topology TOML; `path` is for messages.
    pub fn parse(path: &Path, text: &str) -> Result<Topology> {
        let topo: Topology = toml::from_str(text).map_err(|e| {
            let line = e.span().map_or(0, |s| text[..s.start.min(text.len())].matches('\n').count() + 1);
            Error::parse(format!("bad topology: {}", e.message()), Location::new(path, line))
        })?;
        topo.check(path)?;
        Ok(topo)
    }

    fn check(&self, path: &Path) -> Result<()> {
        if self.namespaces.is_empty() {
            return Err(Error::data("topology has no [[namespaces]]", path));
        }
        for (i, ns) in self.namespaces.iter().enumerate() {
            if self.namespaces[..i].iter().any(|o| o.name == ns.name) {
                return Err(Error::data(format!("namespace \"{}\" is listed twice", ns.name), path));
            }
            for e in &ns.export_to {
                if e != "*" && e != "." && e != "~" && self.namespace(e).is_none() {
                    return Err(Error::data(
                        format!(
                            "namespace \"{}\" exports to \"{e}\", which is not a namespace of the topology",
                            ns.name
                        ),
                        path,
                    ));
                }
            }
            for k in &ns.knative {
                if let Some(p) = k.ports_per_revision {
                    if !(p.is_finite() && p > 0.0) {
                        return Err(Error::data(
                            format!("knative service \"{}\" has ports_per_revision {p}", k.name),
                            path,
                        ));
                    }
                }
            }
        }
        if let Some(p) = self.ports_per_revision {
            if !(p.is_finite() && p > 0.0) {
                return Err(Error::data(format!("ports_per_revision must be positive, but {p} is not"), path));
            }
        }
        for g in &self.gateways {
            if self.namespace(&g.namespace).is_none() {
                return Err(Error::data(
                    format!(
                        "gateway \"{}\" is in namespace \"{}\", which the topology does not list",
                        g.name, g.namespace
                    ),
                    path,
                ));
            }
        }
        Ok(())
    }

    /// The namespace of that name.
    pub fn namespace(&self, name: &str) -> Option<&Namespace> {
        self.namespaces.iter().find(|n| n.name == name)
    }
}
