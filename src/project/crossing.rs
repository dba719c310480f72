//! Where a memory curve first meets a limit.
//!
//! The curves are smooth in the revision count but not always monotone (a prediction band
//! narrows towards the centre of the data), so the search scans a dense geometric grid from 0
//! to [`MAX_REVISIONS`] and then bisects the first bracket to a relative precision of 1e-12.

/// Largest revision count searched; beyond it a curve is reported as never crossing.
pub const MAX_REVISIONS: f64 = 1e9;

/// The outcome of a crossing search.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Crossing {
    /// Already at or above the target with no revisions.
    AtZero,
    /// Crosses at this (real) revision count.
    At(f64),
    /// Stays below the target up to [`MAX_REVISIONS`].
    Never,
}

impl Crossing {
    /// The crossing point, if finite.
    pub fn value(self) -> Option<f64> {
        match self {
            Crossing::AtZero => Some(0.0),
            Crossing::At(r) => Some(r),
            Crossing::Never => None,
        }
    }
}

/// First `r >= 0` where `f(r) >= target`.
pub fn first_crossing(f: impl Fn(f64) -> f64, target: f64) -> Crossing {
    if f(0.0) >= target {
        return Crossing::AtZero;
    }
    // 0, then 2^(k/64) for k from -64 (0.5 revisions) upward: about 3000 evaluations.
    let mut lo = 0.0;
    let mut k = -64i32;
    loop {
        let hi = 2f64.powf(f64::from(k) / 64.0);
        if hi > MAX_REVISIONS {
            return Crossing::Never;
        }
        if f(hi) >= target {
            return Crossing::At(bisect(&f, target, lo, hi));
        }
        lo = hi;
        k += 1;
    }
}

fn bisect(f: &impl Fn(f64) -> f64, target: f64, mut lo: f64, mut hi: f64) -> f64 {
    for _ in 0..200 {
        let mid = 0.5 * (lo + hi);
        if f(mid) >= target {
            hi = mid;
        } else {
            lo = mid;
        }
        if hi - lo <= 1e-12 * hi.max(1.0) {
            break;
        }
    }
    hi
}

/// Largest whole number `n` with `f(m) <= target` for every whole `m` in `0..=n`, given the
/// first real crossing.
pub fn last_safe_integer(f: impl Fn(f64) -> f64, target: f64, crossing: Crossing) -> Option<u64> {
    match crossing {
        Crossing::AtZero => None,
        Crossing::Never => Some(MAX_REVISIONS as u64),
        Crossing::At(r) => {
            let mut n = r.floor();
            while n >= 0.0 && f(n) > target {
                n -= 1.0;
            }
            (n >= 0.0).then_some(n as u64)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn finds_linear_crossings() {
        let c = first_crossing(|r| 50.0 + 0.75 * r, 1024.0);
        assert!((c.value().unwrap() - 974.0 / 0.75).abs() < 1e-9);
        assert_eq!(first_crossing(|r| 50.0 + 0.75 * r, 10.0), Crossing::AtZero);
        assert_eq!(first_crossing(|r| 50.0 - 0.75 * r, 1024.0), Crossing::Never);
        assert_eq!(first_crossing(|_| 50.0, 1024.0), Crossing::Never);
    }

    #[test]
    fn safe_integer_respects_at_or_below() {
        let f = |r: f64| 2.0 * r;
        // f(5) = 10 is at the target: still safe.
        assert_eq!(last_safe_integer(f, 10.0, first_crossing(f, 10.0)), Some(5));
        assert_eq!(last_safe_integer(f, 10.5, first_crossing(f, 10.5)), Some(5));
        assert_eq!(last_safe_integer(f, -1.0, first_crossing(f, -1.0)), None);
    }
}
