//! The file importers on realistic fixtures (`tests/fixtures/`) and on real tool outputs
//! (`../shared/reference/real-world/`, read in place; the tests say they skipped when it is
//! absent).

use std::path::{Path, PathBuf};

use crate::util::{json, meshcap, root, tempdir, write};

/// A real-world sample, or `None` after printing that the test skipped.
fn real(name: &str) -> Option<PathBuf> {
    crate::util::reference(&format!("real-world/{name}"))
}

fn fixture(name: &str) -> PathBuf {
    root().join("tests/fixtures").join(name)
}

fn counts(path: &Path) -> serde_json::Value {
    json(meshcap().args(["import", "istioctl", "--format", "json"]).arg(path))
}

fn ns_outbound(c: &serde_json::Value) -> Vec<(String, u64)> {
    c["by_namespace"]
        .as_object()
        .unwrap()
        .iter()
        .map(|(k, v)| (k.clone(), v["outbound_clusters"].as_u64().unwrap()))
        .collect()
}

fn owned(v: &[(&str, u64)]) -> Vec<(String, u64)> {
    v.iter().map(|(k, n)| (k.to_string(), *n)).collect()
}

#[test]
fn istioctl_busy_mesh_config_dump_counts_match_the_readme() {
    let Some(p) = real("istio-config-dump-productpage-v1-7bbd79f8fd-k6j79.json") else { return };
    let c = counts(&p);
    assert_eq!(
        (c["clusters"].as_u64(), c["outbound"].as_u64(), c["outbound_with_subset"].as_u64()),
        (Some(83), Some(74), Some(14))
    );
    assert_eq!((c["inbound"].as_u64(), c["other"].as_u64()), (Some(2), Some(7)));
    assert_eq!(
        ns_outbound(&c),
        owned(&[
            ("default", 21),
            ("istio-private-gateways", 7),
            ("istio-system", 25),
            ("kube-system", 7),
            ("linkerd", 6),
            ("redis", 3)
        ])
    );
    // ServiceEntry hosts are external, not namespaces "debian" or "ubuntu".
    assert_eq!(c["external_clusters"], 5);
    assert!(c["external_hosts"].as_array().unwrap().iter().any(|h| h == "deb.debian.org"));
    let distinct = c["services"].as_u64().unwrap() + c["external_hosts"].as_array().unwrap().len() as u64;
    assert_eq!(distinct, 36, "36 distinct outbound hosts");
    assert_eq!(c["outbound_types"]["EDS"], 68);
    assert_eq!(c["outbound_types"]["ORIGINAL_DST"], 6);
    assert_eq!(c["node"]["pod"], "productpage-v1-7bbd79f8fd-k6j79");
}

