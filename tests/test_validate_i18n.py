"""Validation reports and the loaders' errors in Albanian (sq) and Serbian Latin (sr).

The problems and errors carry English text (``str()`` is unchanged) that remembers its template and
values (:class:`socialmap.errors.Message`), so a report or an error can be written in any language.
The expected texts below are the catalogs' translations, written out by hand.
"""

from __future__ import annotations

import ast
import pickle
import sys
from pathlib import Path
from types import SimpleNamespace

import pandas as pd
import pytest
from typer.testing import CliRunner

from socialmap import datasets, errors, io, settings
from socialmap.errors import (
    DataSourceError,
    Message,
    Number,
    Problem,
    SocialMapError,
    ValidationError,
    message,
    render,
)
from socialmap.validate import validate_file, validate_population

REPO = Path(__file__).resolve().parents[1]
PACKAGE = REPO / "socialmap"
TAXONOMY = SimpleNamespace(service_type_keys=("csw", "day_care_disability"))

SERVICES = (
    "service_id,name,service_type,capacity,lat,lon\n"
    "S1,Qendra A,csw,ten,42.66,21.17\n"
    "S1,Qendra B,csw,-1.5,42.38,20.43\n"
)


def write(path: Path, text: str) -> Path:
    path.write_text(text, encoding="utf-8")
    return path


def problem_at(problems, row, column) -> Problem:
    (found,) = [p for p in problems if (p.row, p.column) == (row, column)]
    return found


# --------------------------------------------------------------------------------------------------
# Reports
# --------------------------------------------------------------------------------------------------


@pytest.fixture
def bad_services(tmp_path) -> Path:
    """Text in a number column (row 2), a negative count and a duplicate id (row 3)."""
    return write(tmp_path / "services.csv", SERVICES)


def test_problems_in_albanian_keep_their_row_and_column(bad_services):
    report = validate_file(bad_services, taxonomy=TAXONOMY)
    assert {(p.row, p.column) for p in report.problems} == {
        (2, "capacity"),
        (3, "capacity"),
        (3, "service_id"),
    }
    text = problem_at(report.problems, 2, "capacity").translated("sq")
    assert (text.row, text.column, text.severity) == (2, "capacity", "error")
    assert text.message == "'ten' në 'capacity' nuk është numër."
    assert text.fix == (
        "Shkruajeni 'capacity' si numër (shifra, me '.' ose ',' si shenjë dhjetore), ose lëreni bosh "
        "nëse nuk dihet."
    )
    duplicate = problem_at(report.problems, 3, "service_id").translated("sq")
    assert duplicate.message == "service_id 'S1' përsëritet (herën e parë në rreshtin 2)."
    # A quantity is written with the language's decimal mark.
    negative = problem_at(report.problems, 3, "capacity")
    assert negative.message == "'capacity' is negative (-1.5)."
    assert negative.translated("sq").message == "Vlera në 'capacity' është negative (-1,5)."


def test_problems_in_serbian(bad_services):
    report = validate_file(bad_services, taxonomy=TAXONOMY)
    assert (
        problem_at(report.problems, 2, "capacity").translated("sr").message == "'ten' u 'capacity' nije broj."
    )
    duplicate = problem_at(report.problems, 3, "service_id").translated("sr")
    assert duplicate.message == "Ponovljen service_id 'S1' (prvi put u redu 2)."
    assert duplicate.fix == "Neka svaki 'service_id' bude jedinstven ili uklonite ponovljeni red."
    negative = problem_at(report.problems, 3, "capacity").translated("sr")
    assert negative.message == "Vrednost u 'capacity' je negativna (-1,5)."


def test_the_report_as_text_in_each_language(bad_services):
    report = validate_file(bad_services, taxonomy=TAXONOMY)
    sq = report.format("sq").splitlines()
    assert sq[0] == f"{bad_services} (shërbimet, 2 rreshta): 3 gabime, 0 paralajmërime"
    assert sq[1].split() == ["rëndësia", "rreshti", "kolona", "problemi", "/", "korrigjimi"]
    assert sq[2].split()[:3] == ["gabim", "2", "capacity"] and sq[2].endswith("nuk është numër.")
    assert sq[3].strip().startswith("korrigjimi: Shkruajeni 'capacity' si numër")
    sr = report.format("sr").splitlines()
    assert sr[0] == f"{bad_services} (usluge, 2 reda): 3 greške, 0 upozorenja"
    assert sr[1].split() == ["ozbiljnost", "red", "kolona", "problem", "/", "ispravka"]
    assert sr[2].split()[:3] == ["greška", "2", "capacity"]
    for text in ("\n".join(sq), "\n".join(sr)):
        assert "is not a number" not in text and "fix:" not in text and "error" not in text


