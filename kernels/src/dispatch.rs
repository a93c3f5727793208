//! Kernel sets: one table of function pointers per (ISA, element type), chosen once.
//!
//! A caller picks a [`Kernels`] at its boundary (per build, per query batch) and
//! calls through it; nothing below re-dispatches per row.

use crate::isa::{self, Isa, IsaChoice, IsaError, Portable};
use crate::simd::{self, Dot, Lanes, SqL2, SqNorm};
use crate::{reference, Element};

type PairFn<T> = fn(&[T], &[T]) -> T;
type BlockFn<T> = fn(&[T], &[T], usize, &mut [T]);
type NormFn<T> = fn(&[T], usize, usize, &mut [T]);
type MultiFn<T> = fn(&[&[T]], &[T], usize, &mut [T]);

/// The kernels of one ISA level for element type `T`, chosen once at a call boundary.
///
/// All results are in `T`; the `Scalar` level accumulates in `f64` and rounds once.
/// Shapes are checked on every call (a cheap test per block, not per row); a
/// mismatch panics with a message naming it, see each method's `# Panics`.
#[derive(Clone, Copy)]
pub struct Kernels<T: 'static> {
    isa: Isa,
    sq_dist: PairFn<T>,
    dot: PairFn<T>,
    sq_dist_block: BlockFn<T>,
    dot_block: BlockFn<T>,
    sq_norm_block: NormFn<T>,
    sq_dist_multi: MultiFn<T>,
    dot_multi: MultiFn<T>,
}

impl<T: 'static> std::fmt::Debug for Kernels<T> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Kernels").field("isa", &self.isa).finish()
    }
}

impl<T: Element> Kernels<T> {
    /// The kernels of `isa`, or an error if the running CPU lacks it.
    pub fn new(isa: Isa) -> Result<Self, IsaError> {
        if !isa.is_available() {
            return Err(IsaError::Unavailable(isa));
        }
        Ok(T::kernel_set(isa))
    }

    /// The kernels of the active level: `PCCT_ISA` if set, else the best the CPU has.
    pub fn active() -> Result<Self, IsaError> {
        Self::new(isa::active()?.isa())
    }

    /// The kernels of the active level and how it was chosen.
    pub fn active_with_choice() -> Result<(Self, IsaChoice), IsaError> {
        let choice = isa::active()?;
        Ok((Self::new(choice.isa())?, choice))
    }

    /// The ISA level these kernels run on.
    pub fn isa(&self) -> Isa {
        self.isa
    }

    /// Squared Euclidean distance `Σ (a_j - b_j)²`.
    ///
    /// # Panics
    /// If `a.len() != b.len()`.
    #[inline]
    pub fn sq_dist(&self, a: &[T], b: &[T]) -> T {
        (self.sq_dist)(a, b)
    }

    /// Dot product `Σ a_j·b_j`.
    ///
    /// # Panics
    /// If `a.len() != b.len()`.
    #[inline]
    pub fn dot(&self, a: &[T], b: &[T]) -> T {
        (self.dot)(a, b)
    }

    /// Squared norm `Σ a_j²`.
    #[inline]
    pub fn sq_norm(&self, a: &[T]) -> T {
        (self.dot)(a, a)
    }

    /// `out[i] = ‖q − row_i‖²` for `out.len()` rows of `q.len()` elements, `stride` apart
    /// (row `i` starts at `rows[i * stride]`; padding between rows is never read).
    ///
    /// # Panics
    /// If `stride < q.len()` (with more than one row) or `rows` is too short.
    #[inline]
    pub fn sq_dist_block(&self, q: &[T], rows: &[T], stride: usize, out: &mut [T]) {
        (self.sq_dist_block)(q, rows, stride, out)
    }

    /// `out[i] = q · row_i`, rows laid out as in [`Kernels::sq_dist_block`].
    ///
    /// # Panics
    /// As [`Kernels::sq_dist_block`].
    #[inline]
    pub fn dot_block(&self, q: &[T], rows: &[T], stride: usize, out: &mut [T]) {
        (self.dot_block)(q, rows, stride, out)
    }

