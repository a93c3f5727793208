//! One query against the tree: best-first branch and bound, and the blocked scan
//! the engine falls back to where the tree cannot prune.
//!
//! Every accept/reject is decided on canonical distances. Approximate block
//! distances only discard a candidate when even their lower error bound exceeds the
//! current threshold; subtree bounds use `true ≥ canonical/(1+δ)` and
//! `canonical ≥ true·(1−δ)` around the triangle inequality, so rounding can only
//! make the search look further, never drop a neighbour.

use super::topk::TopK;
use crate::metric::Metric;
use crate::tree::{Tree, NONE};
use std::cmp::Reverse;
use std::collections::BinaryHeap;

/// Which points a query may return.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Filter {
    /// Every point.
    All,
    /// Every point but this id (self-kNN: the point itself, not its duplicates).
    Except(u32),
    /// Only ids below this one (predecessor-constrained).
    Below(u32),
}

impl Filter {
    #[inline]
    fn admits(self, id: u32) -> bool {
        match self {
            Filter::All => true,
            Filter::Except(x) => id != x,
            Filter::Below(x) => id < x,
        }
    }

    /// Whether a subtree whose smallest id is `min_id` may hold an admitted point.
    #[inline]
    fn subtree_may_admit(self, min_id: u32) -> bool {
        match self {
            Filter::Below(x) => min_id < x,
            _ => true,
        }
    }
}

/// The search's own buffers: the frontier and the block distances.
#[derive(Default)]
pub(crate) struct Buffers {
    heap: BinaryHeap<Reverse<(u64, u32)>>,
    buf: Vec<f64>,
}

/// Per-worker scratch, reused across queries: nothing is allocated per query once warm.
#[derive(Default)]
pub(crate) struct Scratch {
    pub(crate) topk: TopK,
    pub(crate) hits: Vec<(f64, u32)>,
    bufs: Buffers,
}

/// Distance evaluations of one query.
#[derive(Clone, Copy, Debug, Default)]
pub(crate) struct Evals {
    pub(crate) approx: u64,
    pub(crate) exact: u64,
}

/// What the search collects: the k best, or everything within a radius.
pub(crate) trait Collector {
    /// The largest distance still of interest.
    fn threshold(&self) -> f64;
    /// A candidate at canonical distance `d` (already admitted by the filter).
    fn offer(&mut self, d: f64, id: u32);
}

impl Collector for TopK {
    #[inline]
    fn threshold(&self) -> f64 {
        TopK::threshold(self)
    }
    #[inline]
    fn offer(&mut self, d: f64, id: u32) {
        self.push(d, id)
    }
}

/// All points within `r`.
pub(crate) struct Within<'a> {
    pub(crate) r: f64,
    pub(crate) hits: &'a mut Vec<(f64, u32)>,
}

impl Collector for Within<'_> {
    #[inline]
    fn threshold(&self) -> f64 {
        self.r
    }
    #[inline]
    fn offer(&mut self, d: f64, id: u32) {
        if d <= self.r {
            self.hits.push((d, id));
        }
    }
}

/// Offers node `pos` (at canonical distance `d`) and its duplicates.
#[inline]
fn offer_node<M: Metric>(tree: &Tree<M>, pos: u32, d: f64, filter: Filter, c: &mut impl Collector) {
    let id = tree.id[pos as usize];
    if filter.admits(id) {
        c.offer(d, id);
    }
    for &dup in tree.dups_of(pos) {
        if filter.admits(dup) {
            c.offer(d, dup);
        }
    }
}

/// Whether node `pos` itself or one of its duplicates is admitted.
#[inline]
fn node_may_admit<M: Metric>(tree: &Tree<M>, pos: u32, filter: Filter) -> bool {
    match filter {
        Filter::Below(x) => tree.id[pos as usize] < x || tree.dups_of(pos).first().is_some_and(|&d| d < x),
        _ => true,
    }
}

/// Orders non-negative finite floats by their bit patterns.
#[inline]
fn key(lb: f64) -> u64 {
    lb.max(0.0).to_bits()
}

