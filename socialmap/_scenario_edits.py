"""
The edits of a what-if scenario: pure functions over the services GeoDataFrame.

:func:`new_service`, :func:`add_services`, :func:`remove_services`, :func:`move_service`,
:func:`set_capacity` each return a new frame and leave their input alone; :func:`service_changes` lists what
differs between two frames. Import them from :mod:`socialmap.scenario`, which re-exports them.
"""

from __future__ import annotations

import difflib
import logging
import math
import numbers
import os
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely
from pyproj import CRS

from socialmap.crs import require_crs
from socialmap.errors import CRSError, Problem, SocialMapError, ValidationError

# The logger of socialmap.scenario, as before this module was cut from it.
logger = logging.getLogger("socialmap.scenario")


#: Kinds of edit a scenario can hold.
ACTIONS = ("add", "remove", "move", "capacity")


def _check_services(services: object) -> gpd.GeoDataFrame:
    if not isinstance(services, gpd.GeoDataFrame):
        raise SocialMapError(f"`services` must be a GeoDataFrame; got {type(services).__name__}.")
    if "service_id" not in services.columns:
        raise SocialMapError(
            f"`services` has no 'service_id' column; found {list(services.columns)}. Read the services with "
            "socialmap.read_services, or map your id column onto 'service_id'."
        )
    return services


def _ids(services: gpd.GeoDataFrame) -> pd.Series:
    return services["service_id"].astype(str)


def _unknown_ids(services: gpd.GeoDataFrame, ids: Iterable[Any]) -> None:
    known = _ids(services)
    counts = known.value_counts()
    missing, repeated = [], []
    for sid in ids:
        n = int(counts.get(str(sid), 0))
        if n == 0:
            missing.append(str(sid))
        elif n > 1:
            repeated.append(str(sid))
    if missing:
        hints = []
        for sid in missing:
            close = difflib.get_close_matches(sid, list(counts.index), n=1, cutoff=0.5)
            hints.append(f"{sid!r}" + (f" (did you mean {close[0]!r}?)" if close else ""))
        raise SocialMapError(
            f"Unknown service id(s) {', '.join(hints)}; `services` has {len(known)} services "
            f"(ids such as {list(known.head(3))}). Check the ids in the 'service_id' column."
        )
    if repeated:
        raise SocialMapError(
            f"Service id(s) {repeated} appear more than once in `services`, so the edit is ambiguous. "
            "Make every 'service_id' unique."
        )


def _capacity_value(capacity: object) -> float:
    if capacity is None:
        return math.nan
    if (
        isinstance(capacity, bool)
        or not isinstance(capacity, numbers.Real)
        or (math.isinf(float(capacity)))
        or float(capacity) < 0
    ):
        raise SocialMapError(
            f"`capacity` must be a number of places, 0 or more (or None for unknown); got {capacity!r}."
        )
    return float(capacity)


def _as_point(point: object, label: str = "point") -> shapely.Point:
    if isinstance(point, shapely.Geometry):
        geom = point
    elif isinstance(point, Sequence) and not isinstance(point, str) and len(point) == 2:
        try:
            geom = shapely.Point(float(point[0]), float(point[1]))
        except (TypeError, ValueError):
            raise SocialMapError(f"`{label}` must be a shapely Point or (x, y); got {point!r}.") from None
    else:
        raise SocialMapError(f"`{label}` must be a shapely Point or (x, y); got {point!r}.")
    if geom.geom_type != "Point" or geom.is_empty:
        kind = "an empty point" if geom.is_empty else f"a {geom.geom_type}"
        raise SocialMapError(
            f"`{label}` must be one point; got {kind}. Use e.g. `shape.representative_point()`."
        )
    if not np.isfinite(shapely.get_coordinates(geom)).all():
        raise SocialMapError(f"`{label}` has non-finite coordinates: {geom.wkt}.")
    return geom


def _service_type_keys(taxonomy: Any) -> Any:
    if taxonomy is None:
        return None
    if isinstance(taxonomy, str | os.PathLike):
        from socialmap.taxonomy import load_taxonomy

        return load_taxonomy(taxonomy if isinstance(taxonomy, str) else Path(taxonomy))
    return taxonomy


def new_service(
    service_type: str,
    point: Any,
    *,
    crs: Any,
    capacity: float | None = None,
    service_id: str | None = None,
    name: str | None = None,
) -> gpd.GeoDataFrame:
    """
    Describe one new service as a one-row GeoDataFrame, ready for :func:`add_services`.

    Parameters
    ----------
    service_type
        A service-type key of the taxonomy (checked by :func:`add_services`).
    point
        A shapely Point or ``(x, y)`` in ``crs``.
    crs
        CRS of ``point`` (e.g. ``"EPSG:4326"`` for longitude/latitude).
    capacity
        Places; ``None`` for unknown (never taken as 1).
    service_id, name
        Optional; :func:`add_services` makes an id (``new-1``...) and uses it as the name when missing.

    Returns
    -------
    gdf
        One row: ``service_id``, ``name``, ``service_type``, ``capacity``, ``geometry``.

    Examples
    --------
    >>> new_service("csw", (500000, 4700000), crs="EPSG:32634", capacity=20).to_wkt().values.tolist()
    [[None, None, 'csw', 20.0, 'POINT (500000 4700000)']]
    """
    if crs is None:
        raise CRSError("`crs` of new_service() is required: name the CRS the point is in, e.g. 'EPSG:4326'.")
    return gpd.GeoDataFrame(
        {
            "service_id": [service_id],
            "name": [name],
            "service_type": [service_type],
            "capacity": [_capacity_value(capacity)],
        },
        geometry=[_as_point(point)],
        crs=crs,
    )


