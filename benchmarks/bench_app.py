"""What a person waits for in the app on the Kosovo demo: cold start, a new visit, widget changes, a new
analysis, an upload, and the Plan tab.

In headless Chromium, against ``streamlit run app.py`` on 127.0.0.1 (``--port``, default a free one), with
the project's ``.streamlit/config.toml``, from the moment of the action to the page ready (the map drawn in
streamlit-folium's frame and no element of the page still stale or running):

1. **cold start**: from starting the server (``python -m socialmap.serve app.py``, as ``make app`` does) to
   the first map (imports, first analysis, first page); the bytecode is written and the file cache warmed
   beforehand by importing the app's modules once in another process, as after any earlier start;
2. **new visit**: a new browser page on the warm server to its map (median of ``--rounds``);
3. **widget change**: a click on another service type in the sidebar (analysis cached; target 0.5 s median);
4. **new analysis**: the catchment slider moved one step (an analysis not cached yet; target 0.8 s);
5. **upload**: a services file (the demo's, without its day-care centres) given to the services uploader in
   the sidebar's "Your data" section (its headers are the contract's, so the suggested column mapping is
   used as it is) to the page with its map.

Beside each Chromium figure, the server's processor time per action (read from ``/proc``; for the cold
start, since the server's start), which a busy machine moves much less than the wall time: it tells the
figures a busy machine made long from those the app made long. Each figure is printed as soon as it is
measured; a step that fails prints ``NOT MEASURED`` and why (what the page showed), and the next step
still runs.

With Streamlit's AppTest (the script's own time, no browser): widget changes; the Plan tab's "Add to
scenario" (a new service, so a scenario analysed, compared, mapped and costed; target 0.6 s) and "Suggest
sites" with a capacity (target 1 s). Every figure prints with the machine's load.

Run: .venv/bin/python benchmarks/bench_app.py [--port 8765] [--rounds 3] [--no-browser] [--steps cold,visit]
     .venv/bin/python benchmarks/bench_app.py --cold-vs /work/main --rounds 5

``--steps`` measures only the steps named (default all): cold, visit, click, analysis, upload (Chromium),
script, plan, suggest (AppTest). The Chromium steps run in their order on one server, from its cold start.
``--cold-vs DIR`` measures only the cold start, taking turns with another checkout (e.g. main's copy, with
its own ``.venv``): both medians and the pairs' ratio, which stays meaningful on a busy machine.
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
from collections.abc import Iterator
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
#: The steps ``--steps`` can name: in Chromium (in this order, on one server), then with AppTest.
BROWSER_STEPS = ("cold", "visit", "click", "analysis", "upload")
SCRIPT_STEPS = ("script", "plan", "suggest")

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


def server_cpu(pid: int) -> float | None:
    """
    The processor time (user + system, seconds) a process has used so far, or ``None`` where unknown.

    It is less moved by a busy machine than the wall time (not a substitute for it: other processes on
    the same cores still slow its caches): it tells which figures a busy machine made long.
    """
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except (OSError, IndexError):
        return None
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


class NotReady(Exception):
    """A step of the benchmark did not reach its end state; the message says what was seen."""


def _server_command(port: int, python: str = sys.executable) -> list[str]:
    """The app started as `make app` starts it (the launcher; the other options in .streamlit/config.toml)."""
    return [
        python,
        "-m",
        "socialmap.serve",
        "app.py",
        "--server.address=127.0.0.1",
        f"--server.port={port}",
        "--server.headless=true",
        "--server.enableStaticServing=true",
    ]


def _server_env() -> dict[str, str]:
    env = dict(os.environ)
    env.pop("PYTHONDONTWRITEBYTECODE", None)  # a user's Python keeps the compiled bytecode
    return env


def _what_is_shown(page: Any) -> str:
    """A short account of the page for a step that failed: errors shown, the map, the stale elements."""
    parts = []
    try:
        for selector, name in (
            ('[data-testid="stException"]', "exception"),
            ('[data-testid="stAlertContentError"]', "error"),
            ('[data-testid="stAlertContentWarning"]', "warning"),
        ):
            for text in page.locator(selector).all_inner_texts()[:2]:
                parts.append(f"{name}: {' '.join(text.split())[:200]}")
        state = map_state(page)
        parts.append(f"map: {state}" if state else "no map drawn")
        stale = page.locator('[data-stale="true"]').count()
        if stale:
            parts.append(f"{stale} stale elements")
        if page.locator('[data-testid="stStatusWidget"]').count():
            parts.append("still running")
    except Exception as exc:  # noqa: BLE001 - only describing a failure already being reported
        parts.append(f"(page not readable: {exc})")
    return "; ".join(parts)


def bench_browser(
    rounds: int,
    port: int,
    steps: frozenset[str] = frozenset(BROWSER_STEPS),
    repo: Path = REPO,
    python: str = sys.executable,
) -> Iterator[tuple[str, list[float] | str]]:
    """
    The Chromium steps, each yielded as soon as it is measured: (label, seconds) or (label, why it failed).
    A step that fails is reported and the next one still runs (on a freshly loaded page). ``repo`` and
    ``python``: the checkout whose app is started and its Python (``--cold-vs``).
    """
    from playwright.sync_api import Error, sync_playwright

    url = f"http://127.0.0.1:{port}"
    tmp = Path(tempfile.mkdtemp(prefix="socialmap-bench-"))
    log = tmp / "streamlit.log"
    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        page = browser.new_page(viewport={"width": 1400, "height": 1000})
        page.goto("about:blank")
        subprocess.run(  # not counted: writes the bytecode a user's earlier start would have left
            [python, "-c", "import socialmap.views, socialmap.serve, streamlit_folium"],
            cwd=repo,
            env=_server_env(),
            check=True,
            capture_output=True,
        )
        start = time.perf_counter()
        with log.open("wb") as sink:
            server = subprocess.Popen(
                _server_command(port, python),
                cwd=repo,
                env=_server_env(),
                stdout=sink,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
        try:

            def settled(on: Any = page) -> bool:
                return (
                    on.locator('[data-stale="true"]').count() == 0
                    and on.locator('[data-testid="stStatusWidget"]').count() == 0
                )

            def ready(title: str = "", on: Any = page) -> bool:
                state = map_state(on)
                return bool(state and state["n"] == 38 and title in state["title"]) and settled(on)

            def wait(what: str, until: Any, since: float, limit: float = 60, on: Any = page) -> float:
                while not until():
                    if time.perf_counter() - since > limit:
                        raise NotReady(f"{what}: not ready within {limit:g} s ({_what_is_shown(on)})")
                    on.wait_for_timeout(10)
                return time.perf_counter() - since

            def headline() -> list[str]:
                return page.locator('[data-testid="stMetricValue"]').all_inner_texts()

            def fresh() -> None:
                """The page reloaded to the demo's default view (after a step that failed)."""
                page.goto(url)
                wait("reload", ready, time.perf_counter(), 60)

            def step(label: str, measure: Any, cold: bool = False) -> Iterator[tuple[str, list[float] | str]]:
                """The step's figure, then the server's processor time per action (since its start: cold)."""
                before = 0.0 if cold else server_cpu(server.pid)
                try:
                    seconds = measure()
                except (NotReady, Error, AssertionError) as exc:
                    reason = " ".join(str(exc).split())[:600] or type(exc).__name__
                    try:
                        fresh()
                    except (NotReady, Error) as again:
                        reason += f"; the page could not be loaded again either: {str(again)[:200]}"
                    yield label, reason
                    return
                yield label, seconds
                after = server_cpu(server.pid)
                if before is not None and after is not None:
                    yield f"({label}: the server's cpu per action)", [(after - before) / len(seconds)]

            while True:
                try:
                    with urllib.request.urlopen(f"{url}/_stcore/health", timeout=2) as answer:
                        if answer.read() == b"ok":
                            break
                except (urllib.error.URLError, OSError):
                    pass
                if server.poll() is not None or time.perf_counter() - start > 60:
                    tail = log.read_text(errors="replace")[-600:]
                    yield "cold start -> first map", f"streamlit did not start within 60 s: {tail}"
                    return
                time.sleep(0.02)
            answering = time.perf_counter() - start

            def cold() -> list[float]:
                page.goto(url)
                return [wait("cold start", ready, start, 90)]

            yield from step("cold start -> first map", cold, cold=True)
            yield "(server answering)", [answering]

            def visits() -> list[float]:
                seconds = []
                for _ in range(rounds):
                    other = browser.new_page(viewport={"width": 1400, "height": 1000})
                    try:
                        t0 = time.perf_counter()
                        other.goto(url)
                        seconds.append(wait("new visit", lambda o=other: ready(on=o), t0, 60, on=other))
                    finally:
                        other.close()
                return seconds

            if "visit" in steps:
                yield from step("new visit -> map", visits)

            def clicks() -> list[float]:
                seconds = []
                for _ in range(rounds):
                    for target in SERVICE_TYPES:
                        page.get_by_role("combobox", name="Service type").click()
                        option = page.get_by_role("option", name=target, exact=True)
                        option.wait_for(timeout=10_000)
                        t0 = time.perf_counter()
                        option.click()
                        seconds.append(wait(target, lambda target=target: ready(target), t0, 30))
                return seconds

            if "click" in steps:
                yield from step("service type click -> page ready", clicks)

            def analyses() -> list[float]:
                # on the composite view (all service types), whose headline moves with the catchment
                page.get_by_role("combobox", name="Service type").click()
                page.get_by_role("option", name="All service types (composite gap)", exact=True).click()
                wait("all service types", ready, time.perf_counter(), 30)
                seconds = []
                slider = page.get_by_role("slider", name="Catchment (km)")
                for _ in range(rounds):
                    before = headline()
                    slider.focus()
                    t0 = time.perf_counter()
                    slider.press("ArrowRight")
                    seconds.append(wait("new analysis", lambda b=before: headline() != b and ready(), t0, 30))
                return seconds

            if "analysis" in steps:
                yield from step("catchment +1 km (new analysis) -> page ready", analyses)

            def upload() -> list[float]:
                # in the sidebar's "Your data" section, the services uploader (the file has the contract's
                # headers, so the suggested column mapping is used as it is)
                path = _services_without_day_care(tmp)
                page.get_by_text("Your data", exact=True).click()
                uploader = page.locator('[data-testid="stFileUploader"]').filter(has_text="Services (points)")
                uploader.wait_for(timeout=10_000)
                # the map then has fewer service markers (the headline, a median, need not move)
                before = (map_state(page) or {}).get("markers")
                t0 = time.perf_counter()
                uploader.locator('input[type="file"]').set_input_files(str(path))

                def uploaded() -> bool:
                    state = map_state(page)
                    return bool(state and state["markers"] != before) and ready()

                return [wait("upload", uploaded, t0, 60)]

            if "upload" in steps:
                yield from step("services upload -> page ready", upload)
            browser.close()
        finally:
            server.terminate()
            try:
                server.wait(timeout=15)
            except subprocess.TimeoutExpired:
                server.kill()
            shutil.rmtree(tmp, ignore_errors=True)


