//! Random draws for the simulation: Poisson counts by table inversion, model coefficients from
//! their sampling distribution, stream keys, and quantiles of the results.

use nalgebra::DMatrix;
use rand::{Rng, RngCore};
use rand_distr::{ChiSquared, Distribution, StandardNormal};

use crate::error::{Error, Result};
use crate::model::FittedModel;

/// Poisson counts by Walker's alias method (Vose's construction) over the support up to the
/// mean plus 12 sd plus 30: one 64-bit random word, integer arithmetic and no data-dependent
/// branch per draw, whatever the mean (an inversion search mispredicts about once per draw, which doubled
/// the simulation's time). Column probabilities are kept to 2^-32.
#[derive(Debug, Clone)]
pub struct PoissonTable {
    /// Per column: keep the column when the low 32 bits are below this, else take the alias.
    columns: Vec<(u32, u32)>,
}

/// Largest Poisson mean per table (per service, per day segment); beyond it the table would be
/// large and the scenario is not a plausible deploy rate anyway.
pub const MAX_MEAN: f64 = 1e5;

impl PoissonTable {
    /// A table for mean `lambda` (0 < lambda <= [`MAX_MEAN`]).
    pub fn new(lambda: f64) -> PoissonTable {
        debug_assert!(lambda > 0.0 && lambda <= MAX_MEAN);
        // Past mean + 12 sd + 30 the tail mass is far below f64 resolution.
        let k_max = (lambda + 12.0 * lambda.sqrt() + 30.0).ceil() as usize;
        let ln_lambda = lambda.ln();
        // Log space: exp(-lambda) underflows for large means.
        let mut ln_p = -lambda;
        let mut pmf = Vec::with_capacity(k_max + 1);
        for k in 0..=k_max {
            if k > 0 {
                ln_p += ln_lambda - (k as f64).ln();
            }
            pmf.push(ln_p.exp());
        }
        let n = pmf.len();
        let total: f64 = pmf.iter().sum();
        let mut scaled: Vec<f64> = pmf.iter().map(|p| p * n as f64 / total).collect();
        let mut keep = vec![1.0; n];
        let mut alias: Vec<u32> = (0..n as u32).collect();
        let (mut small, mut large): (Vec<usize>, Vec<usize>) = (0..n).partition(|&i| scaled[i] < 1.0);
        while let (Some(&s), Some(&l)) = (small.last(), large.last()) {
            small.pop();
            keep[s] = scaled[s];
            alias[s] = l as u32;
            scaled[l] -= 1.0 - scaled[s];
            if scaled[l] < 1.0 {
                large.pop();
                small.push(l);
            }
        }
        // Leftovers are 1 up to rounding: they keep their own column.
        let threshold = |k: f64| (k * 4_294_967_296.0).round().min(f64::from(u32::MAX)) as u32;
        PoissonTable { columns: keep.iter().zip(&alias).map(|(&k, &a)| (threshold(k), a)).collect() }
    }

    /// The count for 64 random bits: the high half picks a column, the low half decides
    /// between it and its alias.
    #[inline]
    pub fn sample(&self, bits: u64) -> u32 {
        let i = (((bits >> 32) * self.columns.len() as u64) >> 32) as usize;
        let (keep, alias) = self.columns[i];
        // The outcome is random: a branch would mispredict, so ask for a conditional move.
        std::hint::select_unpredictable((bits as u32) < keep, i as u32, alias)
    }
}

/// xoshiro256++ (Blackman and Vigna): the per-path generator, about three times faster than
/// ChaCha8 here. Each path seeds it from its own ChaCha8 stream.
#[derive(Debug, Clone)]
pub struct Xoshiro256 {
    s: [u64; 4],
}

impl Xoshiro256 {
    /// Seed from four words of `seeder`.
    pub fn from_rng<R: RngCore>(seeder: &mut R) -> Xoshiro256 {
        let mut s = [0u64; 4];
        for w in &mut s {
            *w = seeder.next_u64();
        }
        if s == [0; 4] {
            s[0] = 1;
        }
        Xoshiro256 { s }
    }
}

impl RngCore for Xoshiro256 {
    #[inline]
    fn next_u64(&mut self) -> u64 {
        let s = &mut self.s;
        let out = s[0].wrapping_add(s[3]).rotate_left(23).wrapping_add(s[0]);
        let t = s[1] << 17;
        s[2] ^= s[0];
        s[3] ^= s[1];
        s[1] ^= s[2];
        s[0] ^= s[3];
        s[2] ^= t;
        s[3] = s[3].rotate_left(45);
        out
    }

    #[inline]
    fn next_u32(&mut self) -> u32 {
        (self.next_u64() >> 32) as u32
    }

    fn fill_bytes(&mut self, dest: &mut [u8]) {
        for chunk in dest.chunks_mut(8) {
            let word = self.next_u64().to_le_bytes();
            chunk.copy_from_slice(&word[..chunk.len()]);
        }
    }

    fn try_fill_bytes(&mut self, dest: &mut [u8]) -> std::result::Result<(), rand::Error> {
        self.fill_bytes(dest);
        Ok(())
    }
}

