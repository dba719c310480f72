//! The bad-input suite, kept (issue 13 §6): every command x each of its inputs x {named as its
//! own output, a folder, `/dev/zero`, an empty file, a huge number, a wrong type, a repeated
//! key, control characters}. Each case asserts exit code 2, one error line naming the file,
//! no control character printed raw, every file in the folder unchanged (bytes before and
//! after) and nothing left behind, within a bound on time (a hang fails, it does not block).

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::time::Duration;

use crate::util::{meshcap, one_line_error, root, seed_data, seed_model, tempdir};

/// The inputs a case can damage, by file name.
const DATA: &str = "data.csv";
const MODEL: &str = "model.json";
const SPEC: &str = "spec.toml";
const TOPOLOGY: &str = "topology.toml";
const GRAFANA: &str = "grafana.csv";
const KUBECTL: &str = "kubectl.json";
const PROMETHEUS: &str = "memory.json";
const ISTIOCTL: &str = "dump.json";
const FRAMES: &str = "frames.json";
const READINGS: &str = "readings.csv";
const SHARD: &str = "part-1.csv";
/// A fleet's long form and its topology (issue 21: the fleet paths).
const FLEET: &str = "fleet.csv";
const FLEET_TOPOLOGY: &str = "fleet-topology.toml";
/// A saved `import traffic` answer (issue 20 §1).
const TRAFFIC: &str = "requests.json";

