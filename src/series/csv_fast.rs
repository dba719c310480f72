//! The canonical CSV reader's fast path: text without quotes (outside `#` comment lines), one
//! record per line.
//!
//! A fleet's long form runs to tens of millions of rows; the general `csv` crate reader with a
//! `StringRecord` per row, an RFC 3339 parse through the `time` crate per timestamp and a
//! quantity parse per cell spent about a microsecond per row. Without quotes a record is a line
//! and a cell is what lies between commas, so this reader splits lines itself, parses the
//! canonical timestamp (`2026-01-01T00:05:00Z`, `.123` fractions) and plain integer byte
//! counts directly, and hands every other cell to the same functions as the general reader:
//! same series, same errors, same line numbers ([`super::csv::parse_quoted`] is the
//! reference the tests compare with).

use std::path::Path;

use super::cells::{fast_time, leading_integer};
use super::{check_unique, parse_cell, parse_event, parse_time, Column, Field, Row, Rows, Series};
use crate::error::{Error, Location, Result};

/// Lines of `text` with their 1-based numbers, without comment (`#` first) and blank lines,
/// and without a trailing `\r`.
fn records(text: &str) -> impl Iterator<Item = (usize, &str)> {
    text.split('\n').enumerate().filter_map(|(k, line)| {
        let line = line.strip_suffix('\r').unwrap_or(line);
        (!line.starts_with('#') && !line.trim().is_empty()).then_some((k + 1, line))
    })
}

/// The byte order mark a file may start with.
pub(crate) const BOM: char = '\u{feff}';

/// Bodies larger than this are parsed in parallel chunks.
const CHUNK_BYTES: usize = 4 << 20;

/// Parse quote-free CSV text read from `path`.
pub(crate) fn parse(path: &Path, text: &str) -> Result<Series> {
    let Some((header, body_start)) = Header::read(path, text)? else {
        return Err(Error::data("file has no header line (only comments or blank lines)", path));
    };
    let mut series = header.empty();
    header.append(&mut series, header.line + 1, &text[body_start..])?;
    series.event_rows = Series::index_events(&series.rows);
    Ok(series)
}

/// A CSV header: the columns every body line is read into.
pub(crate) struct Header<'a> {
    path: &'a Path,
    names: Vec<String>,
    fields: Vec<Field>,
    /// The header's line number.
    pub line: usize,
    /// The `# memory-metric:` recorded above the header.
    memory_metric: super::MemoryMetric,
}

impl<'a> Header<'a> {
    /// The header of `text` (the first line that is not a comment or blank) and the byte
    /// offset where the body starts; `None` when there is no such line.
    pub fn read(path: &'a Path, text: &str) -> Result<Option<(Header<'a>, usize)>> {
        // A UTF-8 byte order mark (Excel's "CSV UTF-8" writes one) is not part of the first name.
        let bom = if text.starts_with(BOM) { BOM.len_utf8() } else { 0 };
        let Some((header, body_start)) = Header::read_after(path, &text[bom..])? else { return Ok(None) };
        Ok(Some((header, body_start + bom)))
    }

    fn read_after(path: &'a Path, text: &str) -> Result<Option<(Header<'a>, usize)>> {
        let Some((line, header)) = records(text).next() else { return Ok(None) };
        let names: Vec<String> = header.split(',').map(|h| h.trim().to_string()).collect();
        check_unique(&names, || Location::new(path, line))?;
        let fields: Vec<Field> = names.iter().map(|n| Field::of(n)).collect();
        let body_start = text.split_inclusive('\n').take(line).map(str::len).sum::<usize>().min(text.len());
        let memory_metric = super::memory_metric::from_comments(
            text[..body_start].split('\n').enumerate().take(line - 1).map(|(k, l)| (k + 1, l)),
            path,
        )?
        .unwrap_or_default();
        Ok(Some((Header { path, names, fields, line, memory_metric }, body_start)))
    }

    /// A series with these columns and no rows.
    pub fn empty(&self) -> Series {
        let columns = self.names.iter().filter(|n| !super::is_descriptive(n)).map(|n| Column::new(n)).collect();
        Series {
            path: self.path.to_path_buf(),
            rows: Rows::default(),
            columns,
            json: false,
            event_rows: Vec::new(),
            memory_metric: self.memory_metric.clone(),
        }
    }

