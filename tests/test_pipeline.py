"""analyze(): hand-worked numbers on a 2×2 grid of 10 km squares, and invariants."""

from __future__ import annotations

import functools
import math

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
from shapely.geometry import Point, box
from worlds import CRS, square_areas, square_population, taxonomy_from_text

from socialmap import AnalysisConfig, analyze, load_demo, read_population
from socialmap.errors import SocialMapError, ValidationError
from socialmap.names import kosovo_aliases

# The hand-worked cases put one demand point at each square's centre (spreading="representative");
# a test can still ask for the grid.
# A planar world: measured in its own coordinates (they lie outside UTM 34N's zone, see socialmap.crs).
analyze_at_centres = functools.partial(analyze, spreading="representative", crs=CRS)
TAXONOMY = """
schema_version: 1
name: test
sources:
  def: {citation: "by definition"}
  made_up: {citation: "test figure, made up for the test"}
target_groups:
  everyone:
    label: {en: Everyone, sq: Të gjithë, sr: Svi}
    rate: 1.0
    source: def
  half:
    label: {en: Half, sq: Gjysma, sr: Pola}
    rate: 0.5
    source: made_up
  unknown:
    label: {en: Unknown, sq: E panjohur, sr: Nepoznato}
    rate: null
service_types:
  day:
    label: {en: Day care, sq: Qendër ditore, sr: Dnevni boravak}
    target_groups: [everyone]
  home:
    label: {en: Home care, sq: Kujdes në shtëpi, sr: Pomoć u kući}
    target_groups: [half]
  shelter:
    label: {en: Shelter, sq: Strehimore, sr: Sklonište}
    target_groups: [unknown]
"""


@pytest.fixture
def taxonomy(tmp_path):
    return taxonomy_from_text(tmp_path, TAXONOMY)


@pytest.fixture
def areas():
    # a | b on the bottom row, c | d on top; 10 km squares; representative points at the centres.
    return square_areas()


@pytest.fixture
def population():
    return square_population(year=2024)


def _services(*rows):
    ids, types, caps, pts = zip(*rows, strict=True)
    return gpd.GeoDataFrame(
        {"service_id": ids, "name": ids, "service_type": types, "capacity": caps},
        geometry=[Point(p) for p in pts],
        crs=CRS,
    )


@pytest.fixture
def services():
    return _services(("s1", "day", 100.0, (6000, 5000)), ("s2", "day", 50.0, (15000, 14000)))


def test_hand_worked_2sfca(areas, services, population, taxonomy):
    # Demand at the centres (5,5) (15,5) (5,15) (15,15) km; catchment 10.5 km.
    # s1 (6,5) reaches a (1 km), b (9 km), c (10.05 km); not d (13.45 km).
    # s2 (15,14) reaches d (1 km), b (9 km), c (10.05 km); not a (13.45 km).
    # R1 = 100 / (1000 + 3000 + 0) = 0.025 ; R2 = 50 / (2000 + 3000 + 0) = 0.01
    # A_a = 0.025, A_b = 0.035, A_d = 0.01 ; reachable = 25, 105, 20 ; gaps 97.5, 96.5, 99.0
    res = analyze_at_centres(
        areas, services, population, taxonomy=taxonomy, catchment_m=10_500, service_types=("day",)
    )
    t = res.for_service_type("day").set_index("area_id")
    assert t["need"].tolist() == [1000, 3000, 0, 2000]
    assert t.loc[["a", "b", "d"], "access"].tolist() == pytest.approx([0.025, 0.035, 0.01])
    assert t.loc[["a", "b", "d"], "reachable_places"].tolist() == pytest.approx([25, 105, 20])
    assert t.loc[["a", "b", "d"], "gap_score"].tolist() == pytest.approx([97.5, 96.5, 99.0])
    assert math.isnan(t.loc["c", "gap_score"])
    assert t.loc["a", "supply"] == 100 and t.loc["d", "supply"] == 50 and t.loc["b", "supply"] == 0
    assert t.loc["a", "supply_per_10k"] == pytest.approx(1000.0)
    assert t.loc[["a", "b", "d"], "covered_share"].tolist() == [1.0, 1.0, 1.0]
    # All supply is reached by someone, so 2SFCA hands out exactly the total capacity.
    assert t["reachable_places"].sum() == pytest.approx(150)
    a = res.areas.set_index("area_id")
    assert a.loc[["d", "a", "b"], "rank"].tolist() == [1, 2, 3]
    assert a.loc["a", "gap_score_day"] == pytest.approx(97.5)
    assert res.provenance["population_year"] == "2024"
    assert res.provenance["catchment_m"] == {"day": 10_500}


