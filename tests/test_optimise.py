"""socialmap.optimise: hand-worked placements, spopt as oracle, greedy and its bound, capacities, errors."""

from __future__ import annotations

import itertools
import math
import subprocess
import sys

import geopandas as gpd
import numpy as np
import pandas as pd
import pulp
import pytest
from scipy import sparse
from scipy.optimize import linprog
from scipy.spatial.distance import cdist
from shapely.geometry import LineString, Point
from spopt.locate import MCLP
from worlds import CRS, square_areas, square_population, taxonomy_from_text

from socialmap import analyze
from socialmap import optimise as opt
from socialmap.errors import CRSError, SocialMapError


def pts(xy, crs=CRS, **columns) -> gpd.GeoDataFrame:
    xy = np.asarray(xy, dtype=float).reshape(-1, 2)
    return gpd.GeoDataFrame(columns, geometry=gpd.points_from_xy(xy[:, 0], xy[:, 1]), crs=crs)


def on_line(xs, **columns) -> gpd.GeoDataFrame:
    return pts([(x, 0.0) for x in xs], **columns)


# Five demand points on a line, three candidates, radius 1000 m (inclusive):
#   demand x = 0, 1000, 2000, 3000, 4000 m with need 10, 20, 30, 40, 60 (total 160)
#   A at 500 reaches 0, 1000                      -> 10 + 20      = 30
#   B at 2000 reaches 1000, 2000, 3000 (1000 m)   -> 20 + 30 + 40 = 90
#   C at 3500 reaches 3000, 4000                  -> 40 + 60      = 100
# k=1: C (100).  k=2: {A,B} = 100, {A,C} = 130, {B,C} = 20+30+40+60 = 150 -> B and C, 150 (unique).
LINE_NEED = [10.0, 20.0, 30.0, 40.0, 60.0]


@pytest.fixture
def line_demand():
    return on_line([0, 1000, 2000, 3000, 4000], need=LINE_NEED)


@pytest.fixture
def line_sites():
    return on_line([500, 2000, 3500], site=["A", "B", "C"])


@pytest.mark.parametrize("solver", ["exact", "cbc", "greedy", "auto"])
def test_line_k1(line_demand, line_sites, solver):
    p = opt.maximal_covering(line_demand, line_sites, radius_m=1000, k=1, solver=solver)
    assert p.chosen["site"].tolist() == ["C"]
    assert p.objective == 100 and p.covered_need == 100 and p.total_need == 160 and p.existing_need == 0
    assert p.chosen["added_need"].tolist() == [100] and p.chosen["reachable_need"].tolist() == [100]


@pytest.mark.parametrize("solver", ["exact", "cbc", "greedy"])
def test_line_k2(line_demand, line_sites, solver):
    p = opt.maximal_covering(line_demand, line_sites, radius_m=1000, k=2, solver=solver)
    # In order of what each adds: C first (100), then B adds 1000 and 2000 (20 + 30 = 50).
    assert p.chosen["site"].tolist() == ["C", "B"]
    assert p.chosen["order"].tolist() == [1, 2]
    assert p.chosen["added_need"].tolist() == [100, 50]
    assert p.chosen["reachable_need"].tolist() == [100, 90]
    assert p.objective == 150 and p.covered_need == 150
    assert p.chosen.index.tolist() == [2, 1]  # the candidates' own index is kept
    d = p.demand
    assert d["need_reached_before"].tolist() == [0] * 5
    assert d["need_reached_after"].tolist() == [0, 20, 30, 40, 60]
    if solver == "cbc":
        assert p.method == "cbc" and p.gap_to_optimum == 0 and p.bound == 150
    if solver == "exact":
        assert p.method == "exact" and p.gap_to_optimum == 0 and p.bound == 150


