//! `import istioctl DUMP... --readings R.csv`: dumps of several proxies, taken over time, as
//! the long form `import prometheus --by namespace,pod` writes.
//!
//! A dump says what a proxy holds (its service clusters, the model's `ports`) and which proxy
//! it is (the bootstrap node's `NAME`/`NAMESPACE` metadata, or its id
//! `sidecar~IP~POD.NAMESPACE~...`), but neither when it was taken nor the memory then: those
//! come from a small readings file, one row per dump (`dump,time,memory[,limit]`). Each dump
//! becomes one sample of its proxy, named `namespace/pod`, and goes through the same
//! [`key_column`] and [`assemble`] as a Prometheus fleet, so the two cannot differ in shape.
//! The bootstrap's `last_updated` is when that Envoy started: dumps of one pod with different
//! values come from successive containers, spliced like Prometheus' container incarnations
//! (the switch is a restart). A proxy (`namespace/pod`) has one reading per time whichever
//! container its dumps came from: two at one time are refused, not spliced into one.
//!
//! Complexity: O(n log n) in dumps + readings (readings paired with dumps by file name through
//! a hash map, samples grouped per proxy in a sorted map); held by `tests/scale.rs`.

use std::collections::{BTreeMap, HashMap};
use std::path::{Path, PathBuf};

use super::Counts;
use crate::error::{Error, Location, Result};
use crate::import::fleet::{assemble, check_by, key_column};
use crate::import::prometheus::{Report, Settings};
use crate::import::TimeSeries;
use crate::series::{Series, CONCURRENCY, MEMORY};

/// One dump as read: the file and what it holds.
#[derive(Debug, Clone)]
pub struct Dump {
    /// The file as given.
    pub path: PathBuf,
    /// Its counts; `counts.node` names the proxy.
    pub counts: Counts,
}

/// One row of a readings file: when a dump was taken and the proxy's memory then.
#[derive(Debug, Clone, PartialEq)]
pub struct Reading {
    /// Line in the readings file.
    pub line: usize,
    /// The dump's file name (or its path as given).
    pub dump: String,
    /// When it was taken, unix seconds.
    pub time: f64,
    /// The proxy's working set then.
    pub memory_bytes: f64,
    /// The limit in force, when the file has a `limit` column.
    pub limit_bytes: Option<f64>,
}

const READING_COLUMNS: &[&str] = &["dump", "time", "memory", "limit"];

/// Parse a readings CSV: a header naming `dump`, `time` (RFC 3339 or unix seconds) and
/// `memory` (a quantity, `412Mi`), optionally `limit`; `#` lines are comments.
pub fn parse_readings(path: &Path, text: &str) -> Result<Vec<Reading>> {
    let mut lines = text.lines().enumerate().map(|(i, l)| (i + 1, l)).filter(|(_, l)| {
        let t = l.trim();
        !t.is_empty() && !t.starts_with('#')
    });
    let split = |l: &str| l.split(',').map(|c| c.trim().trim_matches('"').to_string()).collect::<Vec<String>>();
    let Some((header_line, header)) = lines.next() else {
        return Err(Error::data("readings file is empty: expected a header dump,time,memory[,limit]", path));
    };
    let loc = |line: usize| Location::new(path, line);
    if let Some((line, _)) =
        text.lines().enumerate().find(|(_, l)| l.trim_end_matches('\r').chars().any(char::is_control))
    {
        return Err(Error::parse("the line holds a control character", loc(line + 1)));
    }
    let header = split(header);
    crate::series::check_unique(&header, || loc(header_line))?;
    if let Some(h) = header.iter().find(|h| !READING_COLUMNS.contains(&h.as_str())) {
        return Err(Error::parse(
            format!("column \"{h}\" is not one of {}", READING_COLUMNS.join(", ")),
            loc(header_line),
        ));
    }
    let col = |name: &str| header.iter().position(|h| h == name);
    let (Some(d), Some(t), Some(m)) = (col("dump"), col("time"), col("memory")) else {
        return Err(Error::parse(
            format!("the header ({}) needs dump, time and memory", header.join(",")),
            loc(header_line),
        ));
    };
    let limit = col("limit");
    let mut out = Vec::new();
    for (line, raw) in lines {
        let cells = split(raw);
        if cells.len() != header.len() {
            return Err(Error::parse(
                format!("row has {} cells but the header has {}", cells.len(), header.len()),
                loc(line),
            ));
        }
        let at = |c: usize| loc(line).with_column(&header[c]);
        let time = crate::series::parse_time(&cells[t], || at(t))?
            .ok_or_else(|| Error::parse("time is empty: when was the dump taken?", at(t)))?;
        if let Some(why) = crate::series::plausible::not_seconds(time) {
            return Err(Error::parse(format!("time {} {why}", cells[t]), at(t)));
        }
        let quantity = |c: usize| -> Result<f64> {
            let v = crate::quantity::parse_quantity(&cells[c]).map_err(|e| Error::parse(e, at(c)))?;
            if !(1_048_576.0..=1.125_899_906_842_624e15).contains(&v) {
                return Err(Error::parse(
                    format!(
                        "\"{}\" is not a proxy's memory (1Mi to 1Pi): a quantity needs its unit, such as 412Mi",
                        cells[c]
                    ),
                    at(c),
                ));
            }
            Ok(v)
        };
        out.push(Reading {
            line,
            dump: cells[d].clone(),
            time,
            memory_bytes: quantity(m)?,
            limit_bytes: limit.map(quantity).transpose()?,
        });
    }
    Ok(out)
}

