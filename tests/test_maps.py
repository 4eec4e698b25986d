"""Tests of the folium maps: choropleth classes and colours, legend, tooltips, escaping, services, saving."""

from __future__ import annotations

import html
import json
import os
import re
import stat
from pathlib import Path

import geopandas as gpd
import numpy as np
import pytest
import shapely
from geopandas.testing import assert_geodataframe_equal
from shapely.geometry import Point, box

from socialmap import maps
from socialmap.errors import CRSError, SocialMapError

X0, Y0, SIDE = 500_000.0, 4_700_000.0, 1_000.0  # EPSG:32634, near Prishtina
XSS_SCRIPT = "<script>alert(1)</script>"
XSS_IMG = "<img src=x onerror=alert(1)>"
XSS_TEMPLATE = "`${alert(1)}`"
# Light and dark ends of ColorBrewer YlOrRd (3 classes): the colours of 2 classes, low and high.
LOW, HIGH = "#ffeda0", "#f03b20"


def grid(values: list[float], names: list[str] | None = None) -> gpd.GeoDataFrame:
    """2×2 squares of 1 km, in the order a (SW), b (SE), c (NW), d (NE)."""
    corners = [(X0 + i * SIDE, Y0 + j * SIDE) for j in (0, 1) for i in (0, 1)]
    squares = [box(x, y, x + SIDE, y + SIDE) for x, y in corners]
    return gpd.GeoDataFrame(
        {
            "area_id": ["a", "b", "c", "d"],
            "name": names or ["Alpha", "Beta", "Gamma", "Delta"],
            "need": [1234.5, 20.0, np.nan, 4.0],
            "supply": [10, 0, 3, 1234],
            "value": values,
        },
        geometry=squares,
        crs="EPSG:32634",
    )


def services(names: list[str] | None = None, types: list[str] | None = None) -> gpd.GeoDataFrame:
    return gpd.GeoDataFrame(
        {
            "service_id": ["s1", "s2", "s3"],
            "name": names or ["Day care 1", "Day care 2", "Shelter"],
            "service_type": types or ["day_care", "day_care", "shelter"],
            "capacity": [20.0, np.nan, 8.0],
        },
        geometry=[Point(X0 + 500, Y0 + 500), Point(X0 + 520, Y0 + 510), Point(X0 + 1500, Y0 + 1500)],
        crs="EPSG:32634",
    )


@pytest.fixture(autouse=True)
def _english(monkeypatch):
    """Maps drawn without ``lang`` are in the default language: English here, whatever the machine's."""
    monkeypatch.setenv("SOCIALMAP_LANG", "en")


class _Labels:
    """A stand-in taxonomy: labels of the two service types of :func:`services`."""

    service_types = {"day_care": None, "shelter": None}
    _labels = {"sq": {"day_care": "Qendër ditore", "shelter": "Strehimore"}}

    def label(self, key, lang):
        return self._labels.get(lang, {}).get(key, key)


def render(fmap) -> str:
    return fmap.get_root().render()


def unicode_decoded(page: str) -> str:
    """The page with JSON's \\uXXXX escapes turned back into characters (what the browser's JS sees)."""
    return re.sub(r"\\u([0-9a-fA-F]{4})", lambda m: chr(int(m.group(1), 16)), page)


def features(page: str) -> list[dict]:
    start = page.index('_add({"') + len("_add(")
    return json.JSONDecoder().raw_decode(page, start)[0]["features"]


def tooltip_aliases(page: str) -> list[str]:
    return json.loads(re.search(r"let aliases = (\[.*?\]);", page).group(1))


def legend(page: str) -> str:
    start = page.index('<div class="socialmap-legend"')
    return page[start : page.index("</details></div>", start)]


def walk(element):
    yield element
    for child in element._children.values():
        yield from walk(child)


def geojson_layer(fmap):
    import folium

    return next(e for e in walk(fmap) if isinstance(e, folium.GeoJson))


# --- classes, colours, legend -------------------------------------------------------------------


