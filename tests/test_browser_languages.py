"""The app in English, Albanian and Serbian in a real browser, as a planner uses it (issue #15).

``streamlit run app.py`` on 127.0.0.1 (one server for the module), driven by headless Chromium:

- for each language: switch to it *in the session* (not at start), change every widget of the
  sidebar and open every tab; no exception on the page, and in Albanian and Serbian no English
  message of the catalogs visible; then switch the language back and forth and find every choice
  (and the open tab) kept, shown in the language;
- the Albanian ranking as the browser receives it (the cells Streamlit draws) and its CSV
  download: decimal commas, no float noise; the Albanian brief downloaded from the app has the
  same text as the CLI's;
- screenshots of the Albanian map, ranking, profile and plan tabs at 1,400 and 390 px wide in
  ``test-artifacts/``.

AppTest alone never caught the language switch crashing (Streamlit keeps a choice's label in the
browser), hence these tests.
"""

from __future__ import annotations

import re
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from test_app_languages import _english_patterns
from test_browser import ARTIFACTS, FRAME, REPO, launch_chromium, pytestmark, serve_app  # noqa: F401

import socialmap
from socialmap import views
from socialmap.i18n import LANGUAGES, t

TAX = socialmap.load_demo("kosovo").taxonomy
#: The choices made in the sidebar: widget key → (kind, value chosen).
CHOICES: dict[str, tuple[str, Any]] = {
    "method": ("radio", "e2sfca"),
    "catchment_km": ("slider", +1),
    "spreading": ("radio", "representative"),
    "target_group": ("select", "older_people_65plus"),
    "service_type": ("select", "home_care_elderly"),
    "metric": ("select", "covered_share"),
    "scheme": ("select", "natural_breaks"),
    "k": ("slider", -1),
    "basemap": ("radio", "osm"),
}
#: Options of each choice widget, in the app's order (from the functions the app uses).
OPTIONS: dict[str, list[Any]] = {
    "method": ["coverage", "2sfca", "e2sfca"],
    "spreading": ["representative", "grid"],
    "target_group": views.target_group_options(TAX),
    "service_type": views.service_type_options(TAX, "older_people_65plus"),
    "metric": list(views.METRICS),
    "scheme": ["quantiles", "natural_breaks", "fisher_jenks", "equal_interval"],
    "basemap": ["plain", "osm"],
}
SCHEMES = {"natural_breaks": "Natural breaks"}
BASEMAPS = {"osm": "OpenStreetMap (needs internet)"}
TABS = ["Map", "Ranking", "Municipality profile", "Plan", "About"]


def label(key: str, value: Any, lang: str) -> str:
    """What the widget ``key`` shows for ``value`` in ``lang`` (worked out from the catalogs)."""
    if key in ("target_group", "service_type"):
        return views.choice_label(value, TAX, lang)
    if key == "metric":
        return views.label(value, lang)
    if key == "method":
        return t(views.METHOD_LABELS[value], lang)
    if key == "spreading":
        return t(views.SPREADING_LABELS[value], lang)
    if key == "scheme":
        return t(SCHEMES[value], lang)
    return t(BASEMAPS[value], lang)


@pytest.fixture(scope="module", name="app_url")
def _app_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    yield from serve_app(tmp_path_factory)  # one server for the whole module


@pytest.fixture(scope="module", name="browser")
def _browser() -> Iterator[Any]:
    yield from launch_chromium()


# ---- driving the page ---------------------------------------------------------------------------


def settle(page: Any, timeout_ms: int = 60_000) -> None:
    """Wait until the app's script has run to its end after an action."""
    page.wait_for_timeout(200)
    page.wait_for_function(
        "() => document.querySelector('[data-testid=stApp]').dataset.testScriptState === 'notRunning'",
        timeout=timeout_ms,
    )


def assert_no_exception(page: Any, errors: list[str]) -> None:
    shown = page.locator('[data-testid="stException"]')
    assert shown.count() == 0, shown.first.inner_text()[:2000]
    assert page.locator('[data-testid="stAlertContentError"]').count() == 0
    assert not errors, errors


def open_page(browser: Any, app_url: str, width: int = 1400, height: int = 1400) -> tuple[Any, list[str]]:
    page = browser.new_page(viewport={"width": width, "height": height})
    errors: list[str] = []
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    page.route(re.compile(r"https?://(?!127\.0\.0\.1).*"), lambda route: route.abort())  # no internet
    page.goto(app_url)
    page.locator(FRAME).wait_for(timeout=60_000)
    settle(page)
    return page, errors


