"""
The Plan tab: new services on the map, named scenarios, their comparison and suggested sites.

A planner's changes are :class:`PlanEdit` rows (a new service where the map was clicked, one closed,
moved or with its places changed: :func:`clicked_point`, :func:`existing_services`,
:data:`ACTION_LABELS`); :func:`plan_scenario` makes them a
:class:`socialmap.scenario.Scenario` and :func:`run_plan` analyses it with the same options.
:func:`plan_comparison`, :func:`plan_notes` and :func:`plan_difference_map` show what changed,
:func:`plan_download` takes it away; :func:`suggest_sites` proposes sites
(:func:`socialmap.optimise.place_services`) and :func:`plan_map` draws the plan on the map.
Comparisons are kept per result in :data:`socialmap.app.runner._PLAN_MEMO`.
"""

from __future__ import annotations

import html
import logging
import tempfile
import warnings
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, NamedTuple

import geopandas as gpd
import numpy as np
import pandas as pd

from socialmap.app.downloads import csv_bytes
from socialmap.app.explore import Selection, area_names, choice_label
from socialmap.app.labels import ALL_TYPES, BASEMAPS, METHOD_LABELS, label
from socialmap.app.mapview import (
    _DECIMALS,
    FONT_SIZE,
    _add_demo_mark,
    demonstration_note,
    public_service_sites,
    selection_map,
)
from socialmap.app.runner import _PLAN_MEMO, _protected, _unbound, published
from socialmap.app.uploads import Inputs, _unexpected, error_problems
from socialmap.assets import use_local_assets
from socialmap.errors import Problem, SocialMapError
from socialmap.i18n import N_, format_number, t

if TYPE_CHECKING:
    import folium

    from socialmap.datasets import Demo
    from socialmap.pipeline import AnalysisConfig, Result
    from socialmap.scenario import Scenario
    from socialmap.taxonomy import Taxonomy

logger = logging.getLogger(__name__)


#: CRS of the points clicked on the map (streamlit-folium returns longitude / latitude).
CLICK_CRS = "EPSG:4326"

#: Name of the results without any edit in :func:`plan_comparison`.
CURRENT = N_("Current services")

#: Metrics of the planning comparison (columns of ``Result.table``).
PLAN_METRICS = ("gap_score", "unmet_need", "supply")


#: Changes a planner can make in the app → how the scenario table names them.
ACTION_LABELS = {
    "add": N_("New service"),
    "remove": N_("Closed"),
    "move": N_("Moved"),
    "capacity": N_("Places changed"),
}


class PlanEdit(NamedTuple):
    """
    One change proposed in the app: plain values, so a tuple of them keys a cache.

    Attributes
    ----------
    service_type
        A service-type key of the taxonomy.
    lon, lat
        Where (EPSG:4326): the new service's site (``add``), the new site (``move``), or the
        service's present site (``remove``, ``capacity``; for the map only).
    capacity
        Places of a new service or the new number of places (``capacity``); ``None`` for unknown.
    action
        One of :data:`ACTION_LABELS`: ``add`` a new service, ``remove`` (close), ``move`` or change
        the ``capacity`` of an existing one.
    service_id
        The existing service changed (``remove``, ``move``, ``capacity``).
    """

    service_type: str
    lon: float
    lat: float
    capacity: float | None = None
    action: str = "add"
    service_id: str | None = None


def clicked_point(value: Mapping[str, Any] | None) -> tuple[float, float] | None:
    """
    Return ``(lon, lat)`` of the last click reported by ``st_folium(returned_objects=["last_clicked"])``.

    ``None`` when there is no click yet (or the value is not a click).
    """
    if not isinstance(value, Mapping):
        return None
    click = value.get("last_clicked")
    if not isinstance(click, Mapping):
        return None
    try:
        lon, lat = float(click["lng"]), float(click["lat"])
    except (KeyError, TypeError, ValueError):
        return None
    if not (np.isfinite(lon) and np.isfinite(lat) and -180 <= lon <= 180 and -90 <= lat <= 90):
        return None
    return lon, lat


