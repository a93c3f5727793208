"""pcct.dask on this machine: 4 shards on a LocalCluster against one tree, same data, same
run; and the Dask layer's share of the time.

    target/pyenv/bin/python perf/dask_bench.py [n]

n uniform points in d = 3 (default 2^18), 4 shards on 2 single-threaded worker processes
against one `pcct.CoverTree` on 2 threads: build, k-NN of 16,384 new points (k = 8) and
predecessor k-NN (k = 30). *Shard work* is what the shards' own pcct calls take, timed in
the client process one after another and divided by the 2 workers; the rest of the
sharded time is the Dask layer: scheduling, moving queries and answers, the merge.
"""

import sys
import time

import numpy as np

import pcct
import pcct.dask as pdask
from distributed import Client, LocalCluster


class ShardActor:
    """The alternative to futures: a shard's tree held by a Dask actor (state pinned to
    one worker, method calls instead of tasks; lost with its worker)."""

    def __init__(self, block, first):
        self.tree, self.first = pcct.CoverTree(block, threads=1), first

    def knn(self, q, k):
        i, d = self.tree.knn(q, k)
        return i + self.first, d


def timed(f):
    t = time.perf_counter()
    out = f()
    return time.perf_counter() - t, out


def main():
    n = int(sys.argv[1]) if len(sys.argv) > 1 else 1 << 18
    rng = np.random.default_rng(0)
    x, q = rng.random((n, 3)), rng.random((16_384, 3))
    shards, workers = 4, 2
    starts = np.linspace(0, n, shards + 1).astype(int)
    parts = [x[a:b] for a, b in zip(starts[:-1], starts[1:])]

    t_one_build, one = timed(lambda: pcct.CoverTree(x, threads=2))
    t_one_knn, want = timed(lambda: one.knn(q, 8))
    t_one_pred, want_p = timed(lambda: one.predecessor_knn(30))

    # The shards' own work, one after another in this process (1 thread each).
    trees, work_build = [], 0.0
    for p in parts:
        t, tr = timed(lambda: pcct.CoverTree(p, threads=1))
        trees.append(tr)
        work_build += t
    work_knn = sum(timed(lambda: tr.knn(q, 8))[0] for tr in trees)
    work_pred = 0.0
    for s, tr in enumerate(trees):
        work_pred += timed(lambda: tr.predecessor_knn(30))[0]
        for t in range(s):
            work_pred += timed(lambda: trees[t].knn(parts[s], 30))[0]

    with LocalCluster(n_workers=workers, threads_per_worker=1, processes=True, dashboard_address=None) as cluster, Client(cluster) as client:
        t_build, index = timed(lambda: pdask.ShardedIndex(x, client=client, shards=shards))
        t_knn, got = timed(lambda: index.knn(q, 8))
        t_pred, got_p = timed(lambda: index.predecessor_knn(30))
        # Actors: build one per shard where its chunk lives, then the same k-NN batch.
        def actor_build():
            futs = [client.submit(ShardActor, b, int(index.starts[s]), actor=True) for s, b in enumerate(index.blocks)]
            return [f.result() for f in futs]

        t_abuild, actors = timed(actor_build)

        def actor_knn():
            parts = [a.knn(q, 8) for a in actors]  # the queries go with each call
            return pdask._merge([p.result() for p in parts], 8)

        t_aknn, got_a = timed(actor_knn)
        t_aknn, got_a = timed(actor_knn)
    assert np.array_equal(got_a[0], want[0])
    assert np.array_equal(got[0], want[0]) and np.array_equal(got_p[0], want_p[0])

    print(f"n = {n}, d = 3; one tree on 2 threads; {shards} shards on {workers} worker processes × 1 thread")
    print("\n| step | one tree s | 4 shards s | shard work s | Dask layer share |")
    print("|---|---|---|---|---|")
    for name, one_t, sh_t, work in [
        ("build", t_one_build, t_build, work_build),
        ("k-NN, 16,384 new points, k = 8", t_one_knn, t_knn, work_knn),
        ("predecessor k-NN, k = 30", t_one_pred, t_pred, work_pred),
    ]:
        ideal = work / workers
        print(f"| {name} | {one_t:.3f} | {sh_t:.3f} | {ideal:.3f} | {max(0.0, 1 - ideal / sh_t) * 100:.0f} % |")
    print(f"\nactors instead of futures: build {t_abuild:.3f} s, k-NN batch {t_aknn:.3f} s (futures: {t_build:.3f}, {t_knn:.3f})")
    print("\nanswers: equal to the one tree's (ids and distances)")


if __name__ == "__main__":
    main()
