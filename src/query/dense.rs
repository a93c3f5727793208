//! The dense engine: exact k-NN without an index, for data a tree cannot prune or jobs
//! too small to repay a build (the plan's other engine, [`crate::job`]). Metrics whose
//! tiles are matrix products ([`crate::metric::Capabilities::tiles_pay`]: residual,
//! Euclidean in 16 or more dimensions) go as tiles of a block of queries × a block of
//! rows; the others one query at a time through the blocked kernels (the brute force).
//!
//! ```text
//! per block of ≤ 128 queries (parallel on the pool):
//!   per tile of 1,024 rows:  Metric::bounds(Run × Run) → intervals     (one matrix product:
//!                            keep pairs whose lower bound is within       V_Q·V_Rᵀ, or Q·Xᵀ)
//!                            the query's k-th smallest upper bound
//!   per query:               canonical distances of the survivors → top k, ties by id
//! ```
//!
//! Answers are the canonical ones (the same as every other path, any thread count):
//! the tile products only decide which pairs are measured; every pair they rule out
//! goes to [`Metric::rejected`] (the residual metric's audit). Memory: two tiles of
//! `f64` per worker (2 MiB each) and the survivors.

use super::collect::{Collector, KnnCollector};
use super::topk::TopK;
use super::{check_k, Neighbors};
use crate::metric::{Bounds, Metric, Points};
use crate::pool::Pool;
use crate::tree::NONE;
use crate::Result;
use rayon::prelude::*;

/// Most queries per block.
const QUERY_BLOCK: usize = 128;
/// Rows per tile.
const ROW_TILE: usize = 1024;

/// Which rows a query may see.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Rows {
    /// Every row (queries are other points).
    All,
    /// Every row but the query's own id (self-kNN).
    Others,
    /// Rows with smaller ids (predecessor-constrained k-NN).
    Before,
}

impl Rows {
    /// The rows `0..end` that query `i` may see, and the one to skip (`NONE`: none).
    #[inline]
    fn of(self, i: usize, n: usize) -> (usize, u32) {
        match self {
            Rows::All => (n, NONE),
            Rows::Others => (n, i as u32),
            Rows::Before => (i, NONE),
        }
    }
}

/// The exact `k` nearest points of `data` to each point of `queries` through the dense
/// engine (`1 ≤ k ≤ n`). Same answers as [`super::brute_force_knn`] and every tree path.
///
/// ```
/// use pcct::{datagen, Dataset, Euclidean, Pool};
/// let pool = Pool::new(2)?;
/// let data = Euclidean::new(Dataset::from_rows(&datagen::uniform(500, 4, 1), 500, 4)?)?;
/// let queries = Euclidean::new(Dataset::from_rows(&datagen::uniform(10, 4, 2), 10, 4)?)?;
/// let nb = pcct::query::dense_knn(&data, &queries, 3, &pool)?;
/// assert_eq!(nb, pcct::query::brute_force_knn(&data, &queries, 3, &pool)?);
/// # Ok::<(), pcct::Error>(())
/// ```
pub fn dense_knn<M: Metric>(data: &M, queries: &M, k: usize, pool: &Pool) -> Result<Neighbors> {
    check_k(k, data.len(), "k-NN")?;
    data.check_queries(queries)?;
    Ok(dense_observed(
        data,
        queries,
        k,
        Rows::All,
        pool,
        super::unobserved(),
    ))
}

/// For each point, its exact `k` nearest other points, through the dense engine (padded
/// where fewer exist).
pub fn dense_self_knn<M: Metric>(data: &M, k: usize, pool: &Pool) -> Result<Neighbors> {
    check_k(k, data.len(), "self-kNN")?;
    Ok(dense_observed(
        data,
        data,
        k,
        Rows::Others,
        pool,
        super::unobserved(),
    ))
}

/// For each point `i`, its exact `k` nearest points among ids `< i`, through the dense
/// engine: only the lower triangle of tiles is computed (padded rows as everywhere).
pub fn dense_predecessor_knn<M: Metric>(data: &M, k: usize, pool: &Pool) -> Result<Neighbors> {
    check_k(k, data.len(), "predecessor")?;
    Ok(dense_observed(
        data,
        data,
        k,
        Rows::Before,
        pool,
        super::unobserved(),
    ))
}

/// Per-worker scratch: one collector per query of a block, the two bound tiles and
/// the final top k.
struct Scratch {
    cols: Vec<KnnCollector>,
    lo: Vec<f64>,
    hi: Vec<f64>,
    top: TopK,
}

