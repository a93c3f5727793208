//! One query against the tree: best-first branch and bound, and the blocked scan
//! the engine falls back to where the tree cannot prune.
//!
//! **Deferred exactness.** During the search every point is known only through an
//! interval `[lower, upper]` around its canonical distance, from the block kernels
//! and [`Metric::approx_error`]. The k-NN threshold is the k-th smallest *upper*
//! bound seen, capped by a bound known before the search (the k-th smallest upper
//! bound to the points of the previous query of the block, [`Scratch::prior_cap`]);
//! neither is ever below the k-th canonical distance; a point or subtree
//! is dropped only when its lower bound exceeds it. Survivors are candidates, and
//! only they get a canonical distance at the end, where the answer is decided by
//! (canonical distance, id). Subtree bounds use `true ≥ canonical/(1+δ)` and
//! `canonical ≥ true·(1−δ)` around the triangle inequality, so rounding can only
//! make the search look further, never drop a neighbour.

use super::topk::TopK;
use crate::metric::Metric;
use crate::tree::{fmax, KdIndex, KdScratch, SketchForm, SketchScratch, Tree, NONE};
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

/// Distance evaluations of one query.
#[derive(Clone, Copy, Debug, Default)]
pub(crate) struct Evals {
    /// Approximate evaluations of tree nodes (one at a time or as a child block).
    pub(crate) approx: u64,
    /// Canonical evaluations.
    pub(crate) exact: u64,
    /// Rows measured in one pass over a bucket's block (scan-priced).
    pub(crate) rows: u64,
}

impl std::ops::Add for Evals {
    type Output = Evals;
    fn add(self, o: Evals) -> Evals {
        Evals {
            approx: self.approx + o.approx,
            exact: self.exact + o.exact,
            rows: self.rows + o.rows,
        }
    }
}

impl Evals {
    /// All evaluations.
    pub(crate) fn total(self) -> u64 {
        self.approx + self.exact + self.rows
    }

    /// The cost in scan rows: a tree evaluation (approximate or canonical) costs
    /// `tree_cost` rows, a bucket row one.
    pub(crate) fn cost(self, tree_cost: f64) -> f64 {
        (self.approx + self.exact) as f64 * tree_cost + self.rows as f64
    }
}

/// A candidate: lower bound of its canonical distance, node position, point id.
type Cand = (f64, u32, u32);

/// What the search collects: the k best, or everything within a radius.
pub(crate) trait Collector {
    /// No admitted point with a lower bound above this can be in the answer.
    fn threshold(&self) -> f64;
    /// A point known by its interval; `pos` is the node whose row holds it.
    fn offer(&mut self, lower: f64, upper: f64, pos: u32, id: u32);
    /// `Some(k)` where the threshold will be the k-th smallest upper bound offered (or
    /// the cap, if smaller) and fewer than k are known yet (k-NN), `None` otherwise
    /// (range: a fixed threshold).
    fn loose_k(&self) -> Option<usize> {
        None
    }
}

/// The k nearest: k smallest upper bounds for the threshold, candidates for the end.
#[derive(Default)]
pub(crate) struct KnnCollector {
    k: usize,
    /// The k smallest upper bounds seen (bit patterns of non-negative floats order
    /// like the floats), as a max-heap.
    uppers: BinaryHeap<u64>,
    cands: Vec<Cand>,
    /// The largest of `uppers` once k are known, else the cap given to `reset`.
    threshold: f64,
    /// Candidates are filtered by the threshold when there are this many (doubling
    /// when most survive, so the filtering stays linear overall).
    limit: usize,
}

impl KnnCollector {
    /// Empties the collector for a query with `k` neighbours whose k-th canonical
    /// distance is known to be at most `cap` (+∞ when nothing is known).
    pub(crate) fn reset(&mut self, k: usize, cap: f64) {
        self.k = k;
        self.uppers.clear();
        self.cands.clear();
        // Never above the cap: only uppers below the threshold enter `uppers`.
        self.threshold = cap;
        self.limit = 4 * k + 64;
    }

    /// Candidates offered and not yet filtered out: `(lower bound, position, id)`.
    pub(crate) fn candidates(&self) -> &[Cand] {
        &self.cands
    }
}

impl Collector for KnnCollector {
    #[inline]
    fn threshold(&self) -> f64 {
        self.threshold
    }

    #[inline]
    fn loose_k(&self) -> Option<usize> {
        (self.uppers.len() < self.k).then_some(self.k)
    }