#[test]
fn istioctl_other_real_dumps() {
    if let Some(p) = real("istio-pc-cluster-productpage-26clusters.json") {
        let c = counts(&p);
        assert_eq!(
            (c["clusters"].as_u64(), c["outbound"].as_u64(), c["inbound"].as_u64()),
            (Some(26), Some(18), Some(2))
        );
        assert_eq!(ns_outbound(&c), owned(&[("default", 5), ("istio-system", 11), ("kube-system", 2)]));
        assert_eq!(c["other"], 6);
    }
    if let Some(p) = real("istio-config-dump-ratings-v1-f745cf57b-vfwcv.json") {
        let c = counts(&p);
        assert_eq!(
            (c["clusters"].as_u64(), c["outbound"].as_u64(), c["outbound_with_subset"].as_u64()),
            (Some(58), Some(51), Some(5))
        );
        assert_eq!(
            ns_outbound(&c),
            owned(&[
                ("bookinfo", 5),
                ("default", 12),
                ("istio-private-gateways", 1),
                ("istio-system", 21),
                ("kube-system", 8),
                ("redis", 3)
            ])
        );
        assert_eq!(c["external_hosts"], serde_json::json!(["myhost.tcp.svc"]), "not a namespace \"tcp\"");
        assert_eq!(c["node"]["namespace"], "bookinfo");
    }
    if let Some(p) = real("istio-config-dump-ingressgateway-5bf6c9887-vvvmj.json") {
        let c = counts(&p);
        // SNI-DNAT twins are counted apart: each service once.
        assert_eq!(
            (c["clusters"].as_u64(), c["outbound"].as_u64(), c["sni_dnat"].as_u64()),
            (Some(125), Some(60), Some(60))
        );
        assert_eq!(c["outbound_with_subset"], 12);
        assert_eq!(ns_outbound(&c), owned(&[("default", 30), ("istio-system", 21), ("kube-system", 8)]));
        assert_eq!(c["node"]["kind"], "router");
        // A gateway (Envoy node type router), whose SNI-DNAT clusters hold memory as the
        // outbound ones do (istio/istio cluster.go SniDnatClusterMode): 60 + 60 service clusters.
        assert_eq!((c["proxy_kind"].as_str(), c["service_clusters"].as_u64()), (Some("gateway"), Some(120)));
        // Appending a reading writes those 120 as its ports and says it is a gateway.
        let dir = tempdir();
        let series = dir.path().join("gw.csv");
        meshcap().args(["import", "istioctl", "--memory", "300Mi", "-o"]).arg(&series).arg(&p).assert().success();
        let text = std::fs::read_to_string(&series).unwrap();
        assert!(text.contains(",120,") && text.contains("gateway istio-ingressgateway-5bf6c9887-vvvmj"), "{text}");
    }
    if let Some(p) = real("istio-config-dump-echo-apps-1-99281.json") {
        let c = counts(&p);
        assert_eq!(
            (c["clusters"].as_u64(), c["outbound"].as_u64(), c["inbound"].as_u64()),
            (Some(80), Some(66), Some(9))
        );
        assert_eq!(
            ns_outbound(&c),
            owned(&[("apps-1-99281", 35), ("default", 1), ("istio-system", 23), ("kube-system", 7)])
        );
        assert_eq!(c["outbound_types"]["ORIGINAL_DST"], 5);
    }
    if let Some(p) = real("istio-config-dump-productpage-v1-c7765c886-v99jb.json") {
        let c = counts(&p);
        assert_eq!(
            (c["clusters"].as_u64(), c["outbound"].as_u64(), c["outbound_with_subset"].as_u64()),
            (Some(18), Some(9), Some(6))
        );
        assert_eq!(c["by_namespace"]["default"]["services"], 3);
    }
    if let Some(p) = real("istio-config-dump-waypoint-2023.json") {
        let c = counts(&p);
        assert_eq!(
            (c["clusters"].as_u64(), c["outbound"].as_u64(), c["inbound"].as_u64()),
            (Some(3), Some(0), Some(1))
        );
        assert_eq!(c["services"], 0);
    }
}

#[test]
fn istioctl_list_matches_istioctl_table() {
    let (Some(p), Some(t)) =
        (real("istio-pc-cluster-golden-2clusters.json"), real("istio-pc-cluster-golden-2clusters.summary.txt"))
    else {
        return;
    };
    let out = meshcap().args(["import", "istioctl", "--list"]).arg(&p).assert().success().get_output().stdout.clone();
    assert_eq!(String::from_utf8(out).unwrap(), std::fs::read_to_string(t).unwrap());
    let c = counts(&p);
    assert_eq!((c["outbound"].as_u64(), c["other"].as_u64()), (Some(1), Some(1)));
    assert_eq!(ns_outbound(&c), owned(&[("istio-system", 1)]));
}

