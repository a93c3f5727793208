//! The layout: a grown tree frozen into the query-ready form — depth-first positions,
//! children contiguous, small subtrees as buckets, rows permuted to match.

use super::Growing;
use super::{Tree, NONE};
use crate::metric::Metric;
use pcct_arenas::Csr;
use rayon::prelude::*;

/// Subtrees of at most this many nodes are laid out as one contiguous block that
/// queries scan in one pass instead of descending into (unless [`Tree::relayout`]
/// says otherwise).
pub(crate) const BUCKET: usize = 1024;

impl Growing {
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
            flat: false,
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

#[cfg(test)]
mod tests {
    use crate::{datagen, Dataset, Euclidean, Metric, Pool, Tree};

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
