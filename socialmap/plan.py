"""
Targets of a municipal action plan: places and reach per area × service type × year, with their cost.

A planner turns a scenario (the Plan tab's, or a plan file) into yearly targets with
:func:`targets_from_scenario`. The scenario's edits are phased over the plan's years (each edit takes
effect in the year given for it, by default the first year); for every year the services are analysed as
they would stand at the end of that year, with the same options as the baseline (the analysis before the
plan), and every area × service type × year gets:

- ``places``: the places (known capacities) of the services located in the area, the baseline's
  ``baseline_places`` beside it, and ``places_added`` = places − baseline_places;
- ``share_within_reach``: the share of the area's need within reach of a service (the analysis'
  ``covered_share``), beside ``baseline_share_within_reach``;
- the yearly cost of the places added: ``budget_eur = places_added × unit_cost_eur_per_place_year``. The
  unit cost is the taxonomy's sourced one, or the caller's (``unit_costs=``, source ``"user-supplied"``);
  where there is none the budget is blank, never 0 (the Kosovo taxonomy has none: no source gives one).
  Places closed give a negative figure (a saving).

Targets are data: :meth:`Targets.write` writes an XLSX workbook (sheets ``targets``, ``notes`` and
``columns``, the column guide in the reader's language; stable column keys, so the file reads back in any
language) and :func:`read_targets` reads one back, also one a planner edited or wrote from scratch: the
columns ``area_id``, ``service_type`` and ``year`` and at least one of ``places`` / ``share_within_reach``
are required, every bad cell is reported with its row and column, and ``places_added`` and
``budget_eur`` are recomputed from the places, the baseline and the unit cost wherever those are given
(so a hand-edited target cannot keep a stale budget).

Small counts of sensitive groups are hidden as in every output: every figure is read from the
published result (:func:`socialmap.privacy.protect`), so a share within reach that would give back a
small count is blank in the targets too.
"""

from __future__ import annotations

import logging
import math
import os
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from socialmap.errors import Message, Problem, SocialMapError, ValidationError
from socialmap.i18n import N_

if TYPE_CHECKING:
    from socialmap.pipeline import AnalysisConfig, Result
    from socialmap.scenario import Inputs, Scenario

logger = logging.getLogger(__name__)

__all__ = [
    "TARGET_COLUMNS",
    "Targets",
    "read_targets",
    "targets_from_results",
    "targets_from_scenario",
    "targets_from_table",
]

#: Columns of :attr:`Targets.table`, in order.
TARGET_COLUMNS = (
    "area_id",
    "name",
    "service_type",
    "year",
    "baseline_year",
    "baseline_places",
    "places",
    "places_added",
    "capacity_unknown",
    "baseline_share_within_reach",
    "share_within_reach",
    "unit_cost_eur_per_place_year",
    "cost_source",
    "budget_eur",
    "note",
)

#: What each column of the targets holds (the ``columns`` sheet), in English; shown with ``t``.
COLUMN_GUIDE = {
    "area_id": N_("Code of the area (municipality)"),
    "name": N_("Name of the area"),
    "service_type": N_("Service type (the taxonomy's key)"),
    "year": N_("Year the target is for (end of the year)"),
    "baseline_year": N_("Year of the baseline (the population year of the analysis before the plan)"),
    "baseline_places": N_("Places (known capacities) of the services located in the area at the baseline"),
    "places": N_("Target: places (known capacities) of the services located in the area"),
    "places_added": N_("Places added over the baseline by this year (target − baseline; negative: closed)"),
    "capacity_unknown": N_("Services of unknown capacity in the area (their places are not counted)"),
    "baseline_share_within_reach": N_(
        "Share of the area's need within reach of a service at the baseline (0–1)"
    ),
    "share_within_reach": N_("Target: share of the area's need within reach of a service (0–1)"),
    "unit_cost_eur_per_place_year": N_("Unit cost, EUR per place per year"),
    "cost_source": N_("Source of the unit cost (a taxonomy source key, or user-supplied)"),
    "budget_eur": N_(
        "Yearly budget of the places added, EUR (places added × unit cost; empty: no unit cost)"
    ),
    "note": N_("Why a figure is missing or uncertain"),
}

