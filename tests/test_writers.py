"""One writer per format: every GeoPackage the project writes goes through export.write_gpkg / gpkg_bytes."""

from __future__ import annotations

import geopandas as gpd
import pandas as pd
import pyogrio
import pytest
from shapely.geometry import Point

from socialmap import export, views
from socialmap.app.store import _gpkg_bytes


def _frame(crs: str = "EPSG:32634") -> gpd.GeoDataFrame:
    return gpd.GeoDataFrame(
        {
            "service_id": ["a", "b", "c"],
            "name": ['=HYPERLINK("x")', "Qendra", "+1 dita"],
            "capacity": [10.0, None, 3.5],
            "open": [True, False, True],
        },
        geometry=[Point(500_000, 4_700_000), Point(510_000, 4_705_000), Point(520_000, 4_690_000)],
        crs=crs,
    )


def _read(data: bytes, tmp_path, layer: str) -> gpd.GeoDataFrame:
    path = tmp_path / f"{layer}-back.gpkg"
    path.write_bytes(data)
    return pyogrio.read_dataframe(path, layer=layer)


def test_published_gpkg_is_lon_lat_with_formulas_neutralised(tmp_path):
    frame = _frame()
    back = _read(export.gpkg_bytes({"services": frame}), tmp_path, "services")
    assert back.crs.to_epsg() == 4326
    # the text a spreadsheet would run starts with a quote; the rest is as given
    assert back["name"].tolist() == ['\'=HYPERLINK("x")', "Qendra", "'+1 dita"]
    assert back["capacity"].tolist()[0] == 10.0 and pd.isna(back["capacity"][1])
    assert back["open"].tolist() == [True, False, True]
    # 500,000 m E in UTM 34N is its central meridian, 21 deg E
    assert back.geometry.x[0] == pytest.approx(21.0, abs=1e-9)
    expected = frame.to_crs("EPSG:4326").geometry
    assert back.geometry.geom_equals_exact(expected, tolerance=1e-9).all()


def test_app_download_is_the_export_writer(tmp_path):
    frame = _frame()
    data = views.gpkg_bytes({"services": frame, "empty": frame.iloc[:0]})
    path = tmp_path / "download.gpkg"
    path.write_bytes(data)
    assert list(pyogrio.list_layers(path)[:, 0]) == ["services"]  # the empty layer is left out
    direct = _read(export.gpkg_bytes({"services": frame}), tmp_path, "services")
    pd.testing.assert_frame_equal(pyogrio.read_dataframe(path, layer="services"), direct)


def test_workspace_layer_is_kept_as_it_is(tmp_path):
    frame = _frame()
    back = _read(_gpkg_bytes(frame, "services"), tmp_path, "services")
    assert back.crs.to_epsg() == 32634  # its own CRS
    assert back["name"].tolist() == frame["name"].tolist()  # its own text, not neutralised
    assert back.geometry.geom_equals_exact(frame.geometry, tolerance=1e-6).all()
    table = pd.DataFrame({"area_id": ["01", "02"], "persons": [5, 7]})  # a table without geometry
    back = _read(_gpkg_bytes(table, "population"), tmp_path, "population")
    assert back["area_id"].tolist() == ["01", "02"] and back["persons"].tolist() == [5, 7]
