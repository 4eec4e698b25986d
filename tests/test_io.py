"""Tests of socialmap.io: every format read, CSV as people send it, limits, atomic writes.

Fixtures: tests/data (made by tests/data/make_fixtures.py) and files written into tmp_path.
"""

from __future__ import annotations

import os
import warnings
import zipfile
from pathlib import Path
from types import SimpleNamespace

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
import shapely
from shapely.geometry import Point, box

from socialmap import io, settings
from socialmap.errors import DataSourceError, ValidationError

DATA = Path(__file__).parent / "data"
ADM2 = "geoBoundaries-XKX-ADM2_simplified.geojson"
TAXONOMY = SimpleNamespace(service_type_keys=("csw", "day_care_disability", "shelter_dv"))
SERVICE_COLUMNS = {"ID": "service_id", "Emri": "name", "Lloji": "service_type", "Kapaciteti": "capacity"}


def areas_gdf() -> gpd.GeoDataFrame:
    return gpd.GeoDataFrame(
        {"area_id": ["A1", "A2", "A3", "A4"], "name": ["Westfield", "Eastfield", "Southmoor", "Lakeside"]},
        geometry=[
            box(20.0, 42.1, 20.1, 42.2),
            box(20.1, 42.1, 20.2, 42.2),
            box(20.0, 42.0, 20.1, 42.1),
            box(20.1, 42.0, 20.2, 42.1),
        ],
        crs="EPSG:4326",
    )


def services_gdf() -> gpd.GeoDataFrame:
    return gpd.GeoDataFrame(
        {
            "service_id": ["S1", "S2", "S3"],
            "name": ["One", "Two", "Three"],
            "service_type": ["csw", "shelter_dv", "csw"],
            "capacity": [12.0, 8.0, 10.0],
        },
        geometry=[Point(20.05, 42.15), Point(20.15, 42.15), Point(20.05, 42.05)],
        crs="EPSG:4326",
    )


def read_quietly(func, *args, **kwargs):
    """Call a loader that must not warn (pytest turns warnings into errors anyway)."""
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        return func(*args, **kwargs)


def write_csv(path: Path, text: str, encoding: str = "utf-8") -> Path:
    path.write_bytes(text.encode(encoding))
    return path


def zip_shapefile(gdf: gpd.GeoDataFrame, folder: Path, name: str = "areas", *, prj: bool = True) -> Path:
    """Write a Shapefile and zip it inside a sub-folder, as people do."""
    shp_dir = folder / f"{name}_shp"
    shp_dir.mkdir()
    gdf.to_file(shp_dir / f"{name}.shp")
    archive = folder / f"{name}.zip"
    with zipfile.ZipFile(archive, "w", compression=zipfile.ZIP_DEFLATED) as z:
        for part in sorted(shp_dir.iterdir()):
            if part.suffix == ".prj" and not prj:
                continue
            z.write(part, f"{name}/{part.name}")
    return archive


# ------------------------------------------------------------------------------------------------
# Atomic writes
# ------------------------------------------------------------------------------------------------


def test_write_atomic_writes_and_replaces(tmp_path):
    target = tmp_path / "out" / "table.csv"
    io.write_atomic(target, lambda p: p.write_text("a\n1\n"))
    assert target.read_text() == "a\n1\n"
    io.write_atomic(target, lambda p: p.write_text("a\n2\n"))
    assert target.read_text() == "a\n2\n"
    assert os.listdir(target.parent) == ["table.csv"]  # no temporary left behind


def test_write_atomic_keeps_the_old_file_when_the_writer_fails(tmp_path):
    target = tmp_path / "table.csv"
    target.write_text("old")

    def broken(path: Path) -> None:
        path.write_text("half")
        raise RuntimeError("disk full")

    with pytest.raises(RuntimeError, match="disk full"):
        io.write_atomic(target, broken)
    assert target.read_text() == "old"
    assert os.listdir(tmp_path) == ["table.csv"]


def test_write_atomic_passes_the_real_file_name_so_writers_pick_the_format(tmp_path):
    target = tmp_path / "areas.gpkg"
    io.write_atomic(target, lambda p: areas_gdf().to_file(p))  # driver inferred from ".gpkg"
    back = read_quietly(io.read_areas, target)
    assert back["area_id"].tolist() == ["A1", "A2", "A3", "A4"]


