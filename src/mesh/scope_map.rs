//! A scope per namespace: one default [`Scope`] and per-namespace overrides.
//!
//! Rollouts of Sidecar resources go namespace by namespace, so a mesh is seldom under one
//! scope: `shop` may be scoped to its namespace while `payments` lists its hosts and the rest
//! has no Sidecar yet. [`ScopeMap`] is that: the scope of every namespace not named, and the
//! namespaces that have their own. Written as `NS=SCOPE` beside the default on the command
//! line (`--scope namespace --scope shop=mesh`) and as one text, parts separated by `;`, in
//! scenario specs and output (`namespace; shop=mesh`).
//!
//! Mesh infrastructure ([`super::Namespace::infrastructure`]) and gateways are never scoped:
//! an override naming an infrastructure namespace is refused, as is one naming a namespace the
//! topology lacks or one without sidecars (nothing there for a Sidecar to scope).

use std::fmt;

use super::{Scope, Topology};
use crate::error::{Error, Result};

/// The scope of every sidecar namespace: a default and per-namespace overrides.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ScopeMap {
    /// The scope of every namespace not overridden.
    pub default: Scope,
    /// `(namespace, scope)` overrides, in the order given; each namespace at most once.
    pub overrides: Vec<(String, Scope)>,
}

impl From<Scope> for ScopeMap {
    fn from(default: Scope) -> ScopeMap {
        ScopeMap { default, overrides: Vec::new() }
    }
}

/// One `--scope` value: a scope, or a namespace's override.
enum Part {
    Default(Scope),
    Override(String, Scope),
}

/// Read one value: `mesh`, `namespace`, `hosts=...` (a scope, even where `hosts` could be a
/// namespace), or `NS=SCOPE`.
fn part(text: &str) -> Result<Part> {
    let t = text.trim();
    match t.split_once('=') {
        Some((ns, scope)) if ns.trim() != "hosts" => {
            let ns = ns.trim();
            if ns.is_empty() {
                return Err(Error::invalid(format!("scope \"{t}\" has no namespace before '=' (NS=SCOPE)")));
            }
            Ok(Part::Override(ns.to_string(), Scope::parse(scope)?))
        }
        _ => Ok(Part::Default(Scope::parse(t)?)),
    }
}

impl ScopeMap {
    /// The scopes `--scope` values ask for: each plain scope (`mesh`, `namespace`,
    /// `hosts=...`) is one alternative, in order, and every `NS=SCOPE` value overrides that
    /// namespace in each of them. With only overrides the one alternative is `mesh` (no
    /// Sidecar: Istio's default) for the rest.
    pub fn alternatives(values: &[String]) -> Result<Vec<ScopeMap>> {
        let mut defaults = Vec::new();
        let mut overrides: Vec<(String, Scope)> = Vec::new();
        for v in values {
            match part(v)? {
                Part::Default(s) => defaults.push(s),
                Part::Override(ns, s) => {
                    if overrides.iter().any(|(n, _)| *n == ns) {
                        return Err(Error::invalid(format!("namespace {ns} is given two scopes: give it one")));
                    }
                    overrides.push((ns, s));
                }
            }
        }
        if defaults.is_empty() {
            defaults.push(Scope::Mesh);
        }
        Ok(defaults.into_iter().map(|default| ScopeMap { default, overrides: overrides.clone() }).collect())
    }

    /// One scope map from `--scope` values that name at most one default.
    pub fn single(values: &[String]) -> Result<ScopeMap> {
        let mut all = ScopeMap::alternatives(values)?;
        if all.len() > 1 {
            return Err(Error::invalid(format!(
                "{} scopes given for every namespace ({}): give one, and NS=SCOPE for namespaces that differ",
                all.len(),
                all.iter().map(|m| m.default.to_string()).collect::<Vec<_>>().join(", ")
            )));
        }
        Ok(all.remove(0))
    }

