//! Knative GC against hand-worked histories and against gc.go's pass.

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

/// Go's time.ParseDuration, which Knative's config-gc uses (pkg/gc/config.go,
/// parseDisabledOrDuration): "0" needs no unit, fractions and ms are fine, negatives are
/// refused by Knative.
#[test]
fn durations_parse_as_go_and_knative_do() {
    assert_eq!(parse_duration_h("0").unwrap(), Some(0.0));
    assert_eq!(parse_duration_h("1.5h").unwrap(), Some(1.5));
    assert_eq!(parse_duration_h("90m").unwrap(), Some(1.5));
    assert_eq!(parse_duration_h("3600000ms").unwrap(), Some(1.0));
    assert_eq!(parse_duration_h("Disabled").unwrap(), None);
    assert_eq!(parse_duration_h("-0").unwrap(), Some(0.0), "Go parses -0; Knative accepts it");
    assert_eq!(parse_duration_h("-0s").unwrap(), Some(0.0));
    for bad in ["-1h", "", "h", "1x", "1h-", "0.0", "00", "-"] {
        assert!(parse_duration_h(bad).is_err(), "{bad}");
    }
}

/// pkg/gc/config.go: `min-non-active-revisions(%d) must be <= max-non-active-revisions(%d)`.
#[test]
fn min_above_max_is_refused_naming_both() {
    let gc = GcPolicy { min_non_active: 30, max_non_active: Some(10), ..GcPolicy::default() };
    let e = gc.validate().unwrap_err().to_string();
    assert!(e.contains("(30)") && e.contains("(10)"), "{e}");
    assert!(GcPolicy { max_non_active: None, ..gc }.validate().is_ok(), "max disabled: no bound");
}

/// gc.go's stale pass skips a revision that is not stale and goes on (a revision that was
/// routed until recently sits among old ones); the old queue model stopped there.
#[test]
fn every_stale_revision_goes_not_only_a_prefix() {
    let gc = GcPolicy { min_non_active: 0, ..GcPolicy::default() };
    let r = |created_h: f64, last_active_h: f64, active: bool| RevisionState { created_h, last_active_h, active };
    // At t = 100h: rev 0 created at 0, but routed (a 10% split) until 95h: recently active.
    // Revs 1 and 2 are old and idle since 10h and 20h: stale. Rev 3 is the latest ready.
    let revs = [r(0.0, 95.0, false), r(5.0, 10.0, false), r(8.0, 20.0, false), r(90.0, 90.0, true)];
    let kept = gc.collect_revisions(&revs, 100.0);
    assert_eq!(kept, vec![revs[0], revs[3]], "both stale ones go, the recently active one stays");
    // Pinned (no-gc) and routed revisions are active: never collected, not counted.
    let pinned = [r(0.0, 0.0, true), r(1.0, 1.0, false), r(2.0, 2.0, true)];
    assert_eq!(gc.collect_revisions(&pinned, 500.0), vec![pinned[0], pinned[2]]);
    // min keeps the newest-active 2 of 4 stale ones (the oldest by last activity go).
    let gc2 = GcPolicy { min_non_active: 2, ..GcPolicy::default() };
    let four = [r(0.0, 3.0, false), r(0.0, 1.0, false), r(0.0, 4.0, false), r(0.0, 2.0, false), r(9.0, 9.0, true)];
    assert_eq!(gc2.collect_revisions(&four, 500.0), vec![four[0], four[2], four[4]]);
}

/// On a sequential history (each update routes all traffic to the new revision) the queue
/// model the simulation relies on equals gc.go's pass, for random histories and policies.
#[test]
fn queue_model_equals_knative_pass_on_sequential_histories() {
    let mut state = 0x2545_f491_4f6c_dd1d_u64;
    let mut next = || {
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        state
    };
    for _ in 0..400 {
        let gc = GcPolicy {
            retain_since_create_h: (next() % 4 != 0).then(|| (next() % 72) as f64),
            retain_since_last_active_h: (next() % 4 != 0).then(|| (next() % 30) as f64),
            min_non_active: (next() % 6) as u32,
            max_non_active: (next() % 3 != 0).then(|| 6 + (next() % 10) as u32),
        };
        let mut queue = VecDeque::new();
        let mut states: Vec<RevisionState> = Vec::new();
        let mut t = 0.0;
        for _ in 0..60 {
            t += (next() % 1000) as f64 / 100.0;
            queue.push_back(t);
            if let Some(last) = states.last_mut() {
                last.active = false;
                last.last_active_h = t;
            }
            states.push(RevisionState { created_h: t, last_active_h: t, active: true });
            let now = t + (next() % 500) as f64 / 100.0;
            gc.collect(&mut queue, now);
            states = gc.collect_revisions(&states, now);
            let created: Vec<f64> = states.iter().map(|s| s.created_h).collect();
            assert_eq!(created, queue.iter().copied().collect::<Vec<_>>(), "{gc}");
        }
    }
}

/// The counts as Knative's `config-gc` reads them (pkg/gc/config.go: `cm.AsInt64` for the
/// minimum, `parseDisabledOrInt64` for the maximum, EqualFold on "disabled").
#[test]
fn revision_counts_parse_as_knative_does() {
    assert_eq!(parse_min_non_active(" 20 ").unwrap(), 20);
    assert!(parse_min_non_active("disabled").unwrap_err().to_string().contains("no \"disabled\""));
    assert!(parse_min_non_active("-1").is_err() && parse_min_non_active("2.5").is_err());
    assert_eq!(parse_max_non_active("1000").unwrap(), Some(1000));
    assert_eq!(parse_max_non_active("DISABLED").unwrap(), None);
    assert!(parse_max_non_active("-1").is_err() && parse_max_non_active("").is_err());
}
