"""The demand-cell layer in Chromium: toggled on in Albanian and Serbian, withheld for shelters.

``streamlit run app.py`` on 127.0.0.1 (one server for the module, on a port the system gives),
headless Chromium with no internet. Saves ``test-artifacts/cells_sq.png``, ``cells_sr.png`` and
``cells_shelter_sr.png``.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from typing import Any

import pytest
from test_browser import ARTIFACTS, FRAME, launch_chromium, pytestmark, serve_app  # noqa: F401
from test_browser_languages import assert_no_exception, choose, open_page, settle, switch_language

import socialmap
from socialmap import views
from socialmap.i18n import LANGUAGES, t

TAX = socialmap.load_demo("kosovo").taxonomy
TYPES = views.service_type_options(TAX)

#: What the map frame shows of the cells: their legend, the canvas they are drawn on, the layers.
CELLS_JS = """() => ({
  legend: (document.querySelector('.socialmap-cells-legend summary') || {}).textContent || null,
  rows: document.querySelectorAll('.socialmap-cells-legend div').length,
  canvas: document.querySelectorAll('.leaflet-socialmapCells-pane canvas').length,
  areas: document.querySelectorAll('path.leaflet-interactive').length,
  layers: [...document.querySelectorAll('.leaflet-control-layers-overlays label')]
    .map(l => l.textContent.trim()),
})"""


@pytest.fixture(scope="module", name="app_url")
def _app_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    yield from serve_app(tmp_path_factory)


@pytest.fixture(scope="module", name="browser")
def _browser() -> Iterator[Any]:
    yield from launch_chromium()


def cells_state(page: Any, ready: Any, timeout_s: float = 60) -> dict[str, Any]:
    deadline = time.monotonic() + timeout_s
    state = None
    while time.monotonic() < deadline:
        for element in page.query_selector_all(FRAME):
            frame = element.content_frame()
            if frame is not None:
                try:
                    state = frame.evaluate(CELLS_JS)
                except Exception:  # the frame is being redrawn
                    continue
                if state["areas"] == 38 and ready(state):
                    return state
        page.wait_for_timeout(100)
    raise AssertionError(f"the map did not show what was expected in {timeout_s} s; last seen: {state}")


def pick(page: Any, key: str, index: int, tries: int = 3) -> None:
    """Choose option ``index`` of the selectbox ``key``, clicking again if its list did not open."""
    from playwright.sync_api import TimeoutError as PlaywrightTimeout

    for attempt in range(tries):
        page.locator(f".st-key-{key} [role=combobox]").click()
        try:
            page.get_by_role("option").first.wait_for(timeout=10_000)
        except PlaywrightTimeout:
            if attempt == tries - 1:
                raise
            page.keyboard.press("Escape")
            settle(page)
            continue
        page.get_by_role("option").nth(index).click()
        settle(page)
        return


def hover_tooltip(page: Any) -> str:
    """Hover the middle of the map (Kosovo's cells cover it) and return the tooltip shown."""
    frame = page.frame_locator(FRAME)
    box = frame.locator(".leaflet-container").bounding_box()
    page.mouse.move(box["x"] + box["width"] * 0.5, box["y"] + box["height"] * 0.55)
    tip = frame.locator(".leaflet-tooltip").last
    tip.wait_for(timeout=10_000)
    return str(tip.inner_text())


def test_cells_toggled_in_albanian_and_serbian_and_never_for_shelters(app_url: str, browser: Any) -> None:
    page, errors = open_page(browser, app_url, width=1400, height=1100)
    switch_language(page, "sq")
    choose(page, "service_type", TYPES.index("home_care_elderly"))
    page.locator(".st-key-cells label").click()
    settle(page)
    title = t("Unmet need per cell (persons)", "sq")
    state = cells_state(page, lambda s: s["legend"] == title)
    assert state["canvas"] >= 1 and state["rows"] >= 3  # drawn on a canvas; classes in the legend
    assert title in state["layers"]  # the layer can also be switched off in the layer control
    tip = hover_tooltip(page)
    assert t("Unmet need (persons)", "sq") in tip and t("Nearest service (km)", "sq") in tip
    assert "," in tip.split(":")[1]  # a decimal comma
    page.wait_for_timeout(800)
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / "cells_sq.png"))
    assert_no_exception(page, errors)

    # The toggle is kept across a language switch; the layer is redrawn in Serbian.
    page.mouse.move(5, 5)  # off the map: its tooltip closes
    settle(page)
    pick(page, "lang", list(LANGUAGES).index("sr"))
    title_sr = t("Unmet need per cell (persons)", "sr")
    state = cells_state(page, lambda s: s["legend"] == title_sr)
    assert state["canvas"] >= 1
    assert t("Nearest service (km)", "sr") in hover_tooltip(page)
    page.wait_for_timeout(800)
    page.screenshot(path=str(ARTIFACTS / "cells_sr.png"))
    assert_no_exception(page, errors)

    # Shelters serve a sensitive group: no cells, and the page says why.
    page.mouse.move(5, 5)
    pick(page, "service_type", TYPES.index("shelter_dv"))
    state = cells_state(page, lambda s: s["legend"] is None)
    assert title_sr not in state["layers"]
    note = t(
        "The demand cells of a service type serving a sensitive group are never shown: a cell holds a "
        "handful of people, and its distances would point at the sites.",
        "sr",
    )
    # (the app shows it through display.plain, which puts word joiners around ':' and '.')
    shown = page.get_by_text(note.split(":")[0])
    shown.wait_for(timeout=30_000)
    shown.scroll_into_view_if_needed()
    page.wait_for_timeout(500)
    page.screenshot(path=str(ARTIFACTS / "cells_shelter_sr.png"))
    assert_no_exception(page, errors)
    page.close()
