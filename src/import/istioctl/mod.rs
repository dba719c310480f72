//! `istioctl proxy-config cluster POD -o json` and Envoy `/config_dump`: what one proxy holds.
//!
//! The array form is protobuf-JSON in lowerCamelCase; a `/config_dump` wraps the same
//! clusters (snake_case) as `static_clusters[].cluster` and `dynamic_active_clusters[].cluster`
//! of the `ClustersConfigDump` entry, whatever its `@type` version says. Cluster names tell
//! what each is:
//!
//! - `outbound|PORT|SUBSET|FQDN`: one Envoy cluster per Service port (and per subset): the
//!   unit sidecar memory grows by. Namespaces come from FQDNs ending in
//!   `.svc.<cluster domain>` only: ServiceEntry hosts such as `deb.debian.org` or
//!   `myhost.tcp.svc` are counted as external, not as namespaces `debian` or `tcp`.
//! - Knative revision Services are recognised by their names, `NAME-0000N` (public) and
//!   `NAME-0000N-private`, since a dump carries no labels: revisions named otherwise
//!   (OpenShift's `example-2fvz4`) count as plain Services. `import kubectl` uses the labels.
//! - `outbound_.PORT_.SUBSET_.FQDN` are a gateway's SNI-DNAT twins of the outbound clusters
//!   (AUTO_PASSTHROUGH servers; istio/istio `pilot/pkg/networking/core/cluster.go`,
//!   `SniDnatClusterMode`): clusters that hold memory like any other, so they count in
//!   [`Counts::service_clusters`], while services and revisions are counted once.
//! - `inbound|...`, `inbound-vip|...`, and the rest (`BlackHoleCluster`, `xds-grpc`, ...).
//!
//! Which proxy a dump is comes from its bootstrap node (`node`); several dumps over time
//! with a readings file become a fleet's long form (`fleet`).

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;

use serde::Serialize;
use serde_json::Value;

mod append;
mod fleet;
mod node;

pub use append::{append_row, Row};
pub use fleet::{parse_readings, to_fleet, Dump, Reading};
pub use node::Node;

use node::node_of;

use crate::error::{Error, Result};

/// What a cluster is, from its name.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Direction {
    /// `outbound|...`: a Service port seen by the proxy.
    Outbound,
    /// `inbound|...` or `inbound-vip|...`: the proxy's own workload.
    Inbound,
    /// `outbound_.`: a gateway's SNI-DNAT cluster.
    SniDnat,
    /// Static and special clusters.
    Other,
}

/// One Envoy cluster.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Cluster {
    /// Full name.
    pub name: String,
    /// Classified from the name.
    pub direction: Direction,
    /// Service port, for outbound and inbound clusters.
    pub port: Option<u32>,
    /// DestinationRule subset (empty when none) or, for inbound, the port name.
    pub subset: String,
    /// Service FQDN (empty for special clusters).
    pub host: String,
    /// Discovery type: EDS, STATIC, STRICT_DNS, ORIGINAL_DST, ...
    pub discovery: String,
}

/// Clusters of one namespace.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct NamespaceCounts {
    /// Outbound clusters (one per Service port and subset).
    pub outbound_clusters: usize,
    /// Distinct Services (hosts).
    pub services: usize,
    /// Outbound clusters of Knative revision Services.
    pub knative_clusters: usize,
    /// Distinct Knative services.
    pub knative_services: usize,
    /// Distinct Knative revisions.
    pub knative_revisions: usize,
}