    /// Parse `body` (whole lines, the first numbered `first`) and append its rows to `series`
    /// (built by [`Header::empty`]); returns the number of line ends in `body`. A large body
    /// is split at line ends into pieces, whose lines are counted and then parsed on the
    /// cores and joined in order, so the series does not depend on the thread count.
    pub fn append(&self, series: &mut Series, first: usize, body: &str) -> Result<usize> {
        use rayon::prelude::*;
        // One piece more than cores: the core that hashes the same block takes a share.
        let pieces = (body.len() / CHUNK_BYTES).clamp(1, rayon::current_num_threads().max(1) + 1);
        let mut chunks: Vec<&str> = Vec::with_capacity(pieces);
        let mut start = 0;
        for k in 1..=pieces {
            let mut end = if k == pieces { body.len() } else { body.len() * k / pieces };
            if end < body.len() {
                end = memchr::memchr(b'\n', &body.as_bytes()[end..]).map_or(body.len(), |n| end + n + 1);
            }
            if end > start {
                chunks.push(&body[start..end]);
                start = end;
            }
        }
        let ends: Vec<usize> = chunks.par_iter().map(|c| memchr_count(c.as_bytes())).collect();
        let firsts = ends.iter().scan(first, |line, n| {
            let at = *line;
            *line += n;
            Some(at)
        });
        let jobs: Vec<(usize, &str, usize)> = firsts.zip(chunks).zip(&ends).map(|((f, c), &n)| (f, c, n)).collect();
        let parsed: Vec<Result<(Rows, Vec<Column>)>> =
            jobs.par_iter().map(|&(first, chunk, ends)| self.chunk(first, chunk, ends + 1)).collect();
        let mut rest: usize = parsed.iter().map(|p| p.as_ref().map_or(0, |(r, _)| r.len())).sum();
        for part in parsed {
            let (r, c) = part?;
            rest -= r.len();
            // The first piece of an empty series is moved in, not copied; room for the rest
            // is made once after it.
            series.rows.append(r);
            series.rows.reserve(rest);
            for (dst, src) in series.columns.iter_mut().zip(c) {
                dst.append(src);
                dst.reserve(rest);
            }
        }
        Ok(ends.iter().sum())
    }

    /// Rows and columns of one chunk whose first line is `first` and that has at most `most`
    /// lines. Lines and cells are found
    /// byte by byte (what [`records`] and `split(',')` would give) and every vector is sized
    /// once from the chunk's line count: this loop runs once per row of a fleet's long form,
    /// so each header cell's destination is worked out once ([`Slot`]) and a plain integer
    /// goes straight into its column.
    fn chunk(&self, first: usize, chunk: &str, most: usize) -> Result<(Rows, Vec<Column>)> {
        let Header { path, names, fields, .. } = self;
        let bytes = chunk.as_bytes();
        let mut columns: Vec<Column> =
            names.iter().filter(|n| !super::is_descriptive(n)).map(|n| Column::new(n)).collect();
        for c in &mut columns {
            c.reserve(most);
        }
        let slots = Slot::plan(fields);
        let mut rows = Rows::with_capacity(most);
        let mut start = 0;
        let mut k = 0;
        while start <= bytes.len() {
            let end = memchr::memchr(b'\n', &bytes[start..]).map_or(bytes.len(), |n| start + n);
            let line = first + k;
            k += 1;
            let record = &chunk[start..end];
            start = end + 1;
            let record = record.strip_suffix('\r').unwrap_or(record);
            if record.starts_with('#') || record.trim().is_empty() {
                continue;
            }
            let mut row = Row { line, event: None, time: None, note: None };
            let (mut cells, mut from) = (0, 0);
            let rb = record.as_bytes();
            let comma = |from: usize| rb[from..].iter().position(|&b| b == b',').map_or(rb.len(), |n| from + n);
            loop {
                let slot = slots.get(cells).copied();
                let name = names.get(cells).map_or("", String::as_str);
                let loc = || Location::new(path, line).with_column(name);
                let to = match slot {
                    // A plain integer is read as its digits are found.
                    Some(Slot::Value(col)) => match leading_integer(&rb[from..]) {
                        Some((v, len)) => {
                            columns[col].push_number(v);
                            from + len
                        }
                        None => {
                            let to = comma(from);
                            columns[col].push(parse_cell(&fields[cells], name, &record[from..to], loc)?);
                            to
                        }
                    },
                    _ => {
                        let to = comma(from);
                        let raw = &record[from..to];
                        match slot {
                            Some(Slot::Event) => row.event = parse_event(raw, loc)?,
                            Some(Slot::Time) => {
                                row.time =
                                    fast_time(trimmed(raw)).map_or_else(|| parse_time(raw, loc), |t| Ok(Some(t)))?
                            }
                            Some(Slot::Note) => row.note = Some(raw.trim().to_string()).filter(|s| !s.is_empty()),
                            Some(Slot::Label(col)) => columns[col].push_label(trimmed(raw)),
                            Some(Slot::Value(_)) | None => {}
                        }
                        to
                    }
                };
                cells += 1;
                if to == rb.len() {
                    break;
                }
                from = to + 1;
            }
            if cells != names.len() {
                return Err(Error::parse(
                    format!("row has {cells} cells but the header has {} columns", names.len()),
                    Location::new(path, line),
                ));
            }
            rows.push(row);
        }
        Ok((rows, columns))
    }
}

/// Where a header cell's value goes: a row's description, or the column of that index.
#[derive(Clone, Copy)]
enum Slot {
    Event,
    Time,
    Note,
    Label(usize),
    /// A quantity, count or number column.
    Value(usize),
}

