//! Giving freed memory back to the system while a large import is joined.
//!
//! A fleet import decodes every proxy's samples into small vectors (16 KB for a week at 5 m)
//! and then moves them, proxy by proxy, into the long form's large columns. glibc keeps the
//! small vectors' freed memory for reuse by later small allocations, which the large columns
//! never are, so the process would hold the decoded responses and the long form at once (3 GB
//! for 10^4 proxies instead of under 2). [`release_freed`] asks the allocator to return freed
//! pages; elsewhere it does nothing.

/// Return memory freed so far to the system (glibc's `malloc_trim`).
pub fn release_freed() {
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    // SAFETY: malloc_trim only releases pages the allocator already holds free; it takes no
    // pointers and is safe to call at any time from any thread.
    unsafe {
        libc::malloc_trim(0);
    }
}
