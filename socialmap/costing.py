"""
What closing the gap costs: places needed to reach a planning standard, and the yearly budget.

Per area and service type (DESIGN.md, "Metrics")::

    places_target = target_group × places_per_1000 / 1,000
    places_needed = max(places_target − supply, 0)
    budget_eur_per_year = places_needed × unit_cost_eur_per_place_year

``target_group`` is the number of people the standard is per (the service type's target groups, or
the group named by ``places_per_1000_of``, e.g. the whole population for shelters: an extensive count;
not the need, which is only the share of them needing the service). ``supply`` is **supply by
reach**: the places within reach of the area's residents as the 2SFCA shares them out
(``supply_reach`` of the analysis), so that a small municipality whose residents use a neighbour's
home is not budgeted as if it had nothing; ``supply_inside`` (the places located in the area) is the
second column. Where the analysis used distance coverage (no capacities), supply falls back to the
places inside. Known capacities only. The
planning standard and the unit cost come from the taxonomy, with their source keys, or from the caller
(``standards=`` / ``unit_costs=``, recorded as ``"user-supplied"``). Where neither gives a figure the
result is NaN with a note saying so: no number is ever made up. The Kosovo taxonomy has no standard
and no unit cost (no source gives them), so for Kosovo every figure must come from the caller.

No person is budgeted twice: where several costed service types share a target group, their standards
(places per 1,000 of that group) must add up to at most 1,000, else :func:`places_and_budget` refuses
(home care and residential care of the 65+ are shares of different people).

Totals: an area with more places than its standard does not lower another area's shortfall, so the
national ``places_needed`` is the sum of the areas' shortfalls (each floored at 0), not the national
target minus the national supply. Where services have unknown capacity, ``supply`` is a lower bound,
so ``places_needed`` (and the budget) may be overstated; the ``note`` column says where.

One job in one module (about 830 lines): the computation (:func:`places_and_budget`) and its published tables
(:func:`costing_tables`) call each other (``Costing.tables`` writes the tables, the tables recompute the
national figures with ``places_and_budget``), so a cut between them would be an import circle.
"""

from __future__ import annotations

import logging
import math
import numbers
import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import geopandas as gpd
import numpy as np
import pandas as pd
from numpy.typing import ArrayLike, NDArray

from socialmap.errors import N_, SocialMapError

if TYPE_CHECKING:
    from socialmap.pipeline import Result
    from socialmap.privacy import Protected
    from socialmap.taxonomy import Taxonomy

logger = logging.getLogger(__name__)

__all__ = ["USER_SUPPLIED", "Costing", "places_and_budget", "places_needed"]

#: The source recorded for a standard or unit cost given by the caller.
USER_SUPPLIED = "user-supplied"

#: Columns of :attr:`Costing.table`, in order.
TABLE_COLUMNS = (
    "area_id",
    "name",
    "service_type",
    "target_group",
    "places_per_1000",
    "standard_source",
    "standard_citation",
    "places_target",
    "supply",
    "supply_inside",
    "capacity_unknown",
    "places_needed",
    "unit_cost_eur_per_place_year",
    "cost_source",
    "cost_citation",
    "budget_eur_per_year",
    "note",
)


