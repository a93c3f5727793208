//! `C = A·Bᵀ` for the dense engine's tiles: `A` (`na × m`) and `B` (`nb × m`) row-major,
//! the shared dimension contiguous in both, as `V` and coordinates are stored.
//!
//! ```text
//! A packed in panels of 8V rows, k-major:   panel[k][0..8V] = A[i0..i0+8V][k]
//! micro-kernel: one panel × R rows of B, R·V accumulators of 8 lanes (AVX-512):
//!   for k: V vector loads of the panel, R broadcasts of B[j][k], R·V fused multiply-adds
//! B in blocks of 256 KiB that every panel passes over (they stay in L2)
//!
//! m > 64: V = 2, R = 12 — a panel and the 12 rows fit in L1 up to m ≈ 200 (W8's m).
//! m ≤ 64: V = 3 (2 where A's rows fill 16-row panels better), R = 8 — each 8 × 8 block
//!         of accumulators is transposed in registers and stored as 8 row pieces of C;
//!         copying lanes out one by one costs more than the fused multiply-adds at m = 32.
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
/// Up to this many columns, register blocks of [`SHORT_MR`] rows × 3 (or 2) vectors,
/// stored as rows of `C` through in-register transposes (writing `C` is a larger share of
/// the work when `m` is short).
const SHORT_M: usize = 64;
/// Rows of `B` per micro-kernel when `m ≤ SHORT_M`.
const SHORT_MR: usize = 8;
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
    let token = Avx512::try_new().expect("pcct: product_nt needs AVX-512 (see `available`)");
    // SAFETY: the token proves the CPU has AVX-512F, AVX2 and FMA (it exists on x86_64 only).
    #[cfg(target_arch = "x86_64")]
    unsafe {
        product_avx512(token, a, b, m, na, nb, c, pack)
    }
    #[cfg(not(target_arch = "x86_64"))]
    let _ = (token, na, nb, pack);
}

#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx512f,avx2,fma")]
#[allow(clippy::too_many_arguments)]
unsafe fn product_avx512(
    _: Avx512,
    a: &[f64],
    b: &[f64],
    m: usize,
    na: usize,
    nb: usize,
    c: &mut [f64],
    pack: &mut Vec<f64>,
) {
    // Short rows: panels of 24 rows of A, or of 16 where those leave fewer rows idle.
    let idle = |rows: usize| na.div_ceil(rows) * rows - na;
    if m <= SHORT_M && idle(16) < idle(24) {
        // SAFETY: this function runs only where the token proved AVX-512F and FMA.
        unsafe { blocked::<SHORT_MR, 2>(a, b, m, na, nb, c, pack) }
    } else if m <= SHORT_M {
        // SAFETY: as above.
        unsafe { blocked::<SHORT_MR, 3>(a, b, m, na, nb, c, pack) }
    } else {
        // SAFETY: as above.
        unsafe { blocked::<MR, NV>(a, b, m, na, nb, c, pack) }
    }
}

/// The product with register blocks of `R` rows of `B` × `V` vectors (8 rows each) of `A`.
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx512f,avx2,fma")]
unsafe fn blocked<const R: usize, const V: usize>(
    a: &[f64],
    b: &[f64],
    m: usize,
    na: usize,
    nb: usize,
    c: &mut [f64],
    pack: &mut Vec<f64>,
) {
    let nr = 8 * V;
    // A (the short side: a block of queries) packed once per call; B read in place.
    let panels = na.div_ceil(nr);
    if pack.len() < panels * m * nr {
        pack.resize(panels * m * nr, 0.0);
    }
    let pack = &mut pack[..panels * m * nr];
    for (p, panel) in pack.chunks_exact_mut(m * nr).enumerate() {
        for i in 0..nr {
            match a.get((p * nr + i) * m..(p * nr + i + 1) * m) {
                Some(row) => row.iter().enumerate().for_each(|(k, &v)| panel[k * nr + i] = v),
                None => (0..m).for_each(|k| panel[k * nr + i] = 0.0), // past the last row
            }
        }
    }
    // Blocks of B rows that stay in the cache while every panel of A passes over them.
    let block = (JB_BYTES / (8 * m)).max(R) / R * R;
    for jb in (0..nb).step_by(block) {
        for (p, panel) in pack.chunks_exact(m * nr).enumerate() {
            let i0 = p * nr;
            let irows = nr.min(na - i0);
            for j0 in (jb..nb.min(jb + block)).step_by(R) {
                let jrows = R.min(nb - j0);
                // SAFETY: AVX-512F and FMA, as for the caller.
                let acc = unsafe { micro_kernel::<R, V>(&b[j0 * m..(j0 + jrows) * m], panel) };
                if R == 8 && irows == nr && jrows == 8 {
                    // Whole 8 × 8 blocks go out transposed in registers, as rows of C.
                    for v in 0..V {
                        // SAFETY: AVX-512F, as for the caller.
                        let t = unsafe { transpose8(std::array::from_fn(|r| acc[r][v])) };
                        for (l, row) in t.iter().enumerate() {
                            let out = &mut c[(i0 + 8 * v + l) * nb + j0..][..8];
                            // SAFETY: `out` holds 8 f64s.
                            unsafe { std::arch::x86_64::_mm512_storeu_pd(out.as_mut_ptr(), *row) };
                        }
                    }
                    continue;
                }
                let mut out = [[0.0f64; 8]; 24];
                for (r, row) in acc.iter().enumerate().take(jrows) {
                    for (v, x) in row.iter().enumerate() {
                        // SAFETY: the row of `out` holds 8 f64s.
                        unsafe { std::arch::x86_64::_mm512_storeu_pd(out[r * V + v].as_mut_ptr(), *x) };
                    }
                }
                for i in 0..irows {
                    let row = &mut c[(i0 + i) * nb + j0..][..jrows];
                    for (r, x) in row.iter_mut().enumerate() {
                        *x = out[r * V + i / 8][i % 8];
                    }
                }
            }
        }
    }
}