/// What one proxy holds.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct Counts {
    /// The proxy, from a `/config_dump`'s bootstrap.
    pub node: Node,
    /// `sidecar`, `gateway` (Envoy node type `router`), `waypoint`, or `unknown` (a
    /// `proxy-config cluster` array carries no node).
    pub proxy_kind: String,
    /// Clusters the proxy's memory follows: outbound plus SNI-DNAT (the model's `ports`).
    pub service_clusters: usize,
    /// All clusters.
    pub clusters: usize,
    /// `outbound|` clusters.
    pub outbound: usize,
    /// Outbound clusters with a subset.
    pub outbound_with_subset: usize,
    /// `inbound|` and `inbound-vip|` clusters.
    pub inbound: usize,
    /// `outbound_.` SNI-DNAT clusters (gateways).
    pub sni_dnat: usize,
    /// Static and special clusters.
    pub other: usize,
    /// Distinct outbound Service hosts in the cluster domain.
    pub services: usize,
    /// Distinct Knative revisions among them.
    pub knative_revisions: usize,
    /// Outbound clusters whose host is outside the cluster domain (ServiceEntry hosts).
    pub external_clusters: usize,
    /// Those hosts.
    pub external_hosts: Vec<String>,
    /// Outbound clusters by discovery type.
    pub outbound_types: BTreeMap<String, usize>,
    /// Outbound clusters by namespace (cluster-domain hosts only).
    pub by_namespace: BTreeMap<String, NamespaceCounts>,
    /// Outbound clusters per Knative service, keyed `namespace/name`.
    pub knative: BTreeMap<String, KnativeCounts>,
}

/// One Knative service as a proxy sees it.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct KnativeCounts {
    /// Distinct revisions.
    pub revisions: usize,
    /// Outbound clusters of their Services (public and private).
    pub clusters: usize,
}

/// Read clusters from `istioctl proxy-config cluster -o json` (an array) or a `/config_dump`.
pub fn parse(path: &Path, bytes: &[u8]) -> Result<(Vec<Cluster>, Node)> {
    let value: Value =
        serde_json::from_slice(bytes).map_err(|e| Error::data(super::json_error_message(bytes, &e), path))?;
    crate::output::check_consistent_keys(path, &String::from_utf8_lossy(bytes))?;
    let (raw, node): (Vec<&Value>, Node) = match &value {
        Value::Array(items) => (items.iter().collect(), Node::default()),
        Value::Object(map) => match map.get("configs") {
            Some(Value::Array(configs)) => dump_clusters(path, configs)?,
            _ => {
                return Err(Error::data(
                    "expected istioctl proxy-config cluster -o json (an array of clusters) or an Envoy /config_dump ({\"configs\": [...]})",
                    path,
                ))
            }
        },
        _ => return Err(Error::data("expected a JSON array of clusters or a /config_dump object", path)),
    };
    let mut clusters = Vec::with_capacity(raw.len());
    for (i, c) in raw.into_iter().enumerate() {
        let name = c
            .get("name")
            .and_then(Value::as_str)
            .ok_or_else(|| Error::data(format!("cluster {} has no \"name\" string", i + 1), path))?;
        if name.chars().any(char::is_control) {
            // Envoy cluster names are built from hosts and ports: no control characters.
            return Err(Error::data(format!("cluster {} is named \"{name}\", with a control character", i + 1), path));
        }
        let discovery = match c.get("type").and_then(Value::as_str) {
            Some(t) => t.to_string(),
            None => match c.get("cluster_type").or_else(|| c.get("clusterType")) {
                Some(ct) => ct.get("name").and_then(Value::as_str).unwrap_or("CUSTOM").to_string(),
                // protobuf-JSON omits the default enum value, STATIC.
                None => "STATIC".to_string(),
            },
        };
        clusters.push(classify(name, discovery));
    }
    Ok((clusters, node))
}

fn dump_clusters<'a>(path: &Path, configs: &'a [Value]) -> Result<(Vec<&'a Value>, Node)> {
    let type_of = |c: &Value| c.get("@type").and_then(Value::as_str).unwrap_or("").to_string();
    let dump = configs.iter().find(|c| type_of(c).ends_with("ClustersConfigDump")).ok_or_else(|| {
        Error::data("the /config_dump has no ClustersConfigDump entry (was it taken with ?resource= or a mask?)", path)
    })?;
    let mut out = Vec::new();
    for key in ["static_clusters", "dynamic_active_clusters", "staticClusters", "dynamicActiveClusters"] {
        if let Some(Value::Array(items)) = dump.get(key) {
            for item in items {
                match item.get("cluster") {
                    Some(c) if c.is_object() => out.push(c),
                    _ => return Err(Error::data(format!("an entry of {key} has no \"cluster\" object"), path)),
                }
            }
        }
    }
    let node = configs.iter().find(|c| type_of(c).ends_with("BootstrapConfigDump")).map_or_else(Node::default, node_of);
    Ok((out, node))
}

