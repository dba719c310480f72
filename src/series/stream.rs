//! Reading a series file in blocks: a fleet's long form (10^4 proxies x a week at 5 m is
//! 2 x 10^7 rows, 1.6 GB of CSV) must not sit in memory as text beside the parsed columns.
//!
//! The file is read in blocks cut at line ends; each block is checked as UTF-8, parsed on the
//! cores ([`super::csv_fast::Header::append`]) and, when a fit will record it, hashed beside
//! the parse (SHA-256, a model's provenance), so memory is the parsed series plus a block. A
//! quote outside a comment line sends the file to the general reader (quoted cells can span
//! lines) and JSON is read whole: both are hand-made or exported files, far smaller. The
//! result, errors and line numbers are those of reading the whole text at once (the tests
//! below read the same texts in blocks of every size from 1 byte).

use std::io::Read;
use std::path::Path;

use sha2::{Digest, Sha256};

use super::csv_fast::{memchr_count, Header};
use super::Series;
use crate::error::{Error, Result};

/// The most meshcap reads from one measurement series: a fleet's long form of 5 x 10^7 rows.
/// Memory stays about 0.6 times the file (the parsed columns) plus two blocks.
pub const MAX_SERIES_BYTES: u64 = crate::output::MAX_DATA_BYTES;

/// Bytes read per block.
const BLOCK: usize = 32 << 20;

/// A series file and the lower-case hex SHA-256 of its bytes (empty unless `hashed`: only a
/// fit records it).
pub(crate) fn load(path: &Path, hashed: bool) -> Result<(Series, String)> {
    load_in(path, BLOCK, hashed)
}

