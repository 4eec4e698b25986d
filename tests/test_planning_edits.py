"""Planning in the app's library layer: closing, moving and resizing existing services, the
difference map of a scenario, and the notes a planner reads. Expected figures come from the demo's
services file (read here with pandas) and from ColorBrewer's published RdBu palette."""

from __future__ import annotations

import re
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
from shapely.geometry import box

import socialmap
from socialmap import AnalysisConfig, views
from socialmap.errors import SocialMapError
from socialmap.gaps import delta_classes
from socialmap.maps import difference_map

REPO = Path(__file__).resolve().parents[1]
PRISHTINA = (21.1655, 42.6629)
#: ColorBrewer RdBu, 7 classes (colorbrewer2.org), red → blue.
RDBU7 = ["#b2182b", "#ef8a62", "#fddbc7", "#f7f7f7", "#d1e5f0", "#67a9cf", "#2166ac"]


@pytest.fixture(scope="module")
def demo() -> socialmap.Demo:
    return socialmap.load_demo("kosovo")


@pytest.fixture(scope="module")
def result(demo):
    analysis = views.analyze_inputs(views.read_inputs(demo=demo), AnalysisConfig(), demo=demo)
    assert analysis.problems == ()
    return analysis.result


@pytest.fixture(scope="module")
def services_file() -> pd.DataFrame:
    return pd.read_csv(REPO / "data" / "services" / "kosovo_services.csv", dtype={"area_id": str})


def run(demo, result, *edits: views.PlanEdit):
    out = views.run_plan(views.read_inputs(demo=demo), AnalysisConfig(), edits, demo=demo, base=result)
    assert out.problems == (), out.problems
    return out.result


def national_supply_delta(result, after, service_type: str) -> float:
    table = views.plan_comparison({views.CURRENT: result, "A": after}, service_type, level="total")
    return float(table["Supply (places) Δ [A]"].iloc[0])


# ---- classes of a change -------------------------------------------------------------------------


def test_delta_classes_by_hand():
    # Largest change 6 → steps of 2 on each side; |v| <= 0.05 is no change.
    values = pd.Series([-6.0, -4.0, -3.9, -0.05, 0.0, 0.04, 2.0, 2.01, 6.0, np.nan, np.inf])
    classes, edges = delta_classes(values, tolerance=0.05, n_side=3)
    assert edges == [2.0, 4.0, 6.0]
    assert classes.tolist()[:9] == [-3, -2, -2, 0, 0, 0, 1, 2, 3]
    assert classes.isna().tolist()[9:] == [True, True]


def test_delta_classes_nothing_changed_and_bad_options():
    classes, edges = delta_classes(pd.Series([0.0, 0.01, -0.02]), tolerance=0.05)
    assert classes.tolist() == [0, 0, 0] and edges == []
    with pytest.raises(SocialMapError, match="tolerance"):
        delta_classes(pd.Series([1.0]), tolerance=-1)
    with pytest.raises(SocialMapError, match="n_side"):
        delta_classes(pd.Series([1.0]), n_side=0)


def _three_areas(deltas):
    return gpd.GeoDataFrame(
        {"area_id": ["a", "b", "c"], "name": ["West", "Middle", "East"], "d": deltas},
        geometry=[box(0, 0, 1000, 1000), box(1000, 0, 2000, 1000), box(2000, 0, 3000, 1000)],
        crs="EPSG:3857",
    )


def _fills(fmap) -> list[str]:
    import json

    import folium

    layer = next(c for c in fmap._children.values() if isinstance(c, folium.GeoJson))
    data = layer.data if isinstance(layer.data, dict) else json.loads(layer.data)
    return [f["properties"]["fill"] for f in data["features"]]


def test_difference_map_colours_a_fall_blue_and_a_rise_red():
    # -5 is the largest change: class -3 (darkest blue); 0 no change; +2.5 → 2.5/5·3 = 1.5 → class 2.
    fmap = difference_map(_three_areas([-5.0, 0.0, 2.5]), "d", tolerance=0.05, lang="en")
    assert _fills(fmap) == [RDBU7[6], RDBU7[3], RDBU7[1]]
    page = fmap.get_root().render()
    assert "no change" in page and "blue: better; red: worse" in page
    assert "+1.7 – +3.3" in page  # the class of +2.5: (5/3, 10/3]
    # Places: a rise is better, so the colours turn round.
    flipped = difference_map(_three_areas([-5.0, 0.0, 2.5]), "d", higher_is_worse=False, lang="en")
    assert _fills(flipped) == [RDBU7[0], RDBU7[3], RDBU7[5]]


