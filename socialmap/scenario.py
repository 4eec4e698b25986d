"""
What-if scenarios: add, remove or move services, change capacities, and see what changes.

Edits are pure functions over the services GeoDataFrame (:func:`add_services`, :func:`remove_services`,
:func:`move_service`, :func:`set_capacity`); each returns a new frame and leaves its input alone. A
:class:`Scenario` is a named list of such edits; :func:`run_scenario` applies one to the base inputs,
re-runs :func:`socialmap.pipeline.analyze` with the same options, and :func:`compare` sets the two
results side by side per area and service type (before, after, delta). :func:`compare_many` puts
several named scenarios side by side.

What a delta means depends on the method, which is the pipeline's: with 2SFCA an added service with
a capacity never raises any area's gap (places per person only grow) and one of unknown capacity adds
no places; with distance coverage an added service never shrinks coverage. When an edit makes the
pipeline switch a service type's method (e.g. the first known capacity turns distance coverage into
2SFCA), before and after are not comparable for that type, and :attr:`Comparison.notes` says so.
"""

from __future__ import annotations

import difflib
import logging
import math
import numbers
import os
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any, Literal

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely
from pyproj import CRS

from socialmap.crs import require_crs
from socialmap.errors import N_, CRSError, Message, Problem, SocialMapError, ValidationError
from socialmap.pipeline import AnalysisConfig, Result, analyze

logger = logging.getLogger(__name__)

__all__ = [
    "ACTIONS",
    "COMPARED_METRICS",
    "Comparison",
    "Edit",
    "Inputs",
    "Scenario",
    "ScenarioRun",
    "add_services",
    "compare",
    "compare_many",
    "move_service",
    "new_service",
    "read_scenario",
    "remove_services",
    "run_scenario",
    "run_scenarios",
    "service_changes",
    "set_capacity",
]

#: Kinds of edit a scenario can hold.
ACTIONS = ("add", "remove", "move", "capacity")

#: Metrics of ``Result.table`` compared before / after. Extensive: need, services, supply,
#: reachable_places, unmet_need; intensive: covered_share, access, gap_score.
COMPARED_METRICS = (
    "need",
    "services",
    "supply",
    "covered_share",
    "access",
    "reachable_places",
    "unmet_need",
    "gap_score",
)
_EXTENSIVE = ("need", "services", "supply", "reachable_places", "unmet_need")


# ----------------------------------------------------------------------------------------------------
# Checks shared by the edits
# ----------------------------------------------------------------------------------------------------


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


# ----------------------------------------------------------------------------------------------------
# Edits (pure functions)
# ----------------------------------------------------------------------------------------------------


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


# ----------------------------------------------------------------------------------------------------
# Scenario: a named list of edits
# ----------------------------------------------------------------------------------------------------


@dataclass(frozen=True, eq=False)
class Edit:
    """
    One edit of a :class:`Scenario`.

    Attributes
    ----------
    action
        One of :data:`ACTIONS`.
    service_ids
        Services removed (``"remove"``), or the one moved / resized.
    new
        Services added (``"add"``), with their own CRS.
    point
        New location (``"move"``), in ``crs``.
    crs
        CRS of ``point`` (``None``: the services' own).
    capacity
        New capacity (``"capacity"``); NaN for unknown.
    """

    action: Literal["add", "remove", "move", "capacity"]
    service_ids: tuple[str, ...] = ()
    new: gpd.GeoDataFrame | None = None
    point: Any = None
    crs: Any = None
    capacity: float = math.nan

    def apply(self, services: gpd.GeoDataFrame, *, taxonomy: Any = None) -> gpd.GeoDataFrame:
        """Return ``services`` with this edit made (see the module's edit functions)."""
        if self.action == "add":
            assert self.new is not None
            new = self.new
            if services.crs is not None and new.crs is not None and not new.crs.equals(services.crs):
                logger.info("scenario: converting added services from %s to %s", new.crs, services.crs)
                new = new.to_crs(services.crs)
            return add_services(services, new, taxonomy=taxonomy)
        if self.action == "remove":
            return remove_services(services, self.service_ids)
        if self.action == "move":
            return move_service(services, self.service_ids[0], self.point, crs=self.crs)
        return set_capacity(
            services, self.service_ids[0], None if math.isnan(self.capacity) else self.capacity
        )

    def rows(self) -> list[dict[str, Any]]:
        """Describe the edit as table rows (one per service concerned)."""
        if self.action == "add":
            assert self.new is not None
            pts = self.new.geometry
            return [
                {
                    "action": "add",
                    "service_id": r.get("service_id"),
                    "service_type": r.get("service_type"),
                    "name": r.get("name"),
                    "capacity": r.get("capacity", math.nan),
                    "x": float(p.x),
                    "y": float(p.y),
                    "crs": self.new.crs.to_string() if self.new.crs is not None else None,
                }
                for r, p in zip(self.new.drop(columns=pts.name).to_dict("records"), pts, strict=True)
            ]
        base = {"service_type": None, "name": None, "capacity": math.nan, "x": math.nan, "y": math.nan}
        if self.action == "remove":
            return [{"action": "remove", "service_id": s, **base, "crs": None} for s in self.service_ids]
        if self.action == "move":
            crs = CRS.from_user_input(self.crs).to_string() if self.crs is not None else None
            return [
                {
                    "action": "move",
                    "service_id": self.service_ids[0],
                    **base,
                    "x": float(self.point.x),
                    "y": float(self.point.y),
                    "crs": crs,
                }
            ]
        return [
            {
                "action": "capacity",
                "service_id": self.service_ids[0],
                **{**base, "capacity": self.capacity},
                "crs": None,
            }
        ]


