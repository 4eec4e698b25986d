"""Tests of socialmap.access: hand-worked examples, invariants, errors and a cross-check with PySAL access."""

from __future__ import annotations

import math

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy.spatial import cKDTree
from shapely.geometry import LineString, Polygon

from socialmap import access as sa
from socialmap.access import blocks, kernels
from socialmap.errors import CRSError, SocialMapError, ValidationError

access_pkg = pytest.importorskip("access")  # PySAL access, the oracle (a dev dependency)
Access = access_pkg.Access
pysal_weights = access_pkg.weights

CRS = "EPSG:32634"  # UTM 34N, metres (Kosovo)


# ----------------------------------------------------------------------------------------------------
# helpers
# ----------------------------------------------------------------------------------------------------


def points(xy, crs=CRS, **columns) -> gpd.GeoDataFrame:
    xy = np.asarray(xy, dtype=float)
    return gpd.GeoDataFrame(columns, geometry=gpd.points_from_xy(xy[:, 0], xy[:, 1]), crs=crs)


def brute_pairs(dxy, sxy):
    """All pairs with their euclidean distance, by brute force (independent of socialmap's tiling)."""
    dxy, sxy = np.asarray(dxy, float), np.asarray(sxy, float)
    i, j = np.meshgrid(np.arange(len(dxy)), np.arange(len(sxy)), indexing="ij")
    i, j = i.ravel(), j.ravel()
    dx, dy = dxy[i, 0] - sxy[j, 0], dxy[i, 1] - sxy[j, 1]
    return i, j, np.sqrt(dx * dx + dy * dy)


def pysal_fca(dxy, need, sxy, capacity, catchment_m, weight_fn=None) -> np.ndarray:
    """A_i from PySAL access, with its cost table built independently with a scipy KD-tree.

    The table holds every pair within 1.5 x the catchment, so that access's own `max_cost` filter (`<=`)
    decides which pairs are in reach. Returns NaN where access has no value (no service in reach).
    """
    n = len(dxy)
    sdm = cKDTree(dxy).sparse_distance_matrix(cKDTree(sxy), 1.5 * catchment_m, output_type="ndarray")
    cost = pd.DataFrame({"origin": sdm["i"], "dest": sdm["j"], "cost": sdm["v"]})
    demand = pd.DataFrame({"need": need}, index=pd.Index(np.arange(n), name="geoid"))
    supply = pd.DataFrame({"capacity": capacity}, index=pd.Index(np.arange(len(sxy)), name="geoid"))
    acc = Access(
        demand_df=demand,
        demand_value="need",
        supply_df=supply,
        supply_value="capacity",
        cost_df=cost,
        cost_origin="origin",
        cost_dest="dest",
        cost_name="cost",
    )
    if weight_fn is None:
        out = acc.two_stage_fca(max_cost=catchment_m)
    else:
        out = acc.enhanced_two_stage_fca(max_cost=catchment_m, weight_fn=weight_fn)
    return out.iloc[:, 0].reindex(np.arange(n)).to_numpy(dtype=float)


def assert_matches_pysal(dxy, need, sxy, capacity, catchment, ours_w, theirs_w) -> sa.FCAResult:
    """Run both and compare them, allowing only for the documented edge cases."""
    ours = sa.fca_arrays(dxy, need, sxy, capacity, catchment_m=catchment, weight=ours_w)
    theirs = pysal_fca(dxy, need, sxy, capacity, catchment, theirs_w)
    # access gives NaN exactly where no service is in reach; socialmap gives 0 and covered=False there.
    nan = np.isnan(theirs)
    np.testing.assert_array_equal(nan, ~ours.covered)
    assert (ours.access[nan] == 0).all()
    # access gives inf to points that reach a service whose catchment holds only zero-need points (R = c / 0);
    # socialmap leaves such a service out (ratio NaN). Without those services access agrees everywhere.
    inf = np.isinf(theirs)
    if inf.any():
        unused = ours.weighted_need == 0
        i, j, d = brute_pairs(dxy[inf], sxy)
        assert set(np.flatnonzero(inf)[np.unique(i[(d <= catchment) & unused[j]])]) == set(
            np.flatnonzero(inf)
        )
        rest = pysal_fca(dxy, need, sxy[~unused], capacity[~unused], catchment, theirs_w)
        theirs = np.where(inf, np.nan_to_num(rest, nan=0.0), theirs)
    np.testing.assert_allclose(ours.access[~nan], theirs[~nan], rtol=1e-9, atol=0)
    return ours


# ----------------------------------------------------------------------------------------------------
# hand-worked examples
# ----------------------------------------------------------------------------------------------------

# Three demand points and two services on a line (x in metres, y = 0):
#
#   demand   d0 x=0 n=10     d1 x=1000 n=20     d2 x=2000 n=30
#   services s0 x=500 c=6                        s1 x=2500 c=3
#
# distances     d0     d1     d2
#   s0         500    500   1500
#   s1        2500   1500    500
LINE_D = [[0, 0], [1000, 0], [2000, 0]]
LINE_N = [10, 20, 30]
LINE_S = [[500, 0], [2500, 0]]
LINE_C = [6, 3]


