//! Insert and delete (DESIGN.md §3, last paragraph): each returns a new tree and
//! leaves the one it was called on untouched and queryable.
//!
//! ```text
//! insert: thaw (frozen → growing, by id) ─► new points get ids id_bound() … ─► the batch
//!         pipeline of the build (traverse, scope CSR, conflicts, MIS, apply) ─► freeze
//! delete: thaw ─► deleted duplicates leave their twin's list; a deleted node with
//!         duplicates hands its place to the smallest of them; any other deleted node is
//!         removed and its children become orphan subtrees, re-homed from the highest
//!         level down: each subtree root is placed at its lowest feasible level against
//!         the tree (keeping its subtree when that level is above its children's, else
//!         its children are orphaned in turn) ─► freeze
//! ```
//!
//! A flat tree (`build::flat`) stays flat: an update lays the root and its children out
//! over the new point set again (n distances).
//!
//! Where an orphan goes is found, for metrics with few Euclidean coordinates, through
//! k-d indexes of the tree's nodes per level (`KdGrowing`: the nodes re-homed so far are
//! added as the delete goes) — the same placement as the cover-tree descent, which in
//! a few dimensions measures a large share of the tree for every orphan (see
//! BENCHMARKS.md, section Updates).
//!
//! Re-homing from the highest level down keeps separation: a subtree root placed at its
//! lowest feasible level is separated from every node in the tree, and every orphan not
//! yet placed (and all its descendants) sits at a lower level than the current one.
//!
//! **Versions and memory.** Trees are immutable values; an update copies what it needs
//! (the growing arrays, then a fresh frozen layout and the metric's rows), so each
//! version costs about as much memory as a tree of its size, and dropping an old version
//! frees it. Nothing is shared between versions.

use super::{batch, flat, order, BatchStats, BuildOptions, BuildStats};
use crate::metric::Metric;
use crate::pool::Pool;
use crate::tree::{kd_pays, Frame, Growing, KdGrowing, KdScratch, Placement, Tree, BUCKET, NONE};
use crate::{Error, Result};
use std::collections::BinaryHeap;
use std::time::Instant;

impl<M: Metric> Tree<M> {
    /// The metric indexed by point id over `0..id_bound()` (ids not in the tree get a
    /// placeholder row, never visited).
    fn metric_by_id(&self) -> M {
        let order: Vec<u32> = self
            .pos_of_id
            .iter()
            .map(|&p| if p == NONE { 0 } else { p })
            .collect();
        self.metric.permuted(&order)
    }

    /// The same tree (nodes, levels, parents, radii) laid out with buckets of at most
    /// `bucket_nodes` nodes (0 counts as 1: no buckets): subtrees that small are stored as
    /// one block that k-NN and range queries scan in one pass instead of descending into.
    /// Bigger buckets measure more rows and navigate less; builds use 1,024, and
    /// `relayout(1024)` of a built tree is that tree again. Answers never depend on it;
    /// [`Tree::insert`] and [`Tree::delete`] lay their results out with the default.
    ///
    /// ```
    /// use pcct::{datagen, Dataset, Euclidean, Pool, Tree};
    /// let pool = Pool::new(2)?;
    /// let m = Euclidean::new(Dataset::from_rows(&datagen::uniform(2000, 3, 1), 2000, 3)?)?;
    /// let tree = Tree::build(m, &pool)?;
    /// let flat = tree.relayout(1);
    /// assert_eq!(flat.shape().buckets, 0);
    /// assert_eq!(flat.relayout(1024).layout_digest(), tree.layout_digest());
    /// assert_eq!(tree.self_knn(4).run(&pool)?.0, flat.self_knn(4).run(&pool)?.0);
    /// # Ok::<(), pcct::Error>(())
    /// ```
    pub fn relayout(&self, bucket_nodes: usize) -> Tree<M> {
        self.relayout_with(bucket_nodes, false)
    }