@dataclass(frozen=True, eq=False)
class Costing:
    """
    Places and budget needed to reach the planning standards.

    Attributes
    ----------
    table
        One row per area × service type, with the columns of :data:`TABLE_COLUMNS`: counts
        (``target_group``, ``places_target``, ``supply``, ``places_needed``), the standard and the unit
        cost with their source keys (``standard_source``, ``cost_source``: taxonomy keys joined by
        ``"; "`` or ``"user-supplied"``) and citations, the budget in EUR per year, and a ``note`` where
        a figure is missing or uncertain.
    national
        One row per service type: the same counts and budget summed over the areas (NaN when any area's
        value is unknown), the standard, the unit cost and their sources, and a ``note``.
    by_area
        One row per area: ``budget_eur_per_year`` summed over the service types that could be costed,
        ``types_costed``, ``types_not_costed`` (their keys) and ``budget_complete``.
    notes
        One line per service type without a standard or a unit cost, and other caveats.
    result
        The analysis result it was made from (for :meth:`write`, which hides its small counts).
    supply_basis
        What ``supply`` counts: ``"reach"`` (places within reach, which depend on the neighbours'
        need) or ``"inside"`` (places located in the area).
    """

    table: pd.DataFrame
    national: pd.DataFrame
    by_area: pd.DataFrame
    notes: tuple[str, ...] = field(default_factory=tuple)
    result: Result | None = field(default=None, repr=False)
    supply_basis: str = "reach"

    @property
    def total_budget_eur_per_year(self) -> float:
        """The national yearly budget over every service type; NaN unless every type could be costed."""
        return float(self.national["budget_eur_per_year"].sum(skipna=False))

    def write(self, path: str | os.PathLike[str]) -> Path:
        """
        Write the costing: ``.csv`` (the area × type table) or ``.xlsx`` (sheets areas, national, notes).

        Written atomically; text that a spreadsheet would run as a formula is neutralised. Small
        counts of sensitive groups are hidden as in the result's exports
        (:func:`costing_tables`: ``"<5"`` / ``"[c]"``).

        Raises
        ------
        SocialMapError
            For another suffix, or a costing that does not know its result (so its small counts could
            not be hidden).
        """
        from socialmap.writers import write_csv, write_xlsx

        target = Path(path)
        if target.suffix.lower() not in (".csv", ".xlsx"):
            raise SocialMapError(f"Write a costing as .csv or .xlsx; got {target.name!r}.")
        if self.result is None:
            raise SocialMapError(
                "This costing does not know the result it was made from, so its small counts cannot be "
                "hidden: make it with socialmap.costing.places_and_budget(result)."
            )
        tables = costing_tables(self.result, self)
        table = pd.DataFrame(tables["costing"]).drop(columns="geometry")
        by_area = pd.DataFrame(tables["costing_by_area"]).drop(columns="geometry")
        if target.suffix.lower() == ".csv":
            return write_csv(table, target)
        notes = pd.DataFrame({"note": list(self.notes)})
        national = tables["costing_national"]
        return write_xlsx({"areas": table, "national": national, "by_area": by_area, "notes": notes}, target)


def places_needed(
    target_group: ArrayLike, places_per_1000: ArrayLike, supply: ArrayLike
) -> NDArray[np.float64]:
    """
    Places needed to reach a standard: ``max(target_group × places_per_1000 / 1,000 − supply, 0)``.

    Parameters
    ----------
    target_group
        Persons in the target group (extensive).
    places_per_1000
        Planning standard, places per 1,000 of the target group (NaN: none).
    supply
        Existing places.

    Returns
    -------
    places
        Float array; NaN where the target group or the standard is unknown.

    Examples
    --------
    >>> places_needed([2000, 500, 1000], [5, 5, float("nan")], [4, 10, 0]).tolist()
    [6.0, 0.0, nan]
    """
    tg = np.asarray(target_group, dtype=np.float64)
    std = np.asarray(places_per_1000, dtype=np.float64)
    sup = np.asarray(supply, dtype=np.float64)
    with np.errstate(invalid="ignore"):
        return np.maximum(tg * std / 1000.0 - sup, 0.0)


def _user_values(values: Mapping[str, float] | None, label: str, types: list[str]) -> dict[str, float]:
    if values is None:
        return {}
    if not isinstance(values, Mapping):
        raise SocialMapError(
            f"`{label}` must be a mapping of service type -> number; got {type(values).__name__}."
        )
    problems = []
    out: dict[str, float] = {}
    for key, value in values.items():
        if key not in types:
            problems.append(f"unknown service type {key!r}")
        elif (
            isinstance(value, bool)
            or not isinstance(value, numbers.Real)
            or not math.isfinite(float(value))
            or float(value) < 0
        ):
            problems.append(f"{key}: {value!r} is not a finite number >= 0")
        else:
            out[key] = float(value)
    if problems:
        raise SocialMapError(
            f"`{label}` has problems: {'; '.join(problems)}. Service types analysed: {', '.join(types)}."
        )
    return out


