"""
The two passes of the 2SFCA family on forked processes: strips shared out, partial results summed in order.

Threads did not scale on two cores (a block is about fifteen numpy calls, and between them the Python that
holds the GIL: measured with the threads' scheduler statistics, each of two threads slept a third of its
time waiting for the GIL, and on a busy machine the holder is often descheduled while it holds it). Forked
children share nothing that needs a lock: they inherit the plan and the inputs at the fork (copy on write,
nothing is copied or pickled), write the per-point outputs into shared anonymous memory, each demand point
from one block only, and send their strips' small per-service parts through a pipe; the parent (a worker
itself) adds those up in strip order. Every strip is computed the same way whoever computes it, so the
answer is the single process's to the bit.

A child keeps what step 1 kept of its own strips for step 2, so it runs step 2 on the strips it did in
step 1 (taken from a shared counter, largest first, so that a worker slowed by other programs takes
fewer). Children ignore Ctrl-C; the parent ends them (SIGTERM) and waits for them on any error or
interrupt; they are daemonic (ended if the parent exits) and the kernel ends them if the parent is killed
(``PR_SET_PDEATHSIG``). Only on Linux (``fork``; macOS's system libraries are not safe to use after a fork).

While the processes run, OpenBLAS (numpy's matrix products) runs on one thread in each: its own threads
would be more threads than cores, and a block's matrix-vector products were 2-8 times slower with them on
the busy two-core development machine (700 x 750 block: 2.7 ms against 0.34 ms on one thread).
"""

from __future__ import annotations

import contextlib
import ctypes
import mmap
import multiprocessing
import os
import signal
import sys
import threading
import warnings
from collections.abc import Callable, Iterator, Sequence
from typing import Any

import numpy as np
from numpy.typing import NDArray

from socialmap.errors import SocialMapError

First = Callable[[int, Any], Any]  # (strip, buffers) -> the strip's part of step 1
Second = Callable[[int, Any], None]  # (strip, buffers) -> None (writes into shared arrays)


def fork_available() -> bool:
    """Whether strips can run on forked processes here (Linux, ``fork``, not in a daemonic process)."""
    return (
        sys.platform.startswith("linux")
        and "fork" in multiprocessing.get_all_start_methods()
        # a daemonic process (a multiprocessing pool's worker) may not have children
        and not multiprocessing.current_process().daemon
    )


def only_thread() -> bool:
    """Whether the caller's thread is this process' only Python thread (a fork then copies no held lock)."""
    return threading.active_count() == 1


def _openblas() -> list[tuple[Any, Any]]:
    """Find the ``(get_num_threads, set_num_threads)`` of every OpenBLAS loaded in this process (Linux)."""
    try:
        with open("/proc/self/maps") as fh:
            paths = {line.split()[-1] for line in fh if "openblas" in line.rsplit("/", 1)[-1]}
    except OSError:
        return []
    found = []
    for path in sorted(paths):
        try:
            lib = ctypes.CDLL(path, mode=os.RTLD_NOLOAD)  # already loaded: never loads anything
        except OSError:
            continue
        for prefix, suffix in (
            ("scipy_openblas", "64_"),
            ("scipy_openblas", ""),
            ("openblas", "64_"),
            ("openblas", ""),
        ):
            get = getattr(lib, f"{prefix}_get_num_threads{suffix}", None)
            put = getattr(lib, f"{prefix}_set_num_threads{suffix}", None)
            if get is not None and put is not None:
                get.restype, put.argtypes = ctypes.c_int, [ctypes.c_int]
                found.append((get, put))
                break
    return found


@contextlib.contextmanager
def one_blas_thread() -> Iterator[None]:
    """Run OpenBLAS (numpy's matrix products) on one thread inside the block, as it was before after it."""
    blas = [(get, put, int(get())) for get, put in _openblas()]
    try:
        for _, put, _ in blas:
            put(1)
        yield
    finally:
        for _, put, threads in blas:
            put(threads)


def shared_array(n: int, dtype: Any = np.float64, fill: float = 0.0) -> NDArray[Any]:
    """Return an array of ``n`` in anonymous shared memory: what forked children write, the parent sees."""
    dt = np.dtype(dtype)
    buf = mmap.mmap(-1, max(1, n * dt.itemsize))
    arr = np.frombuffer(buf, dtype=dt, count=n)
    if fill != 0.0:
        arr.fill(fill)  # (fresh anonymous memory is zero)
    return arr


def _end_with_parent(parent: int) -> None:
    """Have the kernel end this child if its parent dies (killed, even with SIGKILL), on Linux."""
    try:
        ctypes.CDLL(None, use_errno=True).prctl(1, signal.SIGKILL)  # PR_SET_PDEATHSIG
    except (AttributeError, OSError):  # no prctl: the child leaves when it next talks to the parent
        return
    if os.getppid() != parent:  # the parent died before prctl
        os._exit(1)


