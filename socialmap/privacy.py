"""Disclosure control: no small count of a sensitive group can be worked out from any output.

This module is the one place where the rule lives. Every face of the project (exports, briefs,
print and web maps, scenario comparisons, placements, costings, command-line prints, the app)
takes what it shows from :func:`protect` and the helpers below, never from a raw
:class:`~socialmap.pipeline.Result`.

Which counts are protected
--------------------------
A service type is *sensitive* when the taxonomy flags it (``sensitive: true``, e.g. ``shelter_dv``,
``community_housing``) or when it serves a target group flagged sensitive (victims of violence,
children without parental care); both lists can be given as arguments instead. The count tested in
a row (area × sensitive service type) is its *sensitive count*: its ``need`` (where the need is
unknown and the type is scored on relative measures, the size of its target group,
``target_size``), or, for a service type
that also serves non-sensitive groups (``community_housing`` serves persons with disabilities as
well as children without parental care), ``need`` minus what is published about the non-sensitive
groups (the need of another service type serving exactly them, or population × their rates),
because that difference would otherwise give the sensitive group away.

The method, and why
-------------------
Statistical offices protect tables of counts in one of three ways (the ESSnet/Eurostat *Handbook on
Statistical Disclosure Control*, ch. 5 "Frequency tables"; the ONS's guidance on small counts):
cell suppression (primary suppression of the unsafe cells and secondary, or complementary,
suppression of enough other cells that the unsafe ones cannot be recalculated from the margins:
τ-ARGUS, sdcTable's ``protectTable``, GaussSuppression), rounding (conventional, random or
controlled rounding to a base, τ-ARGUS), or perturbation (the cell key method the ONS used for the
2021 Census). This module uses **cell suppression**, for three reasons:

- Every published number stays *exact*. Rounded or perturbed counts would have to be carried into
  every figure computed from them (gap scores, places per 10,000, budgets, the 2SFCA access of the
  neighbours), or the true count comes back from the unrounded ratios: the planner would then see
  figures that do not add up, or that differ from the model's, on the very map they plan with.
- The tables are one-dimensional: per service type, areas and one national total (there are no
  district or cross-classified margins). For such a table the secondary-suppression problem that
  τ-ARGUS and sdcTable solve by linear programming has a closed-form answer (below), so the
  protection can be checked exactly rather than by a heuristic.
- It extends to everything derived from a count by one rule, *default-deny* (below), which a
  rounding scheme cannot do for model outputs such as access scores.

The rule
--------
With threshold ``T`` (``socialmap.settings.suppression_threshold``, default 5):

1. *Primary*: a row whose sensitive count ``c`` is ``0 < c < T`` is hidden and shown as ``"<T"``.
   A true zero stays published (it says that nobody is counted, about no one in particular).
2. *Secondary*: the national total of every sensitive service type is published (the national
   brief shows it), so the hidden rows must not be recoverable as "total minus the published
   rows". Call ``D`` the sum of the hidden rows' counts (what that subtraction gives), ``p`` the
   number of primary rows and ``s`` the number of secondary ones. A reader knows each primary row is
   in ``(0, T)`` and, since secondary rows are marked ``[c]`` and never chosen among zeros, each
   secondary row is ``≥ T``. The hidden rows are acceptable when that knowledge still leaves every
   primary row free to take any value in ``(0, T)`` (the attacker's interval of every primary cell,
   computed as sdcTable's ``attack()`` computes it, is the whole range ``(0, T)``: the strongest
   protection level a frequency table can ask for):

   - ``D - s·T ≥ T`` (the others can be small enough for a primary row to reach ``T``), and
   - ``s ≥ 1`` or ``D ≤ (p - 1)·T`` (the others can be large enough for it to be near 0).

   While this fails, one more row is hidden as secondary: the smallest positive published row
   that makes it hold, else the largest one, and the test is repeated. If every positive row is
   hidden and it still fails, the total itself is hidden (``[c]``). A national total below ``T``
   is itself primary (``"<T"``), and then every positive row is too.
3. *Default-deny for everything derived from a count*. In a primary or secondary row, **every**
   column is hidden except those on the explicit list :data:`SAFE_COLUMNS` (identifiers, names,
   the method and catchment, the number, capacity and unknown capacities of the services, the
   population, sources and notes). So need, reachable places, unmet need, covered share, access,
   gap score, supply per 10,000, places needed, budget, before/after deltas, placements' reached
   need, tooltip values, and any column added later (relative access, places per 1,000, equity
   figures) are hidden where the count is, without this module knowing them. Published values are
   then a function of published counts only, and the national totals of the other columns, with
   the published rows, add no equation over the hidden counts beyond ``Σ hidden = D`` (each
   hidden row's unmet need, covered share and access are free within their bounds).
4. *Linked rows* (model coupling). Under 2SFCA/E2SFCA a published area's access, reachable places,
   unmet need and gap score depend on the need of every area that shares a service with it
   (``R_j = c_j / Σ need within reach of j``): someone who proposes a service of known capacity
   between a hidden area and a published one (the app's Plan tab does exactly that) could read
   the hidden need back from the published one's access. Every published row of a sensitive type
   that reaches a service also reached from a hidden row is therefore *linked* (``[c]``): its own
   count and the columns of :data:`OWN_COLUMNS` (need, covered share, supply per 10,000, the
   costing, which depend on that row alone) stay published, every other column is hidden. Reach is
   tested on the result's own demand points, services and catchment (straight-line distance, as
   the pipeline measures it); for any other cost (a road network) every row is treated as linked.
   With distance coverage (``method="coverage"``) nothing is coupled.
5. *Totals and aggregates*. A national row of a sensitive type with hidden rows publishes only
   :data:`SAFE_COLUMNS` and the figures of :data:`TOTAL_COLUMNS`, which depend on the national
   count alone (need, places at the standard, supply per 10,000); every other national figure
   (unmet need, covered share, gap, places needed, budget, need reached) is hidden (``[c]``),
   because with a scenario or placement that changes one hidden area's coverage its difference
   would give that area's count. A per-area aggregate over service types (the budget of an area)
   is hidden where a hidden row enters it. The composite gap of an area is recomputed from the
   *published* gap scores only (like an area whose need is unknown for a type), and its rank from
   that, so it gives back no hidden score.
6. *Placements* (:func:`public_demand`, :func:`protect_placement`). Where a sensitive type has hidden
   rows, the optimiser places new sites on the need an outsider can know: each hidden area gets an
   equal share of the hidden remainder ``D`` (spread over its demand points as its own need is), so
   which sites are chosen does not depend on the hidden counts. The need a site reaches is then
   published only where no hidden area is within its reach, the totals not at all.

One call of :func:`protect` feeds every output of a result, so putting two outputs side by side
reveals nothing that one does not; two results of the same inputs (before and after a scenario)
hide the same counts, because the suppression depends on the counts alone.

What is not protected
---------------------
The threshold is a published parameter: publishing the same inputs with two thresholds publishes
the counts between them. Counts of non-sensitive groups are published as they are. The locations of
services of sensitive types are never published (:func:`public_services`), but their number and
capacity per area are. The choice of secondary rows follows the counts (smallest first), so
someone who re-runs this algorithm on every candidate table learns inequalities between hidden
counts; the attacker test in ``tests/test_privacy_attack.py`` checks that no hidden count is then
determined in the demo and in a random world.
"""

