//! Scans of every row, for queries the tree cannot prune: one query at a time
//! ([`scan`]) or tiles of queries × rows that read each row once per tile.

use super::bounds::MetricForm;
use super::collect::{Collector, KnnCollector, RangeCollector};
use super::evals::Evals;
use super::filter::Filter;
use super::offer::{measure_rows, node_may_admit, offer_node, offer_phased, offer_raw, window};
use super::resolve::{resolve, Resolver};
use super::topk::TopK;
use super::tree_search::Buffers;
use crate::metric::{Bounds, Metric, Points};
use crate::tree::Tree;

/// The blocked scan over all nodes (rows are contiguous), for queries the tree
/// cannot prune. Same filter, same decisions.
pub(crate) fn scan<M: Metric, C: Collector>(
    tree: &Tree<M>,
    qm: &M,
    q: u32,
    filter: Filter,
    col: &mut C,
    bufs: &mut Buffers,
    ev: &mut Evals,
) {
    const BLOCK: u32 = 256;
    let Buffers { buf, hi, .. } = bufs;
    let m = &tree.metric;
    let form = MetricForm::new(m);
    let two_phase = m.capabilities().two_phase;
    let n = tree.num_nodes() as u32;
    let mut start = 0;
    while start < n {
        let end = (start + BLOCK).min(n);
        if two_phase {
            offer_phased(
                tree,
                qm,
                q,
                start,
                (end - start) as usize,
                filter,
                col,
                buf,
                hi,
                ev,
            );
        } else {
            let raw = window(buf, (end - start) as usize);
            measure_rows(tree, qm, q, start, raw, filter, ev);
            offer_raw(tree, start, raw, filter, col, &form);
        }
        start = end;
    }
}

/// Scratch of [`scan_tiled`] and [`range_scan_tiled`], reused across query blocks.
#[derive(Default)]
pub(crate) struct TileScratch {
    pub(super) cols: Vec<KnnCollector>,
    pub(super) ranges: Vec<RangeCollector>,
    pub(super) hits: Vec<(f64, u32)>,
    pub(super) qs: Vec<u32>,
    pub(super) slots: Vec<usize>,
    pub(super) rows: Vec<u32>,
    pub(super) lo: Vec<f64>,
    pub(super) hi: Vec<f64>,
    pub(super) topk: TopK,
    pub(super) resolver: Resolver,
}

/// Queries per block of [`scan_tiled`] and [`range_scan_tiled`].
pub(crate) const TILE_QUERIES: usize = 16;

/// Rows per tile of [`scan_tiled`] and [`range_scan_tiled`].
pub(super) const TILE_ROWS: u32 = 128;

/// The scan a block of queries at a time: tiles of the block × 128 rows, so a tile's
/// rows come from memory once per block rather than once per query (the kernels then
/// reread them from cache per group of queries) — [`Metric::bounds`] as intervals for two-phase
/// metrics, as raw values for the others (metrics whose blocks pay);
/// then each query resolves its survivors as the per-query scan does. `queries[a]` is
/// query `a`'s row in `qm` and its filter (`None`: a padded row); results go to rows
/// `a` of `ids`, `dists` (`k` each).
pub(crate) fn scan_tiled<M: Metric>(
    tree: &Tree<M>,
    qm: &M,
    queries: &[Option<(u32, Filter)>],
    k: usize,
    sc: &mut TileScratch,
    ids: &mut [u32],
    dists: &mut [f64],
) -> Evals {
    let m = &tree.metric;
    let TileScratch {
        cols,
        qs,
        slots,
        rows,
        lo,
        hi,
        topk,
        resolver,
        ..
    } = sc;
    qs.clear();
    slots.clear();
    // The most permissive filter of the block decides which rows are measured at all.
    let mut widest = Some(0);
    for (a, q) in queries.iter().enumerate() {
        if let Some((q, f)) = q {
            qs.push(*q);
            slots.push(a);
            widest = match (*f, widest) {
                (Filter::Below(x), Some(w)) => Some(x.max(w)),
                _ => None,
            };
        }
    }
    let block_filter = widest.map_or(Filter::All, Filter::Below);
    let nq = qs.len();
    if cols.len() < nq {
        cols.resize_with(nq, KnnCollector::default);
    }
    for c in &mut cols[..nq] {
        c.reset(k, f64::INFINITY);
    }
    let mut ev = Evals::default();
    if !m.capabilities().two_phase {
        offer_tiles(tree, qm, qs, lo, &mut ev, &mut cols[..nq], |a| {
            queries[slots[a]].expect("an active query").1
        });
    } else {
        let (n, mut start) = (tree.num_nodes() as u32, 0);
        while start < n {
            let end = (start + TILE_ROWS).min(n);
            rows.clear();
            rows.extend((start..end).filter(|&c| node_may_admit(tree, c, block_filter)));
            start = end;
            let nr = rows.len();
            if nr == 0 {
                continue;
            }
            lo.resize(nq * nr, 0.0);
            hi.resize(nq * nr, 0.0);
            // Every row of the tile admitted and the queries consecutive (k-NN of
            // separate queries; seldom self or predecessor queries, whose rows rarely
            // line up): the tile bounds the dense engine runs on (the residual
            // metric's f64 matrix product: tighter than phase 1, so far fewer canonical
            // distances); else phase 1 per pair.
            let contiguous = nr == (end - rows[0]) as usize;
            let consecutive = qs.windows(2).all(|w| w[1] == w[0] + 1);
            if contiguous && consecutive {
                let (qs, rows) = (
                    Points::Run {
                        first: qs[0],
                        len: nq,
                    },
                    Points::Run {
                        first: rows[0],
                        len: nr,
                    },
                );
                m.bounds(qm, qs, rows, Bounds::Interval { lo, hi });
            } else {
                m.bounds(
                    qm,
                    Points::List(qs),
                    Points::List(rows),
                    Bounds::Interval { lo, hi },
                );
            }
            ev.approx += (nq * nr) as u64;
            for (a, col) in cols[..nq].iter_mut().enumerate() {
                let (q, filter) = queries[slots[a]].expect("an active query");
                for (r, &c) in rows.iter().enumerate() {
                    if !node_may_admit(tree, c, filter) {
                        continue;
                    }
                    let (l, t) = (lo[a * nr + r], col.threshold());
                    if l > t {
                        m.rejected(qm, q, c, t);
                        continue;
                    }
                    offer_node(tree, c, l, hi[a * nr + r], filter, col);
                }
            }
        }
    }
    for (a, col) in cols[..nq].iter().enumerate() {
        let slot = slots[a];
        topk.reset(k);
        let t = col.threshold();
        resolve(
            tree,
            qm,
            qs[a],
            col.candidates(),
            t,
            resolver,
            &mut ev,
            |d, id| topk.push(d, id),
        );
        topk.write(
            &mut ids[slot * k..(slot + 1) * k],
            &mut dists[slot * k..(slot + 1) * k],
        );
    }
    ev
}