    /// [`Tree::relayout`], laid out in parallel on the pool the caller runs inside when
    /// `par` (only from inside `Pool::install`).
    pub(crate) fn relayout_with(&self, bucket_nodes: usize, par: bool) -> Tree<M> {
        let n = self.id_bound();
        let mut tree =
            Growing::thaw(self, n).freeze_as(&self.metric_by_id(), n, bucket_nodes.max(1), false, par);
        tree.flat = self.flat;
        tree
    }

    /// The ids in the tree, ascending.
    fn present_ids(&self) -> Vec<u32> {
        (0..self.id_bound() as u32)
            .filter(|&i| self.contains(i))
            .collect()
    }

    /// A new tree holding this tree's points and `points` (ids `id_bound()` onwards, in
    /// the order of `points`), built by the parallel PCCT pipeline on `pool` with the
    /// default options. `self` is unchanged.
    ///
    /// ```
    /// use pcct::{datagen, Dataset, Euclidean, Pool, Tree};
    /// let pool = Pool::new(2)?;
    /// let rows = |n, seed| Euclidean::new(Dataset::from_rows(&datagen::uniform(n, 3, seed), n, 3)?);
    /// let v1 = Tree::build(rows(500, 1)?, &pool)?;
    /// let (v2, _) = v1.insert(&rows(50, 2)?, &pool)?;
    /// assert_eq!((v1.len(), v2.len()), (500, 550)); // v1 is still there, unchanged
    /// assert!(v2.validate().is_empty() && v2.contains(549));
    /// let v3 = v2.delete(&[0, 549], &pool)?;
    /// assert_eq!(v3.len(), 548);
    /// assert!(!v3.contains(0) && v3.id_bound() == 550); // ids are never reused
    /// # Ok::<(), pcct::Error>(())
    /// ```
    pub fn insert(&self, points: &M, pool: &Pool) -> Result<(Self, BuildStats)> {
        self.insert_with(points, pool, &BuildOptions::default())
    }

    /// [`Tree::insert`] with build options (order, seed, pair budget).
    pub fn insert_with(&self, points: &M, pool: &Pool, opts: &BuildOptions) -> Result<(Self, BuildStats)> {
        if points.len() == 0 {
            return Err(Error::invalid("points", "no points to insert".into()));
        }
        self.metric.check_queries(points).map_err(|e| match e {
            Error::InvalidArgument { reason, .. } => Error::invalid("points", reason),
            e => e,
        })?;
        let t0 = Instant::now();
        let first = self.id_bound();
        let all = self.metric_by_id().concat(points)?;
        let n = all.len();
        let new: Vec<u32> = (first as u32..n as u32).collect();
        if self.flat {
            // A flat tree stays flat: the root and children over all points again.
            let mut ids = self.present_ids();
            ids.extend_from_slice(&new);
            let tree = pool.install(|| flat::build(&all, &ids, n));
            return Ok((tree, flat::stats(new.len(), t0.elapsed(), pool.threads(), None)));
        }
        let seq = order::sequence(&all, &new, opts.order, opts.seed);
        let mut stats = BuildStats {
            order: t0.elapsed(),
            threads: pool.threads(),
            ..Default::default()
        };
        let mut g = Growing::thaw(self, n);
        let present = self.len();
        pool.install(|| {
            batch::grow(
                &all,
                &mut g,
                &seq,
                0,
                present,
                pool,
                opts,
                &mut |_: &BatchStats, _| {},
                &mut stats,
            )
        })?;
        let tf = Instant::now();
        let tree = pool.install(|| g.freeze(&all, n, BUCKET, true));
        stats.freeze = tf.elapsed();
        stats.total = t0.elapsed();
        Ok((tree, stats))
    }

    /// A new tree without the points `ids` (repeats allowed); their ids are never
    /// reused. Errors: an id not in the tree (deleted before, or never given), or
    /// deleting every point (a tree holds at least one). `self` is unchanged. Runs on
    /// `pool` (the k-d indexes that re-home the orphaned subtrees, the new layout).
    pub fn delete(&self, ids: &[u32], pool: &Pool) -> Result<Self> {
        self.delete_by(ids, pool, kd_pays(&self.metric))
    }