/// One sample per dump of each proxy, in long form. `readings_path` names the readings in
/// messages; `settings.by` (default `namespace,pod`) may use the labels `namespace` and `pod`.
pub fn to_fleet(
    dumps: &[Dump],
    readings_path: &Path,
    readings: &[Reading],
    settings: &Settings,
    provenance: &str,
) -> Result<(Series, Vec<String>, Report)> {
    let by: Vec<String> = settings.by.clone().unwrap_or_else(|| vec!["namespace".into(), "pod".into()]);
    check_by(&by)?;
    if let Some(l) = by.iter().find(|l| !["namespace", "pod"].contains(&l.as_str())) {
        return Err(Error::invalid(format!(
            "--by {}: a dump names its proxy by namespace and pod only, not \"{l}\"",
            by.join(",")
        )));
    }
    let shown = readings_path.display().to_string();
    let reading_of = pair(dumps, readings_path, readings)?;
    // Samples by (label set, incarnation): (time, dump, memory, ports, limit, workers).
    type Sample<'a> = (f64, &'a Path, f64, f64, Option<f64>, Option<f64>);
    let mut groups: BTreeMap<BTreeMap<String, String>, Vec<Sample>> = BTreeMap::new();
    // One reading per proxy (namespace/pod) per time, whichever container a dump came from:
    // two containers' dumps at one time would be spliced as a restart and one of them dropped.
    let mut taken: BTreeMap<(&str, &str, u64), &Dump> = BTreeMap::new();
    for (dump, r) in dumps.iter().zip(&reading_of) {
        let node = &dump.counts.node;
        let (Some(pod), Some(namespace)) = (&node.pod, &node.namespace) else {
            return Err(Error::data(
                "names no proxy (an istioctl proxy-config cluster array carries no node): take the whole /config_dump instead (kubectl exec POD -c istio-proxy -- pilot-agent request GET config_dump)",
                &dump.path,
            ));
        };
        // `+ 0.0` makes -0 and 0 one time.
        if let Some(first) = taken.insert((namespace, pod, (r.time + 0.0).to_bits()), dump) {
            return Err(Error::parse(
                format!(
                    "{} and {} are dumps of proxy {namespace}/{pod} at the same time {}{}: one reading per proxy per time",
                    first.path.display(),
                    dump.path.display(),
                    crate::series::write::format_time(r.time),
                    match (&first.counts.node.started, &node.started) {
                        (Some(a), Some(b)) if a != b => format!(" from two containers (started {a} and {b})"),
                        _ => String::new(),
                    }
                ),
                Location::new(readings_path, r.line).with_column("time"),
            ));
        }
        let mut labels: BTreeMap<String, String> =
            [("namespace".to_string(), namespace.clone()), ("pod".to_string(), pod.clone())].into();
        if let Some(started) = &node.started {
            labels.insert("id".into(), started.clone());
        }
        // The node id's kind (`router~` is a gateway) becomes the long form's `kind`.
        if crate::model::covariates::KINDS.contains(&dump.counts.proxy_kind.as_str()) {
            labels.insert("kind".into(), dump.counts.proxy_kind.clone());
        }
        let ports = dump.counts.service_clusters as f64;
        let workers = node.concurrency.map(f64::from);
        groups.entry(labels).or_default().push((r.time, &dump.path, r.memory_bytes, ports, r.limit_bytes, workers));
    }
    let with_limit = readings.iter().any(|r| r.limit_bytes.is_some());
    // Workers only when every dump says them (an older bootstrap may not).
    let with_workers = groups.values().flatten().all(|s| s.5.is_some());
    let mut columns: BTreeMap<&'static str, Vec<TimeSeries>> = BTreeMap::new();
    for (labels, mut samples) in groups {
        samples.sort_by(|a, b| a.0.total_cmp(&b.0));
        let series = |value: &dyn Fn(&Sample) -> f64| TimeSeries {
            labels: labels.clone(),
            times: samples.iter().map(|s| s.0).collect(),
            values: samples.iter().map(value).collect(),
        };
        columns.entry(MEMORY).or_default().push(series(&|s| s.2));
        columns.entry("ports").or_default().push(series(&|s| s.3));
        if with_limit {
            columns.entry("limit").or_default().push(series(&|s| s.4.unwrap_or(f64::NAN)));
        }
        if with_workers {
            columns.entry(CONCURRENCY).or_default().push(series(&|s| s.5.unwrap_or(f64::NAN)));
        }
    }
    let mut report = Report::default();
    let mut comments = vec![provenance.to_string()];
    let mut keyed = BTreeMap::new();
    // In the order Prometheus' comments have them: memory, the predictor, the limit.
    for column in [MEMORY, "ports", "limit", CONCURRENCY] {
        let Some(series) = columns.remove(column) else { continue };
        let (origin, what) = match column {
            "ports" => (
                format!("{} dumps", dumps.len()),
                format!("ports: outbound + SNI-DNAT clusters of {} dumps", dumps.len()),
            ),
            CONCURRENCY => (
                format!("{} dumps", dumps.len()),
                format!("concurrency: PROXY_CONFIG.concurrency of {} dumps", dumps.len()),
            ),
            _ => (shown.clone(), format!("{column}: {shown}")),
        };
        let k = key_column(column, &origin, &what, series, &by, &mut report, &mut comments)?;
        keyed.insert(column, (origin, k));
    }
    assemble(keyed, &by, settings, report, comments)
}

