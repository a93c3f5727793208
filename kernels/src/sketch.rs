//! The Euclidean *sketch* kernel: squared distances from one query to a block of rows
//! kept in bf16, sixteen rows at a time, with a rigorous error bound.
//!
//! A row of `d` coordinates is stored as `⌈d/2⌉` *pairs*, two bf16 values in one `u32`
//! (the even coordinate in the low half); a *group* of [`GROUP`] rows stores pair `j` of
//! its rows side by side, so that one 512-bit load holds pair `j` of sixteen rows:
//!
//! ```text
//! rows[(g·pairs + j)·16 + r] = pair j of row 16g + r
//! ```
//!
//! The kernel returns `qq + xx[i] − 2·Σ_j q_j·x_ij` in `f32` arithmetic, where `qq = ‖q‖²`
//! and `xx[i] = ‖x_i‖²` are given (rounded to `f32`): `‖q − x_i‖²` of the bf16 values. A
//! row is 2 bytes per coordinate instead of 8 (`f64`), and on CPUs with AVX-512 BF16 one
//! `vdpbf16ps` does two coordinates of sixteen rows, so a row costs a fraction of what
//! the `f64` block kernel spends on it (see pcct's BENCHMARKS.md, section Kernels).
//!
//! **Error.** Products of two bf16 values are exact in `f32`; the sum of `m = 2·pairs`
//! of them in any order, the rounding of `qq` and `xx`, and the two operations that
//! combine them give (`u = 2⁻²⁴`, `γ_n = n·u/(1 − n·u)`):
//!
//! ```text
//! |out_i − ‖q − x_i‖²| ≤ γ_{m+4}·(‖q‖ + ‖x_i‖)² + 2(m + 4)·2⁻¹²⁶·(1 + ‖q‖ + ‖x_i‖)
//! ```
//!
//! ([`error_bound`]); the second term covers the AVX-512 BF16 instruction's flushing of
//! denormal inputs and results to zero. Callers keep values far from that range (pcct
//! scales each bucket by a power of two) and turn the bound into bounds of the true
//! distance.

use crate::isa::{self, Isa, IsaError};
use crate::residual::from_bf16;

/// Rows per group: the lanes of one 512-bit `f32` vector.
pub const GROUP: usize = 16;

/// `f32` unit roundoff.
const U32: f64 = f32::EPSILON as f64 / 2.0;

/// Two bf16 values in one `u32`, `even` in the low half.
#[inline]
pub fn pack_pair(even: u16, odd: u16) -> u32 {
    even as u32 | (odd as u32) << 16
}

/// The bound `E` of the module documentation: `|out_i − ‖q − x_i‖²| ≤ E` for a query of
/// norm at most `qn` and a row of norm at most `xn` (bf16 values), `pairs` pairs each.
/// Infinite where `(m + 4)·u ≥ 1/2` (no bound is claimed).
pub fn error_bound(pairs: usize, qn: f64, xn: f64) -> f64 {
    let m = 2.0 * pairs as f64 + 4.0;
    let mu = m * U32;
    if mu >= 0.5 {
        return f64::INFINITY;
    }
    let gamma = mu / (1.0 - mu);
    let tiny = 2f64.powi(-126);
    let s = qn + xn;
    // The f64 arithmetic here rounds a few times; 2⁻³⁰ of headroom covers it.
    (gamma * s * s + 2.0 * m * (1.0 + s) * tiny) * (1.0 + 2f64.powi(-30))
}

/// `‖q − x_i‖²` of the bf16 values in `f64` (exact but for one rounding of the sum):
/// what the kernels approximate, for tests. Same arguments as [`SketchKernel::sq_dist`].
pub fn sq_dist_exact(q: &[u32], rows: &[u32], out: &mut [f64]) {
    let pairs = q.len();
    check(pairs, rows.len(), out.len(), out.len());
    let wide = |w: u32| (from_bf16(w as u16) as f64, from_bf16((w >> 16) as u16) as f64);
    for (i, o) in out.iter_mut().enumerate() {
        let (g, r) = (i / GROUP, i % GROUP);
        *o = (0..pairs)
            .map(|j| {
                let ((q0, q1), (x0, x1)) = (wide(q[j]), wide(rows[(g * pairs + j) * GROUP + r]));
                (q0 - x0) * (q0 - x0) + (q1 - x1) * (q1 - x1)
            })
            .sum();
    }
}

/// The pair words of the groups covering `out` rows; panics unless `rows` holds them
/// and `xx` holds `out` norms.
#[inline(always)]
fn check(pairs: usize, rows: usize, xx: usize, out: usize) -> usize {
    let need = pairs * out.div_ceil(GROUP) * GROUP;
    assert!(
        rows >= need && xx >= out,
        "pcct-kernels: a sketch block of {out} rows needs {need} pair words and {out} norms, got {rows} and {xx}"
    );
    need
}

