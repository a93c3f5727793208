//! [`Lanes`] on x86-64 AVX2+FMA and AVX-512F through `std::arch`.
//!
//! Every `unsafe` block here is justified the same way: the method takes `self`,
//! a token ([`Avx2Fma`] or [`Avx512`]) that exists only when the running CPU has
//! the instructions, and every pointer comes from a slice whose length was checked
//! (full loads) or is covered by a mask that suppresses the lanes past its end.

use crate::isa::{Avx2Fma, Avx512};
use crate::simd::{Implies, Lanes};
use std::arch::x86_64::*;

/// `-1` for the first 8 entries then `0`: a window of it gives a lane mask for a tail.
static TAIL_MASK: [i32; 16] = [-1, -1, -1, -1, -1, -1, -1, -1, 0, 0, 0, 0, 0, 0, 0, 0];

impl Lanes<f32> for Avx2Fma {
    type V = __m256;
    const W: usize = 8;
    #[inline(always)]
    fn zero(self) -> __m256 {
        // SAFETY: the token proves AVX is available.
        unsafe { _mm256_setzero_ps() }
    }
    #[inline(always)]
    fn load(self, s: &[f32]) -> __m256 {
        assert!(s.len() >= 8);
        // SAFETY: AVX proven by the token; 8 elements are in bounds (asserted).
        unsafe { _mm256_loadu_ps(s.as_ptr()) }
    }
    #[inline(always)]
    fn load_tail(self, s: &[f32]) -> __m256 {
        let n = s.len();
        assert!(n < 8);
        if n == 0 {
            return <Self as Lanes<f32>>::zero(self);
        }
        // SAFETY: AVX proven by the token; TAIL_MASK[8 - n..16 - n] is in bounds and
        // enables exactly the first n lanes, and vmaskmovps reads no masked-off lane.
        unsafe {
            let m = _mm256_loadu_si256(TAIL_MASK[8 - n..].as_ptr().cast());
            _mm256_maskload_ps(s.as_ptr(), m)
        }
    }
    #[inline(always)]
    unsafe fn load_ptr(self, p: *const f32) -> __m256 {
        // SAFETY: the token proves the ISA; the caller guarantees 8 readable elements.
        unsafe { _mm256_loadu_ps(p) }
    }
    #[inline(always)]
    unsafe fn load_tail_ptr(self, p: *const f32, n: usize) -> __m256 {
        // SAFETY: the caller guarantees n readable elements at p.
        self.load_tail(unsafe { std::slice::from_raw_parts(p, n) })
    }
    #[inline(always)]
    fn sub(self, a: __m256, b: __m256) -> __m256 {
        // SAFETY: the token proves AVX is available.
        unsafe { _mm256_sub_ps(a, b) }
    }
    #[inline(always)]
    fn add(self, a: __m256, b: __m256) -> __m256 {
        // SAFETY: the token proves AVX is available.
        unsafe { _mm256_add_ps(a, b) }
    }
    #[inline(always)]
    fn mul_add(self, a: __m256, b: __m256, c: __m256) -> __m256 {
        // SAFETY: the token proves FMA is available.
        unsafe { _mm256_fmadd_ps(a, b, c) }
    }
    #[inline(always)]
    fn reduce(self, a: __m256) -> f32 {
        // SAFETY: the token proves AVX is available.
        unsafe {
            let s = _mm_add_ps(_mm256_castps256_ps128(a), _mm256_extractf128_ps(a, 1));
            let s = _mm_add_ps(s, _mm_movehl_ps(s, s));
            let s = _mm_add_ss(s, _mm_movehdup_ps(s));
            _mm_cvtss_f32(s)
        }
    }
    #[inline(always)]
    fn reduce4(self, a: [__m256; 4]) -> [f32; 4] {
        let mut out = [0.0f32; 4];
        // SAFETY: the token proves AVX is available; `out` holds 4 f32.
        unsafe {
            // hadd pairs, then pairs of pairs: lane k of each 128-bit half holds
            // a partial sum of a[k]; adding the halves finishes all four.
            let h01 = _mm256_hadd_ps(a[0], a[1]);
            let h23 = _mm256_hadd_ps(a[2], a[3]);
            let h = _mm256_hadd_ps(h01, h23);
            let s = _mm_add_ps(_mm256_castps256_ps128(h), _mm256_extractf128_ps(h, 1));
            _mm_storeu_ps(out.as_mut_ptr(), s);
        }
        out
    }
    #[inline(always)]
    fn reduce8(self, a: [__m256; 8]) -> [f32; 8] {
        let mut out = [0.0f32; 8];
        // SAFETY: the token proves AVX is available; `out` holds 8 f32.
        unsafe {
            // After two hadd levels, h0123 holds the partial sums of a0..a3 in each
            // 128-bit half and h4567 those of a4..a7; crossing the halves finishes all eight.
            let h0123 = _mm256_hadd_ps(_mm256_hadd_ps(a[0], a[1]), _mm256_hadd_ps(a[2], a[3]));
            let h4567 = _mm256_hadd_ps(_mm256_hadd_ps(a[4], a[5]), _mm256_hadd_ps(a[6], a[7]));
            let lo = _mm256_permute2f128_ps(h0123, h4567, 0x20);
            let hi = _mm256_permute2f128_ps(h0123, h4567, 0x31);
            _mm256_storeu_ps(out.as_mut_ptr(), _mm256_add_ps(lo, hi));
        }
        out
    }
}

