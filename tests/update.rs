//! Insert and delete: a seeded soak of 1,000 alternating batches on a tree of ~10^4
//! points — after each, `validate()` holds and queries equal the brute-force oracle over
//! the current point set; old versions still answer as before. Plus the edge cases:
//! deleting the root, every point, a point with duplicates, ids not in the tree. Flat
//! trees go through a shorter soak and stay flat.

use pcct::datagen::Rng;
use pcct::query::{brute_force_knn, brute_force_predecessor_knn, brute_force_range, brute_force_self_knn};
use pcct::tree::NONE as NONE_ID;
use pcct::{datagen, BuildOptions, Dataset, Euclidean, Flat, Neighbors, Pool, Tree, Via};

const DIM: usize = 3;

fn metric(rows: &[f64]) -> Euclidean<f64> {
    Euclidean::new(Dataset::from_rows(rows, rows.len() / DIM, DIM).unwrap()).unwrap()
}

/// The point set a tree should hold: coordinates by id (None once deleted).
struct Model {
    points: Vec<Option<[f64; DIM]>>,
}

impl Model {
    fn live(&self) -> Vec<u32> {
        (0..self.points.len() as u32)
            .filter(|&i| self.points[i as usize].is_some())
            .collect()
    }

    /// Dense metric over the live points (ascending id, so ties by id agree).
    fn dense(&self) -> (Euclidean<f64>, Vec<u32>) {
        let live = self.live();
        let rows: Vec<f64> = live
            .iter()
            .flat_map(|&i| self.points[i as usize].unwrap())
            .collect();
        (metric(&rows), live)
    }
}

/// Maps dense oracle ids back to point ids.
fn to_ids(nb: &Neighbors, live: &[u32]) -> (Vec<u32>, Vec<f64>) {
    let ids = nb
        .ids()
        .iter()
        .map(|&d| if d == NONE_ID { NONE_ID } else { live[d as usize] })
        .collect();
    (ids, nb.dists().to_vec())
}

fn check_knn(tree: &Tree<Euclidean<f64>>, model: &Model, queries: &Euclidean<f64>, pool: &Pool, step: usize) {
    let (dense, live) = model.dense();
    let k = 6.min(live.len());
    let got = tree.knn(queries, k).run(pool).unwrap().0;
    let want = to_ids(&brute_force_knn(&dense, queries, k, pool).unwrap(), &live);
    assert_eq!(
        (got.ids().to_vec(), got.dists().to_vec()),
        want,
        "step {step}: knn"
    );
    // Range at the first query's k-th distance, on every path: deleted points never
    // come back, live ones all do.
    let r = got.dists()[k - 1];
    if !r.is_finite() {
        return;
    }
    let want = brute_force_range(&dense, queries, r, pool).unwrap();
    for via in [Via::Auto, Via::Tree, Via::Scan, Via::Kd] {
        let (got, _) = tree.range(queries, r).via(via).run(pool).unwrap();
        assert_eq!(got.len(), want.len(), "step {step}: range via {via:?}");
        for i in 0..want.len() {
            let (wi, wd) = want.row(i);
            let wi: Vec<u32> = wi.iter().map(|&d| live[d as usize]).collect();
            assert_eq!(
                got.row(i),
                (&wi[..], wd),
                "step {step}: range via {via:?}, query {i}"
            );
        }
    }
}

