//! The dense engine against the machine: its matrix products as a share of the
//! measured f64 FMA peak, and its jobs end to end (GP model + neighbours).
//!
//! `cargo bench --bench dense [-- THREADS]` (default 2) prints two markdown tables:
//! 1. The f64 FMA peak (64 independent chains of fused multiply-adds at the widest
//!    vectors, `pcct_kernels::peak`), per thread and on all threads at once, and faer's and pcct's own (`pcct_kernels::product`, AVX-512)
//!    product at the dense engine's tile shapes (128 queries × 1,024 rows × m), run as the
//!    engine runs it (sequential products, one per thread), as GFLOP/s and share of the peak.
//! 2. W4, W8 and W9 through `pcct::Job` (the plan's choice): model and answer seconds, and
//!    the product's flops over the answer time (an effective rate, all other work included).
//! 3. Where a residual tree starts to pay: predecessor k = 30 on 16,384 uniform points in
//!    d = 3, Matérn 3/2, m ∈ {50, 200}, ℓ from 0.02 to 0.5 — both engines timed (answers
//!    compared), the plan's reach and pick beside the faster one.

#![allow(missing_docs)]

#[path = "common.rs"]
#[allow(dead_code)] // shared with the other benches; this one needs two helpers
mod common;

use common::{positional_args, time};
use pcct::job::{Engine, Job};
use pcct::kernels::peak::f64_fma_rate;
use pcct::metric::{Kernel, KernelKind, Residual};
use pcct::workload::{Queries, Workload, WorkloadMetric};
use pcct::{Dataset, Euclidean, Pool};

/// `threads` copies of `f` at once; their summed rate.
fn on_threads(threads: usize, f: impl Fn() -> f64 + Sync) -> f64 {
    std::thread::scope(|s| {
        let hs: Vec<_> = (0..threads).map(|_| s.spawn(&f)).collect();
        hs.into_iter().map(|h| h.join().expect("a bench thread")).sum()
    })
}

/// GFLOP/s of one thread multiplying `qb` × m by (`rb` × m)ᵀ tiles with faer, sequential,
/// both sides row-major as the engine stores them (`V`, coordinates); the best of three runs.
/// With `ours`, pcct's own product (`pcct_kernels::product`) instead.
fn product_rate(qb: usize, rb: usize, m: usize, ours: bool) -> f64 {
    use faer::{linalg::matmul::matmul, Accum, MatMut, MatRef, Par};
    let a: Vec<f64> = (0..qb * m).map(|i| (i % 11) as f64 * 0.1).collect();
    let b: Vec<f64> = (0..8 * rb * m).map(|i| (i % 17) as f64 * 0.1).collect();
    let mut c = vec![0.0; qb * rb];
    let mut pack = Vec::new();
    // About 4 GFLOP per run (~50 ms at the engine's rates), at least two products.
    let reps = (4e9 / (2 * qb * rb * m) as f64).max(2.0) as usize;
    // The best of three runs of `reps` products.
    let best = (0..3)
        .map(|_| {
            time(|| {
                for r in 0..reps {
                    // Eight different row tiles in turn, as a scan over the data reads them.
                    let t = r % 8;
                    let bt = &b[t * rb * m..(t + 1) * rb * m];
                    if ours {
                        pcct::kernels::product::product_nt(&a, bt, m, &mut c, &mut pack);
                        continue;
                    }
                    let (a, b) = (
                        MatRef::from_row_major_slice(&a, qb, m),
                        MatRef::from_row_major_slice(bt, rb, m),
                    );
                    let c = MatMut::from_row_major_slice_mut(&mut c, qb, rb);
                    matmul(c, Accum::Replace, a, b.transpose(), 1.0, Par::Seq);
                }
            })
            .0
        })
        .fold(f64::INFINITY, f64::min);
    2.0 * (qb * rb * m * reps) as f64 / best
}

