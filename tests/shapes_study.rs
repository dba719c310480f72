//! Issue 19: seeded simulation studies of data shapes a real fleet has and a straight line with
//! level offsets does not: a slight bend that matters only past the data, noise whose spread
//! grows with memory, and noise that drifts slowly across levels. Each campaign is generated
//! with known truth, fitted as a user would (`fit`, then `safe` for a new proxy), and scored:
//! slope CI coverage where a straight slope is the truth, the true P(a reading exceeds the
//! limit) at the 95% safe count, and the safe count over the true 95% count (honesty must not
//! come from absurd width). "before" is the same fit without the shape's remedy, for the
//! table in docs/statistics.md. Run with `--nocapture` to see the tables.
//!
//! Bands: a proportion from `n` campaigns has Monte Carlo standard error `sqrt(p(1-p)/n)`;
//! mean P(exceed) is checked against 5% plus 3 of its own standard errors.

use meshcap::model::{fit, ErrorSpec, FitSettings, FittedModel};
use meshcap::project::{safe_for_limit, Bounds, Caution, RevisionPath};
use meshcap::series::Series;
use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;
use rand_distr::{Distribution, Normal};
use rayon::prelude::*;
use statrs::distribution::{ContinuousCDF, Normal as StdNormal};

const MI: f64 = 1024.0 * 1024.0;
const KI: f64 = 1024.0;
const LIMITS: [f64; 3] = [1024.0 * MI, 2048.0 * MI, 4096.0 * MI];

/// A campaign's design and truth: `memory = intercept + slope r + bend r^2 + u_level + e`, with
/// `e` AR(1) (marginal sd `sigma_within`) that runs on across level changes, and both `u` and
/// `e` scaled by `(mean / reference)^power` (spread growing with memory when power > 0).
#[derive(Clone)]
struct Truth {
    intercept: f64,
    slope: f64,
    bend: f64,
    levels: Vec<f64>,
    readings: usize,
    sigma_between: f64,
    sigma_within: f64,
    rho: f64,
    power: f64,
    reference: f64,
    /// Seconds between one level's last reading and the next level's first, beyond the scrape.
    gap_s: f64,
}

impl Truth {
    /// 7 levels from 100 to 1000 revisions (48Mi + 752Ki per revision: 782Mi at the top), 60
    /// readings 30 s apart, level offsets sd 3Mi, AR(1) noise sd 2Mi with rho 0.9.
    fn campaign() -> Truth {
        Truth {
            intercept: 48.0 * MI,
            slope: 752.0 * KI,
            bend: 0.0,
            levels: vec![100.0, 250.0, 400.0, 550.0, 700.0, 850.0, 1000.0],
            readings: 60,
            sigma_between: 3.0 * MI,
            sigma_within: 2.0 * MI,
            rho: 0.9,
            power: 0.0,
            reference: 1.0,
            gap_s: 0.0,
        }
    }

    /// A bend of `pct` of the straight line's memory at the top level.
    fn bent(mut self, pct: f64) -> Truth {
        let top = *self.levels.last().unwrap();
        self.bend = pct * (self.intercept + self.slope * top) / (top * top);
        self
    }

    fn mean(&self, r: f64) -> f64 {
        self.intercept + self.slope * r + self.bend * r * r
    }

    /// Spread multiplier at mean memory `m`.
    fn scale(&self, m: f64) -> f64 {
        (m / self.reference).powf(self.power)
    }

    fn series(&self, rng: &mut ChaCha8Rng) -> Series {
        let z = Normal::new(0.0, 1.0).unwrap();
        let (mut rev, mut mem, mut time) = (Vec::new(), Vec::new(), Vec::new());
        let innovation = (1.0 - self.rho * self.rho).sqrt();
        let mut e = z.sample(rng);
        for (level, &r) in self.levels.iter().enumerate() {
            let (m, k) = (self.mean(r), self.scale(self.mean(r)));
            let u = self.sigma_between * z.sample(rng);
            for _ in 0..self.readings {
                e = self.rho * e + innovation * z.sample(rng);
                rev.push(r);
                mem.push(m + k * (u + self.sigma_within * e));
                time.push(1.7e9 + 30.0 * time.len() as f64 + self.gap_s * level as f64);
            }
        }
        Series::from_columns(
            std::path::Path::new("campaign.csv"),
            vec![("revisions".into(), rev), ("memory".into(), mem)],
        )
        .unwrap()
        .with_times(&time)
        .unwrap()
    }

