//! Updates against a full build (issue: insert/delete/save/load), side by side in one
//! run on one 2-thread pool: build n points (uniform d = 8, the W5 shape), then insert
//! 1 % new points, delete 1 % of the ids, write the tree file and load it back.
//!
//! `cargo bench --bench update [-- LOG2_N REPEATS]` (default 2^16 points, 3 repeats)
//! prints a markdown row: medians, and each update as a share of the build.

#![allow(missing_docs)]

#[path = "common.rs"]
mod common;

use common::{median, time};
use pcct::datagen::{self, Rng};
use pcct::{Dataset, Euclidean, Pool, Tree};
use std::hint::black_box;

fn main() {
    let args = common::positional_args();
    let log2: u32 = args.first().and_then(|a| a.parse().ok()).unwrap_or(16);
    let repeats: usize = args.get(1).and_then(|a| a.parse().ok()).unwrap_or(3);
    let (n, dim) = (1usize << log2, 8);
    let pool = Pool::new(2).unwrap();
    let m = Euclidean::new(Dataset::from_rows(&datagen::uniform(n, dim, 1), n, dim).unwrap()).unwrap();
    let extra = n / 100;
    let new =
        Euclidean::new(Dataset::from_rows(&datagen::uniform(extra, dim, 2), extra, dim).unwrap()).unwrap();
    let mut rng = Rng::new(3);
    let gone: Vec<u32> = (0..extra).map(|_| rng.below(n as u64) as u32).collect();

    let (mut tb, mut ti, mut td, mut ts, mut tl) = (vec![], vec![], vec![], vec![], vec![]);
    let mut size = 0;
    for _ in 0..repeats {
        let (b, tree) = time(|| Tree::build(m.clone(), &pool).unwrap());
        let (i, inserted) = time(|| tree.insert(&new, &pool).unwrap().0);
        let (d, deleted) = time(|| tree.delete(&gone, &pool).unwrap());
        let (s, bytes) = time(|| tree.to_bytes());
        let (l, loaded) = time(|| Tree::<Euclidean<f64>>::from_bytes(&bytes).unwrap());
        assert_eq!(loaded.layout_digest(), tree.layout_digest());
        black_box((inserted.len(), deleted.len()));
        size = bytes.len();
        tb.push(b);
        ti.push(i);
        td.push(d);
        ts.push(s);
        tl.push(l);
    }
    let (b, i, d, s, l) = (median(tb), median(ti), median(td), median(ts), median(tl));
    println!("repeats: {repeats} (medians), 2 threads, uniform d = {dim}, 1 % = {extra} points");
    println!();
    println!("| n | build s | insert 1 % s | insert / build | delete 1 % s | delete / build | save (to bytes) s | load s | build / load | file MiB |");
    println!("|---|---|---|---|---|---|---|---|---|---|");
    println!(
        "| 2^{log2} | {b:.3} | {i:.4} | {:.2} % | {d:.4} | {:.2} % | {s:.4} | {l:.4} | {:.0}× | {:.1} |",
        100.0 * i / b,
        100.0 * d / b,
        b / l,
        size as f64 / (1 << 20) as f64
    );
}
