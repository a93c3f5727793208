//! A k-d index over points of a metric whose canonical distance is the Euclidean
//! distance of their coordinates ([`Capabilities::euclidean`](crate::metric::Capabilities::euclidean)), in a few dimensions.
//!
//! In a few dimensions the cover-tree descent prunes badly — cover radii are large next
//! to the spacing of the points, so it measures a sizeable share of the tree for every
//! point — while axis-aligned boxes prune well. Four users:
//!
//! ```text
//! points ──► median splits on the widest side ──► leaves of ≤ LEAF points, coordinates
//!            copied leaf by leaf (f64, zero-padded to LANES), every k-d node with its
//!            tight box (and the smallest key inside, for filtered searches)
//! search:    depth-first, the half on the query's side of the split first; prune a box
//!            beyond the radius, which the caller may shrink as it finds points
//!
//! build, parent  (KdLevels): one index per tree level, built at the start of a batch
//!                (plus one per level for each round's winners); the nearest node y
//!                with d(x, y) ≤ b^ℓ(y), ties by id, is the lowest-feasible-level parent
//! build, conflicts (build::batch): an index over the batch's new nodes, each searched
//!                within b^ℓ(x) — the conflict edges without scopes
//! delete, parent (KdGrowing): KdLevels over the tree's nodes, plus groups of the nodes
//!                re-homed so far, merged like a binary counter
//! queries (Tree::kd_index): an index over the tree's rows for k-NN
//! ```
//!
//! Exactness: a leaf filters rows with the SIMD squared-distance kernel, and box bounds
//! are summed in [`LANES`] lanes; both are within a relative 1e-12 (plus an absolute
//! 1e-300 for underflow) of the column-order sum, and a box's column-order sum never
//! exceeds the computed sum of a point inside (each term is no larger, rounding is
//! monotone), so ruling out only sums above [`reach`] never drops a point within the radius.
//! Rows that pass are measured in column order — the canonical distance's own operations
//! (f32 coordinates widen exactly) — so every decision is made on canonical values, and
//! the build's answers are the descent's: the same parent and level, the same edges.

mod greedy;
use super::growing::{Growing, Placement, SLACK};
use super::{level_of, scale, NONE};
use crate::kernels::{isa::Isa, Kernels};
use crate::metric::{euclidean_distance, fmax, Metric};
use crate::pool::Pool;
use rayon::prelude::*;

/// Box bounds sum this many columns side by side.
const LANES: usize = 4;

/// Most entries per leaf. 32 rather than 16: measuring a bigger leaf with the SIMD
/// kernel costs less than descending to two smaller ones (W3's build 11 % faster, its
/// 1,024 queries 8.2 ms against 9.2–11.9; W5's queries 0.43 s against 0.46; W7 equal).
const LEAF: usize = 32;

/// Squared bounds get this relative headroom: `sqrt(s) ≤ r` implies `s ≤ r²·(1 + 8ε)`.
const SQ_SLACK: f64 = 1.0 + 8.0 * f64::EPSILON;

/// Below this squared sum the canonical distance rescales (see
/// [`euclidean_distance`]); leaves then call it instead of taking the square root.
const TINY: f64 = 1e-280;

#[derive(Clone, Copy, Debug, PartialEq)]
struct KdNode {
    /// Entries `start..end` (leaf order) lie in this box.
    start: u32,
    end: u32,
    /// Children (k-d node indices), or `NONE` for a leaf; entries of `left` have
    /// coordinate `axis` at most `split`, those of `right` at least `split`.
    left: u32,
    right: u32,
    axis: u32,
    split: f64,
    /// The smallest key of the entries (0 for an index without keys: never skipped).
    min_key: u32,
}

