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
  std_src: {citation: "A planning standard, made up for the test"}
  cost_src: {citation: "A unit cost, made up for the test"}
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
    places_per_1000: 10
    places_per_1000_source: std_src
    unit_cost_eur_per_place_year: 2000
    unit_cost_source: cost_src
  shelter:
    label: {en: Shelter, sq: Strehimore, sr: Sklonište}
    target_groups: [victims]
    sensitive: true
"""
NAMES = [PAYLOADS[0], PAYLOADS[1], PAYLOADS[2], "Pejë", "Đakovica", PAYLOADS[3]]
COSTING_SHEETS = ["costing", "costing national", "costing by area", "costing sources", "costing notes"]
VICTIMS = [2.0, 40.0, 9.0, 0.0, 12.0, 30.0]


@pytest.fixture(autouse=True)
def _english(monkeypatch):
    """Outputs made without ``lang`` are in the default language: English here, whatever the machine's."""
    monkeypatch.setenv("SOCIALMAP_LANG", "en")


def make_result(tmp_path, shelter_at=(15000, 5000)):
    """Six 10 km squares 01-06 (01-03 south, west to east); day care in 01 and 06, the shelter in 02."""
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
        geometry=[Point(5000, 5000), Point(25000, 15000), Point(*shelter_at)],
        crs=CRS,
    )
    return analyze(areas, services, population, taxonomy=tax, spreading="representative", catchment_m=15_000)


@pytest.fixture
def result(tmp_path):
    return make_result(tmp_path)


def test_neutralise_prefixes_formula_text_only():
    df = pd.DataFrame({"name": [*PAYLOADS, "Pejë", None], "n": [-1.0, 2, 3, 4, 5, 6, 7, 8]})
    out = neutralise_formulas(df)
    assert all(v.startswith("'") for v in out["name"][: len(PAYLOADS)])
    assert out["name"].iloc[len(PAYLOADS)] == "Pejë"
    assert out["n"].tolist() == df["n"].tolist()
    assert neutralise_value(-3) == -3
    assert list(neutralise_formulas(pd.DataFrame({"=bad": [1]})).columns) == ["'=bad"]


def test_neutralise_checks_text_of_every_text_type_and_keeps_clean_columns_as_they_are():
    df = pd.DataFrame(
        {
            "risky": pd.Series(["x", "=1+1", None] * 1000, dtype="string"),
            "clean": pd.Series(["Pejë", "Prizren", None] * 1000, dtype="string"),
            "mixed": pd.Series([["=1"], "+2", 3] * 1000, dtype=object),  # unhashable cells too
        }
    )
    out = neutralise_formulas(df)
    assert out["risky"].tolist()[:3] == ["x", "'=1+1", pd.NA] and out["risky"].dtype == df["risky"].dtype
    assert out["clean"].equals(df["clean"]) and out["clean"].dtype == df["clean"].dtype
    assert out["mixed"].tolist()[:3] == [["=1"], "'+2", 3]


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


def test_csv_numbers_are_rounded_for_what_they_mean_with_the_chosen_decimal_mark(tmp_path):
    frame = pd.DataFrame(
        {
            "need": [1460.7289124999998, 0.4],
            "gap_score": [295.3012724999999 / 3, -0.04],
            "covered_share": [0.75705544, 1.0],
            "access": [0.0012345678, None],
            "other": [295.3012724999999, 2 / 3],
            "name": ["-2+3", "Pejë"],
            "n": [-3.5, 12.0],
        }
    )
    comma = write_csv(frame, tmp_path / "c.csv", sep=";", decimals={"n": 1})
    lines = comma.read_text(encoding="utf-8-sig").splitlines()
    assert lines[0] == "need;gap_score;covered_share;access;other;name;n"
    # whole persons, scores to 0.1, shares to 0.001, places per person to 0.00001, 12 digits else;
    # a negative number stays a number, text that looks like a formula gets its quote.
    assert lines[1] == "1461;98,4;0,757;0,00123;295,3012725;'-2+3;-3,5"
    assert lines[2] == "0;0;1;;0,666666666667;Pejë;12"
    dot = write_csv(frame, tmp_path / "d.csv")
    dot_line = dot.read_text(encoding="utf-8-sig").splitlines()[1]
    assert dot_line == "1461,98.4,0.757,0.00123,295.3012725,'-2+3,-3.5"
    with pytest.raises(SocialMapError):
        write_csv(frame, tmp_path / "x.csv", sep=",", decimal=",")