from __future__ import annotations

import logging
import math
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

import numpy as np
import pandas as pd

from socialmap import settings
from socialmap.errors import SocialMapError
from socialmap.i18n import N_

if TYPE_CHECKING:
    import geopandas as gpd

    from socialmap.optimise import Placement
    from socialmap.pipeline import Result
    from socialmap.scenario import Comparison
    from socialmap.taxonomy import Taxonomy

logger = logging.getLogger(__name__)

#: Columns published in every row, hidden or not: they say nothing about persons in need.
SAFE_COLUMNS = frozenset(
    {
        "area_id",
        "name",
        "name_sq",
        "name_sr",
        "name_en",
        "area_name",
        "geometry",
        "service_type",
        "service_label",
        "service",
        "method",
        "need_basis",
        "catchment_m",
        "catchment_min",
        "services",
        "capacity_unknown",
        "supply",
        "supply_inside",
        "population",
        "year",
        "suppression",
        "standard_source",
        "standard_citation",
        "unit_cost_eur_per_place_year",
        "cost_source",
        "cost_citation",
        "note",
        "types_costed",
        "types_not_costed",
        "budget_complete",
        "candidate_id",
        "capacity",
        "lon",
        "lat",
    }
)

#: Columns that depend on a row's own count only (and on safe columns): published in a linked row.
OWN_COLUMNS = frozenset(
    {
        "need",
        "target_size",
        "supply_per_10k",
        "covered_share",
        "target_group",
        "places_target",
        "places_needed",
        "budget_eur_per_year",
    }
)

#: National columns that depend on the national count alone: published unless the total is hidden.
TOTAL_COLUMNS = frozenset({"need", "supply_per_10k", "target_group", "places_target"})

#: Columns of an area row that hold (or are relative to) a national figure of a model output, e.g.
#: ``spar`` = access / national access: hidden in every row of a type whose national figures are.
NATIONAL_SUFFIX = "_national"
RELATIVE_TO_NATIONAL = frozenset({"spar"})

