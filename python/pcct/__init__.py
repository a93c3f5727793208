"""pcct: exact k-nearest neighbours with a parallel compressed cover tree.

Every answer is exact (the set brute force gives, ties broken by the smaller id) and the
same for any number of threads. Euclidean data (float32 or float64) and the
residual-correlation metric of Vecchia-inducing-points Gaussian-process models.

    >>> import numpy as np, pcct
    >>> X = np.random.default_rng(0).random((10_000, 3))
    >>> tree = pcct.CoverTree(X)
    >>> d, i = tree.query(X[:5], k=4)             # like scipy's cKDTree.query
    >>> i, d = tree.predecessor_knn(30)           # Vecchia conditioning sets
    >>> i, d = pcct.ordered_knn(X, 30)            # the same in one planned call

Arrays: any numeric 2-D array is accepted (C or Fortran order, strided, read-only);
float32 stays float32, every other dtype becomes float64. Inputs are copied into pcct's
own buffers before the work starts, with the GIL held; the work itself runs with the GIL
released, so other Python threads run meanwhile. Neighbour ids are int64, distances
float64; rows with fewer than k neighbours are padded with id -1 and distance inf.
Bad input raises ValueError or TypeError with a one-line message (the one the `pcct`
command line prints); files raise OSError.
"""

from __future__ import annotations

import os
from typing import Any, List, Optional, Sequence, Tuple, Union

import numpy as np

from . import _pcct

__all__ = ["CoverTree", "ResidualCoverTree", "ordered_knn", "maximin_order", "info"]

ArrayLike = Any
Neighbours = Tuple[np.ndarray, np.ndarray]


def _threads(threads: Optional[int]) -> int:
    """Worker threads for the native side: 0 means one per available CPU."""
    if threads is None:
        return 0
    if isinstance(threads, bool) or not isinstance(threads, (int, np.integer)):
        raise TypeError(f"invalid threads: expected an integer or None, got {type(threads).__name__}")
    if threads < 1:
        raise ValueError(f"invalid threads: {threads} (at least 1, or None for every CPU)")
    return int(threads)


def _count(value: Any, name: str) -> int:
    """A non-negative integer argument (the library says what is wrong with 0)."""
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)):
        raise TypeError(f"invalid {name}: expected an integer, got {type(value).__name__}")
    if value < 0:
        raise ValueError(f"invalid {name}: {name} must be at least 1")
    return int(value)


def _points(x: ArrayLike, name: str, dtype: Optional[np.dtype] = None) -> np.ndarray:
    """`x` as a 2-D float array: float32 kept, other numbers as float64 (or `dtype`)."""
    a = np.asarray(x)
    if a.dtype.kind not in "fiu":
        raise TypeError(f"invalid {name}: expected numbers, got an array of dtype {a.dtype}")
    if a.ndim != 2:
        raise ValueError(f"invalid {name}: expected a 2-D array (points × coordinates), got {a.ndim}-D")
    if dtype is None:
        dtype = np.float32 if a.dtype == np.float32 else np.float64
    return a.astype(dtype, copy=False)


def _ids(ids: ArrayLike) -> np.ndarray:
    a = np.asarray(ids)
    if a.ndim == 0:
        a = a.reshape(1)
    if a.size == 0:
        return np.zeros(0, dtype=np.int64)
    if a.dtype.kind not in "iu" or a.ndim != 1:
        raise TypeError("invalid ids: expected a 1-D array of integer point ids")
    if a.dtype.kind == "u" and a.size and a.max() > np.iinfo(np.int64).max:
        raise ValueError(f"invalid ids: {a.max()} is not a point id")
    return a.astype(np.int64, copy=False)


def _pair(i: np.ndarray, d: np.ndarray, return_distances: bool) -> Union[np.ndarray, Neighbours]:
    return (i, d) if return_distances else i


