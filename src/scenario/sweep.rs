//! The sweep driver: rayon over chunks of scenario ids, streamed in id order.
//!
//! Rows are produced a window of chunks at a time and written in order, so memory stays
//! bounded whatever the grid size and the bytes do not depend on the thread count. Summaries
//! fold chunk accumulators with an order-independent merge; within a chunk, scenarios are
//! evaluated a block at a time ([`Accumulator::add_range`]). `--shard K/N` evaluates ids
//! `[K*size/N, (K+1)*size/N)`.

use std::io::Write;
use std::ops::Range;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};

use rayon::prelude::*;

use super::grid::{advance, decode, Grid};
use super::rows::{header, write_row, Labels, RowFormat};
pub use super::shard::Shard;
use super::summary::{Accumulator, Summary};

/// Scenarios per work item (rows; the smallest summary chunk).
const CHUNK: u64 = 8192;
/// Summaries aim at this many chunks, for load balance on any core count...
const SUMMARY_CHUNKS: u64 = 256;
/// ...of at most this many scenarios (larger chunks replay more blocks from their cache).
const MAX_SUMMARY_CHUNK: u64 = 1 << 20;
/// Chunks in flight when streaming rows (bounds memory to about WINDOW x CHUNK rows).
const WINDOW: u64 = 32;

fn chunks(range: &Range<u64>) -> u64 {
    (range.end - range.start).div_ceil(CHUNK)
}

fn chunk_range(range: &Range<u64>, c: u64) -> Range<u64> {
    let start = range.start + c * CHUNK;
    start..(start + CHUNK).min(range.end)
}

/// Evaluate `range` and write rows (with a CSV header when `with_header`).
pub fn write_rows(
    grid: &Grid,
    range: Range<u64>,
    format: RowFormat,
    with_header: bool,
    out: &mut dyn Write,
    progress: &dyn Fn(u64),
) -> std::io::Result<()> {
    let labels = Labels::new(grid);
    if with_header && format == RowFormat::Csv {
        out.write_all(header().as_bytes())?;
    }
    let n = chunks(&range);
    // Buffers are reused from window to window: fresh ones cost a page fault per 4 KiB.
    let mut buffers: Vec<Vec<u8>> = (0..WINDOW.min(n)).map(|_| Vec::new()).collect();
    let mut c = 0;
    while c < n {
        let end = (c + WINDOW).min(n);
        let window = &mut buffers[..(end - c) as usize];
        window.par_iter_mut().enumerate().for_each(|(i, buf)| {
            let ids = chunk_range(&range, c + i as u64);
            buf.clear();
            buf.reserve((ids.end - ids.start) as usize * 200);
            let mut d = decode(ids.start, &grid.lengths);
            for id in ids {
                let e = grid.evaluate(id, &d);
                write_row(buf, format, &labels, &d, &e);
                advance(&mut d, &grid.lengths);
            }
        });
        for b in window.iter() {
            out.write_all(b)?;
        }
        progress((end - c) * CHUNK);
        c = end;
    }
    Ok(())
}

/// Evaluate `range` and summarize it.
pub fn summarize(grid: &Grid, range: Range<u64>, progress: &(dyn Fn(u64) + Sync)) -> Summary {
    // Accumulators merge exactly (sums, maxima, a totally ordered top-k), so the chunk size
    // only trades scheduling slack against per-chunk setup; the result is the same.
    let len = range.end - range.start;
    let chunk = (len / SUMMARY_CHUNKS).clamp(CHUNK, MAX_SUMMARY_CHUNK);
    let done = AtomicU64::new(0);
    let zero_days = AtomicBool::new(false);
    let acc = (0..len.div_ceil(chunk))
        .into_par_iter()
        .map(|k| {
            let start = range.start + k * chunk;
            let ids = start..(start + chunk).min(range.end);
            let n = ids.end - ids.start;
            let mut acc = Accumulator::new(grid);
            acc.add_range(grid, ids, &zero_days);
            progress(done.fetch_add(n, Ordering::Relaxed) + n);
            acc
        })
        .reduce(|| Accumulator::new(grid), Accumulator::merge);
    let mut summary = acc.finish(grid);
    summary.ids = [range.start, range.end];
    summary
}
