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

import logging
import math
import os
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any, Literal

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely
from pyproj import CRS

# The edits (pure functions over the services) live in socialmap._scenario_edits, the before/after tables in
# socialmap._scenario_compare; this module keeps scenarios (a named list of edits, read from a file) and runs
# them. Their public names are importable from here, as they always were.
from socialmap._scenario_compare import (  # noqa: F401 - re-exported
    COMPARED_METRICS,
    Comparison,
    compare,
    compare_many,
)
from socialmap._scenario_edits import (  # noqa: F401 - re-exported
    ACTIONS,
    _as_point,
    _capacity_value,
    _check_services,
    _service_type_keys,
    add_services,
    move_service,
    new_service,
    remove_services,
    service_changes,
    set_capacity,
)
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


#: The columns of a scenario's edits as a table (:meth:`Scenario.to_frame`; a workspace stores the same).
EDIT_COLUMNS = (
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
)


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
        return pd.DataFrame(rows, columns=list(EDIT_COLUMNS))

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