impl Lanes<f64> for Avx2Fma {
    type V = __m256d;
    const W: usize = 4;
    #[inline(always)]
    fn zero(self) -> __m256d {
        // SAFETY: the token proves AVX is available.
        unsafe { _mm256_setzero_pd() }
    }
    #[inline(always)]
    fn load(self, s: &[f64]) -> __m256d {
        assert!(s.len() >= 4);
        // SAFETY: AVX proven by the token; 4 elements are in bounds (asserted).
        unsafe { _mm256_loadu_pd(s.as_ptr()) }
    }
    #[inline(always)]
    fn load_tail(self, s: &[f64]) -> __m256d {
        let n = s.len();
        assert!(n < 4);
        if n == 0 {
            return <Self as Lanes<f64>>::zero(self);
        }
        // SAFETY: AVX2 proven by the token; sign-extending the i32 window
        // TAIL_MASK[8 - n..12 - n] enables exactly the first n 64-bit lanes, and
        // vmaskmovpd reads no masked-off lane.
        unsafe {
            let m32 = _mm_loadu_si128(TAIL_MASK[8 - n..].as_ptr().cast());
            let m = _mm256_cvtepi32_epi64(m32);
            _mm256_maskload_pd(s.as_ptr(), m)
        }
    }
    #[inline(always)]
    unsafe fn load_ptr(self, p: *const f64) -> __m256d {
        // SAFETY: the token proves the ISA; the caller guarantees 4 readable elements.
        unsafe { _mm256_loadu_pd(p) }
    }
    #[inline(always)]
    unsafe fn load_tail_ptr(self, p: *const f64, n: usize) -> __m256d {
        // SAFETY: the caller guarantees n readable elements at p.
        self.load_tail(unsafe { std::slice::from_raw_parts(p, n) })
    }
    #[inline(always)]
    fn sub(self, a: __m256d, b: __m256d) -> __m256d {
        // SAFETY: the token proves AVX is available.
        unsafe { _mm256_sub_pd(a, b) }
    }
    #[inline(always)]
    fn add(self, a: __m256d, b: __m256d) -> __m256d {
        // SAFETY: the token proves AVX is available.
        unsafe { _mm256_add_pd(a, b) }
    }
    #[inline(always)]
    fn mul_add(self, a: __m256d, b: __m256d, c: __m256d) -> __m256d {
        // SAFETY: the token proves FMA is available.
        unsafe { _mm256_fmadd_pd(a, b, c) }
    }
    #[inline(always)]
    fn reduce(self, a: __m256d) -> f64 {
        // SAFETY: the token proves AVX is available.
        unsafe {
            let s = _mm_add_pd(_mm256_castpd256_pd128(a), _mm256_extractf128_pd(a, 1));
            let s = _mm_add_sd(s, _mm_unpackhi_pd(s, s));
            _mm_cvtsd_f64(s)
        }
    }
    #[inline(always)]
    fn reduce4(self, a: [__m256d; 4]) -> [f64; 4] {
        let mut out = [0.0f64; 4];
        // SAFETY: the token proves AVX is available; `out` holds 4 f64.
        unsafe {
            // h01 = [a0 01, a1 01 | a0 23, a1 23], h23 likewise; swap the middle
            // 128-bit halves so one add finishes all four sums.
            let h01 = _mm256_hadd_pd(a[0], a[1]);
            let h23 = _mm256_hadd_pd(a[2], a[3]);
            let lo = _mm256_permute2f128_pd(h01, h23, 0x20);
            let hi = _mm256_permute2f128_pd(h01, h23, 0x31);
            _mm256_storeu_pd(out.as_mut_ptr(), _mm256_add_pd(lo, hi));
        }
        out
    }
}

