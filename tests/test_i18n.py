"""i18n: the catalogs cover every message in every language; numbers, dates and names per locale;
briefs, maps and the command line in Albanian and Serbian carry no English."""

import ast
import datetime as dt
import importlib.util
import re
import shutil
import string
import subprocess
from pathlib import Path

import pandas as pd
import pytest
from babel.messages.pofile import read_po

from socialmap import i18n
from socialmap.errors import SocialMapError
from socialmap.i18n import (
    LANGUAGES,
    area_names,
    check_language,
    column_title,
    default_language,
    format_date,
    format_number,
    localise_number,
    t,
)

REPO = Path(__file__).resolve().parents[1]
LOCALES = REPO / "socialmap" / "locales"
TRANSLATED = [lang for lang in LANGUAGES if lang != "en"]
#: Folders (relative to the repository) whose Python files are not scanned for messages.
NOT_SCANNED = {"tests", "scripts", "benchmarks", "notebooks", "build", "dist", "node_modules", "static"}


def _catalog(lang: str):
    path = LOCALES / lang / "LC_MESSAGES" / "socialmap.po"
    with path.open("rb") as fh:
        return read_po(fh, locale=LANGUAGES[lang][0])


def _template():
    with (LOCALES / "socialmap.pot").open("rb") as fh:
        return read_po(fh)


def _forms(string):
    return string if isinstance(string, tuple) else (string,)


def _fields(text: str) -> set[str]:
    return {name for _, name, _, _ in string.Formatter().parse(text) if name is not None}


def _source_messages() -> dict[str, str]:
    """Every literal first argument of ``t(...)``/``N_(...)`` in the source tree → where it is."""
    found: dict[str, str] = {}
    for path in sorted(REPO.rglob("*.py")):
        rel = path.relative_to(REPO)
        if rel.parts[0] in NOT_SCANNED or any(p.startswith(".") for p in rel.parts):
            continue
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"), filename=str(rel))):
            if not (isinstance(node, ast.Call) and node.args):
                continue
            func = node.func
            name = getattr(func, "id", None) or getattr(func, "attr", "")  # t(...) or i18n.t(...)
            first = node.args[0]
            if name in ("t", "N_") and isinstance(first, ast.Constant) and isinstance(first.value, str):
                found.setdefault(first.value, f"{rel}:{node.lineno}")
            elif name in ("nt", "Nn_") and all(
                isinstance(a, ast.Constant) and isinstance(a.value, str) for a in node.args[:2]
            ):
                found.setdefault(node.args[0].value, f"{rel}:{node.lineno}")
    return found


# --- the catalogs ---------------------------------------------------------------------------------


@pytest.mark.parametrize("lang", TRANSLATED)
def test_every_message_of_the_template_is_translated_with_the_same_placeholders(lang):
    template = [m for m in _template() if m.id]
    catalog = _catalog(lang)
    assert not catalog.fuzzy, f"{lang}: the catalog's header is marked fuzzy"
    assert len(template) > 250
    problems = []
    for message in template:
        entry = catalog.get(message.id)
        if entry is not None and isinstance(message.id, tuple):  # a plural: every form of the language
            forms = entry.string if isinstance(entry.string, tuple) else ()
            if len(forms) != catalog.num_plurals or not all(f.strip() for f in forms) or entry.fuzzy:
                problems.append(f"plural forms missing or fuzzy: {message.id!r} → {entry.string!r}")
            elif any(_fields(f) != _fields(message.id[1]) for f in forms):
                problems.append(f"placeholders differ: {message.id!r} → {entry.string!r}")
            continue
        if entry is None:
            problems.append(f"missing: {message.id!r}")
        elif not isinstance(entry.string, str) or not entry.string.strip():
            problems.append(f"untranslated: {message.id!r}")
        elif entry.fuzzy:
            problems.append(f"fuzzy: {message.id!r}")
        elif _fields(entry.string) != _fields(message.id):
            problems.append(f"placeholders differ: {message.id!r} → {entry.string!r}")
    hint = f"{lang}: run scripts/update_translations.py, then translate:\n"
    assert not problems, hint + "\n".join(problems)


@pytest.mark.parametrize("lang", TRANSLATED)
def test_no_fuzzy_or_empty_entries_anywhere(lang):
    catalog = _catalog(lang)
    assert not [m.id for m in catalog if m.id and (m.fuzzy or not all(_forms(m.string)))]


