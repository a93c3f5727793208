//! Metrics over the points of a dataset they own, addressed by `u32` ids.
//!
//! Every metric has a **canonical distance** ([`Metric::distance`]): a deterministic
//! `f64` function of the two points, the value pcct reports and ranks by (ties by
//! id). Fast paths ([`Metric::approx_block`], SIMD kernels in lower precision or
//! another summation order) only filter candidates, with a stated error bound; every
//! answer is decided on canonical values. That is what makes the tree, the brute
//! force and any thread count agree to the last bit.

mod dataset;
mod euclidean;
mod kernel;
mod residual;

pub use dataset::{Dataset, MAX_POINTS};
pub use euclidean::{canonical as euclidean_distance, Euclidean};
pub use residual::{dot as residual_dot, Audit, Kernel, KernelKind, Residual};

use crate::Result;

/// Rows per query of a several-query call with `queries` queries and `cells`
/// results ([`Metric::approx_multi_raw`]); panics unless they divide evenly.
pub(crate) fn multi_rows(queries: usize, cells: usize) -> usize {
    match cells.checked_div(queries) {
        Some(n) if n * queries == cells => n,
        None if cells == 0 => 0,
        _ => panic!("pcct: {cells} results are not a whole number of rows for {queries} queries"),
    }
}

/// A metric space over points `0..len()`.
///
/// Queries are points of a second value of the same type (built the same way from
/// query rows): `queries.len()` points addressed by their own ids.
///
/// # Implementing a metric
/// Implement [`Metric::len`], [`Metric::distance`] and [`Metric::permuted`]; the
/// defaults make [`Metric::approx_block`] exact (one `distance` per point). Set
/// [`Metric::distance_rel_error`] to the relative error of your `distance` against
/// the true metric (it inflates cover radii so that pruning stays exact).
pub trait Metric: Send + Sync + Sized {
    /// Number of points.
    fn len(&self) -> usize;

    /// Whether there are no points.
    fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The canonical distance between point `i` of `queries` and point `j` of `self`.
    fn distance(&self, queries: &Self, i: u32, j: u32) -> f64;

    /// Canonical distances from point `i` of `queries` to the points `js` of `self`,
    /// `out[r]` for `js[r]`: exactly [`Metric::distance`]'s values (the default calls
    /// it per point; a metric may compute several at once, e.g. to overlap their
    /// latencies, but must give the same bits). Panics if the lengths differ.
    fn distances(&self, queries: &Self, i: u32, js: &[u32], out: &mut [f64]) {
        assert_eq!(js.len(), out.len(), "pcct: one output per point");
        for (&j, o) in js.iter().zip(out.iter_mut()) {
            *o = self.distance(queries, i, j);
        }
    }

    /// Approximate distances from point `i` of `queries` to points `first..first + out.len()`
    /// of `self`, within [`Metric::approx_error`] of the canonical ones.
    fn approx_block(&self, queries: &Self, i: u32, first: u32, out: &mut [f64]) {
        for (j, o) in (first..).zip(out.iter_mut()) {
            *o = self.distance(queries, i, j);
        }
    }

    /// [`Metric::approx_block`] in a cheaper monotone *raw* form (squared distances for
    /// Euclidean), for scans that mostly only compare against a bound. Default: the
    /// distances themselves.
    fn approx_block_raw(&self, queries: &Self, i: u32, first: u32, out: &mut [f64]) {
        self.approx_block(queries, i, first, out)
    }

    /// [`Metric::approx_block_raw`] for several queries against the same points:
    /// `out[a * n + r]` for point `qs[a]` of `queries` and point `first + r` of `self`,
    /// `n = out.len() / qs.len()`. Metrics whose kernels read a block of rows once for
    /// a tile of queries override it (Euclidean); default: one block per query.
    ///
    /// # Panics
    /// If `out.len()` is not a multiple of `qs.len()` (or `out` is not empty for no
    /// queries).
    fn approx_multi_raw(&self, queries: &Self, qs: &[u32], first: u32, out: &mut [f64]) {
        let n = multi_rows(qs.len(), out.len());
        if n == 0 {
            return;
        }
        for (&q, o) in qs.iter().zip(out.chunks_exact_mut(n)) {
            self.approx_block_raw(queries, q, first, o);
        }
    }

    /// The approximate distance of a raw value (inverse of the raw form).
    fn raw_to_approx(&self, raw: f64) -> f64 {
        raw
    }

    /// A raw bound such that every raw value whose approximate distance is `≤ d` is
    /// `≤ raw_bound(d)` (rounding included).
    fn raw_bound(&self, d: f64) -> f64 {
        d
    }

    /// Whether measuring a contiguous block of rows ([`Metric::approx_block_raw`]) is so
    /// much cheaper per row than one row at a time that searches should measure whole
    /// blocks even when the query's filter excludes some rows (SIMD Euclidean: yes).
    /// Default `false`: searches measure only the rows that can still matter.
    fn blocks_pay(&self) -> bool {
        false
    }

    /// Whether the metric measures in two phases: [`Metric::phase1_block`] bounds each
    /// distance cheaply, and searches compute the canonical [`Metric::distance`] only
    /// for rows whose lower bound they cannot rule out (instead of the approximations
    /// above). Default `false`.
    const TWO_PHASE: bool = false;

    /// Phase 1 of a two-phase metric: `lo[r] ≤ canonical ≤ hi[r]` for the distances from
    /// point `i` of `queries` to points `first + r` of `self`. Default: the canonical
    /// distances themselves.
    fn phase1_block(&self, queries: &Self, i: u32, first: u32, lo: &mut [f64], hi: &mut [f64]) {
        for ((j, l), h) in (first..).zip(lo.iter_mut()).zip(hi.iter_mut()) {
            *l = self.distance(queries, i, j);
            *h = *l;
        }
    }

