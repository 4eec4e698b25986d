"""Which counts are sensitive, and which cells to hide: the primary and the secondary suppression.

:func:`protect` finds the rows whose need counts a sensitive target group below the threshold
(primary), then hides enough others (secondary) that no hidden count can be worked out from the
published totals (:func:`national_totals`).
"""

from __future__ import annotations

import logging
import math
from collections.abc import Iterable
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from socialmap import settings
from socialmap.errors import SocialMapError
from socialmap.privacy.protected import LINKED, PRIMARY, SECONDARY, Protected, apply_mask, resolve_taxonomy
from socialmap.privacy.published import (
    _Base,
    _like,
    _linked_areas,
    _published_areas,
    _published_composite,
    _published_makeup,
    _published_result,
)

if TYPE_CHECKING:
    from socialmap.pipeline import Result
    from socialmap.taxonomy import Taxonomy

logger = logging.getLogger("socialmap.privacy")


def sensitive_service_types(
    taxonomy: Taxonomy, *, sensitive_groups: Iterable[str] | None = None
) -> tuple[str, ...]:
    """
    Return the service types whose counts are protected.

    Parameters
    ----------
    taxonomy
        The taxonomy.
    sensitive_groups
        Target-group keys to treat as sensitive; ``None`` for the taxonomy's ``sensitive`` flags.

    Returns
    -------
    keys
        Service types flagged sensitive or serving a sensitive target group, in taxonomy order.
    """
    groups = _sensitive_groups(taxonomy, sensitive_groups)
    return tuple(
        k for k, st in taxonomy.service_types.items() if st.sensitive or set(st.target_groups) & groups
    )


def _sensitive_groups(taxonomy: Taxonomy, sensitive_groups: Iterable[str] | None) -> set[str]:
    if sensitive_groups is None:
        return {k for k, g in taxonomy.target_groups.items() if g.sensitive}
    groups = {str(g) for g in sensitive_groups}
    unknown = sorted(groups - set(taxonomy.target_groups))
    if unknown:
        raise SocialMapError(
            f"`sensitive_groups` names unknown target group(s) {unknown}; "
            f"the taxonomy has {list(taxonomy.target_groups)}."
        )
    return groups


def sensitive_counts(
    table: pd.DataFrame,
    taxonomy: Taxonomy,
    *,
    sensitive_types: Iterable[str],
    sensitive_groups: Iterable[str] | None = None,
    population: pd.DataFrame | None = None,
) -> pd.Series:
    """
    Return, per row of an area × service-type table, the count of persons in sensitive groups it reveals.

    The first column of :func:`sensitive_count_table` (the size of the target group where the
    table has it, else the need): see there.
    """
    counts = sensitive_count_table(
        table,
        taxonomy,
        sensitive_types=sensitive_types,
        sensitive_groups=sensitive_groups,
        population=population,
    )
    return counts.iloc[:, 0] if counts.shape[1] else pd.Series(np.nan, index=table.index, dtype=float)


