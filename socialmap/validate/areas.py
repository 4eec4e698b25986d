"""Checks and safe repairs of areas: ids, names, polygons, their CRS."""

from __future__ import annotations

from typing import Any

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely

from socialmap.errors import Message, Problem
from socialmap.i18n import N_, Nn_
from socialmap.validate.base import _Ints, _list
from socialmap.validate.geometry import _geo_frame, _missing_geometry, _polygonal, _range_check
from socialmap.validate.mapping import _empty, _finish, _head, _require
from socialmap.validate.values import _clean_text, _ids


def _validate_areas(
    frame: pd.DataFrame,
    *,
    file: str,
    rows: _Ints | None = None,
    columns: dict[str, str] | None = None,
    crs: Any = None,
) -> tuple[pd.DataFrame, list[Problem]]:
    frame, c, required = _head(frame, "areas", file=file, rows=rows, columns=columns)
    if _empty(frame, c):
        return frame, c.problems
    frame = _clean_text(frame.copy(), c)
    missing = _require(frame, "areas", required, c)
    if "area_id" not in missing:
        frame = _ids(frame, "area_id", c)
    if "name" not in missing:
        empty = np.flatnonzero(frame["name"].isna().to_numpy())
        c.per_row(empty, "name", lambda i: N_("'name' is empty."), N_("Give every area a name."))
    gdf = _geo_frame(frame, "areas", crs, c)
    if gdf is None:
        c.add(
            Message(
                N_("The areas have no geometry (polygons); found columns {found}."),
                found=_list(frame.columns),
            ),
            N_("Areas must be polygons: use a GeoJSON, GeoPackage, zipped Shapefile or GeoParquet file."),
            column="geometry",
        )
        return _finish(frame, "areas", c)
    present = _missing_geometry(gdf, c)
    geoms = np.asarray(gdf.geometry.array, dtype=object).copy()
    types = np.array([g.geom_type if g is not None else "" for g in geoms])
    wrong = present & ~np.isin(types, ["Polygon", "MultiPolygon", "GeometryCollection"])
    c.per_row(
        np.flatnonzero(wrong),
        "geometry",
        lambda i: Message(N_("The geometry is a {type}; areas must be polygons."), type=types[i]),
        N_("Use the polygon layer of the boundaries (not points or lines)."),
    )
    # Coordinates first: repairing a polygon that lies beyond the Earth is pointless, and overflows.
    candidates = _range_check(gdf, present & ~wrong, c, points=False)
    unusable = ~candidates
    valid = np.ones(len(geoms), dtype=bool)
    with np.errstate(all="ignore"):  # shapely on a file's coordinates: no stray numpy warnings
        valid[candidates] = shapely.is_valid(geoms[candidates])
    invalid = candidates & ~valid
    collections = candidates & (types == "GeometryCollection") & ~invalid
    repaired: list[int] = []
    reasons: list[str] = []
    for i in np.flatnonzero(invalid | collections):
        with np.errstate(all="ignore"):
            fixed = _polygonal(shapely.make_valid(geoms[i]) if invalid[i] else geoms[i])
        if fixed is None:
            c.per_row(
                [int(i)],
                "geometry",
                lambda _: N_("The geometry has no polygonal part left after repair."),
                N_("Redraw this area's polygon."),
            )
            unusable[i] = True
            continue
        if invalid[i]:
            reasons.append(shapely.is_valid_reason(geoms[i]))
        geoms[i] = fixed
        repaired.append(int(i))
    if repaired:
        fix = N_("Nothing to do (repaired); check the boundaries of those areas, or fix them in a GIS.")
        if reasons:
            c.summary(
                repaired,
                "geometry",
                Nn_(
                    "Repaired {n} invalid polygon with shapely.make_valid, keeping only polygonal "
                    "parts: {reasons} ({rows}).",
                    "Repaired {n} invalid polygons with shapely.make_valid, keeping only polygonal "
                    "parts: {reasons} ({rows}).",
                ),
                fix,
                n=len(repaired),
                reasons="; ".join(sorted(set(reasons))[:5]),
            )
        else:
            c.summary(
                repaired,
                "geometry",
                Nn_(
                    "Repaired {n} invalid polygon with shapely.make_valid, keeping only polygonal "
                    "parts ({rows}).",
                    "Repaired {n} invalid polygons with shapely.make_valid, keeping only polygonal "
                    "parts ({rows}).",
                ),
                fix,
                n=len(repaired),
            )
        gdf = gdf.set_geometry(gpd.GeoSeries(geoms, index=gdf.index, crs=gdf.crs))
    return _finish(gdf, "areas", c)
