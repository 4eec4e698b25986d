#!/usr/bin/env python
"""Build the embedded Kosovo demo data (data/boundaries, data/population, data/services, data/README.md).

Inputs, and nothing else:

* the national outline of Kosovo from Natural Earth 1:10m (public domain), as redistributed in the npm
  package ``world-atlas@2.0.2`` (file ``countries-10m.json``, TopoJSON). Install it first with
  ``npm ci --prefix scripts`` (the version is pinned in scripts/package.json and package-lock.json);
* the public facts table ``municipalities.csv`` (official areas, census figures with their sources,
  approximate seat coordinates), read from ``../shared/data/kosovo/`` beside the checkout or ``--facts``.

The municipal polygons are **schematic**: the outline is tiled into one polygon per municipality that
contains the municipal seat and has (within a few per cent) the official area. They are not the real
boundaries and must not be used for measurement.

Method (all in the equal-area CRS EPSG:3035):

1. A grid of ``--cell-m`` squares covers the outline; each square carries its share inside the outline.
2. Municipalities smaller than ``TINY_KM2`` are drawn first as discs of their area around a centre near the
   seat, chosen so that the seat lies well inside and every other seat well outside.
3. The other grid squares are assigned to the seat with the smallest additively weighted distance
   ``|x - seat| - w``. Such regions are star-shaped around their seat. Grid fragments cut off from their
   seat (by the outline) go to the neighbour they share most edges with. The weights are adjusted until
   every area is within ``RASTER_TOLERANCE`` of its target (400 m, 200 m, then ``--cell-m`` squares),
   with the weight differences capped so that each seat stays at least ``SEAT_MARGIN_M`` from its edges.
4. The squares are polygonised; the corners on each shared edge are moved onto the curve the rule draws
   there (identically on both sides); the shared edges are simplified as a coverage (no gaps, no
   overlaps); the result is clipped to the outline in lon/lat on a 1e-5 degree grid.

Illustrative services are placed with a fixed seed. Two runs give byte-identical files.

Usage (from the repository root)::

    npm ci --prefix scripts && .venv/bin/python scripts/build_demo.py
"""

from __future__ import annotations

import argparse
import csv
import hashlib
import io
import json
import math
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd
import rasterio.features
import shapely
import shapely.geometry
import shapely.ops
from pyproj import Transformer
from scipy import ndimage
from scipy.sparse import coo_matrix
from scipy.sparse.csgraph import connected_components

ROOT = Path(__file__).resolve().parents[1]
DEFAULT_FACTS = ROOT.parent / "shared" / "data" / "kosovo" / "municipalities.csv"
DEFAULT_ATLAS = ROOT / "scripts" / "node_modules" / "world-atlas" / "countries-10m.json"
DEFAULT_OUT = ROOT / "data"

WORLD_ATLAS_VERSION = "2.0.2"
#: sha256 of countries-10m.json in world-atlas 2.0.2 (Natural Earth 4.1.0).
COUNTRIES_10M_SHA256 = "3bc6f1d367a9bcec479841bae0e76092f512838411d0cef124e92eec4db45f79"

EQUAL_AREA_CRS = "EPSG:3035"
#: Output coordinates are rounded to this many decimal degrees (about 1 m).
DECIMALS = 5
GRID_DEG = 10.0**-DECIMALS
#: Municipalities smaller than this are drawn as discs before the others are grown.
TINY_KM2 = 15.0
#: Every seat stays at least this far from the edges of its schematic municipality.
SEAT_MARGIN_M = 300.0
#: A disc keeps its own seat, and every other seat, at least this far from its edge.
DISC_MARGIN_M = 300.0
#: Raster areas must reach their target within this relative tolerance.
RASTER_TOLERANCE = 0.005
#: The final polygons must be within this relative tolerance of the reference area, or the build fails.
FINAL_TOLERANCE = 0.03
#: Grid-square size of the coarse passes before the final one.
COARSE_CELLS_M = (400.0, 200.0)
#: Coverage-simplification tolerance (about the square root of the largest triangle area dropped), metres.
SIMPLIFY_M = 50.0
#: A seat outside the Natural Earth outline is moved to the nearest point this far inside it.
SEAT_INSET_M = 500.0
SEED = 20241219

#: Reference areas for the municipalities whose official measured area is blank in the facts table.
#: Each figure is one of the alternatives named in that row's notes column. Rule: never the geoBoundaries
#: polygon area (derived from third-party boundaries); figures the notes call "old" are not used; among
#: the rest, the most precisely stated figure. None of them is an official measurement.
AREA_FALLBACKS: dict[str, tuple[float, str]] = {
    "16": (278.0, "en.wikipedia infobox (the only alternative in the notes)"),
    "22": (134.0, "geohive (the only alternative in the notes)"),
    "23": (247.36, "Serbian MZP page (the notes also give geohive 248)"),
    "36": (77.62, "cs.wikipedia (the notes also give geohive 69)"),
    "37": (29.0, "geohive (the notes also give old en.wikipedia 18, superseded)"),
}

#: The facts table marks the final 2024 figures of the northern municipalities as KAS estimates with this.
KAS_ESTIMATE_MARK = "KAS ESTIMATE"

#: Illustrative services: (service type, id prefix, display name, how many, capacity range, providers).
#: The display names are given in English, Albanian and Serbian (Latin), for the `name_<lang>` columns.
ILLUSTRATIVE = (
    (
        "day_care_disability",
        "DCD",
        ("Day care centre", "Qendër ditore", "Dnevni centar"),
        30,
        (15, 40),
        ("ngo",),
    ),
    (
        "home_care_elderly",
        "HCE",
        ("Home care service", "Shërbim i kujdesit në shtëpi", "Služba nege u kući"),
        20,
        (20, 80),
        ("public", "ngo"),
    ),
    (
        "residential_elderly",
        "REL",
        ("Residential home for older people", "Shtëpi për të moshuarit", "Dom za starije"),
        8,
        (20, 60),
        ("public", "ngo", "private"),
    ),
    ("shelter_dv", "SDV", ("Shelter", "Strehimore", "Sklonište"), 10, (8, 20), ("ngo",)),
    (
        "community_housing",
        "CHO",
        ("Community-based housing", "Strehim me bazë në komunitet", "Stanovanje u zajednici"),
        12,
        (4, 10),
        ("public", "ngo"),
    ),
    (
        "counselling_family",
        "CFS",
        ("Counselling centre", "Qendër këshillimi", "Savetovalište"),
        24,
        (10, 40),
        ("public", "ngo"),
    ),
)
#: How "Centre for Social Work" and "(illustrative)" read in English, Albanian and Serbian (Latin).
CSW_NAME = ("Centre for Social Work", "Qendra për Punë Sociale", "Centar za socijalni rad")
ILLUSTRATIVE_WORD = ("illustrative", "ilustrues", "ilustrativno")
#: Illustrative services keep at least this distance from the edges of their municipality.
SERVICE_INSET_M = 150.0


# --------------------------------------------------------------------------------------------- inputs