/// Classify a cluster by its name.
pub fn classify(name: &str, discovery: String) -> Cluster {
    let mut c = Cluster {
        name: name.to_string(),
        direction: Direction::Other,
        port: None,
        subset: String::new(),
        host: String::new(),
        discovery,
    };
    let pipe: Vec<&str> = name.split('|').collect();
    if pipe.len() == 4 {
        let dir = match pipe[0] {
            "outbound" => Some(Direction::Outbound),
            "inbound" | "inbound-vip" => Some(Direction::Inbound),
            _ => None,
        };
        if let (Some(d), Ok(port)) = (dir, pipe[1].parse::<u32>()) {
            c.direction = d;
            c.port = Some(port);
            c.subset = pipe[2].to_string();
            c.host = pipe[3].to_string();
        }
    } else if let Some(rest) = name.strip_prefix("outbound_.") {
        let parts: Vec<&str> = rest.splitn(3, "_.").collect();
        if parts.len() == 3 {
            if let Ok(port) = parts[0].parse::<u32>() {
                c.direction = Direction::SniDnat;
                c.port = Some(port);
                c.subset = if parts[1] == "_" { String::new() } else { parts[1].to_string() };
                c.host = parts[2].to_string();
            }
        }
    }
    c
}

/// `(service, namespace)` of a host in the cluster domain, `None` for external hosts.
pub fn service_of<'a>(host: &'a str, cluster_domain: &str) -> Option<(&'a str, &'a str)> {
    let stem = host.strip_suffix(cluster_domain)?.strip_suffix('.')?.strip_suffix(".svc")?;
    let (svc, ns) = stem.rsplit_once('.')?;
    (!svc.is_empty() && !ns.is_empty()).then_some((svc, ns))
}

/// `(knative service, generation)` of a revision Service name: `NAME-0000N[-private]`.
pub fn knative_revision(service: &str) -> Option<(&str, u32)> {
    let base = service.strip_suffix("-private").unwrap_or(service);
    let (name, generation) = base.rsplit_once('-')?;
    let ok = generation.len() == 5 && generation.bytes().all(|b| b.is_ascii_digit()) && !name.is_empty();
    ok.then(|| (name, generation.parse().expect("five digits")))
}

/// Count what a proxy holds; `cluster_domain` is usually `cluster.local`.
pub fn count(clusters: &[Cluster], node: Node, cluster_domain: &str) -> Counts {
    let proxy_kind = match node.kind.as_deref() {
        Some("router") => "gateway",
        Some("sidecar") => "sidecar",
        Some("waypoint") => "waypoint",
        _ => "unknown",
    }
    .to_string();
    let mut counts = Counts { node, proxy_kind, clusters: clusters.len(), ..Counts::default() };
    let mut hosts: BTreeMap<&str, BTreeSet<&str>> = BTreeMap::new();
    let mut ksvcs: BTreeMap<(&str, &str), BTreeSet<u32>> = BTreeMap::new();
    let mut external: BTreeSet<String> = BTreeSet::new();
    for c in clusters {
        match c.direction {
            Direction::Inbound => counts.inbound += 1,
            Direction::SniDnat => counts.sni_dnat += 1,
            Direction::Other => counts.other += 1,
            Direction::Outbound => {
                counts.outbound += 1;
                if !c.subset.is_empty() {
                    counts.outbound_with_subset += 1;
                }
                *counts.outbound_types.entry(c.discovery.clone()).or_default() += 1;
                match service_of(&c.host, cluster_domain) {
                    Some((svc, ns)) => {
                        let entry = counts.by_namespace.entry(ns.to_string()).or_default();
                        entry.outbound_clusters += 1;
                        hosts.entry(ns).or_default().insert(svc);
                        if let Some((ksvc, generation)) = knative_revision(svc) {
                            entry.knative_clusters += 1;
                            ksvcs.entry((ns, ksvc)).or_default().insert(generation);
                            counts.knative.entry(format!("{ns}/{ksvc}")).or_default().clusters += 1;
                        }
                    }
                    None => {
                        counts.external_clusters += 1;
                        external.insert(c.host.clone());
                    }
                }
            }
        }
    }
    for (ns, svcs) in &hosts {
        counts.by_namespace.get_mut(*ns).expect("counted").services = svcs.len();
        counts.services += svcs.len();
    }
    for ((ns, ksvc), gens) in &ksvcs {
        let entry = counts.by_namespace.get_mut(*ns).expect("counted");
        entry.knative_services += 1;
        entry.knative_revisions += gens.len();
        counts.knative_revisions += gens.len();
        counts.knative.get_mut(&format!("{ns}/{ksvc}")).expect("counted").revisions = gens.len();
    }
    counts.external_hosts = external.into_iter().collect();
    counts.service_clusters = counts.outbound + counts.sni_dnat;
    counts
}

