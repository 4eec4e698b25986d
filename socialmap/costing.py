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

import numpy as np
import pandas as pd
from numpy.typing import ArrayLike, NDArray

from socialmap.errors import SocialMapError

if TYPE_CHECKING:
    from socialmap.pipeline import Result
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
        (:func:`socialmap.export.costing_tables`: ``"<5"`` / ``"[c]"``).

        Raises
        ------
        SocialMapError
            For another suffix, or a costing that does not know its result (so its small counts could
            not be hidden).
        """
        from socialmap.export import costing_tables, write_csv, write_xlsx

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
