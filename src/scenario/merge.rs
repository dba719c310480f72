//! `meshcap merge`: join shard outputs into exactly the bytes of the unsharded run.
//!
//! CSV shards each carry the header: it is written once. JSON Lines shards are concatenated.
//! Summary shards (JSON) are merged field by field. Row shards must continue each other's ids
//! (shard 0, 1, ... in order), so a missing or repeated shard is an error, not a silent gap.

use std::path::PathBuf;

use super::summary::Summary;
use crate::error::{Error, Location, Result};

/// Merge shard files; returns the merged bytes.
pub fn merge(paths: &[PathBuf]) -> Result<Vec<u8>> {
    let mut texts = Vec::new();
    for p in paths {
        let t = crate::output::read_input_text(p)?;
        texts.push((p, t));
    }
    let Some((_, first)) = texts.first() else {
        return Err(Error::invalid("merge needs at least one shard file"));
    };
    if first.trim_start().starts_with("{\"id\"") || first.is_empty() {
        merge_rows(&texts, false)
    } else if first.trim_start().starts_with('{') {
        if let Some((p, _)) = texts.iter().find(|(_, t)| t.contains("\"paths\":")) {
            return Err(Error::data(
                "a simulate summary cannot be merged (its percentiles need every path): shard `meshcap simulate` as rows (CSV or JSON Lines) and merge those",
                p,
            ));
        }
        let parts = texts
            .iter()
            .map(|(p, t)| {
                serde_json::from_str::<Summary>(t)
                    .map_err(|e| Error::parse(format!("not a sweep summary: {e}"), Location::new(p, e.line())))
            })
            .collect::<Result<Vec<_>>>()?;
        let grid = parts[0].grid_size;
        if let Some((p, s)) = texts.iter().zip(&parts).find(|(_, s)| s.grid_size != grid).map(|(pt, s)| (pt.0, s)) {
            return Err(Error::data(format!("summary of a grid of {} scenarios, not {grid}", s.grid_size), p));
        }
        let merged = Summary::merge(parts).map_err(|k| {
            Error::data(
                "shard does not continue the previous one's scenario ids: give the shards in order, none missing or repeated",
                texts[k].0,
            )
        })?;
        if merged.ids != [0, grid] {
            return Err(Error::data(
                format!(
                    "the shards cover scenario ids {}..{} of 0..{grid}: some shards are missing",
                    merged.ids[0], merged.ids[1]
                ),
                texts[0].0,
            ));
        }
        let mut bytes = serde_json::to_vec_pretty(&merged).expect("serializes");
        bytes.push(b'\n');
        Ok(bytes)
    } else {
        merge_rows(&texts, true)
    }
}

fn merge_rows(texts: &[(&PathBuf, String)], csv: bool) -> Result<Vec<u8>> {
    let mut out = Vec::new();
    let mut header: Option<&str> = None;
    let mut next_id: Option<u64> = None;
    for (path, text) in texts {
        let mut body = text.as_str();
        if csv {
            let (h, rest) = text.split_once('\n').unwrap_or((text, ""));
            match header {
                None => {
                    header = Some(h);
                    out.extend_from_slice(h.as_bytes());
                    out.push(b'\n');
                }
                Some(prev) if prev != h => {
                    return Err(Error::parse("CSV header differs from the first shard's", Location::new(path, 1)))
                }
                Some(_) => {}
            }
            body = rest;
        }
        let id_of = |line: &str| -> Option<u64> {
            let s = if csv { line.split(',').next()? } else { line.strip_prefix("{\"id\":")?.split(',').next()? };
            s.parse().ok()
        };
        let (first, last) = (body.lines().next(), body.lines().next_back());
        if let (Some(f), Some(l)) = (first, last) {
            let (f, l) = (id_of(f), id_of(l));
            let line = if csv { 2 } else { 1 };
            let f = f.ok_or_else(|| Error::parse("first row has no scenario id", Location::new(path, line)))?;
            if let Some(want) = next_id {
                if f != want {
                    return Err(Error::parse(
                        format!("shard starts at scenario {f}, but the previous shard ended before {want}: give the shards in order, none missing"),
                        Location::new(path, line),
                    ));
                }
            }
            next_id = l.map(|l| l + 1);
        }
        out.extend_from_slice(body.as_bytes());
    }
    Ok(out)
}
