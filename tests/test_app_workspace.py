"""The app's workspaces through AppTest: the id in the URL, restore, the view in the URL, Open workspace."""

from __future__ import annotations

import functools
import os
from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

import socialmap
from socialmap import store, views

REPO = Path(__file__).resolve().parents[1]
APP = str(REPO / "app.py")
TIMEOUT = 120
SERVICES_CSV = (
    "service_id,Emri,service_type,capacity,lon,lat\n"  # "Emri" mapped to name
    "s-1,Qendra A,day_care_disability,20,21.16,42.66\n"
    "s-2,Qendra B,day_care_disability,,20.74,42.21\n"
    "s-3,Shtëpia C,residential_elderly,35,21.47,42.46\n"
).encode()


@functools.cache
def demo() -> socialmap.Demo:
    return socialmap.load_demo("kosovo")


def literal(markdown: str) -> str:
    """The text of a Markdown string written with display.plain (escapes and word joiners dropped)."""
    return markdown.replace("\u2060", "").replace("\\", "")


def the_store() -> store.Store:
    return store.Store(Path(os.environ[store.ENV_VAR]))


def run(query: dict[str, str]) -> AppTest:
    at = AppTest.from_file(APP, default_timeout=TIMEOUT)
    for key, value in query.items():
        at.query_params[key] = value
    at.run()
    assert not at.exception, [e.value for e in at.exception]
    return at


def saved_workspace(ws_id: str, **view: str) -> None:
    upload = ("my services.csv", SERVICES_CSV)
    state = store.AppState(
        uploads={"services": upload},
        mappings={"services": {"Emri": "name"}},
        options={"method": "coverage", "catchment_m": 7000.0, "spreading": "representative"},
        scenarios={
            "one new": (views.PlanEdit("day_care_disability", 21.0, 42.5, 12.0),),
            "close B": (views.PlanEdit("day_care_disability", 20.74, 42.21, None, "remove", "s-2"),),
        },
        costing={"day_care_disability": {"standard": 2.0, "unit_cost": 9000.0}},
        view=view,
    )
    the_store().save(ws_id, store.to_workspace(state, demo="kosovo"))  # the app reads the upload again


def test_a_session_without_id_gets_one_and_writes_nothing_until_a_change() -> None:
    at = run({})
    ws_id = at.query_params["ws"]
    ws_id = ws_id[-1] if isinstance(ws_id, list) else ws_id
    assert store.valid_id(ws_id)
    assert not the_store().exists(ws_id)
    at.radio(key="method").set_value("coverage").run()
    assert not at.exception
    ws = the_store().load(ws_id)
    assert ws is not None and ws.options["method"] == "coverage"


def test_an_id_brings_its_workspace_back() -> None:
    ws_id = store.new_id()
    saved_workspace(ws_id, lang="sq", service_type="day_care_disability", tab="plan")
    at = run({"ws": ws_id})
    assert not at.error, [e.value for e in at.error]
    assert at.session_state["lang"] == "sq"
    assert at.session_state["method"] == "coverage"
    assert at.session_state["catchment_km"] == 7
    assert at.session_state["service_type"] == "day_care_disability"
    assert at.session_state["column_mappings"] == {"services": {"Emri": "name"}}
    scenarios = at.session_state["plan_scenarios"]
    assert list(scenarios) == ["one new", "close B"]
    (closed,) = scenarios["close B"]
    assert closed.service_id == "s-2" and closed.lon == pytest.approx(20.74)
    assert (at.session_state["plan_standard"], at.session_state["plan_unit_cost"]) == (2.0, 9000.0)
    # The uploaded services are used: 3 services, not the demo's 142.
    assert any("shërbimeve: 3." in c.value for c in at.caption), [c.value for c in at.caption][:3]
    assert any("my services.csv" in literal(c.value) for c in at.caption)
    # Another id never sees it.
    other = run({"ws": store.new_id()})
    assert "plan_scenarios" not in other.session_state or other.session_state["plan_scenarios"] == {}
    assert not any("my services.csv" in literal(c.value) for c in other.caption)


@pytest.mark.parametrize(
    "query",
    [
        {"ws": "../../etc/passwd", "lang": "xx", "tab": "nope", "metric": "<b>", "group": "zz", "area": "99"},
        {"lang": "sr", "service_type": "no_such_type", "metric": "coverage", "tab": "../x"},
    ],
)
def test_bad_values_in_the_url_fall_back_to_defaults(query: dict[str, str]) -> None:
    at = run(query)
    assert not at.error, [e.value for e in at.error]
    ws_id = at.query_params["ws"]
    assert store.valid_id(ws_id[-1] if isinstance(ws_id, list) else ws_id)
    assert at.session_state["lang"] == ("sr" if query.get("lang") == "sr" else "en")
    assert at.session_state["service_type"] == views.ALL_TYPES
    if query.get("ws", "").startswith(".."):
        assert any("not valid" in w.value for w in at.warning)


def test_the_view_in_the_url_opens_the_same_view() -> None:
    area = str(demo().areas["area_id"].iloc[6])
    at = run(
        {
            "lang": "sr",
            "group": "persons_with_disabilities",
            "service_type": "day_care_disability",
            "metric": "places_per_1000",
            "area": area,
            "tab": "profile",
        }
    )
    assert not at.error, [e.value for e in at.error]
    assert at.session_state["lang"] == "sr"
    assert at.session_state["service_type"] == "day_care_disability"
    assert at.session_state["metric"] == "places_per_1000"
    assert at.session_state["profile_area"] == area
    assert at.session_state["open_tab"] == "profile"


def test_two_tabs_on_one_workspace_last_write_wins_and_the_other_tab_is_told() -> None:
    ws_id = store.new_id()
    saved_workspace(ws_id, lang="en")
    tab_a, tab_b = run({"ws": ws_id}), run({"ws": ws_id})
    tab_a.radio(key="method").set_value("e2sfca").run()
    assert not tab_a.warning or all("another tab" not in w.value for w in tab_a.warning)
    tab_b.radio(key="method").set_value("2sfca").run()
    assert any("another tab or browser" in w.value for w in tab_b.warning), [w.value for w in tab_b.warning]
    ws = the_store().load(ws_id)
    assert ws is not None and ws.options["method"] == "2sfca"  # the last write
    assert [s.name for s in ws.scenarios] == ["one new", "close B"]  # nothing else lost


def test_stop_using_a_restored_upload_goes_back_to_the_demo_and_is_saved() -> None:
    ws_id = store.new_id()
    saved_workspace(ws_id, lang="en")
    at = run({"ws": ws_id})
    assert any("3 services" in c.value for c in at.caption)
    at.button(key="ws_drop_services").click().run()
    assert not at.exception
    assert any("142 services" in c.value for c in at.caption), [c.value for c in at.caption][:2]
    ws = the_store().load(ws_id)
    assert ws is not None and ws.uploads == {} and ws.services is None
