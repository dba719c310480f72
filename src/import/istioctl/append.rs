//! One proxy as one row of a canonical series: `import istioctl --memory Q -o series.csv`
//! appends it, so a handful of proxies of different sizes become a series to fit.

use std::path::Path;

use crate::error::{Error, Result};

/// One proxy as a canonical series row.
#[derive(Debug, Clone, PartialEq)]
pub struct Row {
    /// Knative revisions seen.
    pub revisions: usize,
    /// Outbound clusters.
    pub ports: usize,
    /// Distinct Services.
    pub services: usize,
    /// The proxy's working set.
    pub memory_bytes: f64,
    /// The limit in force, if known.
    pub limit_bytes: Option<f64>,
    /// Which proxy.
    pub note: String,
}

/// The series text with `row` appended: a new file gets the header
/// `revisions,ports,services,memory,limit,note`; an existing one keeps its header, comments
/// and rows, and the row fills the columns it has (it must have `memory` and `ports` or
/// `revisions`).
/// Returns the text, the `column=value` cells written, and what the existing header has no
/// column for.
pub fn append_row(path: &Path, existing: Option<&str>, row: &Row) -> Result<(String, Vec<String>, Vec<&'static str>)> {
    let fmt = crate::series::write::format_number;
    let cell = |name: &str| -> String {
        match name {
            "revisions" => row.revisions.to_string(),
            "ports" => row.ports.to_string(),
            "services" => row.services.to_string(),
            "memory" => fmt(row.memory_bytes),
            "limit" => row.limit_bytes.map(fmt).unwrap_or_default(),
            "note" => row.note.clone(),
            _ => String::new(),
        }
    };
    let header_names: Vec<String>;
    let mut text = match existing {
        None | Some("") => {
            header_names = ["revisions", "ports", "services", "memory", "limit", "note"].map(String::from).to_vec();
            format!(
                "# proxies imported by meshcap import istioctl: ports = outbound clusters\n{}\n",
                header_names.join(",")
            )
        }
        Some(t) => {
            let header = t
                .lines()
                .find(|l| !l.trim().is_empty() && !l.trim_start().starts_with('#'))
                .ok_or_else(|| Error::data("the series has no header line to append to", path))?;
            let mut r = csv::ReaderBuilder::new().has_headers(false).from_reader(header.as_bytes());
            header_names = match r.records().next() {
                Some(Ok(rec)) => rec.iter().map(|c| c.trim().to_string()).collect(),
                _ => return Err(Error::data("the series header is not CSV", path)),
            };
            if !header_names.iter().any(|h| h == "memory") || !header_names.iter().any(|h| h == "ports") {
                // A dump counts Envoy clusters: without a ports column the row would record
                // this memory at 0 revisions, a point that never happened.
                return Err(Error::data(
                    format!(
                        "cannot append: the header ({}) lacks memory or ports, and this dump's {} outbound clusters belong in ports; append to a series with a ports column, or write a new one",
                        header_names.join(","),
                        row.ports
                    ),
                    path,
                ));
            }
            let mut t = t.to_string();
            if !t.ends_with('\n') {
                t.push('\n');
            }
            t
        }
    };
    let mut w = csv::WriterBuilder::new().terminator(csv::Terminator::Any(b'\n')).from_writer(Vec::new());
    w.write_record(header_names.iter().map(|h| cell(h))).expect("writing to a Vec");
    let written: Vec<String> = header_names
        .iter()
        .map(|h| (h, cell(h)))
        .filter(|(_, v)| !v.is_empty())
        .map(|(h, v)| format!("{h}={v}"))
        .collect();
    let mut skipped: Vec<&'static str> = ["revisions", "ports", "services", "memory", "limit", "note"]
        .into_iter()
        .filter(|c| !cell(c).is_empty() && !header_names.iter().any(|h| h == c))
        .collect();
    if header_names.iter().any(|h| h == "time") {
        skipped.push("time (left empty)");
    }
    text.push_str(&String::from_utf8(w.into_inner().expect("writing to a Vec")).expect("UTF-8 cells"));
    // What we write must read back as a series; an existing file that does not is left alone.
    crate::series::csv::parse(path, &text)?;
    Ok((text, written, skipped))
}
