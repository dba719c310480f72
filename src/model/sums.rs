//! Sums that need more than f64 addition: the total sum of squares behind R², accumulated
//! with compensation in eight lanes so it keeps ~1e-15 relative accuracy and still vectorises.

/// Total sum of squares, centered (with an intercept) or not. Eight-lane compensated sums:
/// R-squared needs about 1e-15 relative accuracy, not double-double, and this vectorizes.
pub(crate) fn total_sum_of_squares(y: &[f64], centered: bool) -> f64 {
    let mean = if centered { compensated_sum(y, |v| v) / y.len() as f64 } else { 0.0 };
    compensated_sum(y, |v| (v - mean) * (v - mean))
}

/// Kahan summation in eight independent lanes, then the lanes added with their compensations.
fn compensated_sum(values: &[f64], f: impl Fn(f64) -> f64) -> f64 {
    const L: usize = 8;
    let (mut sum, mut comp) = ([0.0f64; L], [0.0f64; L]);
    let chunks = values.chunks_exact(L);
    let rest = chunks.remainder();
    for c in chunks {
        for k in 0..L {
            let y = f(c[k]) - comp[k];
            let t = sum[k] + y;
            comp[k] = (t - sum[k]) - y;
            sum[k] = t;
        }
    }
    let (mut total, mut c) = (0.0f64, 0.0f64);
    for v in sum.iter().zip(&comp).map(|(s, c)| s - c).chain(rest.iter().map(|&v| f(v))) {
        let y = v - c;
        let t = total + y;
        c = (t - total) - y;
        total = t;
    }
    total
}
