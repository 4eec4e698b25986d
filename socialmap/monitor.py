"""
Monitoring over the years: indicator series per area × service type, and progress against targets.

The same areas are analysed for several years (:func:`analyze_years`): each year with its own population
(a census or an estimate of that year) and the services open in that year (:func:`services_in_year`:
a service counts from its ``year_opened`` and until its ``year_closed``, where the services table has
those columns; without them every service counts in every year, and the notes say so). An area with no
population figure for a year is left out of that year's analysis and reported as *missing*: nothing is
filled in. Its residents then compete for no service that year, so the reach of its neighbours may be
overstated in that year; the notes say so too.

:func:`indicators` turns the yearly results into the indicators of :data:`INDICATORS`, per area ×
service type × year:

========================  ==============================================================================
``need``                  persons expected to need the service type (population × rates)
``places``                places (known capacities) of the services located in the area
``places_per_1000``       places within reach per 1,000 of the target group (2SFCA)
``share_within_reach``    share of the need within the catchment of a service (0–1)
``gap``                   need that cannot reach a place (persons): need − places within reach
========================  ==============================================================================

and, given :class:`socialmap.plan.Targets`, the progress of each observed year against them: the value
expected in year ``y`` is the target of ``y`` where there is one, else the straight line between the
points around ``y`` (the baseline, then each target year; after the last target year, the last target).
A row is *on track* when the observed places (and share within reach, where a share is targeted) reach
the expected value, else *behind*, with the places still missing (``places_short`` = expected − observed
places); *not assessed* where a figure is missing or hidden, or the year precedes the baseline.

Every figure is read from the published result (:func:`socialmap.privacy.protect`), so small counts of
sensitive groups are hidden here as in every output. :meth:`Monitoring.write` writes an XLSX workbook
with the indicators, the progress and an ``indicators`` sheet of definitions (name, definition, unit,
computation, source, frequency, disaggregation, limitations, as in an SDG metadata sheet).
"""

from __future__ import annotations

import logging
import math
import os
import warnings
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from socialmap.errors import SocialMapError
from socialmap.i18n import N_

if TYPE_CHECKING:
    import geopandas as gpd

    from socialmap.pipeline import AnalysisConfig, Result
    from socialmap.plan import Targets

logger = logging.getLogger(__name__)

__all__ = [
    "INDICATORS",
    "Monitoring",
    "analyze_years",
    "demo_years",
    "indicators",
    "services_in_year",
]


@dataclass(frozen=True)
class Indicator:
    """An indicator's metadata (English; shown with ``t``)."""

    key: str
    column: str
    name: str
    definition: str
    unit: str
    computation: str
    limitations: str


#: The indicators, in order: key → metadata (``column`` is the analysis table's column it is read from).
INDICATORS: dict[str, Indicator] = {
    i.key: i
    for i in (
        Indicator(
            "need",
            "need",
            N_("Need"),
            N_("Persons in the area expected to need the service type."),
            N_("persons"),
            N_("Sum over the service type's target groups of population × the group's rate."),
            N_(
                "As good as the rates: an estimate, not a count of applicants. The rates are the "
                "taxonomy's, the same in every year: only the population changes."
            ),
        ),
        Indicator(
            "places",
            "supply",
            N_("Places"),
            N_("Places of the services of the type located in the area."),
            N_("places"),
            N_("Sum of the known capacities of the services located in the area."),
            N_("Services of unknown capacity are not counted: a lower bound where there are some."),
        ),
        Indicator(
            "places_per_1000",
            "places_per_1000",
            N_("Places per 1,000 of the target group"),
            N_("Places within reach of the area's residents per 1,000 people of the target group."),
            N_("places per 1,000 persons"),
            N_(
                "1,000 × places within reach (two-step floating catchment: each service's places shared "
                "among the need within its catchment) / people in the target group."
            ),
            N_("Needs known capacities; empty where the type was measured by distance coverage only."),
        ),
        Indicator(
            "share_within_reach",
            "covered_share",
            N_("Share of need within reach"),
            N_("Share of the area's need within the catchment of at least one service of the type."),
            N_("share (0–1)"),
            N_("Need at demand points within the catchment of a service / need of the area."),
            N_("Reach is not capacity: a service within reach may be full."),
        ),
        Indicator(
            "gap",
            "unmet_need",
            N_("Gap (unmet need)"),
            N_("Persons in need who cannot reach a place."),
            N_("persons"),
            N_("Need − places within reach (two-step floating catchment), at least 0."),
            N_("As good as the need estimate and the known capacities."),
        ),
    )
}

