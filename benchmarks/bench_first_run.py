"""How long a first run takes: from `git clone` to the app's page with its map, as the README says to start.

Each run clones this repository into a temporary folder, runs `make app` there (which creates the virtual
environment, installs the library and the app extras with uv, fetches the map libraries with npm and starts
Streamlit), and opens the page in headless Chromium until the first map is drawn (38 municipalities).
It prints the time to the clone, to the server answering, and to the map, and the machine's load.

The package caches (uv's, npm's) are what they are on this machine: run it twice and the second run is
with a warm cache, as the README's figure is. Streamlit listens on 127.0.0.1 only
(``STREAMLIT_SERVER_ADDRESS``). Needs Chromium and this environment's Playwright (``make test`` installs it).

    .venv/bin/python benchmarks/bench_first_run.py                 # one run on a free port
    .venv/bin/python benchmarks/bench_first_run.py --runs 2 --port 8765
"""

from __future__ import annotations

import argparse
import os
import signal
import socket
import subprocess
import tempfile
import time
import urllib.error
import urllib.request
from pathlib import Path

from bench_app import CHROMIUM, CHROMIUM_ARGS, map_state

REPO = Path(__file__).resolve().parents[1]


def load() -> str:
    return " ".join(f"{x:.2f}" for x in os.getloadavg())


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def one_run(port: int, timeout: float) -> tuple[float, float, float]:
    from playwright.sync_api import sync_playwright

    url = f"http://127.0.0.1:{port}"
    with tempfile.TemporaryDirectory(prefix="socialmap-first-run-") as tmp:
        clone = Path(tmp) / "socialmap"
        log = Path(tmp) / "make.log"
        t0 = time.perf_counter()
        subprocess.run(["git", "clone", "--quiet", str(REPO), str(clone)], check=True)
        t_clone = time.perf_counter() - t0
        env = dict(os.environ, STREAMLIT_SERVER_ADDRESS="127.0.0.1")
        with log.open("wb") as out:
            make = subprocess.Popen(
                ["make", "app", f"PORT={port}"],
                cwd=clone,
                stdout=out,
                stderr=subprocess.STDOUT,
                env=env,
                start_new_session=True,
            )
        try:
            while True:
                try:
                    with urllib.request.urlopen(f"{url}/_stcore/health", timeout=2) as answer:
                        if answer.read() == b"ok":
                            break
                except (urllib.error.URLError, OSError):
                    pass
                if make.poll() is not None or time.perf_counter() - t0 > timeout:
                    raise SystemExit(f"`make app` did not serve the app:\n{log.read_text(errors='replace')}")
                time.sleep(0.1)
            t_server = time.perf_counter() - t0
            with sync_playwright() as pw:
                browser = pw.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
                page = browser.new_page(viewport={"width": 1400, "height": 1000})
                page.goto(url)
                while True:
                    state = map_state(page)
                    if state and state["n"] == 38:
                        break
                    if time.perf_counter() - t0 > timeout:
                        raise SystemExit("no map on the page in time")
                    page.wait_for_timeout(20)
                t_page = time.perf_counter() - t0
                browser.close()
        finally:
            os.killpg(make.pid, signal.SIGTERM)
            try:
                make.wait(timeout=15)
            except subprocess.TimeoutExpired:
                os.killpg(make.pid, signal.SIGKILL)
    return t_clone, t_server, t_page


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--port", type=int, default=None, help="port for the app (default: a free one)")
    parser.add_argument("--runs", type=int, default=1)
    parser.add_argument("--timeout", type=float, default=900.0, help="seconds allowed for one run")
    args = parser.parse_args()
    print(f"first run: git clone -> make app -> map on the page; {os.cpu_count()} cores; load {load()}")
    for run in range(1, args.runs + 1):
        port = args.port or free_port()
        t_clone, t_server, t_page = one_run(port, args.timeout)
        verdict = "met" if t_page <= 60 else "NOT met"
        print(
            f"run {run}: clone {t_clone:.1f} s, server answering at {t_server:.1f} s (venv, install, map "
            f"libraries, Streamlit), map drawn at {t_page:.1f} s; target <= 60 s: {verdict}  load {load()}"
        )


if __name__ == "__main__":
    main()