def choose(page: Any, key: str, index: int) -> list[str]:
    """Pick the option at ``index`` of the selectbox ``key``; return the options it listed."""
    page.locator(f".st-key-{key} [role=combobox]").click()
    options = page.get_by_role("option")
    options.first.wait_for()
    texts = options.all_inner_texts()
    options.nth(index).click()
    settle(page)
    return texts


def switch_language(page: Any, lang: str) -> None:
    choose(page, "lang", list(LANGUAGES).index(lang))


def set_choice(page: Any, key: str) -> list[str]:
    kind, value = CHOICES[key]
    if kind == "select":
        return choose(page, key, OPTIONS[key].index(value))
    if kind == "radio":
        page.locator(f".st-key-{key} [role=radiogroup] label").nth(OPTIONS[key].index(value)).click()
    else:
        page.locator(f".st-key-{key} input[type=range]").press("ArrowRight" if value > 0 else "ArrowLeft")
    settle(page)
    return []


def shown_choices(page: Any) -> dict[str, str]:
    """What each sidebar widget shows now: the selected label, or the slider's value."""
    out = {}
    for key, (kind, _) in CHOICES.items():
        widget = page.locator(f".st-key-{key}")
        if kind == "select":
            out[key] = widget.locator("[role=combobox]").input_value()
        elif kind == "radio":
            checked = widget.locator("label:has(input:checked)")
            out[key] = checked.inner_text().strip() if checked.count() == 1 else f"{checked.count()} checked"
        else:
            out[key] = widget.locator("input[type=range]").input_value()
    return out


def expected_choices(lang: str) -> dict[str, str]:
    out = {}
    for key, (kind, value) in CHOICES.items():
        if kind == "slider":
            out[key] = str({"catchment_km": 10, "k": 5}[key] + value)
        else:
            out[key] = label(key, value, lang)
    return out


def visible_texts(page: Any) -> list[str]:
    """Every line of text on screen: the page, and the map's title, legend and note."""
    lines = page.locator('[data-testid="stApp"]').inner_text().splitlines()
    for element in page.query_selector_all(FRAME):
        frame = element.content_frame()
        if frame is not None:
            for part in frame.query_selector_all(
                ".socialmap-title, .socialmap-legend, .socialmap-note, .socialmap-demo"
            ):
                lines += part.inner_text().splitlines()
    # the tables' cells as Streamlit writes them for screen readers (the grid itself is a canvas)
    lines += page.locator('[data-testid="stDataFrame"] td').all_inner_texts()
    return [line.strip() for line in lines if line.strip()]


def english_left(texts: list[str], lang: str) -> list[str]:
    plain, templates = _english_patterns(lang)
    return sorted({s for s in texts if s in plain or any(p.match(s) for p in templates)})


# ---- every widget, every tab, in each language ---------------------------------------------------


@pytest.mark.parametrize("lang", list(LANGUAGES))
def test_every_widget_and_tab_after_a_language_switch_in_the_session(app_url, browser, lang):
    page, errors = open_page(browser, app_url)
    if lang == "en":
        switch_language(page, "sq")  # "in the session": from another language back to English
    switch_language(page, lang)
    assert_no_exception(page, errors)
    # Streamlit's own words: no developer menu or Deploy button; the upload widget in the language
    assert page.locator('[data-testid="stMainMenu"]').count() == 0
    assert page.get_by_text("Deploy", exact=True).count() == 0
    page.locator('[data-testid="stSidebar"] [data-testid="stExpander"] summary').first.click()
    uploads = page.locator('[data-testid="stFileUploader"]')
    uploads.first.wait_for()
    # Streamlit 1.67 has no option for these words: the app's CSS hides them and writes its own
    drawn = uploads.first.evaluate(
        """e => {
            const p = e.querySelector('button [data-testid="stMarkdownContainer"] p');
            const size = e.querySelector('[data-testid="stFileUploaderDropzoneInstructions"]');
            return {word: getComputedStyle(p, '::after').content, own: getComputedStyle(p).fontSize,
                    size: getComputedStyle(size).display};
        }"""
    )
    assert drawn == {"word": f'"{t("Choose a file", lang)}"', "own": "0px", "size": "none"}, drawn
    assert "MB per file •" not in page.locator('[data-testid="stSidebar"]').inner_text()  # Streamlit's line
    page.locator('[data-testid="stSidebar"] [data-testid="stExpander"] summary').first.click()  # closed again
    seen = visible_texts(page)
    for key in CHOICES:
        seen += set_choice(page, key)  # the options listed count as seen
        assert_no_exception(page, errors)
    seen += visible_texts(page)
    for index in (1, 2, 3, 4, 0):
        page.get_by_role("tab").nth(index).click()
        settle(page)
        assert_no_exception(page, errors)
        seen += visible_texts(page)
    assert shown_choices(page) == expected_choices(lang)
    assert not {"None", "nan", "NaN", "<NA>"} & set(seen)  # a missing value shows as "–"
    if lang != "en":
        assert not english_left(seen, lang), f"English text in the {lang} app"

    # Back and forth with the Ranking tab open: every choice and the tab are kept.
    page.get_by_role("tab").nth(1).click()
    settle(page)
    for other in ("sr" if lang == "sq" else "sq", lang):
        switch_language(page, other)
        assert_no_exception(page, errors)
        assert shown_choices(page) == expected_choices(other)
        assert page.get_by_role("tab").nth(1).get_attribute("aria-selected") == "true"
        assert page.get_by_role("tab").nth(1).inner_text() == t(TABS[1], other)
    page.close()


