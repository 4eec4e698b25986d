"""What a person waits for in the app on the Kosovo demo: cold start, a new visit, widget changes, a new
analysis, an upload, and the Plan tab.

In headless Chromium, against ``streamlit run app.py`` on 127.0.0.1 (``--port``, default a free one), with
the project's ``.streamlit/config.toml``, from the moment of the action to the page ready (the map drawn in
streamlit-folium's frame and no element of the page still stale or running):

1. **cold start**: from starting the server to the first map (imports, first analysis, first page);
2. **new visit**: a new browser page on the warm server to its map (median of ``--rounds``);
3. **widget change**: a click on another service type in the sidebar (analysis cached; target 0.5 s median);
4. **new analysis**: the catchment slider moved one step (an analysis not cached yet; target 0.8 s);
5. **upload**: a services file (the demo's, without its day-care centres) given to the uploader.

With Streamlit's AppTest (the script's own time, no browser): widget changes; the Plan tab's "Add to
scenario" (a new service, so a scenario analysed, compared, mapped and costed; target 0.6 s) and "Suggest
sites" with a capacity (target 1 s). Every figure prints with the machine's load.

Run: .venv/bin/python benchmarks/bench_app.py [--port 8765] [--rounds 3] [--no-browser]
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


def _plan_app() -> Any:
    from streamlit.testing.v1 import AppTest

    at = AppTest.from_file(str(REPO / "app.py"), default_timeout=120).run()
    at.selectbox(key="service_type").set_value("day_care_disability").run()
    at.session_state["view"] = at.tabs[3].label
    at.run()
    assert not at.exception, at.exception
    return at


def bench_plan(rounds: int) -> list[float]:
    """
    Plan tab: from pressing "Add to scenario" to the page with the scenario's map, comparison tables,
    difference map and costing (AppTest rerun; the scenario's analysis is not cached, it is new).
    """
    at = _plan_app()
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


def bench_suggest(rounds: int) -> list[float]:
    """Plan tab: "Suggest sites" (3 sites, 20 places each) to the page with the suggestions (not cached)."""
    at = _plan_app()
    times = []
    for r in range(rounds):
        at.number_input(key="plan_capacity").set_value(20.0 + r).run()  # a new capacity: not cached
        start = time.perf_counter()
        at.button(key="plan_suggest").click().run()
        times.append(time.perf_counter() - start)
        assert not at.exception and not at.error, (at.exception, at.error)
        assert at.session_state["plan_suggested"][0], "no sites suggested"
    return times


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _services_without_day_care(folder: Path) -> Path:
    """The demo's services file without its day-care centres (so the upload changes the map)."""
    import pandas as pd

    services = pd.read_csv(REPO / "data" / "services" / "kosovo_services.csv", dtype=str)
    path = folder / "services_upload.csv"
    services[services["service_type"] != "day_care_disability"].to_csv(path, index=False)
    return path


def bench_browser(rounds: int, port: int) -> dict[str, list[float]]:
    from playwright.sync_api import sync_playwright

    url = f"http://127.0.0.1:{port}"
    tmp = Path(tempfile.mkdtemp(prefix="socialmap-bench-"))
    log = tmp / "streamlit.log"
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
    out: dict[str, list[float]] = {}
    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        page = browser.new_page(viewport={"width": 1400, "height": 1000})
        page.goto("about:blank")
        start = time.perf_counter()
        with log.open("wb") as sink:
            server = subprocess.Popen(
                command, cwd=REPO, stdout=sink, stderr=subprocess.STDOUT, start_new_session=True
            )
        try:
            while True:
                try:
                    with urllib.request.urlopen(f"{url}/_stcore/health", timeout=2) as answer:
                        if answer.read() == b"ok":
                            break
                except (urllib.error.URLError, OSError):
                    pass
                if server.poll() is not None or time.perf_counter() - start > 60:
                    raise SystemExit(f"streamlit did not start; see {log}")
                time.sleep(0.02)
            answering = time.perf_counter() - start

            def settled() -> bool:
                return (
                    page.locator('[data-stale="true"]').count() == 0
                    and page.locator('[data-testid="stStatusWidget"]').count() == 0
                )

            def ready(title: str = "") -> bool:
                state = map_state(page)
                return bool(state and state["n"] == 38 and title in state["title"]) and settled()

            def wait(what: str, until: Any, since: float, limit: float = 60) -> float:
                while not until():
                    if time.perf_counter() - since > limit:
                        raise SystemExit(f"{what}: not ready within {limit:g} s")
                    page.wait_for_timeout(10)
                return time.perf_counter() - since

            page.goto(url)
            out["cold start -> first map"] = [wait("cold start", ready, start)]
            out["(server answering)"] = [answering]

            visits = []
            for _ in range(rounds):
                other = browser.new_page(viewport={"width": 1400, "height": 1000})
                t0 = time.perf_counter()
                other.goto(url)
                while True:
                    state = map_state(other)
                    if state and state["n"] == 38 and other.locator('[data-stale="true"]').count() == 0:
                        break
                    if time.perf_counter() - t0 > 60:
                        raise SystemExit("new visit: no map within 60 s")
                    other.wait_for_timeout(10)
                visits.append(time.perf_counter() - t0)
                other.close()
            out["new visit -> map"] = visits

            def headline() -> list[str]:
                return page.locator('[data-testid="stMetricValue"]').all_inner_texts()

            analyses = []
            # on the composite view, whose headline (median composite gap) moves with the catchment
            slider = page.get_by_role("slider", name="Catchment (km)")
            for _ in range(rounds):
                before = headline()
                slider.focus()
                t0 = time.perf_counter()
                slider.press("ArrowRight")
                analyses.append(wait("new analysis", lambda b=before: headline() != b and ready(), t0, 30))
            out["catchment +1 km (new analysis) -> page ready"] = analyses

            upload = _services_without_day_care(tmp)
            before = headline()
            uploader = page.locator('[data-testid="stFileUploader"]').nth(1).locator('input[type="file"]')
            t0 = time.perf_counter()
            uploader.set_input_files(str(upload))
            out["services upload -> page ready"] = [
                wait("upload", lambda: headline() != before and ready(), t0, 60)
            ]
            clicks = []
            for _ in range(rounds):
                for target in SERVICE_TYPES:
                    page.get_by_role("combobox", name="Service type").click()
                    option = page.get_by_role("option", name=target, exact=True)
                    option.wait_for()
                    t0 = time.perf_counter()
                    option.click()
                    clicks.append(wait(target, lambda target=target: ready(target), t0, 30))
            out["service type click -> page ready"] = clicks

            browser.close()
        finally:
            server.terminate()
            try:
                server.wait(timeout=15)
            except subprocess.TimeoutExpired:
                server.kill()
            shutil.rmtree(tmp, ignore_errors=True)
    return out


TARGETS = {
    "cold start -> first map": 2.5,
    "service type click -> page ready": 0.5,
    "catchment +1 km (new analysis) -> page ready": 0.8,
    "Plan: Add to scenario (AppTest)": 0.6,
    "Plan: Suggest sites, 20 places (AppTest)": 1.0,
}


def report(label: str, seconds: list[float]) -> None:
    target = TARGETS.get(label)
    verdict = ""
    if target is not None:
        met = statistics.median(seconds) <= target
        verdict = f"  target <= {target:g} s (median): {'met' if met else 'NOT met'}"
    print(f"{summary(label, seconds)}{verdict}  load {os.getloadavg()[0]:.2f}", flush=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=3, help="rounds of each change (default 3)")
    parser.add_argument("--port", type=int, default=None, help="port for the app (default: a free one)")
    parser.add_argument("--no-browser", action="store_true", help="only the AppTest measurements")
    args = parser.parse_args()
    os.chdir(REPO)
    print(f"machine: {os.cpu_count()} cores, load average {os.getloadavg()[0]:.2f} (1 min) at start")
    if not args.no_browser:
        if not Path(CHROMIUM).is_file():
            raise SystemExit(
                f"Chromium not found at {CHROMIUM}; install it (make system-deps) or pass --no-browser"
            )
        for label, seconds in bench_browser(args.rounds, args.port or _free_port()).items():
            report(label, seconds)
    report("script rerun after a widget change (AppTest)", bench_script(args.rounds))
    report("Plan: Add to scenario (AppTest)", bench_plan(args.rounds))
    report("Plan: Suggest sites, 20 places (AppTest)", bench_suggest(args.rounds))
    print(f"load average {os.getloadavg()[0]:.2f} (1 min) at the end")


if __name__ == "__main__":
    main()