fn check_all(tree: &Tree<Euclidean<f64>>, model: &Model, pool: &Pool, step: usize) {
    let (dense, live) = model.dense();
    let k = 4.min(live.len());
    let bound = tree.id_bound();
    let (want_self, want_pred) = (
        brute_force_self_knn(&dense, k, pool).unwrap(),
        brute_force_predecessor_knn(&dense, k, pool).unwrap(),
    );
    // The engine's choice, and the scan forced: deleted ids are holes in the query
    // list, so the scan's tiles of queries have empty slots.
    let runs = [Via::Auto, Via::Scan].into_iter().flat_map(|via| {
        [
            (
                format!("self via {via:?}"),
                tree.self_knn(k).via(via).run(pool).unwrap().0,
                &want_self,
            ),
            (
                format!("predecessor via {via:?}"),
                tree.predecessor_knn(k).via(via).run(pool).unwrap().0,
                &want_pred,
            ),
        ]
    });
    for (name, got, want) in runs {
        assert_eq!(got.len(), bound, "step {step}: one {name} row per id");
        let (want_ids, want_d) = to_ids(want, &live);
        for (r, &id) in live.iter().enumerate() {
            let (gi, gd) = got.row(id as usize);
            assert_eq!(
                gi,
                &want_ids[r * k..(r + 1) * k],
                "step {step}: {name} ids of {id}"
            );
            assert_eq!(
                gd,
                &want_d[r * k..(r + 1) * k],
                "step {step}: {name} dists of {id}"
            );
        }
        for id in 0..bound as u32 {
            if model.points[id as usize].is_none() {
                assert!(
                    got.row(id as usize).0.iter().all(|&x| x == NONE_ID),
                    "step {step}: deleted {id}"
                );
            }
        }
    }
}

#[test]
fn soak_alternating_inserts_and_deletes() {
    soak(Flat::Never, 1000);
}

/// Updates of a flat tree give flat trees, exact as ever.
#[test]
fn flat_trees_stay_flat_through_updates() {
    soak(Flat::Always, 200);
}

/// `steps` alternating inserts and deletes from a tree built with `flat`.
fn soak(flat: Flat, steps: usize) {
    let pool = Pool::new(2).unwrap();
    let mut rng = Rng::new(2026);
    // ~10^4 points: uniform, with exact duplicates and grid ties mixed in.
    let mut rows = datagen::with_duplicates(8000, DIM, 0.1, 1);
    rows.extend(datagen::grid(2000, DIM, 12, 2));
    let mut model = Model {
        points: rows.chunks(DIM).map(|r| Some([r[0], r[1], r[2]])).collect(),
    };
    let opts = BuildOptions {
        flat,
        ..Default::default()
    };
    let mut tree = Tree::build_with(metric(&rows), &pool, &opts).unwrap().0;
    assert!(tree.validate().is_empty());
    let queries = metric(&datagen::uniform(8, DIM, 3));
    let mut snapshots: Vec<(Tree<Euclidean<f64>>, Neighbors)> = Vec::new();
    for step in 0..steps {
        if step % 2 == 0 {
            // Insert 1..40 points: new ones, grid ties, and copies of live points.
            let count = 1 + rng.below(40) as usize;
            let live = model.live();
            let mut new = Vec::with_capacity(count * DIM);
            for _ in 0..count {
                let p: [f64; DIM] = match rng.below(3) {
                    0 => model.points[live[rng.below(live.len() as u64) as usize] as usize].unwrap(),
                    1 => [0, 1, 2].map(|_| rng.below(12) as f64 / 11.0),
                    _ => [0, 1, 2].map(|_| rng.uniform()),
                };
                new.extend_from_slice(&p);
            }
            let (next, _) = tree.insert(&metric(&new), &pool).unwrap();
            for p in new.chunks(DIM) {
                model.points.push(Some([p[0], p[1], p[2]]));
            }
            tree = next;
        } else {
            // Delete 1..40 live points, the root's point now and then.
            let live = model.live();
            let count = 1 + rng.below(40) as usize;
            let mut ids: Vec<u32> = (0..count)
                .map(|_| live[rng.below(live.len() as u64) as usize])
                .collect();
            if step % 10 == 1 {
                ids.push(tree.root_id());
            }
            tree = tree.delete(&ids, &pool).unwrap();
            for &i in &ids {
                model.points[i as usize] = None;
            }
        }
        let v = tree.validate();
        assert!(v.is_empty(), "step {step}: {v:?}");
        assert_eq!(tree.is_flat(), flat == Flat::Always, "step {step}");
        assert_eq!(tree.len(), model.live().len(), "step {step}");
        check_knn(&tree, &model, &queries, &pool, step);
        if step % 100 == 99 {
            check_all(&tree, &model, &pool, step);
            let answer = tree.knn(&queries, 5).run(&pool).unwrap().0;
            snapshots.push((tree.clone(), answer));
        }
    }
    // Old versions answer as they did.
    for (old, answer) in &snapshots {
        assert_eq!(&old.knn(&queries, 5).run(&pool).unwrap().0, answer);
        assert!(old.validate().is_empty());
    }
}

