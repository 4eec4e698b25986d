"""The embedded Kosovo demo data as shipped in data/ (read, never rebuilt), checked against the public facts.

Expected numbers come from ../shared/data/kosovo/municipalities.csv, not from the build script.
"""

from __future__ import annotations

import itertools
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
import shapely
import yaml

REPO = Path(__file__).resolve().parents[1]
DATA = REPO / "data"
AREAS = DATA / "boundaries" / "kosovo_municipalities.geojson"
OUTLINE = DATA / "boundaries" / "kosovo_outline.geojson"
POPULATION = DATA / "population" / "kosovo_population_2024.csv"
SERVICES = DATA / "services" / "kosovo_services.csv"
TAXONOMY = REPO / "socialmap" / "taxonomies" / "kosovo.yaml"

EQUAL_AREA = "EPSG:3035"
#: Each schematic polygon is within this share of its official (or documented fallback) area.
AREA_TOLERANCE = 0.15
#: Reference areas where the facts have no official one, as documented in data/README.md. Each is one of
#: the alternatives the row's notes give (checked below); none is official.
AREA_FALLBACKS = {"16": 278.0, "22": 134.0, "23": 247.36, "36": 77.62, "37": 29.0}
#: How the facts table marks the northern municipalities' final 2024 figures.
KAS_ESTIMATE_MARK = "KAS ESTIMATE"
SERVICE_COLUMNS = [
    "service_id",
    "name",
    "service_type",
    "capacity",
    "provider",
    "illustrative",
    "lon",
    "lat",
    "area_id",
    "name_sq",
    "name_sr",
    "name_en",
]
POPULATION_COLUMNS = [
    "area_id", "name", "population", "year", "population_source", "population_is_estimate", "estimate_method",
]  # fmt: skip


@pytest.fixture(scope="module")
def facts(shared_kosovo: Path) -> pd.DataFrame:
    table = pd.read_csv(shared_kosovo / "municipalities.csv", dtype={"kas_code": str})
    return table.sort_values("kas_code").reset_index(drop=True)


@pytest.fixture(scope="module")
def areas() -> gpd.GeoDataFrame:
    gdf = gpd.read_file(AREAS)
    return gdf.sort_values("area_id").reset_index(drop=True)


@pytest.fixture(scope="module")
def areas_m(areas: gpd.GeoDataFrame) -> gpd.GeoDataFrame:
    return areas.to_crs(EQUAL_AREA)


@pytest.fixture(scope="module")
def outline() -> shapely.Polygon:
    gdf = gpd.read_file(OUTLINE)
    assert len(gdf) == 1
    return gdf.geometry.iloc[0]


@pytest.fixture(scope="module")
def population() -> pd.DataFrame:
    return pd.read_csv(POPULATION, dtype={"area_id": str}, keep_default_na=False, na_values=[""])


@pytest.fixture(scope="module")
def services() -> pd.DataFrame:
    return pd.read_csv(SERVICES, dtype={"area_id": str, "service_id": str})


def reference_areas(facts: pd.DataFrame) -> pd.Series:
    """Official area, or the documented fallback where the official one is blank (km², by KAS code)."""
    ref = facts.set_index("kas_code")["area_km2"].copy()
    for code, value in AREA_FALLBACKS.items():
        ref[code] = value
    return ref


def seats(facts: pd.DataFrame) -> gpd.GeoSeries:
    points = gpd.points_from_xy(facts["seat_lon_approx"], facts["seat_lat_approx"])
    return gpd.GeoSeries(points, index=facts["kas_code"], crs="EPSG:4326")


# ----------------------------------------------------------------------------------------- boundaries


def test_areas_are_the_38_municipalities_with_their_names(areas, facts):
    assert areas.crs.equals("EPSG:4326")
    assert len(areas) == 38
    assert areas["area_id"].is_unique
    assert list(areas["area_id"]) == list(facts["kas_code"])
    assert list(areas["name"]) == list(facts["name_sq"])
    assert list(areas["name_sq"]) == list(facts["name_sq"])
    assert list(areas["name_sr"]) == list(facts["name_sr_latn"])
    assert list(areas["name_en"]) == list(facts["name_en"])
    assert list(areas["district"]) == list(facts["district"])
    assert (areas["boundaries"] == "schematic").all()
    official = pd.to_numeric(areas["area_km2_official"])
    np.testing.assert_array_equal(official.isna(), facts["area_km2"].isna())
    np.testing.assert_allclose(official.dropna(), facts["area_km2"].dropna())


def test_polygons_are_single_and_valid(areas):
    assert (areas.geom_type == "Polygon").all()
    assert areas.is_valid.all()


