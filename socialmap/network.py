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

import json
import logging
import math
import numbers
import os
import warnings
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path
from typing import Any, Literal

import numpy as np
import pandas as pd
from numpy.typing import ArrayLike, NDArray

from socialmap import settings
from socialmap.access import FCAResult, WeightFunction, _check_arrays, _ratio, _vectorised
from socialmap.errors import N_, DataSourceError, Problem, SocialMapError, ValidationError

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

Mode = Literal["drive", "walk"]
MODES: tuple[str, ...] = ("drive", "walk")

#: Driving speed (km/h) by OpenStreetMap ``highway`` class: the speeds of OSRM's car profile (osrm-backend
#: ``profiles/car.lua``, version 5). Classes not listed (tracks, paths, footways...) are not driven on.
DRIVE_SPEEDS_KMH: Mapping[str, float] = {
    "motorway": 90.0,
    "motorway_link": 45.0,
    "trunk": 85.0,
    "trunk_link": 40.0,
    "primary": 65.0,
    "primary_link": 30.0,
    "secondary": 55.0,
    "secondary_link": 25.0,
    "tertiary": 40.0,
    "tertiary_link": 20.0,
    "unclassified": 25.0,
    "residential": 25.0,
    "living_street": 10.0,
    "service": 15.0,
}

#: Share of a tagged numeric ``maxspeed`` used as the driving speed (OSRM's car profile uses 4/5 of it,
#: osrm-backend ``features/car/maxspeed.feature``).
MAXSPEED_FACTOR = 0.8

#: Walking speed in km/h (OSRM's foot profile, osrm-backend ``profiles/foot.lua``: ``walking_speed = 5``).
#: Also the speed of the walk from a point to its nearest graph node, in every mode.
WALK_SPEED_KMH = 5.0

#: ``highway`` classes walked on (those of OSRM's foot profile; motorways are not).
WALK_HIGHWAYS: tuple[str, ...] = (
    "trunk",
    "trunk_link",
    "primary",
    "primary_link",
    "secondary",
    "secondary_link",
    "tertiary",
    "tertiary_link",
    "unclassified",
    "residential",
    "road",
    "living_street",
    "service",
    "track",
    "path",
    "steps",
    "pedestrian",
    "footway",
    "platform",
    "pier",
)

#: Where the default speeds come from (recorded in every graph's provenance).
SPEED_SOURCES: Mapping[str, str] = {
    "drive": "OSRM car profile (osrm-backend profiles/car.lua, v5): speeds by highway class; tagged maxspeed "
    "x 0.8 (features/car/maxspeed.feature)",
    "walk": "OSRM foot profile (osrm-backend profiles/foot.lua, v5): walking_speed 5 km/h",
}

#: How each cost is named for people (maps, briefs, the app): straight lines, or travel time by mode.
COST_LABELS: Mapping[str, str] = {
    "euclidean": N_("straight-line distance"),
    "drive": N_("travel time (roads, driving)"),
    "walk": N_("travel time (roads, walking)"),
}

#: Longest stretch of road (metres) between two graph nodes, by default (see the module docstring).
MAX_EDGE_M = 250.0

_FORMAT = "socialmap-roadgraph"
_FORMAT_VERSION = 1
_ONEWAY_FORWARD = ("yes", "true", "1")
_ONEWAY_BACKWARD = ("-1", "reverse")
_ONEWAY_NO = ("no", "false", "0")
_NO_ACCESS = ("no", "private", "agricultural", "forestry")
_YES_ACCESS = ("yes", "permissive", "designated", "destination", "customers")
# Searches per call of scipy's dijkstra: it returns dense rows (one float per node each), and small batches
# stay in cache (measured faster per search than batches of 32 or more on a 300,000-node graph).
_BATCH = 8
# Pairs gathered before they are added into the per-point sums with one bincount.
_FLUSH_PAIRS = 4_000_000
_OSMCONF = Path(__file__).parent / "data" / "osmconf_roads.ini"


# ----------------------------------------------------------------------------------------------------
# The graph
# ----------------------------------------------------------------------------------------------------


