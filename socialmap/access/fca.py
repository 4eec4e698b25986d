"""
The public 2SFCA family on euclidean distances.

:func:`fca_arrays` on arrays, :func:`fca_from_pairs` on pairs with their costs, and :func:`two_step_fca`
and :func:`distance_coverage` on GeoDataFrames.
"""

from __future__ import annotations

import logging
import warnings
from typing import Literal

import geopandas as gpd
import numpy as np
import pandas as pd
from numpy.typing import ArrayLike, NDArray

from socialmap import settings
from socialmap.access.blocks import _FCA_WORKERS, FCAResult, _fca_core, _ratio, _resolve_workers
from socialmap.access.checks import (
    _as_float_array,
    _check_arrays,
    _check_catchment,
    _check_frame,
    _check_values,
    _check_weight,
    _labels,
    _numeric_column,
    _point_xy,
    _require_columns,
)
from socialmap.access.kernels import _vectorised
from socialmap.access.weights import WeightFunction
from socialmap.crs import require_metric_crs
from socialmap.errors import Problem, SocialMapError, ValidationError

logger = logging.getLogger("socialmap.access")


def fca_arrays(
    demand_xy: ArrayLike,
    need: ArrayLike,
    supply_xy: ArrayLike,
    capacity: ArrayLike,
    *,
    catchment_m: float | None = None,
    weight: WeightFunction | None = None,
    workers: int | None = None,
) -> FCAResult:
    """
    Compute 2SFCA (``weight=None``) or E2SFCA access scores on plain arrays with euclidean distances.

    The catchment is inclusive (``d_ij <= catchment_m``) and ``weight`` is applied in both steps::

        R_j = c_j / sum_{i: d_ij <= d0} w(d_ij) n_i ;  A_i = sum_{j: d_ij <= d0} w(d_ij) R_j

    Edge cases, and why:

    - **Demand with no service in reach**: ``access`` 0 and ``covered`` False. No supply is within reach, so
      the supply per person is zero, a real value: NaN (what PySAL ``access`` returns) would drop exactly the
      worst-off people from need-weighted means and from unmet-need totals. ``covered`` tells "no service in
      reach" apart from "services in reach with no free capacity".
    - **Zero-need demand points** are allowed: they add nothing to any service's weighted need, and get the
      ``access`` a person there would have (as in ``access``).
    - **A service with no weighted need in reach** (nobody within the catchment, only zero-need points, or
      only points where the weight is 0, or so close to 0 that ``c_j`` / weighted need overflows):
      ``R_j`` is undefined (``c_j / 0``). Its ``ratio`` is NaN and it
      adds 0 to everyone's ``access``: nobody who needs it can reach it, so its capacity serves no one
      (``sum_i n_i A_i`` then equals the capacity of the services that have need in reach). PySAL ``access``
      instead gives ``inf`` (or NaN) to the zero-need points near such a service.
    - **Missing capacity or need** (NaN), negative or infinite values raise: missing capacity is unknown,
      never silently 1 or 0. :func:`two_step_fca` can drop such services with a warning instead.

    Parameters
    ----------
    demand_xy
        ``(n, 2)`` demand point coordinates in a metric CRS (metres).
    need
        ``n`` persons in need at each demand point (extensive, >= 0).
    supply_xy
        ``(m, 2)`` service coordinates in the same CRS.
    capacity
        ``m`` places at each service (extensive, >= 0).
    catchment_m
        Catchment radius in metres (> 0; ``math.inf`` for unlimited). ``None`` reads
        ``settings.default_catchment_m``.
    weight
        Distance-weight function (:func:`step_weights`, :func:`gaussian_weights`, :func:`gravity_weights`,
        or any callable mapping an array of distances in metres to weights >= 0), or ``None`` for plain
        2SFCA. A callable that only accepts scalars (e.g. ``access.weights.step_fn``) works but is called once
        per pair. A service within the catchment where the weight is 0 (e.g. beyond the last step) still
        counts in ``covered`` and ``n_services``, which are about distance only.
    workers
        Processes to run on (``None``: ``settings.workers``, by default every core this process may use;
        ``1`` forces one). Problems under ``_PROCESSES_MIN_ENTRIES`` block entries (20 million: about 60k
        demand points x 5k services in a 15 km catchment on Kosovo's area) run in one, and so does the
        default while other threads run in this process (a server, a notebook kernel: forking copies no
        lock they hold only when none runs); ``workers`` asked for forks anyway. Forked processes need
        Linux; elsewhere one runs. The answer is the same, to the bit, whatever the number.

    Returns
    -------
    result
        :class:`FCAResult`: ``access``, ``covered``, ``n_services``, ``nearest`` (metres) per demand point and
        ``ratio``, ``weighted_need`` per service.

    Examples
    --------
    Three demand points and two services on a line (see ``tests/test_access.py`` for the hand calculation):

    >>> res = fca_arrays([[0, 0], [1000, 0], [2000, 0]], [10, 20, 30], [[500, 0], [2500, 0]], [6, 3],
    ...                  catchment_m=1500)
    >>> res.access.round(4).tolist(), res.ratio.round(4).tolist()
    ([0.1, 0.16, 0.16], [0.1, 0.06])
    """
    d0 = _check_catchment(catchment_m, "fca_arrays")
    weight = _check_weight(weight, "fca_arrays")
    procs = _resolve_workers(workers, "fca_arrays", _FCA_WORKERS)
    asked = workers is not None or settings.workers is not None
    dxy, n_arr, sxy, c_arr = _check_arrays(demand_xy, need, supply_xy, capacity)
    return _fca_core(dxy, n_arr, sxy, c_arr, d0, weight, procs, asked)


