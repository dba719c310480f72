//! Termination records: why a container last stopped, as Kubernetes recorded it.
//!
//! The kubelet keeps each container's last termination in the pod status,
//! `containerStatuses[].lastState.terminated` (`reason`, `finishedAt`, beside `restartCount`);
//! the reason is the runtime's: `OOMKilled` when the kernel killed it for memory, `Error` for
//! another non-zero exit, `Completed` for exit 0 (containerd `pkg/cri/server/helpers.go`,
//! `oomExitReason`, `errorExitReason`, `completeExitReason`). kube-state-metrics exports it as
//! `kube_pod_container_status_last_terminated_reason{container, reason}`, a gauge that is 1 for
//! the last termination's reason and absent for every other reason (and absent before the first
//! termination), read from the same pod status as `kube_pod_container_status_restarts_total`
//! (kubernetes/kube-state-metrics `internal/store/pod.go` at v2.20.0,
//! `createPodContainerStatusLastTerminatedReasonFamilyGenerator`).
//!
//! A record decides whether a restart was an OOMKill; the 90%-of-the-limit heuristic is only
//! the fallback for restarts no record explains: a config push kills from ~80% of the limit
//! between two scrapes, which the heuristic misses. Two kinds are read:
//!
//! - the series' [`LAST_TERMINATED`] column (an import of the kube-state-metrics gauge): a
//!   change of reason between two readings is a restart, and a restart's reason is the column's
//!   at its first reading after (with a restart counter, at the first reading where the
//!   counter has gone up, since both come from the same pod status);
//! - [`Termination`]s from a kubectl pod List: the restart whose readings bracket `finishedAt`
//!   (or, without it, where the restart counter reaches `restartCount`).

use std::collections::HashMap;

use serde::Serialize;

use crate::series::{Cell, Series, LAST_TERMINATED};

/// The reason the runtime gives a container the kernel killed for memory.
pub const OOM_KILLED: &str = "OOMKilled";

/// One container's last termination, as a pod's status records it.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Termination {
    /// The pod, `namespace/name`.
    pub pod: String,
    /// `lastState.terminated.reason` (`OOMKilled`, `Error`, `Completed`, ...).
    pub reason: String,
    /// `lastState.terminated.finishedAt`, unix seconds.
    pub finished_at: Option<f64>,
    /// The container's `restartCount` when the List was taken.
    pub restart_count: Option<f64>,
    /// Where it was read, for messages (`pods.json`).
    pub source: String,
}

impl Termination {
    /// True when this record is about the proxy named `proxy` in a long-form series: its
    /// `namespace/pod` (`--by namespace,pod`) or its pod name alone (`--by pod`).
    pub fn is_for(&self, proxy: &str) -> bool {
        self.pod == proxy || self.pod.split_once('/').is_some_and(|(_, name)| name == proxy)
    }
}

/// Why a restart happened, as a record says.
#[derive(Debug, Clone, PartialEq)]
pub(super) struct Explained {
    /// The recorded reason.
    pub reason: String,
    /// The record, in words: `kube-state-metrics last terminated reason` or `pods.json ...`.
    pub source: String,
}

impl Explained {
    pub fn is_oom(&self) -> bool {
        self.reason == OOM_KILLED
    }
}

/// The [`LAST_TERMINATED`] column's reason per row (`None` where empty).
pub(super) fn column_reasons(series: &Series) -> Option<Vec<Option<String>>> {
    let col = series.column(LAST_TERMINATED)?;
    Some(
        (0..col.len())
            .map(|i| match col.get(i) {
                Cell::Text(t) => Some(t),
                Cell::Number(v) => Some(super::super::write::format_number(v)),
                Cell::Empty => None,
            })
            .collect(),
    )
}

/// Restarts the records show among `readings` (row indexes in time order, double counting
/// left out): `(reading before, first reading after, why)`. Pod records come first, so they
/// win over the column where both explain one restart. Also returns the pod records no
/// restart of the series brackets.
pub(super) fn recorded_restarts(
    series: &Series,
    readings: &[usize],
    column: Option<&[Option<String>]>,
    counter: Option<&[f64]>,
    terminations: &[Termination],
) -> (Vec<(usize, usize, Explained)>, usize) {
    let times = series.rows.times();
    let mut out = Vec::new();
    let mut unmatched = 0;
    for t in terminations {
        let at = match (t.finished_at, counter, t.restart_count) {
            (Some(f), _, _) => {
                // The reading at or before the end of the old container, and the one after.
                // Rows without a time sort first (never after `f`).
                let k = readings.partition_point(|&r| times[r] <= f || times[r].is_nan());
                (k > 0 && k < readings.len() && !times[readings[k - 1]].is_nan())
                    .then(|| (readings[k - 1], readings[k]))
            }
            (None, Some(c), Some(n)) => readings.windows(2).find(|w| c[w[0]] < n && c[w[1]] >= n).map(|w| (w[0], w[1])),
            _ => None,
        };
        match at {
            Some((p, a)) => out.push((
                p,
                a,
                Explained {
                    reason: t.reason.clone(),
                    source: format!(
                        "pod status lastState.terminated in {}{}",
                        t.source,
                        t.finished_at.map_or_else(String::new, |f| format!(
                            ", finished {}",
                            super::super::write::format_time(f)
                        ))
                    ),
                },
            )),
            None => unmatched += 1,
        }
    }
    if let Some(col) = column {
        for w in readings.windows(2) {
            let (p, a) = (w[0], w[1]);
            if let Some(r) = col[a].as_ref().filter(|r| col[p].as_ref() != Some(*r)) {
                out.push((p, a, column_explained(r)));
            }
        }
    }
    (out, unmatched)
}

/// The column's record for a restart found otherwise (a drop, the counter): the reason at its
/// first reading after, or with a counter at the first reading where the counter has gone up
/// past the reading before.
pub(super) fn column_reason(
    column: &[Option<String>],
    readings: &[usize],
    counter: Option<&[f64]>,
    before: usize,
    after: usize,
) -> Option<Explained> {
    let from = readings.partition_point(|&r| r < after);
    let row = match counter {
        Some(c) if c[before].is_finite() => {
            readings[from..].iter().copied().take(64).find(|&r| c[r] > c[before]).unwrap_or(after)
        }
        _ => after,
    };
    column[row].as_deref().map(column_explained)
}

fn column_explained(reason: &str) -> Explained {
    Explained {
        reason: reason.to_string(),
        source: "kube-state-metrics kube_pod_container_status_last_terminated_reason".to_string(),
    }
}

/// Records per proxy of a long-form series: each proxy's own, and how many name no proxy of it.
pub(super) fn by_proxy(terminations: &[Termination], proxies: &[String]) -> (HashMap<String, Vec<Termination>>, usize) {
    let mut out: HashMap<String, Vec<Termination>> = HashMap::new();
    let mut unmatched = 0;
    for t in terminations {
        match proxies.iter().find(|p| t.is_for(p)) {
            Some(p) => out.entry(p.clone()).or_default().push(t.clone()),
            None => unmatched += 1,
        }
    }
    (out, unmatched)
}
