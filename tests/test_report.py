"""report: one-page PDF briefs whose figures are the result's, formatted as everywhere else."""

from __future__ import annotations

import shutil
import subprocess
import textwrap
import warnings
from dataclasses import replace

import geopandas as gpd
import pandas as pd
import pytest
from shapely.geometry import Point, box

from socialmap import analyze, load_taxonomy
from socialmap.datasets import SCHEMATIC_ATTRIBUTION
from socialmap.errors import SocialMapError
from socialmap.i18n import format_number
from socialmap.privacy import protect
from socialmap.report import brief, find_area, key_figures, places_and_budget

CRS = "EPSG:32634"
TAXONOMY = """
schema_version: 1
name: reptest
sources:
  def: {citation: "by definition"}
  made_up: {citation: "Test figure, made up for the brief test"}
  std: {citation: "Test planning standard"}
  cost: {citation: "Test unit cost"}
target_groups:
  everyone:
    label: {en: Everyone, sq: Të gjithë, sr: Svi}
    rate: 1.0
    source: def
  older:
    label: {en: Older people, sq: Të moshuarit, sr: Starije osobe}
    rate: 0.1
    source: made_up
    estimate: true
    derivation: made up
  victims:
    label: {en: Victims, sq: Viktimat, sr: Žrtve}
    rate: null
    column: pop_victims
    sensitive: true
service_types:
  day:
    label: {en: Day care centre, sq: Qendër ditore, sr: Dnevni boravak}
    target_groups: [everyone]
  home:
    label: {en: Home care, sq: Kujdes në shtëpi, sr: Pomoć u kući}
    target_groups: [older]
    places_per_1000: 20
    places_per_1000_source: std
    unit_cost_eur_per_place_year: 3000
    unit_cost_source: cost
  shelter:
    label: {en: Shelter, sq: Strehimore, sr: Sklonište}
    target_groups: [victims]
    sensitive: true
"""
NAMES = ["Pejë", "Gjakovë", "Prizren", "Gjilan", "Ferizaj", "Istog"]
NAMES_SR = ["Peć", "Đakovica", "Prizren", "Gnjilane", "Uroševac", "Istok"]

needs_poppler = pytest.mark.skipif(
    not (shutil.which("pdftotext") and shutil.which("pdftoppm")),
    reason="poppler-utils (pdftotext, pdftoppm) not installed: `make system-deps`",
)


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
    x0, y0 = 500_000, 4_650_000
    cells = [
        box(x0 + x * 2e4, y0 + y * 2e4, x0 + (x + 1) * 2e4, y0 + (y + 1) * 2e4)
        for y in range(2)
        for x in range(3)
    ]
    areas = gpd.GeoDataFrame(
        {"area_id": ids, "name": NAMES, "name_sq": NAMES, "name_sr": NAMES_SR}, geometry=cells, crs=CRS
    )
    population = pd.DataFrame(
        {
            "area_id": ids,
            "population": [12345.0, 30000.0, 5000.0, 20000.0, 8000.0, 40000.0],
            "pop_victims": [2.0, 40.0, 9.0, 0.0, 12.0, 30.0],
            "year": 2024,
        }
    )
    services = gpd.GeoDataFrame(
        {
            "service_id": ["s1", "s2", "s3", "s4"],
            "name": ["One", "Two", "Three", "Shelter"],
            "service_type": ["day", "day", "home", "shelter"],
            "capacity": [100.0, 50.0, 30.0, 10.0],
        },
        geometry=[
            Point(x0 + 1e4, y0 + 1e4),
            Point(x0 + 5e4, y0 + 3e4),
            Point(x0 + 3e4, y0 + 1e4),
            Point(x0 + 3e4, y0 + 3e4),
        ],
        crs=CRS,
    )
    res = analyze(areas, services, population, taxonomy=tax, spreading="representative", catchment_m=25_000)
    return replace(res, provenance={**res.provenance, "demo_boundaries": SCHEMATIC_ATTRIBUTION})


def _pages(path):
    out = subprocess.run(["pdfinfo", str(path)], capture_output=True, text=True, check=True).stdout
    return int(next(line.split()[-1] for line in out.splitlines() if line.startswith("Pages:")))


def _text(path):
    return subprocess.run(
        ["pdftotext", "-layout", str(path), "-"], capture_output=True, text=True, check=True
    ).stdout


