//! Scenario sweeps and time simulation: which proxy limit, Sidecar scope and Knative GC policy
//! keep every proxy safe as teams keep deploying, and for how long.
//!
//! A [`Spec`] (TOML) names a model, a mesh and the axes of a grid; [`Grid`] prepares the
//! Cartesian product for evaluation; [`sweep`] evaluates it analytically in parallel (rows or a
//! [`Summary`]); [`merge`] joins shard outputs back into the bytes of an unsharded run.

mod beyond;
pub mod curve;
pub mod grid;
pub mod merge;
mod notes;
pub mod rows;
pub mod shard;
pub mod simulate;
pub mod spec;
pub mod summary;
pub mod sweep;

pub use grid::{Evaluation, Grid};
pub use rows::RowFormat;
pub use shard::{Shard, Stamp};
pub use spec::{Spec, AXES};
pub use summary::Summary;
