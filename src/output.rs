//! Writing results without leaving half-written files behind.
//!
//! Every file meshcap writes goes through [`write_atomic`], [`AtomicFile`] or [`Staging`]: the
//! bytes land in a temporary file beside the target, are flushed, and the temporary file is
//! renamed over the target. A crash, an error or an interruption leaves either the old file or
//! the new one, never a truncated mix, and no temporary file (see [`temporaries`]). Every writer
//! first calls [`check_output`]: no command writes over one of its inputs or onto a folder.

mod inputs;
mod json_keys;
pub mod temporaries;

use std::io::Write;
use std::path::{Path, PathBuf};

pub use inputs::{note_input, read_data, read_input, read_input_text, MAX_DATA_BYTES, MAX_INPUT_BYTES};
pub use json_keys::{check_consistent_keys, check_unique_keys};
pub use temporaries::Temporary;

use crate::error::{Error, Result};

/// Refuse to write `path` when it is one of this process's inputs (by any name) or a folder:
/// meshcap never modifies its inputs. Every writer below calls it, so every command is covered.
pub fn check_output(path: &Path) -> Result<()> {
    if std::fs::metadata(path).is_ok_and(|m| m.is_dir()) {
        return Err(Error::invalid(format!("{} is a folder: name a file to write", path.display())));
    }
    match inputs::read_as(path) {
        Some(read_as) => {
            // Another name for it (a symlink, `..`, a hard link) is said.
            let other = if read_as == path { String::new() } else { format!(" (read as {})", read_as.display()) };
            Err(Error::invalid(format!(
                "{} is an input{other}: meshcap never modifies its inputs; write elsewhere",
                path.display()
            )))
        }
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

/// The folder a file of `path` is written in (`.` for a bare name).
fn folder_of(path: &Path) -> &Path {
    match path.parent() {
        Some(d) if !d.as_os_str().is_empty() => d,
        _ => Path::new("."),
    }
}

/// A temporary path beside `path`: `.<name>.tmp<pid>`.
fn temporary_beside(path: &Path) -> Result<PathBuf> {
    let name = path.file_name().ok_or_else(|| Error::Write {
        path: path.to_path_buf(),
        source: std::io::Error::new(std::io::ErrorKind::InvalidInput, "not a file name"),
    })?;
    Ok(folder_of(path).join(format!(".{}.tmp{}", name.to_string_lossy(), std::process::id())))
}

/// Write `bytes` to `path` atomically (temp file in the same folder, fsync, rename); devices
/// and pipes are written in place.
pub fn write_atomic(path: &Path, bytes: &[u8]) -> Result<()> {
    let mut file = AtomicFile::create(path)?;
    file.write_all(bytes).map_err(|source| Error::Write { path: path.to_path_buf(), source })?;
    file.commit()
}

/// A file written in one go at the end: bytes stream into a temporary file beside the target,
/// which replaces the target on [`AtomicFile::commit`]; dropped uncommitted (an error), it is
/// removed, and so it is when the process is interrupted.
pub struct AtomicFile {
    path: PathBuf,
    file: Option<std::io::BufWriter<std::fs::File>>,
    /// The temporary file; `None` when writing a device or pipe directly.
    tmp: Option<Temporary>,
}

impl AtomicFile {
    /// Start writing `path` (in place when it is a device or a pipe, see [`is_special`]).
    pub fn create(path: &Path) -> Result<AtomicFile> {
        check_output(path)?;
        let target = through_symlink(path);
        let path = target.as_path();
        let werr = |source| Error::Write { path: path.to_path_buf(), source };
        let (file, tmp) = if is_special(path) {
            (std::fs::OpenOptions::new().write(true).open(path).map_err(werr)?, None)
        } else {
            let (tmp, file) = Temporary::create_file(temporary_beside(path)?).map_err(werr)?;
            (file, Some(tmp))
        };
        Ok(AtomicFile { path: path.to_path_buf(), file: Some(std::io::BufWriter::with_capacity(1 << 20, file)), tmp })
    }

    /// Flush, sync and rename over the target; on failure the temporary file is removed.
    pub fn commit(mut self) -> Result<()> {
        let werr = |source| Error::Write { path: self.path.clone(), source };
        let file = self.file.take().expect("not yet committed");
        let file = file.into_inner().map_err(|e| werr(e.into_error()))?;
        let Some(tmp) = self.tmp.take() else { return Ok(()) };
        file.sync_all().map_err(werr)?;
        drop(file);
        std::fs::rename(tmp.path(), &self.path).map_err(werr)?;
        tmp.keep();
        Ok(())
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

/// A set of files published together into a folder (the report): each is written into a hidden
/// staging folder inside it, and [`Staging::publish`] renames them all into place once every
/// one has been written. An error before that leaves the folder as it was, without debris.
pub struct Staging {
    dir: PathBuf,
    staged: Temporary,
    names: Vec<String>,
}

impl Staging {
    /// Stage files for `dir` (created if missing), refusing any of `names` that would replace
    /// an input or a folder.
    pub fn new(dir: &Path, names: &[&str]) -> Result<Staging> {
        if std::fs::metadata(dir).is_ok_and(|m| !m.is_dir()) {
            return Err(Error::invalid(format!("{} is a file: name a folder to write the report into", dir.display())));
        }
        for name in names {
            check_output(&dir.join(name))?;
        }
        let werr = |source| Error::Write { path: dir.to_path_buf(), source };
        std::fs::create_dir_all(dir).map_err(werr)?;
        let staged =
            Temporary::create_dir(dir.join(format!(".meshcap-staging.tmp{}", std::process::id()))).map_err(werr)?;
        Ok(Staging { dir: dir.to_path_buf(), staged, names: Vec::new() })
    }

    /// Where to write the file `name` now (a path inside the folder, `sidecars/shop.yaml`, gets
    /// its subfolder); it is published by [`Staging::publish`].
    pub fn path(&mut self, name: &str) -> PathBuf {
        self.names.push(name.to_string());
        let path = self.staged.path().join(name);
        // Only the subfolders below the staging folder, one by one (a failure shows when the
        // file is written there): `create_dir_all` would make the staging folder itself again
        // after an interruption removed it, and it would be left behind as the process dies.
        let mut at = self.staged.path().to_path_buf();
        for part in Path::new(name).parent().into_iter().flat_map(Path::components) {
            at.push(part);
            let _ = std::fs::create_dir(&at);
        }
        path
    }

    /// Move every staged file into place (through symlinks, as [`write_atomic`] does); returns
    /// their final paths in the order they were staged.
    pub fn publish(self) -> Result<Vec<PathBuf>> {
        let mut published = Vec::new();
        for name in &self.names {
            let target = through_symlink(&self.dir.join(name));
            if let Some(parent) = target.parent() {
                std::fs::create_dir_all(parent)
                    .map_err(|source| Error::Write { path: parent.to_path_buf(), source })?;
            }
            std::fs::rename(self.staged.path().join(name), &target)
                .map_err(|source| Error::Write { path: target.clone(), source })?;
            published.push(self.dir.join(name));
        }
        Ok(published)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// An interruption removes the staging folder while the main thread may still be asking
    /// for a path in it (the report's next chart): the folder must stay gone, or it is left
    /// behind when the process dies (`tests/no_debris.rs` saw it once in ~400 kills: each
    /// `path` made its parent, the staging folder itself, with `create_dir_all`).
    #[test]
    fn a_removed_staging_folder_is_not_made_again() {
        let dir = std::env::temp_dir().join(format!("meshcap-staging-test-{}", std::process::id()));
        let mut staging = Staging::new(&dir, &["sidecars/shop.yaml"]).unwrap();
        let staged = staging.staged.path().to_path_buf();
        assert!(staging.path("sidecars/shop.yaml").starts_with(&staged) && staged.join("sidecars").is_dir());
        std::fs::remove_dir_all(&staged).unwrap();
        // A file at the top (the report's charts), and one in a subfolder.
        let _ = staging.path("report.png");
        assert!(!staged.exists(), "the staging folder was made again for a file at its top");
        let _ = staging.path("sidecars/pay.yaml");
        assert!(!staged.exists(), "the staging folder was made again for a subfolder");
        drop(staging);
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
