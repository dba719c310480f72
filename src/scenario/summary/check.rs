//! Cross-checks of a summary shard before `merge` adds it: every count a summary states is
//! recomputed from what else it states, or checked against it, so that an edited or
//! mismatched shard is refused, naming the file, the line and the value, instead of merged.
//!
//! What is recomputed exactly: `scenarios` from its ids; each frontier value's `scenarios`
//! from the ids and the axis lengths (ids decode in mixed radix, the last axis fastest, as
//! [`decode`](super::super::grid::decode)); the grid size from the axis lengths;
//! `smallest_safe_limit` from the required limits and the limit axis. What is cross-checked:
//! `safe + unsafe_scenarios = scenarios`; each axis's `unsafe_scenarios` sums to the total;
//! the worst list (its length, ids within the shard, each once, ranked, its axis labels those of
//! its id) against the counts, the frontier and `min_days_to_limit`. The summary holds no
//! per-scenario results beyond the worst list, so the unsafe counts themselves cannot be
//! recomputed, only held to what the worst list shows.

use std::path::Path;

use super::super::grid::{decode, N_AXES};
use super::super::spec::AXES;
use super::{Summary, WORST};
use crate::error::{Error, Location, Result};

/// Where a value is in a summary's text: needles, each with which occurrence of it after the
/// previous one ([`line_of`]).
type Steps<'a> = [(&'a str, usize)];

/// A refusal naming the value's line.
type Refuse<'a> = dyn Fn(&Steps, String) -> Result<()> + 'a;

/// Check one summary shard (`text` is the file's text, to name lines).
pub fn check(path: &Path, text: &str, s: &Summary) -> Result<()> {
    let refuse = |steps: &Steps, m: String| Err(Error::parse(m, Location::new(path, line_of(text, steps))));
    let [start, end] = s.ids;
    if start > end || end > s.grid_size {
        return refuse(
            &[("\"ids\"", 1)],
            format!("ids {start}..{end} are not a slice of the grid's 0..{}", s.grid_size),
        );
    }
    if s.scenarios != end - start {
        return refuse(
            &[("\"scenarios\"", 1)],
            format!("scenarios is {}, but ids {start}..{end} hold {}", s.scenarios, end - start),
        );
    }
    if s.safe.checked_add(s.unsafe_scenarios) != Some(s.scenarios) {
        return refuse(
            &[("\"unsafe_scenarios\"", 1)],
            format!("safe {} + unsafe_scenarios {} is not scenarios {}", s.safe, s.unsafe_scenarios, s.scenarios),
        );
    }
    // The axis lengths: each frontier axis's values, then the limit axis.
    if s.frontier.len() != N_AXES - 1 || s.frontier.iter().zip(AXES).any(|(f, a)| f.axis != a) {
        return refuse(
            &[("\"frontier\"", 1)],
            format!("the frontier does not list the {} axes {:?} in order", N_AXES - 1, &AXES[..N_AXES - 1]),
        );
    }
    let mut lengths = [0; N_AXES];
    for (l, f) in lengths.iter_mut().zip(&s.frontier) {
        *l = f.values.len();
    }
    lengths[N_AXES - 1] = s.limits_bytes.len();
    let size = lengths.iter().try_fold(1u64, |p, &l| p.checked_mul(l as u64));
    if size != Some(s.grid_size) {
        return refuse(
            &[("\"grid_size\"", 1)],
            format!("grid_size is {}, but its axes ({lengths:?} values) make {size:?} scenarios", s.grid_size),
        );
    }
    let mut stride = 1u64;
    for a in (0..N_AXES - 1).rev() {
        stride *= lengths[a + 1] as u64;
        let f = &s.frontier[a];
        let mut unsafe_sum = 0u64;
        for (i, v) in f.values.iter().enumerate() {
            let at = |key: &'static str| [("\"frontier\"", 1), ("\"axis\"", a + 1), ("\"value\"", i + 1), (key, 1)];
            let want = with_value(end, stride, lengths[a] as u64, i as u64)
                - with_value(start, stride, lengths[a] as u64, i as u64);
            if v.scenarios != want {
                return refuse(
                    &at("\"scenarios\""),
                    format!(
                        "{} = {}: scenarios is {}, but ids {start}..{end} hold {want} with that value",
                        f.axis, v.value, v.scenarios
                    ),
                );
            }
            if v.unsafe_scenarios > v.scenarios {
                return refuse(
                    &at("\"unsafe_scenarios\""),
                    format!(
                        "{} = {}: unsafe_scenarios {} is more than its {} scenarios",
                        f.axis, v.value, v.unsafe_scenarios, v.scenarios
                    ),
                );
            }
            unsafe_sum += v.unsafe_scenarios;
        }
        if unsafe_sum != s.unsafe_scenarios {
            return refuse(
                &[("\"unsafe_scenarios\"", 1)],
                format!(
                    "unsafe_scenarios is {}, but the {} frontier's values sum to {unsafe_sum}",
                    s.unsafe_scenarios, f.axis
                ),
            );
        }
    }
    let mut named = s.clone();
    named.name_safe_limits();
    if let Some((f, v)) = s
        .frontier
        .iter()
        .flat_map(|f| f.values.iter().map(move |v| (f, v)))
        .zip(named.frontier.iter().flat_map(|f| &f.values))
        .find_map(|((f, v), n)| (v.smallest_safe_limit != n.smallest_safe_limit).then_some((f, v)))
    {
        return refuse(
            &[("\"frontier\"", 1)],
            format!(
                "{} = {}: smallest_safe_limit {:?} does not follow from its required limit and limits_bytes",
                f.axis, v.value, v.smallest_safe_limit
            ),
        );
    }
    check_worst(s, &lengths, &refuse)
}