def test_write_atomic_reports_a_writer_that_writes_nothing(tmp_path):
    with pytest.raises(OSError, match="did not create"):
        io.write_atomic(tmp_path / "x.txt", lambda p: None)
    assert os.listdir(tmp_path) == []


# ------------------------------------------------------------------------------------------------
# Areas in every vector format
# ------------------------------------------------------------------------------------------------


def test_read_areas_from_the_geojson_fixture():
    areas = read_quietly(io.read_areas, DATA / "areas.geojson")
    assert list(areas.columns) == ["area_id", "name", "geometry"]
    assert areas["area_id"].tolist() == ["A1", "A2", "A3", "A4"]
    assert areas.crs.equals("EPSG:4326")  # no crs member: RFC 7946 WGS84
    assert (areas.geom_type == "Polygon").all()
    assert isinstance(areas.index, pd.RangeIndex)


def _write(gdf: gpd.GeoDataFrame, folder: Path, fmt: str) -> Path:
    if fmt == "geojson":
        path = folder / "areas.geojson"
        gdf.to_file(path, driver="GeoJSON")
    elif fmt == "gpkg":
        path = folder / "areas.gpkg"
        gdf.to_file(path, driver="GPKG", layer="municipalities")
    elif fmt == "shp":
        path = folder / "areas.shp"
        gdf.to_file(path)
    elif fmt == "zip":
        path = zip_shapefile(gdf, folder)
    elif fmt == "parquet":
        path = folder / "areas.parquet"
        gdf.to_parquet(path)
    else:
        raise AssertionError(fmt)
    return path


@pytest.mark.parametrize("fmt", ["geojson", "gpkg", "shp", "zip", "parquet"])
def test_areas_round_trip_every_vector_format(tmp_path, fmt):
    original = areas_gdf().to_crs("EPSG:32634")  # a projected CRS survives the round trip too
    back = read_quietly(io.read_areas, _write(original, tmp_path, fmt))
    assert back["area_id"].tolist() == original["area_id"].tolist()
    assert back["name"].tolist() == original["name"].tolist()
    assert back.crs.equals(original.crs)
    assert shapely.equals_exact(
        back.geometry.normalize().values, original.geometry.normalize().values, 1e-6
    ).all()


@pytest.mark.parametrize("fmt", ["geojson", "gpkg", "zip", "parquet"])
def test_services_round_trip_every_vector_format(tmp_path, fmt):
    original = services_gdf()
    columns = None
    if fmt == "zip":  # Shapefile field names have at most 10 characters: people rename, and map back
        original = original.rename(columns={"service_type": "type"})
        columns = {"type": "service_type"}
    path = _write(original, tmp_path, fmt)
    back = read_quietly(io.read_services, path, columns=columns, taxonomy=TAXONOMY, areas=areas_gdf())
    assert back["service_id"].tolist() == ["S1", "S2", "S3"]
    assert back["capacity"].tolist() == [12.0, 8.0, 10.0]
    assert back.crs.equals("EPSG:4326")
    assert (back.geometry.geom_equals_exact(original.geometry, 1e-9)).all()


def test_geojson_ids_written_as_numbers_come_back_as_text(tmp_path):
    gdf = areas_gdf().assign(area_id=[1, 2, 3, 4])
    back = read_quietly(io.read_areas, _write(gdf, tmp_path, "geojson"))
    assert back["area_id"].tolist() == ["1", "2", "3", "4"]


def test_real_geoboundaries_adm2_is_accepted_with_a_column_mapping(shared_kosovo):
    # shared_kosovo (conftest) skips, with the reason, where ../shared/data/kosovo is absent.
    adm2 = shared_kosovo / "geoboundaries" / ADM2
    areas = read_quietly(io.read_areas, adm2, columns={"shapeID": "area_id", "shapeName": "name"})
    assert len(areas) == 38
    assert areas["area_id"].is_unique
    assert areas.crs.equals("EPSG:4326")
    assert areas.is_valid.all()
    assert set(areas.geom_type) <= {"Polygon", "MultiPolygon"}
    assert "Municipality of Prizren" in set(areas["name"])


# ------------------------------------------------------------------------------------------------
# CRS
# ------------------------------------------------------------------------------------------------


