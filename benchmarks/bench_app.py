"""How long the app takes to be ready after a widget change on the Kosovo demo.

Three measurements:

1. **Script** (Streamlit's AppTest, no browser): the time of one rerun after a widget change
   on the map tab (service type, metric, target group, classification, classes), analysis cached.
2. **Browser** (``streamlit run app.py`` on 127.0.0.1 with static serving, headless Chromium):
   from the click on another service type in the sidebar to the page being ready again: the
   new map drawn in streamlit-folium's frame (38 polygons, the service clusters, the new title)
   and no element of the page still stale.
3. **Plan** (AppTest): pressing "Add to scenario" in the Plan tab to the page ready with the
   scenario analysed (a new analysis, not cached), compared, mapped and costed.

Run: .venv/bin/python benchmarks/bench_app.py [--rounds 3] [--no-browser]
Target (issue #4): under 1 s from a widget change to the page ready.
"""

from __future__ import annotations

import argparse
import os
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]
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
SERVICE_TYPES = (
    "Home care for older people",
    "Centre for Social Work",
    "Day care for persons with disabilities",
    "Counselling and family support",
)
MAP_JS = """() => ({
  n: document.querySelectorAll('path.leaflet-interactive').length,
  title: (document.querySelector('.socialmap-title') || {}).textContent || '',
  markers: document.querySelectorAll('.socialmap-cluster, .socialmap-service').length,
})"""


def map_state(page: Any) -> dict[str, Any] | None:
    """Polygons, service markers and title of the first drawn streamlit-folium map on the page, or None."""
    from playwright.sync_api import Error

    for element in page.query_selector_all('iframe[title="streamlit_folium.st_folium"]'):
        frame = element.content_frame()
        try:
            state = frame.evaluate(MAP_JS) if frame else None
        except Error:
            continue
        if state and state["n"]:
            return dict(state)
    return None


def summary(label: str, seconds: list[float]) -> str:
    ordered = sorted(seconds)
    p90 = ordered[min(len(ordered) - 1, round(0.9 * (len(ordered) - 1)))]
    return (
        f"{label}: median {statistics.median(seconds):.3f} s, p90 {p90:.3f} s, "
        f"min {ordered[0]:.3f} s, max {ordered[-1]:.3f} s (n={len(seconds)})"
    )


def bench_script(rounds: int) -> list[float]:
    from streamlit.testing.v1 import AppTest

    at = AppTest.from_file(str(REPO / "app.py"), default_timeout=120).run()
    assert not at.exception, at.exception
    changes = [
        ("selectbox", "service_type", "home_care_elderly"),
        ("selectbox", "metric", "supply"),
        ("selectbox", "service_type", "day_care_disability"),
        ("selectbox", "scheme", "natural_breaks"),
        ("selectbox", "service_type", "csw"),
        ("slider", "k", 4),
        ("selectbox", "target_group", "older_people_65plus"),
        ("selectbox", "target_group", "__all_groups__"),
        ("selectbox", "scheme", "quantiles"),
        ("slider", "k", 5),
        ("selectbox", "service_type", "__all__"),
    ]
    times = []
    for _ in range(rounds):
        for kind, key, value in changes:
            widget = getattr(at, kind)(key=key)
            widget.set_value(value)
            start = time.perf_counter()
            at.run()
            times.append(time.perf_counter() - start)
            assert not at.exception, at.exception
    return times


#: Sites proposed in the Plan tab (lon, lat): Prishtinë, Prizren, Pejë, Gjilan, Mitrovicë, Ferizaj.
PLAN_SITES = (
    (21.1655, 42.6629),
    (20.7397, 42.2139),
    (20.2887, 42.6593),
    (21.4694, 42.4635),
    (20.8656, 42.8914),
    (21.1553, 42.3702),
)


