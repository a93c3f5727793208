//! Gungraun (callgrind) twin of `benches/kernels.rs`: instruction counts for one
//! query against a block of rows, same seeded setup. Valgrind cannot decode
//! AVX-512, so this twin covers scalar, portable and AVX2 only (the ISA is named
//! per bench, never detected as "best"). Run with `perf/callgrind.sh`.

#![allow(missing_docs)] // the bench macros generate undocumented items

use gungraun::{library_benchmark, library_benchmark_group, main};
use pcct::kernels::Isa;
use std::hint::black_box;

#[path = "kernel_data.rs"]
mod kernel_data;
use kernel_data::{block_input, BlockInput};

fn setup_f32(isa: &str, dim: usize) -> BlockInput<f32> {
    block_input(Isa::from_name(isa).unwrap(), dim)
}

fn setup_f64(isa: &str, dim: usize) -> BlockInput<f64> {
    block_input(Isa::from_name(isa).unwrap(), dim)
}

#[library_benchmark]
#[benches::block(
    args = [
        ("scalar", 3), ("portable", 3), ("avx2", 3),
        ("scalar", 8), ("portable", 8), ("avx2", 8),
        ("scalar", 32), ("portable", 32), ("avx2", 32),
        ("scalar", 128), ("portable", 128), ("avx2", 128),
        ("scalar", 512), ("portable", 512), ("avx2", 512),
    ],
    setup = setup_f32
)]
fn sq_dist_block_f32(mut input: BlockInput<f32>) -> f32 {
    black_box(input.run())
}

#[library_benchmark]
#[benches::block(
    args = [
        ("scalar", 3), ("portable", 3), ("avx2", 3),
        ("scalar", 8), ("portable", 8), ("avx2", 8),
        ("scalar", 32), ("portable", 32), ("avx2", 32),
        ("scalar", 128), ("portable", 128), ("avx2", 128),
        ("scalar", 512), ("portable", 512), ("avx2", 512),
    ],
    setup = setup_f64
)]
fn sq_dist_block_f64(mut input: BlockInput<f64>) -> f64 {
    black_box(input.run())
}

library_benchmark_group!(name = kernels; benchmarks = sq_dist_block_f32, sq_dist_block_f64);

main!(library_benchmark_groups = kernels);
