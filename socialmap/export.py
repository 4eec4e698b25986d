"""Data exports of an analysis result: CSV, XLSX, GeoPackage, GeoJSON, the HTML map and the provenance.

Every file is written atomically (:func:`socialmap.io.write_atomic`): an interrupted export never
leaves a half-written file over a good one. Text cells that a spreadsheet would run as a formula
(starting with ``=``, ``+``, ``-``, ``@``, tab or carriage return) are prefixed with ``'``; in XLSX
they are also stored as text (``data_type`` ``'s'``), never as formulas.

Small counts of sensitive target groups are hidden in every table (:mod:`socialmap.privacy`):
CSV, XLSX and GeoJSON cells show ``"<5"`` (or ``"[c]"`` for a secondary suppression); a GeoPackage
keeps its number columns numeric, so there the cell is empty and the ``suppression`` column shows
the marker.
"""

from __future__ import annotations

import datetime as _dt
import json
import logging
import math
import os
import re
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
    from socialmap.pipeline import Result
    from socialmap.privacy import Protected
    from socialmap.taxonomy import Taxonomy

_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")

#: File suffixes :func:`export_table` writes.
TABLE_FORMATS = (".csv", ".xlsx", ".gpkg", ".geojson")

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
}

_ILLEGAL_XLSX = re.compile(r"[\000-\010]|[\013-\014]|[\016-\037]")


def neutralise_formulas(df: pd.DataFrame) -> pd.DataFrame:
    """
    Return a copy of ``df`` whose text cells cannot run as spreadsheet formulas.

    Text starting with ``=``, ``+``, ``-``, ``@``, tab or carriage return gets a leading ``'``;
    numbers are left alone (a negative number is a number, not a formula). Column names are
    treated the same way.

    Examples
    --------
    >>> neutralise_formulas(pd.DataFrame({"name": ["=1+1", "Pejë"], "n": [-1, 2]})).values.tolist()
    [["'=1+1", -1], ['Pejë', 2]]
    """
    out = df.copy()
    for col in out.columns:
        if out[col].dtype == object or pd.api.types.is_string_dtype(out[col]):
            out[col] = out[col].map(neutralise_value)
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
    if isinstance(value, str) and value.startswith(_FORMULA_START):
        return "'" + value
    return value


def write_csv(df: pd.DataFrame, path: str | os.PathLike[str], *, sep: str = ",") -> Path:
    """
    Write a table as UTF-8 CSV with a BOM (so Excel shows Albanian and Serbian letters), atomically.

    Parameters
    ----------
    df
        The table; a ``geometry`` column is dropped.
    path
        The file to write.
    sep
        Delimiter: ``","``, or ``";"`` for spreadsheets set to a decimal comma.

    Returns
    -------
    path
        The written file.
    """
    if sep not in (",", ";", "\t"):
        from socialmap.errors import SocialMapError

        raise SocialMapError(f"`sep` must be ',', ';' or a tab; got {sep!r}.")
    safe = neutralise_formulas(pd.DataFrame(df.drop(columns="geometry", errors="ignore")))
    return write_atomic(path, lambda p: safe.to_csv(p, index=False, sep=sep, encoding="utf-8-sig"))


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


