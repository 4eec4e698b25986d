"""Own data in without programming: files as people send them (issue #16), read with no options.

The test files are built here, as a Centre for Social Work's clerk writes them: Albanian or Serbian
headers, ``;`` and decimal commas, service types by their names (in any language, with slips),
no ``service_id``, a title row above the header, blank population cells, municipality names
spelled three ways. Each is compared with the same data in the column contract's own headers.
"""

from __future__ import annotations

import math
import os
import subprocess
import sys
import warnings
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
from shapely.geometry import Point
from worlds import CRS, square_areas, square_population, taxonomy_from_text

from socialmap import analyze, load_demo
from socialmap.errors import SocialMapError
from socialmap.io import read_areas, read_services
from socialmap.report import run_notes
from socialmap.validate import validate_file, validate_services

REPO = Path(__file__).resolve().parents[1]
GEOBOUNDARIES = "geoboundaries/geoBoundaries-XKX-ADM2_simplified.geojson"

# The clerk's list: (name, service type as written, capacity as written, latitude, longitude) and the
# taxonomy key the type stands for. Written in Albanian (the taxonomy's own names, with and without
# diacritics), in Serbian and English, once by its key, and twice with a slip of spelling.
CLERK_ROWS = [
    ("QPS Gjakovë", "Qendra për Punë Sociale", "12", "42,38", "20,43", "csw"),
    ("QPS Pejë", "Qendra për Punë Sociale", "10", "42,66", "20,29", "csw"),
    ("QPS Prizren", "Qendra per Pune Sociale", "14", "42,21", "20,74", "csw"),
    ("QPS Ferizaj", "qendra për punë sociale", "9", "42,37", "21,16", "csw"),
    ("CSR Zvečan", "Centar za socijalni rad", "4", "42,91", "20,84", "csw"),
    ("CSW Prishtinë", "Centre for Social Work", "20", "42,66", "21,17", "csw"),
    ("QPS Gjilan", "Qendër për punë sociale", "11", "42,46", "21,47", "csw"),  # a slip: Qendër/Qendra
    (
        "Qendra ditore Gjakovë",
        "Qendër ditore për personat me aftësi të kufizuara",
        "25",
        "42,40",
        "20,33",
        "day_care_disability",
    ),
    (
        "Qendra ditore Pejë",
        "Qendër ditore për personat me aftësi të kufizuara",
        "18,5",
        "42,64",
        "20,42",
        "day_care_disability",
    ),
    (
        "Dnevni boravak Gračanica",
        "Dnevni boravak za osobe sa invaliditetom",
        "15",
        "42,60",
        "21,19",
        "day_care_disability",
    ),
    ("Qendra ditore Prizren", "day_care_disability", "30", "42,22", "20,73", "day_care_disability"),
    (
        "Kujdesi në shtëpi Prishtinë",
        "Kujdes në shtëpi për të moshuarit",
        "40",
        "42,67",
        "21,16",
        "home_care_elderly",
    ),
    (
        "Kujdesi në shtëpi Ferizaj",
        "Kujdes ne shtepi per te moshuar",
        "25",
        "42,38",
        "21,15",
        "home_care_elderly",
    ),  # a slip
    (
        "Shtëpia e të moshuarve",
        "Kujdes rezidencial për të moshuarit",
        "60",
        "42,65",
        "21,15",
        "residential_elderly",
    ),
    ("Strehim Gjilan", "Strehim me bazë në komunitet", "8", "42,47", "21,46", "community_housing"),
    (
        "Këshillimi Mitrovicë",
        "Këshillim dhe mbështetje për familjen",
        "",
        "42,89",
        "20,87",
        "counselling_family",
    ),
    (
        "Savetovalište Gračanica",
        "Savetovanje i podrška porodici",
        "6",
        "42,60",
        "21,20",
        "counselling_family",
    ),
]
CLERK_HEADER = ["Emri", "Lloji i shërbimit", "Kapaciteti", "Gjerësia", "Gjatësia"]


def clerk_csv(path: Path, *, title: bool = False) -> Path:
    """The clerk's CSV as Excel saves it in Albanian: ';', decimal commas, UTF-8 with a BOM."""
    lines = [";".join(CLERK_HEADER)] + [";".join(r[:5]) for r in CLERK_ROWS]
    if title:  # Excel writes a title in A1 as a row of the table's width
        lines = ["Lista e shërbimeve sociale – QPS, dhjetor 2024;;;;", ";;;;", *lines]
    path.write_text("\ufeff" + "\r\n".join(lines) + "\r\n", encoding="utf-8")
    return path


def _number(text: str) -> float | None:
    return float(text.replace(",", ".")) if text else None