def _child(
    parent: int,
    conn: Any,
    other: Any,
    take: Callable[[], Iterator[int]],
    first: First,
    make_second: Callable[[Any], Second],
    new_buffers: Callable[[], Any],
) -> None:
    """Run a child: step 1 on strips from the counter, send their parts, step 2 on the same strips."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # the parent handles Ctrl-C and ends its children
    other.close()  # the parent's end: when the parent goes, recv() below sees the end of the pipe
    _end_with_parent(parent)
    try:
        bufs = new_buffers()
        mine, parts = [], {}
        for si in take():
            parts[si] = first(si, bufs)
            mine.append(si)
        conn.send(("ok", parts))
        arg = conn.recv()
        if arg is not None:
            second = make_second(arg)
            for si in mine:
                second(si, bufs)
        conn.send(("ok", None))
    except (EOFError, BrokenPipeError):  # the parent has gone: nothing to report to
        return
    except BaseException as exc:  # noqa: BLE001 (everything goes back to the parent, which raises it)
        try:
            conn.send(("error", exc))
        except (EOFError, BrokenPipeError):
            return
        except Exception:  # an exception that does not pickle
            conn.send(("error", SocialMapError(f"{type(exc).__name__}: {exc}")))
    finally:
        conn.close()


def _receive(conn: Any) -> Any:
    try:
        status, value = conn.recv()
    except EOFError:
        raise SocialMapError(
            "A worker process of the 2SFCA ended unexpectedly (out of memory?). Run with workers=1."
        ) from None
    if status == "error":
        raise value
    return value


def run_two_passes(
    order: Sequence[int],
    processes: int,
    first: First,
    make_second: Callable[[Any], Second],
    between: Callable[[dict[int, Any]], Any],
    new_buffers: Callable[[], Any],
) -> None:
    """
    Run step 1 (``first``) on every strip of ``order``, then ``between``, then step 2, on ``processes``.

    ``between`` gets every strip's part of step 1 (strip -> part) and returns what ``make_second`` needs
    to build step 2 (sent to the children; ``None``: no step 2). ``first`` and step 2 write their
    per-point outputs into :func:`shared_array` arrays made before this call.
    """
    ctx = multiprocessing.get_context("fork")
    lock = ctx.Lock()
    counter = shared_array(1, np.int64)
    strips = list(order)

    def take() -> Iterator[int]:
        while True:
            with lock:
                k = int(counter[0])
                counter[0] = k + 1
            if k >= len(strips):
                return
            yield strips[k]

    children: list[Any] = []
    conns: list[Any] = []
    with contextlib.ExitStack() as stack:
        stack.enter_context(one_blas_thread())  # (the children inherit it)
        stack.callback(_end, children, conns)
        _run(take, processes, first, make_second, between, new_buffers, ctx, children, conns)


def _end(children: list[Any], conns: list[Any]) -> None:
    """Close the pipes, end the children still running and wait for every child."""
    for conn in conns:
        conn.close()
    for proc in children:
        if proc.is_alive():
            proc.terminate()
        proc.join()


def _run(
    take: Callable[[], Iterator[int]],
    processes: int,
    first: First,
    make_second: Callable[[Any], Second],
    between: Callable[[dict[int, Any]], Any],
    new_buffers: Callable[[], Any],
    ctx: Any,
    children: list[Any],
    conns: list[Any],
) -> None:
    """Fork the children, run the parent's share of both steps, gather and hand out between them."""
    for _ in range(processes - 1):
        mine, theirs = ctx.Pipe()
        proc = ctx.Process(
            target=_child,
            args=(os.getpid(), theirs, mine, take, first, make_second, new_buffers),
            daemon=True,
            name="socialmap-fca",
        )
        with warnings.catch_warnings():
            # Python >= 3.12 warns on fork() when other threads run: only the caller is checked by
            # only_thread() for the default; a caller asking for workers accepts it.
            warnings.simplefilter("ignore", DeprecationWarning)
            proc.start()
        theirs.close()
        children.append(proc)
        conns.append(mine)
    bufs = new_buffers()
    mine_strips, parts = [], {}
    for si in take():
        parts[si] = first(si, bufs)
        mine_strips.append(si)
    for conn in conns:
        parts.update(_receive(conn))
    arg = between(parts)
    for conn in conns:
        conn.send(arg)
    if arg is not None:
        second = make_second(arg)
        for si in mine_strips:
            second(si, bufs)
    for conn in conns:
        _receive(conn)
    for proc in children:
        proc.join()
