//! The residual-correlation metric: kernels and residual parts against textbook
//! formulas, and every query kind through the tree (sequential and parallel builds)
//! equal to a brute-force ranking of the canonical distances, for all four kernels.

mod common;

use common::pool;
use pcct::metric::{Kernel, KernelKind, Residual};
use pcct::query::{
    brute_force_knn, brute_force_predecessor_knn, brute_force_self_knn, dense_knn, dense_predecessor_knn,
    dense_self_knn,
};
use pcct::{datagen, BuildOptions, Flat, Metric, Neighbors, Tree, Via};

const KINDS: [KernelKind; 4] = [
    KernelKind::Rbf,
    KernelKind::Matern12,
    KernelKind::Matern32,
    KernelKind::Matern52,
];

#[test]
fn kernels_match_their_formulas() {
    let (a, b) = ([0.1, 0.2], [0.4, -0.2]);
    let l = [0.5, 2.0];
    let r = (((0.1f64 - 0.4) / 0.5).powi(2) + ((0.2f64 + 0.2) / 2.0).powi(2)).sqrt();
    let s3 = 3f64.sqrt() * r;
    let s5 = 5f64.sqrt() * r;
    let expect = [
        1.7 * (-0.5 * r * r).exp(),
        1.7 * (-r).exp(),
        1.7 * (1.0 + s3) * (-s3).exp(),
        1.7 * (1.0 + s5 + s5 * s5 / 3.0) * (-s5).exp(),
    ];
    for (kind, e) in KINDS.into_iter().zip(expect) {
        let k = Kernel::new(kind, 1.7, &l).unwrap();
        assert!((k.eval(&a, &b) - e).abs() < 1e-14, "{kind:?}");
        assert_eq!(k.eval(&a, &a), 1.7, "{kind:?}: k(x, x) = σ²");
    }
}

/// ρ from the metric against a direct computation: K_XZ K_ZZ⁻¹ K_ZX via a naive solve.
#[test]
fn residual_parts_match_a_direct_computation() {
    let (n, m, d) = (30, 12, 2);
    let x = datagen::uniform(n, d, 1);
    let z = datagen::uniform(m, d, 2);
    let k = Kernel::new(KernelKind::Matern52, 1.3, &[0.3]).unwrap();
    let jitter = 1e-6;
    let r = Residual::from_inducing(&x, d, &z, k.clone(), jitter, &pool(2)).unwrap();
    // Gaussian elimination on K_ZZ + jitter σ² I for each right-hand side.
    let mut kzz = vec![vec![0.0; m]; m];
    for i in 0..m {
        for j in 0..m {
            kzz[i][j] = k.eval(&z[i * d..(i + 1) * d], &z[j * d..(j + 1) * d]);
        }
        kzz[i][i] += jitter * 1.3;
    }
    let solve = |rhs: Vec<f64>| -> Vec<f64> {
        let mut a = kzz.clone();
        let mut b = rhs;
        for c in 0..m {
            for r in c + 1..m {
                let f = a[r][c] / a[c][c];
                let pivot = a[c].clone();
                for (x, y) in a[r][c..].iter_mut().zip(&pivot[c..]) {
                    *x -= f * y;
                }
                b[r] -= f * b[c];
            }
        }
        for c in (0..m).rev() {
            let s: f64 = (c + 1..m).map(|j| a[c][j] * b[j]).sum();
            b[c] = (b[c] - s) / a[c][c];
        }
        b
    };
    let kz = |i: usize| -> Vec<f64> {
        (0..m)
            .map(|j| k.eval(&z[j * d..(j + 1) * d], &x[i * d..(i + 1) * d]))
            .collect()
    };
    let q = |i: usize, j: usize| -> f64 {
        let w = solve(kz(j));
        kz(i).iter().zip(&w).map(|(a, b)| a * b).sum()
    };
    for i in 0..n {
        let p = 1.3 - q(i, i);
        assert!((r.residual_variance()[i] - p).abs() < 1e-9, "p[{i}]");
        assert!(p > 1e-4, "the test data has real residual variance");
    }
    for (i, j) in [(0, 1), (3, 7), (10, 29), (5, 5)] {
        let pi = 1.3 - q(i, i);
        let pj = 1.3 - q(j, j);
        let rho = ((k.eval(&x[i * d..(i + 1) * d], &x[j * d..(j + 1) * d]) - q(i, j)) / (pi * pj).sqrt())
            .clamp(-1.0, 1.0);
        let dist = (1.0 - rho.abs()).sqrt();
        assert!(
            (r.distance(&r, i as u32, j as u32) - dist).abs() < 1e-6,
            "d({i}, {j})"
        );
    }
    assert_eq!(r.distance(&r, 4, 4), 0.0);
}

