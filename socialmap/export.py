"""Data exports of an analysis result: CSV, XLSX, GeoPackage, GeoJSON, the HTML map and the provenance.

Every file is written atomically (:func:`socialmap.io.write_atomic`): an interrupted export never
leaves a half-written file over a good one. Text cells that a spreadsheet would run as a formula
(starting with ``=``, ``+``, ``-``, ``@``, tab or carriage return) are prefixed with ``'``; in XLSX
they are also stored as text (``data_type`` ``'s'``), never as formulas.

Small counts of sensitive target groups are hidden in every table (:mod:`socialmap.privacy`):
CSV, XLSX and GeoJSON cells show ``"<5"`` (or ``"[c]"`` for a secondary suppression); a GeoPackage
keeps its number columns numeric, so there the cell is empty and the ``suppression`` column shows
the marker.

The costing (:mod:`socialmap.costing`: places needed to reach the planning standard and their
yearly budget) is exported beside the result's tables (:func:`costing_tables`), with the source of
every standard and unit cost. A missing standard or unit cost leaves the cell empty (never 0) and
the row's ``note`` says why. The costing hides the same cells as the result: in an area × service
type row whose need is hidden, the counts that give the need back (``target_group``,
``places_target``, ``places_needed``, ``budget_eur_per_year``) are hidden with the same marker; the
municipality's total budget and the service type's national places needed and budget, which with
the published rows would give back the hidden ones, are hidden as ``"[c]"``.
"""

from __future__ import annotations

import datetime as _dt
import json
import logging
import math
import os
import re
import unicodedata
from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

import geopandas as gpd
import numpy as np
import pandas as pd

from socialmap.i18n import N_
from socialmap.io import write_atomic

logger = logging.getLogger(__name__)

if TYPE_CHECKING:
    from socialmap.costing import Costing
    from socialmap.pipeline import Result
    from socialmap.privacy import Protected
    from socialmap.taxonomy import Taxonomy

_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")

#: File suffixes :func:`export_table` writes.
TABLE_FORMATS = (".csv", ".xlsx", ".gpkg", ".geojson")

#: Tables :func:`export_table` writes alone (``table=``) as CSV; all but those of :data:`NO_GEOMETRY`
#: as GeoJSON too. An XLSX file holds them all.
TABLES = (
    "by_service_type",
    "areas",
    "totals",
    "services",
    "costing",
    "costing_national",
    "costing_by_area",
)

#: Tables without geometry: CSV or XLSX only.
NO_GEOMETRY = ("totals", "costing_national")

#: Costing columns that are published parameters (the planning standard), shown in hidden rows too.
COSTING_PUBLISHED = ("places_per_1000",)
#: Costing columns computed from the supply by reach (which depends on the neighbours' need).
COSTING_COUPLED = ("supply", "places_needed", "budget_eur_per_year")

#: What each exported column holds (English; translated with ``i18n.t``).
COLUMN_DESCRIPTIONS: dict[str, str] = {
    "area_id": N_("Identifier of the area (municipality)"),
    "name": N_("Name of the area"),
    "name_sq": N_("Name in Albanian"),
    "name_sr": N_("Name in Serbian (Latin script)"),
    "name_en": N_("Name in English"),
    "population": N_("Residents (persons)"),
    "composite_gap": N_("Composite gap: weighted mean of the gap scores of the service types (0-100)"),
    "types_scored": N_("Number of service types in the composite gap"),
    "rank": N_("Rank by composite gap (1 = largest gap)"),
    "service_type": N_("Service type (key in the taxonomy)"),
    "service_label": N_("Service type"),
    "method": N_("Accessibility method used for this service type"),
    "catchment_m": N_("Catchment (metres)"),
    "need": N_("Persons expected to need the service (population × rates of its target groups)"),
    "services": N_("Number of services in the area"),
    "capacity_unknown": N_("Services whose capacity is unknown (counted, but adding no places)"),
    "supply": N_("Places (capacity) of the services in the area with a known capacity"),
    "supply_per_10k": N_("Places per 10,000 persons in need"),
    "covered_share": N_("Share of the need within the catchment of at least one service (0-1)"),
    "access": N_("Accessibility: places per person in need that can reach them (2SFCA)"),
    "reachable_places": N_("Persons in need who can reach a place"),
    "unmet_need": N_("Persons in need who cannot reach a place"),
    "gap_score": N_("Gap score: 100 × unmet need / need (0 = everyone can reach a place, 100 = no one)"),
    "service_id": N_("Identifier of the service"),
    "capacity": N_("Persons the service can serve at once (empty: unknown)"),
    "provider": N_("Provider (public, licensed NGO, private)"),
    "lon": N_("Longitude (WGS 84)"),
    "lat": N_("Latitude (WGS 84)"),
    "suppression": N_(
        "'<N': fewer than N persons, hidden (N: the suppression threshold, see the sources sheet); "
        "'[c]': hidden so that totals cannot reveal a '<N' cell"
    ),
    "target_group": N_("Persons in the target groups of the service type (its need)"),
    "places_per_1000": N_(
        "Planning standard: places per 1,000 persons of the target group (empty: none sourced or given)"
    ),
    "standard_source": N_(
        "Source of the planning standard: its key in the taxonomy's sources, or 'user-supplied'"
    ),
    "standard_citation": N_("Citation of the planning standard's source"),
    "places_target": N_("Places the planning standard asks for: target group × standard / 1,000"),
    "places_needed": N_(
        "Places needed to reach the standard: places at the standard minus the places of known "
        "capacity, not below 0"
    ),
    "unit_cost_eur_per_place_year": N_("Unit cost: EUR per place per year (empty: none sourced or given)"),
    "cost_source": N_("Source of the unit cost: its key in the taxonomy's sources, or 'user-supplied'"),
    "cost_citation": N_("Citation of the unit cost's source"),
    "budget_eur_per_year": N_(
        "Yearly budget of the places needed (EUR per year): places needed × unit cost "
        "(empty, not 0, when there is no standard or unit cost)"
    ),
    "note": N_("Why a figure is missing or uncertain"),
    "types_costed": N_("Number of service types with a budget"),
    "types_not_costed": N_("Service types without a budget (no standard, unit cost or need)"),
    "budget_complete": N_("Whether every service type has a budget"),
    "figure": N_("Planning standard or unit cost"),
    "value": N_("Value of the figure (empty: none sourced or given)"),
    "source": N_("Key of the source in the taxonomy's sources, or 'user-supplied'"),
    "citation": N_("Citation of the source"),
}

