"""
The profile of one area: its summary, its table by service type, the composite's makeup and the chart.

:func:`profile_summary`, :func:`profile_table`, :func:`composite_makeup_table`,
:func:`profile_chart` and :func:`profile_chart_spec` (a Vega-Lite spec). Intensive values (gap
scores, shares) of several areas are combined as ratios of extensive sums, never averaged (see
:func:`profile_chart`).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import pandas as pd

from socialmap import i18n
from socialmap.app.explore import _hide_small_counts, area_names, composite_for, score_label, types_in_scope
from socialmap.app.labels import _SHARES, LABELS, METHOD_LABELS, METRICS, label
from socialmap.app.runner import published
from socialmap.errors import SocialMapError
from socialmap.i18n import t

if TYPE_CHECKING:
    from socialmap.pipeline import Result
    from socialmap.taxonomy import Taxonomy


def _area_row(result: Result, area_id: str) -> pd.Series:
    ids = result.areas["area_id"].astype(str)
    if str(area_id) not in set(ids):
        raise SocialMapError(f"No area with id {area_id!r}; the analysis has {len(ids)} areas.")
    return result.areas[ids == str(area_id)].iloc[0]


def profile_summary(
    result: Result,
    area_id: str,
    taxonomy: Taxonomy,
    *,
    target_group: str | None = None,
    lang: str | None = None,
) -> dict[str, Any]:
    """
    Headline figures of one area.

    Returns
    -------
    figures
        ``name`` (in ``lang``), ``population``, ``composite_gap`` and ``rank`` (of the service
        types serving ``target_group``, or all), ``score_label`` (what that score is: the composite
        gap, or the gap score of the one type scored, see :func:`score_label`), ``areas`` (how
        many are ranked).
    """
    result = published(result, taxonomy)  # the one rule: every figure shown is a published one
    row = _area_row(result, area_id)
    types = types_in_scope(taxonomy, target_group)
    comp = composite_for(result, types, taxonomy)
    mine = comp[comp["area_id"].astype(str) == str(area_id)].iloc[0]
    return {
        "name": area_names(row.to_frame().T, lang).iloc[0],
        "population": float(row["population"]),
        "composite_gap": float(mine["composite_gap"]),
        "score_label": score_label(result, types, taxonomy, lang, area_id=str(area_id)),
        "rank": None if pd.isna(mine["rank"]) else int(mine["rank"]),
        "areas": int(comp["rank"].notna().sum()),
    }


def composite_makeup_table(
    result: Result, area_id: str, taxonomy: Taxonomy, lang: str | None = None
) -> pd.DataFrame:
    """
    Return the make-up of an area's composite gap: each target group's gap, share and status.

    Parameters
    ----------
    result
        The analysis.
    area_id
        The area.
    taxonomy
        For the groups' labels.
    lang
        Language of the labels and the status.

    Returns
    -------
    table
        One row per target group, labelled columns: *Target group*, *Share of the composite (%)*
        (NaN for groups not scored), *Gap score (%)* (Σ unmet / Σ need over the types serving it),
        *Status* (scored / partly unknown / need unknown / no need) and *Service types* (their labels).
    """
    result = published(result, taxonomy)  # the one rule: every figure shown is a published one
    lang = i18n.check_language(lang)
    gaps = result.group_gaps(str(area_id))
    status = {
        "scored": t("scored", lang),
        "partly unknown": t("partly unknown", lang),
        "unknown": t("need unknown", lang),
        "no need": t("no need here", lang),
    }
    makeup = result.makeup if result.makeup is not None else pd.DataFrame()
    rows = []
    for _, g in gaps.iterrows():
        types = makeup.loc[
            (makeup["area_id"].astype(str) == str(area_id)) & (makeup["target_group"] == g["target_group"]),
            "service_type",
        ]
        rows.append(
            {
                t(LABELS["target_group"], lang): taxonomy.label(str(g["target_group"]), lang),
                t(LABELS["weight_share"], lang): 100 * float(g["weight_share"]),
                t(LABELS["gap"], lang): float(g["gap"]),
                # The status before the (long) list of types, so that it is on screen without scrolling.
                t(LABELS["status"], lang): status.get(str(g["status"]), str(g["status"])),
                t(LABELS["service_type"], lang): ", ".join(taxonomy.label(str(x), lang) for x in types),
            }
        )
    return pd.DataFrame(rows)


def profile_table(
    result: Result,
    area_id: str,
    taxonomy: Taxonomy,
    *,
    target_group: str | None = None,
    lang: str | None = None,
) -> pd.DataFrame:
    """
    One area's figures for every service type in scope.

    Parameters
    ----------
    result
        The analysis.
    area_id
        The area.
    taxonomy
        Service-type labels and scope.
    target_group
        Only the service types serving this group (``None``: all).
    lang
        Language of labels.

    Returns
    -------
    table
        One row per service type: *Service type*, the metrics of :data:`METRICS` (shares in
        percent), *Rank* among areas by gap score, *Method* and *Catchment (km)*. The places are
        written as the brief writes them (:func:`socialmap.report.places_text`): "unknown" where
        no service there has a known capacity, never 0.
    """
    result = published(result, taxonomy)  # the one rule: every figure shown is a published one
    from socialmap.report import places_text

    _area_row(result, area_id)
    table = _scoped_table(result, taxonomy, target_group)
    mine = table[table["area_id"] == str(area_id)]
    out = pd.DataFrame(
        {
            "service_type": [taxonomy.label(st, lang) for st in mine["service_type"]],
            **{m: pd.to_numeric(mine[m], errors="coerce").to_numpy(dtype=float) for m in METRICS},
            "rank": mine["rank"].to_numpy(dtype=float),
            "method": [t(METHOD_LABELS.get(str(m), str(m)), lang) for m in mine["method"]],
            **(
                {"catchment_min": mine["catchment_min"].to_numpy(dtype=float)}
                if "catchment_min" in mine.columns
                else {"catchment_km": mine["catchment_m"].to_numpy(dtype=float) / 1000}
            ),
        }
    )
    for col in _SHARES:
        out[col] = pd.to_numeric(out[col]) * 100
    out["supply"] = [places_text(row, lang or "en") for _, row in mine.iterrows()]
    return out.rename(columns={k: label(k, lang) for k in out.columns})


def _scoped_table(result: Result, taxonomy: Taxonomy, target_group: str | None) -> pd.DataFrame:
    """Rows of ``result.table`` for the service types in scope, in taxonomy order, with ``rank``."""
    from socialmap.gaps import rank_areas

    types = [st for st in types_in_scope(taxonomy, target_group) if st in set(result.table["service_type"])]
    table = pd.DataFrame(result.table.drop(columns="geometry"))
    table = table[table["service_type"].isin(types)].copy()
    table["area_id"] = table["area_id"].astype(str)
    table = _hide_small_counts(table, result, None, taxonomy)
    table["rank"] = table.groupby("service_type")["gap_score"].transform(rank_areas)
    order = {st: i for i, st in enumerate(types)}
    return table.sort_values("service_type", key=lambda c: c.map(order), kind="stable")


def profile_chart(
    result: Result,
    area_id: str,
    taxonomy: Taxonomy,
    *,
    target_group: str | None = None,
    lang: str | None = None,
) -> pd.DataFrame:
    """
    Gap score of one area per service type, beside the gap score of all areas together.

    The comparison is 100 × Σ unmet need / Σ need over all areas (a ratio of extensive sums),
    not a mean of the areas' scores.

    Returns
    -------
    data
        Indexed by service-type label; columns: the area's name and "All areas". NaN where the
        gap is not defined (need unknown or zero).
    """
    result = published(result, taxonomy)  # the one rule: every figure shown is a published one
    row = _area_row(result, area_id)
    name = area_names(row.to_frame().T, lang).iloc[0]
    table = _scoped_table(result, taxonomy, target_group)
    mine = table[table["area_id"] == str(area_id)].set_index("service_type")["gap_score"]
    scored = table[table["need"].gt(0) & table["unmet_need"].notna()]
    sums = scored.groupby("service_type")[["need", "unmet_need"]].sum()
    types = list(mine.index)
    overall = (100 * sums["unmet_need"] / sums["need"]).reindex(types)
    all_label = t("All areas", lang)
    if name == all_label:
        name = f"{name} ({area_id})"
    index = pd.Index([taxonomy.label(st, lang) for st in types], name=label("service_type", lang))
    return pd.DataFrame(
        {name: mine.to_numpy(dtype=float), all_label: overall.to_numpy(dtype=float)}, index=index
    )


def profile_chart_spec(data: pd.DataFrame, lang: str | None = None) -> dict[str, Any]:
    """
    Build a Vega-Lite spec of :func:`profile_chart`'s data: grouped horizontal bars, 0-100 %.

    Service types keep their taxonomy order and full names; missing gaps are left out.

    Parameters
    ----------
    data
        What :func:`profile_chart` returned.
    lang
        Language of the axis titles.

    Returns
    -------
    spec
        A Vega-Lite spec with its data inline (for ``st.vega_lite_chart``).
    """
    series_name, type_name, value_name = t("Series", lang), str(data.index.name), t("Gap score (%)", lang)
    values = [
        {type_name: str(kind), series_name: str(series), value_name: float(value)}
        for kind, row in data.iterrows()
        for series, value in row.items()
        if pd.notna(value)
    ]
    return {
        "data": {"values": values},
        # the labels and legend inside the width given (a phone's 390 px too); long names are cut
        # with an ellipsis, the tooltip gives them in full
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
            "yOffset": {"field": series_name, "sort": [str(c) for c in data.columns]},
            "x": {"field": value_name, "type": "quantitative", "scale": {"domain": [0, 100]}},
            "color": {
                "field": series_name,
                "type": "nominal",
                "sort": [str(c) for c in data.columns],
                "legend": {"orient": "bottom", "direction": "vertical", "title": None},
            },
        },
    }
