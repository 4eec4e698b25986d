"""
Candidate sites for new services: one point per area, or a regular grid over the areas.

:func:`socialmap.optimise.maximal_covering` and :func:`socialmap.optimise.place_services` choose among
candidates; these make them from the areas (re-exported by :mod:`socialmap.optimise`, where users import
them). The grids of recent calls are kept (by a digest of the areas and the cell size), since the app's
"Suggest sites" asks for the same grid at every click.
"""

from __future__ import annotations

import hashlib
import threading
from collections import OrderedDict
from typing import Literal

import geopandas as gpd
import shapely

from socialmap.errors import SocialMapError


def candidates_from_areas(
    areas: gpd.GeoDataFrame, *, method: Literal["representative", "centroid"] = "representative"
) -> gpd.GeoDataFrame:
    """
    Make one candidate site per area: a point inside it (e.g. standing for the municipal seat).

    Parameters
    ----------
    areas
        Polygons with ``area_id`` (and optionally ``name``).
    method
        ``"representative"`` (always inside the area) or ``"centroid"``.

    Returns
    -------
    candidates
        Points in ``areas``' CRS with ``candidate_id`` (``"area:<area_id>"``), ``area_id``, ``area_name``
        (the area's ``name``, if it has one) and ``geometry``.

    Examples
    --------
    >>> import geopandas as gpd
    >>> from shapely import box
    >>> areas = gpd.GeoDataFrame({"area_id": ["a"]}, geometry=[box(0, 0, 2, 2)], crs=32634)
    >>> candidates_from_areas(areas).to_wkt().values.tolist()
    [['area:a', 'a', 'POINT (1 1)']]
    """
    from socialmap.needs import points_from_areas

    if not isinstance(areas, gpd.GeoDataFrame) or "area_id" not in areas.columns:
        raise SocialMapError("`areas` must be a GeoDataFrame of polygons with an `area_id` column.")
    pts = points_from_areas(areas.assign(_one=1.0), columns="_one", method=method)
    out = gpd.GeoDataFrame(
        {"candidate_id": ["area:" + str(a) for a in pts["area_id"]], "area_id": pts["area_id"].to_numpy()},
        geometry=pts.geometry.values,
        crs=areas.crs,
    )
    if "name" in areas.columns:
        out.insert(2, "area_name", areas["name"].to_numpy())
    return out


def candidates_from_grid(areas: gpd.GeoDataFrame, *, cell_size_m: float) -> gpd.GeoDataFrame:
    """
    Make candidate sites on a regular grid over the areas: one point per cell (piece) inside them.

    Parameters
    ----------
    areas
        Polygons with ``area_id``, metric CRS.
    cell_size_m
        Cell side in metres (e.g. 2000).

    Returns
    -------
    candidates
        Points with ``candidate_id`` (``"grid:<n>"``), ``area_id`` and ``geometry`` (the cell centre, or a
        point inside the part of a cell cut by an area's edge).

    Examples
    --------
    >>> import geopandas as gpd
    >>> from shapely import box
    >>> areas = gpd.GeoDataFrame({"area_id": ["a"]}, geometry=[box(0, 0, 2000, 1000)], crs=32634)
    >>> candidates_from_grid(areas, cell_size_m=1000).to_wkt().values.tolist()
    [['grid:0', 'a', 'POINT (500 500)'], ['grid:1', 'a', 'POINT (1500 500)']]
    """
    from socialmap.needs import grid_from_areas

    if not isinstance(areas, gpd.GeoDataFrame) or "area_id" not in areas.columns:
        raise SocialMapError("`areas` must be a GeoDataFrame of polygons with an `area_id` column.")
    key = _grid_key(areas, cell_size_m)
    with _GRID_LOCK:
        kept = _GRID_CACHE.get(key)
        if kept is not None:
            _GRID_CACHE.move_to_end(key)
    if kept is not None:
        return kept.copy()
    cells = grid_from_areas(
        areas[["area_id", "geometry"]].assign(_one=1.0), columns="_one", cell_size_m=cell_size_m
    )
    out = gpd.GeoDataFrame(
        {"candidate_id": [f"grid:{i}" for i in range(len(cells))], "area_id": cells["area_id"].to_numpy()},
        geometry=cells.geometry.values,
        crs=areas.crs,
    )
    if len(out) <= _GRID_CACHE_MAX_ROWS:
        with _GRID_LOCK:
            _GRID_CACHE[key] = out.copy()
            while len(_GRID_CACHE) > _GRID_CACHE_SIZE:
                _GRID_CACHE.popitem(last=False)
    return out


#: Candidate grids of recent calls, by a digest of the areas (ids, geometry, CRS) and the cell size:
#: "Suggest sites" asks for the same grid at every click (a new capacity or number of sites).
_GRID_CACHE: OrderedDict[bytes, gpd.GeoDataFrame] = OrderedDict()
_GRID_CACHE_SIZE = 4
_GRID_CACHE_MAX_ROWS = 500_000
_GRID_LOCK = threading.Lock()


def _grid_key(areas: gpd.GeoDataFrame, cell_size_m: float) -> bytes:
    digest = hashlib.blake2b(digest_size=20)
    crs = areas.crs.to_wkt() if areas.crs is not None else ""
    digest.update(repr((float(cell_size_m), crs, len(areas))).encode())
    digest.update("\x00".join(map(str, areas["area_id"].tolist())).encode())
    for wkb in shapely.to_wkb(areas.geometry.to_numpy()):
        digest.update(wkb)
    return digest.digest()