def sensitive_count_table(
    table: pd.DataFrame,
    taxonomy: Taxonomy,
    *,
    sensitive_types: Iterable[str],
    sensitive_groups: Iterable[str] | None = None,
    population: pd.DataFrame | None = None,
) -> pd.DataFrame:
    """
    Return, per row of an area × service-type table, every count of persons in sensitive groups it shows.

    A row can show two counts of its target group: ``target_size`` (the people in the group, from
    the population table) and ``need`` (the group × a need rate, or the whole group). Both are
    protected, each as a table of counts of its own. A ``need`` worked out from a planning standard
    per a group that is not sensitive (shelters: places per 10,000 of the whole population) is a
    function of published figures only, not a count of the sensitive group: it is not tested.

    Parameters
    ----------
    table
        Long table with ``area_id``, ``service_type``, ``need`` and (optionally) ``target_size``
        (``Result.table``).
    taxonomy
        The taxonomy (target groups of each service type, their rates).
    sensitive_types
        Service types whose rows are protected.
    sensitive_groups
        Sensitive target groups; ``None`` for the taxonomy's flags.
    population
        Table with ``area_id`` and ``population`` (``Result.areas``), for "population × rate"
        estimates of the non-sensitive groups of a mixed service type.

    Returns
    -------
    counts
        Columns ``target_size`` and ``need`` (those with a count), extensive counts on ``table``'s
        index: for a service type serving only sensitive groups the count itself; for a mixed one,
        the count minus the smallest published figure of its non-sensitive groups (clipped at 0);
        NaN for rows of other service types and where the count is unknown.
    """
    sensitive_types = set(sensitive_types)
    groups = _sensitive_groups(taxonomy, sensitive_groups)
    present = set(table["service_type"])
    served = {k: frozenset(st.target_groups) for k, st in taxonomy.service_types.items() if k in present}
    published = [k for k in served if k not in sensitive_types]
    pop = None
    if population is not None and "population" in population.columns:
        pop = population.set_index(population["area_id"].astype(str))["population"].astype(float)
    kinds = [c for c in ("target_size", "need") if c in table.columns]
    out = pd.DataFrame(np.nan, index=table.index, columns=kinds, dtype=float)
    for kind in kinds:
        values = pd.to_numeric(table[kind], errors="coerce").astype(float)
        for st in sensitive_types:
            rows = table["service_type"] == st
            if not rows.any():
                continue
            if kind == "need" and _need_from_public_standard(taxonomy, st, groups):
                continue
            own = served.get(st, frozenset())
            public = own - groups
            if not public or public == own:
                out.loc[rows, kind] = values[rows]
                continue
            ids = table.loc[rows, "area_id"].astype(str)
            estimates: list[pd.Series] = []
            # (a) a published service type serving exactly the non-sensitive groups
            for other in published:
                if served[other] == public:
                    estimates.append(ids.map(_by_area(table, other, kind)))
            # (b) group by group: a published single-group service type, or population × rate
            per_group: list[pd.Series] = []
            for g in sorted(public):
                singles = [o for o in published if served[o] == frozenset({g})]
                rate = taxonomy.target_groups[g].rate
                if singles:
                    per_group.append(ids.map(_by_area(table, singles[0], kind)))
                elif pop is not None and rate is not None:
                    per_group.append(ids.map(pop).astype(float) * float(rate))
                else:
                    per_group = []
                    break
            if per_group:
                estimates.append(sum(per_group[1:], per_group[0]))
            counts = values[rows]
            if estimates:
                gaps = pd.concat([counts - e.to_numpy(dtype=float) for e in estimates], axis=1)
                counts = gaps.min(axis=1).clip(lower=0.0).fillna(counts).where(counts.notna())
            out.loc[rows, kind] = counts
    keep = [c for c in kinds if out[c].notna().any()]
    return out[keep]


def _need_from_public_standard(taxonomy: Taxonomy, service_type: str, groups: set[str]) -> bool:
    """Whether a type's need is its planning standard per groups that are not sensitive."""
    if service_type not in taxonomy.service_types or taxonomy.need_basis(service_type) != "standard":
        return False
    per = set(taxonomy.standard_groups(service_type))
    return bool(per) and not (per & groups)


def _by_area(table: pd.DataFrame, service_type: str, column: str) -> pd.Series:
    rows = table[table["service_type"] == service_type]
    values = pd.to_numeric(rows[column], errors="coerce").astype(float)
    return pd.Series(values.to_numpy(), index=rows["area_id"].astype(str).to_numpy())


def _acceptable(counts: np.ndarray, status: np.ndarray, threshold: float) -> bool:
    """Whether the hidden rows of one total leave every primary row free in (0, threshold)."""
    hidden = status != ""
    if not hidden.any():
        return True
    primary = int((status == PRIMARY).sum())
    secondary = int((status == SECONDARY).sum())
    if primary == 0:
        return True
    total_hidden = float(counts[hidden].sum())
    low_ok = total_hidden - secondary * threshold >= threshold - 1e-9
    high_ok = secondary >= 1 or total_hidden <= (primary - 1) * threshold + 1e-9
    return bool(low_ok and high_ok)