def test_difference_map_in_albanian_and_bad_input():
    fmap = difference_map(_three_areas([-1.5, np.nan, 0.0]), "d", lang="sq", value_format="{:+,.1f}")
    page = fmap.get_root().render()
    assert "-1,5" in page  # decimal comma
    with pytest.raises(SocialMapError, match="numeric"):
        difference_map(_three_areas(["x", "y", "z"]), "d")
    with pytest.raises(SocialMapError, match="does not have"):
        difference_map(_three_areas([1.0, 2.0, 3.0]), "missing")


# ---- closing, moving and resizing existing services ----------------------------------------------


def test_plan_scenario_turns_each_change_into_an_edit():
    scenario = views.plan_scenario(
        "A",
        [
            views.PlanEdit("csw", *PRISHTINA, 10.0),
            views.PlanEdit("day_care_disability", 20.0, 42.0, action="remove", service_id="DCD-001"),
            views.PlanEdit("day_care_disability", 21.0, 42.5, action="move", service_id="DCD-002"),
            views.PlanEdit("day_care_disability", 20.0, 42.0, 55.0, action="capacity", service_id="DCD-003"),
        ],
    )
    rows = scenario.to_frame()
    assert list(rows["action"]) == ["add", "remove", "move", "capacity"]
    with pytest.raises(SocialMapError, match="Unknown change"):
        views.plan_scenario("B", [views.PlanEdit("csw", 20.0, 42.0, action="demolish", service_id="x")])
    with pytest.raises(SocialMapError, match="needs the id"):
        views.plan_scenario("B", [views.PlanEdit("csw", 20.0, 42.0, action="remove")])


def test_closing_a_service_takes_its_places_away(demo, result, services_file):
    row = services_file.set_index("service_id").loc["DCD-001"]
    after = run(
        demo, result, views.PlanEdit("day_care_disability", 0.0, 0.0, action="remove", service_id="DCD-001")
    )
    assert "DCD-001" not in set(after.services["service_id"])
    assert national_supply_delta(result, after, "day_care_disability") == pytest.approx(-row["capacity"])
    area = views.plan_comparison({views.CURRENT: result, "A": after}, "day_care_disability")
    # The gap can only grow where a service closes.
    assert (area["Gap score (%) Δ [A]"].dropna() >= -1e-9).all()


def test_resizing_and_moving(demo, result, services_file):
    old = float(services_file.set_index("service_id").loc["DCD-002", "capacity"])
    resized = run(
        demo,
        result,
        views.PlanEdit("day_care_disability", 0.0, 0.0, old + 15, action="capacity", service_id="DCD-002"),
    )
    assert national_supply_delta(result, resized, "day_care_disability") == pytest.approx(15.0)

    moved = run(
        demo, result, views.PlanEdit("day_care_disability", *PRISHTINA, action="move", service_id="DCD-002")
    )
    assert national_supply_delta(result, moved, "day_care_disability") == pytest.approx(0.0)
    site = moved.services.set_index("service_id").loc[["DCD-002"]].to_crs("EPSG:4326").geometry.iloc[0]
    assert (site.x, site.y) == pytest.approx(PRISHTINA, abs=1e-7)


def test_existing_services_hides_confidential_sites_and_follows_the_edits(demo, result, services_file):
    listed = views.existing_services(result, "day_care_disability", demo.taxonomy)
    expected = services_file[services_file["service_type"] == "day_care_disability"]
    assert sorted(listed["service_id"]) == sorted(expected["service_id"])
    row = listed.set_index("service_id").loc["DCD-001"]
    source = expected.set_index("service_id").loc["DCD-001"]
    assert (row["lon"], row["lat"]) == pytest.approx((source["lon"], source["lat"]), abs=1e-7)
    assert row["capacity"] == source["capacity"]
    assert row["label"].startswith(source["name"]) and "(" in row["label"]  # name (municipality)

    edits = (
        views.PlanEdit("day_care_disability", 0, 0, action="remove", service_id="DCD-001"),
        views.PlanEdit("day_care_disability", *PRISHTINA, action="move", service_id="DCD-002"),
        views.PlanEdit("day_care_disability", 0, 0, 99.0, action="capacity", service_id="DCD-003"),
    )
    after = views.existing_services(result, "day_care_disability", demo.taxonomy, edits).set_index(
        "service_id"
    )
    assert "DCD-001" not in after.index and len(after) == len(expected) - 1
    assert (after.loc["DCD-002", "lon"], after.loc["DCD-002", "lat"]) == PRISHTINA
    assert after.loc["DCD-003", "capacity"] == 99.0
    # Shelters' sites are confidential: none is offered for editing.
    assert views.existing_services(result, "shelter_dv", demo.taxonomy).empty


