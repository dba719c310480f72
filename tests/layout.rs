//! The layout the style guide asks for, kept: the `cli` modules use each other without cycles
//! (issue 13, "done when"), read from the sources.

use std::collections::{BTreeMap, BTreeSet};

use crate::util::root;

/// `module -> modules it names as super::other::` for every file of src/cli.
fn cli_uses() -> BTreeMap<String, BTreeSet<String>> {
    let mut graph = BTreeMap::new();
    for entry in std::fs::read_dir(root().join("src/cli")).unwrap() {
        let path = entry.unwrap().path();
        let name = path.file_stem().unwrap().to_string_lossy().into_owned();
        if name == "mod" {
            continue;
        }
        let text = std::fs::read_to_string(&path).unwrap();
        let uses: BTreeSet<String> = text
            .split("super::")
            .skip(1)
            .filter_map(|rest| {
                let m: String = rest.chars().take_while(|c| c.is_ascii_lowercase() || *c == '_').collect();
                (rest[m.len()..].starts_with("::") && m != name).then_some(m)
            })
            .collect();
        graph.insert(name, uses);
    }
    graph
}

#[test]
fn cli_modules_have_no_import_cycles() {
    let graph = cli_uses();
    assert!(graph.len() > 8, "read src/cli: {:?}", graph.keys());
    // Depth-first search for a back edge.
    fn visit(m: &str, graph: &BTreeMap<String, BTreeSet<String>>, path: &mut Vec<String>, done: &mut BTreeSet<String>) {
        if done.contains(m) {
            return;
        }
        if let Some(i) = path.iter().position(|p| p == m) {
            panic!("cli import cycle: {} -> {m}", path[i..].join(" -> "));
        }
        path.push(m.to_string());
        for next in graph.get(m).into_iter().flatten() {
            visit(next, graph, path, done);
        }
        path.pop();
        done.insert(m.to_string());
    }
    let mut done = BTreeSet::new();
    for m in graph.keys() {
        visit(m, &graph, &mut Vec::new(), &mut done);
    }
}
