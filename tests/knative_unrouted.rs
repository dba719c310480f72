//! Revisions that never route (issue 18 §2). Knative's GC collects only revisions whose
//! `serving.knative.dev/routingState` is `reserve` (knative/serving `pkg/reconciler/gc/gc.go`
//! `isRevisionActive` at knative-v1.11.0; `gc_test.go` "keep oldest when none Reserved"); a
//! revision is born `pending` (`pkg/reconciler/configuration/resources/revision.go`) and only
//! the labeler moves it, to `active` when the route lists it and to `reserve` when a listed one
//! is dropped (`pkg/reconciler/labeler/metasync.go`). So a revision the route never listed stays
//! for ever. `import kubectl` counts them, `sweep`/`simulate` let them add up beyond GC's cap,
//! and `fleet --topology` does not cap them; each against counts worked out by hand here.

use std::path::Path;

use meshcap::scenario::grid::decode;
use meshcap::scenario::simulate::{SimOptions, Simulation};
use meshcap::scenario::{Grid, Spec};
use serde_json::json;

use crate::fleet_mesh::{rfc3339, T0};
use crate::util::{fails, json, meshcap, seed_model, tempdir, write};

fn revision(name: &str, state: Option<&str>, no_gc: bool) -> serde_json::Value {
    let mut labels = json!({ "serving.knative.dev/service": name.split('-').next().unwrap() });
    if let Some(s) = state {
        labels["serving.knative.dev/routingState"] = json!(s);
    }
    let annotations = if no_gc { json!({ "serving.knative.dev/no-gc": "true" }) } else { json!({}) };
    json!({
        "apiVersion": "serving.knative.dev/v1",
        "kind": "Revision",
        "metadata": { "name": name, "namespace": "shop", "labels": labels, "annotations": annotations },
    })
}

fn knative_service(name: &str, traffic: serde_json::Value) -> serde_json::Value {
    json!({
        "apiVersion": "serving.knative.dev/v1",
        "kind": "Service",
        "metadata": { "name": name, "namespace": "shop" },
        "status": { "traffic": traffic },
    })
}

/// cart's revisions and what gc.go makes of each:
/// - 00001 `reserve` (routed once, then dropped): collected in time;
/// - 00002 `pending` (superseded before the route reconciled): never collected;
/// - 00003 `active`, 100% of the traffic: routed;
/// - 00004 no label (unset): never collected;
/// - 00005 `pending` and `no-gc`: pinned;
/// - 00006 `pending`, named by the traffic (0%, tag `next`): routed;
/// - 00007 `Reserve`: not `reserve` (`GetRoutingState` compares the exact string): never
///   collected.
///
/// So 7 revisions, 2 routed, 1 tag, 1 pinned, 3 never routed. `ok` has one reserve and one
/// routed revision: none.
#[test]
fn import_counts_the_revisions_gc_never_collects() {
    let list = json!({
        "apiVersion": "v1",
        "kind": "List",
        "items": [
            knative_service("cart", json!([
                { "revisionName": "cart-00003", "percent": 100, "latestRevision": true },
                { "revisionName": "cart-00006", "percent": 0, "tag": "next" },
            ])),
            revision("cart-00001", Some("reserve"), false),
            revision("cart-00002", Some("pending"), false),
            revision("cart-00003", Some("active"), false),
            revision("cart-00004", None, false),
            revision("cart-00005", Some("pending"), true),
            revision("cart-00006", Some("pending"), false),
            revision("cart-00007", Some("Reserve"), false),
            knative_service("ok", json!([{ "revisionName": "ok-00002", "percent": 100 }])),
            revision("ok-00001", Some("reserve"), false),
            revision("ok-00002", Some("active"), false),
        ],
    });
    let dir = tempdir();
    let input = write(dir.path(), "list.json", &list.to_string());
    let out = dir.path().join("topology.toml");
    let run = meshcap().args(["import", "kubectl"]).arg(&input).arg("-o").arg(&out).assert().success();
    let summary = String::from_utf8(run.get_output().stdout.clone()).unwrap();
    let toml = std::fs::read_to_string(&out).unwrap();
    assert!(
        toml.contains("{ name = \"cart\", revisions = 7, routed = 2, tags = 1, pinned = 1, unrouted = 3 }"),
        "{toml}"
    );
    assert!(toml.contains("{ name = \"ok\", revisions = 2 }"), "{toml}");
    assert!(
        summary.contains("3 revisions of shop/cart are pending/unset (never routed): Knative's GC never collects them"),
        "{summary}"
    );
    assert!(!summary.contains("shop/ok are pending"), "{summary}");
    // What it wrote reads back: 9 revisions in the namespace, all seen under `mesh`.
    let v = json(meshcap().args(["scope", "--scope", "mesh", "--format", "json", "--topology"]).arg(&out));
    assert_eq!(v["scopes"][0]["namespaces"][0]["visible_revisions"], 9.0, "{v}");
}

