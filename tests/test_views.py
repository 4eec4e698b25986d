"""Tests of socialmap.views: what the app shows, computed without Streamlit or a browser."""

from __future__ import annotations

import base64
import dataclasses
import json
import re
from pathlib import Path

import folium
import geopandas as gpd
import numpy as np
import pandas as pd
import pyogrio
import pytest
from folium.plugins import FastMarkerCluster

import socialmap
from socialmap import AnalysisConfig, views
from socialmap.app import uploads
from socialmap.errors import Problem, SocialMapError
from socialmap.i18n import t

REPO = Path(__file__).resolve().parents[1]
SERVICES_HEADER = "service_id,name,service_type,capacity,lon,lat\n"
BAD_SERVICES = (
    SERVICES_HEADER + "S1,Good one,day_care_disability,20,21.16,42.66\n"
    "S2,No type,,10,21.16,42.66\n"
    "S3,Bad type,daycare,10,21.16,42.66\n"
    "S4,Negative,home_care_elderly,-5,21.16,42.66\n"
    "S5,No place,csw,,,\n"
).encode()


@pytest.fixture(scope="module")
def demo() -> socialmap.Demo:
    return socialmap.load_demo("kosovo")


@pytest.fixture(scope="module")
def result(demo):
    analysis = views.analyze_inputs(views.read_inputs(demo=demo), AnalysisConfig(), demo=demo)
    assert analysis.problems == ()
    return analysis.result


@pytest.fixture
def vendor(tmp_path: Path) -> Path:
    """A stand-in for static/vendor: every package at its pinned version, with small files."""
    root = tmp_path / "vendor"
    for pkg, version in views.VENDOR_PACKAGES.items():
        folder = root / "node_modules" / pkg
        folder.mkdir(parents=True)
        (folder / "package.json").write_text(json.dumps({"name": pkg, "version": version}))
    for pkg, file in views.ASSET_FILES.values():
        path = root / "node_modules" / pkg / file
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(f"/* {pkg} {file} */ .x {{ background: url(images/icon.png); }}", encoding="utf-8")
    (root / "node_modules" / "leaflet" / "dist" / "images").mkdir()
    (root / "node_modules" / "leaflet" / "dist" / "images" / "icon.png").write_bytes(b"\x89PNG fake")
    return root


def demo_services_csv(rows: int = 30) -> bytes:
    text = (REPO / "data" / "services" / "kosovo_services.csv").read_text(encoding="utf-8")
    return "\n".join(text.splitlines()[: rows + 1]).encode("utf-8") + b"\n"


# ---- uploads and validation reports ------------------------------------------------------------


def test_good_upload_is_read_through_the_loader(demo):
    outcome = views.read_upload(
        ("services.csv", demo_services_csv()), "services", taxonomy=demo.taxonomy, areas=demo.areas
    )
    assert outcome.ok and outcome.errors == 0
    assert len(outcome.frame) == 30
    assert {"service_id", "service_type", "capacity", "geometry"} <= set(outcome.frame.columns)
    assert all(p.file == "services.csv" for p in outcome.problems)


def test_bad_upload_gives_every_problem_with_row_numbers_and_fixes(demo):
    outcome = views.read_upload(
        ("my services.csv", BAD_SERVICES), "services", taxonomy=demo.taxonomy, areas=demo.areas
    )
    assert not outcome.ok and outcome.frame is None
    table = views.problems_table(outcome.problems)
    assert list(table.columns) == ["Severity", "File", "Row", "Column", "Problem", "How to fix it"]
    errors = table[table["Severity"] == "error"]
    # the header is row 1: the bad rows are 3 (no type), 4 (unknown type), 5 (negative), 6 (no place)
    assert list(errors["Row"]) == [3, 4, 5, 6]
    assert errors["How to fix it"].str.len().gt(10).all()
    assert "daycare" in " ".join(errors["Problem"])
    assert set(table["File"]) == {"my services.csv"}
    assert table["Severity"].tolist() == sorted(table["Severity"].tolist())  # errors first


def test_unreadable_and_unsupported_files_give_one_error_row_and_no_temp_path():
    garbage = views.read_upload(("areas.geojson", b"{not json"), "areas")
    assert not garbage.ok and garbage.errors == 1
    text = str(garbage.problems[0])
    assert "areas.geojson" in text and "socialmap-upload-" not in text and "/tmp" not in text
    docx = views.read_upload(("notes.docx", b"PK..."), "areas")
    assert not docx.ok and ".docx" in docx.problems[0].message and ".gpkg" in docx.problems[0].fix


def test_unexpected_failures_end_in_a_report(monkeypatch):
    def boom(*_args, **_kwargs):
        raise RuntimeError("driver crashed")

    monkeypatch.setattr("socialmap.validate.validate_file", boom)
    outcome = views.read_upload(("areas.geojson", b"{}"), "areas")
    assert not outcome.ok
    assert "driver crashed" in outcome.problems[0].message


