//! CSV downloaded from a Grafana panel (Inspect > Data > Download CSV).
//!
//! Two layouts: **series joined by time** (`"Time","<series A>","<series B>"`, one row per
//! timestamp) and **one series per block** (what the default per-series view downloads: a
//! `"Time","<series>"` header and rows, one block per series, blocks separated by blank lines
//! or a repeated header, or in separate files). Grafana 6's "series as rows"
//! (`Series,Time,Value`) is read too. With "Formatted data" on, times are the browser's local
//! `2024-01-01 10:00:00` (meshcap assumes UTC unless `--utc-offset` says otherwise) and values
//! carry units: `1.2 GiB`, `800 MiB`, `52.4 MB`, `1.20 K`. A "Download for Excel" file starts
//! with `sep=,`; a UTF-8 byte-order mark is skipped. The JSON a panel's Inspect > JSON shows
//! (data frames, with each series' labels) is read by `frames`; a header that is a label set
//! (`{namespace="shop", pod="cart-0"}`) gives its series those labels, which `--by` keys the
//! proxies of a fleet by (`fleet`).

use std::path::Path;

mod cells;
mod fleet;
mod frames;

use cells::{is_formatted, is_local};
pub use cells::{parse_time, parse_utc_offset, parse_value};

use super::TimeSeries;
use crate::error::{Error, Location, Result};

/// One column of a Grafana export: its header and samples.
#[derive(Debug, Clone, PartialEq)]
pub struct GrafanaSeries {
    /// Header (the series' display name, often its label set).
    pub name: String,
    /// Where it came from, for messages.
    pub origin: String,
    /// The file's name (for `FILE:COLUMN` patterns).
    pub file: String,
    /// The file's path as given.
    pub path: String,
    /// Its times were formatted local times (`2024-01-01 10:00:00`), not epoch or RFC 3339.
    pub local_times: bool,
    /// Its values were formatted with units (`1.2 GiB`): about 3 significant digits.
    pub formatted: bool,
    /// Cells that held no value (`NaN`, `null`, `undefined`, `-`, `No data`), dropped.
    pub missing: usize,
    /// Samples; labels from the JSON's `fields[].labels` or a header that is a label set.
    pub series: TimeSeries,
}

