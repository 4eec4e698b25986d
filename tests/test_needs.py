"""Spreading area counts onto demand points, and summing them back (socialmap.needs).

Synthetic fixtures in UTM 34N (EPSG:32634), expectations worked out by hand.
"""

from __future__ import annotations

import math
import time
import warnings
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
import rasterio
from affine import Affine
from geopandas.testing import assert_geodataframe_equal
from shapely import MultiPoint, MultiPolygon, Point, Polygon, box, union_all

from socialmap import needs
from socialmap.errors import CRSError, DataSourceError, SocialMapError, ValidationError

CRS = "EPSG:32634"
X0, Y0 = 500_000.0, 4_700_000.0  # a corner on the 1 km grid


def make_areas(geoms, pops, ids=None, crs=CRS, column="population") -> gpd.GeoDataFrame:
    ids = ids or [chr(ord("a") + i) for i in range(len(geoms))]
    return gpd.GeoDataFrame({"area_id": ids, "name": ids, column: pops}, geometry=list(geoms), crs=crs)


@pytest.fixture
def grid4() -> gpd.GeoDataFrame:
    """2×2 grid of 1 km squares: a (SW), b (SE), c (NW), d (NE) with 100, 200, 300, 400 people."""
    cells = [
        box(X0, Y0, X0 + 1000, Y0 + 1000),
        box(X0 + 1000, Y0, X0 + 2000, Y0 + 1000),
        box(X0, Y0 + 1000, X0 + 1000, Y0 + 2000),
        box(X0 + 1000, Y0 + 1000, X0 + 2000, Y0 + 2000),
    ]
    return make_areas(cells, [100, 200, 300, 400])


def c_shape(x: float, y: float) -> Polygon:
    """A 'C' 3 km × 3 km whose centroid lies in its mouth, outside it."""
    return Polygon(
        [(x, y), (x + 3000, y), (x + 3000, y + 500), (x + 500, y + 500), (x + 500, y + 2500),
         (x + 3000, y + 2500), (x + 3000, y + 3000), (x, y + 3000)]
    )  # fmt: skip


@pytest.fixture
def irregular() -> gpd.GeoDataFrame:
    """Irregular areas: a star, a square with a hole, a two-part area, a disc, a C, a sliver."""
    star = Polygon(
        [
            (X0 + 5000 + (3000 if k % 2 == 0 else 1100) * math.cos(math.pi * k / 7),
             Y0 + 5000 + (3000 if k % 2 == 0 else 1100) * math.sin(math.pi * k / 7))
            for k in range(14)
        ]
    )  # fmt: skip
    holed = box(X0 + 9000, Y0, X0 + 13_000, Y0 + 4000).difference(
        box(X0 + 10_100, Y0 + 1100, X0 + 11_700, Y0 + 2900)
    )
    two_part = MultiPolygon(
        [box(X0, Y0 + 9000, X0 + 700, Y0 + 9400), box(X0 + 2500, Y0 + 9100, X0 + 4800, Y0 + 11_100)]
    )
    disc = Point(X0 + 16_000, Y0 + 6000).buffer(2345.6)
    sliver = box(X0 + 20_000, Y0 + 100, X0 + 20_030, Y0 + 4100)
    geoms = [star, holed, two_part, disc, c_shape(X0 + 9000, Y0 + 8000), sliver]
    return make_areas(geoms, [12_345, 999, 7, 54_321.5, 1000, 3])


def by_area(points: gpd.GeoDataFrame, column: str) -> pd.Series:
    return points.groupby("area_id")[column].sum()


# --- points_from_areas --------------------------------------------------------------------------


def test_points_from_areas_one_point_per_area_carrying_counts(grid4):
    pts = needs.points_from_areas(grid4, columns=["population"])
    assert list(pts.columns) == ["area_id", "population", "geometry"]
    assert list(pts["area_id"]) == ["a", "b", "c", "d"]
    assert pts["population"].tolist() == [100.0, 200.0, 300.0, 400.0]
    assert pts.crs == grid4.crs
    assert pts.geom_type.eq("Point").all()
    assert pts.within(grid4.geometry, align=False).all()
    # a square's representative point is its centre
    assert pts.geometry.iloc[0].equals(Point(X0 + 500, Y0 + 500))


def test_points_from_areas_representative_point_inside_where_centroid_is_not():
    areas = make_areas([c_shape(X0, Y0)], [50])
    rep = needs.points_from_areas(areas, columns="population")
    cen = needs.points_from_areas(areas, columns="population", method="centroid")
    assert rep.within(areas.geometry, align=False).all()
    assert not cen.within(areas.geometry, align=False).any()  # why the default is the representative point
    assert rep["population"].sum() == cen["population"].sum() == 50


