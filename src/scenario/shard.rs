//! Shards of a grid and the stamp each sharded output carries, so that `merge` can refuse a
//! missing, repeated, out-of-order, truncated or foreign shard instead of joining it silently.
//!
//! A row shard (CSV or JSON Lines) starts with one stamp line naming its `K/N`, the scenario
//! ids it covers and the grid's fingerprint: a SHA-256 of everything its numbers depend on
//! (the spec's mesh, axes and simulation settings, the model, and what was run). Unsharded
//! outputs carry no stamp, so the merged bytes equal the unsharded run's.

use std::ops::Range;

use serde::{Deserialize, Serialize};

use super::grid::Grid;
use super::rows::RowFormat;
use crate::error::{Error, Result};

/// A deterministic slice of the grid: shard `index` of `count` (0-based index).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Shard {
    /// Which shard, 0-based.
    pub index: u64,
    /// How many shards.
    pub count: u64,
}

impl Shard {
    /// Parse `K/N` (K from 0 to N-1).
    pub fn parse(text: &str) -> Result<Shard> {
        let bad = || Error::invalid(format!("shard must be K/N with 0 <= K < N (e.g. 0/4), but \"{text}\" is not"));
        let (k, n) = text.split_once('/').ok_or_else(bad)?;
        let index: u64 = k.trim().parse().map_err(|_| bad())?;
        let count: u64 = n.trim().parse().map_err(|_| bad())?;
        if count == 0 || index >= count {
            return Err(bad());
        }
        Ok(Shard { index, count })
    }

    /// The ids of this shard in a grid of `size`.
    pub fn range(&self, size: u64) -> Range<u64> {
        let at = |k: u64| ((size as u128 * k as u128) / self.count as u128) as u64;
        at(self.index)..at(self.index + 1)
    }
}

/// What a sharded row output says about itself, on its first line.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Stamp {
    /// `K/N`.
    pub meshcap_shard: String,
    /// Scenario ids covered, `[first, end)`.
    pub ids: [u64; 2],
    /// Scenarios in the whole grid.
    pub grid_size: u64,
    /// The grid's fingerprint ([`fingerprint`]).
    pub grid_sha256: String,
}

/// The prefix of a CSV stamp line (a comment, then the stamp as JSON).
const CSV_PREFIX: &str = "# meshcap shard ";

impl Stamp {
    /// The stamp of `shard` of `grid`, for outputs of the run named by `run`.
    pub fn new(shard: Shard, grid: &Grid, run: &str) -> Stamp {
        let ids = shard.range(grid.size);
        Stamp {
            meshcap_shard: format!("{}/{}", shard.index, shard.count),
            ids: [ids.start, ids.end],
            grid_size: grid.size,
            grid_sha256: fingerprint(grid, run),
        }
    }

    /// The stamp line, newline included.
    pub fn line(&self, format: RowFormat) -> String {
        let json = serde_json::to_string(self).expect("stamps serialize");
        match format {
            RowFormat::Csv => format!("{CSV_PREFIX}{json}\n"),
            RowFormat::Jsonl => format!("{json}\n"),
        }
    }

    /// Read a stamp line; `None` when `line` is not one (and which format it is in).
    pub fn read(line: &str) -> Option<std::result::Result<(Stamp, RowFormat), String>> {
        let (json, format) = match line.strip_prefix(CSV_PREFIX) {
            Some(j) => (j, RowFormat::Csv),
            None if line.starts_with("{\"meshcap_shard\"") => (line, RowFormat::Jsonl),
            None => return None,
        };
        Some(serde_json::from_str::<Stamp>(json).map(|s| (s, format)).map_err(|e| format!("bad shard stamp: {e}")))
    }

    /// `(K, N)`.
    pub fn shard(&self) -> Option<Shard> {
        Shard::parse(&self.meshcap_shard).ok()
    }
}

/// A SHA-256 (hex) of everything a grid's outputs depend on: the spec's mesh, start, axes and
/// simulation settings (not its path), the model, and `run` (what was run with which options,
/// e.g. `sweep` or the simulation's seed and paths).
pub fn fingerprint(grid: &Grid, run: &str) -> String {
    let s = &grid.spec;
    let model = serde_json::to_string(&grid.model).expect("models serialize");
    let mut text = format!("{run}\n{:?}\n{:?}\n{:?}\n{:?}\n{model}", s.mesh, s.start_revisions, s.axes, s.simulate);
    // Only when set, so that earlier grids keep their fingerprints.
    if s.unrouted_share > 0.0 {
        text.push_str(&format!("\nunrouted_share {:?}", s.unrouted_share));
    }
    crate::model::sha256_hex(text.as_bytes())
}
