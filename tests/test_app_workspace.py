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


def test_a_change_of_view_alone_is_kept_in_the_url_and_written_with_the_next_change() -> None:
    at = run({})
    ws_id = at.query_params["ws"]
    ws_id = ws_id[-1] if isinstance(ws_id, list) else ws_id
    at.radio(key="method").set_value("coverage").run()
    written = the_store().stamp(ws_id)
    assert written is not None
    other = next(
        o for o in at.selectbox(key="service_type").options if o != at.selectbox(key="service_type").value
    )
    at.selectbox(key="service_type").set_value(other).run()
    assert not at.exception
    assert the_store().stamp(ws_id) == written  # a click on another service type rewrites nothing
    assert at.query_params["service_type"] not in ("", None)  # the URL has it
    at.radio(key="method").set_value("2sfca").run()
    ws = the_store().load(ws_id)
    assert ws is not None and ws.options["method"] == "2sfca"
    assert ws.view["service_type"] == at.session_state["service_type"]  # written with the next change


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


@functools.cache
def areas_geojson() -> bytes:
    return demo().areas.to_crs("EPSG:4326").to_json().encode()


def test_targets_roads_draft_and_display_choices_come_back() -> None:
    """After a reload: the targets, the road file, the draft, the display choices and the attribution."""
    from test_network_pipeline import kosovo_grid_osm
    from test_store import targets

    ws_id = store.new_id()
    draft = (views.PlanEdit("day_care_disability", 21.0, 42.5, 12.0),)
    state = store.AppState(
        uploads={"areas": ("kufijtë.geojson", areas_geojson()), "roads": ("grid.osm", kosovo_grid_osm())},
        options={"method": "2sfca", "catchment_min": 45.0},
        choices={
            "travel_mode": "walk",
            "basemap": "osm",
            "scheme": "equal_interval",
            "classes": "4",
            "cells": "true",
            "attribution": "Kufijtë: ASHK, 2023",
        },
        draft=draft,
        targets=targets(),
        view={"lang": "sq", "service_type": "day_care_disability", "tab": "plan"},
    )
    the_store().save(ws_id, store.to_workspace(state, demo="kosovo"))
    at = run({"ws": ws_id})
    assert not at.error, [e.value for e in at.error]
    ss = at.session_state
    assert (ss["travel_mode"], ss["catchment_min"], ss["basemap"], ss["scheme"]) == (
        "walk",
        45,
        "osm",
        "equal_interval",
    )
    assert ss["k"] == 4 and ss["cells"] is True
    assert tuple(ss["plan_edits"]) == draft
    assert ss["plan_targets"].name == "two new"
    # The road file is used (travel time, walking), and the boundaries carry their attribution.
    captions = [literal(c.value) for c in at.caption]
    assert any("Kufijtë: ASHK, 2023" in c for c in captions), captions[:4]
    assert "Zonat e mbulimit maten si: koha e udhëtimit (rrugët, në këmbë)" in captions, captions[:12]
    # One more change is saved with everything else still in it.
    at.toggle(key="cells").set_value(False).run()
    assert not at.exception
    ws = the_store().load(ws_id)
    assert ws is not None
    assert ws.choices["cells"] == "false" and ws.choices["travel_mode"] == "walk"
    assert ws.choices["attribution"] == "Kufijtë: ASHK, 2023"
    assert ws.options["catchment_min"] == 45.0
    assert ws.uploads["roads"] == ("grid.osm", kosovo_grid_osm())
    assert ws.draft is not None and len(ws.draft.to_frame()) == 1
    assert ws.targets is not None and ws.targets.name == "two new"


def test_a_bad_workspace_file_is_a_clear_error_in_the_users_language() -> None:
    """Open workspace: whatever the file, a message in the person's language, never a traceback."""
    import numpy as np

    good = store.to_workspace(store.AppState(), demo="kosovo")
    import tempfile

    with tempfile.TemporaryDirectory() as tmp:
        data = good.save(Path(tmp) / "w.gpkg").read_bytes()
    rng = np.random.default_rng(7)
    files = {
        "random.gpkg": rng.integers(0, 256, 20_000, dtype=np.uint8).tobytes(),
        "cut.gpkg": data[: len(data) // 2],
        "zip.gpkg": b"PK\x03\x04" + bytes(300),
        "empty.gpkg": b"",
        "header only.gpkg": data[:100] + bytes(4000),
    }
    at = run({"lang": "sq"})
    for name, content in files.items():
        at.file_uploader(key="workspace_open").upload(name, content, "application/geopackage+sqlite3").run()
        assert not at.exception, (name, [e.value for e in at.exception])
        errors = [literal(e.value) for e in at.error]
        assert len(errors) == 1, (name, errors)
        assert errors[0].startswith("Ky skedar nuk mund të hapej si hapësirë pune: "), (name, errors)
        assert name in errors[0], (name, errors)
        for english in ("Workspace", "truncated", "cut off", "SQLite format", "Traceback", "/tmp/"):
            assert english not in errors[0], (name, english, errors)


def test_an_uploaded_taxonomy_comes_back_and_the_workspace_analyses_with_it(tmp_path) -> None:
    """Another country from uploads alone (tests/synthetic_country.py): its own taxonomy is kept too."""
    import pytest
    from synthetic_country import write

    files = write(tmp_path)
    ws_id = store.new_id()
    state = store.AppState(
        uploads={kind: (path.name, path.read_bytes()) for kind, path in files.items()},
        options={"method": "2sfca", "spreading": "representative"},
        view={"lang": "en", "service_type": "day_centre"},
    )
    the_store().save(ws_id, store.to_workspace(state, demo="kosovo"))
    at = run({"ws": ws_id})
    assert not at.error, [e.value for e in at.error]
    # The view names a service type of the uploaded taxonomy: it is restored, not refused.
    assert at.session_state["service_type"] == "day_centre"
    assert set(at.selectbox(key="service_type").options) >= {
        "Community clinic",
        "Day centre for older people",
    }
    captions = " ".join(literal(c.value) for c in at.caption)
    assert "the saved file testland_taxonomy.yaml is used" in captions
    at.radio(key="method").set_value("coverage").run()
    at.radio(key="method").set_value("2sfca").run()  # a change: the workspace is written by the app
    ws = the_store().load(ws_id)
    assert ws is not None and ws.uploads["taxonomy"] == (
        files["taxonomy"].name,
        files["taxonomy"].read_bytes(),
    )
    assert ws.taxonomy is not None and set(ws.taxonomy.service_types) == {"clinic", "day_centre"}
    # What `socialmap analyze --workspace` computes: the composites worked out by hand in
    # tests/test_own_data.py::test_another_country_from_uploads_alone.
    composite = ws.analyze().areas.set_index("area_id")["composite_gap"].to_dict()
    assert composite == pytest.approx({"W": 99.5, "C": 98.75, "E": 100.0})
