//! Every query kind against the naive oracle: ids and distances exactly equal
//! (ties by smaller id), over seeded datasets from every generator, d ∈ {1, 2, 3, 8, 32},
//! k ∈ {1, 8, n}, f64 and f32 storage; `validate()` after every build; the public
//! brute force checked too; answers identical for 1 and 2 threads and along every
//! forced query path (tree, scan, k-d).

mod common;

use common::*;
use pcct::build::Order;
use pcct::kernels::Element;
use pcct::query::{brute_force_knn, brute_force_predecessor_knn, brute_force_range, brute_force_self_knn};
use pcct::{datagen, BuildOptions, Euclidean, Flat, Metric, Neighbors, Tree, Via};

/// The forced query paths besides the engine's choice: the tree, the scan, and the
/// k-d index where it exists (Euclidean, at most 16 dimensions).
fn vias(dim: usize) -> Vec<Via> {
    let mut v = vec![Via::Tree, Via::Scan];
    if dim <= 16 {
        v.push(Via::Kd);
    }
    v
}

fn assert_rows<T: Element>(what: &str, got: &Neighbors, expect: impl Fn(usize) -> (Vec<u32>, Vec<f64>)) {
    for i in 0..got.len() {
        let (ids, ds) = got.row(i);
        let (eids, eds) = expect(i);
        assert_eq!(
            ids,
            &eids[..],
            "{what}: ids of query {i} ({})",
            std::any::type_name::<T>()
        );
        assert_eq!(ds, &eds[..], "{what}: distances of query {i}");
    }
}

/// Checks every query kind on the sequential tree, on parallel builds (Hilbert and
/// random order; a tiny pair budget so that batches get cut) and on a flat tree.
fn check_case<T: Element>(case: &Case, ks: &[usize]) {
    let m = euclidean::<T>(&case.values, case.n, case.dim);
    let sequential = Tree::build_sequential(m.clone()).unwrap();
    // Without buckets every query descends the whole tree (these trees are mostly one
    // bucket otherwise).
    check_tree(case, "sequential, no buckets", sequential.relayout(1), ks);
    check_tree(case, "sequential", sequential, ks);
    for (order, budget) in [(Order::Hilbert, 1 << 24), (Order::Random, 16)] {
        let opts = BuildOptions {
            seed: 5,
            order,
            pair_budget: budget,
            ..Default::default()
        };
        let (tree, _) = Tree::build_with(m.clone(), &pool(2), &opts).unwrap();
        assert!(!tree.is_flat(), "{}: too few points for a flat tree", case.name);
        check_tree(case, &format!("{order:?} budget {budget}"), tree, ks);
    }
    let flat = BuildOptions {
        flat: Flat::Always,
        ..Default::default()
    };
    let (tree, stats) = Tree::build_with(m, &pool(2), &flat).unwrap();
    assert!(tree.is_flat() && stats.flat, "{}", case.name);
    check_tree(case, "flat", tree, ks);
}

