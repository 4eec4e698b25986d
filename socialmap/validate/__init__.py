"""Checks and safe repairs of areas, services and population, collected into one report.

Every check of a frame runs, and every problem found is returned together (file, row, column, what is
wrong, how to fix it), so a person can fix a file in one pass. The validators never raise on bad data:
they return ``(clean_frame, problems)``. The loaders in :mod:`socialmap.io` call them, raise one
:class:`~socialmap.errors.ValidationError` when there are errors, and emit one ``UserWarning`` listing
the warnings otherwise.

Row numbers
-----------
``Problem.row`` is the row a person sees when opening the file:

* CSV and XLSX: the header is row 1, so the first data row is row 2 (the number a spreadsheet shows in
  its margin and a text editor shows as the line number). Blank lines are counted. A quoted value that
  spans several lines shifts a text editor's line numbers, not the spreadsheet's.
* Vector files (GeoJSON, GeoPackage, Shapefile, GeoParquet): the feature's position, first feature = 1.
* Frames passed directly to ``validate_*``: the position, first row = ``first_row`` (default 1).

``row`` is ``None`` for problems of the whole file or of a whole column.

Safe repairs
------------
Made with a problem of severity ``"warning"``, never silently: leading/trailing whitespace stripped from
text; control characters removed from text and from column names (tabs and line breaks become
spaces); invalid polygons repaired with ``shapely.make_valid`` keeping their polygonal parts; a
one-point MultiPoint turned into a Point; a service type differing from a taxonomy key only in letter
case set to the key; and, only when asked with ``centroids=True``, polygon services replaced by their
centroids. Text such as ``<script>`` in a name is kept as text: escaping is the job of whatever renders
it.

Languages
---------
Every text of a problem is English (``str()``, ``Problem.message``, ``Problem.fix`` as before) and
remembers its template and values (:class:`socialmap.errors.Message`), so the report is written in any
language when it is shown: ``report.format("sq")``, ``report.summary("sr")``, ``report.to_frame("sq")``
(titled columns, severity words), ``problem.translated("sr")``; ``str(report)`` is the English
report. Quantities are written with the language's separators (``-1,5`` in Albanian and Serbian);
``severity`` stays the code ``"error"``/``"warning"``.

Numbers that are not usable are errors, not repairs: infinity (``inf``, ``1e999``), a count of persons
above ten billion, and coordinates beyond the Earth (outside ±180/±90 in a geographic CRS, more than
10⁹ units from the origin in a projected one).
"""

from __future__ import annotations

from collections.abc import Callable
from os import PathLike
from typing import Any

import geopandas as gpd
import numpy as np
import pandas as pd

from socialmap.errors import DataSourceError, Message, Problem
from socialmap.i18n import N_

# The checks live in the modules of this package, by job; the names other modules and people use
# stay importable from socialmap.validate.
from socialmap.validate.areas import _validate_areas
from socialmap.validate.base import (
    KINDS,
    KNOWN_AREA_COLUMNS,
    LATITUDE_NAMES,
    LONGITUDE_NAMES,
    Report,
    _Collector,
    _list,
    _problem_order,  # noqa: F401 - re-exported (io)
)
from socialmap.validate.geometry import _coordinate_columns, _points_from_columns  # noqa: F401 - (cli)
from socialmap.validate.mapping import _contract, _geometry_name, _map_columns, _norm  # noqa: F401 - (io)
from socialmap.validate.population import _validate_population, area_labels  # noqa: F401 - (report)
from socialmap.validate.services import _validate_services
from socialmap.validate.values import parse_number

__all__ = [
    "KINDS",
    "KNOWN_AREA_COLUMNS",
    "LATITUDE_NAMES",
    "LONGITUDE_NAMES",
    "Report",
    "guess_kind",
    "parse_number",
    "validate_areas",
    "validate_file",
    "validate_population",
    "validate_services",
]


# --------------------------------------------------------------------------------------------------
# Public validators
# --------------------------------------------------------------------------------------------------


def _public(
    fn: Callable[..., tuple[pd.DataFrame, list[Problem]]], frame: pd.DataFrame, first_row: int, **kwargs: Any
) -> tuple[pd.DataFrame, list[Problem]]:
    if not isinstance(frame, pd.DataFrame):
        raise TypeError(f"expected a (Geo)DataFrame, got {type(frame)}")
    clean, problems = fn(frame, rows=np.arange(first_row, first_row + len(frame)), **kwargs)
    if len(clean):
        clean = clean.copy()
        clean.index = frame.index[np.asarray(clean.index, dtype=int)]
    return clean, problems


