//! The Euclidean workloads of DESIGN.md §8 that the tree issue covers (W1–W3, W6):
//! pcct (sequential reference build) against the brute-force oracle and kiddo's
//! `ImmutableKdTree` (f64), side by side in one run on one pool of threads.
//!
//! `cargo bench --bench workloads [-- THREADS REPEATS]` (default 2 threads, 5 repeats)
//! prints the markdown tables of BENCHMARKS.md: medians over the repeats. Each engine's
//! builds are timed first, then its queries after 0.2 s of untimed warm-up. The second
//! table times range queries (every point within the median k-th neighbour distance of
//! the queries; pcct's and brute force's answers compared) on the same trees.

#![allow(missing_docs)]

#[path = "common.rs"]
mod common;

use common::{median, time};
use kiddo::{ImmutableKdTree, SquaredEuclidean};
use pcct::query::{brute_force_knn, brute_force_range};
use pcct::{datagen, Dataset, Euclidean, Pool, Tree, Via};
use rayon::prelude::*;
use std::hint::black_box;
use std::num::NonZero;
use std::time::Instant;

struct Workload {
    id: &'static str,
    n: usize,
    queries: usize,
    k: usize,
    dim: usize,
    clustered: bool,
}

const WORKLOADS: [Workload; 4] = [
    Workload {
        id: "W1",
        n: 2048,
        queries: 512,
        k: 8,
        dim: 8,
        clustered: false,
    },
    Workload {
        id: "W2",
        n: 8192,
        queries: 1024,
        k: 16,
        dim: 8,
        clustered: false,
    },
    Workload {
        id: "W3",
        n: 32768,
        queries: 1024,
        k: 8,
        dim: 8,
        clustered: false,
    },
    Workload {
        id: "W6",
        n: 32768,
        queries: 1024,
        k: 8,
        dim: 32,
        clustered: true,
    },
];

/// Runs `f` until `seconds` have passed (at least once): on this VM the first tens of
/// milliseconds of two-thread work after a serial phase run up to 2× slow, whatever
/// runs them, so timed repeats start warm.
fn warm_up(seconds: f64, mut f: impl FnMut()) {
    let t = Instant::now();
    loop {
        f();
        if t.elapsed().as_secs_f64() >= seconds {
            break;
        }
    }
}

/// kiddo build, k-NN query and range query (`within`, radius `r`) times (medians) for
/// dimension K: builds first, then queries.
fn kiddo_run<const K: usize>(
    data: &[f64],
    queries: &[f64],
    k: usize,
    r: f64,
    pool: &Pool,
    repeats: usize,
) -> (f64, f64, f64) {
    let pts: Vec<[f64; K]> = data.chunks_exact(K).map(|c| c.try_into().unwrap()).collect();
    let qs: Vec<[f64; K]> = queries.chunks_exact(K).map(|c| c.try_into().unwrap()).collect();
    let (mut b, mut q) = (Vec::new(), Vec::new());
    let mut tree = None;
    for _ in 0..repeats {
        let (tb, t) = time(|| ImmutableKdTree::<f64, K>::new_from_slice(&pts));
        b.push(tb);
        tree = Some(t);
    }
    let tree = tree.unwrap();
    let run = || {
        pool.install(|| {
            qs.par_iter()
                .map(|x| {
                    tree.nearest_n::<SquaredEuclidean>(x, NonZero::new(k).unwrap())
                        .len()
                })
                .sum::<usize>()
        })
    };
    warm_up(0.2, || {
        black_box(run());
    });
    for _ in 0..repeats {
        let (tq, out) = time(run);
        black_box(out);
        q.push(tq);
    }
    let within = || {
        pool.install(|| {
            qs.par_iter()
                .map(|x| tree.within::<SquaredEuclidean>(x, r * r).len())
                .sum::<usize>()
        })
    };
    warm_up(0.2, || {
        black_box(within());
    });
    let mut w = Vec::new();
    for _ in 0..repeats {
        let (tw, out) = time(within);
        black_box(out);
        w.push(tw);
    }
    (median(b), median(q), median(w))
}

