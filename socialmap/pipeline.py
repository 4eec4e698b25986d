"""``analyze``: the one chain from inputs to gap scores that the app, the CLI and notebooks share.

io → validate → needs (population × rates, spread onto demand points) → access (2SFCA family or
distance coverage) → coverage (per area × service type) → gaps (composite, rank) → a :class:`Result`
with its provenance.

Reading the inputs and the population by area are in :mod:`socialmap._pipeline_inputs`, the
analysis on a road network in :mod:`socialmap._pipeline_network`.
"""

from __future__ import annotations

import hashlib
import logging
import math
import os
import threading
from collections import OrderedDict
from collections.abc import Callable, Mapping
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any, Literal, TypeAlias

import geopandas as gpd
import numpy as np
import pandas as pd

from socialmap import settings
from socialmap._pipeline_inputs import (
    _mask_blank_areas,
    _population_by_area,
    _read_inputs,
    _unknown_population,
)
from socialmap._pipeline_network import _cost_provenance, _network, _network_access, _off_network_note
from socialmap.coverage import COVERAGE_COLUMNS, METHODS, area_coverage, relative_scores
from socialmap.crs import work_crs_for
from socialmap.errors import N_, Number, SocialMapError

logger = logging.getLogger(__name__)

Progress: TypeAlias = Callable[[int, int, str], None]
PathOrFrame: TypeAlias = str | os.PathLike[str] | pd.DataFrame

SPREADING = ("representative", "grid", "points")

#: Step weights of E2SFCA when none is given: three equal distance bands of the catchment weighted
#: 1.00, 0.68 and 0.22, the values Luo & Qi (2009, Health & Place 15(4):1100-1107) derived from a
#: Gaussian curve for their 0-10, 10-20 and 20-30 minute zones. A modelling choice: pass your own.
E2SFCA_BAND_WEIGHTS = (1.0, 0.68, 0.22)


