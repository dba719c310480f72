//! `import prometheus --by`: the long form from saved responses, container splicing, and the
//! bad inputs of issue 12 §5, each a one-line error (exit 2) or a named warning.

use std::path::{Path, PathBuf};

use crate::util::{json, meshcap, tempdir, write};

/// A query_range body from (labels, [(t, v)]) series.
fn body(series: &[(&str, &[(i64, f64)])]) -> String {
    let series: Vec<(&str, Vec<(f64, String)>)> =
        series.iter().map(|(l, pts)| (*l, pts.iter().map(|(t, v)| (*t as f64, v.to_string())).collect())).collect();
    crate::prometheus_files::body(&series)
}

const T: i64 = 1_767_225_600;
const MI: f64 = 1_048_576.0;

fn pts(n: i64, v: impl Fn(i64) -> f64) -> Vec<(i64, f64)> {
    (0..n).map(|k| (T + 30 * k, v(k))).collect()
}

fn import(dir: &Path, mem: &str, ports: &str, extra: &[&str]) -> (std::process::Output, PathBuf) {
    let m = write(dir, "mem.json", mem);
    let p = write(dir, "ports.json", ports);
    let out = dir.join("fleet.csv");
    let o = meshcap()
        .args(["import", "prometheus", "--by", "namespace,pod", "--memory-file"])
        .arg(&m)
        .arg("--ports-file")
        .arg(&p)
        .args(extra)
        .arg("-o")
        .arg(&out)
        .output()
        .unwrap();
    (o, out)
}

fn one_line_error(o: &std::process::Output) -> String {
    assert_eq!(o.status.code(), Some(2), "stdout {}", String::from_utf8_lossy(&o.stdout));
    let err = String::from_utf8_lossy(&o.stderr).to_string();
    assert_eq!(err.trim_end().lines().count(), 1, "{err}");
    err
}

