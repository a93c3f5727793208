//! The thread pool every parallel entry point of pcct runs in.
//!
//! pcct never uses rayon's global pool: a [`Pool`] owns a rayon `ThreadPool` and is
//! passed explicitly. Workers can be pinned to CPUs (with `core_affinity`, in the
//! pool's start handler), placed by a NUMA policy over the topology read from
//! `/sys/devices/system/node` (one node — the common case — simply works).
//!
//! ```
//! use pcct::pool::{NumaPolicy, Pool};
//! let pool = Pool::builder().threads(2).pin(true).numa(NumaPolicy::Auto).build()?;
//! assert_eq!(pool.threads(), 2);
//! # Ok::<(), pcct::Error>(())
//! ```

use crate::{Error, Result};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;

/// How pinned workers are spread over NUMA nodes.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum NumaPolicy {
    /// Compact while the first node has enough CPUs, interleaved beyond.
    #[default]
    Auto,
    /// CPUs in id order, ignoring nodes.
    Off,
    /// Round-robin over nodes (spreads memory bandwidth).
    Interleave,
    /// Fill one node before the next (keeps workers close).
    Compact,
}

/// The CPUs of each NUMA node, from `/sys/devices/system/node` (or one node with
/// every CPU where that is unavailable).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Topology {
    /// CPU ids per node, ascending.
    pub nodes: Vec<Vec<usize>>,
}

/// Parses a Linux cpulist such as `0-3,8,10-11`.
fn parse_cpulist(s: &str) -> Option<Vec<usize>> {
    let mut cpus = Vec::new();
    for part in s.trim().split(',').filter(|p| !p.is_empty()) {
        match part.split_once('-') {
            Some((a, b)) => cpus.extend(a.trim().parse::<usize>().ok()?..=b.trim().parse::<usize>().ok()?),
            None => cpus.push(part.trim().parse().ok()?),
        }
    }
    Some(cpus)
}

impl Topology {
    /// Reads the topology of this machine.
    pub fn detect() -> Self {
        let mut nodes: Vec<(usize, Vec<usize>)> = std::fs::read_dir("/sys/devices/system/node")
            .into_iter()
            .flatten()
            .flatten()
            .filter_map(|e| {
                let name = e.file_name().into_string().ok()?;
                let id: usize = name.strip_prefix("node")?.parse().ok()?;
                let list = std::fs::read_to_string(e.path().join("cpulist")).ok()?;
                Some((id, parse_cpulist(&list)?)).filter(|(_, c)| !c.is_empty())
            })
            .collect();
        nodes.sort();
        if nodes.is_empty() {
            let cpus = std::thread::available_parallelism().map_or(1, |n| n.get());
            return Topology {
                nodes: vec![(0..cpus).collect()],
            };
        }
        Topology {
            nodes: nodes.into_iter().map(|(_, c)| c).collect(),
        }
    }

    /// The CPU each of `threads` workers is pinned to, by `policy` (CPUs are reused
    /// round-robin when there are more workers than CPUs).
    pub fn placement(&self, threads: usize, policy: NumaPolicy) -> Vec<usize> {
        let mut all: Vec<usize> = self.nodes.iter().flatten().copied().collect();
        all.sort_unstable();
        let interleaved = || {
            let deepest = self.nodes.iter().map(Vec::len).max().unwrap_or(0);
            (0..deepest)
                .flat_map(|i| self.nodes.iter().filter_map(move |n| n.get(i).copied()))
                .collect::<Vec<_>>()
        };
        let compact = || self.nodes.iter().flatten().copied().collect::<Vec<_>>();
        let order = match policy {
            NumaPolicy::Off => all,
            NumaPolicy::Compact => compact(),
            NumaPolicy::Interleave => interleaved(),
            NumaPolicy::Auto if threads <= self.nodes.first().map_or(0, Vec::len) => compact(),
            NumaPolicy::Auto => interleaved(),
        };
        if order.is_empty() {
            return vec![0; threads];
        }
        (0..threads).map(|i| order[i % order.len()]).collect()
    }
}

/// Configures a [`Pool`]; [`PoolBuilder::build`] validates once.
#[derive(Clone, Debug)]
pub struct PoolBuilder {
    threads: usize,
    pin: bool,
    numa: NumaPolicy,
    name: String,
}

impl Default for PoolBuilder {
    fn default() -> Self {
        PoolBuilder {
            threads: 0,
            pin: false,
            numa: NumaPolicy::Auto,
            name: "pcct".into(),
        }
    }
}

impl PoolBuilder {
    /// Worker threads (0: one per available CPU).
    pub fn threads(mut self, threads: usize) -> Self {
        self.threads = threads;
        self
    }

    /// Pin each worker to one CPU (default off).
    pub fn pin(mut self, pin: bool) -> Self {
        self.pin = pin;
        self
    }

    /// How pinned workers are placed over NUMA nodes (default [`NumaPolicy::Auto`]).
    pub fn numa(mut self, numa: NumaPolicy) -> Self {
        self.numa = numa;
        self
    }

    /// Thread-name prefix (workers are `PREFIX-0`, `PREFIX-1`, …).
    pub fn name(mut self, prefix: &str) -> Self {
        self.name = prefix.to_string();
        self
    }