/// A camelCase `proxy-config cluster` array of a sidecar seeing `revisions` revisions of
/// Knative service `hello` (8 ports each), a plain Service and a ServiceEntry.
fn knative_clusters(revisions: u32) -> String {
    let mut names =
        vec!["outbound|6379||redis.shop.svc.cluster.local".to_string(), "outbound|443||api.example.com".to_string()];
    for g in 1..=revisions {
        for p in [80, 443] {
            names.push(format!("outbound|{p}||hello-{g:05}.shop.svc.cluster.local"));
        }
        for p in [80, 443, 9090, 9091, 8022, 8012] {
            names.push(format!("outbound|{p}||hello-{g:05}-private.shop.svc.cluster.local"));
        }
    }
    names.push("outbound|80||hello.shop.svc.cluster.local".into());
    names.push("BlackHoleCluster".into());
    let items: Vec<String> = names
        .iter()
        .map(|n| {
            let ty = if n.contains('|') {
                r#","type": "EDS","edsClusterConfig": {"edsConfig": {"ads": {}}}"#
            } else {
                r#","type": "STATIC""#
            };
            format!(r#"{{"name": "{n}"{ty},"connectTimeout": "10s"}}"#)
        })
        .collect();
    format!("[\n{}\n]\n", items.join(",\n"))
}

#[test]
fn istioctl_counts_knative_revisions_and_appends_rows_that_fit() {
    let dir = tempdir();
    let series = dir.path().join("proxies.csv");
    for (k, revisions) in [10u32, 40, 90].iter().enumerate() {
        let dump = write(dir.path(), &format!("pod{k}.json"), &knative_clusters(*revisions));
        let c = counts(&dump);
        assert_eq!(c["knative"]["shop/hello"]["revisions"].as_u64(), Some(*revisions as u64));
        assert_eq!(c["knative"]["shop/hello"]["clusters"].as_u64(), Some(8 * *revisions as u64));
        assert_eq!(c["outbound"].as_u64(), Some(8 * *revisions as u64 + 3));
        assert_eq!(c["external_clusters"], 1);
        let memory = format!("{}Ki", 51200 + 768 * revisions);
        meshcap()
            .args(["import", "istioctl", "--memory", &memory, "--limit", "1Gi"])
            .arg(&dump)
            .arg("-o")
            .arg(&series)
            .assert()
            .success();
    }
    let text = std::fs::read_to_string(&series).unwrap();
    let rows: Vec<&str> = text.lines().filter(|l| !l.starts_with('#')).collect();
    assert_eq!(rows[0], "revisions,ports,services,memory,limit,note");
    assert_eq!(rows.len(), 4, "{text}");
    assert!(rows[1].starts_with("10,83,22,"), "{}", rows[1]);
    let fit = json(meshcap().arg("fit").arg(&series).args(["--x", "revisions", "--format", "json"]));
    let per_rev = fit["coefficients"][1]["estimate"].as_f64().unwrap();
    assert!((per_rev - 768.0 * 1024.0).abs() < 1e-3, "{per_rev}");
    // An existing series without the needed columns is refused, and left as it was.
    let other = write(dir.path(), "other.csv", "time,cpu\n1,2\n");
    let out = meshcap()
        .args(["import", "istioctl", "--memory", "60Mi"])
        .arg(dir.path().join("pod0.json"))
        .arg("-o")
        .arg(&other)
        .assert()
        .code(2);
    let err = String::from_utf8(out.get_output().stderr.clone()).unwrap();
    assert!(err.contains("other.csv") && err.contains("lacks memory"), "{err}");
    assert_eq!(std::fs::read_to_string(&other).unwrap(), "time,cpu\n1,2\n");
}

fn topology(files: &[PathBuf], dir: &Path) -> (String, String) {
    let out = dir.join("topology.toml");
    let run =
        meshcap().args(["import", "kubectl"]).args(files).arg("-o").arg(&out).assert().success().get_output().clone();
    (std::fs::read_to_string(&out).unwrap(), String::from_utf8(run.stdout).unwrap())
}

#[test]
fn kubectl_real_knative_lists_join_by_label_not_name() {
    let (Some(s), Some(r)) =
        (real("knative-service-list-4-services.json"), real("knative-revision-list-6-revisions.json"))
    else {
        return;
    };
    let dir = tempdir();
    let (toml, summary) = topology(&[s, r], dir.path());
    // Traffic: 100% latest plus 0% tags `old` and `current`: 2 distinct revisions, 2 tags. The
    // third carries no serving.knative.dev/routingState (this 2020 List predates the label):
    // Knative's GC treats an unset state as active and never collects it (gc.go
    // isRevisionActive, gc_test.go "keep oldest when none Reserved").
    assert!(
        toml.contains("{ name = \"example\", revisions = 3, routed = 2, tags = 2, unrouted = 1, created = ["),
        "{toml}"
    );
    for name in ["aaa", "bbb", "ccc"] {
        assert!(toml.contains(&format!("{{ name = \"{name}\", revisions = 1, created = [")), "{toml}");
    }
    assert!(summary.contains("4 Knative services, 6 revisions"), "{summary}");
    // The topology is usable as is.
    meshcap().args(["scope", "--limit", "1Gi", "--topology"]).arg(dir.path().join("topology.toml")).assert().success();
}

#[test]
fn kubectl_real_failed_revision_is_reported_and_counted() {
    let (Some(s), Some(r)) =
        (real("knative-service-list-failed-revision.json"), real("knative-revision-list-failed-revision.json"))
    else {
        return;
    };
    let dir = tempdir();
    let (toml, summary) = topology(&[s, r], dir.path());
    // No traffic and no latest ready revision: nothing is routed, the revision is still retained.
    assert!(toml.contains("{ name = \"example\", revisions = 1, routed = 0, created = ["), "{toml}");
    assert!(summary.contains("example-2fvz4 is not Ready (Ready=False, ContainerMissing)"), "{summary}");
    assert!(summary.contains("a-serverless-example/example is not Ready: Ready=False, RevisionMissing"), "{summary}");
}

#[test]
fn kubectl_real_minikube_service_with_and_without_revisions() {
    let (Some(svc), Some(list), Some(revs)) = (
        real("knative-service-test.json"),
        real("knative-service-list-test.json"),
        real("knative-revision-list-test-00001-00002.json"),
    ) else {
        return;
    };
    let dir = tempdir();
    let (toml, _) = topology(&[svc, revs], dir.path());
    assert!(toml.contains("{ name = \"test\", revisions = 2, routed = 2, created = ["), "{toml}");
    // Without Revision objects the traffic targets stand in, with a warning.
    let (toml, summary) = topology(&[list], dir.path());
    assert!(toml.contains("{ name = \"test\", revisions = 2, routed = 2 }"), "{toml}");
    assert!(summary.contains("no Revision objects") && summary.contains("status.traffic as 2"), "{summary}");
}

#[test]
fn kubectl_full_list_with_revision_services() {
    let dir = tempdir();
    let (toml, summary) = topology(&[fixture("kubectl-knative-list.json")], dir.path());
    assert!(
        summary
            .contains("3 Knative services, 7 revisions (6 with their Services' ports), 6 plain Services, 2 gateways"),
        "{summary}"
    );
    assert!(toml.contains("ports_per_revision = 8\n"), "{toml}");
    assert!(toml.contains("{ name = \"cart\", revisions = 3, ports_per_revision = 8, created = ["), "{toml}");
    // The revision and ExternalName Services are counted through the Knative service.
    assert!(!toml.contains("cart-00001") && !toml.contains("{ name = \"cart\", ports"), "{toml}");
    assert!(toml.contains("{ name = \"redis\", ports = 1 }"));
    assert!(toml.contains("name = \"batch\"\nsidecars = false  # from the Namespace"), "{toml}");
    assert!(toml.contains("name = \"istio-system\"\nsidecars = false"), "{toml}");
    assert!(summary.contains("broken-00002 is not Ready"), "{summary}");
    let scope = json(
        meshcap()
            .args(["scope", "--limit", "1Gi", "--format", "json", "--topology"])
            .arg(dir.path().join("topology.toml")),
    );
    // Scope mesh: 7 revisions x 8 ports + 3 ExternalName + 14 plain ports (redis 1, postgres 2,
    // kubernetes 1, the two gateways 3 each, istiod 4) = 73.
    let mesh = &scope["scopes"][0]["namespaces"][0];
    assert_eq!(
        (mesh["visible_clusters"].as_f64(), mesh["visible_revisions"].as_f64()),
        (Some(73.0), Some(7.0)),
        "{mesh}"
    );
    let shop = &scope["scopes"][1]["namespaces"][1];
    assert_eq!((shop["namespace"].as_str(), shop["visible_revisions"].as_f64()), (Some("shop"), Some(5.0)), "{shop}");
}

#[test]
fn kubectl_private_service_excerpt_shape_joins_by_name() {
    // The shape of `kubectl get svc <rev>-private -oyaml` in the kserve docs excerpt (labels
    // trimmed by its authors), as JSON, with the Revision it belongs to.
    let list = r#"{"apiVersion":"v1","kind":"List","items":[
      {"apiVersion":"v1","kind":"Service","metadata":{"name":"sklearn-iris-predictor-default-fhmjk-private","namespace":"default"},
       "spec":{"clusterIP":"10.105.186.18","ports":[
         {"name":"http","port":80,"protocol":"TCP","targetPort":8012},
         {"name":"queue-metrics","port":9090,"protocol":"TCP","targetPort":"queue-metrics"},
         {"name":"http-usermetric","port":9091,"protocol":"TCP","targetPort":"http-usermetric"},
         {"name":"http-queueadm","port":8022,"protocol":"TCP","targetPort":8022}],
        "selector":{"serving.knative.dev/revisionUID":"a8f1eafc-3c64-4930-9a01-359f3235333a"},"sessionAffinity":"None","type":"ClusterIP"}},
      {"apiVersion":"serving.knative.dev/v1","kind":"Revision","metadata":{"name":"sklearn-iris-predictor-default-fhmjk","namespace":"default",
        "labels":{"serving.knative.dev/service":"sklearn-iris-predictor-default"}}}]}"#;
    let dir = tempdir();
    let f = write(dir.path(), "excerpt.json", list);
    let (toml, _) = topology(&[f], dir.path());
    assert!(
        toml.contains("{ name = \"sklearn-iris-predictor-default\", revisions = 1, ports_per_revision = 4 }"),
        "{toml}"
    );
    assert!(!toml.contains("fhmjk-private"), "{toml}");
}

