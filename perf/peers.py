#!/usr/bin/env python3
"""pcct against the recipes a Python user would write instead: same data, same run.

    python3 perf/peers.py [--pcct target/release/pcct] [--threads 2] [--only W4,W8,W9]

Needs numpy, scipy and scikit-learn (a virtual environment: `python3 -m venv v &&
v/bin/pip install numpy scipy scikit-learn threadpoolctl`). Data are drawn here (numpy,
seeded) and written as .npy; pcct runs as a user runs it, `pcct knn` on those files, timed
from the outside (process start, file reading, GP model, neighbours, writing). The peers:

- W4, W8 (residual correlation): the numpy recipe — V = L⁻¹ K_ZX by a Cholesky factor and a
  triangular solve (scipy), p = σ² − ‖v‖², then a blocked brute force (K − V_B·Vᵀ per block
  of rows, ρ, d = √(1 − |ρ|), argpartition); for W8 each row only sees earlier rows.
- W9 (uniform, d = 32): scikit-learn's NearestNeighbors(algorithm='brute') and the numpy
  recipe (‖q‖² + ‖x‖² − 2QXᵀ, argpartition).

Prints a markdown table (seconds; ratio = peer / pcct) and the agreement of the answers
(share of rows whose id sets are equal; rounding may swap near-ties).
"""
import argparse
import json
import os
import subprocess
import sys
import tempfile
import time

import numpy as np
import scipy.linalg
from threadpoolctl import threadpool_limits


def kernel(kind, a, b, ls):
    """k(a_i, b_j) with unit variance: (len(a), len(b))."""
    a, b = a / ls, b / ls
    r2 = np.maximum((a * a).sum(1)[:, None] + (b * b).sum(1)[None, :] - 2.0 * a @ b.T, 0.0)
    if kind == "rbf":
        return np.exp(-0.5 * r2)
    s = np.sqrt(3.0 * r2)
    return (1.0 + s) * np.exp(-s)  # matern32


def model(kind, x, z, ls, jitter=1e-6):
    kzz = kernel(kind, z, z, ls) + jitter * np.eye(len(z))
    chol = np.linalg.cholesky(kzz)
    v = scipy.linalg.solve_triangular(chol, kernel(kind, z, x, ls), lower=True).T.copy()
    p = 1.0 - (v * v).sum(1)
    return v, p


def residual_knn(kind, x, v, p, ls, rows, k, predecessor, block=256):
    """Each row's k nearest by the residual distance (all data, or earlier rows only)."""
    out = np.full((len(rows), k), -1, dtype=np.int64)
    for b0 in range(0, len(rows), block):
        rb = rows[b0 : b0 + block]
        end = rb.max() if predecessor else len(x)
        if end == 0:
            continue
        c = kernel(kind, x[rb], x[:end], ls) - v[rb] @ v[:end].T
        rho = c / np.sqrt(np.outer(p[rb], p[:end]))
        d = np.sqrt(1.0 - np.minimum(np.abs(rho), 1.0))
        if predecessor:
            d[np.arange(end)[None, :] >= rb[:, None]] = np.inf
        else:
            d[np.arange(len(rb)), rb] = -1.0  # a dataset query finds itself first
        kk = min(k, end)
        idx = np.argpartition(d, kk - 1, axis=1)[:, :kk]
        dd = np.take_along_axis(d, idx, 1)
        order = np.lexsort((idx, dd), axis=1)
        idx = np.take_along_axis(idx, order, 1)
        dd = np.take_along_axis(dd, order, 1)
        idx[~np.isfinite(dd)] = -1
        out[b0 : b0 + len(rb), :kk] = idx
    return out


def euclid_knn(x, q, k, block=1024):
    xn = (x * x).sum(1)
    out = np.empty((len(q), k), dtype=np.int64)
    for b0 in range(0, len(q), block):
        qb = q[b0 : b0 + block]
        d2 = (qb * qb).sum(1)[:, None] + xn[None, :] - 2.0 * qb @ x.T
        idx = np.argpartition(d2, k - 1, axis=1)[:, :k]
        order = np.argsort(np.take_along_axis(d2, idx, 1), axis=1)
        out[b0 : b0 + len(qb)] = np.take_along_axis(idx, order, 1)
    return out


