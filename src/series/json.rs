//! The JSON form of a measurement series.
//!
//! Either `{"observations": [ {...}, ... ]}` or a bare array of objects; each object maps
//! column names to numbers or strings (`"memory": "812Mi"` or `"memory": 851443712`). Keys may
//! differ between objects; a key missing from an object is an empty cell. Errors name the
//! observation (1-based) and key. The object form may record the memory metric
//! (`"memory_metric": "envoy_server_memory_allocated"`, see [`super::memory_metric`]).

use std::path::Path;

use serde_json::Value;

use super::{check_unique, parse_cell, parse_event, parse_time, Column, Field, Row, Rows, Series};
use crate::error::{Error, Location, Result};

/// Parse JSON text read from `path`.
pub fn parse(path: &Path, text: &str) -> Result<Series> {
    let value: Value = serde_json::from_str(text)
        .map_err(|e| Error::parse(format!("malformed JSON: {e}"), Location::new(path, e.line())))?;
    crate::output::check_unique_keys(path, text)?;
    let items = match &value {
        Value::Array(items) => items,
        Value::Object(map) => match map.get("observations") {
            Some(Value::Array(items)) => items,
            _ => return Err(Error::data("JSON series must be an array of objects or {\"observations\": [...]}", path)),
        },
        _ => return Err(Error::data("JSON series must be an array of objects or {\"observations\": [...]}", path)),
    };
    // `{"memory_metric": "...", "observations": [...]}` records the metric as a CSV comment does.
    let memory_metric = match value.get("memory_metric") {
        None => super::MemoryMetric::default(),
        Some(Value::String(m)) if !m.trim().is_empty() => super::MemoryMetric::from_name(m),
        Some(other) => {
            return Err(Error::data(format!("memory_metric must name a metric, but {other} does not"), path))
        }
    };
    let mut names: Vec<String> = Vec::new();
    for (k, item) in items.iter().enumerate() {
        let obj = item
            .as_object()
            .ok_or_else(|| Error::parse(format!("observation {} is not an object", k + 1), Location::new(path, 0)))?;
        for key in obj.keys() {
            if !names.contains(key) {
                names.push(key.clone());
            }
        }
    }
    check_unique(&names, || Location::new(path, 0))?;
    let mut columns: Vec<Column> = names.iter().filter(|n| !super::is_descriptive(n)).map(|n| Column::new(n)).collect();
    let mut rows = Rows::default();
    for (k, item) in items.iter().enumerate() {
        let obj = item.as_object().expect("checked above");
        let index = k + 1;
        let mut row = Row { line: index, event: None, time: None, note: None };
        let mut col = 0;
        for name in &names {
            let loc = || Location {
                path: path.to_path_buf(),
                line: 0,
                column: Some(format!("observation {index}, key {name}")),
            };
            let raw = match obj.get(name) {
                None | Some(Value::Null) => String::new(),
                Some(Value::String(s)) => s.clone(),
                Some(Value::Number(n)) => n.to_string(),
                Some(other) => {
                    return Err(Error::parse(
                        format!("{name} must be a number or a string, but {other} is neither"),
                        loc(),
                    ))
                }
            };
            match Field::of(name) {
                Field::Event => row.event = parse_event(&raw, loc)?,
                Field::Time => row.time = parse_time(&raw, loc)?,
                Field::Note => row.note = Some(raw).filter(|s| !s.is_empty()),
                field => {
                    let cell = parse_cell(&field, name, &raw, loc)?;
                    columns[col].push(cell);
                    col += 1;
                }
            }
        }
        rows.push(row);
    }
    debug_assert!(columns.iter().all(|c| c.len() == rows.len()));
    let event_rows = Series::index_events(&rows);
    Ok(Series { path: path.to_path_buf(), rows, columns, json: true, event_rows, memory_metric })
}
