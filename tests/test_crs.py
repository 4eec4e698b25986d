"""The working CRS keeps distances true where the data is, whatever CRS the files come in.

Areas exported from web tools are often in Web Mercator (EPSG:3857), whose metres are 1/cos(latitude)
ground metres: at Kosovo's latitude (42-43° N) a "10 km" catchment measured in it is about 7.3 km on the
ground. The analysis must not measure there.
"""

from __future__ import annotations

import math

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
from shapely.geometry import box

import socialmap
from socialmap import crs as smcrs
from socialmap import settings
from socialmap.datasets import load_demo
from socialmap.errors import CRSError

DEMO_CRSS = ("EPSG:4326", "EPSG:3857", "EPSG:32634")


def _square(crs: str, x: float, y: float, side: float) -> gpd.GeoDataFrame:
    return gpd.GeoDataFrame({"area_id": ["a"]}, geometry=[box(x, y, x + side, y + side)], crs=crs)


def test_web_mercator_distorts_by_one_over_cos_latitude_at_kosovo():
    """Web Mercator's scale at latitude φ is 1/cos φ (independently of PROJ): over 42.0-42.9° N the
    largest error is 1/cos(42.9°) - 1."""
    areas = _square("EPSG:4326", 20.0, 42.0, 0.9).to_crs("EPSG:3857")
    expected = 1 / math.cos(math.radians(42.9)) - 1
    assert smcrs.distance_scale_error(areas) == pytest.approx(expected, rel=1e-3)
    assert expected > 0.36


def test_utm_inside_its_zone_distorts_by_at_most_its_central_scale():
    """UTM's scale is 0.9996 on the central meridian (21° E for zone 34) and grows away from it."""
    areas = _square("EPSG:4326", 20.9, 42.0, 0.2).to_crs("EPSG:32634")
    assert smcrs.distance_scale_error(areas) == pytest.approx(0.0004, abs=2e-6)


def test_geographic_and_non_metre_crss_have_no_distance_scale():
    assert smcrs.distance_scale_error(_square("EPSG:4326", 20, 42, 1)) == math.inf
    feet = _square("EPSG:4326", -100, 40, 1).to_crs("EPSG:2227")  # California zone 3, US feet
    assert smcrs.distance_scale_error(feet) == math.inf


@pytest.mark.parametrize("source", ["EPSG:4326", "EPSG:3857", "EPSG:32633", "EPSG:3035"])
def test_a_distorting_crs_is_replaced_by_the_utm_zone(source):
    """Web Mercator, longitude/latitude, a neighbouring UTM zone 6° away and Europe's equal-area grid
    (0.5 % off at Kosovo) all give way to UTM 34N for data around 21° E."""
    areas = _square("EPSG:4326", 20.0, 42.0, 1.8).to_crs(source)
    if source == "EPSG:32633":
        assert smcrs.distance_scale_error(areas) > settings.work_crs_max_scale_error
    assert smcrs.work_crs_for(areas) == "EPSG:32634"


def test_a_crs_that_keeps_distances_true_is_kept():
    areas = _square("EPSG:4326", 20.5, 42.0, 0.5).to_crs("EPSG:32634")
    assert smcrs.work_crs_for(areas) == "EPSG:32634"
    national = _square("EPSG:4326", 20.5, 42.0, 0.5).to_crs("EPSG:3909")  # MGI 1901 / Balkans zone 7
    assert smcrs.work_crs_for(national) == "EPSG:3909"


def test_an_explicit_work_crs_is_used_as_it_is(monkeypatch):
    areas = _square("EPSG:4326", 20.0, 42.0, 1.0)
    assert smcrs.work_crs_for(areas, "EPSG:3035") == "EPSG:3035"
    monkeypatch.setattr(settings, "work_crs", "EPSG:3909")
    assert smcrs.work_crs_for(areas) == "EPSG:3909"


def test_data_beyond_utm_reach_asks_for_a_work_crs():
    polar = _square("EPSG:4326", 10.0, 86.0, 1.0)
    with pytest.raises(CRSError, match="settings.work_crs"):
        smcrs.work_crs_for(polar)


def test_web_mercator_areas_no_longer_shrink_the_catchment():
    """One area, one service 9 km east of the area's only demand point, catchment 10 km: covered. Measured
    in Web Mercator the 9 km would be 12.2 km (1/cos 42.5°) and the need would count as uncovered."""
    lon0, lat0 = 20.9, 42.5
    areas = gpd.GeoDataFrame(
        {"area_id": ["a"], "name": ["A"]},
        geometry=[box(lon0 - 0.01, lat0 - 0.01, lon0 + 0.01, lat0 + 0.01)],
        crs="EPSG:4326",
    )
    utm = areas.to_crs("EPSG:32634")
    centre = utm.geometry.iloc[0].centroid
    services = gpd.GeoDataFrame(
        {"service_id": ["s"], "name": ["S"], "service_type": ["csw"], "capacity": [10.0]},
        geometry=gpd.points_from_xy([centre.x + 9000], [centre.y]),
        crs="EPSG:32634",
    )
    population = pd.DataFrame({"area_id": ["a"], "population": [1000.0]})
    for frame_crs in ("EPSG:4326", "EPSG:3857"):
        res = socialmap.analyze(
            areas.to_crs(frame_crs),
            services.to_crs(frame_crs),
            population,
            spreading="representative",
            catchment_m=10_000,
            service_types=("csw",),
        )
        assert res.provenance["crs"] == "EPSG:32634"
        assert res.table["covered_share"].iloc[0] == pytest.approx(1.0)


@pytest.fixture(scope="module")
def demo_tables(tmp_path_factory) -> dict[str, pd.DataFrame]:
    """The demo's areas and services written as GeoPackages in each CRS, analysed from the files."""
    demo = load_demo("kosovo")
    folder = tmp_path_factory.mktemp("crs")
    population = folder / "population.csv"
    demo.population.to_csv(population, index=False)
    tables = {}
    for crs in DEMO_CRSS:
        tag = crs.replace(":", "_")
        areas, services = folder / f"areas_{tag}.gpkg", folder / f"services_{tag}.gpkg"
        demo.areas.to_crs(crs).to_file(areas, driver="GPKG")
        demo.services.to_crs(crs).to_file(services, driver="GPKG")
        with pytest.warns(UserWarning):  # the demo's unknown capacities
            res = socialmap.analyze(areas, services, population, taxonomy=demo.taxonomy)
        assert res.provenance["crs"] == "EPSG:32634"
        tables[crs] = pd.DataFrame(res.table.drop(columns="geometry"))
    return tables


@pytest.mark.parametrize("crs", DEMO_CRSS[1:])
def test_the_demo_gives_the_same_table_in_any_crs(demo_tables, crs):
    reference, other = demo_tables["EPSG:4326"], demo_tables[crs]
    assert list(other.columns) == list(reference.columns)
    assert len(other) == len(reference) == 38 * 7
    numeric = [c for c in reference.columns if pd.api.types.is_numeric_dtype(reference[c])]
    assert {"need", "covered_share", "gap_score", "access", "unmet_need"} <= set(numeric)
    text = [c for c in reference.columns if c not in numeric]
    pd.testing.assert_frame_equal(other[text], reference[text])
    np.testing.assert_allclose(
        other[numeric].to_numpy(float), reference[numeric].to_numpy(float), rtol=1e-9, atol=1e-9
    )