def change_edit(
    service_type: str,
    service_id: str,
    action: str,
    site: tuple[float, float],
    point: tuple[float | None, float | None],
    places: float | None = None,
) -> PlanEdit | None:
    """
    Return the change of an existing service the Plan tab applies, or ``None`` if it is not complete.

    ``site`` is the service's present site (lon, lat), ``point`` the point chosen on the map (lon, lat;
    ``None`` before a click). A ``move`` goes to the point (none yet: not complete); ``remove`` and
    ``capacity`` keep the present site; ``capacity`` needs the new number of ``places``.

    >>> change_edit("day_care", "s-1", "move", (21.0, 42.0), (21.5, 42.5))
    PlanEdit(service_type='day_care', lon=21.5, lat=42.5, capacity=None, action='move', service_id='s-1')
    """
    lon, lat = point
    if (action == "move" and (lon is None or lat is None)) or (action == "capacity" and places is None):
        return None
    where = (float(lon), float(lat)) if action == "move" else site  # type: ignore[arg-type]
    where = (float(where[0]), float(where[1]))
    return PlanEdit(service_type, *where, places, action=action, service_id=service_id)


def draft_compared(
    draft: Sequence[PlanEdit], saved: Mapping[str, Sequence[PlanEdit]], analysed: bool
) -> bool:
    """
    Whether the Plan tab compares the scenario being drawn with the current services.

    Only when it has changes, could be ``analysed``, and is not one of the ``saved`` scenarios
    already (those are compared under their names).
    """
    return analysed and bool(draft) and tuple(draft) not in [tuple(v) for v in saved.values()]


def plan_scenario(name: str, edits: Sequence[PlanEdit], lang: str | None = None) -> Scenario:
    """
    Turn the app's proposed changes into a :class:`socialmap.scenario.Scenario`, in order.

    New services get the ids ``planned-1``, ``planned-2``… and the names "Planned 1"… in ``lang``.

    Raises
    ------
    SocialMapError
        An edit with an unknown action, or a change of an existing service without its id.
    """
    from socialmap.scenario import Scenario, new_service

    scenario = Scenario(name)
    added = 0
    for edit in edits:
        if edit.action == "add":
            added += 1
            scenario = scenario.add(
                new_service(
                    edit.service_type,
                    (edit.lon, edit.lat),
                    crs=CLICK_CRS,
                    capacity=edit.capacity,
                    service_id=f"planned-{added}",
                    name=t("Planned {n}", lang, n=added),
                )
            )
            continue
        if edit.action not in ACTION_LABELS:
            raise SocialMapError(f"Unknown change {edit.action!r}; use one of {', '.join(ACTION_LABELS)}.")
        if not edit.service_id:
            raise SocialMapError(f"A change {edit.action!r} needs the id of the service it changes.")
        if edit.action == "remove":
            scenario = scenario.remove(edit.service_id)
        elif edit.action == "move":
            scenario = scenario.move(edit.service_id, (edit.lon, edit.lat), crs=CLICK_CRS)
        else:
            scenario = scenario.set_capacity(edit.service_id, edit.capacity)
    return scenario