/// Sixteen lanes per group in plain Rust (vectorized by the compiler where the
/// function is compiled for a SIMD level): `acc = fma(q_even, x_even, acc)`, then the
/// odd coordinate, pair by pair.
#[inline(always)]
fn lanes(q: &[u32], rows: &[u32], xx: &[f32], qq: f32, out: &mut [f64]) {
    let pairs = q.len();
    for (g, (o, x)) in out.chunks_mut(GROUP).zip(xx.chunks(GROUP)).enumerate() {
        let mut acc = [0f32; GROUP];
        let block = &rows[g * pairs * GROUP..(g + 1) * pairs * GROUP];
        for (&qw, words) in q.iter().zip(block.chunks_exact(GROUP)) {
            let (q0, q1) = (from_bf16(qw as u16), from_bf16((qw >> 16) as u16));
            for (a, &w) in acc.iter_mut().zip(words) {
                *a = q0.mul_add(from_bf16(w as u16), *a);
                *a = q1.mul_add(from_bf16((w >> 16) as u16), *a);
            }
        }
        for ((o, &a), &x) in o.iter_mut().zip(&acc).zip(x) {
            *o = (-2.0f32).mul_add(a, x + qq) as f64;
        }
    }
}

fn lanes_plain(q: &[u32], rows: &[u32], xx: &[f32], qq: f32, out: &mut [f64]) {
    lanes(q, rows, xx, qq, out)
}

#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2,fma")]
fn lanes_avx2_body(q: &[u32], rows: &[u32], xx: &[f32], qq: f32, out: &mut [f64]) {
    lanes(q, rows, xx, qq, out)
}

#[cfg(target_arch = "x86_64")]
fn lanes_avx2(q: &[u32], rows: &[u32], xx: &[f32], qq: f32, out: &mut [f64]) {
    // SAFETY: only put into a `SketchKernel` by `SketchKernel::new(Isa::Avx2Fma)`, which
    // first checks that the CPU has the level (AVX2 and FMA).
    unsafe { lanes_avx2_body(q, rows, xx, qq, out) }
}

#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx512f,avx2,fma")]
fn lanes_avx512_body(q: &[u32], rows: &[u32], xx: &[f32], qq: f32, out: &mut [f64]) {
    lanes(q, rows, xx, qq, out)
}

#[cfg(target_arch = "x86_64")]
fn lanes_avx512(q: &[u32], rows: &[u32], xx: &[f32], qq: f32, out: &mut [f64]) {
    // SAFETY: only put into a `SketchKernel` by `SketchKernel::new(Isa::Avx512)`, which
    // first checks that the CPU has the level (AVX-512F with AVX2 and FMA).
    unsafe { lanes_avx512_body(q, rows, xx, qq, out) }
}

/// Whether the running CPU has AVX-512 BF16 (`vdpbf16ps`), detected once.
#[cfg(target_arch = "x86_64")]
fn has_bf16_dot() -> bool {
    std::arch::is_x86_feature_detected!("avx512bf16")
}

#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx512f,avx512bf16")]
fn dpbf16_body(q: &[u32], rows: &[u32], xx: &[f32], qq: f32, out: &mut [f64]) {
    use std::arch::x86_64::*;
    let pairs = q.len();
    let groups = out.len().div_ceil(GROUP);
    // The caller (`SketchKernel::sq_dist`) checked `rows.len() ≥ groups·pairs·16` and
    // `xx.len() ≥ out.len()`; the last group may be partial in `out` and `xx` only.
    let qqv = _mm512_set1_ps(qq);
    let minus2 = _mm512_set1_ps(-2.0);
    for g in 0..groups {
        let block = rows[g * pairs * GROUP..(g + 1) * pairs * GROUP].as_ptr();
        let (mut a0, mut a1) = (_mm512_setzero_ps(), _mm512_setzero_ps());
        let mut j = 0;
        while j + 2 <= pairs {
            // SAFETY: pairs j and j + 1 of the group lie inside `block` (pairs·16 words).
            let (r0, r1) = unsafe {
                (
                    _mm512_loadu_si512(block.add(j * GROUP).cast()),
                    _mm512_loadu_si512(block.add((j + 1) * GROUP).cast()),
                )
            };
            let (q0, q1) = (_mm512_set1_epi32(q[j] as i32), _mm512_set1_epi32(q[j + 1] as i32));
            a0 = _mm512_dpbf16_ps(a0, bh(q0), bh(r0));
            a1 = _mm512_dpbf16_ps(a1, bh(q1), bh(r1));
            j += 2;
        }
        if j < pairs {
            // SAFETY: pair j of the group lies inside `block`.
            let r0 = unsafe { _mm512_loadu_si512(block.add(j * GROUP).cast()) };
            a0 = _mm512_dpbf16_ps(a0, bh(_mm512_set1_epi32(q[j] as i32)), bh(r0));
        }
        let dot = _mm512_add_ps(a0, a1);
        let at = g * GROUP;
        let n = (out.len() - at).min(GROUP);
        if n == GROUP {
            // SAFETY: xx and out hold rows at..at + 16 (checked by the caller).
            let x = unsafe { _mm512_loadu_ps(xx.as_ptr().add(at)) };
            let d = _mm512_fmadd_ps(minus2, dot, _mm512_add_ps(x, qqv));
            // SAFETY: as above; two stores of eight f64 each.
            unsafe {
                let p = out.as_mut_ptr().add(at);
                _mm512_storeu_pd(p, _mm512_cvtps_pd(_mm512_castps512_ps256(d)));
                _mm512_storeu_pd(
                    p.add(8),
                    _mm512_cvtps_pd(_mm256_castpd_ps(_mm512_extractf64x4_pd(_mm512_castps_pd(d), 1))),
                );
            }
        } else {
            let mut lanes = [0f32; GROUP];
            // SAFETY: a store to a local array of sixteen f32.
            unsafe { _mm512_storeu_ps(lanes.as_mut_ptr(), dot) };
            for ((o, &x), &a) in out[at..].iter_mut().zip(&xx[at..]).zip(&lanes[..n]) {
                *o = (-2.0f32).mul_add(a, x + qq) as f64;
            }
        }
    }
}