fn check_tree<T: Element>(case: &Case, builder: &str, tree: Tree<Euclidean<T>>, ks: &[usize]) {
    let (n, dim) = (case.n, case.dim);
    let m = euclidean::<T>(&case.values, n, dim);
    let data = m.dataset().clone();
    let case = &Case {
        name: format!("{} [{builder}]", case.name),
        ..case.clone()
    };
    let violations = tree.validate();
    assert!(
        violations.is_empty(),
        "{}: {:?}",
        case.name,
        &violations[..violations.len().min(5)]
    );
    assert_eq!(tree.len(), n);

    // Queries: separate points at the data's scale, plus a few data points.
    let scale = case
        .values
        .iter()
        .fold(0.0f64, |a, &b| a.max(b.abs()))
        .max(1e-300);
    let mut qv = datagen::scaled(datagen::uniform(40, dim, 99), scale);
    let own = 5.min(n);
    qv.extend_from_slice(&case.values[..own * dim]);
    let queries = euclidean::<T>(&qv, 40 + own, dim);
    let qdata = queries.dataset().clone();
    let (p1, p2) = (pool(1), pool(2));

    for &k in ks {
        let what = format!("{} k={k}", case.name);
        let (got, _) = tree.knn(&queries, k).run(&p2).unwrap();
        assert_rows::<T>(&format!("knn {what}"), &got, |i| {
            naive_knn(&data, qdata.row(i), k, |_| true)
        });
        assert_eq!(
            got,
            tree.knn(&queries, k).run(&p1).unwrap().0,
            "knn {what}: 1 vs 2 threads"
        );
        assert_eq!(
            got,
            brute_force_knn(&m, &queries, k, &p2).unwrap(),
            "brute knn {what}"
        );
        for via in vias(dim) {
            assert_eq!(
                got,
                tree.knn(&queries, k).via(via).run(&p2).unwrap().0,
                "knn {what} via {via:?}"
            );
        }

        let (got, _) = tree.self_knn(k).run(&p2).unwrap();
        assert_rows::<T>(&format!("self {what}"), &got, |i| {
            naive_knn(&data, data.row(i), k, |j| j != i as u32)
        });
        assert_eq!(
            got,
            tree.self_knn(k).run(&p1).unwrap().0,
            "self {what}: 1 vs 2 threads"
        );
        assert_eq!(
            got,
            brute_force_self_knn(&m, k, &p2).unwrap(),
            "brute self {what}"
        );
        for via in vias(dim) {
            assert_eq!(
                got,
                tree.self_knn(k).via(via).run(&p2).unwrap().0,
                "self {what} via {via:?}"
            );
        }

        let (got, _) = tree.predecessor_knn(k).run(&p2).unwrap();
        assert_rows::<T>(&format!("pred {what}"), &got, |i| {
            naive_knn(&data, data.row(i), k, |j| j < i as u32)
        });
        assert_eq!(
            got,
            tree.predecessor_knn(k).run(&p1).unwrap().0,
            "pred {what}: 1 vs 2 threads"
        );
        assert_eq!(
            got,
            brute_force_predecessor_knn(&m, k, &p2).unwrap(),
            "brute pred {what}"
        );
        for via in vias(dim) {
            assert_eq!(
                got,
                tree.predecessor_knn(k).via(via).run(&p2).unwrap().0,
                "pred {what} via {via:?}"
            );
        }
        if dim > 16 {
            assert!(
                tree.knn(&queries, k).via(Via::Kd).run(&p2).is_err(),
                "{what}: kd above 16 dims"
            );
        }
    }

    // Range at the distance of query 0's 5th neighbour, for every query (ties included).
    let (five, _) = tree.knn(&queries, 5.min(n)).run(&p1).unwrap();
    let r = five.dists()[4.min(n - 1)];
    let (got, _) = tree.range(&queries, r).run(&p2).unwrap();
    let brute = brute_force_range(&m, &queries, r, &p2).unwrap();
    for i in 0..queries.len() {
        let (eids, eds) = naive_range(&data, qdata.row(i), r);
        assert_eq!(got.row(i).0, &eids[..], "range {}: ids of query {i}", case.name);
        assert_eq!(
            got.row(i).1,
            &eds[..],
            "range {}: distances of query {i}",
            case.name
        );
        assert_eq!(brute.row(i), got.row(i), "brute range {}", case.name);
    }
    assert_eq!(
        got,
        tree.range(&queries, r).run(&p1).unwrap().0,
        "range {}: 1 vs 2 threads",
        case.name
    );
    for via in vias(case.dim) {
        assert_eq!(
            got,
            tree.range(&queries, r).via(via).run(&p2).unwrap().0,
            "range {} via {via:?}",
            case.name
        );
    }
    // Batches of at most PROBE_QUERIES (all probes) and an empty batch, on every path.
    for nq in [5, 0] {
        let few = euclidean::<T>(&qv[..nq * dim], nq, dim);
        let brute = brute_force_range(&m, &few, r, &p2).unwrap();
        assert_eq!(brute.len(), nq);
        for via in vias(dim).into_iter().chain([Via::Auto]) {
            assert_eq!(
                brute,
                tree.range(&few, r).via(via).run(&p2).unwrap().0,
                "range {} of {nq} queries via {via:?}",
                case.name
            );
        }
    }
    if dim > 16 {
        assert!(
            tree.range(&queries, r).via(Via::Kd).run(&p2).is_err(),
            "{}: range via kd above 16 dims",
            case.name
        );
    }
    // A radius at a distance that occurs (ties on the boundary) and radius 0 (the
    // query's duplicates only): every path agrees with the brute force.
    for r in [five.dists()[0], 0.0] {
        let brute = brute_force_range(&m, &queries, r, &p2).unwrap();
        for via in vias(case.dim).into_iter().chain([Via::Auto]) {
            assert_eq!(
                brute,
                tree.range(&queries, r).via(via).run(&p2).unwrap().0,
                "range {} r = {r} via {via:?}",
                case.name
            );
        }
    }
}

