//! The topology keys [`super::Settings`] turns into, each with a comment saying where it came
//! from: istiod's flags, the mesh config's defaults, and per namespace and gateway the Envoy
//! workers, discovery and per-cluster stats.

use super::workers::{ProxySpec, Workers};
use super::Inventory;

/// A comment on one line, whatever the names in it hold.
fn one_line(text: &str) -> String {
    text.chars().map(|c| if c.is_control() { ' ' } else { c }).collect()
}

/// Top-level keys: istiod's flags and the mesh config's defaults.
pub(super) fn top_level(inv: &Inventory) -> String {
    let st = &inv.settings;
    let f = &st.istiod;
    let mut out = String::new();
    match (f.filter_gateway_cluster_config, f.seen) {
        (Some(b), _) => out.push_str(&format!(
            "filter_gateway_cluster_config = {b}  # istiod's PILOT_FILTER_GATEWAY_CLUSTER_CONFIG, set in its Deployment\n"
        )),
        (None, true) => out.push_str(
            "filter_gateway_cluster_config = false  # istiod's Deployment does not set PILOT_FILTER_GATEWAY_CLUSTER_CONFIG (default false)\n",
        ),
        (None, false) => out.push_str(
            "filter_gateway_cluster_config = false  # istiod's PILOT_FILTER_GATEWAY_CLUSTER_CONFIG: no istiod Deployment in the input, check your install\n",
        ),
    }
    if let Some(b) = f.external_name_alias {
        out.push_str(&format!(
            "external_name_alias = {b}  # istiod's ENABLE_EXTERNAL_NAME_ALIAS (Istio 1.20 to 1.23 have the flag)\n"
        ));
    }
    if let Some(b) = f.delta_xds {
        out.push_str(&format!("delta_xds = {b}  # istiod's ISTIO_DELTA_XDS\n"));
    }
    if let Some(b) = f.headless_filter_chain_listener {
        out.push_str(&format!(
            "# istiod sets PILOT_ENABLE_HEADLESS_FILTER_CHAIN_LISTENER={b}: TCP headless ports then share one listener, with a filter chain per pod; counted per pod either way\n"
        ));
    }
    let Some(mesh) = &st.mesh else { return out };
    if let Some(d) = &mesh.default_service_export_to {
        let list: Vec<String> = d.iter().map(|e| q(e)).collect();
        out.push_str(&format!(
            "default_service_export_to = [{}]  # defaultServiceExportTo in {}\n",
            list.join(", "),
            one_line(&mesh.source)
        ));
    }
    let defaults = ProxySpec { what: format!("mesh config {}", mesh.source), ..ProxySpec::default() };
    match defaults.workers(&mesh.default_config, &st.nodes) {
        Workers::Known(n, why) => {
            out.push_str(&format!("sidecar_concurrency = {n}  # {}\n", one_line(&why)));
        }
        Workers::NodeUnknown(why) => out.push_str(&format!(
            "# sidecar_concurrency: {}; the input has no Nodes to count their CPUs\n",
            one_line(&why)
        )),
        Workers::Chart => {}
    }
    if let Some(why) = &st.per_cluster_stats {
        out.push_str(&format!(
            "per_cluster_stats = true  # defaultConfig.proxyStatsMatcher in {}: {}\n",
            one_line(&mesh.source),
            one_line(why)
        ));
    }
    if !mesh.discovery_selectors.is_empty() {
        out.push_str(&format!(
            "# {} sets discoverySelectors: namespaces they do not select are written discovered = false\n",
            one_line(&mesh.source)
        ));
    }
    out
}

/// Keys of one gateway.
pub(super) fn gateway(inv: &Inventory, ns: &str, name: &str) -> String {
    match inv.settings.gateway_workers.get(&(ns.to_string(), name.to_string())) {
        Some((n, why)) => format!("concurrency = {n}  # {}\n", one_line(why)),
        None => String::new(),
    }
}

/// Keys of one namespace.
pub(super) fn namespace(inv: &Inventory, ns: &str, sidecars: bool) -> String {
    let Some(n) = inv.settings.namespaces.get(ns) else { return String::new() };
    let mut out = String::new();
    if n.discovered == Some(false) {
        out.push_str(
            "discovered = false  # not selected by the mesh config's discoverySelectors: istiod ignores its Services\n",
        );
    }
    if !sidecars {
        return out;
    }
    if let Some((c, why)) = &n.concurrency {
        out.push_str(&format!("concurrency = {c}  # {}\n", one_line(why)));
    }
    if let Some((b, why)) = &n.per_cluster_stats {
        out.push_str(&format!("per_cluster_stats = {b}  # {}\n", one_line(why)));
    }
    out
}

/// TOML string literal.
pub(super) fn q(s: &str) -> String {
    toml::Value::String(s.to_string()).to_string()
}