def test_existing_service_counts_as_covered(line_demand, line_sites):
    # An existing service at x=0 reaches 0 and 1000 (need 30). What is left: 2000, 3000, 4000 (130).
    # k=1: A adds 0, B adds 30 + 40 = 70, C adds 40 + 60 = 100 -> C; covered 30 + 100 = 130.
    # k=2: {B,C} adds 30 + 40 + 60 = 130 -> everyone (160).
    existing = on_line([0])
    p1 = opt.maximal_covering(line_demand, line_sites, radius_m=1000, k=1, existing=existing, solver="exact")
    assert p1.chosen["site"].tolist() == ["C"]
    assert (p1.objective, p1.existing_need, p1.covered_need) == (100, 30, 130)
    p2 = opt.maximal_covering(line_demand, line_sites, radius_m=1000, k=2, existing=existing, solver="exact")
    assert sorted(p2.chosen["site"]) == ["B", "C"] and p2.objective == 130 and p2.covered_need == 160
    assert p2.demand["need_reached_before"].tolist() == [10, 20, 0, 0, 0]


def test_existing_next_to_the_best_site_moves_the_choice(line_demand, line_sites):
    # An existing service at 4000 covers 3000 and 4000 (100): C now adds nothing, B adds 20 + 30 = 50.
    p = opt.maximal_covering(
        line_demand, line_sites, radius_m=1000, k=1, existing=on_line([4000]), solver="exact"
    )
    assert p.chosen["site"].tolist() == ["B"] and p.objective == 50 and p.covered_need == 150


def test_greedy_can_miss_the_optimum_and_its_bound_says_so():
    # Sets: site0 = {a1, a2}, site1 = {b1, b2}, site2 = {a1, b1, e}; weights a*, b* = 2, e = 1.
    # Greedy takes site2 (5), then adds 2 -> 7. Optimum {site0, site1} = 8.
    cov = np.array([[1, 0, 1], [1, 0, 0], [0, 1, 1], [0, 1, 0], [0, 0, 1]])
    w = [2, 2, 2, 2, 1]
    chosen, value, info = opt.solve_mclp(cov, w, k=2, solver="greedy")
    assert value == 7 and chosen.tolist()[0] == 2
    best, best_value, best_info = opt.solve_mclp(cov, w, k=2, solver="exact")
    assert sorted(best.tolist()) == [0, 1] and best_value == 8 and best_info["gap_to_optimum"] == 0
    assert info["bound"] >= 8
    assert info["gap_to_optimum"] >= (8 - 7) / 8 - 1e-12
    assert info["method"] == "greedy" and info["bound_method"]


def test_solve_mclp_respects_covered():
    cov = np.array([[1, 0], [0, 1]])
    chosen, value, _ = opt.solve_mclp(cov, [10, 1], k=1, covered=[True, False], solver="exact")
    assert chosen.tolist() == [1] and value == 1


def _random_instance(seed, n=40, m=10, e=0, side=10_000.0):
    rng = np.random.default_rng(seed)
    d = rng.uniform(0, side, (n, 2))
    c = rng.uniform(0, side, (m, 2))
    ex = rng.uniform(0, side, (e, 2))
    w = rng.integers(1, 60, n).astype(float)
    return d, c, ex, w


def _brute_force(cov, w, k, covered):
    """Every k-subset: the best value and how many subsets reach it."""
    best, count = -1.0, 0
    for subset in itertools.combinations(range(cov.shape[1]), k):
        reached = covered | cov[:, list(subset)].any(axis=1)
        value = float(w[reached & ~covered].sum())
        if value > best + 1e-9:
            best, count = value, 1
        elif abs(value - best) <= 1e-9:
            count += 1
    return best, count


# spopt 0.7 builds its model with `LpVariable(...)`, which PuLP 3.3 deprecates, and the oracle is solved with
# PuLP's bundled CBC (`PULP_CBC_CMD`), which PuLP 3.3 flags too; only those two notices are ignored.
@pytest.mark.filterwarnings("ignore:Constructing LpVariable:DeprecationWarning")
@pytest.mark.filterwarnings("ignore:PULP_CBC_CMD is deprecated:DeprecationWarning")
@pytest.mark.parametrize("seed", range(8))
def test_equals_spopt_on_random_instances(seed):
    d, c, ex, w = _random_instance(seed, e=seed % 3)
    k = 1 + seed % 3
    radius = 2000.0
    m, e = len(c), len(ex)
    # spopt's MCLP with the existing services as predefined facilities (they are always open).
    cost = cdist(d, np.vstack([c, ex]))
    predefined = np.r_[np.zeros(m), np.ones(e)].astype(int) if e else None
    model = MCLP.from_cost_matrix(
        cost, w, service_radius=radius, p_facilities=k + e, predefined_facilities_arr=predefined
    )
    model.solve(pulp.PULP_CBC_CMD(msg=False))
    spopt_value = pulp.value(model.problem.objective)
    spopt_sites = sorted(j for j in range(m) if model.fac_vars[j].value() > 0.5)

    existing = pts(ex) if e else None
    p = opt.maximal_covering(
        pts(d, need=w), pts(c, cid=range(m)), radius_m=radius, k=k, existing=existing, solver="exact"
    )
    assert p.covered_need == pytest.approx(spopt_value, abs=1e-9)
    covered = (cdist(d, ex) <= radius).any(axis=1) if e else np.zeros(len(d), bool)
    best, count = _brute_force(cdist(d, c) <= radius, w, k, covered)
    assert p.objective == pytest.approx(best)
    if count == 1:
        assert sorted(p.chosen["cid"]) == spopt_sites


