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

/// The revisions of knative/serving `pkg/reconciler/gc/gc_test.go` (knative-v1.11.0), written
/// by hand: `(name, created_h, last_active_h, latest_ready, no_gc, state)`. Times in hours
/// before `now = 0`; a revision made by `MakeRevision` without `WithCreationTimestamp` has the
/// zero creation time (ancient), and `WithRoutingState` stamps `routingStateModified` with the
/// fake clock's now unless `WithRoutingStateModified` comes after it.
type Rev = (&'static str, f64, f64, bool, bool, RoutingState);

fn upstream_pass(gc: &GcPolicy, revs: &[Rev]) -> Vec<&'static str> {
    let states: Vec<RevisionState> = revs
        .iter()
        .enumerate()
        // 3.6 ms apart in creation, so that equal revisions stay told apart below.
        .map(|(i, &(_, created_h, last_active_h, latest_ready, no_gc, state))| RevisionState {
            created_h: created_h - i as f64 * 1e-6,
            last_active_h,
            active: is_revision_active(latest_ready, no_gc, state),
        })
        .collect();
    let kept = gc.collect_revisions(&states, 0.0);
    // Deleted: what the pass did not keep (gc_test.go lists deletions).
    revs.iter().zip(&states).filter(|(_, s)| !kept.contains(s)).map(|(r, _)| r.0).collect()
}

/// gc_test.go `TestCollectMin`, `TestCollectMax` and `TestCollectSettings`, case by case, with
/// the deletions upstream expects. "keep oldest when none Reserved": pending and unset
/// revisions are never deleted (gc.go `isRevisionActive`: "Revisions which do not yet have any
/// annotation are not eligible for deletion").
#[test]
fn knative_gc_test_cases_by_hand() {
    use RoutingState::{Active, Pending, Reserve, Unset};
    let m = |minutes: f64| -minutes / 60.0;
    let (ancient, now, old, older, oldest) = (-1e6, 0.0, m(11.0), m(12.0), m(13.0));
    let min_cfg = GcPolicy {
        retain_since_create_h: Some(5.0 / 60.0),
        retain_since_last_active_h: Some(5.0 / 60.0),
        min_non_active: 1,
        max_non_active: None,
    };
    let cases: [(&str, &[Rev], &[&str]); 6] = [
        ("too few revisions", &[("5556", ancient, now, true, false, Active)], &[]),
        (
            "delete oldest, keep one recent, one active",
            &[
                ("5554", ancient, oldest, false, false, Reserve),
                ("5555", ancient, older, false, false, Reserve),
                ("5556", ancient, old, true, false, Active),
            ],
            &["5554"],
        ),
        (
            "no latest ready, one active",
            &[
                ("5554", ancient, oldest, false, false, Reserve),
                ("5555", ancient, older, false, false, Reserve),
                ("5556", ancient, old, false, false, Active),
            ],
            &["5554"],
        ),
        (
            "keep oldest when none Reserved",
            &[
                ("5554", oldest, now, false, false, Pending),
                ("5555", older, now, false, false, Unset),
                ("5556", old, now, true, false, Active),
            ],
            &[],
        ),
        (
            "none stale",
            &[
                ("5554", ancient, now, false, false, Reserve),
                ("5555", ancient, now, false, false, Reserve),
                ("5556", ancient, now, false, false, Reserve),
            ],
            &[],
        ),
        (
            "keep oldest because of the preserve annotation",
            &[
                ("5554", ancient, now, false, true, Reserve),
                ("5555", ancient, older, false, false, Reserve),
                ("5556", ancient, old, false, false, Reserve),
            ],
            &["5555"],
        ),
    ];
    for (name, revs, deleted) in cases {
        assert_eq!(upstream_pass(&min_cfg, revs), deleted, "TestCollectMin {name}");
    }
    let max_cfg = GcPolicy {
        retain_since_create_h: Some(1.0),
        retain_since_last_active_h: Some(1.0),
        min_non_active: 1,
        max_non_active: Some(2),
    };
    let at_max: &[Rev] = &[
        ("5554", ancient, older, false, false, Reserve),
        ("5555", ancient, older, false, false, Reserve),
        ("5556", ancient, old, true, false, Active),
    ];
    assert_eq!(upstream_pass(&max_cfg, at_max), Vec::<&str>::new(), "TestCollectMax at max");
    let three: &[Rev] = &[
        ("5553", ancient, oldest, false, false, Reserve),
        ("5554", ancient, older, false, false, Reserve),
        ("5555", ancient, older, false, false, Reserve),
        ("5556", ancient, old, true, false, Active),
    ];
    assert_eq!(upstream_pass(&max_cfg, three), ["5553"], "TestCollectMax delete oldest, keep three max");
    let all_active: Vec<Rev> =
        ["5553", "5554", "5555", "5556"].iter().map(|&n| (n, ancient, now, n == "5556", false, Active)).collect();
    assert_eq!(upstream_pass(&max_cfg, &all_active), Vec::<&str>::new(), "TestCollectMax over max, all active");
    let settings: &[Rev] = &[
        ("5554", ancient, oldest, false, false, Reserve),
        ("5555", ancient, older, false, false, Reserve),
        ("5556", ancient, old, true, false, Active),
    ];
    let none = GcPolicy { retain_since_create_h: None, retain_since_last_active_h: None, ..max_cfg };
    let all_disabled = GcPolicy { max_non_active: None, ..none };
    let staleness_disabled = GcPolicy { min_non_active: 0, max_non_active: Some(1), ..none };
    let max_disabled = GcPolicy { retain_since_last_active_h: Some(1.0 / 60.0), max_non_active: None, ..none };
    assert_eq!(upstream_pass(&all_disabled, settings), Vec::<&str>::new(), "all disabled");
    assert_eq!(upstream_pass(&staleness_disabled, settings), ["5554"], "staleness disabled");
    assert_eq!(upstream_pass(&max_disabled, settings), ["5554"], "max disabled");
}