def clerk_xlsx(path: Path, *, title: bool = False) -> Path:
    """The same list in a workbook: numbers as numbers, blank cells empty."""
    from openpyxl import Workbook

    book = Workbook()
    sheet = book.active
    sheet.title = "Shërbimet"
    if title:
        sheet.append(["Lista e shërbimeve sociale – QPS, dhjetor 2024"])
        sheet.append([])
    sheet.append(CLERK_HEADER)
    for name, kind, capacity, lat, lon, _ in CLERK_ROWS:
        sheet.append([name, kind, _number(capacity), _number(lat), _number(lon)])
    book.save(path)
    return path


def contract_csv(path: Path) -> Path:
    """The same data with the contract's headers and keys (what the clerk's file must equal)."""
    frame = pd.DataFrame(
        {
            "name": [r[0] for r in CLERK_ROWS],
            "service_type": [r[5] for r in CLERK_ROWS],
            "capacity": [_number(r[2]) for r in CLERK_ROWS],
            "lat": [_number(r[3]) for r in CLERK_ROWS],
            "lon": [_number(r[4]) for r in CLERK_ROWS],
        }
    )
    frame.to_csv(path, index=False)
    return path


def _quiet(fn, *args, **kwargs):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)
        return fn(*args, **kwargs)


@pytest.fixture(scope="module")
def demo():
    return load_demo("kosovo")


@pytest.fixture(params=["csv", "xlsx", "csv-title", "xlsx-title"])
def clerk_file(request, tmp_path):
    fmt, _, title = request.param.partition("-")
    path = tmp_path / f"sherbimet.{fmt}"
    return (clerk_csv if fmt == "csv" else clerk_xlsx)(path, title=bool(title))


def test_clerk_file_reads_as_the_contract_file_with_no_options(clerk_file, tmp_path, demo):
    ours = _quiet(
        read_services, contract_csv(tmp_path / "contract.csv"), taxonomy=demo.taxonomy, areas=demo.areas
    )
    with pytest.warns(UserWarning) as caught:
        theirs = read_services(clerk_file, taxonomy=demo.taxonomy, areas=demo.areas)
    text = str(caught[0].message)
    # What was read as what is said, never silently.
    assert "'Lloji i shërbimit' → service_type" in text and "'Gjatësia' → lon" in text
    assert "written differently from the taxonomy" in text and "'Qendër për punë sociale' → csw" in text
    assert "no 'service_id' column" in text
    assert theirs["service_type"].tolist() == [r[5] for r in CLERK_ROWS]
    assert theirs["capacity"].tolist() == pytest.approx(ours["capacity"].tolist(), nan_ok=True)
    assert np.allclose(theirs.geometry.x, ours.geometry.x) and np.allclose(theirs.geometry.y, ours.geometry.y)
    # Ids made from each row's name, type and place: the same for the same rows.
    assert theirs["service_id"].tolist() == ours["service_id"].tolist()
    assert theirs["service_id"].str.fullmatch(r"svc-[0-9a-f]{10}").all()


def test_clerk_file_analyses_as_the_contract_file(clerk_file, tmp_path):
    def run(services):
        return _quiet(
            analyze, services=services, demo="kosovo", spreading="representative", catchment_m=15_000
        )

    ours, theirs = run(contract_csv(tmp_path / "contract.csv")), run(clerk_file)
    cols = ["area_id", "service_type", "method", "need", "services", "supply", "covered_share", "gap_score"]
    pd.testing.assert_frame_equal(pd.DataFrame(theirs.table[cols]), pd.DataFrame(ours.table[cols]))
    assert theirs.table["services"].sum() == len(CLERK_ROWS)


def test_title_row_is_skipped_with_a_warning(tmp_path, demo):
    report = validate_file(
        clerk_csv(tmp_path / "s.csv", title=True), taxonomy=demo.taxonomy, areas=demo.areas
    )
    assert report.ok and report.kind == "services"
    skipped = [p for p in report.problems if "as the header" in p.message]
    assert skipped[0].row == 3 and "Lista e shërbimeve sociale" in skipped[0].message
    # Rows keep the numbers the spreadsheet shows: the first data row is row 4.
    empty = next(p for p in report.problems if p.column == "Kapaciteti")
    assert empty.row == 4 + 15
    # In Albanian too (the row number and the title as they are).
    albanian = skipped[0].translated("sq").message
    assert albanian != skipped[0].message and "3" in albanian and "Lista e shërbimeve sociale" in albanian


def test_a_header_that_cannot_be_found_gets_a_hint(tmp_path):
    path = tmp_path / "s.csv"
    path.write_text("Lista e shërbimeve;;;\nNr;Njësia;Sasia;Shënim\n1;a;2;x\n", encoding="utf-8")
    report = validate_file(path, kind="services")
    assert not report.ok
    # Unknown names below a title: the title is skipped, and nothing is guessed from unknown names.
    assert any("Required column 'name' is missing" in p.message for p in report.errors)
    # A first row with two filled cells of five is taken as the header; the hint says it is not one.
    path.write_text("Lista e shërbimeve;;;Data: 2024;\nQPS;csw;3;42;20\n", encoding="utf-8")
    report = validate_file(path, kind="services")
    missing = next(p for p in report.errors if "'name' is missing" in p.message)
    assert "The header row was not found" in missing.message


