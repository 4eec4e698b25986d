"""
Where to open new services: maximal covering of the need that no service reaches yet.

Given demand points with an extensive ``need``, candidate sites and the services that already exist,
choose ``k`` candidates so that as much **unmet** need as possible comes within ``radius_m`` of a
service. Need already within reach of an existing service counts as covered, so the model puts the new
sites where the uncovered need is.

The model (the Maximal Covering Location Problem, Church & ReVelle 1974, as in PySAL ``spopt``'s
``MCLP``), with ``w_i`` the need of demand point ``i`` not yet covered, ``N_i`` the candidates within
``radius_m`` of it (inclusive, ``<=``), ``x_j`` = 1 if candidate ``j`` is opened and ``y_i`` = 1 if
``i`` becomes covered::

    maximise   sum_i w_i y_i
    subject to y_i <= sum_{j in N_i} x_j   for every i
               sum_j x_j = k
               x_j in {0, 1},  0 <= y_i <= 1

At an optimum ``y_i = min(1, sum x_j)`` is 0 or 1, so ``y`` needs no integrality (``spopt`` makes it
integer; the optimum is the same). The model is built from a **sparse** coverage matrix
(:func:`coverage_matrix`, from :func:`socialmap.access.pairs_within`): ``spopt``'s
``MCLP.from_cost_matrix`` takes a dense cost matrix and adds every demand–candidate product to each
constraint, which for 2,000 × 200 points takes about 5 s to build alone. Two exact reductions shrink the
model further: demand points that no candidate reaches, or that an existing service already covers,
are left out (they cannot change the choice), and demand points reached by exactly the same candidates
are merged, their need summed. It is solved exactly (``solver="exact"``) by HiGHS's branch and bound
through :func:`scipy.optimize.milp`, the constraint matrix built straight from the sparse coverage
matrix (no modelling layer, no solver binary to install: scipy is a dependency anyway), and the tests
check that the optimum equals ``spopt``'s. ``solver="cbc"`` is the older name of ``"exact"``, from when
the model was built in PuLP and solved by its bundled CBC binary; PuLP 3.3 deprecates that bundled
binary, so ``"cbc"`` now means the same HiGHS solver, and PuLP is no longer needed.

**Capacities** (``capacity=...``). Coverage alone counts a person as served when a service is within
reach, however full it is. With capacities, the model becomes a capacitated maximal covering with
divisible demand: ``f_ij >= 0`` is the need of ``i`` served by site ``j`` (any site within reach,
existing or new)::

    maximise   sum_ij f_ij
    subject to sum_j f_ij <= w_i                 every demand point (its whole need)
               sum_i f_ij <= c_j x_j             every candidate (x_j binary, sum_j x_j = k)
               sum_i f_ij <= c_e                 every existing service (open, its known capacity)

The objective reported is the need served with the new sites minus the need the existing services can
serve alone (the same model with no new site). This is the *most* need the places can serve when
people go to any service within reach; the 2SFCA family of the pipeline spreads places in proportion
to need and can serve less. Existing services of unknown capacity add no places here, as in the
pipeline's 2SFCA (a warning says how many).

**Greedy** (``solver="greedy"``, or ``"auto"`` on instances too large for ``"exact"``): repeatedly open the
candidate adding the most need. Coverage is submodular, so greedy reaches at least ``1 - 1/e`` (63 %)
of the optimum (Nemhauser, Wolsey & Fisher 1978). The result reports an upper bound on the optimum,
the tightest of: a Lagrangian bound (the coverage constraints relaxed with multipliers ``lam_g``; every
``lam`` gives a valid bound, and subgradient steps bring it towards the LP relaxation's value, Galvão &
ReVelle 1996), the data-dependent bound ``f(S_t) + sum of the k largest marginal gains at S_t`` for every
greedy step ``t`` (Minoux 1978), and ``objective / (1 - 1/e)``; ``gap_to_optimum = (bound - objective) /
bound`` is then at least the true relative gap. With capacities greedy is a heuristic (the marginal gain
of a site is estimated as ``min(c_j, unserved need within reach)``, and that much need is then taken off
the demand in reach, proportionally); its objective is recomputed exactly by a linear program (HiGHS),
and the bound is the Lagrangian one (demand constraints relaxed), as the ``1 - 1/e`` guarantee does not
hold for the heuristic.
"""

from __future__ import annotations

import hashlib
import logging
import math
import numbers
import threading
import warnings
from collections import OrderedDict
from dataclasses import dataclass, field, replace
from typing import TYPE_CHECKING, Any, Literal

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely
from numpy.typing import ArrayLike, NDArray
from scipy import sparse

from socialmap import settings
from socialmap.crs import require_metric_crs
from socialmap.errors import N_, Number, SocialMapError

if TYPE_CHECKING:
    from socialmap.pipeline import Result

logger = logging.getLogger(__name__)

__all__ = [
    "AUTO_MAX_PAIRS",
    "AUTO_MAX_PAIRS_CAPACITATED",
    "EXACT_TIME_LIMIT_S",
    "Placement",
    "candidates_from_areas",
    "candidates_from_grid",
    "coverage_matrix",
    "maximal_covering",
    "place_services",
    "solve_mclp",
]

Solver = Literal["exact", "greedy", "auto", "cbc"]
#: ``"cbc"`` is the older name of ``"exact"`` (from when the exact model was solved by CBC through PuLP),
#: kept so that code written for it keeps working: the same HiGHS solver, and ``method`` reads ``"cbc"``.
SOLVERS = ("exact", "greedy", "auto", "cbc")
_EXACT = ("exact", "cbc")
_OPTIMAL = "optimal (HiGHS branch and bound)"

