//! The tree while it grows, indexed by point id: where a point goes (the lowest feasible
//! level, DESIGN.md §2), attaching and detaching nodes, cover radii.

use super::{level_of, scale, Tree, NONE};
use crate::metric::{pair_interval, Metric};
use rayon::prelude::*;

/// Pruning tests allow this much relative slack on their bound, plus an absolute
/// term of 4δ times the distances involved (δ the metric's relative error), so that
/// rounding in the triangle inequality can only make the search look further.
pub(crate) const SLACK: f64 = 1.0 + 1e-9;

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
}

#[cfg(test)]
mod tests {
    use crate::{datagen, Pool};

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
}
