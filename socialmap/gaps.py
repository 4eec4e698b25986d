"""Gap scores across service types: the composite gap, ranks, and classes for maps.

The composite weighs **people, not service types** (:func:`composite_makeup`,
:func:`group_gaps`, :func:`composite_by_group`): each target group has a weight (the taxonomy's
``target_groups.*.weight``, 1 when blank, or the user's), and its gap is the share of its people's
need left unmet over every service type that serves it (Σ unmet / Σ need: home care and
residential care of the 65+ together make one gap of the older people, so older people weigh as
much as any other group, however many types serve them). The composite of an area is the weighted
mean of its groups' gaps, never a sum. A group whose need is unknown is not silently dropped: it is
listed as unknown, with the share of the weight it holds (``weight_unknown``).

:func:`composite_gap` is the older weighted mean per service type, kept for combining a few types.

:func:`honest_classes` wraps :func:`classify` for maps: the legend shows the values' real range,
and when they span only a few points it says so and uses one class instead of five.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np
import pandas as pd

from socialmap.errors import SocialMapError

#: Classification schemes for choropleth maps (names as in mapclassify).
SCHEMES = ("quantiles", "natural_breaks", "fisher_jenks", "equal_interval")


def composite_gap(
    table: pd.DataFrame,
    *,
    weights: Mapping[str, float] | None = None,
    value: str = "gap_score",
) -> pd.DataFrame:
    """
    Combine per-service-type gap scores into one score per area, and rank the areas.

    Parameters
    ----------
    table
        Long table with ``area_id``, ``service_type`` and ``value`` (one row per area × type).
    weights
        Weight per service type (≥ 0); ``None`` weighs every type equally. Types absent from
        ``weights`` get weight 0 (left out).
    value
        The intensive column to combine.

    Returns
    -------
    gaps
        One row per area: ``area_id``, ``composite_gap`` (weighted mean of ``value`` over the types
        where it is defined; NaN if none is), ``types_scored`` (how many types contributed) and
        ``rank`` (1 = largest composite gap; areas without a score rank last, as NaN).

    Examples
    --------
    >>> t = pd.DataFrame({"area_id": ["a", "a", "b", "b"], "service_type": ["x", "y", "x", "y"],
    ...                   "gap_score": [10.0, 50.0, 40.0, float("nan")]})
    >>> composite_gap(t, weights={"x": 1, "y": 3})[["area_id", "composite_gap", "rank"]].values.tolist()
    [['a', 40.0, 1.0], ['b', 40.0, 1.0]]
    """
    for col in ("area_id", "service_type", value):
        if col not in table.columns:
            raise SocialMapError(f"`table` is missing column {col!r}; found {list(table.columns)}.")
    types = table["service_type"].astype(str)
    if weights is None:
        w = pd.Series(1.0, index=table.index)
    else:
        bad = {k: v for k, v in weights.items() if not np.isfinite(v) or v < 0}
        if bad:
            raise SocialMapError(f"weights must be finite numbers ≥ 0; got {bad}.")
        w = types.map(lambda t: float(weights.get(t, 0.0)))
    v = pd.to_numeric(table[value], errors="coerce")
    used = v.notna() & (w > 0)
    frame = pd.DataFrame(
        {"area_id": table["area_id"], "wv": (w * v).where(used, 0.0), "w": w.where(used, 0.0), "n": used}
    )
    agg = frame.groupby("area_id", sort=False).sum()
    out = pd.DataFrame(
        {
            "area_id": agg.index,
            "composite_gap": (agg["wv"] / agg["w"].where(agg["w"] > 0)).to_numpy(),
            "types_scored": agg["n"].astype("int64").to_numpy(),
        }
    )
    out["rank"] = out["composite_gap"].rank(ascending=False, method="min")
    return out


#: Columns of :func:`composite_makeup`.
MAKEUP_COLUMNS = ("area_id", "target_group", "service_type", "weight", "need", "unmet", "need_known")

#: Columns of :func:`group_gaps`.
GROUP_GAP_COLUMNS = (
    "area_id",
    "target_group",
    "weight",
    "need",
    "unmet",
    "gap",
    "types",
    "types_unknown",
    "status",
    "weight_share",
)


def composite_makeup(
    table: pd.DataFrame,
    taxonomy: Any,
    population: pd.DataFrame,
    *,
    group_weights: Mapping[str, float] | None = None,
) -> pd.DataFrame:
    """
    Split each area's need and unmet need per service type into the target groups it serves.

    Parameters
    ----------
    table
        Long table with ``area_id``, ``service_type``, ``need`` and ``unmet_need`` (one row per area ×
        type, e.g. :attr:`socialmap.pipeline.Result.table`); NaN need = unknown.
    taxonomy
        The :class:`socialmap.taxonomy.Taxonomy` (need rates, groups, weights).
    population
        ``area_id``, ``population`` and group-count columns, as given to the analysis.
    group_weights
        Weight per target group (≥ 0); ``None`` = the taxonomy's
        (:meth:`~socialmap.taxonomy.Taxonomy.group_weights`). Groups not listed get weight 0.

    Returns
    -------
    makeup
        One row per area × target group × service type (:data:`MAKEUP_COLUMNS`): the group's part
        of the type's need (group size × need rate; a need from a planning standard is shared equally
        among the type's groups) and of its unmet need (in the same proportion: within an area every
        group of a type is spread over the same demand points), and whether it is known.
    """
    for col in ("area_id", "service_type", "need", "unmet_need"):
        if col not in table.columns:
            raise SocialMapError(f"`table` is missing column {col!r}; found {list(table.columns)}.")
    weights = dict(taxonomy.group_weights()) if group_weights is None else dict(group_weights)
    bad = {k: v for k, v in weights.items() if not (isinstance(v, int | float) and np.isfinite(v) and v >= 0)}
    if bad:
        raise SocialMapError(f"group weights must be finite numbers ≥ 0; got {bad}.")
    strangers = sorted(set(weights) - set(taxonomy.target_group_keys))
    if strangers:
        raise SocialMapError(
            f"weights are per target group; {strangers} are not target groups of the taxonomy "
            f"({', '.join(taxonomy.target_group_keys)})."
        )
    pop = population.reset_index(drop=True)
    pop_ids = pop["area_id"].astype(str).to_numpy()
    parts = []
    for t, rows in table.groupby("service_type", sort=False):
        rows = rows.set_index(rows["area_id"].astype(str))
        need_t = pd.to_numeric(rows["need"], errors="coerce")
        unmet_t = pd.to_numeric(rows["unmet_need"], errors="coerce")
        st = taxonomy.service_type(str(t))
        basis = taxonomy.need_basis(str(t))
        for g in st.target_groups:
            if basis in ("rate", "whole_group"):
                share = taxonomy.need_share(str(t), g)
                count = taxonomy.group_count(g, pop)
                need_g = pd.Series((count * float(share)).to_numpy(), index=pop_ids).reindex(rows.index)
            else:
                need_g = need_t / len(st.target_groups)
            need_g = need_g.where(need_t.notna())
            frac = (need_g / need_t.where(need_t > 0)).fillna(0.0)
            parts.append(
                pd.DataFrame(
                    {
                        "area_id": rows.index.to_numpy(),
                        "target_group": g,
                        "service_type": str(t),
                        "weight": float(weights.get(g, 0.0)),
                        "need": need_g.to_numpy(dtype=float),
                        "unmet": (unmet_t * frac).where(need_g.notna()).to_numpy(dtype=float),
                        "need_known": need_g.notna().to_numpy(),
                    }
                )
            )
    if not parts:
        return pd.DataFrame({c: [] for c in MAKEUP_COLUMNS})
    return pd.concat(parts, ignore_index=True)[list(MAKEUP_COLUMNS)]


def group_gaps(makeup: pd.DataFrame) -> pd.DataFrame:
    """
    Gap of each target group in each area: the share of its people's need left unmet.

    Parameters
    ----------
    makeup
        A table from :func:`composite_makeup`.

    Returns
    -------
    gaps
        One row per area × target group (:data:`GROUP_GAP_COLUMNS`): ``need`` and ``unmet`` summed
        over the known service types serving the group, ``gap`` = 100 × unmet / need (NaN when the
        need is unknown or 0), ``types`` / ``types_unknown`` (how many types serve it, how many of
        them with unknown need), ``status`` (``"scored"``, ``"partly unknown"``: some types' need
        unknown, ``"unknown"``: no type's need known, or ``"no need"``) and ``weight_share`` (the
        group's share of the weights of the area's scored groups: its part in the composite).

    Examples
    --------
    >>> m = pd.DataFrame({"area_id": ["a"] * 3, "target_group": ["old", "old", "victims"],
    ...                   "service_type": ["home", "resid", "shelter"], "weight": [1.0, 1.0, 1.0],
    ...                   "need": [60.0, 40.0, float("nan")], "unmet": [30.0, 40.0, float("nan")],
    ...                   "need_known": [True, True, False]})
    >>> group_gaps(m)[["target_group", "gap", "status", "weight_share"]].values.tolist()
    [['old', 70.0, 'scored', 1.0], ['victims', nan, 'unknown', nan]]
    """
    frame = makeup.assign(
        need_k=makeup["need"].where(makeup["need_known"], 0.0).astype(float),
        unmet_k=makeup["unmet"].where(makeup["need_known"], 0.0).astype(float),
        unknown=~makeup["need_known"].astype(bool),
    )
    agg = frame.groupby(["area_id", "target_group"], sort=False).agg(
        weight=("weight", "first"),
        need=("need_k", "sum"),
        unmet=("unmet_k", "sum"),
        types=("service_type", "size"),
        types_unknown=("unknown", "sum"),
    )
    agg = agg.reset_index()
    known_types = agg["types"] - agg["types_unknown"]
    agg["need"] = agg["need"].where(known_types > 0)
    agg["unmet"] = agg["unmet"].where(known_types > 0)
    agg["gap"] = (100.0 * agg["unmet"] / agg["need"].where(agg["need"] > 0)).clip(upper=100.0)
    status = np.where(
        known_types == 0,
        "unknown",
        np.where(agg["need"] > 0, np.where(agg["types_unknown"] > 0, "partly unknown", "scored"), "no need"),
    )
    agg["status"] = status
    scored = agg["gap"].notna() & (agg["weight"] > 0)
    total = agg["weight"].where(scored, 0.0).groupby(agg["area_id"]).transform("sum")
    agg["weight_share"] = (agg["weight"] / total.where(total > 0)).where(scored)
    agg["types"] = agg["types"].astype("int64")
    agg["types_unknown"] = agg["types_unknown"].astype("int64")
    return agg[list(GROUP_GAP_COLUMNS)]


def composite_by_group(makeup: pd.DataFrame) -> pd.DataFrame:
    """
    Combine the target groups' gaps into one score per area (people, not types), and rank.

    Parameters
    ----------
    makeup
        A table from :func:`composite_makeup`.

    Returns
    -------
    composite
        One row per area: ``composite_gap`` (weighted mean of the scored groups' gaps, NaN when none
        is scored), ``groups_scored``, ``groups_unknown`` (groups with weight > 0 whose need is
        unknown, listed in :func:`group_gaps`), ``weight_unknown`` (their share of the weight of
        all groups with weight > 0 and need or unknown need there, 0–1), ``types_scored`` and
        ``types_unknown`` (service types with a gap / with unknown need), ``rank`` (1 = largest).

    Examples
    --------
    >>> m = pd.DataFrame({"area_id": ["a", "a", "a"], "target_group": ["old", "old", "victims"],
    ...                   "service_type": ["home", "resid", "shelter"], "weight": [1.0, 1.0, 1.0],
    ...                   "need": [60.0, 40.0, float("nan")], "unmet": [30.0, 40.0, float("nan")],
    ...                   "need_known": [True, True, False]})
    >>> c = composite_by_group(m)
    >>> c[["composite_gap", "groups_scored", "groups_unknown", "weight_unknown"]].values.tolist()
    [[70.0, 1.0, 1.0, 0.5]]
    """
    gaps = group_gaps(makeup)
    w = gaps["weight"]
    scored = gaps["gap"].notna() & (w > 0)
    unknown = gaps["status"].eq("unknown") & (w > 0)
    relevant = (scored | unknown).astype(bool)
    frame = pd.DataFrame(
        {
            "area_id": gaps["area_id"],
            "wv": (w * gaps["gap"]).where(scored, 0.0),
            "w": w.where(scored, 0.0),
            "n": scored,
            "u": unknown,
            "wu": w.where(unknown, 0.0),
            "wr": w.where(relevant, 0.0),
        }
    )
    agg = frame.groupby("area_id", sort=False).sum()
    need_t = makeup.groupby(["area_id", "service_type"], sort=False).agg(
        need=("need", "sum"), known=("need_known", "all")
    )
    need_t = need_t.reset_index()
    tcount = (
        pd.DataFrame(
            {
                "area_id": need_t["area_id"],
                "ts": need_t["known"] & (need_t["need"] > 0),
                "tu": ~need_t["known"],
            }
        )
        .groupby("area_id", sort=False)
        .sum()
    )
    out = pd.DataFrame(
        {
            "area_id": agg.index,
            "composite_gap": (agg["wv"] / agg["w"].where(agg["w"] > 0)).to_numpy(),
            "groups_scored": agg["n"].astype("int64").to_numpy(),
            "groups_unknown": agg["u"].astype("int64").to_numpy(),
            "weight_unknown": (agg["wu"] / agg["wr"].where(agg["wr"] > 0)).to_numpy(),
            "types_scored": tcount["ts"].reindex(agg.index).fillna(0).astype("int64").to_numpy(),
            "types_unknown": tcount["tu"].reindex(agg.index).fillna(0).astype("int64").to_numpy(),
        }
    )
    out["rank"] = out["composite_gap"].rank(ascending=False, method="min")
    return out


def rank_areas(values: pd.Series, *, ascending: bool = False) -> pd.Series:
    """Rank areas by a value: 1 = largest (or smallest with ``ascending=True``); ties share the best rank."""
    return values.rank(ascending=ascending, method="min")


def classify(values: pd.Series, *, scheme: str = "quantiles", k: int = 5) -> tuple[pd.Series, list[float]]:
    """
    Put values into map classes, with the breaks mapclassify computes for the same scheme.

    The breaks are computed here with numpy (importing mapclassify pulls in scipy.stats,
    scikit-learn and matplotlib, seconds of start-up for a few dozen values); a test compares
    them with mapclassify's on the same values.

    Parameters
    ----------
    values
        The values to classify; NaN stays unclassified.
    scheme
        One of :data:`SCHEMES`:

        - ``"quantiles"``: upper bounds at the 100/k, 200/k, … 100th percentiles (linear
          interpolation, as ``mapclassify.Quantiles``); repeated bounds are merged.
        - ``"equal_interval"``: k classes of equal width between the smallest and the largest value
          (``mapclassify.EqualInterval``).
        - ``"fisher_jenks"``: the optimal breaks of Fisher (1958): the k classes, contiguous in
          sorted order, with the least sum of squared deviations from their class means
          (``mapclassify.FisherJenks``, same single-precision arithmetic).
        - ``"natural_breaks"``: the same least sum of squares, in double precision; the partition
          one-dimensional k-means (``mapclassify.NaturalBreaks``) looks for from random starts,
          found exactly and so the same from run to run.
    k
        Number of classes wanted; fewer are used when there are fewer distinct values.

    Returns
    -------
    classes, bins
        The class of each value (0 = lowest; ``<NA>`` for NaN), indexed like ``values``, and the
        upper bound of each class. A value equal to a bound belongs to the class below it.
    """
    if scheme not in SCHEMES:
        raise SocialMapError(f"scheme {scheme!r} is not one of {', '.join(SCHEMES)}.")
    if k < 2:
        raise SocialMapError(f"k must be at least 2; got {k}.")
    nums = pd.to_numeric(values, errors="coerce").astype(float)
    ok = nums.notna()
    classes = pd.Series(pd.NA, index=values.index, dtype="Int64")
    y = nums[ok].to_numpy(dtype=float)
    distinct = int(np.unique(y).size)
    if distinct == 0:
        return classes, []
    if distinct == 1:
        classes[ok] = 0
        return classes, [float(y[0])]
    bins = _BREAKS[scheme](np.sort(y), min(k, distinct))
    # Class j holds bins[j-1] < v <= bins[j] (mapclassify's bin1d); the last bound is the maximum.
    classes[ok] = np.searchsorted(bins, y, side="left").astype("int64")
    return classes, [float(b) for b in bins]


def _quantile_breaks(y: np.ndarray, k: int) -> np.ndarray:
    """Percentiles 100/k … 100 of sorted ``y``, as ``scipy.stats.scoreatpercentile`` interpolates them."""
    w = 100.0 / k
    pcts = np.arange(w, 100 + w, w)
    pcts[-1] = min(pcts[-1], 100.0)
    scores = []
    for pct in pcts:
        idx = pct / 100.0 * (y.size - 1)
        i = int(idx)
        if i == idx:
            scores.append(y[i])
        else:
            j = i + 1
            scores.append((y[i] * (j - idx) + y[j] * (idx - i)) / ((j - idx) + (idx - i)))
    return np.unique(np.asarray(scores, dtype=float))


def _equal_interval_breaks(y: np.ndarray, k: int) -> np.ndarray:
    lo, hi = y[0], y[-1]
    width = (hi - lo) * 1.0 / k
    cuts = np.arange(lo + width, hi + width, width)[:k]
    cuts[-1] = hi
    return cuts


def _least_squares_breaks(y: np.ndarray, k: int, dtype: Any = np.float64) -> np.ndarray:
    """
    Upper bounds of the k contiguous classes of sorted ``y`` with the least within-class sum of squares.

    The dynamic programme of Fisher (1958) as mapclassify's ``_fisher_jenks_means`` runs it
    (``cost[l, j]``: least sum of squares of the first ``l`` values in ``j`` classes; ties go to the
    longest last class), vectorised over the start of the last class. With ``dtype=np.float32`` the
    arithmetic, running sums included, is mapclassify's own.
    """
    n = y.size
    start = np.zeros((n + 1, k + 1), dtype=np.int64)  # 1-based index of the last class's first value
    cost = np.zeros((n + 1, k + 1), dtype=dtype)
    start[1, 1:] = 1
    cost[2:, 1:] = np.inf
    vals = y.astype(dtype)
    for length in range(2, n + 1):
        tail = vals[length - 1 :: -1]
        # m values ending at `length` (m = 1 … length): running sums taken in that order.
        s1 = np.cumsum(tail, dtype=dtype)
        s2 = np.cumsum(tail * tail, dtype=dtype)
        m = np.arange(1, length + 1, dtype=dtype)
        ssd = s2 - (s1 * s1) / m
        before = length - np.arange(1, length)  # values before the last class, for m = 1 … length-1
        total = ssd[: length - 1, None] + cost[before, 1:k]
        # the last m with the least total (mapclassify replaces on >=)
        last = (length - 2) - np.argmin(total[::-1], axis=0)
        cost[length, 2:] = total[last, np.arange(k - 1)]
        start[length, 2:] = length - last  # the last class starts at value length - m + 1, m = last + 1
        start[length, 1] = 1
        cost[length, 1] = ssd[-1]
    bounds = np.zeros(k + 1, dtype=float)
    bounds[k] = y[-1]
    bounds[0] = y[0]
    end = n
    for j in range(k, 1, -1):
        first = start[end, j]
        bounds[j - 1] = y[first - 2]
        end = first - 1
    return bounds[1:]


_BREAKS = {
    "quantiles": _quantile_breaks,
    "natural_breaks": _least_squares_breaks,
    "fisher_jenks": lambda y, k: _least_squares_breaks(y, k, np.float32),
    "equal_interval": _equal_interval_breaks,
}


def honest_classes(
    values: pd.Series, *, scheme: str = "quantiles", k: int = 5, min_span: float | None = None
) -> tuple[pd.Series, list[float], tuple[float, float] | None]:
    """
    Classes for a map that do not exaggerate small differences (a wrapper of :func:`classify`).

    When the values span less than ``min_span`` (default: 5 % of the largest absolute value, i.e. 5
    points on a 0–100 score), five colours would make near-identical values look very different: they
    get one class instead, and the caller says so on the map ("values span only … points").
    Otherwise the classes are :func:`classify`'s; either way the legend starts at the smallest value
    and ends at the largest (the real range), as the bins are upper bounds taken from the data.

    Parameters
    ----------
    values, scheme, k
        As for :func:`classify`.
    min_span
        Smallest span (max − min, in the values' units) worth several classes.

    Returns
    -------
    classes, bins, narrow
        Classes and bins as :func:`classify`; ``narrow`` is ``(min, max)`` when the values were put in
        one class because they span too little, else ``None``.

    Examples
    --------
    >>> classes, bins, narrow = honest_classes(pd.Series([97.6, 98.0, 99.1, 100.0]))
    >>> classes.tolist(), bins, narrow
    ([0, 0, 0, 0], [100.0], (97.6, 100.0))
    >>> honest_classes(pd.Series([10.0, 40.0, 90.0]), k=3)[2] is None
    True
    """
    nums = pd.to_numeric(values, errors="coerce").astype(float)
    ok = nums[np.isfinite(nums)]
    if ok.nunique() >= 2:
        low, high = float(ok.min()), float(ok.max())
        limit = 0.05 * max(abs(low), abs(high)) if min_span is None else float(min_span)
        if high - low < limit:
            classes = pd.Series(pd.NA, index=values.index, dtype="Int64")
            classes[np.isfinite(nums)] = 0
            return classes, [high], (low, high)
    classes, bins = classify(values, scheme=scheme, k=k)
    return classes, bins, None


def delta_classes(
    values: pd.Series, *, tolerance: float = 0.05, n_side: int = 3
) -> tuple[pd.Series, list[float]]:
    """
    Put changes (after − before) into classes symmetric around zero, for a difference map.

    A change whose size is at most ``tolerance`` is "no change" (class 0). Larger decreases fall
    in classes ``-1 … -n_side`` and increases in ``1 … n_side``, by equal steps of the largest size
    ``m``: class ``c > 0`` holds ``(c - 1)·m/n_side < v <= c·m/n_side`` (and ``v > tolerance``), and
    likewise below zero. The same steps on both sides keep a decrease and an increase of the same
    size in the same shade of their colour.

    Parameters
    ----------
    values
        The changes; NaN and infinite values stay unclassified.
    tolerance
        Largest size counted as no change (e.g. half the last digit shown), ``>= 0``.
    n_side
        Classes on each side of zero, ``>= 1``.

    Returns
    -------
    classes, edges
        The class of each value (``<NA>`` where undefined), indexed like ``values``, and the upper
        edges ``[m/n_side, 2·m/n_side, …, m]`` of the classes on each side (empty when nothing
        changed beyond the tolerance).

    Examples
    --------
    >>> classes, edges = delta_classes(pd.Series([-6.0, -1.0, 0.0, 0.01, 3.0, 6.0]), n_side=3)
    >>> classes.tolist(), edges
    ([-3, -1, 0, 0, 2, 3], [2.0, 4.0, 6.0])
    """
    if not (np.isfinite(tolerance) and tolerance >= 0):
        raise SocialMapError(f"`tolerance` must be a finite number >= 0; got {tolerance!r}.")
    if int(n_side) != n_side or n_side < 1:
        raise SocialMapError(f"`n_side` must be a whole number >= 1; got {n_side!r}.")
    nums = pd.to_numeric(values, errors="coerce").astype(float)
    ok = np.isfinite(nums)
    classes = pd.Series(pd.NA, index=values.index, dtype="Int64")
    size = nums.abs()
    changed = ok & (size > tolerance)
    classes[ok & ~changed] = 0
    if not changed.any():
        return classes, []
    top = float(size[changed].max())
    edges = [top * (i + 1) / n_side for i in range(int(n_side))]
    edges[-1] = top  # exact, whatever the rounding of the steps
    step = np.ceil(size[changed].to_numpy() / top * n_side - 1e-12).clip(1, n_side).astype("int64")
    classes[changed] = np.sign(nums[changed].to_numpy()).astype("int64") * step
    return classes, edges
