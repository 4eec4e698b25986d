"""The 2SFCA family on forked processes (socialmap.access.forked): the same answer, errors, no orphans."""

from __future__ import annotations

import multiprocessing
import os
import threading
import time

import numpy as np
import pytest

from socialmap import access as sa
from socialmap.access import blocks, forked
from socialmap.errors import SocialMapError

pytestmark = pytest.mark.skipif(not forked.fork_available(), reason="processes need fork (Linux)")

D0 = 5000.0
WEIGHTS = {
    "2sfca": None,
    "step": sa.step_weights({3000: 1, 4000: 0.6, 5000: 0.25}),  # a sum of masks (kept as bits)
    "step_rising": sa.step_weights({3000: 0.3, 4000: 1, 5000: 0.5}),  # weights built block by block
    "gaussian": sa.gaussian_weights(2500),
    "callable": lambda d: np.exp(-d / 3000.0),  # a user's own function, checked in the children
}
FIELDS = ("access", "weighted_need", "ratio", "n_services", "covered", "nearest")


def instance(seed: int, n: int = 3000, m: int = 120):
    rng = np.random.default_rng(seed)
    dxy = np.round(rng.uniform(0, 40_000, (n, 2)))
    sxy = np.round(rng.uniform(0, 40_000, (m, 2)))
    dxy[:4] = sxy[:4] + [[3000, 4000], [5000, 0], [0, -5000], [5001, 0]]  # exactly at / beyond the bounds
    dxy[-50:] += 200_000  # far away: no service in reach (nearest looked up after step 1)
    need = rng.uniform(0, 100, n)
    need[rng.random(n) < 0.05] = 0.0
    return dxy, need, sxy, rng.uniform(1, 50, m)


@pytest.fixture
def small_blocks(monkeypatch):
    """Processes even for small instances, and many strips of small blocks to share out."""
    monkeypatch.setattr(blocks, "_PROCESSES_MIN_ENTRIES", 0)
    monkeypatch.setattr(blocks, "_MAX_BLOCK", 2000)
    monkeypatch.setattr(blocks, "_COST_PER_CHUNK", 1e-8)  # thinner strips: 6 here
    runs: list[int] = []
    real = forked.run_two_passes

    def spy(order, processes, *args):
        runs.append(processes)
        return real(order, processes, *args)

    monkeypatch.setattr(forked, "run_two_passes", spy)
    return runs


def assert_no_children() -> None:
    assert multiprocessing.active_children() == []  # (also reaps the ended ones)


@pytest.mark.parametrize("kind", list(WEIGHTS))
@pytest.mark.parametrize("cache", [True, False])
def test_processes_give_the_answer_of_one_to_the_bit(kind, cache, small_blocks, monkeypatch):
    if not cache:  # every block recomputed in step 2
        monkeypatch.setattr(blocks, "_CACHE_BYTES", 0)
    dxy, need, sxy, capacity = instance(1)
    one = sa.fca_arrays(dxy, need, sxy, capacity, catchment_m=D0, weight=WEIGHTS[kind], workers=1)
    assert small_blocks == []
    two = sa.fca_arrays(dxy, need, sxy, capacity, catchment_m=D0, weight=WEIGHTS[kind], workers=2)
    assert small_blocks == [2]  # forked
    assert one.covered.any() and not one.covered.all()
    for field in FIELDS:
        np.testing.assert_array_equal(getattr(two, field), getattr(one, field))  # exactly
    assert_no_children()