def test_plan_edits_table_names_each_change(demo, result):
    edits = (
        views.PlanEdit("day_care_disability", *PRISHTINA, 40.0),
        views.PlanEdit("day_care_disability", 20.0, 42.0, action="remove", service_id="DCD-001"),
        views.PlanEdit("day_care_disability", 20.0, 42.0, 12.0, action="capacity", service_id="DCD-003"),
    )
    table = views.plan_edits_table(edits, demo.taxonomy, "en", services=result.services)
    names = result.services.set_index("service_id")["name"]
    assert list(table["Change"]) == ["New service", "Closed", "Places changed"]
    assert list(table["Service"]) == ["Planned 1", names["DCD-001"], names["DCD-003"]]
    assert table["Places"].iloc[1] != table["Places"].iloc[1]  # a closed service has no places shown
    assert table["Places"].iloc[2] == 12.0
    sq = views.plan_edits_table(edits, demo.taxonomy, "sq", services=result.services)
    assert "Change" not in sq.columns


def test_a_new_service_of_unknown_capacity_does_not_switch_the_measure(demo, result):
    # Day care: every capacity is known, so it is scored by 2SFCA; a new one of unknown capacity keeps
    # 2SFCA on the known ones (#18: never a silent switch of method for the whole type).
    with pytest.warns(UserWarning, match="capacity"):  # the new service's capacity is unknown
        after = run(demo, result, views.PlanEdit("day_care_disability", *PRISHTINA, None))
    assert set(after.for_service_type("day_care_disability")["method"]) == {"2sfca"}
    assert views.plan_notes(result, after, demo.taxonomy, "en") == []
    assert any("day_care_disability: capacity unknown for 1 of 31 services" in n for n in after.notes)
    assert views.plan_notes(result, result, demo.taxonomy, "en") == []


def test_plan_difference_map_of_a_new_service(demo, result):
    after = run(demo, result, views.PlanEdit("home_care_elderly", *PRISHTINA, 40.0))
    selection = views.Selection(service_type="home_care_elderly", metric="gap_score")
    fmap = views.plan_difference_map(result, after, selection, demo.taxonomy, scenario_name="One more")
    fills = _fills(fmap)
    assert len(fills) == 38
    # Adding places never raises a gap: no area is red, and at least one is blue.
    assert not set(fills) & set(RDBU7[:3])
    assert set(fills) & set(RDBU7[4:])
    page = fmap.get_root().render()
    assert "One more: change in Gap score (%)" in page
    with pytest.raises(SocialMapError, match="one service type"):
        views.plan_difference_map(result, after, views.Selection(), demo.taxonomy)
    with pytest.raises(SocialMapError, match="metric"):
        views.plan_difference_map(result, after, selection, demo.taxonomy, metric="access")


def test_suggest_sites_notes_for_the_planner(result):
    edits, notes = views.suggest_sites(result, "residential_elderly", k=2, capacity=30.0, lang="en")
    assert len(edits) == 2
    assert notes[0].startswith("Persons in need who get a place: ")
    assert len(notes) >= 2
    _, sq = views.suggest_sites(result, "residential_elderly", k=2, capacity=30.0, lang="sq")
    assert not sq[0].startswith("Persons")


def test_costing_download_is_the_protected_export_with_the_users_figures(demo, result):
    import io

    data = views.costing_download(result, "csw", demo.taxonomy, standard=5.0, unit_cost=1000.0, lang="en")
    sheets = pd.read_excel(io.BytesIO(data), sheet_name=None, dtype=str)
    assert {"costing", "costing national", "costing sources", "sources"} <= set(sheets)
    costing = sheets["costing"]
    csw = costing[costing["service_type"] == "csw"].set_index("area_id")
    need = result.table[result.table["service_type"] == "csw"].set_index("area_id")["need"]
    # Every CSW's capacity is unknown, so no place counts: places needed = need × 5 / 1,000 and the
    # budget = places × 1,000 EUR = need × 5 EUR.
    budget = pd.to_numeric(csw["budget_eur_per_year"]).reindex(need.index)
    assert budget.to_numpy() == pytest.approx(need.to_numpy() * 5, rel=1e-9)
    sources = sheets["costing sources"]
    assert (sources.loc[sources["service_type"] == "csw"].astype(str) == "user-supplied").any().any()


def test_service_names_follow_the_language(demo, result):
    selection = views.Selection(service_type="day_care_disability", metric="gap_score", lang="sq")
    page = views.selection_map(result, selection, demo.taxonomy).get_root().render()
    # The services are a JSON array in the page's script (non-ASCII written as \u escapes).
    drawn = re.sub(r"\\u([0-9a-fA-F]{4})", lambda m: chr(int(m.group(1), 16)), page)
    assert "Qendër ditore (ilustrues) 1 – " in drawn and "Day care centre (illustrative)" not in drawn
    listed = views.existing_services(result, "day_care_disability", demo.taxonomy, lang="sr")
    assert listed["label"].str.startswith("Dnevni centar (ilustrativno)").all()
    edits = (views.PlanEdit("day_care_disability", 20.0, 42.0, action="remove", service_id="DCD-001"),)
    table = views.plan_edits_table(edits, demo.taxonomy, "sr", services=result.services)
    assert table.iloc[0, 2].startswith("Dnevni centar (ilustrativno) 1 – ")


