//! What `meshcap simulate` writes: one row per scenario (CSV or JSON Lines, byte-stable, in id
//! order), or a summary (the worst scenarios and, per axis value, the largest P(OOM)).

use std::io::Write;
use std::ops::Range;

use serde::Serialize;

use super::{SimOutcome, Simulation};
use crate::scenario::grid::{decode, N_AXES};
use crate::scenario::rows::RowFormat;
use crate::scenario::spec::AXES;

/// Result columns after the id and the axes.
pub const RESULT_COLUMNS: [&str; 23] = [
    "p_oom",
    "days_to_oom_p5",
    "days_to_oom_p50",
    "days_to_oom_p95",
    "sidecar_p_oom",
    "sidecar_days_to_oom_p50",
    "sidecar_peak_p50_bytes",
    "sidecar_peak_p95_bytes",
    "sidecar_ooms_per_month",
    "sidecar_crash_loop_days_per_month",
    "gateway_p_oom",
    "gateway_days_to_oom_p50",
    "gateway_peak_p50_bytes",
    "gateway_peak_p95_bytes",
    "gateway_ooms_per_month",
    "gateway_crash_loop_days_per_month",
    "simulated_retained_per_service",
    "retained_per_service",
    "sidecar_predicted_bytes",
    "sidecar_upper_bytes",
    "gateway_upper_bytes",
    "safe",
    "days_to_limit",
];

/// How many worst scenarios a summary lists.
pub const WORST: usize = 10;

/// The CSV header line.
pub fn header() -> String {
    let mut cols = vec!["id"];
    cols.extend(AXES);
    cols.extend(RESULT_COLUMNS);
    cols.join(",") + "\n"
}

/// A value of a row: a number with fixed decimals (NaN/None: empty in CSV, null in JSON;
/// infinite: `inf`), or a flag.
enum Cell {
    Num(f64, usize),
    Flag(bool),
}

fn cells(o: &SimOutcome) -> [Cell; 23] {
    use Cell::{Flag, Num};
    let opt = |v: Option<f64>| v.unwrap_or(f64::NAN);
    let g = o.gateway;
    let gw = |f: fn(&super::ProxyOutcome) -> f64| g.as_ref().map_or(f64::NAN, f);
    let a = &o.analytic;
    [
        Num(o.p_oom, 4),
        Num(opt(o.days_to_oom_p5), 1),
        Num(opt(o.days_to_oom_p50), 1),
        Num(opt(o.days_to_oom_p95), 1),
        Num(o.sidecar.p_oom, 4),
        Num(opt(o.sidecar.days_to_oom_p50), 1),
        Num(o.sidecar.peak_p50_bytes, 0),
        Num(o.sidecar.peak_p95_bytes, 0),
        Num(o.sidecar.ooms_per_month, 3),
        Num(o.sidecar.crash_loop_days_per_month, 3),
        Num(gw(|p| p.p_oom), 4),
        Num(gw(|p| p.days_to_oom_p50.unwrap_or(f64::NAN)), 1),
        Num(gw(|p| p.peak_p50_bytes), 0),
        Num(gw(|p| p.peak_p95_bytes), 0),
        Num(gw(|p| p.ooms_per_month), 3),
        Num(gw(|p| p.crash_loop_days_per_month), 3),
        Num(o.simulated_retained, 2),
        Num(a.retained, 0),
        Num(a.sidecar_mean, 0),
        Num(a.sidecar_upper, 0),
        Num(a.gateway_upper, 0),
        Flag(a.safe),
        Num(a.days_to_limit, 1),
    ]
}

/// Axis values rendered once, for CSV and JSON.
struct Labels {
    csv: Vec<Vec<String>>,
    json: Vec<Vec<String>>,
}

impl Labels {
    fn new(sim: &Simulation) -> Labels {
        let grid = sim.grid();
        let mut labels = Labels { csv: Vec::new(), json: Vec::new() };
        for (a, &len) in grid.lengths.iter().enumerate() {
            let values: Vec<String> = (0..len).map(|i| grid.spec.axes.label(a, i)).collect();
            labels.json.push(values.iter().map(|v| serde_json::to_string(v).expect("string")).collect());
            labels
                .csv
                .push(values.iter().map(|v| if v.contains(',') { format!("\"{v}\"") } else { v.clone() }).collect());
        }
        labels
    }
}

