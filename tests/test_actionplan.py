"""The draft municipal action plan (DOCX): a scenario's targets to a Word file, read back with python-docx.

The plan: one new day-care centre for persons with disabilities (30 places) in Gjakova from 2025, at a
unit cost of 6,000 EUR per place per year (given, not sourced). Worked by hand from the demo's services
file: Gjakova holds two day-care centres, of 31 and 33 places, so the places go 64 → 94 in each of the
plan's years 2025–2027, 30 places are added, the budget is 30 × 6,000 = 180,000 EUR a year and
3 × 180,000 = 540,000 EUR over the plan.
"""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import geopandas as gpd
import pandas as pd
import pytest
from test_i18n import ENGLISH_LABELS, _without_citations

from socialmap.i18n import format_number, t

REPO = Path(__file__).resolve().parents[1]
ARTIFACTS = REPO / "test-artifacts"
GJAKOVA = "02"
LANGS = ("en", "sq", "sr")

#: Words of the action plan's own labels that must not be left in English in an Albanian or Serbian plan.
PLAN_LABELS = [
    "Draft",
    "action plan",
    "Situation analysis",
    "Priorities",
    "Targets",
    "target",
    "Monitoring",
    "Indicator",
    "Baseline",
    "baseline",
    "Frequency",
    "Total",
    "Year",
    "Places added",
    "within reach",
    "draft",
]


def _english_left(text: str) -> list[str]:
    import re

    words = [*ENGLISH_LABELS, *PLAN_LABELS]
    return [w for w in words if re.search(rf"(?<![\w-]){re.escape(w)}(?![\w-])", text)]


@pytest.fixture(scope="module")
def baseline():
    import socialmap

    return socialmap.analyze(demo="kosovo")


@pytest.fixture(scope="module")
def targets(baseline):
    from socialmap.plan import targets_from_scenario
    from socialmap.scenario import Scenario, new_service

    plan = Scenario("Qendra ditore Gjakovë").add(
        new_service("day_care_disability", (20.43, 42.38), crs="EPSG:4326", capacity=30)
    )
    return targets_from_scenario(
        {"demo": "kosovo"},
        plan,
        years=[2025, 2026, 2027],
        base=baseline,
        unit_costs={"day_care_disability": 6000},
    )


def _baseline_places_by_hand() -> float:
    """The capacities of the demo's day-care centres located in Gjakova, from the demo's files."""
    from socialmap.datasets import demo_files

    files = demo_files("kosovo")
    areas = gpd.read_file(files["areas"])[["area_id", "geometry"]].rename(columns={"area_id": "muni"})
    frame = pd.read_csv(files["services"])
    services = gpd.GeoDataFrame(frame, geometry=gpd.points_from_xy(frame["lon"], frame["lat"]), crs=4326)
    day = services[services["service_type"] == "day_care_disability"].to_crs(areas.crs)
    inside = gpd.sjoin(day, areas, predicate="within")
    return float(inside.loc[inside["muni"].astype(str) == GJAKOVA, "capacity"].sum())


def _docx(path: Path):
    from docx import Document

    return Document(str(path))


def _text(doc) -> str:
    parts = [p.text for p in doc.paragraphs]
    for table in doc.tables:
        for row in table.rows:
            parts.extend(c.text for c in row.cells)
    return " ".join(" ".join(parts).split())


def _rows(table) -> list[list[str]]:
    return [[c.text for c in row.cells] for row in table.rows]


def test_baseline_places_worked_by_hand(targets):
    assert _baseline_places_by_hand() == 64  # 31 + 33
    row = targets.for_area(GJAKOVA).set_index(["service_type", "year"]).loc[("day_care_disability", 2025)]
    assert (row["baseline_places"], row["places"], row["places_added"]) == (64, 94, 30)


