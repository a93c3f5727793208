//! bf16 *sketches* of the buckets' rows, for metrics with Euclidean coordinates: a k-NN
//! or range search scans a whole bucket ([`crate::tree`]'s module docs) at ~2 bytes per
//! coordinate instead of 8, and resolves only the few rows the sketch cannot rule out
//! with their canonical distances (a bucket row costs a fraction of its `f64` scan
//! through [`SketchKernel`] on AVX-512 BF16; see BENCHMARKS.md, section Kernels).
//!
//! A bucket's rows are stored relative to its root `c` (a point whose cover radius
//! holds them all), scaled by a power of two `s` that brings them to norms of about 1:
//! `x' = (x − c)·s`, each coordinate rounded to bf16 (`x̃`, relative error 2⁻⁹). For a
//! query `q`, `q' = (q − c)·s` and `q̃` likewise; the kernel gives `D ≈ ‖q̃ − x̃‖²` within
//! `E` ([`error_bound`]), so with `e ≥ ‖q' − q̃‖ + ‖x' − x̃‖` (rounding of `x − c` and of
//! the norms included) the true distance `‖q − x‖ = ‖q' − x'‖/s` lies in
//!
//! ```text
//! [ (√max(D − E, 0) − e)/s ,  (√(D + E) + e)/s ]
//! ```
//!
//! and the canonical one within the metric's `errors()` (`distance_rel`, `distance_abs`) of
//! that. Centred on the bucket's root, bf16 rounding is ~10⁻³ of the bucket's radius,
//! so the intervals are narrow next to a neighbour distance.

use super::{Tree, NONE};
use crate::metric::Metric;
use pcct_kernels::residual::{from_bf16, to_bf16};
use pcct_kernels::sketch::{error_bound, pack_pair, SketchKernel, GROUP};
use pcct_kernels::Isa;
use rayon::prelude::*;

/// Buckets of fewer rows are scanned in `f64`: a sketch costs a few steps per
/// coordinate per query to set up.
pub(crate) const MIN_ROWS: usize = 2 * GROUP;

/// `2⁻⁵⁰`: headroom for the few `f64` roundings in the bounds below.
const H: f64 = 1.0 / (1u64 << 50) as f64;

/// One bucket's rows in the sketch kernel's layout.
struct Bucket {
    /// The number of rows.
    rows: usize,
    /// Pair words, groups of [`GROUP`] rows.
    words: Vec<u32>,
    /// `‖x̃‖²` per row, rounded to `f32` (`+∞` for the padding of the last group).
    norms: Vec<f32>,
    /// The root's coordinates.
    centre: Vec<f64>,
    /// `s` and `1/s` (powers of two).
    scale: f64,
    inv: f64,
    /// At least every `‖x̃‖`.
    x_max: f64,
    /// At least every `‖x' − x̃‖` (`x'` exact).
    err: f64,
}

/// The sketches of a tree's buckets (none for metrics without Euclidean coordinates).
pub(crate) struct Sketches {
    /// `None` where there are no sketches.
    kernel: Option<SketchKernel>,
    dim: usize,
    /// The metric's `errors().distance_rel` plus `f64` headroom, and its `distance_abs`.
    dc: f64,
    abs: f64,
    /// The index in `buckets` of the bucket rooted at each position, `NONE` if none.
    of_root: Vec<u32>,
    buckets: Vec<Bucket>,
}

impl std::fmt::Debug for Sketches {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Sketches")
            .field("kernel", &self.kernel)
            .field("buckets", &self.buckets.len())
            .finish()
    }
}

/// `1 + (n + 8)·ε`: raises the square root of a sum of `n` squares computed in `f64`
/// past its rounding (`(n + 1)·ε` for the sum, `ε` for the root) with room to spare.
fn up(n: usize) -> f64 {
    1.0 + (n as f64 + 8.0) * f64::EPSILON
}

/// The sketch kernel of level `isa`, `None` below a fused multiply-add (the kernel's
/// `f32` lanes would call a library `fmaf` per coordinate: slower than the `f64` scan)
/// or where the level is not available.
pub(crate) fn kernel_for(isa: Isa) -> Option<SketchKernel> {
    let fast = isa >= Isa::Avx2Fma || cfg!(target_arch = "aarch64");
    fast.then(|| SketchKernel::new(isa).ok()).flatten()
}

