//! Knative revision garbage collection (`config-gc`), as Knative Serving runs it.
//!
//! Per Configuration (= per Knative Service), each time it is reconciled (knative/serving
//! `pkg/reconciler/gc/gc.go`, identical from knative-v1.11 to v1.23):
//! - Active revisions are never collected and not counted: the latest ready one, those
//!   annotated `serving.knative.dev/no-gc: "true"`, and every revision whose
//!   `serving.knative.dev/routingState` label is not `reserve` (`isRevisionActive`;
//!   [`is_revision_active`]). The labeler (`pkg/reconciler/labeler/metasync.go`) sets `active`
//!   on what the route's traffic names (splits and tags) and moves to `reserve` only revisions it
//!   once listed; a revision is born `pending` (`pkg/reconciler/configuration/resources/revision.go`),
//!   so one the route never listed (traffic pinned to named revisions, or superseded before the
//!   route reconciled) stays `pending` and is never collected: [`RoutingState::never_routed`].
//! - The others are sorted by last activity, oldest first (the `routingStateModified`
//!   annotation, else creation). A revision is stale when it was created at least
//!   `retain-since-create-time` ago **and** last active at least `retain-since-last-active-time`
//!   ago (a disabled setting does not protect; both disabled: nothing is stale). Every stale one
//!   is deleted, skipping the ones that are not, until only `min-non-active-revisions` remain.
//! - Then, beyond `max-non-active-revisions`, the oldest remaining go regardless.
//!
//! `pkg/gc/config.go` refuses a `min-non-active-revisions` that is not a whole number (there is
//! no "disabled"), a negative one, and min > max; durations are Go durations ("0" is one).
//! Defaults (1.11 through 1.23): 48h, 15h, 20, 1000. The reconciler runs on every change of the
//! Configuration and at the informers' resync, every 10 hours (knative/pkg
//! `controller.DefaultResyncPeriod`): a revision that goes stale by time alone waits up to 10
//! hours for it.

use std::fmt;

use serde::Serialize;

use crate::error::{Error, Result};

/// A `config-gc` policy. `None` is Knative's `disabled`.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct GcPolicy {
    /// `retain-since-create-time`, hours.
    pub retain_since_create_h: Option<f64>,
    /// `retain-since-last-active-time`, hours.
    pub retain_since_last_active_h: Option<f64>,
    /// `min-non-active-revisions` (a whole number: Knative has no "disabled" here).
    pub min_non_active: u32,
    /// `max-non-active-revisions`.
    pub max_non_active: Option<u32>,
}

impl Default for GcPolicy {
    fn default() -> Self {
        GcPolicy {
            retain_since_create_h: Some(48.0),
            retain_since_last_active_h: Some(15.0),
            min_non_active: 20,
            max_non_active: Some(1000),
        }
    }
}

/// The informers' resync period that also runs the GC (knative/pkg `DefaultResyncPeriod`), hours.
pub const RESYNC_H: f64 = 10.0;

/// Parse a Knative duration setting as Go's `time.ParseDuration` does (`48h`, `15h30m`,
/// `90s`, `1.5h`, `300ms`, `0`) or `disabled`; hours. Negative durations are refused, as
/// Knative refuses them.
pub fn parse_duration_h(text: &str) -> Result<Option<f64>> {
    let t = text.trim();
    if t.eq_ignore_ascii_case("disabled") {
        return Ok(None);
    }
    let bad = || Error::invalid(format!("duration \"{t}\" must look like 48h, 15h30m, 0 or disabled"));
    let negative = t.starts_with('-');
    let body = t.strip_prefix(['+', '-']).unwrap_or(t);
    // Go accepts a bare 0 (signed or not) and nothing else without a unit.
    if body == "0" {
        return Ok(Some(0.0));
    }
    let mut total = 0.0;
    let mut rest = body;
    if rest.is_empty() {
        return Err(bad());
    }
    while !rest.is_empty() {
        let digits = rest.find(|c: char| !(c.is_ascii_digit() || c == '.')).unwrap_or(rest.len());
        let (number, after) = rest.split_at(digits);
        let v: f64 = number.parse().map_err(|_| bad())?;
        let unit_len = after.find(|c: char| c.is_ascii_digit() || c == '.').unwrap_or(after.len());
        let (unit, next) = after.split_at(unit_len);
        let per_hour = match unit {
            "h" => 1.0,
            "m" => 60.0,
            "s" => 3600.0,
            "ms" => 3.6e6,
            "us" | "\u{b5}s" | "\u{3bc}s" => 3.6e9,
            "ns" => 3.6e12,
            "" => {
                return Err(Error::invalid(format!("duration \"{t}\" needs a unit (h, m or s) or the word disabled")))
            }
            _ => return Err(bad()),
        };
        total += v / per_hour;
        rest = next;
    }
    if !total.is_finite() {
        return Err(bad());
    }
    // Go parses "-0" as 0, which Knative accepts; anything below it Knative refuses.
    if negative && total != 0.0 {
        return Err(Error::invalid(format!("duration \"{t}\" must not be negative (Knative refuses it)")));
    }
    Ok(Some(total))
}