@pytest.mark.parametrize("lang", LANGS)
def test_action_plan_reads_back_in_each_language(baseline, targets, lang, tmp_path):
    from socialmap.actionplan import action_plan

    path = action_plan(baseline, targets, area="Gjakova", path=tmp_path / f"plan_{lang}.docx", lang=lang)
    doc = _docx(path)
    text = _text(doc)
    name = baseline.areas.set_index("area_id").loc[GJAKOVA, f"name_{lang}"]
    assert name in doc.paragraphs[0].text  # the title names the municipality, in the language
    label = baseline.taxonomy.label("day_care_disability", lang)
    # The targets by year: 64 → 94 places, 30 added, 180,000 EUR a year, in each year.
    targets_table = next(
        tb for tb in doc.tables if _rows(tb)[0][0] == t("Year", lang) and len(_rows(tb)[0]) == 6
    )
    rows = _rows(targets_table)[1:]
    assert [r[0] for r in rows] == ["2025", "2026", "2027"]
    for r in rows:
        assert r[1] == label
        assert r[2] == "64 → 94" and r[3] == "30"
        assert r[5] == format_number(180_000, lang, decimals=0)
    # The budget total over the plan: 540,000 EUR.
    budget = next(tb for tb in doc.tables if len(_rows(tb)[0]) == 3)
    assert _rows(budget)[-1][0] == t("Total", lang)
    assert _rows(budget)[-1][2] == format_number(540_000, lang, decimals=0)
    assert ("540.000" if lang != "en" else "540,000") in text
    # The monitoring table: indicator, baseline, target, source, frequency.
    monitoring = doc.tables[-1]
    head = _rows(monitoring)[0]
    assert (
        head[0] == t("Indicator", lang) and head[3] == t("Source", lang) and head[4] == t("Frequency", lang)
    )
    assert head[1] == t("Baseline ({year})", lang, year=2024) and head[2] == t(
        "Target ({year})", lang, year=2027
    )
    places = [r for r in _rows(monitoring)[1:] if r[0] == f"{t('Places', lang)}: {label}"]
    assert len(places) == 1 and places[0][1:3] == ["64", "94"]
    # The situation analysis: its map, its key figures (places of the baseline) and its sources.
    assert len(doc.inline_shapes) == 1
    key = doc.tables[0]
    assert _rows(key)[0][0] == t("Service type", lang)
    assert [r for r in _rows(key) if r[0] == label][0][3] == "64"
    for heading in (
        "1. Situation analysis",
        "2. Priorities",
        "3. Targets by year",
        "4. Monitoring",
        "Sources",
    ):
        assert t(heading, lang) in text
    if lang == "en":
        assert len(_english_left(_without_citations(text, baseline))) > 20  # the check below can fail
    else:
        assert not _english_left(_without_citations(text, baseline)), text
    assert doc.core_properties.language == {"en": "en-GB", "sq": "sq-AL", "sr": "sr-Latn-RS"}[lang]


SENSITIVE = """
schema_version: 1
name: small counts
sources:
  def: {citation: "by definition"}
  made_up: {citation: "test figure, made up for the test"}
target_groups:
  everyone:
    label: {en: Everyone, sq: Të gjithë, sr: Svi}
    rate: 1.0
    source: def
    column: population
  victims:
    label: {en: Victims, sq: Viktimat, sr: Žrtve}
    rate: 0.001
    source: made_up
    sensitive: true
service_types:
  shelter:
    label: {en: Shelter, sq: Strehimore, sr: Sklonište}
    target_groups: [victims]
    need_rate: 1.0
    need_rate_source: made_up
    catchment_m: 6000
    catchment_source: made_up
    unit_cost_eur_per_place_year: 9000
    unit_cost_source: made_up
    sensitive: true
"""


