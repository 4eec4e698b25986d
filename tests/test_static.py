"""static: print maps in PNG/SVG/PDF with legend, scale bar, north arrow, sources and the boundary caveat."""

from __future__ import annotations

import struct
import textwrap
import warnings
from dataclasses import replace

import geopandas as gpd
import matplotlib
import pandas as pd
import pytest
from matplotlib.collections import PathCollection
from matplotlib.text import Text
from shapely.geometry import Point, box

from socialmap import analyze, load_taxonomy
from socialmap.datasets import SCHEMATIC_ATTRIBUTION
from socialmap.errors import CRSError, SocialMapError
from socialmap.i18n import format_number
from socialmap.static import (
    FIGURE_WIDTH_IN,
    _nice_length,
    _north_angle_deg,
    gap_map,
    method_line,
    save_figure,
    sources_lines,
)

matplotlib.use("Agg")

CRS = "EPSG:32634"
TAXONOMY = """
schema_version: 1
name: stattest
sources:
  def: {citation: "by definition"}
target_groups:
  everyone:
    label: {en: Everyone, sq: Të gjithë, sr: Svi}
    rate: 1.0
    source: def
  victims:
    label: {en: Victims, sq: Viktimat, sr: Žrtve}
    rate: null
    column: pop_victims
    sensitive: true
service_types:
  day:
    label: {en: Day care, sq: Qendër ditore, sr: Dnevni boravak}
    target_groups: [everyone]
  shelter:
    label: {en: Shelter, sq: Strehimore, sr: Sklonište}
    target_groups: [victims]
    sensitive: true
"""


@pytest.fixture(autouse=True)
def _english(monkeypatch):
    """Outputs made without ``lang`` are in the default language: English here, whatever the machine's."""
    monkeypatch.setenv("SOCIALMAP_LANG", "en")


@pytest.fixture
def result(tmp_path):
    path = tmp_path / "taxonomy.yaml"
    path.write_text(textwrap.dedent(TAXONOMY), encoding="utf-8")
    tax = load_taxonomy(path)
    ids = list("abcdef")
    # 3 × 2 squares of 20 km near 21° E, 42° N (UTM 34N), so the map spans 60 km.
    x0, y0 = 500_000, 4_650_000
    cells = [
        box(x0 + x * 2e4, y0 + y * 2e4, x0 + (x + 1) * 2e4, y0 + (y + 1) * 2e4)
        for y in range(2)
        for x in range(3)
    ]
    areas = gpd.GeoDataFrame(
        {"area_id": ids, "name": ["Pejë", "Đakovica", "Prizren", "Gjilan", "Ferizaj", "Istog"]},
        geometry=cells,
        crs=CRS,
    )
    population = pd.DataFrame(
        {
            "area_id": ids,
            "population": [1000.0, 3000.0, 500.0, 2000.0, 800.0, 4000.0],
            "pop_victims": [2.0, 40.0, 9.0, 0.0, 12.0, 30.0],
            "year": 2024,
        }
    )
    services = gpd.GeoDataFrame(
        {
            "service_id": ["s1", "s2", "s3"],
            "name": ["One", "Two", "Shelter"],
            "service_type": ["day", "day", "shelter"],
            "capacity": [100.0, 50.0, 10.0],
        },
        geometry=[Point(x0 + 1e4, y0 + 1e4), Point(x0 + 5e4, y0 + 3e4), Point(x0 + 3e4, y0 + 1e4)],
        crs=CRS,
    )
    res = analyze(areas, services, population, taxonomy=tax, spreading="representative", catchment_m=25_000)
    return replace(res, provenance={**res.provenance, "demo_boundaries": SCHEMATIC_ATTRIBUTION})


def _texts(fig):
    return [t for t in fig.findobj(Text) if t.get_text().strip()]


