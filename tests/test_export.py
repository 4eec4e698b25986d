"""export: CSV, XLSX, GeoPackage and GeoJSON that are safe to publish (no formulas, small counts hidden)."""

from __future__ import annotations

import json
import re
import textwrap

import geopandas as gpd
import openpyxl
import pandas as pd
import pytest
from shapely.geometry import Point, box

from socialmap import analyze, load_taxonomy
from socialmap.errors import SocialMapError
from socialmap.export import export_table, neutralise_formulas, neutralise_value, write_csv, write_xlsx
from socialmap.privacy import protect

CRS = "EPSG:32634"
PAYLOADS = ['=HYPERLINK("http://x","click")', "+cmd|' /C calc'!A0", "@SUM(1)", "-2+3", "\t=1+1", "\r=1+1"]
TAXONOMY = """
schema_version: 1
name: exptest
sources:
  def: {citation: "by definition"}
target_groups:
  everyone:
    label: {en: Everyone, sq: Të gjithë, sr: Svi}
    rate: 1.0
    source: def
  victims:
    label: {en: Victims, sq: Viktimat, sr: Žrtve}
    rate: null
    column: pop_victims
    sensitive: true
service_types:
  day:
    label: {en: Day care, sq: Qendër ditore, sr: Dnevni boravak}
    target_groups: [everyone]
  shelter:
    label: {en: Shelter, sq: Strehimore, sr: Sklonište}
    target_groups: [victims]
    sensitive: true
"""
NAMES = [PAYLOADS[0], PAYLOADS[1], PAYLOADS[2], "Pejë", "Đakovica", PAYLOADS[3]]
VICTIMS = [2.0, 40.0, 9.0, 0.0, 12.0, 30.0]


@pytest.fixture(autouse=True)
def _english(monkeypatch):
    """Outputs made without ``lang`` are in the default language: English here, whatever the machine's."""
    monkeypatch.setenv("SOCIALMAP_LANG", "en")


@pytest.fixture
def result(tmp_path):
    path = tmp_path / "taxonomy.yaml"
    path.write_text(textwrap.dedent(TAXONOMY), encoding="utf-8")
    tax = load_taxonomy(path)
    ids = [f"{i:02d}" for i in range(1, 7)]
    cells = [box(x * 1e4, y * 1e4, (x + 1) * 1e4, (y + 1) * 1e4) for y in range(2) for x in range(3)]
    areas = gpd.GeoDataFrame({"area_id": ids, "name": NAMES}, geometry=cells, crs=CRS)
    population = pd.DataFrame(
        {"area_id": ids, "population": [1000.0, 3000.0, 500.0, 2000.0, 800.0, 4000.0], "pop_victims": VICTIMS}
    )
    services = gpd.GeoDataFrame(
        {
            "service_id": ["s1", "s2", "s3"],
            "name": [PAYLOADS[0], "@SUM(1)", "Safe house (secret)"],
            "service_type": ["day", "day", "shelter"],
            "capacity": [100.0, 50.0, 10.0],
        },
        geometry=[Point(5000, 5000), Point(25000, 15000), Point(15000, 5000)],
        crs=CRS,
    )
    return analyze(areas, services, population, taxonomy=tax, spreading="representative", catchment_m=15_000)


def test_neutralise_prefixes_formula_text_only():
    df = pd.DataFrame({"name": [*PAYLOADS, "Pejë", None], "n": [-1.0, 2, 3, 4, 5, 6, 7, 8]})
    out = neutralise_formulas(df)
    assert all(v.startswith("'") for v in out["name"][: len(PAYLOADS)])
    assert out["name"].iloc[len(PAYLOADS)] == "Pejë"
    assert out["n"].tolist() == df["n"].tolist()
    assert neutralise_value(-3) == -3
    assert list(neutralise_formulas(pd.DataFrame({"=bad": [1]})).columns) == ["'=bad"]


