//! A fleet import (`--by namespace,pod`): one proxy per distinct value of the labels, written
//! in long form with a `proxy` column.
//!
//! Without `--by` a response with several series is refused unless aggregated into one. With
//! it, every column's series are keyed by the `--by` label values joined with `/` (in the
//! order given) and joined to memory by that key. Within a key, series that differ only in
//! container identity are one proxy's successive containers, spliced ([`super::splice`]),
//! never summed; series that differ in anything else (a `container="POD"` series beside
//! `istio-proxy`) are refused, since no rule says which one is the sidecar. Columns join on
//! the `--by` label values themselves, not only their joined key: `{namespace="a/b", pod="c"}`
//! in memory and `{namespace="a", pod="b/c"}` in ports are refused, not joined as `a/b/c`.

use std::collections::BTreeMap;

use super::align::{align, infer_step};
use super::answer::Answer;
use super::prom_parts::{check_values, number_column, Report, Settings, COLUMNS};
use super::promjson::QueryResult;
use super::splice::{splice, Spliced, CONTAINER_IDENTITY};
use super::TimeSeries;
use crate::error::{Error, Result};
use crate::series::{Column, Series, LAST_TERMINATED, MEMORY};

/// The column holding the proxy's name in a long-form series.
pub use crate::series::PROXY;

/// One column's series, keyed by proxy and spliced.
pub(crate) type Keyed = BTreeMap<String, Spliced>;

/// Key a column's series by the `--by` labels and splice each proxy's incarnations. `origin`
/// names the column's source in messages.
pub(crate) fn key_series(
    origin: &str,
    column: &str,
    series: Vec<TimeSeries>,
    by: &[String],
    warnings: &mut Vec<String>,
) -> Result<Keyed> {
    let mut groups: BTreeMap<String, (Vec<String>, Vec<TimeSeries>)> = BTreeMap::new();
    // Proxies with a series but not one finite sample (all NaN or Inf): named, not dropped
    // silently.
    let mut empty: std::collections::BTreeSet<String> = std::collections::BTreeSet::new();
    for s in series {
        if s.is_empty() {
            if let Some(values) = by.iter().map(|l| s.labels.get(l).cloned()).collect::<Option<Vec<String>>>() {
                empty.insert(values.join("/"));
            }
            continue;
        }
        // Label values become proxy names and are quoted in messages: no terminal escapes.
        if let Some((k, v)) = s.labels.iter().find(|(_, v)| crate::series::plausible::hidden_char(v).is_some()) {
            return Err(Error::invalid(format!(
                "{origin}: the label {k} = {v:?} holds a control or invisible formatting character"
            )));
        }
        let mut values = Vec::with_capacity(by.len());
        for label in by {
            match s.labels.get(label) {
                Some(v) => values.push(v.clone()),
                None => {
                    let hint = if column == "limit" { "; for one limit for every proxy use --limit" } else { "" };
                    return Err(Error::invalid(format!(
                        "{origin}: series {} lacks the label \"{label}\" named by --by {}: keep it in the query (e.g. max by ({})){hint}",
                        s.label_set(),
                        by.join(","),
                        by.join(", ")
                    )));
                }
            }
        }
        let key = values.join("/");
        let entry = groups.entry(key.clone()).or_insert_with(|| (values.clone(), Vec::new()));
        if entry.0 != values {
            return Err(Error::invalid(format!(
                "{origin}: the label values {:?} and {:?} both join to proxy \"{key}\": proxy names would collide; choose other --by labels",
                entry.0, values
            )));
        }
        entry.1.push(s);
    }
    let mut keyed = Keyed::new();
    for (key, (_, members)) in groups {
        // What is left once the proxy's own labels and container identity are set aside must
        // be the same for every member.
        let rest = |s: &TimeSeries| {
            let mut l = s.labels.clone();
            l.retain(|k, _| !by.contains(k) && !CONTAINER_IDENTITY.contains(&k.as_str()));
            TimeSeries { labels: l, ..TimeSeries::default() }.label_set()
        };
        let first = rest(&members[0]);
        if let Some(other) = members.iter().map(rest).find(|r| *r != first) {
            return Err(Error::invalid(format!(
                "{origin}: proxy \"{key}\" has series that differ in more than container identity ({first} and {other}): narrow the query (e.g. container=\"istio-proxy\") or add the label to --by"
            )));
        }
        let spliced = splice(members);
        if let Some(w) = check_values(column, &format!("{origin} (proxy {key})"), &spliced.series)? {
            warnings.push(w);
        }
        keyed.insert(key, spliced);
    }
    empty.retain(|k| !keyed.contains_key(k));
    if !empty.is_empty() {
        warnings.push(format!(
            "{origin}: {} proxies have no finite sample (NaN or Inf only) and are left out: {}",
            empty.len(),
            some_names(empty.iter())
        ));
    }
    if keyed.is_empty() {
        return Err(Error::invalid(format!(
            "{origin} returned no series with samples: check the query and the time range"
        )));
    }
    Ok(keyed)
}

