"""Writing files atomically: an interrupted write never leaves a half-written file over a good one.

:func:`write_atomic` writes into a scratch file beside the target, syncs it and moves it in place;
the dates a writer stamps into an XLSX, DOCX or GeoPackage are set to the outputs' timestamp
(:func:`socialmap.i18n.output_datetime`), so the same inputs give the same bytes. Every writer
of the project goes through it (:mod:`socialmap.writers`, the maps, briefs and workspaces);
:mod:`socialmap.io` re-exports it.
"""

from __future__ import annotations

import contextlib
import errno
import io as _stdio
import logging
import os
import re
import shutil
import sys
import tempfile
import time
import zipfile
from collections.abc import Callable
from os import PathLike
from pathlib import Path
from typing import Any

from socialmap.errors import OutputError
from socialmap.i18n import N_, output_datetime
from socialmap.sources.base import (
    _EXCEL,
    _plain,
)

logger = logging.getLogger("socialmap.io")


#: Characters of a target's name used in the name of its scratch folder.
_SCRATCH_NAME = 100


def write_atomic(path: str | PathLike[str], writer: Callable[[Path], object]) -> Path:
    """
    Write a file so that readers see either the old file or the complete new one, never a part.

    ``writer`` writes to a temporary path in the same folder (inside a hidden scratch folder
    ``.<name>.<process id>.<random>.tmp``, with the target's own file name, so writers that choose the
    format from the name work); the result is then moved over ``path`` with ``os.replace``. If ``writer``
    fails, ``path`` is left as it was and the scratch folder is removed. A scratch folder left by a writer
    that was killed (``kill -9``, a power cut) is removed by the next write of the same file once its
    process is gone (or after a day). Missing parent folders are created. A replaced file's permission
    bits are kept, except setuid, setgid and sticky, which are never copied.

    The dates a writer stamps into an XLSX workbook (its ZIP members' times, ``docProps/core.xml``) or a
    GeoPackage (``gpkg_contents.last_change``) are set to :func:`socialmap.i18n.output_datetime`, so
    that the same content gives the same bytes.

    Parameters
    ----------
    path
        The file to write. One file only: formats that write side files (Shapefile) are not supported.
    writer
        Called with the temporary path; must create that file, e.g.
        ``lambda p: gdf.to_file(p, driver="GPKG")`` or ``lambda p: df.to_csv(p, index=False)``.

    Returns
    -------
    path
        The written file.

    Raises
    ------
    OutputError
        When the file cannot be written (the disk is full, the folder is read-only, ``path`` is a folder):
        a message naming the file and how to fix it; also an ``OSError``.

    Examples
    --------
    >>> import tempfile, pathlib
    >>> folder = pathlib.Path(tempfile.mkdtemp())
    >>> write_atomic(folder / "note.txt", lambda p: p.write_text("hello")).read_text()
    'hello'
    """
    target = Path(path)
    label = str(target)
    if target.is_dir():
        raise _is_a_folder(label)
    folder = target.parent
    try:
        folder.mkdir(parents=True, exist_ok=True)
        _remove_stale_scratch(folder, target.name)
        # The scratch folder's name starts with the target's (cut, to stay within the system's name limit).
        prefix = f".{target.name[:_SCRATCH_NAME]}.{os.getpid()}."
        scratch = Path(tempfile.mkdtemp(prefix=prefix, suffix=".tmp", dir=folder))
    except OSError as exc:
        raise _output_error(label, exc) from exc
    try:
        temporary = scratch / target.name
        writer(temporary)
        if not temporary.is_file():
            raise OutputError(
                N_("The writer did not create the file {file}: nothing was written."), file=str(temporary)
            )
        _reproducible(temporary)
        with open(temporary, "rb+") as handle:
            os.fsync(handle.fileno())
        if target.exists():  # keep the permissions of the file being replaced, never setuid/setgid/sticky
            os.chmod(temporary, target.stat().st_mode & 0o777)
        os.replace(temporary, target)
    except OutputError:
        raise
    except OSError as exc:
        raise _output_error(label, exc) from exc
    finally:
        shutil.rmtree(scratch, ignore_errors=True)
    _fsync_folder(folder)
    logger.info("wrote %s", target)
    return target


def _reproducible(path: Path) -> None:
    """Set the dates a writer stamped into an XLSX, DOCX or GeoPackage file to the outputs' timestamp."""
    suffix = path.suffix.lower()
    if suffix in _EXCEL or suffix == ".docx":  # a Word document is a ZIP with the same core dates
        _reproducible_zip(path, output_datetime())
    elif suffix == ".gpkg":
        import sqlite3

        stamp = output_datetime().strftime("%Y-%m-%dT%H:%M:%S.000Z")
        with contextlib.closing(sqlite3.connect(path)) as db:
            db.execute("PRAGMA synchronous = OFF")  # write_atomic syncs the file once, after this
            with db:
                db.execute("UPDATE gpkg_contents SET last_change = ?", (stamp,))