def _figure(
    st: str,
    user: dict[str, float],
    value: float | None,
    keys: tuple[str, ...],
    tax: Taxonomy,
) -> tuple[float, str | None, str | None]:
    """(value, source, citation) of a standard or unit cost: the caller's, else the taxonomy's, else NaN."""
    if st in user:
        return user[st], USER_SUPPLIED, None
    if value is None:
        return math.nan, None, None
    return float(value), "; ".join(keys) or None, tax.citation(keys) or None


def _standard_base(result: Result, tax: Any, service_type: str, rows: pd.DataFrame) -> NDArray[np.float64]:
    """People per area that the type's planning standard is per, in the order of ``rows``."""
    pop = getattr(result, "population", None)
    if pop is not None:
        size = pd.Series(0.0, index=pop.index)
        for g in tax.standard_groups(service_type):
            size = size + tax.group_count(g, pop)
        by_id = pd.Series(size.to_numpy(dtype=np.float64), index=pop["area_id"].astype(str))
        return by_id.reindex(rows["area_id"].astype(str)).to_numpy(dtype=np.float64)
    col = "target_size" if "target_size" in rows.columns else "need"
    return rows[col].to_numpy(dtype=np.float64)


def _refuse_double_counting(tax: Any, types: list[str], user_std: Mapping[str, float]) -> None:
    """Refuse standards that would budget the same people twice (several types, one group)."""
    per_group: dict[str, list[tuple[str, float]]] = {}
    for t in types:
        st = tax.service_type(t)
        std = user_std.get(t, st.places_per_1000)
        if std is None or math.isnan(std):
            continue
        for g in tax.standard_groups(t):
            per_group.setdefault(g, []).append((t, float(std)))
    for g, items in per_group.items():
        total = sum(v for _, v in items)
        if len(items) > 1 and total > 1000.0 + 1e-9:
            names = ", ".join(f"{t} ({v:g})" for t, v in items)
            raise SocialMapError(
                f"The standards of {names} per 1,000 of target group {g!r} add up to {total:g} > 1,000: the "
                "budget would count some people twice. Give standards that are shares of different people "
                "(e.g. care at home vs in a facility) adding up to at most 1,000 per 1,000."
            )


