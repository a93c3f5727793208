//! Metrics over the points of a dataset they own, addressed by `u32` ids.
//!
//! Every metric has a **canonical distance** ([`Metric::distance`]): a deterministic
//! `f64` function of the two points, the value pcct reports and ranks by (ties by
//! id). Fast paths ([`Metric::bounds`]: SIMD kernels in lower precision or another
//! summation order) only filter candidates, with a stated error bound; every answer is
//! decided on canonical values. That is what makes the tree, the brute force and any
//! thread count agree to the last bit.
//!
//! # Adding a metric
//! Implement the three required items of [`Metric`]: [`Metric::len`],
//! [`Metric::distance`] and [`Metric::permuted`] (and [`Metric::concat`] if its trees
//! take inserts). That is a correct metric for every query, build, insert and delete;
//! `tests/user_metric.rs` writes two outside the crate. The provided items are speed-ups,
//! each with a default that is always right: block bounds ([`Metric::bounds`], with
//! [`Capabilities`] saying what they are and [`Errors`] how far they may be off), several
//! canonical distances at once, coordinates for the Hilbert order, prefetch hints.

mod covariance;
mod dataset;
mod euclidean;
mod model;
mod residual;

pub use dataset::{Dataset, MAX_POINTS};
pub use euclidean::{canonical as euclidean_distance, Euclidean};
pub(crate) use model::Model;
pub use residual::{dot as residual_dot, Audit, Kernel, KernelKind, Residual};

use crate::kernels::Isa;
use crate::Result;

/// Which points of a metric a [`Metric::bounds`] call is about.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Points<'a> {
    /// Points `first..first + len`, contiguous: a metric may read them as one block
    /// (block kernels; for the residual metric a run of queries against a run of rows
    /// is one `f64` matrix product).
    Run {
        /// The first point.
        first: u32,
        /// How many.
        len: usize,
    },
    /// The listed points, measured one at a time.
    List(&'a [u32]),
}

impl Points<'_> {
    /// One point, as a list.
    pub fn one(id: &u32) -> Points<'_> {
        Points::List(std::slice::from_ref(id))
    }

    /// How many points.
    pub fn len(&self) -> usize {
        match self {
            Points::Run { len, .. } => *len,
            Points::List(ids) => ids.len(),
        }
    }

    /// Whether there are none.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The `r`-th point.
    #[inline]
    pub fn get(&self, r: usize) -> u32 {
        match self {
            Points::Run { first, .. } => first + r as u32,
            Points::List(ids) => ids[r],
        }
    }
}

/// Where [`Metric::bounds`] writes, one value per pair: entry `a·nr + r` for query
/// `a` and row `r` (`nr` rows).
#[derive(Debug)]
pub enum Bounds<'a> {
    /// Raw values in the metric's [`Raw`] form ([`Capabilities::raw`]), each an
    /// approximation of the canonical distance within [`Errors`]' `approx` bounds:
    /// what one-phase metrics give.
    Raw(&'a mut [f64]),
    /// Intervals `lo ≤ canonical ≤ hi`: what two-phase metrics give
    /// ([`Capabilities::two_phase`]).
    Interval {
        /// Lower bounds.
        lo: &'a mut [f64],
        /// Upper bounds.
        hi: &'a mut [f64],
    },
}

/// How raw values ([`Bounds::Raw`]) relate to approximate distances.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum Raw {
    /// Raw values are the approximate distances.
    #[default]
    Distance,
    /// Raw values are squared approximate distances (Euclidean: no square root for the
    /// rows a scan only compares against a bound).
    Squared,
}

impl Raw {
    /// The approximate distance of a raw value.
    #[inline]
    pub fn to_distance(self, raw: f64) -> f64 {
        match self {
            Raw::Distance => raw,
            Raw::Squared => raw.sqrt(),
        }
    }

    /// A raw bound such that every raw value whose approximate distance is `≤ d` is
    /// `≤ bound(d)`, rounding included.
    #[inline]
    pub fn bound(self, d: f64) -> f64 {
        match self {
            Raw::Distance => d,
            // sqrt is correctly rounded: sqrt(raw) ≤ d implies raw ≤ d²·(1 + 2ε)²; the
            // product's own rounding is covered by the factor 1 + 8ε.
            Raw::Squared => d * d * (1.0 + 8.0 * f64::EPSILON),
        }
    }
}

