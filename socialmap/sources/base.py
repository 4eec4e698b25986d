"""What every reader of a file shares: the read source, the limits a file may cost, and the errors.

A file the loaders cannot read at all comes out as a :class:`~socialmap.errors.DataSourceError`
(here :class:`_SourceError`, message and fix kept apart so that both translate); warnings the
third-party readers emit are collected as problems (:func:`_reading`). See :mod:`socialmap.io` for
what the loaders promise.
"""

from __future__ import annotations

import contextlib
import re
import threading
import warnings
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from socialmap import settings
from socialmap.errors import DataSourceError, Message, Number, Problem
from socialmap.i18n import N_, Nn_

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


#: Third-party error texts quoted in messages are cut to this length.
_MAX_EXCEPTION_TEXT = 300


#: At most this many distinct warnings of a third-party reader are passed on.
_MAX_READER_WARNINGS = 5


#: ``warnings.catch_warnings`` changes process-wide state: loaders running in several threads (the app's
#: sessions) take turns, so that one thread's block cannot swallow or restore another's.
_WARNINGS_LOCK = threading.RLock()


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
    text = _CONTROL.sub("", _LINE_CONTROL.sub(" ", text)).strip()
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


def _empty_source(label: str, fmt: str) -> _Source:
    problem = Problem(
        label,
        None,
        None,
        N_("The file is empty (0 bytes)."),
        N_("Check that this is the right file, and that it was saved or uploaded completely."),
    )
    return _Source(label, fmt, None, np.zeros(0, dtype=int), [problem])


def _empty_rows(label: str, fmt: str) -> _Source:
    problem = Problem(
        label,
        None,
        None,
        N_("The file has no data rows."),
        N_("Check that this is the right file (and layer or sheet), and that it has data below the header."),
    )
    return _Source(label, fmt, None, np.zeros(0, dtype=int), [problem])


_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f]")


_LINE_CONTROL = re.compile(r"[\t\n\r]")


def _is_missing(value: Any) -> bool:
    if value is None or value is pd.NA or value is pd.NaT:
        return True
    if isinstance(value, float | np.floating):
        return bool(np.isnan(value))
    return False
