#!/usr/bin/env bash
# The workload table (DESIGN.md §8) as BENCHMARKS.md shows it: `pcct bench --markdown`
# with both baselines, plus the JSON of every measurement and the time-vs-n plot.
# Usage: perf/workloads.sh [extra pcct bench flags]   e.g. --scale 0.25 --repeat 3
# Output: the table on stdout; target/bench.json, target/bench.jsonl, target/bench.svg.
set -euo pipefail
cd "$(dirname "$0")/.."
cargo build --release --bin pcct
mkdir -p target
target/release/pcct bench --markdown --json target/bench.json --stats target/bench.jsonl \
    --plot target/bench.svg "$@"
