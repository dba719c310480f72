//! A fleet with known truth, for the fleet's simulation study and its live Prometheus test.
//!
//! Each proxy sees revisions arrive as a Poisson process (8 endpoint ports each) at its own
//! rate; its memory is a pooled line plus its own offset, a few-Mi offset per configuration
//! level and reading noise. The future continues the same process until the proxy's mean
//! memory reaches its limit: that time is the true date a forecast must hold.

use std::fmt::Write as _;

use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;
use rand_distr::{Distribution, Exp, Normal};

pub const MI: f64 = 1024.0 * 1024.0;
/// Idle memory (55Mi).
pub const BASE: f64 = 55.0 * MI;
/// Memory per endpoint port (96 KiB, in Envoy's reported range).
pub const PER_PORT: f64 = 96.0 * 1024.0;
pub const PORTS_PER_REVISION: f64 = 8.0;
const DAY: f64 = 86_400.0;

/// What to build one proxy from.
#[derive(Debug, Clone)]
pub struct Spec {
    pub namespace: String,
    pub pod: String,
    /// Revisions per day.
    pub rate: f64,
    /// Ports at the start of the history.
    pub ports0: f64,
    /// Expected days from the last reading to the limit (sets the limit).
    pub target_days: f64,
}

/// One proxy's history and truth.
#[derive(Debug, Clone)]
pub struct Proxy {
    pub spec: Spec,
    pub offset: f64,
    pub limit: f64,
    /// Per reading: ports and memory.
    pub ports: Vec<f64>,
    pub memory: Vec<f64>,
    /// Days from the last reading until the mean memory reached the limit (the future drawn).
    pub true_days: f64,
}

impl Proxy {
    pub fn name(&self) -> String {
        format!("{}/{}", self.spec.namespace, self.spec.pod)
    }

    /// True ports per day.
    pub fn true_growth(&self) -> f64 {
        self.spec.rate * PORTS_PER_REVISION
    }

    fn mean(&self, ports: f64) -> f64 {
        BASE + PER_PORT * ports + self.offset
    }
}

/// A fleet's history: `samples` readings `step` seconds apart from `t0`.
pub struct Fleet {
    pub t0: f64,
    pub step: f64,
    pub samples: usize,
    pub proxies: Vec<Proxy>,
}

/// Draw a fleet. Offsets have sd 8Mi, level offsets 2Mi, readings 0.5Mi.
pub fn generate(seed: u64, specs: &[Spec], t0: f64, step: f64, samples: usize) -> Fleet {
    generate_with(seed, specs, t0, step, samples, 2.0 * MI)
}

/// [`generate`] with level offsets of sd `level_sd` (bytes): large ones make the model's own
/// uncertainty (each proxy's offset, the slope) matter beside the growth's.
pub fn generate_with(seed: u64, specs: &[Spec], t0: f64, step: f64, samples: usize, level_sd: f64) -> Fleet {
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    let z = Normal::new(0.0, 1.0).unwrap();
    let span = step * (samples - 1) as f64;
    let mut proxies = Vec::new();
    for spec in specs {
        let offset = 8.0 * MI * z.sample(&mut rng);
        // A proxy without updates never waits for one.
        let wait = Exp::new(spec.rate.max(1e-300) / DAY).unwrap();
        // Arrival times over the history, then readings on the grid.
        let mut arrivals = Vec::new();
        let mut t = wait.sample(&mut rng);
        while t <= span && spec.rate > 0.0 {
            arrivals.push(t);
            t += wait.sample(&mut rng);
        }
        let (mut ports, mut memory) = (Vec::with_capacity(samples), Vec::with_capacity(samples));
        let mut seen = 0;
        let mut level = level_sd * z.sample(&mut rng);
        let mut p =
            Proxy { spec: spec.clone(), offset, limit: 0.0, ports: Vec::new(), memory: Vec::new(), true_days: 0.0 };
        for k in 0..samples {
            let tk = k as f64 * step;
            let before = seen;
            while seen < arrivals.len() && arrivals[seen] <= tk {
                seen += 1;
            }
            if seen > before {
                level = level_sd * z.sample(&mut rng);
            }
            let x = spec.ports0 + PORTS_PER_REVISION * seen as f64;
            ports.push(x);
            memory.push(p.mean(x) + level + 0.5 * MI * z.sample(&mut rng));
        }
        let now = *ports.last().unwrap();
        // A proxy without updates gets the room one revision a day would use up.
        p.limit = p.mean(now) + PER_PORT * p.true_growth().max(PORTS_PER_REVISION) * spec.target_days;
        // The future: the arrival at which the mean line reaches the limit. The memoryless
        // process restarts at the last reading.
        let mut future = if spec.rate > 0.0 { 0.0 } else { f64::INFINITY };
        let mut x = now;
        while p.mean(x) < p.limit && future.is_finite() {
            future += wait.sample(&mut rng);
            x += PORTS_PER_REVISION;
        }
        p.true_days = future / DAY;
        p.ports = ports;
        p.memory = memory;
        proxies.push(p);
    }
    Fleet { t0, step, samples, proxies }
}

