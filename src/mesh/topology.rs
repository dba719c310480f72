//! The topology file: a TOML description of the mesh a scope is evaluated on.
//!
//! ```toml
//! istio_version = "1.18.2"             # decides ExternalName aliases and the Sidecar API
//! knative_version = "1.11.0"           # decides ports per revision (8, or 7 from 1.21)
//! filter_gateway_cluster_config = false # istiod's PILOT_FILTER_GATEWAY_CLUSTER_CONFIG
//! sidecar_concurrency = 2              # Envoy workers per sidecar (Istio's default)
//! activator_pods = 1                   # endpoints of a scaled-to-zero revision's public Service
//! default_service_export_to = ["*"]    # mesh config defaultServiceExportTo (Services without exportTo)
//! per_cluster_stats = false            # mesh proxyStatsMatcher includes cluster.outbound stats
//! external_name_alias = true           # istiod's ENABLE_EXTERNAL_NAME_ALIAS (Istio 1.20-1.23)
//! delta_xds = true                     # istiod's ISTIO_DELTA_XDS (default true from Istio 1.22)
//!
//! [[gateways]]
//! name = "istio-ingressgateway"
//! namespace = "istio-system"
//! concurrency = 2                      # Envoy workers (often one per core)
//! routes = ["shop/redis"]              # plain Services routed through it (filtered gateways)
//!
//! [[namespaces]]
//! name = "shop"
//! sidecars = true                      # workloads here carry istio-proxy
//! infrastructure = false               # mesh infrastructure (default: true for knative-serving)
//! export_to = ["*"]                    # networking.istio.io/exportTo of its Services
//! concurrency = 4                      # its sidecars' Envoy workers, overriding sidecar_concurrency
//! discovered = true                    # false: outside istiod's discoverySelectors (Services unseen)
//! per_cluster_stats = true             # its sidecars' stats annotations include cluster.outbound
//! knative = [{ name = "cart", revisions = 21, routed = 2, tags = 1, pods = 3 }]
//! # unrouted = N: of the revisions, N never routed (routingState pending/unset): GC never
//! # collects them
//! services = [{ name = "redis", ports = 1, pods = 3, subsets = 2 }]
//! ```
//!
//! The rules that turn this into what each proxy holds live in [`super::visibility`]; the
//! checks in [`super::check`].

use std::collections::BTreeMap;
use std::path::Path;

use serde::Deserialize;

use super::version::{Version, Versions};
use crate::error::{Error, Location, Result};

/// A mesh topology.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Topology {
    /// Istio release (istiod's image tag), e.g. `1.18.2`.
    pub istio_version: Option<String>,
    /// Knative Serving release, e.g. `1.11.0`.
    pub knative_version: Option<String>,
    /// Endpoint ports per revision; by default the Knative release's (8 before 1.21, 7 from).
    pub ports_per_revision: Option<f64>,
    /// istiod runs with `PILOT_FILTER_GATEWAY_CLUSTER_CONFIG=true`: gateways keep only the
    /// destinations of VirtualServices bound to them.
    #[serde(default)]
    pub filter_gateway_cluster_config: bool,
    /// Envoy worker threads per sidecar (`concurrency`; Istio's default is 2).
    pub sidecar_concurrency: Option<u32>,
    /// Activator pods: the endpoints of a scaled-to-zero revision's public Service.
    pub activator_pods: Option<u32>,
    /// Mesh config `defaultServiceExportTo`: the exportTo of Services without the annotation
    /// (a namespace without `export_to`); Istio's default is `["*"]`.
    pub default_service_export_to: Option<Vec<String>>,
    /// The mesh `defaultConfig.proxyStatsMatcher` includes per-cluster stats
    /// (`cluster.outbound|...`): each cluster carries its stats block in every proxy.
    #[serde(default)]
    pub per_cluster_stats: bool,
    /// istiod's `ENABLE_EXTERNAL_NAME_ALIAS`, where the Istio release has the flag (1.20-1.23);
    /// unset: the release's default ([`Versions::external_name_is_alias`]).
    pub external_name_alias: Option<bool>,
    /// istiod's `ISTIO_DELTA_XDS`; unset: the release's default ([`Topology::delta_xds`]).
    pub delta_xds: Option<bool>,
    /// Gateway proxies (not scoped by Sidecar resources).
    #[serde(default)]
    pub gateways: Vec<Gateway>,
    /// Namespaces.
    pub namespaces: Vec<Namespace>,
    /// Namespace name to its index in `namespaces` (built by `check`; ordered, so that the
    /// topology's `Debug` text, which grid fingerprints hash, is the same in every run).
    #[serde(skip)]
    pub(super) index: BTreeMap<String, usize>,
    /// The file it was read from, for messages (not part of what the topology is).
    #[serde(skip)]
    pub(super) source: Source,
}

