//! The compressed cover tree (DESIGN.md §2) in its frozen, query-ready layout.
//!
//! Every node is one inserted point; exact duplicates are not nodes but sit in a
//! duplicate list of their twin. Nodes are numbered by *position* in a depth-first
//! layout where the children of a node are contiguous, and the metric's rows are
//! stored in the same order, so the children of a node form one block for the
//! distance kernels:
//!
//! ```text
//! pos:      0 | 1  2  3 | 4  5 | 6 | 7  8 ...     children(0) = 1..4, children(1) = 4..6, …
//!                                                 (each block sorted by distance to the parent)
//! rows:     r0| r1 r2 r3| r4 r5| r6| …            rows in position order
//! id[pos]:  original point ids (what queries return)
//! ```
//!
//! Subtrees of at most 1,024 nodes (`BUCKET`) are laid out breadth-first, so that all descendants
//! of such a *bucket* root are one contiguous block too, scanned in one pass:
//!
//! ```text
//! … | c | …      c a bucket root; its descendants: | c's children | grandchildren | … |
//!                                                  ^ child_first(c)    bucket_end(c) ^
//! ```
//!
//! Invariants ([`Tree::validate`] checks them all): levels strictly decrease from
//! parent to child; covering `d(p, parent) ≤ b^(ℓ(p)+1)`; separation `d(p, q) > b^i`
//! for distinct nodes of level ≥ i (b = [`BASE`]); `radius(p)` bounds the distance to every
//! descendant; `min_id(p)` is the smallest id in the subtree (duplicates included).

mod growing;
mod kd;
mod layout;
mod level;
mod sequential;
mod sketch;
mod validate;

pub use level::{level_of, scale, BASE};
pub use validate::Violation;

pub(crate) use crate::metric::fmax;
pub(crate) use growing::{Frame, Growing, Placement, SLACK};
pub(crate) use kd::{pays as kd_pays, KdGrowing, KdIndex, KdLevels, KdScratch};
pub(crate) use layout::BUCKET;
pub use sketch::bucket_scan;
pub(crate) use sketch::{SketchForm, SketchScratch, Sketches};

use crate::metric::Metric;
use pcct_arenas::Csr;

/// "No node / no point": the parent of the root, a missing neighbour.
pub const NONE: u32 = u32::MAX;

/// Summary numbers of a tree's shape.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct TreeShape {
    /// Nodes (points that are not duplicates).
    pub nodes: usize,
    /// Points stored as duplicates of a node.
    pub duplicates: usize,
    /// Longest root-to-node path, in edges.
    pub depth: u32,
    /// Most children of one node.
    pub max_children: u32,
    /// Mean children of the nodes that have any.
    pub mean_children: f64,
    /// Lowest and highest level.
    pub levels: (i32, i32),
    /// Small subtrees laid out as one contiguous block.
    pub buckets: usize,
}

/// A built, immutable compressed cover tree over a metric's points. Cloning copies it;
/// [`Tree::insert`] and [`Tree::delete`] return new trees and leave this one as it is.
#[derive(Clone, Debug)]
pub struct Tree<M> {
    pub(crate) metric: M,
    pub(crate) n_points: usize,
    pub(crate) id: Vec<u32>,
    pub(crate) level: Vec<i32>,
    pub(crate) parent: Vec<u32>,
    pub(crate) dist_parent: Vec<f64>,
    pub(crate) radius: Vec<f64>,
    pub(crate) min_id: Vec<u32>,
    pub(crate) child_first: Vec<u32>,
    pub(crate) child_count: Vec<u32>,
    /// The largest cover radius among each node's children (0 without children).
    pub(crate) child_radius_max: Vec<f64>,
    /// For the root of a small subtree laid out breadth-first, the end of its
    /// descendants' block (which starts at its first child); `NONE` elsewhere.
    pub(crate) bucket_end: Vec<u32>,
    pub(crate) dups: Csr<u32>,
    pub(crate) pos_of_id: Vec<u32>,
    /// A k-d index over the node rows, built on first use ([`Tree::kd_index`]).
    pub(crate) kd: std::sync::Arc<std::sync::OnceLock<KdIndex>>,
    /// bf16 sketches of the buckets' rows, built on first use ([`Tree::sketches`]).
    pub(crate) sketch: std::sync::Arc<std::sync::OnceLock<Sketches>>,
    /// A flat tree ([`Tree::is_flat`]).
    pub(crate) flat: bool,
}