def places_and_budget(
    result: Result,
    *,
    taxonomy: Any = None,
    standards: Mapping[str, float] | None = None,
    unit_costs: Mapping[str, float] | None = None,
    supply: str = "reach",
) -> Costing:
    """
    Compute the places needed to reach the planning standards, and their yearly budget.

    Parameters
    ----------
    result
        An analysis result (:func:`socialmap.pipeline.analyze`; a scenario's result works too).
    taxonomy
        The taxonomy the result used (a :class:`~socialmap.taxonomy.Taxonomy`, name or path); ``None``
        reloads the one recorded in the result's provenance.
    standards
        Places per 1,000 of the target group by service type, overriding the taxonomy's
        ``places_per_1000`` (source ``"user-supplied"``).
    unit_costs
        EUR per place per year by service type, overriding the taxonomy's
        ``unit_cost_eur_per_place_year`` (source ``"user-supplied"``).
    supply
        ``"reach"`` (default): the places within reach of the area's residents (2SFCA); ``"inside"``:
        the places located in the area (what older versions counted).

    Returns
    -------
    costing
        A :class:`Costing`.

    Raises
    ------
    SocialMapError
        Unknown service types or values that are not finite numbers >= 0 in ``standards`` /
        ``unit_costs``; a taxonomy that cannot be found.

    Examples
    --------
    >>> from socialmap import analyze
    >>> res = analyze(demo="kosovo", service_types=("residential_elderly",), method="coverage")
    >>> c = places_and_budget(res)
    >>> bool(c.table["places_needed"].isna().all()), c.notes[0][:60]
    (True, 'residential_elderly: no planning standard (places per 1,000 ')
    """
    from socialmap.privacy import resolve_taxonomy

    tax = resolve_taxonomy(result, taxonomy)
    table = result.table
    types = list(table["service_type"].drop_duplicates())
    missing = [t for t in types if t not in tax.service_types]
    if missing:
        raise SocialMapError(
            f"The taxonomy {tax.name!r} has no service type(s) {missing}; pass the one used."
        )
    user_std = _user_values(standards, "standards", types)
    user_cost = _user_values(unit_costs, "unit_costs", types)
    _refuse_double_counting(tax, types, user_std)
    if supply not in ("reach", "inside"):
        raise SocialMapError(f"`supply` must be 'reach' or 'inside'; got {supply!r}.")

    notes: list[str] = []
    parts = []
    national = []
    for t in types:
        st = tax.service_type(t)
        std, std_src, std_cit = _figure(t, user_std, st.places_per_1000, st.places_per_1000_source, tax)
        cost, cost_src, cost_cit = _figure(
            t, user_cost, st.unit_cost_eur_per_place_year, st.unit_cost_source, tax
        )
        rows = table[table["service_type"] == t]
        need = _standard_base(result, tax, t, rows)
        inside = rows["supply"].to_numpy(dtype=np.float64)
        reach = (
            rows["supply_reach"].to_numpy(dtype=np.float64)
            if "supply_reach" in rows.columns and supply == "reach"
            else np.full(len(rows), np.nan)
        )
        counted = np.where(np.isnan(reach), inside, reach)
        unknown_cap = rows["capacity_unknown"].fillna(0).to_numpy(dtype=np.int64)
        type_notes = []
        if np.isnan(need).any():
            type_notes.append("need unknown (a target group has no rate)")
        if math.isnan(std):
            type_notes.append("no planning standard (places per 1,000 of the target group): give standards=")
        if math.isnan(cost):
            type_notes.append("no unit cost (EUR per place per year): give unit_costs=")
        for n in type_notes:
            notes.append(f"{t}: {n}.")
        target = need * std / 1000.0
        needed = places_needed(need, std, counted)
        budget = needed * cost
        area_notes = []
        for k in unknown_cap:
            text = list(type_notes)
            if k > 0:
                text.append(
                    f"{k} service(s) of unknown capacity: supply is a lower bound, places may be overstated"
                )
            area_notes.append("; ".join(text) or None)
        part = pd.DataFrame(
            {
                "area_id": rows["area_id"].to_numpy(),
                "name": rows["name"].to_numpy() if "name" in rows.columns else None,
                "service_type": t,
                "target_group": need,
                "places_per_1000": std,
                "standard_source": std_src,
                "standard_citation": std_cit,
                "places_target": target,
                "supply": counted,
                "supply_inside": inside,
                "capacity_unknown": unknown_cap,
                "places_needed": needed,
                "unit_cost_eur_per_place_year": cost,
                "cost_source": cost_src,
                "cost_citation": cost_cit,
                "budget_eur_per_year": budget,
                "note": area_notes,
            }
        )
        parts.append(part)
        n_unknown = int((unknown_cap > 0).sum())
        nat_notes = list(type_notes)
        if n_unknown:
            nat_notes.append(
                f"{n_unknown} area(s) have services of unknown capacity: places may be overstated"
            )
        national.append(
            {
                "service_type": t,
                "target_group": float(np.sum(need)),
                "places_per_1000": std,
                "standard_source": std_src,
                "places_target": float(np.sum(target)),
                "supply": float(np.sum(counted)),
                "supply_inside": float(np.sum(inside)),
                "places_needed": float(np.sum(needed)),
                "unit_cost_eur_per_place_year": cost,
                "cost_source": cost_src,
                "budget_eur_per_year": float(np.sum(budget)),
                "note": "; ".join(nat_notes) or None,
            }
        )
    long = pd.concat(parts, ignore_index=True)[list(TABLE_COLUMNS)]
    by = long.groupby("area_id", sort=False)
    by_area = pd.DataFrame(
        {
            "budget_eur_per_year": by["budget_eur_per_year"].sum(min_count=1),
            "types_costed": by["budget_eur_per_year"].count(),
            "types_not_costed": by.apply(
                lambda g: ", ".join(g.loc[g["budget_eur_per_year"].isna(), "service_type"]),
                include_groups=False,
            ),
        }
    )
    by_area["budget_complete"] = by_area["types_not_costed"] == ""
    by_area = by_area.reset_index()
    if "name" in long.columns:
        by_area.insert(1, "name", by["name"].first().to_numpy())
    nat = pd.DataFrame(national)
    logger.info(
        "places_and_budget: %d service types, %d costed",
        len(types),
        int(nat["budget_eur_per_year"].notna().sum()),
    )
    return Costing(long, nat, by_area, tuple(notes), result=result, supply_basis=supply)


