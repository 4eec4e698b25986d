"""The command line with workspaces: ``analyze/scenario --workspace`` and ``--save-workspace``."""

from __future__ import annotations

import os
import subprocess
import sys
import warnings
from pathlib import Path

import pandas as pd

from socialmap import workspace
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