def test_demand_points_are_the_centres(areas, services, population, taxonomy):
    res = analyze_at_centres(
        areas, services, population, taxonomy=taxonomy, catchment_m=10_500, service_types=("day",)
    )
    xy = sorted((round(p.x), round(p.y)) for p in res.demand.geometry)
    assert xy == [(5000, 5000), (5000, 15000), (15000, 5000), (15000, 15000)]


def test_unlimited_catchment_gives_everyone_total_supply_over_total_need(
    areas, services, population, taxonomy
):
    res = analyze_at_centres(
        areas, services, population, taxonomy=taxonomy, catchment_m=1e7, service_types=("day",)
    )
    d = res.demand
    assert d.loc[d["need"] > 0, "access"].to_numpy() == pytest.approx(150 / 6000, rel=1e-12)
    t = res.for_service_type("day").set_index("area_id")
    assert t.loc[["a", "b", "d"], "gap_score"].tolist() == pytest.approx([97.5] * 3)


def test_rates_scale_need(areas, services, population, taxonomy):
    res = analyze_at_centres(
        areas, services, population, taxonomy=taxonomy, catchment_m=10_500, service_types=("home",)
    )
    t = res.for_service_type("home").set_index("area_id")
    assert t["need"].tolist() == [500, 1500, 0, 1000]  # population × 0.5
    assert t["services"].sum() == 0 and (t.loc[["a", "b", "d"], "gap_score"] == 100).all()


def test_unknown_need_is_not_scored_and_says_why(areas, services, population, taxonomy):
    res = analyze_at_centres(areas, services, population, taxonomy=taxonomy, catchment_m=10_500)
    t = res.for_service_type("shelter")
    assert t["gap_score"].isna().all() and (t["method"] == "none").all()
    assert any("shelter: need unknown" in n for n in res.notes)
    # The composite ignores the unscored type: a's composite = mean(day 97.5, home 100).
    a = res.areas.set_index("area_id")
    assert a.loc["a", "composite_gap"] == pytest.approx((97.5 + 100) / 2)


def test_every_capacity_unknown_falls_back_to_distance_coverage(areas, population, taxonomy):
    svc = _services(("s1", "day", np.nan, (6000, 5000)))
    res = analyze_at_centres(
        areas, svc, population, taxonomy=taxonomy, catchment_m=9_500, service_types=("day",)
    )
    t = res.for_service_type("day").set_index("area_id")
    assert (t["method"] == "coverage").all()
    # s1 reaches a (1 km) and b (9 km), not c (10.05 km) nor d.
    assert t.loc[["a", "b", "d"], "gap_score"].tolist() == pytest.approx([0, 0, 100])
    assert any("capacity unknown for every one of its 1 services" in n for n in res.notes)
    assert res.provenance["capacity_unknown"]["day"] == [1, 1]


