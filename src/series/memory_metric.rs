//! Which memory a series' `memory` column holds.
//!
//! The kernel's OOM killer acts on the container cgroup, whose usage Prometheus reads as
//! `container_memory_working_set_bytes`: pilot-agent (~50 MB of a ~120 MB sidecar, istio#38000),
//! Envoy's heap, the allocator's free pages (tcmalloc keeps freed heap, 2.7x allocated in
//! istio#18954) and thread stacks. Envoy's own `envoy_server_memory_allocated` and
//! `envoy_server_memory_heap_size` leave part of that out (the working set tracks heap_size more
//! than allocated, istio#25709), so a line fitted to them crosses a container limit 10-30% later
//! than the proxy is killed. A series records its metric in a `# memory-metric: NAME` comment
//! line, written by the importers from the query text or the response's `__name__` label and
//! read back by the series readers; a file without one holds the working set. `fit` refuses any
//! other metric unless converted with a stated [`MemoryAllowance`].

use serde::{Deserialize, Serialize};

use crate::error::{Error, Result};

/// The comment key recording the metric: `# memory-metric: envoy_server_memory_allocated`.
pub const COMMENT_KEY: &str = "memory-metric:";

/// The metric a `memory` column was read from.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(from = "String", into = "String")]
pub enum MemoryMetric {
    /// `container_memory_working_set_bytes`: what the OOM killer compares with the limit.
    #[default]
    WorkingSet,
    /// `envoy_server_memory_allocated`: bytes Envoy's allocator has handed out.
    EnvoyAllocated,
    /// `envoy_server_memory_heap_size`: the heap Envoy's allocator holds (allocated + free).
    EnvoyHeap,
    /// Any other metric, by name (`container_memory_rss`, a recording rule, ...).
    Other(String),
}

/// The names a [`MemoryMetric`] is written as.
const WORKING_SET: &str = "container_memory_working_set_bytes";
const ENVOY_ALLOCATED: &str = "envoy_server_memory_allocated";
const ENVOY_HEAP: &str = "envoy_server_memory_heap_size";

impl MemoryMetric {
    /// The metric's name, as written in the comment line and in model files.
    pub fn name(&self) -> &str {
        match self {
            MemoryMetric::WorkingSet => WORKING_SET,
            MemoryMetric::EnvoyAllocated => ENVOY_ALLOCATED,
            MemoryMetric::EnvoyHeap => ENVOY_HEAP,
            MemoryMetric::Other(name) => name,
        }
    }

    /// The metric a name stands for: a name containing one of the three known ones is that one
    /// (kube-prometheus' recording rules wrap the working set as
    /// `node_namespace_pod_container:container_memory_working_set_bytes`); `working-set` is
    /// accepted for the working set.
    pub fn from_name(name: &str) -> MemoryMetric {
        let name = name.trim();
        if name.contains(WORKING_SET) || name == "working-set" {
            MemoryMetric::WorkingSet
        } else if name.contains(ENVOY_ALLOCATED) {
            MemoryMetric::EnvoyAllocated
        } else if name.contains(ENVOY_HEAP) {
            MemoryMetric::EnvoyHeap
        } else {
            MemoryMetric::Other(name.to_string())
        }
    }

    /// True for the container working set, what a container limit is compared with.
    pub fn is_working_set(&self) -> bool {
        *self == MemoryMetric::WorkingSet
    }

    /// The memory metric a PromQL query reads, from the metric names in its text (string
    /// literals such as `resource="memory"` set aside): `None` when it names no metric with
    /// `memory` in its name; several different ones are one [`MemoryMetric::Other`] naming them.
    pub fn from_promql(query: &str) -> Option<MemoryMetric> {
        Self::from_names(identifiers(query).into_iter().filter(|t| t.contains("memory")))
    }

