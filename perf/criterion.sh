#!/usr/bin/env bash
# The criterion micro-benchmarks (kernels, CSR builder) and the plain-harness benches
# (build: pcct vs sequential vs kiddo; workloads: the tree-issue table with kiddo), each
# turned into its BENCHMARKS.md table where a script exists.
# Usage: perf/criterion.sh [kernels|csr|build|workloads] (default: all)
set -euo pipefail
cd "$(dirname "$0")/.."
what="${1:-all}"
mkdir -p target
if [[ "$what" == all || "$what" == kernels ]]; then
    cargo bench --bench kernels | tee target/criterion-kernels.txt
    python3 perf/kernel_table.py target/criterion
fi
if [[ "$what" == all || "$what" == csr ]]; then
    cargo bench --bench csr_builder | tee target/criterion-csr.txt
    python3 perf/csr_table.py target/criterion
fi
if [[ "$what" == all || "$what" == build ]]; then
    cargo bench --bench build | tee target/bench-build.txt
fi
if [[ "$what" == all || "$what" == workloads ]]; then
    cargo bench --bench workloads | tee target/bench-workloads.txt
fi
