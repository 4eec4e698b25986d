"""
The road graph: how it is built from road lines, kept on disk, and how points join it (snapping).

:class:`RoadGraph` and its building (``_build``), :func:`save` / :func:`load`, :func:`snap`, and the speeds by
road class that the readers use.

Import these names from :mod:`socialmap.network` (which re-exports them and explains the choices: how a graph
is built, the speeds, snapping); roads are read by :mod:`socialmap._network_read`.
"""

from __future__ import annotations

import json
import logging
import math
import numbers
import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path
from typing import Any, Literal

import numpy as np
import pandas as pd
from numpy.typing import ArrayLike, NDArray

from socialmap import settings
from socialmap.errors import N_, DataSourceError, SocialMapError

# The logger of socialmap.network, as before this module was cut from it.
logger = logging.getLogger("socialmap.network")

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


_OSMCONF = Path(__file__).parent / "data" / "osmconf_roads.ini"


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
