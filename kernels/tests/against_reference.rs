//! Every ISA level the CPU has, against the scalar `f64` reference.
//!
//! Coverage: dimensions 0..=130 (every tail length of every vector width), row
//! counts 0..=2W+1 (W = the widest vector in elements), unaligned starts, padding
//! between rows poisoned with NaN (a kernel that reads it fails), magnitudes from
//! 1e-150 to 1e150 for f64 and 1e-15 to 1e15 for f32 (the f32 range whose squared
//! sums stay finite), ±0, and equal rows (distance exactly 0).
//!
//! Tolerances: a result `x` computed in type T with `dim` terms must satisfy
//! `|x − ref| ≤ 2·(dim + 4)·ε_T·S + (dim + 1)·min_positive_T`, where `S` is the sum
//! of the absolute values of the terms (`ref` itself for squared distances and
//! norms, `Σ|a_j b_j|` for dot products): the standard bound for a sum of `dim`
//! rounded products, plus the rounding of the differences and of the result.

#![allow(clippy::needless_range_loop)] // row index i names both out[i] and row(i)

use pcct_kernels::reference::{abs_dot_f64, dot_f64, sq_dist_f64};
use pcct_kernels::{isa, Element, Isa, IsaError, Kernels, Rows};

/// SplitMix64: small, seeded, good enough for test data.
struct Rng(u64);
impl Rng {
    fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }
    /// Uniform in [-1, 1).
    fn sym(&mut self) -> f64 {
        (self.next_u64() >> 11) as f64 / (1u64 << 52) as f64 - 1.0
    }
}

trait TestElem: Element {
    const MIN_POS: f64;
    /// Scales cycled through by the tests: tiny, small, unit, large, huge.
    const SCALES: [f64; 5];
}
impl TestElem for f32 {
    const MIN_POS: f64 = f32::MIN_POSITIVE as f64;
    const SCALES: [f64; 5] = [1e-15, 1e-6, 1.0, 1e6, 1e15];
}
impl TestElem for f64 {
    const MIN_POS: f64 = f64::MIN_POSITIVE;
    const SCALES: [f64; 5] = [1e-150, 1e-20, 1.0, 1e20, 1e150];
}

/// A value at `scale`, with exact +0 and −0 sprinkled in.
fn value<T: TestElem>(rng: &mut Rng, scale: f64) -> T {
    match rng.next_u64() % 16 {
        0 => T::from_f64(0.0),
        1 => T::from_f64(-0.0),
        _ => T::from_f64(rng.sym() * scale),
    }
}

fn within<T: TestElem>(got: T, reference: f64, abs_scale: f64, dim: usize) -> bool {
    let tol = 2.0 * (dim as f64 + 4.0) * T::EPSILON * abs_scale + (dim as f64 + 1.0) * T::MIN_POS;
    let g = got.to_f64();
    g.is_finite() && (g - reference).abs() <= tol
}

/// The widest vector of any level, in elements of T.
fn max_lanes<T: Element>() -> usize {
    64 / T::BYTES
}

