//! What a projection covers and where it is used: the model and caution flags shared by
//! `safe`, `whatif`, `limit`, `scope` and `rules` (level, headroom, `--push`, `--transient`), the
//! push allowance they decide, and the target proxies' conditions (`--istio-version`,
//! `--workers`, `--per-cluster-stats`) with the lines every answer prints about them.

use std::fmt::Write;
use std::path::PathBuf;

use anyhow::Result;
use clap::Args;
use meshcap::mesh::Version;
use meshcap::model::{self, FittedModel};
use meshcap::project::{parse_fraction, Caution, PushAllowance, PushChoice, RevisionPath};

use super::Format;

/// Model and caution flags shared by the projection commands.
#[derive(Debug, Args)]
pub struct CautionArgs {
    /// Model file (from `meshcap fit -o`).
    #[arg(long, default_value = "models/knative-1.11-istio-1.18.json")]
    pub model: PathBuf,
    /// Confidence level of intervals and one-sided bounds (default: the model's).
    #[arg(long)]
    pub level: Option<f64>,
    /// Share of the limit kept free: `10%` or `0.1`.
    #[arg(long, default_value = "0", value_parser = parse_fraction)]
    pub headroom: f64,
    /// Config-push allowance: `auto` (by the Istio release: a full state-of-the-world push
    /// before 1.22, a delta-xDS reconnect from 1.22), `full`, `delta` or `none` (steady state).
    #[arg(long, default_value = "auto", value_parser = parse_push)]
    pub push: PushFlag,
    /// A factor on all steady-state memory instead of the push allowance (e.g. 1.5).
    #[arg(long)]
    pub transient: Option<f64>,
    /// Output format.
    #[arg(long, value_enum, default_value_t)]
    pub format: Format,
}

/// `--push`: None is `auto`.
#[derive(Debug, Clone, Copy)]
pub struct PushFlag(pub Option<PushAllowance>);

pub fn parse_push(s: &str) -> Result<PushFlag, String> {
    PushAllowance::parse(s).map(PushFlag).map_err(|e| e.to_string())
}

/// The Istio release a projection is for, when the command knows it (a topology, a flag).
#[derive(Debug, Clone, Copy, Default)]
pub struct Target {
    /// Istio release of the proxies projected; None: the model's.
    pub istio: Option<Version>,
    /// istiod's ISTIO_DELTA_XDS, when known.
    pub delta_xds: Option<bool>,
}

impl CautionArgs {
    /// Load the model and validate the caution settings for proxies at `target`.
    pub fn load_for(&self, target: Target) -> Result<(FittedModel, Caution, PushChoice)> {
        let model = model::store::load(&self.model)?;
        let (caution, push) = caution_for(&model, self.level, self.headroom, self.transient, self.push, target)?;
        Ok((model, caution, push))
    }
}

/// Caution settings and the push allowance for a model used at `target`.
pub fn caution_for(
    model: &FittedModel,
    level: Option<f64>,
    headroom: f64,
    transient: Option<f64>,
    push: PushFlag,
    target: Target,
) -> Result<(Caution, PushChoice)> {
    if model.conditions.envoy_view() {
        return Err(meshcap::Error::invalid(format!(
            "the model's memory is {}, Envoy's own view, not the container working set the OOM killer acts on (it crosses a container limit 10-30% later): refit on container_memory_working_set_bytes",
            model.conditions.memory_metric.as_deref().unwrap_or("")
        ))
        .into());
    }
    let recorded = model.conditions.istio_version.as_deref().and_then(|v| Version::parse(v).ok());
    let istio = target.istio.or(recorded);
    let choice = PushChoice::decide(
        push.0,
        transient.is_some(),
        istio.unwrap_or(meshcap::mesh::version::ASSUMED_ISTIO),
        istio.is_none(),
        target.delta_xds,
    );
    let caution = Caution {
        level: level.unwrap_or(model.level),
        headroom,
        transient: transient.unwrap_or(1.0),
        push: choice.allowance,
    };
    caution.validate()?;
    Ok((caution, choice))
}

