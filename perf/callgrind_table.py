#!/usr/bin/env python3
"""Markdown table of instructions per distance from `perf/callgrind.sh` output
(target/callgrind-kernels.txt): one query against a block of rows, per ISA, per d.

Usage: perf/callgrind.sh && python3 perf/callgrind_table.py [target/callgrind-kernels.txt]
"""
import re
import sys

path = sys.argv[1] if len(sys.argv) > 1 else "target/callgrind-kernels.txt"
text = open(path).read()
# "...sq_dist_block_f32 block_5:(setup_f32("avx2", 8))\n  Instructions:  7952|..."
pat = re.compile(r'sq_dist_block_(f32|f64) \S+:\(setup_\w+\("(\w+)", (\d+)\)\)\s+Instructions:\s+(\d+)')
counts = {(t, isa, int(d)): int(n) for t, isa, d, n in pat.findall(text)}


def rows(d, width):
    """Rows per block, as benches/kernel_data.rs::rows_for computes them."""
    stride = -(-d // (32 // width)) * (32 // width)
    return min(256 * 1024 // (stride * width), 1024)


for t, width in [("f32", 4), ("f64", 8)]:
    print(f"\n**{t}** — instructions per distance (callgrind), one query vs a block of rows\n")
    print("| d | scalar | portable | avx2 | scalar / avx2 |")
    print("|---|---|---|---|---|")
    for d in [3, 8, 32, 128, 512]:
        per = {isa: counts.get((t, isa, d), 0) / rows(d, width) for isa in ["scalar", "portable", "avx2"]}
        ratio = per["scalar"] / per["avx2"] if per["avx2"] else float("nan")
        print(f"| {d} | {per['scalar']:.1f} | {per['portable']:.1f} | {per['avx2']:.1f} | {ratio:.1f}× |")