#: The equity sheet's columns and what each means (English; translated with ``i18n.t``): the
#: definitions of :mod:`socialmap.equity`, for the XLSX export's "equity definitions" sheet.
EQUITY_DEFINITIONS: dict[str, str] = {
    "service_type": N_("Service type (key in the taxonomy); types serving a sensitive group are left out"),
    "service_label": N_("Service type"),
    "level": N_(
        "'cells': across demand cells (each weighted by its need), Theil split between and within "
        "municipalities; 'areas': one value per municipality (weighted by its need)"
    ),
    "measure": N_(
        "What is compared: 'access' (2SFCA places per person in need) or 'covered_share' (share of the "
        "need within the catchment, for types scored by distance only)"
    ),
    "units": N_("Number of cells or municipalities with a value and a need above 0"),
    "need": N_("Total weight: persons in need (the target group where the need is unknown)"),
    "mean": N_("Need-weighted mean of the measure"),
    "gini": N_(
        "Gini index, need-weighted: Σᵢ Σⱼ wᵢ wⱼ |xᵢ − xⱼ| / (2 W² μ); 0 = everyone in need has the same "
        "access, 1 = one person has it all"
    ),
    "theil": N_(
        "Theil index T, need-weighted: Σᵢ (wᵢ / W)(xᵢ / μ) ln(xᵢ / μ); 0 = equal, larger = more unequal"
    ),
    "theil_between": N_(
        "Part of the Theil index between municipalities: Σ_g (W_g / W)(μ_g / μ) ln(μ_g / μ) (cells level)"
    ),
    "theil_within": N_(
        "Part of the Theil index within municipalities: Σ_g (W_g μ_g / (W μ)) T_g; between + within = "
        "Theil (cells level)"
    ),
    "palma": N_(
        "Palma ratio: mean access of the best-off 10 % of persons in need / mean access of the worst-off "
        "40 % (ranked by access)"
    ),
    "concentration_index": N_(
        "Concentration index of access against the social-assistance rate: 2 cov(x, R) / μ, with R the "
        "need-weighted fractional rank, poorest first; > 0: access concentrated among the better-off, "
        "< 0: among the poor; empty without a municipal social-assistance rate"
    ),
    "note": N_("Why a figure is missing"),
}

#: The equity sheet's note where the Palma ratio is infinite (written blank in a spreadsheet).
_NOTE_PALMA_INFINITE = N_(
    "Palma ratio infinite (left blank): the access of the worst-off 40 % of persons in need is 0."
)

#: Why a costing figure is missing or uncertain (the ``note`` column), in English; shown with ``t``.
_NOTE_NEED = N_("need unknown (a target group has no rate)")
_NOTE_NO_STANDARD = N_(
    "no planning standard (places per 1,000 of the target group) is sourced or given: "
    "places needed are not computed"
)
_NOTE_NO_COST = N_(
    "no unit cost (EUR per place per year) is sourced or given: the budget is not computed (empty, not 0)"
)
_NOTE_UNKNOWN_CAPACITY = N_(
    "services of unknown capacity: {n}; the places are a lower bound, so places needed may be overstated"
)
_NOTE_AREAS_UNKNOWN_CAPACITY = N_(
    "areas with services of unknown capacity: {n}; places needed may be overstated"
)
_NOTE_NATIONAL_HIDDEN = N_(
    "places needed and budget hidden ({mark}): with the published municipalities they would give "
    "back hidden small counts"
)
_USER_CITATION = N_("given by the user, not taken from a published source")
_FIGURE_STANDARD = N_("planning standard (places per 1,000 of the target group)")
_FIGURE_COST = N_("unit cost (EUR per place per year)")
_NOT_SOURCED = N_("none is sourced in the taxonomy and none was given")

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


def _flatten(prefix: str, value: Any) -> list[tuple[str, str]]:
    if isinstance(value, Mapping):
        rows: list[tuple[str, str]] = []
        for k, v in value.items():
            rows.extend(_flatten(f"{prefix}.{k}" if prefix else str(k), v))
        return rows
    if isinstance(value, list | tuple):
        if value and all(isinstance(v, Mapping) for v in value):
            return [r for i, v in enumerate(value) for r in _flatten(f"{prefix}[{i}]", v)]
        return [(prefix, "\n".join(str(v) for v in value))]
    return [(prefix, "" if value is None else str(value))]


def provenance_table(
    result: Result, *, protected: Protected | None = None, lang: str | None = None
) -> pd.DataFrame:
    """
    Return the provenance of a result as a two-column table (``item``, ``value``) for a sources sheet.

    Parameters
    ----------
    result
        What :func:`socialmap.analyze` returned.
    protected
        Its suppression (adds the threshold and the rule).
    lang
        Language of the added lines.

    Returns
    -------
    table
        One row per provenance entry (nested entries as ``rates.<group>.sources``; file paths shown
        by the file's name only), then the export date and, with ``protected``, the suppression
        threshold and rule.
    """
    from socialmap.i18n import format_date, t
    from socialmap.static import without_paths

    # Texts the catalogs know (the demo's descriptions) in the language; never a machine's folders.
    rows = [(item, t(without_paths(value), lang)) for item, value in _flatten("", result.provenance)]
    rows.append(("exported", format_date(None, lang)))
    if protected is not None:
        rows.append(("suppression_threshold", str(protected.threshold)))
        rows.append(("suppression_rule", protected.rule(lang)))
        if protected.sensitive_types:
            types = ", ".join(protected.sensitive_types)
            rows.append(("sensitive_service_types", types))
            rows.append(
                (
                    "services_not_listed",
                    t(
                        "Services of these types are not listed (their addresses are confidential): {types}",
                        lang,
                        types=types,
                    ),
                )
            )
    return pd.DataFrame(rows, columns=[t("item", lang), t("value", lang)])