def add_services(
    services: gpd.GeoDataFrame, new: gpd.GeoDataFrame, *, taxonomy: Any = None
) -> gpd.GeoDataFrame:
    """
    Add services.

    Parameters
    ----------
    services
        The services (column contract: ``service_id``, ``name``, ``service_type``, ``capacity``, points).
    new
        The services to add, in the same CRS, with at least ``service_type`` and point geometries;
        ``service_id`` and ``name`` are made up (``new-1``, ``new-2``...) where missing, and a missing
        ``capacity`` is unknown.
    taxonomy
        A taxonomy (or its name or path) to check ``service_type`` against; ``None`` loads the default
        (Kosovo) one.

    Returns
    -------
    gdf
        ``services`` followed by the new rows (fresh index).

    Raises
    ------
    ValidationError
        Listing every problem of ``new`` (unknown service type, non-point location, negative capacity,
        duplicate id or an id already in ``services``...).
    CRSError
        ``new`` is in another CRS than ``services``.

    Warns
    -----
    UserWarning
        New services without a capacity (they count for distance coverage but add no places).
    """
    from socialmap.taxonomy import load_taxonomy
    from socialmap.validate import validate_services

    svc = _check_services(services)
    if not isinstance(new, gpd.GeoDataFrame):
        raise SocialMapError(f"`new` must be a GeoDataFrame of points; got {type(new).__name__}.")
    require_crs(svc, new, names=("services", "new"))
    tax = _service_type_keys(taxonomy) or load_taxonomy()
    if "service_type" not in new.columns:
        raise SocialMapError(f"`new` has no 'service_type' column; found {list(new.columns)}.")
    new = new.copy()
    taken = set(_ids(svc))
    if "service_id" not in new.columns:
        new["service_id"] = None
    missing = new["service_id"].isna().to_numpy()
    counter = 0
    made = []
    for _ in range(int(missing.sum())):
        counter += 1
        while f"new-{counter}" in taken:
            counter += 1
        made.append(f"new-{counter}")
        taken.add(made[-1])
    new.loc[missing, "service_id"] = made
    if "name" not in new.columns:
        new["name"] = None
    new["name"] = new["name"].where(new["name"].notna(), new["service_id"].astype(str))
    if "capacity" not in new.columns:
        new["capacity"] = np.nan
    clean, problems = validate_services(new, file="new services", taxonomy=tax)
    clash = sorted(set(new["service_id"].astype(str)) & set(_ids(svc)))
    if clash:
        problems.append(
            Problem(
                "new services",
                None,
                "service_id",
                f"service id(s) {clash} already exist in `services`.",
                "give the new services ids not used yet (or leave service_id empty to have them made).",
            )
        )
    errors = [p for p in problems if p.severity == "error"]
    if errors:
        raise ValidationError(errors)
    warned = [str(p) for p in problems if p.severity != "error"]
    if warned:
        import warnings

        warnings.warn("; ".join(warned), UserWarning, stacklevel=2)
    if pd.api.types.is_string_dtype(svc["service_id"]) or svc["service_id"].dtype == object:
        clean["service_id"] = clean["service_id"].astype(str)
    out = pd.concat([svc, clean.set_crs(svc.crs, allow_override=True)], ignore_index=True)
    logger.info("add_services: %d + %d services", len(svc), len(clean))
    return gpd.GeoDataFrame(out, geometry=svc.geometry.name, crs=svc.crs)


def remove_services(services: gpd.GeoDataFrame, ids: str | Iterable[Any]) -> gpd.GeoDataFrame:
    """
    Remove services by id.

    Parameters
    ----------
    services
        The services.
    ids
        One ``service_id`` or several (compared as text).

    Returns
    -------
    gdf
        A copy without those rows (the index of the others is kept).

    Raises
    ------
    SocialMapError
        An id is unknown (with the closest known id) or appears more than once.
    """
    svc = _check_services(services)
    wanted = [ids] if isinstance(ids, str | int) else list(ids)
    if not wanted:
        raise SocialMapError("`ids` is empty: name at least one service to remove.")
    _unknown_ids(svc, wanted)
    keep = ~_ids(svc).isin({str(i) for i in wanted})
    return svc.loc[keep].copy()


