//! Cells the fast CSV reader reads without the general parsers: plain integer byte counts and
//! the canonical timestamp meshcap writes. A fleet's long form has 2 x 10^7 rows of them; each
//! function gives exactly what the general reader ([`super::parse_cell`], [`super::parse_time`])
//! gives for the cells it takes, and `None` for any other, which then goes the general way.

/// A cell of 1 to 15 ASCII digits (exact in f64), as every byte count meshcap writes, at the
/// start of `b` and ended by a comma or the end of `b`: its value and length.
pub(super) fn leading_integer(b: &[u8]) -> Option<(f64, usize)> {
    let mut acc = 0u64;
    let mut len = 0;
    while len < b.len() {
        let d = b[len].wrapping_sub(b'0');
        if d > 9 {
            break;
        }
        if len < 15 {
            acc = acc * 10 + u64::from(d);
        }
        len += 1;
    }
    let ended = len == b.len() || b[len] == b',';
    (ended && (1..=15).contains(&len)).then_some((acc as f64, len))
}

/// `YYYY-MM-DDTHH:MM:SS[.f{1,9}]Z`, the form meshcap writes, to unix seconds exactly as the
/// general reader computes them (nanoseconds as f64 / 1e9); `None` for anything else.
pub(super) fn fast_time(raw: &str) -> Option<f64> {
    let b = raw.as_bytes();
    if b.len() < 20
        || b[b.len() - 1] != b'Z'
        || b[4] != b'-'
        || b[7] != b'-'
        || b[10] != b'T'
        || b[13] != b':'
        || b[16] != b':'
    {
        return None;
    }
    let num = |r: std::ops::Range<usize>| -> Option<i64> {
        let s = &b[r];
        s.iter().all(u8::is_ascii_digit).then(|| s.iter().fold(0i64, |a, d| a * 10 + i64::from(d - b'0')))
    };
    let (y, mo, d, h, mi, s) = (num(0..4)?, num(5..7)?, num(8..10)?, num(11..13)?, num(14..16)?, num(17..19)?);
    let mut nanos: i64 = 0;
    match b.len() - 20 {
        0 => {}
        n if b[19] == b'.' && (2..=10).contains(&n) => {
            let digits = n - 1;
            nanos = num(20..20 + digits)? * 10i64.pow(9 - digits as u32);
        }
        _ => return None,
    }
    let leap = y % 4 == 0 && (y % 100 != 0 || y % 400 == 0);
    let month_days = [31, if leap { 29 } else { 28 }, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31];
    if !(1..=12).contains(&mo) || d < 1 || d > month_days[(mo - 1) as usize] || h > 23 || mi > 59 || s > 59 {
        return None;
    }
    let secs = days_from_civil(y, mo, d) * 86_400 + h * 3600 + mi * 60 + s;
    // Nanoseconds fit an i64 until 2262; converting the same integer from i64 or i128 gives
    // the same f64, and the hardware does the i64 one.
    let total = match secs.checked_mul(1_000_000_000).and_then(|t| t.checked_add(nanos)) {
        Some(t) => t as f64,
        None => (i128::from(secs) * 1_000_000_000 + i128::from(nanos)) as f64,
    };
    Some(total / 1e9)
}

/// Days since 1970-01-01 of a proleptic Gregorian date (H. Hinnant's algorithm).
fn days_from_civil(y: i64, m: i64, d: i64) -> i64 {
    let y = if m <= 2 { y - 1 } else { y };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let mp = (m + 9) % 12;
    let doy = (153 * mp + 2) / 5 + d - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

#[cfg(test)]
mod tests {
    use std::path::Path;

    use super::*;
    use crate::error::Location;
    use crate::series::parse_time;

    #[test]
    fn times_match_the_time_crate() {
        let loc = || Location::new(Path::new("t"), 1);
        for t in [
            "1970-01-01T00:00:00Z",
            "2026-01-01T00:05:00Z",
            "2000-02-29T12:34:56.789Z",
            "2262-04-11T23:47:16.854775807Z",
            "2262-04-11T23:47:16.854775808Z",
            "9999-12-31T23:59:59.999999999Z",
            "1900-03-01T00:00:00.5Z",
        ] {
            assert_eq!(fast_time(t), parse_time(t, loc).unwrap(), "{t}");
        }
        assert_eq!(fast_time("2026-13-01T00:00:00Z"), None);
        assert_eq!(leading_integer(b"0012"), Some((12.0, 4)));
        assert_eq!(leading_integer(b"0012,7"), Some((12.0, 4)));
        assert_eq!(leading_integer(b"12 ,7"), None);
        assert_eq!(leading_integer(b",7"), None);
        assert_eq!(leading_integer(b"123456789012345"), Some((123456789012345.0, 15)));
        assert_eq!(leading_integer(b"1234567890123456"), None);
        assert_eq!(leading_integer("9".repeat(40).as_bytes()), None);
    }
}