/// A k-d tree over some points, each with a tag (built per batch for the build, once per
/// tree for queries).
pub(crate) struct KdIndex {
    dim: usize,
    /// `dim` rounded up to a multiple of [`LANES`]; rows and boxes are zero-padded to it.
    pad: usize,
    /// SIMD squared distances that filter a leaf's entries before the exact sums.
    kernels: Kernels<f64>,
    /// The entries' tags in leaf order, and their coordinates (`pad` each).
    tags: Vec<u32>,
    /// The entries' keys in leaf order (empty for an index without keys).
    keys: Vec<u32>,
    coords: Vec<f64>,
    nodes: Vec<KdNode>,
    /// Per k-d node: the box's low corner then its high corner (`2·pad` values).
    boxes: Vec<f64>,
}

impl std::fmt::Debug for KdIndex {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("KdIndex")
            .field("dim", &self.dim)
            .field("entries", &self.tags.len())
            .field("kd_nodes", &self.nodes.len())
            .finish()
    }
}

/// Scratch for the searches, one per thread.
#[derive(Default)]
pub(crate) struct KdScratch {
    stack: Vec<(u32, f64)>,
    q: Vec<f64>,
    sq: Vec<f64>,
}

/// The k-d nodes and boxes of a subtree in preorder, its root first, child links
/// relative to it: halves built in parallel are appended to their parent's part.
#[derive(Default)]
struct Part {
    nodes: Vec<KdNode>,
    /// Per k-d node: the box's low corner then its high corner (`2·pad` values).
    boxes: Vec<f64>,
}

/// Subtrees of at least this many entries split their halves in parallel (when the
/// caller gave a pool).
const PAR_SPLIT: usize = 16_384;

/// What a split needs besides the entries: the padded coordinates, the keys, and
/// the pool that big halves may go to.
struct SplitCtx<'a> {
    pts: &'a [f64],
    dim: usize,
    pad: usize,
    keys: Option<&'a [u32]>,
    pool: Option<&'a Pool>,
}

impl Part {
    /// Appends `other` (a subtree built on its own) and returns its root's index here.
    fn append(&mut self, other: Part) -> u32 {
        let base = self.nodes.len() as u32;
        self.nodes.extend(other.nodes.into_iter().map(|mut nd| {
            if nd.left != NONE {
                nd.left += base;
                nd.right += base;
            }
            nd
        }));
        self.boxes.extend_from_slice(&other.boxes);
        base
    }

    /// Lays out the entries `order` (indices into `cx.pts`, starting at leaf position
    /// `start`) under a new k-d node; returns its index. The layout does not depend on
    /// which halves ran in parallel.
    fn split(&mut self, cx: &SplitCtx<'_>, order: &mut [u32], start: usize) -> u32 {
        let (pts, dim, pad) = (cx.pts, cx.dim, cx.pad);
        let at = self.nodes.len();
        self.nodes.push(KdNode {
            start: start as u32,
            end: (start + order.len()) as u32,
            left: NONE,
            right: NONE,
            axis: 0,
            split: 0.0,
            min_key: cx.keys.map_or(0, |ks| {
                order.iter().map(|&k| ks[k as usize]).min().unwrap_or(NONE)
            }),
        });
        // The box, written in place: low corner, then high corner (padding stays 0).
        let base = self.boxes.len();
        self.boxes.resize(base + 2 * pad, 0.0);
        let (lo, hi) = self.boxes[base..].split_at_mut(pad);
        lo[..dim].fill(f64::INFINITY);
        hi[..dim].fill(f64::NEG_INFINITY);
        for &k in order.iter() {
            let p = &pts[k as usize * pad..k as usize * pad + dim];
            for j in 0..dim {
                lo[j] = lo[j].min(p[j]);
                hi[j] = hi[j].max(p[j]);
            }
        }
        if order.len() > LEAF {
            let axis = (0..dim)
                .max_by(|&a, &b| (hi[a] - lo[a]).total_cmp(&(hi[b] - lo[b])))
                .unwrap_or(0);
            let mid = order.len() / 2;
            let key = |k: &u32| pts[*k as usize * pad + axis];
            order.select_nth_unstable_by(mid, |a, b| key(a).total_cmp(&key(b)).then(a.cmp(b)));
            let split = key(&order[mid]);
            let len = order.len();
            let (l, r) = order.split_at_mut(mid);
            let (left, right) = if let Some(pool) = cx.pool.filter(|_| len >= PAR_SPLIT) {
                let (mut lp, mut rp) = (Part::default(), Part::default());
                pool.join(|| lp.split(cx, l, start), || rp.split(cx, r, start + mid));
                (self.append(lp), self.append(rp))
            } else {
                let left = self.split(cx, l, start);
                (left, self.split(cx, r, start + mid))
            };
            let nd = &mut self.nodes[at];
            (nd.left, nd.right, nd.axis, nd.split) = (left, right, axis as u32, split);
        }
        at as u32
    }
}