/// The dense engine for `rows` (`queries` is `data` for self and predecessor jobs; `k`
/// checked by the caller), telling `observe` of every block answered.
pub(crate) fn dense_observed<M: Metric>(
    data: &M,
    queries: &M,
    k: usize,
    rows: Rows,
    pool: &Pool,
    observe: super::Observer<'_>,
) -> Neighbors {
    let (n, nq) = (data.len(), queries.len());
    if !data.capabilities().tiles_pay {
        // One query at a time through the blocked kernels: for cheap distances a tile's
        // intervals cost more than they save.
        return super::brute::run(
            data,
            queries,
            nq,
            k,
            pool,
            |i| {
                let (end, skip) = rows.of(i, n);
                (end as u32, skip)
            },
            observe,
        );
    }
    // Enough blocks for every thread to have several (load balance), none above the cap.
    let qb = nq.div_ceil(4 * pool.threads()).clamp(1, QUERY_BLOCK);
    let mut ids = vec![NONE; nq * k];
    let mut dists = vec![f64::INFINITY; nq * k];
    pool.install(|| {
        ids.par_chunks_mut(qb * k)
            .zip(dists.par_chunks_mut(qb * k))
            .enumerate()
            .for_each_init(
                || Scratch {
                    cols: (0..qb).map(|_| KnnCollector::default()).collect(),
                    lo: vec![0.0; qb * ROW_TILE],
                    hi: vec![0.0; qb * ROW_TILE],
                    top: TopK::default(),
                },
                |sc, (b, (ri, rd))| {
                    block(data, queries, k, rows, b * qb, sc, ri, rd);
                    observe(ri.len() / k);
                },
            )
    });
    Neighbors::new(k, ids, dists)
}

/// One block of queries `q0..q0 + ri.len() / k`: tiles, survivors, canonical answers.
#[allow(clippy::too_many_arguments)]
fn block<M: Metric>(
    data: &M,
    queries: &M,
    k: usize,
    rows: Rows,
    q0: usize,
    sc: &mut Scratch,
    ri: &mut [u32],
    rd: &mut [f64],
) {
    const CHUNK: usize = 32;
    let n = data.len();
    let bq = ri.len() / k;
    let Scratch { cols, lo, hi, top } = sc;
    for c in cols.iter_mut().take(bq) {
        c.reset(k, f64::INFINITY);
    }
    // Rows any query of the block may see.
    let end = (0..bq).map(|a| rows.of(q0 + a, n).0).max().unwrap_or(0);
    let mut first = 0;
    while first < end {
        let nr = (end - first).min(ROW_TILE);
        let (l, h) = (&mut lo[..bq * nr], &mut hi[..bq * nr]);
        let qs = Points::Run {
            first: q0 as u32,
            len: bq,
        };
        let tile = Points::Run {
            first: first as u32,
            len: nr,
        };
        data.bounds(queries, qs, tile, Bounds::Interval { lo: l, hi: h });
        for (a, col) in cols.iter_mut().take(bq).enumerate() {
            let (stop, skip) = rows.of(q0 + a, n);
            let visible = stop.saturating_sub(first).min(nr);
            let (la, ha) = (&l[a * nr..a * nr + visible], &h[a * nr..a * nr + visible]);
            // Most pairs are out: test a chunk at once (vectorized), offer within hits.
            for (c, chunk) in la.chunks(CHUNK).enumerate() {
                let t = col.threshold();
                if !chunk.iter().fold(false, |hit, &lb| hit | (lb <= t)) {
                    // (Free unless the metric audits: the default hook is empty.)
                    for r in 0..chunk.len() {
                        let j = (first + c * CHUNK + r) as u32;
                        data.rejected(queries, (q0 + a) as u32, j, t);
                    }
                    continue;
                }
                for (r, &lb) in chunk.iter().enumerate() {
                    let at = c * CHUNK + r;
                    let j = (first + at) as u32;
                    if j == skip {
                        continue;
                    }
                    if lb <= col.threshold() {
                        col.offer(lb, ha[at], j, j);
                    } else {
                        data.rejected(queries, (q0 + a) as u32, j, col.threshold());
                    }
                }
            }
        }
        first += nr;
    }
    for (a, col) in cols.iter().take(bq).enumerate() {
        let t = col.threshold();
        top.reset(k);
        let q = (q0 + a) as u32;
        for &(lb, _, j) in col.candidates() {
            if lb <= t {
                top.push(data.distance(queries, q, j), j);
            } else {
                data.rejected(queries, q, j, t);
            }
        }
        top.write(&mut ri[a * k..(a + 1) * k], &mut rd[a * k..(a + 1) * k]);
    }
}