/// Coefficients drawn from the fit's sampling distribution: multivariate t with the residual
/// degrees of freedom, located at the estimates, scale sigma^2 (X'X)^-1.
#[derive(Debug, Clone)]
pub struct CoefSampler {
    estimates: Vec<f64>,
    /// Lower Cholesky factor of the scale matrix, row-major p x p.
    chol: Vec<f64>,
    chi2: Option<ChiSquared<f64>>,
    dof: f64,
}

impl CoefSampler {
    /// Factor the scale matrix of `model`.
    pub fn new(model: &FittedModel) -> Result<CoefSampler> {
        let p = model.params();
        let s2 = model.residual_std_error * model.residual_std_error;
        let scale = DMatrix::from_fn(p, p, |i, j| s2 * 0.5 * (model.cov_unscaled[i][j] + model.cov_unscaled[j][i]));
        let chol = if s2 == 0.0 {
            DMatrix::zeros(p, p)
        } else {
            // A semi-definite matrix from a near-collinear fit gets a relative nudge.
            let jitter = 1e-12 * scale.diagonal().max().max(f64::MIN_POSITIVE);
            let l = scale.clone().cholesky().or_else(|| (scale + DMatrix::identity(p, p) * jitter).cholesky());
            l.ok_or_else(|| {
                Error::invalid(format!(
                    "the coefficient covariance of model {} is not positive definite; refit it",
                    model.name()
                ))
            })?
            .l()
        };
        let dof = model.dof as f64;
        Ok(CoefSampler {
            estimates: model.estimates(),
            chol: (0..p * p).map(|k| chol[(k / p, k % p)]).collect(),
            chi2: (model.dof > 0).then(|| ChiSquared::new(dof).expect("dof > 0")),
            dof,
        })
    }

    /// Number of coefficients.
    pub fn params(&self) -> usize {
        self.estimates.len()
    }

    /// Draw one coefficient vector into `beta`, using `z` (both of length p) as scratch.
    pub fn draw<R: Rng>(&self, rng: &mut R, z: &mut [f64], beta: &mut [f64]) {
        let p = self.estimates.len();
        for zi in z.iter_mut() {
            *zi = rng.sample(StandardNormal);
        }
        let scale = match &self.chi2 {
            Some(c) => 1.0 / (c.sample(rng) / self.dof).sqrt(),
            None => 1.0,
        };
        for (i, (b, e)) in beta.iter_mut().zip(&self.estimates).enumerate() {
            let lz: f64 = self.chol[i * p..=i * p + i].iter().zip(z.iter()).map(|(l, z)| l * z).sum();
            *b = e + lz * scale;
        }
    }
}

/// SplitMix64 finalizer: a bijective mix of 64 bits.
fn splitmix(mut x: u64) -> u64 {
    x = x.wrapping_add(0x9E37_79B9_7F4A_7C15);
    x = (x ^ (x >> 30)).wrapping_mul(0xBF58_476D_1CE5_E5B9);
    x = (x ^ (x >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    x ^ (x >> 31)
}

/// The RNG seed of one scenario group under a user seed.
pub fn stream_key(seed: u64, id: u64) -> u64 {
    splitmix(seed ^ splitmix(id))
}

/// Quantile `q` of sorted values, linear between order statistics (R type 7, numpy's
/// default). An infinite neighbour makes the quantile infinite unless it falls exactly on a
/// finite order statistic.
pub fn quantile(sorted: &[f64], q: f64) -> f64 {
    if sorted.is_empty() {
        return f64::NAN;
    }
    let h = (sorted.len() - 1) as f64 * q;
    let lo = h.floor() as usize;
    let hi = h.ceil() as usize;
    let w = h - lo as f64;
    if hi == lo || w == 0.0 {
        return sorted[lo];
    }
    if sorted[hi].is_infinite() || sorted[lo].is_infinite() {
        return f64::INFINITY;
    }
    sorted[lo] + w * (sorted[hi] - sorted[lo])
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn alias_table_reproduces_the_poisson_pmf() {
        for lambda in [0.01, 0.375, 3.0, 40.0, 900.0] {
            let t = PoissonTable::new(lambda);
            let n = t.columns.len() as f64;
            let mut prob = vec![0.0; t.columns.len()];
            for (i, &(keep, alias)) in t.columns.iter().enumerate() {
                let k = f64::from(keep) / 4_294_967_296.0;
                prob[i] += k / n;
                prob[alias as usize] += (1.0 - k) / n;
            }
            let mut ln_p = -lambda;
            for (k, p) in prob.iter().enumerate() {
                if k > 0 {
                    ln_p += lambda.ln() - (k as f64).ln();
                }
                // Column probabilities are quantized to 2^-32.
                assert!((p - ln_p.exp()).abs() < 1e-9, "lambda {lambda}, k {k}: {p} vs {}", ln_p.exp());
            }
            let mean: f64 = prob.iter().enumerate().map(|(k, p)| k as f64 * p).sum();
            assert!((mean - lambda).abs() < 1e-6 * lambda.max(1.0), "{lambda}: {mean}");
        }
    }

    #[test]
    fn quantiles() {
        let v = [1.0, 2.0, 3.0, f64::INFINITY];
        assert_eq!(quantile(&v, 0.0), 1.0);
        assert_eq!(quantile(&v, 0.5), 2.5);
        assert_eq!(quantile(&v, 1.0), f64::INFINITY);
        assert_eq!(quantile(&v, 0.9), f64::INFINITY);
    }
}
