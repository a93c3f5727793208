//! The parallel PCCT build: `validate()` after every build, answers equal to the
//! oracle, and the same tree (layout digest) for 1, 2 and 4 threads, for every
//! order, including batches sized and cut by a small pair budget; and where the budget
//! shapes no batch, the same tree with the k-d traversal as with the cover-tree descent.

mod common;

use common::*;
use pcct::build::Order;
use pcct::{datagen, BuildOptions, Tree, Via};

fn datasets() -> Vec<(&'static str, Vec<f64>, usize)> {
    vec![
        ("uniform d=8", datagen::uniform(3000, 8, 11), 8),
        ("clusters d=3", datagen::clusters(3000, 3, 12, 0.01, 12), 3),
        ("duplicates d=3", datagen::with_duplicates(3000, 3, 0.4, 13), 3),
        ("grid d=2", datagen::grid(3000, 2, 30, 14), 2),
        ("line d=5", datagen::line(3000, 5, 15), 5),
        (
            "tiny scale d=4",
            datagen::scaled(datagen::uniform(2000, 4, 16), 1e-9),
            4,
        ),
        (
            // Squared distances below 1e-280: the canonical distance's rescaled path,
            // subnormal squared radii in the k-d searches.
            "extreme tiny scale d=3",
            datagen::scaled(datagen::uniform(2000, 3, 18), 1e-161),
            3,
        ),
        (
            "huge scale d=4",
            datagen::scaled(datagen::clusters(2000, 4, 8, 0.05, 17), 1e9),
            4,
        ),
    ]
}

#[test]
fn same_tree_for_any_thread_count_and_valid() {
    let pools = [pool(1), pool(2), pool(4)];
    let mut grid_leaders = 0;
    let mut cuts = 0;
    for (name, values, dim) in datasets() {
        let n = values.len() / dim;
        let m = euclidean::<f64>(&values, n, dim);
        for order in [Order::Hilbert, Order::Natural, Order::Random] {
            // Grid election gives another tree, the same for every thread count and path.
            for (budget, grid) in [(1u64 << 24, false), (200, false), (1 << 24, true)] {
                let mut digests = Vec::new();
                // The descent makes other candidate pairs, so a small budget sizes and cuts
                // other batches: the same tree is expected with a large budget only.
                let descent = (budget > 1 << 20).then_some((&pools[1], false));
                for (p, kd_index) in pools.iter().map(|p| (p, true)).chain(descent) {
                    let opts = BuildOptions {
                        seed: 3,
                        order,
                        pair_budget: budget,
                        kd_index,
                        grid,
                        ..Default::default()
                    };
                    let (tree, stats) = Tree::build_with(m.clone(), p, &opts).unwrap();
                    grid_leaders += stats.batches.iter().map(|b| b.grid_leaders).sum::<u64>();
                    if !grid {
                        assert!(stats.batches.iter().all(|b| b.grid_leaders == 0), "{name}");
                    }
                    let v = tree.validate();
                    assert!(
                        v.is_empty(),
                        "{name} {order:?} {budget}: {:?}",
                        &v[..v.len().min(5)]
                    );
                    assert_eq!(tree.len(), n);
                    assert_eq!(
                        stats.batches.iter().map(|b| b.size).sum::<usize>(),
                        n - 1,
                        "{name}"
                    );
                    for b in &stats.batches {
                        assert!(b.first_round_pairs <= budget || b.size == 1, "{name}: {b:?}");
                    }
                    if budget == 200 {
                        // Batches are sized from the previous batch's pairs; where those
                        // grow faster than that foresees, the budget cuts (counted below).
                        cuts += stats.batches.iter().filter(|b| b.deferred > 0).count();
                    }
                    digests.push(tree.layout_digest());
                }
                assert!(
                    digests.windows(2).all(|w| w[0] == w[1]),
                    "{name} {order:?} {budget} grid {grid}: 1, 2, 4 threads, descent: {digests:?}"
                );
            }
        }
    }
    assert!(grid_leaders > 0, "no grid cell ever held two new nodes");
    assert!(cuts > 0, "the pair budget never cut a batch");
}

#[test]
fn parallel_tree_answers_equal_the_oracle() {
    let p = pool(2);
    for (name, values, dim) in datasets() {
        let n = values.len() / dim;
        let m = euclidean::<f64>(&values, n, dim);
        let data = m.dataset().clone();
        let grid = BuildOptions {
            grid: true,
            ..Default::default()
        };
        for tree in [
            Tree::build(m.clone(), &p).unwrap(),
            Tree::build_with(m, &p, &grid).unwrap().0,
        ] {
            assert!(tree.validate().is_empty(), "{name}");
            let (got, _) = tree.predecessor_knn(7).run(&p).unwrap();
            for i in (0..n).step_by(7) {
                let (ids, ds) = naive_knn(&data, data.row(i), 7, |j| j < i as u32);
                assert_eq!(got.row(i), (&ids[..], &ds[..]), "{name}: predecessor row {i}");
            }
            let (got, _) = tree.self_knn(5).run(&p).unwrap();
            for i in (0..n).step_by(11) {
                let (ids, ds) = naive_knn(&data, data.row(i), 5, |j| j != i as u32);
                assert_eq!(got.row(i), (&ids[..], &ds[..]), "{name}: self row {i}");
            }
            for via in [Via::Kd, Via::Tree] {
                assert_eq!(
                    got,
                    tree.self_knn(5).via(via).run(&p).unwrap().0,
                    "{name}: self via {via:?}"
                );
            }
        }
    }
}

#[test]
fn bad_options_and_empty_data_are_errors() {
    let m = euclidean::<f64>(&datagen::uniform(10, 2, 1), 10, 2);
    let opts = BuildOptions {
        pair_budget: 0,
        ..Default::default()
    };
    assert!(Tree::build_with(m, &pool(1), &opts).is_err());
    assert!("spiral".parse::<Order>().is_err());
    assert_eq!("random".parse::<Order>().unwrap(), Order::Random);
}