def test_hostile_file_names_stay_inside_the_temp_folder(demo):
    outcome = views.read_upload(
        ("../../etc/pass wd.csv", b"area_id,population\n01,5\n"), "population", areas=demo.areas
    )
    assert outcome.ok  # read (with a warning about the areas without a row)
    assert outcome.filename == "../../etc/pass wd.csv"
    assert uploads._safe_filename("../../etc/pass wd.csv") == "pass_wd.csv"
    assert uploads._safe_filename("C:\\x\\Shërbime.XLSX") == "Sh_rbime.xlsx"


def test_wrong_kind_is_an_error():
    with pytest.raises(SocialMapError, match="kind"):
        views.read_upload(("a.csv", b""), "people")


def test_read_inputs_leaves_out_bad_files_and_the_demo_fills_in_only_when_chosen(demo):
    good_pop = (REPO / "data" / "population" / "kosovo_population_2024.csv").read_bytes()
    inputs = views.read_inputs(None, ("bad.csv", BAD_SERVICES), ("pop.csv", good_pop), demo=demo)
    assert not inputs.ok and inputs.uses_demo
    assert inputs.services is None and inputs.population is not None
    assert [u.kind for u in inputs.uploads] == ["services", "population"]
    # A failed file is not silently replaced by the demo's layer (issue #16): nothing is analysed.
    assert inputs.blocked == ("services",) and inputs.demo_layers == ("areas",)
    analysis = views.analyze_inputs(inputs, AnalysisConfig(method="coverage"), demo=demo)
    assert analysis.result is None
    (problem,) = analysis.problems
    assert problem.file == "bad.csv" and "the demo's services are not put in its place" in problem.message
    # Chosen explicitly: the demo's services stand in, and the caption says so.
    inputs = views.read_inputs(
        None, ("bad.csv", BAD_SERVICES), ("pop.csv", good_pop), demo=demo, demo_instead=("services",)
    )
    assert inputs.blocked == () and inputs.demo_layers == ("areas", "services")
    analysis = views.analyze_inputs(inputs, AnalysisConfig(method="coverage"), demo=demo)
    assert analysis.result is not None and len(analysis.result.services) == len(demo.services)
    caption = views.demo_caption(inputs, "en")
    assert caption == (
        "From the demo, not your data: areas, services (your file has errors; you chose the demo's instead)."
    )


def test_analysis_failures_are_problems_not_exceptions(demo):
    areas = views.read_upload(
        ("areas.geojson", (REPO / "tests" / "data" / "areas.geojson").read_bytes()), "areas"
    )
    assert areas.ok
    analysis = views.analyze_inputs(
        views.Inputs(areas=areas.frame, uploads=(areas,)), AnalysisConfig(), demo=demo
    )
    assert analysis.result is None
    table = views.problems_table(analysis.problems)
    assert "Westfield" in " ".join(table["Problem"]) and table["Row"].notna().all()
    assert views.error_problems(SocialMapError("bad option"))[0].message == "bad option"


def test_unexpected_analysis_failures_are_reported_and_logged(demo, monkeypatch, caplog):
    def boom(*_args, **_kwargs):
        raise ZeroDivisionError("oops")

    monkeypatch.setattr("socialmap.pipeline.analyze", boom)
    analysis = views.analyze_inputs(views.Inputs(), AnalysisConfig(), demo=demo)
    assert analysis.result is None and "ZeroDivisionError: oops" in analysis.problems[0].message
    assert "the analysis failed" in caplog.text


def test_problems_table_of_nothing_is_empty_with_headers():
    table = views.problems_table([], "en")
    assert table.empty and "How to fix it" in table.columns


# ---- selection, ranking, headline --------------------------------------------------------------


def test_selection_frame_of_all_types_is_the_composite_ranked(result, demo):
    frame = views.selection_frame(result, views.Selection(), demo.taxonomy)
    assert len(frame) == 38 and frame.crs == result.areas.crs
    assert frame["rank"].is_monotonic_increasing
    expected = result.composite.set_index("area_id")
    got = frame.set_index("area_id")
    np.testing.assert_allclose(got["composite_gap"], expected.loc[got.index, "composite_gap"])
    np.testing.assert_array_equal(got["rank"], expected.loc[got.index, "rank"])
    assert {f"gap_score_{st}" for st in demo.taxonomy.service_type_keys} <= set(frame.columns)


def test_target_group_narrows_the_service_types_and_the_composite(result, demo):
    tax = demo.taxonomy
    assert views.types_in_scope(tax, "older_people_65plus") == ["home_care_elderly", "residential_elderly"]
    assert views.service_type_options(tax, "older_people_65plus")[0] == views.ALL_TYPES
    assert views.target_group_options(tax)[0] == views.ALL_GROUPS
    assert views.types_in_scope(tax, views.ALL_GROUPS) == views.types_in_scope(tax, None)
    assert views.Selection(target_group=views.ALL_GROUPS).target_group is None
    assert "children_with_disabilities" not in views.target_group_options(tax)  # no type serves it
    frame = views.selection_frame(result, views.Selection(target_group="older_people_65plus"), tax)
    t = result.table.set_index(["service_type", "area_id"])
    home, res = t.loc["home_care_elderly"], t.loc["residential_elderly"]
    by_id = frame.set_index("area_id")
    # One gap for the older people: their unmet need over both types / their need over both types.
    older = 100 * (home["unmet_need"] + res["unmet_need"]) / (home["need"] + res["need"])
    np.testing.assert_allclose(by_id["composite_gap"], older.loc[by_id.index])
    assert not any(c.endswith("csw") for c in frame.columns)


