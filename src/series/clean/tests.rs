//! Unit tests of cleaning: restarts, OOMKills and double counting on hand-made series.
use super::*;
use std::path::Path;

/// Memory and limit in Mi; 20 revisions throughout.
fn series(memory: &[f64], limit: Option<f64>) -> Series {
    const MI: f64 = 1_048_576.0;
    let mut cols = vec![("revisions".to_string(), vec![20.0; memory.len()])];
    cols.push(("memory".to_string(), memory.iter().map(|m| m * MI).collect()));
    if let Some(l) = limit {
        cols.push(("limit".to_string(), vec![l * MI; memory.len()]));
    }
    Series::from_columns(Path::new("t.csv"), cols).unwrap()
}

fn events(s: &Series) -> Vec<Option<&'static str>> {
    s.rows.iter().map(|r| r.event.map(Event::as_str)).collect()
}

#[test]
fn double_count_plateau_then_restart_near_limit() {
    let m = [100.0, 110.0, 120.0, 235.0, 240.0, 121.0, 125.0];
    let (out, rep) = clean(&series(&m, Some(130.0)), &CleanSettings::default()).unwrap();
    assert_eq!(events(&out), vec![None, None, Some("oom"), Some("double-count"), Some("double-count"), None, None]);
    assert_eq!((rep.restarts, rep.ooms, rep.double_counted_rows), (1, 1, 2));
    assert!(rep.fix.as_deref().unwrap().contains("max by (namespace, pod)"));
    // Idempotent.
    let (again, rep2) = clean(&out, &CleanSettings::default()).unwrap();
    assert_eq!(events(&again), events(&out));
    assert!(rep2.changes.is_empty());
}

#[test]
fn drop_after_a_rise_is_a_restart_and_far_from_the_limit_no_oom() {
    let m = [100.0, 150.0, 200.0, 90.0, 100.0, 110.0];
    let mut s = series(&m, Some(1000.0));
    // Growth that the revisions explain.
    s.columns[0] = {
        let mut c = crate::series::Column::new("revisions");
        for v in [100.0, 150.0, 200.0, 200.0, 200.0, 200.0] {
            c.push(crate::series::Cell::Number(v));
        }
        c
    };
    let (out, rep) = clean(&s, &CleanSettings::default()).unwrap();
    assert_eq!(events(&out), vec![None, None, None, Some("restart"), None, None]);
    assert_eq!((rep.restarts, rep.ooms), (1, 0));
    // A 39% drop is not a restart; a lasting doubling is growth, not double counting.
    let m = [100.0, 61.0, 62.0, 130.0, 131.0];
    let (out, _) = clean(&series(&m, None), &CleanSettings::default()).unwrap();
    assert!(events(&out).iter().all(Option::is_none));
}

#[test]
fn growth_then_oom_is_not_double_counting() {
    // Real growth (ports 10 -> 22) to near the 200Mi limit, then the restart.
    let mut s = series(&[100.0, 170.0, 175.0, 185.0, 60.0, 62.0], Some(200.0));
    s.columns[0] = {
        let mut c = crate::series::Column::new("ports");
        for v in [10.0, 22.0, 22.0, 22.0, 22.0, 22.0] {
            c.push(crate::series::Cell::Number(v));
        }
        c
    };
    let (out, rep) = clean(&s, &CleanSettings::default()).unwrap();
    assert_eq!(events(&out), vec![None, None, None, Some("oom"), Some("restart"), None]);
    assert_eq!((rep.double_counted_rows, rep.ooms), (0, 1));
}

