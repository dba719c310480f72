//! One proxy's date from the mesh, and which date it keeps: the mesh's or its own series'.
//!
//! The point date follows the services' estimated rates, each service flattening at its steady
//! GC level ([`caps::steady`]). The interval's early end follows the top of the growth interval
//! with every service allowed its burst peak ([`caps::burst`]) to the early end of the
//! crossing's range; its late end the bottom of the growth interval at the steady levels to the
//! late end of the crossing. So a proxy the steady levels hold short of its limit may still have
//! an early end: bursts of updates may take it there, and the late end stays open. Only where
//! even the bursts at the fast end stop short is there no date at all.

use super::super::forecast::{Dates, ProxyModel};
use super::super::growth::{arrivals, Growth};
use super::super::proxies::Now;
use super::super::DateSource;
use std::rc::Rc;

use super::{Curve, GrowthChoice, MeshGrowth, Piece, View};

/// What the forecast says about some proxies, one warning line each.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub(super) enum Note {
    /// GC holds the proxy below the ports where its upper bound meets the limit, bursts too.
    Held,
    /// GC holds it there at the expected rates, but bursts of updates may not.
    Bursts,
    /// The proxy's own growth interval and the mesh's do not overlap.
    Disagrees,
    /// The proxy is dated from its own series, for this reason.
    Fallback(String),
}

/// A weight group's growth and curves `[point, fast, slow]` at one window end.
#[derive(Debug)]
pub(super) struct Curves {
    growth: Growth,
    curves: [Curve; 3],
}

/// [`Curves`], or why the mesh cannot date the group's proxies.
pub(super) type Prepared = Result<Curves, String>;

/// A proxy's days on the mesh's curves.
struct MeshDays {
    /// At the estimated rates and steady levels (None: held short).
    days: Option<f64>,
    /// Soonest: fast rates, burst levels, early crossing (None: held short even so).
    early: Option<f64>,
    /// Latest: slow rates, steady levels, late crossing (None: may never).
    late: Option<f64>,
    /// The predictor value where the upper bound meets the limit.
    upper: f64,
}

/// The days on the curves `[point, fast, slow]` from predictor value `now`; `None` when memory
/// never meets the limit.
fn mesh_days(pm: &ProxyModel<'_>, now: f64, limit: f64, curves: &[Curve; 3], level: f64) -> Option<MeshDays> {
    let a = 1.0 - level;
    let upper = pm.crossing(now, limit, pm.model.t_one_sided(level), true)?;
    let days = curves[0].time_to(upper - now);
    // The true crossing lies between the mean line's band ends; pair each with a rate end.
    let z = pm.model.t_one_sided(1.0 - a / 2.0);
    let early = pm.crossing(now, limit, z, false).map_or(Some(upper), Some).and_then(|x| curves[1].time_to(x - now));
    let late = pm.crossing(now, limit, -z, false).and_then(|x| curves[2].time_to(x - now));
    Some(MeshDays { days, early: early.map(|e| days.map_or(e, |d| e.min(d))), late, upper })
}

impl MeshGrowth {
    /// The growth and dates of one proxy: its own (`own`, from its series) or the mesh's, as
    /// the settings choose; what is worth saying is gathered for [`MeshGrowth::take_warnings`].
    pub(crate) fn choose(
        &self,
        proxy: &str,
        now: &Now,
        pm: &ProxyModel<'_>,
        own: (Option<Growth>, Option<Dates>),
        level: f64,
    ) -> (Option<Growth>, Option<Dates>, DateSource) {
        let keep = (own.0, own.1, DateSource::OwnSeries);
        if self.settings.growth == GrowthChoice::Own {
            return keep;
        }
        let view = match self.view_of(proxy) {
            Ok(v) => v,
            Err(reason) => {
                self.note(Note::Fallback(reason), proxy.to_string());
                return keep;
            }
        };
        {
            let mut latest = self.latest_end.borrow_mut();
            *latest = latest.max(now.time);
        }
        let prepared = self.prepared(view, now.time, level);
        let (growth, curves) = match &*prepared {
            Ok(p) => (p.growth, &p.curves),
            Err(reason) => {
                self.note(Note::Fallback(reason.clone()), proxy.to_string());
                return keep;
            }
        };
        let found = now.limit_bytes.and_then(|limit| mesh_days(pm, now.predictor, limit, curves, level));
        let mesh_dates = found.as_ref().and_then(|m| match (m.days, m.early) {
            (Some(days), early) => {
                Some(Dates { days: Some(days), interval: [early.or(Some(days)), m.late.map(|l| l.max(days))] })
            }
            // Held at the expected rates; bursts may still get there, at the soonest `early`.
            (None, Some(early)) => Some(Dates { days: None, interval: [Some(early), None] }),
            (None, None) => None,
        });
        if self.settings.growth == GrowthChoice::Sooner {
            let days = |d: &Option<Dates>| d.and_then(|d| d.days).unwrap_or(f64::INFINITY);
            if days(&own.1) < days(&mesh_dates) {
                return keep;
            }
        } else if let Some(g) = own.0 {
            let [lo, hi] = growth.interval;
            if g.interval[0] > hi || g.interval[1] < lo {
                let detail = format!(
                    "{proxy} {:.2} [{:.2}, {:.2}] against [{lo:.2}, {hi:.2}]",
                    g.per_day, g.interval[0], g.interval[1]
                );
                self.note(Note::Disagrees, detail);
            }
        }
        if let Some(m) = found.filter(|m| m.days.is_none()) {
            let at = now.predictor + curves[0].plateau();
            let detail = format!("{proxy} at {at:.0} of {:.0} {}", m.upper, pm.predictor);
            match m.early {
                Some(e) => self.note(Note::Bursts, format!("{detail} (soonest in {e:.1} days)")),
                None => self.note(Note::Held, detail),
            }
        }
        (Some(growth), mesh_dates, DateSource::Mesh)
    }

