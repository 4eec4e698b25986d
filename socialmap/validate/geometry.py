"""Geometry and CRS: coordinates from columns, missing and out-of-range geometries, swapped lon/lat."""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely
from pyproj import CRS

from socialmap.errors import (
    Message,
    Number,
)
from socialmap.i18n import N_
from socialmap.validate.base import _MAX_PROJECTED, LATITUDE_NAMES, LONGITUDE_NAMES, _Collector, _list
from socialmap.validate.mapping import _coordinate_candidates, _geometry_name
from socialmap.validate.values import parse_number


def _crs_fix(kind: str) -> Message:
    return Message(
        N_(
            "Pass the CRS the coordinates are in, e.g. `read_{kind}(path, crs='EPSG:4326')` for "
            "longitude/latitude in degrees or crs='EPSG:32634' for UTM zone 34N metres (same `crs=` "
            "argument for `validate_{kind}`); for a Shapefile you can instead add its .prj file."
        ),
        kind=kind,
    )


def _geo_frame(frame: pd.DataFrame, kind: str, crs: Any, c: _Collector) -> gpd.GeoDataFrame | None:
    """Return the frame as a GeoDataFrame with a ``geometry`` column and the right CRS, or ``None``."""
    name = _geometry_name(frame)
    if name is None:
        return None
    assert isinstance(frame, gpd.GeoDataFrame)
    gdf = frame if name == "geometry" else frame.rename_geometry("geometry")
    if crs is not None:
        wanted = CRS.from_user_input(crs)
        if gdf.crs is None:
            gdf = gdf.set_crs(wanted)
        elif not gdf.crs.equals(wanted):
            c.add(
                Message(
                    N_("The file declares the CRS {declared}, but crs='{given}' was given."),
                    declared=gdf.crs.to_string(),
                    given=crs,
                ),
                N_("Drop the `crs=` argument (it is only for files without a CRS), or reproject the file."),
                column="geometry",
            )
    elif gdf.crs is None:
        c.add(
            N_("The file has no coordinate reference system (CRS), so its coordinates cannot be placed."),
            _crs_fix(kind),
            column="geometry",
        )
    return gdf


def _coordinate_columns(frame: pd.DataFrame, c: _Collector) -> tuple[str, str] | None | bool:
    """Find the latitude and longitude columns; ``None`` if absent, ``False`` if ambiguous (reported)."""
    lat = _coordinate_candidates(frame, LATITUDE_NAMES)
    lon = _coordinate_candidates(frame, LONGITUDE_NAMES)
    if not lat and not lon:
        return None
    ok = True
    for what, hits, names in (("latitude", lat, LATITUDE_NAMES), ("longitude", lon, LONGITUDE_NAMES)):
        texts = _COORDINATE_TEXTS[what]
        if len(hits) > 1:
            c.add(
                Message(texts["several"], columns=_list(hits)),
                Message(texts["several_fix"], name=names[0]),
                column=str(hits[0]),
            )
            ok = False
        elif not hits:
            found = [str(col) for col in frame.columns]
            c.add(
                Message(texts["none"], names=_list(names), found=_list(found)),
                Message(texts["none_fix"], name=names[0]),
                column=names[0],
            )
            ok = False
    return (str(lat[0]), str(lon[0])) if ok else False


#: Problems of the coordinate columns, per coordinate (whole sentences: the words take different forms).
_COORDINATE_TEXTS = {
    "latitude": {
        "several": N_("Several columns could hold the latitude: {columns}."),
        "several_fix": N_(
            "Rename the ones that are not the latitude, or map one with `columns={{'...': '{name}'}}`."
        ),
        "none": N_("There is no latitude column (looked for {names}, any case); found {found}."),
        "none_fix": N_(
            "Name the latitude column '{name}', or map it with `columns={{'your column': '{name}'}}`."
        ),
    },
    "longitude": {
        "several": N_("Several columns could hold the longitude: {columns}."),
        "several_fix": N_(
            "Rename the ones that are not the longitude, or map one with `columns={{'...': '{name}'}}`."
        ),
        "none": N_("There is no longitude column (looked for {names}, any case); found {found}."),
        "none_fix": N_(
            "Name the longitude column '{name}', or map it with `columns={{'your column': '{name}'}}`."
        ),
    },
}


def _not_a_coordinate(raw: list[Any], col: str) -> Callable[[int], str]:
    return lambda i: Message(N_("Coordinate '{value}' in '{col}' is not a number."), value=raw[i], col=col)


