"""The per-cell layer (unmet need, nearest distance): on maps, in exports, never of a sensitive type."""

from __future__ import annotations

import textwrap

import geopandas as gpd
import numpy as np
import pandas as pd
import pyogrio
import pytest
from pyproj import Transformer
from shapely.geometry import Point, box

from socialmap import analyze, load_taxonomy, views
from socialmap.errors import SocialMapError
from socialmap.export import cells_table, export_table
from socialmap.maps import choropleth_map, demand_cells_layer
from socialmap.privacy import protect, public_cells

CRS = "EPSG:32634"
X0, Y0 = 500_000.0, 4_700_000.0  # near Prishtina, on multiples of the 1 km grid

TAXONOMY = """
schema_version: 1
name: cells test
sources:
  def: {citation: "by definition"}
  made_up: {citation: "test figure, made up for the test"}
target_groups:
  everyone:
    label: {en: Everyone, sq: Të gjithë, sr: Svi}
    rate: 1.0
    source: def
  older:
    label: {en: Older, sq: Të moshuar, sr: Stariji}
    rate: 0.2
    source: made_up
  victims:
    label: {en: Victims, sq: Viktimat, sr: Žrtve}
    rate: null
    column: pop_victims
    sensitive: true
service_types:
  home:
    label: {en: Home care, sq: Kujdes në shtëpi, sr: Pomoć u kući}
    target_groups: [older]
    need_rate: 0.5
    need_rate_source: made_up
  shelter:
    label: {en: Shelter, sq: Strehimore, sr: Sklonište}
    target_groups: [victims]
    need_rate: 1.0
    need_rate_source: def
    sensitive: true
"""


@pytest.fixture(autouse=True)
def _english(monkeypatch):
    monkeypatch.setenv("SOCIALMAP_LANG", "en")


def _cell_frame() -> gpd.GeoDataFrame:
    # Two pieces of the grid cell [0, 1000)² (in areas a and b) and one whole cell [1000, 2000) × [0, 1000).
    pts = [Point(X0 + 500, Y0 + 500), Point(X0 + 700, Y0 + 300), Point(X0 + 1500, Y0 + 500)]
    return gpd.GeoDataFrame(
        {
            "area_id": ["a", "b", "b"],
            "service_type": ["home"] * 3,
            "need": [2.0, 3.0, 4.0],
            "unmet": [1.0, 2.0, 4.0],
            "nearest_m": [1500.0, 1200.0, 2500.0],
        },
        geometry=pts,
        crs=CRS,
    )


def _element(layer):
    (element,) = layer._children.values()
    return element


def test_grid_cells_are_pooled_into_their_squares_with_localised_tooltips():
    layer = demand_cells_layer(_cell_frame(), "unmet", cell_size_m=1000, lang="sq")
    el = _element(layer)
    assert el.square
    # By hand: the two pieces of the first square pool to need 2 + 3 = 5, unmet 1 + 2 = 3, nearest
    # min(1.5, 1.2) = 1.2 km; the second square keeps 4, 4 and 2.5 km. Numbers with a decimal comma.
    assert el.labels == ["Nevoja e paplotësuar (persona)", "Nevoja (persona)", "Shërbimi më i afërt (km)"]
    assert [r[5:] for r in el.rows] == [["3,0", "5,0", "1,2"], ["4,0", "4,0", "2,5"]]
    # The squares' corners, projected here with pyproj: south-west and north-east of each square.
    to_wgs = Transformer.from_crs(CRS, "EPSG:4326", always_xy=True)
    for row, (x, y) in zip(el.rows, [(X0, Y0), (X0 + 1000, Y0)], strict=True):
        lon, lat = to_wgs.transform([x, x + 1000, x + 1000, x], [y, y, y + 1000, y + 1000])
        assert row[:4] == pytest.approx([min(lat), min(lon), max(lat), max(lon)], abs=1e-5)
    # Fewer persons unmet, lighter colour; the legend gives the real range, in Albanian.
    assert el.rows[0][4] < el.rows[1][4]
    assert "Nevojë e paplotësuar për qelizë (persona)" in el.legend and "3,0 – " in el.legend
    assert layer.layer_name == "Nevojë e paplotësuar për qelizë (persona)"


