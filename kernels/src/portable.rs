//! [`Lanes`] on the `wide` crate: SSE2 on x86-64, NEON on aarch64, no CPU check needed.

use crate::isa::Portable;
use crate::simd::Lanes;
use wide::{f32x8, f64x4};

/// `s` (shorter than `W`) in the low entries of a zeroed array. Fixed-size pieces
/// (4, 2, 1) instead of one variable-length copy, which would become a `memcpy` call.
#[inline(always)]
fn fill_tail<T: Copy + Default, const W: usize>(s: &[T]) -> [T; W] {
    let n = s.len();
    assert!(n < W);
    let mut a = [T::default(); W];
    let mut i = 0;
    if W > 4 && n >= 4 {
        a[..4].copy_from_slice(&s[..4]);
        i = 4;
    }
    if n - i >= 2 {
        a[i..i + 2].copy_from_slice(&s[i..i + 2]);
        i += 2;
    }
    if n > i {
        a[i] = s[i];
    }
    a
}

impl Lanes<f32> for Portable {
    type V = f32x8;
    const W: usize = 8;
    #[inline(always)]
    fn zero(self) -> f32x8 {
        f32x8::ZERO
    }
    #[inline(always)]
    fn load(self, s: &[f32]) -> f32x8 {
        let a: [f32; 8] = s[..8].try_into().expect("slice of 8");
        f32x8::from(a)
    }
    #[inline(always)]
    fn load_tail(self, s: &[f32]) -> f32x8 {
        f32x8::from(fill_tail::<f32, 8>(s))
    }
    #[inline(always)]
    unsafe fn load_ptr(self, p: *const f32) -> f32x8 {
        // SAFETY: the caller guarantees 8 readable elements at p.
        f32x8::from(unsafe { p.cast::<[f32; 8]>().read_unaligned() })
    }
    #[inline(always)]
    unsafe fn load_tail_ptr(self, p: *const f32, n: usize) -> f32x8 {
        // SAFETY: the caller guarantees n readable elements at p.
        self.load_tail(unsafe { std::slice::from_raw_parts(p, n) })
    }
    #[inline(always)]
    fn sub(self, a: f32x8, b: f32x8) -> f32x8 {
        a - b
    }
    #[inline(always)]
    fn add(self, a: f32x8, b: f32x8) -> f32x8 {
        a + b
    }
    #[inline(always)]
    fn mul_add(self, a: f32x8, b: f32x8, c: f32x8) -> f32x8 {
        a.mul_add(b, c)
    }
    #[inline(always)]
    fn reduce(self, a: f32x8) -> f32 {
        a.reduce_add()
    }
}

impl Lanes<f64> for Portable {
    type V = f64x4;
    const W: usize = 4;
    #[inline(always)]
    fn zero(self) -> f64x4 {
        f64x4::ZERO
    }
    #[inline(always)]
    fn load(self, s: &[f64]) -> f64x4 {
        let a: [f64; 4] = s[..4].try_into().expect("slice of 4");
        f64x4::from(a)
    }
    #[inline(always)]
    fn load_tail(self, s: &[f64]) -> f64x4 {
        f64x4::from(fill_tail::<f64, 4>(s))
    }
    #[inline(always)]
    unsafe fn load_ptr(self, p: *const f64) -> f64x4 {
        // SAFETY: the caller guarantees 4 readable elements at p.
        f64x4::from(unsafe { p.cast::<[f64; 4]>().read_unaligned() })
    }
    #[inline(always)]
    unsafe fn load_tail_ptr(self, p: *const f64, n: usize) -> f64x4 {
        // SAFETY: the caller guarantees n readable elements at p.
        self.load_tail(unsafe { std::slice::from_raw_parts(p, n) })
    }
    #[inline(always)]
    fn sub(self, a: f64x4, b: f64x4) -> f64x4 {
        a - b
    }
    #[inline(always)]
    fn add(self, a: f64x4, b: f64x4) -> f64x4 {
        a + b
    }
    #[inline(always)]
    fn mul_add(self, a: f64x4, b: f64x4, c: f64x4) -> f64x4 {
        a.mul_add(b, c)
    }
    #[inline(always)]
    fn reduce(self, a: f64x4) -> f64 {
        a.reduce_add()
    }
}