    /// The metric named by several names (a query's, or the `__name__` labels of a response):
    /// `None` for none, the one they agree on, or an `Other` joining the distinct names.
    pub fn from_names<'a>(names: impl IntoIterator<Item = &'a str>) -> Option<MemoryMetric> {
        let mut found: Vec<MemoryMetric> = Vec::new();
        for n in names {
            let m = MemoryMetric::from_name(n);
            if !found.contains(&m) {
                found.push(m);
            }
        }
        match found.len() {
            0 => None,
            1 => found.pop(),
            _ => Some(MemoryMetric::Other(found.iter().map(MemoryMetric::name).collect::<Vec<_>>().join(" and "))),
        }
    }

    /// What a fit against a container limit misses when memory is this metric, for messages.
    pub fn shortfall(&self) -> String {
        match self {
            MemoryMetric::WorkingSet => String::new(),
            MemoryMetric::EnvoyAllocated | MemoryMetric::EnvoyHeap => format!(
                "{} is Envoy's own view: the container working set the OOM killer acts on adds pilot-agent (~50 MB, istio#38000), the allocator's free pages (istio#18954) and stacks, so it crosses a container limit 10-30% later (istio#25709)",
                self.name()
            ),
            MemoryMetric::Other(n) => format!(
                "{n} is not container_memory_working_set_bytes, the container memory the OOM killer compares with the limit"
            ),
        }
    }
}

impl std::fmt::Display for MemoryMetric {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.name())
    }
}

impl From<String> for MemoryMetric {
    fn from(s: String) -> MemoryMetric {
        MemoryMetric::from_name(&s)
    }
}

impl From<MemoryMetric> for String {
    fn from(m: MemoryMetric) -> String {
        m.name().to_string()
    }
}

/// The identifiers of a PromQL text outside its string literals.
fn identifiers(query: &str) -> Vec<&str> {
    let b = query.as_bytes();
    let mut out = Vec::new();
    let mut i = 0;
    while i < b.len() {
        match b[i] {
            q @ (b'"' | b'\'' | b'`') => {
                i += 1;
                while i < b.len() && b[i] != q {
                    i += if b[i] == b'\\' && q != b'`' { 2 } else { 1 };
                }
                i += 1;
            }
            c if c.is_ascii_alphabetic() || c == b'_' || c == b':' => {
                let start = i;
                while i < b.len() && (b[i].is_ascii_alphanumeric() || b[i] == b'_' || b[i] == b':') {
                    i += 1;
                }
                out.push(&query[start..i]);
            }
            _ => i += 1,
        }
    }
    out
}

/// The metric recorded in a file's leading `#` comment lines (`None` when none is): `lines`
/// are the lines before the header with their 1-based numbers. Two lines naming different
/// metrics, or one naming none, are an error naming the line.
pub(crate) fn from_comments<'a>(
    lines: impl Iterator<Item = (usize, &'a str)>,
    path: &std::path::Path,
) -> Result<Option<MemoryMetric>> {
    let mut found: Option<(usize, MemoryMetric)> = None;
    for (line, text) in lines {
        let Some(rest) = text.trim_start().strip_prefix('#') else { continue };
        let Some(name) = rest.trim_start().strip_prefix(COMMENT_KEY) else { continue };
        let name = name.trim();
        let loc = || crate::error::Location::new(path, line);
        if name.is_empty() || name.contains(char::is_whitespace) {
            return Err(Error::parse(
                format!("{COMMENT_KEY} must name one metric (such as {WORKING_SET}), but \"{name}\" does not"),
                loc(),
            ));
        }
        let m = MemoryMetric::from_name(name);
        match &found {
            Some((first, other)) if *other != m => {
                return Err(Error::parse(
                    format!(
                        "{COMMENT_KEY} says {m} here but {other} on line {first}: one file holds one memory metric"
                    ),
                    loc(),
                ))
            }
            Some(_) => {}
            None => found = Some((line, m)),
        }
    }
    Ok(found.map(|f| f.1))
}

/// How a series of Envoy's own memory is turned into a working-set estimate:
/// `working set = fixed + (1 + fraction) x memory`. Written `50Mi+15%`, `50Mi` or `15%`.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct MemoryAllowance {
    /// Bytes added to every reading (pilot-agent, stacks).
    pub fixed_bytes: f64,
    /// Fraction of the reading added (allocator free pages, fragmentation).
    pub fraction: f64,
}