/// The worst list against the counts and the frontier.
fn check_worst(s: &Summary, lengths: &[usize; N_AXES], refuse: &Refuse) -> Result<()> {
    let [start, end] = s.ids;
    let want = (WORST as u64).min(s.scenarios);
    if s.worst.len() as u64 != want {
        return refuse(
            &[("\"worst\"", 1)],
            format!("worst lists {} scenarios, but {} scenarios keep {want}", s.worst.len(), s.scenarios),
        );
    }
    let at = |k: usize, m: String| refuse(&[("\"worst\"", 1), ("\"id\"", k + 1)], m);
    let (mut unsafe_listed, mut safe_listed) = (0u64, false);
    for (k, w) in s.worst.iter().enumerate() {
        if !(start..end).contains(&w.id) {
            return at(k, format!("worst scenario {} is outside ids {start}..{end}", w.id));
        }
        if let Some(p) = k.checked_sub(1).map(|p| &s.worst[p]) {
            if !p.margin_bytes.total_cmp(&w.margin_bytes).then(p.id.cmp(&w.id)).is_lt() {
                return at(
                    k,
                    format!("worst scenario {} is repeated or out of rank (smallest margin first, then id)", w.id),
                );
            }
        }
        let d = decode(w.id, lengths);
        if let Some(a) = (0..N_AXES - 1).find(|&a| w.axes.get(a) != Some(&s.frontier[a].values[d[a]].value)) {
            return at(
                k,
                format!(
                    "worst scenario {} lists {:?}, but its id has {} = {}",
                    w.id,
                    w.axes.get(a),
                    AXES[a],
                    s.frontier[a].values[d[a]].value
                ),
            );
        }
        if let Some(a) =
            (0..N_AXES - 1).find(|&a| w.required_limit_bytes > s.frontier[a].values[d[a]].required_limit_bytes)
        {
            return at(
                k,
                format!(
                    "worst scenario {} requires {} bytes, more than the frontier's {} = {}",
                    w.id, w.required_limit_bytes, AXES[a], s.frontier[a].values[d[a]].value
                ),
            );
        }
        // min_days_to_limit is the fewest days over the shard (sweep.rs `summarize`).
        if let Some(days) = w.days_to_limit {
            if s.min_days_to_limit.is_none_or(|min| days < min) {
                return at(
                    k,
                    format!(
                        "worst scenario {} crosses in {days} days, before min_days_to_limit {:?}",
                        w.id, s.min_days_to_limit
                    ),
                );
            }
        }
        // A negative margin is unsafe, a positive one safe (summary.rs: safe is upper <= target).
        unsafe_listed += u64::from(w.margin_bytes < 0.0);
        safe_listed |= w.margin_bytes > 0.0;
    }
    // Ranked by margin, the list holds every unsafe scenario once it reaches a safe one.
    if unsafe_listed > s.unsafe_scenarios || (safe_listed && unsafe_listed != s.unsafe_scenarios) {
        return refuse(
            &[("\"unsafe_scenarios\"", 1)],
            format!(
                "unsafe_scenarios is {}, but the worst list shows {unsafe_listed} unsafe scenarios",
                s.unsafe_scenarios
            ),
        );
    }
    if s.unsafe_scenarios == 0 && s.min_days_to_limit.is_some() {
        return refuse(
            &[("\"min_days_to_limit\"", 1)],
            format!("min_days_to_limit is {:?}, but no scenario is unsafe", s.min_days_to_limit),
        );
    }
    Ok(())
}

