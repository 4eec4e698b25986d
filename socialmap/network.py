"""
Travel time on a road network: road graphs from OpenStreetMap, snapping, and 2SFCA catchments in minutes.

A :class:`RoadGraph` is a compact directed graph: junction coordinates in a metric CRS and the edges in CSR
arrays (``indptr``, ``indices``) with a travel time in minutes per edge. It comes from an OpenStreetMap
extract (:func:`read_osm`, ``.osm.pbf`` or ``.osm`` read with GDAL's OSM driver through pyogrio), or from any
road layer with a speed or time column (:func:`from_edges`), and is kept with :func:`save` / :func:`load` so a
national graph is parsed once.

How a graph is built
--------------------
* Ways are cut at every vertex they share with another way (in OpenStreetMap, roads that meet share a node,
  which GDAL gives as exactly the same coordinates; a bridge over a road shares none, and is no junction).
* **Long edges are split** so that snapping is honest: segments are first divided so none is longer than
  ``max_edge_m`` (``shapely.segmentize``), and a way keeps a vertex each time the length along it passes a
  multiple of ``max_edge_m``. Every point of a road is then within ``max_edge_m`` (along the road) of a graph
  node, so a house in the middle of a 5 km rural road is not snapped to a junction 2.5 km away.
* Edge times are ``length / speed``; parallel edges keep the fastest; self-loops are dropped.
* Only the **largest strongly connected component** is kept (every node can reach every other): a fragment
  cut off by a one-way error or an unconnected private road would otherwise make some places unreachable
  for reasons that have nothing to do with the roads people use. The number of nodes dropped is in the
  provenance.

Speeds
------
Driving uses :data:`DRIVE_SPEEDS_KMH`, the speeds by ``highway`` class of the car profile of the Open Source
Routing Machine (OSRM, osrm-backend ``profiles/car.lua``, version 5). Where a way has a numeric ``maxspeed``
(``50``, ``50 km/h``, ``30 mph``) its speed is ``maxspeed x`` :data:`MAXSPEED_FACTOR` (0.8: OSRM's car profile
uses 4/5 of the posted limit, osrm-backend ``features/car/maxspeed.feature``). ``oneway=yes/1/true``,
``oneway=-1``, ``junction=roundabout/circular`` and ``highway=motorway`` give one-way edges, as in OSRM.
Walking uses one speed, :data:`WALK_SPEED_KMH` (5 km/h, OSRM's ``profiles/foot.lua``), on every way of
:data:`WALK_HIGHWAYS` in both directions. All of these can be overridden (``speeds=``, ``walk_speed_kmh=``,
``maxspeed=False``, ``maxspeed_factor=``), and what was used is recorded in :attr:`RoadGraph.provenance`.
They are modelling choices: free-flow speeds with no congestion, no turn costs and no waiting at lights.

Snapping
--------
Each demand point and each service joins its nearest graph node (:func:`snap`); the straight-line distance
to it is counted at walking speed (as R5 and AccessMod do), at both ends of a trip. A point farther than
``max_snap_m`` (``settings.default_max_snap_m``) from every node is **off the network**: it is reported
(``off_network`` masks of :class:`Snap` and :class:`NetworkFCAResult`, and the notes of
:func:`socialmap.analyze`), never silently snapped, and reaches nothing.

Routing and the 2SFCA family
----------------------------
The travel time from demand point ``i`` to service ``j`` is ``walk_i + T(v_i -> u_j) + walk_j`` where
``T`` is the shortest time on the graph from ``i``'s node to ``j``'s. Times *to* a service are found by a
bounded Dijkstra search *from* it on the reversed graph (``scipy.sparse.csgraph.dijkstra`` with
``indices=`` and ``limit=``: only nodes within the catchment are settled), one search per distinct service
node, in batches. Each search's reached nodes are expanded to the demand points snapped to them and streamed
straight into both steps of 2SFCA: ``R_j = c_j / sum_i w(t_ij) n_i`` depends on service ``j``'s own catchment
only, so it is known as soon as ``j``'s search is done and its contribution ``w(t_ij) R_j`` to every
``A_i`` is added at once. Memory is bounded by one batch: the demand-service pairs are never all held. The
weights (:func:`socialmap.access.step_weights`, ``gaussian_weights``, ``gravity_weights``) take minutes
here. :func:`travel_time_pairs` lists the pairs for small cases and tests; the results equal
:func:`socialmap.access.fca_from_pairs` on those pairs. :func:`nearest_time` finds the nearest service of
every point from one search from all services at once.
"""

