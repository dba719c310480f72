//! What a new proxy's upper bound carries beyond the straight line's coefficients, along a
//! sweep's shape: a random slope's spread, a variance function, and past the data the
//! quadratic alternative (issue 19 §1, §3, §4). Each is what `FittedModel::predict_row` and
//! `Quadratic::predict` add at a design row, rewritten as polynomials in R (or a factor of the
//! mean) so the sweep's curves ([`super::curve`]) stay a few multiplications per scenario.

use crate::model::FittedModel;

/// What [`crate::model::FittedModel::predict_row`] adds for a new proxy beyond `sigma^2 (1 +
/// h)`, along the shape. A random slope's spread `2 x tau_01 + x^2 tau_1^2` (driver `x = xa +
/// R xb`) is a quadratic in R: divided by `sigma^2` it joins the leverage's `h0 + h1 R + h2
/// R^2`, and every formula below holds as it is (a fitted 2 x 2 covariance is positive
/// semi-definite, so `ErrorModel::new_group_variance` never needs its floor). A variance
/// function scales the level and reading parts by `(mean / reference)^(2 power)`: `(power,
/// reference, sigma_within^2 + sigma_between^2, sigma_group^2)`. Without them the sweep's bounds
/// were those of a fleet whose proxies share one slope and one spread.
pub(super) fn slope_leverage(model: &FittedModel, a: &[f64], b: &[f64]) -> [f64; 3] {
    let e = &model.errors;
    let s2 = model.residual_std_error.powi(2);
    match &e.slope {
        Some(sl) if s2 > 0.0 => {
            let (xa, xb) = (a.get(sl.index).copied().unwrap_or(0.0), b.get(sl.index).copied().unwrap_or(0.0));
            let (t01, t11) = (sl.offset_covariance, sl.sd_bytes_per_unit.powi(2));
            [(2.0 * xa * t01 + xa * xa * t11) / s2, (2.0 * xb * t01 + 2.0 * xa * xb * t11) / s2, xb * xb * t11 / s2]
        }
        _ => [0.0; 3],
    }
}

/// `(power, reference bytes, sigma_within^2 + sigma_between^2, sigma_group^2)`.
pub(super) type SpreadTerms = (f64, f64, f64, f64);

pub(super) fn spread_of(model: &FittedModel) -> Option<Box<SpreadTerms>> {
    let e = &model.errors;
    e.spread.as_ref().map(|v| {
        Box::new((v.power, v.reference_bytes, e.sigma_within.powi(2) + e.sigma_between.powi(2), e.sigma_group.powi(2)))
    })
}

/// The variance function's multiplier at a mean (`Spread::factor`).
#[inline]
pub(super) fn spread_factor(spread: &Option<Box<SpreadTerms>>, mean: f64) -> f64 {
    match spread.as_deref() {
        Some(&(power, reference, _, _)) if mean > 0.0 => (mean / reference).powf(2.0 * power),
        _ => 1.0,
    }
}

/// The quadratic alternative along a shape: its design row is `A + R B + R^2 C` (the square of
/// the main predictor's `a + R b` appended), so its mean is a quadratic and the variance of
/// its mean a quartic in R. It bounds memory past `from`, the R beyond which the main
/// predictor exceeds its largest measured value, as [`crate::project::Bounds::upper`] does.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(super) struct Form {
    pub from: f64,
    pub mean: [f64; 3],
    pub var: [f64; 5],
    pub sigma2: f64,
}

/// The quadratic alternative along the line `a + R b`, when the model carries one and its
/// main predictor grows along the shape.
pub(super) fn form_along(model: &FittedModel, a: &[f64], b: &[f64]) -> Option<Form> {
    let q = model.errors.quadratic.as_ref()?;
    let offset = usize::from(model.intercept);
    let k = offset + model.terms.iter().position(|t| t.column == q.column)?;
    let (ak, bk) = (a[k], b[k]);
    let max = model.range(&q.column)?.max;
    if bk <= 0.0 || q.coefficients.len() != a.len() + 1 {
        return None;
    }
    let from = ((max - ak) / bk).max(0.0);
    let big_a: Vec<f64> = a.iter().copied().chain([ak * ak]).collect();
    let big_b: Vec<f64> = b.iter().copied().chain([2.0 * ak * bk]).collect();
    let big_c: Vec<f64> = std::iter::repeat_n(0.0, a.len()).chain([bk * bk]).collect();
    let dot = |x: &[f64]| x.iter().zip(&q.coefficients).map(|(x, c)| x * c).sum::<f64>();
    let quad = |x: &[f64], y: &[f64]| {
        x.iter().zip(&q.cov).map(|(xi, row)| xi * row.iter().zip(y).map(|(c, yj)| c * yj).sum::<f64>()).sum::<f64>()
    };
    let (aa, ab, ac, bb, bc, cc) = (
        quad(&big_a, &big_a),
        quad(&big_a, &big_b),
        quad(&big_a, &big_c),
        quad(&big_b, &big_b),
        quad(&big_b, &big_c),
        quad(&big_c, &big_c),
    );
    Some(Form {
        from,
        mean: [dot(&big_a), dot(&big_b), dot(&big_c)],
        var: [aa, 2.0 * ab, bb + 2.0 * ac, 2.0 * bc, cc],
        sigma2: q.sigma_obs * q.sigma_obs,
    })
}
