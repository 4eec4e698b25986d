"""analyze(), scenarios, placement, maps and briefs with travel times on a road network, worked by hand.

The four 10 km squares of tests/worlds.py with one demand point at each centre: a (5, 5) km, b (15, 5),
c (5, 15), d (15, 15), with 1,000, 3,000, 0 and 2,000 residents. Roads: a–b at 60 km/h (1 min per km),
b–d at 30 km/h (2 min per km); nothing reaches c, whose centre is 10 km from the nearest road. Day care
(rate 1.0) at s1 (6, 5) km on the a–b road, 40 places, and s2 (15, 15.5) km, 500 m beyond the end of the
b–d road (6 minutes' walk at 5 km/h), 30 places. Catchment 15 minutes.

    a -> s1: 1 min; b -> s1: 9 min; d -> s1: 20 + 9 = 29 min (out)
    d -> s2: 6 min; b -> s2: 20 + 6 = 26 min (out); a -> s2: 10 + 20 + 6 = 36 min (out)
    W1 = 1000 + 3000 = 4000, R1 = 40 / 4000 = 0.01;  W2 = 2000, R2 = 30 / 2000 = 0.015
    A_a = A_b = 0.01, A_d = 0.015; c is off the network (nothing within 1,000 m): not covered, A = 0.
"""

from __future__ import annotations

import math

import geopandas as gpd
import numpy as np
import pytest
import shapely
from shapely.geometry import Point
from worlds import CRS, square_areas, square_population, taxonomy_from_text

from socialmap import analyze, network
from socialmap.errors import SocialMapError
from socialmap.report import run_notes
from socialmap.static import method_line

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
service_types:
  day:
    label: {en: Day care, sq: Qendër ditore, sr: Dnevni boravak}
    target_groups: [everyone]
    catchment_min: 15
    catchment_min_source: made_up