def test_one_feature_per_area_coloured_by_hand_worked_quantile_classes():
    # values 1..4, k=2 quantiles: median 2.5 -> {1, 2} low, {3, 4} high
    fmap = maps.choropleth_map(grid([1.0, 2.0, 3.0, 4.0]), "value", k=2)
    page = render(fmap)
    feats = features(page)
    assert len(feats) == 4
    assert [f["properties"]["fill"] for f in feats] == [LOW, LOW, HIGH, HIGH]
    assert [f["properties"]["class"] for f in feats] == [0, 0, 1, 1]
    style = geojson_layer(fmap).style_function
    assert [style(f)["fillColor"] for f in feats] == [LOW, LOW, HIGH, HIGH]
    assert f'"fillColor": "{LOW}"' in page and f'"fillColor": "{HIGH}"' in page
    text = legend(page)
    assert "1.0 – 2.5" in text and "2.5 – 4.0" in text
    assert text.index("1.0 – 2.5") < text.index("2.5 – 4.0")
    assert "no data" not in text


def test_nan_is_no_data_in_grey_and_in_the_legend():
    # 1, 2, 3 with k=2 quantiles: median 2.0 -> {1, 2} low, {3} high; d has no value
    page = render(maps.choropleth_map(grid([1.0, 2.0, 3.0, np.nan]), "value", k=2))
    feats = features(page)
    assert [f["properties"]["fill"] for f in feats] == [LOW, LOW, HIGH, maps.NO_DATA_COLOUR]
    assert feats[3]["properties"]["class"] is None
    text = legend(page)
    assert "1.0 – 2.0" in text and "2.0 – 3.0" in text
    assert maps.NO_DATA_COLOUR in text and "no data" in text


def test_infinite_values_and_all_missing_are_no_data():
    page = render(maps.choropleth_map(grid([1.0, np.inf, 3.0, 4.0]), "value", k=2))
    assert features(page)[1]["properties"]["fill"] == maps.NO_DATA_COLOUR
    page = render(maps.choropleth_map(grid([np.nan] * 4), "value"))
    assert {f["properties"]["fill"] for f in features(page)} == {maps.NO_DATA_COLOUR}
    assert "no data" in legend(page)


def test_fewer_distinct_values_than_k_use_fewer_colours_and_palette_is_chosen():
    page = render(maps.choropleth_map(grid([5.0, 5.0, 7.0, 7.0]), "value", k=5, colormap="Blues"))
    fills = [f["properties"]["fill"] for f in features(page)]
    assert fills[0] == fills[1] != fills[2] == fills[3]
    assert legend(page).count("background:#") == 2


def test_legend_title_labels_and_value_format():
    areas = grid([0.25, 0.5, 0.75, 1.0])
    page = render(maps.choropleth_map(areas, "value", k=2, labels={"value": "Gap score"}))
    assert "Gap score" in legend(page)
    page = render(maps.choropleth_map(areas, "value", k=2, legend_title="gap (%)", value_format="{:.0%}"))
    text = legend(page)
    assert "gap (%)" in text and "25% – 62%" in text and "62% – 100%" in text


def test_tooltips_show_name_and_columns_formatted_with_labels():
    page = render(
        maps.choropleth_map(
            grid([1.0, 2.345, np.nan, 4.0]),
            "value",
            k=2,
            tooltip_columns=("name", "need", "supply"),
            labels={"need": "Persons in need", "value": "Gap score"},
        )
    )
    aliases = tooltip_aliases(unicode_decoded(page))
    assert aliases == ["Municipality", "Persons in need", "Places (known capacity)", "Gap score"]
    rows = [[f["properties"][f"t{i}"] for i in range(4)] for f in features(page)]
    assert rows == [
        ["Alpha", "1,234.5", "10", "1.0"],
        ["Beta", "20.0", "0", "2.3"],
        ["Gamma", "–", "3", "–"],
        ["Delta", "4.0", "1,234", "4.0"],
    ]


# --- escaping -------------------------------------------------------------------------------------