def existing_services(
    result: Result,
    service_type: str,
    taxonomy: Taxonomy,
    edits: Sequence[PlanEdit] = (),
    lang: str | None = None,
) -> pd.DataFrame:
    """
    List the existing services of a type that a planner may close, move or resize in the app.

    Services of sensitive types (e.g. shelters) are never listed, since their sites are never
    shown; change them with a scenario file (``socialmap scenario``). Services already closed in
    ``edits`` are left out; a moved or resized one is listed where and as it is after the edits.

    Returns
    -------
    table
        Columns ``service_id``, ``label`` (name and municipality, for a list), ``lon``, ``lat``
        (EPSG:4326) and ``capacity``, sorted by label.
    """
    columns = ["service_id", "label", "lon", "lat", "capacity"]
    sites = public_service_sites(result.services, taxonomy)
    sites = sites[sites["service_type"] == service_type]
    if sites.empty:
        return pd.DataFrame(columns=columns)
    ids = sites["service_id"].astype(str)
    closed = {e.service_id for e in edits if e.action == "remove"}
    sites = sites[~ids.isin(closed)]
    points = sites.geometry.to_crs(CLICK_CRS)
    lon, lat = points.x.to_numpy(copy=True), points.y.to_numpy(copy=True)
    capacity = (
        pd.to_numeric(sites["capacity"], errors="coerce").to_numpy(dtype=float, copy=True)
        if "capacity" in sites.columns
        else np.full(len(sites), np.nan)
    )
    site_ids = sites["service_id"].astype(str).to_numpy()
    for edit in edits:  # where and how large each is after the changes
        hit = site_ids == str(edit.service_id)
        if edit.action == "move":
            lon[hit], lat[hit] = edit.lon, edit.lat
        elif edit.action == "capacity":
            capacity[hit] = np.nan if edit.capacity is None else float(edit.capacity)
    names = (
        area_names(sites, lang).astype(str) if "name" in sites.columns else sites["service_id"].astype(str)
    )
    if "area_id" in sites.columns and "area_id" in result.areas.columns:
        area_name = dict(zip(result.areas["area_id"], area_names(result.areas, lang), strict=True))
        where = sites["area_id"].map(area_name)
        names = names.where(where.isna(), names + " (" + where.astype(str) + ")")
    table = pd.DataFrame(
        {
            "service_id": site_ids,
            "label": names.to_numpy(),
            "lon": lon,
            "lat": lat,
            "capacity": capacity,
        }
    )
    return table.sort_values(["label", "service_id"], kind="stable").reset_index(drop=True)


@dataclass(frozen=True)
class PlanRun:
    """
    The outcome of :func:`run_plan`: the result with the proposed services, or why there is none.

    Attributes
    ----------
    result
        The analysis after the edits (the base itself when there are none), or ``None``.
    problems
        Why there is no result, as rows for :func:`problems_table`.
    notes
        Caveats of the comparison (e.g. a service type whose method changed).
    """

    result: Result | None
    problems: tuple[Problem, ...] = ()
    notes: tuple[str, ...] = ()


def run_plan(
    inputs: Inputs,
    config: AnalysisConfig,
    edits: Sequence[PlanEdit],
    *,
    demo: Demo,
    base: Result,
    name: str = "plan",
    lang: str | None = None,
    network: Any = None,
) -> PlanRun:
    """
    Add the proposed services to the inputs and analyse again with the same options.

    Nothing is raised: a problem (e.g. a point outside every municipality, or an unknown type) becomes
    a row of :attr:`PlanRun.problems`.
    """
    from socialmap.scenario import Inputs as ScenarioInputs
    from socialmap.scenario import run_scenario

    if not edits:
        return PlanRun(base)
    services = inputs.services if inputs.services is not None else demo.services
    base_inputs = ScenarioInputs(
        services=services,
        areas=inputs.areas,
        population=inputs.population,
        taxonomy=demo.taxonomy,
        demo=demo.name if inputs.uses_demo else None,
        network=network,
    )
    try:
        run = run_scenario(base_inputs, plan_scenario(name, edits, lang), config, base=base)
    except SocialMapError as exc:
        return PlanRun(None, error_problems(exc, "scenario"))
    except Exception as exc:  # noqa: BLE001 - a planner sees a report; the log keeps the traceback
        logger.exception("the scenario failed")
        problem = _unexpected(
            "scenario",
            exc,
            N_("The scenario failed unexpectedly ({error})."),
            N_("This is probably a bug in socialmap: please report it, with the services you added."),
        )
        return PlanRun(None, (problem,))
    _PLAN_MEMO.put((base, run.result), "compare", _unbound(run.comparison))  # for the difference map
    return PlanRun(run.result, notes=run.comparison.notes)


