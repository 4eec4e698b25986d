"""Workspaces (socialmap.workspace): round trip, atomic replace under a killed writer, hostile files."""

from __future__ import annotations

import dataclasses
import json
import signal
import sqlite3
import subprocess
import sys
import textwrap
import time
import warnings
from contextlib import closing
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
import shapely

from socialmap import workspace
from socialmap.datasets import load_demo
from socialmap.errors import SocialMapError, TaxonomyError
from socialmap.scenario import Scenario, new_service
from socialmap.workspace import WorkspaceError


@pytest.fixture(scope="module")
def demo():
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return load_demo("kosovo")


def _scenarios(demo):
    first = demo.services.iloc[0]
    second = demo.services.iloc[1]
    s1 = (
        Scenario("two day centres", description="Ferizaj and Gjilan")
        .add(new_service(first.service_type, (21.16, 42.37), crs="EPSG:4326", capacity=30, name="New 1"))
        .add(new_service(second.service_type, (7_520_000.0, 4_700_000.0), crs="EPSG:3857", capacity=12))
        .remove(first.service_id)
        .set_capacity(second.service_id, 55)
    )
    s2 = (
        Scenario("move one")
        .move(second.service_id, (20.9, 42.1), crs="EPSG:4326")
        .set_capacity(second.service_id, None)
    )
    return [s1, s2, Scenario("nothing yet")]


def _full(demo, path):
    return workspace.save(
        path,
        areas=demo.areas,
        services=demo.services,
        population=demo.population,
        taxonomy=demo.taxonomy,
        demo="kosovo",
        mappings={"services": {"Emri": "name", "Lloji": "service_type", "Shenim": ""}, "population": {}},
        options={"method": "e2sfca", "cell_size_m": 2000.0, "service_types": ("csw",)},
        scenarios=_scenarios(demo),
        costing={
            "": {"csw": {"standard": 0.5, "unit_cost": 1200.0}},
            "move one": {"csw": {"standard": None}},
        },
        view={"lang": "sr", "service_type": "csw", "metric": "gap_score", "area": "KS-01", "tab": "plan"},
    )


def test_round_trip_gives_equal_frames_and_scenarios(demo, tmp_path):
    path = _full(demo, tmp_path / "plan.gpkg")
    ws = workspace.load(path)
    pd.testing.assert_frame_equal(ws.areas, demo.areas)
    pd.testing.assert_frame_equal(ws.services, demo.services)
    pd.testing.assert_frame_equal(ws.population, demo.population)
    assert ws.areas.crs == demo.areas.crs and ws.services.crs == demo.services.crs
    saved = _scenarios(demo)
    assert [s.name for s in ws.scenarios] == [s.name for s in saved]
    assert [s.description for s in ws.scenarios] == ["Ferizaj and Gjilan", "", ""]
    for got, want in zip(ws.scenarios, saved, strict=True):
        pd.testing.assert_frame_equal(got.to_frame(), want.to_frame(), check_dtype=False)
        # the edits do the same to the services
        pd.testing.assert_frame_equal(got.apply(demo.services), want.apply(demo.services))
    assert ws.mappings == {"services": {"Emri": "name", "Lloji": "service_type", "Shenim": ""}}
    assert ws.options == {"method": "e2sfca", "cell_size_m": 2000.0, "service_types": ("csw",)}
    assert ws.config().method == "e2sfca" and ws.config().service_types == ("csw",)
    assert ws.costing == {
        "": {"csw": {"standard": 0.5, "unit_cost": 1200.0}},
        "move one": {"csw": {"standard": None, "unit_cost": None}},
    }
    assert ws.view == {
        "lang": "sr",
        "service_type": "csw",
        "metric": "gap_score",
        "area": "KS-01",
        "tab": "plan",
    }
    assert ws.demo == "kosovo"
    assert dataclasses.replace(ws.taxonomy, origin=demo.taxonomy.origin) == demo.taxonomy
    assert ws.notes  # the loaders' warning (capacities unknown in the demo) is kept, not lost


def test_the_file_is_a_geopackage_with_the_inputs_as_layers(demo, tmp_path):
    import pyogrio

    path = _full(demo, tmp_path / "plan.gpkg")
    layers = dict(pyogrio.list_layers(path))
    assert layers["areas"] in {"Polygon", "MultiPolygon"} and layers["services"] == "Point"
    assert layers["population"] is None and layers["socialmap_workspace"] is None
    with closing(sqlite3.connect(path)) as con:
        (app_id,) = con.execute("PRAGMA application_id").fetchone()
        version = con.execute("SELECT value FROM socialmap_workspace WHERE key = 'schema_version'").fetchone()
    assert app_id == 0x47504B47  # 'GPKG'
    assert version == (str(workspace.SCHEMA_VERSION),)


