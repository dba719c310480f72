//! Stand-in for `crate::mesh::deps` until it lands on main (deleted at the merge).

use std::path::Path;

use crate::error::{Error, Location, Result};

/// One observed dependency.
#[derive(Debug, Clone, PartialEq)]
pub struct Dependency {
    pub source_namespace: String,
    pub source_workload: String,
    pub destination_host: String,
    pub requests: f64,
    pub first_seen: Option<i64>,
    pub last_seen: Option<i64>,
}

/// The dependency table.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Dependencies {
    pub rows: Vec<Dependency>,
    pub window_seconds: Option<i64>,
}

/// Read the CSV.
pub fn read_dependencies(path: &Path) -> Result<Dependencies> {
    let text = crate::output::read_input_text(path)?;
    let mut out = Dependencies::default();
    let mut header = true;
    for (i, line) in text.lines().enumerate() {
        let l = line.trim();
        if let Some(c) = l.strip_prefix('#') {
            if let Some(w) = c.trim().strip_prefix("window-seconds:") {
                out.window_seconds = w.trim().parse().ok();
            }
            continue;
        }
        if l.is_empty() {
            continue;
        }
        if header {
            header = false;
            continue;
        }
        let f: Vec<&str> = l.split(',').collect();
        if f.len() != 6 {
            return Err(Error::parse(format!("expected 6 fields, got {}", f.len()), Location::new(path, i + 1)));
        }
        let n = |s: &str| s.trim().parse::<i64>().ok();
        out.rows.push(Dependency {
            source_namespace: f[0].into(),
            source_workload: f[1].into(),
            destination_host: f[2].into(),
            requests: f[3]
                .parse()
                .map_err(|_| Error::parse(format!("bad requests \"{}\"", f[3]), Location::new(path, i + 1)))?,
            first_seen: n(f[4]),
            last_seen: n(f[5]),
        });
    }
    Ok(out)
}