def _suppress_one_total(counts: np.ndarray, threshold: float) -> tuple[np.ndarray, str]:
    """
    Return the status of each row and of the total for one sensitive service type.

    ``counts`` is one count per row, or one column per count a row shows (``target_size``, ``need``):
    a row is primary when any of its counts is small, and the hidden rows must protect every column.

    Examples
    --------
    >>> status, total = _suppress_one_total(np.array([2.0, 40.0, 9.0, 0.0]), 5)
    >>> [str(s) for s in status], total
    (['primary', '', 'secondary', ''], '')
    """
    values = np.asarray(counts, dtype=float)
    if values.ndim == 1:
        values = values[:, None]
    status = np.full(len(values), "", dtype=object)
    finite = np.isfinite(values)
    if not finite.any():
        return status, ""
    filled = np.where(finite, values, 0.0)
    small = (finite & (values > 0) & (values < threshold)).any(axis=1)
    status[small] = PRIMARY
    totals = filled.sum(axis=0)
    if ((totals > 0) & (totals < threshold) & finite.any(axis=0)).any():
        return status, PRIMARY

    def acceptable(trial: np.ndarray) -> bool:
        for k in range(values.shape[1]):
            if not finite[:, k].any():
                continue
            col = filled[:, k]
            # in this column's table: its small rows are primary, the other hidden rows are taken as
            # at least the threshold (the attacker knows no more of them: a safe assumption)
            own = np.where(trial == "", "", np.where((col > 0) & (col < threshold), PRIMARY, SECONDARY))
            if not _acceptable(col, own, threshold):
                return False
        return True

    size = filled.max(axis=1)
    positive = (finite & (values > 0)).any(axis=1)
    while not acceptable(status):
        candidates = np.flatnonzero(positive & (status == ""))
        if len(candidates) == 0:
            return status, SECONDARY
        order = candidates[np.lexsort((candidates, size[candidates]))]
        chosen = order[-1]
        for i in order:
            trial = status.copy()
            trial[i] = SECONDARY
            if acceptable(trial):
                chosen = i
                break
        status[chosen] = SECONDARY
    return status, ""


def national_totals(table: pd.DataFrame) -> pd.DataFrame:
    """
    Sum an area × service-type table into one row per service type.

    Extensive columns are summed; intensive ones are recomputed from the sums (``supply_per_10k``
    = 10,000 × supply / need; ``gap_score`` = 100 × unmet_need / need) or need-weighted
    (``covered_share``, ``access``), never summed.

    Parameters
    ----------
    table
        ``Result.table`` (or a frame with the same columns).

    Returns
    -------
    totals
        One row per service type, in the table's order, with ``service_type``, ``method``,
        ``catchment_m`` and the metrics; NaN where the need of some area is unknown.
    """
    rows = []
    for st, part in table.groupby("service_type", sort=False):
        need = pd.to_numeric(part["need"], errors="coerce")
        row: dict[str, Any] = {"service_type": st}
        for col in ("method", "catchment_m"):
            if col in part.columns:
                row[col] = part[col].iloc[0]
        known = bool(need.notna().all())
        total_need = float(need.sum()) if known else math.nan
        row["need"] = total_need
        for col in ("services", "capacity_unknown", "supply"):
            row[col] = float(pd.to_numeric(part[col], errors="coerce").sum(min_count=1))
        for col in ("reachable_places", "unmet_need"):
            values = pd.to_numeric(part[col], errors="coerce")
            row[col] = float(values.sum()) if known and values.notna().all() else math.nan
        positive = known and total_need > 0
        row["supply_per_10k"] = 10_000 * row["supply"] / total_need if positive else math.nan
        for col in ("covered_share", "access"):
            values = pd.to_numeric(part[col], errors="coerce")
            weights = need.where(values.notna() & (need > 0))
            row[col] = (
                float((values * weights).sum() / weights.sum())
                if positive and weights.sum() > 0
                else math.nan
            )
        row["gap_score"] = 100 * row["unmet_need"] / total_need if positive else math.nan
        rows.append(row)
    return pd.DataFrame(rows)


