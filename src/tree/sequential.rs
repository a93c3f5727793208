//! The reference builder: one point at a time, lowest feasible level (DESIGN.md §2).

use super::{level_of, scale, Tree, NONE};
use crate::metric::{pair_interval, Metric};
use crate::{Error, Result};
use pcct_arenas::Csr;
use rayon::prelude::*;

/// Pruning tests allow this much relative slack on their bound, plus an absolute
/// term of 4δ times the distances involved (δ the metric's relative error), so that
/// rounding in the triangle inequality can only make the search look further.
pub(crate) const SLACK: f64 = 1.0 + 1e-9;

/// Subtrees of at most this many nodes are laid out as one contiguous block that
/// queries scan in one pass instead of descending into (unless [`Tree::relayout`]
/// says otherwise).
pub(crate) const BUCKET: usize = 1024;

/// A node on [`Growing::place`]'s stack with bounds `lo ≤ d(x, node) ≤ hi` (equal where
/// measured exactly; two-phase metrics descend on phase-1 bounds).
pub(crate) type Frame = (u32, f64, f64);

/// Where a point goes in the growing tree ([`Growing::place`]).
#[derive(Clone, Copy, Debug, PartialEq)]
pub(crate) enum Placement {
    /// An exact duplicate (distance 0) of this node.
    Dup(u32),
    /// A new node at `level` under `parent`, `dist` away from it.
    Node {
        /// The lowest feasible level.
        level: i32,
        /// The nearest feasible node at that level (ties by id).
        parent: u32,
        /// The distance to the parent.
        dist: f64,
    },
}

/// `b^k + b^(k+1)`: if batch points `x`, `x'` conflict (`d(x, x') ≤ b^ℓ(x)`, `ℓ(x) ≤ ℓ(x')`),
/// then `d(x', parent(x)) ≤ b^(ℓ(x)+1) + b^ℓ(x) = scope_radius(ℓ(x))`, and
/// `ℓ(x) ≤ min(ℓ(parent(x)) − 1, ℓ(x'))`: so `parent(x)` is in the scope of `x'`.
#[inline]
pub(crate) fn scope_radius(k: i32) -> f64 {
    scale(k) + scale(k + 1)
}

/// The tree while it grows: indexed by point id.
pub(crate) struct Growing {
    pub(crate) level: Vec<i32>,
    pub(crate) parent: Vec<u32>,
    pub(crate) dist_parent: Vec<f64>,
    /// Largest distance from each node to any of its descendants (maintained exactly).
    pub(crate) radius: Vec<f64>,
    /// Children of each node, sorted by (level descending, id ascending).
    pub(crate) children: Vec<Vec<u32>>,
    pub(crate) dups: Vec<Vec<u32>>,
    pub(crate) twin: Vec<u32>,
    pub(crate) root: u32,
    /// Scratch of [`Growing::cover`], kept so that inserts do not allocate.
    raise: Vec<(u32, f64)>,
}

impl Growing {
    pub(crate) fn new(n: usize) -> Self {
        Growing {
            level: vec![i32::MIN; n],
            parent: vec![NONE; n],
            dist_parent: vec![0.0; n],
            radius: vec![0.0; n],
            children: vec![Vec::new(); n],
            dups: vec![Vec::new(); n],
            twin: vec![NONE; n],
            root: NONE,
            raise: Vec::new(),
        }
    }

    /// The growing form of a frozen tree, indexed by point id over `n` ids (at least
    /// `tree.id_bound()`; ids not in the tree get no node). Radii stay the frozen,
    /// inflated ones: upper bounds, which is all pruning and validity need.
    pub(crate) fn thaw<M>(tree: &Tree<M>, n: usize) -> Self {
        let mut g = Growing::new(n);
        for p in 0..tree.id.len() {
            let x = tree.id[p] as usize;
            g.level[x] = tree.level[p];
            g.parent[x] = match tree.parent[p] {
                NONE => NONE,
                q => tree.id[q as usize],
            };
            g.dist_parent[x] = tree.dist_parent[p];
            g.radius[x] = tree.radius[p];
            for &d in tree.dups.row(p) {
                g.make_dup(x as u32, d);
            }
        }
        for p in 0..tree.id.len() {
            let x = tree.id[p] as usize;
            let f = tree.child_first[p] as usize;
            let mut ch: Vec<u32> = tree.id[f..f + tree.child_count[p] as usize].to_vec();
            let lv = &g.level;
            ch.sort_unstable_by_key(|&c| (std::cmp::Reverse(lv[c as usize]), c));
            g.children[x] = ch;
        }
        g.root = tree.id[0];
        g
    }

