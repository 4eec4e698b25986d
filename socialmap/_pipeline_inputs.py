"""The analysis's inputs: areas, services and population read (files, frames or the demo); population by area.

Part of :func:`socialmap.pipeline.analyze` (the only caller).
"""

from __future__ import annotations

import logging
import os
from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING, Any

import geopandas as gpd
import numpy as np
import pandas as pd

from socialmap.errors import N_, Message, Problem, SocialMapError, ValidationError

if TYPE_CHECKING:
    from socialmap.pipeline import PathOrFrame

logger = logging.getLogger("socialmap.pipeline")


def _read_inputs(
    areas: PathOrFrame | None,
    services: PathOrFrame | None,
    population: PathOrFrame | None,
    demo: str | None,
    taxonomy: Any,
    columns: Mapping[str, Mapping[str, str]] | None = None,
) -> tuple[gpd.GeoDataFrame, gpd.GeoDataFrame, pd.DataFrame, Any, dict[str, Any]]:
    from socialmap.io import read_areas, read_population, read_services
    from socialmap.taxonomy import load_taxonomy

    def mapping(kind: str) -> dict[str, str] | None:
        given = (columns or {}).get(kind)
        return dict(given) if given else None

    provenance: dict[str, Any] = {}
    files: dict[str, str] = {}
    base = None
    if demo is not None:
        from socialmap.datasets import load_demo

        base = load_demo(demo)
        provenance.update({f"demo_{k}": v for k, v in base.provenance.items()})
        provenance["demo"] = demo
    if taxonomy is None or isinstance(taxonomy, str | os.PathLike):
        tax = (
            base.taxonomy
            if (taxonomy is None and base is not None)
            else load_taxonomy(None if taxonomy is None else str(taxonomy))
        )
    else:
        tax = taxonomy

    def pick(kind: str, given: PathOrFrame | None, read: Callable[[Any], Any]) -> Any:
        if given is None:
            if base is None:
                raise SocialMapError(f"No {kind}: pass `{kind}` (a file or a frame) or `demo='kosovo'`.")
            return getattr(base, kind)
        if isinstance(given, pd.DataFrame):
            return given
        files[kind] = str(given)
        return read(given)

    area_gdf = pick("areas", areas, lambda p: read_areas(p, columns=mapping("areas")))
    # The attribution the boundaries ask for (from the file's metadata, or set by the caller).
    attribution = area_gdf.attrs.get("attribution") if areas is not None else None
    if attribution:  # maps and briefs write "Boundaries: <attribution>"
        attribution = str(attribution).removeprefix("Boundaries: ")
    if base is not None and areas is not None and not set(area_gdf["area_id"]) <= set(base.areas["area_id"]):
        from socialmap.datasets import use_areas

        base = use_areas(base, area_gdf, source=files.get("areas", "areas"))
        area_gdf = base.areas
        provenance["demo_boundaries"] = attribution or base.provenance["boundaries"]
    if attribution:
        provenance["boundaries"] = str(attribution)
    aliases = None
    if base is not None and base.name == "kosovo":
        from socialmap.names import kosovo_aliases

        aliases = kosovo_aliases()
    svc = pick(
        "services",
        services,
        lambda p: read_services(p, taxonomy=tax, areas=area_gdf, columns=mapping("services")),
    )
    pop = pick(
        "population",
        population,
        lambda p: read_population(p, areas=area_gdf, aliases=aliases, columns=mapping("population")),
    )
    if isinstance(population, pd.DataFrame) and "source_area_id" in area_gdf.columns:
        pop = _renumber(pop, area_gdf)
    provenance["files"] = files
    return area_gdf, svc, pop, tax, provenance