impl Avx512 {
    /// The AVX2 token implied by this one.
    #[inline(always)]
    fn avx2(self) -> Avx2Fma {
        // SAFETY: an Avx512 token proves AVX2 and FMA too (see `Avx512::detect`).
        unsafe { Avx2Fma::new_unchecked() }
    }
}

impl Implies<Avx2Fma> for Avx512 {
    #[inline(always)]
    fn narrow(self) -> Avx2Fma {
        self.avx2()
    }
}

impl Implies<Avx2Fma> for Avx2Fma {
    #[inline(always)]
    fn narrow(self) -> Avx2Fma {
        self
    }
}

impl Lanes<f32> for Avx512 {
    type V = __m512;
    const W: usize = 16;
    #[inline(always)]
    fn zero(self) -> __m512 {
        // SAFETY: the token proves AVX-512F is available.
        unsafe { _mm512_setzero_ps() }
    }
    #[inline(always)]
    fn load(self, s: &[f32]) -> __m512 {
        assert!(s.len() >= 16);
        // SAFETY: AVX-512F proven by the token; 16 elements in bounds (asserted).
        unsafe { _mm512_loadu_ps(s.as_ptr()) }
    }
    #[inline(always)]
    fn load_tail(self, s: &[f32]) -> __m512 {
        let n = s.len();
        assert!(n < 16);
        let m: __mmask16 = (1u16 << n) - 1;
        // SAFETY: AVX-512F proven by the token; the mask enables exactly the n
        // in-bounds lanes and masked-off lanes are never read (fault suppression).
        unsafe { _mm512_maskz_loadu_ps(m, s.as_ptr()) }
    }
    #[inline(always)]
    unsafe fn load_ptr(self, p: *const f32) -> __m512 {
        // SAFETY: the token proves the ISA; the caller guarantees 16 readable elements.
        unsafe { _mm512_loadu_ps(p) }
    }
    #[inline(always)]
    unsafe fn load_tail_ptr(self, p: *const f32, n: usize) -> __m512 {
        // SAFETY: the caller guarantees n readable elements at p.
        self.load_tail(unsafe { std::slice::from_raw_parts(p, n) })
    }
    #[inline(always)]
    fn sub(self, a: __m512, b: __m512) -> __m512 {
        // SAFETY: the token proves AVX-512F is available.
        unsafe { _mm512_sub_ps(a, b) }
    }
    #[inline(always)]
    fn add(self, a: __m512, b: __m512) -> __m512 {
        // SAFETY: the token proves AVX-512F is available.
        unsafe { _mm512_add_ps(a, b) }
    }
    #[inline(always)]
    fn mul_add(self, a: __m512, b: __m512, c: __m512) -> __m512 {
        // SAFETY: the token proves AVX-512F is available.
        unsafe { _mm512_fmadd_ps(a, b, c) }
    }
    #[inline(always)]
    fn reduce(self, a: __m512) -> f32 {
        self.avx2().reduce(halve_ps(self, a))
    }
    #[inline(always)]
    fn reduce4(self, a: [__m512; 4]) -> [f32; 4] {
        let [a0, a1, a2, a3] = a;
        self.avx2().reduce4([
            halve_ps(self, a0),
            halve_ps(self, a1),
            halve_ps(self, a2),
            halve_ps(self, a3),
        ])
    }
    #[inline(always)]
    fn reduce8(self, a: [__m512; 8]) -> [f32; 8] {
        let [a0, a1, a2, a3, a4, a5, a6, a7] = a;
        self.avx2().reduce8([
            halve_ps(self, a0),
            halve_ps(self, a1),
            halve_ps(self, a2),
            halve_ps(self, a3),
            halve_ps(self, a4),
            halve_ps(self, a5),
            halve_ps(self, a6),
            halve_ps(self, a7),
        ])
    }
}

/// Adds the two 256-bit halves of `a`.
#[inline(always)]
fn halve_ps(_t: Avx512, a: __m512) -> __m256 {
    // SAFETY: the token proves AVX-512F (and so AVX) is available.
    unsafe {
        let lo = _mm512_castps512_ps256(a);
        let hi = _mm256_castpd_ps(_mm512_extractf64x4_pd(_mm512_castps_pd(a), 1));
        _mm256_add_ps(lo, hi)
    }
}