def test_shapefile_without_prj_is_an_error_that_names_crs_argument(tmp_path):
    archive = zip_shapefile(areas_gdf(), tmp_path, prj=False)
    with pytest.raises(ValidationError) as info:
        io.read_areas(archive)
    (problem,) = info.value.errors
    assert problem.column == "geometry"
    assert problem.row is None
    assert "no coordinate reference system" in problem.message
    assert "crs=" in problem.fix


def test_shapefile_without_prj_is_read_with_crs_argument(tmp_path):
    archive = zip_shapefile(areas_gdf(), tmp_path, prj=False)
    areas = read_quietly(io.read_areas, archive, crs="EPSG:4326")
    assert areas.crs.equals("EPSG:4326")


def test_geopackage_without_crs_is_an_error(tmp_path):
    path = tmp_path / "areas.gpkg"
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # pyogrio warns when writing without a CRS
        areas_gdf().set_crs(None, allow_override=True).to_file(path)
    with pytest.raises(ValidationError, match="no coordinate reference system"):
        io.read_areas(path)


def test_crs_argument_that_contradicts_the_file_is_an_error(tmp_path):
    path = _write(areas_gdf(), tmp_path, "gpkg")
    with pytest.raises(ValidationError) as info:
        io.read_areas(path, crs="EPSG:32634")
    assert "declares the CRS EPSG:4326" in info.value.errors[0].message


def test_csv_coordinates_in_metres_with_crs_argument(tmp_path):
    pts = services_gdf().to_crs("EPSG:32634")
    text = "service_id,name,service_type,capacity,x,y\n" + "".join(
        f"{r.service_id},{r.name},{r.service_type},{r.capacity},{r.geometry.x},{r.geometry.y}\n"
        for r in pts.itertuples()
    )
    services = read_quietly(io.read_services, write_csv(tmp_path / "s.csv", text), crs="EPSG:32634")
    assert services.crs.equals("EPSG:32634")
    assert services.geometry.geom_equals_exact(pts.geometry, 1e-6).all()


# ------------------------------------------------------------------------------------------------
# CSV and XLSX as people send them
# ------------------------------------------------------------------------------------------------


def test_services_csv_fixture_semicolon_decimal_comma_bom_own_column_names():
    services = read_quietly(
        io.read_services, DATA / "services.csv", columns=SERVICE_COLUMNS, taxonomy=TAXONOMY, areas=areas_gdf()
    )
    assert list(services.columns) == ["service_id", "name", "service_type", "capacity", "geometry"]
    assert services["service_id"].tolist() == ["S1", "S2", "S3", "S4"]
    assert services["capacity"].tolist() == [12.0, 25.0, 8.0, 10.5]
    assert services.crs.equals("EPSG:4326")
    assert services.geometry.iloc[0].equals(Point(20.05, 42.15))
    assert services["name"].iloc[1] == "Day care <Eastfield>"  # kept as text; escaped when rendered


@pytest.mark.parametrize(
    ("header", "sep"),
    [
        ("service_id,name,service_type,capacity,latitude,longitude", ","),
        ("service_id\tname\tservice_type\tcapacity\tLAT\tLNG", "\t"),
        ("service_id|name|service_type|capacity|Y|X", "|"),
        ("Service ID;Name;Service Type;Capacity;Latitude;Long", ";"),
    ],
)
def test_csv_delimiters_and_coordinate_column_names_are_recognised(tmp_path, header, sep):
    rows = [["S1", "One", "csw", "12", "42.15", "20.05"], ["S2", "Two", "csw", "", "42.05", "20.15"]]
    text = "\n".join([header, *(sep.join(r) for r in rows)]) + "\n"
    with pytest.warns(UserWarning, match="'capacity' is empty in 1 row"):
        services = io.read_services(write_csv(tmp_path / "s.csv", text))
    assert services["service_id"].tolist() == ["S1", "S2"]
    assert services.geometry.iloc[1].equals(Point(20.15, 42.05))
    assert services["capacity"].iloc[0] == 12.0
    assert np.isnan(services["capacity"].iloc[1])  # unknown, never 1