def test_every_t_literal_in_the_source_tree_is_translated():
    # Scans the package, app.py and any other source file, so strings added later are caught too.
    found = _source_messages()
    assert "Sources" in found and "Social-service gaps: composite gap score" in found
    template = {m.id if isinstance(m.id, str) else m.id[0] for m in _template() if m.id}
    missing = {msg: where for msg, where in found.items() if msg not in template}
    assert not missing, "not in socialmap.pot; run scripts/update_translations.py:\n" + "\n".join(
        f"{where}: {msg!r}" for msg, where in missing.items()
    )
    for lang in TRANSLATED:
        catalog = _catalog(lang)
        untranslated = [msg for msg in found if not (catalog.get(msg) and catalog.get(msg).string)]
        assert not untranslated, f"{lang}: untranslated {untranslated}"


def _script():
    path = REPO / "scripts" / "update_translations.py"
    spec = importlib.util.spec_from_file_location("update_translations", path)
    script = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(script)
    return script


def test_the_template_is_what_the_script_extracts():
    extracted = {m.id for m in _script().extract() if m.id}
    assert extracted == {m.id for m in _template() if m.id}, "run scripts/update_translations.py"


def test_a_message_back_in_the_code_gets_its_translation_back():
    script = _script()
    template = _template()
    gone = [m for m in _catalog("sq").obsolete.values() if m.id not in template and m.string]
    assert gone  # messages the code no longer shows keep their translation at the end of the file
    back = gone[0]
    template.add(back.id, None, [("socialmap/views.py", 1)])
    template.add("A message nobody has translated yet", None, [("app.py", 1)])
    updated = script.updated(template, "sq")
    assert updated[back.id].string == back.string and not updated[back.id].fuzzy
    assert not [c for c in updated[back.id].user_comments if c.startswith(script.PENDING)]
    assert not updated["A message nobody has translated yet"].string
    assert script.status(updated)[0] == ["A message nobody has translated yet"]


def test_the_demo_descriptions_shown_in_sources_are_translated():
    from socialmap import datasets

    provenance = datasets.load_demo("kosovo").provenance
    for key in ("boundaries", "population", "services"):
        for lang in TRANSLATED:
            assert t(provenance[key], lang) != provenance[key], (key, lang)
    assert t(datasets.GEOBOUNDARIES_ATTRIBUTION, "sq").startswith("Kufijtë: geoBoundaries")


def test_translations_use_the_glossary():
    assert t("Municipality", "sq") == "Komuna" and t("Municipality", "sr") == "Opština"
    assert t("Need (persons)", "sq") == "Nevoja (persona)" and t("Need (persons)", "sr") == "Potreba (osobe)"
    assert "mungesës" in t("Gap score (%)", "sq") and "nedostatka" in t("Gap score (%)", "sr")
    demo = "Centres for Social Work: one per municipality"
    text = next(m.id for m in _template() if isinstance(m.id, str) and m.id.startswith(demo))
    assert t(text, "sq").startswith("Qendrat për Punë Sociale")
    assert t(text, "sr").startswith("Centri za socijalni rad")


# --- t() and the defaults ---------------------------------------------------------------------------


def test_placeholders_and_untranslated_fallback():
    assert t("{n} municipalities", "en", n=38) == "38 municipalities"
    assert t("a string nobody translated", "sq") == "a string nobody translated"
    assert t("Population: {n}", "sq", n="1.234") == "Popullsia: 1.234"


def test_lang_may_be_a_keyword_and_message_a_placeholder():
    assert t("Population: {n}", lang="sr", n=5) == "Stanovništvo: 5"
    assert t("error: {message}", "sq", message="x") == "gabim: x"


def test_default_language_from_environment(monkeypatch):
    for var in ("SOCIALMAP_LANG", "LC_ALL", "LC_MESSAGES", "LANG"):
        monkeypatch.delenv(var, raising=False)
    assert default_language() == "en"
    monkeypatch.setenv("LANG", "sq_AL.UTF-8")
    assert default_language() == "sq"
    assert t("Sources") == "Burimet"
    monkeypatch.setenv("SOCIALMAP_LANG", "sr")
    assert default_language() == "sr"


def test_unknown_language_is_a_clear_error():
    with pytest.raises(SocialMapError, match="use one of en, sq, sr"):
        check_language("de")


# --- numbers, dates, names ------------------------------------------------------------------------


def test_numbers_follow_the_locale():
    assert format_number(12345.6, "en") == "12,345.6"
    assert format_number(12345.6, "sq") == "12.345,6"
    assert format_number(12345.6, "sr") == "12.345,6"
    assert format_number(1234, "en", decimals=0) == "1,234"
    assert format_number(1234.5678, "sq", decimals=2, grouping=False) == "1234,57"
    assert format_number(float("nan"), "en") == "–" and format_number(None, "sq") == "–"