#: Area-level columns recomputed from published values in :attr:`Protected.composite`.
COMPOSITE_COLUMNS = (
    "composite_gap",
    "types_scored",
    "rank",
    "groups_scored",
    "groups_unknown",
    "weight_unknown",
    "types_unknown",
)

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
#: The metrics of the result's table hidden in a suppressed row (every column outside
#: :data:`SAFE_COLUMNS` is, these are the pipeline's own).
SUPPRESSED_COLUMNS = (*PERSON_COUNT_COLUMNS, *REVEALING_COLUMNS, "covered_share", "gap_score")

PRIMARY = "primary"
SECONDARY = "secondary"
LINKED = "linked"
#: Row statuses whose count itself is hidden.
COUNT_HIDDEN = (PRIMARY, SECONDARY)

#: Marker of a secondary (complementary) suppression in published tables.
SECONDARY_MARK = N_("[c]")

RULE = N_(
    "Rows of sensitive service types whose count of persons in a sensitive target group is above 0 "
    "and below {threshold} are shown as '<{threshold}'. So that national totals cannot give them "
    "away, more rows are hidden (shown as '[c]', smallest first) until the hidden rows of every "
    "total, knowing that each '<{threshold}' row is below {threshold} and each '[c]' row is at least "
    "{threshold}, leave every '<{threshold}' row free to be any value below {threshold}. Every figure "
    "computed from a hidden count is hidden with it, and so are the figures of neighbouring areas "
    "that share a service with a hidden one and the national figures other than need."
)

_SUFFIX = re.compile(r"^(?P<base>.+?)(?:_(?:before|after|delta))?(?: Δ)?(?: \[.*\])?$")


def column_base(column: object) -> str:
    """
    Return the metric a column holds, without the suffixes of comparisons.

    Examples
    --------
    >>> [column_base(c) for c in ("gap_score_before", "unmet_need Δ [plan]", "need [today]", "supply")]
    ['gap_score', 'unmet_need', 'need', 'supply']
    """
    text = str(column)
    found = _SUFFIX.fullmatch(text)
    return found.group("base") if found else text


def is_safe(column: object) -> bool:
    """Whether a column is on the safe list (published in hidden rows too)."""
    return column_base(column) in SAFE_COLUMNS or str(column) in SAFE_COLUMNS