/// How many ids in `0..n` have value `i` on an axis of `len` values whose ids repeat each value
/// `stride` times in a row.
fn with_value(n: u64, stride: u64, len: u64, i: u64) -> u64 {
    let period = stride * len;
    if period == 0 {
        return 0;
    }
    (n / period) * stride + (n % period).saturating_sub(i * stride).min(stride)
}

/// The 1-based line of the last step, each step a needle and which occurrence of it after the
/// previous step (0 when one is not found). The first step is a key of the outer object, found
/// at that depth whatever the key order; the later ones follow the order meshcap writes.
fn line_of(text: &str, steps: &Steps) -> usize {
    let Some(((first, _), rest)) = steps.split_first() else { return 0 };
    let Some(mut at) = top_level_key(text, first) else { return 0 };
    for &(needle, occurrence) in rest {
        for _ in 0..occurrence {
            match text[at..].find(needle) {
                Some(i) => at += i + needle.len(),
                None => return 0,
            }
        }
    }
    text[..at].matches('\n').count() + 1
}

/// The end of `key` (quoted) as a key of the outermost object.
fn top_level_key(text: &str, key: &str) -> Option<usize> {
    let (mut depth, mut in_string, mut escaped) = (0usize, false, false);
    for (i, c) in text.char_indices() {
        if in_string {
            (escaped, in_string) = match (escaped, c) {
                (true, _) => (false, true),
                (false, '\\') => (true, true),
                (false, '"') => (false, false),
                _ => (false, true),
            };
            continue;
        }
        match c {
            '{' | '[' => depth += 1,
            '}' | ']' => depth = depth.saturating_sub(1),
            '"' if depth == 1 && text[i..].starts_with(key) => return Some(i + key.len()),
            '"' => in_string = true,
            _ => {}
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The per-value count against decoding every id of small grids (the last axis fastest).
    #[test]
    fn ids_with_a_value_match_a_decoded_count() {
        let lengths = [2, 3, 1, 2, 1, 1, 1, 1, 1, 1, 1, 1, 4];
        let size: u64 = lengths.iter().map(|&l| l as u64).product();
        for (start, end) in [(0, size), (5, 17), (7, 7), (1, size - 1)] {
            let mut stride = 1;
            for a in (0..N_AXES).rev() {
                for i in 0..lengths[a] {
                    let by_decoding = (start..end).filter(|&id| decode(id, &lengths)[a] == i).count() as u64;
                    let l = lengths[a] as u64;
                    assert_eq!(
                        with_value(end, stride, l, i as u64) - with_value(start, stride, l, i as u64),
                        by_decoding
                    );
                }
                stride *= lengths[a] as u64;
            }
        }
    }

    #[test]
    fn lines_are_found_at_the_top_level_first() {
        let text = "{\n  \"frontier\": [{\"scenarios\": 1}],\n  \"scenarios\": 2\n}";
        assert_eq!(line_of(text, &[("\"scenarios\"", 1)]), 3);
        assert_eq!(line_of(text, &[("\"frontier\"", 1), ("\"scenarios\"", 1)]), 2);
        assert_eq!(line_of(text, &[("\"missing\"", 1)]), 0);
    }
}
