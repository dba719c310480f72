//! A seeded study of `fleet --topology`'s days-to-limit intervals against a mesh with known
//! truth.
//!
//! Each proxy sits alone in its namespace (`--scope namespace`) beside one young Knative service
//! updated as a Poisson process at 2 to 16 a day, whose revisions Knative's default GC keeps or
//! deletes as it would (a pass at each update and every 10 hours: [`GcPolicy::collect`]). The
//! proxy's ports are a base plus 8 per kept revision; its memory a pooled line, its own offset,
//! an offset per configuration level and reading noise. The topology at the end of the 5-day
//! series lists the kept revisions' creation times; the limit sits 1 to 40 revisions of ports
//! above now, so some proxies reach it before GC holds their service and some never do. The
//! future runs the same process with the same GC: the day the mean line first reaches the limit,
//! or never, is the truth an interval must hold (a dated proxy whose top is open holds "never";
//! a proxy with no date holds only "never").

use std::collections::VecDeque;
use std::path::Path;

use meshcap::fleet::growth::DAY;
use meshcap::fleet::mesh::{GrowthChoice, MeshGrowth, MeshSettings};
use meshcap::fleet::{forecast_with, pooled, DateSource, FleetSettings};
use meshcap::mesh::{GcPolicy, Scope, Topology};
use meshcap::series::csv;
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use rand_distr::{Distribution, Exp, Normal};

use crate::fleet_mesh::{rfc3339, MI, PER_PORT, T0};

const HOUR: f64 = 3600.0;
/// Readings every 30 minutes for 5 days.
const STEP: f64 = 1800.0;
const SAMPLES: usize = 241;
const END: f64 = T0 + (SAMPLES - 1) as f64 * STEP;
/// The future simulated (days after the end): the horizon whose bursts the caps allow for.
const HORIZON_DAYS: f64 = meshcap::fleet::mesh::caps::HORIZON_DAYS;

/// A service's kept revisions over time: (time, kept count) after every change.
fn kept_history(rng: &mut ChaCha8Rng, rate: f64, start: f64, until: f64) -> (Vec<(f64, usize)>, Vec<f64>) {
    let gc = GcPolicy::default();
    let gap = Exp::new(rate / DAY).unwrap();
    let (mut kept, mut history): (VecDeque<f64>, Vec<(f64, usize)>) = (VecDeque::new(), Vec::new());
    let mut at_end = Vec::new();
    let (mut t, mut resync) = (start, start + 10.0 * HOUR);
    // What GC has left at the end of the series: the topology's revisions.
    let capture = |kept: &VecDeque<f64>, at: f64, done: &mut Vec<f64>| {
        if done.is_empty() && at > END {
            *done = kept.iter().map(|h| h * HOUR).collect();
        }
    };
    while t < until {
        while resync < t {
            capture(&kept, resync, &mut at_end);
            gc.collect(&mut kept, resync / HOUR);
            history.push((resync, kept.len()));
            resync += 10.0 * HOUR;
        }
        capture(&kept, t, &mut at_end);
        kept.push_back(t / HOUR);
        gc.collect(&mut kept, t / HOUR);
        history.push((t, kept.len()));
        t += gap.sample(rng);
    }
    (history, at_end)
}

/// Kept revisions at time `t`.
fn kept_at(history: &[(f64, usize)], t: f64) -> usize {
    history.iter().take_while(|(at, _)| *at <= t).last().map_or(0, |h| h.1)
}

struct Truth {
    name: String,
    /// Days after the end until the mean line reaches the limit; infinite: never.
    days: f64,
}

/// One fleet: the series CSV, the topology TOML and the truth per proxy.
fn draw(rng: &mut ChaCha8Rng, proxies: usize) -> (String, String, Vec<Truth>) {
    let z = Normal::new(0.0, 1.0).unwrap();
    let mut csv = String::from("time,proxy,ports,limit,memory\n");
    let mut toml = String::from("istio_version = \"1.18.2\"\nknative_version = \"1.11.0\"\n");
    let mut truths = Vec::new();
    for i in 0..proxies {
        let rate = rng.gen_range(2.0..16.0);
        // Young: first revision 1 to 3 days before the end, so GC has not held it yet.
        let start = END - rng.gen_range(1.0..3.0) * DAY;
        let (history, created) = kept_history(rng, rate, start, END + HORIZON_DAYS * DAY);
        let base = 8.0 * f64::from(rng.gen_range(40..120));
        let offset = 8.0 * MI * z.sample(rng);
        let mean = |ports: f64| 55.0 * MI + offset + PER_PORT * ports;
        let ports_at = |t: f64| base + 8.0 * kept_at(&history, t) as f64;
        let now = ports_at(END);
        let limit = mean(now + 8.0 * rng.gen_range(1.0..40.0));
        let name = format!("ns{i:02}/api-{i:02}");
        let mut level = 2.0 * MI * z.sample(rng);
        let mut last_ports = f64::NAN;
        for k in 0..SAMPLES {
            let t = T0 + k as f64 * STEP;
            let ports = ports_at(t);
            if ports != last_ports {
                level = 2.0 * MI * z.sample(rng);
                last_ports = ports;
            }
            let memory = mean(ports) + level + 0.5 * MI * z.sample(rng);
            csv.push_str(&format!("{t},{name},{ports},{limit:.0},{memory:.0}\n"));
        }
        let days = history
            .iter()
            .find(|(t, _)| *t > END && mean(base + 8.0 * kept_at(&history, *t) as f64) >= limit)
            .map_or(f64::INFINITY, |(t, _)| (t - END) / DAY);
        truths.push(Truth { name, days });
        let times: Vec<String> = created.iter().map(|&t| format!("\"{}\"", rfc3339(t))).collect();
        toml.push_str(&format!(
            "[[namespaces]]\nname = \"ns{i:02}\"\nsidecars = true\nknative = [{{ name = \"api\", revisions = {}, created = [{}] }}]\n",
            created.len(),
            times.join(", ")
        ));
    }
    (csv, toml, truths)
}

