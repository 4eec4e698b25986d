"""Issue 9: one user's upload never shows in another's session; names with HTML/JS stay text."""

from __future__ import annotations

import subprocess
from pathlib import Path

from test_app import assert_clean, drawn, start

import socialmap
from socialmap.display import plain

REPO = Path(__file__).resolve().parents[1]
PAYLOADS = ('<script>alert("x")</script>', "<img src=x onerror=alert(1)>")


def _services_with(name: str) -> bytes:
    text = (REPO / "data" / "services" / "kosovo_services.csv").read_text(encoding="utf-8")
    header, first, *rest = text.splitlines()
    cols = header.split(",")
    row = first.split(",")
    row[cols.index("name")] = '"' + name.replace('"', '""') + '"'
    return "\n".join([header, ",".join(row), *rest]).encode("utf-8")


def test_two_sessions_side_by_side_do_not_see_each_other():
    a, b = start(), start()
    secret = "Session A private shelter list"
    a.file_uploader(key="upload_services").upload("a_services.csv", _services_with(secret), "text/csv").run()
    assert_clean(a)
    b.run()
    assert_clean(b)
    assert plain("a_services.csv") in a.caption[0].value
    assert plain("a_services.csv") not in b.caption[0].value and "142 services" in b.caption[0].value
    assert secret not in drawn(b)
    # a third session that starts after both still gets the demo
    c = start()
    assert plain("a_services.csv") not in c.caption[0].value and secret not in drawn(c)


def test_html_in_an_uploaded_name_is_drawn_as_text():
    at = start()
    data = _services_with(PAYLOADS[0] + " " + PAYLOADS[1])
    at.file_uploader(key="upload_services").upload("services.csv", data, "text/csv").run()
    assert_clean(at)
    page = drawn(at)
    for payload in PAYLOADS:
        assert payload not in page
        assert payload.replace('"', '\\"') not in page  # not even inside a JSON string


def test_html_in_an_area_name_is_text_in_the_brief(tmp_path):
    demo = socialmap.load_demo("kosovo")
    areas = demo.areas.copy()
    areas.loc[areas["area_id"] == "20", ["name", "name_en", "name_sq"]] = PAYLOADS[1]
    result = socialmap.analyze(
        areas,
        demo.services,
        demo.population,
        taxonomy=demo.taxonomy,
        method="coverage",
        service_types=("csw",),
    )
    from socialmap.report import brief

    pdf = brief(result, area="20", path=tmp_path / "brief.pdf")
    text = subprocess.run(["pdftotext", str(pdf), "-"], capture_output=True, text=True, check=True).stdout
    assert "<img src=x onerror=alert(1)>" in text  # shown literally, not interpreted as markup