#[test]
fn ramping_double_count_and_oom_at_the_first_row() {
    // The new container loads config while both are summed: the bump ramps up.
    let m = [100.0, 105.0, 110.0, 150.0, 180.0, 215.0, 108.0, 109.0];
    let (out, rep) = clean(&series(&m, Some(1000.0)), &CleanSettings::default()).unwrap();
    let want = [None, None, None, Some("double-count"), Some("double-count"), Some("double-count"), None, None];
    assert_eq!(events(&out), want.to_vec());
    assert_eq!(rep.restarts, 1);
    // No rise before, but the first reading was at the limit.
    let (out, _) = clean(&series(&[190.0, 60.0, 70.0], Some(200.0)), &CleanSettings::default()).unwrap();
    assert_eq!(events(&out), vec![Some("oom"), Some("restart"), None]);
    // A limit without a unit is refused.
    assert!(clean(&series(&[150.0, 160.0], Some(128.0 / 1_048_576.0)), &CleanSettings::default())
        .unwrap_err()
        .to_string()
        .contains("under 1Mi"));
}

#[test]
fn a_fast_climb_to_the_limit_is_an_oom_not_double_counting() {
    // Review: 140 and 190 of a 200Mi limit were taken for double counting.
    let m = [100.0, 140.0, 190.0, 100.0, 101.0, 102.0];
    let (out, rep) = clean(&series(&m, Some(200.0)), &CleanSettings::default()).unwrap();
    assert_eq!(events(&out), vec![None, None, Some("oom"), Some("restart"), None, None]);
    assert_eq!((rep.restarts, rep.ooms, rep.double_counted_rows), (1, 1, 0));
    // An OOM loop: three restarts, three OOMKills.
    let m = [60.0, 195.0, 60.0, 195.0, 60.0, 195.0, 60.0];
    let (_, rep) = clean(&series(&m, Some(200.0)), &CleanSettings::default()).unwrap();
    assert_eq!((rep.restarts, rep.ooms), (3, 3));
}

#[test]
fn a_bump_that_falls_far_below_its_base_is_a_restart() {
    // Doubled, then a third of the base: a new container after real memory, not the end of
    // a sum of two (which falls back to about the base).
    let m = [100.0, 200.0, 205.0, 30.0, 31.0];
    let (out, rep) = clean(&series(&m, None), &CleanSettings::default()).unwrap();
    assert_eq!(events(&out), vec![None, None, None, Some("restart"), None]);
    assert_eq!(rep.double_counted_rows, 0);
}

#[test]
fn cleaning_twice_changes_nothing() {
    let m = [100.0, 150.0, 190.0, 60.0, 62.0, 64.0, 66.0];
    let (once, _) = clean(&series(&m, Some(200.0)), &CleanSettings::default()).unwrap();
    let (twice, rep) = clean(&once, &CleanSettings::default()).unwrap();
    assert_eq!(events(&twice), events(&once));
    assert!(rep.changes.is_empty(), "{:?}", rep.changes);
    // A flat series that drops is a restart too.
    let (out, _) = clean(&series(&[100.0, 100.0, 100.0, 40.0], None), &CleanSettings::default()).unwrap();
    assert_eq!(events(&out), vec![None, None, None, Some("restart")]);
}

#[test]
fn restart_counter_column() {
    let mut s = series(&[100.0, 101.0, 102.0, 103.0], Some(105.0));
    s.columns.push({
        let mut c = crate::series::Column::new("restarts");
        for v in [0.0, 0.0, 1.0, 1.0] {
            c.push(crate::series::Cell::Number(v));
        }
        c
    });
    let (out, rep) = clean(&s, &CleanSettings::default()).unwrap();
    assert_eq!(events(&out), vec![None, Some("oom"), Some("restart"), None]);
    assert_eq!(rep.ooms, 1);
}

