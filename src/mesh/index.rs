//! The topology's Services indexed by where they are exported, their namespace and their
//! name, so that what every proxy sees is summed in time linear in the topology: the part
//! exported everywhere is summed once, and a proxy adds only what its scope names.
//!
//! Two mesh-config rules decide what enters the index:
//! - `discoverySelectors`: istiod keeps the objects of a namespace only when some selector
//!   matches its labels (istio/istio `pkg/kube/namespace/filter.go`, `Filter` and
//!   `selectorsChanged`, at 1.22.0), so the Services of a namespace marked `discovered = false`
//!   are in no proxy's config and are left out here.
//! - `defaultServiceExportTo`: the exportTo of Services without the annotation, resolved per
//!   Istio release into the namespace's `export_to` when the topology is checked
//!   (`effective_default_export` in [`super::check`]).
//!
//! Both are tested against hand counts in `tests/mesh_config_rules.rs`.

use std::collections::{HashMap, HashSet};

use super::counts::{exported, Counts};
use super::rules::{KnativeView, Rules};
use super::scope::HostPattern;
use super::{KnativeService, PlainService, Topology};

/// One Service (or `count` alike) of the topology.
#[derive(Debug, Clone, Copy)]
pub(super) struct Unit<'a> {
    pub ns: usize,
    pub item: Item<'a>,
}

#[derive(Debug, Clone, Copy)]
pub(super) enum Item<'a> {
    Knative(&'a KnativeService),
    Plain(&'a PlainService),
}

impl Unit<'_> {
    pub fn name(&self) -> &str {
        match self.item {
            Item::Knative(k) => &k.name,
            Item::Plain(s) => &s.name,
        }
    }
}

/// The topology's Services indexed by exportTo, namespace and name.
pub(super) struct Index<'a> {
    pub topology: &'a Topology,
    pub rules: Rules,
    pub units: Vec<Unit<'a>>,
    /// Units exported to every namespace.
    pub everywhere: Vec<usize>,
    /// Whether each unit is exported to every namespace.
    pub is_everywhere: Vec<bool>,
    /// Namespace name to the units exported to it besides `everywhere`.
    pub to: HashMap<&'a str, Vec<usize>>,
    /// Units per namespace index.
    pub of_namespace: Vec<Vec<usize>>,
    /// Service name to its units in every namespace.
    pub by_name: HashMap<&'a str, Vec<usize>>,
}

impl<'a> Index<'a> {
    pub fn new(topology: &'a Topology) -> Index<'a> {
        let rules = Rules {
            versions: topology.versions(),
            ppr: topology.ports_per_revision(),
            activator: f64::from(topology.activator_pods()),
        };
        let mut ix = Index {
            topology,
            rules,
            units: Vec::new(),
            everywhere: Vec::new(),
            is_everywhere: Vec::new(),
            to: HashMap::new(),
            of_namespace: vec![Vec::new(); topology.namespaces.len()],
            by_name: HashMap::new(),
        };
        for (i, ns) in topology.namespaces.iter().enumerate() {
            if !ns.discovered {
                continue;
            }
            let items = ns.knative.iter().map(Item::Knative).chain(ns.services.iter().map(Item::Plain));
            for item in items {
                let export: &[String] = match item {
                    Item::Plain(s) => s.export_to.as_deref().unwrap_or(&ns.export_to),
                    Item::Knative(_) => &ns.export_to,
                };
                let u = ix.units.len();
                ix.units.push(Unit { ns: i, item });
                ix.of_namespace[i].push(u);
                let name: &'a str = match item {
                    Item::Knative(k) => &k.name,
                    Item::Plain(s) => &s.name,
                };
                ix.by_name.entry(name).or_default().push(u);
                let everywhere = export.iter().any(|e| e == "*");
                ix.is_everywhere.push(everywhere);
                if everywhere {
                    ix.everywhere.push(u);
                    continue;
                }
                let mut targets: Vec<&str> = export
                    .iter()
                    .filter(|e| *e != "~")
                    .map(|e| if e == "." { ns.name.as_str() } else { e.as_str() })
                    .collect();
                targets.sort_unstable();
                targets.dedup();
                for t in targets {
                    ix.to.entry(t).or_default().push(u);
                }
            }
        }
        ix
    }

    pub fn exported(&self, u: usize, proxy_ns: &str) -> bool {
        let unit = &self.units[u];
        let ns = &self.topology.namespaces[unit.ns];
        let export: &[String] = match unit.item {
            Item::Plain(s) => s.export_to.as_deref().unwrap_or(&ns.export_to),
            Item::Knative(_) => &ns.export_to,
        };
        exported(export, &ns.name, proxy_ns)
    }

    pub fn count(&self, u: usize, view: KnativeView) -> Counts {
        match self.units[u].item {
            Item::Knative(k) => self.rules.knative(k, view),
            Item::Plain(s) => self.rules.plain(s),
        }
    }

