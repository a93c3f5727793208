"""pcct on a Dask cluster: one exact index sharded over the workers.

``pip install pcct[dask]`` adds ``dask[distributed]``; the core package does not need it.

A :class:`ShardedIndex` holds one pcct tree per contiguous range of point ids (a *shard*:
one chunk of the Dask array along its rows), built by a task on the worker that holds the
chunk and kept there as a future. A query batch goes to every shard that can hold an
answer; each shard returns its k best with global ids, and one k-way merge by
``(distance, id)`` gives exactly the answer of a single pcct tree over all points — the
same ids, the same distances, ties by the smaller id.

- ``knn(Q, k)``: every shard answers the queries, the client merges.
- ``self_knn(k)``: shard s's points ask their own tree for their k nearest others and
  every other tree for their k nearest.
- ``predecessor_knn(k)``: point i asks only the shards whose ids start below i: the
  earlier shards whole, its own shard for its predecessors.
- ``query_ball_point(Q, r)``: every shard's hits, merged by ``(distance, id)``.
- Residual trees: the model's inducing points and kernel go to every shard (small), and
  each shard computes ``V``, ``p`` of its own points where they are.

Shards are built from the Dask graph (a numpy array is wrapped with ``da.from_array``),
so a worker lost mid-job costs a rebuild of its shards, never a wrong or missing row:
Dask recomputes lost futures from their lineage and retries the queries.

For a small index and many queries, :func:`knn_map` does the opposite: the tree is
broadcast once and the query chunks are answered where they live.
"""

from __future__ import annotations

from typing import Any, Dict, Iterator, List, Optional, Tuple

import numpy as np

import pcct

try:
    import dask.array as da
    from distributed import Client, get_client, wait
except ImportError as e:  # pragma: no cover - the extra is not installed
    raise ImportError("pcct.dask needs Dask: pip install 'pcct[dask]' (dask[distributed])") from e

__all__ = ["ShardedIndex", "knn_map"]

#: Shard answers merged per task in a k-NN query's merge tree.
MERGE_FAN_IN = 8


def _build(block: np.ndarray, model: Optional[Dict[str, Any]], threads: int, seed: int):
    """Builds one shard's tree (runs on a worker)."""
    if len(block) == 0:
        raise ValueError("invalid shard: a chunk holds no points (rechunk the array)")
    if model is None:
        return pcct.CoverTree(block, threads=threads, seed=seed)
    return pcct.ResidualCoverTree(block, threads=threads, seed=seed, **model)


def _offset(pair: Tuple[np.ndarray, np.ndarray], first: int) -> Tuple[np.ndarray, np.ndarray]:
    """Local ids to global ones (padding stays -1)."""
    ids, dists = pair
    return np.where(ids >= 0, ids + first, -1), dists


def _knn(tree, q: np.ndarray, k: int, first: int):
    """One shard's k best for the queries `q`, global ids: new points, or another shard's
    points (coordinates; a residual tree gives them their own `v`, `p` from the shared
    model, the same rows their own shard computed)."""
    kk = min(k, len(tree))
    return _offset(tree.knn(q, kk), first)


def _own(tree, k: int, first: int, predecessors: bool):
    """One shard's self or predecessor answers for its own points, global ids."""
    kk = min(k, len(tree) - (0 if predecessors else 1))
    if kk < 1:
        n = len(tree)
        return np.full((n, 0), -1, dtype=np.int64), np.zeros((n, 0))
    pair = tree.predecessor_knn(kk) if predecessors else tree.self_knn(kk)
    return _offset(pair, first)


def _ranges(tree, q: np.ndarray, r: float, first: int):
    rows = tree.query_ball_point(q, r, return_distances=True)
    return [(ids + first, d) for ids, d in rows]


def _validate(tree) -> List[str]:
    return tree.validate()


def _merge(parts: List[Tuple[np.ndarray, np.ndarray]], k: int) -> Tuple[np.ndarray, np.ndarray]:
    """The k smallest (distance, id) per row over the shards' answers; -1 / inf padding."""
    ids = np.hstack([p[0] for p in parts])
    dists = np.hstack([p[1] for p in parts])
    n = ids.shape[0]
    out_i = np.full((n, k), -1, dtype=np.int64)
    out_d = np.full((n, k), np.inf)
    if ids.shape[1] == 0:
        return out_i, out_d
    # Padding sorts last: (inf, huge id).
    key_ids = np.where(ids < 0, np.iinfo(np.int64).max, ids)
    order = np.lexsort((key_ids, dists), axis=1)[:, :k]
    rows = np.arange(n)[:, None]
    take = order.shape[1]
    out_i[:, :take] = ids[rows, order]
    out_d[:, :take] = dists[rows, order]
    return out_i, out_d


