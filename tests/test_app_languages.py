"""The app in English, Albanian and Serbian through AppTest: every tab runs clean, and in Albanian and
Serbian no text on the page is an English message of the catalogs (a label left untranslated)."""

from __future__ import annotations

import re
import string
from pathlib import Path

import app_downloads
import pytest
from babel.messages.pofile import read_po
from test_app import assert_clean, open_tab, start

from socialmap.i18n import LANGUAGES, t

LOCALES = Path(__file__).resolve().parents[1] / "socialmap" / "locales"
PRISHTINA = (21.1655, 42.6629)
#: Messages that read the same in the translation (names of methods, formats, units).
SAME_IN_EVERY_LANGUAGE = {"2SFCA", "E2SFCA", "GeoPackage", "Fisher-Jenks", "OpenStreetMap"}


def _english_patterns(lang: str) -> tuple[set[str], list[re.Pattern[str]]]:
    """English messages whose translation differs: plain texts, and templates as regexes."""
    with (LOCALES / lang / "LC_MESSAGES" / "socialmap.po").open("rb") as fh:
        catalog = read_po(fh, locale=LANGUAGES[lang][0])
    plain, templates = set(), []
    for message in catalog:
        if not message.id or not isinstance(message.id, str) or message.string == message.id:
            continue
        if message.id in SAME_IN_EVERY_LANGUAGE or len(message.id) < 4:
            continue
        parts = list(string.Formatter().parse(message.id))
        if all(field is None for _, field, _, _ in parts):
            plain.add(message.id)
        else:
            regex = "".join(
                re.escape(lit) + (".+?" if field is not None else "") for lit, field, _, _ in parts
            )
            if len(regex.replace(".+?", "")) >= 12:  # enough fixed English words to be sure
                templates.append(re.compile(rf"^{regex}$", re.DOTALL))
    return plain, templates


def _texts(at) -> list[str]:
    """Every text a person reads on the page: headings, captions, messages, labels and options."""
    texts: list[str] = []
    for kind in ("title", "subheader", "caption", "markdown", "info", "warning", "error", "success"):
        texts += [str(e.value) for e in getattr(at, kind)]
    for widget in (*at.selectbox, *at.radio, *at.number_input, *at.slider, *at.text_input, *at.button):
        texts.append(str(widget.label))
        texts += [str(o) for o in getattr(widget, "options", []) or []]
    for widget in at.selectbox:  # shown when its search box is emptied (Streamlit's own English if none)
        if widget.key != "lang":  # the language list's label is in every language
            texts.append(str(widget.proto.placeholder or "Choose an option"))
    for widget in at.get("select_slider"):
        texts.append(str(widget.label))
    texts += app_downloads.labels(at)
    texts += [str(tab.label) for tab in at.tabs]
    texts += [str(e.label) for e in at.expander]
    texts += [str(m.label) for m in at.metric]
    for frame in at.dataframe:
        texts += [str(c) for c in frame.value.columns]
        for col in frame.value.columns:
            if frame.value[col].dtype == object:
                texts += [str(v) for v in frame.value[col].dropna().unique()[:50]]
    return texts


def _visit_every_tab(lang: str):
    """Run the app in ``lang`` through the map, ranking, profile, plan (with a scenario) and about."""
    at = start()
    at.selectbox(key="lang").set_value(lang).run()
    assert_clean(at)
    seen = _texts(at)
    at.selectbox(key="service_type").set_value("day_care_disability").run()
    assert_clean(at)
    seen += _texts(at)
    for tab in (1, 2, 4):
        seen += _texts(open_tab(at, tab))
        assert_clean(at)
    at = open_tab(at, 3)
    assert_clean(at)
    at.number_input(key="plan_lon").set_value(PRISHTINA[0])
    at.number_input(key="plan_lat").set_value(PRISHTINA[1]).run()
    at.button(key="plan_add").click().run()
    assert_clean(at)
    at.radio(key="plan_action").set_value("remove").run()
    at.button(key="plan_apply").click().run()
    assert_clean(at)
    at.number_input(key="plan_standard").set_value(5.0)
    at.number_input(key="plan_unit_cost").set_value(1000.0).run()
    assert_clean(at)
    seen += _texts(at)
    at.number_input(key="plan_k").set_value(1)
    at.button(key="plan_suggest").click().run()
    assert_clean(at)
    seen += _texts(at)
    return at, seen


@pytest.mark.parametrize("lang", list(LANGUAGES))
def test_every_tab_runs_clean_in_each_language(lang):
    at, seen = _visit_every_tab(lang)
    assert len(at.get("component_instance")) == 2  # the planning map and the difference map
    assert seen
    # the data's credit starts a sentence in the caption under the title: a capital letter after the full stop
    credit = at.caption[0].value.split(". ", 1)[1]
    assert credit[:1].isupper(), at.caption[0].value
    if lang == "en":
        return
    plain, templates = _english_patterns(lang)
    leaked = sorted({s for s in seen if s.strip() in plain or any(p.match(s.strip()) for p in templates)})
    assert not leaked, f"English text in the {lang} app: {leaked}"


@pytest.mark.parametrize("lang", ["sq", "sr"])
def test_a_bad_upload_is_reported_in_the_chosen_language(lang):
    from test_app import BAD_SERVICES

    at = start()
    at.selectbox(key="lang").set_value(lang).run()
    at.file_uploader(key="upload_services").upload("services.csv", BAD_SERVICES, "text/csv").run()
    assert not at.exception
    # The file's problems, then why nothing is analysed (the file has errors).
    english = ["Severity", "File", "Row", "Column", "Problem", "How to fix it"]
    heads = [t(c, lang) for c in english]
    table, blocked = [d.value for d in at.dataframe if list(d.value.columns) == heads]
    assert blocked.iloc[0, 1] == "services.csv" and "services.csv" in blocked.iloc[0, 4]
    assert list(table.columns) == [t(c, lang) for c in english] and list(table.columns) != english
    assert list(table.iloc[:, 2]) == [3, 4]  # the rows as the file shows them
    plain, templates = _english_patterns(lang)
    texts = [str(v) for v in (*table.iloc[:, 0], *table.iloc[:, 4], *table.iloc[:, 5], at.error[0].value)]
    leaked = [s for s in texts if s in plain or any(p.match(s) for p in templates)]
    assert not leaked, leaked
    assert table.iloc[0, 0] == t("error", lang)


def test_areas_that_match_nothing_are_reported_in_serbian():
    from test_app import REPO

    at = start()
    at.selectbox(key="lang").set_value("sr").run()
    data = (REPO / "tests" / "data" / "areas.geojson").read_bytes()
    at.file_uploader(key="upload_areas").upload("areas.geojson", data, "application/geo+json").run()
    assert not at.exception
    assert at.error[0].value == t("The analysis could not run on these data:", "sr")
    (table,) = [d.value for d in at.dataframe if len(d.value.columns) == 6]
    problems = list(table[t("Problem", "sr")])
    assert problems[0].startswith("'Westfield' ne odgovara nijednom nazivu područja; najsličniji: ")
    assert set(table[t("How to fix it", "sr")]) == {
        t(
            "Correct the spelling, add a row to the alias table mapping it to the area's name, "
            "or give an area id column.",
            "sr",
        )
    }
