//! One-shot jobs: the plan picks the tree where it prunes and the dense engine where it
//! cannot, every engine gives the brute-force answers, and bad input is an error.

mod common;

use common::pool;
use pcct::job::{Engine, Job, Kind};
use pcct::query::{brute_force_knn, brute_force_predecessor_knn, brute_force_self_knn};
use pcct::{datagen, Dataset, Euclidean};

fn points(n: usize, dim: usize, seed: u64) -> Euclidean<f64> {
    Euclidean::new(Dataset::from_rows(&datagen::uniform(n, dim, seed), n, dim).unwrap()).unwrap()
}

#[test]
fn every_engine_gives_the_brute_force_answers() {
    let p = pool(2);
    for (n, dim) in [(1_500, 2), (800, 8)] {
        let (data, queries) = (points(n, dim, 1), points(40, dim, 2));
        let want = brute_force_knn(&data, &queries, 6, &p).unwrap();
        for engine in [Engine::Auto, Engine::Tree, Engine::Dense] {
            let done = Job::knn(data.clone(), &queries, 6)
                .engine(engine)
                .run(&p)
                .unwrap();
            assert_eq!(done.neighbors, want, "knn n={n} {engine:?}");
            assert_eq!(done.tree.is_some(), done.plan.engine == Engine::Tree);
            if let Some(t) = &done.tree {
                assert!(t.validate().is_empty());
            }
            let done = Job::self_knn(data.clone(), 6).engine(engine).run(&p).unwrap();
            assert_eq!(
                done.neighbors,
                brute_force_self_knn(&data, 6, &p).unwrap(),
                "self n={n} {engine:?}"
            );
            let done = Job::predecessor_knn(data.clone(), 6)
                .engine(engine)
                .run(&p)
                .unwrap();
            assert_eq!(
                done.neighbors,
                brute_force_predecessor_knn(&data, 6, &p).unwrap(),
                "pred n={n} {engine:?}"
            );
        }
    }
}

#[test]
fn the_plan_builds_a_tree_only_where_it_prunes() {
    // Vecchia on many low-dimensional points: an index repays its build — a k-d tree
    // for Euclidean coordinates, a cover tree where the sample holds exact duplicates
    // (the k-d tree would search each of them).
    let data = points(50_000, 2, 3);
    let plan = Job::predecessor_knn(data, 10).plan();
    assert_eq!(plan.engine, Engine::Kd, "{}", plan.reason());
    assert!(plan.reach < 0.05, "{}", plan.reason());
    let twice: Vec<f64> = datagen::uniform(25_000, 2, 3).repeat(2);
    let data = Euclidean::new(Dataset::from_rows(&twice, 50_000, 2).unwrap()).unwrap();
    let plan = Job::predecessor_knn(data, 10).plan();
    assert_eq!(plan.engine, Engine::Tree, "{}", plan.reason());
    // All points identical: the cover tree's duplicate lists, never every pair.
    let same = Euclidean::new(Dataset::from_rows(&vec![0.5; 60_000], 20_000, 3).unwrap()).unwrap();
    let plan = Job::self_knn(same.clone(), 10).plan();
    assert_eq!(
        (plan.engine, plan.reach),
        (Engine::Tree, 0.0),
        "{}",
        plan.reason()
    );
    let done = Job::self_knn(same, 10).run(&pool(2)).unwrap();
    assert_eq!(done.neighbors.row(7).0, &[0, 1, 2, 3, 4, 5, 6, 8, 9, 10]);
    // A few queries against few points: a build does not pay.
    let (data, queries) = (points(2_000, 3, 4), points(20, 3, 5));
    let plan = Job::knn(data, &queries, 5).plan();
    assert_eq!(plan.engine, Engine::Dense, "{}", plan.reason());
    // W4's residual model (RBF ℓ = 0.5 in d = 8, 512 inducing points): correlations
    // all alike, nothing to prune.
    let p = pool(2);
    let w = pcct::workload::Workload::find("W4").unwrap().scaled(1.0 / 16.0);
    let m = w.residual(&w.data(), &p).unwrap().unwrap();
    let plan = pcct::job::plan(&m, 8, Kind::SelfKnn, Engine::Auto);
    assert_eq!(plan.engine, Engine::Dense, "{}", plan.reason());
    assert!(plan.reach > 0.5, "{}", plan.reason());
    assert!(
        plan.reason().starts_with("dense (the tree cannot prune"),
        "{}",
        plan.reason()
    );
    // Forcing is said.
    let plan = pcct::job::plan(&m, 8, Kind::SelfKnn, Engine::Tree);
    assert_eq!((plan.engine, plan.forced), (Engine::Tree, true));
    assert!(plan.reason().contains("forced"));
}

#[test]
fn bad_jobs_are_errors_not_panics() {
    let p = pool(1);
    let (data, queries) = (points(100, 3, 1), points(5, 3, 2));
    for engine in [Engine::Tree, Engine::Kd, Engine::Dense, Engine::Auto] {
        for k in [0, 101] {
            let e = Job::knn(data.clone(), &queries, k)
                .engine(engine)
                .run(&p)
                .unwrap_err();
            assert!(e.to_string().contains('k'), "{e}");
            assert!(Job::self_knn(data.clone(), k).engine(engine).run(&p).is_err());
            assert!(Job::predecessor_knn(data.clone(), k)
                .engine(engine)
                .run(&p)
                .is_err());
        }
        let other = points(5, 4, 2);
        assert!(Job::knn(data.clone(), &other, 3).engine(engine).run(&p).is_err());
    }
    assert!("sideways".parse::<Engine>().is_err());
    // The k-d engine needs few Euclidean coordinates.
    let wide = points(100, 20, 1);
    assert!(Job::self_knn(wide, 3).engine(Engine::Kd).run(&p).is_err());
    assert_eq!("dense".parse::<Engine>().unwrap(), Engine::Dense);
}

/// The observer hears of every query once, whatever the engine.
#[test]
fn observers_count_every_query() {
    use std::sync::atomic::{AtomicUsize, Ordering};
    let p = pool(2);
    let (data, queries) = (points(3_000, 3, 1), points(700, 3, 2));
    for engine in [Engine::Tree, Engine::Kd, Engine::Dense] {
        let seen = AtomicUsize::new(0);
        let count = |n: usize| {
            seen.fetch_add(n, Ordering::Relaxed);
        };
        Job::knn(data.clone(), &queries, 4)
            .engine(engine)
            .observe(&count)
            .run(&p)
            .unwrap();
        assert_eq!(seen.swap(0, Ordering::Relaxed), 700, "{engine:?}");
        Job::predecessor_knn(data.clone(), 4)
            .engine(engine)
            .observe(&count)
            .run(&p)
            .unwrap();
        assert_eq!(seen.load(Ordering::Relaxed), 3_000, "{engine:?}");
    }
}