fn write_row(out: &mut Vec<u8>, format: RowFormat, labels: &Labels, d: &[usize; N_AXES], o: &SimOutcome) {
    let json = format == RowFormat::Jsonl;
    if json {
        let _ = write!(out, "{{\"id\":{}", o.id);
    } else {
        let _ = write!(out, "{}", o.id);
    }
    for (a, &i) in d.iter().enumerate() {
        if json {
            let _ = write!(out, ",\"{}\":{}", AXES[a], labels.json[a][i]);
        } else {
            let _ = write!(out, ",{}", labels.csv[a][i]);
        }
    }
    for (k, cell) in cells(o).iter().enumerate() {
        if json {
            let _ = write!(out, ",\"{}\":", RESULT_COLUMNS[k]);
        } else {
            out.push(b',');
        }
        match *cell {
            Cell::Flag(b) => out.extend_from_slice(if b { b"true" } else { b"false" }),
            Cell::Num(v, _) if v.is_nan() => {
                if json {
                    out.extend_from_slice(b"null");
                }
            }
            Cell::Num(v, _) if v.is_infinite() => {
                out.extend_from_slice(match (json, v > 0.0) {
                    (true, true) => b"\"inf\"",
                    (true, false) => b"\"-inf\"",
                    (false, true) => b"inf",
                    (false, false) => b"-inf",
                });
            }
            Cell::Num(v, decimals) => {
                let _ = write!(out, "{v:.decimals$}");
            }
        }
    }
    out.extend_from_slice(if json { b"}\n" } else { b"\n" });
}

/// Simulate `range` and write one row per scenario, in id order (with a CSV header when
/// `with_header`).
pub fn write_rows(
    sim: &Simulation,
    range: Range<u64>,
    format: RowFormat,
    with_header: bool,
    out: &mut dyn Write,
    progress: &dyn Fn(u64),
) -> std::io::Result<()> {
    let labels = Labels::new(sim);
    if with_header && format == RowFormat::Csv {
        out.write_all(header().as_bytes())?;
    }
    let lengths = sim.grid().lengths;
    let mut buf = Vec::with_capacity(512);
    sim.run(range, progress, &mut |o| {
        buf.clear();
        write_row(&mut buf, format, &labels, &decode(o.id, &lengths), o);
        out.write_all(&buf)
    })
}

/// One of the worst scenarios.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct WorstSim {
    /// Scenario id.
    pub id: u64,
    /// Axis values, in grid order.
    pub axes: Vec<String>,
    /// P(OOM of the sidecar or the gateway within the horizon).
    pub p_oom: f64,
    /// P(OOM) of the sidecar alone.
    pub sidecar_p_oom: f64,
    /// P(OOM) of a gateway alone (null without gateways).
    pub gateway_p_oom: Option<f64>,
    /// Median day of the first OOMKill (null: beyond the horizon).
    pub days_to_oom_p50: Option<f64>,
    /// 95th percentile of the sidecar's peak memory x transient, bytes.
    pub sidecar_peak_p95_bytes: f64,
    /// The same for a gateway (null without gateways).
    pub gateway_peak_p95_bytes: Option<f64>,
    /// Mean sidecar OOMKills per 30 days.
    pub sidecar_ooms_per_month: f64,
    /// Mean sidecar days per 30 in a crash loop (its whole config over the limit).
    pub sidecar_crash_loop_days_per_month: f64,
    /// Whether the analytic sweep calls the scenario safe.
    pub analytic_safe: bool,
    /// The analytic days to the limit (null: never).
    pub analytic_days_to_limit: Option<f64>,
}

/// P(OOM) over the scenarios with one axis value.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ValueOom {
    /// The axis value.
    pub value: String,
    /// Scenarios with this value.
    pub scenarios: u64,
    /// Of them, with P(OOM) > 0.
    pub scenarios_with_oom: u64,
    /// The largest P(OOM) among them.
    pub max_p_oom: f64,
    /// The largest P(OOM) of the sidecar alone (gateways are not scoped by Sidecars, so they
    /// can hide what a scope does for the sidecars).
    pub max_sidecar_p_oom: f64,
}

/// P(OOM) per value of one axis.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct AxisOom {
    /// Axis name.
    pub axis: String,
    /// One entry per value.
    pub values: Vec<ValueOom>,
}