    /// Removes `x` from its parent's children (it keeps its own subtree).
    pub(crate) fn detach(&mut self, x: u32) {
        let p = self.parent[x as usize];
        if p != NONE {
            self.children[p as usize].retain(|&c| c != x);
        }
        self.parent[x as usize] = NONE;
    }

    pub(crate) fn attach(&mut self, x: u32, parent: u32, level: i32, dist: f64) {
        let xi = x as usize;
        self.level[xi] = level;
        self.parent[xi] = parent;
        self.dist_parent[xi] = dist;
        let lv = &self.level;
        let ch = &mut self.children[parent as usize];
        let at =
            ch.partition_point(|&c| (std::cmp::Reverse(lv[c as usize]), c) < (std::cmp::Reverse(level), x));
        ch.insert(at, x);
    }

    /// [`Growing::attach`] for many new nodes at once, `(x, parent, level, dist)` each:
    /// children lists come out as if attached one by one (sorted by level, highest
    /// first, then id). The lists are updated in parallel ranges of parents when `par`
    /// (on the caller's pool).
    pub(crate) fn attach_all(&mut self, nodes: &[(u32, u32, i32, f64)], par: bool) {
        let mut links: Vec<(u32, u32)> = Vec::with_capacity(nodes.len());
        for &(x, parent, level, dist) in nodes {
            let xi = x as usize;
            self.level[xi] = level;
            self.parent[xi] = parent;
            self.dist_parent[xi] = dist;
            links.push((parent, x));
        }
        links.sort_unstable();
        let Growing { children, level, .. } = self;
        let lv = &*level;
        let links = &links;
        let span = children.len().div_ceil(64).max(1024);
        let adopt = |(ci, chs): (usize, &mut [Vec<u32>])| {
            let lo = ci * span;
            let a = links.partition_point(|l| (l.0 as usize) < lo);
            let b = links.partition_point(|l| (l.0 as usize) < lo + chs.len());
            for group in links[a..b].chunk_by(|l, m| l.0 == m.0) {
                let ch = &mut chs[group[0].0 as usize - lo];
                ch.extend(group.iter().map(|l| l.1));
                ch.sort_by_key(|&c| (std::cmp::Reverse(lv[c as usize]), c));
            }
        };
        if par {
            children.par_chunks_mut(span).enumerate().for_each(adopt);
        } else {
            children.chunks_mut(span).enumerate().for_each(adopt);
        }
    }

    /// Raises the radius of every ancestor of the new node `x` to cover it.
    pub(crate) fn cover<M: Metric>(&mut self, m: &M, x: u32) {
        let mut raise = std::mem::take(&mut self.raise);
        self.cover_pairs(m, x, &mut raise);
        for (a, d) in raise.drain(..) {
            let r = &mut self.radius[a as usize];
            *r = r.max(d);
        }
        self.raise = raise;
    }

