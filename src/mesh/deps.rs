//! Observed dependencies: which workload called which host, as Istio's telemetry saw it.
//!
//! `meshcap import traffic` writes this table from `istio_requests_total` and
//! `istio_tcp_connections_opened_total`; `meshcap plan` reads it to build Sidecar egress that
//! never leaves out an observed destination. One row per (source namespace, source workload,
//! destination host); `requests` is what the window counted (HTTP requests plus TCP
//! connections), but a dependency seen once is as real as one seen a million times: the plan
//! keeps every row. The window the rows cover travels in a `# window-seconds: N` header line,
//! because a dependency not seen in a 3-day window may still be a weekly job.
//!
//! CSV columns, in this order: `source_namespace,source_workload,destination_host,requests,
//! first_seen,last_seen` (`destination_host` a fully qualified name such as
//! `checkout.shop.svc.cluster.local`; times RFC 3339 UTC or unix seconds, empty when the
//! source answer did not carry them). Reading is linear in rows; a repeated key is an error.

use std::collections::HashSet;
use std::path::Path;

use crate::error::{Error, Location, Result};

/// The header line of the table.
pub const HEADER: &str = "source_namespace,source_workload,destination_host,requests,first_seen,last_seen";

/// One observed dependency.
#[derive(Debug, Clone, PartialEq)]
pub struct Dependency {
    /// The calling workload's namespace (`source_workload_namespace`).
    pub source_namespace: String,
    /// The calling workload (`source_workload`, a Deployment's name).
    pub source_workload: String,
    /// The destination as a fully qualified host; a Knative revision's Services are written
    /// as their Knative service's host.
    pub destination_host: String,
    /// Requests plus TCP connections counted in the window; 0 when the call was seen (its
    /// counter series exists in the window) but no increase was counted: a first call whose
    /// counter never moved again.
    pub requests: f64,
    /// First time seen, unix seconds, when known.
    pub first_seen: Option<i64>,
    /// Last time seen, unix seconds, when known.
    pub last_seen: Option<i64>,
}

/// A dependency table and the window it covers.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Dependencies {
    /// Rows, sorted by source namespace, workload and host.
    pub rows: Vec<Dependency>,
    /// Seconds the observation window covered, when known.
    pub window_seconds: Option<i64>,
}

impl Dependencies {
    /// The rows whose source is namespace `ns`.
    pub fn of_namespace<'a>(&'a self, ns: &'a str) -> impl Iterator<Item = &'a Dependency> + 'a {
        self.rows.iter().filter(move |d| d.source_namespace == ns)
    }

    /// The row with the fewest requests (the rarest dependency kept), if any.
    pub fn rarest(&self) -> Option<&Dependency> {
        self.rows.iter().min_by(|a, b| a.requests.total_cmp(&b.requests))
    }

    /// Sort rows by key; merge rows of one key (sum requests, widen first/last seen).
    pub fn normalize(&mut self) {
        self.rows.sort_by(|a, b| key(a).cmp(&key(b)));
        let mut out: Vec<Dependency> = Vec::with_capacity(self.rows.len());
        for d in self.rows.drain(..) {
            match out.last_mut() {
                Some(last) if key(last) == key(&d) => {
                    last.requests += d.requests;
                    last.first_seen = min_opt(last.first_seen, d.first_seen);
                    last.last_seen = last.last_seen.max(d.last_seen);
                }
                _ => out.push(d),
            }
        }
        self.rows = out;
    }

    /// The table as CSV, header comment lines first.
    pub fn to_csv(&self, comments: &[String]) -> String {
        let mut out = String::new();
        for c in comments {
            out.push_str(&format!("# {c}\n"));
        }
        if let Some(w) = self.window_seconds {
            out.push_str(&format!("# window-seconds: {w}\n"));
        }
        out.push_str(HEADER);
        out.push('\n');
        for d in &self.rows {
            let requests = if d.requests == d.requests.trunc() && d.requests < 1e15 {
                format!("{}", d.requests as i64)
            } else {
                format!("{}", d.requests)
            };
            out.push_str(&format!(
                "{},{},{},{},{},{}\n",
                d.source_namespace,
                d.source_workload,
                d.destination_host,
                requests,
                d.first_seen.map(format_time).unwrap_or_default(),
                d.last_seen.map(format_time).unwrap_or_default()
            ));
        }
        out
    }
}

