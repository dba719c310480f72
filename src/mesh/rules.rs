//! What one Service puts in a proxy that sees it: clusters, endpoints, listeners, by Istio
//! and Knative release. The rules and their sources are listed in [`super::visibility`].

use super::counts::{Counts, EXTERNAL_NAME_PORTS};
use super::version::Versions;
use super::{KnativeService, PlainService};

/// How much of a Knative service a proxy sees.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(super) enum KnativeView {
    /// Every retained revision's Services and the placeholders (`ns/*`, no scope).
    All,
    /// An egress host naming it: the placeholder and the VirtualService's destinations.
    Routed,
    /// A filtered gateway: the destinations of its VirtualServices only.
    GatewayRoutes,
}

/// Per-topology constants of the counting.
pub(super) struct Rules {
    pub versions: Versions,
    pub ppr: f64,
    pub activator: f64,
}

impl Rules {
    pub fn knative(&self, k: &KnativeService, view: KnativeView) -> Counts {
        let n = f64::from(k.count);
        let ppr = k.ports_per_revision.unwrap_or(self.ppr);
        let public = f64::from(self.versions.public_ports()).min(ppr);
        let private = ppr - public;
        let revisions = f64::from(k.revisions);
        // `pods` ready pods sit on `serving` revisions; every other revision's public Service
        // points at the activator. The VirtualServices send to `destinations` of the routed
        // revisions (0% untagged targets are routed for the GC but get no route).
        let pods = f64::from(k.pods);
        let serving = f64::from(k.serving());
        let destinations = f64::from(k.destinations());
        let serving_destinations = serving.min(destinations);
        let public_eps = |r: f64, served: f64| (r - served) * public * self.activator + pods * public;
        let placeholder = |count: f64| {
            let clusters = if self.versions.external_name_is_alias() { 0.0 } else { count * EXTERNAL_NAME_PORTS };
            (clusters, clusters, count) // clusters, endpoints (one DNS name each), services
        };
        let c = match view {
            KnativeView::All => {
                let (pc, pe, ps) = placeholder(1.0 + f64::from(k.tags));
                Counts {
                    revisions,
                    clusters: revisions * ppr + pc,
                    endpoints: public_eps(revisions, serving) + pods * private + pe,
                    headless_listeners: 0.0,
                    services: 2.0 * revisions + ps,
                    growing_revisions: revisions,
                    growing_clusters: revisions * ppr,
                    growing_endpoints: revisions * public * self.activator,
                    growing_services: 2.0 * revisions,
                }
            }
            KnativeView::Routed => {
                // The VirtualService names port 80 (81 for h2c), and Istio adds only that port of
                // each destination Service (`serviceMatchingVirtualServicePorts`).
                let (pc, pe, ps) = placeholder(1.0);
                let port = public.min(1.0);
                Counts {
                    revisions: destinations,
                    clusters: destinations * port + pc,
                    endpoints: port * ((destinations - serving_destinations) * self.activator + pods) + pe,
                    services: destinations + ps,
                    ..Counts::default()
                }
            }
            KnativeView::GatewayRoutes => Counts {
                revisions: destinations,
                clusters: destinations * public,
                endpoints: public_eps(destinations, serving_destinations),
                services: destinations,
                ..Counts::default()
            },
        };
        scale(c, n)
    }

    pub fn plain(&self, s: &PlainService) -> Counts {
        let ports = f64::from(s.ports);
        let pods = f64::from(s.pods);
        let c = if s.external_name {
            let clusters = if self.versions.external_name_is_alias() { 0.0 } else { ports };
            Counts { clusters, endpoints: clusters, services: 1.0, ..Counts::default() }
        } else {
            let clusters = ports * (1.0 + f64::from(s.subsets));
            Counts {
                clusters,
                // A headless Service's clusters are ORIGINAL_DST in sidecars: no EDS endpoints.
                endpoints: if s.headless { 0.0 } else { clusters * pods },
                headless_listeners: if s.headless {
                    f64::from(s.listener_ports.unwrap_or(s.ports).min(s.ports)) * pods
                } else {
                    0.0
                },
                services: 1.0,
                ..Counts::default()
            }
        };
        scale(c, f64::from(s.count))
    }
}

fn scale(c: Counts, n: f64) -> Counts {
    Counts {
        revisions: c.revisions * n,
        clusters: c.clusters * n,
        endpoints: c.endpoints * n,
        headless_listeners: c.headless_listeners * n,
        services: c.services * n,
        growing_revisions: c.growing_revisions * n,
        growing_clusters: c.growing_clusters * n,
        growing_endpoints: c.growing_endpoints * n,
        growing_services: c.growing_services * n,
    }
}
