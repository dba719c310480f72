//! A gateway among sidecars is dated from a gateway's slope (issue 19, item 2): with a `kind`
//! column the pooled fit gets a line per kind, checked against the known truth of a simulated
//! fleet, and against the same fleet without the column, which must do worse (so the test can
//! fail).
//!
//! Each fleet: 12 sidecars and 3 gateways; a gateway holds 1.8x a sidecar's memory per port
//! (listeners and routes per cluster a sidecar lacks) and 40Mi more at idle. Every proxy's
//! configuration level carries its own 2Mi offset (readings are a time series). One gateway was
//! deployed a day ago: its own few levels cannot tell its slope, the other gateways can.

use std::path::Path;

use meshcap::fleet::{forecast, pooled, FleetSettings};
use meshcap::model::{FittedModel, ProxyClass};
use meshcap::project::{Bounds, Caution, RevisionPath};
use meshcap::series::csv;
use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;
use rand_distr::{Distribution, Normal};
use statrs::distribution::{ContinuousCDF, Normal as Gauss};

use crate::fleet_truth::{BASE, MI, PER_PORT};

const SIDECARS: usize = 12;
const GATEWAYS: usize = 3;
const GATEWAY_SLOPE: f64 = 1.8;
const GATEWAY_IDLE: f64 = 40.0 * MI;
const OFFSET_SD: f64 = 6.0 * MI;
const LEVEL_SD: f64 = 2.0 * MI;
const NOISE_SD: f64 = 0.5 * MI;
const DAYS: usize = 14;
/// Ports per day, every proxy: one revision (8 ports) every 6 hours, exactly.
const GROWTH: f64 = 32.0;
/// Days from the last reading until each proxy's true mean line meets its limit.
const TRUE_DAYS: f64 = 30.0;

/// One fleet's CSV (with or without the kind column) and the young gateway's name.
fn fleet(seed: u64, with_kind: bool) -> String {
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    let noise = Normal::new(0.0, NOISE_SD).unwrap();
    let level = Normal::new(0.0, LEVEL_SD).unwrap();
    let offsets = Normal::new(0.0, OFFSET_SD).unwrap();
    let mut text = String::from(if with_kind {
        "time,proxy,kind,ports,limit,memory\n"
    } else {
        "time,proxy,ports,limit,memory\n"
    });
    for i in 0..SIDECARS + GATEWAYS {
        let gateway = i >= SIDECARS;
        let (slope, idle) = if gateway { (GATEWAY_SLOPE * PER_PORT, BASE + GATEWAY_IDLE) } else { (PER_PORT, BASE) };
        let offset = offsets.sample(&mut rng);
        // The last gateway is a day old.
        let hours = if i == SIDECARS + GATEWAYS - 1 { 24 } else { DAYS * 24 };
        let start = 400.0 + 30.0 * i as f64 + 8.0 * (DAYS * 24 - hours) as f64 / 6.0;
        let now = start + 8.0 * ((hours - 1) / 6) as f64;
        let limit = idle + offset + slope * (now + GROWTH * TRUE_DAYS);
        let kind = if !with_kind {
            ""
        } else if gateway {
            "gateway,"
        } else {
            "sidecar,"
        };
        let name = if gateway { format!("gw/g{i:02}") } else { format!("ns/p{i:02}") };
        let mut level_offset = 0.0;
        for k in 0..hours {
            if k % 6 == 0 {
                level_offset = level.sample(&mut rng);
            }
            let ports = start + 8.0 * (k / 6) as f64;
            let memory = idle + offset + level_offset + slope * ports + noise.sample(&mut rng);
            let t = 1.767e9 + 3600.0 * (DAYS * 24 - hours + k) as f64;
            text.push_str(&format!("{t},{name},{kind}{ports},{limit:.0},{memory:.0}\n"));
        }
    }
    text
}

