//! `meshcap safe`, `whatif` and `limit`: projections from a model file.

use std::fmt::Write;

use anyhow::Result;
use clap::Args;
use meshcap::model::FittedModel;
use meshcap::project::{self, Bounds, Caution, PushChoice, RevisionPath};
use meshcap::quantity::{format_bytes, parse_quantity};

use super::{emit, json_bytes, Format};

use super::caution::WithContext;
pub use super::caution::{caution_for, context_lines, parse_push, CautionArgs, PushFlag, Target, TargetArgs};

pub use meshcap::project::parse_fraction;

/// A memory quantity flag.
pub fn parse_limit(s: &str) -> Result<f64, String> {
    let v = parse_quantity(s)?;
    // As the importers: under 1Mi is a quantity without its unit; above 1Ei no proxy runs.
    if !(1_048_576.0..=meshcap::model::MAX_RESPONSE).contains(&v) {
        return Err(format!("a proxy memory limit is from 1Mi to 1Ei (e.g. 1Gi), but \"{s}\" is not"));
    }
    Ok(v)
}

/// A revision (or port, service) count flag.
pub fn parse_count(s: &str) -> Result<f64, String> {
    match s.trim().parse::<f64>() {
        Ok(v) if v.is_finite() && (0.0..=1e12).contains(&v) => Ok(v),
        _ => Err(format!("a count must be a number from 0 to 10^12, but \"{s}\" is not")),
    }
}

/// Arguments of `meshcap safe`.
#[derive(Debug, Args)]
pub struct SafeArgs {
    #[command(flatten)]
    caution: CautionArgs,
    /// Proxy memory limit(s), e.g. `1Gi`; repeat for several.
    #[arg(long = "limit", required = true, value_parser = parse_limit)]
    limits: Vec<f64>,
    /// Retained revisions per Knative service (20 non-active kept by GC + 1 active).
    #[arg(long, default_value_t = 21.0, value_parser = parse_positive)]
    revisions_per_service: f64,
    #[command(flatten)]
    target: TargetArgs,
}

fn parse_positive(s: &str) -> Result<f64, String> {
    parse_count(s).and_then(|v| if v > 0.0 { Ok(v) } else { Err(format!("\"{s}\" must be positive")) })
}

#[derive(serde::Serialize)]
struct SafeOutput<'a> {
    model: String,
    level: f64,
    headroom: f64,
    transient: f64,
    push: &'a PushChoice,
    conditions: &'a [meshcap::model::conditions::Difference],
    limits: &'a [project::SafeAnswer],
}

pub fn run_safe(args: SafeArgs) -> Result<()> {
    let (model, caution, push) = args.caution.load_for(args.target.target())?;
    let differences = args.target.differences(&model)?;
    let bounds = Bounds::new(&model, args.target.path(&model, &differences), caution);
    let oom_bounds = Bounds::new(&model, RevisionPath::new(&model), Caution { headroom: 0.0, ..caution.steady() });
    let checks = project::oom_consistency(&oom_bounds, &model.oom);
    let answers: Vec<project::SafeAnswer> = args
        .limits
        .iter()
        .map(|&l| {
            let mut a = project::safe_for_limit(&bounds, l, args.revisions_per_service);
            a.oom_check = checks.iter().filter(|c| c.limit_bytes == l).cloned().collect();
            a
        })
        .collect();
    match args.caution.format {
        Format::Json => emit(
            None,
            &json_bytes(&SafeOutput {
                model: args.caution.model.display().to_string(),
                level: caution.level,
                headroom: caution.headroom,
                transient: caution.transient,
                push: &push,
                conditions: &differences,
                limits: &answers,
            }),
        ),
        Format::Table => {
            let mut text = render_safe(&model, &caution, &answers);
            text.push_str(&context_lines(&model, &push, &differences));
            emit(None, text.as_bytes())
        }
    }
}

fn opt(v: Option<f64>) -> String {
    v.map_or_else(|| "unbounded".into(), |v| format!("{v:.0}"))
}