/// Parse `min-non-active-revisions` as Knative's `config-gc` does (`cm.AsInt64` in
/// `pkg/gc/config.go`): a whole number of at least 0; there is no `disabled`.
pub fn parse_min_non_active(text: &str) -> Result<u32> {
    let t = text.trim();
    if t.eq_ignore_ascii_case("disabled") {
        return Err(Error::invalid(format!(
            "\"{t}\" is not a whole number: Knative has no \"disabled\" for min-non-active-revisions (use 0)"
        )));
    }
    t.parse::<u32>().map_err(|_| Error::invalid(format!("\"{t}\" is not a whole number of at least 0")))
}

/// Parse `max-non-active-revisions` as Knative's `config-gc` does (`parseDisabledOrInt64` in
/// `pkg/gc/config.go`): a whole number of at least 0, or `disabled` in any case.
pub fn parse_max_non_active(text: &str) -> Result<Option<u32>> {
    let t = text.trim();
    if t.eq_ignore_ascii_case("disabled") {
        return Ok(None);
    }
    t.parse::<u32>()
        .map(Some)
        .map_err(|_| Error::invalid(format!("\"{t}\" is not a whole number of at least 0 or disabled")))
}

/// A revision's `serving.knative.dev/routingState` label (knative/serving
/// `pkg/apis/serving/v1/revision_helpers.go` at knative-v1.11.0, unchanged at 98e5ef9:
/// `RoutingStateUnset` "", `RoutingStatePending`, `RoutingStateActive`, `RoutingStateReserve`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum RoutingState {
    /// No label, or an empty one (`GetRoutingState` reads both as "").
    Unset,
    /// `pending`: created, not yet listed by the route's labeler.
    Pending,
    /// `active`: the route's traffic names it.
    Active,
    /// `reserve`: the route named it once and no longer does.
    Reserve,
    /// Any other value (the labeler writes none).
    Other,
}

impl RoutingState {
    /// The state a label value gives; `GetRoutingState` compares the exact string.
    pub fn of_label(label: Option<&str>) -> RoutingState {
        match label.unwrap_or("") {
            "" => RoutingState::Unset,
            "pending" => RoutingState::Pending,
            "active" => RoutingState::Active,
            "reserve" => RoutingState::Reserve,
            _ => RoutingState::Other,
        }
    }

    /// Never routed, so never collected: the labeler moves to `reserve` only revisions it
    /// listed as `active` (`clearMetaForNotListed` walks the route's `active` ones), so an
    /// unset, pending or unknown state stays until the route names the revision.
    pub fn never_routed(self) -> bool {
        matches!(self, RoutingState::Unset | RoutingState::Pending | RoutingState::Other)
    }
}

/// gc.go `isRevisionActive` (knative/serving `pkg/reconciler/gc/gc.go` at knative-v1.11.0):
/// the Configuration's latest ready revision, a `no-gc: "true"` one (any case), and "anything
/// that the labeler hasn't explicitly labelled as inactive" (state not `reserve`) are active:
/// never collected and not counted against min/max.
pub fn is_revision_active(latest_ready: bool, no_gc: bool, state: RoutingState) -> bool {
    latest_ready || no_gc || state != RoutingState::Reserve
}

