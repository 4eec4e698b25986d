"""Tests at scale: chunked 2SFCA equals unchunked; raster demand; the Dask path (socialmap.cluster)."""

from __future__ import annotations

import math

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
from shapely.geometry import box

from socialmap import access as sa
from socialmap import cluster
from socialmap.access import blocks, tiles
from socialmap.errors import SocialMapError
from socialmap.needs import points_from_raster, sum_to_areas, weighted_mean_to_areas

CRS = "EPSG:32634"  # UTM 34N, metres (Kosovo)
ORIGIN = np.array([400_000.0, 4_600_000.0])
D0 = 5000.0
WEIGHTS = {
    "2sfca": None,
    "step": sa.step_weights({3000: 1, 4000: 0.6, 5000: 0.25}),  # bounds at exact distances used below
    # a weight that rises then falls (not a sum of falling masks: weights are built block by block)
    "step_rising": sa.step_weights({3000: 0.3, 4000: 1, 5000: 0.5}),
    "gaussian": sa.gaussian_weights(2500),
}


# ----------------------------------------------------------------------------------------------------
# helpers
# ----------------------------------------------------------------------------------------------------


def instance(seed: int, n: int = 600, m: int = 40, clustered: bool = True):
    """Random demand (uniform or clustered), services on integer metres, points exactly at the catchment.

    Every service gets demand points at offsets (±3000, ±4000), (±5000, 0), (0, ±5000): exactly 5000 m, the
    catchment, and exactly 3000 / 4000 m from some services for the step bounds (integer coordinates, so the
    differences and squared distances are exact). Some points sit one metre outside.
    """
    rng = np.random.default_rng(seed)
    side = 40_000
    sxy = np.round(rng.uniform(0, side, (m, 2))) + ORIGIN
    if clustered:
        centres = rng.uniform(0, side, (5, 2))
        dxy = centres[rng.integers(0, 5, n)] + rng.normal(0, 2500, (n, 2))
    else:
        dxy = rng.uniform(0, side, (n, 2))
    dxy = np.round(dxy) + ORIGIN
    offsets = np.array(
        [[3000, 4000], [-3000, 4000], [4000, -3000], [5000, 0], [0, -5000], [-5000, 0], [0, 3000], [5001, 0]]
    )
    edge = (sxy[:, None, :] + offsets[None, :, :]).reshape(-1, 2)
    dxy = np.vstack([dxy, edge])
    need = rng.uniform(0, 100, len(dxy))
    need[rng.random(len(dxy)) < 0.05] = 0.0  # some zero-need points
    capacity = rng.uniform(1, 50, m)
    return dxy, need, sxy, capacity


def unchunked(dxy, need, sxy, capacity, d0, weight):
    """The unchunked computation: every pair's distance by brute force, then fca_from_pairs on all pairs."""
    i, j = np.meshgrid(np.arange(len(dxy)), np.arange(len(sxy)), indexing="ij")
    i, j = i.ravel(), j.ravel()
    dx, dy = dxy[i, 0] - sxy[j, 0], dxy[i, 1] - sxy[j, 1]
    d = np.sqrt(dx * dx + dy * dy)
    return sa.fca_from_pairs(i, j, d, need, capacity, max_cost=d0, weight=weight)


def assert_same(ours: sa.FCAResult, ref: sa.FCAResult) -> None:
    np.testing.assert_allclose(ours.access, ref.access, rtol=1e-9, atol=0)
    np.testing.assert_allclose(ours.weighted_need, ref.weighted_need, rtol=1e-9, atol=0)
    np.testing.assert_allclose(ours.ratio, ref.ratio, rtol=1e-9, atol=0)  # NaN where equal_nan
    np.testing.assert_array_equal(ours.n_services, ref.n_services)
    np.testing.assert_array_equal(ours.covered, ref.covered)
    cov = ref.covered
    np.testing.assert_allclose(ours.nearest[cov], ref.nearest[cov], rtol=1e-12)


