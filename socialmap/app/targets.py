"""
The action plan and monitoring: a scenario turned into yearly targets, their files, the trend chart.

:func:`scenario_targets` turns an analysed scenario into targets by year (:mod:`socialmap.plan`),
:func:`targets_table` and :func:`targets_xlsx` show and download them, :func:`action_plan_docx`
writes the action plan (:mod:`socialmap.actionplan`); :func:`demo_monitoring`,
:func:`trend_chart` and :func:`trend_chart_spec` draw an area's indicator over the years.
"""

from __future__ import annotations

import tempfile
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pandas as pd

from socialmap import i18n
from socialmap.app.downloads import brief_name
from socialmap.app.explore import area_names
from socialmap.errors import SocialMapError
from socialmap.i18n import t

if TYPE_CHECKING:
    from socialmap.pipeline import AnalysisConfig, Result
    from socialmap.taxonomy import Taxonomy


def demo_monitoring(demo: str, config: AnalysisConfig | None = None) -> Any:
    """
    Return the demo's indicator series over the years it has a population for (Kosovo: 2011 and 2024).

    A :class:`socialmap.monitor.Monitoring` (:func:`socialmap.monitor.demo_years`, then
    :func:`socialmap.monitor.indicators`); ``None`` when the demo has a single year.
    """
    from socialmap.datasets import demo_dir
    from socialmap.monitor import demo_years, indicators

    years = sorted(
        int(p.stem.rsplit("_", 1)[-1])
        for p in (demo_dir() / "population").glob(f"{demo}_population_*.csv")
        if p.stem.rsplit("_", 1)[-1].isdigit()
    )
    if len(years) < 2:
        return None
    return indicators(demo_years(demo, tuple(years), config=config))


def trend_chart(
    monitoring: Any,
    area_id: str,
    taxonomy: Taxonomy,
    indicator: str = "places_per_1000",
    lang: str | None = None,
) -> tuple[pd.DataFrame, list[str]]:
    """
    Return one area's indicator by service type and year, for the profile's trend chart, and its notes.

    Parameters
    ----------
    monitoring
        What :func:`demo_monitoring` (or :func:`socialmap.monitor.indicators`) returned.
    area_id
        The area.
    taxonomy
        For the service types' names.
    indicator
        A key of :data:`socialmap.monitor.INDICATORS`.
    lang
        Language.

    Returns
    -------
    data, notes
        ``data``: one row per service type (its name, taxonomy order), one column per year, the values as
        published (a share in %; ``NaN`` where unknown, hidden or missing); ``notes``: one line per year the
        area has no figure for, with the reason (e.g. a census not held there), never filled in.
    """
    from socialmap.monitor import INDICATORS, MISSING

    if indicator not in INDICATORS:
        raise SocialMapError(f"`indicator` must be one of {list(INDICATORS)}; got {indicator!r}.")
    rows = monitoring.series(area_id)
    factor = 100.0 if indicator == "share_within_reach" else 1.0
    order = [k for k in taxonomy.service_type_keys if k in set(rows["service_type"])]
    names = {k: taxonomy.label(k, lang) for k in order}
    data = (
        rows.assign(value=rows[indicator].astype(float) * factor)
        .pivot_table(index="service_type", columns="year", values="value", aggfunc="first", dropna=False)
        .reindex(index=order, columns=sorted(int(y) for y in monitoring.years))
        .rename(index=names)
    )
    data.index.name = t("Service type", lang)
    data.columns = [str(c) for c in data.columns]
    notes = []
    gone = rows[rows["status"] == MISSING].drop_duplicates("year")
    for _, r in gone.iterrows():
        notes.append(
            t(
                "{year}: {reason}.",
                lang,
                year=int(r["year"]),
                reason=t(str(r["note"]), lang),
            )
        )
    return data, notes