_NOTE_NO_COST = N_("no unit cost (EUR per place per year) is sourced or given: no budget")
_NOTE_UNKNOWN_CAPACITY = N_("services of unknown capacity: their places are not counted")
_NOTE_HIDDEN = N_("share within reach hidden (small count of a sensitive group)")
_NOTE_EDIT_YEAR = N_("{name}: edit {n} ({action}) takes effect in {year}.")

_REQUIRED = ("area_id", "service_type", "year")
_NUMBERS = (
    "baseline_year",
    "baseline_places",
    "places",
    "capacity_unknown",
    "baseline_share_within_reach",
    "share_within_reach",
    "unit_cost_eur_per_place_year",
)


@dataclass(frozen=True, eq=False)
class Targets:
    """
    Targets per area × service type × year, with the yearly budget of the places added.

    Attributes
    ----------
    table
        One row per area × service type × year, with the columns of :data:`TARGET_COLUMNS`.
    name
        The plan's name (the scenario's).
    notes
        Caveats (service types without a unit cost, the edits' years, rows hidden).
    """

    table: pd.DataFrame
    name: str = ""
    notes: tuple[str, ...] = field(default_factory=tuple)

    @property
    def years(self) -> list[int]:
        """The plan's years, in order."""
        return sorted(int(y) for y in self.table["year"].dropna().unique())

    @property
    def baseline_year(self) -> int | None:
        """The baseline's year, if every row agrees on one."""
        years = self.table["baseline_year"].dropna().unique() if "baseline_year" in self.table else []
        return int(years[0]) if len(years) == 1 else None

    def for_area(self, area_id: str) -> pd.DataFrame:
        """Return the rows of one area."""
        return self.table[self.table["area_id"].astype(str) == str(area_id)].reset_index(drop=True)

    def changes(self, area_id: str | None = None) -> pd.DataFrame:
        """
        Return the rows where the plan changes the places or the share within reach.

        Parameters
        ----------
        area_id
            One area, or ``None`` for every area.
        """
        tab = self.table if area_id is None else self.for_area(area_id)
        added = tab["places_added"].fillna(0).to_numpy(dtype=float) != 0
        share = tab["share_within_reach"].to_numpy(dtype=float)
        base = tab["baseline_share_within_reach"].to_numpy(dtype=float)
        moved = np.isfinite(share) & np.isfinite(base) & (np.abs(share - base) > 1e-9)
        no_base = np.isfinite(share) & ~np.isfinite(base)
        return tab[added | moved | no_base].reset_index(drop=True)

    def budget_by_year(self, area_id: str | None = None) -> pd.DataFrame:
        """
        Return the yearly budget of the places added, per year.

        Columns ``year``, ``places_added`` (sum), ``budget_eur`` (sum; NaN when a row that adds or closes
        places has no unit cost: the total is then unknown, not smaller), ``budget_eur_costed`` (the sum
        over the rows that have a unit cost), ``not_costed`` (the service types adding places without a
        unit cost, comma-separated) and ``budget_complete``.
        """
        tab = self.table if area_id is None else self.for_area(area_id)
        rows = []
        for year in self.years:
            part = tab[tab["year"] == year]
            changing = part[part["places_added"].fillna(0) != 0]
            budgets = changing["budget_eur"]
            complete = bool(budgets.notna().all())
            missing = sorted(set(changing.loc[budgets.isna(), "service_type"].astype(str)))
            rows.append(
                {
                    "year": int(year),
                    "places_added": float(part["places_added"].sum(min_count=1)),
                    "budget_eur": float(budgets.sum()) if complete else math.nan,
                    "budget_eur_costed": float(budgets.sum()),
                    "not_costed": ", ".join(missing),
                    "budget_complete": complete,
                }
            )
        cols = ["year", "places_added", "budget_eur", "budget_eur_costed", "not_costed", "budget_complete"]
        return pd.DataFrame(rows, columns=cols)

    def write(self, path: str | os.PathLike[str], *, lang: str | None = None) -> Path:
        """
        Write the targets: ``.xlsx`` (sheets ``targets``, ``notes``, ``columns``) or ``.csv`` (the table).

        Written atomically; text that a spreadsheet would run as a formula is neutralised. The column
        keys stay in English (the file reads back whatever the language); the ``columns`` sheet says what
        each holds, in ``lang``.
        """
        from socialmap.i18n import t
        from socialmap.writers import write_csv, write_xlsx

        target = Path(path)
        suffix = target.suffix.lower()
        table = self.table[[c for c in TARGET_COLUMNS if c in self.table.columns]]
        if suffix == ".csv":
            return write_csv(table, target)
        if suffix != ".xlsx":
            raise SocialMapError(
                Message(N_("Write targets as .xlsx or .csv; got {name}."), name=repr(target.name))
            )
        notes = pd.DataFrame(
            {"plan": [self.name] * max(len(self.notes), 1), "note": list(self.notes) or [""]}
        )
        guide = pd.DataFrame(
            [(c, t(COLUMN_GUIDE[c], lang)) for c in table.columns if c in COLUMN_GUIDE],
            columns=["column", "description"],
        )
        return write_xlsx({"targets": table, "notes": notes, "columns": guide}, target)


