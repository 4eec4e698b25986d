"""Outputs made of two results (scenarios), of placements and of costings, protected."""

from __future__ import annotations

import math
import re
from collections.abc import Mapping
from dataclasses import replace
from typing import TYPE_CHECKING, Literal

import numpy as np
import pandas as pd

from socialmap.privacy.counts import protect
from socialmap.privacy.protected import (
    COUNT_HIDDEN,
    LINKED,
    PRIMARY,
    SAFE_COLUMNS,
    SECONDARY,
    Protected,
    is_safe,
)
from socialmap.privacy.published import _straight_line

if TYPE_CHECKING:
    import geopandas as gpd

    from socialmap.optimise import Placement
    from socialmap.pipeline import Result
    from socialmap.scenario import Comparison


def protect_comparison(
    comparison: Comparison, before: Protected, after: Protected, *, lang: str | None = None
) -> Comparison:
    """
    Return a scenario comparison as it may be shown: each side hidden as its own result.

    Parameters
    ----------
    comparison
        :func:`socialmap.scenario.compare` of the two raw results.
    before, after
        :func:`protect` of the results compared.

    Returns
    -------
    comparison
        A copy: in ``table`` the ``_before`` columns hidden as in ``before``, the ``_after`` ones as
        in ``after``, the ``_delta`` ones where either is, and a ``suppression`` column; ``totals``
        likewise per service type; ``areas`` with the published composite gaps and the deltas of
        published cells only. The ``suppression`` columns hold the markers (in ``lang``).
    """
    table = _two_sided(comparison.table, before, after, level="row", lang=lang)
    totals = _two_sided(comparison.totals, before, after, level="total", lang=lang)
    areas = comparison.areas.copy()
    comp_b = before.composite.set_index(before.composite["area_id"].astype(str))["composite_gap"]
    comp_a = after.composite.set_index(after.composite["area_id"].astype(str))["composite_gap"]
    ids = areas["area_id"].astype(str)
    if "composite_gap_before" in areas.columns:
        areas["composite_gap_before"] = ids.map(comp_b).astype(float).to_numpy()
        areas["composite_gap_after"] = ids.map(comp_a).astype(float).to_numpy()
        areas["composite_gap_delta"] = areas["composite_gap_after"] - areas["composite_gap_before"]
    types = list(dict.fromkeys(comparison.table["service_type"].astype(str)))
    for col in list(areas.columns):
        if col in SAFE_COLUMNS or col.startswith("composite_gap_"):
            continue
        found = re.fullmatch(r"(\w+?)_delta_(\w+)", col)
        if found and found.group(2) in types and f"{found.group(1)}_delta" in table.columns:
            metric, st = found.groups()
            part = table[table["service_type"].astype(str) == st]
            values = pd.to_numeric(part[f"{metric}_delta"], errors="coerce")
            wide = pd.Series(values.to_numpy(), index=part["area_id"].astype(str).to_numpy())
            areas[col] = ids.map(wide).astype(float).to_numpy()
        else:  # an area column this module does not know: hidden where any row is
            hidden = ids.isin(set(before._area_statuses()) | set(after._area_statuses()))
            areas.loc[hidden.to_numpy(), col] = np.nan
    return replace(comparison, table=table, totals=totals, areas=areas)


def _two_sided(
    frame: pd.DataFrame,
    before: Protected,
    after: Protected,
    *,
    level: Literal["row", "total"],
    lang: str | None = None,
) -> pd.DataFrame:
    sides = {"before": before, "after": after}
    masks = {k: p.mask(frame, level=level) for k, p in sides.items()}
    out = frame.copy()
    rank = {"": 0, LINKED: 1, SECONDARY: 2, PRIMARY: 3}
    status = pd.Series(
        [
            max(a, b, key=lambda s: rank.get(s, 0))
            for a, b in zip(masks["before"][1], masks["after"][1], strict=True)
        ],
        index=frame.index,
        dtype=object,
    )
    for col in frame.columns:
        if is_safe(col) or col not in masks["before"][0].columns:
            continue
        text = str(col)
        b = masks["before"][0][col].to_numpy(dtype=bool)
        a = masks["after"][0][col].to_numpy(dtype=bool)
        if text.endswith("_before") or "[before]" in text:
            cells = b
        elif text.endswith("_after") or "[after]" in text:
            cells = a
        else:  # deltas and anything else: hidden where either side is
            cells = a | b
        if cells.any():
            if not pd.api.types.is_float_dtype(out[col]):
                out[col] = pd.to_numeric(out[col], errors="coerce").astype(float)
            out.loc[cells, col] = np.nan
    out["suppression"] = [before.marker(str(v), lang) for v in status]
    return out


