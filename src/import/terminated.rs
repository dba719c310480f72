//! The `last_terminated` column: kube-state-metrics' record of why a container last stopped.
//!
//! `kube_pod_container_status_last_terminated_reason{container, reason}` is a gauge that is 1
//! for the reason of the container's last termination (`lastState.terminated.reason`:
//! `OOMKilled`, `Error`, `Completed`) and absent for every other reason, and absent altogether
//! before the container's first termination (kubernetes/kube-state-metrics
//! `internal/store/pod.go` at v2.20.0, `createPodContainerStatusLastTerminatedReasonFamilyGenerator`).
//! So a response holds one series per reason seen, each present while that reason was the last
//! one. Here they are folded into one timeline per container whose value is the reason in force
//! (an index into a table of reason texts), and written as a text column that `clean` reads
//! ([`crate::series::clean::records`]). Unlike the other columns its absence is information (no
//! termination recorded yet), so a memory row without a reason nearby keeps an empty cell
//! instead of being dropped.

use std::collections::BTreeMap;

use super::TimeSeries;
use crate::error::{Error, Result};
use crate::series::{Column, Series, LAST_TERMINATED};

/// The label holding the reason.
const REASON: &str = "reason";

/// Reason series folded into one timeline per container, and the reason texts their values
/// index.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Folded {
    /// One series per label set (less `reason` and `__name__`); values index `reasons`.
    pub series: Vec<TimeSeries>,
    /// Reason texts, in order of first appearance in the response.
    pub reasons: Vec<String>,
}

/// Fold a response's reason series (named `origin` in messages). Every series must keep the
/// `reason` label; samples of 0 (no kube-state-metrics series is 0, but a query may compute
/// one) are not records. Where two reasons report at one time (the old series within its
/// lookback), the one that has just appeared wins.
pub fn fold(origin: &str, series: Vec<TimeSeries>) -> Result<Folded> {
    let mut out = Folded::default();
    // Per container (label set less the reason): its labels and (code, reason series).
    type Members = (BTreeMap<String, String>, Vec<(usize, TimeSeries)>);
    let mut groups: BTreeMap<String, Members> = BTreeMap::new();
    for mut s in series {
        let Some(reason) = s.labels.remove(REASON) else {
            return Err(Error::invalid(format!(
                "{origin}: series {} has no \"reason\" label: keep it in the query (kube_pod_container_status_last_terminated_reason has one series per reason; aggregate with max by (namespace, pod, reason))",
                s.label_set()
            )));
        };
        s.labels.remove("__name__");
        let code = match out.reasons.iter().position(|r| *r == reason) {
            Some(k) => k,
            None => {
                out.reasons.push(reason);
                out.reasons.len() - 1
            }
        };
        let keep: Vec<usize> = (0..s.len()).filter(|&k| s.values[k] > 0.0).collect();
        let times: Vec<f64> = keep.iter().map(|&k| s.times[k]).collect();
        let labels = s.labels;
        let entry = groups.entry(TimeSeries { labels: labels.clone(), ..TimeSeries::default() }.label_set());
        entry
            .or_insert_with(|| (labels.clone(), Vec::new()))
            .1
            .push((code, TimeSeries { labels, values: vec![code as f64; times.len()], times }));
    }
    for (_, (labels, members)) in groups {
        let merged = merge(members);
        if !merged.0.is_empty() {
            out.series.push(TimeSeries { labels, times: merged.0, values: merged.1 });
        }
    }
    Ok(out)
}

/// One container's reason series to one timeline: (times, codes).
fn merge(members: Vec<(usize, TimeSeries)>) -> (Vec<f64>, Vec<f64>) {
    let mut grid: Vec<f64> = members.iter().flat_map(|(_, s)| s.times.iter().copied()).collect();
    grid.sort_by(f64::total_cmp);
    grid.dedup();
    let has = |s: &TimeSeries, t: f64| s.times.binary_search_by(|x| x.total_cmp(&t)).is_ok();
    let mut codes = Vec::with_capacity(grid.len());
    for (k, &t) in grid.iter().enumerate() {
        let present = members.iter().filter(|(_, s)| has(s, t));
        // Just appeared (no sample at the grid's time before), then started latest, then code.
        let best = present
            .max_by(|a, b| {
                let new = |s: &TimeSeries| k == 0 || !has(s, grid[k - 1]);
                new(&a.1).cmp(&new(&b.1)).then(a.1.times[0].total_cmp(&b.1.times[0])).then(b.0.cmp(&a.0))
            })
            .expect("a grid time has a sample");
        codes.push(best.0 as f64);
    }
    (grid, codes)
}

/// The reason in force at `t` in `s`: the sample nearest `t` within half a step.
fn reason_at<'a>(s: &TimeSeries, reasons: &'a [String], t: f64, step: f64) -> Option<&'a str> {
    let k = s.times.partition_point(|&x| x < t);
    let near = [k.checked_sub(1), Some(k).filter(|&k| k < s.len())]
        .into_iter()
        .flatten()
        .filter(|&j| (s.times[j] - t).abs() <= step / 2.0)
        .min_by(|&a, &b| (s.times[a] - t).abs().total_cmp(&(s.times[b] - t).abs()))?;
    reasons.get(s.values[near] as usize).map(String::as_str)
}