@dataclass(frozen=True, eq=False)
class Scenario:
    """
    A named list of edits to the services, applied in order.

    Build one step by step (each method returns a new scenario)::

        s = (Scenario("two day centres")
             .add(new_service("day_care_disability", (21.0, 42.6), crs="EPSG:4326", capacity=30))
             .remove("svc-17")
             .set_capacity("svc-3", 50))

    Attributes
    ----------
    name
        Shown in comparisons and exports.
    edits
        The :class:`Edit` list.
    description
        Free text.
    """

    name: str
    edits: tuple[Edit, ...] = ()
    description: str = ""

    def __post_init__(self) -> None:
        if not isinstance(self.name, str) or not self.name.strip():
            raise SocialMapError(f"A scenario needs a non-empty name; got {self.name!r}.")

    def _with(self, edit: Edit) -> Scenario:
        return replace(self, edits=(*self.edits, edit))

    def add(self, new: gpd.GeoDataFrame) -> Scenario:
        """Return the scenario with services added (a GeoDataFrame, e.g. from :func:`new_service`)."""
        if not isinstance(new, gpd.GeoDataFrame):
            raise SocialMapError(f"`new` must be a GeoDataFrame of points; got {type(new).__name__}.")
        if new.crs is None:
            raise CRSError(
                "`new` has no CRS. Set the one its coordinates are in, e.g. `.set_crs('EPSG:4326')`."
            )
        return self._with(Edit("add", new=new.copy()))

    def remove(self, *ids: Any) -> Scenario:
        """Return the scenario with services removed by id."""
        if not ids:
            raise SocialMapError("remove() needs at least one service id.")
        return self._with(Edit("remove", service_ids=tuple(str(i) for i in ids)))

    def move(self, service_id: Any, point: Any, *, crs: Any = None) -> Scenario:
        """Return the scenario with a service moved to ``point`` (in ``crs``; ``None``: the services')."""
        return self._with(Edit("move", service_ids=(str(service_id),), point=_as_point(point), crs=crs))

    def set_capacity(self, service_id: Any, capacity: float | None) -> Scenario:
        """Return the scenario with a service's capacity changed (``None``: unknown)."""
        return self._with(
            Edit("capacity", service_ids=(str(service_id),), capacity=_capacity_value(capacity))
        )

    def apply(self, services: gpd.GeoDataFrame, *, taxonomy: Any = None) -> gpd.GeoDataFrame:
        """
        Apply the edits in order.

        Parameters
        ----------
        services
            The base services.
        taxonomy
            Taxonomy to check added services' types against (default: Kosovo's).

        Returns
        -------
        gdf
            The edited services. Locations of added or moved services carry their own CRS and are
            converted to the services' CRS.

        Raises
        ------
        SocialMapError
            Naming the edit (its position and action) that failed and why.
        """
        out = _check_services(services)
        tax = _service_type_keys(taxonomy)
        for pos, edit in enumerate(self.edits, start=1):
            try:
                out = edit.apply(out, taxonomy=tax)
            except ValidationError as exc:
                exc.problems.insert(
                    0,
                    Problem(
                        f"scenario {self.name!r}",
                        pos,
                        None,
                        f"edit {pos} ({edit.action}) failed.",
                        "see below.",
                    ),
                )
                raise ValidationError(exc.problems) from None
            except SocialMapError as exc:
                raise type(exc)(f"Scenario {self.name!r}, edit {pos} ({edit.action}): {exc}") from None
        return out

    def to_frame(self) -> pd.DataFrame:
        """
        Return the edits as a table, one row per service concerned.

        Columns: ``scenario``, ``step``, ``action``, ``service_id``, ``service_type``, ``name``,
        ``capacity``, ``x``, ``y``, ``crs``. :func:`read_scenario` reads such a table back.
        """
        rows = []
        for step, edit in enumerate(self.edits, start=1):
            for r in edit.rows():
                rows.append({"scenario": self.name, "step": step, **r})
        cols = [
            "scenario",
            "step",
            "action",
            "service_id",
            "service_type",
            "name",
            "capacity",
            "x",
            "y",
            "crs",
        ]
        return pd.DataFrame(rows, columns=cols)

    @classmethod
    def from_frame(cls, frame: pd.DataFrame, *, name: str | None = None, crs: Any = "EPSG:4326") -> Scenario:
        """
        Build a scenario from a table of edits.

        Parameters
        ----------
        frame
            One row per edit: ``action`` (``add``, ``remove``, ``move`` or ``capacity``), ``service_id``
            (for add: optional), ``service_type`` (add), ``name`` (add, optional), ``capacity`` (add:
            optional; capacity: the new value, empty for unknown), ``x``/``y`` or ``lon``/``lat`` (add,
            move). Optional ``crs`` per row, ``scenario`` (the name) and ``step`` (order; else row order).
        name
            The scenario's name; default the ``scenario`` column's single value.
        crs
            CRS of ``x``/``y`` where a row names none (``lon``/``lat`` are always EPSG:4326).

        Returns
        -------
        scenario
            The :class:`Scenario`.

        Raises
        ------
        ValidationError
            Listing every bad row (unknown action, missing id or location, bad capacity).
        """
        df = pd.DataFrame(frame).copy()
        df.columns = [str(c).strip().lower() for c in df.columns]
        _refuse_repeated_columns(df.columns, f"scenario {name!r}" if name is not None else "scenario")
        if name is None:
            names = df["scenario"].dropna().astype(str).unique() if "scenario" in df.columns else []
            if len(names) != 1:
                raise SocialMapError(
                    "Give the scenario a `name` (the table has no single value in a 'scenario' column)."
                )
            name = str(names[0])
        if "action" not in df.columns:
            found = [str(c) for c in df.columns[:30]] + (["..."] if len(df.columns) > 30 else [])
            raise SocialMapError(f"The edits table has no 'action' column; found {found}.")
        df["_row"] = np.arange(1, len(df) + 1)  # row numbers as in the file, whatever the step order
        problems: list[Problem] = []
        label = f"scenario {name!r}"
        if "step" in df.columns:
            steps = [math.nan if _blank(v) else _number(v) for v in df["step"]]
            for row_no, value in zip(df["_row"], steps, strict=True):
                if not isinstance(value, float) or math.isinf(value):
                    problems.append(
                        Problem(
                            label,
                            int(row_no),
                            "step",
                            Message(N_("'step' is '{value}', not a number."), value=str(value)[:40]),
                            N_("Number the edits 1, 2, 3… in the order they apply, or leave 'step' empty."),
                        )
                    )
            if problems:
                raise ValidationError(problems)
            df["step"] = steps
            df = df.sort_values("step", kind="stable")
        lonlat = "lon" in df.columns and "lat" in df.columns
        xcol, ycol = ("lon", "lat") if lonlat else ("x", "y")
        scenario = cls(name)
        for _, row in df.iterrows():
            row_no = int(row["_row"])
            row_crs = "EPSG:4326" if lonlat else (crs if _blank(row.get("crs")) else row.get("crs"))
            try:
                scenario = _edit_from_row(scenario, row, xcol, ycol, row_crs)
            except _RowError as exc:
                problems.append(Problem(label, row_no, exc.column, str(exc), exc.fix))
            except SocialMapError as exc:
                problems.append(Problem(label, row_no, None, str(exc), "correct the row."))
        if problems:
            raise ValidationError(problems)
        return scenario