@pytest.mark.parametrize("seed", range(6))
def test_greedy_is_at_most_the_optimum_and_within_its_bound(seed):
    d, c, ex, w = _random_instance(100 + seed, n=80, m=14, e=1)
    k = 2 + seed % 3
    kwargs = dict(radius_m=2500, k=k, existing=pts(ex))
    exact = opt.maximal_covering(pts(d, need=w), pts(c), solver="exact", **kwargs)
    greedy = opt.maximal_covering(pts(d, need=w), pts(c), solver="greedy", **kwargs)
    assert greedy.method == "greedy"
    assert greedy.objective <= exact.objective + 1e-9
    assert greedy.objective >= (1 - 1 / math.e) * exact.objective - 1e-9
    assert greedy.bound >= exact.objective - 1e-9
    true_gap = (exact.objective - greedy.objective) / exact.objective
    assert greedy.gap_to_optimum >= true_gap - 1e-12
    assert 0 <= greedy.gap_to_optimum < 1
    assert greedy.chosen["added_need"].sum() == pytest.approx(greedy.objective)


def test_greedy_without_lp_bound_still_bounds():
    d, c, _, w = _random_instance(7, n=60, m=12)
    cov = cdist(d, c) <= 2500
    _, value, info = opt.solve_mclp(cov, w, k=3, solver="greedy", bound_iterations=0)
    best, _ = _brute_force(cov, w, 3, np.zeros(len(d), bool))
    assert value <= best <= info["bound"] + 1e-9
    assert info["bound"] <= value / (1 - 1 / math.e) + 1e-9
    assert "Lagrangian" not in info["bound_method"]


def test_auto_switches_to_greedy_on_large_models(line_demand, line_sites, monkeypatch):
    monkeypatch.setattr(opt, "AUTO_MAX_PAIRS", 2)
    p = opt.maximal_covering(line_demand, line_sites, radius_m=1000, k=1, solver="auto")
    assert p.method == "greedy" and any("greedy" in n for n in p.notes)


def test_auto_uses_the_exact_solver_on_small_models(line_demand, line_sites):
    p = opt.maximal_covering(line_demand, line_sites, radius_m=1000, k=2, solver="auto")
    assert p.method == "exact" and p.gap_to_optimum == 0 and any("exact" in n for n in p.notes)


def test_cbc_is_the_older_name_of_the_exact_solver():
    # The same HiGHS solver under its older name: the same sites and values, only `method` echoes the name.
    d, c, ex, w = _random_instance(11, n=60, m=12, e=1)
    kwargs = dict(radius_m=2500, k=3, existing=pts(ex))
    exact = opt.maximal_covering(pts(d, need=w), pts(c), solver="exact", **kwargs)
    cbc = opt.maximal_covering(pts(d, need=w), pts(c), solver="cbc", **kwargs)
    assert (exact.method, cbc.method) == ("exact", "cbc")
    assert exact.chosen.index.tolist() == cbc.chosen.index.tolist()
    assert (exact.objective, exact.bound, exact.bound_method) == (cbc.objective, cbc.bound, cbc.bound_method)