/// Where a topology was read from: named in messages, left out of comparisons and `Debug`.
#[derive(Clone, Default)]
pub(super) struct Source(pub Option<std::path::PathBuf>);

impl PartialEq for Source {
    fn eq(&self, _: &Source) -> bool {
        true
    }
}

impl std::fmt::Debug for Source {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("_")
    }
}

/// A gateway proxy.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Gateway {
    /// Deployment name, e.g. `knative-local-gateway`.
    pub name: String,
    /// Its namespace.
    pub namespace: String,
    /// Envoy worker threads; by default the sidecars' (gateways often run one per core).
    pub concurrency: Option<u32>,
    /// Plain Services (`ns/name`) that VirtualServices bound to this gateway route to: what a
    /// filtered gateway keeps besides the routed Knative revisions.
    #[serde(default)]
    pub routes: Vec<String>,
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
    /// Mesh infrastructure whose sidecars must reach every revision, never scoped (see
    /// [`Namespace::infrastructure`]); by default true for `knative-serving` only.
    pub infrastructure: Option<bool>,
    /// `istio.io/dataplane-mode: ambient`: no sidecars; its waypoints hold only their own
    /// Services.
    #[serde(default)]
    pub ambient: bool,
    /// `networking.istio.io/exportTo` of its Services: `*` (default), `.`, `~` or namespaces.
    /// Unset (or empty): the topology's `default_service_export_to`, else `*`.
    #[serde(default)]
    pub export_to: Vec<String>,
    /// Envoy workers of its sidecars; unset: the topology's `sidecar_concurrency`.
    pub concurrency: Option<u32>,
    /// Selected by istiod's `discoverySelectors` (default true): istiod ignores the Services of
    /// a namespace it does not select, so no proxy sees them (istio/istio
    /// `pkg/kube/namespace/filter.go`).
    #[serde(default = "yes")]
    pub discovered: bool,
    /// Its sidecars' stats annotations (`sidecar.istio.io/statsInclusionPrefixes`, ...) include
    /// per-cluster stats; unset: the topology's `per_cluster_stats`.
    pub per_cluster_stats: Option<bool>,
    /// Knative services.
    #[serde(default)]
    pub knative: Vec<KnativeService>,
    /// Plain Kubernetes Services.
    #[serde(default)]
    pub services: Vec<PlainService>,
}

fn yes() -> bool {
    true
}

impl Namespace {
    /// Whether this namespace is mesh infrastructure: its proxies see the whole mesh under
    /// every scope, like gateways. Knative's activator (in `knative-serving`) sends to each
    /// revision's private Service ClusterIP when the mesh is on (knative/serving
    /// `pkg/activator/net/revision_backends.go`, `checkDests` falls back to `getDest`, the
    /// private Service's ClusterIP, at knative-v1.11.0 and knative-v1.23.0), so a Sidecar
    /// narrowing it cuts it off from the revisions it must wake.
    pub fn infrastructure(&self) -> bool {
        self.infrastructure.unwrap_or(self.name == KNATIVE_SERVING)
    }
}