def _render(path):
    subprocess.run(["pdftoppm", "-r", "50", "-png", str(path), str(path.with_suffix(""))], check=True)
    pngs = sorted(path.parent.glob(path.stem + "*.png"))
    assert len(pngs) == 1  # one page
    assert pngs[0].stat().st_size > 10_000  # a page with a map on it, not a blank one
    return pngs[0]


@needs_poppler
def test_municipal_brief_is_one_page_with_the_results_figures(result, tmp_path):
    path = brief(result, area="Gjakovë", path=tmp_path / "gjakove.pdf")
    assert _pages(path) == 1
    _render(path)
    text = _text(path)
    assert "Gjakovë" in text and "Đakovica" in text
    rows = result.table[result.table["area_id"] == "02"].set_index("service_type")
    for st in ("day", "home"):
        row = rows.loc[st]
        assert format_number(row["need"], "en", decimals=0) in text
        assert format_number(row["gap_score"], "en", decimals=1) in text
        assert format_number(100 * row["covered_share"], "en", decimals=1) + " %" in text
    area = result.areas.set_index("area_id").loc["02"]
    assert f"Population: {format_number(area['population'], 'en', decimals=0)}" in text
    assert f"Composite gap: {format_number(area['composite_gap'], 'en', decimals=1)}" in text
    # the brief prints exactly what key_figures returns
    for _, fig in key_figures(result, area="02").iterrows():
        for col in ("need", "services", "places", "covered_share", "gap_score"):
            assert fig[col] in text
    assert "schematic boundaries (not official)" in text
    assert "Test figure, made up for the brief test" in text  # rate sources
    assert "catchment 25.0 km" in text


@needs_poppler
def test_national_brief_uses_totals(result, tmp_path):
    path = brief(result, path=tmp_path / "national.pdf")
    assert _pages(path) == 1
    _render(path)
    text = _text(path)
    day = result.for_service_type("day")
    assert format_number(day["need"].sum(), "en", decimals=0) in text
    national_gap = 100 * day["unmet_need"].sum() / day["need"].sum()
    assert format_number(national_gap, "en", decimals=1) in text
    assert "National brief" in text


@needs_poppler
def test_small_counts_are_hidden_in_the_brief(result, tmp_path):
    path = brief(result, area="01", path=tmp_path / "peje.pdf")
    text = _text(path)
    shelter_rows = [line for line in text.splitlines() if line.strip().startswith("Shelter")]
    assert any(line.split()[1] == "<5" for line in shelter_rows)  # the key-figures row
    assert "fewer than 5 persons" in text


@needs_poppler
def test_places_and_budget_where_sourced(result, tmp_path):
    lines = places_and_budget(result, area="02")
    home = next(line for line in lines if line.startswith("Home care"))
    row = result.table[(result.table["area_id"] == "02") & (result.table["service_type"] == "home")].iloc[0]
    places_target = row["need"] * 20 / 1000
    # Supply by reach: the places within reach of the area's residents (2SFCA), not those inside it.
    needed = max(places_target - row["supply_reach"], 0)
    assert format_number(places_target, "en", decimals=0) in home
    assert format_number(needed * 3000, "en", decimals=0) + " EUR" in home
    assert any("No sourced standard or cost for: Day care centre" in line for line in lines)
    text = _text(brief(result, area="02", path=tmp_path / "b.pdf"))
    assert format_number(needed * 3000, "en", decimals=0) in text


@needs_poppler
def test_brief_in_serbian_and_albanian(result, tmp_path):
    sr = _text(brief(result, area="Đakovica", path=tmp_path / "sr.pdf", lang="sr"))
    assert "Đakovica" in sr
    need = result.table[(result.table["area_id"] == "02") & (result.table["service_type"] == "day")][
        "need"
    ].item()
    assert format_number(need, "sr", decimals=0) in sr  # 30.000
    sq = _text(brief(result, area="Gjakova", path=tmp_path / "sq.pdf", lang="sq"))
    assert "Gjakovë" in sq and "Qendër ditore" in sq


def test_area_by_id_or_any_name(result):
    assert find_area(result, "02") == "02"
    assert find_area(result, "Đakovica") == "02"
    assert find_area(result, "gjakova") == "02"
    assert find_area(result, "Municipality of Peja") == "01"
    with pytest.raises(SocialMapError, match="matches no area"):
        find_area(result, "Atlantis")