def _refuse_repeated_columns(columns: Iterable[Any], label: str) -> None:
    """Raise a ValidationError naming every column that appears twice, capitals and spaces aside."""
    names = [str(c).strip().lower() for c in columns]
    repeated = sorted({c for c in names if names.count(c) > 1})
    if repeated:
        raise ValidationError(
            [
                Problem(
                    label,
                    None,
                    col,
                    Message(
                        N_("Two or more columns are named '{col}' (capitals and spaces aside)."), col=col
                    ),
                    Message(N_("Keep one column '{col}': rename or delete the others."), col=col),
                )
                for col in repeated
            ]
        )


class _RowError(SocialMapError):
    def __init__(self, column: str | None, message: str, fix: str) -> None:
        super().__init__(message)
        self.column, self.fix = column, fix


def _edit_from_row(scenario: Scenario, row: pd.Series, xcol: str, ycol: str, crs: Any) -> Scenario:
    """Return ``scenario`` with the edit of one table row appended (raises _RowError)."""
    action = str(row.get("action", "")).strip().lower()
    sid = None if _blank(row.get("service_id")) else str(row.get("service_id")).strip()
    if action not in ACTIONS:
        raise _RowError("action", f"unknown action {action!r}.", f"use one of {', '.join(ACTIONS)}.")
    if action != "add" and sid is None:
        raise _RowError("service_id", f"'{action}' needs a service_id.", "name the service to change.")
    if action == "remove":
        return scenario.remove(sid)
    cap = row.get("capacity")
    capacity = None if _blank(cap) else _number(cap)
    if action == "capacity":
        return scenario.set_capacity(sid, capacity)
    try:
        x, y = float(row.get(xcol)), float(row.get(ycol))
    except (TypeError, ValueError):
        x = y = math.nan
    if not (math.isfinite(x) and math.isfinite(y)):
        raise _RowError(xcol, f"'{action}' needs a location in '{xcol}' and '{ycol}'.", "fill in both.")
    point = shapely.Point(x, y)
    if action == "move":
        return scenario.move(sid, point, crs=crs)
    if _blank(row.get("service_type")):
        raise _RowError("service_type", "'add' needs a service_type.", "name the type of the new service.")
    name = None if _blank(row.get("name")) else str(row.get("name"))
    new = new_service(
        str(row.get("service_type")), point, crs=crs, capacity=capacity, service_id=sid, name=name
    )
    return scenario.add(new)