def test_one_unknown_capacity_does_not_change_the_method(areas, services, population, taxonomy):
    # The hand-worked world plus s3 of unknown capacity at (15, 5) km, in b: 2SFCA stays, on s1 and s2
    # (same access as without s3), and distance coverage counts s3 too.
    svc = pd.concat([services, _services(("s3", "day", np.nan, (15000, 5000)))], ignore_index=True)
    res = analyze_at_centres(
        areas, svc, population, taxonomy=taxonomy, catchment_m=10_500, service_types=("day",)
    )
    t = res.for_service_type("day").set_index("area_id")
    assert (t["method"] == "2sfca").all()
    assert t.loc[["a", "b", "d"], "access"].tolist() == pytest.approx([0.025, 0.035, 0.01])
    assert t.loc[["a", "b", "d"], "gap_score"].tolist() == pytest.approx([97.5, 96.5, 99.0])
    assert t.loc["b", "capacity_unknown"] == 1 and t.loc["b", "services"] == 1
    assert any("capacity unknown for 1 of 3 services: 2sfca uses the 2 known" in n for n in res.notes)
    assert res.provenance["capacity_unknown"]["day"] == [1, 3]


def test_a_service_with_zero_places_covers_no_one(areas, population, taxonomy):
    svc = _services(("s1", "day", 0.0, (6000, 5000)))
    res = analyze_at_centres(
        areas, svc, population, taxonomy=taxonomy, catchment_m=10_500, service_types=("day",)
    )
    t = res.for_service_type("day").set_index("area_id")
    assert t.loc[["a", "b", "d"], "covered_share"].tolist() == [0.0, 0.0, 0.0]
    assert t.loc[["a", "b", "d"], "gap_score"].tolist() == [100.0, 100.0, 100.0]
    assert not res.demand["covered"].any()


def test_spar_supply_by_reach_and_places_per_1000_by_hand(areas, services, population, taxonomy):
    # From the hand-worked 2SFCA: A = 0.025, 0.035, 0.01 for a, b, d; need 1000, 3000, 2000.
    # Places within reach (need × A): 25, 105, 20 — all 150 places, shared out; inside the areas: 100, 0, 50.
    # National access = 150 / 6000 = 0.025, so SPAR = 1.0, 1.4, 0.4; places per 1,000 = 25, 35, 10.
    res = analyze_at_centres(
        areas, services, population, taxonomy=taxonomy, catchment_m=10_500, service_types=("day",)
    )
    t = res.for_service_type("day").set_index("area_id")
    assert t.loc[["a", "b", "d"], "supply_reach"].tolist() == pytest.approx([25, 105, 20])
    assert t.loc[["a", "b", "d"], "supply"].tolist() == [100, 0, 50]
    assert t.loc[["a", "b", "d"], "spar"].tolist() == pytest.approx([1.0, 1.4, 0.4])
    assert t.loc[["a", "b", "d"], "places_per_1000"].tolist() == pytest.approx([25, 35, 10])
    assert t["places_per_1000_national"].unique().tolist() == pytest.approx([25.0])
    # SPAR does not depend on the need rate: the same services for half the people ("home", rate 0.5).
    home = services.assign(service_type="home")
    res2 = analyze_at_centres(
        areas, home, population, taxonomy=taxonomy, catchment_m=10_500, service_types=("home",)
    )
    t2 = res2.for_service_type("home").set_index("area_id")
    assert t2.loc[["a", "b", "d"], "spar"].tolist() == pytest.approx([1.0, 1.4, 0.4])
    assert t2.loc[["a", "b", "d"], "access"].tolist() == pytest.approx([0.05, 0.07, 0.02])


def test_per_cell_unmet_need_and_nearest_distance(areas, services, population, taxonomy):
    res = analyze_at_centres(
        areas, services, population, taxonomy=taxonomy, catchment_m=10_500, service_types=("day",)
    )
    d = res.demand.set_index("area_id")
    # a: 1000 × (1 − 0.025) = 975 unmet; s1 is 1 km away. d: 2000 × 0.99 = 1980; s2 1 km away.
    assert d.loc["a", "unmet"] == pytest.approx(975.0)
    assert d.loc["d", "unmet"] == pytest.approx(1980.0)
    assert d.loc["a", "nearest_m"] == pytest.approx(1000.0)
    assert d.loc["b", "nearest_m"] == pytest.approx(9000.0)


