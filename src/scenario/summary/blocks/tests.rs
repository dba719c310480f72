//! Blocks against scenario-by-scenario evaluation, to the bit.

use std::path::Path;

use super::*;
use crate::scenario::Spec;

const MODEL: &str = "models/knative-1.11-istio-1.18.json";

fn grid(axes_and_mesh: &str) -> Grid {
    let text = format!("model = {MODEL:?}\n{axes_and_mesh}");
    let spec = Spec::parse(Path::new("test.toml"), &text).unwrap();
    let model = crate::model::store::load(Path::new(MODEL)).unwrap();
    Grid::new(spec, model, u64::MAX).unwrap()
}

/// The reference: `evaluate` and `add`, one scenario at a time.
fn one_by_one(grid: &Grid, ids: Range<u64>) -> String {
    let mut acc = Accumulator::new(grid);
    let mut d = decode(ids.start, &grid.lengths);
    for id in ids {
        acc.add(&d, &grid.evaluate(id, &d));
        super::super::super::grid::advance(&mut d, &grid.lengths);
    }
    serde_json::to_string(&acc.finish(grid)).unwrap()
}

/// Blocks over `cuts` (consecutive ranges, added in reverse order to one shared flag).
fn by_blocks(grid: &Grid, cuts: &[u64]) -> String {
    let zero_days = AtomicBool::new(false);
    let parts: Vec<Accumulator> = cuts
        .windows(2)
        .rev()
        .map(|w| {
            let mut acc = Accumulator::new(grid);
            acc.add_range(grid, w[0]..w[1], &zero_days);
            acc
        })
        .collect();
    let acc = parts.into_iter().fold(Accumulator::new(grid), Accumulator::merge);
    serde_json::to_string(&acc.finish(grid)).unwrap()
}

fn check(grid: &Grid) {
    let n = grid.size;
    let whole = one_by_one(grid, 0..n);
    assert_eq!(by_blocks(grid, &[0, n]), whole, "whole range");
    // Cuts inside blocks and runs, a single scenario, an empty range.
    let cuts = [0, 1, 7, 7, n / 3 + 5, n / 2, n / 2 + 1, n - 3, n];
    assert_eq!(by_blocks(grid, &cuts), whole, "cut at {cuts:?}");
    let (a, b) = (n / 5 + 3, n - n / 7);
    assert_eq!(by_blocks(grid, &[a, a + 11, b]), one_by_one(grid, a..b), "a shard");
}

#[test]
fn blocks_equal_scenario_by_scenario_with_gateways() {
    // Unsorted and repeated limits, several levels and headrooms, positive and zero days.
    check(&grid(
        "[mesh]\ngateways = 2\nstart = 30\n[axes]\nnamespaces = [1, 6]\nknative_services = [3, 40]\n\
         updates_per_day = [0, 0.4, 30, 300]\nretain_since_create_time = [\"48h\", \"disabled\"]\n\
         retain_since_last_active_time = [\"15h\", \"disabled\"]\nmin_non_active_revisions = [20, 1]\n\
         max_non_active_revisions = [\"disabled\", 60]\nscope = [\"namespace\", \"mesh\"]\n\
         transient = [1.3, 1.0]\nheadroom = [\"5%\", \"0%\", \"30%\"]\nlevel = [0.9, 0.99]\n\
         limit = [\"2Gi\", \"300Mi\", \"1Gi\", \"300Mi\", \"700Mi\", \"64Mi\"]\n\
         [simulate]\nweekend_factor = 0.3\n",
    ));
}

#[test]
fn blocks_equal_scenario_by_scenario_when_days_matter() {
    // Safe at day 0 (the fewest days is positive) and update rates sharing a steady state
    // (21 or 11 revisions): blocks replayed across rates must keep their own days.
    check(&grid(
        "[axes]\nnamespaces = [1, 2]\nknative_services = [10]\nupdates_per_day = [1, 2, 0.5]\n\
         min_non_active_revisions = [20, 10]\nscope = [\"mesh\", \"namespace\"]\ntransient = [1.0, 1.5]\n\
         limit = [\"256Mi\", \"200Mi\", \"1Gi\"]\n",
    ));
}

#[test]
fn steady_states_spread_over_slots() {
    // Whole numbers differ only in the high bits of their f64 representation.
    let slots: std::collections::HashSet<usize> =
        [1.0f64, 11.0, 21.0, 51.0, 101.0, 1001.0].iter().map(|r| slot((7, r.to_bits(), 3))).collect();
    assert!(slots.len() >= 5, "{slots:?}");
}

#[test]
fn blocks_equal_scenario_by_scenario_without_gateways() {
    check(&grid(
        "[mesh]\ngateways = 0\n[axes]\nnamespaces = [2, 5]\nupdates_per_day = [1, 8]\n\
         min_non_active_revisions = [20, 2, 0]\nscope = [\"mesh\", \"namespace\"]\n\
         headroom = [0.1]\nlimit = [\"1Gi\", \"600Mi\", \"4Gi\"]\n",
    ));
}

#[test]
fn blocks_equal_scenario_by_scenario_single_limit_filtered_gateways() {
    check(&grid(
        "[mesh]\ngateways = 3\nfilter_gateway_cluster_config = true\n[axes]\nnamespaces = [2, 30]\n\
         knative_services = [9, 60]\nupdates_per_day = [1, 50]\nretain_since_create_time = [\"2h30m\", \"disabled\"]\n\
         max_non_active_revisions = [\"disabled\", 500]\ntransient = [1.0, 1.7, 1.2]\n\
         level = [0.8, 0.999]\nlimit = [\"900Mi\"]\n",
    ));
}

#[test]
fn blocks_equal_scenario_by_scenario_on_a_topology() {
    // Several sidecar curves per proxies entry: the most exposed one is chosen per bound.
    check(&grid(
        "topology = \"data/topology-example.toml\"\n[mesh]\nstart = 21\n[axes]\nupdates_per_day = [1, 30, 100]\n\
         retain_since_create_time = [\"48h\", \"6h\"]\nmax_non_active_revisions = [1000, 100]\n\
         scope = [\"mesh\", \"namespace\", \"hosts=./*,istio-system/*,knative-serving/*\"]\n\
         transient = [1.0, 1.5]\nlimit = [\"512Mi\", \"1Gi\"]\n",
    ));
}
