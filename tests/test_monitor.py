"""Monitoring over the years (socialmap.monitor) and targets (socialmap.plan), worked by hand.

The two-year world: the four squares of ``worlds.py`` (centres (5, 5), (15, 5), (5, 15), (15, 15) km), one
service type ``day`` for everyone with a need rate of 0.1, a 6 km catchment, one demand point per area at
its centre. Service s1 (50 places) stands at (5, 6) km in a since 2015; s2 (120 places) at (15, 5.5) km in b
opened in 2022; s0 (30 places) in d closed in 2019. s1 reaches only a's centre (1 km; b's is 10.05 km
away), s2 only b's (0.5 km).

2020: population 1,000 / 3,000 / 0 / 2,000 → need 100 / 300 / 0 / 200. Only s1 is open: R1 = 50 / 100,
A_a = 0.5, places within reach in a = 100 × 0.5 = 50, gap a = 50, b = 300, d = 200; places per 1,000
in a = 1,000 × 50 / 1,000 = 50.
2024: population 1,200 / 2,800 / 0 / (no figure) → need 120 / 280 / 0 / missing. s1 and s2 open:
R1 = 50 / 120, so a's 120 people reach 50 places (gap 70, per 1,000 = 1,000 × 50 / 1,200 = 41.67);
R2 = 120 / 280, so b reaches 120 (gap 160, per 1,000 = 1,000 × 120 / 2,800 = 42.86).
"""

from __future__ import annotations

import csv
import math
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
from shapely.geometry import Point
from worlds import CRS, square_areas, taxonomy_from_text

from socialmap.errors import SocialMapError, ValidationError
from socialmap.monitor import (
    BEHIND,
    MISSING,
    NOT_ASSESSED,
    ON_TRACK,
    analyze_years,
    definitions,
    demo_years,
    indicators,
    services_in_year,
)
from socialmap.plan import Targets, read_targets, targets_from_scenario
from socialmap.scenario import Inputs, Scenario, new_service

TAXONOMY = """
schema_version: 1
name: monitoring test
sources:
  def: {citation: "by definition"}
  made_up: {citation: "test figure, made up for the test"}
target_groups:
  everyone:
    label: {en: Everyone, sq: Të gjithë, sr: Svi}
    rate: 1.0
    source: def
    column: population
service_types:
  day:
    label: {en: Day care, sq: Qendër ditore, sr: Dnevni boravak}
    target_groups: [everyone]
    need_rate: 0.1
    need_rate_source: made_up
    catchment_m: 6000
    catchment_source: made_up
    unit_cost_eur_per_place_year: 5000
    unit_cost_source: made_up
"""


@pytest.fixture
def taxonomy(tmp_path):
    return taxonomy_from_text(tmp_path, TAXONOMY)


@pytest.fixture
def services():
    return gpd.GeoDataFrame(
        {
            "service_id": ["s0", "s1", "s2"],
            "name": ["S0", "S1", "S2"],
            "service_type": ["day"] * 3,
            "capacity": [30.0, 50.0, 120.0],
            "year_opened": [2010, 2015, 2022],
            "year_closed": [2019, None, None],
        },
        geometry=[Point(15000, 15000), Point(5000, 6000), Point(15000, 5500)],
        crs=CRS,
    )


def _population(values, year):
    return pd.DataFrame(
        {
            "area_id": list("abcd"),
            "population": values,
            "year": year,
            "population_source": ["count"] * 3
            + ["no figure: not counted this year" if year == 2024 else "count"],
        }
    )


@pytest.fixture
def results(taxonomy, services):
    pops = {
        2020: _population([1000.0, 3000.0, 0.0, 2000.0], 2020),
        2024: _population([1200.0, 2800.0, 0.0, None], 2024),
    }
    return analyze_years(pops, areas=square_areas(), services=services, taxonomy=taxonomy, config=_config())


def _config():
    from socialmap.pipeline import AnalysisConfig

    return AnalysisConfig(spreading="representative")