from __future__ import annotations

import logging
import math
import numbers
import warnings
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import numpy as np
from numpy.typing import ArrayLike, NDArray

from socialmap import settings

# The graph and snapping live in socialmap._network_graph, reading roads (OpenStreetMap, any road layer) in
# socialmap._network_read; this module routes on the graph (the streaming core, fca, coverage, travel times).
# Their public names are importable from here, as they always were.
from socialmap._network_graph import (  # noqa: F401 - re-exported
    COST_LABELS,
    DRIVE_SPEEDS_KMH,
    MAX_EDGE_M,
    MAXSPEED_FACTOR,
    MODES,
    SPEED_SOURCES,
    WALK_HIGHWAYS,
    WALK_SPEED_KMH,
    Mode,
    RoadGraph,
    Snap,
    _check_snap,
    load,
    save,
    snap,
)
from socialmap._network_read import from_edges, read, read_osm  # noqa: F401 - re-exported
from socialmap.access import FCAResult, WeightFunction, _check_arrays, _ratio, _vectorised
from socialmap.errors import SocialMapError

logger = logging.getLogger(__name__)

__all__ = [
    "COST_LABELS",
    "DRIVE_SPEEDS_KMH",
    "MAXSPEED_FACTOR",
    "MODES",
    "SPEED_SOURCES",
    "WALK_HIGHWAYS",
    "WALK_SPEED_KMH",
    "NetworkFCAResult",
    "RoadGraph",
    "Snap",
    "coverage",
    "fca",
    "fca_network",
    "from_edges",
    "load",
    "nearest_time",
    "read_osm",
    "save",
    "snap",
    "travel_time_pairs",
]


# Searches per call of scipy's dijkstra: it returns dense rows (one float per node each), and small batches
# stay in cache (measured faster per search than batches of 32 or more on a 300,000-node graph).
_BATCH = 8
# Pairs gathered before they are added into the per-point sums with one bincount.
_FLUSH_PAIRS = 4_000_000


# ----------------------------------------------------------------------------------------------------
# Routing: the streaming core
# ----------------------------------------------------------------------------------------------------


@dataclass(frozen=True, eq=False)
class _Prepared:
    """Demand grouped by node and services grouped by node, ready for batches of searches."""

    n: int  # demand points
    m: int  # services
    t0: float  # catchment, minutes
    cells: NDArray[np.intp]  # demand positions (input order) that can reach something, by node then walk
    cnode: NDArray[np.int64]  # node of `cells`
    ptr: NDArray[np.int64]  # per graph node, the range of `cells` snapped to it
    coff: NDArray[np.float64]  # walk minutes of `cells` (ascending within a node)
    cneed: NDArray[np.float64] | None  # need of `cells`
    node_need: NDArray[np.float64] | None  # per graph node, the need of its cells (summed in order)
    src: NDArray[np.int64]  # distinct service nodes, one search each
    sptr: NDArray[np.int64]  # per distinct node, the range of `svc`
    svc: NDArray[np.intp]  # service positions sorted by node
    soff: NDArray[np.float64]  # walk minutes per service (input order)
    capacity: NDArray[np.float64] | None  # per service (input order)
    min_coff: float

    @property
    def n_sources(self) -> int:
        return len(self.src)