"""


@pytest.fixture
def taxonomy(tmp_path):
    return taxonomy_from_text(tmp_path, TAXONOMY)


@pytest.fixture
def roads():
    layer = gpd.GeoDataFrame(
        {"kmh": [60.0, 30.0]},
        geometry=[
            shapely.LineString([(5000, 5000), (15000, 5000)]),
            shapely.LineString([(15000, 5000), (15000, 15000)]),
        ],
        crs=CRS,
    )
    return network.from_edges(layer, speed="kmh", source="test roads")


@pytest.fixture
def services():
    return gpd.GeoDataFrame(
        {
            "service_id": ["s1", "s2"],
            "name": ["S1", "S2"],
            "service_type": ["day", "day"],
            "capacity": [40.0, 30.0],
        },
        geometry=[Point(6000, 5000), Point(15000, 15500)],
        crs=CRS,
    )


def run(taxonomy, services, roads, **options):
    return analyze(
        square_areas(),
        services,
        square_population(year=2024),
        taxonomy=taxonomy,
        spreading="representative",
        network=roads,
        **options,
    )


def test_2sfca_in_minutes_by_hand(taxonomy, services, roads):
    res = run(taxonomy, services, roads)  # the taxonomy's catchment_min: 15
    table = res.table.set_index("area_id")
    np.testing.assert_allclose(table.loc[list("abd"), "access"], [0.01, 0.01, 0.015], rtol=1e-12)
    assert table.loc["c", "covered_share"] == 0 or math.isnan(table.loc["c", "covered_share"])
    np.testing.assert_allclose(table.loc[list("abd"), "covered_share"], [1.0, 1.0, 1.0])
    assert (table["catchment_min"] == 15).all() and table["catchment_m"].isna().all()
    prov = res.provenance
    assert prov["cost"] == "drive" and prov["cost_label"] == "travel time (roads, driving)"
    assert prov["catchment_min"] == {"day": 15.0}
    assert prov["network"]["source"] == "test roads" and prov["network"]["max_snap_m"] == 1000.0
    assert prov["off_network"]["day"] == {"demand_points": 1, "need": 0.0, "services": 0, "service_ids": []}
    assert any("off the road network" in n for n in res.notes)
    assert res.network is roads


def test_catchment_min_option_and_straight_lines_differ(taxonomy, services, roads):
    # 30 minutes: d now reaches s1 (29 min), and b still not s2 (26 min... yes, 26 <= 30: it does).
    res = run(taxonomy, services, roads, catchment_min=30)
    # W1 = 1000 + 3000 + 2000 = 6000, R1 = 40/6000; W2 = 3000 + 2000 = 5000, R2 = 30/5000 = 0.006.
    r1, r2 = 40 / 6000, 30 / 5000
    table = res.table.set_index("area_id")
    np.testing.assert_allclose(table.loc[list("abd"), "access"], [r1, r1 + r2, r1 + r2], rtol=1e-12)
    # Straight lines at 10 km would give other numbers: the cost is what makes the difference.
    flat = analyze(
        square_areas(),
        services,
        square_population(),
        taxonomy=taxonomy,
        spreading="representative",
        catchment_m=10_000,
    )
    assert flat.provenance["cost"] == "euclidean" and "catchment_min" not in flat.table.columns


def test_e2sfca_bands_in_minutes(taxonomy, services, roads):
    # Bands of 5, 10 and 15 minutes weighted 1, 0.68, 0.22: a -> s1 1 min (1), b -> s1 9 min (0.68),
    # d -> s2 6 min (0.68).
    res = run(taxonomy, services, roads, method="e2sfca")
    w1 = 1000 * 1 + 3000 * 0.68
    w2 = 2000 * 0.68
    r1, r2 = 40 / w1, 30 / w2
    table = res.table.set_index("area_id")
    np.testing.assert_allclose(table.loc[list("abd"), "access"], [r1, 0.68 * r1, 0.68 * r2], rtol=1e-12)


def test_network_path_is_read(taxonomy, services, roads, tmp_path):
    path = network.save(roads, tmp_path / "roads.npz")
    res = run(taxonomy, services, path)
    np.testing.assert_allclose(res.table.set_index("area_id").loc["a", "access"], 0.01, rtol=1e-12)
    with pytest.raises(SocialMapError, match="`network` must be"):
        run(taxonomy, services, 42)
    with pytest.raises(SocialMapError, match="catchment_min"):
        run(taxonomy, services, roads, catchment_min=-5)


def test_off_network_service_is_reported(taxonomy, services, roads):
    far = services.copy()
    far.loc[1, "geometry"] = Point(5000, 15000)  # c's centre: 10 km from any road
    res = run(taxonomy, far, roads)
    assert res.provenance["off_network"]["day"]["service_ids"] == ["s2"]
    notes = run_notes(res, "en")
    assert any("1 services are farther than 1,000 m from any road and reach no one (s2)" in n for n in notes)
    sq = run_notes(res, "sq")
    assert not any("reach no one" in n for n in sq)  # written in Albanian, not passed through in English
    table = res.table.set_index("area_id")
    assert table.loc["d", "access"] == 0 and table.loc["a", "access"] == pytest.approx(0.01)


def test_method_line_says_which_cost(taxonomy, services, roads):
    res = run(taxonomy, services, roads)
    line = method_line(res, "en")
    assert "catchment 15 min" in line and "travel time (roads, driving)" in line
    assert "min" in method_line(res, "sq") and "km" not in method_line(res, "sq")


def test_scenario_measures_before_and_after_on_the_roads(taxonomy, services, roads):
    from socialmap.scenario import Inputs, Scenario, new_service, run_scenario

    inputs = Inputs(
        services=services,
        areas=square_areas(),
        population=square_population(year=2024),
        taxonomy=taxonomy,
        network=roads,
    )
    # A new day centre at b's centre, 30 places: a -> 10 min, b -> 0, d -> 20 min (out of 15).
    plan = Scenario("day centre in b").add(
        new_service("day", (15000, 5000), crs=CRS, capacity=30, service_id="s3")
    )
    from socialmap import AnalysisConfig

    run_ = run_scenario(inputs, plan, AnalysisConfig(spreading="representative"))
    after = run_.result.table.set_index("area_id")
    r1, r3 = 40 / 4000, 30 / 4000
    np.testing.assert_allclose(after.loc[list("abd"), "access"], [r1 + r3, r1 + r3, 0.015], rtol=1e-12)
    before = run_.base.table.set_index("area_id")
    np.testing.assert_allclose(before.loc[list("abd"), "access"], [0.01, 0.01, 0.015], rtol=1e-12)
    assert run_.result.provenance["cost"] == "drive" and run_.base.provenance["cost"] == "drive"
    assert not any("cost differs" in n for n in run_.comparison.notes)


def test_placement_by_travel_time(taxonomy, services, roads):
    from socialmap.optimise import coverage_matrix, place_services

    only_s1 = services.iloc[:1]
    res = run(taxonomy, only_s1, roads)  # d is 29 minutes from s1: not covered
    cand = gpd.GeoDataFrame(
        {"site": ["p1", "p2"]}, geometry=[Point(15000, 10000), Point(11000, 15000)], crs=CRS
    )
    # Straight lines would let either cover d (5 km and 4 km); by road, p1 is 10 minutes from d and p2
    # is 4 km from any road (off the network).
    placement = place_services(res, "day", k=1, candidates=cand, solver="cbc")
    assert placement.chosen["site"].tolist() == ["p1"]
    assert placement.objective == pytest.approx(2000.0)
    assert placement.catchment_min == 15.0 and math.isnan(placement.radius_m)
    a = coverage_matrix([[15000, 15000]], [[15000, 10000], [11000, 15000]], network=roads, catchment_min=15)
    assert a.toarray().tolist() == [[1.0, 0.0]]
    a = coverage_matrix([[15000, 15000]], [[15000, 10000], [11000, 15000]], radius_m=10_000)
    assert a.toarray().tolist() == [[1.0, 1.0]]


SENSITIVE = TAXONOMY.replace(
    "service_types:",
    """  victims:
    label: {en: Victims, sq: Viktimat, sr: Žrtve}
    rate: 0.001
    source: made_up
    sensitive: true