def _blank(value: Any) -> bool:
    return (
        value is None
        or (isinstance(value, float) and math.isnan(value))
        or (isinstance(value, str) and not value.strip())
    )


def _number(value: Any) -> Any:
    try:
        return float(value)
    except (TypeError, ValueError):
        return value  # rejected with a clear message by _capacity_value


def read_scenario(
    path: str | os.PathLike[str], *, name: str | None = None, crs: Any = "EPSG:4326"
) -> Scenario:
    """
    Read a scenario from a CSV or XLSX table of edits (see :meth:`Scenario.from_frame`).

    The file is read with the loaders' guards (:mod:`socialmap.io`: encodings, delimiters, decimal
    commas, and what the file will cost checked before it is decoded), within the limits of a plan:
    at most ``settings.max_plan_bytes`` bytes and ``settings.max_plan_edits`` edits.

    Parameters
    ----------
    path
        The file (``.csv`` or ``.xlsx``).
    name
        The scenario's name; default the ``scenario`` column, else the file name without suffix.
    crs
        CRS of ``x``/``y`` coordinates where a row names none.

    Returns
    -------
    scenario
        The :class:`Scenario`.

    Raises
    ------
    DataSourceError
        If the file cannot be read, is not CSV or XLSX, or is over a limit.
    ValidationError
        Listing every bad row.
    """
    from socialmap import io as sm_io
    from socialmap import settings
    from socialmap.errors import DataSourceError
    from socialmap.i18n import N_
    from socialmap.validate import parse_number

    file = Path(path)
    label = str(file)
    if file.suffix.lower() not in (".csv", ".txt", ".tsv", ".xlsx", ".xlsm"):
        raise DataSourceError(
            N_("{file}: a plan of edits must be a CSV or XLSX file (.csv or .xlsx). Fix: save it as one."),
            file=label,
        )
    limits = sm_io._Limits(
        settings.max_plan_bytes, settings.max_plan_edits, "max_plan_bytes", "max_plan_edits"
    )
    source = sm_io._read_source(file, limits=limits)
    if source.frame is None:
        sm_io._outcome(label, "edits", source.problems)
        raise AssertionError("unreachable: an unread source always carries an error")
    df = pd.DataFrame(source.frame)
    _refuse_repeated_columns(df.columns, label)
    for col in df.columns:
        if str(col).strip().lower() in ("step", "capacity", "x", "y", "lon", "lat"):
            grouping = str(col).strip().lower() in ("step", "capacity")
            df[col] = [
                _number(v) if not isinstance(v, str) else _parsed(v, source.decimal, grouping, parse_number)
                for v in df[col]
            ]
    if name is None and not ("scenario" in df.columns and df["scenario"].dropna().nunique() == 1):
        name = file.stem
    return Scenario.from_frame(df, name=name, crs=crs)


def _parsed(value: str, decimal: str | None, grouping: bool, parse: Any) -> Any:
    """Return a plan cell as a number when it is one (``"20,65"`` too), else as it is."""
    number, ok = parse(value, decimal=decimal, grouping=grouping)
    return number if ok else value


# ----------------------------------------------------------------------------------------------------
# Base inputs and running
# ----------------------------------------------------------------------------------------------------