@dataclass(frozen=True, eq=False)
class Protected:
    """
    A result with small counts of sensitive groups hidden (see the module docstring).

    Attributes
    ----------
    table
        ``result.table`` (one row per area × service type) with the hidden cells set to NaN and a
        column ``suppression``: ``""``, ``"primary"``, ``"secondary"`` or ``"linked"``.
    totals
        One row per service type: national ``need``, ``services``, ``capacity_unknown``,
        ``supply``, ``reachable_places``, ``unmet_need`` (sums of the true values), ``supply_per_10k``,
        ``covered_share``, ``access`` (need-weighted), ``gap_score`` (``100 × unmet / need``), with
        hidden cells NaN and ``suppression``: ``""``, ``"primary"`` / ``"secondary"`` (the total
        itself is hidden) or ``"linked"`` (figures other than need are hidden).
    threshold
        The threshold used.
    sensitive_types
        The service types treated as sensitive.
    hidden
        Booleans on ``table``'s index and columns: the cells hidden.
    hidden_totals
        The same for ``totals``.
    areas
        ``result.areas`` as published: ``gap_score_<type>`` hidden where the table's is, the
        composite gap, ``types_scored`` and ``rank`` recomputed from the published gap scores.
    composite
        ``result.composite`` recomputed the same way.
    result
        The whole result as published (:attr:`table`, :attr:`areas`, :attr:`composite`, the public
        services only, no demand points of sensitive types): hand this, never the raw result, to
        anything that shows or writes.
    makeup
        ``result.makeup`` (the composite's make-up per target group) as published: unknown where
        the table hides a figure of the area × type (see :func:`_published_makeup`).
    """

    table: pd.DataFrame
    totals: pd.DataFrame
    threshold: float
    sensitive_types: tuple[str, ...]
    hidden: pd.DataFrame = field(repr=False)
    hidden_totals: pd.DataFrame = field(repr=False)
    areas: pd.DataFrame = field(repr=False)
    composite: pd.DataFrame = field(repr=False)
    result: Any = field(repr=False, default=None)
    makeup: pd.DataFrame | None = field(repr=False, default=None)

    def rule(self, lang: str | None = None) -> str:
        """Return the suppression rule in words, in ``lang``, with this threshold."""
        from socialmap.i18n import t

        return t(RULE, lang, threshold=_fmt_threshold(self.threshold, lang))

    def marker(self, status: str, lang: str | None = None) -> str:
        """Return what a hidden cell shows: ``"<5"`` (primary) or ``"[c]"`` (secondary, linked)."""
        from socialmap.i18n import t

        if status == PRIMARY:
            return "<" + _fmt_threshold(self.threshold, lang)
        if status in (SECONDARY, LINKED):
            return t(SECONDARY_MARK, lang)
        return ""

    def row_status(self) -> dict[tuple[str, str], str]:
        """Return ``(area_id, service_type) → status`` for every row of :attr:`table`."""
        return dict(
            zip(
                zip(self.table["area_id"].astype(str), self.table["service_type"].astype(str), strict=True),
                self.table["suppression"].astype(str),
                strict=True,
            )
        )

    def total_status(self) -> dict[str, str]:
        """Return ``service_type → status`` of the national rows."""
        return dict(
            zip(self.totals["service_type"].astype(str), self.totals["suppression"].astype(str), strict=True)
        )

    def hide(
        self,
        frame: pd.DataFrame,
        *,
        level: Literal["row", "total", "area"] = "row",
        published: Iterable[str] = (),
        coupled: Iterable[str] = (),
        markers: bool = False,
        lang: str | None = None,
    ) -> pd.DataFrame:
        """
        Return a copy of any frame derived from the result with its sensitive cells hidden.

        This is the rule applied to tables this module does not know (a costing, a comparison, a
        placement, a table the app builds): every column not on :data:`SAFE_COLUMNS` (after the
        ``_before``/``_after``/``_delta`` and ``[name]`` suffixes are taken off) is treated as
        derived from the count.

        Parameters
        ----------
        frame
            ``level="row"``: rows keyed by ``area_id`` and ``service_type``; ``"total"``: one row per
            ``service_type``; ``"area"``: one row per ``area_id`` over several service types.
        published
            Columns already made from published values only (e.g. :data:`COMPOSITE_COLUMNS` taken
            from :attr:`composite`), left as they are.
        coupled
            Columns that depend on the model's coupling of areas whatever their name says (e.g. a
            costing's ``supply``, which is the supply by reach): hidden in hidden and linked rows,
            and in a national row whose figures are hidden, even if on :data:`SAFE_COLUMNS`.
        markers
            ``True``: hidden cells hold their marker (``"<5"``, ``"[c]"``; those columns become
            text); ``False``: they are NaN.
        lang
            Language of the markers.

        Returns
        -------
        frame
            The copy, with a ``suppression`` column holding each row's marker (``""`` if none).

        Raises
        ------
        SocialMapError
            If a row of a sensitive type is not in this suppression (another result's table).
        """
        mask, status = self.mask(frame, level=level, published=published, coupled=coupled)
        return apply_mask(frame, mask, status, self, markers=markers, lang=lang)

    def mask(
        self,
        frame: pd.DataFrame,
        *,
        level: Literal["row", "total", "area"] = "row",
        published: Iterable[str] = (),
        coupled: Iterable[str] = (),
    ) -> tuple[pd.DataFrame, pd.Series]:
        """Return the cells of ``frame`` to hide and each row's status (see :meth:`hide`)."""
        keep = set(published) - set(coupled)
        tied = set(coupled)
        cols = [c for c in frame.columns if (c in tied or not is_safe(c)) and c not in keep]
        if level == "row":
            status = self._row_statuses(frame)
            kinds = {c: column_base(c) in OWN_COLUMNS and c not in tied for c in cols}
            values = np.zeros((len(frame), len(cols)), dtype=bool)
            count_hidden = status.isin(COUNT_HIDDEN).to_numpy()
            linked = (status == LINKED).to_numpy()
            total = self.total_status()
            national = np.array(
                [bool(total.get(t)) for t in _column(frame, "service_type")]
                if "service_type" in frame.columns
                else np.zeros(len(frame), dtype=bool),
                dtype=bool,
            )
            for k, c in enumerate(cols):
                values[:, k] = count_hidden | (linked & (not kinds[c]))
                if _is_national(c):  # a national figure (or relative to one) on every row
                    values[:, k] |= national
            # a published row whose national figures are hidden shows them as [c]
            status = status.where(count_hidden | linked | ~national, LINKED)
        elif level == "total":
            types = _column(frame, "service_type")
            total = self.total_status()
            status = pd.Series([total.get(t, "") for t in types], index=frame.index, dtype=object)
            whole = status.isin(COUNT_HIDDEN).to_numpy()
            part = (status == LINKED).to_numpy()
            values = np.zeros((len(frame), len(cols)), dtype=bool)
            for k, c in enumerate(cols):
                values[:, k] = whole | (part & (column_base(c) not in TOTAL_COLUMNS or c in tied))
        elif level == "area":
            worst = self._area_statuses()
            ids = _column(frame, "area_id")
            status = pd.Series([worst.get(a, "") for a in ids], index=frame.index, dtype=object)
            values = np.zeros((len(frame), len(cols)), dtype=bool)
            count_hidden = status.isin(COUNT_HIDDEN).to_numpy()
            linked = (status == LINKED).to_numpy()
            for k, c in enumerate(cols):
                values[:, k] = count_hidden | (linked & (column_base(c) not in OWN_COLUMNS or c in tied))
        else:
            raise SocialMapError(f"`level` must be 'row', 'total' or 'area'; got {level!r}.")
        mask = pd.DataFrame(values, index=frame.index, columns=cols)
        status = status.where(mask.any(axis=1).to_numpy() | status.isin(COUNT_HIDDEN).to_numpy(), "")
        return mask, status.astype(object)

    def _row_statuses(self, frame: pd.DataFrame) -> pd.Series:
        lookup = self.row_status()
        areas = _column(frame, "area_id")
        types = _column(frame, "service_type")
        out = []
        sensitive = set(self.sensitive_types)
        for a, t in zip(areas, types, strict=True):
            status = lookup.get((a, t))
            if status is None:
                if t in sensitive:
                    raise SocialMapError(
                        f"Row ({a!r}, {t!r}) is not in this suppression: hide a table with the "
                        "socialmap.privacy.protect() of the result it was made from."
                    )
                status = ""
            out.append(status)
        return pd.Series(out, index=frame.index, dtype=object)

    def _area_statuses(self) -> dict[str, str]:
        worst: dict[str, str] = {}
        rank = {"": 0, LINKED: 1, SECONDARY: 2, PRIMARY: 3}
        for (a, _t), s in self.row_status().items():
            if rank.get(s, 0) > rank.get(worst.get(a, ""), 0):
                worst[a] = s
        return worst


