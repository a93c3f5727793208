//! Planning: which path answers a batch (tree, k-d index or scan), chosen from probe
//! costs, and the order in which queries go.

use super::evals::Evals;
use super::scratch::row_of;
use crate::build::hilbert_sorted;
use crate::metric::Metric;
use crate::pool::Pool;
use crate::tree::{kd_pays, KdIndex, Tree};
use crate::{Error, Result};

/// Queries that probe the paths (the k-d index where there is one, then the tree)
/// before the engine decides; their answers count (the first ones, or the last ones for
/// predecessor queries).
pub const PROBE_QUERIES: usize = 16;

/// Switch to the scan when probe queries needed more than this fraction of a full
/// scan's distance evaluations: a tree evaluation costs several times a scan evaluation
/// (child bounds, heap, single rows, scattered memory). Chosen by measurement; see
/// BENCHMARKS.md, section Queries vs peers.
pub const SCAN_FRACTION: f64 = 0.1;

/// What one k-d evaluation costs in scan rows over a tree of `rows` rows, for the
/// engine's choice of path. k-d evaluations are the rows its leaves measured with the
/// SIMD kernel plus the canonical distances of those within reach; each also carries its
/// share of box bounds and, in a big index, cache misses that a streaming scan does not
/// have, so the cost grows with the index: `2 + 0.5·log2(rows / 2048)`, clamped to 2..8,
/// fitted to measurements (see BENCHMARKS.md, section Queries vs peers).
pub fn kd_eval_cost(rows: usize) -> f64 {
    (2.0 + 0.5 * (rows.max(1) as f64 / 2048.0).log2()).clamp(2.0, 8.0)
}

/// Trees with `nodes × dimensions × 8` bytes of coordinates (counted as f64, whatever
/// the storage) at least this many answer [`Tree::knn`] and [`Tree::range`] queries in
/// Hilbert order of the queries (on the tree and k-d paths): beyond the caches,
/// consecutive queries near each other share the rows they read.
pub const LOCALITY_BYTES: usize = 8 << 20;

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
        let kd = !metric.capabilities().two_phase && kd_pays(metric);
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

impl<M: Metric> Tree<M> {
    /// The order in which the queries of [`Tree::knn`] and [`Tree::range`] go along
    /// `path`: on the tree and k-d paths of a tree whose coordinates outgrow the caches
    /// (see [`LOCALITY_BYTES`]), sorted along a Hilbert curve so that consecutive queries
    /// of a worker read the same rows; else as given (`None`), where the rows stay in
    /// cache anyway and the keys would cost more than they save. Queries without
    /// coordinates, or with more than 128 (one bit of key each), keep their order.
    pub(super) fn query_order(&self, queries: &M, path: QueryPath, pool: &Pool) -> Option<Vec<u32>> {
        let dim = queries.capabilities().coordinate_dim;
        let bytes = self.num_nodes() * self.metric.capabilities().coordinate_dim * std::mem::size_of::<f64>();
        if matches!(path, QueryPath::Scan { .. }) || bytes < LOCALITY_BYTES || !(1..=128).contains(&dim) {
            return None;
        }
        let ids: Vec<u32> = (0..queries.len() as u32).collect();
        Some(pool.install(|| hilbert_sorted(queries, &ids, 128)))
    }

    /// The order in which self and predecessor queries go along `path`: on the tree
    /// and k-d paths, ids in the tree's depth-first layout (each node, then its
    /// duplicates; deleted ids last), so that consecutive queries read the rows of one
    /// subtree; on the scan path by id (`None`), so that a tile of predecessor queries
    /// scans only the rows below its largest id.
    pub(super) fn layout_order(&self, path: QueryPath) -> Option<Vec<u32>> {
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

    /// Builds (the first time, on `pool`) what queries along `path` read: the k-d index
    /// for the k-d path, returned; the buckets' sketches for every run along the tree,
    /// probes too, so that a query's evaluations do not depend on which call built them.
    pub(super) fn prepare(&self, path: QueryPath, pool: &Pool) -> Option<&KdIndex> {
        match path {
            QueryPath::Kd { .. } => Some(self.kd_index(pool)),
            QueryPath::Tree => {
                self.sketches(pool);
                None
            }
            QueryPath::Scan { .. } => None,
        }
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
    /// `QUERY_BLOCK` queries is answered in order), so the path is deterministic. A
    /// forced path probes nothing. A flat tree's auto path is the k-d index or the scan.
    pub(super) fn choose_path(
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
        // A flat tree cannot win: it is never probed.
        while !self.flat && done < wanted && tree.cost(tree_eval) <= bar {
            let step = (wanted - done).min(4);
            tree = tree + probe(done, step, QueryPath::Tree);
            done += step;
        }
        let answered = if kd { wanted } else { done };
        let path = if !self.flat && ((done == wanted && tree.cost(tree_eval) <= bar) || nq == answered) {
            QueryPath::Tree
        } else if kd_cost < scan_cost {
            QueryPath::Kd { probed: answered }
        } else {
            QueryPath::Scan { probed: answered }
        };
        (path, answered, first + tree)
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
                    ..Evals::default()
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
