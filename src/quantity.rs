//! Kubernetes memory quantities (`128Mi`, `1Gi`, `1.5G`, `2e9`) to bytes and back.
//!
//! Users think in the units their pod specs use, so every memory value meshcap reads or prints
//! goes through here. Parsing follows the Kubernetes `resource.Quantity` grammar for memory
//! (binary suffixes `Ki`..`Ei`, decimal `k`/`K`..`E`, plain numbers and decimal exponents);
//! printing always uses binary units, which is what `proxyMemoryLimit` annotations use.

use std::fmt;

/// A memory size in bytes that prints as a Kubernetes binary quantity.
#[derive(Debug, Clone, Copy, PartialEq, PartialOrd)]
pub struct Bytes(pub f64);

impl fmt::Display for Bytes {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&format_bytes(self.0))
    }
}

const KI: f64 = 1024.0;
const MI: f64 = KI * 1024.0;
const GI: f64 = MI * 1024.0;

const SUFFIXES: &[(&str, f64)] = &[
    ("Ki", KI),
    ("Mi", MI),
    ("Gi", GI),
    ("Ti", GI * KI),
    ("Pi", GI * MI),
    ("Ei", GI * GI),
    ("k", 1e3),
    ("K", 1e3),
    ("M", 1e6),
    ("G", 1e9),
    ("T", 1e12),
    ("P", 1e15),
    ("E", 1e18),
];

/// Parse a Kubernetes memory quantity into bytes.
///
/// The error message names the value and what is wrong with it; callers add the location.
pub fn parse_quantity(text: &str) -> Result<f64, String> {
    let s = text.trim();
    if s.is_empty() {
        return Err("memory quantity is empty".to_string());
    }
    let split =
        s.char_indices().find(|&(i, c)| c.is_ascii_alphabetic() && !is_exponent(s, i)).map_or(s.len(), |(i, _)| i);
    let (number, suffix) = s.split_at(split);
    let scale = if suffix.is_empty() {
        1.0
    } else {
        SUFFIXES
            .iter()
            .find(|(name, _)| *name == suffix)
            .map(|&(_, f)| f)
            .ok_or_else(|| format!("memory quantity must end in Ki/Mi/Gi/Ti/K/M/G/T, but \"{s}\" does not"))?
    };
    if number.is_empty() {
        return Err(format!("memory quantity \"{s}\" has no number before its unit"));
    }
    // Only plain decimal digits, one point and an exponent: f64::from_str would also take
    // "NaN", "inf" and "+1", which are not quantities.
    let valid = number.chars().all(|c| c.is_ascii_digit() || matches!(c, '.' | 'e' | 'E' | '-' | '+'))
        && number.starts_with(|c: char| c.is_ascii_digit() || c == '.');
    let value: f64 = match number.parse() {
        Ok(v) if valid => v,
        _ if number.starts_with('-') => return Err(format!("memory quantity must not be negative, but \"{s}\" is")),
        _ => return Err(format!("memory quantity \"{s}\" is not a number with an optional unit")),
    };
    let bytes = value * scale;
    if !bytes.is_finite() {
        return Err(format!("memory quantity \"{s}\" is too large"));
    }
    Ok(bytes)
}

/// True when the letter at `i` is a decimal exponent (`2e9`, `1.5E+3`) rather than a unit.
fn is_exponent(s: &str, i: usize) -> bool {
    let b = s.as_bytes();
    if !matches!(b[i], b'e' | b'E') || i == 0 || !b[i - 1].is_ascii_digit() && b[i - 1] != b'.' {
        return false;
    }
    match b.get(i + 1) {
        Some(c) if c.is_ascii_digit() => true,
        Some(b'+' | b'-') => b.get(i + 2).is_some_and(u8::is_ascii_digit),
        _ => false,
    }
}