def _is_national(column: object) -> bool:
    """Whether an area-row column holds a national figure or one relative to it (``spar``)."""
    base = column_base(column)
    return base.endswith(NATIONAL_SUFFIX) or base in RELATIVE_TO_NATIONAL


def _column(frame: pd.DataFrame, name: str) -> list[str]:
    if name not in frame.columns:
        raise SocialMapError(f"The table to hide has no {name!r} column; found {list(frame.columns)}.")
    return [str(v) for v in frame[name]]


def apply_mask(
    frame: pd.DataFrame,
    mask: pd.DataFrame,
    status: pd.Series,
    protected: Protected,
    *,
    markers: bool = False,
    lang: str | None = None,
) -> pd.DataFrame:
    """
    Return a copy of ``frame`` with the cells of ``mask`` NaN (or their marker), and ``suppression``.

    Parameters
    ----------
    frame
        The table.
    mask
        Booleans on ``frame``'s index, for some of its columns.
    status
        Each row's status (``""``, ``"primary"``, ``"secondary"``, ``"linked"``).
    protected
        For the markers.
    markers
        Write the marker into hidden cells instead of NaN.
    lang
        Language of the markers.
    """
    out = frame.copy()
    marks = status.astype(str).map(lambda s: protected.marker(s, lang) if s else "")
    for col in mask.columns:
        cells = mask[col].to_numpy(dtype=bool)
        if not cells.any():
            continue
        if markers:
            out[col] = out[col].astype(object)
            out.loc[cells, col] = marks[cells].to_numpy()
            continue
        dtype = out[col].dtype
        if pd.api.types.is_bool_dtype(dtype) or pd.api.types.is_integer_dtype(dtype):
            out[col] = out[col].astype(float)
        elif not (pd.api.types.is_float_dtype(dtype) or pd.api.types.is_object_dtype(dtype)):
            out[col] = out[col].astype(object)
        out.loc[cells, col] = np.nan
    out["suppression"] = marks.astype(str).to_numpy()
    return out


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


def preview_rows(
    rows: pd.DataFrame,
    taxonomy: Taxonomy,
    mapping: Mapping[str, str] | None = None,
    *,
    lang: str | None = None,
) -> pd.DataFrame:
    """
    Return an upload's preview rows with the counts of sensitive target groups hidden.

    A population file's first rows hold raw counts of, e.g., victims of violence; a preview in the
    app would send them to the browser. Every column that is a sensitive target group's count column
    in ``taxonomy`` (by its own name, or by the contract name ``mapping`` gives it) shows the
    secondary marker in every row; the other columns are unchanged.
    """
    from socialmap.i18n import t

    counted = {g.column for g in taxonomy.target_groups.values() if g.sensitive and g.column}
    mapping = dict(mapping or {})
    hide = [c for c in rows.columns if str(c) in counted or mapping.get(str(c)) in counted]
    if not hide:
        return rows
    shown = rows.copy()
    for column in hide:
        shown[column] = t(SECONDARY_MARK, lang)
    return shown


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


