"""The app in a real browser: ``streamlit run app.py`` on 127.0.0.1, driven by headless Chromium.

Checks that the Leaflet map inside streamlit-folium's frame draws the 38 municipalities with no
internet (every request must go to the app itself), that choosing another service type redraws
it, and that no error appears. Saves ``test-artifacts/app.png``.

Needs Chromium (``make system-deps``: Debian's ``chromium``; another binary via
``SOCIALMAP_CHROMIUM``) and the map libraries (``make assets``); ``make test`` provides both.
"""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest

import socialmap
from socialmap import views

REPO = Path(__file__).resolve().parents[1]
ARTIFACTS = REPO / "test-artifacts"
VENDOR = REPO / "static" / "vendor"
CHROMIUM = os.environ.get("SOCIALMAP_CHROMIUM") or shutil.which("chromium") or "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
FRAME = 'iframe[title="streamlit_folium.st_folium"]'
#: What the map in the component frame shows.
MAP_STATE_JS = """() => ({
  fills: [...document.querySelectorAll('path.leaflet-interactive')]
    .map(p => p.getAttribute('d') + ' ' + p.getAttribute('fill')),
  title: (document.querySelector('.socialmap-title') || {}).textContent || null,
  legend: document.querySelectorAll('.socialmap-legend div').length,
  markers: document.querySelectorAll('.socialmap-cluster, .socialmap-service').length,
  layers: document.querySelectorAll('.leaflet-control-layers-overlays input').length,
  frame: performance.timeOrigin,
})"""

pytestmark = [
    pytest.mark.skipif(
        not Path(CHROMIUM).is_file(), reason=f"Chromium not found at {CHROMIUM}: make system-deps"
    ),
    pytest.mark.skipif(
        bool(views.missing_assets(VENDOR)),
        reason=f"map libraries {views.missing_assets(VENDOR)} not in {VENDOR}: make assets",
    ),
]


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def serve_app(tmp_path_factory: pytest.TempPathFactory, *, launcher: bool = False) -> Iterator[str]:
    """
    Run ``streamlit run app.py`` on a free port of 127.0.0.1 until the tests are done.

    ``launcher``: start it as ``make app`` does instead, ``python -m socialmap.serve app.py`` (the same
    options, passed on to ``streamlit run``).
    """
    port = _free_port()
    log = tmp_path_factory.mktemp("streamlit") / "server.log"
    start = ["socialmap.serve"] if launcher else ["streamlit", "run"]
    command = [
        sys.executable,
        "-m",
        *start,
        "app.py",
        "--server.address=127.0.0.1",
        f"--server.port={port}",
        "--server.headless=true",
        "--server.enableStaticServing=true",
        "--server.fileWatcherType=none",
        "--browser.gatherUsageStats=false",
    ]
    with log.open("wb") as out:
        proc = subprocess.Popen(
            command, cwd=REPO, stdout=out, stderr=subprocess.STDOUT, start_new_session=True
        )
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                with urllib.request.urlopen(f"{url}/_stcore/health", timeout=2) as answer:
                    if answer.read() == b"ok":
                        break
            except (urllib.error.URLError, OSError):
                pass
            if proc.poll() is not None or time.monotonic() > deadline:
                what = "the launcher" if launcher else "streamlit"
                pytest.fail(f"{what} did not start:\n{log.read_text(errors='replace')}")
            time.sleep(0.3)
        yield url
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=15)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(timeout=5)


def launch_chromium() -> Iterator[Any]:
    """Run headless Chromium (Debian's, with the project's flags) until the tests are done."""
    from playwright.sync_api import sync_playwright

    with sync_playwright() as pw:
        chromium = pw.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield chromium
        chromium.close()


# One server and one browser per test module (other modules import these two, or define their own
# with serve_app and launch_chromium).
@pytest.fixture(scope="module")
def app_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    yield from serve_app(tmp_path_factory)


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    yield from launch_chromium()


def map_state(page: Any) -> dict[str, Any] | None:
    """The map drawn in the (current) streamlit-folium frame, or None while there is none."""
    from playwright.sync_api import Error

    for element in page.query_selector_all(FRAME):
        frame = element.content_frame()
        if frame is None:
            continue
        try:
            return frame.evaluate(MAP_STATE_JS)
        except Error:  # the frame is being replaced by a new map
            continue
    return None


def wait_for_map(page: Any, ready: Any, timeout_s: float = 60) -> dict[str, Any]:
    deadline = time.monotonic() + timeout_s
    state = None
    while time.monotonic() < deadline:
        state = map_state(page)
        if state and len(state["fills"]) == 38 and state["markers"] and ready(state):
            return state
        page.wait_for_timeout(50)
    raise AssertionError(f"the map was not drawn in {timeout_s} s; last seen: {state}")