def test_distance_coverage_on_processes_by_default(small_blocks, monkeypatch):
    import geopandas as gpd

    monkeypatch.setattr(blocks, "_cores", lambda: 2)
    monkeypatch.setattr(blocks.settings, "workers", None)
    dxy, _, sxy, _ = instance(2)
    dem = gpd.GeoDataFrame(geometry=gpd.points_from_xy(dxy[:, 0], dxy[:, 1]), crs="EPSG:32634")
    sup = gpd.GeoDataFrame(geometry=gpd.points_from_xy(sxy[:, 0], sxy[:, 1]), crs="EPSG:32634")
    two = sa.distance_coverage(dem, sup, catchment_m=D0)  # the default: every core, if no other thread runs
    forked_runs = list(small_blocks)
    assert forked_runs == ([2] if forked.only_thread() else [])
    one = sa.fca_arrays(dxy, np.zeros(len(dxy)), sxy, np.zeros(len(sxy)), catchment_m=D0, workers=1)
    np.testing.assert_array_equal(two["n_services"].to_numpy(), one.n_services)
    np.testing.assert_array_equal(two["nearest_m"].to_numpy(), one.nearest)
    assert_no_children()


def test_an_error_in_a_child_is_raised_in_the_caller_and_no_child_is_left(small_blocks):
    parent = os.getpid()

    def weight(d):  # fails in the children only (the parent slow, so that a child takes strips)
        if os.getpid() == parent:
            time.sleep(0.02)
        return np.full_like(d, -1.0 if os.getpid() != parent else 1.0)

    dxy, need, sxy, capacity = instance(3)
    with pytest.raises(SocialMapError, match="weights must be finite and >= 0"):
        sa.fca_arrays(dxy, need, sxy, capacity, catchment_m=D0, weight=weight, workers=2)
    assert small_blocks == [2]
    assert_no_children()


def test_a_child_that_dies_gives_a_clear_error(small_blocks):
    parent = os.getpid()

    def weight(d):
        if os.getpid() != parent:
            os._exit(3)  # as if killed (out of memory)
        time.sleep(0.02)
        return np.ones_like(d)

    dxy, need, sxy, capacity = instance(4)
    with pytest.raises(SocialMapError, match="worker process .* ended unexpectedly"):
        sa.fca_arrays(dxy, need, sxy, capacity, catchment_m=D0, weight=weight, workers=2)
    assert_no_children()


def test_an_interrupt_in_the_caller_ends_the_children(small_blocks, monkeypatch):
    def interrupted(*args, **kwargs):  # Ctrl-C between the two steps (the far points' nearest service)
        raise KeyboardInterrupt

    monkeypatch.setattr(blocks, "_nearest", interrupted)
    dxy, need, sxy, capacity = instance(5)
    with pytest.raises(KeyboardInterrupt):
        sa.fca_arrays(dxy, need, sxy, capacity, catchment_m=D0, workers=2)
    assert small_blocks == [2]
    assert_no_children()


def test_small_problems_and_busy_processes_run_in_one(monkeypatch):
    monkeypatch.setattr(blocks, "_COST_PER_CHUNK", 1e-8)  # several strips
    dxy, need, sxy, capacity = instance(6)
    plan = blocks._plan(dxy, sxy, D0)
    assert blocks._entries(plan) < blocks._PROCESSES_MIN_ENTRIES
    assert blocks._processes_for(plan, 2, asked=True) == 1  # below the size threshold
    monkeypatch.setattr(blocks, "_PROCESSES_MIN_ENTRIES", 0)
    assert blocks._processes_for(plan, 2, asked=True) == 2
    assert blocks._processes_for(plan, 1, asked=True) == 1  # workers=1 forces one
    stop = threading.Event()
    other = threading.Thread(target=stop.wait)
    other.start()
    try:  # another thread runs (a server, a notebook kernel): the default does not fork, a request does
        assert blocks._processes_for(plan, 2, asked=False) == 1
        assert blocks._processes_for(plan, 2, asked=True) == 2
    finally:
        stop.set()
        other.join()
    monkeypatch.setattr(forked, "fork_available", lambda: False)
    assert blocks._processes_for(plan, 2, asked=True) == 1


def _in_a_pool_worker(args):
    dxy, need, sxy, capacity = args
    return sa.fca_arrays(dxy, need, sxy, capacity, catchment_m=D0, workers=2).access