    /// Standard deviation of a reading at a new level, at `r` revisions.
    fn sd(&self, r: f64) -> f64 {
        self.scale(self.mean(r)) * self.sigma_between.hypot(self.sigma_within)
    }

    /// True P(a reading at `r` revisions exceeds `limit`).
    fn p_exceed(&self, r: f64, limit: f64) -> f64 {
        1.0 - StdNormal::new(0.0, 1.0).unwrap().cdf((limit - self.mean(r)) / self.sd(r))
    }

    /// The largest revision count whose true P(exceed) is at most 5% (bisection; P rises with r).
    fn safe(&self, limit: f64) -> f64 {
        let (mut lo, mut hi) = (0.0, 1e7);
        for _ in 0..200 {
            let mid = 0.5 * (lo + hi);
            if self.p_exceed(mid, limit) <= 0.05 {
                lo = mid;
            } else {
                hi = mid;
            }
        }
        lo
    }
}

/// What one way of fitting scored over the campaigns.
#[derive(Default)]
struct Score {
    covered: usize,
    campaigns: usize,
    /// Per limit: true P(exceed) at the safe count, per campaign.
    p_exceed: Vec<Vec<f64>>,
    /// Per limit: safe count / true 95% count.
    ratio: Vec<Vec<f64>>,
}

fn mean_and_error(v: &[f64]) -> (f64, f64) {
    let n = v.len() as f64;
    let mean = v.iter().sum::<f64>() / n;
    let var = v.iter().map(|x| (x - mean).powi(2)).sum::<f64>() / (n - 1.0);
    (mean, (var / n).sqrt())
}

impl Score {
    fn coverage(&self) -> f64 {
        self.covered as f64 / self.campaigns as f64
    }

    /// Coverage within 95% +- `band` (a proportion's 3 Monte Carlo standard errors, at least 2%).
    fn assert_coverage(&self, what: &str) {
        let band = (3.0 * (0.05f64 * 0.95 / self.campaigns as f64).sqrt()).max(0.02);
        let c = self.coverage();
        assert!((0.95 - band..=0.95 + band).contains(&c), "{what}: slope CI coverage {:.1}%", 100.0 * c);
    }

    /// Mean true P(exceed) at most 5% + 3 MC SE at every limit, from most campaigns.
    fn assert_safe(&self, what: &str) {
        for (k, p) in self.p_exceed.iter().enumerate() {
            assert!(p.len() * 10 >= self.campaigns * 9, "{what}: most campaigns must give a safe count");
            let (m, e) = mean_and_error(p);
            assert!(m <= 0.05 + 3.0 * e, "{what} @ limit {k}: mean P(exceed) {:.2}% ± {:.2}", 100.0 * m, 100.0 * e);
        }
    }

    /// The safe count at least `floor` of the true 95% count on average at every limit.
    fn assert_not_wide(&self, what: &str, floor: f64) {
        for (k, r) in self.ratio.iter().enumerate() {
            let (m, _) = mean_and_error(r);
            assert!(m >= floor, "{what} @ limit {k}: safe count {:.1}% of the true one", 100.0 * m);
        }
    }
}

/// The safe count for a new proxy, with the model as fitted or, for "before", as the fit did
/// before issue 19's remedy (`strip` removes it).
fn safe_count(model: &FittedModel, limit: f64) -> Option<f64> {
    let bounds = Bounds::new(model, RevisionPath::new(model), Caution::default());
    safe_for_limit(&bounds, limit, 1.0).safe_revisions.map(|r| r as f64)
}