    /// Every unit exported to `proxy_ns`, seen whole (no Sidecar scope).
    pub fn exported_to(&self, proxy_ns: &str) -> impl Iterator<Item = usize> + '_ {
        self.everywhere.iter().chain(self.to.get(proxy_ns).into_iter().flatten()).copied()
    }

    /// Sum over the units exported to `proxy_ns`.
    pub fn whole_mesh(&self, proxy_ns: &str, mesh_total: &Counts) -> Counts {
        let mut c = *mesh_total;
        for u in self.to.get(proxy_ns).into_iter().flatten() {
            c += self.count(*u, KnativeView::All);
        }
        c
    }

    /// Per Service name of a `*/name` egress host: what the Services of that name exported
    /// everywhere contribute, summed once for every proxy.
    pub fn star_totals(&self, patterns: &[HostPattern]) -> HashMap<&'a str, Counts> {
        let mut out = HashMap::new();
        for p in patterns.iter().filter(|p| p.namespace == "*") {
            let Some((name, None)) = p.service_host() else { continue };
            let Some((&key, units)) = self.by_name.get_key_value(name) else { continue };
            out.entry(key).or_insert_with(|| {
                let mut c = Counts::default();
                for &u in units.iter().filter(|&&u| self.is_everywhere[u]) {
                    c += self.count(u, KnativeView::Routed);
                }
                c
            });
        }
        out
    }

    /// Index of a namespace by name.
    pub fn ns_index(&self, name: &str) -> Option<usize> {
        match self.topology.index.get(name) {
            Some(&i) => Some(i),
            None if self.topology.index.is_empty() => self.topology.namespaces.iter().position(|n| n.name == name),
            None => None,
        }
    }

    /// What a sidecar in `proxy_ns` sees under explicit egress hosts.
    pub fn hosts(
        &self,
        patterns: &[HostPattern],
        proxy_ns: &str,
        mesh_total: &Counts,
        star: &HashMap<&str, Counts>,
    ) -> Counts {
        if patterns.iter().any(|p| p.namespace == "*" && p.covers_all_namespaces()) {
            return self.whole_mesh(proxy_ns, mesh_total);
        }
        let mut whole: Vec<usize> =
            patterns.iter().filter_map(|p| p.whole_namespace(proxy_ns)).filter_map(|ns| self.ns_index(&ns)).collect();
        whole.sort_unstable();
        whole.dedup();
        let mut c = Counts::default();
        let mut seen: HashSet<usize> = HashSet::new();
        for &i in &whole {
            for &u in &self.of_namespace[i] {
                if self.exported(u, proxy_ns) {
                    seen.insert(u);
                    c += self.count(u, KnativeView::All);
                }
            }
        }
        // Hosts in one namespace first (`ns/svc`, `./svc`, `*/svc.ns.svc.cluster.local`): few
        // Services each. `*/svc` hosts match that name in every namespace: their part exported
        // everywhere is summed once per topology (`star`), then corrected per proxy.
        let mut star_names: Vec<&str> = Vec::new();
        for p in patterns {
            let Some((name, fqdn_ns)) = p.service_host() else { continue };
            let pattern_ns = match p.namespace.as_str() {
                "*" => None,
                "." => Some(proxy_ns),
                ns => Some(ns),
            };
            let host_ns = match (pattern_ns, fqdn_ns) {
                // `shop/x.payments.svc.cluster.local` names a host outside shop: Istio matches nothing.
                (Some(a), Some(b)) if a != b => continue,
                (Some(a), _) => a,
                (None, Some(b)) => b,
                (None, None) => {
                    star_names.push(name);
                    continue;
                }
            };
            let Some(i) = self.ns_index(host_ns) else { continue };
            for &u in &self.of_namespace[i] {
                if self.units[u].name() == name && self.exported(u, proxy_ns) && seen.insert(u) {
                    c += self.count(u, KnativeView::Routed);
                }
            }
        }
        star_names.sort_unstable();
        star_names.dedup();
        for name in star_names {
            c += star.get(name).copied().unwrap_or_default();
            // Already counted whole or by a namespaced host: take the star's share back out, in
            // unit order (fractional ports per revision must sum the same bits in every run).
            let mut counted: Vec<usize> =
                seen.iter().copied().filter(|&u| self.is_everywhere[u] && self.units[u].name() == name).collect();
            counted.sort_unstable();
            for u in counted {
                c -= self.count(u, KnativeView::Routed);
            }
            for &u in self.to.get(proxy_ns).into_iter().flatten() {
                if self.units[u].name() == name && seen.insert(u) {
                    c += self.count(u, KnativeView::Routed);
                }
            }
        }
        c
    }
}

#[cfg(test)]
mod tests {
    use std::path::Path;

    use super::super::{visibility, ProxyKind, Scope, ScopeMap, Topology};
    use super::*;