def plan_edits_table(
    edits: Sequence[PlanEdit],
    taxonomy: Taxonomy,
    lang: str | None = None,
    *,
    services: gpd.GeoDataFrame | None = None,
) -> pd.DataFrame:
    """
    Show the proposed changes as a display table.

    Columns: number, change (new, closed, moved, places changed), service (its name, from
    ``services``, or "Planned n" for a new one), type, longitude, latitude and places.
    """
    names: dict[str, str] = {}
    if services is not None and "service_id" in services.columns and "name" in services.columns:
        names = dict(
            zip(services["service_id"].astype(str), area_names(services, lang).astype(str), strict=False)
        )
    shown, added = [], 0
    for e in edits:
        if e.action == "add":
            added += 1
            shown.append(t("Planned {n}", lang, n=added))
        else:
            shown.append(names.get(str(e.service_id), str(e.service_id)))
    return pd.DataFrame(
        {
            "#": list(range(1, len(edits) + 1)),
            t("Change", lang): [t(ACTION_LABELS.get(e.action, e.action), lang) for e in edits],
            t("Service", lang): shown,
            t("Service type", lang): [choice_label(e.service_type, taxonomy, lang) for e in edits],
            t("Longitude", lang): [round(e.lon, 5) for e in edits],
            t("Latitude", lang): [round(e.lat, 5) for e in edits],
            t("Places", lang): [
                np.nan if e.capacity is None or e.action in ("remove", "move") else float(e.capacity)
                for e in edits
            ],
        }
    )


def plan_notes(before: Result, after: Result, taxonomy: Taxonomy, lang: str | None = None) -> list[str]:
    """
    Say, in ``lang``, where a comparison mixes two measures: a service type whose method changed.

    Adding a first service of known capacity to a type whose capacities were all unknown, for
    instance, moves it from distance coverage to 2SFCA, so its change is partly a change of measure.
    """
    old = dict(before.provenance.get("methods_used") or {})
    new = dict(after.provenance.get("methods_used") or {})
    notes = []
    for key in old:
        if key in new and old[key] != new[key]:
            notes.append(
                t(
                    "{type}: measured by {before} now and by {after} in the scenario (the capacities "
                    "known changed), so its change mixes two measures.",
                    lang,
                    type=choice_label(key, taxonomy, lang),
                    before=t(METHOD_LABELS.get(str(old[key]), str(old[key])), lang),
                    after=t(METHOD_LABELS.get(str(new[key]), str(new[key])), lang),
                )
            )
    return notes


#: Planning metrics → whether a rise is worse (drawn red on the difference map), and the change's
#: tolerance (half the last digit shown).
_DIFFERENCE = {"gap_score": (True, 0.05), "unmet_need": (True, 0.5), "supply": (False, 0.5)}