def read_facts(path: Path) -> pd.DataFrame:
    """Read municipalities.csv (KAS codes as strings), checking the columns and fallbacks this script uses."""
    if not path.is_file():
        sys.exit(f"facts table not found: {path} (pass --facts PATH)")
    facts = pd.read_csv(path, dtype={"kas_code": str}, keep_default_na=True)
    need = {
        "kas_code",
        "name_sq",
        "name_sr_latn",
        "name_en",
        "district",
        "area_km2",
        "pop_2011_census",
        "pop_2024_prelim_jul2024",
        "pop_2024_final_dec2024",
        "pop_2024_series_unstated",
        "seat_lat_approx",
        "seat_lon_approx",
        "src_pop_2024_prelim",
        "src_pop_2024_final",
        "src_pop_2024_series_unstated",
        "notes",
    }
    missing = sorted(need - set(facts.columns))
    if missing:
        sys.exit(f"{path}: missing column(s) {missing}")
    if len(facts) != 38 or facts["kas_code"].duplicated().any():
        sys.exit(f"{path}: expected 38 municipalities with unique kas_code, found {len(facts)}")
    facts = facts.sort_values("kas_code").reset_index(drop=True)
    for code, (value, _) in AREA_FALLBACKS.items():
        row = facts.loc[facts["kas_code"] == code].iloc[0]
        if not pd.isna(row["area_km2"]):
            sys.exit(f"{path}: {row['name_sq']} now has an official area; drop it from AREA_FALLBACKS")
        if f"{value:g}" not in str(row["notes"]):
            sys.exit(f"{path}: the fallback area {value:g} for {row['name_sq']} is not in its notes any more")
    blank = facts.loc[facts["area_km2"].isna() & ~facts["kas_code"].isin(list(AREA_FALLBACKS)), "name_sq"]
    if len(blank):
        sys.exit(f"{path}: no official area and no documented fallback for {list(blank)}")
    return facts


def reference_areas(facts: pd.DataFrame) -> np.ndarray:
    """Official area, or the documented fallback where the official one is blank (km²)."""
    fallback = facts["kas_code"].map({k: v for k, (v, _) in AREA_FALLBACKS.items()})
    return facts["area_km2"].fillna(fallback).to_numpy(dtype=float)


def sha256(path: Path) -> str:
    """Hex sha256 of a file."""
    return hashlib.sha256(path.read_bytes()).hexdigest()


def outline_from_topojson(path: Path) -> shapely.Polygon:
    """Decode Kosovo's polygon from the world-atlas TopoJSON (quantised, delta-encoded arcs)."""
    if not path.is_file():
        sys.exit(f"{path} not found: run `npm ci --prefix scripts` (world-atlas@{WORLD_ATLAS_VERSION}) first")
    package = json.loads((path.parent / "package.json").read_text(encoding="utf-8"))
    if package.get("version") != WORLD_ATLAS_VERSION:
        sys.exit(f"world-atlas {package.get('version')} found, {WORLD_ATLAS_VERSION} expected")
    if sha256(path) != COUNTRIES_10M_SHA256:
        sys.exit(f"{path}: unexpected sha256 (expected {COUNTRIES_10M_SHA256})")
    topo = json.loads(path.read_text(encoding="utf-8"))
    scale = np.asarray(topo["transform"]["scale"], dtype=float)
    translate = np.asarray(topo["transform"]["translate"], dtype=float)
    arcs = topo["arcs"]

    def arc(index: int) -> np.ndarray:
        # A negative index ~i means arc i reversed; positions are deltas of quantised integers.
        quantised = np.cumsum(np.asarray(arcs[index if index >= 0 else ~index], dtype=np.int64), axis=0)
        xy = quantised * scale + translate
        return xy if index >= 0 else xy[::-1]

    found = [g for g in topo["objects"]["countries"]["geometries"] if g["properties"].get("name") == "Kosovo"]
    if len(found) != 1 or found[0]["type"] != "Polygon":
        sys.exit(f"{path}: expected one Polygon named 'Kosovo', found {[g['type'] for g in found]}")
    rings = []
    for ring in found[0]["arcs"]:
        # Consecutive arcs share their end/start point: drop the duplicate.
        rings.append(np.vstack([arc(ring[0])] + [arc(i)[1:] for i in ring[1:]]))
    polygon = shapely.Polygon(rings[0], rings[1:])
    polygon = shapely.set_precision(shapely.normalize(polygon), GRID_DEG)
    if not polygon.is_valid or polygon.geom_type != "Polygon":
        sys.exit("the decoded outline is not a single valid polygon")
    return polygon


def prepare_seats(facts: pd.DataFrame, outline_m: shapely.Polygon) -> tuple[np.ndarray, np.ndarray, list]:
    """
    Seat points in lon/lat and in EPSG:3035.

    The seats are approximate coordinates from the facts; one lying outside the (generalised) outline is
    moved to the nearest point SEAT_INSET_M inside it, and that moved point is where its CSW is drawn.
    """
    to_m = Transformer.from_crs("EPSG:4326", EQUAL_AREA_CRS, always_xy=True)
    to_ll = Transformer.from_crs(EQUAL_AREA_CRS, "EPSG:4326", always_xy=True)
    seats_ll = facts[["seat_lon_approx", "seat_lat_approx"]].to_numpy(dtype=float)
    seats_m = np.column_stack(to_m.transform(seats_ll[:, 0], seats_ll[:, 1]))
    inset = outline_m.buffer(-SEAT_INSET_M)
    moved = []
    for i, (x, y) in enumerate(seats_m):
        p = shapely.Point(x, y)
        if not outline_m.contains(p):
            q = shapely.ops.nearest_points(inset, p)[0]
            lon, lat = to_ll.transform(q.x, q.y)
            lon, lat = _round(lon), _round(lat)
            seats_ll[i] = (lon, lat)
            seats_m[i] = to_m.transform(lon, lat)
            moved.append((i, outline_m.exterior.distance(p), lon, lat))
    return seats_ll, seats_m, moved


# ------------------------------------------------------------------------------------------ partition


@dataclass
class Grid:
    """A raster of square cells covering the outline with a margin; row 0 is the top (north)."""

    cell_m: float
    x0: float
    y_top: float
    nx: int
    ny: int
    frac: np.ndarray  # share of each cell inside the outline, shape (ny, nx)

    def centres(self) -> tuple[np.ndarray, np.ndarray]:
        xs = self.x0 + self.cell_m * (np.arange(self.nx) + 0.5)
        ys = self.y_top - self.cell_m * (np.arange(self.ny) + 0.5)
        return np.meshgrid(xs, ys)

    def cell_of(self, xy: np.ndarray) -> np.ndarray:
        col = np.floor((xy[:, 0] - self.x0) / self.cell_m).astype(np.int64)
        row = np.floor((self.y_top - xy[:, 1]) / self.cell_m).astype(np.int64)
        return row * self.nx + col


def make_grid(outline_m: shapely.Polygon, cell_m: float, margin_m: float) -> Grid:
    """Grid over the outline's bounds plus a margin, with the exact share of each cell inside the outline."""
    xmin, ymin, xmax, ymax = outline_m.bounds
    x0 = math.floor((xmin - margin_m) / cell_m) * cell_m
    y_top = math.ceil((ymax + margin_m) / cell_m) * cell_m
    nx = math.ceil((xmax + margin_m - x0) / cell_m)
    ny = math.ceil((y_top - (ymin - margin_m)) / cell_m)
    grid = Grid(cell_m, x0, y_top, nx, ny, np.zeros((ny, nx)))
    cx, cy = grid.centres()
    cx, cy = cx.ravel(), cy.ravel()
    shapely.prepare(outline_m)
    frac = shapely.contains_xy(outline_m, cx, cy).astype(float)
    near = np.flatnonzero(shapely.distance(outline_m.boundary, shapely.points(cx, cy)) < cell_m * 0.75)
    h = cell_m / 2
    boxes = shapely.box(cx[near] - h, cy[near] - h, cx[near] + h, cy[near] + h)
    frac[near] = shapely.area(shapely.intersection(boxes, outline_m)) / cell_m**2
    grid.frac = frac.reshape(ny, nx)
    return grid


