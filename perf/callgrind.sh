#!/usr/bin/env bash
# Instruction counts (callgrind, via gungraun) of the kernel benches: one query against a
# block of rows, d ∈ {3, 8, 32, 128, 512}, f32 and f64, ISA levels scalar, portable, avx2.
# Valgrind cannot decode AVX-512, so the twin names its levels explicitly (≤ AVX2) and
# nothing here builds with -C target-cpu=native. Instruction counts are the stable figure
# on a noisy machine. Usage: perf/callgrind.sh [FILTER]
set -euo pipefail
cd "$(dirname "$0")/.."
perf/install-gungraun.sh
mkdir -p target
cargo bench --bench kernels_callgrind -- "$@" 2>&1 | tee target/callgrind-kernels.txt