#[test]
fn mesh_days_intervals_hold_the_true_dates() {
    let (runs, proxies) = (60, 20);
    let mut rng = ChaCha8Rng::seed_from_u64(1212);
    let (mut total, mut hits, mut dated, mut never) = (0usize, 0usize, 0usize, 0usize);
    let (mut early, mut late, mut wrongly_held) = (0usize, 0usize, 0usize);
    let (mut point, mut open, mut point_reached, mut point_hits) = (0usize, 0usize, 0usize, 0usize);
    let (mut positive_lo, mut closed, mut log_widths) = (0usize, 0usize, Vec::new());
    for _ in 0..runs {
        let (text, toml, truths) = draw(&mut rng, proxies);
        let series = csv::parse(Path::new("sim.csv"), &text).unwrap();
        let model = pooled::pooled_fit(&series, meshcap::model::sha256_hex(text.as_bytes()), "sim.csv", 0.95).unwrap();
        let topology = Topology::parse(Path::new("sim.toml"), &toml).unwrap();
        let settings =
            MeshSettings { scope: Scope::Namespace.into(), policy: GcPolicy::default(), growth: GrowthChoice::Mesh };
        let mesh = MeshGrowth::new(&topology, "sim.toml", settings, "ports", 0.95).unwrap();
        let fleet_settings = FleetSettings { headroom: 0.0, ..FleetSettings::default() };
        let fleet = forecast_with(&series, &model, &fleet_settings, Some(&mesh)).unwrap();
        for truth in &truths {
            let p = fleet.proxies.iter().find(|p| p.proxy == truth.name).unwrap();
            if p.source != DateSource::Mesh {
                continue; // a service with a single revision: no window
            }
            total += 1;
            never += usize::from(truth.days.is_infinite());
            if p.days_to_limit.is_some() {
                point += 1;
                open += usize::from(matches!(p.days_to_limit_interval, Some([_, None])));
                if truth.days.is_finite() {
                    point_reached += 1;
                    let [lo, hi] = p.days_to_limit_interval.unwrap();
                    point_hits += usize::from(lo.unwrap() <= truth.days && truth.days <= hi.unwrap_or(f64::INFINITY));
                }
            }
            let held = match p.days_to_limit_interval {
                None => truth.days.is_infinite(),
                Some([lo, hi]) => {
                    dated += 1;
                    let (lo, hi) = (lo.unwrap(), hi.unwrap_or(f64::INFINITY));
                    positive_lo += usize::from(lo > 0.0);
                    if lo > 0.0 && hi.is_finite() {
                        closed += 1;
                        log_widths.push((hi / lo).ln());
                    }
                    early += usize::from(truth.days < lo);
                    late += usize::from(truth.days > hi);
                    lo <= truth.days && truth.days <= hi
                }
            };
            wrongly_held += usize::from(p.days_to_limit_interval.is_none() && truth.days.is_finite());
            hits += usize::from(held);
        }
    }
    let share = hits as f64 / total as f64;
    eprintln!(
        "point-dated {point} ({open} with an open top); of those truly reached {point_hits}/{point_reached} held"
    );
    eprintln!(
        "mesh days-to-limit coverage over {runs} fleets x {proxies}: {share:.3} ({hits}/{total}; {dated} dated, {never} truly never; truth earlier {early}, later {late}, reached though undated {wrongly_held})"
    );
    let mean_log_width = log_widths.iter().sum::<f64>() / log_widths.len().max(1) as f64;
    eprintln!(
        "dated {dated}: lower end above 0 in {positive_lo}, closed in {closed}, mean ln(hi/lo) {mean_log_width:.3}"
    );
    assert!(total > runs * proxies * 9 / 10, "most proxies map: {total}");
    assert!(never > total / 10 && dated > total / 3, "a mix of held and dated proxies: {never} never, {dated} dated");
    // Conservative by design (rate and crossing ends paired, burst peaks at the early end, open
    // tops where the slow end is held short): what must not happen is a date that misses or
    // a proxy called held that reaches its limit.
    assert!(share >= 0.95, "coverage {share}");
    assert!(point_hits as f64 >= 0.95 * point_reached as f64, "point-dated coverage {point_hits}/{point_reached}");
    assert!(wrongly_held * 100 <= total, "undated but reached: {wrongly_held} of {total}");
    // And not wider than needed (issue 21: intervals forced to [0, never] passed): most dated
    // proxies get a lower end above today, and some a finite top (measured: 908 and 29 of 1057).
    assert!(positive_lo * 4 >= dated * 3, "lower ends above 0: {positive_lo} of {dated}");
    assert!(closed * 100 >= dated, "closed intervals: {closed} of {dated}");
}
