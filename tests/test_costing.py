"""socialmap.costing: places and budget worked out by hand, sources, missing figures, errors."""

from __future__ import annotations

import math

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
from shapely.geometry import Point
from worlds import CRS, square_areas, square_population, taxonomy_from_text

from socialmap import analyze, load_taxonomy
from socialmap import costing as co
from socialmap.errors import SocialMapError

TAXONOMY = """
schema_version: 1
name: test
sources:
  def: {citation: "by definition"}
  std_src: {citation: "A planning standard, made up for the test"}
  cost_src: {citation: "A unit cost, made up for the test"}
target_groups:
  everyone:
    label: {en: Everyone, sq: Të gjithë, sr: Svi}
    rate: 1.0
    source: def
  half:
    label: {en: Half, sq: Gjysma, sr: Pola}
    rate: 0.5
    source: def
  unknown:
    label: {en: Unknown, sq: E panjohur, sr: Nepoznato}
    rate: null
service_types:
  day:
    label: {en: Day care, sq: Qendër ditore, sr: Dnevni boravak}
    target_groups: [everyone]
    places_per_1000: 10
    places_per_1000_source: std_src
    unit_cost_eur_per_place_year: 5000
    unit_cost_source: cost_src
  home:
    label: {en: Home care, sq: Kujdes në shtëpi, sr: Pomoć u kući}
    target_groups: [half]
  shelter:
    label: {en: Shelter, sq: Strehimore, sr: Sklonište}
    target_groups: [unknown]
"""


@pytest.fixture
def taxonomy(tmp_path):
    return taxonomy_from_text(tmp_path, TAXONOMY)


@pytest.fixture
def areas():
    return square_areas()


@pytest.fixture
def population():
    return square_population()


def services_frame(*rows):
    ids, types, caps, xy = zip(*rows, strict=True)
    return gpd.GeoDataFrame(
        {"service_id": list(ids), "name": list(ids), "service_type": list(types), "capacity": list(caps)},
        geometry=[Point(p) for p in xy],
        crs=CRS,
    )


@pytest.fixture
def result(areas, population, taxonomy):
    # day: 4 places in a, 50 in d, and one service of unknown capacity in b. home: 3 places in a.
    services = services_frame(
        ("s1", "day", 4.0, (5000, 5000)),
        ("s2", "day", 50.0, (15000, 15000)),
        ("s3", "day", np.nan, (15000, 5000)),
        ("h1", "home", 3.0, (5000, 5000)),
    )
    return analyze(
        areas, services, population, taxonomy=taxonomy, spreading="representative", catchment_m=6000
    )


def test_places_needed_arithmetic():
    # 2000 × 5 / 1000 = 10 − 4 = 6; 500 × 5 / 1000 = 2.5 − 10 < 0 → 0; no standard → NaN.
    out = co.places_needed([2000, 500, 1000], [5, 5, np.nan], [4, 10, 0])
    assert out[:2].tolist() == [6, 0] and math.isnan(out[2])


def test_hand_worked_from_the_taxonomy(result, taxonomy):
    # day: standard 10 per 1,000 of everyone; 5000 EUR per place-year.
    #   a: 1000 → 10 places; supply 4 → 6 needed → 30,000 EUR
    #   b: 3000 → 30; supply 0 (s3's capacity unknown) → 30 → 150,000 EUR (may be overstated)
    #   c: 0 → 0 → 0
    #   d: 2000 → 20; supply 50 → 0 (surplus does not count elsewhere) → 0
    # national: 36 places, 180,000 EUR (not 60 − 54 = 6 places).
    c = co.places_and_budget(result, taxonomy=taxonomy)
    day = c.table[c.table["service_type"] == "day"].set_index("area_id")
    assert day["places_target"].tolist() == [10, 30, 0, 20]
    assert day["supply"].tolist() == [4, 0, 0, 50]
    assert day["places_needed"].tolist() == [6, 30, 0, 0]
    assert day["budget_eur_per_year"].tolist() == [30_000, 150_000, 0, 0]
    assert set(day["standard_source"]) == {"std_src"} and set(day["cost_source"]) == {"cost_src"}
    assert day["standard_citation"].iloc[0] == "A planning standard, made up for the test"
    assert day["cost_citation"].iloc[0] == "A unit cost, made up for the test"
    assert "1 service(s) of unknown capacity" in day.loc["b", "note"]
    assert pd.isna(day.loc["a", "note"])
    nat = c.national.set_index("service_type")
    assert nat.loc["day", "places_needed"] == 36 and nat.loc["day", "budget_eur_per_year"] == 180_000
    assert nat.loc["day", "places_target"] == 60 and nat.loc["day", "supply"] == 54
    assert "1 area(s) have services of unknown capacity" in nat.loc["day", "note"]
    assert list(c.table.columns) == list(co.TABLE_COLUMNS)


