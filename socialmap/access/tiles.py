"""
One tile of a partitioned run (used by :mod:`socialmap.cluster`; plain numpy, any worker runs it).

Step 1's share of the weighted need of the services in a tile's halo, and step 2 with the coverage.
"""

from __future__ import annotations

import math

import numpy as np
from numpy.typing import NDArray

from socialmap.access.blocks import _access_pass, _coverage, _nearest, _need_pass, _plan
from socialmap.access.kernels import _make_kernel
from socialmap.access.weights import WeightFunction


def _halo(dxy: NDArray[np.float64], sxy: NDArray[np.float64], d0: float) -> NDArray[np.intp]:
    """
    Positions of the services within the bounding box of ``dxy`` widened by the catchment ``d0``.

    A superset of the services within ``d0`` of any point of ``dxy`` (widened a little further so that
    rounding never drops one); the extra ones get weight 0 from the exact test on squared distances.
    """
    if len(dxy) == 0 or len(sxy) == 0:
        return np.zeros(0, dtype=np.intp)
    if not math.isfinite(d0):
        return np.arange(len(sxy))
    scale = max(float(np.abs(dxy).max()), float(np.abs(sxy).max()))
    pad = d0 + 1e-9 * (scale + d0)
    lo = dxy.min(axis=0) - pad
    hi = dxy.max(axis=0) + pad
    inside = (sxy[:, 0] >= lo[0]) & (sxy[:, 0] <= hi[0]) & (sxy[:, 1] >= lo[1]) & (sxy[:, 1] <= hi[1])
    return np.flatnonzero(inside)


def _tile_weighted_need(
    dxy: NDArray[np.float64],
    need: NDArray[np.float64],
    sxy: NDArray[np.float64],
    d0: float,
    weight: WeightFunction | None,
) -> tuple[NDArray[np.intp], NDArray[np.float64]]:
    """
    Step 1 for one tile of demand: its share of the weighted need of the services in its halo.

    Returns the positions (into ``sxy``) of the halo services and, for each, ``sum_i w(d_ij) n_i`` over the
    tile's demand points only. Summed over tiles that partition the demand, these give the weighted need.
    """
    sel = _halo(dxy, sxy, d0)
    if len(sel) == 0:
        return sel, np.zeros(0)
    kernel = _make_kernel(d0, weight)
    plan = _plan(dxy, sxy[sel], d0, kernel.inner_m)
    wneed, _, _, _ = _need_pass(plan, kernel, need[plan.order], len(sel), 0)
    return sel, wneed


def _tile_access(
    dxy: NDArray[np.float64],
    sxy: NDArray[np.float64],
    r_use: NDArray[np.float64],
    d0: float,
    weight: WeightFunction | None,
) -> tuple[NDArray[np.float64], NDArray[np.int64], NDArray[np.float64]]:
    """
    Step 2 and distance coverage for one tile of demand, given the ratios ``r_use`` of every service.

    Returns ``access``, ``n_services`` and ``nearest`` (metres) for the tile's demand points, in their order.
    """
    n = len(dxy)
    sel = _halo(dxy, sxy, d0)
    if len(sel) == 0:
        _, _, nearest = _coverage_none(dxy, sxy)
        return np.zeros(n), np.zeros(n, dtype=np.int64), nearest
    kernel = _make_kernel(d0, weight)
    plan = _plan(dxy, sxy[sel], d0, kernel.inner_m)
    access_s, count_s, near2_s = _access_pass(plan, kernel, r_use[sel], {}, coverage=True)
    assert count_s is not None and near2_s is not None
    count, _, nearest = _coverage(plan, count_s, near2_s, dxy, sxy)
    access = np.empty(n)
    access[plan.order] = access_s
    return access, count, nearest


def _coverage_none(
    dxy: NDArray[np.float64], sxy: NDArray[np.float64]
) -> tuple[NDArray[np.int64], NDArray[np.bool_], NDArray[np.float64]]:
    """Coverage of points with no service in their halo: none in reach; nearest from every service."""
    n = len(dxy)
    count = np.zeros(n, dtype=np.int64)
    nearest = np.full(n, np.inf)
    if n and len(sxy):
        nearest = _nearest(dxy, sxy)
    return count, count > 0, nearest