    /// Parse the one-text form: parts separated by `;`, at most one plain scope (the default,
    /// `mesh` when none), the others `NS=SCOPE` (`namespace; shop=mesh`).
    pub fn parse(text: &str) -> Result<ScopeMap> {
        let parts: Vec<String> = text.split(';').map(str::to_string).collect();
        ScopeMap::single(&parts)
    }

    /// The scope of namespace `ns`.
    pub fn scope_of(&self, ns: &str) -> &Scope {
        self.scopes().nth(self.slot(ns)).unwrap_or(&self.default)
    }

    /// Where `ns`'s scope is in [`ScopeMap::scopes`]: 0 for the default, 1 + its override's
    /// index.
    pub fn slot(&self, ns: &str) -> usize {
        self.overrides.iter().position(|(n, _)| n == ns).map_or(0, |i| i + 1)
    }

    /// Every scope the map holds, the default first, then the overrides' in order.
    pub fn scopes(&self) -> impl Iterator<Item = &Scope> {
        std::iter::once(&self.default).chain(self.overrides.iter().map(|(_, s)| s))
    }

    /// Refuse overrides naming a namespace `topology` lacks, one without sidecars, or mesh
    /// infrastructure (never scoped), in one line naming the namespace.
    pub fn check(&self, topology: &Topology) -> Result<()> {
        for (ns, scope) in &self.overrides {
            let why = match topology.namespace(ns) {
                None => "the topology does not list it",
                Some(n) if n.infrastructure() => {
                    "it is mesh infrastructure, which sees the whole mesh under every scope (knative-serving's activator sends to every revision)"
                }
                Some(n) if !n.sidecars => "it has no sidecars to scope",
                Some(_) => continue,
            };
            return Err(Error::invalid(format!("scope {ns}={scope} names namespace {ns}, but {why}")));
        }
        Ok(())
    }
}

impl fmt::Display for ScopeMap {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.default)?;
        for (ns, s) in &self.overrides {
            write!(f, "; {ns}={s}")?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn values(v: &[&str]) -> Vec<String> {
        v.iter().map(|s| s.to_string()).collect()
    }

    #[test]
    fn overrides_apply_to_every_alternative() {
        let maps = ScopeMap::alternatives(&values(&[
            "mesh",
            "shop=namespace",
            "namespace",
            "payments=hosts=payments/*,shop/cart",
        ]))
        .unwrap();
        assert_eq!(maps.len(), 2);
        assert_eq!(maps[0].to_string(), "mesh; shop=namespace; payments=hosts=payments/*,shop/cart");
        assert_eq!(maps[1].to_string(), "namespace; shop=namespace; payments=hosts=payments/*,shop/cart");
        assert_eq!(maps[1].scope_of("other"), &Scope::Namespace);
        assert_eq!(maps[0].scope_of("shop"), &Scope::Namespace);
        // The text form reads back as the same map.
        for m in &maps {
            assert_eq!(&ScopeMap::parse(&m.to_string()).unwrap(), m);
        }
    }

    #[test]
    fn hosts_before_equals_is_a_scope_and_only_overrides_mean_mesh_elsewhere() {
        let m = ScopeMap::single(&values(&["hosts=./*"])).unwrap();
        assert!(matches!(m.default, Scope::Hosts(_)) && m.overrides.is_empty());
        let m = ScopeMap::single(&values(&["shop=namespace"])).unwrap();
        assert_eq!(m.default, Scope::Mesh);
        assert!(ScopeMap::single(&values(&["mesh", "namespace"])).unwrap_err().to_string().contains("2 scopes"));
        let e = ScopeMap::alternatives(&values(&["shop=mesh", "shop=namespace"])).unwrap_err().to_string();
        assert!(e.contains("namespace shop is given two scopes"), "{e}");
        assert!(ScopeMap::alternatives(&values(&["=mesh"])).is_err());
        assert!(ScopeMap::alternatives(&values(&["shop=nowhere"])).is_err());
    }
}