def test_selection_frame_of_one_type_ranks_by_gap(result, demo):
    sel = views.Selection(service_type="home_care_elderly", metric="need")
    frame = views.selection_frame(result, sel, demo.taxonomy)
    rows = result.for_service_type("home_care_elderly").set_index("area_id")
    assert frame["rank"].iloc[0] == 1 and frame["gap_score"].iloc[0] == rows["gap_score"].max()
    np.testing.assert_allclose(frame.set_index("area_id")["need"], rows.loc[frame["area_id"], "need"])


def test_bad_selections_are_errors():
    with pytest.raises(SocialMapError, match="metric"):
        views.Selection(service_type=views.ALL_TYPES, metric="need")
    with pytest.raises(SocialMapError, match="basemap"):
        views.Selection(basemap="satellite")


def test_ranking_table_is_labelled_and_in_percent(result, demo):
    sel = views.Selection(service_type="csw", metric="covered_share")
    table = views.ranking_table(result, sel, demo.taxonomy)
    assert list(table.columns[:4]) == ["Rank", "Municipality", "Gap score (%)", "Population"]
    assert table["Need within the catchment (%)"].max() == pytest.approx(100.0)
    assert len(table) == 38
    day_care = views.ranking_table(
        result, views.Selection(service_type="home_care_elderly", metric="need"), demo.taxonomy
    )
    decimals = views.column_decimals(day_care)
    assert decimals["Rank"] == 0 and decimals["Need (persons)"] == 0 and decimals["Gap score (%)"] == 1
    assert decimals["Places per person in need"] == 4 and decimals["Need within the catchment (%)"] == 1
    # not the 0 of "Places", whose label it starts with (the Albanian ranking showed 5 for 4.98)
    home_sq = views.Selection(service_type="home_care_elderly", metric="need", lang="sq")
    sq = views.column_decimals(views.ranking_table(result, home_sq, demo.taxonomy), "sq")
    assert sq["Vende për 1.000 të grupit të synuar"] == 1 and sq["Qasja relative (1 = kombëtare)"] == 2
    assert "Municipality" not in decimals


def test_display_tables_write_numbers_for_the_language_and_keep_them_numbers(result, demo):
    sel = views.Selection(service_type="home_care_elderly", metric="need", lang="sq")
    table = views.ranking_table(result, sel, demo.taxonomy)
    styled = views.display_table(table, "sq")
    # the cells keep their numbers, rounded as shown (the app sorts by value)
    assert styled.data["Nevoja (persona)"].tolist() == table["Nevoja (persona)"].round(0).tolist()
    assert styled.data["Shkalla e mungesës (%)"].tolist() == table["Shkalla e mungesës (%)"].round(1).tolist()
    html = styled.to_html()
    rows = result.for_service_type("home_care_elderly").set_index("area_id")
    pristina = rows.loc["19"]  # Prishtinë: the largest need, written with a thousands point
    need = f"{pristina['need']:,.0f}".replace(",", ".")
    gap = f"{pristina['gap_score']:.1f}".replace(".", ",")
    assert f">{need}<" in html and f">{gap}<" in html
    assert not re.search(r">\d+\.\d{1,2}<", html)  # no decimal point in Albanian
    en_table = views.ranking_table(result, dataclasses.replace(sel, lang="en"), demo.taxonomy)
    english = views.display_table(en_table, "en").to_html()
    assert f">{pristina['need']:,.0f}<" in english
    nan = views.display_table(pd.DataFrame({"Gap score (%)": [float("nan"), 2.25]}), "sr").to_html()
    assert ">–<" in nan and (">2,2<" in nan or ">2,3<" in nan)


def test_names_follow_the_language(result, demo):
    sel = views.Selection(service_type="csw", metric="gap_score", lang="sr")
    names = set(views.ranking_table(result, sel, demo.taxonomy)[t("Municipality", "sr")])
    assert "Dečani" in names and "Deçan" not in names
    assert views.area_options(result, "sq")["01"] == "Deçan"


def test_headline_gap_is_a_ratio_of_sums(result, demo):
    sel = views.Selection(service_type="home_care_elderly", metric="gap_score")
    figures = views.headline(result, sel, demo.taxonomy)
    rows = result.for_service_type("home_care_elderly")
    assert figures["need"] == pytest.approx(rows["need"].sum())
    assert figures["gap_score"] == pytest.approx(100 * rows["unmet_need"].sum() / rows["need"].sum())
    assert figures["gap_score"] != pytest.approx(rows["gap_score"].mean())  # not a mean of scores


# ---- profile -----------------------------------------------------------------------------------