def _prepare(
    graph: RoadGraph,
    dsnap: Snap,
    need: NDArray[np.float64] | None,
    ssnap: Snap,
    capacity: NDArray[np.float64] | None,
    t0: float,
) -> _Prepared:
    dn = dsnap.node
    cells = np.flatnonzero((dn >= 0) & (dsnap.minutes <= t0))
    cells = cells[np.lexsort((dsnap.minutes[cells], dn[cells]))]
    cnode = dn[cells]
    ptr = np.searchsorted(cnode, np.arange(graph.n_nodes + 1)).astype(np.int64)
    coff = dsnap.minutes[cells]
    cneed = None if need is None else need[cells]
    node_need = None
    if cneed is not None:
        node_need = np.zeros(graph.n_nodes)
        has = np.flatnonzero(ptr[1:] > ptr[:-1])
        if len(has):
            node_need[has] = np.add.reduceat(cneed, ptr[has])
    sn = ssnap.node
    svc = np.flatnonzero((sn >= 0) & (ssnap.minutes <= t0))
    svc = svc[np.argsort(sn[svc], kind="stable")]
    src, start = np.unique(sn[svc], return_index=True)
    sptr = np.r_[start, len(svc)].astype(np.int64)
    return _Prepared(
        n=len(dn),
        m=len(sn),
        t0=t0,
        cells=cells,
        cnode=cnode,
        ptr=ptr,
        coff=coff,
        cneed=cneed,
        node_need=node_need,
        src=src.astype(np.int64),
        sptr=sptr,
        svc=svc,
        soff=ssnap.minutes,
        capacity=capacity,
        min_coff=float(coff.min()) if len(coff) else 0.0,
    )


@dataclass(frozen=True)
class _Reach:
    """What one service reaches: the graph nodes with demand, their time and their range of cells."""

    j: int  # the service
    nodes: NDArray[np.intp]  # reached nodes that have demand
    time: NDArray[np.float64]  # minutes from each node to the service's node (no walks)
    lo: NDArray[np.int64]  # first cell of each node (position in prep.cells)
    cnt: NDArray[np.int64]  # number of cells of each node
    soff: float  # walk minutes from the service's node to the service


def _reaches(prep: _Prepared, rev: Any, k0: int, k1: int, batch: int) -> Iterator[_Reach]:
    """Search from the distinct service nodes ``k0:k1``, ``batch`` at a time; a :class:`_Reach` a service."""
    from scipy.sparse.csgraph import dijkstra

    if len(prep.cells) == 0:
        return
    for b0 in range(k0, k1, batch):
        b1 = min(b0 + batch, k1)
        soff_min = float(prep.soff[prep.svc[prep.sptr[b0] : prep.sptr[b1]]].min())
        lim = prep.t0 - prep.min_coff - soff_min
        if lim < 0:
            continue
        lim = lim * (1 + 1e-9) + 1e-9  # never cut a pair that the exact tests keep
        rows = dijkstra(rev, directed=True, indices=prep.src[b0:b1], limit=lim)
        for r, k in enumerate(range(b0, b1)):
            row = rows[r]
            reach = np.flatnonzero(row <= lim)
            lo = prep.ptr[reach]
            cnt = prep.ptr[reach + 1] - lo
            has = cnt > 0
            reach, lo, cnt = reach[has], lo[has], cnt[has]
            if len(reach) == 0:
                continue
            time = row[reach]
            for j in prep.svc[prep.sptr[k] : prep.sptr[k + 1]]:
                yield _Reach(int(j), reach, time, lo, cnt, float(prep.soff[j]))


def _expand(lo: NDArray[np.int64], cnt: NDArray[np.int64]) -> NDArray[np.intp]:
    """Concatenate the ranges ``lo[k] : lo[k] + cnt[k]``."""
    total = int(cnt.sum())
    ends = np.cumsum(cnt)
    return np.arange(total, dtype=np.intp) + np.repeat(lo - (ends - cnt), cnt)


def _pairs(prep: _Prepared, reach: _Reach, bound: float) -> tuple[NDArray[np.intp], NDArray[np.float64]]:
    """Cells (positions in ``prep.cells``) within ``bound`` minutes of the service, and their times."""
    pos = _expand(reach.lo, reach.cnt)
    mins = (np.repeat(reach.time, reach.cnt) + prep.coff[pos]) + reach.soff
    keep = mins <= bound
    return pos[keep], mins[keep]


