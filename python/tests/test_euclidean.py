"""pcct.CoverTree and pcct.ordered_knn against a numpy brute-force oracle: ids and
distances exactly, ties by the smaller id, every generator, float32 and float64, 1 and
2 threads."""

import pickle

import numpy as np
import pytest

import pcct
from conftest import GENERATORS, euclidean_distances, top_k

N, NQ, K = 700, 60, 7


def data(gen, dtype, d=3, n=N, seed=1):
    return GENERATORS[gen](n, d, seed).astype(dtype)


def assert_same(got, want):
    gi, gd = got
    wi, wd = want
    np.testing.assert_array_equal(gi, wi)
    np.testing.assert_array_equal(gd, wd)
    assert gi.dtype == np.int64 and gd.dtype == np.float64


@pytest.mark.parametrize("gen", sorted(GENERATORS))
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_every_query_matches_the_oracle(gen, dtype, threads):
    x = data(gen, dtype)
    q = data(gen, dtype, n=NQ, seed=2)
    tree = pcct.CoverTree(x, threads=threads)
    assert tree.dtype == dtype and tree.validate() == []
    dist = euclidean_distances(q, x)
    assert_same(tree.knn(q, K), top_k(dist, K))
    self_dist = euclidean_distances(x, x)
    assert_same(tree.self_knn(K), top_k(self_dist, K, lambda i, c: c != i))
    assert_same(tree.predecessor_knn(K), top_k(self_dist, K, lambda i, c: c < i))
    r = float(np.quantile(dist, 0.02))
    for j, (ids, ds) in enumerate(tree.query_ball_point(q, r, return_distances=True)):
        keep = np.flatnonzero(dist[j] <= r)
        order = np.lexsort((keep, dist[j, keep]))
        np.testing.assert_array_equal(ids, keep[order])
        np.testing.assert_array_equal(ds, dist[j, keep[order]])


@pytest.mark.parametrize("gen", sorted(GENERATORS))
def test_ordered_knn_matches_the_oracle(gen, threads):
    for d in (2, 8, 32):
        x = data(gen, np.float64, d=d)
        want = top_k(euclidean_distances(x, x), K, lambda i, c: c < i)
        assert_same(pcct.ordered_knn(x, K, threads=threads), want)
        assert_same(pcct.ordered_knn(x.astype(np.float32), K, threads=threads), top_k(
            euclidean_distances(x.astype(np.float32), x.astype(np.float32)), K, lambda i, c: c < i))


def test_query_has_scipys_shapes():
    x = data("uniform", np.float64)
    tree = pcct.CoverTree(x)
    dist = euclidean_distances(x[:5], x)
    d, i = tree.query(x[:5])
    assert d.shape == (5,) and i.shape == (5,)
    np.testing.assert_array_equal(i, np.arange(5))
    d, i = tree.query(x[:5], k=3)
    wi, wd = top_k(dist, 3)
    np.testing.assert_array_equal(i, wi)
    np.testing.assert_array_equal(d, wd)
    d, i = tree.query(x[7], k=3)
    assert d.shape == (3,) and i[0] == 7
    d, i = tree.query(x[7])
    assert np.ndim(d) == 0 and i == 7
    assert tree.query_ball_point(x[7], 0.0).tolist() == [7]
    small = pcct.CoverTree(x[:3])
    d, i = small.query(x[:2], k=5)  # as scipy: missing neighbours are (inf, n)
    assert i.shape == (2, 5) and (i[:, 3:] == 3).all() and np.isinf(d[:, 3:]).all()
    np.testing.assert_array_equal(np.sort(i[:, :3], axis=1), [[0, 1, 2], [0, 1, 2]])
    assert tree.n == len(tree) == N and tree.m == 3


def test_layouts_and_dtypes_are_read_as_given():
    base = data("uniform", np.float64, d=4)
    want = pcct.CoverTree(base).self_knn(3)
    fortran = np.asfortranarray(base)
    strided = np.empty((N, 8))
    strided[:, ::2] = base
    readonly = base.copy()
    readonly.flags.writeable = False
    for x in (fortran, strided[:, ::2], readonly, base.tolist()):
        assert_same(pcct.CoverTree(x).self_knn(3), want)
    ints = (base * 100).astype(np.int64)
    tree = pcct.CoverTree(ints)
    assert tree.dtype == np.float64
    assert_same(tree.self_knn(3), pcct.CoverTree(ints.astype(np.float64)).self_knn(3))
    assert pcct.CoverTree(base.astype(np.float32)).dtype == np.float32