impl KdIndex {
    /// The index over the points `points` of `m`, entry `k` tagged `tags[k]`; big
    /// halves split in parallel on `pool` if given (callers inside a
    /// [`OnceLock`](std::sync::OnceLock) initialiser pass none: a worker waiting for
    /// its other half may steal work that re-enters the initialiser).
    pub(crate) fn new<M: Metric>(m: &M, points: &[u32], tags: &[u32], pool: Option<&Pool>) -> Self {
        Self::with_keys(m, points, tags, None, pool)
    }

    /// [`KdIndex::new`] with a key per entry: every k-d node keeps the smallest key
    /// inside, and searches with a key limit skip nodes that hold no key below it.
    pub(crate) fn with_keys<M: Metric>(
        m: &M,
        points: &[u32],
        tags: &[u32],
        keys: Option<&[u32]>,
        pool: Option<&Pool>,
    ) -> Self {
        let dim = m.capabilities().coordinate_dim;
        let pad = dim.next_multiple_of(LANES);
        let n = points.len();
        let mut pts = vec![0.0; n * pad];
        for (k, &y) in points.iter().enumerate() {
            m.coordinates(y, &mut pts[k * pad..k * pad + dim]);
        }
        let mut order: Vec<u32> = (0..n as u32).collect();
        let mut part = Part {
            nodes: Vec::with_capacity(2 * n / LEAF + 2),
            boxes: Vec::with_capacity((2 * n / LEAF + 2) * 2 * pad),
        };
        if n > 0 {
            let cx = SplitCtx {
                pts: &pts,
                dim,
                pad,
                keys,
                pool,
            };
            part.split(&cx, &mut order, 0);
        }
        let mut coords = Vec::with_capacity(n * pad);
        for &k in &order {
            coords.extend_from_slice(&pts[k as usize * pad..(k as usize + 1) * pad]);
        }
        KdIndex {
            dim,
            pad,
            // The active level always exists (it was chosen from what this CPU has);
            // portable is the fallback for a PCCT_ISA the metric already rejected.
            kernels: Kernels::active().unwrap_or_else(|_| Kernels::new(Isa::Portable).expect("portable")),
            tags: order.iter().map(|&k| tags[k as usize]).collect(),
            keys: keys.map_or_else(Vec::new, |ks| order.iter().map(|&k| ks[k as usize]).collect()),
            coords,
            nodes: part.nodes,
            boxes: part.boxes,
        }
    }

    /// Squared distance from `q` (padded) to the box of k-d node `k`, summed in lanes:
    /// within a relative 1e-12 (plus underflow) of the column-order sum, which never
    /// exceeds the computed squared distance of an entry inside (see the module notes).
    #[inline(always)]
    fn box_sq(&self, q: &[f64], k: u32) -> f64 {
        let b = &self.boxes[k as usize * 2 * self.pad..(k as usize + 1) * 2 * self.pad];
        let (lo, hi) = b.split_at(self.pad);
        let mut acc = [0.0; LANES];
        for ((l, h), x) in lo
            .chunks_exact(LANES)
            .zip(hi.chunks_exact(LANES))
            .zip(q.chunks_exact(LANES))
        {
            for j in 0..LANES {
                // Plain comparisons (one max instruction each; coordinates are finite,
                // so `f64::max`'s NaN handling would only cost).
                let t = fmax(fmax(l[j] - x[j], x[j] - h[j]), 0.0);
                acc[j] += t * t;
            }
        }
        (acc[0] + acc[2]) + (acc[1] + acc[3])
    }