TARGETS = {
    "cold start -> first map": 2.5,
    "service type click -> page ready": 0.5,
    "catchment +1 km (new analysis) -> page ready": 0.8,
    "Plan: Add to scenario (AppTest)": 0.6,
    "Plan: Suggest sites, 20 places (AppTest)": 1.0,
}


def report(label: str, seconds: list[float] | str) -> None:
    """Print one figure with its target and the load, or why the step could not be measured."""
    load = f"load {os.getloadavg()[0]:.2f}"
    if isinstance(seconds, str):
        print(f"{label}: NOT MEASURED: {seconds}  {load}", flush=True)
        return
    target = TARGETS.get(label)
    verdict = ""
    if target is not None:
        met = statistics.median(seconds) <= target
        verdict = f"  target <= {target:g} s (median): {'met' if met else 'NOT met'}"
    print(f"{summary(label, seconds)}{verdict}  {load}", flush=True)


def measured(label: str, measure: Any, *args: Any) -> None:
    """Run one AppTest step and report it; a step that fails says why and the others still run."""
    try:
        report(label, measure(*args))
    except Exception as exc:  # noqa: BLE001 - reported, and the benchmark goes on
        report(label, f"{type(exc).__name__}: {' '.join(str(exc).split())[:600]}")


def cold_vs(other: Path, rounds: int, port: int) -> None:
    """
    Cold start -> first map of this checkout (A) and of ``other`` (B, with its own ``.venv``), taking turns
    (A B A B ...), each on a fresh server: both medians and the median of the pairs' ratios A/B, of the
    wall time, of the server's processor time and of the time to the server's first answer.
    """
    python = str(other / ".venv" / "bin" / "python")
    label = "cold start -> first map"
    cpu = f"({label}: the server's cpu per action)"
    answering = "(server answering)"
    figures = (label, cpu, answering)
    seconds: dict[tuple[str, str], list[float]] = {(w, side): [] for w in figures for side in "AB"}
    for _ in range(rounds):
        for side, repo, executable in (("A", REPO, sys.executable), ("B", other, python)):
            for got, value in bench_browser(1, port, frozenset({"cold"}), repo, executable):
                if got not in figures:
                    continue
                if isinstance(value, str):
                    report(f"{label} ({side})", value)
                    return
                seconds[got, side].extend(value)
    for what in figures:
        report(f"{what}, A: this checkout ({REPO})", seconds[what, "A"])
        report(f"{what}, B: {other}", seconds[what, "B"])
        pairs = zip(seconds[what, "A"], seconds[what, "B"], strict=True)
        ratios = [a / b for a, b in pairs]
        ratio = statistics.median(ratios)
        print(f"  ratio A/B, pair by pair: median {ratio:.3f} (n={len(ratios)})", flush=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=3, help="rounds of each change (default 3)")
    parser.add_argument("--port", type=int, default=None, help="port for the app (default: a free one)")
    parser.add_argument("--no-browser", action="store_true", help="only the AppTest measurements")
    parser.add_argument(
        "--steps",
        default=",".join(BROWSER_STEPS + SCRIPT_STEPS),
        help="the steps to measure, comma-separated (default all: %(default)s); the cold start always runs",
    )
    parser.add_argument(
        "--cold-vs",
        type=Path,
        default=None,
        metavar="DIR",
        help="only the cold start, taking turns with the checkout DIR (its .venv), --rounds pairs",
    )
    args = parser.parse_args()
    steps = frozenset(args.steps.split(","))
    unknown = steps - set(BROWSER_STEPS + SCRIPT_STEPS)
    if unknown:
        parser.error(f"unknown steps: {', '.join(sorted(unknown))}")
    os.chdir(REPO)
    print(
        f"machine: {os.cpu_count()} cores, load average {os.getloadavg()[0]:.2f} (1 min) at start", flush=True
    )
    if args.cold_vs is not None:
        cold_vs(args.cold_vs.resolve(), args.rounds, args.port or _free_port())
        print(f"load average {os.getloadavg()[0]:.2f} (1 min) at the end", flush=True)
        return
    if not args.no_browser and steps & set(BROWSER_STEPS):
        if not Path(CHROMIUM).is_file():
            report(
                "browser steps",
                f"Chromium not found at {CHROMIUM}; install it (make system-deps) or pass --no-browser",
            )
        else:
            try:
                for label, seconds in bench_browser(args.rounds, args.port or _free_port(), steps):
                    report(label, seconds)
            except Exception as exc:  # noqa: BLE001 - e.g. Chromium failing to start; the rest still runs
                report("browser steps", f"{type(exc).__name__}: {' '.join(str(exc).split())[:600]}")
    if "script" in steps:
        measured("script rerun after a widget change (AppTest)", bench_script, args.rounds)
    if "plan" in steps:
        measured("Plan: Add to scenario (AppTest)", bench_plan, args.rounds)
    if "suggest" in steps:
        measured("Plan: Suggest sites, 20 places (AppTest)", bench_suggest, args.rounds)
    print(f"load average {os.getloadavg()[0]:.2f} (1 min) at the end", flush=True)


if __name__ == "__main__":
    main()
