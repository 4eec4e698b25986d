"""
Scenarios side by side: before, after and delta per area and service type.

:func:`compare` sets two results side by side (a :class:`Comparison`), :func:`compare_many` several named
ones. Import them from :mod:`socialmap.scenario`, which re-exports them (its docstring says what a delta
means under each method).
"""

from __future__ import annotations

import os
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Literal

import geopandas as gpd
import pandas as pd

from socialmap.errors import SocialMapError
from socialmap.pipeline import Result

#: Metrics of ``Result.table`` compared before / after. Extensive: need, services, supply,
#: reachable_places, unmet_need; intensive: covered_share, access, gap_score.
COMPARED_METRICS = (
    "need",
    "services",
    "supply",
    "covered_share",
    "access",
    "reachable_places",
    "unmet_need",
    "gap_score",
)


_EXTENSIVE = ("need", "services", "supply", "reachable_places", "unmet_need")


@dataclass(frozen=True, eq=False)
class Comparison:
    """
    Two analysis results side by side.

    Attributes
    ----------
    table
        One row per area × service type: ``area_id``, ``name``, ``service_type`` and, for each metric of
        :data:`COMPARED_METRICS`, ``<metric>_before``, ``<metric>_after`` and ``<metric>_delta``
        (after − before).
    totals
        One row per service type, over all areas: extensive metrics summed, ``gap_score`` =
        100 × unmet_need / need of the sums, each before / after / delta.
    areas
        One row per area (GeoDataFrame, for a map): ``composite_gap_before/_after/_delta`` and, per
        service type ``s``, ``gap_score_delta_<s>`` and ``unmet_need_delta_<s>``.
    notes
        Why some deltas must be read with care (a method or catchment that differs between the runs).
    before, after
        The two results compared (for :meth:`published`).
    is_published
        Whether small counts of sensitive groups are already hidden (:meth:`published`).
    """

    table: pd.DataFrame
    totals: pd.DataFrame
    areas: gpd.GeoDataFrame
    notes: tuple[str, ...] = field(default_factory=tuple)
    before: Result | None = field(default=None, repr=False)
    after: Result | None = field(default=None, repr=False)
    is_published: bool = False

    def published(self, *, threshold: float | None = None) -> Comparison:
        """
        Return the comparison as it may be shown or written: small counts of sensitive groups hidden.

        Each side is hidden as :func:`socialmap.privacy.protect` hides its own result, a delta where
        either side is (:func:`socialmap.privacy.protect_comparison`).

        Raises
        ------
        SocialMapError
            If the comparison does not know the results it compares (not made by :func:`compare`).
        """
        if self.is_published:
            return self
        if self.before is None or self.after is None:
            raise SocialMapError(
                "This comparison does not know the results it compares, so its small counts cannot be "
                "hidden: make it with socialmap.scenario.compare(before, after)."
            )
        from socialmap.privacy import protect, protect_comparison

        out = protect_comparison(
            self, protect(self.before, threshold=threshold), protect(self.after, threshold=threshold)
        )
        return replace(out, before=None, after=None, is_published=True)

    def map_frame(self, service_type: str | None = None, metric: str = "gap_score") -> gpd.GeoDataFrame:
        """
        Return one row per area with ``<metric>_before``, ``_after`` and ``_delta`` for a map.

        Parameters
        ----------
        service_type
            The type to map; ``None`` maps the composite gap.
        metric
            One of :data:`COMPARED_METRICS` (ignored for the composite).
        """
        geo = self.areas[["area_id", *[c for c in ("name",) if c in self.areas.columns], "geometry"]]
        if service_type is None:
            cols = ["composite_gap_before", "composite_gap_after", "composite_gap_delta"]
            return gpd.GeoDataFrame(geo.join(self.areas[cols]), geometry="geometry", crs=self.areas.crs)
        types = list(self.table["service_type"].unique())
        if service_type not in types:
            raise SocialMapError(f"No comparison for service type {service_type!r}; compared: {types}.")
        if metric not in COMPARED_METRICS:
            raise SocialMapError(f"`metric` must be one of {', '.join(COMPARED_METRICS)}; got {metric!r}.")
        part = self.table[self.table["service_type"] == service_type]
        cols = [f"{metric}_before", f"{metric}_after", f"{metric}_delta"]
        out = geo.merge(part[["area_id", *cols]], on="area_id", how="left")
        return gpd.GeoDataFrame(out, geometry="geometry", crs=self.areas.crs)

    def write(self, path: str | os.PathLike[str]) -> Path:
        """
        Write the comparison: ``.csv`` (the area × type table) or ``.xlsx`` (sheets areas, totals, notes).

        Written atomically; text that a spreadsheet would run as a formula is neutralised. Small counts
        of sensitive groups are hidden (:meth:`published`): the file shows ``"<5"`` / ``"[c]"`` there.
        """
        from socialmap.privacy import marked
        from socialmap.writers import write_csv, write_xlsx

        target = Path(path)
        suffix = target.suffix.lower()
        if suffix not in (".csv", ".xlsx"):
            raise SocialMapError(f"Write a comparison as .csv or .xlsx; got {target.name!r}.")
        shown = self.published()
        table, totals = marked(shown.table), marked(shown.totals)
        if suffix == ".csv":
            return write_csv(table, target)
        notes = pd.DataFrame({"note": list(self.notes)})
        return write_xlsx({"areas": table, "totals": totals, "notes": notes}, target)


