//! Garwood's interval for a Poisson count, which every growth and update-rate interval rests on
//! ([`meshcap::fleet::growth`]), checked exactly rather than by simulation (issue 21: a bound
//! off by one passed both seeded coverage studies, whose counts were large).
//!
//! Garwood (1936): for `k` events, `[chi2(a/2; 2k) / 2, chi2(1 - a/2; 2k + 2) / 2]`. Its
//! defining property is that each tail misses a mean `mu` with probability at most `a/2` for
//! every `mu`, and reaches `a/2` as `mu` approaches a bound: the sum over `k` of the Poisson
//! probabilities is computed here, so both "too narrow" (a tail above 2.5%) and "wider than
//! needed" (no tail ever near 2.5%) show.

use meshcap::fleet::growth::arrivals;
use statrs::distribution::{ChiSquared, ContinuousCDF, Discrete, Poisson};

/// The interval for `k` arrivals of size 1 over 1 day.
fn interval(k: u64) -> [f64; 2] {
    arrivals(&[(k as f64, 1.0, 1.0)], 0.95).unwrap().interval
}

#[test]
fn the_bounds_are_chi_square_quantiles() {
    for k in 1..=40u64 {
        let [lo, hi] = interval(k);
        let want_lo = ChiSquared::new(2.0 * k as f64).unwrap().inverse_cdf(0.025) / 2.0;
        let want_hi = ChiSquared::new(2.0 * k as f64 + 2.0).unwrap().inverse_cdf(0.975) / 2.0;
        crate::util::close(&format!("lower bound for {k}"), lo, want_lo, 1e-9);
        crate::util::close(&format!("upper bound for {k}"), hi, want_hi, 1e-9);
    }
    // By hand (R 4.3 `poisson.test(3)$conf.int`): 0.6186721 8.7672731; none seen: -ln(0.025).
    let [lo, hi] = interval(3);
    assert!((lo - 0.618_672_1).abs() < 1e-6 && (hi - 8.767_273_1).abs() < 1e-6, "{lo} {hi}");
    let [lo, hi] = interval(0);
    assert!(lo == 0.0 && (hi - 3.688_879_5).abs() < 1e-6, "{hi}");
}

#[test]
fn each_tail_misses_at_most_and_nearly_two_and_a_half_percent() {
    let bounds: Vec<[f64; 2]> = (0..=120).map(interval).collect();
    let (mut worst_low, mut worst_high) = (0.0f64, 0.0f64);
    // Means from 0.05 to 40 (counts beyond 120 are negligible there).
    for step in 1..=4000 {
        let mu = 0.01 * step as f64 + 0.04;
        let poisson = Poisson::new(mu).unwrap();
        let (mut below, mut above) = (0.0, 0.0);
        for (k, [lo, hi]) in bounds.iter().enumerate() {
            let pk = poisson.pmf(k as u64);
            below += if *hi < mu { pk } else { 0.0 }; // the interval lies below the mean
            above += if *lo > mu { pk } else { 0.0 };
        }
        worst_low = worst_low.max(below);
        worst_high = worst_high.max(above);
    }
    eprintln!("Garwood tails: worst below {worst_low:.5}, worst above {worst_high:.5}");
    for (side, worst) in [("below", worst_low), ("above", worst_high)] {
        assert!(worst <= 0.025 + 1e-9, "the interval misses {side} the mean {worst} of the time: too narrow");
        assert!(worst >= 0.022, "the interval never misses {side} more than {worst}: wider than needed");
    }
}
