//! Per-thread bump arenas with high-water statistics.
//!
//! One [`Arena`] per pool worker (a `bumpalo::Bump` is `Send` but not `Sync`),
//! plus one for the thread that called into the pool. Reset between batches;
//! after a reset an arena keeps one chunk as large as the most it ever held, so a
//! batch no bigger than an earlier one allocates nothing new.

use bumpalo::Bump;
use std::sync::Mutex;

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

/// Statistics over all arenas of a [`ThreadArenas`].
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct ArenaStats {
    /// Sum of the arenas' current holdings, bytes.
    pub allocated_bytes: usize,
    /// Sum of the arenas' high-water marks, bytes.
    pub high_water_bytes: usize,
    /// Chunk replacements at reset, over all arenas.
    pub chunk_allocations: u64,
}

/// One arena per worker of a pool, plus one for the calling thread.
///
/// Inside a pool worker [`ThreadArenas::with`] picks that worker's arena from
/// `rayon::current_thread_index()`; outside any worker it picks the caller's.
/// Each arena sits behind its own mutex, locked once per `with` call (never per
/// allocation), and only its own worker ever takes it, so the lock is uncontended.
#[derive(Debug)]
pub struct ThreadArenas {
    arenas: Vec<Mutex<Arena>>,
}

impl ThreadArenas {
    /// Arenas for a pool of `threads` workers (and the caller).
    pub fn new(threads: usize) -> Self {
        ThreadArenas {
            arenas: (0..=threads).map(|_| Mutex::new(Arena::new())).collect(),
        }
    }

    /// Arenas for the workers of `pool` (and the caller).
    pub fn for_pool(pool: &rayon::ThreadPool) -> Self {
        Self::new(pool.current_num_threads())
    }

    fn index(&self) -> usize {
        let caller = self.arenas.len() - 1;
        match rayon::current_thread_index() {
            Some(i) if i < caller => i,
            _ => caller,
        }
    }

    /// Runs `f` with this thread's arena.
    ///
    /// # Panics
    /// If called re-entrantly on the same thread (the arena is already borrowed).
    pub fn with<R>(&self, f: impl FnOnce(&Bump) -> R) -> R {
        let guard = self.arenas[self.index()]
            .try_lock()
            .expect("pcct-arenas: a thread's arena is already in use (re-entrant ThreadArenas::with)");
        f(guard.bump())
    }

    /// Resets every arena (between batches).
    pub fn reset_all(&mut self) {
        for a in &mut self.arenas {
            a.get_mut().unwrap_or_else(|p| p.into_inner()).reset();
        }
    }

    /// Bytes each arena holds now: workers `0..threads` first, the caller's last.
    pub fn allocated_per_arena(&self) -> Vec<usize> {
        self.arenas
            .iter()
            .map(|a| a.lock().unwrap_or_else(|p| p.into_inner()).allocated_bytes())
            .collect()
    }

    /// Current holdings and high-water marks, summed over all arenas.
    pub fn stats(&self) -> ArenaStats {
        let mut s = ArenaStats::default();
        for a in &self.arenas {
            let a = a.lock().unwrap_or_else(|p| p.into_inner());
            s.allocated_bytes += a.allocated_bytes();
            s.high_water_bytes += a.high_water();
            s.chunk_allocations += a.chunk_allocations();
        }
        s
    }
}