def test_e2sfca_with_band_weights(areas, services, population, taxonomy):
    # Bands of 10.5 km / 3 = 3.5 km: weights 1 (≤3.5), 0.68 (≤7), 0.22 (≤10.5).
    # s1: a at 1 km (w 1), b at 9 km (w .22), c at 10.05 km (w .22, need 0).
    # R1 = 100 / (1000 + .22*3000) = 100/1660 ; s2: d 1 km (w 1), b 9 km (.22): R2 = 50 / (2000 + 660)
    res = analyze_at_centres(
        areas,
        services,
        population,
        taxonomy=taxonomy,
        catchment_m=10_500,
        service_types=("day",),
        method="e2sfca",
    )
    t = res.for_service_type("day").set_index("area_id")
    r1, r2 = 100 / 1660, 50 / 2660
    assert t.loc["a", "access"] == pytest.approx(r1)
    assert t.loc["b", "access"] == pytest.approx(0.22 * r1 + 0.22 * r2)
    assert t.loc["d", "access"] == pytest.approx(r2)


def test_adding_a_service_never_raises_a_gap(taxonomy):
    rng = np.random.default_rng(11)
    cells = [box(x, y, x + 5e3, y + 5e3) for x in range(0, 30_000, 5000) for y in range(0, 30_000, 5000)]
    areas = gpd.GeoDataFrame({"area_id": [f"a{i}" for i in range(36)], "name": "x"}, geometry=cells, crs=CRS)
    pop = pd.DataFrame({"area_id": areas["area_id"], "population": rng.integers(0, 5000, 36).astype(float)})
    rows = [(f"s{i}", "day", float(rng.integers(5, 200)), tuple(rng.uniform(0, 30_000, 2))) for i in range(8)]
    before = analyze_at_centres(
        areas,
        _services(*rows),
        pop,
        taxonomy=taxonomy,
        catchment_m=7000,
        service_types=("day",),
        spreading="grid",
        cell_size_m=2500,
    )
    more = [*rows, ("new", "day", 120.0, (15_000.0, 15_000.0))]
    after = analyze_at_centres(
        areas,
        _services(*more),
        pop,
        taxonomy=taxonomy,
        catchment_m=7000,
        service_types=("day",),
        spreading="grid",
        cell_size_m=2500,
    )
    b = before.table.set_index("area_id")["gap_score"].fillna(0)
    a = after.table.set_index("area_id")["gap_score"].fillna(0)
    assert (a <= b + 1e-9).all()
    assert (a < b - 1e-6).any()
    # Grid spreading conserves need: the areas' need sums to the population.
    assert before.table["need"].sum() == pytest.approx(pop["population"].sum(), rel=1e-12)
    assert before.demand["need"].sum() == pytest.approx(pop["population"].sum(), rel=1e-12)


def test_population_must_cover_every_area_once(areas, services, population, taxonomy):
    # Named by its name (C), not by its id ('c').
    with pytest.raises(ValidationError, match="area C has no population row"):
        analyze_at_centres(
            areas, services, population[population["area_id"] != "c"], taxonomy=taxonomy, catchment_m=1e4
        )
    extra = pd.concat([population, pd.DataFrame({"area_id": ["zz"], "population": [5.0]})])
    with pytest.raises(ValidationError, match="'zz' is not among the areas"):
        analyze_at_centres(areas, services, extra, taxonomy=taxonomy, catchment_m=1e4)


@pytest.mark.parametrize(
    ("options", "message"),
    [
        ({"method": "3sfca"}, "method '3sfca'"),
        ({"catchment_m": -5}, "positive number"),
        ({"catchment_m": {"day": 0}}, "catchment_m for day"),
        ({"spreading": "raster"}, "spreading 'raster'"),
        ({"cell_size_m": 0}, "cell_size_m"),
        ({"service_types": "day"}, "not one string"),
    ],
)
def test_bad_options_are_reported(options, message):
    with pytest.raises(SocialMapError, match=message):
        AnalysisConfig(**options)


def test_unknown_service_type_lists_the_known_ones(areas, services, population, taxonomy):
    with pytest.raises(SocialMapError, match=r"Unknown service type\(s\) \['spa'\]"):
        analyze_at_centres(areas, services, population, taxonomy=taxonomy, service_types=("spa",))


