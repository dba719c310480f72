//! The comment lines above a CSV series' header: where a file records what its numbers are
//! (`# memory-metric: ...`, and the measurement's conditions, `# istio-version: 1.18.2`).
//!
//! Read from the first 64 KiB only, so a measurement of gigabytes costs nothing more; a JSON
//! series has no comment lines.

use std::io::Read;
use std::path::Path;

use crate::error::{Error, Result};

/// Bytes read for the header comments.
const PREFIX: u64 = 64 * 1024;

/// The `# key: value` lines before the first line that is neither a comment nor blank, as
/// (line number, key, value), keys lower-cased.
pub fn comment_records(path: &Path) -> Result<Vec<(usize, String, String)>> {
    let mut bytes = Vec::new();
    std::fs::File::open(path)
        .and_then(|f| f.take(PREFIX).read_to_end(&mut bytes))
        .map_err(|source| Error::Read { path: path.to_path_buf(), source })?;
    let text = String::from_utf8_lossy(&bytes);
    let mut out = Vec::new();
    for (k, line) in text.split('\n').enumerate() {
        let t = line.trim();
        if t.is_empty() {
            continue;
        }
        let Some(rest) = t.strip_prefix('#') else { break };
        let Some((key, value)) = rest.split_once(':') else { continue };
        let key = key.trim();
        // A record key is one word (`istio-version`); prose with a colon is not a record.
        if key.is_empty() || !key.chars().all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_') {
            continue;
        }
        out.push((k + 1, key.to_ascii_lowercase(), value.trim().to_string()));
    }
    Ok(out)
}