    /// The ancestors of the new node `x` whose radius it raises, with their canonical
    /// distance to `x`, pushed onto `out`. An ancestor whose radius is already at least
    /// an upper bound of that distance — the triangle inequality along the parent chain
    /// from the last ancestor measured, widened by the metric's error bounds and the
    /// rounding of the sum — is skipped without measuring it: its radius cannot change.
    /// The radii come out exactly as if every ancestor were measured.
    pub(crate) fn cover_pairs<M: Metric>(&self, m: &M, x: u32, out: &mut Vec<(u32, f64)>) {
        // |canonical − true| ≤ δ·true + α for every distance.
        let (delta, alpha) = (m.errors().distance_rel, m.errors().distance_abs);
        let widen = (1.0 + delta) / (1.0 - delta) * (1.0 + 8.0 * f64::EPSILON);
        // Bounds only from error bounds that make sense; else every ancestor is measured.
        let trust = widen.is_finite() && widen >= 1.0 && alpha.is_finite() && alpha >= 0.0;
        // From u ≥ canonical d(x, a) and the canonical d(a, b) = dp: an upper bound of
        // the canonical d(x, b) (true d ≤ (u + α)/(1 − δ) + (dp + α)/(1 − δ)), plus a
        // few units of the smallest normal for distances rounded in absolute terms.
        let next_bound =
            |u: f64, dp: f64| (u + dp + 2.0 * alpha) * widen + 2.0 * alpha + 4.0 * f64::MIN_POSITIVE;
        let mut a = self.parent[x as usize];
        // d(x, a) exactly while `exact`, else an upper bound of it.
        let (mut d, mut exact) = (self.dist_parent[x as usize], true);
        while a != NONE {
            let r = self.radius[a as usize];
            // Only a trusted bound within the radius rules the ancestor out (not a NaN).
            let ruled_out = !exact && trust && d <= r;
            if !exact && !ruled_out {
                d = m.distance(m, x, a);
                exact = true;
            }
            if exact && d > r {
                out.push((a, d));
            }
            let b = self.parent[a as usize];
            if b == NONE {
                break;
            }
            d = next_bound(d, self.dist_parent[a as usize]);
            exact = false;
            a = b;
        }
    }

    pub(crate) fn make_dup(&mut self, twin: u32, x: u32) {
        self.twin[x as usize] = twin;
        self.dups[twin as usize].push(x);
    }

    /// Raises the root's level so that every point within `d` of it has a feasible
    /// level below the root (a valid tree stays valid: the root is alone up there).
    pub(crate) fn raise_root_for(&mut self, d: f64) {
        let r = self.root as usize;
        let l = level_of(d);
        if self.level[r] == i32::MIN || l > self.level[r] {
            self.level[r] = l;
        }
    }