#: Costing columns that are published parameters (the planning standard), shown in hidden rows too.
COSTING_PUBLISHED = ("places_per_1000",)


#: Costing columns computed from the supply by reach (which depends on the neighbours' need).
COSTING_COUPLED = ("supply", "places_needed", "budget_eur_per_year")


#: Why a costing figure is missing or uncertain (the ``note`` column), in English; shown with ``t``.
_NOTE_NEED = N_("need unknown (a target group has no rate)")


_NOTE_NO_STANDARD = N_(
    "no planning standard (places per 1,000 of the target group) is sourced or given: "
    "places needed are not computed"
)


_NOTE_NO_COST = N_(
    "no unit cost (EUR per place per year) is sourced or given: the budget is not computed (empty, not 0)"
)


_NOTE_UNKNOWN_CAPACITY = N_(
    "services of unknown capacity: {n}; the places are a lower bound, so places needed may be overstated"
)


_NOTE_AREAS_UNKNOWN_CAPACITY = N_(
    "areas with services of unknown capacity: {n}; places needed may be overstated"
)


_NOTE_NATIONAL_HIDDEN = N_(
    "places needed and budget hidden ({mark}): with the published municipalities they would give "
    "back hidden small counts"
)


_USER_CITATION = N_("given by the user, not taken from a published source")


_FIGURE_STANDARD = N_("planning standard (places per 1,000 of the target group)")


_FIGURE_COST = N_("unit cost (EUR per place per year)")


_NOT_SOURCED = N_("none is sourced in the taxonomy and none was given")


def _labels(result: Result, taxonomy: Taxonomy | None, lang: str | None) -> dict[str, str]:
    types = list(dict.fromkeys(result.table["service_type"]))
    if taxonomy is None:
        return {k: k for k in types}
    from socialmap.i18n import check_language

    code = check_language(lang)
    return {k: taxonomy.label(k, code) if k in taxonomy.service_types else k for k in types}


def _missing_figures(row: Mapping[str, Any], lang: str | None) -> list[str]:
    """Return what a costing row lacks, in ``lang``: the need, the standard, the unit cost."""
    from socialmap.i18n import t

    parts = []
    if pd.isna(row["target_group"]):
        parts.append(t(_NOTE_NEED, lang))
    if pd.isna(row["places_per_1000"]):
        parts.append(t(_NOTE_NO_STANDARD, lang))
    if pd.isna(row["unit_cost_eur_per_place_year"]):
        parts.append(t(_NOTE_NO_COST, lang))
    return parts


def _costing_note(row: Mapping[str, Any], lang: str | None) -> str | None:
    """Return the ``note`` of one area × service-type costing row in ``lang`` (``None``: nothing to say)."""
    from socialmap.i18n import t

    parts = _missing_figures(row, lang)
    unknown = row.get("capacity_unknown")
    if unknown is not None and not pd.isna(unknown) and int(unknown) > 0:
        parts.append(t(_NOTE_UNKNOWN_CAPACITY, lang, n=int(unknown)))
    return "; ".join(parts) or None


