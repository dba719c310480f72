//! Grafana's cells: times (epoch milliseconds or seconds, RFC 3339, the browser's local
//! `2024-01-01 10:00:00`) and values as "Formatted data" prints them (`1.2 GiB`, `3.22 K`).

use crate::error::{Error, Result};

/// A formatted local time, not epoch seconds or milliseconds or RFC 3339 with a zone.
pub(super) fn is_local(cell: &str) -> bool {
    let c = cell.trim();
    c.parse::<f64>().is_err() && time::OffsetDateTime::parse(c, &time::format_description::well_known::Rfc3339).is_err()
}

/// A value with a unit (`1.2 GiB`, `3.22 K`).
pub(super) fn is_formatted(cell: &str) -> bool {
    let c = cell.trim();
    !c.is_empty() && c.parse::<f64>().is_err() && c.bytes().any(|b| b.is_ascii_digit())
}

/// A Grafana time cell as unix seconds.
pub fn parse_time(cell: &str, utc_offset_s: f64) -> Option<f64> {
    let c = cell.trim();
    if let Ok(v) = c.parse::<f64>() {
        // Grafana exports epoch milliseconds; 1e11 ms is 1973, 1e11 s is year 5138.
        return v.is_finite().then(|| if v.abs() >= 1e11 { v / 1000.0 } else { v });
    }
    let rfc = time::format_description::well_known::Rfc3339;
    if let Ok(t) = time::OffsetDateTime::parse(c, &rfc) {
        return Some(t.unix_timestamp_nanos() as f64 / 1e9);
    }
    // `2024-01-01 10:00:00` or `2024-01-01 10:00:00.123`, local time.
    let (date, clock) = c.split_once([' ', 'T'])?;
    let d: Vec<&str> = date.split('-').collect();
    let (hms, frac) = clock.split_once('.').map_or((clock, ""), |(a, b)| (a, b));
    let h: Vec<&str> = hms.split(':').collect();
    if d.len() != 3 || !(2..=3).contains(&h.len()) {
        return None;
    }
    let month = time::Month::try_from(d[1].parse::<u8>().ok()?).ok()?;
    let date = time::Date::from_calendar_date(d[0].parse().ok()?, month, d[2].parse().ok()?).ok()?;
    let sec = if h.len() == 3 { h[2].parse().ok()? } else { 0 };
    let tod = time::Time::from_hms(h[0].parse().ok()?, h[1].parse().ok()?, sec).ok()?;
    let frac: f64 = if frac.is_empty() { 0.0 } else { format!("0.{frac}").parse().ok()? };
    let base = time::PrimitiveDateTime::new(date, tod).assume_utc().unix_timestamp() as f64;
    Some(base + frac - utc_offset_s)
}

/// A Grafana value cell: a number, or a number with a unit (`1.2 GiB`, `800 MiB`, `52.4 MB`,
/// `1.20 K`, `12 Mil`); empty, `null`, `undefined`, `NaN` and `-` are missing (`Ok(None)`).
pub fn parse_value(cell: &str) -> std::result::Result<Option<f64>, String> {
    let c = cell.trim();
    if c.is_empty() || matches!(c, "null" | "undefined" | "NaN" | "-" | "No data") {
        return Ok(None);
    }
    if let Ok(v) = c.parse::<f64>() {
        return if v.is_finite() { Ok(Some(v)) } else { Ok(None) };
    }
    let split = c
        .find(|ch: char| !(ch.is_ascii_digit() || ch == '.' || ch == '-' || ch == '+' || ch == 'e' || ch == 'E'))
        .unwrap_or(c.len());
    let (num, unit) = c.split_at(split);
    let unit = unit.trim();
    let scale = match unit {
        "B" | "b" => 1.0,
        "KiB" => 1024.0,
        "MiB" => 1024.0 * 1024.0,
        "GiB" => 1024.0 * 1024.0 * 1024.0,
        "TiB" => 1024.0f64.powi(4),
        "PiB" => 1024.0f64.powi(5),
        "kB" | "KB" => 1e3,
        "MB" => 1e6,
        "GB" => 1e9,
        "TB" => 1e12,
        "PB" => 1e15,
        "K" | "k" => 1e3,
        "Mil" | "M" => 1e6,
        "Bil" => 1e9,
        "Tri" => 1e12,
        _ => {
            return Err(format!(
                "value \"{c}\" has a unit meshcap does not know (B, KiB..PiB, kB..PB, K, Mil, Bil, Tri)"
            ))
        }
    };
    let v: f64 = num.trim().parse().map_err(|_| format!("value \"{c}\" is not a number with a unit"))?;
    let v = v * scale;
    if !v.is_finite() {
        return Err(format!("value \"{c}\" is beyond any float"));
    }
    Ok(Some(v))
}

/// Parse `+02:00`, `-05:30`, `Z` into seconds east of UTC.
pub fn parse_utc_offset(text: &str) -> Result<f64> {
    let t = text.trim();
    if t == "Z" || t == "UTC" || t == "0" {
        return Ok(0.0);
    }
    let bad = || Error::invalid(format!("--utc-offset must look like +02:00 or -05:30, but \"{t}\" does not"));
    let (sign, rest) = match t.as_bytes().first() {
        Some(b'+') => (1.0, &t[1..]),
        Some(b'-') => (-1.0, &t[1..]),
        _ => return Err(bad()),
    };
    let (h, m) = rest.split_once(':').unwrap_or((rest, "0"));
    let (h, m): (f64, f64) = (h.parse().map_err(|_| bad())?, m.parse().map_err(|_| bad())?);
    if !(0.0..=14.0).contains(&h) || !(0.0..60.0).contains(&m) {
        return Err(bad());
    }
    Ok(sign * (h * 3600.0 + m * 60.0))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn formatted_values() {
        assert_eq!(parse_value("1.2 GiB").unwrap(), Some(1.2 * 1024.0 * 1024.0 * 1024.0));
        assert_eq!(parse_value("800 MiB").unwrap(), Some(800.0 * 1048576.0));
        assert_eq!(parse_value("52.4 MB").unwrap(), Some(52.4e6));
        assert_eq!(parse_value("1.20 K").unwrap(), Some(1200.0));
        assert_eq!(parse_value("").unwrap(), None);
        assert_eq!(parse_value("null").unwrap(), None);
        assert!(parse_value("3 parsecs").unwrap_err().contains("\"3 parsecs\""));
    }

    #[test]
    fn times() {
        assert_eq!(parse_time("1704067200000", 0.0), Some(1704067200.0));
        assert_eq!(parse_time("2024-01-01 00:00:00", 0.0), Some(1704067200.0));
        assert_eq!(parse_time("2024-01-01 02:00:00", 7200.0), Some(1704067200.0));
        assert_eq!(parse_time("2024-01-01T00:00:00Z", 0.0), Some(1704067200.0));
        assert_eq!(parse_time("yesterday", 0.0), None);
        assert_eq!(parse_utc_offset("+05:30").unwrap(), 19800.0);
    }
}