fn check_isa<T: TestElem>(isa: Isa) {
    let k = Kernels::<T>::new(isa).expect("available level");
    assert_eq!(k.isa(), isa);
    let w = max_lanes::<T>();
    let nan = T::from_f64(f64::NAN);
    let mut rng = Rng(0x5eed_0000 + isa as u64);
    let mut case = 0usize;
    for dim in 0..=130usize {
        for n in 0..=2 * w + 1 {
            case += 1;
            let scale = T::SCALES[case % T::SCALES.len()];
            let offset = (dim * 7 + n) % 5; // unaligned starts
            let pad = [0, 1, 3][n % 3];
            let stride = dim + pad;
            // rows start at `offset`; padding and anything past the rows is NaN.
            let mut buf = vec![nan; offset + n * stride + 2];
            for i in 0..n {
                for j in 0..dim {
                    buf[offset + i * stride + j] = value(&mut rng, scale);
                }
            }
            let rows = &buf[offset..];
            let qoff = (dim + 3 * n) % 3;
            let mut qbuf = vec![nan; qoff + dim + 1];
            for j in 0..dim {
                qbuf[qoff + j] = value(&mut rng, scale);
            }
            let q = &qbuf[qoff..qoff + dim];
            let row = |i: usize| &rows[i * stride..i * stride + dim];

            let mut out = vec![nan; n];
            k.sq_dist_block(q, rows, stride, &mut out);
            for i in 0..n {
                let r = sq_dist_f64(q, row(i));
                assert!(
                    within(out[i], r, r, dim),
                    "{isa} {} sq_dist_block dim {dim} n {n} row {i}: got {:?}, reference {r:e}",
                    std::any::type_name::<T>(),
                    out[i]
                );
                let one = k.sq_dist(q, row(i));
                assert!(
                    within(one, r, r, dim),
                    "{isa} sq_dist dim {dim} row {i}: {one:?} vs {r:e}"
                );
            }

            let mut out = vec![nan; n];
            k.dot_block(q, rows, stride, &mut out);
            for i in 0..n {
                let r = dot_f64(q, row(i));
                let s = abs_dot_f64(q, row(i));
                assert!(
                    within(out[i], r, s, dim),
                    "{isa} {} dot_block dim {dim} n {n} row {i}: got {:?}, reference {r:e}",
                    std::any::type_name::<T>(),
                    out[i]
                );
                let one = k.dot(q, row(i));
                assert!(
                    within(one, r, s, dim),
                    "{isa} dot dim {dim} row {i}: {one:?} vs {r:e}"
                );
            }

            let mut out = vec![nan; n];
            k.sq_norm_block(rows, dim, stride, &mut out);
            for i in 0..n {
                let r = dot_f64(row(i), row(i));
                assert!(
                    within(out[i], r, r, dim),
                    "{isa} {} sq_norm_block dim {dim} n {n} row {i}: got {:?}, reference {r:e}",
                    std::any::type_name::<T>(),
                    out[i]
                );
                let one = k.sq_norm(row(i));
                assert!(
                    within(one, r, r, dim),
                    "{isa} sq_norm dim {dim} row {i}: {one:?} vs {r:e}"
                );
            }
        }
    }
}

fn check_equal_rows_are_zero<T: TestElem>(isa: Isa) {
    let k = Kernels::<T>::new(isa).unwrap();
    let mut rng = Rng(77);
    for dim in 0..=130usize {
        for &scale in &T::SCALES {
            let q: Vec<T> = (0..dim).map(|_| value(&mut rng, scale)).collect();
            // the same values, with every zero's sign flipped: still distance 0.
            let flipped: Vec<T> = q
                .iter()
                .map(|&x| {
                    if x.to_f64() == 0.0 {
                        T::from_f64(-x.to_f64())
                    } else {
                        x
                    }
                })
                .collect();
            let n = 9;
            let mut rows = Vec::with_capacity(n * dim);
            for i in 0..n {
                rows.extend_from_slice(if i % 2 == 0 { &q } else { &flipped });
            }
            let mut out = vec![T::from_f64(1.0); n];
            k.sq_dist_block(&q, &rows, dim, &mut out);
            for (i, &o) in out.iter().enumerate() {
                assert_eq!(
                    o.to_f64(),
                    0.0,
                    "{isa} dim {dim} row {i}: equal rows not at distance 0"
                );
            }
            assert_eq!(
                k.sq_dist(&q, &flipped).to_f64(),
                0.0,
                "{isa} dim {dim}: sq_dist of equal rows"
            );
        }
    }
}