def _check_costing(costing: Any, result: Result) -> None:
    """Raise unless ``costing`` is a :class:`~socialmap.costing.Costing` made from ``result``."""
    from socialmap.errors import SocialMapError

    if not isinstance(costing, Costing):
        raise SocialMapError(
            "`costing` must be what socialmap.costing.places_and_budget(result, ...) returned; "
            f"got {type(costing).__name__}."
        )
    redo = "make it with socialmap.costing.places_and_budget() of the result you export"
    cols = ["area_id", "service_type"]
    ours = result.table[[*cols, "supply"]].astype({"area_id": str, "service_type": str})
    reach = pd.to_numeric(
        result.table.get("supply_reach", pd.Series(np.nan, index=ours.index)), errors="coerce"
    )
    ours["reach"] = reach.fillna(pd.to_numeric(ours["supply"], errors="coerce")).to_numpy()
    given = costing.table.rename(columns={"supply": "reach_costing", "supply_inside": "supply"})
    theirs = given[[*cols, "reach_costing", "supply"]].astype({"area_id": str, "service_type": str})
    if len(ours) != len(theirs) or ours.duplicated(cols).any() or theirs.duplicated(cols).any():
        raise SocialMapError(f"`costing` does not have the rows of this result: {redo}.")
    both = ours.merge(theirs, on=cols, how="inner", suffixes=("", "_costing"))
    if len(both) != len(ours):
        raise SocialMapError(f"`costing` has other areas or service types than this result: {redo}.")

    def same(a_col: str, b_col: str) -> bool:
        a = pd.to_numeric(both[a_col], errors="coerce").to_numpy(dtype=float)
        b = pd.to_numeric(both[b_col], errors="coerce").to_numpy(dtype=float)
        return bool(np.allclose(a, b, rtol=1e-9, atol=1e-9, equal_nan=True))

    # The costing counts the places by reach (default) or inside the areas (supply="inside").
    if not same("supply", "supply_costing") or not (
        same("reach", "reach_costing") or same("supply", "reach_costing")
    ):
        raise SocialMapError(
            f"`costing` was made from another result (its supply differs from this result's): {redo}."
        )


def _with_area_geometry(frame: pd.DataFrame, result: Result) -> gpd.GeoDataFrame:
    areas = result.areas
    geometry = dict(zip(areas["area_id"].astype(str), areas.geometry, strict=True))
    shapes = gpd.GeoSeries(
        [geometry.get(a) for a in frame["area_id"].astype(str)], index=frame.index, crs=areas.crs
    )
    return gpd.GeoDataFrame(frame, geometry=shapes, crs=areas.crs)


def _hide(
    frame: pd.DataFrame,
    hide: pd.DataFrame,
    status: pd.Series,
    protected: Protected,
    lang: str | None,
    markers: bool,
) -> pd.DataFrame:
    """Blank (or mark) the cells ``hide`` flags; add the ``suppression`` column (its marker)."""
    out = frame.copy()
    marks = status.map(lambda s: protected.marker(s, lang) if s else "")
    for col in hide.columns:
        cells = hide[col].to_numpy(dtype=bool)
        if not cells.any():
            continue
        if markers:
            out[col] = out[col].astype(object)
            out.loc[cells, col] = marks[cells]
        else:
            out.loc[cells, col] = np.nan
    out["suppression"] = marks.astype(str)
    return out