    /// The canonical distance from `q` to entry `e` if it is within `r`: the column-order
    /// squared sum — the canonical distance's own operations — then its square root
    /// (or, for sums that small, the canonical distance's rescaled path).
    #[inline]
    fn exact_within(&self, q: &[f64], e: usize, r: f64) -> Option<f64> {
        let p = &self.coords[e * self.pad..e * self.pad + self.dim];
        let mut s = 0.0;
        for j in 0..self.dim {
            let t = q[j] - p[j];
            s += t * t;
        }
        if s >= TINY {
            // sqrt is correctly rounded: sqrt(s) ≤ r implies s ≤ r²(1 + 8ε).
            return (s <= r * r * SQ_SLACK).then(|| s.sqrt());
        }
        // Tiny sums: the canonical distance rescales, and r² may be subnormal; let the
        // caller decide on the canonical value.
        Some(euclidean_distance(&q[..self.dim], p))
    }

    /// The entries' tags in leaf order: points near each other come together.
    pub(crate) fn tags(&self) -> &[u32] {
        &self.tags
    }

    /// [`KdIndex::search`] around point `x` of `m`.
    #[allow(clippy::too_many_arguments)]
    pub(crate) fn search_point<M: Metric>(
        &self,
        m: &M,
        x: u32,
        r: f64,
        limit: u32,
        sc: &mut KdScratch,
        evals: &mut u64,
        f: impl FnMut(u32, f64) -> f64,
    ) -> u64 {
        sc.load(m, x);
        self.search(&sc.q, r, limit, &mut sc.stack, &mut sc.sq, evals, f)
    }

    /// Calls `f(tag, distance)` for every entry within `r` of `q` (padded; canonical
    /// distances; a few just beyond `r` may be reported too, so callers test the
    /// distance); `f` returns the radius for the rest of the search (it may shrink).
    /// Skips k-d nodes whose smallest key is `≥ limit`, and entries whose key is (pass
    /// `NONE` for no limit). Counts canonical distances in `evals` and
    /// returns the number of entries the SIMD kernel measured.
    #[allow(clippy::too_many_arguments)]
    pub(crate) fn search(
        &self,
        q: &[f64],
        mut r: f64,
        limit: u32,
        stack: &mut Vec<(u32, f64)>,
        sq: &mut Vec<f64>,
        evals: &mut u64,
        mut f: impl FnMut(u32, f64) -> f64,
    ) -> u64 {
        let mut measured = 0;
        if self.nodes.is_empty() {
            return 0;
        }
        stack.clear();
        stack.push((0, self.box_sq(q, 0)));
        let mut cut = reach(r);
        let keyed = limit != NONE && !self.keys.is_empty();
        while let Some((k, lb)) = stack.pop() {
            if lb > cut {
                continue;
            }
            let nd = self.nodes[k as usize];
            if nd.min_key >= limit {
                continue;
            }
            if nd.left == NONE {
                let (a, b) = (nd.start as usize, nd.end as usize);
                measured += (b - a) as u64;
                sq.resize(b - a, 0.0);
                self.kernels
                    .sq_dist_block(q, &self.coords[a * self.pad..b * self.pad], self.pad, sq);
                // Most leaves hold no entry within reach: one minimum (four lanes) rules
                // the whole leaf out before any per-entry test.
                if leaf_min(sq) > cut {
                    continue;
                }
                for (e, &s) in (a..b).zip(sq.iter()) {
                    if s > cut || (keyed && self.keys[e] >= limit) {
                        continue;
                    }
                    if let Some(d) = self.exact_within(q, e, r) {
                        *evals += 1;
                        r = f(self.tags[e], d);
                        cut = reach(r);
                    }
                }
                continue;
            }
            // The half on q's side of the split on top, with this node's bound (its own
            // box is inside this one's); the other half with its own box.
            let (near, far) = if q[nd.axis as usize] <= nd.split {
                (nd.left, nd.right)
            } else {
                (nd.right, nd.left)
            };
            stack.push((far, self.box_sq(q, far)));
            stack.push((near, lb));
        }
        measured
    }
}

