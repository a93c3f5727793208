//! The counting-sort CSR builder against a sort-based reference, on seeded inputs,
//! for 1, 2 and 4 threads.

use pcct_arenas::{offsets_from_lengths_in, Arena, Csr, CsrBuilder, CsrError, CsrRef};
use std::sync::atomic::{AtomicUsize, Ordering};

/// SplitMix64, seeded.
struct Rng(u64);
impl Rng {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }
    fn below(&mut self, n: u64) -> u64 {
        self.next() % n
    }
}

fn pool(threads: usize) -> rayon::ThreadPool {
    rayon::ThreadPoolBuilder::new()
        .num_threads(threads)
        .build()
        .unwrap()
}

/// The reference: a stable comparison sort by key, then grouping (and keep-first dedupe).
fn reference(num_keys: usize, pairs: &[(u32, u32)], dedupe: bool) -> (Vec<u32>, Vec<u32>) {
    let mut sorted = pairs.to_vec();
    sorted.sort_by_key(|p| p.0); // stable
    let mut offsets = vec![0u32; num_keys + 1];
    let mut values = Vec::new();
    let mut i = 0;
    for key in 0..num_keys {
        let start = values.len();
        while i < sorted.len() && sorted[i].0 as usize == key {
            let v = sorted[i].1;
            if !dedupe || !values[start..].contains(&v) {
                values.push(v);
            }
            i += 1;
        }
        offsets[key + 1] = values.len() as u32;
    }
    (offsets, values)
}

fn check(name: &str, num_keys: usize, pairs: &[(u32, u32)]) {
    for dedupe in [false, true] {
        let (ro, rv) = reference(num_keys, pairs, dedupe);
        for threads in [1, 2, 4] {
            let b = CsrBuilder::new(num_keys).dedupe(dedupe);
            let csr = b.from_pairs(&pool(threads), pairs).unwrap();
            assert_eq!(
                csr.offsets(),
                &ro[..],
                "{name}: offsets, {threads} threads, dedupe {dedupe}"
            );
            assert_eq!(
                csr.values(),
                &rv[..],
                "{name}: values, {threads} threads, dedupe {dedupe}"
            );
            let max = rv.iter().copied().max().unwrap_or(0);
            csr.view().check_bound(max.saturating_add(1)).unwrap();
            if !rv.is_empty() {
                assert!(
                    csr.view().check_bound(max).is_err(),
                    "{name}: the largest value is out of bound"
                );
            }
        }
    }
}

fn random_pairs(rng: &mut Rng, n: usize, num_keys: usize, value_range: u64) -> Vec<(u32, u32)> {
    (0..n)
        .map(|_| (rng.below(num_keys as u64) as u32, rng.below(value_range) as u32))
        .collect()
}

#[test]
fn random_keys_and_values() {
    let mut rng = Rng(1);
    for (n, k) in [
        (1, 1),
        (10, 3),
        (1000, 17),
        (5000, 1000),
        (20_000, 100),
        (3000, 70_000),
    ] {
        let pairs = random_pairs(&mut rng, n, k, 1 << 30);
        check(&format!("random n={n} K={k}"), k, &pairs);
    }
}

#[test]
fn duplicate_values_with_and_without_dedupe() {
    let mut rng = Rng(2);
    for (n, k, range) in [(2000, 10, 8), (5000, 3, 100), (3000, 50, 3)] {
        let pairs = random_pairs(&mut rng, n, k, range);
        check(&format!("dups n={n} K={k} values<{range}"), k, &pairs);
    }
    // A long row (> 32 values) with repeats exercises the sort-based dedupe path.
    let pairs: Vec<(u32, u32)> = (0..500).map(|i| (0, (i * 7 % 40) as u32)).collect();
    check("one long row", 2, &pairs);
}

#[test]
fn all_keys_equal() {
    let mut rng = Rng(3);
    let pairs: Vec<(u32, u32)> = (0..10_000).map(|_| (5, rng.below(1000) as u32)).collect();
    check("all keys equal", 8, &pairs);
}