#[test]
fn a_new_container_ramping_up_under_a_sum_is_double_counting() {
    // Truth: the old container holds 100Mi; the new one loads config at 30, 70, then 100Mi
    // while both are summed (rows 2-4); then the old one is gone and the sum is the new one.
    let m = [100.0, 101.0, 130.0, 170.0, 200.0, 100.0, 102.0];
    let (out, rep) = clean(&series(&m, Some(1000.0)), &CleanSettings::default()).unwrap();
    let want = [None, None, Some("double-count"), Some("double-count"), Some("double-count"), None, None];
    assert_eq!(events(&out), want.to_vec());
    assert_eq!((rep.restarts, rep.ooms, rep.double_counted_rows), (1, 0, 3));
    assert!(rep.fix.is_some());
    // The new container settles a little under the old one's high-water mark.
    let m = [100.0, 100.0, 125.0, 160.0, 190.0, 92.0, 95.0];
    let (out, _) = clean(&series(&m, None), &CleanSettings::default()).unwrap();
    let want = [None, None, Some("double-count"), Some("double-count"), Some("double-count"), None, None];
    assert_eq!(events(&out), want.to_vec());
    // Cleaning twice changes nothing.
    let (again, rep2) = clean(&out, &CleanSettings::default()).unwrap();
    assert_eq!(events(&again), events(&out));
    assert!(rep2.changes.is_empty());
}

#[test]
fn an_overlap_of_one_or_two_steps_is_double_counting() {
    // Truth: one summed reading (row 3: old 100 + new 45), then the new container alone.
    let m = [100.0, 101.0, 100.0, 145.0, 98.0, 100.0];
    let (out, rep) = clean(&series(&m, Some(1000.0)), &CleanSettings::default()).unwrap();
    assert_eq!(events(&out), vec![None, None, None, Some("double-count"), None, None]);
    assert_eq!((rep.restarts, rep.double_counted_rows), (1, 1));
    // Two summed readings (rows 2-3: new at 25 then 50), the restart counter going up with
    // the new container: one restart, whose first lone reading is marked too.
    let mut s = series(&[100.0, 100.0, 125.0, 150.0, 100.0, 101.0], None);
    s.columns.push({
        let mut c = crate::series::Column::new("restarts");
        for v in [0.0, 0.0, 1.0, 1.0, 1.0, 1.0] {
            c.push(crate::series::Cell::Number(v));
        }
        c
    });
    let (out, rep) = clean(&s, &CleanSettings::default()).unwrap();
    assert_eq!(events(&out), vec![None, None, Some("double-count"), Some("double-count"), Some("restart"), None]);
    assert_eq!((rep.restarts, rep.double_counted_rows), (1, 2));
}

#[test]
fn ramps_that_are_not_a_sum_stay_unflagged() {
    // Growth 100 -> 130 with no predictor to explain it, then a new container loading config
    // far below: a restart, not an old container leaving a sum.
    let (out, rep) = clean(&series(&[100.0, 120.0, 130.0, 40.0, 50.0], None), &CleanSettings::default()).unwrap();
    assert_eq!(events(&out), vec![None, None, None, Some("restart"), None]);
    assert_eq!(rep.double_counted_rows, 0);
    // A ramp the revisions explain, then a restart back to the start.
    let mut s = series(&[100.0, 130.0, 160.0, 100.0, 101.0], None);
    s.columns[0] = {
        let mut c = crate::series::Column::new("revisions");
        for v in [100.0, 130.0, 160.0, 160.0, 160.0] {
            c.push(crate::series::Cell::Number(v));
        }
        c
    };
    let (out, _) = clean(&s, &CleanSettings::default()).unwrap();
    assert!(events(&out).iter().all(Option::is_none), "{:?}", events(&out));
    // A climb to near the limit, then the OOMKill: the implied new container would shrink.
    let (out, rep) =
        clean(&series(&[100.0, 130.0, 160.0, 185.0, 70.0], Some(200.0)), &CleanSettings::default()).unwrap();
    assert_eq!(events(&out), vec![None, None, None, Some("oom"), Some("restart")]);
    assert_eq!(rep.double_counted_rows, 0);
    // A lasting step up is growth.
    let (out, _) = clean(&series(&[100.0, 100.0, 140.0, 141.0, 142.0], None), &CleanSettings::default()).unwrap();
    assert!(events(&out).iter().all(Option::is_none));
}