/// Adds the two 256-bit halves of `a`.
#[inline(always)]
fn halve_pd(_t: Avx512, a: __m512d) -> __m256d {
    // SAFETY: the token proves AVX-512F (and so AVX) is available.
    unsafe { _mm256_add_pd(_mm512_castpd512_pd256(a), _mm512_extractf64x4_pd(a, 1)) }
}

impl Lanes<f64> for Avx512 {
    type V = __m512d;
    const W: usize = 8;
    #[inline(always)]
    fn zero(self) -> __m512d {
        // SAFETY: the token proves AVX-512F is available.
        unsafe { _mm512_setzero_pd() }
    }
    #[inline(always)]
    fn load(self, s: &[f64]) -> __m512d {
        assert!(s.len() >= 8);
        // SAFETY: AVX-512F proven by the token; 8 elements in bounds (asserted).
        unsafe { _mm512_loadu_pd(s.as_ptr()) }
    }
    #[inline(always)]
    fn load_tail(self, s: &[f64]) -> __m512d {
        let n = s.len();
        assert!(n < 8);
        let m: __mmask8 = ((1u16 << n) - 1) as u8;
        // SAFETY: AVX-512F proven by the token; the mask enables exactly the n
        // in-bounds lanes and masked-off lanes are never read (fault suppression).
        unsafe { _mm512_maskz_loadu_pd(m, s.as_ptr()) }
    }
    #[inline(always)]
    unsafe fn load_ptr(self, p: *const f64) -> __m512d {
        // SAFETY: the token proves the ISA; the caller guarantees 8 readable elements.
        unsafe { _mm512_loadu_pd(p) }
    }
    #[inline(always)]
    unsafe fn load_tail_ptr(self, p: *const f64, n: usize) -> __m512d {
        // SAFETY: the caller guarantees n readable elements at p.
        self.load_tail(unsafe { std::slice::from_raw_parts(p, n) })
    }
    #[inline(always)]
    fn sub(self, a: __m512d, b: __m512d) -> __m512d {
        // SAFETY: the token proves AVX-512F is available.
        unsafe { _mm512_sub_pd(a, b) }
    }
    #[inline(always)]
    fn add(self, a: __m512d, b: __m512d) -> __m512d {
        // SAFETY: the token proves AVX-512F is available.
        unsafe { _mm512_add_pd(a, b) }
    }
    #[inline(always)]
    fn mul_add(self, a: __m512d, b: __m512d, c: __m512d) -> __m512d {
        // SAFETY: the token proves AVX-512F is available.
        unsafe { _mm512_fmadd_pd(a, b, c) }
    }
    #[inline(always)]
    fn reduce(self, a: __m512d) -> f64 {
        self.avx2().reduce(halve_pd(self, a))
    }
    #[inline(always)]
    fn reduce4(self, a: [__m512d; 4]) -> [f64; 4] {
        let [a0, a1, a2, a3] = a;
        self.avx2().reduce4([
            halve_pd(self, a0),
            halve_pd(self, a1),
            halve_pd(self, a2),
            halve_pd(self, a3),
        ])
    }
    #[inline(always)]
    fn reduce8(self, a: [__m512d; 8]) -> [f64; 8] {
        let mut out = [0.0f64; 8];
        // SAFETY: the token proves AVX-512F is available; `out` holds 8 f64.
        unsafe {
            // Level 1: b_k = [a_k 01, a_k+1 01 | a_k 23, a_k+1 23 | ...] (pair sums per 128-bit lane).
            let pair =
                |x: __m512d, y: __m512d| _mm512_add_pd(_mm512_unpacklo_pd(x, y), _mm512_unpackhi_pd(x, y));
            let (b01, b23, b45, b67) = (
                pair(a[0], a[1]),
                pair(a[2], a[3]),
                pair(a[4], a[5]),
                pair(a[6], a[7]),
            );
            // Level 2: gather lanes 0,2 and 1,3 of two b's; their sum holds the half-sums
            // [a0 0-3, a1 0-3, a0 4-7, a1 4-7, a2 0-3, a3 0-3, a2 4-7, a3 4-7].
            let quad = |x: __m512d, y: __m512d| {
                _mm512_add_pd(
                    _mm512_shuffle_f64x2(x, y, 0b10_00_10_00),
                    _mm512_shuffle_f64x2(x, y, 0b11_01_11_01),
                )
            };
            let (e0, e1) = (quad(b01, b23), quad(b45, b67));
            // Level 3: the same gather puts the low half-sums of a0..a7 in order in one
            // vector and the high half-sums in the other.
            let total = quad(e0, e1);
            _mm512_storeu_pd(out.as_mut_ptr(), total);
        }
        out
    }
}
