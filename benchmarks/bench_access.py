"""Benchmark socialmap.access (2SFCA / E2SFCA) against PySAL `access` on the same random instances.

Points are uniform in a 130 km x 130 km square (about the size of Kosovo) in UTM 34N coordinates
(x 400-530 km, y 4600-4730 km); need ~ U(0, 100) per demand point, capacity ~ U(1, 50) per service;
catchment 15 km; E2SFCA weights step {5000: 1, 10000: 0.68, 15000: 0.22} (metres).

Both are timed end to end as a user runs them, from the same GeoDataFrames:
- socialmap: the one call `two_step_fca(demand, supply, catchment_m=..., weight=...)`;
- access: coordinates -> scipy cKDTree `sparse_distance_matrix` (the fastest pair search we found, ndarray
  output) -> cost DataFrame -> `Access(...)` -> `two_stage_fca` / `enhanced_two_stage_fca`.
Times are the best of `--repeat` runs (access: a single run where its estimated E2SFCA time x repeats would
exceed --max-access-seconds). The largest relative difference is over the points where access has a
finite value; where access has NaN (no service in reach) socialmap must have access 0 and covered False.

    .venv/bin/python benchmarks/bench_access.py                      # 10k x 500, 50k x 1k, 200k x 2k
    .venv/bin/python benchmarks/bench_access.py --quick              # a fast smoke run
    .venv/bin/python benchmarks/bench_access.py --sizes 50000x1000 --repeat 5
"""

from __future__ import annotations

import argparse
import math
import os
import time
from collections.abc import Callable

import geopandas as gpd
import numpy as np
import pandas as pd
from scipy.spatial import cKDTree

from socialmap.access import step_weights, two_step_fca

SIDE_M = 130_000.0
ORIGIN = (400_000.0, 4_600_000.0)
CRS = "EPSG:32634"
CATCHMENT_M = 15_000.0
STEPS = {5000: 1, 10000: 0.68, 15000: 0.22}
DEFAULT_SIZES = "10000x500,50000x1000,200000x2000"
QUICK_SIZES = "2000x100,10000x500"
# Rough cost of PySAL access per pair in reach, measured at 50k x 1k: used only to skip sizes that do not fit.
ACCESS_BYTES_PER_PAIR = 400
ACCESS_E2SFCA_SECONDS_PER_PAIR = 2.5e-6


def parse_sizes(text: str) -> list[tuple[int, int]]:
    sizes = []
    for item in text.split(","):
        n, m = item.lower().split("x")
        sizes.append((int(float(n)), int(float(m))))
    return sizes


def instance(n: int, m: int, seed: int) -> tuple[gpd.GeoDataFrame, gpd.GeoDataFrame]:
    rng = np.random.default_rng(seed)
    dxy = rng.uniform(0, SIDE_M, (n, 2)) + ORIGIN
    sxy = rng.uniform(0, SIDE_M, (m, 2)) + ORIGIN
    demand = gpd.GeoDataFrame(
        {"need": rng.uniform(0, 100, n)}, geometry=gpd.points_from_xy(dxy[:, 0], dxy[:, 1]), crs=CRS
    )
    supply = gpd.GeoDataFrame(
        {"capacity": rng.uniform(1, 50, m)}, geometry=gpd.points_from_xy(sxy[:, 0], sxy[:, 1]), crs=CRS
    )
    return demand, supply


def expected_pairs(n: int, m: int) -> float:
    """Pairs in reach for uniform points, with the edge effect of a square (perimeter correction)."""
    r, s = CATCHMENT_M, SIDE_M
    share = (math.pi * r * r - 8 * r**3 / (3 * s) + r**4 / (2 * s * s)) / (s * s)
    return n * m * share


def available_bytes() -> int:
    try:
        with open("/proc/meminfo") as fh:
            for line in fh:
                if line.startswith("MemAvailable:"):
                    return int(line.split()[1]) * 1024
    except OSError:
        pass
    return os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_AVPHYS_PAGES")


def best_of(repeat: int, func: Callable[[], object]) -> tuple[float, object]:
    best, out = math.inf, None
    for _ in range(repeat):
        t0 = time.perf_counter()
        out = func()
        best = min(best, time.perf_counter() - t0)
    return best, out


def access_pairs(demand: gpd.GeoDataFrame, supply: gpd.GeoDataFrame) -> pd.DataFrame:
    dxy = demand.geometry.get_coordinates().to_numpy()
    sxy = supply.geometry.get_coordinates().to_numpy()
    sdm = cKDTree(dxy).sparse_distance_matrix(cKDTree(sxy), CATCHMENT_M, output_type="ndarray")
    return pd.DataFrame({"origin": sdm["i"], "dest": sdm["j"], "cost": sdm["v"]})