def _png_size(path):
    with open(path, "rb") as fh:
        head = fh.read(24)
    assert head[:8] == b"\x89PNG\r\n\x1a\n"
    return struct.unpack(">II", head[16:24])


def test_map_in_three_formats_1080_px_and_boundary_note(result, tmp_path):
    fig = gap_map(result)
    png = save_figure(fig, tmp_path / "map.png")
    svg = save_figure(fig, tmp_path / "map.svg")
    pdf = save_figure(fig, tmp_path / "map.pdf")
    width, height = _png_size(png)
    assert width == 1080 and 700 < height < 2000
    text = svg.read_text(encoding="utf-8")
    assert "schematic boundaries" in text  # text kept as text in the SVG
    assert pdf.read_bytes().startswith(b"%PDF")
    assert [p.name for p in tmp_path.iterdir() if p.name.startswith("map")].__len__() == 3


def test_map_furniture(result):
    fig = gap_map(result, service_type="day")
    texts = [t.get_text() for t in _texts(fig)]
    joined = "\n".join(texts)
    assert "Day care" in joined  # title: the service type's label
    assert "Gap score" in joined  # legend title with units
    assert "N" in texts  # north arrow
    bar = next(a for a in fig.axes[0].artists if type(a).__name__ == "ScaleBar")
    assert bar.scale_formatter(bar.fixed_value, bar.fixed_units).endswith(" km")  # scale bar label
    assert SCHEMATIC_ATTRIBUTION in joined.replace("\n", " ")
    assert "Made with socialmap on" in joined
    assert "population 2024" in joined
    # legend: one entry per class with its breaks
    legend = fig.legends[0]
    labels = [t.get_text() for t in legend.get_texts()]
    assert any("–" in lab for lab in labels)
    assert any(lab.startswith("services (") for lab in labels)


def test_fonts_are_at_least_7_pt(result):
    fig = gap_map(result, service_type="day")
    sizes = [t.get_fontsize() for t in _texts(fig)]
    assert min(sizes) >= 7
    assert fig.get_figwidth() == pytest.approx(FIGURE_WIDTH_IN)
    # 7 pt at 1,080 px over 7.5 in is 14 px tall
    assert 7 / 72 * 1080 / FIGURE_WIDTH_IN >= 14


def test_scale_bar_is_a_round_length_measured_in_metres(result, tmp_path):
    from matplotlib_scalebar.scalebar import ScaleBar

    assert _nice_length(100_000) == 20_000
    assert _nice_length(62_000) == 10_000
    assert _nice_length(900) == 100
    fig = gap_map(result)
    ax = fig.axes[0]
    x0, x1 = ax.get_xlim()
    length = _nice_length(x1 - x0)
    bars = [a for a in ax.artists if isinstance(a, ScaleBar)]
    assert len(bars) == 1
    bar = bars[0]
    # one data unit is one metre (the map's CRS), and the bar is the round length
    assert bar.dx == 1.0 and bar.units == "m" and bar.location == 3  # lower left
    assert bar.fixed_value * {"km": 1000, "m": 1}[bar.fixed_units] == pytest.approx(length)
    label = format_number(length / 1000, "en", decimals=0) + " km"
    svg = save_figure(fig, tmp_path / "map.svg").read_text(encoding="utf-8")
    assert f">{label}<" in svg or f"<!-- {label} -->" in svg
    # written for the language: 2,5-style numbers and the translated unit
    fig_sq = gap_map(result, lang="sq")
    bar_sq = next(a for a in fig_sq.axes[0].artists if isinstance(a, ScaleBar))
    assert bar_sq.scale_formatter(12_000, "km") == "12.000 km"