# ----------------------------------------------------------------------------------------------------
# chunked (strips of dense blocks) == unchunked (all pairs)
# ----------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("kind", list(WEIGHTS))
@pytest.mark.parametrize("seed", [0, 1, 2])
def test_chunked_equals_unchunked_with_points_exactly_at_the_catchment(seed, kind, monkeypatch):
    dxy, need, sxy, capacity = instance(seed, clustered=seed != 2)
    ref = unchunked(dxy, need, sxy, capacity, D0, WEIGHTS[kind])
    assert ref.n_services.sum() > 0 and not ref.covered.all()
    assert_same(sa.fca_arrays(dxy, need, sxy, capacity, catchment_m=D0, weight=WEIGHTS[kind]), ref)
    # Tiny blocks (many chunks, halved ones) and no kept blocks: step 2 recomputes every block.
    monkeypatch.setattr(blocks, "_MAX_BLOCK", 97)
    monkeypatch.setattr(blocks, "_CACHE_BYTES", 0)
    assert_same(sa.fca_arrays(dxy, need, sxy, capacity, catchment_m=D0, weight=WEIGHTS[kind]), ref)


@pytest.mark.parametrize("kind", list(WEIGHTS))
def test_threads_give_the_same_answer_as_one(kind, monkeypatch):
    dxy, need, sxy, capacity = instance(5, n=4000, m=120, clustered=False)
    ref = unchunked(dxy, need, sxy, capacity, D0, WEIGHTS[kind])
    monkeypatch.setattr(blocks, "_THREADS_MIN_ENTRIES", 0)  # threads even for this small instance
    monkeypatch.setattr(blocks, "_MAX_BLOCK", 2000)  # many strips and chunks
    one = sa.fca_arrays(dxy, need, sxy, capacity, catchment_m=D0, weight=WEIGHTS[kind], workers=1)
    plan = blocks._plan(dxy, sxy, D0)
    assert len(plan.strips) >= 4 and blocks._threads_for(plan, 2) == 2
    two = sa.fca_arrays(dxy, need, sxy, capacity, catchment_m=D0, weight=WEIGHTS[kind], workers=2)
    assert_same(one, ref)
    for field in ("access", "weighted_need", "ratio", "n_services", "covered", "nearest"):
        np.testing.assert_array_equal(getattr(two, field), getattr(one, field))  # exactly


@pytest.mark.parametrize("max_block", [2**19, 300])
def test_block_rows_hold_every_service_in_reach_nearest_radius_first(max_block, monkeypatch):
    # A block's rows are the services within the catchment of its chunk's bounding box, those that can be
    # within an inner radius leading: checked against every demand-service distance, worked out here.
    from scipy.spatial.distance import cdist

    monkeypatch.setattr(blocks, "_MAX_BLOCK", max_block)  # 300: many halved chunks
    dxy, _, sxy, _ = instance(11, n=3000, m=150)
    radii = (3000.0, 4000.0)
    plan = blocks._plan(dxy, sxy, D0, radii)
    seen = np.zeros(len(dxy), dtype=int)
    for strip in plan.strips:
        rows = blocks._rows(plan, strip)
        for ci, (r0, r1, _, _) in enumerate(strip.chunks):
            seen[r0:r1] += 1
            start, ends = int(rows.start[ci]), rows.ends[ci].tolist()
            chosen = strip.sup_idx[rows.sel[start : ends[-1]]]
            assert len(set(chosen.tolist())) == len(chosen)  # no service twice
            nearest = cdist(plan.dxy[r0:r1], sxy).min(axis=0)  # each service's distance to the chunk
            for end, radius in zip(ends, (*radii, D0), strict=True):
                reach = set(np.flatnonzero(nearest <= radius).tolist())
                assert reach <= set(chosen[: end - start].tolist())
    # every demand point with a service in reach is in exactly one block
    in_reach = cdist(plan.dxy, sxy).min(axis=1) <= D0
    assert (seen[in_reach] == 1).all() and (seen <= 1).all()


def test_the_2sfca_and_pairs_run_on_every_core_unless_told(monkeypatch):
    # (the 2SFCA family used to default to one thread; it now forks processes on large problems only)
    monkeypatch.setattr(blocks, "_cores", lambda: 2)
    monkeypatch.setattr(blocks.settings, "workers", None)
    assert blocks._resolve_workers(None, "fca_arrays", blocks._FCA_WORKERS) == 2
    assert blocks._resolve_workers(None, "pairs_within") == 2
    assert blocks._resolve_workers(1, "fca_arrays", blocks._FCA_WORKERS) == 1
    monkeypatch.setattr(blocks.settings, "workers", 3)
    assert blocks._resolve_workers(None, "fca_arrays", blocks._FCA_WORKERS) == 3


