//! What queries return: neighbours (fixed k per row), range hits (CSR rows), and the
//! counters of a batch.

use super::evals::Evals;
use super::plan::QueryPath;

/// The k nearest neighbours of each query: `queries × k`, row-major.
#[derive(Clone, Debug, PartialEq)]
pub struct Neighbors {
    k: usize,
    ids: Vec<u32>,
    dists: Vec<f64>,
}

impl Neighbors {
    pub(crate) fn new(k: usize, ids: Vec<u32>, dists: Vec<f64>) -> Self {
        Neighbors { k, ids, dists }
    }

    /// Neighbours per query.
    pub fn k(&self) -> usize {
        self.k
    }

    /// Number of queries.
    pub fn len(&self) -> usize {
        self.ids.len().checked_div(self.k).unwrap_or(0)
    }

    /// Whether there are no queries.
    pub fn is_empty(&self) -> bool {
        self.ids.is_empty()
    }

    /// All ids, row-major (`NONE` pads short rows).
    pub fn ids(&self) -> &[u32] {
        &self.ids
    }

    /// All distances, row-major (`+∞` pads short rows).
    pub fn dists(&self) -> &[f64] {
        &self.dists
    }

    /// The ids and distances of query `i`.
    pub fn row(&self, i: usize) -> (&[u32], &[f64]) {
        (
            &self.ids[i * self.k..(i + 1) * self.k],
            &self.dists[i * self.k..(i + 1) * self.k],
        )
    }
}

/// All neighbours within a radius of each query, sorted by (distance, id).
#[derive(Clone, Debug, PartialEq)]
pub struct RangeNeighbors {
    pub(super) offsets: Vec<usize>,
    pub(super) ids: Vec<u32>,
    pub(super) dists: Vec<f64>,
}

impl RangeNeighbors {
    /// Number of queries.
    pub fn len(&self) -> usize {
        self.offsets.len() - 1
    }

    /// Whether there are no queries.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The ids and distances of query `i`.
    pub fn row(&self, i: usize) -> (&[u32], &[f64]) {
        let r = self.offsets[i]..self.offsets[i + 1];
        (&self.ids[r.clone()], &self.dists[r])
    }
}

/// Queries per work unit of [`Tree::range`](crate::Tree::range): each unit collects its answers in one
/// buffer, so nothing is allocated per query.
pub(super) const RANGE_CHUNK: usize = 64;

/// The answers of one chunk of range queries, in the order they were answered.
#[derive(Default)]
pub(super) struct RangePart {
    queries: Vec<u32>,
    /// Query `queries[j]`'s hits are `ids[ends[j - 1]..ends[j]]` (from 0 for `j = 0`).
    ends: Vec<usize>,
    ids: Vec<u32>,
    dists: Vec<f64>,
    evals: Evals,
}

impl RangePart {
    /// The (query, point) pairs held.
    pub(super) fn pairs(&self) -> usize {
        self.ids.len()
    }

    pub(super) fn push(&mut self, q: u32, hits: &[(f64, u32)], ev: Evals) {
        self.queries.push(q);
        self.ids.extend(hits.iter().map(|h| h.1));
        self.dists.extend(hits.iter().map(|h| h.0));
        self.ends.push(self.ids.len());
        self.evals = self.evals + ev;
    }

    /// The evaluations of all `parts`.
    pub(super) fn evals(parts: &[RangePart]) -> Evals {
        parts.iter().fold(Evals::default(), |a, p| a + p.evals)
    }

    /// The rows of queries `0..nq`, which `parts` answer between them, once each.
    pub(super) fn assemble(parts: &[RangePart], nq: usize) -> RangeNeighbors {
        // Where query i's hits are: (part, start, end).
        let mut at = vec![(usize::MAX, 0, 0); nq];
        for (pi, p) in parts.iter().enumerate() {
            let mut start = 0;
            for (&q, &end) in p.queries.iter().zip(&p.ends) {
                assert_eq!(at[q as usize].0, usize::MAX, "query {q} answered twice");
                at[q as usize] = (pi, start, end);
                start = end;
            }
        }
        assert!(at.iter().all(|a| a.0 != usize::MAX), "every query answered");
        let total = parts.iter().map(|p| p.ids.len()).sum();
        let mut offsets = Vec::with_capacity(nq + 1);
        let (mut ids, mut dists) = (Vec::with_capacity(total), Vec::with_capacity(total));
        offsets.push(0);
        for &(pi, a, b) in &at {
            ids.extend_from_slice(&parts[pi].ids[a..b]);
            dists.extend_from_slice(&parts[pi].dists[a..b]);
            offsets.push(ids.len());
        }
        RangeNeighbors { offsets, ids, dists }
    }
}

/// Counters of a query batch.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct QueryStats {
    /// The path taken.
    pub path: QueryPath,
    /// Number of queries.
    pub queries: usize,
    /// Distance evaluations, all kinds (block approximations and canonical ones),
    /// including the probes of every path the engine tried.
    pub distance_evals: u64,
    /// Of which canonical (exact, f64) evaluations.
    pub exact_evals: u64,
    /// Points handed to the queries' results for the final ranking, probes included (a
    /// node's duplicates count one each; for k-NN at most k of a group of identical
    /// points per query).
    pub offers: u64,
}

impl QueryStats {
    /// The counters of `queries` queries along `path` that cost `ev` in all.
    pub(super) fn of(path: QueryPath, queries: usize, ev: Evals) -> Self {
        QueryStats {
            path,
            queries,
            distance_evals: ev.total(),
            exact_evals: ev.exact,
            offers: ev.offers,
        }
    }

    /// Mean distance evaluations per query.
    pub fn evals_per_query(&self) -> f64 {
        self.distance_evals as f64 / self.queries.max(1) as f64
    }
}