fn check_dims<T: Element>(n: usize, seed: u64) {
    for dim in [1, 2, 3, 8, 32] {
        for case in cases(n, dim, seed + dim as u64) {
            check_case::<T>(&case, &[1, 8, n]);
        }
    }
}

/// k around 32, where a k-NN block scan stops taking its second limit from the block
/// itself (the k-th of 32 group minima; self queries ask for one row more): k-NN with
/// k = 31 and 32 and self queries with k = 31 use it, the others go without; every
/// generator (duplicates, clusters, grids with ties) in d = 3 and 32, on every path, 1
/// and 2 threads.
#[test]
fn k_around_the_block_bound_matches_the_oracle() {
    for dim in [3, 32] {
        for case in cases(1200, dim, 41 + dim as u64) {
            check_case::<f64>(&case, &[31, 32, 33]);
        }
    }
}

#[test]
fn every_query_kind_matches_the_oracle_f64() {
    check_dims::<f64>(300, 1000);
}

#[test]
fn every_query_kind_matches_the_oracle_f32() {
    check_dims::<f32>(300, 2000);
}

#[test]
fn tiny_trees() {
    for n in 1..=4 {
        for case in cases(n, 2, 77) {
            check_case::<f64>(&case, &[1, n]);
        }
    }
}

#[test]
fn all_points_identical() {
    let values = vec![0.25; 50 * 3];
    let case = Case {
        name: "identical".into(),
        n: 50,
        dim: 3,
        values,
    };
    check_case::<f64>(&case, &[1, 8, 50]);
}

#[test]
fn bad_arguments_are_errors() {
    let m = euclidean::<f64>(&datagen::uniform(20, 3, 1), 20, 3);
    let tree = Tree::build_sequential(m.clone()).unwrap();
    let p = pool(1);
    assert!(tree.knn(&m, 0).run(&p).is_err());
    assert!(tree.knn(&m, 21).run(&p).is_err());
    assert!(tree.self_knn(21).run(&p).is_err());
    assert!(tree.predecessor_knn(0).run(&p).is_err());
    assert!(tree.predecessor_knn(21).run(&p).is_err());
    assert!(tree.predecessor_knn(usize::MAX).run(&p).is_err()); // no allocation attempted
    assert!(tree.range(&m, f64::NAN).run(&p).is_err());
    assert!(tree.range(&m, -1.0).run(&p).is_err());
    let other_dim = euclidean::<f64>(&datagen::uniform(5, 4, 1), 5, 4);
    let e = tree.knn(&other_dim, 1).run(&p).unwrap_err().to_string();
    assert!(e.contains("dimension 4") && e.contains("dimension 3"), "{e}");
    assert_eq!(m.len(), 20);
}

/// Each query's k-th distance is bounded by the previous query's answer before the
/// search; a repeated query meets a bound equal to its own k-th distance (and its
/// ties). Each query twice in a row, on data with exact ties, every path, 1 and 2
/// threads, f64 and f32; evaluation counts and paths equal for 1 and 2 threads.
#[test]
fn repeated_queries_keep_every_tie() {
    repeated_queries::<f64>();
    repeated_queries::<f32>();
}