/// The value in `cell`, made by `make` if there is none yet. `make` runs here, not
/// inside the `OnceLock` (a pool worker waiting there could not help the work it waits
/// for); two concurrent first calls both make one, and the first stored is kept.
fn built_once<T>(cell: &std::sync::OnceLock<T>, make: impl FnOnce() -> T) -> &T {
    if let Some(v) = cell.get() {
        return v;
    }
    let _ = cell.set(make());
    cell.get().expect("a value was just stored")
}

impl<M: Metric> Tree<M> {
    /// Builds the tree by inserting points one at a time in id order with the
    /// lowest-feasible-level rule of DESIGN.md §2: the reference builder.
    pub fn build_sequential(metric: M) -> crate::Result<Self> {
        sequential::build(metric)
    }

    /// Whether this is a flat tree: the root and every other point its child, built
    /// where the metric cannot be split ([`crate::Flat`]). It keeps every invariant but
    /// separation, and its queries scan every row.
    pub fn is_flat(&self) -> bool {
        self.flat
    }

    /// Number of points (nodes and duplicates).
    pub fn len(&self) -> usize {
        self.n_points
    }

    /// Every point id is below this: the ids ever given in this tree's lineage (deleted
    /// ids are never reused, so after a delete `id_bound() > len()`).
    pub fn id_bound(&self) -> usize {
        self.pos_of_id.len()
    }

    /// Whether point `id` is in the tree (not deleted, not beyond [`Tree::id_bound`]).
    pub fn contains(&self, id: u32) -> bool {
        self.pos_of_id.get(id as usize).is_some_and(|&p| p != NONE)
    }

    /// Whether the tree holds no point (never true for a built tree).
    pub fn is_empty(&self) -> bool {
        self.n_points == 0
    }

    /// Number of nodes (points that are not duplicates of another).
    pub fn num_nodes(&self) -> usize {
        self.id.len()
    }

    /// The metric, with its rows in node-position order.
    pub fn metric(&self) -> &M {
        &self.metric
    }

    /// Summary numbers of the tree's shape (for telemetry and tuning).
    pub fn shape(&self) -> TreeShape {
        let nodes = self.num_nodes();
        let mut depth = vec![0u32; nodes];
        for p in 1..nodes {
            depth[p] = depth[self.parent[p] as usize] + 1; // parents precede children
        }
        let internal = self.child_count.iter().filter(|&&c| c > 0).count();
        TreeShape {
            nodes,
            duplicates: self.n_points - nodes,
            depth: depth.iter().copied().max().unwrap_or(0),
            max_children: self.child_count.iter().copied().max().unwrap_or(0),
            mean_children: (nodes - 1) as f64 / internal.max(1) as f64,
            buckets: self.bucket_end.iter().filter(|&&e| e != NONE).count(),
            levels: (
                self.level
                    .iter()
                    .copied()
                    .filter(|&l| l != i32::MIN)
                    .min()
                    .unwrap_or(0),
                self.level[0],
            ),
        }
    }