fn fitted(text: &str) -> (meshcap::series::Series, FittedModel) {
    let series = pooled::clean(csv::parse(Path::new("kinds.csv"), text).unwrap(), None).unwrap();
    let model = pooled::pooled_fit(&series, String::from("t"), "kinds.csv", 0.95).unwrap();
    (series, model)
}

/// A new proxy of `kind`: the model's 95% bounds for it and the truth's memory law at a port
/// count (its offset, level offset and reading noise unknown).
struct NewProxy<'a> {
    bounds: Bounds<'a>,
    slope: f64,
    idle: f64,
}

impl<'a> NewProxy<'a> {
    fn new(model: &'a FittedModel, kind: &str) -> Self {
        let class = ProxyClass { kind: Some(kind.into()), concurrency: None };
        let bounds = Bounds::new(model, RevisionPath::new(model).with_class(&class), Caution::default());
        let gateway = kind == "gateway";
        let (slope, idle) = if gateway { (GATEWAY_SLOPE * PER_PORT, BASE + GATEWAY_IDLE) } else { (PER_PORT, BASE) };
        NewProxy { bounds, slope, idle }
    }

    fn truth(&self, ports: f64) -> Gauss {
        let sd = (OFFSET_SD.powi(2) + LEVEL_SD.powi(2) + NOISE_SD.powi(2)).sqrt();
        Gauss::new(self.idle + self.slope * ports, sd).unwrap()
    }

    /// True P(memory > the model's upper bound) at `ports`.
    fn exceed(&self, ports: f64) -> f64 {
        1.0 - self.truth(ports).cdf(self.bounds.upper(ports / self.bounds.model.ports_per_revision))
    }

    /// The model's safe ports for the limit a true 5% risk reaches at `ports`, over `ports`.
    fn safe_share(&self, ports: f64) -> f64 {
        let limit = self.truth(ports).inverse_cdf(0.95);
        let ppr = self.bounds.model.ports_per_revision;
        let (mut lo, mut hi) = (0.0, 4.0 * ports);
        for _ in 0..100 {
            let mid = 0.5 * (lo + hi);
            if self.bounds.upper(mid / ppr) >= limit {
                hi = mid;
            } else {
                lo = mid;
            }
        }
        lo / ports
    }
}