def _labels(result: Result, taxonomy: Taxonomy | None, lang: str | None) -> dict[str, str]:
    types = list(dict.fromkeys(result.table["service_type"]))
    if taxonomy is None:
        return {k: k for k in types}
    from socialmap.i18n import check_language

    code = check_language(lang)
    return {k: taxonomy.label(k, code) if k in taxonomy.service_types else k for k in types}


def protected_tables(
    result: Result,
    *,
    protected: Protected | None = None,
    taxonomy: Taxonomy | None = None,
    threshold: float | None = None,
    lang: str | None = None,
    markers: bool = True,
) -> dict[str, pd.DataFrame]:
    """
    Return the publishable tables of a result, with small counts of sensitive groups hidden.

    Parameters
    ----------
    result
        What :func:`socialmap.analyze` returned.
    protected
        A suppression already made with :func:`socialmap.privacy.protect` (reuse it so that every
        output hides the same cells); ``None`` makes one.
    taxonomy
        The result's taxonomy (default: reloaded from its provenance).
    threshold
        Suppression threshold (default ``socialmap.settings.suppression_threshold``).
    lang
        Language of the service-type labels and markers.
    markers
        ``True``: hidden cells hold ``"<5"``/``"[c]"``; ``False``: they are NaN (for typed formats).

    Returns
    -------
    tables
        ``areas`` (GeoDataFrame, one row per area), ``by_service_type`` (GeoDataFrame, one row per
        area × service type, with ``service_label``, the area's ``composite_gap`` and ``rank`` and a
        ``suppression`` column), ``totals`` (one row per service type, national) and ``services``
        (GeoDataFrame of points with ``lon``/``lat``; services of sensitive types, e.g. shelters,
        are left out: their addresses are confidential).
    """
    from socialmap.privacy import protect, resolve_taxonomy, shown

    tax = resolve_taxonomy(result, taxonomy)
    if protected is None:
        protected = protect(result, threshold=threshold, taxonomy=tax)
    labels = _labels(result, tax, lang)
    long = protected.table.copy()
    long.insert(long.columns.get_loc("service_type") + 1, "service_label", long["service_type"].map(labels))
    comp = protected.composite[["area_id", "composite_gap", "rank"]]
    long = long.merge(comp, on="area_id", how="left")
    totals = protected.totals.copy()
    totals.insert(1, "service_label", totals["service_type"].map(labels))
    if markers:
        long = shown(long, protected, lang=lang)
        totals = shown(totals, protected, lang=lang)
    else:
        long["suppression"] = long["suppression"].map(lambda s: protected.marker(s, lang))
        totals["suppression"] = totals["suppression"].map(lambda s: protected.marker(s, lang))
    areas = protected.areas
    return {
        "areas": gpd.GeoDataFrame(areas.copy(), geometry="geometry", crs=result.areas.crs),
        "by_service_type": gpd.GeoDataFrame(long, geometry="geometry", crs=result.table.crs),
        "totals": pd.DataFrame(totals),
        "services": _services_table(result, protected, labels),
    }


def _services_table(result: Result, protected: Protected, labels: dict[str, str]) -> gpd.GeoDataFrame:
    from socialmap.privacy import public_services

    svc = public_services(result.services, protected)
    if "service_type" in svc.columns:
        at = svc.columns.get_loc("service_type") + 1
        svc.insert(at, "service_label", svc["service_type"].map(lambda k: labels.get(k, k)))
    if len(svc) and svc.crs is not None:
        geo = svc.geometry.to_crs("EPSG:4326")
        svc["lon"], svc["lat"] = geo.x.round(6), geo.y.round(6)
    else:
        svc["lon"], svc["lat"] = np.nan, np.nan
    return gpd.GeoDataFrame(svc, geometry="geometry", crs=result.services.crs)


def columns_table(columns: list[str], lang: str | None = None) -> pd.DataFrame:
    """Return a table describing the given columns (``column``, ``description``) in ``lang``."""
    from socialmap.i18n import t

    rows = []
    for col in columns:
        if col in COLUMN_DESCRIPTIONS:
            rows.append((col, t(COLUMN_DESCRIPTIONS[col], lang)))
        elif col.startswith("gap_score_"):
            rows.append((col, t("Gap score of the service type {key}", lang, key=col[len("gap_score_") :])))
    return pd.DataFrame(rows, columns=[t("column", lang), t("description", lang)])


def _missing_figures(row: Mapping[str, Any], lang: str | None) -> list[str]:
    """Return what a costing row lacks, in ``lang``: the need, the standard, the unit cost."""
    from socialmap.i18n import t

    parts = []
    if pd.isna(row["target_group"]):
        parts.append(t(_NOTE_NEED, lang))
    if pd.isna(row["places_per_1000"]):
        parts.append(t(_NOTE_NO_STANDARD, lang))
    if pd.isna(row["unit_cost_eur_per_place_year"]):
        parts.append(t(_NOTE_NO_COST, lang))
    return parts


