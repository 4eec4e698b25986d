"""Read areas, services and population from files; write files atomically.

Formats: GeoJSON, GeoPackage, Shapefile (plain or zipped), GeoParquet (and plain Parquet tables), CSV and
XLSX. Every loader reads the file, maps its columns onto the column contract (:mod:`socialmap.schema`),
runs the validators of :mod:`socialmap.validate`, and then either raises one
:class:`~socialmap.errors.ValidationError` listing every problem (when any is an error) or emits one
``UserWarning`` listing the warnings (safe repairs and things worth a look).

Coordinates and CRS
-------------------
A vector file must carry its CRS; if it has none, pass ``crs=`` (an error says so). GeoJSON has none to
carry: it is WGS84 longitude/latitude by definition (RFC 7946), and is read as EPSG:4326. CSV and XLSX
coordinates are taken as EPSG:4326 longitude/latitude in degrees unless ``crs=`` names another CRS. The
loaders return the data in the CRS it was read in; the analysis moves it to a metric CRS
(:func:`socialmap.crs.to_work_crs`).

CSV as people send it
---------------------
The delimiter (``,``, ``;``, tab or ``|``) is sniffed from the first lines. Numbers may use a decimal
comma (``42,66``); in a ``;``-separated file the comma is the decimal mark and ``.`` groups thousands, in
a ``,``-separated file the reverse (see :func:`socialmap.validate.parse_number`). Counts (``population``,
``capacity``) are whole numbers: ``27.775`` or ``27,775`` there is read as 27,775, with a warning where the
file's convention does not already say so, or refused as ambiguous when the column also has decimals
(``12.5``); Excel numbers with exactly three decimals (27.775) are treated the same way. The text must be
UTF-8, with or without a byte-order mark (UTF-16 with a byte-order mark is read too). A file that is not
valid UTF-8 is read as Windows-1250 (Central European: covers Albanian ë, ç and Serbian Latin č, ć, š, ž,
đ), with a warning; pass ``encoding=`` to choose another. Coordinate columns are found under any usual
name (``lat``/``latitude``/``y``, ``lon``/``lng``/``long``/``longitude``/``x``, any case); map other
columns with ``columns={"their name": "our name"}``. Other columns whose every value is a number are
turned into numbers, unless a value has a leading zero (codes such as ``"01"`` stay text).

Row numbers in problems: for CSV and XLSX the header is row 1 and data start at row 2 (as a spreadsheet
shows them); for vector files the first feature is row 1.

Hostile and broken files
------------------------
Every failure to read a file comes out as a :class:`~socialmap.errors.DataSourceError` (the file cannot
be read at all) or a :class:`~socialmap.errors.ValidationError` (it was read and has errors), with a
message that names the file, says what is wrong and how to fix it; whatever GDAL, pandas, zipfile,
openpyxl or pyarrow raised is kept as the ``__cause__``. Warnings those readers emit are passed on in
the loader's one ``UserWarning``. The messages are English (``str(exc)``) and translatable:
``socialmap.errors.message(exc, "sq")`` writes one in Albanian (see :mod:`socialmap.errors`).

Limits, read at call time: ``settings.max_upload_bytes`` (the file's size; for a ZIP, and for an XLSX
workbook, which is a ZIP, also its unpacked size) and ``settings.max_features`` (rows); and at most
1,000 columns. A ZIP is checked from its directory before anything is unpacked: names that are absolute
or climb out of the archive (``../``) are refused, as is a member that unpacks to more than 200 times
its packed size (a zip bomb). Only the chosen dataset's files are then unpacked, into a scratch folder
that is removed after reading; Python's ``zipfile`` stops at the size the directory declares, so an
archive that lies about its sizes fails its checksum instead of filling the disk.

Text is kept as text: ``<script>`` in a name stays ``<script>`` (escaping belongs to whatever renders
it); control characters are removed, with a warning (:mod:`socialmap.validate`).
"""

from __future__ import annotations

import codecs
import contextlib
import csv
import errno
import io as _stdio
import logging
import os
import re
import shutil
import sys
import tempfile
import threading
import time
import warnings
import zipfile
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from os import PathLike
from pathlib import Path, PurePosixPath
from typing import Any

import geopandas as gpd
import numpy as np
import pandas as pd

from socialmap import settings
from socialmap import validate as _validate
from socialmap.errors import DataSourceError, Message, Number, OutputError, Problem, ValidationError
from socialmap.i18n import N_, Nn_

logger = logging.getLogger(__name__)

__all__ = [
    "FALLBACK_ENCODING",
    "SUPPORTED_SUFFIXES",
    "read_areas",
    "read_population",
    "read_services",
    "write_atomic",
]

#: Encoding tried when a CSV file is not valid UTF-8 (with a warning).
FALLBACK_ENCODING = "cp1250"

_VECTOR = {
    ".geojson": "GeoJSON",
    ".json": "GeoJSON",
    ".gpkg": "GeoPackage",
    ".shp": "Shapefile",
    ".fgb": "FlatGeobuf",
}
_PARQUET = {".parquet": "Parquet", ".geoparquet": "GeoParquet", ".pq": "Parquet"}
_TEXT = {".csv": "CSV", ".txt": "CSV", ".tsv": "CSV"}
_EXCEL = {".xlsx": "XLSX", ".xlsm": "XLSX"}
_ZIP = {".zip": "ZIP"}

#: File name endings the loaders read.
SUPPORTED_SUFFIXES = tuple(sorted({*_VECTOR, *_PARQUET, *_TEXT, *_EXCEL, *_ZIP}))

_IN_ZIP = (".shp", ".gpkg", ".geojson", ".json", ".fgb")
_DELIMITERS = (",", ";", "\t", "|")
_SNIFF_LINES = 50
_SHAPEFILE_PARTS = (".shp", ".shx", ".dbf", ".prj", ".cpg")
#: A member unpacking to more than ``_ZIP_RATIO_FROM_BYTES`` and more than this many times its packed
#: size is refused as a zip bomb (real Shapefile parts pack at most a few dozen times).
_MAX_ZIP_RATIO = 200
_ZIP_RATIO_FROM_BYTES = 1024 * 1024
_COPY_CHUNK = 1024 * 1024
#: Characters of CSV text the delimiter is sniffed from (the first lines; never the whole file).
_SNIFF_CHARS = 64 * 1024
#: Bytes of a ZIP member decompressed at a time while scanning an XLSX part.
_SCAN_CHUNK = 256 * 1024
#: Characters of a target's name used in the name of its scratch folder.
_SCRATCH_NAME = 100
#: Third-party error texts quoted in messages are cut to this length.
_MAX_EXCEPTION_TEXT = 300
#: At most this many distinct warnings of a third-party reader are passed on.
_MAX_READER_WARNINGS = 5
#: ``warnings.catch_warnings`` changes process-wide state: loaders running in several threads (the app's
#: sessions) take turns, so that one thread's block cannot swallow or restore another's.
_WARNINGS_LOCK = threading.RLock()
_LEADING_BLANK_LINES = re.compile(r"(?:[ \t]*(?:\r\n|\n|\r))+")
_NEWLINE = re.compile(r"\r\n|\n|\r")
#: Invisible characters stripped from the ends of column names (byte-order marks, zero-width spaces).
_INVISIBLE = "\ufeff\u200b\u200c\u200d\u2060"


class _SourceError(DataSourceError):
    """
    A file cannot be read at all; carries the message and the fix separately.

    Both are kept as :class:`~socialmap.errors.Message` objects (a plain text, e.g. one marked with
    ``N_``, is looked up in the catalogs), so the error translates:
    ``socialmap.errors.message(exc, "sq")``; ``str(exc)`` is ``"<message> Fix: <fix>"`` in English.
    """

    def __init__(self, message: str, fix: str) -> None:
        self.message = message if isinstance(message, Message) else Message(message)
        self.fix = fix if isinstance(fix, Message) else Message(fix)
        super().__init__(N_("{message} Fix: {fix}"), message=self.message, fix=self.fix)

    def __reduce__(self) -> tuple[Any, ...]:
        return (type(self), (self.message, self.fix))


@dataclass(frozen=True)
class _Limits:
    """What reading one file may cost, with the names of the settings that set it (named in messages)."""

    size: int
    rows: int
    size_setting: str = "max_upload_bytes"
    rows_setting: str = "max_features"

    @classmethod
    def for_kind(cls, kind: str | None = None) -> _Limits:
        """Return the limits of a loader of ``kind`` (services: at most ``settings.max_services`` rows)."""
        if kind == "services" and settings.max_services < settings.max_features:
            return cls(settings.max_upload_bytes, settings.max_services, rows_setting="max_services")
        return cls(settings.max_upload_bytes, settings.max_features)


