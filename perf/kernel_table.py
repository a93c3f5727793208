#!/usr/bin/env python3
"""Turn the criterion results of `cargo bench --bench kernels` into the markdown
table of BENCHMARKS.md: ns per distance (median), per ISA, per d, f32 and f64,
with the speed-up of the best ISA over the scalar reference measured in the same run.

Usage: cargo bench --bench kernels && python3 perf/kernel_table.py [target/criterion]
"""
import json
import os
import sys

root = sys.argv[1] if len(sys.argv) > 1 else os.path.join("target", "criterion")
ISAS = ["scalar", "portable", "avx2", "avx512"]
DIMS = [3, 8, 32, 128, 512]


def ns_per_distance(group, isa):
    base = os.path.join(root, group, isa, "new")
    try:
        with open(os.path.join(base, "estimates.json")) as f:
            median_ns = json.load(f)["median"]["point_estimate"]
        with open(os.path.join(base, "benchmark.json")) as f:
            elements = json.load(f)["throughput"]["Elements"]
    except (OSError, KeyError, TypeError):
        return None
    return median_ns / elements


for t in ["f32", "f64"]:
    print(f"\n**{t}** — ns per distance (median), one query vs a block of rows\n")
    print("| d | " + " | ".join(ISAS) + " | best / scalar |")
    print("|---|" + "---|" * (len(ISAS) + 1))
    for d in DIMS:
        group = f"sq_dist_block_{t}_d{d}"
        vals = {isa: ns_per_distance(group, isa) for isa in ISAS}
        cells = [f"{v:.2f}" if v is not None else "—" for v in vals.values()]
        present = [v for v in vals.values() if v is not None]
        ratio = (
            f"{vals['scalar'] / min(present):.1f}×"
            if vals["scalar"] is not None and present
            else "—"
        )
        print(f"| {d} | " + " | ".join(cells) + f" | {ratio} |")