#[test]
fn long_form_splices_containers_never_sums() {
    let dir = tempdir();
    // cart: old container 0..=5 (5 is stale), new from 4; shop/list one container.
    let old: Vec<(i64, f64)> = pts(6, |k| (100 + k.min(3)) as f64 * MI);
    let new: Vec<(i64, f64)> = pts(8, |k| if k < 4 { f64::NAN } else { (20 + 30 * (k - 4)) as f64 * MI })
        .into_iter()
        .filter(|p| !p.1.is_nan())
        .collect();
    let list: Vec<(i64, f64)> = pts(8, |_| 80.0 * MI);
    let mem = body(&[
        (r#""namespace":"shop","pod":"cart","container":"istio-proxy","id":"/a""#, &old),
        (r#""namespace":"shop","pod":"cart","container":"istio-proxy","id":"/b""#, &new),
        (r#""namespace":"shop","pod":"list","container":"istio-proxy","id":"/c""#, &list),
    ]);
    let ports = body(&[
        (r#""namespace":"shop","pod":"cart""#, &pts(8, |k| (16 + 8 * (k / 2)) as f64)),
        (r#""namespace":"shop","pod":"list""#, &pts(8, |_| 16.0)),
    ]);
    let (o, out) = import(dir.path(), &mem, &ports, &["--limit", "1Gi"]);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let text = std::fs::read_to_string(&out).unwrap();
    let rows: Vec<&str> = text.lines().filter(|l| !l.starts_with('#')).collect();
    assert_eq!(rows[0], "time,proxy,ports,restarts,memory,limit");
    // Hand count: cart takes the old container at 0..3, the new one from 4 (never 103+20Mi).
    let cart: Vec<f64> = rows
        .iter()
        .filter(|r| r.contains(",shop/cart,"))
        .map(|r| r.split(',').nth(4).unwrap().parse().unwrap())
        .collect();
    let want: Vec<f64> = [100, 101, 102, 103, 20, 50, 80, 110].iter().map(|&m| m as f64 * MI).collect();
    assert_eq!(cart, want);
    let restarts: Vec<&str> =
        rows.iter().filter(|r| r.contains(",shop/cart,")).map(|r| r.split(',').nth(3).unwrap()).collect();
    assert_eq!(restarts, ["0", "0", "0", "0", "1", "1", "1", "1"]);
    assert_eq!(rows.iter().filter(|r| r.contains(",shop/list,")).count(), 8);
    // The JSON summary counts proxies and restarts.
    let out2 = dir.path().join("again.csv");
    let v = json(
        meshcap()
            .args(["import", "prometheus", "--by", "namespace,pod", "--limit", "1Gi", "--format", "json"])
            .arg("--memory-file")
            .arg(dir.path().join("mem.json"))
            .arg("--ports-file")
            .arg(dir.path().join("ports.json"))
            .arg("-o")
            .arg(&out2),
    );
    assert_eq!((v["proxies"].as_u64(), v["restarts_spliced"].as_u64()), (Some(2), Some(1)));
    // clean, proxy by proxy: the restart is cart's first new reading, nothing in list.
    let c = json(meshcap().arg("clean").arg(&out).arg("-o").arg(dir.path().join("c.csv")).args(["--format", "json"]));
    assert_eq!(c["restarts"], 1);
    assert_eq!(c["changes"][0]["memory_bytes"].as_f64(), Some(20.0 * MI));
}

#[test]
fn bad_fleet_inputs_are_named() {
    let dir = tempdir();
    let mem1 = |labels: &str| body(&[(labels, &pts(4, |_| 100.0 * MI))]);
    let ports = body(&[(r#""namespace":"shop","pod":"cart""#, &pts(4, |_| 16.0))]);
    // A --by label the series lack.
    let (o, _) = import(dir.path(), &mem1(r#""pod":"cart""#), &ports, &[]);
    let e = one_line_error(&o);
    assert!(e.contains("lacks the label \"namespace\"") && e.contains("mem.json"), "{e}");
    // Two label sets that join to one proxy name.
    let mem = body(&[
        (r#""namespace":"a/b","pod":"c""#, &pts(4, |_| 100.0 * MI)),
        (r#""namespace":"a","pod":"b/c""#, &pts(4, |_| 100.0 * MI)),
    ]);
    let e = one_line_error(&import(dir.path(), &mem, &ports, &[]).0);
    assert!(e.contains("join to proxy \"a/b/c\""), "{e}");
    // A column none of whose proxies memory has.
    let other = body(&[(r#""namespace":"shop","pod":"other""#, &pts(4, |_| 16.0))]);
    let e = one_line_error(&import(dir.path(), &mem1(r#""namespace":"shop","pod":"cart""#), &other, &[]).0);
    assert!(e.contains("none of its 1 proxies (shop/other)") && e.contains("shop/cart"), "{e}");
    // Some proxies missing from a column: named in a warning, left out.
    let two = body(&[
        (r#""namespace":"shop","pod":"cart""#, &pts(4, |_| 100.0 * MI)),
        (r#""namespace":"shop","pod":"gone""#, &pts(4, |_| 100.0 * MI)),
    ]);
    let (o, out) = import(dir.path(), &two, &ports, &[]);
    assert!(o.status.success());
    assert!(String::from_utf8_lossy(&o.stdout).contains("no ports and are left out: shop/gone"));
    let text = std::fs::read_to_string(out).unwrap();
    assert!(text.contains("# 1 proxies have no ports and are left out: shop/gone"), "{text}");
    assert!(!text.lines().any(|l| !l.starts_with('#') && l.contains("shop/gone")), "{text}");
    // A pause container beside the sidecar: more than container identity differs.
    let mixed = body(&[
        (r#""namespace":"shop","pod":"cart","container":"istio-proxy""#, &pts(4, |_| 100.0 * MI)),
        (r#""namespace":"shop","pod":"cart","container":"POD""#, &pts(4, |_| MI)),
    ]);
    let e = one_line_error(&import(dir.path(), &mixed, &ports, &[]).0);
    assert!(e.contains("differ in more than container identity"), "{e}");
    // A limit series in MiB, not bytes.
    let lim = write(dir.path(), "limit.json", &body(&[(r#""namespace":"shop","pod":"cart""#, &pts(4, |_| 1024.0))]));
    let e = one_line_error(
        &import(
            dir.path(),
            &mem1(r#""namespace":"shop","pod":"cart""#),
            &ports,
            &["--limit-file", lim.to_str().unwrap()],
        )
        .0,
    );
    assert!(e.contains("limit is 1024") && e.contains("under 1Mi"), "{e}");
    // --aggregate and --by exclude each other.
    let e = one_line_error(
        &import(dir.path(), &mem1(r#""namespace":"shop","pod":"cart""#), &ports, &["--aggregate", "max"]).0,
    );
    assert!(e.contains("--aggregate") && e.contains("--by"), "{e}");
}

#[test]
fn clean_flags_a_sum_imports_ramped_and_short_overlaps_per_proxy() {
    let dir = tempdir();
    // A `sum by (namespace, pod)` import. Truth: cart's new container ramps up (30, 70, 100Mi)
    // summed with the old 100Mi at samples 6-8; list's overlap is the one sample 10 (old 80Mi
    // + new 36Mi); pay restarts plainly at sample 8 (no overlap) and grows back.
    let cart = pts(16, |k| match k {
        6 => 130.0,
        7 => 170.0,
        8 => 200.0,
        _ => 100.0,
    } * MI);
    let list = pts(16, |k| match k {
        10 => 116.0,
        k if k > 10 => 79.0,
        _ => 80.0,
    } * MI);
    let pay = pts(16, |k| if k < 8 { 120.0 } else { (50 + 20 * (k - 8)).min(120) as f64 } * MI);
    let mem = body(&[
        (r#""namespace":"shop","pod":"cart""#, &cart),
        (r#""namespace":"shop","pod":"list""#, &list),
        (r#""namespace":"shop","pod":"pay""#, &pay),
    ]);
    let ports = body(&[
        (r#""namespace":"shop","pod":"cart""#, &pts(16, |_| 16.0)),
        (r#""namespace":"shop","pod":"list""#, &pts(16, |_| 16.0)),
        (r#""namespace":"shop","pod":"pay""#, &pts(16, |_| 16.0)),
    ]);
    let (o, out) = import(dir.path(), &mem, &ports, &["--limit", "1Gi"]);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let cleaned = dir.path().join("clean.csv");
    let report = json(meshcap().arg("clean").arg(&out).arg("-o").arg(&cleaned).args(["--format", "json"]));
    assert_eq!((report["double_counted_rows"].as_u64(), report["restarts"].as_u64()), (Some(4), Some(3)));
    let text = std::fs::read_to_string(&cleaned).unwrap();
    let rows: Vec<Vec<&str>> = text.lines().filter(|l| !l.starts_with('#')).map(|l| l.split(',').collect()).collect();
    let col = |name: &str| rows[0].iter().position(|c| *c == name).unwrap();
    let (proxy, event) = (col("proxy"), col("event"));
    for (pod, want) in [("shop/cart", vec![6, 7, 8]), ("shop/list", vec![10]), ("shop/pay", vec![])] {
        let mine: Vec<&Vec<&str>> = rows[1..].iter().filter(|r| r[proxy] == pod).collect();
        let doubled: Vec<usize> = (0..mine.len()).filter(|&k| mine[k].get(event) == Some(&"double-count")).collect();
        assert_eq!(doubled, want, "{pod}: {text}");
    }
    let pay_restart =
        rows[1..].iter().filter(|r| r[proxy] == "shop/pay").position(|r| r.get(event) == Some(&"restart"));
    assert_eq!(pay_restart, Some(8), "{text}");
}

/// `fleet --memory-file ...` imports in the same process: the same ranking, byte for byte, as
/// `import prometheus --by` then `fleet SERIES` (the two paths share the import code but not the
/// CSV round trip), and the import's errors and warnings reach the user.
#[test]
fn fleet_from_saved_responses_ranks_as_the_two_step_way() {
    let dir = tempdir();
    // Four proxies over two hours at 30 s: two grow by 8 ports every 20 minutes, two stay.
    let grow = |every: i64| move |k: i64| (80 + 8 * (k / every)) as f64;
    let mem_of = |ports: &dyn Fn(i64) -> f64, base: f64| pts(240, |k| base * MI + 96.0 * 1024.0 * ports(k));
    let (g40, g80) = (grow(40), grow(80));
    let flat = |_: i64| 80.0;
    let mem = body(&[
        (r#""namespace":"shop","pod":"cart","container":"istio-proxy""#, &mem_of(&g40, 60.0)),
        (r#""namespace":"shop","pod":"list","container":"istio-proxy""#, &mem_of(&g80, 61.0)),
        (r#""namespace":"pay","pod":"api","container":"istio-proxy""#, &mem_of(&flat, 62.0)),
        (r#""namespace":"pay","pod":"web","container":"istio-proxy""#, &mem_of(&flat, 59.0)),
    ]);
    let ports = body(&[
        (r#""namespace":"shop","pod":"cart""#, &pts(240, g40)),
        (r#""namespace":"shop","pod":"list""#, &pts(240, g80)),
        (r#""namespace":"pay","pod":"api""#, &pts(240, flat)),
        (r#""namespace":"pay","pod":"web""#, &pts(240, flat)),
    ]);
    let (o, csv) = import(dir.path(), &mem, &ports, &[]);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let rank = |args: &[&std::ffi::OsStr]| {
        let o = meshcap().arg("fleet").args(args).args(["--limit", "256Mi", "--format", "csv"]).output().unwrap();
        assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
        String::from_utf8(o.stdout).unwrap()
    };
    let two_step = rank(&[csv.as_os_str()]);
    let (m, p) = (dir.path().join("mem.json"), dir.path().join("ports.json"));
    let direct = rank(&["--memory-file".as_ref(), m.as_os_str(), "--ports-file".as_ref(), p.as_os_str()]);
    assert_eq!(direct, two_step);
    // Hand order: cart grows twice as fast as list; the flat proxies get no date.
    let order: Vec<&str> = direct.lines().skip(1).map(|l| l.split(',').next().unwrap()).collect();
    assert_eq!(&order[..2], ["shop/cart", "shop/list"]);
    // A label the responses lack is the import's one-line error, exit 2.
    let o = meshcap()
        .args(["fleet", "--labels", "namespace,node", "--memory-file"])
        .arg(&m)
        .arg("--ports-file")
        .arg(&p)
        .output()
        .unwrap();
    let err = one_line_error(&o);
    assert!(err.contains("lacks the label \"node\""), "{err}");
    // SERIES and --memory-file exclude each other; --ports-file needs --memory-file.
    for args in
        [vec![csv.as_os_str(), "--memory-file".as_ref(), m.as_os_str()], vec!["--ports-file".as_ref(), p.as_os_str()]]
    {
        let o = meshcap().arg("fleet").args(args).output().unwrap();
        assert_eq!(o.status.code(), Some(2), "{}", String::from_utf8_lossy(&o.stderr));
    }
}

/// Findings of a hostile run against the fleet paths: each now a named refusal or warning.
#[test]
fn probe_findings_are_named_and_bounded() {
    let dir = tempdir();
    let d = dir.path();
    // A proxy whose memory is NaN only is named in a warning, not dropped silently.
    let nan = pts(8, |_| f64::NAN);
    let ok = pts(8, |k| (100 + k) as f64 * MI);
    let mem = body(&[
        (r#""namespace":"shop","pod":"gone","container":"istio-proxy""#, &nan),
        (r#""namespace":"shop","pod":"cart","container":"istio-proxy""#, &ok),
    ]);
    let ports = body(&[
        (r#""namespace":"shop","pod":"gone""#, &pts(8, |_| 16.0)),
        (r#""namespace":"shop","pod":"cart""#, &pts(8, |_| 16.0)),
    ]);
    let (o, _) = import(d, &mem, &ports, &[]);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let said = String::from_utf8_lossy(&o.stdout).to_string() + &String::from_utf8_lossy(&o.stderr);
    assert!(said.contains("no finite sample") && said.contains("shop/gone"), "{said}");
    let p = d.join("ports.json");
    // /dev/zero as a response: refused at the 512 MiB cap of a device, not the 4 GiB of a file.
    let o = meshcap().args(["fleet", "--memory-file", "/dev/zero", "--ports-file"]).arg(&p).output().unwrap();
    let err = one_line_error(&o);
    assert!(err.contains("/dev/zero") && err.contains("larger than 512 MiB"), "{err}");
    // A 100 KB cell is not echoed whole: the message keeps its start and its end (the file).
    let mut text = String::from("revisions,memory\n1,100Mi\n2,110Mi\n3,");
    text.push_str(&"9".repeat(100_000));
    text.push('\n');
    let f = write(d, "long.csv", &text);
    let err = one_line_error(&meshcap().arg("fit").arg(&f).output().unwrap());
    assert!(err.len() < 2500 && err.contains("characters left out") && err.contains("long.csv:4"), "{}", err.len());
}