def fca_from_pairs(
    origin: ArrayLike,
    dest: ArrayLike,
    cost: ArrayLike,
    need: ArrayLike,
    capacity: ArrayLike,
    *,
    max_cost: float,
    weight: WeightFunction | None = None,
) -> FCAResult:
    """
    Compute 2SFCA / E2SFCA from precomputed cost pairs (e.g. network travel times), with the same edge cases.

    Pairs with ``cost <= max_cost`` are used; ``weight`` is applied to the cost in both steps. Every
    (origin, dest) pair must appear at most once. Use :func:`fca_arrays` for euclidean distances: it never
    holds all pairs at once.

    Parameters
    ----------
    origin
        Demand point position (0..n-1) of each pair.
    dest
        Service position (0..m-1) of each pair.
    cost
        Cost of each pair (metres, minutes...; the same unit as ``max_cost`` and the weight function).
    need
        ``n`` persons in need per demand point (extensive, >= 0).
    capacity
        ``m`` places per service (extensive, >= 0).
    max_cost
        Catchment in cost units (> 0, inclusive).
    weight
        Weight function of the cost, or ``None`` for plain 2SFCA.

    Returns
    -------
    result
        :class:`FCAResult`; ``nearest`` is the smallest cost within ``max_cost`` (``inf`` if none).
    """
    d0 = _check_catchment(max_cost, "fca_from_pairs")
    weight = _check_weight(weight, "fca_from_pairs")
    problems: list[Problem] = []
    n_arr = _as_float_array(need, "need", problems, 1)
    c_arr = _as_float_array(capacity, "capacity", problems, 1)
    _check_values(n_arr, "need", None, problems)
    _check_values(c_arr, "capacity", None, problems)
    o = np.asarray(origin, dtype=np.intp)
    j = np.asarray(dest, dtype=np.intp)
    c = np.asarray(cost, dtype=np.float64)
    if not (o.shape == j.shape == c.shape and o.ndim == 1):
        problems.append(
            Problem("pairs", None, None, "origin, dest and cost differ in shape.", "Pass 1-D arrays.")
        )
    elif len(o) and (o.min() < 0 or o.max() >= len(n_arr) or j.min() < 0 or j.max() >= len(c_arr)):
        problems.append(
            Problem("pairs", None, None, "origin/dest out of range.", "Use positions into need/capacity.")
        )
    elif np.isnan(c).any() or (c < 0).any():
        problems.append(
            Problem("pairs", None, "cost", "has NaN or negative costs.", "Fix or drop those pairs.")
        )
    if problems:
        raise ValidationError(problems)
    keep = c <= d0
    if not keep.all():  # (pairs_within's pairs are all in)
        o, j, c = o[keep], j[keep], c[keep]
    n, m = len(n_arr), len(c_arr)
    w: NDArray[np.float64] | None = None
    if weight is not None:
        w = np.asarray(_vectorised(weight)(c), dtype=np.float64)
        if not (np.isfinite(w).all() and (w >= 0).all()):
            raise SocialMapError("The weight function returned a value that is not finite and >= 0.")
    need_o = n_arr.take(o)
    wneed = np.bincount(j, weights=need_o if w is None else np.multiply(w, need_o, out=need_o), minlength=m)
    del need_o
    ratio = _ratio(c_arr, wneed.astype(np.float64))
    r_use = np.where(np.isnan(ratio), 0.0, ratio)
    r_j = r_use.take(j)
    access = np.bincount(o, weights=r_j if w is None else np.multiply(w, r_j, out=r_j), minlength=n)
    del r_j
    count = np.bincount(o, minlength=n).astype(np.int64)
    nearest = np.full(n, np.inf)
    np.minimum.at(nearest, o, c)
    return FCAResult(access.astype(np.float64), count > 0, count, nearest, ratio, wneed.astype(np.float64))


