"""Tests of socialmap.validate: every error path, the safe repairs, swapped coordinates, the report.

Row numbers: CSV/XLSX header = row 1 (first data row = 2); vector files and frames: first row = 1.
"""

from __future__ import annotations

import warnings
from pathlib import Path
from types import SimpleNamespace

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
from shapely.geometry import LineString, MultiPoint, Point, Polygon, box

from socialmap import io
from socialmap.errors import Problem, ValidationError
from socialmap.validate import (
    Report,
    guess_kind,
    parse_number,
    validate_areas,
    validate_file,
    validate_population,
    validate_services,
)

DATA = Path(__file__).parent / "data"
ADM2 = "geoBoundaries-XKX-ADM2_simplified.geojson"
TAXONOMY = SimpleNamespace(service_type_keys=("csw", "day_care_disability", "shelter_dv"))


def areas_gdf(**changes) -> gpd.GeoDataFrame:
    gdf = gpd.GeoDataFrame(
        {"area_id": ["A1", "A2", "A3", "A4"], "name": ["Westfield", "Eastfield", "Southmoor", "Lakeside"]},
        geometry=[
            box(20.0, 42.1, 20.1, 42.2),
            box(20.1, 42.1, 20.2, 42.2),
            box(20.0, 42.0, 20.1, 42.1),
            box(20.1, 42.0, 20.2, 42.1),
        ],
        crs="EPSG:4326",
    )
    return gdf.assign(**changes)


def services_gdf(points=None, **changes) -> gpd.GeoDataFrame:
    points = points or [Point(20.05, 42.15), Point(20.15, 42.15), Point(20.05, 42.05), Point(20.15, 42.05)]
    n = len(points)
    gdf = gpd.GeoDataFrame(
        {
            "service_id": [f"S{i + 1}" for i in range(n)],
            "name": [f"Service {i + 1}" for i in range(n)],
            "service_type": ["csw"] * n,
            "capacity": [10.0] * n,
        },
        geometry=points,
        crs="EPSG:4326",
    )
    return gdf.assign(**changes)


def services_table(rows: list[tuple]) -> pd.DataFrame:
    """Services as a CSV would give them: text, with lat/lon columns."""
    return pd.DataFrame(rows, columns=["service_id", "name", "service_type", "capacity", "lat", "lon"])


def errors(problems: list[Problem]) -> list[Problem]:
    return [p for p in problems if p.severity == "error"]


def warnings_of(problems: list[Problem]) -> list[Problem]:
    return [p for p in problems if p.severity == "warning"]


def only_error(problems: list[Problem]) -> Problem:
    found = errors(problems)
    assert len(found) == 1, found
    return found[0]


def write(path: Path, text: str) -> Path:
    path.write_text(text, encoding="utf-8")
    return path


# ------------------------------------------------------------------------------------------------
# Clean input; the validators raise nothing and change nothing
# ------------------------------------------------------------------------------------------------


def test_clean_inputs_have_no_problems():
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # the validators never warn: they return problems
        areas, p1 = validate_areas(areas_gdf())
        services, p2 = validate_services(services_gdf(), taxonomy=TAXONOMY, areas=areas)
        population, p3 = validate_population(
            pd.DataFrame({"area_id": ["A1", "A2", "A3", "A4"], "population": [1, 2, 3, 4]}), areas=areas
        )
    assert p1 == p2 == p3 == []
    assert len(areas) == len(services) == len(population) == 4


def test_validators_do_not_modify_their_input_and_keep_its_index():
    gdf = services_gdf(name=[" a ", "b", "c", "d"], capacity=["1", "x", "3", "4"]).set_index(
        pd.Index([10, 20, 30, 40])
    )
    before = gdf.copy()
    clean, problems = validate_services(gdf)
    pd.testing.assert_frame_equal(pd.DataFrame(gdf), pd.DataFrame(before))
    assert clean.index.tolist() == [10, 30, 40]  # the row with an error is left out
    assert only_error(problems).row == 2


def test_first_row_sets_the_row_numbers():
    _, problems = validate_services(services_gdf(capacity=[1, -1, 1, 1]), first_row=2)
    assert only_error(problems).row == 3