def test_csv_in_albanian_with_a_semicolon_has_decimal_commas_and_no_float_noise(result, tmp_path):
    path = export_table(result, tmp_path / "sq.csv", table="by_service_type", sep=";", lang="sq")
    text = path.read_text(encoding="utf-8-sig")
    table = pd.read_csv(path, sep=";", encoding="utf-8-sig", dtype=str, keep_default_na=False)
    assert not re.search(r"\d\.\d", text)  # no decimal point anywhere
    assert not re.search(r"\d{6}", text.replace("area_id", ""))  # no long runs of digits (noise)
    day = table[table["service_type"] == "day"].set_index("area_id")
    expected = result.table[result.table["service_type"] == "day"].set_index("area_id")
    for area in day.index:
        gap = f"{expected.loc[area, 'gap_score']:.1f}".replace(".", ",").removesuffix(",0")
        assert day.loc[area, "gap_score"] == gap
        assert day.loc[area, "need"] == f"{expected.loc[area, 'need']:.0f}"


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
        *COSTING_SHEETS,
        "sources",
        "columns",
        "indicators",
        "equity",
        "equity definitions",
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


def test_xlsx_and_the_html_map_in_the_chosen_language(result, tmp_path, monkeypatch):
    from socialmap import i18n
    from socialmap.export import write_result

    # The costing sheets' titles, as the Serbian catalog has them once merged (set here until then).
    costing = ["troškovi", "nacionalni troškovi", "troškovi po područjima", "izvori troškova"]
    costing.append("napomene o troškovima")
    for english, serbian in zip(COSTING_SHEETS, costing, strict=True):
        monkeypatch.setitem(i18n._catalog("sr"), english, serbian)
    path = export_table(result, tmp_path / "t.xlsx", lang="sr")
    book = openpyxl.load_workbook(path)
    sheets = ["područja", "po vrsti usluge", "nacionalni zbirovi", "usluge", *costing, "izvori", "kolone"]
    assert book.sheetnames == [*sheets, "pokazatelji", "jednakost", "definicije jednakosti"]
    definitions = {row[0]: row[1:] for row in book["pokazatelji"].iter_rows(min_row=2, values_only=True)}
    assert list(definitions) == ["need", "places", "places_per_1000", "share_within_reach", "gap"]
    assert definitions["places"][0] == "Mesta"  # the indicator's name, in Serbian
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


# ---- the costing in the exports ---------------------------------------------------------------------
#
# Hand-worked figures for the `result` fixture, with the taxonomy's day-care figures (10 places per
# 1,000 residents, "std_src"; 2,000 EUR per place-year, "cost_src") and the user's shelter figures
# (500 places per 1,000 victims, 10,000 EUR per place-year). Supply is by reach (#18): the 2SFCA shares
# each service among everyone within 15 km of it (centres of the 10 km squares):
#   s1 (5, 5) km reaches 01, 02, 04, 05 (0, 10, 10, 14.1 km): R1 = 100 / 6,800;
#   s2 (25, 15) km reaches 02, 03, 05, 06 (14.1, 10, 10, 0 km): R2 = 50 / 8,300;
#   s3 (15, 5) km, the shelter, reaches every square (≤ 14.1 km): R3 = 10 / 93 victims.
#
#   area                        01      02      03      04      05      06    national
#   day need (population)     1000    3000     500    2000     800    4000      11,300
#   day places at standard      10      30       5      20       8      40         113
#   day places inside (s1, s2) 100       0       0       0       0      50         150
#   day places by reach       14.7    62.2     3.0    29.4    16.6    24.1         150
#   day places needed            0       0    1.99       0       0   15.90       17.89
#     (03: 5 − 500 × 50 / 8,300; 06: 40 − 4,000 × 50 / 8,300)
#   day budget (× 2,000)         0       0   3,976       0       0  31,807
#   shelter need (victims)       2      40       9       0      12      30          93
#   shelter places at standard   1      20     4.5       0       6      15        46.5
#   shelter places by reach  0.215   4.301   0.968       0   1.290   3.226          10  (need × 10 / 93)
#   shelter places needed    0.785  15.699   3.532       0   4.710  11.774        36.5
#   shelter budget (× 10,000)
#
# Suppression (threshold 5): shelter need 2 in 01 is "<5"; 9 in 03 is "[c]" (privacy's secondary
# rule), so their shelter costing rows are hidden (places by reach too: need × R gives the need back),
# the budget of areas 01 and 03 (which adds them) is hidden ("[c]"), and so are the shelter's national
# places needed and budget ("[c]").

