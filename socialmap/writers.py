"""Writers of tables: CSV, XLSX, GeoJSON and GeoPackage, each atomic and safe from formula injection.

Every file is written atomically (:func:`socialmap.io.write_atomic`): an interrupted write never
leaves a half-written file over a good one. Text cells that a spreadsheet would run as a formula
(starting with ``=``, ``+``, ``-``, ``@``, tab or carriage return, also in look-alike forms) are
prefixed with ``'``; in XLSX they are also stored as text (``data_type`` ``'s'``), never as formulas.

These writers know nothing of an analysis: they write the tables they are given. What goes into
the tables (the result's published tables, the costing, a comparison, targets, a monitoring
report) is built where that job lives (:mod:`socialmap.export`, :mod:`socialmap.costing`,
:mod:`socialmap.scenario`, :mod:`socialmap.plan`, :mod:`socialmap.monitor`), which all write
through here. :mod:`socialmap.export` re-exports them under their old names.
"""

from __future__ import annotations

import datetime as _dt
import math
import os
import re
import unicodedata
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import geopandas as gpd
import numpy as np
import pandas as pd

from socialmap.atomic import write_atomic

_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


_ILLEGAL_XLSX = re.compile(r"[\000-\010]|[\013-\014]|[\016-\037]")


def neutralise_formulas(df: pd.DataFrame) -> pd.DataFrame:
    """
    Return a copy of ``df`` whose text cells cannot run as spreadsheet formulas.

    Text starting with ``=``, ``+``, ``-``, ``@``, tab or carriage return (also in their full-width and
    other look-alike forms, ``＝1+1``, and after invisible leading spaces) gets a leading ``'``;
    numbers are left alone (a negative number is a number, not a formula). Column names are
    treated the same way.

    Examples
    --------
    >>> neutralise_formulas(pd.DataFrame({"name": ["=1+1", "Pejë"], "n": [-1, 2]})).values.tolist()
    [["'=1+1", -1], ['Pejë', 2]]
    """
    out = df.copy()
    for col in out.columns:
        values = out[col]
        if values.dtype == object or pd.api.types.is_string_dtype(values):
            try:  # each distinct text is checked once (a table of 60,000 cells holds a few dozen)
                risky = any(isinstance(v, str) and _formula_like(v) for v in pd.unique(values))
            except TypeError:  # unhashable cells (lists): check each
                risky = True
            if risky:  # a column without formula-like text is kept as it is (same values, same type)
                out[col] = values.map(neutralise_value)
    out.columns = [neutralise_value(c) for c in out.columns]
    return out


def neutralise_value(value: Any) -> Any:
    """
    Return ``value`` with a leading ``'`` if it is text a spreadsheet would run as a formula.

    Examples
    --------
    >>> neutralise_value("@SUM(1)"), neutralise_value("Pejë"), neutralise_value(-3)
    ("'@SUM(1)", 'Pejë', -3)
    """
    if isinstance(value, str) and _formula_like(value):
        return "'" + value
    return value


#: Decimals kept in a CSV, per column, for what the figure means: persons, places and money are
#: whole (places a standard asks for, a fraction, one decimal); scores (0-100) one decimal; shares
#: (0-1) three; places per person five; the spatial access ratio (1 = national) two; coordinates
#: six (about 0.1 m). Other number columns keep 12 significant digits (no binary noise).
CSV_DECIMALS: dict[str, int] = {
    "population": 0,
    "need": 0,
    "unmet_need": 0,
    "reachable_places": 0,
    "target_group": 0,
    "supply": 0,
    "capacity": 0,
    "services": 0,
    "capacity_unknown": 0,
    "types_scored": 0,
    "types_costed": 0,
    "rank": 0,
    "catchment_m": 0,
    "unit_cost_eur_per_place_year": 0,
    "budget_eur_per_year": 0,
    "composite_gap": 1,
    "gap_score": 1,
    "supply_per_10k": 1,
    "places_target": 1,
    "places_needed": 1,
    "places_per_1000": 2,
    "places_per_1000_national": 2,
    "supply_reach": 0,
    "target_size": 0,
    "standard_places": 1,
    "standard_met": 1,
    "spar": 2,
    "catchment_min": 0,
    "covered_share": 3,
    "access": 5,
    "lon": 6,
    "lat": 6,
}


