//! One series per query: label filters and aggregation.
//!
//! A query such as `container_memory_working_set_bytes{container="istio-proxy"}` returns one
//! series per container instance, and summing them silently is how double counting gets into
//! capacity plans. So a response with several series is refused, listing their label sets,
//! unless a label filter (`--select pod=cart-0`) leaves one or `--aggregate max|sum|mean`
//! says how to combine them (per timestamp, over the series that have a sample there).

use super::TimeSeries;

/// How several series become one.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Aggregate {
    /// The largest value per timestamp (the safe choice for memory).
    Max,
    /// The sum per timestamp.
    Sum,
    /// The mean per timestamp.
    Mean,
}

impl Aggregate {
    /// Parse `max`, `sum` or `mean`.
    pub fn parse(s: &str) -> Option<Aggregate> {
        match s {
            "max" => Some(Aggregate::Max),
            "sum" => Some(Aggregate::Sum),
            "mean" | "avg" => Some(Aggregate::Mean),
            _ => None,
        }
    }
}

/// Which series of a response to use.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Selection {
    /// `label=value` filters; a filter on a label no series of the response has is ignored
    /// for that response (the label was aggregated away by the query).
    pub filters: Vec<(String, String)>,
    /// How to combine what the filters leave.
    pub aggregate: Option<Aggregate>,
}

/// Pick one series from `series`, or explain (naming `what`) why not.
pub fn select(what: &str, series: Vec<TimeSeries>, selection: &Selection) -> Result<TimeSeries, String> {
    let applicable: Vec<&(String, String)> =
        selection.filters.iter().filter(|(k, _)| series.iter().any(|s| s.labels.contains_key(k))).collect();
    let total = series.len();
    let kept: Vec<TimeSeries> = series
        .into_iter()
        .filter(|s| applicable.iter().all(|(k, v)| s.labels.get(k) == Some(v)))
        .filter(|s| !s.is_empty())
        .collect();
    match kept.len() {
        0 if total == 0 => Err(format!("{what} returned no series: check the query and the time range")),
        0 if applicable.is_empty() => {
            Err(format!("{what}: its {total} series have no usable samples (all NaN/Inf, or none in the range)"))
        }
        0 => Err(format!("{what}: no series with samples matches the filters ({total} series in the response)")),
        1 => Ok(kept.into_iter().next().expect("one")),
        n => match selection.aggregate {
            Some(agg) => Ok(aggregate(kept, agg)),
            None => {
                let shown: Vec<String> = kept.iter().take(5).map(TimeSeries::label_set).collect();
                let more = if n > 5 { format!(" and {} more", n - 5) } else { String::new() };
                Err(format!(
                    "{what} returned {n} series: {}{more}; pick one with --select LABEL=VALUE or combine them with --aggregate max|sum|mean",
                    shown.join(" ")
                ))
            }
        },
    }
}

/// Combine series per timestamp; the result carries the labels all inputs share.
fn aggregate(series: Vec<TimeSeries>, agg: Aggregate) -> TimeSeries {
    let mut labels = series[0].labels.clone();
    labels.retain(|k, v| series.iter().all(|s| s.labels.get(k) == Some(v)));
    let mut points: Vec<(f64, f64)> =
        series.iter().flat_map(|s| s.times.iter().copied().zip(s.values.iter().copied())).collect();
    // Stable sort: equal times keep series order, so sums add in the same order every run.
    points.sort_by(|a, b| a.0.total_cmp(&b.0));
    let mut out = TimeSeries { labels, ..TimeSeries::default() };
    let mut i = 0;
    while i < points.len() {
        let t = points[i].0;
        let mut j = i;
        let (mut acc, mut n) = (
            match agg {
                Aggregate::Max => f64::NEG_INFINITY,
                _ => 0.0,
            },
            0usize,
        );
        while j < points.len() && points[j].0 == t {
            let v = points[j].1;
            acc = match agg {
                Aggregate::Max => acc.max(v),
                _ => acc + v,
            };
            n += 1;
            j += 1;
        }
        if agg == Aggregate::Mean {
            acc /= n as f64;
        }
        out.times.push(t);
        out.values.push(acc);
        i = j;
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ts(pod: &str, pts: &[(f64, f64)]) -> TimeSeries {
        TimeSeries {
            labels: [("pod".to_string(), pod.to_string())].into_iter().collect(),
            times: pts.iter().map(|p| p.0).collect(),
            values: pts.iter().map(|p| p.1).collect(),
        }
    }

    #[test]
    fn refuses_several_and_lists_them() {
        let e = select("memory query", vec![ts("a", &[(1.0, 1.0)]), ts("b", &[(1.0, 2.0)])], &Selection::default())
            .unwrap_err();
        assert!(e.contains("returned 2 series: {pod=\"a\"} {pod=\"b\"}"), "{e}");
    }

    #[test]
    fn filters_and_aggregates() {
        let s = vec![ts("a", &[(1.0, 1.0), (2.0, 5.0)]), ts("b", &[(1.0, 3.0)])];
        let sel = Selection { filters: vec![("pod".into(), "b".into())], aggregate: None };
        assert_eq!(select("q", s.clone(), &sel).unwrap().values, vec![3.0]);
        let ignored = Selection { filters: vec![("namespace".into(), "x".into())], aggregate: Some(Aggregate::Max) };
        let m = select("q", s.clone(), &ignored).unwrap();
        assert_eq!((m.times.clone(), m.values.clone()), (vec![1.0, 2.0], vec![3.0, 5.0]));
        assert!(m.labels.is_empty());
        let sum = select("q", s.clone(), &Selection { aggregate: Some(Aggregate::Sum), ..Selection::default() });
        assert_eq!(sum.unwrap().values, vec![4.0, 5.0]);
        let mean = select("q", s, &Selection { aggregate: Some(Aggregate::Mean), ..Selection::default() });
        assert_eq!(mean.unwrap().values, vec![2.0, 5.0]);
    }
}