@dataclass(frozen=True)
class AnalysisConfig:
    """
    Options of :func:`analyze`, checked when created.

    Attributes
    ----------
    method
        ``"2sfca"``, ``"e2sfca"`` or ``"coverage"`` (distance coverage only).
    catchment_m
        One catchment (metres) for every service type, a mapping service type → metres, or ``None``
        for the taxonomy's catchment of each type (``settings.default_catchment_m`` where it has none).
    spreading
        How area counts become demand points: ``"grid"`` (the default: regular cells of
        ``cell_size_m``, counts split by area, so coverage can be partial within an area),
        ``"representative"`` (one point per area, inside it: fast, but an area is then either wholly
        covered or not at all) or ``"points"`` (the
        ``demand`` argument of :func:`analyze`: user points or a population raster).
    cell_size_m
        Grid cell size for ``spreading="grid"``.
    service_types
        Service types to analyse (default: every type of the taxonomy).
    weights
        Weights of the composite gap per **target group** (default: the taxonomy's
        ``target_groups.*.weight``, 1 when blank): the composite weighs people, not service types.
    crs
        Metric CRS for the analysis (default: ``settings.work_crs``, else the data's UTM zone).
    e2sfca_weights
        For ``method="e2sfca"``: the weight of each equal distance band of the catchment.
    catchment_min
        With a road network (``analyze(..., network=graph)``): one catchment in minutes of travel for
        every service type, a mapping service type → minutes, or ``None`` for the taxonomy's
        ``catchment_min`` of each type (``settings.default_catchment_min`` where it has none).
    max_snap_m
        With a road network: demand points and services farther than this from it are off the network
        and reported (``None``: ``settings.default_max_snap_m``).
    """

    method: Literal["2sfca", "e2sfca", "coverage"] = "2sfca"
    catchment_m: float | Mapping[str, float] | None = None
    spreading: Literal["representative", "grid", "points"] = "grid"
    cell_size_m: float = 1000.0
    service_types: tuple[str, ...] | None = None
    weights: Mapping[str, float] | None = None
    crs: str | None = None
    e2sfca_weights: tuple[float, ...] = E2SFCA_BAND_WEIGHTS
    catchment_min: float | Mapping[str, float] | None = None
    max_snap_m: float | None = None

    def __post_init__(self) -> None:
        problems = []
        if self.method not in METHODS:
            problems.append(f"method {self.method!r} is not one of {', '.join(METHODS)}")
        if self.spreading not in SPREADING:
            problems.append(f"spreading {self.spreading!r} is not one of {', '.join(SPREADING)}")
        if not (
            isinstance(self.cell_size_m, int | float)
            and math.isfinite(self.cell_size_m)
            and self.cell_size_m > 0
        ):
            problems.append(f"cell_size_m must be a positive number of metres; got {self.cell_size_m!r}")
        elif self.cell_size_m < settings.min_cell_size_m:
            raise SocialMapError(
                N_(
                    "The grid cell size {size} m is smaller than {minimum} m "
                    "(`socialmap.settings.min_cell_size_m`): finer than any population data, and more "
                    "cells than can be counted. Use cells of 100 m or more (--cell-size-m; 1000 m by "
                    "default)."
                ),
                size=Number(float(self.cell_size_m), "g"),
                minimum=Number(settings.min_cell_size_m, "g"),
            )
        catchments = (
            self.catchment_m.items() if isinstance(self.catchment_m, Mapping) else [("all", self.catchment_m)]
        )
        for key, value in catchments:
            if value is not None and not (
                isinstance(value, int | float) and math.isfinite(value) and value > 0
            ):
                problems.append(f"catchment_m for {key} must be a positive number of metres; got {value!r}")
        minutes = (
            self.catchment_min.items()
            if isinstance(self.catchment_min, Mapping)
            else [("all", self.catchment_min)]
        )
        for key, value in minutes:
            if value is not None and not (
                isinstance(value, int | float) and math.isfinite(value) and value > 0
            ):
                problems.append(
                    f"catchment_min for {key} must be a positive number of minutes; got {value!r}"
                )
        if self.max_snap_m is not None and not (
            isinstance(self.max_snap_m, int | float)
            and not math.isnan(self.max_snap_m)
            and self.max_snap_m >= 0
        ):
            problems.append(f"max_snap_m must be a distance in metres >= 0; got {self.max_snap_m!r}")
        if not self.e2sfca_weights or any(not (0 <= w <= 1) for w in self.e2sfca_weights):
            problems.append(f"e2sfca_weights must be numbers in [0, 1]; got {self.e2sfca_weights!r}")
        if self.service_types is not None and isinstance(self.service_types, str):
            problems.append("service_types must be a list of service-type keys, not one string")
        if problems:
            raise SocialMapError("Invalid analysis options: " + "; ".join(problems) + ".")

    def catchment_for(self, service_type: str, taxonomy: Any) -> float:
        """Return the catchment (metres) of a service type under these options."""
        if isinstance(self.catchment_m, Mapping):
            if service_type in self.catchment_m:
                return float(self.catchment_m[service_type])
        elif self.catchment_m is not None:
            return float(self.catchment_m)
        return float(taxonomy.catchment_for(service_type))

    def catchment_min_for(self, service_type: str, taxonomy: Any) -> float:
        """Return the catchment (minutes on a road network) of a service type under these options."""
        if isinstance(self.catchment_min, Mapping):
            if service_type in self.catchment_min:
                return float(self.catchment_min[service_type])
        elif self.catchment_min is not None:
            return float(self.catchment_min)
        return float(taxonomy.catchment_min_for(service_type))


