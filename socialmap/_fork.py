"""Two pieces of work on two cores: one in a forked child process while the caller does the other.

:func:`beside` is how the command line writes the HTML map (folium and jinja2 hold the GIL, so a
thread would not help) while it writes the GeoPackage. The child is a copy of the caller made by
``os.fork`` (Linux only; where fork is missing or unsafe, on Windows and macOS, or while other Python
threads run, everything runs in the caller as before). Nothing goes back from the child but its exit
code: whatever it has to produce it writes to files itself, atomically. If the child fails in any way,
the caller does its piece again, so a failure is reported exactly as without the child.
"""

from __future__ import annotations

import gc
import logging
import os
import pickle
import signal
import sys
import threading
import time
import weakref
from collections.abc import Callable
from typing import Any, NoReturn, TypeVar

logger = logging.getLogger(__name__)

T = TypeVar("T")

#: Seconds a child stopped with SIGTERM gets to clean up (its scratch files) before SIGKILL.
_STOP_GRACE_S = 2.0


def can_fork() -> bool:
    """Whether :func:`beside` may fork here: Linux, ``os.fork`` present, no other Python thread running."""
    return sys.platform.startswith("linux") and hasattr(os, "fork") and threading.active_count() == 1


def beside(
    background: Callable[[], Any],
    foreground: Callable[[], T],
    *,
    fork: bool = True,
    worker: Worker | None = None,
) -> T:
    """
    Run ``background`` in a forked child while ``foreground`` runs here; return ``foreground()``.

    ``background`` must write its results to files itself (atomically: see
    :func:`socialmap.atomic.write_atomic`) and must be safe to run twice: when the child cannot be
    started or does not exit with 0, it is run again here after ``foreground``, so its errors are
    raised here as usual. ``foreground`` runs first in the caller in every case.

    When ``foreground`` fails or is interrupted (Ctrl-C), the child is stopped (SIGTERM, which lets it
    remove its scratch files; SIGKILL after 2 s) and reaped before the error goes on: no child is left
    behind. A child killed from outside is noticed and its work done here.

    Parameters
    ----------
    background
        The piece for the child, e.g. writing map.html.
    foreground
        The piece for the caller, e.g. writing the GeoPackage.
    fork
        ``False`` runs both here, one after the other (as also when :func:`can_fork` is false).
    worker
        A :class:`Worker` started earlier: ``background`` (then a module-level function, or a
        ``functools.partial`` of one, with arguments that pickle) is sent to it instead of forking
        now. If it cannot take the job, a child is forked now as without it.
    """
    pid = worker.submit(background) if worker is not None else None
    if pid is None and fork and can_fork():
        pid = _start(background)
    try:
        value = foreground()
        done = pid is not None and _finished_well(pid)
    except BaseException:
        if pid is not None:
            _stop(pid)
        raise
    if not done:
        background()
    return value


def _start(background: Callable[[], Any]) -> int | None:
    """Fork a child running ``background``; its process id (``None`` if the fork failed)."""
    _flush()
    try:
        pid = _fork()
    except OSError as exc:  # out of processes or memory: do it here
        logger.info("could not start a child process (%s): working in this one", exc)
        return None
    if pid:
        return pid
    _child(background)


def _fork() -> int:
    """
    ``os.fork()``, the caller's objects left out of the child's garbage collections.

    The child's collector would otherwise go through every object it inherits (the libraries, the
    analysis) and write to each one, so that the system copies their memory pages for it: measured,
    a third more CPU for the child's work. ``gc.freeze`` before the fork keeps them out of the child's
    collections; the caller's own are as before (``gc.unfreeze`` in the caller after the fork).
    """
    gc.freeze()
    try:
        pid = os.fork()
    except OSError:
        gc.unfreeze()
        raise
    if pid:
        gc.unfreeze()
    return pid


def _child(work: Callable[[], Any]) -> NoReturn:
    """Be the child: run ``work``, exit with 0 if it ran well (never returning into the caller's code)."""
    code = 1
    try:  # never runs the caller's exit handlers either
        signal.signal(signal.SIGTERM, _exit_on_term)
        work()
        code = 0
    except BaseException as exc:  # noqa: BLE001 - reported by the exit code; the caller does it again
        logger.info("the child process failed (%s): the parent does its work", type(exc).__name__)
    finally:
        os._exit(code)