#[test]
fn every_key_distinct() {
    let mut rng = Rng(4);
    let n = 4096;
    let mut keys: Vec<u32> = (0..n as u32).collect();
    for i in (1..n).rev() {
        keys.swap(i, rng.below(i as u64 + 1) as usize);
    }
    let pairs: Vec<(u32, u32)> = keys.iter().map(|&k| (k, rng.below(1 << 20) as u32)).collect();
    check("every key distinct", n, &pairs);
}

#[test]
fn empty_input_and_tiny_key_spaces() {
    check("empty, K=0", 0, &[]);
    check("empty, K=5", 5, &[]);
    check("K=1", 1, &[(0, 3), (0, 1), (0, 3)]);
}

#[test]
fn two_to_the_twenty_keys() {
    let mut rng = Rng(5);
    let k = 1 << 20;
    let pairs = random_pairs(&mut rng, 200_000, k, 1 << 16);
    check("K=2^20", k, &pairs);
}

#[test]
fn producer_closure_matches_materialized_pairs() {
    // Item i emits i % 5 pairs: (i*j mod K, i + j) for j < i % 5.
    let k = 97;
    let n = 3000;
    let emit_all = |i: usize, out: &mut dyn FnMut(u32, u32)| {
        for j in 0..i % 5 {
            out(((i * (j + 3)) % k) as u32, (i + j) as u32);
        }
    };
    let mut pairs = Vec::new();
    for i in 0..n {
        emit_all(i, &mut |key, v| pairs.push((key, v)));
    }
    let (ro, rv) = reference(k, &pairs, false);
    for threads in [1, 2, 4] {
        let csr = CsrBuilder::new(k)
            .build_in(
                &pool(threads),
                n,
                |i, e| emit_all(i, &mut |key, v| e.emit(key, v)),
                pcct_arenas::allocator_api2::alloc::Global,
            )
            .unwrap();
        assert_eq!(csr.offsets(), &ro[..], "{threads} threads");
        assert_eq!(csr.values(), &rv[..], "{threads} threads");
    }
}

#[test]
fn key_out_of_range_is_an_error() {
    let err = CsrBuilder::new(4)
        .from_pairs(&pool(2), &[(1u32, 0u32), (4, 1)])
        .unwrap_err();
    assert_eq!(err, CsrError::KeyOutOfRange { key: 4, num_keys: 4 });
    let err = CsrBuilder::new(0)
        .from_pairs(&pool(1), &[(0u32, 0u32)])
        .unwrap_err();
    assert_eq!(err, CsrError::KeyOutOfRange { key: 0, num_keys: 0 });
}

#[test]
fn a_producer_that_changes_its_mind_is_an_error_not_a_wrong_csr() {
    for threads in [1, 2] {
        // First pass: items emit key 0; second pass: key 1 (counts differ per key).
        let calls = AtomicUsize::new(0);
        let n = 100;
        let r = CsrBuilder::new(2).build_in(
            &pool(threads),
            n,
            |i, e| {
                let pass = calls.fetch_add(1, Ordering::Relaxed) / n;
                e.emit(pass as u32 % 2, i as u32);
            },
            pcct_arenas::allocator_api2::alloc::Global,
        );
        assert_eq!(
            r.unwrap_err(),
            CsrError::ProducerNotDeterministic,
            "{threads} threads"
        );
        // Second pass emits one pair fewer.
        let calls = AtomicUsize::new(0);
        let r = CsrBuilder::new(2).build_in(
            &pool(threads),
            n,
            |i, e| {
                if calls.fetch_add(1, Ordering::Relaxed) != n + 7 {
                    e.emit(0, i as u32);
                }
            },
            pcct_arenas::allocator_api2::alloc::Global,
        );
        assert_eq!(
            r.unwrap_err(),
            CsrError::ProducerNotDeterministic,
            "{threads} threads"
        );
    }
}

