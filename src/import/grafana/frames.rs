//! Grafana's JSON: data frames, where every series keeps its labels.
//!
//! A CSV download keeps only each series' display name; the JSON shapes keep
//! `fields[].labels`, so a fleet exported from a panel whose legend hides the labels
//! (`{{pod}}`) can still be told apart by `--by`. Three shapes hold the same frames:
//!
//! - Inspect > JSON > **Panel data**: `{"state": ..., "series": [FRAME, ...]}`, each frame
//!   `{"refId", "fields": [{"name", "type", "labels", "config", "values": [...]}], "length"}`;
//!   **DataFrame structure** is the bare array of such frames.
//! - Inspect > JSON > **DataFrame JSON (from query)**: `[{"schema": {"fields": [...]},
//!   "data": {"values": [[...], ...]}}]`, the wire form, one values array per field.
//! - A saved `/api/ds/query` answer: `{"results": {"A": {"frames": [FRAME, ...]}}}`.
//!
//! Times are epoch milliseconds; `null` values (Grafana writes NaN and Inf as `null` plus an
//! `entities` note) are missing samples, counted like a CSV's empty cells.

use std::collections::BTreeMap;
use std::path::Path;

use serde_json::Value;

use super::{cells, GrafanaSeries};
use crate::error::{Error, Result};
use crate::import::TimeSeries;

/// Whether `text` is one of Grafana's JSON shapes rather than CSV.
pub(super) fn is_json(text: &str) -> bool {
    matches!(text.trim_start().as_bytes().first(), Some(b'{' | b'['))
}

/// The series of every frame in a Grafana JSON export.
pub(super) fn parse(path: &Path, text: &str) -> Result<Vec<GrafanaSeries>> {
    let value: Value = serde_json::from_str(text)
        .map_err(|e| Error::data(crate::import::json_error_message(text.as_bytes(), &e), path))?;
    crate::output::check_consistent_keys(path, text)?;
    let frames = frames_of(&value).ok_or_else(|| {
        Error::data(
            "expected Grafana data frames: Inspect > JSON > Panel data ({\"series\": [...]}), DataFrame JSON ([{\"schema\": ..., \"data\": ...}]) or a /api/ds/query answer ({\"results\": ...})",
            path,
        )
    })?;
    let file = path.file_name().map_or_else(String::new, |f| f.to_string_lossy().into_owned());
    let mut out = Vec::new();
    for (k, frame) in frames.iter().enumerate() {
        let at = |what: String| Error::data(format!("frame {} {what}", k + 1), path);
        let (fields, values) = columns_of(frame).ok_or_else(|| {
            at("has neither \"schema\" with \"data\" nor \"fields\" with \"values\": not a Grafana data frame".into())
        })?;
        if fields.len() != values.len() {
            return Err(at(format!("has {} fields but {} value arrays", fields.len(), values.len())));
        }
        let type_of = |f: &Value| f.get("type").and_then(Value::as_str).unwrap_or("").to_string();
        let Some(t) = fields.iter().position(|f| type_of(f) == "time") else {
            return Err(at("has no field of type \"time\": only time series can be imported".into()));
        };
        let times: Vec<Option<f64>> = values[t]
            .iter()
            .enumerate()
            .map(|(i, v)| match v {
                Value::Number(n) => n.as_f64().map(|ms| Some(ms / 1000.0)).ok_or(i),
                Value::String(s) => cells::parse_time(s, 0.0).map(Some).ok_or(i),
                Value::Null => Ok(None),
                _ => Err(i),
            })
            .collect::<std::result::Result<_, usize>>()
            .map_err(|i| at(format!("time {} is {}: not epoch milliseconds", i + 1, values[t][i])))?;
        for (f, field) in fields.iter().enumerate() {
            if f == t || type_of(field) != "number" {
                continue;
            }
            let name = display_name(field);
            if values[f].len() != times.len() {
                return Err(at(format!("field \"{name}\" has {} values for {} times", values[f].len(), times.len())));
            }
            let mut s = GrafanaSeries {
                origin: format!("{} frame {} field \"{name}\"", path.display(), k + 1),
                file: file.clone(),
                path: path.display().to_string(),
                name,
                local_times: false,
                formatted: false,
                missing: 0,
                series: TimeSeries { labels: labels_of(field), ..TimeSeries::default() },
            };
            for (i, (time, v)) in times.iter().zip(values[f]).enumerate() {
                let v = match v {
                    Value::Null => None,
                    Value::Number(n) => n.as_f64(),
                    Value::String(c) => cells::parse_value(c.as_str())
                        .map_err(|m| at(format!("field \"{}\" value {}: {m}", s.name, i + 1)))?,
                    other => return Err(at(format!("field \"{}\" value {} is {other}: not a number", s.name, i + 1))),
                };
                match (time, v) {
                    (Some(time), Some(v)) => {
                        s.series.times.push(*time);
                        s.series.values.push(v);
                    }
                    _ => s.missing += 1,
                }
            }
            out.push(s);
        }
    }
    Ok(out)
}

