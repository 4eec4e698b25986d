"""The app through Streamlit's AppTest: every widget path, good and bad uploads, no traceback."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import app_downloads
import pytest
from streamlit import config as st_config
from streamlit.testing.v1 import AppTest

from socialmap import views
from socialmap.display import plain

REPO = Path(__file__).resolve().parents[1]
APP = str(REPO / "app.py")
TIMEOUT = 120  # seconds; the first run loads the demo and analyses it (about 5 s on 2 cores)
BAD_SERVICES = (
    b"service_id,name,service_type,capacity,lon,lat\n"
    b"S1,Good one,day_care_disability,20,21.16,42.66\n"
    b"S2,No type,,10,21.16,42.66\n"
    b"S3,Negative,home_care_elderly,-5,21.16,42.66\n"
)


def start() -> AppTest:
    at = AppTest.from_file(APP, default_timeout=TIMEOUT)
    at.run()
    assert_clean(at)
    return at


def assert_clean(at: AppTest) -> None:
    assert not at.exception, [e.value for e in at.exception]
    assert not at.error, [e.value for e in at.error]


def map_args(at: AppTest) -> dict:
    """The arguments the app passed to the streamlit-folium component (its map script and links)."""
    components = at.get("component_instance")
    assert len(components) == 1
    return json.loads(components[0].proto.json_args)


def drawn(at: AppTest) -> str:
    """The map as drawn: the base map's script and HTML, and the layers swapped into it."""
    args = map_args(at)
    return args["script"] + args["html"] + args["feature_group"] + args["layer_control"]


def problem_tables(at: AppTest) -> list:
    """The tables of problems shown (validation reports)."""
    return [d.value for d in at.dataframe if "How to fix it" in d.value.columns]


def open_tab(at: AppTest, index: int) -> AppTest:
    """Open a tab (the app's tabs are lazy: only the open one runs) and rerun."""
    at.session_state["view"] = at.tabs[index].label
    at.run()
    assert not at.exception, [e.value for e in at.exception]
    return at


def ranking(at: AppTest):
    """The ranking table (opens the Ranking tab)."""
    return open_tab(at, 1).tabs[1].dataframe[0].value


def test_demo_on_start_shows_map_ranking_profile_and_downloads():
    at = start()
    assert at.title[0].value == "Social services: needs, coverage and gaps"
    assert at.caption[0].value.startswith("38 municipalities, 142 services.")
    assert [t.label for t in at.tabs] == ["Map", "Ranking", "Municipality profile", "Plan", "About"]
    args = map_args(at)
    assert args["feature_group"].count('"type": "Feature"') == 38
    assert "socialmap-legend" in args["feature_group"] and "socialmap-title" in args["feature_group"]
    assert '"type": "Feature"' not in args["script"]  # the base map stays the same
    assert args["returned_objects"] == []
    assert all(link.startswith("data:") for link in args["js_links"] + args["css_links"])  # offline
    assert app_downloads.labels(at) == [
        "Table (CSV)",
        "Map layers (GeoPackage)",
        "Map (HTML, works offline)",
        "Print map (PNG)",
        "Print map (PDF)",
        "National brief (PDF, one page)",
        "Save workspace",  # the sidebar's Workspace section (issue #17), above "Your data"
        "Services template",  # in "Your data" (the sidebar comes after the page's body)
        "Population template (its municipalities filled in)",
    ]
    # the one warning: the demo's services are invented (104 of 142: all but the 38 CSWs)
    assert [w.value for w in at.warning] == [
        "Demonstration data: 104 of the 142 services are invented for the demo, so these figures "
        "describe no real services. Do not publish them as facts."
    ]
    assert not at.tabs[1].dataframe  # lazy: only the open tab runs
    assert len(ranking(at)) == 38
    assert not at.get("component_instance")
    open_tab(at, 2)
    assert at.tabs[2].subheader[0].value == plain("Deçan (Dečani)")
    assert len(at.tabs[2].dataframe[0].value) == 7
    open_tab(at, 4)
    assert "2SFCA" in " ".join(at.tabs[4].dataframe[0].value["Value"])


def test_served_libraries_when_static_serving_is_on():
    st_config.set_option("server.enableStaticServing", True)
    try:
        at = start()
    finally:
        st_config.set_option("server.enableStaticServing", False)
    args = map_args(at)
    assert "/app/static/vendor/node_modules/leaflet/dist/leaflet.js" in args["js_links"]
    assert not any(link.startswith(("http", "data:")) for link in args["js_links"] + args["css_links"])


@pytest.mark.parametrize("method", ["coverage", "e2sfca"])
def test_methods(method):
    at = start()
    before = ranking(at)
    at.radio(key="method").set_value(method).run()
    assert_clean(at)
    assert not ranking(at).equals(before)


def test_catchment_and_grid_spreading():
    at = start()
    at.selectbox(key="service_type").set_value("csw").run()
    gap = at.metric[3].value
    at.slider(key="catchment_km").set_value(30).run()
    assert_clean(at)
    assert at.metric[3].value != gap
    assert at.radio(key="spreading").value == "grid"  # the library's default
    at.select_slider(key="cell_km").set_value(2.0).run()
    assert_clean(at)
    at.radio(key="spreading").set_value("representative").run()
    assert_clean(at)
    assert not at.select_slider  # no cell size without a grid
    assert len(ranking(at)) == 38


