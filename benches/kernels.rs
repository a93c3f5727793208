//! Criterion: one query against a block of rows (squared Euclidean), every ISA
//! level this CPU has, d ∈ {3, 8, 32, 128, 512}, f32 and f64; and four queries
//! against the block on the best level, one block pass per query (`block_x4`) against
//! one tiled pass (`multi`, [`Kernels::sq_dist_multi`]).
//!
//! `cargo bench --bench kernels`, then `python3 perf/kernel_table.py` for the
//! ns-per-distance table in BENCHMARKS.md. The gungraun twin is `kernels_callgrind`.

#![allow(missing_docs)] // the bench macros generate undocumented items

use criterion::{criterion_group, criterion_main, BenchmarkId, Criterion, Throughput};
use pcct::kernels::{isa, Element};
use std::hint::black_box;
use std::time::Duration;

#[path = "kernel_data.rs"]
mod kernel_data;
use kernel_data::{block_input, DIMS};

fn bench_type<T: Element>(c: &mut Criterion, tname: &str) {
    for dim in DIMS {
        let mut g = c.benchmark_group(format!("sq_dist_block_{tname}_d{dim}"));
        for &isa in isa::available() {
            let mut input = block_input::<T>(isa, dim);
            g.throughput(Throughput::Elements(input.out.len() as u64));
            g.bench_function(BenchmarkId::from_parameter(isa.name()), |b| {
                b.iter(|| black_box(input.run()))
            });
        }
        g.finish();
    }
}

/// Four queries (the block's last four rows) against the block, best ISA level.
fn bench_multi<T: Element>(c: &mut Criterion, tname: &str) {
    let Some(&isa) = isa::available().last() else {
        return;
    };
    for dim in DIMS {
        let input = block_input::<T>(isa, dim);
        let n = input.out.len();
        let (k, rows, stride) = (input.kernels, &input.rows, input.stride);
        let qs: Vec<&[T]> = (n - 4..n).map(|r| &rows[r * stride..r * stride + dim]).collect();
        let mut out = vec![T::from_f64(0.0); 4 * n];
        let mut g = c.benchmark_group(format!("sq_dist_4queries_{tname}_d{dim}"));
        g.throughput(Throughput::Elements(out.len() as u64));
        g.bench_function(BenchmarkId::new("block_x4", isa.name()), |b| {
            b.iter(|| {
                for (q, o) in qs.iter().zip(out.chunks_exact_mut(n)) {
                    k.sq_dist_block(q, rows, stride, o);
                }
                black_box(out[0])
            })
        });
        g.bench_function(BenchmarkId::new("multi", isa.name()), |b| {
            b.iter(|| {
                k.sq_dist_multi(&qs, rows, stride, &mut out);
                black_box(out[0])
            })
        });
        g.finish();
    }
}

fn kernels(c: &mut Criterion) {
    bench_type::<f32>(c, "f32");
    bench_type::<f64>(c, "f64");
    bench_multi::<f32>(c, "f32");
    bench_multi::<f64>(c, "f64");
}

criterion_group! {
    name = benches;
    config = Criterion::default()
        .sample_size(30)
        .warm_up_time(Duration::from_millis(300))
        .measurement_time(Duration::from_millis(1200));
    targets = kernels
}
criterion_main!(benches);