/// Each command with its inputs; `{name}` stands for the file `name` in the case's folder,
/// `{out}` for a fresh output path there. The last element is how the command names its
/// output (`-o`/`--out`), if it writes one.
type Command = (&'static str, &'static [&'static str], &'static [&'static str], Option<&'static str>);

const COMMANDS: &[Command] = &[
    ("fit", &["fit", "{data.csv}", "-o", "{out}"], &[DATA], Some("-o")),
    ("show", &["show", "{model.json}"], &[MODEL], None),
    ("safe", &["safe", "--model", "{model.json}", "--limit", "1Gi"], &[MODEL], None),
    ("whatif", &["whatif", "--model", "{model.json}", "--revisions", "100"], &[MODEL], None),
    ("limit", &["limit", "--model", "{model.json}", "--revisions", "100"], &[MODEL], None),
    ("scope", &["scope", "--model", "{model.json}", "--topology", "{topology.toml}"], &[MODEL, TOPOLOGY], None),
    ("sweep", &["sweep", "{spec.toml}", "-q", "-o", "{out}"], &[SPEC, MODEL], Some("-o")),
    ("simulate", &["simulate", "{spec.toml}", "-q", "-o", "{out}"], &[SPEC, MODEL], Some("-o")),
    ("merge", &["merge", "{part-0.csv}", "{part-1.csv}", "-o", "{out}"], &[SHARD], Some("-o")),
    (
        "plot",
        &["plot", "fit", "--data", "{data.csv}", "--model", "{model.json}", "-o", "{out}"],
        &[DATA, MODEL],
        Some("-o"),
    ),
    (
        "report",
        &["report", "--data", "{data.csv}", "--topology", "{topology.toml}", "--spec", "{spec.toml}", "--out", "{out}"],
        &[DATA, TOPOLOGY, SPEC, MODEL],
        Some("--out"),
    ),
    (
        "import prometheus",
        &["import", "prometheus", "--memory-file", "{memory.json}", "--ports-file", "{ports.json}", "-o", "{out}"],
        &[PROMETHEUS],
        Some("-o"),
    ),
    (
        "import grafana",
        &["import", "grafana", "{grafana.csv}", "--memory", "istio-proxy", "--ports", "active_clusters", "-o", "{out}"],
        &[GRAFANA],
        Some("-o"),
    ),
    ("import kubectl", &["import", "kubectl", "{kubectl.json}", "-o", "{out}"], &[KUBECTL], Some("-o")),
    (
        "import traffic",
        &["import", "traffic", "--requests-file", "{requests.json}", "-o", "{out}"],
        &[TRAFFIC],
        Some("-o"),
    ),
    (
        "import istioctl",
        &["import", "istioctl", "{dump.json}", "--format", "json", "-o", "{out}"],
        &[ISTIOCTL],
        Some("-o"),
    ),
    (
        "import grafana --by",
        &[
            "import",
            "grafana",
            "--by",
            "namespace,pod",
            "{grafana-fleet-memory.csv}",
            "{frames.json}",
            "--memory",
            "grafana-fleet-memory.csv",
            "--ports",
            "frames.json",
            "-o",
            "{out}",
        ],
        &[FRAMES],
        Some("-o"),
    ),
    (
        "import istioctl --readings",
        &["import", "istioctl", "{fleet-dump.json}", "--readings", "{readings.csv}", "-o", "{out}"],
        &[READINGS],
        Some("-o"),
    ),
    ("clean", &["clean", "{data.csv}", "-o", "{out}"], &[DATA], Some("-o")),
    (
        "fleet --topology",
        &["fleet", "{fleet.csv}", "--topology", "{fleet-topology.toml}", "--scope", "namespace", "-o", "{out}"],
        &[FLEET, FLEET_TOPOLOGY],
        Some("-o"),
    ),
    ("plot fleet-days", &["plot", "fleet-days", "--data", "{fleet.csv}", "-o", "{out}"], &[FLEET], Some("-o")),
    (
        "report --fleet",
        &["report", "--topology", "none", "--fleet", "{fleet.csv}", "--out", "{out}"],
        &[FLEET],
        Some("--out"),
    ),
];

/// The hostile classes.
#[derive(Debug, Clone, Copy, PartialEq)]
enum Hostile {
    OutputIsInput,
    /// `-o` naming a folder (for `report --out`, a file).
    OutputIsFolder,
    Folder,
    DevZero,
    Empty,
    HugeNumber,
    WrongType,
    RepeatedKey,
    ControlCharacters,
    /// A long form's time in unix milliseconds (read as seconds: dates 1,000x too late).
    Milliseconds,
    /// A long form's memory as a bare number of KiB (every date 1,024x too late).
    BareKib,
}

/// A small spec over the case folder's model.
fn spec_text(dir: &Path) -> String {
    format!(
        "model = {:?}\n[mesh]\ngateways = 1\n[axes]\nnamespaces = [2]\nknative_services = [5]\nupdates_per_day = [1, 5]\nlimit = [\"1Gi\", \"2Gi\"]\n[simulate]\nhorizon_days = 10\npaths = 10\n",
        dir.join(MODEL).display().to_string()
    )
}

const ISTIOCTL_DUMP: &str = r#"{"configs":[{"@type":"type.googleapis.com/envoy.admin.v3.ClustersConfigDump","dynamic_active_clusters":[{"cluster":{"name":"outbound|80||a.shop.svc.cluster.local"}}]}]}"#;

/// Write the valid inputs every case starts from.
fn base(dir: &Path) {
    let copy = |from: PathBuf, name: &str| std::fs::copy(from, dir.join(name)).map(|_| ()).unwrap();
    copy(seed_data(), DATA);
    copy(seed_model(), MODEL);
    copy(root().join("data/topology-example.toml"), TOPOLOGY);
    copy(root().join("tests/fixtures/grafana-joined-formatted.csv"), GRAFANA);
    copy(root().join("tests/fixtures/kubectl-knative-list.json"), KUBECTL);
    copy(root().join("data/campaign/memory.json"), PROMETHEUS);
    copy(root().join("data/campaign/ports.json"), "ports.json");
    copy(root().join("tests/fixtures/traffic-requests.json"), TRAFFIC);
    std::fs::write(dir.join(ISTIOCTL), ISTIOCTL_DUMP).unwrap();
    copy(root().join("tests/fixtures/grafana-fleet-memory.csv"), "grafana-fleet-memory.csv");
    copy(root().join("tests/fixtures/grafana-fleet-ports.json"), FRAMES);
    std::fs::write(
        dir.join("fleet-dump.json"),
        crate::fleet_sources::config_dump("shop", "cart", "2026-01-01T00:00:00Z", 2),
    )
    .unwrap();
    std::fs::write(dir.join(READINGS), "dump,time,memory\nfleet-dump.json,2026-01-01T00:00:00Z,100Mi\n").unwrap();
    std::fs::write(dir.join(FLEET), crate::fleet_mesh::series()).unwrap();
    std::fs::write(dir.join(FLEET_TOPOLOGY), crate::fleet_mesh::topology()).unwrap();
    std::fs::write(dir.join(SPEC), spec_text(dir)).unwrap();
    for k in 0..2 {
        let part = dir.join(format!("part-{k}.csv"));
        meshcap()
            .arg("sweep")
            .arg(dir.join(SPEC))
            .args(["-q", "--shard", &format!("{k}/2"), "-o"])
            .arg(part)
            .assert()
            .success();
    }
}

/// Replace `text`'s first `from` with `to`, insisting it is there (the fixtures are known).
fn edit(text: &str, from: &str, to: &str) -> Vec<u8> {
    assert!(text.contains(from), "{from:?} not in the fixture");
    text.replacen(from, to, 1).into_bytes()
}

/// The damaged content of input `name` for a content class (None: the class does not apply).
fn damaged(dir: &Path, name: &str, class: Hostile) -> Option<Vec<u8>> {
    let text = std::fs::read_to_string(dir.join(name)).unwrap();
    let esc = "\u{1b}[31mred\u{1b}[0m";
    Some(match (name, class) {
        (_, Hostile::Empty) => Vec::new(),
        (DATA, Hostile::HugeNumber) => edit(&text, "\n0,", "\n1e999,"),
        (DATA, Hostile::WrongType) => edit(&text, "\n0,", "\nmany,"),
        (DATA, Hostile::RepeatedKey) => edit(&text, "revisions,memory", "revisions,memory,revisions"),
        (DATA, Hostile::ControlCharacters) => edit(&text, "\n0,", &format!("\n{esc},")),
        (MODEL, Hostile::HugeNumber) => edit(&text, "\"residual_std_error\":", "\"residual_std_error\": 1e308, \"x\":"),
        (MODEL, Hostile::WrongType) => edit(&text, "\"n\": 11", "\"n\": \"eleven\""),
        (MODEL, Hostile::RepeatedKey) => edit(&text, "\"level\": 0.95,", "\"level\": 0.95, \"level\": 0.5,"),
        (MODEL, Hostile::ControlCharacters) => edit(&text, "\"method\": \"", "\"method\": \"\\u001b[31m"),
        (SPEC, Hostile::HugeNumber) => edit(&text, "namespaces = [2]", "namespaces = [1e300]"),
        (SPEC, Hostile::WrongType) => edit(&text, "namespaces = [2]", "namespaces = [\"two\"]"),
        (SPEC, Hostile::RepeatedKey) => edit(&text, "namespaces = [2]", "namespaces = [2]\nnamespaces = [3]"),
        (SPEC, Hostile::ControlCharacters) => edit(&text, "limit = [\"1Gi\"", &format!("limit = [\"1Gi{esc}\"")),
        (TOPOLOGY, Hostile::HugeNumber) => edit(&text, "revisions = 21", "revisions = 1e300"),
        (TOPOLOGY, Hostile::WrongType) => edit(&text, "sidecars = false", "sidecars = \"no\""),
        (TOPOLOGY, Hostile::RepeatedKey) => edit(&text, "sidecars = false", "sidecars = false\nsidecars = true"),
        (TOPOLOGY, Hostile::ControlCharacters) => {
            edit(&text, "namespace = \"istio-system\"", &format!("namespace = \"istio-system{esc}\""))
        }
        (GRAFANA, Hostile::HugeNumber) => edit(&text, ",51.1 MiB,", ",1e999 MiB,"),
        (GRAFANA, Hostile::WrongType) => edit(&text, ",51.1 MiB,", ",lots,"),
        (GRAFANA, Hostile::RepeatedKey) => {
            let memory = text.lines().next().unwrap().split(',').nth(1).unwrap().to_string();
            edit(&text, "\"envoy_cluster_manager_active_clusters\"", &memory)
        }
        (GRAFANA, Hostile::ControlCharacters) => edit(&text, ",51.1 MiB,", &format!(",{esc},")),
        (KUBECTL, Hostile::HugeNumber) => edit(&text, "\"generation\": 1", "\"generation\": 1e999"),
        (KUBECTL, Hostile::WrongType) => edit(&text, "\"items\": [", "\"items\": 7, \"x\": ["),
        (KUBECTL, Hostile::RepeatedKey) => {
            edit(&text, "\"apiVersion\": \"v1\",", "\"apiVersion\": \"v1\", \"apiVersion\": \"v2\",")
        }
        (KUBECTL, Hostile::ControlCharacters) => edit(&text, "\"name\": \"shop\"", "\"name\": \"sh\\u001bop\""),
        // 1e999 would be +Inf, which Prometheus itself reports (dropped and counted, not refused).
        (PROMETHEUS, Hostile::HugeNumber) => edit(&text, "\"74886764\"", "\"1e300\""),
        (PROMETHEUS, Hostile::WrongType) => edit(&text, "\"matrix\"", "{\"kind\": \"matrix\"}"),
        (PROMETHEUS, Hostile::RepeatedKey) => {
            edit(&text, "\"status\":\"success\"", "\"status\":\"success\",\"status\":\"error\"")
        }
        (PROMETHEUS, Hostile::ControlCharacters) => edit(&text, "\"74886764\"", "\"\\u001b[31m\""),
        (ISTIOCTL, Hostile::HugeNumber) => edit(&text, "\"configs\":[", "\"configs\":[1e999,"),
        (ISTIOCTL, Hostile::WrongType) => edit(&text, "\"configs\":[", "\"configs\":7,\"x\":["),
        (ISTIOCTL, Hostile::RepeatedKey) => edit(&text, "\"configs\":", "\"configs\":[],\"configs\":"),
        (ISTIOCTL, Hostile::ControlCharacters) => edit(&text, "||a.shop", "||a\\u001b[31m.shop"),
        (FRAMES, Hostile::HugeNumber) => edit(&text, "1767225600000,", "1e999,"),
        (FRAMES, Hostile::WrongType) => edit(&text, "\"values\": [", "\"values\": 7, \"x\": ["),
        (FRAMES, Hostile::RepeatedKey) => edit(&text, "\"refId\": \"A\"", "\"refId\": \"A\", \"refId\": \"B\""),
        (FRAMES, Hostile::ControlCharacters) => edit(&text, "\"pod\": \"api\"", "\"pod\": \"a\\u001b[31mpi\""),
        (READINGS, Hostile::HugeNumber) => edit(&text, ",100Mi", ",1e999Mi"),
        (READINGS, Hostile::WrongType) => edit(&text, ",2026-01-01T00:00:00Z,", ",soon,"),
        (READINGS, Hostile::RepeatedKey) => edit(&text, "dump,time,memory", "dump,time,memory,time"),
        (READINGS, Hostile::ControlCharacters) => edit(&text, "fleet-dump.json,", &format!("fleet{esc}-dump.json,")),
        (SHARD, Hostile::HugeNumber) => {
            let second = text.lines().nth(2).unwrap();
            let id = second.split(',').next().unwrap();
            edit(&text, &format!("\n{second}"), &format!("\n{}", second.replacen(id, "1e999", 1)))
        }
        (SHARD, Hostile::WrongType) => edit(&text, "\"grid_size\":", "\"grid_size\":\"many\",\"x\":"),
        (SHARD, Hostile::RepeatedKey) => edit(&text, "\"grid_size\":", "\"ids\":[0,1],\"grid_size\":"),
        (SHARD, Hostile::ControlCharacters) => {
            edit(&text, "{\"meshcap_shard\":\"1/2\"", &format!("{{\"meshcap_shard\":\"{esc}\""))
        }
        (FLEET, Hostile::HugeNumber) => edit(&text, "\nshop/web-1,1767225600,", "\nshop/web-1,1e999,"),
        (FLEET, Hostile::WrongType) => edit(&text, "\nshop/web-1,1767225600,", "\nshop/web-1,soon,"),
        (FLEET, Hostile::RepeatedKey) => {
            edit(&text, "proxy,time,memory,ports,limit", "proxy,time,memory,ports,limit,ports")
        }
        (FLEET, Hostile::ControlCharacters) => edit(&text, "\nshop/web-1,", &format!("\nshop/w{esc}eb-1,")),
        (FLEET, Hostile::Milliseconds) => edit(&text, "\nshop/web-1,1767225600,", "\nshop/web-1,1767225600000,"),
        (FLEET, Hostile::BareKib) => {
            let first = text.lines().nth(1).unwrap();
            let memory: f64 = first.split(',').nth(2).unwrap().parse().unwrap();
            let kib = first.replacen(&format!(",{memory:.0},"), &format!(",{:.0},", memory / 1024.0), 1);
            edit(&text, first, &kib)
        }
        (FLEET_TOPOLOGY, Hostile::HugeNumber) => edit(&text, "revisions = 11", "revisions = 1e300"),
        (FLEET_TOPOLOGY, Hostile::WrongType) => edit(&text, "sidecars = true", "sidecars = \"yes\""),
        (FLEET_TOPOLOGY, Hostile::RepeatedKey) => edit(&text, "sidecars = true", "sidecars = true\nsidecars = false"),
        (FLEET_TOPOLOGY, Hostile::ControlCharacters) => {
            edit(&text, "name = \"cart\"", &format!("name = \"ca{esc}rt\""))
        }
        (TRAFFIC, Hostile::HugeNumber) => edit(&text, "\"612488\"", "\"1e300\""),
        (TRAFFIC, Hostile::WrongType) => edit(&text, "\"vector\"", "{\"kind\":\"vector\"}"),
        (TRAFFIC, Hostile::RepeatedKey) => {
            edit(&text, "\"status\":\"success\"", "\"status\":\"success\",\"status\":\"error\"")
        }
        (TRAFFIC, Hostile::ControlCharacters) => edit(&text, "\"cart-00021-deployment\"", "\"ca\\u001b[31mrt\""),
        _ => return None,
    })
}

/// Every file under `dir`, by relative path: its bytes, a symlink's target, or a folder mark.
fn snapshot(dir: &Path) -> BTreeMap<PathBuf, Vec<u8>> {
    let mut out = BTreeMap::new();
    let mut todo = vec![dir.to_path_buf()];
    while let Some(d) = todo.pop() {
        for e in std::fs::read_dir(&d).unwrap() {
            let p = e.unwrap().path();
            let m = std::fs::symlink_metadata(&p).unwrap();
            let key = p.strip_prefix(dir).unwrap().to_path_buf();
            if m.file_type().is_symlink() {
                out.insert(key, std::fs::read_link(&p).unwrap().into_os_string().into_encoded_bytes());
            } else if m.is_dir() {
                out.insert(key, b"<folder>".to_vec());
                todo.push(p);
            } else {
                out.insert(key, std::fs::read(&p).unwrap());
            }
        }
    }
    out
}

/// The command line, `{file}` and `{out}` replaced by paths in `dir`.
fn argv(args: &[&str], dir: &Path, out: &Path) -> Vec<String> {
    args.iter()
        .map(|a| match a.strip_prefix('{').and_then(|a| a.strip_suffix('}')) {
            Some("out") => out.display().to_string(),
            Some(file) => dir.join(file).display().to_string(),
            None => a.to_string(),
        })
        .collect()
}

/// Run one case; `Err` says what went wrong.
fn case(command: &Command, input: &str, class: Hostile) -> Result<bool, String> {
    let (name, args, _, out_flag) = *command;
    let dir = tempdir();
    let d = dir.path();
    base(d);
    let target = d.join(input);
    let mut out = d.join("out");
    let expect: String = match class {
        Hostile::OutputIsInput => {
            if out_flag.is_none() {
                return Ok(false);
            }
            // The report's output is a folder: an input inside it named as a report file.
            if name.starts_with("report") {
                std::fs::create_dir(&out).unwrap();
                std::fs::rename(&target, out.join("report.md")).unwrap();
                std::os::unix::fs::symlink(out.join("report.md"), &target).unwrap();
            } else {
                // Through a `..` path, so the names differ and only the identity matches.
                out = d.join("sub/..").join(input);
                std::fs::create_dir(d.join("sub")).unwrap();
            }
            "is an input".into()
        }
        Hostile::OutputIsFolder => {
            // Once per command (its first input), with an old output of the same name kept.
            if out_flag.is_none() || input != command.2[0] {
                return Ok(false);
            }
            if name.starts_with("report") {
                std::fs::write(&out, "not a folder").unwrap();
                "is a file".into()
            } else {
                std::fs::create_dir(&out).unwrap();
                std::fs::write(out.join("old"), "kept").unwrap();
                "is a folder".into()
            }
        }
        Hostile::Folder => {
            std::fs::remove_file(&target).unwrap();
            std::fs::create_dir(&target).unwrap();
            input.into()
        }
        Hostile::DevZero => {
            std::fs::remove_file(&target).unwrap();
            std::os::unix::fs::symlink("/dev/zero", &target).unwrap();
            // Refused by a size: "larger than 512 MiB" (read whole) or, for a series read in
            // blocks, "line 1 is longer than 64 MiB".
            "MiB".into()
        }
        _ => match damaged(d, input, class) {
            Some(bytes) => {
                std::fs::write(&target, bytes).unwrap();
                input.into()
            }
            None => return Ok(false),
        },
    };
    let before = snapshot(d);
    let run = meshcap().args(argv(args, d, &out)).timeout(Duration::from_secs(60)).output().unwrap();
    let what = format!("{name} with {input} as {class:?}");
    let stderr = String::from_utf8_lossy(&run.stderr).to_string();
    if run.status.code() != Some(2) {
        return Err(format!("{what}: exit {:?} (2 wanted): {}", run.status.code(), stderr.trim_end()));
    }
    let err =
        std::panic::catch_unwind(|| one_line_error(&run)).map_err(|_| format!("{what}: not one line: {stderr}"))?;
    if !err.contains(expect.as_str()) {
        return Err(format!("{what}: {expect:?} not in {}", err.trim_end()));
    }
    if err.trim_end().chars().any(char::is_control) {
        return Err(format!("{what}: a control character printed raw: {err:?}"));
    }
    if snapshot(d) != before {
        return Err(format!("{what}: files changed or left behind"));
    }
    Ok(true)
}

/// Cases known to fail, with why and the failure they show: each is still run and must still
/// fail in exactly that way, so a fix shows up here (remove the entry) and any other failure of
/// the same case is reported as one (issue 21: the gap used to excuse every failure of its case).
const KNOWN_GAPS: &[(&str, &str, Hostile, &str, &str)] = &[(
    "import kubectl",
    KUBECTL,
    Hostile::ControlCharacters,
    "object names are not checked as DNS-1123 labels: a namespace \"sh\\u{1b}op\" becomes a sixth namespace (issue 11's importer)",
    "exit Some(0) (2 wanted)",
)];

/// Every command x each of its inputs under `class`; returns the number of cases run (those
/// the class applies to), after printing it.
fn all(class: Hostile) -> usize {
    let mut failures = Vec::new();
    let (mut ran, mut gaps) = (0, 0);
    for command in COMMANDS {
        for input in command.2 {
            let result = case(command, input, class);
            let gap = KNOWN_GAPS.iter().find(|g| g.0 == command.0 && g.1 == *input && g.2 == class);
            ran += usize::from(!matches!(result, Ok(false)));
            match (result, gap) {
                (Err(e), None) => failures.push(e),
                (Err(e), Some(g)) if e.contains(g.4) => gaps += 1,
                (Err(e), Some(g)) => failures.push(format!("{e} (not the known gap's failure {:?})", g.4)),
                (Ok(_), Some(g)) => failures
                    .push(format!("{} with {input} as {class:?} passes now: remove it from KNOWN_GAPS ({})", g.0, g.3)),
                (Ok(_), None) => {}
            }
        }
    }
    eprintln!("{class:?}: {ran} cases, {} known gaps", gaps);
    assert!(failures.is_empty(), "{} of {ran} {class:?} cases failed:\n{}", failures.len(), failures.join("\n"));
    assert!(ran > 0, "no {class:?} case ran");
    ran
}

#[test]
fn every_command_runs_on_the_undamaged_inputs() {
    // Otherwise a case could fail for a reason that has nothing to do with its damage.
    for (name, args, _, _) in COMMANDS {
        let dir = tempdir();
        let d = dir.path();
        base(d);
        let run = meshcap().args(argv(args, d, &d.join("out"))).timeout(Duration::from_secs(60)).output().unwrap();
        assert!(run.status.success(), "{name}: {}", String::from_utf8_lossy(&run.stderr));
    }
}

#[test]
fn an_input_named_as_the_output_is_refused() {
    all(Hostile::OutputIsInput);
}

#[test]
fn a_folder_as_the_output_is_refused() {
    all(Hostile::OutputIsFolder);
}

#[test]
fn a_folder_as_an_input_is_refused() {
    all(Hostile::Folder);
}

#[test]
fn dev_zero_as_an_input_is_refused_by_its_size() {
    all(Hostile::DevZero);
}

#[test]
fn an_empty_input_is_refused() {
    all(Hostile::Empty);
}

#[test]
fn a_huge_number_is_refused() {
    all(Hostile::HugeNumber);
}

#[test]
fn a_wrong_type_is_refused() {
    all(Hostile::WrongType);
}

#[test]
fn a_repeated_key_is_refused() {
    all(Hostile::RepeatedKey);
}

#[test]
fn control_characters_are_refused_and_escaped() {
    all(Hostile::ControlCharacters);
}

#[test]
fn millisecond_times_are_refused() {
    all(Hostile::Milliseconds);
}

#[test]
fn bare_kib_memory_is_refused() {
    all(Hostile::BareKib);
}

/// Left from the hostile-input run of stop 26: a byte order mark before the header (Excel's
/// "CSV UTF-8" writes one) is read past, by both CSV readers; a proxy name holding a
/// bidirectional override (it reorders a table's cells on screen, CVE-2021-42574) or a
/// zero-width character is refused naming its line; a time before 1970 is refused.
#[test]
fn a_bom_is_read_past_and_invisible_characters_and_pre_1970_times_are_refused() {
    let dir = crate::util::tempdir();
    let plain = "time,proxy,ports,memory\n1767225600,ns/a,100,100000000\n1767225900,ns/a,120,101000000\n";
    let quoted = "time,proxy,ports,memory\n1767225600,\"ns/a\",100,100000000\n1767225900,\"ns/a\",120,101000000\n";
    let want = meshcap::series::Series::load(&crate::util::write(dir.path(), "plain.csv", plain)).unwrap();
    for (name, text) in [("bom.csv", plain), ("bom-quoted.csv", quoted)] {
        let path = crate::util::write(dir.path(), name, &format!("\u{feff}{text}"));
        let got = meshcap::series::Series::load(&path).unwrap_or_else(|e| panic!("{name}: {e}"));
        let names = |s: &meshcap::series::Series| s.columns.iter().map(|c| c.name.clone()).collect::<Vec<_>>();
        assert_eq!(names(&got), names(&want), "{name}");
        assert_eq!(got.column("memory").unwrap().values(), want.column("memory").unwrap().values(), "{name}");
        assert_eq!(got.rows.times(), want.rows.times(), "{name}");
    }
    for (c, shown) in [('\u{202E}', "U+202E"), ('\u{2067}', "U+2067"), ('\u{200B}', "U+200B")] {
        let text =
            format!("time,proxy,ports,memory\n1767225600,ns/a,100,100000000\n1767225900,ns/{c}b,120,101000000\n");
        let path = crate::util::write(dir.path(), "bidi.csv", &text);
        let err = crate::util::fails(crate::util::meshcap().arg("fit").arg(&path), 2);
        assert!(err.contains("bidi.csv:3:proxy") && err.contains(shown) && !err.contains(c), "{err}");
    }
    let path = crate::util::write(dir.path(), "old.csv", "time,ports,memory\n-86400,100,100000000\n0,120,101000000\n");
    let err = crate::util::fails(crate::util::meshcap().arg("fit").arg(&path), 2);
    assert!(err.contains("old.csv:2:time") && err.contains("before 1970"), "{err}");
}
