//! `kubectl get namespaces,services,endpoints,revisions.serving.knative.dev,services.serving.knative.dev,destinationrules.networking.istio.io -A -o json`
//! (plus `kubectl get deployments -n istio-system,knative-serving -o json`) to a topology file.
//!
//! The input is a `v1` `List` (or a `ServiceList`, `RevisionList`, a bare object, or several
//! such files). Revisions are joined to their Knative service through the
//! `serving.knative.dev/service` label (falling back to `.../configuration`), never through
//! their names: OpenShift Serverless revisions are called `example-2fvz4`. A revision's
//! Kubernetes Services (public `REV` and `REV-private`) are found by the
//! `serving.knative.dev/revision` label or by those names, and their ports become the
//! revision's endpoint ports. Services that belong to Knative (revision Services, the
//! ExternalName Service of a Knative service) are not listed as plain Services: the topology
//! counts them through the Knative services. Revisions that are not Ready are still counted
//! (GC retains them) and reported. [`cluster`] reads what else decides counts: releases from
//! the istiod and Knative controller Deployments, gateways by their pods' `istio` label,
//! endpoints, DestinationRule subsets, pod-template injection and ambient namespaces;
//! [`settings`] how the proxies run: Envoy workers (Pods, templates, Nodes), the mesh config
//! (`istio` ConfigMap) and istiod's flags.

mod cluster;
mod istiod;
mod lean;
mod meshconfig;
mod objects;
mod settings;
mod settings_toml;
mod workers;
mod write;

pub use objects::settings_of;
pub use {istiod::IstiodFlags, meshconfig::MeshConfig, settings::NamespaceSettings, settings::Settings};
pub use {workers::Cpu, workers::ProxySpec, workers::Workers, write::topology_toml, write::totals};

use std::collections::BTreeMap;

use serde::Serialize;
use serde_json::Value;

use crate::error::{Error, Result};
use crate::mesh::gc::RoutingState;

const SERVICE_LABEL: &str = "serving.knative.dev/service";
const CONFIGURATION_LABEL: &str = "serving.knative.dev/configuration";
const REVISION_LABEL: &str = "serving.knative.dev/revision";
/// Knative's revision Services say which one they are (`Public` or `Private`).
const SERVICE_TYPE_LABEL: &str = "networking.internal.knative.dev/serviceType";
/// The route's placeholder ExternalName Services carry their route's name.
const ROUTE_LABEL: &str = "serving.knative.dev/route";
/// The labeler's routing state of a revision (knative/serving `pkg/apis/serving/register.go`).
const ROUTING_STATE_LABEL: &str = "serving.knative.dev/routingState";
const GATEWAYS: &[&str] =
    &["istio-ingressgateway", "knative-local-gateway", "istio-egressgateway", "knative-ingress-gateway"];

/// What the List held, after joining.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct Inventory {
    /// Namespaces, by name.
    pub namespaces: BTreeMap<String, NamespaceInventory>,
    /// Gateways found (`namespace`, `name`), by their Services or their pods' `istio` label.
    pub gateways: Vec<(String, String)>,
    /// Istio release, from istiod's image (or its `app.kubernetes.io/version` label).
    pub istio_version: Option<String>,
    /// Knative Serving release, from the controller's `app.kubernetes.io/version` label or image.
    pub knative_version: Option<String>,
    /// Where the Istio release came from (a Deployment, or a flag).
    #[serde(skip)]
    pub istio_version_source: &'static str,
    /// Where the Knative release came from.
    #[serde(skip)]
    pub knative_version_source: &'static str,
    /// Objects of other kinds, skipped.
    pub skipped: BTreeMap<String, usize>,
    /// Findings worth telling the user (failed revisions, services without revisions).
    pub warnings: Vec<String>,
    /// How the proxies run: workers, stats, discovery, export defaults, istiod's flags.
    pub settings: Settings,
}

/// One namespace.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct NamespaceInventory {
    /// `Some(true)` when a Namespace object says `istio-injection=enabled` or `istio.io/rev`.
    pub sidecars: Option<bool>,
    /// `istio.io/dataplane-mode: ambient` on the Namespace.
    pub ambient: bool,
    /// A Knative service or revision here asks for injection by a pod template label
    /// (`sidecar.istio.io/inject: "true"` or `istio.io/rev`).
    pub template_injection: bool,
    /// A pod template asks only by the annotation (which injects nothing by itself).
    pub annotation_only: bool,
    /// The Namespace says `istio-injection: disabled`: nothing is injected, whatever pods ask.
    pub injection_disabled: bool,
    /// Knative services by name.
    pub knative: BTreeMap<String, KnativeInventory>,
    /// Plain Services by name.
    pub services: BTreeMap<String, PlainInventory>,
}

