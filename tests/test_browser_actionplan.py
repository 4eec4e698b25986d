"""A planner in Albanian, in Chromium: a scenario, saved as targets, and their municipality's action plan.

The scenario: a day-care centre for persons with disabilities of 30 places in Gjakova (20.43° E, 42.38° N),
at 6,000 EUR per place per year (entered by the planner). Gjakova's two day-care centres hold 31 + 33 = 64
places (the demo's services file), so each of the plan's three years (2026–2028) has 64 → 94 places and
30 × 6,000 = 180,000 EUR; the total is 540,000 EUR. Screenshots in Albanian and Serbian go to
``test-artifacts/``; the profile's trend chart (2011 against 2024) is looked at too.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from test_browser import ARTIFACTS, app_url, browser, pytestmark  # noqa: F401  (fixtures, skip marks)
from test_browser_languages import assert_no_exception, choose, open_page, settle, switch_language

import socialmap
from socialmap import views
from socialmap.i18n import t


def _docx_text(path: Path) -> tuple[str, list[list[list[str]]]]:
    from docx import Document

    doc = Document(str(path))
    tables = [[[c.text for c in row.cells] for row in table.rows] for table in doc.tables]
    text = " ".join([p.text for p in doc.paragraphs] + [c for tb in tables for r in tb for c in r])
    return " ".join(text.split()), tables


def pick(page: Any, key: str, typed: str, name: str) -> None:
    """Choose ``name`` in the selectbox ``key`` by typing the start of it, as one does in a long list."""
    page.locator(f".st-key-{key}").scroll_into_view_if_needed()
    page.mouse.wheel(0, 600)  # room below the list for its options
    page.locator(f".st-key-{key} [role=combobox]").click()
    page.keyboard.type(typed)
    page.get_by_role("option", name=name, exact=True).click()
    settle(page)


def test_albanian_planner_saves_targets_and_downloads_the_action_plan(
    app_url: str,  # noqa: F811
    browser: Any,  # noqa: F811
    tmp_path: Path,
):
    tax = socialmap.load_demo("kosovo").taxonomy
    page, errors = open_page(browser, app_url)
    switch_language(page, "sq")
    choose(page, "service_type", views.service_type_options(tax).index("day_care_disability"))
    page.get_by_role("tab").nth(3).click()  # Plani
    settle(page)
    page.locator(".st-key-plan_lon input").fill("20.43")
    page.locator(".st-key-plan_lat input").fill("42.38")
    page.locator(".st-key-plan_capacity input").fill("30")
    page.locator(".st-key-plan_capacity input").press("Enter")
    settle(page)
    page.locator(".st-key-plan_add button").click()
    settle(page)
    page.locator(".st-key-plan_unit_cost input").fill("6000")
    page.locator(".st-key-plan_unit_cost input").press("Enter")
    settle(page)
    save = page.locator(".st-key-plan_save_targets button")
    assert save.inner_text() == t("Save as targets", "sq")
    save.click()
    settle(page)
    # The planner types the start of their municipality's name into the list (as one does in a long list).
    pick(page, "plan_target_area", "Gjakov", "Gjakovë")
    button = page.locator(".st-key-plan_download_action_plan button")
    assert button.inner_text() == t("Action plan of {name} (DOCX)", "sq", name="Gjakovë")
    with page.expect_download(timeout=120_000) as download:
        button.click()
    assert download.value.suggested_filename == "socialmap_action_plan_02_gjakove.docx"
    path = tmp_path / "plan.docx"
    download.value.save_as(path)
    assert_no_exception(page, errors)
    ARTIFACTS.mkdir(exist_ok=True)
    page.locator(".st-key-plan_download_action_plan").scroll_into_view_if_needed()
    page.screenshot(path=str(ARTIFACTS / "action_plan_app_sq.png"), full_page=False)

    text, tables = _docx_text(path)
    assert "Projekt-plani komunal i veprimit për shërbimet sociale: Gjakovë" in text
    label = tax.label("day_care_disability", "sq")
    targets = next(tb for tb in tables if tb[0][0] == "Viti" and len(tb[0]) == 6)
    assert [r[0] for r in targets[1:]] == ["2026", "2027", "2028"]
    assert all(
        r[1] == label and r[2] == "64 → 94" and r[3] == "30" and r[5] == "180.000" for r in targets[1:]
    )
    budget = next(tb for tb in tables if len(tb[0]) == 3)
    assert budget[-1] == ["Gjithsej", "", "540.000"]
    monitoring = tables[-1]
    assert monitoring[0][0] == "Treguesi"
    assert [r[1:3] for r in monitoring if r[0] == f"Vende: {label}"] == [["64", "94"]]

    # In Serbian, the same session: the targets stay, the labels and the plan are in Serbian.
    switch_language(page, "sr")
    assert page.locator(".st-key-plan_target_area [role=combobox]").input_value() == "Đakovica"
    button = page.locator(".st-key-plan_download_action_plan button")
    assert button.inner_text() == t("Action plan of {name} (DOCX)", "sr", name="Đakovica")
    with page.expect_download(timeout=120_000) as download:
        button.click()
    download.value.save_as(tmp_path / "plan_sr.docx")
    text_sr, _ = _docx_text(tmp_path / "plan_sr.docx")
    assert "Nacrt opštinskog akcionog plana za socijalne usluge: Đakovica" in text_sr and "540.000" in text_sr
    page.locator(".st-key-plan_download_action_plan").scroll_into_view_if_needed()
    page.screenshot(path=str(ARTIFACTS / "action_plan_app_sr.png"), full_page=False)

    # The profile's trend, 2011 against 2024: a northern municipality's 2011 is missing, said so.
    page.get_by_role("tab").nth(2).click()
    settle(page, 180_000)
    assert page.get_by_text(t("Trend: {years}", "sr", years="2011 – 2024")).count() == 1
    pick(page, "profile_area", "Leposavi", "Leposavić")
    settle(page, 180_000)
    assert page.get_by_text("nije sproveden u ovoj opštini").count() >= 1  # Leposavić: no 2011 census
    page.get_by_text(t("Trend: {years}", "sr", years="2011 – 2024")).scroll_into_view_if_needed()
    page.screenshot(path=str(ARTIFACTS / "profile_trend_sr.png"), full_page=False)
    assert_no_exception(page, errors)
    page.close()