def validate_areas(
    gdf: pd.DataFrame,
    *,
    file: str = "areas",
    columns: dict[str, str] | None = None,
    crs: Any = None,
    first_row: int = 1,
) -> tuple[gpd.GeoDataFrame, list[Problem]]:
    """
    Check areas (polygons) and make the safe repairs.

    Checks: the file has rows; the columns ``area_id`` and ``name`` exist; ids are present and unique;
    names are present; there is a geometry, and a CRS; every geometry is present and polygonal;
    coordinates are in range for a geographic CRS. Repairs (with a warning): whitespace and control
    characters in text, invalid polygons (``shapely.make_valid``, polygonal parts kept).

    Parameters
    ----------
    gdf
        The areas, in the caller's column names. Not modified.
    file
        Name of the file (or dataset) used in the problems.
    columns
        Mapping ``{"their name": "our name"}`` applied first; contract names are also matched
        ignoring case, spaces and hyphens (``"Area ID"`` -> ``area_id``).
    crs
        CRS of the coordinates when ``gdf`` has none. A different CRS than ``gdf``'s is an error.
    first_row
        Row number shown for the first row of ``gdf`` (the loaders pass the file's own numbers).

    Returns
    -------
    clean, problems
        ``clean``: a repaired copy in the column contract (``area_id`` as text, ``name``, optional name
        columns, other columns, ``geometry`` last), in the input's CRS and with the input's index,
        without the rows that have errors. Use it only when ``problems`` holds no error.
        ``problems``: every problem found (errors and warnings); no exception and no warning is raised.
    """
    return _public(_validate_areas, gdf, first_row, file=file, columns=columns, crs=crs)


def validate_services(
    gdf: pd.DataFrame,
    *,
    file: str = "services",
    taxonomy: Any = None,
    areas: pd.DataFrame | None = None,
    columns: dict[str, str] | None = None,
    crs: Any = None,
    centroids: bool = False,
    first_row: int = 1,
) -> tuple[gpd.GeoDataFrame, list[Problem]]:
    """
    Check services (points) and make the safe repairs.

    Checks: the file has rows; the columns ``service_id``, ``name``, ``service_type``, ``capacity``
    exist; ids are present and unique; ``capacity`` is a number and not negative (empty = unknown, a
    warning, never taken as 1); ``service_type`` is a key of ``taxonomy`` (skipped without one); there
    is a location (geometry, or latitude/longitude columns), and a CRS; every location is one point
    with coordinates in range; points that look as if latitude and longitude were swapped (latitude
    beyond ±90, or outside the areas' extent but inside it when swapped, or far from the other points
    but near them when swapped); points outside every area (a warning; only with ``areas``).

    Parameters
    ----------
    gdf
        Services as a GeoDataFrame, or a DataFrame with latitude/longitude columns (named
        ``lat``/``latitude``/``y`` and ``lon``/``lng``/``long``/``longitude``/``x``, any case).
    file
        Name of the file (or dataset) used in the problems.
    taxonomy
        A taxonomy, or any object with ``.service_type_keys``, or a list of keys. ``None`` skips the
        service-type check.
    areas
        Areas (GeoDataFrame with a CRS) to check the locations against. ``None`` skips those checks.
    columns
        Mapping ``{"their name": "our name"}`` applied first (see :func:`validate_areas`).
    crs
        CRS of coordinate columns (default EPSG:4326, longitude/latitude in degrees), or of a
        GeoDataFrame that has none.
    centroids
        Replace polygon services by their centroids (with a warning) instead of reporting them.
    first_row
        Row number shown for the first row of ``gdf``.

    Returns
    -------
    clean, problems
        ``clean``: a repaired GeoDataFrame of points in the column contract (``service_id`` as text,
        ``capacity`` as float with NaN for unknown; coordinate columns replaced by ``geometry``),
        without the rows that have errors. ``problems``: every problem found; nothing is raised.
    """
    return _public(
        _validate_services,
        gdf,
        first_row,
        file=file,
        columns=columns,
        crs=crs,
        taxonomy=taxonomy,
        areas=areas,
        centroids=centroids,
    )


def validate_population(
    df: pd.DataFrame,
    *,
    file: str = "population",
    areas: pd.DataFrame | None = None,
    columns: dict[str, str] | None = None,
    aliases: Any = None,
    first_row: int = 1,
) -> tuple[pd.DataFrame, list[Problem]]:
    """
    Check a population table (one row per area).

    Checks: the file has rows; ``area_id`` and ``population`` exist; ids are present, unique and (with
    ``areas``) ids of the areas; ``population`` is a number and not negative (empty = unknown, a
    warning); with ``areas``, areas lacking a row (a warning). When there is no ``area_id`` but a
    ``name`` column and ``areas`` are given, rows are joined to areas by name with
    ``socialmap.names.match`` (names that match no area are errors; non-exact matches are listed in a
    warning).

    Parameters
    ----------
    df
        The table. A geometry column, if any, is dropped (with a warning).
    file
        Name of the file (or dataset) used in the problems.
    areas
        The areas the table refers to (``area_id``, ``name``, optional ``name_sq``/``name_sr``/``name_en``).
    columns
        Mapping ``{"their name": "our name"}`` applied first (see :func:`validate_areas`).
    aliases
        Passed to ``socialmap.names.match`` when joining by name.
    first_row
        Row number shown for the first row of ``df``.

    Returns
    -------
    clean, problems
        ``clean``: a DataFrame with ``area_id`` (text) and ``population`` (float, extensive; NaN for
        unknown) first, then the other columns, without the rows that have errors. ``problems``: every
        problem found; nothing is raised.
    """
    return _public(
        _validate_population, df, first_row, file=file, columns=columns, areas=areas, aliases=aliases
    )