def disc_centre(
    seat: np.ndarray, radius: float, others: np.ndarray, outline_m: shapely.Polygon
) -> np.ndarray:
    """Centre of a disc of `radius` holding `seat` well inside and all `others` well outside."""
    step = radius / 20
    offsets = np.arange(-radius, radius + step / 2, step)
    ox, oy = np.meshgrid(offsets, offsets)
    cand = seat + np.column_stack([ox.ravel(), oy.ravel()])
    inner = radius - np.hypot(*(cand - seat).T)
    outer = np.min(np.hypot(cand[:, None, 0] - others[None, :, 0], cand[:, None, 1] - others[None, :, 1]), 1)
    border = shapely.distance(outline_m.boundary, shapely.points(cand)) - radius
    border[~shapely.contains_xy(outline_m, cand[:, 0], cand[:, 1])] = -np.inf
    score = np.minimum(np.minimum(inner, outer - radius), border)
    best = int(np.argmax(score))
    if score[best] <= DISC_MARGIN_M:
        sys.exit(f"no disc of radius {radius:.0f} m fits around seat {seat} with a {DISC_MARGIN_M} m margin")
    return cand[best]


def _edges(active_index: np.ndarray) -> np.ndarray:
    """4-neighbour edges between active cells, as a (2, n) array of active indices."""
    out = []
    for a, b in ((active_index[:, :-1], active_index[:, 1:]), (active_index[:-1, :], active_index[1:, :])):
        keep = (a >= 0) & (b >= 0)
        out.append(np.stack([a[keep], b[keep]]))
    return np.hstack(out)


