//! The scalar reference: plain loops that accumulate in `f64`.
//!
//! This is the `Scalar` ISA level and the oracle every SIMD level is tested
//! against. The `*_f64` functions return the unrounded `f64` result, which the
//! tests compare with; the kernel-set entry points round it to the element type.

use crate::simd::check_block;
use crate::Element;

/// `Σ (a_j - b_j)²` in `f64`. Panics if the lengths differ.
pub fn sq_dist_f64<T: Element>(a: &[T], b: &[T]) -> f64 {
    assert_eq!(a.len(), b.len(), "pcct-kernels: operands differ in length");
    a.iter()
        .zip(b)
        .map(|(&x, &y)| {
            let d = x.to_f64() - y.to_f64();
            d * d
        })
        .sum()
}

/// `Σ a_j·b_j` in `f64`. Panics if the lengths differ.
pub fn dot_f64<T: Element>(a: &[T], b: &[T]) -> f64 {
    assert_eq!(a.len(), b.len(), "pcct-kernels: operands differ in length");
    a.iter().zip(b).map(|(&x, &y)| x.to_f64() * y.to_f64()).sum()
}

/// `Σ |a_j·b_j|` in `f64`: the scale against which a dot product's rounding error is judged.
pub fn abs_dot_f64<T: Element>(a: &[T], b: &[T]) -> f64 {
    assert_eq!(a.len(), b.len(), "pcct-kernels: operands differ in length");
    a.iter()
        .zip(b)
        .map(|(&x, &y)| (x.to_f64() * y.to_f64()).abs())
        .sum()
}

pub(crate) fn sq_dist<T: Element>(a: &[T], b: &[T]) -> T {
    T::from_f64(sq_dist_f64(a, b))
}

pub(crate) fn dot<T: Element>(a: &[T], b: &[T]) -> T {
    T::from_f64(dot_f64(a, b))
}

fn block_with<T: Element>(q: &[T], rows: &[T], stride: usize, out: &mut [T], f: fn(&[T], &[T]) -> f64) {
    let d = q.len();
    check_block(d, rows.len(), stride, out.len());
    for (i, o) in out.iter_mut().enumerate() {
        *o = T::from_f64(f(q, &rows[i * stride..i * stride + d]));
    }
}

pub(crate) fn sq_dist_block<T: Element>(q: &[T], rows: &[T], stride: usize, out: &mut [T]) {
    block_with(q, rows, stride, out, sq_dist_f64::<T>);
}

pub(crate) fn dot_block<T: Element>(q: &[T], rows: &[T], stride: usize, out: &mut [T]) {
    block_with(q, rows, stride, out, dot_f64::<T>);
}

pub(crate) fn sq_dist_multi<T: Element>(qs: &[&[T]], rows: &[T], stride: usize, out: &mut [T]) {
    crate::simd::per_query(qs, rows, stride, out, sq_dist_block::<T>);
}

pub(crate) fn dot_multi<T: Element>(qs: &[&[T]], rows: &[T], stride: usize, out: &mut [T]) {
    crate::simd::per_query(qs, rows, stride, out, dot_block::<T>);
}

pub(crate) fn sq_norm_block<T: Element>(rows: &[T], dim: usize, stride: usize, out: &mut [T]) {
    check_block(dim, rows.len(), stride, out.len());
    for (i, o) in out.iter_mut().enumerate() {
        let r = &rows[i * stride..i * stride + dim];
        *o = T::from_f64(dot_f64(r, r));
    }
}