def _row(table, area, year, service_type="day"):
    t = table[(table["area_id"] == area) & (table["year"] == year) & (table["service_type"] == service_type)]
    assert len(t) == 1
    return t.iloc[0]


def test_services_in_year_counts_from_opening_until_closing(services):
    assert services_in_year(services, 2018)["service_id"].tolist() == ["s0", "s1"]
    assert services_in_year(services, 2019)["service_id"].tolist() == ["s1"]  # closed in 2019
    assert services_in_year(services, 2022)["service_id"].tolist() == ["s1", "s2"]
    bad = services.assign(year_opened=["2010", "soon", None])
    with pytest.raises(SocialMapError, match="year_opened.*'soon'"):
        services_in_year(bad, 2020)


def test_two_year_world_indicators_by_hand(results):
    m = indicators(results)
    assert m.years == (2020, 2024)
    t = m.table
    a20, b20, d20 = (_row(t, x, 2020) for x in "abd")
    assert [a20["need"], a20["places"], a20["places_per_1000"], a20["share_within_reach"], a20["gap"]] == (
        pytest.approx([100, 50, 50, 1.0, 50])
    )
    assert [b20["need"], b20["places"], b20["places_per_1000"], b20["share_within_reach"], b20["gap"]] == (
        pytest.approx([300, 0, 0, 0.0, 300])
    )
    assert [d20["need"], d20["places"], d20["gap"]] == pytest.approx([200, 0, 200])  # s0 closed in 2019
    a24, b24, d24 = (_row(t, x, 2024) for x in "abd")
    assert [a24["need"], a24["places"], a24["places_per_1000"], a24["share_within_reach"], a24["gap"]] == (
        pytest.approx([120, 50, 1000 * 50 / 1200, 1.0, 70])
    )
    assert [b24["need"], b24["places"], b24["places_per_1000"], b24["share_within_reach"], b24["gap"]] == (
        pytest.approx([280, 120, 1000 * 120 / 2800, 1.0, 160])
    )
    # d has no population figure in 2024: missing, with the reason, and no number made up.
    assert d24["status"] == MISSING
    assert d24["note"] == "no figure: not counted this year"
    assert all(math.isnan(d24[k]) for k in ("need", "places", "places_per_1000", "share_within_reach", "gap"))
    assert any("2024: no population figure for D" in n for n in m.notes)


def test_two_year_world_progress_against_targets_by_hand(results, tmp_path):
    # Targets written by hand, as a planner would in a spreadsheet. Baseline 2020.
    path = tmp_path / "targets.csv"
    pd.DataFrame(
        {
            "area_id": ["a", "b", "d"],
            "service_type": ["day"] * 3,
            "year": [2026, 2024, 2024],
            "baseline_year": [2020] * 3,
            "baseline_places": [50, 0, 0],
            "places": [170, 100, 20],
            "share_within_reach": [None, 1.0, None],
            "baseline_share_within_reach": [1.0, 0.0, 0.0],
        }
    ).to_csv(path, index=False)
    targets = read_targets(path)
    p = indicators(results, targets=targets).progress.set_index(["area_id", "year"])
    # a: 50 places in 2020, 170 targeted for 2026 → 50 + 120 × 4/6 = 130 expected in 2024; 50 there.
    assert p.loc[("a", 2024), "expected_places"] == pytest.approx(130)
    assert p.loc[("a", 2024), "places_short"] == pytest.approx(80)
    assert p.loc[("a", 2024), "status"] == BEHIND
    assert p.loc[("a", 2024), "target_year"] == 2026
    # b: 100 places and everyone within reach targeted for 2024; 120 and 100 % there.
    assert p.loc[("b", 2024), "status"] == ON_TRACK
    assert p.loc[("b", 2024), "places_short"] == 0
    # d: no figure in 2024: not assessed (never counted as on track or behind).
    assert p.loc[("d", 2024), "status"] == NOT_ASSESSED
    assert math.isnan(p.loc[("d", 2024), "places_short"])
    # The baseline year itself is not assessed against the plan.
    assert 2020 not in p.index.get_level_values("year")


