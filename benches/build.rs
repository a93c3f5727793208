//! The parallel PCCT build against the sequential reference builder and kiddo's
//! `ImmutableKdTree` (f64), side by side in one run (issue: parallel build).
//!
//! `cargo bench --bench build [-- REPEATS MAX_LOG2_N]` (default 3 repeats, sizes up
//! to 2^16) prints two markdown tables:
//! 1. W1–W3 (uniform d = 8), W6 (clustered d = 32) and W9 (uniform d = 32): the tree
//!    built (cover or flat), build ms, median of the repeats — pcct on 1 and 2 threads,
//!    the sequential builder (not where pcct's tree is flat), kiddo — and the ratios
//!    1 thread / 2 threads and sequential / pcct (2 threads); beside them, kiddo's
//!    nearest other point for every point on 2 threads (one search per point: the work
//!    an insertion build does to place every point).
//! 2. Uniform d = 8 from 2^12 points up: pcct (2 threads) build µs per point,
//!    distance evaluations per point, and peak heap bytes per point (a counting
//!    global allocator; the input data, moved into the build, included), and kiddo's
//!    every-point nearest search likewise.

#![allow(missing_docs)]

#[path = "common.rs"]
mod common;

use common::{median, time};
use kiddo::ImmutableKdTree;
use pcct::{datagen, BuildOptions, Dataset, Euclidean, Pool, Tree};
use pcct_arenas::CountingAlloc;
use std::hint::black_box;

fn kiddo_build<const K: usize>(data: &[f64]) -> f64 {
    let pts: Vec<[f64; K]> = data.chunks_exact(K).map(|c| c.try_into().unwrap()).collect();
    time(|| black_box(ImmutableKdTree::<f64, K>::new_from_slice(&pts))).0
}

/// Seconds for kiddo to find every point's nearest other point (its 2 nearest, itself
/// first), the points split between `threads` threads, one run: the work of one
/// nearest-neighbour search per point, set beside a build that places every point by
/// such a search.
fn kiddo_all_nearest<const K: usize>(data: &[f64], threads: usize) -> f64 {
    use kiddo::SquaredEuclidean;
    let pts: Vec<[f64; K]> = data.chunks_exact(K).map(|c| c.try_into().unwrap()).collect();
    let tree = ImmutableKdTree::<f64, K>::new_from_slice(&pts);
    let two = std::num::NonZero::new(2).unwrap();
    let chunk = pts.len().div_ceil(threads).max(1);
    time(|| {
        std::thread::scope(|s| {
            for part in pts.chunks(chunk) {
                let tree = &tree;
                s.spawn(move || {
                    for p in part {
                        black_box(tree.nearest_n::<SquaredEuclidean>(p, two));
                    }
                });
            }
        })
    })
    .0
}

#[global_allocator]
static ALLOC: CountingAlloc = CountingAlloc::new();

fn main() {
    let args = common::positional_args();
    let repeats: usize = args.first().and_then(|a| a.parse().ok()).unwrap_or(3);
    let max_log2: u32 = args.get(1).and_then(|a| a.parse().ok()).unwrap_or(16);
    let (p1, p2) = (Pool::new(1).unwrap(), Pool::new(2).unwrap());
    let opts = BuildOptions::default();
    println!(
        "repeats: {repeats} (medians), ISA: {}",
        pcct::kernels::isa::best()
    );
    println!();
    println!("| id | n | d | tree | pcct 1t ms | pcct 2t ms | sequential ms | kiddo ms | kiddo all-nearest 2t ms | 1t / 2t | sequential / pcct 2t | kiddo / pcct 2t |");
    println!("|---|---|---|---|---|---|---|---|---|---|---|---|");
    let rows = [
        ("W1", 2048, 8, false),
        ("W2", 8192, 8, false),
        ("W3", 32768, 8, false),
        ("W6", 32768, 32, true),
        ("W9", 32768, 32, false),
    ];
    for (id, n, dim, clustered) in rows {
        let data = if clustered {
            datagen::clusters(n, dim, 64, 0.02, 6)
        } else {
            datagen::uniform(n, dim, 1)
        };
        let m = Euclidean::new(Dataset::from_rows(&data, n, dim).unwrap()).unwrap();
        let (mut t1, mut t2, mut ts, mut tk) = (Vec::new(), Vec::new(), Vec::new(), Vec::new());
        let mut flat = false;
        for _ in 0..repeats {
            let (a, x) = time(|| Tree::build_with(m.clone(), &p1, &opts).unwrap().0);
            let (b, y) = time(|| Tree::build_with(m.clone(), &p2, &opts).unwrap().0);
            assert_eq!(
                x.layout_digest(),
                y.layout_digest(),
                "{id}: 1 and 2 threads differ"
            );
            flat = y.is_flat();
            // The sequential builder makes a cover tree, quadratic where pcct's is flat.
            if !flat {
                ts.push(time(|| Tree::build_sequential(m.clone()).unwrap()).0);
            }
            t1.push(a);
            t2.push(b);
            tk.push(match dim {
                8 => kiddo_build::<8>(&data),
                _ => kiddo_build::<32>(&data),
            });
        }
        let (a, b, k) = (median(t1), median(t2), median(tk));
        let all = match dim {
            8 => kiddo_all_nearest::<8>(&data, 2),
            _ => kiddo_all_nearest::<32>(&data, 2),
        };
        let (seq, ratio) = match ts.is_empty() {
            true => ("—".to_string(), "—".to_string()),
            false => {
                let c = median(ts);
                (format!("{:.1}", c * 1e3), format!("{:.2}×", c / b))
            }
        };
        println!(
            "| {id} | {n} | {dim} | {} | {:.1} | {:.1} | {seq} | {:.2} | {:.1} | {:.2}× | {ratio} | {:.3}× |",
            if flat { "flat" } else { "cover" },
            a * 1e3,
            b * 1e3,
            k * 1e3,
            all * 1e3,
            a / b,
            k / b
        );
    }

    println!();
    println!("| n (uniform d = 8) | pcct 2t build s | µs / point | evals / point | batches | peak MiB | peak bytes / point | kiddo all-nearest 2t s |");
    println!("|---|---|---|---|---|---|---|---|");
    for e in 12..=max_log2 {
        let n = 1usize << e;
        let data = datagen::uniform(n, 8, 1);
        let m = Euclidean::new(Dataset::from_rows(&data, n, 8).unwrap()).unwrap();
        let all = kiddo_all_nearest::<8>(&data, 2);
        drop(data);
        let m2 = m.clone();
        let base = ALLOC.live();
        ALLOC.reset_peak();
        let (t, (tree, st)) = time(|| Tree::build_with(m2, &p2, &opts).unwrap());
        let peak = ALLOC.peak() - base;
        black_box(&tree);
        println!(
            "| 2^{e} | {t:.3} | {:.2} | {:.0} | {} | {:.1} | {:.0} | {all:.3} |",
            t * 1e6 / n as f64,
            st.traverse_evals() as f64 / n as f64,
            st.batches.len(),
            peak as f64 / (1 << 20) as f64,
            peak as f64 / n as f64,
        );
    }
}
