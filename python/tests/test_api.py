"""What a Python user meets around the answers: errors, the GIL, help, info."""

import subprocess
import sys
import threading
import time

import numpy as np
import pytest

import pcct


@pytest.fixture(scope="module")
def tree():
    return pcct.CoverTree(np.random.default_rng(0).random((300, 3)))


def test_bad_input_raises_one_line_errors(tree):
    x = np.random.default_rng(1).random((50, 3))
    nan = x.copy()
    nan[4, 1] = np.nan
    cases = [
        (lambda: pcct.CoverTree(nan), ValueError, "invalid data: row 4 column 1 is NaN"),
        (lambda: pcct.CoverTree(x[0]), ValueError, "expected a 2-D array"),
        (lambda: pcct.CoverTree(np.zeros((0, 3))), ValueError, "invalid data"),
        (lambda: pcct.CoverTree(x.astype(str)), TypeError, "expected numbers"),
        (lambda: pcct.CoverTree(x, threads=0), ValueError, "invalid threads"),
        (lambda: pcct.CoverTree(x, threads=1.5), TypeError, "invalid threads"),
        (lambda: tree.knn(x, 0), ValueError, "invalid k: k must be at least 1"),
        (lambda: tree.knn(x, -2), ValueError, "invalid k"),
        (lambda: tree.knn(x, 2.5), TypeError, "invalid k"),
        (lambda: tree.knn(x, 301), ValueError, "k = 301 exceeds the 300 points"),
        (lambda: tree.knn(x[:, :2], 3), ValueError, "2 coordinates, the tree has 3"),
        (lambda: tree.query_ball_point(x, -1.0), ValueError, "invalid r"),
        (lambda: tree.query_ball_point(x, 10.0, max_pairs=100), ValueError, "100"),
        (lambda: tree.delete([-1]), ValueError, "invalid ids"),
        (lambda: tree.delete([1.5]), TypeError, "invalid ids"),
        (lambda: pcct.CoverTree.load("/nonexistent/t.pcct"), OSError, "t.pcct"),
        (lambda: pcct.ordered_knn(nan, 3), ValueError, "is NaN"),
    ]
    for call, kind, message in cases:
        with pytest.raises(kind, match=message) as e:
            call()
        assert "\n" not in str(e.value)


def test_a_file_of_the_wrong_kind_is_refused(tmp_path):
    x = np.random.default_rng(1).random((50, 2))
    path = tmp_path / "e.pcct"
    pcct.CoverTree(x).save(path)
    with pytest.raises(ValueError, match="not a residual|Euclidean"):
        pcct.ResidualCoverTree.load(path)
    (tmp_path / "junk.pcct").write_bytes(b"not a tree file at all")
    with pytest.raises(ValueError):
        pcct.CoverTree.load(tmp_path / "junk.pcct")


def test_the_gil_is_released_while_pcct_works():
    x = np.random.default_rng(2).random((200_000, 3))
    ticks = [0]
    stop = threading.Event()

    def count():
        while not stop.is_set():
            ticks[0] += 1

    counter = threading.Thread(target=count)
    counter.start()
    try:
        time.sleep(0.05)
        before = ticks[0]
        started = time.perf_counter()
        pcct.CoverTree(x, threads=1)
        elapsed = time.perf_counter() - started
        during = ticks[0] - before
    finally:
        stop.set()
        counter.join()
    # Holding the GIL for the whole build would leave the counter where it was, give or
    # take one switch interval (5 ms); released, it counts all along.
    assert elapsed > 0.1
    assert during > 10_000, (during, elapsed)


def test_help_and_info_are_useful():
    doc = pcct.CoverTree.__doc__
    assert "threads" in doc and "float32" in doc
    for name in ("query", "knn", "self_knn", "predecessor_knn", "query_ball_point", "insert", "delete"):
        assert getattr(pcct.CoverTree, name).__doc__, name
    facts = pcct.info()
    assert facts["pcct version"] and facts["isa active"] and int(facts["logical cores"]) >= 1


def test_the_vecchia_example_runs():
    example = __file__.replace("tests/test_api.py", "examples/vecchia.py")
    out = subprocess.run([sys.executable, example, "20000"], capture_output=True, text=True, check=True)
    assert "conditioning sets" in out.stdout and "exact" in out.stdout