SHELTER_USER = {"standards": {"shelter": 500}, "unit_costs": {"shelter": 10_000}}
DAY_NEEDED = {"01": 0, "02": 0, "03": 5 - 25_000 / 8_300, "04": 0, "05": 0, "06": 40 - 200_000 / 8_300}
DAY_BUDGET = {a: 2_000 * v for a, v in DAY_NEEDED.items()}
SHELTER_NEEDED = {"02": 20 - 400 / 93, "04": 0, "05": 6 - 120 / 93, "06": 15 - 300 / 93}
SHELTER_BUDGET = {a: 10_000 * v for a, v in SHELTER_NEEDED.items()}
HIDDEN_COSTING = ("target_group", "places_target", "supply", "places_needed", "budget_eur_per_year")
LINKED_COSTING = ("supply", "places_needed", "budget_eur_per_year")


def user_costing(result, **options):
    from socialmap.costing import places_and_budget

    return places_and_budget(result, **SHELTER_USER, **options)


def sheet_rows(book, title):
    sheet = book[title]
    header = [c.value for c in sheet[1]]
    return [dict(zip(header, r, strict=True)) for r in sheet.iter_rows(min_row=2, values_only=True)]


def read_csv_text(path, sep=","):
    return pd.read_csv(path, sep=sep, encoding="utf-8-sig", dtype=str, keep_default_na=False)


def comma_numbers(column):
    """Numbers of a CSV column written with a decimal comma (sep=";")."""
    return column.str.replace(",", ".", regex=False).astype(float)


def test_xlsx_costing_sheets_hand_worked_with_sources(result, tmp_path):
    path = export_table(result, tmp_path / "c.xlsx", costing=user_costing(result))
    book = openpyxl.load_workbook(path)
    rows = sheet_rows(book, "costing")
    day = {r["area_id"]: r for r in rows if r["service_type"] == "day"}
    assert {a: r["places_needed"] for a, r in day.items()} == pytest.approx(DAY_NEEDED)
    assert {a: r["budget_eur_per_year"] for a, r in day.items()} == pytest.approx(DAY_BUDGET)
    assert {a: r["places_target"] for a, r in day.items()} == {
        "01": 10,
        "02": 30,
        "03": 5,
        "04": 20,
        "05": 8,
        "06": 40,
    }
    assert {r["standard_source"] for r in day.values()} == {"std_src"}
    assert {r["cost_source"] for r in day.values()} == {"cost_src"}
    assert {r["cost_citation"] for r in day.values()} == {"A unit cost, made up for the test"}
    assert {r["standard_citation"] for r in day.values()} == {"A planning standard, made up for the test"}
    assert day["01"]["service_label"] == "Day care" and day["01"]["name"] == "'" + PAYLOADS[0]  # inert
    shelter = {r["area_id"]: r for r in rows if r["service_type"] == "shelter"}
    # The costing itself has the hand-worked figures; the export hides them in the linked rows (their
    # supply by reach depends on the hidden areas' need), and shows the figures of their own count.
    raw = user_costing(result).table.set_index(["service_type", "area_id"]).loc["shelter"]
    assert raw.loc[list(SHELTER_NEEDED), "places_needed"].to_dict() == pytest.approx(SHELTER_NEEDED)
    assert raw.loc[list(SHELTER_BUDGET), "budget_eur_per_year"].to_dict() == pytest.approx(SHELTER_BUDGET)
    for a in SHELTER_NEEDED:
        assert [shelter[a][c] for c in LINKED_COSTING] == ["[c]"] * 3
    assert shelter["05"]["places_target"] == pytest.approx(6.0)  # 12 victims × 500 / 1,000
    assert {r["standard_source"] for r in shelter.values()} == {"user-supplied"}
    assert {r["cost_source"] for r in shelter.values()} == {"user-supplied"}
    assert {r["cost_citation"] for r in shelter.values()} == {
        "given by the user, not taken from a published source"
    }

    national = {r["service_type"]: r for r in sheet_rows(book, "costing national")}
    assert national["day"]["places_target"] == 113 and national["day"]["supply"] == 150
    # The national shortfall is the sum of the areas' (each floored at 0), not 113 − 150.
    assert national["day"]["places_needed"] == pytest.approx(sum(DAY_NEEDED.values()))
    assert national["day"]["budget_eur_per_year"] == pytest.approx(sum(DAY_BUDGET.values()))
    assert (
        national["day"]["cost_source"] == "cost_src" and national["shelter"]["cost_source"] == "user-supplied"
    )
    assert national["shelter"]["target_group"] == 93 and national["shelter"]["places_target"] == 46.5

    by_area = {r["area_id"]: r["budget_eur_per_year"] for r in sheet_rows(book, "costing by area")}
    # Budget per area = day + shelter budgets: every area adds a hidden or linked shelter row: hidden.
    assert set(by_area.values()) == {"[c]"}

    sources = {(r["service_type"], r["figure"]): r for r in sheet_rows(book, "costing sources")}
    standard = "planning standard (places per 1,000 of the target group)"
    cost = "unit cost (EUR per place per year)"
    assert sources[("day", standard)]["value"] == 10 and sources[("day", standard)]["source"] == "std_src"
    assert sources[("day", cost)]["value"] == 2000
    assert sources[("day", cost)]["citation"] == "A unit cost, made up for the test"
    assert (
        sources[("shelter", cost)]["value"] == 10_000
        and sources[("shelter", cost)]["source"] == "user-supplied"
    )
    notes = [r["note"] for r in sheet_rows(book, "costing notes")]
    assert any(
        n.startswith("National places needed are the sum of the municipalities' shortfalls") for n in notes
    )
    assert any("'user-supplied' were entered by the user" in n for n in notes)
    described = {r[0] for r in book["columns"].iter_rows(min_row=2, values_only=True)}
    assert {"places_needed", "budget_eur_per_year", "cost_source", "places_per_1000"} <= described


