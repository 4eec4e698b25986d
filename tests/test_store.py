"""The app's server-side workspaces (socialmap.store): ids, folder, round trip, two writers, a kill."""

from __future__ import annotations

import functools
import math
import os
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import pytest
from pyproj import Transformer

import socialmap
from socialmap import settings, store, views, workspace
from socialmap.scenario import Scenario, new_service
from socialmap.workspace import Workspace, WorkspaceError

SERVICES_CSV = (
    "service_id,name,service_type,capacity,lon,lat\n"
    "s-1,Qendra A,day_care_disability,20,21.16,42.66\n"
    "s-2,Qendra B,day_care_disability,,20.74,42.21\n"
    "s-3,Shtëpia C,residential_elderly,35,21.47,42.46\n"
).encode()


def state(**changes: object) -> store.AppState:
    base = {
        "uploads": {"services": ("my services.csv", SERVICES_CSV)},
        "mappings": {"services": {"Emri": "name", "Lloji": "service_type"}},
        "options": {"method": "coverage", "catchment_m": 7000.0, "spreading": "grid", "cell_size_m": 2000.0},
        "scenarios": {
            "two new": (
                views.PlanEdit("day_care_disability", 21.0, 42.5, 12.0),
                views.PlanEdit("day_care_disability", 20.5, 42.3, None),
            ),
            "close B": (views.PlanEdit("day_care_disability", 20.74, 42.21, None, "remove", "s-2"),),
        },
        "costing": {"day_care_disability": {"standard": 1.5, "unit_cost": None}},
        "view": {"lang": "sq", "service_type": "day_care_disability", "tab": "plan", "area": "07"},
    }
    base.update(changes)
    return store.AppState(**base)  # type: ignore[arg-type]


@functools.cache
def demo() -> socialmap.Demo:
    return socialmap.load_demo("kosovo")


def read(services: views.Upload) -> views.Inputs:
    return views.read_inputs(None, services, None, demo=demo())


def services_frame():
    return read(("services.csv", SERVICES_CSV)).services


# ---- ids and the folder ----------------------------------------------------------------------------


def test_new_ids_are_long_random_and_valid() -> None:
    ids = {store.new_id() for _ in range(2000)}
    assert len(ids) == 2000
    for ws_id in list(ids)[:50]:
        assert len(ws_id) == 26 and set(ws_id) <= set("abcdefghijklmnopqrstuvwxyz0123456789")
        assert store.valid_id(ws_id)
    # 36 symbols, 26 of them: more than 128 bits.
    assert 26 * math.log2(36) > 128


@pytest.mark.parametrize(
    "bad",
    [
        "../" * 9 + "etc/passwd",
        "..",
        "",
        "a" * 25,
        "a" * 27,
        "A" * 26,
        "a" * 25 + "/",
        "a" * 25 + "\x00",
        "a" * 25 + "é",
        None,
        ["a" * 26],
        26,
    ],
)
def test_bad_ids_name_no_file(tmp_path: Path, bad: object) -> None:
    s = store.Store(tmp_path)
    assert not store.valid_id(bad)
    with pytest.raises(store.StoreError, match="not a workspace id"):
        s.path(bad)  # type: ignore[arg-type]
    with pytest.raises(store.StoreError):
        s.load(bad)  # type: ignore[arg-type]
    with pytest.raises(store.StoreError):
        s.save(bad, Workspace())  # type: ignore[arg-type]
    assert list(tmp_path.iterdir()) == []


def test_the_error_of_a_bad_id_is_translated(tmp_path: Path) -> None:
    from socialmap.errors import message

    with pytest.raises(store.StoreError) as caught:
        store.Store(tmp_path).path("../x")
    assert message(caught.value, "sq") != message(caught.value, "en")
    assert message(caught.value, "sr") != message(caught.value, "en")


def test_folder_env_then_setting_then_user_data(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv(store.ENV_VAR, str(tmp_path / "env"))
    monkeypatch.setattr(settings, "workspaces_dir", str(tmp_path / "setting"))
    assert store.default_folder() == tmp_path / "env"
    assert store.Store().folder == tmp_path / "env"
    monkeypatch.delenv(store.ENV_VAR)
    assert store.default_folder() == tmp_path / "setting"
    monkeypatch.setattr(settings, "workspaces_dir", None)
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path / "xdg"))
    if sys.platform.startswith("linux"):
        assert store.default_folder() == tmp_path / "xdg" / "socialmap" / "workspaces"
    else:
        assert store.default_folder().name == "workspaces"