def marked(frame: pd.DataFrame) -> pd.DataFrame:
    """
    Return a published frame for a file or a screen: its hidden cells hold the row's marker.

    A published frame (from :meth:`Protected.hide`, :func:`protect_comparison`,
    :func:`protect_many`, :func:`protect_placement`) has its hidden cells NaN and the row's marker
    (``"<5"``, ``"[c]"``) in its ``suppression`` column; here every NaN cell off
    :data:`SAFE_COLUMNS` in a marked row gets that marker as text.
    """
    if "suppression" not in frame.columns:
        return frame.copy()
    out = frame.copy()
    marks = out["suppression"].fillna("").astype(str)
    rows = (marks != "").to_numpy()
    if not rows.any():
        return out
    for col in out.columns:
        if is_safe(col) or col == "geometry":
            continue
        cells = rows & out[col].isna().to_numpy()
        if cells.any():
            out[col] = out[col].astype(object)
            out.loc[cells, col] = marks[cells].to_numpy()
    return out


def protect_many(
    frame: pd.DataFrame, protected: Mapping[str, Protected], *, base: str, lang: str | None = None
) -> pd.DataFrame:
    """
    Hide the cells of :func:`socialmap.scenario.compare_many`'s table, each result's as its own.

    Parameters
    ----------
    frame
        The table: ``<metric> [<name>]`` and ``<metric> Δ [<name>]`` columns, rows per area ×
        service type (with ``area_id``) or per service type.
    protected
        Name → :func:`protect` of that result.
    base
        The name the deltas are taken against.
    lang
        Language of the markers.

    Returns
    -------
    frame
        A copy with hidden cells NaN and a ``suppression`` column (the markers).
    """
    level: Literal["row", "total"] = "row" if "area_id" in frame.columns else "total"
    masks = {n: p.mask(frame, level=level) for n, p in protected.items()}
    out = frame.copy()
    rank = {"": 0, LINKED: 1, SECONDARY: 2, PRIMARY: 3}
    statuses = [m[1] for m in masks.values()]
    out_status = [max(vals, key=lambda s: rank.get(s, 0)) for vals in zip(*statuses, strict=True)]
    for col in frame.columns:
        if is_safe(col):
            continue
        found = re.fullmatch(r"(.+?)( Δ)? \[(.*)\]", str(col))
        if found is None or found.group(3) not in masks:
            names = list(masks)  # unknown column: hidden wherever any result hides it
        else:
            names = [found.group(3)] + ([base] if found.group(2) else [])
        cells = np.zeros(len(frame), dtype=bool)
        for n in names:
            m = masks[n][0]
            if col in m.columns:
                cells |= m[col].to_numpy(dtype=bool)
        if cells.any():
            if not pd.api.types.is_float_dtype(out[col]):
                out[col] = pd.to_numeric(out[col], errors="coerce").astype(float)
            out.loc[cells, col] = np.nan
    first = next(iter(protected.values()))
    out["suppression"] = [first.marker(str(v), lang) for v in out_status]
    return out


def public_demand(result: Result, service_type: str, protected: Protected | None = None) -> gpd.GeoDataFrame:
    """
    Return the demand points of one service type with the need an outsider can know.

    Where the service type is sensitive and some areas' counts are hidden, each hidden area's need
    is replaced by an equal share of the hidden remainder (national need minus the published areas'
    need; ``threshold / 2`` per primary and ``threshold`` per secondary area where the national
    total is hidden too), spread over the area's demand points in the proportions of its own need
    (which come from the areas' shapes and the population, not from the count). Anything chosen on
    this demand (new sites) then does not depend on the hidden counts. Other service types, and
    sensitive ones with nothing hidden, get their demand points unchanged.

    Parameters
    ----------
    result
        The raw analysis result.
    service_type
        The service type.
    protected
        :func:`protect` of ``result`` (default: made here).

    Returns
    -------
    demand
        A copy of ``result.demand``'s rows of the type; ``need`` replaced in the hidden areas.
    """
    demand = result.demand[result.demand["service_type"] == service_type].copy()
    if len(demand) and demand["need"].isna().all() and "target_size" in demand.columns:
        # need unknown, scored on its target group (as socialmap.optimise places it): the group counts
        demand["need"] = demand["target_size"]
    if protected is None:
        protected = protect(result)
    if service_type not in protected.sensitive_types:
        return demand
    rows = protected.table[protected.table["service_type"] == service_type]
    hidden = rows[rows["suppression"].isin(COUNT_HIDDEN)]
    if hidden.empty:
        return demand
    total = protected.totals.set_index("service_type").loc[service_type]
    ids = hidden["area_id"].astype(str)
    if str(total["suppression"]) in COUNT_HIDDEN or pd.isna(total["need"]):
        share = hidden["suppression"].map({PRIMARY: protected.threshold / 2, SECONDARY: protected.threshold})
        surrogate = dict(zip(ids, share.astype(float), strict=True))
    else:
        published = pd.to_numeric(rows.loc[~rows["suppression"].isin(COUNT_HIDDEN), "need"], errors="coerce")
        remainder = max(float(total["need"]) - float(published.sum()), 0.0)
        surrogate = dict.fromkeys(ids, remainder / len(ids))
    need = pd.to_numeric(demand["need"], errors="coerce").astype(float)
    area = demand["area_id"].astype(str)
    for a, value in surrogate.items():
        at = (area == a).to_numpy()
        own = need[at]
        weights = (
            own / own.sum() if own.sum() > 0 else pd.Series(1.0 / max(int(at.sum()), 1), index=own.index)
        )
        need[at] = weights * value
    demand["need"] = need
    return demand


