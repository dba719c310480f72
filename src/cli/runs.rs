//! What `sweep` and `simulate` share: their row formats, the progress bar and counts written
//! as `1e12`. Its own module, so `sweep` (which runs `simulate` for `--simulate`) and
//! `simulate` do not use each other.

use std::io::IsTerminal;
use std::time::Instant;

use clap::ValueEnum;
use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};

/// Row format of `sweep`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum, Default)]
pub enum RowsFormat {
    /// CSV with a header.
    #[default]
    Csv,
    /// JSON Lines.
    Jsonl,
}

/// A progress bar on stderr that shows itself only after a second, only on a terminal.
pub struct Progress {
    bar: ProgressBar,
    start: Instant,
    visible: bool,
}

impl Progress {
    /// A bar for `total` units.
    pub fn new(total: u64, quiet: bool) -> Progress {
        let bar = ProgressBar::with_draw_target(Some(total), ProgressDrawTarget::hidden());
        bar.set_style(
            ProgressStyle::with_template("{elapsed_precise} [{bar:40}] {pos}/{len} ({per_sec}, eta {eta})")
                .expect("valid template")
                .progress_chars("=> "),
        );
        Progress { bar, start: Instant::now(), visible: !quiet && std::io::stderr().is_terminal() }
    }

    /// Report progress: `done` units so far.
    pub fn set(&self, done: u64) {
        if self.visible && self.start.elapsed().as_secs_f64() > 1.0 && self.bar.is_hidden() {
            self.bar.set_draw_target(ProgressDrawTarget::stderr());
        }
        self.bar.set_position(done);
    }

    /// Clear the bar.
    pub fn finish(&self) {
        self.bar.finish_and_clear();
    }
}

/// A whole count written plainly or in scientific notation (`1e12`).
pub(crate) fn parse_steps(s: &str) -> Result<u64, String> {
    let bad = || format!("must be a whole number (e.g. 1e12), but \"{s}\" is not");
    if let Ok(n) = s.trim().parse::<u64>() {
        return Ok(n);
    }
    let x: f64 = s.trim().parse().map_err(|_| bad())?;
    if x.is_finite() && x >= 1.0 && x <= u64::MAX as f64 && x.fract() == 0.0 {
        Ok(x as u64)
    } else {
        Err(bad())
    }
}
