"""The Plan tab through Streamlit's AppTest: propose services, save scenarios, compare, cost, download.

AppTest cannot click inside the streamlit-folium component (its frame is not run, and the value it
returns is stored under a key derived from the map's script). A click fills the longitude and
latitude inputs below the map (``views.clicked_point`` reads the component's value, tested in
test_views.py), so these tests drive the same path from there: they set the two inputs, then press
"Add to scenario".
"""

from __future__ import annotations

import json

from test_app import assert_clean, open_tab, start

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


def plan_map_args(at) -> dict:
    components = at.get("component_instance")
    assert len(components) == 1
    return json.loads(components[0].proto.json_args)


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

    labels = [b.label for b in at.download_button]
    assert "Comparison (CSV)" in labels and "Comparison (XLSX)" in labels
    for button in at.download_button:
        button.click().run()
        assert_clean(at)

    # Costing: blank by default (no sourced figures for Kosovo), then user-supplied.
    assert "Source of the standard: **none**" in " ".join(m.value for m in at.markdown)
    at.number_input(key="plan_standard").set_value(5.0)
    at.number_input(key="plan_unit_cost").set_value(1000.0).run()
    assert_clean(at)
    assert "**user-supplied**" in " ".join(m.value for m in at.markdown)
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
    assert "No new service yet." in [c.value for c in at.caption]


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
