//! What a grid's answers rest on that a reader must be told: revisions that never route.
//!
//! Knative's GC collects only revisions whose `serving.knative.dev/routingState` is `reserve`
//! (knative/serving `pkg/reconciler/gc/gc.go` `isRevisionActive` at knative-v1.11.0); one the
//! route never listed stays `pending` for ever. A spec's `[mesh] unrouted_share` lets a share
//! of the updates make such revisions, which then add up without GC's cap, so a sweep answers at
//! the end of the horizon rather than in a steady state; a topology's `unrouted` revisions are
//! kept as they are. `sweep` and `simulate` print these notes.

use super::grid::Grid;
use super::spec::MeshSource;

impl Grid {
    /// What the grid's answers rest on that a reader must know: never-routed revisions adding
    /// up beyond GC's cap (`[mesh] unrouted_share`, or a topology's `unrouted` ones).
    pub fn notes(&self) -> Vec<String> {
        let mut notes = Vec::new();
        let share = self.spec.unrouted_share;
        if share > 0.0 {
            notes.push(format!(
                "a share {share} of updates never routes (mesh.unrouted_share): those revisions stay pending and Knative's GC never collects them (gc.go isRevisionActive), so each service gains updates_per_day x {share} revisions a day beyond GC's cap; margins and verdicts are at the end of the {}-day horizon, not a steady state",
                self.spec.simulate.horizon_days
            ));
        }
        if let MeshSource::Topology(t) = &self.spec.mesh {
            let held: Vec<String> = t
                .namespaces
                .iter()
                .flat_map(|n| {
                    n.knative
                        .iter()
                        .filter(|k| k.unrouted > 0)
                        .map(move |k| format!("{}/{} ({})", n.name, k.name, k.unrouted))
                })
                .collect();
            if !held.is_empty() {
                let shown = held.iter().take(3).cloned().collect::<Vec<_>>().join(", ");
                let more = if held.len() > 3 { format!(" and {} more", held.len() - 3) } else { String::new() };
                notes.push(format!(
                    "{} Knative services hold revisions that never routed, which GC never collects (kept as they are): {shown}{more}",
                    held.len()
                ));
            }
        }
        notes
    }
}