/// The clusters as istioctl's table prints them (`SERVICE FQDN  PORT  SUBSET  DIRECTION  TYPE`).
pub fn cluster_table(clusters: &[Cluster]) -> String {
    let rows: Vec<[String; 5]> = clusters
        .iter()
        .map(|c| {
            let dash = |s: &str| if s.is_empty() { "-".to_string() } else { s.to_string() };
            let (fqdn, port, subset, dir) = match c.direction {
                Direction::Outbound | Direction::Inbound | Direction::SniDnat => (
                    c.host.clone(),
                    c.port.map_or("-".to_string(), |p| p.to_string()),
                    dash(&c.subset),
                    match c.direction {
                        Direction::Outbound => "outbound",
                        Direction::Inbound => "inbound",
                        _ => "outbound-sni",
                    }
                    .to_string(),
                ),
                Direction::Other => (c.name.clone(), "-".into(), "-".into(), "-".into()),
            };
            [fqdn, port, subset, dir, c.discovery.clone()]
        })
        .collect();
    let header = ["SERVICE FQDN", "PORT", "SUBSET", "DIRECTION", "TYPE"];
    // istioctl's tabwriter: minwidth 0, padding 5 after the widest cell of each column.
    let mut widths: Vec<usize> = header.iter().map(|h| h.len()).collect();
    for r in &rows {
        for (w, cell) in widths.iter_mut().zip(r.iter()) {
            *w = (*w).max(cell.len());
        }
    }
    let mut out = String::new();
    let line = |cells: Vec<&str>, out: &mut String| {
        for (k, cell) in cells.iter().enumerate() {
            if k + 1 == cells.len() {
                out.push_str(cell);
            } else {
                out.push_str(&format!("{cell:<w$}", w = widths[k] + 5));
            }
        }
        out.push('\n');
    };
    line(header.to_vec(), &mut out);
    for r in &rows {
        line(r.iter().map(String::as_str).collect(), &mut out);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_and_hosts() {
        let c = classify("outbound|8012||hello-00003-private.shop.svc.cluster.local", "EDS".into());
        assert_eq!(
            (c.direction.clone(), c.port, c.host.as_str()),
            (Direction::Outbound, Some(8012), "hello-00003-private.shop.svc.cluster.local")
        );
        assert_eq!(service_of(&c.host, "cluster.local"), Some(("hello-00003-private", "shop")));
        assert_eq!(knative_revision("hello-00003-private"), Some(("hello", 3)));
        assert_eq!(knative_revision("my-app-00012"), Some(("my-app", 12)));
        assert_eq!(knative_revision("redis"), None);
        assert_eq!(knative_revision("example-2fvz4"), None);
        assert_eq!(service_of("deb.debian.org", "cluster.local"), None);
        assert_eq!(service_of("myhost.tcp.svc", "cluster.local"), None);
        let s = classify("outbound_.80_._.ff.default.svc.cluster.local", "EDS".into());
        assert_eq!((s.direction, s.port, s.subset.as_str()), (Direction::SniDnat, Some(80), ""));
        assert_eq!(classify("BlackHoleCluster", "STATIC".into()).direction, Direction::Other);
    }
}
