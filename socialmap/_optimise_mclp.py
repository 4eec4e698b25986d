"""
The maximal covering problem on arrays: sparse coverage, the exact reductions, the MILP, greedy and its bound.

:func:`coverage_matrix` (re-exported by :mod:`socialmap.optimise`), the reductions that keep the optimum
(:func:`_reduce`), the exact model solved by HiGHS through :func:`scipy.optimize.milp` (:func:`_milp`, also
used by the capacitated variant), the greedy placement and its Lagrangian (LP) bound. Limits (the time limit)
are passed in by :mod:`socialmap.optimise`, which holds them.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np
from numpy.typing import ArrayLike, NDArray
from scipy import sparse

from socialmap.errors import N_, Number, SocialMapError

_E_BOUND = 1.0 - 1.0 / math.e


def coverage_matrix(
    demand_xy: ArrayLike,
    site_xy: ArrayLike,
    *,
    radius_m: float | None = None,
    network: Any = None,
    catchment_min: float | None = None,
    max_snap_m: float | None = None,
    crs: Any = None,
) -> sparse.csr_array:
    """
    Build the sparse demand × site coverage matrix: 1 where the site is within ``radius_m`` (inclusive).

    With a road ``network`` (:class:`socialmap.network.RoadGraph`), 1 where the travel time from the
    demand point to the site is within ``catchment_min`` minutes instead
    (:func:`socialmap.network.travel_time_pairs`; points off the network reach nothing).

    Parameters
    ----------
    demand_xy
        ``(n, 2)`` demand coordinates in metres.
    site_xy
        ``(m, 2)`` site coordinates in the same CRS.
    radius_m
        Coverage radius in metres (straight lines).
    network, catchment_min, max_snap_m, crs
        A road graph, the catchment in minutes on it, the snapping threshold, and the CRS of the
        coordinates if not the graph's (see :mod:`socialmap.network`).

    Returns
    -------
    matrix
        ``(n, m)`` ``scipy.sparse.csr_array`` of float64 ones, column indices sorted in each row.

    Examples
    --------
    >>> coverage_matrix([[0, 0], [10, 0]], [[0, 0], [5, 0]], radius_m=5).toarray().tolist()
    [[1.0, 1.0], [0.0, 1.0]]
    """
    from socialmap.access import pairs_within

    dxy = np.asarray(demand_xy, dtype=np.float64).reshape(-1, 2)
    sxy = np.asarray(site_xy, dtype=np.float64).reshape(-1, 2)
    n, m = len(dxy), len(sxy)
    if n == 0 or m == 0:
        return sparse.csr_array((n, m), dtype=np.float64)
    if network is not None:
        from socialmap.network import travel_time_pairs

        i, j, _ = travel_time_pairs(network, dxy, sxy, max_min=catchment_min, max_snap_m=max_snap_m, crs=crs)
    else:
        i, j, _ = pairs_within(dxy, sxy, catchment_m=radius_m)  # sorted by demand, then site
    indptr = np.zeros(n + 1, dtype=np.int64)
    np.cumsum(np.bincount(i, minlength=n), out=indptr[1:])
    return sparse.csr_array((np.ones(len(j)), j.astype(np.int64), indptr), shape=(n, m))


def _merge_rows(
    *matrices: sparse.csr_array,
) -> tuple[NDArray[np.intp], NDArray[np.intp]]:
    """Group rows with equal sparsity patterns in every matrix: (group of each row, first row of each)."""
    n = matrices[0].shape[0]
    keys: dict[bytes, int] = {}
    group = np.empty(n, dtype=np.intp)
    first: list[int] = []
    ptrs = [(mat.indptr, mat.indices.astype(np.int64, copy=False)) for mat in matrices]
    for r in range(n):
        key = b"|".join(ind[ptr[r] : ptr[r + 1]].tobytes() for ptr, ind in ptrs)
        g = keys.get(key)
        if g is None:
            g = keys[key] = len(first)
            first.append(r)
        group[r] = g
    return group, np.asarray(first, dtype=np.intp)


def _reduce(
    coverage: sparse.csr_array, weights: NDArray[np.float64]
) -> tuple[sparse.csr_array, NDArray[np.float64]]:
    """Drop rows with no weight or no site, merge rows with the same sites (summing their weights)."""
    nnz = np.diff(coverage.indptr)
    keep = np.flatnonzero((weights > 0) & (nnz > 0))
    sub = coverage[keep]
    group, first = _merge_rows(sub)
    w = np.bincount(group, weights=weights[keep], minlength=len(first)).astype(np.float64)
    return sub[first], w


def _mclp_exact(
    a: sparse.csr_array, w: NDArray[np.float64], k: int, at_least: float, time_limit_s: float
) -> NDArray[np.intp]:
    """
    Solve the coverage model exactly (:func:`_milp`) and return the chosen columns.

    Variables ``[x_1..x_m, y_1..y_g]``: ``x`` binary, ``y`` continuous in [0, 1] (0 or 1 at an optimum).
    The constraint matrix is built straight from the sparse coverage matrix: row ``g`` is
    ``sum_{j in N_g} x_j - y_g >= 0``; then ``sum_j x_j = k``; and ``sum_g w_g y_g >= at_least``, the
    greedy placement's value (less a rounding margin). That last row removes no optimum (the optimum is
    at least what greedy reaches) and tells HiGHS early which branches cannot win: on 8,000 demand x 600
    candidate uniform points (k = 15, radius 15 km, 1.3 x 10^5 pairs after the reductions) it solved in
    44 s instead of 80-140 s without it (load 3-4 on 2 cores).
    """
    g_count, m = a.shape
    cover = sparse.hstack([a, -sparse.eye_array(g_count, format="csr")], format="csr")
    pick = sparse.csr_array(np.r_[np.ones(m), np.zeros(g_count)].reshape(1, -1))
    value = sparse.csr_array(np.r_[np.zeros(m), w].reshape(1, -1))
    x = _milp(
        np.r_[np.zeros(m), -w],  # milp minimises
        integer=np.r_[np.ones(m), np.zeros(g_count)],
        upper=np.ones(m + g_count),
        rows=sparse.vstack([cover, pick, value], format="csr"),
        row_low=np.r_[np.zeros(g_count), float(k), at_least - 1e-9 * max(1.0, abs(at_least))],
        row_up=np.r_[np.full(g_count, np.inf), float(k), np.inf],
        time_limit_s=time_limit_s,
    )
    return np.flatnonzero(x[:m] > 0.5)


def _milp(
    cost: NDArray[np.float64],
    *,
    integer: NDArray[np.float64],
    upper: NDArray[np.float64],
    rows: sparse.csr_array,
    row_low: NDArray[np.float64],
    row_up: NDArray[np.float64],
    time_limit_s: float,
) -> NDArray[np.float64]:
    """
    Solve a mixed-integer program with HiGHS's branch and bound (:func:`scipy.optimize.milp`).

    Minimise ``cost @ v`` for ``0 <= v <= upper`` and ``row_low <= rows @ v <= row_up``, ``v`` integer
    where ``integer`` is 1; return ``v``.

    ``mip_rel_gap=0``: HiGHS otherwise stops within 0.01 % of the optimum, and ``"exact"`` promises the
    optimum itself. A time limit reached (``time_limit_s``, :data:`socialmap.optimise.EXACT_TIME_LIMIT_S` from
    the callers) or any status other than optimal
    is a :class:`~socialmap.errors.SocialMapError` that says what to do instead.
    """
    from scipy.optimize import Bounds, LinearConstraint, milp

    res = milp(
        cost,
        integrality=integer,
        bounds=Bounds(np.zeros(len(cost)), upper),
        constraints=LinearConstraint(rows, row_low, row_up),
        options={"time_limit": time_limit_s, "mip_rel_gap": 0.0, "disp": False},
    )
    if res.status == 1:
        raise SocialMapError(
            N_(
                "The exact placement was stopped after {seconds} s, before the best sites were proven. "
                "Choose the fast method (greedy, which reports how far from the best it can be), "
                "fewer candidate sites or a shorter reach."
            ),
            seconds=Number(time_limit_s, ",g"),
        )
    if res.status != 0 or res.x is None:  # pragma: no cover - the models are always feasible and bounded
        raise SocialMapError(
            N_("The exact placement could not be solved ({reason}). Choose the fast method (greedy)."),
            reason=str(res.message),
        )
    return np.asarray(res.x, dtype=np.float64)


def _greedy(
    a: sparse.csr_array, w: NDArray[np.float64], k: int
) -> tuple[NDArray[np.intp], NDArray[np.float64], float]:
    """Greedy maximal covering: (chosen in order, marginal gains, Minoux's online bound)."""
    csc = a.tocsc()
    m = a.shape[1]
    covered = np.zeros(a.shape[0], dtype=bool)
    gains = np.asarray(a.T @ w, dtype=np.float64)
    value = 0.0
    chosen: list[int] = []
    added: list[float] = []
    bound = math.inf
    available = np.ones(m, dtype=bool)
    for step in range(k + 1):
        open_gains = np.where(available, gains, -np.inf)
        top = np.sort(open_gains[available])[::-1][:k]
        bound = min(bound, value + float(np.clip(top, 0, None).sum()))
        if step == k:
            break
        j = int(np.argmax(open_gains))
        rows = csc.indices[csc.indptr[j] : csc.indptr[j + 1]]
        new = rows[~covered[rows]]
        covered[new] = True
        gain = float(w[new].sum())
        value += gain
        chosen.append(j)
        added.append(gain)
        available[j] = False
        if len(new):
            gains = gains - np.asarray(a[new].T @ w[new], dtype=np.float64)
    return np.asarray(chosen, dtype=np.intp), np.asarray(added), bound


def _top_k_sum(values: NDArray[np.float64], k: int) -> tuple[float, NDArray[np.intp]]:
    """Sum of the k largest values, and their positions."""
    top = np.argpartition(-values, k - 1)[:k] if k < len(values) else np.arange(len(values))
    return float(values[top].sum()), top


def _projected(sub: NDArray[np.float64], x: NDArray[np.float64], low: Any, high: Any) -> NDArray[np.float64]:
    """Zero the parts of a (descent) subgradient that would push ``x`` out of ``[low, high]``."""
    out = sub.copy()
    out[(x <= low) & (sub > 0)] = 0.0
    out[(x >= high) & (sub < 0)] = 0.0
    return out


def _mclp_lagrangian_bound(
    a: sparse.csr_array, w: NDArray[np.float64], k: int, lower: float, iterations: int
) -> float:
    """
    Lagrangian upper bound on the MCLP optimum, by subgradient steps on the multipliers.

    Relaxing ``y_g <= sum_{j in N_g} x_j`` with multipliers ``0 <= lam_g <= w_g`` gives, for every ``lam``,
    ``OPT <= L(lam) = sum_g (w_g - lam_g) + (sum of the k largest column sums of lam)``; its minimum
    equals the LP relaxation (the subproblem has integral optima). Polyak steps towards ``lower``.
    """
    if a.shape[0] == 0:
        return 0.0
    at = sparse.csr_array(a.T)
    lam = w.copy()  # L(w) = the k best single sites: the online bound at the empty set
    best, theta, stall = math.inf, 2.0, 0
    for _ in range(max(iterations, 1)):
        total, top = _top_k_sum(np.asarray(at @ lam, dtype=np.float64), k)
        value = float(np.sum(w - lam)) + total
        if value < best:
            best, stall = value, 0
        else:
            stall += 1
            if stall >= 10:
                theta, stall = theta / 2, 0
        picked = np.zeros(a.shape[1])
        picked[top] = 1.0
        step = _projected(np.asarray(a @ picked, dtype=np.float64) - 1.0, lam, 0.0, w)  # dL/dlam
        norm = float(step @ step)
        if norm == 0 or theta < 1e-6 or best - lower <= 1e-9 * max(1.0, abs(lower)):
            break
        lam = np.clip(lam - theta * (value - lower) / norm * step, 0.0, w)
    return best


def _order(
    a: sparse.csr_array, w: NDArray[np.float64], chosen: NDArray[np.intp]
) -> tuple[NDArray[np.intp], NDArray[np.float64]]:
    """Order chosen sites greedily by the need each adds after the ones before it."""
    sub = a[:, chosen] if len(chosen) else a[:, :0]
    pos, added = _greedy(sparse.csr_array(sub), w, len(chosen))[:2]
    return chosen[pos], added
