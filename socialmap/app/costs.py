"""
The Plan tab's costing: the places a planning standard needs and their yearly budget.

:func:`plan_costing` costs one service type of a result (:mod:`socialmap.costing`) with the
standard and unit cost on screen or those of the taxonomy, kept per result
(:data:`socialmap.app.runner._PLAN_MEMO`); :func:`costing_download` is the whole result with its
costing as an XLSX file, and :func:`source_label` names where a figure comes from.
"""

from __future__ import annotations

import dataclasses
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd

from socialmap.app.explore import area_names, choice_label
from socialmap.app.labels import _COSTING_COLUMNS
from socialmap.app.runner import _PLAN_MEMO, _protected
from socialmap.i18n import N_, format_number, t

if TYPE_CHECKING:
    from socialmap.costing import Costing
    from socialmap.pipeline import Result
    from socialmap.taxonomy import Taxonomy


@dataclass(frozen=True)
class PlanCosting:
    """
    What :func:`plan_costing` shows: places and yearly budget of one service type.

    Attributes
    ----------
    table
        One row per municipality.
    national
        One row: the national totals.
    standard_source, cost_source
        Where the planning standard and the unit cost come from (``"user-supplied"``, the
        taxonomy's source keys, or empty when there is none).
    notes
        What could not be costed, and why.
    """

    table: pd.DataFrame
    national: pd.DataFrame
    standard_source: str
    cost_source: str
    notes: tuple[str, ...] = ()


def _user_costing(
    result: Result, service_type: str, taxonomy: Taxonomy, standard: float | None, unit_cost: float | None
) -> Costing:
    """Cost with the user's standard and unit cost for one type (``None``: the taxonomy's)."""
    from socialmap.costing import places_and_budget

    standards = None if standard is None else {service_type: float(standard)}
    unit_costs = None if unit_cost is None else {service_type: float(unit_cost)}
    return places_and_budget(result, taxonomy=taxonomy, standards=standards, unit_costs=unit_costs)


def plan_costing(
    result: Result,
    service_type: str,
    taxonomy: Taxonomy,
    *,
    standard: float | None = None,
    unit_cost: float | None = None,
    lang: str | None = None,
) -> PlanCosting:
    """
    Places needed to reach a planning standard and their yearly budget, for one service type.

    Parameters
    ----------
    result
        The analysis (current services or a scenario).
    service_type
        The service type costed.
    taxonomy
        The taxonomy the result used (its standard and unit cost, with sources, apply when the
        user gives none).
    standard, unit_cost
        Places per 1,000 of the target group and EUR per place per year given by the user
        (recorded as ``"user-supplied"``); ``None`` to use the taxonomy's.
    lang
        Language of the column labels and names.

    Raises
    ------
    SocialMapError
        A value that is not a finite number >= 0.
    """
    from socialmap import settings

    # Kept for this result (the Plan tab draws the costing at each rerun): copies handed out.
    kept = _PLAN_MEMO.get(
        (result,),
        ("costing", service_type, standard, unit_cost, lang, settings.suppression_threshold),
        lambda: _plan_costing(
            result, service_type, taxonomy, standard=standard, unit_cost=unit_cost, lang=lang
        ),
        same=(taxonomy,),
    )
    return dataclasses.replace(kept, table=kept.table.copy(), national=kept.national.copy())


