//! How measured rows reach a collector: blocks of raw values or phase-1 intervals
//! turned into bounds, filtered, offered with their duplicates.

use super::bounds::{kth_bound, RawForm, GROUPS};
use super::collect::Collector;
use super::evals::Evals;
use super::filter::Filter;
use crate::metric::{pair_interval, raw_block, Bounds, Metric, Points};
use crate::tree::Tree;

/// Offers node `pos` (interval `lo..hi`) and its duplicates.
#[inline]
pub(super) fn offer_node<M: Metric>(
    tree: &Tree<M>,
    pos: u32,
    lo: f64,
    hi: f64,
    filter: Filter,
    c: &mut impl Collector,
) {
    let id = tree.id[pos as usize];
    if filter.admits(id) {
        c.offer(lo, hi, pos, id);
    }
    let offs = tree.dups.offsets();
    if offs[pos as usize] != offs[pos as usize + 1] {
        for dup in admitted_dups(tree, pos, filter, c.dup_cap()) {
            c.offer(lo, hi, pos, dup);
        }
    }
}

/// The duplicates of node `pos` that `filter` admits, at most `cap` of them, smallest ids
/// first (duplicates are stored sorted). They all tie with the node, so a k-NN search
/// needs only k of them: a group of identical points costs O(k) per query, not O(group).
#[inline]
pub(super) fn admitted_dups<M: Metric>(
    tree: &Tree<M>,
    pos: u32,
    filter: Filter,
    cap: usize,
) -> impl Iterator<Item = u32> + '_ {
    tree.dups_of(pos)
        .iter()
        .copied()
        .take_while(move |&d| !matches!(filter, Filter::Below(x) if d >= x))
        .filter(move |&d| filter.admits(d))
        .take(cap)
}

/// Whether node `pos` itself or one of its duplicates is admitted.
#[inline]
pub(super) fn node_may_admit<M: Metric>(tree: &Tree<M>, pos: u32, filter: Filter) -> bool {
    match filter {
        Filter::Below(x) => tree.id[pos as usize] < x || tree.dups_of(pos).first().is_some_and(|&d| d < x),
        _ => true,
    }
}

/// Raw values of the rows `first..first + raw.len()`: one block call where the metric's
/// blocks pay ([`Capabilities::blocks_pay`](crate::metric::Capabilities::blocks_pay)),
/// else row by row, measuring only rows whose points the filter admits (the others get
/// `+inf`, which no threshold lets in).
pub(super) fn measure_rows<M: Metric>(
    tree: &Tree<M>,
    qm: &M,
    q: u32,
    first: u32,
    raw: &mut [f64],
    filter: Filter,
    ev: &mut Evals,
) {
    let m = &tree.metric;
    if m.capabilities().blocks_pay {
        raw_block(m, qm, q, first, raw);
        ev.approx += raw.len() as u64;
        return;
    }
    for (c, r) in (first..).zip(raw.iter_mut()) {
        if node_may_admit(tree, c, filter) {
            raw_block(m, qm, q, c, std::slice::from_mut(r));
            ev.approx += 1;
        } else {
            *r = f64::INFINITY;
        }
    }
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
/// rows offered while the threshold is still loose (see BENCHMARKS.md, section Queries
/// vs peers). Predecessor filters admit rows unevenly and go without;
/// `Filter::Except` asks for one more row (its own may admit nothing). Once k bounds
/// are known (most blocks of a scan) the bound would seldom tighten anything and is
/// not computed.
#[inline]
pub(super) fn offer_raw<M: Metric, C: Collector, F: RawForm>(
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

/// Two-phase metrics ([`Capabilities::two_phase`](crate::metric::Capabilities::two_phase)):
/// phase 1 over the rows `first..first + len`, and each admitted row offered with its phase-1
/// interval (the canonical distance, phase 2, comes in [`resolve`](super::resolve::resolve) for
/// the survivors only); rows ruled out are reported to [`Metric::rejected`].
#[allow(clippy::too_many_arguments)]
pub(super) fn offer_phased<M: Metric, C: Collector>(
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
                (*l, *h) = pair_interval(m, qm, q, c);
                ev.approx += 1;
            }
        }
    } else {
        let rows = Points::Run { first, len: lo.len() };
        m.bounds(qm, Points::one(&q), rows, Bounds::Interval { lo, hi });
        ev.approx += len as u64;
    }
    for ((c, &l), &h) in (first..).zip(lo.iter()).zip(hi.iter()) {
        if !node_may_admit(tree, c, filter) {
            continue;
        }
        let t = col.threshold();
        if l > t {
            m.rejected(qm, q, c, t);
            continue;
        }
        offer_node(tree, c, l, h, filter, col);
    }
}

/// The first `len` values of `buf`, growing it if needed: buffers only ever grow, so
/// blocks of varying length do not zero-fill them again (the callee overwrites them).
#[inline]
pub(super) fn window(buf: &mut Vec<f64>, len: usize) -> &mut [f64] {
    if buf.len() < len {
        buf.resize(len, 0.0);
    }
    &mut buf[..len]
}
