//! Knative's `config-gc` keys as flags (`--retain-since-create-time 48h`, ...), read by the
//! same parsers as the scenario spec's GC axes (`meshcap::mesh::gc`); absent flags keep
//! Knative's defaults.

use clap::Args;
use meshcap::mesh::gc::{parse_duration_h, parse_max_non_active, parse_min_non_active};
use meshcap::mesh::GcPolicy;

/// The GC policy flags of `fleet --topology`.
#[derive(Debug, Clone, Args)]
pub struct GcArgs {
    /// Knative `retain-since-create-time`: a Go duration (48h, 15h30m, 0) or disabled
    /// [default: 48h].
    #[arg(long, value_name = "DURATION", requires = "topology")]
    retain_since_create_time: Option<String>,
    /// Knative `retain-since-last-active-time`: a Go duration or disabled [default: 15h].
    #[arg(long, value_name = "DURATION", requires = "topology")]
    retain_since_last_active_time: Option<String>,
    /// Knative `min-non-active-revisions`: a whole number (no disabled) [default: 20].
    #[arg(long, value_name = "N", requires = "topology")]
    min_non_active_revisions: Option<String>,
    /// Knative `max-non-active-revisions`: a whole number or disabled [default: 1000].
    #[arg(long, value_name = "N", requires = "topology")]
    max_non_active_revisions: Option<String>,
}

impl GcArgs {
    /// The policy: Knative's defaults overridden by the flags given, checked as Knative checks
    /// its ConfigMap.
    pub fn policy(&self) -> meshcap::Result<GcPolicy> {
        let flag = |name: &str, e: meshcap::Error| meshcap::Error::invalid(format!("--{name}: {e}"));
        let mut p = GcPolicy::default();
        if let Some(t) = &self.retain_since_create_time {
            p.retain_since_create_h = parse_duration_h(t).map_err(|e| flag("retain-since-create-time", e))?;
        }
        if let Some(t) = &self.retain_since_last_active_time {
            p.retain_since_last_active_h = parse_duration_h(t).map_err(|e| flag("retain-since-last-active-time", e))?;
        }
        if let Some(t) = &self.min_non_active_revisions {
            p.min_non_active = parse_min_non_active(t).map_err(|e| flag("min-non-active-revisions", e))?;
        }
        if let Some(t) = &self.max_non_active_revisions {
            p.max_non_active = parse_max_non_active(t).map_err(|e| flag("max-non-active-revisions", e))?;
        }
        p.validate()?;
        Ok(p)
    }
}
