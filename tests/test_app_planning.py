"""The Plan tab through Streamlit's AppTest: propose services, save scenarios, compare, cost, download.

AppTest cannot click inside the streamlit-folium component (its frame is not run, and the value it
returns is stored under a key derived from the map's script). A click fills the longitude and
latitude inputs below the map (``views.clicked_point`` reads the component's value, tested in
test_views.py), so these tests drive the same path from there: they set the two inputs, then press
"Add to scenario".
"""

from __future__ import annotations

import json

import app_downloads
from test_app import assert_clean, open_tab, start

from socialmap.display import plain

PLAN = 3
PRISHTINA = (21.1655, 42.6629)


def open_plan(service_type: str = "day_care_disability"):
    at = start()
    at.selectbox(key="service_type").set_value(service_type).run()
    assert_clean(at)
    return open_tab(at, PLAN)


def propose(at, lon: float, lat: float, places: float = 40.0):
    at.number_input(key="plan_lon").set_value(lon)
    at.number_input(key="plan_lat").set_value(lat)
    at.number_input(key="plan_capacity").set_value(places).run()
    assert_clean(at)
    at.button(key="plan_add").click().run()
    assert_clean(at)
    return at


def save(at, name: str):
    at.text_input(key="plan_name").set_value(name)
    at.button(key="plan_save").click().run()
    assert_clean(at)
    return at


def map_args(at) -> list[dict]:
    """The arguments of every map on the page (streamlit-folium components), in page order."""
    return [json.loads(c.proto.json_args) for c in at.get("component_instance")]


def plan_map_args(at) -> dict:
    clickable = [a for a in map_args(at) if a["returned_objects"] == ["last_clicked"]]
    assert len(clickable) == 1  # only the planning map reports clicks
    return clickable[0]


def table(at, key_columns: str):
    return next(d.value for d in at.dataframe if any(key_columns in str(c) for c in d.value.columns))


def test_plan_tab_add_save_two_scenarios_compare_cost_and_download():
    at = open_plan()
    assert at.tabs[PLAN].label == "Plan"
    args = plan_map_args(at)
    assert args["returned_objects"] == ["last_clicked"]  # only this map reports clicks
    assert at.button(key="plan_add").disabled  # no point yet

    propose(at, *PRISHTINA)
    assert "Planned 1" in plan_map_args(at)["feature_group"]  # the map shows it at once
    edits = table(at, "Longitude")
    assert len(edits) == 1 and edits["Places"].iloc[0] == 40
    save(at, "One in Prishtina")
    assert at.success[0].value == "Saved scenario One in Prishtina."

    propose(at, 20.74, 42.21, places=100)  # Prizren, added to the same draft
    save(at, "Prishtina and Prizren")

    national = table(at, "[Prishtina and Prizren]")
    assert len(national) >= 1
    columns = " ".join(map(str, national.columns))
    assert "[Current services]" in columns and "[One in Prishtina]" in columns
    supply = national.iloc[0]
    assert supply["Supply (places) Δ [One in Prishtina]"] == 40
    assert supply["Supply (places) Δ [Prishtina and Prizren]"] == 140
    by_area = [
        d.value
        for d in at.dataframe
        if "Municipality" in d.value.columns and "Gap score (%) [Current services]" in d.value.columns
    ]
    assert len(by_area[0]) == 38
    assert (by_area[0]["Gap score (%) Δ [Prishtina and Prizren]"].fillna(0) <= 1e-9).all()

    labels = app_downloads.labels(at)
    assert "Comparison (CSV)" in labels and "Comparison (XLSX)" in labels
    for key in [b["id"] for b in app_downloads.buttons(at)]:
        assert app_downloads.click(at, key)
        assert_clean(at)

    # Costing: blank by default (no sourced figures for Kosovo), then user-supplied.
    assert "Source of the standard: **none**" in " ".join(m.value for m in at.markdown)
    at.number_input(key="plan_standard").set_value(5.0)
    at.number_input(key="plan_unit_cost").set_value(1000.0).run()
    assert_clean(at)
    assert "**" + plain("user-supplied") + "**" in " ".join(m.value for m in at.markdown)
    cost = table(at, "Budget (EUR per year)")
    assert cost["Budget (EUR per year)"].notna().all()

    # Remove the second new service from the draft.
    at.selectbox(key="plan_remove_index").set_value(2)
    at.button(key="plan_remove").click().run()
    assert_clean(at)
    assert len(table(at, "Longitude")) == 1
    assert "[Scenario (not saved)]" in " ".join(map(str, table(at, "[Prishtina and Prizren]").columns))
    at.button(key="plan_clear").click().run()
    assert_clean(at)
    assert "No change yet." in [c.value for c in at.caption]