def bench_plan(rounds: int) -> list[float]:
    """
    Plan tab: from pressing "Add to scenario" to the page with the scenario's map, comparison tables,
    difference map and costing (AppTest rerun; the scenario's analysis is not cached, it is new).
    """
    from streamlit.testing.v1 import AppTest

    at = AppTest.from_file(str(REPO / "app.py"), default_timeout=120).run()
    at.selectbox(key="service_type").set_value("day_care_disability").run()
    at.session_state["view"] = at.tabs[3].label
    at.run()
    assert not at.exception, at.exception
    times = []
    for _ in range(rounds):
        if "plan_edits" in at.session_state and at.session_state["plan_edits"]:
            at.button(key="plan_clear").click().run()
        for lon, lat in PLAN_SITES:
            at.number_input(key="plan_lon").set_value(lon)
            at.number_input(key="plan_lat").set_value(lat).run()
            start = time.perf_counter()
            at.button(key="plan_add").click().run()
            times.append(time.perf_counter() - start)
            assert not at.exception and not at.error, (at.exception, at.error)
            assert len(at.get("component_instance")) == 2  # the plan map and the difference map
    return times


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def bench_browser(rounds: int) -> list[float]:
    from playwright.sync_api import Error, sync_playwright

    port = _free_port()
    url = f"http://127.0.0.1:{port}"
    log = Path(tempfile.mkstemp(prefix="socialmap-bench-", suffix=".log")[1])
    command = [
        sys.executable,
        "-m",
        "streamlit",
        "run",
        "app.py",
        "--server.address=127.0.0.1",
        f"--server.port={port}",
        "--server.headless=true",
        "--server.enableStaticServing=true",
        "--server.fileWatcherType=none",
        "--browser.gatherUsageStats=false",
    ]
    with log.open("wb") as out:
        server = subprocess.Popen(
            command, cwd=REPO, stdout=out, stderr=subprocess.STDOUT, start_new_session=True
        )
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                with urllib.request.urlopen(f"{url}/_stcore/health", timeout=2) as answer:
                    if answer.read() == b"ok":
                        break
            except (urllib.error.URLError, OSError):
                pass
            if server.poll() is not None or time.monotonic() > deadline:
                raise SystemExit(f"streamlit did not start; see {log}")
            time.sleep(0.3)

        with sync_playwright() as pw:
            browser = pw.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
            page = browser.new_page(viewport={"width": 1400, "height": 1000})

            def drawn(title: str) -> bool:
                for element in page.query_selector_all('iframe[title="streamlit_folium.st_folium"]'):
                    frame = element.content_frame()
                    try:
                        state = frame.evaluate(MAP_JS) if frame else None
                    except Error:
                        continue
                    if state and state["n"] == 38 and state["markers"] and title in state["title"]:
                        return True
                return False

            def ready(title: str) -> bool:
                return drawn(title) and page.locator('[data-stale="true"]').count() == 0

            page.goto(url)
            deadline = time.monotonic() + 60
            while not ready("Composite gap score"):
                if time.monotonic() > deadline:
                    raise SystemExit("the first map was not drawn within 60 s")
                page.wait_for_timeout(50)
            times = []
            for _ in range(rounds):
                for target in SERVICE_TYPES:
                    page.get_by_role("combobox", name="Service type").click()
                    option = page.get_by_role("option", name=target, exact=True)
                    option.wait_for()
                    start = time.perf_counter()
                    option.click()
                    while not ready(target):
                        if time.perf_counter() - start > 30:
                            raise SystemExit(f"no map of {target} within 30 s")
                        page.wait_for_timeout(10)
                    times.append(time.perf_counter() - start)
            browser.close()
        return times
    finally:
        server.terminate()
        try:
            server.wait(timeout=15)
        except subprocess.TimeoutExpired:
            server.kill()
        log.unlink(missing_ok=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=3, help="rounds of widget changes (default 3)")
    parser.add_argument("--no-browser", action="store_true", help="only the AppTest measurement")
    args = parser.parse_args()
    os.chdir(REPO)
    print(f"machine: {os.cpu_count()} cores, load average {os.getloadavg()[0]:.1f} (1 min) at start")
    script = bench_script(args.rounds)
    print(summary("script rerun after a widget change (AppTest)", script))
    plan = bench_plan(args.rounds)
    print(summary("Plan tab: add a service -> scenario analysed, compared and mapped (AppTest)", plan))
    if not args.no_browser:
        if not Path(CHROMIUM).is_file():
            raise SystemExit(
                f"Chromium not found at {CHROMIUM}; install it (make system-deps) or pass --no-browser"
            )
        page = bench_browser(args.rounds)
        print(summary("click on a service type -> page ready (Chromium)", page))
        verdict = "met" if statistics.median(page) < 1 else "NOT met"
        print(f"target < 1 s (median, browser): {verdict}")
    print(f"load average {os.getloadavg()[0]:.1f} (1 min) at the end")


if __name__ == "__main__":
    main()