def test_csv_with_and_without_bom_read_the_same(tmp_path):
    text = "service_id,name,service_type,capacity,lat,lon\nS1,Shtëpia e Fëmijëve,csw,3,42.1,20.1\n"
    plain = read_quietly(io.read_services, write_csv(tmp_path / "plain.csv", text))
    bom = read_quietly(io.read_services, write_csv(tmp_path / "bom.csv", "\ufeff" + text))
    assert list(bom.columns) == list(plain.columns)  # the BOM is not glued to 'service_id'
    assert bom["name"].iloc[0] == plain["name"].iloc[0] == "Shtëpia e Fëmijëve"


def test_csv_utf16_with_bom_is_read(tmp_path):
    text = "service_id\tname\tservice_type\tcapacity\tlat\tlon\nS1\tČačak\tcsw\t3\t42.1\t20.1\n"
    services = read_quietly(io.read_services, write_csv(tmp_path / "excel.txt", "\ufeff" + text, "utf-16-le"))
    assert services["name"].iloc[0] == "Čačak"


def test_csv_in_cp1250_is_read_with_a_warning(tmp_path):
    text = "service_id;name;service_type;capacity;lat;lon\nS1;Qendra Gračanicë;csw;3;42,1;20,1\n"
    path = write_csv(tmp_path / "old.csv", text, "cp1250")
    with pytest.warns(UserWarning, match="not UTF-8; it was read as cp1250"):
        services = io.read_services(path)
    assert services["name"].iloc[0] == "Qendra Gračanicë"


def test_csv_in_an_unreadable_encoding_is_a_clear_error(tmp_path):
    path = tmp_path / "bad.csv"
    path.write_bytes(b"service_id,name\nS1,\x81\x98\n")  # bytes undefined in UTF-8 and cp1250
    with pytest.raises(DataSourceError, match="not UTF-8 text") as info:
        io.read_services(path)
    assert "encoding=" in str(info.value)


def test_csv_encoding_argument(tmp_path):
    text = "service_id,name,service_type,capacity,lat,lon\nS1,Café,csw,3,42.1,20.1\n"
    services = read_quietly(
        io.read_services, write_csv(tmp_path / "l1.csv", text, "latin-1"), encoding="latin-1"
    )
    assert services["name"].iloc[0] == "Café"


def test_thousands_and_decimal_marks_follow_the_delimiter(tmp_path):
    semicolon = "area_id;population\nA1;1.500\nA2;2.345,5\nA3;1 200\n"
    comma = 'area_id,population\nA1,"1,500"\nA2,2345.5\nA3,1200\n'
    for name, text in (("semi.csv", semicolon), ("comma.csv", comma)):
        population = read_quietly(io.read_population, write_csv(tmp_path / name, text))
        assert population["population"].tolist() == [1500.0, 2345.5, 1200.0], name


def test_csv_blank_lines_are_skipped_but_counted_in_row_numbers(tmp_path):
    text = (
        "service_id,name,service_type,capacity,lat,lon\nS1,One,csw,1,42.1,20.1\n\nS2,Two,csw,abc,42.1,20.1\n"
    )
    with pytest.raises(ValidationError) as info:
        io.read_services(write_csv(tmp_path / "s.csv", text))
    (problem,) = info.value.errors
    assert (problem.row, problem.column) == (4, "capacity")  # header = row 1, blank line = row 3


def test_xlsx_services(tmp_path):
    path = tmp_path / "services.xlsx"
    frame = pd.DataFrame(
        {
            "ID": [101, 102],
            "Emri": ["Qendra", "  Strehimore "],
            "Lloji": ["csw", "shelter_dv"],
            "Kapaciteti": [12, "8,5"],
            "Latitude": [42.15, 42.05],
            "Longitude": [20.05, "20,15"],
        }
    )
    with pd.ExcelWriter(path) as writer:
        frame.to_excel(writer, sheet_name="Services", index=False)
        pd.DataFrame({"note": ["made up"]}).to_excel(writer, sheet_name="Notes", index=False)
    with pytest.warns(UserWarning) as record:
        services = io.read_services(path, columns=SERVICE_COLUMNS, taxonomy=TAXONOMY)
    assert len(record) == 1  # one warning listing everything
    text = str(record[0].message)
    assert "Read the first sheet 'Services'" in text
    assert "Removed spaces" in text
    assert services["service_id"].tolist() == ["101", "102"]
    assert services["name"].tolist() == ["Qendra", "Strehimore"]
    assert services["capacity"].tolist() == [12.0, 8.5]
    assert services.geometry.iloc[1].equals(Point(20.15, 42.05))


