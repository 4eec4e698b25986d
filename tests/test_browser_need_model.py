"""The need model in Chromium: the profile shows the composite's make-up and the metric help."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from test_browser import app_url, browser, pytestmark  # noqa: F401  (fixtures and skip marks)

ARTIFACTS = Path(__file__).resolve().parents[1] / "test-artifacts"


def test_profile_shows_the_composite_make_up(app_url: str, browser: Any) -> None:  # noqa: F811
    page = browser.new_page(viewport={"width": 1400, "height": 1800})
    page.goto(app_url, wait_until="domcontentloaded")
    page.get_by_role("tab", name="Municipality profile").click(timeout=120_000)
    page.get_by_text("Composite make-up").wait_for(timeout=120_000)
    # The tables are drawn on a canvas; their cells are also in the page for screen readers.
    cells = page.locator("[role=gridcell]")
    cells.filter(has_text="Older people (65+)").first.wait_for(state="attached", timeout=60_000)
    page.wait_for_timeout(1500)
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / "profile_composite_make_up.png"), full_page=True)
    assert cells.filter(has_text="need unknown").count() > 0  # a group whose need is unknown is listed
    assert page.locator("[role=columnheader]", has_text="Share of the composite (%)").count() == 1
    page.close()