def costing_tables(
    result: Result,
    costing: Costing | None = None,
    *,
    protected: Protected | None = None,
    taxonomy: Taxonomy | None = None,
    threshold: float | None = None,
    lang: str | None = None,
    markers: bool = True,
) -> dict[str, pd.DataFrame]:
    """
    Return the publishable tables of a costing: places and budget, their sources, hidden small counts.

    Parameters
    ----------
    result
        What :func:`socialmap.analyze` returned.
    costing
        Its costing (:func:`socialmap.costing.places_and_budget`, e.g. with user-supplied standards
        or unit costs); ``None`` makes one with the taxonomy's standards and unit costs.
    protected
        The suppression of ``result`` (:func:`socialmap.privacy.protect`; reuse the one of the other
        tables so that every output hides the same cells); ``None`` makes one.
    taxonomy
        The result's taxonomy (default: reloaded from its provenance).
    threshold
        Suppression threshold when ``protected`` is not given.
    lang
        Language of the service-type labels, notes and markers.
    markers
        ``True``: hidden cells hold ``"<5"``/``"[c]"``; ``False``: they are NaN (for typed formats).

    Returns
    -------
    tables
        ``costing`` (GeoDataFrame with the area's geometry, one row per area × service type: the
        columns of :data:`socialmap.costing.TABLE_COLUMNS` with ``service_label``, citations in
        ``lang`` for user-supplied figures, ``note`` in ``lang`` and ``suppression``),
        ``costing_national`` (one row per service type), ``costing_by_area`` (GeoDataFrame, one row
        per area: the budget over the service types that could be costed), ``costing_sources`` (one
        row per service type × figure: value, source key or ``"user-supplied"``, citation) and
        ``costing_notes`` (one ``note`` per line: how the figures are computed, what is missing,
        what is hidden).

    Raises
    ------
    SocialMapError
        If ``costing`` is not a costing of ``result``, or ``protected`` is not a suppression of it.
    """
    from socialmap.i18n import t
    from socialmap.privacy import COUNT_HIDDEN, SECONDARY, apply_mask, protect, resolve_taxonomy

    tax = resolve_taxonomy(result, taxonomy)
    if protected is None:
        protected = protect(result, threshold=threshold, taxonomy=tax)
    if costing is None:
        costing = places_and_budget(result, taxonomy=tax)
    _check_costing(costing, result)
    labels = _labels(result, tax, lang)

    def label(key: Any) -> str:
        return labels.get(str(key), str(key))

    # Area × service type: the result's suppression, cell for cell (default-deny: every column off
    # privacy.SAFE_COLUMNS is hidden in a row whose count is). The standard (places_per_1000 here) is
    # a published parameter; the supply is the supply by reach (2SFCA: it depends on the neighbours'
    # need), so it and what is computed from it are hidden in linked rows too.
    table = pd.DataFrame(costing.table).reset_index(drop=True)
    coupled = COSTING_COUPLED if getattr(costing, "supply_basis", "reach") != "inside" else ()
    mask, status = protected.mask(table, level="row", published=COSTING_PUBLISHED, coupled=coupled)
    mask = mask & table[mask.columns].notna()
    table["note"] = [_costing_note(row, lang) for row in table.to_dict("records")]
    for kind in ("standard", "cost"):
        user = (table[f"{kind}_source"] == USER_SUPPLIED).to_numpy()
        table[f"{kind}_citation"] = (
            table[f"{kind}_citation"].astype(object).where(~user, t(_USER_CITATION, lang))
        )
    table.insert(table.columns.get_loc("service_type") + 1, "service_label", table["service_type"].map(label))
    figures = table.drop_duplicates("service_type").set_index("service_type")
    shown_table = apply_mask(
        table, mask, status.where(mask.any(axis=1), ""), protected, markers=markers, lang=lang
    )

    # National: hidden whole where the national total is; where an area row is, all but the figures
    # of the national count (target group, places at the standard).
    nat = pd.DataFrame(costing.national).reset_index(drop=True)
    nat_mask, nat_status = protected.mask(nat, level="total", published=COSTING_PUBLISHED, coupled=coupled)
    nat_mask = nat_mask & nat[nat_mask.columns].notna()
    nat_status = nat_status.where(nat_mask.any(axis=1), "")
    total_status = protected.total_status()
    notes = []
    for i, row in nat.iterrows():
        st = str(row["service_type"])
        parts = _missing_figures(row, lang)
        rows = table[table["service_type"].astype(str) == st]
        unknown = int((pd.to_numeric(rows["capacity_unknown"], errors="coerce").fillna(0) > 0).sum())
        if unknown:
            parts.append(t(_NOTE_AREAS_UNKNOWN_CAPACITY, lang, n=unknown))
        if nat_status[i] and total_status.get(st) not in COUNT_HIDDEN:
            parts.append(t(_NOTE_NATIONAL_HIDDEN, lang, mark=protected.marker(SECONDARY, lang)))
        notes.append("; ".join(parts) or None)
    nat["note"] = notes
    nat.insert(1, "service_label", nat["service_type"].map(label))
    for kind, after in (("standard", "standard_source"), ("cost", "cost_source")):
        if f"{kind}_citation" not in nat.columns:
            cit = nat["service_type"].map(lambda k, c=f"{kind}_citation": figures[c].get(k))
            nat.insert(nat.columns.get_loc(after) + 1, f"{kind}_citation", cit)
    shown_nat = apply_mask(nat, nat_mask, nat_status, protected, markers=markers, lang=lang)

    # By area: the budget summed over the service types, hidden where a hidden row is in the sum.
    by = pd.DataFrame(costing.by_area).reset_index(drop=True)
    in_sum = set(table.loc[mask["budget_eur_per_year"], "area_id"].astype(str))
    by_mask = pd.DataFrame(
        {"budget_eur_per_year": by["area_id"].astype(str).isin(in_sum) & by["budget_eur_per_year"].notna()}
    )
    by_status = pd.Series(
        np.where(by_mask["budget_eur_per_year"], SECONDARY, ""), index=by.index, dtype=object
    )
    shown_by = apply_mask(by, by_mask, by_status, protected, markers=markers, lang=lang)

    # Sources: the value, source and citation of every standard and unit cost.
    sources = []
    for st in nat["service_type"].astype(str):
        f = figures.loc[st]
        for figure, value, src, cit in (
            (_FIGURE_STANDARD, "places_per_1000", "standard_source", "standard_citation"),
            (_FIGURE_COST, "unit_cost_eur_per_place_year", "cost_source", "cost_citation"),
        ):
            sources.append(
                {
                    "service_type": st,
                    "service_label": label(st),
                    "figure": t(figure, lang),
                    "value": f[value],
                    "source": f[src] if pd.notna(f[src]) else None,
                    "citation": f[cit] if pd.notna(f[cit]) else None,
                    "note": None if pd.notna(f[value]) else t(_NOT_SOURCED, lang),
                }
            )

    return {
        "costing": _with_area_geometry(shown_table, result),
        "costing_national": shown_nat,
        "costing_by_area": _with_area_geometry(shown_by, result),
        "costing_sources": pd.DataFrame(sources),
        "costing_notes": pd.DataFrame({"note": _costing_general_notes(table, nat, status, protected, lang)}),
    }