def plan_difference_map(
    before: Result,
    after: Result,
    selection: Selection,
    taxonomy: Taxonomy,
    *,
    metric: str = "gap_score",
    scenario_name: str = "",
    attribution: str = "",
    assets: Path | None = None,
    asset_url: str | None = None,
) -> folium.Map:
    """
    Draw the change a scenario makes for the selection's service type (after − before), per area.

    Parameters
    ----------
    before, after
        The current services' result and the scenario's.
    selection
        The service type (one type, not :data:`ALL_TYPES`), basemap and language.
    metric
        One of :data:`PLAN_METRICS`: a fall of the gap score or unmet need is drawn blue, a rise
        red; for places (``supply``) the other way round.
    scenario_name
        Shown in the title.
    attribution, assets, asset_url
        As for :func:`selection_map`.

    Raises
    ------
    SocialMapError
        All types selected, an unknown metric, or results that cannot be compared.
    """
    from socialmap import settings
    from socialmap.maps import difference_map
    from socialmap.privacy import protect_comparison
    from socialmap.scenario import compare

    lang = selection.lang
    if selection.service_type == ALL_TYPES:
        raise SocialMapError("Choose one service type to map the change a scenario makes.")
    if metric not in _DIFFERENCE:
        raise SocialMapError(f"`metric` must be one of {', '.join(_DIFFERENCE)}; got {metric!r}.")
    # each side hidden as its own result, the change where either side is (socialmap.privacy), as
    # Comparison.published() hides them, with the protect() the other views of these results use
    # (kept for these two results: reruns of the Plan tab draw the same difference again)
    raw = _PLAN_MEMO.get((before, after), "compare", lambda: _unbound(compare(before, after)))
    comparison = _PLAN_MEMO.get(
        (before, after),
        ("published", settings.suppression_threshold),
        lambda: protect_comparison(
            raw, _protected(before, before.taxonomy), _protected(after, after.taxonomy)
        ),
    )
    frame = comparison.map_frame(selection.service_type, metric)
    part_table = comparison.table[comparison.table["service_type"] == selection.service_type]
    marks = dict(zip(part_table["area_id"].astype(str), part_table["suppression"].astype(str), strict=True))
    mark_of = frame["area_id"].astype(str).map(marks).fillna("")
    column = f"{metric}_delta"
    frame = frame.assign(name=area_names(frame, lang).to_numpy())
    texts = {}
    for part in ("before", "after"):
        col = f"{metric}__{part}"
        frame[col] = [
            mark if pd.isna(v) and mark else format_number(v, lang, decimals=_DECIMALS.get(metric, 0))
            for v, mark in zip(frame[f"{metric}_{part}"], mark_of, strict=True)
        ]
        texts[col] = (
            t("Before: {metric}", lang, metric=label(metric, lang))
            if part == "before"
            else t("After: {metric}", lang, metric=label(metric, lang))
        )
    worse_up, tolerance = _DIFFERENCE[metric]
    decimals = 1 if metric == "gap_score" else 0
    change = t("Change: {metric}", lang, metric=label(metric, lang))
    fmap = difference_map(
        frame,
        column,
        tolerance=tolerance,
        higher_is_worse=worse_up,
        tooltip_columns=("name", *texts),
        labels={"name": label("name", lang), **texts, column: change},
        attribution=attribution,
        tiles=BASEMAPS[selection.basemap],
        title=t(
            "{scenario}: change in {metric}, {type}",
            lang,
            scenario=scenario_name or t("Scenario", lang),
            metric=label(metric, lang),
            type=choice_label(selection.service_type, taxonomy, lang),
        ),
        legend_title=change,
        value_format="{:+,." + str(decimals) + "f}",
        lang=lang,
    )
    fmap.font_size = FONT_SIZE
    if demonstration_note(before, lang):
        _add_demo_mark(fmap, lang)
    if assets is not None:
        use_local_assets(fmap, assets, base_url=asset_url)
    return fmap


def plan_comparison(
    results: Mapping[str, Result],
    service_type: str,
    *,
    level: str = "area",
    lang: str | None = None,
) -> pd.DataFrame:
    """
    Put the current services and saved scenarios side by side for one service type.

    Parameters
    ----------
    results
        Name → result; the first is the base (before) the deltas are taken against.
    service_type
        The service type shown.
    level
        ``"area"``: one row per municipality (before, after and delta of each metric of
        :data:`PLAN_METRICS`); ``"total"``: one row, the national totals.
    lang
        Language of the column labels.
    """
    from socialmap.privacy import protect_many
    from socialmap.scenario import compare_many

    table = compare_many(dict(results), metrics=PLAN_METRICS, level=level)  # type: ignore[arg-type]
    # each result's cells hidden as its own protect() hides them, a delta where either side is
    protected = {name: _protected(r, r.taxonomy) for name, r in results.items()}
    table = protect_many(table, protected, base=next(iter(results)), lang=lang)
    table = table[table["service_type"] == service_type].drop(columns="service_type")
    if level == "area":
        names = area_names(table, lang) if "name" in table.columns else table["area_id"]
        table = table.assign(name=names.to_numpy())
    rename = {"area_id": t("Code", lang), "name": t("Municipality", lang), "suppression": t("Hidden", lang)}
    for col in table.columns:
        for metric in PLAN_METRICS:
            for sep in (" [", " Δ ["):
                prefix = metric + sep
                if str(col).startswith(prefix):
                    rename[col] = label(metric, lang) + sep + str(col)[len(prefix) :]
    return table.rename(columns=rename).reset_index(drop=True)