/// A `last_terminated` column (kube-state-metrics' reason in force at each row; "" is none).
fn with_reasons(mut s: Series, reasons: &[&str]) -> Series {
    let mut c = crate::series::Column::new(crate::series::LAST_TERMINATED);
    for r in reasons {
        c.push(if r.is_empty() { crate::series::Cell::Empty } else { crate::series::Cell::Text(r.to_string()) });
    }
    s.columns.push(c);
    s
}

/// A pod List record of `pod`'s istio-proxy.
fn record(pod: &str, reason: &str, finished_at: f64) -> Termination {
    Termination {
        pod: pod.into(),
        reason: reason.into(),
        finished_at: Some(finished_at),
        restart_count: Some(1.0),
        source: "pods.json".into(),
    }
}

/// 60 s between rows from unix time 0.
fn timed(s: Series) -> Series {
    let n = s.rows.len();
    s.with_times(&(0..n).map(|i| 60.0 * i as f64).collect::<Vec<_>>()).unwrap()
}

#[test]
fn a_recorded_oomkill_at_80_percent_of_the_limit_is_marked() {
    // The seed's OOMKill: a config push kills from ~80% of the limit between two scrapes, and
    // the new Envoy reloads to 70%: a 30% fall, no restart by the drop rule, and 80% is under
    // the 90% guess. kube-state-metrics records it (pod.go: the reason series of the last
    // termination is 1): the reason appears at row 3.
    let m = [700.0, 750.0, 800.0, 560.0, 600.0];
    let s = with_reasons(series(&m, Some(1000.0)), &["", "", "", "OOMKilled", "OOMKilled"]);
    let (out, rep) = clean(&s, &CleanSettings::default()).unwrap();
    assert_eq!(events(&out), vec![None, None, Some("oom"), Some("restart"), None]);
    assert_eq!((rep.restarts, rep.ooms, rep.ooms_recorded, rep.ooms_guessed), (1, 1, 1, 0));
    assert!(rep.changes[0].reason.contains("recorded by kube-state-metrics"), "{:?}", rep.changes);
    assert!(rep.changes[0].reason.contains("80.0% of the"), "{:?}", rep.changes);
    // The same restart, seen by its drop, recorded in a pod List instead (finishedAt between
    // rows 2 and 3).
    let m = [700.0, 750.0, 800.0, 300.0, 350.0];
    let settings =
        CleanSettings { terminations: vec![record("shop/cart-0", "OOMKilled", 150.0)], ..Default::default() };
    let (out, rep) = clean(&timed(series(&m, Some(1000.0))), &settings).unwrap();
    assert_eq!(events(&out), vec![None, None, Some("oom"), Some("restart"), None]);
    assert_eq!((rep.ooms_recorded, rep.ooms_guessed, rep.records_unmatched), (1, 0, 0));
    assert!(rep.changes[0].reason.contains("pods.json"), "{:?}", rep.changes);
    // Cleaning twice changes nothing.
    let (again, rep2) = clean(&out, &settings).unwrap();
    assert_eq!(events(&again), events(&out));
    assert!(rep2.changes.is_empty(), "{:?}", rep2.changes);
    // A record finished before the first reading brackets no restart.
    let settings =
        CleanSettings { terminations: vec![record("shop/cart-0", "OOMKilled", -30.0)], ..Default::default() };
    let (_, rep) = clean(&timed(series(&m, Some(1000.0))), &settings).unwrap();
    assert_eq!((rep.ooms, rep.records_unmatched), (0, 1));
}

