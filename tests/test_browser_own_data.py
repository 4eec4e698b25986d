"""Own data in through the app, in Chromium, in Albanian and Serbian (issue #16).

Uses the fixtures of tests/test_browser.py (``streamlit run app.py`` on 127.0.0.1, headless Chromium)
and the files of tests/test_own_data.py (the clerk's list, the population table with Serbian names
and two blanks) and tests/synthetic_country.py (three areas and an English-only taxonomy). Every
file goes in through the "Your data" section with the mapping the app suggests: nothing is renamed
by hand. The official boundaries are read from ../shared in place (never copied).

Saves ``test-artifacts/app_own_data_*.png``.
"""

from __future__ import annotations

import re
import time
from pathlib import Path
from typing import Any

import pandas as pd
import pytest
from synthetic_country import write as write_country
from test_browser import ARTIFACTS, FRAME, app_url, browser, pytestmark  # noqa: F401 - fixtures
from test_browser_languages import dataframes_received, settle, switch_language
from test_own_data import CLERK_HEADER, GEOBOUNDARIES, clerk_csv, clerk_xlsx, contract_csv, population_table

from socialmap import views
from socialmap.i18n import t


def open_in(browser: Any, app_url: str, lang: str) -> tuple[Any, list[Any], list[str]]:  # noqa: F811
    """A new session in ``lang`` with "Your data" open; returns the page, its tables, its JS errors."""
    page = browser.new_page(viewport={"width": 1400, "height": 1800})
    tables = dataframes_received(page)  # before the page opens its connection
    errors: list[str] = []
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    page.route(re.compile(r"https?://(?!127\.0\.0\.1).*"), lambda route: route.abort())  # no internet
    page.goto(app_url)
    page.locator(FRAME).wait_for(timeout=120_000)
    settle(page)
    switch_language(page, lang)
    page.get_by_text(t("Your data", lang), exact=True).click()
    page.get_by_role("tab").nth(1).click()  # the ranking: its table is what the tests compare
    settle(page)
    return page, tables, errors


def upload(page: Any, label: str, path: Path, tables: list[Any] | None = None) -> None:
    """Put ``path`` into the uploader labelled ``label``; wait until the app has run on it."""
    if tables is not None:
        tables.clear()  # what is sent from now on is the app's answer to this file
    uploader = page.locator('[data-testid="stFileUploader"]').filter(has_text=label)
    uploader.locator('input[type="file"]').set_input_files(str(path))
    deadline = time.monotonic() + 60
    while not chip_shows(uploader, path.name) and time.monotonic() < deadline:
        page.wait_for_timeout(250)
    page.wait_for_timeout(300)
    settle(page, timeout_ms=180_000)
    if tables is not None:
        deadline = time.monotonic() + 120
        while not tables and time.monotonic() < deadline:
            page.wait_for_timeout(250)
        settle(page, timeout_ms=180_000)


def chip_shows(uploader: Any, name: str) -> bool:
    """Whether the uploader's file chip names ``name``.

    Streamlit cuts a long name in the middle ("testla...xonomy.yaml"), so its two ends are compared.
    """
    chips = uploader.locator('[data-testid="stFileChipName"]')
    for shown in chips.all_inner_texts():
        head, cut, tail = shown.strip().partition("...")
        if (name.startswith(head) and name.endswith(tail)) if cut else shown.strip() == name:
            return True
    return False


def ranking(tables: list[Any], lang: str) -> pd.DataFrame:
    """The last ranking table the app sent (its data, as Streamlit received it)."""
    heads = {t("Rank", lang), t("Municipality", lang)}
    found = [data for data, _ in tables if heads <= set(data.columns)]
    assert found, "no ranking table was sent"
    return found[-1].reset_index(drop=True)


def select_value(page: Any, kind: str, column: str) -> str:
    """What the mapping select of ``column`` for the ``kind`` upload shows."""
    box = page.locator(f'[class*="st-key-column_{kind}_{column}_"]')
    return str(box.locator("[role=combobox]").input_value() or box.inner_text()).strip()


def no_errors(page: Any, errors: list[str]) -> None:
    shown = page.locator('[data-testid="stException"]')
    assert shown.count() == 0, shown.first.inner_text()[:2000]
    alerts = page.locator('[data-testid="stAlertContentError"]')
    assert alerts.count() == 0, alerts.all_inner_texts()
    assert not errors, errors