impl Fleet {
    /// The canonical long-form CSV (what `import prometheus --by namespace,pod` writes).
    pub fn csv(&self) -> String {
        let mut s = String::from("time,proxy,ports,limit,memory\n");
        for p in &self.proxies {
            let name = p.name();
            for k in 0..self.samples {
                let t = self.t0 + k as f64 * self.step;
                writeln!(s, "{t},{name},{},{},{:.0}", p.ports[k], p.limit.round(), p.memory[k]).unwrap();
            }
        }
        s
    }
}

/// Where one proxy restarts in an OpenMetrics fixture: the old container is reported (stale,
/// its last value) for `overlap` samples after `at`; the new one reads 20Mi while loading its
/// config, then 85% of its memory, then all of it.
pub struct Restart {
    pub proxy: usize,
    pub at: usize,
    pub overlap: usize,
}

impl Fleet {
    /// The OpenMetrics text Prometheus' `promtool tsdb create-blocks-from openmetrics` reads:
    /// cAdvisor's raw per-container working set (container identity in `id`), Envoy's active
    /// clusters and kube-state-metrics' limit, per namespace and pod.
    pub fn openmetrics(&self, restart: &Restart) -> String {
        let mut s = String::from("# TYPE container_memory_working_set_bytes gauge\n");
        let ts = |k: usize| (self.t0 + k as f64 * self.step) as i64;
        for (j, p) in self.proxies.iter().enumerate() {
            let lbl = format!("namespace=\"{}\",pod=\"{}\",container=\"istio-proxy\"", p.spec.namespace, p.spec.pod);
            for k in 0..self.samples {
                if j != restart.proxy || k <= restart.at {
                    let v = p.memory[k];
                    writeln!(s, "container_memory_working_set_bytes{{{lbl},id=\"/kubepods/{j}-a\"}} {v:.0} {}", ts(k))
                        .unwrap();
                }
            }
            if j == restart.proxy {
                for k in restart.at + 1..restart.at + 1 + restart.overlap {
                    let v = p.memory[restart.at];
                    writeln!(s, "container_memory_working_set_bytes{{{lbl},id=\"/kubepods/{j}-a\"}} {v:.0} {}", ts(k))
                        .unwrap();
                }
                for k in restart.at + 1..self.samples {
                    let v = match k - restart.at {
                        1 => 20.0 * MI,
                        2 => 0.85 * p.memory[k],
                        _ => p.memory[k],
                    };
                    writeln!(s, "container_memory_working_set_bytes{{{lbl},id=\"/kubepods/{j}-b\"}} {v:.0} {}", ts(k))
                        .unwrap();
                }
            }
        }
        s.push_str("# TYPE envoy_cluster_manager_active_clusters gauge\n");
        for p in &self.proxies {
            let lbl = format!("namespace=\"{}\",pod=\"{}\"", p.spec.namespace, p.spec.pod);
            for k in 0..self.samples {
                writeln!(s, "envoy_cluster_manager_active_clusters{{{lbl}}} {} {}", p.ports[k], ts(k)).unwrap();
            }
        }
        s.push_str("# TYPE kube_pod_container_resource_limits gauge\n");
        for p in &self.proxies {
            let lbl = format!(
                "namespace=\"{}\",pod=\"{}\",container=\"istio-proxy\",resource=\"memory\"",
                p.spec.namespace, p.spec.pod
            );
            for k in 0..self.samples {
                writeln!(s, "kube_pod_container_resource_limits{{{lbl}}} {:.0} {}", p.limit, ts(k)).unwrap();
            }
        }
        s.push_str("# EOF\n");
        s
    }
}