/// The topology check: never-routed revisions are among the retained ones.
#[test]
fn more_unrouted_than_retained_is_refused_in_one_line() {
    let dir = tempdir();
    let bad = write(
        dir.path(),
        "bad.toml",
        "[[namespaces]]\nname = \"shop\"\nsidecars = true\nknative = [{ name = \"cart\", revisions = 5, routed = 2, pinned = 1, unrouted = 3 }]\n",
    );
    let err = fails(meshcap().args(["scope", "--topology"]).arg(&bad), 2);
    assert!(err.contains("bad.toml") && err.contains("shop/cart") && err.contains("unrouted = 3"), "{err}");
}

/// One namespace of 2 Knative services, no other ports, the seed model, default GC.
fn grid(share: f64, updates: f64, level: f64, limit: &str, horizon: u32) -> Grid {
    let text = format!(
        "model = {:?}\n[mesh]\ngateways = 0\ninfra_ports = 0\nunrouted_share = {share}\n[axes]\nnamespaces = [1]\nknative_services = [2]\nplain_services = [0]\nupdates_per_day = [{updates}]\nlevel = [{level}]\nlimit = [\"{limit}\"]\n[simulate]\nhorizon_days = {horizon}\npaths = 200\n",
        seed_model().display().to_string()
    );
    let spec = Spec::parse(Path::new("leak.toml"), &text).unwrap();
    let model = meshcap::model::store::load(&spec.model).unwrap();
    Grid::new(spec, model, 10).unwrap()
}

/// 10 updates a day, 1 in 10 never routes, default GC, 90 days. The 9 a day that route keep
/// Knative's minimum: 48h covers ceil(48 / 2.667) - 1 = 17 non-active ones, 15h 6, fewer than
/// min 20, so 20 + the active one = 21. The never-routed ones are never collected: 1 a day,
/// 90 by the horizon. 111 revisions a service; the sidecar sees 2 services.
#[test]
fn sweep_lets_never_routed_revisions_add_up_beyond_the_cap() {
    // Level 0.5: the one-sided bound is the mean line (t = 0), which a hand can invert.
    let g = grid(0.1, 10.0, 0.5, "150Mi", 90);
    let e = g.evaluate(0, &decode(0, &g.lengths));
    assert_eq!((e.retained, e.sidecar_revisions), (111.0, 222.0));
    // Seed model: 53143738.18181818 + 785907.712 a revision equivalent; at R revisions a
    // service the sidecar has 2 x 8 R + 2 ExternalName ports = 2 R + 0.25 equivalents. The
    // line meets 150Mi (157286400) at 2 R + 0.25 = 132.5126, R = 66.1313. Revisions grow 10 a
    // day from 1 until the routed ones reach 21 (day 20 / 9 = 2.22, at 23.2 revisions), then
    // 1 a day from 21: R = 66.1313 on day 45.1313.
    assert!(!e.safe, "{e:?}");
    crate::util::close("days", e.days_to_limit, 45.131_292_073_5, 1e-9);
    // Without never-routed revisions the same mesh stays at 21: safe, never crossing.
    let capped = grid(0.0, 10.0, 0.5, "150Mi", 90);
    let e = capped.evaluate(0, &decode(0, &capped.lengths));
    assert_eq!(e.retained, 21.0);
    assert!(e.safe && e.days_to_limit.is_infinite(), "{e:?}");
    assert!(g.notes().iter().any(|n| n.contains("never route") && n.contains("90-day horizon")), "{:?}", g.notes());
    assert!(capped.notes().is_empty());
    // `meshcap sweep` says so on stderr.
    let dir = tempdir();
    let spec = write(
        dir.path(),
        "leak.toml",
        &format!("model = {:?}\n[mesh]\nunrouted_share = 0.1\n", seed_model().display().to_string()),
    );
    let out = meshcap().args(["sweep", "--summary", "-q"]).arg(&spec).assert().success();
    let err = String::from_utf8(out.get_output().stderr.clone()).unwrap();
    assert!(err.starts_with("note: a share 0.1 of updates never routes"), "{err}");
    // A share outside [0, 1] is refused in one line naming the file.
    let bad = write(
        dir.path(),
        "bad.toml",
        &format!("model = {:?}\n[mesh]\nunrouted_share = 1.5\n", seed_model().display().to_string()),
    );
    let err = fails(meshcap().args(["sweep", "--summary", "-q"]).arg(&bad), 2);
    assert!(err.contains("bad.toml") && err.contains("unrouted_share") && err.contains("1.5"), "{err}");
}

