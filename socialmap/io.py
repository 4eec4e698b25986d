"""Read areas, services and population from files (the loaders); write files atomically.

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

import logging
import re
import warnings
from os import PathLike
from typing import Any

import geopandas as gpd
import numpy as np
import pandas as pd

from socialmap import settings
from socialmap import validate as _validate
from socialmap.atomic import write_atomic
from socialmap.errors import Problem, ValidationError

# Reading a file's rows lives in socialmap.sources (by format), writing files atomically in
# socialmap.atomic; the names the loaders' users know stay importable from here.
from socialmap.sources import _read_source
from socialmap.sources.base import SUPPORTED_SUFFIXES, _Limits
from socialmap.sources.sheets import FALLBACK_ENCODING

logger = logging.getLogger(__name__)

__all__ = [
    "FALLBACK_ENCODING",
    "SUPPORTED_SUFFIXES",
    "read_areas",
    "read_population",
    "read_services",
    "write_atomic",
]


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
        (:func:`socialmap.areasets.boundaries_attribution`); maps and briefs show it.

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
    from socialmap.areasets import boundaries_attribution

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