#: ``solver="auto"`` hands the coverage model to the exact solver while it has at most this many
#: demand–candidate pairs (after the reductions), and uses greedy above. A working limit from timings on
#: the development machine, not a property of the problem: set with CBC (random instances of 3.7 × 10^5
#: pairs in about 4 s) and kept for HiGHS, which took 1 s at 6 × 10^4 pairs but 44 s on a harder
#: instance of 1.3 × 10^5 (uniform points, k = 15; CBC 33-40 s; ``benchmarks/bench_optimise.py``).
AUTO_MAX_PAIRS = 200_000
#: The same limit for the capacity model, which is slower to solve (CBC: 4.6 × 10^4 pairs in about 5 s,
#: 1.8 × 10^5 in about 20 s; HiGHS was 5-7 times faster than CBC at 4-7 × 10^4 pairs).
AUTO_MAX_PAIRS_CAPACITATED = 50_000
#: The exact solver gives up after this many seconds with an error that says what to do instead (the
#: greedy method, fewer candidates, a shorter reach) rather than keep a planner waiting.
EXACT_TIME_LIMIT_S = 300.0

_E_BOUND = 1.0 - 1.0 / math.e


# ----------------------------------------------------------------------------------------------------
# Results
# ----------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Placement:
    """
    Where :func:`maximal_covering` puts ``k`` new sites, and how much need they reach.

    Attributes
    ----------
    chosen
        The chosen candidate rows (their own index and columns), in the order they add most, with
        ``order`` (1 = first), ``reachable_need`` (uncovered need within reach of the site alone) and
        ``added_need`` (need it adds after the sites before it; sums to :attr:`objective`). With
        capacities: ``order`` (by ``served_need``), ``reachable_need`` (need within reach that the
        existing services leave unserved), ``served_need`` (need served by the site in one optimal
        assignment, which need not be unique) and ``capacity``.
    objective
        Need newly reached (or, with capacities, newly served) thanks to the new sites.
    covered_need
        Need within reach of the existing and the chosen sites together (with capacities: served by
        them); ``existing_need + objective``.
    existing_need
        Need the existing services reach (serve) alone.
    total_need
        Need of all demand points.
    method
        ``"exact"`` (optimal) or ``"greedy"``; ``"cbc"`` when asked for by that older name of ``"exact"``.
    bound
        An upper bound on the best possible :attr:`objective` (equal to it when the exact solver proved
        optimality).
    bound_method
        How :attr:`bound` was obtained.
    gap_to_optimum
        ``(bound - objective) / bound``: 0 when optimal; for greedy, at least the true relative gap.
    demand
        Copy of the demand points with ``need_reached_before`` and ``need_reached_after`` (extensive: need
        within reach, or served, before and after the new sites).
    radius_m
        The coverage radius in metres (NaN when coverage was travel time on a road network).
    k
        Number of new sites.
    capacitated
        Whether capacities limited coverage.
    notes
        Choices made on the way (solver chosen by ``"auto"``, unknown capacities...).
    catchment_min
        The coverage catchment in minutes of travel when a road network was used, else ``None``.
    """

    chosen: gpd.GeoDataFrame
    objective: float
    covered_need: float
    existing_need: float
    total_need: float
    method: str
    bound: float
    bound_method: str
    gap_to_optimum: float
    demand: gpd.GeoDataFrame
    radius_m: float
    k: int
    capacitated: bool
    notes: tuple[str, ...] = field(default_factory=tuple)
    catchment_min: float | None = None

    def summary(self) -> dict[str, Any]:
        """Return the headline numbers as a plain dict (for a CLI or a report)."""
        share = self.covered_need / self.total_need if self.total_need > 0 else math.nan
        return {
            "k": self.k,
            "radius_m": self.radius_m,
            "catchment_min": self.catchment_min,
            "method": self.method,
            "capacitated": self.capacitated,
            "objective": self.objective,
            "existing_need": self.existing_need,
            "covered_need": self.covered_need,
            "total_need": self.total_need,
            "covered_share": share,
            "bound": self.bound,
            "bound_method": self.bound_method,
            "gap_to_optimum": self.gap_to_optimum,
        }


@dataclass(frozen=True)
class _Solution:
    chosen: NDArray[np.intp]  # candidate positions
    objective: float  # solver's own value (checked against the recomputation)
    bound: float
    bound_method: str
    method: str


# ----------------------------------------------------------------------------------------------------
# Checks
# ----------------------------------------------------------------------------------------------------


def _check_frame(frame: object, label: str) -> gpd.GeoDataFrame:
    if not isinstance(frame, gpd.GeoDataFrame):
        raise SocialMapError(f"`{label}` must be a GeoDataFrame of points; got {type(frame).__name__}.")
    return frame


def _point_xy(frame: gpd.GeoDataFrame, label: str) -> NDArray[np.float64]:
    geoms = frame.geometry.to_numpy()
    missing = shapely.is_missing(geoms) | shapely.is_empty(geoms)
    if missing.any():
        where = list(frame.index[missing][:5])
        raise SocialMapError(
            f"`{label}` has {int(missing.sum())} row(s) without a location (index {where}). "
            "Drop them or give them a point."
        )
    kinds = shapely.get_type_id(geoms)
    bad = kinds != shapely.GeometryType.POINT
    if bad.any():
        found = sorted(set(frame.geom_type[bad]))
        raise SocialMapError(
            f"`{label}` must hold points; found {found} (index {list(frame.index[bad][:5])}). "
            "Use e.g. `gdf.set_geometry(gdf.representative_point())` to place a point inside each shape."
        )
    xy = shapely.get_coordinates(geoms)
    if not np.isfinite(xy).all():
        raise SocialMapError(f"`{label}` has points with non-finite coordinates.")
    return xy


def _positive(value: object, label: str, *, integer: bool = False) -> float:
    if isinstance(value, bool) or not isinstance(value, numbers.Real) or not math.isfinite(float(value)):
        raise SocialMapError(f"`{label}` must be a finite number; got {value!r}.")
    if integer:
        if not float(value).is_integer() or float(value) < 1:
            raise SocialMapError(f"`{label}` must be a whole number, at least 1; got {value!r}.")
    elif float(value) <= 0:
        raise SocialMapError(f"`{label}` must be > 0; got {value!r}.")
    return float(value)