def test_plan_tab_asks_for_one_service_type_and_a_name():
    at = start()
    at = open_tab(at, PLAN)
    assert "Choose one service type" in at.info[0].value
    at = open_plan()
    propose(at, *PRISHTINA)
    at.button(key="plan_save").click().run()
    assert not at.exception
    assert at.error[0].value == "Give the scenario a name before saving it."


def test_suggest_sites_and_add_them():
    at = open_plan("residential_elderly")
    at.number_input(key="plan_k").set_value(2)
    at.button(key="plan_suggest").click().run()
    assert_clean(at)
    assert len(table(at, "Longitude")) == 2
    at.button(key="plan_add_suggested").click().run()
    assert_clean(at)
    assert len(table(at, "Longitude")) == 2  # now the scenario's
    assert "Planned 2" in plan_map_args(at)["feature_group"]


def _services_file():
    from pathlib import Path

    import pandas as pd

    path = Path(__file__).resolve().parents[1] / "data" / "services" / "kosovo_services.csv"
    return pd.read_csv(path).set_index("service_id")


def national_delta(at, column: str) -> float:
    national = table(at, "[Scenario (not saved)]")
    return float(national[f"{column} Δ [Scenario (not saved)]"].iloc[0])


def test_close_resize_and_move_existing_services_then_map_the_change():
    services = _services_file()
    at = open_plan()
    listed = at.selectbox(key="plan_existing")
    assert len(listed.options) == (services["service_type"] == "day_care_disability").sum()

    # Close DCD-001: the national supply falls by its places (from the services file).
    at.selectbox(key="plan_existing").set_value("DCD-001")
    at.radio(key="plan_action").set_value("remove").run()
    at.button(key="plan_apply").click().run()
    assert_clean(at)
    assert national_delta(at, "Supply (places)") == -services.loc["DCD-001", "capacity"]
    assert "DCD-001" not in at.selectbox(key="plan_existing").options  # closed: no longer offered
    assert list(table(at, "Longitude")["Change"]) == ["Closed"]

    # Resize DCD-002 by +15 places.
    at.selectbox(key="plan_existing").set_value("DCD-002")
    at.radio(key="plan_action").set_value("capacity").run()
    assert at.button(key="plan_apply").disabled  # no number yet
    at.number_input(key="plan_new_places").set_value(float(services.loc["DCD-002", "capacity"] + 15)).run()
    at.button(key="plan_apply").click().run()
    assert_clean(at)
    expected = -services.loc["DCD-001", "capacity"] + 15
    assert national_delta(at, "Supply (places)") == expected

    # Move DCD-003 to Prishtina: the places stay the same.
    at.selectbox(key="plan_existing").set_value("DCD-003")
    at.radio(key="plan_action").set_value("move").run()
    assert at.button(key="plan_apply").disabled  # no site yet
    at.number_input(key="plan_lon").set_value(PRISHTINA[0])
    at.number_input(key="plan_lat").set_value(PRISHTINA[1]).run()
    at.button(key="plan_apply").click().run()
    assert_clean(at)
    assert national_delta(at, "Supply (places)") == expected
    assert list(table(at, "Longitude")["Change"]) == ["Closed", "Places changed", "Moved"]
    assert "Moved here:" in plan_map_args(at)["feature_group"]

    # The difference map: a second map on the page, titled with the scenario and the metric (the title is
    # in the layers that change, so the map's frame stays as the scenario or metric changes).
    maps = map_args(at)
    assert len(maps) == 2
    diff = maps[1]["script"] + maps[1]["html"] + str(maps[1]["feature_group"])
    assert "Scenario (not saved): change in Supply (places)" not in diff
    assert "Scenario (not saved): change in Gap score (%)" in diff
    at.selectbox(key="plan_diff_metric").set_value("supply").run()
    assert_clean(at)
    diff = map_args(at)[1]["script"] + map_args(at)[1]["html"] + str(map_args(at)[1]["feature_group"])
    assert "Scenario (not saved): change in Supply (places)" in diff
    assert "blue: better; red: worse" in diff
    assert "Difference map (HTML, works offline)" in app_downloads.labels(at)
    assert b"<html" in app_downloads.click(at, "plan_download_diff_map").lower()
    assert_clean(at)


def test_confidential_services_cannot_be_edited_in_the_app():
    at = open_plan("shelter_dv")
    assert not [s for s in at.selectbox if s.key == "plan_existing"]
    assert any("confidential" in c.value for c in at.caption)