/// Print bytes in the largest binary unit that keeps the number at least 1, with up to three
/// decimals and no trailing zeros: `1.25Gi`, `768Mi`, `96Ki`, `512`.
pub fn format_bytes(bytes: f64) -> String {
    if !bytes.is_finite() {
        return format!("{bytes}");
    }
    let sign = if bytes < 0.0 { "-" } else { "" };
    let b = bytes.abs();
    let units = [("Ei", GI * GI), ("Pi", GI * MI), ("Ti", GI * KI), ("Gi", GI), ("Mi", MI), ("Ki", KI)];
    for (name, size) in units {
        // Round first so 1023.9999Mi prints as 1Gi, not 1024Mi.
        if round3(b / size) >= 1.0 {
            let v = round3(b / size);
            if v >= 1024.0 && name != "Ei" {
                continue;
            }
            if v >= 1e6 {
                // Readable, not hundreds of digits (a hand-edited or absurd value).
                return format!("{sign}{v:.3e}{name}");
            }
            return format!("{sign}{}{name}", trim(v));
        }
    }
    format!("{sign}{}", trim(round3(b)))
}

fn round3(v: f64) -> f64 {
    (v * 1000.0).round() / 1000.0
}

fn trim(v: f64) -> String {
    let s = format!("{v:.3}");
    s.trim_end_matches('0').trim_end_matches('.').to_string()
}

/// Whole mebibytes, rounded up: the form `proxyMemoryLimit` annotations are written in.
pub fn ceil_mib(bytes: f64) -> u64 {
    (bytes / MI).ceil().max(0.0) as u64
}

/// One mebibyte in bytes.
pub const MIB: f64 = MI;
/// One gibibyte in bytes.
pub const GIB: f64 = GI;

#[cfg(test)]
mod tests {
    #[test]
    fn absurd_sizes_print_readably() {
        // 1e300 bytes: scientific notation in Ei, not 280 digits.
        let s = format_bytes(1e300);
        assert!(s.ends_with("Ei") && s.len() < 16, "{s}");
        assert_eq!(format_bytes(1024.0 * 1024.0 * 1024.0), "1Gi");
    }

    use super::*;

    #[test]
    fn parses_the_documented_forms() {
        assert_eq!(parse_quantity("128Mi"), Ok(128.0 * MI));
        assert_eq!(parse_quantity("1Gi"), Ok(GI));
        assert_eq!(parse_quantity("1.5Gi"), Ok(1.5 * GI));
        assert_eq!(parse_quantity("500M"), Ok(5e8));
        assert_eq!(parse_quantity("1G"), Ok(1e9));
        assert_eq!(parse_quantity("2e9"), Ok(2e9));
        assert_eq!(parse_quantity("1073741824"), Ok(GI));
        assert_eq!(parse_quantity("0.5Ki"), Ok(512.0));
        assert_eq!(parse_quantity("1.5E+3"), Ok(1500.0));
        assert_eq!(parse_quantity("2e3Mi"), Ok(2000.0 * MI));
    }

    #[test]
    fn rejects_bad_forms_naming_the_value() {
        for bad in ["1GB", "-1Mi", "Mi", "1.2.3Gi", "NaN", "inf", "", "1 Gi x", "+1Mi", "1e", "-inf"] {
            let err = parse_quantity(bad).expect_err(bad);
            assert!(err.contains(bad.trim()), "{bad}: {err}");
        }
        assert!(parse_quantity("1GB").unwrap_err().contains("must end in Ki/Mi/Gi"));
        assert!(parse_quantity("-1Mi").unwrap_err().contains("negative"));
    }

    #[test]
    fn prints_binary_units() {
        assert_eq!(format_bytes(1.25 * GI), "1.25Gi");
        assert_eq!(format_bytes(768.0 * MI), "768Mi");
        assert_eq!(format_bytes(96.0 * KI), "96Ki");
        assert_eq!(format_bytes(512.0), "512");
        assert_eq!(format_bytes(1024.0 * MI - 1.0), "1Gi");
        assert_eq!(format_bytes(0.7501 * MI), "768.102Ki");
        assert_eq!(format_bytes(-2.0 * MI), "-2Mi");
    }

    #[test]
    fn round_trips() {
        for s in ["1.25Gi", "768Mi", "96Ki", "3Ti"] {
            assert_eq!(format_bytes(parse_quantity(s).unwrap()), s);
        }
    }
}