def test_insert_and_delete_return_new_valid_trees(threads):
    x = data("clustered", np.float64, n=600)
    extra = data("clustered", np.float64, n=150, seed=9)
    v1 = pcct.CoverTree(x, threads=threads)
    v2 = v1.insert(extra)
    gone = [0, 17, 599, 700]
    v3 = v2.delete(gone)
    assert len(v1) == 600 and len(v2) == 750 and len(v3) == 746 and v3.id_bound == 750
    assert v1.validate() == [] and v2.validate() == [] and v3.validate() == []
    assert 17 in v2 and 17 not in v3
    allx = np.vstack([x, extra])
    q = data("clustered", np.float64, n=40, seed=5)
    dist = euclidean_distances(q, allx)
    assert_same(v2.knn(q, K), top_k(dist, K))
    alive = np.ones(750, dtype=bool)
    alive[gone] = False
    assert_same(v3.knn(q, K), top_k(dist, K, lambda i, c: alive[c]))
    assert_same(v1.knn(q, K), top_k(euclidean_distances(q, x), K))


def test_save_load_and_pickle_give_the_same_tree(tmp_path):
    x = data("grid", np.float32)
    tree = pcct.CoverTree(x, threads=2)
    path = tmp_path / "t.pcct"
    tree.save(path)
    for back in (pcct.CoverTree.load(path), pickle.loads(pickle.dumps(tree))):
        assert back.dtype == np.float32 and back._t.layout_digest() == tree._t.layout_digest()
        assert_same(back.self_knn(5), tree.self_knn(5))


def test_structureless_data_gets_a_flat_tree_exact_as_ever():
    x = np.random.default_rng(5).random((4500, 32))
    q = np.random.default_rng(6).random((20, 32))
    tree = pcct.CoverTree(x, threads=2)
    assert tree.flat and tree.validate() == []
    assert not pcct.CoverTree(x[:1000], threads=2).flat  # too few points to decide
    assert_same(tree.knn(q, K), top_k(euclidean_distances(q, x), K))
    back = pickle.loads(pickle.dumps(tree))
    assert back.flat
    assert_same(back.knn(q, K), tree.knn(q, K))
    grown = tree.insert(q)
    assert grown.flat and grown.validate() == [] and len(grown) == 4520


def test_the_same_tree_for_any_thread_count():
    x = data("clustered", np.float64, d=5, n=3000)
    digests = {pcct.CoverTree(x, threads=t, seed=3)._t.layout_digest() for t in (1, 2)}
    assert len(digests) == 1


def greedy(dist, first):
    """The greedy permutation by brute force: farthest from the taken rows, ties by row."""
    n = len(dist)
    near = dist[first].copy()
    taken = np.zeros(n, dtype=bool)
    taken[first] = True
    order, radius = [first], [np.inf]
    for _ in range(n - 1):
        cand = np.where(taken, -1.0, near)
        c = int(np.flatnonzero(cand == cand.max())[0])
        order.append(c)
        radius.append(near[c])
        taken[c] = True
        near = np.minimum(near, dist[c])
    return np.array(order), np.array(radius)


@pytest.mark.parametrize("gen", sorted(GENERATORS))
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_maximin_order_is_the_greedy_permutation(gen, dtype, threads):
    x = data(gen, dtype, n=400)
    wide = x.astype(np.float64)
    first = int(np.argmin(((wide - wide.mean(0)) ** 2).sum(1)))
    want = greedy(euclidean_distances(x, x), first)
    order, radius = pcct.maximin_order(x, threads=threads)
    np.testing.assert_array_equal(order, want[0])
    np.testing.assert_array_equal(radius, want[1])
    ids, _ = pcct.ordered_knn(x[order], K, threads=threads)
    reordered = euclidean_distances(x[order], x[order])
    np.testing.assert_array_equal(ids, top_k(reordered, K, lambda i, c: c < i)[0])