/// Refuse a `--by` list with no label names (shared by every importer that takes `--by`).
pub(crate) fn check_by(by: &[String]) -> Result<()> {
    if by.is_empty() || by.iter().any(|l| l.is_empty()) {
        return Err(Error::invalid("--by needs label names separated by commas, such as namespace,pod"));
    }
    Ok(())
}

/// Key one column's series ([`key_series`]) and record it: the report's label line and a
/// comment `what -> N proxies (M samples)`. Every `--by` importer goes through here, so
/// Prometheus, Grafana and istioctl describe their columns alike.
pub(crate) fn key_column(
    column: &str,
    origin: &str,
    what: &str,
    series: Vec<TimeSeries>,
    by: &[String],
    report: &mut Report,
    comments: &mut Vec<String>,
) -> Result<Keyed> {
    let k = key_series(origin, column, series, by, &mut report.warnings)?;
    let samples: usize = k.values().map(|s| s.series.len()).sum();
    report.series.insert(column.to_string(), format!("{} proxies by {}", k.len(), by.join(",")));
    comments.push(format!("{what} -> {} proxies ({samples} samples)", k.len()));
    Ok(k)
}

/// The `--by` path: every column keyed by proxy, spliced, joined to memory.
pub(crate) fn import_by(
    answers: &[Answer],
    decoded: Vec<Result<QueryResult>>,
    by: &[String],
    settings: &Settings,
    mut report: Report,
    mut comments: Vec<String>,
) -> Result<(Series, Vec<String>, Report)> {
    if settings.selection.aggregate.is_some() {
        return Err(Error::invalid("--aggregate combines series into one, --by keeps one per proxy: choose one"));
    }
    check_by(by)?;
    let mut keyed = BTreeMap::new();
    for (a, result) in answers.iter().zip(decoded) {
        let result = result?;
        for w in &result.warnings {
            report.warnings.push(format!("{}: {w}", a.origin));
        }
        if result.non_finite > 0 {
            report.non_finite.insert(a.column.to_string(), result.non_finite);
        }
        let filters = &settings.selection.filters;
        let applicable: Vec<&(String, String)> =
            filters.iter().filter(|(k, _)| result.series.iter().any(|s| s.labels.contains_key(k))).collect();
        let series: Vec<TimeSeries> =
            result.series.into_iter().filter(|s| applicable.iter().all(|(k, v)| s.labels.get(k) == Some(v))).collect();
        let what = match &a.query {
            Some(q) => format!("{}: {q}", a.column),
            None => format!("{}: {}", a.column, a.origin),
        };
        let k = key_column(a.column, &a.origin, &what, series, by, &mut report, &mut comments)?;
        keyed.insert(a.column, (a.origin.clone(), k));
    }
    assemble(keyed, by, settings, report, comments)
}

/// The `--by` path's [`LAST_TERMINATED`] column: each proxy's reason timeline (its
/// containers spliced, as memory's), looked up at each of its rows; a proxy with none has
/// empty cells (no termination recorded).
pub(crate) fn add_reasons(
    series: &mut Series,
    (origin, what, folded): super::terminated::Decoded,
    by: &[String],
    settings: &Settings,
    report: &mut Report,
    comments: &mut Vec<String>,
) -> Result<()> {
    let filters = &settings.selection.filters;
    let applicable: Vec<&(String, String)> =
        filters.iter().filter(|(k, _)| folded.series.iter().any(|s| s.labels.contains_key(k))).collect();
    let kept: Vec<TimeSeries> =
        folded.series.into_iter().filter(|s| applicable.iter().all(|(k, v)| s.labels.get(k) == Some(v))).collect();
    let keyed = if kept.is_empty() {
        comments.push(format!("{what} -> no container has a termination recorded"));
        Keyed::new()
    } else {
        let reasons = folded.reasons.join(", ");
        let k = key_column(LAST_TERMINATED, &origin, &what, kept, by, report, comments)?;
        comments.push(format!("{LAST_TERMINATED}: reasons seen: {reasons}"));
        k
    };
    let per_row: Vec<Option<&TimeSeries>> = match series.column(PROXY).and_then(|c| c.label_ids()) {
        Some((ids, names)) => {
            ids.iter().map(|&id| names.get(id as usize).and_then(|n| keyed.get(n)).map(|s| &s.series)).collect()
        }
        None => vec![None; series.rows.len()],
    };
    super::terminated::add_column(series, &folded.reasons, report.step_seconds, |i| per_row[i]);
    Ok(())
}