#[test]
fn deleting_roots_duplicates_everything_and_strangers() {
    let pool = Pool::new(2).unwrap();
    let rows = datagen::with_duplicates(600, DIM, 0.3, 4);
    let tree = Tree::build(metric(&rows), &pool).unwrap();
    let n = tree.len() as u32;

    // The root, repeatedly: each time another point takes its place.
    let mut t = tree.delete(&[tree.root_id()], &pool).unwrap();
    for _ in 0..20 {
        t = t.delete(&[t.root_id()], &pool).unwrap();
        assert!(t.validate().is_empty());
    }
    assert_eq!(t.len(), 600 - 21);

    // Every point but one, in one call; then the last one is refused.
    let all: Vec<u32> = (1..n).collect();
    let one = tree.delete(&all, &pool).unwrap();
    assert!(one.validate().is_empty());
    assert_eq!((one.len(), one.root_id()), (1, 0));
    let e = one.delete(&[0], &pool).unwrap_err().to_string();
    assert!(e.contains("every point"), "{e}");
    let e = tree
        .delete(&(0..n).collect::<Vec<_>>(), &pool)
        .unwrap_err()
        .to_string();
    assert!(e.contains("every point"), "{e}");

    // Ids not in the tree: never given, or deleted before.
    let e = tree.delete(&[n], &pool).unwrap_err().to_string();
    assert!(e.contains(&format!("point {n} is not in the tree")), "{e}");
    let e = one.delete(&[5], &pool).unwrap_err().to_string();
    assert!(e.contains("point 5 is not in the tree (deleted before)"), "{e}");

    // Every point that has duplicates, and every duplicate of some other point.
    let (nb, _) = tree.self_knn(1).run(&pool).unwrap();
    let with_dups: Vec<u32> = (0..n).filter(|&i| nb.row(i as usize).1[0] == 0.0).collect();
    assert!(with_dups.len() > 100);
    let half: Vec<u32> = with_dups.iter().copied().step_by(2).collect();
    let t = tree.delete(&half, &pool).unwrap();
    assert!(t.validate().is_empty());
    let live: Vec<u32> = (0..n).filter(|i| !half.contains(i)).collect();
    let dense = metric(
        &live
            .iter()
            .flat_map(|&i| rows[i as usize * DIM..(i as usize + 1) * DIM].to_vec())
            .collect::<Vec<_>>(),
    );
    let q = metric(&datagen::uniform(30, DIM, 8));
    let want = to_ids(&brute_force_knn(&dense, &q, 7, &pool).unwrap(), &live);
    let got = t.knn(&q, 7).run(&pool).unwrap().0;
    assert_eq!((got.ids().to_vec(), got.dists().to_vec()), want);

    // Inserting nothing, or points of another dimension, is an error.
    let e = tree.insert(&metric(&[]), &pool).unwrap_err().to_string();
    assert!(e.contains("no points"), "{e}");
    let flat = Euclidean::new(Dataset::from_rows(&[0.5, 0.5], 1, 2).unwrap()).unwrap();
    let e = tree.insert(&flat, &pool).unwrap_err().to_string();
    assert!(e.contains("dimension"), "{e}");
}

