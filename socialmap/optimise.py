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

import logging
import math
import warnings
from dataclasses import dataclass, field, replace
from typing import TYPE_CHECKING, Any, Literal

import geopandas as gpd
import numpy as np
from numpy.typing import ArrayLike, NDArray
from scipy import sparse

from socialmap import settings
from socialmap.crs import require_metric_crs
from socialmap.errors import SocialMapError

if TYPE_CHECKING:
    from socialmap.pipeline import Result

# Solvers on arrays: _optimise_mclp (coverage, reductions, MILP, greedy, bound), _optimise_flow (capacities);
# the inputs' checks: _optimise_inputs; the candidate sites: _optimise_candidates. This module holds the
# tunable limits and passes them down to them.
from socialmap._optimise_candidates import candidates_from_areas, candidates_from_grid
from socialmap._optimise_flow import (
    _capacitated_exact,
    _capacitated_greedy,
    _capacitated_lagrangian_bound,
    _flow_lp,
    _flow_model,
)
from socialmap._optimise_inputs import _capacities, _check_frame, _need, _point_xy, _positive
from socialmap._optimise_mclp import (  # noqa: F401 - re-exported
    _E_BOUND,
    _greedy,
    _mclp_exact,
    _mclp_lagrangian_bound,
    _order,
    _reduce,
    coverage_matrix,
)

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
# Uncapacitated MCLP on arrays
# ----------------------------------------------------------------------------------------------------


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
        chosen = _mclp_exact(red, rw, kk, float(added.sum()), EXACT_TIME_LIMIT_S) if red.shape[0] else order
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
        chosen = _capacitated_exact(model, k, EXACT_TIME_LIMIT_S) if len(model.w) else np.arange(k)
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
# The pipeline shortcut (the candidate generators are in socialmap._optimise_candidates)
# ----------------------------------------------------------------------------------------------------


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