def test_columns_mapping_by_hand_still_wins_and_blank_keeps_a_column_out(tmp_path, demo):
    path = clerk_csv(tmp_path / "s.csv")
    # "Emri" read as the provider by hand; the name comes from nowhere: reported, not guessed.
    _, problems = validate_services(
        pd.read_csv(path, sep=";", dtype=str, encoding="utf-8-sig"),
        columns={"Emri": ""},
        taxonomy=demo.taxonomy,
    )
    assert any("'name' is missing" in p.message for p in problems if p.severity == "error")


def test_service_type_ambiguous_or_unknown_is_an_error_with_candidates(tmp_path):
    tax = taxonomy_from_text(
        tmp_path,
        """
        sources: {def: {citation: "by definition"}}
        target_groups:
          all: {label: {en: All, sq: Të gjithë, sr: Svi}, rate: 1.0, source: def}
        service_types:
          day_children:
            label: {en: Day care for children, sq: Qendër ditore për fëmijë, sr: Dnevni boravak za decu}
            target_groups: [all]
          day_adults:
            label: {en: Day care for adults, sq: Qendër ditore për të rritur, sr: Dnevni boravak za odrasle}
            target_groups: [all]
          home_a: {label: {en: Home care A, sq: Kujdes në shtëpi A, sr: Pomoć u kući A}, target_groups: [all]}
          home_b: {label: {en: Home care B, sq: Kujdes në shtëpi B, sr: Pomoć u kući B}, target_groups: [all]}
        """,
    )
    services = gpd.GeoDataFrame(
        {
            "service_id": ["a", "b", "c", "d"],
            "name": ["A", "B", "C", "D"],
            "service_type": ["Day care for child", "Day care for adult", "Home care", "Qendër ditore"],
            "capacity": [1, 1, 1, 1],
        },
        geometry=[Point(20, 42)] * 4,
        crs=4326,
    )
    clean, problems = validate_services(services, taxonomy=tax)
    errors = [p for p in problems if p.severity == "error"]
    assert [p.row for p in errors] == [3, 4]
    # Equally close to two types (similarity 0.9 each): an error naming both, never a guess.
    assert "'Home care' is as close to several types" in errors[0].message
    assert "'Home care A' (home_a); 'Home care B' (home_b)" in errors[0].message
    # The candidates are named in the language shown.
    assert "'Kujdes në shtëpi A' (home_a)" in errors[0].translated("sq").message
    # Not close enough to any: unknown, with the closest ones.
    assert errors[1].message.startswith("Unknown service_type 'Qendër ditore'")
    assert "Closest: 'Day care for children' (day_children); 'Day care for adults' (day_adults)" in str(
        errors[1].message
    ) or "Closest: 'Day care for adults' (day_adults); 'Day care for children' (day_children)" in str(
        errors[1].message
    )
    similar = next(p for p in problems if "written differently" in p.message)
    assert "'Day care for child' → day_children" in similar.message
    assert "'Day care for adult' → day_adults" in similar.message


def test_made_ids_are_stable_and_unique(demo):
    rows = pd.DataFrame(
        {
            "name": ["A", "B", "A"],
            "service_type": ["csw", "csw", "csw"],
            "capacity": [1, 2, 1],
            "lat": [42.5, 42.6, 42.5],
            "lon": [20.5, 20.6, 20.5],
        }
    )
    one, problems = validate_services(rows, taxonomy=demo.taxonomy)
    two, _ = validate_services(rows.iloc[[1, 0, 2]], taxonomy=demo.taxonomy)
    ids = one["service_id"].tolist()
    assert ids[2] == ids[0] + "-2" and len(set(ids)) == 3  # a repeated row gets a suffix
    assert dict(zip(two["name"] + two.index.astype(str), two["service_id"], strict=True)) == {
        "B1": ids[1],
        "A0": ids[0],
        "A2": ids[0] + "-2",
    }
    made = next(p for p in problems if p.column == "service_id")
    assert made.severity == "warning" and "made an id for each of the 3 services" in made.message


# --------------------------------------------------------------------------------------------------
# Population: Serbian names, blanks, the official boundaries
# --------------------------------------------------------------------------------------------------