/// Beyond gc_test.go: the same ancient, long-idle revisions are all deleted as `reserve` and
/// all kept as `pending`/unset, past `max-non-active-revisions` too; they are not counted, so
/// the reserve ones beside them go as if they were absent (gc.go `nonactiveRevisions`).
#[test]
fn never_routed_revisions_are_never_collected_nor_counted() {
    use RoutingState::{Active, Other, Pending, Reserve, Unset};
    let gc = GcPolicy { min_non_active: 1, max_non_active: Some(2), ..GcPolicy::default() };
    let idle = |name, state| (name, -1e6, -1e5, false, false, state);
    let reserve: Vec<Rev> =
        ["a", "b", "c", "d"].iter().map(|&n| idle(n, Reserve)).chain([("z", 0.0, 0.0, true, false, Active)]).collect();
    // Four stale reserve revisions, min 1: the three oldest by last activity go (ties: input order).
    assert_eq!(upstream_pass(&gc, &reserve), ["a", "b", "c"]);
    let mixed: Vec<Rev> = vec![
        idle("p1", Pending),
        idle("p2", Unset),
        idle("p3", Other),
        idle("p4", Pending),
        idle("r1", Reserve),
        idle("r2", Reserve),
        ("z", 0.0, 0.0, true, false, Active),
    ];
    // Only the two reserve revisions count as non-active: above min 1, so the older goes.
    assert_eq!(upstream_pass(&gc, &mixed), ["r1"]);
    assert_eq!(RoutingState::of_label(None), Unset);
    assert_eq!(RoutingState::of_label(Some("")), Unset);
    assert_eq!(RoutingState::of_label(Some("Reserve")), Other, "GetRoutingState compares the exact string");
    assert!(Pending.never_routed() && Unset.never_routed() && !Active.never_routed() && !Reserve.never_routed());
    assert!(is_revision_active(false, false, Other) && !is_revision_active(false, false, Reserve));
}

/// Never-routed revisions add up without bound; the updates that route feed the chain GC caps.
#[test]
fn unrouted_revisions_accumulate_at_their_share_of_the_updates() {
    // 20 updates a day, 5% never route: 1 a day, 90 after 90 days; the chain runs at 19 a day.
    assert_eq!(GcPolicy::unrouted_after(20.0, 0.05, 90.0), 90.0);
    assert_eq!(GcPolicy::chain_rate(20.0, 0.05), 19.0);
    assert_eq!(GcPolicy::unrouted_after(20.0, 0.0, 90.0), 0.0);
}