def test_xlsx_sheet_argument(tmp_path):
    path = tmp_path / "pop.xlsx"
    with pd.ExcelWriter(path) as writer:
        pd.DataFrame({"x": [1]}).to_excel(writer, sheet_name="Cover", index=False)
        pd.DataFrame({"area_id": ["A1", "A2"], "population": [10, 20]}).to_excel(
            writer, sheet_name="Data", index=False
        )
    population = read_quietly(io.read_population, path, sheet="Data")
    assert population["population"].tolist() == [10.0, 20.0]
    with pytest.raises(DataSourceError, match="no sheet 'Daten'"):
        io.read_population(path, sheet="Daten")


def test_xlsx_row_numbers_count_the_header_as_row_1(tmp_path):
    path = tmp_path / "pop.xlsx"
    pd.DataFrame({"area_id": ["A1", "A2", "A3"], "population": [10, "many", 30]}).to_excel(path, index=False)
    with pytest.raises(ValidationError) as info:
        io.read_population(path)
    (problem,) = info.value.errors
    assert (problem.row, problem.column) == (3, "population")
    assert "'many'" in problem.message


# ------------------------------------------------------------------------------------------------
# Population
# ------------------------------------------------------------------------------------------------


def test_read_population_fixture_with_areas():
    population = read_quietly(io.read_population, DATA / "population.csv", areas=areas_gdf())
    assert list(population.columns) == ["area_id", "population"]
    assert population["population"].sum() == 1200 + 3400 + 560 + 7800
    assert type(population) is pd.DataFrame


def test_population_extra_columns_become_numbers_but_codes_keep_their_zeros(tmp_path):
    text = "kas_code;area_id;population;age_65_plus;note\n01;A1;1200;130,5;x\n02;A2;3400;400;y\n"
    population = read_quietly(io.read_population, write_csv(tmp_path / "p.csv", text))
    assert population["kas_code"].tolist() == ["01", "02"]
    assert population["age_65_plus"].tolist() == [130.5, 400.0]
    assert population["note"].tolist() == ["x", "y"]


def test_population_ids_must_be_areas(tmp_path):
    text = "area_id,population\nA1,10\nA9,20\n"
    with pytest.raises(ValidationError) as info:
        io.read_population(write_csv(tmp_path / "p.csv", text), areas=areas_gdf())
    (problem,) = info.value.errors
    assert (problem.row, problem.column) == (3, "area_id")
    assert "'A9' is not one of the areas" in problem.message
    warning = [p for p in info.value.problems if p.severity == "warning"][0]
    assert "3 areas have no population row" in warning.message


# --- join by name: needs socialmap.names (names.match) ----------------------------------------------
def test_read_population_joins_by_name_with_names_match(tmp_path):
    areas = areas_gdf().assign(name=["Prishtinë", "Pejë", "Gjakovë", "Prizren"])
    text = "Komuna,Popullsia\nPrishtina,200000\nPeja,90000\nGjakova,78000\nPrizren,170000\n"
    population = read_quietly(
        io.read_population,
        write_csv(tmp_path / "p.csv", text),
        columns={"Komuna": "name", "Popullsia": "population"},
        areas=areas,
    )
    assert population["area_id"].tolist() == ["A1", "A2", "A3", "A4"]
    assert population["name"].tolist() == ["Prishtina", "Peja", "Gjakova", "Prizren"]


def test_read_population_name_that_matches_no_area_is_an_error(tmp_path):
    areas = areas_gdf().assign(name=["Prishtinë", "Pejë", "Gjakovë", "Prizren"])
    text = "name,population\nPrishtina,200000\nAtlantis,5\n"
    with pytest.raises(ValidationError) as info:
        io.read_population(write_csv(tmp_path / "p.csv", text), areas=areas)
    (problem,) = info.value.errors
    assert (problem.row, problem.column) == (3, "name")
    assert "'Atlantis' matches no area" in problem.message


# ------------------------------------------------------------------------------------------------
# Limits and unreadable files
# ------------------------------------------------------------------------------------------------