@dataclass(frozen=True)
class Result:
    """
    What :func:`analyze` returns.

    Attributes
    ----------
    areas
        One row per area (GeoDataFrame, working CRS): names, ``population``, ``composite_gap``,
        ``rank`` and, per service type ``s``, ``gap_score_<s>``.
    table
        One row per area × service type (GeoDataFrame): ``area_id``, ``name``, ``service_type``,
        ``method``, ``catchment_m`` and the metrics of :data:`socialmap.coverage.COVERAGE_COLUMNS`.
    demand
        One row per demand point × service type (GeoDataFrame): ``area_id``, ``service_type``,
        ``need``, ``access`` (``A_i``) and ``covered``.
    composite
        One row per area: ``area_id``, ``composite_gap``, ``types_scored``, ``rank``.
    services
        The services analysed (working CRS), with the ``area_id`` they fall in (NaN outside every area).
    provenance
        Inputs and choices: population year and sources, rates and their sources, method,
        catchments, CRS, files, notes (e.g. service types analysed by distance coverage because
        no capacity is known).
    config
        The options used.
    taxonomy
        The :class:`socialmap.taxonomy.Taxonomy` the result was computed with.
    network
        The :class:`socialmap.network.RoadGraph` whose travel times were the cost, or ``None`` for
        straight-line distances (scenarios and placement reuse it).
    makeup
        The composite's make-up: one row per area × target group × service type
        (:func:`socialmap.gaps.composite_makeup`); :meth:`group_gaps` sums it per group.
    population
        The population table per area as analysed (counts of target groups where given).
    """

    areas: gpd.GeoDataFrame
    table: gpd.GeoDataFrame
    demand: gpd.GeoDataFrame
    composite: pd.DataFrame
    services: gpd.GeoDataFrame
    provenance: dict[str, Any]
    config: AnalysisConfig
    taxonomy: Any = None
    network: Any = None
    makeup: pd.DataFrame | None = None
    population: pd.DataFrame | None = None

    @property
    def notes(self) -> tuple[str, ...]:
        """Notes on choices made during the run (also in ``provenance["notes"]``)."""
        return tuple(self.provenance.get("notes", ()))

    def group_gaps(self, area_id: str | None = None) -> pd.DataFrame:
        """
        Return the composite's make-up: each target group's gap, weight and share of the composite.

        Parameters
        ----------
        area_id
            One area, or ``None`` for every area.

        Returns
        -------
        gaps
            See :func:`socialmap.gaps.group_gaps`.
        """
        from socialmap.gaps import group_gaps

        if self.makeup is None:
            raise SocialMapError("This result has no composite make-up (it was made without the need model).")
        gaps = group_gaps(self.makeup)
        if area_id is not None:
            gaps = gaps[gaps["area_id"].astype(str) == str(area_id)].reset_index(drop=True)
        return gaps

    def for_service_type(self, service_type: str) -> gpd.GeoDataFrame:
        """Return the rows of :attr:`table` for one service type."""
        known = sorted(self.table["service_type"].unique())
        if service_type not in known:
            raise SocialMapError(
                f"No results for service type {service_type!r}; analysed: {', '.join(known)}."
            )
        return self.table[self.table["service_type"] == service_type].reset_index(drop=True)


def _step_weight(catchment_m: float, bands: tuple[float, ...]) -> Any:
    from socialmap.access import step_weights

    n = len(bands)
    return step_weights({catchment_m * (k + 1) / n: w for k, w in enumerate(bands)})


#: Demand points of recent analyses (``grid`` and ``representative`` spreading), by a digest of what they are
#: made of: another method, catchment or scenario on the same areas and need reuses them (on the demo the grid
#: is a quarter of an analysis).
_DEMAND_CACHE: OrderedDict[bytes, gpd.GeoDataFrame] = OrderedDict()
_DEMAND_CACHE_SIZE = 8
#: At most this many rows (demand points, or per-point rows of the type tables) are kept in each cache:
#: about 100 MB; larger analyses (national 100 m grids) are recomputed rather than kept.
_CACHE_MAX_ROWS = 1_000_000
#: One service type's tables on such demand points, by a digest of the points, the type's services (places,
#: municipality, location) and the options: a scenario that changes one type recomputes only that one.
_TYPE_CACHE: OrderedDict[bytes, tuple[pd.DataFrame, pd.DataFrame]] = OrderedDict()
_TYPE_CACHE_SIZE = 64
_CACHE_LOCK = threading.Lock()
#: Set by the app's launcher (:func:`socialmap.serve.warm_up`): given :func:`analyze`'s arguments, it returns
#: the result its warm-up computed with equal ones (handed out once), else ``None``. ``None``: no launcher.
prepared_result: Callable[[dict[str, Any]], Result | None] | None = None