@dataclass(frozen=True, eq=False)
class Inputs:
    """
    The inputs of :func:`socialmap.pipeline.analyze` a scenario starts from.

    Attributes
    ----------
    services
        The base services (the scenario edits these).
    areas, population
        Frames or files, or ``None`` to take the demo's.
    taxonomy
        A taxonomy, its name or path, or ``None`` (the demo's, else Kosovo's).
    demo
        Name of a demo supplying whatever is not given (and its provenance).
    demand
        Demand points or a raster, for ``spreading="points"``.
    network
        A road graph (:class:`socialmap.network.RoadGraph`) or its file: before and after are then both
        measured in travel time on it (a new site's reach is its catchment in minutes).
    """

    services: gpd.GeoDataFrame
    areas: Any = None
    population: Any = None
    taxonomy: Any = None
    demo: str | None = None
    demand: Any = None
    network: Any = None

    @classmethod
    def from_demo(cls, name: str = "kosovo") -> Inputs:
        """Take every input from a demo (``"kosovo"``)."""
        from socialmap.datasets import load_demo

        demo = load_demo(name)
        return cls(services=demo.services, taxonomy=demo.taxonomy, demo=name)

    @classmethod
    def from_mapping(cls, inputs: Mapping[str, Any]) -> Inputs:
        """
        Build from the keyword arguments of ``analyze``.

        ``areas``, ``services``, ``population``, ``taxonomy``, ``demo``, ``demand`` and ``network``; a
        services file is read with :func:`socialmap.io.read_services`, and missing services come from the
        demo. A road-network file is read once here, so both runs share the graph.
        """
        allowed = {"areas", "services", "population", "taxonomy", "demo", "demand", "network", "network_mode"}
        unknown = sorted(set(inputs) - allowed)
        if unknown:
            raise SocialMapError(f"Unknown base input(s) {unknown}; give some of {sorted(allowed)}.")
        demo = inputs.get("demo")
        tax = inputs.get("taxonomy")
        services = inputs.get("services")
        if demo is not None and (services is None or tax is None):
            from socialmap.datasets import load_demo

            base = load_demo(demo)
            services = base.services if services is None else services
            tax = base.taxonomy if tax is None else tax
        if tax is None or isinstance(tax, str | os.PathLike):
            from socialmap.taxonomy import load_taxonomy

            tax = load_taxonomy(tax if tax is None or isinstance(tax, str) else Path(tax))
        if services is None:
            raise SocialMapError("The base inputs have no services: give `services` or `demo`.")
        if not isinstance(services, pd.DataFrame):
            from socialmap.io import read_services

            services = read_services(services, taxonomy=tax)
        return cls(
            services=services,
            areas=inputs.get("areas"),
            population=inputs.get("population"),
            taxonomy=tax,
            demo=demo,
            demand=inputs.get("demand"),
            network=_road_graph(inputs.get("network"), inputs.get("network_mode", "drive")),
        )

    def analyze(
        self, services: gpd.GeoDataFrame | None = None, *, config: AnalysisConfig | None = None
    ) -> Result:
        """Run :func:`socialmap.pipeline.analyze` on these inputs, with ``services`` replacing the base."""
        return analyze(
            self.areas,
            self.services if services is None else services,
            self.population,
            demo=self.demo,
            taxonomy=self.taxonomy,
            config=config,
            demand=self.demand,
            network=self.network,
        )


def _road_graph(network: Any, mode: str) -> Any:
    if network is None or not isinstance(network, str | os.PathLike):
        return network
    from socialmap.network import read

    return read(network, mode=mode)  # type: ignore[arg-type]


def _inputs(base_inputs: Inputs | Mapping[str, Any]) -> Inputs:
    if isinstance(base_inputs, Inputs):
        return base_inputs
    if isinstance(base_inputs, Mapping):
        return Inputs.from_mapping(base_inputs)
    raise SocialMapError(
        "`base_inputs` must be socialmap.scenario.Inputs or a mapping of analyze() arguments such as "
        f"{{'demo': 'kosovo'}}; got {type(base_inputs).__name__}."
    )


@dataclass(frozen=True, eq=False)
class ScenarioRun:
    """
    A scenario run against its base.

    Attributes
    ----------
    scenario
        The :class:`Scenario`.
    services
        The edited services.
    base, result
        Analysis results before and after (the latter's provenance records the scenario's edits).
    comparison
        :func:`compare` of the two.
    changes
        :func:`service_changes`: the services added, removed, moved or resized.
    """

    scenario: Scenario
    services: gpd.GeoDataFrame
    base: Result
    result: Result
    comparison: Comparison
    changes: gpd.GeoDataFrame


def run_scenario(
    base_inputs: Inputs | Mapping[str, Any],
    scenario: Scenario,
    config: AnalysisConfig | None = None,
    *,
    base: Result | None = None,
) -> ScenarioRun:
    """
    Apply a scenario to the base inputs and analyse before and after with the same options.

    Parameters
    ----------
    base_inputs
        :class:`Inputs`, or a mapping of ``analyze`` arguments (e.g. ``{"demo": "kosovo"}``).
    scenario
        The :class:`Scenario`.
    config
        Analysis options, used for both runs (default :class:`AnalysisConfig()`).
    base
        The base result if already computed with the same inputs and ``config`` (saves one run).

    Returns
    -------
    run
        A :class:`ScenarioRun`.
    """
    if not isinstance(scenario, Scenario):
        raise SocialMapError(
            f"`scenario` must be a socialmap.scenario.Scenario; got {type(scenario).__name__}."
        )
    inputs = _inputs(base_inputs)
    edited = scenario.apply(inputs.services, taxonomy=inputs.taxonomy)
    before = base if base is not None else inputs.analyze(config=config)
    changes = service_changes(inputs.services, edited)
    _check_inside_areas(scenario, changes, before.areas)
    after = inputs.analyze(edited, config=config)
    edits = scenario.to_frame().drop(columns="scenario").to_dict("records")
    after = replace(
        after,
        provenance={
            **after.provenance,
            "scenario": {"name": scenario.name, "description": scenario.description, "edits": edits},
        },
    )
    logger.info("scenario %r: %d edit(s)", scenario.name, len(scenario.edits))
    return ScenarioRun(scenario, edited, before, after, compare(before, after), changes)