# ------------------------------------------------------------------------------------------------
# Error paths
# ------------------------------------------------------------------------------------------------


def test_missing_required_columns_list_what_was_found(tmp_path):
    path = write(tmp_path / "s.csv", "service_id,Naam,service_type,lat,lon\nS1,A,csw,42.1,20.1\n")
    with pytest.raises(ValidationError) as info:
        io.read_services(path)
    by_column = {p.column: p for p in info.value.errors}
    assert set(by_column) == {"name", "capacity"}
    for problem in by_column.values():
        assert problem.row is None
        assert "found ['service_id', 'Naam', 'service_type', 'lat', 'lon']" in problem.message
        assert "columns={'your column':" in problem.fix
    assert "Did you mean 'Naam'?" in by_column["name"].message


def test_unknown_source_column_in_the_mapping():
    _, problems = validate_areas(areas_gdf(), columns={"shapeID": "area_id"})
    problem = only_error(problems)
    assert problem.column == "shapeID"
    assert "has no column 'shapeID'; found ['area_id', 'name']" in problem.message


def test_mapping_onto_an_existing_column_is_reported():
    _, problems = validate_areas(areas_gdf(code=["1", "2", "3", "4"]), columns={"code": "area_id"})
    assert "Two or more columns are named 'area_id'" in only_error(problems).message


def test_duplicate_ids(tmp_path):
    text = "area_id,population\nA1,10\nA2,20\nA1,30\n"
    with pytest.raises(ValidationError) as info:
        io.read_population(write(tmp_path / "p.csv", text))
    problem = only_error(info.value.problems)
    assert (problem.row, problem.column) == (4, "area_id")
    assert problem.message == "Duplicate area_id 'A1' (first in row 2)."


def test_empty_ids():
    _, problems = validate_areas(areas_gdf(area_id=["A1", None, "  ", "A4"]))
    assert [(p.row, p.column, p.message) for p in errors(problems)] == [
        (2, "area_id", "'area_id' is empty."),
        (3, "area_id", "'area_id' is empty."),
    ]


def test_no_crs_on_a_frame_says_how_to_fix_it():
    _, problems = validate_areas(areas_gdf().set_crs(None, allow_override=True))
    problem = only_error(problems)
    assert (problem.row, problem.column) == (None, "geometry")
    assert "no coordinate reference system" in problem.message
    assert "crs='EPSG:4326'" in problem.fix
    clean, problems = validate_areas(areas_gdf().set_crs(None, allow_override=True), crs="EPSG:4326")
    assert problems == [] and clean.crs.equals("EPSG:4326")


def test_polygon_services_are_errors_unless_centroids_are_asked_for():
    square = box(20.0, 42.0, 20.1, 42.1)
    gdf = services_gdf([Point(20.05, 42.15), square])
    _, problems = validate_services(gdf)
    problem = only_error(problems)
    assert (problem.row, problem.column) == (2, "geometry")
    assert problem.message == "The geometry is a Polygon; services must be points."
    assert "centroids=True" in problem.fix

    clean, problems = validate_services(gdf, centroids=True)
    assert errors(problems) == []
    (note,) = warnings_of(problems)
    assert "Replaced 1 polygon by its centroid" in note.message and note.row == 2
    assert clean.geometry.iloc[1].equals_exact(Point(20.05, 42.05), 1e-9)


def test_read_services_with_centroids_warns(tmp_path):
    path = tmp_path / "s.geojson"
    services_gdf([box(20.0, 42.0, 20.1, 42.1), Point(20.15, 42.15)]).to_file(path)
    with pytest.raises(ValidationError, match="services must be points"):
        io.read_services(path)
    with pytest.warns(UserWarning, match="by its centroid"):
        services = io.read_services(path, centroids=True)
    assert (services.geom_type == "Point").all()