/// Range queries `qs` (all within `r`) by the scan, a tile of queries at a time as in
/// [`scan_tiled`] (metrics whose blocks pay and that measure in one phase: raw values
/// of the whole tile from [`Metric::bounds`], then each query's rows offered
/// as the per-query scan offers them). `emit` receives each query with its hits sorted
/// by (distance, id) and its evaluations (the tile's shared ones with the first query).
pub(crate) fn range_scan_tiled<M: Metric>(
    tree: &Tree<M>,
    qm: &M,
    qs: &[u32],
    r: f64,
    sc: &mut TileScratch,
    mut emit: impl FnMut(u32, &[(f64, u32)], Evals),
) {
    let TileScratch {
        ranges,
        hits,
        lo,
        resolver,
        ..
    } = sc;
    let nq = qs.len();
    if ranges.len() < nq {
        ranges.resize_with(nq, RangeCollector::default);
    }
    for c in &mut ranges[..nq] {
        c.r = r;
        c.cands.clear();
    }
    let mut ev = Evals::default();
    offer_tiles(tree, qm, qs, lo, &mut ev, &mut ranges[..nq], |_| Filter::All);
    for (&q, col) in qs.iter().zip(&ranges[..nq]) {
        hits.clear();
        resolve(tree, qm, q, &col.cands, r, resolver, &mut ev, |d, id| {
            if d <= r {
                hits.push((d, id))
            }
        });
        hits.sort_unstable_by(|a, b| a.partial_cmp(b).expect("finite distances"));
        emit(q, hits, std::mem::take(&mut ev));
    }
}

/// The tiled scan's one-phase part: every row of the tree, [`TILE_ROWS`] at a time, for
/// the queries `qs` at once ([`Metric::bounds`]), each query's raw values then
/// offered to its collector `cols[a]` under its filter `filter(a)` as the per-query scan
/// offers them. Every row is measured: only metrics whose blocks pay come here (the
/// per-query scan measures them all too).
pub(super) fn offer_tiles<M: Metric, C: Collector>(
    tree: &Tree<M>,
    qm: &M,
    qs: &[u32],
    raw: &mut Vec<f64>,
    ev: &mut Evals,
    cols: &mut [C],
    filter: impl Fn(usize) -> Filter,
) {
    let m = &tree.metric;
    debug_assert!(!m.capabilities().two_phase && m.capabilities().blocks_pay);
    let form = MetricForm::new(m);
    let (n, nq) = (tree.num_nodes() as u32, qs.len());
    let mut start = 0;
    while start < n {
        let end = (start + TILE_ROWS).min(n);
        let nr = (end - start) as usize;
        let raw = window(raw, nq * nr);
        let rows = Points::Run {
            first: start,
            len: nr,
        };
        m.bounds(qm, Points::List(qs), rows, Bounds::Raw(raw));
        ev.approx += (nq * nr) as u64;
        for (a, col) in cols.iter_mut().enumerate() {
            offer_raw(tree, start, &raw[a * nr..(a + 1) * nr], filter(a), col, &form);
        }
        start = end;
    }
}