def test_workers_must_be_a_whole_number():
    dxy, need, sxy, capacity = instance(0, n=10, m=3)
    for bad in (0, -1, 1.5, True, "2"):
        with pytest.raises(SocialMapError, match="workers"):
            sa.fca_arrays(dxy, need, sxy, capacity, catchment_m=D0, workers=bad)


def test_exact_catchment_points_are_in_reach_and_one_metre_further_are_not():
    dxy, need, sxy, capacity = instance(0, n=0, m=1)
    res = sa.fca_arrays(dxy, need, sxy, capacity, catchment_m=D0)
    assert res.n_services.tolist() == [1, 1, 1, 1, 1, 1, 1, 0]
    assert res.nearest.tolist() == [5000, 5000, 5000, 5000, 5000, 5000, 3000, 5001]


def test_chunked_equals_pairs_within_reference_on_a_larger_instance():
    dxy, need, sxy, capacity = instance(7, n=30_000, m=300)
    weight = WEIGHTS["step"]
    i, j, d = sa.pairs_within(dxy, sxy, catchment_m=D0)
    ref = sa.fca_from_pairs(i, j, d, need, capacity, max_cost=D0, weight=weight)
    res = sa.fca_arrays(dxy, need, sxy, capacity, catchment_m=D0, weight=weight)
    assert_same(res, ref)
    assert res.n_services.sum() == len(i)


def test_distance_coverage_equals_unchunked():
    dxy, need, sxy, capacity = instance(3)
    ref = unchunked(dxy, need, sxy, capacity, D0, None)
    demand = gpd.GeoDataFrame(geometry=gpd.points_from_xy(dxy[:, 0], dxy[:, 1]), crs=CRS)
    supply = gpd.GeoDataFrame(geometry=gpd.points_from_xy(sxy[:, 0], sxy[:, 1]), crs=CRS)
    cov = sa.distance_coverage(demand, supply, catchment_m=D0)
    np.testing.assert_array_equal(cov["n_services"].to_numpy(), ref.n_services)
    np.testing.assert_array_equal(cov["covered"].to_numpy(), ref.covered)
    np.testing.assert_allclose(cov["nearest_m"].to_numpy(), sa.nearest_distance(dxy, sxy), rtol=1e-12)


# ----------------------------------------------------------------------------------------------------
# a population raster as demand, summed back to areas
# ----------------------------------------------------------------------------------------------------


@pytest.fixture
def raster(tmp_path):
    """A 40 x 50 GeoTIFF of 100 m cells (people per cell) with empty, nodata and NaN cells; 2 x 2 areas."""
    rasterio = pytest.importorskip("rasterio")
    from affine import Affine

    rng = np.random.default_rng(11)
    rows, cols, cell = 40, 50, 100.0
    yy, xx = np.mgrid[0:rows, 0:cols]
    pop = 200 * np.exp(-((xx - 12) ** 2 + (yy - 10) ** 2) / 40) + 80 * np.exp(
        -((xx - 38) ** 2 + (yy - 30) ** 2) / 90
    )
    pop = (pop + rng.uniform(0, 3, pop.shape)).astype("float32")
    pop[rng.random(pop.shape) < 0.2] = 0.0  # empty cells
    pop[0:3, 45:50] = -9999.0  # nodata
    pop[20, 20] = np.nan
    x0, y0 = ORIGIN[0], ORIGIN[1] + rows * cell
    transform = Affine(cell, 0.0, x0, 0.0, -cell, y0)  # north up
    path = tmp_path / "pop.tif"
    with rasterio.open(
        path,
        "w",
        driver="GTiff",
        height=rows,
        width=cols,
        count=1,
        dtype="float32",
        crs=CRS,
        transform=transform,
        nodata=-9999.0,
        tiled=True,
        blockxsize=16,
        blockysize=16,
    ) as dst:
        dst.write(pop, 1)
    # 2 x 2 areas split at column 20 and row 15 (cell edges: no centre lies on a boundary).
    xs, ys = [x0, x0 + 20 * cell, x0 + cols * cell], [y0, y0 - 15 * cell, y0 - rows * cell]
    areas = gpd.GeoDataFrame(
        {"area_id": ["nw", "ne", "sw", "se"]},
        geometry=[
            box(xs[0], ys[1], xs[1], ys[0]),
            box(xs[1], ys[1], xs[2], ys[0]),
            box(xs[0], ys[2], xs[1], ys[1]),
            box(xs[1], ys[2], xs[2], ys[1]),
        ],
        crs=CRS,
    )
    valid = np.where(np.isfinite(pop) & (pop > 0), pop, 0).astype("float64")
    by_area = {
        "nw": valid[:15, :20].sum(),
        "ne": valid[:15, 20:].sum(),
        "sw": valid[15:, :20].sum(),
        "se": valid[15:, 20:].sum(),
    }
    return {"path": path, "areas": areas, "pop": pop, "valid": valid, "by_area": by_area, "x0": x0, "y0": y0}


