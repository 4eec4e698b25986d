"""
What the About and Sources sections say: the help of every measure, where the data comes from.

:func:`help_sections` and :func:`metric_help` explain the measures (their formulas in words, the
result's own options); :func:`data_sources` says whether each input is the person's file or the
demo, and :func:`provenance_table` lists the choices and sources behind a result.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

import pandas as pd

from socialmap.app.explore import choice_label
from socialmap.app.labels import (
    KIND_TITLES,
    METHOD_LABELS,
    METRIC_FORMULAS,
    METRIC_HELP,
    SPREADING_LABELS,
    UPLOAD_KINDS,
    label,
)
from socialmap.app.runner import cost_label
from socialmap.app.uploads import Inputs
from socialmap.i18n import format_number, t

if TYPE_CHECKING:
    from socialmap.datasets import Demo
    from socialmap.pipeline import Result
    from socialmap.taxonomy import Taxonomy


def metric_help(key: str, result: Result, taxonomy: Taxonomy, lang: str | None = None) -> str:
    """Say what a metric means, with its formula in words, in ``lang`` (:data:`METRIC_FORMULAS`)."""
    if key not in METRIC_FORMULAS:
        return t(METRIC_HELP[key], lang)
    if key != "composite_gap":
        return t(METRIC_FORMULAS[key], lang)
    weights = taxonomy.group_weights()  # the composite weighs target groups (gaps.composite_by_group)
    if len(set(weights.values())) <= 1:
        weight_text = t("all equal, so a plain mean", lang)
    else:
        weight_text = ", ".join(
            f"{choice_label(k, taxonomy, lang)}: {format_number(w, lang, decimals=2)}"
            for k, w in weights.items()
        )
    return t(METRIC_FORMULAS[key], lang, weights=weight_text)


def help_sections(result: Result, taxonomy: Taxonomy, lang: str | None = None) -> list[tuple[str, str]]:
    """
    Return the app's help, as (heading, text) pairs in ``lang``.

    What the app shows, what each metric means and how it is computed, the methods, that distances
    are straight lines, where the people in need are placed, where the rates come from, what the
    demo is, and that small counts are hidden.
    """
    keys: tuple[str, ...] = ("gap_score", "composite_gap", "need", "supply", "supply_per_10k")
    keys += ("covered_share", "access")
    keys += ("unmet_need", "services", "spar", "places_per_1000", "supply_reach")
    metrics = [(label(key, lang), metric_help(key, result, taxonomy, lang)) for key in keys]
    return [
        (
            t("What this app shows", lang),
            t(
                "For each municipality and each type of social service: how many people need the "
                "service, how many places there are, and how many of the people in need can reach a "
                "place. The map, the ranking and the profile show the same figures; the Plan tab shows "
                "what new, closed or moved services would change.",
                lang,
            ),
        ),
        *metrics,
        (
            t("Methods", lang),
            t(
                "Distance coverage counts the need within the catchment of any service, whatever its "
                "places. 2SFCA (two-step floating catchment area) also weighs each service's places "
                "against everyone who can reach it, so a full service counts less. E2SFCA does the same "
                "with weights that fall with distance (nearer counts more). A service type whose "
                "capacities are all unknown is scored by distance coverage.",
                lang,
            ),
        ),
        (
            t("Distances are straight lines", lang),
            t(
                "Every distance is a straight line (as the crow flies) between where the people in need "
                "are placed and the services, not a journey along roads: where roads are few or "
                "winding, real journeys are longer and the gaps are larger than shown.",
                lang,
            ),
        )
        if str(result.provenance.get("cost", "euclidean")) == "euclidean"
        else (
            t("Catchments measured as: {cost}", lang, cost=cost_label(result, lang)),
            t(
                "Catchments are travel times along the roads of the uploaded OpenStreetMap file (not "
                "straight lines), from where the people in need are placed to the services.",
                lang,
            ),
        ),
        (
            t("Where the people in need are placed", lang),
            t(
                "With one point per municipality, everyone is placed at a point inside it; with a grid, "
                "the need is spread over square cells covering the municipality, which measures "
                "distances more fairly in large municipalities.",
                lang,
            ),
        ),
        (
            t("Where the rates come from", lang),
            t(
                "The rate of each target group (the share of residents who belong to it) comes from "
                "the taxonomy, with its source; an estimate says so. A group without a sourced rate has "
                "an unknown need, and its service types are not scored. The rates and their sources "
                "are in the table below.",
                lang,
            ),
        ),
        (
            t('What "demo" means', lang),
            t(
                "Without your own files the app shows the Kosovo demonstration: schematic boundaries "
                "(not official), the 2024 census population, one Centre for Social Work per "
                "municipality, and services of the other types invented for the demonstration. Its "
                'maps, tables and briefs carry a "demonstration data" mark: do not publish them as '
                "facts. Upload your own files (sidebar, Your data) to replace any part of it.",
                lang,
            ),
        ),
        (
            t("Small counts are hidden", lang),
            t(
                "For service types serving a sensitive group (victims of violence, children without "
                "parental care), counts below {n} persons, and those that would give them away, are "
                "hidden (–) on the map, in the tables and in every download; the sites of their "
                "services are never shown.",
                lang,
                n=format_number(_threshold(), lang, decimals=0),
            ),
        ),
    ]


def _threshold() -> float:
    from socialmap import settings

    return float(settings.suppression_threshold)


@dataclass(frozen=True)
class DataSources:
    """
    Where the areas, services and population on screen come from.

    Attributes
    ----------
    lines
        One sentence per input, in full (for an "about the data" section).
    attribution
        A short form for the map's corner: the boundaries, and whether the services are the demo's.
    """

    lines: tuple[str, ...] = ()
    attribution: str = ""


def data_sources(inputs: Inputs, demo: Demo, lang: str | None = None) -> DataSources:
    """
    Say where the areas, services and population on screen come from.

    Parameters
    ----------
    inputs
        What was uploaded (and usable).
    demo
        The demo filling in the rest (its provenance is quoted).
    lang
        Language of the wording.

    Returns
    -------
    sources
        A :class:`DataSources`.
    """
    lines, parts = [], []
    for kind in UPLOAD_KINDS:
        title = t(KIND_TITLES[kind], lang)
        if getattr(inputs, kind) is not None:
            name = next(u.filename for u in inputs.uploads if u.kind == kind and u.ok)
            credit = str(getattr(inputs, kind).attrs.get("attribution") or "").strip()
            if credit:  # uploaded boundaries keep their attribution (the file's, or as typed in)
                lines.append(
                    t(
                        "{kind}: your file {name} ({attribution})",
                        lang,
                        kind=title,
                        name=name,
                        attribution=credit,
                    )
                )
            else:
                lines.append(t("{kind}: your file {name}", lang, kind=title, name=name))
            if kind != "population":
                parts.append(lines[-1])
        else:
            key = {"areas": "boundaries"}.get(kind, kind)
            lines.append(f"{title}: {t(str(demo.provenance.get(key, demo.name)), lang)}")
            if kind == "areas":
                parts.append(t(str(demo.provenance.get("boundaries", demo.name)), lang))
            elif kind == "services":
                parts.append(t("demo services illustrative except the Centres for Social Work", lang))
    return DataSources(tuple(lines), "; ".join(parts))


def provenance_table(result: Result, taxonomy: Taxonomy, lang: str | None = None) -> pd.DataFrame:
    """
    List the choices and sources behind a result, one per row, for an "about the data" section.

    Returns
    -------
    table
        Columns *Item* and *Value*: taxonomy, method, catchments, demand spreading, population
        year, CRS, then the rate of each target group with its source.
    """
    prov = result.provenance
    rows = [
        (t("Taxonomy", lang), str(prov.get("taxonomy", ""))),
        (t("Method", lang), t(METHOD_LABELS.get(str(prov.get("method")), str(prov.get("method"))), lang)),
        (
            t("Catchment (km)", lang),
            ", ".join(
                f"{taxonomy.label(k, lang) if k in taxonomy.service_types else k}: "
                f"{format_number(float(v) / 1000, lang, decimals=1)}"
                for k, v in dict(prov.get("catchment_m", {})).items()
            ),
        ),
        (t("Demand spreading", lang), _spreading_label(prov.get("spreading"), lang)),
        (t("Population year", lang), str(prov.get("population_year", ""))),
        (t("Coordinate reference system", lang), str(prov.get("crs", ""))),
    ]
    for group, info in dict(prov.get("rates", {})).items():
        rate = info.get("rate")
        value = t("unknown", lang) if rate is None else f"{format_number(100 * rate, lang, decimals=2)} %"
        if info.get("estimate"):
            value += f" ({t('estimate', lang)})"
        if info.get("sources"):
            value += f"; {info['sources']}"
        name = taxonomy.label(group, lang) if group in taxonomy.target_groups else group
        rows.append((t("Rate: {group}", lang, group=name), value))
    return pd.DataFrame(rows, columns=[t("Item", lang), t("Value", lang)])


def _spreading_label(key: object, lang: str | None) -> str:
    text = str(key or "")
    return t(SPREADING_LABELS[text], lang) if text in SPREADING_LABELS else text