/// Run `campaigns` seeded campaigns of `truth`, fitting with `settings`; score the model as
/// fitted ("after") and as `strip` leaves it ("before").
fn study(
    truth: &Truth,
    settings: &FitSettings,
    strip: impl Fn(&mut FittedModel) + Sync,
    campaigns: usize,
    seed: u64,
) -> (Score, Score, Vec<FittedModel>) {
    study_each(|_| truth.clone(), settings, strip, campaigns, seed)
}

/// [`study`] with campaign `k`'s truth from `make(k)`.
fn study_each(
    make: impl Fn(u64) -> Truth + Sync,
    settings: &FitSettings,
    strip: impl Fn(&mut FittedModel) + Sync,
    campaigns: usize,
    seed: u64,
) -> (Score, Score, Vec<FittedModel>) {
    let runs: Vec<_> = (0..campaigns as u64)
        .into_par_iter()
        .map(|k| {
            let truth = make(k);
            let mut rng = ChaCha8Rng::seed_from_u64(seed.wrapping_mul(1_000_003).wrapping_add(k));
            let after = fit(&truth.series(&mut rng), settings, b"").expect("campaign fits");
            let mut before = after.clone();
            strip(&mut before);
            let score = |m: &FittedModel| {
                let c = &m.coefficients[1];
                let covered = c.ci_low <= truth.slope && truth.slope <= c.ci_high;
                let safe: Vec<Option<f64>> = LIMITS.iter().map(|&l| safe_count(m, l)).collect();
                (covered, safe)
            };
            (score(&after), score(&before), after, truth)
        })
        .collect();
    let mut scores = [Score::default(), Score::default()];
    let mut models = Vec::new();
    for (after, before, model, truth) in runs {
        for (s, (covered, safe)) in scores.iter_mut().zip([after, before]) {
            s.campaigns += 1;
            s.covered += usize::from(covered);
            s.p_exceed.resize(LIMITS.len(), Vec::new());
            s.ratio.resize(LIMITS.len(), Vec::new());
            for (k, r) in safe.iter().enumerate() {
                if let Some(r) = r {
                    s.p_exceed[k].push(truth.p_exceed(*r, LIMITS[k]));
                    s.ratio[k].push(r / truth.safe(LIMITS[k]));
                }
            }
        }
        models.push(model);
    }
    let [after, before] = scores;
    (after, before, models)
}

fn row(name: &str, s: &Score) {
    print!("{name:<28} {:>8.1}%", 100.0 * s.coverage());
    for p in &s.p_exceed {
        let (m, e) = mean_and_error(p);
        print!(" {:>16}", format!("{:.2}% ± {:.2}", 100.0 * m, 100.0 * e));
    }
    for r in &s.ratio {
        print!(" {:>7.1}%", 100.0 * mean_and_error(r).0);
    }
    println!();
}

fn header(title: &str) {
    println!("\n{title}");
    println!(
        "{:<28} {:>9} {:>16} {:>16} {:>16} {:>8} {:>8} {:>8}",
        "fit", "slope CI", "P(exc) @ 1Gi", "P(exc) @ 2Gi", "P(exc) @ 4Gi", "safe/t1", "safe/t2", "safe/t4"
    );
}

fn levels() -> FitSettings {
    FitSettings { errors: ErrorSpec::Levels, ..FitSettings::default() }
}