def test_hostile_text_appears_only_escaped():
    areas = grid([1.0, 2.0, 3.0, 4.0], names=[XSS_SCRIPT, XSS_IMG, XSS_TEMPLATE, "Delta"])
    areas = areas.rename(columns={"need": XSS_IMG})
    page = render(
        maps.choropleth_map(
            areas,
            "value",
            k=2,
            services=services(names=[XSS_SCRIPT, XSS_TEMPLATE, "ok"], types=[XSS_IMG, XSS_IMG, "shelter"]),
            tooltip_columns=("name", XSS_IMG),
            labels={"value": XSS_SCRIPT},
            title=XSS_IMG,
            legend_title=XSS_SCRIPT,
            attribution=f"{XSS_SCRIPT} {{{{ 7*7 }}}}",
        )
    )
    decoded = unicode_decoded(page)
    for payload in (XSS_SCRIPT, XSS_IMG, "${alert(1)}", "<script>alert", "<img src=x"):
        assert payload not in page
        assert payload not in decoded
    # The escaped forms are there, and text read as a template is not evaluated (no 49).
    assert html.escape(XSS_SCRIPT) in page and html.escape(XSS_IMG) in page
    assert html.escape(XSS_SCRIPT) in legend(page)
    names = [f["properties"]["t0"] for f in features(page)]
    assert names[:2] == [html.escape(XSS_SCRIPT), html.escape(XSS_IMG)]
    assert "{{ 7*7 }}" in html.unescape(page)


def test_areas_map_still_draws_and_escapes():
    page = render(
        maps.areas_map(
            grid([1.0, 2.0, 3.0, 4.0], names=[XSS_SCRIPT, "B", "C", "D"]),
            services(names=[XSS_TEMPLATE, "b", "c"]),
            attribution="{{ 7*7 }} schematic boundaries",
        )
    )
    assert len(features(page)) == 4
    decoded = unicode_decoded(page)
    assert XSS_SCRIPT not in decoded and "${alert(1)}" not in decoded
    assert "{{ 7*7 }} schematic boundaries" in html.unescape(page)


# --- languages ------------------------------------------------------------------------------------


def test_choropleth_in_albanian_texts_names_numbers_and_service_types():
    from socialmap.datasets import SCHEMATIC_ATTRIBUTION

    areas = grid([1.0, 2.345, np.nan, 4.0]).assign(name_sq=["Alfa", None, "Gama", "Delta"])
    page = render(
        maps.choropleth_map(
            areas,
            "value",
            k=2,
            services=services(),
            tooltip_columns=("name", "need", "supply"),
            labels={"value": "Vlera"},
            attribution=f"{SCHEMATIC_ATTRIBUTION}; population 2024",
            lang="sq",
            taxonomy=_Labels(),
        )
    )
    decoded = unicode_decoded(page)
    assert "pa të dhëna" in legend(page) and "no data" not in decoded
    assert "1,0 – 2,3" in legend(page)  # decimal comma
    assert tooltip_aliases(decoded) == ["Komuna", "Nevoja (persona)", "Vende (kapacitet i njohur)", "Vlera"]
    rows = [[f["properties"][f"t{i}"] for i in range(4)] for f in features(page)]
    assert [r[0] for r in rows] == ["Alfa", "Beta", "Gama", "Delta"]  # name_sq, else name
    assert rows[0][1:] == ["1.234,5", "10", "1,0"] and rows[3][2] == "1.234"
    assert '"Qendër ditore (2)"' in decoded and '"Strehimore (1)"' in decoded
    assert "Day care 1 (Qendër ditore)" in decoded and 'Kapaciteti (persona njëkohësisht): 20"' in decoded
    note = decoded[decoded.index('class="socialmap-note"') :]
    assert note.split("</style>", 1)[1].startswith("kufij skematikë (jo zyrtarë): konturi nga Natural Earth")
    # Parts the catalogs do not know ("population 2024" here) are kept as given.
    assert "; population 2024</div>" in note


def test_areas_map_in_serbian():
    areas = grid([1.0, 2.0, 3.0, 4.0]).assign(name_sr=["Alfa", "Beta", "Gama", "Delta"])
    page = unicode_decoded(render(maps.areas_map(areas, services(), lang="sr")))
    assert '"Područja"' in page and '"Usluge"' in page
    assert tooltip_aliases(page) == ["Opština"]
    assert [f["properties"]["name"] for f in features(page)] == ["Alfa", "Beta", "Gama", "Delta"]


