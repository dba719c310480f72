//! One scenario's memory per day over its paths, for a fan chart.

use rayon::prelude::*;
use serde::Serialize;

use super::kernel::{stride, Scratch, FIXED, PER_SCENARIO};
use super::sampling::quantile;
use super::{Chunk, Simulation, PATH_CHUNK};
use crate::error::{Error, Result};
use crate::mesh::ProxyKind;
use crate::scenario::grid::decode;

/// One scenario's simulated memory per day, for a fan chart.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Fan {
    /// Days since the start, 0 to the horizon.
    pub days: Vec<f64>,
    /// 5th percentile over paths of memory x transient per day, bytes: what the proxy asks
    /// for (with `high_water_mark` on, the peak since the last restart less the freed heap
    /// Envoy returned once it reached 100 MiB), before
    /// the kernel stops it at the limit.
    pub p5: Vec<f64>,
    /// 25th percentile.
    pub p25: Vec<f64>,
    /// Median.
    pub p50: Vec<f64>,
    /// 75th percentile.
    pub p75: Vec<f64>,
    /// 95th percentile.
    pub p95: Vec<f64>,
    /// Mean over paths.
    pub mean: Vec<f64>,
    /// The scenario's limit, bytes.
    pub limit_bytes: f64,
    /// Day of the first OOMKill of each path that had one, in path order.
    pub first_oom_days: Vec<f64>,
}

impl Simulation<'_> {
    /// Per-day memory quantiles over the paths of one scenario, for one proxy, and the days of
    /// first OOMKills. The same paths as [`Simulation::run`]'s.
    pub fn fan(&self, id: u64, proxy: ProxyKind) -> Result<Fan> {
        self.check_id(id)?;
        let group = id / self.group_size;
        let plan = self.plan(group);
        let gateway = proxy == ProxyKind::Gateway;
        if gateway && plan.gateway.is_none() {
            return Err(Error::invalid(format!("scenario {id} has no gateways to simulate")));
        }
        let v = (id - group * self.group_size) as usize;
        let paths = u64::from(self.options.settings.paths);
        let parts: Vec<Chunk> = (0..paths.div_ceil(PATH_CHUNK))
            .into_par_iter()
            .map_init(Scratch::default, |scratch, c| {
                let range = c * PATH_CHUNK..((c + 1) * PATH_CHUNK).min(paths);
                self.chunk(&plan, range, scratch, Some((v, gateway)))
            })
            .collect();
        let horizon = self.options.settings.horizon_days as usize;
        let width = stride(self.group_size as usize);
        let at = FIXED + PER_SCENARIO * v + if gateway { 2 } else { 0 };
        let first_oom_days =
            parts.iter().flat_map(|c| c.records.chunks_exact(width)).map(|r| r[at]).filter(|x| x.is_finite()).collect();
        let d = decode(id, &self.grid.lengths);
        let mut fan = Fan {
            days: (0..=horizon).map(|t| t as f64).collect(),
            p5: Vec::new(),
            p25: Vec::new(),
            p50: Vec::new(),
            p75: Vec::new(),
            p95: Vec::new(),
            mean: Vec::new(),
            limit_bytes: self.grid.spec.axes.limit[d[12]],
            first_oom_days,
        };
        let mut day = Vec::with_capacity(paths as usize);
        for t in 0..=horizon {
            day.clear();
            day.extend(parts.iter().flat_map(|c| c.memory.chunks_exact(horizon + 1)).map(|m| m[t]));
            fan.mean.push(day.iter().sum::<f64>() / day.len() as f64);
            day.sort_by(f64::total_cmp);
            let bands = [
                (0.05, &mut fan.p5),
                (0.25, &mut fan.p25),
                (0.5, &mut fan.p50),
                (0.75, &mut fan.p75),
                (0.95, &mut fan.p95),
            ];
            for (q, out) in bands {
                out.push(quantile(&day, q));
            }
        }
        Ok(fan)
    }
}
