"""Counts in the app are written in the plural form of the language (ngettext), in Chromium.

A services file with 1, 3 or 5 rows in error is uploaded in Albanian and in Serbian; the line above the
problem table says how many errors in the form the language uses for that number (Serbian: "1 grešku",
"3 greške", "5 grešaka"; Albanian: "1 gabim", "2 gabime"), never a faked "greške: {n}".

Uses the fixtures of tests/test_browser.py; saves ``test-artifacts/app_plural_*.png``.
"""

from __future__ import annotations

import time
from pathlib import Path

from test_browser import ARTIFACTS, app_url, browser, pytestmark  # noqa: F401 - fixtures
from test_browser_own_data import open_in, upload

from socialmap.i18n import nt, t

SINGULAR = (
    "{file} has {n} error, so nothing is analysed until it is fixed: fix the rows listed "
    "below and upload it again, or choose below to use the demo's {kind} in its place."
)
PLURAL = (
    "{file} has {n} errors, so nothing is analysed until it is fixed: fix the rows listed "
    "below and upload it again, or choose below to use the demo's {kind} in its place."
)


def _bad_services(path: Path, n: int) -> Path:
    rows = ["service_id,name,service_type,capacity,lat,lon"]
    rows += [f"s{i},QPS {i},csw,abc,42.{i + 1},21.1" for i in range(n)]  # capacity 'abc': one error a row
    path.write_text("\n".join(rows) + "\n", encoding="utf-8")
    return path


def _said(n: int, lang: str) -> str:
    """What the app says after the file's name, for ``n`` errors."""
    return nt(SINGULAR, PLURAL, n, lang, file="\x00", n=n, kind=t("services", lang)).split("\x00")[1]


def test_error_counts_take_the_languages_plural_forms(app_url, browser, tmp_path):  # noqa: F811
    assert _said(1, "sr").startswith(" ima 1 grešku, pa se ništa ne analizira dok se ne ispravi:")
    assert _said(3, "sr").startswith(" ima 3 greške, pa se ništa ne analizira dok se ne isprave:")
    assert _said(5, "sr").startswith(" ima 5 grešaka, pa")
    assert _said(1, "sq").startswith(" ka 1 gabim, prandaj") and _said(2, "sq").startswith(" ka 2 gabime,")
    ARTIFACTS.mkdir(exist_ok=True)
    for lang, counts in (("sr", (3, 5)), ("sq", (1, 2))):
        page, _tables, errors = open_in(browser, app_url, lang)
        for n in counts:
            upload(page, t("Services (points)", lang), _bad_services(tmp_path / f"usluge_{lang}_{n}.csv", n))
            deadline = time.monotonic() + 120  # under load the app may answer the upload a little later
            body = ""
            while _said(n, lang) not in body and time.monotonic() < deadline:
                page.wait_for_timeout(500)
                body = page.locator("body").inner_text().replace("\u2060", "")
            assert _said(n, lang) in body, (lang, n)
            page.wait_for_timeout(500)
            page.screenshot(path=str(ARTIFACTS / f"app_plural_{lang}_{n}.png"), full_page=False)
        assert not errors, errors
        page.close()
