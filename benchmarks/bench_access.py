"""Benchmark socialmap.access (2SFCA / E2SFCA) against PySAL `access` and a hand-written KD-tree + bincount.

Points are uniform in a 130 km x 130 km square (about the size of Kosovo) in UTM 34N coordinates
(x 400-530 km, y 4600-4730 km); need ~ U(0, 100) per demand point, capacity ~ U(1, 50) per service;
catchment 15 km; E2SFCA weights step {5000: 1, 10000: 0.68, 15000: 0.22} (metres).

Three implementations, each timed end to end from the same GeoDataFrames, in a process of its own (so that
its peak memory is its own):
- socialmap: the one call `two_step_fca(demand, supply, catchment_m=..., weight=...)`, with its default
  workers (every core, as forked processes, above 20M block entries: here 200k x 2k, 24M; one below);
- KD-tree + bincount: what a user who knows scipy writes by hand: coordinates -> `cKDTree.
  sparse_distance_matrix` (every pair in reach) -> the step weights -> two `np.bincount` (the two steps);
- access: the same pairs -> cost DataFrame -> `Access(...)` -> `two_stage_fca` / `enhanced_two_stage_fca`.
Times are the median of `--repeat` runs after a small warm-up run (imports are not counted here: bench_demo
counts them), access: one run where its estimated E2SFCA time x repeats would
exceed --max-access-seconds); "peak MB" is the process's peak resident memory (ru_maxrss) minus what it held
before the first run (the interpreter, the imports and the instance). The largest relative difference is
over the points where the other has a finite value; where access has NaN (no service in reach) socialmap must
have access 0 and covered False.

    .venv/bin/python benchmarks/bench_access.py                      # 10k x 500, 50k x 1k, 200k x 2k
    .venv/bin/python benchmarks/bench_access.py --quick              # a fast smoke run
    .venv/bin/python benchmarks/bench_access.py --sizes 50000x1000 --repeat 5
"""

from __future__ import annotations

import argparse
import json
import math
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np

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


def load() -> str:
    return " ".join(f"{x:.2f}" for x in os.getloadavg())


def parse_sizes(text: str) -> list[tuple[int, int]]:
    sizes = []
    for item in text.split(","):
        n, m = item.lower().split("x")
        sizes.append((int(float(n)), int(float(m))))
    return sizes


def instance(n: int, m: int, seed: int) -> tuple[Any, Any]:
    import geopandas as gpd

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


# ----------------------------------------------------------------------------------------------------
# the three implementations (run in a child process each)
# ----------------------------------------------------------------------------------------------------


def kdtree_pairs(demand: Any, supply: Any) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    from scipy.spatial import cKDTree

    dxy = demand.geometry.get_coordinates().to_numpy()
    sxy = supply.geometry.get_coordinates().to_numpy()
    sdm = cKDTree(dxy).sparse_distance_matrix(cKDTree(sxy), CATCHMENT_M, output_type="ndarray")
    return sdm["i"], sdm["j"], sdm["v"]


def run_kdtree(demand: Any, supply: Any, enhanced: bool) -> tuple[np.ndarray, int]:
    """2SFCA / E2SFCA by hand: every pair from a KD-tree, then the two steps as weighted bincounts."""
    i, j, d = kdtree_pairs(demand, supply)
    need = demand["need"].to_numpy()
    cap = supply["capacity"].to_numpy()
    if enhanced:
        bounds = np.array(sorted(STEPS))
        w = np.append([STEPS[b] for b in bounds], 0.0)[np.searchsorted(bounds, d, side="left")]
    else:
        w = np.ones(len(d))
    wneed = np.bincount(j, weights=w * need[i], minlength=len(cap))
    with np.errstate(divide="ignore", invalid="ignore"):
        ratio = np.where(wneed > 0, cap / wneed, 0.0)
    access = np.bincount(i, weights=w * ratio[j], minlength=len(need))
    return np.where(np.bincount(i, minlength=len(need)) > 0, access, np.nan), len(i)


def run_access(demand: Any, supply: Any, enhanced: bool) -> tuple[np.ndarray, int]:
    import pandas as pd
    from access import Access, weights

    i, j, d = kdtree_pairs(demand, supply)
    cost = pd.DataFrame({"origin": i, "dest": j, "cost": d})
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
    return out.iloc[:, 0].reindex(np.arange(len(demand))).to_numpy(dtype=float), len(cost)


def run_socialmap(demand: Any, supply: Any, enhanced: bool) -> tuple[np.ndarray, int]:
    from socialmap.access import step_weights, two_step_fca

    weight = step_weights(STEPS) if enhanced else None
    out = two_step_fca(demand, supply, catchment_m=CATCHMENT_M, weight=weight)
    access = np.where(out["covered"].to_numpy(), out["access"].to_numpy(), np.nan)
    return access, int(out["n_services"].sum())


IMPLEMENTATIONS: dict[str, Callable[[Any, Any, bool], tuple[np.ndarray, int]]] = {
    "socialmap": run_socialmap,
    "kdtree": run_kdtree,
    "access": run_access,
}


