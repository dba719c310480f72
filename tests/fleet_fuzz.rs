//! The fleet path under random input (issue 21 §5): long forms and topologies drawn from a
//! seeded generator (times out of order, repeated and far apart; memory from a few KiB to
//! 10^18 bytes; ports that fall; limits missing or below memory; Knative services with or
//! without creation times, routed, pinned and never-routed revisions; per-namespace scopes and
//! GC policies). Every case runs the real binary: exit 0 or 2, never a panic (101) or a
//! backtrace, an error on one line, within 20 s each; the whole run stops adding cases after
//! ~25 s so CI holds it.

use std::fmt::Write as _;
use std::time::{Duration, Instant};

use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;

use crate::fleet_mesh::{rfc3339, T0};
use crate::util::{meshcap, tempdir, write};

const DAY: f64 = 86_400.0;

fn pick<'a, T>(rng: &mut ChaCha8Rng, from: &'a [T]) -> &'a T {
    &from[rng.gen_range(0..from.len())]
}

/// A random long form over namespaces `ns0..nsN` (and a proxy without one).
fn long_form(rng: &mut ChaCha8Rng, namespaces: usize) -> String {
    let mut s = String::from(*pick(
        rng,
        &["proxy,time,memory,ports,limit\n", "proxy,time,memory,ports\n", "proxy,time,memory,revisions,limit\n"],
    ));
    let with_limit = s.contains("limit");
    for p in 0..rng.gen_range(1..8) {
        let name = if rng.gen_bool(0.1) {
            format!("lonely{p}")
        } else {
            format!("ns{}/pod-{p}", rng.gen_range(0..namespaces))
        };
        let n = rng.gen_range(1..30);
        let (mut t, step) =
            (T0 + rng.gen_range(-30.0..30.0) * DAY, *pick(rng, &[60.0, 3600.0, 21_600.0, DAY, 400.0 * DAY]));
        let base = *pick(rng, &[4096.0, 50e6, 2e8, 9e8, 3e9, 1e12, 1e18]);
        let mut ports = rng.gen_range(0.0..5000.0f64).floor();
        let limit = *pick(rng, &[1_073_741_824.0, 2e9, 1e6, 4e12]);
        for _ in 0..n {
            if !rng.gen_bool(0.05) {
                t += step * rng.gen_range(0.0..2.0);
            }
            ports = (ports + rng.gen_range(-8.0..24.0f64)).max(0.0).floor();
            let memory = base * rng.gen_range(0.5..1.5) + 98_304.0 * ports;
            let _ = write!(s, "{name},{t:.0},{memory:.0},{ports}");
            if with_limit {
                let _ = write!(s, ",{limit:.0}");
            }
            s.push('\n');
        }
    }
    s
}

/// A random topology of `namespaces` namespaces.
fn topology(rng: &mut ChaCha8Rng, namespaces: usize) -> String {
    let mut s = format!(
        "istio_version = \"{}\"\nknative_version = \"{}\"\n[[namespaces]]\nname = \"istio-system\"\n",
        pick(rng, &["1.18.2", "1.22.0", "1.24.1"]),
        pick(rng, &["1.11.0", "1.21.0"])
    );
    for i in 0..namespaces {
        let _ = write!(s, "[[namespaces]]\nname = \"ns{i}\"\nsidecars = {}\n", rng.gen_bool(0.8));
        let mut ks = Vec::new();
        for j in 0..rng.gen_range(0..4) {
            let revisions: u32 = *pick(rng, &[1, 3, 11, 40, 1200]);
            let mut k = format!("{{ name = \"k{j}\", revisions = {revisions}");
            if rng.gen_bool(0.8) {
                let start = T0 + rng.gen_range(-400.0..40.0) * DAY;
                let every = *pick(rng, &[0.0, 0.01, 0.5, 3.0, 100.0]) * DAY;
                let times: Vec<String> =
                    (0..revisions.min(60)).map(|r| format!("\"{}\"", rfc3339(start + f64::from(r) * every))).collect();
                let _ = write!(k, ", created = [{}]", times.join(", "));
            }
            for field in ["routed", "pinned", "unrouted"] {
                if rng.gen_bool(0.3) {
                    let _ = write!(k, ", {field} = {}", rng.gen_range(0..revisions.min(5) + 1));
                }
            }
            k.push_str(" }");
            ks.push(k);
        }
        let _ = writeln!(s, "knative = [{}]", ks.join(", "));
    }
    if rng.gen_bool(0.5) {
        s.push_str("[[gateways]]\nname = \"istio-ingressgateway\"\nnamespace = \"istio-system\"\n");
    }
    s
}

#[test]
fn random_fleets_and_topologies_never_panic() {
    let dir = tempdir();
    let mut rng = ChaCha8Rng::seed_from_u64(2121);
    let started = Instant::now();
    let mut cases = 0;
    let mut answered = [0usize; 2];
    while cases < 150 && started.elapsed() < Duration::from_secs(25) {
        let namespaces = rng.gen_range(1..6);
        let series = write(dir.path(), "fleet.csv", &long_form(&mut rng, namespaces));
        let mut args: Vec<String> = vec!["fleet".into(), series.display().to_string()];
        if rng.gen_bool(0.7) {
            args.push("--topology".into());
            args.push(write(dir.path(), "topology.toml", &topology(&mut rng, namespaces)).display().to_string());
            let scopes: &[&[&str]] =
                &[&["mesh"], &["namespace"], &["hosts=./*,istio-system/*"], &["namespace", "ns0=mesh"]];
            for scope in *pick(&mut rng, scopes) {
                args.extend(["--scope".into(), scope.to_string()]);
            }
            let growth = pick(&mut rng, &["mesh", "sooner", "own"]);
            args.extend(["--growth".into(), growth.to_string()]);
        }
        let extras: &[&[&str]] =
            &[&[], &["--by", "namespace"], &["--format", "json"], &["--level", "0.8"], &["--limit", "1Gi"]];
        args.extend(pick(&mut rng, extras).iter().map(|s| s.to_string()));
        let t = Instant::now();
        let out = meshcap().args(&args).timeout(Duration::from_secs(20)).output().unwrap();
        let stderr = String::from_utf8_lossy(&out.stderr);
        let case = format!(
            "case {cases}: meshcap {}\n{}\n{stderr}",
            args.join(" "),
            std::fs::read_to_string(&series).unwrap()
        );
        assert!(t.elapsed() < Duration::from_secs(20), "{case}: too slow");
        match out.status.code() {
            Some(0) => answered[0] += 1,
            Some(2) => {
                answered[1] += 1;
                assert_eq!(stderr.trim_end().lines().count(), 1, "{case}: not one line");
            }
            other => panic!("exit {other:?}: {case}"),
        }
        assert!(!stderr.contains("panicked") && !stderr.contains("RUST_BACKTRACE"), "{case}");
        cases += 1;
    }
    assert!(cases >= 20, "only {cases} cases in the time");
    // The generator reaches both answers.
    assert!(answered[0] > 0 && answered[1] > 0, "{answered:?}");
}