def _levels(weight: Any, t0: float) -> list[tuple[float, float]] | None:
    """
    Write plain or step weights as a sum of indicators: ``w(t) = sum(delta for bound, delta if t <= bound)``.

    For ``t <= t0``. ``None`` for other weight functions (computed per pair).
    """
    from socialmap.access import StepWeights

    if weight is None:
        return [(t0, 1.0)]
    if not isinstance(weight, StepWeights):
        return None
    inside = weight.bounds_m < t0
    bounds = [*weight.bounds_m[inside].tolist(), t0]
    values = [*weight.values[inside].tolist(), float(weight(t0))]
    nxt = [*values[1:], 0.0]
    return [(b, v - w) for b, v, w in zip(bounds, values, nxt, strict=True) if v != w]


def _split(prep: _Prepared, reach: _Reach, bound: float) -> tuple[NDArray[np.bool_], NDArray[np.bool_]]:
    """
    Nodes whose every cell is within ``bound`` (``full``) and nodes with only some of them (``part``).

    Exact: walks within a node ascend, and rounding is monotonic, so if the slowest cell of a node is in,
    all are, and if the fastest is out, all are.
    """
    slow = (reach.time + prep.coff[reach.lo + reach.cnt - 1]) + reach.soff
    fast = (reach.time + prep.coff[reach.lo]) + reach.soff
    full = slow <= bound
    return full, ~full & (fast <= bound)


def _weights(weight: Any, t: NDArray[np.float64]) -> NDArray[np.float64]:
    if weight is None:
        return np.ones(len(t))
    w = np.asarray(weight(t), dtype=np.float64)
    if not (np.isfinite(w).all() and (w >= 0).all()):
        raise SocialMapError("The weight function returned a value that is not finite and >= 0.")
    return w


class _Sums:
    """Per-node and per-cell sums of many small additions, gathered and added with one bincount a batch."""

    def __init__(self, n_nodes: int, n_cells: int) -> None:
        self.node = np.zeros(n_nodes)
        self.cell = np.zeros(n_cells)
        self._n: list[tuple[NDArray[np.intp], NDArray[np.float64] | float]] = []
        self._c: list[tuple[NDArray[np.intp], NDArray[np.float64] | float]] = []
        self.held = 0

    def add_nodes(self, idx: NDArray[np.intp], value: NDArray[np.float64] | float) -> None:
        if len(idx):
            self._n.append((idx, value))
            self.held += len(idx)

    def add_cells(self, idx: NDArray[np.intp], value: NDArray[np.float64] | float) -> None:
        if len(idx):
            self._c.append((idx, value))
            self.held += len(idx)

    def flush(self) -> None:
        for parts, out in ((self._n, self.node), (self._c, self.cell)):
            if parts:
                idx = np.concatenate([i for i, _ in parts])
                val = np.concatenate(
                    [np.broadcast_to(np.asarray(v, dtype=np.float64), i.shape) for i, v in parts]
                )
                out += np.bincount(idx, weights=val, minlength=len(out))
                parts.clear()
        self.held = 0

    def per_cell(self, cnode: NDArray[np.int64]) -> NDArray[np.float64]:
        self.flush()
        return self.node[cnode] + self.cell