def _ranges(native: Any, q: np.ndarray, r: float, return_distances: bool, max_pairs: Optional[int]):
    if not np.isfinite(r) or r < 0:
        raise ValueError(f"invalid r: {r} (a finite radius ≥ 0)")
    limit = np.iinfo(np.int64).max if max_pairs is None else _count(max_pairs, "max_pairs")
    offsets, ids, dists = native.range(q, float(r), limit)
    rows = [ids[offsets[j] : offsets[j + 1]] for j in range(len(offsets) - 1)]
    if return_distances:
        return [(ids_, dists[offsets[j] : offsets[j + 1]]) for j, ids_ in enumerate(rows)]
    return rows


class _Tree:
    """What both trees share: the native tree ``_t``, its pool, files and pickling."""

    _native: Any = None  # the native class (set by each subclass)

    @classmethod
    def _wrap(cls, native: Any, threads: Optional[int]):
        t = cls.__new__(cls)
        t._t, t._threads = native, threads
        return t

    @property
    def n(self) -> int:
        """Number of points in the tree (as scipy's ``cKDTree.n``)."""
        return self._t.size

    @property
    def threads(self) -> int:
        """Worker threads of this tree's pool."""
        return self._t.threads

    @property
    def flat(self) -> bool:
        """Whether the tree is flat: built where a sample of the points said no tree
        could prune (distances all alike), its root holds every other point and queries
        scan every row. Exact all the same."""
        return self._t.flat

    def __len__(self) -> int:
        return self._t.size

    def self_knn(self, k: int, return_distances: bool = True) -> Union[np.ndarray, Neighbours]:
        """Each point's k nearest other points (all-kNN): ``(ids, distances)``, ``(n, k)``,
        row ``j`` for point id ``j``."""
        i, d = self._t.self_knn(_count(k, "k"))
        return _pair(i, d, return_distances)

    def predecessor_knn(self, k: int, return_distances: bool = True) -> Union[np.ndarray, Neighbours]:
        """Each point's k nearest among the points with smaller ids (Vecchia conditioning
        sets for the order of the rows): ``(ids, distances)``, ``(n, k)``; the first rows
        are padded with -1 / inf."""
        i, d = self._t.predecessor_knn(_count(k, "k"))
        return _pair(i, d, return_distances)

    def validate(self) -> List[str]:
        """The tree's broken invariants: always empty (the test suite's check)."""
        return self._t.validate()

    def save(self, path: Union[str, os.PathLike]) -> None:
        """Writes the tree (with its points, and a residual tree's model) to ``path``: the
        format of ``pcct knn --save-tree``."""
        self._t.save(os.fspath(path))

    @classmethod
    def load(cls, path: Union[str, os.PathLike], *, threads: Optional[int] = None):
        """A tree saved by :meth:`save` or ``pcct knn --save-tree`` (checked, not rebuilt)."""
        with open(path, "rb") as f:
            data = f.read()
        return cls._wrap(cls._native.from_bytes(data, _threads(threads)), threads)

    def __reduce__(self):
        return (_restore, (type(self).__name__, self._t.to_bytes(), self._threads))


