//! The thread pool every parallel entry point of pcct runs in.
//!
//! pcct never uses rayon's global pool: a [`Pool`] owns a rayon `ThreadPool` and is
//! passed explicitly. (Pinning and NUMA placement come with the parallel-build work.)

use crate::{Error, Result};

/// An explicit pool of worker threads.
#[derive(Debug)]
pub struct Pool {
    inner: rayon::ThreadPool,
}

impl Pool {
    /// A pool of `threads` workers (`0` means one per available core).
    pub fn new(threads: usize) -> Result<Self> {
        let threads = if threads == 0 {
            std::thread::available_parallelism().map_or(1, |n| n.get())
        } else {
            threads
        };
        let inner = rayon::ThreadPoolBuilder::new()
            .num_threads(threads)
            .thread_name(|i| format!("pcct-{i}"))
            .build()
            .map_err(|e| Error::invalid("threads", format!("cannot start {threads} threads: {e}")))?;
        Ok(Pool { inner })
    }

    /// Number of worker threads.
    pub fn threads(&self) -> usize {
        self.inner.current_num_threads()
    }

    /// Runs `f` inside the pool (parallel iterators in `f` use its workers).
    pub fn install<R: Send>(&self, f: impl FnOnce() -> R + Send) -> R {
        self.inner.install(f)
    }

    /// The underlying rayon pool (for crates that take one, like `pcct-arenas`).
    pub fn rayon(&self) -> &rayon::ThreadPool {
        &self.inner
    }
}