def _check_comparable(results: Mapping[str, Result]) -> list[str]:
    items = list(results.items())
    for label, res in items:
        if not isinstance(res, Result):
            raise SocialMapError(f"`{label}` must be an analysis Result; got {type(res).__name__}.")
    first_label, first = items[0]
    ids = set(first.areas["area_id"])
    types = list(first.table["service_type"].drop_duplicates())
    notes = []
    for label, res in items[1:]:
        other = set(res.areas["area_id"])
        if other != ids:
            diff = sorted(ids ^ other)[:5]
            raise SocialMapError(
                f"`{first_label}` and `{label}` cover different areas (e.g. {diff}); compare results of the "
                "same areas."
            )
        other_types = list(res.table["service_type"].drop_duplicates())
        if set(other_types) != set(types):
            raise SocialMapError(
                f"`{first_label}` analysed service types {types} but `{label}` {other_types}; "
                "analyse the same types (AnalysisConfig.service_types)."
            )
        if first.provenance.get("cost", "euclidean") != res.provenance.get("cost", "euclidean"):
            notes.append(
                f"the cost differs ({first.provenance.get('cost', 'euclidean')} in {first_label}, "
                f"{res.provenance.get('cost', 'euclidean')} in {label}), so the deltas mix two measures."
            )
        for key, what in (
            ("methods_used", "method"),
            ("catchment_m", "catchment"),
            ("catchment_min", "catchment"),
        ):
            a = first.provenance.get(key, {})
            b = res.provenance.get(key, {})
            for t in types:
                if a.get(t) != b.get(t):
                    notes.append(
                        f"{t}: the {what} differs ({a.get(t)} in {first_label}, {b.get(t)} in {label}), "
                        "so its deltas mix two measures."
                    )
    return notes


def _long(res: Result) -> pd.DataFrame:
    cols = ["area_id", *[c for c in ("name",) if c in res.table.columns], "service_type", *COMPARED_METRICS]
    return pd.DataFrame(res.table[cols])


def _totals(res: Result) -> pd.DataFrame:
    t = pd.DataFrame(res.table[["service_type", *_EXTENSIVE]])
    out = t.groupby("service_type", sort=False).sum(min_count=1)
    out["gap_score"] = 100.0 * out["unmet_need"] / out["need"].where(out["need"] > 0)
    return out


