#!/usr/bin/env python3
"""Which phase-1 bound can rule out rows of the residual metric (issue 6 analysis).

For W4-like (RBF, d = 8, m = 512, ℓ = 0.5) and W8-like (Matérn 3/2, d = 3, m = 200,
ℓ = 0.2) data it computes exact residual distances for 200 queries against n points, the
k-NN radius of each query, and the share of pairs each candidate bound rules out
(lower bound above the radius):
  - principal axes: l leading columns of V·U exact, the rest by Cauchy–Schwarz (global,
    and per 16 column blocks) — DESIGN.md §5's phase 1;
  - a localized basis K_XZ·K_ZZ^(−1/2) with spatial column groups;
  - all columns in reduced precision: f32 and bf16 rounding bounds (what pcct ships).
Needs numpy (not a pcct dependency).  Usage: perf/phase1_bounds.py [N]   (default 4096)
"""
import sys

import numpy as np

rng = np.random.default_rng(1)


def run(n, d, m, kind, ell, k, nq=200):
    X, Z = rng.random((n, d)), rng.random((m, d))

    def K(A, B):
        r = np.sqrt(np.maximum(((A[:, None, :] - B[None, :, :]) ** 2).sum(-1), 0)) / ell
        if kind == "rbf":
            return np.exp(-0.5 * r * r)
        s = np.sqrt(3) * r
        return (1 + s) * np.exp(-s)

    Kzz = K(Z, Z) + 1e-6 * np.eye(m)
    L = np.linalg.cholesky(Kzz)
    V = np.linalg.solve(L, K(X, Z).T).T
    p = 1 - (V * V).sum(1)
    Kxx = K(X[:nq], X)
    num = Kxx - V[:nq] @ V.T
    sp = np.sqrt(np.outer(p[:nq], p))
    D = np.sqrt(1 - np.minimum(1, np.abs(num / sp)))
    t = np.sort(D, 1)[:, k]
    rthr = 1 - t**2
    print(f"{kind} d={d} m={m} n={n}: median p {np.median(p):.3f}, "
          f"k-NN radius median {np.median(t):.3f}, median distance {np.median(D):.3f}")
    w, U = np.linalg.eigh(V.T @ V)
    W = V @ U[:, ::-1]
    for l in [16, 32, 64, 128]:
        H, T = W[:, :l], W[:, l:]
        s = H[:nq] @ H.T
        tn = np.linalg.norm(T, axis=1)
        up = (np.abs(Kxx - s) + np.outer(tn[:nq], tn)) / sp
        gs = np.array_split(np.arange(T.shape[1]), 16)
        gn = np.stack([np.linalg.norm(T[:, g], axis=1) for g in gs], 1)
        up2 = (np.abs(Kxx - s) + gn[:nq] @ gn.T) / sp
        print(f"  principal axes l={l}: rules out {(up < rthr[:, None]).mean():.3f} "
              f"(Cauchy–Schwarz), {(up2 < rthr[:, None]).mean():.3f} (16 blocks)")
    ew, EV = np.linalg.eigh(Kzz)
    Wl = K(X, Z) @ EV @ np.diag(ew**-0.5) @ EV.T
    for G in [16, 64, 128]:
        lab = np.argmin(((Z[:, None, :] - Z[rng.choice(m, G, replace=False)][None]) ** 2).sum(-1), 1)
        gn = np.stack([np.linalg.norm(Wl[:, lab == g], axis=1) for g in range(G)], 1)
        up = (np.abs(Kxx) + gn[:nq] @ gn.T) / sp
        print(f"  localized basis, {G} groups: rules out {(up < rthr[:, None]).mean():.3f}")
    norms = np.outer(np.linalg.norm(V[:nq], axis=1), np.linalg.norm(V, axis=1))
    for name, eps in [("f32", 6e-8 * (m + 3)), ("bf16", 2**-8 * 2)]:
        up = (np.abs(num) + eps * norms) / sp
        print(f"  all columns in {name}: rules out {(up < rthr[:, None]).mean():.3f}")


n = int(sys.argv[1]) if len(sys.argv) > 1 else 4096
run(n, 8, 512, "rbf", 0.5, 8)
run(n, 3, 200, "m32", 0.2, 30)
