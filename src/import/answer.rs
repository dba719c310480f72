//! One column's query_range answer: the response bodies of a query (several windows of a long
//! range) or a saved response file, decoded and joined into one result.
//!
//! A fleet's responses run to gigabytes: a saved file is read only when decoded, and the live
//! import decodes each window as it arrives ([`decode_bodies`]), so memory holds one response's
//! text at a time. Series of the same label set in several windows are joined (windows share
//! their boundary step), then checked: one sample per step, in time order, in seconds.

use std::collections::BTreeMap;

use super::promjson::{self, QueryResult};
use crate::error::{Error, Result};

/// One query's answer: where it came from and the response bodies (several when a long range
/// was split).
#[derive(Debug, Clone)]
pub struct Answer {
    /// The canonical column it fills (`memory`, `revisions`, `ports`, `restarts`, `limit`,
    /// `last_terminated`).
    pub column: &'static str,
    /// What to call it in messages: the file, or `ports query`.
    pub origin: String,
    /// The PromQL, when known (recorded in the output's comments).
    pub query: Option<String>,
    /// Response bodies, in time order.
    pub bodies: Vec<Vec<u8>>,
    /// A saved response, read when it is decoded (after `bodies`): a fleet's responses are
    /// read and freed one column at a time instead of all held at once.
    pub file: Option<std::path::PathBuf>,
    /// The bodies decoded so far ([`decode_bodies`]), their text freed.
    pub decoded: Option<QueryResult>,
}

impl Answer {
    /// A saved response file for `column`, called `origin` in messages; read when decoded, and
    /// remembered now as an input no output may replace.
    pub fn saved(column: &'static str, origin: String, file: &std::path::Path) -> Answer {
        crate::output::note_input(file);
        Answer { column, origin, query: None, bodies: Vec::new(), file: Some(file.to_path_buf()), decoded: None }
    }
}

/// Decode the bodies an answer holds into its series and free their text. The live import
/// calls it after each window it fetches, so memory holds one response's text at a time, not
/// the whole range's.
pub fn decode_bodies(a: &mut Answer) -> Result<()> {
    let mut merged = a.decoded.take().unwrap_or_default();
    for body in std::mem::take(&mut a.bodies) {
        merge_body(a, &mut merged, &body)?;
    }
    a.decoded = Some(merged);
    Ok(())
}

/// Decode one body into `merged`, joining the series of the same label set.
fn merge_body(a: &Answer, merged: &mut QueryResult, body: &[u8]) -> Result<()> {
    let r = promjson::parse(body).map_err(|e| match e {
        promjson::ResponseError::Api { error_type, error } if error_type == "bad_data" => {
            Error::Invalid(format!("{}: Prometheus answered {error_type}: {error}", a.origin))
        }
        promjson::ResponseError::Api { error_type, error } => {
            Error::Remote(format!("{}: Prometheus answered {error_type}: {error}", a.origin))
        }
        // A live server that answers 200 with something else (a login page, a proxy's
        // error) is the environment's fault, not the user's input.
        promjson::ResponseError::Malformed(m) if a.query.is_some() => Error::Remote(format!("{}: {m}", a.origin)),
        promjson::ResponseError::Malformed(m) => Error::invalid(format!("{}: {m}", a.origin)),
    })?;
    merged.non_finite += r.non_finite;
    merged.warnings.extend(r.warnings);
    merged.result_type = r.result_type;
    let mut index: BTreeMap<String, usize> =
        merged.series.iter().enumerate().map(|(k, s)| (s.label_set(), k)).collect();
    for s in r.series {
        let key = s.label_set();
        match index.get(&key) {
            Some(&k) => {
                let dst = &mut merged.series[k];
                for (t, v) in s.times.into_iter().zip(s.values) {
                    // Chunks share their boundary step.
                    if dst.times.last().is_none_or(|&last| t > last) {
                        dst.times.push(t);
                        dst.values.push(v);
                    }
                }
            }
            None => {
                index.insert(key, merged.series.len());
                merged.series.push(s);
            }
        }
    }
    Ok(())
}

/// Every body of an answer (and its saved file, read now) decoded, with the series of the same
/// label set joined and checked.
pub(crate) fn merge_bodies(a: &mut Answer) -> Result<QueryResult> {
    decode_bodies(a)?;
    let mut merged = a.decoded.take().unwrap_or_default();
    if let Some(f) = &a.file {
        let saved = crate::output::read_data(f).map_err(|source| Error::Read { path: f.clone(), source })?;
        merge_body(a, &mut merged, &saved)?;
    }
    for s in &merged.series {
        if let Some(w) = s.times.windows(2).find(|w| w[1] <= w[0]) {
            let what = if w[1] == w[0] { "twice" } else { "out of time order" };
            return Err(Error::invalid(format!(
                "{}: {} has a sample at {} {what}: a query_range series has one sample per step",
                a.origin,
                s.label_set(),
                crate::series::write::format_time(w[1])
            )));
        }
        if let Some((t, why)) = s.times.first().and_then(|&t| Some((t, crate::series::plausible::not_seconds(t)?))) {
            return Err(Error::invalid(format!(
                "{}: sample time {t} {why} (the Prometheus API gives unix seconds)",
                a.origin
            )));
        }
    }
    Ok(merged)
}
