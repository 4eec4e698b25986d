"""Gap scores across service types: the composite gap, ranks, and classes for maps.

``composite_gap`` is a weighted mean of the per-service-type ``gap_score`` (an intensive value,
0–100), never a sum. Service types whose gap is undefined in an area (no need there) are left out
of that area's mean and the remaining weights are renormalised.
"""

from __future__ import annotations

from collections.abc import Mapping

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


def rank_areas(values: pd.Series, *, ascending: bool = False) -> pd.Series:
    """Rank areas by a value: 1 = largest (or smallest with ``ascending=True``); ties share the best rank."""
    return values.rank(ascending=ascending, method="min")


def classify(values: pd.Series, *, scheme: str = "quantiles", k: int = 5) -> tuple[pd.Series, list[float]]:
    """
    Put values into map classes with mapclassify.

    Parameters
    ----------
    values
        The values to classify; NaN stays unclassified.
    scheme
        One of :data:`SCHEMES`.
    k
        Number of classes wanted; fewer are used when there are fewer distinct values.

    Returns
    -------
    classes, bins
        The class of each value (0 = lowest; ``<NA>`` for NaN), indexed like ``values``, and the
        upper bound of each class.
    """
    import mapclassify

    makers = {
        "quantiles": mapclassify.Quantiles,
        "natural_breaks": mapclassify.NaturalBreaks,
        "fisher_jenks": mapclassify.FisherJenks,
        "equal_interval": mapclassify.EqualInterval,
    }
    if scheme not in makers:
        raise SocialMapError(f"scheme {scheme!r} is not one of {', '.join(SCHEMES)}.")
    if k < 2:
        raise SocialMapError(f"k must be at least 2; got {k}.")
    nums = pd.to_numeric(values, errors="coerce").astype(float)
    ok = nums.notna()
    classes = pd.Series(pd.NA, index=values.index, dtype="Int64")
    distinct = int(nums[ok].nunique())
    if distinct == 0:
        return classes, []
    if distinct == 1:
        classes[ok] = 0
        return classes, [float(nums[ok].iloc[0])]
    kk = min(k, distinct)
    import warnings

    with warnings.catch_warnings():
        # mapclassify warns when it cannot make k distinct classes; fewer classes is the answer.
        warnings.simplefilter("ignore", UserWarning)
        fitted = makers[scheme](nums[ok].to_numpy(), k=kk)
    classes[ok] = fitted.yb.astype("int64")
    return classes, [float(b) for b in fitted.bins]
