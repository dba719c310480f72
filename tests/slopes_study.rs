//! Issue 19 §1: a fleet whose proxies each have their own slope. Seeded campaigns with known
//! truth, fitted as a user would (`fit` with `--errors auto`, then `safe` for a new proxy and
//! `whatif --proxy` / `safe --proxy` for the fleet's own), scored on: the pooled slope's 95% CI
//! coverage; the mean true P(exceed) at the "95% safe" count at a limit inside the data and two
//! beyond it; the safe count against the true crossing. The old structure (`group=proxy`: one
//! slope, a random offset) is scored beside it for the before/after table of
//! docs/statistics.md. Run with `--nocapture` to see the table.
//!
//! Bands come from the number of campaigns: coverage within 95% ± 3 Monte Carlo standard errors
//! (both sides: an interval that covers far above 97% is too wide), mean P(exceed) at most 5% +
//! 3 SE and at least 1% (not honest by refusing), safe count at least 80% of the true crossing.

use meshcap::model::{fit, ErrorSpec, FitSettings, FittedModel};
use meshcap::project::{safe_for_limit, Bounds, Caution, RevisionPath};
use meshcap::series::Series;
use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;
use rand_distr::{Distribution, Normal};
use statrs::distribution::{ContinuousCDF, Normal as StdNormal};

const MI: f64 = 1024.0 * 1024.0;
const KI: f64 = 1024.0;

/// The fleet's truth.
struct Fleet {
    proxies: usize,
    intercept: f64,
    per_revision: f64,
    /// Standard deviations of a proxy's offset and slope, and their correlation.
    sd_offset: f64,
    sd_slope: f64,
    correlation: f64,
    sigma_between: f64,
    sigma_within: f64,
    rho: f64,
    steps: Vec<f64>,
    readings: usize,
    /// Noise (level offsets and readings) sd grows as (fleet mean / reference)^power.
    spread_power: f64,
}

/// One campaign: the series and each proxy's true (offset, slope deviation).
struct Campaign {
    series: Series,
    own: Vec<(f64, f64)>,
}

impl Fleet {
    fn standard() -> Fleet {
        Fleet {
            proxies: 12,
            intercept: 60.0 * MI,
            per_revision: 768.0 * KI,
            sd_offset: 8.0 * MI,
            sd_slope: 76.8 * KI,
            correlation: -0.3,
            sigma_between: 3.0 * MI,
            sigma_within: 1.5 * MI,
            rho: 0.9,
            steps: vec![0.0, 250.0, 500.0, 750.0, 1000.0],
            readings: 20,
            spread_power: 0.0,
        }
    }

    /// Noise sd multiplier at `r` revisions: (fleet mean / its value at 500)^power.
    fn spread(&self, r: f64) -> f64 {
        let mean = |r: f64| self.intercept + self.per_revision * r;
        (mean(r) / mean(500.0)).powf(self.spread_power)
    }

    fn campaign(&self, rng: &mut ChaCha8Rng) -> Campaign {
        let z = Normal::new(0.0, 1.0).unwrap();
        let innovation = self.sigma_within * (1.0 - self.rho * self.rho).sqrt();
        let mut csv = String::from("time,proxy,revisions,memory\n");
        let mut own = Vec::new();
        for g in 0..self.proxies {
            let (a, b) = (z.sample(rng), z.sample(rng));
            let u0 = self.sd_offset * a;
            let u1 = self.sd_slope * (self.correlation * a + (1.0 - self.correlation.powi(2)).sqrt() * b);
            own.push((u0, u1));
            let mut e = self.sigma_within * z.sample(rng);
            let base = 50.0 + 10.0 * g as f64;
            for (k, step) in self.steps.iter().enumerate() {
                let r = base + step;
                let f = self.spread(r);
                let v = self.sigma_between * z.sample(rng);
                for t in 0..self.readings {
                    // The AR(1) noise runs on across level changes, as a real proxy's does.
                    e = self.rho * e + innovation * z.sample(rng);
                    let mem = self.intercept + u0 + (self.per_revision + u1) * r + f * (v + e);
                    let time = 1.7e9 + 30.0 * (k * self.readings + t) as f64;
                    csv.push_str(&format!("{time},shop/cart-{g:02},{r},{mem:.0}\n"));
                }
            }
        }
        Campaign { series: meshcap::series::csv::parse(std::path::Path::new("fleet.csv"), &csv).unwrap(), own }
    }

    /// Mean and sd of a reading at `r` revisions of a new proxy.
    fn new_proxy(&self, r: f64) -> (f64, f64) {
        let var = self.sd_offset.powi(2)
            + 2.0 * r * self.correlation * self.sd_offset * self.sd_slope
            + (r * self.sd_slope).powi(2)
            + (self.sigma_between.powi(2) + self.sigma_within.powi(2)) * self.spread(r).powi(2);
        (self.intercept + self.per_revision * r, var.sqrt())
    }

