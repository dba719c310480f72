//! `meshcap import traffic`: who calls whom, from Istio's standard metrics.
//!
//! A Sidecar egress list must hold every host a workload calls; the only record of those calls
//! is the telemetry every sidecar reports. This module turns Prometheus answers for
//! `istio_requests_total` and `istio_tcp_connections_opened_total` (reporter `source`: the
//! caller's view, whose `destination_service` is the host the caller asked for) into a
//! [`Dependencies`] table. Two queries per metric, because `increase()` alone misses the rarest
//! calls: a counter series born at its first request with value 1 and never incremented has no
//! increase (Prometheus does not assume a counter starts at 0), yet the call happened. So:
//! - **requests** answers (`sum by (...) (increase(M[step]))`) give the counts, first and last
//!   step with an increase;
//! - **seen** answers (`count by (...) (count_over_time(M[step]))`) give presence: a series
//!   that exists at all in the window is a dependency, counted with 0 requests when nothing
//!   increased (the call happened since the calling pod started).
//!
//! Knative: a caller in the mesh reaches a Knative service through its `<ksvc>-mesh`
//! VirtualService, which routes to the routed revisions' Services, so telemetry names
//! `<ksvc>-00007.<ns>.svc.cluster.local` (or its `-private` Service). A revision's default name
//! is `<configuration>-%05d` of the configuration's generation (knative/serving
//! `pkg/reconciler/configuration/resources/revision.go` `MakeRevision`, knative-v1.11.0), its
//! private Service `<revision>-private` (`pkg/reconciler/serverlessservice/resources/names`).
//! Such hosts are written as the Knative service's host, so the dependency survives the next
//! revision. With a topology only names of Knative services it lists are mapped. Linear in
//! series and samples.

use std::collections::{BTreeMap, HashSet};

use serde::Serialize;

use super::answer::{merge_bodies, Answer};
use crate::error::{Error, Result};
use crate::mesh::deps::{Dependencies, Dependency};
use crate::mesh::Topology;

/// The metrics read, HTTP then TCP.
pub const METRICS: [&str; 2] = ["istio_requests_total", "istio_tcp_connections_opened_total"];

/// The labels every answer must keep.
pub const LABELS: &str = "source_workload_namespace, source_workload, destination_service";

/// The PromQL for `metric`'s counts per `step` (e.g. `1h`).
pub fn requests_query(metric: &str, step: &str) -> String {
    format!("sum by ({LABELS}) (increase({metric}{{reporter=\"source\"}}[{step}]))")
}

/// The PromQL for `metric`'s presence per `step`.
pub fn seen_query(metric: &str, step: &str) -> String {
    format!("count by ({LABELS}) (count_over_time({metric}{{reporter=\"source\"}}[{step}]))")
}

/// What the import found, for the summary and `--format json`.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct TrafficReport {
    /// Dependencies written.
    pub dependencies: usize,
    /// Distinct calling workloads.
    pub source_workloads: usize,
    /// Series read over all answers.
    pub series: usize,
    /// Series left out because the caller or the destination is `unknown` or empty (no sidecar
    /// on the caller, or a destination Istio could not name), or the destination is an IP.
    pub dropped_unknown: usize,
    /// Revision Service hosts written as their Knative service's host.
    pub mapped_to_knative: usize,
    /// Seconds the window covered, when known.
    pub window_seconds: Option<i64>,
    /// The rarest dependency kept, as `ns/workload -> host (N)`.
    pub rarest: Option<String>,
    /// Server warnings and the import's own.
    pub warnings: Vec<String>,
}

/// Whether an answer holds counts or presence.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Role {
    /// `increase()` per step.
    Requests,
    /// `count_over_time()` per step.
    Seen,
}

