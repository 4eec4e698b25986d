"""Reading a file into a raw table, before validation: the formats, the limits, the hostile files.

:func:`_read_source` reads any supported file (vector files, ZIP, Parquet: :mod:`.vector`; CSV and
XLSX: :mod:`.sheets`) into a :class:`~socialmap.sources.base._Source`: its frame, row numbers and
problems, never raising for a file it cannot read. The loaders of :mod:`socialmap.io` validate
what it returns (:mod:`socialmap.validate`); :func:`socialmap.validate.validate_file` and the
column preview read files through it too.
"""

from __future__ import annotations

from os import PathLike
from pathlib import Path

from socialmap.errors import Message
from socialmap.i18n import N_
from socialmap.sources.base import (
    _EXCEL,
    _PARQUET,
    _TEXT,
    _VECTOR,
    _ZIP,
    SUPPORTED_SUFFIXES,
    _check_size,
    _empty_source,
    _exception_text,
    _Limits,
    _Source,
    _SourceError,
    _supported,
)
from socialmap.sources.sheets import (
    _read_csv,
    _read_excel,
)
from socialmap.sources.vector import (
    _read_parquet,
    _read_vector,
    _read_zip,
)


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