def test_points_that_are_not_a_grid_are_dots_and_distances_are_in_km():
    layer = demand_cells_layer(_cell_frame(), "nearest_m", lang="en")
    el = _element(layer)
    assert not el.square and len(el.rows) == 3
    assert [r[3:] for r in el.rows] == [["1.0", "2.0", "1.5"], ["2.0", "3.0", "1.2"], ["4.0", "4.0", "2.5"]]
    assert "Distance to the nearest service (km)" in el.legend and "1.2 – " in el.legend


def test_unknown_values_are_no_data_and_bad_arguments_are_clear_errors():
    cells = _cell_frame().assign(unmet=[np.nan, np.nan, 4.0])
    el = _element(demand_cells_layer(cells, "unmet", cell_size_m=1000, lang="en"))
    # a square whose every piece is unknown stays unknown (not 0)
    assert el.rows[0][5] == "–" and el.colours[el.rows[0][4]] == "#bdbdbd" and "no data" in el.legend
    with pytest.raises(SocialMapError, match="must be one of"):
        demand_cells_layer(cells, "need")
    with pytest.raises(SocialMapError, match="projected CRS"):
        demand_cells_layer(cells.to_crs("EPSG:4326"), cell_size_m=1000)


def test_the_layer_is_drawn_on_a_canvas_with_its_own_legend():
    areas = gpd.GeoDataFrame(
        {"area_id": ["a"], "name": ["A"], "gap_score": [50.0]},
        geometry=[box(X0, Y0, X0 + 2e3, Y0 + 1e3)],
        crs=CRS,
    )
    fmap = choropleth_map(areas, "gap_score", lang="en")
    demand_cells_layer(_cell_frame(), cell_size_m=1000, lang="en").add_to(fmap)
    page = fmap.get_root().render()
    assert "L.canvas(" in page and "socialmap-cells-legend" in page and "L.rectangle(" in page
    # the layer control (rendered last) lists it
    assert page.rindex("Unmet need per cell (persons)") > page.index("L.canvas(")


# ------------------------------------------------------------------------------------------------
# The analysis: cells as published, never of a sensitive type
# ------------------------------------------------------------------------------------------------


def _world(tmp_path, victims, shelter_at):
    path = tmp_path / "taxonomy.yaml"
    path.write_text(textwrap.dedent(TAXONOMY), encoding="utf-8")
    tax = load_taxonomy(path)
    ids = list("abcd")
    squares = [
        box(X0 + x * 1e4, Y0 + y * 1e4, X0 + (x + 1) * 1e4, Y0 + (y + 1) * 1e4)
        for y in (0, 1)
        for x in (0, 1)
    ]
    areas = gpd.GeoDataFrame({"area_id": ids, "name": ids}, geometry=squares, crs=CRS)
    population = pd.DataFrame(
        {"area_id": ids, "population": [1000.0, 3000.0, 500.0, 2000.0], "pop_victims": victims}
    )
    services = gpd.GeoDataFrame(
        {
            "service_id": ["h", "s"],
            "name": ["H", "S"],
            "service_type": ["home", "shelter"],
            "capacity": [50.0, 4.0],
        },
        geometry=[Point(X0 + 5000, Y0 + 5000), Point(*shelter_at)],
        crs=CRS,
    )
    res = analyze(areas, services, population, taxonomy=tax, catchment_m=12_000, cell_size_m=5000)
    return res, tax