def test_profile_of_a_municipality(result, demo):
    tax = demo.taxonomy
    summary = views.profile_summary(result, "01", tax, lang="en")
    assert summary["name"] == "Deçan (Dečani)" and summary["areas"] == 38
    comp = result.composite.set_index("area_id").loc["01"]
    assert summary["rank"] == comp["rank"] and summary["composite_gap"] == pytest.approx(
        comp["composite_gap"]
    )
    table = views.profile_table(result, "01", tax)
    assert len(table) == len(tax.service_type_keys)
    assert table["Service type"].iloc[0] == tax.label("csw", "en")
    assert set(table["Method"]) >= {"Distance coverage", "2SFCA"}
    chart = views.profile_chart(result, "01", tax)
    assert list(chart.columns) == ["Deçan (Dečani)", "All areas"]
    rows = result.for_service_type("home_care_elderly")
    label = tax.label("home_care_elderly", "en")
    expected = 100 * rows["unmet_need"].sum() / rows["need"].sum()
    assert chart.loc[label, "All areas"] == pytest.approx(expected)
    assert np.isnan(chart.loc[tax.label("community_housing", "en"), "Deçan (Dečani)"])  # need unknown
    spec = views.profile_chart_spec(chart)
    assert spec["encoding"]["y"]["sort"] == list(chart.index)  # taxonomy order, not alphabetical
    assert len(spec["data"]["values"]) == 2 * chart.notna().all(axis=1).sum()  # NaN left out
    assert {v["Series"] for v in spec["data"]["values"]} == {"Deçan (Dečani)", "All areas"}


def test_profile_says_unknown_capacity_and_names_a_single_type_score(result, demo):
    tax = demo.taxonomy
    table = views.profile_table(result, "02", tax, lang="en").set_index("Service type")
    # no Centre for Social Work has a known capacity: its places are unknown, never 0 (as in the brief)
    assert table.loc[tax.label("csw", "en"), "Supply (places)"] == "unknown"
    day = result.for_service_type("day_care_disability").set_index("area_id").loc["02"]
    assert table.loc[tax.label("day_care_disability", "en"), "Supply (places)"] == f"{day['supply']:,.0f}"
    # the whole population is served by one type (the Centre for Social Work), so the "composite"
    # of that group is the centre's gap score and is named so
    csw = result.for_service_type("csw").set_index("area_id").loc["02"]
    summary = views.profile_summary(result, "02", tax, target_group="total_population", lang="en")
    assert summary["score_label"] == f"Gap score (%): {tax.label('csw', 'en')}"
    assert summary["composite_gap"] == pytest.approx(csw["gap_score"])
    assert views.profile_summary(result, "02", tax, lang="en")["score_label"] == "Composite gap score (%)"
    # persons with disabilities: neither of its types is scored (need unknown), so no single type
    none = views.profile_summary(result, "02", tax, target_group="persons_with_disabilities", lang="en")
    assert none["score_label"] == "Composite gap score (%)" and np.isnan(none["composite_gap"])
    sel = views.Selection(target_group="total_population")
    assert views.map_title(result, sel, tax) == summary["score_label"]


def test_single_type_map_shows_that_types_sites_with_a_legend_and_the_others_off(result, demo):
    tax = demo.taxonomy
    sel = views.Selection(service_type="day_care_disability", metric="gap_score")
    page = views.map_html_bytes(views.selection_map(result, sel, tax)).decode()
    public = views.public_service_sites(result.services, tax)
    counts = public["service_type"].value_counts()
    others = [k for k in counts.index if k != "day_care_disability"]
    assert page.count("remove(); }, 0)") == len(others)  # every other type's layer starts off
    legend = page[page.index('<div class="socialmap-legend"') :]
    day = f"{tax.label('day_care_disability', 'en')} ({counts['day_care_disability']})"
    assert day in legend
    assert not any(tax.label(k, "en") in legend.split("</details>")[0] for k in others)
    assert "imperial: false" in page  # the scale bar is in km only
    every = views.map_html_bytes(views.selection_map(result, views.Selection(), tax)).decode()
    assert "remove(); }, 0)" not in every  # the composite map shows every type's sites, listed
    assert all(
        tax.label(k, "en") in every[every.index('<div class="socialmap-legend"') :] for k in counts.index
    )
    assert "DEMONSTRATION DATA" in every  # the demo's services are invented


def test_profile_with_target_group_and_unknown_area(result, demo):
    table = views.profile_table(result, "05", demo.taxonomy, target_group="older_people_65plus", lang="sq")
    assert list(table.iloc[:, 0]) == [
        demo.taxonomy.label("home_care_elderly", "sq"),
        demo.taxonomy.label("residential_elderly", "sq"),
    ]
    with pytest.raises(SocialMapError, match="No area"):
        views.profile_table(result, "99", demo.taxonomy)


def test_provenance_table_names_method_and_rates(result, demo):
    table = views.provenance_table(result, demo.taxonomy)
    text = " ".join(table["Value"])
    assert "2SFCA" in text and "10.0" in text
    assert any(item.startswith("Rate: Older people") for item in table["Item"])


# ---- the map -----------------------------------------------------------------------------------


def _features(fmap: folium.Map) -> list[dict]:
    for child in fmap._children.values():
        if isinstance(child, folium.GeoJson):
            return child.data["features"]
    raise AssertionError("no GeoJson layer")