/// Each dump's reading: every dump needs exactly one, and every reading must name a dump given
/// (by its file name, or its path as given). Dumps' file names are unique (checked), so a
/// reading names at most one dump, found by its file name: O(dumps + readings).
fn pair<'a>(dumps: &[Dump], path: &Path, readings: &'a [Reading]) -> Result<Vec<&'a Reading>> {
    let name = |p: &Path| p.file_name().map_or_else(String::new, |f| f.to_string_lossy().into_owned());
    // The first dump of each file name.
    let mut by_name: HashMap<String, usize> = HashMap::with_capacity(dumps.len());
    for (k, d) in dumps.iter().enumerate() {
        by_name.entry(name(&d.path)).or_insert(k);
    }
    let names_dump =
        |r: &Reading, d: &Dump| r.dump == d.path.display().to_string() || name(Path::new(&r.dump)) == name(&d.path);
    let dump_of = |r: &Reading| by_name.get(&name(Path::new(&r.dump))).copied().filter(|&k| names_dump(r, &dumps[k]));
    let mut mine: Vec<Vec<&Reading>> = vec![Vec::new(); dumps.len()];
    for r in readings {
        match dump_of(r) {
            Some(k) => mine[k].push(r),
            None => {
                return Err(Error::parse(
                    format!("dump {:?} is not among the dumps given", r.dump),
                    Location::new(path, r.line).with_column("dump"),
                ))
            }
        }
    }
    if readings.iter().any(|r| r.limit_bytes.is_none()) && readings.iter().any(|r| r.limit_bytes.is_some()) {
        let r = readings.iter().find(|r| r.limit_bytes.is_none()).expect("one");
        return Err(Error::parse("limit is empty while other rows have one", Location::new(path, r.line)));
    }
    let mut out = Vec::with_capacity(dumps.len());
    for (k, d) in dumps.iter().enumerate() {
        let first = by_name[&name(&d.path)];
        if first != k {
            return Err(Error::invalid(format!(
                "{} and {} share a file name, which the readings name dumps by: rename one",
                dumps[first].path.display(),
                d.path.display()
            )));
        }
        match mine[k].as_slice() {
            [r] => out.push(*r),
            [] => {
                return Err(Error::invalid(format!(
                    "{}: no row of {} names this dump: add its time and memory",
                    d.path.display(),
                    path.display()
                )))
            }
            [a, b, ..] => {
                return Err(Error::parse(
                    format!("dump {:?} has a reading on line {} already", b.dump, a.line),
                    Location::new(path, b.line).with_column("dump"),
                ))
            }
        }
    }
    Ok(out)
}
