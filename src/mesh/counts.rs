//! What a proxy holds, as counts, and whether a Service is exported to it: the vocabulary the
//! visibility rules ([`super::visibility`]), the mesh index and the Knative rules share (below
//! them, so none of them imports another to name a count).

use std::ops::AddAssign;

use serde::Serialize;

/// Ports of the ExternalName placeholder Service each Knative service and tag has.
pub const EXTERNAL_NAME_PORTS: f64 = 1.0;

/// Counts a proxy holds, and the part of them that grows as services retain more revisions.
#[derive(Debug, Clone, Copy, Default, PartialEq, Serialize)]
pub struct Counts {
    /// Knative revisions whose Services are visible.
    pub revisions: f64,
    /// Outbound service clusters (`outbound|PORT|SUBSET|HOST`).
    pub clusters: f64,
    /// Endpoints over those clusters.
    pub endpoints: f64,
    /// Listeners for headless Services' pod IPs.
    pub headless_listeners: f64,
    /// Kubernetes Services visible.
    pub services: f64,
    /// Of `revisions`, those that grow with retained revisions (not only the routed ones).
    pub growing_revisions: f64,
    /// Clusters of the growing revisions.
    pub growing_clusters: f64,
    /// Endpoints of the growing revisions, counted as scaled to zero (the activator's).
    pub growing_endpoints: f64,
    /// Services of the growing revisions.
    pub growing_services: f64,
}

impl std::ops::SubAssign for Counts {
    fn sub_assign(&mut self, o: Counts) {
        self.revisions -= o.revisions;
        self.clusters -= o.clusters;
        self.endpoints -= o.endpoints;
        self.headless_listeners -= o.headless_listeners;
        self.services -= o.services;
        self.growing_revisions -= o.growing_revisions;
        self.growing_clusters -= o.growing_clusters;
        self.growing_endpoints -= o.growing_endpoints;
        self.growing_services -= o.growing_services;
    }
}

impl AddAssign for Counts {
    fn add_assign(&mut self, o: Counts) {
        self.revisions += o.revisions;
        self.clusters += o.clusters;
        self.endpoints += o.endpoints;
        self.headless_listeners += o.headless_listeners;
        self.services += o.services;
        self.growing_revisions += o.growing_revisions;
        self.growing_clusters += o.growing_clusters;
        self.growing_endpoints += o.growing_endpoints;
        self.growing_services += o.growing_services;
    }
}

/// Whether a Service with exportTo `export` in `owner` is exported to `proxy_ns`.
pub(crate) fn exported(export: &[String], owner: &str, proxy_ns: &str) -> bool {
    export.iter().any(|e| match e.as_str() {
        "*" => true,
        "." => owner == proxy_ns,
        "~" => false,
        ns => ns == proxy_ns,
    })
}