@dataclass
class _Source:
    """A file as read, before validation."""

    label: str
    fmt: str
    frame: pd.DataFrame | None
    rows: np.ndarray
    problems: list[Problem] = field(default_factory=list)
    decimal: str | None = None
    header_row: int | None = None


# --------------------------------------------------------------------------------------------------
# Atomic writes
# --------------------------------------------------------------------------------------------------


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
    GeoPackage (``gpkg_contents.last_change``) are set to :func:`socialmap.settings.output_datetime`, so
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
        _reproducible_zip(path, settings.output_datetime())
    elif suffix == ".gpkg":
        import sqlite3

        stamp = settings.output_datetime().strftime("%Y-%m-%dT%H:%M:%S.000Z")
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


# --------------------------------------------------------------------------------------------------
# Reading a source
# --------------------------------------------------------------------------------------------------


def _mb(n: int) -> Message:
    if n < 1024 * 1024:
        return Message(N_("{n} bytes"), n=Number(n, ","))
    return Message(N_("{n} MB"), n=Number(n / 1024 / 1024, ".1f"))


def _check_size(label: str, size: int, unpacked: bool = False, limits: _Limits | None = None) -> None:
    limits = limits or _Limits.for_kind()
    limit = limits.size
    if size > limit:
        template = (
            N_("{file} unpacked is {size}, more than the limit of {limit} (`socialmap.settings.{setting}`).")
            if unpacked
            else N_("{file} is {size}, more than the limit of {limit} (`socialmap.settings.{setting}`).")
        )
        raise _SourceError(
            Message(template, file=label, size=_mb(size), limit=_mb(limit), setting=limits.size_setting),
            Message(
                N_(
                    "Use a smaller file (simplify the geometries, keep only the columns needed, or split "
                    "it), or raise `socialmap.settings.{setting}`."
                ),
                setting=limits.size_setting,
            ),
        )


def _check_count(label: str, count: int, limits: _Limits | None = None, *, partial: bool = False) -> None:
    """Refuse more rows than ``limits`` allow (``partial``: ``count`` is as far as a scan got)."""
    limits = limits or _Limits.for_kind()
    if count > limits.rows:
        raise _SourceError(
            Message(
                N_(
                    "{file} has at least {count} rows, more than the limit of {limit} "
                    "(`socialmap.settings.{setting}`); reading stopped there."
                )
                if partial
                else N_(
                    "{file} has {count} rows or features, more than the limit of {limit} "
                    "(`socialmap.settings.{setting}`)."
                ),
                file=label,
                count=Number(count, ","),
                limit=Number(limits.rows, ","),
                setting=limits.rows_setting,
            ),
            Message(
                N_("Filter or split the file, or raise `socialmap.settings.{setting}`."),
                setting=limits.rows_setting,
            ),
        )


def _check_columns(label: str, count: int, *, partial: bool = False) -> None:
    if count > settings.max_columns:
        raise _SourceError(
            Message(
                N_(
                    "{file} has at least {count} columns, more than the limit of {limit} "
                    "(`socialmap.settings.max_columns`); reading stopped there."
                )
                if partial
                else N_(
                    "{file} has {count} columns, more than the limit of {limit} "
                    "(`socialmap.settings.max_columns`)."
                ),
                file=label,
                count=Number(count, ","),
                limit=Number(settings.max_columns, ","),
            ),
            N_("Keep only the columns needed (ids, names, counts, coordinates) and save the file again."),
        )


def _check_cells(label: str, rows: int, columns: int, *, partial: bool = False) -> None:
    """Refuse a table of more than ``settings.max_cells`` cells (rows × columns), before it is parsed."""
    if rows * columns > settings.max_cells:
        raise _SourceError(
            Message(
                N_(
                    "{file} has at least {rows} rows of {columns} columns, {cells} cells, more than the "
                    "limit of {limit} (`socialmap.settings.max_cells`); reading stopped there."
                )
                if partial
                else N_(
                    "{file} has {rows} rows of {columns} columns, {cells} cells, more than the limit of "
                    "{limit} (`socialmap.settings.max_cells`)."
                ),
                file=label,
                rows=Number(rows, ","),
                columns=Number(columns, ","),
                cells=Number(rows * columns, ","),
                limit=Number(settings.max_cells, ","),
            ),
            N_(
                "Keep only the rows and columns needed, or split the file, or raise "
                "`socialmap.settings.max_cells`."
            ),
        )


def _decoded_too_large(label: str, size: int, what: Message, limits: _Limits) -> _SourceError:
    return _SourceError(
        Message(
            N_(
                "{file} would decode to at least {size} of {what}, more than the limit of {limit} "
                "(`socialmap.settings.{setting}`); it was refused before decoding."
            ),
            file=label,
            size=_mb(size),
            what=what,
            limit=_mb(limits.size),
            setting=limits.size_setting,
        ),
        Message(
            N_(
                "Check where the file came from; if it is genuine, keep only the rows and columns needed, "
                "or raise `socialmap.settings.{setting}`."
            ),
            setting=limits.size_setting,
        ),
    )


def _supported() -> Message:
    return Message(N_("GeoJSON, GeoPackage, zipped Shapefile, GeoParquet, CSV or XLSX"))


def _plain(text: str) -> str:
    """Return text from a file (a member name, a reader's message) as one short line to quote."""
    text = _validate._CONTROL.sub("", _validate._LINE_CONTROL.sub(" ", text)).strip()
    return text if len(text) <= _MAX_EXCEPTION_TEXT else text[: _MAX_EXCEPTION_TEXT - 3] + "..."


def _exception_text(exc: BaseException, hide: str | None = None, shown: str = "") -> str:
    """Return a third-party exception as plain text, with the scratch folder ``hide`` shown as ``shown``."""
    text = str(exc).strip() or type(exc).__name__
    if hide:
        text = text.replace(hide, shown)
    return _plain(text)


@contextlib.contextmanager
def _reading(
    label: str,
    what: str,
    fix: str,
    *,
    hide: str | None = None,
    shown: str = "",
    notes: list[Problem] | None = None,
) -> Iterator[None]:
    """
    Turn any failure of a third-party reader inside the block into a ``DataSourceError`` naming the file.

    Readers of hostile files fail in many ways (GDAL, pandas' parser, zipfile, openpyxl, pyarrow each
    raise their own types, and sometimes ``ValueError``, ``KeyError``, ``OverflowError``...). Whatever
    they raise, the file cannot be read as ``what``; the block holds third-party calls only. With
    ``notes``, the warnings they emit (GDAL's, e.g. "Feature gets NULL geometry") are collected there as
    problems of severity "warning" instead of escaping to the caller one by one.
    """
    caught: list[warnings.WarningMessage] = []
    try:
        if notes is None:
            yield
        else:
            with _WARNINGS_LOCK, warnings.catch_warnings(record=True) as caught:
                warnings.simplefilter("always")
                warnings.filterwarnings("ignore", category=UserWarning, module="openpyxl")  # style noise
                yield
    except DataSourceError:
        raise
    except MemoryError as exc:
        raise _SourceError(
            Message(N_("{file} is too large to read in memory as {what}."), file=label, what=what),
            N_("Use a smaller file, or split it."),
        ) from exc
    except Exception as exc:
        raise _SourceError(
            Message(
                N_("{file} cannot be read as {what}: {error}"),
                file=label,
                what=what,
                error=_exception_text(exc, hide, shown),
            ),
            fix,
        ) from exc
    finally:
        if notes is not None:
            notes.extend(_warning_problems(label, caught, hide, shown))


def _as_exception(message: Warning | str) -> BaseException:
    return message if isinstance(message, BaseException) else Exception(message)


def _warning_problems(
    label: str, caught: list[warnings.WarningMessage], hide: str | None, shown: str
) -> list[Problem]:
    texts = list(dict.fromkeys(_exception_text(_as_exception(w.message), hide, shown) for w in caught))
    fix = N_("Check the result; if something is missing, re-export the file from its program.")
    problems = [
        Problem(label, None, None, Message(N_("While reading the file: {text}"), text=text), fix, "warning")
        for text in texts[:_MAX_READER_WARNINGS]
    ]
    if len(texts) > _MAX_READER_WARNINGS:
        problems.append(
            Problem(
                label,
                None,
                None,
                Message(
                    *Nn_(
                        "{n} more warning while reading the file.",
                        "{n} more warnings while reading the file.",
                    ),
                    len(texts) - _MAX_READER_WARNINGS,
                    n=len(texts) - _MAX_READER_WARNINGS,
                ),
                fix,
                "warning",
            )
        )
    return problems