    /// Where point `x` goes: a duplicate of a node at distance 0, or a new node at
    /// its lowest feasible level (DESIGN.md §2), the nearest feasible parent at
    /// that level (ties by id). Read-only; the root must already have been raised
    /// for `x` ([`Growing::raise_root_for`]) and `d0 = d(x, root)`.
    ///
    /// With `scope`, also collects `(node, distance)` for every node `y` with
    /// `d(x, y) ≤ scope_radius(min(ℓ(y) − 1, ℓ))` for the final level `ℓ` of `x`
    /// (and possibly more nodes, never fewer): the nodes through which the build
    /// finds conflicts between batch points (`build::conflict`).
    pub(crate) fn place<M: Metric>(
        &self,
        m: &M,
        x: u32,
        d0: f64,
        stack: &mut Vec<Frame>,
        mut scope: Option<&mut Vec<(u32, f64)>>,
        evals: &mut u64,
    ) -> Placement {
        let r = self.root;
        if d0 == 0.0 {
            return Placement::Dup(r);
        }
        debug_assert!(level_of(d0) <= self.level[r as usize]);
        let delta = m.errors().distance_rel;
        let abs = 4.0 * m.errors().distance_abs;
        let two_phase = m.capabilities().two_phase;
        // best = (level, distance, parent): the lowest level, then the nearest, then the smallest id.
        let mut best = (level_of(d0) - 1, d0, r);
        if let Some(s) = scope.as_deref_mut() {
            s.clear();
            s.push((r, d0));
        }
        let scoping = scope.is_some();
        stack.clear();
        stack.push((r, d0, d0));
        while let Some((y, dy_lo, dy_hi)) = stack.pop() {
            for &c in &self.children[y as usize] {
                let ci = c as usize;
                let lc = self.level[ci];
                // Useful nodes of c's subtree (c included) are within
                // u = min(b^lc, b^(best+1)) of x: feasible (d ≤ b^level ≤ b^lc) and no
                // worse than `best`; scope nodes within scope_radius(min(lc − 1, best)).
                // They lie within radius(c) of c, and d(x, c) ≥ |d(x, y) − d(y, c)|:
                // skip c without measuring it when even that lower bound is out of reach.
                let u = if scoping {
                    scope_radius(best.0.min(lc - 1))
                } else {
                    scale(lc).min(scale(best.0 + 1))
                };
                let rc = self.radius[ci];
                let pc = self.dist_parent[ci];
                let gap = (dy_lo - pc).max(pc - dy_hi).max(0.0);
                if gap - rc > u * SLACK + 4.0 * delta * (dy_hi + pc + rc) + abs {
                    continue;
                }
                // Two-phase metrics: phase 1 first, and the canonical distance only
                // where c may become the parent (`best`); scope entries may be a superset
                // and descents work with intervals, so both take the bounds.
                let (dc, dc_hi, exact) = if two_phase {
                    let (lo, hi) = pair_interval(m, m, x, c);
                    let parent_cut = scale(lc).min(scale(best.0 + 1)) * (1.0 + 1e-12);
                    if lo <= parent_cut {
                        *evals += 1;
                        let d = m.distance(m, x, c);
                        (d, d, true)
                    } else {
                        m.rejected(m, x, c, parent_cut);
                        (lo, hi, false)
                    }
                } else {
                    *evals += 1;
                    let d = m.distance(m, x, c);
                    (d, d, true)
                };
                if exact && dc == 0.0 {
                    return Placement::Dup(c);
                }
                if exact && dc <= scale(lc) {
                    let lx = level_of(dc) - 1;
                    if (lx, dc, c) < best {
                        best = (lx, dc, c);
                    }
                }
                if let Some(s) = scope.as_deref_mut() {
                    if dc <= scope_radius(best.0.min(lc - 1)) * SLACK + abs {
                        s.push((c, dc));
                    }
                }
                // A feasible descendant z (level < lc) has d(x, z) ≤ b^(lc−1); a scope
                // node, d(x, z) ≤ scope_radius(min(lc − 2, best)).
                let reach = if scoping {
                    scope_radius(best.0.min(lc - 2))
                } else {
                    scale(lc - 1).min(scale(best.0 + 1))
                };
                if rc > 0.0 && dc - rc <= reach * SLACK + 4.0 * delta * (dc_hi + rc) + abs {
                    stack.push((c, dc, dc_hi));
                }
            }
        }
        let (level, dist, parent) = best;
        if let Some(s) = scope {
            let lv = &self.level;
            s.retain(|&(y, d)| d <= scope_radius(level.min(lv[y as usize] - 1)) * SLACK + abs);
        }
        Placement::Node { level, parent, dist }
    }

    /// Applies a placement of point `x`: a new node (radii of its ancestors raised
    /// to cover it) or a duplicate.
    pub(crate) fn apply<M: Metric>(&mut self, m: &M, x: u32, p: Placement) {
        match p {
            Placement::Dup(twin) => self.make_dup(twin, x),
            Placement::Node { level, parent, dist } => {
                self.attach(x, parent, level, dist);
                self.cover(m, x);
            }
        }
    }

    /// Inserts point `x` at its lowest feasible level, or as a duplicate of a node
    /// at distance 0. `stack` is scratch.
    pub(crate) fn insert<M: Metric>(&mut self, m: &M, x: u32, stack: &mut Vec<Frame>) {
        if self.root == NONE {
            self.root = x;
            return;
        }
        let d0 = m.distance(m, x, self.root);
        if d0 > 0.0 {
            self.raise_root_for(d0);
        }
        let p = self.place(m, x, d0, stack, None, &mut 0);
        self.apply(m, x, p);
    }

