//! Criterion: one query against a block of rows (squared Euclidean), every ISA
//! level this CPU has, d ∈ {3, 8, 32, 128, 512}, f32 and f64.
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

fn kernels(c: &mut Criterion) {
    bench_type::<f32>(c, "f32");
    bench_type::<f64>(c, "f64");
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
