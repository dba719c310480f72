//! The alert rules of a model with a line per proxy kind and a per-worker slope (issue 19 §2),
//! evaluated by a real Prometheus: each proxy's recorded bound must be `project`'s
//! (`Bounds::upper` for its kind and workers, the quadratic's past the data included), its kind
//! found from the pod labels Istio's scrape keeps; a proxy of a kind the model has no line for
//! is held to the largest kind bound, and one without the workers gauge to the most workers
//! measured. The sidecar's and the gateway's bounds differ by far more than the tolerance, so a
//! rule that used the wrong line would fail.

use std::fmt::Write as _;
use std::time::{Duration, Instant};

use meshcap::model::ProxyClass;
use meshcap::project::{Bounds, Caution, RevisionPath};
use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;
use rand_distr::{Distribution, Normal};

use crate::prometheus_live::start_configured;
use crate::rules_live::{query, rules_config, rules_for};
use crate::util::{meshcap, tempdir, write};

/// 3 gateways at 4 workers and 9 sidecars at 2 or 8, 6 levels of 20 readings each: a gateway
/// holds 1.8x a sidecar's memory a port and 38Mi more; each worker ~2 KiB a port; memory bends
/// up by 8 bytes a port squared (+7% at the top level), so past the data the quadratic counts.
fn fleet() -> String {
    let mut rng = ChaCha8Rng::seed_from_u64(19_50);
    let z = Normal::new(0.0, 1.0).unwrap();
    let mut csv = String::from("time,proxy,kind,concurrency,ports,memory\n");
    for p in 0..12 {
        let gateway = p < 3;
        let workers = if gateway {
            4.0
        } else if p % 2 == 1 {
            2.0
        } else {
            8.0
        };
        let slope = if gateway { 180e3 } else { 96e3 + 2048.0 * workers } * (1.0 + 0.02 * z.sample(&mut rng));
        let offset = 6e7 + if gateway { 4e7 } else { 0.0 } + 3e6 * z.sample(&mut rng);
        let kind = if gateway { "gateway" } else { "sidecar" };
        for level in 0..6 {
            let ports = 100.0 + 150.0 * level as f64 + 3.0 * p as f64;
            let shift = 2e6 * z.sample(&mut rng);
            for k in 0..20 {
                let t = 1.767e9 + 300.0 * (20 * level + k) as f64;
                let m = offset + slope * ports + 8.0 * ports * ports + shift + 1e6 * z.sample(&mut rng);
                writeln!(csv, "{t},ns/p{p:02},{kind},{workers},{ports},{m:.0}").unwrap();
            }
        }
    }
    csv
}