def test_targets_from_scenario_by_hand(taxonomy, services):
    # The baseline of 2020 (s1 only); the plan opens 120 places in b in 2021, and raises s1 to 80 in 2022.
    base_services = services_in_year(services, 2020).drop(columns=["year_opened", "year_closed"])
    inputs = Inputs(
        services=base_services,
        areas=square_areas(),
        population=_population([1000.0, 3000.0, 0.0, 2000.0], 2020),
        taxonomy=taxonomy,
    )
    plan = (
        Scenario("plan")
        .add(new_service("day", (15000, 5500), crs=CRS, capacity=120, service_id="new-b"))
        .set_capacity("s1", 80)
    )
    tg = targets_from_scenario(inputs, plan, years=[2021, 2022], edit_years=[2021, 2022], config=_config())
    t = tg.table.set_index(["area_id", "year"])
    assert t.loc[("b", 2021), ["baseline_places", "places", "places_added"]].tolist() == [0, 120, 120]
    assert t.loc[("b", 2021), "budget_eur"] == 120 * 5000
    assert t.loc[("b", 2021), ["baseline_share_within_reach", "share_within_reach"]].tolist() == [0.0, 1.0]
    assert t.loc[("a", 2021), "places"] == 50 and t.loc[("a", 2022), "places"] == 80
    assert t.loc[("a", 2022), "budget_eur"] == 30 * 5000
    assert t.loc[("a", 2022), "cost_source"] == "made_up"
    assert (t["baseline_year"] == 2020).all()
    by_year = tg.budget_by_year()
    assert by_year["budget_eur"].tolist() == [600_000, 750_000]
    assert by_year["budget_complete"].all()
    changed = tg.changes()
    assert list(zip(changed["area_id"], changed["year"], strict=True)) == [
        ("b", 2021),
        ("a", 2022),
        ("b", 2022),
    ]


def test_targets_round_trip_through_xlsx(taxonomy, services, tmp_path):
    inputs = Inputs(
        services=services_in_year(services, 2020).drop(columns=["year_opened", "year_closed"]),
        areas=square_areas(),
        population=_population([1000.0, 3000.0, 0.0, 2000.0], 2020),
        taxonomy=taxonomy,
    )
    plan = Scenario("=plan").add(new_service("day", (15000, 5500), crs=CRS, capacity=120))
    tg = targets_from_scenario(
        inputs, plan, years=[2025, 2026, 2027], config=_config(), unit_costs={"day": 4000}
    )
    path = tg.write(tmp_path / "targets.xlsx", lang="sq")
    back = read_targets(path)
    pd.testing.assert_frame_equal(back.table, tg.table, check_dtype=False)
    assert back.name == "'=plan"  # a formula-like name is stored as text, never run
    assert back.table["cost_source"].eq("user-supplied").all()
    guide = pd.read_excel(path, sheet_name="columns")
    assert guide["column"].tolist() == list(tg.table.columns)
    assert guide["description"].iloc[0] == "Kodi i zonës (komunës)"  # the guide is in the reader's language
    # A hand edit of the places recomputes the budget (never a stale one).
    edited = pd.read_excel(path, sheet_name="targets", dtype={"area_id": str})
    edited.loc[edited["area_id"] == "b", "places"] = 100
    edited.to_excel(tmp_path / "edited.xlsx", sheet_name="targets", index=False)
    again = read_targets(tmp_path / "edited.xlsx").table
    assert again.loc[again["area_id"] == "b", "budget_eur"].tolist() == [400_000] * 3