def test_demo_only_workspace_and_analysis_equal_to_direct(demo, tmp_path):
    from socialmap.pipeline import AnalysisConfig, analyze

    path = workspace.save(tmp_path / "w.gpkg", demo="kosovo", options={"spreading": "representative"})
    ws = workspace.load(path)
    assert ws.areas is None and ws.services is None and ws.scenarios == ()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        got = ws.analyze().table
        want = analyze(demo="kosovo", config=AnalysisConfig(spreading="representative")).table
    pd.testing.assert_frame_equal(got, want)


def test_save_replaces_and_refuses_what_it_cannot_keep(demo, tmp_path):
    path = tmp_path / "w.gpkg"
    workspace.save(path, demo="kosovo", scenarios=[Scenario("a")])
    workspace.save(path, demo="kosovo", scenarios=[Scenario("b")])
    assert [s.name for s in workspace.load(path).scenarios] == ["b"]
    with pytest.raises(WorkspaceError, match="two scenarios are named 'a'"):
        workspace.save(path, scenarios=[Scenario("a"), Scenario("a")])
    with pytest.raises(WorkspaceError, match="unknown analysis option"):
        workspace.save(path, options={"no_such_option": 1})
    with pytest.raises(WorkspaceError, match="unknown view key"):
        workspace.save(path, view={"password": "x"})
    with pytest.raises(WorkspaceError, match="no scenario"):
        workspace.save(path, costing={"ghost": {"csw": {"standard": 1.0}}})
    with pytest.raises(WorkspaceError, match="a unit cost"):
        workspace.save(path, costing={"": {"csw": {"unit_cost": -5}}})
    with pytest.raises(WorkspaceError, match="unknown field"):
        workspace.save(path, scenaros=[])
    # the refused saves left the last good file
    assert [s.name for s in workspace.load(path).scenarios] == ["b"]


HOSTILE = [
    "'; DROP TABLE socialmap_workspace; --",
    '" OR 1=1 --',
    '=HYPERLINK("http://x")',
    "line\nbreak\ttab\r",
    "\u202eevil\u202c RTL",
    "<script>alert(1)</script>",
    "Ç'ka ëë Šđžćč",
    "\x00nul",
    "💥" * 50,
]


def test_hostile_strings_come_back_as_text(demo, tmp_path):
    path = tmp_path / "w.gpkg"
    names = [h.replace("\x00", "") for h in HOSTILE]  # SQLite text keeps NUL, GDAL does not: refused below
    workspace.save(
        path,
        demo="kosovo",
        scenarios=[Scenario(n) for n in names],
        mappings={"services": {n: "name" for n in names}},
        view={"area": names[0], "tab": names[1]},
    )
    ws = workspace.load(path)
    assert [s.name for s in ws.scenarios] == names
    assert list(ws.mappings["services"]) == names
    assert ws.view == {"area": names[0], "tab": names[1]}
    with closing(sqlite3.connect(path)) as con:  # nothing was executed
        tables = {r[0] for r in con.execute("SELECT name FROM sqlite_master WHERE type='table'")}
    assert "socialmap_workspace" in tables
    with pytest.raises(WorkspaceError, match="over 1000"):
        workspace.save(path, scenarios=[Scenario("x" * 5000)])


# ---- hostile and damaged files ------------------------------------------------------------------


def _clear(exc: BaseException, path: Path) -> None:
    text = str(exc)
    assert str(path) in text, text
    assert "Traceback" not in text


def test_missing_folder_empty_and_foreign_files(tmp_path, demo):
    for path, content in [
        (tmp_path / "empty.gpkg", b""),
        (tmp_path / "text.gpkg", b"area_id,population\nKS-01,100\n"),
        (tmp_path / "zip.gpkg", b"PK\x03\x04" + b"\x00" * 200),
    ]:
        path.write_bytes(content)
        with pytest.raises(WorkspaceError, match="not a GeoPackage") as err:
            workspace.load(path)
        _clear(err.value, path)
    with pytest.raises(WorkspaceError, match="not found"):
        workspace.load(tmp_path / "nope.gpkg")
    with pytest.raises(WorkspaceError, match="is a folder"):
        workspace.load(tmp_path)
    plain_sqlite = tmp_path / "plain.gpkg"
    with closing(sqlite3.connect(plain_sqlite)) as con, con:
        con.execute("CREATE TABLE t (a)")
    with pytest.raises(WorkspaceError, match="not a GeoPackage") as err:
        workspace.load(plain_sqlite)
    _clear(err.value, plain_sqlite)
    foreign = tmp_path / "areas.gpkg"
    demo.areas.to_file(foreign, driver="GPKG", layer="areas")
    with pytest.raises(WorkspaceError, match="not a socialmap workspace") as err:
        workspace.load(foreign)
    _clear(err.value, foreign)