def _frames_to_arrays(
    demand: object,
    supply: object,
    func: str,
    *,
    need: bool,
    capacity: bool,
    missing_capacity: str = "raise",
) -> tuple[
    gpd.GeoDataFrame,
    NDArray[np.float64],
    NDArray[np.float64] | None,
    NDArray[np.float64],
    NDArray[np.float64] | None,
]:
    dem = _check_frame(demand, "demand", func)
    sup = _check_frame(supply, "supply", func)
    require_metric_crs(dem, sup, names=("demand", "supply"))
    problems: list[Problem] = []
    n_arr = c_arr = None
    if need and _require_columns(dem, "demand", ("need",), problems):
        n_arr = _numeric_column(dem, "demand", "need", problems)
    if capacity and _require_columns(sup, "supply", ("capacity",), problems):
        c_arr = _numeric_column(sup, "supply", "capacity", problems, nan_ok=missing_capacity == "drop")
    dxy = _point_xy(dem, "demand", problems)
    sxy = _point_xy(sup, "supply", problems)
    if problems:
        raise ValidationError(problems)
    if c_arr is not None and np.isnan(c_arr).any():
        drop = np.isnan(c_arr)
        warnings.warn(
            f"`supply` has {int(drop.sum())} service(s) with missing capacity, at index labels "
            f"{_labels(sup.index, np.flatnonzero(drop))}; they are left out as if absent (not counted as in "
            f"reach). Fill `capacity` to include them.",
            UserWarning,
            stacklevel=3,
        )
        c_arr, sxy = c_arr[~drop], sxy[~drop]
    return dem, dxy, n_arr, sxy, c_arr


def two_step_fca(
    demand: gpd.GeoDataFrame,
    supply: gpd.GeoDataFrame,
    *,
    catchment_m: float | None = None,
    weight: WeightFunction | None = None,
    missing_capacity: Literal["raise", "drop"] = "raise",
) -> pd.DataFrame:
    """
    Compute 2SFCA (``weight=None``) or E2SFCA access per demand point, with euclidean distances.

    Equals PySAL ``access``'s ``two_stage_fca`` / ``enhanced_two_stage_fca`` (same weight, inclusive
    ``max_cost``) except where ``access`` returns NaN or ``inf``; see :func:`fca_arrays` for those edge cases
    and the formulas.

    Parameters
    ----------
    demand
        Demand points with an extensive ``need`` column (persons in need, >= 0), in a metric CRS.
    supply
        Service points with an extensive ``capacity`` column (places, >= 0), in the same CRS.
    catchment_m
        Inclusive catchment radius in metres (> 0; ``math.inf`` for unlimited). ``None`` reads
        ``settings.default_catchment_m``.
    weight
        Distance-weight function (e.g. ``step_weights({5000: 1, 10000: 0.68, 15000: 0.22})``) applied in both
        steps, or ``None`` for plain 2SFCA.
    missing_capacity
        ``"raise"`` (default): a missing (NaN) capacity is an error. ``"drop"``: such services are left out
        as if absent, with a ``UserWarning``.

    Returns
    -------
    frame
        DataFrame indexed like ``demand`` with columns ``access`` (``A_i``, places per person in need;
        intensive; 0 where no service is in reach), ``covered`` (bool: a service within the catchment),
        ``n_services`` (services within the catchment) and ``nearest_m`` (distance to the nearest service,
        ``inf`` if there is none). ``frame.attrs`` records the method, catchment and weight.

    Raises
    ------
    CRSError
        If a CRS is missing, the two differ, or they are not metric.
    ValidationError
        Listing every problem found in the data: missing columns, NaN/negative need or capacity, geometries
        that are not points.
    SocialMapError
        For an invalid ``catchment_m``, ``weight`` or ``missing_capacity``.

    Examples
    --------
    >>> import geopandas as gpd
    >>> demand = gpd.GeoDataFrame({"need": [10, 20, 30]},
    ...     geometry=gpd.points_from_xy([0, 1000, 2000], [0, 0, 0]), crs="EPSG:3857")
    >>> supply = gpd.GeoDataFrame({"capacity": [6, 3]},
    ...     geometry=gpd.points_from_xy([500, 2500], [0, 0]), crs="EPSG:3857")
    >>> two_step_fca(demand, supply, catchment_m=1500).round(4)
       access  covered  n_services  nearest_m
    0    0.10     True           1      500.0
    1    0.16     True           2      500.0
    2    0.16     True           2      500.0
    """
    d0 = _check_catchment(catchment_m, "two_step_fca")
    weight = _check_weight(weight, "two_step_fca")
    if missing_capacity not in ("raise", "drop"):
        raise SocialMapError(f"`missing_capacity` must be 'raise' or 'drop'; got {missing_capacity!r}.")
    dem, dxy, n_arr, sxy, c_arr = _frames_to_arrays(
        demand, supply, "two_step_fca", need=True, capacity=True, missing_capacity=missing_capacity
    )
    method = "2SFCA" if weight is None else "E2SFCA"
    logger.info("%s: %d demand points, %d services, catchment %g m", method, len(dxy), len(sxy), d0)
    procs = _resolve_workers(None, "two_step_fca", _FCA_WORKERS)
    res = _fca_core(dxy, n_arr, sxy, c_arr, d0, weight, procs, settings.workers is not None)
    frame = pd.DataFrame(
        {
            "access": res.access,
            "covered": res.covered,
            "n_services": res.n_services,
            "nearest_m": res.nearest,
        },
        index=dem.index.copy(),
    )
    frame.attrs.update({"method": method, "catchment_m": d0, "weight": repr(weight), "distance": "euclidean"})
    return frame