def test_read_targets_reports_every_bad_cell(tmp_path):
    path = tmp_path / "t.csv"
    path.write_text(
        "area_id,service_type,year,places,share_within_reach\n"
        "a,day,2025,10,\n"
        "a,day,soon,10,\n"
        "b,day,2025,-3,1.5\n"
        "a,day,2025,12,\n"
        ",day,2025,,\n",
        encoding="utf-8",
    )
    with pytest.raises(ValidationError) as info:
        read_targets(path)
    found = {(p.row, p.column) for p in info.value.problems}
    assert {
        (3, "year"),
        (4, "places"),
        (4, "share_within_reach"),
        (5, "year"),
        (6, "area_id"),
        (6, "places"),
    } <= found
    text = "\n".join(p.format("sq") for p in info.value.problems)
    assert "rreshti" in text and " row " not in text  # the location is written in Albanian
    missing = tmp_path / "m.csv"
    missing.write_text("area_id,year,places\na,2025,3\n", encoding="utf-8")
    with pytest.raises(ValidationError, match="service_type"):
        read_targets(missing)


def test_definitions_sheet_in_every_language():
    for lang in ("en", "sq", "sr"):
        d = definitions(lang)
        assert d["indicator"].tolist() == ["need", "places", "places_per_1000", "share_within_reach", "gap"]
        assert d[["name", "definition", "unit", "computation", "source", "frequency"]].notna().all().all()
    assert definitions("sq")["name"].tolist() != definitions("en")["name"].tolist()


def test_monitoring_xlsx(results, tmp_path):
    path = indicators(results).write(tmp_path / "indicators.xlsx", lang="sr")
    sheets = pd.read_excel(path, sheet_name=None, dtype={"area_id": str})
    assert set(sheets) == {"values", "progress", "indicators", "notes"}
    assert len(sheets["indicators"]) == 5
    values = sheets["values"]
    d24 = values[(values["area_id"] == "d") & (values["year"] == 2024)].iloc[0]
    assert d24["status"] != "missing"  # written in Serbian
    assert pd.isna(d24["need"])


# ------------------------------------------------------------------------------------------ the demo


def _facts(shared_kosovo: Path) -> dict[str, dict[str, str]]:
    with open(shared_kosovo / "municipalities.csv", encoding="utf-8") as f:
        return {r["kas_code"]: r for r in csv.DictReader(f)}


def test_demo_2011_population_file_matches_the_census(shared_kosovo):
    facts = _facts(shared_kosovo)
    path = Path(__file__).resolve().parents[1] / "data" / "population" / "kosovo_population_2011.csv"
    with open(path, encoding="utf-8") as f:
        rows = {r["area_id"]: r for r in csv.DictReader(f)}
    assert set(rows) == set(facts)
    for code, fact in facts.items():
        assert rows[code]["population"] == fact["pop_2011_census"]  # blank stays blank
    blank = sorted(c for c, r in rows.items() if not r["population"])
    assert blank == ["12", "28", "29", "38"]
    assert all("not held" in rows[c]["population_source"] for c in blank)


def test_demo_2011_against_2024_with_the_north_missing(shared_kosovo):
    facts = _facts(shared_kosovo)
    m = indicators(demo_years("kosovo", (2011, 2024)))
    t = m.table
    north = {"12", "28", "29", "38"}
    for code in north:
        rows = t[(t["area_id"] == code) & (t["year"] == 2011)]
        assert (rows["status"] == MISSING).all() and rows["need"].isna().all()
        assert rows["note"].str.contains("not held").all()
        assert t[(t["area_id"] == code) & (t["year"] == 2024)]["status"].ne(MISSING).all()
    # The same rates in both years: need scales with the census population (Gjakovë 94,556 → 78,699).
    g11 = _row(t, "02", 2011, "home_care_elderly")
    g24 = _row(t, "02", 2024, "home_care_elderly")
    pop = {y: float(facts["02"][c]) for y, c in ((2011, "pop_2011_census"), (2024, "pop_2024_final_dec2024"))}
    assert g11["need"] / g24["need"] == pytest.approx(pop[2011] / pop[2024])
    assert g11["places"] == g24["places"]  # the demo's services have no opening years (said in the notes)
    assert any("no opening or closing year" in n for n in m.notes)
    assert any("2011: no population figure for" in n and "Leposaviq" in n for n in m.notes)


