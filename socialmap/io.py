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
a ``,``-separated file the reverse (see :func:`socialmap.validate.parse_number`). The text must be UTF-8,
with or without a byte-order mark (UTF-16 with a byte-order mark is read too). A file that is not
valid UTF-8 is read as Windows-1250 (Central European: covers Albanian ë, ç and Serbian Latin č, ć, š, ž,
đ), with a warning; pass ``encoding=`` to choose another. Coordinate columns are found under any usual
name (``lat``/``latitude``/``y``, ``lon``/``lng``/``long``/``longitude``/``x``, any case); map other
columns with ``columns={"their name": "our name"}``. Other columns whose every value is a number are
turned into numbers, unless a value has a leading zero (codes such as ``"01"`` stay text).

Row numbers in problems: for CSV and XLSX the header is row 1 and data start at row 2 (as a spreadsheet
shows them); for vector files the first feature is row 1.

Limits: ``settings.max_upload_bytes`` (file size; for a ZIP also its unpacked size) and
``settings.max_features`` (rows), both read at call time.
"""

from __future__ import annotations

import codecs
import csv
import io as _stdio
import logging
import os
import re
import shutil
import tempfile
import warnings
import zipfile
from collections.abc import Callable
from dataclasses import dataclass, field
from os import PathLike
from pathlib import Path
from typing import Any

import geopandas as gpd
import numpy as np
import pandas as pd
import pyogrio
import pyogrio.errors

from socialmap import settings
from socialmap import validate as _validate
from socialmap.errors import DataSourceError, Problem, ValidationError

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
_OGR_ERRORS = (
    pyogrio.errors.DataSourceError,
    pyogrio.errors.DataLayerError,
    pyogrio.errors.FieldError,
    pyogrio.errors.FeatureError,
    pyogrio.errors.GeometryError,
    pyogrio.errors.CRSError,
)


class _SourceError(DataSourceError):
    """A file cannot be read at all; carries the message and the fix separately."""

    def __init__(self, message: str, fix: str) -> None:
        self.message = message
        self.fix = fix
        super().__init__(f"{message} Fix: {fix}")


@dataclass
class _Source:
    """A file as read, before validation."""

    label: str
    fmt: str
    frame: pd.DataFrame | None
    rows: np.ndarray
    problems: list[Problem] = field(default_factory=list)
    decimal: str | None = None


# --------------------------------------------------------------------------------------------------
# Atomic writes
# --------------------------------------------------------------------------------------------------


def write_atomic(path: str | PathLike[str], writer: Callable[[Path], object]) -> Path:
    """
    Write a file so that readers see either the old file or the complete new one, never a part.

    ``writer`` writes to a temporary path in the same folder (inside a hidden temporary directory, with
    the target's own file name, so writers that choose the format from the name work); the result is
    then moved over ``path`` with ``os.replace``. If ``writer`` fails, ``path`` is left as it was and
    the temporary file is removed. Missing parent folders are created.

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

    Examples
    --------
    >>> import tempfile, pathlib
    >>> folder = pathlib.Path(tempfile.mkdtemp())
    >>> write_atomic(folder / "note.txt", lambda p: p.write_text("hello")).read_text()
    'hello'
    """
    target = Path(path)
    if target.is_dir():
        raise IsADirectoryError(f"`path` {str(target)!r} is a folder; name the file to write.")
    folder = target.parent
    folder.mkdir(parents=True, exist_ok=True)
    scratch = Path(tempfile.mkdtemp(prefix=f".{target.name}.", suffix=".tmp", dir=folder))
    try:
        temporary = scratch / target.name
        writer(temporary)
        if not temporary.is_file():
            raise OSError(f"The writer did not create the file {str(temporary)!r}: nothing was written.")
        with open(temporary, "rb+") as handle:
            os.fsync(handle.fileno())
        if target.exists():  # keep the permissions of the file being replaced
            os.chmod(temporary, target.stat().st_mode & 0o7777)
        os.replace(temporary, target)
    finally:
        shutil.rmtree(scratch, ignore_errors=True)
    _fsync_folder(folder)
    logger.info("wrote %s", target)
    return target


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


def _mb(n: int) -> str:
    if n < 1024 * 1024:
        return f"{n:,} bytes"
    return f"{n / 1024 / 1024:.1f} MB"


def _check_size(label: str, size: int, what: str = "") -> None:
    limit = settings.max_upload_bytes
    if size > limit:
        raise _SourceError(
            f"{label}{what} is {_mb(size)}, more than the limit of {_mb(limit)} "
            f"(`socialmap.settings.max_upload_bytes`).",
            "Use a smaller file (simplify the geometries, keep only the columns needed, or split it), "
            "or raise `socialmap.settings.max_upload_bytes`.",
        )


def _check_count(label: str, count: int) -> None:
    limit = settings.max_features
    if count > limit:
        raise _SourceError(
            f"{label} has {count:,} rows or features, more than the limit of {limit:,} "
            f"(`socialmap.settings.max_features`).",
            "Filter or split the file, or raise `socialmap.settings.max_features`.",
        )


def _supported() -> str:
    return "GeoJSON, GeoPackage, zipped Shapefile, GeoParquet, CSV or XLSX"


def _read_source(
    path: str | PathLike[str],
    *,
    layer: str | int | None = None,
    sheet: str | int | None = None,
    encoding: str | None = None,
) -> _Source:
    """Read a file as it is (no column mapping, no checks but size, count and format)."""
    label = str(path)
    file = Path(path)
    if not file.exists():
        raise _SourceError(f"{label} does not exist.", "Check the path and the file name.")
    if file.is_dir():
        raise _SourceError(f"{label} is a folder, not a file.", f"Name a file: {_supported()}.")
    suffix = file.suffix.lower()
    if suffix == ".shp":
        size = sum(p.stat().st_size for p in file.parent.iterdir() if p.stem == file.stem and p.is_file())
    else:
        size = file.stat().st_size
    _check_size(label, size)
    if size == 0:
        return _empty_source(label, suffix)
    if suffix in _VECTOR:
        return _read_vector(str(file), label, _VECTOR[suffix], layer)
    if suffix in _ZIP:
        member, fmt, inner_layer = _zip_member(file, label, layer)
        return _read_vector(member, label, fmt, inner_layer)
    if suffix in _PARQUET:
        return _read_parquet(file, label)
    if suffix in _TEXT:
        return _read_csv(file, label, encoding)
    if suffix in _EXCEL:
        return _read_excel(file, label, sheet)
    if suffix in (".xls", ".ods"):
        raise _SourceError(
            f"{label} is in the {suffix} format, which socialmap does not read.",
            "Save it as .xlsx (Excel workbook) or as CSV UTF-8.",
        )
    raise _SourceError(
        f"{label}: cannot tell the format from the ending '{suffix or '(none)'}'.",
        f"Use one of {', '.join(SUPPORTED_SUFFIXES)} ({_supported()}).",
    )


def _empty_source(label: str, fmt: str) -> _Source:
    problem = Problem(
        label,
        None,
        None,
        "The file is empty (0 bytes).",
        "Check that this is the right file, and that it was saved or uploaded completely.",
    )
    return _Source(label, fmt, None, np.zeros(0, dtype=int), [problem])


def _read_vector(source: str, label: str, fmt: str, layer: str | int | None) -> _Source:
    try:
        layers = [str(name) for name in pyogrio.list_layers(source)[:, 0]]
        if layer is None and len(layers) > 1:
            raise _SourceError(
                f"{label} has {len(layers)} layers: {', '.join(layers)}.",
                f"Choose one with `layer=`, e.g. layer='{layers[0]}'.",
            )
        if layer is not None and not isinstance(layer, int) and str(layer) not in layers:
            raise _SourceError(
                f"{label} has no layer '{layer}'; its layers are: {', '.join(layers)}.",
                "Use one of these names in `layer=`.",
            )
        count = int(pyogrio.read_info(source, layer=layer)["features"])
        if count >= 0:
            _check_count(label, count)
        gdf = gpd.read_file(source, layer=layer, engine="pyogrio", max_features=settings.max_features + 1)
    except _OGR_ERRORS as exc:
        raise _SourceError(
            f"{label} cannot be read as {fmt}: {exc}",
            f"Check that the file is complete and really is {fmt} (re-export it from your GIS).",
        ) from exc
    _check_count(label, len(gdf))
    if len(gdf) == 0:
        return _empty_rows(label, fmt)
    logger.info("read %d features from %s (%s, CRS %s)", len(gdf), label, fmt, gdf.crs)
    return _Source(label, fmt, gdf, np.arange(1, len(gdf) + 1))


def _empty_rows(label: str, fmt: str) -> _Source:
    problem = Problem(
        label,
        None,
        None,
        "The file has no data rows.",
        "Check that this is the right file (and layer or sheet), and that it has data below the header.",
    )
    return _Source(label, fmt, None, np.zeros(0, dtype=int), [problem])


def _zip_datasets(file: Path, label: str) -> list[str]:
    try:
        with zipfile.ZipFile(file) as archive:
            infos = [
                i
                for i in archive.infolist()
                if not i.is_dir()
                and not i.filename.startswith("__MACOSX/")
                and not Path(i.filename).name.startswith("._")
            ]
    except zipfile.BadZipFile as exc:
        raise _SourceError(
            f"{label} is not a valid ZIP file ({exc}).", "Zip the Shapefile's files again."
        ) from exc
    _check_size(label, sum(i.file_size for i in infos), " unpacked")
    names = [i.filename for i in infos]
    datasets = [n for n in names if Path(n).suffix.lower() in _IN_ZIP]
    if not datasets:
        raise _SourceError(
            f"{label} holds no map data (no .shp, .gpkg or .geojson file); it holds: "
            f"{', '.join(names[:20]) or 'nothing'}.",
            "Zip the Shapefile's files together (.shp, .shx, .dbf and .prj).",
        )
    return datasets


def _zip_member(file: Path, label: str, layer: str | int | None) -> tuple[str, str, str | int | None]:
    """Return the GDAL path of the dataset inside a ZIP, its format, and the layer to read in it."""
    datasets = _zip_datasets(file, label)
    if len(datasets) > 1:
        stems = [Path(n).stem for n in datasets]
        if layer is None or str(layer) not in stems:
            raise _SourceError(
                f"{label} holds several datasets: {', '.join(datasets)}.",
                f"Choose one with `layer=`, e.g. layer='{stems[0]}'.",
            )
        member, layer = datasets[stems.index(str(layer))], None
    else:
        member = datasets[0]
    suffix = Path(member).suffix.lower()
    fmt = "zipped " + _VECTOR.get(suffix, "file")
    return f"/vsizip/{file.resolve()}/{member}", fmt, layer


def _read_parquet(file: Path, label: str) -> _Source:
    import pyarrow.parquet as pq

    try:
        _check_count(label, pq.read_metadata(file).num_rows)
        geo = b"geo" in (pq.read_schema(file).metadata or {})
        frame = gpd.read_parquet(file) if geo else pd.read_parquet(file)
    except (OSError, ValueError) as exc:
        raise _SourceError(
            f"{label} cannot be read as (Geo)Parquet: {exc}", "Check that the file is complete."
        ) from exc
    if len(frame) == 0:
        return _empty_rows(label, "Parquet")
    logger.info("read %d rows from %s (%s)", len(frame), label, "GeoParquet" if geo else "Parquet")
    return _Source(label, "GeoParquet" if geo else "Parquet", frame, np.arange(1, len(frame) + 1))


def _decode(data: bytes, label: str, encoding: str | None) -> tuple[str, list[Problem]]:
    if encoding is not None:
        try:
            return data.decode(encoding), []
        except (UnicodeDecodeError, LookupError) as exc:
            raise _SourceError(
                f"{label} cannot be read with encoding='{encoding}': {exc}.",
                "Save the file as 'CSV UTF-8', or pass the encoding it was saved in.",
            ) from exc
    if data.startswith(codecs.BOM_UTF8):
        try:
            return data[len(codecs.BOM_UTF8) :].decode("utf-8"), []
        except UnicodeDecodeError as exc:
            raise _SourceError(
                f"{label} starts with a UTF-8 marker but is not valid UTF-8 ({exc}).",
                "Save the file again as 'CSV UTF-8'.",
            ) from exc
    if data.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        return data.decode("utf-16"), []
    try:
        return data.decode("utf-8"), []
    except UnicodeDecodeError:
        pass
    try:
        text = data.decode(FALLBACK_ENCODING)
    except UnicodeDecodeError as exc:
        raise _SourceError(
            f"{label} is not UTF-8 text, nor {FALLBACK_ENCODING} ({exc}).",
            "Save the file as 'CSV UTF-8' (Excel: Save As > CSV UTF-8), or pass `encoding=`, "
            "e.g. encoding='latin-1'.",
        ) from None
    problem = Problem(
        label,
        None,
        None,
        f"The file is not UTF-8; it was read as {FALLBACK_ENCODING} (Windows Central European).",
        "Check letters such as ë, ç, č, ć, š, ž, đ in the result. Save the file as 'CSV UTF-8' to avoid "
        "this, or pass `encoding=` if it was saved in another encoding (e.g. encoding='cp1252').",
        "warning",
    )
    return text, [problem]


def _sniff_delimiter(text: str, suffix: str) -> str:
    """Pick the delimiter that splits the header into most columns, consistently over the first lines."""
    lines = [line for line in text.splitlines()[:_SNIFF_LINES] if line.strip()]
    best, best_key = ("\t" if suffix == ".tsv" else ","), (-1.0, 0)
    for delimiter in _DELIMITERS:
        counts = [len(fields) for fields in csv.reader(lines, delimiter=delimiter)]
        if not counts or counts[0] < 2:
            continue
        key = (sum(n == counts[0] for n in counts) / len(counts), counts[0])
        if key > best_key:
            best, best_key = delimiter, key
    return best


def _read_csv(file: Path, label: str, encoding: str | None) -> _Source:
    text, problems = _decode(file.read_bytes(), label, encoding)
    if not text.strip():
        source = _empty_rows(label, "CSV")
        source.problems = [*problems, *source.problems]
        return source
    delimiter = _sniff_delimiter(text, file.suffix.lower())
    try:
        frame = pd.read_csv(
            _stdio.StringIO(text),
            sep=delimiter,
            dtype=str,
            keep_default_na=False,
            na_values=[""],
            skip_blank_lines=False,
            nrows=settings.max_features + 1,
        )
    except (pd.errors.ParserError, csv.Error) as exc:
        raise _SourceError(
            f"{label} cannot be read as CSV with the delimiter {delimiter!r}: {exc}",
            'Check that line for a missing or extra delimiter or an unclosed quote (").',
        ) from exc
    except pd.errors.EmptyDataError:
        return _empty_rows(label, "CSV")
    _check_count(label, len(frame))
    frame.columns = [str(col).strip() for col in frame.columns]
    blank = frame.isna().all(axis=1).to_numpy()
    rows = np.flatnonzero(~blank) + 2  # the header is row 1
    frame = frame[~blank].reset_index(drop=True)
    if len(frame) == 0:
        source = _empty_rows(label, "CSV")
        source.problems = [*problems, *source.problems]
        return source
    decimal = {";": ",", ",": "."}.get(delimiter)
    logger.info("read %d rows from %s (CSV, delimiter %r)", len(frame), label, delimiter)
    return _Source(label, "CSV", frame, rows, problems, decimal)


def _read_excel(file: Path, label: str, sheet: str | int | None) -> _Source:
    problems: list[Problem] = []
    try:
        with warnings.catch_warnings():
            warnings.filterwarnings("ignore", category=UserWarning, module="openpyxl")
            with pd.ExcelFile(file, engine="openpyxl") as book:
                names = [str(n) for n in book.sheet_names]
                if sheet is None:
                    sheet = names[0]
                    if len(names) > 1:
                        problems.append(
                            Problem(
                                label,
                                None,
                                None,
                                f"Read the first sheet '{names[0]}'; the workbook also has: "
                                f"{', '.join(names[1:])}.",
                                "Pass `sheet=` to read another sheet.",
                                "warning",
                            )
                        )
                elif not isinstance(sheet, int) and str(sheet) not in names:
                    raise _SourceError(
                        f"{label} has no sheet '{sheet}'; its sheets are: {', '.join(names)}.",
                        "Use one of these names in `sheet=`.",
                    )
                frame = pd.read_excel(book, sheet_name=sheet, dtype=object, nrows=settings.max_features + 1)
    except (OSError, ValueError, KeyError, zipfile.BadZipFile) as exc:
        raise _SourceError(
            f"{label} cannot be read as an Excel workbook: {exc}",
            "Check that the file is a complete .xlsx workbook (open it in Excel and save it again).",
        ) from exc
    _check_count(label, len(frame))
    frame.columns = [str(col).strip() for col in frame.columns]
    blank = frame.isna().all(axis=1).to_numpy()
    rows = np.flatnonzero(~blank) + 2  # the header is row 1
    frame = frame[~blank].reset_index(drop=True)
    if len(frame) == 0:
        source = _empty_rows(label, "XLSX")
        source.problems = [*problems, *source.problems]
        return source
    logger.info("read %d rows from %s (XLSX, sheet %r)", len(frame), label, sheet)
    return _Source(label, "XLSX", frame, rows, problems)


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
    return f"{label}: {len(notes)} warning(s) while reading {kind}:\n" + "\n".join(f"  - {p}" for p in notes)


def _load(
    kind: str,
    path: str | PathLike[str],
    *,
    layer: str | int | None,
    sheet: str | int | None,
    encoding: str | None,
    **options: Any,
) -> tuple[pd.DataFrame, str | None]:
    source = _read_source(path, layer=layer, sheet=sheet, encoding=encoding)
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
        columns, ``geometry`` (valid polygons), in the file's CRS.

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
