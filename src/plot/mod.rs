//! Charts of the memory model, rendered to PNG with plotters.
//!
//! The charts take plain data structs ([`FitChart`], [`ResidualChart`], ...) rather than the
//! model's types, so this room knows nothing of how a fit is made: the caller turns a fitted
//! model into chart data, and this module only draws. Every chart has two entry points:
//! `draw_*` paints onto any plotters drawing area (so [`render_report`] can reuse it as a panel)
//! and `render_*` writes a PNG atomically.
//!
//! Text uses the DejaVu Sans font embedded by the `dejavu` crate and registered once with
//! plotters' `ab_glyph` support, so rendering works on a machine without fontconfig or
//! freetype. Lines use the Okabe-Ito palette and heatmaps a viridis colormap, both readable in
//! greyscale and by colour-blind readers. Series of more than [`REDUCE_ABOVE`] points are
//! thinned per pixel column with [`minmax_per_column`], which keeps every extreme visible.

mod axis;
mod data;
mod fan;
mod fit;
mod fleet;
mod heatmap;
mod layout;
mod levels;
mod limits;
mod reduce;
mod render;
mod report;
mod residuals;
mod scope;
mod style;
mod table;

pub use data::{
    CurvePoint, FanChart, FitChart, HeatmapChart, LevelChart, LevelPoint, LimitMarker, OomBracket, ResidualChart,
    ResidualPoint, SafeLimitChart, SafeSeries, ScopeBar, ScopeChart, Table,
};
pub use fan::{draw_fan, render_fan};
pub use fit::{draw_fit, render_fit};
pub use fleet::{
    draw_fleet_days, draw_fleet_memory, render_fleet_days, render_fleet_memory, FleetDays, FleetDaysChart,
    FleetMemoryChart, FleetProxyPoints,
};
pub use heatmap::{draw_heatmap, render_heatmap};
pub use levels::{draw_levels, render_levels};
pub use limits::{draw_safe_limits, render_safe_limits};
pub use reduce::{minmax_per_column, REDUCE_ABOVE};
pub use render::{check_size, MAX_DIMENSION, MIN_DIMENSION};
pub use report::{render_report, render_report_fleet};
pub use residuals::{draw_residuals, render_residuals};
pub use scope::{draw_scope, render_scope};
pub use table::{draw_table, render_table};

/// Default size in pixels (width, height) of a single chart.
pub const DEFAULT_SIZE: (u32, u32) = (1600, 1000);

/// Default size in pixels (width, height) of the composite report image.
pub const REPORT_SIZE: (u32, u32) = (2400, 1600);