def test_other_non_point_services():
    gdf = services_gdf(
        [
            LineString([(20, 42), (20.1, 42.1)]),
            MultiPoint([(20, 42), (20.1, 42.1)]),
            MultiPoint([(20.05, 42.05)]),
        ]
    )
    clean, problems = validate_services(gdf)
    assert [(p.row, p.message) for p in errors(problems)] == [
        (1, "The geometry is a LineString; services must be points."),
        (2, "The geometry is a MultiPoint of 2 points; a service must be one point."),
    ]
    assert "one-point MultiPoint" in warnings_of(problems)[0].message
    assert clean.geometry.iloc[0].equals(Point(20.05, 42.05))


def test_text_in_a_number_column_names_the_row_and_the_value(tmp_path):
    text = "service_id;name;service_type;capacity;lat;lon\nS1;A;csw;12;42,1;20,1\nS2;B;csw;twelve;42,1;20,1\n"
    with pytest.raises(ValidationError) as info:
        io.read_services(write(tmp_path / "s.csv", text))
    problem = only_error(info.value.problems)
    assert (problem.row, problem.column) == (3, "capacity")
    assert problem.message == "'twelve' in 'capacity' is not a number."


def test_ambiguous_thousands_separator_is_an_error_when_the_decimal_mark_is_unknown():
    df = pd.DataFrame({"area_id": ["A1", "A2"], "population": ["1,500", "1,5"]})
    clean, problems = validate_population(df)
    problem = only_error(problems)
    assert (problem.row, problem.column) == (1, "population")
    assert "ambiguous" in problem.message
    assert clean["population"].tolist() == [1.5]


def test_text_in_a_coordinate_column():
    df = services_table(
        [("S1", "A", "csw", "1", "42°09'N", "20.05"), ("S2", "B", "csw", "1", "42.1", "20.1")]
    )
    _, problems = validate_services(df)
    problem = only_error(problems)
    assert (problem.row, problem.column) == (1, "lat")
    assert problem.message == "Coordinate '42°09'N' in 'lat' is not a number."


def test_negative_capacity_and_population():
    _, problems = validate_services(services_gdf(capacity=[5, -3, 0, 1]))
    problem = only_error(problems)
    assert (problem.row, problem.column, problem.message) == (2, "capacity", "'capacity' is negative (-3).")
    _, problems = validate_population(pd.DataFrame({"area_id": ["A1", "A2"], "population": [-10, 10]}))
    problem = only_error(problems)
    assert (problem.row, problem.column, problem.message) == (
        1,
        "population",
        "'population' is negative (-10).",
    )


def test_unknown_service_type_lists_the_valid_ones():
    _, problems = validate_services(
        services_gdf(service_type=["csw", "shelter_dv", "daycare", "spa"]), taxonomy=TAXONOMY
    )
    found = errors(problems)
    assert [(p.row, p.column) for p in found] == [(3, "service_type"), (4, "service_type")]
    assert found[0].message == (
        "Unknown service_type 'daycare'; valid types are: csw, day_care_disability, shelter_dv."
    )
    assert found[1].message.startswith("Unknown service_type 'spa'")


def test_service_types_are_not_checked_without_a_taxonomy():
    _, problems = validate_services(services_gdf(service_type=["anything"] * 4))
    assert problems == []


def test_service_type_differing_only_in_case_is_repaired_with_a_warning():
    clean, problems = validate_services(
        services_gdf(service_type=["CSW", "csw", "Shelter_DV", "csw"]), taxonomy=["csw", "shelter_dv"]
    )
    assert errors(problems) == []
    assert "letter case of 2 service types" in warnings_of(problems)[0].message
    assert clean["service_type"].tolist() == ["csw", "csw", "shelter_dv", "csw"]


def test_empty_service_type():
    _, problems = validate_services(services_gdf(service_type=["csw", None, "csw", ""]), taxonomy=TAXONOMY)
    assert [(p.row, p.message) for p in errors(problems)] == [
        (2, "'service_type' is empty."),
        (4, "'service_type' is empty."),
    ]


