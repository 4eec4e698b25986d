"""
A synthetic OpenStreetMap extract the size of Kosovo's, for benchmarks (no download).

Written with pyosmium (``osmium`` on PyPI, a dev dependency): a grid of roads over a 100 km x 100 km square
in Kosovo's longitudes and latitudes, about 550 x 550 junctions (~300,000), every stretch between two
junctions bent through intermediate vertices with a random jitter (so that the file compresses like real
data), the version, changeset and timestamp of every object (as in the extracts people download), a road
hierarchy (primary every 25th line, secondary every 5th, residential otherwise; some maxspeed and oneway
tags), and closed building ways between the roads, so that the reader also has to skip what is not a road,
as in a real extract. Node ids are sorted, as in real extracts.
"""

from __future__ import annotations

import datetime as dt
import math
import os
from pathlib import Path

import numpy as np

LON0, LAT0 = 20.4, 42.1  # south-west corner


def make_pbf(
    path: Path, *, junctions: int = 550, bends: int = 4, buildings: int = 250_000, seed: int = 0
) -> Path:
    """Write the synthetic extract to ``path`` (kept if it exists already) and return it."""
    import osmium
    from osmium.osm.mutable import Node, Way

    path = Path(path)
    if path.exists():
        return path
    rng = np.random.default_rng(seed)
    size_m = 104_000.0
    dlat = size_m / 111_320.0
    dlon = size_m / (111_320.0 * math.cos(math.radians(LAT0 + dlat / 2)))
    k = junctions
    step_lon, step_lat = dlon / (k - 1), dlat / (k - 1)
    tmp = path.with_suffix(".tmp.pbf")
    if tmp.exists():
        tmp.unlink()
    jid = np.arange(1, k * k + 1, dtype=np.int64).reshape(k, k)  # junction ids, row-major (lat, lon)
    jlon = LON0 + np.arange(k) * step_lon
    jlat = LAT0 + np.arange(k) * step_lat
    next_id = k * k + 1
    base = dt.datetime(2012, 1, 1, tzinfo=dt.UTC)

    def meta() -> dict[str, object]:
        # version, changeset and timestamp, as in the extracts people download (they make up most of a file)
        return {
            "version": int(rng.integers(1, 8)),
            "changeset": int(rng.integers(1, 160_000_000)),
            "timestamp": base + dt.timedelta(seconds=int(rng.integers(0, 400_000_000))),
        }

    with osmium.SimpleWriter(str(tmp)) as w:
        for r in range(k):
            for c in range(k):
                w.add_node(Node(id=int(jid[r, c]), location=(float(jlon[c]), float(jlat[r])), **meta()))
        # Bend vertices: for each horizontal and vertical stretch, `bends` jittered points.
        stretches = []
        for horizontal in (True, False):
            for line in range(k):
                ids_line = []
                for s in range(k - 1):
                    if horizontal:
                        a_lon, a_lat = jlon[s], jlat[line]
                        t = (np.arange(1, bends + 1) / (bends + 1))[:, None]
                        lon = a_lon + t[:, 0] * step_lon + rng.normal(0, step_lon * 0.02, bends)
                        lat = np.full(bends, a_lat) + rng.normal(0, step_lat * 0.05, bends)
                    else:
                        a_lon, a_lat = jlon[line], jlat[s]
                        t = (np.arange(1, bends + 1) / (bends + 1))[:, None]
                        lat = a_lat + t[:, 0] * step_lat + rng.normal(0, step_lat * 0.02, bends)
                        lon = np.full(bends, a_lon) + rng.normal(0, step_lon * 0.05, bends)
                    ids = list(range(next_id, next_id + bends))
                    next_id += bends
                    for i, x, y in zip(ids, lon, lat, strict=True):
                        w.add_node(Node(id=i, location=(float(x), float(y)), **meta()))
                    ids_line.append(ids)
                stretches.append((horizontal, line, ids_line))
        # Buildings: 4-corner closed ways inside grid cells.
        b_nodes = []
        br = rng.integers(0, k - 1, buildings)
        bc = rng.integers(0, k - 1, buildings)
        for b in range(buildings):
            lon = jlon[bc[b]] + step_lon * rng.uniform(0.2, 0.7)
            lat = jlat[br[b]] + step_lat * rng.uniform(0.2, 0.7)
            e = step_lon * 0.05
            ids = list(range(next_id, next_id + 4))
            next_id += 4
            for i, (x, y) in zip(
                ids, ((lon, lat), (lon + e, lat), (lon + e, lat + e), (lon, lat + e)), strict=True
            ):
                w.add_node(Node(id=i, location=(float(x), float(y)), **meta()))
            b_nodes.append(ids)
        way_id = 1
        for horizontal, line, ids_line in stretches:
            if line % 25 == 0:
                tags = {"highway": "primary", "maxspeed": "80"}
            elif line % 5 == 0:
                tags = {"highway": "secondary"}
            else:
                tags = {"highway": "residential"}
            # One way per 10 stretches, as mapped roads are.
            for s0 in range(0, k - 1, 10):
                refs: list[int] = []
                for s in range(s0, min(s0 + 10, k - 1)):
                    a = int(jid[line, s]) if horizontal else int(jid[s, line])
                    refs.append(a)
                    refs.extend(ids_line[s])
                end = min(s0 + 10, k - 1)
                refs.append(int(jid[line, end]) if horizontal else int(jid[end, line]))
                way_tags = dict(tags)
                if tags["highway"] == "residential" and (line + s0) % 17 == 0:
                    way_tags["oneway"] = "yes"
                w.add_way(Way(id=way_id, nodes=refs, tags=way_tags, **meta()))
                way_id += 1
        for ids in b_nodes:
            w.add_way(Way(id=way_id, nodes=[*ids, ids[0]], tags={"building": "yes"}, **meta()))
            way_id += 1
    os.replace(tmp, path)
    return path
