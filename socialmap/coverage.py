"""Coverage metrics per area for one service type (DESIGN.md, "Metrics").

The inputs are per-demand-point results (need ``n_i``, accessibility ``A_i``, distance coverage)
and the service sites; the output is one row per area. Extensive values (need, supply, places)
are summed; intensive ones (access, shares, scores) are need-weighted means or ratios of sums.

Choices the formulas leave open, and what this module does:

- **Zero need.** An area whose need is 0 gets ``need = 0`` and NaN for every ratio
  (``supply_per_10k``, ``covered_share``, ``access``, ``gap_score``): a ratio over nobody is not 0 %
  and not 100 %, it is undefined. Such areas are left out of composite scores.
- **No reachable service.** A demand point with no service within the catchment has ``A_i = 0`` and
  is not covered: its whole need is unmet.
- **Unknown capacity.** Services whose capacity is unknown count in ``services`` and in distance
  coverage, but add nothing to ``supply`` (``capacity_unknown`` counts them per area), so ``supply``
  is then a lower bound. They are never given a capacity of 1.
- **Method "coverage"** (distance coverage only, no capacities): everyone within the catchment of a
  service counts as reached, so ``reachable_places = need × covered_share``.
- **Supply by reach.** ``supply_reach`` = Σ over the area's demand points of ``need_i × A_i``: the
  places within reach of the area's residents, as the 2SFCA shares each service out among everyone
  in its catchment (summed over all areas it gives back every place that anyone reaches). ``supply``
  stays the places located inside the area (a second column).
- **Relative access (SPAR).** ``spar`` = the area's need-weighted access divided by the national
  (all areas given) need-weighted access, as in the spatial access ratio (SPAR) of Wan, Zhan, Zou &
  Chow (2012, *Applied Geography* 32(2): 291–299, doi:10.1016/j.apgeog.2011.05.001). It does not
  depend on the scale of the need: multiplying every need by the same rate leaves it unchanged, so
  it means something when the need rate is uncertain. 1 = as good as the country, 0.5 = half,
  2 = twice. Wan et al. divide by the mean over locations; here the denominator is weighted by
  need (the country's places per person in need), so that areas count by their people.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from socialmap.errors import SocialMapError

#: Columns :func:`area_coverage` returns, in order.
COVERAGE_COLUMNS = (
    "area_id",
    "need",
    "services",
    "capacity_unknown",
    "supply",
    "supply_per_10k",
    "covered_share",
    "access",
    "reachable_places",
    "unmet_need",
    "gap_score",
    "supply_reach",
    "spar",
)

#: Relative measures :func:`relative_scores` adds to a coverage table, in order.
RELATIVE_COLUMNS = (
    "target_size",
    "places_per_1000",
    "places_per_1000_national",
    "standard_places",
    "standard_met",
)

METHODS = ("coverage", "2sfca", "e2sfca")


def _require(df: pd.DataFrame, columns: tuple[str, ...], label: str) -> None:
    missing = [c for c in columns if c not in df.columns]
    if missing:
        raise SocialMapError(f"`{label}` is missing column(s) {missing}; found {list(df.columns)}.")


def area_coverage(
    demand: pd.DataFrame,
    services: pd.DataFrame,
    area_ids: pd.Series | list[str],
    *,
    method: str = "2sfca",
) -> pd.DataFrame:
    """
    Aggregate per-demand-point results of one service type to areas.

    Parameters
    ----------
    demand
        Demand points with ``area_id``, ``need`` (extensive, ≥ 0), ``access`` (``A_i``, supply per
        person in need; ignored for ``method="coverage"``) and ``covered`` (bool: a service within
        the catchment).
    services
        Sites of this service type with ``area_id`` (may be missing for sites outside every area)
        and ``capacity`` (NaN = unknown).
    area_ids
        Every area to report, in the order wanted; areas without demand or services get zeros.
    method
        ``"2sfca"`` or ``"e2sfca"`` (reachable places from ``A_i``), or ``"coverage"`` (distance
        coverage).

    Returns
    -------
    table
        One row per area with the columns of :data:`COVERAGE_COLUMNS`: ``need``, ``services``,
        ``capacity_unknown``, ``supply``, ``reachable_places`` and ``unmet_need`` are counts;
        ``supply_per_10k`` = 10,000 × supply / need; ``covered_share`` = need within reach / need;
        ``access`` = need-weighted mean of ``A_i``; ``gap_score`` = 100 × unmet_need / need;
        ``supply_reach`` = Σ need_i × A_i (places within reach, NaN for ``"coverage"``) and ``spar`` =
        access / national access (NaN for ``"coverage"``, or where the national access is 0).

    Examples
    --------
    >>> demand = pd.DataFrame({"area_id": ["a", "a", "b"], "need": [10.0, 30.0, 0.0],
    ...                        "access": [0.5, 2.0, 0.0], "covered": [True, True, False]})
    >>> services = pd.DataFrame({"area_id": ["a"], "capacity": [20.0]})
    >>> t = area_coverage(demand, services, ["a", "b"])
    >>> t.loc[0, ["reachable_places", "unmet_need", "gap_score"]].tolist()
    [35.0, 5.0, 12.5]
    """
    if method not in METHODS:
        raise SocialMapError(f"method {method!r} is not one of {', '.join(METHODS)}.")
    needed = ("area_id", "need", "covered") + (("access",) if method != "coverage" else ())
    _require(demand, needed, "demand")
    _require(services, ("area_id", "capacity"), "services")
    need = pd.to_numeric(demand["need"], errors="coerce").to_numpy(dtype=float)
    if np.isnan(need).any() or (need < 0).any():
        raise SocialMapError("`demand.need` must be numbers ≥ 0; found NaN or negative values.")
    covered = demand["covered"].to_numpy(dtype=bool)
    if method == "coverage":
        reach = covered.astype(float)
        access = np.full(len(demand), np.nan)
    else:
        access = pd.to_numeric(demand["access"], errors="coerce").to_numpy(dtype=float)
        if np.isnan(access).any() or (access < 0).any():
            raise SocialMapError("`demand.access` must be numbers ≥ 0; found NaN or negative values.")
        reach = np.minimum(access, 1.0)

    pts = pd.DataFrame(
        {
            "area_id": demand["area_id"].to_numpy(),
            "need": need,
            "need_access": need * np.nan_to_num(access),
            "need_covered": need * covered,
            "reachable_places": need * reach,
        }
    )
    # The sums per area are pandas' (its compensated summation, so the figures stay as they were); the
    # rest is numpy on arrays in the areas' order: the per-column Series arithmetic and the per-group
    # lambda cost about a quarter of an analysis of the demo.
    by_area = pts.groupby("area_id", sort=False).sum()
    index = pd.Index(list(area_ids), name="area_id")
    if not index.is_unique:
        raise SocialMapError("`area_ids` has duplicates; each area must be listed once.")
    n = len(index)
    at = index.get_indexer(by_area.index)
    found = at >= 0
    sums = {}
    for col in ("need", "need_access", "need_covered", "reachable_places"):
        values = np.zeros(n)
        values[at[found]] = by_area[col].to_numpy(dtype=float)[found]
        sums[col] = values
    cap = pd.to_numeric(services["capacity"], errors="coerce").to_numpy(dtype=float)
    site_at = index.get_indexer(pd.Index(services["area_id"].to_numpy()))
    listed = site_at >= 0
    n_services = np.bincount(site_at[listed], minlength=n).astype("int64")
    unknown = np.bincount(site_at[listed], weights=np.isnan(cap[listed]), minlength=n).astype("int64")
    supply = np.zeros(n)
    if listed.any():
        per_site = pd.Series(cap[listed]).groupby(site_at[listed], sort=False).sum()
        supply[per_site.index.to_numpy()] = per_site.to_numpy(dtype=float)

    need_a = sums["need"]
    with np.errstate(divide="ignore", invalid="ignore"):
        safe = np.where(need_a > 0, need_a, np.nan)
        unmet = need_a - sums["reachable_places"]
        unmet = np.where(unmet < 0.0, 0.0, unmet)
        gap = 100.0 * unmet / safe
        columns = {
            **sums,
            "services": n_services,
            "capacity_unknown": unknown,
            "supply": supply,
            "supply_per_10k": 10_000.0 * supply / safe,
            "covered_share": sums["need_covered"] / safe,
            "access": sums["need_access"] / safe if method != "coverage" else np.full(n, np.nan),
            "unmet_need": unmet,
            "gap_score": np.where(gap > 100.0, 100.0, gap),
        }
        if method == "coverage":
            columns["supply_reach"] = np.full(n, np.nan)
            columns["spar"] = np.full(n, np.nan)
        else:
            columns["supply_reach"] = sums["need_access"]
            total_need = float(pd.Series(need_a).sum())
            national = float(pd.Series(sums["need_access"]).sum()) / total_need if total_need > 0 else np.nan
            columns["spar"] = columns["access"] / national if national > 0 else np.full(n, np.nan)
    out = pd.DataFrame(columns, index=index)
    return out.reset_index()[list(COVERAGE_COLUMNS)]


def relative_scores(
    table: pd.DataFrame,
    target_size: pd.Series | np.ndarray,
    standard_places: pd.Series | np.ndarray | None = None,
) -> pd.DataFrame:
    """
    Add places per 1,000 of the target group, against the national figure and a planning standard.

    Parameters
    ----------
    table
        A table from :func:`area_coverage` (one row per area, with ``supply_reach``).
    target_size
        People in the type's target groups per area, in the table's row order (NaN = unknown).
    standard_places
        Places a planning standard asks for per area (NaN or ``None`` when there is no standard).

    Returns
    -------
    table
        A copy with :data:`RELATIVE_COLUMNS`: ``target_size``; ``places_per_1000`` = 1,000 ×
        supply_reach / target_size; ``places_per_1000_national`` = the same over all areas;
        ``standard_places``; ``standard_met`` = 100 × supply_reach / standard_places (the share of
        the standard's places within reach, %).

    Examples
    --------
    >>> t = pd.DataFrame({"area_id": ["a", "b"], "supply_reach": [10.0, 30.0]})
    >>> r = relative_scores(t, [1000.0, 1000.0], [20.0, 20.0])
    >>> r[["places_per_1000", "standard_met"]].values.tolist()
    [[10.0, 50.0], [30.0, 150.0]]
    """
    out = table.copy()
    size = np.asarray(target_size, dtype=float)
    reach = out["supply_reach"].to_numpy(dtype=float)
    out["target_size"] = size
    with np.errstate(divide="ignore", invalid="ignore"):
        out["places_per_1000"] = np.where(size > 0, 1000.0 * reach / size, np.nan)
        ok = np.isfinite(size) & np.isfinite(reach)
        total = float(size[ok].sum())
        out["places_per_1000_national"] = (
            1000.0 * float(reach[ok].sum()) / total if ok.all() and total > 0 else np.nan
        )
        std = (
            np.full(len(out), np.nan) if standard_places is None else np.asarray(standard_places, dtype=float)
        )
        out["standard_places"] = std
        out["standard_met"] = np.where(std > 0, 100.0 * reach / std, np.nan)
    return out