/// How tree searches scan large buckets at kernel level `isa`, in words (what
/// `pcct info` prints): bf16 sketches through `vdpbf16ps` or f32 lanes, or f64 scans.
pub fn bucket_scan(isa: Isa) -> String {
    match kernel_for(isa) {
        Some(k) if k.uses_bf16_dot() => "bf16 (vdpbf16ps, AVX-512 BF16)".into(),
        Some(k) => format!("bf16 ({} f32 lanes)", k.isa()),
        None => format!("off at {isa} (f64 scans; needs avx2)"),
    }
}

/// Rounds the scaled offsets `xs = (x − c)·s` of one point to bf16 (written to `bf`) and
/// bounds the sketch's errors: `(‖x̃‖, ‖x' − x̃‖, ‖x̃‖²)`, the first two raised past
/// their rounding, the second widened by `2ε·‖x'‖` for the rounding of `x − c` (half
/// an ulp of `x − c` per coordinate, `x'` exact), the last as summed.
fn round_point(xs: impl Iterator<Item = f64>, bf: &mut [u16]) -> (f64, f64, f64) {
    let (mut sq, mut diff, mut nx) = (0.0, 0.0, 0.0);
    let mut n = 0;
    for (x, h) in xs.zip(bf.iter_mut()) {
        *h = to_bf16(x as f32);
        let t = from_bf16(*h) as f64;
        sq += t * t;
        diff += (x - t) * (x - t);
        nx += x * x;
        n += 1;
    }
    let u = up(n);
    (
        sq.sqrt() * u,
        (diff.sqrt() + 2.0 * f64::EPSILON * nx.sqrt()) * u,
        sq,
    )
}

/// `2^-⌈log₂ r⌉` (1 for `r = 0`), `None` where it or its inverse would leave the normal
/// range (then the bucket is scanned in `f64`).
fn scale_for(r: f64) -> Option<f64> {
    if r == 0.0 {
        return Some(1.0);
    }
    let e = r.log2().ceil();
    (e.abs() <= 900.0).then(|| 2f64.powi(-(e as i32)))
}

impl Bucket {
    /// The sketch of `rows` (their coordinates through `m`) around point `root`, whose
    /// cover radius is `r`. The scale only keeps the `f32` sums in range (bf16 and `f32`
    /// round relative to each value, and the bounds follow the values themselves), so
    /// any bound of the rows' distances serves.
    fn new<M: Metric>(m: &M, root: u32, r: f64, rows: std::ops::Range<u32>, dim: usize) -> Option<Bucket> {
        let scale = scale_for(r).filter(|_| r.is_finite())?;
        let pairs = dim.div_ceil(2);
        let n = rows.len();
        let mut centre = vec![0.0; dim];
        m.coordinates(root, &mut centre);
        let mut row = vec![0.0; dim];
        let groups = n.div_ceil(GROUP);
        let mut words = vec![0u32; groups * pairs * GROUP];
        let mut norms = vec![f32::INFINITY; groups * GROUP];
        let (mut x_max, mut err) = (0.0f64, 0.0f64);
        let mut bf = vec![0u16; 2 * pairs];
        for (i, p) in rows.enumerate() {
            m.coordinates(p, &mut row);
            let xs = row.iter().zip(&centre).map(|(&x, &c)| (x - c) * scale);
            let (xn, e, sq) = round_point(xs, &mut bf);
            let (g, lane) = (i / GROUP, i % GROUP);
            for (j, pair) in bf.chunks_exact(2).enumerate() {
                words[(g * pairs + j) * GROUP + lane] = pack_pair(pair[0], pair[1]);
            }
            norms[i] = sq as f32;
            x_max = x_max.max(xn);
            err = err.max(e);
        }
        // Scaled by a bound of the rows' distances, norms are about 1; far more would
        // mean a radius that does not hold them, and `f32` norms could overflow.
        if x_max.is_nan() || x_max > 16.0 {
            return None;
        }
        Some(Bucket {
            rows: n,
            words,
            norms,
            centre,
            scale,
            inv: 1.0 / scale,
            x_max,
            err,
        })
    }
}

/// Scratch of [`Sketches::measure`]: the query's coordinates and pair words.
#[derive(Default)]
pub(crate) struct SketchScratch {
    coords: Vec<f64>,
    /// The query's bf16 coordinates, padded to whole pairs.
    bf: Vec<u16>,
    pairs: Vec<u32>,
}

