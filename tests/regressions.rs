//! Named regression tests: every divergence found in review or fuzzing, pinned.

mod common;

use common::pool;
use pcct::metric::euclidean_distance;
use pcct::query::{brute_force_knn, brute_force_self_knn};
use pcct::{Dataset, Euclidean, Metric, Tree};

/// Found in review: f64 points closer than ~1e-154 had squared differences that
/// underflowed to 0, so a distinct point was stored as a duplicate and reported at
/// its twin's distance. The canonical distance now rescales tiny sums.
#[test]
fn underflowing_f64_differences_are_not_duplicates() {
    let data = [0.0, 1e-170, 3e-170, -2e-171];
    let m = Euclidean::new(Dataset::from_rows(&data, 4, 1).unwrap()).unwrap();
    assert_eq!(m.distance(&m, 0, 1), 1e-170);
    let tree = Tree::build_sequential(m.clone()).unwrap();
    assert!(tree.validate().is_empty(), "{:?}", tree.validate());
    assert_eq!(tree.shape().duplicates, 0);
    let q = Euclidean::new(Dataset::from_rows(&[1e-160, 2e-170], 2, 1).unwrap()).unwrap();
    let p = pool(2);
    let (got, _) = tree.knn(&q, 4).run(&p).unwrap();
    assert_eq!(got, brute_force_knn(&m, &q, 4, &p).unwrap());
    // Ranked by the canonical distance, written out here.
    let (ids, dists) = got.row(0);
    let mut expect: Vec<(f64, u32)> = (0..4)
        .map(|j| (euclidean_distance(&[1e-160], &[data[j]]), j as u32))
        .collect();
    expect.sort_by(|a, b| a.partial_cmp(b).unwrap());
    assert_eq!(ids, expect.iter().map(|e| e.1).collect::<Vec<_>>());
    assert_eq!(dists, expect.iter().map(|e| e.0).collect::<Vec<_>>());
    let (own, _) = tree.self_knn(1).run(&p).unwrap();
    assert_eq!(own, brute_force_self_knn(&m, 1, &p).unwrap());
    assert!(own.dists().iter().all(|&d| d > 0.0));
}

/// Found in review: for f32 data with millions of dimensions the kernels' relative
/// error bound reaches 1, which made the upper bounds negative and emptied every row.
/// Such bounds are now ignored (no pruning, exact resolution of every candidate).
#[test]
fn error_bounds_above_one_half_disable_pruning_instead_of_answers() {
    let (n, dim) = (4, 4_300_000);
    let values: Vec<f32> = (0..n * dim)
        .map(|i| ((i * 7919) % 1013) as f32 / 1013.0)
        .collect();
    let m = Euclidean::new(Dataset::from_rows(&values, n, dim).unwrap()).unwrap();
    assert!(
        m.errors().approx_rel >= 0.5,
        "the case needs a loose bound: {:?}",
        m.errors()
    );
    let tree = Tree::build_sequential(m.clone()).unwrap();
    let p = pool(1);
    let (got, _) = tree.knn(&m, 2).run(&p).unwrap();
    assert_eq!(got, brute_force_knn(&m, &m, 2, &p).unwrap());
    assert!(got.ids().iter().all(|&i| i != pcct::tree::NONE));
}

/// Issue: a group of identical points offered every duplicate to each query's result,
/// one at a time — quadratic in the group (10^5 identical rows took over a minute for
/// self-kNN). Only the k smallest admitted ids of a group can be answers: every path
/// returns them and offers O(k) points per query (`QueryStats::offers`).
#[test]
fn a_big_group_of_identical_points_answers_by_smallest_ids() {
    let (n, k) = (100_000usize, 10usize);
    let m = Euclidean::new(Dataset::from_rows(&vec![0.25f64; n * 2], n, 2).unwrap()).unwrap();
    let p = pool(2);
    let tree = Tree::build(m, &p).unwrap();
    assert!(tree.validate().is_empty(), "{:?}", tree.validate());
    for via in [pcct::Via::Auto, pcct::Via::Tree, pcct::Via::Scan, pcct::Via::Kd] {
        let (own, own_stats) = tree.self_knn(k).via(via).run(&p).unwrap();
        let (pred, pred_stats) = tree.predecessor_knn(k).via(via).run(&p).unwrap();
        // O(k) per query, not O(group): at most the node and k of its duplicates each
        // (the engine's probe queries, at most 64, may be answered twice).
        for (kind, stats) in [("self", own_stats), ("predecessor", pred_stats)] {
            assert!(
                stats.offers <= ((k + 1) * (n + 64)) as u64,
                "{via:?} {kind}: {} offers for {n} queries",
                stats.offers
            );
        }
        for i in [0usize, 1, 5, 9, 10, 11, 777, n - 1] {
            let others: Vec<u32> = (0..n as u32).filter(|&j| j as usize != i).take(k).collect();
            assert_eq!(own.row(i).0, &others[..], "{via:?} self row {i}");
            assert!(own.row(i).1.iter().all(|&d| d == 0.0), "{via:?} self row {i}");
            let before: Vec<u32> = (0..i.min(k) as u32).collect();
            assert_eq!(
                &pred.row(i).0[..before.len()],
                &before[..],
                "{via:?} predecessor row {i}"
            );
            assert!(pred.row(i).0[before.len()..]
                .iter()
                .all(|&j| j == pcct::tree::NONE));
        }
    }
}

/// Issue: a range query over a big group of identical points returns the whole group for
/// every query; `max_pairs` turns an answer past the limit into a clear error instead of
/// a memory blow-up, on every path, and an answer within it is whole.
#[test]
fn range_answers_past_their_limit_are_refused() {
    let (n, nq) = (20_000usize, 200usize);
    let m = Euclidean::new(Dataset::from_rows(&vec![0.5f64; n * 2], n, 2).unwrap()).unwrap();
    let q = Euclidean::new(Dataset::from_rows(&vec![0.5f64; nq * 2], nq, 2).unwrap()).unwrap();
    let p = pool(2);
    let tree = Tree::build(m, &p).unwrap();
    for via in [pcct::Via::Auto, pcct::Via::Tree, pcct::Via::Scan, pcct::Via::Kd] {
        let err = tree
            .range(&q, 0.0)
            .via(via)
            .max_pairs(n * nq - 1)
            .run(&p)
            .unwrap_err();
        assert!(err.to_string().contains("max_pairs"), "{via:?}: {err}");
        let (all, _) = tree.range(&q, 0.0).via(via).max_pairs(n * nq).run(&p).unwrap();
        for i in [0, nq / 2, nq - 1] {
            let want: Vec<u32> = (0..n as u32).collect();
            assert_eq!(all.row(i).0, &want[..], "{via:?} row {i}");
        }
    }
}
