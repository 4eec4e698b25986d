"""Population into need, and need onto demand points.

Two halves:

* **Need estimation** (population × the taxonomy's rates per target group): the section
  marked below, kept apart from the spreading functions, which do not use the taxonomy.
* **Spreading** area counts onto demand points, and summing point values back to areas:

  - :func:`points_from_areas` — one point per area, inside it;
  - :func:`grid_from_areas` — a regular grid intersected with the areas, counts split by
    areal weighting (per-area totals conserved);
  - :func:`points_from_raster` — one point per populated cell of a WorldPop-style GeoTIFF;
  - :func:`points_from_user` — demand points a user supplies;
  - :func:`sum_to_areas` — extensive values (counts) summed back to areas;
  - :func:`weighted_mean_to_areas` — intensive values (scores, rates) averaged back to areas,
    weighted by an extensive value.

Need and population are **extensive** (counts: they add up over space and are split in
proportion to area); access scores and rates are **intensive** (they are averaged, weighted by
need). Never sum an intensive value, never average an extensive one: every function below says
which kind it expects.
"""

from __future__ import annotations

import logging
import warnings
from collections.abc import Sequence
from typing import Any, Literal

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely

# The checks shared by the functions below live in socialmap._needs_checks, the raster reader in
# socialmap._needs_raster (re-exported here).
from socialmap._needs_checks import (
    _area_problems,
    _column_list,
    _fmt,
    _id_problems,
    _locate,
    _missing,
    _nan_message,
    _outside_message,
    _positive_number,
    _prepared,
    _raise,
    _require_frame,
    _value_problems,
    _where,
)
from socialmap._needs_raster import RASTER_CHUNK_CELLS, points_from_raster  # noqa: F401 - re-exported
from socialmap.crs import require_crs, require_metric_crs
from socialmap.errors import Problem, SocialMapError

logger = logging.getLogger(__name__)

__all__ = [
    "grid_from_areas",
    "points_from_areas",
    "points_from_raster",
    "points_from_user",
    "sum_to_areas",
    "weighted_mean_to_areas",
]


# ---------------------------------------------------------------------------------------------
# Need estimation: population × taxonomy rates per target group (to be added).
# ---------------------------------------------------------------------------------------------


# ---------------------------------------------------------------------------------------------
# Spreading: area counts onto demand points, and point values back to areas.
# ---------------------------------------------------------------------------------------------

#: Largest number of grid cells :func:`grid_from_areas` builds before refusing (a guard against
#: a cell size given in kilometres instead of metres).
MAX_GRID_CELLS: int = 20_000_000


# --- small checks, each returning problems rather than raising (collected, raised once) -------


# --- points from areas ----------------------------------------------------------------------


def points_from_areas(
    areas: gpd.GeoDataFrame,
    *,
    columns: str | Sequence[str],
    method: Literal["representative", "centroid"] = "representative",
) -> gpd.GeoDataFrame:
    """
    Place one demand point per area, carrying the area's counts.

    Parameters
    ----------
    areas
        Polygons with a unique ``area_id`` and the ``columns`` to carry. Any CRS.
    columns
        Extensive columns (counts, e.g. ``["population"]`` or need per service type), carried
        unchanged: each area's whole count sits on its one point. NaN counts are treated as 0,
        with a warning; negative counts are an error.
    method
        ``"representative"`` (default): ``representative_point()``, always inside the polygon.
        ``"centroid"``: the centre of mass, which can fall outside a concave or multi-part area
        (use it only to reproduce published work that did so); needs a metric CRS.

    Returns
    -------
    gdf
        Points in ``areas``' CRS, one per area in the same order (fresh index), with columns
        ``area_id``, the ``columns`` (float64) and ``geometry``.

    Raises
    ------
    ValidationError
        Missing columns, duplicated or missing ``area_id``, non-numeric or negative counts,
        geometries that are not valid polygons.
    CRSError
        ``areas`` has no CRS (or, for ``"centroid"``, a geographic one).

    Examples
    --------
    >>> import geopandas as gpd
    >>> from shapely import box
    >>> areas = gpd.GeoDataFrame(
    ...     {"area_id": ["a"], "population": [100]}, geometry=[box(0, 0, 2000, 1000)], crs=32634
    ... )
    >>> points_from_areas(areas, columns="population").to_wkt()
      area_id  population          geometry
    0       a       100.0  POINT (1000 500)
    """
    _require_frame(areas, "areas")
    cols = _column_list(columns, "columns", reserved=("area_id", "geometry"))
    if method not in ("representative", "centroid"):
        raise SocialMapError(f"`method` should be 'representative' or 'centroid', got {method!r}.")
    if method == "centroid":
        require_metric_crs(areas, names=("areas",))
    else:
        require_crs(areas, names=("areas",))
    problems = _area_problems(areas, "areas") + _missing(areas, cols, "areas")
    value_problems, nans = _value_problems(areas, cols, "areas", extensive=True)
    _raise(problems + value_problems)
    if nans:
        warnings.warn(_nan_message("areas", nans), UserWarning, stacklevel=2)

    geoms = areas.geometry.to_numpy()
    pts = shapely.point_on_surface(geoms) if method == "representative" else shapely.centroid(geoms)
    data: dict[str, Any] = {"area_id": areas["area_id"].to_numpy()}
    for col in cols:
        data[col] = areas[col].astype("float64").fillna(0.0).to_numpy()
    out = gpd.GeoDataFrame(data, geometry=gpd.GeoSeries(pts, crs=areas.crs), crs=areas.crs)
    logger.info("points_from_areas: %d areas -> %d points (%s)", len(areas), len(out), method)
    return out