#[test]
fn a_bend_past_the_data_is_carried_by_the_quadratic_bound() {
    let campaigns = 1000;
    let strip = |m: &mut FittedModel| m.errors.quadratic = None;
    let straight = Truth::campaign();
    let bent = Truth::campaign().bent(0.05);
    let (line_after, line_before, line_models) = study(&straight, &levels(), strip, campaigns, 19_41);
    let (bend_after, bend_before, bend_models) = study(&bent, &levels(), strip, campaigns, 19_42);
    header("curvature (7 levels 100-1000 revisions x 60, level sd 3Mi, AR(1) 0.9 sd 2Mi; limits 1.3x, 2.6x, 5.3x the top level's memory)");
    row("straight, before", &line_before);
    row("straight, after", &line_after);
    row("+5% bend, before", &bend_before);
    row("+5% bend, after", &bend_after);
    let rejected = |models: &[FittedModel]| {
        models.iter().filter(|m| m.errors.curvature.as_ref().is_some_and(|c| c.p < 0.05)).count() as f64
            / models.len() as f64
    };
    let (size, power) = (rejected(&line_models), rejected(&bend_models));
    println!(
        "curvature test at 5%: rejects {:.1}% of straight campaigns, {:.1}% of bent ones",
        100.0 * size,
        100.0 * power
    );
    // The test keeps its size (its power at small level offsets: tests/curvature.rs).
    assert!(size <= 0.05 + 3.0 * (0.05f64 * 0.95 / campaigns as f64).sqrt(), "size {size}");
    // Before: the straight line's safe count lies past the bent truth's crossing far out.
    let (m, _) = mean_and_error(&bend_before.p_exceed[2]);
    assert!(m > 0.2, "the straight line alone was not overconfident at 4Gi: {m}");
    // After: honest on both, and on straight data not absurdly cautious.
    bend_after.assert_safe("bent, after");
    line_after.assert_safe("straight, after");
    line_after.assert_coverage("straight, after");
    line_after.assert_not_wide("straight, after", 0.8);
}

#[test]
fn an_honest_bound_gives_up_count_far_past_the_data() {
    // tests/coverage.rs's Prometheus-like campaign (25-400 revisions, 342Mi at the top): at a
    // 2Gi limit, 6.7x past the data, a +5% bend at the top level puts the true 95% count at
    // less than 80% of the straight truth's. A bound honest against that bend (which 7 levels
    // cannot rule out) must then stay below it on straight data too.
    let straight = Truth {
        levels: vec![25.0, 50.0, 100.0, 150.0, 200.0, 300.0, 400.0],
        readings: 80,
        sigma_between: 6.0 * MI,
        rho: 0.95,
        ..Truth::campaign()
    };
    let bent = straight.clone().bent(0.05);
    let ceiling = bent.safe(LIMITS[1]) / straight.safe(LIMITS[1]);
    println!(
        "\na +5% bend at 400 revisions moves the true 95% count at 2Gi to {:.1}% of the straight one",
        100.0 * ceiling
    );
    assert!((0.7..0.8).contains(&ceiling), "{ceiling}");
}

#[test]
fn spread_growing_with_memory_is_modelled() {
    // Level offsets and noise both proportional to the mean memory (sd 3Mi and 2Mi at 452Mi,
    // the middle level; 0.8Mi at 100 revisions, 9x at 4Gi).
    let truth = Truth { power: 1.0, reference: Truth::campaign().mean(550.0), ..Truth::campaign() };
    let strip = |m: &mut FittedModel| m.errors.spread = None;
    let (after, before, models) = study(&truth, &levels(), strip, 1000, 19_43);
    header("noise sd proportional to mean memory (7 levels 100-1000 revisions x 60; sd 3Mi + 2Mi at 452Mi)");
    row("one sd (spread stripped)", &before);
    row("varPower of the fitted mean", &after);
    let modelled = models.iter().filter(|m| m.errors.spread.is_some()).count() as f64 / models.len() as f64;
    let power =
        mean_and_error(&models.iter().filter_map(|m| m.errors.spread.as_ref().map(|s| s.power)).collect::<Vec<_>>()).0;
    println!("equal spread rejected in {:.1}% of campaigns; mean fitted power {power:.3} (truth 1)", 100.0 * modelled);
    assert!(modelled >= 0.9, "{modelled}");
    assert!((power - 1.0).abs() < 0.1, "{power}");
    after.assert_safe("spread, after");
    after.assert_coverage("spread, after");
    after.assert_not_wide("spread, after", 0.8);
    // The variance function moves the bounds: with it stripped from the same fits P(exceed)
    // is higher at every limit (the quadratic bound past the data still covers most of it).
    for k in 0..LIMITS.len() {
        let ((b, be), (a, ae)) = (mean_and_error(&before.p_exceed[k]), mean_and_error(&after.p_exceed[k]));
        assert!(b > a + 3.0 * be.hypot(ae), "limit {k}: stripped {b} vs modelled {a}");
    }
}