fn repeated_queries<T: Element>() {
    let sets = [
        ("grid d=2", datagen::grid(900, 2, 30, 61), 2),
        ("grid d=3", datagen::grid(729, 3, 9, 62), 3),
        ("duplicates50 d=3", datagen::with_duplicates(800, 3, 0.5, 63), 3),
        ("clusters d=32", datagen::clusters(1500, 32, 8, 0.02, 64), 32),
    ];
    for (name, values, dim) in sets {
        let n = values.len() / dim;
        let m = euclidean::<T>(&values, n, dim);
        let data = m.dataset().clone();
        let tree = Tree::build(m, &pool(2)).unwrap();
        assert!(tree.validate().is_empty(), "{name}");
        // Data points and half-way points, each twice in a row.
        let mut qv = Vec::new();
        for i in (0..n - 1).step_by(7) {
            let (a, b) = (
                &values[i * dim..(i + 1) * dim],
                &values[(i + 1) * dim..(i + 2) * dim],
            );
            for _ in 0..2 {
                qv.extend_from_slice(a);
            }
            for _ in 0..2 {
                qv.extend(a.iter().zip(b).map(|(x, y)| 0.5 * (x + y)));
            }
        }
        let nq = qv.len() / dim;
        let queries = euclidean::<T>(&qv, nq, dim);
        for k in [1, 4, 9] {
            for via in [Via::Auto, Via::Tree, Via::Scan] {
                let mut stats = Vec::new();
                for threads in [1, 2] {
                    let what = format!("{name} k={k} {threads} threads via {via:?}");
                    let (got, s1) = tree.knn(&queries, k).via(via).run(&pool(threads)).unwrap();
                    assert_rows::<T>(&what, &got, |i| {
                        naive_knn(&data, queries.dataset().row(i), k, |_| true)
                    });
                    let (got, s2) = tree.self_knn(k).via(via).run(&pool(threads)).unwrap();
                    assert_rows::<T>(&format!("self {what}"), &got, |i| {
                        naive_knn(&data, data.row(i), k, |j| j != i as u32)
                    });
                    let (got, s3) = tree.predecessor_knn(k).via(via).run(&pool(threads)).unwrap();
                    assert_rows::<T>(&format!("predecessor {what}"), &got, |i| {
                        naive_knn(&data, data.row(i), k, |j| j < i as u32)
                    });
                    stats.push([s1, s2, s3].map(|s| (s.path, s.distance_evals, s.exact_evals)));
                }
                assert_eq!(stats[0], stats[1], "{name} k={k} via {via:?}: 1 vs 2 threads");
            }
        }
    }
}

/// Larger trees: deep enough for the child windows, buckets and the frontier heap to
/// matter (the 300-point cases are mostly one bucket), and every query path.
#[test]
fn larger_trees_and_every_path_match_the_oracle() {
    let p = pool(2);
    let sets = [
        ("clusters d=3", datagen::clusters(4000, 3, 16, 0.01, 41), 3, None),
        ("uniform d=8", datagen::uniform(4000, 8, 47), 8, None),
        (
            "duplicates d=3",
            datagen::with_duplicates(4000, 3, 0.3, 42),
            3,
            None,
        ),
        (
            "duplicates d=8",
            datagen::with_duplicates(4000, 8, 0.3, 42),
            8,
            None,
        ),
        ("grid d=2", datagen::grid(4000, 2, 40, 43), 2, None),
        ("uniform d=32", datagen::uniform(3000, 32, 44), 32, Some("scan")),
    ];
    for (name, values, dim, path) in sets {
        let n = values.len() / dim;
        let m = euclidean::<f64>(&values, n, dim);
        let data = m.dataset().clone();
        let built = Tree::build_sequential(m).unwrap();
        let qv = datagen::uniform(200, dim, 45)
            .iter()
            .map(|x| x * 1.2 - 0.1)
            .collect::<Vec<_>>();
        let queries = euclidean::<f64>(&qv, 200, dim);
        // The default layout, small buckets under a deeper navigated part, none at all.
        for (layout, tree) in [
            ("default", built.clone()),
            ("buckets of 32", built.relayout(32)),
            ("no buckets", built.relayout(0)),
        ] {
            let name = &format!("{name} [{layout}]");
            assert!(tree.validate().is_empty(), "{name}");
            assert!(tree.shape().depth >= 3, "{name}: {:?}", tree.shape());
            let (got, stats) = tree.knn(&queries, 10).run(&p).unwrap();
            assert_eq!((got.len(), got.k()), (200, 10), "{name}");
            // The path is pinned where it is clear-cut: uniform d = 32 (nothing prunes).
            assert!(
                path.is_none_or(|p| p == stats.path.name()),
                "{name}: expected {path:?}, {stats:?}"
            );
            assert_rows::<f64>(name, &got, |i| {
                naive_knn(&data, queries.dataset().row(i), 10, |_| true)
            });
            let (got, _) = tree.predecessor_knn(10).run(&p).unwrap();
            assert_eq!(got.len(), n, "{name}");
            assert_rows::<f64>(name, &got, |i| {
                naive_knn(&data, data.row(i), 10, |j| j < i as u32)
            });
            // The tree path itself on this layout (Auto may answer through k-d or scan).
            let (got, _) = tree.knn(&queries, 10).via(Via::Tree).run(&p).unwrap();
            assert_rows::<f64>(name, &got, |i| {
                naive_knn(&data, queries.dataset().row(i), 10, |_| true)
            });
            let (got, _) = tree.predecessor_knn(10).via(Via::Tree).run(&p).unwrap();
            assert_rows::<f64>(name, &got, |i| {
                naive_knn(&data, data.row(i), 10, |j| j < i as u32)
            });
            // Range at query 0's 10th distance, for every query.
            let r = tree.knn(&queries, 10).run(&p).unwrap().0.dists()[9];
            let (got, stats) = tree.range(&queries, r).run(&p).unwrap();
            assert!(
                path.is_none_or(|p| p == stats.path.name()),
                "{name} range: expected {path:?}, {stats:?}"
            );
            for i in 0..200 {
                let (eids, eds) = naive_range(&data, queries.dataset().row(i), r);
                assert_eq!(got.row(i), (&eids[..], &eds[..]), "{name} range: query {i}");
            }
            for via in vias(dim) {
                assert_eq!(
                    got,
                    tree.range(&queries, r).via(via).run(&p).unwrap().0,
                    "{name} range via {via:?}"
                );
            }
        }
    }
}