def _cache_get(cache: OrderedDict[bytes, Any], key: bytes) -> Any:
    with _CACHE_LOCK:
        value = cache.get(key)
        if value is not None:
            cache.move_to_end(key)
        return value


def _rows(value: Any) -> int:
    return sum(len(v) for v in value) if isinstance(value, tuple) else len(value)


def _cache_put(cache: OrderedDict[bytes, Any], key: bytes, value: Any, size: int) -> None:
    if _rows(value) > _CACHE_MAX_ROWS // 4:
        return
    with _CACHE_LOCK:
        cache[key] = value
        while len(cache) > size or sum(_rows(v) for v in cache.values()) > _CACHE_MAX_ROWS:
            cache.popitem(last=False)


def _type_key(demand_key: bytes, sites: gpd.GeoDataFrame, *options: Any) -> bytes:
    import shapely

    digest = hashlib.blake2b(demand_key, digest_size=20)
    digest.update(repr(options).encode())
    digest.update("\x00".join(map(str, sites["area_id"].tolist())).encode())  # NaN: outside the areas
    digest.update(pd.to_numeric(sites["capacity"], errors="coerce").to_numpy(dtype=np.float64).tobytes())
    for wkb in shapely.to_wkb(sites.geometry.to_numpy()):
        digest.update(wkb)
    return digest.digest()


def _demand_key(with_need: gpd.GeoDataFrame, need_cols: list[str], config: AnalysisConfig) -> bytes:
    import shapely

    digest = hashlib.blake2b(digest_size=20)
    digest.update(repr((config.spreading, config.cell_size_m, need_cols, with_need.crs.to_wkt())).encode())
    digest.update("\x00".join(map(str, with_need["area_id"].tolist())).encode())
    for wkb in shapely.to_wkb(with_need.geometry.to_numpy()):
        digest.update(wkb)
    digest.update(np.ascontiguousarray(with_need[need_cols].to_numpy(dtype=np.float64)).tobytes())
    return digest.digest()


def _demand_points(
    areas: gpd.GeoDataFrame,
    need_by_area: pd.DataFrame,
    need_cols: list[str],
    config: AnalysisConfig,
    demand: Any,
    taxonomy: Any,
    types: list[str],
) -> tuple[gpd.GeoDataFrame, bytes | None]:
    """Return the demand points and, when they are kept for reuse, the digest they are kept by."""
    from socialmap import needs

    with_need = areas[["area_id", "geometry"]].merge(need_by_area, on="area_id")
    if config.spreading in ("representative", "grid"):
        key = _demand_key(with_need, need_cols, config)
        kept = _cache_get(_DEMAND_CACHE, key)
        if kept is not None:
            return kept.copy(deep=False), key
        if config.spreading == "representative":
            pts = needs.points_from_areas(with_need, columns=need_cols)
        else:
            pts = needs.grid_from_areas(with_need, columns=need_cols, cell_size_m=config.cell_size_m)
        _cache_put(_DEMAND_CACHE, key, pts, _DEMAND_CACHE_SIZE)
        return pts.copy(deep=False), key
    if demand is None:
        raise SocialMapError(
            "spreading='points' needs `demand`: demand points with a population column, "
            "or the path of a population raster (GeoTIFF)."
        )
    if isinstance(demand, gpd.GeoDataFrame):
        pts = needs.points_from_user(demand.to_crs(areas.crs), column="population", areas=areas)
    else:
        pts = needs.points_from_raster(demand)
        pts = needs.points_from_user(pts.to_crs(areas.crs), column="population", areas=areas)
    out = pts[["area_id", "geometry"]].copy()
    for st, col in zip(types, need_cols, strict=True):
        out[col] = taxonomy.need(st, pts).to_numpy()
    return out, None


