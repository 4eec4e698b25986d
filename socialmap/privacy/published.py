"""The published result: what a map, a table or a brief may show of a protected result."""

from __future__ import annotations

import math
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING, Any, Literal

import numpy as np
import pandas as pd

from socialmap.privacy.protected import COMPOSITE_COLUMNS, SAFE_COLUMNS, Protected

if TYPE_CHECKING:
    import geopandas as gpd

    from socialmap.pipeline import Result
    from socialmap.taxonomy import Taxonomy


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
