//! Every flag of the fleet paths changes what they print or is refused, and what they print
//! holds together (issue 21 §4): `--level` reaches `plot fleet-days` and `report --fleet`,
//! `--by namespace` keeps proxies without a namespace apart from namespace `-`, a model file is
//! not called pooled, a growth lies inside its own interval, and a topology whose revisions
//! were created after the last reading is named.

use std::path::{Path, PathBuf};

use crate::fleet_mesh::{rfc3339, T0};
use crate::util::{json, meshcap, tempdir, write};

const DAY: f64 = 86_400.0;
const MI: f64 = 1_048_576.0;
const PER_PORT: f64 = 98_304.0;

/// Proxies `(name, ports step per 6 h)`: 21 readings 6 h apart from 800 ports, memory 50Mi +
/// 96Ki a port +-1Ki, a limit 300 ports above the start.
fn fleet(dir: &Path, proxies: &[(&str, f64)]) -> PathBuf {
    let mut s = String::from("proxy,time,memory,ports,limit\n");
    for &(name, step) in proxies {
        let limit = 50.0 * MI + 1100.0 * PER_PORT;
        for k in 0..=20usize {
            let ports = 800.0 + step * (k / 4) as f64;
            let memory = 50.0 * MI + PER_PORT * ports + if k % 2 == 0 { 1024.0 } else { -1024.0 };
            s.push_str(&format!("{name},{},{memory:.0},{ports},{limit:.0}\n", T0 + k as f64 * DAY / 4.0));
        }
    }
    write(dir, "fleet.csv", &s)
}

/// `--level` was ignored by `plot fleet-days` and `report --fleet`: the chart and the table
/// were the 95% ones whatever it said.
#[test]
fn level_reaches_plot_fleet_days_and_report_fleet() {
    let dir = tempdir();
    let d = dir.path();
    let data = fleet(d, &[("shop/a", 8.0), ("shop/b", 16.0)]);
    let png = |level: Option<&str>, name: &str| {
        let out = d.join(name);
        let mut c = meshcap();
        c.args(["plot", "fleet-days", "--data"]).arg(&data).arg("-o").arg(&out);
        if let Some(l) = level {
            c.args(["--level", l]);
        }
        c.assert().success();
        std::fs::read(out).unwrap()
    };
    assert_ne!(png(Some("0.8"), "80.png"), png(None, "95.png"), "--level 0.8 draws other intervals");
    assert_eq!(png(Some("0.95"), "95b.png"), png(None, "95.png"), "the default is 95%");
    let out = d.join("report");
    meshcap()
        .args(["report", "--topology", "none", "--level", "0.8", "--fleet"])
        .arg(&data)
        .arg("--out")
        .arg(&out)
        .assert()
        .success();
    let md = std::fs::read_to_string(out.join("report.md")).unwrap();
    let fleet = &md[md.find("## Fleet").expect("a fleet section")..];
    assert!(fleet.contains("days to limit [80%]") && !fleet.contains("[95%]"), "{fleet}");
    // Out of range: refused with the value, as `fleet --level` refuses it.
    let e = crate::util::fails(
        meshcap().args(["plot", "fleet-days", "--level", "1.5", "--data"]).arg(&data).arg("-o").arg(d.join("x.png")),
        2,
    );
    assert!(e.contains("1.5"), "{e}");
}

/// `-` is a name a proxy's namespace part may hold; a proxy without `/` has none. The roll-up
/// merged the two under `-`.
#[test]
fn by_namespace_keeps_no_namespace_apart_from_dash() {
    let dir = tempdir();
    let data = fleet(dir.path(), &[("-/a", 8.0), ("-/b", 8.0), ("lonely", 8.0)]);
    let v = json(meshcap().arg("fleet").arg(&data).args(["--by", "namespace", "--format", "json"]));
    let rows = v["namespaces"].as_array().unwrap();
    let count = |ns: &serde_json::Value| rows.iter().find(|r| r["namespace"] == *ns).map(|r| r["proxies"].clone());
    assert_eq!(rows.len(), 2, "{rows:?}");
    assert_eq!(count(&serde_json::json!("-")), Some(serde_json::json!(2)), "{rows:?}");
    assert_eq!(count(&serde_json::Value::Null), Some(serde_json::json!(1)), "{rows:?}");
    let out = meshcap().arg("fleet").arg(&data).args(["--by", "namespace"]).assert().success();
    let text = String::from_utf8(out.get_output().stdout.clone()).unwrap();
    assert!(text.contains("\n(none) ") && text.contains("\n-  "), "{text}");
}