/// What a metric's provided items offer, so that searches and builds take the fast
/// paths that exist ([`Metric::capabilities`]). The default offers nothing beyond the
/// canonical distance: every field off.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct Capabilities {
    /// How many coordinates [`Metric::coordinates`] gives per point; 0 when points have
    /// none (the parallel build then orders them by id instead of a Hilbert curve).
    pub coordinate_dim: usize,
    /// Whether [`Metric::distance`] is, bit for bit, [`euclidean_distance`] of the two
    /// points' coordinates: what lets builds and queries search boxes of coordinates
    /// (k-d indexes) and scan buckets through bf16 sketches.
    pub euclidean: bool,
    /// Whether measuring a contiguous block of rows is so much cheaper per row than one
    /// row at a time that searches should measure whole blocks even when the query's
    /// filter excludes some rows (SIMD Euclidean: yes).
    pub blocks_pay: bool,
    /// Whether [`Metric::bounds`] gives intervals ([`Bounds::Interval`], a cheap phase 1)
    /// and searches compute canonical distances only where phase 1 cannot rule a row
    /// out; otherwise it gives raw approximations ([`Bounds::Raw`]).
    pub two_phase: bool,
    /// Whether [`Metric::bounds`] of a run of queries × a run of rows as intervals is a
    /// matrix product, so that the dense engine's tiles pay (residual; Euclidean in 16
    /// or more dimensions); otherwise the dense engine scans one query at a time.
    pub tiles_pay: bool,
    /// The form of raw values.
    pub raw: Raw,
    /// The kernel level for bf16 sketches of the rows, through which tree searches scan
    /// large buckets (bounds are rigorous: answers stay exact); `None`: no sketches.
    /// Only for [`Capabilities::euclidean`] metrics.
    pub sketch_isa: Option<Isa>,
}

/// How far a metric's values may be off ([`Metric::errors`]); pruning widens every
/// bound by them, so that rounding can never drop a true neighbour.
#[derive(Clone, Copy, Debug, PartialEq)]
#[non_exhaustive]
pub struct Errors {
    /// Relative error of [`Metric::distance`] against the true metric.
    pub distance_rel: f64,
    /// Absolute error of [`Metric::distance`] on top of the relative one (metrics whose
    /// rounding does not shrink with the distance, such as the residual correlation
    /// near `|ρ| = 1`).
    pub distance_abs: f64,
    /// `|approx − canonical| ≤ approx_rel·canonical + approx_abs` for the approximate
    /// distances of raw values ([`Bounds::Raw`]).
    pub approx_rel: f64,
    /// See [`Errors::approx_rel`].
    pub approx_abs: f64,
}

impl Errors {
    /// A canonical distance within `rel·d + abs` of the true distance `d`, exact raw
    /// values (what a user metric without block bounds states).
    pub fn distance(rel: f64, abs: f64) -> Self {
        Errors {
            distance_rel: rel,
            distance_abs: abs,
            ..Errors::default()
        }
    }

    /// The interval arithmetic of raw approximations ([`Errors::approx_rel`], `approx_abs`).
    pub(crate) fn approx_slack(&self) -> Slack {
        Slack::new(self.approx_rel, self.approx_abs)
    }
}

impl Default for Errors {
    /// A canonical distance within `4ε` relative of the truth, exact raw values.
    fn default() -> Self {
        Errors {
            distance_rel: 4.0 * f64::EPSILON,
            distance_abs: 0.0,
            approx_rel: 0.0,
            approx_abs: 0.0,
        }
    }
}

/// A metric space over points `0..len()`.
///
/// Queries are points of a second value of the same type (built the same way from
/// query rows): `queries.len()` points addressed by their own ids.
///
/// Three items are required ([`Metric::len`], [`Metric::distance`],
/// [`Metric::permuted`]); the rest are provided, in three groups: what the metric offers
/// and how exact it is ([`Metric::capabilities`], [`Metric::errors`]), speed-ups
/// ([`Metric::distances`], [`Metric::bounds`], [`Metric::coordinates`],
/// [`Metric::prefetch`], [`Metric::rejected`]), and data operations
/// ([`Metric::concat`], [`Metric::check_queries`]). See the [module docs](self).
// A metric is not a collection: `len` counts its points, `is_empty` would add nothing.
#[allow(clippy::len_without_is_empty)]
pub trait Metric: Send + Sync + Sized {
    /// Number of points.
    fn len(&self) -> usize;