def test_csv_costing_tables_hand_worked(result, tmp_path):
    costing = user_costing(result)
    table = read_csv_text(
        export_table(result, tmp_path / "c.csv", table="costing", costing=costing, sep=";"), sep=";"
    )
    assert len(table) == 12 and "geometry" not in table.columns
    day = table[table["service_type"] == "day"].set_index("area_id")
    # sep=";" writes decimal commas; places needed to 0.1, euros whole (export.CSV_DECIMALS)
    assert comma_numbers(day["places_needed"]).to_dict() == pytest.approx(DAY_NEEDED, abs=0.05)
    assert comma_numbers(day["budget_eur_per_year"]).to_dict() == pytest.approx(DAY_BUDGET, abs=0.5)
    assert set(day["cost_source"]) == {"cost_src"} and set(day["standard_source"]) == {"std_src"}
    shelter = table[table["service_type"] == "shelter"].set_index("area_id")
    assert set(shelter["cost_source"]) == {"user-supplied"}
    assert set(shelter.loc[list(SHELTER_BUDGET), "budget_eur_per_year"]) == {"[c]"}  # linked rows
    assert "'" + PAYLOADS[1] in set(table["name"])  # formula text stays inert

    national = read_csv_text(
        export_table(result, tmp_path / "n.csv", table="costing_national", costing=costing)
    ).set_index("service_type")
    assert float(national.loc["day", "places_needed"]) == pytest.approx(sum(DAY_NEEDED.values()), abs=0.05)
    assert float(national.loc["day", "budget_eur_per_year"]) == pytest.approx(
        sum(DAY_BUDGET.values()), abs=0.5
    )
    assert national.loc["shelter", "cost_source"] == "user-supplied"

    by_area = read_csv_text(
        export_table(result, tmp_path / "a.csv", table="costing_by_area", costing=costing)
    ).set_index("area_id")
    assert by_area.loc["02", "budget_eur_per_year"] == "[c]"  # adds a linked shelter row

    features = json.loads(
        export_table(result, tmp_path / "c.geojson", table="costing", costing=costing).read_text(
            encoding="utf-8"
        )
    )["features"]
    day_04 = next(
        f for f in features if f["properties"]["area_id"] == "04" and f["properties"]["service_type"] == "day"
    )
    assert day_04["properties"]["budget_eur_per_year"] == pytest.approx(DAY_BUDGET["04"])
    assert day_04["geometry"]["type"] == "Polygon"  # the municipality's outline, in WGS 84
    x, y = day_04["geometry"]["coordinates"][0][0]
    assert -180 <= x <= 180 and -90 <= y <= 90


