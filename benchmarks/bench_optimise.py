"""Benchmark socialmap.optimise.maximal_covering against plain PySAL spopt on the same instance.

The instance (issue #7): 2,000 demand points x 200 candidate sites, k = 10, radius 10 km. Points are uniform
in a 130 km x 130 km square (about the size of Kosovo) in UTM 34N (x 400-530 km, y 4600-4730 km); need
~ U(0, 100) per demand point.

Timed end to end from the same GeoDataFrames:
- socialmap: the one call `maximal_covering(demand, candidates, radius_m=..., k=..., solver="cbc")`, i.e.
  the sparse coverage matrix (socialmap.access.pairs_within), the reductions, the
  PuLP model and CBC; also `solver="greedy"` (with its LP bound) for comparison;
- spopt: coordinates -> scipy `cdist` (as `MCLP.from_geodataframe` does) -> `MCLP.from_cost_matrix`
  (build) -> `.solve(pulp.PULP_CBC_CMD(msg=False))` (solve).
Times are the best of `--repeat` runs (the first run, with its imports, is shown too; spopt runs once).
Target: socialmap's whole placement under 10 s.

    .venv/bin/python benchmarks/bench_optimise.py
    .venv/bin/python benchmarks/bench_optimise.py --repeat 3 --no-spopt
"""

from __future__ import annotations

import argparse
import os
import time
import warnings
from collections.abc import Callable
from typing import Any

import geopandas as gpd
import numpy as np

from socialmap.optimise import maximal_covering

SIDE_M = 130_000.0
ORIGIN = (400_000.0, 4_600_000.0)
CRS = "EPSG:32634"
TARGET_S = 10.0


def instance(n: int, m: int, seed: int) -> tuple[gpd.GeoDataFrame, gpd.GeoDataFrame]:
    rng = np.random.default_rng(seed)
    dxy = rng.uniform(0, SIDE_M, (n, 2)) + ORIGIN
    cxy = rng.uniform(0, SIDE_M, (m, 2)) + ORIGIN
    demand = gpd.GeoDataFrame(
        {"need": rng.uniform(0, 100, n)}, geometry=gpd.points_from_xy(dxy[:, 0], dxy[:, 1]), crs=CRS
    )
    candidates = gpd.GeoDataFrame(geometry=gpd.points_from_xy(cxy[:, 0], cxy[:, 1]), crs=CRS)
    return demand, candidates


def best_of(repeat: int, fn: Callable[[], Any]) -> tuple[float, float, Any]:
    """(best time, first time, result) of `repeat` runs; the first run includes imports and warm-up."""
    times, out = [], None
    for _ in range(repeat):
        t = time.perf_counter()
        out = fn()
        times.append(time.perf_counter() - t)
    return min(times), times[0], out


def run_spopt(
    demand: gpd.GeoDataFrame, candidates: gpd.GeoDataFrame, radius: float, k: int
) -> tuple[float, float, float]:
    import pulp
    from scipy.spatial.distance import cdist
    from spopt.locate import MCLP

    t0 = time.perf_counter()
    dxy = np.column_stack([demand.geometry.x, demand.geometry.y])
    cxy = np.column_stack([candidates.geometry.x, candidates.geometry.y])
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)  # PuLP 3.3's notices about spopt's constructors
        model = MCLP.from_cost_matrix(cdist(dxy, cxy), demand["need"].to_numpy(), radius, k)
        t1 = time.perf_counter()
        model.solve(pulp.PULP_CBC_CMD(msg=False))
    t2 = time.perf_counter()
    return t1 - t0, t2 - t1, float(pulp.value(model.problem.objective))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--demand", type=int, default=2000)
    parser.add_argument("--candidates", type=int, default=200)
    parser.add_argument("--k", type=int, default=10)
    parser.add_argument("--radius-m", type=float, default=10_000.0)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--no-spopt", action="store_true", help="skip the plain spopt run")
    args = parser.parse_args()

    demand, candidates = instance(args.demand, args.candidates, args.seed)
    load = ", ".join(f"{v:.2f}" for v in os.getloadavg())
    print(
        f"instance: {args.demand:,} demand x {args.candidates:,} candidates, k={args.k}, "
        f"radius {args.radius_m / 1000:g} km, seed {args.seed}; load average {load} on {os.cpu_count()} cores"
    )

    def ours(solver: str) -> Callable[[], Any]:
        return lambda: maximal_covering(demand, candidates, radius_m=args.radius_m, k=args.k, solver=solver)

    t_cbc, first, exact = best_of(args.repeat, ours("cbc"))
    verdict = "met" if first < TARGET_S else "NOT met"
    print(
        f"socialmap cbc:    {t_cbc:6.3f} s best of {args.repeat} ({first:.3f} s first run; matrix + model + "
        f"solve)  objective {exact.objective:,.3f}  target < {TARGET_S:g} s (first run): {verdict}"
    )
    t_greedy, _, greedy = best_of(args.repeat, ours("greedy"))
    print(
        f"socialmap greedy: {t_greedy:6.3f} s  objective {greedy.objective:,.3f}  "
        f"gap to optimum <= {100 * greedy.gap_to_optimum:.3f} % ({greedy.bound_method}); "
        f"true gap {100 * (exact.objective - greedy.objective) / exact.objective:.3f} %"
    )
    if not args.no_spopt:
        build, solve, value = run_spopt(demand, candidates, args.radius_m, args.k)
        same = "same" if abs(value - exact.objective) <= 1e-6 * max(1.0, value) else "DIFFERENT"
        print(
            f"spopt MCLP:       {build + solve:6.3f} s (build {build:.3f} s + solve {solve:.3f} s, one run)  "
            f"objective {value:,.3f} ({same} optimum)"
        )
    print(f"load average after: {', '.join(f'{v:.2f}' for v in os.getloadavg())}")


if __name__ == "__main__":
    main()