def _exit_on_term(signum: int, frame: Any) -> None:
    """SIGTERM in the child: unwind (the ``finally`` blocks remove scratch files), then exit."""
    raise SystemExit(128 + signum)


def _finished_well(pid: int) -> bool:
    """Wait for the child; whether it exited with 0."""
    try:
        _, status = os.waitpid(pid, 0)
    except ChildProcessError:  # reaped elsewhere: its result is unknown
        return False
    if os.waitstatus_to_exitcode(status) != 0:
        logger.info("the child process ended with status %s: the parent does its work", status)
        return False
    return True


def _stop(pid: int) -> None:
    """Stop the child and reap it (SIGTERM, then SIGKILL after :data:`_STOP_GRACE_S`)."""
    try:
        os.kill(pid, signal.SIGTERM)
        deadline = time.monotonic() + _STOP_GRACE_S
        while time.monotonic() < deadline:
            if os.waitpid(pid, os.WNOHANG) != (0, 0):
                return
            time.sleep(0.01)
        os.kill(pid, signal.SIGKILL)
        os.waitpid(pid, 0)
    except (ChildProcessError, ProcessLookupError):
        pass


class Worker:
    """
    A child forked now that gets ready (``prepare``: an import, say) and then waits for one job.

    For a job whose set-up is long: folium's import (0.3 s) overlaps the analysis the caller runs
    before the map's data exist. :func:`beside` sends the job (pickled) with :meth:`submit`. The
    child reads it while it prepares (a thread of its own), so sending never waits for it. A worker
    that gets no job (the caller failed before) is stopped when it is dropped or at the caller's exit;
    a child whose caller has died reads the end of the pipe and exits.
    Where :func:`can_fork` is false, no child is started and :meth:`submit` returns ``None``.
    """

    def __init__(self, prepare: Callable[[], Any]) -> None:
        self.pid: int | None = None
        self._pipe: Any = None
        if not can_fork():
            return
        _flush()
        read, write = os.pipe()
        try:
            pid = _fork()
        except OSError as exc:
            os.close(read)
            os.close(write)
            logger.info("could not start a child process (%s): working in this one", exc)
            return
        if pid == 0:
            os.close(write)
            _serve(read, prepare)
        os.close(read)
        self.pid = pid
        self._pipe = os.fdopen(write, "wb")
        self._finalizer = weakref.finalize(self, _end_worker, pid, self._pipe)

    def submit(self, job: Callable[[], Any]) -> int | None:
        """Send ``job`` to the child; its process id (``None``, and the child stopped, if it cannot)."""
        pid, pipe = self.pid, self._pipe
        if pid is None or pipe is None:
            return None
        self._pipe = None
        self._finalizer.detach()  # from here :func:`beside` waits for the child or stops it
        try:
            data = pickle.dumps(job)
            pipe.write(data)
            pipe.close()
        except Exception as exc:  # noqa: BLE001 - anything that does not pickle or a child gone
            logger.info("the job could not be sent to the child process (%s)", type(exc).__name__)
            _end_worker(pid, pipe)
            return None
        return pid

    def stop(self) -> None:
        """Stop the child without a job (if it has none) and reap it."""
        if self._pipe is not None:
            self._pipe = None
            self._finalizer()


def _serve(read: int, prepare: Callable[[], Any]) -> NoReturn:
    """Be the worker child: read the job (in a thread) while preparing, then run it."""

    def work() -> None:
        received: list[bytes] = []
        reader = threading.Thread(target=lambda: received.append(_read_all(read)), daemon=True)
        reader.start()
        prepare()
        reader.join()
        if received and received[0]:  # nothing when stopped without a job
            pickle.loads(received[0])()  # noqa: S301 - from the parent process itself

    _child(work)


def _read_all(fd: int) -> bytes:
    with os.fdopen(fd, "rb") as pipe:
        return pipe.read()


def _end_worker(pid: int, pipe: Any) -> None:
    """Close the job pipe (a waiting child exits) and stop and reap the child."""
    try:
        pipe.close()
    except OSError:
        pass
    _stop(pid)


def _flush() -> None:
    for stream in (sys.stdout, sys.stderr):  # nothing buffered here is written twice
        try:
            stream.flush()
        except (OSError, ValueError, AttributeError):
            pass