def compare(before: Result, after: Result) -> Comparison:
    """
    Compare two analysis results of the same areas and service types (e.g. before and after a scenario).

    Parameters
    ----------
    before, after
        Results of :func:`socialmap.pipeline.analyze`.

    Returns
    -------
    comparison
        A :class:`Comparison`: per area × type, per type (totals), per area (for maps), and notes.

    Raises
    ------
    SocialMapError
        The results cover different areas or service types.
    """
    notes = _check_comparable({"before": before, "after": after})
    b, a = _long(before), _long(after)
    keys = ["area_id", "service_type"]
    merged = b.merge(a.drop(columns=["name"], errors="ignore"), on=keys, suffixes=("_before", "_after"))
    for m in COMPARED_METRICS:
        merged[f"{m}_delta"] = merged[f"{m}_after"] - merged[f"{m}_before"]
    order = [c for c in ("area_id", "name", "service_type") if c in merged.columns]
    for m in COMPARED_METRICS:
        order += [f"{m}_before", f"{m}_after", f"{m}_delta"]
    table = merged[order].reset_index(drop=True)

    tb, ta = _totals(before), _totals(after).reindex(_totals(before).index)
    totals = pd.DataFrame(index=tb.index)
    for m in (*_EXTENSIVE, "gap_score"):
        totals[f"{m}_before"] = tb[m]
        totals[f"{m}_after"] = ta[m]
        totals[f"{m}_delta"] = ta[m] - tb[m]
    totals = totals.reset_index()

    comp_b = before.composite.set_index("area_id")["composite_gap"]
    comp_a = after.composite.set_index("area_id")["composite_gap"].reindex(comp_b.index)
    geo_cols = ["area_id", *[c for c in ("name",) if c in before.areas.columns], "geometry"]
    areas = before.areas[geo_cols].copy()
    areas["composite_gap_before"] = areas["area_id"].map(comp_b).astype(float)
    areas["composite_gap_after"] = areas["area_id"].map(comp_a).astype(float)
    areas["composite_gap_delta"] = areas["composite_gap_after"] - areas["composite_gap_before"]
    for m in ("gap_score", "unmet_need"):
        wide = table.pivot(index="area_id", columns="service_type", values=f"{m}_delta")
        for t in wide.columns:
            areas[f"{m}_delta_{t}"] = areas["area_id"].map(wide[t]).astype(float)
    return Comparison(
        table,
        totals,
        gpd.GeoDataFrame(areas, geometry="geometry", crs=before.areas.crs),
        tuple(notes),
        before=before,
        after=after,
    )


def compare_many(
    results: Mapping[str, Result],
    *,
    base: str | None = None,
    metrics: Sequence[str] = ("gap_score", "unmet_need"),
    level: Literal["area", "total"] = "area",
) -> pd.DataFrame:
    """
    Put several named results side by side (e.g. a base and some scenarios).

    Parameters
    ----------
    results
        Name → :class:`socialmap.pipeline.Result`, all of the same areas and service types.
    base
        The name deltas are taken against; default the first.
    metrics
        Metrics of :data:`COMPARED_METRICS` to show.
    level
        ``"area"``: one row per area × service type; ``"total"``: one row per service type (extensive
        metrics summed, ``gap_score`` from the sums; intensive metrics other than ``gap_score`` are not
        available at this level).

    Returns
    -------
    table
        The key columns, then for each metric ``<metric> [<name>]`` for every result and
        ``<metric> Δ [<name>]`` (minus the base) for every other one.

    Raises
    ------
    SocialMapError
        Fewer than two results, an unknown base or metric, results of different areas or types.
    """
    if len(results) < 2:
        raise SocialMapError("compare_many() needs at least two named results.")
    names = list(results)
    base = names[0] if base is None else base
    if base not in results:
        raise SocialMapError(f"`base` {base!r} is not one of the results {names}.")
    bad = [m for m in metrics if m not in COMPARED_METRICS]
    if bad:
        raise SocialMapError(f"Unknown metric(s) {bad}; choose from {list(COMPARED_METRICS)}.")
    if level not in ("area", "total"):
        raise SocialMapError(f"`level` must be 'area' or 'total'; got {level!r}.")
    if level == "total":
        bad = [m for m in metrics if m not in (*_EXTENSIVE, "gap_score")]
        if bad:
            raise SocialMapError(f"Metric(s) {bad} are intensive and have no total; use level='area'.")
    _check_comparable({base: results[base], **{n: r for n, r in results.items() if n != base}})
    keys = ["area_id", "service_type"] if level == "area" else ["service_type"]
    frames = {n: (_long(r).set_index(keys) if level == "area" else _totals(r)) for n, r in results.items()}
    out = frames[base][[c for c in ("name",) if c in frames[base].columns]].copy()
    for m in metrics:
        for n in names:
            out[f"{m} [{n}]"] = frames[n][m].reindex(out.index)
        for n in names:
            if n != base:
                out[f"{m} Δ [{n}]"] = out[f"{m} [{n}]"] - out[f"{m} [{base}]"]
    return out.reset_index()
