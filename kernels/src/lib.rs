//! # pcct-kernels
//!
//! Hand-vectorized squared-Euclidean, dot-product and squared-norm kernels for
//! `f32` and `f64`, with the ISA level chosen at run time.
//!
//! Three shapes per operation:
//! - one-to-one: [`Kernels::sq_dist`], [`Kernels::dot`], [`Kernels::sq_norm`];
//! - one query against a block of rows: [`Kernels::sq_dist_block`],
//!   [`Kernels::dot_block`], [`Kernels::sq_norm_block`] (eight, then four rows per step);
//! - a many-to-many tile: [`Kernels::sq_dist_tile`], [`Kernels::dot_tile`].
//!
//! [`residual::Phase1`] is phase 1 of the two-phase residual-correlation kernel: a
//! rigorous bound of the distance from an `f32` head dot product ([`Kernels::dot_block`]).
//!
//! ```
//! use pcct_kernels::Kernels;
//! let k = Kernels::<f32>::active().expect("PCCT_ISA names a level this CPU has");
//! let q = [0.0f32, 0.0, 0.0];
//! let rows = [1.0f32, 0.0, 0.0, /* pad */ 0.0, 0.0, 2.0, 0.0, /* pad */ 0.0];
//! let mut out = [0.0f32; 2];
//! k.sq_dist_block(&q, &rows, 4, &mut out);
//! assert_eq!(out, [1.0, 4.0]);
//! ```
//!
//! ## ISA levels and dispatch
//!
//! | level | `PCCT_ISA` | vectors | how |
//! |---|---|---|---|
//! | [`Isa::Scalar`] | `scalar` | none; accumulates in `f64` | the reference |
//! | [`Isa::Portable`] | `portable` | `wide` f32x8 / f64x4 (SSE2, NEON) | always available |
//! | [`Isa::Avx2Fma`] | `avx2` | 256-bit | `std::arch`, `#[target_feature]` |
//! | [`Isa::Avx512`] | `avx512` | 512-bit, masked tails | `std::arch`, `#[target_feature]` |
//!
//! The CPU is probed once ([`isa::available`]); `PCCT_ISA` forces a level, and
//! forcing one the CPU lacks is an error ([`IsaError::Unavailable`]), never a
//! silent fallback. A [`Kernels`] value is a table of function pointers for one
//! (level, element type): pick it once at a call boundary and reuse it.
//!
//! ## Safety
//!
//! `unsafe` appears in six places only:
//! - `x86.rs`: intrinsic calls. Each [`simd`](crate) method takes a token
//!   ([`isa::Avx2Fma`], [`isa::Avx512`]) that exists only if the CPU has the
//!   features; loads are from slices whose length is asserted, or masked so that
//!   no lane past the slice is read.
//! - `dispatch.rs`: calls into `#[target_feature]` functions from the kernel table,
//!   whose constructor demanded the token.
//! - `simd.rs`: the multi-row step loads through pointers after `check_block` proved
//!   the whole block in bounds.
//! - `portable.rs`: unaligned array reads behind the pointer loads of the same step.
//! - [`clear_upper_state`]: one `vzeroupper`, behind the AVX token.
//! - the `widest!` macro (in `lib.rs`): calls into the `#[target_feature]` copies of
//!   lane loops ([`math`], [`gram`], [`peak`], [`residual::tile_intervals`]), behind the tokens.
//!
//! ## Adding an ISA
//!
//! 1. A token type in `isa.rs` with `try_new` (cached detection) and `unsafe new_unchecked`.
//! 2. `impl Lanes<f32>` and `impl Lanes<f64>` for it (zero, load, masked tail load, sub,
//!    add, mul_add, reduce, optionally a faster `reduce4`).
//! 3. One `kernel_set!` line per element type in `dispatch.rs` with its feature list.
//! 4. The tests in `tests/against_reference.rs` pick it up through [`isa::available`].
//!
//! Adding an operation means one more [`Op`](crate) step (`SqL2`, `Dot`, `SqNorm` are ~3 lines each).