def test_costing_hides_the_cells_the_result_hides(result, tmp_path):
    prot = protect(result)
    costing = user_costing(result)
    by_type = read_csv_text(export_table(result, tmp_path / "t.csv", protected=prot))
    cost = read_csv_text(
        export_table(result, tmp_path / "c.csv", table="costing", protected=prot, costing=costing)
    )
    marks = by_type.set_index(["service_type", "area_id"])["suppression"]
    cost = cost.set_index(["service_type", "area_id"])
    # 01 (<5) and 03 ([c]) are hidden; the shelter in 02 reaches every square within 15 km, so the
    # 2SFCA figures of the other four depend on 01's and 03's need: linked ([c]), their need published.
    linked = {("shelter", a): "[c]" for a in ("02", "04", "05", "06")}
    assert marks[marks != ""].to_dict() == {("shelter", "01"): "<5", ("shelter", "03"): "[c]", **linked}
    rows = by_type.set_index(["service_type", "area_id"])
    for key in linked:
        assert rows.loc[key, "need"] not in ("<5", "[c]") and rows.loc[key, "gap_score"] == "[c]"
    hidden_rows = marks[[k not in linked for k in marks.index]]
    assert cost["suppression"].to_dict() == marks.to_dict()
    for key, mark in hidden_rows[hidden_rows != ""].items():
        # every count that would give back the need (2 and 9 victims) shows the result's marker
        assert cost.loc[key, list(HIDDEN_COSTING)].tolist() == [mark] * 5
        assert cost.loc[key, "supply_inside"] == "0"  # published, as in the result's table
    for key in linked:  # supply by reach, and what it gives, hidden; the own count's figures shown
        assert cost.loc[key, list(LINKED_COSTING)].tolist() == ["[c]"] * 3
        assert not cost.loc[key, ["target_group", "places_target"]].isin(["<5", "[c]"]).any()
    shown_counts = cost.loc[hidden_rows[hidden_rows == ""].index, list(HIDDEN_COSTING)]
    assert not shown_counts.isin(["<5", "[c]"]).any().any()

    national = read_csv_text(
        export_table(result, tmp_path / "n.csv", table="costing_national", protected=prot, costing=costing)
    ).set_index("service_type")
    # 36.5 places and 365,000 EUR minus the published areas (31 places, 310,000 EUR) would give the
    # hidden rows' 5.5 places: hidden.
    assert national.loc["shelter", ["places_needed", "budget_eur_per_year"]].tolist() == ["[c]", "[c]"]
    assert national.loc["shelter", "target_group"] == "93"  # as in the national totals sheet
    assert "with the published municipalities they would give back" in national.loc["shelter", "note"]
    assert national.loc["day", "suppression"] == ""

    by_area = read_csv_text(
        export_table(result, tmp_path / "a.csv", table="costing_by_area", protected=prot, costing=costing)
    ).set_index("area_id")
    # 01: 0 (day) + 10,000 (hidden shelter); 03: 10,000 + 45,000 (hidden): the sums would give them back;
    # the other areas add a linked shelter row (its budget hidden): hidden too
    assert by_area.loc[["01", "03"], "budget_eur_per_year"].tolist() == ["[c]", "[c]"]
    assert set(by_area["suppression"]) == {"[c]"}

    book = openpyxl.load_workbook(export_table(result, tmp_path / "c.xlsx", protected=prot, costing=costing))
    rows = {(r["service_type"], r["area_id"]): r for r in sheet_rows(book, "costing")}
    assert [rows[("shelter", "01")][c] for c in HIDDEN_COSTING] == ["<5"] * 5
    assert [rows[("shelter", "03")][c] for c in HIDDEN_COSTING] == ["[c]"] * 5

    layer = gpd.read_file(
        export_table(result, tmp_path / "c.gpkg", protected=prot, costing=costing), layer="costing"
    )
    assert pd.api.types.is_float_dtype(layer["budget_eur_per_year"])  # numbers stay numbers
    hidden = layer[(layer["service_type"] == "shelter") & (layer["area_id"] == "01")].iloc[0]
    assert all(pd.isna(hidden[c]) for c in HIDDEN_COSTING) and hidden["suppression"] == "<5"
    day = layer[layer["service_type"] == "day"].set_index("area_id")
    assert day["budget_eur_per_year"].to_dict() == pytest.approx(DAY_BUDGET)
    assert layer.crs.to_epsg() == 4326