def plan_download(tables: Mapping[str, pd.DataFrame], suffix: str, lang: str | None = None) -> bytes:
    """
    Return the planning tables as a file: ``csv`` (the first table) or ``xlsx`` (one sheet each).

    Formulas are neutralised (:mod:`socialmap.export`); the CSV is in ``lang``'s convention
    (:func:`csv_bytes`).
    """
    from socialmap.export import write_xlsx

    if not tables:
        raise SocialMapError("There is no table to download.")
    if suffix == "csv":
        return csv_bytes(next(iter(tables.values())), lang)
    if suffix != "xlsx":
        raise SocialMapError(f"Download the comparison as csv or xlsx; got {suffix!r}.")
    with tempfile.TemporaryDirectory(prefix="socialmap-download-") as tmp:
        return write_xlsx(tables, Path(tmp) / "scenarios.xlsx").read_bytes()


def suggest_sites(
    result: Result,
    service_type: str,
    *,
    k: int,
    capacity: float | None = None,
    taxonomy: Taxonomy | None = None,
    lang: str | None = None,
) -> tuple[tuple[PlanEdit, ...], tuple[str, ...]]:
    """
    Suggest ``k`` new sites of a service type (:func:`socialmap.optimise.place_services` on a grid).

    Returns
    -------
    edits, notes
        One :class:`PlanEdit` per chosen site (longitude / latitude), in the order they add most;
        notes in ``lang`` for the planner: how much need the sites bring within reach, how the sites
        were chosen (proved best, or within a stated distance of the best), and existing services
        of unknown capacity.
    """
    from socialmap.optimise import place_services

    with warnings.catch_warnings():
        # What the warning says (services of unknown capacity) is one of the notes below.
        warnings.simplefilter("ignore", UserWarning)
        placement = place_services(result, service_type, k=int(k), candidates="grid", capacity=capacity)
    chosen = placement.chosen.to_crs(CLICK_CRS)
    edits = tuple(
        PlanEdit(service_type, float(p.x), float(p.y), None if capacity is None else float(capacity))
        for p in chosen.geometry
    )
    tax = taxonomy if taxonomy is not None else result.taxonomy
    kind = choice_label(service_type, tax, lang) if tax is not None else service_type
    relative = result.demand.loc[result.demand["service_type"] == service_type, "need"].isna().all()
    if relative:
        what = (
            N_("People of the target group brought within reach")
            if capacity is None
            else N_("People of the target group who get a place")
        )
    else:
        what = (
            N_("Persons in need brought within reach")
            if capacity is None
            else N_("Persons in need who get a place")
        )
    hidden = not np.isfinite(placement.objective)  # a sensitive type's small counts (privacy)
    notes = [
        t(
            "{what}: {added} more, {covered} of {total} in all.",
            lang,
            what=t(what, lang),
            added=format_number(placement.objective, lang, decimals=0),
            covered=format_number(placement.covered_need, lang, decimals=0),
            total=format_number(placement.total_need, lang, decimals=0),
        )
        if not hidden
        else t(
            "The need these sites reach is not shown: it would give away small counts of a sensitive "
            "group. The sites are chosen on figures that do not depend on those counts.",
            lang,
        )
    ]
    if relative:
        notes.append(
            t(
                "The need for {type} is unknown (no sourced need rate): the sites reach the most people of "
                "its target group.",
                lang,
                type=kind,
            )
        )
    if hidden:
        pass
    elif placement.gap_to_optimum <= 1e-9:
        notes.append(t("No other choice of {k} sites on this grid does better.", lang, k=int(k)))
    else:
        notes.append(
            t(
                "Sites chosen one by one (the instance is too large to prove the best choice): at most "
                "{gap} % below the best possible.",
                lang,
                gap=format_number(100 * placement.gap_to_optimum, lang),
            )
        )
    existing = result.services[result.services["service_type"] == service_type]
    known = pd.to_numeric(existing["capacity"], errors="coerce") if "capacity" in existing.columns else None
    unknown = len(existing) if known is None else int(known.isna().sum())
    if capacity is not None and unknown:
        notes.append(
            t(
                "{n} of {total} existing services of type {type} have unknown capacity: they count "
                "as no places here.",
                lang,
                n=unknown,
                total=len(existing),
                type=kind,
            )
        )
    return edits, tuple(notes)