def test_an_attacker_learns_nothing_about_victims_or_the_shelter_from_the_cells(tmp_path):
    # Two worlds that differ only in what is secret: a small count of victims (2 or 4, below the
    # threshold 5) in area a, and where the shelter is (two addresses in area d).
    one, tax = _world(tmp_path, [2.0, 9.0, 0.0, 12.0], (X0 + 12_000, Y0 + 12_000))
    two, _ = _world(tmp_path, [4.0, 9.0, 0.0, 12.0], (X0 + 18_000, Y0 + 19_000))
    raw = [r.demand[r.demand["service_type"] == "shelter"].reset_index(drop=True) for r in (one, two)]
    # The model's own cells do tell them apart (count, nearest distance, coverage)...
    assert not raw[0]["need"].equals(raw[1]["need"]) and not raw[0]["nearest_m"].equals(raw[1]["nearest_m"])
    assert (
        protect(one, taxonomy=tax)
        .table.set_index(["service_type", "area_id"])
        .loc[("shelter", "a"), "suppression"]
        == "primary"
    )
    # ...what is published does not: the same cells, the same GeoPackage layer, the same map layer.
    published = [public_cells(r.demand, protect(r, taxonomy=tax)) for r in (one, two)]
    assert set(published[0]["service_type"]) == {"home"}
    pd.testing.assert_frame_equal(pd.DataFrame(published[0]), pd.DataFrame(published[1]))
    tables = [cells_table(r, protect(r, taxonomy=tax)) for r in (one, two)]
    pd.testing.assert_frame_equal(pd.DataFrame(tables[0]), pd.DataFrame(tables[1]))
    for kind in ("home", "shelter"):
        sel = views.Selection(service_type=kind, metric="gap_score", lang="sq", cells=True)
        drawn = [views.selection_cells(r, sel, tax) for r in (one, two)]
        if kind == "shelter":
            assert drawn == [None, None]
            assert "never shown" in views.cells_note(one, views.Selection(kind, "gap_score", cells=True), tax)
            assert "demand_cells" not in views.selection_layers(one, sel, tax)
        else:
            pd.testing.assert_frame_equal(pd.DataFrame(drawn[0]), pd.DataFrame(drawn[1]))
            rows = [_element(_cells_layer(views.selection_map(r, sel, tax))).rows for r in (one, two)]
            assert rows[0] == rows[1] and len(rows[0]) == 16  # 4 areas × 4 cells of 5 km


def _cells_layer(fmap):
    import folium

    (layer,) = [
        c
        for c in fmap._children.values()
        if isinstance(c, folium.FeatureGroup)
        and any(getattr(e, "_name", "") == "DemandCells" for e in c._children.values())
    ]
    return layer


def test_the_app_views_add_the_cells_of_the_chosen_type_only_when_asked(tmp_path):
    res, tax = _world(tmp_path, [2.0, 9.0, 0.0, 12.0], (X0 + 12_000, Y0 + 12_000))
    home = res.demand[res.demand["service_type"] == "home"]
    on = views.Selection(service_type="home", metric="gap_score", lang="en", cells=True)
    off = views.Selection(service_type="home", metric="gap_score", lang="en")
    assert views.cells_note(res, on, tax) is None and views.cells_note(res, off, tax) is None
    cells = views.selection_cells(res, on, tax)
    assert len(cells) == len(home) and cells["unmet"].sum() == pytest.approx(home["unmet"].sum())
    # The cells' unmet need adds up to the areas' (the grid conserves counts).
    assert cells["unmet"].sum() == pytest.approx(res.for_service_type("home")["unmet_need"].sum())
    assert "demand_cells" in views.selection_layers(res, on, tax)
    assert "demand_cells" not in views.selection_layers(res, off, tax)
    parts = views.map_parts(views.selection_map(res, on, tax))
    names = [getattr(layer, "layer_name", "") for layer in parts.layers]
    assert "Unmet need per cell (persons)" in names
    assert "Unmet need per cell" not in views.selection_map(res, off, tax).get_root().render()
    every = views.Selection(lang="sr", cells=True)
    assert views.selection_cells(res, every, tax) is None
    assert views.cells_note(res, every, tax) == (
        "Izaberite vrstu usluge da biste videli njene ćelije potražnje: crtaju se po vrsti usluge."
    )