def _points_from_columns(
    frame: pd.DataFrame, lat_col: str, lon_col: str, crs: Any, c: _Collector
) -> tuple[gpd.GeoDataFrame, np.ndarray]:
    """Build points from coordinate columns (EPSG:4326 unless ``crs``); report bad and empty values.

    Returns the frame and the mask of rows already reported.
    """
    coords = {}
    reported = np.zeros(len(frame), dtype=bool)
    for col in (lat_col, lon_col):
        raw = frame[col].tolist()
        parsed = [parse_number(v, grouping=False) for v in raw]
        bad = [i for i, (_, ok) in enumerate(parsed) if not ok]
        c.per_row(
            bad,
            col,
            _not_a_coordinate(raw, col),
            N_("Write coordinates as decimal numbers, e.g. 42.66 or 42,66 (not degrees-minutes-seconds)."),
        )
        reported[bad] = True
        coords[col] = np.array([p[0] for p in parsed], dtype=float)
    lat, lon = coords[lat_col], coords[lon_col]
    missing = np.flatnonzero((np.isnan(lat) | np.isnan(lon)) & ~reported)
    reported[missing] = True
    c.per_row(
        missing,
        f"{lat_col}/{lon_col}",
        lambda i: N_("The row has no coordinates (empty latitude or longitude), so it has no location."),
        N_("Fill in both coordinates, or remove the row."),
    )
    ok = ~np.isnan(lat) & ~np.isnan(lon)
    geoms = np.full(len(frame), None, dtype=object)
    geoms[ok] = shapely.points(lon[ok], lat[ok])
    data = frame.drop(columns=[lat_col, lon_col])
    gdf = gpd.GeoDataFrame(data, geometry=geoms, crs=crs if crs is not None else "EPSG:4326")
    return gdf, reported


def _missing_geometry(gdf: gpd.GeoDataFrame, c: _Collector, skip: np.ndarray | None = None) -> np.ndarray:
    """Report rows without geometry (except those in ``skip``); return the mask of rows that have one."""
    geoms = gdf.geometry.array
    missing = np.asarray(gdf.geometry.isna()) | np.asarray(shapely.is_empty(np.asarray(geoms, dtype=object)))
    present = ~missing
    c.per_row(
        np.flatnonzero(missing if skip is None else missing & ~skip),
        "geometry",
        lambda i: N_("The row has no geometry (missing or empty)."),
        N_("Draw or fill in its location, or remove the row."),
    )
    return present


def _range_check(gdf: gpd.GeoDataFrame, present: np.ndarray, c: _Collector, *, points: bool) -> np.ndarray:
    """Report coordinates that are not finite or, in a geographic CRS, outside ±180/±90 (and swapped)."""
    ok = present.copy()
    bounds = np.full((len(gdf), 4), np.nan)
    if present.any():
        bounds[present] = shapely.bounds(np.asarray(gdf.geometry.array, dtype=object)[present])
    finite = np.isfinite(bounds).all(axis=1)
    minx, miny, maxx, maxy = bounds.T
    geographic = gdf.crs is not None and gdf.crs.is_geographic
    with np.errstate(invalid="ignore"):
        out = present & ~finite
        swapped = np.zeros(len(gdf), dtype=bool)
        if geographic:
            out |= present & finite & ((minx < -180) | (maxx > 180) | (miny < -90) | (maxy > 90))
            swapped = out & finite & ((miny < -90) | (maxy > 90)) & (minx >= -90) & (maxx <= 90)
        else:
            far = np.abs(bounds).max(axis=1, initial=0.0) > _MAX_PROJECTED
            out |= present & finite & far

    def message(i: int) -> str:
        if not finite[i]:
            return N_("The coordinates are not finite numbers (NaN or infinity).")
        if points:
            x, y = Number(bounds[i, 0], "g"), Number(bounds[i, 1], "g")
            if swapped[i]:
                return Message(
                    N_(
                        "Latitude {y} is outside -90..90 but longitude {x} would be a valid latitude: "
                        "latitude and longitude look swapped."
                    ),
                    x=x,
                    y=y,
                )
            return Message(N_("Coordinates (longitude {x}, latitude {y}) are out of range."), x=x, y=y)
        if swapped[i]:
            return N_("Latitudes are outside -90..90 but the longitudes are not: the axes look swapped.")
        return Message(
            N_("Coordinates are out of range (bounds {minx}, {miny}, {maxx}, {maxy})."),
            minx=Number(minx[i], "g"),
            miny=Number(miny[i], "g"),
            maxx=Number(maxx[i], "g"),
            maxy=Number(maxy[i], "g"),
        )

    def fix(i: int) -> str:
        if swapped[i]:
            return N_(
                "Swap the latitude and longitude values (or the columns' names, or the names in `columns=`)."
            )
        if not finite[i]:
            return N_("Give the row real coordinates, or remove it.")
        limit = Number(_MAX_PROJECTED, "g")
        if not geographic and gdf.crs is not None:
            return Message(
                N_(
                    "Check the coordinates: they lie beyond the Earth in {crs} (more than {limit} "
                    "units from the origin). If they are degrees, use crs='EPSG:4326'."
                ),
                crs=gdf.crs.to_string(),
                limit=limit,
            )
        if not geographic:
            return Message(
                N_(
                    "Check the coordinates: they lie beyond the Earth (more than {limit} "
                    "units from the origin). If they are degrees, use crs='EPSG:4326'."
                ),
                limit=limit,
            )
        return Message(
            N_(
                "Longitude must be within -180..180 and latitude within -90..90 in {crs}. "
                "If the coordinates are metres, pass the CRS they are in, e.g. crs='EPSG:32634'."
            ),
            crs=gdf.crs.to_string(),
        )

    c.per_row(np.flatnonzero(out), "geometry", message, fix)
    ok &= ~out
    return ok