    /// Bounds for a tile of pairs: `lo[a·nr + r] ≤ canonical ≤ hi[a·nr + r]` for point
    /// `q0 + a` of `queries` and point `first + r` of `self` (`a < nq`, `r < nr`); what
    /// [`crate::query::brute_force_knn_tiled`] runs on. Default: [`Metric::phase1_block`]
    /// per query. The residual metric computes the tile's dot products as one
    /// matrix product in `f64`.
    #[allow(clippy::too_many_arguments)]
    fn tile_bounds(
        &self,
        queries: &Self,
        q0: u32,
        nq: usize,
        first: u32,
        nr: usize,
        lo: &mut [f64],
        hi: &mut [f64],
    ) {
        for a in 0..nq {
            let (l, h) = (&mut lo[a * nr..(a + 1) * nr], &mut hi[a * nr..(a + 1) * nr]);
            self.phase1_block(queries, q0 + a as u32, first, l, h);
        }
    }

    /// Phase 1 for a tile: `lo[a·rows.len() + r] ≤ canonical ≤ hi[…]` for point `qs[a]`
    /// of `queries` and point `rows[r]` of `self`; the query engine's scan runs blocks of
    /// queries through it, so that a two-phase metric reads each row once per block.
    /// Default: [`Metric::phase1_block`] per pair.
    fn phase1_tile(&self, queries: &Self, qs: &[u32], rows: &[u32], lo: &mut [f64], hi: &mut [f64]) {
        let nr = rows.len();
        for (a, &q) in qs.iter().enumerate() {
            for (r, &j) in rows.iter().enumerate() {
                let at = a * nr + r;
                self.phase1_block(queries, q, j, &mut lo[at..at + 1], &mut hi[at..at + 1]);
            }
        }
    }

    /// Told of every row a search ruled out by phase 1 (its lower bound exceeded `cut`):
    /// the hook of an audit mode that checks the rejection exactly. Default: nothing.
    fn phase1_rejected(&self, _queries: &Self, _i: u32, _j: u32, _cut: f64) {}

    /// One approximate distance, as [`Metric::approx_block`] would give it.
    fn approx_one(&self, queries: &Self, i: u32, j: u32) -> f64 {
        let mut out = [0.0];
        self.approx_block(queries, i, j, &mut out);
        out[0]
    }

    /// `(rel, abs)`: `|approx − canonical| ≤ rel·canonical + abs` for [`Metric::approx_block`]
    /// and [`Metric::approx_one`].
    fn approx_error(&self) -> (f64, f64) {
        (0.0, 0.0)
    }

    /// Relative error of [`Metric::distance`] against the true metric (used to keep
    /// triangle-inequality pruning conservative).
    fn distance_rel_error(&self) -> f64 {
        4.0 * f64::EPSILON
    }

    /// An absolute error bound of [`Metric::distance`] against the true metric, on top
    /// of the relative one (metrics whose rounding does not shrink with the distance,
    /// such as the residual correlation near `|ρ| = 1`). Default 0.
    fn distance_abs_error(&self) -> f64 {
        0.0
    }

    /// A hint that [`Metric::distances`] will soon measure point `j` (e.g. prefetch its
    /// row); no effect on any result. Default: nothing.
    fn prefetch(&self, _j: u32) {}

    /// Whether point `i` of `queries` lies within `r` of point `j` (canonical).
    fn within(&self, queries: &Self, i: u32, j: u32, r: f64) -> bool {
        self.distance(queries, i, j) <= r
    }

    /// How many coordinates [`Metric::coordinates`] gives per point; 0 (the default)
    /// when points have none, and the parallel build then orders them by id.
    fn coordinate_dim(&self) -> usize {
        0
    }

    /// Writes the coordinates of point `i` into `out` (`coordinate_dim()` values):
    /// the parallel build sorts points along a Hilbert curve through them.
    fn coordinates(&self, _i: u32, _out: &mut [f64]) {}

    /// Whether [`Metric::distance`] is, bit for bit, [`euclidean_distance`] of the
    /// two points' [`Metric::coordinates`] — what lets the build search boxes of
    /// coordinates instead of descending the tree. Default `false`.
    fn euclidean_coordinates(&self) -> bool {
        false
    }

    /// The kernel level for bf16 *sketches* of this metric's rows, through which tree
    /// searches scan large buckets (bounds are rigorous: answers stay exact); `None`:
    /// no sketches. Default: the process's active level where
    /// [`Metric::euclidean_coordinates`] holds.
    fn sketch_isa(&self) -> Option<crate::kernels::Isa> {
        if self.euclidean_coordinates() {
            crate::kernels::isa::active().ok().map(|c| c.isa())
        } else {
            None
        }
    }

    /// A copy whose point `k` is point `order[k]` of `self`.
    fn permuted(&self, order: &[u32]) -> Self;

    /// The points of `self` followed by those of `other` (what [`crate::Tree::insert`]
    /// needs). Default: an error saying the metric does not support inserts.
    fn concat(&self, _other: &Self) -> Result<Self> {
        Err(crate::Error::invalid(
            "metric",
            "this metric does not implement Metric::concat, so its trees cannot take inserts".into(),
        ))
    }

    /// Checks that `queries` can be measured against `self` (e.g. same dimension).
    fn check_queries(&self, _queries: &Self) -> Result<()> {
        Ok(())
    }
}
