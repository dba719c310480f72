//! Thinning large series before drawing.
//!
//! A chart 1,300 pixels wide cannot show more than a few points per pixel column, and drawing a
//! million markers costs seconds. [`minmax_per_column`] keeps, for every pixel column, the
//! first and last point in x order and the lowest and highest in y: the picture is unchanged
//! where it matters (outliers and the envelope stay visible) and at most four points per column
//! are left to draw.

/// Series longer than this are thinned with [`minmax_per_column`] before drawing.
pub const REDUCE_ABOVE: usize = 4000;

/// Per pixel column (equal-width bins over the x extent of the finite points), keep the first,
/// lowest, highest and last point, in x order. Non-finite points are dropped; the result is
/// sorted by x and holds at most `4 * columns` points (none when `columns` is 0).
pub fn minmax_per_column(points: &[(f64, f64)], columns: usize) -> Vec<(f64, f64)> {
    let finite = |&(x, y): &(f64, f64)| x.is_finite() && y.is_finite();
    let (mut lo, mut hi) = (f64::INFINITY, f64::NEG_INFINITY);
    for p in points.iter().filter(|p| finite(p)) {
        lo = lo.min(p.0);
        hi = hi.max(p.0);
    }
    // More columns than points cannot help, and an absurd count must not allocate.
    let columns = columns.min(points.len());
    if columns == 0 || lo > hi {
        return Vec::new();
    }
    let scale = if hi > lo { columns as f64 / (hi - lo) } else { 0.0 };

    /// Indices into `points` of the kept points of one column.
    #[derive(Clone, Copy)]
    struct Kept {
        first: usize,
        low: usize,
        high: usize,
        last: usize,
    }
    let mut kept: Vec<Option<Kept>> = vec![None; columns];
    for (i, p) in points.iter().enumerate() {
        if !finite(p) {
            continue;
        }
        let c = (((p.0 - lo) * scale) as usize).min(columns - 1);
        match &mut kept[c] {
            None => kept[c] = Some(Kept { first: i, low: i, high: i, last: i }),
            Some(k) => {
                if p.0 < points[k.first].0 {
                    k.first = i;
                }
                if p.0 >= points[k.last].0 {
                    k.last = i;
                }
                if p.1 < points[k.low].1 {
                    k.low = i;
                }
                if p.1 > points[k.high].1 {
                    k.high = i;
                }
            }
        }
    }

    let mut out = Vec::with_capacity(columns * 4);
    for k in kept.into_iter().flatten() {
        let mut idx = [k.first, k.low, k.high, k.last];
        // Sorting by (x, index) puts repeats of one index next to each other for dedup.
        idx.sort_by(|&a, &b| points[a].0.total_cmp(&points[b].0).then(a.cmp(&b)));
        let mut prev = usize::MAX;
        for i in idx {
            if i != prev {
                out.push(points[i]);
                prev = i;
            }
        }
    }
    out
}

/// `points` as is when short, else thinned to `columns` pixel columns.
pub(crate) fn reduce_if_large(points: Vec<(f64, f64)>, columns: usize) -> Vec<(f64, f64)> {
    if points.len() > REDUCE_ABOVE {
        minmax_per_column(&points, columns.max(1))
    } else {
        points
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keeps_extremes_per_column() {
        let pts = [(0.0, 5.0), (0.1, -3.0), (0.2, 9.0), (0.3, 1.0), (0.4, 2.0), (10.0, 0.0)];
        let out = minmax_per_column(&pts, 2);
        assert_eq!(out, vec![(0.0, 5.0), (0.1, -3.0), (0.2, 9.0), (0.4, 2.0), (10.0, 0.0)]);
    }

    #[test]
    fn degenerate_inputs() {
        assert!(minmax_per_column(&[], 10).is_empty());
        assert!(minmax_per_column(&[(1.0, 1.0)], 0).is_empty());
        assert!(minmax_per_column(&[(f64::NAN, 1.0), (1.0, f64::INFINITY)], 10).is_empty());
        let same_x = [(1.0, 3.0), (1.0, 1.0), (1.0, 2.0)];
        assert_eq!(minmax_per_column(&same_x, 5).len(), 3);
    }
}