    /// The frozen, query-ready tree: depth-first positions, children contiguous,
    /// subtrees of at most `bucket` nodes as blocks, the metric's rows permuted to
    /// match, radii and minimum ids bottom-up. With `par`, big subtrees are laid out in
    /// parallel on the pool the caller runs inside (pass `true` only from inside
    /// `Pool::install`: pcct never uses rayon's global pool); same tree either way.
    pub(crate) fn freeze<M: Metric>(self, metric: &M, n: usize, bucket: usize, par: bool) -> Tree<M> {
        self.freeze_as(metric, n, bucket, true, par)
    }

    /// [`Growing::freeze`], inflating the radii for rounding only if `inflate` (a tree
    /// thawed and frozen again without new nodes has inflated radii already).
    pub(crate) fn freeze_as<M: Metric>(
        mut self,
        metric: &M,
        n: usize,
        bucket: usize,
        inflate: bool,
        par: bool,
    ) -> Tree<M> {
        // The nodes reachable from the root (ids not in the tree — deleted, or not yet
        // inserted — are not), in preorder; subtree sizes bottom-up over it.
        let mut pre = vec![self.root];
        let mut i = 0;
        while i < pre.len() {
            pre.extend_from_slice(&self.children[pre[i] as usize]);
            i += 1;
        }
        let nodes = pre.len();
        let mut size = vec![1u32; n];
        for &x in pre.iter().rev() {
            if self.parent[x as usize] != NONE {
                size[self.parent[x as usize] as usize] += size[x as usize];
            }
        }
        drop(pre);

        // Each node's children sorted by distance to the parent (queries find the
        // children worth measuring by a binary search on it), ties by id.
        let Growing {
            children,
            dist_parent: dp,
            ..
        } = &mut self;
        let by_distance = |ch: &mut Vec<u32>| {
            ch.sort_by(|&a, &b| dp[a as usize].total_cmp(&dp[b as usize]).then(a.cmp(&b)))
        };
        if par {
            children.par_iter_mut().for_each(by_distance);
        } else {
            children.iter_mut().for_each(by_distance);
        }

        // The layout: see `Layout::content`.
        let mut order = vec![NONE; nodes];
        let mut child_first = vec![0u32; nodes];
        let mut bucket_end = vec![NONE; nodes];
        order[0] = self.root;
        child_first[0] = 1;
        let lay = Layout {
            children: &self.children,
            size: &size,
            bucket,
            par,
        };
        bucket_end[0] = lay.bucket_end(self.root, 1);
        lay.content(
            self.root,
            1,
            Slots {
                id: &mut order[1..],
                first: &mut child_first[1..],
                bucket_end: &mut bucket_end[1..],
            },
            0,
        );
        let mut pos_of = vec![NONE; n];
        for (p, &x) in order.iter().enumerate() {
            pos_of[x as usize] = p as u32;
        }
        let child_count: Vec<u32> = order
            .iter()
            .map(|&x| self.children[x as usize].len() as u32)
            .collect();

        let level: Vec<i32> = order.iter().map(|&x| self.level[x as usize]).collect();
        let parent: Vec<u32> = order
            .iter()
            .map(|&x| match self.parent[x as usize] {
                NONE => NONE,
                p => pos_of[p as usize],
            })
            .collect();
        let dist_parent: Vec<f64> = order.iter().map(|&x| self.dist_parent[x as usize]).collect();
        let mut dup_offsets = Vec::with_capacity(nodes + 1);
        let mut dup_ids = Vec::new();
        dup_offsets.push(0u32);
        for &x in &order {
            let mut d = self.dups[x as usize].clone();
            d.sort_unstable();
            dup_ids.extend_from_slice(&d);
            dup_offsets.push(dup_ids.len() as u32);
        }
        let dups = Csr::new(&dup_offsets, &dup_ids).expect("offsets built by a running count");
        for (id, &t) in self.twin.iter().enumerate() {
            if t != NONE {
                pos_of[id] = pos_of[t as usize];
            }
        }

        // Children sit at larger positions than their parent: a reverse sweep is bottom-up.
        let mut radius: Vec<f64> = order.iter().map(|&x| self.radius[x as usize]).collect();
        let mut min_id: Vec<u32> = (0..nodes)
            .map(|p| order[p].min(dups.row(p).first().copied().unwrap_or(NONE)))
            .collect();
        for p in (1..nodes).rev() {
            let q = parent[p] as usize;
            min_id[q] = min_id[q].min(min_id[p]);
        }
        // The radii are maxima of canonical distances; inflate them so that they bound
        // true distances despite rounding.
        if inflate {
            let inflate = 1.0 + 4.0 * metric.errors().distance_rel + 1e-12;
            let widen = 4.0 * metric.errors().distance_abs;
            radius.iter_mut().for_each(|r| *r = *r * inflate + widen);
        }
        let child_radius_max: Vec<f64> = (0..nodes)
            .map(|p| {
                let f = child_first[p] as usize;
                radius[f..f + child_count[p] as usize]
                    .iter()
                    .fold(0.0, |a: f64, &r| a.max(r))
            })
            .collect();

        Tree {
            metric: metric.permuted(&order),
            n_points: nodes + dups.num_values(),
            id: order,
            level,
            parent,
            dist_parent,
            radius,
            min_id,
            child_first,
            child_count,
            child_radius_max,
            bucket_end,
            dups,
            pos_of_id: pos_of,
            kd: Default::default(),
            sketch: Default::default(),
        }
    }
}

