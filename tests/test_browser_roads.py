"""The app in Chromium with a road file: upload it in "Your data", and the map says travel time in minutes.

Uses the fixtures of tests/test_browser.py (``streamlit run app.py`` on 127.0.0.1, headless Chromium).
Saves ``test-artifacts/app_roads.png``.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from test_browser import ARTIFACTS, app_url, browser, pytestmark, wait_for_map  # noqa: F401 - fixtures
from test_network_pipeline import kosovo_grid_osm


def test_road_file_turns_catchments_into_travel_time(app_url: str, browser: Any, tmp_path: Path) -> None:  # noqa: F811
    page = browser.new_page(viewport={"width": 1400, "height": 1100})
    errors: list[str] = []
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    page.goto(app_url)
    wait_for_map(page, lambda s: s["title"] == "Composite gap score (%)")
    roads = tmp_path / "kosovo-grid.osm"
    roads.write_bytes(kosovo_grid_osm())
    page.get_by_text("Your data").click()
    uploader = page.locator('[data-testid="stFileUploader"]').filter(has_text="Roads")
    uploader.locator('input[type="file"]').set_input_files(str(roads))
    page.get_by_text("Catchments measured as: travel time (roads, driving)").wait_for(timeout=120_000)
    page.get_by_text("Catchment (minutes of travel)").wait_for(timeout=120_000)
    # The analysis reruns on the road graph: wait until the page is idle again before choosing.
    page.locator('[data-testid="stStatusWidget"]').wait_for(state="hidden", timeout=120_000)
    option = page.get_by_role("option", name="Day care for persons with disabilities", exact=True)
    for _ in range(5):
        page.get_by_role("combobox", name="Service type").click()
        try:
            option.click(timeout=5_000)
            break
        except Exception:  # noqa: BLE001 - the list closed on a rerun: open it again
            page.wait_for_timeout(500)
    state = wait_for_map(page, lambda s: "30 min, travel time (roads, driving)" in (s["title"] or ""), 120)
    assert state["title"].startswith("Gap score (%): Day care for persons with disabilities (2SFCA, 30 min")
    assert page.get_by_text("Catchment (minutes of travel)").count() == 1
    page.wait_for_timeout(1500)
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / "app_roads.png"), full_page=True)
    assert page.locator('[data-testid="stException"]').count() == 0
    assert page.locator('[data-testid="stAlertContentError"]').count() == 0
    assert not errors, errors
    page.close()