def test_a_pool_worker_runs_in_one_process(small_blocks):
    # a daemonic process may not fork children of its own (it would for these 6 strips): it computes in one
    dxy, need, sxy, capacity = instance(7)
    with multiprocessing.get_context("fork").Pool(1) as pool:  # (inherits the small blocks)
        access = pool.map(_in_a_pool_worker, [(dxy, need, sxy, capacity)])[0]
    one = sa.fca_arrays(dxy, need, sxy, capacity, catchment_m=D0, workers=1)
    np.testing.assert_array_equal(access, one.access)


def test_openblas_runs_on_one_thread_in_each_process_and_is_restored():
    blas = forked._openblas()
    if not blas:
        pytest.skip("no OpenBLAS loaded (numpy built with another BLAS)")
    before = [get() for get, _ in blas]

    def first(si, bufs):
        return [get() for get, _ in blas]

    parts: dict[int, list[int]] = {}
    forked.run_two_passes(
        list(range(8)), 2, first, lambda arg: None, lambda got: parts.update(got), lambda: None
    )
    assert sorted(parts) == list(range(8)) and all(threads == [1] * len(blas) for threads in parts.values())
    assert [get() for get, _ in blas] == before
    assert_no_children()


KILLED_PARENT = """
import os, sys, time
import numpy as np
from socialmap import access as sa
from socialmap.access import blocks
blocks._PROCESSES_MIN_ENTRIES = 0
blocks._MAX_BLOCK = 2000
blocks._COST_PER_CHUNK = 1e-8
rng = np.random.default_rng(0)
dxy, sxy = rng.uniform(0, 40_000, (3000, 2)), rng.uniform(0, 40_000, (120, 2))

def weight(d):
    time.sleep(0.5)  # slow: the children are still at work when this process is killed
    return np.ones_like(d)

print(os.getpid(), flush=True)
sa.fca_arrays(dxy, np.ones(3000), sxy, np.ones(120), catchment_m=5000.0, weight=weight, workers=2)
"""


def _running(pid: int) -> bool:
    """Whether process ``pid`` exists and is not a zombie (ended, not yet reaped by whoever adopted it)."""
    try:
        with open(f"/proc/{pid}/stat") as fh:
            return fh.read().rsplit(")", 1)[1].split()[0] != "Z"
    except FileNotFoundError:
        return False


def test_children_end_when_their_parent_is_killed(tmp_path):
    import signal
    import subprocess
    import sys

    script = tmp_path / "killed.py"
    script.write_text(KILLED_PARENT)
    proc = subprocess.Popen([sys.executable, str(script)], stdout=subprocess.PIPE, text=True)
    try:
        pid = int(proc.stdout.readline())
        children: list[int] = []
        deadline = time.monotonic() + 30
        while not children and time.monotonic() < deadline:
            time.sleep(0.1)
            with open(f"/proc/{pid}/task/{pid}/children") as fh:
                children = [int(c) for c in fh.read().split()]
        assert children, "the script never forked"
        os.kill(pid, signal.SIGKILL)
        proc.wait(timeout=10)
        deadline = time.monotonic() + 10
        while any(_running(c) for c in children) and time.monotonic() < deadline:
            time.sleep(0.05)
        alive = [c for c in children if _running(c)]
        assert alive == [], f"children {alive} outlived their parent"
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
        proc.stdout.close()


def test_a_call_from_another_thread_that_asks_for_workers_forks(small_blocks):
    # (a notebook's or a server's worker thread: the forking thread is the child's only one)
    dxy, need, sxy, capacity = instance(8)
    one = sa.fca_arrays(dxy, need, sxy, capacity, catchment_m=D0, workers=1)
    out = {}
    thread = threading.Thread(
        target=lambda: out.update(r=sa.fca_arrays(dxy, need, sxy, capacity, catchment_m=D0, workers=2))
    )
    thread.start()
    thread.join()
    assert small_blocks == [2]
    np.testing.assert_array_equal(out["r"].access, one.access)
    assert_no_children()