/// One revision as the GC sees it: hours of creation and of last activity, and whether it is
/// active ([`is_revision_active`]: latest ready, pinned with `no-gc`, or not `reserve`: routed
/// or never routed).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct RevisionState {
    /// Creation time, hours.
    pub created_h: f64,
    /// Last activity (the routing state's last change), hours.
    pub last_active_h: f64,
    /// Never collected.
    pub active: bool,
}

impl GcPolicy {
    /// Refuse what Knative's `config-gc` parser refuses: min > max (unless max is disabled).
    pub fn validate(&self) -> Result<()> {
        if let Some(max) = self.max_non_active {
            if self.min_non_active > max {
                return Err(Error::invalid(format!(
                    "min-non-active-revisions ({}) must be <= max-non-active-revisions ({max}), as Knative requires",
                    self.min_non_active
                )));
            }
        }
        Ok(())
    }

    /// One GC pass at `now_h` over one Configuration's revisions, exactly as
    /// `pkg/reconciler/gc/gc.go` runs it; returns the revisions kept, in input order.
    pub fn collect_revisions(&self, revisions: &[RevisionState], now_h: f64) -> Vec<RevisionState> {
        let min = self.min_non_active as usize;
        if self.max_non_active.is_none()
            && self.retain_since_create_h.is_none()
            && self.retain_since_last_active_h.is_none()
        {
            return revisions.to_vec();
        }
        if revisions.len() <= min {
            return revisions.to_vec();
        }
        let mut non_active: Vec<usize> = (0..revisions.len()).filter(|&i| !revisions[i].active).collect();
        if non_active.len() <= min {
            return revisions.to_vec();
        }
        // Oldest last activity first; a stable sort keeps input order on ties.
        non_active.sort_by(|&a, &b| revisions[a].last_active_h.total_cmp(&revisions[b].last_active_h));
        let mut deleted = vec![false; revisions.len()];
        let max_deletions = non_active.len() - min;
        let mut stale_count = 0;
        for &i in &non_active {
            let r = revisions[i];
            if !self.is_stale(now_h - r.created_h, now_h - r.last_active_h) {
                continue; // Knative skips it and goes on
            }
            deleted[i] = true;
            stale_count += 1;
            if stale_count >= max_deletions {
                break;
            }
        }
        let remaining = non_active.len() - stale_count;
        if let Some(max) = self.max_non_active.map(|m| m as usize) {
            if remaining > max {
                let mut extra = remaining - max;
                for &i in &non_active {
                    if extra == 0 {
                        break;
                    }
                    if !deleted[i] {
                        deleted[i] = true;
                        extra -= 1;
                    }
                }
            }
        }
        revisions.iter().zip(&deleted).filter(|(_, &d)| !d).map(|(r, _)| *r).collect()
    }

    /// Non-active revisions retained per service in steady state at `updates_per_day`, counted
    /// right after a reconcile (the peak: the count only drops between updates).
    ///
    /// With updates every `d` hours, the k-th newest non-active revision was created `k d` ago
    /// and last active `(k-1) d` ago, so the time rules protect
    /// `max(ceil(create / d) - 1, ceil(active / d))` of them; the min and max bounds apply on top.
    pub fn steady_non_active(&self, updates_per_day: f64) -> f64 {
        if updates_per_day <= 0.0 {
            return 0.0;
        }
        let d = 24.0 / updates_per_day;
        // Exact multiples (48h at 47 a day is 94 intervals) must not round up: ceil with a
        // relative tolerance far below any real spacing.
        let ceil = |x: f64| (x - 1e-9 * x.abs()).ceil();
        let protected = match (self.retain_since_create_h, self.retain_since_last_active_h) {
            (None, None) => f64::INFINITY,
            (c, a) => {
                let by_create = c.map_or(0.0, |c| (ceil(c / d) - 1.0).max(0.0));
                let by_active = a.map_or(0.0, |a| ceil(a / d));
                by_create.max(by_active)
            }
        };
        let kept = protected.max(f64::from(self.min_non_active));
        match self.max_non_active {
            Some(m) => kept.min(f64::from(m)),
            // Unbounded: a service keeps every revision it ever had; callers cap by history.
            None => kept,
        }
    }