def _partial(
    graph: RoadGraph, prep: _Prepared, weight: Any, k0: int, k1: int, batch: int = _BATCH
) -> tuple[NDArray[np.intp], NDArray[np.float64], NDArray[np.float64], NDArray[np.float64]]:
    """
    Both steps for the services of distinct nodes ``k0:k1``.

    Returns (their positions, their weighted need, access added per ``prep.cells`` position, services in
    reach per ``prep.cells`` position). Partials of disjoint ranges add up to the whole result.

    Plain and step weights are sums of indicators ``t <= bound`` (:func:`_levels`): the nodes whose cells
    are all within a bound are added once per node; only the cells of the nodes the bound cuts through
    are taken one by one. Other weight functions are applied to every pair.
    """
    rev = graph.reversed_matrix
    nc = len(prep.cells)
    acc = _Sums(graph.n_nodes, nc)
    cnt = _Sums(graph.n_nodes, nc)
    fca = prep.cneed is not None and prep.capacity is not None
    levels = _levels(weight, prep.t0) if fca else None
    wf = None if (weight is None or levels is not None) else _vectorised(weight)
    js: list[int] = []
    wn: list[float] = []
    for reach in _reaches(prep, rev, k0, k1, batch):
        # Services in reach (coverage), whatever the weight.
        full0, part0 = _split(prep, reach, prep.t0)
        cnt.add_nodes(reach.nodes[full0], 1.0)
        if part0.any():
            pos, _ = _pairs(prep, _sub(reach, part0), prep.t0)
            cnt.add_cells(pos, 1.0)
        if not fca:
            pass
        elif levels is not None:
            assert prep.cneed is not None and prep.node_need is not None and prep.capacity is not None
            total = 0.0
            node_parts: list[tuple[NDArray[np.intp], float]] = []
            cell_parts: list[tuple[NDArray[np.intp], float]] = []
            for bound, delta in levels:
                full, part = (full0, part0) if bound == prep.t0 else _split(prep, reach, bound)
                nodes = reach.nodes[full]
                pos = _pairs(prep, _sub(reach, part), bound)[0] if part.any() else np.zeros(0, np.intp)
                total += delta * (float(prep.node_need[nodes].sum()) + float(prep.cneed[pos].sum()))
                node_parts.append((nodes, delta))
                cell_parts.append((pos, delta))
            js.append(reach.j)
            wn.append(total)
            r = _ratio(prep.capacity[[reach.j]], np.array([total]))[0]
            if np.isfinite(r) and r != 0:
                for (nodes, delta), (pos, _) in zip(node_parts, cell_parts, strict=True):
                    acc.add_nodes(nodes, delta * r)
                    acc.add_cells(pos, delta * r)
        else:
            assert prep.cneed is not None and prep.capacity is not None
            pos, t = _pairs(prep, reach, prep.t0)
            w = _weights(wf, t)
            total = float((w * prep.cneed[pos]).sum())
            js.append(reach.j)
            wn.append(total)
            r = _ratio(prep.capacity[[reach.j]], np.array([total]))[0]
            if np.isfinite(r) and r != 0:
                acc.add_cells(pos, w * r)
        if acc.held + cnt.held >= _FLUSH_PAIRS:
            acc.flush()
            cnt.flush()
    return (
        np.asarray(js, dtype=np.intp),
        np.asarray(wn, dtype=np.float64),
        acc.per_cell(prep.cnode),
        cnt.per_cell(prep.cnode),
    )


def _sub(reach: _Reach, mask: NDArray[np.bool_]) -> _Reach:
    return _Reach(reach.j, reach.nodes[mask], reach.time[mask], reach.lo[mask], reach.cnt[mask], reach.soff)


@dataclass(frozen=True)
class NetworkFCAResult(FCAResult):
    """
    :class:`socialmap.access.FCAResult` of a network run, with what was off the network.

    ``nearest`` is the travel time (minutes) to the nearest service, whatever the catchment (``inf`` for
    points off the network, or when every service is). Points and services off the network reach nothing.

    Attributes
    ----------
    demand_off_network
        Per demand point: farther than ``max_snap_m`` from the network.
    supply_off_network
        Per service: farther than ``max_snap_m`` from the network.
    """

    demand_off_network: NDArray[np.bool_]
    supply_off_network: NDArray[np.bool_]


def _check_catchment_min(value: object, func: str) -> float:
    t0 = settings.default_catchment_min if value is None else value
    if isinstance(t0, bool) or not isinstance(t0, numbers.Real) or math.isnan(float(t0)) or float(t0) <= 0:
        raise SocialMapError(
            f"`catchment_min` of {func}() must be a number of minutes > 0; got {t0!r}. "
            f"Pass e.g. catchment_min=30."
        )
    return float(t0)