def _need(demand: gpd.GeoDataFrame, weight: str) -> NDArray[np.float64]:
    if weight not in demand.columns:
        raise SocialMapError(
            f"`demand` has no column {weight!r} (the `weight`); found {list(demand.columns)}."
        )
    values = pd.to_numeric(demand[weight], errors="coerce")
    text = demand[weight].notna() & values.isna()
    if text.any():
        raise SocialMapError(
            f"`demand.{weight}` must hold numbers; found {demand[weight][text].iloc[0]!r} "
            f"(index {demand.index[text][0]!r})."
        )
    w = values.to_numpy(dtype=np.float64)
    if np.isinf(w).any() or (w < 0).any():
        raise SocialMapError(f"`demand.{weight}` must be finite and >= 0 (need is a count of persons).")
    nan = np.isnan(w)
    if nan.any():
        warnings.warn(
            f"`demand.{weight}` is empty in {int(nan.sum())} row(s); they count as 0 need.",
            UserWarning,
            stacklevel=3,
        )
        w = np.where(nan, 0.0, w)
    return w


def _capacities(
    frame: gpd.GeoDataFrame, capacity: str | float, label: str, *, allow_unknown: bool
) -> NDArray[np.float64]:
    if isinstance(capacity, str):
        if capacity not in frame.columns:
            if allow_unknown:
                return np.full(len(frame), np.nan)
            raise SocialMapError(
                f"`capacity` names column {capacity!r}, but `{label}` has no such column; found "
                f"{list(frame.columns)}. Give the column, or one number of places for every new site."
            )
        raw = frame[capacity]
        values = pd.to_numeric(raw, errors="coerce")
        if (raw.notna() & values.isna()).any():
            raise SocialMapError(f"`{label}.{capacity}` must hold numbers of places.")
        c = values.to_numpy(dtype=np.float64)
    else:
        c = np.full(len(frame), _positive(capacity, "capacity"))
    if np.isinf(c).any() or (c < 0).any():
        raise SocialMapError(f"`{label}` capacities must be finite and >= 0 (places); found {c[c < 0][:3]}.")
    if not allow_unknown and np.isnan(c).any():
        raise SocialMapError(
            f"`{label}.{capacity}` is empty in {int(np.isnan(c).sum())} row(s): a new site needs a "
            "capacity. Fill it in, or pass one number as `capacity`."
        )
    return c


# ----------------------------------------------------------------------------------------------------
# Sparse coverage and the exact reductions
# ----------------------------------------------------------------------------------------------------


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


# ----------------------------------------------------------------------------------------------------
# Uncapacitated MCLP on arrays
# ----------------------------------------------------------------------------------------------------


