//! Safe revision counts for a proxy limit, and the check against observed OOMKills.

use serde::Serialize;

use super::crossing::{first_crossing, last_safe_integer, Crossing};
use super::Bounds;
use crate::quantity::format_bytes;
use crate::series::OomObservation;

/// The answer for one limit.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct SafeAnswer {
    /// The proxy memory limit, bytes.
    pub limit_bytes: f64,
    /// Revisions where the fitted mean peak memory reaches the limit (null: never, or at 0).
    pub crossing_revisions: Option<f64>,
    /// Inverse-prediction interval: where the two-sided prediction band meets the limit
    /// (null ends are unbounded).
    pub crossing_interval: [Option<f64>; 2],
    /// Largest whole revision count whose one-sided upper prediction bound stays at or below
    /// limit x (1 - headroom) (null: none is safe, or unbounded; see `note`).
    pub safe_revisions: Option<u64>,
    /// True when every revision count is safe (the upper bound never reaches the limit):
    /// `safe_revisions` is then null for "unbounded", not for "none".
    pub safe_unbounded: bool,
    /// The safe count at steady state (no push allowance, no transient), for comparison: a
    /// count between `safe_revisions` and this one is OOMKilled by a full config push.
    pub steady_safe_revisions: Option<u64>,
    /// Where the steady-state mean reaches the limit: beyond it the proxy does not run at all,
    /// and a restarted Envoy taking the whole configuration at once is killed again (a crash
    /// loop).
    pub steady_crossing_revisions: Option<f64>,
    /// The safe count in endpoint ports.
    pub safe_ports: Option<f64>,
    /// The safe count in Knative services at `revisions_per_service` retained revisions each.
    pub safe_services: Option<u64>,
    /// Revisions per Knative service used for `safe_services`.
    pub revisions_per_service: f64,
    /// True when the safe count lies beyond the largest revision count fitted.
    pub extrapolated: bool,
    /// Why a bound is null, and other caveats.
    pub note: Option<String>,
    /// How the crossing compares with OOMKills observed at this limit.
    pub oom_check: Vec<OomCheck>,
}

/// Whether a model's crossing agrees with an observed OOMKill.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct OomCheck {
    /// Limit in force at the OOMKill.
    pub limit_bytes: f64,
    /// Last good revision count before the OOMKill.
    pub bracket_low: Option<f64>,
    /// Revision count at the OOMKill.
    pub bracket_high: Option<f64>,
    /// Model's mean crossing of that limit.
    pub crossing_revisions: Option<f64>,
    /// Model's crossing interval at that limit.
    pub crossing_interval: [Option<f64>; 2],
    /// True when the crossing interval overlaps the observed bracket.
    pub consistent: bool,
}