    /// A view's growth and its curves `[point, fast, slow]` with windows ending at `end`, or why
    /// the mesh cannot date it; computed once per weight group and end, so proxies that see the
    /// same services share the work.
    fn prepared(&self, view: &View, end: f64, level: f64) -> Rc<Prepared> {
        let key = (view.group, end.to_bits());
        if let Some(p) = self.prepared.borrow().get(&key) {
            return p.clone();
        }
        let p = Rc::new(self.prepare(self.weights(view), end, level));
        self.prepared.borrow_mut().insert(key, p.clone());
        p
    }

    fn prepare(&self, weights: &[(usize, f64)], end: f64, level: f64) -> Prepared {
        let estimates = self.estimates_at(end);
        let mut seen = Vec::with_capacity(weights.len());
        for &(s, weight) in weights {
            match estimates[s] {
                Some(e) => seen.push((s, weight, e)),
                None => {
                    return Err(format!(
                    "knative service {} has no creation times over a span in the topology (import kubectl writes them)",
                    self.services[s].id
                ))
                }
            }
        }
        let policy = &self.settings.policy;
        // Services that may still grow: below their burst level at the top of their rate, or
        // with never-routed revisions, which GC never caps.
        seen.retain(|(s, _, e)| e.leak > 0.0 || f64::from(self.services[*s].revisions) < e.burst);
        let processes: Vec<(f64, f64, f64)> =
            seen.iter().map(|(_, w, e)| (e.growth.arrivals, *w, e.span_days)).collect();
        let growth = arrivals(&processes, level).unwrap_or(Growth {
            per_day: 0.0,
            interval: [0.0, 0.0],
            span_days: 1.0,
            arrivals: 0.0,
            unit: 0.0,
        });
        // Every rate scaled together to an end of the proxy's growth interval.
        // A service's updates that route grow to GC's cap; its never-routed ones (a share of
        // the same updates) grow for ever: GC never collects them (gc.go isRevisionActive).
        let curve_at = |k: f64, burst: bool| {
            Curve::new(seen.iter().flat_map(|&(s, weight, e)| {
                let svc = &self.services[s];
                let leak = k * e.leak;
                let rate = k * e.growth.per_day - leak;
                let cap = if burst { svc.burst_cap(policy, rate, level) } else { svc.cap(policy, rate) };
                [
                    Piece { weight, rate, headroom: (cap - f64::from(svc.revisions)).max(0.0) },
                    Piece { weight, rate: leak, headroom: f64::INFINITY },
                ]
            }))
        };
        let scale = |bound: f64| if growth.per_day > 0.0 { bound / growth.per_day } else { 0.0 };
        let curves = [
            curve_at(1.0, false),
            curve_at(scale(growth.interval[1]), true),
            curve_at(scale(growth.interval[0]), false),
        ];
        Ok(Curves { growth, curves })
    }

    /// The ports (or revisions) proxy `proxy` gains over time from its window ending at `time`,
    /// at the services' estimated rates under the settings' GC policy (the curve its point date
    /// is read on); `None` when the mesh cannot date it (see [`MeshGrowth::choose`]).
    pub fn point_curve(&self, proxy: &str, time: f64) -> Option<Curve> {
        let view = self.view_of(proxy).ok()?;
        match &*self.prepared(view, time, self.level) {
            Ok(p) => Some(p.curves[0].clone()),
            Err(_) => None,
        }
    }