def _mclp_exact(a: sparse.csr_array, w: NDArray[np.float64], k: int, at_least: float) -> NDArray[np.intp]:
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
) -> NDArray[np.float64]:
    """
    Solve a mixed-integer program with HiGHS's branch and bound (:func:`scipy.optimize.milp`).

    Minimise ``cost @ v`` for ``0 <= v <= upper`` and ``row_low <= rows @ v <= row_up``, ``v`` integer
    where ``integer`` is 1; return ``v``.

    ``mip_rel_gap=0``: HiGHS otherwise stops within 0.01 % of the optimum, and ``"exact"`` promises the
    optimum itself. A time limit reached (:data:`EXACT_TIME_LIMIT_S`) or any status other than optimal
    is a :class:`~socialmap.errors.SocialMapError` that says what to do instead.
    """
    from scipy.optimize import Bounds, LinearConstraint, milp

    res = milp(
        cost,
        integrality=integer,
        bounds=Bounds(np.zeros(len(cost)), upper),
        constraints=LinearConstraint(rows, row_low, row_up),
        options={"time_limit": EXACT_TIME_LIMIT_S, "mip_rel_gap": 0.0, "disp": False},
    )
    if res.status == 1:
        raise SocialMapError(
            N_(
                "The exact placement was stopped after {seconds} s, before the best sites were proven. "
                "Choose the fast method (greedy, which reports how far from the best it can be), "
                "fewer candidate sites or a shorter reach."
            ),
            seconds=Number(EXACT_TIME_LIMIT_S, ",g"),
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


def solve_mclp(
    coverage: sparse.sparray | sparse.spmatrix | ArrayLike,
    weights: ArrayLike,
    *,
    k: int,
    covered: ArrayLike | None = None,
    solver: Solver = "auto",
    bound_iterations: int = 200,
) -> tuple[NDArray[np.intp], float, dict[str, Any]]:
    """
    Solve the maximal covering problem on arrays: choose ``k`` columns covering the most weight.

    Parameters
    ----------
    coverage
        ``(n, m)`` matrix, non-zero where site ``j`` covers demand ``i`` (sparse or dense).
    weights
        ``(n,)`` need of each demand point (extensive, >= 0).
    k
        Number of sites to choose (``1 <= k <= m``).
    covered
        ``(n,)`` booleans: demand already covered (by existing services); it adds nothing.
    solver
        ``"exact"`` (optimal: HiGHS through :func:`scipy.optimize.milp`, at most
        :data:`EXACT_TIME_LIMIT_S` seconds), ``"greedy"`` or ``"auto"`` (exact up to
        :data:`AUTO_MAX_PAIRS` pairs after the reductions, else greedy). ``"cbc"``: the older name of
        ``"exact"`` (the same solver; ``info["method"]`` is then ``"cbc"``).
    bound_iterations
        For greedy: subgradient steps of the Lagrangian bound on the optimum (0: skip it and report the
        submodular bounds only).

    Returns
    -------
    chosen, objective, info
        Positions of the chosen sites (in the order they add most), the weight they newly cover, and
        ``{"method", "bound", "bound_method", "gap_to_optimum", "added", "pairs"}``.

    Examples
    --------
    >>> chosen, value, info = solve_mclp([[1, 0], [1, 1], [0, 1]], [5, 1, 2], k=1, solver="exact")
    >>> chosen.tolist(), value, info["method"]
    ([0], 6.0, 'exact')
    """
    if solver not in SOLVERS:
        raise SocialMapError(f"`solver` must be one of {', '.join(SOLVERS)}; got {solver!r}.")
    a = sparse.csr_array(coverage, dtype=np.float64)
    a.sum_duplicates()
    a.sort_indices()
    n, m = a.shape
    w = np.asarray(weights, dtype=np.float64).reshape(-1)
    if len(w) != n:
        raise SocialMapError(f"`weights` has {len(w)} values but `coverage` has {n} rows.")
    if not np.isfinite(w).all() or (w < 0).any():
        raise SocialMapError("`weights` must be finite and >= 0.")
    kk = int(_positive(k, "k", integer=True))
    if kk > m:
        raise SocialMapError(f"`k`={kk} is more than the {m} candidate site(s); lower k or add candidates.")
    done = np.zeros(n, dtype=bool) if covered is None else np.asarray(covered, dtype=bool).reshape(-1)
    if len(done) != n:
        raise SocialMapError(f"`covered` has {len(done)} values but `coverage` has {n} rows.")
    red, rw = _reduce(a, np.where(done, 0.0, w))
    method = solver
    if solver == "auto":
        method = "exact" if red.nnz <= AUTO_MAX_PAIRS else "greedy"
    order, added, online = _greedy(red, rw, kk)
    info: dict[str, Any] = {"method": method, "pairs": int(red.nnz)}
    if method in _EXACT:
        chosen = _mclp_exact(red, rw, kk, float(added.sum())) if red.shape[0] else order
        order, added = _order(red, rw, chosen)
        value = float(added.sum())
        info.update(bound=value, bound_method=_OPTIMAL, gap_to_optimum=0.0)
    else:
        value = float(added.sum())
        bounds = {
            "submodular online bound (Minoux 1978)": online,
            "(1 - 1/e) guarantee of greedy": value / _E_BOUND,
        }
        if bound_iterations > 0:
            bounds["Lagrangian (LP) bound"] = _mclp_lagrangian_bound(red, rw, kk, value, bound_iterations)
        name = min(bounds, key=lambda b: bounds[b])
        bound = max(bounds[name], value)
        info.update(
            bound=bound, bound_method=name, gap_to_optimum=(bound - value) / bound if bound > 0 else 0.0
        )
    info["added"] = added
    return order, value, info


def _order(
    a: sparse.csr_array, w: NDArray[np.float64], chosen: NDArray[np.intp]
) -> tuple[NDArray[np.intp], NDArray[np.float64]]:
    """Order chosen sites greedily by the need each adds after the ones before it."""
    sub = a[:, chosen] if len(chosen) else a[:, :0]
    pos, added = _greedy(sparse.csr_array(sub), w, len(chosen))[:2]
    return chosen[pos], added


# ----------------------------------------------------------------------------------------------------
# Capacitated variant
# ----------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class _FlowModel:
    cand: sparse.csr_array  # groups × candidates coverage
    exist: sparse.csr_array  # groups × existing (known capacity > 0) coverage
    w: NDArray[np.float64]  # need per group
    c_cand: NDArray[np.float64]
    c_exist: NDArray[np.float64]
    group: NDArray[np.intp]  # group of each kept demand row
    keep: NDArray[np.intp]  # demand rows kept


def _flow_model(
    cand: sparse.csr_array,
    exist: sparse.csr_array,
    w: NDArray[np.float64],
    c_cand: NDArray[np.float64],
    c_exist: NDArray[np.float64],
) -> _FlowModel:
    useful = c_exist > 0
    exist = sparse.csr_array(exist[:, np.flatnonzero(useful)])
    c_exist = c_exist[useful]
    reach = np.diff(cand.indptr) + np.diff(exist.indptr)
    keep = np.flatnonzero((w > 0) & (reach > 0))
    sc, se = cand[keep], exist[keep]
    group, first = _merge_rows(sc, se)
    wg = np.bincount(group, weights=w[keep], minlength=len(first)).astype(np.float64)
    return _FlowModel(sc[first], se[first], wg, c_cand, c_exist, group, keep)


def _flow_lp(
    model: _FlowModel, open_capacity: NDArray[np.float64]
) -> tuple[float, NDArray[np.float64], NDArray[np.float64]]:
    """
    Solve the flow LP with HiGHS: the most need the sites can serve, candidates open with ``open_capacity``.

    Returns (served need, served need per group, flow through each candidate).
    """
    from scipy.optimize import linprog

    cand, exist = model.cand.tocoo(), model.exist.tocoo()
    g_count, m, e = len(model.w), model.cand.shape[1], model.exist.shape[1]
    if g_count == 0:
        return 0.0, np.zeros(0), np.zeros(m)
    # Only the open candidates' flows: a closed one's (capacity 0) are 0, and carrying them (most of the
    # grid's) made the LP many times larger.
    opened = np.flatnonzero(open_capacity > 0)
    column = np.full(m, -1, dtype=np.int64)
    column[opened] = np.arange(len(opened))
    sel = column[cand.col] >= 0
    c_row, c_col = cand.row[sel], cand.col[sel]
    pc, pe, mo = len(c_row), exist.nnz, len(opened)
    nvar = pc + pe
    ones_c, ones_e = np.ones(pc), np.ones(pe)
    rows = [
        # each group: its flows <= its need
        (c_row, np.arange(pc), ones_c),
        (exist.row, pc + np.arange(pe), ones_e),
        # each open candidate: its flows <= its capacity
        (g_count + column[c_col], np.arange(pc), ones_c),
        # each existing service: its flows <= its capacity
        (g_count + mo + exist.col, pc + np.arange(pe), ones_e),
    ]
    r, c, v = (np.concatenate(parts) for parts in zip(*rows, strict=True))
    a_ub = sparse.csr_array((v, (r, c)), shape=(g_count + mo + e, nvar))
    b_ub = np.r_[model.w, open_capacity[opened], model.c_exist]
    if nvar == 0:
        return 0.0, np.zeros(g_count), np.zeros(m)
    res = linprog(-np.ones(nvar), A_ub=a_ub, b_ub=b_ub, method="highs")
    if res.status != 0:  # pragma: no cover - the model is always feasible and bounded
        raise SocialMapError(f"The capacity model could not be solved ({res.message}).")
    f = np.asarray(res.x, dtype=np.float64)
    served = np.bincount(c_row, weights=f[:pc], minlength=g_count) + np.bincount(
        exist.row, weights=f[pc : pc + pe], minlength=g_count
    )
    through = np.bincount(c_col, weights=f[:pc], minlength=m)
    return float(-res.fun), served.astype(np.float64), through.astype(np.float64)


def _capacitated_exact(model: _FlowModel, k: int) -> NDArray[np.intp]:
    """
    Solve the capacity model exactly (:func:`_milp`) and return the chosen candidates.

    Variables ``[x_1..x_m, f (one per group–candidate pair), e (one per group–existing pair)]``, all
    rows built from the sparse coverage matrices: per group ``sum f + sum e <= w_g``; per candidate
    ``sum_g f_gj - c_j x_j <= 0``; per existing service ``sum_g e_ge <= c_e``; and ``sum_j x_j = k``.
    """
    cand, exist = model.cand.tocoo(), model.exist.tocoo()
    g_count, m, n_exist = len(model.w), model.cand.shape[1], model.exist.shape[1]
    pc, pe = cand.nnz, exist.nnz
    flow_c, flow_e = m + np.arange(pc), m + pc + np.arange(pe)
    parts = [
        (cand.row, flow_c, np.ones(pc)),  # each group: its flows <= its need
        (exist.row, flow_e, np.ones(pe)),
        (g_count + cand.col, flow_c, np.ones(pc)),  # each candidate: its flows <= c_j x_j
        (g_count + np.arange(m), np.arange(m), -model.c_cand),
        (g_count + m + exist.col, flow_e, np.ones(pe)),  # each existing service: flows <= c_e
        (np.full(m, g_count + m + n_exist), np.arange(m), np.ones(m)),  # sum x = k
    ]
    r, c, v = (np.concatenate(p) for p in zip(*parts, strict=True))
    nvar, nrow = m + pc + pe, g_count + m + n_exist + 1
    x = _milp(
        np.r_[np.zeros(m), -np.ones(pc + pe)],  # milp minimises
        integer=np.r_[np.ones(m), np.zeros(pc + pe)],
        upper=np.r_[np.ones(m), np.full(pc + pe, np.inf)],
        rows=sparse.csr_array((v.astype(np.float64), (r, c)), shape=(nrow, nvar)),
        row_low=np.r_[np.full(g_count + m + n_exist, -np.inf), float(k)],
        row_up=np.r_[model.w, np.zeros(m), model.c_exist, float(k)],
    )
    return np.flatnonzero(x[:m] > 0.5)


def _knapsack_fill(
    csc: sparse.csc_array, value: NDArray[np.float64], need: NDArray[np.float64], cap: NDArray[np.float64]
) -> tuple[NDArray[np.float64], NDArray[np.float64]]:
    """
    Fill every site's capacity with the demand it reaches, most valuable first (a fractional knapsack).

    Returns each site's value ``max sum_g value_g f_g`` (``0 <= f_g <= need_g``, ``sum_g f_g <= cap``) and
    the amount ``f`` of every entry of ``csc`` (same order as ``csc.indices``).
    """
    cols = np.repeat(np.arange(csc.shape[1]), np.diff(csc.indptr))
    rows = csc.indices
    v = np.maximum(value[rows], 0.0)
    order = np.lexsort((-v, cols))
    w_sorted = np.where(v[order] > 0, need[rows[order]], 0.0)
    cum = np.cumsum(w_sorted)
    start = np.r_[0.0, cum][csc.indptr[:-1]][cols[order]]  # cumulative need before each column
    before = cum - w_sorted - start
    take = np.clip(np.minimum(w_sorted, cap[cols[order]] - before), 0.0, None)
    amount = np.empty_like(take)
    amount[order] = take
    site_value = np.bincount(cols, weights=amount * v, minlength=csc.shape[1]).astype(np.float64)
    return site_value, amount


def _capacitated_lagrangian_bound(model: _FlowModel, k: int, lower: float, iterations: int) -> float:
    """
    Lagrangian upper bound on the most need existing + ``k`` new sites can serve.

    Relaxing each demand group's ``sum_j f_gj <= w_g`` with a multiplier ``0 <= mu_g <= 1`` (and keeping
    ``f_gj <= w_g x_j``) leaves every site to fill its capacity with the demand it reaches, largest
    ``1 - mu_g`` first::

        L(mu) = sum_g mu_g w_g + sum_e V_e(mu) + (the k largest V_j(mu)),
        V_j(mu) = max sum_g (1 - mu_g) f_gj  over 0 <= f_gj <= w_g, sum_g f_gj <= c_j

    an upper bound for every ``mu``, whose minimum is the LP relaxation of the model with the
    ``f_gj <= w_g x_j`` constraints; Polyak subgradient steps towards ``lower``.
    """
    g_count = len(model.w)
    if g_count == 0:
        return 0.0
    cand, exist = model.cand.tocsc(), model.exist.tocsc()
    cand_rows = cand.indices
    cand_cols = np.repeat(np.arange(cand.shape[1]), np.diff(cand.indptr))

    def evaluate(mu: NDArray[np.float64]) -> tuple[float, NDArray[np.float64]]:
        gain = 1.0 - mu
        vc, fc = _knapsack_fill(cand, gain, model.w, model.c_cand)
        ve, fe = _knapsack_fill(exist, gain, model.w, model.c_exist)
        total, top = _top_k_sum(vc, k) if len(vc) else (0.0, np.zeros(0, dtype=np.intp))
        value = float(mu @ model.w) + float(ve.sum()) + total
        opened = np.zeros(cand.shape[1], dtype=bool)
        opened[top] = True
        served = np.bincount(cand_rows, weights=fc * opened[cand_cols], minlength=g_count)
        served += np.bincount(exist.indices, weights=fe, minlength=g_count)
        return value, model.w - served  # dL/dmu

    mu = np.zeros(g_count)
    best, theta, stall = math.inf, 2.0, 0
    for _ in range(max(iterations, 1)):
        value, sub = evaluate(mu)
        if value < best:
            best, stall = value, 0
        else:
            stall += 1
            if stall >= 10:
                theta, stall = theta / 2, 0
        step = _projected(sub, mu, 0.0, 1.0)
        norm = float(step @ step)
        if norm == 0 or theta < 1e-6 or best - lower <= 1e-9 * max(1.0, abs(lower)):
            break
        mu = np.clip(mu - theta * (value - lower) / norm * step, 0.0, 1.0)
    return best


def _capacitated_greedy(model: _FlowModel, residual: NDArray[np.float64], k: int) -> NDArray[np.intp]:
    """
    Greedy heuristic: open the site with the largest min(capacity, unserved need within reach).

    Ties (e.g. every site full) go to the site reaching the most unserved need.
    """
    csc = model.cand.tocsc()
    r = residual.copy()
    available = np.ones(model.cand.shape[1], dtype=bool)
    chosen = []
    for _ in range(k):
        reach = np.asarray(model.cand.T @ r, dtype=np.float64)
        gains = np.where(available, np.minimum(model.c_cand, reach), -np.inf)
        j = int(np.lexsort((-reach, -gains))[0])
        chosen.append(j)
        available[j] = False
        rows = csc.indices[csc.indptr[j] : csc.indptr[j + 1]]
        if reach[j] > 0:
            r[rows] *= 1.0 - min(1.0, gains[j] / reach[j])
    return np.asarray(chosen, dtype=np.intp)


# ----------------------------------------------------------------------------------------------------
# GeoDataFrame entry point
# ----------------------------------------------------------------------------------------------------


def maximal_covering(
    demand: gpd.GeoDataFrame,
    candidates: gpd.GeoDataFrame,
    *,
    radius_m: float | None = None,
    k: int,
    existing: gpd.GeoDataFrame | None = None,
    weight: str = "need",
    capacity: str | float | None = None,
    solver: Solver = "auto",
    network: Any = None,
    catchment_min: float | None = None,
) -> Placement:
    """
    Choose ``k`` candidate sites that bring the most uncovered need within ``radius_m`` of a service.

    Parameters
    ----------
    demand
        Demand points with an extensive ``weight`` column (persons in need), metric CRS.
    candidates
        Points where a new service could open (same CRS); see :func:`candidates_from_areas` and
        :func:`candidates_from_grid`, or give your own.
    radius_m
        Coverage radius in metres (inclusive).
    k
        Number of new sites (at least 1, at most the number of candidates).
    existing
        Services already open (points, same CRS). Need within their reach counts as covered.
    weight
        Column of ``demand`` holding the need.
    capacity
        ``None``: coverage only. A column of ``candidates`` or one number (places per new site): the
        capacitated model (see the module notes); existing services then count with their
        ``capacity`` column (unknown capacity = no places, with a warning).
    solver
        ``"exact"`` (optimal; HiGHS's branch and bound, at most :data:`EXACT_TIME_LIMIT_S` seconds, then
        a :class:`~socialmap.errors.SocialMapError`), ``"greedy"`` (fast, with a bound on its gap) or
        ``"auto"`` (exact up to :data:`AUTO_MAX_PAIRS` demand–candidate pairs after the reductions,
        :data:`AUTO_MAX_PAIRS_CAPACITATED` with capacities; greedy above; ``notes`` says which).
        ``"cbc"`` is the older name of ``"exact"``: the same solver, and ``method`` reads ``"cbc"``.
    network, catchment_min
        A road graph (:class:`socialmap.network.RoadGraph`) and a catchment in minutes: coverage is then
        travel time on the roads (as in ``analyze(..., network=...)``) instead of ``radius_m``.

    Returns
    -------
    placement
        A :class:`Placement`.

    Raises
    ------
    CRSError
        Missing, different or non-metric CRSs.
    SocialMapError
        Non-point geometries, a missing or invalid ``weight`` / ``capacity``, ``k`` out of range, an
        unknown solver.

    Examples
    --------
    >>> import geopandas as gpd
    >>> crs = "EPSG:32634"
    >>> demand = gpd.GeoDataFrame({"need": [10, 20, 5]},
    ...     geometry=gpd.points_from_xy([0, 5000, 20000], [0, 0, 0]), crs=crs)
    >>> sites = gpd.GeoDataFrame({"site": ["a", "b"]},
    ...     geometry=gpd.points_from_xy([2000, 19000], [0, 0]), crs=crs)
    >>> p = maximal_covering(demand, sites, radius_m=3000, k=1, solver="exact")
    >>> p.chosen["site"].tolist(), p.covered_need, p.method
    (['a'], 30.0, 'exact')
    """
    dem = _check_frame(demand, "demand")
    cand = _check_frame(candidates, "candidates")
    frames = [dem, cand] + ([_check_frame(existing, "existing")] if existing is not None else [])
    require_metric_crs(*frames, names=("demand", "candidates", "existing")[: len(frames)])
    if network is not None:
        t0 = _positive(
            settings.default_catchment_min if catchment_min is None else catchment_min, "catchment_min"
        )
        r = math.nan
        reach: dict[str, Any] = {"network": network, "catchment_min": t0, "crs": dem.crs}
    else:
        if radius_m is None:
            raise SocialMapError(
                "maximal_covering() needs `radius_m` (metres), or `network` and `catchment_min`."
            )
        r = _positive(radius_m, "radius_m")
        reach = {"radius_m": r}
    kk = int(_positive(k, "k", integer=True))
    if solver not in SOLVERS:
        raise SocialMapError(f"`solver` must be one of {', '.join(SOLVERS)}; got {solver!r}.")
    if kk > len(cand):
        raise SocialMapError(
            f"`k`={kk} is more than the {len(cand)} candidate site(s); lower k or add candidates."
        )
    w = _need(dem, weight)
    dxy, cxy = _point_xy(dem, "demand"), _point_xy(cand, "candidates")
    exist = existing if existing is not None else gpd.GeoDataFrame(geometry=[], crs=dem.crs)
    exy = _point_xy(exist, "existing")
    a_cand = coverage_matrix(dxy, cxy, **reach)
    a_exist = coverage_matrix(dxy, exy, **reach)
    notes: list[str] = []
    if capacity is None:
        out = _uncapacitated(dem, cand, w, a_cand, a_exist, r, kk, solver, notes)
        return replace(out, catchment_min=reach.get("catchment_min"))
    c_cand = _capacities(cand, capacity, "candidates", allow_unknown=False)
    c_exist = _capacities(exist, "capacity", "existing", allow_unknown=True)
    unknown = int(np.isnan(c_exist).sum())
    if unknown:
        msg = (
            f"{unknown} of {len(exist)} existing service(s) have unknown capacity; they add no places "
            "in the capacity model (as in the pipeline's 2SFCA)."
        )
        warnings.warn(msg, UserWarning, stacklevel=2)
        notes.append(msg)
    out = _capacitated(dem, cand, w, a_cand, a_exist, c_cand, np.nan_to_num(c_exist), r, kk, solver, notes)
    return replace(out, catchment_min=reach.get("catchment_min"))


def _demand_out(
    dem: gpd.GeoDataFrame, before: NDArray[np.float64], after: NDArray[np.float64]
) -> gpd.GeoDataFrame:
    out = dem.copy()
    out["need_reached_before"] = before
    out["need_reached_after"] = after
    return out


def _uncapacitated(
    dem: gpd.GeoDataFrame,
    cand: gpd.GeoDataFrame,
    w: NDArray[np.float64],
    a_cand: sparse.csr_array,
    a_exist: sparse.csr_array,
    r: float,
    k: int,
    solver: Solver,
    notes: list[str],
) -> Placement:
    covered_before = np.diff(a_exist.indptr) > 0
    order, objective, info = solve_mclp(a_cand, w, k=k, covered=covered_before, solver=solver)
    if solver == "auto":
        notes.append(
            f"solver 'auto' chose {info['method']} ({info['pairs']:,} demand–candidate pairs after "
            f"reductions; exact up to {AUTO_MAX_PAIRS:,})."
        )
    sub = a_cand[:, order] if len(order) else a_cand[:, :0]
    covered_after = covered_before | (np.diff(sparse.csr_array(sub).indptr) > 0)
    check = float(w[covered_after & ~covered_before].sum())
    if not math.isclose(check, objective, rel_tol=1e-9, abs_tol=1e-6):  # pragma: no cover - invariant
        raise AssertionError(f"placement objective {objective} != recomputed {check}")
    uncovered = np.where(covered_before, 0.0, w)
    chosen = cand.iloc[order].copy()
    chosen["order"] = np.arange(1, len(order) + 1)
    chosen["reachable_need"] = np.asarray(sub.T @ uncovered, dtype=np.float64) if len(order) else []
    chosen["added_need"] = info["added"]
    existing_need = float(w[covered_before].sum())
    logger.info("maximal_covering: %s, k=%d, objective %.1f", info["method"], k, objective)
    return Placement(
        chosen=chosen,
        objective=check,
        covered_need=existing_need + check,
        existing_need=existing_need,
        total_need=float(w.sum()),
        method=info["method"],
        bound=float(info["bound"]),
        bound_method=info["bound_method"],
        gap_to_optimum=float(info["gap_to_optimum"]),
        demand=_demand_out(dem, w * covered_before, w * covered_after),
        radius_m=r,
        k=k,
        capacitated=False,
        notes=tuple(notes),
    )


def _capacitated(
    dem: gpd.GeoDataFrame,
    cand: gpd.GeoDataFrame,
    w: NDArray[np.float64],
    a_cand: sparse.csr_array,
    a_exist: sparse.csr_array,
    c_cand: NDArray[np.float64],
    c_exist: NDArray[np.float64],
    r: float,
    k: int,
    solver: Solver,
    notes: list[str],
) -> Placement:
    model = _flow_model(a_cand, a_exist, w, c_cand, c_exist)
    m = len(c_cand)
    base, base_served, _ = _flow_lp(model, np.zeros(m))
    method = solver
    if solver == "auto":
        pairs = model.cand.nnz + model.exist.nnz
        method = "exact" if pairs <= AUTO_MAX_PAIRS_CAPACITATED else "greedy"
        notes.append(
            f"solver 'auto' chose {method} ({pairs:,} demand–site pairs after reductions; exact up to "
            f"{AUTO_MAX_PAIRS_CAPACITATED:,} with capacities)."
        )
    if method in _EXACT:
        chosen = _capacitated_exact(model, k) if len(model.w) else np.arange(k)
    else:
        chosen = _capacitated_greedy(model, model.w - base_served, k)
    open_cap = np.zeros(m)
    open_cap[chosen] = c_cand[chosen]
    total, served, through = _flow_lp(model, open_cap)
    objective = max(total - base, 0.0)
    if method in _EXACT:
        bound, bound_method, gap = objective, _OPTIMAL, 0.0
    else:
        relaxed = _capacitated_lagrangian_bound(model, k, total, 200) - base
        bound = max(relaxed, objective)
        bound_method = "Lagrangian (LP) bound"
        gap = (bound - objective) / bound if bound > 0 else 0.0
    order = chosen[np.argsort(-through[chosen], kind="stable")]
    out = cand.iloc[order].copy()
    out["order"] = np.arange(1, len(order) + 1)
    residual = model.w - base_served
    reach = np.asarray(model.cand.T @ residual, dtype=np.float64) if len(model.w) else np.zeros(m)
    out["reachable_need"] = reach[order]
    out["served_need"] = through[order]
    out["capacity"] = c_cand[order]

    def per_point(group_served: NDArray[np.float64]) -> NDArray[np.float64]:
        # a merged group's served need is shared among its points in proportion to their need (exact:
        # the points have the same sites within reach).
        values = np.zeros(len(w))
        if len(model.keep):
            share = np.divide(group_served, model.w, out=np.zeros_like(model.w), where=model.w > 0)
            values[model.keep] = w[model.keep] * share[model.group]
        return values

    logger.info("maximal_covering (capacitated): %s, k=%d, objective %.1f", method, k, objective)
    return Placement(
        chosen=out,
        objective=objective,
        covered_need=base + objective,
        existing_need=base,
        total_need=float(w.sum()),
        method=method,
        bound=bound,
        bound_method=bound_method,
        gap_to_optimum=gap,
        demand=_demand_out(dem, per_point(base_served), per_point(served)),
        radius_m=r,
        k=k,
        capacitated=True,
        notes=tuple(notes),
    )


# ----------------------------------------------------------------------------------------------------
# Candidate generators and the pipeline shortcut
# ----------------------------------------------------------------------------------------------------


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


def place_services(
    result: Result,
    service_type: str,
    *,
    k: int,
    candidates: gpd.GeoDataFrame | Literal["areas", "grid"] = "areas",
    cell_size_m: float = 2000.0,
    radius_m: float | None = None,
    capacity: str | float | None = None,
    solver: Solver = "auto",
    catchment_min: float | None = None,
) -> Placement:
    """
    Place ``k`` new services of one type on an analysis result: its demand, services and catchment.

    A result computed on a road network (``analyze(..., network=...)``) places by the same travel times.

    Parameters
    ----------
    result
        A :class:`socialmap.pipeline.Result` (its ``demand`` gives the need per demand point; use
        ``spreading="grid"`` for a finer picture than one point per area).
    service_type
        The service type to place.
    k
        Number of new sites.
    candidates
        ``"areas"`` (one per area, :func:`candidates_from_areas`), ``"grid"``
        (:func:`candidates_from_grid` with ``cell_size_m``) or your own points (converted to the
        result's CRS).
    cell_size_m
        Grid cell for ``candidates="grid"``.
    radius_m
        Coverage radius; default the catchment the analysis used for this type.
    catchment_min
        With a result on a road network: coverage catchment in minutes; default the analysis's.
    capacity
        Places per new site (a number or a column of ``candidates``) for the capacitated model;
        ``None`` for coverage only.
    solver
        As in :func:`maximal_covering`.

    Returns
    -------
    placement
        A :class:`Placement`; ``chosen`` carries ``area_id`` (and ``name``) of the area each site is in.
        For a service type of a sensitive group whose small counts are hidden
        (:mod:`socialmap.privacy`), the sites are chosen on the need an outsider can know
        (:func:`socialmap.privacy.public_demand`: hidden areas share the hidden remainder equally), and
        the figures that would give a hidden count back are hidden
        (:func:`socialmap.privacy.protect_placement`).
    """
    from socialmap.privacy import protect, protect_placement, public_demand, resolve_taxonomy
    from socialmap.privacy import sensitive_service_types as _sensitive

    table = result.for_service_type(service_type)  # raises for an unknown / unanalysed type
    protected = None
    if service_type in _sensitive(resolve_taxonomy(result)):
        protected = protect(result)
        demand = public_demand(result, service_type, protected)
    else:
        demand = result.demand[result.demand["service_type"] == service_type]
    if not demand.empty and demand["need"].isna().all() and "target_size" in demand.columns:
        # Need unknown but its target group known (scored on relative measures): need is the group
        # times an unknown constant share, so the sites that reach the most of the group are the same.
        # The placement's figures are then persons of the target group, not of need.
        demand = demand.assign(need=demand["target_size"])
    if demand.empty or demand["need"].isna().all():
        raise SocialMapError(
            f"No need is known for {service_type!r} (see the result's notes), so there is nothing to place."
        )
    demand = demand.reset_index(drop=True)
    existing = result.services[result.services["service_type"] == service_type].reset_index(drop=True)
    graph = getattr(result, "network", None)
    reach: dict[str, Any]
    if graph is not None and radius_m is None:
        minutes = float(table["catchment_min"].iloc[0]) if catchment_min is None else catchment_min
        reach = {"network": graph, "catchment_min": minutes}
    else:
        reach = {"radius_m": float(table["catchment_m"].iloc[0]) if radius_m is None else radius_m}
    areas = result.areas[[c for c in ("area_id", "name", "geometry") if c in result.areas.columns]]
    if isinstance(candidates, str):
        if candidates == "areas":
            cand = candidates_from_areas(areas)
        elif candidates == "grid":
            cand = candidates_from_grid(areas, cell_size_m=cell_size_m)
        else:
            raise SocialMapError(
                f"`candidates` must be 'areas', 'grid' or a GeoDataFrame of points; got {candidates!r}."
            )
    else:
        cand = _check_frame(candidates, "candidates")
        if cand.crs is None:
            require_metric_crs(cand, names=("candidates",))
        cand = cand.to_crs(result.areas.crs)
        joined = gpd.sjoin(
            cand[["geometry"]], areas[["area_id", "geometry"]], how="left", predicate="intersects"
        )
        if "area_id" not in cand.columns:
            cand = cand.assign(area_id=joined[~joined.index.duplicated()]["area_id"].reindex(cand.index))
    placement = maximal_covering(
        demand, cand, k=k, existing=existing, capacity=capacity, solver=solver, **reach
    )
    if "name" in areas.columns and "area_name" not in placement.chosen.columns:
        chosen = placement.chosen.copy()
        chosen["area_name"] = chosen["area_id"].map(dict(zip(areas["area_id"], areas["name"], strict=True)))
        placement = replace(placement, chosen=chosen)
    if protected is not None:
        placement = protect_placement(placement, result, service_type, protected)
    return placement