service_types:
  shelter:
    label: {en: Shelter, sq: Strehimore, sr: Sklonište}
    target_groups: [victims]
    sensitive: true""",
)


def test_off_network_notes_of_a_sensitive_type_give_no_counts_of_persons_and_no_ids(tmp_path, roads):
    tax = taxonomy_from_text(tmp_path, SENSITIVE)
    shelters = gpd.GeoDataFrame(
        {"service_id": ["secret-1"], "name": ["X"], "service_type": ["shelter"], "capacity": [5.0]},
        geometry=[Point(5000, 15000)],  # off the network
        crs=CRS,
    )
    res = run(tax, shelters, roads, service_types=("shelter",), catchment_min=15)
    off = res.provenance["off_network"]["shelter"]
    assert off == {"demand_points": 1, "need": None, "services": 1, "service_ids": []}
    for lang in ("en", "sq", "sr"):
        text = " ".join(run_notes(res, lang))
        assert "secret-1" not in text
    assert "1 demand points are farther than 1,000 m" in " ".join(run_notes(res, "en"))
    assert "secret-1" not in " ".join(res.notes)


def kosovo_grid_osm() -> bytes:
    """OSM XML: a 31 x 31 grid of roads over Kosovo's longitudes and latitudes (primary, tertiary)."""
    lons, lats = np.linspace(20.0, 21.8, 31), np.linspace(41.85, 43.3, 31)
    rows = ['<?xml version="1.0" encoding="UTF-8"?>', '<osm version="0.6" generator="socialmap test">']
    ids = {}
    for i, lat in enumerate(lats):
        for j, lon in enumerate(lons):
            ids[i, j] = len(ids) + 1
            rows.append(f'<node id="{ids[i, j]}" version="1" lat="{lat:.7f}" lon="{lon:.7f}"/>')
    for i in range(31):
        for w, refs, kind in (
            (2 * i + 1, [ids[i, j] for j in range(31)], "primary"),
            (2 * i + 2, [ids[j, i] for j in range(31)], "tertiary"),
        ):
            nds = "".join(f'<nd ref="{r}"/>' for r in refs)
            rows.append(f'<way id="{w}" version="1">{nds}<tag k="highway" v="{kind}"/></way>')
    rows.append("</osm>")
    return "\n".join(rows).encode("utf-8")


