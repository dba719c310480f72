//! The mesh: namespaces, Knative services and their revisions, plain Services, gateways, and
//! what each proxy sees under a Sidecar scope.
//!
//! Without scoping every Istio proxy receives an Envoy cluster for every Service port in the
//! mesh. [`Topology`] describes the mesh (read from `data/topology-*.toml`), [`Scope`] says
//! which Services a namespace's sidecars are told about, and [`visibility`] counts what each
//! proxy then holds. Gateways are reported under every scope because Sidecar resources do not
//! scope them.

pub mod gc;
mod scope;
mod topology;
pub mod visibility;

pub use gc::GcPolicy;
pub use scope::{HostPattern, Scope};
pub use topology::{Gateway, KnativeService, Namespace, PlainService, Topology};
pub use visibility::{visibility, ProxyKind, Visible};
