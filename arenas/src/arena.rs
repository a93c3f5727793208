//! Per-thread bump arenas with high-water statistics.
//!
//! One [`Arena`] per pool worker (a `bumpalo::Bump` is `Send` but not `Sync`),
//! plus one for the thread that called into the pool. Reset between batches;
//! after a reset an arena keeps one chunk as large as the most it ever held, so a
//! batch no bigger than an earlier one allocates nothing new.

use bumpalo::Bump;

/// A bump arena that remembers the most it ever held.
#[derive(Debug, Default)]
pub struct Arena {
    bump: Bump,
    high_water: usize,
    chunk_allocations: u64,
}

impl Arena {
    /// An empty arena (allocates on first use).
    pub fn new() -> Self {
        Self::default()
    }

    /// An arena with one chunk of at least `bytes`.
    pub fn with_capacity(bytes: usize) -> Self {
        Arena {
            bump: Bump::with_capacity(bytes),
            high_water: 0,
            chunk_allocations: 1,
        }
    }

    /// The allocator: `Vec::new_in(arena.bump())` and friends.
    pub fn bump(&self) -> &Bump {
        &self.bump
    }

    /// Bytes the arena holds from the system now (all its chunks).
    pub fn allocated_bytes(&self) -> usize {
        self.bump.allocated_bytes()
    }

    /// The most bytes the arena held at any reset so far.
    pub fn high_water(&self) -> usize {
        self.high_water.max(self.allocated_bytes())
    }

    /// How many times a reset had to replace the kept chunk by a larger one.
    pub fn chunk_allocations(&self) -> u64 {
        self.chunk_allocations
    }

    /// Frees everything allocated since the last reset. Keeps one chunk of at least
    /// the high-water size, so the next batch of the same size allocates nothing.
    pub fn reset(&mut self) {
        self.high_water = self.high_water.max(self.bump.allocated_bytes());
        self.bump.reset();
        if self.bump.chunk_capacity() < self.high_water {
            self.bump = Bump::with_capacity(self.high_water);
            self.chunk_allocations += 1;
        }
    }
}