def trend_chart_spec(data: pd.DataFrame, indicator: str, lang: str | None = None) -> dict[str, Any]:
    """Build a Vega-Lite spec of :func:`trend_chart`'s data: bars by service type, one per year."""
    from socialmap.monitor import INDICATORS

    year_name, type_name = t("Year", lang), str(data.index.name)
    unit = " (%)" if indicator == "share_within_reach" else ""
    value_name = t(INDICATORS[indicator].name, lang) + unit
    values = [
        {type_name: str(kind), year_name: str(year), value_name: float(value)}
        for kind, row in data.iterrows()
        for year, value in row.items()
        if pd.notna(value)
    ]
    decimal, thousands = (".", ",") if i18n.check_language(lang) == "en" else (",", ".")
    return {
        "data": {"values": values},
        # numbers on the axis and in the tooltips as everywhere else: 1.000,5 in sq/sr
        "config": {"locale": {"number": {"decimal": decimal, "thousands": thousands, "grouping": [3]}}},
        "autosize": {"type": "fit-x", "contains": "padding"},
        "mark": {"type": "bar", "tooltip": True},
        "encoding": {
            "y": {
                "field": type_name,
                "type": "nominal",
                "sort": [str(i) for i in data.index],
                "title": None,
                "axis": {"labelLimit": 200},
            },
            "yOffset": {"field": year_name, "sort": [str(c) for c in data.columns]},
            "x": {"field": value_name, "type": "quantitative", "axis": {"format": ",.2~f"}},
            "color": {
                "field": year_name,
                "type": "nominal",
                "sort": [str(c) for c in data.columns],
                "legend": {"orient": "bottom", "title": None},
            },
        },
    }


def scenario_targets(
    base: Result,
    scenario: Result,
    *,
    name: str,
    first_year: int,
    years: int,
    service_type: str | None = None,
    unit_cost: float | None = None,
) -> Any:
    """
    Turn a scenario the planner analysed into targets for each of ``years`` years from ``first_year``.

    Every change of the scenario takes effect in the first year (:func:`socialmap.plan.targets_from_results`);
    ``unit_cost`` (EUR per place per year, the planner's own) applies to ``service_type``.
    """
    from socialmap.plan import targets_from_results

    if not 1 <= int(years) <= 30:
        raise SocialMapError("`years` must be between 1 and 30.")
    plan_years = range(int(first_year), int(first_year) + int(years))
    costs = {service_type: float(unit_cost)} if service_type is not None and unit_cost is not None else None
    return targets_from_results(base, {y: scenario for y in plan_years}, name=name, unit_costs=costs)


def targets_table(
    targets: Any, taxonomy: Taxonomy, lang: str | None = None, *, areas: pd.DataFrame | None = None
) -> pd.DataFrame:
    """
    Return the targets' changes (area, service type, year, places, added, budget) to show, in ``lang``.

    The areas are named in ``lang`` from ``areas`` (``name_<lang>``) where given, else by the targets' names.
    """
    changes = targets.changes()
    names = changes["name"].fillna(changes["area_id"]).astype(str)
    if areas is not None:
        own = dict(zip(areas["area_id"].astype(str), area_names(areas, lang), strict=True))
        names = pd.Series([own.get(str(a), n) for a, n in zip(changes["area_id"], names, strict=True)])
    shown = pd.DataFrame(
        {
            t("Municipality", lang): names.to_numpy(),
            t("Service type", lang): [
                taxonomy.label(k, lang) if k in taxonomy.service_types else k for k in changes["service_type"]
            ],
            t("Year", lang): changes["year"].astype(int).astype(str),
            t("Places", lang): changes["places"],
            t("Places added", lang): changes["places_added"],
            t("Budget (EUR a year)", lang): changes["budget_eur"],
        }
    )
    return shown


def targets_xlsx(targets: Any, lang: str | None = None) -> bytes:
    """Return the targets as the XLSX workbook :meth:`socialmap.plan.Targets.write` writes."""
    with tempfile.TemporaryDirectory(prefix="socialmap-download-") as tmp:
        return targets.write(Path(tmp) / "targets.xlsx", lang=lang).read_bytes()


def action_plan_docx(
    result: Result, targets: Any, taxonomy: Taxonomy, lang: str | None = None, *, area_id: str
) -> bytes:
    """Return the draft action plan of a municipality (DOCX): the CLI's ``action-plan`` file."""
    from socialmap.actionplan import action_plan

    with tempfile.TemporaryDirectory(prefix="socialmap-download-") as tmp:
        path = action_plan(
            result, targets, area=area_id, path=Path(tmp) / "plan.docx", lang=lang, taxonomy=taxonomy
        )
        return path.read_bytes()


def action_plan_name(result: Result, area_id: str, lang: str | None = None) -> str:
    """File name of an action plan: ``socialmap_action_plan_02_gjakove.docx``."""
    return (
        brief_name(result, area_id, lang).replace("socialmap_brief_", "socialmap_action_plan_")[:-4] + ".docx"
    )
