"""pcct.dask on a LocalCluster of worker processes: every query kind equal (ids and
distances) to one pcct tree over all the points, Euclidean and residual, a killed
worker, and the errors."""

import os

import numpy as np
import pytest

import pcct
from conftest import GENERATORS

import dask.array as darr
from distributed import Client, LocalCluster

import pcct.dask as pdask


@pytest.fixture(scope="module")
def client():
    cluster = LocalCluster(n_workers=3, threads_per_worker=1, processes=True, dashboard_address=None)
    with Client(cluster) as c:
        yield c
    cluster.close()


def same(got, want):
    np.testing.assert_array_equal(got[0], want[0])
    np.testing.assert_array_equal(got[1], want[1])


@pytest.mark.parametrize("gen", ["uniform", "duplicates", "grid"])
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_every_query_kind_equals_one_tree(client, gen, dtype):
    x = GENERATORS[gen](1500, 3, 5).astype(dtype)
    q = GENERATORS[gen](40, 3, 6).astype(dtype)
    one = pcct.CoverTree(x)
    chunks = darr.from_array(x, chunks=(400, 3))  # shards of 400, 400, 400, 300
    index = pdask.ShardedIndex(chunks, client=client)
    assert index.shards == 4 and len(index) == 1500 and index.validate() == []
    same(index.knn(q, 9), one.knn(q, 9))
    same(index.self_knn(7), one.self_knn(7))
    same(index.predecessor_knn(7), one.predecessor_knn(7))
    r = 0.15 if gen != "grid" else 1.0
    for (gi, gd), (wi, wd) in zip(index.query_ball_point(q, r), one.query_ball_point(q, r, return_distances=True)):
        np.testing.assert_array_equal(gi, wi)
        np.testing.assert_array_equal(gd, wd)
    rows = list(index.iter_knn(q, 5, block=16))
    assert [lo for lo, _, _ in rows] == [0, 16, 32]
    same((np.vstack([i for _, i, _ in rows]), np.vstack([d for _, _, d in rows])), one.knn(q, 5))


def test_residual_shards_equal_one_tree(client):
    rng = np.random.default_rng(3)
    x, z = rng.random((900, 2)), rng.random((30, 2))
    model = dict(inducing=z, kernel="matern32", lengthscale=0.2, variance=1.0)
    one = pcct.ResidualCoverTree(x, **model)
    index = pdask.ShardedIndex(x, client=client, shards=3, **model)
    assert index.validate() == []
    same(index.predecessor_knn(6), one.predecessor_knn(6))
    same(index.self_knn(6), one.self_knn(6))
    q = rng.random((25, 2))
    same(index.knn(q, 6), one.knn(q, 6))


def test_a_killed_worker_changes_nothing(client):
    x = GENERATORS["clustered"](2000, 4, 9)
    one = pcct.CoverTree(x)
    index = pdask.ShardedIndex(x, client=client, shards=4)
    want = one.predecessor_knn(5)
    # The worker holding the first shard's tree (and maybe more): its futures are lost.
    victim = client.who_has(index.trees[:1])[index.trees[0].key][0]
    client.run(os._exit, 1, workers=[victim], on_error="ignore")  # the process dies at once
    same(index.predecessor_knn(5), want)
    same(index.knn(x[:50], 5), one.knn(x[:50], 5))
    assert index.validate() == []  # the lost shard, rebuilt


def test_bad_input_is_refused(client):
    x = GENERATORS["uniform"](100, 3, 1)
    index = pdask.ShardedIndex(x, client=client, shards=2)
    with pytest.raises(ValueError, match="3 coordinates|2 coordinates"):
        index.knn(x[:, :2], 3)
    with pytest.raises(ValueError, match="exceeds the 100 points"):
        index.knn(x, 101)
    with pytest.raises(ValueError, match="at least 1"):
        index.self_knn(0)
    with pytest.raises(ValueError, match="2-D"):
        pdask.ShardedIndex(x[0], client=client)
    with pytest.raises(ValueError, match="no points"):
        pdask.ShardedIndex(darr.from_array(x, chunks=((50, 0, 50), (3,))), client=client)


def test_a_small_index_answers_sharded_queries(client):
    x = GENERATORS["uniform"](500, 2, 2)
    q = GENERATORS["uniform"](300, 2, 3)
    tree = pcct.CoverTree(x)
    ids, dists = pdask.knn_map(tree, darr.from_array(q, chunks=(100, 2)), 4, client=client)
    same((ids.compute(), dists.compute()), tree.knn(q, 4))