def test_raster_demand_summed_back_to_areas_conserves_population(raster):
    pts = points_from_raster(raster["path"], areas=raster["areas"], chunk_rows=7)
    assert len(pts) == int((raster["valid"] > 0).sum())  # cells with people only
    out = sum_to_areas(pts, raster["areas"], columns="population")
    np.testing.assert_allclose(out["population"].sum(), raster["valid"].sum(), rtol=1e-12)
    for area_id, total in raster["by_area"].items():
        assert out.loc[out["area_id"] == area_id, "population"].item() == pytest.approx(total, rel=1e-12)


def test_fca_on_raster_demand_equals_cell_centres_and_conserves_places(raster):
    pts = points_from_raster(raster["path"], areas=raster["areas"])
    rng = np.random.default_rng(3)
    sxy = np.array([[raster["x0"] + 1250, raster["y0"] - 1050], [raster["x0"] + 3850, raster["y0"] - 3050]])
    sxy = np.vstack([sxy, rng.uniform(0, 5000, (3, 2)) + [raster["x0"], raster["y0"] - 4000]])
    capacity = np.array([300.0, 150.0, 20.0, 0.0, 60.0])
    dxy = pts.geometry.get_coordinates().to_numpy()
    need = pts["population"].to_numpy()
    res = sa.fca_arrays(dxy, need, sxy, capacity, catchment_m=1500)
    # Independent cell centres straight from the array, row-major like points_from_raster.
    r, c = np.nonzero(raster["valid"] > 0)
    centres = np.column_stack([raster["x0"] + (c + 0.5) * 100, raster["y0"] - (r + 0.5) * 100])
    np.testing.assert_array_equal(dxy, centres)
    assert_same(res, unchunked(centres, raster["valid"][r, c], sxy, capacity, 1500, None))
    # Extensive results summed to areas; the intensive access averaged by need.
    pts = pts.assign(
        need=need, access=res.access, reachable=need * np.minimum(res.access, 1), na=need * res.access
    )
    sums = sum_to_areas(pts, raster["areas"], columns=["need", "reachable", "na"])
    in_reach = ~np.isnan(res.ratio)
    assert sums["na"].sum() == pytest.approx(capacity[in_reach].sum(), rel=1e-9)  # every usable place
    assert (sums["reachable"] <= sums["need"] + 1e-9).all()
    means = weighted_mean_to_areas(pts, raster["areas"], value="access", weight="need")
    np.testing.assert_allclose(means["access"], sums["na"] / sums["need"], rtol=1e-12)


# ----------------------------------------------------------------------------------------------------
# the Dask path
# ----------------------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def dask_cluster():
    distributed = pytest.importorskip("distributed")
    # Worker processes (not threads): the tasks and the weight functions are pickled as on a real cluster.
    # The dashboard is off (no port to bind, no bokeh warning).
    with (
        distributed.LocalCluster(
            n_workers=2, threads_per_worker=1, processes=True, dashboard_address=None
        ) as lc,
        distributed.Client(lc) as client,
    ):
        yield lc, client


@pytest.mark.parametrize("kind", [*WEIGHTS, "lambda"])
def test_dask_equals_single_machine(dask_cluster, kind):
    _, client = dask_cluster
    weight = WEIGHTS.get(kind, lambda d: 1.0 / (1.0 + d / 1000.0))
    dxy, need, sxy, capacity = instance(4, n=3000, m=80)
    single = sa.fca_arrays(dxy, need, sxy, capacity, catchment_m=D0, weight=weight)
    assert_same(single, unchunked(dxy, need, sxy, capacity, D0, weight))
    for n_tiles in (1, 7, 40):
        res = cluster.fca_dask(
            dxy, need, sxy, capacity, catchment_m=D0, weight=weight, client=client, n_tiles=n_tiles
        )
        assert_same(res, single)
        np.testing.assert_array_equal(res.nearest, single.nearest)  # also beyond the catchment