/// Names, at most five, then a count of the rest.
fn some_names<'a>(names: impl Iterator<Item = &'a String>) -> String {
    let all: Vec<&String> = names.collect();
    let mut s = all.iter().take(5).map(|n| n.as_str()).collect::<Vec<_>>().join(", ");
    if all.len() > 5 {
        s.push_str(&format!(" and {} more", all.len() - 5));
    }
    s
}

/// Join the keyed columns to memory, proxy by proxy, and build the long-form series.
pub(crate) fn assemble(
    mut keyed: BTreeMap<&'static str, (String, Keyed)>,
    by: &[String],
    settings: &Settings,
    mut report: Report,
    mut comments: Vec<String>,
) -> Result<(Series, Vec<String>, Report)> {
    let (_, memory) = keyed.remove(MEMORY).expect("checked");
    let names: Vec<&'static str> = COLUMNS.iter().copied().filter(|c| keyed.contains_key(c)).collect();
    // Columns' proxies that memory lacks: all of them is a mismatch of labels, some a warning.
    for n in &names {
        let (origin, col) = &keyed[n];
        let extra: Vec<&String> = col.keys().filter(|k| !memory.contains_key(*k)).collect();
        if extra.len() == col.len() {
            return Err(Error::invalid(format!(
                "{origin}: none of its {} proxies ({}) is among the memory query's ({}): do both queries keep the --by labels {}?",
                col.len(),
                some_names(col.keys()),
                some_names(memory.keys()),
                by.join(",")
            )));
        }
        if !extra.is_empty() {
            report.warnings.push(format!(
                "{origin}: {} proxies have no memory series and are left out: {}",
                extra.len(),
                some_names(extra.into_iter())
            ));
        }
    }
    let step = match settings.step {
        Some(s) => s,
        None => {
            let mut gaps: Vec<f64> = memory.values().filter_map(|s| infer_step(&s.series.times)).collect::<Vec<f64>>();
            gaps.sort_by(f64::total_cmp);
            gaps.get((gaps.len().max(1) - 1) / 2).copied().unwrap_or(1.0)
        }
    };
    report.step_seconds = step;
    let derive_restarts = !names.contains(&"restarts");
    let mut proxy = Column::new(PROXY);
    // Each proxy's kind where its series' labels say it ([`super::kinds`]), with its row
    // count: a column only when some proxy's labels say one (a fleet of 10^7 rows without
    // pod labels keeps no column of empty cells).
    let mut kinds: Vec<(Option<&'static str>, usize)> = Vec::new();
    let mut times: Vec<f64> = Vec::new();
    let mut out: Vec<Vec<f64>> = vec![Vec::new(); names.len()];
    let mut restarts: Vec<f64> = Vec::new();
    let mut memory_values: Vec<f64> = Vec::new();
    let mut switches = 0;
    let mut kept = 0;
    let mut lone: Vec<String> = Vec::new();
    // At most every memory sample becomes a row: room for all of them up front, so the long
    // form's columns never double (pages are only taken as rows are written).
    let most: usize = memory.values().map(|m| m.series.times.len()).sum();
    times.reserve_exact(most);
    memory_values.reserve_exact(most);
    restarts.reserve_exact(if derive_restarts { most } else { 0 });
    proxy.reserve(most);
    for column in &mut out {
        column.reserve_exact(most);
    }
    // Each proxy's samples are taken out of the keyed columns as it is joined, and the freed
    // memory handed back now and then: the decoded responses shrink as the long form grows (a
    // fleet's are a gigabyte each).
    for (k, (key, mem)) in memory.into_iter().enumerate() {
        if k % 512 == 511 {
            crate::memory::release_freed();
        }
        let missing: Vec<&str> = names.iter().copied().filter(|n| !keyed[n].1.contains_key(&key)).collect();
        if !missing.is_empty() {
            for n in &missing {
                report.missing.entry(n.to_string()).or_default().push(key.clone());
            }
            continue;
        }
        let others: Vec<Spliced> =
            names.iter().map(|n| keyed.get_mut(n).expect("named").1.remove(&key).expect("checked")).collect();
        // The key is the --by values joined by `/`: equal keys from different values (one
        // holding a `/`) would join two proxies. Columns join on the label values themselves.
        let values = |s: &TimeSeries| by.iter().map(|l| s.labels.get(l).cloned()).collect::<Vec<_>>();
        for (n, o) in names.iter().zip(&others) {
            if values(&o.series) != values(&mem.series) {
                let shown = |s: &TimeSeries| {
                    let pairs: Vec<String> =
                        by.iter().map(|l| format!("{l}={:?}", s.labels.get(l).map_or("", String::as_str))).collect();
                    format!("{{{}}}", pairs.join(", "))
                };
                return Err(Error::invalid(format!(
                    "{}: its series {} and the memory series {} both join to proxy \"{key}\" but their --by labels differ: choose --by labels whose values hold no '/'",
                    keyed[n].0,
                    shown(&o.series),
                    shown(&mem.series)
                )));
            }
        }
        let others: Vec<&TimeSeries> = others.iter().map(|s| &s.series).collect();
        let aligned = align(&mem.series, &others, step);
        for (n, d) in names.iter().zip(&aligned.dropped) {
            if *d > 0 {
                *report.dropped_misaligned.entry(n.to_string()).or_default() += d;
            }
        }
        report.dropped_rows += aligned.dropped_rows;
        if aligned.times.is_empty() {
            report.missing.entry("any aligned sample".into()).or_default().push(key.clone());
            continue;
        }
        kept += 1;
        if aligned.times.len() == 1 {
            lone.push(key.clone());
        }
        switches += mem.switches.len();
        let k = super::kinds::kind_of(&mem.series.labels)
            .or_else(|| others.iter().find_map(|o| super::kinds::kind_of(&o.labels)));
        kinds.push((k, aligned.times.len()));
        for &t in &aligned.times {
            proxy.push_label(&key);
            if derive_restarts {
                restarts.push(mem.restarts_at(t) as f64);
            }
        }
        times.extend_from_slice(&aligned.times);
        memory_values.extend_from_slice(&aligned.memory);
        for (dst, src) in out.iter_mut().zip(aligned.columns) {
            dst.extend(src);
        }
    }
    for (column, proxies) in &report.missing {
        let line =
            format!("{} proxies have no {column} and are left out: {}", proxies.len(), some_names(proxies.iter()));
        comments.push(line.clone());
        report.warnings.push(line);
    }
    if !lone.is_empty() {
        report.warnings.push(format!(
            "{} proxies have one reading, so no growth and no date: {}",
            lone.len(),
            some_names(lone.iter())
        ));
    }
    for (n, d) in &report.dropped_misaligned {
        comments.push(format!("dropped {d} memory samples with no {n} sample within {} s", step / 2.0));
    }
    if kept == 0 {
        return Err(Error::invalid(format!(
            "no proxy has memory and every other column within {} s of each other: the series do not overlap",
            step / 2.0
        )));
    }
    report.rows = times.len();
    report.proxies = Some(kept);
    report.restarts_spliced = Some(switches);
    comments.push(format!(
        "{kept} proxies by {}; {switches} container restarts spliced (each time takes the newest container)",
        by.join(",")
    ));
    let mut columns = vec![proxy];
    if kinds.iter().any(|(k, _)| k.is_some()) {
        let mut kind = Column::new(crate::model::covariates::KIND);
        kind.reserve(times.len());
        for (k, rows) in kinds {
            for _ in 0..rows {
                kind.push_label(k.unwrap_or(""));
            }
        }
        columns.push(kind);
    }
    for (n, values) in names.iter().zip(out) {
        columns.push(Column::numbers(n.to_string(), values));
    }
    if derive_restarts {
        columns.push(Column::numbers("restarts".into(), restarts));
    }
    if let (Some(l), false) = (settings.limit_bytes, names.contains(&"limit")) {
        columns.push(number_column("limit", &vec![l; times.len()]));
    }
    columns.push(Column::numbers(MEMORY.into(), memory_values));
    Ok((super::prom_parts::imported(columns, times), comments, report))
}

#[cfg(test)]
mod tests;
