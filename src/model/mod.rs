//! The fitted linear memory model: terms, the least-squares fit, inference and model files.
//!
//! [`FitSettings`] are validated, [`fit`] turns a [`crate::series::Series`] into a
//! [`FittedModel`], and [`store`] reads and writes model files. The solver ([`solve`]) works in
//! double-double arithmetic where the design's conditioning needs it.

mod checks;
pub mod conditions;
pub mod covariates;
pub mod dd;
mod defaults;
pub mod derived;
pub mod errors;
mod fit;
mod fitted;
pub mod solve;
pub mod store;
pub mod summary;
mod sums;
pub mod tdist;
pub mod term;

pub use checks::{check_level, check_readings, MAX_PREDICTOR, MAX_RESPONSE};
pub use conditions::Conditions;
pub use covariates::ProxyClass;
pub use errors::{ErrorKind, ErrorModel, ErrorSpec, GroupEffect, GroupSlope, RandomSlope, SlopeTest};
pub use fit::{fit, fit_hashed, sha256_hex, FitSettings, DEFAULT_PORTS_PER_REVISION, SERVICES_PER_REVISION};
pub use fitted::{Coefficient, ColumnRange, FittedModel, Prediction, Source, SCHEMA_VERSION};
pub use term::Term;