/// One plain Service.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct PlainInventory {
    /// Ports.
    pub ports: usize,
    /// `clusterIP: None`.
    pub headless: bool,
    /// Ports Istio treats as TCP (not named or declared http, http2, grpc, grpc-web): a
    /// headless Service gets a listener per pod IP on these only.
    pub tcp_ports: usize,
    /// `type: ExternalName`.
    pub external_name: bool,
    /// Ready endpoints, when the input held its Endpoints or EndpointSlices.
    pub pods: Option<usize>,
    /// DestinationRule subsets for its host.
    pub subsets: usize,
    /// Its `networking.istio.io/exportTo` annotation.
    pub export_to: Option<Vec<String>>,
}

/// One revision.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct RevisionInventory {
    /// Ports of its public and private Services, when the input held them.
    pub ports: Option<usize>,
    /// `metadata.creationTimestamp`.
    pub created: Option<String>,
    /// Annotated `serving.knative.dev/no-gc: "true"` (gc.go `isRevisionActive`).
    pub pinned: bool,
    /// Ready endpoints of its private Service.
    pub pods: Option<usize>,
    /// Its `serving.knative.dev/routingState` is pending, unset or unknown: unless the route
    /// names it, GC never collects it (gc.go `isRevisionActive`; [`crate::mesh::gc::RoutingState`]).
    pub never_routed: bool,
}

/// One Knative service.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct KnativeInventory {
    /// Retained revisions (Revision objects), by name.
    pub revisions: BTreeMap<String, RevisionInventory>,
    /// The Knative Service object was in the input.
    pub seen_service: bool,
    /// Revisions named in `status.traffic` (splits and tags).
    pub traffic: Vec<String>,
    /// Traffic tags (each has an ExternalName placeholder).
    pub tags: usize,
    /// Revisions the route sends to: a percent above 0 or a tag (route/resources/ingress.go
    /// skips 0% untagged targets).
    pub destinations: Vec<String>,
}

impl KnativeInventory {
    /// Revisions to count when no Revision object was found: the distinct revisions its
    /// traffic names (at least 1).
    pub fn fallback_revisions(&self) -> usize {
        let mut t: Vec<&String> = self.traffic.iter().collect();
        t.sort();
        t.dedup();
        t.len().max(1)
    }

    /// Distinct revisions the route's traffic names.
    pub fn routed(&self) -> usize {
        let mut t: Vec<&String> = self.traffic.iter().collect();
        t.sort();
        t.dedup();
        t.len()
    }

    /// Revisions to write: the Revision objects, or the fallback.
    pub fn revision_count(&self) -> usize {
        if self.revisions.is_empty() {
            self.fallback_revisions()
        } else {
            self.revisions.len()
        }
    }
}

fn s<'a>(v: &'a Value, ptr: &str) -> Option<&'a str> {
    v.pointer(ptr).and_then(Value::as_str)
}

fn label<'a>(v: &'a Value, key: &str) -> Option<&'a str> {
    v.pointer("/metadata/labels").and_then(|l| l.get(key)).and_then(Value::as_str)
}

