//! Bad fleets from Grafana and istioctl (issue 12 §5): each a one-line error naming the file
//! and the value (exit 2), or, as for `import prometheus --by`, a warning naming the proxy.

use std::path::{Path, PathBuf};

use crate::fleet_sources::config_dump;
use crate::util::{fails, meshcap, tempdir, write};

const T: i64 = 1_767_225_600;
const MI: u64 = 1_048_576;

/// A joined-by-time CSV: `Time` in epoch ms every 300 s, then one column per (header, values).
fn csv(dir: &Path, name: &str, columns: &[(&str, &[Option<u64>])]) -> PathBuf {
    let headers: Vec<String> = columns.iter().map(|(h, _)| format!("\"{}\"", h.replace('"', "\"\""))).collect();
    let mut s = format!("\"Time\",{}\n", headers.join(","));
    let n = columns.iter().map(|c| c.1.len()).max().unwrap_or(0);
    for k in 0..n {
        let cells: Vec<String> =
            columns.iter().map(|c| c.1.get(k).copied().flatten().map_or(String::new(), |v| v.to_string())).collect();
        s.push_str(&format!("{},{}\n", (T + 300 * k as i64) * 1000, cells.join(",")));
    }
    write(dir, name, &s)
}

fn grafana(mem: &Path, ports: &Path) -> assert_cmd::Command {
    let mut c = meshcap();
    c.args(["import", "grafana", "--by", "namespace,pod", "--memory", "mem.csv", "--ports", "ports.csv"])
        .arg(mem)
        .arg(ports);
    c
}

const MEM: &[Option<u64>] = &[Some(100 * MI), Some(101 * MI), Some(102 * MI)];
const PORTS: &[Option<u64>] = &[Some(16), Some(17), Some(18)];