/// Best-first branch and bound from the root for query `q` of `qm`.
pub(crate) fn tree_search<M: Metric, C: Collector>(
    tree: &Tree<M>,
    qm: &M,
    q: u32,
    filter: Filter,
    col: &mut C,
    bufs: &mut Buffers,
    ev: &mut Evals,
) {
    let Buffers { heap, buf } = bufs;
    let m = &tree.metric;
    let (rel, abs) = m.approx_error();
    let dc = m.distance_rel_error();
    heap.clear();
    if !filter.subtree_may_admit(tree.min_id[0]) {
        return;
    }
    let d0 = m.distance(qm, q, 0);
    ev.exact += 1;
    offer_node(tree, 0, d0, filter, col);
    heap.push(Reverse((0, 0)));
    while let Some(Reverse((lb, p))) = heap.pop() {
        if f64::from_bits(lb) > col.threshold() {
            break;
        }
        let ch = tree.children(p);
        if ch.is_empty() {
            continue;
        }
        buf.resize(ch.len(), 0.0);
        m.approx_block(qm, q, ch.start, buf);
        ev.approx += ch.len() as u64;
        for (c, &a) in ch.zip(buf.iter()) {
            if !filter.subtree_may_admit(tree.min_id[c as usize]) {
                continue;
            }
            let lower = ((a - abs) / (1.0 + rel)).max(0.0); // ≤ canonical d(q, c)
            let mut base = lower;
            if lower <= col.threshold() && node_may_admit(tree, c, filter) {
                let d = m.distance(qm, q, c);
                ev.exact += 1;
                offer_node(tree, c, d, filter, col);
                base = d;
            }
            if tree.child_count[c as usize] > 0 {
                let lb_sub = ((base / (1.0 + dc) - tree.radius[c as usize]) * (1.0 - dc)).max(0.0);
                if lb_sub <= col.threshold() {
                    heap.push(Reverse((key(lb_sub), c)));
                }
            }
        }
    }
}

/// The blocked scan over all nodes (rows are contiguous), for queries the tree
/// cannot prune. Same filter, same canonical decisions.
pub(crate) fn scan<M: Metric, C: Collector>(
    tree: &Tree<M>,
    qm: &M,
    q: u32,
    filter: Filter,
    col: &mut C,
    buf: &mut Vec<f64>,
    ev: &mut Evals,
) {
    const BLOCK: u32 = 256;
    let m = &tree.metric;
    let (rel, abs) = m.approx_error();
    let n = tree.num_nodes() as u32;
    let mut start = 0;
    while start < n {
        let end = (start + BLOCK).min(n);
        buf.resize((end - start) as usize, 0.0);
        m.approx_block(qm, q, start, buf);
        ev.approx += (end - start) as u64;
        for (c, &a) in (start..end).zip(buf.iter()) {
            let lower = ((a - abs) / (1.0 + rel)).max(0.0);
            if lower <= col.threshold() && node_may_admit(tree, c, filter) {
                let d = m.distance(qm, q, c);
                ev.exact += 1;
                offer_node(tree, c, d, filter, col);
            }
        }
        start = end;
    }
}

impl Scratch {
    /// k nearest of query `q` by tree search or scan; result in `self.topk`.
    pub(crate) fn knn<M: Metric>(
        &mut self,
        tree: &Tree<M>,
        qm: &M,
        q: u32,
        k: usize,
        filter: Filter,
        use_scan: bool,
    ) -> Evals {
        let mut ev = Evals::default();
        self.topk.reset(k);
        if use_scan {
            scan(tree, qm, q, filter, &mut self.topk, &mut self.bufs.buf, &mut ev);
        } else {
            tree_search(tree, qm, q, filter, &mut self.topk, &mut self.bufs, &mut ev);
        }
        ev
    }

    /// All points within `r` of query `q`, sorted by (distance, id), in `self.hits`.
    pub(crate) fn range<M: Metric>(
        &mut self,
        tree: &Tree<M>,
        qm: &M,
        q: u32,
        r: f64,
        use_scan: bool,
    ) -> Evals {
        let mut ev = Evals::default();
        self.hits.clear();
        let mut col = Within {
            r,
            hits: &mut self.hits,
        };
        if use_scan {
            scan(tree, qm, q, Filter::All, &mut col, &mut self.bufs.buf, &mut ev);
        } else {
            tree_search(tree, qm, q, Filter::All, &mut col, &mut self.bufs, &mut ev);
        }
        self.hits
            .sort_unstable_by(|a, b| a.partial_cmp(b).expect("finite distances"));
        ev
    }
}

/// The position whose row holds point `id` (its node or its twin's).
pub(crate) fn row_of<M>(tree: &Tree<M>, id: u32) -> u32 {
    let p = tree.pos_of_id[id as usize];
    debug_assert_ne!(p, NONE);
    p
}