def _check_inside_areas(scenario: Scenario, changes: gpd.GeoDataFrame, areas: gpd.GeoDataFrame) -> None:
    """
    Refuse added or moved services that lie outside every area (swapped or foreign coordinates).

    Such a service would reach no one the analysis counts, and the comparison would quietly show no
    change. Where swapping longitude and latitude puts the point in an area, the message says which.
    """
    placed = changes[changes["change"].astype(str).str.contains("added|moved", regex=True)]
    placed = placed[placed.geometry.notna() & ~placed.geometry.is_empty]
    if placed.empty or areas is None or len(areas) == 0:
        return
    at = placed.to_crs(areas.crs)
    inside = gpd.sjoin(at[["geometry"]], areas[["geometry"]], how="left", predicate="intersects")
    outside = inside[inside["index_right"].isna()].index.unique()
    if len(outside) == 0:
        return
    lonlat = placed.loc[outside].to_crs("EPSG:4326")
    swapped = gpd.GeoSeries(
        shapely.points(lonlat.geometry.y.to_numpy(), lonlat.geometry.x.to_numpy()), crs="EPSG:4326"
    ).to_crs(areas.crs)
    names = areas["name"] if "name" in areas.columns else areas["area_id"]
    problems = []
    for (_, row), flipped in zip(lonlat.iterrows(), swapped, strict=True):
        hit = areas.index[areas.geometry.intersects(flipped)]
        where = Message(
            N_("The new service '{service}' at longitude {lon}, latitude {lat} lies outside every area.")
            if row["change"] == "added"
            else N_(
                "The service '{service}', moved to longitude {lon}, latitude {lat}, lies outside every area."
            ),
            service=str(row["service_id"]),
            lon=f"{row.geometry.x:.5f}",
            lat=f"{row.geometry.y:.5f}",
        )
        if len(hit):
            message = Message(
                N_("{where} With longitude and latitude swapped it would lie in {area}."),
                where=where,
                area=str(names.loc[hit[0]]),
            )
        else:
            message = where
        problems.append(
            Problem(
                f"scenario {scenario.name!r}",
                None,
                "lon/lat",
                message,
                N_(
                    "Check the coordinates: longitude (east, e.g. 21.1) first, then latitude (north, e.g. "
                    "42.6); give the place inside one of the areas analysed."
                ),
            )
        )
    raise ValidationError(problems)


def run_scenarios(
    base_inputs: Inputs | Mapping[str, Any],
    scenarios: Sequence[Scenario],
    config: AnalysisConfig | None = None,
) -> dict[str, ScenarioRun]:
    """
    Run several scenarios against one base (analysed once).

    Returns
    -------
    runs
        Scenario name → :class:`ScenarioRun`; pass ``{"base": runs[n].base, **{n: r.result ...}}`` to
        :func:`compare_many` for a side-by-side table.
    """
    names = [s.name for s in scenarios]
    dup = sorted({n for n in names if names.count(n) > 1})
    if dup:
        raise SocialMapError(f"Scenario names must be unique; repeated: {dup}.")
    inputs = _inputs(base_inputs)
    base = inputs.analyze(config=config)
    return {s.name: run_scenario(inputs, s, config, base=base) for s in scenarios}


# ----------------------------------------------------------------------------------------------------
# Comparison
# ----------------------------------------------------------------------------------------------------


