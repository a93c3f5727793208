//! Criterion: the counting-sort CSR builder (pcct-arenas) against
//! `sort_unstable_by_key` + grouping, 1M and 16M pairs, K ∈ {1k, 64k, 1M},
//! 1 and 2 threads, both counting strategies. The builder writes into an arena
//! that is reset per iteration (the pipeline's use); the sort gets a fresh copy
//! of the input per iteration (not timed).
//!
//! `cargo bench --bench csr_builder`; table: `python3 perf/csr_table.py`.

#![allow(missing_docs)] // the bench macros generate undocumented items

use criterion::{criterion_group, criterion_main, BatchSize, BenchmarkId, Criterion, Throughput};
use pcct_arenas::{Arena, CsrBuilder};
use std::hint::black_box;
use std::time::Duration;

fn pairs(n: usize, k: usize, seed: u64) -> Vec<(u32, u32)> {
    let mut s = seed;
    (0..n)
        .map(|i| {
            s ^= s << 13;
            s ^= s >> 7;
            s ^= s << 17;
            ((s % k as u64) as u32, i as u32)
        })
        .collect()
}

/// The baseline: comparison sort by key, then offsets by a scan.
fn sort_and_group(mut p: Vec<(u32, u32)>, k: usize) -> (Vec<u32>, Vec<u32>) {
    p.sort_unstable_by_key(|x| x.0);
    let mut offsets = vec![0u32; k + 1];
    for x in &p {
        offsets[x.0 as usize + 1] += 1;
    }
    for i in 0..k {
        offsets[i + 1] += offsets[i];
    }
    (offsets, p.into_iter().map(|x| x.1).collect())
}

fn csr_builder(c: &mut Criterion) {
    let pools: Vec<rayon::ThreadPool> = [1, 2]
        .iter()
        .map(|&t| rayon::ThreadPoolBuilder::new().num_threads(t).build().unwrap())
        .collect();
    for n in [1usize << 20, 1 << 24] {
        for k in [1usize << 10, 1 << 16, 1 << 20] {
            let input = pairs(n, k, 0x5eed ^ (n as u64) ^ ((k as u64) << 32));
            let mut g = c.benchmark_group(format!("csr_n{}M_k{}", n >> 20, k));
            g.throughput(Throughput::Elements(n as u64));
            g.bench_function("sort_unstable", |b| {
                b.iter_batched(
                    || input.clone(),
                    |p| black_box(sort_and_group(p, k)),
                    BatchSize::LargeInput,
                )
            });
            for pool in &pools {
                let builder = CsrBuilder::new(k);
                let mut arena = Arena::new();
                let id = BenchmarkId::new("per_thread", format!("{}t", pool.current_num_threads()));
                g.bench_function(id, |b| {
                    b.iter(|| {
                        arena.reset();
                        let csr = builder.from_pairs_in(pool, &input, arena.bump()).unwrap();
                        black_box(csr.num_values())
                    })
                });
            }
            g.finish();
        }
    }
}

criterion_group! {
    name = benches;
    config = Criterion::default()
        .sample_size(10)
        .warm_up_time(Duration::from_millis(500))
        .measurement_time(Duration::from_secs(2));
    targets = csr_builder
}
criterion_main!(benches);