def move_service(
    services: gpd.GeoDataFrame, service_id: Any, point: Any, *, crs: Any = None
) -> gpd.GeoDataFrame:
    """
    Move one service to a new location.

    Parameters
    ----------
    services
        The services.
    service_id
        The service to move.
    point
        A shapely Point or ``(x, y)``, in ``crs``.
    crs
        CRS of ``point``; ``None`` means the services' own. Another CRS is converted to the services'
        (an explicit request, logged).

    Returns
    -------
    gdf
        A copy with the service's geometry replaced.

    Raises
    ------
    SocialMapError
        Unknown id, a location that is not one point.
    """
    svc = _check_services(services)
    _unknown_ids(svc, [service_id])
    geom = _as_point(point)
    if crs is not None and svc.crs is not None and not CRS.from_user_input(crs).equals(svc.crs):
        logger.info("move_service: converting the new location from %s to %s", crs, svc.crs)
        geom = gpd.GeoSeries([geom], crs=crs).to_crs(svc.crs).iloc[0]
    out = svc.copy()
    out.loc[_ids(svc) == str(service_id), out.geometry.name] = geom
    return out


def set_capacity(services: gpd.GeoDataFrame, service_id: Any, capacity: float | None) -> gpd.GeoDataFrame:
    """
    Change the capacity of one service.

    Parameters
    ----------
    services
        The services.
    service_id
        The service to change.
    capacity
        Places, 0 or more; ``None`` for unknown.

    Returns
    -------
    gdf
        A copy with the new capacity (column ``capacity`` as float).

    Raises
    ------
    SocialMapError
        Unknown id, a negative or non-numeric capacity.
    """
    svc = _check_services(services)
    value = _capacity_value(capacity)
    _unknown_ids(svc, [service_id])
    out = svc.copy()
    if "capacity" not in out.columns:
        out["capacity"] = np.nan
    out["capacity"] = pd.to_numeric(out["capacity"], errors="coerce").astype(float)
    out.loc[_ids(svc) == str(service_id), "capacity"] = value
    return out


def service_changes(before: gpd.GeoDataFrame, after: gpd.GeoDataFrame) -> gpd.GeoDataFrame:
    """
    List the services a scenario added, removed, moved or resized (for a map layer or a table).

    Parameters
    ----------
    before, after
        Services before and after the edits (same CRS), matched by ``service_id``.

    Returns
    -------
    gdf
        One row per changed service: ``service_id``, ``name``, ``service_type``, ``change``
        (``added``, ``removed``, ``moved``, ``capacity`` or ``moved, capacity``), ``capacity_before``,
        ``capacity_after``, ``moved_m`` (distance moved, metres in a metric CRS) and ``geometry`` (the
        location after, or before for a removed service).
    """
    b, a = _check_services(before), _check_services(after)
    require_crs(b, a, names=("before", "after"))

    def frame(g: gpd.GeoDataFrame) -> pd.DataFrame:
        cap = pd.to_numeric(g["capacity"], errors="coerce") if "capacity" in g.columns else np.nan
        return pd.DataFrame(
            {
                "service_id": _ids(g).to_numpy(),
                "name": g["name"].to_numpy() if "name" in g.columns else None,
                "service_type": g["service_type"].to_numpy() if "service_type" in g.columns else None,
                "capacity": np.asarray(cap, dtype=float) * np.ones(len(g)),
                "geometry": g.geometry.to_numpy(),
            }
        ).set_index("service_id")

    fb, fa = frame(b), frame(a)
    rows = []
    for sid in list(fb.index) + [s for s in fa.index if s not in fb.index]:
        was, now = sid in fb.index, sid in fa.index
        if was and now:
            rb, ra = fb.loc[sid], fa.loc[sid]
            kinds = []
            moved = float(shapely.distance(rb["geometry"], ra["geometry"]))
            if not shapely.equals_exact(rb["geometry"], ra["geometry"], tolerance=0):
                kinds.append("moved")
            cb, ca = rb["capacity"], ra["capacity"]
            if not ((np.isnan(cb) and np.isnan(ca)) or cb == ca):
                kinds.append("capacity")
            if not kinds:
                continue
            rows.append(
                (sid, ra["name"], ra["service_type"], ", ".join(kinds), cb, ca, moved, ra["geometry"])
            )
        elif now:
            ra = fa.loc[sid]
            rows.append(
                (sid, ra["name"], ra["service_type"], "added", np.nan, ra["capacity"], np.nan, ra["geometry"])
            )
        else:
            rb = fb.loc[sid]
            rows.append(
                (
                    sid,
                    rb["name"],
                    rb["service_type"],
                    "removed",
                    rb["capacity"],
                    np.nan,
                    np.nan,
                    rb["geometry"],
                )
            )
    cols = ["service_id", "name", "service_type", "change", "capacity_before", "capacity_after", "moved_m"]
    data = pd.DataFrame([r[:-1] for r in rows], columns=cols)
    return gpd.GeoDataFrame(data, geometry=[r[-1] for r in rows], crs=a.crs)