/// Defines `pub fn $name(args)` that runs `$lanes(args)` compiled for the widest vectors
/// the CPU has — AVX-512 (F, with AVX2 and FMA), AVX2 with FMA, or the baseline — chosen
/// once, at the first call. For loops of plain lane arithmetic that the compiler
/// vectorizes by itself: one body, three instruction sets.
macro_rules! widest {
    ($(#[$doc:meta])* pub fn $name:ident($($arg:ident: $ty:ty),* $(,)?) => $lanes:ident) => {
        $(#[$doc])*
        pub fn $name($($arg: $ty),*) {
            type Path = fn($($ty),*);
            static PATH: std::sync::OnceLock<Path> = std::sync::OnceLock::new();
            (PATH.get_or_init(|| {
                #[cfg(target_arch = "x86_64")]
                {
                    #[target_feature(enable = "avx512f,avx2,fma")]
                    unsafe fn avx512($($arg: $ty),*) {
                        $lanes($($arg),*)
                    }
                    #[target_feature(enable = "avx2,fma")]
                    unsafe fn avx2($($arg: $ty),*) {
                        $lanes($($arg),*)
                    }
                    if $crate::isa::Avx512::try_new().is_some() {
                        // SAFETY: the token proved the CPU has AVX-512F, AVX2 and FMA.
                        return |$($arg),*| unsafe { avx512($($arg),*) };
                    }
                    if $crate::isa::Avx2Fma::try_new().is_some() {
                        // SAFETY: the token proved the CPU has AVX2 and FMA.
                        return |$($arg),*| unsafe { avx2($($arg),*) };
                    }
                }
                $lanes
            }))($($arg),*)
        }
    };
}

pub mod canonical;
mod dispatch;
pub mod gram;
pub mod isa;
pub mod math;
pub mod peak;
mod portable;
pub mod product;
pub mod reference;
pub mod residual;
mod simd;
pub mod sketch;
#[cfg(target_arch = "x86_64")]
mod x86;

pub use dispatch::{Kernels, Rows};
pub use isa::{Isa, IsaChoice, IsaError};

mod sealed {
    pub trait Sealed {}
    impl Sealed for f32 {}
    impl Sealed for f64 {}
}

/// An element type the kernels support: `f32` or `f64`.
pub trait Element: Copy + Send + Sync + PartialOrd + std::fmt::Debug + 'static + sealed::Sealed {
    /// Machine epsilon of the type (`2^-23` for `f32`, `2^-52` for `f64`).
    const EPSILON: f64;
    /// Bytes per element.
    const BYTES: usize;
    /// Widening conversion, exact.
    fn to_f64(self) -> f64;
    /// Narrowing conversion, round to nearest.
    fn from_f64(x: f64) -> Self;
    #[doc(hidden)]
    fn kernel_set(isa: Isa) -> Kernels<Self>;
    /// `s` viewed as a slice of `Self` when `Self` is `f64` (lets f64 callers receive
    /// kernel results in place), `None` otherwise.
    fn f64_slice_as_self(s: &mut [f64]) -> Option<&mut [Self]>;
}

impl Element for f32 {
    const EPSILON: f64 = f32::EPSILON as f64;
    const BYTES: usize = 4;
    #[inline(always)]
    fn to_f64(self) -> f64 {
        self as f64
    }
    #[inline(always)]
    fn from_f64(x: f64) -> Self {
        x as f32
    }
    fn kernel_set(isa: Isa) -> Kernels<Self> {
        dispatch::f32_kernels(isa)
    }
    fn f64_slice_as_self(_s: &mut [f64]) -> Option<&mut [Self]> {
        None
    }
}

impl Element for f64 {
    const EPSILON: f64 = f64::EPSILON;
    const BYTES: usize = 8;
    #[inline(always)]
    fn to_f64(self) -> f64 {
        self
    }
    #[inline(always)]
    fn from_f64(x: f64) -> Self {
        x
    }
    fn kernel_set(isa: Isa) -> Kernels<Self> {
        dispatch::f64_kernels(isa)
    }
    fn f64_slice_as_self(s: &mut [f64]) -> Option<&mut [Self]> {
        Some(s)
    }
}

/// Asks the CPU to bring the cache lines of `s` towards the core (a hint: no effect on
/// results, nothing on targets without a prefetch instruction). For rows a search will
/// read soon but not now, e.g. the canonical rows of candidates found through a sketch.
#[inline]
pub fn prefetch<T>(s: &[T]) {
    #[cfg(target_arch = "x86_64")]
    {
        use std::arch::x86_64::{_mm_prefetch, _MM_HINT_T0};
        let bytes = std::mem::size_of_val(s);
        let p = s.as_ptr().cast::<i8>();
        let mut at = 0;
        while at < bytes {
            // SAFETY: SSE is part of x86-64's baseline; `p + at` lies inside `s` (and a
            // prefetch never faults or reads into the program anyway).
            unsafe { _mm_prefetch::<_MM_HINT_T0>(p.add(at)) };
            at += 64;
        }
    }
    #[cfg(not(target_arch = "x86_64"))]
    let _ = s;
}

/// Clears the upper halves of the vector registers (`vzeroupper`) where the CPU has AVX.
/// Call it after code that can return with wide registers dirty — faer's AVX-512 matrix
/// products do — and before scalar or SSE code such as libm's `exp`: with dirty upper
/// state those run about 30× slower on recent Intel cores (BENCHMARKS.md, section Dense
/// engine). No effect on results; nothing on other targets.
#[inline]
pub fn clear_upper_state() {
    #[cfg(target_arch = "x86_64")]
    if isa::Avx2Fma::try_new().is_some() {
        // SAFETY: `vzeroupper` needs AVX, which the token proves the CPU has; it touches no
        // memory, and `clobber_abi("C")` tells the compiler that every vector register
        // (all caller-saved) may change, so no live value is kept in one across it.
        unsafe {
            std::arch::asm!(
                "vzeroupper",
                clobber_abi("C"),
                options(nomem, nostack, preserves_flags)
            )
        };
    }
}