    /// `out[a * n + i] = ‖qs[a] − row_i‖²` for `n = out.len() / qs.len()` rows laid
    /// out as in [`Kernels::sq_dist_block`]: several queries against one block of
    /// rows, each row chunk loaded once for four queries where
    /// [`Kernels::sq_dist_block`] per query would load it once per query. Short rows
    /// (at most two vectors of the level) are cheap to load again and go through
    /// [`Kernels::sq_dist_block`] per query.
    ///
    /// # Panics
    /// If the queries differ in length, `out.len()` is not a multiple of `qs.len()`,
    /// or the rows are laid out as [`Kernels::sq_dist_block`] rejects.
    #[inline]
    pub fn sq_dist_multi(&self, qs: &[&[T]], rows: &[T], stride: usize, out: &mut [T]) {
        (self.sq_dist_multi)(qs, rows, stride, out)
    }

    /// `out[a * n + i] = qs[a] · row_i`, laid out as in [`Kernels::sq_dist_multi`].
    ///
    /// # Panics
    /// As [`Kernels::sq_dist_multi`].
    #[inline]
    pub fn dot_multi(&self, qs: &[&[T]], rows: &[T], stride: usize, out: &mut [T]) {
        (self.dot_multi)(qs, rows, stride, out)
    }

    /// `out[i] = ‖row_i‖²` for `out.len()` rows of `dim` elements, `stride` apart.
    ///
    /// # Panics
    /// If `stride < dim` (with more than one row) or `rows` is too short.
    #[inline]
    pub fn sq_norm_block(&self, rows: &[T], dim: usize, stride: usize, out: &mut [T]) {
        (self.sq_norm_block)(rows, dim, stride, out)
    }

    /// The tile `out[i * b.n() + j] = ‖a_i − b_j‖²` (row-major, `a.n() × b.n()`).
    ///
    /// # Panics
    /// If the blocks differ in dimension or `out.len() != a.n() * b.n()`.
    pub fn sq_dist_tile(&self, a: Rows<'_, T>, b: Rows<'_, T>, out: &mut [T]) {
        self.tile(self.sq_dist_multi, a, b, out)
    }

    /// The tile of dot products `out[i * b.n() + j] = a_i · b_j`, laid out as in
    /// [`Kernels::sq_dist_tile`].
    ///
    /// # Panics
    /// As [`Kernels::sq_dist_tile`].
    pub fn dot_tile(&self, a: Rows<'_, T>, b: Rows<'_, T>, out: &mut [T]) {
        self.tile(self.dot_multi, a, b, out)
    }

    fn tile(&self, f: MultiFn<T>, a: Rows<'_, T>, b: Rows<'_, T>, out: &mut [T]) {
        assert_eq!(a.dim, b.dim, "pcct-kernels: tile blocks differ in dimension");
        assert_eq!(
            out.len(),
            a.n * b.n,
            "pcct-kernels: tile output is not {} × {}",
            a.n,
            b.n
        );
        if b.n == 0 {
            return;
        }
        // Queries in groups of up to eight rows of `a` (the kernels take four at a time).
        const GROUP: usize = 8;
        let mut qs: [&[T]; GROUP] = [&[]; GROUP];
        for (g, tile_out) in out.chunks_mut(GROUP * b.n).enumerate() {
            let m = tile_out.len() / b.n;
            for (k, q) in qs[..m].iter_mut().enumerate() {
                *q = a.row(g * GROUP + k);
            }
            f(&qs[..m], b.data, b.stride, tile_out);
        }
    }
}

/// A checked view of `n` rows of `dim` elements, `stride` elements apart.
///
/// ```text
/// data: | row 0 (dim) | pad | row 1 (dim) | pad | ... | row n-1 (dim) |
///       <--- stride ------->
/// ```
#[derive(Clone, Copy, Debug)]
pub struct Rows<'a, T> {
    data: &'a [T],
    dim: usize,
    stride: usize,
    n: usize,
}