#[test]
fn live_prometheus_records_each_kinds_bound() {
    let dir = tempdir();
    let data = write(dir.path(), "kinds.csv", &fleet());
    let model_path = dir.path().join("m.json");
    meshcap().arg("fit").arg(&data).arg("-o").arg(&model_path).assert().success();
    let model = meshcap::model::store::load(&model_path).unwrap();
    let names: Vec<String> = model.terms.iter().map(ToString::to_string).collect();
    assert_eq!(names, ["ports", "kind=gateway", "ports:kind=gateway", "concurrency", "ports:concurrency"]);
    let rules_path = rules_for(dir.path(), &model_path);
    if crate::rules::promtool() {
        let out = std::process::Command::new("promtool").arg("check").arg("rules").arg(&rules_path).output().unwrap();
        assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    }

    // Bounds::upper for a new proxy of `kind` at `workers` and `clusters` (ports, 8 a revision).
    let bound = |kind: &str, workers: f64, clusters: f64| {
        let class = ProxyClass { kind: Some(kind.into()), concurrency: Some(workers) };
        let path = RevisionPath::new(&model).with_class(&class);
        Bounds::new(&model, path, Caution::default()).upper(clusters / model.ports_per_revision)
    };
    // (pod, labels, clusters, workers gauge or none, the bound it must get)
    let max_workers = model.range("concurrency").unwrap().max;
    let pods: Vec<(&str, &str, f64, Option<f64>, f64)> = vec![
        ("gw", r#"istio="ingressgateway""#, 600.0, Some(4.0), bound("gateway", 4.0, 600.0)),
        // Past the data (its largest ports are 898): the quadratic's bound may count.
        ("gw-far", r#"istio="ingressgateway""#, 2000.0, Some(4.0), bound("gateway", 4.0, 2000.0)),
        ("sc", r#"security_istio_io_tlsMode="istio""#, 600.0, Some(2.0), bound("sidecar", 2.0, 600.0)),
        ("sc-far", r#"service_istio_io_canonical_name="web""#, 2000.0, Some(8.0), bound("sidecar", 8.0, 2000.0)),
        // No workers gauge: held at the most workers measured.
        ("sc-nogauge", r#"security_istio_io_tlsMode="istio""#, 600.0, None, bound("sidecar", max_workers, 600.0)),
        // No kind label, and a waypoint the model never saw: the larger of the two lines.
        ("plain", r#"app="batch""#, 600.0, Some(2.0), bound("gateway", 2.0, 600.0).max(bound("sidecar", 2.0, 600.0))),
        (
            "wp",
            r#"gateway_istio_io_managed="istio.io-mesh-controller",istio="ingressgateway""#,
            600.0,
            Some(2.0),
            bound("gateway", 2.0, 600.0).max(bound("sidecar", 2.0, 600.0)),
        ),
    ];
    // Past the data the quadratic must move the gateway's bound (else that branch goes untested).
    let mut line_only = model.clone();
    line_only.errors.quadratic = None;
    let class = ProxyClass { kind: Some("gateway".into()), concurrency: Some(4.0) };
    let line =
        Bounds::new(&line_only, RevisionPath::new(&line_only).with_class(&class), Caution::default()).upper(250.0);
    eprintln!("gateway at 2000 clusters: {} with the quadratic, {line} the line's", pods[1].4);
    assert!(pods[1].4 > line * 1.001, "the quadratic does not move the bound: {} vs {line}", pods[1].4);
    let (g, s) = (pods[0].4, pods[2].4);
    assert!(g / s > 1.2, "the gateway's bound {g} must differ from the sidecar's {s}");

    let now = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().as_secs() as i64;
    let mut om = String::from("# TYPE envoy_cluster_manager_active_clusters gauge\n");
    for t in (now - 3600..now - 14).step_by(15) {
        for (pod, labels, clusters, _, _) in &pods {
            writeln!(
                om,
                "envoy_cluster_manager_active_clusters{{namespace=\"ns\",pod=\"{pod}\",{labels}}} {clusters} {t}"
            )
            .unwrap();
        }
    }
    om.push_str("# TYPE envoy_server_concurrency gauge\n");
    for t in (now - 3600..now - 14).step_by(15) {
        for (pod, labels, _, workers, _) in &pods {
            if let Some(w) = workers {
                writeln!(om, "envoy_server_concurrency{{namespace=\"ns\",pod=\"{pod}\",{labels}}} {w} {t}").unwrap();
            }
        }
    }
    om.push_str("# EOF\n");
    let Some(server) = start_configured(dir.path(), &om, &rules_config(&rules_path)) else { return };
    let deadline = Instant::now() + Duration::from_secs(60);
    let mut got: Vec<(String, String, f64)> = Vec::new();
    while Instant::now() < deadline && got.len() < pods.len() {
        got = query(&server.url, meshcap::report::rules::UPPER)
            .as_array()
            .map(|a| {
                a.iter()
                    .filter_map(|r| {
                        let m = &r["metric"];
                        Some((
                            m["pod"].as_str()?.into(),
                            m["kind"].as_str()?.into(),
                            r["value"][1].as_str()?.parse().ok()?,
                        ))
                    })
                    .collect()
            })
            .unwrap_or_default();
        std::thread::sleep(Duration::from_millis(300));
    }
    for (pod, _, _, _, want) in &pods {
        let Some((_, kind, value)) = got.iter().find(|(p, _, _)| p == pod) else {
            panic!("{pod} not recorded: {got:?}")
        };
        assert!((value / want - 1.0).abs() < 1e-9, "{pod} ({kind}): Prometheus {value} against {want}");
    }
    let kind_of = |pod: &str| got.iter().find(|(p, _, _)| p == pod).map(|(_, k, _)| k.as_str());
    assert_eq!(
        (kind_of("gw"), kind_of("sc-far"), kind_of("wp"), kind_of("plain")),
        (Some("gateway"), Some("sidecar"), Some("other"), Some("other"))
    );
}