    /// Revisions that never route and that GC therefore never collects, per service, after
    /// `days` at `updates_per_day` of which the share `unrouted_share` never routes (each such
    /// revision stays `pending`: [`RoutingState::never_routed`]). They grow without bound; the
    /// updates that route form the collected chain at `(1 - share)` of the rate
    /// ([`GcPolicy::chain_rate`]).
    pub fn unrouted_after(updates_per_day: f64, unrouted_share: f64, days: f64) -> f64 {
        (updates_per_day * unrouted_share * days).max(0.0)
    }

    /// The rate of updates that route (and so feed the non-active revisions GC collects) when
    /// the share `unrouted_share` of `updates_per_day` never routes.
    pub fn chain_rate(updates_per_day: f64, unrouted_share: f64) -> f64 {
        updates_per_day * (1.0 - unrouted_share)
    }

    /// Revisions per service in steady state: the retained non-active ones plus the active one.
    pub fn steady_revisions(&self, updates_per_day: f64) -> f64 {
        1.0 + self.steady_non_active(updates_per_day)
    }

    /// Revisions per service in the long run for a service that starts with `start` revisions
    /// (1 = only the active one): with updates, the steady state; without, what GC leaves of the
    /// start once every non-active revision has aged past the time rules.
    pub fn long_run_revisions(&self, updates_per_day: f64, start: f64) -> f64 {
        if updates_per_day > 0.0 {
            return self.steady_revisions(updates_per_day);
        }
        let non_active = (start - 1.0).max(0.0);
        let kept = match (self.retain_since_create_h, self.retain_since_last_active_h) {
            (None, None) => non_active,
            _ => non_active.min(f64::from(self.min_non_active)),
        };
        1.0 + self.max_non_active.map_or(kept, |m| kept.min(f64::from(m)))
    }

    /// Whether a non-active revision created `created_ago_h` ago and last active
    /// `active_ago_h` ago is stale.
    #[inline]
    pub fn is_stale(&self, created_ago_h: f64, active_ago_h: f64) -> bool {
        match (self.retain_since_create_h, self.retain_since_last_active_h) {
            (None, None) => false,
            (c, a) => c.is_none_or(|c| created_ago_h >= c) && a.is_none_or(|a| active_ago_h >= a),
        }
    }

    /// Collect one service's revisions at time `now_h`, for the common history where each
    /// update routes all traffic to the new revision. `created_h` holds creation times, oldest
    /// first; the last entry is the active revision, and each non-active revision was last
    /// active when its successor was created. Both ages then fall with the position, so the
    /// stale revisions are a prefix and popping it equals [`GcPolicy::collect_revisions`] (a
    /// test holds the two together). Removes from the front (the oldest).
    pub fn collect(&self, created_h: &mut std::collections::VecDeque<f64>, now_h: f64) {
        let min = self.min_non_active as usize;
        loop {
            let non_active = created_h.len().saturating_sub(1);
            if non_active == 0 {
                return;
            }
            let over_max = self.max_non_active.is_some_and(|m| non_active > m as usize);
            let stale = non_active > min && self.is_stale(now_h - created_h[0], now_h - created_h[1]);
            if over_max || stale {
                created_h.pop_front();
            } else {
                return;
            }
        }
    }
}

impl fmt::Display for GcPolicy {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let h = |v: Option<f64>| v.map_or_else(|| "disabled".to_string(), |v| format!("{v}h"));
        let n = |v: Option<u32>| v.map_or_else(|| "disabled".to_string(), |v| v.to_string());
        write!(
            f,
            "create {} / active {} / min {} / max {}",
            h(self.retain_since_create_h),
            h(self.retain_since_last_active_h),
            self.min_non_active,
            n(self.max_non_active)
        )
    }
}

#[cfg(test)]
mod tests;
