//! Exact queries: k-NN, range, self-kNN and predecessor-constrained k-NN (DESIGN.md §4).
//!
//! Results are sorted by (distance, id); rows with fewer than `k` candidates are
//! padded with id [`NONE`](crate::tree::NONE) and distance `+∞`. Every query runs in
//! parallel on the [`Pool`] it is given, with per-worker scratch (no allocation per
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
mod evals;
mod filter;
mod kd_search;
mod offer;
mod resolve;
mod scan;
mod scratch;
mod topk;
mod tree_search;

pub use brute::{
    brute_force_knn, brute_force_knn_tiled, brute_force_predecessor_knn, brute_force_range,
    brute_force_self_knn,
};

use crate::build::hilbert_sorted;
use crate::metric::Metric;
use crate::pool::Pool;
use crate::tree::{kd_pays, KdIndex, Tree, NONE};
use crate::{Error, Result};
use evals::Evals;
use filter::Filter;
use rayon::prelude::*;
use scan::{range_scan_tiled, scan_tiled, TileScratch, TILE_QUERIES};
use scratch::{row_of, Scratch};

/// Queries that probe the paths (the k-d index where there is one, then the tree)
/// before the engine decides; their answers count (the first ones, or the last ones for
/// predecessor queries).
pub const PROBE_QUERIES: usize = 16;

/// k-NN queries go to the threads in blocks of this many, answered in order: each
/// query's search starts from a bound taken from the previous query of its block.
const QUERY_BLOCK: usize = 32;

/// Switch to the scan when probe queries needed more than this fraction of a full
/// scan's distance evaluations: a tree evaluation costs about ten scan evaluations
/// (child bounds, heap, single rows, scattered memory), measured on W1–W3
/// (BENCHMARKS.md).
pub const SCAN_FRACTION: f64 = 0.1;

/// What one k-d evaluation costs in scan rows over a tree of `rows` rows, for the
/// engine's choice of path. k-d evaluations are the rows its leaves measured with the
/// SIMD kernel plus the canonical distances of those within reach; each also carries its
/// share of box bounds and, in a big index, cache misses that a streaming scan does not
/// have. Measured per evaluation against a scanned row (uniform d = 8, BENCHMARKS.md):
/// 2.0× at 2^11 rows, 2.9× at 2^13, 3.7× at 2^15, ~7× at 2^20 — about
/// `2 + 0.5·log2(rows / 2048)`, which this returns, clamped to 2..8.
pub fn kd_eval_cost(rows: usize) -> f64 {
    (2.0 + 0.5 * (rows.max(1) as f64 / 2048.0).log2()).clamp(2.0, 8.0)
}

/// Trees with `nodes × dimensions × 8` bytes of coordinates (counted as f64, whatever
/// the storage) at least this many answer [`Tree::knn`] and [`Tree::range`] queries in
/// Hilbert order of the queries (on the tree and k-d paths): beyond the caches,
/// consecutive queries near each other share the rows they read.
pub const LOCALITY_BYTES: usize = 8 << 20;

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
    offsets: Vec<usize>,
    ids: Vec<u32>,
    dists: Vec<f64>,
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

/// Queries per work unit of [`Tree::range`]: each unit collects its answers in one
/// buffer, so nothing is allocated per query.
const RANGE_CHUNK: usize = 64;

/// The answers of one chunk of range queries, in the order they were answered.
#[derive(Default)]
struct RangePart {
    queries: Vec<u32>,
    /// Query `queries[j]`'s hits are `ids[ends[j - 1]..ends[j]]` (from 0 for `j = 0`).
    ends: Vec<usize>,
    ids: Vec<u32>,
    dists: Vec<f64>,
    evals: Evals,
}

impl RangePart {
    fn push(&mut self, q: u32, hits: &[(f64, u32)], ev: Evals) {
        self.queries.push(q);
        self.ids.extend(hits.iter().map(|h| h.1));
        self.dists.extend(hits.iter().map(|h| h.0));
        self.ends.push(self.ids.len());
        self.evals = self.evals + ev;
    }