@dataclass(frozen=True)
class _Base:
    """The statuses :func:`protect` found, before the published frames exist."""

    raw: pd.DataFrame
    status: pd.Series
    total_status: dict[str, str]
    threshold: float
    types: tuple[str, ...]

    def stub(self) -> Protected:
        empty = pd.DataFrame()
        table = self.raw[["area_id", "service_type"]].assign(suppression=self.status.astype(str))
        totals = pd.DataFrame(
            {"service_type": list(self.total_status), "suppression": list(self.total_status.values())}
        )
        return Protected(table, totals, self.threshold, self.types, empty, empty, empty, empty)

    def mask_rows(self, frame: pd.DataFrame) -> tuple[pd.DataFrame, pd.Series]:
        return self.stub().mask(frame, level="row")

    def mask_totals(self, frame: pd.DataFrame) -> tuple[pd.DataFrame, pd.Series]:
        return self.stub().mask(frame, level="total")


def _like(original: Any, frame: pd.DataFrame) -> Any:
    """Return ``frame`` as the same kind of frame as ``original`` (a GeoDataFrame keeps its CRS)."""
    if hasattr(original, "geometry") and "geometry" in frame.columns:
        import geopandas as gpd

        return gpd.GeoDataFrame(frame, geometry="geometry", crs=original.crs)
    return frame


def _linked_areas(result: Result, service_type: str, hidden_ids: set[str]) -> set[str]:
    """
    Return the areas whose 2SFCA figures for ``service_type`` depend on the need of ``hidden_ids``.

    An area is linked when one of its demand points is within the catchment of a service that a
    demand point of a hidden area also reaches. With distance coverage nothing is coupled; with
    any cost other than straight-line distance (a road network) every area is returned.
    """
    methods = dict(result.provenance.get("methods_used") or {})
    if methods.get(service_type) in ("coverage", "none"):
        return set()
    table = result.table[result.table["service_type"] == service_type]
    every = set(table["area_id"].astype(str))
    if not _straight_line(result):
        return every
    demand = result.demand[result.demand["service_type"] == service_type]
    sites = result.services[result.services["service_type"] == service_type]
    if len(sites) == 0:
        return set()
    if len(demand) == 0 or demand.geometry.is_empty.any() or sites.geometry.is_empty.any():
        return every
    from socialmap.access import pairs_within

    catchment = float(pd.to_numeric(table["catchment_m"], errors="coerce").max())
    if not math.isfinite(catchment):
        return every
    dxy = np.column_stack([demand.geometry.x.to_numpy(), demand.geometry.y.to_numpy()])
    sxy = np.column_stack([sites.geometry.x.to_numpy(), sites.geometry.y.to_numpy()])
    i, j, _ = pairs_within(dxy, sxy, catchment_m=catchment * (1 + 1e-9) + 1e-6)
    area_of = demand["area_id"].astype(str).to_numpy()
    from_hidden = np.isin(area_of[i], list(hidden_ids))
    shared = np.unique(j[from_hidden])
    return set(area_of[i[np.isin(j, shared)]])


def _straight_line(result: Any) -> bool:
    """Whether the result's catchments are straight-line distances (else reach cannot be retraced here)."""
    cost = (getattr(result, "provenance", None) or {}).get("cost", "euclidean")
    return getattr(result, "network", None) is None and cost in (None, "euclidean")


def _weights(result: Result, tax: Taxonomy) -> dict[str, float]:
    config = getattr(result, "config", None)
    weights = getattr(config, "weights", None)
    return dict(weights) if weights is not None else tax.composite_weights()


def _published_composite(
    result: Result, table: pd.DataFrame, tax: Taxonomy, types: tuple[str, ...]
) -> pd.DataFrame:
    """Recompute the composite gap and rank from published figures only (see :func:`_published_makeup`)."""
    from socialmap.gaps import composite_by_group, composite_gap

    original = pd.DataFrame(result.composite)
    makeup = _published_makeup(result, table, tax, types)
    if makeup is not None:
        comp = composite_by_group(makeup)
    else:  # a result without the need model: the weighted mean of the published gap scores
        comp = composite_gap(pd.DataFrame(table), weights=_weights(result, tax))
    extra = [c for c in original.columns if c not in comp.columns]
    if extra:  # columns added to the composite later: default-deny where any row is hidden
        comp = comp.merge(original[["area_id", *extra]], on="area_id", how="left")
    order = original["area_id"].astype(str)
    comp = comp.set_index(comp["area_id"].astype(str)).reindex(order).reset_index(drop=True)
    comp["area_id"] = original["area_id"].to_numpy()
    return comp[[c for c in original.columns if c in comp.columns]]