@pytest.mark.parametrize(
    ("name", "content"),
    [
        ("header_only.csv", "area_id,population\n"),
        ("zero_bytes.csv", ""),
        ("blank_lines.csv", "area_id,population\n\n\n"),
        ("no_features.geojson", '{"type": "FeatureCollection", "features": []}'),
    ],
)
def test_empty_file(tmp_path, name, content):
    path = write(tmp_path / name, content)
    with pytest.raises(ValidationError) as info:
        io.read_population(path)
    problem = only_error(info.value.problems)
    assert problem.row is None
    assert "empty" in problem.message or "no data rows" in problem.message
    report = validate_file(path, kind="population")
    assert not report.ok and report.errors == info.value.errors


def test_empty_frame():
    _, problems = validate_areas(areas_gdf().iloc[:0])
    assert only_error(problems).message == "The file has no data rows."


def test_missing_and_empty_geometry_in_a_vector_file(tmp_path):
    path = tmp_path / "areas.geojson"
    areas_gdf(geometry=[box(20, 42, 20.1, 42.1), None, Polygon(), box(20.1, 42, 20.2, 42.1)]).to_file(path)
    with pytest.raises(ValidationError) as info:
        io.read_areas(path)
    assert [(p.row, p.column, p.message) for p in info.value.errors] == [
        (2, "geometry", "The row has no geometry (missing or empty)."),
        (3, "geometry", "The row has no geometry (missing or empty)."),
    ]


def test_missing_coordinates_in_a_table():
    df = services_table([("S1", "A", "csw", "1", "42.1", "20.1"), ("S2", "B", "csw", "1", "", "20.1")])
    _, problems = validate_services(df)
    problem = only_error(problems)
    assert (problem.row, problem.column) == (2, "lat/lon")
    assert "no coordinates" in problem.message


def test_services_without_any_location():
    _, problems = validate_services(pd.DataFrame(services_gdf().drop(columns="geometry")))
    problem = only_error(problems)
    assert problem.column == "geometry"
    assert "no geometry and no coordinate columns" in problem.message


def test_coordinates_out_of_range():
    _, problems = validate_services(services_gdf([Point(20.05, 42.15), Point(200.0, 42.0)]))
    problem = only_error(problems)
    assert (problem.row, problem.column) == (2, "geometry")
    assert problem.message == "Coordinates (longitude 200, latitude 42) are out of range."
    assert "crs='EPSG:32634'" in problem.fix


def test_metres_read_as_degrees_are_out_of_range(tmp_path):
    text = "service_id,name,service_type,capacity,x,y\nS1,A,csw,1,504000,4662000\n"
    with pytest.raises(ValidationError, match="out of range"):
        io.read_services(write(tmp_path / "s.csv", text))


def test_area_coordinates_out_of_range():
    _, problems = validate_areas(
        areas_gdf(
            geometry=[
                box(20, 42, 20.1, 42.1),
                box(20, 95, 21, 96),
                box(20, 42, 20.1, 42.1),
                box(20, 42, 20.1, 42.1),
            ]
        )
    )
    problem = only_error(problems)
    assert problem.row == 2
    assert "swapped" in problem.message  # latitude 95 with longitudes that would be valid latitudes


def test_non_polygon_areas():
    _, problems = validate_areas(
        areas_gdf(
            geometry=[
                box(20, 42, 20.1, 42.1),
                Point(20, 42),
                box(20, 42, 20.1, 42.1),
                LineString([(20, 42), (21, 43)]),
            ]
        )
    )
    assert [(p.row, p.message) for p in errors(problems)] == [
        (2, "The geometry is a Point; areas must be polygons."),
        (4, "The geometry is a LineString; areas must be polygons."),
    ]


def test_areas_without_geometry(tmp_path):
    with pytest.raises(ValidationError, match="The areas have no geometry"):
        io.read_areas(DATA / "population.csv")


# ------------------------------------------------------------------------------------------------
# Swapped latitude / longitude, and services outside the areas
# ------------------------------------------------------------------------------------------------


