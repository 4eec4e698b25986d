"""The CLI's map.html in Chromium: every public service of the demo is a marker with its tooltip and popup.

The services are drawn in the browser from one data array per service type (``FastMarkerCluster``), so
this checks what the page makes of them: the markers Leaflet holds, each at a demo service's place,
with the service's name, type, capacity and provider in the reader's language, and that a popup opens.
"""

from __future__ import annotations

import html
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from test_browser import ARTIFACTS, browser, pytestmark  # noqa: F401 - fixture and skip marks

import socialmap

SOCIALMAP = str(Path(sys.executable).with_name("socialmap"))

#: Every marker of every cluster group on the page: [lat, lng, tooltip, popup].
MARKERS_JS = """() => {
  const rows = [];
  for (const key of Object.keys(window)) {
    if (!key.startsWith('fast_marker_cluster_')) continue;
    for (const m of window[key].getLayers()) {
      const ll = m.getLatLng();
      rows.push([ll.lat, ll.lng, m.getTooltip().getContent(), m.getPopup().getContent()]);
    }
  }
  return rows;
}"""

#: Open the popup of the first marker of the first group (zooming in until it is out of its cluster).
OPEN_POPUP_JS = """() => new Promise((done) => {
  const key = Object.keys(window).find((k) => k.startsWith('fast_marker_cluster_'));
  const group = window[key];
  const marker = group.getLayers()[0];
  group.zoomToShowLayer(marker, () => { marker.openPopup(); done(marker.getLatLng()); });
})"""

WORDS = {
    "sq": {"capacity": "Kapaciteti (persona njëkohësisht)", "unknown": "i panjohur", "public": "publik"},
    "sr": {"capacity": "Kapacitet (osoba istovremeno)", "unknown": "nepoznato", "public": "javni"},
}


@pytest.mark.parametrize("lang", ["sq", "sr"])
def test_cli_map_shows_every_public_service_with_its_popup(browser: Any, tmp_path: Path, lang: str) -> None:  # noqa: F811
    out = tmp_path / "results"
    subprocess.run([SOCIALMAP, "analyze", "--demo", "kosovo", "--lang", lang, "--out", str(out)], check=True)
    demo = socialmap.load_demo("kosovo")
    sensitive = set(demo.taxonomy.sensitive_service_types)
    public = demo.services[~demo.services["service_type"].isin(sensitive)].to_crs("EPSG:4326")
    page = browser.new_page(viewport={"width": 1000, "height": 700})
    errors: list[str] = []
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    page.goto((out / "map.html").as_uri())
    page.wait_for_function("document.querySelectorAll('path.leaflet-interactive').length === 38")
    markers = page.evaluate(MARKERS_JS)
    assert len(markers) == len(public) > 0
    rows = zip(public.geometry, public.iterrows(), strict=True)
    places = {(round(g.y, 6), round(g.x, 6)): row for g, (_, row) in rows}
    words = WORDS[lang]
    for lat, lng, tooltip, popup in markers:
        service = places[(round(lat, 6), round(lng, 6))]
        name = html.escape(service[f"name_{lang}"])
        label = html.escape(demo.taxonomy.label(service["service_type"], lang))
        assert tooltip == f"{name} ({label})"
        capacity = "" if service["capacity"] != service["capacity"] else f"{service['capacity']:,.0f}"
        capacity = capacity.replace(",", ".") or words["unknown"]
        assert popup.startswith(f"<b>{name}</b><br>{label}<br>{words['capacity']}: {capacity}<br>")
        if service["provider"] == "public":
            assert popup.endswith(f": {words['public']}")
    assert page.locator(".socialmap-cluster").count() > 0
    page.screenshot(path=str(ARTIFACTS / f"cli_map_{lang}.png"))
    page.evaluate(OPEN_POPUP_JS)
    page.wait_for_selector(".leaflet-popup-content")
    shown = page.locator(".leaflet-popup-content").inner_text()
    assert words["capacity"] in shown
    page.wait_for_timeout(400)  # the popup fades in
    page.screenshot(path=str(ARTIFACTS / f"cli_map_popup_{lang}.png"))
    assert not errors, errors
    page.close()