#[test]
fn grafana_joined_formatted_export_fits_the_known_slope() {
    let dir = tempdir();
    let out = dir.path().join("g.csv");
    meshcap()
        .args(["import", "grafana", "--memory", "istio-proxy", "--ports", "active_clusters", "--utc-offset", "+01:00"])
        .arg(fixture("grafana-joined-formatted.csv"))
        .arg("-o")
        .arg(&out)
        .assert()
        .success();
    let text = std::fs::read_to_string(&out).unwrap();
    assert!(text.contains("time,ports,memory\n2026-01-01T00:00:00Z,16,53582233.6\n"), "{text}");
    assert!(text.contains(",3220,"), "\"3.22 K\" is 3220: {text}");
    let fit = json(meshcap().arg("fit").arg(&out).args(["--format", "json"]));
    let ports = &fit["coefficients"][1];
    // The fixture was built with 96 KiB per cluster; Grafana's 3-digit formatting blurs it.
    assert!(ports["ci_low"].as_f64().unwrap() <= 98304.0 && 98304.0 <= ports["ci_high"].as_f64().unwrap(), "{ports}");
}

#[test]
fn grafana_blocks_and_series_as_rows() {
    let dir = tempdir();
    let out = dir.path().join("b.csv");
    let run = meshcap()
        .args(["import", "grafana", "--memory", "istio-proxy", "--ports", "active clusters", "--format", "json"])
        .arg(fixture("grafana-blocks-raw.csv"))
        .arg("-o")
        .arg(&out)
        .assert()
        .success()
        .get_output()
        .stdout
        .clone();
    let report: serde_json::Value = serde_json::from_slice(&run).unwrap();
    assert_eq!((report["rows"].as_u64(), report["step_seconds"].as_f64()), (Some(60), Some(30.0)));
    let fit = json(meshcap().arg("fit").arg(&out).args(["--format", "json"]));
    let ports = &fit["coefficients"][1];
    assert!(ports["ci_low"].as_f64().unwrap() <= 98304.0 && 98304.0 <= ports["ci_high"].as_f64().unwrap(), "{ports}");
    let rows = "Series;Time;Value\nmem;2026-01-01 00:00:00;50 MiB\nmem;2026-01-01 00:00:30;60 MiB\nmem;2026-01-01 00:01:00;70 MiB\nclusters;2026-01-01 00:00:00;0\nclusters;2026-01-01 00:00:30;100\nclusters;2026-01-01 00:01:00;200\n";
    let f = write(dir.path(), "rows.csv", rows);
    let out = meshcap()
        .args(["import", "grafana", "--memory", "mem", "--ports", "clusters"])
        .arg(&f)
        .assert()
        .success()
        .get_output()
        .stdout
        .clone();
    let text = String::from_utf8(out).unwrap();
    assert!(text.ends_with("time,ports,memory\n2026-01-01T00:00:00Z,0,52428800\n2026-01-01T00:00:30Z,100,62914560\n2026-01-01T00:01:00Z,200,73400320\n"), "{text}");
}