def _read_source(
    path: str | PathLike[str],
    *,
    layer: str | int | None = None,
    sheet: str | int | None = None,
    encoding: str | None = None,
    limits: _Limits | None = None,
) -> _Source:
    """Read a file as it is (no column mapping, no checks but what it costs and its format)."""
    limits = limits or _Limits.for_kind()
    label = str(path)
    file = Path(path)
    try:
        exists, is_dir = file.exists(), file.is_dir()
    except (OSError, ValueError) as exc:  # e.g. a NUL byte or a name too long for the system
        raise _SourceError(
            Message(N_("{file} cannot be opened: {error}"), file=label, error=_exception_text(exc)),
            N_("Check the path."),
        ) from exc
    if not exists:
        raise _SourceError(
            Message(N_("{file} does not exist."), file=label), N_("Check the path and the file name.")
        )
    if is_dir:
        raise _SourceError(
            Message(N_("{file} is a folder, not a file."), file=label),
            Message(N_("Name a file: {formats}."), formats=_supported()),
        )
    try:
        return _dispatch(file, label, layer=layer, sheet=sheet, encoding=encoding, limits=limits)
    except OSError as exc:  # e.g. no permission to read it; the readers' own failures are already messages
        raise _SourceError(
            Message(N_("{file} cannot be opened: {error}"), file=label, error=_exception_text(exc)),
            N_("Check the path, and that you may read the file."),
        ) from exc


def _dispatch(
    file: Path,
    label: str,
    *,
    layer: str | int | None,
    sheet: str | int | None,
    encoding: str | None,
    limits: _Limits,
) -> _Source:
    suffix = file.suffix.lower()
    if suffix == ".shp":
        size = sum(p.stat().st_size for p in file.parent.iterdir() if p.stem == file.stem and p.is_file())
    else:
        size = file.stat().st_size
    _check_size(label, size, limits=limits)
    if size == 0:
        return _empty_source(label, suffix)
    if suffix in _VECTOR:
        return _read_vector(str(file), label, _VECTOR[suffix], layer, limits=limits)
    if suffix in _ZIP:
        return _read_zip(file, label, layer, limits)
    if suffix in _PARQUET:
        return _read_parquet(file, label, limits)
    if suffix in _TEXT:
        return _read_csv(file, label, encoding, limits)
    if suffix in _EXCEL:
        return _read_excel(file, label, sheet, limits)
    if suffix in (".xls", ".ods"):
        raise _SourceError(
            Message(
                N_("{file} is in the {suffix} format, which socialmap does not read."),
                file=label,
                suffix=suffix,
            ),
            N_("Save it as .xlsx (Excel workbook) or as CSV UTF-8."),
        )
    raise _SourceError(
        Message(N_("{file}: cannot tell the format from the ending '{suffix}'."), file=label, suffix=suffix)
        if suffix
        else Message(N_("{file}: cannot tell the format from the ending '(none)'."), file=label),
        Message(
            N_("Use one of {suffixes} ({formats})."),
            suffixes=", ".join(SUPPORTED_SUFFIXES),
            formats=_supported(),
        ),
    )


def _empty_source(label: str, fmt: str) -> _Source:
    problem = Problem(
        label,
        None,
        None,
        N_("The file is empty (0 bytes)."),
        N_("Check that this is the right file, and that it was saved or uploaded completely."),
    )
    return _Source(label, fmt, None, np.zeros(0, dtype=int), [problem])


def _read_vector(
    source: str,
    label: str,
    fmt: str,
    layer: str | int | None,
    *,
    hide: str | None = None,
    shown: str = "",
    limits: _Limits | None = None,
) -> _Source:
    """Read a GDAL dataset; ``hide`` (a scratch folder) is replaced by ``shown`` in GDAL's messages."""
    fix = Message(
        N_("Check that the file is complete and really is {format} (re-export it from your GIS)."), format=fmt
    )
    import pyogrio

    notes: list[Problem] = []
    with _reading(label, fmt, fix, hide=hide, shown=shown, notes=notes):
        layers = [str(name) for name in pyogrio.list_layers(source)[:, 0]]
        if not layers:
            raise _SourceError(Message(N_("{file} holds no layer of map data."), file=label), fix)
        if layer is None and len(layers) > 1:
            raise _SourceError(
                Message(
                    N_("{file} has {n} layers: {layers}."),
                    file=label,
                    n=len(layers),
                    layers=", ".join(layers),
                ),
                Message(N_("Choose one with `layer=`, e.g. layer='{layer}'."), layer=layers[0]),
            )
        if layer is not None and not isinstance(layer, int) and str(layer) not in layers:
            raise _SourceError(
                Message(
                    N_("{file} has no layer '{layer}'; its layers are: {layers}."),
                    file=label,
                    layer=layer,
                    layers=", ".join(layers),
                ),
                N_("Use one of these names in `layer=`."),
            )
        info = pyogrio.read_info(source, layer=layer)
        _check_columns(label, len(info["fields"]))
        count = int(info["features"])
        if count >= 0:
            _check_count(label, count, limits)
            _check_cells(label, count, len(info["fields"]) + 1)
        # pyogrio sets aside room for max_features rows (0.3 s at the default limit): ask for the
        # counted features, and read again with the limit only if the driver counted short.
        rows = (limits or _Limits.for_kind()).rows
        limit = count if count >= 0 else rows
        gdf = gpd.read_file(source, layer=layer, engine="pyogrio", max_features=limit + 1)
        if 0 <= count < len(gdf):
            gdf = gpd.read_file(source, layer=layer, engine="pyogrio", max_features=rows + 1)
    _check_count(label, len(gdf), limits)
    if len(gdf) == 0:
        empty = _empty_rows(label, fmt)
        empty.problems = [*notes, *empty.problems]
        return empty
    # A table without geometry (a GeoPackage attribute table: population) is a plain DataFrame.
    logger.info("read %d features from %s (%s, CRS %s)", len(gdf), label, fmt, getattr(gdf, "crs", None))
    return _Source(label, fmt, gdf, np.arange(1, len(gdf) + 1), notes)


def _empty_rows(label: str, fmt: str) -> _Source:
    problem = Problem(
        label,
        None,
        None,
        N_("The file has no data rows."),
        N_("Check that this is the right file (and layer or sheet), and that it has data below the header."),
    )
    return _Source(label, fmt, None, np.zeros(0, dtype=int), [problem])


# ZIP archives (zipped Shapefiles, and XLSX workbooks, which are ZIP archives too) ------------------


def _unsafe_member(name: str) -> bool:
    """Whether a member name is absolute or climbs out of the archive (``../``), on any system."""
    posix = name.replace("\\", "/")
    if posix.startswith("/") or re.match(r"[A-Za-z]:", posix):
        return True
    return ".." in posix.split("/")


