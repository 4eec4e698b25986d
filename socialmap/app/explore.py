"""
What the Explore tab shows of a result: the selection, its rows, the ranking and the headline.

The widgets on screen make a :class:`Selection` (service type, target group, metric, classification,
basemap, language); :func:`selection_frame` gives one row per area for it, :func:`ranking_table`
ranks them and :func:`headline` sums them up. The choices come from the taxonomy
(:func:`service_type_options`, :func:`target_group_options`, :func:`choice_label`); small counts are
hidden before anything is shown (:func:`privacy_note` says so). Intensive values (gap scores,
shares) of several areas are combined as ratios of extensive sums, never averaged.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import geopandas as gpd
import numpy as np
import pandas as pd

from socialmap import i18n
from socialmap.app.labels import _SHARES, ALL_GROUPS, ALL_TYPES, BASEMAPS, METRICS, label
from socialmap.app.runner import _protected, published
from socialmap.errors import SocialMapError
from socialmap.i18n import format_number, t

if TYPE_CHECKING:
    from socialmap.pipeline import Result
    from socialmap.taxonomy import Taxonomy


@dataclass(frozen=True)
class Selection:
    """
    What is on screen.

    Attributes
    ----------
    service_type
        A service-type key, or :data:`ALL_TYPES` for the composite gap of the types in scope.
    metric
        One of :data:`METRICS` for a service type; ``"composite_gap"`` for :data:`ALL_TYPES`.
    target_group
        A target-group key: only the service types serving it are in scope; ``None`` (or
        :data:`ALL_GROUPS`) for all.
    scheme
        Map classification scheme (:data:`socialmap.gaps.SCHEMES`).
    k
        Number of map classes.
    basemap
        A key of :data:`BASEMAPS`.
    lang
        Language of labels and names (``en``, ``sq``, ``sr``).
    cells
        Whether the map (and its GeoPackage download) adds the demand cells of the chosen service
        type: unmet need and distance to the nearest service per cell (:func:`selection_cells`).
    """

    service_type: str = ALL_TYPES
    metric: str = "composite_gap"
    target_group: str | None = None
    scheme: str = "quantiles"
    k: int = 5
    basemap: str = "plain"
    lang: str = "en"
    cells: bool = False

    def __post_init__(self) -> None:
        if self.target_group == ALL_GROUPS:
            object.__setattr__(self, "target_group", None)
        allowed = metric_options(self.service_type)
        if self.metric not in allowed:
            raise SocialMapError(
                f"metric {self.metric!r} cannot be shown for service type {self.service_type!r}; "
                f"choose one of {list(allowed)}."
            )
        if self.basemap not in BASEMAPS:
            raise SocialMapError(f"basemap {self.basemap!r} is not one of {list(BASEMAPS)}.")


def metric_options(service_type: str) -> tuple[str, ...]:
    """Metrics that can be shown for a service-type choice (the composite gap for all types)."""
    return ("composite_gap",) if service_type == ALL_TYPES else METRICS


def target_group_options(taxonomy: Taxonomy) -> list[str]:
    """Target-group choices: :data:`ALL_GROUPS`, then the groups some service type serves."""
    served = {g for st in taxonomy.service_types.values() for g in st.target_groups}
    return [ALL_GROUPS, *(g for g in taxonomy.target_group_keys if g in served)]


def types_in_scope(taxonomy: Taxonomy, target_group: str | None = None) -> list[str]:
    """Service types serving a target group (all types for ``None``), in taxonomy order."""
    if target_group is None or target_group == ALL_GROUPS:
        return list(taxonomy.service_type_keys)
    taxonomy.target_group(target_group)  # raises, naming the known groups, if unknown
    return [k for k, st in taxonomy.service_types.items() if target_group in st.target_groups]


def service_type_options(taxonomy: Taxonomy, target_group: str | None = None) -> list[str]:
    """Service-type choices: :data:`ALL_TYPES`, then the types in scope."""
    return [ALL_TYPES, *types_in_scope(taxonomy, target_group)]


def choice_label(key: str | None, taxonomy: Taxonomy, lang: str | None = None) -> str:
    """Display label of a service-type or target-group choice (including "all")."""
    if key is None or key == ALL_GROUPS:
        return t("All target groups", lang)
    if key == ALL_TYPES:
        return t("All service types (composite gap)", lang)
    return taxonomy.label(key, lang)


def area_names(areas: pd.DataFrame, lang: str | None = None) -> pd.Series:
    """Names of areas (or services) in a language as text: :func:`socialmap.i18n.area_names`."""
    return i18n.area_names(areas, lang).astype(str)


def area_options(result: Result, lang: str | None = None) -> dict[str, str]:
    """Area id → name in ``lang``, sorted by name (for a picker)."""
    names = area_names(result.areas, lang)
    pairs = sorted(zip(result.areas["area_id"].astype(str), names, strict=True), key=lambda p: p[1].lower())
    return dict(pairs)


def _weights(result: Result, taxonomy: Taxonomy) -> dict[str, float]:
    return taxonomy.composite_weights()


def composite_for(result: Result, service_types: Sequence[str], taxonomy: Taxonomy) -> pd.DataFrame:
    """
    Composite gap of some service types (those serving one target group, say), ranked.

    Parameters
    ----------
    result
        The analysis.
    service_types
        The types to combine, with the analysis' weights (or the taxonomy's).
    taxonomy
        Supplies the weights when the analysis used the taxonomy's.

    Returns
    -------
    composite
        One row per area: ``area_id``, ``composite_gap``, ``types_scored``, ``rank``
        (see :func:`socialmap.gaps.composite_gap`).
    """
    result = published(result, taxonomy)  # the one rule: every figure shown is a published one
    from socialmap.gaps import composite_by_group, composite_gap

    if result.makeup is not None:
        # The composite weighs target groups (people), as the analysis' own composite does.
        part = result.makeup[result.makeup["service_type"].isin(list(service_types))]
        if not part.empty:
            return composite_by_group(part)
    weights = _weights(result, taxonomy)
    table = result.table[result.table["service_type"].isin(list(service_types))]
    scoped = {k: float(weights.get(k, 1.0)) for k in service_types}
    if table.empty:
        ids = result.areas["area_id"]
        return pd.DataFrame({"area_id": ids, "composite_gap": np.nan, "types_scored": 0, "rank": np.nan})
    return composite_gap(pd.DataFrame(table.drop(columns="geometry")), weights=scoped)


def scored_types(result: Result, service_types: Sequence[str], area_id: str | None = None) -> list[str]:
    """Return the service types among ``service_types`` with a gap score (in ``area_id``, or anywhere)."""
    table = result.table[result.table["service_type"].isin(list(service_types))]
    if area_id is not None:
        table = table[table["area_id"].astype(str) == str(area_id)]
    scored = set(table.loc[table["gap_score"].notna(), "service_type"].astype(str))
    return [k for k in service_types if k in scored]


def score_label(
    result: Result,
    service_types: Sequence[str],
    taxonomy: Taxonomy,
    lang: str | None = None,
    *,
    area_id: str | None = None,
) -> str:
    """
    Name the score of several service types: "Composite gap score (%)", unless only one is scored.

    A composite of one scored type is that type's gap score, and says so ("Gap score (%): Day
    care for persons with disabilities").
    """
    scored = scored_types(result, service_types, area_id)
    if len(scored) == 1:
        return f"{label('gap_score', lang)}: {taxonomy.label(scored[0], lang)}"
    return label("composite_gap", lang)


def selection_frame(result: Result, selection: Selection, taxonomy: Taxonomy) -> gpd.GeoDataFrame:
    """
    One row per area with the figures of the selection, ranked (1 = largest gap).

    Parameters
    ----------
    result
        The analysis.
    selection
        What is on screen.
    taxonomy
        Service types and target groups.

    Returns
    -------
    gdf
        ``area_id``, ``name`` (in the selection's language), ``population``, then for a service
        type: ``need``, ``services``, ``supply``, ``supply_per_10k``, ``covered_share``,
        ``access``, ``unmet_need``, ``gap_score``, ``rank`` (by gap score); for all types:
        ``composite_gap``, ``types_scored``, ``rank`` and ``gap_score_<type>`` of each type in
        scope. Sorted by rank (areas without a score last), in the analysis' CRS.
    """
    result = published(result, taxonomy)  # the one rule: every figure shown is a published one
    from socialmap.gaps import rank_areas

    areas = result.areas
    base = pd.DataFrame(
        {
            "area_id": areas["area_id"].astype(str).to_numpy(),
            "name": area_names(areas, selection.lang).to_numpy(),
            "population": areas["population"].to_numpy(),
        }
    )
    if selection.service_type == ALL_TYPES:
        types = types_in_scope(taxonomy, selection.target_group)
        comp = composite_for(result, types, taxonomy)
        out = base.merge(comp[["area_id", "composite_gap", "types_scored", "rank"]], on="area_id", how="left")
        for st in types:
            col = f"gap_score_{st}"
            if col in areas.columns:
                out[col] = areas[col].to_numpy()
    else:
        rows = result.for_service_type(selection.service_type)
        metrics = pd.DataFrame(rows.drop(columns="geometry"))[["area_id", *METRICS]]
        metrics["area_id"] = metrics["area_id"].astype(str)
        metrics = _hide_small_counts(metrics, result, selection.service_type, taxonomy)
        out = base.merge(metrics, on="area_id", how="left")
        out["rank"] = rank_areas(out["gap_score"])
    out = out.sort_values(["rank", "name"], na_position="last", kind="stable")
    geometry = areas.set_index(areas["area_id"].astype(str)).geometry.reindex(out["area_id"])
    return gpd.GeoDataFrame(out.reset_index(drop=True), geometry=geometry.to_numpy(), crs=areas.crs)


def _hidden_cells(
    result: Result, taxonomy: Taxonomy, service_types: Iterable[str]
) -> frozenset[tuple[str, str]]:
    """Return the ``(area_id, service_type)`` cells of ``service_types`` that protect() hides."""
    from socialmap.privacy import sensitive_service_types

    wanted = set(service_types) & set(sensitive_service_types(taxonomy))
    if not wanted:
        return frozenset()
    table = _protected(result, taxonomy).table
    rows = table[(table["suppression"].astype(str) != "") & table["service_type"].isin(wanted)]
    return frozenset(zip(rows["area_id"].astype(str), rows["service_type"].astype(str), strict=True))


def _hide_small_counts(
    metrics: pd.DataFrame, result: Result, service_type: str | None, taxonomy: Taxonomy
) -> pd.DataFrame:
    """
    Blank the counts :func:`socialmap.privacy.protect` hides for service types of sensitive groups.

    The app shows and downloads what an export would publish: for a service type serving a
    sensitive group (victims of violence…), counts below the threshold, and the cells that would
    give them back, are NaN (shown as "–"). ``metrics`` has ``area_id`` and either a
    ``service_type`` column or is all of ``service_type``. Other types are returned unchanged.
    """
    from socialmap.privacy import SUPPRESSED_COLUMNS

    kinds = (
        metrics["service_type"].astype(str)
        if "service_type" in metrics.columns
        else pd.Series(str(service_type), metrics.index)
    )
    hidden_cells = _hidden_cells(result, taxonomy, set(kinds))
    if not hidden_cells:
        return metrics
    hidden = [(str(a), k) in hidden_cells for a, k in zip(metrics["area_id"], kinds, strict=True)]
    cols = [c for c in SUPPRESSED_COLUMNS if c in metrics.columns]
    out = metrics.copy()
    out.loc[hidden, cols] = np.nan
    return out


def privacy_note(selection: Selection, taxonomy: Taxonomy) -> str | None:
    """Say, in the selection's language, that small counts are hidden, when the type is sensitive."""
    from socialmap import settings
    from socialmap.privacy import sensitive_service_types

    if selection.service_type not in sensitive_service_types(taxonomy):
        return None
    return t(
        "This service type serves a sensitive group: counts below {n} (and those that would give them "
        "away) are hidden (–), on the map, in the tables and in the downloads; its sites are never shown.",
        selection.lang,
        n=format_number(settings.suppression_threshold, selection.lang, decimals=0),
    )


def _display_columns(selection: Selection, frame: pd.DataFrame, taxonomy: Taxonomy) -> dict[str, str]:
    lang = selection.lang
    # The score the ranking is by comes right after the name (on a phone, the first columns show).
    if selection.service_type == ALL_TYPES:
        cols = {c: label(c, lang) for c in ("rank", "name", "composite_gap", "population", "types_scored")}
        for c in frame.columns:
            if c.startswith("gap_score_"):
                cols[c] = t("Gap (%): {type}", lang, type=taxonomy.label(c[len("gap_score_") :], lang))
        return cols
    keys = ("rank", "name", "gap_score", "population", *(m for m in METRICS if m != "gap_score"))
    return {c: label(c, lang) for c in keys}


def ranking_table(result: Result, selection: Selection, taxonomy: Taxonomy) -> pd.DataFrame:
    """
    Return the ranking of areas for the selection, as shown: labelled columns, largest gap first.

    Parameters
    ----------
    result
        The analysis.
    selection
        What is on screen.
    taxonomy
        Service types and target groups (for labels and scope).

    Returns
    -------
    table
        The columns of :func:`selection_frame` (without geometry and ids) under translated labels;
        shares are in percent.
    """
    frame = pd.DataFrame(selection_frame(result, selection, taxonomy).drop(columns="geometry"))
    for col in _SHARES:
        if col in frame.columns:
            frame[col] = frame[col] * 100
    cols = _display_columns(selection, frame, taxonomy)
    return frame[list(cols)].rename(columns=cols).reset_index(drop=True)


def headline(result: Result, selection: Selection, taxonomy: Taxonomy) -> dict[str, Any]:
    """
    Overall figures of the selection, summed over areas.

    Returns
    -------
    figures
        ``areas``; for a service type ``need``, ``supply``, ``services``, ``unmet_need`` (sums,
        extensive) and ``gap_score`` = 100 × Σ unmet need / Σ need (intensive, from the sums);
        for all types ``composite_gap`` = median over areas and ``types`` in scope.
    """
    result = published(result, taxonomy)  # the one rule: every figure shown is a published one
    frame = selection_frame(result, selection, taxonomy)
    out: dict[str, Any] = {"areas": len(frame)}
    if selection.service_type == ALL_TYPES:
        out["composite_gap"] = float(frame["composite_gap"].median())
        out["types"] = len(types_in_scope(taxonomy, selection.target_group))
        return out
    if _hidden_cells(result, taxonomy, [selection.service_type]):
        # Some counts are hidden: a sum of the others would be wrong, and a national figure could
        # give them back. Show the national totals as an export publishes them (NaN where hidden).
        totals = _protected(result, taxonomy).totals.set_index("service_type").loc[selection.service_type]
        for col in ("need", "supply", "services", "unmet_need", "gap_score"):
            out[col] = float(totals[col]) if pd.notna(totals[col]) else np.nan
        return out
    for col in ("need", "supply", "services", "unmet_need"):
        out[col] = float(frame[col].sum(min_count=1))
    need = frame["need"].where(frame["need"] > 0)
    scored = need.notna() & frame["unmet_need"].notna()
    total = float(need[scored].sum())
    out["gap_score"] = 100 * float(frame.loc[scored, "unmet_need"].sum()) / total if total > 0 else np.nan
    return out
