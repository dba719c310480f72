//! Seeded simulation studies: do the 95% intervals cover 95% of the time on data shaped like
//! a user's? Campaigns with known truth are generated, fitted as a user would (`fit`, then
//! `safe`), and scored: how often the slope's confidence interval holds the true slope, and,
//! at the "95% safe" revision count, the true probability that a reading exceeds the limit
//! (which should average 5%).
//!
//! Time-series campaigns follow the ones in issue 10 (a Prometheus-like import): 7 levels of
//! 80 readings at 30 s, a per-level offset with sd 6Mi, AR(1) noise with rho 0.95. Run with
//! `--nocapture` to see the tables quoted in README and the closing note.

use meshcap::model::{fit, ErrorSpec, FitSettings, FittedModel};
use meshcap::project::{safe_for_limit, Bounds, Caution, RevisionPath};
use meshcap::series::Series;
use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;
use rand_distr::{Distribution, Normal};
use statrs::distribution::{ContinuousCDF, Normal as StdNormal};

const MI: f64 = 1024.0 * 1024.0;
const KI: f64 = 1024.0;

/// One campaign's design and truth.
struct Truth {
    intercept: f64,
    per_revision: f64,
    levels: Vec<f64>,
    readings: usize,
    sigma_between: f64,
    sigma_within: f64,
    rho: f64,
    timed: bool,
}

impl Truth {
    /// Issue 10's campaign: 48Mi + 94Ki per cluster x 8 clusters per revision.
    fn prometheus_like() -> Truth {
        Truth {
            intercept: 48.0 * MI,
            per_revision: 8.0 * 94.0 * KI,
            levels: vec![25.0, 50.0, 100.0, 150.0, 200.0, 300.0, 400.0],
            readings: 80,
            sigma_between: 6.0 * MI,
            sigma_within: 2.0 * MI,
            rho: 0.95,
            timed: true,
        }
    }

    fn series(&self, rng: &mut ChaCha8Rng) -> Series {
        let z = Normal::new(0.0, 1.0).unwrap();
        let (mut rev, mut mem, mut time) = (Vec::new(), Vec::new(), Vec::new());
        let innovation = self.sigma_within * (1.0 - self.rho * self.rho).sqrt();
        let mut e = self.sigma_within * z.sample(rng);
        for &r in &self.levels {
            let u = self.sigma_between * z.sample(rng);
            for _ in 0..self.readings {
                // The AR(1) noise runs on across level changes, as a real proxy's does.
                e = self.rho * e + innovation * z.sample(rng);
                rev.push(r);
                mem.push(self.intercept + self.per_revision * r + u + e);
                time.push(1.7e9 + 30.0 * time.len() as f64);
            }
        }
        let s = Series::from_columns(
            std::path::Path::new("campaign.csv"),
            vec![("revisions".into(), rev), ("memory".into(), mem)],
        )
        .unwrap();
        if self.timed {
            s.with_times(&time).unwrap()
        } else {
            s
        }
    }

    /// True P(a reading at `r` revisions exceeds `limit`): a new level's offset plus noise.
    fn p_exceed(&self, r: f64, limit: f64) -> f64 {
        let sd = (self.sigma_between.powi(2) + self.sigma_within.powi(2)).sqrt();
        let mean = self.intercept + self.per_revision * r;
        1.0 - StdNormal::new(0.0, 1.0).unwrap().cdf((limit - mean) / sd)
    }
}

/// What one error structure scored over the campaigns.
struct Score {
    name: String,
    covered: usize,
    campaigns: usize,
    /// Per limit: true P(exceed) at the safe count, per campaign.
    p_exceed: Vec<Vec<f64>>,
    /// Per limit: true P(exceed) where the upper bound meets the limit (the safe count before
    /// it is rounded down to whole revisions), per campaign.
    p_point: Vec<Vec<f64>>,
    /// Per limit: safe count / true 95% count.
    safe_ratio: Vec<Vec<f64>>,
}

impl Score {
    fn coverage(&self) -> f64 {
        self.covered as f64 / self.campaigns as f64
    }

    fn mean_and_error(v: &[f64]) -> (f64, f64) {
        let n = v.len() as f64;
        let mean = v.iter().sum::<f64>() / n;
        let var = v.iter().map(|x| (x - mean).powi(2)).sum::<f64>() / (n - 1.0);
        (mean, (var / n).sqrt())
    }
}