    /// The canonical distance between point `i` of `queries` and point `j` of `self`:
    /// symmetric, deterministic, and 0 only between identical points (the tree keeps
    /// points at distance 0 as duplicates of one node and reports them with its
    /// distance, so two forms of one point must be stored as one).
    fn distance(&self, queries: &Self, i: u32, j: u32) -> f64;

    /// A copy whose point `k` is point `order[k]` of `self`.
    fn permuted(&self, order: &[u32]) -> Self;

    /// What the provided items below offer. Default: nothing beyond the canonical
    /// distance ([`Capabilities::default`]).
    fn capabilities(&self) -> Capabilities {
        Capabilities::default()
    }

    /// How far [`Metric::distance`] and the raw values of [`Metric::bounds`] may be off.
    /// Default: [`Errors::default`] (a distance within `4ε` relative, exact raw values;
    /// a user metric whose distance rounds more must say so here).
    fn errors(&self) -> Errors {
        Errors::default()
    }

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

    /// Bounds of the canonical distances from points `qs` of `queries` to points `rows`
    /// of `self`, entry `a·rows.len() + r` for `qs.get(a)` and `rows.get(r)`: raw
    /// approximations for one-phase metrics, intervals for two-phase ones
    /// ([`Capabilities::two_phase`]; searches ask each metric for its form, the tiled
    /// brute force asks every metric for intervals). Default: the canonical distances
    /// ([`Raw::Distance`], or `lo = hi`).
    ///
    /// # Panics
    /// If the output length is not `qs.len() · rows.len()`.
    fn bounds(&self, queries: &Self, qs: Points<'_>, rows: Points<'_>, out: Bounds<'_>) {
        canonical_bounds(self, queries, qs, rows, out)
    }

    /// Writes the coordinates of point `i` into `out` ([`Capabilities::coordinate_dim`]
    /// values): the parallel build sorts points along a Hilbert curve through them.
    /// Default: nothing (metrics without coordinates).
    fn coordinates(&self, _i: u32, _out: &mut [f64]) {}

    /// A hint that [`Metric::distances`] will soon measure point `j` (e.g. prefetch its
    /// row); no effect on any result. Default: nothing.
    fn prefetch(&self, _j: u32) {}

    /// Told of every row a search or build ruled out by a phase-1 interval (its lower
    /// bound exceeded `cut`): the hook of an audit mode that checks the rejection
    /// exactly. Default: nothing.
    fn rejected(&self, _queries: &Self, _i: u32, _j: u32, _cut: f64) {}

    /// The points of `self` followed by those of `other` (what [`crate::Tree::insert`]
    /// needs). Default: an error saying the metric does not support inserts.
    fn concat(&self, _other: &Self) -> Result<Self> {
        Err(crate::Error::invalid(
            "metric",
            "this metric does not implement Metric::concat, so its trees cannot take inserts".into(),
        ))
    }

    /// Checks that `queries` can be measured against `self` (e.g. same dimension).
    /// Default: any queries.
    fn check_queries(&self, _queries: &Self) -> Result<()> {
        Ok(())
    }
}

/// Turns an approximation `a` into bounds of the canonical distance, given the
/// metric's `approx_rel`, `approx_abs` error: multiplications by precomputed reciprocals (the error
/// bounds carry a factor-two headroom, far above one rounding of the reciprocal).
#[derive(Clone, Copy)]
pub(crate) struct Slack {
    pub(crate) abs: f64,
    pub(crate) down: f64,
    pub(crate) up: f64,
}

impl Slack {
    pub(crate) fn new(rel: f64, abs: f64) -> Self {
        // With an error bound this loose (f32 at millions of dimensions) no upper
        // bound is trusted: the threshold stays +∞ and every candidate is resolved exactly.
        let up = if rel < 0.5 {
            1.0 / (1.0 - rel)
        } else {
            f64::INFINITY
        };
        Slack {
            abs,
            down: 1.0 / (1.0 + rel),
            up,
        }
    }

    /// Lower bound of the canonical distance.
    #[inline]
    pub(crate) fn lower(self, a: f64) -> f64 {
        fmax((a - self.abs) * self.down, 0.0)
    }

    /// Upper bound of the canonical distance.
    #[inline]
    pub(crate) fn upper(self, a: f64) -> f64 {
        (a + self.abs) * self.up
    }
}

/// The larger of two values as one compare-and-select (`f64::max` spends extra
/// instructions on NaN; here a NaN `a` gives `b`, so `fmax(x, 0.0)` floors a NaN to 0).
#[inline(always)]
pub(crate) fn fmax(a: f64, b: f64) -> f64 {
    if a > b {
        a
    } else {
        b
    }
}