/// The smallest of `v` (finite or `+∞`; `+∞` if empty), in four independent lanes.
#[inline]
fn leaf_min(v: &[f64]) -> f64 {
    let mut m = [f64::INFINITY; 4];
    let mut chunks = v.chunks_exact(4);
    for c in &mut chunks {
        for j in 0..4 {
            m[j] = min(m[j], c[j]);
        }
    }
    for &x in chunks.remainder() {
        m[0] = min(m[0], x);
    }
    min(min(m[0], m[1]), min(m[2], m[3]))
}

/// The smaller of two values as one compare-and-select (a NaN `a` gives `b`).
#[inline(always)]
pub(crate) fn min(a: f64, b: f64) -> f64 {
    if a < b {
        a
    } else {
        b
    }
}

/// The largest lane-summed squared distance `s` (box or SIMD kernel) that may hide a
/// canonical distance `≤ r`: both sums are within a relative 1e-12 of each other (at
/// most 16 terms, `(dim + 2)·ε` each way) apart from underflow, below 1e-300, so
/// `s > reach(r)` rules the entry or box out. Computed once per radius, so the hot
/// loops compare one number; the factor `1 + 4e-12` keeps it above
/// `(r²·(1 + 8ε) + 1e-300) / (1 − 1e-12)` despite its own rounding.
#[inline]
fn reach(r: f64) -> f64 {
    (r * r * SQ_SLACK + 1e-300) * (1.0 + 4e-12)
}

/// One [`KdIndex`] per level present in the tree: the nodes of level `j` are more than
/// `b^j` apart, and both questions of the traversal ask of them a radius of a few
/// `b^j` at most, so every search stays local.
pub(crate) struct KdLevels {
    /// (level, index over nodes of that level): by ascending level, then the indexes
    /// that [`KdLevels::add`] appended.
    levels: Vec<(i32, KdIndex)>,
}

impl KdLevels {
    /// The indexes over the tree nodes `nodes` of `g` (coordinates from `m`), tagged
    /// with their ids, built on `pool` (serially without one).
    pub(crate) fn new<M: Metric>(m: &M, g: &Growing, nodes: &[u32], pool: Option<&Pool>) -> Self {
        let mut kd = KdLevels { levels: Vec::new() };
        kd.add(m, g, nodes, pool);
        kd
    }

    /// Adds the nodes `nodes` (new since the indexes were built): one more index per
    /// level they occupy, so that a batch's later rounds see its earlier winners without
    /// rebuilding the indexes of the whole tree.
    pub(crate) fn add<M: Metric>(&mut self, m: &M, g: &Growing, nodes: &[u32], pool: Option<&Pool>) {
        let mut by_level = nodes.to_vec();
        by_level.sort_unstable_by_key(|&y| (g.level[y as usize], y));
        let groups: Vec<&[u32]> = by_level
            .chunk_by(|&a, &b| g.level[a as usize] == g.level[b as usize])
            .collect();
        let one = |ys: &[u32]| (g.level[ys[0] as usize], KdIndex::new(m, ys, ys, pool));
        match pool {
            // One index per level, the levels and the halves of big ones in parallel.
            Some(pool) => {
                let added: Vec<(i32, KdIndex)> = pool.install(|| groups.into_par_iter().map(one).collect());
                self.levels.extend(added);
            }
            None => self.levels.extend(groups.into_iter().map(one)),
        }
    }

    /// Where point `x` goes — as [`Growing::place`] would answer (conflicts come from
    /// the batch's own k-d join, so no scope is collected). The root must be raised for
    /// `x` and `d0 = d(x, root)`.
    pub(crate) fn place<M: Metric>(
        &self,
        m: &M,
        g: &Growing,
        x: u32,
        d0: f64,
        sc: &mut KdScratch,
        evals: &mut u64,
    ) -> Placement {
        place_by(m, g, x, d0, sc, |sc, best| self.improve(sc, best, evals))
    }