/// The largest revision count whose true P(exceed) is at most 5%.
fn true_safe(truth: &Truth, limit: f64) -> f64 {
    let sd = (truth.sigma_between.powi(2) + truth.sigma_within.powi(2)).sqrt();
    let z = StdNormal::new(0.0, 1.0).unwrap().inverse_cdf(0.95);
    (limit - z * sd - truth.intercept) / truth.per_revision
}

fn study(truth: &Truth, specs: &[ErrorSpec], limits: &[f64], campaigns: usize, seed: u64) -> Vec<Score> {
    let mut scores: Vec<Score> = specs
        .iter()
        .map(|s| Score {
            name: s.to_string(),
            covered: 0,
            campaigns: 0,
            p_exceed: vec![Vec::new(); limits.len()],
            p_point: vec![Vec::new(); limits.len()],
            safe_ratio: vec![Vec::new(); limits.len()],
        })
        .collect();
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    for _ in 0..campaigns {
        let series = truth.series(&mut rng);
        for (spec, score) in specs.iter().zip(scores.iter_mut()) {
            let settings = FitSettings { errors: spec.clone(), ..FitSettings::default() };
            let model = fit(&series, &settings, b"").expect("campaign fits");
            score.campaigns += 1;
            let c = &model.coefficients[1];
            if c.ci_low <= truth.per_revision && truth.per_revision <= c.ci_high {
                score.covered += 1;
            }
            for (k, &limit) in limits.iter().enumerate() {
                if let Some(r) = safe_count(&model, limit) {
                    score.p_exceed[k].push(truth.p_exceed(r, limit));
                    score.p_point[k].push(truth.p_exceed(bound_meets(&model, limit, r), limit));
                    score.safe_ratio[k].push(r / true_safe(truth, limit));
                }
            }
        }
    }
    scores
}

/// Where the model's upper bound meets `limit`, between the whole safe count `r` and `r + 1`
/// (bisection): an honest bound exceeds there 5% of the time; the whole count below it less.
fn bound_meets(model: &FittedModel, limit: f64, r: f64) -> f64 {
    let bounds = Bounds::new(model, RevisionPath::new(model), Caution::default());
    let (mut lo, mut hi) = (r, r + 1.0);
    for _ in 0..60 {
        let mid = 0.5 * (lo + hi);
        if bounds.upper(mid) <= limit {
            lo = mid;
        } else {
            hi = mid;
        }
    }
    lo
}

fn safe_count(model: &FittedModel, limit: f64) -> Option<f64> {
    let bounds = Bounds::new(model, RevisionPath::new(model), Caution::default());
    safe_for_limit(&bounds, limit, 1.0).safe_revisions.map(|r| r as f64)
}

fn report(title: &str, scores: &[Score], limits: &[f64]) {
    println!("\n{title}");
    print!("{:<10} {:>9}", "errors", "slope CI");
    for l in limits {
        print!(" {:>20}", format!("P(exceed) @ {}", meshcap::quantity::format_bytes(*l)));
    }
    println!(" {:>12}", "safe/true");
    for s in scores {
        print!("{:<10} {:>8.1}%", s.name, 100.0 * s.coverage());
        for p in &s.p_exceed {
            let (m, e) = Score::mean_and_error(p);
            print!(" {:>20}", format!("{:.2}% ± {:.2}", 100.0 * m, 100.0 * e));
        }
        let ratios: Vec<String> =
            s.safe_ratio.iter().map(|r| format!("{:.1}%", 100.0 * Score::mean_and_error(r).0)).collect();
        println!(" {:>11}", ratios.join(" / "));
    }
}

/// Whether a study's mean `m` (Monte Carlo standard error `e`) is `target` within 3 standard
/// errors: the band follows the number of campaigns (issue 21: a fixed 2% to 6.3% let a
/// miscalibration through).
fn near(m: f64, e: f64, target: f64) -> bool {
    (m - target).abs() <= 3.0 * e
}

/// Whether a coverage share over `n` campaigns is 95% within 3 binomial standard errors, and
/// never below 93%.
fn covers(share: f64, n: usize) -> bool {
    let e = (0.95 * 0.05 / n as f64).sqrt();
    (0.93..=0.97).contains(&share) && (share - 0.95).abs() <= 3.0 * e
}

