//! Writing results without leaving half-written files behind.
//!
//! Every file meshcap writes goes through [`write_atomic`]: the bytes land in a temporary file
//! beside the target, are flushed, and the temporary file is renamed over the target. A crash
//! or an error leaves either the old file or the new one, never a truncated mix.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::Mutex;

use crate::error::{Error, Result};

/// The files this process has read as inputs, by identity (device and inode on Unix, so a
/// symlink, a `..` path or a hard link to an input is the input), with the name it was read by.
static INPUTS: Mutex<Vec<(FileId, PathBuf)>> = Mutex::new(Vec::new());

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct FileId(u64, u64);

#[cfg(unix)]
fn file_id(path: &Path) -> Option<FileId> {
    use std::os::unix::fs::MetadataExt;
    std::fs::metadata(path).ok().filter(std::fs::Metadata::is_file).map(|m| FileId(m.dev(), m.ino()))
}

#[cfg(not(unix))]
fn file_id(path: &Path) -> Option<FileId> {
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

/// Read an input file (and remember it, see [`note_input`]).
pub fn read_input(path: &Path) -> std::io::Result<Vec<u8>> {
    note_input(path);
    std::fs::read(path)
}

/// Refuse to write `path` when it is one of this process's inputs (by any name): meshcap
/// never modifies its inputs. Every writer below calls it, so every command is covered.
pub fn check_not_input(path: &Path) -> Result<()> {
    let Some(id) = file_id(path) else { return Ok(()) };
    let inputs = INPUTS.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
    // The input must still be there under the name it was read by: a deleted input's inode
    // can be reused by a new file, which is not an input.
    match inputs.iter().find(|(i, read_as)| *i == id && file_id(read_as) == Some(id)) {
        Some((_, read_as)) => Err(Error::invalid(format!(
            "{} is an input (read as {}): meshcap never modifies its inputs; write elsewhere",
            path.display(),
            read_as.display()
        ))),
        None => Ok(()),
    }
}

/// The file a write to `path` should replace: a symlink's target (renaming over the link
/// would replace the link and leave the file it points to stale), else `path` itself.
pub fn through_symlink(path: &Path) -> PathBuf {
    match std::fs::symlink_metadata(path) {
        Ok(m) if m.file_type().is_symlink() => path.canonicalize().unwrap_or_else(|_| path.to_path_buf()),
        _ => path.to_path_buf(),
    }
}

/// True when `path` exists and is neither a regular file nor a folder: a device such as
/// `/dev/null` or `/dev/stdout`, a FIFO, a socket. Such targets are written in place: renaming
/// a temporary file over them would replace the device with a plain file.
pub fn is_special(path: &Path) -> bool {
    std::fs::metadata(path).is_ok_and(|m| !m.is_file() && !m.is_dir())
}

/// Write `bytes` to `path` atomically (temp file in the same folder, fsync, rename); devices
/// and pipes are written in place.
pub fn write_atomic(path: &Path, bytes: &[u8]) -> Result<()> {
    check_not_input(path)?;
    let target = through_symlink(path);
    let path = target.as_path();
    let werr = |source| Error::Write { path: path.to_path_buf(), source };
    if is_special(path) {
        return std::fs::OpenOptions::new().write(true).open(path).and_then(|mut f| f.write_all(bytes)).map_err(werr);
    }
    let dir = match path.parent() {
        Some(d) if !d.as_os_str().is_empty() => d,
        _ => Path::new("."),
    };
    let name = path
        .file_name()
        .ok_or_else(|| werr(std::io::Error::new(std::io::ErrorKind::InvalidInput, "not a file name")))?;
    let tmp = dir.join(format!(".{}.tmp{}", name.to_string_lossy(), std::process::id()));
    let result = (|| {
        let mut f = std::fs::File::create(&tmp)?;
        f.write_all(bytes)?;
        f.sync_all()?;
        std::fs::rename(&tmp, path)
    })();
    if let Err(e) = result {
        let _ = std::fs::remove_file(&tmp);
        return Err(werr(e));
    }
    Ok(())
}

/// A file written in one go at the end: bytes stream into a temporary file beside the target,
/// which replaces the target on [`AtomicFile::commit`]; dropped uncommitted, it is removed.
pub struct AtomicFile {
    path: std::path::PathBuf,
    tmp: std::path::PathBuf,
    file: Option<std::io::BufWriter<std::fs::File>>,
    /// Writing a device or pipe directly: nothing to rename or remove.
    in_place: bool,
}

impl AtomicFile {
    /// Start writing `path` (in place when it is a device or a pipe, see [`is_special`]).
    pub fn create(path: &Path) -> Result<AtomicFile> {
        check_not_input(path)?;
        let target = through_symlink(path);
        let path = target.as_path();
        if is_special(path) {
            let file = std::fs::OpenOptions::new()
                .write(true)
                .open(path)
                .map_err(|source| Error::Write { path: path.to_path_buf(), source })?;
            return Ok(AtomicFile {
                path: path.to_path_buf(),
                tmp: path.to_path_buf(),
                file: Some(std::io::BufWriter::with_capacity(1 << 20, file)),
                in_place: true,
            });
        }
        let dir = match path.parent() {
            Some(d) if !d.as_os_str().is_empty() => d,
            _ => Path::new("."),
        };
        let name = path.file_name().map_or_else(|| "out".into(), |n| n.to_string_lossy().into_owned());
        let tmp = dir.join(format!(".{name}.tmp{}", std::process::id()));
        let file = std::fs::File::create(&tmp).map_err(|source| Error::Write { path: path.to_path_buf(), source })?;
        Ok(AtomicFile {
            path: path.to_path_buf(),
            tmp,
            file: Some(std::io::BufWriter::with_capacity(1 << 20, file)),
            in_place: false,
        })
    }

    /// Flush, sync and rename over the target.
    pub fn commit(mut self) -> Result<()> {
        let werr = |source| Error::Write { path: self.path.clone(), source };
        let file = self.file.take().expect("not yet committed");
        let file = file.into_inner().map_err(|e| werr(e.into_error()))?;
        if self.in_place {
            return Ok(());
        }
        file.sync_all().map_err(werr)?;
        std::fs::rename(&self.tmp, &self.path).map_err(werr)
    }
}

impl Write for AtomicFile {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.file.as_mut().expect("not yet committed").write(buf)
    }

    fn flush(&mut self) -> std::io::Result<()> {
        self.file.as_mut().expect("not yet committed").flush()
    }
}

impl Drop for AtomicFile {
    fn drop(&mut self) {
        if self.file.take().is_some() && !self.in_place {
            let _ = std::fs::remove_file(&self.tmp);
        }
    }
}
