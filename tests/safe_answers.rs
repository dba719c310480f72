//! `safe`'s answer beyond its numbers: the notes that say why there is no safe count, the
//! push note, and the OOM check's verdict (issue 21: cargo-mutants found each of these could be
//! changed without a test failing).

use std::path::Path;

use meshcap::model::{fit, store, FitSettings};
use meshcap::project::{oom_consistency, safe_for_limit, Bounds, Caution, PushAllowance, RevisionPath};
use meshcap::series::{OomObservation, Series};

use crate::util::seed_model;

const GI: f64 = 1024.0 * 1024.0 * 1024.0;

/// A fitted mean that falls with revisions never reaches a limit above it, and the note
/// blames the slope, not the search range (a huge limit on a rising mean blames the range:
/// tests/project.rs).
#[test]
fn a_falling_mean_is_blamed_on_the_slope() {
    let revisions: Vec<f64> = (1..=20).map(f64::from).collect();
    let memory: Vec<f64> = revisions.iter().enumerate().map(|(i, r)| 200e6 - 1e6 * r + [3e5, -3e5][i % 2]).collect();
    let series = Series::from_columns(
        Path::new("falling.csv"),
        vec![("revisions".into(), revisions), ("memory".into(), memory)],
    )
    .unwrap();
    let model = fit(&series, &FitSettings::default(), b"").unwrap();
    assert!(model.coefficients[1].estimate < 0.0);
    let bounds = Bounds::new(&model, RevisionPath::new(&model), Caution::default());
    let a = safe_for_limit(&bounds, GI, 1.0);
    let note = a.note.unwrap();
    assert!(note.contains("never reaches the limit (slope not positive)"), "{note}");
    assert!(!note.contains("search range"), "{note}");
}

/// Under a full config push the seed model's safe count at 1Gi is below its steady-state one,
/// and the note names both: between them a push OOMKills the proxy.
#[test]
fn a_push_that_lowers_the_safe_count_is_named() {
    let model = store::load(&seed_model()).unwrap();
    let caution = Caution { push: PushAllowance::FULL, ..Caution::default() };
    let bounds = Bounds::new(&model, RevisionPath::new(&model), caution);
    let a = safe_for_limit(&bounds, GI, 1.0);
    let (safe, steady) = (a.safe_revisions.unwrap(), a.steady_safe_revisions.unwrap());
    assert!(steady > safe, "{safe} {steady}");
    let want = format!("{safe} revisions are safe including a config push, {steady} at steady state");
    assert!(a.note.as_deref().unwrap_or("").contains(&want), "{:?}", a.note);
    // At steady state there is nothing between the two.
    let bounds = Bounds::new(&model, RevisionPath::new(&model), Caution::default());
    assert!(!safe_for_limit(&bounds, GI, 1.0).note.unwrap_or_default().contains("config push"));
}

/// The OOM check is consistent only when the crossing interval overlaps the observed bracket
/// [last good count, count at the OOMKill]: the seed model crosses 1Gi at about 1200-1400
/// revisions (tests/project.rs), so brackets wholly below or wholly above it are not.
#[test]
fn an_oom_bracket_beside_the_crossing_interval_is_inconsistent() {
    let model = store::load(&seed_model()).unwrap();
    let bounds = Bounds::new(&model, RevisionPath::new(&model), Caution::default());
    let oom = |lo: f64, hi: f64| OomObservation {
        revisions: Some(hi),
        limit_bytes: Some(GI),
        last_good_revisions: Some(lo),
        line: 1,
    };
    let checks = oom_consistency(&bounds, &[oom(50.0, 100.0), oom(5000.0, 6000.0), oom(1200.0, 1400.0)]);
    let verdicts: Vec<bool> = checks.iter().map(|c| c.consistent).collect();
    assert_eq!(verdicts, [false, false, true], "{checks:?}");
}