def _published_makeup(
    result: Result, table: pd.DataFrame, tax: Taxonomy, types: tuple[str, ...]
) -> pd.DataFrame | None:
    """
    Return the composite's make-up (``result.makeup``) as it may be published.

    A row (area × target group × sensitive service type) is made unknown (need and unmet NaN,
    ``need_known`` false) where the published table hides any figure of the area × type; and every
    row of a sensitive type serving several groups whose need is split by the groups' counts (a rate
    or the whole group), since the split gives the sensitive group's count back. A group's gap is then
    a function of published figures only, like the composite made from it.
    """
    makeup = getattr(result, "makeup", None)
    if makeup is None:
        return None
    out = pd.DataFrame(makeup).copy()
    if out.empty:
        return out
    marked = table[table["suppression"].astype(str) != ""]
    hidden = set(zip(marked["area_id"].astype(str), marked["service_type"].astype(str), strict=True))
    keys = list(zip(out["area_id"].astype(str), out["service_type"].astype(str), strict=True))
    cells = np.array([k in hidden for k in keys], dtype=bool)
    for st in types:
        if st in tax.service_types and len(tax.service_type(st).target_groups) > 1:
            if tax.need_basis(st) in ("rate", "whole_group"):
                cells |= (out["service_type"].astype(str) == st).to_numpy()
    if cells.any():
        out["need"] = out["need"].astype(float)
        out["unmet"] = out["unmet"].astype(float)
        out.loc[cells, ["need", "unmet"]] = np.nan
        out.loc[cells, "need_known"] = False
    return out


def _published_areas(
    result: Result,
    table: pd.DataFrame,
    composite: pd.DataFrame,
    status: pd.Series,
    types: tuple[str, ...],
) -> pd.DataFrame:
    """Return ``result.areas`` with every value derived from a hidden cell hidden or recomputed."""
    areas = result.areas.copy()
    ids = areas["area_id"].astype(str)
    comp = composite.set_index(composite["area_id"].astype(str))
    for col in COMPOSITE_COLUMNS:
        if col in areas.columns and col in comp.columns:
            areas[col] = ids.map(comp[col]).to_numpy()
    known_types = list(dict.fromkeys(result.table["service_type"].astype(str)))
    wide = table.pivot(index="area_id", columns="service_type", values="gap_score")
    wide.index = wide.index.astype(str)
    raw_status = pd.DataFrame(
        {
            "area_id": result.table["area_id"].astype(str),
            "t": result.table["service_type"].astype(str),
            "s": status,
        }
    )
    any_hidden = set(raw_status.loc[raw_status["s"] != "", "area_id"])
    for col in list(areas.columns):
        if col in SAFE_COLUMNS or col in COMPOSITE_COLUMNS:
            continue
        of_type = next((t for t in sorted(known_types, key=len, reverse=True) if col.endswith("_" + t)), None)
        if col.startswith("gap_score_") and of_type is not None:
            areas[col] = ids.map(wide[of_type]).astype(float).to_numpy()
            continue
        if of_type is not None and of_type not in types:
            continue
        if of_type is not None:
            rows = raw_status[(raw_status["t"] == of_type) & (raw_status["s"] != "")]
            cells = ids.isin(set(rows["area_id"])).to_numpy()
        else:  # over several types (unknown to this module): hidden where any row is
            cells = ids.isin(any_hidden).to_numpy()
        if cells.any():
            if not pd.api.types.is_float_dtype(areas[col]):
                areas[col] = pd.to_numeric(areas[col], errors="coerce").astype(float)
            areas.loc[cells, col] = np.nan
    return areas


def _published_result(result: Result, protected: Protected) -> Any:
    """Return the result as it may be shown: published tables, public services, no sensitive demand."""
    demand = public_cells(result.demand, protected)
    provenance = {
        **result.provenance,
        "suppression": {
            "threshold": protected.threshold,
            "sensitive_types": list(protected.sensitive_types),
        },
    }
    return replace(
        result,
        areas=protected.areas,
        table=protected.table,
        composite=protected.composite,
        demand=demand,
        services=public_services(result.services, protected),
        provenance=provenance,
        makeup=protected.makeup,
        population=_public_population(result, protected),
    )