def test_map_has_the_areas_services_per_type_legend_and_layer_control(result, demo):
    sel = views.Selection(service_type="home_care_elderly", metric="gap_score")
    fmap = views.selection_map(result, sel, demo.taxonomy, attribution="schematic")
    assert len(_features(fmap)) == 38
    children = list(fmap._children.values())
    groups = [c for c in children if isinstance(c, folium.FeatureGroup)]
    # shelters and other sensitive types are never drawn (confidential addresses)
    assert len(groups) == views.public_service_sites(result.services, demo.taxonomy)["service_type"].nunique()
    assert all(isinstance(next(iter(g._children.values())), FastMarkerCluster) for g in groups)
    assert isinstance(children[-1], folium.LayerControl)  # after the layers it lists
    assert fmap.options["max_zoom"] == views.MAX_ZOOM  # markercluster needs it without tiles
    page = views.map_html_bytes(fmap).decode("utf-8")
    assert "socialmap-legend" in page and "Gap score (%)" in page
    assert "Home care for older people" in page
    tooltip = _features(fmap)[0]["properties"]
    assert any("," in str(v) or str(v).replace(".", "").isdigit() for v in tooltip.values())


def _base_page(fmap: folium.Map) -> str:
    """The rendered page with folium's random element ids taken out."""
    return re.sub(r"_[0-9a-f]{32}", "_ID", views.map_html_bytes(fmap).decode())


def test_map_parts_keep_the_base_and_move_what_changes(result, demo):
    tax = demo.taxonomy
    parts = {
        st: views.map_parts(
            views.selection_map(result, views.Selection(service_type=st, metric="gap_score"), tax)
        )
        for st in ("csw", "home_care_elderly")
    }
    csw = parts["csw"]
    shown_types = views.public_service_sites(result.services, demo.taxonomy)["service_type"].nunique()
    assert len(csw.layers) == 1 + shown_types + 1
    assert isinstance(next(iter(csw.layers[0]._children.values())), folium.GeoJson)
    assert csw.layers[-1].control is False  # the legend and title layer is not listed
    assert isinstance(csw.control, folium.LayerControl)
    base = _base_page(csw.base)
    assert (
        "socialmap-legend" not in base and "socialmap-title" not in base and "FeatureCollection" not in base
    )
    assert "socialmap-demo" not in base  # in the language and only for demo data: drawn by a layer
    assert base == _base_page(parts["home_care_elderly"].base)  # same frame for both selections
    page = folium.Map()
    for layer in csw.layers:
        page.add_child(layer)
    text = views.map_html_bytes(page).decode()
    assert text.count("details open") == 1 and "Gap score (%): Centre for Social Work" in text
    assert text.count("socialmap-demo") == 1 and "DEMONSTRATION DATA" in text


def test_map_changes_with_the_service_type(result, demo):
    fills = {}
    for st in ("csw", "day_care_disability"):
        sel = views.Selection(service_type=st, metric="gap_score")
        features = _features(views.selection_map(result, sel, demo.taxonomy))
        fills[st] = {f["properties"]["t0"]: f["properties"]["fill"] for f in features}  # name → fill
    assert fills["csw"].keys() == fills["day_care_disability"].keys()
    assert fills["csw"] != fills["day_care_disability"]


def test_map_escapes_service_names(result, demo):
    services = result.services.copy()
    for col in ("name", "name_en", "name_sq", "name_sr"):  # the map shows the name in its language
        services.loc[services.index[0], col] = "{{ 7*7 }} <script>alert(1)</script>"
    hostile = type(result)(
        result.areas,
        result.table,
        result.demand,
        result.composite,
        services,
        result.provenance,
        result.config,
    )
    page = views.map_html_bytes(views.selection_map(hostile, views.Selection(), demo.taxonomy)).decode()
    assert "<script>alert(1)" not in page and "{{ 7*7 }}" not in page
    assert "&amp;#123;&amp;#123; 7*7" in page or "\\u0026#123;\\u0026#123; 7*7" in page


def test_every_scheme_metric_and_basemap_draws(result, demo):
    for metric in views.METRICS:
        views.selection_map(result, views.Selection(service_type="csw", metric=metric), demo.taxonomy)
    for scheme in ("natural_breaks", "fisher_jenks", "equal_interval"):
        views.selection_map(result, views.Selection(scheme=scheme, k=3), demo.taxonomy)
    osm = views.selection_map(result, views.Selection(basemap="osm"), demo.taxonomy)
    assert "tile.openstreetmap.org" in views.map_html_bytes(osm).decode()


def test_map_title_names_method_and_catchment(result, demo):
    sel = views.Selection(service_type="csw", metric="need", lang="en")
    assert (
        views.map_title(result, sel, demo.taxonomy)
        == "Need (persons): Centre for Social Work (Distance coverage, 10 km)"
    )


# ---- offline libraries ---------------------------------------------------------------------------


def test_local_assets_served_replace_every_cdn_link(result, demo, vendor):
    fmap = views.selection_map(
        result, views.Selection(), demo.taxonomy, assets=vendor, asset_url="/app/static/vendor/"
    )
    page = views.map_html_bytes(fmap).decode()
    assert not re.findall(r"https?://", page)
    assert '<script src="/app/static/vendor/node_modules/leaflet/dist/leaflet.js">' in page
    assert "bootstrap" not in page and "awesome" not in page
    assert "jquery" not in page  # no folium.Popup on this map: jQuery is not loaded