def population_table(path: Path, shared: Path) -> tuple[Path, dict[str, float]]:
    """
    The 38 municipalities' 2024 population (the demo's figures), named three ways, Kaçanik and Shtime blank.

    Serbian names for every third row (Đakovica, Peć, Uroševac, Glogovac...), English for the next
    (Gjakova, North Mitrovica...), the demo's Albanian for the rest. Returns the path and the figures
    by KAS code.
    """
    facts = pd.read_csv(shared / "municipalities.csv", dtype={"kas_code": str}).set_index("kas_code")
    demo = pd.read_csv(REPO / "data/population/kosovo_population_2024.csv", dtype={"area_id": str})
    # Serbian: the ones the issue lists (Đakovica, Peć, Uroševac, Glogovac, Kosovska Mitrovica, Elez Han,
    # Severna Kosovska Mitrovica) and a few more; English (Peja-style definite forms) for every third.
    serbian = {"02", "17", "25", "03", "11", "31", "38", "05", "12", "23", "29", "35"}
    names, values, figures = [], [], {}
    for i, row in demo.iterrows():
        code = row["area_id"]
        spelling = "name_sr_latn" if code in serbian else ("name_en" if i % 3 == 1 else None)
        names.append(row["name"] if spelling is None else facts.loc[code, spelling].split(" (")[0])
        blank = row["name"] in ("Kaçanik", "Shtime")
        values.append("" if blank else f"{int(row['population']):,}".replace(",", "."))
        figures[code] = math.nan if blank else float(row["population"])
    # The Serbian names the issue lists are all there.
    assert {"Đakovica", "Peć", "Uroševac", "Glogovac", "Kosovska Mitrovica", "Elez Han"} <= set(names)
    assert {"Severna Kosovska Mitrovica", "Mamusha", "Klina", "Gjilan"} <= set(names)
    lines = ["Opština;Stanovništvo"] + [f"{n};{v}" for n, v in zip(names, values, strict=True)]
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path, figures


def test_serbian_names_and_blanks_with_the_official_boundaries(tmp_path, shared_kosovo):
    boundaries = shared_kosovo / GEOBOUNDARIES
    areas = _quiet(read_areas, boundaries)
    path, figures = population_table(tmp_path / "stanovnistvo.csv", shared_kosovo)
    # Joined with the Kosovo aliases although these are not the demo's boundaries.
    report = validate_file(path, areas=areas)
    assert report.ok, report.format("en")
    blank = next(p for p in report.problems if p.column == "Stanovništvo")
    assert "Kaçanik" in blank.message and "Shtime" in blank.message
    assert "Kačanik" in blank.translated("sr").message and "Štimlje" in blank.translated("sr").message
    assert "XKX-ADM2" not in report.format("sq")

    res = _quiet(
        analyze,
        boundaries,
        REPO / "data/services/kosovo_services.csv",
        path,
        method="coverage",
        spreading="representative",
        service_types=("csw", "day_care_disability"),
    )
    scored = res.areas[res.areas["composite_gap"].notna()]
    assert len(scored) == 36
    unscored = sorted(res.areas.loc[res.areas["composite_gap"].isna(), "name"])
    assert unscored == ["Municipality of Kaçanik", "Municipality of Shtime"]
    # Each municipality's need is its own population (the Centre for Social Work serves everyone).
    codes = pd.read_csv(shared_kosovo / "municipalities.csv", dtype=str).set_index("gb_adm2_shapeID")[
        "kas_code"
    ]
    csw = res.for_service_type("csw").set_index("area_id")["need"]
    expected = {shape: figures[code] for shape, code in codes.items() if shape in csw.index}
    assert csw.to_dict() == pytest.approx(expected, nan_ok=True)
    notes = " ".join(run_notes(res, "sq"))
    assert "Kaçanik" in notes and "Shtime" in notes and "36" in notes
    assert "Štimlje" in " ".join(run_notes(res, "sr"))
    # The cause is the population, not the taxonomy: the Centres for Social Work (need = everyone) are
    # scored in the 36 areas, and the only "need unknown" note is day care's, whose taxonomy has no
    # sourced need rate (the need model's choice, blanks or not).
    unknown = [n for n in res.notes if "need unknown" in n]
    assert unknown and all(n.startswith("day_care_disability:") for n in unknown)
    assert res.for_service_type("csw")["gap_score"].notna().sum() == 36


def test_kosovo_is_recognised_by_names_and_other_countries_are_not(shared_kosovo):
    from socialmap.datasets import recognise_areas

    areas = _quiet(read_areas, shared_kosovo / GEOBOUNDARIES)
    known = recognise_areas(areas)
    assert known is not None and known.demo == "kosovo" and known.share == 1.0
    gjakova = known.names.set_index("area_id").loc["XKX-ADM2-46174442B87042416"]
    assert (gjakova["name_sq"], gjakova["name_sr"]) == ("Gjakovë", "Đakovica")
    assert recognise_areas(square_areas()) is None
    other = pd.DataFrame({"area_id": list("abcd"), "name": ["Tirana", "Durrës", "Shkodër", "Vlorë"]})
    assert recognise_areas(other) is None


# --------------------------------------------------------------------------------------------------
# Missing is local: worked by hand on the four squares
# --------------------------------------------------------------------------------------------------