/// Read and join the objects of several files.
pub fn inventory(files: &[(std::path::PathBuf, Vec<u8>)]) -> Result<Inventory> {
    let owned = objects::objects_of(files)?;
    let mut inv = Inventory::default();
    // The same object twice (two files that overlap, a file given twice) counts once.
    let mut keys = std::collections::BTreeSet::new();
    let mut objects: Vec<(&std::path::PathBuf, &Value)> = Vec::new();
    for (path, o) in &owned {
        let key = (
            s(o, "/kind").unwrap_or("").to_string(),
            s(o, "/apiVersion").unwrap_or("").split('/').next().unwrap_or("").to_string(),
            s(o, "/metadata/namespace").unwrap_or("").to_string(),
            s(o, "/metadata/name").unwrap_or("").to_string(),
        );
        if keys.insert(key) {
            objects.push((*path, o));
        } else {
            *inv.skipped.entry("duplicate objects".to_string()).or_default() += 1;
        }
    }
    let mut k8s_services: Vec<(&Value, &std::path::PathBuf)> = Vec::new();
    let mut extra = cluster::Extra::default();
    // Revision name -> (namespace, knative service).
    let mut revision_owner: BTreeMap<(String, String), String> = BTreeMap::new();
    for (path, o) in &objects {
        let kind = s(o, "/kind").unwrap_or("");
        let api = s(o, "/apiVersion").unwrap_or("");
        let name = s(o, "/metadata/name");
        let ns = s(o, "/metadata/namespace");
        let need = |what: &str| Error::data(format!("a {kind} object has no {what}"), path);
        match (kind, api.split('/').next().unwrap_or("")) {
            ("Service", "serving.knative.dev") => {
                let (name, ns) =
                    (name.ok_or_else(|| need("metadata.name"))?, ns.ok_or_else(|| need("metadata.namespace"))?);
                let k = inv.namespaces.entry(ns.into()).or_default().knative.entry(name.into()).or_default();
                k.seen_service = true;
                // Every revision the traffic names is active to the GC (routingState), 0% tags
                // included (knative/serving pkg/reconciler/labeler/metasync.go).
                if let Some(Value::Array(t)) = o.pointer("/status/traffic") {
                    k.traffic = t
                        .iter()
                        .filter_map(|e| e.get("revisionName").and_then(Value::as_str))
                        .map(str::to_string)
                        .collect();
                    k.tags = t.iter().filter(|e| e.get("tag").and_then(Value::as_str).is_some()).count();
                    k.destinations = t
                        .iter()
                        .filter(|e| {
                            e.get("tag").and_then(Value::as_str).is_some()
                                || e.get("percent").and_then(Value::as_f64).is_some_and(|p| p > 0.0)
                        })
                        .filter_map(|e| e.get("revisionName").and_then(Value::as_str))
                        .map(str::to_string)
                        .collect();
                    k.destinations.sort();
                    k.destinations.dedup();
                }
                cluster::note_injection(inv.namespaces.entry(ns.into()).or_default(), o, &["/spec/template/metadata"]);
                if let Some(reason) = not_ready(o) {
                    inv.warnings.push(format!("Knative service {ns}/{name} is not Ready: {reason}"));
                }
            }
            ("Revision", "serving.knative.dev") => {
                let (name, ns) =
                    (name.ok_or_else(|| need("metadata.name"))?, ns.ok_or_else(|| need("metadata.namespace"))?);
                let owner = label(o, SERVICE_LABEL).or_else(|| label(o, CONFIGURATION_LABEL)).ok_or_else(|| {
                    Error::data(
                        format!("revision {ns}/{name} has neither a {SERVICE_LABEL} nor a {CONFIGURATION_LABEL} label"),
                        path,
                    )
                })?;
                let rev = RevisionInventory {
                    created: s(o, "/metadata/creationTimestamp").map(str::to_string),
                    pinned: o
                        .pointer("/metadata/annotations/serving.knative.dev~1no-gc")
                        .and_then(Value::as_str)
                        .is_some_and(|v| v.eq_ignore_ascii_case("true")),
                    never_routed: RoutingState::of_label(label(o, ROUTING_STATE_LABEL)).never_routed(),
                    ..RevisionInventory::default()
                };
                let nsi = inv.namespaces.entry(ns.into()).or_default();
                cluster::note_injection(nsi, o, &["/metadata", "/spec/template/metadata"]);
                nsi.knative.entry(owner.into()).or_default().revisions.insert(name.into(), rev);
                revision_owner.insert((ns.into(), name.into()), owner.into());
                if let Some(reason) = not_ready(o) {
                    inv.warnings
                        .push(format!("revision {ns}/{name} is not Ready ({reason}): still counted, GC retains it"));
                }
            }
            ("Service", "v1") => k8s_services.push((o, path)),
            ("Namespace", "v1") => {
                let name = name.ok_or_else(|| need("metadata.name"))?;
                let nsi = inv.namespaces.entry(name.into()).or_default();
                // Ambient namespaces have no sidecars (istio.io/dataplane-mode: ambient).
                nsi.ambient = label(o, "istio.io/dataplane-mode") == Some("ambient");
                // Istio: istio-injection wins over istio.io/rev.
                let injected = match label(o, "istio-injection") {
                    Some(v) => v == "enabled",
                    None => label(o, "istio.io/rev").is_some(),
                };
                nsi.injection_disabled = label(o, "istio-injection") == Some("disabled");
                nsi.sidecars = Some(injected && !nsi.ambient);
            }
            _ => {
                if !cluster::read_other(&mut extra, kind, api, o) {
                    *inv.skipped.entry(format!("{kind} ({api})")).or_default() += 1
                }
            }
        }
    }
    for (o, path) in k8s_services {
        let name = s(o, "/metadata/name").ok_or_else(|| Error::data("a Service has no metadata.name", path))?;
        let ns = s(o, "/metadata/namespace").unwrap_or("default");
        let ports = match o.pointer("/spec/ports") {
            Some(Value::Array(p)) => p.len(),
            _ => 0,
        };
        // A revision's Services by label (serving.knative.dev/revision, serviceType), else by
        // the names `REV` and `REV-private` of a Revision in the input.
        let revision = label(o, REVISION_LABEL).map(str::to_string).or_else(|| {
            let base = name.strip_suffix("-private").unwrap_or(name);
            revision_owner.contains_key(&(ns.to_string(), base.to_string())).then(|| base.to_string())
        });
        if let Some(rev) = revision {
            let owner = revision_owner
                .get(&(ns.to_string(), rev.clone()))
                .cloned()
                .or_else(|| label(o, SERVICE_LABEL).map(str::to_string));
            if let Some(owner) = owner {
                let k = inv.namespaces.entry(ns.into()).or_default().knative.entry(owner).or_default();
                let slot = k.revisions.entry(rev).or_default();
                slot.ports = Some(slot.ports.unwrap_or(0) + ports);
                // The private Service selects the revision's pods (serverlessservice resources).
                if label(o, SERVICE_TYPE_LABEL) == Some("Private") || name.ends_with("-private") {
                    slot.pods = extra.ready(ns, name).or(slot.pods);
                }
            }
            continue;
        }
        if label(o, SERVICE_LABEL).is_some() || label(o, ROUTE_LABEL).is_some() {
            continue; // the Knative service's ExternalName placeholder: the topology counts it
        }
        if GATEWAYS.contains(&name) || label(o, "istio").is_some_and(|v| v.ends_with("gateway")) {
            extra.gateway_service(ns, name, o);
        }
        let plain = PlainInventory {
            ports,
            headless: s(o, "/spec/clusterIP") == Some("None"),
            tcp_ports: o
                .pointer("/spec/ports")
                .and_then(Value::as_array)
                .map_or(0, |p| p.iter().filter(|port| !cluster::http_port(port)).count()),
            external_name: s(o, "/spec/type") == Some("ExternalName"),
            pods: extra.ready(ns, name),
            subsets: extra.subsets(ns, name),
            export_to: o
                .pointer("/metadata/annotations/networking.istio.io~1exportTo")
                .and_then(Value::as_str)
                .map(|v| v.split(',').map(|e| e.trim().to_string()).filter(|e| !e.is_empty()).collect()),
        };
        inv.namespaces.entry(ns.into()).or_default().services.insert(name.into(), plain);
    }
    extra.finish(&mut inv);
    let mut settings = settings::read(&objects, &mut inv.warnings)?;
    settings.finish(&mut inv);
    inv.settings = settings;
    for (ns, n) in &inv.namespaces {
        for (name, k) in &n.knative {
            if k.revisions.is_empty() {
                inv.warnings.push(format!(
                    "Knative service {ns}/{name} has no Revision objects in the input: add revisions.serving.knative.dev to the kubectl get; counted from status.traffic as {}",
                    k.fallback_revisions()
                ));
            }
            let unrouted = write::unrouted(k);
            if unrouted > 0 {
                let (n, are) =
                    if unrouted == 1 { ("1 revision".into(), "is") } else { (format!("{unrouted} revisions"), "are") };
                inv.warnings.push(format!(
                    "{n} of {ns}/{name} {are} pending/unset (never routed): Knative's GC never collects them"
                ));
            }
        }
    }
    if inv.namespaces.is_empty() {
        return Err(Error::invalid(format!(
            "no Services, Knative Services or Revisions in {}",
            files.iter().map(|f| f.0.display().to_string()).collect::<Vec<_>>().join(", ")
        )));
    }
    Ok(inv)
}

/// The reason a Ready condition is not True, if it is not.
fn not_ready(o: &Value) -> Option<String> {
    let conditions = o.pointer("/status/conditions")?.as_array()?;
    let ready = conditions.iter().find(|c| c.get("type").and_then(Value::as_str) == Some("Ready"))?;
    let status = ready.get("status").and_then(Value::as_str).unwrap_or("Unknown");
    if status == "True" {
        return None;
    }
    let reason = ready.get("reason").and_then(Value::as_str).unwrap_or("no reason given");
    Some(format!("Ready={status}, {reason}"))
}
