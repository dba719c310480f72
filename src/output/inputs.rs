//! Reading inputs: every file a command reads is remembered by identity (so no output replaces
//! it, under any name) and read with a size cap (so `/dev/zero` or a runaway export is refused
//! with a named error instead of eating the machine's memory).

use std::io::Read;
use std::path::{Path, PathBuf};
use std::sync::Mutex;

use crate::error::{Error, Result};

/// The most meshcap reads from one input file: far above any measurement series, model, spec or
/// topology (a million-row Grafana export is about 40 MB), far below a machine's memory.
pub const MAX_INPUT_BYTES: u64 = 512 << 20;

/// The most meshcap reads from one file of measurements (a series, a saved query_range
/// response): a fleet's long form of 5 x 10^7 rows. Series are read in blocks and responses
/// one column at a time, so memory stays near the decoded numbers.
pub const MAX_DATA_BYTES: u64 = 4 << 30;

/// The files this process has read as inputs, by identity (device and inode on Unix, so a
/// symlink, a `..` path or a hard link to an input is the input), with the name it was read by.
static INPUTS: Mutex<Vec<(FileId, PathBuf)>> = Mutex::new(Vec::new());

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) struct FileId(u64, u64);

#[cfg(unix)]
pub(super) fn file_id(path: &Path) -> Option<FileId> {
    use std::os::unix::fs::MetadataExt;
    std::fs::metadata(path).ok().filter(std::fs::Metadata::is_file).map(|m| FileId(m.dev(), m.ino()))
}

#[cfg(not(unix))]
pub(super) fn file_id(path: &Path) -> Option<FileId> {
    use std::hash::{Hash, Hasher};
    let p = path.canonicalize().ok()?;
    let mut h = std::collections::hash_map::DefaultHasher::new();
    p.hash(&mut h);
    Some(FileId(0, h.finish()))
}

/// Remember `path` as an input of this process: no output may replace it afterwards.
pub fn note_input(path: &Path) {
    if let Some(id) = file_id(path) {
        let mut inputs = INPUTS.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
        if !inputs.iter().any(|(i, _)| *i == id) {
            inputs.push((id, path.to_path_buf()));
        }
    }
}

/// The name an input with the identity of `path` was read by, if `path` is one of this
/// process's inputs (and still there under that name: a deleted input's inode can be reused by
/// a new file, which is not an input).
pub(super) fn read_as(path: &Path) -> Option<PathBuf> {
    let id = file_id(path)?;
    let inputs = INPUTS.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
    inputs.iter().find(|(i, read_as)| *i == id && file_id(read_as) == Some(id)).map(|(_, p)| p.clone())
}

/// Read an input file whole (and remember it, see [`note_input`]), refusing more than
/// [`MAX_INPUT_BYTES`]: the error is an I/O error of kind `InvalidData` saying so.
pub fn read_input(path: &Path) -> std::io::Result<Vec<u8>> {
    read_capped(path, MAX_INPUT_BYTES, "file")
}

/// [`read_input`] for a file of measurements, capped at [`MAX_DATA_BYTES`].
pub fn read_data(path: &Path) -> std::io::Result<Vec<u8>> {
    read_capped(path, MAX_DATA_BYTES, "measurement file")
}

fn read_capped(path: &Path, cap: u64, what: &str) -> std::io::Result<Vec<u8>> {
    note_input(path);
    let mut file = std::fs::File::open(path)?;
    // A folder opens on Unix; reading it fails with "Is a directory", as `fs::read` would.
    let meta = file.metadata()?;
    // A device or pipe has no length to check first: the smaller cap (`/dev/zero` costs
    // 512 MiB, not 4 GiB).
    let cap = if meta.is_file() { cap } else { cap.min(MAX_INPUT_BYTES) };
    let too_large = || {
        std::io::Error::new(
            std::io::ErrorKind::InvalidData,
            format!("larger than {} MiB, the most meshcap reads from one {what}", cap >> 20),
        )
    };
    if meta.is_file() && meta.len() > cap {
        return Err(too_large());
    }
    // Devices and pipes have no length: read in chunks, growing the buffer at most to the cap
    // (so `/dev/zero` costs the cap, not twice it).
    let max = cap as usize;
    let mut bytes = Vec::with_capacity(if meta.is_file() { meta.len() as usize } else { 1 << 16 });
    let mut chunk = vec![0u8; 1 << 16];
    loop {
        let n = match file.read(&mut chunk) {
            Ok(0) => break,
            Ok(n) => n,
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => continue,
            Err(e) => return Err(e),
        };
        if bytes.len() + n > max {
            return Err(too_large());
        }
        if bytes.len() + n > bytes.capacity() {
            let grown = (bytes.capacity() * 2).clamp(bytes.len() + n, max);
            bytes.reserve_exact(grown - bytes.len());
        }
        bytes.extend_from_slice(&chunk[..n]);
    }
    Ok(bytes)
}

/// [`read_input`] as UTF-8 text, with the library's errors naming the file.
pub fn read_input_text(path: &Path) -> Result<String> {
    let bytes = read_input(path).map_err(|source| Error::Read { path: path.to_path_buf(), source })?;
    String::from_utf8(bytes).map_err(|e| {
        Error::data(format!("file is not UTF-8 text (invalid byte at offset {})", e.utf8_error().valid_up_to()), path)
    })
}
