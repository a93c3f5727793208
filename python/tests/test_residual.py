"""pcct.ResidualCoverTree against a numpy oracle of the residual-correlation distance,
all four kernels, supplied parts and parts from inducing points, 1 and 2 threads."""

import pickle

import numpy as np
import pytest

import pcct
from conftest import residual_distances, top_k

KERNELS = ["rbf", "matern12", "matern32", "matern52"]
N, M, K = 400, 30, 6


def model(kernel, lengthscale, variance=1.3, seed=4, d=2, n=N):
    """x, and V, p from a numpy Cholesky (the parts the tree is given)."""
    rng = np.random.default_rng(seed)
    x = rng.random((n, d))
    z = rng.random((M, d))
    ls = np.broadcast_to(np.asarray(lengthscale, dtype=np.float64), (d,))

    def k(a, b):
        r2 = (((a[:, None, :] - b[None, :, :]) / ls) ** 2).sum(-1)
        r = np.sqrt(r2)
        base = {
            "rbf": lambda: np.exp(-0.5 * r2),
            "matern12": lambda: np.exp(-r),
            "matern32": lambda: (1 + np.sqrt(3) * r) * np.exp(-np.sqrt(3) * r),
            "matern52": lambda: (1 + np.sqrt(5) * r + 5 * r2 / 3) * np.exp(-np.sqrt(5) * r),
        }[kernel]()
        return variance * base

    chol = np.linalg.cholesky(k(z, z) + 1e-6 * variance * np.eye(M))
    v = np.linalg.solve(chol, k(z, x)).T
    p = variance - (v * v).sum(1)
    return x, z, v, p


def close(got, want):
    """Same ids; distances equal to within rounding: `ρ = (k − v·v')/√(p p')` cancels
    where the residual variances are small, and numpy sums `v·v'` in another order."""
    gi, gd = got
    wi, wd = want
    np.testing.assert_array_equal(gi, wi)
    np.testing.assert_allclose(gd, wd, rtol=0, atol=1e-9)


@pytest.mark.parametrize("kernel", KERNELS)
def test_supplied_parts_match_the_oracle(kernel, threads):
    ls = [0.15, 0.3]
    x, _, v, p = model(kernel, ls)
    tree = pcct.ResidualCoverTree(x, V=v, p=p, kernel=kernel, lengthscale=ls, variance=1.3, threads=threads)
    assert tree.validate() == [] and len(tree) == N and tree.rank == M
    gv, gp = tree.parts()
    np.testing.assert_array_equal(gv, v)
    dist = residual_distances(x, gv, gp, x, gv, gp, kernel, ls, 1.3)
    close(tree.self_knn(K), top_k(dist, K, lambda i, c: c != i))
    close(tree.predecessor_knn(K), top_k(dist, K, lambda i, c: c < i))
    ids = np.array([3, 0, 399, 3])
    close(tree.knn_by_index(ids, K), top_k(dist[ids], K))


@pytest.mark.parametrize("kernel", KERNELS)
def test_a_model_from_inducing_points_answers_new_points(kernel, threads):
    x, z, _, _ = model(kernel, 0.2, seed=8)
    tree = pcct.ResidualCoverTree(x, inducing=z, kernel=kernel, lengthscale=0.2, variance=1.3, threads=threads)
    assert tree.validate() == []
    v, p = tree.parts()
    dist = residual_distances(x, v, p, x, v, p, kernel, 0.2, 1.3)
    close(tree.predecessor_knn(K), top_k(dist, K, lambda i, c: c < i))
    # New points: their v, p from numpy's own solve against pcct's factor of K_ZZ would
    # differ in rounding; the dataset's own rows as new points must find themselves.
    i, d = tree.knn(x[:20], 1)
    np.testing.assert_array_equal(i[:, 0], np.arange(20))
    assert np.all(d[:, 0] < 1e-6)


def test_pickle_and_files_keep_the_model(tmp_path):
    x, z, _, _ = model("matern32", 0.2, seed=5)
    tree = pcct.ResidualCoverTree(x, inducing=z, kernel="matern32", lengthscale=0.2, variance=1.3)
    path = tmp_path / "r.pcct"
    tree.save(path)
    want = tree.knn(x[:10] + 0.01, 4)
    for back in (pcct.ResidualCoverTree.load(path), pickle.loads(pickle.dumps(tree))):
        assert back.validate() == []
        for a, b in zip(back.knn(x[:10] + 0.01, 4), want):
            np.testing.assert_array_equal(a, b)


def test_residual_errors_are_value_errors():
    x, z, v, p = model("rbf", 0.3)
    with pytest.raises(ValueError, match="inducing points, or both V and p"):
        pcct.ResidualCoverTree(x, inducing=z, V=v, p=p)
    with pytest.raises(ValueError, match="invalid p"):
        pcct.ResidualCoverTree(x, V=v, p=p + 0.5)
    with pytest.raises(ValueError, match="unknown kernel|kernel"):
        pcct.ResidualCoverTree(x, inducing=z, kernel="cubic")
    supplied = pcct.ResidualCoverTree(x, V=v, p=p, lengthscale=0.3, variance=1.3)
    with pytest.raises(ValueError, match="do not belong together"):
        pcct.ResidualCoverTree(x, V=v, p=p, lengthscale=0.3)
    with pytest.raises(ValueError, match="inducing points"):
        supplied.knn(x[:2], 3)
    with pytest.raises(ValueError, match="not in the tree"):
        supplied.knn_by_index([N], 3)
    modelled = pcct.ResidualCoverTree(x, inducing=z, lengthscale=0.3)
    for wrong in (np.zeros((3, 4)), np.zeros((2, 1))):
        with pytest.raises(ValueError, match="coordinates, the tree has 2"):
            modelled.knn(wrong, 1)


@pytest.mark.parametrize("kernel", ["rbf", "matern52"])
def test_ordered_knn_in_the_residual_metric(kernel, threads):
    ls = [0.25, 0.1]
    x, z, v, p = model(kernel, ls, seed=11)
    dist = residual_distances(x, v, p, x, v, p, kernel, ls, 1.3)
    want = top_k(dist, K, lambda i, c: c < i)
    got = pcct.ordered_knn(x, K, V=v, p=p, kernel=kernel, lengthscale=ls, variance=1.3, threads=threads)
    close(got, want)
    tree = pcct.ResidualCoverTree(x, inducing=z, kernel=kernel, lengthscale=ls, variance=1.3)
    planned = pcct.ordered_knn(x, K, inducing=z, kernel=kernel, lengthscale=ls, variance=1.3, threads=threads)
    for a, b in zip(planned, tree.predecessor_knn(K)):
        np.testing.assert_array_equal(a, b)


def test_maximin_order_in_the_residual_metric():
    ls = [0.2, 0.3]
    x, _, v, p = model("matern32", ls, seed=12, n=300)
    dist = residual_distances(x, v, p, x, v, p, "matern32", ls, 1.3)
    order, radius = pcct.maximin_order(x, V=v, p=p, kernel="matern32", lengthscale=ls, variance=1.3)
    # The greedy permutation from the same first point, on the oracle's distances.
    n = len(x)
    near = dist[order[0]].copy()
    taken = np.zeros(n, dtype=bool)
    taken[order[0]] = True
    for r in range(1, n):
        cand = np.where(taken, -1.0, near)
        assert near[order[r]] >= cand.max() - 1e-9, r  # farthest, up to rounding
        np.testing.assert_allclose(radius[r], near[order[r]], rtol=0, atol=1e-9)
        taken[order[r]] = True
        near = np.minimum(near, dist[order[r]])
    assert sorted(order.tolist()) == list(range(n))