def test_action_plan_hides_small_counts_of_sensitive_groups(tmp_path):
    """Area a's 2 victims (2,000 × 0.001) are fewer than 5: hidden, and with them a's share within reach."""
    from shapely.geometry import Point
    from worlds import CRS, square_areas, taxonomy_from_text

    from socialmap.actionplan import action_plan
    from socialmap.pipeline import AnalysisConfig
    from socialmap.plan import targets_from_scenario
    from socialmap.privacy import protect
    from socialmap.scenario import Inputs, Scenario, new_service

    tax = taxonomy_from_text(tmp_path, SENSITIVE)
    services = gpd.GeoDataFrame(
        {"service_id": ["s1"], "name": ["S1"], "service_type": ["shelter"], "capacity": [4.0]},
        geometry=[Point(15000, 5000)],
        crs=CRS,
    )
    population = pd.DataFrame({"area_id": list("abcd"), "population": [2000.0, 9000.0, 8000.0, 7000.0]})
    inputs = Inputs(services=services, areas=square_areas(), population=population, taxonomy=tax)
    config = AnalysisConfig(spreading="representative")
    base = inputs.analyze(config=config)
    pub = protect(base, taxonomy=tax).table.set_index("area_id")
    assert pub.loc["a", "suppression"] == "primary"  # the rule's own verdict: a small count
    plan = Scenario("shelter a").add(new_service("shelter", (5000, 5000), crs=CRS, capacity=3))
    tg = targets_from_scenario(inputs, plan, years=[2025], base=base, config=config)
    # A targets file that carries a's share (as a hand-made one could) must not get it into the plan.
    table = tg.table.copy()
    table.loc[table["area_id"] == "a", ["baseline_share_within_reach", "share_within_reach"]] = [0.0, 1.0]
    tg = type(tg)(table, tg.name, tg.notes)
    path = action_plan(base, tg, area="A", path=tmp_path / "plan.docx", lang="sq", taxonomy=tax)
    doc = _docx(path)
    key = [r for r in _rows(doc.tables[0]) if r[0] == "Strehimore"][0]
    assert key[1] == "<5"  # the need
    target_row = [r for r in _rows(doc.tables[1]) if r[1] == "Strehimore"][0]
    assert target_row[2] == "0 → 3" and target_row[5] == "27.000"  # places and budget are published
    assert target_row[4] == "<5"  # the reach that would give the count back is hidden
    share = [r for r in _rows(doc.tables[-1]) if r[0].startswith(t("Share of need within reach", "sq"))]
    assert share and share[0][1:3] == ["<5", "<5"]
    cells = [c for table in (doc.tables[1], doc.tables[-1]) for r in _rows(table) for c in r]
    assert not [c for c in cells if "%" in c]  # a's share (0 → 100 %) is nowhere in the targets


def test_action_plan_is_reproducible_and_atomic(baseline, targets, tmp_path, monkeypatch):
    from socialmap.actionplan import action_plan
    from socialmap.errors import SocialMapError

    monkeypatch.setenv("SOURCE_DATE_EPOCH", "1767225600")  # 2026-01-01
    one = action_plan(baseline, targets, area="Gjakova", path=tmp_path / "a.docx", lang="sr").read_bytes()
    two = action_plan(baseline, targets, area="Đakovica", path=tmp_path / "b.docx", lang="sr").read_bytes()
    assert one == two
    only = type(targets)(targets.for_area(GJAKOVA), targets.name)  # targets made for Gjakova alone
    with pytest.raises(SocialMapError, match="no row for Prizren"):
        action_plan(baseline, only, area="Prizren", path=tmp_path / "c.docx", lang="en")
    with pytest.raises(SocialMapError, match=r"\.docx"):
        action_plan(baseline, targets, area="Gjakova", path=tmp_path / "c.pdf", lang="en")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["a.docx", "b.docx"]  # nothing half-written


def test_action_plan_opens_in_libreoffice(baseline, targets, tmp_path):
    """LibreOffice converts the plan to PDF; its first page is rendered for a person to look at."""
    from socialmap.actionplan import action_plan

    soffice = shutil.which("soffice")
    if soffice is None or shutil.which("pdftoppm") is None:
        pytest.skip(
            "LibreOffice (Debian libreoffice-writer-nogui) or pdftoppm (poppler-utils) is not installed"
        )
    path = action_plan(baseline, targets, area="Gjakova", path=tmp_path / "plan_sq.docx", lang="sq")
    done = subprocess.run(
        [
            soffice,
            f"-env:UserInstallation=file://{tmp_path}/lo",
            "--headless",
            "--convert-to",
            "pdf",
            "--outdir",
            str(tmp_path),
            str(path),
        ],
        capture_output=True,
        text=True,
        timeout=180,
    )
    pdf = tmp_path / "plan_sq.pdf"
    assert done.returncode == 0 and pdf.is_file(), done.stderr
    text = subprocess.run(["pdftotext", str(pdf), "-"], capture_output=True, text=True, check=True).stdout
    assert "Gjakovë" in text and "540.000" in text
    ARTIFACTS.mkdir(exist_ok=True)
    subprocess.run(
        [
            "pdftoppm",
            "-png",
            "-r",
            "60",
            "-f",
            "1",
            "-l",
            "1",
            "-singlefile",
            str(pdf),
            str(ARTIFACTS / "action_plan_sq"),
        ],
        check=True,
    )
    assert (ARTIFACTS / "action_plan_sq.png").stat().st_size > 10_000


