"""Small-count suppression, so that published tables and briefs cannot single out people.

Which counts are protected
--------------------------
A service type is *sensitive* when the taxonomy flags it (``sensitive: true``, e.g. ``shelter_dv``,
``community_housing``) or when it serves a target group flagged sensitive (victims of violence,
children without parental care); both lists can be given as arguments instead. In the rows of a
sensitive service type, the person counts of its target group (``need``, ``reachable_places``,
``unmet_need``) and the ratios that give them back from the published supply (``supply_per_10k``,
``access``) are hidden together. The number and capacity of services (``services``, ``supply``)
and the intensive scores (``covered_share``, ``gap_score``) stay published.

The count tested is the *sensitive count* of the row: its ``need``, or, for a service type that
also serves non-sensitive groups (``community_housing`` serves persons with disabilities as well
as children without parental care), ``need`` minus what is published about the non-sensitive
groups (the need of another service type serving exactly them, or population × their rates),
because that difference would otherwise reveal the sensitive group.

The rule (primary and secondary suppression)
--------------------------------------------
With threshold ``T`` (``socialmap.settings.suppression_threshold``, default 5):

1. *Primary*: a row whose sensitive count ``c`` is ``0 < c < T`` is hidden and shown as ``"<T"``.
   A true zero stays published (it says that nobody is counted, about no one in particular).
2. *Secondary*: the national total of every column is published (the national brief shows it),
   so the hidden rows of each sensitive service type must not be recoverable as
   "total minus the published rows". Call ``D`` the sum of the hidden rows' counts (what that
   subtraction gives), ``p`` the number of primary rows and ``s`` the number of secondary ones.
   A reader knows each primary row is in ``(0, T)`` and, since secondary rows are marked ``[c]``
   and never chosen among zeros, each secondary row is ``≥ T``. The hidden rows of a total are
   acceptable when that knowledge still leaves every primary row free to take any value in
   ``(0, T)``:

   - ``D - s·T ≥ T`` (the others can be small enough for a primary row to reach ``T``), and
   - ``s ≥ 1`` or ``D ≤ (p - 1)·T`` (the others can be large enough for it to be near 0).

   While this fails, one more row is hidden as secondary: the smallest positive published row
   that makes it hold, else the largest one, and the test is repeated. If every positive row is
   hidden and it still fails, the total itself is hidden (``[c]``). A national total below ``T``
   is itself primary (``"<T"``), and then every positive row is too.

The same suppression (one call of :func:`protect`) feeds every export and brief, so putting two
outputs side by side reveals nothing that one does not.

Known limit: the accessibility scores of *neighbouring* published rows depend on the need in
the whole catchment (2SFCA divides each service's capacity by the need around it). Someone who
re-runs the model with the published capacities could in principle estimate a hidden need from
them; the gap scores of sensitive service types are therefore meant for planning, not for
publication at the level of single small areas.
"""

from __future__ import annotations

import logging
import math
import re
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from socialmap import settings
from socialmap.errors import SocialMapError
from socialmap.i18n import N_

if TYPE_CHECKING:
    import geopandas as gpd

    from socialmap.pipeline import Result
    from socialmap.taxonomy import Taxonomy

logger = logging.getLogger(__name__)

#: Extensive counts of persons in a service type's target group (hidden together).
PERSON_COUNT_COLUMNS = ("need", "reachable_places", "unmet_need")
#: Ratios that give a hidden ``need`` back from the published ``supply`` (hidden with the counts).
REVEALING_COLUMNS = (
    "supply_per_10k",
    "access",
    # The need model's columns (#18): each is a count of the group or gives one back from the published
    # supply (supply_reach = Σ need × A; spar = access / national access; places per 1,000 = reach / size).
    "supply_reach",
    "spar",
    "target_size",
    "places_per_1000",
    "standard_places",
    "standard_met",
)
#: Every column hidden in a suppressed row.
SUPPRESSED_COLUMNS = PERSON_COUNT_COLUMNS + REVEALING_COLUMNS

PRIMARY = "primary"
SECONDARY = "secondary"

#: Marker of a secondary (complementary) suppression in published tables.
SECONDARY_MARK = N_("[c]")

RULE = N_(
    "Rows of sensitive service types whose count of persons in a sensitive target group is above 0 "
    "and below {threshold} are shown as '<{threshold}'. So that national totals cannot give them "
    "away, more rows are hidden (shown as '[c]', smallest first) until the hidden rows of every "
    "total, knowing that each '<{threshold}' row is below {threshold} and each '[c]' row is at least "
    "{threshold}, leave every '<{threshold}' row free to be any value below {threshold}."
)