    /// Mean and sd of a reading at `r` revisions of a proxy with effects `own`.
    fn existing(&self, own: (f64, f64), r: f64) -> (f64, f64) {
        let sd = (self.sigma_between.powi(2) + self.sigma_within.powi(2)).sqrt() * self.spread(r);
        (self.intercept + own.0 + (self.per_revision + own.1) * r, sd)
    }
}

fn p_exceed((mean, sd): (f64, f64), limit: f64) -> f64 {
    1.0 - StdNormal::new(0.0, 1.0).unwrap().cdf((limit - mean) / sd)
}

/// The largest count whose true P(exceed) is at most 5% (bisection; memory rises with r here).
fn true_safe(at: impl Fn(f64) -> (f64, f64), limit: f64) -> f64 {
    let (mut lo, mut hi) = (0.0, 1e6);
    for _ in 0..100 {
        let mid = 0.5 * (lo + hi);
        if p_exceed(at(mid), limit) <= 0.05 {
            lo = mid;
        } else {
            hi = mid;
        }
    }
    lo
}

fn safe(model: &FittedModel, proxy: Option<&str>, limit: f64) -> Option<f64> {
    let mut bounds = Bounds::new(model, RevisionPath::new(model), Caution::default());
    if let Some(name) = proxy {
        bounds = bounds.for_proxy(name).unwrap();
    }
    safe_for_limit(&bounds, limit, 1.0).safe_revisions.map(|r| r as f64)
}

fn mean_and_error(v: &[f64]) -> (f64, f64) {
    let n = v.len() as f64;
    let mean = v.iter().sum::<f64>() / n;
    let var = v.iter().map(|x| (x - mean).powi(2)).sum::<f64>() / (n - 1.0);
    (mean, (var / n).sqrt())
}

/// One structure's scores.
#[derive(Default)]
struct Score {
    covered: usize,
    campaigns: usize,
    chose_slopes: usize,
    kept_spread: usize,
    /// Per limit: new proxy P(exceed), existing proxies' P(exceed), safe / true crossing (new).
    new: Vec<Vec<f64>>,
    existing: Vec<Vec<f64>>,
    ratio: Vec<Vec<f64>>,
}

fn score(fleet: &Fleet, spec: &ErrorSpec, limits: &[f64], campaigns: usize, seed: u64) -> Score {
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    let mut s = Score {
        new: vec![Vec::new(); 3],
        existing: vec![Vec::new(); 3],
        ratio: vec![Vec::new(); 3],
        ..Score::default()
    };
    for _ in 0..campaigns {
        let c = fleet.campaign(&mut rng);
        let model = fit(&c.series, &FitSettings { errors: spec.clone(), ..FitSettings::default() }, b"").unwrap();
        s.campaigns += 1;
        s.chose_slopes += usize::from(model.errors.slope.is_some());
        s.kept_spread += usize::from(model.errors.spread.is_some());
        let b = &model.coefficients[1];
        s.covered += usize::from(b.ci_low <= fleet.per_revision && fleet.per_revision <= b.ci_high);
        for (k, &limit) in limits.iter().enumerate() {
            if let Some(r) = safe(&model, None, limit) {
                s.new[k].push(p_exceed(fleet.new_proxy(r), limit));
                s.ratio[k].push(r / true_safe(|x| fleet.new_proxy(x), limit));
            }
            // Three of the fleet's own proxies per campaign (first, middle, last).
            for g in [0, fleet.proxies / 2, fleet.proxies - 1] {
                if let Some(r) = safe(&model, Some(&format!("shop/cart-{g:02}")), limit) {
                    s.existing[k].push(p_exceed(fleet.existing(c.own[g], r), limit));
                }
            }
        }
    }
    s
}

fn print(name: &str, s: &Score, limits: &[f64]) {
    let cov = s.covered as f64 / s.campaigns as f64;
    print!("{name:<14} {:>6.1}% {:>6.1}%", 100.0 * cov, 100.0 * s.chose_slopes as f64 / s.campaigns as f64);
    for k in 0..limits.len() {
        let (m, e) = mean_and_error(&s.new[k]);
        let (x, xe) = mean_and_error(&s.existing[k]);
        let (r, _) = mean_and_error(&s.ratio[k]);
        print!(" | {:>5.2}±{:.2} {:>5.2}±{:.2} {:>4.0}%", 100.0 * m, 100.0 * e, 100.0 * x, 100.0 * xe, 100.0 * r);
    }
    println!();
}