def test_hand_worked_2sfca_inclusive_threshold():
    # catchment 1500 (inclusive): s0 reaches d0, d1, d2; s1 reaches d1 (exactly 1500) and d2.
    # R0 = 6 / (10 + 20 + 30) = 0.1 ; R1 = 3 / (20 + 30) = 0.06
    # A0 = 0.1 ; A1 = 0.1 + 0.06 = 0.16 ; A2 = 0.1 + 0.06 = 0.16
    # check: sum n_i A_i = 1 + 3.2 + 4.8 = 9 = 6 + 3 (supply is conserved)
    res = sa.fca_arrays(LINE_D, LINE_N, LINE_S, LINE_C, catchment_m=1500)
    np.testing.assert_allclose(res.ratio, [0.1, 0.06], rtol=1e-15)
    np.testing.assert_allclose(res.access, [0.1, 0.16, 0.16], rtol=1e-15)
    np.testing.assert_array_equal(res.n_services, [1, 2, 2])
    np.testing.assert_array_equal(res.nearest, [500, 500, 500])
    np.testing.assert_allclose(res.weighted_need, [60, 50])


def test_hand_worked_2sfca_smaller_catchment():
    # catchment 1000: s0 reaches d0, d1 -> R0 = 6 / 30 = 0.2 ; s1 reaches d2 -> R1 = 3 / 30 = 0.1
    # A = [0.2, 0.2, 0.1]
    res = sa.fca_arrays(LINE_D, LINE_N, LINE_S, LINE_C, catchment_m=1000)
    np.testing.assert_allclose(res.access, [0.2, 0.2, 0.1], rtol=1e-15)
    # just below 1500 the pair s1-d1 (exactly 1500 m) drops out: the threshold is really inclusive
    res = sa.fca_arrays(LINE_D, LINE_N, LINE_S, LINE_C, catchment_m=math.nextafter(1500, 0))
    np.testing.assert_array_equal(res.n_services, [1, 1, 1])


def test_hand_worked_e2sfca_step_weights():
    # catchment 1500, weights {500: 1, 1500: 0.5} (inclusive bounds), applied in both steps:
    # w: s0 -> d0 1, d1 1, d2 0.5 ;  s1 -> d1 0.5, d2 1
    # R0 = 6 / (10 + 20 + 0.5 * 30) = 6 / 45 = 2/15 ;  R1 = 3 / (0.5 * 20 + 30) = 3 / 40 = 0.075
    # A0 = 2/15 ; A1 = 2/15 + 0.5 * 0.075 = 0.170833.. ; A2 = 0.5 * 2/15 + 0.075 = 0.141666..
    res = sa.fca_arrays(
        LINE_D, LINE_N, LINE_S, LINE_C, catchment_m=1500, weight=sa.step_weights({500: 1, 1500: 0.5})
    )
    np.testing.assert_allclose(res.ratio, [2 / 15, 0.075], rtol=1e-14)
    np.testing.assert_allclose(res.access, [2 / 15, 2 / 15 + 0.0375, 1 / 15 + 0.075], rtol=1e-14)
    assert float(np.dot(LINE_N, res.access)) == pytest.approx(9, rel=1e-14)


def test_hand_worked_frame_and_uncovered_point():
    # d3 at x=6000 has no service within 1500 m: access 0 (not NaN), covered False, nearest 3500 m (s1)
    demand = points([*LINE_D, [6000, 0]], need=[*LINE_N, 5])
    supply = points(LINE_S, capacity=LINE_C)
    out = sa.two_step_fca(demand, supply, catchment_m=1500)
    assert list(out.columns) == ["access", "covered", "n_services", "nearest_m"]
    np.testing.assert_allclose(out["access"], [0.1, 0.16, 0.16, 0.0], rtol=1e-15)
    assert out["covered"].tolist() == [True, True, True, False]
    assert out["n_services"].tolist() == [1, 2, 2, 0]
    assert out["nearest_m"].tolist() == [500.0, 500.0, 500.0, 3500.0]
    assert out.attrs["method"] == "2SFCA" and out.attrs["catchment_m"] == 1500


# ----------------------------------------------------------------------------------------------------
# cross-check with PySAL access
# ----------------------------------------------------------------------------------------------------


def test_pysal_access_threshold_semantics():
    # What the cross-check relies on, read from access's source (fca.weighted_catchment: `cost <= max_cost`;
    # weights.step_fn: `key_to_test <= k`): both are inclusive.
    fn = pysal_weights.step_fn({5000: 1, 10000: 0.68})
    assert fn(5000) == 1 and fn(10000) == 0.68 and fn(10000.000001) == 0
    a = pysal_fca(np.array([[0.0, 0.0], [3000.0, 4000.0]]), [1.0, 1.0], np.array([[0.0, 0.0]]), [2.0], 5000.0)
    np.testing.assert_allclose(a, [1.0, 1.0])  # the point exactly 5000 m away is in reach