def protect(
    result: Result,
    *,
    threshold: float | None = None,
    sensitive_types: Iterable[str] | None = None,
    sensitive_groups: Iterable[str] | None = None,
    taxonomy: Taxonomy | str | Path | None = None,
) -> Protected:
    """
    Hide small counts of sensitive groups in a result, and everything that would give them back.

    Parameters
    ----------
    result
        What :func:`socialmap.analyze` returned (or :attr:`Protected.result`, which gives back its
        own suppression).
    threshold
        Counts above 0 and below this are hidden; ``None`` reads
        ``socialmap.settings.suppression_threshold``.
    sensitive_types
        Service types to protect; ``None``: those the taxonomy flags or that serve a sensitive group.
    sensitive_groups
        Target groups to treat as sensitive; ``None``: the taxonomy's ``sensitive`` flags.
    taxonomy
        The result's taxonomy; ``None`` reloads it from the provenance (see :func:`resolve_taxonomy`).

    Returns
    -------
    protected
        A :class:`Protected`. Use the same one for every output made from the result.

    Raises
    ------
    SocialMapError
        For a bad threshold, an unknown service type or group, or a published result that lost its
        suppression.
    """
    own = getattr(result, "_socialmap_protected", None)
    if isinstance(own, Protected):
        return own
    if "suppression" in (getattr(result, "provenance", None) or {}):
        raise SocialMapError(
            "This result is already a published one (small counts hidden): pass its "
            "socialmap.privacy.Protected as `protected=`, or the raw result."
        )
    if threshold is None:
        threshold = settings.suppression_threshold
    if not (isinstance(threshold, int | float) and math.isfinite(threshold) and threshold > 0):
        raise SocialMapError(f"`threshold` must be a positive number; got {threshold!r}.")
    tax = resolve_taxonomy(result, taxonomy)
    if sensitive_types is None:
        types = sensitive_service_types(tax, sensitive_groups=sensitive_groups)
    else:
        types = tuple(str(s) for s in sensitive_types)
        unknown = sorted(set(types) - set(tax.service_type_keys))
        if unknown:
            raise SocialMapError(
                f"`sensitive_types` names unknown service type(s) {unknown}; "
                f"the taxonomy has {list(tax.service_type_keys)}."
            )
    raw = pd.DataFrame(result.table)
    status = pd.Series("", index=raw.index, dtype=object)
    total_status: dict[str, str] = {}
    counts = sensitive_count_table(
        raw, tax, sensitive_types=types, sensitive_groups=sensitive_groups, population=result.areas
    )
    for st in types:
        rows = np.flatnonzero((raw["service_type"] == st).to_numpy())
        if len(rows) == 0:
            continue
        found, total = _suppress_one_total(
            counts.iloc[rows].to_numpy(dtype=float).reshape(len(rows), -1), float(threshold)
        )
        status.iloc[rows] = found
        hidden_ids = set(raw["area_id"].iloc[rows[found != ""]].astype(str))
        if hidden_ids:
            linked = _linked_areas(result, st, hidden_ids) - hidden_ids
            is_linked = raw["area_id"].iloc[rows].astype(str).isin(linked).to_numpy() & (found == "")
            status.iloc[rows[is_linked]] = LINKED
            total_status[st] = total or LINKED
            logger.info(
                "%s: %d row(s) hidden (%d primary), %d linked",
                st,
                len(hidden_ids),
                int((found == PRIMARY).sum()),
                int(is_linked.sum()),
            )
        elif total:
            total_status[st] = total
    base = _Base(raw, status, total_status, float(threshold), types)
    table_mask, table_status = base.mask_rows(raw)
    table = apply_mask(raw, table_mask, table_status, base.stub(), markers=False)
    table["suppression"] = status.astype(str).to_numpy()
    table = _like(result.table, table)
    totals_raw = national_totals(raw)
    totals_raw["suppression"] = ""
    tot_mask, tot_status = base.mask_totals(totals_raw)
    totals = apply_mask(totals_raw, tot_mask, tot_status, base.stub(), markers=False)
    totals["suppression"] = [total_status.get(str(t), "") for t in totals["service_type"]]
    hidden = table_mask.reindex(columns=table.columns, fill_value=False)
    hidden_totals = tot_mask.reindex(columns=totals.columns, fill_value=False)
    composite = _published_composite(result, table, tax, types)
    areas = _published_areas(result, table, composite, status, types)
    protected = Protected(
        table=table,
        totals=totals,
        threshold=float(threshold),
        sensitive_types=types,
        hidden=hidden,
        hidden_totals=hidden_totals,
        areas=areas,
        composite=composite,
        makeup=_published_makeup(result, table, tax, types),
    )
    published = _published_result(result, protected)
    object.__setattr__(protected, "result", published)
    object.__setattr__(published, "_socialmap_protected", protected)
    return protected