    #[inline]
    fn offer(&mut self, lower: f64, upper: f64, pos: u32, id: u32) {
        if lower > self.threshold {
            return;
        }
        self.cands.push((lower, pos, id));
        if upper < self.threshold {
            if self.uppers.len() == self.k {
                // Replace the largest in place: one sift instead of a pop and a push.
                if let Some(mut top) = self.uppers.peek_mut() {
                    *top = upper.to_bits();
                }
            } else {
                self.uppers.push(upper.to_bits());
            }
            if self.uppers.len() == self.k {
                // Only uppers below the threshold (hence below the cap) enter, so the
                // k-th of them is the smaller of the two.
                self.threshold = f64::from_bits(*self.uppers.peek().expect("k ≥ 1 bounds"));
            }
        }
        if self.cands.len() >= self.limit {
            let t = self.threshold;
            self.cands.retain(|c| c.0 <= t);
            self.limit = (4 * self.k + 64).max(2 * self.cands.len());
        }
    }
}

/// Everything within `r`.
#[derive(Default)]
pub(crate) struct RangeCollector {
    r: f64,
    cands: Vec<Cand>,
}

impl Collector for RangeCollector {
    #[inline]
    fn threshold(&self) -> f64 {
        self.r
    }
    #[inline]
    fn offer(&mut self, lower: f64, _upper: f64, pos: u32, id: u32) {
        if lower <= self.r {
            self.cands.push((lower, pos, id));
        }
    }
}

/// The search's own buffers: the frontier and the block distances.
#[derive(Default)]
pub(crate) struct Buffers {
    /// Frontier: (subtree lower bound, lower bound of d(q, node), position, upper bound
    /// of d(q, node)), bounds as bit patterns.
    heap: BinaryHeap<Reverse<(u64, u64, u32, u64)>>,
    buf: Vec<f64>,
    /// Phase-1 upper bounds (two-phase metrics).
    hi: Vec<f64>,
    /// Children that survive the triangle-inequality bound.
    keep: Vec<u32>,
    /// The query's side of the buckets' sketches.
    sketch: SketchScratch,
}

/// Per-worker scratch, reused across queries: nothing is allocated per query once warm.
#[derive(Default)]
pub(crate) struct Scratch {
    pub(crate) topk: TopK,
    pub(crate) hits: Vec<(f64, u32)>,
    knn: KnnCollector,
    range: RangeCollector,
    bufs: Buffers,
    kd: KdScratch,
    /// The ids of the previous k-NN answer of the block, and of that query itself
    /// where it is a point of the tree ([`Scratch::remember`]).
    prior: Vec<u32>,
    /// Distance bounds to `prior` (scratch of [`Scratch::prior_cap`]).
    prior_ups: Vec<f64>,
    resolver: Resolver,
}

/// Turns an approximation `a` into bounds of the canonical distance, given the
/// metric's `(rel, abs)` error: multiplications by precomputed reciprocals (the error
/// bounds carry a factor-two headroom, far above one rounding of the reciprocal).
#[derive(Clone, Copy)]
struct Bounds {
    abs: f64,
    down: f64,
    up: f64,
}

impl Bounds {
    fn new((rel, abs): (f64, f64)) -> Self {
        // With an error bound this loose (f32 at millions of dimensions) no upper
        // bound is trusted: the threshold stays +∞ and every candidate is resolved exactly.
        let up = if rel < 0.5 {
            1.0 / (1.0 - rel)
        } else {
            f64::INFINITY
        };
        Bounds {
            abs,
            down: 1.0 / (1.0 + rel),
            up,
        }
    }

    /// Lower bound of the canonical distance.
    #[inline]
    fn lower(self, a: f64) -> f64 {
        fmax((a - self.abs) * self.down, 0.0)
    }

    /// Upper bound of the canonical distance.
    #[inline]
    fn upper(self, a: f64) -> f64 {
        (a + self.abs) * self.up
    }
}

/// How a block's raw values turn into bounds of canonical distances ([`offer_raw`]).
trait RawForm {
    /// Bounds `(lower, upper)` of the canonical distance of a row with raw value `raw`.
    fn interval(&self, raw: f64) -> (f64, f64);
    /// A raw limit: every row whose lower bound is `≤ t` has a raw value `≤` it.
    fn limit(&self, t: f64) -> f64;
    /// Whether offered rows are to be prefetched: their canonical distances come later
    /// and the raw values were not read from their rows (sketches).
    const PREFETCH: bool = false;
}

/// The metric's own raw form ([`Metric::approx_block_raw`]) with its error bounds.
struct MetricForm<'a, M> {
    m: &'a M,
    err: Bounds,
}

impl<M: Metric> RawForm for MetricForm<'_, M> {
    #[inline]
    fn interval(&self, raw: f64) -> (f64, f64) {
        let a = self.m.raw_to_approx(raw);
        (self.err.lower(a), self.err.upper(a))
    }
    #[inline]
    fn limit(&self, t: f64) -> f64 {
        // lower(a) ≤ t  ⇔  a ≤ t/down + abs.
        self.m.raw_bound(t / self.err.down + self.err.abs)
    }
}