# --- grid from areas (areal weighting) ------------------------------------------------------


def grid_from_areas(
    areas: gpd.GeoDataFrame,
    *,
    columns: str | Sequence[str],
    cell_size_m: float,
    origin: tuple[float, float] = (0.0, 0.0),
    max_cells: int | None = None,
) -> gpd.GeoDataFrame:
    """
    Spread area counts onto a regular grid by areal weighting.

    A grid of square cells is laid over the areas and intersected with each of them. Each area's
    counts are split across its pieces (cell ∩ area) in proportion to the piece's area, so
    the points of an area sum to its count exactly (up to float rounding), and people are assumed
    evenly spread within an area. Each piece becomes one demand point. An area smaller than one
    cell still gets a point (its one piece); an area spanning several cells gets one per cell.
    Overlapping areas are each spread over their own geometry.

    Parameters
    ----------
    areas
        Polygons with a unique ``area_id`` and the ``columns`` to spread, in a projected CRS
        in metres.
    columns
        Extensive columns (counts: population, need): split in proportion to area. Never pass an
        intensive value (a rate or a score): it would be divided up, not repeated. NaN counts are
        treated as 0, with a warning; negative counts are an error.
    cell_size_m
        Side of a grid cell, in metres (e.g. ``1000`` for a 1 km grid).
    origin
        A grid corner, in CRS units; cells are ``[x0 + i·size, x0 + (i+1)·size)``. The default
        aligns cells on multiples of ``cell_size_m``, as national statistical grids do, so the
        same cells come out whatever the areas.
    max_cells
        Refuse to build more cells than this (counted over each area's bounding box); ``None``
        reads :data:`MAX_GRID_CELLS`. A guard against a cell size given in kilometres.

    Returns
    -------
    gdf
        Points in ``areas``' CRS, one per piece, ordered by area and then cell (fresh index),
        with columns ``area_id``, ``cell_area_m2`` (area of the piece in m²: the full cell area
        for a cell inside the area), the spread ``columns`` (float64) and ``geometry``: the
        centre of a whole cell, or the representative point of a partial piece (always inside
        the piece).

    Raises
    ------
    CRSError
        ``areas`` has no CRS, or a geographic one or one not in metres.
    ValidationError
        Missing columns, duplicated or missing ``area_id``, non-numeric or negative counts,
        geometries that are not valid polygons.
    SocialMapError
        ``cell_size_m`` not a positive number, or the grid would exceed ``max_cells``.

    Notes
    -----
    Areal weighting as in PySAL tobler's ``area_interpolate`` for extensive variables, with
    the weights normalised over the area's pieces, so totals are conserved even where the areas
    do not tile the plane.

    Examples
    --------
    >>> import geopandas as gpd
    >>> from shapely import box
    >>> areas = gpd.GeoDataFrame(
    ...     {"area_id": ["a"], "population": [100]}, geometry=[box(0, 0, 2000, 1000)], crs=32634
    ... )
    >>> grid_from_areas(areas, columns="population", cell_size_m=1000).to_wkt()
      area_id  cell_area_m2  population          geometry
    0       a     1000000.0        50.0   POINT (500 500)
    1       a     1000000.0        50.0  POINT (1500 500)
    """
    _require_frame(areas, "areas")
    cols = _column_list(columns, "columns", reserved=("area_id", "cell_area_m2", "geometry"))
    size = _positive_number(cell_size_m, "cell_size_m")
    try:
        ox, oy = (float(v) for v in origin)
    except (TypeError, ValueError):
        raise SocialMapError(f"`origin` should be a pair of numbers (x, y), got {origin!r}.") from None
    if not (np.isfinite(ox) and np.isfinite(oy)):
        raise SocialMapError(f"`origin` should be finite, got {origin!r}.")
    limit = MAX_GRID_CELLS if max_cells is None else int(max_cells)
    require_metric_crs(areas, names=("areas",))
    problems = _area_problems(areas, "areas") + _missing(areas, cols, "areas")
    value_problems, nans = _value_problems(areas, cols, "areas", extensive=True)
    _raise(problems + value_problems)
    if nans:
        warnings.warn(_nan_message("areas", nans), UserWarning, stacklevel=2)

    geoms = areas.geometry.to_numpy()
    bounds = shapely.bounds(geoms)  # (n, 4): minx, miny, maxx, maxy
    with np.errstate(all="ignore"):  # counted in floats first: a tiny cell would overflow int64
        low, high = np.floor((bounds[:, :2] - (ox, oy)) / size), np.ceil((bounds[:, 2:] - (ox, oy)) / size)
        spans = np.maximum(high - low, 1)
        planned = float(np.prod(spans, axis=1).sum()) if len(areas) else 0.0
    if not planned <= limit:  # also NaN and infinity
        raise SocialMapError(
            f"`cell_size_m`={cell_size_m!r} would need {planned:,.0f} cells over the areas' bounding "
            f"boxes (limit {limit:,}). Is the cell size in metres? Use a larger cell, or raise "
            f"`max_cells`."
        )
    ix0 = np.floor((bounds[:, 0] - ox) / size).astype(np.int64)
    iy0 = np.floor((bounds[:, 1] - oy) / size).astype(np.int64)
    nx = np.maximum(np.ceil((bounds[:, 2] - ox) / size).astype(np.int64) - ix0, 1)
    ny = np.maximum(np.ceil((bounds[:, 3] - oy) / size).astype(np.int64) - iy0, 1)
    n_cells = int((nx * ny).sum()) if len(areas) else 0
    if n_cells > limit:
        raise SocialMapError(
            f"`cell_size_m`={cell_size_m!r} would need {n_cells:,} cells over the areas' bounding "
            f"boxes (limit {limit:,}). Is the cell size in metres? Use a larger cell, or raise "
            f"`max_cells`."
        )

    totals = np.zeros((len(areas), len(cols)))
    for j, col in enumerate(cols):
        totals[:, j] = areas[col].astype("float64").fillna(0.0).to_numpy()
    prepared = _prepared(geoms)
    owner: list[np.ndarray] = []
    piece_area: list[np.ndarray] = []
    points: list[np.ndarray] = []
    spread: list[np.ndarray] = []
    for k, area in enumerate(prepared):
        iy, ix = np.divmod(np.arange(nx[k] * ny[k], dtype=np.int64), nx[k])
        x0 = ox + (ix0[k] + ix) * size
        y0 = oy + (iy0[k] + iy) * size
        cells = shapely.box(x0, y0, x0 + size, y0 + size)
        whole = shapely.covers(area, cells)
        part = ~whole & shapely.intersects(area, cells)
        a = np.where(whole, size * size, 0.0)
        pts = np.empty(len(cells), dtype=object)
        pts[whole] = shapely.points(x0[whole] + size / 2, y0[whole] + size / 2)
        if part.any():
            pieces = shapely.intersection(area, cells[part])
            a[part] = shapely.area(pieces)
            pts[part] = shapely.point_on_surface(pieces)
        keep = a > 0
        a, pts = a[keep], pts[keep]
        if a.sum() <= 0:  # cannot happen for a valid polygon; keep the area whole if it does
            a, pts = np.zeros(1), shapely.point_on_surface(np.array([area]))
        weights = a / a.sum() if a.sum() > 0 else np.ones(1)
        owner.append(np.full(len(a), k, dtype=np.int64))
        piece_area.append(a)
        points.append(pts)
        spread.append(np.outer(weights, totals[k]))

    idx = np.concatenate(owner) if owner else np.empty(0, dtype=np.int64)
    values = np.concatenate(spread) if spread else np.zeros((0, len(cols)))
    data: dict[str, Any] = {
        "area_id": areas["area_id"].to_numpy()[idx],
        "cell_area_m2": np.concatenate(piece_area) if piece_area else np.empty(0),
    }
    for j, col in enumerate(cols):
        data[col] = values[:, j]
    geometry = np.concatenate(points) if points else np.empty(0, dtype=object)
    out = gpd.GeoDataFrame(data, geometry=gpd.GeoSeries(geometry, crs=areas.crs), crs=areas.crs)
    logger.info(
        "grid_from_areas: %d areas -> %d points (%g m cells, %d cells tested)",
        len(areas),
        len(out),
        size,
        n_cells,
    )
    return out