/// A proxy whose ports fell printed a negative growth beside its interval [0, hi].
#[test]
fn a_growth_lies_inside_its_own_interval() {
    let dir = tempdir();
    let data = fleet(dir.path(), &[("shop/up", 8.0), ("shop/down", -8.0)]);
    let v = json(meshcap().arg("fleet").arg(&data).args(["--format", "json"]));
    for p in v["proxies"].as_array().unwrap() {
        let g = p["growth_ports_per_day"].as_f64().unwrap();
        let [lo, hi] = [0, 1].map(|i| p["growth_interval"][i].as_f64().unwrap());
        assert!(lo <= g && g <= hi, "{}: {g} outside [{lo}, {hi}]", p["proxy"]);
    }
    let down = v["proxies"].as_array().unwrap().iter().find(|p| p["proxy"] == "shop/down").unwrap();
    assert_eq!(down["growth_ports_per_day"], 0.0);
}

/// `fleet --model FILE` dated with that model but the table called it "pooled model iid".
#[test]
fn a_model_file_is_named_not_called_pooled() {
    let dir = tempdir();
    let mut s = String::from("proxy,time,memory,revisions,limit\n");
    for k in 0..=20usize {
        let revisions = 100.0 + (k / 4) as f64;
        let memory = 60.0 * MI + 0.75 * MI * revisions + if k % 2 == 0 { 1024.0 } else { -1024.0 };
        s.push_str(&format!("shop/a,{},{memory:.0},{revisions},{:.0}\n", T0 + k as f64 * DAY / 4.0, 1024.0 * MI));
    }
    let data = write(dir.path(), "rev.csv", &s);
    let model = crate::util::root().join("models/knative-1.11-istio-1.18.json");
    let out = meshcap().arg("fleet").arg(&data).arg("--model").arg(&model).assert().success();
    let text = String::from_utf8(out.get_output().stdout.clone()).unwrap();
    let head = text.lines().next().unwrap();
    assert!(!head.contains("pooled") && head.contains("knative-1.11-istio-1.18.json (errors iid)"), "{head}");
    // Without a model file the fit is the pooled one, and says so.
    let data = fleet(dir.path(), &[("shop/a", 8.0), ("shop/b", 8.0)]);
    let out = meshcap().arg("fleet").arg(&data).assert().success();
    let text = String::from_utf8(out.get_output().stdout.clone()).unwrap();
    assert!(text.lines().next().unwrap().contains("pooled model group=proxy"), "{text}");
}

/// A topology whose revisions were created after the last reading was read without a word; a
/// mis-stamped one stretches the service's window and lowers its rate (here 2 a day to ~0.03).
#[test]
fn revisions_created_after_the_last_reading_are_named() {
    let dir = tempdir();
    let d = dir.path();
    let data = fleet(d, &[("ns0/web-1", 8.0), ("ns0/web-2", 8.0)]);
    let topology = |times: Vec<f64>| {
        let created: Vec<String> = times.iter().map(|t| format!("\"{}\"", rfc3339(*t))).collect();
        write(
            d,
            "topology.toml",
            &format!(
                "istio_version = \"1.18.2\"\nknative_version = \"1.11.0\"\n[[namespaces]]\nname = \"istio-system\"\n[[namespaces]]\nname = \"ns0\"\nsidecars = true\nknative = [{{ name = \"a\", revisions = {}, created = [{}] }}]\n",
                times.len(),
                created.join(", ")
            ),
        )
    };
    // 11 revisions over the readings' 5 days: nothing to say.
    let fine = topology((0..11).map(|k| T0 + k as f64 * 0.5 * DAY).collect());
    let v = json(meshcap().arg("fleet").arg(&data).arg("--topology").arg(&fine).args(["--format", "json"]));
    let said = v["warnings"].to_string();
    assert!(!said.contains("after the last reading"), "{said}");
    // One of them stamped 300 days late.
    let mut times: Vec<f64> = (0..10).map(|k| T0 + k as f64 * 0.5 * DAY).collect();
    times.push(T0 + 305.0 * DAY);
    let late = topology(times);
    let out = meshcap().arg("fleet").arg(&data).arg("--topology").arg(&late).assert().success();
    let text = String::from_utf8(out.get_output().stdout.clone()).unwrap();
    let line = text.lines().find(|l| l.contains("after the last reading")).unwrap_or_else(|| panic!("{text}"));
    assert!(line.contains("1 Knative service lists") && line.contains("ns0/a (1, newest 300.0 days after)"), "{line}");
}