#[test]
fn a_gateway_among_sidecars_is_dated_from_a_gateways_slope() {
    const SEEDS: u64 = 24;
    let young = format!("gw/g{:02}", SIDECARS + GATEWAYS - 1);
    let (mut late_kind, mut late_plain, mut covered) = (0, 0, 0);
    // The young gateway's cautious crossing as a share of the way to its true one.
    let (mut share_kind, mut share_plain) = (0.0, 0.0);
    let (mut exceed_kind, mut exceed_plain) = (Vec::new(), 0.0);
    // A new sidecar: P(exceed) and the safe count's share of the true one, with and without.
    let (mut sidecar_kind, mut sidecar_plain) = ([0.0; 2], [0.0; 2]);
    for seed in 0..SEEDS {
        for with_kind in [true, false] {
            let (series, model) = fitted(&fleet(4200 + seed, with_kind));
            let result =
                forecast(&series, &model, &FleetSettings { headroom: 0.0, ..FleetSettings::default() }).unwrap();
            let p = result.proxies.iter().find(|p| p.proxy == young).unwrap();
            // Where the cautious date puts the limit (the upper bound's crossing, in ports)
            // past where the true line meets it: unsafe, whatever the growth estimate (a day of
            // history gives a rough one).
            let crossing = p.ports + p.days_to_limit.unwrap() * p.growth_ports_per_day.unwrap();
            let late = crossing > p.ports + GROWTH * TRUE_DAYS;
            let share = (crossing - p.ports) / (GROWTH * TRUE_DAYS) / SEEDS as f64;
            // A new gateway at 1.5x the largest measured ports.
            let ports = 1.5 * model.range("ports").unwrap().max;
            if with_kind {
                let names: Vec<String> = model.terms.iter().map(ToString::to_string).collect();
                assert_eq!(names, ["ports", "kind=gateway", "ports:kind=gateway"], "{:?}", model.notes);
                let k = model.params() - 1;
                let c = &model.coefficients;
                let slope = c[1].estimate + c[k].estimate;
                // The gateway slope's interval (ports + ports:kind=gateway, their covariance).
                let var = model.cov_unscaled[1][1] + model.cov_unscaled[k][k] + 2.0 * model.cov_unscaled[1][k];
                let half = model.t_two_sided(0.95) * model.residual_std_error * var.sqrt();
                covered += usize::from((slope - GATEWAY_SLOPE * PER_PORT).abs() <= half);
                late_kind += usize::from(late);
                share_kind += share;
                exceed_kind.push(NewProxy::new(&model, "gateway").exceed(ports));
                let sidecar = NewProxy::new(&model, "sidecar");
                sidecar_kind[0] += sidecar.exceed(ports) / SEEDS as f64;
                sidecar_kind[1] += sidecar.safe_share(ports) / SEEDS as f64;
            } else {
                late_plain += usize::from(late);
                share_plain += share;
                exceed_plain += NewProxy::new(&model, "gateway").exceed(ports) / SEEDS as f64;
                let sidecar = NewProxy::new(&model, "sidecar");
                sidecar_plain[0] += sidecar.exceed(ports) / SEEDS as f64;
                sidecar_plain[1] += sidecar.safe_share(ports) / SEEDS as f64;
            }
        }
    }
    let n = exceed_kind.len() as f64;
    let mean = exceed_kind.iter().sum::<f64>() / n;
    let se = (exceed_kind.iter().map(|p| (p - mean).powi(2)).sum::<f64>() / (n - 1.0) / n).sqrt();
    eprintln!(
        "young gateway dated after its true day: kind lines {late_kind}/{SEEDS}, one line {late_plain}/{SEEDS}; its cautious crossing at {share_kind:.2} / {share_plain:.2} of the way to the true one; gateway slope CI covered {covered}/{SEEDS}; new gateway P(exceed) at 1.5x the data: kind lines {:.2}% (+- {:.2}), one line {:.2}%",
        100.0 * mean,
        100.0 * se,
        100.0 * exceed_plain
    );
    eprintln!(
        "new sidecar at 1.5x the data: P(exceed) {:.2}% / {:.2}%, safe count {:.2} / {:.2} of the true one (kind lines / one line)",
        100.0 * sidecar_kind[0],
        100.0 * sidecar_plain[0],
        sidecar_kind[1],
        sidecar_plain[1]
    );
    // Existing proxies are dated from their own lines either way (their BLUPs); the young
    // gateway's cautious crossing must not lie past its true one.
    assert!(late_kind <= 2, "with kind lines the young gateway was dated late {late_kind} of {SEEDS}");
    assert!(covered >= SEEDS as usize - 3, "gateway slope CI covered {covered} of {SEEDS}");
    // A new gateway: at most 5% plus twice its Monte Carlo error; the one-line model puts it
    // on the sidecars' line.
    assert!(mean <= 0.05 + 2.0 * se, "new gateway P(exceed) {mean} +- {se}");
    assert!(exceed_plain >= 0.3, "one line: new gateway P(exceed) only {exceed_plain}");
    // A new sidecar: honest and not absurdly wide with kind lines; without them the gateways
    // widen every sidecar's bound (their slopes count as the proxies' spread).
    assert!(sidecar_kind[0] <= 0.07 && sidecar_kind[1] >= 0.8, "new sidecar with kind lines: {sidecar_kind:?}");
    assert!(sidecar_plain[1] < 0.7, "one line: new sidecar safe share {}", sidecar_plain[1]);
}