/// Brute force over canonical distances: ids and distances, ties by id.
fn naive(
    data: &Residual,
    queries: &Residual,
    i: u32,
    k: usize,
    keep: impl Fn(u32) -> bool,
) -> (Vec<u32>, Vec<f64>) {
    let mut all: Vec<(f64, u32)> = (0..data.len() as u32)
        .filter(|&j| keep(j))
        .map(|j| (data.distance(queries, i, j), j))
        .collect();
    all.sort_by(|a, b| a.0.total_cmp(&b.0).then(a.1.cmp(&b.1)));
    all.truncate(k);
    let (mut ids, mut ds): (Vec<u32>, Vec<f64>) = all.into_iter().map(|(d, j)| (j, d)).unzip();
    ids.resize(k, u32::MAX);
    ds.resize(k, f64::INFINITY);
    (ids, ds)
}

fn assert_rows(what: &str, got: &Neighbors, expect: impl Fn(u32) -> (Vec<u32>, Vec<f64>)) {
    for i in 0..got.len() {
        let (ids, ds) = expect(i as u32);
        assert_eq!(got.row(i), (&ids[..], &ds[..]), "{what}: row {i}");
    }
}

#[allow(clippy::too_many_arguments)]
fn check(name: &str, x: &[f64], d: usize, kind: KernelKind, lengthscale: &[f64], m: usize, seed: u64) {
    let p = pool(2);
    let z = datagen::uniform(m, d, seed + 100);
    let kernel = Kernel::new(kind, 1.0, lengthscale).unwrap();
    let data = Residual::from_inducing(x, d, &z, kernel, 1e-6, &p)
        .unwrap()
        .with_audit();
    let q = data.queries(&datagen::uniform(60, d, seed + 200), &p).unwrap();
    let (seq, (par, _)) = (
        Tree::build_sequential(data.clone()).unwrap(),
        Tree::build_with(
            data.clone(),
            &p,
            &BuildOptions {
                seed,
                ..Default::default()
            },
        )
        .unwrap(),
    );
    let flat = BuildOptions {
        flat: Flat::Always,
        ..Default::default()
    };
    let (flat, _) = Tree::build_with(data.clone(), &p, &flat).unwrap();
    assert!(flat.is_flat() && !par.is_flat());
    for (builder, tree) in [("sequential", seq), ("pcct", par), ("flat", flat)] {
        let what = format!("{name} {kind:?} [{builder}]");
        let v = tree.validate();
        assert!(v.is_empty(), "{what}: {:?}", &v[..v.len().min(3)]);
        for k in [1, 6, 25] {
            let (got, _) = tree.knn(&q, k).run(&p).unwrap();
            assert_rows(&format!("knn {what} k={k}"), &got, |i| {
                naive(&data, &q, i, k, |_| true)
            });
            assert_eq!(got, brute_force_knn(&data, &q, k, &p).unwrap(), "{what}");
            for threads in [1, 2] {
                let dp = pool(threads);
                assert_eq!(got, dense_knn(&data, &q, k, &dp).unwrap(), "dense {what}");
                let (s, _) = tree.self_knn(k).run(&p).unwrap();
                assert_eq!(s, dense_self_knn(&data, k, &dp).unwrap(), "dense self {what}");
                let (s, _) = tree.predecessor_knn(k).run(&p).unwrap();
                assert_eq!(
                    s,
                    dense_predecessor_knn(&data, k, &dp).unwrap(),
                    "dense pred {what}"
                );
            }
            let (got, _) = tree.self_knn(k).run(&p).unwrap();
            assert_rows(&format!("self {what} k={k}"), &got, |i| {
                naive(&data, &data, i, k, |j| j != i)
            });
            assert_eq!(got, brute_force_self_knn(&data, k, &p).unwrap(), "{what}");
            let (got, _) = tree.predecessor_knn(k).run(&p).unwrap();
            assert_rows(&format!("pred {what} k={k}"), &got, |i| {
                naive(&data, &data, i, k, |j| j < i)
            });
            assert_eq!(got, brute_force_predecessor_knn(&data, k, &p).unwrap(), "{what}");
        }
    }
    for tree in [Tree::build_with(data.clone(), &p, &BuildOptions::default())
        .unwrap()
        .0]
    {
        for r in [0.2, 0.6, 0.9] {
            let (got, _) = tree.range(&q, r).run(&p).unwrap();
            for i in 0..q.len() as u32 {
                let mut want: Vec<(f64, u32)> = (0..data.len() as u32)
                    .map(|j| (data.distance(&q, i, j), j))
                    .filter(|&(dd, _)| dd <= r)
                    .collect();
                want.sort_by(|a, b| a.0.total_cmp(&b.0).then(a.1.cmp(&b.1)));
                let (ids, ds) = got.row(i as usize);
                let got_pairs: Vec<(f64, u32)> = ds.iter().copied().zip(ids.iter().copied()).collect();
                assert_eq!(got_pairs, want, "range {name} {kind:?} r={r}: row {i}");
            }
            for via in [Via::Tree, Via::Scan] {
                assert_eq!(
                    tree.range(&q, r).via(via).run(&p).unwrap().0,
                    got,
                    "range {name} {kind:?} r={r} via {via:?}"
                );
            }
            assert!(
                tree.range(&q, r).via(Via::Kd).run(&p).is_err(),
                "no k-d path for the residual metric"
            );
        }
    }
    // Audit mode measured every row phase 1 ruled out: none was within its radius.
    let audit = data.audit().expect("audit is on");
    assert_eq!(audit.misses(), 0, "{name} {kind:?}: phase-1 misses");
    assert!(
        audit.rejections() > 0,
        "{name} {kind:?}: phase 1 never rejected a row"
    );
}