# ----------------------------------------------------------------------------------------------------
# From a scenario
# ----------------------------------------------------------------------------------------------------


def _check_years(years: Sequence[int] | int) -> list[int]:
    values = [years] if isinstance(years, int | np.integer) else list(years)
    out = []
    for y in values:
        if isinstance(y, bool) or not isinstance(y, int | np.integer) or not 1900 <= int(y) <= 2200:
            raise SocialMapError(f"`years` must be whole years between 1900 and 2200; got {y!r}.")
        out.append(int(y))
    if not out:
        raise SocialMapError("`years` is empty: give the plan's years, e.g. [2025, 2026, 2027].")
    return sorted(set(out))


def _edit_years(edit_years: Sequence[int] | int | None, n_edits: int, years: list[int]) -> list[int]:
    if edit_years is None:
        return [years[0]] * n_edits
    values = [int(edit_years)] * n_edits if isinstance(edit_years, int | np.integer) else list(edit_years)
    if len(values) != n_edits:
        raise SocialMapError(
            f"`edit_years` gives {len(values)} year(s) for {n_edits} edit(s): give one per edit, in order."
        )
    for y in values:
        if isinstance(y, bool) or not isinstance(y, int | np.integer) or not years[0] <= int(y) <= years[-1]:
            raise SocialMapError(
                f"`edit_years` must be years of the plan ({years[0]}–{years[-1]}); got {y!r}."
            )
    return [int(y) for y in values]


def _base_year(result: Result) -> float:
    text = str(result.provenance.get("population_year", ""))
    try:
        return float(int(text))
    except ValueError:
        return math.nan


def _unit_costs(
    result: Result, unit_costs: Mapping[str, float] | None
) -> dict[str, tuple[float, str | None]]:
    from socialmap.costing import USER_SUPPLIED, _user_values
    from socialmap.privacy import resolve_taxonomy

    tax = resolve_taxonomy(result)
    types = [str(t) for t in result.table["service_type"].drop_duplicates()]
    user = _user_values(unit_costs, "unit_costs", types)
    out: dict[str, tuple[float, str | None]] = {}
    for key in types:
        if key in user:
            out[key] = (user[key], USER_SUPPLIED)
            continue
        st = tax.service_types.get(key)
        value = None if st is None else st.unit_cost_eur_per_place_year
        source = None if st is None else ("; ".join(st.unit_cost_source) or None)
        out[key] = (math.nan, None) if value is None else (float(value), source)
    return out


