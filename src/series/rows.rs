//! Row descriptions stored by column: a fleet's long form runs to tens of millions of rows.
//!
//! Each row has a source line, maybe an event, maybe a time and maybe a note. Kept as one
//! struct per row that cost about 56 bytes a row (and a `String` slot for a note almost no
//! row has); here a row costs 9 bytes: its time as an `f64` (NaN for none) and its event as
//! one byte. Lines are nearly always consecutive (a CSV body without comment or blank lines
//! inside), so they are kept as the points where they jump; notes are kept aside.

use super::Event;

/// One row's description, as a value: what the readers push and [`Rows::get`] gives back.
#[derive(Debug, Clone, PartialEq)]
pub struct Row {
    /// 1-based source line (CSV) or 1-based observation index (JSON).
    pub line: usize,
    /// `Some(Event::Oom)` for an OOMKill row.
    pub event: Option<Event>,
    /// Unix seconds, when the row carries a time.
    pub time: Option<f64>,
    /// Free text.
    pub note: Option<String>,
}

/// The row descriptions of a series, in file order.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Rows {
    /// `(row, line)` where the line stops following the row before's plus one, in row order;
    /// row 0 always starts one.
    jumps: Vec<(usize, usize)>,
    events: Vec<Option<Event>>,
    /// Unix seconds, NaN where the row has no time.
    times: Vec<f64>,
    /// `(row, note)` of the rows with a note, in row order.
    notes: Vec<(usize, String)>,
    /// The line a row pushed next continues the run with (0 before the first row).
    next_line: usize,
}

impl Rows {
    /// Room for `n` rows.
    pub fn with_capacity(n: usize) -> Rows {
        Rows {
            jumps: Vec::new(),
            events: Vec::with_capacity(n),
            times: Vec::with_capacity(n),
            notes: Vec::new(),
            next_line: 0,
        }
    }

    /// `n` rows on lines `1..=n`, with `times` when given (one per row).
    pub fn numbered(n: usize, times: Option<Vec<f64>>) -> Rows {
        Rows {
            jumps: if n > 0 { vec![(0, 1)] } else { Vec::new() },
            events: vec![None; n],
            times: times.unwrap_or_else(|| vec![f64::NAN; n]),
            notes: Vec::new(),
            next_line: if n > 0 { n + 1 } else { 0 },
        }
    }

    /// Room for `n` more rows.
    pub fn reserve(&mut self, n: usize) {
        self.events.reserve(n);
        self.times.reserve(n);
    }

    /// Number of rows.
    pub fn len(&self) -> usize {
        self.events.len()
    }

    /// True without rows.
    pub fn is_empty(&self) -> bool {
        self.events.is_empty()
    }

    /// Append a row.
    pub fn push(&mut self, row: Row) {
        let i = self.len();
        if i == 0 || self.next_line != row.line {
            self.jumps.push((i, row.line));
        }
        self.next_line = row.line + 1;
        self.events.push(row.event);
        self.times.push(row.time.unwrap_or(f64::NAN));
        if let Some(n) = row.note {
            self.notes.push((i, n));
        }
    }

    /// Append every row of `other`, in order.
    pub fn append(&mut self, other: Rows) {
        if self.is_empty() && self.jumps.is_empty() {
            // Moved in: what pushing every row would give, without the copy.
            *self = other;
            return;
        }
        let base = self.len();
        for (r, line) in other.jumps {
            if r == 0 && base > 0 && self.next_line == line {
                continue;
            }
            self.jumps.push((base + r, line));
        }
        if !other.events.is_empty() {
            self.next_line = other.next_line;
        }
        self.events.extend(other.events);
        self.times.extend(other.times);
        self.notes.extend(other.notes.into_iter().map(|(r, n)| (base + r, n)));
    }

    /// Source line of row `i` (0 past the end).
    pub fn line(&self, i: usize) -> usize {
        if i >= self.len() {
            return 0;
        }
        let k = self.jumps.partition_point(|&(r, _)| r <= i);
        let (r, line) = self.jumps[k - 1];
        line + (i - r)
    }

    /// Event of row `i`.
    pub fn event(&self, i: usize) -> Option<Event> {
        self.events[i]
    }

    /// Set the event of row `i`.
    pub fn set_event(&mut self, i: usize, event: Option<Event>) {
        self.events[i] = event;
    }

    /// Every row's event.
    pub fn events(&self) -> &[Option<Event>] {
        &self.events
    }

    /// Time of row `i`, when it has one.
    pub fn time(&self, i: usize) -> Option<f64> {
        Some(self.times[i]).filter(|t| !t.is_nan())
    }

    /// Every row's time (NaN where a row has none).
    pub fn times(&self) -> &[f64] {
        &self.times
    }

    /// True when some row has a time.
    pub fn any_time(&self) -> bool {
        self.times.iter().any(|t| !t.is_nan())
    }

    /// Set every row's time (one per row).
    pub(crate) fn set_times(&mut self, times: &[f64]) {
        self.times.copy_from_slice(times);
    }

    /// Note of row `i`.
    pub fn note(&self, i: usize) -> Option<&str> {
        self.notes.binary_search_by_key(&i, |n| n.0).ok().map(|k| self.notes[k].1.as_str())
    }

    /// True when some row has a note.
    pub fn any_note(&self) -> bool {
        !self.notes.is_empty()
    }

    /// Row `i` as a value.
    pub fn get(&self, i: usize) -> Row {
        Row { line: self.line(i), event: self.event(i), time: self.time(i), note: self.note(i).map(str::to_string) }
    }

    /// Every row, in order, as values.
    pub fn iter(&self) -> impl Iterator<Item = Row> + '_ {
        (0..self.len()).map(|i| self.get(i))
    }

    /// The rows `rows` (indexes into these), in that order.
    pub fn subset(&self, rows: &[usize]) -> Rows {
        let mut out = Rows::with_capacity(rows.len());
        for &i in rows {
            out.push(Row { note: None, ..self.get(i) });
            if let Some(n) = self.note(i) {
                out.notes.push((out.len() - 1, n.to_string()));
            }
        }
        out
    }

    /// Indexes of the rows with an event.
    pub fn event_rows(&self) -> Vec<usize> {
        self.events.iter().enumerate().filter(|(_, e)| e.is_some()).map(|(i, _)| i).collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn row(line: usize, note: Option<&str>) -> Row {
        Row { line, event: None, time: Some(line as f64), note: note.map(str::to_string) }
    }

    #[test]
    fn lines_with_jumps_and_joins_read_back_as_pushed() {
        let lines = [2, 3, 4, 7, 8, 12, 13, 14];
        let mut whole = Rows::default();
        for &l in &lines {
            whole.push(row(l, (l == 7).then_some("n")));
        }
        assert_eq!((0..lines.len()).map(|i| whole.line(i)).collect::<Vec<_>>(), lines);
        assert_eq!(whole.note(3), Some("n"));
        assert_eq!(whole.note(4), None);
        // Split anywhere and joined: the same rows, stored the same way.
        for cut in 0..=lines.len() {
            let (mut a, mut b) = (Rows::default(), Rows::default());
            for (k, &l) in lines.iter().enumerate() {
                let r = row(l, (l == 7).then_some("n"));
                if k < cut {
                    a.push(r)
                } else {
                    b.push(r)
                }
            }
            a.append(b);
            assert_eq!(a, whole, "cut at {cut}");
        }
        let sub = whole.subset(&[3, 0]);
        assert_eq!(sub.iter().collect::<Vec<_>>(), vec![row(7, Some("n")), row(2, None)]);
        assert_eq!(whole.line(99), 0);
    }
}