    /// Starts the workers.
    pub fn build(self) -> Result<Pool> {
        const MAX_THREADS: usize = 4096;
        if self.threads > MAX_THREADS {
            return Err(Error::invalid(
                "threads",
                format!("{} exceeds {MAX_THREADS}", self.threads),
            ));
        }
        let threads = match self.threads {
            0 => std::thread::available_parallelism().map_or(1, |n| n.get()),
            t => t,
        };
        let topology = Topology::detect();
        let placement = if self.pin {
            topology.placement(threads, self.numa)
        } else {
            Vec::new()
        };
        let pinned = Arc::new(AtomicUsize::new(0));
        let (plan, count) = (placement.clone(), Arc::clone(&pinned));
        let prefix = self.name.clone();
        let mut b = rayon::ThreadPoolBuilder::new()
            .num_threads(threads)
            .thread_name(move |i| format!("{prefix}-{i}"));
        if self.pin {
            b = b.start_handler(move |i| {
                if core_affinity::set_for_current(core_affinity::CoreId { id: plan[i] }) {
                    count.fetch_add(1, Ordering::Relaxed);
                }
            });
        }
        let inner = b
            .build()
            .map_err(|e| Error::invalid("threads", format!("cannot start {threads} threads: {e}")))?;
        Ok(Pool {
            inner,
            placement,
            pinned,
            topology,
        })
    }
}

/// An explicit pool of worker threads.
#[derive(Debug)]
pub struct Pool {
    inner: rayon::ThreadPool,
    placement: Vec<usize>,
    pinned: Arc<AtomicUsize>,
    topology: Topology,
}

impl Pool {
    /// A pool of `threads` unpinned workers (`0` means one per available CPU).
    pub fn new(threads: usize) -> Result<Self> {
        Self::builder().threads(threads).build()
    }

    /// A builder for pinned or NUMA-placed pools.
    pub fn builder() -> PoolBuilder {
        PoolBuilder::default()
    }

    /// Number of worker threads.
    pub fn threads(&self) -> usize {
        self.inner.current_num_threads()
    }

    /// The CPU each worker was asked to pin to (empty when unpinned).
    pub fn placement(&self) -> &[usize] {
        &self.placement
    }

    /// How many workers have pinned successfully so far (workers start lazily).
    pub fn pinned_threads(&self) -> usize {
        self.pinned.load(Ordering::Relaxed)
    }

    /// The topology the pool was placed on.
    pub fn topology(&self) -> &Topology {
        &self.topology
    }

    /// Runs `f` inside the pool (parallel iterators in `f` use its workers).
    pub fn install<R: Send>(&self, f: impl FnOnce() -> R + Send) -> R {
        self.inner.install(f)
    }

    /// Runs `a` and `b`, potentially in parallel, on this pool's workers.
    pub fn join<A: Send, B: Send>(
        &self,
        a: impl FnOnce() -> A + Send,
        b: impl FnOnce() -> B + Send,
    ) -> (A, B) {
        self.inner.join(a, b)
    }

    /// The underlying rayon pool (for crates that take one, like `pcct-arenas`).
    pub fn rayon(&self) -> &rayon::ThreadPool {
        &self.inner
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cpulists_parse() {
        assert_eq!(parse_cpulist("0-3,8,10-11\n"), Some(vec![0, 1, 2, 3, 8, 10, 11]));
        assert_eq!(parse_cpulist("5"), Some(vec![5]));
        assert_eq!(parse_cpulist("x"), None);
    }

    #[test]
    fn placement_follows_the_policy() {
        let t = Topology {
            nodes: vec![vec![0, 1, 2, 3], vec![4, 5, 6, 7]],
        };
        assert_eq!(t.placement(3, NumaPolicy::Compact), vec![0, 1, 2]);
        assert_eq!(t.placement(4, NumaPolicy::Interleave), vec![0, 4, 1, 5]);
        assert_eq!(t.placement(4, NumaPolicy::Auto), vec![0, 1, 2, 3]);
        assert_eq!(t.placement(6, NumaPolicy::Auto), vec![0, 4, 1, 5, 2, 6]);
        assert_eq!(
            t.placement(10, NumaPolicy::Off),
            vec![0, 1, 2, 3, 4, 5, 6, 7, 0, 1]
        );
        let one = Topology {
            nodes: vec![vec![0, 1]],
        };
        assert_eq!(one.placement(2, NumaPolicy::Auto), vec![0, 1]);
    }

    #[test]
    fn pinned_pool_runs_and_pins() {
        let pool = Pool::builder()
            .threads(2)
            .pin(true)
            .name("pin-test")
            .build()
            .unwrap();
        let names: Vec<String> = pool
            .rayon()
            .broadcast(|_| std::thread::current().name().unwrap().to_string());
        assert_eq!(names, vec!["pin-test-0".to_string(), "pin-test-1".to_string()]);
        assert_eq!(pool.placement().len(), 2);
        // Pinning succeeds for the placed CPUs this process may run on.
        let allowed: Vec<usize> = core_affinity::get_core_ids()
            .unwrap_or_default()
            .iter()
            .map(|c| c.id)
            .collect();
        let expected = pool.placement().iter().filter(|c| allowed.contains(c)).count();
        assert_eq!(
            pool.pinned_threads(),
            expected,
            "placement {:?}, allowed {allowed:?}",
            pool.placement()
        );
        assert!(Pool::builder().threads(1 << 20).build().is_err());
    }
}
