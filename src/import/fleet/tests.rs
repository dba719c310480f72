//! Keying and joining a fleet's columns by their --by labels.

use super::*;

fn ts(labels: &[(&str, &str)], pts: &[(f64, f64)]) -> TimeSeries {
    TimeSeries {
        labels: labels.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect(),
        times: pts.iter().map(|p| p.0).collect(),
        values: pts.iter().map(|p| p.1).collect(),
    }
}

fn by() -> Vec<String> {
    vec!["namespace".into(), "pod".into()]
}

#[test]
fn keys_by_labels_and_refuses_collisions() {
    let a = ts(&[("namespace", "a/b"), ("pod", "c")], &[(0.0, 1e8)]);
    let b = ts(&[("namespace", "a"), ("pod", "b/c")], &[(0.0, 1e8)]);
    let e = key_series("memory query", MEMORY, vec![a.clone(), b], &by(), &mut vec![]).unwrap_err().to_string();
    assert!(e.contains("both join to proxy \"a/b/c\""), "{e}");
    let e = key_series("memory query", MEMORY, vec![ts(&[("pod", "c")], &[(0.0, 1e8)])], &by(), &mut vec![])
        .unwrap_err()
        .to_string();
    assert!(e.contains("lacks the label \"namespace\""), "{e}");
    let pause = ts(&[("namespace", "a/b"), ("pod", "c"), ("container", "POD")], &[(0.0, 1e6)]);
    let proxy = ts(&[("namespace", "a/b"), ("pod", "c"), ("container", "istio-proxy")], &[(0.0, 1e8)]);
    let e = key_series("m", MEMORY, vec![proxy, pause], &by(), &mut vec![]).unwrap_err().to_string();
    assert!(e.contains("differ in more than container identity") && e.contains("POD"), "{e}");
    let k = key_series("m", MEMORY, vec![a], &by(), &mut vec![]).unwrap();
    assert_eq!(k.keys().collect::<Vec<_>>(), vec!["a/b/c"]);
}

/// Memory's `{namespace="a/b", pod="c"}` and ports' `{namespace="a", pod="b/c"}` share the
/// key `a/b/c` but not a label value: two proxies, refused rather than joined as one.
#[test]
fn columns_join_on_the_label_values_not_the_joined_key() {
    let mem = ts(&[("namespace", "a/b"), ("pod", "c")], &[(0.0, 1e8), (60.0, 1e8)]);
    let ports = ts(&[("namespace", "a"), ("pod", "b/c")], &[(0.0, 16.0), (60.0, 16.0)]);
    let keyed = |column: &'static str, s: TimeSeries| {
        (column, (format!("{column} query"), key_series("q", column, vec![s], &by(), &mut vec![]).unwrap()))
    };
    let columns: BTreeMap<&'static str, (String, Keyed)> =
        [keyed(MEMORY, mem.clone()), keyed("ports", ports)].into_iter().collect();
    let e = assemble(columns, &by(), &Settings::default(), Report::default(), vec![]).unwrap_err().to_string();
    assert!(e.contains("ports query") && e.contains("namespace=\"a\", pod=\"b/c\"") && e.contains("a/b/c"), "{e}");
    // The same label values join.
    let same = ts(&[("namespace", "a/b"), ("pod", "c")], &[(0.0, 16.0), (60.0, 16.0)]);
    let columns: BTreeMap<&'static str, (String, Keyed)> =
        [keyed(MEMORY, mem), keyed("ports", same)].into_iter().collect();
    assert!(assemble(columns, &by(), &Settings::default(), Report::default(), vec![]).is_ok());
}
