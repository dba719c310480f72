//! Sandwich covariances of the OLS coefficients: Newey-West (HAC) and cluster-robust (CR1).
//!
//! Both keep the OLS estimates and replace their covariance by `B M B` with the bread
//! `B = (X'X)^-1` and a meat built from the score contributions `s_i = x_i r_i`. They are
//! offered to compare with what other tools print (statsmodels `OLS.fit(cov_type="HAC")`,
//! `cov_type="cluster"`, both with `use_correction=True`); neither models level offsets, and on
//! Prometheus-like series both stay overconfident (docs/statistics.md, "Error structures").

use crate::model::solve::DesignColumn;

/// Newey and West's (1994) rule-of-thumb bandwidth, `floor(4 (n/100)^(2/9))`.
pub(crate) fn newey_west_lags(n: usize) -> usize {
    (4.0 * (n as f64 / 100.0).powf(2.0 / 9.0)).floor() as usize
}

fn design_value(c: &DesignColumn, i: usize) -> f64 {
    if c.power == 0 {
        1.0
    } else {
        c.base[i].powi(c.power as i32)
    }
}

/// `B M B` scaled by `factor`, with the p x p bread and meat row-major.
fn sandwich(bread: &[f64], meat: &[f64], p: usize, factor: f64) -> Vec<f64> {
    let mut bm = vec![0.0; p * p];
    for i in 0..p {
        for j in 0..p {
            bm[i * p + j] = (0..p).map(|k| bread[i * p + k] * meat[k * p + j]).sum();
        }
    }
    let mut out = vec![0.0; p * p];
    for i in 0..p {
        for j in 0..p {
            out[i * p + j] = factor * (0..p).map(|k| bm[i * p + k] * bread[k * p + j]).sum::<f64>();
        }
    }
    out
}

/// Newey-West covariance with Bartlett weights `1 - l/(lags+1)`, rows taken in `order`
/// (time order), times `n/(n-p)`. Scores are stored column by column so each lag's cross
/// products are dot products of shifted slices (vectorised, lags spread over threads).
pub(crate) fn hac(design: &[DesignColumn], residuals: &[f64], bread: &[f64], order: &[usize], lags: usize) -> Vec<f64> {
    use rayon::prelude::*;
    let p = design.len();
    let n = order.len();
    let scores: Vec<Vec<f64>> =
        design.iter().map(|c| order.iter().map(|&i| design_value(c, i) * residuals[i]).collect()).collect();
    let lag_terms: Vec<Vec<f64>> = (0..=lags.min(n.saturating_sub(1)))
        .into_par_iter()
        .map(|lag| {
            let w = if lag == 0 { 1.0 } else { 1.0 - lag as f64 / (lags as f64 + 1.0) };
            let mut g = vec![0.0; p * p];
            for i in 0..p {
                for j in 0..p {
                    g[i * p + j] = dot(&scores[i][lag..], &scores[j][..n - lag]);
                }
            }
            let mut term = vec![0.0; p * p];
            for i in 0..p {
                for j in 0..p {
                    term[i * p + j] = if lag == 0 { g[i * p + j] } else { w * (g[i * p + j] + g[j * p + i]) };
                }
            }
            term
        })
        .collect();
    let mut meat = vec![0.0; p * p];
    for t in &lag_terms {
        for (m, v) in meat.iter_mut().zip(t) {
            *m += v;
        }
    }
    sandwich(bread, &meat, p, n as f64 / (n - p) as f64)
}

/// Dot product in four independent lanes (lets the compiler vectorise it).
fn dot(a: &[f64], b: &[f64]) -> f64 {
    let mut acc = [0.0f64; 4];
    let (ca, cb) = (a.chunks_exact(4), b.chunks_exact(4));
    let tail: f64 = ca.remainder().iter().zip(cb.remainder()).map(|(x, y)| x * y).sum();
    for (x, y) in ca.zip(cb) {
        for k in 0..4 {
            acc[k] += x[k] * y[k];
        }
    }
    acc.iter().sum::<f64>() + tail
}

/// Cluster-robust covariance (CR1): meat summed over clusters, times
/// `G/(G-1) (n-1)/(n-p)`. `cluster[i]` is row i's cluster id, `< clusters`.
pub(crate) fn cluster(
    design: &[DesignColumn],
    residuals: &[f64],
    bread: &[f64],
    cluster: &[u32],
    clusters: usize,
) -> Vec<f64> {
    let p = design.len();
    let n = residuals.len();
    let mut sums = vec![0.0; clusters * p];
    for i in 0..n {
        let g = cluster[i] as usize;
        for (j, c) in design.iter().enumerate() {
            sums[g * p + j] += design_value(c, i) * residuals[i];
        }
    }
    let mut meat = vec![0.0; p * p];
    for g in sums.chunks_exact(p) {
        for i in 0..p {
            for j in 0..p {
                meat[i * p + j] += g[i] * g[j];
            }
        }
    }
    let gf = clusters as f64;
    let factor = gf / (gf - 1.0) * (n as f64 - 1.0) / (n - p) as f64;
    sandwich(bread, &meat, p, factor)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bandwidth_rule() {
        // floor(4 (n/100)^(2/9)): 139 -> 4 (statsmodels reference, benches/ref/errors_reference.py).
        assert_eq!(newey_west_lags(139), 4);
        assert_eq!(newey_west_lags(100), 4);
        assert_eq!(newey_west_lags(1_000_000), 30);
    }

    #[test]
    fn one_cluster_per_row_is_white_times_the_correction() {
        // With singleton clusters CR1 is HC0 x n/(n-1) x (n-1)/(n-p) = HC1; with lags 0 HAC is HC1.
        let x = [0.0, 1.0, 2.0, 3.0, 4.0];
        let design = [DesignColumn { base: &[], power: 0 }, DesignColumn { base: &x, power: 1 }];
        let r = [0.5, -1.0, 0.25, 0.75, -0.5];
        // (X'X)^-1 for x = 0..4: [[0.6, -0.2], [-0.2, 0.1]].
        let bread = [0.6, -0.2, -0.2, 0.1];
        let ids: Vec<u32> = (0..5).collect();
        let c = cluster(&design, &r, &bread, &ids, 5);
        let h = hac(&design, &r, &bread, &[0, 1, 2, 3, 4], 0);
        for (a, b) in c.iter().zip(&h) {
            assert!((a - b).abs() < 1e-15, "{c:?} vs {h:?}");
        }
        // HC1 by hand: meat = sum r^2 x x'.
        let meat = [
            r.iter().map(|r| r * r).sum::<f64>(),
            r.iter().zip(&x).map(|(r, x)| r * r * x).sum(),
            r.iter().zip(&x).map(|(r, x)| r * r * x).sum(),
            r.iter().zip(&x).map(|(r, x)| r * r * x * x).sum(),
        ];
        let want = sandwich(&bread, &meat, 2, 5.0 / 3.0);
        for (a, b) in c.iter().zip(&want) {
            assert!((a - b).abs() < 1e-15);
        }
    }
}