/// Turns a bucket's raw values `D` into bounds of canonical distances (module docs).
#[derive(Clone, Copy, Debug)]
pub(crate) struct SketchForm {
    /// `E`, widened for the rounding of the `f32` norms.
    e_sq: f64,
    /// `‖q' − q̃‖ + ‖x' − x̃‖`, in scaled units.
    e_add: f64,
    /// The bucket's scale `s` and `1/s`.
    scale: f64,
    inv: f64,
    /// `1 − δ`, `1 + δ`: canonical against true, plus `f64` headroom.
    down: f64,
    up: f64,
    /// The metric's absolute error of canonical distances.
    abs: f64,
}

impl SketchForm {
    /// Bounds of the canonical distance of a row whose raw value is `d`.
    #[inline]
    pub(crate) fn interval(&self, d: f64) -> (f64, f64) {
        if d.is_nan() || d < -self.e_sq {
            // Not a value the kernel can give (NaN among them): no bound at all.
            return (0.0, f64::INFINITY);
        }
        let lo_s = (d - self.e_sq).max(0.0).sqrt() * (1.0 - H) - self.e_add;
        let hi_s = (d + self.e_sq).max(0.0).sqrt() * (1.0 + H) + self.e_add;
        let lo = (lo_s.max(0.0) * self.inv * self.down - self.abs).max(0.0);
        (lo, hi_s * self.inv * self.up + self.abs)
    }

    /// A raw limit: every row whose lower bound ([`SketchForm::interval`]) is `≤ t`
    /// has a raw value `≤` it.
    #[inline]
    pub(crate) fn limit(&self, t: f64) -> f64 {
        let r = ((t + self.abs) * self.scale / self.down + self.e_add) / (1.0 - H);
        r * r * (1.0 + 4.0 * H) + self.e_sq
    }
}

impl Sketches {
    /// Sketches of `tree`'s buckets of at least [`MIN_ROWS`] rows, built on the current rayon
    /// pool; none where the metric has no sketch level
    /// ([`Capabilities::sketch_isa`](crate::metric::Capabilities::sketch_isa)) or no
    /// coordinates, or [`kernel_for`] has no kernel for its level.
    pub(crate) fn new<M: Metric>(tree: &Tree<M>) -> Sketches {
        let m = &tree.metric;
        let dim = m.capabilities().coordinate_dim;
        let kernel = m
            .capabilities()
            .sketch_isa
            .filter(|_| dim > 0)
            .and_then(kernel_for);
        let mut sketches = Sketches {
            kernel,
            dim,
            dc: m.errors().distance_rel + 4.0 * f64::EPSILON,
            abs: m.errors().distance_abs,
            of_root: Vec::new(),
            buckets: Vec::new(),
        };
        if kernel.is_some() {
            let roots: Vec<u32> = (0..tree.num_nodes() as u32)
                .filter(|&p| {
                    let end = tree.bucket_end[p as usize];
                    end != NONE && (end - tree.child_first[p as usize]) as usize >= MIN_ROWS
                })
                .collect();
            let built: Vec<Option<Bucket>> = roots
                .par_iter()
                .map(|&p| {
                    Bucket::new(
                        m,
                        p,
                        tree.radius[p as usize],
                        tree.child_first[p as usize]..tree.bucket_end[p as usize],
                        dim,
                    )
                })
                .collect();
            sketches.of_root = vec![NONE; tree.num_nodes()];
            for (&p, b) in roots.iter().zip(built) {
                if let Some(b) = b {
                    sketches.of_root[p as usize] = sketches.buckets.len() as u32;
                    sketches.buckets.push(b);
                }
            }
        }
        sketches
    }