def test_english_formatted_numbers_are_localised():
    assert localise_number("12,345.6", "sq") == "12.345,6"
    assert localise_number("1,234", "sr") == "1.234"
    assert localise_number("12,345.6", "en") == "12,345.6"


def test_dates_in_each_language():
    d = dt.date(2024, 12, 19)
    assert format_date(d, "en") == "Dec 19, 2024"
    assert "2024" in format_date(d, "sq") and "dhj" in format_date(d, "sq")
    assert format_date(d, "sr") == "19. 12. 2024."


def test_column_titles_and_area_names_in_the_language():
    assert column_title("need", "sq") == "Nevoja (persona)"
    assert column_title("gap_score_csw", "sr") == t("Gap score: % of need without a reachable place", "sr")
    assert column_title("no_such_column", "sq") == "no_such_column"
    areas = pd.DataFrame(
        {"area_id": ["02", "05"], "name": ["Gjakovë", "Dragash"], "name_sr": ["Đakovica", None]}
    )
    assert area_names(areas, "sr").tolist() == ["Đakovica", "Dragash"]  # a missing name falls back
    assert area_names(areas, "sq").tolist() == ["Gjakovë", "Dragash"]  # no name_sq column


def test_n_marks_without_translating():
    assert i18n.N_("Sources") == "Sources"


# --- outputs in Albanian and Serbian ----------------------------------------------------------------

#: English labels of the brief (its t() messages, and words of them) that must not appear in
#: an Albanian or Serbian brief. Whole words, case-sensitive.
ENGLISH_LABELS = [
    "Population",
    "Need",
    "need",
    "Sources",
    "Method",
    "Service type",
    "Key figures",
    "Largest gaps",
    "Places",
    "Covered share",
    "Gap score",
    "Composite gap",
    "composite gap",
    "gap",
    "unknown",
    "rank",
    "Notes",
    "Made with",
    "Boundaries",
    "Services",
    "estimate",
    "catchment",
    "coverage",
    "national totals",
    "social services",
    "Budget",
    "not scored",
    "areas",
    "code",
]


@pytest.fixture(scope="module")
def demo_result():
    import socialmap

    return socialmap.analyze(demo="kosovo")


def _pdf_text(path: Path) -> str:
    if shutil.which("pdftotext") is None:
        pytest.skip("pdftotext (Debian poppler-utils) is not installed")
    done = subprocess.run(["pdftotext", str(path), "-"], capture_output=True, text=True, check=True)
    return " ".join(done.stdout.split())


def _without_citations(text: str, result) -> str:
    """The brief's text without the numbered citations of the rates (quoted as published, in English)."""
    for info in (result.provenance.get("rates") or {}).values():
        for source in str(info.get("sources", "")).split(" | "):
            source = " ".join(source.split())
            if source:
                assert source in text, source  # the citation is there, quoted as published
                text = text.replace(source, "")
    return text


def _english_left(text: str) -> list[str]:
    return [word for word in ENGLISH_LABELS if re.search(rf"(?<![\w-]){re.escape(word)}(?![\w-])", text)]


@pytest.mark.parametrize("lang", TRANSLATED)
def test_a_municipal_brief_has_no_english_and_names_in_the_language(demo_result, lang, tmp_path):
    from socialmap.report import brief

    pdf = brief(demo_result, area="Gjakova", path=tmp_path / f"brief_{lang}.pdf", lang=lang)
    text = _pdf_text(pdf)
    english = _pdf_text(brief(demo_result, area="Gjakova", path=tmp_path / "brief_en.pdf", lang="en"))
    assert len(_english_left(_without_citations(english, demo_result))) > 20  # the check below can fail
    assert not _english_left(_without_citations(text, demo_result)), text
    row = demo_result.areas.set_index("area_id").loc["02"]
    assert row[f"name_{lang}"] in text  # Gjakovë / Đakovica, in the title
    tax = demo_result.taxonomy
    for key in tax.service_type_keys:
        assert tax.label(key, lang) in text, key
    assert format_number(float(row["population"]), lang, decimals=0) in text  # 78.699
    assert t("Key figures", lang) in text and t("Sources", lang) in text and t("Method", lang) in text


@pytest.mark.parametrize("lang", TRANSLATED)
def test_the_national_brief_has_no_english(demo_result, lang, tmp_path):
    from socialmap.report import brief

    text = _pdf_text(brief(demo_result, path=tmp_path / f"national_{lang}.pdf", lang=lang))
    assert not _english_left(_without_citations(text, demo_result)), text
    assert t("National brief: social services, needs and gaps", lang) in text
    top = demo_result.areas.sort_values("rank").head(5)
    for name in area_names(top, lang):
        assert name in text