def test_targets_hide_what_the_published_result_hides():
    from socialmap.pipeline import analyze
    from socialmap.plan import targets_from_results
    from socialmap.privacy import protect

    res = analyze(demo="kosovo", service_types=("shelter_dv", "day_care_disability"))
    tg = targets_from_results(res, {2025: res})
    pub = pd.DataFrame(protect(res).table).set_index(["area_id", "service_type"])
    t = tg.table.set_index(["area_id", "service_type"])
    shown = pub.loc[t.index, "covered_share"]
    assert np.array_equal(np.isnan(t["share_within_reach"].to_numpy(float)), np.isnan(shown.to_numpy(float)))
    assert isinstance(tg, Targets)


def test_targets_saved_in_the_workspace(taxonomy, services, tmp_path):
    import sqlite3

    from socialmap import workspace

    inputs = Inputs(
        services=services_in_year(services, 2020).drop(columns=["year_opened", "year_closed"]),
        areas=square_areas(),
        population=_population([1000.0, 3000.0, 0.0, 2000.0], 2020),
        taxonomy=taxonomy,
    )
    plan = Scenario("plan b").add(new_service("day", (15000, 5500), crs=CRS, capacity=120))
    tg = targets_from_scenario(inputs, plan, years=[2025, 2026], config=_config())
    path = workspace.save(tmp_path / "w.gpkg", demo=None, scenarios=[plan], targets=tg, taxonomy=taxonomy)
    back = workspace.load(path).targets
    pd.testing.assert_frame_equal(back.table, tg.table, check_dtype=False)
    assert back.name == "plan b" and back.notes == tg.notes
    assert back.budget_by_year()["budget_eur"].tolist() == [600_000, 600_000]  # 120 places × 5,000 EUR
    # A workspace without targets has no such table, and loads with none (the schema stays version 1).
    plain = workspace.save(tmp_path / "plain.gpkg", scenarios=[plan], taxonomy=taxonomy)
    with sqlite3.connect(plain) as con:
        names = {r[0] for r in con.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}
    assert "socialmap_targets" not in names and workspace.load(plain).targets is None
    # A stored target that breaks the rules is reported with its table, row and column.
    with sqlite3.connect(path) as con:
        con.execute("UPDATE socialmap_targets SET share_within_reach = 7 WHERE rowid = 2")
    with pytest.raises(ValidationError) as err:
        workspace.load(path)
    problem = err.value.problems[0]
    assert "socialmap_targets" in problem.file and problem.column == "share_within_reach"


@pytest.mark.parametrize(
    ("lang", "edit_note", "no_cost"),
    [
        ("sq", "plan: ndryshimi 1 (add) hyn në fuqi në 2025.", "nuk ka kosto për njësi"),
        ("sr", "plan: izmena 1 (add) stupa na snagu 2025.", "nema jediničnog troška"),
        ("en", "plan: edit 1 (add) takes effect in 2025.", "no unit cost"),
    ],
)
def test_targets_notes_in_the_readers_language(tmp_path, services, lang, edit_note, no_cost):
    # The taxonomy without a unit cost: every row, and the plan, carry the no-cost note.
    text = TAXONOMY.replace("    unit_cost_eur_per_place_year: 5000\n    unit_cost_source: made_up\n", "")
    inputs = Inputs(
        services=services_in_year(services, 2020).drop(columns=["year_opened", "year_closed"]),
        areas=square_areas(),
        population=_population([1000.0, 3000.0, 0.0, 2000.0], 2020),
        taxonomy=taxonomy_from_text(tmp_path, text),
    )
    plan = Scenario("plan").add(new_service("day", (15000, 5500), crs=CRS, capacity=120))
    tg = targets_from_scenario(inputs, plan, years=[2025], config=_config(), lang=lang)
    assert tg.notes[0] == edit_note
    assert all(no_cost in str(n) for n in tg.table["note"])
