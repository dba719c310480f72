//! Row output of a sweep: CSV or JSON Lines, one line per scenario, byte-stable.
//!
//! Numbers are printed with fixed rules (bytes and counts as whole numbers, days with one
//! decimal, `inf` for never), so the same grid gives the same bytes at any thread count and
//! sharded runs concatenate to exactly the unsharded output.

use std::io::Write;

use super::grid::{Evaluation, Grid, N_AXES};
use super::spec::AXES;

/// Row format.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RowFormat {
    /// CSV with one header line.
    Csv,
    /// JSON Lines: one object per line, no header.
    Jsonl,
}

/// Result columns after the id and the axes.
pub const RESULT_COLUMNS: [&str; 12] = [
    "retained_per_service",
    "sidecar_revisions",
    "sidecar_ports",
    "sidecar_predicted_bytes",
    "sidecar_upper_bytes",
    "sidecar_margin_bytes",
    "gateway_revisions",
    "gateway_upper_bytes",
    "gateway_margin_bytes",
    "safe",
    "days_to_limit",
    "required_limit_bytes",
];

/// Pre-rendered axis labels so a row copies bytes instead of formatting values.
#[derive(Debug, Clone)]
pub struct Labels {
    csv: Vec<Vec<String>>,
    json: Vec<Vec<String>>,
}

impl Labels {
    /// Render every axis value once.
    pub fn new(grid: &Grid) -> Labels {
        let mut csv = Vec::new();
        let mut json = Vec::new();
        for (a, &len) in grid.lengths.iter().enumerate() {
            let values: Vec<String> = (0..len).map(|i| grid.spec.axes.label(a, i)).collect();
            json.push(values.iter().map(|v| serde_json::to_string(v).expect("string")).collect());
            csv.push(values.iter().map(|v| if v.contains(',') { format!("\"{v}\"") } else { v.clone() }).collect());
        }
        Labels { csv, json }
    }
}

/// The header line (CSV only).
pub fn header() -> String {
    let mut cols = vec!["id"];
    cols.extend(AXES);
    cols.extend(RESULT_COLUMNS);
    cols.join(",") + "\n"
}

fn num(out: &mut Vec<u8>, v: f64, decimals: usize) {
    if v.is_nan() {
        // Empty in CSV; null in JSON is handled by the caller.
    } else if v.is_infinite() {
        out.extend_from_slice(if v > 0.0 { b"inf" } else { b"-inf" });
    } else {
        let _ = write!(out, "{v:.decimals$}");
    }
}

/// Append one row.
pub fn write_row(out: &mut Vec<u8>, format: RowFormat, labels: &Labels, d: &[usize; N_AXES], e: &Evaluation) {
    let values: [(f64, usize); 12] = [
        (e.retained, 0),
        (e.sidecar_revisions, 0),
        (e.sidecar_ports, 0),
        (e.sidecar_mean, 0),
        (e.sidecar_upper, 0),
        (e.sidecar_margin, 0),
        (e.gateway_revisions, 0),
        (e.gateway_upper, 0),
        (e.gateway_margin, 0),
        (f64::NAN, 0),
        (e.days_to_limit, 1),
        (e.required_limit, 0),
    ];
    match format {
        RowFormat::Csv => {
            let _ = write!(out, "{}", e.id);
            for (a, &i) in d.iter().enumerate() {
                out.push(b',');
                out.extend_from_slice(labels.csv[a][i].as_bytes());
            }
            for (k, &(v, dec)) in values.iter().enumerate() {
                out.push(b',');
                if k == 9 {
                    out.extend_from_slice(if e.safe { b"true" } else { b"false" });
                } else {
                    num(out, v, dec);
                }
            }
            out.push(b'\n');
        }
        RowFormat::Jsonl => {
            let _ = write!(out, "{{\"id\":{}", e.id);
            for (a, &i) in d.iter().enumerate() {
                let _ = write!(out, ",\"{}\":", AXES[a]);
                out.extend_from_slice(labels.json[a][i].as_bytes());
            }
            for (k, &(v, dec)) in values.iter().enumerate() {
                let _ = write!(out, ",\"{}\":", RESULT_COLUMNS[k]);
                if k == 9 {
                    out.extend_from_slice(if e.safe { b"true" } else { b"false" });
                } else if v.is_nan() {
                    out.extend_from_slice(b"null");
                } else if v.is_infinite() {
                    out.extend_from_slice(b"\"inf\"");
                } else {
                    num(out, v, dec);
                }
            }
            out.extend_from_slice(b"}\n");
        }
    }
}
