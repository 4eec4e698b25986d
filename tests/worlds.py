"""The small synthetic world several test files work by hand.

Four 10 km squares in a metric CRS: ``a | b`` on the bottom row, ``c | d`` on top, whose
representative points are the squares' centres (5 km, 5 km), (15 km, 5 km), (5 km, 15 km), (15 km, 15 km);
1,000, 3,000, 0 and 2,000 residents. Each test file brings its own taxonomy (written as YAML text).
"""

from __future__ import annotations

import textwrap
from pathlib import Path

import geopandas as gpd
import pandas as pd
from shapely.geometry import box

from socialmap import load_taxonomy
from socialmap.taxonomy import Taxonomy

CRS = "EPSG:32634"
#: Residents of a, b, c and d.
POPULATION = (1000.0, 3000.0, 0.0, 2000.0)


def square_areas(crs: str = CRS) -> gpd.GeoDataFrame:
    """The four squares a, b, c, d (named A–D)."""
    return gpd.GeoDataFrame(
        {"area_id": list("abcd"), "name": ["A", "B", "C", "D"]},
        geometry=[box(0, 0, 1e4, 1e4), box(1e4, 0, 2e4, 1e4), box(0, 1e4, 1e4, 2e4), box(1e4, 1e4, 2e4, 2e4)],
        crs=crs,
    )


def square_population(year: int | None = None) -> pd.DataFrame:
    """Residents per square, with a ``year`` column when one is given."""
    frame = pd.DataFrame({"area_id": list("abcd"), "population": list(POPULATION)})
    return frame if year is None else frame.assign(year=year)


def taxonomy_from_text(tmp_path: Path, text: str) -> Taxonomy:
    """Write a taxonomy given as YAML text to ``tmp_path`` and load it."""
    path = tmp_path / "taxonomy.yaml"
    path.write_text(textwrap.dedent(text), encoding="utf-8")
    return load_taxonomy(path)