def _costing_note(row: Mapping[str, Any], lang: str | None) -> str | None:
    """Return the ``note`` of one area × service-type costing row in ``lang`` (``None``: nothing to say)."""
    from socialmap.i18n import t

    parts = _missing_figures(row, lang)
    unknown = row.get("capacity_unknown")
    if unknown is not None and not pd.isna(unknown) and int(unknown) > 0:
        parts.append(t(_NOTE_UNKNOWN_CAPACITY, lang, n=int(unknown)))
    return "; ".join(parts) or None


def _check_costing(costing: Any, result: Result) -> None:
    """Raise unless ``costing`` is a :class:`~socialmap.costing.Costing` made from ``result``."""
    from socialmap.costing import Costing
    from socialmap.errors import SocialMapError

    if not isinstance(costing, Costing):
        raise SocialMapError(
            "`costing` must be what socialmap.costing.places_and_budget(result, ...) returned; "
            f"got {type(costing).__name__}."
        )
    redo = "make it with socialmap.costing.places_and_budget() of the result you export"
    cols = ["area_id", "service_type"]
    ours = result.table[[*cols, "supply"]].astype({"area_id": str, "service_type": str})
    reach = pd.to_numeric(
        result.table.get("supply_reach", pd.Series(np.nan, index=ours.index)), errors="coerce"
    )
    ours["reach"] = reach.fillna(pd.to_numeric(ours["supply"], errors="coerce")).to_numpy()
    given = costing.table.rename(columns={"supply": "reach_costing", "supply_inside": "supply"})
    theirs = given[[*cols, "reach_costing", "supply"]].astype({"area_id": str, "service_type": str})
    if len(ours) != len(theirs) or ours.duplicated(cols).any() or theirs.duplicated(cols).any():
        raise SocialMapError(f"`costing` does not have the rows of this result: {redo}.")
    both = ours.merge(theirs, on=cols, how="inner", suffixes=("", "_costing"))
    if len(both) != len(ours):
        raise SocialMapError(f"`costing` has other areas or service types than this result: {redo}.")

    def same(a_col: str, b_col: str) -> bool:
        a = pd.to_numeric(both[a_col], errors="coerce").to_numpy(dtype=float)
        b = pd.to_numeric(both[b_col], errors="coerce").to_numpy(dtype=float)
        return bool(np.allclose(a, b, rtol=1e-9, atol=1e-9, equal_nan=True))

    # The costing counts the places by reach (default) or inside the areas (supply="inside").
    if not same("supply", "supply_costing") or not (
        same("reach", "reach_costing") or same("supply", "reach_costing")
    ):
        raise SocialMapError(
            f"`costing` was made from another result (its supply differs from this result's): {redo}."
        )


def _with_area_geometry(frame: pd.DataFrame, result: Result) -> gpd.GeoDataFrame:
    areas = result.areas
    geometry = dict(zip(areas["area_id"].astype(str), areas.geometry, strict=True))
    shapes = gpd.GeoSeries(
        [geometry.get(a) for a in frame["area_id"].astype(str)], index=frame.index, crs=areas.crs
    )
    return gpd.GeoDataFrame(frame, geometry=shapes, crs=areas.crs)


def _hide(
    frame: pd.DataFrame,
    hide: pd.DataFrame,
    status: pd.Series,
    protected: Protected,
    lang: str | None,
    markers: bool,
) -> pd.DataFrame:
    """Blank (or mark) the cells ``hide`` flags; add the ``suppression`` column (its marker)."""
    out = frame.copy()
    marks = status.map(lambda s: protected.marker(s, lang) if s else "")
    for col in hide.columns:
        cells = hide[col].to_numpy(dtype=bool)
        if not cells.any():
            continue
        if markers:
            out[col] = out[col].astype(object)
            out.loc[cells, col] = marks[cells]
        else:
            out.loc[cells, col] = np.nan
    out["suppression"] = marks.astype(str)
    return out