/// Assert a score is honest: slope coverage 95% within 3 Monte Carlo errors. Inside the data
/// (`top`: the truth's mean memory at the largest level) the mean true P(exceed) where the
/// upper bound meets the limit is 5% within 3 of its Monte Carlo errors (neither too bold nor
/// more cautious than needed), and at the whole safe count no more than that. Past the data the
/// bound carries the quadratic's model-form uncertainty (issue 19 §4), so there P(exceed) must
/// stay at most 5% + 3 errors and the safe count at least `floor` of the true 95% count
/// (tests/shapes_study.rs shows what an honest bound must give up there).
fn assert_honest(score: &Score, limits: &[f64], top: f64, floor: f64) {
    let cov = score.coverage();
    assert!(covers(cov, score.campaigns), "{}: slope CI coverage {:.1}%", score.name, 100.0 * cov);
    for (((p, point), ratio), &limit) in score.p_exceed.iter().zip(&score.p_point).zip(&score.safe_ratio).zip(limits) {
        assert!(p.len() * 10 >= score.campaigns * 9, "{}: most campaigns must give a safe count", score.name);
        let (m, e) = Score::mean_and_error(point);
        eprintln!("{}: P(exceed) where the bound meets the limit {:.2}% ± {:.2}", score.name, 100.0 * m, 100.0 * e);
        let calibrated = if limit <= top { near(m, e, 0.05) } else { m <= 0.05 + 3.0 * e };
        assert!(calibrated, "{}: P(exceed) at the bound {:.2}% ± {:.2}, 5% wanted", score.name, 100.0 * m, 100.0 * e);
        let (m, e) = Score::mean_and_error(p);
        assert!(
            m <= 0.05 + 3.0 * e,
            "{}: P(exceed) at the safe count {:.2}% ± {:.2}",
            score.name,
            100.0 * m,
            100.0 * e
        );
        if limit > top {
            let (r, _) = Score::mean_and_error(ratio);
            assert!(r >= floor, "{}: safe count {:.1}% of the true one past the data", score.name, 100.0 * r);
        }
    }
}

#[test]
fn time_series_campaigns_cover_with_levels_and_not_with_ols() {
    let truth = Truth::prometheus_like();
    // 256Mi lies inside the data (0-342Mi), 1Gi and 2Gi beyond it.
    let limits = [256.0 * MI, 1024.0 * MI, 2048.0 * MI];
    let specs = [ErrorSpec::Auto, ErrorSpec::Iid, ErrorSpec::Hac, ErrorSpec::Cluster(None)];
    let scores = study(&truth, &specs, &limits, 600, 10);
    report("time-series campaigns (7 levels x 80 readings, sd_between 6Mi, AR(1) 0.95)", &scores, &limits);
    // 2Gi lies 6.7x past the top level: a +5% bend there would put the true 95% count at 77%
    // of the straight one (tests/shapes_study.rs), so an honest bound cannot keep more.
    assert_honest(&scores[0], &limits, truth.intercept + truth.per_revision * 400.0, 0.6);
    // What statsmodels' defaults would say: far too narrow (issue 10 measured 12-15%).
    assert!(scores[1].coverage() < 0.5, "iid coverage {:.3}", scores[1].coverage());
    assert!(scores[2].coverage() < 0.8, "hac coverage {:.3}", scores[2].coverage());
}

#[test]
fn independent_readings_stay_honest_under_auto() {
    // No time column: auto picks iid, which is exact here.
    let truth = Truth {
        intercept: 50.0 * MI,
        per_revision: 760.0 * KI,
        levels: (0..12).map(|k| 100.0 * k as f64).collect(),
        readings: 1,
        sigma_between: 0.0,
        sigma_within: 3.0 * MI,
        rho: 0.0,
        timed: false,
    };
    let limits = [512.0 * MI, 1024.0 * MI, 2048.0 * MI];
    let scores = study(&truth, &[ErrorSpec::Auto], &limits, 1000, 11);
    report("independent readings, no time column (12 levels x 1)", &scores, &limits);
    assert_honest(&scores[0], &limits, truth.intercept + truth.per_revision * 1100.0, 0.9);
}