# ---- the Albanian ranking, its CSV and the brief -------------------------------------------------


def dataframes_received(page: Any) -> list[tuple[Any, Any]]:
    """Start recording the tables Streamlit sends to the page: (data, display values) frames."""
    import pyarrow as pa
    from streamlit.proto.ForwardMsg_pb2 import ForwardMsg

    tables: list[tuple[Any, Any]] = []

    def frame(payload: Any) -> None:
        if not isinstance(payload, bytes):
            return
        msg = ForwardMsg.FromString(payload)
        if msg.WhichOneof("type") != "delta" or msg.delta.WhichOneof("type") != "new_element":
            return
        element = msg.delta.new_element
        if element.WhichOneof("type") != "dataframe":
            return
        arrow = element.dataframe.arrow_data
        shown = arrow.styler.display_values
        data = pa.ipc.open_stream(arrow.data).read_pandas()
        tables.append((data, pa.ipc.open_stream(shown).read_pandas() if shown else None))

    page.on("websocket", lambda ws: ws.on("framereceived", frame))
    return tables


def test_albanian_ranking_and_csv_have_decimal_commas_and_no_float_noise(app_url, browser, tmp_path):
    page = browser.new_page(viewport={"width": 1400, "height": 1400})
    tables = dataframes_received(page)  # before the page opens its connection
    errors: list[str] = []
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    page.goto(app_url)
    page.locator(FRAME).wait_for(timeout=60_000)
    settle(page)
    switch_language(page, "sq")
    choose(page, "service_type", views.service_type_options(TAX).index("home_care_elderly"))
    page.get_by_role("tab").nth(1).click()
    settle(page)
    assert_no_exception(page, errors)
    data, shown = next(
        (d, s) for d, s in reversed(tables) if t("Need (persons)", "sq") in d.columns and s is not None
    )
    assert len(shown) == 38
    gap, need, access = (
        t("Gap score (%)", "sq"),
        t("Need (persons)", "sq"),
        t("Places per person in need", "sq"),
    )
    cells = [str(v) for col in (gap, need, access) for v in shown[col]]
    assert all(re.fullmatch(r"\d{1,3}(\.\d{3})*(,\d+)?|–", c) for c in cells), cells
    assert all(re.fullmatch(r"\d{1,3},\d", c) for c in shown[gap] if c != "–")  # 98,5: one decimal
    assert any("." in c for c in shown[need])  # thousands grouped with a point (12.345)
    assert all(re.fullmatch(r"0,\d{4}|–", c) for c in shown[access])
    # the numbers behind the cells (what a screen reader reads) are rounded as shown
    assert all(len(f"{v}".split(".")[-1]) <= 1 for v in data[gap].dropna())
    # the same table on screen, as drawn for a screen reader: no float noise there either
    page.locator('[data-testid="stDataFrame"] td').first.wait_for(state="attached")
    a11y = page.locator('[data-testid="stDataFrame"] td').all_inner_texts()
    assert a11y and not [c for c in a11y if re.search(r"\d[.,]\d{5,}", c)]

    with page.expect_download() as download:
        page.locator(".st-key-download_ranking_csv button").click()
    path = tmp_path / "ranking.csv"
    download.value.save_as(path)
    text = path.read_bytes().decode("utf-8-sig")
    lines = text.splitlines()
    heads = [t(c, "sq") for c in ("Rank", "Municipality", "Gap score (%)", "Population")]
    assert len(lines) == 39 and lines[0].split(";")[:4] == heads
    numbers = re.findall(r"(?<=;)-?\d[\d,]*(?=;|$)", text, flags=re.MULTILINE)
    assert numbers and any("," in n for n in numbers)  # decimal commas
    assert not re.search(r"\d\.\d", "\n".join(lines[1:]))  # no decimal point (the header says 10.000)
    assert not [n for n in numbers if "," in n and len(n.split(",")[1]) > 4]  # no float noise
    page.close()