    /// The evaluations of all `parts`.
    fn evals(parts: &[RangePart]) -> Evals {
        parts.iter().fold(Evals::default(), |a, p| a + p.evals)
    }

    /// The rows of queries `0..nq`, which `parts` answer between them, once each.
    fn assemble(parts: &[RangePart], nq: usize) -> RangeNeighbors {
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

/// Which path answered the queries.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum QueryPath {
    /// Every query went through the tree.
    Tree,
    /// The first queries probed the tree (and the k-d index, if any), which could not
    /// prune; the rest were scanned.
    Scan {
        /// Queries answered by the probes before switching.
        probed: usize,
    },
    /// The queries went through a k-d index of the tree's rows (metrics with Euclidean
    /// coordinates in at most 16 dimensions, where boxes prune what balls cannot): the
    /// probe found it cheaper than the tree and a scan, or every query was a probe (a
    /// batch of at most [`PROBE_QUERIES`]), or [`Via::Kd`] forced it.
    Kd {
        /// Queries answered through the index while probing (some of them also through
        /// the tree, until it could not win); 0 when forced.
        probed: usize,
    },
}

impl QueryPath {
    /// `"tree"`, `"scan"` or `"kd"`.
    pub fn name(self) -> &'static str {
        match self {
            QueryPath::Tree => "tree",
            QueryPath::Scan { .. } => "scan",
            QueryPath::Kd { .. } => "kd",
        }
    }
}

/// Which path queries take (k-NN kinds and range): [`Via::Auto`] lets the engine choose
/// (what [`Tree::knn`], [`Tree::range`] and their siblings do); the others force one, for
/// benchmarks and tests — every path gives the same answers.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum Via {
    /// Probe the k-d index (where there is one), then the tree, on [`PROBE_QUERIES`]
    /// queries and take the path that needed the fewest evaluations, weighed by their
    /// cost (the tree's probe stops once it cannot win).
    #[default]
    Auto,
    /// The cover tree for every query.
    Tree,
    /// A blocked scan of every row for every query.
    Scan,
    /// The k-d index of the tree's rows for every query (only for metrics with
    /// Euclidean coordinates in at most 16 dimensions; an error otherwise).
    Kd,
}

impl Via {
    /// Whether queries on `metric` may take the k-d path (Euclidean coordinates in at
    /// most 16 dimensions, one-phase); an error if `self` forces it where they may not.
    pub fn kd_open<M: Metric>(self, metric: &M) -> Result<bool> {
        let kd = !M::TWO_PHASE && kd_pays(metric);
        if self == Via::Kd && !kd {
            return Err(Error::invalid(
                "via",
                "the k-d path needs a metric with Euclidean coordinates in at most 16 dimensions".into(),
            ));
        }
        Ok(kd)
    }
}