    /// [`Tree::delete`], re-homing orphans through k-d indexes of the tree when `kd`
    /// (the same placements as the descent, found without measuring a large share of
    /// the tree for each orphan), else by the descent.
    fn delete_by(&self, ids: &[u32], pool: &Pool, kd: bool) -> Result<Self> {
        let mut gone: Vec<u32> = ids.to_vec();
        gone.sort_unstable();
        gone.dedup();
        if let Some(&bad) = gone.iter().find(|&&id| !self.contains(id)) {
            return Err(Error::invalid(
                "ids",
                format!(
                    "point {bad} is not in the tree ({})",
                    if (bad as usize) < self.id_bound() {
                        "deleted before"
                    } else {
                        "ids so far are below the tree's id bound"
                    }
                ),
            ));
        }
        if gone.len() >= self.len() {
            return Err(Error::invalid(
                "ids",
                "deleting every point would leave an empty tree; build a new one instead".into(),
            ));
        }
        let m = self.metric_by_id();
        let n = m.len();
        if self.flat {
            let ids: Vec<u32> = self
                .present_ids()
                .into_iter()
                .filter(|x| gone.binary_search(x).is_err())
                .collect();
            return Ok(pool.install(|| flat::build(&m, &ids, n)));
        }
        let mut g = Growing::thaw(self, n);
        let mut orphans: BinaryHeap<(i32, std::cmp::Reverse<u32>)> = BinaryHeap::new();
        // Duplicates first: they only leave their twin's list.
        for &x in &gone {
            let t = g.twin[x as usize];
            if t != NONE {
                g.dups[t as usize].retain(|&d| d != x);
                g.twin[x as usize] = NONE;
            }
        }
        for &x in &gone {
            let xi = x as usize;
            if g.level[xi] == i32::MIN || g.twin[xi] != NONE {
                continue; // a duplicate, handled above
            }
            if let Some(&d) = g.dups[xi].iter().min() {
                promote(&mut g, x, d, &mut orphans);
                continue;
            }
            g.detach(x);
            for c in std::mem::take(&mut g.children[xi]) {
                g.parent[c as usize] = NONE;
                orphans.push((g.level[c as usize], std::cmp::Reverse(c)));
            }
            g.level[xi] = i32::MIN;
            if g.root == x {
                // The highest orphan still in the tree (smallest id on ties) becomes
                // the root; its subtree comes with it.
                g.root = loop {
                    let (_, std::cmp::Reverse(r)) = orphans
                        .pop()
                        .expect("other points remain, so a deleted root without duplicates has live orphans");
                    if g.level[r as usize] != i32::MIN {
                        break r;
                    }
                };
            }
        }
        Ok(pool.install(|| {
            let mut finder = if kd {
                let ix = KdGrowing::new(&m, &g, subtree(&g, g.root), pool);
                Finder::Kd(ix, KdScratch::default())
            } else {
                Finder::Descent(Vec::new())
            };
            while let Some((_, std::cmp::Reverse(o))) = orphans.pop() {
                if g.level[o as usize] == i32::MIN || o == g.root {
                    continue; // deleted after it was orphaned, or made the root
                }
                rehome(&m, &mut g, o, &mut finder, &mut orphans);
            }
            g.freeze(&m, n, BUCKET, true)
        }))
    }
}

/// Duplicate `d` of node `x` takes `x`'s place (same coordinates, so every invariant
/// holds unchanged) — as the root, under `x`'s parent, or as an orphan subtree root if
/// `x` was one; `x` leaves the tree.
fn promote(g: &mut Growing, x: u32, d: u32, orphans: &mut BinaryHeap<(i32, std::cmp::Reverse<u32>)>) {
    let (xi, di) = (x as usize, d as usize);
    let rest: Vec<u32> = std::mem::take(&mut g.dups[xi])
        .into_iter()
        .filter(|&e| e != d)
        .collect();
    for &e in &rest {
        g.twin[e as usize] = d;
    }
    g.dups[di] = rest;
    g.twin[di] = NONE;
    g.radius[di] = g.radius[xi];
    let children = std::mem::take(&mut g.children[xi]);
    for &c in &children {
        g.parent[c as usize] = d;
    }
    g.children[di] = children;
    let (level, parent, dist) = (g.level[xi], g.parent[xi], g.dist_parent[xi]);
    g.detach(x);
    g.level[xi] = i32::MIN;
    if parent != NONE {
        g.attach(d, parent, level, dist);
        return;
    }
    g.level[di] = level;
    g.parent[di] = NONE;
    if g.root == x {
        g.root = d;
    } else {
        orphans.push((level, std::cmp::Reverse(d)));
    }
}