/// `acc[r][v][l] = Σ_k rows[r·m + k]·panel[k·8V + 8v + l]` for the (up to `R`) rows of
/// `rows`, `m = panel.len() / 8V` values each; rows past the end repeat the last one
/// (computed, never stored). R·V accumulator registers, one broadcast and V fused
/// multiply-adds per row and k.
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx512f,avx2,fma")]
#[inline]
unsafe fn micro_kernel<const R: usize, const V: usize>(
    rows: &[f64],
    panel: &[f64],
) -> [[std::arch::x86_64::__m512d; V]; R] {
    use std::arch::x86_64::*;
    let m = panel.len() / (8 * V);
    let n = rows.len() / m;
    assert!(m > 0 && n > 0 && n <= R && rows.len() == n * m && panel.len() == m * 8 * V);
    let mut acc = [[_mm512_setzero_pd(); V]; R];
    let mut a = [rows.as_ptr(); R];
    for (r, p) in a.iter_mut().enumerate() {
        *p = rows[r.min(n - 1) * m..].as_ptr();
    }
    let mut bp = panel.as_ptr();
    for k in 0..m {
        // SAFETY: k < m, the length of every row (each `a[r]` starts a whole row of
        // `rows`) and of the panel over 8V; both hold f64s, read unaligned.
        unsafe {
            let b: [__m512d; V] = std::array::from_fn(|v| _mm512_loadu_pd(bp.add(8 * v)));
            for r in 0..R {
                let x = _mm512_set1_pd(*a[r].add(k));
                for v in 0..V {
                    acc[r][v] = _mm512_fmadd_pd(x, b[v], acc[r][v]);
                }
            }
            bp = bp.add(8 * V);
        }
    }
    acc
}

/// The 8 × 8 transpose of the lanes of `x`: `t[l][r] = x[r][l]` (24 shuffles).
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx512f")]
unsafe fn transpose8(x: [std::arch::x86_64::__m512d; 8]) -> [std::arch::x86_64::__m512d; 8] {
    use std::arch::x86_64::*;
    // Pairs of rows interleaved: t[2q] holds rows 2q, 2q+1 at even columns, t[2q+1] at odd.
    let t: [__m512d; 8] = std::array::from_fn(|i| {
        let (p, q) = (x[i & !1], x[i | 1]);
        if i % 2 == 0 {
            _mm512_unpacklo_pd(p, q)
        } else {
            _mm512_unpackhi_pd(p, q)
        }
    });
    // Quads of rows: u[4h + 2s + o] holds rows 4h..4h+4 at columns o + 2s and o + 2s + 4.
    let lo = _mm512_set_epi64(13, 12, 5, 4, 9, 8, 1, 0);
    let hi = _mm512_set_epi64(15, 14, 7, 6, 11, 10, 3, 2);
    let u: [__m512d; 8] = std::array::from_fn(|i| {
        let (h, s, o) = (i / 4, (i / 2) % 2, i % 2);
        let (p, q) = (t[4 * h + o], t[4 * h + 2 + o]);
        _mm512_permutex2var_pd(p, if s == 0 { lo } else { hi }, q)
    });
    // Column l = o + 2s + 4w: the halves of u[2s + o] (rows 0..4) and u[4 + 2s + o] (4..8).
    std::array::from_fn(|l| {
        let (o, s, w) = (l % 2, (l / 2) % 2, l / 4);
        let (p, q) = (u[2 * s + o], u[4 + 2 * s + o]);
        if w == 0 {
            _mm512_shuffle_f64x2(p, q, 0x44)
        } else {
            _mm512_shuffle_f64x2(p, q, 0xEE)
        }
    })
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