#[test]
fn fleet_takes_kinds_from_kubectl_pods_where_the_series_say_none() {
    // The same fleet twice: with its kind column, and without it but with `kubectl get pods -A
    // -o json` whose labels say each proxy's kind (an ingress gateway's `istio` label, a
    // sidecar's injected `security.istio.io/tlsMode`). The rankings must be byte-identical.
    let dir = crate::util::tempdir();
    let with = crate::util::write(dir.path(), "with.csv", &fleet(19_47, true));
    let without = crate::util::write(dir.path(), "without.csv", &fleet(19_47, false));
    let pod = |ns: &str, name: &str, labels: &str| {
        format!(
            r#"{{"apiVersion":"v1","kind":"Pod","metadata":{{"name":"{name}","namespace":"{ns}","labels":{{{labels}}}}},"spec":{{"containers":[{{"name":"istio-proxy"}}]}},"status":{{}}}}"#
        )
    };
    let mut items: Vec<String> = (0..SIDECARS)
        .map(|i| pod("ns", &format!("p{i:02}"), r#""app":"web","security.istio.io/tlsMode":"istio""#))
        .collect();
    items.extend(
        (SIDECARS..SIDECARS + GATEWAYS)
            .map(|i| pod("gw", &format!("g{i:02}"), r#""app":"istio-ingressgateway","istio":"ingressgateway""#)),
    );
    // A pod the series does not hold, and one without an Istio label: both ignored.
    items.push(pod("other", "x", r#""istio":"ingressgateway""#));
    items.push(pod("ns", "plain", r#""app":"batch""#));
    let pods = crate::util::write(
        dir.path(),
        "pods.json",
        &format!(r#"{{"apiVersion":"v1","kind":"List","items":[{}]}}"#, items.join(",")),
    );
    let run = |args: &[&std::path::Path]| {
        let mut cmd = crate::util::meshcap();
        cmd.arg("fleet").arg(args[0]).args(["--format", "csv"]);
        if let Some(p) = args.get(1) {
            cmd.arg("--pods-file").arg(p);
        }
        cmd.assert().success().get_output().stdout.clone()
    };
    let (a, b) = (run(&[&with]), run(&[&without, &pods]));
    assert!(!a.is_empty() && a == b, "pods-file kinds differ from the kind column");
    // Without the pods file the gateways share the sidecars' line: another ranking.
    assert_ne!(run(&[&without]), a);
    // A pods file that matches no proxy says so; a malformed one names itself.
    let stray = crate::util::write(
        dir.path(),
        "stray.json",
        &format!(r#"{{"kind":"List","items":[{}]}}"#, pod("zz", "q", r#""istio":"ingressgateway""#)),
    );
    let out = crate::util::meshcap().arg("fleet").arg(&without).arg("--pods-file").arg(&stray).assert().success();
    let text = String::from_utf8_lossy(&out.get_output().stdout).to_string()
        + &String::from_utf8_lossy(&out.get_output().stderr);
    assert!(text.contains("no proxy of the series took a kind from --pods-file"), "{text}");
    let bad = crate::util::write(dir.path(), "bad.json", "{\"kind\": \"List\", \"items\": [");
    let err = crate::util::fails(crate::util::meshcap().arg("fleet").arg(&without).arg("--pods-file").arg(&bad), 2);
    assert!(err.contains("bad.json"), "{err}");
}

#[test]
fn import_prometheus_writes_the_kind_and_workers_kubectl_pods_give() {
    // Saved memory and ports responses of two pods whose series carry no pod labels (as
    // cAdvisor's do not): with --pods-file the long form gets kind and concurrency columns from
    // the pods.
    let dir = crate::util::tempdir();
    let response = |value: &dyn Fn(usize, usize) -> f64| {
        let series: Vec<String> = (0..2)
            .map(|p| {
                let values: Vec<String> =
                    (0..30).map(|k| format!("[{},\"{}\"]", 1.767e9 + 300.0 * k as f64, value(p, k))).collect();
                format!(r#"{{"metric":{{"namespace":"ns","pod":"p{p}"}},"values":[{}]}}"#, values.join(","))
            })
            .collect();
        format!(r#"{{"status":"success","data":{{"resultType":"matrix","result":[{}]}}}}"#, series.join(","))
    };
    let mem = crate::util::write(
        dir.path(),
        "mem.json",
        &response(&|p, k| 6e7 + 1e6 * p as f64 + 98_304.0 * (400 + 8 * k) as f64),
    );
    let ports = crate::util::write(dir.path(), "ports.json", &response(&|_, k| (400 + 8 * k) as f64));
    let pods = crate::util::write(
        dir.path(),
        "pods.json",
        r#"{"kind":"List","items":[
          {"apiVersion":"v1","kind":"Pod","metadata":{"name":"p0","namespace":"ns","labels":{"security.istio.io/tlsMode":"istio"}},
           "spec":{"containers":[{"name":"istio-proxy","env":[{"name":"ISTIO_CPU_LIMIT","valueFrom":{"resourceFieldRef":{"resource":"limits.cpu","divisor":"1"}}}],
             "resources":{"limits":{"cpu":"2"}}}]}},
          {"apiVersion":"v1","kind":"Pod","metadata":{"name":"p1","namespace":"ns","labels":{"istio":"ingressgateway"},
             "annotations":{"proxy.istio.io/config":"concurrency: 6\n"}},
           "spec":{"containers":[{"name":"istio-proxy","env":[{"name":"PROXY_CONFIG","value":"{\"concurrency\":4}"}]}]}}]}"#,
    );
    let out = dir.path().join("long.csv");
    crate::util::meshcap()
        .args(["import", "prometheus", "--by", "namespace,pod", "--memory-file"])
        .arg(&mem)
        .arg("--ports-file")
        .arg(&ports)
        .arg("--pods-file")
        .arg(&pods)
        .arg("-o")
        .arg(&out)
        .assert()
        .success();
    let series = meshcap::series::Series::load(&out).unwrap();
    let (ids, names) = series.column("kind").and_then(|c| c.label_ids()).expect("a kind column");
    let (pids, pnames) = series.column("proxy").and_then(|c| c.label_ids()).unwrap();
    let workers = series.column("concurrency").expect("a concurrency column").values();
    for ((k, p), w) in ids.iter().zip(pids).zip(workers) {
        // By hand: p1's annotation (6) overrides its injected ProxyConfig (4); p0 has 2 CPUs.
        let want = if pnames[*p as usize] == "ns/p1" { ("gateway", 6.0) } else { ("sidecar", 2.0) };
        assert_eq!((names[*k as usize].as_str(), *w), want);
    }
    // Without --by there is no proxy to join on: clap refuses the flag.
    crate::util::fails(
        crate::util::meshcap().args(["import", "prometheus", "--memory-file"]).arg(&mem).arg("--pods-file").arg(&pods),
        2,
    );
}

#[test]
fn fleet_takes_envoy_workers_from_kubectl_pods_as_pilot_agent_decides_them() {
    // The fleet with its kind column and a concurrency column (sidecars at 2 or 4 workers,
    // gateways at 4), against the same fleet with neither column but with the pods: each
    // sidecar's workers from its CPU limit (Istio 1.18+'s ISTIO_CPU_LIMIT: 1500m -> 2, 4 -> 4),
    // the gateways' from the injected PROXY_CONFIG and, for one, the legacy --concurrency
    // argument. The rankings must be byte-identical.
    let dir = crate::util::tempdir();
    let workers = |name: &str| {
        let i: usize = name[4..].parse().unwrap();
        if name.starts_with("gw/") || i % 2 == 1 {
            4
        } else {
            2
        }
    };
    let with_columns: String = fleet(19_48, true)
        .lines()
        .map(|l| match l.split(',').nth(1) {
            Some("proxy") => format!("{l},concurrency\n"),
            Some(name) => format!("{l},{}\n", workers(name)),
            None => String::new(),
        })
        .collect();
    let with = crate::util::write(dir.path(), "with.csv", &with_columns);
    let without = crate::util::write(dir.path(), "without.csv", &fleet(19_48, false));
    let limit_env =
        r#"{"name":"ISTIO_CPU_LIMIT","valueFrom":{"resourceFieldRef":{"resource":"limits.cpu","divisor":"1"}}}"#;
    let sidecar = |i: usize, cpu: Option<&str>| {
        let limits =
            cpu.map_or(String::new(), |c| format!(r#","resources":{{"limits":{{"cpu":"{c}","memory":"1Gi"}}}}"#));
        format!(
            r#"{{"apiVersion":"v1","kind":"Pod","metadata":{{"name":"p{i:02}","namespace":"ns","labels":{{"security.istio.io/tlsMode":"istio"}}}},
              "spec":{{"containers":[{{"name":"app"}},{{"name":"istio-proxy","args":["proxy","sidecar"],"env":[{limit_env}]{limits}}}]}}}}"#
        )
    };
    let gateway = |i: usize| {
        let (args, env) = if i == SIDECARS {
            (r#""--concurrency","4""#, String::from(r#"{"name":"POD_NAME","value":"x"}"#))
        } else {
            (r#""proxy","router""#, String::from(r#"{"name":"PROXY_CONFIG","value":"{\"concurrency\":4}\n"}"#))
        };
        format!(
            r#"{{"apiVersion":"v1","kind":"Pod","metadata":{{"name":"g{i:02}","namespace":"gw","labels":{{"istio":"ingressgateway"}}}},
              "spec":{{"containers":[{{"name":"istio-proxy","args":[{args}],"env":[{env}]}}]}}}}"#
        )
    };
    let list = |unknown: Option<usize>| {
        let mut items: Vec<String> = (0..SIDECARS)
            .map(|i| match (unknown == Some(i), i % 2) {
                (true, _) => sidecar(i, None),
                (false, 0) => sidecar(i, Some("1500m")),
                _ => sidecar(i, Some("4")),
            })
            .collect();
        items.extend((SIDECARS..SIDECARS + GATEWAYS).map(gateway));
        format!(r#"{{"apiVersion":"v1","kind":"List","items":[{}]}}"#, items.join(","))
    };
    let pods = crate::util::write(dir.path(), "pods.json", &list(None));
    let run = |series: &Path, pods: Option<&Path>| {
        let mut cmd = crate::util::meshcap();
        cmd.arg("fleet").arg(series).args(["--format", "csv"]);
        if let Some(p) = pods {
            cmd.arg("--pods-file").arg(p);
        }
        let out = cmd.assert().success();
        let o = out.get_output();
        (o.stdout.clone(), String::from_utf8_lossy(&o.stderr).to_string())
    };
    let (a, _) = run(&with, None);
    let (b, _) = run(&without, Some(&pods));
    assert!(!a.is_empty() && a == b, "pods-file workers differ from the concurrency column");
    // The fit did use the workers: without them the ranking differs.
    let kinds_only: String = with_columns.lines().map(|l| format!("{}\n", l.rsplit_once(',').unwrap().0)).collect();
    let kinds_only = crate::util::write(dir.path(), "kinds.csv", &kinds_only);
    let (c, _) = run(&kinds_only, None);
    assert_ne!(a, c, "the concurrency terms changed nothing");
    // One sidecar without a CPU limit: its workers are the node's CPUs, unknown. No workers
    // column then (a per-worker slope needs every proxy's), and a warning names the proxy.
    let partial = crate::util::write(dir.path(), "partial.json", &list(Some(3)));
    let (d, err) = run(&without, Some(&partial));
    assert_eq!(d, c, "with one proxy's workers unknown the kinds alone are fitted");
    assert!(err.contains("not of 1") && err.contains("ns/p03"), "{err}");
}