# --- points from a population raster --------------------------------------------------------


# --- points a user supplies -----------------------------------------------------------------


def points_from_user(
    points: gpd.GeoDataFrame,
    *,
    column: str = "population",
    areas: gpd.GeoDataFrame | None = None,
) -> gpd.GeoDataFrame:
    """
    Check demand points a user supplies, and optionally attach the area each lies in.

    Parameters
    ----------
    points
        Point geometries with a CRS and a count ``column``; other columns are kept.
    column
        Extensive column: the count at each point (people, or need). NaN is treated as 0, with a
        warning; negative values are an error.
    areas
        Optional polygons with a unique ``area_id``, in the CRS of ``points``. Each point gets
        the ``area_id`` of the area it lies in (a point on a shared boundary goes to the first
        area), replacing any ``area_id`` ``points`` had (with a warning if any differed).
        Points in no area are dropped with a ``UserWarning`` giving how many and their total.

    Returns
    -------
    gdf
        Copy of ``points`` (original index, outside points dropped) with ``column`` as float64
        and, if ``areas`` was given, ``area_id``.

    Raises
    ------
    ValidationError
        Missing ``column``, non-numeric, infinite or negative counts, geometries that are
        missing or not points, ``areas`` unusable.
    CRSError
        ``points`` has no CRS, or ``areas`` is in another CRS.
    """
    _require_frame(points, "points")
    if not isinstance(column, str):
        raise SocialMapError(f"`column` should be a column name (str), got {column!r}.")
    if areas is not None:
        _require_frame(areas, "areas")
        require_crs(points, areas, names=("points", "areas"))
    else:
        require_crs(points, names=("points",))
    problems = _missing(points, [column], "points")
    geoms = points.geometry
    empty = geoms.isna() | geoms.is_empty
    if empty.any():
        problems.append(
            Problem(
                "points",
                None,
                "geometry",
                f"`points` has missing or empty geometries {_where(empty)}.",
                "Drop those rows or give them coordinates.",
            )
        )
    other = ~empty & (geoms.geom_type != "Point")
    if other.any():
        problems.append(
            Problem(
                "points",
                None,
                "geometry",
                f"`points` should hold points, found {sorted(geoms.geom_type[other].unique())} "
                f"{_where(other)}.",
                "Use single points: `points.explode()` splits MultiPoints; for polygons use "
                "points_from_areas or grid_from_areas.",
            )
        )
    value_problems, nans = _value_problems(points, [column], "points", extensive=True)
    problems += value_problems
    if areas is not None:
        problems += _area_problems(areas, "areas")
    _raise(problems)
    if nans:
        warnings.warn(_nan_message("points", nans), UserWarning, stacklevel=2)

    out = points.copy()
    out[column] = out[column].astype("float64").fillna(0.0)
    if areas is None:
        return out
    where = _locate(out.geometry.x.to_numpy(), out.geometry.y.to_numpy(), areas.geometry.to_numpy())
    outside = where < 0
    if outside.any():
        warnings.warn(
            _outside_message(
                "areas",
                "points",
                int(outside.sum()),
                len(out),
                float(out[column].to_numpy()[outside].sum()),
                f"'{column}'",
            ),
            UserWarning,
            stacklevel=2,
        )
        out = out.loc[~outside].copy()
        where = where[~outside]
    assigned = areas["area_id"].to_numpy()[where]
    if "area_id" in out.columns:
        before = out["area_id"].to_numpy()
        differ = int(
            (pd.Series(before).astype(str).to_numpy() != pd.Series(assigned).astype(str).to_numpy()).sum()
        )
        if differ:
            warnings.warn(
                f"`points` already had an 'area_id' column; {differ} value(s) differ from the areas "
                f"the points lie in and were replaced.",
                UserWarning,
                stacklevel=2,
            )
    out["area_id"] = assigned
    logger.info("points_from_user: %d points kept, %d outside the areas", len(out), int(outside.sum()))
    return out


