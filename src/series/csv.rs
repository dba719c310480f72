//! The canonical CSV form of a measurement series.
//!
//! A header line names the columns; `#` lines are comments; cells may be quoted. Rows must have
//! as many cells as the header (a ragged row is an error naming its line).

use std::path::Path;

use super::{check_unique, parse_cell, parse_event, parse_time, Column, Field, Row, Rows, Series};
use crate::error::{Error, Location, Result};

/// Parse CSV text read from `path`. Text without a quote character (what meshcap writes) takes
/// a hand-rolled reader ([`super::csv_fast`]); quoted text takes the `csv` crate. Both give the
/// same series and the same errors.
pub fn parse(path: &Path, text: &str) -> Result<Series> {
    if quotes_only_in_comments(text) {
        return super::csv_fast::parse(path, text);
    }
    parse_quoted(path, text)
}

/// True when every `"` of the text sits on a `#` comment line (importers quote PromQL there).
pub(crate) fn quotes_only_in_comments(text: &str) -> bool {
    let b = text.as_bytes();
    let mut from = 0;
    while let Some(k) = text[from..].find('"') {
        let at = from + k;
        let start = text[..at].rfind('\n').map_or(0, |n| n + 1);
        if b[start] != b'#' {
            return false;
        }
        // Skip the rest of this comment line.
        from = text[at..].find('\n').map_or(b.len(), |n| at + n + 1);
    }
    true
}

/// The general reader (quoted cells, cells spanning lines).
pub(crate) fn parse_quoted(path: &Path, text: &str) -> Result<Series> {
    let text = text.strip_prefix(super::csv_fast::BOM).unwrap_or(text);
    let mut reader = csv::ReaderBuilder::new()
        .has_headers(false)
        .comment(Some(b'#'))
        .flexible(true)
        .trim(csv::Trim::All)
        .from_reader(text.as_bytes());
    let mut records = reader.records();
    // The physical line of a byte offset: the csv crate's own line count skips blank lines and
    // counts a CRLF line end once per record, not per line. Records come in order, so the line
    // ends are counted from the last offset asked (one pass over the text).
    let seen = std::cell::Cell::new((0usize, 1usize));
    let bytes = text.as_bytes();
    let line_at = |byte: u64| {
        // The crate's offset is where the record before it ended: line ends and comment lines
        // it skipped come first.
        let mut byte = (byte as usize).min(text.len());
        loop {
            match bytes.get(byte) {
                Some(b'\r' | b'\n') => byte += 1,
                Some(b'#') if byte == 0 || bytes[byte - 1] == b'\n' => {
                    byte = memchr::memchr(b'\n', &bytes[byte..]).map_or(text.len(), |k| byte + k + 1)
                }
                _ => break,
            }
        }
        let (from, line) = match seen.get() {
            (b, l) if b <= byte => (b, l),
            _ => (0, 1),
        };
        let line = line + super::csv_fast::memchr_count(&bytes[from..byte]);
        seen.set((byte, line));
        line
    };
    let csv_err = |e: csv::Error| {
        let line = e.position().map_or(0, |p| line_at(p.byte()));
        Error::parse(format!("malformed CSV: {e}"), Location::new(path, line))
    };
    let header = match records.next() {
        Some(r) => r.map_err(csv_err)?,
        None => return Err(Error::data("file has no header line (only comments or blank lines)", path)),
    };
    let header_line = header.position().map_or(1, |p| line_at(p.byte()));
    let names: Vec<String> = header.iter().map(|h| h.trim().to_string()).collect();
    check_unique(&names, || Location::new(path, header_line))?;
    let fields: Vec<Field> = names.iter().map(|n| Field::of(n)).collect();

    let mut rows = Rows::default();
    let mut columns: Vec<Column> = names.iter().filter(|n| !super::is_descriptive(n)).map(|n| Column::new(n)).collect();
    for record in records {
        let record = record.map_err(csv_err)?;
        let line = record.position().map_or(0, |p| line_at(p.byte()));
        if record.len() == 1 && record[0].is_empty() {
            continue; // blank line
        }
        if record.len() != names.len() {
            return Err(Error::parse(
                format!("row has {} cells but the header has {} columns", record.len(), names.len()),
                Location::new(path, line),
            ));
        }
        let mut row = Row { line, event: None, time: None, note: None };
        let mut col = 0;
        for ((name, field), raw) in names.iter().zip(&fields).zip(record.iter()) {
            let loc = || Location::new(path, line).with_column(name);
            match field {
                Field::Event => row.event = parse_event(raw, loc)?,
                Field::Time => row.time = parse_time(raw, loc)?,
                Field::Note => row.note = Some(raw.to_string()).filter(|s| !s.is_empty()),
                _ => {
                    columns[col].push(parse_cell(field, name, raw, loc)?);
                    col += 1;
                }
            }
        }
        rows.push(row);
    }
    let event_rows = Series::index_events(&rows);
    let memory_metric = super::memory_metric::from_comments(
        // The comment and blank lines before the header.
        text.split('\n')
            .enumerate()
            .take_while(|(_, l)| l.starts_with('#') || l.trim().is_empty())
            .map(|(k, l)| (k + 1, l)),
        path,
    )?
    .unwrap_or_default();
    Ok(Series { path: path.to_path_buf(), rows, columns, json: false, event_rows, memory_metric })
}