def costing_tables(
    result: Result,
    costing: Costing | None = None,
    *,
    protected: Protected | None = None,
    taxonomy: Taxonomy | None = None,
    threshold: float | None = None,
    lang: str | None = None,
    markers: bool = True,
) -> dict[str, pd.DataFrame]:
    """
    Return the publishable tables of a costing: places and budget, their sources, hidden small counts.

    Parameters
    ----------
    result
        What :func:`socialmap.analyze` returned.
    costing
        Its costing (:func:`socialmap.costing.places_and_budget`, e.g. with user-supplied standards
        or unit costs); ``None`` makes one with the taxonomy's standards and unit costs.
    protected
        The suppression of ``result`` (:func:`socialmap.privacy.protect`; reuse the one of the other
        tables so that every output hides the same cells); ``None`` makes one.
    taxonomy
        The result's taxonomy (default: reloaded from its provenance).
    threshold
        Suppression threshold when ``protected`` is not given.
    lang
        Language of the service-type labels, notes and markers.
    markers
        ``True``: hidden cells hold ``"<5"``/``"[c]"``; ``False``: they are NaN (for typed formats).

    Returns
    -------
    tables
        ``costing`` (GeoDataFrame with the area's geometry, one row per area × service type: the
        columns of :data:`socialmap.costing.TABLE_COLUMNS` with ``service_label``, citations in
        ``lang`` for user-supplied figures, ``note`` in ``lang`` and ``suppression``),
        ``costing_national`` (one row per service type), ``costing_by_area`` (GeoDataFrame, one row
        per area: the budget over the service types that could be costed), ``costing_sources`` (one
        row per service type × figure: value, source key or ``"user-supplied"``, citation) and
        ``costing_notes`` (one ``note`` per line: how the figures are computed, what is missing,
        what is hidden).

    Raises
    ------
    SocialMapError
        If ``costing`` is not a costing of ``result``, or ``protected`` is not a suppression of it.
    """
    from socialmap.costing import USER_SUPPLIED, places_and_budget
    from socialmap.i18n import t
    from socialmap.privacy import COUNT_HIDDEN, SECONDARY, apply_mask, protect, resolve_taxonomy

    tax = resolve_taxonomy(result, taxonomy)
    if protected is None:
        protected = protect(result, threshold=threshold, taxonomy=tax)
    if costing is None:
        costing = places_and_budget(result, taxonomy=tax)
    _check_costing(costing, result)
    labels = _labels(result, tax, lang)

    def label(key: Any) -> str:
        return labels.get(str(key), str(key))

    # Area × service type: the result's suppression, cell for cell (default-deny: every column off
    # privacy.SAFE_COLUMNS is hidden in a row whose count is). The standard (places_per_1000 here) is
    # a published parameter; the supply is the supply by reach (2SFCA: it depends on the neighbours'
    # need), so it and what is computed from it are hidden in linked rows too.
    table = pd.DataFrame(costing.table).reset_index(drop=True)
    coupled = COSTING_COUPLED if getattr(costing, "supply_basis", "reach") != "inside" else ()
    mask, status = protected.mask(table, level="row", published=COSTING_PUBLISHED, coupled=coupled)
    mask = mask & table[mask.columns].notna()
    table["note"] = [_costing_note(row, lang) for row in table.to_dict("records")]
    for kind in ("standard", "cost"):
        user = (table[f"{kind}_source"] == USER_SUPPLIED).to_numpy()
        table[f"{kind}_citation"] = (
            table[f"{kind}_citation"].astype(object).where(~user, t(_USER_CITATION, lang))
        )
    table.insert(table.columns.get_loc("service_type") + 1, "service_label", table["service_type"].map(label))
    figures = table.drop_duplicates("service_type").set_index("service_type")
    shown_table = apply_mask(
        table, mask, status.where(mask.any(axis=1), ""), protected, markers=markers, lang=lang
    )

    # National: hidden whole where the national total is; where an area row is, all but the figures
    # of the national count (target group, places at the standard).
    nat = pd.DataFrame(costing.national).reset_index(drop=True)
    nat_mask, nat_status = protected.mask(nat, level="total", published=COSTING_PUBLISHED, coupled=coupled)
    nat_mask = nat_mask & nat[nat_mask.columns].notna()
    nat_status = nat_status.where(nat_mask.any(axis=1), "")
    total_status = protected.total_status()
    notes = []
    for i, row in nat.iterrows():
        st = str(row["service_type"])
        parts = _missing_figures(row, lang)
        rows = table[table["service_type"].astype(str) == st]
        unknown = int((pd.to_numeric(rows["capacity_unknown"], errors="coerce").fillna(0) > 0).sum())
        if unknown:
            parts.append(t(_NOTE_AREAS_UNKNOWN_CAPACITY, lang, n=unknown))
        if nat_status[i] and total_status.get(st) not in COUNT_HIDDEN:
            parts.append(t(_NOTE_NATIONAL_HIDDEN, lang, mark=protected.marker(SECONDARY, lang)))
        notes.append("; ".join(parts) or None)
    nat["note"] = notes
    nat.insert(1, "service_label", nat["service_type"].map(label))
    for kind, after in (("standard", "standard_source"), ("cost", "cost_source")):
        if f"{kind}_citation" not in nat.columns:
            cit = nat["service_type"].map(lambda k, c=f"{kind}_citation": figures[c].get(k))
            nat.insert(nat.columns.get_loc(after) + 1, f"{kind}_citation", cit)
    shown_nat = apply_mask(nat, nat_mask, nat_status, protected, markers=markers, lang=lang)

    # By area: the budget summed over the service types, hidden where a hidden row is in the sum.
    by = pd.DataFrame(costing.by_area).reset_index(drop=True)
    in_sum = set(table.loc[mask["budget_eur_per_year"], "area_id"].astype(str))
    by_mask = pd.DataFrame(
        {"budget_eur_per_year": by["area_id"].astype(str).isin(in_sum) & by["budget_eur_per_year"].notna()}
    )
    by_status = pd.Series(
        np.where(by_mask["budget_eur_per_year"], SECONDARY, ""), index=by.index, dtype=object
    )
    shown_by = apply_mask(by, by_mask, by_status, protected, markers=markers, lang=lang)

    # Sources: the value, source and citation of every standard and unit cost.
    sources = []
    for st in nat["service_type"].astype(str):
        f = figures.loc[st]
        for figure, value, src, cit in (
            (_FIGURE_STANDARD, "places_per_1000", "standard_source", "standard_citation"),
            (_FIGURE_COST, "unit_cost_eur_per_place_year", "cost_source", "cost_citation"),
        ):
            sources.append(
                {
                    "service_type": st,
                    "service_label": label(st),
                    "figure": t(figure, lang),
                    "value": f[value],
                    "source": f[src] if pd.notna(f[src]) else None,
                    "citation": f[cit] if pd.notna(f[cit]) else None,
                    "note": None if pd.notna(f[value]) else t(_NOT_SOURCED, lang),
                }
            )

    return {
        "costing": _with_area_geometry(shown_table, result),
        "costing_national": shown_nat,
        "costing_by_area": _with_area_geometry(shown_by, result),
        "costing_sources": pd.DataFrame(sources),
        "costing_notes": pd.DataFrame({"note": _costing_general_notes(table, nat, status, protected, lang)}),
    }