#[test]
fn every_kernel_and_query_kind_matches_brute_force() {
    for (s, kind) in KINDS.into_iter().enumerate() {
        let s = s as u64;
        check(
            "uniform d=2",
            &datagen::uniform(500, 2, s),
            2,
            kind,
            &[0.2],
            30,
            s,
        );
        check(
            "clusters d=3",
            &datagen::clusters(500, 3, 6, 0.05, s),
            3,
            kind,
            &[0.3, 0.5, 0.4],
            25,
            s,
        );
        check(
            "duplicates d=2",
            &datagen::with_duplicates(400, 2, 0.3, s),
            2,
            kind,
            &[0.25],
            20,
            s,
        );
        check("line d=3", &datagen::line(300, 3, s), 3, kind, &[0.5], 15, s);
    }
}

/// Many inducing points (m = 400): the dense engine's tiles go through pcct's own
/// product where the CPU runs it (m ≥ 160 with AVX-512), faer's elsewhere.
#[test]
fn many_inducing_points_match_brute_force() {
    check(
        "uniform d=3, m=400",
        &datagen::uniform(260, 3, 9),
        3,
        KernelKind::Rbf,
        &[0.4],
        400,
        9,
    );
}

/// Residual data like W4's (d = 8, RBF ℓ = 0.5, p ≈ 0.1σ²: most of each v's energy is
/// explained, the regime where phase 1 must still be rigorous), through the query
/// engine's scan and tree paths, with audit on.
#[test]
fn realistic_residual_data_with_audit() {
    let p = pool(2);
    let (n, d, m) = (1500, 8, 160);
    let x = datagen::uniform(n, d, 41);
    let z = datagen::uniform(m, d, 42);
    let kernel = Kernel::new(KernelKind::Rbf, 1.0, &[0.5]).unwrap();
    let data = Residual::from_inducing(&x, d, &z, kernel, 1e-6, &p)
        .unwrap()
        .with_audit();
    let mut ps = data.residual_variance().to_vec();
    ps.sort_by(f64::total_cmp);
    assert!(
        ps[n / 2] < 0.5,
        "median p {} is not the realistic regime",
        ps[n / 2]
    );
    let q = data.queries(&datagen::uniform(40, d, 43), &p).unwrap();
    let (tree, _) = Tree::build_with(data.clone(), &p, &BuildOptions::default()).unwrap();
    assert!(tree.validate().is_empty());
    // The two-phase traversal decides on data only: the same tree for any thread count.
    let (one, _) = Tree::build_with(data.clone(), &pool(1), &BuildOptions::default()).unwrap();
    assert_eq!(one.layout_digest(), tree.layout_digest());
    for k in [1, 8, 30] {
        let (got, _) = tree.knn(&q, k).run(&p).unwrap();
        assert_rows(&format!("knn k={k}"), &got, |i| naive(&data, &q, i, k, |_| true));
        let (got, _) = tree.predecessor_knn(k).run(&p).unwrap();
        assert_eq!(
            got,
            brute_force_predecessor_knn(&data, k, &p).unwrap(),
            "pred k={k}"
        );
        let (got, _) = tree.self_knn(k).run(&p).unwrap();
        assert_eq!(got, brute_force_self_knn(&data, k, &p).unwrap(), "self k={k}");
    }
    let audit = data.audit().unwrap();
    assert_eq!(audit.misses(), 0);
    assert!(
        audit.rejections() > 1000,
        "only {} rejections",
        audit.rejections()
    );
}