def analyze(
    areas: PathOrFrame | None = None,
    services: PathOrFrame | None = None,
    population: PathOrFrame | None = None,
    *,
    demo: str | None = None,
    taxonomy: Any = None,
    config: AnalysisConfig | None = None,
    demand: Any = None,
    progress: Progress | None = None,
    network: Any = None,
    network_mode: str = "drive",
    columns: Mapping[str, Mapping[str, str]] | None = None,
    **options: Any,
) -> Result:
    """
    Run the whole analysis: need, accessibility, coverage and gaps per area and service type.

    Parameters
    ----------
    areas, services, population
        Files or frames in the column contract; each given together with ``demo`` replaces the
        demo's own (other boundaries are matched to the demo's areas by name).
    demo
        Name of an embedded demo (``"kosovo"``) supplying whatever is not given.
    taxonomy
        A :class:`socialmap.taxonomy.Taxonomy`, a YAML path or name; default: the demo's, else Kosovo's.
    config
        An :class:`AnalysisConfig`; or give its fields as keyword ``options`` (``method="e2sfca"``...).
    demand
        With ``spreading="points"``: demand points (GeoDataFrame with ``population``) or a raster path.
    progress
        Called as ``progress(step, total, message)`` as service types are done.
    network
        A road graph (:class:`socialmap.network.RoadGraph`, or the path of an ``.osm.pbf`` extract or a
        saved ``.npz`` graph): catchments are then travel times in minutes on it (``catchment_min``)
        instead of straight-line distances; see :mod:`socialmap.network`.
    network_mode
        ``"drive"`` or ``"walk"``, when ``network`` is a path.
    columns
        Column mappings of the files, by kind: ``{"services": {"Emri": "name", ...}}`` (see the
        ``read_*`` functions of :mod:`socialmap.io`; without one, columns are guessed from their names).

    Returns
    -------
    result
        A :class:`Result`.

    Examples
    --------
    >>> res = analyze(demo="kosovo", method="coverage", catchment_m=15000)
    >>> len(res.areas), res.table["need"].ge(0).all()
    (38, np.True_)
    """
    if prepared_result is not None and (kept := prepared_result(dict(locals()))) is not None:
        return kept
    from socialmap import access as acc
    from socialmap.gaps import composite_by_group, composite_makeup

    if config is None:
        config = AnalysisConfig(**options)
    elif options:
        raise SocialMapError("Give either `config` or keyword options, not both.")
    graph = _network(network, network_mode)
    area_in, svc_in, pop_in, tax, provenance = _read_inputs(
        areas, services, population, demo, taxonomy, columns
    )
    crs = work_crs_for(area_in, config.crs)
    logger.info("analysing %d areas, %d services in %s", len(area_in), len(svc_in), crs.to_string())
    area_w = area_in.to_crs(crs).reset_index(drop=True)
    area_w["area_id"] = area_w["area_id"].astype(str)
    svc_w = svc_in.to_crs(crs).reset_index(drop=True)
    joined = gpd.sjoin(
        svc_w[["geometry"]], area_w[["area_id", "geometry"]], how="left", predicate="intersects"
    )
    svc_w["area_id"] = joined[~joined.index.duplicated(keep="first")]["area_id"].reindex(svc_w.index)

    types = list(config.service_types or tax.service_type_keys)
    unknown = [t for t in types if t not in tax.service_type_keys]
    if unknown:
        raise SocialMapError(
            f"Unknown service type(s) {unknown}; the taxonomy has {list(tax.service_type_keys)}."
        )
    pop = _population_by_area(area_w, pop_in)
    need_cols = [f"need__{t}" for t in types]
    need_by_area = pd.DataFrame({"area_id": pop["area_id"]})
    notes: list[str] = []
    # Demand that 2SFCA spreads each type's places over: the need where it is known, else the size of
    # the target group (the relative measures then still hold; the absolute gap is unknown).
    # Missing is local: an area whose population is blank has unknown need; every other is scored, and
    # the blank areas add no demand to the catchments (their rows are blanked below).
    blank = _unknown_population(area_w, pop, notes)
    blank_ids = pop["area_id"][blank]
    demand_kind: dict[str, str] = {}
    for t, col in zip(types, need_cols, strict=True):
        need = tax.need(t, pop).to_numpy(dtype=float)
        size = tax.target_size(t, pop).to_numpy(dtype=float)
        if not np.isnan(need[~blank]).any():
            need_by_area[col] = np.where(blank, 0.0, need)
            demand_kind[t] = "need"
        elif not np.isnan(size[~blank]).any():
            need_by_area[col] = np.where(blank, 0.0, size)
            demand_kind[t] = "target_group"
        else:
            need_by_area[col] = np.nan
            demand_kind[t] = "none"
    for t in types:
        basis = tax.need_basis(t)
        if demand_kind[t] == "target_group":
            notes.append(
                f"{t}: need unknown (no sourced need rate or planning standard); scored on relative "
                "measures only (relative access, places per 1,000 of the target group, share within reach)."
            )
        elif demand_kind[t] == "none":
            notes.append(f"{t}: need unknown (a target group has no rate and no count column); not scored.")
        elif basis == "whole_group":
            notes.append(
                f"{t}: no need rate given, so the whole target group is counted as need (an upper bound)."
            )
        elif basis == "standard":
            notes.append(f"{t}: need = the places the planning standard asks for (no need rate is known).")
    for g, shared in tax.shared_groups().items():
        both = [t for t in shared if t in types]
        if len(both) > 1:
            notes.append(
                f"{', '.join(both)}: no need rates, so each counts the whole of {g} (the same people in "
                "each); the composite weighs that group once. Give need rates to split it."
            )
    unknown_need = [t for t in types if demand_kind[t] == "none"]
    known_types = [t for t in types if t not in unknown_need]
    known_cols = [f"need__{t}" for t in known_types]
    pts, demand_key = _demand_points(
        area_w, need_by_area[["area_id", *known_cols]], known_cols, config, demand, tax, known_types
    )
    logger.info("%d demand points (%s)", len(pts), config.spreading)

    rows, point_rows = [], []
    off_network: dict[str, Any] = {}
    capacity_unknown: dict[str, list[int]] = {}
    total = len(types)
    for step, t in enumerate(types, start=1):
        if progress is not None:
            progress(step - 1, total, t)
        catchment = config.catchment_for(t, tax) if graph is None else config.catchment_min_for(t, tax)
        sites = svc_w[svc_w["service_type"] == t]
        method: str = config.method
        cap = pd.to_numeric(sites["capacity"], errors="coerce")
        n_unknown = int(cap.isna().sum())
        capacity_unknown[t] = [n_unknown, len(sites)]
        if t in unknown_need:
            table = pd.DataFrame({"area_id": area_w["area_id"]})
            for col in COVERAGE_COLUMNS[1:]:
                table[col] = np.nan
            table["services"] = (
                sites.groupby("area_id").size().reindex(area_w["area_id"]).fillna(0).to_numpy()
            )
            method = "none"
        else:
            known = sites[cap.notna()]
            if method != "coverage" and len(sites) and known.empty:
                # No capacity at all: 2SFCA cannot share anything out; distance coverage is all there is.
                notes.append(
                    f"{t}: capacity unknown for every one of its {len(sites)} services, so distance coverage "
                    f"is used instead of {method}. Fill in the capacities to use {method}."
                )
                method = "coverage"
            elif method != "coverage" and n_unknown:
                notes.append(
                    f"{t}: capacity unknown for {n_unknown} of {len(sites)} services: {method} uses the "
                    f"{len(known)} known (supply and access are then lower bounds, the gap an upper bound); "
                    "distance coverage counts every service."
                )
            key = None
            kept = None
            if demand_key is not None and graph is None:  # (road networks: travel times, not kept here)
                # The demand kind is in the key: the same numbers as need or as a target group differ.
                key = _type_key(
                    demand_key,
                    sites,
                    f"{t}|{demand_kind[t]}",
                    method,
                    catchment,
                    tuple(config.e2sfca_weights),
                )
                kept = _cache_get(_TYPE_CACHE, key)
            if kept is not None:
                table, per_point = kept[0].copy(), kept[1].copy()
                logger.info("%s: %s, catchment %.0f m (as before)", t, method, catchment)
            else:
                dem = gpd.GeoDataFrame(
                    {"need": pts[f"need__{t}"].to_numpy()}, geometry=pts.geometry.values, crs=crs
                )
                weight = _step_weight(catchment, config.e2sfca_weights) if method == "e2sfca" else None
                # A service with 0 places covers no one (unknown capacities still count as present).
                open_sites = sites[~(cap == 0)]
                nearest_min = None
                if graph is not None:
                    net, a = _network_access(
                        graph, dem, open_sites, known, method, catchment, weight, config, crs
                    )
                    off_network[t] = _off_network_note(
                        t, net, dem, open_sites, notes, t in tax.sensitive_service_types
                    )
                    covered = np.asarray(net.covered, dtype=bool)
                    nearest = np.full(len(dem), np.nan)
                    nearest_min = np.asarray(net.nearest, dtype=float)
                else:
                    cov = acc.distance_coverage(dem, open_sites[["geometry"]], catchment_m=catchment)
                    covered = cov["covered"].to_numpy(dtype=bool)
                    nearest = cov["nearest_m"].to_numpy(dtype=float)
                    if method == "coverage":
                        a = np.full(len(dem), np.nan)
                    elif known.empty:
                        a = np.zeros(len(dem))
                    else:
                        fca = acc.two_step_fca(
                            dem, known[["capacity", "geometry"]], catchment_m=catchment, weight=weight
                        )
                        a = fca["access"].to_numpy(dtype=float)
                per_point = pd.DataFrame(
                    {
                        "area_id": pts["area_id"].to_numpy(),
                        "need": dem["need"].to_numpy(),
                        "access": a,
                        "covered": covered,
                    }
                )
                table = area_coverage(
                    per_point if method != "coverage" else per_point.drop(columns="access"),
                    sites[["area_id", "capacity"]],
                    list(area_w["area_id"]),
                    method=method,
                )
                reach = np.minimum(np.nan_to_num(a), 1.0) if method != "coverage" else covered.astype(float)
                per_point["unmet"] = per_point["need"] * (1.0 - reach)
                per_point["nearest_m"] = nearest
                if nearest_min is not None:
                    per_point["nearest_min"] = nearest_min
                if demand_kind[t] != "need":
                    # The points carry the target group, not need: only relative measures are defined.
                    for col in ("need", "reachable_places", "unmet_need", "gap_score"):
                        table[col] = np.nan
                    per_point = per_point.rename(columns={"need": "target_size"}).assign(
                        need=np.nan, unmet=np.nan
                    )
                if key is not None:
                    _cache_put(_TYPE_CACHE, key, (table.copy(), per_point.copy()), _TYPE_CACHE_SIZE)
            if len(blank_ids):
                per_point = per_point.copy()
                blanked = [c for c in ("need", "access", "unmet", "target_size") if c in per_point.columns]
                per_point.loc[per_point["area_id"].isin(blank_ids), blanked] = np.nan
            point_rows.append(per_point.assign(service_type=t, geometry=pts.geometry.values))
        table = relative_scores(
            table,
            tax.target_size(t, pop).to_numpy(dtype=float),
            tax.standard_places(t, pop).to_numpy(dtype=float),
        )
        table = _mask_blank_areas(table, blank_ids)
        table.insert(1, "service_type", t)
        table.insert(2, "method", method)
        table.insert(3, "need_basis", tax.need_basis(t) if demand_kind[t] == "need" else "unknown")
        table.insert(4, "catchment_m", catchment if graph is None else np.nan)
        if graph is not None:
            table.insert(5, "catchment_min", catchment)
        rows.append(table)
        unit = "m" if graph is None else "min"
        logger.info("%s: %s, catchment %.0f %s", t, method, catchment, unit)
    if progress is not None:
        progress(total, total, "done")

    long = pd.concat(rows, ignore_index=True)
    makeup = composite_makeup(long, tax, pop, group_weights=config.weights)
    comp = composite_by_group(makeup)
    name_cols = [c for c in ("name", "name_sq", "name_sr", "name_en") if c in area_w.columns]
    base = area_w[["area_id", *name_cols, "geometry"]]
    table_gdf = gpd.GeoDataFrame(base.merge(long, on="area_id", how="right"), geometry="geometry", crs=crs)
    wide = long.pivot(index="area_id", columns="service_type", values="gap_score")
    wide = wide.reindex(columns=types).add_prefix("gap_score_").reset_index()
    areas_out = base.merge(pop[["area_id", "population"]], on="area_id").merge(comp, on="area_id")
    areas_out = gpd.GeoDataFrame(areas_out.merge(wide, on="area_id"), geometry="geometry", crs=crs)
    if point_rows:
        demand_gdf = gpd.GeoDataFrame(pd.concat(point_rows, ignore_index=True), geometry="geometry", crs=crs)
    else:
        demand_gdf = gpd.GeoDataFrame(
            {
                "area_id": [],
                "service_type": [],
                "need": [],
                "access": [],
                "covered": [],
                "unmet": [],
                "nearest_m": [],
            },
            geometry=[],
            crs=crs,
        )

    provenance.update(_provenance(tax, pop, types, config, crs.to_string(), long))
    provenance["capacity_unknown"] = capacity_unknown
    provenance["need_basis"] = {
        t: (
            "none"
            if demand_kind[t] == "none"
            else "relative"
            if demand_kind[t] != "need"
            else tax.need_basis(t)
        )
        for t in types
    }
    provenance.update(_cost_provenance(graph, config, long, off_network))
    provenance["population_unknown_areas"] = pop["area_id"][blank].astype(str).tolist()
    provenance["notes"] = notes
    for note in notes:
        logger.info(note)
    return Result(areas_out, table_gdf, demand_gdf, comp, svc_w, provenance, config, tax, graph, makeup, pop)


