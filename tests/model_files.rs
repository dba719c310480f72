//! Hand-edited model files are checked like fit input (issue 13 §3): terms `fit` would refuse,
//! a repeated key, coefficients that do not name their terms; each one line naming the file.

use crate::util::{fails, meshcap, seed_model, tempdir, write};

#[test]
fn model_files_fit_could_not_have_written_are_refused() {
    let seed = std::fs::read_to_string(seed_model()).unwrap();
    let cases: &[(&str, &str, &str)] = &[
        ("\"power\": 1", "\"power\": 99", "term revisions^99 has power 99"),
        ("\"power\": 1", "\"power\": 0", "term revisions^0 has power 0"),
        ("\"column\": \"revisions\"", "\"column\": \"memory^2\"", "term 1 names no usable column"),
        (
            "\"column\": \"revisions\"",
            "\"column\": \"ports\"",
            "coefficient \"revisions\" does not name its term \"ports\"",
        ),
        ("\"level\": 0.95,", "\"level\": 0.95, \"level\": 0.5,", "key \"level\" is given twice"),
    ];
    let dir = tempdir();
    for (from, to, want) in cases {
        assert!(seed.contains(from), "{from}");
        let p = write(dir.path(), "edited.json", &seed.replacen(from, to, 1));
        let err = fails(meshcap().arg("show").arg(&p), 2);
        assert!(err.contains(want) && err.contains("edited.json"), "{to}: {err}");
    }
    // The same file with both terms listed: one term twice.
    let twice = seed.replacen(
        "\"terms\": [\n    {\n      \"column\": \"revisions\",\n      \"power\": 1\n    }\n  ]",
        "\"terms\": [{\"column\": \"revisions\", \"power\": 1}, {\"column\": \"revisions\", \"power\": 1}]",
        1,
    );
    assert_ne!(twice, seed, "the seed model's terms block");
    let p = write(dir.path(), "twice.json", &twice);
    let err = fails(meshcap().arg("show").arg(&p), 2);
    assert!(err.contains("twice.json"), "{err}");
}

/// A model with a line per kind: a term naming no kind, or a proxy whose class is no kind or
/// no worker count, would silently match nothing; refused like any other edit.
#[test]
fn kind_terms_and_classes_in_model_files_are_checked() {
    let dir = tempdir();
    let mut csv = String::from("time,proxy,kind,ports,memory\n");
    for (p, kind) in ["sidecar", "sidecar", "gateway", "sidecar", "gateway"].iter().enumerate() {
        let slope = if *kind == "gateway" { 180_000.0 } else { 100_000.0 };
        for k in 0..12 {
            let ports = 100.0 + 8.0 * k as f64;
            let noise = ((p * 7 + k * 13) % 11) as f64 * 2e4;
            let memory = 6e7 + 1e6 * p as f64 + slope * ports + noise;
            csv.push_str(&format!("{},ns/p{p},{kind},{ports},{memory:.0}\n", 1_767_225_600 + 3600 * k));
        }
    }
    let data = write(dir.path(), "kinds.csv", &csv);
    let model = dir.path().join("m.json");
    meshcap().arg("fit").arg(&data).arg("-o").arg(&model).assert().success();
    let seed = std::fs::read_to_string(&model).unwrap();
    let cases: &[(&str, &str, &str)] = &[
        ("\"kind=gateway\"", "\"kind=router\"", "names kind \"router\""),
        ("\"kind\": \"gateway\"", "\"kind\": \"router\"", "has a class whose kind"),
    ];
    for (from, to, want) in cases {
        assert!(seed.contains(from), "{from} in {seed}");
        let p = write(dir.path(), "edited.json", &seed.replace(from, to));
        let err = fails(meshcap().arg("show").arg(&p), 2);
        assert!(err.contains(want) && err.contains("edited.json"), "{to}: {err}");
    }
}