# ---- round trip ----------------------------------------------------------------------------------


def test_app_state_round_trips_through_the_store(tmp_path: Path) -> None:
    s = store.Store(tmp_path / "ws")
    ws_id, other = store.new_id(), store.new_id()
    given = state()
    inputs = read(("services.csv", SERVICES_CSV))
    saved = s.save(ws_id, store.to_workspace(given, inputs=inputs, demo="kosovo"))
    assert not saved.conflict and saved.stamp == s.stamp(ws_id)
    assert s.load(other) is None and not s.exists(other)
    assert oct((tmp_path / "ws").stat().st_mode & 0o777) == "0o700"
    ws = s.load(ws_id)
    assert ws is not None
    # The workspace is complete for QGIS and the CLI: its services layer is what was read.
    assert list(ws.services["service_id"]) == ["s-1", "s-2", "s-3"]
    back = store.from_workspace(ws, services=ws.services)
    assert back.uploads == {"services": ("my services.csv", SERVICES_CSV)}
    assert back.mappings == given.mappings
    assert back.options == given.options
    assert back.view == given.view
    assert back.costing == {"day_care_disability": {"standard": 1.5, "unit_cost": None}}
    assert ws.costing == {"": back.costing}
    assert list(back.scenarios) == ["two new", "close B"]
    assert back.scenarios["two new"] == given.scenarios["two new"]
    # A closed service keeps only its id in the file; its type and site come from the services.
    (closed,) = back.scenarios["close B"]
    assert (closed.action, closed.service_id, closed.service_type) == ("remove", "s-2", "day_care_disability")
    assert closed.lon == pytest.approx(20.74) and closed.lat == pytest.approx(42.21)
    assert back.key() == given.key()


def targets() -> object:
    from socialmap import plan

    row = {
        "area_id": "07",
        "name": "Ferizaj",
        "service_type": "day_care_disability",
        "year": 2027,
        "baseline_year": 2024,
        "baseline_places": 20.0,
        "places": 32.0,
        "places_added": 12.0,
        "capacity_unknown": 0,
        "baseline_share_within_reach": 0.4,
        "share_within_reach": 0.6,
        "unit_cost_eur_per_place_year": 9000.0,
        "cost_source": "yours",
        "budget_eur": 108_000.0,
        "note": "",
    }
    import pandas as pd

    return plan.Targets(pd.DataFrame([row], columns=plan.TARGET_COLUMNS), name="two new", notes=("n",))


ROADS = ("prishtina.osm.pbf", bytes(range(256)) * 4)  # kept as bytes: the app reads it again


def test_targets_roads_draft_and_choices_round_trip(tmp_path: Path) -> None:
    """What the Plan tab draws and targets, the road file, and the app's other choices come back."""
    s = store.Store(tmp_path / "ws")
    ws_id = store.new_id()
    draft = (
        views.PlanEdit("day_care_disability", 21.1, 42.6, 8.0),
        views.PlanEdit("day_care_disability", 21.16, 42.66, 40.0, "capacity", "s-1"),
    )
    choices = {
        "travel_mode": "walk",
        "basemap": "osm",
        "scheme": "quantiles",
        "classes": "4",
        "cells": "true",
        "attribution": "Kufijtë: ASHK, 2023 — «test» <b>",
    }
    given = state(
        uploads={"services": ("my services.csv", SERVICES_CSV), "roads": ROADS},
        choices=choices,
        draft=draft,
        targets=targets(),
    )
    s.save(ws_id, store.to_workspace(given, inputs=read(("services.csv", SERVICES_CSV)), demo="kosovo"))
    ws = s.load(ws_id)
    assert ws is not None
    back = store.from_workspace(ws, services=ws.services)
    assert back.uploads["roads"] == ROADS
    assert back.choices == choices
    assert back.draft[0] == draft[0]
    changed = back.draft[1]
    assert (changed.action, changed.service_id, changed.capacity) == ("capacity", "s-1", 40.0)
    assert changed.lon == pytest.approx(21.16) and changed.lat == pytest.approx(42.66)
    assert list(back.scenarios) == ["two new", "close B"]  # the draft is no named scenario
    assert back.targets.name == "two new" and back.targets.notes == ("n",)
    row = back.targets.table.iloc[0]
    assert (row["area_id"], int(row["year"]), row["places_added"], row["budget_eur"]) == (
        "07",
        2027,
        12.0,
        108_000.0,
    )
    # An empty draft is no draft; a file without these parts (an older one) loads without them.
    ws2 = store.to_workspace(state(), demo="kosovo")
    assert ws2.draft is None and ws2.choices == {} and ws2.targets is None
    older = store.from_workspace(workspace.load(ws2.save(tmp_path / "older.gpkg")))
    assert older.draft == () and older.choices == {} and older.targets is None