#[test]
fn without_a_record_a_restart_at_80_percent_is_no_oom_and_at_95_percent_a_guessed_one() {
    // The heuristic alone: 80% is not within 10% of the limit.
    let (out, rep) = clean(&series(&[700.0, 750.0, 800.0, 300.0, 350.0], Some(1000.0)), &Default::default()).unwrap();
    assert_eq!(events(&out), vec![None, None, None, Some("restart"), None]);
    assert_eq!((rep.restarts, rep.ooms), (1, 0));
    // 95% with no record: guessed, and said so.
    let (out, rep) = clean(&series(&[700.0, 800.0, 950.0, 300.0, 350.0], Some(1000.0)), &Default::default()).unwrap();
    assert_eq!(events(&out), vec![None, None, Some("oom"), Some("restart"), None]);
    assert_eq!((rep.ooms, rep.ooms_recorded, rep.ooms_guessed), (1, 0, 1));
    assert!(rep.changes[0].reason.contains("guessed: no termination record"), "{:?}", rep.changes);
}

#[test]
fn a_record_of_error_or_completed_is_not_an_oom() {
    // containerd (pkg/cri/server/helpers.go): `Error` for a non-zero exit, `Completed` for 0,
    // `OOMKilled` only for the kernel's kill. At 95% of the limit the record still wins.
    for reason in ["Error", "Completed"] {
        let m = [700.0, 800.0, 950.0, 300.0, 350.0];
        let s = with_reasons(series(&m, Some(1000.0)), &["", "", "", reason, reason]);
        let (out, rep) = clean(&s, &CleanSettings::default()).unwrap();
        assert_eq!(events(&out), vec![None, None, None, Some("restart"), None], "{reason}");
        assert_eq!((rep.ooms, rep.recorded_other), (0, 1), "{reason}");
        let settings = CleanSettings { terminations: vec![record("shop/cart-0", reason, 150.0)], ..Default::default() };
        let (out, rep) = clean(&timed(series(&m, Some(1000.0))), &settings).unwrap();
        assert_eq!(events(&out)[2], None, "{reason}");
        assert_eq!((rep.ooms, rep.recorded_other), (0, 1), "{reason}");
    }
    // The reason in force before the series (an earlier OOMKill), then a restart the counter
    // shows with the reason now Error: not an OOM, although the column said OOMKilled before.
    let mut s = with_reasons(
        series(&[700.0, 800.0, 950.0, 940.0], Some(1000.0)),
        &["OOMKilled", "OOMKilled", "OOMKilled", "Error"],
    );
    s.columns.push(crate::series::Column::numbers("restarts".into(), vec![1.0, 1.0, 1.0, 2.0]));
    let (out, rep) = clean(&s, &CleanSettings::default()).unwrap();
    assert_eq!(events(&out), vec![None, None, None, Some("restart")]);
    assert_eq!((rep.ooms, rep.recorded_other), (0, 1));
}

#[test]
fn pod_records_go_to_their_proxy() {
    // Two proxies in long form; the pod List records cart-0's OOMKill and pay-0's Error, both
    // at 80% of the limit with the restart seen by its drop.
    let m = [700.0, 800.0, 300.0, 700.0, 800.0, 300.0];
    let mut s = timed(series(&m, Some(1000.0)));
    let mut proxy = crate::series::Column::new("proxy");
    for p in ["shop/cart-0", "shop/cart-0", "shop/cart-0", "pay/pay-0", "pay/pay-0", "pay/pay-0"] {
        proxy.push(crate::series::Cell::Text(p.into()));
    }
    s.columns.insert(0, proxy);
    // Each proxy's rows run from its own start.
    s.rows.set_times(&[0.0, 60.0, 120.0, 0.0, 60.0, 120.0]);
    let terminations = vec![
        record("shop/cart-0", "OOMKilled", 90.0),
        record("pay/pay-0", "Error", 90.0),
        record("other/x-0", "OOMKilled", 90.0),
    ];
    let (out, rep) = clean_by_proxy(&s, &CleanSettings { terminations, ..Default::default() }).unwrap();
    assert_eq!(events(&out), vec![None, Some("oom"), Some("restart"), None, None, Some("restart")]);
    assert_eq!((rep.ooms_recorded, rep.recorded_other, rep.records_unmatched), (1, 1, 1));
    // A series of one proxy takes one pod's records only.
    let two = CleanSettings {
        terminations: vec![record("shop/cart-0", "OOMKilled", 90.0), record("pay/pay-0", "Error", 90.0)],
        ..Default::default()
    };
    let e = clean_by_proxy(&timed(series(&m[..3], Some(1000.0))), &two).unwrap_err().to_string();
    assert!(e.contains("records are of 2 pods") && e.contains("--pod"), "{e}");
}

