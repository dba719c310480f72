//! Designs where each term of a known proxy's forecast matters (issue 21: bugs that dropped a
//! term passed every test because every fixture had that term at or near zero).
//!
//! - A group fit whose predictors are constant within each proxy: only the proxy means inform
//!   the slope, so t inference has `groups - p` degrees of freedom, not `levels - groups - p + 1`.
//! - Large level offsets: a known proxy's next reading at a new level carries a level offset,
//!   so its prediction bound must include `sigma_between` (a ~34% exceedance without it).
//! - Large level offsets and slow growth: the model's own uncertainty (the proxy's offset, the
//!   slope) is as large as the growth's, so the days interval must carry both.

use std::path::Path;

use meshcap::fleet::{forecast, pooled, FleetSettings};
use meshcap::model::{fit, ErrorKind, FitSettings};
use meshcap::series::csv;
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use rand_distr::{Distribution, Normal};
use statrs::distribution::{ContinuousCDF, Gamma, Normal as StdNormal};

use crate::fleet_truth::{generate_with, Spec, BASE, MI, PER_PORT, PORTS_PER_REVISION};

/// Mean and Monte Carlo standard error.
fn mean_and_se(v: &[f64]) -> (f64, f64) {
    let n = v.len() as f64;
    let m = v.iter().sum::<f64>() / n;
    let var = v.iter().map(|x| (x - m).powi(2)).sum::<f64>() / (n - 1.0);
    (m, (var / n).sqrt())
}

/// Six proxies, each at one revision count for all its readings (a fleet of static proxies):
/// the slope rests on the six proxy means alone, a regression of 6 points on 2 coefficients, so
/// 4 degrees of freedom (statsmodels' MixedLM and nlme's between-group df alike), and the
/// slope's 95% interval is +-t(0.975, 4) = 2.776445 standard errors (scipy 1.17
/// `stats.t.ppf(0.975, 4)`).
#[test]
fn a_group_fit_with_predictors_constant_within_each_proxy_has_groups_minus_p_dof() {
    let mut rng = ChaCha8Rng::seed_from_u64(21);
    let z = Normal::new(0.0, 1.0).unwrap();
    let mut text = String::from("time,proxy,revisions,memory\n");
    for g in 0..6 {
        let revisions = 20.0 + 35.0 * g as f64;
        let own = 4.0 * MI * z.sample(&mut rng);
        for k in 0..30 {
            let memory = 50.0 * MI + 0.75 * MI * revisions + own + 0.5 * MI * z.sample(&mut rng);
            text.push_str(&format!("{},shop/p{g},{revisions},{memory:.0}\n", 1.7e9 + 60.0 * k as f64));
        }
    }
    let series = csv::parse(Path::new("static.csv"), &text).unwrap();
    let model = fit(&series, &FitSettings::default(), b"").unwrap();
    assert_eq!(model.errors.kind, ErrorKind::Group, "{:?}", model.errors.reason);
    assert_eq!((model.errors.groups, model.dof), (6, 4));
    let c = &model.coefficients[1];
    let half = (c.ci_high - c.ci_low) / 2.0;
    crate::util::close("slope CI half-width / SE", half / c.std_error, 2.776_445_105_197_793, 1e-9);
}

fn slow_specs(rng: &mut ChaCha8Rng, n: usize) -> Vec<Spec> {
    (0..n)
        .map(|i| Spec {
            namespace: format!("ns{}", i % 3),
            pod: format!("svc{i}-00001-deployment"),
            rate: rng.gen_range(1.0..4.0),
            ports0: 8.0 * rng.gen_range(12..100) as f64,
            target_days: rng.gen_range(10.0..40.0),
        })
        .collect()
}

/// Level offsets of sd 12Mi (reading noise 0.5Mi): a known proxy's next reading at a new level
/// (80 ports on) exceeds the one-sided 95% prediction bound with true probability
/// `1 - Phi((upper - mean) / sqrt(level^2 + noise^2))`; averaged over 600 proxies it must not
/// pass 5% by more than 3 Monte Carlo standard errors (without `sigma_between` it is ~30%).
/// Measured: 3.46% +- 0.10, so the bound is somewhat cautious here; the floor of 2.5% (1.2 sd
/// where 1.645 are due) keeps it from growing much wider than needed unnoticed.
#[test]
fn a_known_proxys_bound_holds_a_new_level_at_five_percent() {
    let level_sd = 12.0 * MI;
    let truth_sd = (level_sd.powi(2) + (0.5 * MI).powi(2)).sqrt();
    let normal = StdNormal::new(0.0, 1.0).unwrap();
    let mut rng = ChaCha8Rng::seed_from_u64(2101);
    let mut p_exceed = Vec::new();
    for run in 0..50 {
        let specs = slow_specs(&mut rng, 12);
        let fleet = generate_with(5000 + run, &specs, 1_767_225_600.0, 3600.0, 168, level_sd);
        let series = csv::parse(Path::new("sim.csv"), &fleet.csv()).unwrap();
        let model = pooled::pooled_fit(&series, String::from("t"), "sim.csv", 0.95).unwrap();
        assert!(model.errors.sigma_between > 4.0 * MI, "level offsets seen: {}", model.errors.sigma_between);
        let t = model.t_one_sided(0.95);
        for p in &fleet.proxies {
            let x = p.ports.last().unwrap() + 80.0;
            let effect = model.errors.group(&p.name()).expect("a known proxy");
            let row = model.design_row(|_| x);
            let pred = model.predict_group(&row, effect);
            let upper = pred.mean + t * pred.se_obs;
            let mean = BASE + PER_PORT * x + p.offset;
            p_exceed.push(1.0 - normal.cdf((upper - mean) / truth_sd));
        }
    }
    let (m, se) = mean_and_se(&p_exceed);
    eprintln!("known proxy, new level: P(exceed) {:.2}% +- {:.2}", 100.0 * m, 100.0 * se);
    assert!(m <= 0.05 + 3.0 * se && m >= 0.025, "P(exceed) {m} +- {se}");
}

