//! The maximin ordering against an O(n²) greedy permutation written out here: every
//! generator (ties everywhere on grids and duplicates), f32 and f64, the k-d path (≤ 16
//! dimensions) and the scan path, the residual metric, 1 and 2 threads.

mod common;

use common::{cases, dist, euclidean, pool};
use pcct::kernels::Element;
use pcct::metric::{Kernel, KernelKind, Residual};
use pcct::ordering::{central_point, maximin, maximin_from};
use pcct::{datagen, Dataset, Metric};

/// The greedy permutation the slow way: every step measures every untaken point and
/// takes the farthest, ties by the smaller id.
fn reference(n: usize, first: u32, d: impl Fn(u32, u32) -> f64) -> (Vec<u32>, Vec<f64>) {
    let mut near: Vec<f64> = (0..n as u32).map(|i| d(first, i)).collect();
    let mut taken = vec![false; n];
    taken[first as usize] = true;
    let (mut order, mut radius) = (vec![first], vec![f64::INFINITY]);
    for _ in 1..n {
        let mut best: Option<usize> = None;
        for i in 0..n {
            if !taken[i] && best.is_none_or(|b| near[i] > near[b]) {
                best = Some(i);
            }
        }
        let c = best.unwrap();
        taken[c] = true;
        order.push(c as u32);
        radius.push(near[c]);
        for (i, v) in near.iter_mut().enumerate() {
            *v = v.min(d(c as u32, i as u32));
        }
    }
    (order, radius)
}

fn check_euclidean<T: Element>(n: usize, dim: usize, threads: usize) {
    for case in cases(n, dim, 7) {
        let m = euclidean::<T>(&case.values, n, dim);
        let rows: Vec<T> = case.values.iter().map(|&x| T::from_f64(x)).collect();
        let row = |i: u32| &rows[i as usize * dim..(i as usize + 1) * dim];
        let first = central_point(&m);
        let (order, radius) = reference(n, first, |a, b| dist(row(a), row(b)));
        let got = maximin(&m, &pool(threads)).unwrap();
        assert_eq!(got.order, order, "{} ({} threads)", case.name, threads);
        assert_eq!(got.radius, radius, "{}", case.name);
    }
}

#[test]
fn maximin_is_the_greedy_permutation_on_every_generator() {
    for threads in [1, 2] {
        check_euclidean::<f64>(600, 2, threads);
        check_euclidean::<f32>(500, 3, threads);
        check_euclidean::<f64>(300, 20, threads); // no k-d index: the scan path
    }
}

#[test]
fn maximin_of_20000_points_is_exact() {
    // W7's first 20,000 points, and a lattice (ties everywhere).
    let (n, dim) = (20_000, 3);
    let w7 = pcct::workload::Workload::find("W7").unwrap().data();
    for values in [w7[..n * dim].to_vec(), datagen::grid(n, dim, 28, 12)] {
        let m = euclidean::<f64>(&values, n, dim);
        let row = |i: u32| &values[i as usize * dim..(i as usize + 1) * dim];
        let (order, radius) = reference(n, 0, |a, b| dist(row(a), row(b)));
        let got = maximin_from(&m, 0, &pool(2)).unwrap();
        assert_eq!(got.order, order);
        assert_eq!(got.radius, radius);
    }
}

#[test]
fn residual_maximin_is_the_greedy_permutation() {
    let (n, d) = (400, 2);
    let x = datagen::uniform(n, d, 3);
    let z = datagen::uniform(40, d, 4);
    for kind in [KernelKind::Rbf, KernelKind::Matern32] {
        let k = Kernel::new(kind, 1.0, &[0.2]).unwrap();
        let m = Residual::from_inducing(&x, d, &z, k, 1e-6, &pool(2)).unwrap();
        let first = central_point(&m);
        let (order, radius) = reference(n, first, |a, b| m.distance(&m, a, b));
        for threads in [1, 2] {
            let got = maximin(&m, &pool(threads)).unwrap();
            assert_eq!(got.order, order, "{kind:?}");
            assert_eq!(got.radius, radius);
        }
    }
}

#[test]
fn orderings_refuse_what_they_cannot_do() {
    let m = euclidean::<f64>(&datagen::uniform(10, 2, 1), 10, 2);
    assert!(maximin_from(&m, 10, &pool(1))
        .unwrap_err()
        .to_string()
        .contains("point 10"));
    let one = euclidean::<f64>(&[0.5, 0.5], 1, 2);
    let mm = maximin(&one, &pool(1)).unwrap();
    assert_eq!((mm.order, mm.radius), (vec![0], vec![f64::INFINITY]));
    let _ = Dataset::<f64>::from_rows(&[], 0, 2); // an empty dataset cannot even be made
}
