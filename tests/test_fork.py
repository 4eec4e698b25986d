"""socialmap._fork.beside: the child does its piece, a failed one is done again here, none is left behind.

The forking cases run in a fresh interpreter (one for the whole file): :func:`beside` forks only while
no other Python thread runs, which a test session (servers, browsers) does not promise.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap

import pytest

from socialmap import _fork

SCENARIOS = textwrap.dedent(
    r"""
    import hashlib, json, os, signal, sys, threading, time
    from pathlib import Path

    import functools, gc

    from socialmap._fork import Worker, beside, can_fork
    from socialmap.atomic import write_atomic

    root = Path(sys.argv[1])
    parent = os.getpid()
    report = {"can_fork": can_fork()}

    def pid_file(name):
        path = root / name
        return lambda: path.write_text(str(os.getpid()))

    def pid_of(name):
        path = root / name
        return int(path.read_text()) if path.exists() else None

    def children_left():
        try:
            os.waitpid(-1, os.WNOHANG)
        except ChildProcessError:
            return False
        return True

    def wait_for(path, seconds=30):
        deadline = time.monotonic() + seconds
        while not path.exists() and time.monotonic() < deadline:
            time.sleep(0.01)
        return path.exists()

    # the background piece in a child, the foreground here, its value returned
    value = beside(pid_file("a_bg"), lambda: (pid_file("a_fg")(), 42)[1])
    report["a"] = [value, pid_of("a_fg") == parent, pid_of("a_bg") not in (None, parent), children_left()]

    # a child that raises: its piece done again here
    def fails_in_child():
        if os.getpid() != parent:
            raise RuntimeError("no")
        pid_file("b_bg")()
    beside(fails_in_child, lambda: None)
    report["b"] = [pid_of("b_bg") == parent, children_left()]

    # a child killed from outside (SIGKILL): its piece done again here
    def killed_in_child():
        if os.getpid() != parent:
            os.kill(os.getpid(), signal.SIGKILL)
        pid_file("c_bg")()
    beside(killed_in_child, lambda: None)
    report["c"] = [pid_of("c_bg") == parent, children_left()]

    # the foreground fails: the child (still working) is stopped and reaped, the error goes on
    def slow_in_child():
        (root / "d_started").write_text("")
        time.sleep(60)
        pid_file("d_bg")()
    def fails_here():
        wait_for(root / "d_started")
        raise ValueError("foreground failed")
    start = time.monotonic()
    try:
        beside(slow_in_child, fails_here)
        report["d"] = "no error"
    except ValueError as exc:
        report["d"] = [str(exc), time.monotonic() - start < 10, pid_of("d_bg"), children_left()]

    # Ctrl-C here while the child writes a file atomically: the child is stopped, removes its
    # scratch folder, and neither the file nor a scratch folder is left
    def half_written(p):
        p.write_text("half")
        (root / "e_started").write_text("")
        time.sleep(60)
    def interrupted():
        wait_for(root / "e_started")
        raise KeyboardInterrupt
    (root / "e").mkdir()
    try:
        beside(lambda: write_atomic(root / "e" / "out.txt", half_written), interrupted)
        report["e"] = "no interrupt"
    except KeyboardInterrupt:
        report["e"] = [sorted(p.name for p in (root / "e").iterdir()), children_left()]

    # another Python thread running: no fork, both pieces here, the foreground first
    stop = threading.Event()
    thread = threading.Thread(target=stop.wait)
    thread.start()
    order = []
    forks = can_fork()
    beside(lambda: order.append(("bg", os.getpid())), lambda: order.append(("fg", os.getpid())))
    stop.set()
    thread.join()
    report["f"] = [order == [("fg", parent), ("bg", parent)], forks]

    def write_pid(name):  # a job that pickles
        (root / name).write_text(str(os.getpid()))

    # a worker started early: it prepares in its child, then does the job sent to it
    worker = Worker(pid_file("h_prepared"))
    beside(functools.partial(write_pid, "h_bg"), lambda: wait_for(root / "h_prepared"), worker=worker)
    report["h"] = [pid_of("h_bg") == pid_of("h_prepared") == worker.pid != parent, children_left()]

    # a worker dropped without a job is stopped and reaped
    worker = Worker(lambda: None)
    started = worker.pid is not None
    del worker
    gc.collect()
    report["i"] = [started, children_left()]

    # a job that does not pickle: the worker is stopped, a child forked for the job as without it
    worker = Worker(lambda: None)
    beside(lambda: pid_file("j_bg")(), lambda: None, worker=worker)
    report["j"] = [pid_of("j_bg") not in (None, parent, worker.pid), children_left()]

    # a worker whose preparation fails: its job done here
    def broken():
        raise ImportError("no folium")
    beside(functools.partial(write_pid, "k_bg"), lambda: None, worker=Worker(broken))
    report["k"] = [pid_of("k_bg") == parent, children_left()]

    # the analysis result written with and without the child, and with the map worker: the same
    # bytes in every file
    from socialmap.export import map_worker, write_result
    from socialmap.pipeline import analyze

    result = analyze(demo="kosovo")
    digests = []
    for parallel in (True, False, "worker"):
        how = map_worker() if parallel == "worker" else parallel
        paths = write_result(result, root / f"out_{parallel}", parallel=how)
        digests.append({k: hashlib.md5(p.read_bytes()).hexdigest() for k, p in paths.items()})
    report["g"] = [digests[0] == digests[1] == digests[2], sorted(digests[0]), children_left()]
    print(json.dumps(report))
    """
)


@pytest.fixture(scope="module")
def report(tmp_path_factory):
    root = tmp_path_factory.mktemp("fork")
    done = subprocess.run(
        [sys.executable, "-c", SCENARIOS, str(root)], capture_output=True, text=True, timeout=300
    )
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout.strip().splitlines()[-1])


linux_only = pytest.mark.skipif(not sys.platform.startswith("linux"), reason="beside forks on Linux only")


@linux_only
def test_a_fresh_single_threaded_interpreter_may_fork(report):
    assert report["can_fork"] is True


@linux_only
def test_the_background_piece_runs_in_a_child_and_the_foreground_value_comes_back(report):
    value, foreground_here, background_in_child, children_left = report["a"]
    assert value == 42 and foreground_here and background_in_child
    assert not children_left


@linux_only
def test_a_failing_foreground_stops_and_reaps_the_child_and_raises(report):
    message, quick, background_pid, children_left = report["d"]
    assert message == "foreground failed"
    assert quick  # the child sleeping 60 s was stopped, not waited for
    assert background_pid is None  # nor was its piece done here
    assert not children_left


@linux_only
def test_ctrl_c_leaves_neither_a_half_written_file_nor_a_scratch_folder(report):
    assert report["e"] == [[], False]


@linux_only
def test_no_fork_while_another_thread_runs(report):
    assert report["f"] == [True, False]


@linux_only
@pytest.mark.parametrize(
    "case",
    [
        pytest.param("b", id="a child that raises: its piece done again here"),
        pytest.param("c", id="a child killed from outside: its piece done again here"),
        pytest.param("h", id="a worker prepares in its child, then does the job sent to it"),
        pytest.param("i", id="a worker dropped without a job is stopped and reaped"),
        pytest.param("j", id="a job that does not pickle goes to a child forked then"),
        pytest.param("k", id="a worker whose preparation fails has its job done here"),
    ],
)
def test_the_piece_is_done_once_where_it_should_and_no_child_is_left(report, case):
    done_where_it_should, children_left = report[case]
    assert done_where_it_should
    assert not children_left


def test_write_result_writes_the_same_bytes_with_and_without_the_child(report):
    same, kinds, children_left = report["g"]
    assert same
    assert kinds == ["csv", "equity", "gpkg", "map", "provenance"]
    assert not children_left


def test_without_fork_the_foreground_runs_first_then_the_background():
    order: list[tuple[str, int]] = []
    value = _fork.beside(
        lambda: order.append(("bg", os.getpid())), lambda: order.append(("fg", os.getpid())) or 7, fork=False
    )
    assert value == 7
    assert order == [("fg", os.getpid()), ("bg", os.getpid())]


def test_without_fork_a_background_error_is_raised_here():
    def fails() -> None:
        raise RuntimeError("background failed")

    with pytest.raises(RuntimeError, match="background failed"):
        _fork.beside(fails, lambda: None, fork=False)


def test_a_failed_fork_does_the_work_here(monkeypatch):
    def no_fork() -> int:
        raise OSError("Resource temporarily unavailable")

    monkeypatch.setattr(_fork, "can_fork", lambda: True)
    monkeypatch.setattr(os, "fork", no_fork)
    order: list[str] = []
    _fork.beside(lambda: order.append("bg"), lambda: order.append("fg"))
    assert order == ["fg", "bg"]
