"""The wheel carries the package data: taxonomy, aliases and the demo."""

from __future__ import annotations

import subprocess
import sys
import zipfile
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]


def test_wheel_contains_the_package_data(tmp_path):
    done = subprocess.run(
        [
            sys.executable,
            "-m",
            "pip",
            "wheel",
            "--quiet",
            "--no-deps",
            "--no-build-isolation",
            str(REPO),
            "-w",
            str(tmp_path),
        ],
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert done.returncode == 0, done.stderr
    (wheel,) = tmp_path.glob("socialmap-*.whl")
    names = set(zipfile.ZipFile(wheel).namelist())
    for required in (
        "socialmap/py.typed",
        "socialmap/taxonomies/kosovo.yaml",
        "socialmap/data/aliases_kosovo.csv",
        "socialmap/_demo_data/boundaries/kosovo_municipalities.geojson",
        "socialmap/_demo_data/services/kosovo_services.csv",
        "socialmap/_demo_data/population/kosovo_population_2024.csv",
        "socialmap/_demo_data/README.md",
        "socialmap/locales/sq/LC_MESSAGES/socialmap.po",
        "socialmap/locales/sr/LC_MESSAGES/socialmap.po",
    ):
        assert required in names, required
    entry_points = (
        zipfile.ZipFile(wheel).read(next(n for n in names if n.endswith("entry_points.txt"))).decode()
    )
    assert "socialmap = socialmap.cli:main" in entry_points