#[test]
fn replicated_independent_readings_with_times_stay_honest() {
    // A time series whose readings really are independent and levels have no offsets: the
    // levels structure must not break (it can only be more cautious than OLS, by counting levels).
    let truth = Truth {
        intercept: 50.0 * MI,
        per_revision: 760.0 * KI,
        levels: vec![0.0, 100.0, 200.0, 300.0, 400.0, 500.0, 600.0, 700.0],
        readings: 20,
        sigma_between: 0.0,
        sigma_within: 3.0 * MI,
        rho: 0.0,
        timed: true,
    };
    let limits = [512.0 * MI, 2048.0 * MI];
    let scores = study(&truth, &[ErrorSpec::Auto, ErrorSpec::Iid], &limits, 400, 12);
    report("independent readings with times (8 levels x 20)", &scores, &limits);
    let (levels, iid) = (&scores[0], &scores[1]);
    assert!(levels.coverage() >= 0.93, "levels coverage {:.3}", levels.coverage());
    assert!(covers(iid.coverage(), iid.campaigns), "iid coverage {:.3}", iid.coverage());
    for p in &levels.p_exceed {
        let (m, e) = Score::mean_and_error(p);
        assert!(m <= 0.05 + 3.0 * e, "levels P(exceed) {m}");
    }
    // Inside the data the bound is calibrated; past it (2Gi) it also carries the quadratic's
    // model-form uncertainty (issue 19 §4), so there it may only be more cautious.
    let top = truth.intercept + truth.per_revision * 700.0;
    for (p, &limit) in iid.p_point.iter().zip(&limits) {
        let (m, e) = Score::mean_and_error(p);
        eprintln!("iid: P(exceed) where the bound meets the limit {:.2}% ± {:.2}", 100.0 * m, 100.0 * e);
        let calibrated = if limit <= top { near(m, e, 0.05) } else { m <= 0.05 + 3.0 * e };
        assert!(calibrated, "iid P(exceed) at the bound {m} ± {e}");
    }
}

/// A fleet pooled in one fit: proxies with their own offsets, each stepping through levels.
fn fleet_series(rng: &mut ChaCha8Rng, proxies: usize, truth: &Truth, sigma_group: f64) -> Series {
    let z = Normal::new(0.0, 1.0).unwrap();
    let (mut rev, mut mem, mut time, mut proxy) = (Vec::new(), Vec::new(), Vec::new(), Vec::new());
    let innovation = truth.sigma_within * (1.0 - truth.rho * truth.rho).sqrt();
    for g in 0..proxies {
        let own = sigma_group * z.sample(rng);
        let mut e = truth.sigma_within * z.sample(rng);
        // Each proxy sees its own counts: the fleet's levels are shifted per proxy.
        let shift = 10.0 * g as f64;
        for (k, &r) in truth.levels.iter().enumerate() {
            let u = truth.sigma_between * z.sample(rng);
            for t in 0..truth.readings {
                e = truth.rho * e + innovation * z.sample(rng);
                rev.push(r + shift);
                mem.push(truth.intercept + truth.per_revision * (r + shift) + own + u + e);
                time.push(1.7e9 + 30.0 * (k * truth.readings + t) as f64);
                proxy.push(format!("shop/cart-{g:05}"));
            }
        }
    }
    let mut csv = String::from("time,proxy,revisions,memory\n");
    for i in 0..rev.len() {
        csv.push_str(&format!("{},{},{},{}\n", time[i], proxy[i], rev[i], mem[i]));
    }
    meshcap::series::csv::parse(std::path::Path::new("fleet.csv"), &csv).unwrap()
}