def test_unknown_choices_are_refused_and_hostile_ones_are_clear_errors(tmp_path: Path) -> None:
    with pytest.raises(WorkspaceError, match="unknown choice"):
        workspace.save(tmp_path / "a.gpkg", choices={"../x": "1"})
    f = workspace.save(tmp_path / "a.gpkg", choices={"basemap": "plain"}, draft=Scenario("draft"))
    assert workspace.load(f).draft.name == "draft"
    for sql in (
        "UPDATE socialmap_workspace SET value = '{\"secret\": \"x\"}' WHERE key = 'choices'",
        "UPDATE socialmap_workspace SET value = '{\"basemap\": 3}' WHERE key = 'choices'",
        "UPDATE socialmap_workspace SET value = '[1' WHERE key = 'choices'",
    ):
        bad = tmp_path / "bad.gpkg"
        bad.write_bytes(f.read_bytes())
        with sqlite3.connect(bad) as con:
            con.execute(sql)
        con.close()
        with pytest.raises(WorkspaceError, match="choices"):
            workspace.load(bad)


def test_the_kept_key_leaves_out_only_the_view() -> None:
    base = state().kept_key()
    assert state(view={"lang": "sr", "tab": "plan"}).kept_key() == base  # the URL keeps the view
    assert state(scenarios={}).kept_key() != base
    assert state(options={"method": "coverage"}).kept_key() != base


def test_the_key_changes_with_anything_kept() -> None:
    base = state().key()
    assert state().key() == base
    assert state(view={"lang": "sr"}).key() != base
    assert state(uploads={"services": ("my services.csv", SERVICES_CSV + b"\n")}).key() != base
    assert state(scenarios={}).key() != base
    assert state(mappings={}).key() != base
    assert state(costing={}).key() != base
    assert state(choices={"basemap": "osm"}).key() != base
    assert state(draft=(views.PlanEdit("day_care_disability", 21.0, 42.5, 1.0),)).key() != base
    with_targets = state(targets=targets()).key()
    assert with_targets != base and state(targets=targets()).key() == with_targets
    other = targets()
    other.table.loc[0, "places_added"] = 13.0
    assert state(targets=other).key() != with_targets


def test_uploads_keep_any_bytes_and_are_checked(tmp_path: Path) -> None:
    blob = bytes(range(256)) * 10
    f = workspace.save(tmp_path / "a.gpkg", uploads={"areas": ("x.zip", blob)})
    assert workspace.load(f).uploads == {"areas": ("x.zip", blob)}
    with pytest.raises(WorkspaceError, match="unknown upload kind"):
        workspace.save(tmp_path / "b.gpkg", uploads={"../roads": ("x", b"")})
    with pytest.raises(WorkspaceError, match="file name, bytes"):
        workspace.save(tmp_path / "b.gpkg", uploads={"areas": ("x", "text")})
    # A hostile table: a kind that is none, or text for bytes.
    for sql in (
        "UPDATE socialmap_uploads SET kind = 'secrets'",
        "UPDATE socialmap_uploads SET content = 'text'",
        "INSERT INTO socialmap_uploads (kind, file_name, content) VALUES ('areas', 'y', x'00')",
    ):
        bad = tmp_path / "bad.gpkg"
        bad.write_bytes(f.read_bytes())
        with sqlite3.connect(bad) as con:
            con.execute(sql)
        con.close()
        with pytest.raises(WorkspaceError, match="socialmap_uploads"):
            workspace.load(bad)