/// Subtrees at least this big are laid out in parallel, child by child.
const PAR_LAYOUT: usize = 1 << 13;

/// How many fan-outs of the layout may nest (below, subtrees are laid out iteratively).
const MAX_FAN_OUT: u32 = 16;

/// The per-position outputs of the layout for a range of positions.
struct Slots<'a> {
    /// The node at each position.
    id: &'a mut [u32],
    /// Where its children's block starts (where it would start, for a leaf).
    first: &'a mut [u32],
    /// For the root of a bucket, the end of its block of descendants; else `NONE`.
    bucket_end: &'a mut [u32],
}

impl<'a> Slots<'a> {
    /// The first `k` positions and the rest.
    fn split(self, k: usize) -> (Slots<'a>, Slots<'a>) {
        let (i0, i1) = self.id.split_at_mut(k);
        let (f0, f1) = self.first.split_at_mut(k);
        let (b0, b1) = self.bucket_end.split_at_mut(k);
        (
            Slots {
                id: i0,
                first: f0,
                bucket_end: b0,
            },
            Slots {
                id: i1,
                first: f1,
                bucket_end: b1,
            },
        )
    }
}

/// The depth-first layout of [`Growing::freeze`]: each node's children are one
/// contiguous block, sorted by distance to the parent; a node's *content* — its
/// children's block, then each child's content in block order — fills the positions
/// after it (`size − 1` of them), except that a subtree of at most `bucket` nodes is
/// laid out breadth-first within its content (a bucket: one block for a query).
/// Contents of different children are disjoint ranges, so big subtrees are laid out in
/// parallel with the same result.
struct Layout<'a> {
    children: &'a [Vec<u32>],
    size: &'a [u32],
    bucket: usize,
    par: bool,
}

