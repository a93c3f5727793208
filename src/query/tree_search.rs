//! Best-first branch and bound over the tree for one query.

use super::bounds::{interval_one, MetricForm};
use super::collect::Collector;
use super::evals::Evals;
use super::filter::Filter;
use super::offer::{measure_rows, node_may_admit, offer_node, offer_phased, offer_raw, window};
use crate::metric::{approx_one, Bounds, Metric, Points};
use crate::tree::{fmax, SketchScratch, Tree, NONE};
use std::cmp::Reverse;
use std::collections::BinaryHeap;

/// The search's own buffers: the frontier and the block distances.
#[derive(Default)]
pub(crate) struct Buffers {
    /// Frontier: (subtree lower bound, lower bound of d(q, node), position, upper bound
    /// of d(q, node)), bounds as bit patterns.
    pub(super) heap: BinaryHeap<Reverse<(u64, u64, u32, u64)>>,
    pub(super) buf: Vec<f64>,
    /// Phase-1 upper bounds (two-phase metrics).
    pub(super) hi: Vec<f64>,
    /// Children that survive the triangle-inequality bound.
    pub(super) keep: Vec<u32>,
    /// The query's side of the buckets' sketches.
    pub(super) sketch: SketchScratch,
}

/// Orders non-negative finite floats by their bit patterns.
#[inline]
pub(super) fn key(lb: f64) -> u64 {
    fmax(lb, 0.0).to_bits()
}

/// Best-first branch and bound from the root for query `q` of `qm`: subtrees pop in
/// order of their lower bound, ties (many are 0: the query lies inside their cover
/// balls) by the distance bound to their node, nearest first, so that the threshold
/// tightens early (same evaluations, less time; see BENCHMARKS.md, section Queries vs
/// peers).
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
    let (errors, caps) = (m.errors(), m.capabilities());
    let (err, dc, abs) = (errors.approx_slack(), errors.distance_rel, errors.distance_abs);
    let (two_phase, raw) = (caps.two_phase, caps.raw);
    let form = MetricForm::new(m);
    // true ≥ (canonical − abs)·down and true ≤ (canonical + abs)·up; canonical ≥
    // true·shrink − abs (abs: the metric's absolute error, 0 for Euclidean data).
    let (down, up, shrink) = (1.0 / (1.0 + dc), 1.0 / (1.0 - dc), 1.0 - dc);
    heap.clear();
    if !filter.subtree_may_admit(tree.min_id[0]) {
        return;
    }
    ev.approx += 1;
    let a0 = approx_one(m, qm, q, 0);
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
            if two_phase {
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
                    offer_raw(tree, first, raw, filter, col, &form);
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
        let (qp_lo, qp_hi) = (
            (f64::from_bits(plo) - abs) * down,
            (f64::from_bits(phi) + abs) * up,
        );
        // Children are sorted by d(p, c): only a window of them can be within the
        // threshold plus the largest child radius of the query.
        let reach = (col.threshold() + abs) * up + tree.child_radius_max[p as usize];
        let dps = &tree.dist_parent[ch.start as usize..ch.end as usize];
        let from = dps.partition_point(|&pc| pc < (qp_lo - reach) * shrink - abs);
        // (`max`: the window is empty rather than inverted if a metric's bounds cross.)
        let to = dps
            .partition_point(|&pc| pc <= (qp_hi + reach) * (1.0 + dc) + abs)
            .max(from);
        let ch = ch.start + from as u32..ch.start + to as u32;
        keep.clear();
        let thr = col.threshold();
        // A child is kept if it may be an answer itself (d(q, c) within the
        // threshold, and the filter admits it) or its subtree may hold one.
        // A lower bound on the true d(q, c), then on its canonical value.
        let bound = |pc: f64| fmax(fmax(qp_lo - (pc + abs) * up, (pc - abs) * down - qp_hi), 0.0);
        if matches!(filter, Filter::All) {
            // Every point admitted: kept iff (lo − r)·shrink ≤ thr, r the radius of a
            // child with children and 0 of a leaf (its node's test implies its
            // subtree's, radii being ≥ 0). Branch-free: each child is written, the count
            // advances only for the kept ones (cheaper than the per-child test of the
            // filtered case below).
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
                kept += ((bound(pc) - r) * shrink - abs <= thr) as usize;
            }
            keep.truncate(kept);
        } else {
            for c in ch.clone() {
                let ci = c as usize;
                if !filter.subtree_may_admit(tree.min_id[ci]) {
                    continue;
                }
                let lo = bound(tree.dist_parent[ci]);
                let node = lo * shrink - abs <= thr && node_may_admit(tree, c, filter);
                let sub = tree.child_count[ci] > 0 && (lo - tree.radius[ci]) * shrink - abs <= thr;
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
            let run = Points::Run {
                first: ch.start,
                len: ch.len(),
            };
            if two_phase {
                let hi = window(hi, ch.len());
                m.bounds(qm, Points::one(&q), run, Bounds::Interval { lo: out, hi });
            } else {
                m.bounds(qm, Points::one(&q), run, Bounds::Raw(out));
                out.iter_mut().for_each(|d| *d = raw.to_distance(*d));
            }
            ev.approx += ch.len() as u64;
        }
        for &c in keep.iter() {
            let (lo, hi) = if !block {
                ev.approx += 1;
                interval_one(m, qm, q, c, err)
            } else if two_phase {
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
                let lb_sub = fmax(((lo - abs) * down - tree.radius[c as usize]) * shrink - abs, 0.0);
                if lb_sub <= col.threshold() {
                    heap.push(Reverse((key(lb_sub), lo.to_bits(), c, hi.to_bits())));
                    used = true;
                }
            }
            if two_phase && !used {
                // Ruled out by its bound as a point (if the filter admits it) and as a
                // subtree (if it has one); the audit's radius is the larger of the two,
                // a hair smaller than computed so that rounding cannot fake a miss.
                let as_point = if node_may_admit(tree, c, filter) { thr } else { 0.0 };
                let as_subtree = if tree.child_count[c as usize] > 0 {
                    (thr / shrink + tree.radius[c as usize]) / down
                } else {
                    0.0
                };
                m.rejected(qm, q, c, as_point.max(as_subtree) * (1.0 - 1e-12));
            }
        }
    }
}