#: Statuses of :attr:`Monitoring.progress`.
ON_TRACK, BEHIND, NOT_ASSESSED = "on_track", "behind", "not_assessed"
#: Status of an indicator row with no figure for the year.
MISSING = "missing"

STATUS_LABELS = {
    ON_TRACK: N_("on track"),
    BEHIND: N_("behind"),
    NOT_ASSESSED: N_("not assessed"),
    MISSING: N_("missing"),
}

_FREQUENCY = N_("At every analysis: each year with a population figure (census or estimate).")
_DISAGGREGATION = N_("Area (municipality) × service type × year.")
_NO_SERVICE_YEARS = N_(
    "The services carry no opening or closing year (columns year_opened, year_closed): the same services "
    "are counted in every year."
)
_MISSING_NOTE = N_(
    "{year}: no population figure for {areas}; they are left out of that year's analysis (reported as "
    "missing, not filled in), so the reach of their neighbours may be overstated in that year."
)

#: Columns of :attr:`Monitoring.table`.
TABLE_COLUMNS = ("area_id", "name", "service_type", "year", *INDICATORS, "status", "note")
#: Columns of :attr:`Monitoring.progress`.
PROGRESS_COLUMNS = (
    "area_id",
    "name",
    "service_type",
    "year",
    "target_year",
    "expected_places",
    "places",
    "places_short",
    "expected_share",
    "share_within_reach",
    "status",
    "note",
)


def services_in_year(
    services: gpd.GeoDataFrame, year: int, *, opened: str = "year_opened", closed: str = "year_closed"
) -> gpd.GeoDataFrame:
    """
    Return the services open in ``year``.

    A service counts from the year it opened (blank: always) until the year it closed, that year
    excluded (blank: still open). Without the columns every service counts.

    Parameters
    ----------
    services
        Services in the column contract, optionally with ``opened`` / ``closed`` year columns.
    year
        The year.
    opened, closed
        Names of the year columns.

    Returns
    -------
    services
        The rows open in ``year`` (a copy).

    Examples
    --------
    >>> import geopandas as gpd, shapely
    >>> s = gpd.GeoDataFrame({"service_id": ["a", "b", "c"], "year_opened": [2010, 2020, None],
    ...                       "year_closed": [2015, None, None]}, geometry=[shapely.Point(0, 0)] * 3)
    >>> services_in_year(s, 2014)["service_id"].tolist(), services_in_year(s, 2022)["service_id"].tolist()
    (['a', 'c'], ['b', 'c'])
    """
    keep = np.ones(len(services), dtype=bool)
    for col, test in ((opened, lambda v: v <= year), (closed, lambda v: v > year)):
        if col in services.columns:
            values = pd.to_numeric(services[col], errors="coerce").to_numpy(dtype=float)
            bad = services[col].notna().to_numpy() & np.isnan(values)
            if bad.any():
                raise SocialMapError(
                    f"`services.{col}` must hold years; found {services[col][bad].iloc[0]!r}. "
                    "Write the year as a number, or leave it empty."
                )
            keep &= np.isnan(values) | test(values)
    return services[keep].copy()