def random_instance(seed: int, n: int = 200, m: int = 20, side: float = 40_000.0, catchment: float = 5_000.0):
    """Integer coordinates (exact arithmetic), zero-need points, points exactly on the catchment and on each
    step bound, an isolated service and an isolated demand point."""
    rng = np.random.default_rng(seed)
    dxy = np.round(rng.uniform(0, side, (n, 2)))
    sxy = np.round(rng.uniform(0, side, (m, 2)))
    need = rng.uniform(1, 100, n)
    need[7::7] = 0.0
    capacity = rng.uniform(1, 30, m)
    # 3-4-5 triangles: distances exactly 5000 (the catchment), 3500 and 2000 (step bounds below)
    for k, (dx, dy) in enumerate([(3000, 4000), (2100, 2800), (1200, 1600), (-4000, 3000), (0, -5000)]):
        dxy[k] = sxy[k] + (dx, dy)
    sxy[-1] = (-60_000, -60_000)  # isolated service: nobody within reach
    dxy[-1] = (side + 60_000, side)  # isolated demand point: no service within reach
    return dxy, need, sxy, capacity, catchment


WEIGHT_PAIRS = {
    "2sfca": (None, None),
    "step": (
        sa.step_weights({2000: 1, 3500: 0.6, 5000: 0.25}),
        pysal_weights.step_fn({2000: 1, 3500: 0.6, 5000: 0.25}),
    ),
    "step-beyond": (sa.step_weights({1000: 1, 8000: 0.5}), pysal_weights.step_fn({1000: 1, 8000: 0.5})),
    # last bound inside the catchment: pairs between 2000 m and 5000 m have weight 0
    "step-short": (sa.step_weights({1000: 1, 2000: 0.5}), pysal_weights.step_fn({1000: 1, 2000: 0.5})),
    "gaussian": (sa.gaussian_weights(2500), pysal_weights.gaussian(2500)),
    "gravity": (sa.gravity_weights(1000, -1.5, min_dist_m=250), pysal_weights.gravity(1000, -1.5, 250)),
}


@pytest.mark.parametrize("seed", [0, 1, 2, 3])
@pytest.mark.parametrize("kind", list(WEIGHT_PAIRS))
def test_cross_check_pysal_access(seed, kind):
    dxy, need, sxy, capacity, catchment = random_instance(seed)
    ours_w, theirs_w = WEIGHT_PAIRS[kind]
    # the constructed points really are at the catchment and at the step bounds
    i, j, d = brute_pairs(dxy[:5], sxy[:5])
    assert {5000.0, 3500.0, 2000.0} <= set(d[i == j].tolist())
    ours = assert_matches_pysal(dxy, need, sxy, capacity, catchment, ours_w, theirs_w)
    assert ours.covered.sum() > 100 and (~ours.covered).sum() >= 1  # a meaningful mix
    assert math.isnan(ours.ratio[-1])  # the isolated service


@pytest.mark.parametrize("seed", [10, 11])
def test_cross_check_pysal_access_larger_denser(seed):
    # 1000 x 60 with a large catchment: many pairs per point, many chunks in socialmap's tiling
    dxy, need, sxy, capacity, _ = random_instance(seed, n=1000, m=60, side=60_000)
    for ours_w, theirs_w in [(None, None), WEIGHT_PAIRS["step"]]:
        assert_matches_pysal(dxy, need, sxy, capacity, 15_000, ours_w, theirs_w)


def test_pysal_scalar_weight_function_accepted():
    # access's own (scalar-only) step function works too, element by element, with the same result (to the
    # last digits: socialmap's step weights are summed as masks, one per step, the scalar one pair by pair)
    dxy, need, sxy, capacity, catchment = random_instance(5)
    ours_w, theirs_w = WEIGHT_PAIRS["step"]
    a = sa.fca_arrays(dxy, need, sxy, capacity, catchment_m=catchment, weight=ours_w)
    b = sa.fca_arrays(dxy, need, sxy, capacity, catchment_m=catchment, weight=theirs_w)
    np.testing.assert_allclose(a.access, b.access, rtol=1e-14, atol=0)
    np.testing.assert_array_equal(a.n_services, b.n_services)


def test_service_with_only_zero_need_in_reach_differs_from_pysal_as_documented():
    # z (need 0) is the only point within 2000 m of s0; b (need 10) is served by s1.
    # socialmap: R_s0 undefined -> NaN ratio, adds 0 -> A_z = 0 (covered, since s0 is in reach).
    # PySAL access: R_s0 = 5 / 0 = inf, so A_z = inf. Everyone else agrees.
    dxy = np.array([[0.0, 0.0], [10_000.0, 0.0]])
    need, sxy, capacity = [0.0, 10.0], np.array([[1000.0, 0.0], [10_500.0, 0.0]]), [5.0, 2.0]
    ours = sa.fca_arrays(dxy, need, sxy, capacity, catchment_m=2000)
    theirs = pysal_fca(dxy, need, sxy, capacity, 2000)
    assert math.isnan(ours.ratio[0]) and ours.ratio[1] == pytest.approx(0.2)
    assert ours.access.tolist() == [0.0, pytest.approx(0.2)] and ours.covered.all()
    assert math.isinf(theirs[0]) and theirs[1] == pytest.approx(0.2)