def test_latitude_beyond_90_is_reported_as_swapped(tmp_path):
    # A service at longitude 120.5, latitude 35.1 written as lat=120.5, lon=35.1.
    text = "service_id,name,service_type,capacity,lat,lon\nS1,A,csw,1,42.1,20.1\nS2,B,csw,1,120.5,35.1\n"
    with pytest.raises(ValidationError) as info:
        io.read_services(write(tmp_path / "s.csv", text))
    problem = only_error(info.value.problems)
    assert (problem.row, problem.column) == (3, "geometry")
    assert problem.message == (
        "Latitude 120.5 is outside -90..90 but longitude 35.1 would be a valid latitude: "
        "latitude and longitude look swapped."
    )
    assert "Swap" in problem.fix


def test_swapped_point_detected_against_the_areas_extent():
    # (42.05, 20.15) is a valid place, but outside the areas; swapped, it falls inside them.
    gdf = services_gdf([Point(20.05, 42.15), Point(42.05, 20.15)])
    _, problems = validate_services(gdf, areas=areas_gdf())
    problem = only_error(problems)
    assert (problem.row, problem.column) == (2, "geometry")
    assert problem.message == (
        "The point at longitude 42.05, latitude 20.15 lies outside the areas' extent, but with the two "
        "swapped it lies inside: latitude and longitude look swapped."
    )
    assert warnings_of(problems) == []  # not also reported as "outside every area"


def test_every_point_swapped_against_the_areas_is_one_file_level_problem():
    gdf = services_gdf([Point(42.15, 20.05), Point(42.15, 20.15), Point(42.05, 20.05)])
    clean, problems = validate_services(gdf, areas=areas_gdf())
    problem = only_error(problems)
    assert problem.row is None
    assert "All 3 points" in problem.message and "columns look swapped" in problem.message
    assert len(clean) == 0


def test_swapped_point_detected_against_the_other_points():
    points = [
        Point(20.05, 42.15),
        Point(20.15, 42.15),
        Point(20.05, 42.05),
        Point(20.15, 42.05),
        Point(42.1, 20.1),
    ]
    _, problems = validate_services(services_gdf(points))
    problem = only_error(problems)
    assert problem.row == 5
    assert "outside the other points" in problem.message


def test_spread_out_points_are_not_taken_for_swapped():
    rng = np.random.default_rng(0)
    points = [Point(x, y) for x, y in zip(rng.uniform(19, 22, 40), rng.uniform(41, 44, 40), strict=True)]
    _, problems = validate_services(services_gdf(points))
    assert problems == []


def test_service_outside_every_area_is_a_warning_and_kept(tmp_path):
    text = (
        "service_id,name,service_type,capacity,lat,lon\n"
        "S1,Inside,csw,1,42.15,20.05\n"
        "S2,Across the border,csw,1,42.15,20.25\n"
    )
    with pytest.warns(UserWarning, match="outside every area") as record:
        services = io.read_services(write(tmp_path / "s.csv", text), areas=areas_gdf())
    assert len(record) == 1
    assert services["service_id"].tolist() == ["S1", "S2"]
    _, problems = validate_services(services, areas=areas_gdf())
    (problem,) = problems
    assert (problem.severity, problem.row, problem.column) == ("warning", 2, "geometry")
    assert problem.message == "Service 'S2' at (20.25, 42.15) is outside every area."


def test_areas_in_another_crs_are_reprojected_for_the_checks():
    _, problems = validate_services(
        services_gdf([Point(20.05, 42.15), Point(20.25, 42.15)]), areas=areas_gdf().to_crs("EPSG:32634")
    )
    assert [(p.severity, p.row) for p in problems] == [("warning", 2)]


# ------------------------------------------------------------------------------------------------
# Safe repairs
# ------------------------------------------------------------------------------------------------


def test_invalid_polygon_is_repaired_with_a_warning(tmp_path):
    bowtie = Polygon([(20.0, 42.0), (20.1, 42.1), (20.1, 42.0), (20.0, 42.1), (20.0, 42.0)])
    assert not bowtie.is_valid
    clean, problems = validate_areas(areas_gdf(geometry=[bowtie, *areas_gdf().geometry[1:]]))
    (problem,) = problems
    assert (problem.severity, problem.row, problem.column) == ("warning", 1, "geometry")
    assert "Repaired 1 invalid polygon with shapely.make_valid" in problem.message
    assert "Self-intersection" in problem.message
    assert clean.is_valid.all()
    assert clean.geom_type.iloc[0] == "MultiPolygon"
    assert clean.geometry.iloc[0].area == pytest.approx(0.005)

    path = tmp_path / "areas.gpkg"
    areas_gdf(geometry=[bowtie, *areas_gdf().geometry[1:]]).to_file(path)
    with pytest.warns(UserWarning, match="Repaired 1 invalid polygon"):
        areas = io.read_areas(path)
    assert areas.is_valid.all()