def _repair(
    labels: np.ndarray, edges: np.ndarray, seat_cells: np.ndarray, n: int, can_receive: np.ndarray
) -> np.ndarray:
    """Give every 4-connected fragment that does not hold its own seat to the neighbour it touches most."""
    labels = labels.copy()
    for _ in range(20):
        same = labels[edges[0]] == labels[edges[1]]
        graph = coo_matrix(
            (np.ones(int(same.sum())), (edges[0][same], edges[1][same])), shape=(len(labels), len(labels))
        )
        _, comp = connected_components(graph, directed=False)
        good = np.zeros(comp.max() + 1, dtype=bool)
        good[comp[seat_cells]] = True
        bad = ~good[comp]
        if not bad.any():
            return labels
        src = np.concatenate([edges[0][~same], edges[1][~same]])
        dst = np.concatenate([edges[1][~same], edges[0][~same]])
        keep = bad[src] & can_receive[labels[dst]]
        key = comp[src[keep]] * n + labels[dst[keep]]
        uniq, count = np.unique(key, return_counts=True)
        # For each fragment, the neighbouring label with most shared edges (ties: lowest label).
        order = np.lexsort((uniq % n, -count, uniq // n))
        uniq = uniq[order]
        _, first = np.unique(uniq // n, return_index=True)
        target = np.full(comp.max() + 1, -1)
        target[uniq[first] // n] = uniq[first] % n
        cells = np.flatnonzero(bad & (target[comp] >= 0))
        if not len(cells):
            break
        labels[cells] = target[comp[cells]]
    sys.exit("could not reconnect every municipality to its seat")


@dataclass
class Tiling:
    """The result of :func:`partition`: the label raster and the rule that drew it."""

    grid: Grid
    raster: np.ndarray  # municipality index per cell, shape (ny, nx); cells outside take the nearest label
    ruled: np.ndarray  # bool per cell: inside the outline and labelled by the rule (not a moved fragment)
    seats: np.ndarray  # (n, 2) metres
    weights: np.ndarray  # additive weight per municipality (0 for discs)
    tiny: np.ndarray  # bool per municipality: drawn as a disc
    centres: np.ndarray  # (n, 2) disc centres (seat where not a disc)
    radii: np.ndarray  # disc radii in metres (0 where not a disc)


def partition(
    outline_m: shapely.Polygon, seats: np.ndarray, targets_km2: np.ndarray, cell_m: float
) -> Tiling:
    """Assign every grid cell to a municipality (discs first, then additively weighted regions)."""
    n = len(seats)
    tiny = targets_km2 < TINY_KM2
    dist = np.hypot(seats[:, None, 0] - seats[None, :, 0], seats[:, None, 1] - seats[None, :, 1])
    centres = seats.copy()
    radii = np.zeros(n)
    for i in np.flatnonzero(tiny):
        radius = math.sqrt(targets_km2[i] * 1e6 / math.pi)
        centres[i] = disc_centre(seats[i], radius, np.delete(seats, i, axis=0), outline_m)
        print(
            f"  disc for {i + 1:02d}: radius {radius:.0f} m, "
            f"centre {np.hypot(*(centres[i] - seats[i])):.0f} m from the seat"
        )
    grown = np.flatnonzero(~tiny)
    # Cap on w_j - w_i: the edge between i and j stays SEAT_MARGIN_M from both seats.
    cap = dist[np.ix_(grown, grown)] - 2 * SEAT_MARGIN_M
    np.fill_diagonal(cap, np.inf)
    weights = np.zeros(len(grown))
    sizes = (*[c for c in COARSE_CELLS_M if c > cell_m], cell_m)
    for size in sizes:
        grid = make_grid(outline_m, size, margin_m=max(3000.0, 4 * size))
        frac = grid.frac.ravel()
        active = np.flatnonzero(frac > 0)
        index = np.full(frac.size, -1)
        index[active] = np.arange(len(active))
        edges = _edges(index.reshape(grid.ny, grid.nx))
        cx, cy = (c.ravel()[active] for c in grid.centres())
        cell_area = frac[active] * size**2 / 1e6
        labels0 = np.full(len(active), -1)
        for i in np.flatnonzero(tiny):
            # The disc: the cells nearest its centre, as many as make up its target area.
            d = np.hypot(cx - centres[i, 0], cy - centres[i, 1])
            order = np.argsort(d, kind="stable")
            k = int(np.searchsorted(np.cumsum(cell_area[order]), targets_km2[i]))
            labels0[order[: k + 1]] = i
            radii[i] = (d[order[k]] + d[order[k + 1]]) / 2
        free = labels0 < 0
        dmat = np.hypot(cx[free, None] - seats[grown][None, :, 0], cy[free, None] - seats[grown][None, :, 1])
        dmat = dmat.astype(np.float32)
        seat_cells = index[grid.cell_of(seats)]
        if (seat_cells < 0).any():
            sys.exit("a seat lies outside the outline grid")
        step = np.full(len(grown), 0.7)
        previous = np.zeros(len(grown))
        for iteration in range(1, 401):  # noqa: B007 (reported after the loop)
            labels = labels0.copy()
            labels[free] = grown[np.argmin(dmat - weights.astype(np.float32)[None, :], axis=1)]
            by_rule = labels
            labels = _repair(labels, edges, seat_cells, n, ~tiny)
            area = np.bincount(labels, weights=cell_area, minlength=n)
            dev = (area / targets_km2 - 1)[grown]
            worst = float(np.abs(dev).max())
            if worst < RASTER_TOLERANCE:
                break
            step = np.where(np.sign(dev) * previous < 0, step * 0.5, np.minimum(step * 1.2, 0.7))
            previous = np.sign(dev)
            # Grow or shrink each region by about the difference of the equivalent radii...
            weights = weights + step * (
                np.sqrt(targets_km2[grown] * 1e6 / np.pi) - np.sqrt(area[grown] * 1e6 / np.pi)
            )
            # ... within the caps (a few sweeps of moving both ends of each violated difference halfway).
            for _ in range(100):
                excess = np.maximum(weights[None, :] - weights[:, None] - cap, 0)
                if excess.max() <= 1e-6:
                    break
                weights = weights + 0.5 * excess.max(axis=1) - 0.5 * excess.max(axis=0)
            weights -= weights.mean()
        else:
            worst_name = int(grown[np.argmax(np.abs(dev))]) + 1
            sys.exit(
                f"no convergence at {size:.0f} m: worst deviation {worst:.3f} (municipality {worst_name:02d})"
            )
        print(
            f"  {size:.0f} m grid: {len(active)} cells, {iteration} iterations, "
            f"worst raster deviation {worst:.4f}"
        )
    raster = np.full(frac.size, -1)
    raster[active] = labels
    raster = raster.reshape(grid.ny, grid.nx)
    # Cells inside the outline whose label is the rule's own (not a reassigned fragment).
    ruled = np.zeros(frac.size, dtype=bool)
    ruled[active] = labels == by_rule
    ruled = ruled.reshape(grid.ny, grid.nx)
    # Cells outside the outline take the label of the nearest inside cell (they are clipped away later).
    _, (ri, ci) = ndimage.distance_transform_edt(raster < 0, return_indices=True)
    full_weights = np.zeros(n)
    full_weights[grown] = weights
    return Tiling(grid, raster[ri, ci], ruled, seats, full_weights, tiny, centres, radii)


def _edge_function(t: Tiling, a: np.ndarray, b: np.ndarray, x: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """
    Value and gradient of the function whose zero set is the drawn edge between regions `a` and `b` at `x`.

    Between two grown regions: (|x - s_a| - w_a) - (|x - s_b| - w_b); next to a disc: |x - c| - r.
    """

    def dist(p: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        v = x - p
        r = np.maximum(np.hypot(v[:, 0], v[:, 1]), 1e-9)
        return r, v / r[:, None]

    ra, ua = dist(t.seats[a])
    rb, ub = dist(t.seats[b])
    value = (ra - t.weights[a]) - (rb - t.weights[b])
    grad = ua - ub
    for disc in (a, b):
        rc, uc = dist(t.centres[disc])
        on = t.tiny[disc]
        value = np.where(on, rc - t.radii[disc], value)
        grad = np.where(on[:, None], uc, grad)
    return value, grad


def relocate_corners(t: Tiling) -> tuple[np.ndarray, np.ndarray]:
    """
    Move pixel corners on an edge between two regions onto the curve that the rule draws there.

    A corner moves to the nearest point of the edge curve of the two regions around it. The move depends
    only on the corner and the labels around it, so neighbouring polygons move their shared corners
    identically and stay a coverage. Corners stay where they are next to a cell outside the outline or a
    reassigned fragment, within two cells of a corner shared by three regions, and where the move would
    be longer than one cell.

    Returns the x and y in metres of every corner, arrays of shape (ny + 1, nx + 1).
    """
    g = t.grid
    xs = g.x0 + g.cell_m * np.arange(g.nx + 1)
    ys = g.y_top - g.cell_m * np.arange(g.ny + 1)
    cx, cy = np.meshgrid(xs, ys)
    pad = np.pad(t.raster, 1, mode="edge")
    around = np.stack([pad[:-1, :-1], pad[:-1, 1:], pad[1:, :-1], pad[1:, 1:]], axis=-1)  # (ny+1, nx+1, 4)
    around = np.sort(around, axis=-1)
    distinct = 1 + (np.diff(around, axis=-1) != 0).sum(axis=-1)
    frame = np.zeros(distinct.shape, dtype=bool)
    frame[[0, -1], :] = True
    frame[:, [0, -1]] = True
    limit = 1.0 * g.cell_m
    rp = np.pad(t.ruled, 1, mode="constant", constant_values=False)
    ruled = rp[:-1, :-1] & rp[:-1, 1:] & rp[1:, :-1] & rp[1:, 1:]
    near_junction = ndimage.maximum_filter(distinct >= 3, size=5, mode="constant")
    for k in (2,):
        rows, cols = np.nonzero((distinct == k) & ~frame & ruled & ~near_junction)
        labs = around[rows, cols]
        # The distinct labels of each corner, in order.
        first = labs[:, 0]
        second = np.where(
            labs[:, 1] != first, labs[:, 1], np.where(labs[:, 2] != first, labs[:, 2], labs[:, 3])
        )
        third = labs[:, 3]
        x0 = np.column_stack([cx[rows, cols], cy[rows, cols]])
        x = x0.copy()
        for _ in range(8):
            v1, g1 = _edge_function(t, first, second, x)
            if k == 2:
                x = x - (v1 / np.maximum((g1**2).sum(1), 1e-12))[:, None] * g1
            else:
                v2, g2 = _edge_function(t, first, third, x)
                det = g1[:, 0] * g2[:, 1] - g1[:, 1] * g2[:, 0]
                ok = np.abs(det) > 1e-6
                det = np.where(ok, det, 1.0)
                dx = (v1 * g2[:, 1] - v2 * g1[:, 1]) / det
                dy = (g1[:, 0] * v2 - g2[:, 0] * v1) / det
                x = x - np.where(ok[:, None], np.column_stack([dx, dy]), 0.0)
        v1, _ = _edge_function(t, first, second, x)
        good = (np.abs(v1) < 1e-3) & (np.hypot(*(x - x0).T) <= limit)
        if k == 3:
            v2, _ = _edge_function(t, first, third, x)
            good &= np.abs(v2) < 1e-3
        cx[rows[good], cols[good]] = x[good, 0]
        cy[rows[good], cols[good]] = x[good, 1]
    return cx, cy


def polygonise(t: Tiling, outline: shapely.Polygon) -> list[shapely.Geometry]:
    """Label raster -> coverage with corners on the drawn curves -> simplified -> lon/lat -> clipped."""
    n = len(t.seats)
    parts: list[list[shapely.Geometry]] = [[] for _ in range(n)]
    # Polygonise in pixel units (integer corners), with a vertex at every pixel corner along every edge so
    # that neighbours are edge-matched (a valid coverage).
    for geom, value in rasterio.features.shapes(t.raster.astype(np.int32), connectivity=4):
        parts[int(value)].append(shapely.segmentize(shapely.geometry.shape(geom), 1.0))
    cover = np.array([shapely.union_all(p) for p in parts], dtype=object)
    if not shapely.coverage_is_valid(cover):
        sys.exit("polygonised raster is not a valid coverage")
    cx, cy = relocate_corners(t)

    def to_metres(xy: np.ndarray) -> np.ndarray:
        col = np.rint(xy[:, 0]).astype(np.int64)
        row = np.rint(xy[:, 1]).astype(np.int64)
        return np.column_stack([cx[row, col], cy[row, col]])

    cover = shapely.transform(cover, to_metres)
    if not shapely.is_valid(cover).all() or not shapely.coverage_is_valid(cover):
        sys.exit("moving the corners onto the curves broke the coverage")
    cover = shapely.coverage_simplify(cover, SIMPLIFY_M, simplify_boundary=False)
    to_ll = Transformer.from_crs(EQUAL_AREA_CRS, "EPSG:4326", always_xy=True)
    cover = shapely.transform(cover, lambda xy: np.column_stack(to_ll.transform(xy[:, 0], xy[:, 1])))
    cover = shapely.set_precision(cover, GRID_DEG)
    return list(shapely.intersection(cover, outline, grid_size=GRID_DEG))


def single_polygons(geoms: list[shapely.Geometry], seats_ll: np.ndarray) -> list[shapely.Polygon]:
    """Keep the part of each area that holds its seat; other parts join the neighbour sharing most edge."""
    geoms = list(geoms)
    for _ in range(10):
        moved = False
        for i, g in enumerate(geoms):
            if g.geom_type == "Polygon":
                continue
            seat = shapely.Point(seats_ll[i])
            polys = list(getattr(g, "geoms", []))
            keep = [p for p in polys if p.geom_type == "Polygon" and p.covers(seat)]
            if len(keep) != 1:
                sys.exit(f"area {i + 1:02d}: its seat is not in exactly one of its parts")
            geoms[i] = keep[0]
            for p in polys:
                if p is keep[0] or p.geom_type != "Polygon":
                    continue
                shared = [
                    shapely.length(shapely.intersection(p.boundary, geoms[j].boundary, grid_size=GRID_DEG))
                    if j != i
                    else -1.0
                    for j in range(len(geoms))
                ]
                j = int(np.argmax(shared))
                geoms[j] = shapely.union(geoms[j], p, grid_size=GRID_DEG)
                moved = True
        if not moved:
            break
    if any(g.geom_type != "Polygon" for g in geoms):
        sys.exit("could not make every area a single polygon")
    return geoms


# ---------------------------------------------------------------------------------------------- output


def _round(v: float) -> float:
    return float(round(v, DECIMALS))


def _coords(ring: shapely.LinearRing) -> list[list[float]]:
    return [[_round(x), _round(y)] for x, y in ring.coords]


def _polygon_coords(poly: shapely.Polygon) -> list[list[list[float]]]:
    poly = shapely.geometry.polygon.orient(poly, 1.0)  # RFC 7946: exterior counter-clockwise
    return [_coords(poly.exterior)] + [_coords(r) for r in poly.interiors]


def write_geojson(path: Path, features: list[dict]) -> None:
    """FeatureCollection with one feature per line; deterministic formatting."""
    lines = ['{"type":"FeatureCollection","features":[']
    for k, feat in enumerate(features):
        text = json.dumps(feat, ensure_ascii=False, separators=(",", ":"))
        lines.append(text + ("," if k < len(features) - 1 else ""))
    lines.append("]}")
    path.write_text("\n".join(lines) + "\n", encoding="utf-8", newline="\n")


def write_csv(path: Path, header: list[str], rows: list[list[object]]) -> None:
    """CSV with \\n line ends; None is written blank."""
    buf = io.StringIO()
    writer = csv.writer(buf, lineterminator="\n")
    writer.writerow(header)
    for row in rows:
        writer.writerow(["" if v is None else v for v in row])
    path.write_text(buf.getvalue(), encoding="utf-8", newline="")


def fmt_bool(value: bool) -> str:
    return "true" if value else "false"


# ------------------------------------------------------------------------------------------ population


def population_rows(facts: pd.DataFrame) -> tuple[list[list[object]], dict]:
    """
    One row per municipality: the 2024 figure chosen by priority, or an openly marked estimate.

    Priority: final (Dec 2024), preliminary (Jul 2024), series unstated. A final figure whose source the
    facts mark as a KAS estimate (the northern municipalities) is flagged as an estimate. Where there is no
    2024 figure: 2011 census x the ratio of the sums of 2024 and 2011 figures over the municipalities
    that have both.
    """
    columns = (
        ("pop_2024_final_dec2024", "src_pop_2024_final", "final",
         "KAS 2024 census, first final results (19 Dec 2024)"),
        ("pop_2024_prelim_jul2024", "src_pop_2024_prelim", "prelim",
         "KAS 2024 census, preliminary results (12 Jul 2024)"),
        ("pop_2024_series_unstated", "src_pop_2024_series_unstated", "unstated",
         "2024 census (the source does not say preliminary or final)"),
    )  # fmt: skip
    chosen: dict[str, tuple[int, str, str]] = {}
    for _, r in facts.iterrows():
        for column, src, kind, label in columns:
            if not pd.isna(r[column]):
                if kind == "final" and KAS_ESTIMATE_MARK in str(r[src]).upper():
                    kind = "kas_estimate"
                chosen[r["kas_code"]] = (int(r[column]), kind, f"{label}; via {r[src]}")
                break
    both = facts[facts["kas_code"].isin(list(chosen)) & facts["pop_2011_census"].notna()]
    sum_2011 = int(both["pop_2011_census"].sum())
    sum_2024 = sum(chosen[c][0] for c in both["kas_code"])
    ratio = sum_2024 / sum_2011
    info: dict = {"ratio": ratio, "n": len(both), "sum_2011": sum_2011, "sum_2024": sum_2024, "kinds": {}}
    rows = []
    for _, r in facts.iterrows():
        code = r["kas_code"]
        if code in chosen:
            value, kind, source = chosen[code]
            is_estimate, method = False, ""
            if kind == "kas_estimate":
                is_estimate = True
                enumerated = r["pop_2024_prelim_jul2024"]
                counted = (
                    ""
                    if pd.isna(enumerated)
                    else f" (the preliminary results enumerated {int(enumerated):,})"
                )
                method = (
                    "KAS estimate, not a count: the 2024 enumeration was largely boycotted in this northern "
                    f"municipality{counted}; the final results carry KAS's estimate"
                )
        else:
            if pd.isna(r["pop_2011_census"]):
                sys.exit(f"{r['name_sq']}: no 2024 figure and no 2011 census figure to estimate from")
            value = int(round(float(r["pop_2011_census"]) * ratio))
            kind = "estimate"
            source = (
                "socialmap estimate from the KAS 2011 census (via geohive) and the 2024 census figures of "
                "the other municipalities; see data/README.md"
            )
            is_estimate = True
            method = (
                f"2011 census {int(r['pop_2011_census']):,} x national 2011->2024 ratio {ratio:.6f} "
                "(sum of the 2024 figures used here / sum of their 2011 census figures, over the "
                f"{len(both)} municipalities that have both), rounded to the nearest person"
            )
        info["kinds"][code] = kind
        rows.append([code, r["name_sq"], value, 2024, source, fmt_bool(is_estimate), method])
    return rows, info


#: The source of the 2011 census figures (the facts table's column note, municipalities_sources.csv).
CENSUS_2011_SOURCE = (
    "KAS 2011 census, final results; via geohive (the 34 figures sum to the official 1,739,825)"
)
#: Why the four northern municipalities have no 2011 figure.
CENSUS_2011_MISSING = (
    "no figure: the 2011 census was not held in this municipality (boycotted in the north); "
    "left blank, not estimated"
)


def population_2011_rows(facts: pd.DataFrame) -> list[list[object]]:
    """
    One row per municipality with its 2011 census figure, blank where the census was not held.

    The four northern municipalities have no 2011 figure (the census was not held there); their rows say so
    and carry no number: nothing is estimated for monitoring over the years.
    """
    rows = []
    for _, r in facts.iterrows():
        if pd.isna(r["pop_2011_census"]):
            rows.append([r["kas_code"], r["name_sq"], "", 2011, CENSUS_2011_MISSING, "", ""])
        else:
            rows.append([r["kas_code"], r["name_sq"], int(r["pop_2011_census"]), 2011, CENSUS_2011_SOURCE,
                         fmt_bool(False), ""])  # fmt: skip
    total = sum(int(r[2]) for r in rows if r[2] != "")
    if total != 1_739_825:
        sys.exit(f"the 2011 census figures sum to {total:,}, not the official 1,739,825")
    return rows


# -------------------------------------------------------------------------------------------- services


def random_point_in(
    poly_m: shapely.Polygon, poly_ll: shapely.Polygon, rng: np.random.Generator, to_ll: Transformer
) -> tuple[float, float]:
    """Uniform point at least SERVICE_INSET_M inside `poly_m`, rounded, and checked in the lon/lat polygon."""
    inner = poly_m.buffer(-SERVICE_INSET_M)
    xmin, ymin, xmax, ymax = inner.bounds
    for _ in range(10000):
        x, y = rng.uniform(xmin, xmax), rng.uniform(ymin, ymax)
        if not inner.contains(shapely.Point(x, y)):
            continue
        lon, lat = to_ll.transform(x, y)
        lon, lat = _round(lon), _round(lat)
        if poly_ll.contains(shapely.Point(lon, lat)):
            return lon, lat
    sys.exit("could not place an illustrative service")


def service_rows(facts, polys_ll, polys_m, seats_ll, population) -> list[list[object]]:
    """The 38 CSWs at the seats, then the illustrative services (fixed seed, weighted by population)."""
    to_ll = Transformer.from_crs(EQUAL_AREA_CRS, "EPSG:4326", always_xy=True)
    rows = []
    for i, r in facts.iterrows():
        lon, lat = seats_ll[i]
        en, sq, sr = (
            f"{CSW_NAME[0]} – {r['name_sq']}",
            f"{CSW_NAME[1]} – {r['name_sq']}",
            f"{CSW_NAME[2]} – {r['name_sr_latn']}",
        )
        rows.append(
            [
                f"CSW-{r['kas_code']}",
                en,
                "csw",
                None,
                "public",
                fmt_bool(False),
                _round(lon),
                _round(lat),
                r["kas_code"],
                sq,
                sr,
                en,
            ]
        )
    rng = np.random.default_rng(SEED)
    weights = population / population.sum()
    for stype, prefix, label, count, (lo, hi), providers in ILLUSTRATIVE:
        where = np.sort(rng.choice(len(facts), size=count, p=weights))
        for k, i in enumerate(where, start=1):
            lon, lat = random_point_in(polys_m[i], polys_ll[i], rng, to_ll)
            capacity = int(rng.integers(lo, hi + 1))
            provider = providers[int(rng.integers(len(providers)))]
            places = (facts.loc[i, "name_sq"], facts.loc[i, "name_sq"], facts.loc[i, "name_sr_latn"])
            en, sq, sr = (f"{label[j]} ({ILLUSTRATIVE_WORD[j]}) {k} – {places[j]}" for j in range(3))
            rows.append(
                [
                    f"{prefix}-{k:03d}",
                    en,
                    stype,
                    capacity,
                    provider,
                    fmt_bool(True),
                    lon,
                    lat,
                    facts.loc[i, "kas_code"],
                    sq,
                    sr,
                    en,
                ]
            )
    return rows


# ---------------------------------------------------------------------------------------------- README


README_HEAD = """\
# Kosovo demo data (embedded in socialmap)

> **The municipal boundaries are schematic, not the real ones: do not measure with them or use them to
> decide which municipality a place belongs to.** Every service except the 38 Centres for Social Work is
> **illustrative** (invented for the demo).

Generated by `scripts/build_demo.py`; do not edit by hand. Rebuild from the repository root (needs Node's
npm once, and the facts table `../shared/data/kosovo/municipalities.csv` beside the checkout, or
`--facts PATH`):

```
npm ci --prefix scripts                 # world-atlas@2.0.2, pinned in scripts/package(-lock).json
.venv/bin/python scripts/build_demo.py  # options: --facts PATH  --atlas PATH  --out DIR  --cell-m 100
```

(`npm install --prefix scripts --save-exact world-atlas@2.0.2` installs the same; without `--save-exact`
npm rewrites the pin in package.json to `^2.0.2`. The script checks the version and the file's sha256.)
The build is deterministic, running it twice gives byte-identical files, and takes about half a minute.
It stops with a message if any of the checks below fails.

## Files

- `boundaries/kosovo_municipalities.geojson`: 38 schematic municipal polygons, EPSG:4326 (lon/lat, 5
  decimals). Properties: `area_id` (2-digit KAS code, a string), `name` (Albanian, = `name_sq`), `name_sq`,
  `name_sr` (Serbian Latin), `name_en`, `district`, `area_km2_official` (null where no official measured
  area was found), `boundaries` = `"schematic"`.
- `boundaries/kosovo_outline.geojson`: the national outline of Kosovo from Natural Earth, EPSG:4326. The
  municipal polygons tile it: they fit each other exactly, and the outline to within {off_m:.1f} m (where an
  internal edge meets the outline, the meeting point is rounded to 1e-5 degrees; the areas differ by
  {gap:.3f} km²).
- `population/kosovo_population_2024.csv`: one row per municipality, columns `area_id, name, population,
  year, population_source, population_is_estimate, estimate_method`.
- `population/kosovo_population_2011.csv`: the 2011 census, the same columns; `population` is blank for
  the four northern municipalities, where the 2011 census was not held (for monitoring over the years).
- `services/kosovo_services.csv`: columns `service_id, name, service_type, capacity, provider,
  illustrative, lon, lat, area_id, name_sq, name_sr, name_en` (lon/lat in EPSG:4326; a blank `capacity`
  means unknown; `name` = `name_en`, and the `name_<lang>` columns give the name in Albanian, Serbian
  (Latin) and English: the kind of service and the municipality's name in that language).

## Sources and licence

- **Outline**: Natural Earth 1:10m Admin 0 – Countries, version 4.1.0, public domain
  (https://www.naturalearthdata.com/about/terms-of-use/), decoded by the script from the TopoJSON file
  `countries-10m.json` of the npm package `world-atlas@2.0.2` (packaging © Michael Bostock, ISC licence).
  Written unchanged apart from rounding to 1e-5 degrees.
- **Facts**: `municipalities.csv` and `municipalities_sources.csv` in `../shared/data/kosovo/`: KAS codes,
  names, districts, official areas (the Office of the Prime Minister's measurement report "Matja e territorit
  të Republikës së Kosovës", as tabulated on Wikipedia), 2011 census (KAS, via geohive), 2024 census (KAS
  preliminary results of 12 Jul 2024 and first final results of 19 Dec 2024, via the news reports and
  Wikipedia pages named in each row), and approximate seat coordinates (2 decimals, gazetteer knowledge,
  not from a cited source). Counts of day-care centres and shelters: KOMF, "Unsustainable social services".
- Nothing else went in: no third-party boundary file was used, not even as a guide.
- **Licence**: these generated files are dedicated to the public domain under CC0 1.0. The figures they carry
  keep their sources, named in the files and here. Please cite "socialmap Kosovo demo data (schematic
  boundaries from the Natural Earth outline; population from the Kosovo Agency of Statistics)".

## How the boundaries were made (schematic)

The outline is split into 38 polygons, one per municipality. There are no gaps or overlaps, and each
polygon holds its municipal seat and has the reference area below, to within {final_tol:.0f} % (the build
checks this; the result is {dev_min:+.2f} % to {dev_max:+.2f} %).

1. Reference area = the official area, or where that is blank, the fallback listed at the end. The fallbacks
   come from the alternatives in the row's notes, never from the geoBoundaries polygon area, and are not
   official. The reference areas sum to {ref_sum:,.2f} km² and the outline to {outline_km2:,.2f} km²
   (EPSG:3035), so each target is the reference area × {scale:.5f}.
2. Working in EPSG:3035 (equal-area), a grid of {cell:.0f} m squares covers the outline. Municipalities under
   {tiny:.0f} km² ({tiny_names}) are drawn first, as discs of their area centred near the seat, placed so
   that the seat is well inside and every other seat well outside.
3. Every other square goes to the seat with the smallest additively weighted distance `|x - seat| - w`.
   These regions are star-shaped around their seat, so they are connected and hold it. Squares that the
   outline cuts off from their seat join the neighbour they touch most. The weights are adjusted until
   each area is within {raster_tol:.1f} % of its target (on 400 m, then 200 m, then {cell:.0f} m squares), and
   every seat stays at least {margin:.0f} m from the edges of its region.
4. The squares are turned into polygons, and the corners on each shared edge are moved onto the curve the
   rule draws there (the same move on both sides, so the pieces still fit). The shared edges are then
   simplified as a coverage, converted to lon/lat and clipped to the outline on a 1e-5 degree grid.

Seats outside the outline: {outside_note}

## Population

Per municipality, the first figure found in this order: the final 2024 census figure (19 Dec 2024), then the
preliminary one (12 Jul 2024), then a 2024 census figure whose source does not say which. `population_source`
says which, and names the secondary source the figure was read from.

- **Estimates made here** (`population_is_estimate` = true: {estimated_names}). No 2024 figure was found for
  these. Estimate = 2011 census × {ratio:.6f}, rounded to the nearest person. The factor {ratio:.6f} =
  {sum_2024:,} / {sum_2011:,}: the sum of the 2024 figures used in this file divided by the sum of the 2011
  census figures, over the {n_both} municipalities that have both (a mix of final and preliminary 2024
  figures, as chosen above).
- **KAS estimates** (`population_is_estimate` = true: {north_names}). The four northern municipalities largely
  boycotted the 2024 enumeration, and the 2011 census was not held there. Their "final" figures are KAS
  estimates, not counts. `estimate_method` gives the preliminary enumerated count.
- Nothing else is estimated, and no blank was filled with an invented number.

The 2011 census (`kosovo_population_2011.csv`, for monitoring over the years: `socialmap monitor`): the KAS
2011 final results per municipality, via geohive (the 34 figures sum to the official total of 1,739,825;
the build checks this). The 2011 census was not held in the four northern municipalities
({north_names}): their rows have no figure and say why, and nothing is estimated for them.

## Services

- `csw`: the 38 Centres for Social Work, one per municipality (KOMF). `illustrative` = false: they exist, and
  they are placed at the municipal seat (approximate coordinates, 2 decimals), not at their street address.
  `capacity` is blank because it is not known (blank means unknown, never 1); `provider` = public.
  {csw_note}
- **Everything else is illustrative** (`illustrative` = true). The sites, names, providers and capacities are
  invented, with a fixed seed (numpy `default_rng({seed})`). Each service picks a municipality with
  probability proportional to the population above, then a uniform random point at least {inset:.0f} m
  inside its schematic polygon.
  - Counts: {counts}. The day-care (about 30) and shelter (10) counts follow KOMF's figures; the other
    counts are made up.
  - Capacities (uniform random integers, **not facts**): {capacities}.
  - Real shelter locations are confidential; these are random points.

## Per municipality

"""

README_TAIL = """
Reference areas marked * are not official (see below). "figure": final = KAS first final results (Dec 2024);
prelim = KAS preliminary results (Jul 2024); unstated = a 2024 census figure whose source does not say which;
KAS estimate = northern municipality, KAS's estimate; estimate = made here from the 2011 census (see above).

Fallback reference areas (no official measured area in the facts table; figures from the row's notes; the
rule: never the geoBoundaries polygon area, not the figures the notes call old, otherwise the most precisely
stated one):

"""


# ------------------------------------------------------------------------------------------------ main


def _pct(value: float) -> str:
    text = f"{value:+.2%}"
    return "+0.00%" if text == "-0.00%" else text


def check_tiling(facts, ref, polys, polys_m, seats_ll, seats_m, outline, project) -> dict:
    """Every check the README promises; stops the build on the first failed run of them."""
    areas = np.array([p.area / 1e6 for p in polys_m])
    dev = areas / ref - 1
    problems = []
    margins = []
    for i, p in enumerate(polys):
        name = facts.loc[i, "name_sq"]
        if not p.is_valid or p.geom_type != "Polygon":
            problems.append(f"{name}: not a single valid polygon")
        if not p.contains(shapely.Point(seats_ll[i])):
            problems.append(f"{name}: does not contain its seat")
        margins.append(polys_m[i].exterior.distance(shapely.Point(seats_m[i])))
        if abs(dev[i]) > FINAL_TOLERANCE:
            problems.append(f"{name}: area {areas[i]:.2f} km² vs reference {ref[i]:.2f} ({dev[i]:+.1%})")
    # Between municipalities: exact (a valid coverage, no overlaps). Against the outline: the points where
    # internal edges meet it are rounded to the 1e-5 degree grid, so the two differ by about a metre there.
    union = shapely.union_all(polys)
    gap = abs(project(union).area - project(outline).area) / 1e6
    overlap = sum(p.area for p in polys_m) / 1e6 - project(union).area / 1e6
    off_m = shapely.hausdorff_distance(project(union.exterior), project(outline.exterior), densify=0.001)
    if not shapely.coverage_is_valid(np.array(polys, dtype=object)):
        problems.append("the polygons are not a valid coverage")
    if union.geom_type != "Polygon" or len(union.interiors) or gap > 0.1 or abs(overlap) > 1e-6 or off_m > 3:
        problems.append(f"coverage: mismatch with the outline {gap:.4f} km² (up to {off_m:.1f} m), "
                        f"overlap {overlap:.6f} km²")  # fmt: skip
    if min(margins) < 100:
        problems.append(f"a seat lies {min(margins):.0f} m from the edge of its polygon (< 100 m)")
    if problems:
        sys.exit("build checks failed:\n  " + "\n  ".join(problems))
    return {
        "areas": areas,
        "dev": dev,
        "gap": gap,
        "off_m": off_m,
        "overlap": overlap,
        "min_seat_margin": min(margins),
    }


def boundary_features(facts: pd.DataFrame, polys: list[shapely.Polygon]) -> list[dict]:
    """GeoJSON features of the schematic municipalities."""
    features = []
    for i, r in facts.iterrows():
        props = {
            "area_id": r["kas_code"],
            "name": r["name_sq"],
            "name_sq": r["name_sq"],
            "name_sr": r["name_sr_latn"],
            "name_en": r["name_en"],
            "district": r["district"],
            "area_km2_official": None if pd.isna(r["area_km2"]) else float(r["area_km2"]),
            "boundaries": "schematic",
        }
        geometry = {"type": "Polygon", "coordinates": _polygon_coords(polys[i])}
        features.append({"type": "Feature", "properties": props, "geometry": geometry})
    return features


def readme_text(facts, ref, targets, outline_km2, checks, pop_info, population, moved, cell_m) -> str:
    """data/README.md, with the per-municipality table."""
    kinds = pop_info["kinds"]
    label = {
        "final": "final",
        "prelim": "prelim",
        "unstated": "unstated",
        "kas_estimate": "KAS estimate",
        "estimate": "**estimate**",
    }
    header = ["area_id", "name", "official area km²", "reference area km²", "schematic area km²", "deviation"]
    header += ["population 2024", "figure"]
    table = ["| " + " | ".join(header) + " |", "|---|---|---:|---:|---:|---:|---:|---|"]
    for i, r in facts.iterrows():
        code = r["kas_code"]
        official = "" if pd.isna(r["area_km2"]) else f"{r['area_km2']:.2f}"
        used = f"{ref[i]:.2f}" + ("*" if code in AREA_FALLBACKS else "")
        kind = label[kinds[code]]
        table.append(
            f"| {code} | {r['name_sq']} | {official} | {used} | {checks['areas'][i]:.2f} | "
            f"{_pct(checks['dev'][i])} | {int(population[i]):,} | {kind} |"
        )
    fallback_lines = [
        f"- {code} {facts.loc[facts['kas_code'] == code, 'name_sq'].iloc[0]}: {value:g} km², {why}."
        for code, (value, why) in AREA_FALLBACKS.items()
    ]
    names = dict(zip(facts["kas_code"], facts["name_sq"], strict=True))
    outside_note = "none."
    csw_note = ""
    if moved:
        outside_note = (
            "; ".join(
                f"the approximate seat of {names[facts.loc[i, 'kas_code']]} "
                f"({facts.loc[i, 'seat_lat_approx']:.2f} N, {facts.loc[i, 'seat_lon_approx']:.2f} E) "
                f"lies {d:.0f} m outside the generalised Natural Earth "
                f"outline. The build uses the nearest point {SEAT_INSET_M:.0f} m inside the outline "
                f"({lat:.5f} N, {lon:.5f} E) instead, for the tiling and for its Centre for Social Work"
                for i, d, lon, lat in moved
            )
            + "."
        )
        csw_note = "Where a seat lies outside the outline (above), its CSW is at the moved point."
    ctx = {
        "final_tol": FINAL_TOLERANCE * 100,
        "ref_sum": ref.sum(),
        "outline_km2": outline_km2,
        "scale": outline_km2 / ref.sum(),
        "cell": cell_m,
        "tiny": TINY_KM2,
        "tiny_names": ", ".join(
            f"{names[facts.loc[i, 'kas_code']]} {ref[i]:g} km²" for i in np.flatnonzero(targets < TINY_KM2)
        ),
        "raster_tol": RASTER_TOLERANCE * 100,
        "margin": SEAT_MARGIN_M,
        "outside_note": outside_note,
        "dev_min": checks["dev"].min() * 100,
        "off_m": max(checks["off_m"], 0.1),
        "gap": checks["gap"],
        "dev_max": checks["dev"].max() * 100,
        "estimated_names": ", ".join(names[c] for c, k in kinds.items() if k == "estimate"),
        "north_names": ", ".join(names[c] for c, k in kinds.items() if k == "kas_estimate"),
        "ratio": pop_info["ratio"],
        "sum_2024": pop_info["sum_2024"],
        "sum_2011": pop_info["sum_2011"],
        "n_both": pop_info["n"],
        "csw_note": csw_note,
        "seed": SEED,
        "inset": SERVICE_INSET_M,
        "counts": ", ".join(f"`{t}` {c}" for t, _, _, c, _, _ in ILLUSTRATIVE),
        "capacities": ", ".join(f"`{t}` {lo}–{hi}" for t, _, _, _, (lo, hi), _ in ILLUSTRATIVE),
    }
    return (
        README_HEAD.format(**ctx) + "\n".join(table) + "\n" + README_TAIL + "\n".join(fallback_lines) + "\n"
    )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--facts", type=Path, default=DEFAULT_FACTS, help="municipalities.csv")
    parser.add_argument("--atlas", type=Path, default=DEFAULT_ATLAS, help="world-atlas countries-10m.json")
    parser.add_argument("--out", type=Path, default=DEFAULT_OUT, help="output folder (default: data/)")
    parser.add_argument("--cell-m", type=float, default=100.0, help="final grid cell size in metres")
    args = parser.parse_args(argv)
    started = time.perf_counter()

    facts = read_facts(args.facts)
    ref = reference_areas(facts)
    outline = outline_from_topojson(args.atlas)
    to_m = Transformer.from_crs("EPSG:4326", EQUAL_AREA_CRS, always_xy=True)

    def project(g):
        return shapely.transform(g, lambda xy: np.column_stack(to_m.transform(xy[:, 0], xy[:, 1])))

    outline_m = project(outline)
    outline_km2 = outline_m.area / 1e6
    targets = ref * outline_km2 / ref.sum()
    seats_ll, seats_m, moved = prepare_seats(facts, outline_m)

    print("tiling the outline:")
    tiling = partition(outline_m, seats_m, targets, args.cell_m)
    polys = single_polygons(polygonise(tiling, outline), seats_ll)
    polys_m = [project(p) for p in polys]
    checks = check_tiling(facts, ref, polys, polys_m, seats_ll, seats_m, outline, project)

    pop_rows, pop_info = population_rows(facts)
    population = np.array([r[2] for r in pop_rows], dtype=float)
    services = service_rows(facts, polys, polys_m, seats_ll, population)
    for row in services:
        i = int(row[8]) - 1
        if not polys[i].contains(shapely.Point(row[6], row[7])):
            sys.exit(f"{row[0]} is not inside {facts.loc[i, 'name_sq']}")

    out: Path = args.out
    for sub in ("boundaries", "population", "services"):
        (out / sub).mkdir(parents=True, exist_ok=True)
    write_geojson(out / "boundaries" / "kosovo_municipalities.geojson", boundary_features(facts, polys))
    source = (
        "Natural Earth 1:10m Admin 0 Countries v4.1.0 (public domain), "
        f"via npm world-atlas@{WORLD_ATLAS_VERSION} countries-10m.json"
    )
    write_geojson(
        out / "boundaries" / "kosovo_outline.geojson",
        [
            {
                "type": "Feature",
                "properties": {"name": "Kosovo", "source": source},
                "geometry": {"type": "Polygon", "coordinates": _polygon_coords(outline)},
            }
        ],
    )
    write_csv(
        out / "population" / "kosovo_population_2024.csv",
        [
            "area_id",
            "name",
            "population",
            "year",
            "population_source",
            "population_is_estimate",
            "estimate_method",
        ],
        pop_rows,
    )
    write_csv(
        out / "population" / "kosovo_population_2011.csv",
        [
            "area_id",
            "name",
            "population",
            "year",
            "population_source",
            "population_is_estimate",
            "estimate_method",
        ],
        population_2011_rows(facts),
    )
    write_csv(
        out / "services" / "kosovo_services.csv",
        [
            "service_id",
            "name",
            "service_type",
            "capacity",
            "provider",
            "illustrative",
            "lon",
            "lat",
            "area_id",
            "name_sq",
            "name_sr",
            "name_en",
        ],
        services,
    )
    text = readme_text(facts, ref, targets, outline_km2, checks, pop_info, population, moved, args.cell_m)
    (out / "README.md").write_text(text, encoding="utf-8", newline="\n")

    print(
        f"areas vs reference: {checks['dev'].min():+.2%} to {checks['dev'].max():+.2%}; "
        f"union vs outline: {checks['gap']:.4f} km² (edges up to {checks['off_m']:.1f} m apart), "
        f"overlap {checks['overlap']:.6f} km²; "
        f"seats at least {checks['min_seat_margin']:.0f} m inside their polygons"
    )
    print(f"wrote {out} in {time.perf_counter() - started:.1f} s")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
