"""CRS checks and the choice of a metric working CRS.

Library code never reprojects silently: analysis functions call :func:`require_metric_crs`,
and only the loaders (``io``) and the pipeline move data into the working CRS, logging it.
"""

from __future__ import annotations

import functools
import logging
import math

import geopandas as gpd
import numpy as np
from pyproj import CRS, Proj, Transformer

from socialmap import settings
from socialmap.errors import N_, CRSError

logger = logging.getLogger(__name__)


def require_crs(*gdfs: gpd.GeoDataFrame, names: tuple[str, ...] | None = None) -> CRS:
    """
    Check that every frame has a CRS and that all CRSs are equal.

    Parameters
    ----------
    *gdfs
        GeoDataFrames to check.
    names
        Argument names used in error messages (defaults to ``gdf0``, ``gdf1``...).

    Returns
    -------
    crs
        The common CRS.
    """
    labels = names or tuple(f"gdf{i}" for i in range(len(gdfs)))
    crs: CRS | None = None
    first = ""
    for label, gdf in zip(labels, gdfs, strict=True):
        if gdf.crs is None:
            raise CRSError(
                f"`{label}` has no CRS. Set the one its coordinates are in, e.g. "
                f"`gdf.set_crs('EPSG:4326')` for longitude/latitude in degrees."
            )
        if crs is None:
            crs, first = gdf.crs, label
        elif not gdf.crs.equals(crs):
            raise CRSError(
                f"`{first}` is in {crs.to_string()} but `{label}` is in {gdf.crs.to_string()}. "
                f"Reproject one with `.to_crs(...)` so both use the same CRS."
            )
    assert crs is not None
    return crs


def require_metric_crs(*gdfs: gpd.GeoDataFrame, names: tuple[str, ...] | None = None) -> CRS:
    """
    Like :func:`require_crs`, and also require a projected CRS in metres.

    Raises
    ------
    CRSError
        If a CRS is missing, the CRSs differ, or the CRS is geographic or not in metres.
    """
    crs = require_crs(*gdfs, names=names)
    if crs.is_geographic:
        raise CRSError(
            f"Distances need a projected CRS in metres, but the data are in the geographic CRS "
            f"{crs.to_string()}. Reproject first, e.g. `gdf.to_crs(gdf.estimate_utm_crs())`, "
            f"or use `socialmap.crs.to_work_crs`."
        )
    unit = crs.axis_info[0].unit_name if crs.axis_info else ""
    if unit not in ("metre", "meter"):
        raise CRSError(f"CRS {crs.to_string()} is in '{unit}', not metres. Reproject to a metric CRS.")
    return crs


def distance_scale_error(gdf: gpd.GeoDataFrame, crs: str | CRS | None = None) -> float:
    """
    Return how far distances measured in ``crs`` can be from the true ones where ``gdf`` is.

    The projection's scale factors (the Tissot indicatrix's semi-axes, from ``pyproj.Proj.get_factors``)
    are sampled on a 9 × 9 grid over the data's bounding box in longitude/latitude; the result is the
    largest ``|scale - 1|`` (0.0004 for data inside its UTM zone, about 0.36 for Web Mercator at 42° N).

    Parameters
    ----------
    gdf
        Data with a CRS.
    crs
        The CRS distances would be measured in; default ``gdf``'s own.

    Returns
    -------
    error
        A relative error (``0.01`` = distances up to 1 % too long or too short); ``inf`` for a geographic
        CRS, a CRS not in metres, or data without a finite extent.
    """
    require_crs(gdf, names=("gdf",))
    target = CRS.from_user_input(crs if crs is not None else gdf.crs)
    unit = target.axis_info[0].unit_name if target.axis_info else ""
    if not target.is_projected or unit not in ("metre", "meter"):
        return math.inf
    bounds = gdf.total_bounds
    if len(gdf) == 0 or not np.all(np.isfinite(bounds)):
        return math.inf
    to_lonlat = Transformer.from_crs(gdf.crs, "EPSG:4326", always_xy=True)
    try:
        west, south, east, north = to_lonlat.transform_bounds(
            float(bounds[0]), float(bounds[1]), float(bounds[2]), float(bounds[3]), densify_pts=21
        )
        lon, lat = np.meshgrid(np.linspace(west, east, 9), np.linspace(south, north, 9))
        factors = Proj(target).get_factors(lon.ravel(), lat.ravel())
        axes = np.concatenate([np.asarray(factors.tissot_semimajor), np.asarray(factors.tissot_semiminor)])
    except Exception:  # noqa: BLE001 - PROJ cannot say for this CRS or place: treat it as unknown
        return math.inf
    if not np.all(np.isfinite(axes)):
        return math.inf
    return float(np.max(np.abs(axes - 1.0)))