/// Trees whose coordinates reach `LOCALITY_BYTES` answer external queries in Hilbert
/// order (tree and k-d paths): every answer must still land in its own row.
#[test]
fn big_trees_answer_queries_out_of_order_exactly() {
    let p = pool(2);
    let nq = 400;
    let cases = [
        // W6's shape (tree path), and uniform d = 8 (k-d path).
        (
            "clusters d=32",
            32,
            32_768,
            datagen::clusters(32_768 + nq, 32, 64, 0.02, 61),
        ),
        ("uniform d=8", 8, 131_072, datagen::uniform(131_072 + nq, 8, 62)),
    ];
    for (name, dim, n, mut values) in cases {
        let qv = values.split_off(n * dim);
        let m = euclidean::<f64>(&values, n, dim);
        let queries = euclidean::<f64>(&qv, nq, dim);
        let tree = Tree::build(m.clone(), &p).unwrap();
        assert!(tree.validate().is_empty(), "{name}");
        assert!(
            tree.num_nodes() * dim * 8 >= pcct::query::LOCALITY_BYTES,
            "{name}: too small to be answered out of order"
        );
        let want = brute_force_knn(&m, &queries, 8, &p).unwrap();
        for via in [Via::Auto, Via::Tree]
            .into_iter()
            .chain((dim <= 16).then_some(Via::Kd))
        {
            let (got, stats) = tree.knn(&queries, 8).via(via).run(&p).unwrap();
            assert_eq!(got, want, "{name}, {via:?} ({stats:?})");
        }
        let r = want.dists()[7];
        let want = brute_force_range(&m, &queries, r, &p).unwrap();
        for via in [Via::Auto, Via::Tree]
            .into_iter()
            .chain((dim <= 16).then_some(Via::Kd))
        {
            let (got, stats) = tree.range(&queries, r).via(via).run(&p).unwrap();
            assert_eq!(got, want, "{name} range, {via:?} ({stats:?})");
        }
    }
}

/// W3's shape (uniform, d = 8, 2^15 points): cover-tree balls cannot prune, boxes can, so
/// the engine takes the k-d path — and its answers are the brute force's.
#[test]
fn engine_takes_the_kd_path_where_boxes_prune() {
    let p = pool(2);
    let (n, dim) = (1 << 15, 8);
    let m = euclidean::<f64>(&datagen::uniform(n, dim, 48), n, dim);
    let queries = euclidean::<f64>(&datagen::uniform(64, dim, 49), 64, dim);
    let tree = Tree::build(m.clone(), &p).unwrap();
    assert!(tree.validate().is_empty());
    let (got, stats) = tree.knn(&queries, 8).run(&p).unwrap();
    assert_eq!(stats.path.name(), "kd", "{stats:?}");
    assert_eq!(got, brute_force_knn(&m, &queries, 8, &p).unwrap());
    let (got, stats) = tree.predecessor_knn(5).run(&p).unwrap();
    assert_eq!(stats.path.name(), "kd", "{stats:?}");
    assert_eq!(got, brute_force_predecessor_knn(&m, 5, &p).unwrap());
    let r = 0.3;
    let (got, stats) = tree.range(&queries, r).run(&p).unwrap();
    assert_eq!(stats.path.name(), "kd", "{stats:?}");
    assert_eq!(got, brute_force_range(&m, &queries, r, &p).unwrap());
}

/// The engines without a cover tree.
#[derive(Clone, Copy, Debug)]
enum Engine {
    /// A k-d index over the points.
    Kd,
    /// Tiles of queries × rows through `Metric::bounds` intervals.
    Dense,
}