def _plan_costing(
    result: Result,
    service_type: str,
    taxonomy: Taxonomy,
    *,
    standard: float | None,
    unit_cost: float | None,
    lang: str | None,
) -> PlanCosting:
    """Compute what :func:`plan_costing` returns."""
    from socialmap.export import costing_tables

    costing = _user_costing(result, service_type, taxonomy, standard, unit_cost)
    raw_national = costing.national[costing.national["service_type"] == service_type]
    # What may be shown: the export's suppression of the costing, cell for cell (hidden cells NaN,
    # each row's marker in ``suppression``), so the table shows what a published file would.
    shown = costing_tables(
        result, costing, protected=_protected(result, taxonomy), taxonomy=taxonomy, lang=lang, markers=False
    )
    table = pd.DataFrame(shown["costing"]).drop(columns=["geometry", "service_label"], errors="ignore")
    table = table[table["service_type"] == service_type]
    table = table.assign(name=area_names(table, lang).to_numpy()) if "name" in table.columns else table
    national = pd.DataFrame(shown["costing_national"]).drop(columns="service_label", errors="ignore")
    national = national[national["service_type"] == service_type]
    cols = [*_COSTING_COLUMNS, "suppression"]
    labels = {k: t(v, lang) for k, v in _COSTING_COLUMNS.items()} | {"suppression": t("Hidden", lang)}
    row = raw_national.iloc[0]  # what is missing (need, standard, cost) is said from the costing itself
    for col in ("standard_source", "cost_source"):  # "user-supplied" in the language; keys as they are
        table = table.assign(**{col: table[col].map(lambda v: source_label(v, lang))})
        national = national.assign(**{col: national[col].map(lambda v: source_label(v, lang))})
    unknown_areas = int((pd.to_numeric(table["capacity_unknown"], errors="coerce").fillna(0) > 0).sum())
    table = table.assign(
        note=[_costing_note(r, lang, unknown=int(r["capacity_unknown"] or 0)) for _, r in table.iterrows()]
    )
    national = national.assign(
        note=[_costing_note(r, lang, areas=unknown_areas) for _, r in national.iterrows()]
    )
    notes = tuple(
        t(text, lang, type=choice_label(service_type, taxonomy, lang))
        for text, missing in (
            (
                N_("{type}: need unknown (a target group has no rate), so nothing can be costed."),
                np.isnan(row["target_group"]),
            ),
            (
                N_(
                    "{type}: no planning standard (places per 1,000 of the target group) is sourced: "
                    "enter one above."
                ),
                np.isnan(row["places_per_1000"]),
            ),
            (
                N_("{type}: no unit cost (EUR per place per year) is sourced: enter one above."),
                np.isnan(row["unit_cost_eur_per_place_year"]),
            ),
        )
        if missing
    )
    return PlanCosting(
        table[[c for c in cols if c in table.columns]].rename(columns=labels).reset_index(drop=True),
        national[[c for c in cols if c in national.columns]].rename(columns=labels).reset_index(drop=True),
        _source(row["standard_source"]),
        _source(row["cost_source"]),
        notes,
    )


def costing_download(
    result: Result,
    service_type: str,
    taxonomy: Taxonomy,
    *,
    standard: float | None = None,
    unit_cost: float | None = None,
    lang: str | None = None,
) -> bytes:
    """
    Return the whole result with its costing as an XLSX file, safe to publish.

    The same standards and unit cost as :func:`plan_costing` (the user's for ``service_type``, else
    the taxonomy's), written by :func:`socialmap.export.export_table`: small counts hidden as in
    every other output, the source of every figure, formulas neutralised.
    """
    from socialmap.export import export_table

    costing = _user_costing(result, service_type, taxonomy, standard, unit_cost)
    with tempfile.TemporaryDirectory(prefix="socialmap-download-") as tmp:
        path = Path(tmp) / "costing.xlsx"
        return export_table(result, path, lang=lang, taxonomy=taxonomy, costing=costing).read_bytes()


def _costing_note(row: pd.Series, lang: str | None, *, unknown: int = 0, areas: int = 0) -> str:
    """Write the note of a costing row in ``lang``: what is missing, and capacities left unknown."""
    parts = []
    if str(row.get("suppression", "") or ""):
        from socialmap import settings

        parts.append(
            t(
                "hidden: small count (fewer than {n} persons, or protecting one)",
                lang,
                n=format_number(settings.suppression_threshold, lang, decimals=0),
            )
        )
    elif pd.isna(row["target_group"]):
        parts.append(t("need unknown", lang))
    if pd.isna(row["places_per_1000"]):
        parts.append(t("no planning standard", lang))
    if pd.isna(row["unit_cost_eur_per_place_year"]):
        parts.append(t("no unit cost", lang))
    if unknown:
        parts.append(
            t("services of unknown capacity: {n}; the places needed may be overstated", lang, n=unknown)
        )
    if areas:
        parts.append(
            t(
                "municipalities with services of unknown capacity: {n}; the places needed may be overstated",
                lang,
                n=areas,
            )
        )
    return "; ".join(parts)


def _source(value: object) -> str:
    return "" if value is None or (isinstance(value, float) and np.isnan(value)) else str(value)


def source_label(value: object, lang: str | None = None) -> str:
    """
    Show the source of a standard or unit cost: "user-supplied" in ``lang``, a source key as it is.

    Keys joined by ``"; "`` are shown each in turn; an empty source gives ``""``.
    """
    from socialmap.costing import USER_SUPPLIED

    parts = [p.strip() for p in _source(value).split(";") if p.strip()]
    return "; ".join(t(N_("user-supplied"), lang) if p == USER_SUPPLIED else p for p in parts)