def test_whitespace_is_stripped_with_a_warning():
    clean, problems = validate_services(
        services_gdf(service_id=[" S1", "S2 ", "S3", "S4"], name=["a", "b\u00a0", "c", "d"])
    )
    assert errors(problems) == []
    by_column = {p.column: p for p in problems}
    assert "Removed spaces at the start or end of 2 values in 'service_id' (rows 1, 2)" in (
        by_column["service_id"].message
    )
    assert by_column["name"].row == 2
    assert clean["service_id"].tolist() == ["S1", "S2", "S3", "S4"]
    assert clean["name"].tolist() == ["a", "b", "c", "d"]


def test_html_is_kept_as_text_and_control_characters_are_stripped():
    names = ["<script>alert(1)</script>", "Tab\there", "Bell\x07", "Null\x00byte"]
    clean, problems = validate_services(services_gdf(name=names))
    (problem,) = problems
    assert problem.severity == "warning" and problem.column == "name"
    assert "Removed control characters" in problem.message and "(rows 2, 3, 4)" in problem.message
    assert clean["name"].tolist() == ["<script>alert(1)</script>", "Tab here", "Bell", "Nullbyte"]


def test_missing_capacity_is_unknown_with_a_warning_never_one():
    clean, problems = validate_services(services_gdf(capacity=[None, "", "n/a", 4]))
    (problem,) = problems
    assert (problem.severity, problem.column) == ("warning", "capacity")
    assert "'capacity' is empty in 3 rows: taken as unknown (not as 1)" in problem.message
    assert clean["capacity"].isna().tolist() == [True, True, True, False]


def test_missing_population_is_unknown_with_a_warning():
    clean, problems = validate_population(pd.DataFrame({"area_id": ["A1", "A2"], "population": [None, 5]}))
    (problem,) = problems
    assert (problem.severity, problem.row) == ("warning", 1)
    assert np.isnan(clean["population"].iloc[0])


def test_loader_emits_one_warning_listing_every_repair(tmp_path):
    text = "service_id,name,service_type,capacity,lat,lon\n S1 ,A\x01,csw,,42.15,20.05\n"
    with pytest.warns(UserWarning) as record:
        io.read_services(write(tmp_path / "s.csv", text))
    assert len(record) == 1
    message = str(record[0].message)
    assert message.startswith(f"{tmp_path / 's.csv'}: 3 warning(s) while reading services:")
    assert (
        "Removed spaces" in message and "control characters" in message and "'capacity' is empty" in message
    )
    assert record[0].filename == __file__  # stacklevel points at the caller


def test_many_bad_rows_are_capped_with_a_summary():
    df = pd.DataFrame({"area_id": [f"A{i}" for i in range(70)], "population": ["x"] * 70})
    _, problems = validate_population(df)
    assert len(problems) == 51
    assert problems[-1].row is None
    assert problems[-1].message.startswith("20 more rows have the same problem (rows 51, 52")


def test_parse_number():
    assert parse_number("42,66") == (42.66, True)
    assert parse_number("1.234,5") == (1234.5, True)
    assert parse_number("1.500", decimal=",") == (1500.0, True)
    assert parse_number("1,500", decimal=".") == (1500.0, True)
    assert parse_number("n/a")[1] and np.isnan(parse_number("n/a")[0])
    assert parse_number("abc")[1] is False
    assert parse_number("inf")[1] is False
    assert parse_number("42,661", grouping=False) == (42.661, True)


def test_parse_number_refuses_numbers_that_overflow_to_infinity():
    assert parse_number("1e999")[1] is False
    assert parse_number("9" * 400)[1] is False
    assert parse_number(float("-inf"))[1] is False
    assert parse_number("1e308") == (1e308, True)