def access_run(demand: gpd.GeoDataFrame, supply: gpd.GeoDataFrame, enhanced: bool) -> np.ndarray:
    from access import Access, weights

    cost = access_pairs(demand, supply)
    dem = pd.DataFrame({"need": demand["need"].to_numpy()}, index=pd.RangeIndex(len(demand), name="geoid"))
    sup = pd.DataFrame(
        {"capacity": supply["capacity"].to_numpy()}, index=pd.RangeIndex(len(supply), name="geoid")
    )
    acc = Access(
        demand_df=dem,
        demand_value="need",
        supply_df=sup,
        supply_value="capacity",
        cost_df=cost,
        cost_origin="origin",
        cost_dest="dest",
        cost_name="cost",
    )
    if enhanced:
        out = acc.enhanced_two_stage_fca(max_cost=CATCHMENT_M, weight_fn=weights.step_fn(STEPS))
    else:
        out = acc.two_stage_fca(max_cost=CATCHMENT_M)
    return out.iloc[:, 0].reindex(np.arange(len(demand))).to_numpy(dtype=float)


def compare(ours: pd.DataFrame, theirs: np.ndarray) -> tuple[float, int]:
    """Largest relative difference where access is finite; disagreements on 'no service in reach'."""
    a = ours["access"].to_numpy()
    nan = np.isnan(theirs)
    mismatch = int(np.sum(nan != ~ours["covered"].to_numpy()) + np.sum(a[nan] != 0))
    fin = np.isfinite(theirs)
    denom = np.maximum(np.abs(theirs[fin]), np.finfo(float).tiny)
    rel = float(np.max(np.abs(a[fin] - theirs[fin]) / denom)) if fin.any() else 0.0
    return rel, mismatch + int(np.sum(np.isinf(theirs)))


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--sizes", default=None, help=f"demand x services list (default {DEFAULT_SIZES})")
    parser.add_argument("--quick", action="store_true", help=f"smoke run: sizes {QUICK_SIZES}, one repeat")
    parser.add_argument("--repeat", type=int, default=3, help="best of this many runs (default 3)")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--no-access", action="store_true", help="time socialmap only")
    parser.add_argument(
        "--max-access-seconds",
        type=float,
        default=120.0,
        help="skip access where one E2SFCA run is estimated over this; run it once if the repeats are (120)",
    )
    args = parser.parse_args()
    sizes = parse_sizes(args.sizes or (QUICK_SIZES if args.quick else DEFAULT_SIZES))
    repeat = 1 if args.quick else max(1, args.repeat)
    weight = step_weights(STEPS)

    print(
        f"socialmap.access vs PySAL access: uniform points in a {SIDE_M / 1000:.0f} km square (UTM 34N), "
        f"catchment {CATCHMENT_M / 1000:.0f} km, E2SFCA step weights {STEPS}, seed {args.seed}, "
        f"best of {repeat}"
    )
    print(f"machine: {os.cpu_count()} cores, shared with other jobs: timings are indicative")
    header = (
        f"{'size':>14} {'pairs':>11} {'method':>6} {'socialmap_s':>11} {'access_s':>9} "
        f"{'(pairs_s)':>9} {'ratio':>7} {'max_rel_diff':>12}"
    )
    print(header)
    for n, m in sizes:
        demand, supply = instance(n, m, args.seed)
        est = expected_pairs(n, m)
        skip = None
        if args.no_access:
            skip = "--no-access"
        elif est * ACCESS_BYTES_PER_PAIR > available_bytes() / 2:
            skip = f"needs ~{est * ACCESS_BYTES_PER_PAIR / 2**30:.1f} GiB, more than half the free memory"
        elif est * ACCESS_E2SFCA_SECONDS_PER_PAIR > args.max_access_seconds:
            skip = (
                f"E2SFCA estimated at ~{est * ACCESS_E2SFCA_SECONDS_PER_PAIR:.0f} s per run, over "
                f"--max-access-seconds {args.max_access_seconds:g}"
            )
        acc_repeat = repeat if est * ACCESS_E2SFCA_SECONDS_PER_PAIR * repeat <= args.max_access_seconds else 1
        note = "" if acc_repeat == repeat else "  (access: 1 run)"
        t_pairs, pairs = math.nan, -1
        if skip is None:
            t_pairs, cost = best_of(acc_repeat, lambda d=demand, s=supply: access_pairs(d, s))
            pairs = len(cost)  # type: ignore[arg-type]
            del cost
        for method, w in (("2SFCA", None), ("E2SFCA", weight)):
            t_ours, ours = best_of(
                repeat, lambda d=demand, s=supply, w=w: two_step_fca(d, s, catchment_m=CATCHMENT_M, weight=w)
            )
            assert isinstance(ours, pd.DataFrame)
            n_pairs = int(ours["n_services"].sum())
            size = f"{n}x{m}"
            if skip is not None:
                print(f"{size:>14} {n_pairs:>11} {method:>6} {t_ours:>11.3f} {'skipped':>9}")
                continue
            t_acc, theirs = best_of(
                acc_repeat, lambda d=demand, s=supply, e=w is not None: access_run(d, s, e)
            )
            assert isinstance(theirs, np.ndarray)
            rel, bad = compare(ours, theirs)
            assert pairs == n_pairs, (pairs, n_pairs)
            print(
                f"{size:>14} {n_pairs:>11} {method:>6} {t_ours:>11.3f} {t_acc:>9.3f} {t_pairs:>9.3f} "
                f"{t_acc / t_ours:>6.1f}x {rel:>12.2e}"
                + (f"  ({bad} disagreements on coverage!)" if bad else "")
                + note
            )
        if skip is not None:
            print(f"{'':>14} access skipped at {n}x{m}: {skip}")


if __name__ == "__main__":
    main()
