"""
The app started by its launcher (``python -m socialmap.serve app.py``, as ``make app`` does) in Chromium.

Its first page, whose analysis the warm-up computed and handed over, shows what the same page shows
when the app is started by ``streamlit run app.py`` (no warm-up): the headline figures, the map's
title, legend, each area's outline and colour, and the service markers, in English, Albanian and
Serbian. Screenshots of the launcher's page in sq and sr go to test-artifacts/.
"""

from __future__ import annotations

import re
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from test_browser import ARTIFACTS, REPO, launch_chromium, map_state, pytestmark, serve_app  # noqa: F401

from socialmap.i18n import LANGUAGES


@pytest.fixture(scope="module")
def launcher_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """The app started as `make app` starts it, on a free port of 127.0.0.1."""
    yield from serve_app(tmp_path_factory, launcher=True)


@pytest.fixture(scope="module")
def plain_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    yield from serve_app(tmp_path_factory)


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    yield from launch_chromium()


def _settled(page: Any) -> bool:
    return (
        page.locator('[data-stale="true"]').count() == 0
        and page.locator('[data-testid="stStatusWidget"]').count() == 0
    )


def first_page(page: Any, timeout_s: float = 120, before: str | None = None) -> dict[str, Any]:
    """
    What the page shows once its map is drawn: headline figures, the map (see ``test_browser.map_state``).

    ``before``: the map's title before a language switch, which the page must no longer show.
    """
    deadline = time.monotonic() + timeout_s
    while True:
        state = map_state(page)
        if state and state["fills"] and state["title"] not in (None, before) and _settled(page):
            break
        assert time.monotonic() < deadline, "the first map was not drawn"
        page.wait_for_timeout(100)
    assert page.locator('[data-testid="stException"]').count() == 0
    assert page.locator('[data-testid="stAlertContentError"]').count() == 0
    return {
        "headline": page.locator('[data-testid="stMetricValue"]').all_inner_texts(),
        "labels": page.locator('[data-testid="stMetricLabel"]').all_inner_texts(),
        # every area's outline and colour, the title, legend, markers and layers (not the frame's own time)
        **{key: value for key, value in state.items() if key != "frame"},
    }


def switch_language(page: Any, lang: str) -> None:
    page.locator(".st-key-lang [role=combobox]").click()
    options = page.get_by_role("option")
    options.first.wait_for()
    options.nth(list(LANGUAGES).index(lang)).click()
    page.wait_for_timeout(300)


def test_the_launchers_first_page_is_the_one_streamlit_run_draws(launcher_url, plain_url, browser):
    pages = {}
    for name, url in (("launcher", launcher_url), ("plain", plain_url)):
        page = browser.new_page(viewport={"width": 1400, "height": 1000})
        page.route(re.compile(r"https?://(?!127\.0\.0\.1).*"), lambda route: route.abort())  # no internet
        page.goto(url)
        pages[name] = page
    shown = {name: first_page(page) for name, page in pages.items()}
    assert shown["launcher"] == shown["plain"]
    assert shown["launcher"]["headline"][0] == "38"  # the municipalities
    for lang in ("sq", "sr"):
        before = shown["launcher"]["title"]
        for page in pages.values():
            switch_language(page, lang)
        shown = {name: first_page(page, before=before) for name, page in pages.items()}
        assert shown["launcher"] == shown["plain"], lang
        ARTIFACTS.mkdir(exist_ok=True)
        pages["launcher"].screenshot(path=str(Path(ARTIFACTS) / f"launcher_first_page_{lang}.png"))
