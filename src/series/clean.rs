//! Cleaning a measurement series: container restarts, OOMKills and double counting.
//!
//! Prometheus series of `istio-proxy` memory carry three artifacts that a fit must not eat:
//!
//! - **Restarts.** A drop of more than 40% from the reading before (or an increase of a
//!   restart-count column such as `kube_pod_container_status_restarts_total`) is a new
//!   container. Its first
//!   reading is marked `restart` and kept out of fits: the proxy is still loading config.
//! - **OOMKills.** A restart whose termination record ([`records`]: the kube-state-metrics
//!   reason in a `last_terminated` column, or a kubectl pod List's `lastState.terminated`) says
//!   `OOMKilled` was the kernel's doing, whatever the reading before it: that reading is marked
//!   `oom`, which the model keeps as an OOM observation (the crossing check) instead of a memory
//!   reading. A record with another reason (`Error`, `Completed`) is no OOMKill. Only a restart
//!   no record explains falls back to a guess: the reading before it within 10% of the limit in
//!   force. A config push kills from ~80% of the limit between scrapes, so the guess misses
//!   kills; the report counts recorded and guessed OOMKills apart.
//! - **Double counting.** During a restart cAdvisor reports the old and the new container
//!   together for a while, so a `sum` over containers shows a short plateau near twice the
//!   memory (kubernetes-mixin#585: >2.6GiB for a 1Gi pod). A short bump to 1.6x-2.5x the
//!   reading before that falls back, is not explained by predictor growth and is not a climb
//!   to the limit (see pass 1b), is marked `double-count`, kept out of fits, and the fix is
//!   named: `max by (namespace, pod)` instead of `sum`. A new container that ramps up while
//!   summed, or an overlap of one or two steps, shows a lower or climbing bump instead: pass
//!   1a ([`overlap`]) reads such a bump as old + new against the reading before it.
//!
//! Rows that already carry an event are left as they are, so cleaning twice changes nothing.
//! A long-form series (a `proxy` column) is cleaned proxy by proxy ([`clean_by_proxy`]).

use std::collections::HashMap;

use serde::Serialize;

use super::{Event, Series, LIMIT, MEMORY};
use crate::error::{Error, Result};
use inputs::{check_settings, limits, restart_counts};
use overlap::Signals;

/// What counts as an artifact.
#[derive(Debug, Clone, PartialEq)]
pub struct CleanSettings {
    /// The proxy limit in bytes, overriding the series' `limit` column.
    pub limit_bytes: Option<f64>,
    /// The restart-count column (`restarts` when present and none is named).
    pub restarts_column: Option<String>,
    /// A fall to below `1 - drop_fraction` of the reading before is a restart (0.4).
    pub drop_fraction: f64,
    /// A reading at or above `1 - near_limit` of the limit before a restart is an OOM (0.1).
    pub near_limit: f64,
    /// A plateau between these ratios to the reading before is double counting (1.6, 2.5).
    pub double_count_ratio: (f64, f64),
    /// Longest double-counting plateau, in rows (30: the 5 minute lookback at a 10 s step).
    pub max_spike_rows: usize,
    /// Termination records from a pod List ([`Termination`]); a long-form series matches them
    /// to its proxies by name, a series of one proxy takes them all.
    pub terminations: Vec<Termination>,
}

impl Default for CleanSettings {
    fn default() -> Self {
        CleanSettings {
            limit_bytes: None,
            restarts_column: None,
            drop_fraction: 0.4,
            near_limit: 0.1,
            double_count_ratio: (1.6, 2.5),
            max_spike_rows: 30,
            terminations: Vec::new(),
        }
    }
}

/// One row the cleaning marked.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Change {
    /// Source line (CSV) or observation index (JSON).
    pub line: usize,
    /// The event now on the row: `oom`, `restart` or `double-count`.
    pub event: &'static str,
    /// The row's time (RFC 3339), when the series has times.
    pub time: Option<String>,
    /// Memory of the row, bytes.
    pub memory_bytes: f64,
    /// Why.
    pub reason: String,
}

