//! The one guard every reader of measurements applies: the values of a series must be what a
//! sidecar's measurements can be, in the units the format promises.
//!
//! The importers refused unix milliseconds and memory without its unit, but a series written by
//! hand or by another tool reached `fit`, `clean`, `fleet`, `plot` and `report` unchecked: a
//! long form in milliseconds was read as seconds (70,615 days instead of 71), memory in MiB as
//! bare numbers (bytes) made a fleet's dates take forever, memory in KiB made every date 1,024x
//! late, and 1e308 passed `clean` and `fleet`. [`Series::load`](super::Series::load) calls
//! [`check`] on every series it reads, whatever the command, so each rule lives here once:
//!
//! - times are unix seconds: a number of at least [`MAX_UNIX_SECONDS`] is milliseconds,
//!   microseconds or nanoseconds ([`not_seconds`], the importers' rule too), and no reading lies
//!   before 1970 or after the machine's clock (plus [`CLOCK_SKEW_S`]): a measurement has been
//!   taken;
//! - memory and limits are bytes of an Envoy process: from [`MIN_MEMORY_BYTES`] (1 MiB) to
//!   [`MAX_MEMORY_BYTES`] (1 EiB), the range the importers and the limit flags accept. A bare
//!   number below 1 MiB is a quantity that lost its unit, named as the unit it looks like;
//! - counts (revisions, ports, services, endpoints) are at most [`MAX_COUNT`];
//! - labels (`proxy`, `pod`) hold no control, bidirectional or zero-width character (the importers refuse them in label
//!   values; a name is echoed to the terminal by every table).
//!
//! Each check is one pass over a column (labels: over their distinct names), linear in rows.

use super::{first_where, Field, Series, LIMIT, MEMORY};
use crate::error::{Error, Result};

/// Unix times at or above this are not seconds: 1e11 s is the year 5138, while 1e11 ms is 1973
/// (the rule of `import prometheus`, `import grafana` and `import istioctl --readings`).
pub const MAX_UNIX_SECONDS: f64 = 1e11;

/// How far after the machine's clock a reading may lie: clocks of a cluster and of the machine
/// running meshcap differ by seconds, not a day.
pub const CLOCK_SKEW_S: f64 = 86_400.0;

/// The least memory (or limit) a reading can be: 1 MiB. An idle sidecar holds 50-70 MB (its
/// working set includes pilot-agent's ~50 MB, istio/istio#38000; Istio's own default request is
/// 128Mi) and Envoy's allocated heap alone is ~10 MB (envoyproxy/envoy#18515: 11 MB allocated),
/// so a bare number under 1 MiB is not bytes: it is MiB or KiB without the unit. The same bound
/// as `import istioctl --readings` and the `--limit` flags.
pub const MIN_MEMORY_BYTES: f64 = 1_048_576.0;

/// The most memory (or limit) a reading can be: 2^60 bytes (1 EiB). Beyond it no reading is a
/// sidecar's, and squares of such values overflow a fit's sums of squares.
pub const MAX_MEMORY_BYTES: f64 = 1_152_921_504_606_846_976.0;

/// The largest count of revisions, ports, services or endpoints: 10^12.
pub const MAX_COUNT: f64 = 1e12;

/// Why a unix time `t` is not in seconds (`None` when it may be): "in milliseconds (year 57970
/// as seconds): give unix seconds (divide by 1000) or RFC 3339". Callers put the time before it.
pub fn not_seconds(t: f64) -> Option<String> {
    let a = t.abs();
    if a.is_nan() || a < MAX_UNIX_SECONDS {
        return None;
    }
    // 1e14 ms is the year 5138 again, and 1e17 us: each unit starts where the one before ends.
    let (unit, per_second) = match a {
        a if a >= 1e17 => ("nanoseconds", "1000000000"),
        a if a >= 1e14 => ("microseconds", "1000000"),
        _ => ("milliseconds", "1000"),
    };
    Some(format!(
        "is in {unit} (year {:.0} as seconds): give unix seconds (divide by {per_second}) or RFC 3339",
        1970.0 + t / 31_557_600.0
    ))
}

/// Refuse a series holding a value no sidecar measurement can: the rules of the module header.
/// The error names the file, line, column and value of the first bad cell of the first column
/// checked (times, then memory, limit, counts, labels).
pub fn check(series: &Series) -> Result<()> {
    check_times(series)?;
    for name in [MEMORY, LIMIT] {
        if let Some(column) = series.column(name) {
            check_memory(series, name, column.values())?;
        }
    }
    for column in &series.columns {
        match Field::of(&column.name) {
            Field::Count => {
                if let Some(i) = first_where(column.values(), |v| v > MAX_COUNT) {
                    return Err(Error::parse(
                        format!(
                            "{} = {:e} is beyond any count a mesh holds (at most {MAX_COUNT:e})",
                            column.name,
                            column.values()[i]
                        ),
                        series.location(i, &column.name),
                    ));
                }
            }
            Field::Label => check_label(series, column)?,
            _ => {}
        }
    }
    Ok(())
}