def write_gpkg(layers: Mapping[str, gpd.GeoDataFrame], path: str | os.PathLike[str]) -> Path:
    """
    Write GeoDataFrames as layers of one GeoPackage (EPSG:4326), atomically.

    Parameters
    ----------
    layers
        Layer name → features. Text is neutralised against formula injection.
    path
        The ``.gpkg`` file to write.

    Returns
    -------
    path
        The written file.
    """

    def writer(p: Path) -> None:
        for name, gdf in layers.items():
            safe = gpd.GeoDataFrame(
                neutralise_formulas(gdf.to_crs("EPSG:4326")), geometry="geometry", crs="EPSG:4326"
            )
            safe.to_file(p, layer=name, driver="GPKG")

    return write_atomic(path, writer)


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
        One row per provenance entry (nested entries as ``rates.<group>.sources``), then the export
        date and, with ``protected``, the suppression threshold and rule.
    """
    from socialmap.i18n import format_date, t

    rows = _flatten("", result.provenance)
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
    comp = result.composite[["area_id", "composite_gap", "rank"]]
    long = long.merge(comp, on="area_id", how="left")
    totals = protected.totals.copy()
    totals.insert(1, "service_label", totals["service_type"].map(labels))
    if markers:
        long = shown(long, protected, lang=lang)
        totals = shown(totals, protected, lang=lang)
    else:
        long["suppression"] = long["suppression"].map(lambda s: protected.marker(s, lang))
        totals["suppression"] = totals["suppression"].map(lambda s: protected.marker(s, lang))
    return {
        "areas": gpd.GeoDataFrame(result.areas.copy(), geometry="geometry", crs=result.areas.crs),
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


def export_table(
    result: Result,
    path: str | os.PathLike[str],
    *,
    table: Literal["by_service_type", "areas", "totals", "services"] = "by_service_type",
    sep: str = ",",
    lang: str | None = None,
    threshold: float | None = None,
    taxonomy: Taxonomy | None = None,
    protected: Protected | None = None,
) -> Path:
    """
    Export a result's tables, safe to publish, in the format the file's suffix names.

    Parameters
    ----------
    result
        What :func:`socialmap.analyze` returned.
    path
        ``.csv`` (UTF-8 with BOM), ``.xlsx`` (sheets: areas, by service type, national totals,
        services, sources, columns), ``.gpkg`` (layers ``areas``, ``areas_by_service_type`` and
        ``services``) or ``.geojson``.
    table
        For CSV and GeoJSON, which table (see :func:`protected_tables`): ``by_service_type`` (one
        row per area × service type), ``areas``, ``services`` or (CSV only) ``totals``.
    sep
        CSV delimiter (``";"`` for spreadsheets set to a decimal comma).
    lang
        Language of labels, sheet names, column descriptions and markers.
    threshold
        Suppression threshold (default ``socialmap.settings.suppression_threshold``).
    taxonomy
        The result's taxonomy (default: reloaded from its provenance).
    protected
        A suppression made with :func:`socialmap.privacy.protect`, to hide exactly the same cells
        as other outputs of the same result.

    Returns
    -------
    path
        The written file.

    Raises
    ------
    SocialMapError
        If the suffix is not one of :data:`TABLE_FORMATS` or ``table`` is unknown.
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
    if table not in ("by_service_type", "areas", "totals", "services"):
        raise SocialMapError(
            f"`table` must be 'by_service_type', 'areas', 'totals' or 'services'; got {table!r}."
        )
    if table == "totals" and suffix == ".geojson":
        raise SocialMapError("The national totals have no geometry: export them as .csv or .xlsx.")
    from socialmap.privacy import protect, resolve_taxonomy

    tax = resolve_taxonomy(result, taxonomy)
    if protected is None:
        protected = protect(result, threshold=threshold, taxonomy=tax)
    tables = protected_tables(result, protected=protected, taxonomy=tax, lang=lang, markers=suffix != ".gpkg")
    if suffix == ".csv":
        return write_csv(tables[table], target, sep=sep)
    if suffix == ".geojson":
        return write_geojson(tables[table], target)
    if suffix == ".gpkg":
        layers = {
            "areas": tables["areas"],
            "areas_by_service_type": tables["by_service_type"],
            "services": tables["services"],
        }
        return write_gpkg(layers, target)
    columns = list(
        dict.fromkeys(
            [*tables["areas"].columns, *tables["by_service_type"].columns, *tables["services"].columns]
        )
    )
    sheets = {
        t("areas", lang): tables["areas"],
        t("by service type", lang): tables["by_service_type"],
        t("national totals", lang): tables["totals"],
        t("services", lang): tables["services"],
        t("sources", lang): provenance_table(result, protected=protected, lang=lang),
        t("columns", lang): columns_table([c for c in columns if c != "geometry"], lang),
    }
    return write_xlsx(sheets, target)


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
        ``gpkg``: ``areas.gpkg`` with layers ``areas`` (one row per area) and
        ``areas_by_service_type``; ``csv``: ``areas.csv`` (one row per area × service type, with the
        area's composite gap and rank); ``map``: ``map.html``; ``provenance``: ``provenance.json``.
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
    paths = {
        "gpkg": write_gpkg(
            {"areas": result.areas, "areas_by_service_type": gpd.GeoDataFrame(by_type, crs=result.table.crs)},
            out / "areas.gpkg",
        )
    }
    long = shown(protected.table, protected, lang=lang).drop(columns="geometry")
    long = long.merge(result.composite[["area_id", "composite_gap", "rank"]], on="area_id", how="left")
    paths["csv"] = write_csv(long, out / "areas.csv", sep=csv_sep)
    attribution = _attribution(result.provenance, lang)
    drawn = result.areas.copy()
    for col in ("population", "rank"):  # whole numbers in the tooltips (not the mapped column)
        values = pd.to_numeric(drawn[col], errors="coerce") if col in drawn and col != map_column else None
        if values is not None and (values.dropna() % 1 == 0).all():
            drawn[col] = values.round().astype("Int64")
    fmap = choropleth_map(
        drawn,
        map_column,
        services=public_services(result.services, protected),
        tooltip_columns=tuple(
            c for c in ("name", "population", "composite_gap", "rank") if c in result.areas
        ),
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
