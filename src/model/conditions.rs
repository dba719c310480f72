//! Where a model was measured: the conditions of its data, recorded in the model file, and
//! what changes when it is used under other ones.
//!
//! Per-cluster memory is not a constant of nature. It depends on the Envoy (Istio) release, on
//! the Envoy worker threads (each keeps its own copy of every cluster's thread-local state,
//! ~2 KiB a cluster: envoyproxy/envoy#4196, istio/istio#8938), on whether per-cluster stats
//! are kept (Istio's default inclusion list has none, istio/istio `pkg/bootstrap/config.go`;
//! adding `cluster.outbound` costs ~20-27 KB a cluster: envoyproxy/envoy#5201 and Envoy's
//! `test/integration/stats_integration_test.cc`), on the proxy kind and on which memory was
//! read (the container's working set, which the OOM killer acts on, or Envoy's own view).
//! A model carries these with it, and [`Conditions::compare`] says, in one line each, where a
//! use differs and what meshcap does about it: a quantified cost per cluster is added (workers,
//! stats), anything else is named.

use serde::{Deserialize, Serialize};

/// Bytes per cluster per Envoy worker (envoyproxy/envoy#4196: ~1850 B; istio/istio#8938:
/// "~2KB per configured cluster for each worker thread").
pub const WORKER_BYTES_PER_CLUSTER: f64 = 2048.0;

/// Bytes per cluster that per-cluster stats add (envoyproxy/envoy#5201 and Envoy's
/// `stats_integration_test.cc`: ~20-27 KB a cluster; the upper end, to stay safe).
pub const STATS_BYTES_PER_CLUSTER: f64 = 27_000.0;

/// Envoy workers of Istio's default sidecar (`concurrency: 2`).
pub const DEFAULT_WORKERS: f64 = 2.0;

/// The conditions of a model's data. Every field is optional: an old model file, or a fit
/// whose data did not say, records none, and uses of it say that they cannot be compared.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Conditions {
    /// Istio release of the measured proxies (e.g. `1.18.2`).
    #[serde(default)]
    pub istio_version: Option<String>,
    /// Knative Serving release (e.g. `1.11.0`).
    #[serde(default)]
    pub knative_version: Option<String>,
    /// Envoy worker threads of the measured proxies.
    #[serde(default)]
    pub workers: Option<f64>,
    /// Whether per-cluster stats (`cluster.outbound.*`) were kept.
    #[serde(default)]
    pub per_cluster_stats: Option<bool>,
    /// Proxy kind measured: `sidecar`, `gateway`, `activator`, `waypoint`.
    #[serde(default)]
    pub proxy_kind: Option<String>,
    /// Which memory `memory` is: `container_memory_working_set_bytes` (what the OOM killer
    /// acts on), `envoy_server_memory_allocated`, `envoy_server_memory_heap_size`.
    #[serde(default)]
    pub memory_metric: Option<String>,
}

/// The metric the OOM killer acts on: the container cgroup's working set.
pub const WORKING_SET: &str = "container_memory_working_set_bytes";

/// Where a model is used: the same fields, as far as the use knows them.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Use {
    /// Istio release of the proxies projected.
    pub istio_version: Option<String>,
    /// Envoy workers of the proxy projected.
    pub workers: Option<f64>,
    /// Per-cluster stats kept by the proxy projected.
    pub per_cluster_stats: Option<bool>,
    /// Proxy kind projected.
    pub proxy_kind: Option<String>,
}

/// One way a use differs from the model's conditions.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Difference {
    /// What differs (`istio`, `workers`, `stats`, `kind`, `unrecorded`).
    pub what: String,
    /// The line said to the user.
    pub note: String,
    /// Bytes per cluster added to the model's per-cluster memory for it (0: named only).
    pub added_bytes_per_cluster: f64,
}

impl Conditions {
    /// The seed's: Knative 1.11.0, Istio 1.18.2, default stats, 2 workers, a sidecar, the
    /// container working set.
    pub fn seed() -> Conditions {
        Conditions {
            istio_version: Some("1.18.2".into()),
            knative_version: Some("1.11.0".into()),
            workers: Some(DEFAULT_WORKERS),
            per_cluster_stats: Some(false),
            proxy_kind: Some("sidecar".into()),
            memory_metric: Some(WORKING_SET.into()),
        }
    }