def test_polygons_tile_the_outline_without_gaps(areas, areas_m, outline):
    # Between municipalities the fit is exact: a valid coverage (no gaps, no overlaps, shared edges match).
    assert shapely.coverage_is_valid(areas.geometry.to_numpy())
    union = shapely.union_all(areas_m.geometry.to_numpy())
    assert union.geom_type == "Polygon"
    assert len(union.interiors) == 0
    # Against the outline: edges meet it at points rounded to 1e-5 degrees, so allow about a metre.
    outline_m = gpd.GeoSeries([outline], crs="EPSG:4326").to_crs(EQUAL_AREA).iloc[0]
    assert outline_m.area / 1e6 == pytest.approx(10_900, rel=0.01)  # Kosovo: about 10,900 km²
    assert union.area == pytest.approx(outline_m.area, rel=1e-5)
    assert shapely.hausdorff_distance(union.exterior, outline_m.exterior, densify=0.001) < 3.0  # metres


def test_polygons_do_not_overlap(areas_m):
    geoms = areas_m.geometry.to_numpy()
    overlaps = {}
    for i, j in itertools.combinations(range(len(geoms)), 2):
        if geoms[i].intersects(geoms[j]):
            area = shapely.intersection(geoms[i], geoms[j]).area
            if area > 1.0:  # m²
                overlaps[(areas_m["area_id"][i], areas_m["area_id"][j])] = area
    assert overlaps == {}
    assert areas_m.area.sum() == pytest.approx(shapely.union_all(geoms).area, rel=1e-8)


def test_each_polygon_holds_its_seat(areas, facts, outline):
    seat = seats(facts)
    polygons = areas.set_index("area_id").geometry
    inside_outline = seat.within(outline)
    # The approximate seats (2 decimals) and the generalised 1:10m outline can disagree at the border:
    # at most one seat (Hani i Elezit) falls outside it, and is then within 1 km of its own polygon,
    # nearer to it than to any other.
    assert (~inside_outline).sum() <= 1
    for code, point in seat.items():
        if inside_outline[code]:
            assert polygons[code].contains(point), code
        else:
            distances = (
                gpd.GeoSeries(polygons, crs="EPSG:4326")
                .to_crs(EQUAL_AREA)
                .distance(gpd.GeoSeries([point], crs="EPSG:4326").to_crs(EQUAL_AREA).iloc[0])
            )
            assert distances.idxmin() == code
            assert distances[code] < 1000


def test_areas_are_within_15_percent_of_the_official_area(areas_m, facts):
    ref = reference_areas(facts)
    schematic = areas_m.set_index("area_id").area / 1e6
    deviation = schematic / ref[schematic.index] - 1
    assert deviation.abs().max() <= AREA_TOLERANCE, deviation[deviation.abs() > AREA_TOLERANCE].to_dict()
    # The tiny ones next to big ones are the hard part.
    for code in ("32", "34", "38"):  # Mamushë, Kllokot, North Mitrovica
        assert abs(deviation[code]) <= AREA_TOLERANCE


def test_area_fallbacks_are_the_documented_alternatives(facts):
    by_code = facts.set_index("kas_code")
    assert set(by_code.index[by_code["area_km2"].isna()]) == set(AREA_FALLBACKS)
    for code, value in AREA_FALLBACKS.items():
        notes = by_code.loc[code, "notes"]
        assert f"{value:g}" in notes, (code, notes)
    readme = (DATA / "README.md").read_text(encoding="utf-8")
    for value in AREA_FALLBACKS.values():
        assert f"{value:g} km²" in readme
    assert "not official" in readme


# ----------------------------------------------------------------------------------------- population


def test_population_has_one_row_per_municipality(population, facts):
    assert list(population.columns) == POPULATION_COLUMNS
    assert list(population["area_id"]) == list(facts["kas_code"])
    assert list(population["name"]) == list(facts["name_sq"])
    assert (population["year"] == 2024).all()
    assert population["population"].dtype.kind == "i"
    assert (population["population"] > 0).all()
    assert population["population_is_estimate"].dtype == bool
    assert population["population_source"].notna().all()


def test_population_uses_the_census_figures_in_priority_order(population, facts):
    pop = population.set_index("area_id")
    expected_2024 = (
        facts.set_index("kas_code")[
            ["pop_2024_final_dec2024", "pop_2024_prelim_jul2024", "pop_2024_series_unstated"]
        ]
        .bfill(axis=1)
        .iloc[:, 0]
    )
    found = expected_2024.dropna()
    assert (pop.loc[found.index, "population"] == found.astype(int)).all()
    # Sources name the series the figure belongs to.
    final = facts.set_index("kas_code")["pop_2024_final_dec2024"].notna()
    assert pop.loc[final[final].index, "population_source"].str.contains("final").all()