def test_counts_beyond_ten_billion_are_errors():
    clean, problems = validate_population(pd.DataFrame({"area_id": ["A1", "A2"], "population": [5, 1e11]}))
    (problem,) = problems
    assert (problem.row, problem.column, problem.severity) == (2, "population", "error")
    assert "too large to be a count of persons" in problem.message
    assert clean["area_id"].tolist() == ["A1"]


def test_projected_coordinates_beyond_the_earth_are_errors():
    gdf = services_gdf().to_crs("EPSG:32634")
    gdf.loc[1, "geometry"] = Point(1e300, 5e6)
    clean, problems = validate_services(gdf)
    (problem,) = [p for p in problems if p.severity == "error"]
    assert (problem.row, problem.column) == (2, "geometry")
    assert "beyond the Earth" in problem.fix
    assert len(clean) == 3


def test_control_characters_in_column_names_are_removed_with_a_warning():
    gdf = areas_gdf().rename(columns={"area_id": "area\x00_id", "name": "name\t"})
    clean, problems = validate_areas(gdf)
    assert list(clean.columns) == ["area_id", "name", "geometry"]
    (problem,) = problems
    assert problem.severity == "warning" and "2 column names" in problem.message


# ------------------------------------------------------------------------------------------------
# validate_file and the report
# ------------------------------------------------------------------------------------------------


def test_validate_file_guesses_the_kind(tmp_path):
    assert validate_file(DATA / "areas.geojson").kind == "areas"
    assert validate_file(DATA / "population.csv").kind == "population"
    services = validate_file(
        DATA / "services.csv",
        columns={"ID": "service_id", "Emri": "name", "Lloji": "service_type", "Kapaciteti": "capacity"},
    )
    assert services.kind == "services" and services.ok and services.rows == 4
    points = tmp_path / "services.gpkg"
    io.write_atomic(points, lambda p: gpd.GeoDataFrame(geometry=[Point(20, 42)], crs=4326).to_file(p))
    assert validate_file(points).kind == "services"


def test_validate_file_that_cannot_tell_the_kind(tmp_path):
    report = validate_file(write(tmp_path / "x.csv", "a,b\n1,2\n"))
    assert report.kind is None and not report.ok
    assert "kind='areas'" in report.errors[0].fix


def test_validate_file_reports_unreadable_files_without_raising(tmp_path):
    report = validate_file(tmp_path / "missing.geojson")
    assert not report.ok
    (problem,) = report.problems
    assert problem.message.endswith("does not exist.") and problem.fix == "Check the path and the file name."


def test_validate_file_collects_everything_and_the_report_reads_well(tmp_path):
    text = (
        "service_id;name;service_type;capacity;lat;lon\n"
        "S1;Qendra;csw;12;42,15;20,05\n"
        "S1;Strehimore;spa;-1;42,05;20,15\n"
        "S3;  Other;csw;;42,05;20,35\n"
    )
    path = write(tmp_path / "services.csv", text)
    report = validate_file(path, taxonomy=TAXONOMY, areas=areas_gdf())
    assert isinstance(report, Report) and report.kind == "services" and not report.ok
    assert {(p.row, p.column) for p in report.errors} == {
        (3, "service_id"),
        (3, "service_type"),
        (3, "capacity"),
    }
    assert {p.column for p in report.warnings} == {"name", "capacity", "geometry"}
    frame = report.to_frame()
    assert list(frame.columns) == ["severity", "file", "row", "column", "problem", "fix"]
    assert len(frame) == 6 and frame["row"].dtype == "Int64"
    text = str(report)
    assert text.splitlines()[0] == f"{path} (services, 3 rows): 3 errors, 3 warnings"
    assert "severity  row  column" in text
    assert "Duplicate service_id 'S1' (first in row 2)." in text
    assert "fix: Make every 'service_id' unique" in text
    assert report.frame is not None and report.frame["service_id"].tolist() == ["S1", "S3"]


