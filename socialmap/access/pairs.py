"""
Demand–service pairs within a catchment, and the distance to the nearest service.

:func:`pairs_within` lists every pair with its distance, on the blocks of the 2SFCA engine;
:func:`nearest_distance` the distance from each demand point to its nearest service.
"""

from __future__ import annotations

from typing import Any

import numpy as np
from numpy.typing import ArrayLike, NDArray

from socialmap.access.blocks import (
    _Buffers,
    _map_strips,
    _nearest,
    _plan,
    _resolve_workers,
    _Rows,
    _rows,
    _Strip,
)
from socialmap.access.checks import _check_arrays, _check_catchment
from socialmap.access.kernels import _sq_threshold


def pairs_within(
    demand_xy: ArrayLike,
    supply_xy: ArrayLike,
    *,
    catchment_m: float | None = None,
    workers: int | None = None,
) -> tuple[NDArray[np.intp], NDArray[np.intp], NDArray[np.float64]]:
    """
    List the demand–service pairs within the catchment (``distance <= catchment_m``), with their distances.

    This materialises every pair (about 24 bytes each); for the 2SFCA family use :func:`fca_arrays`, which
    never holds all pairs at once.

    Parameters
    ----------
    demand_xy
        ``(n, 2)`` demand coordinates in metres.
    supply_xy
        ``(m, 2)`` service coordinates in the same CRS.
    catchment_m
        Inclusive radius in metres; ``None`` reads ``settings.default_catchment_m``.
    workers
        Threads to run on (``None``: ``settings.workers``, by default every core this process may use:
        its blocks are fewer, larger numpy calls than the 2SFCA's, and two threads measured faster).

    Returns
    -------
    pairs
        ``(demand position, service position, distance in metres)`` arrays, sorted by demand then service.

    Notes
    -----
    Two passes over the blocks of :func:`fca_arrays`: the first counts each demand point's pairs, which
    places them in the output (all of a point's pairs come from its one block); the second writes them
    there, each block's services taken in the order of their positions, so that no sort is needed.

    Examples
    --------
    >>> i, j, d = pairs_within([[0, 0], [3000, 4000]], [[0, 0]], catchment_m=5000)
    >>> i.tolist(), j.tolist(), d.tolist()
    ([0, 1], [0, 0], [0.0, 5000.0])
    """
    d0 = _check_catchment(catchment_m, "pairs_within")
    threads = _resolve_workers(workers, "pairs_within")
    dxy, _, sxy, _ = _check_arrays(demand_xy, None, supply_xy, None)
    n = len(dxy)
    if n == 0 or len(sxy) == 0:
        return np.zeros(0, np.intp), np.zeros(0, np.intp), np.zeros(0)
    t2 = _sq_threshold(d0)
    plan = _plan(dxy, sxy, d0)
    count_s = np.zeros(n, dtype=np.intp)  # pairs per demand point, plan order

    def block(strip: _Strip, rows: _Rows, ci: int, bufs: _Buffers, by_position: bool) -> Any:
        r0, r1 = strip.chunks[ci][:2]
        k0, k1 = int(rows.start[ci]), int(rows.ends[ci, -1])
        sup_idx, sup_xy = strip.sup_idx.take(rows.sel[k0:k1]), rows.xy[k0:k1]
        if by_position:
            perm = np.argsort(sup_idx)
            sup_idx, sup_xy = sup_idx[perm], sup_xy[perm]
        d2 = bufs.distances(plan.dxy[r0:r1], sup_xy)  # demand x services: pairs come out demand by demand
        return sup_idx, d2, np.less_equal(d2, t2, out=bufs.view("mask", d2.shape, np.bool_))

    strip_rows: dict[int, _Rows] = {}  # kept for the second pass (about 24 bytes a block row)

    def count(si: int, strip: _Strip, bufs: _Buffers) -> None:
        rows = strip_rows[si] = _rows(plan, strip)
        for ci, chunk in enumerate(strip.chunks):
            if rows.ends[ci, -1] > rows.start[ci]:
                _, _, mask = block(strip, rows, ci, bufs, False)
                count_s[chunk[0] : chunk[1]] = np.count_nonzero(mask, axis=1)

    _map_strips(plan, count, threads)
    per_point = np.zeros(n, dtype=np.intp)
    per_point[plan.order] = count_s
    first = np.zeros(n + 1, dtype=np.intp)
    np.cumsum(per_point, out=first[1:])
    first_s = first[:-1][plan.order]  # where each demand point's pairs start in the output, plan order
    j_out = np.empty(int(first[-1]), dtype=np.intp)
    d_out = np.empty(int(first[-1]))

    def write(si: int, strip: _Strip, bufs: _Buffers) -> None:
        rows = strip_rows.pop(si)
        for ci, chunk in enumerate(strip.chunks):
            r0, r1 = chunk[0], chunk[1]
            if rows.ends[ci, -1] <= rows.start[ci]:
                continue
            sup_idx, d2, mask = block(strip, rows, ci, bufs, True)
            # row by row: demand point by demand point, services by position (np.repeat, one small copy per
            # repeated element, took half the time here)
            rws, cols = np.nonzero(mask)
            cnt = count_s[r0:r1]
            at = (first_s[r0:r1] - (np.cumsum(cnt) - cnt)).take(rws)
            at += np.arange(len(rws))
            j_out[at] = sup_idx.take(cols)
            d_out[at] = np.sqrt(d2[mask])

    _map_strips(plan, write, threads)
    # the demand position of each pair: steps of the position at each point's first pair, summed up
    i_out = np.zeros(len(j_out), dtype=np.intp)
    some = np.flatnonzero(per_point)
    if len(some):
        i_out[first[some]] = np.diff(some, prepend=0)
        np.cumsum(i_out, out=i_out)
    return i_out, j_out, d_out


def nearest_distance(demand_xy: ArrayLike, supply_xy: ArrayLike) -> NDArray[np.float64]:
    """
    Return the euclidean distance from each demand point to its nearest service (``inf`` if there is none).

    Parameters
    ----------
    demand_xy
        ``(n, 2)`` demand coordinates in metres.
    supply_xy
        ``(m, 2)`` service coordinates in the same CRS.

    Returns
    -------
    distance_m
        ``n`` distances in metres.

    Examples
    --------
    >>> nearest_distance([[0, 0], [10, 0]], [[3, 4], [10, 1]]).tolist()
    [5.0, 1.0]
    """
    dxy, _, sxy, _ = _check_arrays(demand_xy, None, supply_xy, None)
    if len(sxy) == 0:
        return np.full(len(dxy), np.inf)
    if len(dxy) == 0:
        return np.zeros(0)
    return _nearest(dxy, sxy)
