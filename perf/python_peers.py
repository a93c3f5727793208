"""pcct's Python package against the recipes Python users write, same data, same run.

1. Vecchia conditioning sets (each point's k nearest among the points before it),
   n = 100,000 uniform points in d = 3, k = 30: `pcct.ordered_knn` against
   - scipy `cKDTree` rebuilt every 1,000 points as veccs does, each chunk's queries
     batched (`workers=2`), the predecessors inside the chunk by a blocked brute force;
   - scikit-learn `NearestNeighbors` (k-d tree, `n_jobs=2`) in the same chunked recipe;
   - faiss `IndexFlatL2` as GPyTorch's `NNUtil` uses it (float32, 2 OpenMP threads),
     chunked the same way instead of GPyTorch's one search per point.
   Every recipe's ids are checked against pcct's.
2. `CoverTree.query` against scipy `cKDTree.query` (`workers=2`) at W3's and W6's shapes
   (32,768 points, 1,024 queries, k = 8; d = 8 uniform, d = 32 in 64 clusters), query
   calls only (the trees built once).
3. The Python boundary: the share of a W3 `knn` call spent outside the native engine
   (argument checks, copies in and out), from the engine's own clock.

Needs a virtual environment with pcct installed (./test.sh makes target/pyenv), scipy,
scikit-learn and faiss:  target/pyenv/bin/pip install scipy scikit-learn threadpoolctl faiss-cpu
Run:           target/pyenv/bin/python perf/python_peers.py
"""

import time

import numpy as np

import pcct

try:
    from threadpoolctl import threadpool_limits

    threadpool_limits(2)
except ImportError:
    pass


def best(f, repeat=3):
    times, out = [], None
    for _ in range(repeat):
        t = time.perf_counter()
        out = f()
        times.append(time.perf_counter() - t)
    return float(np.median(times)), out


def chunked(x, k, search, chunk=1000):
    """Exact conditioning sets the veccs way: an index over the points before each chunk
    (rebuilt per chunk), the chunk's queries in one call, the predecessors inside the
    chunk by brute force, merged by (distance, id)."""
    from scipy.spatial.distance import cdist

    n = len(x)
    ids = np.full((n, k), -1, dtype=np.int64)
    for s in range(0, n, chunk):
        e = min(s + chunk, n)
        q = x[s:e]
        inner = cdist(q, q)  # scipy's C loop
        inner[np.triu_indices(e - s)] = np.inf  # only earlier points of the chunk
        cand_d, cand_i = [inner], [np.broadcast_to(np.arange(s, e), inner.shape)]
        if s > 0:
            kk = min(k, s)
            d, i = search(x[:s], q, kk)
            cand_d.append(d.reshape(e - s, kk))
            cand_i.append(i.reshape(e - s, kk))
        d = np.hstack(cand_d)
        i = np.hstack(cand_i)
        take = min(k, d.shape[1])
        # The k smallest per row by a partial sort, then those ordered by (distance, id).
        part = np.argpartition(d, take - 1, axis=1)[:, :take]
        rows = np.arange(e - s)[:, None]
        pd, pi = d[rows, part], i[rows, part]
        order = np.lexsort((pi, pd), axis=-1)
        sel_i, sel_d = pi[rows, order], pd[rows, order]
        ids[s:e, :take] = np.where(np.isinf(sel_d), -1, sel_i)
    return ids


def scipy_search(data, q, k):
    from scipy.spatial import cKDTree

    d, i = cKDTree(data).query(q, k=k, workers=2)
    return np.atleast_2d(d.T).T if k == 1 else d, (i[:, None] if k == 1 else i)


def sklearn_search(data, q, k):
    from sklearn.neighbors import NearestNeighbors

    d, i = NearestNeighbors(n_neighbors=k, algorithm="kd_tree", n_jobs=2).fit(data).kneighbors(q)
    return d, i


def faiss_search(data, q, k):
    """GPyTorch's `NNUtil` library (faiss `IndexFlatL2`, float32), chunked the same way."""
    import faiss

    faiss.omp_set_num_threads(2)
    index = faiss.IndexFlatL2(data.shape[1])
    index.add(np.ascontiguousarray(data, dtype=np.float32))
    d, i = index.search(np.ascontiguousarray(q, dtype=np.float32), k)
    return np.sqrt(np.maximum(d, 0)).astype(np.float64), i


def main():
    facts = pcct.info()
    print(f"CPU: {facts['cpu']} ({facts['logical cores']} logical cores); pcct ISA {facts['isa active']}")
    rng = np.random.default_rng(0)
    n, d, k = 100_000, 3, 30
    x = rng.random((n, d))
    t_pcct, (ids, _) = best(lambda: pcct.ordered_knn(x, k, threads=2))
    print("\n| recipe | s | vs pcct | same ids |")
    print("|---|---|---|---|")
    print(f"| pcct.ordered_knn | {t_pcct:.3f} | 1.0× | — |")
    recipes = [
        ("scipy cKDTree, rebuilt per 1,000", scipy_search),
        ("sklearn NearestNeighbors, rebuilt per 1,000", sklearn_search),
        ("faiss IndexFlatL2 (GPyTorch), per 1,000", faiss_search),
    ]
    for name, search in recipes:
        try:
            t, got = best(lambda: chunked(x, k, search), repeat=1)
        except ImportError as e:
            print(f"| {name} | not installed ({e.name}) | | |")
            continue
        print(f"| {name} | {t:.3f} | {t / t_pcct:.1f}× | {np.mean(got == ids) * 100:.2f} % |")

    from scipy.spatial import cKDTree

    print("\n| shape | pcct CoverTree.query s | scipy cKDTree.query s | scipy / pcct | same ids |")
    print("|---|---|---|---|---|")
    for name, data, queries in [
        ("W3 32,768 × 8 uniform", rng.random((32768, 8)), rng.random((1024, 8))),
        ("W6 32,768 × 32 clusters", *clusters(rng)),
    ]:
        tree = pcct.CoverTree(data, threads=2)
        tree.query(queries, k=8)  # first call builds the query-side structures
        kd = cKDTree(data)
        tp, (_, ip) = best(lambda: tree.query(queries, k=8), repeat=5)
        ts, (_, is_) = best(lambda: kd.query(queries, k=8, workers=2), repeat=5)
        print(f"| {name} | {tp:.4f} | {ts:.4f} | {ts / tp:.2f}× | {np.mean(ip == is_) * 100:.2f} % |")
        if name.startswith("W3"):
            inside = []

            def call():
                _, _, secs = tree._t.knn_timed(tree._queries(queries), 8)
                inside.append(secs)

            total, _ = best(call, repeat=9)
            boundary = (total, float(np.median(inside)))
    total, engine = boundary
    print(f"\nW3 knn call (1,024 queries, k = 8): {total * 1e3:.2f} ms, {engine * 1e3:.2f} ms of it in the engine: "
          f"the Python boundary {(1 - engine / total) * 100:.1f} %")


def clusters(rng):
    centres = rng.random((64, 32))
    pick = lambda m: centres[rng.integers(0, 64, m)] + 0.02 * rng.standard_normal((m, 32))
    return pick(32768), pick(1024)


if __name__ == "__main__":
    main()