def _check_batch(batch: object) -> int:
    if isinstance(batch, bool) or not isinstance(batch, numbers.Integral) or int(batch) < 1:
        raise SocialMapError(f"`batch` must be a positive integer; got {batch!r}.")
    return int(batch)


def _check_graph(graph: object, func: str) -> RoadGraph:
    if not isinstance(graph, RoadGraph):
        raise SocialMapError(
            f"`graph` of {func}() must be a socialmap.network.RoadGraph (from read_osm, from_edges or load); "
            f"got {type(graph).__name__}."
        )
    return graph


def _run(
    graph: RoadGraph,
    dxy: NDArray[np.float64],
    need: NDArray[np.float64] | None,
    sxy: NDArray[np.float64],
    capacity: NDArray[np.float64] | None,
    t0: float,
    weight: Any,
    max_snap_m: float,
    crs: Any,
    batch: int,
    partial: Any = None,
) -> NetworkFCAResult:
    """Snap, stream the searches into both steps (``partial`` may run them elsewhere), and assemble."""
    dsnap = snap(graph, dxy, crs=crs, max_snap_m=max_snap_m)
    ssnap = snap(graph, sxy, crs=crs, max_snap_m=max_snap_m)
    prep = _prepare(graph, dsnap, need, ssnap, capacity, t0)
    n, m = prep.n, prep.m
    logger.info(
        "network FCA: %d demand points (%d off the network), %d services (%d off) at %d nodes, %g min",
        n,
        int(dsnap.off_network.sum()),
        m,
        int(ssnap.off_network.sum()),
        prep.n_sources,
        t0,
    )
    if partial is None:
        parts = [_partial(graph, prep, weight, 0, prep.n_sources, batch)]
    else:
        parts = partial(graph, prep, weight)
    wneed = np.zeros(m)
    acc_c = np.zeros(len(prep.cells))
    cnt_c = np.zeros(len(prep.cells))
    for js, wn, a, c in parts:
        wneed[js] = wn
        acc_c += a
        cnt_c += c
    access = np.zeros(n)
    count = np.zeros(n, dtype=np.int64)
    access[prep.cells] = acc_c
    count[prep.cells] = cnt_c.astype(np.int64)
    nearest = _nearest(graph, dsnap, ssnap)
    ratio = _ratio(capacity, wneed) if capacity is not None else np.full(m, np.nan)
    return NetworkFCAResult(
        access=access,
        covered=count > 0,
        n_services=count,
        nearest=nearest,
        ratio=ratio,
        weighted_need=wneed,
        demand_off_network=dsnap.off_network,
        supply_off_network=ssnap.off_network,
    )


def _nearest(graph: RoadGraph, dsnap: Snap, ssnap: Snap) -> NDArray[np.float64]:
    """Minutes from each demand point to its nearest service: one search from all services at once."""
    from scipy.sparse import csr_matrix
    from scipy.sparse.csgraph import dijkstra

    n = len(dsnap.node)
    on = ssnap.node >= 0
    out = np.full(n, np.inf)
    if not on.any() or n == 0:
        return out
    # A super-source joined to every service node by the walk from the service (the shortest per node).
    nodes = ssnap.node[on]
    walk = ssnap.minutes[on]
    order = np.lexsort((walk, nodes))
    nodes, walk = nodes[order], walk[order]
    first = np.r_[True, nodes[1:] != nodes[:-1]]
    nodes, walk = nodes[first], walk[first]
    rev = graph.reversed_matrix
    nn = graph.n_nodes
    indptr = np.r_[rev.indptr, rev.indptr[-1] + len(nodes)]
    aug = csr_matrix(
        (np.r_[rev.data, walk], np.r_[rev.indices, nodes.astype(rev.indices.dtype)], indptr),
        shape=(nn + 1, nn + 1),
    )
    dist = dijkstra(aug, directed=True, indices=nn)
    ok = dsnap.node >= 0
    out[ok] = dist[dsnap.node[ok]] + dsnap.minutes[ok]
    return out