TAXONOMY = """
sources: {def: {citation: "by definition"}}
target_groups:
  everyone: {label: {en: Everyone, sq: Të gjithë, sr: Svi}, rate: 1.0, source: def}
service_types:
  day: {label: {en: Day care, sq: Qendër ditore, sr: Dnevni boravak}, target_groups: [everyone]}
"""


def test_a_blank_population_leaves_only_that_area_unscored(tmp_path):
    # a | b bottom, c | d top (10 km squares, demand at the centres); b's population is blank.
    # s1 (6, 5) km, 100 places, reaches a (1 km), b (9 km), c (10.05 km); s2 (15, 14), 50 places,
    # reaches d (1 km), b, c. b adds no demand: R1 = 100 / (1000 + 0) = 0.1, R2 = 50 / (2000 + 0) = 0.025.
    # a: 1000 × min(0.1, 1) = 100 reachable, gap 90; d: 2000 × 0.025 = 50, gap 97.5; c: no one; b: unknown.
    tax = taxonomy_from_text(tmp_path, TAXONOMY)
    pop = square_population()
    pop.loc[pop["area_id"] == "b", "population"] = np.nan
    services = gpd.GeoDataFrame(
        {
            "service_id": ["s1", "s2"],
            "name": ["s1", "s2"],
            "service_type": ["day", "day"],
            "capacity": [100.0, 50.0],
        },
        geometry=[Point(6000, 5000), Point(15000, 14000)],
        crs=CRS,
    )
    # First with b's population 0 (the same demand points: the analysis may keep and reuse its tables),
    # then blank: b must still come out unknown, not 0.
    zero = pop.fillna({"population": 0.0})
    analyze(square_areas(), services, zero, taxonomy=tax, spreading="representative", catchment_m=10_500)
    res = analyze(square_areas(), services, pop, taxonomy=tax, spreading="representative", catchment_m=10_500)
    again = analyze(
        square_areas(), services, pop, taxonomy=tax, spreading="representative", catchment_m=10_500
    )
    pd.testing.assert_frame_equal(pd.DataFrame(again.table), pd.DataFrame(res.table))
    t = res.for_service_type("day").set_index("area_id")
    assert t.loc[["a", "d"], "gap_score"].tolist() == pytest.approx([90.0, 97.5])
    assert t.loc[["a", "d"], "reachable_places"].tolist() == pytest.approx([100.0, 50.0])
    assert math.isnan(t.loc["b", "gap_score"]) and math.isnan(t.loc["b", "need"])
    assert t.loc["b", "services"] == 0 and t.loc["a", "supply"] == 100
    assert (t["method"] == "2sfca").all()
    comp = res.areas.set_index("area_id")
    assert math.isnan(comp.loc["b", "composite_gap"]) and comp.loc["d", "rank"] == 1
    assert res.provenance["population_unknown_areas"] == ["b"]
    (note,) = [n for n in run_notes(res, "en") if "Population unknown" in n]
    assert "(B)" in note and "the other 3 areas are scored" in note
    assert not any("need unknown" in n for n in res.notes)
    assert (
        res.demand.set_index("area_id").loc["b", "need"] != res.demand.set_index("area_id").loc["b", "need"]
    )


def test_no_population_at_all_is_an_error(tmp_path):
    tax = taxonomy_from_text(tmp_path, TAXONOMY)
    pop = square_population().assign(population=np.nan)
    services = gpd.GeoDataFrame(
        {"service_id": ["s1"], "name": ["s1"], "service_type": ["day"], "capacity": [1.0]},
        geometry=[Point(6000, 5000)],
        crs=CRS,
    )
    with pytest.raises(SocialMapError, match="blank in every area"):
        analyze(square_areas(), services, pop, taxonomy=tax, spreading="representative")


# --------------------------------------------------------------------------------------------------
# The command line, with no options
# --------------------------------------------------------------------------------------------------


def _cli(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "socialmap.cli", *args],
        capture_output=True,
        text=True,
        cwd=cwd,
        env={**os.environ, "SOCIALMAP_LANG": "en"},
        timeout=300,
    )


def test_cli_validate_and_analyze_the_clerks_files(tmp_path):
    clerk = clerk_csv(tmp_path / "sherbimet.csv", title=True)
    done = _cli("validate", str(clerk), cwd=tmp_path)
    assert done.returncode == 0, done.stdout + done.stderr
    assert "(services, 17 rows): OK" in done.stdout
    outs = {}
    for label, path in (("theirs", clerk), ("ours", contract_csv(tmp_path / "contract.csv"))):
        done = _cli(
            "analyze", "--demo", "kosovo", "--services", str(path), "--spreading", "representative",
            "--out", str(tmp_path / label), cwd=tmp_path,
        )  # fmt: skip
        assert done.returncode == 0, done.stderr
        outs[label] = pd.read_csv(tmp_path / label / "areas.csv", dtype={"area_id": str})
    pd.testing.assert_frame_equal(outs["theirs"], outs["ours"])