fn main() -> pcct::Result<()> {
    let threads: usize = positional_args()
        .first()
        .map_or(2, |t| t.parse().expect("THREADS"));
    let peak1 = f64_fma_rate(0.5);
    let peak = on_threads(threads, || f64_fma_rate(0.5));
    println!(
        "f64 FMA peak: {:.1} GFLOP/s per thread, {:.1} on {threads} threads\n",
        peak1 / 1e9,
        peak / 1e9
    );
    println!("| product (queries × rows × m) | with | GFLOP/s, 1 thread | share of peak | GFLOP/s, {threads} threads | share of peak |");
    println!("|---|---|---|---|---|---|");
    let ours = [false, pcct::kernels::product::available()];
    // The engine's tiles, then one product as large as W4's whole job (for comparison).
    for (qb, rb, m) in [
        (128, 1024, 32),
        (128, 1024, 200),
        (128, 1024, 512),
        (256, 1024, 512),
        (1024, 4096, 512),
    ] {
        for (i, with) in ["faer", "pcct"]
            .into_iter()
            .enumerate()
            .filter(|&(i, _)| i == 0 || ours[i])
        {
            let one = product_rate(qb, rb, m, i == 1);
            let all = on_threads(threads, || product_rate(qb, rb, m, i == 1));
            println!(
                "| {qb} × {rb} × {m} | {with} | {:.1} | {:.0} % | {:.1} | {:.0} % |",
                one / 1e9,
                100.0 * one / peak1,
                all / 1e9,
                100.0 * all / peak
            );
        }
    }
    println!();
    let pool = Pool::new(threads)?;
    println!(
        "| workload | engine | model s | answer s | product GFLOP | effective GFLOP/s | share of peak |"
    );
    println!("|---|---|---|---|---|---|---|");
    for id in ["W4", "W8", "W9"] {
        let w = Workload::find(id)?;
        let data = w.data();
        let rows = w.query_rows(&data);
        let pairs = match w.queries {
            Queries::Predecessor => (w.n * (w.n - 1) / 2) as f64,
            _ => (w.query_count() * w.n) as f64,
        };
        // (model seconds, engine, answer seconds, product width)
        let (model, engine, answer, width) = match w.metric {
            WorkloadMetric::Residual { inducing, .. } => {
                let (tm, m) = time(|| w.residual(&data, &pool));
                let m = m?.expect("a residual workload");
                let done = match rows {
                    Some(r) => {
                        let (tq, q) = time(|| m.queries(&r, &pool));
                        let q = q?;
                        (tm + tq, Job::knn(m, &q, w.k).run(&pool)?)
                    }
                    None => (tm, Job::predecessor_knn(m, w.k).run(&pool)?),
                };
                (done.0, done.1.plan.engine, done.1.answer, inducing)
            }
            WorkloadMetric::Euclidean => {
                let m = Euclidean::new(Dataset::from_rows(&data, w.n, w.dim)?)?;
                let r = rows.expect("W9 has queries");
                let q = Euclidean::new(Dataset::from_rows(&r, w.query_count(), w.dim)?)?;
                let done = Job::knn(m, &q, w.k).run(&pool)?;
                (0.0, done.plan.engine, done.answer, w.dim)
            }
        };
        let flops = 2.0 * pairs * width as f64;
        let rate = flops / answer.as_secs_f64();
        println!(
            "| {id} | {} | {model:.3} | {:.3} | {:.1} | {:.1} | {:.0} % |",
            engine.name(),
            answer.as_secs_f64(),
            flops / 1e9,
            rate / 1e9,
            100.0 * rate / peak
        );
    }
    println!();
    // Where a residual tree starts to pay: predecessor k = 30 on uniform points in d = 3,
    // Matérn 3/2, across lengthscales and ranks; both engines timed, the plan's pick marked.
    println!("| n | m | ℓ | reach | plan | tree s (build + queries) | dense s | faster | plan right |");
    println!("|---|---|---|---|---|---|---|---|---|");
    let n = 16_384;
    let x = pcct::datagen::uniform(n, 3, 11);
    for m in [50, 200] {
        let z = pcct::datagen::uniform(m, 3, 12);
        for ls in [0.02, 0.05, 0.1, 0.2, 0.5] {
            let kernel = Kernel::new(KernelKind::Matern32, 1.0, &[ls])?;
            let metric = Residual::from_inducing(&x, 3, &z, kernel, 1e-6, &pool)?;
            let plan = Job::predecessor_knn(metric.clone(), 30).plan();
            let (tt, tree) = time(|| {
                Job::predecessor_knn(metric.clone(), 30)
                    .engine(Engine::Tree)
                    .run(&pool)
            });
            let (td, dense) = time(|| Job::predecessor_knn(metric, 30).engine(Engine::Dense).run(&pool));
            assert_eq!(tree?.neighbors, dense?.neighbors, "engines disagree");
            let faster = if tt < td { Engine::Tree } else { Engine::Dense };
            println!(
                "| {n} | {m} | {ls} | {:.1} % | {} | {tt:.2} | {td:.2} | {} | {} |",
                100.0 * plan.reach,
                plan.engine.name(),
                faster.name(),
                if plan.engine == faster { "yes" } else { "no" }
            );
        }
    }
    Ok(())
}
