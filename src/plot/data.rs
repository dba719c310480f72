//! The data each chart draws, as plain structs.
//!
//! These are deliberately free of model types: the caller (the report builder) fills them from
//! a fitted model, projections or a scenario sweep, and can equally fill them by hand in a test.
//! Memory is always in bytes and counts of revisions are `f64` so fractional crossings survive.
//! Non-finite values are tolerated everywhere: the charts skip them.

/// Memory against revisions: observations, the fitted line, its bands, limits and OOM events.
#[derive(Clone, Debug, Default)]
pub struct FitChart {
    /// Chart title; name the model and the data, e.g. `"istio-proxy memory, model m1 (lab-3)"`.
    pub title: String,
    /// One line under the title, e.g. the fitted equation and R².
    pub subtitle: String,
    /// Measured points as (revisions, memory bytes).
    pub observations: Vec<(f64, f64)>,
    /// Observed OOMKills: between how many revisions each happened, and at which limit.
    pub oom: Vec<OomBracket>,
    /// The fitted line with its bands, sampled at increasing revisions.
    pub curve: Vec<CurvePoint>,
    /// Proxy memory limits to draw, with where the model crosses them.
    pub limits: Vec<LimitMarker>,
    /// Endpoint ports per revision (8 for Knative), for the secondary x axis; not drawn when it
    /// is not a positive number.
    pub ports_per_revision: f64,
}

/// An observed OOMKill, bracketed between the last good and the first failing revision count.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct OomBracket {
    /// Revisions at the last observation that did not OOM.
    pub low: f64,
    /// Revisions at the first observation that did.
    pub high: f64,
    /// The proxy memory limit in force, in bytes.
    pub limit_bytes: f64,
}

/// One sample of the fitted line and its bands.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct CurvePoint {
    /// Revisions.
    pub x: f64,
    /// Predicted mean memory in bytes.
    pub mean: f64,
    /// Lower end of the confidence interval of the mean, bytes.
    pub ci_low: f64,
    /// Upper end of the confidence interval of the mean, bytes.
    pub ci_high: f64,
    /// Lower end of the prediction interval of one observation, bytes.
    pub pi_low: f64,
    /// Upper end of the prediction interval of one observation, bytes.
    pub pi_high: f64,
}

/// A proxy memory limit drawn as a horizontal line.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct LimitMarker {
    /// The limit in bytes.
    pub limit_bytes: f64,
    /// Its label, e.g. `"limit 1Gi"`.
    pub label: String,
    /// Revisions at which the fitted mean reaches the limit, if it does.
    pub crossing: Option<f64>,
    /// Revisions that are still safe under this limit (the prediction band's upper end stays
    /// below it), if any.
    pub safe: Option<f64>,
}

/// Residuals of a fit, for the two diagnostic panels.
#[derive(Clone, Debug, Default)]
pub struct ResidualChart {
    /// Chart title, naming the model and data.
    pub title: String,
    /// One point per observation.
    pub points: Vec<ResidualPoint>,
    /// Residual standard error in bytes; the ±2σ lines are omitted when it is not positive.
    pub sigma: f64,
    /// True when each residual is from its proxy's own line (a group fit's offsets and slopes,
    /// BLUPs), so `sigma` is the spread within a proxy.
    pub own_lines: bool,
}

/// One observation's residual.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct ResidualPoint {
    /// Revisions at the observation.
    pub revisions: f64,
    /// Fitted memory in bytes.
    pub fitted: f64,
    /// Observed minus fitted memory, bytes.
    pub residual: f64,
    /// The residual's own standard deviation under the model when it differs from the
    /// chart's `sigma` (a variance function), else 0.
    pub sd: f64,
}

/// Residuals by configuration level ([`super::render_levels`]).
#[derive(Clone, Debug, Default, PartialEq)]
pub struct LevelChart {
    /// Chart title.
    pub title: String,
    /// Subtitle: the error structure and its components.
    pub subtitle: String,
    /// X axis description.
    pub x_label: String,
    /// One entry per level.
    pub levels: Vec<LevelPoint>,
    /// Standard deviation of a level mean's offset, bytes: the ±2σ lines (omitted when not
    /// positive); σ_between, or sqrt(σ_between² + σ_group²) when levels include group offsets.
    pub sigma_between: f64,
    /// What that σ is, for the legend (e.g. `σ_between`).
    pub band_label: String,
}

