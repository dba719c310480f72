//! One proxy's successive containers, spliced into one series.
//!
//! `container_memory_working_set_bytes{container="istio-proxy"}` holds one series per
//! container: when a sidecar restarts, cAdvisor (and Prometheus' 5 minute lookback) keeps
//! reporting the dead container beside the new one for a while. Summing them is how a 1Gi
//! proxy shows 2Gi; `max` hides the restart. Here the series of one proxy that differ only in
//! container identity ([`CONTAINER_IDENTITY`]) are read as what they are, successive
//! incarnations: each timestamp takes the newest container (the one that started last) that
//! reports it, and a switch to a container not seen before is a restart.

use super::TimeSeries;

/// Labels that name a container incarnation rather than a proxy: series that differ only in
/// these are one proxy's successive containers.
pub const CONTAINER_IDENTITY: &[&str] = &["id", "container_id", "image", "instance", "name"];

/// One proxy's series after splicing.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Spliced {
    /// The spliced samples (labels: those the incarnations share).
    pub series: TimeSeries,
    /// Times at which a newer container took over (restarts), in order.
    pub switches: Vec<f64>,
}

impl Spliced {
    /// Restarts seen up to and including time `t` (a counter like
    /// `kube_pod_container_status_restarts_total`, starting at 0).
    pub fn restarts_at(&self, t: f64) -> usize {
        self.switches.partition_point(|&s| s <= t)
    }
}

/// Splice the incarnations of one proxy. Newest means latest first sample; ties are broken by
/// label set so the result never depends on response order.
pub fn splice(mut incarnations: Vec<TimeSeries>) -> Spliced {
    incarnations.retain(|s| !s.is_empty());
    if incarnations.len() <= 1 {
        return Spliced { series: incarnations.pop().unwrap_or_default(), switches: Vec::new() };
    }
    incarnations.sort_by(|a, b| a.times[0].total_cmp(&b.times[0]).then_with(|| a.label_set().cmp(&b.label_set())));
    let mut labels = incarnations[0].labels.clone();
    labels.retain(|k, v| incarnations.iter().all(|s| s.labels.get(k) == Some(v)));
    // (time, rank, value): at equal times the highest rank (newest) comes first.
    let total: usize = incarnations.iter().map(TimeSeries::len).sum();
    let mut points: Vec<(f64, usize, f64)> = Vec::with_capacity(total);
    for (rank, s) in incarnations.iter().enumerate() {
        points.extend(s.times.iter().zip(&s.values).map(|(&t, &v)| (t, rank, v)));
    }
    points.sort_by(|a, b| a.0.total_cmp(&b.0).then(b.1.cmp(&a.1)));
    let mut out = Spliced { series: TimeSeries { labels, ..TimeSeries::default() }, switches: Vec::new() };
    let mut newest_seen: Option<usize> = None;
    let mut i = 0;
    while i < points.len() {
        let (t, rank, v) = points[i];
        out.series.times.push(t);
        out.series.values.push(v);
        if newest_seen.is_some_and(|n| rank > n) {
            out.switches.push(t);
        }
        newest_seen = Some(newest_seen.map_or(rank, |n| n.max(rank)));
        while i < points.len() && points[i].0 == t {
            i += 1;
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ts(id: &str, pts: &[(f64, f64)]) -> TimeSeries {
        TimeSeries {
            labels: [("pod".to_string(), "p".to_string()), ("id".to_string(), id.to_string())].into_iter().collect(),
            times: pts.iter().map(|p| p.0).collect(),
            values: pts.iter().map(|p| p.1).collect(),
        }
    }

    #[test]
    fn newest_container_wins_and_a_switch_is_a_restart() {
        // The old container dies at t=3 but is reported (stale) until t=5; the new one starts
        // at t=4 with 20 while loading.
        let old = ts("old", &[(0.0, 100.0), (1.0, 110.0), (2.0, 120.0), (3.0, 130.0), (4.0, 130.0), (5.0, 130.0)]);
        let new = ts("new", &[(4.0, 20.0), (5.0, 90.0), (6.0, 95.0)]);
        // Input order must not matter.
        for input in [vec![old.clone(), new.clone()], vec![new, old]] {
            let s = splice(input);
            assert_eq!(s.series.times, vec![0.0, 1.0, 2.0, 3.0, 4.0, 5.0, 6.0]);
            // Never a sum: 130 + 20 and 130 + 90 appear nowhere.
            assert_eq!(s.series.values, vec![100.0, 110.0, 120.0, 130.0, 20.0, 90.0, 95.0]);
            assert_eq!(s.switches, vec![4.0]);
            assert_eq!((s.restarts_at(3.0), s.restarts_at(4.0), s.restarts_at(9.0)), (0, 1, 1));
            assert!(!s.series.labels.contains_key("id") && s.series.labels["pod"] == "p");
        }
    }

    #[test]
    fn three_incarnations_two_restarts() {
        let a = ts("a", &[(0.0, 1.0), (1.0, 1.0)]);
        let b = ts("b", &[(1.0, 2.0), (2.0, 2.0)]);
        let c = ts("c", &[(2.0, 3.0), (3.0, 3.0)]);
        let s = splice(vec![c, a, b]);
        assert_eq!(s.series.values, vec![1.0, 2.0, 3.0, 3.0]);
        assert_eq!(s.switches, vec![1.0, 2.0]);
    }
}
