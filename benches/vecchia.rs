//! Vecchia conditioning sets (each point's k nearest among the points before it) by pcct
//! against GpGp's recipe on kiddo, the fastest a careful Rust user would write: one
//! `ImmutableKdTree` per doubling prefix, each point asks for its `2k + 2` nearest in the
//! prefix and keeps the earlier ones, asking again with twice as many while fewer than k
//! survive (GpGp `find_ordered_nn`). Same data, same pool, answers compared (ids).
//!
//! `cargo bench --bench vecchia [-- REPEATS]` (default 3; medians) prints one markdown
//! table: W7's shape (262,144 uniform points, k = 30) at d = 2, 3 and 5, and k = 10 at
//! d = 3, in random order and (d = 3, 5) in exact maximin order; pcct through `pcct::Job` (the plan's engine), kiddo's recipe end to end. A
//! second table times the exact maximin ordering (`pcct::ordering::maximin`) of the same
//! points against pcct's own tree build (`Tree::build`), same run.

#![allow(missing_docs)]

#[path = "common.rs"]
#[allow(dead_code)] // shared with the other benches
mod common;

use common::{median, positional_args, time};
use kiddo::{ImmutableKdTree, SquaredEuclidean};
use pcct::job::Job;
use pcct::{datagen, ordering, Dataset, Euclidean, Pool, Tree};
use rayon::prelude::*;
use std::num::NonZero;

/// GpGp's recipe on kiddo: ids of each point's k nearest earlier points, nearest first
/// (ties by id), padded with `u32::MAX`.
fn recipe<const K: usize>(data: &[f64], k: usize, pool: &Pool) -> Vec<u32> {
    let pts: Vec<[f64; K]> = data.chunks_exact(K).map(|c| c.try_into().unwrap()).collect();
    let n = pts.len();
    let mut out = vec![u32::MAX; n * k];
    // The first points by brute force (their prefix is tiny).
    let first = (2 * k + 2).min(n);
    for i in 0..first {
        let mut c: Vec<(f64, u32)> = (0..i)
            .map(|j| {
                let d: f64 = (0..K).map(|a| (pts[i][a] - pts[j][a]).powi(2)).sum();
                (d, j as u32)
            })
            .collect();
        c.sort_by(|a, b| a.partial_cmp(b).unwrap());
        for (o, x) in out[i * k..(i + 1) * k].iter_mut().zip(&c) {
            *o = x.1;
        }
    }
    let mut lo = first;
    while lo < n {
        let hi = (2 * lo).min(n);
        let tree = ImmutableKdTree::<f64, K>::new_from_slice(&pts[..hi]);
        pool.install(|| {
            out[lo * k..hi * k]
                .par_chunks_mut(k)
                .enumerate()
                .for_each(|(a, row)| {
                    let i = lo + a;
                    let mut ask = 2 * k + 2;
                    loop {
                        let got =
                            tree.nearest_n::<SquaredEuclidean>(&pts[i], NonZero::new(ask.min(hi)).unwrap());
                        let mut keep: Vec<(f64, u32)> = got
                            .iter()
                            .filter(|nn| (nn.item as usize) < i)
                            .map(|nn| (nn.distance, nn.item as u32))
                            .collect();
                        if keep.len() >= k || ask >= hi {
                            keep.sort_by(|a, b| a.partial_cmp(b).unwrap());
                            for (o, x) in row.iter_mut().zip(&keep) {
                                *o = x.1;
                            }
                            break;
                        }
                        ask *= 2;
                    }
                })
        });
        lo = hi;
    }
    out
}

fn main() -> pcct::Result<()> {
    let repeats: usize = positional_args()
        .first()
        .map_or(3, |r| r.parse().expect("REPEATS"));
    let pool = Pool::new(2)?;
    let n = 262_144;
    println!("| n | d | k | order | pcct engine | pcct s | kiddo recipe s | recipe / pcct | same ids |");
    println!("|---|---|---|---|---|---|---|---|---|");
    for (dim, k, order) in [
        (2, 30, "random"),
        (3, 30, "random"),
        (5, 30, "random"),
        (3, 10, "random"),
        (3, 30, "maximin"),
        (5, 30, "maximin"),
    ] {
        let mut data = datagen::uniform(n, dim, 1);
        if order == "maximin" {
            // The points in their exact maximin order, as GP users order them.
            let m = Euclidean::new(Dataset::from_rows(&data, n, dim)?)?;
            let mm = ordering::maximin(&m, &pool)?;
            data = mm
                .order
                .iter()
                .flat_map(|&i| data[i as usize * dim..(i as usize + 1) * dim].to_vec())
                .collect();
        }
        let (mut tp, mut tk) = (Vec::new(), Vec::new());
        let (mut ours, mut theirs, mut engine) = (Vec::new(), Vec::new(), "");
        for _ in 0..repeats {
            let m = Euclidean::new(Dataset::from_rows(&data, n, dim)?)?;
            let (t, done) = time(|| Job::predecessor_knn(m, k).run(&pool));
            let done = done?;
            tp.push(t);
            engine = done.plan.engine.name();
            ours = done.neighbors.ids().to_vec();
            let (t, r) = time(|| match dim {
                2 => recipe::<2>(&data, k, &pool),
                3 => recipe::<3>(&data, k, &pool),
                _ => recipe::<5>(&data, k, &pool),
            });
            tk.push(t);
            theirs = r;
        }
        // Rounding may order exact ties or near-ties differently: count rows whose id sets agree.
        let same = ours
            .chunks(k)
            .zip(theirs.chunks(k))
            .filter(|(a, b)| {
                let (mut a, mut b) = (a.to_vec(), b.to_vec());
                a.sort_unstable();
                b.sort_unstable();
                a == b
            })
            .count();
        let (p, r) = (median(tp), median(tk));
        println!(
            "| {n} | {dim} | {k} | {order} | {engine} | {p:.3} | {r:.3} | {:.2}× | {:.2} % |",
            r / p,
            100.0 * same as f64 / n as f64
        );
    }
    println!();
    println!("| n | d | maximin ordering s | Tree::build s | ordering / build |");
    println!("|---|---|---|---|---|");
    for dim in [2, 3, 5] {
        let data = datagen::uniform(n, dim, 1);
        let m = Euclidean::new(Dataset::from_rows(&data, n, dim)?)?;
        let (mut to, mut tb) = (Vec::new(), Vec::new());
        for _ in 0..repeats {
            let (t, mm) = time(|| ordering::maximin(&m, &pool));
            assert_eq!(mm?.order.len(), n);
            to.push(t);
            let (t, tree) = time(|| Tree::build(m.clone(), &pool));
            assert_eq!(tree?.len(), n);
            tb.push(t);
        }
        let (o, b) = (median(to), median(tb));
        println!("| {n} | {dim} | {o:.3} | {b:.3} | {:.2}× |", o / b);
    }
    Ok(())
}