def targets_from_results(
    base: Result,
    results: Mapping[int, Result],
    *,
    name: str = "",
    unit_costs: Mapping[str, float] | None = None,
    threshold: float | None = None,
    notes: Sequence[str] = (),
    lang: str | None = None,
) -> Targets:
    """
    Build targets from a baseline and the analyses of the plan's years.

    Parameters
    ----------
    base
        The analysis before the plan (the baseline).
    results
        Year → the analysis of the services as planned at the end of that year (same areas, population
        and options as ``base``).
    name
        The plan's name.
    unit_costs
        EUR per place per year by service type, overriding the taxonomy's (source ``"user-supplied"``).
    threshold
        Suppression threshold for small counts (default ``socialmap.settings.suppression_threshold``).
    notes
        Notes to keep with the targets.
    lang
        Language of the notes written into the targets (``"en"``, ``"sq"``, ``"sr"``; default
        ``socialmap.settings.lang``).

    Returns
    -------
    targets
        A :class:`Targets`.
    """
    from socialmap.i18n import t
    from socialmap.privacy import protect

    if not results:
        raise SocialMapError("`results` is empty: give the analysis of at least one plan year.")
    years = _check_years(list(results))
    costs = _unit_costs(base, unit_costs)
    base_pub = pd.DataFrame(protect(base, threshold=threshold).table)
    key = ["area_id", "service_type"]
    base_pub["area_id"] = base_pub["area_id"].astype(str)
    baseline = base_pub.set_index(key)
    base_year = _base_year(base)
    all_notes = list(notes)
    for st, (cost, _) in costs.items():
        if math.isnan(cost):
            all_notes.append(f"{st}: {t(_NOTE_NO_COST, lang)}.")
    parts = []
    for year in years:
        pub = pd.DataFrame(protect(results[year], threshold=threshold).table)
        pub["area_id"] = pub["area_id"].astype(str)
        idx = pd.MultiIndex.from_frame(pub[key])
        b = baseline.reindex(idx)
        cost = pub["service_type"].map(lambda s: costs.get(str(s), (math.nan, None))[0]).to_numpy(dtype=float)
        source = pub["service_type"].map(lambda s: costs.get(str(s), (math.nan, None))[1])
        places = pub["supply"].to_numpy(dtype=float)
        base_places = b["supply"].to_numpy(dtype=float)
        added = places - base_places
        share = pub["covered_share"].to_numpy(dtype=float)
        hidden = (
            pub["suppression"].astype(str).ne("").to_numpy()
            if "suppression" in pub
            else np.zeros(len(pub), bool)
        )
        unknown = pub["capacity_unknown"].fillna(0).to_numpy(dtype=float)
        row_notes = []
        for h, u, c in zip(hidden, unknown, cost, strict=True):
            text = []
            if math.isnan(c):
                text.append(t(_NOTE_NO_COST, lang))
            if u > 0:
                text.append(t(_NOTE_UNKNOWN_CAPACITY, lang))
            if h:
                text.append(t(_NOTE_HIDDEN, lang))
            row_notes.append("; ".join(text) or None)
        parts.append(
            pd.DataFrame(
                {
                    "area_id": pub["area_id"].to_numpy(),
                    "name": pub["name"].to_numpy() if "name" in pub else None,
                    "service_type": pub["service_type"].astype(str).to_numpy(),
                    "year": year,
                    "baseline_year": base_year,
                    "baseline_places": base_places,
                    "places": places,
                    "places_added": added,
                    "capacity_unknown": unknown,
                    "baseline_share_within_reach": b["covered_share"].to_numpy(dtype=float),
                    "share_within_reach": share,
                    "unit_cost_eur_per_place_year": cost,
                    "cost_source": source.to_numpy(),
                    "budget_eur": added * cost,
                    "note": row_notes,
                }
            )
        )
    table = pd.concat(parts, ignore_index=True)[list(TARGET_COLUMNS)]
    # A row with neither places nor a share (no service of the type, need unknown) has nothing to target.
    empty = table["places"].isna() & table["share_within_reach"].isna()
    if empty.any():
        table = table[~empty].reset_index(drop=True)
    logger.info("targets %r: %d rows, years %s", name, len(table), years)
    return Targets(table, name, tuple(all_notes))