/// `engine` equals the naive oracle on `case`, f32 and f64, every query kind, 1 and 2 threads.
fn engine_matches_the_oracle<T: Element>(engine: Engine, case: &Case) {
    use pcct::query::{
        dense_knn, dense_predecessor_knn, dense_self_knn, kd_knn, kd_predecessor_knn, kd_self_knn,
    };
    let m = euclidean::<T>(&case.values, case.n, case.dim);
    let qvalues = datagen::uniform(37, case.dim, 3);
    let q = euclidean::<T>(&qvalues, 37, case.dim);
    for k in [1, 8, case.n] {
        for threads in [1, 2] {
            let p = pool(threads);
            let what = format!("{} {engine:?} k={k} threads={threads}", case.name);
            let (knn, own, pred) = match engine {
                Engine::Kd => (
                    kd_knn(&m, &q, k, &p),
                    kd_self_knn(&m, k, &p),
                    kd_predecessor_knn(&m, k, &p),
                ),
                Engine::Dense => (
                    dense_knn(&m, &q, k, &p),
                    dense_self_knn(&m, k, &p),
                    dense_predecessor_knn(&m, k, &p),
                ),
            };
            assert_rows::<T>(&what, &knn.unwrap(), |i| {
                let row: Vec<T> = qvalues[i * case.dim..(i + 1) * case.dim]
                    .iter()
                    .map(|&v| T::from_f64(v))
                    .collect();
                naive_knn(m.dataset(), &row, k, |_| true)
            });
            let row = |i: usize| m.dataset().row(i).to_vec();
            assert_rows::<T>(&format!("self {what}"), &own.unwrap(), |i| {
                naive_knn(m.dataset(), &row(i), k, |j| j as usize != i)
            });
            assert_rows::<T>(&format!("pred {what}"), &pred.unwrap(), |i| {
                naive_knn(m.dataset(), &row(i), k, |j| (j as usize) < i)
            });
        }
    }
}

/// The k-d engine (a k-d index over the points, no cover tree) equals the naive oracle on
/// every generator (duplicates included); it refuses metrics without few coordinates.
#[test]
fn kd_engine_matches_the_oracle() {
    for dim in [1, 3, 8] {
        for case in cases(300, dim, 43) {
            engine_matches_the_oracle::<f64>(Engine::Kd, &case);
            engine_matches_the_oracle::<f32>(Engine::Kd, &case);
        }
    }
    let wide = euclidean::<f64>(&datagen::uniform(50, 32, 1), 50, 32);
    let e = pcct::query::kd_self_knn(&wide, 3, &pool(1)).unwrap_err();
    assert!(e.to_string().contains("1 to 16 dimensions"), "{e}");
}

/// The k-d engine's predecessor jobs past its first prefix block (one index per doubling
/// prefix of ids: 4,096, 8,192, 9,000): every row equal to the naive oracle.
#[test]
fn kd_predecessors_match_the_oracle_across_prefix_blocks() {
    let (n, dim) = (9_000, 3);
    let kinds = ["uniform", "duplicates50", "grid", "line"];
    for case in cases(n, dim, 47)
        .into_iter()
        .filter(|c| kinds.iter().any(|k| c.name.starts_with(k)))
    {
        let m = euclidean::<f64>(&case.values, n, dim);
        let expect: Vec<(Vec<u32>, Vec<f64>)> = (0..n)
            .map(|i| naive_knn(m.dataset(), m.dataset().row(i), 8, |j| (j as usize) < i))
            .collect();
        for threads in [1, 2] {
            let got = pcct::query::kd_predecessor_knn(&m, 8, &pool(threads)).unwrap();
            assert_rows::<f64>(&format!("{} threads={threads}", case.name), &got, |i| {
                expect[i].clone()
            });
        }
    }
}

/// The dense engine equals the naive oracle for Euclidean data too (per-query scans below
/// 16 coordinates, Gram-matrix tiles from 16 up), every generator.
#[test]
fn dense_engine_matches_the_oracle() {
    for dim in [2, 8, 32] {
        for case in cases(300, dim, 41) {
            engine_matches_the_oracle::<f64>(Engine::Dense, &case);
            engine_matches_the_oracle::<f32>(Engine::Dense, &case);
        }
    }
    // Coordinates whose squares underflow: the Gram bounds keep an absolute floor.
    let tiny = Case {
        name: "uniform ×1e-160".into(),
        n: 300,
        dim: 32,
        values: datagen::scaled(datagen::uniform(300, 32, 9), 1e-160),
    };
    engine_matches_the_oracle::<f64>(Engine::Dense, &tiny);
}