def test_csv_has_bom_semicolon_option_and_inert_payloads(result, tmp_path):
    path = export_table(result, tmp_path / "areas.csv", table="by_service_type", sep=";")
    raw = path.read_bytes()
    assert raw.startswith(b"\xef\xbb\xbf")
    text = raw.decode("utf-8-sig")
    assert "Đakovica" in text and "Pejë" in text
    table = pd.read_csv(path, sep=";", encoding="utf-8-sig", dtype=str, keep_default_na=False)
    for payload in NAMES[:3] + [NAMES[5]]:
        assert "'" + payload in set(table["name"])
    assert not any(v.startswith(("=", "+", "-", "@", "\t", "\r")) for col in table for v in table[col])
    shelter = table[table["service_type"] == "shelter"].set_index("area_id")
    assert shelter.loc["01", "need"] == "<5"
    assert shelter.loc["01", "unmet_need"] == "<5"
    assert "[c]" in set(shelter["need"])


def test_services_csv_is_inert_and_leaves_out_sensitive_services(result, tmp_path):
    path = export_table(result, tmp_path / "services.csv", table="services")
    table = pd.read_csv(path, encoding="utf-8-sig", dtype=str)
    assert "'" + PAYLOADS[0] in set(table["name"]) and "'@SUM(1)" in set(table["name"])
    assert "Safe house (secret)" not in set(table["name"])
    assert {"lon", "lat"} <= set(table.columns)


def test_xlsx_cells_are_text_never_formulas(result, tmp_path):
    path = export_table(result, tmp_path / "export.xlsx")
    book = openpyxl.load_workbook(path)
    assert book.sheetnames == [
        "areas",
        "by service type",
        "national totals",
        "services",
        "sources",
        "columns",
    ]
    found = []
    for sheet in book.worksheets:
        for row in sheet.iter_rows():
            for cell in row:
                assert cell.data_type != "f", (sheet.title, cell.coordinate, cell.value)
                if isinstance(cell.value, str) and any(p in cell.value for p in PAYLOADS):
                    assert cell.data_type == "s"
                    assert cell.value.startswith("'")
                    found.append(cell.value)
    assert "'" + PAYLOADS[0] in found and "'" + PAYLOADS[1] in found and "'@SUM(1)" in found
    areas = book["areas"]
    header = [c.value for c in areas[1]]
    names = [r[header.index("name")] for r in areas.iter_rows(min_row=2, values_only=True)]
    assert "Đakovica" in names
    by_type = book["by service type"]
    header = [c.value for c in by_type[1]]
    rows = [dict(zip(header, r, strict=True)) for r in by_type.iter_rows(min_row=2, values_only=True)]
    shelter = {r["area_id"]: r for r in rows if r["service_type"] == "shelter"}
    assert shelter["01"]["need"] == "<5"
    day = {r["area_id"]: r for r in rows if r["service_type"] == "day"}
    assert day["02"]["need"] == pytest.approx(3000.0)  # numbers stay numbers
    sources = {r[0]: r[1] for r in book["sources"].iter_rows(min_row=2, values_only=True)}
    assert sources["population_year"] == "unknown"
    assert "suppression_rule" in sources and "'<5'" in sources["suppression_rule"]
    assert sources["rates.everyone.sources"].startswith("by definition")


def test_write_xlsx_drops_control_characters_and_keeps_formula_text_inert(tmp_path):
    df = pd.DataFrame({"a": ["=1+1", "bell\x07", 1.5, None]})
    path = write_xlsx({"data": df, "data ": df}, tmp_path / "x.xlsx")
    book = openpyxl.load_workbook(path)
    assert book.sheetnames == ["data", "data 2"]
    values = [c.value for c in book["data"]["A"]]
    assert values == ["a", "'=1+1", "bell", 1.5]  # None: an empty cell


def test_geojson_is_wgs84_with_markers(result, tmp_path):
    path = export_table(result, tmp_path / "by_type.geojson")
    data = json.loads(path.read_text(encoding="utf-8"))
    assert data["type"] == "FeatureCollection"
    x, y = data["features"][0]["geometry"]["coordinates"][0][0]
    assert -180 <= x <= 180 and -90 <= y <= 90
    shelter = [f["properties"] for f in data["features"] if f["properties"]["service_type"] == "shelter"]
    assert {p["area_id"]: p["need"] for p in shelter}["01"] == "<5"
    assert any(p["name"] == "'" + PAYLOADS[0] for p in shelter)