def analyze_years(
    populations: Mapping[int, pd.DataFrame],
    *,
    areas: Any = None,
    services: Any = None,
    demo: str | None = None,
    taxonomy: Any = None,
    config: AnalysisConfig | None = None,
) -> dict[int, Result]:
    """
    Analyse the same areas for several years, each with its population and the services open then.

    Parameters
    ----------
    populations
        Year → population table (``area_id``, ``population``; a blank population means no figure: the
        area is left out of that year and reported as missing, with the row's ``population_source`` as
        the reason where it has one).
    areas, services, taxonomy
        Frames (or, for the taxonomy, a name or path); default the demo's.
    demo
        Name of a demo supplying what is not given (and its provenance).
    config
        Analysis options, the same for every year.

    Returns
    -------
    results
        Year → :class:`socialmap.pipeline.Result`; each provenance has ``monitor_year`` and
        ``missing_areas`` (``area_id`` → reason) and, without service years, a note.
    """
    from socialmap.i18n import t
    from socialmap.pipeline import analyze

    if not populations:
        raise SocialMapError("`populations` is empty: give at least one year's population.")
    if demo is not None and (areas is None or services is None or taxonomy is None):
        from socialmap.datasets import load_demo

        d = load_demo(demo)
        areas = d.areas if areas is None else areas
        services = d.services if services is None else services
        taxonomy = d.taxonomy if taxonomy is None else taxonomy
    if areas is None or services is None:
        raise SocialMapError("Give `areas` and `services`, or a `demo`.")
    has_years = any(c in services.columns for c in ("year_opened", "year_closed"))
    out: dict[int, Result] = {}
    for year in sorted(int(y) for y in populations):
        pop = pd.DataFrame(populations[year]).copy()
        for col in ("area_id", "population"):
            if col not in pop.columns:
                raise SocialMapError(
                    f"The population of {year} has no column {col!r}; found {list(pop.columns)}."
                )
        pop["area_id"] = pop["area_id"].astype(str)
        values = pd.to_numeric(pop["population"], errors="coerce")
        gone = pop[values.isna()]
        reasons = {
            str(r["area_id"]): str(r.get("population_source") or "") or t("no population figure")
            for _, r in gone.iterrows()
        }
        kept = pop[values.notna()]
        if kept.empty:
            raise SocialMapError(f"The population of {year} has no figure for any area.")
        area_in = areas[areas["area_id"].astype(str).isin(set(kept["area_id"]))]
        svc = services_in_year(services, year)
        res = analyze(area_in, svc, kept, demo=demo, taxonomy=taxonomy, config=config)
        notes = list(res.provenance.get("notes", ()))
        first = len(notes)
        if reasons:
            label = dict(
                zip(
                    areas["area_id"].astype(str), areas.get("name", areas["area_id"]).astype(str), strict=True
                )
            )
            names = ", ".join(label.get(a, a) for a in sorted(reasons))
            notes.append(t(_MISSING_NOTE, None, year=str(year), areas=names))
        if not has_years:
            notes.append(t(_NO_SERVICE_YEARS))
        prov = {
            **res.provenance,
            "monitor_year": year,
            "missing_areas": reasons,
            "service_years": has_years,
            "monitor_notes": notes[first:],  # written again in the reader's language by indicators()
            "notes": notes,
        }
        out[year] = replace(res, provenance=prov)
        logger.info("monitor: %d analysed, %d areas missing", year, len(reasons))
    return out


