//! k-NN straight from a k-d index over the points, without a cover tree: the plan's
//! engine for Euclidean data in few dimensions ([`crate::job`]), where boxes prune and a
//! cover tree's build would cost more than all the queries.
//!
//! One k-d index over every point (ids as tags and keys: a predecessor search skips boxes
//! and entries whose smallest id is not below the query's; predecessor jobs get one index
//! per doubling prefix of the ids, see `blocks`), built with its big halves split on the
//! pool; then the queries in parallel, each collecting its k nearest by (distance, id)
//! from the canonical distances the index measures. Exact duplicates are separate entries
//! here: data with many of them goes to a cover tree, which keeps them in lists.

use super::topk::TopK;
use super::{check_k, Neighbors, Rows};
use crate::build::hilbert_sorted;
use crate::metric::Metric;
use crate::pool::Pool;
use crate::tree::{kd_pays, KdIndex, KdScratch, NONE};
use crate::{Error, Result};
use rayon::prelude::*;

/// The exact `k` nearest points of `data` to each point of `queries` through a k-d
/// index (metrics with Euclidean coordinates in at most 16 dimensions).
///
/// ```
/// use pcct::{datagen, Dataset, Euclidean, Pool};
/// let pool = Pool::new(2)?;
/// let data = Euclidean::new(Dataset::from_rows(&datagen::uniform(500, 3, 1), 500, 3)?)?;
/// let queries = Euclidean::new(Dataset::from_rows(&datagen::uniform(10, 3, 2), 10, 3)?)?;
/// let nb = pcct::query::kd_knn(&data, &queries, 4, &pool)?;
/// assert_eq!(nb, pcct::query::brute_force_knn(&data, &queries, 4, &pool)?);
/// # Ok::<(), pcct::Error>(())
/// ```
pub fn kd_knn<M: Metric>(data: &M, queries: &M, k: usize, pool: &Pool) -> Result<Neighbors> {
    check_k(k, data.len(), "k-NN")?;
    data.check_queries(queries)?;
    kd_observed(data, queries, k, Rows::All, pool, super::unobserved())
}

/// For each point, its exact `k` nearest other points through a k-d index.
pub fn kd_self_knn<M: Metric>(data: &M, k: usize, pool: &Pool) -> Result<Neighbors> {
    check_k(k, data.len(), "self-kNN")?;
    kd_observed(data, data, k, Rows::Others, pool, super::unobserved())
}

/// For each point `i`, its exact `k` nearest among ids `< i` through a k-d index.
pub fn kd_predecessor_knn<M: Metric>(data: &M, k: usize, pool: &Pool) -> Result<Neighbors> {
    check_k(k, data.len(), "predecessor")?;
    kd_observed(data, data, k, Rows::Before, pool, super::unobserved())
}

/// The k-d engine for `rows` (`queries` is `data` for self and predecessor jobs; `k`
/// checked by the caller), telling `observe` of every query answered.
pub(crate) fn kd_observed<M: Metric>(
    data: &M,
    queries: &M,
    k: usize,
    rows: Rows,
    pool: &Pool,
    observe: super::Observer<'_>,
) -> Result<Neighbors> {
    if !kd_pays(data) {
        return Err(Error::invalid(
            "engine",
            "the k-d engine needs Euclidean coordinates in 1 to 16 dimensions".into(),
        ));
    }
    let (n, nq) = (data.len(), queries.len());
    let mut out_ids = vec![NONE; nq * k];
    let mut out_d = vec![f64::INFINITY; nq * k];
    for (lo, hi) in blocks(n, rows) {
        // The index over ids below `hi`, for the queries `lo..hi` (all of them unless
        // predecessors), in an order that keeps neighbouring queries together.
        let ids: Vec<u32> = (0..hi as u32).collect();
        let keys = matches!(rows, Rows::Before).then_some(&ids[..]);
        let ix = pool.install(|| KdIndex::with_keys(data, &ids, &ids, keys, Some(pool)));
        let order: Vec<u32> = match rows {
            Rows::Before => ix.tags().iter().copied().filter(|&t| t as usize >= lo).collect(),
            Rows::Others => ix.tags().to_vec(),
            Rows::All => {
                let ids: Vec<u32> = (0..nq as u32).collect();
                let bytes = n * data.capabilities().coordinate_dim * std::mem::size_of::<f64>();
                if bytes >= super::LOCALITY_BYTES {
                    pool.install(|| hilbert_sorted(queries, &ids, 128))
                } else {
                    ids
                }
            }
        };
        let mut slot_ids = vec![NONE; order.len() * k];
        let mut slot_d = vec![f64::INFINITY; order.len() * k];
        pool.install(|| {
            slot_ids
                .par_chunks_mut(k)
                .zip(slot_d.par_chunks_mut(k))
                .zip(order.par_iter())
                .for_each_init(
                    || (KdScratch::default(), TopK::default()),
                    |(sc, top), ((ri, rd), &q)| {
                        let limit = match rows {
                            Rows::Before => q,
                            _ => NONE,
                        };
                        top.reset(k);
                        let mut evals = 0;
                        ix.search_point(queries, q, f64::INFINITY, limit, sc, &mut evals, |id, d| {
                            let ok = match rows {
                                Rows::All => true,
                                Rows::Others => id != q,
                                Rows::Before => id < q,
                            };
                            if ok {
                                top.push(d, id);
                            }
                            top.threshold()
                        });
                        top.write(ri, rd);
                        observe(1);
                    },
                )
        });
        for (slot, &q) in order.iter().enumerate() {
            let (from, to) = (slot * k..(slot + 1) * k, q as usize * k..(q as usize + 1) * k);
            out_ids[to.clone()].copy_from_slice(&slot_ids[from.clone()]);
            out_d[to].copy_from_slice(&slot_d[from]);
        }
    }
    Ok(Neighbors::new(k, out_ids, out_d))
}

/// Predecessor queries of ids below this share one index (over those ids).
const FIRST_BLOCK: usize = 4096;

/// The id ranges `lo..hi` answered through one index over the ids below `hi`: all of
/// them at once, except predecessor jobs, whose queries `lo..hi` for doubling `hi` get an
/// index over their prefix (as GpGp's recipe does), so that at least half of the ids a
/// search meets are below the query's: with one index over every id, a query of a small
/// id wades through boxes of later ids (W7: 993 rows measured per query in its first
/// eighth of ids against 230 in its last; the prefixes total `2n` entries).
fn blocks(n: usize, rows: Rows) -> Vec<(usize, usize)> {
    if !matches!(rows, Rows::Before) {
        return vec![(0, n)];
    }
    let mut out = Vec::new();
    let (mut lo, mut hi) = (0, n.min(FIRST_BLOCK));
    while lo < n {
        out.push((lo, hi));
        (lo, hi) = (hi, (2 * hi).min(n));
    }
    out
}