@dataclass(frozen=True, eq=False)
class Comparison:
    """
    Two analysis results side by side.

    Attributes
    ----------
    table
        One row per area × service type: ``area_id``, ``name``, ``service_type`` and, for each metric of
        :data:`COMPARED_METRICS`, ``<metric>_before``, ``<metric>_after`` and ``<metric>_delta``
        (after − before).
    totals
        One row per service type, over all areas: extensive metrics summed, ``gap_score`` =
        100 × unmet_need / need of the sums, each before / after / delta.
    areas
        One row per area (GeoDataFrame, for a map): ``composite_gap_before/_after/_delta`` and, per
        service type ``s``, ``gap_score_delta_<s>`` and ``unmet_need_delta_<s>``.
    notes
        Why some deltas must be read with care (a method or catchment that differs between the runs).
    before, after
        The two results compared (for :meth:`published`).
    is_published
        Whether small counts of sensitive groups are already hidden (:meth:`published`).
    """

    table: pd.DataFrame
    totals: pd.DataFrame
    areas: gpd.GeoDataFrame
    notes: tuple[str, ...] = field(default_factory=tuple)
    before: Result | None = field(default=None, repr=False)
    after: Result | None = field(default=None, repr=False)
    is_published: bool = False

    def published(self, *, threshold: float | None = None) -> Comparison:
        """
        Return the comparison as it may be shown or written: small counts of sensitive groups hidden.

        Each side is hidden as :func:`socialmap.privacy.protect` hides its own result, a delta where
        either side is (:func:`socialmap.privacy.protect_comparison`).

        Raises
        ------
        SocialMapError
            If the comparison does not know the results it compares (not made by :func:`compare`).
        """
        if self.is_published:
            return self
        if self.before is None or self.after is None:
            raise SocialMapError(
                "This comparison does not know the results it compares, so its small counts cannot be "
                "hidden: make it with socialmap.scenario.compare(before, after)."
            )
        from socialmap.privacy import protect, protect_comparison

        out = protect_comparison(
            self, protect(self.before, threshold=threshold), protect(self.after, threshold=threshold)
        )
        return replace(out, before=None, after=None, is_published=True)

    def map_frame(self, service_type: str | None = None, metric: str = "gap_score") -> gpd.GeoDataFrame:
        """
        Return one row per area with ``<metric>_before``, ``_after`` and ``_delta`` for a map.

        Parameters
        ----------
        service_type
            The type to map; ``None`` maps the composite gap.
        metric
            One of :data:`COMPARED_METRICS` (ignored for the composite).
        """
        geo = self.areas[["area_id", *[c for c in ("name",) if c in self.areas.columns], "geometry"]]
        if service_type is None:
            cols = ["composite_gap_before", "composite_gap_after", "composite_gap_delta"]
            return gpd.GeoDataFrame(geo.join(self.areas[cols]), geometry="geometry", crs=self.areas.crs)
        types = list(self.table["service_type"].unique())
        if service_type not in types:
            raise SocialMapError(f"No comparison for service type {service_type!r}; compared: {types}.")
        if metric not in COMPARED_METRICS:
            raise SocialMapError(f"`metric` must be one of {', '.join(COMPARED_METRICS)}; got {metric!r}.")
        part = self.table[self.table["service_type"] == service_type]
        cols = [f"{metric}_before", f"{metric}_after", f"{metric}_delta"]
        out = geo.merge(part[["area_id", *cols]], on="area_id", how="left")
        return gpd.GeoDataFrame(out, geometry="geometry", crs=self.areas.crs)

    def write(self, path: str | os.PathLike[str]) -> Path:
        """
        Write the comparison: ``.csv`` (the area × type table) or ``.xlsx`` (sheets areas, totals, notes).

        Written atomically; text that a spreadsheet would run as a formula is neutralised. Small counts
        of sensitive groups are hidden (:meth:`published`): the file shows ``"<5"`` / ``"[c]"`` there.
        """
        from socialmap.privacy import marked
        from socialmap.writers import write_csv, write_xlsx

        target = Path(path)
        suffix = target.suffix.lower()
        if suffix not in (".csv", ".xlsx"):
            raise SocialMapError(f"Write a comparison as .csv or .xlsx; got {target.name!r}.")
        shown = self.published()
        table, totals = marked(shown.table), marked(shown.totals)
        if suffix == ".csv":
            return write_csv(table, target)
        notes = pd.DataFrame({"note": list(self.notes)})
        return write_xlsx({"areas": table, "totals": totals, "notes": notes}, target)


def _check_comparable(results: Mapping[str, Result]) -> list[str]:
    items = list(results.items())
    for label, res in items:
        if not isinstance(res, Result):
            raise SocialMapError(f"`{label}` must be an analysis Result; got {type(res).__name__}.")
    first_label, first = items[0]
    ids = set(first.areas["area_id"])
    types = list(first.table["service_type"].drop_duplicates())
    notes = []
    for label, res in items[1:]:
        other = set(res.areas["area_id"])
        if other != ids:
            diff = sorted(ids ^ other)[:5]
            raise SocialMapError(
                f"`{first_label}` and `{label}` cover different areas (e.g. {diff}); compare results of the "
                "same areas."
            )
        other_types = list(res.table["service_type"].drop_duplicates())
        if set(other_types) != set(types):
            raise SocialMapError(
                f"`{first_label}` analysed service types {types} but `{label}` {other_types}; "
                "analyse the same types (AnalysisConfig.service_types)."
            )
        if first.provenance.get("cost", "euclidean") != res.provenance.get("cost", "euclidean"):
            notes.append(
                f"the cost differs ({first.provenance.get('cost', 'euclidean')} in {first_label}, "
                f"{res.provenance.get('cost', 'euclidean')} in {label}), so the deltas mix two measures."
            )
        for key, what in (
            ("methods_used", "method"),
            ("catchment_m", "catchment"),
            ("catchment_min", "catchment"),
        ):
            a = first.provenance.get(key, {})
            b = res.provenance.get(key, {})
            for t in types:
                if a.get(t) != b.get(t):
                    notes.append(
                        f"{t}: the {what} differs ({a.get(t)} in {first_label}, {b.get(t)} in {label}), "
                        "so its deltas mix two measures."
                    )
    return notes


def _long(res: Result) -> pd.DataFrame:
    cols = ["area_id", *[c for c in ("name",) if c in res.table.columns], "service_type", *COMPARED_METRICS]
    return pd.DataFrame(res.table[cols])


def _totals(res: Result) -> pd.DataFrame:
    t = pd.DataFrame(res.table[["service_type", *_EXTENSIVE]])
    out = t.groupby("service_type", sort=False).sum(min_count=1)
    out["gap_score"] = 100.0 * out["unmet_need"] / out["need"].where(out["need"] > 0)
    return out