impl Slot {
    /// One slot per header cell, columns numbered as [`Header::empty`] makes them.
    fn plan(fields: &[Field]) -> Vec<Slot> {
        let mut col = 0;
        let mut next = || {
            col += 1;
            col - 1
        };
        fields
            .iter()
            .map(|f| match f {
                Field::Event => Slot::Event,
                Field::Time => Slot::Time,
                Field::Note => Slot::Note,
                Field::Label => Slot::Label(next()),
                Field::Quantity | Field::Number | Field::Count => Slot::Value(next()),
            })
            .collect()
    }
}

/// `raw` trimmed as `str::trim` does, without the Unicode scan when its ends are plain
/// ASCII.
fn trimmed(raw: &str) -> &str {
    let b = raw.as_bytes();
    match (b.first(), b.last()) {
        (Some(f), Some(l)) if f.is_ascii_graphic() && l.is_ascii_graphic() => raw,
        _ => raw.trim(),
    }
}

/// Newlines in `b`.
pub(crate) fn memchr_count(b: &[u8]) -> usize {
    memchr::memchr_iter(b'\n', b).count()
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The fast and the general reader's answers, printed (NaN cells make `==` useless).
    fn both(text: &str) -> (String, String) {
        let p = Path::new("t.csv");
        let show = |r: Result<Series>| match r {
            Ok(s) => format!("{s:?}"),
            Err(e) => format!("error: {e}"),
        };
        (show(parse(p, text)), show(super::super::csv::parse_quoted(p, text)))
    }

    #[test]
    fn same_series_and_errors_as_the_general_reader() {
        let cases = [
            "# c\ntime,proxy,ports,memory,limit,event,note\n2026-01-01T00:00:00Z,a/b,8,100Mi,1Gi,,x\n2026-01-01T00:00:30.250Z,a/b,16,104857600,1Gi,oom,\n# tail\n",
            "revisions,memory\n1,1e8\n2,2.5e8\n  3 , 300Mi \n",
            "revisions,memory\n1,1e8\n2\n",
            "revisions,memory\n1,1e8,3\n",
            "revisions,memory\n1,12Gb\n",
            "revisions,memory,time\n1,1,1767225600.5\n2,2,2026-02-30T00:00:00Z\n",
            "revisions,memory,time\n1,1,2024-02-29T23:59:59.123456789Z\n2,2,1999-12-31T00:00:00+01:00\n",
            "revisions,revisions\n1,1\n",
            "# only comments\n\n",
            "proxy,memory\n,5\n7,6\n",
            "# memory: {pod=\"a\"}\nrevisions,memory\n1,5\n",
        ];
        for text in cases {
            let (fast, general) = both(text);
            assert!(fast == general, "{text:?}: {fast} vs {general}");
        }
        // Blank lines and CRLF: the physical line, in both readers (the csv crate's own count
        // skips blank lines; a hostile-input run found the general reader off by up to 5).
        for text in ["revisions,memory\r\n1,1\r\n\r\n2,2\r\n", "revisions,memory\n1,1\n\n\n\n\n2,2\n"] {
            let s = parse(Path::new("t"), text).unwrap();
            let g = super::super::csv::parse_quoted(Path::new("t"), text).unwrap();
            let lines = |s: &Series| s.rows.iter().map(|r| r.line).collect::<Vec<_>>();
            assert_eq!((lines(&s), lines(&g)), (vec![2, if text.contains('\r') { 4 } else { 7 }], lines(&s)));
        }
        let (fast, general) = both("revisions,memory\r\n100,209715200\r\n\r\n200,x\r\n");
        assert!(fast == general && fast.contains(":4"), "{fast} vs {general}");
    }

    #[test]
    fn chunks_join_into_the_same_series() {
        // 6 MB of body: two chunks on two threads, one on one; labels interned across chunks.
        let mut text = String::from("# big\ntime,proxy,ports,memory\n");
        for k in 0..150_000 {
            text.push_str(&format!(
                "2026-01-01T00:00:{:02}Z,ns{}/p{},{},{}\n",
                k % 60,
                k % 7,
                k % 5,
                k % 13,
                1_000_000 + k
            ));
        }
        let p = Path::new("t.csv");
        let whole = parse(p, &text).unwrap();
        let general = super::super::csv::parse_quoted(p, &text).unwrap();
        assert!(format!("{whole:?}") == format!("{general:?}"), "fast and general readers differ");
        let one = rayon::ThreadPoolBuilder::new().num_threads(1).build().unwrap().install(|| parse(p, &text).unwrap());
        assert!(format!("{whole:?}") == format!("{one:?}"), "one thread and two differ");
        let bad = text.replacen("ns3/p3,3,", "ns3/p3,x,", 1).replace(",1140000\n", ",1140000,9\n");
        let (fast, general) = both(&bad);
        assert!(
            fast.starts_with("error: ") && fast == general,
            "{} vs {}",
            &fast[..fast.len().min(200)],
            &general[..general.len().min(200)]
        );
    }
}