def targets_from_scenario(
    base_inputs: Inputs | Mapping[str, Any],
    scenario: Scenario,
    *,
    years: Sequence[int] | int,
    edit_years: Sequence[int] | int | None = None,
    config: AnalysisConfig | None = None,
    base: Result | None = None,
    unit_costs: Mapping[str, float] | None = None,
    threshold: float | None = None,
    lang: str | None = None,
) -> Targets:
    """
    Turn a scenario into yearly targets per area × service type, with the budget of each year.

    Parameters
    ----------
    base_inputs
        The inputs the scenario starts from (:class:`socialmap.scenario.Inputs`, or a mapping of
        ``analyze`` arguments such as ``{"demo": "kosovo"}``).
    scenario
        The :class:`socialmap.scenario.Scenario`.
    years
        The plan's years, e.g. ``[2025, 2026, 2027]`` (or one year).
    edit_years
        The year each edit takes effect (one per edit, in order, each within ``years``), or one year for
        all; ``None``: every edit in the first year.
    config
        Analysis options, for the baseline and every year (default ``AnalysisConfig()``).
    base
        The baseline if already computed with the same inputs and ``config``.
    unit_costs
        EUR per place per year by service type (source ``"user-supplied"``), overriding the taxonomy's.
    threshold
        Suppression threshold for small counts.
    lang
        Language of the notes written into the targets (default ``socialmap.settings.lang``).

    Returns
    -------
    targets
        A :class:`Targets` (see the module docstring for what each figure is).

    Examples
    --------
    >>> from socialmap.scenario import Scenario, new_service
    >>> plan = Scenario("day centre").add(new_service("day_care_disability", (20.43, 42.38),
    ...                                   crs="EPSG:4326", capacity=30))
    >>> tg = targets_from_scenario({"demo": "kosovo"}, plan, years=[2025, 2026],
    ...                            unit_costs={"day_care_disability": 6000}, config=None)
    >>> tg.budget_by_year()["budget_eur"].tolist()
    [180000.0, 180000.0]
    """
    from socialmap.i18n import t
    from socialmap.scenario import Scenario as _Scenario
    from socialmap.scenario import _inputs

    if not isinstance(scenario, _Scenario):
        raise SocialMapError(
            f"`scenario` must be a socialmap.scenario.Scenario; got {type(scenario).__name__}."
        )
    plan_years = _check_years(years)
    when = _edit_years(edit_years, len(scenario.edits), plan_years)
    inputs = _inputs(base_inputs)
    before = base if base is not None else inputs.analyze(config=config)
    results: dict[int, Result] = {}
    done: dict[tuple[int, ...], Result] = {(): before}
    for year in plan_years:
        chosen = tuple(i for i, y in enumerate(when) if y <= year)
        if chosen not in done:
            part = replace(scenario, edits=tuple(scenario.edits[i] for i in chosen))
            edited = part.apply(inputs.services, taxonomy=inputs.taxonomy)
            done[chosen] = inputs.analyze(edited, config=config)
        results[year] = done[chosen]
    notes = [
        t(_NOTE_EDIT_YEAR, lang, name=scenario.name, n=i + 1, action=e.action, year=y)
        for i, (e, y) in enumerate(zip(scenario.edits, when, strict=True))
    ]
    return targets_from_results(
        before,
        results,
        name=scenario.name,
        unit_costs=unit_costs,
        threshold=threshold,
        notes=notes,
        lang=lang,
    )