def test_jquery_is_kept_for_folium_popups(result, demo, vendor):
    import folium

    from socialmap.maps import choropleth_map

    fmap = choropleth_map(result.areas, "composite_gap", services=result.services)
    page = views.map_html_bytes(views.use_local_assets(fmap, vendor, base_url="/v")).decode()
    assert "jquery" not in page  # the services' popups are made in the browser, without jQuery
    fmap = choropleth_map(result.areas, "composite_gap")
    folium.Marker([42.6, 21.1], popup=folium.Popup("a folium popup")).add_to(fmap)
    page = views.map_html_bytes(views.use_local_assets(fmap, vendor, base_url="/v")).decode()
    assert '<script src="/v/node_modules/jquery/dist/jquery.min.js">' in page
    assert not re.findall(r"https?://", page)


def test_local_assets_inlined_make_a_self_contained_page(result, demo, vendor):
    fmap = views.selection_map(result, views.Selection(), demo.taxonomy, assets=vendor)
    page = views.map_html_bytes(fmap).decode()
    assert not re.findall(r"https?://", page)
    uris = re.findall(r'(?:src|href)="data:(text/\w+);base64,([^"]+)"', page)
    assert {kind for kind, _ in uris} == {"text/javascript", "text/css"}
    css = [base64.b64decode(data).decode() for kind, data in uris if kind == "text/css"]
    assert any("url(data:image/png;base64," in c for c in css)  # images inside the CSS inlined too


def test_local_assets_refuse_what_has_no_local_copy(vendor, tmp_path):
    with pytest.raises(SocialMapError, match="make assets"):
        views.use_local_assets(folium.Map(), tmp_path / "nothing")
    fmap = folium.Map()
    folium.Marker([42.6, 21.1], icon=folium.Icon()).add_to(fmap)
    with pytest.raises(SocialMapError, match="DivIcon"):
        views.use_local_assets(fmap, vendor)
    other = folium.Map()
    other.default_js = [*other.default_js, ("leaflet_draw", "https://cdn.example/draw.js")]
    with pytest.raises(SocialMapError, match="leaflet_draw"):
        views.use_local_assets(other, vendor)


def test_missing_assets_notices_another_version(vendor):
    assert views.missing_assets(vendor) == []
    manifest = vendor / "node_modules" / "leaflet" / "package.json"
    manifest.write_text(json.dumps({"version": "1.0.0"}))
    assert views.missing_assets(vendor) == [f"leaflet@{views.VENDOR_PACKAGES['leaflet']}"]


def test_makefile_installs_the_pinned_packages():
    text = (REPO / "Makefile").read_text(encoding="utf-8")
    line = re.search(r"^VENDOR_PACKAGES\s*:=\s*(.+)$", text, re.M)
    assert line, "Makefile has no VENDOR_PACKAGES line"
    assert line.group(1).split() == [f"{k}@{v}" for k, v in views.VENDOR_PACKAGES.items()]


def test_static_url():
    assert views.static_url("", "vendor") == "/app/static/vendor"
    assert views.static_url(None, "vendor") == "/app/static/vendor"
    assert views.static_url("/planner/", "vendor") == "/planner/app/static/vendor"


# ---- downloads ---------------------------------------------------------------------------------


def test_csv_download_has_bom_and_no_formulas():
    table = pd.DataFrame({"Municipality": ["=HYPERLINK(1)", "Gjakovë"], "Gap": [1.5, -2.0]})
    data = views.csv_bytes(table)
    assert data.startswith(b"\xef\xbb\xbf")
    text = data.decode("utf-8-sig")
    assert "'=HYPERLINK(1)" in text and "Gjakovë" in text and ",-2\n" in text and ",1.5\n" in text


def test_csv_download_in_albanian_has_semicolons_decimal_commas_and_no_float_noise():
    table = pd.DataFrame(
        {
            "Komuna": ["Gjakovë", "Pejë"],
            "Nevoja (persona)": [78698.99999999997, 4139.2],
            "Gap": [1.25, 295.30127],
        }
    )
    text = views.csv_bytes(table, "sq").decode("utf-8-sig")
    assert text.splitlines() == ["Komuna;Nevoja (persona);Gap", "Gjakovë;78699;1,2", "Pejë;4139;295,3"]


def test_gpkg_download_has_areas_and_services_in_lon_lat(result, demo, tmp_path):
    sel = views.Selection(service_type="csw", metric="gap_score")
    data = views.gpkg_bytes(views.selection_layers(result, sel, demo.taxonomy))
    path = tmp_path / "x.gpkg"
    path.write_bytes(data)
    assert sorted(pyogrio.list_layers(path)[:, 0]) == ["areas", "services"]
    areas = gpd.read_file(path, layer="areas")
    assert len(areas) == 38 and areas.crs.to_epsg() == 4326 and "gap_score" in areas.columns
    public = views.public_service_sites(result.services, demo.taxonomy)
    assert len(gpd.read_file(path, layer="services")) == len(public) < len(result.services)
    with pytest.raises(SocialMapError, match="empty"):
        views.gpkg_bytes({"areas": areas.iloc[:0]})