def _decimals_of(column: object, decimals: Mapping[str, int] | None) -> int | None:
    name = str(column)
    if decimals is not None and name in decimals:
        return decimals[name]
    if name.startswith("gap_score_"):
        return CSV_DECIMALS["gap_score"]
    return CSV_DECIMALS.get(name)


def number_text(value: float, decimals: int | None = None, decimal: str = ".") -> str:
    """
    Write a number for a CSV, rounded to ``decimals`` (``None``: 12 significant digits).

    No thousands separator, ``decimal`` as the decimal mark, no trailing zeros, no exponent.

    Examples
    --------
    >>> number_text(1460.7289124999998, 0, ","), number_text(295.3012724999999, None, ",")
    ('1461', '295,3012725')
    >>> number_text(0.75705544, 3), number_text(-0.0004, 1), number_text(12.0, 1)
    ('0.757', '0', '12')
    """
    number = float(value)
    if decimals is None:
        number = float(f"{number:.12g}")
        text = np.format_float_positional(number, trim="-")
    else:
        text = np.format_float_positional(round(number, decimals), precision=decimals, unique=True, trim="-")
    if text in ("-0", "-0."):
        text = "0"
    return text.replace(".", decimal) if decimal != "." else text


def csv_frame(
    df: pd.DataFrame, *, decimal: str = ".", decimals: Mapping[str, int] | None = None
) -> pd.DataFrame:
    """
    Return ``df`` as text cells for a CSV: numbers rounded for what they mean, formulas neutralised.

    Numbers (also those in text columns beside the ``"<5"`` markers of hidden cells) are written
    by :func:`number_text` with the decimals of :data:`CSV_DECIMALS` (or ``decimals``, by column
    name, which wins); text cells that a spreadsheet would run as formulas get a leading ``'``
    (:func:`neutralise_formulas`); missing values are empty. A ``geometry`` column is dropped.
    """
    plain = pd.DataFrame(df.drop(columns="geometry", errors="ignore"))
    safe = neutralise_formulas(plain)
    out = pd.DataFrame(index=safe.index)
    for position, col in enumerate(safe.columns):
        places = _decimals_of(plain.columns[position], decimals)
        values = safe.iloc[:, position]
        if pd.api.types.is_bool_dtype(values):
            out[col] = values
            continue

        def cell(value: Any, places: int | None = places) -> Any:
            if value is None or value is pd.NA or (isinstance(value, float) and math.isnan(value)):
                return ""
            if isinstance(value, bool | np.bool_):
                return value
            if isinstance(value, int | float | np.integer | np.floating):
                if not math.isfinite(float(value)):
                    return ""
                return number_text(float(value), places, decimal)
            return value

        out[col] = values.map(cell).astype(object)
    return out


#: Invisible characters a spreadsheet may skip before a formula's first character.
_FORMULA_INVISIBLE = (
    " \u00a0\u1680" + "".join(map(chr, range(0x2000, 0x200E))) + "\u2028\u2029\u202f\u205f\u2060\u3000\ufeff"
)


def _formula_like(text: str) -> bool:
    """
    Whether a spreadsheet could take ``text`` for a formula.

    Checked after Unicode NFKC normalisation, which turns look-alikes such as the full-width ``＝``,
    ``＋``, ``－`` and ``＠``, the small ``﹦`` or the superscript ``⁺`` into the ASCII characters
    spreadsheets act on, and after invisible leading characters (spaces, zero-width spaces, byte-order
    marks) that an import may drop.
    """
    if text.startswith(_FORMULA_START):
        return True
    normal = unicodedata.normalize("NFKC", text[:16]).lstrip(_FORMULA_INVISIBLE)
    return normal.startswith(_FORMULA_START)


