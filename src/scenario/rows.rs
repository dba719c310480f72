//! Row output of a sweep: CSV or JSON Lines, one line per scenario, byte-stable.
//!
//! Numbers are printed with fixed rules (bytes and counts as whole numbers, days with three
//! decimals, `inf` for never), so the same grid gives the same bytes at any thread count and
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
    /// `,"name":` for every axis, then every result column.
    json_keys: Vec<String>,
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
        let json_keys = AXES.iter().chain(&RESULT_COLUMNS).map(|name| format!(",\"{name}\":")).collect();
        Labels { csv, json, json_keys }
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
    } else if !(decimals == 0 && whole(out, v) || decimals == 1 && tenths(out, v)) {
        let _ = write!(out, "{v:.decimals$}");
    }
}

/// Append `v` as `{v:.0}` would, when that is easy: `{:.0}` rounds the exact binary value,
/// half to even, and `round` rounds half away from zero, so they agree unless `v` is exactly
/// halfway (then `false`: the caller formats). Zero is left to the caller too (`-0`).
/// `r - v` is exact here (Sterbenz: they are within a factor of 2).
#[inline]
fn whole(out: &mut Vec<u8>, v: f64) -> bool {
    let r = v.round();
    if !(v.abs() < 4.5e15 && r != 0.0 && (r - v).abs() != 0.5) {
        return false;
    }
    if r < 0.0 {
        out.push(b'-');
    }
    digits(out, r.abs() as u64);
    true
}

/// Append `v` as `{v:.1}` would, for `+0 <= v < 10^8` not within 10^-6 of a rounding tie in
/// tenths: the computed `10 v` is then within 2^-23 of the exact product, so both round to
/// the same whole number of tenths.
#[inline]
fn tenths(out: &mut Vec<u8>, v: f64) -> bool {
    let s = v * 10.0;
    let n = s.round();
    if !((0.0..1e9).contains(&s) && s.is_sign_positive() && (s - n).abs() < 0.5 - 1e-6) {
        return false;
    }
    let n = n as u64;
    digits(out, n / 10);
    out.push(b'.');
    out.push(b'0' + (n % 10) as u8);
    true
}

/// Append the decimal digits of `n`.
#[inline]
fn digits(out: &mut Vec<u8>, mut n: u64) {
    let mut buf = [0u8; 20];
    let mut i = buf.len();
    loop {
        i -= 1;
        buf[i] = b'0' + (n % 10) as u8;
        n /= 10;
        if n == 0 {
            break;
        }
    }
    out.extend_from_slice(&buf[i..]);
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
        (e.days_to_limit, 3),
        (e.required_limit, 0),
    ];
    match format {
        RowFormat::Csv => {
            digits(out, e.id);
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
            out.extend_from_slice(b"{\"id\":");
            digits(out, e.id);
            for (a, &i) in d.iter().enumerate() {
                out.extend_from_slice(labels.json_keys[a].as_bytes());
                out.extend_from_slice(labels.json[a][i].as_bytes());
            }
            for (k, &(v, dec)) in values.iter().enumerate() {
                out.extend_from_slice(labels.json_keys[N_AXES + k].as_bytes());
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

#[cfg(test)]
mod tests {
    use super::*;

    fn fast(v: f64, decimals: usize) -> String {
        let mut out = Vec::new();
        num(&mut out, v, decimals);
        String::from_utf8(out).unwrap()
    }

    #[test]
    fn fast_number_formatting_matches_std() {
        let mut values =
            vec![0.0, -0.0, 0.5, -0.5, 1.5, 2.5, -2.5, 0.05, 0.15, 0.25, 0.45, 15.85, 1e-300, 4.5e15, 1e20];
        for k in [0.0, 1.0, 7.0, 120.0, 8.5e6, 3.3e9, 7.2e14] {
            for off in [0.5, 0.05, 0.15, 0.95, 0.25, 0.35] {
                let x: f64 = k + off;
                values.extend([x, -x, x.next_up(), x.next_down(), (x * 10.0).round() / 10.0 + 0.05]);
            }
        }
        // Deterministic pseudo-random values over many magnitudes (xorshift).
        let mut state = 0x2545_F491_4F6C_DD1Du64;
        for _ in 0..200_000 {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            let unit = (state >> 11) as f64 / (1u64 << 53) as f64;
            let scale = 10f64.powi((state % 19) as i32 - 3);
            values.push((unit - 0.2) * scale);
        }
        for v in values {
            assert_eq!(fast(v, 0), format!("{v:.0}"), "{v:e} with 0 decimals");
            assert_eq!(fast(v, 1), format!("{v:.1}"), "{v:e} with 1 decimal");
        }
    }
}