    /// A 64-bit digest (FNV-1a) of the tree's layout: ids, levels, parents, children,
    /// distances to parents, radii and duplicate lists. Equal trees have equal
    /// digests; the determinism tests compare builds on different pool sizes with it.
    pub fn layout_digest(&self) -> u64 {
        let mut h: u64 = 0xCBF2_9CE4_8422_2325;
        let mut eat = |v: u64| {
            for b in v.to_le_bytes() {
                h = (h ^ b as u64).wrapping_mul(0x0100_0000_01B3);
            }
        };
        eat(self.n_points as u64);
        for p in 0..self.num_nodes() {
            eat(self.id[p] as u64);
            eat(self.level[p] as u32 as u64);
            eat(self.parent[p] as u64);
            eat(self.child_first[p] as u64);
            eat(self.child_count[p] as u64);
            eat(self.dist_parent[p].to_bits());
            eat(self.radius[p].to_bits());
            for &d in self.dups_of(p as u32) {
                eat(d as u64);
            }
        }
        h
    }

    /// The points `ids` of this tree as a metric of their own, in the order given (a
    /// duplicate reads its twin's row, the same point): queries "by dataset index", for
    /// metrics whose new points cannot be made from coordinates alone. Errors for an id
    /// that is not in the tree.
    ///
    /// ```
    /// use pcct::{datagen, Dataset, Euclidean, Pool, Tree};
    /// let pool = Pool::new(1)?;
    /// let tree = Tree::build(Euclidean::new(Dataset::from_rows(&datagen::uniform(100, 2, 1), 100, 2)?)?, &pool)?;
    /// let (nn, _) = tree.knn(&tree.points(&[5, 7])?, 1).run(&pool)?;
    /// assert_eq!(nn.ids(), &[5, 7]);
    /// # Ok::<(), pcct::Error>(())
    /// ```
    pub fn points(&self, ids: &[u32]) -> crate::Result<M> {
        let pos = ids
            .iter()
            .map(|&i| match self.pos_of_id.get(i as usize) {
                Some(&p) if p != NONE => Ok(p),
                _ => Err(crate::Error::invalid(
                    "ids",
                    format!(
                        "point {i} is not in the tree (ids below {} that were not deleted)",
                        self.id_bound()
                    ),
                )),
            })
            .collect::<crate::Result<Vec<u32>>>()?;
        Ok(self.metric.permuted(&pos))
    }

    /// The id of the point at the root.
    pub fn root_id(&self) -> u32 {
        self.id[0]
    }

    /// The level of the root (`i32::MIN` for a one-node tree).
    pub fn root_level(&self) -> i32 {
        self.level[0]
    }

    /// A k-d index over the node rows (tag: position; key: the smallest id of the node
    /// and its duplicates), shared by clones: the k-NN path for metrics with Euclidean
    /// coordinates in few dimensions where the tree cannot prune. Built on first use,
    /// with its big halves split on `pool`; call it outside the pool's parallel loops
    /// ([`built_once`]).
    pub(crate) fn kd_index(&self, pool: &crate::Pool) -> &KdIndex {
        built_once(&self.kd, || {
            let pos: Vec<u32> = (0..self.num_nodes() as u32).collect();
            let keys: Vec<u32> = pos
                .iter()
                .map(|&p| self.id[p as usize].min(self.dups_of(p).first().copied().unwrap_or(NONE)))
                .collect();
            pool.install(|| KdIndex::with_keys(&self.metric, &pos, &pos, Some(&keys), Some(pool)))
        })
    }

    /// The bf16 sketches of the buckets ([`Sketches`]), shared by clones; built on first
    /// use on `pool` (call it outside the pool's parallel loops, as [`Tree::kd_index`]).
    /// Searches scan a bucket through its sketch once this has run, in `f64` before.
    pub(crate) fn sketches(&self, pool: &crate::Pool) -> &Sketches {
        built_once(&self.sketch, || pool.install(|| Sketches::new(self)))
    }

    /// The position range of the children of node `pos`.
    pub(crate) fn children(&self, pos: u32) -> std::ops::Range<u32> {
        let f = self.child_first[pos as usize];
        f..f + self.child_count[pos as usize]
    }

    /// The original ids of the duplicates of node `pos`, ascending.
    pub(crate) fn dups_of(&self, pos: u32) -> &[u32] {
        self.dups.row(pos as usize)
    }
}