# ----------------------------------------------------------------------------------------------------
# invariants
# ----------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("catchment", [math.inf, 1e9])
def test_unlimited_catchment_gives_total_supply_over_total_need(catchment):
    dxy, need, sxy, capacity, _ = random_instance(7)
    res = sa.fca_arrays(dxy, need, sxy, capacity, catchment_m=catchment)
    expected = np.sum(capacity) / np.sum(need)
    np.testing.assert_allclose(res.access, expected, rtol=1e-12)
    assert res.covered.all() and (res.n_services == len(sxy)).all()


@pytest.mark.parametrize("kind", list(WEIGHT_PAIRS))
def test_supply_is_conserved(kind):
    # sum_i n_i A_i = sum_j R_j sum_i w_ij n_i = sum of capacity over services with weighted need in reach
    dxy, need, sxy, capacity, catchment = random_instance(8)
    res = sa.fca_arrays(dxy, need, sxy, capacity, catchment_m=catchment, weight=WEIGHT_PAIRS[kind][0])
    reached = res.weighted_need > 0
    assert not reached.all()  # the isolated service is left out
    assert np.dot(need, res.access) == pytest.approx(np.sum(capacity[reached]), rel=1e-12)


@pytest.mark.parametrize("kind", ["2sfca", "step", "gaussian"])
def test_adding_a_service_never_lowers_anyones_access(kind):
    # True for 2SFCA/E2SFCA: R_j of an existing service depends only on the need in its own catchment, which a
    # new service does not change, so A_i only gains the term w_ik R_k. (It is 3SFCA's selection weights, or
    # moving a service, that can lower someone's access; see the next test.)
    w = WEIGHT_PAIRS[kind][0]
    dxy, need, sxy, capacity, catchment = random_instance(9)
    before = sa.fca_arrays(dxy, need, sxy, capacity, catchment_m=catchment, weight=w)
    rng = np.random.default_rng(9)
    for _ in range(5):
        new = rng.uniform(0, 40_000, (1, 2))
        after = sa.fca_arrays(
            dxy, need, np.vstack([sxy, new]), np.r_[capacity, 12.0], catchment_m=catchment, weight=w
        )
        assert (after.access >= before.access * (1 - 1e-12)).all()
        gained = np.dot(need, after.access) - np.dot(need, before.access)
        assert gained == pytest.approx(12.0 if after.weighted_need[-1] > 0 else 0.0, abs=1e-9)


def test_moving_a_service_closer_can_lower_access():
    # Not monotone in distance: s moves from 1500 m to 1000 m of a (need 1), which brings b (need 100) to
    # exactly 2000 m (inclusive) into its catchment.
    # Before: R = 10 / 1, A_a = 10. After: R = 10 / 101, A_a = 0.099.
    dxy, need = [[0, 0], [3000, 0]], [1, 100]
    before = sa.fca_arrays(dxy, need, [[-1500, 0]], [10], catchment_m=2000)
    after = sa.fca_arrays(dxy, need, [[1000, 0]], [10], catchment_m=2000)
    assert before.access[0] == pytest.approx(10) and after.access[0] == pytest.approx(10 / 101)


def test_adding_need_never_raises_anyones_access():
    dxy, need, sxy, capacity, catchment = random_instance(12)
    before = sa.fca_arrays(dxy, need, sxy, capacity, catchment_m=catchment)
    more = need.copy()
    more[np.argmax(before.n_services)] += 500
    after = sa.fca_arrays(dxy, more, sxy, capacity, catchment_m=catchment)
    assert (after.access <= before.access * (1 + 1e-12)).all()
    assert (after.access < before.access).any()


def test_scaling_need_and_capacity():
    dxy, need, sxy, capacity, catchment = random_instance(13)
    w = WEIGHT_PAIRS["gaussian"][0]
    base = sa.fca_arrays(dxy, need, sxy, capacity, catchment_m=catchment, weight=w).access
    np.testing.assert_allclose(
        sa.fca_arrays(dxy, need * 4, sxy, capacity, catchment_m=catchment, weight=w).access,
        base / 4,
        rtol=1e-12,
    )
    np.testing.assert_allclose(
        sa.fca_arrays(dxy, need, sxy, capacity * 3, catchment_m=catchment, weight=w).access,
        base * 3,
        rtol=1e-12,
    )


def test_permutation_and_translation_invariance():
    dxy, need, sxy, capacity, catchment = random_instance(14)
    w = WEIGHT_PAIRS["step"][0]
    base = sa.fca_arrays(dxy, need, sxy, capacity, catchment_m=catchment, weight=w)
    rng = np.random.default_rng(14)
    p, q = rng.permutation(len(dxy)), rng.permutation(len(sxy))
    perm = sa.fca_arrays(dxy[p], need[p], sxy[q], capacity[q], catchment_m=catchment, weight=w)
    np.testing.assert_allclose(perm.access, base.access[p], rtol=1e-12)
    np.testing.assert_allclose(perm.ratio, base.ratio[q], rtol=1e-12)
    # a whole-metre shift to UTM-like coordinates keeps every distance exact
    shift = np.array([500_000.0, 4_600_000.0])
    moved = sa.fca_arrays(dxy + shift, need, sxy + shift, capacity, catchment_m=catchment, weight=w)
    np.testing.assert_allclose(moved.access, base.access, rtol=1e-12)
    np.testing.assert_array_equal(moved.n_services, base.n_services)


