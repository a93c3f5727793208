//! The batch engine: probes, then the chosen path over all queries, in parallel on the
//! pool with per-worker scratch, answers written to their rows.

use super::evals::Evals;
use super::filter::Filter;
use super::plan::{QueryPath, Via, PROBE_QUERIES};
use super::result::{Neighbors, QueryStats, RangeNeighbors, RangePart, RANGE_CHUNK};
use super::scan::{range_scan_tiled, scan_tiled, TileScratch, TILE_QUERIES};
use super::scratch::Scratch;
use crate::metric::Metric;
use crate::pool::Pool;
use crate::tree::{Tree, NONE};
use crate::{Error, Result};
use rayon::prelude::*;
use std::sync::atomic::{AtomicUsize, Ordering};

/// k-NN queries go to the threads in blocks of this many, answered in order: each
/// query's search starts from a bound taken from the previous query of its block.
pub(super) const QUERY_BLOCK: usize = 32;

impl<M: Metric> Tree<M> {
    /// [`RangeRequest::run`](super::RangeRequest::run) on a worker of `pool`, arguments
    /// checked; `kd`: whether the k-d path is open. Past `max_pairs` (query, point) pairs
    /// the remaining queries are skipped and the answer is an error.
    pub(super) fn range_in_pool(
        &self,
        queries: &M,
        r: f64,
        pool: &Pool,
        via: Via,
        kd: bool,
        max_pairs: usize,
    ) -> Result<(RangeNeighbors, QueryStats)> {
        let nq = queries.len();
        // Pairs answered for good so far (the probes' kept parts, then the rest).
        let pairs = AtomicUsize::new(0);
        let caps = self.metric.capabilities();
        // The answers of queries `qs` along `path`, one part per chunk of queries.
        let run = |qs: &[u32], path: QueryPath, counted: bool| -> Vec<RangePart> {
            let use_scan = path != QueryPath::Tree;
            let ix = self.prepare(path, pool);
            // Where blocks pay, the scan runs tiles of queries (each row read once per tile).
            let tiled = use_scan && ix.is_none() && !caps.two_phase && caps.blocks_pay;
            pool.install(|| {
                qs.par_chunks(RANGE_CHUNK)
                    .map_init(
                        || (Scratch::default(), TileScratch::default()),
                        |(sc, tsc), chunk| {
                            let mut part = RangePart::default();
                            if counted && pairs.load(Ordering::Relaxed) > max_pairs {
                                return part; // refused anyway: no more work
                            }
                            if tiled {
                                for tile in chunk.chunks(TILE_QUERIES) {
                                    range_scan_tiled(self, queries, tile, r, tsc, |q, hits, ev| {
                                        part.push(q, hits, ev)
                                    });
                                }
                            } else {
                                for &q in chunk {
                                    let ev = sc.range(self, ix, queries, q, r, use_scan);
                                    part.push(q, &sc.hits, ev);
                                }
                            }
                            if counted {
                                pairs.fetch_add(part.pairs(), Ordering::Relaxed);
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
            let got = run(&qs, path, false);
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
        pairs.store(parts.iter().map(RangePart::pairs).sum(), Ordering::Relaxed);
        let got = run(&rest, path, true);
        if pairs.load(Ordering::Relaxed) > max_pairs {
            return Err(Error::invalid(
                "max_pairs",
                format!(
                    "the range answer holds more than {max_pairs} (query, point) pairs; \
                     raise RangeRequest::max_pairs or use a smaller radius"
                ),
            ));
        }
        let rest_evals = RangePart::evals(&got);
        parts.extend(got);
        let stats = QueryStats::of(path, nq, first + rest_evals);
        Ok((RangePart::assemble(&parts, nq), stats))
    }

    /// Runs `nq` k-NN queries; `map(i)` gives query i's row in `qm` and its filter, or
    /// `None` for an id no longer in the tree (its row stays padded). After the probes,
    /// queries are answered in `order(path)` (a permutation of `0..nq`; `None`: as
    /// given), which only changes what the caches hold, never an answer.
    ///
    /// All of it runs inside one `install` on the pool: the probes' small steps and the
    /// query order then start on a worker without waking one each time (wake-ups would
    /// otherwise be most of what the engine's probes cost next to the tree path alone).
    #[allow(clippy::too_many_arguments)]
    pub(super) fn run_knn(
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
    pub(super) fn run_knn_in_pool(
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
        let kd = via.kd_open(&self.metric)?;
        let cells = nq.checked_mul(k).ok_or_else(|| {
            Error::invalid("k", format!("{nq} queries × k = {k} overflows the result size"))
        })?;
        let mut ids = vec![NONE; cells];
        let mut dists = vec![f64::INFINITY; cells];
        let caps = self.metric.capabilities();
        // `qs[j]` is the query whose answer goes to the j-th row of `ids` / `dists`.
        let run = |qs: &[u32], ids: &mut [u32], dists: &mut [f64], path: QueryPath| -> Evals {
            let use_scan = path != QueryPath::Tree;
            let use_kd = matches!(path, QueryPath::Kd { .. });
            // Built (the first time) here on the pool, before the queries that use it.
            let ix = self.prepare(path, pool);
            pool.install(|| {
                if use_scan && !use_kd && (caps.two_phase || caps.blocks_pay) {
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
        let stats = QueryStats::of(path, nq, first + rest);
        Ok((Neighbors::new(k, ids, dists), stats))
    }
}