fn render_safe(model: &FittedModel, c: &Caution, answers: &[project::SafeAnswer]) -> String {
    let mut s = String::new();
    let _ = writeln!(
        s,
        "model {} | level {} | headroom {}% | transient x{} | push x{:.2}",
        model.name(),
        c.level,
        c.headroom * 100.0,
        c.transient,
        c.push.factor()
    );
    let _ = writeln!(
        s,
        "{:>8}  {:>10}  {:>22}  {:>14}  {:>10}  {:>12}  {:>13}",
        "limit", "crossing", "crossing interval", "safe revisions", "safe ports", "safe ksvcs", "steady safe"
    );
    for a in answers {
        // The table says what the note says: no count at all, or every count.
        let none = if a.safe_unbounded { "unbounded" } else { "none" };
        let _ = writeln!(
            s,
            "{:>8}  {:>10}  {:>22}  {:>14}  {:>10}  {:>12}  {:>13}",
            format_bytes(a.limit_bytes),
            a.crossing_revisions.map_or_else(|| "none".into(), |v| format!("{v:.0}")),
            format!("[{}, {}]", opt(a.crossing_interval[0]), opt(a.crossing_interval[1])),
            a.safe_revisions.map_or_else(|| none.into(), |v| v.to_string()),
            a.safe_ports.map_or_else(|| none.into(), |v| format!("{v:.0}")),
            a.safe_services.map_or_else(|| none.into(), |v| format!("{v} (x{})", a.revisions_per_service)),
            a.steady_safe_revisions.map_or_else(|| none.into(), |v| v.to_string()),
        );
        if let Some(n) = &a.note {
            let _ = writeln!(s, "          note: {n}");
        }
        for o in &a.oom_check {
            let _ = writeln!(
                s,
                "          OOMKill seen between {} and {} revisions at {}: crossing interval [{}, {}] {}",
                opt(o.bracket_low),
                opt(o.bracket_high),
                format_bytes(o.limit_bytes),
                opt(o.crossing_interval[0]),
                opt(o.crossing_interval[1]),
                if o.consistent {
                    "overlaps it: consistent"
                } else {
                    "does NOT overlap it: the model disagrees with the OOM"
                }
            );
        }
    }
    s
}

/// Arguments of `meshcap whatif`.
#[derive(Debug, Args)]
pub struct WhatIfArgs {
    #[command(flatten)]
    caution: CautionArgs,
    /// Knative revisions visible to the proxy.
    #[arg(long, value_parser = parse_count, conflicts_with_all = ["ports", "services"])]
    revisions: Option<f64>,
    /// Endpoint ports (Envoy outbound clusters) visible to the proxy.
    #[arg(long, value_parser = parse_count, conflicts_with = "services")]
    ports: Option<f64>,
    /// Kubernetes Services visible to the proxy.
    #[arg(long, value_parser = parse_count)]
    services: Option<f64>,
    /// Hold any predictor column at a value: `col=v` (repeatable).
    #[arg(long = "set", value_name = "COL=V")]
    set: Vec<String>,
    /// Proxy memory limit to compare with.
    #[arg(long, value_parser = parse_limit)]
    limit: Option<f64>,
    /// A proxy of a pooled (`--errors group=...`) model: use its own offset (BLUP) and that
    /// offset's uncertainty instead of the spread of a new proxy.
    #[arg(long, value_name = "NAME")]
    proxy: Option<String>,
    #[command(flatten)]
    target: TargetArgs,
}