class CoverTree(_Tree):
    """An exact Euclidean k-NN index: a compressed cover tree over the rows of ``X``.

    Parameters
    ----------
    X : array of shape (n, d)
        The points. float32 input is stored as float32 (distances are still computed and
        returned in float64 over the stored values); anything else as float64.
    threads : int or None
        Worker threads for the build and every query (None: one per CPU).
    seed : int
        Seed of the build's tie-breaking priorities; the tree is the same for any
        thread count.

    Trees are immutable: :meth:`insert` and :meth:`delete` return new trees. Point ids
    are the row numbers of ``X`` (inserted rows continue from :attr:`id_bound`).
    Trees pickle (dask, joblib, multiprocessing) and save to files.
    """

    _native = _pcct.EuclideanTree

    def __init__(self, X: ArrayLike, *, threads: Optional[int] = None, seed: int = 0):
        self._threads = threads
        self._t = _pcct.EuclideanTree.build(_points(X, "data"), _threads(threads), _count(seed, "seed"))

    @property
    def m(self) -> int:
        """Coordinates per point (as scipy's ``cKDTree.m``)."""
        return self._t.dim

    @property
    def dtype(self) -> np.dtype:
        """How the rows are stored: float32 or float64."""
        return np.dtype(self._t.dtype)

    @property
    def id_bound(self) -> int:
        """Every id is below this; deleted ids are never reused."""
        return self._t.id_bound

    def __contains__(self, point_id: int) -> bool:
        return isinstance(point_id, (int, np.integer)) and self._t.contains(int(point_id))

    def __repr__(self) -> str:
        return f"pcct.CoverTree(n={self.n}, d={self.m}, dtype={self.dtype}, threads={self.threads})"

    def _queries(self, x: ArrayLike) -> np.ndarray:
        q = _points(x, "queries", self.dtype)
        if q.shape[1] != self.m:
            raise ValueError(f"invalid queries: {q.shape[1]} coordinates, the tree has {self.m}")
        return q

    # -- queries -------------------------------------------------------------------
    def query(self, x: ArrayLike, k: int = 1) -> Tuple[Any, Any]:
        """The k nearest points to ``x``, shaped like scipy's ``cKDTree.query``.

        ``x`` is one point (shape ``(d,)``) or many (``(q, d)``). Returns ``(d, i)``:
        distances and ids, shape ``(q,)`` for ``k = 1`` and ``(q, k)`` otherwise (no
        leading axis for a single point); ids sort by (distance, id). As scipy, ``k`` above
        the number of points pads with distance ``inf`` and id ``n``.
        """
        a = np.asarray(x)
        single = a.ndim == 1
        k = _count(k, "k")
        i, d = self._t.knn(self._queries(a[None, :] if single else a), min(k, self.n) if k else 0)
        if k > self.n:
            pad = k - self.n
            i = np.hstack([i, np.full((len(i), pad), self.n, dtype=np.int64)])
            d = np.hstack([d, np.full((len(d), pad), np.inf)])
        if k == 1:
            i, d = i[:, 0], d[:, 0]
        return (d[0], i[0]) if single else (d, i)

    def knn(self, Q: ArrayLike, k: int, return_distances: bool = True) -> Union[np.ndarray, Neighbours]:
        """The k nearest points to each row of ``Q``: ``(ids, distances)``, each ``(q, k)``,
        sorted by (distance, id)."""
        i, d = self._t.knn(self._queries(Q), _count(k, "k"))
        return _pair(i, d, return_distances)

    def query_ball_point(
        self, x: ArrayLike, r: float, *, return_distances: bool = False, max_pairs: Optional[int] = None
    ):
        """Every point within distance ``r`` (inclusive) of ``x``, sorted by (distance, id).

        One point in: an int64 array of ids; many: a list of them (with
        ``return_distances``, ``(ids, distances)`` pairs). ``max_pairs`` refuses answers
        with more (query, point) pairs than that instead of filling memory.
        """
        a = np.asarray(x)
        single = a.ndim == 1
        rows = _ranges(self._t, self._queries(a[None, :] if single else a), r, return_distances, max_pairs)
        return rows[0] if single else rows

    # -- updates -------------------------------------------------------------------
    def insert(self, X: ArrayLike) -> "CoverTree":
        """A new tree with the rows of ``X`` added as ids ``id_bound, id_bound + 1, …``;
        this one is unchanged."""
        return CoverTree._wrap(self._t.insert(self._queries(X)), self._threads)

    def delete(self, ids: ArrayLike) -> "CoverTree":
        """A new tree without the points ``ids``; this one is unchanged."""
        return CoverTree._wrap(self._t.delete(_ids(ids)), self._threads)


