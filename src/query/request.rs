//! One way in per query kind. [`Tree::knn`], [`Tree::self_knn`], [`Tree::predecessor_knn`]
//! and [`Tree::range`] return a request; options are set on it ([`KnnRequest::via`]) and
//! [`KnnRequest::run`] answers it on a pool:
//!
//! ```
//! # use pcct::{datagen, Dataset, Euclidean, Pool, Tree, Via};
//! # let pool = Pool::new(1)?;
//! # let points = |n, seed| Euclidean::new(Dataset::from_rows(&datagen::uniform(n, 3, seed), n, 3)?);
//! let tree = Tree::build(points(500, 1)?, &pool)?;
//! let queries = points(10, 2)?;
//! let (nn, stats) = tree.knn(&queries, 5).run(&pool)?; // the engine picks the path
//! let (forced, _) = tree.knn(&queries, 5).via(Via::Scan).run(&pool)?;
//! assert_eq!((nn.ids(), nn.dists()), (forced.ids(), forced.dists()));
//! # let _ = stats;
//! # Ok::<(), pcct::Error>(())
//! ```

use super::filter::Filter;
use super::plan::Via;
use super::result::{Neighbors, QueryStats, RangeNeighbors};
use super::scratch::row_of;
use super::{check_k, check_query_count};
use crate::metric::Metric;
use crate::pool::Pool;
use crate::tree::Tree;
use crate::{Error, Result};

/// Whose neighbours a [`KnnRequest`] asks for.
#[derive(Clone, Copy)]
enum Of<'q, M> {
    /// Each point of a separate set of queries, among all points of the tree.
    Queries(&'q M),
    /// Each point of the tree, among the others (its duplicates count as others).
    Points,
    /// Each point `i` of the tree, among the points with ids below `i`.
    Predecessors,
}

/// A k-nearest-neighbour request on a tree: made by [`Tree::knn`], [`Tree::self_knn`] or
/// [`Tree::predecessor_knn`], answered by [`KnnRequest::run`].
#[must_use = "a request does nothing until it is run"]
pub struct KnnRequest<'t, M> {
    tree: &'t Tree<M>,
    of: Of<'t, M>,
    k: usize,
    via: Via,
}

/// A range request on a tree: made by [`Tree::range`], answered by [`RangeRequest::run`].
#[must_use = "a request does nothing until it is run"]
pub struct RangeRequest<'t, M> {
    tree: &'t Tree<M>,
    queries: &'t M,
    r: f64,
    via: Via,
    max_pairs: usize,
}

impl<'t, M: Metric> KnnRequest<'t, M> {
    /// The path the queries take: [`Via::Auto`] (the default) lets the engine probe and
    /// choose; the others force one. Every path gives the same answers.
    pub fn via(mut self, via: Via) -> Self {
        self.via = via;
        self
    }

    /// Answers the request on `pool`: `k` neighbours per row, sorted by (distance, id),
    /// short rows padded with id [`NONE`](crate::tree::NONE) and distance `+∞`. Errors
    /// name the bad argument: `k` outside `1..=len()`, queries of another dimension, or
    /// [`Via::Kd`] on a metric without a k-d index.
    pub fn run(self, pool: &Pool) -> Result<(Neighbors, QueryStats)> {
        let KnnRequest { tree, of, k, via } = self;
        match of {
            Of::Queries(queries) => {
                check_k(k, tree.len(), "k-NN")?;
                tree.metric.check_queries(queries)?;
                check_query_count(queries.len())?;
                tree.run_knn(
                    queries,
                    queries.len(),
                    k,
                    pool,
                    |i| Some((i as u32, Filter::All)),
                    false,
                    via,
                    |path| tree.query_order(queries, path, pool),
                )
            }
            Of::Points | Of::Predecessors => {
                let below = matches!(of, Of::Predecessors);
                check_k(k, tree.len(), if below { "predecessor" } else { "self-kNN" })?;
                let filter = move |i: u32| {
                    if below {
                        Filter::Below(i)
                    } else {
                        Filter::Except(i)
                    }
                };
                tree.run_knn(
                    &tree.metric,
                    tree.id_bound(),
                    k,
                    pool,
                    |i| row_of(tree, i as u32).map(|r| (r, filter(i as u32))),
                    below,
                    via,
                    |path| tree.layout_order(path),
                )
            }
        }
    }
}

