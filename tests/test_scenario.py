"""socialmap.scenario: edits, hand-worked deltas, side-by-side comparisons, errors."""

from __future__ import annotations

import math

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
from shapely.geometry import LineString, Point, box
from worlds import CRS, square_areas, square_population, taxonomy_from_text

from socialmap import AnalysisConfig, analyze
from socialmap import scenario as sc
from socialmap.errors import CRSError, DataSourceError, SocialMapError, ValidationError

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
service_types:
  day:
    label: {en: Day care, sq: Qendër ditore, sr: Dnevni boravak}
    target_groups: [everyone]
  home:
    label: {en: Home care, sq: Kujdes në shtëpi, sr: Pomoć u kući}
    target_groups: [half]
"""


@pytest.fixture
def taxonomy(tmp_path):
    return taxonomy_from_text(tmp_path, TAXONOMY)


@pytest.fixture
def areas():
    # a | b on the bottom row, c | d on top; 10 km squares; demand at the centres.
    return square_areas()


@pytest.fixture
def population():
    return square_population(year=2024)


def services_frame(*rows, crs=CRS):
    ids, types, caps, xy = zip(*rows, strict=True)
    return gpd.GeoDataFrame(
        {"service_id": list(ids), "name": list(ids), "service_type": list(types), "capacity": list(caps)},
        geometry=[Point(p) for p in xy],
        crs=crs,
    )


@pytest.fixture
def services():
    # s1 at a's centre, 100 places; h1 (home care) in c.
    return services_frame(("s1", "day", 100.0, (5000, 5000)), ("h1", "home", 10.0, (5000, 15000)))


@pytest.fixture
def inputs(areas, services, population, taxonomy):
    return sc.Inputs(services=services, areas=areas, population=population, taxonomy=taxonomy)


# A planar world: measured in its own coordinates (they lie outside UTM 34N's zone, see socialmap.crs).
CONFIG = AnalysisConfig(catchment_m=6000, service_types=("day",), spreading="representative", crs=CRS)


# ----------------------------------------------------------------------------------------------------
# edits
# ----------------------------------------------------------------------------------------------------


def test_add_services(services, taxonomy):
    new = sc.new_service("day", (15000, 15000), crs=CRS, capacity=500)
    out = sc.add_services(services, new, taxonomy=taxonomy)
    assert out["service_id"].tolist() == ["s1", "h1", "new-1"]
    assert out["name"].tolist() == ["s1", "h1", "new-1"]
    assert out.loc[2, "capacity"] == 500 and out.geometry[2].equals(Point(15000, 15000))
    assert len(services) == 2  # input unchanged
    named = sc.new_service("day", (1, 2), crs=CRS, capacity=0, service_id="x9", name="Qendra")
    out2 = sc.add_services(out, named, taxonomy=taxonomy)
    assert out2["service_id"].tolist()[-1] == "x9" and out2["name"].tolist()[-1] == "Qendra"
    two = pd.concat([new, new], ignore_index=True)
    assert sc.add_services(out, two, taxonomy=taxonomy)["service_id"].tolist()[-2:] == ["new-2", "new-3"]


def test_add_service_without_capacity_warns(services, taxonomy):
    with pytest.warns(UserWarning, match="taken as unknown"):
        out = sc.add_services(services, sc.new_service("day", (0, 0), crs=CRS), taxonomy=taxonomy)
    assert math.isnan(out["capacity"].iloc[-1])


def test_add_services_reports_every_problem(services, taxonomy):
    bad = gpd.GeoDataFrame(
        {
            "service_id": ["s1", "n2", "n3"],
            "service_type": ["day", "bogus", "day"],
            "capacity": [1.0, 2.0, -4.0],
        },
        geometry=[Point(0, 0), Point(1, 1), LineString([(0, 0), (1, 1)])],
        crs=CRS,
    )
    with pytest.raises(ValidationError) as info:
        sc.add_services(services, bad, taxonomy=taxonomy)
    text = str(info.value)
    assert "already exist" in text and "'s1'" in text
    assert "Unknown service_type 'bogus'" in text
    assert "negative" in text
    assert "LineString" in text
    with pytest.raises(CRSError, match="`services` is in EPSG:32634 but `new` is in EPSG:4326"):
        sc.add_services(
            services, sc.new_service("day", (21, 42), crs="EPSG:4326", capacity=1), taxonomy=taxonomy
        )
    with pytest.raises(SocialMapError, match="no 'service_type' column"):
        sc.add_services(services, gpd.GeoDataFrame(geometry=[Point(0, 0)], crs=CRS), taxonomy=taxonomy)
    with pytest.raises(SocialMapError, match="`new` must be a GeoDataFrame"):
        sc.add_services(services, pd.DataFrame({"service_type": ["day"]}), taxonomy=taxonomy)
    with pytest.raises(SocialMapError, match="`services` has no 'service_id'"):
        sc.add_services(
            services.drop(columns="service_id"), sc.new_service("day", (0, 0), crs=CRS, capacity=1)
        )


def test_remove_move_and_set_capacity(services):
    removed = sc.remove_services(services, "s1")
    assert removed["service_id"].tolist() == ["h1"] and removed.index.tolist() == [1]
    assert sc.remove_services(services, ["s1", "h1"]).empty
    moved = sc.move_service(services, "s1", (10000, 5000))
    assert moved.geometry[0].equals(Point(10000, 5000)) and services.geometry[0].equals(Point(5000, 5000))
    lonlat = gpd.GeoSeries([Point(10000, 5000)], crs=CRS).to_crs(4326).iloc[0]
    moved2 = sc.move_service(services, "s1", lonlat, crs="EPSG:4326")
    assert moved2.geometry[0].distance(Point(10000, 5000)) < 1e-3
    resized = sc.set_capacity(services, "h1", 25)
    assert resized["capacity"].tolist() == [100, 25] and services["capacity"].tolist() == [100, 10]
    assert math.isnan(sc.set_capacity(services, "h1", None)["capacity"][1])


def test_edit_errors(services):
    with pytest.raises(SocialMapError, match=r"Unknown service id\(s\) 's2' \(did you mean 's1'\?\)"):
        sc.remove_services(services, "s2")
    with pytest.raises(SocialMapError, match="`ids` is empty"):
        sc.remove_services(services, [])
    with pytest.raises(SocialMapError, match="Unknown service id"):
        sc.move_service(services, "zz", (0, 0))
    with pytest.raises(SocialMapError, match="must be one point; got a LineString"):
        sc.move_service(services, "s1", LineString([(0, 0), (1, 1)]))
    with pytest.raises(SocialMapError, match="empty point"):
        sc.move_service(services, "s1", Point())
    with pytest.raises(SocialMapError, match="shapely Point or"):
        sc.move_service(services, "s1", "here")
    for bad in (-1, math.inf, "10", True):
        with pytest.raises(SocialMapError, match="`capacity` must be a number of places"):
            sc.set_capacity(services, "s1", bad)
    with pytest.raises(SocialMapError, match="Unknown service id"):
        sc.set_capacity(services, "nope", 3)
    twice = pd.concat([services, services], ignore_index=True)
    with pytest.raises(SocialMapError, match="appear more than once"):
        sc.set_capacity(twice, "s1", 3)
    with pytest.raises(CRSError, match="`crs` of new_service"):
        sc.new_service("day", (0, 0), crs=None)


def test_service_changes(services, taxonomy):
    after = sc.Scenario("x").add(sc.new_service("day", (1, 1), crs=CRS, capacity=5)).remove("h1")
    after = after.move("s1", (6000, 5000)).set_capacity("s1", 120).apply(services, taxonomy=taxonomy)
    ch = sc.service_changes(services, after).set_index("service_id")
    assert ch["change"].to_dict() == {"s1": "moved, capacity", "h1": "removed", "new-1": "added"}
    assert ch.loc["s1", "moved_m"] == 1000 and ch.loc["s1", "capacity_after"] == 120
    assert ch.loc["h1", "geometry"].equals(Point(5000, 15000))
    assert sc.service_changes(services, services).empty


# ----------------------------------------------------------------------------------------------------
# scenarios
# ----------------------------------------------------------------------------------------------------


def test_scenario_apply_in_order_and_converts_crs(services, taxonomy):
    lonlat = gpd.GeoSeries([Point(15000, 15000)], crs=CRS).to_crs(4326).iloc[0]
    s = (
        sc.Scenario("plan", description="test")
        .add(sc.new_service("day", lonlat, crs="EPSG:4326", capacity=500, service_id="n1"))
        .set_capacity("n1", 400)
    )
    out = s.apply(services, taxonomy=taxonomy)
    assert out.crs == services.crs and out.geometry.iloc[-1].distance(Point(15000, 15000)) < 1e-3
    assert out["capacity"].iloc[-1] == 400
    assert len(s.edits) == 2 and sc.Scenario("plan").edits == ()  # builders return new scenarios


def test_scenario_errors_name_the_edit(services, taxonomy):
    s = sc.Scenario("bad plan").remove("s1").remove("s1")
    with pytest.raises(SocialMapError, match=r"Scenario 'bad plan', edit 2 \(remove\): Unknown service id"):
        s.apply(services)
    t = sc.Scenario("bad type").add(sc.new_service("dya", (0, 0), crs=CRS, capacity=1))
    with pytest.raises(ValidationError, match="edit 1 \\(add\\) failed"):
        t.apply(services, taxonomy=taxonomy)
    with pytest.raises(SocialMapError, match="non-empty name"):
        sc.Scenario(" ")
    with pytest.raises(CRSError, match="no CRS"):
        sc.Scenario("x").add(gpd.GeoDataFrame({"service_type": ["day"]}, geometry=[Point(0, 0)]))
    with pytest.raises(SocialMapError, match="at least one service id"):
        sc.Scenario("x").remove()
    with pytest.raises(SocialMapError, match="`capacity` must be"):
        sc.Scenario("x").set_capacity("s1", -3)


def test_scenario_table_round_trip(services, taxonomy, tmp_path):
    s = (
        sc.Scenario("round trip")
        .add(sc.new_service("day", (15000, 15000), crs=CRS, capacity=500, service_id="n1"))
        .remove("h1")
        .move("s1", (6000, 5000), crs=CRS)
        .set_capacity("s1", 120)
    )
    table = s.to_frame()
    assert table["action"].tolist() == ["add", "remove", "move", "capacity"]
    path = tmp_path / "plan.csv"
    table.to_csv(path, index=False)
    back = sc.read_scenario(path, crs=CRS)
    assert back.name == "round trip"
    pd.testing.assert_frame_equal(
        back.apply(services, taxonomy=taxonomy), s.apply(services, taxonomy=taxonomy)
    )


def test_scenario_from_lon_lat_table(services, taxonomy, tmp_path):
    lonlat = gpd.GeoSeries([Point(15000, 15000)], crs=CRS).to_crs(4326).iloc[0]
    path = tmp_path / "open one.csv"
    pd.DataFrame(
        {"action": ["add"], "service_type": ["day"], "capacity": [40], "lon": [lonlat.x], "lat": [lonlat.y]}
    ).to_csv(path, index=False)
    s = sc.read_scenario(path)
    assert s.name == "open one"
    out = s.apply(services, taxonomy=taxonomy)
    assert out.geometry.iloc[-1].distance(Point(15000, 15000)) < 1e-3 and out["capacity"].iloc[-1] == 40


def test_scenario_table_reports_every_bad_row(tmp_path):
    table = pd.DataFrame(
        {
            "action": ["add", "open", "remove", "move", "capacity", "add"],
            "service_id": [None, "s1", None, "s1", "s1", None],
            "service_type": ["day", None, None, None, None, None],
            "capacity": [None, None, None, None, "many", None],
            "x": [None, None, None, 1.0, None, 0.0],
            "y": [None, None, None, None, None, 0.0],
        }
    )
    with pytest.raises(ValidationError) as info:
        sc.Scenario.from_frame(table, name="t", crs=CRS)
    rows = [(p.row, p.column) for p in info.value.problems]
    assert rows == [(1, "x"), (2, "action"), (3, "service_id"), (4, "x"), (5, None), (6, "service_type")]
    with pytest.raises(SocialMapError, match="no 'action' column"):
        sc.Scenario.from_frame(pd.DataFrame({"x": [1]}), name="t")
    with pytest.raises(SocialMapError, match="Give the scenario a `name`"):
        sc.Scenario.from_frame(table)
    with pytest.raises(DataSourceError, match="does not exist"):
        sc.read_scenario(tmp_path / "missing.csv")


# ----------------------------------------------------------------------------------------------------
# running and comparing: hand-worked deltas
# ----------------------------------------------------------------------------------------------------
# Demand at the centres a (5,5) need 1000, b (15,5) need 3000, c (5,15) need 0, d (15,15) need 2000 km;
# catchment 6 km. Base: s1 (100 places) at a's centre reaches a only (b is 10 km away):
#   R = 100/1000 = 0.1 -> a reaches 100 places, unmet 900, gap 90; b and d gap 100; c has no need (NaN).


def _gaps(result):
    return result.for_service_type("day").set_index("area_id")["gap_score"]


def test_base_is_as_worked_out(inputs):
    base = inputs.analyze(config=CONFIG)
    assert _gaps(base).loc[["a", "b", "d"]].tolist() == pytest.approx([90, 100, 100])


def test_adding_a_service_hand_worked(inputs):
    # n1 at d's centre with 500 places reaches d only: R = 500/2000 = 0.25 -> d: 500 reached, gap 75.
    s = sc.Scenario("open in d").add(sc.new_service("day", (15000, 15000), crs=CRS, capacity=500))
    run = sc.run_scenario(inputs, s, CONFIG)
    t = run.comparison.table.set_index("area_id")
    assert t.loc["d", ["gap_score_before", "gap_score_after", "gap_score_delta"]].tolist() == pytest.approx(
        [100, 75, -25]
    )
    assert t.loc["d", "unmet_need_delta"] == pytest.approx(-500)
    assert t.loc["d", "supply_delta"] == 500 and t.loc["d", "services_delta"] == 1
    assert t.loc[["a", "b"], "gap_score_delta"].tolist() == [0, 0]
    assert math.isnan(t.loc["c", "gap_score_delta"])
    tot = run.comparison.totals.set_index("service_type").loc["day"]
    # national: need 6000; unmet 900 + 3000 + 2000 = 5900 before, 5400 after.
    assert (tot["unmet_need_before"], tot["unmet_need_after"]) == pytest.approx((5900, 5400))
    assert tot["gap_score_delta"] == pytest.approx(100 * 5400 / 6000 - 100 * 5900 / 6000)
    assert run.changes["change"].tolist() == ["added"]
    assert run.result.provenance["scenario"]["name"] == "open in d"
    assert run.result.provenance["scenario"]["edits"][0]["action"] == "add"
    m = run.comparison.map_frame("day")
    assert m.set_index("area_id").loc["d", "gap_score_delta"] == pytest.approx(-25) and m.crs == CRS
    comp = run.comparison.map_frame()
    assert comp.set_index("area_id").loc["d", "composite_gap_delta"] == pytest.approx(-25)
    assert run.comparison.areas.set_index("area_id").loc["d", "gap_score_delta_day"] == pytest.approx(-25)
    assert run.comparison.notes == ()


def test_removing_moving_and_resizing_hand_worked(inputs):
    # Removing s1: a loses its 100 places -> gap 100 (+10).
    gone = sc.run_scenario(inputs, sc.Scenario("close").remove("s1"), CONFIG)
    assert gone.comparison.table.set_index("area_id").loc["a", "gap_score_delta"] == pytest.approx(10)
    # Moving s1 to (10, 5) km: a and b are both 5 km away. R = 100/4000 = 0.025 ->
    # a reaches 25 (gap 97.5), b reaches 75 (gap 97.5).
    moved = sc.run_scenario(inputs, sc.Scenario("move").move("s1", (10000, 5000)), CONFIG)
    assert _gaps(moved.result).loc[["a", "b"]].tolist() == pytest.approx([97.5, 97.5])
    # 1000 places at s1: R = 1 -> a fully served (gap 0).
    more = sc.run_scenario(inputs, sc.Scenario("grow").set_capacity("s1", 1000), CONFIG)
    assert _gaps(more.result).loc["a"] == pytest.approx(0)


def test_run_scenario_accepts_a_mapping_and_a_precomputed_base(areas, services, population, taxonomy):
    base_inputs = {"areas": areas, "services": services, "population": population, "taxonomy": taxonomy}
    s = sc.Scenario("open in d").add(sc.new_service("day", (15000, 15000), crs=CRS, capacity=500))
    run = sc.run_scenario(base_inputs, s, CONFIG)
    again = sc.run_scenario(base_inputs, s, CONFIG, base=run.base)
    pd.testing.assert_frame_equal(again.comparison.table, run.comparison.table)
    with pytest.raises(SocialMapError, match="Unknown base input"):
        sc.run_scenario({"services": services, "colour": "red"}, s, CONFIG)
    with pytest.raises(SocialMapError, match="no services"):
        sc.run_scenario({"areas": areas}, s, CONFIG)
    with pytest.raises(SocialMapError, match="`base_inputs` must be"):
        sc.run_scenario([areas, services], s, CONFIG)
    with pytest.raises(SocialMapError, match="`scenario` must be"):
        sc.run_scenario(base_inputs, "open in d", CONFIG)


def test_method_change_is_noted(areas, population, taxonomy):
    # All capacities unknown -> distance coverage; giving s1 a capacity switches to 2SFCA.
    svc = services_frame(("s1", "day", np.nan, (5000, 5000)))
    inputs = sc.Inputs(services=svc, areas=areas, population=population, taxonomy=taxonomy)
    run = sc.run_scenario(inputs, sc.Scenario("known").set_capacity("s1", 10), CONFIG)
    assert any(
        "day: the method differs (coverage in before, 2sfca in after)" in n for n in run.comparison.notes
    )


@pytest.mark.parametrize("method", ["2sfca", "coverage", "e2sfca"])
def test_adding_a_service_never_raises_a_gap(taxonomy, method):
    rng = np.random.default_rng(5)
    cells = [box(x, y, x + 5e3, y + 5e3) for x in range(0, 30_000, 5000) for y in range(0, 30_000, 5000)]
    areas = gpd.GeoDataFrame({"area_id": [f"a{i}" for i in range(36)], "name": "x"}, geometry=cells, crs=CRS)
    pop = pd.DataFrame({"area_id": areas["area_id"], "population": rng.integers(0, 5000, 36).astype(float)})
    rows = [(f"s{i}", "day", float(rng.integers(5, 200)), tuple(rng.uniform(0, 30_000, 2))) for i in range(8)]
    inputs = sc.Inputs(services=services_frame(*rows), areas=areas, population=pop, taxonomy=taxonomy)
    config = AnalysisConfig(
        catchment_m=7000, service_types=("day",), spreading="grid", cell_size_m=2500, method=method
    )
    scenarios = [
        sc.Scenario(f"add {i}").add(
            sc.new_service("day", tuple(rng.uniform(0, 30_000, 2)), crs=CRS, capacity=80)
        )
        for i in range(3)
    ]
    runs = sc.run_scenarios(inputs, scenarios, config)
    for run in runs.values():
        t = run.comparison.table
        assert (t["gap_score_delta"].dropna() <= 1e-9).all()
        assert (t["unmet_need_delta"] <= 1e-9).all()
    table = sc.compare_many({"base": runs["add 0"].base, **{n: r.result for n, r in runs.items()}})
    assert (table.filter(like="gap_score Δ").fillna(0) <= 1e-9).all().all()


def test_compare_many_side_by_side(inputs):
    s1 = sc.Scenario("open in d").add(sc.new_service("day", (15000, 15000), crs=CRS, capacity=500))
    s2 = sc.Scenario("close a").remove("s1")
    runs = sc.run_scenarios(inputs, [s1, s2], CONFIG)
    results = {"base": runs["open in d"].base, **{n: r.result for n, r in runs.items()}}
    wide = sc.compare_many(results).set_index(["area_id", "service_type"])
    assert list(wide.columns) == [
        "name",
        "gap_score [base]",
        "gap_score [open in d]",
        "gap_score [close a]",
        "gap_score Δ [open in d]",
        "gap_score Δ [close a]",
        "unmet_need [base]",
        "unmet_need [open in d]",
        "unmet_need [close a]",
        "unmet_need Δ [open in d]",
        "unmet_need Δ [close a]",
    ]
    assert wide.loc[("d", "day"), "gap_score Δ [open in d]"] == pytest.approx(-25)
    assert wide.loc[("a", "day"), "gap_score Δ [close a]"] == pytest.approx(10)
    nat = sc.compare_many(results, level="total", metrics=["unmet_need"], base="close a").set_index(
        "service_type"
    )
    assert nat.loc["day", "unmet_need [base]"] == pytest.approx(5900)
    assert nat.loc["day", "unmet_need Δ [base]"] == pytest.approx(-100)
    with pytest.raises(SocialMapError, match="at least two"):
        sc.compare_many({"base": results["base"]})
    with pytest.raises(SocialMapError, match="`base` 'nope'"):
        sc.compare_many(results, base="nope")
    with pytest.raises(SocialMapError, match="Unknown metric"):
        sc.compare_many(results, metrics=["happiness"])
    with pytest.raises(SocialMapError, match="intensive and have no total"):
        sc.compare_many(results, metrics=["access"], level="total")
    with pytest.raises(SocialMapError, match="must be an analysis Result"):
        sc.compare_many({"base": results["base"], "x": 3})
    with pytest.raises(SocialMapError, match="run_scenarios|unique"):
        sc.run_scenarios(inputs, [s1, s1], CONFIG)


def test_compare_refuses_different_areas_or_types(inputs, areas, services, population, taxonomy):
    base = inputs.analyze(config=CONFIG)
    fewer = analyze(areas.iloc[:3], services, population.iloc[:3], taxonomy=taxonomy, config=CONFIG)
    with pytest.raises(SocialMapError, match="cover different areas"):
        sc.compare(base, fewer)
    both = inputs.analyze(config=AnalysisConfig(catchment_m=6000, spreading="representative"))
    with pytest.raises(SocialMapError, match="analysed service types"):
        sc.compare(base, both)
    with pytest.raises(SocialMapError, match="No comparison for service type 'home'"):
        sc.compare(base, base).map_frame("home")
    with pytest.raises(SocialMapError, match="`metric` must be one of"):
        sc.compare(base, base).map_frame("day", metric="joy")


def test_comparison_export(inputs, tmp_path):
    s = sc.Scenario("=cmd").add(sc.new_service("day", (15000, 15000), crs=CRS, capacity=500))
    comp = sc.run_scenario(inputs, s, CONFIG).comparison
    csv = comp.write(tmp_path / "delta.csv")
    back = pd.read_csv(csv, encoding="utf-8-sig", dtype={"area_id": str})
    # the file says which rows hide small counts of a sensitive group (none here)
    assert list(back.columns) == [*comp.table.columns, "suppression"] and len(back) == 4
    assert back["suppression"].isna().all()
    xlsx = comp.write(tmp_path / "delta.xlsx")
    sheets = pd.read_excel(xlsx, sheet_name=None)
    assert set(sheets) == {"areas", "totals", "notes"}
    # written by the one XLSX writer (export.write_xlsx): the same cells as pandas' own writer gives the
    # published tables, with a frozen header row
    from openpyxl import load_workbook

    from socialmap.export import neutralise_formulas
    from socialmap.privacy import marked

    shown = comp.published()
    reference = tmp_path / "reference.xlsx"
    with pd.ExcelWriter(reference) as xl:
        neutralise_formulas(marked(shown.table)).to_excel(xl, sheet_name="areas", index=False)
        neutralise_formulas(marked(shown.totals)).to_excel(xl, sheet_name="totals", index=False)
        pd.DataFrame({"note": list(comp.notes)}).to_excel(xl, sheet_name="notes", index=False)
    expected = pd.read_excel(reference, sheet_name=None)
    for name, frame in expected.items():
        pd.testing.assert_frame_equal(sheets[name], frame, check_dtype=False)
    assert load_workbook(xlsx)["areas"].freeze_panes == "A2"
    with pytest.raises(SocialMapError, match=".csv or .xlsx"):
        comp.write(tmp_path / "delta.json")
