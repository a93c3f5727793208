//! A metric whose canonical distance carries an absolute error (as the residual metric's
//! does near `|ρ| = 1`): the Euclidean distance plus a deterministic jitter of up to
//! `ABS` per pair, declared as `Errors::distance(0, ABS)`. Searches prune with the
//! triangle inequality of the true metric, so every bound they take from canonical
//! values must allow for that jitter: on integer grids, where a jitter this size
//! reorders the many exact ties, every query kind along the tree and scan paths must
//! still answer exactly what brute force over the canonical distances answers.

mod common;

use common::pool;
use pcct::metric::Errors;
use pcct::{datagen, Metric, Result, Tree, Via};

/// The declared absolute error: a tenth of the grid's spacing.
const ABS: f64 = 0.1;

/// Euclidean rows; a pair's jitter is a function of the two points' coordinates (so it
/// follows the points through any layout, and identical points measure alike).
#[derive(Clone, Debug)]
struct Jittered {
    dim: usize,
    rows: Vec<f64>,
}

impl Jittered {
    fn new(rows: Vec<f64>, dim: usize) -> Self {
        Jittered { dim, rows }
    }

    /// A hash of a row's coordinates.
    fn key(&self, i: u32) -> u64 {
        self.row(i).iter().fold(0xCBF2_9CE4_8422_2325u64, |h, x| {
            (h ^ x.to_bits()).wrapping_mul(0x0100_0000_01B3)
        })
    }

    fn row(&self, i: u32) -> &[f64] {
        &self.rows[i as usize * self.dim..(i as usize + 1) * self.dim]
    }
}

/// A symmetric hash of two keys into [−1, 1].
fn jitter(a: u64, b: u64) -> f64 {
    let (lo, hi) = (a.min(b), a.max(b));
    let mut h = lo.wrapping_mul(0x9E37_79B9_7F4A_7C15) ^ hi.wrapping_mul(0xC2B2_AE3D_27D4_EB4F);
    h ^= h >> 31;
    h = h.wrapping_mul(0xD6E8_FEB8_6659_FD93);
    h ^= h >> 32;
    (h >> 11) as f64 / (1u64 << 53) as f64 * 2.0 - 1.0
}

impl Metric for Jittered {
    fn len(&self) -> usize {
        self.rows.len() / self.dim
    }

    fn distance(&self, queries: &Self, i: u32, j: u32) -> f64 {
        let (a, b) = (queries.row(i), self.row(j));
        let d = a
            .iter()
            .zip(b)
            .map(|(x, y)| (x - y) * (x - y))
            .sum::<f64>()
            .sqrt();
        if d == 0.0 {
            return 0.0; // the same point: no jitter (distinct points never measure 0)
        }
        (d + ABS * jitter(queries.key(i), self.key(j))).max(f64::MIN_POSITIVE)
    }

    fn permuted(&self, order: &[u32]) -> Self {
        Jittered {
            dim: self.dim,
            rows: order.iter().flat_map(|&i| self.row(i).to_vec()).collect(),
        }
    }

    fn errors(&self) -> Errors {
        // The sum and root of exact small integers round by a few ε; the jitter is ABS.
        Errors::distance(8.0 * f64::EPSILON * self.dim as f64, ABS)
    }
}

/// The k smallest (canonical distance, id) over the admitted points, padded.
fn naive(
    data: &Jittered,
    queries: &Jittered,
    q: u32,
    k: usize,
    admit: impl Fn(u32) -> bool,
) -> Vec<(u32, f64)> {
    let mut all: Vec<(f64, u32)> = (0..data.len() as u32)
        .filter(|&j| admit(j))
        .map(|j| (data.distance(queries, q, j), j))
        .collect();
    all.sort_by(|a, b| a.0.total_cmp(&b.0).then(a.1.cmp(&b.1)));
    let mut row: Vec<(u32, f64)> = all.into_iter().take(k).map(|(d, j)| (j, d)).collect();
    row.resize(k, (pcct::tree::NONE, f64::INFINITY));
    row
}

fn check(what: &str, got: &pcct::Neighbors, expect: impl Fn(usize) -> Vec<(u32, f64)>) {
    for i in 0..got.len() {
        let (ids, ds) = got.row(i);
        let row: Vec<(u32, f64)> = ids.iter().copied().zip(ds.iter().copied()).collect();
        assert_eq!(row, expect(i), "{what}: query {i}");
    }
}

#[test]
fn pruning_allows_for_the_declared_absolute_error() -> Result<()> {
    for (dim, side) in [(2usize, 30u64), (3, 10)] {
        let n = (side as usize).pow(dim as u32);
        let data = Jittered::new(datagen::grid(n, dim, side, 5), dim);
        let qs = Jittered::new(datagen::grid(60, dim, side, 6), dim);
        for threads in [1, 2] {
            let p = pool(threads);
            for tree in [
                Tree::build(data.clone(), &p)?,
                Tree::build_sequential(data.clone())?,
            ] {
                assert!(tree.validate().is_empty(), "{:?}", tree.validate());
                // Small buckets: the searches descend and prune instead of scanning.
                for t in [tree.relayout(4), tree] {
                    for via in [Via::Tree, Via::Scan] {
                        let what = format!("d={dim} threads={threads} {via:?}");
                        for k in [1, 4, 13] {
                            let (nn, _) = t.knn(&qs, k).via(via).run(&p)?;
                            check(&what, &nn, |i| naive(&data, &qs, i as u32, k, |_| true));
                            let (nn, _) = t.self_knn(k).via(via).run(&p)?;
                            check(&what, &nn, |i| {
                                naive(&data, &data, i as u32, k, |j| j as usize != i)
                            });
                            let (nn, _) = t.predecessor_knn(k).via(via).run(&p)?;
                            check(&what, &nn, |i| {
                                naive(&data, &data, i as u32, k, |j| (j as usize) < i)
                            });
                        }
                        let (rn, _) = t.range(&qs, 2.0).via(via).run(&p)?;
                        for i in 0..qs.len() {
                            let mut want: Vec<(f64, u32)> = (0..n as u32)
                                .map(|j| (data.distance(&qs, i as u32, j), j))
                                .filter(|&(d, _)| d <= 2.0)
                                .collect();
                            want.sort_by(|a, b| a.0.total_cmp(&b.0).then(a.1.cmp(&b.1)));
                            let (ids, ds) = rn.row(i);
                            let got: Vec<(f64, u32)> = ds.iter().copied().zip(ids.iter().copied()).collect();
                            assert_eq!(got, want, "{what}: range of query {i}");
                        }
                    }
                }
            }
        }
    }
    Ok(())
}