def fca(
    graph: RoadGraph,
    demand_xy: ArrayLike,
    need: ArrayLike,
    supply_xy: ArrayLike,
    capacity: ArrayLike,
    *,
    catchment_min: float | None = None,
    weight: WeightFunction | None = None,
    max_snap_m: float | None = None,
    crs: Any = None,
    batch: int = _BATCH,
) -> NetworkFCAResult:
    """
    Compute 2SFCA / E2SFCA with travel times on a road graph, streaming the searches (no pair list).

    The formulas are those of :func:`socialmap.access.fca_arrays` with ``d_ij`` the travel time in minutes
    (walk to the road, the road, walk to the service; see the module docstring); the results equal
    :func:`socialmap.access.fca_from_pairs` on the pairs of :func:`travel_time_pairs`.

    Parameters
    ----------
    graph
        The road graph (:func:`read_osm`, :func:`from_edges`, :func:`load`).
    demand_xy, need
        ``(n, 2)`` demand coordinates and the persons in need at each (extensive, >= 0).
    supply_xy, capacity
        ``(m, 2)`` service coordinates and their places (extensive, >= 0).
    catchment_min
        Catchment in minutes (inclusive); default ``settings.default_catchment_min``.
    weight
        Weight function of the travel time in minutes (e.g. ``step_weights({10: 1, 20: 0.68, 30: 0.22})``),
        or ``None`` for plain 2SFCA.
    max_snap_m
        Points farther than this from the network are off it (default ``settings.default_max_snap_m``).
    crs
        CRS of the coordinates if not the graph's.
    batch
        Searches per call of scipy's Dijkstra.

    Returns
    -------
    result
        :class:`NetworkFCAResult` (an :class:`~socialmap.access.FCAResult`): ``access``, ``covered``,
        ``n_services``, ``nearest`` (minutes) per demand point, ``ratio``, ``weighted_need`` per service,
        and the off-network masks.
    """
    graph = _check_graph(graph, "fca")
    t0 = _check_catchment_min(catchment_min, "fca")
    limit = _check_snap(max_snap_m, "fca")
    if weight is not None and not callable(weight):
        raise SocialMapError(f"`weight` of fca() must be None or a weight function; got {weight!r}.")
    dxy, n_arr, sxy, c_arr = _check_arrays(demand_xy, need, supply_xy, capacity)
    return _run(graph, dxy, n_arr, sxy, c_arr, t0, weight, limit, crs, _check_batch(batch))


def coverage(
    graph: RoadGraph,
    demand_xy: ArrayLike,
    supply_xy: ArrayLike,
    *,
    catchment_min: float | None = None,
    max_snap_m: float | None = None,
    crs: Any = None,
    batch: int = _BATCH,
) -> NetworkFCAResult:
    """
    Say per demand point whether a service is within ``catchment_min`` minutes, how many, and the nearest.

    Like :func:`fca` without need and capacity: ``access`` is 0 and ``ratio`` NaN.
    """
    graph = _check_graph(graph, "coverage")
    t0 = _check_catchment_min(catchment_min, "coverage")
    limit = _check_snap(max_snap_m, "coverage")
    dxy, _, sxy, _ = _check_arrays(demand_xy, None, supply_xy, None)
    return _run(graph, dxy, None, sxy, None, t0, None, limit, crs, _check_batch(batch))