/// What the cleaning found.
#[derive(Debug, Clone, PartialEq, Serialize, Default)]
pub struct CleanReport {
    /// Rows marked, in row order.
    pub changes: Vec<Change>,
    /// Restarts found (each double-counting plateau is one).
    pub restarts: usize,
    /// OOMKills marked: `ooms_recorded + ooms_guessed`.
    pub ooms: usize,
    /// OOMKills a termination record says (`OOMKilled`).
    pub ooms_recorded: usize,
    /// OOMKills guessed from a reading near the limit before a restart no record explains.
    pub ooms_guessed: usize,
    /// Restarts whose record gives another reason (`Error`, `Completed`): not OOMKills.
    pub recorded_other: usize,
    /// Pod List records no restart of the series brackets (outside its time range, or of no
    /// proxy in it).
    pub records_unmatched: usize,
    /// Rows marked as double counted.
    pub double_counted_rows: usize,
    /// The query fix, when double counting was seen.
    pub fix: Option<String>,
}

/// The fix for double counting, named in reports.
pub const DOUBLE_COUNT_FIX: &str = "read max by (namespace, pod) (container_memory_working_set_bytes{container=\"istio-proxy\"}) instead of sum: during a restart cAdvisor reports the old and the new container together";

/// Mark restarts, OOMs and double counting; returns the new series and what changed.
pub fn clean(series: &Series, settings: &CleanSettings) -> Result<(Series, CleanReport)> {
    check_settings(settings)?;
    let memory = series
        .column(MEMORY)
        .ok_or_else(|| Error::data("no column named \"memory\" (the istio-proxy working set) to clean", &series.path))?
        .values()
        .to_vec();
    let times = series.rows.times();
    if let Some(i) = (1..times.len()).find(|&i| times[i] < times[i - 1]) {
        return Err(Error::parse(
            "rows are not in time order: this row is earlier than the one before; sort the series first",
            crate::error::Location::new(&series.path, series.rows.line(i)),
        ));
    }
    let restarts = restart_counts(series, settings)?;
    let limits = limits(series, settings);
    if let Some(i) = limits.iter().position(|l| l.is_some_and(|l| l < crate::series::plausible::MIN_MEMORY_BYTES)) {
        return Err(Error::parse(
            format!(
                "limit {} is under 1Mi: a proxy limit needs a unit (such as 256Mi); meshcap reads bare numbers as bytes",
                limits[i].expect("found")
            ),
            series.location(i, LIMIT),
        ));
    }
    let n = series.rows.len();
    let mut events: Vec<Option<Event>> = series.rows.events().to_vec();
    let mut report = CleanReport::default();
    let mut reasons: Vec<Option<String>> = vec![None; n];
    // Every memory reading but the inflated ones: rows marked by an earlier pass (oom,
    // restart) still serve as the reading before the next, so cleaning twice changes nothing.
    let readings: Vec<usize> =
        (0..n).filter(|&i| memory[i].is_finite() && events[i] != Some(Event::DoubleCount)).collect();
    // Restarts found: (the reading before, the first reading after).
    let mut episodes: Vec<(usize, usize)> = Vec::new();

    let predictors: Vec<&[f64]> = [super::REVISIONS, super::PORTS, super::SERVICES]
        .iter()
        .filter_map(|n| series.column(n))
        .map(|c| c.values())
        .collect();
    let sig = Signals { memory: &memory, limits: &limits, restarts: restarts.as_deref(), predictors };
    let mut mark = |events: &mut Vec<Option<Event>>, p: usize, run: &[usize], after: usize| {
        for &r in run {
            events[r] = Some(Event::DoubleCount);
            reasons[r] = Some(format!(
                "{:.2}x the reading before ({} {}): old and new container summed",
                memory[r] / memory[p],
                if series.json { "observation" } else { "line" },
                series.rows.line(p)
            ));
            report.double_counted_rows += 1;
        }
        episodes.push((p, after));
    };

    // Pass 1a: a new container ramping up under a sum, or an overlap of one or two steps
    // (overlap.rs), measured from the reading before the whole bump.
    for o in overlap::ramped_overlaps(&sig, &readings, &events, settings) {
        mark(&mut events, o.base, &o.run, o.after);
    }
    let readings: Vec<usize> = readings.into_iter().filter(|&i| events[i] != Some(Event::DoubleCount)).collect();

    // Pass 1b: double counting as a plateau. Against the reading before it (the base), a bump
    // is a run of readings above RUN_RATIO x base that peaks between the double-count ratios,
    // falls back to near the base (above FALL_BACK x base) within max_spike_rows, and grew
    // more than GROWTH_MARGIN times what the predictors grew. A climb that ends near the
    // limit without passing it, or after which the restart counter goes up, is memory growing
    // to an OOMKill instead: real memory stays under the limit, a sum of two containers need not.
    const RUN_RATIO: f64 = 1.35;
    const GROWTH_MARGIN: f64 = 1.3;
    const FALL_BACK: f64 = 0.7;
    let (lo, hi) = settings.double_count_ratio;
    let mut prev: Option<usize> = None;
    let mut k = 0;
    while k < readings.len() {
        let i = readings[k];
        if let Some(p) = prev {
            let base = memory[p];
            if base > 0.0 && memory[i] >= RUN_RATIO * base {
                let e = (k..readings.len()).find(|&e| memory[readings[e]] < RUN_RATIO * base).unwrap_or(readings.len());
                let run = &readings[k..e];
                let last = run[run.len() - 1];
                let peak = run.iter().map(|&r| memory[r]).fold(0.0, f64::max);
                let falls_back = e < readings.len() && memory[readings[e]] > FALL_BACK * base;
                if run.len() <= settings.max_spike_rows
                    && falls_back
                    && !sig.climb_to_oom(run, settings.near_limit)
                    && !sig.restart_after(p, last, readings[e])
                    && (lo * base..=hi * base).contains(&peak)
                    && run.iter().all(|&r| events[r].is_none() && memory[r] / base > GROWTH_MARGIN * sig.growth(p, r))
                {
                    mark(&mut events, p, run, readings[e]);
                    k = e;
                    continue;
                }
            }
        }
        prev = Some(i);
        k += 1;
    }

    // Pass 2: restarts, from drops of more than drop_fraction and from the restart counter.
    let mut extra_restarts = 0usize;
    let mut prev: Option<usize> = None;
    let plain: Vec<usize> = readings.iter().copied().filter(|&i| events[i] != Some(Event::DoubleCount)).collect();
    for &i in &plain {
        if let Some(p) = prev {
            let dropped = memory[i] < (1.0 - settings.drop_fraction) * memory[p];
            let counted = sig.counter_up(p, i);
            if (dropped || counted > 0.0) && events[i].is_none() {
                events[i] = Some(Event::Restart);
                reasons[i] = Some(if dropped {
                    format!(
                        "first reading after a restart: {:.0}% below the reading before ({} {})",
                        100.0 * (1.0 - memory[i] / memory[p]),
                        if series.json { "observation" } else { "line" },
                        series.rows.line(p)
                    )
                } else {
                    "first reading after a restart: the restart count went up".to_string()
                });
                episodes.push((p, i));
                // The counter can go up by more than one between two readings.
                extra_restarts += (counted as usize).saturating_sub(1);
            }
        }
        prev = Some(i);
    }
    // Restarts the termination records show (a change of recorded reason, a pod's finishedAt),
    // including those no drop or counter gave away: the first reading after is marked.
    let column = records::column_reasons(series);
    let (recorded, unmatched) =
        records::recorded_restarts(series, &plain, column.as_deref(), restarts.as_deref(), &settings.terminations);
    report.records_unmatched = unmatched;
    let mut explained: HashMap<usize, records::Explained> = HashMap::new();
    for (p, a, why) in recorded {
        let known = episodes.iter().find(|&&(b, af)| b == p || (b <= p && a <= af)).map(|e| e.0);
        let before = match known {
            Some(b) => b,
            None if events[a].is_none() => {
                events[a] = Some(Event::Restart);
                reasons[a] = Some(format!("first reading after a restart recorded by {}", why.source));
                episodes.push((p, a));
                p
            }
            // Marked by an earlier cleaning: nothing new.
            None => continue,
        };
        explained.entry(before).or_insert(why);
    }
    if let Some(col) = &column {
        for &(b, a) in &episodes {
            if let std::collections::hash_map::Entry::Vacant(e) = explained.entry(b) {
                if let Some(why) = records::column_reason(col, &plain, restarts.as_deref(), b, a) {
                    e.insert(why);
                }
            }
        }
    }

    // One restart can show both ways (the counter goes up, then a double-counting bump
    // follows): overlapping episodes are one restart.
    episodes.sort_unstable();
    let mut merged: Vec<(usize, usize)> = Vec::new();
    for (b, a) in episodes.iter().copied() {
        match merged.last_mut() {
            Some(last) if b <= last.1 => last.1 = last.1.max(a),
            _ => merged.push((b, a)),
        }
    }
    report.restarts = merged.len() + extra_restarts;

    // Pass 3: a restart a record says was OOMKilled was one, at whatever memory; one a record
    // gives another reason was not; one no record explains right after a reading near the
    // limit is guessed to be one.
    let mut before: Vec<usize> = episodes.iter().map(|e| e.0).collect();
    before.dedup();
    let of_limit = |p: usize| {
        limits[p].map_or_else(
            || "no limit known".to_string(),
            |l| format!("{:.1}% of the {} limit", 100.0 * memory[p] / l, crate::quantity::Bytes(l)),
        )
    };
    for p in before {
        match explained.get(&p) {
            Some(why) if why.is_oom() => {
                // A restart row can be the reading before the next restart in a crash loop.
                if events[p].is_none() || (events[p] == Some(Event::Restart) && reasons[p].is_some()) {
                    events[p] = Some(Event::Oom);
                    reasons[p] =
                        Some(format!("OOMKilled: {} just before a restart (recorded by {})", of_limit(p), why.source));
                    report.ooms_recorded += 1;
                }
            }
            Some(_) => report.recorded_other += 1,
            None => {
                if let Some(limit) = limits[p] {
                    if events[p].is_none() && memory[p] >= (1.0 - settings.near_limit) * limit {
                        events[p] = Some(Event::Oom);
                        reasons[p] = Some(format!(
                            "OOMKilled: {} just before a restart (guessed: no termination record)",
                            of_limit(p)
                        ));
                        report.ooms_guessed += 1;
                    }
                }
            }
        }
    }
    report.ooms = report.ooms_recorded + report.ooms_guessed;

    let mut out = series.clone();
    for i in 0..n {
        if let Some(reason) = reasons[i].take() {
            let event = events[i].expect("marked rows have an event");
            out.rows.set_event(i, Some(event));
            report.changes.push(Change {
                line: out.rows.line(i),
                event: event.as_str(),
                time: out.rows.time(i).map(super::write::format_time),
                memory_bytes: memory[i],
                reason,
            });
        }
    }
    out.event_rows = Series::index_events(&out.rows);
    if report.double_counted_rows > 0 {
        report.fix = Some(DOUBLE_COUNT_FIX.to_string());
    }
    Ok((out, report))
}

mod inputs;
mod overlap;
mod proxies;
pub mod records;

pub use proxies::{clean_by_proxy, clean_by_proxy_owned};
pub use records::{Termination, OOM_KILLED};

#[cfg(test)]
mod tests;