def test_cli_analyze_with_roads(tmp_path):
    """socialmap analyze --demo kosovo --roads FILE --mode drive --catchment-min 30, on an OSM XML grid."""
    import json

    from typer.testing import CliRunner

    from socialmap.cli import app

    osm = tmp_path / "grid.osm"
    osm.write_bytes(kosovo_grid_osm())
    runner = CliRunner()
    args = ["analyze", "--demo", "kosovo", "--roads", str(osm), "--mode", "drive", "--catchment-min", "30"]
    args += ["--spreading", "representative", "--out", str(tmp_path / "out")]
    done = runner.invoke(app, args)
    assert done.exit_code == 0, done.output
    prov = json.loads((tmp_path / "out" / "provenance.json").read_text(encoding="utf-8"))
    assert prov["cost"] == "drive" and set(prov["catchment_min"].values()) == {30.0}
    assert prov["network"]["source"] == "grid.osm"
    bad = runner.invoke(
        app, ["analyze", "--demo", "kosovo", "--roads", str(osm), "--mode", "fly", "--out", str(tmp_path)]
    )
    assert bad.exit_code != 0
    # Parsed once, then reused: the roads command writes the graph, --roads reads it.
    saved = tmp_path / "roads.npz"
    done = runner.invoke(app, ["roads", str(osm), "--out", str(saved), "--mode", "drive"])
    assert done.exit_code == 0 and saved.exists(), done.output
    args[args.index(str(osm))] = str(saved)
    args[-1] = str(tmp_path / "out2")
    assert runner.invoke(app, args).exit_code == 0
    again = json.loads((tmp_path / "out2" / "provenance.json").read_text(encoding="utf-8"))
    assert again["methods_used"] == prov["methods_used"]


def test_views_read_roads_and_name_the_cost():
    from socialmap import views

    roads = views.read_roads(("kosovo-grid.osm", kosovo_grid_osm()), "walk")
    assert roads.graph is not None and roads.graph.mode == "walk" and not roads.problems
    assert roads.graph.provenance["source"] == "kosovo-grid.osm"
    bad = views.read_roads(("roads.osm.pbf", b"not OSM"), "drive")
    assert bad.graph is None and "could not be read as OpenStreetMap data" in bad.problems[0].message
    assert views.read_roads(None).graph is None
    assert views.cost_name("drive", "en") == "travel time (roads, driving)"
    assert views.cost_name(None, "en") == "straight-line distance"
    assert views.cost_name("walk", "sq") == "koha e udhëtimit (rrugët, në këmbë)"


def test_app_with_a_road_file():
    """The app: a road file in "Your data" turns the catchment into minutes, and says which cost is used."""
    from pathlib import Path

    from streamlit.testing.v1 import AppTest

    from socialmap.display import plain

    app = str(Path(__file__).resolve().parents[1] / "app.py")
    at = AppTest.from_file(app, default_timeout=180)
    at.run()
    assert not at.exception and not at.error
    assert any("measured as: straight-line distance" in c.value for c in at.sidebar.caption)
    at.file_uploader(key="upload_roads").upload("kosovo-grid.osm", kosovo_grid_osm(), "application/xml").run()
    assert not at.exception, [e.value for e in at.exception]
    assert not at.error, [e.value for e in at.error]
    assert any("measured as: travel time (roads, driving)" in c.value for c in at.sidebar.caption)
    assert at.slider(key="catchment_min").value == 30
    assert any("off the road network" in i.value for i in at.info)  # the notes under the map
    at.selectbox(key="service_type").set_value("day_care_disability").run()
    at.session_state["view"] = at.tabs[1].label  # the ranking, under the map's title
    at.run()
    assert at.tabs[1].subheader[0].value.endswith(plain("(2SFCA, 30 min, travel time (roads, driving))"))
    at.radio(key="travel_mode").set_value("walk").run()
    assert not at.exception and not at.error
    assert any("measured as: travel time (roads, walking)" in c.value for c in at.sidebar.caption)
    assert at.tabs[1].subheader[0].value.endswith(plain("(2SFCA, 30 min, travel time (roads, walking))"))
    # A file that is not OpenStreetMap data: said so, and straight lines are used.
    at.file_uploader(key="upload_roads").upload("roads.osm.pbf", b"junk", "application/octet-stream").run()
    assert not at.exception
    assert any("straight-line distances are used instead" in e.value for e in at.error)
