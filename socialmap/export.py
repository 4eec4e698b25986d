"""Data exports of an analysis result: GeoPackage, CSV, the HTML map and the provenance.

Every file is written atomically (:func:`socialmap.io.write_atomic`): an interrupted export never
leaves a half-written file over a good one. Text cells that a spreadsheet would run as a formula
(starting with ``=``, ``+``, ``-``, ``@``, tab or carriage return) are prefixed with ``'``.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import TYPE_CHECKING, Any

import geopandas as gpd
import pandas as pd

from socialmap.io import write_atomic

if TYPE_CHECKING:
    from socialmap.pipeline import Result

_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


def neutralise_formulas(df: pd.DataFrame) -> pd.DataFrame:
    """
    Return a copy of ``df`` whose text cells cannot run as spreadsheet formulas.

    Text starting with ``=``, ``+``, ``-``, ``@``, tab or carriage return gets a leading ``'``;
    numbers are left alone (a negative number is a number, not a formula).

    Examples
    --------
    >>> neutralise_formulas(pd.DataFrame({"name": ["=1+1", "Pejë"], "n": [-1, 2]})).values.tolist()
    [["'=1+1", -1], ['Pejë', 2]]
    """
    out = df.copy()
    for col in out.columns:
        if out[col].dtype == object or pd.api.types.is_string_dtype(out[col]):
            out[col] = out[col].map(
                lambda v: "'" + v if isinstance(v, str) and v.startswith(_FORMULA_START) else v
            )
    return out


def _long_table(result: Result) -> pd.DataFrame:
    table = pd.DataFrame(result.table.drop(columns="geometry"))
    comp = result.composite[["area_id", "composite_gap", "rank"]]
    return table.merge(comp, on="area_id", how="left")


def write_csv(df: pd.DataFrame, path: str | os.PathLike[str], *, sep: str = ",") -> Path:
    """Write a table as UTF-8 CSV with a BOM (so Excel shows Albanian and Serbian letters), atomically."""
    safe = neutralise_formulas(pd.DataFrame(df.drop(columns="geometry", errors="ignore")))
    return write_atomic(path, lambda p: safe.to_csv(p, index=False, sep=sep, encoding="utf-8-sig"))


def write_result(
    result: Result,
    out_dir: str | os.PathLike[str],
    *,
    map_column: str = "composite_gap",
    csv_sep: str = ",",
) -> dict[str, Path]:
    """
    Write an analysis result into a folder.

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

    Returns
    -------
    paths
        ``gpkg``: ``areas.gpkg`` with layers ``areas`` (one row per area) and
        ``areas_by_service_type``; ``csv``: ``areas.csv`` (one row per area × service type, with the
        area's composite gap and rank); ``map``: ``map.html``; ``provenance``: ``provenance.json``.
    """
    from socialmap.maps import choropleth_map, save_map

    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    areas4326 = result.areas.to_crs("EPSG:4326")
    table4326 = result.table.to_crs("EPSG:4326")

    def gpkg(path: Path) -> None:
        neutralised = gpd.GeoDataFrame(neutralise_formulas(areas4326), geometry="geometry", crs="EPSG:4326")
        neutralised.to_file(path, layer="areas", driver="GPKG")
        by_type = gpd.GeoDataFrame(neutralise_formulas(table4326), geometry="geometry", crs="EPSG:4326")
        by_type.to_file(path, layer="areas_by_service_type", driver="GPKG")

    paths = {"gpkg": write_atomic(out / "areas.gpkg", gpkg)}
    paths["csv"] = write_csv(_long_table(result), out / "areas.csv", sep=csv_sep)
    attribution = _attribution(result.provenance)
    fmap = choropleth_map(
        result.areas,
        map_column,
        services=result.services,
        tooltip_columns=tuple(c for c in ("name", "population", "composite_gap", "rank") if c in result.areas),
        attribution=attribution,
        title=f"{map_column} ({result.provenance.get('method', '')})",
    )
    paths["map"] = save_map(fmap, out / "map.html")
    text = json.dumps(result.provenance, indent=2, ensure_ascii=False, default=str)
    paths["provenance"] = write_atomic(out / "provenance.json", lambda p: p.write_text(text, encoding="utf-8"))
    return paths


def _attribution(provenance: dict[str, Any]) -> str:
    parts = [str(provenance[k]) for k in ("demo_boundaries",) if k in provenance]
    if "population_year" in provenance:
        parts.append(f"population {provenance['population_year']}")
    return "; ".join(parts)
