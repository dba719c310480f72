//! The library's one error type.
//!
//! Every failure a user can cause (a malformed file, a wrong unit, collinear data, a bad
//! setting) is an [`Error`] whose message names the file, line, column and value, so the CLI
//! can print it on one line and exit with code 2. Failures that are not the input's fault
//! (an unwritable output folder, a rendering error) exit with code 1.

use std::fmt;
use std::path::{Path, PathBuf};

/// Result alias used throughout the crate.
pub type Result<T, E = Error> = std::result::Result<T, E>;

/// Where in an input file a bad value sits.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Location {
    /// The file the value came from.
    pub path: PathBuf,
    /// 1-based line number in that file (0 when unknown).
    pub line: usize,
    /// Column (or JSON key) name, when there is one.
    pub column: Option<String>,
}

impl Location {
    /// A location with a file and a line.
    pub fn new(path: &Path, line: usize) -> Self {
        Location { path: path.to_path_buf(), line, column: None }
    }

    /// The same location narrowed to a column.
    pub fn with_column(mut self, column: &str) -> Self {
        self.column = Some(column.to_string());
        self
    }
}

impl fmt::Display for Location {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.path.display())?;
        if self.line > 0 {
            write!(f, ":{}", self.line)?;
        }
        if let Some(c) = &self.column {
            write!(f, ":{c}")?;
        }
        Ok(())
    }
}

/// Everything that can go wrong in meshcap.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// An input file could not be read.
    #[error("cannot read {}", path.display())]
    Read {
        /// The file.
        path: PathBuf,
        /// The operating system's reason.
        source: std::io::Error,
    },
    /// An output file could not be written.
    #[error("cannot write {}", path.display())]
    Write {
        /// The file.
        path: PathBuf,
        /// The operating system's reason.
        source: std::io::Error,
    },
    /// A value in an input file is malformed or out of range.
    #[error("{message} ({location})")]
    Parse {
        /// What is wrong, naming the value.
        message: String,
        /// Where it is.
        location: Location,
    },
    /// An input file is well formed but unusable as a whole (empty, too few rows...).
    #[error("{message} ({})", path.display())]
    Data {
        /// What is wrong.
        message: String,
        /// The file.
        path: PathBuf,
    },
    /// The predictors are linearly dependent: no unique fit exists.
    #[error("predictors are collinear: {} {}; {hint} ({})", columns.join(", "), if columns.len() > 2 { "are linearly dependent" } else { "are proportional or one is constant" }, path.display())]
    Collinear {
        /// The data file.
        path: PathBuf,
        /// The columns that form the dependency.
        columns: Vec<String>,
        /// What to do instead.
        hint: String,
    },
    /// A model file written by another schema version.
    #[error("model file {} has schema version {found}, but this meshcap reads versions 1 to {expected}; refit it with `meshcap fit`", path.display())]
    Schema {
        /// The model file.
        path: PathBuf,
        /// The version in the file.
        found: u32,
        /// The version this build reads.
        expected: u32,
    },
    /// A setting is out of range or inconsistent (bad flag value, unknown name...).
    #[error("{0}")]
    Invalid(String),
    /// A server (Prometheus) could not be reached or answered with an error that is not the
    /// query's fault. The message never holds credentials.
    #[error("{0}")]
    Remote(String),
    /// A plan was refused: no change it may make keeps a proxy safe (exit code 1: the input is
    /// fine, the answer is no).
    #[error("{0}")]
    Unsafe(String),
    /// Rendering a chart failed.
    #[error("cannot render {}: {message}", path.display())]
    Render {
        /// The chart being rendered.
        path: PathBuf,
        /// The backend's reason.
        message: String,
    },
}

/// Every error is one line: a parser's multi-line message (TOML's `expected ...` on its own
/// line) is joined with "; ".
fn one_line(message: String) -> String {
    if message.contains('\n') {
        message.split('\n').map(str::trim).filter(|l| !l.is_empty()).collect::<Vec<_>>().join("; ")
    } else {
        message
    }
}

impl Error {
    /// Shorthand for [`Error::Invalid`].
    pub fn invalid(message: impl Into<String>) -> Self {
        Error::Invalid(one_line(message.into()))
    }

    /// Shorthand for [`Error::Parse`].
    pub fn parse(message: impl Into<String>, location: Location) -> Self {
        Error::Parse { message: one_line(message.into()), location }
    }

    /// Shorthand for [`Error::Data`].
    pub fn data(message: impl Into<String>, path: &Path) -> Self {
        Error::Data { message: one_line(message.into()), path: path.to_path_buf() }
    }

    /// True when the user's input or flags caused the error (exit code 2), false when the
    /// environment did (exit code 1).
    pub fn is_bad_input(&self) -> bool {
        !matches!(self, Error::Write { .. } | Error::Render { .. } | Error::Remote(_) | Error::Unsafe(_))
    }
}