/// Places the detached subtree rooted at `o`: at its lowest feasible level under the
/// nearest feasible parent if that level is above its children's (the subtree stays
/// whole; ancestors' radii grow to cover it), else `o` goes alone and its children
/// become orphans. At distance 0 from a node, `o` and its duplicates become that
/// node's duplicates and its children orphans.
fn rehome<M: Metric>(
    m: &M,
    g: &mut Growing,
    o: u32,
    finder: &mut Finder<'_>,
    orphans: &mut BinaryHeap<(i32, std::cmp::Reverse<u32>)>,
) {
    let oi = o as usize;
    let d0 = m.distance(m, o, g.root);
    if d0 > 0.0 {
        g.raise_root_for(d0);
    }
    let placement = match finder {
        Finder::Descent(stack) => g.place(m, o, d0, stack, None, &mut 0),
        Finder::Kd(kd, sc) => kd.place(m, g, o, d0, sc),
    };
    let orphan_children = |g: &mut Growing, orphans: &mut BinaryHeap<_>| {
        for c in std::mem::take(&mut g.children[oi]) {
            g.parent[c as usize] = NONE;
            orphans.push((g.level[c as usize], std::cmp::Reverse(c)));
        }
        g.radius[oi] = 0.0;
    };
    match placement {
        Placement::Dup(y) => {
            orphan_children(g, orphans);
            for e in std::mem::take(&mut g.dups[oi]) {
                g.make_dup(y, e);
            }
            g.level[oi] = i32::MIN;
            g.make_dup(y, o);
        }
        Placement::Node { level, parent, dist } => {
            let top_child = g.children[oi].first().map(|&c| g.level[c as usize]);
            if top_child.is_some_and(|l| l >= level) {
                orphan_children(g, orphans);
            }
            g.attach(o, parent, level, dist);
            // Ancestors cover the whole subtree: d(a, o) + radius(o).
            let r = g.radius[oi];
            let (mut a, mut d) = (parent, dist);
            while a != NONE {
                let ra = &mut g.radius[a as usize];
                *ra = ra.max(d + r);
                a = g.parent[a as usize];
                if a != NONE {
                    d = m.distance(m, o, a);
                }
            }
            if let Finder::Kd(kd, _) = finder {
                kd.push(m, g, &subtree(g, o));
            }
        }
    }
}

/// How [`rehome`] finds where an orphan goes: the descent from the root (with its
/// stack), or k-d indexes of the attached nodes (metrics with few coordinates, where
/// the descent measures a large share of the tree for every orphan).
enum Finder<'p> {
    Descent(Vec<Frame>),
    Kd(KdGrowing<'p>, KdScratch),
}