def test_value_format_keeps_its_text_and_localises_the_number():
    fmt = maps._number_formatter("≈ {:,.2f} km", "sr")
    assert fmt(12345.678) == "≈ 12.345,68 km"
    assert maps._number_formatter("{:.0%}", "sq")(0.25) == "25%"


# --- services -------------------------------------------------------------------------------------


def test_services_clustered_in_one_toggleable_group_per_type():
    import folium
    from folium.plugins import FastMarkerCluster

    fmap = maps.choropleth_map(grid([1.0, 2.0, 3.0, 4.0]), "value", services=services())
    groups = [e for e in walk(fmap) if type(e) is folium.FeatureGroup]
    assert sorted(g.layer_name for g in groups) == ["day_care (2)", "shelter (1)"]
    colours = set()
    for group in groups:
        clusters = [e for e in walk(group) if isinstance(e, FastMarkerCluster)]
        assert len(clusters) == 1
        assert len(clusters[0].data) == int(group.layer_name[-2])  # one row per marker
        colours.add(re.search(r"background:(#\w+)", clusters[0].icon_create_function).group(1))
        assert re.search(r"background:(#\w+)", clusters[0].callback).group(1) in colours  # markers alike
    assert len(colours) == 2  # one colour per service type
    clusters = [e for group in groups for e in walk(group) if isinstance(e, FastMarkerCluster)]
    rows = {row[2]: row for cluster in clusters for row in cluster.data}
    assert sorted(rows) == ["Day care 1 (day_care)", "Day care 2 (day_care)", "Shelter (shelter)"]
    shelter = services().to_crs("EPSG:4326").geometry[2]
    assert rows["Shelter (shelter)"][:2] == pytest.approx([shelter.y, shelter.x], abs=1e-6)
    page = unicode_decoded(render(fmap))
    assert page.count("L.markerClusterGroup(") == 2
    assert "L.control.layers(" in page
    overlays = page[page.index("overlays :") : page.index("L.control.layers(")]
    assert '"day_care (2)"' in overlays and '"shelter (1)"' in overlays
    assert "Day care 1 (day_care)" in page and "Shelter (shelter)" in page
    assert "Capacity (persons at once): unknown" in page  # the unknown capacity of Day care 2
    assert 'Capacity (persons at once): 20"' in page  # 20.0 places: a whole number, ending the popup
    assert "L.popup(" not in page  # no template rendered per marker: markers are made in the browser


def test_services_without_location_are_left_out_with_a_warning():
    svc = services()
    svc.loc[1, "geometry"] = None
    with pytest.warns(UserWarning, match="1 service.*without a location"):
        fmap = maps.choropleth_map(grid([1.0, 2.0, 3.0, 4.0]), "value", services=svc)
    from folium.plugins import FastMarkerCluster

    assert sum(len(e.data) for e in walk(fmap) if isinstance(e, FastMarkerCluster)) == 2


# --- basemap, CRS, size ---------------------------------------------------------------------------


def test_plain_basemap_by_default_and_tiles_on_request():
    areas = grid([1.0, 2.0, 3.0, 4.0])
    assert "L.tileLayer(" not in render(maps.choropleth_map(areas, "value"))
    assert "tile.openstreetmap.org" in render(maps.choropleth_map(areas, "value", tiles="OpenStreetMap"))


def test_any_crs_is_drawn_in_lon_lat_with_six_decimals_and_input_untouched():
    areas = grid([1.0, 2.0, 3.0, 4.0])
    before = areas.copy()
    utm = features(render(maps.choropleth_map(areas, "value")))
    merc = features(render(maps.choropleth_map(areas.to_crs("EPSG:3857"), "value")))
    assert_geodataframe_equal(areas, before)
    for a, b in zip(utm, merc, strict=True):
        np.testing.assert_allclose(a["geometry"]["coordinates"], b["geometry"]["coordinates"], atol=2e-6)
    coords = np.array([xy for f in utm for xy in f["geometry"]["coordinates"][0]])
    assert coords[:, 0].min() == pytest.approx(21.0, abs=0.01) and 42.4 < coords[:, 1].min() < 42.5
    assert all(len(repr(float(c)).split(".")[1]) <= 6 for c in coords.ravel())