    /// Raw values of query `q` (of `qm`) against the bucket rooted at `pos` into `out`
    /// (one per row), and how to read them; `None` (nothing written) where the bucket
    /// has no sketch or the query is too far from it for `f32` (the caller scans in
    /// `f64`).
    pub(crate) fn measure<M: Metric>(
        &self,
        qm: &M,
        q: u32,
        pos: u32,
        sc: &mut SketchScratch,
        out: &mut [f64],
    ) -> Option<SketchForm> {
        let kernel = self.kernel.as_ref()?;
        let b = self.buckets.get(*self.of_root.get(pos as usize)? as usize)?;
        let dim = self.dim;
        let pairs = dim.div_ceil(2);
        sc.coords.resize(dim, 0.0);
        qm.coordinates(q, &mut sc.coords);
        sc.bf.clear();
        sc.bf.resize(2 * pairs, 0); // an odd dimension's last one stays 0
        let xs = sc.coords.iter().zip(&b.centre).map(|(&x, &c)| (x - c) * b.scale);
        let (qn, e_q, qq) = round_point(xs, &mut sc.bf);
        sc.pairs.clear();
        sc.pairs
            .extend(sc.bf.chunks_exact(2).map(|p| pack_pair(p[0], p[1])));
        let qq32 = qq as f32;
        if !(qq32.is_finite() && e_q.is_finite()) {
            return None;
        }
        debug_assert_eq!(out.len(), b.rows, "one raw value per row of the bucket");
        kernel.sq_dist(&sc.pairs, &b.words, &b.norms, qq32, out);
        let dc = self.dc;
        Some(SketchForm {
            // The norms were rounded to f32 from f64 sums, not from exact values: a
            // relative (dim + 2)·ε more, far inside this 2⁻²⁰.
            e_sq: error_bound(pairs, qn, b.x_max) * (1.0 + 1.0 / (1u64 << 20) as f64),
            e_add: (e_q + b.err) * (1.0 + 4.0 * f64::EPSILON),
            scale: b.scale,
            inv: b.inv,
            down: 1.0 - dc,
            up: 1.0 + dc,
            abs: self.abs,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{datagen, Dataset, Euclidean, Pool};
    use pcct_kernels::isa::ALL_ISAS;
    use pcct_kernels::{Element, Kernels};

    /// Every sketched bucket against every query, the metric's kernels on `isa` (the
    /// active level where `None`): the interval of each row holds its canonical
    /// distance, and the raw limit of that distance keeps the row; returns the mean
    /// width of the intervals relative to the distances (`None`: no bucket has a
    /// sketch, as in trees of a few distinct points).
    fn check_on<T: Element>(
        isa: Option<Isa>,
        rows: &[f64],
        n: usize,
        dim: usize,
        queries: &[f64],
    ) -> Option<f64> {
        let narrow = |v: &[f64]| v.iter().map(|&x| T::from_f64(x)).collect::<Vec<T>>();
        let data = Dataset::from_rows(&narrow(rows), n, dim).unwrap();
        let m = match isa {
            Some(isa) => Euclidean::with_kernels(data, Kernels::new(isa).unwrap()).unwrap(),
            None => Euclidean::new(data).unwrap(),
        };
        let nq = queries.len() / dim;
        let qm = Euclidean::new(Dataset::from_rows(&narrow(queries), nq, dim).unwrap()).unwrap();
        let pool = Pool::new(1).unwrap();
        let tree = Tree::build(m, &pool).unwrap();
        let sk = tree.sketches(&pool);
        if sk.buckets.is_empty() {
            return None;
        }
        let (mut width, mut count) = (0.0, 0usize);
        let mut sc = SketchScratch::default();
        for p in 0..tree.num_nodes() as u32 {
            if sk.of_root[p as usize] == NONE {
                continue;
            }
            let first = tree.child_first[p as usize];
            let len = (tree.bucket_end[p as usize] - first) as usize;
            let mut out = vec![f64::NAN; len];
            for q in 0..nq as u32 {
                let form = sk
                    .measure(&qm, q, p, &mut sc, &mut out)
                    .expect("a query near the data");
                for bad in [f64::NAN, -1.0 - 2.0 * form.e_sq] {
                    assert_eq!(form.interval(bad), (0.0, f64::INFINITY), "raw {bad}");
                }
                for (i, &raw) in out.iter().enumerate() {
                    let canon = tree.metric.distance(&qm, q, first + i as u32);
                    let (lo, hi) = form.interval(raw);
                    assert!(
                        lo <= canon && canon <= hi,
                        "row {i}: {canon} outside [{lo}, {hi}]"
                    );
                    assert!(
                        raw <= form.limit(canon),
                        "row {i}: raw {raw} above the limit of {canon}"
                    );
                    if canon > 0.0 {
                        width += (hi - lo) / canon;
                        count += 1;
                    }
                }
            }
        }
        Some(width / count as f64)
    }

    /// [`check_on`] at the active level.
    fn check<T: Element>(rows: &[f64], n: usize, dim: usize, queries: &[f64]) -> Option<f64> {
        check_on::<T>(None, rows, n, dim, queries)
    }

    /// Each available level: sketches where it has a fused multiply-add (on its own
    /// kernel body), none below; intervals hold on each.
    #[test]
    fn each_kernel_level_sketches_where_it_pays() {
        let (n, dim) = (3000, 9);
        let rows = datagen::clusters(n, dim, 8, 0.02, 6);
        let queries = datagen::clusters(20, dim, 8, 0.02, 7);
        for isa in ALL_ISAS.into_iter().filter(|i| i.is_available()) {
            let fast = isa >= Isa::Avx2Fma || cfg!(target_arch = "aarch64");
            let data = Dataset::from_rows(&rows, n, dim).unwrap();
            let m = Euclidean::with_kernels(data, Kernels::new(isa).unwrap()).unwrap();
            let pool = Pool::new(1).unwrap();
            let tree = Tree::build(m, &pool).unwrap();
            let sk = tree.sketches(&pool);
            assert_eq!(sk.kernel.map(|k| k.isa()), fast.then_some(isa), "{isa:?}");
            assert_eq!(sk.buckets.is_empty(), !fast, "{isa:?}");
            let w = check_on::<f64>(Some(isa), &rows, n, dim, &queries);
            assert_eq!(w.is_some(), fast, "{isa:?}");
        }
    }

    #[test]
    fn intervals_hold_the_canonical_distance() {
        let (n, nq) = (3000, 12);
        for dim in [1, 3, 8, 17, 32] {
            let cases: [(&str, Vec<f64>); 5] = [
                ("uniform", datagen::uniform(n + nq, dim, 1)),
                ("clusters", datagen::clusters(n + nq, dim, 8, 0.02, 2)),
                ("duplicates", datagen::with_duplicates(n + nq, dim, 0.5, 3)),
                ("grid", datagen::grid(n + nq, dim, 4, 4)),
                ("line", datagen::line(n + nq, dim, 5)),
            ];
            for (name, all) in cases {
                for scale in [1e-9, 1.0, 1e9] {
                    let all = datagen::scaled(all.clone(), scale);
                    let (rows, tail) = all.split_at(n * dim);
                    // Queries: separate draws, two data points, one far away.
                    let mut qs = tail.to_vec();
                    qs.extend_from_slice(&rows[..dim]);
                    qs.extend_from_slice(&rows[7 * dim..8 * dim]);
                    qs.extend(rows[..dim].iter().map(|&x| x + 1e3 * scale));
                    let w64 = check::<f64>(rows, n, dim, &qs);
                    let w32 = check::<f32>(rows, n, dim, &qs);
                    if name != "grid" && name != "duplicates" {
                        assert!(w64.is_some() && w32.is_some(), "{name} d={dim}: no sketch");
                    }
                    if name == "clusters" {
                        // Useful, not only valid: a few parts in a thousand.
                        let (w64, w32) = (w64.unwrap(), w32.unwrap());
                        assert!(w64 < 0.02 && w32 < 0.02, "{name} d={dim}: widths {w64}, {w32}");
                    }
                }
            }
        }
    }

    #[test]
    fn far_queries_and_tiny_buckets_fall_back() {
        assert_eq!(scale_for(0.0), Some(1.0));
        assert_eq!(scale_for(3.0), Some(0.25));
        assert_eq!(scale_for(1e-300), None);
        assert_eq!(scale_for(1e300), None);
        let dim = 4;
        let rows = datagen::uniform(2000, dim, 9);
        let m = Euclidean::new(Dataset::from_rows(&rows, 2000, dim).unwrap()).unwrap();
        let far = Euclidean::new(Dataset::from_rows(&[1e100, 0.0, 0.0, 0.0], 1, dim).unwrap()).unwrap();
        let pool = Pool::new(1).unwrap();
        let tree = Tree::build(m, &pool).unwrap();
        let sk = tree.sketches(&pool);
        let p = (0..tree.num_nodes() as u32)
            .find(|&p| sk.of_root[p as usize] != NONE)
            .unwrap();
        let len = (tree.bucket_end[p as usize] - tree.child_first[p as usize]) as usize;
        let mut out = vec![0.0; len];
        assert!(sk
            .measure(&far, 0, p, &mut SketchScratch::default(), &mut out)
            .is_none());
        // Not a bucket root (the root of a 2,000-point tree is not a bucket): no sketch.
        assert!(sk
            .measure(&far, 0, 0, &mut SketchScratch::default(), &mut out)
            .is_none());
        // A radius that does not hold the rows gives no sketch either.
        let (r, rows) = (
            tree.radius[p as usize],
            tree.child_first[p as usize]..tree.bucket_end[p as usize],
        );
        assert!(Bucket::new(&tree.metric, p, r, rows.clone(), dim).is_some());
        assert!(Bucket::new(&tree.metric, p, r * 1e-3, rows, dim).is_none());
    }
}
