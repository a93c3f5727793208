//! Vecchia conditioning sets: for every point, its k nearest neighbours among the
//! points before it, checked against brute force.
//!
//! `cargo run --release --example vecchia -- [N] [K] [THREADS] [--no-brute]` (defaults
//! 65536, 30, 2): uniform points in [0,1)^3, sequential build, predecessor-constrained
//! k-NN; `--no-brute` skips the brute-force check (minutes at W7's 262,144 points).

use pcct::query::brute_force_predecessor_knn;
use pcct::{datagen, Dataset, Euclidean, Pool, Tree};
use std::time::Instant;

fn main() -> Result<(), pcct::Error> {
    let args: Vec<usize> = std::env::args().skip(1).filter_map(|a| a.parse().ok()).collect();
    let (n, k, threads) = (
        args.first().copied().unwrap_or(65536),
        args.get(1).copied().unwrap_or(30),
        args.get(2).copied().unwrap_or(2),
    );
    let dim = 3;
    let data = Euclidean::new(Dataset::from_rows(&datagen::uniform(n, dim, 7), n, dim)?)?;
    let pool = Pool::new(threads)?;

    let t = Instant::now();
    let tree = Tree::build_sequential(data.clone())?;
    let build = t.elapsed();
    let t = Instant::now();
    let (nn, stats) = tree.predecessor_knn(k).run(&pool)?;
    let query = t.elapsed();
    println!("n = {n}, k = {k}, {threads} threads: build {build:.2?}, predecessor k-NN {query:.2?}, {:.0} evaluations per query ({} path)", stats.evals_per_query(), stats.path.name());

    if std::env::args().any(|a| a == "--no-brute") {
        return Ok(());
    }
    let t = Instant::now();
    let brute = brute_force_predecessor_knn(&data, k, &pool)?;
    let brute_time = t.elapsed();
    println!(
        "brute force {brute_time:.2?} ({:.1}× the tree's query time), identical answers: {}",
        brute_time.as_secs_f64() / query.as_secs_f64(),
        brute == nn
    );
    let (ids, dists) = nn.row(n - 1);
    println!(
        "point {}: neighbours {:?} at {:?}",
        n - 1,
        &ids[..ids.len().min(5)],
        &dists[..dists.len().min(5)]
    );
    Ok(())
}
