//! Save and load: a loaded tree answers exactly as the tree it was saved from; truncated,
//! flipped, mislabelled or foreign files are clear errors, never panics.

use pcct::{datagen, Dataset, Euclidean, Metric, Persist, Pool, Tree};

fn metric<T: pcct::kernels::Element>(rows: &[f64], dim: usize) -> Euclidean<T> {
    let v: Vec<T> = rows.iter().map(|&x| T::from_f64(x)).collect();
    Euclidean::new(Dataset::from_rows(&v, rows.len() / dim, dim).unwrap()).unwrap()
}

fn same_answers<M: Metric + Persist>(a: &Tree<M>, b: &Tree<M>, queries: &M, pool: &Pool) {
    assert!(b.validate().is_empty(), "{:?}", b.validate());
    assert_eq!(a.layout_digest(), b.layout_digest());
    for k in [1, 7] {
        assert_eq!(
            a.knn(queries, k).run(pool).unwrap().0,
            b.knn(queries, k).run(pool).unwrap().0
        );
        assert_eq!(
            a.self_knn(k).run(pool).unwrap().0,
            b.self_knn(k).run(pool).unwrap().0
        );
        assert_eq!(
            a.predecessor_knn(k).run(pool).unwrap().0,
            b.predecessor_knn(k).run(pool).unwrap().0
        );
    }
}

fn round_trip<T: pcct::kernels::Element>(pool: &Pool) {
    let dir = std::env::temp_dir().join(format!("pcct-persist-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let cases: [(&str, Vec<f64>, usize); 4] = [
        ("uniform", datagen::uniform(2000, 5, 1), 5),
        ("duplicates", datagen::with_duplicates(1500, 3, 0.3, 2), 3),
        ("grid", datagen::grid(1000, 2, 8, 3), 2),
        ("line", datagen::line(800, 4, 4), 4),
    ];
    for (name, rows, dim) in cases {
        let tree = Tree::build(metric::<T>(&rows, dim), pool).unwrap();
        let queries = metric::<T>(&datagen::uniform(50, dim, 9), dim);
        let path = dir.join(format!("{name}-{}.pcct", T::BYTES));
        tree.save(&path).unwrap();
        let back = Tree::<Euclidean<T>>::load(&path).unwrap();
        same_answers(&tree, &back, &queries, pool);
        assert_eq!(back.len(), rows.len() / dim);
    }
}

#[test]
fn loaded_trees_answer_as_saved_f64() {
    round_trip::<f64>(&Pool::new(2).unwrap());
}

#[test]
fn loaded_trees_answer_as_saved_f32() {
    round_trip::<f32>(&Pool::new(2).unwrap());
}

#[test]
fn truncated_and_flipped_files_are_errors() {
    let pool = Pool::new(2).unwrap();
    let rows = datagen::with_duplicates(400, 3, 0.2, 7);
    let tree = Tree::build(metric::<f64>(&rows, 3), &pool).unwrap();
    let bytes = tree.to_bytes();
    for len in (0..bytes.len()).step_by(7).chain([bytes.len() - 1]) {
        let e = Tree::<Euclidean<f64>>::from_bytes(&bytes[..len]).unwrap_err();
        assert!(e.to_string().starts_with("invalid tree file:"), "{len}: {e}");
    }
    let mut longer = bytes.clone();
    longer.push(0);
    assert!(Tree::<Euclidean<f64>>::from_bytes(&longer).is_err());
    let mut rng = datagen::Rng::new(3);
    for _ in 0..2000 {
        let mut b = bytes.clone();
        let at = rng.below(b.len() as u64) as usize;
        b[at] ^= 1 << rng.below(8);
        let e = Tree::<Euclidean<f64>>::from_bytes(&b).unwrap_err().to_string();
        assert!(e.starts_with("invalid tree file:"), "byte {at}: {e}");
    }
    // Header fields each have their own message.
    let mut v = bytes.clone();
    v[8] = 9;
    let e = Tree::<Euclidean<f64>>::from_bytes(&v).unwrap_err().to_string();
    assert!(e.contains("format version 9"), "{e}");
    let e = Tree::<Euclidean<f32>>::from_bytes(&bytes)
        .unwrap_err()
        .to_string();
    assert!(
        e.contains("Euclidean f64") && e.contains("not Euclidean f32"),
        "{e}"
    );
    let e = Tree::<Euclidean<f64>>::from_bytes(b"hello")
        .unwrap_err()
        .to_string();
    assert!(e.contains("not a pcct tree file"), "{e}");
    let missing = Tree::<Euclidean<f64>>::load(std::path::Path::new("/no/such/tree.pcct"));
    assert!(missing.unwrap_err().to_string().contains("tree.pcct"));
}

#[test]
fn residual_trees_and_updated_trees_round_trip() {
    use pcct::metric::{Kernel, KernelKind, Residual};
    let pool = Pool::new(2).unwrap();
    let x = datagen::uniform(800, 2, 1);
    let z = datagen::uniform(40, 2, 2);
    let kernel = Kernel::new(KernelKind::Matern32, 1.5, &[0.3, 0.2]).unwrap();
    let m = Residual::from_inducing(&x, 2, &z, kernel, 1e-6, &pool).unwrap();
    let queries = m.queries(&datagen::uniform(30, 2, 3), &pool).unwrap();
    let tree = Tree::build(m, &pool).unwrap();
    let back = Tree::<Residual>::from_bytes(&tree.to_bytes()).unwrap();
    same_answers(&tree, &back, &queries, &pool);
    // New query points still get their own v, p from the loaded model.
    let again = back.metric().queries(&datagen::uniform(30, 2, 3), &pool).unwrap();
    assert_eq!(
        back.knn(&again, 5).run(&pool).unwrap().0,
        tree.knn(&queries, 5).run(&pool).unwrap().0
    );
    let e = Tree::<Euclidean<f64>>::from_bytes(&tree.to_bytes())
        .unwrap_err()
        .to_string();
    assert!(e.contains("residual"), "{e}");

    // After a delete and an insert: sparse ids survive the round trip.
    let t = tree.delete(&[0, 5, 17, 400], &pool).unwrap();
    let more = back.metric().queries(&datagen::uniform(20, 2, 4), &pool).unwrap();
    let (t, _) = t.insert(&more, &pool).unwrap();
    let b = Tree::<Residual>::from_bytes(&t.to_bytes()).unwrap();
    assert_eq!((b.len(), b.id_bound()), (816, 820));
    assert!(!b.contains(5) && b.contains(819));
    same_answers(&t, &b, &queries, &pool);
}