def test_report_of_a_clean_file():
    report = validate_file(DATA / "areas.geojson")
    assert report.ok and report.problems == []
    assert str(report) == f"{DATA / 'areas.geojson'} (areas, 4 rows): OK"
    assert report.to_frame().empty


def test_guess_kind():
    assert guess_kind(areas_gdf()) == "areas"
    assert guess_kind(services_gdf()) == "services"
    assert guess_kind(pd.DataFrame({"Area ID": [], "Population": []})) == "population"
    assert guess_kind(pd.DataFrame({"name": [], "Latitude": [], "lng": []})) == "services"
    assert guess_kind(pd.DataFrame({"a": []})) is None


def test_validate_file_accepts_the_real_geoboundaries_adm2(shared_kosovo):
    # shared_kosovo (conftest) skips, with the reason, where ../shared/data/kosovo is absent.
    adm2 = shared_kosovo / "geoboundaries" / ADM2
    report = validate_file(adm2, columns={"shapeID": "area_id", "shapeName": "name"})
    assert report.ok and report.problems == [] and report.kind == "areas" and report.rows == 38
    # Without a mapping (as `socialmap validate FILE` does), the geoBoundaries layout is recognised.
    report = validate_file(adm2)
    assert report.ok and report.kind == "areas"
    (note,) = report.warnings
    assert "shapeID -> area_id, shapeName -> name" in note.message


def test_full_coordinate_names_win_over_x_and_y():
    df = services_table([("S1", "A", "csw", "1", "42.1", "20.1")]).assign(x=["504000"], y=["4662000"])
    clean, problems = validate_services(df)
    assert problems == []
    assert clean.geometry.iloc[0].equals(Point(20.1, 42.1))
    assert list(clean.columns) == ["service_id", "name", "service_type", "capacity", "x", "y", "geometry"]


def test_two_latitude_columns_are_ambiguous():
    df = services_table([("S1", "A", "csw", "1", "42.1", "20.1")]).assign(Latitude=["42.1"])
    _, problems = validate_services(df)
    problem = only_error(problems)
    assert problem.message == "Several columns could hold the latitude: ['lat', 'Latitude']."


def test_coordinates_that_are_not_finite():
    gdf = services_gdf([Point(504000, 4662000), Point(float("nan"), float("nan"))]).set_crs(
        "EPSG:32634", allow_override=True
    )
    _, problems = validate_services(gdf)
    problem = only_error(problems)
    assert (problem.row, problem.message) == (2, "The coordinates are not finite numbers (NaN or infinity).")


def test_population_from_a_vector_file_drops_the_geometry_with_a_warning(tmp_path):
    path = tmp_path / "pop.gpkg"
    areas_gdf(population=[1, 2, 3, 4]).to_file(path)
    with pytest.warns(UserWarning, match="geometry of the population file is ignored"):
        population = io.read_population(path)
    assert list(population.columns) == ["area_id", "population", "name"]
    assert type(population) is pd.DataFrame


def test_coordinates_beyond_the_earth_without_a_crs_are_reported_not_a_crash():
    gdf = services_gdf().set_crs(None, allow_override=True)
    gdf.loc[0, "geometry"] = Point(1e300, -1e300)
    _, problems = validate_services(gdf)
    messages = {(p.row, p.column): p for p in problems}
    assert "no coordinate reference system" in messages[(None, "geometry")].message
    assert "beyond the Earth (more than" in messages[(1, "geometry")].fix


def test_a_huge_invalid_polygon_is_reported_without_a_numpy_warning():
    """Found by tests/test_fuzz.py: make_valid on coordinates near 1e300 overflowed (RuntimeWarning)."""
    huge = Polygon([(20.0, 42.0), (1.0, 42.0), (1e300, 1e300), (20.0, 1e300), (20.0, 42.0)])
    clean, problems = validate_areas(areas_gdf().assign(geometry=[huge, *areas_gdf().geometry[1:]]))
    (problem,) = problems
    assert (problem.row, problem.column, problem.severity) == (1, "geometry", "error")
    assert "out of range" in problem.message
    assert clean["area_id"].tolist() == ["A2", "A3", "A4"]