#[test]
fn a_second_oomkill_keeps_the_reason_and_the_counter_places_it() {
    // OOMKilled before the series and again between rows 1 and 2: the reason series stays
    // OOMKilled (kube-state-metrics pod.go exports the last reason only), so only the restart
    // counter, from the same pod status, shows the restart; 80% and a 12% fall are no guess.
    let mut s = with_reasons(series(&[700.0, 800.0, 700.0, 710.0], Some(1000.0)), &["OOMKilled"; 4]);
    s.columns.push(crate::series::Column::numbers("restarts".into(), vec![1.0, 1.0, 2.0, 2.0]));
    let (out, rep) = clean(&s, &CleanSettings::default()).unwrap();
    assert_eq!(events(&out), vec![None, Some("oom"), Some("restart"), None]);
    assert_eq!((rep.ooms_recorded, rep.ooms_guessed), (1, 0));
    // A pod List record without finishedAt is placed by its restartCount on the counter.
    let mut s = series(&[700.0, 800.0, 700.0, 710.0], Some(1000.0));
    s.columns.push(crate::series::Column::numbers("restarts".into(), vec![1.0, 1.0, 2.0, 2.0]));
    let t = Termination { finished_at: None, restart_count: Some(2.0), ..record("shop/cart-0", "OOMKilled", 0.0) };
    let (out, rep) = clean(&s, &CleanSettings { terminations: vec![t], ..Default::default() }).unwrap();
    assert_eq!(events(&out), vec![None, Some("oom"), Some("restart"), None]);
    assert_eq!((rep.ooms_recorded, rep.records_unmatched), (1, 0));
}

#[test]
fn a_bump_beyond_two_and_a_half_times_its_base_is_not_double_counting() {
    // A sum of two containers holds at most about twice the memory (old + new, the new one no
    // larger than the old one's high-water mark; kubernetes-mixin#585): the plateau pass (1b)
    // takes 1.6x to 2.5x the reading before. Just inside, a plateau is double counting; just
    // beyond, the same shape is not (issue 21: dropping the upper limit passed every test). A
    // ramp (pass 1a) cannot peak above 2.25x its base: its reading after, the new container
    // alone, is below 1.15x and the implied new container may shrink by 0.1x only.
    let plateau = |peak: f64| [100.0, 101.0, 100.0, peak - 5.0, peak, 101.0, 100.0];
    let (out, rep) = clean(&series(&plateau(240.0), Some(1000.0)), &CleanSettings::default()).unwrap();
    assert_eq!(rep.double_counted_rows, 2, "2.4x: {:?}", events(&out));
    let (out, rep) = clean(&series(&plateau(262.0), Some(1000.0)), &CleanSettings::default()).unwrap();
    assert_eq!(rep.double_counted_rows, 0, "2.62x: {:?}", events(&out));
    // The bound is the setting's: raised to 3, the 2.62x plateau counts again.
    let wide = CleanSettings { double_count_ratio: (1.6, 3.0), ..CleanSettings::default() };
    let (out, rep) = clean(&series(&plateau(262.0), Some(1000.0)), &wide).unwrap();
    assert_eq!(rep.double_counted_rows, 2, "2.62x under a 3x bound: {:?}", events(&out));
}
