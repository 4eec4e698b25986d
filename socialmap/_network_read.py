"""
Reading roads into a road graph: an OpenStreetMap extract, or any road layer with a speed or time column.

Into a :class:`~socialmap.network.RoadGraph`: an OpenStreetMap extract (:func:`read_osm`, with
its speeds by ``highway`` class, ``maxspeed``, one-way and access tags) or any road layer with a speed or time
column (:func:`from_edges`); :func:`read` opens either a kept graph or an extract.

Import these names from :mod:`socialmap.network`, which re-exports them.
"""

from __future__ import annotations

import math
import numbers
import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from numpy.typing import NDArray

from socialmap._network_graph import (
    _NO_ACCESS,
    _ONEWAY_BACKWARD,
    _ONEWAY_FORWARD,
    _ONEWAY_NO,
    _OSMCONF,
    _YES_ACCESS,
    DRIVE_SPEEDS_KMH,
    MAX_EDGE_M,
    MAXSPEED_FACTOR,
    SPEED_SOURCES,
    WALK_HIGHWAYS,
    WALK_SPEED_KMH,
    Mode,
    RoadGraph,
    _build,
    _check_mode,
    _check_positive,
    _crs_string,
    _metric_crs,
    _project,
    load,
)
from socialmap.errors import N_, DataSourceError, Problem, SocialMapError, ValidationError


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