def test_the_english_report_is_unchanged(bad_services):
    report = validate_file(bad_services, taxonomy=TAXONOMY)
    assert str(report) == report.format("en")
    lines = str(report).splitlines()
    assert lines[0] == f"{bad_services} (services, 2 rows): 3 errors, 0 warnings"
    assert lines[1].split() == ["severity", "row", "column", "problem", "/", "fix"]
    assert "'ten' in 'capacity' is not a number." in lines[2]
    assert lines[3].strip() == (
        "fix: Write 'capacity' as a number (digits, with '.' or ',' as the decimal mark), "
        "or leave it empty if unknown."
    )
    assert report.summary("en") == lines[0]


def test_report_table_in_a_language_and_as_data(bad_services):
    report = validate_file(bad_services, taxonomy=TAXONOMY)
    data = report.to_frame()
    assert list(data.columns) == ["severity", "file", "row", "column", "problem", "fix"]
    assert set(data["severity"]) == {"error"}  # codes, not words
    assert "'ten' in 'capacity' is not a number." in set(data["problem"])
    shown = report.to_frame("sq")
    assert list(shown.columns) == ["Rëndësia", "Skedari", "Rreshti", "Kolona", "Problemi", "Si ta korrigjoni"]
    assert set(shown["Rëndësia"]) == {"gabim"}
    first = shown[(shown["Rreshti"] == 2) & (shown["Kolona"] == "capacity")].iloc[0]
    assert first["Problemi"] == "'ten' në 'capacity' nuk është numër."
    assert shown["Rreshti"].dtype == "Int64"
    assert list(report.to_frame("sr").columns) == [
        "Ozbiljnost",
        "Datoteka",
        "Red",
        "Kolona",
        "Problem",
        "Kako ispraviti",
    ]
    # as_dict keeps the severity code whatever the language
    assert problem_at(report.problems, 2, "capacity").as_dict("sr")["severity"] == "error"


def test_a_missing_column_with_a_suggestion(tmp_path):
    path = write(tmp_path / "population.csv", "area_id,populaton\nA1,5\n")
    report = validate_file(path, "population")
    (problem,) = report.errors
    assert (problem.row, problem.column) == (None, "population")
    assert problem.message == (
        "Required column 'population' is missing from the population; found ['area_id', 'populaton']. "
        "Did you mean 'populaton'?"
    )
    assert problem.translated("sq").message == (
        "Kolona e detyrueshme 'population' mungon te popullsia; u gjetën ['area_id', 'populaton']. "
        "Mos keni parasysh 'populaton'?"
    )
    assert problem.translated("sr").message == (
        "Obavezna kolona 'population' nedostaje u tabeli stanovništva; "
        "pronađene su ['area_id', 'populaton']. Da li ste mislili na 'populaton'?"
    )
    assert report.summary("sq") == f"{path} (popullsia, 1 rresht): 1 gabim, 0 paralajmërime"


def test_rows_beyond_the_listed_ones_are_counted_in_the_language():
    df = pd.DataFrame({"area_id": [f"A{i}" for i in range(70)], "population": ["x"] * 70})
    _, problems = validate_population(df)
    last = problems[-1]
    assert last.row is None and last.message.startswith("20 more rows have the same problem (rows 51, 52")
    assert last.translated("sq").message == (
        "Edhe 20 rreshta të tjerë kanë të njëjtin problem "
        "(rreshtat 51, 52, 53, 54, 55, 56, 57, 58, 59, 60 dhe 10 të tjerë)."
    )
    assert last.translated("sr").message == (
        "Još 20 redova ima isti problem (redovi 51, 52, 53, 54, 55, 56, 57, 58, 59, 60 i još 10)."
    )


def test_a_clean_file_is_ok_in_every_language():
    path = REPO / "tests" / "data" / "areas.geojson"
    report = validate_file(path)
    assert str(report) == f"{path} (areas, 4 rows): OK"
    assert report.format("sq") == f"{path} (zonat, 4 rreshta): Në rregull"
    assert report.format("sr") == f"{path} (područja, 4 reda): U redu"