#[track_caller]
fn bad(args: &[&str], files: &[&Path], parts: &[&str]) {
    let err = crate::util::fails(meshcap().args(args).args(files), 2);
    for p in parts {
        assert!(err.contains(p), "{p:?} not in {err}");
    }
}

#[test]
fn grafana_bad_input() {
    let dir = tempdir();
    let f = write(dir.path(), "unit.csv", "Time,mem,clusters\n2026-01-01 00:00:00,12 furlongs,1\n");
    bad(
        &["import", "grafana", "--memory", "mem", "--ports", "clusters"],
        &[&f],
        &["unit.csv:2:mem", "\"12 furlongs\""],
    );
    let f = write(dir.path(), "time.csv", "Time,mem,clusters\nyesterday,12 MiB,1\n");
    bad(&["import", "grafana", "--memory", "mem", "--ports", "clusters"], &[&f], &["time.csv:2:Time", "\"yesterday\""]);
    let f = write(dir.path(), "amb.csv", "Time,mem a,mem b,clusters\n1,1,2,3\n");
    bad(&["import", "grafana", "--memory", "mem", "--ports", "clusters"], &[&f], &["matches 2 columns", "\"mem a\""]);
    bad(
        &["import", "grafana", "--memory", "nope", "--ports", "clusters"],
        &[&f],
        &["matches no column", "\"clusters\""],
    );
    let f = write(dir.path(), "hdr.csv", "when,mem\n1,2\n");
    bad(&["import", "grafana", "--memory", "mem", "--ports", "x"], &[&f], &["hdr.csv:1", "\"Time\""]);
    bad(
        &["import", "grafana", "--memory", "mem", "--ports", "x", "--utc-offset", "2h"],
        &[&f],
        &["--utc-offset", "\"2h\""],
    );
}