def _model(X, inducing, V, p, kernel, lengthscale, variance, jitter, threads) -> Any:
    """The native residual model (checked arguments; ``V``, ``p`` computed from the
    inducing points, or supplied)."""
    if not isinstance(kernel, str):
        raise TypeError(f"invalid kernel: expected a name, got {type(kernel).__name__}")
    ls = np.atleast_1d(np.asarray(lengthscale, dtype=np.float64))
    if ls.ndim != 1:
        raise ValueError("invalid lengthscale: one value or one per dimension")
    pv = None
    if p is not None:
        pv = np.asarray(p, dtype=np.float64)
        if pv.ndim != 1:
            raise ValueError(f"invalid p: expected a 1-D array, got {pv.ndim}-D")
    return _pcct.ResidualModel(
        _points(X, "data", np.float64),
        kernel,
        [float(s) for s in ls],
        float(variance),
        float(jitter),
        _threads(threads),
        z=None if inducing is None else _points(inducing, "inducing", np.float64),
        v=None if V is None else _points(V, "V", np.float64),
        p=pv,
    )


class ResidualCoverTree(_Tree):
    """An exact k-NN index in the residual-correlation metric of a Vecchia-inducing-points
    GP model: ``d(i, j) = sqrt(1 - |ρ_ij|)``, ``ρ`` the correlation of the residuals
    ``f - E[f | f(Z)]`` at ``x_i`` and ``x_j``.

    Parameters
    ----------
    X : array of shape (n, d)
        Coordinates of the points.
    inducing : array of shape (m, d), optional
        Inducing points ``Z``; ``V`` and ``p`` come from a Cholesky factor of
        ``K_ZZ + jitter·variance·I``.
    V, p : arrays of shapes (n, m) and (n,), optional
        The model's parts supplied instead of ``inducing`` (``p = variance - ‖v_i‖²``).
    kernel : {"rbf", "matern12", "matern32", "matern52"}
    lengthscale : float or array of shape (d,)
        One lengthscale or one per dimension.
    variance, jitter : float
    threads, seed :
        As for :class:`CoverTree`.

    A residual tree prunes only where correlations are local, and its build costs more
    than a pass over every pair on most models: for one-shot conditioning sets,
    :func:`ordered_knn` with the same arguments plans the job (usually the dense engine)
    and is much faster; keep a tree to answer many batches of new points.
    """

    _native = _pcct.ResidualTree

    def __init__(
        self,
        X: ArrayLike,
        *,
        inducing: Optional[ArrayLike] = None,
        V: Optional[ArrayLike] = None,
        p: Optional[ArrayLike] = None,
        kernel: str = "rbf",
        lengthscale: Union[float, Sequence[float]] = 1.0,
        variance: float = 1.0,
        jitter: float = 1e-6,
        threads: Optional[int] = None,
        seed: int = 0,
    ):
        self._threads = threads
        model = _model(X, inducing, V, p, kernel, lengthscale, variance, jitter, threads)
        self._t = _pcct.ResidualTree.build(model, _threads(threads), _count(seed, "seed"))

    @property
    def rank(self) -> int:
        """Columns of ``V`` (inducing points)."""
        return self._t.rank

    def __repr__(self) -> str:
        return f"pcct.ResidualCoverTree(n={self.n}, m={self.rank}, threads={self.threads})"

    def parts(self) -> Tuple[np.ndarray, np.ndarray]:
        """The model's ``(V, p)`` for the points, in id order (``p`` recomputed as
        ``variance - ‖v_i‖²``): the rows the tree holds, so a point kept as a duplicate
        of another (distance 0) reads its twin's."""
        return self._t.parts()

    def knn(self, Xnew: ArrayLike, k: int, return_distances: bool = True) -> Union[np.ndarray, Neighbours]:
        """The k nearest points to new points ``Xnew`` (coordinates; their own ``v``, ``p``
        come from the model, so the tree must have been made from ``inducing``)."""
        i, d = self._t.knn_points(_points(Xnew, "queries", np.float64), _count(k, "k"))
        return _pair(i, d, return_distances)

    def knn_by_index(self, ids: ArrayLike, k: int, return_distances: bool = True) -> Union[np.ndarray, Neighbours]:
        """The k nearest points to the tree's own points ``ids`` (each finds itself first)."""
        i, d = self._t.knn_ids(_ids(ids), _count(k, "k"))
        return _pair(i, d, return_distances)