def test_truncated_files_are_a_clear_error(demo, tmp_path):
    good = _full(demo, tmp_path / "good.gpkg").read_bytes()
    cut = tmp_path / "cut.gpkg"
    for length in [16, 99, 100, 1024, 4096, len(good) // 3, len(good) // 2, len(good) - 4096, len(good) - 1]:
        cut.write_bytes(good[:length])
        with pytest.raises(WorkspaceError) as err:
            workspace.load(cut)
        _clear(err.value, cut)


def test_flipped_bytes_never_crash(demo, tmp_path):
    good = workspace.save(tmp_path / "good.gpkg", demo="kosovo", scenarios=_scenarios(demo)).read_bytes()
    rng = np.random.default_rng(17)
    bad = tmp_path / "bad.gpkg"
    outcomes = {"error": 0, "read": 0}
    for _ in range(40):
        data = bytearray(good)
        for pos in rng.integers(0, len(data), size=int(rng.integers(1, 30))):
            data[pos] = int(rng.integers(0, 256))
        bad.write_bytes(bytes(data))
        try:
            workspace.load(bad)
            outcomes["read"] += 1  # a flip in unused space changes nothing
        except SocialMapError as exc:
            _clear(exc, bad)
            outcomes["error"] += 1
    assert outcomes["error"] > 0, outcomes


def _edit(path: Path, sql: str, *params) -> None:
    with closing(sqlite3.connect(path)) as con, con:
        con.execute(sql, params)


@pytest.mark.parametrize(
    ("value", "match"),
    [("99", "newer socialmap"), ("0", "no valid schema version"), ("one", "no valid schema version")],
)
def test_other_schema_versions_are_refused(tmp_path, value, match):
    path = workspace.save(tmp_path / "w.gpkg", demo="kosovo")
    _edit(path, "UPDATE socialmap_workspace SET value = ? WHERE key = 'schema_version'", value)
    with pytest.raises(WorkspaceError, match=match) as err:
        workspace.load(path)
    _clear(err.value, path)


def test_broken_tables_are_a_clear_error(demo, tmp_path):
    cases = [
        ("UPDATE socialmap_workspace SET value = ? WHERE key = 'options'", ("[" * 100_000,), "options"),
        (
            "UPDATE socialmap_workspace SET value = ? WHERE key = 'options'",
            ('{"method": "magic"}',),
            "options",
        ),
        ("UPDATE socialmap_workspace SET value = ? WHERE key = 'view'", ('{"secret": "x"}',), "view"),
        ("UPDATE socialmap_workspace SET value = ? WHERE key = 'view'", ("not json",), "view"),
        ("UPDATE socialmap_scenarios SET name = ? WHERE position = 2", ("two day centres",), "unique name"),
        ("UPDATE socialmap_edits SET action = ? WHERE step = 1", ("explode",), "socialmap_edits"),
        ("UPDATE socialmap_edits SET x = ? WHERE action = 'add'", (None,), "socialmap_edits"),
        ("UPDATE socialmap_costing SET standard = ?", ("lots",), "socialmap_costing"),
        ("UPDATE socialmap_costing SET scenario = ?", ("ghost",), "socialmap_costing"),
        ("UPDATE socialmap_mappings SET upload = ?", (b"\x00\xff",), "socialmap_mappings"),
        ("ALTER TABLE socialmap_scenarios DROP COLUMN description", (), "no column 'description'"),
        ("DROP TABLE socialmap_costing", (), "not a socialmap workspace"),
    ]
    good = _full(demo, tmp_path / "good.gpkg").read_bytes()
    for sql, params, match in cases:
        path = tmp_path / "w.gpkg"
        path.write_bytes(good)
        _edit(path, sql, *params)
        with pytest.raises(WorkspaceError, match=match) as err:
            workspace.load(path)
        _clear(err.value, path)


def test_a_hostile_taxonomy_goes_through_the_taxonomy_checks(demo, tmp_path):
    path = _full(demo, tmp_path / "w.gpkg")
    bomb = 'a: &a ["x","x","x","x","x","x","x","x","x"]\n' + "".join(
        f"{c}: &{c} [*{p},*{p},*{p},*{p},*{p},*{p},*{p},*{p},*{p}]\n"
        for p, c in zip("abcdefgh", "bcdefghi", strict=True)
    )
    _edit(path, "UPDATE socialmap_workspace SET value = ? WHERE key = 'taxonomy_yaml'", bomb)
    with pytest.raises(TaxonomyError) as err:
        workspace.load(path)
    _clear(err.value, path)


def test_a_hostile_input_layer_goes_through_the_loaders(demo, tmp_path):
    path = _full(demo, tmp_path / "w.gpkg")
    services = demo.services.copy()
    services.loc[0, "service_type"] = "'; DROP TABLE x; --"
    services.to_file(path, layer="services", driver="GPKG", mode="w")
    with pytest.raises(SocialMapError) as err:
        workspace.load(path)
    _clear(err.value, path)


# ---- a writer killed while it writes ------------------------------------------------------------

_WRITER = textwrap.dedent(
    """
    import sys, warnings
    warnings.simplefilter("ignore")
    from socialmap import workspace
    from socialmap.datasets import load_demo
    from socialmap.scenario import Scenario
    d = load_demo("kosovo")
    path = sys.argv[1]
    workspace.save(path, demo="kosovo", areas=d.areas, services=d.services, scenarios=[Scenario("good")])
    print("saved", flush=True)
    i = 0
    while True:
        i += 1
        workspace.save(path, demo="kosovo", areas=d.areas, services=d.services,
                       scenarios=[Scenario(f"later {i}")])
    """
)


def _kill_while_writing(proc: subprocess.Popen, path: Path) -> None:
    try:
        assert proc.stdout is not None
        line = proc.stdout.readline()
        assert line.strip() == "saved", proc.stderr.read() if proc.stderr else ""
        for delay in (0.05, 0.13, 0.21):
            time.sleep(delay)
            proc.send_signal(signal.SIGSTOP)  # frozen mid-write: a reader sees a complete file
            try:
                names = [s.name for s in workspace.load(path).scenarios]
            finally:
                proc.send_signal(signal.SIGCONT)
            assert names == ["good"] or (len(names) == 1 and names[0].startswith("later ")), names
        time.sleep(0.17)
    finally:
        proc.kill()
        proc.wait(timeout=30)


def test_a_killed_writer_leaves_the_last_good_state(tmp_path):
    path = tmp_path / "w.gpkg"
    with subprocess.Popen(
        [sys.executable, "-c", _WRITER, str(path)], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
    ) as proc:
        _kill_while_writing(proc, path)
    ws = workspace.load(path)
    assert len(ws.scenarios) == 1 and ws.scenarios[0].name in {"good"} | {f"later {i}" for i in range(10_000)}
    pd.testing.assert_series_equal(
        ws.areas.geometry.normalize().reset_index(drop=True),
        load_demo("kosovo").areas.geometry.normalize().reset_index(drop=True),
        check_names=False,
    )
    # only the workspace (and at most a scratch folder of the killed write, hidden) is in the folder
    visible = [p.name for p in tmp_path.iterdir() if not p.name.startswith(".")]
    assert visible == ["w.gpkg"]


def test_geometry_types_kept(tmp_path):
    areas = gpd.GeoDataFrame(
        {"area_id": ["A"], "name": ["A"]}, geometry=[shapely.box(20, 42, 21, 43)], crs="EPSG:4326"
    )
    path = workspace.save(tmp_path / "w.gpkg", areas=areas, demo="kosovo")
    got = workspace.load(path).areas
    assert got.crs == areas.crs and got.geometry.iloc[0].equals(areas.geometry.iloc[0])
    assert json.loads(json.dumps(list(got.columns)))[:2] == ["area_id", "name"]


# ---- every failure is a clear, translated error (never a library's exception) -------------------


def _clear_in_every_language(exc: BaseException, path: Path) -> None:
    """The error names the file and reads in sq and sr, with no English detail left in it."""
    from socialmap.errors import message

    _clear(exc, path)
    english = message(exc, "en")
    for lang in ("sq", "sr"):
        text = message(exc, lang)
        assert str(path) in text and text != english, (lang, text)
        for detail in ("truncated", "cut off", "not UTF-8", "integrity", "malformed", "database", "Error"):
            assert detail not in text, (lang, detail, text)


def test_damage_details_are_translated(demo, tmp_path):
    good = _full(demo, tmp_path / "good.gpkg").read_bytes()
    cut = tmp_path / "cut.gpkg"
    cut.write_bytes(good[: len(good) // 2])
    with pytest.raises(WorkspaceError, match="cut off") as err:
        workspace.load(cut)
    _clear_in_every_language(err.value, cut)
    # a page SQLite cannot read: its own (English) words never reach the person
    bad = tmp_path / "bad.gpkg"
    data = bytearray(good)
    data[100:4096] = b"\xff" * (4096 - 100)
    bad.write_bytes(bytes(data))
    with pytest.raises(WorkspaceError) as err:
        workspace.load(bad)
    _clear_in_every_language(err.value, bad)
    # a table that breaks the schema: the detail translates too
    broken = tmp_path / "broken.gpkg"
    broken.write_bytes(good)
    _edit(broken, "ALTER TABLE socialmap_scenarios DROP COLUMN description")
    with pytest.raises(WorkspaceError, match="no column 'description'") as err:
        workspace.load(broken)
    _clear_in_every_language(err.value, broken)


def _hostile_geopackage(path: Path, demo) -> Path:
    """A GeoPackage whose contents list layers with hostile names, and one that is not there."""
    demo.areas.head(2).to_file(path, driver="GPKG", layer='x"; DROP TABLE gpkg_contents; --')
    with closing(sqlite3.connect(path)) as con, con:
        for name in ("areas", "services", "'; SELECT 1; --", "\x00", "a" * 5000):
            con.execute(
                "INSERT INTO gpkg_contents (table_name, data_type, identifier) VALUES (?, 'features', ?)",
                (name, name),
            )
        for table in ("socialmap_workspace", "socialmap_mappings", "socialmap_scenarios"):
            con.execute(
                f'CREATE TABLE "{table}" (key, value, upload, their_column, our_column, position, name, '
                "description)"
            )
        con.execute(
            'CREATE TABLE "socialmap_edits" (position, scenario, step, action, service_id, service_type, '
            "name, capacity, x, y, crs)"
        )
        con.execute('CREATE TABLE "socialmap_costing" (scenario, service_type, standard, unit_cost)')
        con.execute("INSERT INTO socialmap_workspace (key, value) VALUES ('schema_version', '1')")
    return path


def test_foreign_and_hostile_files_are_clear_errors(demo, tmp_path, monkeypatch):
    import zipfile

    from socialmap import settings

    rng = np.random.default_rng(2026)
    header = workspace.save(tmp_path / "good.gpkg", demo="kosovo").read_bytes()[:100]
    zipped = tmp_path / "zipped.gpkg"
    with zipfile.ZipFile(zipped, "w") as zf:
        zf.writestr("areas.geojson", '{"type": "FeatureCollection", "features": []}')
    cases = {
        "empty.gpkg": b"",
        "random.gpkg": rng.integers(0, 256, 50_000, dtype=np.uint8).tobytes(),
        "random_with_header.gpkg": header + rng.integers(0, 256, 8192 - 100, dtype=np.uint8).tobytes(),
        "zipped.gpkg": zipped.read_bytes(),
        "text.gpkg": "ëç;šđ\n1;2,5\n".encode("utf-16"),
    }
    for name, content in cases.items():
        path = tmp_path / name
        path.write_bytes(content)
        with pytest.raises(WorkspaceError) as err:
            workspace.load(path)
        _clear_in_every_language(err.value, path)
    hostile = _hostile_geopackage(tmp_path / "hostile.gpkg", demo)
    with pytest.raises(WorkspaceError) as err:
        workspace.load(hostile)
    _clear_in_every_language(err.value, hostile)
    huge = tmp_path / "huge.gpkg"
    huge.write_bytes(header + b"\x00" * 10_000)
    monkeypatch.setattr(settings, "max_workspace_bytes", 5_000)
    with pytest.raises(WorkspaceError, match="more than the limit") as err:
        workspace.load(huge)
    _clear(err.value, huge)


def test_an_unexpected_failure_inside_is_a_clear_error(demo, tmp_path, monkeypatch):
    """Whatever a library raises while a workspace is read ends as a WorkspaceError naming the file."""
    from socialmap import io

    path = _full(demo, tmp_path / "w.gpkg")

    def boom(*args, **kwargs):
        raise KeyError("an internal detail")

    monkeypatch.setattr(io, "read_areas", boom)
    with pytest.raises(WorkspaceError, match="cannot be read as a workspace") as err:
        workspace.load(path)
    _clear_in_every_language(err.value, path)
    assert "internal detail" not in str(err.value) and isinstance(err.value.__cause__, KeyError)