impl RawForm for SketchForm {
    const PREFETCH: bool = true;
    #[inline]
    fn interval(&self, raw: f64) -> (f64, f64) {
        SketchForm::interval(self, raw)
    }
    #[inline]
    fn limit(&self, t: f64) -> f64 {
        SketchForm::limit(self, t)
    }
}

/// Bounds `[lower, upper]` of the canonical distance from query `q` to the row at
/// `pos`, measured alone: phase 1 for two-phase metrics (their `approx_one` is a full
/// canonical distance), else one approximation widened by the error bounds `err`.
#[inline]
fn interval_one<M: Metric>(m: &M, qm: &M, q: u32, pos: u32, err: Bounds) -> (f64, f64) {
    if M::TWO_PHASE {
        let (mut lo, mut hi) = (0.0, 0.0);
        let one = std::slice::from_mut;
        m.phase1_block(qm, q, pos, one(&mut lo), one(&mut hi));
        (lo, hi)
    } else {
        let a = m.approx_one(qm, q, pos);
        (err.lower(a), err.upper(a))
    }
}

/// Offers node `pos` (interval `lo..hi`) and its duplicates.
#[inline]
fn offer_node<M: Metric>(tree: &Tree<M>, pos: u32, lo: f64, hi: f64, filter: Filter, c: &mut impl Collector) {
    let id = tree.id[pos as usize];
    if filter.admits(id) {
        c.offer(lo, hi, pos, id);
    }
    let offs = tree.dups.offsets();
    if offs[pos as usize] != offs[pos as usize + 1] {
        for &dup in tree.dups_of(pos) {
            if filter.admits(dup) {
                c.offer(lo, hi, pos, dup);
            }
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

/// Raw values of the rows `first..first + raw.len()`: one block call where the metric's
/// blocks pay ([`Metric::blocks_pay`]), else row by row, measuring only rows whose points
/// the filter admits (the others get `+inf`, which no threshold lets in).
fn measure_rows<M: Metric>(
    tree: &Tree<M>,
    qm: &M,
    q: u32,
    first: u32,
    raw: &mut [f64],
    filter: Filter,
    ev: &mut Evals,
) {
    let m = &tree.metric;
    if m.blocks_pay() {
        m.approx_block_raw(qm, q, first, raw);
        ev.approx += raw.len() as u64;
        return;
    }
    for (c, r) in (first..).zip(raw.iter_mut()) {
        if node_may_admit(tree, c, filter) {
            m.approx_block_raw(qm, q, c, std::slice::from_mut(r));
            ev.approx += 1;
        } else {
            *r = f64::INFINITY;
        }
    }
}

/// Groups of [`kth_bound`]: rows `g`, `g + GROUPS`, `g + 2·GROUPS`, … form group `g`.
const GROUPS: usize = 32;

/// An upper bound of the `k`-th smallest of `raw` (`k ≤ GROUPS`), `+∞` unless at
/// least k group minima are below `lim`: the k-th smallest of the groups' minima, which
/// are values of distinct rows. A few vector minima per row and a count, no branch per
/// row; the selection only where at least k minima are below `lim` (once the threshold
/// is tight, as in most blocks of a scan, the bound could not tighten it).
fn kth_bound(raw: &[f64], k: usize, lim: f64) -> f64 {
    debug_assert!((1..=GROUPS).contains(&k));
    let mut mins = [f64::INFINITY; GROUPS];
    let mut chunks = raw.chunks_exact(GROUPS);
    let mut fold = |chunk: &[f64]| {
        for (m, &r) in mins.iter_mut().zip(chunk) {
            // NaN never replaces a minimum.
            *m = if r < *m { r } else { *m };
        }
    };
    for chunk in &mut chunks {
        fold(chunk);
    }
    fold(chunks.remainder());
    if mins.iter().map(|&m| (m < lim) as usize).sum::<usize>() < k {
        return f64::INFINITY;
    }
    *mins.select_nth_unstable_by(k - 1, f64::total_cmp).1
}

/// Offers the nodes `first..` whose raw block values are in `raw`: each value is
/// first compared with the raw form of the threshold (no square root for the many
/// that cannot enter), then turned into an interval.
///
/// A k-NN query that knows fewer than k upper bounds yet (its threshold is the prior
/// cap or +∞) takes a second limit from a block of at least `2·`[`GROUPS`] rows,
/// [`kth_bound`]: the rows under it give k points whose upper bounds are at most its
/// interval's upper end, so no row above its limit can be among the answers or move
/// the final threshold (the threshold after a set of offers is the k-th smallest of
/// their upper bounds, whatever their order). Same answers, same candidates, fewer
/// rows offered while the threshold is still loose (W6: 34.5 → 12.4 offers of bucket
/// rows per query). Predecessor filters admit rows unevenly and go without;
/// `Filter::Except` asks for one more row (its own may admit nothing). Once k bounds
/// are known (most blocks of a scan) the bound would seldom tighten anything and is
/// not computed.
#[inline]
fn offer_raw<M: Metric, C: Collector, F: RawForm>(
    tree: &Tree<M>,
    first: u32,
    raw: &[f64],
    filter: Filter,
    col: &mut C,
    form: &F,
) {
    let limit = |t: f64| form.limit(t);
    let mut t = col.threshold();
    let rows_k = match (col.loose_k(), filter) {
        (_, Filter::Below(_)) | (None, _) => None,
        (Some(k), Filter::Except(_)) => Some(k + 1),
        (Some(k), Filter::All) => Some(k),
    };
    let mut lim = limit(t);
    let mut block_lim = f64::INFINITY;
    if let Some(k) = rows_k.filter(|&k| k <= GROUPS && raw.len() >= 2 * GROUPS) {
        let kth = kth_bound(raw, k, lim);
        if kth.is_finite() {
            block_lim = limit(form.interval(kth).1);
            lim = lim.min(block_lim);
        }
    }
    for (c, &r) in (first..).zip(raw.iter()) {
        if r > lim {
            continue;
        }
        let (lo, hi) = form.interval(r);
        if lo <= t && node_may_admit(tree, c, filter) {
            offer_node(tree, c, lo, hi, filter, col);
            if F::PREFETCH {
                tree.metric.prefetch(c);
            }
            if col.threshold() != t {
                t = col.threshold();
                lim = limit(t).min(block_lim);
            }
        }
    }
}

/// Two-phase metrics ([`Metric::TWO_PHASE`]): phase 1 over the rows
/// `first..first + len`, and each admitted row offered with its phase-1 interval (the
/// canonical distance, phase 2, comes in [`resolve`] for the survivors only); rows
/// ruled out are reported to [`Metric::phase1_rejected`].
#[allow(clippy::too_many_arguments)]
fn offer_phased<M: Metric, C: Collector>(
    tree: &Tree<M>,
    qm: &M,
    q: u32,
    first: u32,
    len: usize,
    filter: Filter,
    col: &mut C,
    lo: &mut Vec<f64>,
    hi: &mut Vec<f64>,
    ev: &mut Evals,
) {
    let m = &tree.metric;
    let lo = window(lo, len);
    let hi = window(hi, len);
    if let Filter::Below(_) = filter {
        // Predecessor queries admit about half of the rows: bound only those.
        for (c, (l, h)) in (first..).zip(lo.iter_mut().zip(hi.iter_mut())) {
            if node_may_admit(tree, c, filter) {
                m.phase1_block(qm, q, c, std::slice::from_mut(l), std::slice::from_mut(h));
                ev.approx += 1;
            }
        }
    } else {
        m.phase1_block(qm, q, first, lo, hi);
        ev.approx += len as u64;
    }
    for ((c, &l), &h) in (first..).zip(lo.iter()).zip(hi.iter()) {
        if !node_may_admit(tree, c, filter) {
            continue;
        }
        let t = col.threshold();
        if l > t {
            m.phase1_rejected(qm, q, c, t);
            continue;
        }
        offer_node(tree, c, l, h, filter, col);
    }
}

/// The first `len` values of `buf`, growing it if needed: buffers only ever grow, so
/// blocks of varying length do not zero-fill them again (the callee overwrites them).
#[inline]
fn window(buf: &mut Vec<f64>, len: usize) -> &mut [f64] {
    if buf.len() < len {
        buf.resize(len, 0.0);
    }
    &mut buf[..len]
}

/// Orders non-negative finite floats by their bit patterns.
#[inline]
fn key(lb: f64) -> u64 {
    fmax(lb, 0.0).to_bits()
}

/// Best-first branch and bound from the root for query `q` of `qm`: subtrees pop in
/// order of their lower bound, ties (many are 0: the query lies inside their cover
/// balls) by the distance bound to their node, nearest first, so that the threshold
/// tightens early (uniform d = 8 on the tree path: same evaluations, 5–7 % less time).
pub(crate) fn tree_search<M: Metric, C: Collector>(
    tree: &Tree<M>,
    qm: &M,
    q: u32,
    filter: Filter,
    col: &mut C,
    bufs: &mut Buffers,
    ev: &mut Evals,
) {
    let Buffers {
        heap,
        buf,
        hi,
        keep,
        sketch,
    } = bufs;
    let m = &tree.metric;
    let sketches = tree.sketch.get();
    let err = Bounds::new(m.approx_error());
    let dc = m.distance_rel_error();
    // true ≥ canonical·down and true ≤ canonical·up; canonical ≥ true·shrink.
    let (down, up, shrink) = (1.0 / (1.0 + dc), 1.0 / (1.0 - dc), 1.0 - dc);
    heap.clear();
    if !filter.subtree_may_admit(tree.min_id[0]) {
        return;
    }
    ev.approx += 1;
    let a0 = m.approx_one(qm, q, 0);
    let (lo0, hi0) = (err.lower(a0), err.upper(a0));
    offer_node(tree, 0, lo0, hi0, filter, col);
    heap.push(Reverse((0, lo0.to_bits(), 0, hi0.to_bits())));
    while let Some(Reverse((lb, plo, p, phi))) = heap.pop() {
        if f64::from_bits(lb) > col.threshold() {
            break;
        }
        let end = tree.bucket_end[p as usize];
        if end != NONE {
            // A bucket: all descendants are one block; measure them in one pass.
            let first = tree.child_first[p as usize];
            let len = (end - first) as usize;
            let before = ev.approx;
            if M::TWO_PHASE {
                offer_phased(tree, qm, q, first, len, filter, col, buf, hi, ev);
            } else {
                let raw = window(buf, len);
                // Through the bucket's bf16 sketch where it has one (the few rows it
                // cannot rule out are resolved exactly later), else in the metric's form.
                if let Some(form) = sketches.and_then(|s| s.measure(qm, q, p, sketch, raw)) {
                    ev.approx += len as u64;
                    offer_raw(tree, first, raw, filter, col, &form);
                } else {
                    measure_rows(tree, qm, q, first, raw, filter, ev);
                    offer_raw(tree, first, raw, filter, col, &MetricForm { m, err });
                }
            }
            // Block rows, priced like a scan's.
            ev.rows += ev.approx - before;
            ev.approx = before;
            continue;
        }
        let ch = tree.children(p);
        // True d(q, p) lies in [plo/(1+δ), phi/(1−δ)]; with the stored d(p, c) the
        // triangle inequality bounds d(q, c) before measuring it.
        let (qp_lo, qp_hi) = (f64::from_bits(plo) * down, f64::from_bits(phi) * up);
        // Children are sorted by d(p, c): only a window of them can be within the
        // threshold plus the largest child radius of the query.
        let reach = col.threshold() * up + tree.child_radius_max[p as usize];
        let dps = &tree.dist_parent[ch.start as usize..ch.end as usize];
        let from = dps.partition_point(|&pc| pc < (qp_lo - reach) * shrink);
        // (`max`: the window is empty rather than inverted if a metric's bounds cross.)
        let to = dps
            .partition_point(|&pc| pc <= (qp_hi + reach) * (1.0 + dc))
            .max(from);
        let ch = ch.start + from as u32..ch.start + to as u32;
        keep.clear();
        let thr = col.threshold();
        // A child is kept if it may be an answer itself (d(q, c) within the
        // threshold, and the filter admits it) or its subtree may hold one.
        let bound = |pc: f64| fmax(fmax(qp_lo - pc * up, pc * down - qp_hi), 0.0);
        if matches!(filter, Filter::All) {
            // Every point admitted: kept iff (lo − r)·shrink ≤ thr, r the radius of a
            // child with children and 0 of a leaf (its node's test implies its
            // subtree's, radii being ≥ 0). Branch-free: each child is written, the count
            // advances only for the kept ones (W6: 1.5 % less time than the test per
            // child below).
            let span = ch.start as usize..ch.end as usize;
            let (dps, rad, cnt) = (
                &dps[from..to],
                &tree.radius[span.clone()],
                &tree.child_count[span],
            );
            keep.resize(dps.len(), 0);
            let mut kept = 0;
            for (i, ((&pc, &r), &n)) in dps.iter().zip(rad).zip(cnt).enumerate() {
                let r = if n > 0 { r } else { 0.0 };
                keep[kept] = ch.start + i as u32;
                kept += ((bound(pc) - r) * shrink <= thr) as usize;
            }
            keep.truncate(kept);
        } else {
            for c in ch.clone() {
                let ci = c as usize;
                if !filter.subtree_may_admit(tree.min_id[ci]) {
                    continue;
                }
                let lo = bound(tree.dist_parent[ci]);
                let node = lo * shrink <= thr && node_may_admit(tree, c, filter);
                let sub = tree.child_count[ci] > 0 && (lo - tree.radius[ci]) * shrink <= thr;
                if node || sub {
                    keep.push(c);
                }
            }
        }
        if keep.is_empty() {
            continue;
        }
        // One block over all children when most survive, else one row at a time.
        let block = 2 * keep.len() > ch.len();
        if block {
            let out = window(buf, ch.len());
            if M::TWO_PHASE {
                m.phase1_block(qm, q, ch.start, out, window(hi, ch.len()));
            } else {
                m.approx_block(qm, q, ch.start, out);
            }
            ev.approx += ch.len() as u64;
        }
        for &c in keep.iter() {
            let (lo, hi) = if !block {
                ev.approx += 1;
                interval_one(m, qm, q, c, err)
            } else if M::TWO_PHASE {
                let r = (c - ch.start) as usize;
                (buf[r], hi[r])
            } else {
                let a = buf[(c - ch.start) as usize];
                (err.lower(a), err.upper(a))
            };
            let thr = col.threshold();
            let mut used = false;
            if lo <= thr && node_may_admit(tree, c, filter) {
                offer_node(tree, c, lo, hi, filter, col);
                used = true;
            }
            if tree.child_count[c as usize] > 0 {
                let lb_sub = fmax((lo * down - tree.radius[c as usize]) * shrink, 0.0);
                if lb_sub <= col.threshold() {
                    heap.push(Reverse((key(lb_sub), lo.to_bits(), c, hi.to_bits())));
                    used = true;
                }
            }
            if M::TWO_PHASE && !used {
                // Ruled out by its bound as a point (if the filter admits it) and as a
                // subtree (if it has one); the audit's radius is the larger of the two,
                // a hair smaller than computed so that rounding cannot fake a miss.
                let as_point = if node_may_admit(tree, c, filter) { thr } else { 0.0 };
                let as_subtree = if tree.child_count[c as usize] > 0 {
                    (thr / shrink + tree.radius[c as usize]) / down
                } else {
                    0.0
                };
                m.phase1_rejected(qm, q, c, as_point.max(as_subtree) * (1.0 - 1e-12));
            }
        }
    }
}

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
    let err = Bounds::new(m.approx_error());
    let n = tree.num_nodes() as u32;
    let mut start = 0;
    while start < n {
        let end = (start + BLOCK).min(n);
        if M::TWO_PHASE {
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
            offer_raw(tree, start, raw, filter, col, &MetricForm { m, err });
        }
        start = end;
    }
}

/// Scratch of [`resolve`]: the nodes to measure and their canonical distances.
#[derive(Default)]
pub(crate) struct Resolver {
    pos: Vec<u32>,
    dist: Vec<f64>,
}

/// Canonical distances for the candidates whose lower bound is within `threshold`,
/// each node measured once (its duplicates share the distance), all of them in one
/// [`Metric::distances`] call (several sums at a time where the metric can).
#[allow(clippy::too_many_arguments)]
fn resolve<M: Metric>(
    tree: &Tree<M>,
    qm: &M,
    q: u32,
    cands: &[Cand],
    threshold: f64,
    rs: &mut Resolver,
    ev: &mut Evals,
    mut take: impl FnMut(f64, u32),
) {
    let Resolver { pos, dist } = rs;
    pos.clear();
    for &(lo, p, _) in cands {
        if lo > threshold {
            if M::TWO_PHASE {
                tree.metric.phase1_rejected(qm, q, p, threshold);
            }
            continue;
        }
        // A node's duplicates are offered right after it.
        if pos.last() != Some(&p) {
            pos.push(p);
        }
    }
    ev.exact += pos.len() as u64;
    let dist = window(dist, pos.len());
    tree.metric.distances(qm, q, pos, dist);
    let mut r = 0;
    for &(lo, p, id) in cands {
        if lo > threshold {
            continue;
        }
        if pos[r] != p {
            r += 1;
        }
        debug_assert_eq!(pos[r], p);
        take(dist[r], id);
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
        let cap = self.prior_cap(tree, qm, q, k, filter, &mut ev);
        self.knn.reset(k, cap);
        if use_scan {
            scan(tree, qm, q, filter, &mut self.knn, &mut self.bufs, &mut ev);
        } else {
            tree_search(tree, qm, q, filter, &mut self.knn, &mut self.bufs, &mut ev);
        }
        self.topk.reset(k);
        let t = self.knn.threshold();
        let topk = &mut self.topk;
        resolve(
            tree,
            qm,
            q,
            &self.knn.cands,
            t,
            &mut self.resolver,
            &mut ev,
            |d, id| topk.push(d, id),
        );
        self.remember(filter);
        ev
    }

    /// An upper bound of query `q`'s k-th canonical distance before any search, from
    /// the points of the previous query of the block ([`Scratch::prior`]): the k-th
    /// smallest distance bound from `q` to those `filter` admits, +∞ if fewer than k.
    /// Any k distinct admitted points bound the k-th distance. On the tree path of a
    /// big tree consecutive queries are close (Hilbert or layout order), so the bound
    /// is useful, and the search starts with a finite threshold instead of offering
    /// the root's children blindly (W6: 781 → 661 evaluations per query); elsewhere it
    /// costs k cheap evaluations.
    fn prior_cap<M: Metric>(
        &mut self,
        tree: &Tree<M>,
        qm: &M,
        q: u32,
        k: usize,
        filter: Filter,
        ev: &mut Evals,
    ) -> f64 {
        if self.prior.len() < k {
            return f64::INFINITY;
        }
        let m = &tree.metric;
        let err = Bounds::new(m.approx_error());
        let ups = &mut self.prior_ups;
        ups.clear();
        for &id in &self.prior {
            let Some(pos) = row_of(tree, id).filter(|_| filter.admits(id)) else {
                continue;
            };
            ev.approx += 1;
            let u = interval_one(m, qm, q, pos, err).1;
            if u.is_nan() {
                return f64::INFINITY; // NaN: no bound
            }
            ups.push(u);
        }
        if ups.len() < k {
            return f64::INFINITY;
        }
        *ups.select_nth_unstable_by(k - 1, f64::total_cmp).1
    }

    /// Forgets the previous query: the next one starts without a prior bound.
    pub(crate) fn forget(&mut self) {
        self.prior.clear();
    }

    /// Remembers the points of the query just answered for the next one's
    /// [`Scratch::prior_cap`]: its answer, and the query itself where it is a point of
    /// the tree (self and predecessor queries).
    fn remember(&mut self, filter: Filter) {
        self.prior.clear();
        self.prior.extend(self.topk.ids());
        if let Filter::Except(x) | Filter::Below(x) = filter {
            self.prior.push(x);
        }
    }

    /// k nearest of query `q` through `ix`, the tree's k-d index ([`Tree::kd_index`]);
    /// result in `self.topk`. The index measures canonical distances itself, so its
    /// answers are the tree's and the scan's.
    pub(crate) fn knn_kd<M: Metric>(
        &mut self,
        tree: &Tree<M>,
        ix: &KdIndex,
        qm: &M,
        q: u32,
        k: usize,
        filter: Filter,
    ) -> Evals {
        // No prior bound here: the index meets close candidates first anyway (W7's
        // predecessor queries measured 661 → 678 evaluations per query with one).
        self.topk.reset(k);
        let limit = match filter {
            Filter::Below(x) => x,
            _ => NONE,
        };
        let topk = &mut self.topk;
        let mut exact = 0;
        let approx = ix.search_point(qm, q, f64::INFINITY, limit, &mut self.kd, &mut exact, |pos, d| {
            let id = tree.id[pos as usize];
            if filter.admits(id) {
                topk.push(d, id);
            }
            for &dup in tree.dups_of(pos) {
                if filter.admits(dup) {
                    topk.push(d, dup);
                }
            }
            topk.threshold()
        });
        Evals {
            approx,
            exact,
            rows: 0,
        }
    }

    /// All points within `r` of query `q`, sorted by (distance, id), in `self.hits`:
    /// through `ix` (the tree's k-d index) when given, else by scan or tree search.
    pub(crate) fn range<M: Metric>(
        &mut self,
        tree: &Tree<M>,
        ix: Option<&KdIndex>,
        qm: &M,
        q: u32,
        r: f64,
        use_scan: bool,
    ) -> Evals {
        let mut ev = Evals::default();
        self.hits.clear();
        let hits = &mut self.hits;
        if let Some(ix) = ix {
            // The index reports canonical distances (a few just beyond `r` too).
            ev.approx = ix.search_point(qm, q, r, NONE, &mut self.kd, &mut ev.exact, |pos, d| {
                if d <= r {
                    hits.push((d, tree.id[pos as usize]));
                    hits.extend(tree.dups_of(pos).iter().map(|&dup| (d, dup)));
                }
                r
            });
        } else {
            self.range.r = r;
            self.range.cands.clear();
            if use_scan {
                scan(tree, qm, q, Filter::All, &mut self.range, &mut self.bufs, &mut ev);
            } else {
                tree_search(tree, qm, q, Filter::All, &mut self.range, &mut self.bufs, &mut ev);
            }
            resolve(
                tree,
                qm,
                q,
                &self.range.cands,
                r,
                &mut self.resolver,
                &mut ev,
                |d, id| {
                    if d <= r {
                        hits.push((d, id))
                    }
                },
            );
        }
        hits.sort_unstable_by(|a, b| a.partial_cmp(b).expect("finite distances"));
        ev
    }
}

/// The position whose row holds point `id` (its node or its twin's); `None` for an
/// id not in the tree (deleted).
pub(crate) fn row_of<M>(tree: &Tree<M>, id: u32) -> Option<u32> {
    let p = tree.pos_of_id[id as usize];
    (p != NONE).then_some(p)
}

/// Scratch of [`scan_tiled`] and [`range_scan_tiled`], reused across query blocks.
#[derive(Default)]
pub(crate) struct TileScratch {
    cols: Vec<KnnCollector>,
    ranges: Vec<RangeCollector>,
    hits: Vec<(f64, u32)>,
    qs: Vec<u32>,
    slots: Vec<usize>,
    rows: Vec<u32>,
    lo: Vec<f64>,
    hi: Vec<f64>,
    topk: TopK,
    resolver: Resolver,
}

/// Queries per block of [`scan_tiled`] and [`range_scan_tiled`].
pub(crate) const TILE_QUERIES: usize = 16;

/// Rows per tile of [`scan_tiled`] and [`range_scan_tiled`].
const TILE_ROWS: u32 = 128;

/// The scan a block of queries at a time: tiles of the block × 128 rows, so a tile's
/// rows come from memory once per block rather than once per query (the kernels then
/// reread them from cache per group of queries) — [`Metric::phase1_tile`] for two-phase
/// metrics, [`Metric::approx_multi_raw`] for the others (metrics whose blocks pay);
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
    if !M::TWO_PHASE {
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
            // line up): the tile bounds the tiled brute force runs on (the residual
            // metric's f64 matrix product: tighter than phase 1, so far fewer canonical
            // distances — W4 at 1/4 scale 386 → 23 per query, scan 0.062–0.072 →
            // 0.049–0.050 s, the brute force 0.041–0.053 s); else phase 1 per pair.
            let contiguous = nr == (end - rows[0]) as usize;
            let consecutive = qs.windows(2).all(|w| w[1] == w[0] + 1);
            if contiguous && consecutive {
                m.tile_bounds(qm, qs[0], nq, rows[0], nr, lo, hi);
            } else {
                m.phase1_tile(qm, qs, rows, lo, hi);
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
                        m.phase1_rejected(qm, q, c, t);
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
/// of the whole tile from [`Metric::approx_multi_raw`], then each query's rows offered
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
/// the queries `qs` at once ([`Metric::approx_multi_raw`]), each query's raw values then
/// offered to its collector `cols[a]` under its filter `filter(a)` as the per-query scan
/// offers them. Every row is measured: only metrics whose blocks pay come here (the
/// per-query scan measures them all too).
fn offer_tiles<M: Metric, C: Collector>(
    tree: &Tree<M>,
    qm: &M,
    qs: &[u32],
    raw: &mut Vec<f64>,
    ev: &mut Evals,
    cols: &mut [C],
    filter: impl Fn(usize) -> Filter,
) {
    let m = &tree.metric;
    debug_assert!(!M::TWO_PHASE && m.blocks_pay());
    let form = MetricForm {
        m,
        err: Bounds::new(m.approx_error()),
    };
    let (n, nq) = (tree.num_nodes() as u32, qs.len());
    let mut start = 0;
    while start < n {
        let end = (start + TILE_ROWS).min(n);
        let nr = (end - start) as usize;
        let raw = window(raw, nq * nr);
        m.approx_multi_raw(qm, qs, start, raw);
        ev.approx += (nq * nr) as u64;
        for (a, col) in cols.iter_mut().enumerate() {
            offer_raw(tree, start, &raw[a * nr..(a + 1) * nr], filter(a), col, &form);
        }
        start = end;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// `kth_bound` is at least the k-th smallest and one of the values (or +∞ where
    /// NaN leaves fewer than k groups a value), for every k, lengths around multiples
    /// of the groups, ties and NaN.
    #[test]
    fn kth_bound_is_a_value_at_least_the_kth_smallest() {
        let mut state = 0x2545_F491_4F6C_DD1Du64;
        let mut next = move || {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            state
        };
        for len in [2 * GROUPS, 2 * GROUPS + 1, 3 * GROUPS - 1, 100, 513] {
            for case in 0..20 {
                let raw: Vec<f64> = (0..len)
                    .map(|_| match case % 4 {
                        0 => (next() % 1000) as f64,
                        1 => (next() % 4) as f64, // many ties
                        2 if next() % 10 == 0 => f64::NAN,
                        _ => (next() >> 11) as f64 / (1u64 << 53) as f64,
                    })
                    .collect();
                let mut sorted: Vec<f64> = raw.iter().copied().filter(|r| !r.is_nan()).collect();
                sorted.sort_by(f64::total_cmp);
                for k in 1..=GROUPS {
                    // Below a limit under the k-th smallest there is no bound.
                    assert_eq!(kth_bound(&raw, k, sorted[k - 1]), f64::INFINITY);
                    let b = kth_bound(&raw, k, f64::INFINITY);
                    assert!(
                        b >= sorted[k - 1],
                        "len {len}, case {case}, k {k}: {b} < {}",
                        sorted[k - 1]
                    );
                    if b.is_finite() {
                        assert!(raw.contains(&b), "len {len}, case {case}, k {k}: {b} is no value");
                    } else {
                        // Only where NaN left fewer than k groups with a value.
                        assert!(case % 4 == 2, "len {len}, case {case}, k {k}: no bound");
                    }
                }
            }
        }
    }
}