def demo_years(
    name: str = "kosovo", years: tuple[int, ...] = (2011, 2024), *, config: AnalysisConfig | None = None
) -> dict[int, Result]:
    """
    Analyse a demo for the years it has a population file for (Kosovo: the 2011 and 2024 censuses).

    The 2011 census was not held in Kosovo's four northern municipalities: they are missing in 2011.

    Parameters
    ----------
    name
        The demo.
    years
        Years with a file ``population/<name>_population_<year>.csv`` in the demo data.
    config
        Analysis options.

    Returns
    -------
    results
        As :func:`analyze_years`.
    """
    from socialmap.datasets import demo_dir, load_demo
    from socialmap.io import read_population

    d = load_demo(name)
    pops = {}
    for year in years:
        path = demo_dir() / "population" / f"{name}_population_{int(year)}.csv"
        if not path.is_file():
            raise SocialMapError(f"The {name} demo has no population for {year} ({path.name} not found).")
        with warnings.catch_warnings():
            # The blank figures are expected (a census not held): they are reported as missing.
            warnings.filterwarnings("ignore", message="(?s).*'population' is empty", category=UserWarning)
            pops[int(year)] = read_population(path, areas=d.areas)
    return analyze_years(pops, demo=name, config=config)


@dataclass(frozen=True, eq=False)
class Monitoring:
    """
    Indicator series and progress against targets.

    Attributes
    ----------
    table
        One row per area × service type × year (:data:`TABLE_COLUMNS`): the indicators of
        :data:`INDICATORS`, ``status`` (``""``; ``"missing"``: no figure for the year; or the
        suppression status where small counts are hidden) and a ``note``.
    progress
        One row per target row with an observation (:data:`PROGRESS_COLUMNS`); empty without targets.
    notes
        Caveats of the runs (missing areas, services without years, the analyses' own notes).
    years
        The years observed.
    """

    table: pd.DataFrame
    progress: pd.DataFrame
    notes: tuple[str, ...] = field(default_factory=tuple)
    years: tuple[int, ...] = ()

    def series(self, area_id: str, service_type: str | None = None) -> pd.DataFrame:
        """Return one area's rows (optionally of one service type), by year."""
        tab = self.table[self.table["area_id"].astype(str) == str(area_id)]
        if service_type is not None:
            tab = tab[tab["service_type"] == service_type]
        return tab.sort_values(["service_type", "year"]).reset_index(drop=True)

    def write(self, path: str | os.PathLike[str], *, lang: str | None = None) -> Path:
        """
        Write the monitoring as XLSX (sheets values, progress, indicators, notes).

        ``values`` holds the indicators, ``progress`` the progress against targets, ``indicators`` each
        indicator's definition and ``notes`` the caveats.

        Column keys stay in English; the definitions and statuses are written in ``lang``.
        """
        from socialmap.i18n import t
        from socialmap.writers import write_xlsx

        target = Path(path)
        if target.suffix.lower() != ".xlsx":
            raise SocialMapError(f"Write the monitoring as .xlsx; got {target.name!r}.")
        values = self.table.copy()
        values["note"] = values["note"].map(lambda n: t(n, lang) if isinstance(n, str) and n else n)
        values["status"] = values["status"].map(
            lambda s: t(STATUS_LABELS[s], lang) if s in STATUS_LABELS else s
        )
        progress = self.progress.copy()
        if len(progress):
            progress["status"] = progress["status"].map(
                lambda s: t(STATUS_LABELS[s], lang) if s in STATUS_LABELS else s
            )
        notes = pd.DataFrame({"note": list(self.notes)})
        return write_xlsx(
            {
                "values": values,
                "progress": progress,
                "indicators": definitions(lang),
                "notes": notes,
            },
            target,
        )


def definitions(lang: str | None = None) -> pd.DataFrame:
    """
    Return the indicators' metadata in ``lang``: one row per indicator (an SDG-style metadata sheet).

    Columns ``indicator`` (the key, as in the values sheet), ``name``, ``definition``, ``unit``,
    ``computation``, ``source``, ``frequency``, ``disaggregation``, ``limitations``.
    """
    from socialmap.i18n import t

    source = t(
        "socialmap analysis of the year's population (census or estimate, named in the sources), the "
        "services open in the year and the taxonomy's rates with their sources.",
        lang,
    )
    rows = [
        {
            "indicator": i.key,
            "name": t(i.name, lang),
            "definition": t(i.definition, lang),
            "unit": t(i.unit, lang),
            "computation": t(i.computation, lang),
            "source": source,
            "frequency": t(_FREQUENCY, lang),
            "disaggregation": t(_DISAGGREGATION, lang),
            "limitations": t(i.limitations, lang),
        }
        for i in INDICATORS.values()
    ]
    return pd.DataFrame(rows)


