//! `meshcap merge`: join shard outputs into exactly the bytes of the unsharded run.
//!
//! Row shards (CSV or JSON Lines) each start with their [`Stamp`]: `K/N`, the ids covered and
//! the grid's fingerprint. Merge takes every shard of one grid, once, in order, each whole (as
//! many rows as its ids), and drops the stamps and the repeated CSV headers. Summary shards
//! (JSON) are merged field by field and must cover the grid's ids exactly, from one grid.
//!
//! Nothing a shard says is taken on trust: each row must be the id its stamp names next, once,
//! in order (a repeated row beside a missing one keeps the count right), and each summary's
//! counts are recomputed or cross-checked ([`super::summary::check`]) before they are added.

use std::path::{Path, PathBuf};

use super::rows::RowFormat;
use super::shard::Stamp;
use super::summary::Summary;
use crate::error::{Error, Location, Result};

/// Merge shard files; returns the merged bytes.
pub fn merge(paths: &[PathBuf]) -> Result<Vec<u8>> {
    let mut texts = Vec::new();
    for p in paths {
        texts.push((p, crate::output::read_input_text(p)?));
    }
    let Some((_, first)) = texts.first() else {
        return Err(Error::invalid("merge needs at least one shard file"));
    };
    if first.trim_start().starts_with('{') && !first.starts_with("{\"meshcap_shard\"") {
        merge_summaries(&texts)
    } else {
        merge_rows(&texts)
    }
}

fn merge_summaries(texts: &[(&PathBuf, String)]) -> Result<Vec<u8>> {
    if let Some((p, _)) = texts.iter().find(|(_, t)| t.contains("\"paths\":")) {
        return Err(Error::data(
            "a simulate summary cannot be merged (its percentiles need every path): shard `meshcap simulate` as rows (CSV or JSON Lines) and merge those",
            p,
        ));
    }
    let parts = texts
        .iter()
        .map(|(p, t)| {
            crate::output::check_unique_keys(p, t)?;
            let s = serde_json::from_str::<Summary>(t)
                .map_err(|e| Error::parse(format!("not a sweep summary: {e}"), Location::new(p, e.line())))?;
            super::summary::check(p, t, &s)?;
            Ok(s)
        })
        .collect::<Result<Vec<_>>>()?;
    let (grid, sha) = (parts[0].grid_size, parts[0].grid_sha256.clone());
    for ((p, _), s) in texts.iter().zip(&parts) {
        if s.grid_size != grid || s.grid_sha256 != sha {
            return Err(Error::data(
                format!(
                    "summary of another grid ({} scenarios, sha256 {}…) than the first shard's ({grid}, {}…)",
                    s.grid_size,
                    short(&s.grid_sha256),
                    short(&sha)
                ),
                p,
            ));
        }
    }
    let merged = Summary::merge(parts).map_err(|k| {
        Error::data(
            "shard does not continue the previous one's scenario ids: give the shards in order, none missing or repeated",
            texts[k].0,
        )
    })?;
    if merged.ids[0] != 0 {
        return Err(Error::data(
            format!(
                "scenarios 0..{} of 0..{grid} are missing: the shards before this one are not given",
                merged.ids[0]
            ),
            texts[0].0,
        ));
    }
    if merged.ids[1] != grid {
        return Err(Error::data(
            format!(
                "scenarios {}..{grid} of 0..{grid} are missing: the shards after this one are not given",
                merged.ids[1]
            ),
            texts[texts.len() - 1].0,
        ));
    }
    let mut bytes = serde_json::to_vec_pretty(&merged).expect("serializes");
    bytes.push(b'\n');
    Ok(bytes)
}

fn short(sha: &str) -> &str {
    &sha[..12.min(sha.len())]
}