def test_inputs_are_not_mutated(areas, services, population, taxonomy):
    copies = areas.copy(), services.copy(), population.copy()
    analyze_at_centres(areas, services, population, taxonomy=taxonomy, catchment_m=10_500)
    pd.testing.assert_frame_equal(areas, copies[0])
    pd.testing.assert_frame_equal(services, copies[1])
    pd.testing.assert_frame_equal(population, copies[2])


def test_demo_with_a_population_table_keyed_by_serbian_names(tmp_path, shared_kosovo):
    facts = pd.read_csv(shared_kosovo / "municipalities.csv", dtype={"kas_code": str})
    pop = pd.DataFrame({"Opština": facts["name_sr_latn"], "Stanovništvo": range(1000, 1000 + 38 * 10, 10)})
    path = tmp_path / "stanovnistvo.csv"
    pop.to_csv(path, index=False, sep=";")
    demo_areas = load_demo("kosovo").areas
    table = read_population(
        path,
        columns={"Opština": "name", "Stanovništvo": "population"},
        areas=demo_areas,
        aliases=kosovo_aliases(),
    )
    res = analyze_at_centres(population=table, demo="kosovo", method="coverage", service_types=("csw",))
    got = res.for_service_type("csw").set_index("area_id")["need"]
    expected = dict(zip(facts["kas_code"], pop["Stanovništvo"], strict=True))
    assert got.to_dict() == {k: float(v) for k, v in expected.items()}


def test_some_unknown_capacities_keep_2sfca_on_the_known_and_coverage_on_all(areas, population, taxonomy):
    # One known and one unknown capacity: 2SFCA over the known one (s1: R = 100 / (1000 + 3000) = 0.025;
    # catchment 9.5 km reaches a and b), distance coverage over both (s2 reaches d and b).
    svc = _services(("s1", "day", 100.0, (6000, 5000)), ("s2", "day", np.nan, (15000, 14000)))
    res = analyze_at_centres(
        areas, svc, population, taxonomy=taxonomy, catchment_m=9_500, service_types=("day",)
    )
    t = res.for_service_type("day").set_index("area_id")
    assert (t["method"] == "2sfca").all()
    assert t.loc[["a", "b", "d"], "access"].tolist() == pytest.approx([0.025, 0.025, 0.0])
    assert t.loc[["a", "b", "d"], "gap_score"].tolist() == pytest.approx([97.5, 97.5, 100.0])
    assert t.loc[["a", "b", "d"], "covered_share"].tolist() == [1.0, 1.0, 1.0]
    assert t.loc["a", "supply"] == 100 and t.loc["d", "capacity_unknown"] == 1
    assert any("capacity unknown for 1 of 2 services" in n for n in res.notes)


_RNG = np.random.default_rng(21)


@pytest.mark.parametrize(
    "lon, lat",
    [(20.9, 42.6), (-58.4, -34.6), (174.8, -41.3), (-0.1, 51.5), (9.0, 59.9), (3.0, 0.5), (18.05, 0.05)]
    + list(zip(_RNG.uniform(-179, 179, 12).tolist(), _RNG.uniform(-79, 83, 12).tolist(), strict=True)),
)
def test_work_crs_is_geopandas_utm_estimate(lon, lat):
    # (18.05, 0.05): the centre (18.1, 0.0) is on the equator, where socialmap asks PROJ's database too
    from socialmap.crs import work_crs_for

    corners = [Point(lon - 0.4, lat - 0.3), Point(lon + 0.5, lat + 0.2)]
    pts = gpd.GeoDataFrame(geometry=corners, crs="EPSG:4326")
    expected = pts.estimate_utm_crs()
    assert work_crs_for(pts) == expected
    assert work_crs_for(pts) == expected  # the second time from the kept answer


