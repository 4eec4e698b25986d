"""
The app's downloads: the tables, layers and maps a person takes away, all safe to publish.

:func:`csv_bytes` (numbers in the language's CSV convention), :func:`gpkg_bytes` and
:func:`selection_layers` (the selection's layers for QGIS), :func:`map_html_bytes`,
:func:`print_map` (the CLI's print map), :func:`brief_pdf` and the files' names
(:func:`download_name`, :func:`brief_name`).
"""

from __future__ import annotations

import dataclasses
import re
import tempfile
from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any

import geopandas as gpd
import pandas as pd

from socialmap import i18n
from socialmap.app.explore import Selection, area_names, composite_for, selection_frame, types_in_scope
from socialmap.app.labels import ALL_TYPES, CSV_CONVENTIONS, column_decimals
from socialmap.app.mapview import map_title, public_service_sites, selection_cells
from socialmap.app.profile import _area_row
from socialmap.app.runner import published
from socialmap.errors import SocialMapError

if TYPE_CHECKING:
    import folium

    from socialmap.pipeline import Result
    from socialmap.taxonomy import Taxonomy


def csv_bytes(table: pd.DataFrame, lang: str | None = None) -> bytes:
    """
    Return a display table as CSV bytes in the language's convention (:data:`CSV_CONVENTIONS`).

    UTF-8 with a BOM (Excel shows ë, ç, č, š); ``;`` and decimal commas for Albanian and Serbian,
    ``,`` and decimal points for English; numbers rounded as the table shows them
    (:func:`column_decimals`), never with float noise; formulas neutralised. Written by
    :func:`socialmap.export.write_csv`; a geometry column is dropped.
    """
    from socialmap.export import write_csv

    sep, decimal = CSV_CONVENTIONS[i18n.check_language(lang)]
    with tempfile.TemporaryDirectory(prefix="socialmap-download-") as tmp:
        path = write_csv(
            table, Path(tmp) / "table.csv", sep=sep, decimal=decimal, decimals=column_decimals(table, lang)
        )
        return path.read_bytes()


def gpkg_bytes(layers: Mapping[str, gpd.GeoDataFrame]) -> bytes:
    """
    GeoDataFrames as the bytes of one GeoPackage, one layer each, in EPSG:4326.

    Written by the one GeoPackage writer, :func:`socialmap.writers.gpkg_bytes`: text cells that a
    spreadsheet would run as formulas are neutralised; empty layers are left out.
    """
    from socialmap.writers import gpkg_bytes as write

    kept = {name: gdf for name, gdf in layers.items() if gdf is not None and not gdf.empty}
    if not kept:
        raise SocialMapError("Nothing to write: every layer is empty.")
    return write(kept)


def selection_layers(result: Result, selection: Selection, taxonomy: Taxonomy) -> dict[str, gpd.GeoDataFrame]:
    """
    Layers of the GeoPackage download: ``areas`` (the selection's figures) and ``services``.

    With ``selection.cells``, also ``demand_cells`` (:func:`selection_cells`) where there are any.
    """
    result = published(result, taxonomy)  # the one rule: every figure shown is a published one
    areas = selection_frame(result, selection, taxonomy)
    services = public_service_sites(result.services, taxonomy)
    keep = [
        c for c in ("service_id", "name", "service_type", "capacity", "provider", "area_id") if c in services
    ]
    layers = {"areas": areas, "services": gpd.GeoDataFrame(services[keep], geometry=services.geometry)}
    cells = selection_cells(result, selection, taxonomy) if selection.cells else None
    if cells is not None:
        layers["demand_cells"] = cells
    return layers


def map_html_bytes(fmap: folium.Map) -> bytes:
    """Return the map as a standalone HTML page (UTF-8); inline its libraries first to use it offline."""
    return fmap.get_root().render().encode("utf-8")


def download_name(selection: Selection, suffix: str) -> str:
    """File name of a download, e.g. ``socialmap_home_care_elderly_gap_score.csv``."""
    scope = "all" if selection.service_type == ALL_TYPES else selection.service_type
    if selection.service_type == ALL_TYPES and selection.target_group:
        scope = f"all_{selection.target_group}"
    stem = re.sub(r"[^A-Za-z0-9_]+", "_", f"socialmap_{scope}_{selection.metric}")
    return f"{stem}.{suffix.lstrip('.')}"


def print_map(result: Result, selection: Selection, taxonomy: Taxonomy, suffix: str) -> bytes:
    """
    Return the print map of the selection (``png``, ``pdf`` or ``svg``): the CLI's ``map`` file.

    The same figure as ``socialmap map --service-type TYPE --column METRIC --scheme S --k K
    --lang L`` (:func:`socialmap.static.gap_map`); for all service types, the composite gap (of the
    service types serving the chosen target group, if one is chosen, titled as on screen).
    """
    from socialmap.static import FIGURE_FORMATS, gap_map, save_figure

    if f".{suffix.lstrip('.')}" not in FIGURE_FORMATS:
        raise SocialMapError(f"A print map is one of {', '.join(FIGURE_FORMATS)}; got {suffix!r}.")
    options: dict[str, Any] = {"scheme": selection.scheme, "k": selection.k, "lang": selection.lang}
    if selection.service_type == ALL_TYPES:
        shown = result
        if selection.target_group is not None:
            comp = composite_for(result, types_in_scope(taxonomy, selection.target_group), taxonomy)
            areas = result.areas.drop(columns=["composite_gap", "types_scored", "rank"], errors="ignore")
            areas = areas.merge(
                comp[["area_id", "composite_gap", "types_scored", "rank"]], on="area_id", how="left"
            )
            shown = dataclasses.replace(result, areas=areas)
            options["title"] = map_title(result, selection, taxonomy)
        fig = gap_map(shown, column="composite_gap", taxonomy=taxonomy, **options)
    else:
        fig = gap_map(
            result, service_type=selection.service_type, column=selection.metric, taxonomy=taxonomy, **options
        )
    with tempfile.TemporaryDirectory(prefix="socialmap-download-") as tmp:
        return save_figure(fig, Path(tmp) / f"map.{suffix.lstrip('.')}").read_bytes()


def brief_pdf(
    result: Result, taxonomy: Taxonomy, lang: str | None = None, *, area_id: str | None = None
) -> bytes:
    """Return the one-page brief of a municipality (or the national one): the CLI's ``brief`` file."""
    from socialmap.report import brief

    with tempfile.TemporaryDirectory(prefix="socialmap-download-") as tmp:
        path = brief(result, area=area_id, path=Path(tmp) / "brief.pdf", lang=lang, taxonomy=taxonomy)
        return path.read_bytes()


def brief_name(result: Result, area_id: str | None = None, lang: str | None = None) -> str:
    """File name of a brief: ``socialmap_brief_02_gjakove.pdf``, ``socialmap_brief_national.pdf``."""
    if area_id is None:
        return "socialmap_brief_national.pdf"
    from socialmap.names import normalise_name

    name = area_names(_area_row(result, area_id).to_frame().T, lang).iloc[0]
    stem = re.sub(r"[^A-Za-z0-9_]+", "_", f"socialmap_brief_{area_id}_{normalise_name(name)}").strip("_")
    return f"{stem}.pdf"