def write_csv(
    df: pd.DataFrame,
    path: str | os.PathLike[str],
    *,
    sep: str = ",",
    decimal: str | None = None,
    decimals: Mapping[str, int] | None = None,
) -> Path:
    """
    Write a table as UTF-8 CSV with a BOM (so Excel shows Albanian and Serbian letters), atomically.

    Numbers are rounded for what they mean (:func:`csv_frame`: whole persons and places, scores to
    0.1...), never with float noise such as ``1460.7289124999998``.

    Parameters
    ----------
    df
        The table; a ``geometry`` column is dropped.
    path
        The file to write.
    sep
        Delimiter: ``","``, or ``";"`` for spreadsheets set to a decimal comma.
    decimal
        Decimal mark: ``"."`` or ``","``; default ``","`` with ``sep=";"`` (what Excel set to
        Albanian or Serbian reads), else ``"."``.
    decimals
        Decimals to keep per column name, beside (and over) :data:`CSV_DECIMALS`.

    Returns
    -------
    path
        The written file.
    """
    from socialmap.errors import SocialMapError

    if sep not in (",", ";", "\t"):
        raise SocialMapError(f"`sep` must be ',', ';' or a tab; got {sep!r}.")
    mark = decimal if decimal is not None else ("," if sep == ";" else ".")
    if mark not in (".", ","):
        raise SocialMapError(f"`decimal` must be '.' or ','; got {decimal!r}.")
    if mark == sep:
        raise SocialMapError(f"`decimal` {mark!r} cannot be the delimiter too: use sep=';' with ','.")
    text = csv_frame(df, decimal=mark, decimals=decimals)
    return write_atomic(path, lambda p: text.to_csv(p, index=False, sep=sep, encoding="utf-8-sig"))


def _xlsx_value(value: Any) -> Any:
    if value is None or value is pd.NA or value is pd.NaT:
        return None
    if isinstance(value, np.generic):
        value = value.item()
    if isinstance(value, float) and not math.isfinite(value):
        return None
    if isinstance(value, bool | int | float | _dt.date):
        return value
    if isinstance(value, str):
        return neutralise_value(_ILLEGAL_XLSX.sub("", value))
    return neutralise_value(_ILLEGAL_XLSX.sub("", str(value)))


def _sheet_title(title: str, used: set[str]) -> str:
    clean = re.sub(r"[\[\]:*?/\\]", " ", title).strip()[:31] or "sheet"
    name, n = clean, 2
    while name.lower() in used:
        suffix = f" {n}"
        name, n = clean[: 31 - len(suffix)] + suffix, n + 1
    used.add(name.lower())
    return name


def write_xlsx(sheets: Mapping[str, pd.DataFrame], path: str | os.PathLike[str]) -> Path:
    """
    Write tables as sheets of one XLSX workbook, atomically, with no cell stored as a formula.

    Text cells are neutralised (:func:`neutralise_value`) and stored with ``data_type`` ``'s'``;
    characters XLSX cannot hold (control characters) are dropped; NaN becomes an empty cell.

    Parameters
    ----------
    sheets
        Sheet title → table (a ``geometry`` column is dropped). Titles are cut to 31 characters.
    path
        The ``.xlsx`` file to write.

    Returns
    -------
    path
        The written file.
    """
    from openpyxl import Workbook
    from openpyxl.styles import Font
    from openpyxl.utils import get_column_letter

    def writer(p: Path) -> None:
        book = Workbook()
        book.remove(book.active)
        used: set[str] = set()
        for title, frame in sheets.items():
            sheet = book.create_sheet(_sheet_title(str(title), used))
            frame = pd.DataFrame(frame.drop(columns="geometry", errors="ignore"))
            widths = []
            for j, col in enumerate(frame.columns, start=1):
                cell = sheet.cell(row=1, column=j, value=_xlsx_value(str(col)))
                cell.data_type = "s"
                cell.font = Font(bold=True)
                widths.append(len(str(col)))
            for i, row in enumerate(frame.itertuples(index=False, name=None), start=2):
                for j, raw in enumerate(row, start=1):
                    value = _xlsx_value(raw)
                    cell = sheet.cell(row=i, column=j, value=value)
                    if isinstance(value, str):
                        cell.data_type = "s"
                        widths[j - 1] = max(widths[j - 1], min(len(value), 60))
                    elif isinstance(value, float):
                        cell.number_format = "#,##0.0##"
                        widths[j - 1] = max(widths[j - 1], 10)
            for j, width in enumerate(widths, start=1):
                sheet.column_dimensions[get_column_letter(j)].width = max(8, width + 2)
            sheet.freeze_panes = "A2"
        book.save(p)

    return write_atomic(path, writer)