/// Parse one exported file (CSV, or the data frame JSON of `frames`); `utc_offset_s` is
/// added back to local times (`+02:00` = 7200).
pub fn parse(path: &Path, text: &str, utc_offset_s: f64) -> Result<Vec<GrafanaSeries>> {
    let text = text.strip_prefix('\u{feff}').unwrap_or(text);
    if frames::is_json(text) {
        let mut out = frames::parse(path, text)?;
        check_times(path, &mut out)?;
        return Ok(out);
    }
    let mut lines: Vec<(usize, &str)> = text.lines().enumerate().map(|(i, l)| (i + 1, l)).collect();
    let mut delimiter = b',';
    if let Some((_, first)) = lines.first() {
        if let Some(sep) = first.trim_end_matches('\r').strip_prefix("sep=") {
            delimiter = *sep.as_bytes().first().unwrap_or(&b',');
            lines.remove(0);
        }
    }
    if lines.iter().all(|(_, l)| l.trim().is_empty()) {
        return Err(Error::data("file is empty: expected a Grafana CSV with a Time column", path));
    }
    if lines
        .iter()
        .find(|(_, l)| !l.trim().is_empty())
        .is_some_and(|(_, l)| !l.contains(delimiter as char) && l.contains(';'))
    {
        delimiter = b';';
    }
    // Split into blocks at blank lines and at repeated headers.
    let mut blocks: Vec<Vec<(usize, Vec<String>)>> = Vec::new();
    let mut current: Vec<(usize, Vec<String>)> = Vec::new();
    for (line, raw) in lines {
        if raw.trim().is_empty() {
            if !current.is_empty() {
                blocks.push(std::mem::take(&mut current));
            }
            continue;
        }
        let cells = split(path, line, raw, delimiter)?;
        let is_header = cells.first().is_some_and(|c| is_time_header(c) || c.eq_ignore_ascii_case("series"));
        if is_header && !current.is_empty() {
            blocks.push(std::mem::take(&mut current));
        }
        current.push((line, cells));
    }
    if !current.is_empty() {
        blocks.push(current);
    }
    let mut out = Vec::new();
    for block in blocks {
        let (header_line, header) = &block[0];
        let origin = |name: &str| format!("{}:{header_line} column \"{name}\"", path.display());
        let file = path.file_name().map_or_else(String::new, |f| f.to_string_lossy().into_owned());
        let new = |name: String| GrafanaSeries {
            origin: origin(&name),
            file: file.clone(),
            path: path.display().to_string(),
            series: TimeSeries { labels: frames::header_labels(&name).unwrap_or_default(), ..TimeSeries::default() },
            name,
            local_times: false,
            formatted: false,
            missing: 0,
        };
        if header.len() == 3 && header[0].eq_ignore_ascii_case("series") && is_time_header(&header[1]) {
            // Series as rows.
            for (line, cells) in &block[1..] {
                check_width(path, *line, cells, 3)?;
                let t =
                    parse_time(&cells[1], utc_offset_s).ok_or_else(|| bad_time(path, *line, &header[1], &cells[1]))?;
                let v = parse_value(&cells[2])
                    .map_err(|m| Error::parse(m, Location::new(path, *line).with_column(&header[2])))?;
                let name = cells[0].clone();
                let k = match out.iter().position(|s: &GrafanaSeries| s.name == name) {
                    Some(k) => k,
                    None => {
                        out.push(new(name));
                        out.len() - 1
                    }
                };
                out[k].local_times |= is_local(&cells[1]);
                out[k].formatted |= is_formatted(&cells[2]);
                out[k].missing += usize::from(v.is_none() && !cells[2].trim().is_empty());
                if let Some(v) = v {
                    out[k].series.times.push(t);
                    out[k].series.values.push(v);
                }
            }
            continue;
        }
        if header.is_empty() || !is_time_header(&header[0]) {
            return Err(Error::parse(
                format!(
                    "expected a header starting with \"Time\", but it starts with \"{}\"",
                    header.first().map_or("", String::as_str)
                ),
                Location::new(path, *header_line),
            ));
        }
        if header.len() < 2 {
            return Err(Error::parse(
                "header has a Time column but no series column",
                Location::new(path, *header_line),
            ));
        }
        let first = out.len();
        for name in &header[1..] {
            out.push(new(name.clone()));
        }
        for (line, cells) in &block[1..] {
            check_width(path, *line, cells, header.len())?;
            let t = parse_time(&cells[0], utc_offset_s).ok_or_else(|| bad_time(path, *line, &header[0], &cells[0]))?;
            for (k, cell) in cells[1..].iter().enumerate() {
                let v = parse_value(cell)
                    .map_err(|m| Error::parse(m, Location::new(path, *line).with_column(&header[k + 1])))?;
                let dst = &mut out[first + k];
                dst.local_times |= is_local(&cells[0]);
                dst.formatted |= is_formatted(cell);
                dst.missing += usize::from(v.is_none() && !cell.trim().is_empty());
                if let Some(v) = v {
                    dst.series.times.push(t);
                    dst.series.values.push(v);
                }
            }
        }
    }
    check_times(path, &mut out)?;
    Ok(out)
}

/// Refuse times beyond any date and two values at one time; sort each series by time.
fn check_times(path: &Path, out: &mut [GrafanaSeries]) -> Result<()> {
    for s in out.iter_mut() {
        // 0000 to 9999: a time beyond is a unit mistake, not a date.
        if let Some(t) = s.series.times.iter().find(|t| !(-62_167_219_200.0..253_402_300_800.0).contains(*t)) {
            return Err(Error::data(
                format!("{} has a time {t} beyond the year 9999 (in seconds): not a date", s.origin),
                path,
            ));
        }
        sort_by_time(&mut s.series);
        if let Some(w) = s.series.times.windows(2).find(|w| w[0] == w[1]) {
            return Err(Error::data(
                format!(
                    "{} has two values at {}: one series has one value per time",
                    s.origin,
                    crate::series::write::format_time(w[0])
                ),
                path,
            ));
        }
    }
    Ok(())
}

fn is_time_header(c: &str) -> bool {
    matches!(c.trim().to_ascii_lowercase().as_str(), "time" | "timestamp" | "date")
}

