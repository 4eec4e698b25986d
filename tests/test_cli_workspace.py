"""The command line with workspaces: ``analyze/scenario --workspace`` and ``--save-workspace``."""

from __future__ import annotations

import os
import subprocess
import sys
import warnings
from pathlib import Path

import pandas as pd

from socialmap import store, views, workspace
from socialmap.datasets import demo_files

DATA = Path(__file__).parent / "data"
FILES = demo_files("kosovo")


def run(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "socialmap.cli", *args],
        capture_output=True,
        text=True,
        env={**os.environ, "SOCIALMAP_LANG": "en"},
        timeout=600,
    )


OWN = [
    "--areas",
    str(FILES["areas"]),
    "--services",
    str(FILES["services"]),
    "--population",
    str(FILES["population"]),
    "--spreading",
    "representative",
]


def test_analyze_saves_a_workspace_that_gives_the_same_tables(tmp_path):
    ws = tmp_path / "w.gpkg"
    first = run("analyze", *OWN, "--out", str(tmp_path / "a"), "--save-workspace", str(ws))
    assert first.returncode == 0, first.stderr
    assert "never publish it" in first.stdout
    again = run("analyze", "--workspace", str(ws), "--out", str(tmp_path / "b"))
    assert again.returncode == 0, again.stderr
    assert (tmp_path / "a" / "areas.csv").read_bytes() == (tmp_path / "b" / "areas.csv").read_bytes()
    # the library reads the workspace to the same analysis as the files themselves
    from socialmap.pipeline import analyze

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        got = workspace.load(ws).analyze().table
        want = analyze(
            FILES["areas"], FILES["services"], FILES["population"], spreading="representative"
        ).table
    pd.testing.assert_frame_equal(got, want)
    assert workspace.load(ws).options == {"spreading": "representative"}


def test_scenario_with_a_workspace_runs_its_scenarios(tmp_path):
    edits = tmp_path / "two_more.csv"
    edits.write_text(
        "action,service_id,service_type,capacity,lon,lat\nadd,,csw,30,21.16,42.37\n", encoding="utf-8"
    )
    ws = tmp_path / "w.gpkg"
    first = run(
        "scenario",
        "--demo",
        "kosovo",
        "--edits",
        str(edits),
        "--out",
        str(tmp_path / "a"),
        "--save-workspace",
        str(ws),
    )
    assert first.returncode == 0, first.stderr
    assert [s.name for s in workspace.load(ws).scenarios] == ["two_more"]
    again = run("scenario", "--workspace", str(ws), "--out", str(tmp_path / "b"))
    assert again.returncode == 0, again.stderr
    for name in ("scenarios_total.csv", "scenarios_by_area.csv"):
        assert (tmp_path / "a" / name).read_bytes() == (tmp_path / "b" / name).read_bytes(), name


def test_workspace_errors_are_messages_with_exit_code_2(tmp_path):
    ws = tmp_path / "w.gpkg"
    workspace.save(ws, demo="kosovo")
    cases = [
        (("analyze", "--workspace", str(tmp_path / "nope.gpkg"), "--out", str(tmp_path)), "not found"),
        (
            ("analyze", "--workspace", str(ws), "--method", "e2sfca", "--out", str(tmp_path)),
            "leave out --method",
        ),
        (("analyze", "--workspace", str(DATA / "areas.geojson"), "--out", str(tmp_path)), "not a GeoPackage"),
        (("scenario", "--workspace", str(ws), "--out", str(tmp_path)), "No scenario to run"),
    ]
    for args, message in cases:
        done = run(*args)
        assert done.returncode == 2, (args, done.stderr)
        assert message in done.stderr and "Traceback" not in done.stderr, done.stderr
    sq = run("analyze", "--workspace", str(tmp_path / "nope.gpkg"), "--out", str(tmp_path), "--lang", "sq")
    assert sq.returncode == 2 and "nope.gpkg" in sq.stderr and "not found" not in sq.stderr, sq.stderr