    /// What a sidecar in `proxy_ns` sees, the slow way: every Service of the mesh, admitted by
    /// reading the egress hosts one by one.
    fn naive(t: &Topology, scope: &Scope, proxy_ns: &str) -> Counts {
        let ix = Index::new(t);
        let patterns = match scope {
            Scope::Mesh => vec![HostPattern { namespace: "*".into(), host: "*".into() }],
            Scope::Namespace => Scope::namespace_hosts(),
            Scope::Hosts(p) => p.clone(),
        };
        let mut c = Counts::default();
        for (u, unit) in ix.units.iter().enumerate() {
            let owner = &t.namespaces[unit.ns].name;
            if !ix.exported(u, proxy_ns) {
                continue;
            }
            // Istio's matching, written out from the host strings alone: a wildcard host matches
            // the Service's FQDN by suffix, an exact host matches its FQDN or short forms; the
            // namespace part must be `*` or the Service's namespace.
            let fqdn = format!("{}.{owner}.svc.cluster.local", unit.name());
            let admits_ns = |p: &HostPattern| {
                let ns = if p.namespace == "." { proxy_ns } else { p.namespace.as_str() };
                ns == "*" || ns == owner
            };
            let whole = patterns.iter().any(|p| {
                let wildcard = p.host == "*" || p.host.strip_prefix('*').is_some_and(|suffix| fqdn.ends_with(suffix));
                wildcard && admits_ns(p)
            });
            let named = patterns.iter().any(|p| {
                let forms = [
                    unit.name().to_string(),
                    format!("{}.{owner}", unit.name()),
                    format!("{}.{owner}.svc", unit.name()),
                    fqdn.clone(),
                ];
                // A short name is a Service of the pattern's namespace (or of any, under `*`).
                forms.contains(&p.host) && admits_ns(p)
            });
            if whole {
                c += ix.count(u, KnativeView::All);
            } else if named {
                c += ix.count(u, KnativeView::Routed);
            }
        }
        c
    }

    /// Random topologies (exportTo lists, annotated Services, same names in several
    /// namespaces) and random egress hosts: the indexed sums equal the slow way.
    #[test]
    fn indexed_sums_equal_reading_every_service() {
        let mut state = 0x9e37_79b9_7f4a_7c15_u64;
        let mut next = |n: u64| {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            state % n
        };
        let names = ["a", "b", "c"];
        for case in 0..600 {
            let n_ns = 1 + next(5) as usize;
            let mut text = String::from("istio_version = \"1.20.0\"\n");
            for i in 0..n_ns {
                let export = match next(4) {
                    0 => "[\".\"]".to_string(),
                    1 => format!("[\"ns{}\"]", next(n_ns as u64)),
                    2 => "[\"~\"]".to_string(),
                    _ => "[\"*\"]".to_string(),
                };
                text.push_str(&format!("[[namespaces]]\nname = \"ns{i}\"\nsidecars = true\nexport_to = {export}\n"));
                let k = names[next(3) as usize];
                text.push_str(&format!(
                    "knative = [{{ name = \"{k}\", revisions = {}, routed = 1, pods = {} }}]\n",
                    1 + next(9),
                    next(3)
                ));
                let s = names[next(3) as usize];
                let annotation = if next(3) == 0 { ", export_to = [\"*\"]" } else { "" };
                if s != k {
                    text.push_str(&format!("services = [{{ name = \"{s}\", ports = {}{annotation} }}]\n", 1 + next(3)));
                }
            }
            let t = Topology::parse(Path::new("random.toml"), &text).expect(&text);
            let mut hosts = Vec::new();
            for _ in 0..1 + next(3) {
                let ns = match next(4) {
                    0 => "*".to_string(),
                    1 => ".".to_string(),
                    _ => format!("ns{}", next(n_ns as u64)),
                };
                let host = match next(7) {
                    0 => "*".to_string(),
                    1 => names[next(3) as usize].to_string(),
                    2 => format!("{}.ns{}.svc.cluster.local", names[next(3) as usize], next(n_ns as u64)),
                    3 => "*.svc.cluster.local".to_string(),
                    4 => "*.cluster.local".to_string(),
                    5 => format!("{}.ns{}", names[next(3) as usize], next(n_ns as u64)),
                    _ => format!("*.ns{}.svc.cluster.local", next(n_ns as u64)),
                };
                hosts.push(format!("{ns}/{host}"));
            }
            // Per-namespace scopes too: the first namespace takes the host list, the rest another.
            let hosts = format!("hosts={}", hosts.join(","));
            let maps = [
                "mesh".to_string(),
                "namespace".to_string(),
                hosts.clone(),
                format!("namespace; ns0={hosts}"),
                format!("{hosts}; ns0=mesh"),
            ];
            for map in maps {
                let Ok(map) = ScopeMap::parse(&map) else { continue };
                let Ok(seen) = visibility(&t, &map) else { continue };
                for v in seen.iter().filter(|v| v.kind == ProxyKind::Sidecar) {
                    assert_eq!(
                        v.counts,
                        naive(&t, map.scope_of(&v.proxy), &v.proxy),
                        "case {case}, {map}, proxy {}\n{text}",
                        v.proxy
                    );
                }
            }
        }
    }
}