@st.composite
def instances(draw):
    scale = draw(st.sampled_from([1.0, 10.0, 1000.0]))
    line = draw(st.booleans())
    n = draw(st.integers(1, 60))
    m = draw(st.integers(1, 12))
    ints = st.integers(-300, 300)
    dxy = np.array([[draw(ints), 0 if line else draw(ints)] for _ in range(n)], dtype=float) * scale
    sxy = np.array([[draw(ints), 0 if line else draw(ints)] for _ in range(m)], dtype=float) * scale
    need = np.array([draw(st.sampled_from([0.0, 1.0, 2.5, 40.0])) for _ in range(n)])
    capacity = np.array([draw(st.sampled_from([0.0, 1.0, 7.0])) for _ in range(m)])
    catchment = draw(st.sampled_from([1.0, 50.0, 120.0, 500.0, math.inf])) * scale
    return dxy, need, sxy, capacity, catchment


@settings(max_examples=150, deadline=None)
@given(instances(), st.sampled_from(["2sfca", "step", "gaussian"]))
def test_tiling_equals_brute_force_pairs(inst, kind):
    # the tiled engine against the same formulas on every pair found by brute force (fca_from_pairs)
    dxy, need, sxy, capacity, catchment = inst
    ref_m = catchment if math.isfinite(catchment) else 1000.0
    w = {
        "2sfca": None,
        "step": sa.step_weights({0.3 * ref_m: 1, 0.7 * ref_m: 0.4}),
        "gaussian": sa.gaussian_weights(ref_m / 2),
    }[kind]
    ours = sa.fca_arrays(dxy, need, sxy, capacity, catchment_m=catchment, weight=w)
    i, j, d = brute_pairs(dxy, sxy)
    ref = sa.fca_from_pairs(i, j, d, need, capacity, max_cost=catchment, weight=w)
    np.testing.assert_allclose(ours.access, ref.access, rtol=1e-12, atol=1e-300)
    np.testing.assert_array_equal(ours.n_services, ref.n_services)
    np.testing.assert_array_equal(ours.covered, ref.covered)
    np.testing.assert_allclose(ours.weighted_need, ref.weighted_need, rtol=1e-12, atol=1e-300)
    np.testing.assert_array_equal(np.isnan(ours.ratio), np.isnan(ref.ratio))
    near = ref.covered
    np.testing.assert_array_equal(ours.nearest[near], ref.nearest[near])
    np.testing.assert_array_equal(ours.nearest, np.min(d.reshape(len(dxy), len(sxy)), axis=1))


def test_pairs_within_matches_brute_force():
    dxy, _, sxy, _, catchment = random_instance(15)
    i, j, d = sa.pairs_within(dxy, sxy, catchment_m=catchment)
    bi, bj, bd = brute_pairs(dxy, sxy)
    keep = bd <= catchment
    np.testing.assert_array_equal(i, bi[keep])
    np.testing.assert_array_equal(j, bj[keep])
    np.testing.assert_array_equal(d, bd[keep])
    assert (d == catchment).sum() >= 2  # the constructed pairs exactly at the threshold are in


def test_pairs_within_on_threads_and_small_blocks(monkeypatch):
    dxy, _, sxy, _, catchment = random_instance(17, n=2000, m=150)
    bi, bj, bd = brute_pairs(dxy, sxy)
    keep = bd <= catchment
    monkeypatch.setattr(blocks, "_THREADS_MIN_ENTRIES", 0)
    monkeypatch.setattr(blocks, "_MAX_BLOCK", 500)  # many strips, split chunks
    for workers in (1, 2):
        i, j, d = sa.pairs_within(dxy, sxy, catchment_m=catchment, workers=workers)
        np.testing.assert_array_equal(i, bi[keep])
        np.testing.assert_array_equal(j, bj[keep])
        np.testing.assert_array_equal(d, bd[keep])


def test_blocks_are_split_to_bound_memory(monkeypatch):
    # a tiny block limit and no cache force the split and the recomputation paths; the result must not change
    dxy, need, sxy, capacity, _ = random_instance(16, n=400, m=40)
    w = WEIGHT_PAIRS["step"][0]
    base = sa.fca_arrays(dxy, need, sxy, capacity, catchment_m=15_000, weight=w)
    monkeypatch.setattr(blocks, "_MAX_BLOCK", 16)
    monkeypatch.setattr(blocks, "_CACHE_BYTES", 0)
    small = sa.fca_arrays(dxy, need, sxy, capacity, catchment_m=15_000, weight=w)
    np.testing.assert_allclose(small.access, base.access, rtol=1e-12)
    np.testing.assert_array_equal(small.n_services, base.n_services)


# ----------------------------------------------------------------------------------------------------
# weight functions
# ----------------------------------------------------------------------------------------------------


