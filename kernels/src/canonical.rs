//! The canonical f64 dot product: one fixed summation order that every path computes to
//! the same bits, so exact answers never depend on the CPU.
//!
//! ```text
//! lane j (0..8) sums a[i]·b[i] for i ≡ j (mod 8): each product rounded, then added
//! (never fused); the tail continues lanes 0, 1, …; then
//! ((l0 + l4) + (l2 + l6)) + ((l1 + l5) + (l3 + l7))
//! ```
//!
//! The AVX path keeps lanes 0–3 and 4–7 in two registers and performs the same IEEE
//! operations lane by lane, so its result is bit-identical to [`dot_scalar`] (a test
//! checks every length up to 300 on random and extreme inputs).

use std::sync::OnceLock;

/// A dot-product implementation.
type DotFn = fn(&[f64], &[f64]) -> f64;

/// The canonical dot product `Σ a_i·b_i` of equal-length slices (the shorter length
/// is used if they differ), through the fastest path this CPU has.
pub fn dot(a: &[f64], b: &[f64]) -> f64 {
    static PATH: OnceLock<DotFn> = OnceLock::new();
    (PATH.get_or_init(|| {
        #[cfg(target_arch = "x86_64")]
        if crate::isa::Avx2Fma::try_new().is_some() {
            return dot_avx;
        }
        dot_scalar
    }))(a, b)
}

/// The reference: eight interleaved scalar partial sums, combined pairwise.
pub fn dot_scalar(a: &[f64], b: &[f64]) -> f64 {
    let n = a.len().min(b.len());
    let (a, b) = (&a[..n], &b[..n]);
    let mut acc = [0.0f64; 8];
    let (ca, cb) = (a.chunks_exact(8), b.chunks_exact(8));
    let (ta, tb) = (ca.remainder(), cb.remainder());
    for (x, y) in ca.zip(cb) {
        for j in 0..8 {
            acc[j] += x[j] * y[j];
        }
    }
    for (j, (x, y)) in ta.iter().zip(tb).enumerate() {
        acc[j] += x * y;
    }
    combine(acc)
}

#[inline(always)]
fn combine(acc: [f64; 8]) -> f64 {
    ((acc[0] + acc[4]) + (acc[2] + acc[6])) + ((acc[1] + acc[5]) + (acc[3] + acc[7]))
}

/// The AVX path (bit-identical to [`dot_scalar`]); falls back to it without AVX2.
#[cfg(target_arch = "x86_64")]
pub fn dot_avx(a: &[f64], b: &[f64]) -> f64 {
    if crate::isa::Avx2Fma::try_new().is_none() {
        return dot_scalar(a, b);
    }
    // SAFETY: the token above proves the CPU has AVX2 (and so AVX).
    unsafe { dot_avx_inner(a, b) }
}

#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx")]
unsafe fn dot_avx_inner(a: &[f64], b: &[f64]) -> f64 {
    use std::arch::x86_64::*;
    let n = a.len().min(b.len());
    let full = n / 8 * 8;
    let mut lo = _mm256_setzero_pd();
    let mut hi = _mm256_setzero_pd();
    let mut i = 0;
    while i < full {
        // SAFETY: i + 8 ≤ full ≤ n ≤ both lengths, so the 8 elements at i are in bounds.
        unsafe {
            let (pa, pb) = (a.as_ptr().add(i), b.as_ptr().add(i));
            lo = _mm256_add_pd(lo, _mm256_mul_pd(_mm256_loadu_pd(pa), _mm256_loadu_pd(pb)));
            hi = _mm256_add_pd(
                hi,
                _mm256_mul_pd(_mm256_loadu_pd(pa.add(4)), _mm256_loadu_pd(pb.add(4))),
            );
        }
        i += 8;
    }
    let mut acc = [0.0f64; 8];
    // SAFETY: `acc` holds 8 f64: two unaligned 4-lane stores fit.
    unsafe {
        _mm256_storeu_pd(acc.as_mut_ptr(), lo);
        _mm256_storeu_pd(acc.as_mut_ptr().add(4), hi);
    }
    for j in 0..n - full {
        acc[j] += a[full + j] * b[full + j];
    }
    combine(acc)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A small deterministic generator (no dependency).
    fn values(n: usize, seed: u64) -> Vec<f64> {
        let mut s = seed.wrapping_mul(0x9e37_79b9_7f4a_7c15) | 1;
        (0..n)
            .map(|i| {
                s ^= s << 13;
                s ^= s >> 7;
                s ^= s << 17;
                let u = (s >> 11) as f64 / (1u64 << 53) as f64 - 0.5;
                match i % 7 {
                    0 => u * 1e150,
                    1 => u * 1e-150,
                    2 => -0.0,
                    _ => u,
                }
            })
            .collect()
    }

    #[test]
    fn every_path_gives_the_same_bits() {
        for n in 0..300 {
            for seed in 0..4 {
                let (a, b) = (values(n, seed), values(n, seed + 100));
                let want = dot_scalar(&a, &b);
                assert_eq!(dot(&a, &b).to_bits(), want.to_bits(), "n = {n}");
                #[cfg(target_arch = "x86_64")]
                assert_eq!(dot_avx(&a, &b).to_bits(), want.to_bits(), "avx, n = {n}");
            }
        }
        // The fixed order, spelled out for n = 10.
        let a: Vec<f64> = (1..=10).map(f64::from).collect();
        let l: Vec<f64> = (0..8)
            .map(|j| a[j] * a[j] + if j < 2 { a[j + 8] * a[j + 8] } else { 0.0 })
            .collect();
        let want = ((l[0] + l[4]) + (l[2] + l[6])) + ((l[1] + l[5]) + (l[3] + l[7]));
        assert_eq!(dot_scalar(&a, &a).to_bits(), want.to_bits());
    }
}