impl<'t, M: Metric> RangeRequest<'t, M> {
    /// The path the queries take, as [`KnnRequest::via`].
    pub fn via(mut self, via: Via) -> Self {
        self.via = via;
        self
    }

    /// Refuses, with an error naming the limit, an answer of more than `max_pairs`
    /// (query, point) pairs — a radius that takes in a group of a million identical points
    /// for each of a million queries — instead of filling memory; the work stops soon
    /// after the limit is passed. Default: no limit.
    pub fn max_pairs(mut self, max_pairs: usize) -> Self {
        self.max_pairs = max_pairs;
        self
    }

    /// Answers the request on `pool`: for each query, every point within `r`
    /// (canonical distance `≤ r`), sorted by (distance, id). The engine probes and
    /// chooses a path as for k-NN (never slower than brute force). An error if the answer
    /// would pass [`RangeRequest::max_pairs`].
    pub fn run(self, pool: &Pool) -> Result<(RangeNeighbors, QueryStats)> {
        let RangeRequest {
            tree,
            queries,
            r,
            via,
            max_pairs,
        } = self;
        if !(r >= 0.0 && r.is_finite()) {
            return Err(Error::invalid(
                "radius",
                format!("{r} is not a finite radius ≥ 0"),
            ));
        }
        tree.metric.check_queries(queries)?;
        let kd = via.kd_open(&tree.metric)?;
        let nq = queries.len();
        check_query_count(nq)?;
        // One `install` for all of it, as in `run_knn`.
        pool.install(|| tree.range_in_pool(queries, r, pool, via, kd, max_pairs))
    }
}

impl<M: Metric> Tree<M> {
    /// The `k` nearest points of the tree to each point of `queries` (`1 ≤ k ≤ len()`),
    /// one row per query: `tree.knn(&queries, k).run(&pool)`.
    pub fn knn<'t>(&'t self, queries: &'t M, k: usize) -> KnnRequest<'t, M> {
        self.knn_request(Of::Queries(queries), k)
    }

    /// For each point, its `k` nearest other points (`1 ≤ k ≤ len()`; its duplicates
    /// count as other points; with `k = len()` the last entry is padding). One row per
    /// id below [`Tree::id_bound`]; rows of deleted ids are all padding.
    pub fn self_knn(&self, k: usize) -> KnnRequest<'_, M> {
        self.knn_request(Of::Points, k)
    }

    /// For each point `i`, its `k` nearest points among ids `< i` (the Vecchia
    /// conditioning sets; `1 ≤ k ≤ len()`); rows with fewer than `k` predecessors are
    /// padded. One row per id below [`Tree::id_bound`]; rows of deleted ids are all
    /// padding. The engine probes with the last queries: the first ones have almost no
    /// predecessors and would make any tree look cheap.
    pub fn predecessor_knn(&self, k: usize) -> KnnRequest<'_, M> {
        self.knn_request(Of::Predecessors, k)
    }

    /// All points within `r` of each point of `queries`: `tree.range(&queries, r).run(&pool)`.
    pub fn range<'t>(&'t self, queries: &'t M, r: f64) -> RangeRequest<'t, M> {
        RangeRequest {
            tree: self,
            queries,
            r,
            via: Via::Auto,
            max_pairs: usize::MAX,
        }
    }

    fn knn_request<'t>(&'t self, of: Of<'t, M>, k: usize) -> KnnRequest<'t, M> {
        KnnRequest {
            tree: self,
            of,
            k,
            via: Via::Auto,
        }
    }
}