def _costing_general_notes(
    table: pd.DataFrame,
    national: pd.DataFrame,
    status: pd.Series,
    protected: Protected,
    lang: str | None,
) -> list[str]:
    """Return the lines of the costing notes sheet: method, totals, missing figures, caveats, hiding."""
    from socialmap.costing import USER_SUPPLIED
    from socialmap.i18n import t
    from socialmap.privacy import COUNT_HIDDEN, PRIMARY, SECONDARY

    def names(mask: pd.Series) -> str:
        return ", ".join(national.loc[mask, "service_label"].astype(str))

    lines = [
        t(
            "Places needed = target group × places per 1,000 / 1,000 − places of known capacity, not "
            "below 0, in each municipality; budget = places needed × unit cost (EUR per place per year).",
            lang,
        ),
        t(
            "National places needed are the sum of the municipalities' shortfalls: places above the "
            "standard in one municipality do not make up for a shortfall in another.",
            lang,
        ),
    ]
    no_standard = national["places_per_1000"].isna()
    no_cost = national["unit_cost_eur_per_place_year"].isna()
    if no_standard.any():
        lines.append(
            t(
                "No planning standard is sourced or given for: {services}. Their places needed and "
                "budget are left empty, not 0; enter standards (places per 1,000 of the target group) "
                "to compute them.",
                lang,
                services=names(no_standard),
            )
        )
    if no_cost.any():
        lines.append(
            t(
                "No unit cost is sourced or given for: {services}. Their budget is left empty, not 0; "
                "enter unit costs (EUR per place per year) to compute it.",
                lang,
                services=names(no_cost),
            )
        )
    no_need = national["target_group"].isna()
    if no_need.any():
        lines.append(
            t("Need unknown (a target group has no rate) for: {services}.", lang, services=names(no_need))
        )
    if (table["standard_source"] == USER_SUPPLIED).any() or (table["cost_source"] == USER_SUPPLIED).any():
        lines.append(
            t(
                "Figures whose source is 'user-supplied' were entered by the user, not taken from a "
                "published source.",
                lang,
            )
        )
    if (pd.to_numeric(table["capacity_unknown"], errors="coerce").fillna(0) > 0).any():
        lines.append(
            t(
                "Some services have an unknown capacity: there the places are a lower bound and the "
                "places needed may be overstated (see the note column).",
                lang,
            )
        )
    if status.isin(COUNT_HIDDEN).any():
        lines.append(
            t(
                "Where a small count of a sensitive group is hidden ({primary} or {secondary}), its "
                "places and budget are hidden too, and so are the municipality's total budget and the "
                "service type's national places needed and budget ({secondary}), which would give them back.",
                lang,
                primary=protected.marker(PRIMARY, lang),
                secondary=protected.marker(SECONDARY, lang),
            )
        )
    return lines


def export_table(
    result: Result,
    path: str | os.PathLike[str],
    *,
    table: Literal[
        "by_service_type",
        "areas",
        "totals",
        "services",
        "costing",
        "costing_national",
        "costing_by_area",
    ] = "by_service_type",
    sep: str = ",",
    lang: str | None = None,
    threshold: float | None = None,
    taxonomy: Taxonomy | None = None,
    protected: Protected | None = None,
    costing: Costing | None = None,
) -> Path:
    """
    Export a result's tables and its costing, safe to publish, in the format the file's suffix names.

    Parameters
    ----------
    result
        What :func:`socialmap.analyze` returned.
    path
        ``.csv`` (UTF-8 with BOM), ``.xlsx`` (sheets: areas, by service type, national totals,
        services, costing, costing national, costing by area, costing sources, costing notes,
        sources, columns, indicators: the monitoring indicators' definitions, equity and equity
        definitions: :func:`equity_tables`), ``.gpkg`` (layers ``areas``, ``areas_by_service_type``,
        ``services``,
        ``costing`` and ``costing_by_area``: the costing per area × service type and per area, with
        the area's polygon; the national costing, which has no geometry, is in the CSV and XLSX;
        ``demand_cells``: :func:`cells_table`, no cell of a sensitive type) or
        ``.geojson``.
    table
        For CSV and GeoJSON, which table (see :func:`protected_tables` and :func:`costing_tables`):
        ``by_service_type`` (one row per area × service type), ``areas``, ``services``,
        ``costing`` (places and budget per area × service type), ``costing_by_area`` (budget per
        area) or, CSV only, ``totals`` and ``costing_national`` (one row per service type). XLSX and
        GeoPackage files hold every table.
    sep
        CSV delimiter (``";"`` for spreadsheets set to a decimal comma).
    lang
        Language of labels, sheet names, notes, column descriptions and markers.
    threshold
        Suppression threshold (default ``socialmap.settings.suppression_threshold``).
    taxonomy
        The result's taxonomy (default: reloaded from its provenance).
    protected
        A suppression made with :func:`socialmap.privacy.protect`, to hide exactly the same cells
        as other outputs of the same result.
    costing
        The costing to export (:func:`socialmap.costing.places_and_budget` of ``result``, e.g. with
        user-supplied standards and unit costs); ``None``: the taxonomy's standards and unit costs
        (where the taxonomy sources none, as in the Kosovo one, places and budget are empty and the
        notes say why). Its small counts are hidden as in the result (:func:`costing_tables`).

    Returns
    -------
    path
        The written file.

    Raises
    ------
    SocialMapError
        If the suffix is not one of :data:`TABLE_FORMATS`, ``table`` is not one of :data:`TABLES`,
        a table without geometry is asked for as GeoJSON, or ``costing`` is not a costing of
        ``result``.
    """
    from socialmap.errors import SocialMapError
    from socialmap.i18n import t

    target = Path(path)
    suffix = target.suffix.lower()
    if suffix == ".json":
        suffix = ".geojson"
    if suffix not in TABLE_FORMATS:
        raise SocialMapError(
            f"Cannot export to {target.name!r}: use one of the suffixes {', '.join(TABLE_FORMATS)}."
        )
    if table not in TABLES:
        raise SocialMapError(f"`table` must be one of {', '.join(map(repr, TABLES))}; got {table!r}.")
    if table in NO_GEOMETRY and suffix == ".geojson":
        what = "national totals" if table == "totals" else "national costing"
        raise SocialMapError(
            f"The {what} have no geometry: export table={table!r} as .csv, or everything as .xlsx; "
            "for a map of the costing use table='costing' or 'costing_by_area' with .geojson."
        )
    if costing is not None:
        _check_costing(costing, result)
    from socialmap.privacy import protect, resolve_taxonomy

    tax = resolve_taxonomy(result, taxonomy)
    if protected is None:
        protected = protect(result, threshold=threshold, taxonomy=tax)
    markers = suffix != ".gpkg"
    if suffix in (".csv", ".geojson") and table.startswith("costing"):
        tables = costing_tables(
            result, costing, protected=protected, taxonomy=tax, lang=lang, markers=markers
        )
    else:
        tables = protected_tables(result, protected=protected, taxonomy=tax, lang=lang, markers=markers)
    if suffix == ".csv":
        return write_csv(tables[table], target, sep=sep)
    if suffix == ".geojson":
        return write_geojson(tables[table], target)
    cost = costing_tables(result, costing, protected=protected, taxonomy=tax, lang=lang, markers=markers)
    from socialmap.monitor import definitions

    if suffix == ".gpkg":
        layers = {
            "areas": tables["areas"],
            "areas_by_service_type": tables["by_service_type"],
            "services": tables["services"],
            "costing": cost["costing"],
            "costing_by_area": cost["costing_by_area"],
            "demand_cells": cells_table(result, protected),
        }
        return write_gpkg(layers, target)
    shown_tables = [
        tables["areas"],
        tables["by_service_type"],
        tables["services"],
        *(cost[k] for k in ("costing", "costing_national", "costing_by_area", "costing_sources")),
    ]
    columns = list(dict.fromkeys(c for frame in shown_tables for c in frame.columns))
    sheets = {
        t("areas", lang): tables["areas"],
        t("by service type", lang): tables["by_service_type"],
        t("national totals", lang): tables["totals"],
        t("services", lang): tables["services"],
        t("costing", lang): cost["costing"],
        t("costing national", lang): cost["costing_national"],
        t("costing by area", lang): cost["costing_by_area"],
        t("costing sources", lang): cost["costing_sources"],
        t("costing notes", lang): cost["costing_notes"],
        t("sources", lang): provenance_table(result, protected=protected, lang=lang),
        t("columns", lang): columns_table([c for c in columns if c != "geometry"], lang),
        # What each monitoring indicator is (name, definition, unit, computation, source, frequency,
        # disaggregation, limitations), as an SDG metadata sheet; the values are `socialmap monitor`'s.
        t("indicators", lang): definitions(lang),
    }
    equity = equity_tables(result, protected, tax, lang)
    sheets[t("equity", lang)] = equity["equity"]
    sheets[t("equity definitions", lang)] = equity["definitions"]
    return write_xlsx(sheets, target)


