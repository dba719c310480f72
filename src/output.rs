//! Writing results without leaving half-written files behind.
//!
//! Every file meshcap writes goes through [`write_atomic`]: the bytes land in a temporary file
//! beside the target, are flushed, and the temporary file is renamed over the target. A crash
//! or an error leaves either the old file or the new one, never a truncated mix.

use std::io::Write;
use std::path::Path;

use crate::error::{Error, Result};

/// True when `path` exists and is neither a regular file nor a folder: a device such as
/// `/dev/null` or `/dev/stdout`, a FIFO, a socket. Such targets are written in place: renaming
/// a temporary file over them would replace the device with a plain file.
pub fn is_special(path: &Path) -> bool {
    std::fs::metadata(path).is_ok_and(|m| !m.is_file() && !m.is_dir())
}

/// Write `bytes` to `path` atomically (temp file in the same folder, fsync, rename); devices
/// and pipes are written in place.
pub fn write_atomic(path: &Path, bytes: &[u8]) -> Result<()> {
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
