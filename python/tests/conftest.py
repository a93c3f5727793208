"""Seeded data and the brute-force oracles the pcct Python tests compare against."""

import numpy as np
import pytest


def uniform(n, d, seed):
    return np.random.default_rng(seed).random((n, d))


def clustered(n, d, seed):
    rng = np.random.default_rng(seed)
    centres = rng.random((8, d))
    return centres[rng.integers(0, 8, n)] + 0.01 * rng.standard_normal((n, d))


def duplicates(n, d, seed):
    """Few distinct rows, each repeated many times (exact ties everywhere)."""
    rng = np.random.default_rng(seed)
    return rng.random((max(n // 20, 2), d))[rng.integers(0, max(n // 20, 2), n)]


def grid(n, d, seed):
    """Integer lattice points (many exactly equal distances), shuffled: the first n
    points of a side^d lattice in mixed-radix order."""
    side = max(int(np.ceil(n ** (1.0 / d))), 2)
    digits = (np.arange(n)[:, None] // side ** np.arange(d)[None, :]) % side
    return digits[np.random.default_rng(seed).permutation(n)].astype(np.float64)


GENERATORS = {"uniform": uniform, "clustered": clustered, "duplicates": duplicates, "grid": grid}


def euclidean_distances(q, x):
    """`sqrt(Σ_j (q_j − x_j)²)` summed in column order in float64: pcct's canonical
    distance, bit for bit (float32 values are widened first)."""
    q = np.asarray(q, dtype=np.float64)
    x = np.asarray(x, dtype=np.float64)
    acc = np.zeros((len(q), len(x)))
    for j in range(q.shape[1]):
        diff = q[:, j][:, None] - x[:, j][None, :]
        acc += diff * diff
    return np.sqrt(acc)


def top_k(dist, k, allowed=None):
    """Each row's k smallest (distance, id) among the allowed columns, padded -1 / inf."""
    nq, n = dist.shape
    ids = np.full((nq, k), -1, dtype=np.int64)
    ds = np.full((nq, k), np.inf)
    cols = np.arange(n)
    for i in range(nq):
        keep = cols if allowed is None else cols[allowed(i, cols)]
        order = np.lexsort((keep, dist[i, keep]))[:k]
        ids[i, : len(order)] = keep[order]
        ds[i, : len(order)] = dist[i, keep[order]]
    return ids, ds


def residual_distances(xq, vq, pq, x, v, p, kernel, lengthscale, variance):
    """The residual-correlation distance `sqrt(1 − |ρ|)` as pcct defines it: identical
    points (same x and v) at 0, a point with p at the floor at 1 from the others."""
    ls = np.broadcast_to(np.asarray(lengthscale, dtype=np.float64), (x.shape[1],))
    r2 = np.zeros((len(xq), len(x)))
    for j in range(x.shape[1]):
        diff = (xq[:, j][:, None] - x[:, j][None, :]) * (1.0 / ls[j])
        r2 += diff * diff
    r = np.sqrt(r2)
    if kernel == "rbf":
        k = np.exp(-0.5 * r2)
    elif kernel == "matern12":
        k = np.exp(-r)
    elif kernel == "matern32":
        s = np.sqrt(3.0) * r
        k = (1 + s) * np.exp(-s)
    else:
        s = np.sqrt(5.0) * r
        k = (1 + s + s * s / 3.0) * np.exp(-s)
    k *= variance
    floor = 1e-12 * variance
    sq = np.where(pq > floor, np.sqrt(np.maximum(pq, 0)), 0.0)
    sx = np.where(p > floor, np.sqrt(np.maximum(p, 0)), 0.0)
    with np.errstate(divide="ignore", invalid="ignore"):
        rho = (k - vq @ v.T) / (sq[:, None] * sx[None, :])
        d = np.sqrt(1.0 - np.minimum(np.abs(rho), 1.0))
    d = np.where((sq[:, None] == 0) | (sx[None, :] == 0), 1.0, d)
    same = (np.abs(xq[:, None, :] - x[None, :, :]).max(-1) == 0) & (np.abs(vq[:, None, :] - v[None, :, :]).max(-1) == 0)
    return np.where(same, 0.0, d)


@pytest.fixture(params=[1, 2], ids=["1thread", "2threads"])
def threads(request):
    return request.param