/// One level's residuals.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct LevelPoint {
    /// The level's x value (revisions, or the model's first predictor).
    pub x: f64,
    /// Mean residual of its readings, bytes.
    pub mean: f64,
    /// Smallest residual.
    pub low: f64,
    /// Largest residual.
    pub high: f64,
    /// Readings in the level.
    pub readings: usize,
}

/// Safe revision counts against the proxy memory limit, one line per scope.
#[derive(Clone, Debug, Default)]
pub struct SafeLimitChart {
    /// Chart title, naming the model and data.
    pub title: String,
    /// One series per scope (e.g. "no Sidecar", "Sidecar: namespace").
    pub series: Vec<SafeSeries>,
    /// The observed OOM, drawn as a vertical range at its limit.
    pub oom_bracket: Option<OomBracket>,
}

/// One line of a [`SafeLimitChart`].
#[derive(Clone, Debug, Default, PartialEq)]
pub struct SafeSeries {
    /// Legend label.
    pub label: String,
    /// (limit bytes, safe revisions); `None` where no revision count is safe at that limit.
    pub points: Vec<(f64, Option<f64>)>,
}

/// Predicted memory per proxy under each scope, as grouped bars.
#[derive(Clone, Debug, Default)]
pub struct ScopeChart {
    /// Chart title, naming the model and data.
    pub title: String,
    /// The proxy memory limit in bytes, drawn as a horizontal line.
    pub limit_bytes: f64,
    /// One bar per (proxy, scope); proxies and scopes keep their first-seen order.
    pub bars: Vec<ScopeBar>,
}

/// One bar of a [`ScopeChart`].
#[derive(Clone, Debug, Default, PartialEq)]
pub struct ScopeBar {
    /// The proxy: a namespace's sidecars or a gateway.
    pub proxy: String,
    /// The Sidecar scope the prediction assumes.
    pub scope: String,
    /// Predicted memory, bytes.
    pub predicted: f64,
    /// Lower end of its interval, bytes.
    pub low: f64,
    /// Upper end of its interval, bytes.
    pub high: f64,
    /// This bar's own memory limit, drawn as a tick across it (the chart's `limit_bytes` is one
    /// line for every bar).
    pub limit: Option<f64>,
}

/// A grid of values coloured with viridis, e.g. safe revisions by limit and scope.
#[derive(Clone, Debug, Default)]
pub struct HeatmapChart {
    /// Chart title, naming the model and data.
    pub title: String,
    /// Label of the x axis.
    pub x_label: String,
    /// Label of the y axis.
    pub y_label: String,
    /// Column labels, left to right.
    pub x_values: Vec<String>,
    /// Row labels, bottom to top.
    pub y_values: Vec<String>,
    /// Row-major values: `cells[yi * x_values.len() + xi]`; `None` draws a grey, hatched cell.
    pub cells: Vec<Option<f64>>,
    /// What the colour means, shown on the colour bar.
    pub value_label: String,
}

/// Simulated memory over time: percentile bands and the day of the first OOM.
#[derive(Clone, Debug, Default)]
pub struct FanChart {
    /// Chart title, naming the model and scenario.
    pub title: String,
    /// Days since the start of the simulation.
    pub days: Vec<f64>,
    /// 5th percentile of memory per day, bytes.
    pub p5: Vec<f64>,
    /// 25th percentile of memory per day, bytes.
    pub p25: Vec<f64>,
    /// Median memory per day, bytes.
    pub p50: Vec<f64>,
    /// 75th percentile of memory per day, bytes.
    pub p75: Vec<f64>,
    /// 95th percentile of memory per day, bytes.
    pub p95: Vec<f64>,
    /// The proxy memory limit, bytes.
    pub limit_bytes: f64,
    /// Day of the first OOM of each simulated run that had one.
    pub first_oom_days: Vec<f64>,
}

/// Key numbers shown as a small table beside the charts.
#[derive(Clone, Debug, Default)]
pub struct Table {
    /// Table heading.
    pub title: String,
    /// (name, value) rows, already formatted.
    pub rows: Vec<(String, String)>,
}