/// Where the proxies projected run, when it differs from the model's data.
#[derive(Debug, Args)]
pub struct TargetArgs {
    /// Istio release of the proxies (default: the model's); decides the push allowance.
    #[arg(long = "istio-version", value_parser = parse_version)]
    istio: Option<Version>,
    /// Envoy workers of the proxies (default: the model's): ~2 KiB a cluster per worker.
    #[arg(long, value_parser = parse_workers)]
    workers: Option<f64>,
    /// The proxies keep per-cluster stats (`true`/`false`; default: as the model's data).
    #[arg(long, value_name = "BOOL")]
    per_cluster_stats: Option<bool>,
    /// Kind of the proxies (default: the model's, the baseline kind of a model with a line
    /// per kind).
    #[arg(long, value_parser = ["sidecar", "gateway", "activator", "waypoint"])]
    kind: Option<String>,
}

impl TargetArgs {
    pub(super) fn target(&self) -> Target {
        Target { istio: self.istio, delta_xds: None }
    }

    pub(super) fn used(&self) -> meshcap::model::conditions::Use {
        meshcap::model::conditions::Use {
            istio_version: self.istio.map(|v| v.to_string()),
            workers: self.workers,
            per_cluster_stats: self.per_cluster_stats,
            proxy_kind: self.kind.clone(),
        }
    }

    /// The differences of this use from where `model` was measured: kinds and workers its
    /// terms cover are not differences (the path evaluates them, [`Self::path`]).
    pub(super) fn differences(
        &self,
        model: &FittedModel,
    ) -> meshcap::Result<Vec<meshcap::model::conditions::Difference>> {
        let mut used = self.used();
        // A model with a worker term evaluates the workers itself (the path holds them).
        if model.terms.iter().any(|t| t.column == meshcap::series::CONCURRENCY) {
            used.workers = None;
        }
        let Some(note) = model.kind_note(self.kind.as_deref())? else {
            return Ok(model.conditions.compare(&used));
        };
        // The model's own line for the kind, not a difference from where it was measured.
        used.proxy_kind = None;
        let mut out = model.conditions.compare(&used);
        out.push(meshcap::model::conditions::Difference { what: "kind".into(), note, added_bytes_per_cluster: 0.0 });
        Ok(out)
    }

    /// The model's revision path, weighed for what this use adds per cluster.
    pub(super) fn path(
        &self,
        model: &FittedModel,
        differences: &[meshcap::model::conditions::Difference],
    ) -> RevisionPath {
        let added: f64 = differences.iter().map(|d| d.added_bytes_per_cluster).sum();
        let class = meshcap::model::ProxyClass { kind: self.kind.clone(), concurrency: self.workers };
        RevisionPath::new(model).with_cluster_cost(model, added).with_class(&class)
    }
}

fn parse_version(s: &str) -> Result<Version, String> {
    Version::parse(s).map_err(|e| e.to_string())
}

fn parse_workers(s: &str) -> Result<f64, String> {
    match s.trim().parse::<u32>() {
        Ok(v) if (1..=1024).contains(&v) => Ok(f64::from(v)),
        _ => Err(format!("Envoy workers are a whole number from 1 to 1024, but \"{s}\" is not")),
    }
}

/// An answer's JSON with what it covers: the push allowance and how this use differs from
/// where the model was measured.
#[derive(serde::Serialize)]
pub(super) struct WithContext<'a, T: serde::Serialize> {
    #[serde(flatten)]
    pub answer: &'a T,
    pub push: &'a PushChoice,
    pub conditions: &'a [meshcap::model::conditions::Difference],
}

/// The lines every projection prints under its answer: what the push allowance covers, where
/// the model was measured and how this use differs.
pub fn context_lines(
    model: &FittedModel,
    push: &PushChoice,
    differences: &[meshcap::model::conditions::Difference],
) -> String {
    let mut s = format!("{}\nmodel measured at: {}\n", push.line(), model.conditions.describe());
    for d in differences {
        let _ = writeln!(s, "note: {}", d.note);
    }
    s
}