#[test]
fn bad_input_is_a_clear_error() {
    let p = pool(1);
    let x = datagen::uniform(10, 2, 1);
    let z = datagen::uniform(4, 2, 2);
    let k = Kernel::new(KernelKind::Rbf, 1.0, &[0.5]).unwrap();
    assert!(Kernel::new(KernelKind::Rbf, 0.0, &[0.5]).is_err());
    assert!(Kernel::new(KernelKind::Rbf, 1.0, &[]).is_err());
    assert!(Kernel::new(KernelKind::Rbf, 1.0, &[f64::NAN]).is_err());
    assert!("gauss".parse::<KernelKind>().is_err());
    let three = Kernel::new(KernelKind::Rbf, 1.0, &[0.5, 0.5, 0.5]).unwrap();
    let e = Residual::from_inducing(&x, 2, &z, three, 1e-6, &p)
        .unwrap_err()
        .to_string();
    assert!(e.contains("3 lengthscales"), "{e}");
    let zz = [0.5, 0.5, 0.5, 0.5];
    let e = Residual::from_inducing(&x, 2, &zz, k.clone(), 0.0, &p)
        .unwrap_err()
        .to_string();
    assert!(e.contains("positive definite"), "{e}");
    let mut bad = x.clone();
    bad[3] = f64::INFINITY;
    assert!(Residual::from_inducing(&bad, 2, &z, k.clone(), 1e-6, &p).is_err());
    let r = Residual::from_inducing(&x, 2, &z, k.clone(), 1e-6, &p).unwrap();
    assert!(r.queries(&[0.1, 0.2, 0.3], &p).is_err(), "ragged query rows");
    let v = vec![0.1; 10 * 4];
    let ok_p: Vec<f64> = (0..10).map(|_| 1.0 - 0.04).collect();
    let parts = Residual::from_parts(&x, 10, 2, &v, 4, &ok_p, k.clone()).unwrap();
    assert!(parts.queries(&x, &p).is_err(), "no model for new points");
    let wrong_p = vec![0.5; 10];
    let e = Residual::from_parts(&x, 10, 2, &v, 4, &wrong_p, k)
        .unwrap_err()
        .to_string();
    assert!(e.contains("do not belong together"), "{e}");
}

/// Points without coordinates (supplied `V`, `p`, dimension 0): every engine answers, no panic.
#[test]
fn supplied_parts_without_coordinates_answer_on_every_engine() {
    let p = pool(2);
    let (n, m) = (40, 3);
    let v: Vec<f64> = datagen::uniform(n, m, 4).iter().map(|x| 0.5 * x).collect();
    let pv: Vec<f64> = v
        .chunks(m)
        .map(|r| 1.0 - r.iter().map(|a| a * a).sum::<f64>())
        .collect();
    let kernel = Kernel::new(KernelKind::Rbf, 1.0, &[1.0]).unwrap();
    let data = Residual::from_parts(&[], n, 0, &v, m, &pv, kernel).unwrap();
    let want = brute_force_self_knn(&data, 5, &p).unwrap();
    assert_eq!(dense_self_knn(&data, 5, &p).unwrap(), want);
    assert_eq!(
        dense_knn(&data, &data, 5, &p).unwrap(),
        brute_force_knn(&data, &data, 5, &p).unwrap()
    );
    let (got, _) = Tree::build(data.clone(), &p)
        .unwrap()
        .self_knn(5)
        .run(&p)
        .unwrap();
    assert_eq!(got, want);
}