def test_north_arrow_points_to_true_north(result):
    # On the central meridian of UTM 34N (21° E) grid north is true north; 2° east of it, true
    # north is turned anticlockwise by about 2° × sin(42°) = 1.34°.
    from pyproj import Transformer

    areas = result.areas
    to_utm = Transformer.from_crs("EPSG:4326", areas.crs, always_xy=True)
    assert _north_angle_deg(areas, *to_utm.transform(21.0, 42.0)) == pytest.approx(0, abs=0.01)
    assert _north_angle_deg(areas, *to_utm.transform(23.0, 42.0)) == pytest.approx(-1.34, abs=0.05)


def test_sensitive_counts_are_hatched_and_locations_withheld(result):
    fig = gap_map(result, service_type="shelter", column="need")
    joined = "\n".join(t.get_text() for t in _texts(fig))
    assert "not shown (confidential)" in joined
    labels = [t.get_text() for t in fig.legends[0].get_texts()]
    assert any(lab.startswith("hidden: small count") for lab in labels)
    ax = fig.axes[0]
    assert not [c for c in ax.collections if isinstance(c, PathCollection)]  # no service dots
    day = gap_map(result, service_type="day").axes[0]
    dots = [c for c in day.collections if isinstance(c, PathCollection)]
    assert len(dots) == 1 and dots[0].get_offsets().shape[0] == 2
    hatched = [c for c in ax.collections if c.get_hatch()]
    assert hatched


def test_labels_highlight_compact_and_language(result, tmp_path):
    fig = gap_map(result, labels=True, highlight="b", compact=True, lang="sq")
    texts = [t.get_text() for t in _texts(fig)]
    assert "Pejë" in texts and "Đakovica" in texts
    assert fig.get_figwidth() == pytest.approx(4.2)
    # The boundary note stays on the compact map, in the map's language.
    assert any("kufij skematikë (jo zyrtarë)" in t for t in texts)
    assert not any(SCHEMATIC_ATTRIBUTION.split(":")[0] in t for t in texts)
    assert not any(t.startswith(("Made with", "Krijuar me")) for t in texts)
    png = save_figure(fig, tmp_path / "c.png")
    assert _png_size(png)[0] == 1080


def test_text_helpers(result):
    assert "schematic boundaries" in sources_lines(result)[0]
    assert (
        method_line(result)
        == "Method: two-step floating catchment area (2SFCA); catchment 25.0 km; population 2024"
    )
    assert "25,0 km" in method_line(result, "sq")


def test_errors(result, tmp_path):
    with pytest.raises(SocialMapError, match="not a column"):
        gap_map(result, column="nope")
    with pytest.raises(SocialMapError, match="No results for service type"):
        gap_map(result, service_type="spa")
    with pytest.raises(SocialMapError, match="highlight"):
        gap_map(result, highlight="zz")
    with pytest.raises(SocialMapError, match="scheme"):
        gap_map(result, scheme="rainbow")
    feet = replace(result, areas=result.areas.to_crs("EPSG:2263"))
    with pytest.raises(CRSError, match="metres"):
        gap_map(feet)
    with pytest.raises(SocialMapError, match=".png"):
        save_figure(gap_map(result), tmp_path / "map.jpg")
    assert not (tmp_path / "map.jpg").exists()


def test_geographic_crs_is_drawn_projected(result):
    geo = replace(result, areas=result.areas.to_crs("EPSG:4326"))
    fig = gap_map(geo)
    x0, x1 = fig.axes[0].get_xlim()
    assert x1 - x0 > 1000  # metres, not degrees


def test_demo_map_says_schematic(tmp_path):
    from socialmap.datasets import demo_files

    try:
        demo_files("kosovo")
    except SocialMapError as exc:
        pytest.skip(f"demo data not present: {exc}")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)  # the demo's known gaps (unknown capacities)
        res = analyze(demo="kosovo")
    svg = save_figure(gap_map(res, service_type="day_care_disability", labels=True), tmp_path / "demo.svg")
    assert "schematic boundaries" in svg.read_text(encoding="utf-8")
    png = save_figure(gap_map(res), tmp_path / "demo.png")
    assert _png_size(png)[0] == 1080
