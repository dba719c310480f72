//! A column of a series: numbers stored flat, text cells kept aside, and label columns
//! (`proxy`, `pod`) interned so a fleet's long form holds each proxy's name once.

use super::{write, Cell, Field};

/// A named column of cells, one per row, stored as plain numbers (NaN where a cell is empty or
/// text) so large series stay compact and fast to read. A label column (`proxy`, `pod`) keeps
/// each distinct text once and one id per row: a fleet's long form repeats each proxy's name
/// thousands of times.
#[derive(Debug, Clone, PartialEq)]
pub struct Column {
    /// Header name.
    pub name: String,
    /// The numbers; empty for a label column, whose cells are all text.
    values: Vec<f64>,
    /// Rows whose cell is text, with the text, in row order.
    text: Vec<(usize, String)>,
    /// The dictionary of a label column.
    labels: Option<Labels>,
    /// A label column's [`Column::values`] (all NaN), made only if asked for: a fleet's long
    /// form has 2 x 10^7 rows, and two label columns of NaN cost 320 MB it never reads.
    label_nans: LabelNans,
}

/// A lazily made run of NaN; compares equal and prints nothing, as it holds no content.
#[derive(Clone, Default)]
struct LabelNans(std::sync::OnceLock<Vec<f64>>);

impl LabelNans {
    /// Drop the run once rows are added (it is only ever made again on request).
    fn forget(&mut self) {
        if self.0.get().is_some() {
            *self = LabelNans::default();
        }
    }
}

impl PartialEq for LabelNans {
    fn eq(&self, _: &LabelNans) -> bool {
        true
    }
}

impl std::fmt::Debug for LabelNans {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("_")
    }
}

/// Distinct texts of a label column and each row's id into them.
#[derive(Clone, PartialEq, Default)]
struct Labels {
    names: Vec<String>,
    index: std::collections::HashMap<String, u32>,
    /// Per row; [`Labels::EMPTY`] for an empty cell.
    ids: Vec<u32>,
}

impl std::fmt::Debug for Labels {
    // The index is a lookup aid whose iteration order varies; names and ids are the content.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Labels").field("names", &self.names).field("ids", &self.ids).finish()
    }
}

impl Labels {
    const EMPTY: u32 = u32::MAX;

    fn intern(&mut self, t: &str) -> u32 {
        if let Some(&id) = self.index.get(t) {
            return id;
        }
        let id = self.names.len() as u32;
        self.names.push(t.to_string());
        self.index.insert(t.to_string(), id);
        id
    }
}

impl Column {
    /// A plain numeric column.
    pub(crate) fn numbers(name: String, values: Vec<f64>) -> Column {
        Column { name, values, text: Vec::new(), labels: None, label_nans: LabelNans::default() }
    }

    /// An empty column (a label column for `proxy` and `pod`).
    pub fn new(name: &str) -> Column {
        let labels = matches!(Field::of(name), Field::Label).then(Labels::default);
        Column {
            name: name.to_string(),
            values: Vec::new(),
            text: Vec::new(),
            labels,
            label_nans: LabelNans::default(),
        }
    }

    /// Append a label cell (`raw` trimmed) without allocating when the name is known: the
    /// fast reader's path for `proxy` and `pod`, where a row nearly always repeats the row
    /// before's name. Other columns take [`Column::push`].
    pub(crate) fn push_label(&mut self, raw: &str) {
        self.label_nans.forget();
        let Some(l) = &mut self.labels else { return self.push(Cell::Text(raw.to_string())) };
        let id = match l.ids.last() {
            _ if raw.is_empty() => Labels::EMPTY,
            Some(&last) if last != Labels::EMPTY && l.names[last as usize] == raw => last,
            _ => l.intern(raw),
        };
        l.ids.push(id);
    }

    /// Append a number to a column that is not a label column (the fast reader's path for a
    /// plain integer cell).
    pub(crate) fn push_number(&mut self, v: f64) {
        debug_assert!(self.labels.is_none(), "a label column takes push_label");
        self.values.push(v);
    }

    /// Append a cell.
    pub fn push(&mut self, cell: Cell) {
        self.label_nans.forget();
        if let Some(l) = &mut self.labels {
            let id = match &cell {
                Cell::Empty => Labels::EMPTY,
                Cell::Text(t) => l.intern(t),
                Cell::Number(v) => l.intern(&write::format_number(*v)),
            };
            l.ids.push(id);
            return;
        }
        match cell {
            Cell::Number(v) => self.values.push(v),
            Cell::Empty => self.values.push(f64::NAN),
            Cell::Text(t) => {
                self.text.push((self.values.len(), t));
                self.values.push(f64::NAN);
            }
        }
    }

