#!/usr/bin/env python3
"""Markdown table of `cargo bench --bench csr_builder`: median ms per build and the
ratios measured in the same run (builder vs sort, 2 threads vs 1 thread).

Usage: cargo bench --bench csr_builder && python3 perf/csr_table.py [target/criterion]
"""
import json
import os
import sys

root = sys.argv[1] if len(sys.argv) > 1 else os.path.join("target", "criterion")


def ms(group, *bench):
    try:
        with open(os.path.join(root, group, *bench, "new", "estimates.json")) as f:
            return json.load(f)["median"]["point_estimate"] / 1e6
    except OSError:
        return None


def fmt(x):
    return "—" if x is None else f"{x:.1f}"


def ratio(a, b):
    return "—" if a is None or b is None else f"{a / b:.1f}×"


print("| pairs | K | sort ms | per-thread 1t ms | per-thread 2t ms"
      " | sort / per-thread 2t | per-thread 1t / 2t |")
print("|---|---|---|---|---|---|---|")
for n in [1, 16]:
    for k in [1 << 10, 1 << 16, 1 << 20]:
        g = f"csr_n{n}M_k{k}"
        s = ms(g, "sort_unstable")
        p1, p2 = ms(g, "per_thread", "1t"), ms(g, "per_thread", "2t")
        print(f"| {n}M | {k} | {fmt(s)} | {fmt(p1)} | {fmt(p2)} | {ratio(s, p2)} | {ratio(p1, p2)} |")
