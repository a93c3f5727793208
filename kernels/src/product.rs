//! `C = A·Bᵀ` for the dense engine's tiles: `A` (`na × m`) and `B` (`nb × m`) row-major,
//! the shared dimension contiguous in both, as `V` and coordinates are stored.
//!
//! ```text
//! A packed in panels of NR = 16 rows, k-major:   panel[k][0..16] = A[i0..i0+16][k]
//! micro-kernel: one panel × MR = 12 rows of B, 24 accumulators of 8 lanes (AVX-512):
//!   for k: 2 vector loads of the panel, 12 broadcasts of B[j][k], 24 fused multiply-adds
//! B in blocks of 256 KiB that every panel passes over (they stay in L2)
//!
//! 16 × 12 rather than 24 × 8: a panel and the 12 rows fit in L1 up to m ≈ 200 (W8's m),
//! where the product runs at 64–66 % of the FMA peak, 64–65 % at m = 512 (BENCHMARKS.md).
//! ```
//!
//! The sums run in another order than a dot product's (fused multiply-adds along `k`, per
//! entry): callers bound the rounding of any summation order (`|Δ| ≤ 1.03·m·ε·‖a‖‖b‖`).
//! AVX-512 only; [`available`] says whether this CPU runs it (elsewhere, another product).

use crate::isa::Avx512;

/// Rows of `B` per micro-kernel.
const MR: usize = 12;
/// Vectors of 8 lanes (rows of `A`) per packed panel row.
const NV: usize = 2;
/// Rows of `A` per packed panel.
const NR: usize = 8 * NV;
/// Bytes of `B` rows per block that every panel of `A` passes over.
const JB_BYTES: usize = 256 << 10;

/// Whether pcct runs [`product_nt`] here: the active level ([`crate::isa::active`]:
/// `PCCT_ISA`, a profile's choice or the best detected) is AVX-512.
pub fn available() -> bool {
    crate::isa::active().is_ok_and(|c| c.isa() == crate::isa::Isa::Avx512)
}

/// `c[i·nb + j] = Σ_k a[i·m + k]·b[j·m + k]` with `na = a.len() / m`, `nb = b.len() / m`
/// (fused multiply-adds; see the module notes for the order). `pack` is scratch, kept
/// between calls to save its allocation.
///
/// # Panics
/// If the CPU lacks AVX-512, `m` is 0, or the lengths do not match.
pub fn product_nt(a: &[f64], b: &[f64], m: usize, c: &mut [f64], pack: &mut Vec<f64>) {
    assert!(
        m > 0 && a.len().is_multiple_of(m) && b.len().is_multiple_of(m),
        "pcct: whole rows of m values"
    );
    let (na, nb) = (a.len() / m, b.len() / m);
    assert_eq!(c.len(), na * nb, "pcct: one output per pair of rows");
    let _token = Avx512::try_new().expect("pcct: product_nt needs AVX-512 (see `available`)");
    // SAFETY: the token proves the CPU has AVX-512F, AVX2 and FMA (it exists on x86_64 only).
    #[cfg(target_arch = "x86_64")]
    unsafe {
        blocked(a, b, m, na, nb, c, pack)
    }
    #[cfg(not(target_arch = "x86_64"))]
    let _ = (na, nb, pack);
}

/// The product with register blocks of [`MR`] rows of `B` × [`NR`] rows of `A`.
///
/// # Safety
/// The CPU must have AVX-512F, AVX2 and FMA.
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx512f,avx2,fma")]
unsafe fn blocked(a: &[f64], b: &[f64], m: usize, na: usize, nb: usize, c: &mut [f64], pack: &mut Vec<f64>) {
    // A (the short side: a block of queries) packed once per call; B read in place.
    let panels = na.div_ceil(NR);
    if pack.len() < panels * m * NR {
        pack.resize(panels * m * NR, 0.0);
    }
    let pack = &mut pack[..panels * m * NR];
    for (p, panel) in pack.chunks_exact_mut(m * NR).enumerate() {
        for i in 0..NR {
            match a.get((p * NR + i) * m..(p * NR + i + 1) * m) {
                Some(row) => row.iter().enumerate().for_each(|(k, &v)| panel[k * NR + i] = v),
                None => (0..m).for_each(|k| panel[k * NR + i] = 0.0), // past the last row
            }
        }
    }
    // Blocks of B rows that stay in the cache while every panel of A passes over them.
    let block = (JB_BYTES / (8 * m)).max(MR) / MR * MR;
    let mut out = [[0.0f64; 8]; MR * NV];
    for jb in (0..nb).step_by(block) {
        for (p, panel) in pack.chunks_exact(m * NR).enumerate() {
            let i0 = p * NR;
            let irows = NR.min(na - i0);
            for j0 in (jb..nb.min(jb + block)).step_by(MR) {
                let jrows = MR.min(nb - j0);
                // SAFETY: AVX-512F and FMA, as for the caller.
                let acc = unsafe { micro_kernel(&b[j0 * m..(j0 + jrows) * m], panel) };
                for (r, row) in acc.iter().enumerate().take(jrows) {
                    for (v, x) in row.iter().enumerate() {
                        // SAFETY: the row of `out` holds 8 f64s.
                        unsafe { std::arch::x86_64::_mm512_storeu_pd(out[r * NV + v].as_mut_ptr(), *x) };
                    }
                }
                for i in 0..irows {
                    let row = &mut c[(i0 + i) * nb + j0..][..jrows];
                    for (r, x) in row.iter_mut().enumerate() {
                        *x = out[r * NV + i / 8][i % 8];
                    }
                }
            }
        }
    }
}