#[test]
fn pooled_proxies_cover_with_group() {
    // 8 proxies x 4 levels x 40 readings; proxy offsets sd 8Mi, level offsets sd 4Mi, AR(1) 0.9.
    let truth = Truth {
        intercept: 50.0 * MI,
        per_revision: 760.0 * KI,
        levels: vec![50.0, 150.0, 250.0, 400.0],
        readings: 40,
        sigma_between: 4.0 * MI,
        sigma_within: 1.5 * MI,
        rho: 0.9,
        timed: true,
    };
    let sigma_group = 8.0 * MI;
    let limits = [1024.0 * MI, 2048.0 * MI];
    let total = (sigma_group.powi(2) + truth.sigma_between.powi(2) + truth.sigma_within.powi(2)).sqrt();
    let normal = StdNormal::new(0.0, 1.0).unwrap();
    let mut rng = ChaCha8Rng::seed_from_u64(13);
    let (mut covered, mut iid_covered, campaigns) = (0, 0, 800);
    let mut p_exceed = vec![Vec::new(); limits.len()];
    let mut ratio = vec![Vec::new(); limits.len()];
    for _ in 0..campaigns {
        let series = fleet_series(&mut rng, 8, &truth, sigma_group);
        let model = fit(&series, &FitSettings::default(), b"").unwrap();
        assert_eq!(model.errors.kind, meshcap::model::ErrorKind::Group);
        let c = &model.coefficients[1];
        covered += usize::from(c.ci_low <= truth.per_revision && truth.per_revision <= c.ci_high);
        let iid = fit(&series, &FitSettings { errors: ErrorSpec::Iid, ..FitSettings::default() }, b"").unwrap();
        let c = &iid.coefficients[1];
        iid_covered += usize::from(c.ci_low <= truth.per_revision && truth.per_revision <= c.ci_high);
        // A new proxy of the fleet at the safe count.
        for (k, &limit) in limits.iter().enumerate() {
            if let Some(r) = safe_count(&model, limit) {
                let mean = truth.intercept + truth.per_revision * bound_meets(&model, limit, r);
                p_exceed[k].push(1.0 - normal.cdf((limit - mean) / total));
                let true_safe = (limit - normal.inverse_cdf(0.95) * total - truth.intercept) / truth.per_revision;
                ratio[k].push(r / true_safe);
            }
        }
    }
    let coverage = covered as f64 / campaigns as f64;
    println!(
        "\npooled fleet (8 proxies x 4 levels x 40): group slope CI {:.1}%, iid {:.1}%",
        100.0 * coverage,
        100.0 * iid_covered as f64 / campaigns as f64
    );
    for (k, p) in p_exceed.iter().enumerate() {
        let (m, e) = Score::mean_and_error(p);
        let (r, _) = Score::mean_and_error(&ratio[k]);
        println!(
            "  new proxy P(exceed) at {}: {:.2}% ± {:.2}, safe count {:.1}% of the true one",
            meshcap::quantity::format_bytes(limits[k]),
            100.0 * m,
            100.0 * e,
            100.0 * r
        );
        assert!(p.len() >= campaigns * 9 / 10);
        // Both limits lie past the data (top level ~390Mi): the bound carries the quadratic's
        // model-form uncertainty there (issue 19 §4), so width is judged by the safe count.
        assert!(m <= 0.05 + 3.0 * e && r >= 0.8, "P(exceed) {m} ± {e}, safe/true {r}");
    }
    assert!(covers(coverage, campaigns), "group coverage {coverage}");
}

#[test]
fn within_level_ar1_and_variance_components_are_recovered() {
    // One long campaign (12 levels x 2000 readings): REML must find the truth it was built
    // with, rho 0.95 and sigma_within 2Mi (sigma_between from 12 levels is only roughly known).
    let truth =
        Truth { levels: (1..=12).map(|k| 35.0 * k as f64).collect(), readings: 2000, ..Truth::prometheus_like() };
    let mut rng = ChaCha8Rng::seed_from_u64(14);
    let model = fit(&truth.series(&mut rng), &FitSettings::default(), b"").unwrap();
    let e = &model.errors;
    assert!(e.rho_fitted, "{e:?}");
    assert!((e.rho.unwrap() - 0.95).abs() < 0.01, "rho {:?}", e.rho);
    assert!((e.sigma_within / truth.sigma_within - 1.0).abs() < 0.1, "sigma_within {}", e.sigma_within);
    assert!((e.sigma_between / truth.sigma_between - 1.0).abs() < 0.6, "sigma_between {}", e.sigma_between);
    // The effective n: about 2000 x 0.05 / 1.95 = 51 readings' worth per level.
    assert!((e.effective_n / (12.0 * 2000.0 * 0.05 / 1.95) - 1.0).abs() < 0.25, "effective n {}", e.effective_n);
}