def demo_said(lang: str) -> str:
    """The start of the caption that names the demo's layers."""
    return t("From the demo, not your data: {layers}.", lang, layers="\x00").split("\x00")[0]


def shot(page: Any, name: str) -> None:
    ARTIFACTS.mkdir(exist_ok=True)
    page.wait_for_timeout(800)
    page.screenshot(path=str(ARTIFACTS / f"app_own_data_{name}.png"), full_page=True)


def test_clerks_list_goes_in_through_the_suggested_mapping_in_albanian(app_url, browser, tmp_path):  # noqa: F811
    lang = "sq"
    page, tables, errors = open_in(browser, app_url, lang)
    services = t("Services (points)", lang)
    demos = ranking(tables, lang)
    upload(page, services, contract_csv(tmp_path / "contract.csv"), tables)
    no_errors(page, errors)
    expected = ranking(tables, lang)
    assert len(expected) == 38 and not expected.equals(demos)  # the file's services, not the demo's
    for path in (
        clerk_csv(tmp_path / "sherbimet.csv"),
        clerk_xlsx(tmp_path / "sherbimet.xlsx"),
        clerk_csv(tmp_path / "titull.csv", title=True),
    ):
        upload(page, services, path, tables)
        # The selects are the suggested mapping: the clerk's own Albanian headers, nothing chosen by hand.
        shown = {
            c: select_value(page, "services", c) for c in ("name", "service_type", "capacity", "lat", "lon")
        }
        assert shown == dict(
            zip(("name", "service_type", "capacity", "lat", "lon"), CLERK_HEADER, strict=True)
        )
        assert select_value(page, "services", "service_id") == t("(none)", lang)
        no_errors(page, errors)
        got = ranking(tables, lang)
        pd.testing.assert_frame_equal(got, expected)
        # The preview of its first rows, under the file's own headers (below the title row, if any).
        preview = next(data for data, _ in tables if list(data.columns) == CLERK_HEADER)
        assert preview["Emri"].tolist()[:2] == ["QPS Gjakovë", "QPS Pejë"], preview
    body = page.locator("body").inner_text()
    assert t("Its header is on row {row}; the rows above it are left out.", lang, row=3) in body
    shot(page, "clerk_sq")

    # A file with errors blocks the analysis; the demo's services stand in only when chosen.
    broken = tmp_path / "sherbimet-gabim.csv"
    broken.write_text("Emri;Kapaciteti\nQPS Gjakovë;12\n", encoding="utf-8")
    upload(page, services, broken)
    body = page.locator("body").inner_text()
    assert t("The analysis could not run on these data:", lang) in body
    assert page.locator(FRAME).count() == 0 or not page.locator(FRAME).is_visible()
    choice = t(
        "Use the demo's {kind} instead of {file} (not your data)",
        lang,
        kind=t("services", lang),
        file=broken.name,
    )
    box = page.locator(".st-key-demo_instead_services")
    box.wait_for(timeout=60_000)
    assert box.text_content().replace("\u2060", "").strip() == choice, box.text_content()
    box.locator("label").click()
    settle(page, timeout_ms=180_000)
    body = page.locator("body").inner_text()
    assert t("The analysis could not run on these data:", lang) not in body
    demo_layers = t(
        "{kind} (your file has errors; you chose the demo's instead)", lang, kind=t("services", lang)
    )
    assert demo_said(lang) in body
    assert demo_layers in body
    shot(page, "demo_chosen_sq")
    page.close()