def test_file_larger_than_max_upload_bytes(tmp_path, monkeypatch):
    monkeypatch.setattr(settings, "max_upload_bytes", 100)
    with pytest.raises(DataSourceError, match="more than the limit of 100 bytes .*max_upload_bytes"):
        io.read_areas(DATA / "areas.geojson")


def test_zip_that_unpacks_beyond_max_upload_bytes(tmp_path, monkeypatch):
    archive = zip_shapefile(areas_gdf(), tmp_path)
    with zipfile.ZipFile(archive) as z:
        unpacked = sum(i.file_size for i in z.infolist())
    assert archive.stat().st_size < unpacked - 1
    monkeypatch.setattr(settings, "max_upload_bytes", unpacked - 1)
    with pytest.raises(DataSourceError, match="unpacked is"):
        io.read_areas(archive)


@pytest.mark.parametrize("name", ["areas.geojson", "services.csv"])
def test_more_rows_than_max_features(monkeypatch, name):
    monkeypatch.setattr(settings, "max_features", 3)
    with pytest.raises(DataSourceError, match="more than the limit of 3 .*max_features"):
        (io.read_areas if name.endswith("json") else io.read_services)(DATA / name)


def test_geopackage_with_several_layers_needs_layer(tmp_path):
    path = tmp_path / "two.gpkg"
    areas_gdf().to_file(path, layer="municipalities")
    services_gdf().to_file(path, layer="services")
    with pytest.raises(DataSourceError, match="has 2 layers: municipalities, services") as info:
        io.read_areas(path)
    assert "layer=" in str(info.value)
    assert len(read_quietly(io.read_areas, path, layer="municipalities")) == 4
    with pytest.raises(DataSourceError, match="no layer 'roads'"):
        io.read_areas(path, layer="roads")


def test_zip_with_several_shapefiles_needs_layer(tmp_path):
    archive = tmp_path / "both.zip"
    for name, gdf in (
        ("areas", areas_gdf()),
        ("services", services_gdf().rename(columns={"service_type": "type"})),
    ):
        gdf.to_file(tmp_path / f"{name}.shp")
    with zipfile.ZipFile(archive, "w") as z:
        for part in tmp_path.iterdir():
            if part.stem in ("areas", "services") and part.suffix != ".zip":
                z.write(part, part.name)
    with pytest.raises(DataSourceError, match="several datasets"):
        io.read_areas(archive)
    services = read_quietly(io.read_services, archive, layer="services", columns={"type": "service_type"})
    assert len(services) == 3


def test_missing_file_and_unknown_formats(tmp_path):
    with pytest.raises(DataSourceError, match="does not exist"):
        io.read_areas(tmp_path / "nope.geojson")
    with pytest.raises(DataSourceError, match="cannot tell the format"):
        io.read_areas(write_csv(tmp_path / "areas.dat", "x"))
    with pytest.raises(DataSourceError, match="Save it as .xlsx"):
        io.read_population(write_csv(tmp_path / "old.xls", "x"))
    with pytest.raises(DataSourceError, match="cannot be read as GeoJSON"):
        io.read_areas(write_csv(tmp_path / "broken.geojson", '{"type": "FeatureColl'))
    with pytest.raises(DataSourceError, match="not a valid ZIP"):
        io.read_areas(write_csv(tmp_path / "fake.zip", "not a zip"))


def test_loader_raises_one_error_with_every_problem(tmp_path):
    text = "service_id;name;service_type;capacity;lat;lon\nS1;A;csw;-2;42,1;20,1\nS1;B;spa;x;42,1;20,1\n"
    with pytest.raises(ValidationError) as info:
        io.read_services(write_csv(tmp_path / "s.csv", text), taxonomy=TAXONOMY)
    found = {(p.row, p.column) for p in info.value.errors}
    assert found == {(2, "capacity"), (3, "service_id"), (3, "capacity"), (3, "service_type")}


def test_plain_parquet_population_table(tmp_path):
    path = tmp_path / "population.parquet"
    pd.DataFrame({"area_id": [1, 2], "population": [10, 20]}).to_parquet(path)
    population = read_quietly(io.read_population, path)
    assert population["area_id"].tolist() == ["1", "2"]
    assert population["population"].tolist() == [10.0, 20.0]