def equity_tables(
    result: Result, protected: Protected, taxonomy: Taxonomy, lang: str | None = None
) -> dict[str, pd.DataFrame]:
    """
    Return the equity indicators of a result as published, and their definitions, for the exports.

    Parameters
    ----------
    result
        An analysis.
    protected
        What :func:`socialmap.privacy.protect` returned for it: the service types it treats as
        sensitive are left out (their demand cells are never published, see
        :func:`socialmap.privacy.public_cells`).
    taxonomy
        For the service types' labels.
    lang
        Language of the labels, notes and definitions.

    Returns
    -------
    tables
        ``equity``: :func:`socialmap.equity.equity_table` of the other types, with ``service_label``
        after ``service_type`` and the notes in ``lang``; ``definitions``: one row per column of it
        (``indicator``, ``definition``), from :data:`EQUITY_DEFINITIONS`.
    """
    from dataclasses import replace

    from socialmap.equity import NOTE_NO_RANKING, NOTE_TARGET_WEIGHTED, equity_table
    from socialmap.i18n import t
    from socialmap.privacy import public_cells

    sensitive = set(protected.sensitive_types)
    public = replace(
        result,
        table=result.table[~result.table["service_type"].astype(str).isin(sensitive)],
        demand=public_cells(result.demand, protected),
    )
    table = equity_table(public)
    table.insert(1, "service_label", [taxonomy.label(str(k), lang) for k in table["service_type"]])

    def note(text: object) -> object:
        if not isinstance(text, str):
            return text
        for english in (NOTE_NO_RANKING, NOTE_TARGET_WEIGHTED):
            text = text.replace(english, t(english, lang))
        return text

    table["note"] = table["note"].map(note)
    # A spreadsheet has no infinity: the cell is left blank and the note says what it is.
    infinite = np.isinf(pd.to_numeric(table["palma"], errors="coerce"))
    said = t(_NOTE_PALMA_INFINITE, lang)
    table.loc[infinite, "note"] = [
        f"{n} {said}".strip() if isinstance(n, str) else said for n in table.loc[infinite, "note"]
    ]
    definitions = pd.DataFrame(
        [(col, t(EQUITY_DEFINITIONS[col], lang)) for col in table.columns if col in EQUITY_DEFINITIONS],
        columns=[t("indicator", lang), t("definition", lang)],
    )
    return {"equity": table, "definitions": definitions}


#: Columns of :func:`cells_table` (besides ``geometry``).
CELL_COLUMNS = ("area_id", "service_type", "need", "target_size", "access", "covered", "unmet", "nearest_m")