def test_a_workspace_without_uploads_gives_its_layers_as_files(tmp_path: Path) -> None:
    services = services_frame()
    f = workspace.save(tmp_path / "cli.gpkg", services=services, demo="kosovo")
    back = store.from_workspace(workspace.load(f))
    name, data = back.uploads["services"]
    assert name == "services.gpkg"
    again = read((name, data)).services
    assert list(again["service_id"]) == list(services["service_id"])
    assert list(again["capacity"].fillna(-1)) == [20.0, -1, 35.0]


def test_plan_edits_convert_a_projected_move_to_longitude_latitude() -> None:
    to_utm = Transformer.from_crs("EPSG:4326", "EPSG:32634", always_xy=True)
    x, y = to_utm.transform(21.1, 42.6)
    scenario = (
        Scenario("s")
        .add(new_service("day_care_disability", (21.2, 42.7), crs="EPSG:4326", capacity=8, service_id="n"))
        .move("s-1", (x, y), crs="EPSG:32634")
        .set_capacity("s-3", 50)
    )
    edits = store.plan_edits(scenario, services_frame())
    assert [e.action for e in edits] == ["add", "move", "capacity"]
    assert (edits[0].lon, edits[0].lat, edits[0].capacity) == (pytest.approx(21.2), pytest.approx(42.7), 8.0)
    assert (edits[1].lon, edits[1].lat) == (pytest.approx(21.1), pytest.approx(42.6))
    assert (edits[2].service_type, edits[2].capacity, edits[2].lat) == ("residential_elderly", 50.0, 42.46)
    # Without the services, a resized service's site is unknown (NaN), never invented.
    assert math.isnan(store.plan_edits(scenario)[2].lon)


@pytest.mark.parametrize(
    ("given", "expected"),
    [
        ({"lang": "sq", "tab": "plan"}, {"lang": "sq", "tab": "plan"}),
        ({"lang": "xx", "tab": "<script>"}, {"lang": "en", "tab": "map"}),
        ({"lang": ["en", "sr"]}, {"lang": "sr", "tab": "map"}),
        ({"lang": None, "tab": ""}, {"lang": "en", "tab": "map"}),
        ({"lang": 3, "area": "x" * 201}, {"lang": "en", "tab": "map"}),
        ({"area": "07"}, {"lang": "en", "tab": "map", "area": "07"}),
    ],
)
def test_clean_view_keeps_only_allowed_values(given: dict, expected: dict) -> None:
    allowed = {"lang": ["en", "sq", "sr"], "tab": ["map", "plan"], "area": None}
    assert store.clean_view(given, allowed, {"lang": "en", "tab": "map"}) == expected


# ---- two writers, and a writer killed ------------------------------------------------------------


def test_two_tabs_last_write_wins_and_the_conflict_is_reported(tmp_path: Path) -> None:
    s = store.Store(tmp_path)
    ws_id = store.new_id()
    first = s.save(ws_id, Workspace(view={"tab": "map"}))
    tab_a = tab_b = first.stamp  # both tabs opened the same version
    saved_a = s.save(ws_id, Workspace(view={"tab": "plan"}), seen=tab_a)
    assert not saved_a.conflict
    saved_b = s.save(ws_id, Workspace(view={"tab": "ranking"}), seen=tab_b)
    assert saved_b.conflict  # B had not seen A's write
    assert s.load(ws_id).view == {"tab": "ranking"}  # type: ignore[union-attr]
    # A writes again without reloading: it had not seen B's write either.
    assert s.save(ws_id, Workspace(view={"tab": "about"}), seen=saved_a.stamp).conflict
    # A writer that has seen the last write has no conflict.
    last = s.stamp(ws_id)
    assert not s.save(ws_id, Workspace(view={"tab": "map"}), seen=last).conflict
    assert s.load(ws_id).view == {"tab": "map"}  # type: ignore[union-attr]