    /// Replaces `best` (a distance and a node) by the nearest node `y` of these indexes
    /// with `d ≤ b^ℓ(y)` from the point loaded in `sc` where that is nearer (ties by id).
    fn improve(&self, sc: &mut KdScratch, best: &mut (f64, u32), evals: &mut u64) {
        let (q, stack, sq) = (&sc.q, &mut sc.stack, &mut sc.sq);
        let (mut bd, mut by) = *best;
        for (lv, ix) in &self.levels {
            let cap = scale(*lv);
            let r = bd.min(cap) * SLACK;
            *evals += ix.search(q, r, NONE, stack, sq, evals, |y, d| {
                if d <= cap && (d, y) < (bd, by) {
                    (bd, by) = (d, y);
                }
                bd.min(cap) * SLACK
            });
        }
        *best = (bd, by);
    }
}

impl KdScratch {
    /// Loads the coordinates of point `x` of `m` as the query (zero-padded).
    fn load<M: Metric>(&mut self, m: &M, x: u32) {
        let dim = m.capabilities().coordinate_dim;
        self.q.clear();
        self.q.resize(dim.next_multiple_of(LANES), 0.0);
        m.coordinates(x, &mut self.q[..dim]);
    }
}

/// The placement of point `x` of `m` (`d0 = d(x, root)`, the root raised for it): the
/// root's duplicate at distance 0, else the placement under the nearest feasible node
/// that `search` finds from the point loaded in `sc`, starting from the root. (An index
/// may hold the root at a level it had before `raise_root_for` lifted it; starting from
/// `(d0, root)` makes that harmless: the stale entry can only report the root again.)
fn place_by<M: Metric>(
    m: &M,
    g: &Growing,
    x: u32,
    d0: f64,
    sc: &mut KdScratch,
    search: impl FnOnce(&mut KdScratch, &mut (f64, u32)),
) -> Placement {
    if d0 == 0.0 {
        return Placement::Dup(g.root);
    }
    sc.load(m, x);
    let mut best = (d0, g.root);
    search(sc, &mut best);
    placement(best)
}

/// The placement under the nearest feasible node `by`, `bd` away: its duplicate at
/// distance 0, else a new node one level below the level of `bd`.
fn placement((bd, by): (f64, u32)) -> Placement {
    if bd == 0.0 {
        return Placement::Dup(by);
    }
    Placement::Node {
        level: level_of(bd) - 1,
        parent: by,
        dist: bd,
    }
}

/// Nodes added to a [`KdGrowing`] are measured one by one until there are this many,
/// then indexed (chosen by measurement; see BENCHMARKS.md, section Updates).
const LOOSE: usize = 32;

/// Groups of at least this many nodes are indexed on the pool.
const PAR_GROUP: usize = 4096;

/// k-d indexes over a tree that gains nodes a few at a time (the re-homing of a
/// delete, one orphan subtree after another), answering [`Growing::place`] as the
/// descent would. The newest nodes are measured one by one; every [`LOOSE`] of them
/// become a group with its own per-level indexes ([`KdLevels`]); groups merge like the
/// digits of a binary counter (a group is rebuilt with the ones after it once they hold
/// as many nodes), so there are O(log n) groups and a node is indexed O(log n) times.
pub(crate) struct KdGrowing<'p> {
    /// Groups of nodes with their indexes, sizes decreasing (the tree's nodes when it
    /// was made are the first group until the added ones outnumber them).
    groups: Vec<(Vec<u32>, KdLevels)>,
    /// Nodes added since the last group was made.
    loose: Vec<u32>,
    /// Where the first group and big merged groups are built.
    pool: &'p Pool,
}