/// Many small trees, half their points deleted at once: deep re-homing, including
/// orphan subtrees whose new level falls below their children's (they are split).
#[test]
fn small_trees_survive_heavy_deletes() {
    let pool = Pool::new(2).unwrap();
    let mut rng = Rng::new(77);
    for trial in 0..400 {
        let dim = 1 + (trial % 3);
        let n = 20 + rng.below(60) as usize;
        let rows = match trial % 4 {
            0 => datagen::uniform(n, dim, trial as u64),
            1 => datagen::clusters(n, dim, 3, 0.01, trial as u64),
            2 => datagen::grid(n, dim, 5, trial as u64),
            _ => datagen::line(n, dim, trial as u64),
        };
        let m = Euclidean::new(Dataset::from_rows(&rows, n, dim).unwrap()).unwrap();
        let tree = Tree::build(m, &pool).unwrap();
        let gone: Vec<u32> = (0..n as u32).filter(|_| rng.below(2) == 0).collect();
        if gone.len() >= n {
            continue;
        }
        let t = tree.delete(&gone, &pool).unwrap();
        let v = t.validate();
        assert!(v.is_empty(), "trial {trial}: {v:?}");
        let live: Vec<u32> = (0..n as u32).filter(|i| !gone.contains(i)).collect();
        let dense_rows: Vec<f64> = live
            .iter()
            .flat_map(|&i| rows[i as usize * dim..(i as usize + 1) * dim].to_vec())
            .collect();
        let dense = Euclidean::new(Dataset::from_rows(&dense_rows, live.len(), dim).unwrap()).unwrap();
        let k = 3.min(live.len());
        let want = to_ids(&brute_force_predecessor_knn(&dense, k, &pool).unwrap(), &live);
        let got = t.predecessor_knn(k).run(&pool).unwrap().0;
        for (r, &id) in live.iter().enumerate() {
            assert_eq!(
                got.row(id as usize).0,
                &want.0[r * k..(r + 1) * k],
                "trial {trial}"
            );
            assert_eq!(
                got.row(id as usize).1,
                &want.1[r * k..(r + 1) * k],
                "trial {trial}"
            );
        }
    }
}

/// The residual metric through delete and insert: answers equal brute force over a
/// residual metric built afresh from the live points' coordinates.
#[test]
fn residual_trees_update_exactly() {
    use pcct::metric::{Kernel, KernelKind, Residual};
    let pool = Pool::new(2).unwrap();
    let (dim, n) = (2, 500);
    let x = datagen::uniform(n, dim, 21);
    let z = datagen::uniform(30, dim, 22);
    let kernel = Kernel::new(KernelKind::Matern32, 1.0, &[0.25]).unwrap();
    let m = Residual::from_inducing(&x, dim, &z, kernel.clone(), 1e-6, &pool).unwrap();
    let tree = Tree::build(m, &pool).unwrap();
    let gone: Vec<u32> = (0..n as u32).filter(|i| i % 9 == 4).collect();
    let t = tree.delete(&gone, &pool).unwrap();
    let extra = datagen::uniform(40, dim, 23);
    let (t, _) = t
        .insert(&t.metric().queries(&extra, &pool).unwrap(), &pool)
        .unwrap();
    assert!(t.validate().is_empty(), "{:?}", t.validate());
    let mut all = x.clone();
    all.extend_from_slice(&extra);
    let live: Vec<u32> = (0..(n + 40) as u32).filter(|i| !gone.contains(i)).collect();
    let rows: Vec<f64> = live
        .iter()
        .flat_map(|&i| all[i as usize * dim..(i as usize + 1) * dim].to_vec())
        .collect();
    let dense = Residual::from_inducing(&rows, dim, &z, kernel, 1e-6, &pool).unwrap();
    let k = 6;
    for (name, got, want) in [
        (
            "self",
            t.self_knn(k).run(&pool).unwrap().0,
            brute_force_self_knn(&dense, k, &pool).unwrap(),
        ),
        (
            "predecessor",
            t.predecessor_knn(k).run(&pool).unwrap().0,
            brute_force_predecessor_knn(&dense, k, &pool).unwrap(),
        ),
    ] {
        let (wi, wd) = to_ids(&want, &live);
        for (r, &id) in live.iter().enumerate() {
            assert_eq!(
                got.row(id as usize).0,
                &wi[r * k..(r + 1) * k],
                "{name} ids of {id}"
            );
            assert_eq!(
                got.row(id as usize).1,
                &wd[r * k..(r + 1) * k],
                "{name} dists of {id}"
            );
        }
    }
    let q = t.metric().queries(&datagen::uniform(20, dim, 24), &pool).unwrap();
    let got = t.knn(&q, k).run(&pool).unwrap().0;
    let want = to_ids(&brute_force_knn(&dense, &q, k, &pool).unwrap(), &live);
    assert_eq!((got.ids().to_vec(), got.dists().to_vec()), want);
}