def test_serbian_population_with_blanks_and_the_official_boundaries(
    app_url,  # noqa: F811
    browser,  # noqa: F811
    tmp_path,
    shared_kosovo,
):
    lang = "sr"
    page, tables, errors = open_in(browser, app_url, lang)
    upload(page, t("Municipalities (polygons)", lang), shared_kosovo / GEOBOUNDARIES)
    assert select_value(page, "areas", "area_id") == "shapeID"  # geoBoundaries' layout, suggested
    assert select_value(page, "areas", "name") == "shapeName"
    population, figures = population_table(tmp_path / "stanovnistvo.csv", shared_kosovo)
    upload(page, t("Population (per municipality)", lang), population, tables)
    assert select_value(page, "population", "name") == "Opština"
    assert select_value(page, "population", "population") == "Stanovništvo"
    assert page.locator('[data-testid="stException"]').count() == 0 and not errors
    table = ranking(tables, lang)
    assert len(table) == 38
    composite = t("Composite gap score (%)", lang)
    scored = table[table[composite].notna()]
    assert len(scored) == 36
    unscored = sorted(table.loc[table[composite].isna(), t("Municipality", lang)])
    assert unscored == ["Kačanik", "Štimlje"]
    page.get_by_role("tab").nth(0).click()
    settle(page)
    body = page.locator("body").inner_text()
    assert "Kačanik" in body and "Štimlje" in body  # the notes name the two unscored municipalities
    assert not re.search(r"XKX-ADM2-\d", body)  # areas are named, never cited by their ids
    # The boundaries keep their attribution (geoBoundaries' file says it): on the map's caption.
    assert "geoBoundaries" in body
    shot(page, "adm2_population_sr")
    page.close()


def download(page: Any, label: str, path: Path) -> Path:
    """Click the download button ``label`` and save what the browser receives to ``path``."""
    with page.expect_download(timeout=120_000) as got:
        page.get_by_role("button", name=label, exact=True).click()
    got.value.save_as(path)
    return path


def test_another_country_from_uploads_alone_and_its_templates(app_url, browser, tmp_path):  # noqa: F811
    from openpyxl import load_workbook

    from socialmap.columns import TEMPLATE_HEADERS

    lang = "sr"
    files = write_country(tmp_path)
    page, tables, errors = open_in(browser, app_url, lang)
    upload(page, t("Taxonomy: your own service types and target groups (YAML)", lang), files["taxonomy"])
    upload(page, t("Municipalities (polygons)", lang), files["areas"])
    upload(page, t("Services (points)", lang), files["services"])
    upload(page, t("Population (per municipality)", lang), files["population"], tables)
    no_errors(page, errors)
    table = ranking(tables, lang)
    composite = t("Composite gap score (%)", lang)
    got = dict(zip(table[t("Municipality", lang)], table[composite], strict=True))
    # Worked out by hand in tests/test_own_data.py::test_another_country_from_uploads_alone (98.75
    # is shown with one decimal).
    assert got == pytest.approx({"West": 99.5, "Centre": 98.75, "East": 100.0}, abs=0.051)
    body = page.locator("body").inner_text()
    own = views.read_taxonomy((files["taxonomy"].name, files["taxonomy"].read_bytes())).taxonomy
    assert views.taxonomy_note(own, lang) in body  # no labels in Serbian: shown in English, said so
    assert demo_said(lang) not in body  # every layer is the user's
    assert "Testland survey office (made up)" in body  # the boundaries' own attribution
    page.get_by_role("tab").nth(0).click()
    settle(page)
    shot(page, f"testland_{lang}")

    # The templates, in Serbian, for this country: its service types, its three areas.
    services = load_workbook(download(page, t("Services template", lang), tmp_path / "usluge.xlsx"))
    heads = [c.value for c in services.worksheets[0][1]]
    columns = ("service_id", "name", "service_type", "capacity", "lat", "lon")
    assert heads == [t(TEMPLATE_HEADERS["services"][c], lang) for c in columns]
    kinds = [r[0].value for r in services.worksheets[1].iter_rows(min_row=2)]
    assert kinds == ["Community clinic", "Day centre for older people"]
    label = t("Population template (its municipalities filled in)", lang)
    filled = tmp_path / "stanovnistvo.xlsx"
    book = load_workbook(download(page, label, filled))
    sheet = book.worksheets[0]
    assert [c.value for c in sheet[1]][:3] == [
        t(TEMPLATE_HEADERS["population"][c], lang) for c in ("area_id", "name", "population")
    ]
    residents = {"W": 10_000, "C": 20_000, "E": 5_000}
    rows = list(sheet.iter_rows(min_row=2, max_row=4))
    assert sorted(r[0].value for r in rows) == sorted(residents)
    for row in rows:
        row[2].value = residents[row[0].value]
    book.save(filled)
    # A filled template goes in with no mapping: the same scores.
    page.get_by_role("tab").nth(1).click()
    settle(page)
    upload(page, t("Population (per municipality)", lang), filled, tables)
    no_errors(page, errors)
    again = ranking(tables, lang)
    assert dict(zip(again[t("Municipality", lang)], again[composite], strict=True)) == got
    page.close()
