//! meshcap: an offline capacity model for service-mesh sidecar memory.
//!
//! Knative creates two Kubernetes Services (8 endpoint ports) per revision, and without Sidecar
//! scoping every Istio sidecar holds an Envoy cluster for each of those ports, for every revision
//! in the mesh, scaled to zero or not. Sidecar memory therefore grows with update history until
//! `istio-proxy` is OOMKilled. meshcap turns measurement series into a fitted linear memory model
//! and answers the capacity questions that follow.
//!
//! # Brief overview
//! - [`series::Series`]: a measurement series (revisions, ports, memory, limits, OOM events)
//!   read from the canonical CSV or JSON.
//! - [`model::FitSettings`] -> [`model::fit`] -> [`model::FittedModel`]: ordinary least squares
//!   with exact-to-NIST accuracy, confidence and prediction intervals; the fitted model is a
//!   plain serde struct written to `models/*.json`.
//! - [`fleet::forecast`] -> [`fleet::Fleet`]: every proxy of a long-form series ranked by
//!   days until its limit, from the pooled fit and each proxy's own growth; with
//!   [`fleet::forecast_with`] and a [`fleet::mesh::MeshGrowth`], from the update rates of the
//!   Knative services it sees in a topology, capped by GC.
//! - [`plan::plan`] -> [`plan::Plan`]: the changes that keep every proxy of a fleet safe for a
//!   horizon (Sidecar egress from observed traffic, memory annotations, `config-gc`), each proxy
//!   forecast before and after; [`report::plan`] writes them out with the alert rules.
//! - [`quantity`]: Kubernetes memory quantities (`128Mi`, `1Gi`) to bytes and back.
//!
//! Data flows one way: series -> model -> projections, scenarios -> plots and reports.

pub mod error;
pub mod fleet;
pub mod import;
pub mod memory;
pub mod model;
pub mod output;
pub mod quantity;
pub mod series;

pub use error::{Error, Location, Result};
pub mod mesh;
pub mod plan;
pub mod plot;
pub mod project;
pub mod report;
pub mod scenario;