    /// Conditions from a series' `# key: value` comment records (`istio-version`,
    /// `knative-version`, `workers`, `per-cluster-stats`, `proxy-kind`, `memory-metric`), as
    /// (line, key, value); other keys are not conditions and are skipped. A value that cannot be
    /// what its key says is refused, naming the line.
    pub fn from_records(records: &[(usize, String, String)], path: &std::path::Path) -> crate::error::Result<Self> {
        use crate::error::{Error, Location};
        let mut c = Conditions::default();
        for (line, key, value) in records {
            let bad = |what: &str| {
                Error::parse(format!("# {key}: must be {what}, but \"{value}\" is not"), Location::new(path, *line))
            };
            let release = || {
                let t = value.trim().trim_start_matches('v');
                let ok = t.split('.').take(3).all(|p| !p.is_empty() && p.bytes().all(|b| b.is_ascii_digit()))
                    && t.split('.').count() >= 2
                    && t.split('.').count() <= 3;
                ok.then(|| t.to_string()).ok_or_else(|| bad("a release like 1.18.2"))
            };
            match key.as_str() {
                "istio-version" => c.istio_version = Some(release()?),
                "knative-version" => c.knative_version = Some(release()?),
                "workers" => {
                    let w: u32 = value.parse().map_err(|_| bad("a whole number of Envoy workers from 1 to 1024"))?;
                    if !(1..=1024).contains(&w) {
                        return Err(bad("a whole number of Envoy workers from 1 to 1024"));
                    }
                    c.workers = Some(f64::from(w));
                }
                "per-cluster-stats" => {
                    c.per_cluster_stats = Some(value.parse().map_err(|_| bad("true or false"))?);
                }
                "proxy-kind" => match value.as_str() {
                    "sidecar" | "gateway" | "activator" | "waypoint" => c.proxy_kind = Some(value.clone()),
                    _ => return Err(bad("sidecar, gateway, activator or waypoint")),
                },
                "memory-metric" => c.memory_metric = Some(value.clone()),
                _ => {}
            }
        }
        Ok(c)
    }

    /// These conditions with every field `other` records put over them.
    pub fn overridden_by(self, other: Conditions) -> Conditions {
        Conditions {
            istio_version: other.istio_version.or(self.istio_version),
            knative_version: other.knative_version.or(self.knative_version),
            workers: other.workers.or(self.workers),
            per_cluster_stats: other.per_cluster_stats.or(self.per_cluster_stats),
            proxy_kind: other.proxy_kind.or(self.proxy_kind),
            memory_metric: other.memory_metric.or(self.memory_metric),
        }
    }

    /// Whether nothing is recorded.
    pub fn is_empty(&self) -> bool {
        *self == Conditions::default()
    }

    /// Envoy workers the model's data ran (Istio's default when unrecorded).
    pub fn workers_or_default(&self) -> f64 {
        self.workers.unwrap_or(DEFAULT_WORKERS)
    }

    /// One line naming the conditions.
    pub fn describe(&self) -> String {
        if self.is_empty() {
            return "not recorded (# istio-version: ... lines in the data, or fit --istio-version, --workers, ...)"
                .into();
        }
        let mut parts = Vec::new();
        if let Some(v) = &self.istio_version {
            parts.push(format!("Istio {v}"));
        }
        if let Some(v) = &self.knative_version {
            parts.push(format!("Knative {v}"));
        }
        if let Some(w) = self.workers {
            parts.push(format!("{w} workers"));
        }
        if let Some(s) = self.per_cluster_stats {
            parts.push(if s { "per-cluster stats".into() } else { "default stats".to_string() });
        }
        if let Some(k) = &self.proxy_kind {
            parts.push(k.clone());
        }
        if let Some(m) = &self.memory_metric {
            parts.push(m.clone());
        }
        parts.join(", ")
    }