def test_download_names():
    assert views.download_name(views.Selection(), "csv") == "socialmap_all_composite_gap.csv"
    sel = views.Selection(target_group="older_people_65plus")
    assert views.download_name(sel, ".gpkg") == "socialmap_all_older_people_65plus_composite_gap.gpkg"


def test_data_sources_name_uploads_and_demo(demo):
    inputs = views.Inputs(
        services=demo.services,
        uploads=(
            views.UploadOutcome("services", "mine.csv", demo.services, (Problem("x", None, None, "m", "f"),)),
        ),
    )
    sources = views.data_sources(inputs, demo)
    assert "mine.csv" in sources.lines[1] and "mine.csv" in sources.attribution
    assert "schematic" in sources.attribution and "illustrative" not in sources.attribution


def test_column_labels_name_each_kind_s_columns():
    assert views.column_label("name", "en", "services") == "Name of the service"
    assert views.column_label("name", "en", "areas") == "Municipality"
    assert views.column_label("area_id", "en", "population") == "Municipality code"
    assert views.column_label("service_type", "sq") == "Lloji i shërbimit"
    assert views.column_label("name_sr", "en", "areas") == "Name in Serbian"


def test_data_sources_keep_the_attribution_of_uploaded_boundaries(demo):
    areas = demo.areas.copy()
    areas.attrs["attribution"] = "Boundaries: Kosovo Cadastral Agency, 2023 (typed in)"
    inputs = views.Inputs(areas=areas, uploads=(views.UploadOutcome("areas", "komunat.gpkg", areas),))
    sources = views.data_sources(inputs, demo, "sr")
    assert sources.lines[0] == (
        "Područja: vaša datoteka komunat.gpkg (Boundaries: Kosovo Cadastral Agency, 2023 (typed in))"
    )
    assert sources.lines[0] in sources.attribution  # the map's corner says it too
    # The field of the app replaces what the file said; a blank field keeps it.
    data = (REPO / "tests" / "data" / "areas.geojson").read_bytes()
    typed = views.read_inputs(("a.geojson", data), demo=demo, attribution="  Mine, CC BY 4.0 ")
    assert typed.areas.attrs["attribution"] == "Mine, CC BY 4.0"
    blank = views.read_inputs(("a.geojson", data), demo=demo, attribution=" ")
    assert blank.areas.attrs.get("attribution") != " "


# ---- planning ------------------------------------------------------------------------------------

PRISHTINA = (21.1655, 42.6629)


@pytest.fixture(scope="module")
def planned(demo, result):
    edits = (views.PlanEdit("home_care_elderly", *PRISHTINA, 40.0),)
    run = views.run_plan(views.read_inputs(demo=demo), AnalysisConfig(), edits, demo=demo, base=result)
    assert run.problems == ()
    return run.result


def test_clicked_point_reads_the_last_click():
    assert views.clicked_point({"last_clicked": {"lat": 42.66, "lng": 21.16}}) == (21.16, 42.66)
    for value in (None, {}, {"last_clicked": None}, {"last_clicked": {"lat": "x", "lng": 1}}, "click"):
        assert views.clicked_point(value) is None
    assert views.clicked_point({"last_clicked": {"lat": 95.0, "lng": 21.0}}) is None


def test_plan_scenario_holds_the_new_services():
    scenario = views.plan_scenario(
        "A", [views.PlanEdit("csw", *PRISHTINA, 10.0), views.PlanEdit("csw", 20.7, 42.2)]
    )
    rows = scenario.to_frame()
    assert list(rows["action"]) == ["add", "add"]
    assert rows["capacity"].iloc[0] == 10 and np.isnan(rows["capacity"].iloc[1])


def test_run_plan_without_edits_is_the_base(demo, result):
    run = views.run_plan(views.read_inputs(demo=demo), AnalysisConfig(), (), demo=demo, base=result)
    assert run.result is result


def test_run_plan_reports_an_unknown_type(demo, result):
    edits = (views.PlanEdit("no_such_type", *PRISHTINA, 5.0),)
    run = views.run_plan(views.read_inputs(demo=demo), AnalysisConfig(), edits, demo=demo, base=result)
    assert run.result is None and run.problems
    assert "no_such_type" in " ".join(views.problems_table(run.problems)["Problem"])


def test_adding_a_service_with_capacity_never_raises_a_gap(result, planned):
    table = views.plan_comparison({views.CURRENT: result, "A": planned}, "home_care_elderly")
    assert len(table) == 38
    delta = table["Gap score (%) Δ [A]"].dropna()
    assert (delta <= 1e-9).all() and (delta < 0).any()
    assert (table["Unmet need (persons) Δ [A]"].dropna() <= 1e-9).all()
    national = views.plan_comparison(
        {views.CURRENT: result, "A": planned}, "home_care_elderly", level="total"
    )
    assert len(national) == 1
    assert national["Supply (places) Δ [A]"].iloc[0] == pytest.approx(40.0)


