//! Temporary files and folders in flight, so none outlives the process: each is removed when
//! its guard drops uncommitted (an error, a panic) and, through [`remove_all`], when the
//! process is interrupted (the binary calls it on SIGINT, SIGTERM and SIGHUP).

use std::path::{Path, PathBuf};
use std::sync::{Mutex, MutexGuard};

static TEMPORARIES: Mutex<Vec<PathBuf>> = Mutex::new(Vec::new());

fn registry() -> MutexGuard<'static, Vec<PathBuf>> {
    TEMPORARIES.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
}

/// A temporary path (file or folder) that is removed unless [`Temporary::keep`] is called.
/// Register it before creating it, so an interruption never misses it.
#[derive(Debug)]
pub struct Temporary {
    path: PathBuf,
}

impl Temporary {
    /// Register `path` as temporary.
    pub fn new(path: PathBuf) -> Temporary {
        registry().push(path.clone());
        Temporary { path }
    }

    /// Register `path` and create it as an empty file under the registry's lock, so an
    /// interruption either finds it registered and created, or holds the lock and it is never
    /// created (registered first and created after, it could be created just after
    /// [`remove_all`] removed nothing there).
    pub fn create_file(path: PathBuf) -> std::io::Result<(Temporary, std::fs::File)> {
        let mut r = registry();
        let file = std::fs::File::create(&path)?;
        r.push(path.clone());
        Ok((Temporary { path }, file))
    }

    /// [`Temporary::create_file`] for a folder.
    pub fn create_dir(path: PathBuf) -> std::io::Result<Temporary> {
        let mut r = registry();
        std::fs::create_dir(&path)?;
        r.push(path.clone());
        Ok(Temporary { path })
    }

    /// The path.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// It has been renamed into place (or is gone): forget it without removing anything.
    pub fn keep(self) {
        forget(&self.path);
        std::mem::forget(self);
    }
}

impl Drop for Temporary {
    fn drop(&mut self) {
        remove(&self.path);
        forget(&self.path);
    }
}

fn forget(path: &Path) {
    let mut r = registry();
    if let Some(i) = r.iter().rposition(|p| p == path) {
        r.swap_remove(i);
    }
}

/// Attempts at removing a folder another thread may still be writing into.
const FOLDER_ATTEMPTS: usize = 1000;

fn remove(path: &Path) {
    if std::fs::symlink_metadata(path).is_ok_and(|m| m.is_dir()) {
        // A thread still drawing may add a file (or rename one) inside while `remove_dir_all`
        // reads the folder, which then fails as not empty: try again until the folder is gone.
        // Once it is, nothing can be created inside it.
        for _ in 0..FOLDER_ATTEMPTS {
            let _ = std::fs::remove_dir_all(path);
            if std::fs::symlink_metadata(path).is_err() {
                break;
            }
            std::thread::yield_now();
        }
    } else {
        let _ = std::fs::remove_file(path);
    }
}

/// Remove every temporary in flight and hold the registry, so none is created after: for the
/// binary's signal handler, just before the process dies. Returns the guard to hold.
pub fn remove_all() -> MutexGuard<'static, Vec<PathBuf>> {
    let r = registry();
    for p in r.iter() {
        remove(p);
    }
    r
}
