//! Writing a series back out in the canonical CSV form.
//!
//! Importers build a [`Series`] in memory and `clean` edits one; both write it here, so every
//! file meshcap produces reads back with [`Series::load`] unchanged. Memory and limits are
//! written in bytes (exact; the readers take quantities or bytes), times as RFC 3339 UTC with
//! millisecond precision (what Prometheus timestamps carry), numbers in the shortest form that
//! reads back to the same `f64`.

use super::{Cell, Series};

/// The canonical CSV bytes of `series`, after `#` comment lines (provenance, what an importer
/// dropped).
pub fn to_csv(series: &Series, comments: &[String]) -> Vec<u8> {
    let mut out = Vec::new();
    for c in comments {
        for line in c.lines() {
            out.extend_from_slice(format!("# {line}\n").as_bytes());
        }
    }
    let has_time = series.rows.iter().any(|r| r.time.is_some());
    let has_event = series.rows.iter().any(|r| r.event.is_some());
    let has_note = series.rows.iter().any(|r| r.note.is_some());
    let mut header: Vec<&str> = Vec::new();
    if has_time {
        header.push("time");
    }
    header.extend(series.columns.iter().map(|c| c.name.as_str()));
    if has_event {
        header.push("event");
    }
    if has_note {
        header.push("note");
    }
    let mut w = csv::WriterBuilder::new().terminator(csv::Terminator::Any(b'\n')).from_writer(out);
    w.write_record(&header).expect("writing to a Vec");
    let mut record: Vec<String> = Vec::with_capacity(header.len());
    for (i, row) in series.rows.iter().enumerate() {
        record.clear();
        if has_time {
            record.push(row.time.map(format_time).unwrap_or_default());
        }
        for col in &series.columns {
            record.push(match col.get(i) {
                Cell::Empty => String::new(),
                Cell::Number(v) => format_number(v),
                Cell::Text(t) => t,
            });
        }
        if has_event {
            record.push(row.event.map(|e| e.as_str().to_string()).unwrap_or_default());
        }
        if has_note {
            record.push(row.note.clone().unwrap_or_default());
        }
        w.write_record(&record).expect("writing to a Vec");
    }
    w.into_inner().expect("writing to a Vec")
}

/// Shortest round-trip form; integers without a fraction.
pub fn format_number(v: f64) -> String {
    if v == v.trunc() && v.abs() < 1e15 {
        format!("{}", v as i64)
    } else {
        format!("{v}")
    }
}

/// Unix seconds as RFC 3339 UTC, rounded to the millisecond (`2026-01-01T00:00:30.5Z`).
pub fn format_time(t: f64) -> String {
    let ms = (t * 1000.0).round();
    if !ms.is_finite() || ms.abs() > 2.5e14 {
        return format_number(t);
    }
    let ms = ms as i128;
    match time::OffsetDateTime::from_unix_timestamp_nanos(ms * 1_000_000) {
        Ok(dt) => dt.format(&time::format_description::well_known::Rfc3339).unwrap_or_else(|_| format_number(t)),
        Err(_) => format_number(t),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::series::{Column, Event, Row};
    use std::path::Path;

    #[test]
    fn round_trips_through_the_reader() {
        let mut mem = Column::new("memory");
        let mut ports = Column::new("ports");
        for (m, p) in [(54525952.0, 0.0), (1.5, 8.0), (f64::NAN, 16.0)] {
            mem.push(if m.is_nan() { Cell::Empty } else { Cell::Number(m) });
            ports.push(Cell::Number(p));
        }
        let rows = vec![
            Row { line: 1, event: None, time: Some(1767225600.0), note: Some("a, \"quoted\"".into()) },
            Row { line: 2, event: Some(Event::DoubleCount), time: Some(1767225630.781), note: None },
            Row { line: 3, event: Some(Event::Oom), time: None, note: None },
        ];
        let s = Series {
            path: "x.csv".into(),
            event_rows: Series::index_events(&rows),
            rows,
            columns: vec![ports, mem],
            json: false,
        };
        let bytes = to_csv(&s, &["made by a test".into()]);
        let text = String::from_utf8(bytes).unwrap();
        assert!(text.starts_with("# made by a test\ntime,ports,memory,event,note\n2026-01-01T00:00:00Z,0,54525952,,"));
        assert!(text.contains("2026-01-01T00:00:30.781Z,8,1.5,double-count,"), "{text}");
        let back = crate::series::csv::parse(Path::new("x.csv"), &text).unwrap();
        assert_eq!(format!("{:?}", back.columns), format!("{:?}", s.columns));
        assert_eq!(
            back.rows.iter().map(|r| (r.event, r.time, r.note.clone())).collect::<Vec<_>>(),
            s.rows.iter().map(|r| (r.event, r.time, r.note.clone())).collect::<Vec<_>>()
        );
    }
}