def _zip_directory(
    file: Path,
    label: str,
    what: str,
    fix: str,
    *,
    unpacked_to_disk: bool = True,
    limits: _Limits | None = None,
) -> list[zipfile.ZipInfo]:
    """
    Read a ZIP's directory and refuse it, before anything is unpacked, when it is unsafe.

    Refused: more than ``settings.max_zip_members`` members; a declared unpacked size above
    ``settings.max_upload_bytes``; and, for an archive whose members are unpacked to disk, names that are
    absolute or climb out of the archive and a member packed more than ``_MAX_ZIP_RATIO`` times (a zip
    bomb). (An XLSX workbook is read in memory by openpyxl, and its sheets of repeated rows pack tightly:
    for it the size cap is the guard.) The declared sizes bound what is unpacked later: Python's
    ``zipfile`` stops at a member's declared size and fails on its checksum if the data run on.
    """
    with _reading(label, what, fix):
        try:
            with zipfile.ZipFile(file) as archive:
                infos = archive.infolist()
        except zipfile.BadZipFile as exc:
            if what != "ZIP":
                raise
            raise _SourceError(
                Message(
                    N_("{file} is not a valid ZIP file ({error})."), file=label, error=_exception_text(exc)
                ),
                fix,
            ) from exc
    if len(infos) > settings.max_zip_members:
        template = (
            N_("{file} holds {n} files, more than the {limit} a ZIP may hold.")
            if what == "ZIP"
            else N_("{file} holds {n} files, more than the {limit} an Excel workbook may hold.")
        )
        raise _SourceError(
            Message(
                template, file=label, n=Number(len(infos), ","), limit=Number(settings.max_zip_members, ",")
            ),
            N_("Zip only the files of the dataset (.shp, .shx, .dbf, .prj)."),
        )
    if unpacked_to_disk:
        unsafe = [i.filename for i in infos if _unsafe_member(i.filename)]
        if unsafe:
            shown = ", ".join(repr(_plain(n)) for n in unsafe[:5])
            raise _SourceError(
                Message(
                    *Nn_(
                        "{file} was refused: {n} file name in it is absolute or climbs out of the "
                        "archive with '..' ({names}). Nothing was unpacked.",
                        "{file} was refused: {n} file names in it are absolute or climb out of the "
                        "archive with '..' ({names}). Nothing was unpacked.",
                    ),
                    len(unsafe),
                    file=label,
                    n=len(unsafe),
                    names=shown,
                ),
                N_(
                    "Zip the files again from inside their folder, so that the names in the archive are "
                    "plain relative names such as 'areas/areas.shp'."
                ),
            )
    _check_size(label, sum(i.file_size for i in infos), unpacked=True, limits=limits)
    bombs = [
        i
        for i in infos
        if unpacked_to_disk
        and i.file_size > _ZIP_RATIO_FROM_BYTES
        and i.file_size > _MAX_ZIP_RATIO * max(i.compress_size, 1)
    ]
    if bombs:
        worst = max(bombs, key=lambda i: i.file_size / max(i.compress_size, 1))
        raise _SourceError(
            Message(
                N_(
                    "{file} was refused as a possible zip bomb: '{member}' would unpack from {packed} to "
                    "{unpacked} (more than {ratio} times). Nothing was unpacked."
                ),
                file=label,
                member=_plain(worst.filename),
                packed=_mb(worst.compress_size),
                unpacked=_mb(worst.file_size),
                ratio=_MAX_ZIP_RATIO,
            ),
            N_(
                "Check where the file came from; if it is genuine, unzip it and upload the dataset itself "
                "(e.g. as a GeoPackage)."
            ),
        )
    return infos


def _zip_datasets(infos: list[zipfile.ZipInfo], label: str) -> list[zipfile.ZipInfo]:
    files = [
        i
        for i in infos
        if not i.is_dir()
        and not i.filename.startswith("__MACOSX/")
        and not _member_path(i.filename).name.startswith("._")
    ]
    datasets = [i for i in files if _member_path(i.filename).suffix.lower() in _IN_ZIP]
    if not datasets:
        names = [_plain(i.filename) for i in files]
        raise _SourceError(
            Message(
                N_("{file} holds no map data (no .shp, .gpkg or .geojson file); it holds: {names}."),
                file=label,
                names=", ".join(names[:20]),
            )
            if names
            else Message(
                N_("{file} holds no map data (no .shp, .gpkg or .geojson file); it holds: nothing."),
                file=label,
            ),
            N_("Zip the Shapefile's files together (.shp, .shx, .dbf and .prj)."),
        )
    return datasets


def _member_path(name: str) -> PurePosixPath:
    return PurePosixPath(name.replace("\\", "/"))


def _zip_parts(
    infos: list[zipfile.ZipInfo], member: zipfile.ZipInfo, label: str
) -> list[tuple[zipfile.ZipInfo, str]]:
    """Return the members to unpack for one dataset (a Shapefile's parts), each with its lower-case suffix."""
    path = _member_path(member.filename)
    suffix = path.suffix.lower()
    if suffix != ".shp":
        return [(member, suffix)]
    parts: dict[str, zipfile.ZipInfo] = {}
    for info in infos:
        other = _member_path(info.filename)
        part = other.suffix.lower()
        if (
            other.parent == path.parent
            and other.stem.casefold() == path.stem.casefold()
            and part in _SHAPEFILE_PARTS
            and part not in parts
        ):
            parts[part] = info
    missing = tuple(p for p in (".shx", ".dbf") if p not in parts)
    if missing:
        templates = {
            (".shx",): N_(
                "{file}: the Shapefile '{member}' lacks the index (.shx), which must be beside it in the "
                "same folder of the ZIP."
            ),
            (".dbf",): N_(
                "{file}: the Shapefile '{member}' lacks the attribute table (.dbf), which must be beside it "
                "in the same folder of the ZIP."
            ),
            (".shx", ".dbf"): N_(
                "{file}: the Shapefile '{member}' lacks the index (.shx) and the attribute table (.dbf), "
                "which must be beside it in the same folder of the ZIP."
            ),
        }
        raise _SourceError(
            Message(templates[missing], file=label, member=_plain(member.filename)),
            Message(
                N_("Zip all the Shapefile's files together: {stem}.shp, .shx, .dbf and .prj."), stem=path.stem
            ),
        )
    return [(parts[p], p) for p in _SHAPEFILE_PARTS if p in parts]


def _read_zip(file: Path, label: str, layer: str | int | None, limits: _Limits) -> _Source:
    """Read the dataset in a ZIP: check the directory, unpack only its files into a scratch folder."""
    infos = _zip_directory(file, label, "ZIP", N_("Zip the Shapefile's files again."), limits=limits)
    datasets = _zip_datasets(infos, label)
    if len(datasets) > 1:
        names = [_member_path(i.filename) for i in datasets]
        stems = [n.stem for n in names]
        listed = ", ".join(_plain(i.filename) for i in datasets)
        if layer is None or str(layer) not in stems:
            raise _SourceError(
                Message(N_("{file} holds several datasets: {names}."), file=label, names=listed),
                Message(N_("Choose one with `layer=`, e.g. layer='{layer}'."), layer=stems[0]),
            )
        if stems.count(str(layer)) > 1:
            raise _SourceError(
                Message(
                    N_("{file} holds several datasets named '{layer}': {names}."),
                    file=label,
                    layer=layer,
                    names=listed,
                ),
                N_("Zip only the dataset you mean to read."),
            )
        member, layer = datasets[stems.index(str(layer))], None
    else:
        member = datasets[0]
    parts = _zip_parts(infos, member, label)
    suffix = _member_path(member.filename).suffix.lower()
    fmt = Message(N_("zipped {format}"), format=_VECTOR.get(suffix, "file"))
    encrypted = [i.filename for i, _ in parts if i.flag_bits & 0x1]
    if encrypted:
        raise _SourceError(
            Message(
                N_("{file} is protected by a password ({names})."), file=label, names=", ".join(encrypted)
            ),
            N_("Zip the files again without a password."),
        )
    shown = f"{label}!{member.filename}"
    with tempfile.TemporaryDirectory(prefix="socialmap-zip-") as scratch:
        folder = Path(scratch)
        with _reading(label, fmt, N_("The ZIP is damaged: zip the files again."), hide=scratch, shown=shown):
            with zipfile.ZipFile(file) as archive:
                for info, part in parts:
                    with archive.open(info) as packed, open(folder / f"dataset{part}", "wb") as out:
                        shutil.copyfileobj(packed, out, _COPY_CHUNK)
        return _read_vector(
            str(folder / f"dataset{suffix}"), label, fmt, layer, hide=scratch, shown=shown, limits=limits
        )


def _read_parquet(file: Path, label: str, limits: _Limits) -> _Source:
    import pyarrow.parquet as pq

    notes: list[Problem] = []
    with _reading(label, "(Geo)Parquet", N_("Check that the file is complete."), notes=notes):
        with pq.ParquetFile(file) as parquet:  # reads the footer (the metadata) only
            _check_parquet_cost(parquet, file, label, limits)
            geo = b"geo" in (parquet.schema_arrow.metadata or {})
        frame = gpd.read_parquet(file) if geo else pd.read_parquet(file)
    if len(frame) == 0:
        source = _empty_rows(label, "Parquet")
        source.problems = [*notes, *source.problems]
        return source
    logger.info("read %d rows from %s (%s)", len(frame), label, "GeoParquet" if geo else "Parquet")
    return _Source(label, "GeoParquet" if geo else "Parquet", frame, np.arange(1, len(frame) + 1), notes)


