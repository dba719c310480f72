//! `meshcap rules` (issue 20 §3) checked by the real `promtool` (Debian's prometheus package,
//! installed by `.ci/run`): `promtool check rules` on the rule file and on the PrometheusRule's
//! groups, and `promtool test rules` with cases worked out by hand from the seed model:
//! b0 = 53143738.18 bytes, 785907.712 bytes a revision of 8 clusters, so with the full push
//! allowance (x1.54, Istio 1.18) 151287.2 bytes a cluster:
//! - `full`: 10000 clusters -> 1.566e9 bytes, over 1Gi: MeshcapSidecarNearLimit fires;
//! - `small`: 2000 clusters, flat -> 3.56e8: nothing fires;
//! - `growing`: 3000 clusters + 100 an hour -> 5.1e8 now, but 14 days ahead +33600 clusters:
//!   MeshcapSidecarOOMForecast fires, NearLimit does not.

use std::process::Command;

use crate::util::{meshcap, tempdir, write};

pub(crate) fn promtool() -> bool {
    let found =
        std::env::var_os("PATH").is_some_and(|p| std::env::split_paths(&p).any(|d| d.join("promtool").is_file()));
    if !found {
        assert!(
            std::env::var("MESHCAP_REQUIRE_PROMETHEUS").as_deref() != Ok("1"),
            "MESHCAP_REQUIRE_PROMETHEUS=1 but promtool is not on the PATH (apt-get install prometheus)"
        );
        eprintln!("skipped: promtool is not installed (apt-get install -y --no-install-recommends prometheus)");
    }
    found
}

fn run_promtool(args: &[&str], dir: &std::path::Path) -> String {
    let out = Command::new("promtool").args(args).current_dir(dir).output().expect("promtool runs");
    let text = format!("{}{}", String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr));
    assert!(out.status.success(), "promtool {args:?} failed:\n{text}");
    text
}

/// The description the rule file's template renders to for `ns/pod`: its `{{ $labels.x }}`
/// replaced here, by hand.
fn description(rules: &str, ns: &str, pod: &str) -> String {
    let line = rules.lines().find(|l| l.trim_start().starts_with("description:")).expect("a description");
    let quoted = line.trim_start().trim_start_matches("description:").trim();
    let text = quoted.trim_matches('\'').replace("''", "'");
    text.replace("{{ $labels.namespace }}", ns).replace("{{ $labels.pod }}", pod)
}

fn summary(rules: &str, alert: &str) -> String {
    let at = rules.find(&format!("alert: {alert}")).unwrap();
    let line = rules[at..].lines().find(|l| l.trim_start().starts_with("summary:")).unwrap();
    line.trim_start().trim_start_matches("summary:").trim().trim_matches('\'').replace("''", "'")
}

#[test]
fn promtool_checks_and_tests_the_rules() {
    if !promtool() {
        return;
    }
    let dir = tempdir();
    meshcap().args(["rules", "-o"]).arg(dir.path().join("rules.yaml")).assert().success();
    let rules = std::fs::read_to_string(dir.path().join("rules.yaml")).unwrap();
    assert!(rules.contains("151287.23456 * meshcap:istio_proxy_clusters"), "x1.54 a cluster: {rules}");
    run_promtool(&["check", "rules", "rules.yaml"], dir.path());
    let gi = 1073741824u64;
    let series = |name: &str, pod: &str, values: &str, extra: &str| {
        format!("      - series: '{name}{{namespace=\"shop\",pod=\"{pod}\"{extra}}}'\n        values: '{values}'\n")
    };
    let limit = |pod: &str| {
        series(
            "kube_pod_container_resource_limits",
            pod,
            &format!("{gi}x20"),
            ",container=\"istio-proxy\",resource=\"memory\"",
        )
    };
    let alert = |name: &str, pod: &str, severity: &str| {
        format!(
            "          - exp_labels: {{namespace: shop, pod: {pod}, severity: {severity}}}\n            exp_annotations:\n              summary: \"{}\"\n              description: \"{}\"\n",
            summary(&rules, name),
            description(&rules, "shop", pod)
        )
    };
    let test = format!(
        "rule_files: [rules.yaml]\nevaluation_interval: 1m\ntests:\n  - interval: 6m\n    input_series:\n{}{}{}{}{}{}    alert_rule_test:\n      - eval_time: 60m\n        alertname: MeshcapSidecarNearLimit\n        exp_alerts:\n{}      - eval_time: 60m\n        alertname: MeshcapSidecarOOMForecast\n        exp_alerts:\n{}      - eval_time: 10m\n        alertname: MeshcapSidecarNearLimit\n        exp_alerts: []\n",
        series("envoy_cluster_manager_active_clusters", "full", "10000x20", ""),
        limit("full"),
        series("envoy_cluster_manager_active_clusters", "small", "2000x20", ""),
        limit("small"),
        series("envoy_cluster_manager_active_clusters", "growing", "3000+10x20", ""),
        limit("growing"),
        alert("MeshcapSidecarNearLimit", "full", "critical"),
        alert("MeshcapSidecarOOMForecast", "growing", "warning"),
    );
    write(dir.path(), "test.yaml", &test);
    let out = run_promtool(&["test", "rules", "test.yaml"], dir.path());
    assert!(out.contains("SUCCESS"), "{out}");
    // The PrometheusRule carries the same groups.
    let cr = meshcap()
        .args(["rules", "--prometheus-rule", "meshcap-istio-proxy", "--namespace", "monitoring"])
        .assert()
        .success()
        .get_output()
        .stdout
        .clone();
    let cr = String::from_utf8(cr).unwrap();
    assert!(cr.contains("kind: PrometheusRule") && cr.contains("apiVersion: monitoring.coreos.com/v1"), "{cr}");
    let groups = &cr[cr.find("  groups:").expect("spec.groups")..];
    let unindented: String = groups.lines().map(|l| format!("{}\n", l.strip_prefix("  ").unwrap_or(l))).collect();
    assert_eq!(unindented, rules[rules.find("groups:").unwrap()..], "same groups in both forms");
    // A name that is no Kubernetes name is refused in one line.
    let err = crate::util::fails(meshcap().args(["rules", "--prometheus-rule", "Bad Name"]), 2);
    assert!(err.contains("\"Bad Name\""), "{err}");
}
