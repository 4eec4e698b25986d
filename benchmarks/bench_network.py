"""Benchmark travel-time catchments on a Kosovo-sized road network (socialmap.network), against networkx.

What is measured (each case in a fresh Python process, so that its time includes the imports and its peak
memory is its own; the machine is shared, so the load average is printed with every figure):

1. **Reading a 40 MB PBF**: a synthetic OpenStreetMap extract (``benchmarks/_osm_synthetic.py``, written with
   pyosmium: a 100 km grid of bent roads, ~300,000 junctions, building ways, object metadata) read into a
   drive graph with :func:`socialmap.network.read_osm`. Target: <= 10 s and <= 1 GB.
2. **Driving, 30 minutes**: a synthetic road graph of Kosovo's size (a 548 x 548 grid of junctions 190 m
   apart over 104 km x 104 km, primary roads every 25th line at 65 km/h, tertiary every 5th at 40 km/h,
   residential at 25 km/h, 30 % of the residential stretches missing; largest strongly connected part kept:
   about 300,000 junctions), 1,000,000 demand cells (a 1000 x 1000 grid, need ~ U(0, 10)) and 5,000 services
   (uniform, capacity ~ U(5, 50)); the graph loaded from ``.npz`` and plain 2SFCA with
   :func:`socialmap.network.fca`. Target: <= 60 s and <= 2 GB.
3. **Walking, 30 minutes**: the same grid walked at 5 km/h, same demand and services. Target: <= 15 s.
4. **networkx, side by side**: osmnx's graphs are networkx graphs, and what osmnx users run for catchments
   is ``nx.single_source_dijkstra_path_length(G, source, cutoff=..., weight=...)``. On the same drive graph
   (reversed, as socialmap searches it) and the same service nodes, a sample of searches by networkx and by
   scipy (what socialmap runs), the largest difference of their times, and the ratio per search. The whole
   5,000 searches by networkx are extrapolated from the sample (said so), not run.

    .venv/bin/python benchmarks/bench_network.py             # everything (the PBF is built once, ~40 s)
    .venv/bin/python benchmarks/bench_network.py --quick     # a 100 x 100 grid, 20,000 cells, 200 services
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import numpy as np

CRS = "EPSG:32634"
ORIGIN = (400_000.0, 4_600_000.0)
SPACING_M = 190.0
CACHE = Path(tempfile.gettempdir()) / "socialmap-bench-network"


def loadavg() -> str:
    try:
        return " ".join(Path("/proc/loadavg").read_text().split()[:3])
    except OSError:
        return "?"


def peak_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


# ----------------------------------------------------------------------------------------------------
# Inputs (built once, cached in the temporary folder)
# ----------------------------------------------------------------------------------------------------


def grid_roads(k: int, seed: int = 0) -> Any:
    """The synthetic road layer: k x k junctions, one 2-point line per stretch, speeds by class."""
    import geopandas as gpd
    import shapely

    rng = np.random.default_rng(seed)
    x = ORIGIN[0] + np.arange(k) * SPACING_M
    y = ORIGIN[1] + np.arange(k) * SPACING_M
    segs, kmh = [], []
    for horizontal in (True, False):
        for line in range(k):
            cls = 65.0 if line % 25 == 0 else 40.0 if line % 5 == 0 else 25.0
            s = np.arange(k - 1)
            if horizontal:
                a = np.column_stack([x[s], np.full(k - 1, y[line])])
                b = np.column_stack([x[s + 1], np.full(k - 1, y[line])])
            else:
                a = np.column_stack([np.full(k - 1, x[line]), y[s]])
                b = np.column_stack([np.full(k - 1, x[line]), y[s + 1]])
            keep = np.ones(k - 1, dtype=bool) if cls > 25 else rng.random(k - 1) > 0.3
            segs.append(np.stack([a[keep], b[keep]], axis=1))
            kmh.append(np.full(int(keep.sum()), cls))
    coords = np.concatenate(segs)
    geoms = shapely.linestrings(coords)
    return gpd.GeoDataFrame({"kmh": np.concatenate(kmh)}, geometry=geoms, crs=CRS)


def inputs(k: int, n_cells: int, n_services: int) -> dict[str, Path]:
    from socialmap import network

    folder = CACHE / f"grid{k}_{n_cells}_{n_services}"
    folder.mkdir(parents=True, exist_ok=True)
    paths = {name: folder / f"{name}" for name in ("drive.npz", "walk.npz", "demand.npz")}
    if all(p.exists() for p in paths.values()):
        return paths
    roads = grid_roads(k)
    drive = network.from_edges(roads, speed="kmh", mode="drive", crs=CRS, source="synthetic grid")
    walk = network.from_edges(roads, mode="walk", crs=CRS, source="synthetic grid")
    network.save(drive, paths["drive.npz"])
    network.save(walk, paths["walk.npz"])
    rng = np.random.default_rng(1)
    side = (k - 1) * SPACING_M
    m = int(round(np.sqrt(n_cells)))
    cx = ORIGIN[0] + (np.arange(m) + 0.5) * side / m
    dxy = np.column_stack([np.repeat(cx, m), np.tile(cx - ORIGIN[0] + ORIGIN[1], m)])
    need = rng.uniform(0, 10, len(dxy))
    sxy = np.column_stack(
        [rng.uniform(0, side, n_services) + ORIGIN[0], rng.uniform(0, side, n_services) + ORIGIN[1]]
    )
    cap = rng.uniform(5, 50, n_services)
    np.savez(paths["demand.npz"], dxy=dxy, need=need, sxy=sxy, cap=cap)
    return paths


# ----------------------------------------------------------------------------------------------------
# Children: one case each, in a fresh process
# ----------------------------------------------------------------------------------------------------


def child_read(pbf: str) -> dict[str, Any]:
    from socialmap import network

    g = network.read_osm(pbf, mode="drive")
    return {"nodes": g.n_nodes, "edges": g.n_edges, "peak_mb": peak_mb()}


def child_fca(graph: str, demand: str, minutes: float) -> dict[str, Any]:
    from socialmap import network

    t = time.perf_counter()
    g = network.load(graph)
    d = np.load(demand)
    t_load = time.perf_counter() - t
    t = time.perf_counter()
    res = network.fca(g, d["dxy"], d["need"], d["sxy"], d["cap"], catchment_min=minutes)
    t_fca = time.perf_counter() - t
    cpu = resource.getrusage(resource.RUSAGE_SELF)
    return {
        "nodes": g.n_nodes,
        "edges": g.n_edges,
        "cells": len(d["dxy"]),
        "services": len(d["sxy"]),
        "pairs": int(res.n_services.sum()),
        "covered": float(res.covered.mean()),
        "off_network": int(res.demand_off_network.sum()),
        "load_s": t_load,
        "fca_s": t_fca,
        "cpu_s": cpu.ru_utime + cpu.ru_stime,
        "peak_mb": peak_mb(),
    }


def child_peer(graph: str, demand: str, minutes: float, sample: int) -> dict[str, Any]:
    import networkx as nx
    from scipy.sparse.csgraph import dijkstra

    from socialmap import network

    g = network.load(graph)
    d = np.load(demand)
    nodes = network.snap(g, d["sxy"]).node
    src = np.unique(nodes[nodes >= 0])
    pick = src[np.random.default_rng(2).choice(len(src), size=min(sample, len(src)), replace=False)]
    rev = g.reversed_matrix
    # scipy first (before millions of networkx objects fill the memory), one search per call as networkx.
    t = time.perf_counter()
    rows = [dijkstra(rev, indices=[int(s)], limit=minutes)[0] for s in pick]
    t_sp = time.perf_counter() - t
    t = time.perf_counter()
    G = nx.DiGraph()  # noqa: N806 - networkx's usual name
    coo = rev.tocoo()
    G.add_weighted_edges_from(zip(coo.row.tolist(), coo.col.tolist(), coo.data.tolist(), strict=True))
    t_build = time.perf_counter() - t
    t = time.perf_counter()
    nx_rows = [
        nx.single_source_dijkstra_path_length(G, int(s), cutoff=minutes, weight="weight") for s in pick
    ]
    t_nx = time.perf_counter() - t
    t = time.perf_counter()
    rows_after = [dijkstra(rev, indices=[int(s)], limit=minutes)[0] for s in pick]
    t_sp_after = time.perf_counter() - t
    assert all(np.array_equal(x, y) for x, y in zip(rows, rows_after, strict=True))
    worst = 0.0
    same_sets = True
    for row, ref in zip(rows, nx_rows, strict=True):
        reached = np.flatnonzero(np.isfinite(row))
        same_sets &= set(reached.tolist()) == set(ref)
        want = np.array([ref[int(v)] for v in reached])
        worst = max(worst, float(np.max(np.abs(row[reached] - want))) if len(want) else 0.0)
    return {
        "searches": len(pick),
        "services_nodes": len(src),
        "nx_build_s": t_build,
        "nx_per_search_ms": 1000 * t_nx / len(pick),
        "scipy_per_search_ms": 1000 * t_sp / len(pick),
        "scipy_after_nx_ms": 1000 * t_sp_after / len(pick),
        "same_nodes_reached": bool(same_sets),
        "max_abs_diff_min": worst,
        "reached_per_search": float(np.mean([len(r) for r in nx_rows])),
        "peak_mb": peak_mb(),
    }


def run_child(*args: str) -> tuple[dict[str, Any], float, str]:
    before = loadavg()
    t = time.perf_counter()
    out = subprocess.run(
        [sys.executable, __file__, "--child", *args], check=True, capture_output=True, text=True
    ).stdout
    wall = time.perf_counter() - t
    return json.loads(out.strip().splitlines()[-1]), wall, before


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="small sizes, to check that it runs")
    parser.add_argument("--child", nargs="+", help=argparse.SUPPRESS)
    parser.add_argument("--sample", type=int, default=50, help="searches timed for networkx vs scipy")
    parser.add_argument("--no-pbf", action="store_true", help="skip building and reading the 40 MB PBF")
    args = parser.parse_args()
    if args.child:
        kind, *rest = args.child
        if kind == "read":
            res = child_read(rest[0])
        elif kind == "fca":
            res = child_fca(rest[0], rest[1], float(rest[2]))
        else:
            res = child_peer(rest[0], rest[1], float(rest[2]), int(rest[3]))
        print(json.dumps(res))
        return

    k, cells, services = (100, 20_000, 200) if args.quick else (548, 1_000_000, 5_000)
    print(f"# bench_network ({'quick' if args.quick else 'full'}); load average at start: {loadavg()}")
    print(f"# {os.cpu_count()} CPUs; cache: {CACHE}")
    if not args.no_pbf:
        sys.path.insert(0, str(Path(__file__).parent))
        from _osm_synthetic import make_pbf

        pbf = CACHE / ("synthetic_small.osm.pbf" if args.quick else "synthetic_kosovo.osm.pbf")
        CACHE.mkdir(parents=True, exist_ok=True)
        t = time.perf_counter()
        existed = pbf.exists()
        make_pbf(pbf, junctions=120 if args.quick else 550, buildings=2_000 if args.quick else 50_000)
        if not existed:
            print(f"built {pbf.name} in {time.perf_counter() - t:.1f} s (pyosmium)")
        res, wall, la = run_child("read", str(pbf))
        size = pbf.stat().st_size / 1e6
        print(
            f"read_osm(drive) of a {size:.1f} MB PBF: {wall:.2f} s wall, peak {res['peak_mb']:.0f} MB; "
            f"{res['nodes']:,} nodes, {res['edges']:,} edges   [target <= 10 s, <= 1 GB; load {la}]"
        )
    t = time.perf_counter()
    paths = inputs(k, cells, services)
    print(f"inputs ready in {time.perf_counter() - t:.1f} s (built once, then cached)")
    fca_runs = {}
    for mode, target in (("drive", 60), ("walk", 15)):
        res, wall, la = run_child("fca", str(paths[f"{mode}.npz"]), str(paths["demand.npz"]), "30")
        print(
            f"{mode} 30 min, {res['cells']:,} cells x {res['services']:,} services on "
            f"{res['nodes']:,} junctions ({res['edges']:,} edges): {wall:.1f} s wall "
            f"(load {res['load_s']:.1f} s, fca {res['fca_s']:.1f} s, "
            f"cpu {res['cpu_s']:.1f} s), peak {res['peak_mb']:.0f} MB; {res['pairs']:,} cell-service pairs "
            f"within reach, {100 * res['covered']:.1f} % of cells covered   [target <= {target} s"
            f"{', <= 2 GB' if mode == 'drive' else ''}; load {la}]"
        )
        fca_runs[mode] = res
    res, wall, la = run_child(
        "peer", str(paths["drive.npz"]), str(paths["demand.npz"]), "30", str(args.sample)
    )
    ratio = res["nx_per_search_ms"] / res["scipy_per_search_ms"]
    print(
        f"networkx vs scipy, drive 30 min, {res['searches']} searches from service nodes "
        f"(~{res['reached_per_search']:,.0f} junctions reached each): networkx "
        f"{res['nx_per_search_ms']:.1f} ms/search (graph built in {res['nx_build_s']:.1f} s), scipy "
        f"{res['scipy_per_search_ms']:.1f} ms/search ({res['scipy_after_nx_ms']:.1f} ms with the networkx "
        f"graph in memory); ratio {ratio:.1f}x; same nodes reached: "
        f"{res['same_nodes_reached']}, largest time difference {res['max_abs_diff_min']:.2g} min"
        f"   [load {la}]"
    )
    print(
        f"  extrapolated: networkx would spend "
        f"{res['nx_per_search_ms'] * res['services_nodes'] / 1000:.0f} s on "
        f"the {res['services_nodes']:,} searches alone (estimate from the sample, not run)"
    )
    per_service = 1000 * fca_runs["drive"]["fca_s"] / res["services_nodes"]
    print(
        f"  socialmap's whole drive run (searches, both 2SFCA steps, nearest service): {per_service:.1f} ms "
        f"per service node; networkx's search alone {res['nx_per_search_ms'] / per_service:.1f}x that"
    )
    print(f"# load average at end: {loadavg()}")


if __name__ == "__main__":
    main()