fn split(path: &Path, line: usize, raw: &str, delimiter: u8) -> Result<Vec<String>> {
    // Most rows hold no quotes: split them directly. Building a CSV reader per row cost 90% of
    // a million-row import (a fresh buffer and automaton each time).
    if !raw.bytes().any(|b| b == b'"' || b == b'\r') {
        if raw.is_empty() {
            return Ok(Vec::new());
        }
        return Ok(raw.split(delimiter as char).map(|c| c.trim().to_string()).collect());
    }
    let mut r =
        csv::ReaderBuilder::new().has_headers(false).delimiter(delimiter).flexible(true).from_reader(raw.as_bytes());
    match r.records().next() {
        Some(Ok(rec)) => Ok(rec.iter().map(|c| c.trim().to_string()).collect()),
        Some(Err(e)) => Err(Error::parse(format!("malformed CSV: {e}"), Location::new(path, line))),
        None => Ok(Vec::new()),
    }
}

fn check_width(path: &Path, line: usize, cells: &[String], want: usize) -> Result<()> {
    if cells.len() == want {
        Ok(())
    } else {
        Err(Error::parse(format!("row has {} cells but the header has {want}", cells.len()), Location::new(path, line)))
    }
}

fn bad_time(path: &Path, line: usize, column: &str, cell: &str) -> Error {
    Error::parse(
        format!("time \"{cell}\" is not epoch milliseconds, epoch seconds, RFC 3339 or YYYY-MM-DD HH:MM:SS"),
        Location::new(path, line).with_column(column),
    )
}

fn sort_by_time(s: &mut TimeSeries) {
    if s.times.windows(2).all(|w| w[0] <= w[1]) {
        return;
    }
    let mut idx: Vec<usize> = (0..s.times.len()).collect();
    idx.sort_by(|&a, &b| s.times[a].total_cmp(&s.times[b]));
    s.times = idx.iter().map(|&i| s.times[i]).collect();
    s.values = idx.iter().map(|&i| s.values[i]).collect();
}

/// The series whose name is `pattern` exactly, or else the only one containing it.
/// `FILE:COLUMN` picks among the columns of one file (per-series downloads all call their
/// column `Value`).
pub fn find<'a>(series: &'a [GrafanaSeries], pattern: &str, flag: &str) -> Result<&'a GrafanaSeries> {
    let (pool, pattern) = scope(series, pattern);
    let list = |hits: &[&GrafanaSeries]| hits.iter().map(|s| s.origin.clone()).collect::<Vec<_>>().join(", ");
    let exact: Vec<&GrafanaSeries> = pool.iter().copied().filter(|s| s.name == pattern).collect();
    let hits: Vec<&GrafanaSeries> =
        if exact.is_empty() { pool.iter().copied().filter(|s| s.name.contains(pattern)).collect() } else { exact };
    match hits.len() {
        1 => Ok(hits[0]),
        0 => Err(no_column(flag, pattern, &pool)),
        n => Err(Error::invalid(format!(
            "{flag} \"{pattern}\" matches {n} columns: {}; give more of the name, or FILE:COLUMN",
            list(&hits)
        ))),
    }
}

/// The series a pattern may pick from: one file's for `FILE:COLUMN` (the file part is the
/// file's name or the path as given; column names may hold ':' too), else all of them.
fn scope<'a, 'p>(series: &'a [GrafanaSeries], pattern: &'p str) -> (Vec<&'a GrafanaSeries>, &'p str) {
    let split = pattern
        .match_indices(':')
        .map(|(i, _)| (&pattern[..i], &pattern[i + 1..]))
        .find(|(f, _)| series.iter().any(|s| s.in_file(f)));
    match split {
        Some((file, col)) => (series.iter().filter(|s| s.in_file(file)).collect(), col),
        None => (series.iter().collect(), pattern),
    }
}

fn no_column(flag: &str, pattern: &str, pool: &[&GrafanaSeries]) -> Error {
    Error::invalid(format!(
        "{flag} \"{pattern}\" matches no column; the columns are {}",
        pool.iter().map(|s| format!("\"{}\"", s.name)).collect::<Vec<_>>().join(", ")
    ))
}

impl GrafanaSeries {
    /// Whether it came from the file `f` (its name, or its path as given).
    fn in_file(&self, f: &str) -> bool {
        self.file == f || self.path == f
    }
}