    /// How a use differs from these conditions, one entry per difference.
    pub fn compare(&self, used: &Use) -> Vec<Difference> {
        let mut out = Vec::new();
        if self.istio_version.is_none() && self.workers.is_none() {
            out.push(Difference {
                what: "unrecorded".into(),
                note: "the model does not record its Istio release or Envoy workers: per-cluster memory is assumed to hold here (2 workers, default stats); record them in the data (# istio-version: 1.18.2, # workers: 2) or with fit --istio-version/--workers".into(),
                added_bytes_per_cluster: 0.0,
            });
        }
        if let (Some(m), Some(u)) = (&self.istio_version, &used.istio_version) {
            if minor(m) != minor(u) {
                out.push(Difference {
                    what: "istio".into(),
                    note: format!(
                        "measured at Istio {m}, used at Istio {u}: Envoy's per-cluster memory changes between releases; re-measure to confirm"
                    ),
                    added_bytes_per_cluster: 0.0,
                });
            }
        }
        if let Some(w) = used.workers {
            let m = self.workers_or_default();
            if w != m {
                let added = ((w - m) * WORKER_BYTES_PER_CLUSTER).max(-m * WORKER_BYTES_PER_CLUSTER);
                out.push(Difference {
                    what: "workers".into(),
                    note: format!(
                        "measured at {m} Envoy workers, used at {w}: {:+.1} KiB a cluster (~2 KiB per worker, envoy#4196)",
                        added / 1024.0
                    ),
                    added_bytes_per_cluster: added,
                });
            }
        }
        match (self.per_cluster_stats, used.per_cluster_stats) {
            (Some(false) | None, Some(true)) => out.push(Difference {
                what: "stats".into(),
                note: format!(
                    "measured with default stats, used with per-cluster stats: +{:.0} KB a cluster (envoy#5201)",
                    STATS_BYTES_PER_CLUSTER / 1000.0
                ),
                added_bytes_per_cluster: STATS_BYTES_PER_CLUSTER,
            }),
            (Some(true), Some(false)) => out.push(Difference {
                what: "stats".into(),
                note: "measured with per-cluster stats, used without: the model overstates per-cluster memory (kept, the safe side)".into(),
                added_bytes_per_cluster: 0.0,
            }),
            _ => {}
        }
        if let (Some(m), Some(u)) = (&self.proxy_kind, &used.proxy_kind) {
            if m != u {
                out.push(Difference {
                    what: "kind".into(),
                    note: format!(
                        "measured on a {m}, used for a {u}: its listeners and routes differ; workers are adjusted, the rest is the {m}'s slope"
                    ),
                    added_bytes_per_cluster: 0.0,
                });
            }
        }
        out
    }

    /// Whether the model's memory is Envoy's own view rather than the container's working set
    /// (it crosses a container limit 10-30% later than the working set does).
    pub fn envoy_view(&self) -> bool {
        self.memory_metric.as_deref().is_some_and(|m| m.starts_with("envoy_server_memory"))
    }
}

/// The conditions a series records: its comment records (CSV) and its memory metric; with a
/// memory allowance, the memory fitted is the working set estimated from that metric.
pub fn recorded_in(series: &crate::series::Series, converted: bool) -> crate::error::Result<Conditions> {
    let mut c = if series.json {
        Conditions::default()
    } else {
        Conditions::from_records(&crate::series::header::comment_records(&series.path)?, &series.path)?
    };
    let metric = series.memory_metric();
    c.memory_metric = Some(if converted && !metric.is_working_set() {
        format!("{WORKING_SET} (estimated from {})", metric.name())
    } else {
        metric.name().to_string()
    });
    Ok(c)
}

/// `major.minor` of a release string.
fn minor(v: &str) -> String {
    let t = v.trim().trim_start_matches('v');
    let mut parts = t.split(['.', '-']);
    format!("{}.{}", parts.next().unwrap_or(""), parts.next().unwrap_or(""))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn differences_are_named_and_priced_where_upstream_prices_them() {
        let seed = Conditions::seed();
        // The same conditions: nothing to say.
        let same = Use {
            istio_version: Some("1.18.5".into()),
            workers: Some(2.0),
            per_cluster_stats: Some(false),
            proxy_kind: Some("sidecar".into()),
        };
        assert!(seed.compare(&same).is_empty());
        // A gateway at Istio 1.24 with 32 workers and per-cluster stats: four differences;
        // 30 extra workers x 2 KiB (envoy#4196) and 27 KB of stats (envoy#5201) a cluster.
        let far = Use {
            istio_version: Some("1.24.0".into()),
            workers: Some(32.0),
            per_cluster_stats: Some(true),
            proxy_kind: Some("gateway".into()),
        };
        let d = seed.compare(&far);
        let what: Vec<&str> = d.iter().map(|d| d.what.as_str()).collect();
        assert_eq!(what, ["istio", "workers", "stats", "kind"]);
        let added: f64 = d.iter().map(|d| d.added_bytes_per_cluster).sum();
        assert_eq!(added, 30.0 * 2048.0 + 27_000.0);
        // Nothing recorded: said once.
        assert_eq!(Conditions::default().compare(&Use::default())[0].what, "unrecorded");
        assert!(Conditions { memory_metric: Some("envoy_server_memory_allocated".into()), ..seed }.envoy_view());
    }
}
