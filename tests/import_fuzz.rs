//! Every importer takes arbitrary bytes, and real fixtures with random damage, without
//! panicking: it returns a result or an error, nothing else. Bounded: a fixed number of cases
//! per property, small generated inputs.

use std::path::{Path, PathBuf};

use meshcap::import::{grafana, istioctl, kubectl, prometheus, promjson};
use meshcap::series::clean::{clean, CleanSettings};
use proptest::prelude::*;

use crate::util::root;

fn fixtures() -> Vec<(PathBuf, Vec<u8>)> {
    let mut out = Vec::new();
    for dir in [Some(root().join("tests/fixtures")), crate::util::reference("real-world")].into_iter().flatten() {
        let Ok(entries) = std::fs::read_dir(&dir) else {
            eprintln!("skipped mutations of {}: absent", dir.display());
            continue;
        };
        let mut paths: Vec<PathBuf> = entries.filter_map(|e| e.ok().map(|e| e.path())).collect();
        paths.sort();
        for p in paths {
            if p.extension().is_some_and(|e| e == "json" || e == "csv") {
                out.push((p.clone(), std::fs::read(&p).unwrap()));
            }
        }
    }
    out
}

/// Run every importer on `bytes`; only a panic fails.
fn all_importers(bytes: &[u8]) {
    let path = Path::new("fuzz.json");
    if let Ok(r) = promjson::parse(bytes) {
        let _ = r.series.len();
    }
    let _ = istioctl::parse(path, bytes).map(|(c, n)| istioctl::count(&c, n, "cluster.local"));
    if let Ok(inv) = kubectl::inventory(&[(path.to_path_buf(), bytes.to_vec())]) {
        let toml = kubectl::topology_toml(&inv, true, "fuzz");
        let _ = meshcap::mesh::Topology::parse(path, &toml);
    }
    let text = String::from_utf8_lossy(bytes);
    if let Ok(series) = grafana::parse(path, &text, 0.0) {
        if series.len() >= 2 {
            let mapping = vec![("memory", series[0].name.clone()), ("ports", series[1].name.clone())];
            let _ = grafana::to_series(&series, &mapping, &prometheus::Settings::default(), 0.0, "fuzz");
        }
    }
    let answers = vec![
        prometheus::Answer {
            column: "memory",
            origin: "m".into(),
            query: None,
            bodies: vec![bytes.to_vec()],
            file: None,
            decoded: None,
        },
        prometheus::Answer {
            column: "ports",
            origin: "p".into(),
            query: None,
            bodies: vec![bytes.to_vec()],
            file: None,
            decoded: None,
        },
    ];
    let _ = prometheus::import(answers, &prometheus::Settings::default(), "fuzz");
    if let Ok(s) = meshcap::series::csv::parse(path, &text) {
        if let Ok((cleaned, _)) = clean(&s, &CleanSettings::default()) {
            let _ = meshcap::series::write::to_csv(&cleaned, &[]);
        }
    }
}

#[derive(Debug, Clone)]
pub(crate) enum Damage {
    Flip(usize, u8),
    Delete(usize, usize),
    Insert(usize, Vec<u8>),
    Truncate(usize),
}

pub(crate) fn damage() -> impl Strategy<Value = Damage> {
    prop_oneof![
        (any::<usize>(), any::<u8>()).prop_map(|(i, b)| Damage::Flip(i, b)),
        (any::<usize>(), 1usize..64).prop_map(|(i, n)| Damage::Delete(i, n)),
        (
            any::<usize>(),
            prop::collection::vec(prop::sample::select(b"{}[]\",:0123456789.-eE+ naNIf\n|".to_vec()), 1..8)
        )
            .prop_map(|(i, v)| Damage::Insert(i, v)),
        any::<usize>().prop_map(Damage::Truncate),
    ]
}

pub(crate) fn apply(mut bytes: Vec<u8>, damages: &[Damage]) -> Vec<u8> {
    for d in damages {
        let n = bytes.len().max(1);
        match d {
            Damage::Flip(i, b) if !bytes.is_empty() => {
                let k = i % n;
                bytes[k] = *b;
            }
            Damage::Delete(i, len) if !bytes.is_empty() => {
                let k = i % n;
                let end = (k + len).min(bytes.len());
                bytes.drain(k..end);
            }
            Damage::Insert(i, v) => {
                let k = i % (bytes.len() + 1);
                bytes.splice(k..k, v.iter().copied());
            }
            Damage::Truncate(i) => bytes.truncate(i % n),
            _ => {}
        }
    }
    bytes
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 256, failure_persistence: None, ..ProptestConfig::default() })]

    #[test]
    fn arbitrary_bytes_never_panic(bytes in prop::collection::vec(any::<u8>(), 0..512)) {
        all_importers(&bytes);
    }

    #[test]
    fn json_shaped_noise_never_panics(bytes in prop::collection::vec(prop::sample::select(
        br#"{}[]",:0123456789.-eE+ trufalsn"status""success""data""resultType""matrix""result""metric""values""configs""items""kind""name""#.to_vec()), 0..400)) {
        all_importers(&bytes);
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 48, failure_persistence: None, ..ProptestConfig::default() })]

    #[test]
    fn damaged_real_fixtures_never_panic(pick in any::<prop::sample::Index>(), damages in prop::collection::vec(damage(), 1..6)) {
        let files = fixtures();
        prop_assume!(!files.is_empty());
        let (_, bytes) = &files[pick.index(files.len())];
        all_importers(&apply(bytes.clone(), &damages));
    }
}

#[test]
fn damaged_fixtures_give_located_errors() {
    // A deterministic check beside the properties: a JSON fixture cut in half is an error
    // naming the byte where it ends, from the importers that read any JSON.
    let files: Vec<_> = fixtures().into_iter().filter(|(p, _)| p.extension().is_some_and(|e| e == "json")).collect();
    assert!(!files.is_empty(), "tests/fixtures holds JSON fixtures");
    for (path, bytes) in files {
        let cut = &bytes[..bytes.len() / 2];
        let want = format!("malformed JSON at byte {}", cut.len());
        let errors = [
            istioctl::parse(&path, cut).err().map(|e| e.to_string()),
            kubectl::inventory(&[(path.clone(), cut.to_vec())]).err().map(|e| e.to_string()),
        ];
        for e in errors {
            let e = e.expect("a truncated file is an error");
            assert!(e.contains(&want), "{}: {e}", path.display());
        }
    }
}