def child(spec: dict[str, Any]) -> dict[str, Any]:
    func = IMPLEMENTATIONS[spec["impl"]]
    func(*instance(500, 20, spec["seed"] + 1), spec["enhanced"])  # imports and first calls: not timed
    demand, supply = instance(spec["n"], spec["m"], spec["seed"])
    base = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    times, out, pairs = [], None, 0
    for _ in range(spec["repeat"]):
        t0 = time.perf_counter()
        out, pairs = func(demand, supply, spec["enhanced"])
        times.append(time.perf_counter() - t0)
    peak = (resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - base) / 1024
    assert out is not None
    np.save(spec["out"], out)
    return {"time": statistics.median(times), "peak_mb": peak, "pairs": pairs}


def run_child(**spec: Any) -> dict[str, Any]:
    proc = subprocess.run(
        [sys.executable, __file__, "--child", json.dumps(spec)], capture_output=True, text=True
    )
    if proc.returncode != 0:
        sys.stderr.write(proc.stderr)
        raise SystemExit(f"the {spec['impl']} run failed (exit {proc.returncode})")
    return json.loads(proc.stdout.strip().splitlines()[-1])


def max_rel_diff(ours: np.ndarray, other: np.ndarray) -> tuple[float, int]:
    """Largest relative difference where ``other`` is finite; disagreements on 'no service in reach'."""
    fin = np.isfinite(other)
    mismatch = int(np.sum(np.isnan(other) != np.isnan(ours))) + int(np.sum(np.isinf(other)))
    a, b = np.nan_to_num(ours[fin]), other[fin]
    denom = np.maximum(np.abs(b), np.finfo(float).tiny)
    return (float(np.max(np.abs(a - b) / denom)) if fin.any() else 0.0), mismatch


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--sizes", default=None, help=f"demand x services list (default {DEFAULT_SIZES})")
    parser.add_argument("--quick", action="store_true", help=f"smoke run: sizes {QUICK_SIZES}, one repeat")
    parser.add_argument("--repeat", type=int, default=3, help="median of this many runs (default 3)")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--no-access", action="store_true", help="skip PySAL access")
    parser.add_argument(
        "--max-access-seconds",
        type=float,
        default=120.0,
        help="skip access where one E2SFCA run is estimated over this; run it once if the repeats are (120)",
    )
    parser.add_argument("--child", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        print(json.dumps(child(json.loads(args.child))))
        return
    sizes = parse_sizes(args.sizes or (QUICK_SIZES if args.quick else DEFAULT_SIZES))
    repeat = 1 if args.quick else max(1, args.repeat)

    print(
        f"socialmap.access vs a KD-tree + bincount and PySAL access: uniform points in a "
        f"{SIDE_M / 1000:.0f} km square (UTM 34N), catchment {CATCHMENT_M / 1000:.0f} km, E2SFCA step "
        f"weights {STEPS}, seed {args.seed}, median of {repeat} (after one small warm-up run)"
    )
    print(f"machine: {os.cpu_count()} cores, shared with other jobs; load {load()}")
    print(
        f"{'size':>14} {'pairs':>11} {'method':>6} | {'socialmap s':>11} {'MB':>5} | {'kdtree s':>8} "
        f"{'MB':>5} {'ratio':>6} {'max_rel':>8} | {'access s':>8} {'MB':>5} {'ratio':>6} {'max_rel':>8} "
        "| load"
    )
    with tempfile.TemporaryDirectory() as tmp:
        for n, m in sizes:
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
            acc_repeat = (
                repeat if est * ACCESS_E2SFCA_SECONDS_PER_PAIR * repeat <= args.max_access_seconds else 1
            )
            for method, enhanced in (("2SFCA", False), ("E2SFCA", True)):
                res: dict[str, dict[str, Any]] = {}
                outs: dict[str, np.ndarray] = {}
                for impl in ("socialmap", "kdtree", "access"):
                    if impl == "access" and skip is not None:
                        continue
                    path = str(Path(tmp) / f"{impl}.npy")
                    reps = acc_repeat if impl == "access" else repeat
                    res[impl] = run_child(
                        impl=impl, n=n, m=m, seed=args.seed, enhanced=enhanced, repeat=reps, out=path
                    )
                    outs[impl] = np.load(path)
                ours = outs["socialmap"]
                s = res["socialmap"]
                assert all(r["pairs"] == s["pairs"] for r in res.values()), {
                    k: r["pairs"] for k, r in res.items()
                }
                size = f"{n}x{m}"
                line = f"{size:>14} {s['pairs']:>11,} {method:>6} | {s['time']:>11.3f} {s['peak_mb']:>5.0f} |"
                for impl in ("kdtree", "access"):
                    if impl not in res:
                        line += f" {'skipped':>8} {'':>5} {'':>6} {'':>8} |"
                        continue
                    rel, bad = max_rel_diff(ours, outs[impl])
                    r = res[impl]
                    line += (
                        f" {r['time']:>8.3f} {r['peak_mb']:>5.0f} {r['time'] / s['time']:>5.1f}x {rel:>8.1e}"
                        + (f" ({bad} disagree!)" if bad else "")
                        + " |"
                    )
                print(f"{line} {load()}", flush=True)
            if skip is not None:
                print(f"{'':>14} access skipped at {n}x{m}: {skip}")
    print("ratio = that implementation's time / socialmap's (above 1: socialmap is faster); MB = peak memory")


if __name__ == "__main__":
    main()
