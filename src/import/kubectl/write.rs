//! The topology TOML an inventory turns into, and the import summary's counts.

use super::settings_toml::q;
use super::{Inventory, KnativeInventory};

/// Revisions GC never collects besides the routed and pinned ones: never routed (routingState
/// pending, unset or unknown), not in the route's traffic, not pinned (knative/serving
/// `pkg/reconciler/gc/gc.go` `isRevisionActive` at knative-v1.11.0). A latest ready revision the
/// traffic does not name counts here too: active as the latest ready now, pending once a newer
/// one is ready.
/// Counted within what the routed ones (1 when the traffic is unknown) and the pinned ones
/// leave, as written.
pub(super) fn unrouted(k: &KnativeInventory) -> usize {
    let (revisions, pinned) = (k.revision_count(), pinned(k));
    let routed = if k.seen_service { k.routed().min(revisions.saturating_sub(pinned)) } else { 1 };
    let never = k.revisions.iter().filter(|(r, v)| v.never_routed && !v.pinned && !k.traffic.contains(r)).count();
    never.min(revisions.saturating_sub(pinned + routed))
}

/// Revisions pinned by `no-gc` that the traffic does not name.
fn pinned(k: &KnativeInventory) -> usize {
    k.revisions.iter().filter(|(r, v)| v.pinned && !k.traffic.contains(r)).count()
}