/// Build the table from answers (each with its role). `window` is the window when the caller
/// knows it (the live range, `--window`); otherwise it is read from matrix answers' times.
pub fn dependencies(
    answers: Vec<(Role, Answer)>,
    window: Option<i64>,
    topology: Option<&Topology>,
) -> Result<(Dependencies, TrafficReport)> {
    let known: Option<HashSet<(String, String)>> = topology.map(|t| {
        t.namespaces.iter().flat_map(|ns| ns.knative.iter().map(move |k| (ns.name.clone(), k.name.clone()))).collect()
    });
    let mut report = TrafficReport::default();
    let mut rows: BTreeMap<(String, String, String), Dependency> = BTreeMap::new();
    let (mut t_min, mut t_max, mut step) = (f64::INFINITY, f64::NEG_INFINITY, None::<f64>);
    for (role, mut answer) in answers {
        let result = merge_bodies(&mut answer)?;
        report.warnings.extend(result.warnings.iter().map(|w| format!("{}: {w}", answer.origin)));
        for s in &result.series {
            report.series += 1;
            let label = |name: &str| -> Result<String> {
                s.labels.get(name).cloned().ok_or_else(|| {
                    Error::invalid(format!(
                        "{}: series {} has no {name} label; aggregate with sum by ({LABELS})",
                        answer.origin,
                        s.label_set()
                    ))
                })
            };
            let (ns, workload, dest) =
                (label("source_workload_namespace")?, label("source_workload")?, label("destination_service")?);
            if [&ns, &workload, &dest].iter().any(|v| v.is_empty() || v.as_str() == "unknown")
                || dest.parse::<std::net::IpAddr>().is_ok()
                || dest.rsplit_once(':').is_some_and(|(ip, _)| ip.parse::<std::net::IpAddr>().is_ok())
            {
                report.dropped_unknown += 1;
                continue;
            }
            let host = match knative_host(&dest, known.as_ref()) {
                Some(h) => {
                    report.mapped_to_knative += 1;
                    h
                }
                None => dest.to_ascii_lowercase(),
            };
            if let (Some(&a), Some(&b)) = (s.times.first(), s.times.last()) {
                t_min = t_min.min(a);
                t_max = t_max.max(b);
                if let [a, b, ..] = s.times[..] {
                    step = Some(step.map_or(b - a, |st: f64| st.min(b - a)));
                }
            }
            let (count, active): (f64, Vec<f64>) = match role {
                Role::Requests => (
                    s.values.iter().filter(|v| **v > 0.0).sum(),
                    s.times.iter().zip(&s.values).filter(|(_, v)| **v > 0.0).map(|(t, _)| *t).collect(),
                ),
                Role::Seen => (0.0, s.times.clone()),
            };
            let entry = rows.entry((ns.clone(), workload.clone(), host.clone())).or_insert_with(|| Dependency {
                source_namespace: ns,
                source_workload: workload,
                destination_host: host,
                requests: 0.0,
                first_seen: None,
                last_seen: None,
            });
            entry.requests += count;
            if let (Some(&a), Some(&b)) = (active.first(), active.last()) {
                entry.first_seen = Some(entry.first_seen.map_or(a as i64, |f| f.min(a as i64)));
                entry.last_seen = Some(entry.last_seen.map_or(b as i64, |l| l.max(b as i64)));
            }
        }
    }
    let mut deps = Dependencies { rows: rows.into_values().collect(), window_seconds: window };
    for d in &mut deps.rows {
        // increase() extrapolates: 0.98 of one request is one request.
        d.requests = d.requests.round();
    }
    if deps.window_seconds.is_none() && t_max > t_min {
        deps.window_seconds = Some((t_max - t_min + step.unwrap_or(0.0)).round() as i64);
    }
    deps.normalize();
    report.dependencies = deps.rows.len();
    report.source_workloads =
        deps.rows.iter().map(|d| (&d.source_namespace, &d.source_workload)).collect::<HashSet<_>>().len();
    report.window_seconds = deps.window_seconds;
    report.rarest = deps.rarest().map(|d| {
        format!("{}/{} -> {} ({} requests)", d.source_namespace, d.source_workload, d.destination_host, d.requests)
    });
    match deps.window_seconds {
        Some(w) if w < 7 * 86_400 => report.warnings.push(format!(
            "the window is {:.1} days: calls made weekly (batch jobs, reports) may be missing; a window of 14 days or more is safer",
            w as f64 / 86_400.0
        )),
        None => report.warnings.push(
            "the window is unknown (instant answers carry no times): give --window so the table records it".into(),
        ),
        _ => {}
    }
    Ok((deps, report))
}

/// The Knative service host behind a revision's Service host, when `host` is one:
/// `<ksvc>-<5 digits>[-private].<ns>.svc.<domain>` -> `<ksvc>.<ns>.svc.<domain>`. With `known`
/// (namespace, Knative service) pairs only those are mapped.
pub fn knative_host(host: &str, known: Option<&HashSet<(String, String)>>) -> Option<String> {
    let host = host.to_ascii_lowercase();
    let (name, rest) = host.split_once('.')?;
    let (ns, domain) = rest.split_once('.')?;
    if !domain.starts_with("svc") {
        return None;
    }
    let name = name.strip_suffix("-private").unwrap_or(name);
    let (ksvc, generation) = name.rsplit_once('-')?;
    if generation.len() != 5 || !generation.bytes().all(|b| b.is_ascii_digit()) || ksvc.is_empty() {
        return None;
    }
    if known.is_some_and(|k| !k.contains(&(ns.to_string(), ksvc.to_string()))) {
        return None;
    }
    Some(format!("{ksvc}.{ns}.{domain}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn revision_hosts_map_to_their_service() {
        // Names as knative/serving's MakeRevision and the private Service's names.go make them.
        assert_eq!(
            knative_host("checkout-00007.shop.svc.cluster.local", None).as_deref(),
            Some("checkout.shop.svc.cluster.local")
        );
        assert_eq!(
            knative_host("my-app-00012-private.shop.svc.cluster.local", None).as_deref(),
            Some("my-app.shop.svc.cluster.local")
        );
        assert_eq!(knative_host("checkout.shop.svc.cluster.local", None), None);
        assert_eq!(knative_host("redis-0001.shop.svc.cluster.local", None), None);
        assert_eq!(knative_host("api-00001.example.com", None), None);
        let known: HashSet<_> = [("shop".to_string(), "checkout".to_string())].into();
        assert!(knative_host("checkout-00001.shop.svc.cluster.local", Some(&known)).is_some());
        assert_eq!(knative_host("batch-00001.shop.svc.cluster.local", Some(&known)), None);
    }
}