# --------------------------------------------------------------------------------------------------
# Files
# --------------------------------------------------------------------------------------------------


def guess_kind(frame: pd.DataFrame) -> str | None:
    """
    Guess whether a frame holds areas, services or population.

    Polygons are areas and points are services; without geometry, a ``population`` column (and no
    ``service_type``) means population, and coordinate columns or a ``service_type`` column mean services.

    Parameters
    ----------
    frame
        The frame as read (after any column mapping).

    Returns
    -------
    kind
        ``"areas"``, ``"services"``, ``"population"``, or ``None`` when it cannot be told.
    """
    names = {_norm(col) for col in frame.columns}
    if _geometry_name(frame) is not None:
        assert isinstance(frame, gpd.GeoDataFrame)
        types = frame.geometry.dropna().geom_type.value_counts()
        if len(types):
            polygonal = types.reindex(["Polygon", "MultiPolygon"]).fillna(0).sum()
            pointlike = types.reindex(["Point", "MultiPoint"]).fillna(0).sum()
            if polygonal or pointlike:
                if "population" in names and "service_type" not in names and not polygonal:
                    return "population"
                return "areas" if polygonal >= pointlike else "services"
    if "population" in names and "service_type" not in names:
        return "population"
    has_coords = names & set(LATITUDE_NAMES) and names & set(LONGITUDE_NAMES)
    if has_coords or "service_type" in names:
        return "services"
    return None


def validate_file(
    path: str | PathLike[str],
    kind: str | None = None,
    *,
    taxonomy: Any = None,
    areas: pd.DataFrame | None = None,
    columns: dict[str, str] | None = None,
    crs: Any = None,
    layer: str | None = None,
    sheet: str | int | None = None,
    encoding: str | None = None,
    centroids: bool = False,
) -> Report:
    """
    Read one file and report every problem in it, without raising.

    Parameters
    ----------
    path
        A file in any format :mod:`socialmap.io` reads.
    kind
        ``"areas"``, ``"services"`` or ``"population"``; ``None`` guesses it (polygons -> areas,
        points or coordinate columns -> services, no geometry and a ``population`` column -> population).
    taxonomy
        For services: the taxonomy (or any object with ``.service_type_keys``); ``None`` skips the
        service-type check.
    areas
        Areas to check services or population against.
    columns, crs, layer, sheet, encoding, centroids
        As for the ``read_*`` functions of :mod:`socialmap.io`.

    Returns
    -------
    report
        The :class:`Report`: ``.ok``, ``.problems``, ``.to_frame()``, and a readable ``str()``. A file that
        cannot be read at all (missing, too large, unknown format) gives a report with one error.
    """
    from socialmap.sources import _read_source
    from socialmap.sources.base import _check_count, _Limits

    label = str(path)
    if kind is not None and kind not in KINDS:
        raise ValueError(f"`kind` should be one of {KINDS}, got {kind!r}.")
    try:
        source = _read_source(
            path, layer=layer, sheet=sheet, encoding=encoding, limits=_Limits.for_kind(kind)
        )
        if kind is None and source.frame is not None:
            guessed = guess_kind(_map_columns(source.frame, columns, (), _Collector(label, source.rows)))
            _check_count(label, len(source.frame), _Limits.for_kind(guessed))
    except DataSourceError as exc:
        return Report(label, kind, [_source_problem(label, exc)])
    if source.frame is None:
        return Report(label, kind, list(source.problems), rows=0)
    if kind is None:
        mapped = _map_columns(source.frame, columns, (), _Collector(label, source.rows))
        kind = guess_kind(mapped)
        if kind is None:
            from socialmap.columns import guess_kind as guess_from_names

            kind = guess_from_names(col for col in mapped.columns if col != _geometry_name(mapped))
        if kind is None:
            found = [str(col) for col in source.frame.columns]
            problem = Problem(
                label,
                None,
                None,
                Message(
                    N_(
                        "Cannot tell whether the file holds areas, services or population; "
                        "found columns {found}."
                    ),
                    found=_list(found),
                ),
                N_("Name the kind: kind='areas', 'services' or 'population' (CLI: --kind)."),
            )
            return Report(label, None, [*source.problems, problem], rows=len(source.frame))
    common: dict[str, Any] = {"file": label, "rows": source.rows, "columns": columns}
    numbers: dict[str, Any] = {"decimal": source.decimal}
    if kind == "areas":
        clean, problems = _validate_areas(source.frame, crs=crs, **common)
    elif kind == "services":
        clean, problems = _validate_services(
            source.frame, crs=crs, taxonomy=taxonomy, areas=areas, centroids=centroids, **common, **numbers
        )
    else:
        clean, problems = _validate_population(source.frame, areas=areas, **common, **numbers)
    clean = clean.reset_index(drop=True)
    return Report(label, kind, [*source.problems, *problems], rows=len(source.frame), frame=clean)


def _source_problem(label: str, exc: DataSourceError) -> Problem:
    return Problem.from_error(exc, label)