/// The topology TOML for an inventory; namespaces without a Namespace object get `sidecars`
/// = `default_sidecars`, unless a pod template asks for injection.
pub fn topology_toml(inv: &Inventory, default_sidecars: bool, sources: &str) -> String {
    let mut out = format!(
        "# Topology written by meshcap import kubectl from {sources}.\n# Knative services list the Revision objects found (all retained revisions, Ready or not);\n# routed = revisions in status.traffic, tags = traffic tags, pinned = serving.knative.dev/no-gc,\n# unrouted = other revisions whose serving.knative.dev/routingState is pending or unset (GC never\n# collects them),\n# pods = ready endpoints of a routed revision's private Service, created = creationTimestamps.\n# ports_per_revision is the ports of each revision's public and private Services when the\n# input held them (otherwise the Knative release's: 8 before 1.21, 7 from). Review `sidecars`\n# where it says \"assumed\".\n"
    );
    match &inv.istio_version {
        Some(v) => out.push_str(&format!(
            "istio_version = {}  # from {}\n",
            q(v),
            if inv.istio_version_source.is_empty() { "the istiod Deployment" } else { inv.istio_version_source }
        )),
        None => out.push_str(
            "# istio_version: no istiod Deployment in the input (add `kubectl get deployments -n istio-system -o json`); 1.18.2 is assumed\n",
        ),
    }
    match &inv.knative_version {
        Some(v) => out.push_str(&format!(
            "knative_version = {}  # from {}\n",
            q(v),
            if inv.knative_version_source.is_empty() {
                "the Knative controller Deployment"
            } else {
                inv.knative_version_source
            }
        )),
        None => out.push_str(
            "# knative_version: no Knative controller Deployment in the input (add `kubectl get deployments -n knative-serving -o json`); 1.11.0 is assumed\n",
        ),
    }
    let known: Vec<usize> = inv
        .namespaces
        .values()
        .flat_map(|n| n.knative.values())
        .flat_map(|k| k.revisions.values())
        .filter_map(|r| r.ports)
        .collect();
    if !known.is_empty() {
        out.push_str(&format!(
            "ports_per_revision = {}\n",
            fmt_ports(known.iter().sum::<usize>() as f64 / known.len() as f64)
        ));
    }
    out.push_str(&super::settings_toml::top_level(inv));
    for (ns, name) in &inv.gateways {
        out.push_str(&format!("\n[[gateways]]\nname = {}\nnamespace = {}\n", q(name), q(ns)));
        out.push_str(&super::settings_toml::gateway(inv, ns, name));
    }
    for (ns, n) in &inv.namespaces {
        let (sidecars, note) = match n.sidecars {
            _ if n.ambient => (false, "ambient (istio.io/dataplane-mode): no sidecars"),
            _ if n.injection_disabled => (false, "the Namespace says istio-injection: disabled"),
            Some(false) if n.template_injection => {
                (true, "a Knative pod template label asks for a sidecar (sidecar.istio.io/inject or istio.io/rev)")
            }
            Some(v) => (v, "from the Namespace's istio-injection / istio.io/rev label"),
            None if n.template_injection => {
                (true, "a Knative pod template asks for a sidecar (sidecar.istio.io/inject or istio.io/rev)")
            }
            None if n.knative.is_empty() && n.services.is_empty() && inv.gateways.iter().any(|g| &g.0 == ns) => {
                (false, "a gateway's namespace; nothing else of it is in the input")
            }
            // Istio's and Kubernetes' own namespaces are not injected in default installs.
            None if ns == "istio-system" || ns.starts_with("kube-") => {
                (false, "assumed: no Namespace object in the input; system namespaces are not injected by default")
            }
            None => (default_sidecars, "assumed: no Namespace object in the input"),
        };
        out.push_str(&format!("\n[[namespaces]]\nname = {}\nsidecars = {sidecars}  # {note}\n", q(ns)));
        out.push_str(&super::settings_toml::namespace(inv, ns, sidecars));
        if n.ambient {
            out.push_str("ambient = true\n");
        }
        if !n.knative.is_empty() {
            out.push_str("knative = [\n");
            for (name, k) in &n.knative {
                let revisions = k.revision_count();
                let routed = k.routed();
                let names: Vec<&String> = k.revisions.keys().collect();
                let pinned = pinned(k);
                let mut line = format!("  {{ name = {}, revisions = {revisions}", q(name));
                // Without the Knative Service object the traffic is unknown: the default (1) holds.
                if k.seen_service && routed != 1 {
                    line.push_str(&format!(", routed = {}", routed.min(revisions.saturating_sub(pinned))));
                }
                if k.tags > 0 {
                    line.push_str(&format!(", tags = {}", k.tags));
                }
                if pinned > 0 {
                    line.push_str(&format!(", pinned = {pinned}"));
                }
                let unrouted = unrouted(k);
                if unrouted > 0 {
                    line.push_str(&format!(", unrouted = {unrouted}"));
                }
                if k.seen_service && k.destinations.len() != routed {
                    line.push_str(&format!(", destinations = {}", k.destinations.len().min(routed)));
                }
                // Ready pods of the routed revisions, in all, and how many revisions hold them.
                let mut traffic: Vec<&String> = k.traffic.iter().collect();
                traffic.sort();
                traffic.dedup();
                let ready: Vec<usize> = traffic
                    .iter()
                    .filter_map(|r| k.revisions.get(*r).and_then(|v| v.pods))
                    .filter(|&p| p > 0)
                    .collect();
                let pods: usize = ready.iter().sum();
                if pods > 0 {
                    line.push_str(&format!(", pods = {pods}"));
                    if ready.len() != 1 {
                        line.push_str(&format!(", serving = {}", ready.len()));
                    }
                }
                let known: Vec<usize> = k.revisions.values().filter_map(|r| r.ports).collect();
                if !known.is_empty() {
                    line.push_str(&format!(
                        ", ports_per_revision = {}",
                        fmt_ports(known.iter().sum::<usize>() as f64 / known.len() as f64)
                    ));
                }
                let mut created: Vec<&str> = names.iter().filter_map(|r| k.revisions[*r].created.as_deref()).collect();
                if created.len() == k.revisions.len() && !created.is_empty() {
                    created.sort_unstable();
                    let list: Vec<String> = created.iter().map(|c| q(c)).collect();
                    line.push_str(&format!(", created = [{}]", list.join(", ")));
                }
                line.push_str(" },\n");
                out.push_str(&line);
            }
            out.push_str("]\n");
        }
        if !n.services.is_empty() {
            out.push_str("services = [\n");
            for (name, p) in &n.services {
                let mut line = format!("  {{ name = {}, ports = {}", q(name), p.ports);
                if p.headless {
                    line.push_str(", headless = true");
                    if p.tcp_ports != p.ports {
                        line.push_str(&format!(", listener_ports = {}", p.tcp_ports));
                    }
                }
                if p.external_name {
                    line.push_str(", external_name = true");
                } else if let Some(pods) = p.pods {
                    line.push_str(&format!(", pods = {pods}"));
                }
                if p.subsets > 0 && !p.external_name {
                    line.push_str(&format!(", subsets = {}", p.subsets));
                }
                if let Some(e) = &p.export_to {
                    let list: Vec<String> = e.iter().map(|x| q(x)).collect();
                    line.push_str(&format!(", export_to = [{}]", list.join(", ")));
                }
                line.push_str(" },\n");
                out.push_str(&line);
            }
            out.push_str("]\n");
        }
    }
    out
}

fn fmt_ports(p: f64) -> String {
    if p == p.trunc() {
        format!("{p:.0}")
    } else {
        format!("{p:.3}")
    }
}

/// Counts for the import summary: Knative services, revisions, revisions with their Services'
/// ports, plain Services.
pub fn totals(inv: &Inventory) -> (usize, usize, usize, usize) {
    let ksvcs = inv.namespaces.values().map(|n| n.knative.len()).sum();
    let revisions = inv.namespaces.values().flat_map(|n| n.knative.values()).map(|k| k.revisions.len()).sum();
    let with_ports = inv
        .namespaces
        .values()
        .flat_map(|n| n.knative.values())
        .flat_map(|k| k.revisions.values())
        .filter(|r| r.ports.is_some())
        .count();
    let plain = inv.namespaces.values().map(|n| n.services.len()).sum();
    (ksvcs, revisions, with_ports, plain)
}
