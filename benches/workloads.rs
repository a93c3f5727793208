//! The Euclidean workloads of DESIGN.md §8 that the tree issue covers (W1–W3, W6):
//! pcct against the brute-force oracle and kiddo's `ImmutableKdTree` (f64), side by
//! side in one run on one pool of threads.
//!
//! `cargo bench --bench workloads [-- THREADS REPEATS]` (default 2 threads, 5 repeats)
//! prints the markdown tables of BENCHMARKS.md: medians over the repeats. Builds are
//! timed first (pcct's parallel build, whose tree the queries use, its sequential
//! reference build, kiddo's), then the queries after 0.2 s of untimed warm-up: each
//! repeat times pcct, brute force and kiddo in turn, each right after an untimed run of
//! its own. The second table times range queries (every point within the median k-th
//! neighbour distance of the queries; pcct's and brute force's answers compared) on the
//! same trees.

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
use std::sync::Arc;
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

/// Times `f` once right after an untimed call of its own: each engine's timed run
/// starts with its own data in the caches, whatever engine ran before it.
fn warm_time<R>(mut f: impl FnMut() -> R) -> (f64, R) {
    black_box(f());
    time(f)
}

/// kiddo's `ImmutableKdTree` (f64) over a workload: its build times, and its k-NN and
/// `within` (radius given) runs over the queries on the pool, each returning the
/// number of neighbours found.
struct Kiddo<'a> {
    builds: Vec<f64>,
    knn: Box<dyn Fn() -> usize + 'a>,
    within: Box<dyn Fn(f64) -> usize + 'a>,
}

/// Builds kiddo's tree for dimension K `repeats` times (timed), keeping the last.
fn kiddo<'a, const K: usize>(
    data: &[f64],
    queries: &[f64],
    k: usize,
    pool: &'a Pool,
    repeats: usize,
) -> Kiddo<'a> {
    let pts: Vec<[f64; K]> = data.chunks_exact(K).map(|c| c.try_into().unwrap()).collect();
    let qs: Vec<[f64; K]> = queries.chunks_exact(K).map(|c| c.try_into().unwrap()).collect();
    let mut builds = Vec::new();
    let mut tree = None;
    for _ in 0..repeats {
        let (tb, t) = time(|| ImmutableKdTree::<f64, K>::new_from_slice(&pts));
        builds.push(tb);
        tree = Some(t);
    }
    let tree = Arc::new(tree.unwrap());
    let qs = Arc::new(qs);
    let (t, q) = (tree.clone(), qs.clone());
    let k = NonZero::new(k).unwrap();
    let knn = Box::new(move || {
        pool.install(|| {
            q.par_iter()
                .map(|x| t.nearest_n::<SquaredEuclidean>(x, k).len())
                .sum::<usize>()
        })
    });
    let within = Box::new(move |r: f64| {
        pool.install(|| {
            qs.par_iter()
                .map(|x| tree.within::<SquaredEuclidean>(x, r * r).len())
                .sum::<usize>()
        })
    });
    Kiddo { builds, knn, within }
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
    println!("| id | n | queries | k | d | pcct build ms | sequential build ms | pcct query ms | evals/query | exact/query | brute query ms | kiddo build ms | kiddo query ms | query: brute / pcct | query: kiddo / pcct | path |");
    println!("|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|");
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
        // Builds first: the parallel build (the tree the queries use) and the
        // sequential reference, then kiddo's.
        let (mut tb, mut tseq) = (Vec::new(), Vec::new());
        let mut tree = None;
        for _ in 0..repeats {
            let (b, t) = time(|| Tree::build(m.clone(), &pool).unwrap());
            tb.push(b);
            tree = Some(t);
            tseq.push(time(|| Tree::build_sequential(m.clone()).unwrap()).0);
        }
        let tree = tree.unwrap();
        let kd = match w.dim {
            8 => kiddo::<8>(&data, &queries, w.k, &pool, repeats),
            32 => kiddo::<32>(&data, &queries, w.k, &pool, repeats),
            _ => unreachable!(),
        };
        // Queries: each repeat times pcct, brute force and kiddo in turn, each right
        // after an untimed run of its own (`warm_time`), so that a slow spell of the
        // host falls on all three alike and none starts with another's data in cache.
        warm_up(0.2, || {
            black_box(tree.knn(&q, w.k).run(&pool).unwrap());
            black_box(brute_force_knn(&m, &q, w.k, &pool).unwrap());
            black_box((kd.knn)());
        });
        let (mut tq, mut tbf, mut tkd) = (Vec::new(), Vec::new(), Vec::new());
        let mut stats = None;
        for _ in 0..repeats {
            let (qt, (nb, st)) = warm_time(|| tree.knn(&q, w.k).run(&pool).unwrap());
            let (bt, bf) = warm_time(|| brute_force_knn(&m, &q, w.k, &pool).unwrap());
            let (kt, found) = warm_time(|| (kd.knn)());
            assert_eq!(nb, bf, "{}: tree and brute force disagree", w.id);
            assert_eq!(found, w.queries * w.k, "{}: kiddo found too few", w.id);
            tq.push(qt);
            tbf.push(bt);
            tkd.push(kt);
            stats = Some(st);
        }
        let st = stats.unwrap();
        // Range queries at the median k-th neighbour distance of the queries.
        let (nb, _) = tree.knn(&q, w.k).run(&pool).unwrap();
        let r = median((0..w.queries).map(|i| nb.row(i).1[w.k - 1]).collect());
        warm_up(0.2, || {
            black_box(tree.range(&q, r).run(&pool).unwrap());
            black_box(brute_force_range(&m, &q, r, &pool).unwrap());
            black_box((kd.within)(r));
        });
        let (mut rq, mut rbf, mut rtree, mut rkd, mut rstats, mut hits) =
            (Vec::new(), Vec::new(), Vec::new(), Vec::new(), None, 0);
        for _ in 0..repeats {
            // The tree path alone (what every range query took before the engine chose).
            let (tt, _) = warm_time(|| tree.range(&q, r).via(Via::Tree).run(&pool).unwrap());
            let (qt, (got, st)) = warm_time(|| tree.range(&q, r).run(&pool).unwrap());
            let (bt, bf) = warm_time(|| brute_force_range(&m, &q, r, &pool).unwrap());
            let (kt, found) = warm_time(|| (kd.within)(r));
            assert_eq!(got, bf, "{}: range, tree and brute force disagree", w.id);
            hits = (0..got.len()).map(|i| got.row(i).0.len()).sum();
            // kiddo's `within` compares squared distances: ties at r may differ.
            assert!(
                found.abs_diff(hits) <= hits / 100,
                "{}: kiddo found {found} of {hits}",
                w.id
            );
            rtree.push(tt);
            rq.push(qt);
            rbf.push(bt);
            rkd.push(kt);
            rstats = Some(st);
        }
        let (rq, rbf, rt, kr, rst) = (
            median(rq),
            median(rbf),
            median(rtree),
            median(rkd),
            rstats.unwrap(),
        );
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
        let (b, bs, qt, bt, kb, kq) = (
            median(tb),
            median(tseq),
            median(tq),
            median(tbf),
            median(kd.builds.clone()),
            median(tkd),
        );
        println!(
            "| {} | {} | {} | {} | {} | {:.1} | {:.1} | {:.2} | {:.0} | {:.1} | {:.2} | {:.1} | {:.2} | {:.1}× | {:.2}× | {} |",
            w.id, w.n, w.queries, w.k, w.dim, b * 1e3, bs * 1e3, qt * 1e3, st.evals_per_query(),
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