def _renumber(pop: pd.DataFrame, areas: gpd.GeoDataFrame) -> pd.DataFrame:
    """Give a population table keyed by the boundaries' own ids the demo's ids they were matched to."""
    if "area_id" not in pop.columns:
        return pop
    own = dict(zip(areas["source_area_id"].astype(str), areas["area_id"].astype(str), strict=True))
    ids = pop["area_id"].astype(str)
    if not ids.isin(list(own)).all() or ids.isin(areas["area_id"].astype(str)).all():
        return pop
    pop = pop.copy()
    pop["area_id"] = ids.map(own)
    return pop


def _population_by_area(areas: gpd.GeoDataFrame, population: pd.DataFrame) -> pd.DataFrame:
    for col in ("area_id", "population"):
        if col not in population.columns:
            raise SocialMapError(f"`population` is missing column {col!r}; found {list(population.columns)}.")
    pop = population.drop(columns=[c for c in ("geometry",) if c in population.columns])
    pop = pd.DataFrame(pop).copy()
    pop["area_id"] = pop["area_id"].astype(str)
    problems = []
    dup = pop["area_id"][pop["area_id"].duplicated()].unique()
    from socialmap.validate import area_labels

    for a in dup:
        problems.append(
            Problem(
                "population",
                None,
                "area_id",
                Message(N_("area {area} appears more than once."), area=area_labels(areas, [a])),
                N_("keep one row per area."),
            )
        )
    ids = set(areas["area_id"].astype(str))
    for a in sorted(set(pop["area_id"]) - ids):
        problems.append(
            Problem(
                "population",
                None,
                "area_id",
                Message(N_("area {area} is not among the areas."), area=repr(a)),
                N_("check the ids, or join by name with read_population(..., areas=areas)."),
            )
        )
    for a in sorted(ids - set(pop["area_id"])):
        problems.append(
            Problem(
                "population",
                None,
                "area_id",
                Message(N_("area {area} has no population row."), area=area_labels(areas, [a])),
                N_("add a row for it (0 if nobody lives there)."),
            )
        )
    if problems:
        raise ValidationError(problems)
    return pop.set_index("area_id").reindex(areas["area_id"].astype(str)).reset_index()


#: Columns of a coverage table that need the area's need (unknown where its population is).
_NEED_COLUMNS = (
    "need",
    "supply_per_10k",
    "covered_share",
    "access",
    "reachable_places",
    "unmet_need",
    "gap_score",
    "target_size",
    "places_per_1000",
    "standard_places",
    "standard_met",
    "spar",
)


def _unknown_population(areas: gpd.GeoDataFrame, pop: pd.DataFrame, notes: list[str]) -> np.ndarray:
    """
    Return the mask of areas whose population is blank (unknown), with a note naming them.

    Raises
    ------
    SocialMapError
        When no area has a population: nothing could be scored.
    """
    blank = pd.to_numeric(pop["population"], errors="coerce").isna().to_numpy()
    if blank.all():
        raise SocialMapError(
            N_(
                "The population is blank in every area, so no need can be computed. Fill in "
                "'population' (or an openly marked estimate) for the areas you know."
            )
        )
    if blank.any():
        from socialmap.validate import area_labels

        ids = pop["area_id"][blank].astype(str).tolist()
        # English here; socialmap.report.run_notes writes it in the user's language (from the provenance).
        notes.append(
            f"Population unknown in {len(ids)} of {len(blank)} areas ({area_labels(areas, ids)}): their need "
            f"and gaps are not computed; the other {int((~blank).sum())} areas are scored. Services near "
            "them are shared only among the areas whose population is known."
        )
    return blank


def _mask_blank_areas(table: pd.DataFrame, blank_ids: pd.Series) -> pd.DataFrame:
    """Blank the need-based metrics of the areas whose population is unknown (services and supply stay)."""
    if not len(blank_ids):
        return table
    table = table.copy()
    rows = table["area_id"].astype(str).isin(blank_ids.astype(str))
    cols = [c for c in _NEED_COLUMNS if c in table.columns]
    table.loc[rows, cols] = np.nan
    return table