def test_weight_functions_equal_pysal_access():
    dist = np.r_[0.0, 1.0, 4999.999, 5000.0, 5000.001, 10_000.0, 12_345.6, 15_000.0, 15_000.5, 1e6]
    ours = sa.step_weights({5000: 1, 10000: 0.68, 15000: 0.22})(dist)
    theirs = [pysal_weights.step_fn({5000: 1, 10000: 0.68, 15000: 0.22})(x) for x in dist]
    np.testing.assert_array_equal(ours, theirs)
    np.testing.assert_array_equal(
        sa.gaussian_weights(4000)(dist), [pysal_weights.gaussian(4000)(x) for x in dist]
    )
    gravity = pysal_weights.gravity(2000, -2, 100)
    np.testing.assert_array_equal(sa.gravity_weights(2000, -2, 100)(dist), [gravity(x) for x in dist])
    assert "5000: 1" in repr(sa.step_weights({5000: 1}))


@pytest.mark.parametrize(
    "make",
    [
        lambda: sa.step_weights({}),
        lambda: sa.step_weights({5000: -1}),
        lambda: sa.step_weights({-5: 1}),
        lambda: sa.step_weights({math.nan: 1}),
        lambda: sa.step_weights([(5000, 1)]),
        lambda: sa.gaussian_weights(0),
        lambda: sa.gaussian_weights(-3),
        lambda: sa.gravity_weights(0, -1),
        lambda: sa.gravity_weights(1000, math.inf),
        lambda: sa.gravity_weights(1000, -1, min_dist_m=-1),
    ],
)
def test_weight_factories_reject_bad_parameters(make):
    with pytest.raises(SocialMapError):
        make()


def test_infinite_weight_is_an_error():
    # gravity with a negative alpha and no minimum distance is infinite for a service on a demand point
    w = sa.gravity_weights(1000, -1)
    with pytest.raises(SocialMapError, match="min_dist_m"):
        sa.fca_arrays([[0, 0], [10, 0]], [1, 1], [[0, 0]], [1], catchment_m=100, weight=w)
    with pytest.raises(SocialMapError, match="finite"):
        sa.fca_arrays([[0, 0]], [1], [[5, 0]], [1], catchment_m=100, weight=lambda d: -d)


# ----------------------------------------------------------------------------------------------------
# frames, coverage, nearest distance
# ----------------------------------------------------------------------------------------------------


@pytest.fixture
def frames():
    dxy, need, sxy, capacity, catchment = random_instance(20, n=60, m=8)
    demand = points(dxy, need=need, name=[f"d{k}" for k in range(len(dxy))])
    demand.index = pd.Index(
        [f"cell-{k}" for k in np.random.default_rng(1).permutation(len(dxy))], name="cell"
    )
    supply = points(sxy, capacity=capacity)
    supply.index = supply.index + 100
    return demand, supply, catchment


def test_two_step_fca_frame_matches_arrays_and_keeps_index(frames):
    demand, supply, catchment = frames
    before_d, before_s = demand.copy(), supply.copy()
    w = WEIGHT_PAIRS["step"][0]
    out = sa.two_step_fca(demand, supply, catchment_m=catchment, weight=w)
    ref = sa.fca_arrays(
        np.c_[demand.geometry.x, demand.geometry.y],
        demand["need"],
        np.c_[supply.geometry.x, supply.geometry.y],
        supply["capacity"],
        catchment_m=catchment,
        weight=w,
    )
    assert out.index.equals(demand.index)
    np.testing.assert_array_equal(out["access"], ref.access)
    assert out["covered"].dtype == bool and out["n_services"].dtype == np.int64
    assert out.attrs["method"] == "E2SFCA" and "step_weights" in out.attrs["weight"]
    pd.testing.assert_frame_equal(demand, before_d)  # inputs are not mutated
    pd.testing.assert_frame_equal(supply, before_s)


def test_default_catchment_is_read_from_settings(frames, monkeypatch):
    demand, supply, _ = frames
    from socialmap import settings as sm_settings

    monkeypatch.setattr(sm_settings, "default_catchment_m", 3000.0)
    assert sa.two_step_fca(demand, supply).attrs["catchment_m"] == 3000.0


def test_distance_coverage_and_nearest_distance(frames):
    demand, supply, catchment = frames
    out = sa.distance_coverage(demand, supply, catchment_m=catchment)
    dxy = np.c_[demand.geometry.x, demand.geometry.y]
    sxy = np.c_[supply.geometry.x, supply.geometry.y]
    _, _, d = brute_pairs(dxy, sxy)
    d = d.reshape(len(dxy), len(sxy))
    np.testing.assert_array_equal(out["nearest_m"], d.min(axis=1))
    np.testing.assert_array_equal(out["covered"], d.min(axis=1) <= catchment)
    np.testing.assert_array_equal(out["n_services"], (d <= catchment).sum(axis=1))
    np.testing.assert_array_equal(sa.nearest_distance(dxy, sxy), d.min(axis=1))
    assert out.index.equals(demand.index)