def _notes(results: Mapping[int, Result], names: Mapping[str, str], lang: str | None) -> list[str]:
    """Return the runs' notes in ``lang``: the analyses' (:func:`socialmap.report.run_notes`), then ours."""
    from socialmap.i18n import t
    from socialmap.report import run_notes

    notes: list[str] = []
    no_years = False
    for year, res in sorted(results.items()):
        own = set(res.provenance.get("monitor_notes") or ())
        for n in run_notes(res, lang):
            if n not in own and n not in notes:
                notes.append(n)
        missing = res.provenance.get("missing_areas") or {}
        if missing:
            listed = ", ".join(names.get(a, a) for a in sorted(missing))
            notes.append(t(_MISSING_NOTE, lang, year=str(year), areas=listed))
        no_years = no_years or res.provenance.get("service_years") is False
    if no_years:
        notes.append(t(_NO_SERVICE_YEARS, lang))
    return notes


def _observed(
    results: Mapping[int, Result], threshold: float | None, lang: str | None = None
) -> tuple[pd.DataFrame, list[str]]:
    from socialmap.privacy import protect

    parts: list[pd.DataFrame] = []
    names: dict[str, str] = {}
    types: list[str] = []
    for res in results.values():
        for a, n in zip(
            res.areas["area_id"].astype(str), res.areas.get("name", res.areas["area_id"]), strict=True
        ):
            names.setdefault(a, str(n))
        for st in res.table["service_type"].astype(str).drop_duplicates():
            if st not in types:
                types.append(st)
    for year, res in sorted(results.items()):
        pub = pd.DataFrame(protect(res, threshold=threshold).table)
        frame = pd.DataFrame(
            {
                "area_id": pub["area_id"].astype(str).to_numpy(),
                "name": pub["name"].astype(str).to_numpy() if "name" in pub else None,
                "service_type": pub["service_type"].astype(str).to_numpy(),
                "year": int(year),
            }
        )
        for key, ind in INDICATORS.items():
            frame[key] = (
                pd.to_numeric(pub[ind.column], errors="coerce").to_numpy(dtype=float)
                if ind.column in pub
                else np.nan
            )
        frame["status"] = pub["suppression"].astype(str).to_numpy() if "suppression" in pub else ""
        frame["note"] = None
        missing = res.provenance.get("missing_areas") or {}
        absent = sorted(set(names) - set(frame["area_id"]))
        if absent:
            extra = pd.DataFrame(
                [
                    {
                        "area_id": a,
                        "name": names[a],
                        "service_type": st,
                        "year": int(year),
                        **{k: np.nan for k in INDICATORS},
                        "status": MISSING,
                        "note": missing.get(a) or N_("not analysed in this year"),
                    }
                    for a in absent
                    for st in types
                ]
            )
            frame = pd.concat([frame, extra], ignore_index=True)
        parts.append(frame)
    notes = _notes(results, names, lang)
    table = pd.concat(parts, ignore_index=True)[list(TABLE_COLUMNS)]
    return table.sort_values(["area_id", "service_type", "year"], kind="stable").reset_index(drop=True), notes


def _expected(points: list[tuple[int, float]], year: int) -> tuple[float, int | None]:
    """Return the value expected in ``year`` on the lines through ``points`` (by year) and the target year."""
    if not points or year < points[0][0]:
        return math.nan, None
    for (y0, v0), (y1, v1) in zip(points, points[1:], strict=False):
        if y0 <= year <= y1:
            if year == y1:
                return v1, y1
            return v0 + (v1 - v0) * (year - y0) / (y1 - y0), y1
    return points[-1][1], points[-1][0]