def test_a_static_map_in_albanian_has_albanian_text(demo_result, tmp_path):
    from socialmap.static import gap_map, save_figure

    north = demo_result.areas.loc[demo_result.areas["name_sq"] == "Mitrovicë e Veriut", "area_id"].iloc[0]
    # The highlighted area is named in the legend (the labels on the map are drawn as outlines).
    svg = save_figure(gap_map(demo_result, lang="sq", highlight=north), tmp_path / "map.svg")
    # SVG keeps text as text (svg.fonttype none): one <text> element per line.
    texts = " ".join(re.findall(r"<text[^>]*>([^<]*)</text>", svg.read_text(encoding="utf-8")))
    for phrase in (
        "Mungesat në shërbimet sociale: shkalla e përbërë e mungesës",
        "Shkalla e përbërë e mungesës (0–100)",
        "kufij skematikë – jo zyrtarë",
        "Kufijtë: kufij skematikë (jo zyrtarë)",
        "Popullsia (2024):",
        "Krijuar me socialmap",
        "Mitrovicë e Veriut",  # the Albanian name (name_sq), not "Mitrovica North" or "Severna Mitrovica"
        "rrezja e mbulimit 10,0 km",  # Albanian decimal comma
    ):
        assert phrase in texts, phrase
    assert not _english_left(texts.replace("socialmap", "")), texts


# --- plural forms (ngettext) -------------------------------------------------------------------------


def test_catalogs_declare_the_languages_plural_forms():
    # CLDR / gettext: Albanian one | other; Serbian one (1, 21, 101...) | few (2-4, 22-24...) | other.
    assert _catalog("sq").num_plurals == 2 and _catalog("sr").num_plurals == 3


def test_counts_take_the_plural_form_of_the_language():
    from socialmap.i18n import nt

    pair = ("{n} problem found:", "{n} problems found:")
    assert [nt(*pair, n, "en") for n in (1, 2, 5, 21)] == [
        "1 problem found:",
        "2 problems found:",
        "5 problems found:",
        "21 problems found:",
    ]
    # Serbian: 1 and 21 singular ("problem"), 2 "problema" with "su", 5 "problema" with "je"
    assert [nt(*pair, n, "sr") for n in (1, 2, 5, 21, 11, 12, 22, 111)] == [
        "Pronađen je 1 problem:",
        "Pronađena su 2 problema:",
        "Pronađeno je 5 problema:",
        "Pronađen je 21 problem:",
        "Pronađeno je 11 problema:",
        "Pronađeno je 12 problema:",
        "Pronađena su 22 problema:",
        "Pronađeno je 111 problema:",
    ]
    assert [nt(*pair, n, "sq") for n in (1, 2, 5, 21)] == [
        "U gjet 1 problem:",
        "U gjetën 2 probleme:",
        "U gjetën 5 probleme:",
        "U gjetën 21 probleme:",
    ]
    assert nt(*pair, 1235, "sr") == "Pronađeno je 1.235 problema:"  # the count written for the language
    assert nt(*pair, 1234, "sr") == "Pronađena su 1.234 problema:"  # 1,234 ends in 4: the "few" form


def test_a_plural_message_renders_in_each_language_and_survives_pickling():
    import pickle

    from socialmap.errors import Message, Nn_

    rows = Nn_("{n} more row has the same problem ({rows}).", "{n} more rows have the same problem ({rows}).")
    one, many = Message(*rows, 1, n=1, rows="row 7"), Message(*rows, 22, n=22, rows="rows 7-28")
    assert one == "1 more row has the same problem (row 7)."
    assert many == "22 more rows have the same problem (rows 7-28)."
    assert one.render("sr") == "Još 1 red ima isti problem (row 7)."
    assert many.render("sr") == "Još 22 reda imaju isti problem (rows 7-28)."
    assert Message(*rows, 5, n=5, rows="x").render("sr") == "Još 5 redova ima isti problem (x)."
    assert many.render("sq") == "Edhe 22 rreshta të tjerë kanë të njëjtin problem (rows 7-28)."
    back = pickle.loads(pickle.dumps(many))
    assert back.render("sr") == many.render("sr") and back == many
    assert many.map_values(str.upper).render("sr") == "Još 22 reda imaju isti problem (ROWS 7-28)."


def test_the_script_extracts_plural_pairs():
    template = _template()
    entry = template.get("{n} problem found:")
    assert entry is not None and entry.id == ("{n} problem found:", "{n} problems found:")