#[test]
fn kubectl_and_istioctl_bad_input() {
    let dir = tempdir();
    let f = write(dir.path(), "trunc.json", "{\"kind\":\"List\",\"items\":[{\"kind\":");
    bad(&["import", "kubectl"], &[&f], &["trunc.json", "malformed JSON at byte 32"]);
    let f = write(
        dir.path(),
        "nolabel.json",
        r#"{"kind":"Revision","apiVersion":"serving.knative.dev/v1","metadata":{"name":"a-00001","namespace":"x"}}"#,
    );
    bad(&["import", "kubectl"], &[&f], &["nolabel.json", "x/a-00001", "serving.knative.dev/service"]);
    let f = write(
        dir.path(),
        "pods.json",
        r#"{"kind":"List","items":[{"kind":"Pod","apiVersion":"v1","metadata":{"name":"p"}}]}"#,
    );
    bad(&["import", "kubectl"], &[&f], &["no Services, Knative Services or Revisions", "pods.json"]);
    let f = write(dir.path(), "num.json", "42");
    bad(&["import", "istioctl"], &[&f], &["num.json", "array of clusters"]);
    let f = write(dir.path(), "noname.json", r#"[{"type":"EDS"}]"#);
    bad(&["import", "istioctl"], &[&f], &["noname.json", "cluster 1 has no \"name\""]);
    let f = write(
        dir.path(),
        "dump.json",
        r#"{"configs":[{"@type":"type.googleapis.com/envoy.admin.v3.ListenersConfigDump"}]}"#,
    );
    bad(&["import", "istioctl"], &[&f], &["dump.json", "no ClustersConfigDump"]);
    let f = write(dir.path(), "ok.json", "[]");
    bad(&["import", "istioctl", "--memory", "12 parsecs", "-o", "x.csv"], &[&f], &["--memory", "\"12 parsecs\""]);
    bad(&["import", "istioctl", "--memory", "12Mi"], &[&f], &["-o FILE"]);
}

#[test]
fn kubectl_bring_your_own_revision_names_join_by_label() {
    // Knative allows spec.template.metadata.name = "{service}-{anything}": `cart-v2-blue` belongs
    // to `cart`, which no split of the name recovers.
    let list = r#"{"apiVersion":"v1","kind":"List","items":[
      {"apiVersion":"serving.knative.dev/v1","kind":"Revision","metadata":{"name":"cart-v2-blue","namespace":"shop",
        "labels":{"serving.knative.dev/service":"cart","serving.knative.dev/configuration":"cart"}}},
      {"apiVersion":"serving.knative.dev/v1","kind":"Revision","metadata":{"name":"cart-00001","namespace":"shop",
        "labels":{"serving.knative.dev/service":"cart","serving.knative.dev/configuration":"cart"}}}]}"#;
    let dir = tempdir();
    let f = write(dir.path(), "byo.json", list);
    let (toml, _) = topology(&[f], dir.path());
    // Neither carries a routingState label: besides the one taken as routed (no Service object
    // in the input), the other is unset, which Knative's GC never collects (gc.go
    // isRevisionActive).
    assert!(toml.contains("{ name = \"cart\", revisions = 2, unrouted = 1 }"), "{toml}");
    assert!(!toml.contains("cart-v2"), "{toml}");
}