def plan_map(
    result: Result,
    selection: Selection,
    taxonomy: Taxonomy,
    edits: Sequence[PlanEdit] = (),
    proposed: tuple[float, float] | None = None,
    *,
    attribution: str = "",
    assets: Path | None = None,
    asset_url: str | None = None,
    services: gpd.GeoDataFrame | None = None,
) -> folium.Map:
    """
    Draw :func:`selection_map` of a result with the planned changes and the proposed point on top.

    New services are yellow, closed ones white with a dashed ring, moved ones blue at their new
    site, resized ones orange; ``services`` (the current services) gives the names of the changed
    ones. The changes and the proposed point are feature groups, so :func:`map_parts` swaps them
    in as layers.
    """
    result = published(result, taxonomy)  # the one rule: every figure shown is a published one
    import folium

    fmap = selection_map(
        result, selection, taxonomy, attribution=attribution, assets=assets, asset_url=asset_url
    )
    lang = selection.lang
    group = folium.FeatureGroup(name=t("Planned services", lang))
    names: dict[str, str] = {}
    if services is not None and "name" in services.columns:
        names = dict(
            zip(services["service_id"].astype(str), area_names(services, lang).astype(str), strict=False)
        )
    added = 0
    for edit in edits:
        places = "?" if edit.capacity is None else format_number(edit.capacity, lang, decimals=0)
        name = names.get(str(edit.service_id), str(edit.service_id))
        if edit.action == "add":
            added += 1
            style = {"color": "#000000", "fill_color": "#ffd400", "dash_array": None}
            text = t("Planned {n}: {places} places", lang, n=added, places=places)
        elif edit.action == "remove":
            style = {"color": "#555555", "fill_color": "#ffffff", "dash_array": "3"}
            text = t("Closed: {name}", lang, name=name)
        elif edit.action == "move":
            style = {"color": "#000000", "fill_color": "#2c7bb6", "dash_array": None}
            text = t("Moved here: {name}", lang, name=name)
        else:
            style = {"color": "#000000", "fill_color": "#fdae61", "dash_array": None}
            text = t("{name}: {places} places", lang, name=name, places=places)
        folium.CircleMarker(
            (edit.lat, edit.lon),
            radius=8,
            color=style["color"],
            weight=2,
            fill=True,
            fill_color=style["fill_color"],
            fill_opacity=0.9,
            dash_array=style["dash_array"],
            tooltip=html.escape(text),
        ).add_to(group)
    if proposed is not None:
        folium.CircleMarker(
            (proposed[1], proposed[0]),
            radius=9,
            color="#d7191c",
            weight=3,
            fill=False,
            dash_array="4",
            tooltip=html.escape(t("Proposed new service", lang)),
        ).add_to(group)
    group.add_to(fmap)
    return fmap