def test_the_geopackage_export_has_the_cells_without_sensitive_types(tmp_path):
    res, tax = _world(tmp_path, [2.0, 9.0, 0.0, 12.0], (X0 + 12_000, Y0 + 12_000))
    path = export_table(res, tmp_path / "out.gpkg", taxonomy=tax)
    assert "demand_cells" in [name for name, _ in pyogrio.list_layers(path)]
    cells = pyogrio.read_dataframe(path, layer="demand_cells")
    assert set(cells["service_type"]) == {"home"} and len(cells) == 16
    assert cells["unmet"].sum() == pytest.approx(res.for_service_type("home")["unmet_need"].sum())


# ------------------------------------------------------------------------------------------------
# Equity indicators in the XLSX export
# ------------------------------------------------------------------------------------------------


def _lorenz_gini(x: np.ndarray, w: np.ndarray) -> float:
    """Need-weighted Gini from the Lorenz curve (trapezoids), not from the pairwise sum the library uses."""
    order = np.argsort(x, kind="stable")
    x, w = x[order], w[order]
    p = np.concatenate([[0.0], np.cumsum(w) / w.sum()])
    lorenz = np.concatenate([[0.0], np.cumsum(w * x) / (w * x).sum()])
    return float(1.0 - np.sum(np.diff(p) * (lorenz[1:] + lorenz[:-1])))


def test_the_xlsx_export_has_the_equity_sheet_and_its_definitions(tmp_path):
    from openpyxl import load_workbook

    res = analyze(demo="kosovo", cell_size_m=4000)
    path = export_table(res, tmp_path / "tables.xlsx", lang="sq")
    book = load_workbook(path, read_only=True)
    assert {"barazia", "përkufizimet e barazisë"} <= set(book.sheetnames)

    def sheet(name):
        rows = list(book[name].values)
        return pd.DataFrame(rows[1:], columns=rows[0])

    equity, definitions, by_type = (
        sheet("barazia"),
        sheet("përkufizimet e barazisë"),
        sheet("sipas llojit të shërbimit"),
    )
    # No figure of a type serving a sensitive group (its cells are never published).
    assert not {"shelter_dv", "community_housing"} & set(equity["service_type"])
    assert {"home_care_elderly", "residential_elderly"} <= set(equity["service_type"])
    # Every column is defined, in Albanian.
    assert list(definitions.iloc[:, 0]) == list(equity.columns)
    assert "Indeksi Gini" in definitions.set_index(definitions.columns[0]).loc["gini"].iloc[0]
    cells = equity[equity["level"] == "cells"].astype(
        {"theil": float, "theil_between": float, "theil_within": float}
    )
    assert (cells["theil_between"] + cells["theil_within"]).to_numpy() == pytest.approx(
        cells["theil"].to_numpy()
    )
    # The areas' Gini of home care, worked out again from the same sheet's access and need per area.
    rows = by_type[by_type["service_type"] == "home_care_elderly"]
    x, w = rows["access"].astype(float).to_numpy(), rows["need"].astype(float).to_numpy()
    ok = np.isfinite(x) & (w > 0)
    got = equity[(equity["service_type"] == "home_care_elderly") & (equity["level"] == "areas")]["gini"]
    assert float(got.iloc[0]) == pytest.approx(_lorenz_gini(x[ok], w[ok]), rel=1e-9)
    # Where the worst-off 40 % have no access at all the Palma ratio is infinite: blank, and said so.
    cell_rows = equity[(equity["service_type"] == "residential_elderly") & (equity["level"] == "cells")]
    assert cell_rows["palma"].isna().all()
    assert "Raporti Palma i pafundëm" in cell_rows["note"].iloc[0]