def travel_time_pairs(
    graph: RoadGraph,
    demand_xy: ArrayLike,
    supply_xy: ArrayLike,
    *,
    max_min: float | None = None,
    max_snap_m: float | None = None,
    crs: Any = None,
) -> tuple[NDArray[np.intp], NDArray[np.intp], NDArray[np.float64]]:
    """
    List the (demand, service) pairs within ``max_min`` minutes, with their travel times.

    This holds every pair: for small cases and tests. :func:`fca` streams the same pairs instead.

    Returns
    -------
    pairs
        ``(demand position, service position, minutes)``, sorted by demand then service.

    Examples
    --------
    >>> import geopandas as gpd, shapely
    >>> roads = gpd.GeoDataFrame({"kmh": [60.0]}, geometry=[shapely.LineString([(0, 0), (1000, 0)])],
    ...                          crs="EPSG:32634")
    >>> g = from_edges(roads, speed="kmh", max_edge_m=1000)
    >>> i, j, t = travel_time_pairs(g, [[0, 0], [1000, 0]], [[1000, 0]], max_min=30)
    >>> i.tolist(), j.tolist(), t.tolist()
    ([0, 1], [0, 0], [1.0, 0.0])
    """
    graph = _check_graph(graph, "travel_time_pairs")
    t0 = _check_catchment_min(max_min, "travel_time_pairs")
    limit = _check_snap(max_snap_m, "travel_time_pairs")
    dxy, _, sxy, _ = _check_arrays(demand_xy, None, supply_xy, None)
    dsnap = snap(graph, dxy, crs=crs, max_snap_m=limit)
    ssnap = snap(graph, sxy, crs=crs, max_snap_m=limit)
    prep = _prepare(graph, dsnap, None, ssnap, None, t0)
    ii: list[NDArray[np.intp]] = []
    jj: list[NDArray[np.intp]] = []
    tt: list[NDArray[np.float64]] = []
    for reach in _reaches(prep, graph.reversed_matrix, 0, prep.n_sources, _BATCH):
        pos, t = _pairs(prep, reach, t0)
        ii.append(prep.cells[pos])
        jj.append(np.full(len(pos), reach.j, dtype=np.intp))
        tt.append(t)
    if not ii:
        return np.zeros(0, np.intp), np.zeros(0, np.intp), np.zeros(0)
    i, jv, tv = np.concatenate(ii), np.concatenate(jj), np.concatenate(tt)
    order = np.lexsort((jv, i))
    return i[order], jv[order], tv[order]


def nearest_time(
    graph: RoadGraph,
    demand_xy: ArrayLike,
    supply_xy: ArrayLike,
    *,
    max_snap_m: float | None = None,
    crs: Any = None,
) -> NDArray[np.float64]:
    """
    Return the travel time (minutes) from each demand point to its nearest service, from one search.

    ``inf`` for points off the network, or when no service is on it.
    """
    graph = _check_graph(graph, "nearest_time")
    limit = _check_snap(max_snap_m, "nearest_time")
    dxy, _, sxy, _ = _check_arrays(demand_xy, None, supply_xy, None)
    return _nearest(
        graph, snap(graph, dxy, crs=crs, max_snap_m=limit), snap(graph, sxy, crs=crs, max_snap_m=limit)
    )


def fca_network(
    graph: Any,
    demand_xy: ArrayLike,
    need: ArrayLike,
    supply_xy: ArrayLike,
    capacity: ArrayLike,
    *,
    catchment_min: float | None = None,
    weight: WeightFunction | None = None,
    max_snap_m: float | None = None,
    crs: Any = None,
) -> FCAResult:
    """
    Compute 2SFCA / E2SFCA like :func:`socialmap.access.fca_arrays`, with travel times on a road network.

    Delegates to :func:`fca` (see there for the snapping, routing and streaming); ``weight`` takes
    minutes. Warns (``UserWarning``) when points or services are off the network (farther than
    ``max_snap_m`` from it): they reach nothing.

    Returns
    -------
    result
        A :class:`NetworkFCAResult`, an :class:`~socialmap.access.FCAResult` with the off-network masks;
        ``nearest`` is in minutes.
    """
    res = fca(
        graph,
        demand_xy,
        need,
        supply_xy,
        capacity,
        catchment_min=catchment_min,
        weight=weight,
        max_snap_m=max_snap_m,
        crs=crs,
    )
    off_d, off_s = int(res.demand_off_network.sum()), int(res.supply_off_network.sum())
    if off_d or off_s:
        warnings.warn(
            f"{off_d} demand point(s) and {off_s} service(s) are off the network (farther than max_snap_m "
            f"from every road node); they reach nothing. See demand_off_network / supply_off_network.",
            UserWarning,
            stacklevel=2,
        )
    return res