/// [`Metric::bounds`] by canonical distances: raw values of the [`Raw::Distance`] form,
/// or intervals `lo = hi`. Panics unless every output has one entry per pair.
pub(crate) fn canonical_bounds<M: Metric>(
    m: &M,
    queries: &M,
    qs: Points<'_>,
    rows: Points<'_>,
    out: Bounds<'_>,
) {
    let (nq, nr) = (qs.len(), rows.len());
    let (lo, hi) = match out {
        Bounds::Raw(raw) => (raw, None),
        Bounds::Interval { lo, hi } => (lo, Some(hi)),
    };
    assert!(
        lo.len() == nq * nr && hi.as_ref().is_none_or(|h| h.len() == lo.len()),
        "pcct: one bound per pair"
    );
    for a in 0..nq {
        for r in 0..nr {
            lo[a * nr + r] = m.distance(queries, qs.get(a), rows.get(r));
        }
    }
    if let Some(hi) = hi {
        hi.copy_from_slice(lo);
    }
}

/// Raw values from point `q` of `qm` to the rows `first..first + out.len()` of `m`.
#[inline]
pub(crate) fn raw_block<M: Metric>(m: &M, qm: &M, q: u32, first: u32, out: &mut [f64]) {
    let rows = Points::Run {
        first,
        len: out.len(),
    };
    m.bounds(qm, Points::one(&q), rows, Bounds::Raw(out));
}

/// The engine's tiles take pcct's own product from this many columns, faer's below: at
/// 128 × 1,024 × m on one thread pcct's runs at 66 % of the FMA peak against faer's 59 %
/// at m = 200 (W8), 64 % against 55 % at m = 512 (W4), 42 % against 61 % at m = 32 (W9);
/// the crossing lies between (BENCHMARKS.md, section Dense engine).
const OWN_PRODUCT_MIN_M: usize = 160;

/// `out = A·Bᵀ` for row-major `A` (`out.len() / B rows` × `m`) and `B` (× `m`): pcct's
/// AVX-512 product (`pcct_kernels::product`) where the active level is AVX-512 and `m` is
/// at least [`OWN_PRODUCT_MIN_M`], faer's elsewhere; sequential, on the caller's thread.
/// The summation orders differ: callers bound any order's rounding. Leaves the upper
/// vector state clean.
pub(crate) fn product_nt(a: &[f64], b: &[f64], m: usize, out: &mut [f64]) {
    if m >= OWN_PRODUCT_MIN_M && crate::kernels::product::available() {
        thread_local! {
            static PACK: std::cell::RefCell<Vec<f64>> = const { std::cell::RefCell::new(Vec::new()) };
        }
        PACK.with_borrow_mut(|pack| crate::kernels::product::product_nt(a, b, m, out, pack));
    } else {
        let (na, nb) = (a.len() / m, b.len() / m);
        let a = faer::MatRef::from_row_major_slice(a, na, m);
        let b = faer::MatRef::from_row_major_slice(b, nb, m);
        let tile = faer::MatMut::from_row_major_slice_mut(out, na, nb);
        faer::linalg::matmul::matmul(tile, faer::Accum::Replace, a, b.transpose(), 1.0, faer::Par::Seq);
    }
    crate::kernels::clear_upper_state();
}

/// Phase-1 interval of the distance from point `q` of `qm` to point `j` of `m`.
#[inline]
pub(crate) fn pair_interval<M: Metric>(m: &M, qm: &M, q: u32, j: u32) -> (f64, f64) {
    let (mut lo, mut hi) = (0.0, 0.0);
    let out = Bounds::Interval {
        lo: std::slice::from_mut(&mut lo),
        hi: std::slice::from_mut(&mut hi),
    };
    m.bounds(qm, Points::one(&q), Points::Run { first: j, len: 1 }, out);
    (lo, hi)
}

/// One approximate distance from point `q` of `qm` to point `j` of `m` (the row
/// measured alone).
#[inline]
pub(crate) fn approx_one<M: Metric>(m: &M, qm: &M, q: u32, j: u32) -> f64 {
    let mut raw = 0.0;
    let out = Bounds::Raw(std::slice::from_mut(&mut raw));
    m.bounds(qm, Points::one(&q), Points::one(&j), out);
    m.capabilities().raw.to_distance(raw)
}