def _polygonal(geom: Any) -> Any:
    """Keep only the polygonal parts of a geometry (``None`` when there are none)."""
    if geom is None or geom.is_empty:
        return None
    if geom.geom_type in ("Polygon", "MultiPolygon"):
        return geom
    parts = [g for g in getattr(geom, "geoms", []) if g.geom_type in ("Polygon", "MultiPolygon")]
    if not parts:
        return None
    merged = shapely.union_all(parts)
    return merged if not merged.is_empty else None


def _as_area_frame(areas: pd.DataFrame, crs: CRS) -> gpd.GeoDataFrame | None:
    """Areas in ``crs`` with valid geometry, for comparisons; ``None`` if unusable."""
    if not isinstance(areas, gpd.GeoDataFrame) or areas.crs is None or areas.empty:
        return None
    geoms = areas.geometry
    keep = ~(geoms.isna() | geoms.is_empty)
    out = areas[keep]
    if out.empty:
        return None
    out = out.to_crs(crs) if not out.crs.equals(crs) else out
    with np.errstate(all="ignore"):
        fixed = shapely.make_valid(np.asarray(out.geometry.array, dtype=object))
    return out.set_geometry(fixed, crs=out.crs)


def _swap_check(
    gdf: gpd.GeoDataFrame, ok: np.ndarray, areas: gpd.GeoDataFrame | None, c: _Collector
) -> np.ndarray:
    """Report points that look swapped relative to the areas' extent or to the other points."""
    idx = np.flatnonzero(ok)
    if len(idx) == 0:
        return ok
    geoms = np.asarray(gdf.geometry.array, dtype=object)[idx]
    x, y = shapely.get_x(geoms), shapely.get_y(geoms)
    if areas is not None:
        minx, miny, maxx, maxy = areas.total_bounds
        pad = 0.05 * max(maxx - minx, maxy - miny)
        minx, miny, maxx, maxy = minx - pad, miny - pad, maxx + pad, maxy + pad
        if minx <= maxy and miny <= maxx:  # the extent overlaps its mirror image: cannot tell
            return ok
        inside = (x >= minx) & (x <= maxx) & (y >= miny) & (y <= maxy)
        inside_swapped = (y >= minx) & (y <= maxx) & (x >= miny) & (x <= maxy)
        flagged = ~inside & inside_swapped
        against = "areas"
    else:
        if len(idx) < 4:
            return ok
        mx, my = float(np.median(x)), float(np.median(y))
        far = math.hypot(mx - my, my - mx)
        if far == 0:
            return ok
        d_orig = np.hypot(x - mx, y - my)
        d_swap = np.hypot(y - mx, x - my)
        flagged = (d_swap < far / 4) & (d_orig > 3 * far / 4)
        if flagged.sum() * 2 >= len(idx):
            return ok
        against = "points"
    hits = idx[flagged]
    if len(hits) == 0:
        return ok
    if areas is not None and len(hits) == len(idx) and len(idx) > 1:
        c.bad[hits] = True
        c.add(
            Message(
                N_(
                    "All {n} points lie outside the areas' extent but inside it with latitude and longitude "
                    "(x and y) swapped: the coordinate columns look swapped."
                ),
                n=len(hits),
            ),
            N_("Swap the names of the latitude and longitude columns (or the names in `columns=`)."),
            column="geometry",
        )
    else:
        xs, ys = dict(zip(idx, x, strict=True)), dict(zip(idx, y, strict=True))
        axes = "xy" if gdf.crs is not None and not gdf.crs.is_geographic else "degrees"
        template, fix = _SWAPPED_POINT[(against, axes)]
        c.per_row(
            hits,
            "geometry",
            lambda i: Message(template, x=Number(xs[i], "g"), y=Number(ys[i], "g")),
            fix,
        )
    ok = ok.copy()
    ok[hits] = False
    return ok


#: A point that fits only with its coordinates swapped: (compared with, axes) → (message, fix).
_SWAPPED_POINT = {
    ("areas", "degrees"): (
        N_(
            "The point at longitude {x}, latitude {y} lies outside the areas' extent, but with the two "
            "swapped it lies inside: latitude and longitude look swapped."
        ),
        N_("Swap the latitude and longitude of this row."),
    ),
    ("areas", "xy"): (
        N_(
            "The point at x {x}, y {y} lies outside the areas' extent, but with the two "
            "swapped it lies inside: x and y look swapped."
        ),
        N_("Swap the x and y of this row."),
    ),
    ("points", "degrees"): (
        N_(
            "The point at longitude {x}, latitude {y} lies outside the other points, but with the two "
            "swapped it lies inside: latitude and longitude look swapped."
        ),
        N_("Swap the latitude and longitude of this row."),
    ),
    ("points", "xy"): (
        N_(
            "The point at x {x}, y {y} lies outside the other points, but with the two "
            "swapped it lies inside: x and y look swapped."
        ),
        N_("Swap the x and y of this row."),
    ),
}
