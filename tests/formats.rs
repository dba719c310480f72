//! README's table of `--format` values per command is what the binary takes (issue 13 §4):
//! the table is read from docs/formats.md, each command's `--help` from the binary.

use crate::util::{meshcap, root};

/// The commands of one README row, and the format values that row names.
fn rows() -> Vec<(Vec<String>, Vec<String>)> {
    let readme = std::fs::read_to_string(root().join("docs/formats.md")).unwrap();
    let table: Vec<&str> = readme
        .lines()
        .skip_while(|l| !l.starts_with("| command | `--format` |"))
        .skip(2)
        .take_while(|l| l.starts_with('|'))
        .collect();
    assert_eq!(table.len(), 5, "README's format table");
    table
        .iter()
        .map(|row| {
            let cells: Vec<&str> = row.split(" | ").collect();
            let ticked = |s: &str| -> Vec<String> { s.split('`').skip(1).step_by(2).map(String::from).collect() };
            let mut commands = Vec::new();
            for c in ticked(cells[0]) {
                // `import prometheus\|grafana\|...` names four commands.
                match c.strip_prefix("import ") {
                    Some(kinds) => commands.extend(kinds.split("\\|").map(|k| format!("import {k}"))),
                    None => commands.push(c),
                }
            }
            let formats = ticked(cells[1]).into_iter().filter(|f| !f.starts_with('-')).collect();
            (commands, formats)
        })
        .collect()
}

#[test]
fn every_command_takes_exactly_the_formats_readme_names() {
    let mut seen = 0;
    for (commands, formats) in rows() {
        for command in commands {
            let mut args: Vec<&str> = command.split(' ').collect();
            if args == ["plot"] {
                args.push("fit");
            }
            args.push("--help");
            let help = String::from_utf8(meshcap().args(&args).assert().success().get_output().stdout.clone()).unwrap();
            let after = help.split("--format <FORMAT>").nth(1).unwrap_or("");
            let listed: Vec<String> = after
                .lines()
                .map(str::trim)
                .take_while(|l| !l.starts_with("--") && !l.starts_with("-o") && !l.starts_with("-h"))
                .filter_map(|l| l.strip_prefix("- ").and_then(|l| l.split(':').next()).map(String::from))
                .collect();
            assert_eq!(listed, formats, "{command}: --help lists {listed:?}, README says {formats:?}");
            seen += 1;
        }
    }
    assert_eq!(seen, 16, "every command is in the table");
}