# --- back to areas --------------------------------------------------------------------------


def _join_checks(points: pd.DataFrame, areas: pd.DataFrame, needed: Sequence[str], by: str) -> list[Problem]:
    _require_frame(points, "points", geo=False)
    _require_frame(areas, "areas", geo=False)
    if not isinstance(by, str):
        raise SocialMapError(f"`by` should be a column name (str), got {by!r}.")
    problems = _missing(points, [by, *needed], "points")
    problems += _missing(areas, [by], "areas")
    if by in areas.columns:
        problems += _id_problems(areas[by], "areas", by, "one row per area")
    return problems


def _unmatched_message(n: int, n_all: int, by: str, totals: dict[str, float]) -> str:
    lost = ", ".join(f"'{c}' {_fmt(v)}" for c, v in totals.items())
    return (
        f"{n} of {n_all} point(s) have a '{by}' that is missing or not in `areas`; they were left "
        f"out ({lost}). Check that the points and areas use the same ids."
    )


def sum_to_areas(
    points: pd.DataFrame,
    areas: pd.DataFrame,
    *,
    columns: str | Sequence[str],
    by: str = "area_id",
) -> pd.DataFrame:
    """
    Sum extensive values of points back to their areas.

    Parameters
    ----------
    points
        Demand points (or any table) with the ``by`` column and the ``columns`` to sum.
    areas
        Areas with a unique ``by`` column; their geometry is not used.
    columns
        Extensive columns (counts: population, need, reachable places). Never pass an intensive
        value (a score or rate; use :func:`weighted_mean_to_areas`). NaN is treated as 0, with a
        warning; negative values are an error.
    by
        Column joining points to areas.

    Returns
    -------
    gdf
        Copy of ``areas`` (same type, index and order) with the ``columns`` added as float64
        sums; an area with no points gets 0. A column of ``areas`` with the same name is replaced.

    Raises
    ------
    ValidationError
        Missing columns, missing or duplicated ``by`` in ``areas``, non-numeric, infinite or
        negative values.

    Warns
    -----
    UserWarning
        Points whose ``by`` is missing or matches no area (their values are reported, not summed).

    Examples
    --------
    >>> import pandas as pd
    >>> pts = pd.DataFrame({"area_id": ["a", "a", "b"], "population": [1.0, 2.0, 4.0]})
    >>> areas = pd.DataFrame({"area_id": ["a", "b", "c"]})
    >>> sum_to_areas(pts, areas, columns="population")
      area_id  population
    0       a         3.0
    1       b         4.0
    2       c         0.0
    """
    cols = _column_list(columns, "columns", reserved=(by, "geometry"))
    problems = _join_checks(points, areas, cols, by)
    value_problems, nans = _value_problems(points, cols, "points", extensive=True)
    _raise(problems + value_problems)
    if nans:
        warnings.warn(_nan_message("points", nans), UserWarning, stacklevel=2)

    values = points[cols].astype("float64").fillna(0.0)
    unmatched = ~points[by].isin(areas[by]).to_numpy()
    if unmatched.any():
        totals = {c: float(values[c].to_numpy()[unmatched].sum()) for c in cols}
        warnings.warn(
            _unmatched_message(int(unmatched.sum()), len(points), by, totals), UserWarning, stacklevel=2
        )
    sums = values.groupby(points[by].to_numpy(), sort=False).sum()  # missing ids drop out
    out = areas.copy()
    for col in cols:
        out[col] = areas[by].map(sums[col]).fillna(0.0).astype("float64")
    return out