#: Bytes per value of Parquet's fixed-width physical types, as decoded.
_PARQUET_WIDTH = {"BOOLEAN": 1, "INT32": 4, "INT64": 8, "INT96": 12, "FLOAT": 4, "DOUBLE": 8}
_PARQUET_DICTIONARY = frozenset({"PLAIN_DICTIONARY", "RLE_DICTIONARY"})


def _parquet_leaves(field_type: Any) -> int:
    """Return the number of Parquet leaf columns an Arrow type is stored in."""
    import pyarrow as pa

    if pa.types.is_struct(field_type):
        return sum(_parquet_leaves(field_type.field(k).type) for k in range(field_type.num_fields))
    if pa.types.is_map(field_type):
        return _parquet_leaves(field_type.key_type) + _parquet_leaves(field_type.item_type)
    if pa.types.is_list(field_type) or pa.types.is_large_list(field_type) or pa.types.is_fixed_size_list(
        field_type
    ):
        return _parquet_leaves(field_type.value_type)
    return 1


def _check_parquet_cost(parquet: Any, file: Path, label: str, limits: _Limits) -> None:
    """
    Refuse a Parquet file, from its metadata, when decoding it would cost more than ``limits``.

    Rows, columns and cells are checked first. Then the decoded size is added up per column chunk:
    fixed-width values as their count × width (so a run-length-encoded column of a billion zeros is seen
    for what it is), text as its declared uncompressed size, except text stored with a dictionary, which
    can expand far beyond the file (one long string referenced by every row: an 18 KB file asking for
    19 GB): those columns alone are read as dictionaries (no larger than the file's declared sizes) and
    their decoded length summed exactly before anything is decoded. Front-compressed text
    (``DELTA_BYTE_ARRAY``, which can do the same without a dictionary) and dictionary-encoded text inside
    lists or structs are refused.
    """
    import pyarrow.compute as pc

    meta = parquet.metadata
    _check_count(label, meta.num_rows, limits)
    _check_columns(label, meta.num_columns)
    _check_cells(label, meta.num_rows, meta.num_columns)
    owner: list[str | None] = []  # the top-level column of each leaf column, None inside a nested one
    for arrow_field in parquet.schema_arrow:
        leaves = _parquet_leaves(arrow_field.type)
        flat = leaves == 1 and parquet.schema.column(len(owner)).max_repetition_level == 0
        owner.extend([arrow_field.name if flat else None] * leaves)
    decoded, expanding, bound = 0, set(), 0
    for j in range(meta.num_columns):
        leaf = parquet.schema.column(j)
        for i in range(meta.num_row_groups):
            chunk = meta.row_group(i).column(j)
            encodings = set(chunk.encodings)
            if leaf.physical_type != "BYTE_ARRAY":
                width = _PARQUET_WIDTH.get(leaf.physical_type) or max(int(leaf.length or 0), 1)
                decoded += max(width * chunk.num_values, chunk.total_uncompressed_size)
                continue
            decoded += 8 * chunk.num_values  # Arrow's offsets
            if "DELTA_BYTE_ARRAY" in encodings or (encodings & _PARQUET_DICTIONARY and owner[j] is None):
                raise _SourceError(
                    Message(
                        N_(
                            "{file}: the column '{column}' stores text in a way that can unpack to far more "
                            "than the file (front-compressed, or a dictionary inside lists); socialmap does "
                            "not read it."
                        ),
                        file=label,
                        column=_plain(leaf.path),
                    ),
                    N_(
                        "Save the file again with plain columns, e.g. with geopandas: gdf.to_parquet(path), "
                        "or as a GeoPackage."
                    ),
                )
            if encodings & _PARQUET_DICTIONARY:
                expanding.add(owner[j])
                bound += chunk.num_values * chunk.total_uncompressed_size  # each value at most the chunk
            else:
                decoded += chunk.total_uncompressed_size
    what = Message(N_("(Geo)Parquet columns"))
    if decoded > limits.size:
        raise _decoded_too_large(label, decoded, what, limits)
    if expanding and decoded + bound > limits.size:
        import pyarrow.parquet as pq

        names = sorted(str(n) for n in expanding)
        table = pq.ParquetFile(file, read_dictionary=names).read(
            columns=names, use_threads=False
        )
        for name in names:
            for part in table.column(name).chunks:
                lengths = pc.binary_length(part.dictionary)  # type: ignore[attr-defined]
                decoded += int(pc.sum(pc.take(lengths, part.indices)).as_py() or 0)  # type: ignore[attr-defined]
            if decoded > limits.size:
                raise _decoded_too_large(label, decoded, what, limits)
        del table


# CSV --------------------------------------------------------------------------------------------


def _decode(data: bytes, label: str, encoding: str | None) -> tuple[str, list[Problem]]:
    if encoding is not None:
        try:
            return data.decode(encoding), []
        except (UnicodeDecodeError, LookupError) as exc:
            raise _SourceError(
                Message(
                    N_("{file} cannot be read with encoding='{encoding}': {error}."),
                    file=label,
                    encoding=encoding,
                    error=str(exc),
                ),
                N_("Save the file as 'CSV UTF-8', or pass the encoding it was saved in."),
            ) from exc
    if data.startswith(codecs.BOM_UTF8):
        try:
            return data[len(codecs.BOM_UTF8) :].decode("utf-8"), []
        except UnicodeDecodeError as exc:
            raise _SourceError(
                Message(
                    N_("{file} starts with a UTF-8 marker but is not valid UTF-8 ({error})."),
                    file=label,
                    error=str(exc),
                ),
                N_("Save the file again as 'CSV UTF-8'."),
            ) from exc
    if data.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        try:
            return data.decode("utf-16"), []
        except UnicodeDecodeError as exc:
            raise _SourceError(
                Message(
                    N_(
                        "{file} starts with a UTF-16 marker but is not valid UTF-16 ({error}); "
                        "it may be cut short."
                    ),
                    file=label,
                    error=str(exc),
                ),
                N_("Save the file again as 'CSV UTF-8' (Excel: Save As > CSV UTF-8)."),
            ) from exc
    utf16 = _utf16_without_bom(data)
    if utf16 is not None:
        problem = Problem(
            label,
            None,
            None,
            Message(
                N_("The file has no byte-order mark but looks like {encoding}; it was read as such."),
                encoding=utf16.upper(),
            ),
            N_("Check the text in the result; save the file as 'CSV UTF-8' to avoid this warning."),
            "warning",
        )
        return data.decode(utf16), [problem]
    try:
        return data.decode("utf-8"), []
    except UnicodeDecodeError:
        pass
    try:
        text = data.decode(FALLBACK_ENCODING)
    except UnicodeDecodeError as exc:
        raise _SourceError(
            Message(
                N_("{file} is not UTF-8 text, nor {encoding} ({error})."),
                file=label,
                encoding=FALLBACK_ENCODING,
                error=str(exc),
            ),
            N_(
                "Save the file as 'CSV UTF-8' (Excel: Save As > CSV UTF-8), or pass `encoding=`, "
                "e.g. encoding='latin-1'."
            ),
        ) from None
    problem = Problem(
        label,
        None,
        None,
        Message(
            N_("The file is not UTF-8; it was read as {encoding} (Windows Central European)."),
            encoding=FALLBACK_ENCODING,
        ),
        N_(
            "Check letters such as ë, ç, č, ć, š, ž, đ in the result. Save the file as 'CSV UTF-8' to avoid "
            "this, or pass `encoding=` if it was saved in another encoding (e.g. encoding='cp1252')."
        ),
        "warning",
    )
    return text, [problem]


def _utf16_without_bom(data: bytes) -> str | None:
    """``"utf-16-le"``/``"utf-16-be"`` when the bytes look like UTF-16 text without a BOM, else ``None``.

    Text of Latin letters in UTF-16 has a NUL in every other byte; UTF-8 text has none.
    """
    sample = data[:4096]
    if len(sample) < 4 or len(sample) % 2 or b"\x00" not in sample:
        return None
    half = len(sample) // 2
    odd, even = sample[1::2].count(0), sample[0::2].count(0)
    for name, zeros, others in (("utf-16-le", odd, even), ("utf-16-be", even, odd)):
        if zeros >= 0.9 * half and others == 0:
            try:
                data.decode(name)
            except UnicodeDecodeError:
                return None
            return name
    return None