def test_cli_columns_option(tmp_path):
    path = tmp_path / "s.csv"
    path.write_text(
        "Emertesa;Lloji;Vende;Gjerësia;Gjatësia\nQPS Gjakovë;csw;12;42,38;20,43\n", encoding="utf-8"
    )
    done = _cli("validate", str(path), "--kind", "services", cwd=tmp_path)
    assert done.returncode == 1 and "'name' is missing" in done.stdout
    done = _cli("validate", str(path), "--columns", "Emertesa=name", cwd=tmp_path)
    assert done.returncode == 0, done.stdout
    done = _cli("validate", str(path), "--columns", "Emertesa", cwd=tmp_path)
    assert done.returncode == 2 and "is not written their=ours" in done.stderr


# --------------------------------------------------------------------------------------------------
# Another country: a taxonomy with labels in its own languages only
# --------------------------------------------------------------------------------------------------

ENGLISH_ONLY = """
name: testland
languages: [en]
sources: {def: {citation: "by definition"}}
target_groups:
  everyone: {label: {en: Everyone}, rate: 1.0, source: def}
service_types:
  community_centre: {label: {en: Community centre}, target_groups: [everyone]}
"""


def test_a_taxonomy_needs_labels_only_in_its_own_languages(tmp_path):
    tax = taxonomy_from_text(tmp_path, ENGLISH_ONLY)
    assert tax.languages == ("en",)
    assert tax.has_language("en") and not tax.has_language("sq")
    # Other languages fall back to the taxonomy's first language.
    assert tax.label("community_centre", "sq") == tax.label("community_centre", "sr") == "Community centre"
    # A service type is read by its (English) name in any file.
    clean, problems = validate_services(
        pd.DataFrame(
            {"name": ["X"], "service_type": ["community centre"], "capacity": [3], "lat": [1.0], "lon": [1.0]}
        ),
        taxonomy=tax,
    )
    assert clean["service_type"].tolist() == ["community_centre"]
    with pytest.raises(SocialMapError, match=r"label in 'en' is missing"):
        taxonomy_from_text(
            tmp_path, ENGLISH_ONLY.replace("{label: {en: Everyone}", "{label: {sq: Të gjithë}")
        )
    with pytest.raises(SocialMapError, match=r"unknown language code \['de'\]"):
        taxonomy_from_text(tmp_path, ENGLISH_ONLY.replace("[en]", "[en, de]"))
    # Without `languages:` the three languages are needed, as before.
    with pytest.raises(SocialMapError, match=r"label in 'sq' is missing"):
        taxonomy_from_text(tmp_path, ENGLISH_ONLY.replace("languages: [en]\n", ""))
    # Albanian-and-Serbian-only works too; English falls back to Albanian.
    both = taxonomy_from_text(
        tmp_path,
        ENGLISH_ONLY.replace("[en]", "[sq, sr]")
        .replace("{en: Everyone}", "{sq: Të gjithë, sr: Svi}")
        .replace("{en: Community centre}", "{sq: Qendër komunitare, sr: Centar zajednice}"),
    )
    assert both.label("community_centre", "en") == "Qendër komunitare"


# --------------------------------------------------------------------------------------------------
# Uploaded boundaries keep their attribution
# --------------------------------------------------------------------------------------------------


def test_boundaries_keep_their_attribution(tmp_path, shared_kosovo):
    import json
    import zipfile

    from socialmap.datasets import GEOBOUNDARIES_ATTRIBUTION, boundaries_attribution
    from socialmap.static import sources_lines

    adm2 = shared_kosovo / GEOBOUNDARIES
    # geoBoundaries' own file (its layout and name say so), even renamed.
    areas = _quiet(read_areas, adm2)
    assert areas.attrs["attribution"] == GEOBOUNDARIES_ATTRIBUTION
    renamed = tmp_path / "komunat.geojson"
    renamed.write_bytes(adm2.read_bytes())
    assert _quiet(read_areas, renamed).attrs["attribution"] == GEOBOUNDARIES_ATTRIBUTION
    # geoBoundaries' ZIP with its metadata file beside the data: the licence is read from the metadata.
    zipped = tmp_path / "XKX_ADM2.zip"
    with zipfile.ZipFile(zipped, "w") as archive:
        archive.write(adm2, adm2.name)
        archive.write(shared_kosovo / "geoboundaries/geoBoundaries-XKX-ADM2-metaData.txt", "meta.txt")
    text = boundaries_attribution(zipped)
    expected = "Boundaries: geoBoundaries (Creative Commons Attribution-ShareAlike 2.0)"
    assert text == expected + ", from OpenStreetMap, Wambacher"
    # A GeoJSON that says it itself, and one that says nothing.
    data = json.loads(adm2.read_text(encoding="utf-8"))
    own = tmp_path / "own.geojson"
    own.write_text(
        json.dumps({**data, "attribution": "Komuna e Gjakovës, 2023 (CC BY 4.0)"}), encoding="utf-8"
    )
    assert boundaries_attribution(own) == "Komuna e Gjakovës, 2023 (CC BY 4.0)"
    bare = tmp_path / "bare.geojson"
    for f in data["features"]:
        f["properties"] = {"area_id": f["properties"]["shapeID"], "name": f["properties"]["shapeName"]}
    bare.write_text(json.dumps(data), encoding="utf-8")
    assert "attribution" not in _quiet(read_areas, bare).attrs
    # Shown wherever the result is drawn: the analysis' provenance, the map's and the brief's sources.
    res = _quiet(
        analyze,
        adm2,
        REPO / "data/services/kosovo_services.csv",
        REPO / "data/population/kosovo_population_2024.csv",
        method="coverage",
        spreading="representative",
        service_types=("csw",),
    )
    assert "Boundaries: " + res.provenance["boundaries"] == GEOBOUNDARIES_ATTRIBUTION
    assert "Kufijtë: geoBoundaries (CC BY-SA 2.0), © OpenStreetMap contributors" in sources_lines(res, "sq")
    # With the demo supplying the rest, and the attribution given by the caller (the app's text field).
    given = _quiet(read_areas, bare)
    given.attrs["attribution"] = "Municipal boundaries: Kosovo Cadastral Agency (typed in by hand)"
    res = _quiet(
        analyze, given, demo="kosovo", method="coverage", spreading="representative", service_types=("csw",)
    )
    assert res.provenance["demo_boundaries"].startswith("Municipal boundaries: Kosovo Cadastral Agency")