_CORE_DATES = re.compile(rb"(<dcterms:(?:created|modified)\b[^>]*>)[^<]*(</dcterms:)")


def _reproducible_zip(path: Path, when: Any) -> None:
    """Rewrite a ZIP (an XLSX) with every member dated ``when`` and the workbook's core dates set to it."""
    stamp = when.strftime("%Y-%m-%dT%H:%M:%SZ").encode()
    date_time = max(when.timetuple()[:6], (1980, 1, 1, 0, 0, 0))  # ZIP cannot hold earlier dates
    source_bytes = path.read_bytes()
    with zipfile.ZipFile(_stdio.BytesIO(source_bytes)) as source, zipfile.ZipFile(path, "w") as target:
        for info in source.infolist():
            data = source.read(info)
            if info.filename == "docProps/core.xml":
                data = _CORE_DATES.sub(rb"\g<1>" + stamp + rb"\g<2>", data)
            entry = zipfile.ZipInfo(info.filename, date_time=date_time)
            entry.compress_type, entry.external_attr = info.compress_type, info.external_attr
            target.writestr(entry, data)


#: Errors of the file system whose cause a person can fix, by ``errno``.
_FULL = frozenset({errno.ENOSPC, getattr(errno, "EDQUOT", errno.ENOSPC), errno.EFBIG})


_DENIED = frozenset({errno.EACCES, errno.EPERM, errno.EROFS})


def _output_error(label: str, exc: OSError) -> OutputError:
    """Describe why ``label`` could not be written, for a person."""
    reason = _plain(exc.strerror or str(exc) or type(exc).__name__)
    if exc.errno in _FULL:
        return OutputError(
            N_(
                "{file} cannot be written: the disk is full ({error}). Nothing was changed. Fix: free some "
                "space, or write to another disk or folder."
            ),
            file=label,
            error=reason,
        )
    if exc.errno in _DENIED:
        return OutputError(
            N_(
                "{file} cannot be written: the folder is read-only, or you may not write there ({error}). "
                "Fix: choose a folder you can write to (e.g. in your home folder), or change its permissions."
            ),
            file=label,
            error=reason,
        )
    if exc.errno == errno.EISDIR:
        return _is_a_folder(label)
    if exc.errno in (errno.EEXIST, errno.ENOTDIR):
        return OutputError(
            N_(
                "{file} cannot be written: a part of its path ({part}) is a file, not a folder. Fix: choose "
                "another folder, or rename that file."
            ),
            file=label,
            part=str(exc.filename or Path(label).parent),
        )
    return OutputError(
        N_("{file} cannot be written: {error}. Fix: check the path and the folder."), file=label, error=reason
    )


def _is_a_folder(label: str) -> OutputError:
    return OutputError(
        N_("{file} is a folder, so no file can be written there. Fix: name the file, e.g. {example}."),
        file=label,
        example=str(Path(label) / "results.csv"),
    )


#: A scratch folder of :func:`write_atomic` is removed by a later write once this old, whatever its process.
_STALE_SCRATCH_S = 24 * 3600


def _remove_stale_scratch(folder: Path, name: str) -> None:
    """Remove scratch folders of earlier writes of ``name`` whose writer is gone (killed, or a day old)."""
    pattern = re.compile(rf"\.{re.escape(name[:_SCRATCH_NAME])}\.(?:(\d+)\.)?[a-z0-9_]{{8}}\.tmp")
    try:
        entries = list(os.scandir(folder))
    except OSError:
        return
    now = time.time()
    for entry in entries:
        found = pattern.fullmatch(entry.name)
        if found is None or not entry.is_dir(follow_symlinks=False):
            continue
        pid = int(found.group(1)) if found.group(1) else None
        try:
            old = now - entry.stat(follow_symlinks=False).st_mtime > _STALE_SCRATCH_S
        except OSError:
            continue
        if old or (pid is not None and pid != os.getpid() and not _process_alive(pid)):
            logger.info("removing %s, left by an interrupted write", entry.path)
            shutil.rmtree(entry.path, ignore_errors=True)


def _process_alive(pid: int) -> bool:
    if sys.platform == "win32":  # os.kill(pid, 0) would end the process there; rely on the age
        return True
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except OSError:  # e.g. another user's process: it exists
        return True
    return True


def _fsync_folder(folder: Path) -> None:
    try:
        fd = os.open(folder, os.O_RDONLY)
    except OSError:  # not possible on every platform
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)