impl Layout<'_> {
    /// The end of `x`'s block of descendants if `x` roots a bucket (its content, which
    /// starts at `start`, is laid out breadth-first), else `NONE`.
    fn bucket_end(&self, x: u32, start: usize) -> u32 {
        let size = self.size[x as usize] as usize;
        if size > 1 && size <= self.bucket {
            (start + size - 1) as u32
        } else {
            NONE
        }
    }

    /// Lays out the content of `x`, which starts at position `at`, into `out`
    /// (exactly its `size(x) − 1` positions). Iterative, except that subtrees of at
    /// least [`PAR_LAYOUT`] nodes fan out over the pool.
    fn content(&self, x: u32, at: usize, out: Slots<'_>, depth: u32) {
        let mut stack = vec![(x, at, out)];
        while let Some((x, at, out)) = stack.pop() {
            let size = self.size[x as usize] as usize;
            debug_assert_eq!(out.id.len(), size - 1);
            if size <= self.bucket {
                self.breadth_first(x, at, out);
                continue;
            }
            let ch = &self.children[x as usize];
            let (block, mut rest) = out.split(ch.len());
            block.id.copy_from_slice(ch);
            let mut start = at + ch.len();
            let mut parts = Vec::with_capacity(ch.len());
            for (j, &c) in ch.iter().enumerate() {
                let cs = self.size[c as usize] as usize;
                block.first[j] = start as u32;
                block.bucket_end[j] = self.bucket_end(c, start);
                let (mine, others) = rest.split(cs - 1);
                parts.push((c, start, mine));
                rest = others;
                start += cs - 1;
            }
            // Nested fan-outs stop at MAX_FAN_OUT deep (a chain of big subtrees can be
            // as long as the levels; each fan-out costs the worker's stack a frame).
            if self.par && size >= PAR_LAYOUT && depth < MAX_FAN_OUT {
                parts
                    .into_par_iter()
                    .for_each(|(c, start, slots)| self.content(c, start, slots, depth + 1));
            } else {
                stack.extend(parts);
            }
        }
    }

    /// The content of a bucket root `x`: its children, then their children, and so on.
    fn breadth_first(&self, x: u32, at: usize, out: Slots<'_>) {
        let mut w = self.children[x as usize].len();
        out.id[..w].copy_from_slice(&self.children[x as usize]);
        let mut r = 0;
        while r < w {
            let ch = &self.children[out.id[r] as usize];
            out.first[r] = (at + w) as u32;
            out.id[w..w + ch.len()].copy_from_slice(ch);
            w += ch.len();
            r += 1;
        }
    }
}

pub(crate) fn build<M: Metric>(metric: M) -> Result<Tree<M>> {
    let n = metric.len();
    if n == 0 {
        return Err(Error::invalid("data", "no points to build a tree from".into()));
    }
    let mut g = Growing::new(n);
    let mut stack = Vec::new();
    for x in 0..n as u32 {
        g.insert(&metric, x, &mut stack);
    }
    Ok(g.freeze(&metric, n, BUCKET, false))
}

#[cfg(test)]
mod tests {
    use crate::{datagen, Dataset, Euclidean, Metric, Pool, Tree};

    /// Attaching many nodes at once gives the children lists of attaching them one by
    /// one (sorted by level, highest first, then id), serially and on a pool.
    #[test]
    fn attach_all_is_attach_one_by_one() {
        let pool = Pool::new(2).unwrap();
        let mut rng = datagen::Rng::new(5);
        let n = 50_000;
        // Parents among the first 500 ids (some with thousands of children), levels with ties.
        let nodes: Vec<(u32, u32, i32, f64)> = (500..n as u32)
            .map(|x| (x, rng.below(500) as u32, -(rng.below(6) as i32), 1.0))
            .collect();
        let mut one = super::Growing::new(n);
        let (first, rest) = nodes.split_at(20_000);
        for &(x, p, l, d) in first {
            one.attach(x, p, l, d);
        }
        let mut serial = super::Growing::new(n);
        serial.attach_all(first, false);
        let mut par = super::Growing::new(n);
        pool.install(|| par.attach_all(first, true));
        // A second batch onto lists that already hold children.
        for &(x, p, l, d) in rest {
            one.attach(x, p, l, d);
        }
        serial.attach_all(rest, false);
        pool.install(|| par.attach_all(rest, true));
        assert!(one.children[..500].iter().any(|c| c.len() > 50));
        assert_eq!(one.children, serial.children);
        assert_eq!(one.children, par.children);
        assert_eq!((&one.level, &one.parent), (&par.level, &par.parent));
        assert_eq!(one.dist_parent, par.dist_parent);
    }