def test_points_from_areas_irregular_all_inside_and_totals(irregular):
    pts = needs.points_from_areas(irregular, columns="population")
    assert pts.within(irregular.geometry, align=False).all()
    assert pts["population"].sum() == pytest.approx(irregular["population"].sum(), rel=1e-15)


def test_points_from_areas_does_not_mutate_input(grid4):
    before = grid4.copy()
    needs.points_from_areas(grid4, columns="population")
    assert_geodataframe_equal(grid4, before)


def test_points_from_areas_nan_count_warned_and_zero(grid4):
    grid4["population"] = grid4["population"].astype(float)
    grid4.loc[1, "population"] = np.nan
    with pytest.warns(UserWarning, match=r"missing \(NaN\) values in 'population' \(1\)") as rec:
        pts = needs.points_from_areas(grid4, columns="population")
    assert rec[0].filename == __file__  # stacklevel points at the caller
    assert pts["population"].tolist() == [100.0, 0.0, 300.0, 400.0]


def test_points_from_areas_geographic_crs():
    areas = make_areas([box(20.0, 42.0, 20.1, 42.1)], [10], crs="EPSG:4326")
    assert len(needs.points_from_areas(areas, columns="population")) == 1  # topological: any CRS
    with pytest.raises(CRSError, match="geographic"):
        needs.points_from_areas(areas, columns="population", method="centroid")


def test_points_from_areas_errors(grid4):
    with pytest.raises(ValidationError, match=r"missing column\(s\) \['need'\]; found \['area_id', 'name', "):
        needs.points_from_areas(grid4, columns=["population", "need"])
    with pytest.raises(SocialMapError, match="`method` should be"):
        needs.points_from_areas(grid4, columns="population", method="middle")
    with pytest.raises(SocialMapError, match="`areas` should be a GeoDataFrame, got DataFrame"):
        needs.points_from_areas(pd.DataFrame(grid4.drop(columns="geometry")), columns="population")
    with pytest.raises(SocialMapError, match=r"may not include \['area_id'\]"):
        needs.points_from_areas(grid4, columns=["area_id"])
    with pytest.raises(SocialMapError, match="more than once"):
        needs.points_from_areas(grid4, columns=["population", "population"])
    with pytest.raises(CRSError, match="`areas` has no CRS"):
        needs.points_from_areas(grid4.set_crs(None, allow_override=True), columns="population")


# --- checks shared by the functions that take areas ---------------------------------------------


def test_area_checks_collect_every_problem(grid4):
    bad = grid4.copy()
    bad.loc[1, "area_id"] = "a"  # duplicate
    bad.loc[2, "population"] = -5  # negative count
    bad.loc[3, "geometry"] = Point(X0, Y0)  # not a polygon
    with pytest.raises(ValidationError) as exc:
        needs.grid_from_areas(bad, columns="population", cell_size_m=1000)
    text = str(exc.value)
    assert "3 problems found" in text
    assert "duplicated 'area_id' values ['a']" in text
    assert "negative value(s) at index [2]" in text
    assert "should hold polygons, found ['Point'] at index [3]" in text


def test_area_checks_other_paths(grid4):
    no_id = grid4.drop(columns="area_id")
    with pytest.raises(ValidationError, match=r"`areas` is missing column\(s\) \['area_id'\]"):
        needs.points_from_areas(no_id, columns="population")
    missing_id = grid4.copy()
    missing_id["area_id"] = ["a", None, "c", "d"]
    with pytest.raises(ValidationError, match="missing 'area_id' at index \\[1\\]"):
        needs.points_from_areas(missing_id, columns="population")
    empty_geom = grid4.copy()
    empty_geom.loc[0, "geometry"] = Polygon()
    with pytest.raises(ValidationError, match="missing or empty geometries at index \\[0\\]"):
        needs.points_from_areas(empty_geom, columns="population")
    bowtie = grid4.copy()
    bowtie.loc[0, "geometry"] = Polygon([(X0, Y0), (X0 + 10, Y0 + 10), (X0 + 10, Y0), (X0, Y0 + 10)])
    with pytest.raises(ValidationError, match=r"invalid polygons at index \[0\]\. Fix: .*make_valid"):
        needs.grid_from_areas(bowtie, columns="population", cell_size_m=1000)
    text = grid4.copy()
    text["population"] = text["population"].astype(str)
    with pytest.raises(ValidationError, match="'population' should hold numbers"):
        needs.points_from_areas(text, columns="population")
    inf = grid4.copy()
    inf["population"] = [1.0, np.inf, 3.0, 4.0]
    with pytest.raises(ValidationError, match="infinite value"):
        needs.points_from_areas(inf, columns="population")