    /// The cell of row `i`.
    pub fn get(&self, i: usize) -> Cell {
        if let Some(l) = &self.labels {
            return match l.ids[i] {
                Labels::EMPTY => Cell::Empty,
                id => Cell::Text(l.names[id as usize].clone()),
            };
        }
        let v = self.values[i];
        if !v.is_nan() {
            return Cell::Number(v);
        }
        match self.text.binary_search_by_key(&i, |(r, _)| *r) {
            Ok(k) => Cell::Text(self.text[k].1.clone()),
            Err(_) => Cell::Empty,
        }
    }

    /// A label column's row ids (`u32::MAX` for an empty cell) and its distinct texts, in order
    /// of first appearance; `None` for other columns.
    pub fn label_ids(&self) -> Option<(&[u32], &[String])> {
        self.labels.as_ref().map(|l| (l.ids.as_slice(), l.names.as_slice()))
    }

    /// Room for `n` more rows.
    pub(crate) fn reserve(&mut self, n: usize) {
        self.values.reserve(n);
        if let Some(l) = &mut self.labels {
            l.ids.reserve(n);
        }
    }

    /// Append `other`'s cells (same name) after this column's, as if pushed one by one.
    pub(crate) fn append(&mut self, other: Column) {
        if self.is_empty() {
            // Moved in: what pushing every cell would give, without the copy.
            let name = std::mem::take(&mut self.name);
            *self = Column { name, ..other };
            return;
        }
        self.label_nans.forget();
        let offset = self.values.len();
        match (&mut self.labels, other.labels) {
            (Some(dst), Some(src)) => {
                let map: Vec<u32> = src.names.iter().map(|n| dst.intern(n)).collect();
                dst.ids.extend(src.ids.iter().map(|&id| if id == Labels::EMPTY { id } else { map[id as usize] }));
            }
            _ => self.text.extend(other.text.into_iter().map(|(r, t)| (r + offset, t))),
        }
        self.values.extend(other.values);
    }

    /// The column restricted to `rows`, in that order.
    pub fn subset(&self, rows: &[usize]) -> Column {
        let mut out = Column::new(&self.name);
        match (&self.labels, &mut out.labels) {
            (Some(src), Some(dst)) => {
                dst.names.clone_from(&src.names);
                dst.index.clone_from(&src.index);
                dst.ids = rows.iter().map(|&i| src.ids[i]).collect();
            }
            _ => {
                out.values = rows.iter().map(|&i| self.values[i]).collect();
                out.text = rows
                    .iter()
                    .enumerate()
                    .filter(|(_, &i)| self.values[i].is_nan())
                    .filter_map(|(k, &i)| match self.get(i) {
                        Cell::Text(t) => Some((k, t)),
                        _ => None,
                    })
                    .collect();
            }
        }
        out
    }

    /// Number of rows.
    pub fn len(&self) -> usize {
        self.labels.as_ref().map_or(self.values.len(), |l| l.ids.len())
    }

    /// True when the column has no rows.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The numbers, NaN where a cell is empty or text.
    pub fn values(&self) -> &[f64] {
        if self.labels.is_some() {
            return self.label_nans.0.get_or_init(|| vec![f64::NAN; self.len()]);
        }
        &self.values
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn label_columns_hold_ids_only_and_still_answer_as_nan() {
        let mut c = Column::new("proxy");
        for name in ["a/x", "a/x", "b/y", ""] {
            c.push_label(name);
        }
        assert!(c.values.is_empty(), "no number is stored per row of a label column");
        assert_eq!(c.len(), 4);
        assert_eq!(c.values().len(), 4);
        assert!(c.values().iter().all(|v| v.is_nan()));
        // Rows added after the NaN run was made: it is made again at the new length.
        let mut more = Column::new("proxy");
        more.push_label("c/z");
        c.append(more);
        assert_eq!((c.len(), c.values().len()), (5, 5));
        assert_eq!(c.get(4), Cell::Text("c/z".into()));
        assert_eq!(c.get(3), Cell::Empty);
        // Moved into an empty column, then subset.
        let mut empty = Column::new("proxy");
        empty.append(c.clone());
        assert_eq!(empty, c);
        let sub = c.subset(&[2, 0]);
        assert_eq!((sub.len(), sub.get(0), sub.get(1)), (2, Cell::Text("b/y".into()), Cell::Text("a/x".into())));
    }
}