def test_a_file_that_is_not_what_its_name_says(tmp_path):
    with pytest.raises(DataSourceError, match="cannot be read as an Excel workbook"):
        io.read_population(write_csv(tmp_path / "table.xlsx", "area_id,population\n"))
    with pytest.raises(DataSourceError, match=r"cannot be read as \(Geo\)Parquet"):
        io.read_population(write_csv(tmp_path / "table.parquet", "area_id,population\n"))


# ------------------------------------------------------------------------------------------------
# Broken input found by tests/test_fuzz.py
# ------------------------------------------------------------------------------------------------


def test_blank_lines_above_the_header_are_skipped_and_counted(tmp_path):
    text = "\n\nservice_id,name,service_type,capacity,lat,lon\nS1,One,csw,abc,42.1,20.1\n"
    with pytest.raises(ValidationError) as info:
        io.read_services(write_csv(tmp_path / "s.csv", text))
    (problem,) = info.value.errors
    assert (problem.row, problem.column) == (4, "capacity")


def test_xlsx_blank_rows_above_the_header_are_skipped_and_counted(tmp_path):
    from openpyxl import Workbook

    book = Workbook()
    sheet = book.active
    sheet["A3"], sheet["B3"] = "area_id", "population"
    sheet["A4"], sheet["B4"] = "A1", "many"
    book.save(tmp_path / "p.xlsx")
    with pytest.raises(ValidationError) as info:
        io.read_population(tmp_path / "p.xlsx")
    (problem,) = info.value.errors
    assert (problem.row, problem.column) == (4, "population")


def test_csv_truncated_utf16_is_a_clear_error(tmp_path):
    path = tmp_path / "s.csv"
    path.write_bytes("area_id,population\nA1,5\n".encode("utf-16")[:-1])
    with pytest.raises(DataSourceError, match="UTF-16 marker but is not valid UTF-16"):
        io.read_population(path)


def test_csv_utf16_without_bom_is_read_with_a_warning(tmp_path):
    path = tmp_path / "p.csv"
    path.write_bytes("area_id,population\nA1,5\n".encode("utf-16-le"))
    with pytest.warns(UserWarning, match="looks like UTF-16-LE"):
        population = io.read_population(path)
    assert population["population"].tolist() == [5.0]


def test_gdal_warnings_come_out_in_the_loaders_one_warning(tmp_path):
    path = write_csv(
        tmp_path / "a.geojson",
        '{"type": "FeatureCollection", "features": [{"type": "Feature", "properties": '
        '{"area_id": "A1", "name": "One"}, "geometry": {"type": "Circle", "coordinates": [1, 2]}}]}',
    )
    with pytest.raises(ValidationError) as info:
        io.read_areas(path)
    messages = [p.message for p in info.value.problems]
    assert any("While reading the file:" in m and "NULL geometry" in m for m in messages)
    assert any("no geometry" in m for m in messages)


@pytest.mark.parametrize(
    ("name", "content", "match"),
    [
        ("a.gpkg", b"SQLite format 3\x00" + b"\x01" * 200, "cannot be read as GeoPackage"),
        ("a.zip", b"PK\x05\x06" + b"\x00" * 18, "holds no map data"),
        ("a.xlsx", b"PK\x03\x04garbage", "cannot be read as an Excel workbook"),
        ("a.parquet", b"PAR1garbagePAR1", r"cannot be read as \(Geo\)Parquet"),
        ("a.csv", b'a,b\n"1,2\n', "cannot be read as CSV"),
    ],
)
def test_third_party_failures_become_data_source_errors_naming_the_file(tmp_path, name, content, match):
    path = tmp_path / name
    path.write_bytes(content)
    with pytest.raises(DataSourceError, match=match) as info:
        io.read_areas(path)
    assert str(info.value).startswith(str(path)) and "Fix:" in str(info.value)
    assert info.value.__cause__ is not None or "holds no map data" in str(info.value)


def test_too_many_columns(tmp_path):
    header = ",".join(["area_id", "population", *(f"c{i}" for i in range(1000))])
    path = write_csv(tmp_path / "p.csv", header + "\n" + ",".join(["A1", "5", *("1" * 1000)]) + "\n")
    with pytest.raises(DataSourceError, match=r"has 1,002 columns, more than the limit of 1,000 \("):
        io.read_population(path)