def cells_table(result: Result, protected: Protected) -> gpd.GeoDataFrame:
    """
    Per demand cell and service type: unmet need and the distance to the nearest service.

    This is the residual-population map of AccessMod: where the people whose need is not met live.
    The cells of the sensitive service types of ``protected`` (shelters, housing for children without
    parental care) are left out whole: a cell holds a handful of people, so any count there could
    single someone out, and the distance to the nearest shelter would point at it.

    Parameters
    ----------
    result
        An analysis.
    protected
        What :func:`socialmap.privacy.protect` returned for it (the one choke point of suppression).

    Returns
    -------
    cells
        One row per demand cell × published service type with :data:`CELL_COLUMNS` and the cell's
        point, in the result's CRS. ``unmet`` = need × (1 − min(A_i, 1)) (or need outside the
        catchment, for distance coverage); NaN where the need is unknown. On a road network,
        ``nearest_min`` too (``nearest_m`` is then NaN).
    """
    from socialmap.privacy import public_cells

    demand = result.demand
    cells = public_cells(demand, protected)
    for col in CELL_COLUMNS:
        if col not in cells.columns:
            cells[col] = np.nan
    extra = ["nearest_min"] if "nearest_min" in cells.columns else []  # travel time on a road network
    return gpd.GeoDataFrame(cells[[*CELL_COLUMNS, *extra, "geometry"]], geometry="geometry", crs=demand.crs)


def write_result(
    result: Result,
    out_dir: str | os.PathLike[str],
    *,
    map_column: str = "composite_gap",
    csv_sep: str = ",",
    threshold: float | None = None,
    taxonomy: Taxonomy | None = None,
    lang: str | None = None,
) -> dict[str, Path]:
    """
    Write an analysis result into a folder, with small counts of sensitive groups hidden.

    Parameters
    ----------
    result
        What :func:`socialmap.analyze` returned.
    out_dir
        Folder to write into (created if missing).
    map_column
        Column of ``result.areas`` shown on the map.
    csv_sep
        CSV delimiter (``";"`` for spreadsheets set to a decimal comma).
    threshold
        Suppression threshold (default ``socialmap.settings.suppression_threshold``).
    taxonomy
        The result's taxonomy (default: reloaded from its provenance).
    lang
        Language of the map (title, legend, tooltips, names, service types, note); the tables
        keep the library's column names.

    Returns
    -------
    paths
        ``gpkg``: ``areas.gpkg`` with layers ``areas`` (one row per area), ``areas_by_service_type``
        and ``demand_cells`` (:func:`cells_table`: unmet need and nearest distance per demand cell,
        sensitive types left out); ``csv``: ``areas.csv`` (one row per area × service type, with the
        area's composite gap and rank); ``equity``: ``equity.csv``
        (:func:`socialmap.equity.equity_table`, sensitive types left out); ``map``: ``map.html``;
        ``provenance``: ``provenance.json``.
    """
    from socialmap.i18n import check_language, column_title
    from socialmap.maps import choropleth_map, save_map
    from socialmap.privacy import protect, public_services, resolve_taxonomy, shown

    lang = check_language(lang)
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    tax = resolve_taxonomy(result, taxonomy)
    protected = protect(result, threshold=threshold, taxonomy=tax)
    by_type = protected.table.copy()
    by_type["suppression"] = by_type["suppression"].map(lambda status: protected.marker(status, lang))
    layers = {
        "areas": protected.areas,
        "areas_by_service_type": gpd.GeoDataFrame(by_type, crs=result.table.crs),
        "demand_cells": cells_table(result, protected),
    }
    paths = {"gpkg": write_gpkg(layers, out / "areas.gpkg")}
    long = shown(protected.table, protected, lang=lang).drop(columns="geometry")
    long = long.merge(protected.composite[["area_id", "composite_gap", "rank"]], on="area_id", how="left")
    paths["csv"] = write_csv(long, out / "areas.csv", sep=csv_sep)
    from socialmap.equity import equity_table

    equity = equity_table(result)
    equity = equity[~equity["service_type"].isin(set(protected.sensitive_types))]
    paths["equity"] = write_csv(equity, out / "equity.csv", sep=csv_sep)
    attribution = _attribution(result.provenance, lang)
    drawn = protected.areas.copy()
    for col in ("population", "rank"):  # whole numbers in the tooltips (not the mapped column)
        values = pd.to_numeric(drawn[col], errors="coerce") if col in drawn and col != map_column else None
        if values is not None and (values.dropna() % 1 == 0).all():
            drawn[col] = values.round().astype("Int64")
    fmap = choropleth_map(
        drawn,
        map_column,
        services=public_services(result.services, protected),
        tooltip_columns=tuple(c for c in ("name", "population", "composite_gap", "rank") if c in drawn),
        attribution=attribution,
        title=f"{column_title(map_column, lang)} ({_method_name(result.provenance.get('method'), lang)})",
        lang=lang,
        taxonomy=tax,
    )
    _inline_map_libraries(fmap)
    paths["map"] = save_map(fmap, out / "map.html")
    text = json.dumps(result.provenance, indent=2, ensure_ascii=False, default=str)
    paths["provenance"] = write_atomic(
        out / "provenance.json", lambda p: p.write_text(text, encoding="utf-8")
    )
    return paths


def _method_name(method: Any, lang: str | None = None) -> str:
    from socialmap.i18n import t

    names = {"2sfca": "2SFCA", "e2sfca": "E2SFCA", "coverage": t("distance coverage", lang)}
    return names.get(str(method), str(method))


def _attribution(provenance: dict[str, Any], lang: str | None = None) -> str:
    from socialmap.i18n import t

    parts = [t(str(provenance[k]), lang) for k in ("demo_boundaries",) if k in provenance]
    if "population_year" in provenance:
        parts.append(t("population {year}", lang, year=provenance["population_year"]))
    return "; ".join(parts)


#: Local copies of Leaflet and its plugins in a source checkout (``make assets``).
MAP_LIBRARIES = Path(__file__).resolve().parent.parent / "static" / "vendor"


def _inline_map_libraries(fmap: Any) -> None:
    """Inline Leaflet and its plugins into the map when local copies exist, so map.html works offline."""
    from socialmap import views

    if views.missing_assets(MAP_LIBRARIES):
        logger.info("map libraries not installed at %s: map.html loads them from the internet", MAP_LIBRARIES)
        return
    views.use_local_assets(fmap, MAP_LIBRARIES)