#[test]
fn equal_spread_is_kept_on_equal_spread_data() {
    // The test's size: straight, equal-spread campaigns reject at about its 5%.
    let models = study(&Truth::campaign(), &levels(), |_| {}, 400, 19_44).2;
    let rejected = models.iter().filter(|m| m.errors.spread.is_some()).count() as f64 / models.len() as f64;
    println!("\nequal spread rejected on equal-spread data in {:.1}% of campaigns", 100.0 * rejected);
    assert!(rejected <= 0.05 + 3.0 * (0.05f64 * 0.95 / 400.0).sqrt(), "{rejected}");
}

#[test]
fn slow_drift_across_levels_is_carried() {
    // Issue 19's shape: AR(1) with rho 0.995-0.999 carried across level changes, within-level
    // sd 6Mi, level offsets sd 3Mi; 80 readings per level.
    let make = |k: u64| Truth {
        rho: 0.995 + 0.001 * (k % 5) as f64,
        sigma_within: 6.0 * MI,
        sigma_between: 3.0 * MI,
        readings: 80,
        ..Truth::campaign()
    };
    let (after, _, models) = study_each(make, &levels(), |_| {}, 1000, 19_45);
    header("slow drift (AR(1) rho 0.995-0.999 carried across levels, sd 6Mi; level sd 3Mi; 7 levels x 80)");
    row("levels, drift checked", &after);
    let carried: Vec<bool> = models.iter().map(|m| m.errors.noise_carried).collect();
    let share = carried.iter().filter(|&&c| c).count() as f64 / models.len() as f64;
    println!("noise carried across levels chosen in {:.1}% of campaigns", 100.0 * share);
    // Where restarting noise is still kept, the slope's interval is as narrow as issue 19 found.
    let slope = make(0).slope;
    for want in [true, false] {
        let ms: Vec<&FittedModel> = models.iter().filter(|m| m.errors.noise_carried == want).collect();
        let held =
            ms.iter().filter(|m| m.coefficients[1].ci_low <= slope && slope <= m.coefficients[1].ci_high).count();
        println!("  carried {want}: {} campaigns, slope CI held {held}", ms.len());
    }
    assert!(share >= 0.95, "{share}");
    after.assert_safe("drift, after");
    // Issue 19 measured 81% before, and 89.3% while carried noise had to win by 0.1 (restarting
    // won 20% of these campaigns and covered 68% there); carried unless restarting wins by 4
    // (drift::RESTART_MARGIN): 93-97%. REML's own uncertainty in rho (Kackar-Harville's J W J')
    // was tried as well: a median 0.2% of the slope's variance, coverage unchanged.
    let (cov, n) = (after.coverage(), after.campaigns as f64);
    assert!(
        (0.93..=0.97).contains(&cov) && (cov - 0.95).abs() <= 3.0 * (0.95 * 0.05 / n).sqrt(),
        "drift coverage {:.1}%",
        100.0 * cov
    );
}

#[test]
fn levels_a_day_apart_keep_noise_restarting() {
    // The same drift, levels a day apart: rho^lag is nil across a boundary, the two models are
    // one, and the fit says so instead of claiming carried noise.
    let truth = Truth { rho: 0.997, sigma_within: 6.0 * MI, readings: 80, gap_s: 86_400.0, ..Truth::campaign() };
    for k in 0..20u64 {
        let mut rng = ChaCha8Rng::seed_from_u64(19_46 + k);
        let m = fit(&truth.series(&mut rng), &levels(), b"").expect("campaign fits");
        assert!(!m.errors.noise_carried, "campaign {k}");
        let drift = m.errors.assumptions.iter().find(|a| a.name == "drift").expect("drift line");
        assert!(drift.action.contains("far enough apart"), "campaign {k}: {}", drift.action);
    }
}