/// The namespace of Knative Serving's activator and autoscaler.
pub const KNATIVE_SERVING: &str = "knative-serving";

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
    /// Distinct revisions in the route's traffic (splits and tags, 0% ones too): Knative's GC
    /// never collects them.
    #[serde(default = "one")]
    pub routed: u32,
    /// Of those, the ones the route sends to (a percent above 0, or a tag): the destinations of
    /// net-istio's VirtualServices. Default: all routed ones.
    pub destinations: Option<u32>,
    /// Traffic tags: each adds an ExternalName placeholder Service (`<tag>-<name>`).
    #[serde(default)]
    pub tags: u32,
    /// Revisions pinned with `serving.knative.dev/no-gc: "true"` besides the routed ones.
    #[serde(default)]
    pub pinned: u32,
    /// Revisions besides the routed and pinned ones that never routed: their
    /// `serving.knative.dev/routingState` is `pending` or unset, so Knative's GC never collects
    /// them nor counts them (knative/serving `pkg/reconciler/gc/gc.go` `isRevisionActive` at
    /// knative-v1.11.0). Counted among `revisions`.
    #[serde(default)]
    pub unrouted: u32,
    /// Ready pods of the routed revisions, in all (0: scaled to zero).
    #[serde(default)]
    pub pods: u32,
    /// Routed revisions that have those pods. Default: 1 when there are pods.
    pub serving: Option<u32>,
    /// Endpoint ports per revision, overriding the topology's.
    pub ports_per_revision: Option<f64>,
    /// Creation times (RFC 3339) of the retained revisions, oldest first, when imported: the
    /// service's observed update rate.
    #[serde(default)]
    pub created: Vec<String>,
}

impl KnativeService {
    /// Routed revisions the VirtualServices send to.
    pub fn destinations(&self) -> u32 {
        self.destinations.unwrap_or(self.routed).min(self.routed)
    }

    /// Routed revisions with ready pods.
    pub fn serving(&self) -> u32 {
        self.serving.unwrap_or(u32::from(self.pods > 0)).min(self.routed)
    }

    /// The `created` times as unix seconds, oldest first (a checked topology holds only
    /// RFC 3339 times there).
    pub fn created_unix(&self) -> Vec<f64> {
        let mut t: Vec<f64> = self.created.iter().filter_map(|c| rfc3339_unix(c)).collect();
        t.sort_by(f64::total_cmp);
        t
    }
}

