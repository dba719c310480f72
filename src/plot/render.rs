//! Writing a chart to a PNG file atomically.
//!
//! plotters' bitmap backend encodes and writes the file itself when `present()` is called, and
//! only then reports an unwritable path (or not at all, when the backend is merely dropped).
//! So [`render_png`] first creates a temporary file beside the target, which turns a missing or
//! read-only folder into a clean [`Error::Write`] before any drawing; then it draws into that
//! file, calls `present()` explicitly, fsyncs and renames the file over the target. A failure
//! at any step removes the temporary file and leaves any previous chart in place.

use std::fs::File;
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicUsize, Ordering};

use plotters::coord::Shift;
use plotters::prelude::*;

use super::style::ensure_fonts;
use crate::error::{Error, Result};

/// Smallest accepted image width or height, in pixels.
pub const MIN_DIMENSION: u32 = 200;
/// Largest accepted image width or height, in pixels (a 10000x10000 RGB image is 300 MB).
pub const MAX_DIMENSION: u32 = 10_000;

/// Check that both dimensions of `size` lie in [`MIN_DIMENSION`]..=[`MAX_DIMENSION`].
pub fn check_size((w, h): (u32, u32)) -> Result<()> {
    let ok = |d: u32| (MIN_DIMENSION..=MAX_DIMENSION).contains(&d);
    if ok(w) && ok(h) {
        return Ok(());
    }
    Err(Error::invalid(format!(
        "image size {w}x{h} is out of range: width and height must each be {MIN_DIMENSION}..={MAX_DIMENSION} pixels"
    )))
}

/// Distinguishes temporary files of concurrent renders in one process.
static SEQUENCE: AtomicUsize = AtomicUsize::new(0);

/// Draw with `draw` onto a `size` bitmap and write it to `path` as a PNG, atomically.
pub(crate) fn render_png<F>(path: &Path, size: (u32, u32), draw: F) -> Result<()>
where
    F: FnOnce(&DrawingArea<BitMapBackend<'_>, Shift>) -> std::result::Result<(), String>,
{
    check_size(size)?;
    crate::output::check_output(path)?;
    let target = crate::output::through_symlink(path);
    let path = target.as_path();
    ensure_fonts();
    let write_error = |source| Error::Write { path: path.to_path_buf(), source };
    // A device or pipe (`-o /dev/stdout`) is written in place, from a temporary file elsewhere:
    // renaming over it would replace the device with a plain file.
    let special = crate::output::is_special(path);
    let (tmp, file) = crate::output::Temporary::create_file(if special {
        let n = SEQUENCE.fetch_add(1, Ordering::Relaxed);
        std::env::temp_dir().join(format!(".meshcap-{}-{n}.tmp.png", std::process::id()))
    } else {
        temp_path(path).map_err(write_error)?
    })
    .map_err(write_error)?;
    drop(file);

    draw_to(tmp.path(), size, draw).map_err(|message| Error::Render { path: path.to_path_buf(), message })?;
    File::open(tmp.path()).and_then(|f| f.sync_all()).map_err(write_error)?;
    if special {
        let bytes = std::fs::read(tmp.path()).map_err(write_error)?;
        crate::output::write_atomic(path, &bytes)?;
    } else {
        std::fs::rename(tmp.path(), path).map_err(write_error)?;
        tmp.keep();
    }
    Ok(())
}

/// Draw into the (already created) file `tmp` and present it.
fn draw_to<F>(tmp: &Path, size: (u32, u32), draw: F) -> std::result::Result<(), String>
where
    F: FnOnce(&DrawingArea<BitMapBackend<'_>, Shift>) -> std::result::Result<(), String>,
{
    let root = BitMapBackend::new(tmp, size).into_drawing_area();
    // A panic inside plotters (it has a few `expect`s on layout paths) must not take the CLI
    // down with it; it becomes a render error like any other drawing failure.
    match catch_unwind(AssertUnwindSafe(|| draw(&root))) {
        Ok(Ok(())) => root.present().map_err(|e| format!("cannot encode the image: {e}")),
        Ok(Err(message)) => Err(message),
        Err(panic) => {
            let what = panic
                .downcast_ref::<&str>()
                .map(|s| s.to_string())
                .or_else(|| panic.downcast_ref::<String>().cloned())
                .unwrap_or_else(|| "unknown cause".to_string());
            Err(format!("the plotting library panicked: {what}"))
        }
    }
}

/// `.<name>.<pid>-<n>.tmp.png` beside `path` (the `.png` ending selects the encoder).
fn temp_path(path: &Path) -> std::io::Result<PathBuf> {
    let name =
        path.file_name().ok_or_else(|| std::io::Error::new(std::io::ErrorKind::InvalidInput, "not a file name"))?;
    let dir = match path.parent() {
        Some(d) if !d.as_os_str().is_empty() => d,
        _ => Path::new("."),
    };
    let n = SEQUENCE.fetch_add(1, Ordering::Relaxed);
    Ok(dir.join(format!(".{}.{}-{n}.tmp.png", name.to_string_lossy(), std::process::id())))
}