def _merge_all(k: int, *parts: Tuple[np.ndarray, np.ndarray]) -> Tuple[np.ndarray, np.ndarray]:
    """`_merge` as a task (on the worker that holds most of the parts)."""
    return _merge(list(parts), k)


class ShardedIndex:
    """An exact k-NN index over a Dask array of points, one pcct tree per chunk of rows.

    Parameters
    ----------
    X : dask or numpy array of shape (n, d)
        The points; a shard per chunk along the rows (a numpy array is cut into
        ``shards`` chunks). Columns are gathered into one chunk.
    client : distributed.Client, optional
        The cluster (default: the current client).
    shards : int
        Shards for a numpy ``X`` (ignored for a Dask array: its chunks are the shards).
    threads : int
        Threads each shard's tree uses on its worker (default 1: one shard per core).
    inducing, kernel, lengthscale, variance, jitter :
        A residual-correlation index, as :class:`pcct.ResidualCoverTree` with inducing
        points (each shard computes ``V``, ``p`` of its own points); Euclidean without.
        Supplied ``V``, ``p`` are not sharded: build a :class:`pcct.ResidualCoverTree`.
    """

    def __init__(
        self,
        X: Any,
        *,
        client: Optional[Client] = None,
        shards: int = 4,
        threads: int = 1,
        seed: int = 0,
        inducing: Optional[np.ndarray] = None,
        kernel: str = "rbf",
        lengthscale: Any = 1.0,
        variance: float = 1.0,
        jitter: float = 1e-6,
    ):
        self.client = client or get_client()
        if not isinstance(X, da.Array):
            X = np.asarray(X)
            if X.ndim != 2:
                raise ValueError(f"invalid data: expected a 2-D array (points × coordinates), got {X.ndim}-D")
            X = da.from_array(X, chunks=(max(-(-len(X) // max(int(shards), 1)), 1), X.shape[1]))
        if X.ndim != 2:
            raise ValueError(f"invalid data: expected a 2-D array (points × coordinates), got {X.ndim}-D")
        X = X.rechunk({1: -1})
        if any(c == 0 for c in X.chunks[0]):
            raise ValueError("invalid shard: a chunk holds no points (rechunk the array)")
        self.dim = X.shape[1]
        self.n = X.shape[0]
        self.starts = np.concatenate([[0], np.cumsum(X.chunks[0])]).astype(np.int64)
        self.residual = inducing is not None
        self.model = (
            dict(
                inducing=np.asarray(inducing, dtype=np.float64),
                kernel=kernel,
                lengthscale=lengthscale,
                variance=variance,
                jitter=jitter,
            )
            if self.residual
            else None
        )
        blocks = X.to_delayed().ravel().tolist()
        self.blocks = self.client.compute(blocks)  # the points, where they live
        self.trees = [
            self.client.submit(_build, b, self.model, int(threads), int(seed), pure=False)
            for b in self.blocks
        ]
        wait(self.trees)
        for f in self.trees:
            if f.status == "error":
                f.result()  # raises the shard's error here

    @property
    def shards(self) -> int:
        """Number of shards."""
        return len(self.trees)

    def __len__(self) -> int:
        return self.n

    def __repr__(self) -> str:
        kind = "residual" if self.residual else "euclidean"
        return f"pcct.dask.ShardedIndex(n={self.n}, d={self.dim}, shards={self.shards}, {kind})"

    def validate(self) -> List[str]:
        """Every shard tree's broken invariants, prefixed by its shard (empty when valid)."""
        found = self.client.gather([self.client.submit(_validate, t, pure=False) for t in self.trees])
        return [f"shard {s}: {v}" for s, vs in enumerate(found) for v in vs]

    # -- checks ------------------------------------------------------------------
    def _k(self, k: int, available: int) -> int:
        if isinstance(k, bool) or not isinstance(k, (int, np.integer)) or k < 1:
            raise ValueError(f"invalid k: k must be at least 1 (got {k!r})")
        if k > available:
            raise ValueError(f"invalid k: k = {k} exceeds the {available} points available")
        return int(k)

    def _queries(self, Q: Any) -> np.ndarray:
        q = np.asarray(Q.compute() if isinstance(Q, da.Array) else Q, dtype=np.float64)
        if q.ndim != 2:
            raise ValueError(f"invalid queries: expected a 2-D array, got {q.ndim}-D")
        if q.shape[1] != self.dim:
            raise ValueError(f"invalid queries: {q.shape[1]} coordinates, the index has {self.dim}")
        return q

    # -- queries -----------------------------------------------------------------
    def knn(self, Q: Any, k: int) -> Tuple[np.ndarray, np.ndarray]:
        """The k nearest points to each row of ``Q`` (new points): ``(ids, distances)``,
        global ids, sorted by (distance, id)."""
        k = self._k(k, self.n)
        q = self.client.scatter(self._queries(Q), broadcast=True)
        parts = [
            self.client.submit(_knn, t, q, k, int(self.starts[s]), pure=False)
            for s, t in enumerate(self.trees)
        ]
        # A merge tree on the workers (8 answers per task): the client receives one
        # queries × k answer, not one per shard.
        while len(parts) > 1:
            parts = [
                self.client.submit(_merge_all, k, *parts[i : i + MERGE_FAN_IN], pure=False)
                for i in range(0, len(parts), MERGE_FAN_IN)
            ]
        return parts[0].result()

    def iter_knn(self, Q: Any, k: int, block: int = 65_536) -> Iterator[Tuple[int, np.ndarray, np.ndarray]]:
        """:meth:`knn` block by block of ``block`` queries: ``(first row, ids, distances)``
        in order, so answers larger than memory stream to disk."""
        for lo in range(0, len(Q), block):
            ids, dists = self.knn(Q[lo : lo + block], k)
            yield lo, ids, dists

    def _pairs(self, k: int, predecessors: bool) -> Tuple[np.ndarray, np.ndarray]:
        # Every shard's tasks at once; each shard's answers merged on a worker, so only
        # n × k ids and distances come back.
        merged = []
        for s in range(self.shards):
            first = int(self.starts[s])
            parts = [self.client.submit(_own, self.trees[s], k, first, predecessors, pure=False)]
            others = range(s) if predecessors else (t for t in range(self.shards) if t != s)
            for t in others:
                parts.append(
                    self.client.submit(_knn, self.trees[t], self.blocks[s], k, int(self.starts[t]), pure=False)
                )
            merged.append(self.client.submit(_merge_all, k, *parts, pure=False))
        out = self.client.gather(merged)
        return np.vstack([i for i, _ in out]), np.vstack([d for _, d in out])

    def self_knn(self, k: int) -> Tuple[np.ndarray, np.ndarray]:
        """Each point's k nearest other points: ``(ids, distances)``, ``(n, k)``."""
        return self._pairs(self._k(k, self.n - 1), predecessors=False)

    def predecessor_knn(self, k: int) -> Tuple[np.ndarray, np.ndarray]:
        """Each point's k nearest among the points with smaller ids (Vecchia), padded
        with -1 / inf: point i asks only the shards whose ids start below i."""
        return self._pairs(self._k(k, self.n), predecessors=True)

    def query_ball_point(self, Q: Any, r: float) -> List[Tuple[np.ndarray, np.ndarray]]:
        """Every point within ``r`` of each row of ``Q``: ``(ids, distances)`` per query,
        sorted by (distance, id) (Euclidean indexes)."""
        if self.residual:
            raise ValueError("invalid query: range queries need a Euclidean index")
        q = self.client.scatter(self._queries(Q), broadcast=True)
        parts = self.client.gather(
            [self.client.submit(_ranges, t, q, float(r), int(self.starts[s]), pure=False) for s, t in enumerate(self.trees)]
        )
        out = []
        for j in range(len(parts[0])):
            ids = np.concatenate([p[j][0] for p in parts])
            d = np.concatenate([p[j][1] for p in parts])
            order = np.lexsort((ids, d))
            out.append((ids[order], d[order]))
        return out


def _knn_block(block: np.ndarray, tree, k: int) -> np.ndarray:
    i, d = tree.knn(block, k)
    return np.concatenate([i.astype(np.float64), d], axis=1)


def knn_map(tree: "pcct.CoverTree", Q: "da.Array", k: int, client: Optional[Client] = None):
    """A small index, many queries: ``tree`` is broadcast to the workers once and each
    chunk of the Dask array ``Q`` is answered where it lives. Returns Dask arrays
    ``(ids, distances)``, chunked like ``Q``'s rows."""
    client = client or get_client()
    if Q.ndim != 2 or Q.shape[1] != tree.m:
        raise ValueError(f"invalid queries: expected a 2-D array with {tree.m} columns")
    t = client.scatter(tree, broadcast=True)
    Q = Q.rechunk({1: -1})
    both = Q.map_blocks(_knn_block, t, k, dtype=np.float64, chunks=(Q.chunks[0], (2 * k,)))
    return both[:, :k].astype(np.int64), both[:, k:]