def test_gpkg_keeps_numbers_numeric_and_marks_hidden_cells(result, tmp_path):
    path = export_table(result, tmp_path / "export.gpkg")
    by_type = gpd.read_file(path, layer="areas_by_service_type")
    assert pd.api.types.is_float_dtype(by_type["need"])
    shelter = by_type[by_type["service_type"] == "shelter"].set_index("area_id")
    assert pd.isna(shelter.loc["01", "need"]) and shelter.loc["01", "suppression"] == "<5"
    services = gpd.read_file(path, layer="services")
    assert "Safe house (secret)" not in set(services["name"])
    assert gpd.read_file(path, layer="areas").crs.to_epsg() == 4326


def test_every_format_hides_the_same_cells(result, tmp_path):
    prot = protect(result)
    csv = pd.read_csv(
        export_table(result, tmp_path / "a.csv", protected=prot),
        encoding="utf-8-sig",
        dtype=str,
        keep_default_na=False,
    )
    features = json.loads(
        export_table(result, tmp_path / "a.geojson", protected=prot).read_text(encoding="utf-8")
    )
    gj = pd.DataFrame([f["properties"] for f in features["features"]])
    gp = gpd.read_file(
        export_table(result, tmp_path / "a.gpkg", protected=prot), layer="areas_by_service_type"
    )
    marks = [
        frame.set_index(["service_type", "area_id"])["suppression"].fillna("").astype(str)
        for frame in (csv, gj, gp)
    ]
    assert marks[0].to_dict() == marks[1].to_dict() == marks[2].to_dict()


def test_unknown_suffix_and_table_are_errors_and_write_nothing(result, tmp_path):
    with pytest.raises(SocialMapError, match="suffixes"):
        export_table(result, tmp_path / "out.txt")
    with pytest.raises(SocialMapError, match="`table`"):
        export_table(result, tmp_path / "out.csv", table="everything")
    with pytest.raises(SocialMapError, match="no geometry"):
        export_table(result, tmp_path / "out.geojson", table="totals")
    assert list(tmp_path.glob("out.*")) == []


def test_failed_write_keeps_the_old_file(tmp_path):
    path = tmp_path / "t.xlsx"
    path.write_bytes(b"old")
    with pytest.raises(AttributeError):
        write_xlsx({"a": "not a table"}, path)  # fails inside the writer
    assert path.read_bytes() == b"old"
    assert [p.name for p in tmp_path.iterdir()] == ["t.xlsx"]
    with pytest.raises(SocialMapError, match="sep"):
        write_csv(pd.DataFrame({"a": [1]}), tmp_path / "t.csv", sep="|")


def test_write_result_hides_small_counts(result, tmp_path):
    from socialmap.export import write_result

    paths = write_result(result, tmp_path / "out")
    table = pd.read_csv(paths["csv"], encoding="utf-8-sig", dtype=str, keep_default_na=False)
    shelter = table[table["service_type"] == "shelter"].set_index("area_id")
    assert shelter.loc["01", "need"] == "<5"
    gp = gpd.read_file(paths["gpkg"], layer="areas_by_service_type")
    assert gp.loc[(gp["service_type"] == "shelter") & (gp["area_id"] == "01"), "suppression"].item() == "<5"


def test_xlsx_and_the_html_map_in_the_chosen_language(result, tmp_path):
    from socialmap.export import write_result

    path = export_table(result, tmp_path / "t.xlsx", lang="sr")
    book = openpyxl.load_workbook(path)
    sheets = ["područja", "po vrsti usluge", "nacionalni zbirovi", "usluge", "izvori", "kolone"]
    assert book.sheetnames == sheets
    columns = {row[0]: row[1] for row in book["kolone"].iter_rows(min_row=2, values_only=True)}
    assert columns["need"].startswith("Osobe kojima će usluga verovatno biti potrebna")
    sheet = book["po vrsti usluge"]
    labels = next(col for col in sheet.iter_cols(values_only=True) if col[0] == "service_label")
    assert "Dnevni boravak" in labels
    page = (write_result(result, tmp_path / "out", lang="sq")["map"]).read_text(encoding="utf-8")
    page = re.sub(r"\\u([0-9a-fA-F]{4})", lambda m: chr(int(m.group(1), 16)), page)  # JSON escapes
    assert "Shkalla e përbërë e mungesës (0–100) (2SFCA)" in page  # title: column and method
    assert "Renditja sipas mungesës së përbërë" in page and "Komuna" in page  # tooltip labels
    assert "Qendër ditore (" in page  # a service layer, by its label
    assert "popullsia " in page  # the note