def _costing_general_notes(
    table: pd.DataFrame,
    national: pd.DataFrame,
    status: pd.Series,
    protected: Protected,
    lang: str | None,
) -> list[str]:
    """Return the lines of the costing notes sheet: method, totals, missing figures, caveats, hiding."""
    from socialmap.i18n import t
    from socialmap.privacy import COUNT_HIDDEN, PRIMARY, SECONDARY

    def names(mask: pd.Series) -> str:
        return ", ".join(national.loc[mask, "service_label"].astype(str))

    lines = [
        t(
            "Places needed = target group × places per 1,000 / 1,000 − places of known capacity, not "
            "below 0, in each municipality; budget = places needed × unit cost (EUR per place per year).",
            lang,
        ),
        t(
            "National places needed are the sum of the municipalities' shortfalls: places above the "
            "standard in one municipality do not make up for a shortfall in another.",
            lang,
        ),
    ]
    no_standard = national["places_per_1000"].isna()
    no_cost = national["unit_cost_eur_per_place_year"].isna()
    if no_standard.any():
        lines.append(
            t(
                "No planning standard is sourced or given for: {services}. Their places needed and "
                "budget are left empty, not 0; enter standards (places per 1,000 of the target group) "
                "to compute them.",
                lang,
                services=names(no_standard),
            )
        )
    if no_cost.any():
        lines.append(
            t(
                "No unit cost is sourced or given for: {services}. Their budget is left empty, not 0; "
                "enter unit costs (EUR per place per year) to compute it.",
                lang,
                services=names(no_cost),
            )
        )
    no_need = national["target_group"].isna()
    if no_need.any():
        lines.append(
            t("Need unknown (a target group has no rate) for: {services}.", lang, services=names(no_need))
        )
    if (table["standard_source"] == USER_SUPPLIED).any() or (table["cost_source"] == USER_SUPPLIED).any():
        lines.append(
            t(
                "Figures whose source is 'user-supplied' were entered by the user, not taken from a "
                "published source.",
                lang,
            )
        )
    if (pd.to_numeric(table["capacity_unknown"], errors="coerce").fillna(0) > 0).any():
        lines.append(
            t(
                "Some services have an unknown capacity: there the places are a lower bound and the "
                "places needed may be overstated (see the note column).",
                lang,
            )
        )
    if status.isin(COUNT_HIDDEN).any():
        lines.append(
            t(
                "Where a small count of a sensitive group is hidden ({primary} or {secondary}), its "
                "places and budget are hidden too, and so are the municipality's total budget and the "
                "service type's national places needed and budget ({secondary}), which would give them back.",
                lang,
                primary=protected.marker(PRIMARY, lang),
                secondary=protected.marker(SECONDARY, lang),
            )
        )
    return lines