def test_many_bad_rows_are_summarised():
    areas = make_areas([box(X0 + i, Y0, X0 + i + 1, Y0 + 1) for i in range(8)], [-1] * 8)
    with pytest.raises(ValidationError, match=r"8 negative value\(s\) at index \[0, 1, 2, 3, 4\] and 3 more"):
        needs.points_from_areas(areas, columns="population")


# --- grid_from_areas -----------------------------------------------------------------------------


def test_grid_two_cells_share_equally():
    areas = make_areas([box(X0, Y0, X0 + 2000, Y0 + 1000)], [100])
    pts = needs.grid_from_areas(areas, columns=["population"], cell_size_m=1000)
    assert list(pts.columns) == ["area_id", "cell_area_m2", "population", "geometry"]
    assert pts["population"].tolist() == [50.0, 50.0]
    assert pts["cell_area_m2"].tolist() == [1e6, 1e6]
    assert pts.geometry.tolist() == [Point(X0 + 500, Y0 + 500), Point(X0 + 1500, Y0 + 500)]
    assert pts.crs == areas.crs
    assert list(pts.index) == [0, 1]


def test_grid_l_shape_half_covered_cell_gets_half_share():
    # 2 km × 1 km base plus a 0.5 km × 1 km arm on its western end: cells of 1, 1 and 0.5 km²,
    # 2.5 km² in all, so 250 people spread 100 / 100 / 50.
    l_shape = union_all([box(X0, Y0, X0 + 2000, Y0 + 1000), box(X0, Y0 + 1000, X0 + 500, Y0 + 2000)])
    areas = make_areas([l_shape], [250])
    pts = needs.grid_from_areas(areas, columns="population", cell_size_m=1000)
    got = {(p.x // 1000 * 1000, p.y // 1000 * 1000): (v, a) for p, v, a in
           zip(pts.geometry, pts["population"], pts["cell_area_m2"], strict=True)}  # fmt: skip
    assert got == {
        (X0, Y0): (100.0, 1e6),
        (X0 + 1000, Y0): (100.0, 1e6),
        (X0, Y0 + 1000): (50.0, 5e5),
    }
    arm = pts.geometry[pts["cell_area_m2"] == 5e5].iloc[0]
    assert box(X0, Y0 + 1000, X0 + 500, Y0 + 2000).contains(arm)  # inside the piece, not the cell centre


def test_grid_area_across_a_grid_corner():
    # 400 m × 400 m around the corner (X0+1000, Y0+1000), off centre: pieces of
    # 100×200, 300×200, 100×200 and 300×200 m² of 160,000 m², so 80 people -> 10, 30, 10, 30.
    areas = make_areas([box(X0 + 900, Y0 + 800, X0 + 1300, Y0 + 1200)], [80])
    pts = needs.grid_from_areas(areas, columns="population", cell_size_m=1000)
    assert sorted(pts["cell_area_m2"]) == pytest.approx([20_000, 20_000, 60_000, 60_000])
    west = pts.geometry.x < X0 + 1000
    np.testing.assert_allclose(pts.loc[west, "population"], [10, 10], rtol=1e-12)
    np.testing.assert_allclose(pts.loc[~west, "population"], [30, 30], rtol=1e-12)


def test_grid_area_smaller_than_a_cell_gets_one_point():
    small = box(X0 + 100, Y0 + 200, X0 + 300, Y0 + 500)
    areas = make_areas([small, box(X0, Y0 + 1000, X0 + 1000, Y0 + 2000)], [42, 10])
    pts = needs.grid_from_areas(areas, columns="population", cell_size_m=1000)
    first = pts[pts["area_id"] == "a"]
    assert len(first) == 1
    assert first["population"].iloc[0] == 42.0
    assert first["cell_area_m2"].iloc[0] == pytest.approx(60_000)
    assert small.contains(first.geometry.iloc[0])


def test_grid_2x2_fixture(grid4):
    one = needs.grid_from_areas(grid4, columns="population", cell_size_m=1000)
    assert one["population"].tolist() == [100.0, 200.0, 300.0, 400.0]
    half = needs.grid_from_areas(grid4, columns="population", cell_size_m=500)
    assert len(half) == 16
    np.testing.assert_allclose(by_area(half, "population"), [100, 200, 300, 400], rtol=1e-12)
    np.testing.assert_allclose(half["population"], np.repeat([25.0, 50.0, 75.0, 100.0], 4), rtol=1e-12)


def test_grid_origin_shifts_the_cells():
    areas = make_areas([box(X0, Y0, X0 + 2000, Y0 + 1000)], [100])
    pts = needs.grid_from_areas(areas, columns="population", cell_size_m=1000, origin=(500.0, 0.0))
    assert pts["population"].tolist() == [25.0, 50.0, 25.0]
    assert pts["cell_area_m2"].tolist() == [5e5, 1e6, 5e5]


def test_grid_conserves_totals_on_irregular_areas(irregular):
    irregular["need"] = irregular["population"] * 0.037
    pts = needs.grid_from_areas(
        irregular, columns=["population", "need"], cell_size_m=370, origin=(123.4, -56.7)
    )
    for col in ("population", "need"):
        np.testing.assert_allclose(
            by_area(pts, col).reindex(irregular["area_id"]).to_numpy(), irregular[col].to_numpy(), rtol=1e-12
        )
        assert pts[col].sum() == pytest.approx(irregular[col].sum(), rel=1e-12)
    # the pieces tile each area, and every point lies inside its own area
    np.testing.assert_allclose(
        by_area(pts, "cell_area_m2").reindex(irregular["area_id"]).to_numpy(),
        irregular.area.to_numpy(),
        rtol=1e-9,
    )
    own = irregular.set_index("area_id").geometry.loc[pts["area_id"]]
    assert pts.geometry.within(own, align=False).all()
    assert (pts["population"] >= 0).all()


def test_grid_overlapping_areas_each_conserved():
    areas = make_areas(
        [box(X0, Y0, X0 + 1500, Y0 + 1500), box(X0 + 700, Y0 + 700, X0 + 2600, Y0 + 1900)], [90, 33]
    )
    pts = needs.grid_from_areas(areas, columns="population", cell_size_m=1000)
    np.testing.assert_allclose(by_area(pts, "population").to_numpy(), [90, 33], rtol=1e-12)


def test_grid_nan_warned_and_input_untouched(grid4):
    grid4["population"] = [100.0, np.nan, 300.0, 400.0]
    before = grid4.copy()
    with pytest.warns(UserWarning, match="treated as 0") as rec:
        pts = needs.grid_from_areas(grid4, columns="population", cell_size_m=1000)
    assert rec[0].filename == __file__
    assert pts["population"].tolist() == [100.0, 0.0, 300.0, 400.0]
    assert_geodataframe_equal(grid4, before)


def test_grid_no_columns_and_no_areas(grid4):
    pts = needs.grid_from_areas(grid4, columns=[], cell_size_m=1000)
    assert list(pts.columns) == ["area_id", "cell_area_m2", "geometry"]
    empty = needs.grid_from_areas(grid4.iloc[:0], columns="population", cell_size_m=1000)
    assert len(empty) == 0
    assert list(empty.columns) == ["area_id", "cell_area_m2", "population", "geometry"]
    assert empty.crs == grid4.crs


def test_grid_errors(grid4):
    with pytest.raises(CRSError, match="geographic"):
        needs.grid_from_areas(grid4.to_crs(4326), columns="population", cell_size_m=1000)
    with pytest.raises(CRSError, match="no CRS"):
        needs.grid_from_areas(
            grid4.set_crs(None, allow_override=True), columns="population", cell_size_m=1000
        )
    for bad in (0, -5, float("nan"), "1km", None):
        with pytest.raises(SocialMapError, match="`cell_size_m` should be a positive number"):
            needs.grid_from_areas(grid4, columns="population", cell_size_m=bad)
    with pytest.raises(SocialMapError, match=r"would need 100,000,000 cells .* Is the cell size in metres"):
        needs.grid_from_areas(grid4, columns="population", cell_size_m=0.2)
    assert len(needs.grid_from_areas(grid4, columns="population", cell_size_m=100, max_cells=400)) == 400
    with pytest.raises(SocialMapError, match="`origin` should be a pair"):
        needs.grid_from_areas(grid4, columns="population", cell_size_m=1000, origin=(1.0,))
    with pytest.raises(SocialMapError, match=r"may not include \['cell_area_m2'\]"):
        needs.grid_from_areas(grid4, columns="cell_area_m2", cell_size_m=1000)
    with pytest.raises(ValidationError, match=r"missing column\(s\) \['need'\]"):
        needs.grid_from_areas(grid4, columns="need", cell_size_m=1000)


def test_grid_on_kosovo_municipalities(shared_kosovo: Path):
    path = shared_kosovo / "geoboundaries" / "geoBoundaries-XKX-ADM2_simplified.geojson"
    areas = gpd.read_file(path).to_crs(CRS)
    areas["area_id"] = areas["shapeID"]
    areas["population"] = (areas.area / 1e6 * 150).round()  # a synthetic 150 people per km²
    start = time.perf_counter()
    pts = needs.grid_from_areas(areas, columns="population", cell_size_m=1000)
    elapsed = time.perf_counter() - start
    assert len(areas) == 38
    assert 11_000 < len(pts) < 15_000  # ~10,900 km² of 1 km cells, plus boundary pieces
    np.testing.assert_allclose(
        by_area(pts, "population").reindex(areas["area_id"]).to_numpy(),
        areas["population"].to_numpy(),
        rtol=1e-12,
    )
    assert elapsed < 10  # measured ~0.2 s; generous for a shared machine


# --- points_from_raster --------------------------------------------------------------------------

ND = -99999.0
RASTER = np.array(
    [
        [1.0, 0.0, ND, 2.5],
        [0.0, 3.0, 4.0, ND],
        [5.0, np.nan, 0.0, 6.0],
    ],
    dtype="float32",
)
TRANSFORM = Affine(100.0, 0.0, X0, 0.0, -100.0, Y0 + 300)  # 100 m cells, north up
# populated cells (row, col, value) and their centres, by hand
EXPECTED = [(0, 0, 1.0), (0, 3, 2.5), (1, 1, 3.0), (1, 2, 4.0), (2, 0, 5.0), (2, 3, 6.0)]


def write_tif(path: Path, arr: np.ndarray, *, crs=CRS, nodata=ND, transform=TRANSFORM) -> Path:
    with rasterio.open(
        path, "w", driver="GTiff", height=arr.shape[0], width=arr.shape[1], count=1, dtype=arr.dtype,
        crs=crs, transform=transform, nodata=nodata,
    ) as dst:  # fmt: skip
        dst.write(arr, 1)
    return path


def test_raster_round_trip(tmp_path):
    tif = write_tif(tmp_path / "pop.tif", RASTER)
    pts = needs.points_from_raster(tif)
    assert list(pts.columns) == ["population", "geometry"]
    assert pts.crs == CRS
    assert pts["population"].tolist() == [v for _, _, v in EXPECTED]
    assert pts["population"].sum() == 21.5
    centres = [Point(X0 + 100 * c + 50, Y0 + 300 - 100 * r - 50) for r, c, _ in EXPECTED]
    assert pts.geometry.tolist() == centres


def test_raster_blocks_array_and_dataset_agree(tmp_path):
    tif = write_tif(tmp_path / "pop.tif", RASTER)
    whole = needs.points_from_raster(tif)
    assert_geodataframe_equal(needs.points_from_raster(tif, chunk_rows=1), whole)
    assert_geodataframe_equal(needs.points_from_raster(str(tif), chunk_rows=2), whole)
    arr = np.where(RASTER == ND, np.nan, RASTER)
    assert_geodataframe_equal(
        needs.points_from_raster(arr, transform=TRANSFORM, crs=CRS, chunk_rows=2), whole, check_crs=False
    )
    with rasterio.open(tif) as src:
        assert_geodataframe_equal(needs.points_from_raster(src), whole)
        assert not src.closed  # a dataset passed in is left open


def test_raster_integer_nodata_and_override(tmp_path):
    arr = np.array([[7, 0], [65535, 3]], dtype="uint16")
    tif = write_tif(tmp_path / "int.tif", arr, nodata=65535)
    assert needs.points_from_raster(tif)["population"].tolist() == [7.0, 3.0]
    assert needs.points_from_raster(tif, nodata=7)["population"].tolist() == [65535.0, 3.0]


def test_raster_undeclared_negative_nodata_warned(tmp_path):
    tif = write_tif(tmp_path / "undeclared.tif", RASTER, nodata=None)
    with pytest.warns(
        UserWarning, match=r"2 cell\(s\) .* negative values .*\(total -199,998\).*`nodata=`"
    ) as rec:
        pts = needs.points_from_raster(tif)
    assert rec[0].filename == __file__
    assert pts["population"].sum() == 21.5
    assert needs.points_from_raster(tif, nodata=ND)["population"].sum() == 21.5  # no warning


def test_raster_assigns_areas_and_reports_outside_cells(tmp_path):
    tif = write_tif(tmp_path / "pop.tif", RASTER)
    west = box(X0, Y0, X0 + 200, Y0 + 300)  # columns 0-1
    middle = box(X0 + 200, Y0, X0 + 300, Y0 + 300)  # column 2; column 3 (2.5 + 6 people) is outside
    areas = make_areas([west, middle], [0, 0], ids=["w", "m"])
    with pytest.warns(
        UserWarning, match=r"2 of 6 populated cells .* dropped, with 8\.5 people in all"
    ) as rec:
        pts = needs.points_from_raster(tif, areas=areas)
    assert rec[0].filename == __file__
    assert list(pts.columns) == ["population", "area_id", "geometry"]
    assert pts["area_id"].tolist() == ["w", "w", "m", "w"]
    assert pts["population"].tolist() == [1.0, 3.0, 4.0, 5.0]


def test_raster_all_inside_no_warning(tmp_path):
    tif = write_tif(tmp_path / "pop.tif", RASTER)
    areas = make_areas([box(X0, Y0, X0 + 400, Y0 + 300)], [0])
    pts = needs.points_from_raster(tif, areas=areas)
    assert pts["population"].sum() == 21.5
    assert set(pts["area_id"]) == {"a"}


def test_raster_without_people(tmp_path):
    tif = write_tif(tmp_path / "zero.tif", np.zeros((2, 2), dtype="float32"))
    pts = needs.points_from_raster(tif)
    assert len(pts) == 0 and pts.crs == CRS


def test_raster_crs_errors(tmp_path, grid4):
    tif = write_tif(tmp_path / "nocrs.tif", RASTER, crs=None)
    with pytest.raises(CRSError, match=r"nocrs\.tif has no CRS.*crs='EPSG:4326'"):
        needs.points_from_raster(tif)
    assert needs.points_from_raster(tif, crs=CRS).crs == CRS
    with_crs = write_tif(tmp_path / "pop.tif", RASTER)
    with pytest.raises(CRSError, match="disagrees"):
        needs.points_from_raster(with_crs, crs="EPSG:32633")
    with pytest.raises(CRSError, match=r"`areas` is in EPSG:4326 but the raster is in EPSG:32634"):
        needs.points_from_raster(with_crs, areas=grid4.to_crs(4326))
    nogeo = tmp_path / "nogeo.tif"
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", rasterio.errors.NotGeoreferencedWarning)
        write_tif(nogeo, RASTER, crs=None, transform=Affine.identity())
    with pytest.raises(CRSError, match="no georeferencing"):
        needs.points_from_raster(nogeo, crs=CRS)


def test_raster_other_errors(tmp_path):
    with pytest.raises(DataSourceError, match="Cannot open the raster .*missing.tif"):
        needs.points_from_raster(tmp_path / "missing.tif")
    tif = write_tif(tmp_path / "pop.tif", RASTER)
    with pytest.raises(SocialMapError, match="`band` should be between 1 and 1"):
        needs.points_from_raster(tif, band=2)
    with pytest.raises(SocialMapError, match="`chunk_rows` should be a positive integer"):
        needs.points_from_raster(tif, chunk_rows=0)
    with pytest.raises(SocialMapError, match="`transform` is required"):
        needs.points_from_raster(RASTER, crs=CRS)
    with pytest.raises(CRSError, match="`crs` is required"):
        needs.points_from_raster(RASTER, transform=TRANSFORM)
    with pytest.raises(SocialMapError, match=r"2-D array .* shape \(1, 3, 4\)"):
        needs.points_from_raster(RASTER[None], transform=TRANSFORM, crs=CRS)
    with pytest.raises(SocialMapError, match="should be a path, an open rasterio dataset or a numpy array"):
        needs.points_from_raster([[1, 2]])
    with pytest.raises(ValidationError, match=r"1 infinite value\(s\)"):
        needs.points_from_raster(np.array([[1.0, np.inf]]), transform=TRANSFORM, crs=CRS)


# --- points_from_user ----------------------------------------------------------------------------


@pytest.fixture
def user_points() -> gpd.GeoDataFrame:
    return gpd.GeoDataFrame(
        {"population": [10, 20, 30, 5], "label": ["p", "q", "r", "s"]},
        geometry=[
            Point(X0 + 100, Y0 + 100),  # a
            Point(X0 + 1000, Y0 + 500),  # on the a|b edge: goes to the first area, a
            Point(X0 + 1500, Y0 + 1500),  # d
            Point(X0 + 5000, Y0 + 5000),  # outside
        ],
        index=[10, 11, 12, 13],
        crs=CRS,
    )


def test_user_points_checked_and_copied(user_points):
    before = user_points.copy()
    out = needs.points_from_user(user_points)
    assert out["population"].dtype == "float64"
    assert list(out.index) == [10, 11, 12, 13] and list(out["label"]) == ["p", "q", "r", "s"]
    assert_geodataframe_equal(user_points, before)


def test_user_points_assigned_to_areas_outside_warned(user_points, grid4):
    with pytest.warns(
        UserWarning, match=r"1 of 4 points lie outside .* dropped, with 5 'population' in all"
    ) as rec:
        out = needs.points_from_user(user_points, areas=grid4)
    assert rec[0].filename == __file__
    assert out["area_id"].to_dict() == {10: "a", 11: "a", 12: "d"}
    assert out["population"].sum() == 60


def test_user_points_existing_area_id_replaced_with_warning(user_points, grid4):
    pts = user_points.iloc[:3].copy()
    pts["area_id"] = ["a", "b", "d"]
    with pytest.warns(UserWarning, match=r"1 value\(s\) differ"):
        out = needs.points_from_user(pts, areas=grid4)
    assert out["area_id"].tolist() == ["a", "a", "d"]
    pts["area_id"] = ["a", "a", "d"]
    needs.points_from_user(pts, areas=grid4)  # agreeing ids: no warning


def test_user_points_nan_warned(user_points):
    user_points["population"] = [10.0, np.nan, 30.0, 5.0]
    with pytest.warns(UserWarning, match="treated as 0"):
        out = needs.points_from_user(user_points, column="population")
    assert out["population"].tolist() == [10.0, 0.0, 30.0, 5.0]


def test_user_points_errors(user_points, grid4):
    polys = user_points.copy()
    polys.loc[10, "geometry"] = box(0, 0, 1, 1)
    polys.loc[11, "geometry"] = MultiPoint([(0, 0), (1, 1)])
    polys.loc[12, "geometry"] = None
    polys.loc[13, "population"] = -1
    with pytest.raises(ValidationError) as exc:
        needs.points_from_user(polys)
    text = str(exc.value)
    assert "3 problems" in text
    assert "should hold points, found ['MultiPoint', 'Polygon']" in text and "explode" in text
    assert "missing or empty geometries at index [12]" in text
    assert "negative value(s) at index [13]" in text
    with pytest.raises(
        ValidationError, match=r"`points` is missing column\(s\) \['need'\]; found \['population'"
    ):
        needs.points_from_user(user_points, column="need")
    with pytest.raises(CRSError, match="`points` has no CRS"):
        needs.points_from_user(user_points.set_crs(None, allow_override=True))
    with pytest.raises(CRSError, match="`points` is in EPSG:32634 but `areas` is in EPSG:4326"):
        needs.points_from_user(user_points, areas=grid4.to_crs(4326))
    with pytest.raises(SocialMapError, match="`points` should be a GeoDataFrame"):
        needs.points_from_user(pd.DataFrame({"population": [1]}))
    with pytest.raises(ValidationError, match="`areas` should hold polygons"):
        needs.points_from_user(
            user_points, areas=gpd.GeoDataFrame({"area_id": ["x"]}, geometry=[Point(0, 0)], crs=CRS)
        )


# --- back to areas -------------------------------------------------------------------------------


def test_sum_to_areas_by_hand(grid4):
    pts = pd.DataFrame(
        {"area_id": ["a", "a", "b", "d"], "population": [1.5, 2.5, 4.0, 8.0], "need": [1, 0, 2, 3]}
    )
    out = needs.sum_to_areas(pts, grid4, columns=["population", "need"])
    assert isinstance(out, gpd.GeoDataFrame) and out.crs == grid4.crs
    assert out["population"].tolist() == [4.0, 4.0, 0.0, 8.0]  # replaced; c has no points: 0
    assert out["need"].tolist() == [1.0, 2.0, 0.0, 3.0]
    assert grid4["population"].tolist() == [100, 200, 300, 400]  # input untouched


def test_spread_and_sum_back_round_trip(irregular):
    pts = needs.grid_from_areas(irregular, columns="population", cell_size_m=250)
    back = needs.sum_to_areas(pts, irregular[["area_id", "geometry"]], columns="population")
    np.testing.assert_allclose(back["population"], irregular["population"], rtol=1e-12)
    assert back["population"].sum() == pytest.approx(pts["population"].sum(), rel=1e-12)


def test_sum_to_areas_unmatched_ids_warned(grid4):
    pts = pd.DataFrame({"area_id": ["a", "zz", None], "population": [1.0, 2.0, 4.0]})
    with pytest.warns(UserWarning, match=r"2 of 3 point\(s\) have a 'area_id' .* \('population' 6\)") as rec:
        out = needs.sum_to_areas(pts, grid4, columns="population")
    assert rec[0].filename == __file__
    assert out["population"].tolist() == [1.0, 0.0, 0.0, 0.0]


def test_sum_to_areas_other_key_and_nan(grid4):
    areas = grid4.rename(columns={"area_id": "code"})
    pts = pd.DataFrame({"code": ["b", "b"], "need": [np.nan, 2.0]})
    with pytest.warns(UserWarning, match="treated as 0"):
        out = needs.sum_to_areas(pts, areas, columns="need", by="code")
    assert out["need"].tolist() == [0.0, 2.0, 0.0, 0.0]


def test_sum_to_areas_errors(grid4):
    pts = pd.DataFrame({"area_id": ["a"], "population": [1.0]})
    with pytest.raises(
        ValidationError, match=r"`points` is missing column\(s\) \['need'\]; found \['area_id', 'pop"
    ):
        needs.sum_to_areas(pts, grid4, columns="need")
    dup = grid4.copy()
    dup["area_id"] = ["a", "a", "c", "d"]
    with pytest.raises(ValidationError, match="duplicated 'area_id' values \\['a'\\]"):
        needs.sum_to_areas(pts, dup, columns="population")
    with pytest.raises(ValidationError, match="negative"):
        needs.sum_to_areas(pts.assign(population=-1.0), grid4, columns="population")
    with pytest.raises(ValidationError, match=r"`areas` is missing column\(s\) \['code'\]"):
        needs.sum_to_areas(pts.assign(code="a"), grid4, columns="population", by="code")
    with pytest.raises(SocialMapError, match="`points` should be a DataFrame"):
        needs.sum_to_areas([1, 2], grid4, columns="population")


def test_weighted_mean_by_hand(grid4):
    pts = pd.DataFrame(
        {
            "area_id": ["a", "a", "b", "b", "d"],
            "access": [1.0, 0.0, 0.4, 0.9, 0.2],
            "need": [30.0, 10.0, 0.0, 0.0, 5.0],
        }
    )
    out = needs.weighted_mean_to_areas(pts, grid4, value="access", weight="need")
    # a: (30·1 + 10·0) / 40 = 0.75; b: zero total need -> NaN; c: no points -> NaN; d: 0.2
    np.testing.assert_allclose(out["access"], [0.75, np.nan, np.nan, 0.2], rtol=1e-15)
    named = needs.weighted_mean_to_areas(pts, grid4, value="access", weight="need", name="access_mean")
    assert "access_mean" in named.columns and "access" not in named.columns


def test_weighted_mean_of_a_constant_is_the_constant(irregular):
    pts = needs.grid_from_areas(irregular, columns="population", cell_size_m=500).assign(score=0.37)
    out = needs.weighted_mean_to_areas(pts, irregular, value="score", weight="population")
    np.testing.assert_allclose(out["score"], 0.37, rtol=1e-12)


def test_weighted_mean_nan_value_and_unmatched_warned(grid4):
    pts = pd.DataFrame({"area_id": ["a", "a", "q"], "access": [np.nan, 0.5, 1.0], "need": [3.0, 1.0, 2.0]})
    with pytest.warns(UserWarning) as rec:
        out = needs.weighted_mean_to_areas(pts, grid4, value="access", weight="need")
    messages = [str(r.message) for r in rec]
    assert any("1 point(s) with positive 'need' but no 'access'" in m for m in messages)
    assert any("1 of 3 point(s) have a 'area_id' that is missing or not in `areas`" in m for m in messages)
    assert all(r.filename == __file__ for r in rec)
    assert out["access"].iloc[0] == 0.5


def test_weighted_mean_errors(grid4):
    pts = pd.DataFrame({"area_id": ["a"], "access": ["high"], "need": [-1.0]})
    with pytest.raises(ValidationError) as exc:
        needs.weighted_mean_to_areas(pts, grid4, value="access", weight="need")
    assert "'access' should hold numbers" in str(exc.value) and "negative" in str(exc.value)
    with pytest.raises(ValidationError, match=r"missing column\(s\) \['weight'\]"):
        needs.weighted_mean_to_areas(pts, grid4, value="access", weight="weight")
    with pytest.raises(SocialMapError, match="`name` should be a new column name"):
        needs.weighted_mean_to_areas(pts, grid4, value="access", weight="need", name="area_id")
    with pytest.raises(SocialMapError, match="`value` should be a column name"):
        needs.weighted_mean_to_areas(pts, grid4, value=["access"], weight="need")