def test_population_estimates_are_marked_and_explained(population, facts):
    pop = population.set_index("area_id")
    f = facts.set_index("kas_code")
    figures = f[["pop_2024_final_dec2024", "pop_2024_prelim_jul2024", "pop_2024_series_unstated"]].bfill(
        axis=1
    )
    figure_2024 = figures.iloc[:, 0]
    missing = figure_2024.index[figure_2024.isna()]
    assert len(missing) >= 1  # Kaçanik and Shtime have no 2024 figure in the facts
    # Our own estimate: 2011 census x the national 2011->2024 ratio over municipalities with both.
    both = figure_2024.notna() & f["pop_2011_census"].notna()
    ratio = figure_2024[both].sum() / f.loc[both, "pop_2011_census"].sum()
    for code in missing:
        assert pop.loc[code, "population_is_estimate"]
        assert pop.loc[code, "population"] == round(f.loc[code, "pop_2011_census"] * ratio)
        assert f"{ratio:.6f}" in pop.loc[code, "estimate_method"]
    # The northern municipalities' final figures are KAS estimates: marked as estimates, and said so.
    kas = f.index[
        f["pop_2024_final_dec2024"].notna()
        & f["src_pop_2024_final"].str.upper().str.contains(KAS_ESTIMATE_MARK)
    ]
    assert len(kas) == 4
    for code in kas:
        assert pop.loc[code, "population_is_estimate"]
        assert "KAS estimate" in pop.loc[code, "estimate_method"]
    # Every estimate is explained; nothing else is an estimate.
    estimates = pop["population_is_estimate"]
    assert set(estimates.index[estimates]) == set(missing) | set(kas)
    assert pop.loc[estimates, "estimate_method"].notna().all()
    assert pop.loc[~estimates, "estimate_method"].isna().all()


# ------------------------------------------------------------------------------------------- services


def test_services_columns_ids_and_types(services):
    assert list(services.columns) == SERVICE_COLUMNS
    assert services["service_id"].is_unique
    assert services["illustrative"].dtype == bool
    taxonomy = yaml.safe_load(TAXONOMY.read_text(encoding="utf-8"))
    types = set(taxonomy["service_types"])
    assert set(services["service_type"]) <= types
    expected = {"csw", "day_care_disability", "home_care_elderly", "residential_elderly", "shelter_dv",
                "community_housing", "counselling_family"}  # fmt: skip
    assert set(services["service_type"]) == expected
    assert set(services["provider"]) <= {"public", "ngo", "private"}


def test_service_names_in_three_languages_name_the_municipality_in_that_language(services, facts):
    names = facts.set_index("kas_code")
    assert (services["name"] == services["name_en"]).all()
    for _, row in services.iterrows():
        area = names.loc[row["area_id"]]
        assert row["name_sq"].endswith(f"– {area['name_sq']}") and row["name_en"].endswith(
            f"– {area['name_sq']}"
        )
        assert row["name_sr"].endswith(f"– {area['name_sr_latn']}")
    csw = services[services["service_type"] == "csw"]
    assert csw["name_sq"].str.startswith("Qendra për Punë Sociale – ").all()
    assert csw["name_sr"].str.startswith("Centar za socijalni rad – ").all()
    illustrative = services[services["illustrative"]]
    assert illustrative["name_sq"].str.contains("(ilustrues)", regex=False).all()
    assert illustrative["name_sr"].str.contains("(ilustrativno)", regex=False).all()


def test_one_centre_for_social_work_per_municipality_at_its_seat(services, facts, outline):
    csw = services[services["service_type"] == "csw"].set_index("area_id")
    assert len(csw) == 38
    assert sorted(csw.index) == sorted(facts["kas_code"])
    assert not csw["illustrative"].any()
    assert csw["capacity"].isna().all()  # unknown, never 1
    seat = seats(facts)
    inside = seat.within(outline)
    for code, row in csw.iterrows():
        if inside[code]:
            assert (row["lon"], row["lat"]) == (seat[code].x, seat[code].y)
        else:  # moved just inside the outline, within 1 km
            point = gpd.GeoSeries(gpd.points_from_xy([row["lon"]], [row["lat"]]), crs="EPSG:4326")
            moved = point.to_crs(EQUAL_AREA).distance(
                gpd.GeoSeries([seat[code]], crs="EPSG:4326").to_crs(EQUAL_AREA)
            )
            assert moved.iloc[0] < 1000


def test_other_services_are_flagged_illustrative(services):
    others = services[services["service_type"] != "csw"]
    assert len(others) > 0
    assert others["illustrative"].all()
    assert others["name"].str.contains("(illustrative)", regex=False).all()
    assert (others["capacity"] > 0).all()
    counts = others["service_type"].value_counts()
    assert counts["shelter_dv"] == 10  # facts: 10 shelters
    assert 25 <= counts["day_care_disability"] <= 35  # facts: about 30 day-care centres


def test_services_lie_inside_their_own_municipality(services, areas):
    points = gpd.GeoDataFrame(
        services[["service_id", "area_id"]],
        geometry=gpd.points_from_xy(services["lon"], services["lat"]),
        crs="EPSG:4326",
    )
    joined = gpd.sjoin(points, areas[["area_id", "geometry"]], how="left", predicate="within")
    assert len(joined) == len(services)  # each point in exactly one polygon
    mismatched = joined[joined["area_id_left"] != joined["area_id_right"]]
    assert mismatched.empty, mismatched[["service_id", "area_id_left", "area_id_right"]].to_dict("records")


def test_readme_warns_and_says_how_to_rebuild():
    readme = (DATA / "README.md").read_text(encoding="utf-8")
    assert "schematic" in readme
    assert "illustrative" in readme
    assert "scripts/build_demo.py" in readme
    assert "world-atlas@2.0.2" in readme