def test_plan_download_csv_and_xlsx(result, planned):
    table = views.plan_comparison({views.CURRENT: result, "A": planned}, "home_care_elderly")
    assert views.plan_download({"t": table}, "csv").startswith(b"\xef\xbb\xbfCode,Municipality")
    xlsx = views.plan_download({"municipalities": table, "national": table.head(1)}, "xlsx")
    assert xlsx[:2] == b"PK"
    sheets = pd.read_excel(__import__("io").BytesIO(xlsx), sheet_name=None)
    assert list(sheets) == ["municipalities", "national"] and len(sheets["municipalities"]) == 38
    with pytest.raises(SocialMapError):
        views.plan_download({"t": table}, "pdf")


def test_plan_costing_with_user_figures_is_hand_checkable(demo, result):
    costing = views.plan_costing(result, "csw", demo.taxonomy, standard=5.0, unit_cost=1000.0)
    assert (costing.standard_source, costing.cost_source) == ("user-supplied", "user-supplied")
    table = costing.table
    assert len(table) == 38
    need = table["Target group (persons)"]
    # csw: every service's capacity is unknown, so supply is 0 and places needed = need × 5 / 1,000.
    assert table["Places needed"].to_numpy() == pytest.approx(need.to_numpy() * 5 / 1000)
    assert table["Budget (EUR per year)"].to_numpy() == pytest.approx(need.to_numpy() * 5)
    assert costing.national["Places needed"].iloc[0] == pytest.approx(need.sum() * 5 / 1000)


def test_plan_costing_one_hundred_persons(demo, result):
    small = result.table.copy()
    small["need"] = np.where(small["service_type"] == "csw", 100.0, small["need"])
    small["target_size"] = np.where(small["service_type"] == "csw", 100.0, small["target_size"])
    small["supply"] = np.where(small["service_type"] == "csw", 0.0, small["supply"])
    from dataclasses import replace

    costing = views.plan_costing(
        replace(result, table=small, population=None), "csw", demo.taxonomy, standard=5.0, unit_cost=2000.0
    )
    assert costing.table["Places needed"].iloc[0] == pytest.approx(0.5)  # 100 × 5 / 1,000
    assert costing.table["Budget (EUR per year)"].iloc[0] == pytest.approx(1000.0)


def test_plan_costing_blank_says_there_is_no_figure(demo, result):
    costing = views.plan_costing(result, "csw", demo.taxonomy)
    assert costing.standard_source == "" and costing.cost_source == ""
    assert costing.table["Budget (EUR per year)"].isna().all()
    assert any("no planning standard" in n for n in costing.notes)
    with pytest.raises(SocialMapError):
        views.plan_costing(result, "csw", demo.taxonomy, standard=-1.0)


def test_suggest_sites_gives_points_to_add(result):
    edits, notes = views.suggest_sites(result, "residential_elderly", k=2, capacity=30.0)
    assert len(edits) == 2
    assert all(e.service_type == "residential_elderly" and e.capacity == 30 for e in edits)
    assert all(20 < e.lon < 22 and 41.8 < e.lat < 43.3 for e in edits)  # in Kosovo, longitude first
    assert isinstance(notes, tuple)


def test_plan_map_shows_the_planned_and_proposed_services(planned):
    selection = views.Selection(service_type="home_care_elderly", metric="gap_score")
    edits = (views.PlanEdit("home_care_elderly", *PRISHTINA, 40.0),)
    fmap = views.plan_map(planned, selection, _taxonomy(), edits, (20.7, 42.2))
    html_text = fmap.get_root().render()
    assert "Planned 1: 40 places" in html_text and "Proposed new service" in html_text
    parts = views.map_parts(fmap)
    assert "Planned services" in [layer.layer_name for layer in parts.layers]  # swapped in, not in the base


def _taxonomy():
    return socialmap.load_demo("kosovo").taxonomy


def test_shelter_locations_are_never_drawn_nor_downloaded():
    import socialmap
    from socialmap.privacy import sensitive_service_types

    demo = socialmap.load_demo("kosovo")
    result = socialmap.analyze(demo="kosovo", method="coverage", spreading="representative")
    hidden = set(sensitive_service_types(demo.taxonomy))
    assert "shelter_dv" in hidden
    sites = views.public_service_sites(result.services, demo.taxonomy)
    assert not set(sites["service_type"]) & hidden and len(sites) < len(result.services)
    names = result.services.loc[result.services["service_type"].isin(hidden), "name"]
    selection = views.Selection()
    page = views.selection_map(result, selection, demo.taxonomy).get_root().render()
    assert len(names) and not any(n in page for n in names)
    layers = views.selection_layers(result, selection, demo.taxonomy)
    assert not set(layers["services"]["service_type"]) & hidden


def test_uploaded_geoboundaries_areas_are_named_in_each_language(demo, shared_kosovo):
    data = (shared_kosovo / "geoboundaries" / "geoBoundaries-XKX-ADM2_simplified.geojson").read_bytes()
    inputs = views.read_inputs(("gb.geojson", data), demo=demo)
    areas = inputs.areas.set_index("name")
    assert not areas.index.str.startswith("Municipality").any()  # "Municipality of Gjakova" → "Gjakova"
    assert areas.loc["Gjakova", "name_sr"] == "Đakovica" and areas.loc["Gjakova", "name_sq"] == "Gjakovë"
    analysis = views.analyze_inputs(inputs, socialmap.AnalysisConfig(), demo=demo)
    assert "Đakovica" in set(views.area_options(analysis.result, "sr").values())