impl<'a, T> Rows<'a, T> {
    /// The view, or `None` if `data` is too short for `n` rows or `stride < dim` (n > 1).
    pub fn new(data: &'a [T], dim: usize, stride: usize, n: usize) -> Option<Self> {
        let need = match n {
            0 => 0,
            _ => (n - 1).checked_mul(stride)?.checked_add(dim)?,
        };
        (data.len() >= need && (n <= 1 || stride >= dim)).then_some(Rows { data, dim, stride, n })
    }

    /// Number of rows.
    pub fn n(&self) -> usize {
        self.n
    }

    /// Elements per row.
    pub fn dim(&self) -> usize {
        self.dim
    }

    /// Row `i` (panics if `i >= n`).
    pub fn row(&self, i: usize) -> &'a [T] {
        assert!(i < self.n, "pcct-kernels: row {i} of {}", self.n);
        &self.data[i * self.stride..i * self.stride + self.dim]
    }
}

/// Whether the rows of a several-query call are short for level `S`
/// ([`simd::SHORT_VECTORS`] vectors or fewer).
fn short<T: Copy, S: Lanes<T>>(qs: &[&[T]]) -> bool {
    qs.first().is_some_and(|q| q.len() <= simd::SHORT_VECTORS * S::W)
}

/// Builds the `Kernels<$t>` of one ISA token type. `$($feat)?` is the
/// `#[target_feature]` list; where it is given, the generic bodies are
/// instantiated inside functions compiled for those features.
macro_rules! kernel_set {
    ($name:ident, $t:ty, $tok:ty, $isa:expr, portable) => {
        fn $name() -> Kernels<$t> {
            fn sq_dist(a: &[$t], b: &[$t]) -> $t {
                simd::one::<$t, $tok, SqL2>(<$tok>::new(), a, b)
            }
            fn dot(a: &[$t], b: &[$t]) -> $t {
                simd::one::<$t, $tok, Dot>(<$tok>::new(), a, b)
            }
            fn sq_dist_block(q: &[$t], rows: &[$t], stride: usize, out: &mut [$t]) {
                simd::block::<$t, $tok, SqL2>(<$tok>::new(), q, rows, stride, out)
            }
            fn dot_block(q: &[$t], rows: &[$t], stride: usize, out: &mut [$t]) {
                simd::block::<$t, $tok, Dot>(<$tok>::new(), q, rows, stride, out)
            }
            fn sq_norm_block(rows: &[$t], dim: usize, stride: usize, out: &mut [$t]) {
                let q = &rows[..if out.is_empty() { 0 } else { dim }];
                simd::block::<$t, $tok, SqNorm>(<$tok>::new(), q, rows, stride, out)
            }
            fn sq_dist_multi(qs: &[&[$t]], rows: &[$t], stride: usize, out: &mut [$t]) {
                if short::<$t, $tok>(qs) {
                    return simd::per_query(qs, rows, stride, out, sq_dist_block);
                }
                simd::multi::<$t, $tok, SqL2>(<$tok>::new(), qs, rows, stride, out)
            }
            fn dot_multi(qs: &[&[$t]], rows: &[$t], stride: usize, out: &mut [$t]) {
                if short::<$t, $tok>(qs) {
                    return simd::per_query(qs, rows, stride, out, dot_block);
                }
                simd::multi::<$t, $tok, Dot>(<$tok>::new(), qs, rows, stride, out)
            }
            Kernels {
                isa: $isa,
                sq_dist,
                dot,
                sq_dist_block,
                dot_block,
                sq_norm_block,
                sq_dist_multi,
                dot_multi,
            }
        }
    };
    ($name:ident, $t:ty, $tok:ty, $isa:expr, features = $feat:literal, narrow = $ntok:ty) => {
        fn $name(_proof: $tok) -> Kernels<$t> {
            mod tf {
                use super::*;
                #[target_feature(enable = $feat)]
                pub(super) fn sq_dist(t: $tok, a: &[$t], b: &[$t]) -> $t {
                    simd::one::<$t, $tok, SqL2>(t, a, b)
                }
                #[target_feature(enable = $feat)]
                pub(super) fn dot(t: $tok, a: &[$t], b: &[$t]) -> $t {
                    simd::one::<$t, $tok, Dot>(t, a, b)
                }
                #[target_feature(enable = $feat)]
                pub(super) fn sq_dist_block(t: $tok, q: &[$t], rows: &[$t], stride: usize, out: &mut [$t]) {
                    simd::block_narrowing::<$t, $tok, $ntok, SqL2>(t, q, rows, stride, out)
                }
                #[target_feature(enable = $feat)]
                pub(super) fn dot_block(t: $tok, q: &[$t], rows: &[$t], stride: usize, out: &mut [$t]) {
                    simd::block_narrowing::<$t, $tok, $ntok, Dot>(t, q, rows, stride, out)
                }
                #[target_feature(enable = $feat)]
                pub(super) fn sq_norm_block(t: $tok, rows: &[$t], dim: usize, stride: usize, out: &mut [$t]) {
                    let q = &rows[..if out.is_empty() { 0 } else { dim }];
                    simd::block_narrowing::<$t, $tok, $ntok, SqNorm>(t, q, rows, stride, out)
                }
                #[target_feature(enable = $feat)]
                pub(super) fn sq_dist_multi(
                    t: $tok,
                    qs: &[&[$t]],
                    rows: &[$t],
                    stride: usize,
                    out: &mut [$t],
                ) {
                    simd::multi::<$t, $tok, SqL2>(t, qs, rows, stride, out)
                }
                #[target_feature(enable = $feat)]
                pub(super) fn dot_multi(t: $tok, qs: &[&[$t]], rows: &[$t], stride: usize, out: &mut [$t]) {
                    simd::multi::<$t, $tok, Dot>(t, qs, rows, stride, out)
                }
            }
            // The wrappers below are reachable only through the table this function
            // returns, and this function needs a token: the CPU has the features.
            fn sq_dist(a: &[$t], b: &[$t]) -> $t {
                // SAFETY: see above — a token was presented to build this table.
                unsafe { tf::sq_dist(<$tok>::new_unchecked(), a, b) }
            }
            fn dot(a: &[$t], b: &[$t]) -> $t {
                // SAFETY: see above — a token was presented to build this table.
                unsafe { tf::dot(<$tok>::new_unchecked(), a, b) }
            }
            fn sq_dist_block(q: &[$t], rows: &[$t], stride: usize, out: &mut [$t]) {
                // SAFETY: see above — a token was presented to build this table.
                unsafe { tf::sq_dist_block(<$tok>::new_unchecked(), q, rows, stride, out) }
            }
            fn dot_block(q: &[$t], rows: &[$t], stride: usize, out: &mut [$t]) {
                // SAFETY: see above — a token was presented to build this table.
                unsafe { tf::dot_block(<$tok>::new_unchecked(), q, rows, stride, out) }
            }
            fn sq_norm_block(rows: &[$t], dim: usize, stride: usize, out: &mut [$t]) {
                // SAFETY: see above — a token was presented to build this table.
                unsafe { tf::sq_norm_block(<$tok>::new_unchecked(), rows, dim, stride, out) }
            }
            fn sq_dist_multi(qs: &[&[$t]], rows: &[$t], stride: usize, out: &mut [$t]) {
                if short::<$t, $tok>(qs) {
                    return simd::per_query(qs, rows, stride, out, sq_dist_block);
                }
                // SAFETY: see above — a token was presented to build this table.
                unsafe { tf::sq_dist_multi(<$tok>::new_unchecked(), qs, rows, stride, out) }
            }
            fn dot_multi(qs: &[&[$t]], rows: &[$t], stride: usize, out: &mut [$t]) {
                if short::<$t, $tok>(qs) {
                    return simd::per_query(qs, rows, stride, out, dot_block);
                }
                // SAFETY: see above — a token was presented to build this table.
                unsafe { tf::dot_multi(<$tok>::new_unchecked(), qs, rows, stride, out) }
            }
            Kernels {
                isa: $isa,
                sq_dist,
                dot,
                sq_dist_block,
                dot_block,
                sq_norm_block,
                sq_dist_multi,
                dot_multi,
            }
        }
    };
}