def _provenance(
    tax: Any, pop: pd.DataFrame, types: list[str], config: AnalysisConfig, crs: str, long: pd.DataFrame
) -> dict[str, Any]:
    years = sorted({str(y) for y in pop["year"].dropna()}) if "year" in pop.columns else []
    sources = (
        sorted({str(s) for s in pop["population_source"].dropna()})
        if "population_source" in pop.columns
        else []
    )
    estimated = (
        sorted(
            pop.loc[
                pop["population_is_estimate"].astype(str).str.lower().isin(["true", "1", "yes"]), "area_id"
            ]
        )
        if "population_is_estimate" in pop.columns
        else []
    )
    rates = {}
    for t in types:
        for g, r in tax.need_rates(t).items():
            tg = tax.target_group(g)
            rates[g] = {"rate": r, "estimate": tg.estimate, "sources": tax.citation(list(tg.sources))}
    methods = long.drop_duplicates("service_type").set_index("service_type")
    return {
        "taxonomy": f"{tax.name} ({tax.origin})",
        "population_year": ", ".join(years) or "unknown",
        "population_sources": sources,
        "population_estimated_areas": estimated,
        "rates": rates,
        "method": config.method,
        "methods_used": methods["method"].to_dict(),
        "catchment_m": methods["catchment_m"].to_dict(),
        "spreading": config.spreading
        + (f" ({config.cell_size_m:g} m cells)" if config.spreading == "grid" else ""),
        "crs": crs,
        "default_catchment_m": settings.default_catchment_m,
        "config": {k: (dict(v) if isinstance(v, Mapping) else v) for k, v in asdict(config).items()},
    }


def result_paths(out_dir: str | os.PathLike[str]) -> dict[str, Path]:
    """Return where :func:`socialmap.cli` writes a result's files in ``out_dir``."""
    out = Path(out_dir)
    return {"gpkg": out / "areas.gpkg", "csv": out / "areas.csv", "map": out / "map.html"}