impl std::str::FromStr for Via {
    type Err = Error;
    fn from_str(s: &str) -> Result<Self> {
        match s {
            "auto" => Ok(Via::Auto),
            "tree" => Ok(Via::Tree),
            "scan" => Ok(Via::Scan),
            "kd" => Ok(Via::Kd),
            _ => Err(Error::invalid(
                "via",
                format!("unknown query path {s:?} (expected auto, tree, scan or kd)"),
            )),
        }
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
}

impl QueryStats {
    /// Mean distance evaluations per query.
    pub fn evals_per_query(&self) -> f64 {
        self.distance_evals as f64 / self.queries.max(1) as f64
    }
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

fn check_k(k: usize, max: usize, mode: &str) -> Result<()> {
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

impl<M: Metric> Tree<M> {
    /// The order in which the queries of [`Tree::knn`] and [`Tree::range`] go along
    /// `path`: on the tree and k-d paths of a tree whose coordinates outgrow the caches
    /// (see [`LOCALITY_BYTES`]), sorted along a Hilbert curve so that consecutive queries
    /// of a worker read the same rows (W5's queries, median of five: 947 → 497 ms); else
    /// as given (`None`), where the rows stay in cache anyway and the keys would cost
    /// more than they save (W2, W3: 10 % slower sorted). Queries without coordinates, or with more than 128
    /// (one bit of key each), keep their order.
    fn query_order(&self, queries: &M, path: QueryPath, pool: &Pool) -> Option<Vec<u32>> {
        let dim = queries.coordinate_dim();
        let bytes = self.num_nodes() * self.metric.coordinate_dim() * std::mem::size_of::<f64>();
        if matches!(path, QueryPath::Scan { .. }) || bytes < LOCALITY_BYTES || !(1..=128).contains(&dim) {
            return None;
        }
        let ids: Vec<u32> = (0..queries.len() as u32).collect();
        Some(pool.install(|| hilbert_sorted(queries, &ids, 128)))
    }

    /// The order in which self and predecessor queries go along `path`: on the tree
    /// and k-d paths, ids in the tree's depth-first layout (each node, then its
    /// duplicates; deleted ids last), so that consecutive queries read the rows of one
    /// subtree (W7's queries 2.3–2.6 s → 1.3 s); on the scan path by id (`None`), so
    /// that a tile of predecessor queries scans only the rows below its largest id.
    fn layout_order(&self, path: QueryPath) -> Option<Vec<u32>> {
        if matches!(path, QueryPath::Scan { .. }) {
            return None;
        }
        let mut order = Vec::with_capacity(self.id_bound());
        for p in 0..self.num_nodes() as u32 {
            order.push(self.id[p as usize]);
            order.extend_from_slice(self.dups_of(p));
        }
        order.extend((0..self.id_bound() as u32).filter(|&i| row_of(self, i).is_none()));
        Some(order)
    }

    /// The `k` nearest points of the tree to each point of `queries` (`1 ≤ k ≤ len()`).
    pub fn knn(&self, queries: &M, k: usize, pool: &Pool) -> Result<(Neighbors, QueryStats)> {
        self.knn_via(queries, k, pool, Via::Auto)
    }

    /// [`Tree::knn`] along the path `via`.
    pub fn knn_via(&self, queries: &M, k: usize, pool: &Pool, via: Via) -> Result<(Neighbors, QueryStats)> {
        check_k(k, self.len(), "k-NN")?;
        self.metric.check_queries(queries)?;
        check_query_count(queries.len())?;
        self.run_knn(
            queries,
            queries.len(),
            k,
            pool,
            |i| Some((i as u32, Filter::All)),
            false,
            via,
            |path| self.query_order(queries, path, pool),
        )
    }

    /// For each point, its `k` nearest other points (`1 ≤ k ≤ len()`; its duplicates
    /// count as other points; with `k = len()` the last entry is padding). One row per
    /// id below [`Tree::id_bound`]; rows of deleted ids are all padding.
    pub fn self_knn(&self, k: usize, pool: &Pool) -> Result<(Neighbors, QueryStats)> {
        self.self_knn_via(k, pool, Via::Auto)
    }

    /// [`Tree::self_knn`] along the path `via`.
    pub fn self_knn_via(&self, k: usize, pool: &Pool, via: Via) -> Result<(Neighbors, QueryStats)> {
        check_k(k, self.len(), "self-kNN")?;
        self.run_knn(
            &self.metric,
            self.id_bound(),
            k,
            pool,
            |i| row_of(self, i as u32).map(|r| (r, Filter::Except(i as u32))),
            false,
            via,
            |path| self.layout_order(path),
        )
    }

    /// For each point `i`, its `k` nearest points among ids `< i` (the Vecchia
    /// conditioning sets; `1 ≤ k ≤ len()`); rows with fewer than `k` predecessors are padded.
    /// One row per id below [`Tree::id_bound`]; rows of deleted ids are all padding.
    pub fn predecessor_knn(&self, k: usize, pool: &Pool) -> Result<(Neighbors, QueryStats)> {
        self.predecessor_knn_via(k, pool, Via::Auto)
    }

    /// [`Tree::predecessor_knn`] along the path `via`.
    pub fn predecessor_knn_via(&self, k: usize, pool: &Pool, via: Via) -> Result<(Neighbors, QueryStats)> {
        check_k(k, self.len(), "predecessor")?;
        self.run_knn(
            &self.metric,
            self.id_bound(),
            k,
            pool,
            |i| row_of(self, i as u32).map(|r| (r, Filter::Below(i as u32))),
            true,
            via,
            |path| self.layout_order(path),
        )
    }

    /// All points within `r` (canonical distance `≤ r`) of each point of `queries`,
    /// sorted by (distance, id).
    pub fn range(&self, queries: &M, r: f64, pool: &Pool) -> Result<(RangeNeighbors, QueryStats)> {
        self.range_via(queries, r, pool, Via::Auto)
    }

    /// [`Tree::range`] along the path `via`: the engine probes and chooses as for
    /// [`Tree::knn`] (never slower than brute force), or `via` forces a path.
    pub fn range_via(
        &self,
        queries: &M,
        r: f64,
        pool: &Pool,
        via: Via,
    ) -> Result<(RangeNeighbors, QueryStats)> {
        if !(r >= 0.0 && r.is_finite()) {
            return Err(Error::invalid(
                "radius",
                format!("{r} is not a finite radius ≥ 0"),
            ));
        }
        self.metric.check_queries(queries)?;
        let kd = self.kd_path(via)?;
        let nq = queries.len();
        check_query_count(nq)?;
        // One `install` for all of it, as in `run_knn`.
        Ok(pool.install(|| self.range_in_pool(queries, r, pool, via, kd)))
    }

    /// Builds (the first time, on `pool`) what queries along `path` read: the k-d index
    /// for the k-d path, returned; the buckets' sketches for every run along the tree,
    /// probes too, so that a query's evaluations do not depend on which call built them.
    fn prepare(&self, path: QueryPath, pool: &Pool) -> Option<&KdIndex> {
        match path {
            QueryPath::Kd { .. } => Some(self.kd_index(pool.rayon())),
            QueryPath::Tree => {
                self.sketches(pool.rayon());
                None
            }
            QueryPath::Scan { .. } => None,
        }
    }

    /// [`Tree::range_via`] on a worker of `pool`, arguments checked; `kd`: whether the
    /// k-d path is open.
    fn range_in_pool(
        &self,
        queries: &M,
        r: f64,
        pool: &Pool,
        via: Via,
        kd: bool,
    ) -> (RangeNeighbors, QueryStats) {
        let nq = queries.len();
        // The answers of queries `qs` along `path`, one part per chunk of queries.
        let run = |qs: &[u32], path: QueryPath| -> Vec<RangePart> {
            let use_scan = path != QueryPath::Tree;
            let ix = self.prepare(path, pool);
            // Where blocks pay, the scan runs tiles of queries (each row read once per tile).
            let tiled = use_scan && ix.is_none() && !M::TWO_PHASE && self.metric.blocks_pay();
            pool.install(|| {
                qs.par_chunks(RANGE_CHUNK)
                    .map_init(
                        || (Scratch::default(), TileScratch::default()),
                        |(sc, tsc), chunk| {
                            let mut part = RangePart::default();
                            if tiled {
                                for tile in chunk.chunks(TILE_QUERIES) {
                                    range_scan_tiled(self, queries, tile, r, tsc, |q, hits, ev| {
                                        part.push(q, hits, ev)
                                    });
                                }
                                return part;
                            }
                            for &q in chunk {
                                let ev = sc.range(self, ix, queries, q, r, use_scan);
                                part.push(q, &sc.hits, ev);
                            }
                            part
                        },
                    )
                    .collect()
            })
        };
        let mut parts = Vec::new();
        let (path, probe, first) = self.choose_path(nq, via, kd, |from, len, path| {
            let qs: Vec<u32> = (from as u32..(from + len) as u32).collect();
            let got = run(&qs, path);
            let ev = RangePart::evals(&got);
            if kd == matches!(path, QueryPath::Kd { .. }) {
                parts.extend(got); // answered for good (later probes repeat them)
            }
            ev
        });
        let rest: Vec<u32> = match self.query_order(queries, path, pool) {
            Some(order) => order.into_iter().filter(|&i| i as usize >= probe).collect(),
            None => (probe as u32..nq as u32).collect(),
        };
        let got = run(&rest, path);
        let rest_evals = RangePart::evals(&got);
        parts.extend(got);
        let stats = QueryStats {
            path,
            queries: nq,
            distance_evals: first.total() + rest_evals.total(),
            exact_evals: first.exact + rest_evals.exact,
        };
        (RangePart::assemble(&parts, nq), stats)
    }

    /// Whether queries may take the k-d path (metrics with Euclidean coordinates in at
    /// most 16 dimensions); an error when `via` forces it and they may not.
    fn kd_path(&self, via: Via) -> Result<bool> {
        via.kd_open(&self.metric)
    }

    /// The path for a batch of `nq` queries, and the probes it took: `probe(from, len,
    /// path)` answers probe queries `from..from + len` (counted from the first probe)
    /// along `path` and returns their evaluations. Returns the path, the number of probe
    /// queries answered for good, and the evaluations of every probe. The probe queries'
    /// answers are final from the first path that measured them: the k-d index where
    /// there is one (`kd`), else the tree; a later probe of the same query repeats them.
    ///
    /// Auto measures the probe queries through the k-d index (if any), then through the
    /// tree in steps of four, stopping as soon as the tree has cost more than the k-d
    /// index or a scan would for all of them (it cannot win any more, so the rest of its
    /// probe would be waste). The cheapest path answers the rest. The rule depends only
    /// on evaluation counts, which do not depend on the threads (each block of
    /// [`QUERY_BLOCK`] queries is answered in order), so the path is deterministic. A
    /// forced path probes nothing.
    fn choose_path(
        &self,
        nq: usize,
        via: Via,
        kd: bool,
        mut probe: impl FnMut(usize, usize, QueryPath) -> Evals,
    ) -> (QueryPath, usize, Evals) {
        let wanted = match via {
            Via::Auto => nq.min(PROBE_QUERIES),
            Via::Tree => return (QueryPath::Tree, 0, Evals::default()),
            Via::Scan => return (QueryPath::Scan { probed: 0 }, 0, Evals::default()),
            Via::Kd => return (QueryPath::Kd { probed: 0 }, 0, Evals::default()),
        };
        // Costs in scan rows: a tree evaluation 1 / SCAN_FRACTION (a bucket row 1), a k-d
        // evaluation kd_eval_cost(rows), a scan one per row.
        let tree_eval = 1.0 / SCAN_FRACTION;
        let scan_cost = self.num_nodes() as f64 * wanted as f64;
        let mut first = Evals::default();
        let mut kd_cost = f64::INFINITY;
        if kd && wanted > 0 {
            let ev = probe(0, wanted, QueryPath::Kd { probed: wanted });
            kd_cost = (ev.approx + ev.exact) as f64 * kd_eval_cost(self.num_nodes());
            first = ev;
            if nq == wanted {
                // Every query is answered.
                return (QueryPath::Kd { probed: wanted }, wanted, first);
            }
        }
        let bar = kd_cost.min(scan_cost);
        let (mut done, mut tree) = (0, Evals::default());
        while done < wanted && tree.cost(tree_eval) <= bar {
            let step = (wanted - done).min(4);
            tree = tree + probe(done, step, QueryPath::Tree);
            done += step;
        }
        let answered = if kd { wanted } else { done };
        let path = if (done == wanted && tree.cost(tree_eval) <= bar) || nq == answered {
            QueryPath::Tree
        } else if kd_cost < scan_cost {
            QueryPath::Kd { probed: answered }
        } else {
            QueryPath::Scan { probed: answered }
        };
        (path, answered, first + tree)
    }

    /// Runs `nq` k-NN queries; `map(i)` gives query i's row in `qm` and its filter, or
    /// `None` for an id no longer in the tree (its row stays padded). After the probes,
    /// queries are answered in `order(path)` (a permutation of `0..nq`; `None`: as
    /// given), which only changes what the caches hold, never an answer.
    ///
    /// All of it runs inside one `install` on the pool: the probes' small steps and the
    /// query order then start on a worker without waking one each time (W6 at 2 threads
    /// took 1.12–1.15× as long with the engine's probes as along the tree directly,
    /// mostly those wake-ups).
    #[allow(clippy::too_many_arguments)]
    fn run_knn(
        &self,
        qm: &M,
        nq: usize,
        k: usize,
        pool: &Pool,
        map: impl Fn(usize) -> Option<(u32, Filter)> + Sync + Send,
        probe_tail: bool,
        via: Via,
        order: impl FnOnce(QueryPath) -> Option<Vec<u32>> + Send,
    ) -> Result<(Neighbors, QueryStats)> {
        pool.install(|| self.run_knn_in_pool(qm, nq, k, pool, map, probe_tail, via, order))
    }

    /// [`Tree::run_knn`] on a worker of `pool`.
    #[allow(clippy::too_many_arguments)]
    fn run_knn_in_pool(
        &self,
        qm: &M,
        nq: usize,
        k: usize,
        pool: &Pool,
        map: impl Fn(usize) -> Option<(u32, Filter)> + Sync,
        probe_tail: bool,
        via: Via,
        order: impl FnOnce(QueryPath) -> Option<Vec<u32>>,
    ) -> Result<(Neighbors, QueryStats)> {
        let kd = self.kd_path(via)?;
        let cells = nq.checked_mul(k).ok_or_else(|| {
            Error::invalid("k", format!("{nq} queries × k = {k} overflows the result size"))
        })?;
        let mut ids = vec![NONE; cells];
        let mut dists = vec![f64::INFINITY; cells];
        // `qs[j]` is the query whose answer goes to the j-th row of `ids` / `dists`.
        let run = |qs: &[u32], ids: &mut [u32], dists: &mut [f64], path: QueryPath| -> Evals {
            let use_scan = path != QueryPath::Tree;
            let use_kd = matches!(path, QueryPath::Kd { .. });
            // Built (the first time) here on the pool, before the queries that use it.
            let ix = self.prepare(path, pool);
            pool.install(|| {
                if use_scan && !use_kd && (M::TWO_PHASE || self.metric.blocks_pay()) {
                    // A block of queries at a time: each row read once per block.
                    return ids
                        .par_chunks_mut(TILE_QUERIES * k)
                        .zip(dists.par_chunks_mut(TILE_QUERIES * k))
                        .enumerate()
                        .map_init(TileScratch::default, |sc, (b, (ri, rd))| {
                            let at = b * TILE_QUERIES;
                            let tile: Vec<Option<(u32, Filter)>> = qs[at..at + ri.len() / k]
                                .iter()
                                .map(|&i| map(i as usize))
                                .collect();
                            scan_tiled(self, qm, &tile, k, sc, ri, rd)
                        })
                        .reduce(Evals::default, |a, b| a + b);
                }
                ids.par_chunks_mut(QUERY_BLOCK * k)
                    .zip(dists.par_chunks_mut(QUERY_BLOCK * k))
                    .enumerate()
                    .map_init(Scratch::default, |sc, (b, (bi, bd))| {
                        // Each block starts without a prior bound, so that a query's
                        // evaluations (and the path the probes choose) do not depend
                        // on how the blocks were spread over the threads.
                        sc.forget();
                        let mut ev = Evals::default();
                        let rows = bi.chunks_mut(k).zip(bd.chunks_mut(k));
                        for (&i, (ri, rd)) in qs[b * QUERY_BLOCK..].iter().zip(rows) {
                            let Some((q, filter)) = map(i as usize) else {
                                continue;
                            };
                            ev = ev
                                + if let Some(ix) = ix {
                                    sc.knn_kd(self, ix, qm, q, k, filter)
                                } else {
                                    sc.knn(self, qm, q, k, filter, use_scan)
                                };
                            sc.topk.write(ri, rd);
                        }
                        ev
                    })
                    .reduce(Evals::default, |a, b| a + b)
            })
        };
        // Predecessor queries probe the last rows: the first ones have almost no
        // predecessors and would make any tree look cheap.
        let base = if probe_tail && via == Via::Auto {
            nq - nq.min(PROBE_QUERIES)
        } else {
            0
        };
        let (path, probe, first) = self.choose_path(nq, via, kd, |from, len, path| {
            let at = base + from;
            let qs: Vec<u32> = (at as u32..(at + len) as u32).collect();
            run(
                &qs,
                &mut ids[at * k..(at + len) * k],
                &mut dists[at * k..(at + len) * k],
                path,
            )
        });
        // The other queries: in place where they go as given; else in `order` (locality:
        // consecutive queries of a worker meet the same rows in cache), answered into rows
        // of their own and put in place.
        let rest = match order(path) {
            None => {
                let tail = base + probe;
                let qs: Vec<u32> = (tail as u32..nq as u32).collect();
                let mut rest = run(&qs, &mut ids[tail * k..], &mut dists[tail * k..], path);
                if base > 0 {
                    let qs: Vec<u32> = (0..base as u32).collect();
                    rest = rest + run(&qs, &mut ids[..base * k], &mut dists[..base * k], path);
                }
                rest
            }
            Some(order) => {
                assert_eq!(order.len(), nq, "the query order is a permutation of the queries");
                let probed = base..base + probe;
                let rest_qs: Vec<u32> = order
                    .into_iter()
                    .filter(|&i| !probed.contains(&(i as usize)))
                    .collect();
                let mut rest_ids = vec![NONE; rest_qs.len() * k];
                let mut rest_dists = vec![f64::INFINITY; rest_qs.len() * k];
                let rest = run(&rest_qs, &mut rest_ids, &mut rest_dists, path);
                // Query i's answer is row slot[i] of the rest (NONE for the probes).
                let mut slot = vec![NONE; nq];
                for (j, &i) in rest_qs.iter().enumerate() {
                    slot[i as usize] = j as u32;
                }
                pool.install(|| {
                    ids.par_chunks_mut(k)
                        .zip(dists.par_chunks_mut(k))
                        .zip(slot.par_iter())
                        .filter(|(_, &j)| j != NONE)
                        .for_each(|((ri, rd), &j)| {
                            let at = j as usize * k;
                            ri.copy_from_slice(&rest_ids[at..at + k]);
                            rd.copy_from_slice(&rest_dists[at..at + k]);
                        })
                });
                rest
            }
        };
        let stats = QueryStats {
            path,
            queries: nq,
            distance_evals: first.total() + rest.total(),
            exact_evals: first.exact + rest.exact,
        };
        Ok((Neighbors::new(k, ids, dists), stats))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{datagen, Dataset, Euclidean};

    fn is_permutation(order: &[u32], n: usize) -> bool {
        let mut seen = vec![false; n];
        order.len() == n
            && order
                .iter()
                .all(|&i| !std::mem::replace(&mut seen[i as usize], true))
    }

    /// The path choice from probe costs alone: the k-d index is probed first and answers
    /// the probes; the tree's probe stops as soon as it has cost more than the best other
    /// path; ties go to the tree; all-answered batches need no choice.
    #[test]
    fn path_choice_follows_the_probe_costs() {
        let pool = Pool::new(1).unwrap();
        let n = 1000;
        let m = Euclidean::new(Dataset::from_rows(&datagen::uniform(n, 3, 9), n, 3).unwrap()).unwrap();
        let tree = Tree::build(m, &pool).unwrap();
        let w = kd_eval_cost(n);
        // Per probe query: tree evaluations (each weighs 1 / SCAN_FRACTION rows), k-d ones.
        let choose = |nq: usize, kd: bool, tree_ev: u64, kd_ev: u64| {
            let mut calls = Vec::new();
            let (path, answered, ev) = tree.choose_path(nq, Via::Auto, kd, |from, len, path| {
                calls.push((from, len, path.name()));
                let per = if path == QueryPath::Tree { tree_ev } else { kd_ev };
                Evals {
                    approx: per * len as u64,
                    exact: 0,
                    rows: 0,
                }
            });
            assert_eq!(
                ev.total(),
                calls
                    .iter()
                    .map(|c| c.1 as u64 * if c.2 == "tree" { tree_ev } else { kd_ev })
                    .sum::<u64>()
            );
            (path, answered, calls)
        };
        // The k-d index far cheaper: one tree step of four, then k-d for the rest.
        let (path, answered, calls) = choose(100, true, 100, 10);
        assert_eq!((path, answered), (QueryPath::Kd { probed: 16 }, 16));
        assert_eq!(calls, vec![(0, 16, "kd"), (0, 4, "tree")]);
        // The tree cheaper than both: all four steps, and the tree.
        let (path, answered, calls) = choose(100, true, 10, 1000);
        assert_eq!((path, answered), (QueryPath::Tree, 16));
        assert_eq!(calls.len(), 5);
        // Tree and k-d exactly equal in weighted cost (20 · 10 = 100 · 2): the tree.
        assert_eq!((w, 1.0 / SCAN_FRACTION), (2.0, 10.0));
        assert_eq!(choose(100, true, 20, 100).0, QueryPath::Tree);
        assert_eq!(choose(100, true, 21, 100).0, QueryPath::Kd { probed: 16 });
        // Neither prunes (both cost more than a scan of the n rows): the scan.
        let (path, _, calls) = choose(100, true, n as u64, n as u64);
        assert_eq!(path, QueryPath::Scan { probed: 16 });
        assert_eq!(calls.len(), 2, "the tree stops after one step: {calls:?}");
        let (path, answered, _) = choose(100, false, n as u64, 0);
        assert_eq!((path, answered), (QueryPath::Scan { probed: 4 }, 4));
        // Every query a probe: k-d answers all without a tree probe; without k-d the
        // tree does, unless it stops early (then the rest is scanned).
        let (path, answered, calls) = choose(10, true, 1, 1000);
        assert_eq!(
            (path, answered, calls.len()),
            (QueryPath::Kd { probed: 10 }, 10, 1)
        );
        let (path, answered, _) = choose(10, false, 1, 0);
        assert_eq!((path, answered), (QueryPath::Tree, 10));
        let (path, answered, _) = choose(10, false, n as u64, 0);
        assert_eq!((path, answered), (QueryPath::Scan { probed: 4 }, 4));
        // Forced paths probe nothing.
        for (via, want) in [
            (Via::Tree, QueryPath::Tree),
            (Via::Scan, QueryPath::Scan { probed: 0 }),
            (Via::Kd, QueryPath::Kd { probed: 0 }),
        ] {
            let got = tree.choose_path(100, via, true, |_, _, _| panic!("no probe when forced"));
            assert_eq!((got.0, got.1), (want, 0));
        }
    }

    /// External queries are reordered only on trees past `LOCALITY_BYTES` and off the
    /// scan path; self and predecessor queries off the scan path; every order is a
    /// permutation (the oracle tests check the answers that come back through it).
    #[test]
    fn queries_are_reordered_where_it_pays() {
        let pool = Pool::new(2).unwrap();
        let euclid = |n: usize, dim: usize, seed: u64| {
            Euclidean::new(Dataset::from_rows(&datagen::uniform(n, dim, seed), n, dim).unwrap()).unwrap()
        };
        let queries = euclid(500, 8, 3);
        let big = Tree::build(euclid(LOCALITY_BYTES / 64, 8, 1), &pool).unwrap();
        let small = Tree::build(euclid(2_000, 8, 2), &pool).unwrap();
        let kd = QueryPath::Kd { probed: 0 };
        let scan = QueryPath::Scan { probed: 0 };
        let order = big
            .query_order(&queries, kd, &pool)
            .expect("a big tree sorts its queries");
        assert!(is_permutation(&order, 500));
        assert!(
            order.iter().enumerate().any(|(i, &q)| q as usize != i),
            "sorted, not as given"
        );
        assert_eq!(
            big.query_order(&queries, QueryPath::Tree, &pool).as_deref(),
            Some(&order[..])
        );
        assert!(big.query_order(&queries, scan, &pool).is_none());
        assert!(small.query_order(&queries, kd, &pool).is_none());
        let layout = small.layout_order(kd).expect("self queries go in layout order");
        assert!(is_permutation(&layout, small.id_bound()));
        assert!(small.layout_order(scan).is_none());
    }
}