#[test]
fn grafana_fleet_bad_inputs() {
    let dir = tempdir();
    let d = dir.path();
    let ports = csv(d, "ports.csv", &[(r#"{namespace="shop", pod="cart"}"#, PORTS)]);
    // A legend such as {{namespace}}/{{pod}} left only display names: the labels are gone.
    let mem = csv(d, "mem.csv", &[("shop/cart", MEM)]);
    let e = fails(&mut grafana(&mem, &ports), 2);
    assert!(e.contains("mem.csv:1 column \"shop/cart\"") && e.contains("display name \"shop/cart\""), "{e}");
    assert!(e.contains("legend") && e.contains("--by namespace,pod") && e.contains("DataFrame JSON"), "{e}");
    // A --by label the series lack.
    let mem = csv(d, "mem.csv", &[(r#"{pod="cart"}"#, MEM)]);
    let e = fails(&mut grafana(&mem, &ports), 2);
    assert!(e.contains("mem.csv") && e.contains("{pod=\"cart\"} lacks the label \"namespace\""), "{e}");
    // Two label sets that join to one proxy name.
    let mem = csv(d, "mem.csv", &[(r#"{namespace="a/b", pod="c"}"#, MEM), (r#"{namespace="a", pod="b/c"}"#, MEM)]);
    let e = fails(&mut grafana(&mem, &ports), 2);
    assert!(e.contains("mem.csv") && e.contains("join to proxy \"a/b/c\""), "{e}");
    // A column none of whose proxies memory has.
    let mem = csv(d, "mem.csv", &[(r#"{namespace="shop", pod="cart"}"#, MEM)]);
    let other = csv(d, "ports.csv", &[(r#"{namespace="shop", pod="other"}"#, PORTS)]);
    let e = fails(&mut grafana(&mem, &other), 2);
    assert!(e.contains("ports.csv: none of its 1 proxies (shop/other)") && e.contains("(shop/cart)"), "{e}");
    // A proxy missing from a column, and a proxy with one reading: left out or kept, and named
    // in a warning (exit 0), as import prometheus --by does.
    let mem = csv(
        d,
        "mem.csv",
        &[
            (r#"{namespace="shop", pod="cart"}"#, MEM),
            (r#"{namespace="shop", pod="gone"}"#, MEM),
            (r#"{namespace="shop", pod="new"}"#, &[None, None, Some(50 * MI)]),
        ],
    );
    let ports = csv(
        d,
        "ports.csv",
        &[(r#"{namespace="shop", pod="cart"}"#, PORTS), (r#"{namespace="shop", pod="new"}"#, PORTS)],
    );
    let out = d.join("fleet.csv");
    let o = grafana(&mem, &ports).arg("-o").arg(&out).assert().success().get_output().stdout.clone();
    let o = String::from_utf8(o).unwrap();
    assert!(o.contains("1 proxies have no ports and are left out: shop/gone"), "{o}");
    assert!(o.contains("1 proxies have one reading, so no growth and no date: shop/new"), "{o}");
    let rows = std::fs::read_to_string(&out).unwrap();
    // cart 3 + new 1 rows; gone none.
    assert_eq!(rows.lines().filter(|l| l.contains(",shop/cart,")).count(), 3, "{rows}");
    assert_eq!(rows.lines().filter(|l| l.contains(",shop/new,")).count(), 1, "{rows}");
    assert!(!rows.lines().any(|l| !l.starts_with('#') && l.contains("shop/gone")), "{rows}");
}

#[test]
fn grafana_json_without_labels_says_how_to_keep_them() {
    let dir = tempdir();
    let frame = r#"{"series":[{"fields":[{"name":"Time","type":"time","values":[1767225600000]},{"name":"Value","type":"number","labels":{},"config":{"displayNameFromDS":"cart"},"values":[104857600]}]}]}"#;
    let mem = write(dir.path(), "mem.json", frame);
    let e = fails(
        meshcap().args(["import", "grafana", "--by", "pod", "--memory", "mem.json", "--ports", "x"]).arg(&mem),
        2,
    );
    assert!(e.contains("--ports \"x\" matches no column"), "{e}");
    let e = fails(
        meshcap().args(["import", "grafana", "--by", "pod", "--memory", "mem.json", "--ports", "mem.json"]).arg(&mem),
        2,
    );
    assert!(e.contains("--memory and --ports both name"), "{e}");
    let ports = write(dir.path(), "ports.csv", "Time,{pod=\"cart\"}\n1767225600000,16\n");
    let e = fails(
        meshcap()
            .args(["import", "grafana", "--by", "pod", "--memory", "mem.json", "--ports", "ports.csv"])
            .arg(&mem)
            .arg(&ports),
        2,
    );
    assert!(e.contains("mem.json frame 1 field \"cart\"") && e.contains("display name \"cart\""), "{e}");
    let bad =
        write(dir.path(), "bad.json", r#"{"series":[{"fields":[{"name":"Time","type":"time","values":["soon"]}]}]}"#);
    let e = fails(meshcap().args(["import", "grafana", "--memory", "m", "--ports", "p"]).arg(&bad), 2);
    assert!(e.contains("bad.json") && e.contains("time 1 is \"soon\""), "{e}");
}

/// Dumps (ns, pod, file) and a readings file with `rows`.
fn istioctl(dir: &Path, dumps: &[(&str, &str, &str)], rows: &[&str]) -> assert_cmd::Command {
    let mut c = meshcap();
    c.args(["import", "istioctl"]);
    for (ns, pod, name) in dumps {
        c.arg(write(dir, name, &config_dump(ns, pod, "2025-12-31T00:00:00Z", 3)));
    }
    let r = write(dir, "readings.csv", &format!("dump,time,memory\n{}\n", rows.join("\n")));
    c.arg("--readings").arg(r);
    c
}

#[test]
fn istioctl_fleet_bad_inputs() {
    let dir = tempdir();
    let d = dir.path();
    let two = [("shop", "cart", "a.json"), ("shop", "cart", "b.json")];
    // A reading naming no dump given, a dump without a reading.
    let e = fails(&mut istioctl(d, &two, &["a.json,0,100Mi", "c.json,300,100Mi"]), 2);
    assert!(e.contains("readings.csv:3:dump") && e.contains("\"c.json\""), "{e}");
    let e = fails(&mut istioctl(d, &two, &["a.json,0,100Mi"]), 2);
    assert!(e.contains("b.json: no row of") && e.contains("readings.csv"), "{e}");
    // Two dumps of one proxy at one time.
    let e = fails(&mut istioctl(d, &two, &["a.json,0,100Mi", "b.json,0,101Mi"]), 2);
    assert!(e.contains("a.json and") && e.contains("b.json are dumps of proxy shop/cart at the same time"), "{e}");
    // Memory without its unit.
    let e = fails(&mut istioctl(d, &two, &["a.json,0,100", "b.json,300,101Mi"]), 2);
    assert!(e.contains("readings.csv:2:memory") && e.contains("\"100\""), "{e}");
    // Two namespaces' pods of one name under --by pod: one name, two proxies.
    let e = fails(
        istioctl(d, &[("shop", "cart", "a.json"), ("pay", "cart", "b.json")], &["a.json,0,100Mi", "b.json,0,100Mi"])
            .args(["--by", "pod"]),
        2,
    );
    assert!(e.contains("proxy \"cart\" has series that differ") && e.contains("namespace=\"pay\""), "{e}");
    let e = fails(istioctl(d, &two, &["a.json,0,100Mi", "b.json,300,100Mi"]).args(["--by", "app"]), 2);
    assert!(e.contains("--by app") && e.contains("namespace and pod only"), "{e}");
    // A proxy-config cluster array names no proxy.
    let arr = write(d, "pc.json", r#"[{"name":"outbound|80||a.shop.svc.cluster.local","type":"EDS"}]"#);
    let r = write(d, "r.csv", "dump,time,memory\npc.json,0,100Mi\n");
    let e = fails(meshcap().args(["import", "istioctl"]).arg(&arr).arg("--readings").arg(&r), 2);
    assert!(e.contains("pc.json") && e.contains("names no proxy") && e.contains("config_dump"), "{e}");
    // One proxy's one dump: kept, and named in a warning.
    let o = istioctl(d, &two, &["a.json,0,100Mi", "b.json,300,101Mi"]).assert().success().get_output().clone();
    assert!(String::from_utf8(o.stdout).unwrap().contains(",shop/cart,"));
    let o = istioctl(d, &[("shop", "cart", "a.json")], &["a.json,0,100Mi"]).assert().success().get_output().clone();
    assert!(String::from_utf8(o.stderr).unwrap().contains("one reading, so no growth and no date: shop/cart"));
}

/// Two dumps of one pod at one time from two containers (bootstrap `last_updated` differs, so
/// each is its own incarnation): the splice kept one and dropped the other without a word.
/// README: "two dumps of one proxy at one time are errors naming the file and line".
#[test]
fn two_containers_dumps_of_one_pod_at_one_time_are_refused() {
    let dir = tempdir();
    let d = dir.path();
    let a = write(d, "a.json", &config_dump("shop", "cart", "2025-12-31T00:00:00Z", 3));
    let b = write(d, "b.json", &config_dump("shop", "cart", "2025-12-31T06:00:00Z", 4));
    let r = write(d, "readings.csv", "dump,time,memory\na.json,3600,100Mi\nb.json,3600,101Mi\n");
    let out = d.join("fleet.csv");
    let e =
        fails(meshcap().args(["import", "istioctl"]).arg(&a).arg(&b).arg("--readings").arg(&r).arg("-o").arg(&out), 2);
    assert!(e.contains("readings.csv:3:time") && e.contains("proxy shop/cart at the same time"), "{e}");
    assert!(e.contains("two containers") && e.contains("a.json and") && e.contains("b.json"), "{e}");
    assert!(!out.exists(), "a refused import wrote {}", out.display());
}