@dataclass(frozen=True)
class Protected:
    """
    A result's tables with small counts of sensitive groups hidden (see the module docstring).

    Attributes
    ----------
    table
        ``result.table`` (one row per area × service type) with the hidden cells set to NaN and a
        column ``suppression``: ``""``, ``"primary"`` or ``"secondary"``.
    totals
        One row per service type: national ``need``, ``services``, ``capacity_unknown``,
        ``supply``, ``reachable_places``, ``unmet_need`` (sums of the true values), ``supply_per_10k``,
        ``covered_share``, ``access`` (need-weighted), ``gap_score`` (``100 × unmet / need``), with
        hidden cells NaN and ``suppression`` as in ``table``.
    threshold
        The threshold used.
    sensitive_types
        The service types treated as sensitive.
    """

    table: pd.DataFrame
    totals: pd.DataFrame
    threshold: float
    sensitive_types: tuple[str, ...]

    def rule(self, lang: str | None = None) -> str:
        """Return the suppression rule in words, in ``lang``, with this threshold."""
        from socialmap.i18n import t

        return t(RULE, lang, threshold=_fmt_threshold(self.threshold, lang))

    def marker(self, status: str, lang: str | None = None) -> str:
        """Return what a hidden cell shows: ``"<5"`` (primary) or ``"[c]"`` (secondary)."""
        from socialmap.i18n import t

        if status == PRIMARY:
            return "<" + _fmt_threshold(self.threshold, lang)
        if status == SECONDARY:
            return t(SECONDARY_MARK, lang)
        return ""


def _fmt_threshold(threshold: float, lang: str | None = None) -> str:
    from socialmap.i18n import format_number

    decimals = 0 if float(threshold).is_integer() else 1
    return format_number(threshold, lang, decimals=decimals)


def resolve_taxonomy(result: Result, taxonomy: Taxonomy | str | Path | None = None) -> Taxonomy:
    """
    Return the taxonomy a result was computed with.

    Parameters
    ----------
    result
        What :func:`socialmap.analyze` returned.
    taxonomy
        A taxonomy, a name or a YAML path; ``None`` reloads the one named in
        ``result.provenance["taxonomy"]`` (``"name (origin)"``).

    Returns
    -------
    taxonomy
        The :class:`~socialmap.taxonomy.Taxonomy`.

    Raises
    ------
    SocialMapError
        When ``taxonomy`` is ``None`` and the provenance does not lead back to a readable file.
    """
    from socialmap.taxonomy import Taxonomy, load_taxonomy

    if isinstance(taxonomy, Taxonomy):
        return taxonomy
    if taxonomy is not None:
        return load_taxonomy(taxonomy)
    if isinstance(getattr(result, "taxonomy", None), Taxonomy):
        return result.taxonomy
    named = str(result.provenance.get("taxonomy", ""))
    found = re.fullmatch(r"(.*?) \((.*)\)", named)
    if found:
        origin = found.group(2)
        shipped = re.fullmatch(r"socialmap:taxonomies/(\w+)\.yaml", origin)
        if shipped:
            return load_taxonomy(shipped.group(1))
        if Path(origin).is_file():
            return load_taxonomy(origin)
    raise SocialMapError(
        f"Cannot find the taxonomy of this result (provenance says {named!r}); "
        "pass `taxonomy=` (the Taxonomy, or the path of its YAML file)."
    )