fn scalar<T: Element>() -> Kernels<T> {
    Kernels {
        isa: Isa::Scalar,
        sq_dist: reference::sq_dist::<T>,
        dot: reference::dot::<T>,
        sq_dist_block: reference::sq_dist_block::<T>,
        dot_block: reference::dot_block::<T>,
        sq_norm_block: reference::sq_norm_block::<T>,
        sq_dist_multi: reference::sq_dist_multi::<T>,
        dot_multi: reference::dot_multi::<T>,
    }
}

kernel_set!(portable_f32, f32, Portable, Isa::Portable, portable);
kernel_set!(portable_f64, f64, Portable, Isa::Portable, portable);

#[cfg(target_arch = "x86_64")]
mod x86_sets {
    use super::*;
    use crate::isa::{Avx2Fma, Avx512};
    kernel_set!(
        avx2_f32,
        f32,
        Avx2Fma,
        Isa::Avx2Fma,
        features = "avx2,fma",
        narrow = Avx2Fma
    );
    kernel_set!(
        avx2_f64,
        f64,
        Avx2Fma,
        Isa::Avx2Fma,
        features = "avx2,fma",
        narrow = Avx2Fma
    );
    kernel_set!(
        avx512_f32,
        f32,
        Avx512,
        Isa::Avx512,
        features = "avx512f,avx2,fma",
        narrow = Avx2Fma
    );
    kernel_set!(
        avx512_f64,
        f64,
        Avx512,
        Isa::Avx512,
        features = "avx512f,avx2,fma",
        narrow = Avx2Fma
    );