def test_dask_larger_instance_default_tiles_and_default_client(dask_cluster):
    dxy, need, sxy, capacity = instance(5, n=60_000, m=500, clustered=True)
    single = sa.fca_arrays(dxy, need, sxy, capacity, catchment_m=D0)
    res = cluster.fca_dask(dxy, need, sxy, capacity, catchment_m=D0)  # the fixture's client is the default
    assert_same(res, single)


def test_dask_unlimited_catchment(dask_cluster):
    _, client = dask_cluster
    dxy, need, sxy, capacity = instance(6, n=500, m=20)
    res = cluster.fca_dask(dxy, need, sxy, capacity, catchment_m=math.inf, client=client, n_tiles=4)
    # Everyone reaches everything: total supply over total need (as in tests/test_access.py).
    np.testing.assert_allclose(res.access, capacity.sum() / need.sum(), rtol=1e-9)


def test_dask_by_scheduler_address_and_env(dask_cluster, monkeypatch):
    dask = pytest.importorskip("dask")
    distributed = pytest.importorskip("distributed")
    lc, _ = dask_cluster
    dxy, need, sxy, capacity = instance(8, n=300, m=15)
    single = sa.fca_arrays(dxy, need, sxy, capacity, catchment_m=D0)
    assert_same(
        cluster.fca_dask(dxy, need, sxy, capacity, catchment_m=D0, client=lc.scheduler_address), single
    )

    def no_default():
        raise ValueError("No clients found")

    monkeypatch.setattr(distributed, "default_client", no_default)
    with dask.config.set({"scheduler-address": lc.scheduler_address}):  # what DASK_SCHEDULER_ADDRESS sets
        assert_same(cluster.fca_dask(dxy, need, sxy, capacity, catchment_m=D0), single)
    with dask.config.set({"scheduler-address": None}), pytest.raises(SocialMapError, match="DASK_SCHEDULER"):
        cluster.fca_dask(dxy, need, sxy, capacity, catchment_m=D0)


def test_dask_errors_and_empty_inputs(dask_cluster):
    _, client = dask_cluster
    dxy, need, sxy, capacity = instance(9, n=200, m=10)
    with pytest.raises(SocialMapError, match="weights must be finite"):
        cluster.fca_dask(dxy, need, sxy, capacity, catchment_m=D0, client=client, weight=lambda d: -d)
    with pytest.raises(SocialMapError, match="n_tiles"):
        cluster.fca_dask(dxy, need, sxy, capacity, catchment_m=D0, client=client, n_tiles=0)
    with pytest.raises(SocialMapError, match="client"):
        cluster.fca_dask(dxy, need, sxy, capacity, catchment_m=D0, client=42)
    res = cluster.fca_dask(np.zeros((0, 2)), [], sxy, capacity, catchment_m=D0, client=client)
    assert len(res.access) == 0 and np.isnan(res.ratio).all()


def test_tile_demand_partitions_the_points():
    rng = np.random.default_rng(0)
    xy = np.vstack([rng.normal(0, 1000, (5000, 2)), np.zeros((300, 2))])  # clustered, with duplicates
    for k in (1, 2, 5, 9, 64):
        tiles = cluster.tile_demand(xy, k)
        allpos = np.sort(np.concatenate(tiles))
        np.testing.assert_array_equal(allpos, np.arange(len(xy)))
        assert 1 <= len(tiles) <= k + 2 and all(len(t) for t in tiles)
        sizes = [len(t) for t in tiles]
        assert max(sizes) <= len(xy) / len(tiles) + 2 * math.sqrt(k) + 1  # balanced, clusters or not
    assert len(cluster.tile_demand(xy[:3], 10)) == 3
    assert cluster.tile_demand(np.zeros((0, 2)), 4) == []
    with pytest.raises(SocialMapError, match="n_tiles"):
        cluster.tile_demand(xy, 0)


def test_tile_halo_contains_every_service_in_reach():
    rng = np.random.default_rng(1)
    dxy = rng.uniform(0, 10_000, (200, 2)) + ORIGIN
    sxy = rng.uniform(-8000, 18_000, (2000, 2)) + ORIGIN
    sel = tiles._halo(dxy, sxy, 3000.0)
    i, j, _ = sa.pairs_within(dxy, sxy, catchment_m=3000.0)
    assert set(j.tolist()) <= set(sel.tolist())
    assert len(sel) < len(sxy)
    assert pd.Series(sel).is_unique
