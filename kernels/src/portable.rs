//! [`Lanes`] on the `wide` crate: SSE2 on x86-64, NEON on aarch64, no CPU check needed.

use crate::isa::Portable;
use crate::simd::Lanes;
use wide::{f32x8, f64x4};

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
        let mut a = [0.0f32; 8];
        a[..s.len()].copy_from_slice(s);
        f32x8::from(a)
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
        let mut a = [0.0f64; 4];
        a[..s.len()].copy_from_slice(s);
        f64x4::from(a)
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