/// A simulation summary.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct SimSummary {
    /// Scenarios in the whole grid.
    pub grid_size: u64,
    /// Scenarios simulated (the grid, or a shard of it).
    pub scenarios: u64,
    /// Paths per scenario.
    pub paths: u32,
    /// Days simulated.
    pub horizon_days: u32,
    /// The seed.
    pub seed: u64,
    /// Scenarios with P(OOM) > 0.
    pub scenarios_with_oom: u64,
    /// Scenarios the analytic sweep calls safe that still OOM on some path.
    pub analytic_safe_with_oom: u64,
    /// The largest P(OOM).
    pub max_p_oom: f64,
    /// The worst scenarios: highest P(OOM), then earliest median first OOM, then id.
    pub worst: Vec<WorstSim>,
    /// Per axis, per value.
    pub by_axis: Vec<AxisOom>,
}

fn rank(o: &WorstSim) -> (f64, f64, u64) {
    (-o.p_oom, o.days_to_oom_p50.unwrap_or(f64::INFINITY), o.id)
}

fn before(a: &WorstSim, b: &WorstSim) -> bool {
    let (x, y) = (rank(a), rank(b));
    x.0.total_cmp(&y.0).then(x.1.total_cmp(&y.1)).then(x.2.cmp(&y.2)).is_lt()
}

/// Simulate `range` and summarize it.
pub fn summarize(sim: &Simulation, range: Range<u64>, progress: &dyn Fn(u64)) -> SimSummary {
    let grid = sim.grid();
    let axes = &grid.spec.axes;
    let mut s = SimSummary {
        grid_size: grid.size,
        scenarios: 0,
        paths: sim.options().settings.paths,
        horizon_days: sim.options().settings.horizon_days,
        seed: sim.options().seed,
        scenarios_with_oom: 0,
        analytic_safe_with_oom: 0,
        max_p_oom: 0.0,
        worst: Vec::with_capacity(WORST + 1),
        by_axis: (0..N_AXES)
            .map(|a| AxisOom {
                axis: AXES[a].to_string(),
                values: (0..grid.lengths[a])
                    .map(|i| ValueOom {
                        value: axes.label(a, i),
                        scenarios: 0,
                        scenarios_with_oom: 0,
                        max_p_oom: 0.0,
                        max_sidecar_p_oom: 0.0,
                    })
                    .collect(),
            })
            .collect(),
    };
    let result: Result<(), std::convert::Infallible> = sim.run(range, progress, &mut |o| {
        let d = decode(o.id, &grid.lengths);
        let oom = o.p_oom > 0.0;
        s.scenarios += 1;
        s.scenarios_with_oom += u64::from(oom);
        s.analytic_safe_with_oom += u64::from(oom && o.analytic.safe);
        s.max_p_oom = s.max_p_oom.max(o.p_oom);
        for (a, f) in s.by_axis.iter_mut().enumerate() {
            let v = &mut f.values[d[a]];
            v.scenarios += 1;
            v.scenarios_with_oom += u64::from(oom);
            v.max_p_oom = v.max_p_oom.max(o.p_oom);
            v.max_sidecar_p_oom = v.max_sidecar_p_oom.max(o.sidecar.p_oom);
        }
        let w = WorstSim {
            id: o.id,
            axes: (0..N_AXES).map(|a| axes.label(a, d[a])).collect(),
            p_oom: o.p_oom,
            sidecar_p_oom: o.sidecar.p_oom,
            gateway_p_oom: o.gateway.map(|g| g.p_oom),
            days_to_oom_p50: o.days_to_oom_p50,
            sidecar_peak_p95_bytes: o.sidecar.peak_p95_bytes,
            gateway_peak_p95_bytes: o.gateway.map(|g| g.peak_p95_bytes),
            sidecar_ooms_per_month: o.sidecar.ooms_per_month,
            sidecar_crash_loop_days_per_month: o.sidecar.crash_loop_days_per_month,
            analytic_safe: o.analytic.safe,
            analytic_days_to_limit: o.analytic.days_to_limit.is_finite().then_some(o.analytic.days_to_limit),
        };
        if s.worst.len() < WORST || before(&w, &s.worst[s.worst.len() - 1]) {
            let pos = s.worst.iter().position(|x| before(&w, x)).unwrap_or(s.worst.len());
            s.worst.insert(pos, w);
            s.worst.truncate(WORST);
        }
        Ok(())
    });
    let Ok(()) = result;
    s
}