def _sniff_delimiter(text: str, suffix: str) -> str:
    """Pick the delimiter that splits the header into most columns, consistently over the first lines."""
    lines = [line for line in text[:_SNIFF_CHARS].splitlines()[:_SNIFF_LINES] if line.strip()]
    best, best_key = ("\t" if suffix == ".tsv" else ","), (-1.0, 0)
    for delimiter in _DELIMITERS:
        try:
            counts = [len(fields) for fields in csv.reader(lines, delimiter=delimiter)]
        except csv.Error:  # e.g. a field larger than the csv module's limit: not this delimiter
            continue
        while len(counts) > 1 and counts[0] == 1:  # a title line above the header: judge the rest
            counts = counts[1:]
        if not counts or counts[0] < 2:
            continue
        key = (sum(n == counts[0] for n in counts) / len(counts), counts[0])
        if key > best_key:
            best, best_key = delimiter, key
    return best


def _width_below_title(text: str, delimiter: str) -> int | None:
    """Return the width of the first line with several fields, when lines of one field (a title) lead."""
    lines = [line for line in text.splitlines()[:_SNIFF_LINES] if line.strip()]
    try:
        counts = [len(fields) for fields in csv.reader(lines, delimiter=delimiter)]
    except csv.Error:
        return None
    if not counts or counts[0] != 1:
        return None
    return next((n for n in counts if n > 1), None)


def _header(values: list[Any]) -> list[str]:
    """Column names from a header row: stripped; an empty cell is named ``Unnamed: <position>``."""
    names = []
    for position, value in enumerate(values):
        name = "" if _validate._is_missing(value) else str(value).strip().strip(_INVISIBLE).strip()
        names.append(name or f"Unnamed: {position}")
    return names


def _split_header(
    raw: pd.DataFrame, label: str, *, first_line: int, limits: _Limits | None = None
) -> tuple[pd.DataFrame, np.ndarray, int, list[Problem]]:
    """
    Find the header of a table read without one, and take it as the column names.

    The header is the first non-blank row, unless a lower one among the first rows reads as a header
    (column names that :mod:`socialmap.columns` knows) or the rows above it are a title (one filled
    cell each): then the rows above it are skipped, with a warning. Reading the header ourselves
    keeps repeated names as they are (pandas would rename the second ``name`` to ``name.1``, hiding
    the mistake) and blank rows above it do not shift the columns. Returns the non-blank data rows,
    their row numbers in the file (``first_line`` is the number of ``raw``'s first row), the header's
    row number and the warnings.
    """
    from socialmap.columns import HEADER_SEARCH_ROWS, header_row

    blank = raw.isna().all(axis=1).to_numpy()
    filled = np.flatnonzero(~blank)
    if len(filled) == 0:
        return pd.DataFrame(), np.zeros(0, dtype=int), first_line, []
    candidates = filled[:HEADER_SEARCH_ROWS]
    head = int(candidates[header_row([raw.iloc[int(i)].tolist() for i in candidates])])
    problems: list[Problem] = []
    if head != filled[0]:
        skipped = [str(v).strip() for i in filled[filled < head] for v in raw.iloc[int(i)].tolist()]
        title = "; ".join(v for v in skipped if v and v.lower() != "nan")
        problems.append(
            Problem(
                label,
                first_line + head,
                None,
                Message(
                    N_("Read row {row} as the header; the row(s) above it were skipped as a title: {title}"),
                    row=first_line + head,
                    title=repr(title[:120]),
                ),
                N_("Nothing to do; if the column names are in another row, delete the rows above them."),
                "warning",
            )
        )
    _check_columns(label, raw.shape[1])
    frame = raw.iloc[head + 1 :].reset_index(drop=True)
    frame.columns = _header(raw.iloc[head].tolist())
    _check_count(label, len(frame), limits)
    keep = ~blank[head + 1 :]
    rows = np.flatnonzero(keep) + first_line + head + 1
    return frame[keep].reset_index(drop=True), rows, first_line + head, problems


def _read_csv(file: Path, label: str, encoding: str | None, limits: _Limits) -> _Source:
    text, problems = _decode(file.read_bytes(), label, encoding)
    text = text.removeprefix("\ufeff")  # a second byte-order mark (a file saved twice with one)
    nuls = text.count("\x00")
    if nuls:  # pandas' parser drops them silently: say so
        text = text.replace("\x00", "")
        problems.append(
            Problem(
                label,
                None,
                None,
                Message(
                    *Nn_(
                        "Removed {n} NUL character (invisible, byte 0) from the file.",
                        "Removed {n} NUL characters (invisible, byte 0) from the file.",
                    ),
                    nuls,
                    n=Number(nuls, ","),
                ),
                N_("Nothing to do (repaired); check that the file was saved as text (CSV UTF-8)."),
                "warning",
            )
        )
    if not text.strip():
        source = _empty_rows(label, "CSV")
        source.problems = [*problems, *source.problems]
        return source
    # Blank lines before the header: skipped here (pandas cannot take them), counted in row numbers.
    lead = _LEADING_BLANK_LINES.match(text)
    skipped = len(_NEWLINE.findall(lead.group(0))) if lead else 0
    text = text[lead.end() :] if lead else text
    delimiter = _sniff_delimiter(text, file.suffix.lower())
    first = _NEWLINE.split(text[:_SNIFF_CHARS], 1)[0]
    width = _width_below_title(text, delimiter)
    columns = max(first.count(delimiter) + 1, width or 0)  # an upper bound: quoted delimiters count too
    _check_columns(label, columns)
    # Upper bounds before pandas parses anything (a line break inside quotes counts as a row too).
    lines = max(text.count("\n"), text.count("\r")) + (not text.endswith(("\n", "\r")))
    _check_count(label, lines - 1, limits)
    _check_cells(label, lines - 1, columns)
    fix = N_('Check that line for a missing or extra delimiter or an unclosed quote (").')
    what = Message(N_("CSV with the delimiter {delimiter}"), delimiter=repr(delimiter))
    with _reading(label, what, fix, notes=problems):
        raw = pd.read_csv(
            _stdio.StringIO(text),
            sep=delimiter,
            header=None,  # the header is taken below: pandas would rename repeated names ('a.1')
            dtype=str,
            keep_default_na=False,
            na_values=[""],
            skip_blank_lines=False,
            nrows=limits.rows + 2,
            # A title line above the header has fewer fields: give pandas the header's width.
            names=None if width is None else list(range(width)),
        )
    frame, rows, header, found = _split_header(raw, label, first_line=1 + skipped, limits=limits)
    problems.extend(found)
    if len(frame) == 0:
        source = _empty_rows(label, "CSV")
        source.problems = [*problems, *source.problems]
        return source
    decimal = {";": ",", ",": "."}.get(delimiter)
    logger.info("read %d rows from %s (CSV, delimiter %r)", len(frame), label, delimiter)
    return _Source(label, "CSV", frame, rows, problems, decimal, header)


# XLSX -------------------------------------------------------------------------------------------


def _read_excel(file: Path, label: str, sheet: str | int | None, limits: _Limits) -> _Source:
    problems: list[Problem] = []
    fix = N_("Check that the file is a complete .xlsx workbook (open it in Excel and save it again).")
    workbook = Message(N_("an Excel workbook"))
    if zipfile.is_zipfile(file):  # else openpyxl says what it is not
        infos = _zip_directory(file, label, workbook, fix, unpacked_to_disk=False, limits=limits)
        with _reading(label, workbook, fix):
            _scan_workbook(file, infos, label, sheet, limits)
    with _reading(label, workbook, fix, notes=problems):
        with pd.ExcelFile(file, engine="openpyxl") as book:
            names = [str(n) for n in book.sheet_names]
            if not names:
                raise _SourceError(Message(N_("{file} has no sheet."), file=label), fix)
            if sheet is None:
                sheet = names[0]
                if len(names) > 1:
                    problems.append(
                        Problem(
                            label,
                            None,
                            None,
                            Message(
                                N_("Read the first sheet '{sheet}'; the workbook also has: {others}."),
                                sheet=names[0],
                                others=", ".join(names[1:]),
                            ),
                            N_("Pass `sheet=` to read another sheet."),
                            "warning",
                        )
                    )
            elif not isinstance(sheet, int) and str(sheet) not in names:
                raise _SourceError(
                    Message(
                        N_("{file} has no sheet '{sheet}'; its sheets are: {sheets}."),
                        file=label,
                        sheet=sheet,
                        sheets=", ".join(names),
                    ),
                    N_("Use one of these names in `sheet=`."),
                )
            frame = pd.read_excel(book, sheet_name=sheet, header=None, dtype=object, nrows=limits.rows + 2)
    frame, rows, header, found = _split_header(frame, label, first_line=1, limits=limits)
    problems.extend(found)
    if len(frame) == 0:
        source = _empty_rows(label, "XLSX")
        source.problems = [*problems, *source.problems]
        return source
    logger.info("read %d rows from %s (XLSX, sheet %r)", len(frame), label, sheet)
    return _Source(label, "XLSX", frame, rows, problems, header_row=header)