/// The nodes of `g`'s subtree rooted at `r` (duplicates are not nodes).
fn subtree(g: &Growing, r: u32) -> Vec<u32> {
    let mut out = vec![r];
    let mut i = 0;
    while i < out.len() {
        out.extend_from_slice(&g.children[out[i] as usize]);
        i += 1;
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::metric::{Dataset, Euclidean};

    /// An orphan subtree whose lowest feasible level falls below its child's level is
    /// split: the child is re-homed on its own, and the result is a valid tree.
    #[test]
    fn orphans_below_their_children_are_split() {
        // 1-D: root 0.0, q 1.0 under it, orphan o 1.01 (child c at 1.51).
        let rows = [0.0, 1.0, 1.01, 1.51];
        let m = Euclidean::new(Dataset::from_rows(&rows, 4, 1).unwrap()).unwrap();
        let mut g = Growing::new(4);
        g.root = 0;
        g.level[0] = 5;
        g.attach(1, 0, -1, 1.0);
        g.radius[0] = 1.0;
        g.level[2] = -1;
        g.attach(3, 2, -2, 0.5);
        g.radius[2] = 0.5;
        let mut orphans = BinaryHeap::new();
        rehome(&m, &mut g, 2, &mut Finder::Descent(Vec::new()), &mut orphans);
        // o went under q (0.01 away) far below level -2, so c had to leave it.
        assert!(g.level[2] < -2, "o at level {}", g.level[2]);
        assert_eq!(orphans.pop(), Some((-2, std::cmp::Reverse(3))));
        rehome(&m, &mut g, 3, &mut Finder::Descent(Vec::new()), &mut orphans);
        assert!(orphans.is_empty());
        let tree = g.freeze(&m, 4, BUCKET, false);
        assert_eq!(tree.len(), 4);
        assert!(tree.validate().is_empty(), "{:?}", tree.validate());
    }

    /// Re-homing through the k-d indexes places every orphan where the descent does:
    /// the same tree, for deletes of the root, of scattered points and of large shares,
    /// on data with ties and duplicates, one after another (so later deletes start from
    /// trees that earlier ones re-homed), on 1 and 2 threads.
    #[test]
    fn kd_rehoming_gives_the_descents_tree() {
        use crate::datagen;
        let sets: [(&str, Vec<f64>, usize); 8] = [
            ("uniform d=2", datagen::uniform(3000, 2, 1), 2),
            ("uniform d=8", datagen::uniform(3000, 8, 2), 8),
            ("grid d=3", datagen::grid(3000, 3, 9, 3), 3),
            ("50% duplicates d=3", datagen::with_duplicates(3000, 3, 0.5, 4), 3),
            ("clusters d=5", datagen::clusters(3000, 5, 8, 0.01, 5), 5),
            ("line d=4", datagen::line(3000, 4, 6), 4),
            // Sums below the canonical distance's rescaling threshold.
            (
                "uniform d=3 × 1e-160",
                datagen::scaled(datagen::uniform(3000, 3, 7), 1e-160),
                3,
            ),
            // Enough re-homed nodes for groups indexed on the pool (`PAR_GROUP`).
            ("uniform d=2, 20,000 points", datagen::uniform(20_000, 2, 8), 2),
        ];
        for threads in [1, 2] {
            let pool = crate::Pool::new(threads).unwrap();
            for (name, rows, dim) in &sets {
                let n = rows.len() / dim;
                let m = Euclidean::new(Dataset::from_rows(rows, n, *dim).unwrap()).unwrap();
                let mut tree = Tree::build(m, &pool).unwrap();
                let mut rng = datagen::Rng::new(7);
                for step in 0..4 {
                    let live: Vec<u32> = (0..tree.id_bound() as u32)
                        .filter(|&i| tree.contains(i))
                        .collect();
                    let ids: Vec<u32> = match step {
                        0 => vec![tree.root_id()],
                        1 => (0..30)
                            .map(|_| live[rng.below(live.len() as u64) as usize])
                            .collect(),
                        2 => live.iter().copied().filter(|_| rng.below(5) < 2).collect(),
                        _ => live.iter().copied().filter(|&i| i % 7 != 0).collect(),
                    };
                    let by_kd = tree.delete_by(&ids, &pool, true).unwrap();
                    let by_descent = tree.delete_by(&ids, &pool, false).unwrap();
                    assert!(
                        by_kd.validate().is_empty(),
                        "{name} step {step}: {:?}",
                        by_kd.validate()
                    );
                    assert_eq!(
                        by_kd.layout_digest(),
                        by_descent.layout_digest(),
                        "{name}, step {step}, {threads} threads"
                    );
                    tree = by_kd;
                }
            }
        }
    }
}
