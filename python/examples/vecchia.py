"""Vecchia conditioning sets for 100,000 points, as a GP user needs them.

Each point, in the order of the rows, conditions on its k nearest among the points before
it. pcct gives them exactly (ids and distances, ties by the smaller id), first for plain
Euclidean coordinates, then in the residual-correlation metric of a Vecchia-inducing-
points model (50 inducing points, Matérn 3/2), each planned (k-d tree, blocked brute
force or cover tree) before any index is built.

    python python/examples/vecchia.py [n]
"""

import sys
import time

import numpy as np

import pcct

n = int(sys.argv[1]) if len(sys.argv) > 1 else 100_000
k = 30
rng = np.random.default_rng(0)
X = rng.random((n, 2))

started = time.perf_counter()
ids, dists = pcct.ordered_knn(X, k)
print(f"Euclidean: conditioning sets of {n} points, k = {k}: {time.perf_counter() - started:.2f} s")
print(f"  point {n - 1} conditions on {ids[-1, :5].tolist()} … at distances {np.round(dists[-1, :3], 4).tolist()} …")

# Spot check against brute force for a few points: the answers are exact.
for i in (k, n // 2, n - 1):
    d = np.sqrt(((X[:i] - X[i]) ** 2).sum(1))
    want = np.lexsort((np.arange(i), d))[:k]
    assert np.array_equal(ids[i], want), i
print("  spot check against brute force: exact")

Z = rng.random((50, 2))
started = time.perf_counter()
rids, rdists = pcct.ordered_knn(X, k, inducing=Z, kernel="matern32", lengthscale=0.2)
print(f"residual (m = 50, Matérn 3/2, ℓ = 0.2): conditioning sets in {time.perf_counter() - started:.2f} s")
print(f"  point {n - 1} conditions on {rids[-1, :5].tolist()} …")
