"""Equity of access, weighted by need: Gini, Theil (between/within areas), Palma, concentration index.

Each indicator takes values ``x`` (e.g. 2SFCA access ``A_i``, places per person in need) and weights
``w`` (the need of each demand cell or area), so that a cell of 1,000 people in need counts 1,000
times as much as a cell of one. With equal weights they equal the unweighted definitions of PySAL
``inequality`` (``Gini``, ``Theil``, ``TheilD``), which the tests check; integer weights give the
same value as repeating each value that many times.

- **Gini** ``G = ΣΣ w_i w_j |x_i − x_j| / (2 W² μ)``: 0 = everyone has the same access, 1 = one
  person has it all (the ``n²`` form of PySAL ``inequality.gini.Gini``).
- **Theil T** ``T = Σ (w_i / W)(x_i / μ) ln(x_i / μ)`` (0 ln 0 = 0), split exactly into a part
  *between* groups (municipalities) ``Σ_g (W_g / W)(μ_g / μ) ln(μ_g / μ)`` and a part *within*
  them ``Σ_g (W_g μ_g / (W μ)) T_g``, as PySAL ``inequality.theil.TheilD``.
- **Palma ratio**, as ipea's ``accessibility::palma_ratio``: the mean access of the best-off 10 %
  of people divided by the mean access of the worst-off 40 %. "Best-off" is ranked by a
  socio-economic variable where one is given (``rank_by``, low = poor), else by access itself. People
  are split at the 10 % / 40 % marks (a cell straddling a mark is split), and cells with the same
  rank are pooled.
- **Concentration index**, as ipea's ``accessibility::concentration_index`` (``type = "standard"``):
  ``C = 2 cov_w(x, R) / μ`` with ``R`` the need-weighted fractional rank by ``rank_by`` (poorest
  first; ties share their mean rank). ``C > 0``: access is concentrated among the better-off;
  ``C < 0``: among the poor; undefined (NaN) when ``rank_by`` is the same everywhere.

In the analysis the concentration index ranks municipalities by their **social-assistance rate**
(the share of residents in families receiving social assistance; high = poor): where that rate is
a national share applied everywhere, it cannot rank anyone and the index is NaN, said in ``note``.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd
from numpy.typing import ArrayLike, NDArray

from socialmap.errors import SocialMapError
from socialmap.i18n import N_

if TYPE_CHECKING:
    from socialmap.pipeline import Result

__all__ = [
    "EQUITY_COLUMNS",
    "concentration_index",
    "equity_table",
    "gini",
    "palma",
    "theil",
]

#: The ``note`` of a row without a concentration index (English; translated with ``i18n.t``).
NOTE_NO_RANKING = N_(
    "concentration index not computed: no municipal social-assistance rate in the data (a national "
    "share ranks no one); give the social-assistance counts per area."
)
#: The ``note`` of a row of a type whose need is unknown.
NOTE_TARGET_WEIGHTED = N_("Weighted by the target group: need unknown.")

#: Columns of :func:`equity_table`.
EQUITY_COLUMNS = (
    "service_type",
    "level",
    "measure",
    "units",
    "need",
    "mean",
    "gini",
    "theil",
    "theil_between",
    "theil_within",
    "palma",
    "concentration_index",
    "note",
)


def _prepare(x: ArrayLike, w: ArrayLike | None, *extra: ArrayLike | None) -> tuple[NDArray[np.float64], ...]:
    xs = np.asarray(x, dtype=float).ravel()
    ws = np.ones_like(xs) if w is None else np.asarray(w, dtype=float).ravel()
    others = [None if e is None else np.asarray(e).ravel() for e in extra]
    if ws.shape != xs.shape or any(o is not None and o.shape != xs.shape for o in others):
        raise SocialMapError("values, weights and groups/ranks must have the same length.")
    if (ws < 0).any() or (xs[np.isfinite(xs)] < 0).any():
        raise SocialMapError("values and weights must be ≥ 0.")
    keep = np.isfinite(xs) & np.isfinite(ws) & (ws > 0)
    out = [xs[keep], ws[keep]]
    for o in others:
        if o is not None:
            out.append(o[keep])
    return tuple(out)


def gini(x: ArrayLike, w: ArrayLike | None = None) -> float:
    """
    Compute the weighted Gini coefficient of ``x`` (NaN values and zero weights are left out).

    Examples
    --------
    >>> gini([1, 2, 3, 4])
    0.25
    >>> gini([1, 4], [3, 1]) == gini([1, 1, 1, 4])
    True
    """
    xs, ws = _prepare(x, w)
    total = ws.sum()
    if total <= 0:
        return float("nan")
    mu = float((ws * xs).sum() / total)
    if mu <= 0:
        return float("nan")
    order = np.argsort(xs, kind="stable")
    xs, ws = xs[order], ws[order]
    # ΣΣ w_i w_j |x_i − x_j| = 2 Σ_i w_i x_i (W_<i − W_>i) for sorted x (ties cancel).
    below = np.cumsum(ws) - ws
    above = total - below - ws
    pair_sum = 2.0 * float((ws * xs * (below - above)).sum())
    return float(pair_sum / (2.0 * total * total * mu))


def theil(
    x: ArrayLike, w: ArrayLike | None = None, groups: ArrayLike | None = None
) -> tuple[float, float, float]:
    """
    Compute the weighted Theil T index of ``x`` and its split between and within ``groups``.

    Returns
    -------
    t, between, within
        ``t = between + within``; without ``groups`` both parts are NaN.

    Examples
    --------
    >>> t, b, w = theil([1, 1, 3, 3], groups=["a", "a", "b", "b"])
    >>> round(t, 6) == round(b, 6), w
    (True, 0.0)
    """
    xs, ws, *rest = _prepare(x, w, groups)
    total = ws.sum()
    if total <= 0:
        return float("nan"), float("nan"), float("nan")
    mu = float((ws * xs).sum() / total)
    if mu <= 0:
        return float("nan"), float("nan"), float("nan")

    def t_of(v: NDArray[np.float64], u: NDArray[np.float64]) -> float:
        m = float((u * v).sum() / u.sum())
        if m <= 0:
            return 0.0
        r = v / m
        with np.errstate(divide="ignore", invalid="ignore"):
            terms = np.where(r > 0, r * np.log(r), 0.0)
        return float((u * terms).sum() / u.sum())

    t = t_of(xs, ws)
    if not rest:
        return t, float("nan"), float("nan")
    g = pd.Series(rest[0])
    between = 0.0
    within = 0.0
    for _, idx in g.groupby(g, sort=False).indices.items():
        wg, xg = ws[idx], xs[idx]
        share_w = wg.sum() / total
        mg = float((wg * xg).sum() / wg.sum())
        if mg > 0:
            between += share_w * (mg / mu) * np.log(mg / mu)
            within += share_w * (mg / mu) * t_of(xg, wg)
    return t, float(between), float(within)


def _pooled(
    xs: NDArray[np.float64], ws: NDArray[np.float64], rank: NDArray[np.float64]
) -> tuple[NDArray[np.float64], NDArray[np.float64]]:
    """Pool units of equal rank: their need-weighted mean value and summed weight, in rank order."""
    frame = pd.DataFrame({"r": rank, "wx": ws * xs, "w": ws}).groupby("r", sort=True).sum()
    return (frame["wx"] / frame["w"]).to_numpy(dtype=float), frame["w"].to_numpy(dtype=float)


def palma(
    x: ArrayLike,
    w: ArrayLike | None = None,
    *,
    rank_by: ArrayLike | None = None,
    top: float = 0.1,
    bottom: float = 0.4,
) -> float:
    """
    Compute the Palma ratio: mean ``x`` of the best-off ``top`` share of people / mean of the worst-off.

    Parameters
    ----------
    x, w
        Values and weights (need).
    rank_by
        Socio-economic rank variable, low = poor (e.g. minus the social-assistance rate); ``None``
        ranks people by ``x`` itself.
    top, bottom
        Shares of people compared (0.1 and 0.4 as in Palma's and ipea's definition).

    Examples
    --------
    >>> palma([1, 1, 1, 1, 2, 2, 2, 2, 2, 10])  # 10 / mean(1, 1, 1, 1)
    10.0
    """
    if not (0 < top < 1 and 0 < bottom < 1 and top + bottom <= 1):
        raise SocialMapError(
            f"top and bottom must be shares in (0, 1) adding up to ≤ 1; got {top}, {bottom}."
        )
    xs, ws, *rest = _prepare(x, w, rank_by)
    if ws.sum() <= 0:
        return float("nan")
    rank = np.asarray(rest[0], dtype=float) if rest else xs
    vals, wts = _pooled(xs, ws, rank)
    total = wts.sum()
    upper = np.cumsum(wts)
    lower = upper - wts
    low_part = np.clip(np.minimum(upper, bottom * total) - lower, 0.0, None)
    high_part = np.clip(upper - np.maximum(lower, (1.0 - top) * total), 0.0, None)
    low_mean = float((low_part * vals).sum() / low_part.sum())
    high_mean = float((high_part * vals).sum() / high_part.sum())
    return high_mean / low_mean if low_mean > 0 else float("inf") if high_mean > 0 else float("nan")


def concentration_index(x: ArrayLike, w: ArrayLike | None = None, *, rank_by: ArrayLike) -> float:
    """
    Compute the standard concentration index of ``x`` against ``rank_by`` (low = poor), weighted by ``w``.

    Examples
    --------
    >>> round(concentration_index([1, 2, 3], rank_by=[1, 2, 3]), 12)  # 2 cov(x, R) / mean = 2/9
    0.222222222222
    """
    xs, ws, rank = _prepare(x, w, rank_by)
    total = ws.sum()
    if total <= 0 or len(np.unique(rank)) < 2:
        return float("nan")
    mu = float((ws * xs).sum() / total)
    if mu <= 0:
        return float("nan")
    r = rank.astype(float)
    frame = pd.DataFrame({"r": r, "w": ws}).groupby("r", sort=True)["w"].sum()
    upper = frame.cumsum()
    frac = ((upper - frame / 2.0) / total).reindex(r).to_numpy(dtype=float)
    cov = float((ws * (xs - mu) * (frac - float((ws * frac).sum() / total))).sum() / total)
    return 2.0 * cov / mu


def _row(
    service_type: str,
    level: str,
    measure: str,
    x: NDArray[np.float64],
    w: NDArray[np.float64],
    groups: NDArray[Any] | None,
    rank: NDArray[np.float64] | None,
    note: str,
) -> dict[str, Any]:
    ok = np.isfinite(x) & np.isfinite(w) & (w > 0)
    t, between, within = theil(x[ok], w[ok], None if groups is None else groups[ok])
    ci = float("nan") if rank is None else concentration_index(x[ok], w[ok], rank_by=rank[ok])
    total = float(w[ok].sum())
    return {
        "service_type": service_type,
        "level": level,
        "measure": measure,
        "units": int(ok.sum()),
        "need": total,
        "mean": float((w[ok] * x[ok]).sum() / total) if total > 0 else float("nan"),
        "gini": gini(x[ok], w[ok]),
        "theil": t,
        "theil_between": between,
        "theil_within": within,
        "palma": palma(x[ok], w[ok]) if ok.sum() else float("nan"),
        "concentration_index": ci,
        "note": note,
    }


def social_assistance_rate(result: Result) -> pd.Series | None:
    """
    Return the share of each area's residents in families on social assistance, where the data give it.

    Returns
    -------
    rate
        Indexed by ``area_id``; ``None`` when the taxonomy has no ``social_assistance_persons`` group
        or the population table has no count column for it (the rate would be one national share).
    """
    tax = result.taxonomy
    if tax is None or "social_assistance_persons" not in tax.target_group_keys:
        return None
    column = tax.target_group("social_assistance_persons").column
    pop = result.population
    if column is None or pop is None or column not in pop.columns:
        return None
    counts = pd.to_numeric(pop[column], errors="coerce")
    people = pd.to_numeric(pop["population"], errors="coerce")
    rate = (counts / people.where(people > 0)).set_axis(pop["area_id"].astype(str))
    return rate


def equity_table(result: Result, *, deprivation: pd.Series | None = None) -> pd.DataFrame:
    """
    Measure equity of access per service type, across demand cells and areas, weighted by need.

    Parameters
    ----------
    result
        An analysis (:func:`socialmap.analyze`).
    deprivation
        Per ``area_id``, a rate where high = poor (default: the social-assistance rate, where the
        population table gives social-assistance counts); ranks people for the concentration index.

    Returns
    -------
    table
        One row per service type × level (``"cells"``: demand cells, Theil split between/within
        areas; ``"areas"``: one value per area) with :data:`EQUITY_COLUMNS`. ``measure`` is
        ``"access"`` (2SFCA places per person in need) or ``"covered_share"`` (distance coverage,
        for types without capacities). Types with unknown need are weighted by their target group.

    Examples
    --------
    >>> from socialmap import analyze
    >>> eq = equity_table(analyze(demo="kosovo", service_types=("residential_elderly",)))
    >>> eq[["level", "measure"]].values.tolist()
    [['cells', 'access'], ['areas', 'access']]
    """
    dep = social_assistance_rate(result) if deprivation is None else deprivation
    dep_note = ""
    if dep is None or pd.to_numeric(dep, errors="coerce").nunique() < 2:
        dep = None
        dep_note = NOTE_NO_RANKING
    rows = []
    demand = result.demand
    for t, tab in result.table.groupby("service_type", sort=False):
        method = str(tab["method"].iloc[0])
        if method == "none":
            continue
        pts = demand[demand["service_type"] == t]
        weight_col = "need" if pts["need"].notna().any() else "target_size"
        w = pd.to_numeric(pts[weight_col], errors="coerce").to_numpy(dtype=float)
        if method == "coverage":
            measure, x = "covered_share", pts["covered"].to_numpy(dtype=float)
            x_area = pd.to_numeric(tab["covered_share"], errors="coerce").to_numpy(dtype=float)
        else:
            measure, x = "access", pd.to_numeric(pts["access"], errors="coerce").to_numpy(dtype=float)
            x_area = pd.to_numeric(tab["access"], errors="coerce").to_numpy(dtype=float)
        ids = pts["area_id"].astype(str).to_numpy()
        rank = None if dep is None else (-pd.Series(ids).map(dep)).to_numpy(dtype=float)
        note = dep_note if weight_col == "need" else f"{dep_note} {NOTE_TARGET_WEIGHTED}".strip()
        rows.append(_row(str(t), "cells", measure, x, w, ids, rank, note))
        area_ids = tab["area_id"].astype(str).to_numpy()
        w_area = pd.to_numeric(tab["need"] if weight_col == "need" else tab["target_size"], errors="coerce")
        rank_a = None if dep is None else (-pd.Series(area_ids).map(dep)).to_numpy(dtype=float)
        rows.append(_row(str(t), "areas", measure, x_area, w_area.to_numpy(dtype=float), None, rank_a, note))
    return pd.DataFrame(rows, columns=list(EQUITY_COLUMNS))