/// Add the [`LAST_TERMINATED`] column to an imported series: row `i` takes the reason of
/// `of_row(i)`'s timeline at the row's time (empty with no timeline or no sample near).
pub(crate) fn add_column<'a>(
    series: &mut Series,
    reasons: &[String],
    step: f64,
    of_row: impl Fn(usize) -> Option<&'a TimeSeries>,
) {
    let mut col = Column::new(LAST_TERMINATED);
    let times = series.rows.times();
    for (i, &t) in times.iter().enumerate() {
        let r = of_row(i).and_then(|s| reason_at(s, reasons, t, step));
        col.push(r.map_or(crate::series::Cell::Empty, |r| crate::series::Cell::Text(r.to_string())));
    }
    // Before memory and the limit, with the other descriptive columns.
    let at = series.columns.iter().position(|c| c.name == crate::series::MEMORY || c.name == "limit");
    series.columns.insert(at.unwrap_or(series.columns.len()), col);
}

/// The comment recording the column's source.
fn comment(what: &str, folded: &Folded) -> String {
    format!(
        "{what} -> {} containers, reasons seen: {}",
        folded.series.len(),
        if folded.reasons.is_empty() { "none".to_string() } else { folded.reasons.join(", ") }
    )
}

/// The reason answer of an import, decoded and folded: `(origin, what, folded)` where `what`
/// is the query or file for comments.
pub(crate) type Decoded = (String, String, Folded);

/// Decode the reason answer's result (its warnings and dropped points into the report).
pub(crate) fn decode(
    a: &super::answer::Answer,
    result: Result<super::promjson::QueryResult>,
    report: &mut super::prom_parts::Report,
) -> Result<Decoded> {
    let result = result?;
    for w in &result.warnings {
        report.warnings.push(format!("{}: {w}", a.origin));
    }
    if result.non_finite > 0 {
        report.non_finite.insert(LAST_TERMINATED.to_string(), result.non_finite);
    }
    let what = match &a.query {
        Some(q) => format!("{LAST_TERMINATED}: {q}"),
        None => format!("{LAST_TERMINATED}: {}", a.origin),
    };
    Ok((a.origin.clone(), what, fold(&a.origin, result.series)?))
}

/// Add the column to a series of one proxy: the one timeline the `--select` filters leave
/// (none: no termination recorded in the range).
pub(crate) fn add_single(
    series: &mut Series,
    (origin, what, folded): Decoded,
    filters: &[(String, String)],
    report: &mut super::prom_parts::Report,
    comments: &mut Vec<String>,
) -> Result<()> {
    let step = report.step_seconds;
    comments.push(comment(&what, &folded));
    let applicable: Vec<&(String, String)> =
        filters.iter().filter(|(k, _)| folded.series.iter().any(|s| s.labels.contains_key(k))).collect();
    let mut kept: Vec<&TimeSeries> =
        folded.series.iter().filter(|s| applicable.iter().all(|(k, v)| s.labels.get(k) == Some(v))).collect();
    if kept.len() > 1 {
        let shown: Vec<String> = kept.iter().take(5).map(|s| s.label_set()).collect();
        return Err(Error::invalid(format!(
            "{origin} holds {} containers' reasons ({}): pick the proxy's with --select LABEL=VALUE",
            kept.len(),
            shown.join(" ")
        )));
    }
    let one = kept.pop();
    let seen = one.map_or_else(|| "no termination recorded".to_string(), |s| s.label_set());
    report.series.insert(LAST_TERMINATED.to_string(), seen);
    add_column(series, &folded.reasons, step, |_| one);
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ts(reason: &str, pts: &[f64]) -> TimeSeries {
        TimeSeries {
            labels: [
                ("pod", "p"),
                ("reason", reason),
                ("__name__", "kube_pod_container_status_last_terminated_reason"),
            ]
            .into_iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect(),
            times: pts.to_vec(),
            values: vec![1.0; pts.len()],
        }
    }

    #[test]
    fn reasons_fold_into_one_timeline() {
        // kube-state-metrics (pod.go): the series of the last reason is 1, others absent. The
        // container was OOMKilled before t=30, exited with Error before t=90 (the OOMKilled
        // series lingers one step), and was OOMKilled again before t=150.
        let f =
            fold("r", vec![ts("OOMKilled", &[30.0, 60.0, 90.0, 150.0, 180.0]), ts("Error", &[90.0, 120.0])]).unwrap();
        assert_eq!(f.reasons, vec!["OOMKilled", "Error"]);
        assert_eq!(f.series.len(), 1);
        assert_eq!(f.series[0].times, vec![30.0, 60.0, 90.0, 120.0, 150.0, 180.0]);
        assert_eq!(f.series[0].values, vec![0.0, 0.0, 1.0, 1.0, 0.0, 0.0]);
        // The reason at a time within half a step, none outside.
        let r = &f.reasons;
        assert_eq!(reason_at(&f.series[0], r, 100.0, 30.0), Some("Error"));
        assert_eq!(reason_at(&f.series[0], r, 0.0, 30.0), None);
        let mut no_reason = ts("x", &[1.0]);
        no_reason.labels.remove("reason");
        let e = fold("r", vec![no_reason]).unwrap_err().to_string();
        assert!(e.contains("no \"reason\" label"), "{e}");
    }
}