fn main() {
    let args = common::positional_args();
    let threads: usize = args.first().and_then(|a| a.parse().ok()).unwrap_or(2);
    let repeats: usize = args.get(1).and_then(|a| a.parse().ok()).unwrap_or(5);
    let pool = Pool::new(threads).unwrap();
    println!(
        "threads: {threads}, repeats: {repeats} (medians), ISA: {}",
        pcct::kernels::isa::best()
    );
    println!();
    println!("| id | n | queries | k | d | pcct build ms | pcct query ms | evals/query | exact/query | brute query ms | kiddo build ms | kiddo query ms | query: brute / pcct | query: kiddo / pcct | path |");
    println!("|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|");
    let mut range_rows = Vec::new();
    for w in &WORKLOADS {
        let data = if w.clustered {
            datagen::clusters(w.n, w.dim, 64, 0.02, 6)
        } else {
            datagen::uniform(w.n, w.dim, 1)
        };
        // Clustered queries: same mixture (same seed, so same centres), later draws.
        let queries = if w.clustered {
            datagen::clusters(w.n + w.queries, w.dim, 64, 0.02, 6).split_off(w.n * w.dim)
        } else {
            datagen::uniform(w.queries, w.dim, 2)
        };
        let m = Euclidean::new(Dataset::from_rows(&data, w.n, w.dim).unwrap()).unwrap();
        let q = Euclidean::new(Dataset::from_rows(&queries, w.queries, w.dim).unwrap()).unwrap();
        let (mut tb, mut tq, mut tbf) = (Vec::new(), Vec::new(), Vec::new());
        let mut stats = None;
        // Builds first, then queries (after a warm-up), pcct and brute force alternating.
        let mut tree = None;
        for _ in 0..repeats {
            let (b, t) = time(|| Tree::build_sequential(m.clone()).unwrap());
            tb.push(b);
            tree = Some(t);
        }
        let tree = tree.unwrap();
        warm_up(0.2, || {
            black_box(tree.knn(&q, w.k, &pool).unwrap());
            black_box(brute_force_knn(&m, &q, w.k, &pool).unwrap());
        });
        for _ in 0..repeats {
            let (qt, (nb, st)) = time(|| tree.knn(&q, w.k, &pool).unwrap());
            let (bt, bf) = time(|| brute_force_knn(&m, &q, w.k, &pool).unwrap());
            assert_eq!(nb, bf, "{}: tree and brute force disagree", w.id);
            tq.push(qt);
            tbf.push(bt);
            stats = Some(st);
        }
        let st = stats.unwrap();
        // Range queries at the median k-th neighbour distance of the queries.
        let (nb, _) = tree.knn(&q, w.k, &pool).unwrap();
        let r = median((0..w.queries).map(|i| nb.row(i).1[w.k - 1]).collect());
        warm_up(0.2, || {
            black_box(tree.range(&q, r, &pool).unwrap());
            black_box(brute_force_range(&m, &q, r, &pool).unwrap());
        });
        let (mut rq, mut rbf, mut rtree, mut rstats, mut hits) =
            (Vec::new(), Vec::new(), Vec::new(), None, 0);
        for _ in 0..repeats {
            // The tree path alone (what every range query took before the engine chose).
            let (tt, _) = time(|| tree.range_via(&q, r, &pool, Via::Tree).unwrap());
            rtree.push(tt);
            let (qt, (got, st)) = time(|| tree.range(&q, r, &pool).unwrap());
            let (bt, bf) = time(|| brute_force_range(&m, &q, r, &pool).unwrap());
            assert_eq!(got, bf, "{}: range, tree and brute force disagree", w.id);
            hits = (0..got.len()).map(|i| got.row(i).0.len()).sum();
            rq.push(qt);
            rbf.push(bt);
            rstats = Some(st);
        }
        let (kb, kq, kr) = match w.dim {
            8 => kiddo_run::<8>(&data, &queries, w.k, r, &pool, repeats),
            32 => kiddo_run::<32>(&data, &queries, w.k, r, &pool, repeats),
            _ => unreachable!(),
        };
        let (rq, rbf, rt, rst) = (median(rq), median(rbf), median(rtree), rstats.unwrap());
        range_rows.push(format!(
            "| {} | {:.4} | {:.1} | {:.2} | {:.0} | {} | {:.2} | {:.2} | {:.2} | {:.1}× | {:.2}× | {:.1}× |",
            w.id,
            r,
            hits as f64 / w.queries as f64,
            rq * 1e3,
            rst.evals_per_query(),
            rst.path.name(),
            rt * 1e3,
            rbf * 1e3,
            kr * 1e3,
            rbf / rq,
            kr / rq,
            rt / rq
        ));
        let (b, qt, bt) = (median(tb), median(tq), median(tbf));
        println!(
            "| {} | {} | {} | {} | {} | {:.1} | {:.2} | {:.0} | {:.1} | {:.2} | {:.1} | {:.2} | {:.1}× | {:.2}× | {} |",
            w.id, w.n, w.queries, w.k, w.dim, b * 1e3, qt * 1e3, st.evals_per_query(),
            st.exact_evals as f64 / st.queries as f64, bt * 1e3,
            kb * 1e3, kq * 1e3, bt / qt, kq / qt, st.path.name()
        );
    }
    println!();
    println!("| id | radius | hits/query | pcct range ms | evals/query | path | tree path ms | brute range ms | kiddo within ms | range: brute / pcct | range: kiddo / pcct | range: tree path / pcct |");
    println!("|---|---|---|---|---|---|---|---|---|---|---|---|");
    for row in range_rows {
        println!("{row}");
    }
}