def test_kas_codes_join_to_the_official_boundaries(shared_kosovo):
    areas = _quiet(read_areas, shared_kosovo / GEOBOUNDARIES)
    report = validate_file(REPO / "data/population/kosovo_population_2024.csv", areas=areas)
    assert report.ok, report.format("en")
    (note,) = [p for p in report.problems if "municipality codes" in p.message]
    assert "'01' is Deçan" in note.message and note.severity == "warning"
    codes = pd.read_csv(shared_kosovo / "municipalities.csv", dtype=str).set_index("kas_code")[
        "gb_adm2_shapeID"
    ]
    assert report.frame.set_index("population")["area_id"].tolist() == [
        codes[c]
        for c in pd.read_csv(REPO / "data/population/kosovo_population_2024.csv", dtype=str)["area_id"]
    ]
    # The areas' own ids are never re-read.
    own = _quiet(read_areas, shared_kosovo / GEOBOUNDARIES)
    table = pd.DataFrame({"area_id": own["area_id"], "population": range(38)})
    from socialmap.validate import validate_population

    clean, problems = validate_population(table, areas=own)
    assert clean["area_id"].tolist() == own["area_id"].tolist() and not problems


# --------------------------------------------------------------------------------------------------
# The app's library: previews, chosen mappings, uploaded taxonomies, another country from uploads alone
# --------------------------------------------------------------------------------------------------


def _upload(path: Path) -> tuple[str, bytes]:
    return (path.name, path.read_bytes())


def test_preview_and_chosen_mapping_of_an_upload(tmp_path, demo):
    from socialmap import views
    from socialmap.columns import apply_choices, required_columns

    path = clerk_csv(tmp_path / "sherbimet.csv", title=True)
    shown = views.preview_upload(_upload(path), "services")
    assert shown.problems == () and shown.preview.file == "sherbimet.csv"
    p = shown.preview
    assert p.header_row == 3 and p.rows.loc[0, "Emri"] == "QPS Gjakovë"
    # One select per column the services need, pre-filled by the guess.
    prefilled = {c: p.guess.column_for(c) for c in required_columns("services", geometry=p.geometry)}
    assert prefilled == {
        "service_id": None,
        "name": "Emri",
        "service_type": "Lloji i shërbimit",
        "capacity": "Kapaciteti",
        "lat": "Gjerësia",
        "lon": "Gjatësia",
    }
    mapping = apply_choices(p.guess.mapping, prefilled, p.columns)
    inputs = views.read_inputs(None, _upload(path), None, demo=demo, columns={"services": mapping})
    assert inputs.ok and inputs.services["service_type"].tolist() == [r[5] for r in CLERK_ROWS]
    # A column chosen otherwise: "Emri" as nothing, so the name is missing, and said.
    wrong = apply_choices(p.guess.mapping, {**prefilled, "name": None}, p.columns)
    assert wrong["Emri"] == ""
    inputs = views.read_inputs(None, _upload(path), None, demo=demo, columns={"services": wrong})
    assert inputs.blocked == ("services",)
    assert any("'name' is missing" in x.message for x in inputs.uploads[0].problems)
    # A file that cannot be read gives a problem, not an exception.
    bad = views.preview_upload(("x.docx", b"PK"), "services")
    assert bad.preview is None and bad.problems[0].file == "x.docx"