/// A row shard's stamp, checked against the first shard's and its position.
fn stamp_of(
    path: &Path,
    text: &str,
    position: usize,
    first: Option<&(Stamp, RowFormat)>,
) -> Result<(Stamp, RowFormat)> {
    let line1 = text.split('\n').next().unwrap_or("");
    let at = |m: String| Error::parse(m, Location::new(path, 1));
    let (stamp, format) = Stamp::read(line1)
        .ok_or_else(|| {
            at("no shard stamp on the first line: merge takes the outputs of `sweep` or `simulate` run with --shard K/N".into())
        })?
        .map_err(at)?;
    let shard = stamp.shard().ok_or_else(|| at(format!("bad shard \"{}\" in the stamp", stamp.meshcap_shard)))?;
    if let Some((f, f_format)) = first {
        if *f_format != format {
            return Err(at("a CSV shard and a JSON Lines shard do not merge".into()));
        }
        if stamp.grid_sha256 != f.grid_sha256 || stamp.grid_size != f.grid_size {
            return Err(at(format!(
                "shard of another grid ({} scenarios, sha256 {}…) than the first shard's ({}, {}…): same spec, model and options for every shard",
                stamp.grid_size,
                short(&stamp.grid_sha256),
                f.grid_size,
                short(&f.grid_sha256)
            )));
        }
        if stamp.meshcap_shard.split('/').nth(1) != f.meshcap_shard.split('/').nth(1) {
            return Err(at(format!("shard {} of another split than {}", stamp.meshcap_shard, f.meshcap_shard)));
        }
    }
    if shard.index != position as u64 {
        return Err(at(format!(
            "shard {} given in position {position}: give every shard once, in order (0/{n} to {}/{n})",
            stamp.meshcap_shard,
            shard.count - 1,
            n = shard.count
        )));
    }
    if shard.range(stamp.grid_size) != (stamp.ids[0]..stamp.ids[1]) {
        return Err(at(format!("shard {} does not cover the ids its stamp says", stamp.meshcap_shard)));
    }
    Ok((stamp, format))
}

/// Every row of a shard's `body` must be one of the ids its stamp names, each once, in order:
/// a row count that matches is not enough (a repeated row hides a missing one). `first_line`
/// is the file line of the first row.
fn check_row_ids(path: &Path, body: &str, stamp: &Stamp, first_line: usize, csv: bool) -> Result<()> {
    let [start, end] = stamp.ids;
    let shard = &stamp.meshcap_shard;
    let at = |line: usize, m: String| Err(Error::parse(m, Location::new(path, line)));
    let mut rows = 0u64;
    for (i, line) in body.lines().enumerate() {
        let (expected, line_no) = (start + i as u64, first_line + i);
        let text =
            if csv { line.split(',').next() } else { line.strip_prefix("{\"id\":").and_then(|r| r.split(',').next()) };
        let Some(id) = text.and_then(|t| t.parse::<u64>().ok()) else {
            return at(
                line_no,
                format!("row does not start with a scenario id (shard {shard} names scenarios {start}..{end})"),
            );
        };
        if expected >= end {
            return at(line_no, format!("scenario {id} is beyond the scenarios {start}..{end} shard {shard} names"));
        }
        if id != expected {
            let what = if (start..expected).contains(&id) { "repeated" } else { "not where it belongs" };
            return at(
                line_no,
                format!("scenario {id} {what}: scenario {expected} is missing here (shard {shard} names scenarios {start}..{end}, each once, in order)"),
            );
        }
        rows += 1;
    }
    if rows != end - start || !(body.is_empty() || body.ends_with('\n')) {
        return Err(Error::data(
            format!(
                "shard {shard} holds {rows} rows, but covers {} scenarios ({start}..{end}): the file is cut short or edited",
                end - start
            ),
            path,
        ));
    }
    Ok(())
}

fn merge_rows(texts: &[(&PathBuf, String)]) -> Result<Vec<u8>> {
    let mut out = Vec::new();
    let mut first: Option<(Stamp, RowFormat)> = None;
    let mut header: Option<&str> = None;
    for (position, (path, text)) in texts.iter().enumerate() {
        let stamped = stamp_of(path, text, position, first.as_ref())?;
        let csv = stamped.1 == RowFormat::Csv;
        let (_, mut body) = text.split_once('\n').unwrap_or((text, ""));
        if csv {
            let (h, rest) = body.split_once('\n').unwrap_or((body, ""));
            match header {
                None => {
                    header = Some(h);
                    out.extend_from_slice(h.as_bytes());
                    out.push(b'\n');
                }
                Some(prev) if prev != h => {
                    return Err(Error::parse("CSV header differs from the first shard's", Location::new(path, 2)))
                }
                Some(_) => {}
            }
            body = rest;
        }
        check_row_ids(path, body, &stamped.0, if csv { 3 } else { 2 }, csv)?;
        out.extend_from_slice(body.as_bytes());
        first.get_or_insert(stamped);
    }
    let f = first.expect("at least one shard");
    let count = f.0.shard().map_or(0, |s| s.count);
    let given = texts.len() as u64;
    if given != count {
        let missing = if given + 1 == count {
            format!("shard {given}/{count} is missing")
        } else {
            format!("shards {given}/{count} to {}/{count} are missing", count - 1)
        };
        return Err(Error::data(format!("{given} of {count} shards given: {missing}"), texts[texts.len() - 1].0));
    }
    Ok(out)
}