/// The bands: slope CI coverage 95% ± 3 MC SE, random slopes chosen, mean P(exceed) at
/// most 5% + 3 SE for new and existing proxies, safe >= 80% of the truth; and P(exceed) not
/// below 1% at the first `floored` limits (past the data the model-form bound, the larger of the
/// line's and the quadratic's, is cautious by design; its width is held by the safe count).
fn assert_honest(auto: &Score, limits: &[f64], floored: usize) {
    let n = auto.campaigns as f64;
    let cov = auto.covered as f64 / n;
    let se = (0.95 * 0.05 / n).sqrt();
    assert!((cov - 0.95).abs() <= 3.0 * se, "slope CI coverage {cov} outside 95% ± {}", 3.0 * se);
    assert!(auto.chose_slopes as f64 >= 0.9 * n, "auto chose random slopes in {} of {n}", auto.chose_slopes);
    for k in 0..limits.len() {
        for (who, p) in [("new", &auto.new[k]), ("existing", &auto.existing[k])] {
            assert!(p.len() as f64 >= 0.9 * n, "{who}: most campaigns give a safe count");
            let (m, e) = mean_and_error(p);
            assert!(m <= 0.05 + 3.0 * e, "{who} at limit {k}: mean P(exceed) {:.2}% ± {:.2}", 100.0 * m, 100.0 * e);
            assert!(
                k >= floored || m >= 0.01,
                "{who} at limit {k}: mean P(exceed) {:.2}% is far more cautious than 5%",
                100.0 * m
            );
        }
        let (r, _) = mean_and_error(&auto.ratio[k]);
        assert!(r >= 0.8, "safe count {:.0}% of the true crossing at limit {k}", 100.0 * r);
    }
}

#[test]
fn fleet_with_own_slopes_stays_honest_under_auto() {
    let fleet = Fleet::standard();
    // One limit inside the data (the top level is at ~1160 revisions, ~930Mi), two beyond.
    let limits = [768.0 * MI, 2048.0 * MI, 4096.0 * MI];
    let campaigns = 400;
    let auto = score(&fleet, &ErrorSpec::Auto, &limits, campaigns, 1901);
    let before = score(&fleet, &ErrorSpec::Group("proxy".into()), &limits, campaigns / 2, 1901);
    println!("\nfleet with own slopes (12 proxies x 5 levels x 20, slope sd 10%), {campaigns} campaigns");
    println!("structure      slopeCI chose  | P(exceed)% new, existing, safe/true at 768Mi | 2Gi | 4Gi");
    print("group=proxy", &before, &limits);
    print("auto", &auto, &limits);
    assert_honest(&auto, &limits, limits.len());
    // The old structure is what issue 19 measured: its slope interval misses.
    assert!((before.covered as f64 / before.campaigns as f64) < 0.9);
}

#[test]
fn auto_keeps_one_slope_when_proxies_share_it() {
    // The same fleet with no slope spread: the chi-bar-square test must reject at about its
    // level (5%), not more (a test calibrated on chi2_2 would reject less, chi2_1 more).
    let fleet = Fleet { sd_slope: 0.0, correlation: 0.0, ..Fleet::standard() };
    let mut rng = ChaCha8Rng::seed_from_u64(1902);
    let campaigns = 300;
    let mut chose = 0;
    for _ in 0..campaigns {
        let c = fleet.campaign(&mut rng);
        let model = fit(&c.series, &FitSettings::default(), b"").unwrap();
        chose += usize::from(model.errors.slope.is_some());
        assert!(model.errors.slope_test.is_some(), "auto reports its test");
    }
    let rate = chose as f64 / campaigns as f64;
    let se = (0.05 * 0.95 / campaigns as f64).sqrt();
    println!("\nno slope spread: auto chose random slopes in {:.1}% of {campaigns} campaigns", 100.0 * rate);
    assert!(rate <= 0.05 + 3.0 * se, "false choice rate {rate}");
}

#[test]
fn own_slopes_and_spread_growing_with_memory_stay_honest_together() {
    // Both shapes at once: slopes sd 10% and noise sd proportional to the fleet's mean memory
    // (15x from the lowest level to the top). The random-slope fit carries the variance function
    // the random-intercept fit found (re-estimated with the slopes).
    let fleet = Fleet { spread_power: 1.0, ..Fleet::standard() };
    let limits = [768.0 * MI, 2048.0 * MI, 4096.0 * MI];
    let campaigns = 200;
    let auto = score(&fleet, &ErrorSpec::Auto, &limits, campaigns, 1903);
    println!(
        "\nown slopes and spread ~ mean, {campaigns} campaigns; varPower kept in {:.1}%",
        100.0 * auto.kept_spread as f64 / campaigns as f64
    );
    println!("structure      slopeCI chose  | P(exceed)% new, existing, safe/true at 768Mi | 2Gi | 4Gi");
    print("auto", &auto, &limits);
    assert!(auto.kept_spread as f64 >= 0.9 * campaigns as f64, "varPower kept in {}", auto.kept_spread);
    // Measured: new proxies 0.73% at 4Gi (4.4x past the data), safe count 89% of the truth.
    assert_honest(&auto, &limits, 1);
}