def protect_placement(
    placement: Placement, result: Result, service_type: str, protected: Protected | None = None
) -> Placement:
    """
    Return a placement of new sites as it may be shown.

    For a sensitive service type with hidden areas: a site's ``reachable_need``, ``added_need`` and
    ``served_need`` are hidden (NaN) where a demand point of a hidden area is within its radius (all
    of them with capacities, whose flows couple every site), and so are the national figures
    (``objective``, ``covered_need``, ``existing_need``, ``bound``, ``gap_to_optimum``;
    ``total_need`` stays as published in the totals); ``order`` (which follows the need) is
    replaced by the order of the candidates' positions, and the per-point ``demand`` is dropped.
    Make the placement on :func:`public_demand`, so that the choice of sites does not follow the
    hidden counts either (:func:`socialmap.optimise.place_services` does).

    Parameters
    ----------
    placement
        What :func:`socialmap.optimise.place_services` found.
    result
        The raw result it was made from.
    service_type
        The type placed.
    protected
        :func:`protect` of ``result`` (default: made here).

    Returns
    -------
    placement
        A copy (the same one for other types and when nothing is hidden).
    """
    if protected is None:
        protected = protect(result)
    if service_type not in protected.sensitive_types:
        return placement
    rows = protected.table[protected.table["service_type"] == service_type]
    hidden_ids = set(rows.loc[rows["suppression"].isin(COUNT_HIDDEN), "area_id"].astype(str))
    chosen = placement.chosen.copy()
    total = protected.totals.set_index("service_type").loc[service_type]
    total_need = float(total["need"]) if pd.notna(total["need"]) else math.nan
    if not hidden_ids:
        return replace(
            placement, total_need=total_need if math.isfinite(total_need) else placement.total_need
        )
    from socialmap.access import pairs_within

    demand = result.demand[result.demand["service_type"] == service_type]
    touched = np.ones(len(chosen), dtype=bool)
    if not placement.capacitated and len(chosen) and len(demand) and _straight_line(result):
        in_hidden = demand["area_id"].astype(str).isin(hidden_ids).to_numpy()
        pts = demand[in_hidden]
        touched = np.zeros(len(chosen), dtype=bool)
        if len(pts):
            dxy = np.column_stack([pts.geometry.x.to_numpy(), pts.geometry.y.to_numpy()])
            cxy = np.column_stack([chosen.geometry.x.to_numpy(), chosen.geometry.y.to_numpy()])
            radius = float(placement.radius_m)
            _, j, _ = pairs_within(dxy, cxy, catchment_m=radius * (1 + 1e-9) + 1e-6)
            touched[np.unique(j)] = True
    for col in chosen.columns:
        if is_safe(col) or col in ("geometry", "order"):
            continue
        if not pd.api.types.is_numeric_dtype(chosen[col]):
            continue
        chosen[col] = chosen[col].astype(float)
        chosen.loc[touched, col] = np.nan
    chosen["suppression"] = np.where(touched, protected.marker(SECONDARY), "")
    if "order" in chosen.columns and len(chosen):
        position = np.lexsort((chosen.geometry.y.to_numpy(), chosen.geometry.x.to_numpy()))
        ranks = np.empty(len(chosen), dtype=np.int64)
        ranks[position] = np.arange(1, len(chosen) + 1)
        chosen["order"] = ranks
        chosen = chosen.sort_values("order")
    demand_out = placement.demand.iloc[0:0].copy()
    nan = math.nan
    return replace(
        placement,
        chosen=chosen,
        objective=nan,
        covered_need=nan,
        existing_need=nan,
        total_need=total_need,
        bound=nan,
        gap_to_optimum=nan,
        demand=demand_out,
        notes=(*placement.notes, "figures touching areas with hidden counts are hidden"),
    )
