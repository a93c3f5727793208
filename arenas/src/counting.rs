//! A counting global allocator, for measuring peak heap use in benchmarks.
//!
//! ```text
//! #[global_allocator]
//! static ALLOC: pcct_arenas::CountingAlloc = pcct_arenas::CountingAlloc::new();
//! ALLOC.reset_peak();
//! // … work …
//! let peak_bytes = ALLOC.peak() - baseline;
//! ```

use std::alloc::{GlobalAlloc, Layout, System};
use std::sync::atomic::{AtomicUsize, Ordering::Relaxed};

/// The system allocator, counting live and peak heap bytes (relaxed atomics: exact
/// totals, negligible cost next to an allocation).
#[derive(Debug, Default)]
pub struct CountingAlloc {
    live: AtomicUsize,
    peak: AtomicUsize,
}

impl CountingAlloc {
    /// A counter at zero.
    pub const fn new() -> Self {
        CountingAlloc {
            live: AtomicUsize::new(0),
            peak: AtomicUsize::new(0),
        }
    }

    /// Bytes allocated and not yet freed.
    pub fn live(&self) -> usize {
        self.live.load(Relaxed)
    }

    /// The most bytes live at once since the last [`CountingAlloc::reset_peak`].
    pub fn peak(&self) -> usize {
        self.peak.load(Relaxed)
    }

    /// Starts a new peak from the bytes live now.
    pub fn reset_peak(&self) {
        self.peak.store(self.live(), Relaxed);
    }
}

// SAFETY: every call forwards to the system allocator with the caller's arguments;
// the counters only observe sizes.
unsafe impl GlobalAlloc for CountingAlloc {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        let now = self.live.fetch_add(layout.size(), Relaxed) + layout.size();
        self.peak.fetch_max(now, Relaxed);
        // SAFETY: forwarded with the caller's layout, which meets `alloc`'s contract.
        unsafe { System.alloc(layout) }
    }

    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        self.live.fetch_sub(layout.size(), Relaxed);
        // SAFETY: `ptr` came from `System.alloc` (through `alloc`) with this layout.
        unsafe { System.dealloc(ptr, layout) }
    }
}