def test_no_services_and_no_demand():
    demand = points([[0, 0], [5, 5]], need=[1.0, 2.0])
    none = points(np.zeros((0, 2)), capacity=np.zeros(0))
    out = sa.two_step_fca(demand, none, catchment_m=1000)
    assert out["access"].tolist() == [0.0, 0.0] and not out["covered"].any()
    assert np.isinf(out["nearest_m"]).all()
    empty = sa.two_step_fca(points(np.zeros((0, 2)), need=np.zeros(0)), points([[0, 0]], capacity=[1]))
    assert len(empty) == 0 and list(empty.columns) == ["access", "covered", "n_services", "nearest_m"]
    assert np.isinf(sa.nearest_distance([[0, 0]], np.zeros((0, 2)))).all()


def test_zero_capacity_service_covers_but_gives_no_access():
    res = sa.fca_arrays([[0, 0]], [5], [[10, 0]], [0], catchment_m=100)
    assert res.covered[0] and res.access[0] == 0 and res.ratio[0] == 0


# ----------------------------------------------------------------------------------------------------
# errors
# ----------------------------------------------------------------------------------------------------


def test_missing_columns_are_named_with_what_was_found(frames):
    demand, supply, catchment = frames
    with pytest.raises(ValidationError) as info:
        sa.two_step_fca(
            demand.drop(columns="need"), supply.rename(columns={"capacity": "places"}), catchment_m=1
        )
    msg = str(info.value)
    assert "missing column(s) ['need']; found ['name', 'geometry']" in msg
    assert "missing column(s) ['capacity']; found ['places', 'geometry']" in msg
    assert len(info.value.errors) == 2  # every problem, in one report


@pytest.mark.parametrize(
    ("column", "value", "match"),
    [("need", np.nan, "missing \\(NaN\\)"), ("need", -1.0, "negative"), ("need", np.inf, "infinite")],
)
def test_bad_need_values(frames, column, value, match):
    demand, supply, catchment = frames
    demand = demand.copy()
    demand.loc[demand.index[3], column] = value
    with pytest.raises(ValidationError, match=match) as info:
        sa.two_step_fca(demand, supply, catchment_m=catchment)
    assert demand.index[3] in str(info.value)  # the row is named by its index label


def test_non_numeric_need(frames):
    demand, supply, catchment = frames
    with pytest.raises(ValidationError, match="must hold numbers"):
        sa.two_step_fca(demand.assign(need="many"), supply, catchment_m=catchment)


def test_negative_capacity(frames):
    demand, supply, catchment = frames
    with pytest.raises(ValidationError, match="negative"):
        sa.two_step_fca(demand, supply.assign(capacity=-supply["capacity"]), catchment_m=catchment)


def test_missing_capacity_raises_or_is_dropped_with_a_warning(frames):
    demand, supply, catchment = frames
    holes = supply.copy()
    holes.loc[holes.index[[1, 4]], "capacity"] = np.nan
    with pytest.raises(ValidationError, match="missing \\(NaN\\)"):
        sa.two_step_fca(demand, holes, catchment_m=catchment)
    with pytest.warns(UserWarning, match="2 service\\(s\\) with missing capacity"):
        dropped = sa.two_step_fca(demand, holes, catchment_m=catchment, missing_capacity="drop")
    expected = sa.two_step_fca(demand, supply.drop(index=supply.index[[1, 4]]), catchment_m=catchment)
    pd.testing.assert_frame_equal(dropped, expected)
    with pytest.raises(SocialMapError, match="missing_capacity"):
        sa.two_step_fca(demand, holes, catchment_m=catchment, missing_capacity="fill")


def test_nullable_capacity_with_pd_na(frames):
    demand, supply, catchment = frames
    holes = supply.assign(capacity=pd.array([None, *supply["capacity"].iloc[1:]], dtype="Float64"))
    with pytest.raises(ValidationError, match="missing"):
        sa.two_step_fca(demand, holes, catchment_m=catchment)


def test_non_point_geometry(frames):
    demand, supply, catchment = frames
    geoms = list(supply.geometry)
    geoms[0] = Polygon([(0, 0), (1, 0), (1, 1)])
    geoms[1] = LineString([(0, 0), (1, 1)])
    geoms[2] = None
    bad = gpd.GeoDataFrame({"capacity": supply["capacity"].to_numpy()}, geometry=geoms, crs=CRS)
    with pytest.raises(ValidationError) as info:
        sa.two_step_fca(demand, bad, catchment_m=catchment)
    msg = str(info.value)
    assert "['LineString', 'Polygon']" in msg and "representative_point" in msg and "no geometry" in msg


def test_geographic_and_mismatched_crs(frames):
    demand, supply, catchment = frames
    with pytest.raises(CRSError, match="geographic"):
        sa.two_step_fca(demand.set_crs(4326, allow_override=True), supply.set_crs(4326, allow_override=True))
    with pytest.raises(CRSError):
        sa.two_step_fca(demand, supply.set_crs("EPSG:3857", allow_override=True), catchment_m=catchment)
    with pytest.raises(CRSError, match="no CRS"):
        sa.distance_coverage(demand.set_crs(None, allow_override=True), supply, catchment_m=catchment)