/// The frames of any of the three shapes.
fn frames_of(value: &Value) -> Option<Vec<&Value>> {
    match value {
        Value::Array(items) => Some(items.iter().collect()),
        Value::Object(map) => {
            if let Some(Value::Array(series)) = map.get("series") {
                return Some(series.iter().collect());
            }
            if let Some(Value::Object(results)) = map.get("results") {
                let mut frames = Vec::new();
                for r in results.values() {
                    frames.extend(r.get("frames").and_then(Value::as_array)?.iter());
                }
                return Some(frames);
            }
            if let Some(Value::Array(frames)) = map.get("frames") {
                return Some(frames.iter().collect());
            }
            (map.contains_key("fields") || map.contains_key("schema")).then(|| vec![value])
        }
        _ => None,
    }
}

/// A frame's fields and their values, from either layout.
fn columns_of(frame: &Value) -> Option<(Vec<&Value>, Vec<&Vec<Value>>)> {
    if let (Some(fields), Some(values)) = (
        frame.pointer("/schema/fields").and_then(Value::as_array),
        frame.pointer("/data/values").and_then(Value::as_array),
    ) {
        let values: Option<Vec<&Vec<Value>>> = values.iter().map(Value::as_array).collect();
        return Some((fields.iter().collect(), values?));
    }
    let fields = frame.get("fields").and_then(Value::as_array)?;
    let values: Option<Vec<&Vec<Value>>> = fields.iter().map(|f| f.get("values").and_then(Value::as_array)).collect();
    Some((fields.iter().collect(), values?))
}

/// What Grafana shows for a field: its display name, else its name and label set.
fn display_name(field: &Value) -> String {
    let text = |p: &str| field.pointer(p).and_then(Value::as_str).filter(|s| !s.is_empty());
    if let Some(n) = text("/config/displayName").or(text("/config/displayNameFromDS")).or(text("/state/displayName")) {
        return n.to_string();
    }
    let name = text("/name").unwrap_or("Value");
    let labels = labels_of(field);
    if labels.is_empty() {
        name.to_string()
    } else {
        format!("{name} {}", TimeSeries { labels, ..TimeSeries::default() }.label_set())
    }
}

fn labels_of(field: &Value) -> BTreeMap<String, String> {
    let Some(Value::Object(labels)) = field.get("labels") else { return BTreeMap::new() };
    labels.iter().map(|(k, v)| (k.clone(), v.as_str().map_or_else(|| v.to_string(), str::to_string))).collect()
}

/// The label set a CSV header carries (`{namespace="shop", pod="cart-0"}`, after a metric name
/// or legend text or not), or `None` when it carries only a display name.
pub(super) fn header_labels(header: &str) -> Option<BTreeMap<String, String>> {
    let h = header.trim();
    let inner = h.strip_suffix('}')?;
    let inner = &inner[inner.find('{')? + 1..];
    let mut labels = BTreeMap::new();
    let mut rest = inner.trim_start();
    while !rest.is_empty() {
        let (key, after) = rest.split_once('=')?;
        let key = key.trim();
        if key.is_empty() || !key.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_') {
            return None;
        }
        let after = after.trim_start().strip_prefix('"')?;
        let mut value = String::new();
        let mut chars = after.char_indices();
        let end = loop {
            match chars.next()? {
                (_, '\\') => value.push(chars.next()?.1),
                (i, '"') => break i,
                (_, c) => value.push(c),
            }
        };
        labels.insert(key.to_string(), value);
        rest = after[end + 1..].trim_start();
        rest = rest.strip_prefix(',').unwrap_or(rest).trim_start();
    }
    (!labels.is_empty()).then_some(labels)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn header_label_sets() {
        let l = header_labels(r#"container_memory_working_set_bytes{namespace="shop", pod="cart-0"}"#).unwrap();
        assert_eq!((l["namespace"].as_str(), l["pod"].as_str()), ("shop", "cart-0"));
        let l = header_labels(r#"istio-proxy {pod="a\"b",x="1"}"#).unwrap();
        assert_eq!((l["pod"].as_str(), l.len()), ("a\"b", 2));
        assert_eq!(header_labels("shop/cart-0"), None);
        assert_eq!(header_labels("{}"), None);
        assert_eq!(header_labels("{pod=cart}"), None);
    }

    #[test]
    fn both_frame_layouts() {
        let panel = r#"{"state":"Done","series":[{"refId":"A","fields":[
            {"name":"Time","type":"time","values":[1000,2000]},
            {"name":"Value","type":"number","labels":{"pod":"a"},"config":{"displayNameFromDS":"a"},"values":[5,null]}],"length":2}]}"#;
        let s = parse(Path::new("p.json"), panel).unwrap();
        assert_eq!((s[0].name.as_str(), s[0].series.times.clone(), s[0].missing), ("a", vec![1.0], 1));
        let wire = r#"[{"schema":{"fields":[{"name":"Time","type":"time"},{"name":"Value","type":"number","labels":{"pod":"b"}}]},
            "data":{"values":[[1000,2000],[7,8]]}}]"#;
        let s = parse(Path::new("w.json"), wire).unwrap();
        assert_eq!((s[0].name.as_str(), s[0].series.values.clone()), ("Value {pod=\"b\"}", vec![7.0, 8.0]));
        let e = parse(Path::new("x.json"), r#"[{"fields":[{"name":"v","type":"number","values":[1]}]}]"#);
        assert!(e.unwrap_err().to_string().contains("frame 1 has no field of type \"time\""));
    }
}