def _progress(observed: pd.DataFrame, targets: Targets) -> pd.DataFrame:
    rows = []
    tgt = targets.table.copy()
    tgt["area_id"] = tgt["area_id"].astype(str)
    obs = observed.set_index(["area_id", "service_type", "year"])
    for (area, st), part in tgt.groupby(["area_id", "service_type"], sort=False):
        part = part.sort_values("year")
        base_year = part["baseline_year"].dropna()
        b_year = int(base_year.iloc[0]) if len(base_year) else None
        lines: dict[str, list[tuple[int, float]]] = {}
        for col, base_col, key in (
            ("places", "baseline_places", "places"),
            ("share_within_reach", "baseline_share_within_reach", "share"),
        ):
            pts = [(int(y), float(v)) for y, v in zip(part["year"], part[col], strict=True) if pd.notna(v)]
            if b_year is not None and pts and pd.notna(part[base_col].iloc[0]) and b_year < pts[0][0]:
                pts = [(b_year, float(part[base_col].iloc[0])), *pts]
            lines[key] = pts
        first_target = int(part["year"].min())
        for year in sorted({y for (a, s, y) in obs.index if a == area and s == st}):
            if (b_year is not None and year <= b_year) or (b_year is None and year < first_target):
                continue  # the plan starts after its baseline
            o = obs.loc[(area, st, year)]
            exp_places, ty1 = _expected(lines["places"], year)
            exp_share, ty2 = _expected(lines["share"], year)
            if ty1 is None and ty2 is None:
                continue
            places, share = float(o["places"]), float(o["share_within_reach"])
            checks = []
            note = None
            if math.isfinite(exp_places):
                checks.append(None if not math.isfinite(places) else places >= exp_places - 1e-9)
            if math.isfinite(exp_share):
                checks.append(None if not math.isfinite(share) else share >= exp_share - 1e-9)
            if str(o["status"]) == MISSING:
                note = str(o["note"])
            if any(c is False for c in checks):
                status = BEHIND
            elif checks and all(c is True for c in checks):
                status = ON_TRACK
            else:
                status = NOT_ASSESSED
            short = (
                max(exp_places - places, 0.0)
                if math.isfinite(exp_places) and math.isfinite(places)
                else math.nan
            )
            rows.append(
                {
                    "area_id": area,
                    "name": part["name"].iloc[0] if "name" in part else None,
                    "service_type": st,
                    "year": int(year),
                    "target_year": ty1 if ty1 is not None else ty2,
                    "expected_places": exp_places,
                    "places": places,
                    "places_short": short,
                    "expected_share": exp_share,
                    "share_within_reach": share,
                    "status": status,
                    "note": note,
                }
            )
    return pd.DataFrame(rows, columns=list(PROGRESS_COLUMNS))


def indicators(
    results: Mapping[int, Result],
    *,
    targets: Targets | None = None,
    threshold: float | None = None,
    lang: str | None = None,
) -> Monitoring:
    """
    Compute the indicator series of several years, and the progress against targets.

    Parameters
    ----------
    results
        Year → analysis of that year (:func:`analyze_years`, :func:`demo_years`, or any results of the
        same areas and service types).
    targets
        Targets to measure progress against (:func:`socialmap.plan.targets_from_scenario` or
        :func:`socialmap.plan.read_targets`).
    threshold
        Suppression threshold for small counts.
    lang
        Language of the notes (``None``: the default language).

    Returns
    -------
    monitoring
        A :class:`Monitoring`.
    """
    if not results:
        raise SocialMapError("`results` is empty: give the analyses of at least one year.")
    observed, notes = _observed(results, threshold, lang)
    progress = (
        _progress(observed, targets) if targets is not None else pd.DataFrame(columns=list(PROGRESS_COLUMNS))
    )
    return Monitoring(observed, progress, tuple(notes), tuple(sorted(int(y) for y in results)))
