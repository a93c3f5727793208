//! The maximin ordering (greedy permutation) over a [`KdIndex`]: the index is its own
//! tournament. Every k-d node keeps the farthest untaken entry below it (distance to the
//! taken points; ties by the smaller tag), so the root names the next point, and a step's
//! range search skips every node that cannot come closer: farther from the new point
//! than its own farthest entry is from the taken ones.

use super::{reach, KdIndex, NONE};
use crate::metric::euclidean_distance;

/// Distance of a taken entry (below every real distance).
const TAKEN: f64 = -1.0;

impl KdIndex {
    /// The maximin ordering of the index's entries from the entry tagged `first`: the
    /// tags in order and each one's distance to those before it (`+∞` for the first).
    /// Canonical Euclidean distances throughout, ties by the smaller tag: the same
    /// permutation as an O(n²) loop.
    pub(crate) fn maximin(&self, first: u32) -> (Vec<u32>, Vec<f64>) {
        let n = self.tags.len();
        let (dim, pad) = (self.dim, self.pad);
        let row = |e: usize| &self.coords[e * pad..(e + 1) * pad];
        let Some(f) = self.tags.iter().position(|&t| t == first) else {
            return (Vec::new(), Vec::new());
        };
        // Parent links and each entry's leaf.
        let mut parent = vec![NONE; self.nodes.len()];
        let mut leaf_of = vec![0u32; n];
        for (k, nd) in self.nodes.iter().enumerate() {
            if nd.left == NONE {
                leaf_of[nd.start as usize..nd.end as usize].fill(k as u32);
            } else {
                parent[nd.left as usize] = k as u32;
                parent[nd.right as usize] = k as u32;
            }
        }
        let q0 = row(f).to_vec();
        let mut dist: Vec<f64> = (0..n)
            .map(|e| euclidean_distance(&q0[..dim], &row(e)[..dim]))
            .collect();
        dist[f] = TAKEN;
        let mut g = Greedy {
            index: self,
            dist,
            best: vec![(TAKEN, NONE); self.nodes.len()],
            parent,
        };
        // Children follow their parent in the node order: a reverse sweep is bottom-up.
        for k in (0..self.nodes.len()).rev() {
            g.best[k] = g.node_best(k);
        }
        let (mut order, mut radius) = (Vec::with_capacity(n), Vec::with_capacity(n));
        order.push(first);
        radius.push(f64::INFINITY);
        let (mut stack, mut sq) = (Vec::new(), Vec::new());
        while let Some(&(r, s)) = g.best.first().filter(|b| b.0 > TAKEN) {
            let s = s as usize;
            order.push(self.tags[s]);
            radius.push(r);
            g.dist[s] = TAKEN;
            g.refresh(leaf_of[s] as usize);
            if r > 0.0 {
                g.step(row(s), &mut stack, &mut sq);
            }
        }
        (order, radius)
    }
}

/// The state of [`KdIndex::maximin`].
struct Greedy<'a> {
    index: &'a KdIndex,
    /// Per entry: distance to the nearest taken entry (`TAKEN` once taken).
    dist: Vec<f64>,
    /// Per k-d node: the farthest untaken entry below it, `(distance, entry)`.
    best: Vec<(f64, u32)>,
    parent: Vec<u32>,
}

impl Greedy<'_> {
    /// The better of two candidates: farther, then the smaller tag.
    #[inline]
    fn better(&self, a: (f64, u32), b: (f64, u32)) -> (f64, u32) {
        if b.1 == NONE || a.0 > b.0 {
            return a;
        }
        if a.1 == NONE || b.0 > a.0 {
            return b;
        }
        let tags = &self.index.tags;
        if tags[a.1 as usize] < tags[b.1 as usize] {
            a
        } else {
            b
        }
    }

    /// Node `k`'s farthest untaken entry, from its entries (a leaf) or its children.
    fn node_best(&self, k: usize) -> (f64, u32) {
        let nd = self.index.nodes[k];
        if nd.left == NONE {
            (nd.start..nd.end).fold((TAKEN, NONE), |b, e| {
                let d = self.dist[e as usize];
                if d > TAKEN {
                    self.better(b, (d, e))
                } else {
                    b
                }
            })
        } else {
            self.better(self.best[nd.left as usize], self.best[nd.right as usize])
        }
    }

    /// Recomputes leaf `k`'s best and its ancestors' until one does not change.
    fn refresh(&mut self, mut k: usize) {
        loop {
            let b = self.node_best(k);
            if b == self.best[k] && self.index.nodes[k].left != NONE {
                return;
            }
            self.best[k] = b;
            match self.parent[k] {
                NONE => return,
                p => k = p as usize,
            }
        }
    }

    /// The new taken point `q` (padded coordinates): every entry closer to it than to
    /// the taken points so far gets its new distance.
    fn step(&mut self, q: &[f64], stack: &mut Vec<(u32, f64)>, sq: &mut Vec<f64>) {
        let ix = self.index;
        stack.clear();
        stack.push((0, ix.box_sq(q, 0)));
        while let Some((k, lb)) = stack.pop() {
            let top = self.best[k as usize].0;
            // Nothing below is untaken, or every entry is farther from q than the
            // farthest of them is from the taken points.
            if top <= TAKEN || lb > reach(top) {
                continue;
            }
            let nd = ix.nodes[k as usize];
            if nd.left == NONE {
                let (a, b) = (nd.start as usize, nd.end as usize);
                sq.resize(b - a, 0.0);
                ix.kernels
                    .sq_dist_block(q, &ix.coords[a * ix.pad..b * ix.pad], ix.pad, sq);
                let mut changed = false;
                for (e, &s) in (a..b).zip(sq.iter()) {
                    let old = self.dist[e];
                    if old <= 0.0 || s > reach(old) {
                        continue;
                    }
                    let d = euclidean_distance(&q[..ix.dim], &ix.coords[e * ix.pad..e * ix.pad + ix.dim]);
                    if d < old {
                        self.dist[e] = d;
                        changed = true;
                    }
                }
                if changed {
                    self.refresh(k as usize);
                }
                continue;
            }
            stack.push((nd.left, ix.box_sq(q, nd.left)));
            stack.push((nd.right, ix.box_sq(q, nd.right)));
        }
    }
}