impl<'p> KdGrowing<'p> {
    /// The indexes over the nodes `nodes` of `g`, built on `pool`.
    pub(crate) fn new<M: Metric>(m: &M, g: &Growing, nodes: Vec<u32>, pool: &'p Pool) -> Self {
        let ix = KdLevels::new(m, g, &nodes, Some(pool));
        KdGrowing {
            groups: vec![(nodes, ix)],
            loose: Vec::new(),
            pool,
        }
    }

    /// Adds the nodes `nodes` of `g`, just attached (their levels are final).
    pub(crate) fn push<M: Metric>(&mut self, m: &M, g: &Growing, nodes: &[u32]) {
        self.loose.extend_from_slice(nodes);
        if self.loose.len() < LOOSE {
            return;
        }
        let mut merged = std::mem::take(&mut self.loose);
        while let Some((last, _)) = self.groups.pop_if(|(last, _)| last.len() <= merged.len()) {
            merged.extend_from_slice(&last);
        }
        let ix = KdLevels::new(m, g, &merged, (merged.len() >= PAR_GROUP).then_some(self.pool));
        self.groups.push((merged, ix));
    }

    /// [`KdLevels::place`] over every node so far.
    pub(crate) fn place<M: Metric>(
        &self,
        m: &M,
        g: &Growing,
        x: u32,
        d0: f64,
        sc: &mut KdScratch,
    ) -> Placement {
        place_by(m, g, x, d0, sc, |sc, best| {
            let mut evals = 0;
            for (_, ix) in &self.groups {
                ix.improve(sc, best, &mut evals);
            }
            for &y in &self.loose {
                let d = m.distance(m, x, y);
                if d <= scale(g.level[y as usize]) && (d, y) < *best {
                    *best = (d, y);
                }
            }
        })
    }
}

/// Whether `g`'s traversals should go through a [`KdIndex`]: metrics with Euclidean
/// coordinates in few enough dimensions for boxes to prune.
pub(crate) fn pays<M: Metric>(m: &M) -> bool {
    m.capabilities().euclidean && (1..=MAX_DIM).contains(&m.capabilities().coordinate_dim)
}

/// Above this many coordinates boxes prune too little to beat the descent.
const MAX_DIM: usize = 16;

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{datagen, Dataset, Euclidean, Pool};

    /// Big halves split on a pool lay out exactly the index a single thread does, and
    /// radius searches in it report exactly the points within the radius.
    #[test]
    fn parallel_split_is_the_serial_layout_and_searches_exactly() {
        // Grid coordinates: many equal split values, so ties decide the layout too.
        for (seed, rows) in [
            (1, datagen::uniform(40_000, 3, 1)),
            (2, datagen::grid(40_000, 3, 20, 2)),
        ] {
            let m = Euclidean::new(Dataset::from_rows(&rows, 40_000, 3).unwrap()).unwrap();
            let pts: Vec<u32> = (0..40_000).collect();
            let serial = KdIndex::new(&m, &pts, &pts, None);
            let pool = Pool::new(2).unwrap();
            let parallel = pool.rayon().install(|| KdIndex::new(&m, &pts, &pts, Some(&pool)));
            assert!(
                serial.nodes.len() > 2 * 40_000 / PAR_SPLIT,
                "seed {seed}: too few k-d nodes"
            );
            assert_eq!(serial.nodes, parallel.nodes, "seed {seed}");
            assert_eq!(serial.tags, parallel.tags, "seed {seed}");
            assert_eq!(serial.coords, parallel.coords, "seed {seed}");
            assert_eq!(serial.boxes, parallel.boxes, "seed {seed}");

            let mut sc = KdScratch::default();
            for q in (0..40_000).step_by(997) {
                let r = 0.04;
                let mut found = Vec::new();
                let mut evals = 0;
                parallel.search_point(&m, q, r, NONE, &mut sc, &mut evals, |y, d| {
                    if d <= r {
                        found.push(y);
                    }
                    r
                });
                found.sort_unstable();
                let want: Vec<u32> = (0..40_000).filter(|&y| m.distance(&m, q, y) <= r).collect();
                assert_eq!(found, want, "seed {seed}, query {q}");
            }
        }
    }
}