def pdf_text(path: Path) -> str:
    return subprocess.run(
        ["pdftotext", "-layout", str(path), "-"], capture_output=True, text=True, check=True
    ).stdout


def test_albanian_brief_from_the_app_is_the_clis(app_url, browser, tmp_path):
    page, errors = open_page(browser, app_url)
    switch_language(page, "sq")
    page.get_by_role("tab").nth(2).click()
    settle(page)
    names = views.area_options(socialmap.analyze(demo="kosovo"), "sq")
    choose(page, "profile_area", list(names).index("02"))  # Gjakovë
    assert page.locator('[data-testid="stHeading"]').filter(has_text="Gjakovë").count() >= 1
    with page.expect_download(timeout=60_000) as download:
        page.locator(".st-key-download_brief button").click()
    app_pdf = tmp_path / "app.pdf"
    download.value.save_as(app_pdf)
    assert_no_exception(page, errors)
    page.close()
    cli_pdf = tmp_path / "cli.pdf"
    done = subprocess.run(
        [sys.executable, "-m", "socialmap.cli", "brief", "--demo", "kosovo", "--area", "Gjakova"]
        + ["--lang", "sq", "--out", str(cli_pdf)],
        cwd=REPO,
        capture_output=True,
        text=True,
    )
    assert done.returncode == 0, done.stderr
    app_text, cli_text = pdf_text(app_pdf), pdf_text(cli_pdf)
    assert "Gjakovë: shërbimet sociale" in app_text
    assert "Të dhëna demonstruese: 104 nga 142 shërbimet janë të sajuara" in " ".join(app_text.split())
    assert app_text == cli_text


# ---- screenshots ---------------------------------------------------------------------------------


@pytest.mark.parametrize("width", [1400, 390])
def test_albanian_screenshots_of_map_ranking_profile_plan_and_about(app_url, browser, width):
    page, errors = open_page(browser, app_url, width=width, height=2200)
    if width < 640:  # the sidebar is a drawer on a phone: open it, choose, close it
        page.locator('[data-testid="stExpandSidebarButton"]').click()
    switch_language(page, "sq")
    choose(page, "service_type", views.service_type_options(TAX).index("home_care_elderly"))
    if width < 640:
        page.locator('[data-testid="stSidebarCollapseButton"] button').click()
        page.wait_for_timeout(500)
    ARTIFACTS.mkdir(exist_ok=True)
    for index, name in ((0, "map"), (1, "ranking"), (2, "profile"), (3, "plan"), (4, "about")):
        page.get_by_role("tab").nth(index).click()
        settle(page)
        if index in (0, 3):
            page.locator(f"{FRAME} >> visible=true").first.wait_for()
            page.wait_for_timeout(1500)  # the map's animations
        if index == 2:
            page.locator(
                '[data-testid="stVegaLiteChart"] canvas, [data-testid="stVegaLiteChart"] svg'
            ).first.wait_for()
        if index in (1, 2):  # the table's grid is drawn once its cells are laid out
            page.locator('[data-testid="stDataFrame"] td').first.wait_for(state="attached")
            page.wait_for_timeout(500)
        assert_no_exception(page, errors)
        page.screenshot(path=str(ARTIFACTS / f"sq_{name}_{width}.png"), full_page=True)
    if width < 640:  # on a phone the map's boxes sit apart: none covers another
        page.get_by_role("tab").nth(0).click()
        settle(page)
        frame = page.locator(f"{FRAME} >> visible=true").first.content_frame
        boxes = {
            name: frame.locator(selector).first.bounding_box()
            for name, selector in (
                ("title", ".socialmap-title"),
                ("legend", ".socialmap-legend"),
                ("note", ".socialmap-note"),
                ("scale", ".leaflet-control-scale"),
                ("layers", ".leaflet-control-layers"),
                ("zoom", ".leaflet-control-zoom"),
            )
        }
        assert all(boxes.values()), boxes
        names = list(boxes)
        for i, a in enumerate(names):
            for b in names[i + 1 :]:
                assert not overlap(boxes[a], boxes[b]), (a, b, boxes[a], boxes[b])
        map_box = page.locator(f"{FRAME} >> visible=true").first.bounding_box()
        legend = boxes["legend"]
        assert legend["width"] * legend["height"] < 0.15 * map_box["width"] * map_box["height"]
    page.close()


def overlap(a: dict[str, float], b: dict[str, float]) -> bool:
    return not (
        a["x"] + a["width"] <= b["x"]
        or b["x"] + b["width"] <= a["x"]
        or a["y"] + a["height"] <= b["y"]
        or b["y"] + b["height"] <= a["y"]
    )
