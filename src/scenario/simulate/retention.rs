//! Knative GC in closed form: what a service keeps after a GC pass, from counts alone.
//!
//! [`GcPolicy::collect`] removes a prefix of a service's revisions (oldest first). Every rule it
//! applies only gets easier to meet as time passes and revisions are added: a revision stale at
//! `t` is stale at any later `T` (both of its ages grow), and the count of non-active revisions
//! behind it only grows. So a pass at `T` removes everything earlier passes removed, and the
//! state right after it does not depend on when earlier passes ran (at each update, at each
//! resync, or never). It depends only on how many revisions were ever created, and how many of
//! them at or before `T - retain-since-create-time` and `T - retain-since-last-active-time`;
//! [`kept_after_gc`] computes it. The simulation therefore draws counts per part of a day,
//! not the time of every update, and stays exact at daily resolution whatever the deploy rate.

use crate::mesh::GcPolicy;

/// Which time rules make a non-active revision stale (precomputed from a [`GcPolicy`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StaleRule {
    /// Both time settings disabled: nothing is stale.
    Never,
    /// Created at or before `T - create`.
    Create,
    /// Last active (its successor created) at or before `T - active`.
    Active,
    /// Both.
    Both,
}

impl StaleRule {
    /// The rule of a policy.
    pub fn of(policy: &GcPolicy) -> StaleRule {
        match (policy.retain_since_create_h, policy.retain_since_last_active_h) {
            (None, None) => StaleRule::Never,
            (Some(_), None) => StaleRule::Create,
            (None, Some(_)) => StaleRule::Active,
            (Some(_), Some(_)) => StaleRule::Both,
        }
    }
}

/// Revisions a service keeps right after a GC pass at `T`, from counts over its whole history:
/// `total` revisions ever created (the newest is the active one), `by_create_cut` of them
/// created at or before `T - retain-since-create-time`, `by_active_cut` at or before
/// `T - retain-since-last-active-time` (either ignored when that setting is disabled).
///
/// Equal to the length of the queue [`GcPolicy::collect`] leaves at `T`, whatever passes ran
/// before (see the module docs).
pub fn kept_after_gc(policy: &GcPolicy, total: u64, by_create_cut: u64, by_active_cut: u64) -> u64 {
    let rule = StaleRule::of(policy);
    let min = u64::from(policy.min_non_active);
    let max = policy.max_non_active.map_or(u64::MAX, u64::from);
    kept(rule, min, max, total, by_create_cut, by_active_cut)
}

/// [`kept_after_gc`] with the policy taken apart, for the hot loop.
#[inline]
pub(super) fn kept(rule: StaleRule, min: u64, max: u64, total: u64, by_create: u64, by_active: u64) -> u64 {
    if total == 0 {
        return 0;
    }
    let non_active = total - 1;
    // Revision i (oldest first) is stale by creation when i < by_create, and by last activity
    // when its successor i + 1 < by_active: the stale ones form a prefix.
    let stale = match rule {
        StaleRule::Never => 0,
        StaleRule::Create => by_create,
        StaleRule::Active => by_active.saturating_sub(1),
        StaleRule::Both => by_create.min(by_active.saturating_sub(1)),
    };
    // `collect` pops while (more than max) or (more than min and the front is stale).
    let by_stale = stale.min(non_active.saturating_sub(min));
    let by_max = non_active.saturating_sub(max);
    total - by_stale.max(by_max)
}