def test_every_service_type_and_metric_changes_the_map():
    at = start()
    scripts = {views.ALL_TYPES: drawn(at)}
    frames = {map_args(at)["key"]}
    for service_type in views.service_type_options(_taxonomy())[1:]:
        at.selectbox(key="service_type").set_value(service_type).run()
        assert_clean(at)
        assert at.selectbox(key="metric").value == "gap_score"
        scripts[service_type] = drawn(at)
        frames.add(map_args(at)["key"])
        assert "Gap score (%): " in drawn(at)
    assert len(set(scripts.values())) == len(scripts)
    assert len(frames) == 1  # one component instance: the layers are swapped, the frame is kept
    for metric in views.METRICS[1:]:
        at.selectbox(key="metric").set_value(metric).run()
        assert_clean(at)
        assert views.label(metric) in drawn(at)


def test_target_group_limits_the_service_types():
    at = start()
    at.selectbox(key="target_group").set_value("older_people_65plus").run()
    assert_clean(at)
    assert at.selectbox(key="service_type").options == [
        "All service types (composite gap)",
        "Home care for older people",
        "Residential care for older people",
    ]
    assert len(open_tab(at, 2).tabs[2].dataframe[0].value) == 2  # the profile shows those two types
    at.selectbox(key="service_type").set_value("residential_elderly").run()
    assert_clean(at)


def test_classification_classes_and_basemap():
    at = start()
    for scheme in ("natural_breaks", "fisher_jenks", "equal_interval"):
        at.selectbox(key="scheme").set_value(scheme).run()
        assert_clean(at)
    at.slider(key="k").set_value(3).run()
    assert_clean(at)
    assert drawn(at).count("details open") == 1  # one legend
    at.radio(key="basemap").set_value("osm").run()
    assert_clean(at)
    assert "tile.openstreetmap.org" in map_args(at)["script"]


@pytest.mark.parametrize(
    ("lang", "service_label", "name"),
    [("sq", "Qendra për Punë Sociale", "Deçan"), ("sr", "Centar za socijalni rad", "Dečani")],
)
def test_languages(lang, service_label, name):
    at = start()
    at.selectbox(key="lang").set_value(lang).run()
    assert_clean(at)
    assert service_label in at.selectbox(key="service_type").options
    assert open_tab(at, 2).tabs[2].subheader[0].value == name


def test_profile_of_another_municipality():
    at = open_tab(start(), 2)
    at.selectbox(key="profile_area").set_value("05").run()
    assert_clean(at)
    assert at.tabs[2].subheader[0].value == "Dragash"
    assert at.tabs[2].metric[2].value.endswith("of 38")
    assert len(at.tabs[2].dataframe[0].value) == 7


def test_good_upload_replaces_the_demo_services():
    text = (REPO / "data" / "services" / "kosovo_services.csv").read_text(encoding="utf-8")
    subset = "\n".join(text.splitlines()[:41]).encode("utf-8")
    at = start()
    at.file_uploader(key="upload_services").upload("our_services.csv", subset, "text/csv").run()
    assert_clean(at)
    assert "40 services" in at.caption[0].value and plain("our_services.csv") in at.caption[0].value


def test_population_upload_and_downloads():
    data = (REPO / "data" / "population" / "kosovo_population_2024.csv").read_bytes()
    at = start()
    at.file_uploader(key="upload_population").upload("population.csv", data, "text/csv").run()
    assert_clean(at)
    assert len(ranking(at)) == 38
    open_tab(at, 0)
    keys = [b["id"] for b in app_downloads.buttons(at)]
    assert len(keys) == 9 and keys[-3:] == ["workspace_save", "template_services", "template_population"]
    for key in keys:
        assert app_downloads.click(at, key)  # the file is made when its button is clicked
        assert_clean(at)


def test_bad_upload_blocks_the_analysis_until_the_demo_is_chosen():
    at = start()
    at.file_uploader(key="upload_services").upload("services.csv", BAD_SERVICES, "text/csv").run()
    assert not at.exception
    assert plain("services.csv") + " has 2 errors, so nothing is analysed" in at.error[0].value
    assert at.error[1].value == "The analysis could not run on these data:"
    problems = problem_tables(at)[0]
    assert list(problems.columns) == ["Severity", "File", "Row", "Column", "Problem", "How to fix it"]
    assert list(problems["Row"]) == [3, 4]
    assert not at.get("component_instance")  # no map: the demo's services are not put in its place
    # The person chooses the demo's services in its place: the analysis runs, and says whose they are.
    at.checkbox(key="demo_instead_services").check().run()
    assert not at.exception
    assert len(at.error) == 1 and "the demo's services are used in its place" in at.error[0].value
    assert "142 services" in at.caption[0].value
    assert at.caption[1].value == (
        "From the demo, not your data: areas, services (your file has errors; you chose the demo's "
        "instead), population."
    )
    assert len(ranking(at)) == 38


def test_unreadable_upload_is_reported_not_raised():
    at = start()
    at.file_uploader(key="upload_areas").upload("areas.geojson", b"{broken", "application/geo+json").run()
    assert not at.exception
    assert plain("areas.geojson") + " has 1 error," in at.error[0].value
    assert len(problem_tables(at)[0]) == 1


def test_areas_that_match_nothing_stop_the_analysis_with_a_table():
    at = start()
    data = (REPO / "tests" / "data" / "areas.geojson").read_bytes()
    at.file_uploader(key="upload_areas").upload("areas.geojson", data, "application/geo+json").run()
    assert not at.exception
    assert at.error[0].value == "The analysis could not run on these data:"
    problems = problem_tables(at)[0]
    assert "Westfield" in " ".join(problems["Problem"])
    assert not at.get("component_instance")  # no map of nothing


def _taxonomy():
    from socialmap import load_taxonomy

    return load_taxonomy()


@pytest.fixture(autouse=True)
def _no_leaked_config() -> Iterator[None]:
    yield
    assert st_config.get_option("server.enableStaticServing") is False
