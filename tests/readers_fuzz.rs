//! Every reader of meshcap's own files under random damage (issue 13 §6): model files, scenario
//! specs, topologies, JSON series and merge shards, each a valid file with a few bytes flipped,
//! deleted, inserted or cut. A reader returns a value or one line naming the file: never a
//! panic. What it returns is then used (a grid built, scopes compared) and must not panic
//! either. Bounded: a fixed number of cases, small files.

use std::path::Path;

use meshcap::mesh::{visibility, Scope, Topology};
use meshcap::scenario::{Grid, Spec};
use proptest::prelude::*;

use crate::import_fuzz::{apply, damage, Damage};
use crate::util::{root, seed_model, tempdir};

/// An error is one line and names `file`.
fn one_line_naming(e: &meshcap::Error, file: &str) -> Result<(), TestCaseError> {
    let text = e.to_string();
    prop_assert!(!text.contains('\n'), "two lines: {text}");
    prop_assert!(text.contains(file), "{file} not named: {text}");
    Ok(())
}

fn damaged_text(path: &Path, damages: &[Damage]) -> String {
    String::from_utf8_lossy(&apply(std::fs::read(path).unwrap(), damages)).into_owned()
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 64, failure_persistence: None, ..ProptestConfig::default() })]

    #[test]
    fn damaged_model_files(damages in prop::collection::vec(damage(), 1..5)) {
        let dir = tempdir();
        let p = dir.path().join("model.json");
        std::fs::write(&p, apply(std::fs::read(seed_model()).unwrap(), &damages)).unwrap();
        match meshcap::model::store::load(&p) {
            Ok(m) => {
                let row = m.design_row(|c| if c == "revisions" { 100.0 } else { 0.0 });
                let _ = m.predict_row(&row);
            }
            Err(e) => one_line_naming(&e, "model.json")?,
        }
    }

    #[test]
    fn damaged_specs(damages in prop::collection::vec(damage(), 1..5)) {
        let text = damaged_text(&root().join("data/scenarios/gc-policies.toml"), &damages)
            .replace("models/knative", &format!("{}/models/knative", root().display()));
        match Spec::parse(Path::new("spec.toml"), &text) {
            Ok(spec) => {
                let model = meshcap::model::store::load(&spec.model);
                if let Ok(model) = model {
                    if let Ok(grid) = Grid::new(spec, model, 100_000) {
                        let mut d = meshcap::scenario::grid::decode(0, &grid.lengths);
                        for id in 0..grid.size.min(50) {
                            let _ = grid.evaluate(id, &d);
                            meshcap::scenario::grid::advance(&mut d, &grid.lengths);
                        }
                    }
                }
            }
            Err(e) => one_line_naming(&e, "spec.toml")?,
        }
    }

    #[test]
    fn damaged_topologies(damages in prop::collection::vec(damage(), 1..5)) {
        let text = damaged_text(&root().join("data/topology-example.toml"), &damages);
        match Topology::parse(Path::new("topology.toml"), &text) {
            Ok(t) => {
                for scope in [Scope::parse("mesh").unwrap(), Scope::parse("namespace").unwrap()] {
                    let _ = visibility(&t, &scope.clone().into());
                }
            }
            Err(e) => one_line_naming(&e, "topology.toml")?,
        }
    }

    #[test]
    fn damaged_json_series(damages in prop::collection::vec(damage(), 1..5)) {
        let series = r#"{"observations": [{"revisions": 0, "memory": "52Mi", "ports": 8}, {"revisions": 100, "memory": "130Mi", "ports": 808}, {"revisions": 200, "memory": 220000000, "ports": 1608, "event": "oom", "limit": "256Mi"}]}"#;
        let text = String::from_utf8_lossy(&apply(series.as_bytes().to_vec(), &damages)).into_owned();
        if let Err(e) = meshcap::series::json::parse(Path::new("series.json"), &text) {
            one_line_naming(&e, "series.json")?;
        }
    }

    #[test]
    fn damaged_shards(damages in prop::collection::vec(damage(), 1..4), which in 0usize..2) {
        let dir = tempdir();
        let spec = dir.path().join("spec.toml");
        std::fs::write(&spec, format!(
            "model = {:?}\n[axes]\nnamespaces = [2]\nupdates_per_day = [1, 5, 20]\nlimit = [\"1Gi\", \"2Gi\"]\n",
            seed_model().display().to_string()
        )).unwrap();
        let mut parts = Vec::new();
        for k in 0..2 {
            let p = dir.path().join(format!("part-{k}.csv"));
            crate::util::meshcap().arg("sweep").arg(&spec).args(["-q", "--shard", &format!("{k}/2"), "-o"]).arg(&p).assert().success();
            parts.push(p);
        }
        let damaged = apply(std::fs::read(&parts[which]).unwrap(), &damages);
        std::fs::write(&parts[which], damaged).unwrap();
        if let Err(e) = meshcap::scenario::merge::merge(&parts) {
            let text = e.to_string();
            prop_assert!(!text.contains('\n'), "two lines: {text}");
            prop_assert!(text.contains("part-"), "no shard named: {text}");
        }
    }
}