# --- command line -----------------------------------------------------------------------------------


def _cli(*args: str) -> subprocess.CompletedProcess[str]:
    import os

    return subprocess.run(
        [sys.executable, "-m", "socialmap.cli", *args],
        capture_output=True,
        text=True,
        env={**os.environ, "SOCIALMAP_LANG": "en"},
        timeout=600,
    )


def test_cli_action_plan_and_its_errors(targets, tmp_path):
    saved = targets.write(tmp_path / "targets.xlsx", lang="sq")
    out = tmp_path / "plan.docx"
    done = _cli(
        "action-plan",
        "--demo",
        "kosovo",
        "--area",
        "Gjakova",
        "--targets",
        str(saved),
        "--lang",
        "sq",
        "--out",
        str(out),
    )
    assert done.returncode == 0, done.stderr
    text = _text(_docx(out))
    assert "Gjakovë" in text and "540.000" in text
    # Errors: exit 2 with a message in the language, never a traceback.
    only = type(targets)(targets.for_area(GJAKOVA), targets.name).write(tmp_path / "gjakova.xlsx")
    bad = tmp_path / "bad.xlsx"
    frame = pd.read_excel(saved, sheet_name="targets", dtype={"area_id": str, "year": object})
    frame.loc[0, "year"] = "next year"
    frame.to_excel(bad, sheet_name="targets", index=False)
    for args, expected in (
        (["--targets", str(bad)], "next year"),
        (["--targets", str(tmp_path / "none.xlsx")], "none.xlsx"),
        (["--targets", str(only), "--area", "Prizren"], "Prizren"),
        (["--targets", str(saved), "--out", str(tmp_path / "plan.pdf")], ".docx"),
    ):
        base = {"--area": "Gjakova", "--out": str(tmp_path / "x.docx")}
        pairs = dict(zip(args[::2], args[1::2], strict=True))
        full = [a for k, v in {**base, **pairs}.items() for a in (k, v)]
        done = _cli("action-plan", "--demo", "kosovo", "--lang", "sq", *full)
        assert done.returncode == 2, (args, done.stdout, done.stderr)
        assert "Traceback" not in done.stderr and expected in done.stderr, done.stderr
        assert "gabim" in done.stderr
    assert not (tmp_path / "x.docx").exists()


def test_cli_monitor_writes_indicators_with_their_definitions(targets, tmp_path):
    saved = targets.write(tmp_path / "targets.xlsx")
    out = tmp_path / "indicators.xlsx"
    done = _cli("monitor", "--demo", "kosovo", "--targets", str(saved), "--lang", "sr", "--out", str(out))
    assert done.returncode == 0, done.stderr
    sheets = pd.read_excel(out, sheet_name=None, dtype={"area_id": str})
    assert set(sheets) == {"values", "progress", "indicators", "notes"}
    defs = sheets["indicators"]
    assert defs["indicator"].tolist() == ["need", "places", "places_per_1000", "share_within_reach", "gap"]
    assert defs["frequency"].notna().all() and defs["definition"].notna().all()
    values = sheets["values"]
    north = values[(values["area_id"].isin(["12", "28", "29", "38"])) & (values["year"] == 2011)]
    assert len(north) and north["need"].isna().all()  # the 2011 census was not held there: missing
    notes = " ".join(sheets["notes"]["note"].astype(str))
    assert "2011:" in notes and "no population figure" not in notes  # the notes are in Serbian
    for args, expected in (
        (["--demo", "kosovo", "--years", "2011,soon"], "soon"),
        (["--demo", "kosovo", "--years", "1999"], "1999"),
        (["--population-year", "2011"], "YEAR=FILE"),
        ([], "--demo"),
    ):
        done = _cli("monitor", *args, "--out", str(tmp_path / "x.xlsx"))
        assert done.returncode == 2, (args, done.stderr)
        assert "Traceback" not in done.stderr and expected in done.stderr, done.stderr
    done = _cli("monitor", "--demo", "kosovo", "--out", str(tmp_path / "x.csv"))
    assert done.returncode == 2 and ".xlsx" in done.stderr