WRITER = """
import sys
from socialmap import store
from socialmap.workspace import Workspace
s, ws_id = store.Store(sys.argv[1]), sys.argv[2]
blob = bytes(range(256)) * (200_000 // 256)
s.save(ws_id, Workspace(view={"tab": "map"}, uploads={"areas": ("a.bin", blob)}))
print("ready", flush=True)
n = 0
while True:
    n += 1
    s.save(ws_id, Workspace(view={"tab": "plan", "area": str(n)}, uploads={"areas": ("a.bin", blob * 4)}))
"""


def test_a_writer_killed_while_writing_leaves_the_last_good_state(tmp_path: Path) -> None:
    ws_id = store.new_id()
    folder = tmp_path / "ws"
    proc = subprocess.Popen(
        [sys.executable, "-c", WRITER, str(folder), ws_id], stdout=subprocess.PIPE, text=True
    )
    try:
        assert proc.stdout is not None and proc.stdout.readline().strip() == "ready"
        # Kill it while a temporary file is being written (the replacement not yet complete).
        deadline = time.monotonic() + 60
        while not any(p.suffix == ".tmp" for p in folder.iterdir()):
            assert time.monotonic() < deadline, "the writer never wrote"
        os.kill(proc.pid, signal.SIGKILL)
    finally:
        proc.kill()
        proc.wait(timeout=10)
        if proc.stdout is not None:
            proc.stdout.close()
    leftovers = [p for p in folder.iterdir() if p.suffix == ".tmp"]
    assert leftovers, "killed before it wrote: the test did not test a half-written file"
    ws = store.Store(folder).load(ws_id)
    assert ws is not None
    blob = bytes(range(256)) * (200_000 // 256)
    if ws.view == {"tab": "map"}:
        assert ws.uploads == {"areas": ("a.bin", blob)}
    else:  # a complete later version
        assert ws.view["tab"] == "plan" and ws.uploads == {"areas": ("a.bin", blob * 4)}
    # The store writes over the leftovers next time.
    store.Store(folder).save(ws_id, Workspace(view={"tab": "about"}))
    assert store.Store(folder).load(ws_id).view == {"tab": "about"}  # type: ignore[union-attr]


# The sidebar's widget values of saved options (socialmap.app.store.option_widgets)
# ----------------------------------------------------------------------------------------------------

WIDGET_RANGES = {
    "methods": ("coverage", "2sfca", "e2sfca"),
    "spreading": ("representative", "grid"),
    "cell_sizes_m": (500.0, 1000.0, 2000.0, 5000.0),
}


@pytest.mark.parametrize(
    ("options", "expected"),
    [
        ({}, {}),
        # Shown as saved: a method, a spreading and a grid cell the widgets offer; 7,400 m is 7.4 → 7 km.
        (
            {"method": "e2sfca", "spreading": "grid", "cell_size_m": 2000.0, "catchment_m": 7400.0},
            {"method": "e2sfca", "spreading": "grid", "cell_km": 2.0, "catchment_km": 7},
        ),
        # Not offered by the widgets: left out, so the widgets keep their values.
        ({"method": "gravity", "spreading": "uniform", "cell_size_m": 3000.0}, {}),
        ({"catchment_m": "7000", "catchment_min": None}, {}),
        # Catchments brought into the sliders' ranges: 120 km → 50; 300 m is 0.3 → 0 km → 1 km.
        ({"catchment_m": 120_000.0}, {"catchment_km": 50}),
        ({"catchment_m": 300}, {"catchment_km": 1}),
        # Minutes to the nearest 5: 12 → 10, 13 → 15; 1 → 0 → 5 at least; 200 → 120 at most.
        ({"catchment_min": 12.0}, {"catchment_min": 10}),
        ({"catchment_min": 13}, {"catchment_min": 15}),
        ({"catchment_min": 1.0}, {"catchment_min": 5}),
        ({"catchment_min": 200.0}, {"catchment_min": 120}),
    ],
)
def test_option_widgets_keep_what_the_widgets_can_show(options: dict, expected: dict) -> None:
    assert store.option_widgets(options, **WIDGET_RANGES) == expected


# What a workspace keeps of a session (socialmap.app.store.session_state)
# ----------------------------------------------------------------------------------------------------

SESSION_TABS = {"Harta": "map", "Plani": "plan"}
SESSION_DEFAULTS = {
    "method": "2sfca",
    "catchment_m": 10_000.0,
    "spreading": "representative",
    "cell_size_m": 1000.0,
}


def test_session_state_of_a_fresh_session_is_the_defaults() -> None:
    kept = store.session_state({}, lang="sq", tabs=SESSION_TABS, defaults=SESSION_DEFAULTS)
    # 10,000 m is 10 km in the widget and 10,000 m again; 1,000 m is 1 km and back.
    assert kept.options == {
        "method": "2sfca",
        "catchment_m": 10_000.0,
        "spreading": "representative",
        "cell_size_m": 1000.0,
        "catchment_min": None,
    }
    assert kept.view == {"lang": "sq", "tab": "map"}
    assert kept.choices == {}
    assert (kept.uploads, kept.mappings, kept.scenarios, kept.costing) == ({}, {}, {}, {})
    assert kept.draft == () and kept.targets is None


def test_session_state_turns_widgets_into_the_workspace_values() -> None:
    edit = views.PlanEdit("day_care_disability", 21.0, 42.5, 12.0)
    session = {
        "ws_uploads": {"areas": ("a.gpkg", b"A"), "roads": ("r.pbf", b"R")},
        "column_mappings": {"services": {"Emri": "name"}},
        "method": "coverage",
        "catchment_km": 7,  # → 7,000 m
        "spreading": "grid",
        "cell_km": 0.5,  # → 500 m
        "catchment_min": 30,  # kept: a road network is uploaded
        "target_group": "disability",
        "service_type": "day_care_disability",
        "metric": "coverage",
        "profile_area": "Prishtinë",
        "view": "Plani",  # the tab's label in Albanian → "plan"
        "open_tab": "map",
        "basemap": "plain",
        "k": 5,
        "cells": False,
        "travel_mode": "walk",
        "ws_attribution": "© Agjencia",
        "plan_edits": [edit],
        "plan_scenarios": {"one": (edit,)},
        "ws_costing": {"day_care_disability": {"standard": 2.0, "unit_cost": None}},
    }
    kept = store.session_state(session, lang="sq", tabs=SESSION_TABS, defaults=SESSION_DEFAULTS)
    assert kept.options == {
        "method": "coverage",
        "catchment_m": 7000.0,
        "spreading": "grid",
        "cell_size_m": 500.0,
        "catchment_min": 30.0,
    }
    assert kept.view == {
        "lang": "sq",
        "group": "disability",
        "service_type": "day_care_disability",
        "metric": "coverage",
        "area": "Prishtinë",
        "tab": "plan",
    }
    assert kept.choices == {
        "basemap": "plain",
        "classes": "5",
        "cells": "false",
        "travel_mode": "walk",
        "attribution": "© Agjencia",
    }
    assert kept.uploads == {"areas": ("a.gpkg", b"A"), "roads": ("r.pbf", b"R")}
    assert kept.mappings == {"services": {"Emri": "name"}}
    assert kept.draft == (edit,) and kept.scenarios == {"one": (edit,)}
    assert kept.costing == {"day_care_disability": {"standard": 2.0, "unit_cost": None}}


def test_session_state_keeps_no_choice_about_an_input_not_uploaded() -> None:
    session = {"catchment_min": 30, "travel_mode": "walk", "ws_attribution": "© Agjencia", "open_tab": "plan"}
    kept = store.session_state(session, lang="en", tabs=SESSION_TABS, defaults=SESSION_DEFAULTS)
    # No road network: no minutes, no travel mode; no areas file: no attribution.
    assert kept.options["catchment_min"] is None
    assert kept.choices == {}
    # No tab label in the session: the tab it opened on.
    assert kept.view == {"lang": "en", "tab": "plan"}
    # An empty attribution with an areas file is not kept either.
    with_areas = {"ws_uploads": {"areas": ("a.gpkg", b"A")}, "ws_attribution": ""}
    assert (
        store.session_state(with_areas, lang="en", tabs=SESSION_TABS, defaults=SESSION_DEFAULTS).choices == {}
    )