def test_demand_points_are_kept_by_what_they_are_made_of(areas, services, population, taxonomy, monkeypatch):
    from socialmap import pipeline

    monkeypatch.setattr(pipeline, "_DEMAND_CACHE", type(pipeline._DEMAND_CACHE)())
    first = analyze(areas, services, population, taxonomy=taxonomy, spreading="grid", cell_size_m=2000)
    assert len(pipeline._DEMAND_CACHE) == 1
    again = analyze(areas, services, population, taxonomy=taxonomy, spreading="grid", cell_size_m=2000)
    assert len(pipeline._DEMAND_CACHE) == 1  # the same points, not computed again
    pd.testing.assert_frame_equal(pd.DataFrame(again.table), pd.DataFrame(first.table))
    pd.testing.assert_frame_equal(pd.DataFrame(again.demand), pd.DataFrame(first.demand))
    more = population.assign(population=population["population"] * 2)
    doubled = analyze(areas, services, more, taxonomy=taxonomy, spreading="grid", cell_size_m=2000)
    assert len(pipeline._DEMAND_CACHE) == 2  # other need: other points
    np.testing.assert_allclose(doubled.table["need"], 2 * first.table["need"])
    moved = areas.assign(geometry=areas.geometry.translate(1000, 0))
    analyze(moved, services, population, taxonomy=taxonomy, spreading="grid", cell_size_m=2000)
    assert len(pipeline._DEMAND_CACHE) == 3  # other shapes: other points


def test_a_changed_service_type_is_recomputed_the_others_kept(
    areas, services, population, taxonomy, monkeypatch
):
    from socialmap import pipeline

    def fresh(svc):
        monkeypatch.setattr(pipeline, "_DEMAND_CACHE", type(pipeline._DEMAND_CACHE)())
        monkeypatch.setattr(pipeline, "_TYPE_CACHE", type(pipeline._TYPE_CACHE)())
        return analyze(areas, svc, population, taxonomy=taxonomy, spreading="grid", cell_size_m=2000)

    fresh(services)
    kept_before = len(pipeline._TYPE_CACHE)
    changed = services.copy()
    changed.loc[changed.index[0], "capacity"] = float(changed["capacity"].iloc[0]) + 7.0
    reused = analyze(areas, changed, population, taxonomy=taxonomy, spreading="grid", cell_size_m=2000)
    assert len(pipeline._TYPE_CACHE) == kept_before + 1  # only the changed type computed again
    expected = fresh(changed)
    pd.testing.assert_frame_equal(pd.DataFrame(reused.table), pd.DataFrame(expected.table))
    pd.testing.assert_frame_equal(pd.DataFrame(reused.areas), pd.DataFrame(expected.areas))
    pd.testing.assert_frame_equal(pd.DataFrame(reused.demand), pd.DataFrame(expected.demand))


def test_kept_tables_with_a_service_outside_every_area(areas, services, population, taxonomy):
    outside = services.copy()
    outside.loc[outside.index[0], "geometry"] = Point(-5_000_000, -5_000_000)  # far from every area
    first = analyze(areas, outside, population, taxonomy=taxonomy, spreading="grid", cell_size_m=2000)
    again = analyze(areas, outside, population, taxonomy=taxonomy, spreading="grid", cell_size_m=2000)
    assert first.services["area_id"].isna().sum() == 1
    pd.testing.assert_frame_equal(pd.DataFrame(again.table), pd.DataFrame(first.table))


def test_caches_keep_a_bounded_number_of_rows(monkeypatch):
    from socialmap import pipeline

    cache = type(pipeline._DEMAND_CACHE)()
    monkeypatch.setattr(pipeline, "_CACHE_MAX_ROWS", 100)
    pipeline._cache_put(cache, b"big", pd.DataFrame({"x": range(26)}), 8)  # over a quarter: not kept
    assert b"big" not in cache
    for i in range(5):
        pipeline._cache_put(cache, bytes([i]), pd.DataFrame({"x": range(25)}), 8)
    assert list(cache) == [bytes([1]), bytes([2]), bytes([3]), bytes([4])]  # the oldest left: 100 rows