fn check_times(series: &Series) -> Result<()> {
    let times = series.rows.times();
    if let Some(i) = first_where(times, |t| t.abs() >= MAX_UNIX_SECONDS) {
        let t = times[i];
        let why = not_seconds(t).expect("at least MAX_UNIX_SECONDS");
        return Err(Error::parse(format!("time {} {why}", super::write::format_number(t)), series.location(i, "time")));
    }
    if let Some(i) = first_where(times, |t| t < 0.0) {
        return Err(Error::parse(
            format!(
                "time {} lies before 1970 (a negative Unix time): no proxy was measured then (a sign or unit lost?)",
                super::write::format_number(times[i])
            ),
            series.location(i, "time"),
        ));
    }
    let now = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map_or(0.0, |d| d.as_secs_f64());
    if let Some(i) = first_where(times, |t| t > now + CLOCK_SKEW_S) {
        return Err(Error::parse(
            format!(
                "time {} lies after this machine's clock ({}): a reading is taken, not foreseen (a wrong unit or clock?)",
                super::write::format_time(times[i]),
                super::write::format_time(now.floor())
            ),
            series.location(i, "time"),
        ));
    }
    Ok(())
}

/// Memory or limit values (NaN: empty or text, named by whoever uses the column).
fn check_memory(series: &Series, name: &str, values: &[f64]) -> Result<()> {
    // Event rows are included: an OOM row's limit and memory are bytes as well.
    let Some(i) = first_where(values, |v| !(v.is_nan() || (MIN_MEMORY_BYTES..=MAX_MEMORY_BYTES).contains(&v))) else {
        return Ok(());
    };
    let v = values[i];
    let message = if v > MAX_MEMORY_BYTES {
        format!("{name} = {v:e} is beyond any sidecar's memory (at most 1Ei, 2^60 bytes)")
    } else {
        format!(
            "{name} = {} bytes is no Envoy process's memory (at least 1Mi; an idle sidecar holds ~50 MB): {}",
            super::write::format_number(v),
            unit_hint(v)
        )
    };
    Err(Error::parse(message, series.location(i, name)))
}

/// What a bare number under 1 MiB most likely meant, as a quantity to write instead.
fn unit_hint(v: f64) -> String {
    let n = super::write::format_number(v);
    // As MiB, 1 to 65535 is 1 MiB to 64 GiB (every sidecar); as KiB, 64Ki to 1Mi is 64 MiB to
    // 1 GiB (a sidecar, where as MiB it would be 64 GiB or more). Under 1: nothing it could be.
    if v >= 65_536.0 {
        format!("it looks like KiB (write {n}Ki)")
    } else if v >= 1.0 {
        format!("it looks like MiB (write {n}Mi)")
    } else {
        "a quantity needs its unit, such as 412Mi".to_string()
    }
}

/// A character that changes how text around it is shown without showing itself: a control
/// character (terminal escapes), a bidirectional override or isolate (U+202A-U+202E,
/// U+2066-U+2069, U+061C, U+200E-U+200F: "Trojan Source", CVE-2021-42574, reorders a table's
/// cells on screen) or a zero-width character. No Kubernetes name holds one.
pub(crate) fn hidden_char(text: &str) -> Option<char> {
    text.chars().find(|&c| {
        c.is_control()
            || matches!(c, '\u{061C}' | '\u{200B}'..='\u{200F}' | '\u{202A}'..='\u{202E}' | '\u{2060}'..='\u{2069}' | '\u{FEFF}')
    })
}

/// A label column's names hold no control, bidirectional or zero-width character.
fn check_label(series: &Series, column: &super::Column) -> Result<()> {
    let Some((ids, names)) = column.label_ids() else { return Ok(()) };
    let Some((bad, c)) = names.iter().enumerate().find_map(|(k, n)| hidden_char(n).map(|c| (k, c))) else {
        return Ok(());
    };
    let row = ids.iter().position(|&id| id as usize == bad).unwrap_or(0);
    let what = if c.is_control() { "a control character" } else { "an invisible formatting character" };
    Err(Error::parse(
        format!("{} {:?} holds {what}, U+{:04X} (no Kubernetes name does)", column.name, names[bad], c as u32),
        series.location(row, &column.name),
    ))
}