impl MemoryAllowance {
    /// Parse `QUANTITY`, `PERCENT%` or `QUANTITY+PERCENT%`.
    pub fn parse(text: &str) -> Result<MemoryAllowance> {
        let t = text.trim();
        let bad = |why: &str| {
            Error::invalid(format!(
                "--memory-allowance must look like 50Mi+15% (a quantity, a percentage or both), but \"{t}\" {why}"
            ))
        };
        let mut out = MemoryAllowance { fixed_bytes: 0.0, fraction: 0.0 };
        if t.is_empty() {
            return Err(bad("is empty"));
        }
        let (fixed, pct) = match t.split_once('+') {
            Some((a, b)) => (Some(a.trim()), Some(b.trim())),
            None if t.ends_with('%') => (None, Some(t)),
            None => (Some(t), None),
        };
        if let Some(f) = fixed {
            out.fixed_bytes = crate::quantity::parse_quantity(f).map_err(|m| bad(&format!("does not: {m}")))?;
        }
        if let Some(p) = pct {
            let v = p.strip_suffix('%').and_then(|v| v.trim().parse::<f64>().ok()).ok_or_else(|| bad("does not"))?;
            if !(0.0..=1000.0).contains(&v) {
                return Err(bad("has a percentage outside 0-1000%"));
            }
            out.fraction = v / 100.0;
        }
        if !(out.fixed_bytes.is_finite() && out.fixed_bytes >= 0.0) {
            return Err(bad("has a negative or infinite quantity"));
        }
        Ok(out)
    }

    /// The working-set estimate for a reading of `bytes`.
    pub fn apply(&self, bytes: f64) -> f64 {
        self.fixed_bytes + (1.0 + self.fraction) * bytes
    }
}

impl std::fmt::Display for MemoryAllowance {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{} + {}%", crate::quantity::Bytes(self.fixed_bytes), (1e6 * 100.0 * self.fraction).round() / 1e6)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn metric_from_query_text_and_names() {
        // istio#25709 compares these; kube-prometheus wraps the working set in recording rules.
        let q = |s| MemoryMetric::from_promql(s);
        assert_eq!(
            q("max by (namespace, pod) (container_memory_working_set_bytes{container=\"istio-proxy\"})"),
            Some(MemoryMetric::WorkingSet)
        );
        assert_eq!(q("envoy_server_memory_allocated{pod=~\"cart.*\"}"), Some(MemoryMetric::EnvoyAllocated));
        assert_eq!(q("max(envoy_server_memory_heap_size)"), Some(MemoryMetric::EnvoyHeap));
        assert_eq!(
            q("node_namespace_pod_container:container_memory_working_set_bytes{container=\"istio-proxy\"}"),
            Some(MemoryMetric::WorkingSet)
        );
        // A label value is not a metric name.
        assert_eq!(q("kube_pod_container_resource_limits{resource=\"memory\"}"), None);
        assert_eq!(q("container_memory_rss"), Some(MemoryMetric::Other("container_memory_rss".into())));
        assert_eq!(
            q("envoy_server_memory_allocated + container_memory_working_set_bytes"),
            Some(MemoryMetric::Other("envoy_server_memory_allocated and container_memory_working_set_bytes".into()))
        );
        // The serde form is the plain name.
        let json = serde_json::to_string(&MemoryMetric::EnvoyHeap).unwrap();
        assert_eq!(json, "\"envoy_server_memory_heap_size\"");
        assert_eq!(serde_json::from_str::<MemoryMetric>(&json).unwrap(), MemoryMetric::EnvoyHeap);
    }

    #[test]
    fn allowances() {
        let a = MemoryAllowance::parse("50Mi+15%").unwrap();
        assert_eq!((a.fixed_bytes, a.fraction), (50.0 * 1_048_576.0, 0.15));
        // 800Mi allocated -> 50Mi + 920Mi = 970Mi.
        assert!((a.apply(800.0 * 1_048_576.0) - 970.0 * 1_048_576.0).abs() < 1e-3);
        assert_eq!(MemoryAllowance::parse("10%").unwrap().fixed_bytes, 0.0);
        assert_eq!(MemoryAllowance::parse("64Mi").unwrap().fraction, 0.0);
        for bad in ["", "abc", "50Mi+", "-5%", "50Mi+x%"] {
            assert!(MemoryAllowance::parse(bad).is_err(), "{bad}");
        }
    }
}