@pytest.mark.parametrize("catchment", [0, -5, math.nan, "10km", True])
def test_bad_catchment(frames, catchment):
    demand, supply, _ = frames
    with pytest.raises(SocialMapError, match="catchment_m"):
        sa.two_step_fca(demand, supply, catchment_m=catchment)
    with pytest.raises(SocialMapError, match="catchment_m"):
        sa.fca_arrays([[0, 0]], [1], [[0, 0]], [1], catchment_m=catchment)


def test_bad_arguments(frames):
    demand, supply, catchment = frames
    with pytest.raises(SocialMapError, match="weight"):
        sa.two_step_fca(demand, supply, catchment_m=catchment, weight={5000: 1})
    with pytest.raises(SocialMapError, match="GeoDataFrame"):
        sa.two_step_fca(pd.DataFrame(demand), supply, catchment_m=catchment)


def test_array_checks():
    with pytest.raises(ValidationError, match="has 2 values for 1 points"):
        sa.fca_arrays([[0, 0]], [1, 2], [[0, 0]], [1], catchment_m=10)
    with pytest.raises(ValidationError, match="shape"):
        sa.fca_arrays([0, 0], [1], [[0, 0]], [1], catchment_m=10)
    with pytest.raises(ValidationError, match="missing or infinite"):
        sa.fca_arrays([[0, np.nan]], [1], [[0, 0]], [1], catchment_m=10)
    with pytest.raises(ValidationError, match="capacity"):
        sa.fca_arrays([[0, 0]], [1], [[0, 0]], [np.nan], catchment_m=10)
    with pytest.raises(ValidationError, match="out of range"):
        sa.fca_from_pairs([0], [3], [1.0], [1], [1], max_cost=10)


def test_underflowing_weighted_need_counts_as_none():
    # gaussian weight at 19 km with sigma 500 m is ~1e-314 (subnormal): capacity / weighted need overflows.
    # Such a service is treated as having no weighted need in reach (ratio NaN, adds 0), never inf or NaN
    # access, and other services are unaffected.
    dxy = [[-180_000.0, 0.0], [0.0, 0.0]]
    sxy = [[-199_000.0, 0.0], [100.0, 0.0]]
    w = sa.gaussian_weights(500)
    for res in (
        sa.fca_arrays(dxy, [1.0, 2.0], sxy, [1.0, 4.0], catchment_m=math.inf, weight=w),
        sa.fca_from_pairs(
            [0, 1], [0, 1], [19_000.0, 100.0], [1.0, 2.0], [1.0, 4.0], max_cost=math.inf, weight=w
        ),
    ):
        assert np.isnan(res.ratio[0]) and 0 < res.weighted_need[0] < 1e-300
        assert res.access[0] == 0.0
        assert res.access[1] == pytest.approx(float(w(100.0)) * 4.0 / (2.0 * float(w(100.0))))


def test_numpy_distances_are_cdist_bit_for_bit():
    # Small problems compute distances with numpy (scipy.spatial not imported); the answer must not change.
    from scipy.spatial import cKDTree
    from scipy.spatial.distance import cdist

    rng = np.random.default_rng(21)
    for scale, offset in ((1e3, 0.0), (1e5, 4.6e6), (3e4, 4.6e6)):
        a = rng.uniform(0, scale, (300, 2)) + offset
        b = rng.uniform(0, scale, (70, 2)) + offset
        ours = kernels._numpy_distances(a, b, np.empty((300, 70)), np.empty((300, 70)))
        np.testing.assert_array_equal(ours, cdist(a, b, "sqeuclidean"))
        np.testing.assert_array_equal(blocks._nearest(a, b), cKDTree(b).query(a, k=1)[0])  # brute force here


@pytest.mark.parametrize("weight", [None, "step", "gaussian"])
def test_numpy_and_scipy_distances_give_the_same_answer(weight, monkeypatch):
    dxy, need, sxy, capacity, catchment = random_instance(18, n=500, m=40)
    w = {None: None, "step": WEIGHT_PAIRS["step"][0], "gaussian": sa.gaussian_weights(2000)}[weight]
    monkeypatch.setattr(blocks, "_NUMPY_DISTANCES_MAX", -1)  # scipy everywhere
    with_scipy = sa.fca_arrays(dxy, need, sxy, capacity, catchment_m=catchment, weight=w)
    pairs_scipy = sa.pairs_within(dxy, sxy, catchment_m=catchment)
    monkeypatch.setattr(blocks, "_NUMPY_DISTANCES_MAX", 10**12)
    monkeypatch.setattr(blocks, "_scipy_worth_it", lambda entries: False)  # numpy everywhere
    with_numpy = sa.fca_arrays(dxy, need, sxy, capacity, catchment_m=catchment, weight=w)
    for field in ("access", "weighted_need", "ratio", "n_services", "covered", "nearest"):
        np.testing.assert_array_equal(getattr(with_numpy, field), getattr(with_scipy, field))
    for ours, theirs in zip(sa.pairs_within(dxy, sxy, catchment_m=catchment), pairs_scipy, strict=True):
        np.testing.assert_array_equal(ours, theirs)