/// Several queries against one block: every query count (the four-query groups and
/// the rest), row counts around the lane width (the four-row steps and the rows left
/// over), short rows (per query) and long ones (the tile), dimensions with and without
/// tails; queries and rows each in their own buffer
/// surrounded by NaN, so a read past a row or a query shows.
fn check_multi<T: TestElem>(isa: Isa) {
    let k = Kernels::<T>::new(isa).unwrap();
    let w = max_lanes::<T>();
    let nan = T::from_f64(f64::NAN);
    let mut rng = Rng(0x3a17_0000 + isa as u64);
    let dims = (0..=4 * w + 1).chain([63, 64, 65, 127, 128, 129, 130]);
    for (case, dim) in dims.enumerate() {
        let scale = T::SCALES[case % T::SCALES.len()];
        for nq in 0..=9usize {
            let n = (case * 5 + nq * 3) % (2 * w + 2);
            let stride = dim + [0, 1, 3][nq % 3];
            let mut buf = vec![nan; 1 + n * stride + 2];
            for i in 0..n {
                for j in 0..dim {
                    buf[1 + i * stride + j] = value(&mut rng, scale);
                }
            }
            let rows = &buf[1..];
            let qbufs: Vec<Vec<T>> = (0..nq)
                .map(|_| {
                    let mut b = vec![nan; dim + 2];
                    for x in &mut b[1..=dim] {
                        *x = value(&mut rng, scale);
                    }
                    b
                })
                .collect();
            let qs: Vec<&[T]> = qbufs.iter().map(|b| &b[1..=dim]).collect();
            let mut sq = vec![nan; nq * n];
            let mut dt = vec![nan; nq * n];
            k.sq_dist_multi(&qs, rows, stride, &mut sq);
            k.dot_multi(&qs, rows, stride, &mut dt);
            for (a, q) in qs.iter().enumerate() {
                for i in 0..n {
                    let row = &rows[i * stride..i * stride + dim];
                    let r = sq_dist_f64(q, row);
                    assert!(
                        within(sq[a * n + i], r, r, dim),
                        "{isa} {} sq_dist_multi dim {dim} queries {nq} rows {n} ({a},{i}): got {:?}, reference {r:e}",
                        std::any::type_name::<T>(),
                        sq[a * n + i]
                    );
                    let r = dot_f64(q, row);
                    assert!(
                        within(dt[a * n + i], r, abs_dot_f64(q, row), dim),
                        "{isa} {} dot_multi dim {dim} queries {nq} rows {n} ({a},{i}): got {:?}, reference {r:e}",
                        std::any::type_name::<T>(),
                        dt[a * n + i]
                    );
                }
            }
        }
    }
}

#[test]
fn multi_query_blocks_match_reference() {
    for &isa in isa::available() {
        check_multi::<f32>(isa);
        check_multi::<f64>(isa);
    }
}

#[test]
#[should_panic(expected = "differ in length")]
fn multi_queries_of_different_lengths_panic() {
    let k = Kernels::<f64>::new(Isa::Scalar).unwrap();
    let (a, b) = ([1.0; 3], [1.0; 2]);
    k.sq_dist_multi(&[&a, &b], &[0.0; 3], 3, &mut [0.0; 2]);
}

fn check_tiles<T: TestElem>(isa: Isa) {
    let k = Kernels::<T>::new(isa).unwrap();
    let mut rng = Rng(4242);
    for dim in [0usize, 1, 3, 7, 8, 9, 17, 33, 130] {
        for (na, nb) in [(0, 5), (1, 1), (3, 5), (6, 17)] {
            let (sa, sb) = (dim + 1, dim + 2);
            let a: Vec<T> = (0..na * sa).map(|_| value(&mut rng, 1.0)).collect();
            let b: Vec<T> = (0..nb * sb).map(|_| value(&mut rng, 1.0)).collect();
            let mut sq = vec![T::from_f64(f64::NAN); na * nb];
            let mut dt = vec![T::from_f64(f64::NAN); na * nb];
            let ra = Rows::new(&a, dim, sa, na).unwrap();
            let rb = Rows::new(&b, dim, sb, nb).unwrap();
            k.sq_dist_tile(ra, rb, &mut sq);
            k.dot_tile(ra, rb, &mut dt);
            for i in 0..na {
                for j in 0..nb {
                    let (x, y) = (&a[i * sa..i * sa + dim], &b[j * sb..j * sb + dim]);
                    let r = sq_dist_f64(x, y);
                    assert!(
                        within(sq[i * nb + j], r, r, dim),
                        "{isa} tile dim {dim} ({i},{j})"
                    );
                    let r = dot_f64(x, y);
                    assert!(
                        within(dt[i * nb + j], r, abs_dot_f64(x, y), dim),
                        "{isa} dot tile dim {dim} ({i},{j})"
                    );
                }
            }
        }
    }
}