def write_geojson(gdf: gpd.GeoDataFrame, path: str | os.PathLike[str]) -> Path:
    """
    Write a GeoDataFrame as GeoJSON (RFC 7946: longitude/latitude, EPSG:4326), atomically.

    Text properties are neutralised against formula injection. Columns may mix numbers and text
    (e.g. ``"<5"`` in a count column).

    Parameters
    ----------
    gdf
        The features; must have a CRS.
    path
        The file to write.

    Returns
    -------
    path
        The written file.
    """
    shown = gpd.GeoDataFrame(
        neutralise_formulas(gdf.to_crs("EPSG:4326")), geometry="geometry", crs="EPSG:4326"
    )
    text = shown.to_json(na="null", drop_id=True, ensure_ascii=False)
    return write_atomic(path, lambda p: p.write_text(text, encoding="utf-8"))


def write_gpkg(
    layers: Mapping[str, pd.DataFrame],
    path: str | os.PathLike[str],
    *,
    crs: Any = "EPSG:4326",
    neutralise: bool = True,
) -> Path:
    """
    Write GeoDataFrames as layers of one GeoPackage (EPSG:4326), atomically.

    The one GeoPackage writer: published layers (:func:`write_result`, the app's downloads through
    :func:`gpkg_bytes`) and a workspace's stored inputs (``crs=None, neutralise=False``) go through it.

    Parameters
    ----------
    layers
        Layer name → features (a table without geometry becomes an attribute-only layer).
    path
        The ``.gpkg`` file to write.
    crs
        The CRS the layers are written in (default EPSG:4326, as published); ``None`` keeps each
        layer's own.
    neutralise
        Neutralise text that a spreadsheet would run as a formula (:func:`neutralise_formulas`), as
        every published file is; ``False`` keeps the text as it is (a workspace's own data).

    Returns
    -------
    path
        The written file.
    """
    import pyogrio
    from pyogrio import get_gdal_config_option, set_gdal_config_options

    # Layers whose columns each hold numbers, booleans or text only go to GDAL as one Arrow
    # table (GDAL >= 3.8), not feature by feature: the same rows and types, a third less time on
    # the demo's 63,000 demand cells. Mixed Python objects, dates, categories: feature by feature.
    arrow_ok = pyogrio.__gdal_version__ >= (3, 8, 0)

    def prepared(frame: pd.DataFrame) -> pd.DataFrame:
        if not isinstance(frame, gpd.GeoDataFrame):  # an attribute-only layer
            table = pd.DataFrame(frame)
            return neutralise_formulas(table) if neutralise else table
        out = frame.to_crs(crs) if crs is not None else frame
        geometry = out.geometry.name
        attrs = pd.DataFrame(out.drop(columns=geometry))
        if neutralise:
            attrs = neutralise_formulas(attrs)
        return gpd.GeoDataFrame(attrs, geometry=out.geometry.to_numpy(), crs=out.crs)

    def writer(p: Path) -> None:
        # The scratch copy need not reach the disk after each SQLite transaction (GDAL's default
        # waits for the disk a few times per layer, most of the write's time): write_atomic syncs
        # the finished file once before moving it in place. The file's bytes are the same.
        before = get_gdal_config_option("OGR_SQLITE_SYNCHRONOUS")
        set_gdal_config_options({"OGR_SQLITE_SYNCHRONOUS": "OFF"})
        try:
            for name, frame in layers.items():
                safe = prepared(frame)
                typed = all(_one_type(safe[c]) for c in safe.columns if c != "geometry")
                if isinstance(safe, gpd.GeoDataFrame):
                    safe.to_file(p, layer=name, driver="GPKG", use_arrow=arrow_ok and typed)
                else:
                    pyogrio.write_dataframe(safe, p, layer=name, driver="GPKG")
        finally:
            set_gdal_config_options({"OGR_SQLITE_SYNCHRONOUS": before})

    return write_atomic(path, writer)


def gpkg_bytes(
    layers: Mapping[str, pd.DataFrame], *, crs: Any = "EPSG:4326", neutralise: bool = True
) -> bytes:
    """Return the bytes of the GeoPackage :func:`write_gpkg` writes (for a download or a store)."""
    import tempfile

    with tempfile.TemporaryDirectory(prefix="socialmap-gpkg-") as tmp:
        return write_gpkg(layers, Path(tmp) / "layers.gpkg", crs=crs, neutralise=neutralise).read_bytes()


def _one_type(values: pd.Series) -> bool:
    """Whether a column holds numbers, booleans or text only (not mixed objects, dates or categories)."""
    types = pd.api.types
    if types.is_object_dtype(values):
        return False
    return bool(
        types.is_bool_dtype(values) or types.is_numeric_dtype(values) or types.is_string_dtype(values)
    )