def test_missing_standards_and_costs_are_nan_with_a_note(result, taxonomy):
    c = co.places_and_budget(result, taxonomy=taxonomy)
    home = c.table[c.table["service_type"] == "home"]
    assert home["places_needed"].isna().all() and home["budget_eur_per_year"].isna().all()
    assert home["standard_source"].isna().all() and home["cost_source"].isna().all()
    assert "home: no planning standard (places per 1,000 of the target group): give standards=." in c.notes
    assert "home: no unit cost (EUR per place per year): give unit_costs=." in c.notes
    shelter = c.table[c.table["service_type"] == "shelter"]
    assert shelter["target_group"].isna().all() and shelter["places_needed"].isna().all()
    assert "shelter: need unknown (a target group has no rate)." in c.notes
    nat = c.national.set_index("service_type")
    assert math.isnan(nat.loc["home", "budget_eur_per_year"]) and math.isnan(c.total_budget_eur_per_year)
    by = c.by_area.set_index("area_id")
    assert by.loc["a", "budget_eur_per_year"] == 30_000 and by.loc["a", "types_costed"] == 1
    assert by.loc["a", "types_not_costed"] == "home, shelter" and not by.loc["a", "budget_complete"]


def test_user_figures_override_and_are_labelled(result, taxonomy):
    # home: need = half the population: a 500, b 1500, c 0, d 1000. Standard 4 per 1,000 (user):
    #   a: 2 places − 3 supply → 0; b: 6; d: 4 → 10 places × 1200 EUR = 12,000 EUR.
    # day with a user cost of 1000: 36 places → 36,000 EUR; the standard stays the taxonomy's.
    c = co.places_and_budget(
        result,
        taxonomy=taxonomy,
        standards={"home": 4},
        unit_costs={"home": 1200, "day": 1000},
    )
    home = c.table[c.table["service_type"] == "home"].set_index("area_id")
    assert home["places_needed"].tolist() == [0, 6, 0, 4]
    assert set(home["standard_source"]) == {co.USER_SUPPLIED} and set(home["cost_source"]) == {
        co.USER_SUPPLIED
    }
    assert home["standard_citation"].isna().all()
    nat = c.national.set_index("service_type")
    assert nat.loc["home", "budget_eur_per_year"] == 12_000
    assert nat.loc["day", "budget_eur_per_year"] == 36_000
    assert (
        nat.loc["day", "standard_source"] == "std_src" and nat.loc["day", "cost_source"] == co.USER_SUPPLIED
    )
    assert not any(n.startswith("home") for n in c.notes)


def test_taxonomy_is_found_from_the_provenance(areas, population):
    svc = services_frame(("c1", "csw", 10.0, (5000, 5000)))
    res = analyze(
        areas,
        svc,
        population,
        taxonomy="kosovo",
        service_types=("csw",),
        spreading="representative",
        catchment_m=6000,
    )
    c = co.places_and_budget(res)  # reloads the shipped Kosovo taxonomy named in the provenance
    # Kosovo's taxonomy has no standard and no unit cost (no source gives them): nothing is made up.
    assert c.table["places_needed"].isna().all() and c.table["budget_eur_per_year"].isna().all()
    assert any("csw: no planning standard" in n for n in c.notes)
    kosovo = load_taxonomy("kosovo")
    assert all(s.unit_cost_eur_per_place_year is None for s in kosovo.service_types.values())
    # Only the two international benchmarks (OECD 2021 LTC beds, Council of Europe 2008 shelters).
    assert {k for k, s in kosovo.service_types.items() if s.places_per_1000 is not None} == {
        "residential_elderly",
        "shelter_dv",
    }


def test_errors(result, taxonomy):
    with pytest.raises(SocialMapError, match="unknown service type 'nursery'"):
        co.places_and_budget(result, taxonomy=taxonomy, unit_costs={"nursery": 10})
    with pytest.raises(SocialMapError, match=r"home: -1 is not a finite number >= 0"):
        co.places_and_budget(result, taxonomy=taxonomy, standards={"home": -1})
    for bad in (math.nan, math.inf, "100", True):
        with pytest.raises(SocialMapError, match="`unit_costs` has problems"):
            co.places_and_budget(result, taxonomy=taxonomy, unit_costs={"home": bad})
    with pytest.raises(SocialMapError, match="must be a mapping"):
        co.places_and_budget(result, taxonomy=taxonomy, standards=[("home", 1)])
    with pytest.raises(SocialMapError, match="has no service type"):
        co.places_and_budget(result, taxonomy="kosovo")
    odd = type(result)(
        **{
            **result.__dict__,
            "taxonomy": None,
            "provenance": {**result.provenance, "taxonomy": "mine (gone.yaml)"},
        }
    )
    with pytest.raises(SocialMapError, match="pass `taxonomy=`"):
        co.places_and_budget(odd)