/// The simulation draws the never-routed revisions beside the routed ones. 4 updates a day, a
/// quarter never routes: the 3 a day that route keep GC's minimum (48h holds 6, 58h with the
/// 10h resync 7.25, fewer than 20): 21; beside them about 4 x 0.25 x 60 = 60 by the horizon
/// (Poisson, 200 paths: sd 0.55). Every update never routing (share 1): the first revision
/// plus 4 x 60 = 240, none collected.
#[test]
fn simulate_lets_never_routed_revisions_add_up_as_the_sweep_does() {
    for (share, want) in [(0.25, 21.0 + 60.0), (1.0, 1.0 + 240.0), (0.0, 21.0)] {
        let g = grid(share, 4.0, 0.95, "1Ti", 60);
        let sim = Simulation::new(&g, SimOptions::from_spec(&g.spec)).unwrap();
        let o = sim.scenario(0).unwrap();
        assert_eq!(o.analytic.retained, want, "share {share}");
        let tol = if share == 1.0 { 4.0 } else { 2.0 };
        assert!((o.simulated_retained - want).abs() < tol, "share {share}: {} against {want}", o.simulated_retained);
    }
}

fn mesh_topology(unrouted: u32) -> String {
    let created: Vec<String> = (0..11).map(|i| format!("\"{}\"", rfc3339(T0 + i as f64 * 0.5 * 86_400.0))).collect();
    format!(
        "istio_version = \"1.18.2\"\nknative_version = \"1.11.0\"\n[[namespaces]]\nname = \"istio-system\"\n[[namespaces]]\nname = \"shop\"\nsidecars = true\nknative = [{{ name = \"cart\", revisions = 11, unrouted = {unrouted}, created = [{}] }}]\n",
        created.join(", ")
    )
}

/// shop/web-2 at 800 ports, its limit 120 ports above; jobs/batch-1 (not in the topology) gives
/// the pooled model a second proxy. Readings as in `fleet_mesh.rs`: 96Ki a port.
fn mesh_series() -> String {
    crate::fleet_mesh::series_of(&[("shop/web-2", 800.0, 2.0, 120.0), ("jobs/batch-1", 400.0, 1.0, 400.0)])
}

/// cart: 11 revisions 12 h apart over 5 days, GC min = max = 10.
/// - None never routed: 1 active, capped at 11: it holds 11 already, so web-2 never gets there.
/// - 2 never routed (active to GC, so 3 active): the 2 oldest times are set aside, 8 arrivals
///   in 4 days = 2 a day; the 2 never-routed ones over the 5 days since the oldest = 0.4 a day,
///   so 1.6 a day route. The routed ones cap at 3 + 10 = 13: 2 more, reached after 1.25 days,
///   with 0.5 never-routed ones beside: 2.5 revisions = 20 ports. Then 0.4 a day = 3.2 ports a
///   day for the other 100: 31.25 days; 32.5 in all (a hair sooner: the upper bound).
#[test]
fn fleet_does_not_cap_never_routed_revisions() {
    let dir = tempdir();
    let data = write(dir.path(), "fleet.csv", &mesh_series());
    let run = |unrouted: u32| {
        let topo = write(dir.path(), &format!("t{unrouted}.toml"), &mesh_topology(unrouted));
        let mut cmd = meshcap();
        cmd.arg("fleet").arg(&data).arg("--topology").arg(&topo).args(["--scope", "namespace", "--format", "json"]);
        json(cmd.args(["--min-non-active-revisions", "10", "--max-non-active-revisions", "10"]))
    };
    let web2 = |v: &serde_json::Value| {
        v["proxies"].as_array().unwrap().iter().find(|p| p["proxy"] == "shop/web-2").cloned().unwrap()
    };
    let held = run(0);
    assert!(web2(&held)["days_to_limit"].is_null(), "{held}");
    let leaking = run(2);
    let w = web2(&leaking);
    assert_eq!(w["source"], "mesh");
    let d = w["days_to_limit"].as_f64().unwrap();
    assert!((32.3..=32.5).contains(&d), "web-2 days {d}, by hand 32.5");
    let cart = &leaking["mesh"]["services"][0];
    assert_eq!((cart["unrouted"].as_u64(), cart["active"].as_u64()), (Some(2), Some(3)), "{cart}");
    crate::util::close("leak", cart["unrouted_per_day"].as_f64().unwrap(), 0.4, 1e-12);
    assert!(cart["cap_revisions"].is_null(), "{cart}");
    let warnings: Vec<&str> = leaking["warnings"].as_array().unwrap().iter().map(|w| w.as_str().unwrap()).collect();
    assert!(
        warnings.iter().any(|w| w.starts_with("1 Knative service holds revisions that never routed")
            && w.ends_with(": shop/cart (2, 0.40 a day)")),
        "{warnings:?}"
    );
    assert!(!held["warnings"].to_string().contains("never routed"), "{held}");
}