pub fn run_whatif(args: WhatIfArgs) -> Result<()> {
    let (model, caution, push) = args.caution.load_for(args.target.target())?;
    let differences = args.target.differences(&model)?;
    let mut path = args.target.path(&model, &differences);
    let mut revisions = args.revisions;
    if let Some(p) = args.ports {
        revisions = Some(p / model.ports_per_revision);
    }
    if let Some(s) = args.services {
        revisions = Some(s / model.services_per_revision);
    }
    for item in &args.set {
        let (col, v) = item
            .split_once('=')
            .ok_or_else(|| meshcap::Error::invalid(format!("--set takes col=value, but \"{item}\" has no '='")))?;
        let col = col.trim();
        if !model.terms.iter().any(|t| t.column == col) {
            return Err(meshcap::Error::invalid(format!(
                "--set {item}: the model has no predictor \"{col}\" (it has: {})",
                model.terms.iter().map(|t| t.column.as_str()).collect::<Vec<_>>().join(", ")
            ))
            .into());
        }
        let v = parse_count(v).map_err(|e| meshcap::Error::invalid(format!("--set {item}: {e}")))?;
        let flag = match col {
            meshcap::series::REVISIONS => args.revisions.map(|_| "--revisions"),
            meshcap::series::PORTS => args.ports.map(|_| "--ports"),
            meshcap::series::SERVICES => args.services.map(|_| "--services"),
            _ => None,
        };
        if let Some(flag) = flag {
            return Err(
                meshcap::Error::invalid(format!("--set {item} conflicts with {flag}: give the value once")).into()
            );
        }
        if col == meshcap::series::REVISIONS {
            revisions = Some(v);
        } else {
            path.hold(col, v);
        }
    }
    let r = revisions.or_else(|| (!args.set.is_empty()).then_some(0.0)).ok_or_else(|| {
        meshcap::Error::invalid("say where to look: --revisions N, --ports N, --services N or --set col=v")
    })?;
    // Columns neither on the revision path nor set: held at their fitted mean (say so).
    let set_columns: Vec<&str> = args.set.iter().filter_map(|i| i.split_once('=').map(|(c, _)| c.trim())).collect();
    let held: Vec<String> = model
        .terms
        .iter()
        .filter(|t| t.power == 1)
        .filter(|t| {
            ![meshcap::series::REVISIONS, meshcap::series::PORTS, meshcap::series::SERVICES]
                .contains(&t.column.as_str())
        })
        .filter(|t| !set_columns.contains(&t.column.as_str()))
        .map(|t| format!("{} = {}", t.column, path.value(&t.column, 0.0)))
        .collect();
    let mut bounds = Bounds::new(&model, path, caution);
    if let Some(name) = &args.proxy {
        bounds = bounds.for_proxy(name)?;
    }
    let answer = project::whatif(&bounds, r, args.limit);
    match args.caution.format {
        Format::Json => {
            emit(None, &json_bytes(&WithContext { answer: &answer, push: &push, conditions: &differences }))
        }
        Format::Table => {
            let mut s = String::new();
            let lvl = caution.level * 100.0;
            let _ = writeln!(
                s,
                "at {:.0} revisions ({:.0} endpoint ports), model {}{}",
                answer.revisions,
                answer.ports,
                model.name(),
                args.proxy.as_deref().map_or_else(String::new, |p| format!(", proxy {p}"))
            );
            let _ = writeln!(s, "errors                {}", error_line(&model, args.proxy.is_some()));
            let _ = writeln!(s, "steady memory         {}", format_bytes(answer.steady_bytes));
            let _ = writeln!(s, "predicted peak        {}", format_bytes(answer.predicted_bytes));
            let _ = writeln!(
                s,
                "{lvl}% CI of the mean  [{}, {}]",
                format_bytes(answer.mean_interval[0]),
                format_bytes(answer.mean_interval[1])
            );
            let _ = writeln!(
                s,
                "{lvl}% prediction      [{}, {}]",
                format_bytes(answer.prediction_interval[0]),
                format_bytes(answer.prediction_interval[1])
            );
            let _ = writeln!(s, "one-sided {lvl}% upper {}", format_bytes(answer.upper_bound));
            if let (Some(l), Some(p)) = (answer.limit_bytes, answer.p_exceed) {
                let _ = writeln!(s, "P(exceeds {})     {:.3e}", format_bytes(l), p);
            }
            let _ = writeln!(s, "verdict               {:?}", answer.verdict);
            if answer.extrapolated {
                let _ = writeln!(s, "note: outside the fitted range: an extrapolation");
            }
            if !held.is_empty() {
                let _ = writeln!(s, "note: held at the fitted mean (--set col=v to change): {}", held.join(", "));
            }
            s.push_str(&context_lines(&model, &push, &differences));
            emit(None, s.as_bytes())
        }
    }
}