def test_a_national_shortfall_that_would_reveal_a_hidden_count_is_hidden(tmp_path):
    # The shelter moved to 03: 01 (2 victims, no place) needs 2 × 500 / 1,000 = 1 place; 03 (9 victims,
    # 10 places) needs max(4.5 − 10, 0) = 0. Published rows need 20 + 0 + 6 + 15 = 41 places, the
    # country 42: the difference, 1 place, is 01's exactly, i.e. 1 × 1,000 / 500 = 2 victims. So the
    # national places needed (and budget) must not be published.
    moved = make_result(tmp_path, shelter_at=(25000, 5000))
    costing = user_costing(moved, supply="inside")  # places inside the areas, as worked by hand here
    nat = costing.national.set_index("service_type")
    assert nat.loc["shelter", "places_needed"] == 42  # the figure that must stay hidden
    national = read_csv_text(
        export_table(moved, tmp_path / "n.csv", table="costing_national", costing=costing)
    ).set_index("service_type")
    assert national.loc["shelter", "places_needed"] == "[c]"
    assert national.loc["shelter", "budget_eur_per_year"] == "[c]"
    table = read_csv_text(export_table(moved, tmp_path / "c.csv", table="costing", costing=costing))
    shelter = table[table["service_type"] == "shelter"].set_index("area_id")
    assert shelter.loc["01", "places_needed"] == "<5" and shelter.loc["03", "places_needed"] == "[c]"
    published = shelter.drop(index=["01", "03"])["places_needed"].astype(float)
    assert published.sum() == 41


def test_default_costing_is_the_taxonomys_and_missing_figures_are_blank(result, tmp_path):
    # No costing given: day from the taxonomy (as above), shelter has no standard nor cost: blank.
    table = read_csv_text(export_table(result, tmp_path / "c.csv", table="costing"))
    day = table[table["service_type"] == "day"].set_index("area_id")
    assert day["budget_eur_per_year"].astype(float).to_dict() == pytest.approx(
        DAY_BUDGET, abs=0.5
    )  # whole euros
    shelter = table[table["service_type"] == "shelter"].set_index("area_id")
    assert set(shelter["places_needed"]) == {""} and set(shelter["budget_eur_per_year"]) == {""}
    assert set(shelter["cost_source"]) == {""}
    assert shelter.loc["01", "target_group"] == "<5" and shelter.loc["02", "target_group"] == "40"
    assert all("no unit cost (EUR per place per year) is sourced or given" in n for n in shelter["note"])
    assert day["note"].tolist() == [""] * 6


def test_kosovo_demo_export_has_blank_budgets_with_the_reason_never_zero(tmp_path):
    from socialmap.datasets import load_demo

    areas, services, population, taxonomy = load_demo("kosovo")
    res = analyze(areas, services, population, taxonomy=taxonomy)
    book = openpyxl.load_workbook(export_table(res, tmp_path / "k.xlsx", taxonomy=taxonomy))
    rows = sheet_rows(book, "costing")
    assert len(rows) == 38 * 7
    for col in ("unit_cost_eur_per_place_year", "budget_eur_per_year"):
        assert {r[col] for r in rows} == {None}, col  # empty cells: no 0 anywhere
    # Standards only where an international benchmark gives one (OECD 2021 beds, Council of Europe 2008).
    with_standard = {r["service_type"] for r in rows if r["places_per_1000"] is not None}
    assert with_standard == {"residential_elderly", "shelter_dv"}
    assert all(r["places_needed"] is None for r in rows if r["service_type"] not in with_standard)
    assert all("no unit cost (EUR per place per year) is sourced or given" in r["note"] for r in rows)
    national = sheet_rows(book, "costing national")
    assert len(national) == 7 and {r["budget_eur_per_year"] for r in national} == {None}
    assert {r["budget_eur_per_year"] for r in sheet_rows(book, "costing by area")} == {None}
    values = {
        (r["service_type"], r["value"]) for r in sheet_rows(book, "costing sources") if r["value"] is not None
    }
    assert values == {("residential_elderly", 42), ("shelter_dv", 0.1)}
    notes = [r["note"] for r in sheet_rows(book, "costing notes")]
    no_cost = next(n for n in notes if n.startswith("No unit cost is sourced or given for: "))
    assert "Centre for Social Work" in no_cost and "Their budget is left empty, not 0" in no_cost
    table = read_csv_text(export_table(res, tmp_path / "k.csv", table="costing", taxonomy=taxonomy))
    assert set(table["budget_eur_per_year"]) == {""}
    assert set(table.loc[~table["service_type"].isin(with_standard), "places_needed"]) == {""}