fn key(d: &Dependency) -> (&str, &str, &str) {
    (&d.source_namespace, &d.source_workload, &d.destination_host)
}

fn min_opt(a: Option<i64>, b: Option<i64>) -> Option<i64> {
    match (a, b) {
        (Some(a), Some(b)) => Some(a.min(b)),
        (a, None) => a,
        (None, b) => b,
    }
}

/// Unix seconds as RFC 3339 UTC (seconds precision).
pub fn format_time(t: i64) -> String {
    time::OffsetDateTime::from_unix_timestamp(t)
        .ok()
        .and_then(|d| d.format(&time::format_description::well_known::Rfc3339).ok())
        .unwrap_or_else(|| t.to_string())
}

/// Read a dependency table (see the module header for the format).
pub fn read_dependencies(path: &Path) -> Result<Dependencies> {
    let text = crate::output::read_input_text(path)?;
    parse_dependencies(path, &text)
}

/// Parse a dependency table's text; `path` names it in errors.
pub fn parse_dependencies(path: &Path, text: &str) -> Result<Dependencies> {
    let mut deps = Dependencies::default();
    let mut header_seen = false;
    let mut seen = HashSet::new();
    for (i, line) in text.lines().enumerate() {
        let at = || Location::new(path, i + 1);
        let line = line.trim_end_matches('\r');
        if line.trim().is_empty() {
            continue;
        }
        if let Some(comment) = line.strip_prefix('#') {
            if let Some(w) = comment.trim().strip_prefix("window-seconds:") {
                let w = w.trim();
                match w.parse::<i64>() {
                    Ok(v) if v > 0 && v <= 10 * 366 * 86_400 => deps.window_seconds = Some(v),
                    _ => {
                        return Err(Error::parse(
                            format!(
                                "window-seconds must be a whole number of seconds up to 10 years, but \"{w}\" is not"
                            ),
                            at(),
                        ))
                    }
                }
            }
            continue;
        }
        if !header_seen {
            if line.trim() != HEADER {
                return Err(Error::parse(
                    format!("the header must be \"{HEADER}\", but it is \"{}\"", line.trim()),
                    at(),
                ));
            }
            header_seen = true;
            continue;
        }
        let cells: Vec<&str> = line.split(',').collect();
        if cells.len() != 6 {
            return Err(Error::parse(format!("a row has 6 cells, but this one has {}", cells.len()), at()));
        }
        let names = ["source_namespace", "source_workload", "destination_host"];
        for (k, name) in names.iter().enumerate() {
            check_name(cells[k], || at().with_column(name))?;
        }
        let requests: f64 =
            cells[3].trim().parse().ok().filter(|v: &f64| v.is_finite() && *v >= 0.0 && *v < 1e15).ok_or_else(
                || {
                    Error::parse(
                        format!("requests must be a count, 0 or more, but \"{}\" is not", cells[3]),
                        at().with_column("requests"),
                    )
                },
            )?;
        let first_seen = parse_seen(cells[4], || at().with_column("first_seen"))?;
        let last_seen = parse_seen(cells[5], || at().with_column("last_seen"))?;
        if let (Some(f), Some(l)) = (first_seen, last_seen) {
            if l < f {
                return Err(Error::parse(
                    format!("last_seen ({}) is before first_seen ({})", cells[5].trim(), cells[4].trim()),
                    at().with_column("last_seen"),
                ));
            }
        }
        let d = Dependency {
            source_namespace: cells[0].trim().to_string(),
            source_workload: cells[1].trim().to_string(),
            destination_host: cells[2].trim().to_string(),
            requests,
            first_seen,
            last_seen,
        };
        if !seen.insert((d.source_namespace.clone(), d.source_workload.clone(), d.destination_host.clone())) {
            return Err(Error::parse(
                format!(
                    "{} {} -> {} is listed twice (one row per dependency)",
                    d.source_namespace, d.source_workload, d.destination_host
                ),
                at(),
            ));
        }
        deps.rows.push(d);
    }
    if !header_seen {
        return Err(Error::data(format!("no header line \"{HEADER}\": not a dependency table"), path));
    }
    deps.normalize();
    Ok(deps)
}

