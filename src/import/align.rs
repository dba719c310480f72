//! Aligning several series on the memory series' timestamps.
//!
//! Prometheus evaluates every query of a range on the same grid, but saved responses, Grafana
//! exports and queries with different steps need not agree. Each memory sample takes, from
//! every other series, the sample nearest in time if it lies within half a step; otherwise the
//! row is dropped and counted, so a gap in one metric never pairs memory with a stale count.

use super::TimeSeries;

/// The outcome of aligning.
#[derive(Debug, Clone, PartialEq)]
pub struct Aligned {
    /// Times of the kept rows (the memory series' times).
    pub times: Vec<f64>,
    /// Memory per kept row.
    pub memory: Vec<f64>,
    /// Each other series' value per kept row, in the order given.
    pub columns: Vec<Vec<f64>>,
    /// Memory samples dropped because the other series (by index) had no sample near them.
    pub dropped: Vec<usize>,
    /// Rows dropped in all (a row missing two series counts once).
    pub dropped_rows: usize,
}

/// The median positive gap between consecutive times: the step when none is given.
pub fn infer_step(times: &[f64]) -> Option<f64> {
    let mut gaps: Vec<f64> = times.windows(2).map(|w| w[1] - w[0]).filter(|g| *g > 0.0).collect();
    if gaps.is_empty() {
        return None;
    }
    gaps.sort_by(f64::total_cmp);
    Some(gaps[(gaps.len() - 1) / 2])
}

/// Align `others` on `memory`'s samples with tolerance `step / 2` (inclusive).
pub fn align(memory: &TimeSeries, others: &[&TimeSeries], step: f64) -> Aligned {
    let tol = step / 2.0;
    let mut out = Aligned {
        times: Vec::with_capacity(memory.len()),
        memory: Vec::with_capacity(memory.len()),
        columns: vec![Vec::with_capacity(memory.len()); others.len()],
        dropped: vec![0; others.len()],
        dropped_rows: 0,
    };
    let mut cursor = vec![0usize; others.len()];
    let mut row = vec![0.0; others.len()];
    for (&t, &m) in memory.times.iter().zip(&memory.values) {
        let mut ok = true;
        for (k, other) in others.iter().enumerate() {
            match nearest(&other.times, &mut cursor[k], t) {
                Some(j) if (other.times[j] - t).abs() <= tol => row[k] = other.values[j],
                _ => {
                    out.dropped[k] += 1;
                    ok = false;
                }
            }
        }
        if ok {
            out.times.push(t);
            out.memory.push(m);
            for (col, v) in out.columns.iter_mut().zip(&row) {
                col.push(*v);
            }
        } else {
            out.dropped_rows += 1;
        }
    }
    out
}

/// Index of the time nearest `t` in sorted `times`, advancing `cursor` monotonically (memory
/// times are sorted too, so the whole alignment is linear).
fn nearest(times: &[f64], cursor: &mut usize, t: f64) -> Option<usize> {
    if times.is_empty() {
        return None;
    }
    while *cursor + 1 < times.len() && times[*cursor + 1] <= t {
        *cursor += 1;
    }
    let c = *cursor;
    if c + 1 < times.len() && (times[c + 1] - t).abs() < (t - times[c]).abs() {
        Some(c + 1)
    } else {
        Some(c)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ts(pts: &[(f64, f64)]) -> TimeSeries {
        TimeSeries {
            labels: Default::default(),
            times: pts.iter().map(|p| p.0).collect(),
            values: pts.iter().map(|p| p.1).collect(),
        }
    }

    #[test]
    fn nearest_within_half_a_step() {
        let mem = ts(&[(0.0, 1.0), (30.0, 2.0), (60.0, 3.0), (90.0, 4.0)]);
        // 29 is nearest 30 (1 s off); nothing within 15 s of 60; 103 is 13 s from 90.
        let ports = ts(&[(1.0, 10.0), (29.0, 20.0), (76.0, 30.0), (103.0, 40.0)]);
        let a = align(&mem, &[&ports], 30.0);
        assert_eq!(a.times, vec![0.0, 30.0, 90.0]);
        assert_eq!(a.columns[0], vec![10.0, 20.0, 40.0]);
        assert_eq!((a.dropped, a.dropped_rows), (vec![1], 1));
        assert_eq!(infer_step(&[0.0, 30.0, 60.0, 61.0, 91.0]), Some(30.0));
    }
}