/// Crossing, crossing interval and safe count for one limit.
pub fn safe_for_limit(bounds: &Bounds, limit_bytes: f64, revisions_per_service: f64) -> SafeAnswer {
    let mut notes: Vec<String> = Vec::new();
    let crossing = first_crossing(|r| bounds.mean(r), limit_bytes);
    let lo = first_crossing(|r| bounds.band(r).1, limit_bytes);
    let hi = first_crossing(|r| bounds.band(r).0, limit_bytes);
    match crossing {
        Crossing::AtZero => notes.push(format!(
            "the limit {} is at or below the idle baseline: no revision count fits",
            format_bytes(limit_bytes)
        )),
        Crossing::Never if bounds.mean(super::MAX_REVISIONS) > bounds.mean(0.0) => notes.push(format!(
            "the fitted mean does not reach the limit within {:e} revisions (the search range)",
            super::MAX_REVISIONS
        )),
        Crossing::Never => notes.push("the fitted mean never reaches the limit (slope not positive)".into()),
        Crossing::At(_) => {}
    }
    if hi == Crossing::Never && crossing != Crossing::Never {
        notes.push("crossing interval unbounded above: the lower prediction band never reaches the limit (slope not significant at this level)".into());
    }
    let target = limit_bytes * (1.0 - bounds.caution.headroom);
    let upper = |r: f64| bounds.upper(r);
    let safe_crossing = first_crossing(upper, target);
    let safe = match safe_crossing {
        Crossing::AtZero => {
            notes.push(format!(
                "never safe: even 0 revisions have an upper bound of {} above {}",
                format_bytes(bounds.upper(0.0)),
                format_bytes(target)
            ));
            None
        }
        Crossing::Never => {
            notes.push("safe count unbounded: the upper bound never reaches the limit".into());
            None
        }
        Crossing::At(_) => last_safe_integer(upper, target, safe_crossing),
    };
    let max_seen = bounds.model.range(crate::series::REVISIONS).or_else(|| bounds.model.range(crate::series::PORTS));
    let extrapolated = match (safe, max_seen) {
        (Some(s), Some(range)) => {
            let seen = if range.column == crate::series::PORTS { bounds.ports(s as f64) } else { s as f64 };
            seen > range.max
        }
        _ => false,
    };
    if let (true, Some(s)) = (extrapolated, safe) {
        let column = bounds.model.errors.quadratic.as_ref().map_or("count", |q| q.column.as_str());
        notes.push(match bounds.beyond_data(s as f64) {
            Some(k) if bounds.proxy.is_none() => format!(
                "the safe count lies beyond the data, {k:.1}x the largest {column} value measured: its bound is the larger of the straight line's and the quadratic's (a bend the data cannot rule out)"
            ),
            Some(k) => format!("the safe count lies beyond the data, {k:.1}x the largest {column} value measured: an extrapolation of the straight line"),
            None => "the safe count lies beyond the data: an extrapolation".into(),
        });
    }
    let steady = bounds.steady();
    let steady_crossing = first_crossing(|r| steady.mean(r), limit_bytes);
    let steady_target = first_crossing(|r| steady.upper(r), target);
    let steady_safe = match steady_target {
        Crossing::At(_) => last_safe_integer(|r| steady.upper(r), target, steady_target),
        _ => None,
    };
    if bounds.caution.push.kind != super::PushKind::None {
        if let (Some(s), Some(steady_s)) = (safe, steady_safe) {
            if steady_s > s {
                notes.push(format!(
                    "{s} revisions are safe including a config push, {steady_s} at steady state: in between a push OOMKills the proxy"
                ));
            }
        }
        if let Crossing::At(c) = steady_crossing {
            notes.push(format!(
                "beyond {c:.0} revisions the steady state itself exceeds the limit: a restarted Envoy takes the whole configuration at once and is OOMKilled again (a crash loop, not occasional OOMKills)"
            ));
        }
    }
    SafeAnswer {
        limit_bytes,
        crossing_revisions: if crossing == Crossing::AtZero { None } else { crossing.value() },
        crossing_interval: [lo.value(), hi.value()],
        safe_revisions: safe,
        safe_unbounded: safe_crossing == Crossing::Never,
        steady_safe_revisions: steady_safe,
        steady_crossing_revisions: steady_crossing.value().filter(|_| steady_crossing != Crossing::AtZero),
        safe_ports: safe.map(|s| bounds.ports(s as f64)),
        safe_services: safe.map(|s| (s as f64 / revisions_per_service).floor() as u64),
        revisions_per_service,
        extrapolated,
        note: (!notes.is_empty()).then(|| notes.join("; ")),
        oom_check: Vec::new(),
    }
}

/// Compare the model's crossing of each OOM limit with the observed bracket
/// [last good count, count at the OOMKill]. Uses no transient and no headroom: the OOMKill
/// happened at the limit itself.
pub fn oom_consistency(bounds: &Bounds, oom: &[OomObservation]) -> Vec<OomCheck> {
    oom.iter()
        .filter_map(|o| {
            let limit = o.limit_bytes?;
            let crossing = first_crossing(|r| bounds.mean(r), limit).value();
            let lo = first_crossing(|r| bounds.band(r).1, limit).value();
            let hi = first_crossing(|r| bounds.band(r).0, limit).value();
            let b_lo = o.last_good_revisions.unwrap_or(0.0);
            let b_hi = o.revisions.unwrap_or(f64::INFINITY);
            let consistent = lo.is_some_and(|lo| lo <= b_hi) && hi.is_none_or(|hi| hi >= b_lo);
            Some(OomCheck {
                limit_bytes: limit,
                bracket_low: o.last_good_revisions,
                bracket_high: o.revisions,
                crossing_revisions: crossing,
                crossing_interval: [lo, hi],
                consistent,
            })
        })
        .collect()
}
