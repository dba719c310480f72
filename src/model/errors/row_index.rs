//! Hashed rows: a fit finds its levels (readings at one setting of one proxy) by hashing each
//! row's predictor values, without allocating per row. Kept apart from the level algebra in
//! [`super::levels`], which uses it beside the diagnostics that regroup level means.

use rayon::prelude::*;

/// One step of a 64-bit multiplicative hash over words.
pub(crate) fn mix(h: u64, word: u64) -> u64 {
    (h ^ word).wrapping_mul(0x9E37_79B9_7F4A_7C15).rotate_left(29)
}

/// Open-addressing index from hashed rows to dense ids: no allocation per row, the caller
/// says whether a stored id holds the same row. Slots keep 32 bits of the hash beside the id,
/// so a probe rarely touches the rows themselves, and the table grows with the ids (it stays
/// in cache when a long series has few levels).
pub(crate) struct RowIndex {
    /// `(hash tag << 32) | id`, or `EMPTY`.
    slots: Vec<u64>,
    /// Each id's hash, to re-place it when the table grows.
    hashes: Vec<u64>,
    mask: usize,
}

const EMPTY: u64 = u64::MAX;

/// SplitMix64's finalizer: spreads every input bit over the result.
pub(crate) fn finalize(mut z: u64) -> u64 {
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE5_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
}

impl RowIndex {
    /// An empty index.
    pub(crate) fn new() -> RowIndex {
        RowIndex { slots: vec![EMPTY; 64], hashes: Vec::new(), mask: 63 }
    }

    fn place(&mut self, z: u64, id: u32) {
        let mut k = z as usize & self.mask;
        while self.slots[k] != EMPTY {
            k = (k + 1) & self.mask;
        }
        self.slots[k] = (z >> 32 << 32) | u64::from(id);
    }

    /// The id of the row with `hash` for which `same(id)` holds, or the next id (inserted).
    pub(crate) fn find_or_insert(&mut self, hash: u64, same: impl Fn(u32) -> bool) -> (u32, bool) {
        let z = finalize(hash);
        let tag = z >> 32;
        let mut k = z as usize & self.mask;
        loop {
            match self.slots[k] {
                EMPTY => break,
                slot if slot >> 32 == tag && same(slot as u32) => return (slot as u32, false),
                _ => k = (k + 1) & self.mask,
            }
        }
        let id = self.hashes.len() as u32;
        self.hashes.push(z);
        if 2 * self.hashes.len() > self.slots.len() {
            let size = 2 * self.slots.len();
            self.slots = vec![EMPTY; size];
            self.mask = size - 1;
            for (i, h) in std::mem::take(&mut self.hashes).iter().enumerate() {
                self.place(*h, i as u32);
                self.hashes.push(*h);
            }
        } else {
            self.place(z, id);
        }
        (id, true)
    }
}

/// True when no two of `hashes` are equal. A bit per hash in a table of about 32 bits per
/// hash finds the few that land on a bit already set; only those are checked exactly, against
/// every hash. A fit of 10^6 distinct settings asks this once: a full sort took 20 ms of its
/// 170, this about 5.
pub(crate) fn all_distinct(hashes: &[u64]) -> bool {
    let n = hashes.len();
    if n < 1 << 12 {
        let mut s = hashes.to_vec();
        s.sort_unstable();
        return s.windows(2).all(|w| w[0] != w[1]);
    }
    let bits = (32 * n).next_power_of_two();
    let mut seen = vec![0u64; bits / 64];
    let mut candidates = Vec::new();
    for &h in hashes {
        let k = finalize(h) as usize & (bits - 1);
        let (word, bit) = (k >> 6, 1u64 << (k & 63));
        if seen[word] & bit != 0 {
            candidates.push(h);
        }
        seen[word] |= bit;
    }
    drop(seen);
    candidates.sort_unstable();
    let len = candidates.len();
    candidates.dedup();
    if candidates.len() < len {
        return false;
    }
    // Each candidate must occur once among all hashes; a second bit table (of the candidates)
    // sends only about 1 in 64 of the rest to the exact search, on the cores.
    let small = (64 * candidates.len()).next_power_of_two().max(64);
    let mut member = vec![0u64; small / 64];
    let slot = |h: u64| {
        let k = finalize(h).rotate_left(32) as usize & (small - 1);
        (k >> 6, 1u64 << (k & 63))
    };
    for &c in &candidates {
        let (w, b) = slot(c);
        member[w] |= b;
    }
    let mut hits: Vec<usize> = hashes
        .par_chunks(CHUNK)
        .flat_map_iter(|chunk| {
            chunk
                .iter()
                .filter(|&&h| {
                    let (w, b) = slot(h);
                    member[w] & b != 0
                })
                .filter_map(|h| candidates.binary_search(h).ok())
                .collect::<Vec<usize>>()
        })
        .collect();
    hits.sort_unstable();
    hits.windows(2).all(|w| w[0] != w[1])
}

/// Hashes per parallel piece.
const CHUNK: usize = 1 << 16;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn distinct_as_a_full_sort_says() {
        let sorted_says = |v: &[u64]| {
            let mut s = v.to_vec();
            s.sort_unstable();
            s.windows(2).all(|w| w[0] != w[1])
        };
        let mut v: Vec<u64> = (0..100_000u64).map(|i| mix(0, i)).collect();
        assert!(sorted_says(&v) && all_distinct(&v));
        v[77_777] = v[3];
        assert!(!sorted_says(&v) && !all_distinct(&v));
        let small = vec![5, 9, 5];
        assert!(!all_distinct(&small));
        // Equal words in different places of the bucket order: first and last rows.
        let mut w: Vec<u64> = (0..50_000u64).collect();
        w[49_999] = 0;
        assert!(!all_distinct(&w));
        // Three equal words: the bit table sends two of them to the candidates.
        let mut t: Vec<u64> = (0..60_000u64).map(|i| mix(1, i)).collect();
        (t[10], t[20]) = (t[30], t[30]);
        assert!(!all_distinct(&t));
        let u: Vec<u64> = (0..1_000_000u64).map(|i| mix(2, i)).collect();
        assert_eq!(all_distinct(&u), sorted_says(&u));
    }
}
