//! The listed marginals against a second path: raise one service's revisions by one, count
//! every proxy again with [`visibility`], and subtract (what `fleet --topology` did before,
//! one whole count per service).

use std::path::Path;

use super::*;
use crate::mesh::visibility;

/// Per proxy, per service: what `visibility` gains when that service has one more revision.
fn by_recounting(t: &Topology, scopes: &ScopeMap) -> Vec<Vec<(usize, Counts)>> {
    let base = visibility(t, scopes).unwrap();
    let mut out = vec![Vec::new(); base.len()];
    let mut more = t.clone();
    let mut s = 0;
    for (i, ns) in t.namespaces.iter().enumerate() {
        for (j, k) in ns.knative.iter().enumerate() {
            more.namespaces[i].knative[j].revisions = k.revisions + 1;
            let after = visibility(&more, scopes).unwrap();
            more.namespaces[i].knative[j].revisions = k.revisions;
            for (p, (a, b)) in after.iter().zip(&base).enumerate() {
                let mut d = a.counts;
                d -= b.counts;
                out[p].push((s, d));
            }
            s += 1;
        }
    }
    out
}

fn close(a: &Counts, b: &Counts) -> bool {
    let f = |c: &Counts| [c.revisions, c.clusters, c.endpoints, c.services, c.growing_clusters];
    f(a).iter().zip(f(b)).all(|(x, y)| (x - y).abs() <= 1e-9 * (1.0 + y.abs()))
}

/// Random topologies (exportTo lists, same names in several namespaces, gateways filtered or
/// not, infrastructure) and random egress hosts: the listed marginals equal the recount.
#[test]
fn listed_marginals_equal_recounting_the_mesh() {
    let mut state = 0x2545_f491_4f6c_dd1d_u64;
    let mut next = |n: u64| {
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        state % n
    };
    let names = ["a", "b", "c"];
    for case in 0..300 {
        let n_ns = 1 + next(5) as usize;
        let filter = next(2) == 0;
        let mut text = format!("istio_version = \"1.20.0\"\nfilter_gateway_cluster_config = {filter}\n");
        for i in 0..n_ns {
            let export = match next(4) {
                0 => "[\".\"]".to_string(),
                1 => format!("[\"ns{}\"]", next(n_ns as u64)),
                2 => "[\"~\"]".to_string(),
                _ => "[\"*\"]".to_string(),
            };
            let infra = if next(6) == 0 { "infrastructure = true\n" } else { "" };
            text.push_str(&format!("[[namespaces]]\nname = \"ns{i}\"\nsidecars = true\n{infra}export_to = {export}\n"));
            let (k1, k2) = (names[next(3) as usize], names[next(3) as usize]);
            let mut ks =
                vec![format!("{{ name = \"{k1}\", revisions = {}, routed = 1, pods = {} }}", 1 + next(9), next(3))];
            if k2 != k1 {
                ks.push(format!("{{ name = \"{k2}\", revisions = {}, count = 2 }}", 1 + next(4)));
            }
            text.push_str(&format!("knative = [{}]\n", ks.join(", ")));
        }
        for g in 0..next(3) {
            text.push_str(&format!("[[gateways]]\nname = \"gw{g}\"\nnamespace = \"ns{}\"\n", next(n_ns as u64)));
        }
        let t = Topology::parse(Path::new("random.toml"), &text).expect(&text);
        let mut hosts = Vec::new();
        for _ in 0..1 + next(3) {
            let ns = match next(4) {
                0 => "*".to_string(),
                1 => ".".to_string(),
                _ => format!("ns{}", next(n_ns as u64)),
            };
            let host = match next(6) {
                0 => "*".to_string(),
                1 => names[next(3) as usize].to_string(),
                2 => format!("{}.ns{}.svc.cluster.local", names[next(3) as usize], next(n_ns as u64)),
                3 => "*.svc.cluster.local".to_string(),
                4 => format!("{}.ns{}", names[next(3) as usize], next(n_ns as u64)),
                _ => format!("*.ns{}.svc.cluster.local", next(n_ns as u64)),
            };
            hosts.push(format!("{ns}/{host}"));
        }
        let hosts = format!("hosts={}", hosts.join(","));
        for map in ["mesh".to_string(), "namespace".to_string(), hosts.clone(), format!("namespace; ns0={hosts}")] {
            let Ok(map) = ScopeMap::parse(&map) else { continue };
            let Ok(m) = marginals(&t, &map) else { continue };
            let want = by_recounting(&t, &map);
            assert_eq!(m.proxies.len(), want.len());
            for (p, want) in m.proxies.iter().zip(&want) {
                let mut got = vec![Counts::default(); want.len()];
                let listed = p.whole_mesh.then_some(&m.everywhere).into_iter().flatten().chain(&p.own);
                for (s, c) in listed {
                    got[*s] += *c;
                }
                for (s, (g, (_, w))) in got.iter().zip(want).enumerate() {
                    assert!(close(g, w), "case {case}, {map}, proxy {}, service {s}: {g:?} != {w:?}\n{text}", p.proxy);
                }
            }
        }
    }
}