class _XMLScan:
    """Streaming checks of one XML part of a workbook (expat, in chunks: nothing is built in memory)."""

    def __init__(self, label: str, part: str) -> None:
        import xml.parsers.expat

        self.label, self.part = label, part
        self.parser = xml.parsers.expat.ParserCreate()
        self.parser.StartDoctypeDeclHandler = self._doctype
        self.parser.EntityDeclHandler = self._doctype

    def _doctype(self, *args: Any) -> None:
        raise _SourceError(
            Message(
                N_(
                    "{file}: the part '{part}' declares a document type or entities, which Excel never "
                    "writes (a way to make a reader expand text without end); it was refused."
                ),
                file=self.label,
                part=_plain(self.part),
            ),
            N_("Open the file in Excel or LibreOffice and save it again as .xlsx."),
        )

    def feed(self, archive: zipfile.ZipFile, info: zipfile.ZipInfo) -> None:
        with archive.open(info) as stream:
            while chunk := stream.read(_SCAN_CHUNK):
                self.parser.Parse(chunk, False)
        self.parser.Parse(b"", True)


def _column_number(ref: str) -> int:
    """Return the 1-based column of a cell reference such as ``"XFD12"`` (0 if it has no letters)."""
    number = 0
    for ch in ref:
        if not ch.isalpha():
            break
        number = number * 26 + (ord(ch.upper()) - 64)
    return number


def _row_number(ref: str) -> int:
    digits = ref.lstrip("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz")
    return int(digits) if digits.isdigit() else 0


class _SheetScan(_XMLScan):
    """
    Count a worksheet's extent and the text its shared-string cells expand to.

    The extent is as pandas will build it: the largest row and column used, whatever the
    ``<dimension>`` element says. The scan stops at the first limit passed.
    """

    def __init__(self, label: str, part: str, limits: _Limits, shared: list[int]) -> None:
        super().__init__(label, part)
        self.limits, self.shared = limits, shared
        self.rows = self.columns = self.column = 0
        self.text = 0
        self.in_value = self.shared_cell = False
        self.value: list[str] = []
        self.parser.StartElementHandler = self._start
        self.parser.EndElementHandler = self._end
        self.parser.CharacterDataHandler = self._data

    def _extent(self, rows: int, columns: int) -> None:
        if columns > self.columns:
            self.columns = columns
            _check_columns(self.label, columns, partial=True)
        if rows > self.rows:
            self.rows = rows
            _check_count(self.label, rows - 1, self.limits, partial=True)
        _check_cells(self.label, self.rows, self.columns, partial=True)

    def _start(self, name: str, attrs: dict[str, str]) -> None:
        tag = name.rsplit(":", 1)[-1]
        if tag == "row":
            row = attrs.get("r", "")
            self.row = int(row) if row.isdigit() else self.rows + 1
            self.column = 0
            self._extent(self.row, self.columns)
        elif tag == "c":
            ref = attrs.get("r", "")
            self.column = _column_number(ref) or self.column + 1
            self._extent(max(self.rows, _row_number(ref)), self.column)
            self.shared_cell = attrs.get("t") == "s"
        elif tag == "v" and self.shared_cell:
            self.in_value, self.value = True, []

    def _data(self, data: str) -> None:
        if self.in_value:
            self.value.append(data)

    def _end(self, name: str) -> None:
        if self.in_value and name.rsplit(":", 1)[-1] == "v":
            self.in_value = False
            index = "".join(self.value).strip()
            if index.isdigit() and int(index) < len(self.shared):
                self.text += self.shared[int(index)]
                if self.text > self.limits.size:
                    raise _decoded_too_large(self.label, self.text, Message(N_("text")), self.limits)


class _SharedStrings(_XMLScan):
    """The length of every shared string (``xl/sharedStrings.xml``), counted as they stream by."""

    def __init__(self, label: str, part: str) -> None:
        super().__init__(label, part)
        self.lengths: list[int] = []
        self.parser.StartElementHandler = self._start
        self.parser.CharacterDataHandler = self._data

    def _start(self, name: str, attrs: dict[str, str]) -> None:
        if name.rsplit(":", 1)[-1] == "si":
            self.lengths.append(0)
            if len(self.lengths) > settings.max_cells:
                _check_cells(self.label, len(self.lengths), 1, partial=True)

    def _data(self, data: str) -> None:
        if self.lengths:
            self.lengths[-1] += len(data)


def _workbook_sheets(archive: zipfile.ZipFile, names: set[str]) -> list[tuple[str, str]]:
    """Return the sheets' names and parts in the workbook's order (``[]`` if the workbook does not say)."""
    import xml.etree.ElementTree as ET

    def root(part: str) -> Any:
        return ET.fromstring(archive.read(part)) if part in names else None

    workbook, rels = root("xl/workbook.xml"), root("xl/_rels/workbook.xml.rels")
    if workbook is None or rels is None:
        return []
    targets = {r.get("Id"): str(r.get("Target", "")) for r in rels if r.tag.endswith("Relationship")}
    parts = []
    for element in workbook.iter():
        if element.tag.endswith("}sheet") or element.tag == "sheet":
            rid = next((v for k, v in element.attrib.items() if k.endswith("}id")), None)
            target = targets.get(rid, "")
            part = target.lstrip("/") if target.startswith("/") else f"xl/{target}"
            parts.append((str(element.get("name", "")), part))
    return parts


def _scan_workbook(
    file: Path, infos: list[zipfile.ZipInfo], label: str, sheet: str | int | None, limits: _Limits
) -> None:
    """
    Check an XLSX workbook's XML before openpyxl parses it.

    Every XML part is streamed through expat (no document type or entity declarations: Excel writes
    none); the shared strings are measured; and the worksheet to be read (every worksheet, when the
    workbook's list of sheets cannot be followed) is scanned for its extent (rows, columns and cells as
    pandas would build them) and for the text its cells expand to, so a sheet of 16,384 columns or one
    string referenced a million times is refused in a second instead of after minutes of parsing.
    """
    names = {i.filename for i in infos}
    with zipfile.ZipFile(file) as archive:
        shared = _SharedStrings(label, "xl/sharedStrings.xml")
        worksheets = [i for i in infos if re.fullmatch(r"xl/worksheets/[^/]+\.xml", i.filename)]
        others = [
            i
            for i in infos
            if i.filename.lower().endswith((".xml", ".rels")) and i not in worksheets and not i.is_dir()
        ]
        for info in others:
            (shared if info.filename == "xl/sharedStrings.xml" else _XMLScan(label, info.filename)).feed(
                archive, info
            )
        order = _workbook_sheets(archive, names)
        wanted = [p for n, p in order if n == str(sheet)] if isinstance(sheet, str) else []
        if order and (sheet is None or isinstance(sheet, int)):
            position = 0 if sheet is None else sheet
            wanted = [order[position][1]] if -len(order) <= position < len(order) else []
        chosen = [i for i in worksheets if i.filename in wanted] or worksheets
        for info in chosen:
            _SheetScan(label, info.filename, limits, shared.lengths).feed(archive, info)


# --------------------------------------------------------------------------------------------------
# Loaders
# --------------------------------------------------------------------------------------------------


def _numeric_text_columns(frame: pd.DataFrame, skip: set[str], decimal: str | None) -> pd.DataFrame:
    """Turn text columns whose every value is a number into numbers (codes with a leading zero stay)."""
    out = frame
    for col in frame.columns:
        if col in skip or col == "geometry":
            continue
        values = frame[col].tolist()
        texts = [v for v in values if isinstance(v, str)]
        if not texts or any(re.fullmatch(r"[+-]?0\d+", t.strip()) for t in texts):
            continue
        parsed = [_validate.parse_number(v, decimal=decimal) for v in values]
        if all(ok for _, ok in parsed):
            if out is frame:
                out = frame.copy()
            out[col] = np.array([n for n, _ in parsed], dtype=float)
    return out