def test_the_column_mapping_is_kept_in_the_workspace(tmp_path):
    ws = tmp_path / "w.gpkg"
    mapping = "ID=service_id,Emri=name,Lloji=service_type,Kapaciteti=capacity,Lat=lat,Lon=lon"
    own = ["--areas", str(DATA / "areas.geojson"), "--services", str(DATA / "services.csv")]
    own += ["--population", str(DATA / "population.csv"), "--spreading", "representative"]
    first = run(
        "analyze", *own, "--columns", mapping, "--out", str(tmp_path / "a"), "--save-workspace", str(ws)
    )
    assert first.returncode == 0, first.stderr
    kept = workspace.load(ws)
    assert kept.mappings == {
        "services": {
            "ID": "service_id",
            "Emri": "name",
            "Lloji": "service_type",
            "Kapaciteti": "capacity",
            "Lat": "lat",
            "Lon": "lon",
        }
    }
    assert kept.services.iloc[0][["service_id", "capacity"]].tolist() == ["S1", 12.0]  # the file's first row
    again = run("analyze", "--workspace", str(ws), "--out", str(tmp_path / "b"))
    assert again.returncode == 0, again.stderr
    assert (tmp_path / "a" / "areas.csv").read_bytes() == (tmp_path / "b" / "areas.csv").read_bytes()


def _same_figures(shown, csv, skip=()):
    """Compare every column the app's table and areas.csv share (by the app's label); return their keys."""
    import numpy as np

    from socialmap import views

    shown = shown.set_index("Municipality")
    csv = csv.set_index("name_en").reindex(shown.index)
    assert csv.index.notna().all() and len(shown) == 38
    compared = []
    for col in csv.columns:
        label = views.label(col, "en")
        if label not in shown.columns or label == "Municipality" or col in skip:
            continue
        app_values = pd.to_numeric(shown[label], errors="coerce")
        cli_values = pd.to_numeric(csv[col], errors="coerce")
        if col == "covered_share":  # a share in the file, a percent in the app
            cli_values = cli_values * 100
        assert (app_values.isna() == cli_values.isna()).all(), col
        # areas.csv is rounded for publication (0.1 for a gap score): compare within its rounding
        np.testing.assert_allclose(app_values, cli_values, rtol=1e-3, atol=0.051, equal_nan=True, err_msg=col)
        compared.append(col)
    return compared


def test_analyze_with_the_apps_workspace_gives_the_apps_table(tmp_path):
    """
    The workspace the app itself writes (an upload with a mapped column, options), read by the CLI:
    its areas.csv holds the same figures as the app's Ranking table, column by column.
    """
    from test_app_workspace import run as run_app
    from test_app_workspace import saved_workspace, the_store

    ws_id = store.new_id()
    saved_workspace(ws_id, lang="en", service_type="residential_elderly")
    at = run_app({"ws": ws_id})
    at.radio(key="method").set_value("2sfca").run()  # a change: the app writes the workspace itself
    assert not at.exception
    at.session_state["view"] = at.tabs[1].label  # the Ranking tab, as the app shows it
    at.run()
    assert not at.exception and not at.error, [e.value for e in at.error]
    one_type = at.tabs[1].dataframe[0].value
    at.selectbox(key="service_type").set_value(views.ALL_TYPES).run()
    assert not at.exception
    all_types = at.tabs[1].dataframe[0].value
    file = the_store().path(ws_id)
    assert workspace.load(file).options["method"] == "2sfca"
    done = run("analyze", "--workspace", str(file), "--out", str(tmp_path / "out"))
    assert done.returncode == 0, done.stderr
    csv = pd.read_csv(tmp_path / "out" / "areas.csv", encoding="utf-8-sig", dtype={"area_id": str})
    elderly = csv[csv["service_type"] == "residential_elderly"]
    assert set(elderly["method"]) == {"2sfca"} and set(elderly["catchment_m"]) == {7000}
    # One service type: its figures. (areas.csv's "rank" is the rank by composite gap, the app's
    # rank of one type is by that type's gap: they are compared below, in the all-types view.)
    compared = _same_figures(one_type, elderly, skip=("rank",))
    assert {"gap_score", "need", "supply", "unmet_need", "covered_share", "services"} <= set(compared)
    assert len(compared) >= 10, (compared, list(one_type.columns))
    # All types: the composite gap and its rank (the same in every row of an area).
    composite = csv.drop_duplicates("area_id")
    assert {"composite_gap", "rank"} <= set(_same_figures(all_types, composite)), list(all_types.columns)
