//! Shared helpers for the integration tests: datasets and the naive oracle.

#![allow(dead_code)] // each test binary uses part of this module

use pcct::datagen;
use pcct::kernels::{reference, Element};
use pcct::tree::NONE;
use pcct::{Dataset, Euclidean, Pool};

/// A named, seeded dataset in f64.
#[derive(Clone)]
pub struct Case {
    pub name: String,
    pub n: usize,
    pub dim: usize,
    pub values: Vec<f64>,
}

/// Every generator at dimension `dim`, `n` points each.
pub fn cases(n: usize, dim: usize, seed: u64) -> Vec<Case> {
    let side = if dim <= 2 { 12 } else { 3 };
    let mk = |name: &str, values: Vec<f64>| Case {
        name: format!("{name} d={dim}"),
        n,
        dim,
        values,
    };
    vec![
        mk("uniform", datagen::uniform(n, dim, seed)),
        mk("clusters", datagen::clusters(n, dim, 8, 0.02, seed + 1)),
        mk("duplicates50", datagen::with_duplicates(n, dim, 0.5, seed + 2)),
        mk("grid", datagen::grid(n, dim, side, seed + 3)),
        mk("line", datagen::line(n, dim, seed + 4)),
        mk(
            "tiny1e-9",
            datagen::scaled(datagen::uniform(n, dim, seed + 5), 1e-9),
        ),
        mk(
            "huge1e9",
            datagen::scaled(datagen::clusters(n, dim, 4, 0.05, seed + 6), 1e9),
        ),
    ]
}

pub fn euclidean<T: Element>(values: &[f64], n: usize, dim: usize) -> Euclidean<T> {
    let v: Vec<T> = values.iter().map(|&x| T::from_f64(x)).collect();
    Euclidean::new(Dataset::from_rows(&v, n, dim).unwrap()).unwrap()
}

pub fn pool(threads: usize) -> Pool {
    Pool::new(threads).unwrap()
}

/// The canonical distance, written out independently of the library's query code:
/// `sqrt(Σ (a_j − b_j)²)` in f64, column order; a sum below 1e-280 (squares may have
/// underflowed) is redone scaled by the largest difference.
pub fn dist<T: Element>(a: &[T], b: &[T]) -> f64 {
    let s = reference::sq_dist_f64(a, b);
    if s >= 1e-280 {
        return s.sqrt();
    }
    let diffs: Vec<f64> = a.iter().zip(b).map(|(x, y)| x.to_f64() - y.to_f64()).collect();
    let m = diffs.iter().fold(0.0f64, |m, d| m.max(d.abs()));
    if m == 0.0 {
        return 0.0;
    }
    m * diffs.iter().map(|d| (d / m) * (d / m)).sum::<f64>().sqrt()
}

/// The naive oracle: all candidates, sorted by (distance, id), first k, padded.
pub fn naive_knn<T: Element>(
    data: &Dataset<T>,
    query: &[T],
    k: usize,
    admit: impl Fn(u32) -> bool,
) -> (Vec<u32>, Vec<f64>) {
    let mut all: Vec<(f64, u32)> = (0..data.len() as u32)
        .filter(|&j| admit(j))
        .map(|j| (dist(query, data.row(j as usize)), j))
        .collect();
    all.sort_by(|a, b| a.partial_cmp(b).unwrap());
    all.resize(k.max(all.len()), (f64::INFINITY, NONE));
    all.truncate(k);
    (
        all.iter().map(|x| x.1).collect(),
        all.iter().map(|x| x.0).collect(),
    )
}

/// All points within r, sorted by (distance, id).
pub fn naive_range<T: Element>(data: &Dataset<T>, query: &[T], r: f64) -> (Vec<u32>, Vec<f64>) {
    let mut all: Vec<(f64, u32)> = (0..data.len() as u32)
        .map(|j| (dist(query, data.row(j as usize)), j))
        .filter(|x| x.0 <= r)
        .collect();
    all.sort_by(|a, b| a.partial_cmp(b).unwrap());
    (
        all.iter().map(|x| x.1).collect(),
        all.iter().map(|x| x.0).collect(),
    )
}
