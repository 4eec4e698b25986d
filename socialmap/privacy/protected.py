"""What is hidden and how it is marked: the columns, the markers, :class:`Protected` and the mask.

A :class:`Protected` says, for every area × service type row of a result, whether its counts are
hidden (primary, secondary or linked suppression) and how a hidden cell is written (``"<5"``,
``"[c]"``); :func:`apply_mask` hides the cells of any table by it.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

import numpy as np
import pandas as pd

from socialmap.errors import SocialMapError
from socialmap.i18n import N_

if TYPE_CHECKING:
    from socialmap.pipeline import Result
    from socialmap.taxonomy import Taxonomy


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