def test_every_problem_of_a_bad_file_is_translated(bad_services, tmp_path):
    """No message of these reports falls back to English: each one is in the catalogs."""
    reports = [
        validate_file(bad_services, taxonomy=TAXONOMY),
        validate_file(write(tmp_path / "x.csv", "a,b\n1,2\n")),
        validate_file(write(tmp_path / "empty.csv", "")),
        validate_file(tmp_path / "missing.geojson"),
    ]
    for report in reports:
        for problem in report.problems:
            for lang in ("sq", "sr"):
                shown = problem.translated(lang)
                assert shown.message != problem.message, (lang, problem.message)
                assert shown.fix != problem.fix, (lang, problem.fix)


# --------------------------------------------------------------------------------------------------
# The loaders' errors
# --------------------------------------------------------------------------------------------------


def test_an_unsupported_suffix_in_albanian(tmp_path):
    path = write(tmp_path / "areas.docx", "not a map")
    with pytest.raises(DataSourceError) as caught:
        io.read_areas(path)
    assert str(caught.value).startswith(
        f"{path}: cannot tell the format from the ending '.docx'. Fix: Use one of"
    )
    sq = message(caught.value, "sq")
    assert sq.startswith(f"{path}: formati nuk mund të përcaktohet nga mbaresa '.docx'. Korrigjimi: Përdorni")
    assert "Shapefile i kompresuar (ZIP)" in sq and "zipped" not in sq


def test_a_missing_file_and_an_empty_file_in_serbian(tmp_path):
    missing = tmp_path / "nope.geojson"
    with pytest.raises(DataSourceError) as caught:
        io.read_areas(missing)
    assert (
        message(caught.value, "sr")
        == f"Datoteka {missing} ne postoji. Ispravka: Proverite putanju i naziv datoteke."
    )
    assert (
        caught.value.render("en")
        == str(caught.value)
        == f"{missing} does not exist. Fix: Check the path and the file name."
    )
    empty = write(tmp_path / "empty.csv", "")
    (problem,) = validate_file(empty).problems
    assert problem.message == "The file is empty (0 bytes)."
    assert problem.translated("sr").message == "Datoteka je prazna (0 bajtova)."
    assert problem.translated("sq").message == "Skedari është bosh (0 bajtë)."
    with pytest.raises(ValidationError) as caught:
        io.read_population(empty)
    assert message(caught.value, "sr") == (
        f"Pronađen je 1 problem:\n  - GREŠKA: {empty}: Datoteka je prazna (0 bajtova). Ispravka: Proverite "
        "da li je ovo prava datoteka i da li je u potpunosti sačuvana ili otpremljena."
    )


def test_the_size_cap_in_albanian_writes_numbers_the_albanian_way(tmp_path, monkeypatch):
    rows = "".join(f"S{i},Qendra {i},csw,{i},42.5,21.0\n" for i in range(60))
    path = write(tmp_path / "services.csv", SERVICES + rows)
    monkeypatch.setattr(settings, "max_upload_bytes", 1000)
    size = path.stat().st_size
    assert 1000 < size < 10_000
    with pytest.raises(DataSourceError) as caught:
        io.read_services(path)
    grouped = f"{size // 1000},{size % 1000:03d}"  # e.g. 1,960
    assert str(caught.value).startswith(f"{path} is {grouped} bytes, more than the limit of 1,000 bytes")
    assert message(caught.value, "sq").startswith(
        f"Skedari {path} është {grouped.replace(',', '.')} bajtë, më shumë se kufiri prej 1.000 bajtë "
        "(`socialmap.settings.max_upload_bytes`). Korrigjimi: Përdorni një skedar më të vogël"
    )


def test_a_validation_error_is_translated_problem_by_problem(bad_services):
    with pytest.raises(ValidationError) as caught:
        io.read_services(bad_services, taxonomy=TAXONOMY)
    english = str(caught.value)
    assert english.startswith("3 problems found:\n  - ERROR: ")
    sq = message(caught.value, "sq")
    assert sq.startswith("U gjetën 3 probleme:\n  - GABIM: ")
    assert (
        f"  - GABIM: {bad_services}, rreshti 2, kolona 'capacity': 'ten' në 'capacity' nuk është numër. "
        "Korrigjimi: Shkruajeni 'capacity' si numër"
    ) in sq
    assert f"  - GREŠKA: {bad_services}, red 3, kolona 'service_id': Ponovljen service_id 'S1'" in message(
        caught.value, "sr"
    )