def test_detailed_areas_are_simplified_for_display_only(monkeypatch):
    areas = grid([1.0, 2.0, 3.0, 4.0])
    areas.loc[0, "geometry"] = Point(X0 + 500, Y0 + 500).buffer(450, quad_segs=200)
    monkeypatch.setattr(maps, "MAX_DISPLAY_VERTICES", 100)
    feats = features(render(maps.choropleth_map(areas, "value")))
    assert len(feats) == 4
    assert sum(shapely.get_num_coordinates(shapely.geometry.shape(f["geometry"])) for f in feats) <= 100
    assert shapely.get_num_coordinates(areas.geometry.iloc[0]) > 800


# --- errors ---------------------------------------------------------------------------------------


def test_missing_crs_is_an_error():
    areas = grid([1.0, 2.0, 3.0, 4.0])
    with pytest.raises(CRSError, match="`areas` has no CRS"):
        maps.choropleth_map(areas.set_crs(None, allow_override=True), "value")
    with pytest.raises(CRSError, match="`services` has no CRS"):
        maps.choropleth_map(areas, "value", services=services().set_crs(None, allow_override=True))


def test_missing_columns_are_named_with_the_columns_found():
    areas = grid([1.0, 2.0, 3.0, 4.0])
    with pytest.raises(SocialMapError, match=r"\['gap_score'\].*found \['area_id', 'name', 'need'"):
        maps.choropleth_map(areas, "gap_score")
    with pytest.raises(SocialMapError, match=r"tooltip_columns.*\['nope'\]"):
        maps.choropleth_map(areas, "value", tooltip_columns=("name", "nope"))
    with pytest.raises(SocialMapError, match=r"\['service_type'\]"):
        maps.choropleth_map(areas, "value", services=services().drop(columns="service_type"))


def test_bad_options_are_errors():
    areas = grid([1.0, 2.0, 3.0, 4.0])
    with pytest.raises(SocialMapError, match="must be numeric"):
        maps.choropleth_map(areas, "name")
    with pytest.raises(SocialMapError, match="colormap"):
        maps.choropleth_map(areas, "value", colormap="NoSuchPalette")
    with pytest.raises(SocialMapError, match="value_format"):
        maps.choropleth_map(areas, "value", value_format="{:d} {}")
    with pytest.raises(SocialMapError, match="scheme"):
        maps.choropleth_map(areas, "value", scheme="jenks")
    with pytest.raises(SocialMapError, match="empty"):
        maps.choropleth_map(areas.iloc[:0], "value")


# --- save_map -------------------------------------------------------------------------------------


def test_save_map_writes_the_page_and_keeps_permissions(tmp_path: Path):
    fmap = maps.choropleth_map(grid([1.0, 2.0, 3.0, 4.0]), "value")
    target = tmp_path / "map.html"
    assert maps.save_map(fmap, target) == target
    assert target.read_text(encoding="utf-8").startswith("<!DOCTYPE html>")
    assert "socialmap-legend" in target.read_text(encoding="utf-8")
    target.chmod(0o640)
    maps.save_map(fmap, str(target))
    assert stat.S_IMODE(target.stat().st_mode) == 0o640
    assert os.listdir(tmp_path) == ["map.html"]


@pytest.mark.parametrize("fail_at", ["render", "fsync", "replace"])
def test_failed_save_leaves_the_previous_file_and_no_temp_file(tmp_path: Path, monkeypatch, fail_at: str):
    target = tmp_path / "map.html"
    target.write_text("good old map", encoding="utf-8")
    fmap = maps.choropleth_map(grid([1.0, 2.0, 3.0, 4.0]), "value")

    def boom(*_args, **_kwargs):
        raise OSError("disk full")

    if fail_at == "render":
        monkeypatch.setattr(fmap.get_root(), "render", boom)
    else:
        monkeypatch.setattr(os, fail_at, boom)
    with pytest.raises(OSError, match="disk full"):
        maps.save_map(fmap, target)
    monkeypatch.undo()
    assert target.read_text(encoding="utf-8") == "good old map"
    assert os.listdir(tmp_path) == ["map.html"]