#[test]
fn building_in_an_arena_after_the_first_reset_allocates_nothing_new() {
    let pool = pool(2);
    let mut rng = Rng(6);
    let pairs = random_pairs(&mut rng, 50_000, 4096, 1 << 20);
    let builder = CsrBuilder::new(4096).dedupe(true);
    let mut arena = Arena::new();
    let first = {
        let csr = builder.from_pairs_in(&pool, &pairs, arena.bump()).unwrap();
        csr.values().to_vec()
    };
    arena.reset();
    let after_first_reset = arena.allocated_bytes();
    let chunks = arena.chunk_allocations();
    assert!(after_first_reset > 0);
    for round in 0..100 {
        {
            let csr = builder.from_pairs_in(&pool, &pairs, arena.bump()).unwrap();
            assert_eq!(csr.values(), &first[..], "round {round}");
        }
        assert_eq!(
            arena.allocated_bytes(),
            after_first_reset,
            "round {round}: the arena grew"
        );
        arena.reset();
        assert_eq!(
            arena.allocated_bytes(),
            after_first_reset,
            "round {round}: reset changed holdings"
        );
    }
    assert_eq!(
        arena.chunk_allocations(),
        chunks,
        "a reset had to allocate a new chunk"
    );
    assert_eq!(arena.high_water(), after_first_reset);
}

#[test]
fn csr_constructors_check_every_invariant() {
    assert_eq!(CsrRef::new(&[], &[1u32]).unwrap_err(), CsrError::NoOffsets);
    assert_eq!(
        CsrRef::new(&[1, 1], &[1u32]).unwrap_err(),
        CsrError::FirstOffsetNotZero(1)
    );
    assert_eq!(
        CsrRef::new(&[0, 2, 1, 3], &[1u32, 2, 3]).unwrap_err(),
        CsrError::DecreasingOffsets { row: 1 }
    );
    assert_eq!(
        CsrRef::new(&[0, 2], &[1u32]).unwrap_err(),
        CsrError::LastOffsetMismatch { last: 2, len: 1 }
    );
    let ok = CsrRef::new(&[0, 2, 2, 3], &[5u32, 6, 9]).unwrap();
    assert_eq!(ok.num_rows(), 3);
    assert_eq!(ok.row(1), &[] as &[u32]);
    assert_eq!(ok.rows().map(|r| r.len()).collect::<Vec<_>>(), vec![2, 0, 1]);
    assert_eq!(
        ok.check_bound(9).unwrap_err(),
        CsrError::ValueOutOfBound { index: 2 }
    );
    ok.check_bound(10).unwrap();
    let owned = Csr::new(&[0, 1], &[4u32]).unwrap();
    assert_eq!(owned.row(0), &[4]);
    assert!(Csr::new(&[0, 3], &[4u32]).is_err());
}

#[test]
fn offsets_from_lengths_checks_overflow() {
    let o = offsets_from_lengths_in([2usize, 0, 3], pcct_arenas::allocator_api2::alloc::Global).unwrap();
    assert_eq!(&o[..], &[0, 2, 2, 5]);
    let big = [u32::MAX as usize, 1];
    assert_eq!(
        offsets_from_lengths_in(big, pcct_arenas::allocator_api2::alloc::Global).unwrap_err(),
        CsrError::TooManyValues(u32::MAX as u64 + 1)
    );
}

/// The counting allocator sees a vector's bytes while it lives, and its peak stays.
#[test]
fn counting_alloc_tracks_live_and_peak_bytes() {
    use std::alloc::{GlobalAlloc, Layout};
    let a = pcct_arenas::CountingAlloc::new();
    let layout = Layout::from_size_align(4096, 8).unwrap();
    // SAFETY: a valid non-zero layout; the pointer is freed with the same layout.
    let p = unsafe { a.alloc(layout) };
    assert!(!p.is_null());
    assert_eq!((a.live(), a.peak()), (4096, 4096));
    // SAFETY: `p` came from `a.alloc(layout)`.
    unsafe { a.dealloc(p, layout) };
    assert_eq!((a.live(), a.peak()), (0, 4096));
    a.reset_peak();
    assert_eq!(a.peak(), 0);
}