/// [`load`] reading `block` bytes at a time.
fn load_in(path: &Path, block: usize, hashed: bool) -> Result<(Series, String)> {
    crate::output::note_input(path);
    let read_err = |source| Error::Read { path: path.to_path_buf(), source };
    let mut file = std::fs::File::open(path).map_err(read_err)?;
    let meta = file.metadata().map_err(read_err)?;
    if meta.is_file() && meta.len() > MAX_SERIES_BYTES {
        return Err(too_large(path));
    }
    let mut hash = hashed.then(Sha256::new);
    let mut pending: Vec<u8> = Vec::with_capacity(block + (1 << 16));
    let mut state: Option<(Header<'_>, Series)> = None;
    // The line `pending` starts on, and its byte offset in the file.
    let (mut next_line, mut offset, mut total) = (1usize, 0usize, 0u64);
    let mut eof = false;
    while !eof {
        eof = fill(&mut file, &mut pending, block, &mut total, path)?;
        let cut = if eof { pending.len() } else { pending.iter().rposition(|&b| b == b'\n').map_or(0, |k| k + 1) };
        if cut == 0 && !eof {
            if pending.len() > MAX_LINE {
                return Err(Error::data(
                    format!("line {next_line} is longer than {} MiB: not a CSV series", MAX_LINE >> 20),
                    path,
                ));
            }
            continue;
        }
        let text = std::str::from_utf8(&pending[..cut]).map_err(|e| not_utf8(path, offset + e.valid_up_to()))?;
        let quotes = !super::csv::quotes_only_in_comments(text);
        // Line ends in `pending[..cut]`.
        let lines;
        match &mut state {
            None => {
                if quotes || text.trim_start().starts_with(['{', '[']) {
                    return whole(path);
                }
                match Header::read(path, text)? {
                    Some((header, body)) => {
                        let mut series = header.empty();
                        let (_, parsed) = rayon::join(
                            || hash.as_mut().map(|h| h.update(&pending[..cut])),
                            || header.append(&mut series, header.line + 1, &text[body..]),
                        );
                        lines = memchr_count(&pending[..body]) + parsed?;
                        state = Some((header, series));
                    }
                    // Only comments and blank lines so far: keep them, read on.
                    None if !eof => continue,
                    None if text.trim().is_empty() => {
                        return Err(Error::data("file is empty: expected a header line with revisions,memory", path))
                    }
                    None => return Err(Error::data("file has no header line (only comments or blank lines)", path)),
                }
            }
            Some((header, series)) => {
                if quotes {
                    return whole(path);
                }
                let (_, parsed) = rayon::join(
                    || hash.as_mut().map(|h| h.update(&pending[..cut])),
                    || header.append(series, next_line, text),
                );
                lines = parsed?;
            }
        }
        next_line += lines;
        offset += cut;
        pending.drain(..cut);
    }
    let Some((_, mut series)) = state else {
        return Err(Error::data("file is empty: expected a header line with revisions,memory", path));
    };
    series.event_rows = Series::index_events(&series.rows);
    series.validate()?;
    Ok((series, hash.map_or_else(String::new, |h| hex(h.finalize().as_slice()))))
}

/// The longest line read before giving up on finding its end.
const MAX_LINE: usize = 64 << 20;

/// Read up to `block` more bytes into `buf`; true at the end of the file. `total` counts
/// the bytes read so far against [`MAX_SERIES_BYTES`] (a device or pipe has no length).
fn fill(file: &mut std::fs::File, buf: &mut Vec<u8>, block: usize, total: &mut u64, path: &Path) -> Result<bool> {
    let want = buf.len() + block;
    buf.reserve(block);
    while buf.len() < want {
        // `read_to_end` fills the spare capacity without zeroing it first (a block is 32 MiB).
        let n = loop {
            match file.by_ref().take((want - buf.len()) as u64).read_to_end(buf) {
                Ok(n) => break n,
                Err(e) if e.kind() == std::io::ErrorKind::Interrupted => continue,
                Err(source) => return Err(Error::Read { path: path.to_path_buf(), source }),
            }
        };
        *total += n as u64;
        if *total > MAX_SERIES_BYTES {
            return Err(too_large(path));
        }
        if n == 0 {
            return Ok(true);
        }
    }
    Ok(false)
}

/// Read the whole file and parse it as one text (JSON, or CSV with quoted cells).
fn whole(path: &Path) -> Result<(Series, String)> {
    let mut bytes = Vec::new();
    let mut file = std::fs::File::open(path).map_err(|source| Error::Read { path: path.to_path_buf(), source })?;
    let mut total = 0;
    while !fill(&mut file, &mut bytes, BLOCK, &mut total, path)? {}
    let digest = hex(Sha256::digest(&bytes).as_slice());
    let text = String::from_utf8(bytes).map_err(|e| not_utf8(path, e.utf8_error().valid_up_to()))?;
    if text.trim().is_empty() {
        return Err(Error::data("file is empty: expected a header line with revisions,memory", path));
    }
    let series = if text.trim_start().starts_with(['{', '[']) {
        super::json::parse(path, &text)?
    } else {
        super::csv::parse(path, &text)?
    };
    series.validate()?;
    Ok((series, digest))
}

fn not_utf8(path: &Path, offset: usize) -> Error {
    Error::data(format!("file is not UTF-8 text (invalid byte at offset {offset})"), path)
}

fn too_large(path: &Path) -> Error {
    Error::Read {
        path: path.to_path_buf(),
        source: std::io::Error::new(
            std::io::ErrorKind::InvalidData,
            format!("larger than {} MiB, the most meshcap reads from one measurement file", MAX_SERIES_BYTES >> 20),
        ),
    }
}

fn hex(digest: &[u8]) -> String {
    digest.iter().map(|b| format!("{b:02x}")).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The series (or error) and digest of reading `text` in blocks of every size from 1 to
    /// 97 bytes, each compared with reading it whole.
    fn same_in_any_blocks(text: &str) {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("s.csv");
        std::fs::write(&path, text).unwrap();
        let show = |r: Result<(Series, String)>| match r {
            Ok((s, h)) => format!("{s:?} {h}"),
            Err(e) => format!("error: {e}"),
        };
        let whole = show(super::whole(&path));
        assert!(whole.contains(&crate::model::sha256_hex(text.as_bytes())) || whole.starts_with("error"));
        for block in (1..=97).chain([1 << 20]) {
            assert_eq!(show(load_in(&path, block, true)), whole, "block of {block} bytes: {text:?}");
        }
    }

    #[test]
    fn blocks_read_what_the_whole_text_reads() {
        let mut big = String::from("# from a test\n\ntime,proxy,ports,memory,limit,restarts,note\n");
        for k in 0..40 {
            big.push_str(&format!(
                "2026-01-01T00:{:02}:00Z,ns{}/p{},{},{},1Gi,{},\n",
                k % 60,
                k % 3,
                k % 4,
                8 * k,
                1e8 + k as f64,
                k / 20
            ));
            if k == 17 {
                big.push_str("# a comment inside\r\n\n");
            }
        }
        for text in [
            big.as_str(),
            "revisions,memory\r\n1,100Mi\r\n2,110Mi",
            "# only a comment\n",
            "",
            "  \n\n",
            "revisions,memory\n1,100Mi\n2,oops\n",
            "revisions,memory\n1,100Mi\n2,3,4\n",
            "revisions,memory,note\n1,100Mi,\"a, quoted\"\n2,110Mi,\n",
            "revisions,memory\n1,100Mi\n2,110Mi\n3,\"120Mi\"\n",
            "[{\"revisions\": 1, \"memory\": 1e8}]",
            "revisions,memory\n",
        ] {
            same_in_any_blocks(text);
        }
        // Invalid UTF-8 past the first block: the offset in the whole file (17 + 8 + 3 bytes).
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("b.csv");
        std::fs::write(&path, b"revisions,memory\n1,100Mi\n2,1\xff0Mi\n").unwrap();
        for block in [4, 64] {
            let e = load_in(&path, block, false).unwrap_err().to_string();
            assert!(e.contains("invalid byte at offset 28"), "{e}");
        }
    }
}