/// A namespace, workload or host: printable, no spaces, no quotes, at most 253 bytes.
fn check_name(cell: &str, loc: impl Fn() -> Location) -> Result<()> {
    let v = cell.trim();
    let ok = !v.is_empty()
        && v.len() <= 253
        && v.chars().all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '.' | '_' | '*' | ':'));
    if ok {
        Ok(())
    } else {
        Err(Error::parse(
            format!(
                "must be a Kubernetes name or host (letters, digits, '-', '.', '_'), but \"{}\" is not",
                v.escape_default()
            ),
            loc(),
        ))
    }
}

fn parse_seen(cell: &str, loc: impl Fn() -> Location) -> Result<Option<i64>> {
    let raw = cell.trim();
    if raw.is_empty() {
        return Ok(None);
    }
    let t = if let Ok(v) = raw.parse::<i64>() {
        v
    } else {
        time::OffsetDateTime::parse(raw, &time::format_description::well_known::Rfc3339)
            .map(|t| t.unix_timestamp())
            .map_err(|_| {
                Error::parse(format!("time must be RFC 3339 or unix seconds, but \"{raw}\" is neither"), loc())
            })?
    };
    // Seconds between 2000 and 2100: milliseconds or a year-3000 date are not readings.
    if !(946_684_800..4_102_444_800).contains(&t) {
        return Err(Error::parse(
            format!("time {raw} is not unix seconds between 2000 and 2100 (milliseconds? divide by 1000)"),
            loc(),
        ));
    }
    Ok(Some(t))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(text: &str) -> Result<Dependencies> {
        parse_dependencies(Path::new("deps.csv"), text)
    }

    #[test]
    fn round_trip_keeps_every_row_and_the_window() {
        let text = format!(
            "# window-seconds: 1209600\n{HEADER}\nshop,cart,checkout.pay.svc.cluster.local,1,2026-01-01T00:00:00Z,2026-01-01T00:00:00Z\nshop,cart,redis.shop.svc.cluster.local,1e6,,\n"
        );
        let d = parse(&text).unwrap();
        assert_eq!(d.window_seconds, Some(14 * 86_400));
        assert_eq!(d.rows.len(), 2);
        assert_eq!(d.rows[0].first_seen, Some(1_767_225_600));
        assert_eq!(d.rarest().unwrap().destination_host, "checkout.pay.svc.cluster.local");
        let again = parse(&d.to_csv(&[])).unwrap();
        assert_eq!(again, d);
    }

    #[test]
    fn bad_rows_name_line_and_value() {
        let cases = [
            (format!("{HEADER}\nshop,cart,a.b,-1,,\n"), "deps.csv:2:requests"),
            (format!("{HEADER}\nshop,cart,a.b,NaN,,\n"), "\"NaN\""),
            (format!("{HEADER}\nshop,cart,a b,1,,\n"), "deps.csv:2:destination_host"),
            (format!("{HEADER}\nshop,cart,a.b,1,1767225600000,\n"), "milliseconds"),
            (format!("{HEADER}\nshop,cart,a.b,1,,\nshop,cart,a.b,2,,\n"), "deps.csv:3"),
            (format!("{HEADER}\nshop,cart,a.b,1,2026-01-02T00:00:00Z,2026-01-01T00:00:00Z\n"), "before first_seen"),
            ("a,b,c\n".to_string(), "the header must be"),
            (String::new(), "no header line"),
            (format!("# window-seconds: -5\n{HEADER}\n"), "window-seconds"),
        ];
        for (text, want) in cases {
            let e = parse(&text).unwrap_err().to_string();
            assert!(e.contains(want), "{text:?}: {e}");
            assert!(!e.contains('\n'), "{e}");
        }
    }

    #[test]
    fn normalize_merges_one_key() {
        let row = |r: f64, f: i64, l: i64| Dependency {
            source_namespace: "a".into(),
            source_workload: "w".into(),
            destination_host: "h.b.svc.cluster.local".into(),
            requests: r,
            first_seen: Some(f),
            last_seen: Some(l),
        };
        let mut d = Dependencies { rows: vec![row(2.0, 50, 60), row(3.0, 10, 20)], window_seconds: None };
        d.normalize();
        assert_eq!(d.rows, vec![row(5.0, 10, 60)]);
    }
}