@pytest.mark.parametrize("capacity", [None, 15.0])
def test_exact_time_limit_is_a_clear_error(monkeypatch, capacity):
    # An instance that HiGHS's presolve does not solve outright, so the (tiny) time limit is reached.
    d, c, ex, w = _random_instance(1, n=60, m=12, e=1)
    monkeypatch.setattr(opt, "EXACT_TIME_LIMIT_S", 1e-9)
    with pytest.raises(SocialMapError, match="stopped after 1e-09 s") as err:
        opt.maximal_covering(
            pts(d, need=w),
            pts(c),
            radius_m=2500,
            k=3,
            existing=pts(ex, capacity=[20.0]),
            capacity=capacity,
            solver="exact",
        )
    assert "greedy" in str(err.value)
    assert err.value.render("sq") != str(err.value) and err.value.render("sr") != str(err.value)


def test_no_pulp_and_scipy_optimize_only_when_solving():
    # `import socialmap.optimise` stays cheap (no scipy.optimize), and the exact solver needs no PuLP.
    code = (
        "import sys, numpy as np; from socialmap import optimise; "
        "before = sorted(m for m in ('pulp', 'scipy.optimize') if m in sys.modules); "
        "optimise.solve_mclp(np.eye(3), [1, 2, 3], k=2, solver='exact'); "
        "print(before, 'pulp' in sys.modules, 'scipy.optimize' in sys.modules)"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.split() == ["[]", "False", "True"]


def test_coverage_matrix_is_inclusive_and_sparse():
    a = opt.coverage_matrix([[0, 0], [3000, 4000], [0, 5001]], [[0, 0]], radius_m=5000)
    assert a.toarray().ravel().tolist() == [1, 1, 0] and a.nnz == 2
    assert opt.coverage_matrix(np.zeros((0, 2)), [[0, 0]], radius_m=1).shape == (0, 1)


def test_nothing_left_to_cover(line_demand, line_sites):
    p = opt.maximal_covering(line_demand, line_sites, radius_m=1000, k=1, existing=on_line([1000, 3000]))
    # Existing at 1000 covers 0, 1000, 2000; at 3000 covers 2000, 3000, 4000: all covered already.
    assert p.objective == 0 and p.covered_need == 160 and len(p.chosen) == 1


def test_inputs_are_not_changed(line_demand, line_sites):
    before_d, before_s = line_demand.copy(), line_sites.copy()
    opt.maximal_covering(
        line_demand, line_sites, radius_m=1000, k=2, existing=on_line([0], capacity=[5.0]), capacity=10.0
    )
    pd.testing.assert_frame_equal(line_demand, before_d)
    pd.testing.assert_frame_equal(line_sites, before_s)


# ----------------------------------------------------------------------------------------------------
# capacities
# ----------------------------------------------------------------------------------------------------


def test_capacitated_hand_worked():
    # Demand at 0 (need 50) and 3000 (need 20); candidates at 0 and 3000; radius 1000; 25 places each.
    # Site 0 serves min(25, 50) = 25; site 3000 serves min(25, 20) = 20 -> site 0, 25.
    demand = on_line([0, 3000], need=[50.0, 20.0])
    sites = on_line([0, 3000], site=["west", "east"])
    p = opt.maximal_covering(demand, sites, radius_m=1000, k=1, capacity=25.0, solver="exact")
    assert p.capacitated and p.chosen["site"].tolist() == ["west"]
    assert p.objective == pytest.approx(25) and p.chosen["served_need"].tolist() == pytest.approx([25])
    assert p.demand["need_reached_after"].tolist() == pytest.approx([25, 0])
    # Uncapacitated, west reaches 50: the capacity is what makes the difference.
    assert opt.maximal_covering(demand, sites, radius_m=1000, k=1).objective == 50
    # An existing service at 0 with 40 places leaves 10 there: east (20) now serves more than west (10).
    existing = on_line([0], capacity=[40.0])
    q = opt.maximal_covering(
        demand, sites, radius_m=1000, k=1, capacity=25.0, existing=existing, solver="exact"
    )
    assert q.chosen["site"].tolist() == ["east"]
    assert (q.existing_need, q.objective, q.covered_need) == pytest.approx((40, 20, 60))
    g = opt.maximal_covering(
        demand, sites, radius_m=1000, k=1, capacity=25.0, existing=existing, solver="greedy"
    )
    assert g.chosen["site"].tolist() == ["east"] and g.objective == pytest.approx(20)
    assert g.bound >= 20 - 1e-9 and g.bound_method.startswith("Lagrangian")


def test_capacity_column_of_candidates():
    demand = on_line([0, 3000], need=[50.0, 20.0])
    sites = on_line([0, 3000], site=["west", "east"], places=[10.0, 30.0])
    p = opt.maximal_covering(demand, sites, radius_m=1000, k=1, capacity="places", solver="exact")
    assert p.chosen["site"].tolist() == ["east"] and p.objective == pytest.approx(20)


def test_existing_of_unknown_capacity_add_no_places_and_warn():
    demand = on_line([0, 3000], need=[50.0, 20.0])
    sites = on_line([0, 3000])
    with pytest.warns(UserWarning, match="unknown capacity"):
        p = opt.maximal_covering(
            demand, sites, radius_m=1000, k=1, capacity=25.0, existing=on_line([0], capacity=[np.nan])
        )
    assert p.existing_need == 0 and p.objective == pytest.approx(25)
    assert any("unknown capacity" in n for n in p.notes)


def _capacitated_brute_force(d, c, ex, w, cap_c, cap_e, radius, k):
    """Best served need over every k-subset, each evaluated by an independent transport LP."""
    dc, de = cdist(d, c) <= radius, cdist(d, ex) <= radius
    best = 0.0
    for subset in itertools.combinations(range(len(c)), k):
        sites = [(dc[:, j], cap_c[j]) for j in subset] + [(de[:, e], cap_e[e]) for e in range(len(ex))]
        pairs = [(i, s) for s, (col, _) in enumerate(sites) for i in np.flatnonzero(col)]
        if not pairs:
            continue
        a = np.zeros((len(d) + len(sites), len(pairs)))
        for p, (i, s) in enumerate(pairs):
            a[i, p] = 1
            a[len(d) + s, p] = 1
        res = linprog(-np.ones(len(pairs)), A_ub=a, b_ub=np.r_[w, [cap for _, cap in sites]], method="highs")
        best = max(best, -res.fun)
    return best


@pytest.mark.parametrize("seed", range(5))
def test_capacitated_optimum_against_brute_force(seed):
    d, c, ex, w = _random_instance(200 + seed, n=30, m=7, e=1)
    rng = np.random.default_rng(seed)
    cap_c = rng.integers(20, 120, len(c)).astype(float)
    cap_e = np.array([60.0])
    k = 1 + seed % 3
    demand, sites, existing = pts(d, need=w), pts(c, places=cap_c), pts(ex, capacity=cap_e)
    kwargs = dict(radius_m=2500, k=k, existing=existing, capacity="places")
    exact = opt.maximal_covering(demand, sites, solver="exact", **kwargs)
    greedy = opt.maximal_covering(demand, sites, solver="greedy", **kwargs)
    best = _capacitated_brute_force(d, c, ex, w, cap_c, cap_e, 2500, k)
    assert exact.covered_need == pytest.approx(best, abs=1e-6)
    assert greedy.covered_need <= best + 1e-6
    assert greedy.bound + greedy.existing_need >= best - 1e-6
    assert exact.demand["need_reached_after"].sum() == pytest.approx(exact.covered_need)
    assert (exact.demand["need_reached_after"] <= w + 1e-9).all()


# ----------------------------------------------------------------------------------------------------
# candidates and the pipeline shortcut
# ----------------------------------------------------------------------------------------------------


@pytest.fixture
def areas():
    return square_areas()


def test_candidates_from_areas(areas):
    c = opt.candidates_from_areas(areas)
    assert c["candidate_id"].tolist() == ["area:a", "area:b", "area:c", "area:d"]
    assert [(p.x, p.y) for p in c.geometry] == [(5e3, 5e3), (15e3, 5e3), (5e3, 15e3), (15e3, 15e3)]
    assert c["area_name"].tolist() == ["A", "B", "C", "D"] and c.crs == areas.crs


def test_candidates_from_grid(areas):
    c = opt.candidates_from_grid(areas, cell_size_m=5000)
    assert len(c) == 16 and c["candidate_id"].is_unique
    assert c["area_id"].value_counts().to_dict() == {"a": 4, "b": 4, "c": 4, "d": 4}
    with pytest.raises(SocialMapError, match="area_id"):
        opt.candidates_from_grid(areas.drop(columns="area_id"), cell_size_m=5000)


TAXONOMY = """
schema_version: 1
name: test
sources:
  def: {citation: "by definition"}
target_groups:
  everyone:
    label: {en: Everyone, sq: Të gjithë, sr: Svi}
    rate: 1.0
    source: def
  unknown:
    label: {en: Unknown, sq: E panjohur, sr: Nepoznato}
    rate: null
service_types:
  day:
    label: {en: Day care, sq: Qendër ditore, sr: Dnevni boravak}
    target_groups: [everyone]
  shelter:
    label: {en: Shelter, sq: Strehimore, sr: Sklonište}
    target_groups: [unknown]
"""


@pytest.fixture
def result(tmp_path, areas):
    taxonomy = taxonomy_from_text(tmp_path, TAXONOMY)
    population = square_population()
    services = gpd.GeoDataFrame(
        {"service_id": ["s1"], "name": ["s1"], "service_type": ["day"], "capacity": [100.0]},
        geometry=[Point(5000, 5000)],
        crs=CRS,
    )
    return analyze(
        areas,
        services,
        population,
        taxonomy=taxonomy,
        spreading="representative",
        catchment_m=6000,
        crs=CRS,  # a planar world: measure in its own coordinates (they lie outside UTM 34N's zone)
    )


def test_place_services_on_a_result(result):
    # Demand at the centres; s1 at a's centre reaches a only (b is 10 km away). Need b 3000, d 2000.
    # One new site among the area points: b's point (3000) beats d's (2000); with k=2 both.
    p = opt.place_services(result, "day", k=1)
    assert p.chosen["area_id"].tolist() == ["b"] and p.chosen["area_name"].tolist() == ["B"]
    assert p.radius_m == 6000 and (p.existing_need, p.objective) == (1000, 3000)
    p2 = opt.place_services(result, "day", k=2, candidates="grid", cell_size_m=5000)
    assert p2.objective == 5000 and set(p2.chosen["area_id"]) == {"b", "d"}
    own = pts([(15000, 15000)], label=["mine"])
    p3 = opt.place_services(result, "day", k=1, candidates=own)
    assert p3.chosen["label"].tolist() == ["mine"] and p3.chosen["area_id"].tolist() == ["d"]
    assert opt.place_services(result, "day", k=1, capacity=500.0).objective == 500


def test_place_services_errors(result):
    with pytest.raises(SocialMapError, match="No results for service type 'nope'"):
        opt.place_services(result, "nope", k=1)
    with pytest.raises(SocialMapError, match="No need is known for 'shelter'"):
        opt.place_services(result, "shelter", k=1)
    with pytest.raises(SocialMapError, match="'areas', 'grid' or a GeoDataFrame"):
        opt.place_services(result, "day", k=1, candidates="everywhere")


# ----------------------------------------------------------------------------------------------------
# errors
# ----------------------------------------------------------------------------------------------------


def test_error_paths(line_demand, line_sites):
    def run(demand=line_demand, sites=line_sites, **kw):
        kw = {"radius_m": 1000, "k": 1, **kw}
        return opt.maximal_covering(demand, sites, **kw)

    with pytest.raises(SocialMapError, match="`k`=4 is more than the 3 candidate"):
        run(k=4)
    for bad_k in (0, 1.5, True, "2"):
        with pytest.raises(SocialMapError, match="`k`"):
            run(k=bad_k)
    for bad_r in (0, -5, math.inf, None):
        with pytest.raises(SocialMapError, match="`radius_m`"):
            run(radius_m=bad_r)
    with pytest.raises(SocialMapError, match="`solver` must be one of"):
        run(solver="gurobi")
    with pytest.raises(SocialMapError, match="no column 'people'"):
        run(weight="people")
    with pytest.raises(SocialMapError, match="finite and >= 0"):
        run(demand=line_demand.assign(need=[-1.0, 0, 0, 0, 0]))
    with pytest.raises(SocialMapError, match="must hold numbers"):
        run(demand=line_demand.assign(need=["many", 0, 0, 0, 0]))
    lines = line_sites.copy()
    lines.loc[0, "geometry"] = LineString([(0, 0), (1, 1)])
    with pytest.raises(SocialMapError, match=r"`candidates` must hold points; found \['LineString'\]"):
        run(sites=lines)
    empty = line_demand.copy()
    empty.loc[1, "geometry"] = None
    with pytest.raises(SocialMapError, match="`demand` has 1 row\\(s\\) without a location"):
        run(demand=empty)
    with pytest.raises(SocialMapError, match="`existing` must be a GeoDataFrame"):
        run(existing=pd.DataFrame({"x": [1]}))
    with pytest.raises(CRSError, match="geographic"):
        run(
            demand=line_demand.set_crs("EPSG:4326", allow_override=True),
            sites=line_sites.set_crs("EPSG:4326", allow_override=True),
        )
    with pytest.raises(CRSError, match="`demand` is in EPSG:32634 but `candidates` is in EPSG:3857"):
        run(sites=line_sites.set_crs("EPSG:3857", allow_override=True))
    with pytest.raises(CRSError, match="has no CRS"):
        run(existing=gpd.GeoDataFrame(geometry=[Point(0, 0)]))
    # capacities
    with pytest.raises(SocialMapError, match="no such column"):
        run(capacity="places")
    with pytest.raises(SocialMapError, match="empty in 1 row"):
        run(sites=line_sites.assign(places=[1.0, np.nan, 2.0]), capacity="places")
    with pytest.raises(SocialMapError, match="finite and >= 0"):
        run(sites=line_sites.assign(places=[1.0, -3.0, 2.0]), capacity="places")
    with pytest.raises(SocialMapError, match="`capacity`"):
        run(capacity=-2.0)
    with pytest.raises(SocialMapError, match="`coverage` has 2 rows"):
        opt.solve_mclp(np.eye(2), [1, 2, 3], k=1)
    with pytest.raises(SocialMapError, match="`covered` has 1 values"):
        opt.solve_mclp(np.eye(2), [1, 2], k=1, covered=[True])


def test_empty_need_warns_and_counts_as_zero(line_demand, line_sites):
    demand = line_demand.assign(need=[np.nan, 20.0, 30.0, 40.0, 60.0])
    with pytest.warns(UserWarning, match="count as 0 need"):
        p = opt.maximal_covering(demand, line_sites, radius_m=1000, k=1)
    assert p.total_need == 150


def _lp_relaxation(cov, w, k):
    """The MCLP's LP relaxation, solved independently (dense, HiGHS)."""
    n, m = cov.shape
    a_ub = np.hstack([-cov.astype(float), np.eye(n)])
    res = linprog(
        np.r_[np.zeros(m), -w],
        A_ub=a_ub,
        b_ub=np.zeros(n),
        A_eq=np.r_[np.ones(m), np.zeros(n)].reshape(1, -1),
        b_eq=[k],
        bounds=(0, 1),
        method="highs",
    )
    return -res.fun


@pytest.mark.parametrize("seed", range(4))
def test_lagrangian_bound_reaches_the_lp_relaxation(seed):
    # Every multiplier gives a bound >= the LP optimum (weak duality); the subgradient steps get close to it.
    d, c, _, w = _random_instance(500 + seed, n=120, m=20)
    cov = cdist(d, c) <= 2000
    lp = _lp_relaxation(cov, w, 3)
    _, value, _ = opt.solve_mclp(cov, w, k=3, solver="greedy")
    bound = opt._mclp_lagrangian_bound(sparse.csr_array(cov.astype(float)), w, 3, value, 300)
    assert lp - 1e-6 <= bound <= lp * 1.01


def test_capacitated_greedy_breaks_ties_by_reach():
    # Both sites fill their 10 places (need 100 at 0, 500 at 3000): the tie goes to the one reaching more.
    demand = on_line([0, 3000], need=[100.0, 500.0])
    sites = on_line([0, 3000], site=["west", "east"])
    p = opt.maximal_covering(demand, sites, radius_m=1000, k=1, capacity=10.0, solver="greedy")
    assert p.chosen["site"].tolist() == ["east"] and p.objective == pytest.approx(10)
    assert p.chosen["reachable_need"].tolist() == [500] and p.gap_to_optimum == pytest.approx(0, abs=1e-9)