# --- what the app shows (socialmap.views) -------------------------------------------------------------


def test_app_targets_from_the_analysed_scenario(baseline, targets, tmp_path):
    from socialmap import views
    from socialmap.pipeline import analyze
    from socialmap.scenario import Scenario, new_service

    plan = Scenario("x").add(new_service("day_care_disability", (20.43, 42.38), crs="EPSG:4326", capacity=30))
    edited = analyze(services=plan.apply(baseline.services), demo="kosovo")
    tg = views.scenario_targets(
        baseline,
        edited,
        name="x",
        first_year=2026,
        years=3,
        service_type="day_care_disability",
        unit_cost=6000,
    )
    assert tg.years == [2026, 2027, 2028]
    assert tg.budget_by_year(GJAKOVA)["budget_eur"].tolist() == [180_000] * 3  # 30 places × 6,000 EUR
    shown = views.targets_table(tg, baseline.taxonomy, "sq")
    gjakova = shown[shown[t("Municipality", "sq")] == "Gjakovë"]
    assert gjakova[t("Places added", "sq")].tolist() == [30, 30, 30]
    serbian = views.targets_table(tg, baseline.taxonomy, "sr", areas=baseline.areas)
    assert "Đakovica" in set(serbian[t("Municipality", "sr")])  # named in the reader's language
    docx = views.action_plan_docx(baseline, tg, baseline.taxonomy, "sq", area_id=GJAKOVA)
    (tmp_path / "p.docx").write_bytes(docx)
    assert "540.000" in _text(_docx(tmp_path / "p.docx"))
    assert views.action_plan_name(baseline, GJAKOVA, "sq") == "socialmap_action_plan_02_gjakove.docx"
    book = pd.read_excel(pd.io.common.BytesIO(views.targets_xlsx(tg, "sr")), sheet_name=None)
    assert set(book) == {"targets", "notes", "columns"}
    from socialmap.errors import SocialMapError

    with pytest.raises(SocialMapError, match="years"):
        views.scenario_targets(baseline, edited, name="x", first_year=2026, years=0)


def test_profile_trend_2011_against_2024():
    from socialmap import views

    monitoring = views.demo_monitoring("kosovo")
    assert monitoring.years == (2011, 2024)
    import socialmap

    tax = socialmap.load_demo("kosovo").taxonomy
    data, notes = views.trend_chart(monitoring, GJAKOVA, tax, "places", "sq")
    label = tax.label("day_care_disability", "sq")
    assert data.loc[label].tolist() == [64.0, 64.0]  # the demo's services carry no years: the same places
    assert notes == []
    north, notes = views.trend_chart(monitoring, "12", tax, "share_within_reach", "sq")  # Leposaviq
    assert north["2011"].isna().all() and north["2024"].notna().any()  # missing, never filled in
    assert (
        len(notes) == 1
        and notes[0].startswith("2011: ")
        and "regjistrimi i vitit 2011 nuk u mbajt" in notes[0]
    )
    assert north["2024"].dropna().between(0, 100).all()  # a share, in %
    spec = views.trend_chart_spec(data, "places", "sq")
    assert spec["config"]["locale"]["number"]["decimal"] == ","
    assert {v["Viti"] for v in spec["data"]["values"]} == {"2011", "2024"}
