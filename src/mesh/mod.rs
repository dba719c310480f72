//! The mesh: namespaces, Knative services and their revisions, plain Services, gateways, and
//! what each proxy holds under a Sidecar scope.
//!
//! Without scoping every Istio proxy receives an Envoy cluster for every Service port in the
//! mesh. [`Topology`] describes the mesh (read from `data/topology-*.toml`), [`Versions`] the
//! Istio and Knative releases whose rules apply, [`Scope`] which Services a namespace's
//! sidecars are told about, and [`visibility`] counts what each proxy then holds: revisions,
//! clusters, endpoints, headless listeners. Gateways are reported under every scope because
//! Sidecar resources do not scope them; mesh infrastructure (Knative's activator) likewise,
//! because it must reach every revision. [`ScopeMap`] gives namespaces their own scopes.

mod check;
mod counts;
pub mod deps;
pub mod gc;
mod index;
pub mod marginal;
pub mod names;
mod rules;
mod scope;
mod scope_map;
mod topology;
pub mod version;
pub mod visibility;

pub use gc::GcPolicy;
pub use scope::{HostPattern, Scope};
pub use scope_map::ScopeMap;
pub use topology::{Gateway, KnativeService, Namespace, PlainService, Topology, KNATIVE_SERVING};
pub use version::{Version, Versions};
pub use visibility::{visibility, Counts, ProxyKind, Visible, DEFAULT_CONCURRENCY};