def distance_coverage(
    demand: gpd.GeoDataFrame, supply: gpd.GeoDataFrame, *, catchment_m: float | None = None
) -> pd.DataFrame:
    """
    Say for each demand point whether a service is within the catchment, how many, and how far the nearest is.

    Capacity is not used: this is plain distance coverage (``covered_share`` in DESIGN.md is the need-weighted
    share of ``covered``), except that a service whose ``capacity`` is known to be 0 (no places) covers no
    one and is left out; a service of unknown capacity (NaN, or no ``capacity`` column) is a site that
    covers.

    Parameters
    ----------
    demand
        Demand points in a metric CRS (no column is required).
    supply
        Service points in the same CRS; an optional ``capacity`` column (services with 0 are left out).
    catchment_m
        Inclusive radius in metres; ``None`` reads ``settings.default_catchment_m``.

    Returns
    -------
    frame
        DataFrame indexed like ``demand`` with ``covered`` (bool), ``n_services`` and ``nearest_m`` (``inf``
        if there is no service with places at all).

    Examples
    --------
    >>> import geopandas as gpd
    >>> demand = gpd.GeoDataFrame(geometry=gpd.points_from_xy([0, 5000], [0, 0]), crs="EPSG:3857")
    >>> supply = gpd.GeoDataFrame(geometry=gpd.points_from_xy([1000], [0]), crs="EPSG:3857")
    >>> distance_coverage(demand, supply, catchment_m=3000)
       covered  n_services  nearest_m
    0     True           1     1000.0
    1    False           0     4000.0
    """
    d0 = _check_catchment(catchment_m, "distance_coverage")
    dem, dxy, _, sxy, _ = _frames_to_arrays(demand, supply, "distance_coverage", need=False, capacity=False)
    if isinstance(supply, pd.DataFrame) and "capacity" in supply.columns:
        places = pd.to_numeric(supply["capacity"], errors="coerce").to_numpy(dtype=float)
        sxy = sxy[~(places == 0)]  # no places: covers no one (NaN, unknown, still covers)
    procs = _resolve_workers(None, "distance_coverage", _FCA_WORKERS)
    res = _fca_core(dxy, None, sxy, None, d0, None, procs, settings.workers is not None)
    frame = pd.DataFrame(
        {"covered": res.covered, "n_services": res.n_services, "nearest_m": res.nearest},
        index=dem.index.copy(),
    )
    frame.attrs.update({"method": "distance coverage", "catchment_m": d0, "distance": "euclidean"})
    return frame