#[test]
fn every_available_isa_matches_reference_f32() {
    for &isa in isa::available() {
        check_isa::<f32>(isa);
    }
}

#[test]
fn every_available_isa_matches_reference_f64() {
    for &isa in isa::available() {
        check_isa::<f64>(isa);
    }
}

#[test]
fn equal_rows_have_distance_exactly_zero() {
    for &isa in isa::available() {
        check_equal_rows_are_zero::<f32>(isa);
        check_equal_rows_are_zero::<f64>(isa);
    }
}

#[test]
fn tiles_match_reference() {
    for &isa in isa::available() {
        check_tiles::<f32>(isa);
        check_tiles::<f64>(isa);
    }
}

#[test]
fn scalar_and_portable_are_always_available() {
    assert!(Isa::Scalar.is_available());
    assert!(Isa::Portable.is_available());
    assert_eq!(isa::available()[0], Isa::Scalar);
    assert_eq!(isa::best(), *isa::available().last().unwrap());
}

#[test]
fn unavailable_levels_are_errors_never_fallbacks() {
    for isa in isa::ALL_ISAS {
        assert_eq!(Kernels::<f32>::new(isa).is_ok(), isa.is_available(), "{isa}");
        assert_eq!(Kernels::<f64>::new(isa).is_ok(), isa.is_available(), "{isa}");
        match isa::resolve(Some(isa.name())) {
            Ok(choice) => {
                assert!(isa.is_available());
                assert_eq!(choice, isa::IsaChoice::Forced(isa));
            }
            Err(e) => {
                assert!(!isa.is_available());
                assert_eq!(e, IsaError::Unavailable(isa));
            }
        }
    }
    assert!(matches!(
        isa::resolve(Some("sse9")),
        Err(IsaError::UnknownName(_))
    ));
    assert_eq!(isa::resolve(None), Ok(isa::IsaChoice::Detected(isa::best())));
    assert_eq!(Isa::from_name("AVX2FMA"), Ok(Isa::Avx2Fma));
}

/// With `PCCT_ISA` set, the forced level must be the active one: a level the CPU
/// lacks fails here rather than being skipped.
#[test]
fn forced_isa_from_environment_is_honoured() {
    let env = std::env::var(isa::ISA_ENV).ok().filter(|v| !v.trim().is_empty());
    let k = Kernels::<f32>::active();
    match env {
        Some(v) => {
            let k = k.unwrap_or_else(|e| panic!("{}={v}: {e}", isa::ISA_ENV));
            assert_eq!(k.isa(), Isa::from_name(&v).unwrap());
        }
        None => assert_eq!(k.unwrap().isa(), isa::best()),
    }
}

#[test]
#[should_panic(expected = "need")]
fn short_block_panics_with_message() {
    let k = Kernels::<f32>::new(isa::best()).unwrap();
    let mut out = [0.0f32; 3];
    k.sq_dist_block(&[0.0; 4], &[0.0; 8], 4, &mut out);
}

#[test]
fn rows_view_rejects_bad_shapes() {
    let data = [0.0f32; 10];
    assert_eq!(Rows::new(&data, 3, 4, 2).unwrap().n(), 2); // needs 4 + 3 = 7
    assert_eq!(Rows::new(&data, 3, 3, 3).unwrap().row(2), &data[6..9]);
    assert!(Rows::new(&data, 3, 4, 3).is_none()); // needs 2·4 + 3 = 11 > 10
    assert!(Rows::new(&data, 4, 3, 2).is_none());
    assert!(Rows::new(&data, 11, 11, 1).is_none());
    assert!(Rows::new(&data, 0, 0, 0).is_some());
}