/// Arguments of `meshcap limit`.
#[derive(Debug, Args)]
pub struct LimitArgs {
    #[command(flatten)]
    caution: CautionArgs,
    /// Revisions the proxy must hold safely.
    #[arg(long, value_parser = parse_count)]
    revisions: f64,
    #[command(flatten)]
    target: TargetArgs,
}

pub fn run_limit(args: LimitArgs) -> Result<()> {
    let (model, caution, push) = args.caution.load_for(args.target.target())?;
    let differences = args.target.differences(&model)?;
    let bounds = Bounds::new(&model, args.target.path(&model, &differences), caution);
    let answer = project::required_limit(&bounds, args.revisions);
    match args.caution.format {
        Format::Json => {
            emit(None, &json_bytes(&WithContext { answer: &answer, push: &push, conditions: &differences }))
        }
        Format::Table => {
            let mut s = String::new();
            let _ = writeln!(
                s,
                "{:.0} revisions need a limit of {} (upper bound {} at level {}, headroom {}%, transient x{}, push x{:.2})",
                answer.revisions,
                format_bytes(answer.limit_bytes),
                format_bytes(answer.upper_bound_bytes),
                caution.level,
                caution.headroom * 100.0,
                caution.transient,
                caution.push.factor()
            );
            let _ = writeln!(
                s,
                "steady state: upper bound {}, {:.1}% below that limit",
                format_bytes(answer.steady_upper_bytes),
                100.0 * (1.0 - answer.steady_upper_bytes / answer.limit_bytes)
            );
            let _ = writeln!(s, "pod annotations:\n  {}\n  {}", answer.annotation, answer.request_annotation);
            let _ = writeln!(
                s,
                "(the request is the predicted steady memory at {:.0} revisions, at most the limit)",
                answer.revisions
            );
            s.push_str(&context_lines(&model, &push, &differences));
            emit(None, s.as_bytes())
        }
    }
}

/// What the prediction's spread is made of, in one line.
fn error_line(model: &meshcap::model::FittedModel, own_proxy: bool) -> String {
    use meshcap::model::ErrorKind;
    let e = &model.errors;
    match e.kind {
        ErrorKind::Levels => format!(
            "levels: a new level's offset (sd {}) + within-level noise (sd {}), t with {} dof",
            format_bytes(e.sigma_between),
            format_bytes(e.sigma_within),
            model.dof
        ),
        ErrorKind::Group if own_proxy && e.slope.is_some() => format!(
            "slopes: this proxy's own offset and slope, a new level (sd {}) + noise (sd {}), t with {} dof",
            format_bytes(e.sigma_between),
            format_bytes(e.sigma_within),
            model.dof
        ),
        ErrorKind::Group if own_proxy => format!(
            "group: this proxy's own offset, a new level (sd {}) + noise (sd {}), t with {} dof",
            format_bytes(e.sigma_between),
            format_bytes(e.sigma_within),
            model.dof
        ),
        ErrorKind::Group if e.slope.is_some() => format!(
            "slopes: a new proxy (offset sd {}, slope sd {}/unit), a new level (sd {}) + noise (sd {}), t with {} dof",
            format_bytes(e.sigma_group),
            format_bytes(e.slope.as_ref().map_or(0.0, |r| r.sd_bytes_per_unit)),
            format_bytes(e.sigma_between),
            format_bytes(e.sigma_within),
            model.dof
        ),
        ErrorKind::Group => format!(
            "group: a new proxy (sd {}), a new level (sd {}) + noise (sd {}), t with {} dof",
            format_bytes(e.sigma_group),
            format_bytes(e.sigma_between),
            format_bytes(e.sigma_within),
            model.dof
        ),
        _ => format!("{}: residual sd {}, t with {} dof", e.label(), format_bytes(model.residual_std_error), model.dof),
    }
}
