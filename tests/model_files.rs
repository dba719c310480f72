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