# ----------------------------------------------------------------------------------------------------
# Reading targets back
# ----------------------------------------------------------------------------------------------------


def _cell_number(value: Any, decimal: str | None) -> tuple[float, bool]:
    """Read a cell as ``(number, ok)``: blanks are NaN and ok; text must read as a number."""
    from socialmap.validate import parse_number

    if isinstance(value, bool):
        return math.nan, False
    return parse_number(value, decimal=decimal)


def _cell_text(value: Any) -> str | None:
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return None
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    text = str(value).strip()
    return text or None


def read_targets(path: str | os.PathLike[str]) -> Targets:
    """
    Read targets from an XLSX workbook (its ``targets`` sheet, else the first) or a CSV file.

    Parameters
    ----------
    path
        A file written by :meth:`Targets.write`, or one with its columns (``area_id``, ``service_type``,
        ``year`` and ``places`` and/or ``share_within_reach``; the others are optional).

    Returns
    -------
    targets
        A :class:`Targets`; ``places_added`` and ``budget_eur`` recomputed where the places, the baseline
        and the unit cost are given.

    Raises
    ------
    ValidationError
        Listing every problem: missing columns, years or numbers that are not numbers, shares outside
        0–1, negative places, the same area × service type × year twice.
    DataSourceError
        If the file cannot be read.
    """
    from socialmap.io import _read_source

    file = Path(path)
    sheet: str | None = None
    if file.suffix.lower() == ".xlsx" and file.is_file():
        try:
            with pd.ExcelFile(file, engine="openpyxl") as book:
                sheet = "targets" if "targets" in book.sheet_names else None
        except (ValueError, OSError, KeyError):
            sheet = None  # _read_source reports what is wrong with the file
    source = _read_source(file, sheet=sheet)
    label = source.label
    errors = [p for p in source.problems if p.severity == "error"]
    if errors or source.frame is None:
        raise ValidationError(errors or source.problems)
    table = _checked(source.frame, label, [int(r) for r in source.rows], source.decimal)
    name, notes = file.stem, tuple[str, ...]()
    if file.suffix.lower() == ".xlsx":
        try:
            extra = pd.read_excel(file, sheet_name="notes", dtype=object)
            if "plan" in extra.columns and extra["plan"].dropna().nunique() == 1:
                name = str(extra["plan"].dropna().iloc[0])
            if "note" in extra.columns:
                notes = tuple(str(n) for n in extra["note"].dropna() if str(n).strip())
        except (ValueError, OSError, KeyError):
            pass  # no notes sheet: a hand-made file
    logger.info("read %d targets from %s", len(table), label)
    return Targets(table, name, notes)


def targets_from_table(
    frame: pd.DataFrame, *, name: str = "", notes: Sequence[str] = (), label: str = "targets"
) -> Targets:
    """
    Check a table of targets (the columns :func:`read_targets` reads) and return it as :class:`Targets`.

    Every bad cell is reported as :func:`read_targets` reports it, with ``label`` as the file and the
    table's row (1 = the first row after a header) as the row; ``places_added`` and ``budget_eur`` are
    recomputed.
    """
    return Targets(_checked(frame, label, list(range(2, len(frame) + 2)), None), name, tuple(notes))


