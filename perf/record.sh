#!/usr/bin/env bash
# CPU profile of one workload with `perf record`: builds the release binary with debug
# symbols, runs `pcct bench --workload W` under perf and prints the top symbols.
# Hardware counters (cycles) are not available on every machine (VMs, containers, a high
# perf_event_paranoid): the script tries `-e cycles` first and otherwise falls back to
# `-e cpu-clock` (timer sampling), and says which it used.
# Usage: perf/record.sh [WORKLOAD] [SCALE]        (default W3 1.0)
# Output: target/perf-W.data (open with `perf report -i …`) and target/perf-W.txt.
set -euo pipefail
cd "$(dirname "$0")/.."
w="${1:-W3}"
scale="${2:-1.0}"
if ! command -v perf >/dev/null; then
    echo "perf/record.sh: perf is not installed (Debian: apt-get install linux-perf)" >&2
    exit 2
fi
CARGO_PROFILE_RELEASE_DEBUG=line-tables-only cargo build --release --bin pcct
mkdir -p target
event=cycles
if ! perf stat -e cycles -x, true >/dev/null 2>&1 || perf stat -e cycles -x, true 2>&1 | grep -q "not supported"; then
    echo "perf/record.sh: hardware counters unavailable here; sampling with cpu-clock" >&2
    event=cpu-clock
fi
echo "perf/record.sh: event $event, workload $w, scale $scale" >&2
perf record -e "$event" -g -o "target/perf-$w.data" -- \
    target/release/pcct bench --workload "$w" --scale "$scale" --baselines none --quiet
perf report -i "target/perf-$w.data" --no-children --stdio --percent-limit 1 2>/dev/null \
    | tee "target/perf-$w.txt" | head -60