def _outcome(label: str, kind: str, problems: list[Problem]) -> str | None:
    """Raise the errors; return the text of the one warning to emit, or ``None``."""
    problems = sorted(problems, key=_validate._problem_order)
    if any(p.severity == "error" for p in problems):
        raise ValidationError(problems)
    notes = [p for p in problems if p.severity != "error"]
    if not notes:
        return None
    from socialmap.errors import more_problems

    limit = max(int(settings.max_problems_shown), 1)
    lines = [f"  - {p}" for p in notes[:limit]]
    if len(notes) > limit:
        lines.append("  " + more_problems(len(notes) - limit, "en"))
    return f"{label}: {len(notes)} warning(s) while reading {kind}:\n" + "\n".join(lines)


def _load(
    kind: str,
    path: str | PathLike[str],
    *,
    layer: str | int | None,
    sheet: str | int | None,
    encoding: str | None,
    **options: Any,
) -> tuple[pd.DataFrame, str | None]:
    source = _read_source(path, layer=layer, sheet=sheet, encoding=encoding, limits=_Limits.for_kind(kind))
    if source.frame is None:
        _outcome(source.label, kind, source.problems)
        raise AssertionError("unreachable: an unread source always carries an error")
    common: dict[str, Any] = {"file": source.label, "rows": source.rows}
    if kind == "areas":
        clean, problems = _validate._validate_areas(source.frame, **common, **options)
    elif kind == "services":
        clean, problems = _validate._validate_services(
            source.frame, **common, decimal=source.decimal, **options
        )
    else:
        clean, problems = _validate._validate_population(
            source.frame, **common, decimal=source.decimal, **options
        )
    message = _outcome(source.label, kind, [*source.problems, *problems])
    clean = clean.reset_index(drop=True)
    if source.fmt == "CSV":
        required, optional = _validate._contract(kind)
        clean = _numeric_text_columns(clean, {*required, *optional}, source.decimal)
    logger.info("%s: %d %s after validation", source.label, len(clean), kind)
    return clean, message


def read_areas(
    path: str | PathLike[str],
    *,
    columns: dict[str, str] | None = None,
    crs: Any = None,
    layer: str | int | None = None,
) -> gpd.GeoDataFrame:
    """
    Read areas (polygons, e.g. municipalities) from a file.

    Parameters
    ----------
    path
        GeoJSON, GeoPackage, Shapefile (``.shp`` or zipped), GeoParquet.
    columns
        Mapping ``{"their name": "our name"}`` onto ``area_id``, ``name``, ``name_sq``, ``name_sr``,
        ``name_en``, e.g. ``{"shapeID": "area_id", "shapeName": "name"}`` for geoBoundaries. Names that
        differ from ours only in case, spaces or hyphens are matched without it.
    crs
        The CRS of the coordinates, for a file that declares none (e.g. a Shapefile without .prj).
    layer
        The layer of a GeoPackage, or the dataset of a ZIP holding several; required when there are several.

    Returns
    -------
    gdf
        One row per area: ``area_id`` (text, unique), ``name``, the optional name columns, the file's other
        columns, ``geometry`` (valid polygons), in the file's CRS. ``gdf.attrs["attribution"]`` holds the
        attribution the file asks for, when its metadata (or geoBoundaries' layout) says
        (:func:`socialmap.datasets.boundaries_attribution`); maps and briefs show it.

    Raises
    ------
    ValidationError
        Listing every problem, when any is an error (missing columns, duplicate ids, no CRS, ...).
    DataSourceError
        When the file cannot be read at all (missing, too large, unknown format, several layers).

    Warns
    -----
    UserWarning
        One, listing the safe repairs made (e.g. invalid polygons repaired, whitespace stripped).
    """
    clean, message = _load("areas", path, layer=layer, sheet=None, encoding=None, columns=columns, crs=crs)
    if message:
        warnings.warn(message, UserWarning, stacklevel=2)
    from socialmap.datasets import boundaries_attribution

    attribution = boundaries_attribution(path, clean)
    if attribution:
        clean.attrs["attribution"] = attribution
    return clean


def read_services(
    path: str | PathLike[str],
    *,
    columns: dict[str, str] | None = None,
    crs: Any = None,
    taxonomy: Any = None,
    areas: gpd.GeoDataFrame | None = None,
    centroids: bool = False,
    layer: str | int | None = None,
    sheet: str | int | None = None,
    encoding: str | None = None,
) -> gpd.GeoDataFrame:
    """
    Read services (points) from a vector file, or from CSV/XLSX with coordinate columns.

    CSV and XLSX coordinates are taken as longitude/latitude in degrees (EPSG:4326) unless ``crs`` names
    the CRS they are in.

    Parameters
    ----------
    path
        GeoJSON, GeoPackage, Shapefile (``.shp`` or zipped), GeoParquet, CSV or XLSX.
    columns
        Mapping ``{"their name": "our name"}`` onto ``service_id``, ``name``, ``service_type``,
        ``capacity``, ``provider``, ``target_groups``, and the coordinates ``lat`` / ``lon``.
    crs
        CRS of CSV/XLSX coordinates (default EPSG:4326), or of a vector file that declares none.
    taxonomy
        Taxonomy (or any object with ``.service_type_keys``) to check ``service_type`` against;
        ``None`` skips that check.
    areas
        Areas to check the locations against: points outside every area are reported (a warning),
        and points that fit the areas only with latitude and longitude swapped are errors.
    centroids
        Replace polygon services by their centroids (with a warning) instead of rejecting them.
    layer
        The layer of a GeoPackage, or the dataset of a ZIP holding several.
    sheet
        The sheet of an XLSX workbook (name or 0-based position); default the first.
    encoding
        Text encoding of a CSV file; default UTF-8 (with or without BOM), falling back to
        :data:`FALLBACK_ENCODING` with a warning.

    Returns
    -------
    gdf
        One row per service: ``service_id`` (text, unique), ``name``, ``service_type``, ``capacity``
        (float; NaN = unknown, never taken as 1), optional columns, the file's other columns, and
        ``geometry`` (points), in the file's CRS (EPSG:4326 for CSV/XLSX unless ``crs``).

    Raises
    ------
    ValidationError
        Listing every problem, when any is an error.
    DataSourceError
        When the file cannot be read at all.

    Warns
    -----
    UserWarning
        One, listing the warnings (missing capacities, services outside the areas, repairs).
    """
    clean, message = _load(
        "services",
        path,
        layer=layer,
        sheet=sheet,
        encoding=encoding,
        columns=columns,
        crs=crs,
        taxonomy=taxonomy,
        areas=areas,
        centroids=centroids,
    )
    if message:
        warnings.warn(message, UserWarning, stacklevel=2)
    return clean


def read_population(
    path: str | PathLike[str],
    *,
    columns: dict[str, str] | None = None,
    areas: gpd.GeoDataFrame | None = None,
    aliases: Any = None,
    layer: str | int | None = None,
    sheet: str | int | None = None,
    encoding: str | None = None,
) -> pd.DataFrame:
    """
    Read a population table (one row per area) from CSV, XLSX, Parquet or a vector file.

    When the table has no ``area_id`` but has a ``name`` and ``areas`` are given, each row is joined to
    the area its name matches, with ``socialmap.names.match`` (spelling variants, diacritics, Albanian
    and Serbian forms); names that match no area are errors, non-exact matches are listed in the warning.

    Parameters
    ----------
    path
        The table.
    columns
        Mapping ``{"their name": "our name"}`` onto ``area_id``, ``population``, ``name``, ``year``, ...
    areas
        The areas: to check the ids against, and to join by name.
    aliases
        Extra spellings for the name join, passed to ``socialmap.names.match``.
    layer, sheet, encoding
        As for :func:`read_services`.

    Returns
    -------
    df
        ``area_id`` (text), ``population`` (float, extensive count; NaN = unknown), then the other
        columns (numbers where every value is one). A geometry, if any, is dropped (with a warning).

    Raises
    ------
    ValidationError
        Listing every problem, when any is an error.
    DataSourceError
        When the file cannot be read at all.

    Warns
    -----
    UserWarning
        One, listing the warnings (unknown populations, areas without a row, non-exact name matches).
    """
    clean, message = _load(
        "population",
        path,
        layer=layer,
        sheet=sheet,
        encoding=encoding,
        columns=columns,
        areas=areas,
        aliases=aliases,
    )
    if message:
        warnings.warn(message, UserWarning, stacklevel=2)
    return pd.DataFrame(clean)