/// An RFC 3339 time (a Kubernetes `creationTimestamp`) as unix seconds.
pub(super) fn rfc3339_unix(text: &str) -> Option<f64> {
    let t = time::OffsetDateTime::parse(text.trim(), &time::format_description::well_known::Rfc3339).ok()?;
    Some(t.unix_timestamp_nanos() as f64 / 1e9)
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
    /// `clusterIP: None`: every sidecar that sees it gets a listener per pod IP and TCP port.
    #[serde(default)]
    pub headless: bool,
    /// Of its ports, those Istio treats as TCP (not HTTP, HTTP2 or gRPC): per-pod listeners are
    /// built for these only. Default: all of them.
    pub listener_ports: Option<u32>,
    /// `type: ExternalName`: an alias without clusters from Istio 1.21, a DNS cluster per port
    /// before.
    #[serde(default)]
    pub external_name: bool,
    /// Ready pods behind it (endpoints per cluster).
    #[serde(default = "one")]
    pub pods: u32,
    /// DestinationRule subsets: each adds one cluster per port.
    #[serde(default)]
    pub subsets: u32,
    /// `networking.istio.io/exportTo` annotation of this Service, overriding the namespace's.
    pub export_to: Option<Vec<String>>,
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
        let mut topo: Topology = toml::from_str(text).map_err(|e| {
            let line = e.span().map_or(0, |s| text[..s.start.min(text.len())].matches('\n').count() + 1);
            Error::parse(format!("bad topology: {}", e.message()), Location::new(path, line))
        })?;
        topo.check(path)?;
        topo.source = Source(Some(path.to_path_buf()));
        Ok(topo)
    }

    /// The namespace of that name.
    pub fn namespace(&self, name: &str) -> Option<&Namespace> {
        match self.index.get(name) {
            Some(&i) => self.namespaces.get(i),
            // A topology built in code, not through `parse`.
            None if self.index.is_empty() => self.namespaces.iter().find(|n| n.name == name),
            None => None,
        }
    }

    /// The versions this topology is evaluated at (the measurement's where it names none).
    pub fn versions(&self) -> Versions {
        let v = |s: &Option<String>| s.as_deref().and_then(|s| Version::parse(s).ok());
        Versions {
            external_name_alias: self.external_name_alias,
            ..Versions::new(v(&self.istio_version), v(&self.knative_version))
        }
    }

    /// Override the versions (`--istio-version`, `--knative-version`).
    pub fn set_versions(&mut self, istio: Option<Version>, knative: Option<Version>) {
        if let Some(i) = istio {
            self.istio_version = Some(i.to_string());
        }
        if let Some(k) = knative {
            self.knative_version = Some(k.to_string());
        }
    }

    /// Endpoint ports per revision: the topology's, else the Knative release's.
    pub fn ports_per_revision(&self) -> f64 {
        self.ports_per_revision.unwrap_or_else(|| f64::from(self.versions().ports_per_revision()))
    }

    /// Envoy workers of the sidecars.
    pub fn sidecar_concurrency(&self) -> u32 {
        self.sidecar_concurrency.unwrap_or(super::DEFAULT_CONCURRENCY)
    }

    /// Envoy workers of the sidecars in namespace `ns`: its own `concurrency`, else the
    /// topology's `sidecar_concurrency`.
    pub fn concurrency_of(&self, ns: &str) -> u32 {
        self.namespace(ns).and_then(|n| n.concurrency).unwrap_or_else(|| self.sidecar_concurrency())
    }

    /// Whether the sidecars of namespace `ns` keep per-cluster stats.
    pub fn per_cluster_stats_of(&self, ns: &str) -> bool {
        self.namespace(ns).and_then(|n| n.per_cluster_stats).unwrap_or(self.per_cluster_stats)
    }

    /// Whether istiod pushes with delta xDS: `delta_xds`, else the release's default
    /// (`ISTIO_DELTA_XDS` is false at 1.21.0 and true from 1.22.0: istio/istio
    /// `pilot/pkg/features/experimental.go` at those tags, #47969).
    pub fn delta_xds(&self) -> bool {
        self.delta_xds.unwrap_or(self.versions().istio >= Version::new(1, 22))
    }

    /// Activator pods behind scaled-to-zero revisions.
    pub fn activator_pods(&self) -> u32 {
        self.activator_pods.unwrap_or(1)
    }

    /// Sidecar namespaces whose Knative services' Services are not exported to a gateway's
    /// namespace, as `(namespace, gateway namespace)`: those gateways cannot route to them.
    pub fn unexported_to_gateways(&self) -> Vec<(String, String)> {
        let mut out = Vec::new();
        for ns in self.namespaces.iter().filter(|n| !n.knative.is_empty()) {
            for g in &self.gateways {
                if !super::visibility::exported(&ns.export_to, &ns.name, &g.namespace)
                    && !out.iter().any(|(a, b): &(String, String)| a == &ns.name && b == &g.namespace)
                {
                    out.push((ns.name.clone(), g.namespace.clone()));
                }
            }
        }
        out
    }

    /// Namespaces whose Knative services' Services are not exported to an injected mesh
    /// infrastructure namespace (the activator's), as `(namespace, infrastructure namespace)`:
    /// exportTo binds every proxy, so the activator's sidecar has no cluster for those
    /// revisions and cannot wake them (knative/serving `pkg/activator/net/revision_backends.go`
    /// sends to the private Service's ClusterIP in mesh mode).
    pub fn unexported_to_infrastructure(&self) -> Vec<(String, String)> {
        let infra: Vec<&Namespace> = self.namespaces.iter().filter(|n| n.sidecars && n.infrastructure()).collect();
        let mut out = Vec::new();
        for ns in self.namespaces.iter().filter(|n| !n.knative.is_empty()) {
            for i in infra.iter().filter(|i| i.name != ns.name) {
                if !super::visibility::exported(&ns.export_to, &ns.name, &i.name) {
                    out.push((ns.name.clone(), i.name.clone()));
                }
            }
        }
        out
    }
}