def test_brief_errors_write_nothing(result, tmp_path):
    with pytest.raises(SocialMapError, match="matches no area"):
        brief(result, area="Atlantis", path=tmp_path / "x.pdf")
    assert not (tmp_path / "x.pdf").exists()


def test_without_standards_says_none_is_sourced(tmp_path):
    from socialmap.datasets import demo_files

    try:
        demo_files("kosovo")
    except SocialMapError as exc:
        pytest.skip(f"demo data not present: {exc}")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)
        res = analyze(demo="kosovo")
    lines = places_and_budget(res, area="Prishtinë")
    # Only the two international benchmarks give a standard; no unit cost is sourced, so no budget.
    assert (
        lines[0].startswith("Residential care for older people: ")
        and "at the standard of 42.0 per 1,000" in lines[0]
    )
    assert all("No sourced unit cost, so no budget." in line for line in lines[:2])
    assert lines[-1].startswith("No sourced standard or cost for: Centre for Social Work")
    if shutil.which("pdftotext"):
        path = brief(res, area="Prishtinë", path=tmp_path / "prishtine.pdf")
        assert _pages(path) == 1
        text = _text(path)
        assert "schematic boundaries" in text and "No sourced standard or cost for" in text


def test_national_brief_hides_a_shortfall_that_would_reveal_a_hidden_count(tmp_path):
    # The case worked by hand in test_export.py: the country needs 42 shelter places, the published
    # municipal rows 41, so publishing 42 would give back the hidden municipality's 2 victims.
    from test_export import make_result, user_costing

    moved = make_result(tmp_path, shelter_at=(25000, 5000))
    costing = user_costing(moved, supply="inside")  # places inside the areas, as worked by hand there
    assert costing.national.set_index("service_type").loc["shelter", "places_needed"] == 42
    lines = places_and_budget(moved, costing=costing, lang="en")
    shelter = [line for line in lines if line.startswith("Shelter")]
    assert shelter == ["Shelter: places needed [c] (need unknown or hidden)."]
    day = [line for line in lines if line.startswith("Day care")]
    assert day and "[c]" not in day[0]  # a type with no hidden row keeps its national figures


@needs_poppler
def test_largest_gaps_are_ranked_as_the_composite_is(result, tmp_path):
    text = " ".join(_text(brief(result, area="02", path=tmp_path / "b.pdf")).split())
    # ranked among the published scores (a hidden score takes no part: its rank would say where it is)
    table = protect(result).table.dropna(subset=["gap_score"])
    mine = table[table["area_id"] == "02"]
    # rank of each type in area 02, by hand: 1 + areas with a strictly larger gap for that type
    ranks = {
        row["service_type"]: 1
        + int((table[table["service_type"] == row["service_type"]]["gap_score"] > row["gap_score"]).sum())
        for _, row in mine.iterrows()
    }
    labels = {"day": "Day care centre", "home": "Home care", "shelter": "Shelter"}
    listed = sorted(ranks, key=lambda k: (ranks[k], -mine.set_index("service_type").loc[k, "gap_score"]))
    assert "Largest gaps beside the other areas" in text
    positions = [text.index(f"{labels[k]}: gap") for k in listed]
    assert positions == sorted(positions)  # best-ranked (largest gap beside the others) first
    for k in listed:
        assert f"(rank {ranks[k]} of" in text


@needs_poppler
def test_briefs_on_invented_services_say_so_on_the_page(result, tmp_path):
    plain = " ".join(_text(brief(result, area="02", path=tmp_path / "own.pdf")).split())
    assert "Demonstration data" not in plain
    demo = replace(result, services=result.services.assign(illustrative=["true", "true", "false", "false"]))
    text = " ".join(_text(brief(demo, area="02", path=tmp_path / "demo.pdf")).split())
    assert "Demonstration data: 2 of the 4 services are invented for the demo" in text
    assert text.index("Demonstration data") < text.index("Population:")  # at the top, not a footnote


@needs_poppler
def test_briefs_show_no_local_path(result, tmp_path):
    prov = {
        **result.provenance,
        "demo_boundaries": "/home/ana/.cache/socialmap/geoBoundaries-XKX-ADM2.geojson; areas matched",
        "taxonomy": "reptest (/home/ana/work/reptest.yaml)",
    }
    text = _text(brief(replace(result, provenance=prov), area="02", path=tmp_path / "b.pdf"))
    assert "/home/ana" not in text and "geoBoundaries-XKX-ADM2.geojson" in text
    assert "taxonomy reptest (reptest.yaml)" in text