/// `acc[r][v][l] = Σ_k rows[r·m + k]·panel[k·NR + 8v + l]` for the (up to [`MR`]) rows of
/// `rows`, `m = panel.len() / NR` values each; rows past the end repeat the last one
/// (computed, never stored). MR·NV accumulator registers, one broadcast and NV fused
/// multiply-adds per row and k.
///
/// # Safety
/// The CPU must have AVX-512F, AVX2 and FMA.
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx512f,avx2,fma")]
#[inline]
unsafe fn micro_kernel(rows: &[f64], panel: &[f64]) -> [[std::arch::x86_64::__m512d; NV]; MR] {
    use std::arch::x86_64::*;
    let m = panel.len() / NR;
    assert!(m > 0 && panel.len() == m * NR, "pcct: a whole panel");
    let n = rows.len() / m;
    assert!(
        n > 0 && n <= MR && rows.len() == n * m,
        "pcct: 1 to MR whole rows"
    );
    let mut acc = [[_mm512_setzero_pd(); NV]; MR];
    let mut a = [rows.as_ptr(); MR];
    for (r, p) in a.iter_mut().enumerate() {
        *p = rows[r.min(n - 1) * m..].as_ptr();
    }
    let mut bp = panel.as_ptr();
    for k in 0..m {
        // SAFETY: k < m, the length of every row (each `a[r]` starts a whole row of
        // `rows`) and of the panel over NR; both hold f64s, read unaligned.
        unsafe {
            let b: [__m512d; NV] = std::array::from_fn(|v| _mm512_loadu_pd(bp.add(8 * v)));
            for r in 0..MR {
                let x = _mm512_set1_pd(*a[r].add(k));
                for v in 0..NV {
                    acc[r][v] = _mm512_fmadd_pd(x, b[v], acc[r][v]);
                }
            }
            bp = bp.add(NR);
        }
    }
    acc
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Against a plain dot product per entry, within the stated bound, on shapes with
    /// tails in both directions.
    #[test]
    fn matches_dot_products_within_the_bound() {
        if Avx512::try_new().is_none() {
            assert!(!available());
            return; // nothing to run on this CPU; the callers take faer's product
        }
        let mut pack = Vec::new();
        for (na, nb, m) in [
            (1, 1, 1),
            (8, 24, 3),
            (13, 50, 7),
            (48, 64, 32),
            (50, 21, 64),
            (24, 8, 1),
            (128, 97, 200),
            (9, 25, 512),
            (9, 130, 512), // B in three blocks of 60 rows
        ] {
            let a: Vec<f64> = (0..na * m)
                .map(|i| ((i * 7919) % 1000) as f64 / 500.0 - 1.0)
                .collect();
            let b: Vec<f64> = (0..nb * m)
                .map(|i| ((i * 104_729) % 997) as f64 / 498.0 - 1.0)
                .collect();
            let mut c = vec![f64::NAN; na * nb];
            product_nt(&a, &b, m, &mut c, &mut pack);
            for i in 0..na {
                for j in 0..nb {
                    let (x, y) = (&a[i * m..(i + 1) * m], &b[j * m..(j + 1) * m]);
                    let dot: f64 = x.iter().zip(y).map(|(p, q)| p * q).sum();
                    let scale: f64 = x.iter().zip(y).map(|(p, q)| (p * q).abs()).sum();
                    let bound = 2.06 * (m + 2) as f64 * f64::EPSILON * scale;
                    assert!(
                        (c[i * nb + j] - dot).abs() <= bound,
                        "{na}×{nb}×{m} at ({i}, {j})"
                    );
                }
            }
        }
    }
}