def test_map_draws_offline_and_follows_the_service_type(app_url: str, browser: Any) -> None:
    page = browser.new_page(viewport={"width": 1400, "height": 1000})
    errors: list[str] = []
    outside: list[str] = []
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    page.on("console", lambda msg: errors.append(msg.text) if msg.type == "error" else None)
    host = urlsplit(app_url).netloc

    def check_request(request: Any) -> None:
        parts = urlsplit(request.url)
        if parts.scheme in ("http", "https", "ws", "wss") and parts.netloc != host:
            outside.append(request.url)

    page.on("request", check_request)
    page.goto(app_url)

    first = wait_for_map(page, lambda s: s["title"] == "Composite gap score (%)" and s["legend"] >= 3)
    assert len(first["fills"]) == 38  # one path per municipality polygon
    assert first["legend"] >= 3  # legend title and class rows
    # the areas and one layer per service type whose locations may be shown (not shelters)
    demo = socialmap.load_demo("kosovo")
    shown_types = views.public_service_sites(demo.services, demo.taxonomy)["service_type"].nunique()
    assert first["layers"] == 1 + shown_types
    assert len({f.split()[-1] for f in first["fills"]}) > 1  # several classes

    page.get_by_role("combobox", name="Service type").click()
    page.get_by_role("option", name="Home care for older people", exact=True).click()
    second = wait_for_map(page, lambda s: "Home care for older people" in (s["title"] or ""))
    assert sorted(second["fills"]) != sorted(first["fills"])  # (outline, colour) pairs differ
    assert second["legend"] >= 3 and second["layers"] == 1 + shown_types
    assert second["frame"] == first["frame"]  # the layers were swapped in the same frame
    assert second["title"].startswith("Gap score (%): Home care for older people")

    page.wait_for_timeout(1500)  # let the cluster animations end before the screenshot
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / "app.png"), full_page=True)

    assert page.locator('[data-testid="stException"]').count() == 0
    assert page.locator('[data-testid="stAlertContentError"]').count() == 0
    assert not errors, errors
    assert not outside, f"requests left the machine: {outside}"
    page.close()


def test_downloaded_html_map_draws_offline_from_a_file(browser: Any, tmp_path: Path) -> None:
    import socialmap
    from socialmap import AnalysisConfig

    demo = socialmap.load_demo("kosovo")
    result = views.analyze_inputs(views.read_inputs(demo=demo), AnalysisConfig(), demo=demo).result
    selection = views.Selection(service_type="csw", metric="gap_score")
    fmap = views.selection_map(result, selection, demo.taxonomy, attribution="demo", assets=VENDOR)
    path = tmp_path / "map.html"
    path.write_bytes(views.map_html_bytes(fmap))
    page = browser.new_page(viewport={"width": 1000, "height": 700})
    errors: list[str] = []
    requests: list[str] = []
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    page.on("request", lambda request: requests.append(request.url))
    page.goto(path.as_uri())
    page.wait_for_function(
        "document.querySelectorAll('path.leaflet-interactive').length === 38", timeout=30_000
    )
    assert page.locator(".socialmap-legend").count() == 1
    assert page.locator(".socialmap-cluster, .socialmap-service").count() > 0
    assert not errors, errors
    assert not [u for u in requests if u.startswith(("http:", "https:"))], requests
    page.close()


def frame_states(page: Any) -> list[dict[str, Any] | None]:
    """What each streamlit-folium frame on the page shows, in page order (None while loading)."""
    from playwright.sync_api import Error

    states = []
    for element in page.query_selector_all(FRAME):
        frame = element.content_frame()
        try:
            states.append(None if frame is None else frame.evaluate(MAP_STATE_JS))
        except Error:
            states.append(None)
    return states


def wait_until(check: Any, what: str, timeout_s: float = 60) -> Any:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        value = check()
        if value:
            return value
        time.sleep(0.1)
    raise AssertionError(f"{what} did not happen in {timeout_s} s")


def test_plan_click_on_the_map_adds_a_service_and_maps_the_change(app_url: str, browser: Any) -> None:
    page = browser.new_page(viewport={"width": 1400, "height": 1400})
    errors: list[str] = []
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    page.goto(app_url)
    wait_for_map(page, lambda s: s["legend"] >= 3)
    page.get_by_role("combobox", name="Service type").click()
    page.get_by_role("option", name="Day care for persons with disabilities", exact=True).click()
    wait_for_map(page, lambda s: "Day care" in (s["title"] or ""))
    page.get_by_role("tab", name="Plan").click()
    page.get_by_label("Longitude").wait_for(state="visible")
    wait_until(
        lambda: any(s and s["title"] and len(s["fills"]) == 38 for s in frame_states(page)),
        "the planning map",
    )

    # A click in the middle of the map's frame: the longitude and latitude fields take its point.
    # (The Map tab's frame may still be in the page, hidden: the planning map is the visible one.)
    frame = page.locator(f"{FRAME} >> visible=true").first
    frame.wait_for(state="visible")
    box = frame.bounding_box()
    assert box is not None
    page.wait_for_timeout(500)  # the map's fit-to-bounds animation
    page.mouse.click(box["x"] + box["width"] / 2, box["y"] + box["height"] / 2)
    lon = page.get_by_label("Longitude")
    wait_until(lambda: lon.input_value() != "", "the click filling the longitude")
    lon_value = float(lon.input_value())
    lat_value = float(page.get_by_label("Latitude").input_value())
    assert 20.0 < lon_value < 21.8 and 41.8 < lat_value < 43.3  # inside Kosovo's extent

    page.get_by_role("button", name="Add to scenario").click()
    # Now two maps: the plan (with the new service) and the difference map (38 areas, none worse).
    diff = wait_until(
        lambda: next(
            (
                s
                for s in frame_states(page)
                if s and s["title"] and "change in" in s["title"] and len(s["fills"]) == 38
            ),
            None,
        ),
        "the difference map",
    )
    red = {"#b2182b", "#ef8a62", "#fddbc7"}
    assert not {f.split()[-1] for f in diff["fills"]} & red  # adding places never raises a gap
    assert page.locator('[data-testid="stException"]').count() == 0
    assert page.locator('[data-testid="stAlertContentError"]').count() == 0
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / "plan.png"), full_page=True)
    assert not errors, errors
    page.close()