def test_costing_table_and_suffix_errors_write_nothing(result, tmp_path):
    with pytest.raises(
        SocialMapError, match=r"national costing have no geometry: export table='costing_national' as \.csv"
    ):
        export_table(result, tmp_path / "out.geojson", table="costing_national")
    with pytest.raises(SocialMapError, match="'costing_national'"):
        export_table(result, tmp_path / "out.csv", table="budget")
    with pytest.raises(SocialMapError, match=r"`costing` must be what socialmap\.costing\.places_and_budget"):
        export_table(result, tmp_path / "out.xlsx", costing={"shelter": 10_000})
    (tmp_path / "other").mkdir()
    other = make_result(tmp_path / "other", shelter_at=(25000, 5000))
    with pytest.raises(SocialMapError, match="made from another result .*supply.*places_and_budget"):
        export_table(result, tmp_path / "out.csv", table="costing", costing=user_costing(other))
    assert list(tmp_path.glob("out.*")) == []


def test_gpkg_layers_read_back_as_written_whether_typed_or_of_mixed_objects(tmp_path):
    from socialmap.export import write_gpkg

    typed = gpd.GeoDataFrame(
        {
            "area_id": pd.Series(["01", "=02", None], dtype="str"),
            "need": [1.5, float("nan"), -3.0],
            "n": [1, 2, 3],
            "covered": [True, False, True],
        },
        geometry=[Point(20.1, 42.1), Point(20.2, 42.2), Point(20.3, 42.3)],
        crs="EPSG:4326",
    )
    mixed = typed.assign(
        area_id=pd.Series(["01", "02", "x"], dtype=object), note=pd.Series(["a", None, "c"], dtype=object)
    )
    path = write_gpkg({"typed": typed, "mixed": mixed}, tmp_path / "x.gpkg")
    back = gpd.read_file(path, layer="typed")
    assert back["area_id"].tolist()[:2] == ["01", "'=02"] and pd.isna(back["area_id"].iloc[2])
    assert back["need"].tolist()[::2] == [1.5, -3.0] and pd.isna(back["need"].iloc[1])
    assert back["n"].tolist() == [1, 2, 3] and back["covered"].tolist() == [True, False, True]
    assert [(p.x, p.y) for p in back.geometry] == [(20.1, 42.1), (20.2, 42.2), (20.3, 42.3)]
    other = gpd.read_file(path, layer="mixed")
    assert other["area_id"].tolist() == ["01", "02", "x"] and other["note"].tolist()[::2] == ["a", "c"]
    assert other["n"].tolist() == [1, 2, 3] and other["covered"].tolist() == [True, False, True]


def test_writing_a_result_imports_neither_the_app_views_nor_a_catalog_parser(tmp_path):
    # What `socialmap analyze` pays: the map's offline libraries come from socialmap.assets, and
    # guessing the demo's columns reads no translation catalog (SOCIALMAP_LANG=en).
    import os
    import subprocess
    import sys

    code = (
        "import sys; from socialmap.cli import main; "
        f"sys.argv = ['socialmap', 'analyze', '--demo', 'kosovo', '--out', {str(tmp_path / 'out')!r}]\n"
        "try:\n    main()\nexcept SystemExit:\n    pass\n"
        "print(sorted(m for m in ('socialmap.views', 'streamlit', 'babel.messages.pofile')"
        " if m in sys.modules))"
    )
    env = {**os.environ, "SOCIALMAP_LANG": "en"}
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True, env=env)
    assert out.stdout.strip().splitlines()[-1] == "[]"
    assert (tmp_path / "out" / "map.html").is_file()