    pub(super) fn note(&self, note: Note, detail: String) {
        self.notes.borrow_mut().entry(note).or_default().push(detail);
    }

    /// The services holding never-routed revisions, in one line naming the first three with
    /// their count and rate at the latest window end; `None` when no service holds any.
    fn leak_warning(&self) -> Option<String> {
        let end = *self.latest_end.borrow();
        let estimates = if end.is_finite() { self.estimates_at(end) } else { Rc::new(vec![None; self.services.len()]) };
        let leaking: Vec<String> = self
            .services
            .iter()
            .zip(estimates.iter())
            .filter(|(s, _)| s.unrouted > 0)
            .map(|(s, e)| match e {
                Some(e) => format!("{} ({}, {:.2} a day)", s.id, s.unrouted, e.leak),
                None => format!("{} ({})", s.id, s.unrouted),
            })
            .collect();
        let n = leaking.len();
        let shown = leaking.iter().take(3).cloned().collect::<Vec<_>>().join("; ");
        let list = if n > 3 { format!("{shown}; and {} more", n - 3) } else { shown };
        let services =
            if n == 1 { "1 Knative service holds".to_string() } else { format!("{n} Knative services hold") };
        (n > 0).then(|| format!(
            "{services} revisions that never routed (routingState pending/unset), which Knative's GC never collects (gc.go isRevisionActive): they keep adding up, so GC does not cap their growth: {list}"
        ))
    }

    /// The services listing revisions created after the latest reading, in one line naming the
    /// first three; `None` when none does. Such a topology was taken after the readings (or
    /// its times are wrong): the readings never saw those revisions, and each service's window
    /// is stretched to its newest creation ([`super::rates::window`]), so a mis-stamped time
    /// lowers its rate by as much as it stretches the window.
    fn future_warning(&self) -> Option<String> {
        let end = *self.latest_end.borrow();
        if !end.is_finite() {
            return None;
        }
        let late: Vec<(f64, String)> = self
            .services
            .iter()
            .filter_map(|s| {
                let after = s.created.iter().filter(|&&t| t > end).count();
                let newest = s.created.iter().copied().filter(|t| t.is_finite()).reduce(f64::max)?;
                (after > 0).then(|| {
                    let days = (newest - end) / super::super::growth::DAY;
                    (days, format!("{} ({after}, newest {days:.1} days after)", s.id))
                })
            })
            .collect();
        let n = late.len();
        let shown = late.iter().take(3).map(|l| l.1.clone()).collect::<Vec<_>>().join("; ");
        let list = if n > 3 { format!("{shown}; and {} more", n - 3) } else { shown };
        let most = late.iter().map(|l| l.0).fold(0.0, f64::max);
        let services =
            if n == 1 { "1 Knative service lists".to_string() } else { format!("{n} Knative services list") };
        (n > 0).then(|| format!(
            "{services} revisions created after the last reading ({}), up to {most:.1} days after: the topology is newer than the readings or its times are wrong; rates are read up to the newest creation and a wrong time lowers them: take the topology when the readings end: {list}",
            crate::series::write::format_time(end)
        ))
    }

    /// The notes gathered while forecasting, one line each, naming the first proxies.
    pub(crate) fn take_warnings(&self) -> Vec<String> {
        let leak = self.leak_warning();
        let future = self.future_warning();
        std::mem::take(&mut *self.notes.borrow_mut())
            .into_iter()
            .map(|(note, details)| {
                let n = details.len();
                let proxies = if n == 1 { "1 proxy".to_string() } else { format!("{n} proxies") };
                let shown = details.iter().take(3).cloned().collect::<Vec<_>>().join("; ");
                let list = if n > 3 { format!("{shown}; and {} more", n - 3) } else { shown };
                let policy = &self.settings.policy;
                match note {
                    Note::Held => format!(
                        "GC ({policy}) holds {proxies} short of where the upper bound meets the limit, bursts of updates included, so no date: {list}"
                    ),
                    Note::Bursts => format!(
                        "GC ({policy}) holds {proxies} short of where the upper bound meets the limit at the expected update rates, so no date, but bursts of updates may reach it within a year: {list}"
                    ),
                    Note::Disagrees => {
                        let grow = if n == 1 { "grows on its" } else { "grow on their" };
                        format!(
                            "{proxies} {grow} own series at a rate outside the mesh's interval now (a service started or stopped updating, services come and go, or the topology is not current; --growth sooner takes the earlier date): {list} per day"
                        )
                    }
                    Note::Fallback(reason) => {
                        let whose = if n == 1 { "its" } else { "their" };
                        format!("{reason}: {proxies} dated from {whose} own series ({list})")
                    }
                }
            })
            .chain(leak)
            .chain(future)
            .collect()
    }
}
