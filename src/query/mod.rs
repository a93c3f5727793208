//! Exact queries: k-NN, range, self-kNN and predecessor-constrained k-NN (DESIGN.md §4).
//!
//! Results are sorted by (distance, id); rows with fewer than `k` candidates are
//! padded with id [`NONE`](crate::tree::NONE) and distance `+∞`. Every query runs in
//! parallel on the [`Pool`](crate::Pool) it is given, with per-worker scratch (no allocation per
//! query once warm), and the answers do not depend on the number of threads.
//!
//! **Never slower than brute force** (every query kind, range included).
//! Up to [`PROBE_QUERIES`] queries probe the paths first. Metrics with Euclidean
//! coordinates in at most 16 dimensions answer them through a k-d index of the tree's
//! rows (boxes prune uniform data in a few dimensions that cover-tree balls cannot);
//! then they go through the tree, four at a time, until the tree has needed more than
//! the k-d index or a scan of every node would (a tree evaluation weighs
//! `1 / `[`SCAN_FRACTION`] scan rows, a k-d one [`kd_eval_cost`]). The path with the
//! smallest weighted count answers the rest — the blocked scan with the same kernels
//! and the same canonical decisions where neither index prunes. Identical answers on
//! every path; [`QueryStats::path`] says which one ran, and [`Via`] forces one.

mod bounds;
mod brute;
mod collect;
mod dense;
mod engine;
mod evals;
mod filter;
mod kd_points;
mod kd_search;
mod offer;
mod plan;
mod request;
mod resolve;
mod result;
mod scan;
mod scratch;
mod topk;
mod tree_search;

pub use brute::{brute_force_knn, brute_force_predecessor_knn, brute_force_range, brute_force_self_knn};
pub use dense::{dense_knn, dense_predecessor_knn, dense_self_knn};
pub(crate) use dense::{dense_observed, Rows};
pub(crate) use kd_points::kd_observed;
pub use kd_points::{kd_knn, kd_predecessor_knn, kd_self_knn};

pub use plan::{kd_eval_cost, QueryPath, Via, LOCALITY_BYTES, PROBE_QUERIES, SCAN_FRACTION};
pub use request::{KnnRequest, RangeRequest};
pub use result::{Neighbors, QueryStats, RangeNeighbors};

use crate::{Error, Result};

/// Told how many more queries a job has answered (for progress bars); called from the
/// pool's workers, so it must be `Sync`. See [`crate::Job::observe`].
pub type Observer<'a> = &'a (dyn Fn(usize) + Sync);

/// The observer that ignores everything.
pub(crate) fn unobserved() -> Observer<'static> {
    &|_| {}
}

/// Queries are addressed by `u32` ids, like points.
fn check_query_count(nq: usize) -> Result<()> {
    if nq > u32::MAX as usize {
        return Err(Error::invalid(
            "queries",
            format!("{nq} queries exceed the {} a batch can address", u32::MAX),
        ));
    }
    Ok(())
}

pub(crate) fn check_k(k: usize, max: usize, mode: &str) -> Result<()> {
    if k == 0 {
        return Err(Error::invalid("k", "k must be at least 1".into()));
    }
    if k > max {
        return Err(Error::invalid(
            "k",
            format!("k = {k} exceeds the {max} points available to {mode} queries"),
        ));
    }
    Ok(())
}
