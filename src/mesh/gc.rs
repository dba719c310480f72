//! Knative revision garbage collection (`config-gc`), as Knative Serving runs it.
//!
//! Per Configuration (= per Knative Service), each time it is reconciled: revisions are ordered
//! newest first; the active (routed) one is never collected; a non-active revision is stale when
//! it was created more than `retain-since-create-time` ago **and** last active more than
//! `retain-since-last-active-time` ago (a disabled setting does not protect; both disabled:
//! nothing is stale). Stale revisions go while more than `min-non-active-revisions` remain;
//! beyond `max-non-active-revisions` non-active ones, the oldest go regardless. Defaults
//! (Knative 1.11 through 1.23): 48h, 15h, 20, 1000. Source: knative/serving `pkg/gc/config.go`
//! and `pkg/reconciler/gc`.

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
    /// `min-non-active-revisions`.
    pub min_non_active: Option<u32>,
    /// `max-non-active-revisions`.
    pub max_non_active: Option<u32>,
}

impl Default for GcPolicy {
    fn default() -> Self {
        GcPolicy {
            retain_since_create_h: Some(48.0),
            retain_since_last_active_h: Some(15.0),
            min_non_active: Some(20),
            max_non_active: Some(1000),
        }
    }
}

/// Parse a Knative duration setting: `48h`, `15h`, `30m`, `90s`, `2h30m` or `disabled`; hours.
pub fn parse_duration_h(text: &str) -> Result<Option<f64>> {
    let t = text.trim();
    if t == "disabled" {
        return Ok(None);
    }
    let mut total = 0.0;
    let mut number = String::new();
    let mut any = false;
    for c in t.chars() {
        if c.is_ascii_digit() || c == '.' {
            number.push(c);
            continue;
        }
        let unit = match c {
            'h' => 1.0,
            'm' => 1.0 / 60.0,
            's' => 1.0 / 3600.0,
            _ => return Err(Error::invalid(format!("duration \"{t}\" must look like 48h, 15h30m or disabled"))),
        };
        let v: f64 = number
            .parse()
            .map_err(|_| Error::invalid(format!("duration \"{t}\" must look like 48h, 15h30m or disabled")))?;
        total += v * unit;
        number.clear();
        any = true;
    }
    if !number.is_empty() || !any {
        return Err(Error::invalid(format!("duration \"{t}\" needs a unit (h, m or s) or the word disabled")));
    }
    Ok(Some(total))
}

impl GcPolicy {
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
        let kept = protected.max(f64::from(self.min_non_active.unwrap_or(0)));
        match self.max_non_active {
            Some(m) => kept.min(f64::from(m)),
            // Unbounded: a service keeps every revision it ever had; callers cap by history.
            None => kept,
        }
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
            _ => non_active.min(f64::from(self.min_non_active.unwrap_or(0))),
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

    /// Collect one service's revisions at time `now_h`. `created_h` holds creation times,
    /// oldest first; the last entry is the active revision, and each non-active revision was
    /// last active when its successor was created. Removes from the front (the oldest).
    pub fn collect(&self, created_h: &mut std::collections::VecDeque<f64>, now_h: f64) {
        let min = self.min_non_active.map_or(0, |m| m as usize);
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
            n(self.min_non_active),
            n(self.max_non_active)
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::VecDeque;

    #[test]
    fn defaults_hand_worked() {
        let gc = GcPolicy::default();
        // 1 update a day: only the minimum of 20 non-active revisions survives.
        assert_eq!(gc.steady_non_active(1.0), 20.0);
        // 100 a day: those created within 48h, about 200 (199 plus the active one).
        assert_eq!(gc.steady_non_active(100.0), 199.0);
        assert_eq!(gc.steady_revisions(100.0), 200.0);
        // 1000 a day would keep ~2000 within 48h: capped at 1000.
        assert_eq!(gc.steady_non_active(1000.0), 1000.0);
    }

    #[test]
    fn burst_of_1500_within_an_hour_keeps_1000() {
        let gc = GcPolicy::default();
        let mut revs = VecDeque::new();
        for i in 0..1500 {
            let t = i as f64 / 1500.0;
            revs.push_back(t);
            gc.collect(&mut revs, t);
        }
        assert_eq!(revs.len() - 1, 1000);
        // A day later nothing new is stale by the 48h rule yet.
        gc.collect(&mut revs, 25.0);
        assert_eq!(revs.len() - 1, 1000);
        // Three days later only the minimum survives.
        gc.collect(&mut revs, 80.0);
        assert_eq!(revs.len() - 1, 20);
    }

    #[test]
    fn simulated_daily_updates_match_steady_state() {
        for per_day in [1.0, 4.0, 24.0, 100.0] {
            let gc = GcPolicy::default();
            let mut revs = VecDeque::new();
            let d = 24.0 / per_day;
            for i in 0..(per_day as usize * 10).max(100) {
                let t = i as f64 * d;
                revs.push_back(t);
                gc.collect(&mut revs, t);
            }
            assert_eq!((revs.len() - 1) as f64, gc.steady_non_active(per_day), "{per_day}/day");
        }
    }

    #[test]
    fn exact_multiples_do_not_round_up() {
        // 47 a day: 48h is exactly 94 intervals, so revisions 1..=93 are younger than 48h.
        assert_eq!(GcPolicy::default().steady_non_active(47.0), 93.0);
        let gc = GcPolicy::default();
        let mut revs = VecDeque::new();
        let d = 24.0 / 47.0;
        for i in 0..2000 {
            let t = f64::from(i) * d;
            revs.push_back(t);
            gc.collect(&mut revs, t);
        }
        assert_eq!((revs.len() - 1) as f64, 93.0);
    }

    #[test]
    fn no_updates_keep_what_gc_leaves_of_the_start() {
        let gc = GcPolicy::default();
        assert_eq!(gc.long_run_revisions(0.0, 40.0), 21.0, "min 20 non-active + active");
        assert_eq!(gc.long_run_revisions(0.0, 5.0), 5.0);
        assert_eq!(gc.long_run_revisions(0.0, 1.0), 1.0);
        let none = GcPolicy { retain_since_create_h: None, retain_since_last_active_h: None, ..gc };
        assert_eq!(none.long_run_revisions(0.0, 1500.0), 1001.0, "only max collects");
        assert_eq!(gc.long_run_revisions(100.0, 40.0), gc.steady_revisions(100.0));
    }

    #[test]
    fn disabled_settings() {
        let none = GcPolicy { retain_since_create_h: None, retain_since_last_active_h: None, ..GcPolicy::default() };
        assert_eq!(none.steady_non_active(100.0), 1000.0, "only max collects");
        let active_only = GcPolicy { retain_since_create_h: None, ..GcPolicy::default() };
        // 100 a day, every 0.24h: 15h protects ceil(62.5) = 63 > 20.
        assert_eq!(active_only.steady_non_active(100.0), 63.0);
        assert_eq!(parse_duration_h("2h30m").unwrap(), Some(2.5));
        assert_eq!(parse_duration_h("disabled").unwrap(), None);
        assert!(parse_duration_h("48").is_err());
        assert!(parse_duration_h("forever").is_err());
    }
}
