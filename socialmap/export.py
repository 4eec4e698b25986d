"""Data exports of an analysis result: CSV, XLSX, GeoPackage, GeoJSON, the HTML map and the provenance.

Every file is written atomically by :mod:`socialmap.writers` (the CSV, XLSX, GeoPackage and
GeoJSON writers, re-exported here): an interrupted export never leaves a half-written file over a
good one. Text cells that a spreadsheet would run as a formula
(starting with ``=``, ``+``, ``-``, ``@``, tab or carriage return) are prefixed with ``'``; in XLSX
they are also stored as text (``data_type`` ``'s'``), never as formulas.

Small counts of sensitive target groups are hidden in every table (:mod:`socialmap.privacy`):
CSV, XLSX and GeoJSON cells show ``"<5"`` (or ``"[c]"`` for a secondary suppression); a GeoPackage
keeps its number columns numeric, so there the cell is empty and the ``suppression`` column shows
the marker.

The costing (:mod:`socialmap.costing`: places needed to reach the planning standard and their yearly
budget) is exported beside the result's tables (:func:`socialmap.costing.costing_tables`), with the
source of every standard and unit cost. A missing standard or unit cost leaves the cell empty (never
0) and the row's ``note`` says why. The costing hides the same cells as the result: in an area ×
service type row whose need is hidden, the counts that give the need back (``target_group``,
``places_target``, ``places_needed``, ``budget_eur_per_year``) are hidden with the same marker; the
municipality's total budget and the service type's national places needed and budget, which with the
published rows would give back the hidden ones, are hidden as ``"[c]"``.
"""

from __future__ import annotations

import functools
import json
import logging
import os
from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

import geopandas as gpd
import numpy as np
import pandas as pd

from socialmap._fork import Worker, beside
from socialmap.atomic import write_atomic
from socialmap.costing import _check_costing, _labels, costing_tables
from socialmap.i18n import N_

# The table writers live in socialmap.writers (the costing, comparisons, targets and monitoring
# write through them too); their names stay importable from here.
from socialmap.writers import (  # noqa: F401 - re-exported
    CSV_DECIMALS,
    csv_frame,
    gpkg_bytes,
    neutralise_formulas,
    neutralise_value,
    number_text,
    write_csv,
    write_geojson,
    write_gpkg,
    write_xlsx,
)

logger = logging.getLogger(__name__)

if TYPE_CHECKING:
    from socialmap.costing import Costing
    from socialmap.pipeline import Result
    from socialmap.privacy import Protected
    from socialmap.taxonomy import Taxonomy


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
    parallel: bool | Worker = False,
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
    parallel
        Write the map in a forked child process while this one writes the GeoPackage and the
        CSV tables (:func:`socialmap._fork.beside`: Linux, and only while no other Python thread
        runs; anywhere else, or if the child fails, they are written here). The files are the same
        either way. A :func:`map_worker` started earlier does the map instead (its child has imported
        folium while the analysis ran). The command line sets it; leave it off in a program that
        uses threads or subprocesses of its own.

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
    from socialmap.i18n import check_language
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
    paths = {
        "gpkg": out / "areas.gpkg",
        "csv": out / "areas.csv",
        "equity": out / "equity.csv",
        "map": out / "map.html",
    }

    def tables() -> None:
        from socialmap.equity import equity_table

        write_gpkg(layers, paths["gpkg"])
        long = shown(protected.table, protected, lang=lang).drop(columns="geometry")
        long = long.merge(protected.composite[["area_id", "composite_gap", "rank"]], on="area_id", how="left")
        write_csv(long, paths["csv"], sep=csv_sep)
        equity = equity_table(result)
        equity = equity[~equity["service_type"].isin(set(protected.sensitive_types))]
        write_csv(equity, paths["equity"], sep=csv_sep)

    # The tables here and the map (folium's import and rendering: about as long) in a child process
    # beside them when ``parallel``; the same files either way.
    html_map = functools.partial(
        _write_html_map,
        protected.areas,
        public_services(result.services, protected),
        paths["map"],
        map_column=map_column,
        provenance=result.provenance,
        lang=lang,
        taxonomy=tax,
    )
    worker = parallel if isinstance(parallel, Worker) else None
    beside(html_map, tables, fork=parallel is not False, worker=worker)
    text = json.dumps(result.provenance, indent=2, ensure_ascii=False, default=str)
    paths["provenance"] = write_atomic(
        out / "provenance.json", lambda p: p.write_text(text, encoding="utf-8")
    )
    return paths


def map_worker() -> Worker:
    """
    Start a child process that imports folium now, for :func:`write_result`'s ``parallel``.

    The command line starts it before the analysis, so that the import (about 0.3 s) is done by the
    time the map is drawn. Nothing is started where :func:`socialmap._fork.can_fork` is false.
    """
    return Worker(_import_map_libraries)


def _import_map_libraries() -> None:
    """Import what :func:`_write_html_map` needs (folium compiles its templates as it is imported)."""
    import branca.element  # noqa: F401
    import branca.utilities  # noqa: F401
    import folium  # noqa: F401
    import folium.plugins  # noqa: F401
    import folium.template  # noqa: F401

    import socialmap.assets  # noqa: F401
    import socialmap.maps  # noqa: F401


def _write_html_map(
    areas: gpd.GeoDataFrame,
    services: gpd.GeoDataFrame | None,
    path: Path,
    *,
    map_column: str,
    provenance: dict[str, Any],
    lang: str,
    taxonomy: Taxonomy,
) -> Path:
    """Draw :func:`write_result`'s map.html (areas and services already protected) and write it."""
    from socialmap.i18n import column_title
    from socialmap.maps import choropleth_map, save_map

    drawn = areas.copy()
    for col in ("population", "rank"):  # whole numbers in the tooltips (not the mapped column)
        if col not in drawn or col == map_column:
            continue
        values = pd.to_numeric(drawn[col], errors="coerce")
        if (values.dropna() % 1 == 0).all():
            drawn[col] = values.round().astype("Int64")
    fmap = choropleth_map(
        drawn,
        map_column,
        services=services,
        tooltip_columns=tuple(c for c in ("name", "population", "composite_gap", "rank") if c in drawn),
        attribution=_attribution(provenance, lang),
        title=f"{column_title(map_column, lang)} ({_method_name(provenance.get('method'), lang)})",
        lang=lang,
        taxonomy=taxonomy,
    )
    _inline_map_libraries(fmap)
    return save_map(fmap, path)


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
    from socialmap.assets import missing_assets, use_local_assets

    if missing_assets(MAP_LIBRARIES):
        logger.info("map libraries not installed at %s: map.html loads them from the internet", MAP_LIBRARIES)
        return
    use_local_assets(fmap, MAP_LIBRARIES)
