//! `meshcap rules`: Prometheus recording and alerting rules from a model (issue 20 §3).

use std::path::PathBuf;

use anyhow::Result;
use clap::Args;
use meshcap::report::rules::{prometheus_rule_yaml, rule_yaml, RuleSettings};

use super::project::{caution_for, parse_fraction, PushFlag, Target};
use super::{emit, shown};

/// Arguments of `meshcap rules`.
#[derive(Debug, Args)]
pub struct RulesArgs {
    /// Model file (from `meshcap fit -o`): an intercept and one linear term in ports or revisions.
    #[arg(long, default_value = "models/knative-1.11-istio-1.18.json")]
    model: PathBuf,
    /// Confidence level of the upper bound (default: the model's).
    #[arg(long)]
    level: Option<f64>,
    /// Share of the limit kept free: `10%` or `0.1`.
    #[arg(long, default_value = "0", value_parser = parse_fraction)]
    headroom: f64,
    /// Config-push allowance: `auto` (by the Istio release), `full`, `delta` or `none`.
    #[arg(long, default_value = "auto", value_parser = super::project::parse_push)]
    push: PushFlag,
    /// Istio release of the proxies watched (default: the model's); decides `--push auto`.
    #[arg(long = "istio-version", value_parser = parse_version)]
    istio: Option<meshcap::mesh::Version>,
    /// Days ahead the growth alert (MeshcapSidecarOOMForecast) looks.
    #[arg(long, default_value_t = 14.0, value_parser = parse_days)]
    alert_days: f64,
    /// Write a prometheus-operator PrometheusRule of this name instead of a rule file.
    #[arg(long, value_name = "NAME")]
    prometheus_rule: Option<String>,
    /// Namespace of the PrometheusRule.
    #[arg(long, default_value = "monitoring")]
    namespace: String,
    /// Write here (atomically) instead of stdout.
    #[arg(short, long, value_name = "FILE")]
    output: Option<PathBuf>,
}

fn parse_version(s: &str) -> Result<meshcap::mesh::Version, String> {
    meshcap::mesh::Version::parse(s).map_err(|e| e.to_string())
}

fn parse_days(s: &str) -> Result<f64, String> {
    match s.trim().parse::<f64>() {
        Ok(v) if v.is_finite() && v > 0.0 && v <= 3650.0 => Ok(v),
        _ => Err(format!("alert days are a number above 0 and at most 3650, but \"{s}\" is not")),
    }
}

pub fn run_rules(args: RulesArgs) -> Result<()> {
    super::imported::refuse_overwrite(args.output.as_deref(), &[&args.model])?;
    let model = meshcap::model::store::load(&args.model)?;
    let (caution, push) =
        caution_for(&model, args.level, args.headroom, None, args.push, Target { istio: args.istio, delta_xds: None })?;
    let settings = RuleSettings {
        level: caution.level,
        headroom: caution.headroom,
        push: caution.push,
        alert_days: args.alert_days,
        explain: format!("meshcap whatif --model {} --ports N --limit L", shown(&args.model)),
    };
    let yaml = match &args.prometheus_rule {
        Some(name) => prometheus_rule_yaml(&model, &settings, name, &args.namespace)?,
        None => rule_yaml(&model, &settings)?,
    };
    let header = format!("# meshcap rules from {}: {}\n", shown(&args.model), push.line());
    emit(args.output.as_deref(), (header + &yaml).as_bytes())
}
