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