def weighted_mean_to_areas(
    points: pd.DataFrame,
    areas: pd.DataFrame,
    *,
    value: str,
    weight: str,
    by: str = "area_id",
    name: str | None = None,
) -> pd.DataFrame:
    """
    Average an intensive value of points over their areas, weighted by an extensive one.

    For area *a*: Σ w_i·v_i / Σ w_i over its points *i* — e.g. the need-weighted mean of the
    access scores of its demand points (DESIGN.md: ``access``).

    Parameters
    ----------
    points
        Demand points (or any table) with ``by``, ``value`` and ``weight`` columns.
    areas
        Areas with a unique ``by`` column; their geometry is not used.
    value
        Intensive column (a score or rate, e.g. accessibility A_i): averaged, never summed.
        Points whose value is NaN are left out of the mean (with a warning if their weight is
        positive).
    weight
        Extensive column (need or population): the weights. NaN is treated as 0, with a warning;
        negative values are an error.
    by
        Column joining points to areas.
    name
        Name of the result column; ``None`` uses ``value``.

    Returns
    -------
    gdf
        Copy of ``areas`` (same type, index and order) with column ``name`` (float64). An area
        whose points have zero total weight, or that has no points, gets **NaN**: a mean over
        nobody is undefined, not 0. A column of ``areas`` with the same name is replaced.

    Raises
    ------
    ValidationError
        Missing columns, missing or duplicated ``by`` in ``areas``, non-numeric or infinite
        values, negative weights.

    Warns
    -----
    UserWarning
        NaN weights (treated as 0), NaN values with positive weight (left out), points whose
        ``by`` matches no area (left out).

    Examples
    --------
    >>> import pandas as pd
    >>> pts = pd.DataFrame({"area_id": ["a", "a"], "access": [1.0, 0.0], "need": [30.0, 10.0]})
    >>> areas = pd.DataFrame({"area_id": ["a", "b"]})
    >>> weighted_mean_to_areas(pts, areas, value="access", weight="need")
      area_id  access
    0       a    0.75
    1       b     NaN
    """
    for label, arg in (("value", value), ("weight", weight)):
        if not isinstance(arg, str):
            raise SocialMapError(f"`{label}` should be a column name (str), got {arg!r}.")
    out_name = value if name is None else name
    if not isinstance(out_name, str) or out_name in (by, "geometry"):
        raise SocialMapError(f"`name` should be a new column name (str, not {by!r}), got {out_name!r}.")
    needed = [value] if value == weight else [value, weight]
    problems = _join_checks(points, areas, needed, by)
    v_problems, _ = _value_problems(points, [value], "points", extensive=False)
    w_problems, w_nans = _value_problems(points, [weight], "points", extensive=True)
    _raise(problems + v_problems + w_problems)
    if w_nans:
        warnings.warn(_nan_message("points", w_nans), UserWarning, stacklevel=2)

    w = points[weight].astype("float64").fillna(0.0).to_numpy()
    v = points[value].astype("float64").to_numpy()
    missing_v = np.isnan(v)
    if (missing_v & (w > 0)).any():
        n = int((missing_v & (w > 0)).sum())
        warnings.warn(
            f"`points` has {n} point(s) with positive '{weight}' but no '{value}' (NaN); they were "
            f"left out of the mean (their '{weight}': {_fmt(w[missing_v].sum())}).",
            UserWarning,
            stacklevel=2,
        )
    unmatched = ~points[by].isin(areas[by]).to_numpy()
    if unmatched.any():
        warnings.warn(
            _unmatched_message(int(unmatched.sum()), len(points), by, {weight: float(w[unmatched].sum())}),
            UserWarning,
            stacklevel=2,
        )
    use = ~missing_v & ~unmatched
    keys = points[by].to_numpy()[use]
    frame = pd.DataFrame({"wv": w[use] * v[use], "w": w[use]})
    sums = frame.groupby(keys, sort=False).sum()
    num = areas[by].map(sums["wv"]).to_numpy(dtype="float64", na_value=np.nan)
    den = areas[by].map(sums["w"]).to_numpy(dtype="float64", na_value=np.nan)
    with np.errstate(invalid="ignore", divide="ignore"):
        mean = np.where(den > 0, num / np.where(den > 0, den, 1.0), np.nan)
    out = areas.copy()
    out[out_name] = mean
    return out