def compare(before: Result, after: Result) -> Comparison:
    """
    Compare two analysis results of the same areas and service types (e.g. before and after a scenario).

    Parameters
    ----------
    before, after
        Results of :func:`socialmap.pipeline.analyze`.

    Returns
    -------
    comparison
        A :class:`Comparison`: per area × type, per type (totals), per area (for maps), and notes.

    Raises
    ------
    SocialMapError
        The results cover different areas or service types.
    """
    notes = _check_comparable({"before": before, "after": after})
    b, a = _long(before), _long(after)
    keys = ["area_id", "service_type"]
    merged = b.merge(a.drop(columns=["name"], errors="ignore"), on=keys, suffixes=("_before", "_after"))
    for m in COMPARED_METRICS:
        merged[f"{m}_delta"] = merged[f"{m}_after"] - merged[f"{m}_before"]
    order = [c for c in ("area_id", "name", "service_type") if c in merged.columns]
    for m in COMPARED_METRICS:
        order += [f"{m}_before", f"{m}_after", f"{m}_delta"]
    table = merged[order].reset_index(drop=True)

    tb, ta = _totals(before), _totals(after).reindex(_totals(before).index)
    totals = pd.DataFrame(index=tb.index)
    for m in (*_EXTENSIVE, "gap_score"):
        totals[f"{m}_before"] = tb[m]
        totals[f"{m}_after"] = ta[m]
        totals[f"{m}_delta"] = ta[m] - tb[m]
    totals = totals.reset_index()

    comp_b = before.composite.set_index("area_id")["composite_gap"]
    comp_a = after.composite.set_index("area_id")["composite_gap"].reindex(comp_b.index)
    geo_cols = ["area_id", *[c for c in ("name",) if c in before.areas.columns], "geometry"]
    areas = before.areas[geo_cols].copy()
    areas["composite_gap_before"] = areas["area_id"].map(comp_b).astype(float)
    areas["composite_gap_after"] = areas["area_id"].map(comp_a).astype(float)
    areas["composite_gap_delta"] = areas["composite_gap_after"] - areas["composite_gap_before"]
    for m in ("gap_score", "unmet_need"):
        wide = table.pivot(index="area_id", columns="service_type", values=f"{m}_delta")
        for t in wide.columns:
            areas[f"{m}_delta_{t}"] = areas["area_id"].map(wide[t]).astype(float)
    return Comparison(
        table,
        totals,
        gpd.GeoDataFrame(areas, geometry="geometry", crs=before.areas.crs),
        tuple(notes),
        before=before,
        after=after,
    )


def compare_many(
    results: Mapping[str, Result],
    *,
    base: str | None = None,
    metrics: Sequence[str] = ("gap_score", "unmet_need"),
    level: Literal["area", "total"] = "area",
) -> pd.DataFrame:
    """
    Put several named results side by side (e.g. a base and some scenarios).

    Parameters
    ----------
    results
        Name → :class:`socialmap.pipeline.Result`, all of the same areas and service types.
    base
        The name deltas are taken against; default the first.
    metrics
        Metrics of :data:`COMPARED_METRICS` to show.
    level
        ``"area"``: one row per area × service type; ``"total"``: one row per service type (extensive
        metrics summed, ``gap_score`` from the sums; intensive metrics other than ``gap_score`` are not
        available at this level).

    Returns
    -------
    table
        The key columns, then for each metric ``<metric> [<name>]`` for every result and
        ``<metric> Δ [<name>]`` (minus the base) for every other one.

    Raises
    ------
    SocialMapError
        Fewer than two results, an unknown base or metric, results of different areas or types.
    """
    if len(results) < 2:
        raise SocialMapError("compare_many() needs at least two named results.")
    names = list(results)
    base = names[0] if base is None else base
    if base not in results:
        raise SocialMapError(f"`base` {base!r} is not one of the results {names}.")
    bad = [m for m in metrics if m not in COMPARED_METRICS]
    if bad:
        raise SocialMapError(f"Unknown metric(s) {bad}; choose from {list(COMPARED_METRICS)}.")
    if level not in ("area", "total"):
        raise SocialMapError(f"`level` must be 'area' or 'total'; got {level!r}.")
    if level == "total":
        bad = [m for m in metrics if m not in (*_EXTENSIVE, "gap_score")]
        if bad:
            raise SocialMapError(f"Metric(s) {bad} are intensive and have no total; use level='area'.")
    _check_comparable({base: results[base], **{n: r for n, r in results.items() if n != base}})
    keys = ["area_id", "service_type"] if level == "area" else ["service_type"]
    frames = {n: (_long(r).set_index(keys) if level == "area" else _totals(r)) for n, r in results.items()}
    out = frames[base][[c for c in ("name",) if c in frames[base].columns]].copy()
    for m in metrics:
        for n in names:
            out[f"{m} [{n}]"] = frames[n][m].reindex(out.index)
        for n in names:
            if n != base:
                out[f"{m} Δ [{n}]"] = out[f"{m} [{n}]"] - out[f"{m} [{base}]"]
    return out.reset_index()