def test_write(result, taxonomy, tmp_path):
    c = co.places_and_budget(result, taxonomy=taxonomy)
    back = pd.read_csv(c.write(tmp_path / "cost.csv"), encoding="utf-8-sig")
    assert len(back) == 12 and "budget_eur_per_year" in back.columns
    xlsx = c.write(tmp_path / "cost.xlsx")
    sheets = pd.read_excel(xlsx, sheet_name=None)
    assert set(sheets) == {"areas", "national", "by_area", "notes"}
    # written by the one XLSX writer (export.write_xlsx): the same cells as pandas' own writer gives the
    # published costing tables, with a frozen header row
    from openpyxl import load_workbook

    from socialmap.export import costing_tables, neutralise_formulas

    tables = costing_tables(result, c)
    reference = tmp_path / "reference.xlsx"
    with pd.ExcelWriter(reference) as xl:
        names = {"areas": "costing", "national": "costing_national", "by_area": "costing_by_area"}
        for name, key in names.items():
            frame = pd.DataFrame(tables[key]).drop(columns="geometry", errors="ignore")
            neutralise_formulas(frame).to_excel(xl, sheet_name=name, index=False)
        pd.DataFrame({"note": list(c.notes)}).to_excel(xl, sheet_name="notes", index=False)
    for name, frame in pd.read_excel(reference, sheet_name=None).items():
        pd.testing.assert_frame_equal(sheets[name], frame, check_dtype=False)
    assert load_workbook(xlsx)["national"].freeze_panes == "A2"
    with pytest.raises(SocialMapError, match=".csv or .xlsx"):
        c.write(tmp_path / "cost.txt")


def test_exported_costing_carries_the_figures_their_sources_and_notes(result, taxonomy, tmp_path):
    from socialmap.export import export_table

    # day from the taxonomy (as in test_hand_worked_from_the_taxonomy): a 6 places → 30,000 EUR,
    # b 30 → 150,000 (one service of unknown capacity), c and d 0; nationally 36 places, 180,000 EUR.
    # home with the user's standard 4 and cost 1,200 (as in test_user_figures_override_and_are_labelled):
    # places a 0, b 6, c 0, d 4 → 0, 7,200, 0, 4,800 EUR; nationally 10 places, 12,000 EUR.
    costing = co.places_and_budget(
        result, taxonomy=taxonomy, standards={"home": 4}, unit_costs={"home": 1200}
    )
    path = export_table(
        result, tmp_path / "c.csv", table="costing", taxonomy=taxonomy, costing=costing, lang="en"
    )
    table = pd.read_csv(path, encoding="utf-8-sig", dtype=str, keep_default_na=False)
    day = table[table["service_type"] == "day"].set_index("area_id")
    assert day["budget_eur_per_year"].astype(float).tolist() == [30_000, 150_000, 0, 0]
    assert set(day["standard_citation"]) == {"A planning standard, made up for the test"}
    assert day.loc["b", "note"] == (
        "services of unknown capacity: 1; the places are a lower bound, so places needed may be overstated"
    )
    home = table[table["service_type"] == "home"].set_index("area_id")
    assert home["places_needed"].astype(float).tolist() == [0, 6, 0, 4]
    assert home["budget_eur_per_year"].astype(float).tolist() == [0, 7200, 0, 4800]
    assert set(home["cost_source"]) == {co.USER_SUPPLIED} == set(home["standard_source"])
    shelter = table[table["service_type"] == "shelter"]
    assert set(shelter["budget_eur_per_year"]) == {""} and set(shelter["target_group"]) == {""}
    assert all(n.startswith("need unknown (a target group has no rate); ") for n in shelter["note"])

    path = export_table(
        result, tmp_path / "n.csv", table="costing_national", taxonomy=taxonomy, costing=costing, lang="en"
    )
    national = pd.read_csv(path, encoding="utf-8-sig", dtype=str, keep_default_na=False).set_index(
        "service_type"
    )
    assert float(national.loc["day", "places_needed"]) == 36
    assert float(national.loc["day", "budget_eur_per_year"]) == 180_000
    assert float(national.loc["home", "budget_eur_per_year"]) == 12_000
    assert national.loc["shelter", "budget_eur_per_year"] == ""
    assert (
        national.loc["day", "note"]
        == "areas with services of unknown capacity: 1; places needed may be overstated"
    )