    /// The layout fanned out over a pool (subtrees past `PAR_LAYOUT`) is the serial one,
    /// array for array, for every bucket size; both validate.
    #[test]
    fn parallel_layout_is_the_serial_layout() {
        let pool = Pool::new(2).unwrap();
        let n = 20_000;
        let sets = [
            ("uniform d=3", datagen::uniform(n, 3, 21), 3),
            ("clusters d=8", datagen::clusters(n, 8, 6, 0.02, 22), 8),
            ("duplicates d=2", datagen::with_duplicates(n, 2, 0.3, 23), 2),
            ("line d=4", datagen::line(n, 4, 24), 4),
        ];
        for (name, rows, dim) in sets {
            let m = Euclidean::new(Dataset::from_rows(&rows, n, dim).unwrap()).unwrap();
            let tree = Tree::build(m, &pool).unwrap();
            assert!(
                tree.num_nodes() > super::PAR_LAYOUT,
                "{name}: too small to fan out"
            );
            for bucket in [1, 32, 1024, 1 << 20] {
                let serial = tree.relayout_with(bucket, false);
                let parallel = pool.install(|| tree.relayout_with(bucket, true));
                let what = format!("{name}, buckets of {bucket}");
                assert!(serial.validate().is_empty(), "{what}");
                assert!(parallel.validate().is_empty(), "{what}");
                assert_eq!(serial.id, parallel.id, "{what}: order");
                assert_eq!(serial.child_first, parallel.child_first, "{what}: child_first");
                assert_eq!(serial.child_count, parallel.child_count, "{what}: child_count");
                assert_eq!(serial.bucket_end, parallel.bucket_end, "{what}: bucket_end");
                assert_eq!(serial.parent, parallel.parent, "{what}: parent");
                assert_eq!(serial.pos_of_id, parallel.pos_of_id, "{what}: pos_of_id");
                assert_eq!(serial.layout_digest(), parallel.layout_digest(), "{what}");
                assert_eq!(
                    serial
                        .bucket_end
                        .iter()
                        .filter(|&&e| e != crate::tree::NONE)
                        .count()
                        > 0,
                    bucket > 1,
                    "{what}: buckets exist exactly when allowed"
                );
            }
        }
    }

    /// Every stored radius is exactly the largest canonical distance from the node to a
    /// descendant (inflated as `freeze` does), although `cover_pairs` measures only the
    /// ancestors whose radius a bound says could grow: skipping never changes a radius.
    #[test]
    fn radii_are_exact_maxima() {
        let pool = Pool::new(2).unwrap();
        let n = 3000;
        let sets = [
            ("uniform d=3", datagen::uniform(n, 3, 5), 3),
            ("clusters d=8", datagen::clusters(n, 8, 12, 0.01, 6), 8),
            ("duplicates d=2", datagen::with_duplicates(n, 2, 0.4, 7), 2),
            ("grid d=2", datagen::grid(n, 2, 30, 8), 2),
            ("tiny d=3", datagen::scaled(datagen::uniform(n, 3, 9), 1e-9), 3),
            ("line d=8", datagen::line(n, 8, 10), 8),
        ];
        for (name, rows, dim) in sets {
            let m = Euclidean::new(Dataset::from_rows(&rows, n, dim).unwrap()).unwrap();
            let inflate = 1.0 + 4.0 * m.errors().distance_rel + 1e-12;
            let widen = 4.0 * m.errors().distance_abs;
            for (builder, tree) in [
                ("sequential", Tree::build_sequential(m.clone()).unwrap()),
                ("parallel", Tree::build(m.clone(), &pool).unwrap()),
            ] {
                assert!(tree.validate().is_empty(), "{name} {builder}");
                let tm = &tree.metric;
                let mut max = vec![0.0f64; tree.num_nodes()];
                for p in 1..tree.num_nodes() as u32 {
                    let mut a = tree.parent[p as usize];
                    while a != crate::tree::NONE {
                        max[a as usize] = max[a as usize].max(tm.distance(tm, p, a));
                        a = tree.parent[a as usize];
                    }
                }
                for (p, (&r, &mx)) in tree.radius.iter().zip(&max).enumerate() {
                    assert_eq!(r, mx * inflate + widen, "{name} {builder}: node {p}");
                }
            }
        }
    }
}