@dataclass(frozen=True, eq=False)
class RoadGraph:
    """
    A directed road graph: junctions in a metric CRS, edges in CSR arrays with travel times in minutes.

    Made by :func:`read_osm`, :func:`from_edges` or :func:`load`.

    Attributes
    ----------
    xy
        ``(n, 2)`` node coordinates (metres, in :attr:`crs`).
    indptr, indices, minutes
        CSR arrays: the edges leaving node ``u`` go to ``indices[indptr[u]:indptr[u + 1]]`` and take
        ``minutes[indptr[u]:indptr[u + 1]]``.
    crs
        The CRS of ``xy`` (any string pyproj reads, e.g. ``"EPSG:32634"``).
    mode
        ``"drive"`` or ``"walk"``.
    walk_speed_kmh
        Speed of the walk between a point and its nearest node (and of every edge when walking).
    provenance
        How the graph was made: source file, speeds and their source, ``max_edge_m``, nodes dropped...
    """

    xy: NDArray[np.float64]
    indptr: NDArray[np.int64]
    indices: NDArray[np.int32]
    minutes: NDArray[np.float64]
    crs: str
    mode: str
    walk_speed_kmh: float = WALK_SPEED_KMH
    provenance: dict[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        n = len(self.xy)
        ok = (
            self.xy.ndim == 2
            and self.xy.shape[1] == 2
            and self.indptr.shape == (n + 1,)
            and self.indices.shape == self.minutes.shape
            and int(self.indptr[-1]) == len(self.indices)
        )
        if not ok:
            raise SocialMapError("RoadGraph arrays are inconsistent (xy, indptr, indices and minutes).")
        if self.mode not in MODES:
            raise SocialMapError(f"RoadGraph mode must be one of {MODES}; got {self.mode!r}.")
        if len(self.minutes) and not (np.isfinite(self.minutes).all() and (self.minutes >= 0).all()):
            raise SocialMapError("RoadGraph edge times must be finite and >= 0.")

    @property
    def n_nodes(self) -> int:
        """Number of nodes (junctions and split points)."""
        return len(self.xy)

    @property
    def n_edges(self) -> int:
        """Number of directed edges."""
        return len(self.indices)

    @cached_property
    def matrix(self) -> Any:
        """The graph as a ``scipy.sparse.csr_matrix`` of minutes (row: from, column: to)."""
        from scipy.sparse import csr_matrix

        return csr_matrix((self.minutes, self.indices, self.indptr), shape=(self.n_nodes, self.n_nodes))

    @cached_property
    def reversed_matrix(self) -> Any:
        """The reversed graph (row: to, column: from), searched from services to find times towards them."""
        return self.matrix.T.tocsr()

    @cached_property
    def tree(self) -> Any:
        """A ``scipy.spatial.cKDTree`` of the node coordinates."""
        from scipy.spatial import cKDTree

        return cKDTree(self.xy)

    def label(self) -> str:
        """Return a short English description, e.g. ``"drive graph: 1,234 nodes, 2,345 edges"``."""
        return f"{self.mode} graph: {self.n_nodes:,} nodes, {self.n_edges:,} edges"

    def __repr__(self) -> str:
        return f"<RoadGraph {self.label()} in {self.crs}>"

    def __getstate__(self) -> dict[str, Any]:
        # Send the arrays only (to Dask workers, for instance); the cached matrices and tree are rebuilt.
        keep = ("xy", "indptr", "indices", "minutes", "crs", "mode", "walk_speed_kmh", "provenance")
        return {k: self.__dict__[k] for k in keep}

    def __setstate__(self, state: dict[str, Any]) -> None:
        self.__dict__.update(state)


def _minutes(length_m: Any, kmh: Any) -> Any:
    """Minutes to cover ``length_m`` metres at ``kmh`` km/h."""
    return np.asarray(length_m, dtype=np.float64) * 60.0 / (np.asarray(kmh, dtype=np.float64) * 1000.0)


def _check_positive(value: object, name: str, func: str) -> float:
    if isinstance(value, bool) or not isinstance(value, numbers.Real) or not math.isfinite(float(value)):
        raise SocialMapError(f"`{name}` of {func}() must be a finite number; got {value!r}.")
    if float(value) <= 0:
        raise SocialMapError(f"`{name}` of {func}() must be > 0; got {value!r}.")
    return float(value)


def _check_mode(mode: object, func: str) -> str:
    if mode not in MODES:
        raise SocialMapError(f"`mode` of {func}() must be one of {', '.join(MODES)}; got {mode!r}.")
    return str(mode)


def _build(
    geoms: NDArray[Any],
    speed_kmh: NDArray[np.float64],
    direction: NDArray[np.int8],
    *,
    crs: str,
    mode: str,
    walk_speed_kmh: float,
    max_edge_m: float,
    provenance: dict[str, Any],
) -> RoadGraph:
    """
    Build the graph from LineStrings in a metric CRS, a speed (km/h) and a direction per line.

    ``direction``: 1 along the line only, -1 against it only, 0 both ways.
    """
    import shapely
    from scipy.sparse import csr_matrix
    from scipy.sparse.csgraph import connected_components

    if len(geoms):
        geoms = shapely.segmentize(geoms, max_edge_m)
    coords, line = shapely.get_coordinates(geoms, return_index=True)
    del geoms
    if len(coords) < 2:
        raise SocialMapError("No road with at least two points to build a graph from.")
    node, n_loc = _locations(coords)
    first = np.empty(len(line), dtype=bool)
    first[0] = True
    np.not_equal(line[1:], line[:-1], out=first[1:])
    keep = first.copy()  # first, last, shared or band-crossing vertices
    keep[:-1] |= first[1:]
    keep[-1] = True
    # Length along each line from its start.
    along = np.hypot(np.diff(coords[:, 0], prepend=coords[0, 0]), np.diff(coords[:, 1], prepend=coords[0, 1]))
    along[first] = 0.0
    np.cumsum(along, out=along)
    along -= np.maximum.accumulate(np.where(first, along, 0.0))
    keep |= np.bincount(node, minlength=n_loc)[node] > 1
    band = np.floor(along / max_edge_m)
    keep[1:] |= (band[1:] != band[:-1]) & ~first[1:]
    del band, first
    kept = np.flatnonzero(keep)
    del keep
    # Edges between consecutive kept vertices of the same line.
    same = line[kept[1:]] == line[kept[:-1]]
    a, b = kept[:-1][same], kept[1:][same]
    del kept, same
    lid = line[a]
    minutes = _minutes(along[b] - along[a], speed_kmh[lid])
    d = direction[lid]
    na, nb = node[a], node[b]
    loc_xy = np.empty((n_loc, 2))
    loc_xy[node] = coords
    del coords, node, along, line, lid, a, b
    fw, bw = d >= 0, d <= 0
    u_all = np.concatenate([na[fw], nb[bw]])
    v_all = np.concatenate([nb[fw], na[bw]])
    t_all = np.concatenate([minutes[fw], minutes[bw]])
    del na, nb, minutes, d, fw, bw
    ok = u_all != v_all
    u_all, v_all, t_all = u_all[ok], v_all[ok], t_all[ok]
    if len(u_all) == 0:
        raise SocialMapError("The roads form no edge between two distinct points.")
    # Nodes: the locations that carry an edge.
    used = np.flatnonzero(np.bincount(u_all, minlength=n_loc) + np.bincount(v_all, minlength=n_loc))
    remap = np.full(n_loc, -1, dtype=np.int64)
    remap[used] = np.arange(len(used))
    u_all, v_all = remap[u_all], remap[v_all]
    xy = loc_xy[used]
    del remap, loc_xy, used
    n = len(xy)
    # Parallel edges keep the fastest: sort by (u, v), then the smallest time of each run.
    key = u_all * n + v_all
    order = np.argsort(key, kind="stable")
    key, t_all = key[order], t_all[order]
    start = np.flatnonzero(np.r_[True, key[1:] != key[:-1]])
    t_all = np.minimum.reduceat(t_all, start)
    key = key[start]
    u_all, v_all = key // n, key % n
    del key, order, start
    mat = csr_matrix((np.ones(len(u_all), dtype=np.int8), (u_all, v_all)), shape=(n, n))
    n_comp, labels = connected_components(mat, directed=True, connection="strong")
    del mat
    big = int(np.bincount(labels).argmax())
    inside = labels == big
    new = np.full(n, -1, dtype=np.int64)
    new[inside] = np.arange(int(inside.sum()))
    e_in = inside[u_all] & inside[v_all]
    u_all, v_all, t_all = new[u_all[e_in]], new[v_all[e_in]], t_all[e_in]
    xy = np.ascontiguousarray(xy[inside])
    # CSR (edges are sorted by u, then v).
    n_in = len(xy)
    indptr = np.zeros(n_in + 1, dtype=np.int64)
    np.cumsum(np.bincount(u_all, minlength=n_in), out=indptr[1:])
    prov = dict(provenance)
    prov.update(
        {
            "mode": mode,
            "walk_speed_kmh": walk_speed_kmh,
            "max_edge_m": max_edge_m,
            "crs": crs,
            "nodes": n_in,
            "edges": len(u_all),
            "nodes_dropped_outside_largest_component": int(n - n_in),
            "components": int(n_comp),
        }
    )
    logger.info(
        "road graph (%s): %d nodes, %d edges; %d nodes outside the largest strongly connected part dropped",
        mode,
        n_in,
        len(u_all),
        n - n_in,
    )
    return RoadGraph(
        xy=xy,
        indptr=indptr,
        indices=v_all.astype(np.int32),
        minutes=t_all.astype(np.float64),
        crs=crs,
        mode=mode,
        walk_speed_kmh=walk_speed_kmh,
        provenance=prov,
    )


def _locations(coords: NDArray[np.float64]) -> tuple[NDArray[np.int64], int]:
    """Give each distinct location of ``coords`` (to the millimetre) a number: ways that meet share one."""
    mm = np.round(coords * 1000.0).astype(np.int64)
    mm -= mm.min(axis=0)
    span = mm.max(axis=0) + 1
    if int(span[0]) < 2**31 and int(span[1]) < 2**31:
        codes = mm[:, 0] * int(span[1]) + mm[:, 1]
    else:  # wider than 2,000 km: number x and y separately first
        kx = pd.factorize(mm[:, 0])[0].astype(np.int64)
        ky = pd.factorize(mm[:, 1])[0].astype(np.int64)
        codes = kx * (int(ky.max()) + 1) + ky
    del mm
    node, uniques = pd.factorize(codes)
    return node.astype(np.int64), len(uniques)


def _metric_crs(geoms: Any, source_crs: Any, crs: Any) -> Any:
    """Return the target CRS: ``crs`` if given (must be metric), else the UTM zone of the data."""
    import geopandas as gpd
    from pyproj import CRS

    if crs is not None:
        target = CRS.from_user_input(crs)
    elif source_crs is not None and CRS.from_user_input(source_crs).is_projected:
        target = CRS.from_user_input(source_crs)
    else:
        target = CRS.from_user_input(gpd.GeoSeries(geoms, crs=source_crs).estimate_utm_crs())
    unit = target.axis_info[0].unit_name if target.axis_info else ""
    if target.is_geographic or unit not in ("metre", "meter"):
        raise SocialMapError(
            f"A road graph needs a projected CRS in metres; got {target.to_string()}. "
            f"Pass e.g. crs='EPSG:32634' (UTM zone 34N), or crs=None for the data's UTM zone."
        )
    return target


def _project(geoms: Any, source_crs: Any, target: Any) -> Any:
    import shapely
    from pyproj import CRS, Transformer

    if source_crs is not None and CRS.from_user_input(source_crs).equals(target):
        return geoms
    tr = Transformer.from_crs(source_crs, target, always_xy=True)

    def move(c: NDArray[np.float64]) -> NDArray[np.float64]:
        x, y = tr.transform(c[:, 0], c[:, 1])
        return np.column_stack([x, y])

    return shapely.transform(geoms, move)


def _crs_string(target: Any) -> str:
    auth = target.to_authority()
    return f"{auth[0]}:{auth[1]}" if auth else str(target.to_wkt())


def _tag(frame: pd.DataFrame, col: str) -> pd.Series:
    if col not in frame.columns:
        return pd.Series([""] * len(frame), index=frame.index, dtype=object)
    return frame[col].fillna("").astype(str).str.strip().str.lower()


def _parse_maxspeed(values: pd.Series) -> NDArray[np.float64]:
    """Numeric ``maxspeed`` in km/h (``50``, ``50 km/h``, ``30 mph``; the lowest of ``50;70``), else NaN."""
    first = values.str.split(";").str[0].fillna("")
    parts = first.str.extract(r"^\s*(\d+(?:\.\d+)?)\s*(mph|km/h|kmh|kph)?\s*$")
    speed = np.array(pd.to_numeric(parts[0], errors="coerce"), dtype=np.float64)
    mph = np.array(parts[1] == "mph", dtype=bool)
    speed[mph] *= 1.609344
    speed[speed <= 0] = np.nan
    return speed


def _osm_speeds(
    frame: pd.DataFrame,
    mode: str,
    speeds: Mapping[str, float] | None,
    walk_speed_kmh: float,
    use_maxspeed: bool,
    maxspeed_factor: float,
) -> tuple[NDArray[np.bool_], NDArray[np.float64], NDArray[np.int8], dict[str, Any]]:
    """Which ways are used, their speed (km/h) and direction, and the table used, for a mode."""
    highway = _tag(frame, "highway")
    access = _tag(frame, "access")
    if mode == "drive":
        table = dict(DRIVE_SPEEDS_KMH)
        if speeds is not None:
            table.update({str(k): float(v) for k, v in speeds.items()})
        table = {k: v for k, v in table.items() if v > 0}
        speed = np.array(highway.map(table), dtype=np.float64)
        allowed = pd.Series(True, index=frame.index)
        for col in ("vehicle", "motor_vehicle", "motorcar"):  # most specific last: it decides
            tag = _tag(frame, col)
            allowed = allowed.mask(tag.isin(_NO_ACCESS), False).mask(tag.isin(_YES_ACCESS), True)
        general = access.isin(_NO_ACCESS)
        specific = pd.concat([_tag(frame, c) for c in ("vehicle", "motor_vehicle", "motorcar")], axis=1)
        said = specific.isin(_YES_ACCESS + _NO_ACCESS).any(axis=1)
        allowed = allowed & ~(general & ~said)
        use = np.isfinite(speed) & allowed.to_numpy()
        n_maxspeed = 0
        if use_maxspeed:
            posted = _parse_maxspeed(_tag(frame, "maxspeed"))
            has = np.isfinite(posted) & use
            speed[has] = posted[has] * maxspeed_factor
            n_maxspeed = int(has.sum())
        oneway = _tag(frame, "oneway")
        junction = _tag(frame, "junction")
        forward = oneway.isin(_ONEWAY_FORWARD) | (
            ~oneway.isin(_ONEWAY_NO + _ONEWAY_BACKWARD)
            & (junction.isin(("roundabout", "circular")) | (highway == "motorway"))
        )
        direction = np.where(forward, 1, np.where(oneway.isin(_ONEWAY_BACKWARD), -1, 0)).astype(np.int8)
        used = {
            "speeds_kmh": table,
            "maxspeed": use_maxspeed,
            "maxspeed_factor": maxspeed_factor if use_maxspeed else None,
            "ways_with_maxspeed": n_maxspeed,
            "speed_source": SPEED_SOURCES["drive"]
            if speeds is None
            else "user-supplied over " + SPEED_SOURCES["drive"],
        }
    else:
        classes = set(WALK_HIGHWAYS)
        if speeds is not None:
            classes |= {str(k) for k, v in speeds.items() if float(v) > 0}
            classes -= {str(k) for k, v in speeds.items() if float(v) <= 0}
        foot = _tag(frame, "foot")
        allowed = (~access.isin(_NO_ACCESS) | foot.isin(_YES_ACCESS)) & ~foot.isin(_NO_ACCESS)
        use = (highway.isin(sorted(classes)) & allowed).to_numpy()
        speed = np.full(len(frame), walk_speed_kmh)
        if speeds is not None:
            custom = highway.map({str(k): float(v) for k, v in speeds.items()}).to_numpy(dtype=np.float64)
            speed = np.where(np.isfinite(custom), custom, speed)
        direction = np.zeros(len(frame), dtype=np.int8)
        used = {
            "highways": sorted(classes),
            "speeds_kmh": {str(k): float(v) for k, v in (speeds or {}).items()},
            "speed_source": SPEED_SOURCES["walk"]
            if speeds is None
            else "user-supplied over " + SPEED_SOURCES["walk"],
        }
    return use, speed, direction, used


def _read_osm_lines(path: Path) -> Any:
    import pyogrio

    opts = {"CONFIG_FILE": str(_OSMCONF), "INTERLEAVED_READING": "NO"}
    # Not through Arrow: that path returns an empty frame where GDAL reports an error.
    kwargs: dict[str, Any] = {"layer": "lines", "where": "highway IS NOT NULL", "use_arrow": False}
    try:
        return pyogrio.read_dataframe(path, **kwargs, **opts)
    except Exception as exc:  # noqa: BLE001 - GDAL reports its problems as several exception types
        if "USE_CUSTOM_INDEXING" not in str(exc):
            raise
    # Node ids not sorted (some extracts): GDAL's slower general index.
    return pyogrio.read_dataframe(path, **kwargs, **opts, USE_CUSTOM_INDEXING="NO")


def read_osm(
    path: str | os.PathLike[str],
    mode: Mode = "drive",
    *,
    speeds: Mapping[str, float] | None = None,
    crs: Any = None,
    walk_speed_kmh: float | None = None,
    maxspeed: bool = True,
    maxspeed_factor: float = MAXSPEED_FACTOR,
    max_edge_m: float = MAX_EDGE_M,
) -> RoadGraph:
    """
    Read an OpenStreetMap extract (``.osm.pbf`` or ``.osm``) into a road graph for driving or walking.

    Ways are read with GDAL's OSM driver (through pyogrio); see the module docstring for how the graph is
    built, split and pruned, and where the speeds come from.

    Parameters
    ----------
    path
        The extract, e.g. a country file downloaded once from an OpenStreetMap mirror.
    mode
        ``"drive"`` (car speeds by ``highway`` class, ``maxspeed``, one-way streets) or ``"walk"`` (one
        walking speed on footways, paths and streets, both directions).
    speeds
        Speeds in km/h by ``highway`` class, over the defaults (:data:`DRIVE_SPEEDS_KMH` when driving; when
        walking, classes given here are walked at their speed). A speed of 0 excludes a class.
    crs
        Metric CRS of the graph; default: the UTM zone of the data.
    walk_speed_kmh
        Walking speed (the ``walk`` mode's speed, and the speed of the walk to and from the road in both
        modes); default :data:`WALK_SPEED_KMH`.
    maxspeed
        Use tagged numeric ``maxspeed`` values when driving (times ``maxspeed_factor``).
    maxspeed_factor
        Share of ``maxspeed`` driven (default :data:`MAXSPEED_FACTOR`).
    max_edge_m
        Longest stretch of road between two nodes (see the module docstring).

    Returns
    -------
    graph
        A :class:`RoadGraph`, its :attr:`~RoadGraph.provenance` saying what was used.

    Raises
    ------
    DataSourceError
        If the file is missing, cannot be read as OpenStreetMap data, or has no road for the mode.

    Examples
    --------
    >>> import pyogrio, pathlib
    >>> pbf = pathlib.Path(pyogrio.__file__).parent / "tests" / "fixtures" / "sample.osm.pbf"
    >>> g = read_osm(pbf, mode="walk")
    >>> g.mode, g.n_nodes > 10
    ('walk', True)
    """
    mode_ = _check_mode(mode, "read_osm")
    walk = (
        WALK_SPEED_KMH
        if walk_speed_kmh is None
        else _check_positive(walk_speed_kmh, "walk_speed_kmh", "read_osm")
    )
    factor = _check_positive(maxspeed_factor, "maxspeed_factor", "read_osm")
    edge = _check_positive(max_edge_m, "max_edge_m", "read_osm")
    _check_speeds(speeds, "read_osm")
    p = Path(path)
    if not p.is_file():
        raise DataSourceError(N_("{file} does not exist."), file=str(p))
    try:
        lines = _read_osm_lines(p)
    except Exception as exc:  # noqa: BLE001 - any GDAL failure means the file is not readable OSM data
        raise DataSourceError(
            N_("{file} could not be read as OpenStreetMap data ({error}). Use an .osm.pbf or .osm extract."),
            file=p.name,
            error=str(exc).splitlines()[0] if str(exc) else type(exc).__name__,
        ) from exc
    use, speed, direction, used = _osm_speeds(lines, mode_, speeds, walk, maxspeed, factor)
    geoms = np.asarray(lines.geometry.values, dtype=object)
    import shapely

    use = np.asarray(use, dtype=bool) & (shapely.get_type_id(geoms) == 1)  # LineStrings
    if not use.any():
        raise DataSourceError(N_("{file} has no roads that can be used for {mode}."), file=p.name, mode=mode_)
    geoms, speed, direction = geoms[use], speed[use], direction[use]
    target = _metric_crs(geoms, "EPSG:4326", crs)
    geoms = _project(geoms, "EPSG:4326", target)
    prov: dict[str, Any] = {"source": p.name, "reader": "GDAL OSM driver (pyogrio)", "ways": int(use.sum())}
    prov.update(used)
    return _build(
        geoms,
        speed,
        direction,
        crs=_crs_string(target),
        mode=mode_,
        walk_speed_kmh=walk,
        max_edge_m=edge,
        provenance=prov,
    )


def _check_speeds(speeds: Mapping[str, float] | None, func: str) -> None:
    if speeds is None:
        return
    if not isinstance(speeds, Mapping):
        raise SocialMapError(
            f"`speeds` of {func}() must be a mapping of highway class -> km/h; got {speeds!r}."
        )
    for k, v in speeds.items():
        if isinstance(v, bool) or not isinstance(v, numbers.Real) or not (math.isfinite(v) and v >= 0):
            raise SocialMapError(
                f"`speeds` of {func}(): the speed of {k!r} must be a number >= 0 (km/h); got {v!r}."
            )


def from_edges(
    edges: Any,
    *,
    speed: str | None = None,
    time: str | None = None,
    oneway: str | None = None,
    mode: Mode = "drive",
    crs: Any = None,
    walk_speed_kmh: float | None = None,
    max_edge_m: float = MAX_EDGE_M,
    source: str | None = None,
) -> RoadGraph:
    """
    Build a road graph from any road layer (a GeoDataFrame of lines) with a speed or a time column.

    Lines that share a vertex meet; see the module docstring for how the graph is split and pruned.

    Parameters
    ----------
    edges
        GeoDataFrame of LineStrings (MultiLineStrings are split into their parts), with a CRS.
    speed
        Column of speeds in km/h (> 0).
    time
        Column of travel times in minutes for the whole line (> 0); split along the line by length.
        Give ``speed`` or ``time`` (with ``mode="walk"``, neither: everything at ``walk_speed_kmh``).
    oneway
        Column saying the direction: ``1``/``True``/``"yes"`` along the line only, ``-1`` against it only,
        anything else (``0``, ``False``, empty) both ways. Default: both ways.
    mode
        ``"drive"`` or ``"walk"`` (a label; the speeds come from the column).
    crs
        Metric CRS of the graph; default: the layer's own if metric, else its UTM zone.
    walk_speed_kmh
        Speed of the walk to and from the road (default :data:`WALK_SPEED_KMH`).
    max_edge_m
        Longest stretch of road between two nodes.
    source
        What to call the layer in the provenance.

    Returns
    -------
    graph
        A :class:`RoadGraph`.

    Raises
    ------
    ValidationError
        Listing missing columns, and the rows with missing, zero or negative speeds or times.

    Examples
    --------
    >>> import geopandas as gpd, shapely
    >>> roads = gpd.GeoDataFrame({"kmh": [60.0]}, geometry=[shapely.LineString([(0, 0), (1000, 0)])],
    ...                          crs="EPSG:32634")
    >>> g = from_edges(roads, speed="kmh", max_edge_m=1000)
    >>> g.n_nodes, g.minutes.tolist()
    (2, [1.0, 1.0])
    """
    import geopandas as gpd
    import shapely

    mode_ = _check_mode(mode, "from_edges")
    walk = (
        WALK_SPEED_KMH
        if walk_speed_kmh is None
        else _check_positive(walk_speed_kmh, "walk_speed_kmh", "from_edges")
    )
    edge = _check_positive(max_edge_m, "max_edge_m", "from_edges")
    if not isinstance(edges, gpd.GeoDataFrame):
        raise SocialMapError(
            f"`edges` of from_edges() must be a GeoDataFrame of lines; got {type(edges).__name__}."
        )
    label = source or "edges"
    if edges.crs is None:
        raise SocialMapError(
            f"`{label}` has no CRS. Set the one its coordinates are in, e.g. .set_crs('EPSG:4326')."
        )
    if speed is not None and time is not None:
        raise SocialMapError("Give `speed` or `time` to from_edges(), not both.")
    if speed is None and time is None and mode_ != "walk":
        raise SocialMapError("from_edges() needs `speed` (km/h) or `time` (minutes) for driving.")
    problems: list[Problem] = []
    for name in (c for c in (speed, time, oneway) if c is not None):
        if name not in edges.columns:
            problems.append(
                Problem(
                    label, None, name, f"has no column {name!r}.", f"Name one of {list(edges.columns)[:10]}."
                )
            )
    if problems:
        raise ValidationError(problems)
    frame = edges.explode(index_parts=False) if (edges.geom_type == "MultiLineString").any() else edges
    geoms = np.asarray(frame.geometry.values, dtype=object)
    lines = shapely.get_type_id(geoms) == 1
    if not lines.all():
        bad = np.flatnonzero(~lines)
        problems.append(
            Problem(
                label,
                None,
                frame.geometry.name,
                f"{len(bad)} row(s) are not lines, at index labels {frame.index[bad[:5]].tolist()}.",
                "Keep only LineString or MultiLineString roads.",
            )
        )
    col = speed if speed is not None else time
    if col is not None:
        values = pd.to_numeric(frame[col], errors="coerce").to_numpy(dtype=np.float64)
        bad = ~(np.isfinite(values) & (values > 0))
        if bad.any():
            rows = np.flatnonzero(bad)
            problems.append(
                Problem(
                    label,
                    int(rows[0]) + 1,
                    col,
                    f"{len(rows)} row(s) have a missing, zero or negative {'speed' if speed else 'time'}, "
                    f"at index labels {frame.index[rows[:5]].tolist()}.",
                    "Give every road a speed in km/h > 0"
                    if speed
                    else "Give every road a time in minutes > 0",
                )
            )
    if problems:
        raise ValidationError(problems)
    target = _metric_crs(geoms, edges.crs, crs)
    geoms = _project(geoms, edges.crs, target)
    if speed is not None:
        kmh = values
    elif time is not None:
        length = shapely.length(geoms)
        kmh = length / values * (60.0 / 1000.0)
        zero = length <= 0
        kmh[zero] = 1.0  # zero-length lines make no edge anyway
    else:
        kmh = np.full(len(geoms), walk)
    direction = np.zeros(len(geoms), dtype=np.int8)
    if oneway is not None:
        tag = frame[oneway].fillna("").astype(str).str.strip().str.lower()
        direction = np.where(
            tag.isin(("1", "true", "yes", "1.0")), 1, np.where(tag.isin(("-1", "-1.0", "reverse")), -1, 0)
        ).astype(np.int8)
    prov = {
        "source": label,
        "reader": "from_edges",
        "ways": len(geoms),
        "speed_column": speed,
        "time_column": time,
        "oneway_column": oneway,
        "speed_source": "user-supplied (column)" if col is not None else SPEED_SOURCES["walk"],
    }
    return _build(
        geoms,
        kmh,
        direction,
        crs=_crs_string(target),
        mode=mode_,
        walk_speed_kmh=walk,
        max_edge_m=edge,
        provenance=prov,
    )


def save(graph: RoadGraph, path: str | os.PathLike[str]) -> Path:
    """
    Save a graph to one compressed numpy file (``.npz``), written atomically.

    Parameters
    ----------
    graph
        The graph.
    path
        The file to write (``.npz`` is the usual name; no suffix is added).

    Returns
    -------
    path
        The written file.
    """
    from socialmap.atomic import write_atomic

    meta = {
        "format": _FORMAT,
        "version": _FORMAT_VERSION,
        "crs": graph.crs,
        "mode": graph.mode,
        "walk_speed_kmh": graph.walk_speed_kmh,
        "provenance": graph.provenance,
    }

    def write(p: Path) -> None:
        with open(p, "wb") as fh:
            np.savez_compressed(
                fh,
                xy=graph.xy,
                indptr=graph.indptr,
                indices=graph.indices,
                minutes=graph.minutes,
                meta=np.array(json.dumps(meta, default=str)),
            )

    return write_atomic(path, write)


def load(path: str | os.PathLike[str]) -> RoadGraph:
    """
    Load a graph written by :func:`save`.

    Raises
    ------
    DataSourceError
        If the file is missing or is not a saved road graph.
    """
    p = Path(path)
    if not p.is_file():
        raise DataSourceError(N_("{file} does not exist."), file=str(p))
    try:
        with np.load(p, allow_pickle=False) as data:
            meta = json.loads(str(data["meta"]))
            arrays = {k: data[k] for k in ("xy", "indptr", "indices", "minutes")}
        if meta.get("format") != _FORMAT or int(meta.get("version", 0)) > _FORMAT_VERSION:
            raise ValueError("not a socialmap road graph")
        return RoadGraph(
            xy=np.asarray(arrays["xy"], dtype=np.float64),
            indptr=np.asarray(arrays["indptr"], dtype=np.int64),
            indices=np.asarray(arrays["indices"], dtype=np.int32),
            minutes=np.asarray(arrays["minutes"], dtype=np.float64),
            crs=str(meta["crs"]),
            mode=str(meta["mode"]),
            walk_speed_kmh=float(meta["walk_speed_kmh"]),
            provenance=dict(meta.get("provenance") or {}),
        )
    except (OSError, ValueError, KeyError, TypeError, SocialMapError) as exc:
        raise DataSourceError(
            N_("{file} is not a road graph saved by socialmap ({error})."), file=p.name, error=str(exc)
        ) from exc


def read(path: str | os.PathLike[str], mode: Mode = "drive", **options: Any) -> RoadGraph:
    """Read a graph from a saved ``.npz`` (:func:`load`) or an OpenStreetMap extract (:func:`read_osm`)."""
    p = Path(path)
    if p.suffix.lower() == ".npz":
        graph = load(p)
        if graph.mode != mode:
            raise DataSourceError(
                N_("{file} is a road graph for {found}, not for {mode}."),
                file=p.name,
                found=graph.mode,
                mode=mode,
            )
        return graph
    return read_osm(p, mode, **options)


# ----------------------------------------------------------------------------------------------------
# Snapping
# ----------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Snap:
    """
    Where points join the network (:func:`snap`).

    Attributes
    ----------
    node
        Nearest graph node per point; -1 when the point is off the network.
    distance_m
        Straight-line distance to that node (``inf`` when off the network).
    minutes
        That distance at walking speed.
    off_network
        True for points farther than ``max_snap_m`` from every node (or with missing coordinates).
    max_snap_m
        The threshold used.
    """

    node: NDArray[np.int64]
    distance_m: NDArray[np.float64]
    minutes: NDArray[np.float64]
    off_network: NDArray[np.bool_]
    max_snap_m: float


def _check_snap(max_snap_m: float | None, func: str) -> float:
    value = settings.default_max_snap_m if max_snap_m is None else max_snap_m
    if (
        isinstance(value, bool)
        or not isinstance(value, numbers.Real)
        or math.isnan(float(value))
        or value < 0
    ):
        raise SocialMapError(
            f"`max_snap_m` of {func}() must be a distance in metres >= 0 (math.inf: snap every point); "
            f"got {value!r}."
        )
    return float(value)


def _as_xy(values: ArrayLike, label: str) -> NDArray[np.float64]:
    arr = np.asarray(values, dtype=np.float64)
    if arr.size == 0:
        return np.zeros((0, 2))
    if arr.ndim != 2 or arr.shape[1] != 2:
        raise SocialMapError(f"`{label}` must be an (n, 2) array of x, y; got shape {arr.shape}.")
    return arr


def _to_graph_crs(graph: RoadGraph, xy: NDArray[np.float64], crs: Any) -> NDArray[np.float64]:
    if crs is None or len(xy) == 0:
        return xy
    from pyproj import CRS, Transformer

    if CRS.from_user_input(crs).equals(CRS.from_user_input(graph.crs)):
        return xy
    x, y = Transformer.from_crs(crs, graph.crs, always_xy=True).transform(xy[:, 0], xy[:, 1])
    return np.column_stack([x, y])


def snap(graph: RoadGraph, xy: ArrayLike, *, crs: Any = None, max_snap_m: float | None = None) -> Snap:
    """
    Join points to their nearest graph node, the distance counted at walking speed.

    Parameters
    ----------
    graph
        The road graph.
    xy
        ``(n, 2)`` point coordinates, in the graph's CRS unless ``crs`` says otherwise.
    crs
        CRS of ``xy`` if not the graph's.
    max_snap_m
        Points farther than this from every node are off the network (default
        ``settings.default_max_snap_m``; ``math.inf`` to snap every point).

    Returns
    -------
    snap
        A :class:`Snap`.

    Examples
    --------
    >>> import geopandas as gpd, shapely
    >>> roads = gpd.GeoDataFrame({"kmh": [60.0]}, geometry=[shapely.LineString([(0, 0), (1000, 0)])],
    ...                          crs="EPSG:32634")
    >>> g = from_edges(roads, speed="kmh", max_edge_m=1000)
    >>> s = snap(g, [[0, 50], [900, 0], [500, 5000]], max_snap_m=500)
    >>> s.node.tolist(), s.minutes.round(2).tolist(), s.off_network.tolist()
    ([0, 1, -1], [0.6, 1.2, inf], [False, False, True])
    """
    limit = _check_snap(max_snap_m, "snap")
    pts = _to_graph_crs(graph, _as_xy(xy, "xy"), crs)
    n = len(pts)
    node = np.full(n, -1, dtype=np.int64)
    dist = np.full(n, np.inf)
    finite = np.isfinite(pts).all(axis=1)
    if finite.any() and graph.n_nodes:
        d, k = graph.tree.query(pts[finite], k=1, distance_upper_bound=limit)
        ok = np.isfinite(d)
        sel = np.flatnonzero(finite)
        node[sel[ok]] = k[ok]
        dist[sel[ok]] = d[ok]
    off = node < 0
    minutes = _minutes(dist, graph.walk_speed_kmh)
    return Snap(node=node, distance_m=dist, minutes=minutes, off_network=off, max_snap_m=limit)


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
