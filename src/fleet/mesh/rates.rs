//! A Knative service's observed update rate: its revisions' creation times read as the
//! arrivals of a Poisson process.
//!
//! The topology lists the creation times of the revisions GC has kept (`import kubectl` copies
//! each Revision's `creationTimestamp`). GC deletes non-active revisions oldest last activity
//! first (knative/serving `pkg/reconciler/gc/gc.go`, `collect`: sorted by
//! `revisionLastActiveTime`), so what is kept is the newest revisions, plus routed or pinned
//! ones that may be older than deleted ones (`isRevisionActive`). So the `routed - 1 + pinned`
//! oldest times are set aside, and the window opens at the oldest time left and closes at the
//! proxy's last reading (or the newest creation, when the topology is younger). Every revision
//! created inside the window is still there. A Poisson process starts afresh at an arrival, so
//! the count after the opening one is Poisson with mean `rate x span` and Garwood's interval
//! ([`growth::arrivals`](super::super::growth::arrivals)) is exact. Where GC's minimum count
//! decided how far back the window reaches (the 20 newest kept), its span is random instead and
//! the same interval is conservative.

use serde::Serialize;

use super::super::growth::{arrivals, Growth, DAY};

/// The arrivals a service's window holds.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Window {
    /// Revisions created after the opening one.
    pub arrivals: f64,
    /// Days from the opening revision to the window's end.
    pub span_days: f64,
}

/// The window of creation times `created_unix` (any order) with the `set_aside` oldest put
/// aside, ending at `end_unix` or the newest creation if later; `None` without a time left or
/// when the window has no length.
pub fn window(created_unix: &[f64], set_aside: usize, end_unix: f64) -> Option<Window> {
    let mut t: Vec<f64> = created_unix.iter().copied().filter(|x| x.is_finite()).collect();
    t.sort_by(f64::total_cmp);
    let kept = t.get(set_aside.min(t.len().saturating_sub(1))..)?;
    let (first, newest) = (*kept.first()?, *kept.last()?);
    let span_days = (end_unix.max(newest) - first) / DAY;
    (span_days > 0.0).then_some(Window { arrivals: (kept.len() - 1) as f64, span_days })
}

/// Revisions per day of a service from its creation times, with the interval at `level`;
/// `None` where [`window`] is.
pub fn update_rate(created_unix: &[f64], set_aside: usize, end_unix: f64, level: f64) -> Option<Growth> {
    let w = window(created_unix, set_aside, end_unix)?;
    arrivals(&[(w.arrivals, 1.0, w.span_days)], level)
}

/// One Knative service's update rate and what GC keeps of it: a row of the `mesh.services`
/// list in `fleet --format json`.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ServiceRate {
    /// `namespace/name`.
    pub service: String,
    /// Alike services it stands for (the topology's `count`).
    pub count: u32,
    /// Revisions retained now (each).
    pub revisions: u32,
    /// Revisions GC never collects: routed (at least the latest ready), pinned and never routed.
    pub active: u32,
    /// Of those, the never-routed ones (routingState pending or unset): they add up.
    pub unrouted: u32,
    /// Revisions created per day (null without creation times).
    pub updates_per_day: Option<f64>,
    /// Interval of that rate at the fleet's level.
    pub updates_interval: Option<[f64; 2]>,
    /// Days the rate was observed over.
    pub window_days: Option<f64>,
    /// Never-routed revisions created per day ([`leak_rate`]; null without any).
    pub unrouted_per_day: Option<f64>,
    /// Revisions GC holds the service at, at that rate (null when unbounded, as with
    /// never-routed revisions).
    pub cap_revisions: Option<f64>,
}

/// Never-routed revisions a day of a service holding `unrouted` of them: GC never collects
/// them (knative/serving `pkg/reconciler/gc/gc.go` `isRevisionActive` at knative-v1.11.0), so
/// every one ever created is still there, each created no earlier than the oldest revision
/// kept. Their count over the span from that oldest creation to `end_unix` (or the newest
/// creation, when later) is the rate's estimate; 0 without a span.
pub fn leak_rate(created_unix: &[f64], unrouted: u32, end_unix: f64) -> f64 {
    let finite = || created_unix.iter().copied().filter(|x| x.is_finite());
    let (Some(first), Some(newest)) = (finite().reduce(f64::min), finite().reduce(f64::max)) else {
        return 0.0;
    };
    let span_days = (end_unix.max(newest) - first) / DAY;
    if unrouted == 0 || span_days <= 0.0 {
        0.0
    } else {
        f64::from(unrouted) / span_days
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_window_opens_at_the_oldest_kept_revision() {
        // Revisions at days 0, 1, 2, 3 and an end at day 5: 3 arrivals over 5 days.
        let t: Vec<f64> = (0..4).map(|d| f64::from(d) * DAY).collect();
        assert_eq!(window(&t, 0, 5.0 * DAY), Some(Window { arrivals: 3.0, span_days: 5.0 }));
        // One set aside (a revision that may have outlived deleted ones): 2 over 4 days.
        assert_eq!(window(&t, 1, 5.0 * DAY), Some(Window { arrivals: 2.0, span_days: 4.0 }));
        // A topology younger than the series: the window ends at the newest creation.
        assert_eq!(window(&t, 0, 1.0 * DAY), Some(Window { arrivals: 3.0, span_days: 3.0 }));
        // Setting aside everything keeps the newest; one revision and no length: no window.
        assert_eq!(window(&t, 9, 5.0 * DAY), Some(Window { arrivals: 0.0, span_days: 2.0 }));
        assert_eq!(window(&[DAY], 0, DAY), None);
        assert_eq!(window(&[], 0, DAY), None);
        // Garwood for 3 events in 5 days: [0.6187, 8.7673] / 5 (chi-square quantiles / 2).
        let g = update_rate(&t, 0, 5.0 * DAY, 0.95).unwrap();
        assert!((g.per_day - 0.6).abs() < 1e-12, "{g:?}");
        assert!((g.interval[0] - 0.6187 / 5.0).abs() < 1e-4 && (g.interval[1] - 8.7673 / 5.0).abs() < 1e-4, "{g:?}");
    }
}