def test_the_app_hides_small_counts_of_a_sensitive_group(tmp_path):
    # test_export.make_result: victims per area 2, 40, 9, 0, 12, 30 (01–06); the shelter serves them.
    # protect() hides 01's 2 (below 5) and, so the total cannot give it back, one more cell.
    from test_export import make_result

    from socialmap.privacy import protect

    result = make_result(tmp_path)
    tax = result.taxonomy
    hidden = protect(result, taxonomy=tax).table
    hidden = set(hidden.loc[(hidden["service_type"] == "shelter") & (hidden["suppression"] != ""), "area_id"])
    assert "01" in hidden and len(hidden) >= 2
    selection = views.Selection(service_type="shelter", metric="gap_score")
    frame = views.selection_frame(result, selection, tax).set_index("area_id")
    assert frame.loc[sorted(hidden), ["need", "unmet_need", "access"]].isna().all().all()
    shown = frame.drop(index=sorted(hidden))
    assert shown["need"].notna().all() and ((shown["need"] >= 5) | (shown["need"] == 0)).all()  # 0 is no one
    table = views.ranking_table(result, selection, tax)
    assert 2.0 not in set(table["Need (persons)"])
    layers = views.selection_layers(result, selection, tax)["areas"].set_index("area_id")
    assert pd.isna(layers.loc["01", "need"])
    assert "sensitive group" in views.privacy_note(selection, tax)
    # The headline is the national total as an export publishes it, not a sum of what is shown.
    totals = protect(result, taxonomy=tax).totals.set_index("service_type").loc["shelter"]
    figures = views.headline(result, selection, tax)
    assert figures["need"] != shown["need"].sum()
    assert figures["need"] == totals["need"] or (np.isnan(figures["need"]) and pd.isna(totals["need"]))
    # The profile of a municipality hides the same cells.
    profile = views.profile_table(result, "01", tax, lang="en").set_index("Service type")
    assert pd.isna(profile.loc["Shelter", "Need (persons)"]) and profile.loc["Day care", "Need (persons)"] > 0
    # Day care serves everyone: nothing is hidden and there is no note.
    day = views.Selection(service_type="day", metric="gap_score")
    assert views.selection_frame(result, day, tax)["need"].notna().all()
    assert views.privacy_note(day, tax) is None


# The Plan tab's change of an existing service, and which runs it compares (socialmap.app.plan)
# ----------------------------------------------------------------------------------------------------


def test_change_edit_moves_to_the_point_and_keeps_the_site_otherwise() -> None:
    from socialmap.app.plan import PlanEdit, change_edit

    site, point = (21.16, 42.66), (20.74, 42.21)
    # A move goes to the clicked point, not the service's present site.
    assert change_edit("day_care", "s-1", "move", site, point) == PlanEdit(
        "day_care", 20.74, 42.21, None, action="move", service_id="s-1"
    )
    # Closing or resizing keeps the present site (the map shows the change there).
    assert change_edit("day_care", "s-1", "remove", site, point) == PlanEdit(
        "day_care", 21.16, 42.66, None, action="remove", service_id="s-1"
    )
    assert change_edit("day_care", "s-1", "capacity", site, (None, None), 12.0) == PlanEdit(
        "day_care", 21.16, 42.66, 12.0, action="capacity", service_id="s-1"
    )
    # Not complete: a move before a click, a resize without its number of places.
    assert change_edit("day_care", "s-1", "move", site, (None, None)) is None
    assert change_edit("day_care", "s-1", "move", site, (20.74, None)) is None
    assert change_edit("day_care", "s-1", "capacity", site, point, None) is None
    # Closing needs neither.
    assert change_edit("day_care", "s-1", "remove", site, (None, None)) is not None


def test_draft_is_compared_only_when_new_and_analysed() -> None:
    from socialmap.app.plan import PlanEdit, draft_compared

    one, two = PlanEdit("day_care", 21.0, 42.5, 10.0), PlanEdit("day_care", 20.5, 42.3, None)
    saved = {"first": (one,)}
    assert draft_compared((one, two), saved, analysed=True)
    assert not draft_compared((one, two), saved, analysed=False)  # its run failed
    assert not draft_compared((), saved, analysed=True)  # nothing drawn
    assert not draft_compared((one,), saved, analysed=True)  # already saved as "first"
    assert draft_compared((two, one), {"both": (one, two)}, analysed=True)  # another order: another run