def test_dataset_errors_in_serbian():
    with pytest.raises(SocialMapError) as caught:
        datasets.fetch_boundaries("XK")
    assert (
        str(caught.value)
        == "Country code 'XK' is not an ISO 3166-1 alpha-3 code. Use three letters, e.g. XKX for Kosovo."
    )
    assert (
        message(caught.value, "sr")
        == "Kod zemlje 'XK' nije ISO 3166-1 alpha-3 kod. Koristite tri slova, npr. XKX za Kosovo."
    )
    with pytest.raises(SocialMapError) as caught:
        datasets.demo_files("atlantis")
    assert message(caught.value, "sq") == "Demo e panjohur 'atlantis'. Demot në dispozicion: kosovo."


def test_any_other_exception_is_shown_as_it_is():
    assert message(ValueError("plain"), "sq") == "plain"
    assert message(SocialMapError("no template here {x}"), "sr") == "no template here {x}"


# --------------------------------------------------------------------------------------------------
# The command line
# --------------------------------------------------------------------------------------------------


def test_validate_command_prints_albanian(bad_services):
    from socialmap.cli import app

    done = CliRunner().invoke(app, ["validate", "--lang", "sq", str(bad_services)])
    assert done.exit_code == 1, done.output
    assert done.stdout.splitlines()[0] == f"{bad_services} (shërbimet, 2 rreshta): 3 gabime, 0 paralajmërime"
    assert "'ten' në 'capacity' nuk është numër." in done.stdout
    assert "korrigjimi: Bëjeni çdo 'service_id' unik" in done.stdout
    assert "is not a number" not in done.stdout and "fix:" not in done.stdout
    english = CliRunner().invoke(app, ["validate", "--lang", "en", str(bad_services)])
    assert english.stdout.splitlines()[0] == f"{bad_services} (services, 2 rows): 3 errors, 0 warnings"


def test_the_command_lines_error_message_is_in_its_language(monkeypatch, capsys):
    from socialmap import cli

    monkeypatch.setattr(sys, "argv", ["socialmap", "fetch-boundaries", "XK", "--lang", "sr"])
    with pytest.raises(SystemExit) as stopped:
        cli.main()
    assert stopped.value.code == 2
    assert capsys.readouterr().err.strip() == (
        "greška: Kod zemlje 'XK' nije ISO 3166-1 alpha-3 kod. Koristite tri slova, npr. XKX za Kosovo."
    )


# --------------------------------------------------------------------------------------------------
# The API
# --------------------------------------------------------------------------------------------------


def test_a_message_is_its_english_text_and_renders_in_a_language():
    text = Message(
        errors.N_(
            "{file} has {count} columns, more than the limit of {limit} (`socialmap.settings.max_columns`)."
        ),
        file="a.csv",
        count=Number(12345, ","),
        limit=Number(1000, ","),
    )
    assert text == (
        "a.csv has 12,345 columns, more than the limit of 1,000 (`socialmap.settings.max_columns`)."
    )
    assert isinstance(text, str) and text.template.startswith("{file} has {count}")
    assert text.render("en") == str(text)
    assert text.render("sq") == (
        "Skedari a.csv ka 12.345 kolona, më shumë se kufiri prej 1.000 (`socialmap.settings.max_columns`)."
    )
    assert render("not in any catalog", "sq") == "not in any catalog"
    assert render(errors.N_("Check the path."), "sr") == "Proverite putanju."


def test_a_message_says_clearly_what_is_wrong_with_it():
    with pytest.raises(ValueError, match=r"No value for the placeholder\(s\) \['n'\]"):
        Message(errors.N_("{n} rows"), m=1)
    with pytest.raises(ValueError, match="may not be called 'lang'"):
        Message(errors.N_("{lang}"), lang="sq")