/// Sixteen `u32` pairs of bf16 as the `vdpbf16ps` operand type (same bits).
#[cfg(target_arch = "x86_64")]
#[inline(always)]
fn bh(v: std::arch::x86_64::__m512i) -> std::arch::x86_64::__m512bh {
    // SAFETY: both are 512-bit plain-data vectors; every bit pattern is valid for both.
    unsafe { std::mem::transmute(v) }
}

#[cfg(target_arch = "x86_64")]
fn dpbf16(q: &[u32], rows: &[u32], xx: &[f32], qq: f32, out: &mut [f64]) {
    // SAFETY: only put into a `SketchKernel` by `SketchKernel::new(Isa::Avx512)` after
    // `has_bf16_dot()` confirmed AVX-512 BF16 (and the level confirmed AVX-512F).
    unsafe { dpbf16_body(q, rows, xx, qq, out) }
}

/// The signature of every level's body: query pairs, rows, row norms, query norm, out.
type Body = fn(&[u32], &[u32], &[f32], f32, &mut [f64]);

/// The sketch kernel of one ISA level, chosen once.
#[derive(Clone, Copy)]
pub struct SketchKernel {
    isa: Isa,
    bf16_dot: bool,
    f: Body,
}

impl std::fmt::Debug for SketchKernel {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SketchKernel")
            .field("isa", &self.isa)
            .field("bf16_dot", &self.bf16_dot)
            .finish()
    }
}

impl SketchKernel {
    /// The kernel of `isa` (on AVX-512, the `vdpbf16ps` one where the CPU has AVX-512
    /// BF16), or an error if the running CPU lacks the level.
    pub fn new(isa: Isa) -> Result<Self, IsaError> {
        if !isa.is_available() {
            return Err(IsaError::Unavailable(isa));
        }
        let (f, bf16_dot): (Body, bool) = match isa {
            #[cfg(target_arch = "x86_64")]
            Isa::Avx512 if has_bf16_dot() => (dpbf16, true),
            #[cfg(target_arch = "x86_64")]
            Isa::Avx512 => (lanes_avx512, false),
            #[cfg(target_arch = "x86_64")]
            Isa::Avx2Fma => (lanes_avx2, false),
            _ => (lanes_plain, false),
        };
        Ok(SketchKernel { isa, bf16_dot, f })
    }

    /// The kernel of the active level (`PCCT_ISA` if set, else the best the CPU has).
    pub fn active() -> Result<Self, IsaError> {
        Self::new(isa::active()?.isa())
    }

    /// The level this kernel runs on.
    pub fn isa(&self) -> Isa {
        self.isa
    }

    /// Whether it runs on AVX-512 BF16's `vdpbf16ps`.
    pub fn uses_bf16_dot(&self) -> bool {
        self.bf16_dot
    }

    /// `out[i] = qq + xx[i] − 2·q·x_i` for rows `0..out.len()` of a block laid out in
    /// groups (module documentation), within [`error_bound`] of `‖q − x_i‖²` when `qq`
    /// and `xx[i]` are the squared norms rounded to `f32`.
    ///
    /// # Panics
    /// If `rows` holds fewer than `q.len()·16·⌈out.len()/16⌉` words or `xx` fewer than
    /// `out.len()` values.
    #[inline]
    pub fn sq_dist(&self, q: &[u32], rows: &[u32], xx: &[f32], qq: f32, out: &mut [f64]) {
        let need = check(q.len(), rows.len(), xx.len(), out.len());
        (self.f)(q, &rows[..need], &xx[..out.len()], qq, out)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn error_bound_grows_with_the_norms_and_stays_finite() {
        assert!(error_bound(16, 1.0, 1.0) > 0.0);
        assert!(error_bound(16, 2.0, 1.0) > error_bound(16, 1.0, 1.0));
        assert!(error_bound(17, 1.0, 1.0) > error_bound(16, 1.0, 1.0));
        assert!(error_bound(1 << 23, 1.0, 1.0).is_infinite());
    }

    #[test]
    fn pairs_pack_even_low() {
        assert_eq!(pack_pair(0x3f80, 0x4000), 0x4000_3f80);
    }
}