/// The same slow fleets: revisions at 1 to 4 a day over 7 days, limits 10 to 40 days away, level
/// offsets of sd 12Mi. The days interval must hold the true day at least 95% of the time (less 3
/// Monte Carlo standard errors) and miss on both sides, and be no wider than it is now against
/// an oracle that knows the model and the rate and has only the wait to allow for (Gamma(k,
/// rate), k the revisions still to come). Measured: 98.5% held, mean ln(hi/lo) 3.16 against
/// the oracle's 0.55: here the interval is cautious (its two ranges add on the log scale as if
/// independent, and the crossing's range is the mean line's 95% band). Since the pooled fit
/// tests random slopes (issue 19), 96.3% held and 1 of 600 intervals had no upper end.
#[test]
fn days_intervals_carry_the_models_uncertainty() {
    let level_sd = 12.0 * MI;
    let mut rng = ChaCha8Rng::seed_from_u64(2102);
    let (mut dated, mut hits, mut early, mut late) = (0usize, 0usize, 0usize, 0usize);
    let (mut widths, mut oracle_widths, mut open) = (Vec::new(), Vec::new(), 0usize);
    for run in 0..50 {
        let specs = slow_specs(&mut rng, 12);
        let fleet = generate_with(6000 + run, &specs, 1_767_225_600.0, 3600.0, 168, level_sd);
        let series = csv::parse(Path::new("sim.csv"), &fleet.csv()).unwrap();
        let model = pooled::pooled_fit(&series, String::from("t"), "sim.csv", 0.95).unwrap();
        let result = forecast(&series, &model, &FleetSettings { headroom: 0.0, ..FleetSettings::default() }).unwrap();
        for truth in &fleet.proxies {
            let p = result.proxies.iter().find(|p| p.proxy == truth.name()).unwrap();
            let Some([Some(lo), hi]) = p.days_to_limit_interval else { continue };
            let hi = hi.unwrap_or(f64::INFINITY);
            dated += 1;
            hits += usize::from(lo <= truth.true_days && truth.true_days <= hi);
            early += usize::from(truth.true_days < lo);
            late += usize::from(truth.true_days > hi);
            if hi.is_finite() {
                widths.push((hi / lo.max(1e-3)).ln());
            } else {
                open += 1;
            }
            // The oracle: k more arrivals at the known rate, Gamma(k, rate) days.
            let now = *truth.ports.last().unwrap();
            let k = ((truth.limit - BASE - truth.offset - PER_PORT * now) / (PER_PORT * PORTS_PER_REVISION)).ceil();
            let wait = Gamma::new(k.max(1.0), truth.spec.rate).unwrap();
            oracle_widths.push((wait.inverse_cdf(0.975) / wait.inverse_cdf(0.025)).ln());
        }
    }
    let share = hits as f64 / dated as f64;
    let se = (0.05 * 0.95 / dated as f64).sqrt();
    let (w, _) = mean_and_se(&widths);
    let (ow, _) = mean_and_se(&oracle_widths);
    eprintln!(
        "slow fleets: days coverage {share:.3} ({hits}/{dated}; earlier {early}, later {late}); mean log-width {w:.3}, oracle's {ow:.3}; {open} open-ended"
    );
    // The pooled fit may pick random slopes (5-8% of such fleets, issue 19): a proxy whose own
    // slope could be near zero then has no upper day. Rare, not the rule.
    assert!(open * 100 <= dated, "{open} of {dated} intervals open-ended");
    assert!(share >= 0.95 - 3.0 * se, "days coverage {share} (+-{se})");
    assert!(early > 0 && late > 0, "misses on both sides: earlier {early}, later {late}");
    assert!(w <= 6.5 * ow, "mean log-width {w} against the oracle's {ow}");
}