def test_translations_survive_pickling_and_relabelling(bad_services, tmp_path):
    report = validate_file(bad_services, taxonomy=TAXONOMY)
    again = pickle.loads(pickle.dumps(report))
    assert again.format("sq") == report.format("sq")
    error = pickle.loads(pickle.dumps(DataSourceError(errors.N_("{file} does not exist."), file="x.csv")))
    assert message(error, "sq") == "Skedari x.csv nuk ekziston."
    # The app shows the user's file name instead of a temporary path, and the text still translates.
    (empty,) = validate_file(write(tmp_path / "tmp123.csv", "")).problems
    missing = Problem.from_error(
        DataSourceError(errors.N_("{file} does not exist."), file=str(tmp_path / "a")), "a"
    )
    relabelled = missing.map_text(lambda s: s.replace(str(tmp_path / "a"), "mine.csv"))
    assert relabelled.message == "mine.csv does not exist."
    assert relabelled.translated("sr").message == "Datoteka mine.csv ne postoji."
    # A fixed message does not hold the path: it is left as it is, and still translates.
    unchanged = empty.map_text(lambda s: s.replace(str(tmp_path), "mine.csv"))
    assert unchanged.translated("sq").message == "Skedari është bosh (0 bajtë)."


# --------------------------------------------------------------------------------------------------
# Every template is a literal marked for extraction
# --------------------------------------------------------------------------------------------------

#: Calls that take a message template as their first argument.
_TEMPLATE_CALLS = {
    "Message",
    "SocialMapError",
    "DataSourceError",
    "CRSError",
    "TaxonomyError",
    "_SourceError",
}


def _calls(tree: ast.AST):
    for node in ast.walk(tree):
        if isinstance(node, ast.Call) and node.args:
            name = getattr(node.func, "id", None) or getattr(node.func, "attr", "")
            yield name, node


def _marked_literals() -> set[str]:
    found = set()
    for path in PACKAGE.rglob("*.py"):
        for name, node in _calls(ast.parse(path.read_text(encoding="utf-8"))):
            first = node.args[0]
            if name == "N_" and isinstance(first, ast.Constant) and isinstance(first.value, str):
                found.add(first.value)
            elif name == "Nn_":  # a singular/plural pair: Message(*Nn_("{n} row", "{n} rows"), n, ...)
                found.update(a.value for a in node.args[:2] if isinstance(a, ast.Constant))
    return found


def test_templates_are_marked_literals_in_the_source():
    """A template written in a call is ``N_("...")``; never an f-string or an unmarked literal."""
    wrong = []
    for path in PACKAGE.rglob("*.py"):
        for name, node in _calls(ast.parse(path.read_text(encoding="utf-8"))):
            if name not in _TEMPLATE_CALLS or (name != "Message" and not node.keywords):
                continue  # an error without values keeps its plain message
            first = node.args[0]
            if isinstance(first, ast.Starred):  # *Nn_("singular", "plural"), or a pair passed on (a name)
                first = first.value
                marked = isinstance(first, ast.Call) and getattr(first.func, "id", None) == "Nn_"
                if not (marked or isinstance(first, ast.Name)):
                    wrong.append(f"{path.relative_to(REPO)}:{node.lineno}")
                continue
            marked = isinstance(first, ast.Call) and getattr(first.func, "id", None) == "N_"
            if isinstance(first, ast.Constant | ast.JoinedStr | ast.BinOp) or (
                isinstance(first, ast.Call) and not marked
            ):
                wrong.append(f"{path.relative_to(REPO)}:{node.lineno}")
    assert not wrong, wrong


def _templates(text) -> set[str]:
    if not isinstance(text, Message):
        return set()
    own = {text.template} if text.plural is None else {text.template, text.plural}
    return own.union(*(_templates(v) for v in text.values.values()))


def test_every_template_the_validators_use_is_a_marked_literal(bad_services, tmp_path):
    """Templates chosen at run time (from tables, passed through) are N_ literals too."""
    marked = _marked_literals()
    reports = [
        validate_file(bad_services, taxonomy=TAXONOMY),
        validate_file(write(tmp_path / "p.csv", "area_id,populaton\nA1,5\n"), "population"),
        validate_file(
            write(tmp_path / "s.csv", "service_id,name,service_type,capacity,Lat,latitude\n1,a,b,2,3,4\n")
        ),
        validate_file(tmp_path / "x.docx"),
    ]
    used = set().union(*(_templates(t) for r in reports for p in r.problems for t in (p.message, p.fix)))
    used |= _templates(reports[0].verdict())
    assert len(used) > 15
    assert used <= marked, used - marked