/// Build the canonical series from the exported columns: `mapping` pairs a canonical column
/// (`memory`, `revisions`, `ports`, `restarts`, `limit`) with the pattern naming its export
/// column.
pub fn to_series(
    all: &[GrafanaSeries],
    mapping: &[(&'static str, String)],
    settings: &super::prometheus::Settings,
    utc_offset_s: f64,
    provenance: &str,
) -> Result<(crate::series::Series, Vec<String>, super::prometheus::Report)> {
    if !mapping.iter().any(|m| m.0 == crate::series::MEMORY) {
        return Err(Error::invalid("--memory COLUMN is required"));
    }
    if !mapping.iter().any(|m| m.0 == "revisions" || m.0 == "ports") {
        return Err(Error::invalid("--revisions COLUMN or --ports COLUMN is required: memory alone cannot be fitted"));
    }
    if let Some(by) = &settings.by {
        return fleet::to_fleet(all, mapping, by, settings, utc_offset_s, provenance);
    }
    let mut picked = std::collections::BTreeMap::new();
    let mut comments = vec![provenance.to_string()];
    let mut report = super::prometheus::Report::default();
    for (column, pattern) in mapping {
        let flag = format!("--{column}");
        let s = find(all, pattern, &flag)?;
        if let Some((other, _)) =
            mapping.iter().find(|(c, p)| c != column && find(all, p, "").is_ok_and(|o| o.origin == s.origin))
        {
            return Err(Error::invalid(format!(
                "--{column} and --{other} both name {}: each column needs its own series",
                s.origin
            )));
        }
        if s.series.is_empty() {
            return Err(Error::invalid(format!("{} has no values", s.origin)));
        }
        if let Some(w) = super::prom_parts::check_values(column, &s.origin, &s.series)? {
            report.warnings.push(w);
        }
        comments.push(format!("{column}: {} ({} samples)", s.origin, s.series.len()));
        report.series.insert(column.to_string(), s.name.clone());
        if s.missing > 0 {
            report.non_finite.insert(column.to_string(), s.missing);
        }
        picked.insert(*column, s.series.clone());
    }
    let used: Vec<&GrafanaSeries> = mapping.iter().filter_map(|(_, p)| find(all, p, "").ok()).collect();
    format_warnings(&used, utc_offset_s, &mut report);
    super::prometheus::assemble(picked, settings, report, comments)
}

/// Say when the used series' times were local or their values rounded by formatting.
fn format_warnings(used: &[&GrafanaSeries], utc_offset_s: f64, report: &mut super::prometheus::Report) {
    if used.iter().any(|s| s.local_times) {
        let (sign, m) = if utc_offset_s < 0.0 { ('-', -utc_offset_s / 60.0) } else { ('+', utc_offset_s / 60.0) };
        report.warnings.push(format!(
            "times were formatted in the browser's local time, read as UTC{sign}{:02}:{:02}: pass --utc-offset if that is wrong, or export with Formatted data off",
            (m / 60.0).floor(),
            m % 60.0
        ));
    }
    if used.iter().any(|s| s.formatted) {
        report.warnings.push(
            "values were formatted with units (about 3 significant digits): export with Formatted data off for exact values".to_string(),
        );
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn layouts() {
        let joined =
            "\"Time\",\"{pod=\"\"a\"\"}\",\"clusters\"\n2024-01-01 00:00:00,52 MiB,0\n2024-01-01 00:00:30,60 MiB,80\n";
        let s = parse(Path::new("j.csv"), joined, 0.0).unwrap();
        assert_eq!(s.len(), 2);
        assert_eq!(s[0].name, "{pod=\"a\"}");
        assert_eq!(s[1].series.values, vec![0.0, 80.0]);
        let blocks = "sep=,\n\"Time\",\"memory\"\n1704067200000,52 MiB\n\n\"Time\",\"clusters\"\n1704067200000,0\n";
        let s = parse(Path::new("b.csv"), blocks, 0.0).unwrap();
        assert_eq!((s[0].name.as_str(), s[1].name.as_str()), ("memory", "clusters"));
        let rows = "Series;Time;Value\nmem;2024-01-01 00:00:00;1 GiB\nmem;2024-01-01 00:00:30;2 GiB\n";
        let s = parse(Path::new("r.csv"), rows, 0.0).unwrap();
        assert_eq!(s[0].series.values.len(), 2);
        let s = parse(Path::new("n.csv"), "Time,mem\n0,NaN\n30,\n60,5 MiB\n90,null\n", 0.0).unwrap();
        assert_eq!((s[0].series.values.len(), s[0].missing), (1, 2));
        let e = parse(Path::new("x.csv"), "Time,mem\n2024-01-01 00:00:00,12 furlongs\n", 0.0).unwrap_err();
        assert!(e.to_string().contains("x.csv:2:mem"), "{e}");
    }
}