def agreement(a, b):
    a, b = np.sort(a, 1), np.sort(b, 1)
    return float((a == b).all(1).mean())


def timed(f):
    t = time.perf_counter()
    r = f()
    return time.perf_counter() - t, r


def run_pcct(pcct, threads, args, tmp):
    ids, stats = os.path.join(tmp, "ids.npy"), os.path.join(tmp, "stats.jsonl")
    cmd = [pcct, "knn", "--quiet", "--threads", str(threads), "--out-ids", ids, "--stats", stats] + args
    t = time.perf_counter()
    subprocess.run(cmd, check=True)
    wall = time.perf_counter() - t
    plan = next(
        (json.loads(l) for l in open(stats) if '"record":"plan"' in l), {"reason": "?"}
    )
    return wall, np.load(ids), plan["reason"].split(" (")[0]


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--pcct", default="target/release/pcct")
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--only", default="W4,W8,W9")
    a = ap.parse_args()
    only = set(a.only.split(","))
    rows = []
    with tempfile.TemporaryDirectory() as tmp, threadpool_limits(a.threads):
        path = lambda name: os.path.join(tmp, name)
        rng = np.random.default_rng
        for wid, kind, n, d, m, ls, k in [("W4", "rbf", 32768, 8, 512, 0.5, 8), ("W8", "matern32", 65536, 3, 200, 0.2, 30)]:
            if wid not in only:
                continue
            x, z = rng(1).random((n, d)), rng(3).random((m, d))
            np.save(path("x.npy"), x)
            np.save(path("z.npy"), z)
            pred = wid == "W8"
            qrows = np.arange(n) if pred else np.arange(0, n, 32)
            np.save(path("q.npy"), x[qrows])
            mode = ["--predecessor"] if pred else ["--queries", path("q.npy")]
            kname = {"rbf": "rbf", "matern32": "matern32"}[kind]
            wall, ids, engine = run_pcct(
                a.pcct,
                a.threads,
                ["--data", path("x.npy"), "--metric", "residual", "--inducing", path("z.npy"), "--kernel", kname,
                 "--lengthscale", str(ls), "--k", str(k)] + mode,
                tmp,
            )
            tm, (v, p) = timed(lambda: model(kind, x, z, ls))
            tq, got = timed(lambda: residual_knn(kind, x, v, p, ls, qrows, k, pred))
            rows.append((wid, f"residual {kind} ℓ={ls} m={m}, k={k}", engine, wall, "numpy recipe", tm + tq, agreement(ids, got)))
        if "W9" in only:
            n, d, k = 32768, 32, 8
            x, q = rng(1).random((n, d)), rng(2).random((1024, d))
            np.save(path("x.npy"), x)
            np.save(path("q.npy"), q)
            wall, ids, engine = run_pcct(a.pcct, a.threads, ["--data", path("x.npy"), "--queries", path("q.npy"), "--k", str(k)], tmp)
            from sklearn.neighbors import NearestNeighbors

            ts, (_, sk) = timed(lambda: NearestNeighbors(n_neighbors=k, algorithm="brute", n_jobs=a.threads).fit(x).kneighbors(q))
            rows.append(("W9", "uniform d=32, 1,024 queries, k=8", engine, wall, "sklearn brute", ts, agreement(ids, sk)))
            tn, nb = timed(lambda: euclid_knn(x, q, k))
            rows.append(("W9", "uniform d=32, 1,024 queries, k=8", engine, wall, "numpy recipe", tn, agreement(ids, nb)))
    print(f"threads {a.threads}; numpy {np.__version__}; seconds end to end (pcct: the `pcct knn` process)\n")
    print("| id | job | pcct engine | pcct s | peer | peer s | peer/pcct | same ids |")
    print("|---|---|---|---|---|---|---|---|")
    for wid, job, engine, ps, peer, s, agree in rows:
        print(f"| {wid} | {job} | {engine} | {ps:.3f} | {peer} | {s:.3f} | {s / ps:.1f}× | {100 * agree:.1f} % |")


if __name__ == "__main__":
    sys.exit(main())