def public_services(services: gpd.GeoDataFrame, protected: Protected) -> gpd.GeoDataFrame:
    """
    Return the services whose locations may be published: all but those of sensitive types.

    Shelters and other services for sensitive groups are confidential addresses: they are never
    drawn on a published map nor listed in an export.

    Parameters
    ----------
    services
        Service sites with a ``service_type`` column.
    protected
        What :func:`protect` returned (its ``sensitive_types`` are withheld).

    Returns
    -------
    services
        A copy without the rows of sensitive types.
    """
    return services[~services["service_type"].isin(protected.sensitive_types)].copy()


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

    Parameters
    ----------
    table
        Long table with ``area_id``, ``service_type`` and ``need`` (``Result.table``).
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
        Extensive counts on ``table``'s index: ``need`` for a service type serving only sensitive
        groups; for a mixed one, ``need`` minus the smallest published figure of its non-sensitive
        groups (clipped at 0); NaN for rows of other service types and where ``need`` is unknown.
    """
    sensitive_types = set(sensitive_types)
    groups = _sensitive_groups(taxonomy, sensitive_groups)
    need = pd.to_numeric(table["need"], errors="coerce").astype(float)
    out = pd.Series(np.nan, index=table.index, dtype=float)
    present = set(table["service_type"])
    served = {k: frozenset(st.target_groups) for k, st in taxonomy.service_types.items() if k in present}
    published = [k for k in served if k not in sensitive_types]
    pop = None
    if population is not None and "population" in population.columns:
        pop = population.set_index(population["area_id"].astype(str))["population"].astype(float)
    for st in sensitive_types:
        rows = table["service_type"] == st
        if not rows.any():
            continue
        own = served.get(st, frozenset())
        public = own - groups
        if not public or public == own:
            out[rows] = need[rows]
            continue
        ids = table.loc[rows, "area_id"].astype(str)
        estimates: list[pd.Series] = []
        # (a) a published service type serving exactly the non-sensitive groups
        for other in published:
            if served[other] == public:
                estimates.append(ids.map(_need_by_area(table, other)))
        # (b) group by group: a published single-group service type, or population × rate
        per_group: list[pd.Series] = []
        for g in sorted(public):
            singles = [o for o in published if served[o] == frozenset({g})]
            rate = taxonomy.target_groups[g].rate
            if singles:
                per_group.append(ids.map(_need_by_area(table, singles[0])))
            elif pop is not None and rate is not None:
                per_group.append(ids.map(pop).astype(float) * float(rate))
            else:
                per_group = []
                break
        if per_group:
            estimates.append(sum(per_group[1:], per_group[0]))
        counts = need[rows]
        if estimates:
            gaps = pd.concat([counts - e.to_numpy(dtype=float) for e in estimates], axis=1)
            counts = gaps.min(axis=1).clip(lower=0.0).fillna(counts).where(counts.notna())
        out[rows] = counts
    return out


def _need_by_area(table: pd.DataFrame, service_type: str) -> pd.Series:
    rows = table[table["service_type"] == service_type]
    need = pd.to_numeric(rows["need"], errors="coerce").astype(float)
    return pd.Series(need.to_numpy(), index=rows["area_id"].astype(str).to_numpy())


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

    Examples
    --------
    >>> status, total = _suppress_one_total(np.array([2.0, 40.0, 9.0, 0.0]), 5)
    >>> [str(s) for s in status], total
    (['primary', '', 'secondary', ''], '')
    """
    status = np.full(len(counts), "", dtype=object)
    finite = np.isfinite(counts)
    if not finite.any():
        return status, ""
    total = float(counts[finite].sum())
    small = finite & (counts > 0) & (counts < threshold)
    status[small] = PRIMARY
    if 0 < total < threshold:
        return status, PRIMARY
    while not _acceptable(np.where(finite, counts, 0.0), status, threshold):
        candidates = np.flatnonzero(finite & (counts > 0) & (status == ""))
        if len(candidates) == 0:
            return status, SECONDARY
        order = candidates[np.lexsort((candidates, counts[candidates]))]
        chosen = order[-1]
        for i in order:
            trial = status.copy()
            trial[i] = SECONDARY
            if _acceptable(np.where(finite, counts, 0.0), trial, threshold):
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
    Hide small counts of sensitive groups in a result, with secondary suppression against totals.

    Parameters
    ----------
    result
        What :func:`socialmap.analyze` returned.
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
        A :class:`Protected`: the table and national totals with hidden cells NaN and a
        ``suppression`` column. Use the same one for every output made from the result.
    """
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
    table = result.table.copy()
    totals = national_totals(result.table)
    counts = sensitive_counts(
        table, tax, sensitive_types=types, sensitive_groups=sensitive_groups, population=result.areas
    )
    table["suppression"] = ""
    totals["suppression"] = ""
    for st in types:
        rows = np.flatnonzero((table["service_type"] == st).to_numpy())
        if len(rows) == 0:
            continue
        status, total_status = _suppress_one_total(counts.iloc[rows].to_numpy(dtype=float), float(threshold))
        table.iloc[rows, table.columns.get_loc("suppression")] = status
        hidden = rows[status != ""]
        for col in SUPPRESSED_COLUMNS:
            if col in table.columns:
                table.iloc[hidden, table.columns.get_loc(col)] = np.nan
        if total_status:
            at = totals["service_type"] == st
            totals.loc[at, "suppression"] = total_status
            totals.loc[at, [c for c in SUPPRESSED_COLUMNS if c in totals.columns]] = np.nan
        if len(hidden):
            logger.info(
                "%s: %d row(s) suppressed (%d primary)", st, len(hidden), int((status == PRIMARY).sum())
            )
    table["suppression"] = table["suppression"].astype(str)
    totals["suppression"] = totals["suppression"].astype(str)
    return Protected(table, totals, float(threshold), types)


def shown(frame: pd.DataFrame, protected: Protected, *, lang: str | None = None) -> pd.DataFrame:
    """
    Return a copy of a protected table whose hidden cells hold their marker (``"<5"`` or ``"[c]"``).

    Parameters
    ----------
    frame
        ``protected.table`` or ``protected.totals`` (or a frame with their ``suppression`` column).
    protected
        The :class:`Protected` it came from (for the threshold).
    lang
        Language of the markers.

    Returns
    -------
    frame
        Hidden cells of :data:`SUPPRESSED_COLUMNS` replaced by the marker (those columns become
        ``object``); the ``suppression`` column holds the marker too.
    """
    out = frame.copy()
    if "suppression" not in out.columns:
        return out
    status = out["suppression"].astype(str)
    hidden = status != ""
    marks = status.map(lambda s: protected.marker(s, lang))
    for col in SUPPRESSED_COLUMNS:
        if col in out.columns and hidden.any():
            out[col] = out[col].astype(object)
            out.loc[hidden, col] = marks[hidden]
    out["suppression"] = marks
    return out
