//! Checks a topology before anything is counted from it: every error names the file and the
//! value, in the words of the topology file.

use std::collections::BTreeMap;
use std::path::Path;

use super::version::Version;
use super::Topology;
use crate::error::{Error, Result};

/// Envoy workers accepted (Envoy's `--concurrency`; more than this is a typo).
const MAX_CONCURRENCY: u32 = 1024;

impl Topology {
    /// Check names, references and ranges, and build the namespace index.
    pub(super) fn check(&mut self, path: &Path) -> Result<()> {
        let bad = |m: String| Error::data(m, path);
        if self.namespaces.is_empty() {
            return Err(bad("topology has no [[namespaces]]".into()));
        }
        let mut index = BTreeMap::new();
        for (i, ns) in self.namespaces.iter().enumerate() {
            if index.insert(ns.name.clone(), i).is_some() {
                return Err(bad(format!("namespace \"{}\" is listed twice", ns.name)));
            }
        }
        let known = |e: &str| e == "*" || e == "." || e == "~" || index.contains_key(e);
        for (key, v) in [("istio_version", &self.istio_version), ("knative_version", &self.knative_version)] {
            if let Some(v) = v {
                Version::parse(v).map_err(|e| bad(format!("{key}: {e}")))?;
            }
        }
        // Istio: an empty exportTo is the default (exported everywhere); "~" (nowhere) cannot be
        // combined with anything else (its validation refuses it).
        let default_export = self.default_service_export_to.clone().filter(|d| !d.is_empty());
        if let Some(d) = &default_export {
            if let Some(e) = d.iter().find(|e| !known(e)) {
                return Err(bad(format!(
                    "default_service_export_to names \"{e}\", which is not a namespace of the topology"
                )));
            }
            if d.len() > 1 && d.iter().any(|e| e == "~") {
                return Err(bad(format!(
                    "default_service_export_to is {d:?}: \"~\" (exported nowhere) cannot be combined with other values"
                )));
            }
        }
        let default_export = default_export.map(|d| effective_default_export(&d, self.versions().istio));
        for ns in &mut self.namespaces {
            if ns.export_to.is_empty() {
                ns.export_to = default_export.clone().unwrap_or_else(|| vec!["*".into()]);
            }
            for s in &mut ns.services {
                if s.export_to.as_ref().is_some_and(Vec::is_empty) {
                    s.export_to = None;
                }
            }
        }
        for ns in &self.namespaces {
            let lists = std::iter::once(&ns.export_to).chain(ns.services.iter().filter_map(|s| s.export_to.as_ref()));
            for list in lists {
                if list.len() > 1 && list.iter().any(|e| e == "~") {
                    return Err(bad(format!(
                        "namespace \"{}\" has exportTo {list:?}: \"~\" (exported nowhere) cannot be combined with other values",
                        ns.name
                    )));
                }
            }
            let mut names = std::collections::HashSet::new();
            for name in ns.knative.iter().map(|k| &k.name).chain(ns.services.iter().map(|s| &s.name)) {
                if !names.insert(name) {
                    return Err(bad(format!("namespace \"{}\" lists the Service \"{name}\" twice", ns.name)));
                }
            }
            if let Some(e) = ns.export_to.iter().find(|e| !known(e)) {
                return Err(bad(format!(
                    "namespace \"{}\" exports to \"{e}\", which is not a namespace of the topology",
                    ns.name
                )));
            }
            if ns.ambient && ns.sidecars {
                return Err(bad(format!(
                    "namespace \"{}\" is ambient (istio.io/dataplane-mode: ambient) and cannot also have sidecars",
                    ns.name
                )));
            }
            for k in &ns.knative {
                if let Some(p) = k.ports_per_revision {
                    if !(p.is_finite() && p > 0.0) {
                        return Err(bad(format!("knative service \"{}\" has ports_per_revision {p}", k.name)));
                    }
                }
                if k.destinations.is_some_and(|d| d > k.routed) || k.serving.is_some_and(|v| v > k.routed) {
                    return Err(bad(format!(
                        "knative service \"{}\" routes {} revisions: destinations and serving count among them",
                        k.name, k.routed
                    )));
                }
                if k.pods < k.serving() || (k.pods > 0 && k.serving() == 0) {
                    return Err(bad(format!(
                        "knative service \"{}\" has {} pods on {} serving revisions: each serving revision has a pod",
                        k.name,
                        k.pods,
                        k.serving()
                    )));
                }
                if k.tags > 0 && k.routed == 0 {
                    return Err(bad(format!(
                        "knative service \"{}\" has {} traffic tags but routes no revision: a tag names a revision",
                        k.name, k.tags
                    )));
                }
                if let Some(c) = k.created.iter().find(|c| super::topology::rfc3339_unix(c).is_none()) {
                    return Err(bad(format!(
                        "knative service \"{}/{}\" has created \"{c}\", which is not an RFC 3339 time like 2026-01-05T09:30:00Z",
                        ns.name, k.name
                    )));
                }
                if k.created.len() > k.revisions as usize {
                    return Err(bad(format!(
                        "knative service \"{}/{}\" lists {} creation times for {} revisions: one per retained revision at most",
                        ns.name,
                        k.name,
                        k.created.len(),
                        k.revisions
                    )));
                }
                if u64::from(k.routed) + u64::from(k.pinned) + u64::from(k.unrouted) > u64::from(k.revisions) {
                    if k.unrouted > 0 {
                        return Err(bad(format!(
                            "knative service \"{}/{}\" has unrouted = {}, but it retains {} revisions of which {} are routed and {} pinned: unrouted ones are among the retained",
                            ns.name, k.name, k.unrouted, k.revisions, k.routed, k.pinned
                        )));
                    }
                    return Err(bad(format!(
                        "knative service \"{}\" retains {} revisions but routes {} and pins {}: routed and pinned revisions are retained",
                        k.name, k.revisions, k.routed, k.pinned
                    )));
                }
            }
            for s in &ns.services {
                if let Some(e) = s.export_to.iter().flatten().find(|e| !known(e)) {
                    return Err(bad(format!(
                        "service \"{}/{}\" exports to \"{e}\", which is not a namespace of the topology",
                        ns.name, s.name
                    )));
                }
                if s.external_name && (s.headless || s.subsets > 0) {
                    return Err(bad(format!(
                        "service \"{}/{}\" is an ExternalName Service: it has no pods, so no headless listeners or subsets",
                        ns.name, s.name
                    )));
                }
            }
        }
        if let Some(p) = self.ports_per_revision {
            if !(p.is_finite() && p > 0.0) {
                return Err(bad(format!("ports_per_revision must be positive, but {p} is not")));
            }
        }
        let workers = |what: String, c: Option<u32>| match c {
            Some(c) if c == 0 || c > MAX_CONCURRENCY => {
                Err(bad(format!("{what} concurrency must be 1 to {MAX_CONCURRENCY} Envoy workers, but {c} is not")))
            }
            _ => Ok(()),
        };
        workers("sidecar".into(), self.sidecar_concurrency)?;
        for ns in &self.namespaces {
            workers(format!("namespace \"{}\"", ns.name), ns.concurrency)?;
        }
        for g in &self.gateways {
            workers(format!("gateway \"{}\"", g.name), g.concurrency)?;
            if !index.contains_key(&g.namespace) {
                return Err(bad(format!(
                    "gateway \"{}\" is in namespace \"{}\", which the topology does not list",
                    g.name, g.namespace
                )));
            }
            for r in &g.routes {
                let found = r.split_once('/').and_then(|(ns, name)| {
                    index.get(ns).map(|&i| self.namespaces[i].services.iter().any(|s| s.name == name))
                });
                if found != Some(true) {
                    return Err(bad(format!(
                        "gateway \"{}\" routes to \"{r}\", which is not a plain Service (namespace/name) of the topology",
                        g.name
                    )));
                }
            }
        }
        self.index = index;
        Ok(())
    }
}

/// What mesh config `defaultServiceExportTo` does to a Service without the exportTo annotation
/// (istio/istio `pilot/pkg/model/push_context.go`, `initDefaultExportMaps` and
/// `IsServiceVisible`). Through 1.30 istiod reads only two values of it: `.` (then the Service
/// is private, whatever else is listed) and `*`; a list of neither (namespace names, `~`)
/// exports the Service nowhere (`IsServiceVisible` at 1.18.0, 1.22.0 and 1.30.0). From 1.31 the
/// list is the Service's exportTo as written (`serviceExportTo` at 1.31.0-rc.0).
fn effective_default_export(default: &[String], istio: Version) -> Vec<String> {
    if istio >= Version::new(1, 31) {
        return default.to_vec();
    }
    let one = if default.iter().any(|e| e == ".") {
        "."
    } else if default.iter().any(|e| e == "*") {
        "*"
    } else {
        "~"
    };
    vec![one.to_string()]
}
