//! The sketch kernel (bf16 pairs, sixteen rows per group) of every available ISA level
//! against the exact squared distances of the bf16 values: within `error_bound` on
//! random data of many scales, equal on small integers (where nothing rounds), on every
//! pair count and row count around the group size.

use pcct_kernels::isa::{self, Isa};
use pcct_kernels::residual::{from_bf16, to_bf16};
use pcct_kernels::sketch::{error_bound, pack_pair, sq_dist_exact, SketchKernel, GROUP};

/// SplitMix64: seeded, no dependency.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }
    /// Uniform in [−1, 1).
    fn sym(&mut self) -> f64 {
        (self.next() >> 11) as f64 / (1u64 << 52) as f64 - 1.0
    }
}

/// A block in the kernel's layout from row-major bf16 values (`d` per row), padded
/// with zero rows to whole groups; also each row's squared norm.
fn layout(vals: &[u16], n: usize, d: usize) -> (Vec<u32>, Vec<f64>) {
    let pairs = d.div_ceil(2);
    let groups = n.div_ceil(GROUP);
    let mut rows = vec![0u32; groups * pairs * GROUP];
    let mut norms = vec![0.0; n];
    for i in 0..n {
        let v = |c: usize| if c < d { vals[i * d + c] } else { 0 };
        for j in 0..pairs {
            rows[((i / GROUP) * pairs + j) * GROUP + i % GROUP] = pack_pair(v(2 * j), v(2 * j + 1));
        }
        norms[i] = (0..d).map(|c| (from_bf16(v(c)) as f64).powi(2)).sum();
    }
    (rows, norms)
}

fn query(vals: &[u16]) -> (Vec<u32>, f64) {
    let q: Vec<u32> = vals
        .chunks(2)
        .map(|c| pack_pair(c[0], c.get(1).copied().unwrap_or(0)))
        .collect();
    (q, vals.iter().map(|&v| (from_bf16(v) as f64).powi(2)).sum())
}

fn run(isa: Isa, q: &[u32], qq: f64, rows: &[u32], norms: &[f64], out: &mut [f64]) {
    let xx: Vec<f32> = norms.iter().map(|&x| x as f32).collect();
    SketchKernel::new(isa)
        .unwrap()
        .sq_dist(q, rows, &xx, qq as f32, out);
}

/// The kernel on `isa` and the exact values for query `qv` against the `n` rows of
/// `vals`: `(kernel, exact, the query's pair count and squared norm, row norms)`.
fn kernel_and_exact(
    isa: Isa,
    vals: &[u16],
    qv: &[u16],
    n: usize,
) -> (Vec<f64>, Vec<f64>, usize, f64, Vec<f64>) {
    let (rows, norms) = layout(vals, n, qv.len());
    let (q, qq) = query(qv);
    let mut got = vec![f64::NAN; n];
    let mut exact = vec![0.0; n];
    run(isa, &q, qq, &rows, &norms, &mut got);
    sq_dist_exact(&q, &rows, &mut exact);
    (got, exact, q.len(), qq, norms)
}

#[test]
fn every_available_level_is_within_the_error_bound() {
    let mut rng = Rng(7);
    for &isa in isa::available() {
        for d in 1..=40 {
            for n in [1, 5, 15, 16, 17, 31, 32, 33, 50] {
                for scale in [1e-9, 1e-3, 1.0, 1e3, 1e9] {
                    let vals: Vec<u16> = (0..n * d).map(|_| to_bf16((rng.sym() * scale) as f32)).collect();
                    let qv: Vec<u16> = (0..d).map(|_| to_bf16((rng.sym() * scale) as f32)).collect();
                    let (got, exact, pairs, qq, norms) = kernel_and_exact(isa, &vals, &qv, n);
                    for i in 0..n {
                        let e = error_bound(pairs, qq.sqrt(), norms[i].sqrt());
                        assert!(
                            (got[i] - exact[i]).abs() <= e,
                            "{isa} d={d} n={n} scale={scale} row {i}: {} vs exact {} (bound {e})",
                            got[i],
                            exact[i]
                        );
                    }
                }
            }
        }
    }
}

#[test]
fn small_integers_are_exact_on_every_level() {
    // Integers up to 8 in bf16: products, sums and norms below 2^24 are exact in f32.
    let mut rng = Rng(11);
    for &isa in isa::available() {
        for d in [1, 2, 3, 7, 8, 31, 32, 33] {
            for n in [1, 16, 17, 40] {
                let mut int = || to_bf16((rng.next() % 17) as f32 - 8.0);
                let vals: Vec<u16> = (0..n * d).map(|_| int()).collect();
                let qv: Vec<u16> = (0..d).map(|_| int()).collect();
                let (got, exact, ..) = kernel_and_exact(isa, &vals, &qv, n);
                assert_eq!(got, exact, "{isa} d={d} n={n}");
            }
        }
    }
}

#[test]
fn the_bound_is_tight_enough_to_use() {
    // 32 coordinates of norm 1: a few parts in a million of the squared norms.
    let e = error_bound(16, 1.0, 1.0);
    assert!(e > 0.0 && e < 1e-5, "{e}");
    assert!(error_bound(1 << 23, 1.0, 1.0).is_infinite());
}

#[test]
fn short_layouts_panic_and_missing_levels_are_errors() {
    for isa in isa::ALL_ISAS {
        assert_eq!(SketchKernel::new(isa).is_ok(), isa.is_available(), "{isa}");
    }
    let k = SketchKernel::new(Isa::Scalar).unwrap();
    let q = [0u32; 3];
    let short = std::panic::catch_unwind(|| {
        let mut out = [0.0; 17];
        // 17 rows need two groups: 2·3·16 words.
        k.sq_dist(&q, &[0; 3 * GROUP], &[0.0; 17], 0.0, &mut out);
    });
    assert!(short.is_err());
    let few_norms = std::panic::catch_unwind(|| {
        let mut out = [0.0; 16];
        k.sq_dist(&q, &[0; 3 * GROUP], &[0.0; 15], 0.0, &mut out);
    });
    assert!(few_norms.is_err());
}