def _checked(frame: pd.DataFrame, label: str, rows: list[int], decimal: str | None) -> pd.DataFrame:
    frame = frame.copy()
    frame.columns = [str(c).strip() for c in frame.columns]
    problems: list[Problem] = []
    missing = [c for c in _REQUIRED if c not in frame.columns]
    if "places" not in frame.columns and "share_within_reach" not in frame.columns:
        missing.append("places")
    for col in missing:
        problems.append(
            Problem(
                label,
                None,
                col,
                Message(
                    N_("The targets have no column '{column}'; found: {found}."),
                    column=col,
                    found=", ".join(map(str, frame.columns)),
                ),
                N_(
                    "Targets need the columns area_id, service_type, year and places or "
                    "share_within_reach (as written by socialmap)."
                ),
            )
        )
    if problems:
        raise ValidationError(problems)
    out = pd.DataFrame(index=frame.index)
    for col in ("area_id", "name", "service_type", "cost_source", "note"):
        if col in frame.columns:
            out[col] = pd.Series([_cell_text(v) for v in frame[col]], index=frame.index, dtype=object)
        else:
            out[col] = None
    for col in ("year", *_NUMBERS):
        values = frame[col].tolist() if col in frame.columns else [math.nan] * len(frame)
        parsed = []
        for value, row in zip(values, rows, strict=True):
            number, ok = _cell_number(value, decimal)
            if not ok:
                problems.append(
                    Problem(
                        label,
                        int(row),
                        col,
                        Message(N_("'{value}' in '{column}' is not a number."), value=str(value), column=col),
                        N_("Write a number (or leave the cell empty where there is none)."),
                    )
                )
            parsed.append(number)
        out[col] = parsed
    for i, row in enumerate(rows):
        for col in ("area_id", "service_type"):
            if pd.isna(out[col].iloc[i]):
                problems.append(
                    Problem(
                        label,
                        int(row),
                        col,
                        Message(N_("'{column}' is empty."), column=col),
                        N_("Fill it in: every target is for one area and one service type."),
                    )
                )
        year = out["year"].iloc[i]
        if not (math.isfinite(year) and float(year).is_integer() and 1900 <= year <= 2200):
            problems.append(
                Problem(
                    label,
                    int(row),
                    "year",
                    Message(
                        N_("'year' must be a whole year; found '{value}'."), value=str(frame["year"].iloc[i])
                    ),
                    N_("Write the year the target is for, e.g. 2026."),
                )
            )
        for col in ("places", "baseline_places", "unit_cost_eur_per_place_year"):
            v = out[col].iloc[i]
            if math.isfinite(v) and v < 0:
                problems.append(
                    Problem(
                        label,
                        int(row),
                        col,
                        Message(
                            N_("'{column}' cannot be negative; found {value}."), column=col, value=str(v)
                        ),
                        N_("Write a number of 0 or more."),
                    )
                )
        for col in ("share_within_reach", "baseline_share_within_reach"):
            v = out[col].iloc[i]
            if math.isfinite(v) and not 0 <= v <= 1:
                problems.append(
                    Problem(
                        label,
                        int(row),
                        col,
                        Message(
                            N_("'{column}' is a share between 0 and 1; found {value}."),
                            column=col,
                            value=str(v),
                        ),
                        N_("Write the share as a fraction (0.8 for 80 %)."),
                    )
                )
        if not (math.isfinite(out["places"].iloc[i]) or math.isfinite(out["share_within_reach"].iloc[i])):
            problems.append(
                Problem(
                    label,
                    int(row),
                    "places",
                    N_("The row has no target: both 'places' and 'share_within_reach' are empty."),
                    N_("Give a target in places, as a share within reach, or both; or delete the row."),
                )
            )
    keys = pd.Series(list(zip(out["area_id"], out["service_type"], out["year"], strict=True)))
    for i in (int(k) for k in np.flatnonzero(keys.duplicated().to_numpy())):
        problems.append(
            Problem(
                label,
                int(rows[i]),
                "year",
                Message(
                    N_("Area {area}, service type {service}, year {year} has more than one target."),
                    area=str(keys.iloc[i][0]),
                    service=str(keys.iloc[i][1]),
                    year=str(keys.iloc[i][2]),
                ),
                N_("Keep one row per area, service type and year."),
            )
        )
    if problems:
        raise ValidationError(problems)
    out["year"] = out["year"].astype(int)
    out["places_added"] = out["places"] - out["baseline_places"]
    out["budget_eur"] = out["places_added"] * out["unit_cost_eur_per_place_year"]
    return out[list(TARGET_COLUMNS)].reset_index(drop=True)