def test_preview_of_geoboundaries_prefills_its_layout(shared_kosovo, demo):
    from socialmap import views
    from socialmap.columns import apply_choices, required_columns

    upload = _upload(shared_kosovo / GEOBOUNDARIES)
    found = views.preview_upload(upload, "areas").preview
    prefilled = {c: found.guess.column_for(c) for c in required_columns("areas")}
    assert prefilled == {"area_id": "shapeID", "name": "shapeName"} and found.guess.missing == ()
    # Read through the selects as pre-filled: the same areas as the loader's own reading of the layout.
    chosen = apply_choices(found.guess.mapping, prefilled, found.columns)
    mapped = views.read_inputs(upload, demo=demo, columns={"areas": chosen}).areas
    guessed = views.read_inputs(upload, demo=demo).areas
    assert len(mapped) == 38
    pd.testing.assert_frame_equal(mapped[["area_id", "name"]], guessed[["area_id", "name"]])


def test_uploaded_taxonomy(tmp_path):
    from socialmap import views

    ok = views.read_taxonomy(("testland.yaml", ENGLISH_ONLY.encode()))
    assert ok.problems == () and ok.taxonomy.service_type_keys == ("community_centre",)
    assert ok.taxonomy.origin == "testland.yaml"
    note = views.taxonomy_note(ok.taxonomy, "sq")
    assert note == (
        "Taksonomia testland nuk ka emra në shqip: llojet e shërbimeve dhe grupet e saj tregohen në anglisht."
    )
    assert views.taxonomy_note(ok.taxonomy, "en") is None
    broken = views.read_taxonomy(("mine.yaml", b"service_types: [\n"))
    assert broken.taxonomy is None and broken.problems[0].file == "mine.yaml"
    assert "not valid YAML" in broken.problems[0].message and "/tmp" not in broken.problems[0].message
    assert views.read_taxonomy(("mine.txt", b"x")).problems[0].message.startswith("Files ending in '.txt'")


def test_another_country_from_uploads_alone(tmp_path, demo):
    # Hand-worked: demand at the squares' centres, 20 km apart; catchment 15 km (the taxonomy's).
    # Clinics (everyone): West 100 places for 10,000 -> R = 0.01, gap 99; Centre 300 for 20,000 -> 98.5;
    # East reaches none -> 100. Day centre (older = 0.2): at Centre, 40 for 4,000 -> 99; West, East 100.
    # Composite (equal weights): West 99.5, Centre 98.75, East 100.
    from synthetic_country import write

    from socialmap import views
    from socialmap.pipeline import AnalysisConfig

    files = write(tmp_path)
    tax = views.read_taxonomy(_upload(files["taxonomy"])).taxonomy
    inputs = views.read_inputs(
        _upload(files["areas"]),
        _upload(files["services"]),
        _upload(files["population"]),
        demo=demo,
        taxonomy=tax,
    )
    assert inputs.ok, [p.message for u in inputs.uploads for p in u.problems if p.severity == "error"]
    assert inputs.demo_layers == () and views.demo_caption(inputs, "en") is None
    assert inputs.areas.attrs["attribution"] == "Testland survey office (made up)"
    analysis = views.analyze_inputs(inputs, AnalysisConfig(spreading="representative"), demo=demo)
    res = analysis.result
    assert res is not None, analysis.problems
    t = res.table.set_index(["area_id", "service_type"])["gap_score"]
    assert t[("W", "clinic")] == pytest.approx(99.0) and t[("C", "clinic")] == pytest.approx(98.5)
    assert t[("E", "clinic")] == pytest.approx(100.0)
    assert t[("C", "day_centre")] == pytest.approx(99.0) and t[("W", "day_centre")] == pytest.approx(100.0)
    comp = res.areas.set_index("area_id")
    assert comp["composite_gap"].to_dict() == pytest.approx({"W": 99.5, "C": 98.75, "E": 100.0})
    assert comp["rank"].to_dict() == {"E": 1, "W": 2, "C": 3}
    assert "demo" not in res.provenance and res.provenance["boundaries"] == "Testland survey office (made up)"
    assert res.taxonomy.name == "testland"


def test_a_mapping_select_starts_on_the_kept_column_then_the_guess() -> None:
    from socialmap.app.uploads import start_choice

    columns = ["Kodi", "Emri", "Lloji"]  # options: "" (0), Kodi (1), Emri (2), Lloji (3)
    # The kept mapping names Emri as "name": it wins over the guess Kodi.
    assert start_choice("name", {"Emri": "name"}, columns, "Kodi") == 2
    # The kept column is not in this file: the guess.
    assert start_choice("name", {"Name": "name"}, columns, "Kodi") == 1
    # Nothing kept for "name" (only another column): the guess.
    assert start_choice("name", {"Lloji": "service_type"}, columns, "Kodi") == 1
    # No guess either, or a guess the file does not have: none.
    assert start_choice("name", {}, columns, None) == 0
    assert start_choice("name", {}, columns, "Emër") == 0
