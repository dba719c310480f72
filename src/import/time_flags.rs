//! The time flags of a live import: `--start`/`--end` (RFC 3339, unix seconds, `now`,
//! `now-6h`) and durations (`--step`, `--timeout`) in Prometheus' own syntax. Its own module so
//! the importer stays about its columns.

use crate::error::{Error, Result};

/// Parse a time flag: RFC 3339, unix seconds, `now` or `now-6h`.
pub fn parse_time_flag(text: &str, now: f64) -> Result<f64> {
    let t = text.trim();
    if t == "now" {
        return Ok(now);
    }
    if let Some(rest) = t.strip_prefix("now-") {
        return Ok(now - parse_duration(rest)?);
    }
    if let Ok(v) = t.parse::<f64>() {
        if v.is_finite() {
            return Ok(v);
        }
    }
    time::OffsetDateTime::parse(t, &time::format_description::well_known::Rfc3339)
        .map(|d| d.unix_timestamp_nanos() as f64 / 1e9)
        .map_err(|_| {
            Error::invalid(format!(
                "time must be RFC 3339, unix seconds, now or now-DURATION, but \"{t}\" is none of them"
            ))
        })
}

/// Parse a Prometheus duration (`30s`, `5m`, `1h30m`, `2d`) or plain seconds.
pub fn parse_duration(text: &str) -> Result<f64> {
    let t = text.trim();
    if let Ok(v) = t.parse::<f64>() {
        if v.is_finite() && v > 0.0 {
            return Ok(v);
        }
    }
    let bad = || Error::invalid(format!("duration must look like 30s, 5m, 1h30m or 2d, but \"{t}\" does not"));
    let mut total = 0.0;
    let mut num = String::new();
    let mut chars = t.chars().peekable();
    let mut any = false;
    while let Some(c) = chars.next() {
        if c.is_ascii_digit() || c == '.' {
            num.push(c);
            continue;
        }
        let unit = if c == 'm' && chars.peek() == Some(&'s') {
            chars.next();
            0.001
        } else {
            match c {
                's' => 1.0,
                'm' => 60.0,
                'h' => 3600.0,
                'd' => 86400.0,
                'w' => 604800.0,
                'y' => 31536000.0,
                _ => return Err(bad()),
            }
        };
        let n: f64 = num.parse().map_err(|_| bad())?;
        total += n * unit;
        num.clear();
        any = true;
    }
    if !(num.is_empty() && any && total > 0.0 && total.is_finite()) {
        return Err(bad());
    }
    Ok(total)
}
