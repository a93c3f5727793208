//! The scalar reference: plain loops that accumulate in `f64`.
//!
//! This is the `Scalar` ISA level and the oracle every SIMD level is tested
//! against. The `*_f64` functions return the unrounded `f64` result, which the
//! tests compare with; the kernel-set entry points round it to the element type.

use crate::simd::check_block;
use crate::Element;

/// `Σ (a_j - b_j)²` in `f64`, summed in column order from `0.0`. Panics if the
/// lengths differ.
pub fn sq_dist_f64<T: Element>(a: &[T], b: &[T]) -> f64 {
    sq_dist_f64_rows(a, [b])[0]
}

/// [`sq_dist_f64`] of `a` against each of `rows` at once: the `R` sums advance
/// column by column side by side, so they are `R` independent dependency chains
/// instead of one after another, and each is [`sq_dist_f64`]'s value bit for bit
/// (same operations, same order). Panics if any length differs from `a`'s.
pub fn sq_dist_f64_rows<T: Element, const R: usize>(a: &[T], rows: [&[T]; R]) -> [f64; R] {
    for b in &rows {
        assert_eq!(a.len(), b.len(), "pcct-kernels: operands differ in length");
    }
    let mut s = [0.0f64; R];
    for (j, &x) in a.iter().enumerate() {
        let x = x.to_f64();
        for (s, b) in s.iter_mut().zip(&rows) {
            let d = x - b[j].to_f64();
            *s += d * d;
        }
    }
    s
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

#[cfg(test)]
mod tests {
    use super::*;

    /// The column-order sum written out on its own, as the definition of the value.
    fn one_chain<T: Element>(a: &[T], b: &[T]) -> f64 {
        let mut s = 0.0f64;
        for j in 0..a.len() {
            let d = a[j].to_f64() - b[j].to_f64();
            s += d * d;
        }
        s
    }

    fn check_rows<T: Element>(to: fn(f64) -> T) {
        // Magnitudes far apart in one row make the order of the additions visible.
        let mut x = 0x2545_f491_4f6c_dd1du64;
        let mut next = move || {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            let m = (x >> 11) as f64 / (1u64 << 53) as f64 - 0.5;
            m * [1e-9, 1.0, 1e9, 3.0][(x % 4) as usize]
        };
        for dim in 0..40 {
            let a: Vec<T> = (0..dim).map(|_| to(next())).collect();
            let rows: Vec<Vec<T>> = (0..8).map(|_| (0..dim).map(|_| to(next())).collect()).collect();
            let r = |i: usize| rows[i].as_slice();
            let four = sq_dist_f64_rows(&a, [r(0), r(1), r(2), r(3)]);
            let three = sq_dist_f64_rows(&a, [r(5), r(6), r(7)]);
            for (got, i) in four.iter().zip(0..4).chain(three.iter().zip(5..8)) {
                assert_eq!(got.to_bits(), one_chain(&a, r(i)).to_bits(), "dim {dim} row {i}");
            }
            assert_eq!(
                sq_dist_f64(&a, r(4)).to_bits(),
                one_chain(&a, r(4)).to_bits(),
                "dim {dim}"
            );
        }
    }

    #[test]
    fn interleaved_sums_equal_one_chain_bit_for_bit() {
        check_rows::<f64>(|v| v);
        check_rows::<f32>(|v| v as f32);
    }

    #[test]
    #[should_panic(expected = "differ in length")]
    fn interleaved_sums_reject_a_short_row() {
        sq_dist_f64_rows(&[1.0f64, 2.0], [&[1.0, 2.0][..], &[1.0][..]]);
    }
}
