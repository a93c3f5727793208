//! Flat trees where the metric cannot be split: chosen by a sample on structureless
//! data in many dimensions (and only there), exact on every query kind, and stated in
//! the build's stats. The oracle, residual, update and persist suites run flat trees
//! through everything else.

mod common;

use common::*;
use pcct::query::{brute_force_knn, brute_force_predecessor_knn, brute_force_self_knn};
use pcct::{datagen, BuildOptions, Flat, Tree};

#[test]
fn structureless_data_gets_a_flat_tree_and_exact_answers() {
    let p = pool(2);
    let (n, dim) = (5_000, 32);
    let m = euclidean::<f64>(&datagen::uniform(n, dim, 41), n, dim);
    let (tree, stats) = Tree::build_with(m.clone(), &p, &BuildOptions::default()).unwrap();
    let reach = stats.reach.expect("the sample was measured");
    assert!(stats.flat && tree.is_flat(), "reach {reach}");
    assert!(reach >= 0.5, "reach {reach}");
    assert_eq!(stats.batches.len(), 1, "one batch: every point under the root");
    assert_eq!(stats.batches[0].size, n - 1);
    assert!(tree.validate().is_empty(), "{:?}", tree.validate());
    assert_eq!(tree.shape().depth, 1);
    assert_eq!(tree.len(), n);
    let q = euclidean::<f64>(&datagen::uniform(40, dim, 42), 40, dim);
    for k in [1, 8] {
        let (got, qs) = tree.knn(&q, k).run(&p).unwrap();
        assert_eq!(
            qs.path,
            pcct::QueryPath::Scan { probed: 0 },
            "a flat tree's queries scan"
        );
        assert_eq!(got, brute_force_knn(&m, &q, k, &p).unwrap(), "k = {k}");
        assert_eq!(
            tree.self_knn(k).run(&p).unwrap().0,
            brute_force_self_knn(&m, k, &p).unwrap()
        );
        assert_eq!(
            tree.predecessor_knn(k).run(&p).unwrap().0,
            brute_force_predecessor_knn(&m, k, &p).unwrap()
        );
    }
    // Flat::Never builds the cover tree anyway: the same answers.
    let never = BuildOptions {
        flat: Flat::Never,
        ..Default::default()
    };
    let (cover, stats) = Tree::build_with(m.clone(), &p, &never).unwrap();
    assert!(!cover.is_flat() && !stats.flat && stats.reach.is_none());
    assert!(cover.validate().is_empty());
    assert_eq!(
        cover.knn(&q, 8).run(&p).unwrap().0,
        tree.knn(&q, 8).run(&p).unwrap().0
    );
}

#[test]
fn data_with_structure_keeps_its_cover_tree() {
    let p = pool(2);
    for (name, rows, dim) in [
        ("uniform d=3", datagen::uniform(6_000, 3, 1), 3),
        ("clusters d=32", datagen::clusters(6_000, 32, 16, 0.02, 2), 32),
        ("duplicates d=32", datagen::with_duplicates(6_000, 32, 0.9, 3), 32),
    ] {
        let m = euclidean::<f32>(&rows, 6_000, dim);
        let (tree, stats) = Tree::build_with(m, &p, &BuildOptions::default()).unwrap();
        assert!(!tree.is_flat() && !stats.flat, "{name}: reach {:?}", stats.reach);
        assert!(stats.reach.is_some(), "{name}");
        assert!(tree.validate().is_empty(), "{name}");
    }
    // Below 4,096 points the sample is not even taken.
    let m = euclidean::<f64>(&datagen::uniform(1_000, 32, 4), 1_000, 32);
    let (tree, stats) = Tree::build_with(m, &p, &BuildOptions::default()).unwrap();
    assert!(!tree.is_flat() && stats.reach.is_none());
}

#[test]
fn flat_rules_parse() {
    for (s, f) in [
        ("auto", Flat::Auto),
        ("never", Flat::Never),
        ("always", Flat::Always),
    ] {
        assert_eq!(s.parse::<Flat>().unwrap(), f);
    }
    let e = "sometimes".parse::<Flat>().unwrap_err().to_string();
    assert!(e.contains("expected auto, never or always"), "{e}");
}