def _public_population(result: Any, protected: Protected) -> pd.DataFrame | None:
    """Return the population table without the count columns of the sensitive types' target groups."""
    pop = getattr(result, "population", None)
    tax = getattr(result, "taxonomy", None)
    if pop is None or tax is None:
        return pop
    columns = set()
    for st in protected.sensitive_types:
        if st not in tax.service_types:
            continue
        for g in tax.service_type(st).target_groups:
            tg = tax.target_groups.get(g)
            if tg is not None and tg.column:
                columns.add(tg.column)
    columns -= {"population", "area_id"}
    return pop.drop(columns=[c for c in pop.columns if c in columns])


def is_published(result: Any) -> bool:
    """Whether ``result`` is a :attr:`Protected.result` (small counts already hidden)."""
    return "suppression" in (getattr(result, "provenance", None) or {})


def cell_marks(
    frame: pd.DataFrame, hidden: pd.DataFrame, protected: Protected, lang: str | None = None
) -> pd.DataFrame:
    """
    Return the marker of every hidden cell of ``frame`` (``""`` where shown).

    Parameters
    ----------
    frame
        ``protected.table`` or ``protected.totals`` (or rows of them, same index).
    hidden
        ``protected.hidden`` or ``protected.hidden_totals``.
    protected
        The suppression.
    lang
        Language of the markers.
    """
    mask = hidden.reindex(index=frame.index, columns=frame.columns, fill_value=False).fillna(False)
    status = (
        frame["suppression"].astype(str) if "suppression" in frame.columns else pd.Series("", frame.index)
    )
    marks = status.map(lambda s: protected.marker(s, lang) if s else "")
    out = pd.DataFrame("", index=frame.index, columns=frame.columns)
    for col in frame.columns:
        cells = mask[col].to_numpy(dtype=bool)
        if cells.any():
            out.loc[cells, col] = marks[cells].to_numpy()
    return out


def shown(frame: pd.DataFrame, protected: Protected, *, lang: str | None = None) -> pd.DataFrame:
    """
    Return a copy of a protected table whose hidden cells hold their marker (``"<5"`` or ``"[c]"``).

    Parameters
    ----------
    frame
        ``protected.table`` or ``protected.totals``, or a frame made from them that keeps their
        ``area_id``/``service_type`` keys (columns added to it are hidden by the same rule, except
        :data:`COMPOSITE_COLUMNS`, which :attr:`Protected.composite` publishes).
    protected
        The :class:`Protected` it came from.
    lang
        Language of the markers.

    Returns
    -------
    frame
        Hidden cells replaced by the marker (those columns become ``object``); the ``suppression``
        column holds the marker too.
    """
    if "suppression" not in frame.columns:
        return frame.copy()
    level: Literal["row", "total"] = "row" if "area_id" in frame.columns else "total"
    return protected.hide(frame, level=level, published=COMPOSITE_COLUMNS, markers=True, lang=lang)


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


def public_cells(demand: gpd.GeoDataFrame, protected: Protected) -> gpd.GeoDataFrame:
    """
    Return the demand cells that may be published: every cell of a non-sensitive type, none of another.

    The per-cell layer (unmet need, nearest distance; AccessMod's residual-population map) of a
    sensitive service type is withheld whole, not cell by cell, because every one of its columns
    gives something away:

    - *need* and *target size*: a cell holds a handful of people, so most cells of a sensitive group
      are themselves small counts, placed on a 1 km square; and the cells of an area add up to its
      count, so the cells of a hidden row would give the row back.
    - *nearest distance*, *covered*, *access* and *unmet need*: they are functions of where the
      services are. Distances from three cells fix a shelter's address, and the edge of the covered
      cells is a circle of the catchment around it, whereas the locations of sensitive services are
      never published (:func:`public_services`). Under 2SFCA a cell's access also depends on the
      need of every area sharing its services (rule 4, *linked rows*).

    Cells of the other types carry counts of non-sensitive groups only, which the rule publishes
    (their area sums are the published rows), and depend on public service locations only.

    Parameters
    ----------
    demand
        Demand points (:attr:`socialmap.pipeline.Result.demand`), with ``service_type``.
    protected
        What :func:`protect` returned (its ``sensitive_types`` are withheld).

    Returns
    -------
    cells
        A copy without the rows of sensitive types.
    """
    if not len(demand) or "service_type" not in demand.columns:
        return demand.copy()
    return demand[~demand["service_type"].astype(str).isin(set(protected.sensitive_types))].copy()


# ----------------------------------------------------------------------------------------------------
# Outputs made of two results (scenarios), of placements and of costings
# ----------------------------------------------------------------------------------------------------


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