def work_crs_for(gdf: gpd.GeoDataFrame, crs: str | CRS | None = None) -> CRS:
    """
    Choose the metric CRS to analyse ``gdf`` in: one that keeps distances true where the data is.

    A CRS named by the caller (``crs``, else ``settings.work_crs``) is used as it is. Otherwise the data's
    own CRS is kept when it is projected, in metres, and distorts distances over the data's extent by at
    most ``settings.work_crs_max_scale_error`` (0.1 %, UTM's own worst case inside a zone; see
    :func:`distance_scale_error`): a national grid or the data's UTM zone. Any other CRS (longitude/latitude,
    Web Mercator, a neighbouring zone) is replaced by the UTM zone of the data
    (``GeoDataFrame.estimate_utm_crs()``, as osmnx's ``project_gdf`` does), so the same data give the same
    result whether they come in EPSG:4326, EPSG:3857 or their UTM zone.

    Parameters
    ----------
    gdf
        Data with a CRS.
    crs
        CRS to use; ``None`` reads ``settings.work_crs``, and if that is ``None`` too, the CRS is chosen
        from the data as above.

    Returns
    -------
    crs
        A projected CRS in metres.

    Raises
    ------
    CRSError
        If ``gdf`` has no CRS, or no UTM zone fits the data (near the poles: set ``settings.work_crs``).
    """
    require_crs(gdf, names=("gdf",))
    chosen = crs if crs is not None else settings.work_crs
    if chosen is not None:
        return CRS.from_user_input(chosen)
    error = distance_scale_error(gdf)
    if error <= settings.work_crs_max_scale_error:
        return CRS.from_user_input(gdf.crs)
    try:
        if gdf.crs is not None and gdf.crs.is_geographic and len(gdf):
            # GeoDataFrame.estimate_utm_crs() for geographic data: the UTM zone at the centre of the
            # bounds, from PROJ's database (a query of about 0.06 s) where the zone is not plain, kept for
            # the centre.
            minx, miny, maxx, maxy = (float(v) for v in gdf.total_bounds)
            utm = _utm_zone_at((minx + maxx) / 2, (miny + maxy) / 2)
        else:
            utm = CRS.from_user_input(gdf.estimate_utm_crs())
    except Exception as exc:  # noqa: BLE001 - pyproj raises RuntimeError outside UTM's reach
        raise CRSError(
            N_(
                "No UTM zone fits the data (in {crs}), and its own CRS distorts distances. "
                "Set `socialmap.settings.work_crs` to a metric CRS that keeps distances true where the "
                "data is (e.g. a polar stereographic CRS)."
            ),
            crs=gdf.crs.to_string() if gdf.crs is not None else "no CRS",
        ) from exc
    if math.isfinite(error):
        logger.info(
            "%s distorts distances by up to %.1f %% over the data: analysing in %s instead",
            gdf.crs.to_string(),
            100 * error,
            utm.to_string(),
        )
    return utm


@functools.lru_cache(maxsize=64)
def _utm_zone_at(lon: float, lat: float) -> CRS:
    if -180 < lon < 180 and -80 < lat < 84 and lat != 0 and (lon + 180) % 6 != 0:
        # Inside a zone (off its edges, the equator and the polar caps) PROJ's database has one WGS 84 UTM
        # zone, the standard 6-degree one (tests/test_pipeline.py compares them): no query needed.
        return CRS.from_epsg((32600 if lat > 0 else 32700) + int((lon + 180) // 6) + 1)
    from pyproj.aoi import AreaOfInterest
    from pyproj.database import query_utm_crs_info

    found = query_utm_crs_info(datum_name="WGS 84", area_of_interest=AreaOfInterest(lon, lat, lon, lat))
    if not found:
        raise CRSError(f"No UTM zone found at longitude {lon:g}, latitude {lat:g}; give a CRS.")
    return CRS.from_epsg(found[0].code)


def to_work_crs(gdf: gpd.GeoDataFrame, crs: str | CRS | None = None) -> gpd.GeoDataFrame:
    """Return a copy of ``gdf`` in the metric working CRS (see :func:`work_crs_for`), logging the choice."""
    target = work_crs_for(gdf, crs)
    if gdf.crs is not None and gdf.crs.equals(target):
        return gdf.copy()
    logger.info("reprojecting %d rows from %s to %s", len(gdf), gdf.crs.to_string(), target.to_string())
    return gdf.to_crs(target)
