//! `import prometheus` from saved query_range responses, and against a scripted HTTP server
//! for what a real Prometheus will not easily do on demand: auth headers, 503s, timeouts.

use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::time::Duration;

use crate::util::{fails, live, meshcap, one_line_error, root, tempdir, write, Heads};

/// A query_range body with one series per `(labels, points)`.
pub(crate) fn body(series: &[(&str, Vec<(f64, String)>)]) -> String {
    let result: Vec<String> = series
        .iter()
        .map(|(labels, pts)| {
            let vals: Vec<String> = pts.iter().map(|(t, v)| format!("[{t},\"{v}\"]")).collect();
            format!("{{\"metric\":{{{labels}}},\"values\":[{}]}}", vals.join(","))
        })
        .collect();
    format!("{{\"status\":\"success\",\"data\":{{\"resultType\":\"matrix\",\"result\":[{}]}}}}", result.join(","))
}

fn pts(n: usize, f: impl Fn(usize) -> f64) -> Vec<(f64, String)> {
    (0..n).map(|k| (1_767_225_600.0 + 30.0 * k as f64, format!("{}", f(k)))).collect()
}

fn files(dir: &Path) -> (PathBuf, PathBuf) {
    let mem = write(dir, "mem.json", &body(&[(r#""pod":"a""#, pts(20, |k| 52428800.0 + 98304.0 * (100 * k) as f64))]));
    let ports = write(dir, "ports.json", &body(&[(r#""pod":"a""#, pts(20, |k| (100 * k) as f64))]));
    (mem, ports)
}

#[test]
fn saved_responses_make_a_series_that_fits_exactly() {
    let dir = tempdir();
    let (mem, ports) = files(dir.path());
    let out = dir.path().join("s.csv");
    meshcap()
        .args(["import", "prometheus", "--limit", "1Gi", "--memory-file"])
        .arg(&mem)
        .arg("--ports-file")
        .arg(&ports)
        .arg("-o")
        .arg(&out)
        .assert()
        .success();
    let text = std::fs::read_to_string(&out).unwrap();
    assert!(text.contains("time,ports,memory,limit\n2026-01-01T00:00:00Z,0,52428800,1073741824\n"), "{text}");
    let fit = crate::util::json(meshcap().arg("fit").arg(&out).args(["--format", "json"]));
    assert!((fit["coefficients"][1]["estimate"].as_f64().unwrap() - 98304.0).abs() < 1e-6);
    // The inputs are never modified.
    assert!(std::fs::read_to_string(&mem).unwrap().starts_with("{\"status\":\"success\""));
}

#[test]
fn several_series_refused_unless_filtered_or_aggregated() {
    let Some(excerpt) = real("prometheus-query-range-up.prometheus-doc-excerpt.json") else { return };
    let dir = tempdir();
    // The doc excerpt: `up` for job=prometheus and job=node, three samples 15 s apart.
    let ports = write(
        dir.path(),
        "p.json",
        &body(&[(
            r#""job":"node""#,
            vec![(1435781430.781, "8".into()), (1435781445.781, "16".into()), (1435781460.781, "24".into())],
        )]),
    );
    let run = |extra: &[&str]| {
        meshcap()
            .args(["import", "prometheus", "--memory-file"])
            .arg(&excerpt)
            .arg("--ports-file")
            .arg(&ports)
            .args(extra)
            .assert()
    };
    let err = one_line_error(run(&[]).code(2).get_output());
    assert!(err.contains("returned 2 series: {__name__=\"up\", instance=\"localhost:9090\", job=\"prometheus\"} {__name__=\"up\", instance=\"localhost:9091\", job=\"node\"}"), "{err}");
    assert!(err.contains("--select LABEL=VALUE") && err.contains("--aggregate max|sum|mean"), "{err}");
    let out = run(&["--select", "job=node"]).success().get_output().stdout.clone();
    let text = String::from_utf8(out).unwrap();
    // Millisecond timestamps survive; values are the job=node series.
    assert!(text.contains("time,ports,memory\n2015-07-01T20:10:30.781Z,8,0\n2015-07-01T20:10:45.781Z,16,0\n2015-07-01T20:11:00.781Z,24,1\n"), "{text}");
    let out = run(&["--aggregate", "sum"]).success().get_output().stdout.clone();
    assert!(String::from_utf8(out)
        .unwrap()
        .ends_with(",8,1\n2015-07-01T20:10:45.781Z,16,1\n2015-07-01T20:11:00.781Z,24,2\n"));
    let err = one_line_error(run(&["--aggregate", "median"]).code(2).get_output());
    assert!(err.contains("\"median\""), "{err}");
    let err = one_line_error(run(&["--select", "job"]).code(2).get_output());
    assert!(err.contains("--select must be LABEL=VALUE"), "{err}");
}

fn real(name: &str) -> Option<PathBuf> {
    crate::util::reference(&format!("real-world/{name}"))
}

#[test]
fn nan_inf_warnings_and_misaligned_samples_are_dropped_and_counted() {
    let dir = tempdir();
    let mut mem = pts(10, |k| 5e7 + 1e5 * k as f64);
    mem[3].1 = "NaN".into();
    mem[4].1 = "+Inf".into();
    let mem = body(&[(r#""pod":"a""#, mem)]).replace(
        "\"status\":\"success\"",
        "\"status\":\"success\",\"warnings\":[\"PromQL info: metric might not be a counter\"]",
    );
    let mem = write(dir.path(), "mem.json", &mem);
    // Ports 7 s late except one 20 s late (more than half the 30 s step): dropped, counted.
    let ports: Vec<(f64, String)> = (0..10)
        .map(|k| (1_767_225_600.0 + 30.0 * k as f64 + if k == 6 { 20.0 } else { 7.0 }, format!("{}", 8 * k)))
        .collect();
    let ports = write(dir.path(), "ports.json", &body(&[(r#""pod":"a""#, ports)]));
    let out = meshcap()
        .args(["import", "prometheus", "--format", "json", "-o"])
        .arg(dir.path().join("o.csv"))
        .arg("--memory-file")
        .arg(&mem)
        .arg("--ports-file")
        .arg(&ports)
        .assert()
        .success()
        .get_output()
        .stdout
        .clone();
    let report: serde_json::Value = serde_json::from_slice(&out).unwrap();
    assert_eq!(report["non_finite"]["memory"], 2);
    assert_eq!(report["dropped_misaligned"]["ports"], 1);
    assert_eq!(report["rows"], 7);
    assert!(report["warnings"][0].as_str().unwrap().contains("might not be a counter"));
    let text = std::fs::read_to_string(dir.path().join("o.csv")).unwrap();
    assert!(
        text.contains("# dropped 1 memory samples with no ports sample within 15 s")
            && text.contains("# dropped 2 NaN/Inf points of memory"),
        "{text}"
    );
}

#[test]
fn bad_saved_responses() {
    let dir = tempdir();
    let (mem, ports) = files(dir.path());
    let run = |m: &Path| {
        fails(meshcap().args(["import", "prometheus", "--memory-file"]).arg(m).arg("--ports-file").arg(&ports), 2)
    };
    let f = write(
        dir.path(),
        "err.json",
        r#"{"status":"error","errorType":"bad_data","error":"1:5: parse error: unexpected \")\""}"#,
    );
    let err = run(&f);
    assert!(err.contains("err.json: Prometheus answered bad_data: 1:5: parse error"), "{err}");
    let f = write(dir.path(), "trunc.json", &std::fs::read_to_string(&mem).unwrap()[..120]);
    let err = run(&f);
    assert!(err.contains("trunc.json: malformed JSON at byte 120"), "{err}");
    let f = write(dir.path(), "val.json", &body(&[("", vec![(1.0, "12MB".into())])]));
    let err = run(&f);
    assert!(err.contains("val.json: not a Prometheus API response at byte") && err.contains("\"12MB\""), "{err}");
    let f = write(dir.path(), "scalar.json", r#"{"status":"success","data":{"resultType":"scalar","result":[1,"2"]}}"#);
    assert!(run(&f).contains("resultType is \"scalar\""));
    let f = write(dir.path(), "empty.json", r#"{"status":"success","data":{"resultType":"matrix","result":[]}}"#);
    assert!(run(&f).contains("returned no series"));
    let f = write(dir.path(), "neg.json", &body(&[("", pts(3, |_| -1.0))]));
    assert!(run(&f).contains("memory is -1 at 2026-01-01T00:00:00Z: memory cannot be negative"));
    // Usage errors.
    let err = fails(meshcap().args(["import", "prometheus", "--memory", "x", "--ports", "y"]), 2);
    assert!(err.contains("queries need --url"));
    let err = fails(meshcap().args(["import", "prometheus", "--memory-file"]).arg(&mem), 2);
    assert!(err.contains("revisions or ports"));
    let err = fails(
        meshcap().args([
            "import",
            "prometheus",
            "--url",
            "http://127.0.0.1:9",
            "--memory",
            "x",
            "--ports",
            "y",
            "--start",
            "now-1h",
            "--step",
            "30q",
        ]),
        2,
    );
    assert!(err.contains("\"30q\""));
    let err = fails(
        meshcap().args([
            "import",
            "prometheus",
            "--url",
            "http://user:hunter2@127.0.0.1:9",
            "--memory",
            "x",
            "--ports",
            "y",
            "--start",
            "now-1h",
        ]),
        2,
    );
    assert!(err.contains("must not hold credentials") && !err.contains("hunter2"), "{err}");
}

/// What the scripted server does with each request.
#[derive(Clone)]
enum Reply {
    Ok(String),
    Status(u16, String),
    Hang,
}

/// The scripted server answering every request with `reply`.
fn serve(reply: Reply) -> (String, Heads) {
    crate::util::serve(move |_| match &reply {
        Reply::Ok(b) => Some((200, b.clone())),
        Reply::Status(c, b) => Some((*c, b.clone())),
        Reply::Hang => None,
    })
}

#[test]
fn bearer_token_is_sent_and_never_echoed() {
    let one = body(&[("", pts(20, |k| 5e7 + 1e5 * k as f64))]);
    let (url, seen) = serve(Reply::Ok(one));
    let dir = tempdir();
    let out = dir.path().join("s.csv");
    live(&format!("{url}/prometheus"))
        .args(["--bearer-token-env", "MESHCAP_TEST_TOKEN"])
        .env("MESHCAP_TEST_TOKEN", "s3cr3t-token")
        .arg("-o")
        .arg(&out)
        .assert()
        .success();
    let heads = seen.lock().unwrap().clone();
    assert_eq!(heads.len(), 2, "one request per query: {heads:?}");
    assert!(
        heads[0].starts_with(
            "GET /prometheus/api/v1/query_range?query=max%28m%29&start=1767225600&end=1767226170&step=30 "
        ),
        "{}",
        heads[0]
    );
    assert!(
        heads
            .iter()
            .all(|h| h.contains("Authorization: Bearer s3cr3t-token")
                || h.contains("authorization: Bearer s3cr3t-token")),
        "{heads:?}"
    );
    assert!(!std::fs::read_to_string(&out).unwrap().contains("s3cr3t"));
    // Rejected: the error names the variable's flag, not the token.
    let (url, _) = serve(Reply::Status(401, "Unauthorized".into()));
    let err = fails(
        live(&url).args(["--bearer-token-env", "MESHCAP_TEST_TOKEN"]).env("MESHCAP_TEST_TOKEN", "s3cr3t-token"),
        1,
    );
    assert!(err.contains("HTTP 401") && err.contains("--bearer-token-env") && !err.contains("s3cr3t"), "{err}");
    let err = fails(live(&url).args(["--bearer-token-env", "MESHCAP_UNSET_VAR"]).env_remove("MESHCAP_UNSET_VAR"), 2);
    assert!(err.contains("MESHCAP_UNSET_VAR (--bearer-token-env) is not set"));
}

#[test]
fn basic_auth_from_the_environment() {
    let (url, seen) = serve(Reply::Ok(body(&[("", pts(3, |k| k as f64))])));
    live(&url)
        .args(["--basic-auth-env", "MESHCAP_TEST_BASIC"])
        .env("MESHCAP_TEST_BASIC", "grafana:pa55")
        .assert()
        .success();
    let heads = seen.lock().unwrap().clone();
    // base64("grafana:pa55")
    assert!(heads[0].contains("Basic Z3JhZmFuYTpwYTU1"), "{}", heads[0]);
    let err =
        fails(live(&url).args(["--basic-auth-env", "MESHCAP_TEST_BASIC"]).env("MESHCAP_TEST_BASIC", "nocolon"), 2);
    assert!(err.contains("user:password") && !err.contains("nocolon"), "{err}");
}

#[test]
fn server_errors_and_timeouts() {
    let (url, _) =
        serve(Reply::Status(503, r#"{"status":"error","errorType":"unavailable","error":"TSDB not ready"}"#.into()));
    let err = fails(&mut live(&url), 1);
    assert!(err.contains("HTTP 503, unavailable: TSDB not ready"), "{err}");
    let (url, _) = serve(Reply::Status(
        422,
        r#"{"status":"error","errorType":"execution","error":"query processing would load too many samples"}"#.into(),
    ));
    let err = fails(&mut live(&url), 1);
    assert!(err.contains("execution: query processing would load too many samples"), "{err}");
    let (url, _) = serve(Reply::Hang);
    let started = std::time::Instant::now();
    let err = fails(live(&url).args(["--timeout", "1s"]), 1);
    assert!(err.contains("no answer within 1 s (--timeout)"), "{err}");
    assert!(started.elapsed() < Duration::from_secs(4));
    // https to a server that speaks plain HTTP: the TLS handshake fails cleanly (rustls, no
    // system OpenSSL).
    let (url, _) = serve(Reply::Status(400, "not TLS".into()));
    let err = fails(live(&url.replace("http://", "https://")).args(["--timeout", "5s"]), 1);
    assert!(err.contains("cannot query https://127.0.0.1:"), "{err}");
    // Nothing listening.
    let port = TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
    let err = fails(&mut live(&format!("http://127.0.0.1:{port}")), 1);
    assert!(err.contains("cannot query http://127.0.0.1:") && err.to_lowercase().contains("connect"), "{err}");
}

#[test]
fn long_ranges_are_split_into_requests_under_the_point_cap() {
    let (url, seen) = serve(Reply::Ok(body(&[("", pts(3, |k| k as f64))])));
    // 25,000 steps of 1 s: three requests of at most 10,000 steps.
    meshcap()
        .args([
            "import",
            "prometheus",
            "--url",
            &url,
            "--memory",
            "m",
            "--ports",
            "p",
            "--start",
            "0",
            "--end",
            "25000",
            "--step",
            "1s",
        ])
        .assert()
        .success();
    let heads = seen.lock().unwrap().clone();
    assert_eq!(heads.len(), 6, "{heads:?}");
    assert!(
        heads[0].contains("start=0&end=10000&")
            && heads[1].contains("start=10000&end=20000&")
            && heads[2].contains("start=20000&end=25000&"),
        "{heads:?}"
    );
}

#[test]
fn clean_marks_and_reports_and_never_touches_its_input() {
    let dir = tempdir();
    let text = "# a sum over containers\ntime,ports,memory,limit\n\
        2026-01-01T00:00:00Z,100,100Mi,256Mi\n2026-01-01T00:00:30Z,200,150Mi,256Mi\n2026-01-01T00:01:00Z,300,235Mi,256Mi\n\
        2026-01-01T00:01:30Z,300,470Mi,1Gi\n2026-01-01T00:02:00Z,300,468Mi,1Gi\n2026-01-01T00:02:30Z,300,236Mi,1Gi\n2026-01-01T00:03:00Z,400,250Mi,1Gi\n";
    let input = write(dir.path(), "in.csv", text);
    let out = meshcap()
        .arg("clean")
        .arg(&input)
        .arg("-o")
        .arg(dir.path().join("out.csv"))
        .assert()
        .success()
        .get_output()
        .stdout
        .clone();
    let printed = String::from_utf8(out).unwrap();
    assert!(
        printed.contains("line 5: oom (235Mi): OOMKilled: 91.8% of the 256Mi limit just before a restart"),
        "{printed}"
    );
    assert!(printed.contains("line 6: double-count (470Mi): 2.00x the reading before (line 5)"), "{printed}");
    assert!(
        printed.contains(
            "1 restarts, 1 OOMKills (0 recorded, 1 guessed from memory near the limit), 2 double-counted rows kept out of fits"
        ),
        "{printed}"
    );
    assert!(printed.contains("fix: read max by (namespace, pod)"), "{printed}");
    assert_eq!(std::fs::read_to_string(&input).unwrap(), text);
    let cleaned = std::fs::read_to_string(dir.path().join("out.csv")).unwrap();
    assert!(cleaned.contains("2026-01-01T00:01:30Z,300,492830720,1073741824,double-count\n"), "{cleaned}");
    // The fit keeps the marked rows out and the OOM as an observation.
    let fit = crate::util::json(meshcap().arg("fit").arg(dir.path().join("out.csv")).args(["--format", "json"]));
    assert_eq!((fit["n"].as_u64(), fit["source"]["oom_rows"].as_u64()), (Some(4), Some(3)));
    // -o the input itself is refused.
    let err = fails(meshcap().arg("clean").arg(&input).arg("-o").arg(&input), 2);
    assert!(err.contains("is an input: meshcap never modifies its inputs"), "{err}");
    // The seed series has nothing to clean.
    let out = meshcap()
        .arg("clean")
        .arg(crate::util::seed_data())
        .args(["--format", "json", "-o"])
        .arg(dir.path().join("seed.csv"))
        .assert()
        .success()
        .get_output()
        .stdout
        .clone();
    let report: serde_json::Value = serde_json::from_slice(&out).unwrap();
    assert_eq!(report["changes"].as_array().unwrap().len(), 0);
    // An unsorted series is refused with its line.
    let f = write(
        dir.path(),
        "unsorted.csv",
        "time,ports,memory\n2026-01-01T00:01:00Z,1,1Mi\n2026-01-01T00:00:00Z,2,2Mi\n",
    );
    let err = fails(meshcap().arg("clean").arg(&f), 2);
    assert!(err.contains("unsorted.csv:3") && err.contains("not in time order"), "{err}");
}

/// A one-connection-at-a-time HTTPS server (rustls) with the test certificate for 127.0.0.1
/// (`tests/fixtures/tls/`), answering every request with `body`.
fn serve_tls(body: String) -> String {
    use rustls_pki_types::pem::PemObject;
    use rustls_pki_types::{CertificateDer, PrivateKeyDer};
    use std::io::{BufRead, BufReader, Write};
    let dir = root().join("tests/fixtures/tls");
    let certs = vec![CertificateDer::from_pem_file(dir.join("server.pem")).unwrap()];
    let key = PrivateKeyDer::from_pem_file(dir.join("server.key")).unwrap();
    let provider = std::sync::Arc::new(rustls::crypto::ring::default_provider());
    let config = rustls::ServerConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .unwrap()
        .with_no_client_auth()
        .with_single_cert(certs, key)
        .unwrap();
    let config = std::sync::Arc::new(config);
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let url = format!("https://{}", listener.local_addr().unwrap());
    std::thread::spawn(move || {
        for tcp in listener.incoming().flatten() {
            let conn = rustls::ServerConnection::new(config.clone()).unwrap();
            let mut tls = rustls::StreamOwned::new(conn, tcp);
            let mut head = String::new();
            let mut reader = BufReader::new(&mut tls);
            loop {
                let mut line = String::new();
                match reader.read_line(&mut line) {
                    Ok(0) | Err(_) => break,
                    Ok(_) if line == "\r\n" => break,
                    Ok(_) => head.push_str(&line),
                }
            }
            if head.is_empty() {
                continue; // the client refused our certificate
            }
            let _ = write!(tls, "HTTP/1.1 200 OK\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}", body.len());
            tls.conn.send_close_notify();
            let _ = tls.flush();
        }
    });
    url
}

#[test]
fn https_with_a_private_ca() {
    let url = serve_tls(body(&[("", pts(20, |k| 5e7 + 1e5 * k as f64))]));
    // Not trusted by the Mozilla roots: refused, exit 1, one line.
    let err = crate::util::fails(&mut live(&url), 1);
    assert!(err.contains(&format!("cannot query {url}/api/v1/query_range")), "{err}");
    assert!(err.contains("UnknownIssuer") && err.contains("--ca-cert"), "{err}");
    // Trusted with --ca-cert: the same server answers.
    let ca = root().join("tests/fixtures/tls/ca.pem");
    let out = live(&url).arg("--ca-cert").arg(&ca).assert().success().get_output().stdout.clone();
    let text = String::from_utf8(out).unwrap();
    assert!(text.contains(&format!("# imported by meshcap import prometheus from {url}")), "{text}");
    assert_eq!(text.lines().filter(|l| !l.starts_with('#')).count(), 21, "{text}");
    // A file that is not a certificate.
    let dir = tempdir();
    let bad = write(dir.path(), "ca.pem", "not a certificate\n");
    let err = crate::util::fails(live(&url).arg("--ca-cert").arg(&bad), 2);
    assert!(err.contains("ca.pem") && err.contains("no -----BEGIN CERTIFICATE-----"), "{err}");
}