def _restore(kind: str, data: bytes, threads: Optional[int]):
    """Unpickles a tree (see ``_Tree.__reduce__``)."""
    cls = {"CoverTree": CoverTree, "ResidualCoverTree": ResidualCoverTree}[kind]
    return cls._wrap(cls._native.from_bytes(data, _threads(threads)), threads)


def ordered_knn(
    X: ArrayLike,
    k: int,
    *,
    threads: Optional[int] = None,
    return_distances: bool = True,
    inducing: Optional[ArrayLike] = None,
    V: Optional[ArrayLike] = None,
    p: Optional[ArrayLike] = None,
    kernel: str = "rbf",
    lengthscale: Union[float, Sequence[float]] = 1.0,
    variance: float = 1.0,
    jitter: float = 1e-6,
) -> Union[np.ndarray, Neighbours]:
    """Vecchia conditioning sets in one call: each row's k nearest among the rows before
    it, exact, as ``(ids, distances)`` of shape ``(n, k)`` (padded with -1 / inf).

    Euclidean by default. With ``inducing`` (or ``V`` and ``p``) and the kernel arguments
    of :class:`ResidualCoverTree`, in the residual-correlation metric of that model.
    pcct plans the job first (a k-d tree, a blocked brute force or a cover tree, whichever
    a sample says is cheapest) and builds nothing it does not need.
    """
    kk, t = _count(k, "k"), _threads(threads)
    if inducing is None and V is None and p is None:
        i, d = _pcct.ordered_knn(_points(X, "data"), kk, t)
    else:
        model = _model(X, inducing, V, p, kernel, lengthscale, variance, jitter, threads)
        i, d = _pcct.ordered_knn_residual(model, kk, t)
    return _pair(i, d, return_distances)


def maximin_order(
    X: ArrayLike,
    *,
    threads: Optional[int] = None,
    inducing: Optional[ArrayLike] = None,
    V: Optional[ArrayLike] = None,
    p: Optional[ArrayLike] = None,
    kernel: str = "rbf",
    lengthscale: Union[float, Sequence[float]] = 1.0,
    variance: float = 1.0,
    jitter: float = 1e-6,
) -> Tuple[np.ndarray, np.ndarray]:
    """The exact maximin ordering (greedy permutation) of the rows of ``X``.

    Starts from the row nearest the mean of the coordinates, then always takes the row
    farthest from all rows taken so far (ties by the smaller row number). Returns
    ``(order, radius)``: ``order[r]`` is the row taken r-th (int64), ``radius[r]`` its
    distance to the rows taken before it (inf for the first). With ``inducing`` (or ``V``
    and ``p``) and the kernel arguments of :class:`ResidualCoverTree`, in the
    residual-correlation metric (the ordering of Kang & Katzfuss).

    Vecchia conditioning sets in maximin order::

        order, _ = pcct.maximin_order(X)
        ids, dists = pcct.ordered_knn(X[order], 30)   # ids are positions in `order`
    """
    t = _threads(threads)
    if inducing is None and V is None and p is None:
        return _pcct.maximin_order(_points(X, "data"), t)
    model = _model(X, inducing, V, p, kernel, lengthscale, variance, jitter, threads)
    return _pcct.maximin_order_residual(model, t)


def info() -> dict:
    """What ``pcct info`` prints, as a dict: version, CPU, ISA level, lanes, profile."""
    return dict(_pcct.info())