    pub(super) fn f32_set(isa: Isa) -> Option<Kernels<f32>> {
        match isa {
            Isa::Avx2Fma => Avx2Fma::try_new().map(avx2_f32),
            Isa::Avx512 => Avx512::try_new().map(avx512_f32),
            _ => None,
        }
    }

    pub(super) fn f64_set(isa: Isa) -> Option<Kernels<f64>> {
        match isa {
            Isa::Avx2Fma => Avx2Fma::try_new().map(avx2_f64),
            Isa::Avx512 => Avx512::try_new().map(avx512_f64),
            _ => None,
        }
    }
}

#[cfg(not(target_arch = "x86_64"))]
mod x86_sets {
    use super::*;
    pub(super) fn f32_set(_isa: Isa) -> Option<Kernels<f32>> {
        None
    }
    pub(super) fn f64_set(_isa: Isa) -> Option<Kernels<f64>> {
        None
    }
}

/// The kernel set of `isa` for `f32`; `isa` must be available (checked by `Kernels::new`).
pub(crate) fn f32_kernels(isa: Isa) -> Kernels<f32> {
    match isa {
        Isa::Scalar => scalar(),
        Isa::Portable => portable_f32(),
        _ => x86_sets::f32_set(isa).expect("availability checked by Kernels::new"),
    }
}

/// The kernel set of `isa` for `f64`; `isa` must be available (checked by `Kernels::new`).
pub(crate) fn f64_kernels(isa: Isa) -> Kernels<f64> {
    match isa {
        Isa::Scalar => scalar(),
        Isa::Portable => portable_f64(),
        _ => x86_sets::f64_set(isa).expect("availability checked by Kernels::new"),
    }
}
